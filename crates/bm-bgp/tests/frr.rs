//! Interop with FRR (Debian's `frr`, 8.4): a router namespace runs zebra and bgpd, and "node"
//! namespaces on its bridge each run a bm-bgp [`Speaker`] on a thread of the test that entered
//! the node's namespace (`setns`) before making the speaker, so every socket it opens is the
//! node's. The router's FIB (`ip -j route`) and `vtysh` show what FRR made of it.
//!
//! Root is needed (namespaces, setns). FRR missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bm_bgp::message::{CeaseSubcode, ErrorCode};
use bm_bgp::{Config, Event, Family, PeerConfig, Speaker, SpeakerEvent, SpeakerEventKind, SpeakerHandle, State};
use bm_testkit::Netns;
use serde_json::Value;

const BGPD: &str = "/usr/lib/frr/bgpd";
const ZEBRA: &str = "/usr/lib/frr/zebra";
/// Generous: FRR and the speakers need seconds; a loaded CI machine more.
const LIMIT: Duration = Duration::from_secs(90);

fn require_frr() {
    for path in [BGPD, ZEBRA, "/usr/bin/vtysh"] {
        assert!(Path::new(path).exists(), "FRR is missing ({path}): install it with `apt-get install -y frr`");
    }
}

/// A router namespace with a bridge `br0` (10.0.0.1/24, fd00::1/64) and `n` node namespaces,
/// node k (1-based) at 10.0.0.1k and fd00::1k on its `eth0`.
struct Lab {
    router: Netns,
    nodes: Vec<Netns>,
}

impl Lab {
    fn new(tag: &str, n: usize) -> Lab {
        let router = Netns::new(&format!("{tag}r"));
        router.sysctl("net.ipv6.conf.all.forwarding", "1");
        router.ip(&["link", "add", "br0", "type", "bridge"]);
        router.ip(&["addr", "add", "10.0.0.1/24", "dev", "br0"]);
        router.ip(&["addr", "add", "fd00::1/64", "dev", "br0", "nodad"]);
        router.ip(&["link", "set", "br0", "up"]);
        let mut nodes = Vec::new();
        for k in 1..=n {
            let node = Netns::new(&format!("{tag}n{k}"));
            let port = format!("r{k}");
            router.ip(&["link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &node.name]);
            router.ip(&["link", "set", &port, "master", "br0", "up"]);
            node.ip(&["addr", "add", &format!("10.0.0.1{k}/24"), "dev", "eth0"]);
            node.ip(&["addr", "add", &format!("fd00::1{k}/64"), "dev", "eth0", "nodad"]);
            node.ip(&["link", "set", "eth0", "up"]);
            nodes.push(node);
        }
        Lab { router, nodes }
    }

    /// The gateways of `prefix` in the router's FIB.
    fn fib_next_hops(&self, prefix: &str) -> BTreeSet<String> {
        let family = if prefix.contains(':') { "-6" } else { "-4" };
        let o = self.router.ip(&[family, "-j", "route", "show", prefix]);
        let routes: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let mut hops = BTreeSet::new();
        for route in routes.as_array().into_iter().flatten() {
            if let Some(g) = route["gateway"].as_str() {
                hops.insert(g.to_string());
            }
            for nh in route["nexthops"].as_array().into_iter().flatten() {
                if let Some(g) = nh["gateway"].as_str() {
                    hops.insert(g.to_string());
                }
            }
        }
        hops
    }
}

/// zebra and bgpd in `ns`, with their files under a directory of their own.
struct Frr {
    dir: PathBuf,
}

impl Frr {
    fn start(ns: &Netns, bgpd_conf: &str) -> Frr {
        require_frr();
        let dir = std::env::temp_dir().join(format!("bm-bgp-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("zebra.conf"), "hostname router\n").unwrap();
        let log = dir.join("bgpd.log");
        std::fs::write(dir.join("bgpd.conf"), format!("log file {}\n{bgpd_conf}", log.display())).unwrap();
        // The daemons drop to the frr user: it writes its sockets, pid files and log here.
        let chmod = Command::new("chmod").args(["-R", "a+rwX"]).arg(&dir).status().unwrap();
        assert!(chmod.success());
        let d = |f: &str| dir.join(f).to_string_lossy().into_owned();
        for (daemon, conf) in [(ZEBRA, "zebra"), (BGPD, "bgpd")] {
            let o = ns
                .command(daemon)
                .args(["-d", "-N", &ns.name, "-f", &d(&format!("{conf}.conf"))])
                .args(["-z", &d("zserv.api"), "-i", &d(&format!("{conf}.pid")), "--vty_socket", &d("")])
                .output()
                .unwrap();
            assert!(o.status.success(), "{daemon}: {}", String::from_utf8_lossy(&o.stderr));
            let vty = dir.join(format!("{conf}.vty"));
            wait_for(&format!("{daemon}'s vty socket"), Duration::from_secs(30), || {
                if vty.exists() { Ok(()) } else { Err("not yet".into()) }
            });
        }
        let frr = Frr { dir };
        let version = frr.vtysh("show version");
        eprintln!("{}", version.lines().next().unwrap_or("FRR, version unknown"));
        frr
    }

    fn vtysh(&self, command: &str) -> String {
        let o = Command::new("vtysh").arg("--vty_socket").arg(&self.dir).args(["-c", command]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn json(&self, command: &str) -> Value {
        serde_json::from_str(&self.vtysh(command)).unwrap_or(Value::Null)
    }

    /// The state of FRR's session with `peer` (`Established`, `Active`…).
    fn peer_state(&self, peer: &str) -> String {
        let v = self.json(&format!("show bgp neighbor {peer} json"));
        v[peer]["bgpState"].as_str().unwrap_or("unknown").to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bgpd.log")).unwrap_or_default()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // The namespace's drop kills the daemons; on failure, the log says what FRR saw.
        if std::thread::panicking() {
            eprintln!("--- bgpd.log ---\n{}", self.log());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A speaker running on a thread inside a node's namespace.
struct Running {
    handle: SpeakerHandle,
    events: Arc<Mutex<Vec<SpeakerEvent>>>,
    thread: JoinHandle<Speaker>,
}

impl Running {
    fn start(ns: &Netns, peers: Vec<PeerConfig>, announce: &[&str]) -> Running {
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let name = ns.name.clone();
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&events);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                bm_sys::tcp::enter_netns(&path).unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
                let mut speaker = Speaker::new(peers).unwrap();
                tx.send(speaker.handle()).unwrap();
                let start = Instant::now();
                speaker
                    .run(|e| {
                        eprintln!("{name} +{:.3}s: {e:?}", start.elapsed().as_secs_f64());
                        log.lock().unwrap().push(e);
                    })
                    .unwrap();
                speaker
            })
            .unwrap();
        let handle = rx.recv().expect("the speaker thread died before running");
        for p in announce {
            handle.announce(p.parse().unwrap()).unwrap();
        }
        Running { handle, events, thread }
    }

    fn events(&self) -> Vec<SpeakerEvent> {
        self.events.lock().unwrap().clone()
    }

    fn count(&self, f: impl Fn(&SpeakerEventKind) -> bool) -> usize {
        self.events().iter().filter(|e| f(&e.kind)).count()
    }

    fn stop(self, message: &str) -> (Speaker, Vec<SpeakerEvent>) {
        self.handle.stop(Some(message)).unwrap();
        let speaker = self.thread.join().expect("speaker thread");
        let events = self.events.lock().unwrap().clone();
        (speaker, events)
    }
}

/// Checks until `check` succeeds or `limit` passes (then fails with its last complaint);
/// prints how long it took.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => {
                eprintln!("{what}: after {:.2}s", start.elapsed().as_secs_f64());
                return v;
            }
            Err(last) if start.elapsed() > limit => panic!("{what}: not after {limit:?}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Node `k`'s session to the router: quick retries, one family.
fn node_config(k: usize, local_asn: u32, peer_asn: u32, family: Family) -> Config {
    let mut c = Config::new(local_asn, peer_asn, format!("10.0.0.1{k}").parse().unwrap());
    c.families = vec![family];
    c.connect_retry = Duration::from_secs(2);
    c.idle_hold = Duration::from_secs(1);
    if family == Family::IPV4_UNICAST {
        c.next_hop_v4 = Some(format!("10.0.0.1{k}").parse().unwrap());
    } else {
        c.next_hop_v6 = Some(format!("fd00::1{k}").parse().unwrap());
    }
    c
}

/// The segments the kernel of `ns` dropped for a TTL below a socket's minimum (`IP_MINTTL`).
fn min_ttl_drops(ns: &Netns) -> u64 {
    let o = ns.exec(&["cat", "/proc/net/netstat"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("TcpExt:")).collect();
    let [names, values] = lines[..] else { panic!("no TcpExt in /proc/net/netstat: {text}") };
    let column = names.split_whitespace().position(|n| n == "TCPMinTTLDrop").expect("TCPMinTTLDrop counter");
    values.split_whitespace().nth(column).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn hops(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const VIP: &str = "192.0.2.10/32";

#[test]
fn ebgp_ipv4_ecmp_withdraw_and_cease() {
    require_frr();
    let lab = Lab::new("bgp4", 3);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.12 remote-as 64601
 neighbor 10.0.0.13 remote-as 64601
 address-family ipv4 unicast
  maximum-paths 3
 exit-address-family
",
    );
    let speakers: Vec<Running> = (1..=3)
        .map(|k| {
            let peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
            Running::start(&lab.nodes[k - 1], vec![peer], &[VIP])
        })
        .collect();

    let all = hops(&["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    wait_for("the VIP over 3 next hops in FRR's FIB", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == all { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    for s in &speakers {
        assert_eq!(s.count(|k| matches!(k, SpeakerEventKind::Connected { .. })), 1, "{:?}", s.events());
    }

    // Node 2 withdraws: two paths left.
    speakers[1].handle.withdraw(VIP.parse().unwrap());
    let two = hops(&["10.0.0.11", "10.0.0.13"]);
    wait_for("node 2's next hop gone", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == two { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    assert_eq!(frr.peer_state("10.0.0.12"), "Established", "a withdrawal keeps the session");

    // Node 3 stops: a Cease with its message, not a hold timer expiry at FRR.
    let mut speakers = speakers.into_iter();
    let (one, two_, three) = (speakers.next().unwrap(), speakers.next().unwrap(), speakers.next().unwrap());
    let (speaker, events) = three.stop("node maintenance");
    assert_eq!(speaker.session(0).unwrap().state(), State::Idle);
    let cease = ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown);
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            SpeakerEventKind::Session { event: Event::NotificationSent { notification } } if notification.code == cease)),
        "{events:?}"
    );
    assert!(matches!(events.last().map(|e| &e.kind), Some(SpeakerEventKind::Stopped)), "{events:?}");
    let neighbor = wait_for("FRR's session with node 3 reset", LIMIT, || {
        let v = frr.json("show bgp neighbor 10.0.0.13 json");
        let n = &v["10.0.0.13"];
        if n["bgpState"] != "Established" && n["lastResetDueTo"].is_string() {
            Ok(n.clone())
        } else {
            Err(format!("{n}"))
        }
    });
    eprintln!(
        "FRR: lastResetDueTo {}, lastNotificationReason {}, lastShutdownDescription {}",
        neighbor["lastResetDueTo"], neighbor["lastNotificationReason"], neighbor["lastShutdownDescription"]
    );
    assert_eq!(neighbor["lastResetDueTo"], "BGP Notification received", "{neighbor}");
    assert_eq!(neighbor["lastNotificationReason"], "Cease/Administrative Shutdown", "{neighbor}");
    assert_eq!(neighbor["lastShutdownDescription"], "node maintenance", "{neighbor}");
    wait_for("node 3's next hop gone", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == hops(&["10.0.0.11"]) { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });

    for s in [one, two_] {
        let (speaker, _) = s.stop("test over");
        let stats = speaker.session(0).unwrap().stats();
        assert_eq!(stats.established, 1, "{stats:?}");
        assert_eq!(stats.notifications_received, 0, "{stats:?}");
    }
}

#[test]
fn ibgp_ipv6_four_byte_asn_with_gtsm() {
    require_frr();
    let lab = Lab::new("bgp6", 1);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 4200000001
 bgp router-id 10.0.0.1
 no bgp default ipv4-unicast
 neighbor fd00::11 remote-as internal
 neighbor fd00::11 ttl-security hops 1
 address-family ipv6 unicast
  neighbor fd00::11 activate
 exit-address-family
",
    );
    let mut peer = PeerConfig::new(node_config(1, 4_200_000_001, 4_200_000_001, Family::IPV6_UNICAST), ip("fd00::1"));
    peer.ttl_security_hops = Some(1);
    let vip6 = "2001:db8:100::10/128";
    let node = Running::start(&lab.nodes[0], vec![peer], &[vip6]);

    let path = wait_for("the /128 in FRR's BGP table", LIMIT, || {
        let v = frr.json(&format!("show bgp ipv6 unicast {vip6} json"));
        match v["paths"].as_array().and_then(|p| p.first()) {
            Some(p) => Ok(p.clone()),
            None => Err(format!("{v}")),
        }
    });
    eprintln!("FRR's path: {path}");
    let text = path.to_string();
    assert!(text.contains("fd00::11"), "next hop: {text}");
    assert!(text.contains("\"internal\"") || path["peer"]["type"] == "internal", "an iBGP path: {text}");
    wait_for("the /128 in FRR's FIB via fd00::11", LIMIT, || {
        let now = lab.fib_next_hops(vip6);
        if now.contains("fd00::11") { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    let summary = frr.json("show bgp neighbor fd00::11 json");
    assert_eq!(summary["fd00::11"]["remoteAs"], 4_200_000_001u64, "{summary}");

    let (speaker, _) = node.stop("test over");
    let session = speaker.session(0).unwrap();
    assert_eq!(session.stats().established, 1);
    assert_eq!(session.stats().updates_sent, 2, "the /128 and the End-of-RIB: {:?}", session.stats());
}

#[test]
fn md5_right_password_connects_wrong_one_does_not() {
    require_frr();
    let lab = Lab::new("bgpmd5", 2);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.11 password bm-bgp-secret
 neighbor 10.0.0.12 remote-as 64601
 neighbor 10.0.0.12 password bm-bgp-secret
",
    );
    let node = |k: usize, password: &str| {
        let mut peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
        peer.md5_password = Some(password.to_string());
        Running::start(&lab.nodes[k - 1], vec![peer], &[VIP])
    };
    let right = node(1, "bm-bgp-secret");
    let wrong = node(2, "not-the-secret");

    wait_for("FRR's session with the right password Established", LIMIT, || {
        let s = frr.peer_state("10.0.0.11");
        if s == "Established" { Ok(()) } else { Err(s) }
    });
    wait_for("the VIP from node 1 in FRR's FIB", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == hops(&["10.0.0.11"]) { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    // The wrong password: several attempts, none connects (the router's kernel drops the
    // SYNs whose signature fails).
    wait_for("three connection attempts with the wrong password", LIMIT, || {
        let n = wrong.count(|k| matches!(k, SpeakerEventKind::Connecting));
        if n >= 3 { Ok(()) } else { Err(format!("{n} attempts")) }
    });
    assert_eq!(wrong.count(|k| matches!(k, SpeakerEventKind::Connected { .. })), 0, "{:?}", wrong.events());
    assert_ne!(frr.peer_state("10.0.0.12"), "Established");
    assert_eq!(lab.fib_next_hops(VIP), hops(&["10.0.0.11"]));

    let (speaker, _) = wrong.stop("test over");
    assert_eq!(speaker.session(0).unwrap().stats().established, 0);
    let (speaker, _) = right.stop("test over");
    assert_eq!(speaker.session(0).unwrap().stats().established, 1);
}

#[test]
fn gtsm_drops_a_peer_that_sends_with_ttl_1() {
    require_frr();
    let lab = Lab::new("bgpttl", 2);
    // Single-hop eBGP without ttl-security: FRR sends with TTL 1, which GTSM refuses; the
    // second node, without GTSM, shows the same FRR is reachable.
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.12 remote-as 64601
",
    );
    let mut gtsm = PeerConfig::new(node_config(1, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
    gtsm.ttl_security_hops = Some(1);
    let gtsm = Running::start(&lab.nodes[0], vec![gtsm], &[VIP]);
    let plain = PeerConfig::new(node_config(2, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
    let plain = Running::start(&lab.nodes[1], vec![plain], &[VIP]);

    wait_for("FRR's session with the node without GTSM Established", LIMIT, || {
        let s = frr.peer_state("10.0.0.12");
        if s == "Established" { Ok(()) } else { Err(s) }
    });
    // FRR's listening socket answers with TTL 255, so the connection is made, but FRR then
    // sends on it with TTL 1 (its OPEN, its retransmissions): the node's kernel drops them
    // (TcpExtTCPMinTTLDrop), and the session never gets past OpenSent.
    let drops = wait_for("FRR's segments dropped by the node's minimum TTL", LIMIT, || {
        let n = min_ttl_drops(&lab.nodes[0]);
        if n >= 2 { Ok(n) } else { Err(format!("{n} dropped")) }
    });
    eprintln!("TCPMinTTLDrop: {drops}");
    let opened = gtsm.count(|k| {
        matches!(k, SpeakerEventKind::Session { event: Event::StateChanged { to: State::OpenConfirm, .. } })
    });
    assert_eq!(opened, 0, "{:?}", gtsm.events());
    assert_ne!(frr.peer_state("10.0.0.11"), "Established");
    assert_eq!(lab.fib_next_hops(VIP), hops(&["10.0.0.12"]));
    gtsm.stop("test over");
    plain.stop("test over");
}
