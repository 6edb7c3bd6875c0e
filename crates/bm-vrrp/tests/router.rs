//! The Router through its public API: demultiplexing by interface, family, VRID and source,
//! refusals of instances that could not be told apart, link and check changes reaching the
//! instances they concern, and drop reports that a flood cannot turn into a log flood.

use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{
    Action, Advert, AdvertInterval, Config, DropKind, Instance, InstanceId, Routed, Router, RouterError, UnicastPeer,
    V3Ipv4Checksum, Version, encode,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn instance(vrid: u8, primary: &str, vip: &str, peers: &[&str]) -> Instance {
    let mut c = Config::new(vrid, 100, ip(primary), vec![ip(vip)]);
    c.version = Some(Version::V3);
    c.unicast_peers = peers.iter().map(|p| UnicastPeer::from(ip(p))).collect();
    Instance::new(c).unwrap()
}

fn advert(vrid: u8, vip: &str, src: &str, dst: &str, priority: u8) -> Vec<u8> {
    let a =
        Advert { vrid, priority, interval: AdvertInterval::one_second(Version::V3), addrs: vec![ip(vip)], auth: None };
    let mut out = Vec::new();
    encode(&a, ip(src), ip(dst), V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
    out
}

const ETH0: u32 = 2;
const ETH1: u32 = 3;

/// Same VRID on two interfaces, in two families, and twice on one interface with different
/// unicast peers: each advert reaches exactly its instance.
#[test]
fn demultiplexes_by_interface_family_vrid_and_source() {
    let mut r = Router::new();
    let a = r.add(ETH0, instance(51, "10.0.0.2", "10.0.0.100", &[])).unwrap();
    let b = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &[])).unwrap();
    let c = r.add(ETH0, instance(51, "fe80::2", "fd00::100", &[])).unwrap();
    let d = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.3"])).unwrap();
    let e = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.4"])).unwrap();
    r.start(Duration::ZERO);
    while r.poll_action().is_some() {}
    let group4 = "224.0.0.18";
    let cases = [
        (ETH0, "10.0.0.1", group4, advert(51, "10.0.0.100", "10.0.0.1", group4, 200), a),
        (ETH1, "10.1.0.1", group4, advert(51, "10.1.0.100", "10.1.0.1", group4, 200), b),
        (ETH0, "fe80::1", "ff02::12", advert(51, "fd00::100", "fe80::1", "ff02::12", 200), c),
        (ETH1, "10.1.0.3", "10.1.0.2", advert(52, "10.1.0.101", "10.1.0.3", "10.1.0.2", 200), d),
        (ETH1, "10.1.0.4", "10.1.0.2", advert(52, "10.1.0.101", "10.1.0.4", "10.1.0.2", 200), e),
    ];
    for (iface, src, dst, bytes, want) in cases {
        assert_eq!(r.handle_packet(ms(10), iface, ip(src), ip(dst), 255, &bytes), Routed::Accepted { instance: want });
    }
    for id in [a, b, c, d, e] {
        assert_eq!(r.instance(id).unwrap().stats().adverts_accepted, 1, "{id:?}");
    }
    // Nobody runs VRID 53; a packet too short for a VRID; our own advert looped back.
    let other = advert(53, "10.0.0.100", "10.0.0.1", group4, 200);
    assert_eq!(
        r.handle_packet(ms(10), ETH0, ip("10.0.0.1"), ip(group4), 255, &other),
        Routed::NoInstance { vrid: Some(53) }
    );
    assert_eq!(
        r.handle_packet(ms(10), ETH0, ip("10.0.0.1"), ip(group4), 255, &[0x31]),
        Routed::NoInstance { vrid: None }
    );
    let own = advert(51, "10.0.0.100", "10.0.0.2", group4, 100);
    assert_eq!(r.handle_packet(ms(10), ETH0, ip("10.0.0.2"), ip(group4), 255, &own), Routed::Own { instance: a });
    let s = r.stats();
    assert_eq!((s.no_instance, s.too_short, s.own), (1, 1, 1));
}

#[test]
fn instances_that_cannot_be_told_apart_are_refused() {
    let mut r = Router::new();
    let a = r.add(ETH0, instance(51, "10.0.0.2", "10.0.0.100", &[])).unwrap();
    let again = r.add(ETH0, instance(51, "10.0.0.3", "10.0.0.101", &[]));
    assert_eq!(again, Err(RouterError::Duplicate { interface: ETH0, vrid: 51, other: a }));
    let u = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.3", "10.1.0.4"])).unwrap();
    let overlap = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.4"]));
    assert_eq!(overlap, Err(RouterError::Duplicate { interface: ETH1, vrid: 51, other: u }));
    // A reload that would make two instances overlap is refused and changes nothing.
    let v = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.5"])).unwrap();
    let mut clash = r.instance(v).unwrap().config().clone();
    clash.unicast_peers.push(UnicastPeer::from(ip("10.1.0.3")));
    assert!(matches!(r.reconfigure(ms(1), v, clash), Err(RouterError::Duplicate { .. })));
    assert_eq!(r.instance(v).unwrap().config().unicast_peers.len(), 1);
    assert_eq!(
        r.report_send(ms(1), InstanceId::from_index(9), ip("10.0.0.1"), Ok(())),
        Err(RouterError::UnknownInstance(InstanceId::from_index(9)))
    );
}

/// A link change reaches the instances on that interface only; a check every instance that
/// tracks it; actions come out tagged with their instance.
#[test]
fn link_and_check_changes_reach_whom_they_concern() {
    let mut r = Router::new();
    let mut c = Config::new(51, 255, ip("10.0.0.2"), vec![ip("10.0.0.100")]);
    c.checks = vec![bm_vrrp::CheckConfig { name: "lb".into(), weight: 0, rise: 1, fall: 1, reverse: false }];
    let a = r.add(ETH0, Instance::new(c).unwrap()).unwrap();
    let b = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.100", &[])).unwrap();
    r.start(Duration::ZERO);
    let started: Vec<InstanceId> = std::iter::from_fn(|| r.poll_action()).map(|(id, _)| id).collect();
    assert!(started.contains(&a) && started.contains(&b));
    r.set_link(ms(5), ETH1, false);
    let faulted: Vec<(InstanceId, Action)> = std::iter::from_fn(|| r.poll_action()).collect();
    assert!(faulted.iter().all(|(id, _)| *id == b), "{faulted:?}");
    assert_eq!(r.instance(a).unwrap().state(), bm_vrrp::State::Master);
    assert!(r.set_check(ms(6), "lb", false));
    assert_eq!(r.instance(a).unwrap().state(), bm_vrrp::State::Fault);
    assert!(!r.set_check(ms(6), "nope", false));
}

/// A flood of forged adverts from ever new sources: every drop counted, few log lines.
#[test]
fn floods_of_drops_are_counted_exactly_and_reported_sparingly() {
    let mut r = Router::new();
    let a = r.add(ETH0, instance(51, "10.0.0.2", "10.0.0.100", &["10.0.0.3"])).unwrap();
    r.start(Duration::ZERO);
    let mut reports = 0;
    for i in 0..20_000u32 {
        let src = IpAddr::from((0x0a63_0000 + i).to_be_bytes());
        let bytes = advert(51, "10.0.0.100", &src.to_string(), "10.0.0.2", 255);
        let now = ms(u64::from(i) / 2);
        match r.handle_packet(now, ETH0, src, ip("10.0.0.2"), 64, &bytes) {
            Routed::Dropped { reason, report, .. } => {
                assert_eq!(reason.kind(), DropKind::NotAPeer);
                reports += usize::from(report.is_some());
            }
            other => panic!("{other:?}"),
        }
    }
    let drops = &r.instance(a).unwrap().stats().drops;
    assert_eq!(drops.get(DropKind::NotAPeer), 20_000);
    assert!(reports <= 40, "{reports} log lines for 20,000 drops in 10 s");
}

/// Two unicast instances sharing a VRID can be told apart by their peers only while both check
/// sources: one that does not accepts adverts from anyone, and which of the two got an advert
/// from a source neither lists would depend on the order they were added. Refused either way
/// round, on add and on reload.
#[test]
fn a_unicast_instance_not_checking_sources_cannot_share_its_vrid() {
    let unchecked = |peers: &[&str]| {
        let mut c = instance(51, "10.1.0.2", "10.1.0.100", peers).config().clone();
        c.check_unicast_src = false;
        Instance::new(c).unwrap()
    };
    for unchecked_first in [true, false] {
        let mut r = Router::new();
        let (first, second) = if unchecked_first {
            (unchecked(&["10.1.0.3"]), instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.4"]))
        } else {
            (instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.4"]), unchecked(&["10.1.0.3"]))
        };
        let a = r.add(ETH1, first).unwrap();
        assert_eq!(r.add(ETH1, second), Err(RouterError::Duplicate { interface: ETH1, vrid: 51, other: a }));
        // Another interface or VRID is no clash.
        assert!(r.add(ETH0, unchecked(&["10.1.0.3"])).is_ok());
    }
    // A reload turning the check off is refused, and changes nothing.
    let mut r = Router::new();
    let _a = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.3"])).unwrap();
    let b = r.add(ETH1, instance(51, "10.1.0.2", "10.1.0.100", &["10.1.0.4"])).unwrap();
    let mut off = r.instance(b).unwrap().config().clone();
    off.check_unicast_src = false;
    assert!(matches!(r.reconfigure(ms(1), b, off), Err(RouterError::Duplicate { .. })));
    assert!(r.instance(b).unwrap().config().check_unicast_src);
}

/// An advert from a source no candidate lists: every candidate checks sources (the rule
/// above), so it is dropped as not a peer whichever gets it, counted, and moves nothing.
#[test]
fn a_source_no_candidate_lists_is_dropped() {
    let mut r = Router::new();
    let a = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.3"])).unwrap();
    let b = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.4"])).unwrap();
    r.start(Duration::ZERO);
    while r.poll_action().is_some() {}
    let bytes = advert(52, "10.1.0.101", "10.1.0.9", "10.1.0.2", 255);
    let got = r.handle_packet(ms(10), ETH1, ip("10.1.0.9"), ip("10.1.0.2"), 255, &bytes);
    assert!(matches!(&got, Routed::Dropped { reason, .. } if reason.kind() == DropKind::NotAPeer), "{got:?}");
    let drops: u64 = [a, b].iter().map(|&id| r.instance(id).unwrap().stats().drops.get(DropKind::NotAPeer)).sum();
    let accepted: u64 = [a, b].iter().map(|&id| r.instance(id).unwrap().stats().adverts_accepted).sum();
    assert_eq!((drops, accepted), (1, 0));
    assert!(r.poll_action().is_none(), "nothing changed");
}

/// A reload that swaps the peers of two instances sharing a VRID: each new configuration
/// clashes with the other's old one, so one reconfigure after the other is refused halfway;
/// the whole set at once is fine, and routes by the new peers.
#[test]
fn a_reload_may_swap_peers_between_instances() {
    let mut r = Router::new();
    let a = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.3"])).unwrap();
    let b = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.4"])).unwrap();
    r.start(Duration::ZERO);
    while r.poll_action().is_some() {}
    let swapped = |id: InstanceId, peer: &str| {
        let mut c = r.instance(id).unwrap().config().clone();
        c.unicast_peers = vec![UnicastPeer::from(ip(peer))];
        c.priority = 90;
        c
    };
    let (new_a, new_b) = (swapped(a, "10.1.0.4"), swapped(b, "10.1.0.3"));
    assert!(matches!(r.reconfigure(ms(1), a, new_a.clone()), Err(RouterError::Duplicate { .. })));
    r.reconfigure_all(ms(1), vec![(a, new_a), (b, new_b)]).unwrap();
    assert_eq!(r.instance(a).unwrap().config().unicast_peers, [UnicastPeer::from(ip("10.1.0.4"))]);
    assert_eq!(r.instance(b).unwrap().priority(), 90);
    let from4 = advert(52, "10.1.0.101", "10.1.0.4", "10.1.0.2", 200);
    assert_eq!(
        r.handle_packet(ms(10), ETH1, ip("10.1.0.4"), ip("10.1.0.2"), 255, &from4),
        Routed::Accepted { instance: a }
    );
}

/// A reload whose new configurations clash with each other (not with any old one) is refused
/// whole: nothing changes, not even the instance listed first.
#[test]
fn a_reload_whose_new_configurations_clash_changes_nothing() {
    let mut r = Router::new();
    let a = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.3"])).unwrap();
    let b = r.add(ETH1, instance(52, "10.1.0.2", "10.1.0.101", &["10.1.0.4"])).unwrap();
    r.start(Duration::ZERO);
    while r.poll_action().is_some() {}
    let before: Vec<Config> = [a, b].iter().map(|&id| r.instance(id).unwrap().config().clone()).collect();
    let old = before.clone();
    let to = |id: InstanceId, peer: &str, priority: u8| {
        let mut c = old[id.index()].clone();
        c.unicast_peers = vec![UnicastPeer::from(ip(peer))];
        c.priority = priority;
        c
    };
    // Both move to 10.1.0.5: neither clashes with the other's old peers, but with each other.
    let changes = vec![(a, to(a, "10.1.0.5", 90)), (b, to(b, "10.1.0.5", 80))];
    let err = r.reconfigure_all(ms(1), changes).unwrap_err();
    assert!(matches!(err, (id, RouterError::Duplicate { .. }) if id == a || id == b), "{err:?}");
    let after: Vec<Config> = [a, b].iter().map(|&id| r.instance(id).unwrap().config().clone()).collect();
    assert_eq!(before, after);
    assert!(r.poll_action().is_none(), "no action from a refused reload");
    // A refused configuration in the set refuses the set too.
    let mut bad = to(b, "10.1.0.6", 80);
    bad.vrid = 53;
    let err = r.reconfigure_all(ms(1), vec![(a, to(a, "10.1.0.5", 90)), (b, bad)]).unwrap_err();
    assert!(matches!(err, (id, RouterError::Config(_)) if id == b), "{err:?}");
    assert_eq!(r.instance(a).unwrap().priority(), 100);
}
