//! Interop with BIRD (Debian's `bird2`, 2.0.12): a router namespace runs `bird -f` with its own
//! configuration and control socket (a `device` protocol, and `kernel` protocols exporting the
//! BGP routes to the FIB with `merge paths on` for ECMP), and "node" namespaces on its bridge
//! each run a bm-bgp [`Speaker`](bm_bgp::Speaker) on a thread of the test that entered the
//! node's namespace first. The router's FIB (`ip -j route`) and `birdc` show what BIRD made of
//! it.
//!
//! Root is needed (namespaces, setns). BIRD missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bm_bgp::message::{CeaseSubcode, ErrorCode};
use bm_bgp::{Event, Family, PeerConfig, SpeakerEventKind, State};
use bm_testkit::Netns;
use util::{GATED_VIP, Gate, LIMIT, Lab, Running, ip, node_config, wait_for};

const BIRD: &str = "/usr/sbin/bird";
const BIRDC: &str = "/usr/sbin/birdc";
const VIP: &str = "192.0.2.10/32";

fn require_bird() {
    for path in [BIRD, BIRDC] {
        assert!(Path::new(path).exists(), "BIRD is missing ({path}): install it with `apt-get install -y bird2`");
    }
}

/// `bird -f` in a namespace, with its configuration, log and control socket in a directory
/// of its own; killed (by its process ID) when dropped.
struct Bird {
    dir: PathBuf,
    child: Child,
}

impl Bird {
    /// BIRD with router ID `router_id`, the device and kernel protocols, and `protocols`.
    fn start(ns: &Netns, router_id: &str, protocols: &str) -> Bird {
        require_bird();
        let dir = std::env::temp_dir().join(format!("bm-bgp-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("bird.conf");
        // Only BGP routes go to the FIB: the static routes some tests give BIRD to resolve a
        // multihop next hop are in the kernel already.
        std::fs::write(
            &conf,
            format!(
                r#"router id {router_id};
log "{log}" all;
debug protocols {{ states, events }};
protocol device {{ }}
protocol kernel k4 {{
    ipv4 {{ import none; export where source = RTS_BGP; }};
    merge paths on;
}}
protocol kernel k6 {{
    ipv6 {{ import none; export where source = RTS_BGP; }};
    merge paths on;
}}
{protocols}"#,
                log = dir.join("bird.log").display()
            ),
        )
        .unwrap();
        let out = std::fs::File::create(dir.join("bird.out")).unwrap();
        let child = ns
            .command(BIRD)
            .arg("-f")
            .arg("-c")
            .arg(&conf)
            .arg("-s")
            .arg(dir.join("bird.ctl"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let bird = Bird { dir, child };
        let status = wait_for("BIRD's control socket", Duration::from_secs(30), || {
            let s = bird.birdc(&["show", "status"]);
            if s.contains("Daemon is up and running") { Ok(s) } else { Err(format!("{s}{}", bird.output())) }
        });
        eprintln!("{}", status.lines().next().unwrap_or("BIRD, version unknown"));
        bird
    }

    /// `birdc` on this BIRD's control socket.
    fn birdc(&self, command: &[&str]) -> String {
        let o = Command::new(BIRDC).arg("-s").arg(self.dir.join("bird.ctl")).args(command).output().unwrap();
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    }

    /// `show protocols all NAME`.
    fn protocol(&self, name: &str) -> String {
        self.birdc(&["show", "protocols", "all", name])
    }

    /// The BGP state of protocol `name` (`Established`, `Active`, `Idle`…).
    fn bgp_state(&self, name: &str) -> String {
        let text = self.protocol(name);
        text.lines()
            .find_map(|l| l.trim().strip_prefix("BGP state:").map(|s| s.trim().to_string()))
            .unwrap_or_else(|| format!("unknown: {text}"))
    }

    fn wait_established(&self, name: &str) {
        wait_for(&format!("BIRD's {name} Established"), LIMIT, || {
            let s = self.bgp_state(name);
            if s == "Established" { Ok(()) } else { Err(s) }
        });
    }

    /// `show route PREFIX all`.
    fn route(&self, prefix: &str) -> String {
        self.birdc(&["show", "route", prefix, "all"])
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.join("bird.out")).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bird.log")).unwrap_or_default()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- bird output ---\n{}\n--- bird.log ---\n{}", self.output(), self.log());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn hops(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn wait_hops(lab: &Lab, what: &str, prefix: &str, want: &[&str]) {
    let want = hops(want);
    wait_for(what, LIMIT, || {
        let now = lab.fib_next_hops(prefix);
        if now == want { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
}

fn established(k: &SpeakerEventKind) -> bool {
    matches!(k, SpeakerEventKind::Session { event: Event::StateChanged { to: State::Established, .. } })
}

#[test]
fn ebgp_ipv4_ecmp_withdraw_and_cease() {
    require_bird();
    let lab = Lab::new("brd4", 3);
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        "template bgp node {
    local 10.0.0.1 as 64512;
    ipv4 { import all; export none; };
}
protocol bgp n1 from node { neighbor 10.0.0.11 as 64601; }
protocol bgp n2 from node { neighbor 10.0.0.12 as 64601; }
protocol bgp n3 from node { neighbor 10.0.0.13 as 64601; }
",
    );
    let speakers: Vec<Running> = (1..=3)
        .map(|k| {
            let peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
            Running::start(&lab.nodes[k - 1], vec![peer], &[VIP])
        })
        .collect();

    wait_hops(&lab, "the VIP over 3 next hops in BIRD's FIB", VIP, &["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    let route = bird.route(VIP);
    eprintln!("{route}");
    assert!(route.contains("BGP.as_path: 64601"), "{route}");
    for s in &speakers {
        assert_eq!(s.count(|k| matches!(k, SpeakerEventKind::Connected { .. })), 1, "{:?}", s.events());
    }

    // Node 2 withdraws: two paths left, its session stays.
    speakers[1].handle.withdraw(VIP.parse().unwrap());
    wait_hops(&lab, "node 2's next hop gone", VIP, &["10.0.0.11", "10.0.0.13"]);
    assert_eq!(bird.bgp_state("n2"), "Established", "a withdrawal keeps the session");

    // Node 3 stops: BIRD receives a Cease (administrative shutdown), not a hold timer expiry.
    let mut speakers = speakers.into_iter();
    let (one, two, three) = (speakers.next().unwrap(), speakers.next().unwrap(), speakers.next().unwrap());
    let (speaker, events) = three.stop("node maintenance");
    assert_eq!(speaker.session(0).unwrap().state(), State::Idle);
    let cease = ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown);
    assert!(
        events.iter().any(|e| matches!(&e.kind,
            SpeakerEventKind::Session { event: Event::NotificationSent { notification } } if notification.code == cease)),
        "{events:?}"
    );
    let info = wait_for("BIRD's n3 down with the Cease", LIMIT, || {
        let info = bird.protocol("n3");
        if info.contains("Last error:") { Ok(info) } else { Err(info) }
    });
    eprintln!("{info}");
    let last_error = info.lines().find(|l| l.contains("Last error:")).unwrap_or_default();
    assert!(last_error.contains("Received: Administrative shutdown"), "{info}");
    assert!(!info.contains("Hold timer expired"), "{info}");
    // BIRD 2 keeps the shutdown communication as the protocol's message.
    assert!(info.contains("node maintenance"), "the shutdown communication: {info}\n{}", bird.log());
    assert_ne!(bird.bgp_state("n3"), "Established");
    wait_hops(&lab, "node 3's next hop gone", VIP, &["10.0.0.11"]);

    for s in [one, two] {
        let (speaker, _) = s.stop("test over");
        let stats = speaker.session(0).unwrap().stats();
        assert_eq!(stats.established, 1, "{stats:?}");
        assert_eq!(stats.notifications_received, 0, "{stats:?}");
    }
}

#[test]
fn ibgp_ipv6_four_byte_asn_with_gtsm() {
    require_bird();
    let lab = Lab::new("brd6", 1);
    // An iBGP neighbour is multihop to BIRD unless told `direct`; on the shared link its next
    // hop is used as it is (`gateway direct`, the default for direct sessions).
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        "protocol bgp n1 {
    local fd00::1 as 4200000001;
    neighbor fd00::11 as 4200000001;
    direct;
    ttl security on;
    ipv6 { import all; export none; };
}
",
    );
    let mut peer = PeerConfig::new(node_config(1, 4_200_000_001, 4_200_000_001, Family::IPV6_UNICAST), ip("fd00::1"));
    peer.ttl_security_hops = Some(1);
    let vip6 = "2001:db8:100::10/128";
    let node = Running::start(&lab.nodes[0], vec![peer], &[vip6]);

    bird.wait_established("n1");
    let route = wait_for("the /128 in BIRD's table", LIMIT, || {
        let r = bird.route(vip6);
        if r.contains("BGP.next_hop") { Ok(r) } else { Err(r) }
    });
    eprintln!("{route}");
    assert!(route.contains("BGP.next_hop: fd00::11"), "{route}");
    assert!(route.contains("BGP.local_pref: 100"), "LOCAL_PREF on iBGP: {route}");
    let as_path = route.lines().find(|l| l.contains("BGP.as_path:")).unwrap_or_default();
    assert_eq!(as_path.trim(), "BGP.as_path:", "an empty AS_PATH on iBGP: {route}");
    wait_hops(&lab, "the /128 in BIRD's FIB via fd00::11", vip6, &["fd00::11"]);
    let info = bird.protocol("n1");
    assert!(info.contains("Neighbor AS:      4200000001"), "{info}");
    assert!(info.contains("Local AS:         4200000001"), "{info}");

    let (speaker, _) = node.stop("test over");
    let session = speaker.session(0).unwrap();
    assert_eq!(session.stats().established, 1);
    assert_eq!(session.stats().updates_sent, 2, "the /128 and the End-of-RIB: {:?}", session.stats());
}

#[test]
fn md5_right_password_connects_wrong_one_does_not() {
    require_bird();
    let lab = Lab::new("brdmd5", 2);
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        r#"template bgp node {
    local 10.0.0.1 as 64512;
    password "bm-bgp-secret";
    ipv4 { import all; export none; };
}
protocol bgp n1 from node { neighbor 10.0.0.11 as 64601; }
protocol bgp n2 from node { neighbor 10.0.0.12 as 64601; }
"#,
    );
    let node = |k: usize, password: &str| {
        let mut peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
        peer.md5_password = Some(password.to_string());
        Running::start(&lab.nodes[k - 1], vec![peer], &[VIP])
    };
    let right = node(1, "bm-bgp-secret");
    let wrong = node(2, "not-the-secret");

    bird.wait_established("n1");
    wait_hops(&lab, "the VIP from node 1 in BIRD's FIB", VIP, &["10.0.0.11"]);
    // The wrong password: several attempts, none connects (the router's kernel drops the
    // SYNs whose signature fails).
    wait_for("three connection attempts with the wrong password", LIMIT, || {
        let n = wrong.count(|k| matches!(k, SpeakerEventKind::Connecting));
        if n >= 3 { Ok(()) } else { Err(format!("{n} attempts")) }
    });
    assert_eq!(wrong.count(|k| matches!(k, SpeakerEventKind::Connected { .. })), 0, "{:?}", wrong.events());
    assert_ne!(bird.bgp_state("n2"), "Established");
    assert_eq!(lab.fib_next_hops(VIP), hops(&["10.0.0.11"]));

    let (speaker, _) = wrong.stop("test over");
    assert_eq!(speaker.session(0).unwrap().stats().established, 0);
    let (speaker, _) = right.stop("test over");
    assert_eq!(speaker.session(0).unwrap().stats().established, 1);
}

#[test]
fn ebgp_multihop_one_router_away() {
    require_bird();
    // The router (10.0.0.1 on br0), a middle namespace routing between br0 (10.0.0.11, the
    // lab's node 1) and a second link (10.0.1.1), and the node behind it at 10.0.1.11: one
    // router hop between BIRD and the speaker.
    let lab = Lab::new("brdmh", 1);
    let middle = &lab.nodes[0];
    middle.sysctl("net.ipv4.ip_forward", "1");
    let far = Netns::new("brdmhf");
    middle.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", &far.name]);
    middle.ip(&["addr", "add", "10.0.1.1/24", "dev", "eth1"]);
    middle.ip(&["link", "set", "eth1", "up"]);
    far.ip(&["addr", "add", "10.0.1.11/24", "dev", "eth0"]);
    far.ip(&["link", "set", "eth0", "up"]);
    far.ip(&["route", "add", "default", "via", "10.0.1.1"]);
    lab.router.ip(&["route", "add", "10.0.1.0/24", "via", "10.0.0.11"]);
    // BIRD resolves a multihop session's next hop through its own table (`gateway
    // recursive`): the static route gives it the way to 10.0.1.0/24.
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        "protocol static { ipv4; route 10.0.1.0/24 via 10.0.0.11; }
protocol bgp far {
    local 10.0.0.1 as 64512;
    neighbor 10.0.1.11 as 64601;
    multihop 2;
    ipv4 { import all; export none; };
}
",
    );
    let mut session = node_config(1, 64601, 64512, Family::IPV4_UNICAST);
    session.router_id = ip_v4("10.0.1.11");
    session.next_hop_v4 = Some(ip_v4("10.0.1.11"));
    let mut peer = PeerConfig::new(session, ip("10.0.0.1"));
    // One router between: TTL 1 would die there.
    peer.ttl = Some(2);
    let node = Running::start(&far, vec![peer], &[VIP]);

    bird.wait_established("far");
    let route = wait_for("the VIP in BIRD's table", LIMIT, || {
        let r = bird.route(VIP);
        if r.contains("BGP.next_hop") { Ok(r) } else { Err(r) }
    });
    eprintln!("{route}");
    assert!(route.contains("BGP.next_hop: 10.0.1.11"), "{route}");
    // The FIB's gateway is the router towards the node, found recursively.
    wait_hops(&lab, "the VIP in BIRD's FIB via the middle router", VIP, &["10.0.0.11"]);
    let connected = node.first(|k| matches!(k, SpeakerEventKind::Connected { .. })).map(|(_, e)| e.kind);
    assert!(
        matches!(connected, Some(SpeakerEventKind::Connected { local: Some(a) }) if a.ip() == ip("10.0.1.11")),
        "{connected:?}"
    );

    // And the session's packets went through the middle namespace's forwarding.
    let forwarded = forwarded_datagrams(middle);
    assert!(forwarded > 0, "the middle router forwarded {forwarded} datagrams");

    let (speaker, events) = node.stop("test over");
    assert_eq!(events.iter().filter(|e| established(&e.kind)).count(), 1, "{events:?}");
    assert_eq!(speaker.session(0).unwrap().stats().established, 1);
}

/// The IPv4 datagrams `ns` forwarded (`Ip: ForwDatagrams` of its `/proc/net/snmp`).
fn forwarded_datagrams(ns: &Netns) -> u64 {
    let o = ns.exec(&["cat", "/proc/net/snmp"]);
    let text = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("Ip:")).collect();
    let [names, values] = lines[..] else { panic!("no Ip lines in /proc/net/snmp: {text}") };
    let column = names.split_whitespace().position(|n| n == "ForwDatagrams").expect("ForwDatagrams counter");
    values.split_whitespace().nth(column).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn ip_v4(s: &str) -> std::net::Ipv4Addr {
    s.parse().unwrap()
}

/// Health gating with BIRD as the router: two nodes each run an
/// [`Announcer`](bm_bgp::Announcer) whose check is a real script; ECMP over both while both
/// pass, one next hop when one fails, both again when it passes.
#[test]
fn a_failing_check_removes_one_next_hop() {
    require_bird();
    let lab = Lab::new("brdhc", 2);
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        "template bgp node {
    local 10.0.0.1 as 64512;
    ipv4 { import all; export none; };
}
protocol bgp n1 from node { neighbor 10.0.0.11 as 64601; }
protocol bgp n2 from node { neighbor 10.0.0.12 as 64601; }
",
    );
    let dir = std::env::temp_dir().join(format!("bm-bgp-bird-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let speakers: Vec<Running> = (1..=2)
        .map(|k| {
            let peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
            Running::start(&lab.nodes[k - 1], vec![peer], &[])
        })
        .collect();
    let gates: Vec<Gate> = (0..2).map(|k| Gate::start(&lab.nodes[k], &speakers[k], &dir)).collect();
    bird.wait_established("n1");
    bird.wait_established("n2");
    assert!(lab.fib_next_hops(GATED_VIP).is_empty(), "announced before a check passed");
    for g in &gates {
        g.set_healthy(true);
    }
    wait_hops(&lab, "both next hops once the checks pass", GATED_VIP, &["10.0.0.11", "10.0.0.12"]);
    gates[0].set_healthy(false);
    wait_hops(&lab, "node 1's next hop gone after its check failed", GATED_VIP, &["10.0.0.12"]);
    assert_eq!(bird.bgp_state("n1"), "Established", "a failed check keeps the session");
    gates[0].set_healthy(true);
    wait_hops(&lab, "node 1's next hop back", GATED_VIP, &["10.0.0.11", "10.0.0.12"]);
    for g in gates {
        g.commands.send(bm_bgp::AnnouncerCommand::Stop(Some("test over".into()))).unwrap();
        g.thread.join().unwrap();
    }
    for s in speakers {
        s.thread.join().unwrap();
    }
    wait_hops(&lab, "every path withdrawn on stop", GATED_VIP, &[]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// BFD with BIRD's `protocol bfd` (100 ms × 3 both ways): a cut link takes the path out of
/// BIRD's FIB and the node's session down long before the 30 s hold time.
#[test]
fn bfd_with_bird_finds_a_cut_link_before_the_hold_timer() {
    require_bird();
    // A second node keeps the bridge up when node 1's link goes: only BFD can tell then.
    let lab = Lab::new("brdbfd", 2);
    let bird = Bird::start(
        &lab.router,
        "10.0.0.1",
        "protocol bfd {
    interface \"*\" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
protocol bgp n1 {
    local 10.0.0.1 as 64512;
    neighbor 10.0.0.11 as 64601;
    hold time 30;
    error wait time 1, 5;
    bfd on;
    ipv4 { import all; export none; };
}
",
    );
    let mut config = node_config(1, 64601, 64512, Family::IPV4_UNICAST);
    config.hold_time = 30;
    let mut peer = PeerConfig::new(config, ip("10.0.0.1"));
    peer.bfd = Some(bm_bgp::bfd::BfdConfig::new(Duration::from_millis(100), Duration::from_millis(100), 3));
    let node = Running::start(&lab.nodes[0], vec![peer], &[VIP]);
    wait_hops(&lab, "the VIP in BIRD's FIB", VIP, &["10.0.0.11"]);
    wait_for("BIRD's BFD session up", LIMIT, || {
        let s = bird.birdc(&["show", "bfd", "sessions"]);
        if s.lines().any(|l| l.contains("10.0.0.11") && l.contains("Up")) { Ok(()) } else { Err(s) }
    });
    let cut = std::time::Instant::now();
    lab.nodes[0].ip(&["link", "set", "eth0", "down"]);
    wait_hops(&lab, "the path gone after the cut", VIP, &[]);
    let gone = cut.elapsed();
    eprintln!("BIRD removed the path {:.3}s after the cut (hold time 30 s)", gone.as_secs_f64());
    assert!(gone < Duration::from_secs(30), "not BFD: the hold timer would have taken 30 s");
    let info = bird.protocol("n1");
    assert!(info.contains("BFD session down"), "BIRD says why: {info}");
    wait_for("the node's session down by BFD", LIMIT, || {
        let down = node.count(|k| {
            matches!(
                k,
                SpeakerEventKind::Session { event: Event::StateChanged { reason: bm_bgp::Reason::BfdDown { .. }, .. } }
            )
        });
        if down > 0 { Ok(()) } else { Err(format!("{:?}", node.events())) }
    });
    lab.nodes[0].ip(&["link", "set", "eth0", "up"]);
    wait_hops(&lab, "the VIP back after the repair", VIP, &["10.0.0.11"]);
    node.stop("test over");
}
