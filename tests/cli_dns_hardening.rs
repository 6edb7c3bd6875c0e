//! `bmnet dns serve` on a node address, attacked: each check plays one attack of issue 13 and
//! fails on a server without the defence. Three namespaces made by the test (root needed):
//!
//! ```text
//!   far (10.80.2.2, fd00:80:2::2) -- rtr (10.80.2.1 | 10.80.1.1, fd00:80:1::1) -- srv (10.80.1.2, .4)
//! ```
//!
//! `srv` runs the server on 10.80.1.2 (and fd00:80:1::2) with a misbehaving upstream on its
//! loopback (`tests/peers/dns_upstream.py`: silent, oversize, or answering another question,
//! by name). `rtr` is a client on the server's own subnet, `far` one routed from another.
//!
//! The same checks run against Unbound 1.17 as a forwarder to the same upstream, with its
//! defaults but for an `access-control` line allowing the server's subnet (what our
//! `localnets` default allows), to show that the checks ask what a trusted resolver does. The
//! checks Unbound cannot share are marked: it refuses everything to clients off its list, where
//! we answer the cluster zone to everyone.
//!
//! Needs dig, python3 and unbound (`apt-get install -y bind9-dnsutils python3 unbound iproute2`).

// Creates namespaces and runs servers and clients on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use util::Netns;

const ZONE: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
upstreams = ["127.0.0.1:5300"]
"#;

/// A child process, killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn need(program: &str, package: &str) {
    let ok =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{program} not found: apt-get install -y {package} (this test never skips)");
}

/// The three namespaces, the fake upstream, and a scratch directory.
struct Lab {
    srv: Netns,
    rtr: Netns,
    far: Netns,
    /// The far namespace's interface.
    far_if: String,
    dir: Scratch,
    _upstream: Proc,
}

impl Lab {
    fn new(tag: &str) -> Lab {
        need("dig", "bind9-dnsutils");
        need("python3", "python3");
        let srv = util::netns(&format!("{tag}s"));
        let rtr = util::netns(&format!("{tag}r"));
        let far = util::netns(&format!("{tag}f"));
        // No duplicate address detection: addresses usable at once (link-local ones too).
        for ns in [&srv, &rtr, &far] {
            for key in ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"] {
                assert!(ns.exec(&["sysctl", "-qw", key]).status.success());
            }
        }
        let pid = std::process::id() % 100_000;
        let name = |end: &str| format!("{tag}{end}{pid}");
        let (s0, r0, r1, f0) = (name("s"), name("r"), name("q"), name("f"));
        let link = |a: &Netns, ia: &str, b: &Netns, ib: &str| {
            let o = Command::new("ip")
                .args(["link", "add", ia, "netns", &a.name, "type", "veth", "peer", "name", ib, "netns", &b.name])
                .output()
                .unwrap();
            assert!(o.status.success(), "veth: {}", String::from_utf8_lossy(&o.stderr));
        };
        link(&srv, &s0, &rtr, &r0);
        link(&rtr, &r1, &far, &f0);
        for (ns, dev, addrs) in [
            (&srv, &s0, &["10.80.1.2/24", "10.80.1.4/24", "fd00:80:1::2/64", "fd00:80:1::4/64"][..]),
            (&rtr, &r0, &["10.80.1.1/24", "fd00:80:1::1/64"][..]),
            (&rtr, &r1, &["10.80.2.1/24", "fd00:80:2::1/64"][..]),
            (&far, &f0, &["10.80.2.2/24", "fd00:80:2::2/64"][..]),
        ] {
            for a in addrs {
                let extra: &[&str] = if a.contains(':') { &["nodad"] } else { &[] };
                let mut args = vec!["addr", "add", a, "dev", dev];
                args.extend(extra);
                ns.ip(&args);
            }
            ns.ip(&["link", "set", "dev", dev, "up"]);
            ns.ip(&["link", "set", "dev", "lo", "up"]);
        }
        // The slowloris attacker in `far` uses many addresses, so that a per-client limit
        // alone cannot stop it.
        for i in 10..30 {
            far.ip(&["addr", "add", &format!("10.80.2.{i}/24"), "dev", &f0]);
        }
        srv.ip(&["route", "add", "default", "via", "10.80.1.1"]);
        srv.ip(&["-6", "route", "add", "default", "via", "fd00:80:1::1"]);
        far.ip(&["route", "add", "default", "via", "10.80.2.1"]);
        far.ip(&["-6", "route", "add", "default", "via", "fd00:80:2::1"]);
        for key in ["net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"] {
            assert!(rtr.exec(&["sysctl", "-qw", key]).status.success());
        }
        let dir = std::env::temp_dir().join(format!("bmnet-dns-hardening-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/dns_upstream.py");
        let log = dir.join("upstream-ids.log");
        let mut upstream = Command::new("ip")
            .args(["netns", "exec", &srv.name, "python3", script, "127.0.0.1", "5300"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut ready = [0u8; 6];
        use std::io::Read;
        upstream.stdout.as_mut().unwrap().read_exact(&mut ready).expect("the fake upstream starts");
        Lab { srv, rtr, far, far_if: f0, dir: Scratch(dir), _upstream: Proc(upstream) }
    }

    /// `bmnet dns serve` in `srv` on 10.80.1.2 (and `extra` arguments), its command prefixed by
    /// `wrapper` (a `prlimit`, say), its status file in the scratch directory; waits until a
    /// client on another subnet gets an answer.
    fn bmnet(&self, wrapper: &[&str], extra: &[&str]) -> Proc {
        let config = self.dir.0.join("zone.toml");
        std::fs::write(&config, ZONE).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.srv.name])
            .args(wrapper)
            .args([env!("CARGO_BIN_EXE_bmnet"), "dns", "serve", "--listen", "10.80.1.2:53", "--workers", "1"])
            .arg("--config")
            .arg(&config)
            .args(extra)
            .env("BMNET_STATUS_DIR", &self.dir.0)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let server = Proc(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while dig(&self.far, "10.80.1.2", &["+time=1", "api.ostest.example.com"]).status.is_empty() {
            assert!(Instant::now() < deadline, "bmnet did not come up");
        }
        server
    }

    /// IDs the upstream has seen.
    fn upstream_ids(&self) -> Vec<u16> {
        std::fs::read_to_string(self.dir.0.join("upstream-ids.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }
}

/// One dig reply: status, flags, answers, size.
#[derive(Debug, Default)]
struct Dig {
    status: String,
    flags: Vec<String>,
    answers: usize,
    size: usize,
    raw: String,
}

impl Dig {
    fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// `dig @server args` from namespace `ns`.
fn dig(ns: &Netns, server: &str, args: &[&str]) -> Dig {
    let mut argv = vec!["dig", "+tries=1", "+time=4", "+noall", "+comments", "+answer", "+stats", "-p", "53"];
    let at = format!("@{server}");
    argv.push(&at);
    argv.extend(args);
    let o = ns.exec(&argv);
    let raw = String::from_utf8_lossy(&o.stdout).to_string();
    let mut d = Dig { raw: raw.clone(), ..Dig::default() };
    for line in raw.lines() {
        if let Some(rest) = line.split("status: ").nth(1) {
            d.status = rest.split(',').next().unwrap_or("").to_string();
        } else if let Some(flags) = line.strip_prefix(";; flags: ") {
            d.flags = flags.split(';').next().unwrap_or("").split_whitespace().map(str::to_string).collect();
        } else if let Some(size) = line.strip_prefix(";; MSG SIZE  rcvd: ") {
            d.size = size.trim().parse().unwrap_or(0);
        } else if !line.starts_with(';') && !line.trim().is_empty() {
            d.answers += 1; // with +noall +answer, the only lines without `;`
        }
    }
    d
}

/// Which server the checks run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    Bmnet,
    Unbound,
}

/// Starts the server under test in `srv`: bmnet on .2, or Unbound on .4.
fn start(lab: &Lab, peer: Peer) -> (Proc, &'static str, &'static str) {
    let (child, v4, v6) = match peer {
        Peer::Bmnet => {
            let server = lab.bmnet(&[], &["--listen", "[fd00:80:1::2]:53"]);
            return (server, "10.80.1.2", "fd00:80:1::2");
        }
        Peer::Unbound => {
            need("unbound", "unbound");
            let dir = lab.dir.0.display();
            let conf = format!(
                r#"server:
    interface: 10.80.1.4
    interface: fd00:80:1::4
    port: 53
    username: ""
    chroot: ""
    directory: "{dir}"
    pidfile: "{dir}/unbound.pid"
    use-syslog: no
    logfile: "{dir}/unbound.log"
    do-daemonize: no
    access-control: 10.80.1.0/24 allow
    access-control: fd00:80:1::/64 allow
    local-zone: "ostest.example.com." static
    local-data: "api.ostest.example.com. 30 IN A 192.168.111.5"
    module-config: "iterator"
    # The fake upstream is on the namespace's loopback, which Unbound skips by default.
    do-not-query-localhost: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@5300
"#
            );
            let path = lab.dir.0.join("unbound.conf");
            std::fs::write(&path, conf).unwrap();
            let child = Command::new("ip")
                .args(["netns", "exec", &lab.srv.name, "unbound", "-d", "-c"])
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            (child, "10.80.1.4", "fd00:80:1::4")
        }
    };
    let proc = Proc(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let up = |ns: &Netns, server: &str| !dig(ns, server, &["+time=1", "api.ostest.example.com", "A"]).status.is_empty();
    while !(up(&lab.rtr, v4) && up(&lab.far, v4) && up(&lab.far, v6)) {
        assert!(Instant::now() < deadline, "{peer:?} did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    (proc, v4, v6)
}

/// Sends `count` queries for distinct silent names from `ns` as fast as one socket can.
fn flood(ns: &Netns, server: &str, count: usize) {
    let script = format!(
        r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({count}):
    name = b"".join(bytes([len(l)]) + l for l in [b"x%d" % i, b"flood", b"example"]) + b"\0"
    s.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1), ("{server}", 53))
"#
    );
    let o = ns.exec(&["python3", "-c", &script]);
    assert!(o.status.success(), "flood: {}", String::from_utf8_lossy(&o.stderr));
}

/// Opens 130 TCP connections to `server` from twenty addresses of `ns`, each sending one byte
/// every 4 s, for `seconds`.
fn slowloris(ns: &Netns, server: &str, seconds: u64) -> Proc {
    slowloris_for(ns, server, 130, seconds)
}

/// [`slowloris`] with `count` connections.
fn slowloris_for(ns: &Netns, server: &str, count: usize, seconds: u64) -> Proc {
    let script = format!(
        r#"
import socket, time
conns = []
for i in range({count}):
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.bind(("10.80.2.%d" % (10 + i % 20), 0))
    c.setblocking(False)
    try:
        c.connect(("{server}", 53))
    except BlockingIOError:
        pass
    conns.append(c)
end = time.time() + {seconds}
while time.time() < end:
    for c in conns:
        try:
            c.send(b"\0")
        except OSError:
            pass
    time.sleep(4)
"#
    );
    Proc(Command::new("ip").args(["netns", "exec", &ns.name, "python3", "-c", &script]).spawn().unwrap())
}

/// Counter `name` of the server's stats in its status file under `dir` (rewritten every
/// second: waits up to 3 s for it to be non-zero), or 0.
fn stat(dir: &std::path::Path, name: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let n = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("dns-"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .filter_map(|v| v["stats"][name].as_u64())
            .max()
            .unwrap_or(0);
        if n > 0 || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Open descriptors of `pid`.
fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// Every check of issue 13 against one server.
fn checks(lab: &Lab, peer: Peer) {
    let (server, v4, v6) = start(lab, peer);
    let pid = server.0.id();

    // Recursion: a client on the server's subnet has other names resolved, one routed from
    // another subnet is REFUSED — over IPv4 and IPv6.
    let near = dig(&lab.rtr, v4, &["+rec", "www.example.org", "A"]);
    assert_eq!((near.status.as_str(), near.answers), ("NOERROR", 1), "{peer:?} near client:\n{}", near.raw);
    for server in [v4, v6] {
        let far = dig(&lab.far, server, &["+rec", "www.example.org", "A"]);
        assert_eq!(far.status, "REFUSED", "{peer:?} @{server} far client recursion:\n{}", far.raw);
    }
    if peer == Peer::Bmnet {
        // The zone is answered to everyone (Unbound refuses everything off its list).
        let zone = dig(&lab.far, v4, &["api.ostest.example.com", "A"]);
        assert_eq!((zone.status.as_str(), zone.answers), ("NOERROR", 1), "far client, the zone:\n{}", zone.raw);
        assert!(zone.has("aa"));
    }

    // RD clear, outside the zone: REFUSED, never forwarded.
    let before = lab.upstream_ids().len();
    let norec = dig(&lab.rtr, v4, &["+norec", "norec.example.org", "A"]);
    assert_eq!(norec.status, "REFUSED", "{peer:?} RD=0:\n{}", norec.raw);
    assert_eq!(lab.upstream_ids().len(), before, "{peer:?}: an RD=0 query went upstream");

    // The upstream never sees the client's message ID: dig picks random ones, and over a few
    // queries the forwarder's must differ from them.
    let client_ids: Vec<u16> = (0..5u16).map(|i| 0x1000 + i).collect();
    let script = format!(
        r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
for i in {client_ids:?}:
    name = b"".join(bytes([len(l)]) + l for l in [b"id%d" % i, b"example", b"org"]) + b"\0"
    s.sendto(struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", 1, 1), ("{v4}", 53))
    reply = s.recv(4096)
    assert struct.unpack("!H", reply[:2])[0] == i, "the client's own ID comes back"
"#
    );
    let o = lab.rtr.exec(&["python3", "-c", &script]);
    assert!(o.status.success(), "{peer:?} IDs: {}", String::from_utf8_lossy(&o.stderr));
    let seen = lab.upstream_ids();
    assert!(!client_ids.iter().all(|id| seen.contains(id)), "{peer:?}: the upstream saw the clients' IDs {seen:?}");

    // Too big: a non-EDNS client gets at most 512 bytes, TC set; an EDNS client at most its
    // size; over TCP all of it.
    let small = dig(&lab.rtr, v4, &["+noedns", "+ignore", "big.example.org", "TXT"]);
    assert!(small.size <= 512 && small.has("tc"), "{peer:?} non-EDNS: {} bytes\n{}", small.size, small.raw);
    let edns = dig(&lab.rtr, v4, &["+bufsize=1232", "+ignore", "big2.example.org", "TXT"]);
    assert!(edns.size <= 1232 && edns.has("tc"), "{peer:?} EDNS 1232: {} bytes\n{}", edns.size, edns.raw);
    let tcp = dig(&lab.rtr, v4, &["+tcp", "big3.example.org", "TXT"]);
    assert_eq!((tcp.status.as_str(), tcp.answers), ("NOERROR", 30), "{peer:?} over TCP:\n{}", tcp.raw);

    // An answer to another question is not relayed: the client gets SERVFAIL, not evil's A.
    let other = dig(&lab.rtr, v4, &["+time=8", "other.example.org", "A"]);
    assert_eq!(other.status, "SERVFAIL", "{peer:?} another question:\n{}", other.raw);
    assert!(!other.raw.contains("203.0.113.66"));

    // A burst of 1,100 queries to a silent upstream, then forwarding and the zone within a
    // second.
    flood(&lab.rtr, v4, 1100);
    let started = Instant::now();
    let after = dig(&lab.rtr, v4, &["+time=1", "after-flood.example.org", "A"]);
    assert_eq!(after.status, "NOERROR", "{peer:?} forwarding after the flood:\n{}", after.raw);
    let zone = dig(&lab.rtr, v4, &["+time=1", "api.ostest.example.com", "A"]);
    assert_eq!(zone.status, "NOERROR", "{peer:?} the zone after the flood");
    assert!(started.elapsed() < Duration::from_secs(2), "{peer:?}: {:?}", started.elapsed());
    if peer == Peer::Bmnet {
        assert!(descriptors(pid) < 64, "no descriptor per query: {} open", descriptors(pid));
    }

    // 130 slowloris connections from twenty addresses: dig +tcp is still answered, now and
    // after the attackers' next byte.
    let attack = slowloris(&lab.far, v4, 12);
    for wait in [1500, 4500] {
        std::thread::sleep(Duration::from_millis(wait));
        let t = dig(&lab.rtr, v4, &["+tcp", "+time=3", "api.ostest.example.com", "A"]);
        assert_eq!(t.status, "NOERROR", "{peer:?} dig +tcp under slowloris:\n{}", t.raw);
    }
    drop(attack);
    drop(server);
}

#[test]
fn bmnet_resists_the_attacks() {
    let lab = Lab::new("dh");
    checks(&lab, Peer::Bmnet);
}

#[test]
fn unbound_as_a_forwarder_passes_the_same_checks() {
    let lab = Lab::new("du");
    checks(&lab, Peer::Unbound);
}

/// The flags that widen, narrow and limit: `--allow-recursion` for another network only (the
/// server's own subnet then refused, and still after a reload), `--allow-query` shutting out a
/// network even from the zone, and `--rate-limit` with slip: a client over the limit gets
/// truncated answers (to retry over TCP) and silence, never more than the limit in full.
#[test]
fn bmnet_access_and_rate_limit_flags() {
    let lab = Lab::new("df");
    lab.far.ip(&["addr", "add", "10.81.0.5/32", "dev", &lab.far_if]);
    lab.rtr.ip(&["route", "add", "10.81.0.0/24", "via", "10.80.2.2"]);
    let server = lab.bmnet(
        &[],
        &[
            "--allow-recursion",
            "10.80.2.0/24",
            "--allow-query",
            "10.80.0.0/16",
            "--rate-limit",
            "40",
            "--rate-limit-slip",
            "2",
        ],
    );
    let checks = |when: &str| {
        let far = dig(&lab.far, "10.80.1.2", &["+rec", "www.example.org"]);
        assert_eq!((far.status.as_str(), far.answers), ("NOERROR", 1), "{when}: far may recurse:\n{}", far.raw);
        let near = dig(&lab.rtr, "10.80.1.2", &["+rec", "www.example.org"]);
        assert_eq!(near.status, "REFUSED", "{when}: the server's own subnet is off the list:\n{}", near.raw);
        let zone = dig(&lab.rtr, "10.80.1.2", &["api.ostest.example.com"]);
        assert_eq!(zone.status, "NOERROR", "{when}: the zone, for everyone allowed to query");
        let outside = dig(&lab.far, "10.80.1.2", &["-b", "10.81.0.5", "api.ostest.example.com"]);
        assert_eq!(outside.status, "REFUSED", "{when}: not allowed to query:\n{}", outside.raw);
    };
    checks("at start");
    let _ = Command::new("kill").args(["-HUP", &server.0.id().to_string()]).status();
    std::thread::sleep(Duration::from_millis(500));
    checks("after SIGHUP");

    // 200 queries in a burst from one client, a second apart from the checks above.
    std::thread::sleep(Duration::from_secs(1));
    let burst = r#"
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
name = b"\x03api\x06ostest\x07example\x03com\x00"
for i in range(200):
    s.sendto(struct.pack(">HHHHHH", i, 0x0100, 1, 0, 0, 0) + name + struct.pack(">HH", 1, 1), ("10.80.1.2", 53))
s.settimeout(1.5)
full = tc = 0
try:
    while True:
        data = s.recv(2048)
        if data[2] & 0x02:
            tc += 1
        elif struct.unpack(">H", data[6:8])[0] == 1:
            full += 1
except socket.timeout:
    pass
print(full, tc)
"#;
    let o = lab.far.exec(&["python3", "-c", burst]);
    let out = String::from_utf8_lossy(&o.stdout);
    let (full, tc): (u32, u32) = {
        let mut it = out.split_whitespace().map(|n| n.parse().unwrap());
        (it.next().expect("counts"), it.next().expect("counts"))
    };
    // At most the limit per second (the burst may straddle two seconds), half the rest slipped.
    assert!((40..=80).contains(&full), "{full} full answers");
    assert!(tc >= 40 && full + tc < 200, "{full} full, {tc} truncated: the rest dropped");
    drop(server);
}

/// Out of descriptors (the server started under `prlimit --nofile=64`), accepting fails: each
/// failure costs one connection, never the acceptor. Once the flood of connections closes,
/// `dig +tcp` is answered again.
#[test]
fn bmnet_survives_running_out_of_descriptors() {
    need("prlimit", "util-linux");
    let lab = Lab::new("dn");
    let server = lab.bmnet(&["prlimit", "--nofile=64"], &[]);
    // 100 connections from twenty addresses, held for 3 s: more than the server has descriptors.
    let attack = slowloris_for(&lab.far, "10.80.1.2", 100, 3);
    std::thread::sleep(Duration::from_millis(1500));
    drop(attack);
    std::thread::sleep(Duration::from_millis(500));
    let t = dig(&lab.rtr, "10.80.1.2", &["+tcp", "+time=3", "api.ostest.example.com", "A"]);
    assert_eq!(t.status, "NOERROR", "dig +tcp after the descriptors ran out:\n{}", t.raw);
    assert!(descriptors(server.0.id()) < 64);
    drop(server);
}

/// A pids cgroup holding the processes moved into it, removed on drop. cgroup v1's `pids`
/// hierarchy, or v2's with the `pids` controller.
struct PidsCgroup(PathBuf);

impl PidsCgroup {
    fn new(tag: &str) -> PidsCgroup {
        let v1 = PathBuf::from("/sys/fs/cgroup/pids");
        let root = if v1.join("cgroup.procs").exists() {
            v1
        } else {
            let v2 = PathBuf::from("/sys/fs/cgroup");
            let controllers = std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
            assert!(controllers.contains("pids"), "this test needs the pids cgroup controller (v1 or v2), as root");
            let _ = std::fs::write(v2.join("cgroup.subtree_control"), "+pids");
            v2
        };
        let dir = root.join(format!("bmnet-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        PidsCgroup(dir)
    }

    /// Moves process `pid` in and lets it have `max` tasks (threads count) in all.
    fn hold(&self, pid: u32, max: usize) {
        std::fs::write(self.0.join("cgroup.procs"), pid.to_string()).unwrap();
        std::fs::write(self.0.join("pids.max"), max.to_string()).unwrap();
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        // Empty once its processes are gone.
        for _ in 0..50 {
            if std::fs::remove_dir(&self.0).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Out of threads (a pids cgroup allowing the server two more than it runs at start), each
/// connection that cannot get one is closed: the acceptor goes on, and once the connections
/// close `dig +tcp` is answered again. (The previous server's acceptor panicked in
/// `thread::spawn` and TCP was gone for good.)
#[test]
fn bmnet_survives_running_out_of_threads() {
    let lab = Lab::new("dt");
    let server = lab.bmnet(&[], &[]);
    let pid = server.0.id();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().count();
    let cgroup = PidsCgroup::new("dns-threads");
    cgroup.hold(pid, threads + 2);
    let attack = slowloris_for(&lab.far, "10.80.1.2", 30, 3);
    std::thread::sleep(Duration::from_millis(1500));
    drop(attack);
    std::thread::sleep(Duration::from_millis(1500));
    let t = dig(&lab.rtr, "10.80.1.2", &["+tcp", "+time=3", "api.ostest.example.com", "A"]);
    assert_eq!(t.status, "NOERROR", "dig +tcp after threads ran out:\n{}", t.raw);
    assert!(std::fs::metadata(format!("/proc/{pid}")).is_ok(), "the server is still running");
    assert!(stat(&lab.dir.0, "tcp_spawn_failures") > 0, "the test ran the server out of threads");
    drop(server);
    drop(cgroup);
}
