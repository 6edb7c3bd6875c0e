//! The property issue 14 asks for: any configuration that `Instance::new` accepts produces
//! adverts that its own receive check accepts, at a peer configured alike (the same virtual
//! router, another address; for unicast, the peer that is sent to, listing the sender). It is
//! what broke with `advert_int 60` (sent as 60 s, checked against 40.95 s) and with 256 VIPs
//! (accepted, then never encoded). Configurations are drawn near the edges: intervals around
//! each version's limits, 0 to 300 VIPs, mixed families, peers of the other family.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bm_vrrp::{Action, Config, Instance, UnicastPeer, Version};
use proptest::collection::vec;
use proptest::prelude::*;

/// Mostly an interval of the version (v2 whole seconds, v3 centiseconds), sometimes anything
/// near the edges.
fn arb_interval() -> impl Strategy<Value = Duration> {
    prop_oneof![
        3 => (1u64..=255).prop_map(Duration::from_secs),
        3 => (1u64..=4095).prop_map(|cs| Duration::from_millis(cs * 10)),
        1 => (0u64..=300).prop_map(Duration::from_secs),
        1 => (0u64..=42_000).prop_map(Duration::from_millis),
        1 => prop::sample::select(vec![0u64, 10, 15, 40_950, 40_960, 60_000, 255_000, 256_000]).prop_map(Duration::from_millis),
        1 => any::<u32>().prop_map(|n| Duration::from_nanos(u64::from(n))),
    ]
}

fn arb_addr(v6: bool) -> BoxedStrategy<IpAddr> {
    if v6 { any::<Ipv6Addr>().prop_map(IpAddr::V6).boxed() } else { any::<Ipv4Addr>().prop_map(IpAddr::V4).boxed() }
}

fn arb_config() -> impl Strategy<Value = Config> {
    (any::<bool>(), prop::bool::weighted(0.05)).prop_flat_map(|(v6, mixed)| {
        let vip = if mixed { any::<IpAddr>().boxed() } else { arb_addr(v6) };
        let peer =
            (if mixed { any::<IpAddr>().boxed() } else { arb_addr(v6) }, any::<u8>(), any::<u8>(), any::<bool>())
                .prop_map(|(addr, a, b, ranged)| {
                    let (min_ttl, max_ttl) = if ranged { (a.min(b), a.max(b)) } else { (0, 255) };
                    UnicastPeer { addr, min_ttl, max_ttl }
                });
        (
            any::<u8>(),
            prop_oneof![Just(None), Just(Some(Version::V2)), Just(Some(Version::V3))],
            prop_oneof![1u8..=254, Just(255u8), Just(0u8)],
            arb_interval(),
            prop_oneof![8 => vec(vip.clone(), 1..=4), 1 => vec(vip, 250..=260), 1 => Just(vec![])],
            arb_addr(v6),
            prop_oneof![Just(vec![]), vec(peer, 1..=3)],
            (any::<bool>(), any::<Option<[u8; 8]>>(), any::<bool>()),
        )
            .prop_map(
                |(vrid, version, priority, interval, vips, primary, peers, (check_src, auth, check_vips))| {
                    let mut c = Config::new(vrid, priority, primary, vips);
                    c.version = version;
                    c.advert_interval = interval;
                    c.unicast_peers = peers;
                    c.check_unicast_src = check_src;
                    c.auth = auth;
                    c.check_vips = check_vips;
                    c
                },
            )
    })
}

/// Another address of `a`'s family.
fn other(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v4) => IpAddr::from(u32::from(v4).wrapping_add(1).to_be_bytes()),
        IpAddr::V6(v6) => IpAddr::from(u128::from(v6).wrapping_add(1).to_be_bytes()),
    }
}

/// The adverts `config` sends as master and when it resigns: (destination, bytes).
fn adverts(config: &Config) -> Vec<(IpAddr, Vec<u8>)> {
    let mut i = Instance::new(config.clone()).expect("accepted");
    i.start(Duration::ZERO);
    while i.state() != bm_vrrp::State::Master {
        let t = i.poll_timeout().expect("a backup waits for the master down timer");
        i.handle_timeout(t);
    }
    let now = i.poll_timeout().expect("a master advertises");
    i.shutdown(now);
    std::iter::from_fn(|| i.poll_action())
        .filter_map(|a| if let Action::Send { to, bytes, .. } = a { Some((to, bytes)) } else { None })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn accepted_configurations_send_what_their_peers_accept(config in arb_config()) {
        // A refused configuration has nothing to prove (the generator makes most acceptable).
        if Instance::new(config.clone()).is_err() {
            return Ok(());
        }
        let sent = adverts(&config);
        let want = config.destinations().len() * 2;
        prop_assert_eq!(sent.len(), want, "an advert to every destination, as master and resigning");
        for (to, bytes) in sent {
            let mut peer = config.clone();
            if config.unicast_peers.is_empty() {
                peer.primary = other(config.primary);
            } else {
                peer.primary = to;
                let sender = UnicastPeer::from(config.primary);
                peer.unicast_peers = vec![sender];
            }
            let mut rx = Instance::new(peer).expect("the peer's configuration is accepted too");
            rx.start(Duration::ZERO);
            let got = rx.handle_packet(Duration::from_millis(1), config.primary, to, 255, &bytes);
            prop_assert!(got.is_ok(), "{:?} from {} to {}: {:?}", config, config.primary, to, got);
        }
    }
}
