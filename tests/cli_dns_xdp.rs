//! `bmnet dns serve --xdp`: queries answered over AF_XDP before the kernel's UDP layer sees
//! them (its counters in `/proc/net/snmp` do not move), over IPv4 and IPv6, while TCP, forwarded
//! queries and answers too large for the link still go through the kernel, from the address the
//! client asked; the program is gone when the server stops. Two namespaces joined by a veth
//! pair, made by the test (root needed), with dig and kdig as the clients.

// Creates namespaces and runs servers and clients on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use util::Netns;

const ZONE: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4"]
upstreams = ["127.0.0.1:5300"]
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
"#;

const UPSTREAM: &str = r#"
cluster = "upstream"
base_domain = "test"
api_vips = ["192.0.2.53"]
ingress_vips = ["192.0.2.80"]
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn need(program: &str, package: &str) {
    let ok =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{program} not found: apt-get install -y {package}");
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn serve(ns: &Netns, args: &[&str]) -> Server {
    let child = ns
        .command(env!("CARGO_BIN_EXE_bmnet"))
        .args(["dns", "serve"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bmnet dns serve");
    Server(child)
}

/// `dig +short` from the client namespace; waits up to 10 s for a first answer.
fn dig(cli: &Netns, args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = cli.exec(&[&["dig", "+short", "+tries=1", "+time=1"], args].concat());
        let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if (o.status.success() && !out.is_empty() && !out.starts_with(";;")) || Instant::now() > deadline {
            return out;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A counter of the kernel's UDP layer in the namespace: `Udp: NAME` from /proc/net/snmp, or
/// `Udp6NAME` from /proc/net/snmp6.
fn udp_counter(ns: &Netns, name: &str) -> u64 {
    let snmp = String::from_utf8(ns.exec(&["cat", "/proc/net/snmp"]).stdout).unwrap();
    let udp: Vec<&str> = snmp.lines().filter(|l| l.starts_with("Udp: ")).collect();
    let names: Vec<&str> = udp[0].split_whitespace().collect();
    let values: Vec<&str> = udp[1].split_whitespace().collect();
    let v4: u64 = values[names.iter().position(|n| *n == name).unwrap()].parse().unwrap();
    let snmp6 = String::from_utf8(ns.exec(&["cat", "/proc/net/snmp6"]).stdout).unwrap();
    let key = format!("Udp6{name}");
    let v6: u64 = snmp6
        .lines()
        .find_map(|l| {
            l.split_once(char::is_whitespace).filter(|(k, _)| *k == key).map(|(_, v)| v.trim().parse().unwrap())
        })
        .unwrap();
    v4 + v6
}

/// `bmnet dns serve ARGS` in the namespace must refuse to start (exit 2); what it said.
fn refused(ns: &Netns, args: &[&str]) -> String {
    let o = ns.exec(&[&[env!("CARGO_BIN_EXE_bmnet"), "dns", "serve"], args].concat());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    text(&o)
}

fn config(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn xdp_answers_before_the_kernel_and_leaves_the_rest_to_it() {
    need("dig", "bind9-dnsutils");
    need("kdig", "knot-dnsutils");
    need("python3", "python3");
    let cli = util::netns("xdpc");
    let srv = util::netns("xdps");
    let n = std::process::id() % 100_000;
    let (c, s) = (format!("bxc{n}"), format!("bxs{n}"));
    cli.ip(&["link", "add", &c, "type", "veth", "peer", "name", &s, "netns", &srv.name]);
    for (ns, dev, v4, v6) in [(&cli, &c, "10.78.0.1/24", "fd00:78::1/64"), (&srv, &s, "10.78.0.2/24", "fd00:78::2/64")]
    {
        ns.ip(&["addr", "add", v4, "dev", dev]);
        ns.ip(&["addr", "add", v6, "dev", dev, "nodad"]);
        ns.ip(&["link", "set", dev, "up"]);
        ns.ip(&["link", "set", "lo", "up"]);
    }
    let dir = std::env::temp_dir().join(format!("bmnet-dns-xdp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A TXT record of about 1,100 bytes: more than a 600-byte link carries in one frame.
    let chunks = vec![format!("\"{}\"", "x".repeat(200)); 5].join(", ");
    let zone =
        config(&dir, "zone.toml", &format!("{ZONE}\n[[records]]\ntype = \"TXT\"\nname = \"big\"\ntext = [{chunks}]\n"));
    let upstream = config(&dir, "upstream.toml", UPSTREAM);

    let _upstream = serve(&srv, &["--workers", "1", "--listen", "127.0.0.1:5300", "--config", &upstream]);
    // Another resolver on another address of the same interface and port, on kernel sockets:
    // the program must leave its queries alone.
    srv.ip(&["addr", "add", "10.78.0.3/24", "dev", &s]);
    let _other = serve(&srv, &["--workers", "1", "--listen", "10.78.0.3:53", "--config", &upstream]);
    // A wildcard would take every host's DNS routed through this one: refused, saying why.
    let t = refused(&srv, &["--listen", "0.0.0.0:53", "--xdp", &s, "--config", &zone]);
    assert!(t.contains("a wildcard listening address would take DNS traffic meant for other hosts"), "{t}");
    let mut server = serve(
        &srv,
        &["--workers", "1", "--listen", "10.78.0.2:53", "--listen", "[fd00:78::2]:53", "--xdp", &s, "--config", &zone],
    );
    assert_eq!(dig(&cli, &["@10.78.0.2", "api.ostest.example.com"]), "192.168.111.5", "the server never answered");
    let link = String::from_utf8(srv.exec(&["ip", "link", "show", &s]).stdout).unwrap();
    assert!(link.contains("prog/xdp") && link.contains("bmnet_dns"), "no XDP program on {s}: {link}");

    // `bmnet inspect` on the node says how the server answers.
    let o = srv.exec(&[env!("CARGO_BIN_EXE_bmnet"), "inspect"]);
    assert!(text(&o).contains(&format!("ostest.example.com on 10.78.0.2:53, UDP over XDP on {s})")), "{}", text(&o));

    // Over XDP, both families: the kernel's UDP layer sees none of these queries.
    let before = udp_counter(&srv, "InDatagrams");
    for _ in 0..10 {
        assert_eq!(dig(&cli, &["@10.78.0.2", "api-int.ostest.example.com"]), "192.168.111.5");
        assert_eq!(dig(&cli, &["@fd00:78::2", "master-0.ostest.example.com", "AAAA"]), "fd2e:6f44:5dd8::20");
        assert_eq!(dig(&cli, &["@fd00:78::2", "x.y.apps.ostest.example.com"]), "192.168.111.4");
    }
    let o = cli.exec(&["dig", "+tries=1", "+time=2", "@10.78.0.2", "nope.ostest.example.com"]);
    assert!(text(&o).contains("status: NXDOMAIN") && text(&o).contains("flags: qr aa rd"), "{}", text(&o));
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "queries reached the kernel's UDP sockets");
    // The other resolver's query goes through the kernel, to it.
    assert_eq!(dig(&cli, &["@10.78.0.3", "api.upstream.test"]), "192.0.2.53");
    assert_eq!(udp_counter(&srv, "InDatagrams"), before + 1, "the other address's query should reach the kernel");
    let before = before + 1;

    // A burst: 500 queries sent back to back from one socket, so the worker drains full
    // batches and paces itself; every one is answered once, with its own id and name.
    let burst = r#"
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
def query(i):
    name = b"".join(bytes([len(l)]) + l for l in [b"n%d" % i, b"apps", b"ostest", b"example", b"com"]) + b"\0"
    return struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
for i in range(500):
    s.sendto(query(i), ("10.78.0.2", 53))
s.settimeout(3)
seen = {}
try:
    while len(seen) < 500:
        data = s.recv(2048)
        i = struct.unpack(">H", data[:2])[0]
        ok = data[2] & 0x84 == 0x84 and data[3] & 0x0f == 0 and (b"n%d" % i) in data and data.endswith(bytes([192, 168, 111, 4]))
        seen[i] = seen.get(i, 0) + (1 if ok else 1000)
except socket.timeout:
    pass
print(len(seen), sum(seen.values()))
"#;
    let o = cli.exec(&["python3", "-c", burst]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "500 500", "answered, answers: {}", text(&o));
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "the burst reached the kernel's UDP sockets");

    // TCP is the kernel's.
    let o = cli.exec(&["kdig", "+tcp", "+short", "@10.78.0.2", "api.ostest.example.com"]);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "192.168.111.5", "{}", text(&o));

    // Forwarded: the answer leaves through the kernel's socket from 10.78.0.2 (dig ignores an
    // answer from any other source), and over IPv6 from fd00:78::2.
    assert_eq!(dig(&cli, &["@10.78.0.2", "api.upstream.test"]), "192.0.2.53");
    assert_eq!(dig(&cli, &["@fd00:78::2", "api.upstream.test"]), "192.0.2.53");

    // An answer larger than the link's MTU goes through the kernel, which fragments it; a small
    // one still does not.
    for (ns, dev) in [(&cli, &c), (&srv, &s)] {
        ns.ip(&["link", "set", dev, "mtu", "600"]);
    }
    // The server reads the MTU again every second.
    std::thread::sleep(Duration::from_millis(1500));
    let sent = udp_counter(&srv, "OutDatagrams");
    let o = cli.exec(&["dig", "+tries=1", "+time=2", "+bufsize=1232", "@10.78.0.2", "big.ostest.example.com", "TXT"]);
    let t = text(&o);
    assert!(t.contains("ANSWER: 1,") && !t.contains(" tc") && t.matches(&"x".repeat(200)).count() == 5, "{t}");
    assert_eq!(udp_counter(&srv, "OutDatagrams"), sent + 1, "the big answer should leave through the kernel");
    assert_eq!(dig(&cli, &["@10.78.0.2", "api.ostest.example.com"]), "192.168.111.5");
    assert_eq!(udp_counter(&srv, "OutDatagrams"), sent + 1, "a small answer should not");

    // The link goes down and up again: the server answers over XDP again.
    for state in ["down", "up"] {
        srv.ip(&["link", "set", &s, state]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let before = udp_counter(&srv, "InDatagrams");
    assert_eq!(
        dig(&cli, &["@10.78.0.2", "api.ostest.example.com"]),
        "192.168.111.5",
        "no answer after the link flapped"
    );
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "after the flap, not over XDP");

    // A second server cannot take the interface while the first holds it, and says why.
    let t = refused(&srv, &["--listen", "10.78.0.2:5353", "--xdp", &s, "--config", &zone]);
    assert!(t.contains(&format!("XDP on {s}: queue 0 already has an AF_XDP socket")), "{t}");
    let t = refused(&srv, &["--listen", "10.78.0.2:5353", "--xdp", "nosuch0", "--config", &zone]);
    assert!(t.contains("XDP on nosuch0: no interface nosuch0"), "{t}");

    // Stopping the server detaches the program: the kernel answers the port again (refused).
    let pid = server.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = server.0.wait().unwrap();
    assert!(status.success(), "{status}");
    let link = String::from_utf8(srv.exec(&["ip", "link", "show", &s]).stdout).unwrap();
    assert!(!link.contains("prog/xdp"), "the XDP program outlived the server: {link}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// On a bridge, as OpenShift's `br-ex`: no native XDP there, so the kernel runs the program in
/// generic mode, and the answers still bypass the UDP layer.
#[test]
fn xdp_on_a_bridge_runs_in_generic_mode() {
    need("dig", "bind9-dnsutils");
    let cli = util::netns("xdpbc");
    let srv = util::netns("xdpbs");
    let n = std::process::id() % 100_000;
    let (c, s, br) = (format!("bbc{n}"), format!("bbs{n}"), format!("bbr{n}"));
    cli.ip(&["link", "add", &c, "type", "veth", "peer", "name", &s, "netns", &srv.name]);
    srv.ip(&["link", "add", &br, "type", "bridge"]);
    srv.ip(&["link", "set", &s, "master", &br]);
    cli.ip(&["addr", "add", "10.79.0.1/24", "dev", &c]);
    srv.ip(&["addr", "add", "10.79.0.2/24", "dev", &br]);
    for (ns, dev) in [(&cli, &c), (&srv, &s), (&srv, &br)] {
        ns.ip(&["link", "set", dev, "up"]);
    }
    let dir = std::env::temp_dir().join(format!("bmnet-dns-xdp-br-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zone = config(&dir, "zone.toml", ZONE);
    let _server = serve(&srv, &["--workers", "1", "--listen", "10.79.0.2:53", "--xdp", &br, "--config", &zone]);
    assert_eq!(dig(&cli, &["@10.79.0.2", "api.ostest.example.com"]), "192.168.111.5", "the server never answered");
    let link = String::from_utf8(srv.exec(&["ip", "link", "show", &br]).stdout).unwrap();
    assert!(link.contains("xdpgeneric") && link.contains("bmnet_dns"), "not generic XDP on {br}: {link}");
    let before = udp_counter(&srv, "InDatagrams");
    for _ in 0..10 {
        assert_eq!(dig(&cli, &["@10.79.0.2", "a.apps.ostest.example.com"]), "192.168.111.4");
    }
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "queries reached the kernel's UDP sockets");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The XDP path takes packets before netfilter and the kernel's martian and reverse-path
/// checks, so it applies the server's own rules: the access lists as on the sockets, and no
/// answer to a source that can be no client (loopback, multicast, the server's own address),
/// forged here with raw IP packets. The kernel's UDP layer sees none of it.
#[test]
fn xdp_applies_the_access_rules_and_drops_martians() {
    need("dig", "bind9-dnsutils");
    need("python3", "python3");
    let cli = util::netns("xdpac");
    let srv = util::netns("xdpas");
    let n = std::process::id() % 100_000;
    let (c, s) = (format!("bac{n}"), format!("bas{n}"));
    cli.ip(&["link", "add", &c, "type", "veth", "peer", "name", &s, "netns", &srv.name]);
    for (ns, dev, v4) in [(&cli, &c, "10.77.7.1/24"), (&srv, &s, "10.77.7.2/24")] {
        ns.ip(&["addr", "add", v4, "dev", dev]);
        ns.ip(&["link", "set", dev, "up"]);
        ns.ip(&["link", "set", "lo", "up"]);
    }
    let dir = std::env::temp_dir().join(format!("bmnet-dns-xdp-acl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let zone = config(&dir, "zone.toml", ZONE);
    let upstream = config(&dir, "upstream.toml", UPSTREAM);
    let _upstream = serve(&srv, &["--workers", "1", "--listen", "127.0.0.1:5300", "--config", &upstream]);
    // The client is on the server's subnet, but recursion is for another network only.
    let args = ["--workers", "1", "--listen", "10.77.7.2:53", "--xdp", &s, "--config", &zone];
    let child = Command::new("ip")
        .args(["netns", "exec", &srv.name, env!("CARGO_BIN_EXE_bmnet"), "dns", "serve"])
        .args(args)
        .args(["--allow-recursion", "10.99.0.0/16"])
        .env("BMNET_STATUS_DIR", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let _server = Server(child);
    assert_eq!(dig(&cli, &["@10.77.7.2", "api.ostest.example.com"]), "192.168.111.5", "the server never answered");
    let before = udp_counter(&srv, "InDatagrams");
    let o = cli.exec(&["dig", "+tries=1", "+time=2", "@10.77.7.2", "api.upstream.test"]);
    assert!(text(&o).contains("status: REFUSED"), "recursion over XDP for a client off the list: {}", text(&o));
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "not over XDP");

    // Forged sources, raw IPv4/UDP with a correct checksum-less UDP header (allowed in IPv4).
    let forge = r#"
import socket, struct
def query(i):
    name = b"\x03api\x06ostest\x07example\x03com\x00"
    return struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1)
def packet(src, payload):
    udp = struct.pack(">HHHH", 40000, 53, 8 + len(payload), 0) + payload
    total = 20 + len(udp)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, 17, 0, socket.inet_aton(src), socket.inet_aton("10.77.7.2"))
    s = sum(struct.unpack(">10H", ip))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    ip = ip[:10] + struct.pack(">H", ~s & 0xffff) + ip[12:]
    return ip + udp
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for i, src in enumerate(["127.0.0.1", "224.0.0.9", "10.77.7.2", "0.0.0.1"]):
    raw.sendto(packet(src, query(i)), ("10.77.7.2", 0))
"#;
    let o = cli.exec(&["python3", "-c", forge]);
    assert!(o.status.success(), "{}", text(&o));
    // The status file has the counters; it is rewritten every second.
    let deadline = Instant::now() + Duration::from_secs(5);
    let martians = loop {
        let status = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("dns-"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .find(|v| v["listen"][0] == "10.77.7.2:53");
        let n = status.as_ref().and_then(|v| v["stats"]["xdp_martians"].as_u64()).unwrap_or(0);
        if n >= 3 || Instant::now() > deadline {
            break n;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The multicast source never gets as far: the frame reader refuses group addresses (an
    // answer would swap them). The other three are the martian check's.
    assert_eq!(martians, 3, "forged sources dropped by the XDP path");
    assert_eq!(udp_counter(&srv, "InDatagrams"), before, "the forged packets were the XDP path's to drop");
    let _ = std::fs::remove_dir_all(&dir);
}
