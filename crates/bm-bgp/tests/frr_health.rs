//! Health-gated VIPs against FRR (Debian's `frr`, 8.4): three node namespaces each run a
//! [`Speaker`] and an [`Announcer`] whose check is a real script (`test -e FILE`, run by
//! bm-check's runner as keepalived runs its scripts); the router's FIB shows the ECMP route.
//!
//! - every node healthy: three next hops, and the VIP on each node's `lo`;
//! - one node's check fails: its next hop goes (within a check interval and FRR's update),
//!   the VIP leaves its `lo`, the session stays Established;
//! - it passes again: the next hop comes back;
//! - a node stops (what SIGTERM does): FRR's FIB loses its next hop and FRR's log shows the
//!   Cease with the message, not a hold timer expiry; the VIP leaves its `lo`.
//!
//! Root is needed (namespaces, setns). FRR missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::collections::BTreeSet;

use bm_bgp::{AnnouncerCommand, AnnouncerEvent, Family, PeerConfig};
use bm_testkit::Netns;
use util::{Frr, GATED_VIP as VIP, Gate, LIMIT, Lab, Running, ip, node_config, require_frr, wait_for};

/// Whether `ns` has the VIP on its loopback.
fn vip_on_lo(ns: &Netns) -> bool {
    let o = ns.ip(&["-4", "-o", "addr", "show", "dev", "lo"]);
    String::from_utf8_lossy(&o.stdout).contains(" 192.0.2.10/32 ")
}

fn hops(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn checks_gate_the_ecmp_paths_and_stop_withdraws() {
    require_frr();
    let lab = Lab::new("bgph", 3);
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
    let dir = std::env::temp_dir().join(format!("bm-bgp-health-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let speakers: Vec<Running> = (1..=3)
        .map(|k| {
            let peer = PeerConfig::new(node_config(k, 64601, 64512, Family::IPV4_UNICAST), ip("10.0.0.1"));
            Running::start(&lab.nodes[k - 1], vec![peer], &[])
        })
        .collect();
    let gates: Vec<Gate> = (0..3).map(|k| Gate::start(&lab.nodes[k], &speakers[k], &dir)).collect();

    // No check has passed: nothing is announced, no VIP on any loopback.
    for k in 1..=3 {
        wait_for(&format!("node {k} Established"), LIMIT, || {
            let state = frr.peer_state(&format!("10.0.0.1{k}"));
            if state == "Established" { Ok(()) } else { Err(state) }
        });
    }
    assert_eq!(lab.fib_next_hops(VIP), BTreeSet::new(), "announced before any check passed");
    assert!(lab.nodes.iter().all(|n| !vip_on_lo(n)));

    for g in &gates {
        g.set_healthy(true);
    }
    let all = hops(&["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
    wait_for("three next hops once the checks pass", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == all { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    assert!(lab.nodes.iter().all(vip_on_lo), "each announcing node holds the VIP on lo");

    // Node 2's check fails: its path goes, the VIP leaves its lo, the session stays.
    gates[1].set_healthy(false);
    let two = hops(&["10.0.0.11", "10.0.0.13"]);
    wait_for("node 2's next hop gone after its check failed", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == two { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });
    wait_for("the VIP off node 2's lo", LIMIT, || {
        if vip_on_lo(&lab.nodes[1]) { Err("still there".into()) } else { Ok(()) }
    });
    assert_eq!(frr.peer_state("10.0.0.12"), "Established", "a failed check keeps the session");
    let events = gates[1].events.lock().unwrap().clone();
    assert!(
        events.iter().any(|e| matches!(e, AnnouncerEvent::CheckFailed { check, .. } if check == "api")),
        "{events:?}"
    );
    assert!(events.iter().any(|e| matches!(e, AnnouncerEvent::Withdrawn { .. })), "{events:?}");

    // It passes again: back.
    gates[1].set_healthy(true);
    wait_for("node 2's next hop back", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == all { Ok(()) } else { Err(format!("next hops {now:?}")) }
    });

    let all_but_3 = hops(&["10.0.0.11", "10.0.0.12"]);
    // Node 3 stops as SIGTERM stops it: the announcer withdraws, then stops the speaker.
    // (The other announcers stay: dropping their senders would stop them too.)
    let (mut gates, mut speakers) = (gates, speakers);
    let (g3, s3) = (gates.pop().unwrap(), speakers.pop().unwrap());
    g3.commands.send(AnnouncerCommand::Stop(Some("node 3 drained".into()))).unwrap();
    g3.thread.join().unwrap();
    s3.thread.join().unwrap();
    assert!(!vip_on_lo(&lab.nodes[2]), "the VIP left node 3's lo");
    wait_for("node 3's next hop gone", LIMIT, || {
        let now = lab.fib_next_hops(VIP);
        if now == all_but_3 {
            Ok(())
        } else {
            Err(format!(
                "next hops {now:?}: {} {}",
                frr.vtysh("show ip bgp 192.0.2.10/32"),
                frr.vtysh("show ip bgp summary")
            ))
        }
    });
    let neighbor = wait_for("FRR's session with node 3 reset", LIMIT, || {
        let v = frr.json("show bgp neighbor 10.0.0.13 json");
        let n = &v["10.0.0.13"];
        if n["bgpState"] != "Established" && n["lastResetDueTo"].is_string() {
            Ok(n.clone())
        } else {
            Err(format!("{n}"))
        }
    });
    assert_eq!(neighbor["lastResetDueTo"], "BGP Notification received", "{neighbor}");
    assert_eq!(neighbor["lastNotificationReason"], "Cease/Administrative Shutdown", "{neighbor}");
    assert_eq!(neighbor["lastShutdownDescription"], "node 3 drained", "{neighbor}");
    assert_eq!(lab.fib_next_hops(VIP), all_but_3, "the others keep announcing");
    drop(gates);
    let _ = std::fs::remove_dir_all(&dir);
}
