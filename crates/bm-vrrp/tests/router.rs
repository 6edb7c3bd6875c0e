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
