//! The files in `dist/` do what they say, run as shipped: the systemd units' and static pods'
//! command lines (the same in both, checked) start the daemons in a network namespace of the
//! test's own with the example configuration from `dist/etc/`, only `/usr/bin/bmnet`,
//! `/etc/bmnet`, `/run/bmnet` and `/run/nodeip-configuration` mapped to the build and scratch
//! directories; the pods' liveness probes pass while they run; the NetworkManager dispatcher
//! script renders resolv.conf and leaves it alone when it should. `systemd-analyze verify`
//! checks the units' syntax.
//!
//! Needs root, iproute2, dig (`apt-get install -y bind9-dnsutils`) and systemd
//! (`systemd-analyze`); without them the tests fail, they never pass silently.

// Namespaces, processes and scratch files are the point of these tests.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_yaml_ng::Value;
use util::netns;

const DIST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/dist");

/// A scratch tree standing in for the host's /etc/bmnet, /run/bmnet and
/// /run/nodeip-configuration.
struct Host {
    root: PathBuf,
}

impl Host {
    fn new(tag: &str, node_ip: &str) -> Host {
        let root = std::env::temp_dir().join(format!("bmnet-dist-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for d in ["etc/bmnet", "run/bmnet", "run/nodeip-configuration"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for e in std::fs::read_dir(Path::new(DIST).join("etc")).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), root.join("etc/bmnet").join(e.file_name())).unwrap();
        }
        std::fs::write(root.join("run/nodeip-configuration/primary-ip"), format!("{node_ip}\n")).unwrap();
        Host { root }
    }

    /// A shipped argument with the host's paths mapped into the scratch tree.
    fn map(&self, arg: &str) -> String {
        let root = self.root.display();
        arg.replace("/usr/bin/bmnet", env!("CARGO_BIN_EXE_bmnet"))
            .replace("/etc/bmnet", &format!("{root}/etc/bmnet"))
            .replace("/run/nodeip-configuration", &format!("{root}/run/nodeip-configuration"))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// `ExecStart=` of a unit, split into words (the units use no quoting).
fn exec_start(unit: &str) -> Vec<String> {
    let text = std::fs::read_to_string(Path::new(DIST).join("systemd").join(unit)).unwrap();
    let line =
        text.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap_or_else(|| panic!("{unit}: no ExecStart"));
    line.split_whitespace().map(String::from).collect()
}

/// A static pod's container: its command and its liveness probe's command.
fn pod(manifest: &str) -> (Vec<String>, Vec<String>) {
    let text = std::fs::read_to_string(Path::new(DIST).join("static-pods").join(manifest)).unwrap();
    let pod: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{manifest}: {e}"));
    assert_eq!(pod["kind"], Value::from("Pod"), "{manifest}");
    assert_eq!(pod["spec"]["hostNetwork"], Value::from(true), "{manifest}");
    let c = &pod["spec"]["containers"][0];
    let words = |v: &Value| -> Vec<String> {
        v.as_sequence()
            .unwrap_or_else(|| panic!("{manifest}: not a list: {v:?}"))
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(c["securityContext"]["capabilities"]["drop"], serde_yaml_ng::from_str::<Value>("[ALL]").unwrap());
    (words(&c["command"]), words(&c["livenessProbe"]["exec"]["command"]))
}

/// Runs a shipped command line in `ns` with the host mapped; status files under the host.
fn spawn(ns: &bm_testkit::Netns, host: &Host, argv: &[String]) -> util::Daemon {
    let argv: Vec<String> = argv.iter().map(|a| host.map(a)).collect();
    let child = ns
        .command(&argv[0])
        .args(&argv[1..])
        .env("BMNET_STATUS_DIR", host.root.join("run/bmnet"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    util::Daemon(child)
}

/// Runs a probe until it exits 0 or `within` passes; its last output.
fn probe(ns: &bm_testkit::Netns, host: &Host, argv: &[String], within: Duration) -> std::process::Output {
    let argv: Vec<String> = argv.iter().map(|a| host.map(a)).collect();
    let deadline = Instant::now() + within;
    loop {
        let o = ns
            .command(&argv[0])
            .args(&argv[1..])
            .env("BMNET_STATUS_DIR", host.root.join("run/bmnet"))
            .output()
            .unwrap();
        if o.status.success() || Instant::now() > deadline {
            return o;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A node: its namespace with eth0 on the machine network.
fn node(tag: &str, ip: &str) -> bm_testkit::Netns {
    let ns = netns(tag);
    ns.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "peer0", "up"]);
    ns
}

#[test]
fn units_and_pods_ship_one_command_line_each() {
    for (unit, manifest) in [("bmnet-dns.service", "bmnet-dns.yaml"), ("bmnet-vrrp.service", "bmnet-vrrp.yaml")] {
        assert_eq!(exec_start(unit), pod(manifest).0, "{unit} and {manifest} run different command lines");
    }
}

#[test]
fn the_dns_unit_and_pod_serve_the_zone_and_pass_their_liveness_probe() {
    let (command, liveness) = pod("bmnet-dns.yaml");
    let ns = node("dist-dns", "192.168.111.20");
    let host = Host::new("dns", "192.168.111.20");
    let mut daemon = spawn(&ns, &host, &command);
    let alive = probe(&ns, &host, &liveness, Duration::from_secs(10));
    assert_eq!(alive.status.code(), Some(0), "liveness: {}", String::from_utf8_lossy(&alive.stderr));
    // It answers on the node's address, which it took from the node-IP file.
    let dig = ns.exec(&["dig", "@192.168.111.20", "+short", "+time=2", "+tries=1", "api.ostest.example.com", "A"]);
    assert!(dig.status.success(), "dig (apt-get install -y bind9-dnsutils): {dig:?}");
    assert_eq!(String::from_utf8_lossy(&dig.stdout), "192.168.111.5\n");
    // Stopped, the probe fails.
    daemon.stop();
    let dead = probe(&ns, &host, &liveness, Duration::ZERO);
    assert_eq!(dead.status.code(), Some(1));
}

#[test]
fn the_vrrp_unit_and_pod_hold_the_vip_and_pass_their_liveness_probe() {
    let (command, liveness) = pod("bmnet-vrrp.yaml");
    let ns = node("dist-vrrp", "192.168.111.21");
    let host = Host::new("vrrp", "192.168.111.21");
    // The shipped configuration checks itself first (ExecStartPre).
    let text = std::fs::read_to_string(Path::new(DIST).join("systemd/bmnet-vrrp.service")).unwrap();
    let pre: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .unwrap()
        .split_whitespace()
        .map(|w| host.map(w))
        .collect();
    let checked = Command::new(&pre[0]).args(&pre[1..]).output().unwrap();
    assert_eq!(checked.status.code(), Some(0), "{}", String::from_utf8_lossy(&checked.stdout));
    let _daemon = spawn(&ns, &host, &command);
    let alive = probe(&ns, &host, &liveness, Duration::from_secs(10));
    assert_eq!(alive.status.code(), Some(0), "liveness: {}", String::from_utf8_lossy(&alive.stderr));
    assert!(String::from_utf8_lossy(&alive.stdout).contains("ostest_API"), "{alive:?}");
}

#[test]
fn the_dispatcher_script_keeps_resolv_conf_on_the_node() {
    let host = Host::new("dispatcher", "192.168.111.22");
    let nm = host.root.join("nm-resolv.conf");
    std::fs::write(&nm, "# Generated by NetworkManager\nsearch lab.example.com\nnameserver 10.0.0.1\n").unwrap();
    let out = host.root.join("resolv.conf");
    let script = Path::new(DIST).join("NetworkManager/dispatcher.d/30-bmnet-resolv-conf");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&script).unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o755,
        "NetworkManager runs only executable scripts owned by root, not writable by others"
    );
    let run = |action: &str, env_file: &Path| {
        Command::new(&script)
            .args(["eth0", action])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("BMNET_RESOLV_ENV", env_file)
            .env("BMNET_PRIMARY_IP", host.root.join("run/nodeip-configuration/primary-ip"))
            .env("BMNET_NM_RESOLV_CONF", &nm)
            .env("BMNET_RESOLV_CONF", &out)
            .env("BMNET_BIN", env!("CARGO_BIN_EXE_bmnet"))
            .output()
            .unwrap()
    };
    let env_file = host.root.join("etc/bmnet/resolv.conf.env");
    // Not an action that changes DNS: nothing written.
    assert!(run("pre-down", &env_file).status.success());
    assert!(!out.exists());
    // Without its configuration: nothing written.
    assert!(run("up", &host.root.join("absent.env")).status.success());
    assert!(!out.exists());
    let o = run("up", &env_file);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "# Generated by NetworkManager\nsearch ostest.example.com lab.example.com\nnameserver 192.168.111.22\nnameserver 10.0.0.1\n"
    );
}

#[test]
fn systemd_accepts_the_units() {
    let found = Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(found, "systemd-analyze not found: apt-get install -y systemd");
    for unit in ["bmnet-nodeip.service", "bmnet-vrrp.service", "bmnet-dns.service", "bmnet-bgp.service"] {
        let o = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(Path::new(DIST).join("systemd").join(unit))
            .output()
            .unwrap();
        // The binary is not installed here (the package test installs it); anything else is an error.
        let complaints: Vec<String> = String::from_utf8_lossy(&o.stderr)
            .lines()
            .filter(|l| !l.contains("/usr/bin/bmnet is not executable"))
            .filter(|l| !l.trim().is_empty())
            .map(String::from)
            .collect();
        assert!(complaints.is_empty(), "{unit}: {complaints:#?}");
    }
}

/// `bmnet-bgp.service`'s own check of its shipped example passes, and the unit's ExecStartPre
/// and ExecStart name the same file (the unit is not run here: its peers are routers).
#[test]
fn the_bgp_unit_checks_its_example_configuration() {
    let host = Host::new("bgp", "192.168.111.20");
    let text = std::fs::read_to_string(Path::new(DIST).join("systemd/bmnet-bgp.service")).unwrap();
    let pre: Vec<String> = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStartPre="))
        .expect("ExecStartPre")
        .split_whitespace()
        .map(|a| host.map(a))
        .collect();
    let start: Vec<String> = exec_start("bmnet-bgp.service").iter().map(|a| host.map(a)).collect();
    assert_eq!(pre.last(), start.last(), "ExecStartPre checks the file ExecStart runs");
    let o = Command::new(&pre[0]).args(&pre[1..]).output().unwrap();
    assert!(
        o.status.success(),
        "{}: {}{} (curl, which its check runs: apt-get install -y curl)",
        pre.join(" "),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("2 peers, 1 VIPs, 1 checks"), "{o:?}");
}
