//! `bmnet dns`: the zone file NSD can load, offline answers in text and JSON, and the exit
//! statuses for bad configurations.

// Writes configuration files and runs the binary.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::PathBuf;

use serde_json::Value;
use util::{bmnet, stderr as err, stdout as out};

const ZONE: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4", "fd2e:6f44:5dd8::4"]
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
"#;

fn config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bmnet-cli-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn query_answers_as_the_server_would() {
    let cfg = config("zone.toml", ZONE);
    let cfg = cfg.to_str().unwrap();
    let o = bmnet(&["dns", "query", "A.B.apps.ostest.example.com", "AAAA", "--config", cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "status: NOERROR, flags: qr aa, 84 bytes\nanswer    A.B.apps.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::4\n"
    );
    let o = bmnet(&["dns", "query", "api.ostest.example.com", "AAAA", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "NOERROR");
    assert_eq!(v["answer"].as_array().unwrap().len(), 0);
    assert_eq!(v["authority"][0]["type"], "SOA");
    let o = bmnet(&["dns", "query", "nope.ostest.example.com", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "NXDOMAIN");
    let o = bmnet(&["dns", "query", "www.example.org", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "REFUSED", "no upstreams: refused");
    let o = bmnet(&["dns", "query", "api.ostest.example.com", "BOGUS", "--config", cfg]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn zonefile_lists_every_record() {
    let cfg = config("zone2.toml", ZONE);
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    for line in [
        "$ORIGIN ostest.example.com.",
        "ostest.example.com. 30 IN SOA api-int.ostest.example.com. hostmaster.ostest.example.com. 1 3600 600 86400 30",
        "*.apps.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::4",
        "api-int.ostest.example.com. 30 IN A 192.168.111.5",
        "master-0.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::20",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
}

#[test]
fn bad_configurations_exit_1_naming_the_file() {
    let cfg = config("mapped.toml", "cluster = \"c\"\nbase_domain = \"x\"\napi_vips = [\"::ffff:1.2.3.4\"]\n");
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("mapped.toml: api_vips: ::ffff:1.2.3.4 is an IPv4-mapped IPv6 address; write 1.2.3.4"),
        "{}",
        err(&o)
    );
    let cfg = config("syntax.toml", "cluster = \"c\"\nbase_domain =\n");
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("syntax.toml:2:14: "), "{}", err(&o));
    // One line of it, however long the file's line: the error never quotes the file.
    let cfg = config("huge.toml", &format!("cluster = \"c\"\nbase_domain = \"{}\" x\n", "a".repeat(100_000)));
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = err(&o);
    assert!(
        e.contains("huge.toml:2:100018: ") && e.lines().count() == 1 && e.len() < 400,
        "{} bytes: {}",
        e.len(),
        &e[..e.len().min(400)]
    );
    let o = bmnet(&["dns", "zonefile", "--config", "/nonexistent/zone.toml"]);
    assert_eq!(o.status.code(), Some(2));
}

/// `bmnet dns serve` from flags: answers dig, reloads nothing (flags), stops on SIGTERM.
#[test]
fn serve_from_flags_answers_dig_and_stops_on_sigterm() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let listen = format!("127.0.0.1:{port}");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_bmnet"))
        .env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"))
        .args(["dns", "serve", "--listen", &listen, "--zone", "ostest.example.com", "--api-vip", "192.168.111.5"])
        .args([
            "--ingress-vip",
            "192.168.111.4",
            "--node",
            "master-0=192.168.111.20,fd2e:6f44:5dd8::20",
            "--workers",
            "1",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = util::Daemon(child);
    let dig = |name: &str, rtype: &str| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let o = std::process::Command::new("dig")
                .args(["@127.0.0.1", "-p", &port.to_string(), "+short", "+tries=1", "+time=1", name, rtype])
                .output()
                .expect("dig (apt-get install -y bind9-dnsutils)");
            let text = String::from_utf8_lossy(&o.stdout).to_string();
            if o.status.success() || std::time::Instant::now() > deadline {
                return text;
            }
        }
    };
    assert_eq!(dig("master-0.ostest.example.com", "AAAA"), "fd2e:6f44:5dd8::20\n");
    assert_eq!(dig("x.apps.ostest.example.com", "A"), "192.168.111.4\n");
    // The liveness probe: `bmnet dns health` says ok while it runs, exit 0.
    let health = bmnet(&["dns", "health", "--server", &listen]);
    assert_eq!(health.status.code(), Some(0), "{}", err(&health));
    assert!(out(&health).contains("\"ok\" \"zone=ostest.example.com\""), "{}", out(&health));
    let kill = std::process::Command::new("kill").args(["-TERM", &child.0.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains(&format!("serving ostest.example.com on {listen}")), "{stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    // Stopped: the probe fails, exit 1, saying why.
    let health = bmnet(&["dns", "health", "--server", &listen, "--timeout", "300"]);
    assert_eq!(health.status.code(), Some(1), "{}", out(&health));
}

#[test]
fn resolv_conf_render_and_check() {
    let nm = config("nm-resolv.conf", "# Generated by NetworkManager\nsearch lab.example.com\nnameserver 10.0.0.1\n");
    let o = bmnet(&[
        "dns",
        "resolv-conf",
        "--node-ip",
        "192.168.111.20",
        "--cluster-domain",
        "ostest.example.com",
        "--input",
        nm.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "# Generated by NetworkManager\nsearch ostest.example.com lab.example.com\nnameserver 192.168.111.20\nnameserver 10.0.0.1\n"
    );
    let target = nm.with_file_name("resolv.conf");
    let o = bmnet(&[
        "dns",
        "resolv-conf",
        "--node-ip",
        "192.168.111.20",
        "--cluster-domain",
        "ostest.example.com",
        "--input",
        nm.to_str().unwrap(),
        "--output",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(std::fs::read_to_string(&target).unwrap().contains("nameserver 192.168.111.20\n"));
    // The file the server forwards to must not point back at it.
    let bad = config("upstream.conf", "nameserver 192.168.111.20\nnameserver 127.0.0.53\n");
    let o = bmnet(&["dns", "resolv-conf", "--check", bad.to_str().unwrap(), "--node-ip", "192.168.111.20"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("upstream.conf:1: error: 192.168.111.20 is the cluster DNS server itself"), "{}", out(&o));
    let o = bmnet(&["dns", "resolv-conf", "--check", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
}

/// `bmnet dns serve --config`: a change of the file is served without a restart, SIGHUP
/// reloads too, and a broken file keeps the zone that works.
#[test]
fn serve_reloads_its_config() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = config("reload.toml", ZONE);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_bmnet"))
        .env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"))
        .args(["dns", "serve", "--listen", &format!("127.0.0.1:{port}"), "--workers", "1", "--config"])
        .arg(&cfg)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let api = || -> String {
        let o = std::process::Command::new("dig")
            .args(["@127.0.0.1", "-p", &port.to_string(), "+short", "+tries=1", "+time=1", "api.ostest.example.com"])
            .output()
            .expect("dig (apt-get install -y bind9-dnsutils)");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let wait_for = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while api() != want {
            assert!(std::time::Instant::now() < deadline, "never served {want:?}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    wait_for("192.168.111.5\n");
    std::fs::write(&cfg, ZONE.replace("192.168.111.5", "192.168.111.6")).unwrap();
    wait_for("192.168.111.6\n");
    std::fs::write(&cfg, "this is not toml").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(api(), "192.168.111.6\n", "a broken file keeps the working zone");
    std::fs::write(&cfg, ZONE.replace("192.168.111.5", "192.168.111.7")).unwrap();
    let hup = std::process::Command::new("kill").args(["-HUP", &child.id().to_string()]).status().unwrap();
    assert!(hup.success());
    wait_for("192.168.111.7\n");
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("kept the old zone"), "{stderr}");
    assert!(stderr.contains("reloaded"), "{stderr}");
}

/// `bmnet dns serve --json`: the server's log as JSON Lines events on standard output, each
/// with its time: serving (zone, addresses), reloaded, reload_refused (with the error), stopping.
#[test]
fn serve_json_events() {
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = config("events.toml", ZONE);
    /// Kills the server if the test fails before it stops it.
    struct Server(std::process::Child);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_bmnet"))
            .env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"))
            .args(["--json", "dns", "serve", "--listen", &format!("127.0.0.1:{port}"), "--workers", "1", "--config"])
            .arg(&cfg)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(server.0.stdout.take().unwrap()));
    let mut next = || -> Value { serde_json::from_str(&lines.next().expect("an event").unwrap()).unwrap() };
    let serving = next();
    assert_eq!(serving["event"], "serving");
    assert_eq!(serving["zone"], "ostest.example.com");
    assert_eq!(serving["listen"][0], format!("127.0.0.1:{port}"));
    assert!(serving["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{serving}");
    // At once, same length: the change is seen even within one tick of the file system's clock.
    std::fs::write(&cfg, ZONE.replace("192.168.111.5", "192.168.111.6")).unwrap();
    let reloaded = next();
    assert_eq!(
        (reloaded["event"].as_str(), reloaded["cause"].as_str()),
        (Some("reloaded"), Some("configuration changed"))
    );
    std::fs::write(&cfg, "cluster = 5").unwrap();
    let refused = next();
    assert_eq!(refused["event"], "reload_refused", "{refused}");
    assert!(refused["error"].is_string(), "{refused}");
    std::process::Command::new("kill").args(["-TERM", &server.0.id().to_string()]).status().unwrap();
    assert_eq!(next()["event"], "stopping");
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
}
