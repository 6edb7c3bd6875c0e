//! Interop with FRR (Debian's `frr`, 8.4): a router namespace runs zebra and bgpd, and "node"
//! namespaces on its bridge each run a bm-bgp [`Speaker`] on a thread of the test that entered
//! the node's namespace (`setns`) before making the speaker, so every socket it opens is the
//! node's. The router's FIB (`ip -j route`) and `vtysh` show what FRR made of it.
//!
//! Root is needed (namespaces, setns). FRR missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::collections::BTreeSet;

use bm_bgp::message::{CeaseSubcode, ErrorCode};
use bm_bgp::{Event, Family, PeerConfig, SpeakerEventKind, State};
use bm_testkit::Netns;
use util::{Frr, LIMIT, Lab, Running, ip, node_config, require_frr, wait_for};

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
    // zebra installs the route a moment after bgpd's session is Established.
    wait_for("the VIP through the node without GTSM only", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == hops(&["10.0.0.12"]) { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    gtsm.stop("test over");
    plain.stop("test over");
}

/// Without BFD, a cut link is found by the hold timer (3 s here, FRR `timers 1 3`): both sides
/// give up on the session and the path leaves FRR's FIB; the node's session says why.
#[test]
fn a_cut_link_without_bfd_is_found_by_the_hold_timer() {
    require_frr();
    let lab = Lab::new("bgpht", 1);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.11 timers 1 3
",
    );
    let mut config = node_config(1, 64601, 64512, Family::IPV4_UNICAST);
    config.hold_time = 3;
    let node = Running::start(&lab.nodes[0], vec![PeerConfig::new(config, ip("10.0.0.1"))], &[VIP]);
    wait_for("the VIP in FRR's FIB", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == hops(&["10.0.0.11"]) { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    let cut = std::time::Instant::now();
    lab.nodes[0].ip(&["link", "set", "eth0", "down"]);
    wait_for("the path gone by FRR's hold timer", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now.is_empty() { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    eprintln!("FRR removed the path {:.2}s after the cut (hold time 3 s)", cut.elapsed().as_secs_f64());
    wait_for("the node's hold timer expired", LIMIT, || {
        let n = node.count(|k| {
            matches!(
                k,
                SpeakerEventKind::Session {
                    event: Event::StateChanged { reason: bm_bgp::Reason::HoldTimerExpired, .. }
                }
            )
        });
        if n > 0 { Ok(()) } else { Err(format!("{:?}", node.events())) }
    });
    let v = frr.json("show bgp neighbor 10.0.0.11 json");
    assert_ne!(v["10.0.0.11"]["bgpState"], "Established", "{v}");
    lab.nodes[0].ip(&["link", "set", "eth0", "up"]);
    node.stop("test over");
}
