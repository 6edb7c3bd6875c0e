//! Round trips of everything bm-nodeip reads and writes as text: hints, interface patterns,
//! snapshots, policies and selections (JSON), and globs against a reference implementation.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bm_nodeip::{
    Address, AddressFlags, AddressScope, Hint, HostSnapshot, Link, Method, NextHop, Pattern, Policy, Route,
    RouteProtocol, RouteType, select,
};
use ipnet::IpNet;
use proptest::prelude::*;

fn arb_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|b| IpAddr::V4(Ipv4Addr::from_bits(b))),
        any::<u128>().prop_map(|b| IpAddr::V6(Ipv6Addr::from_bits(b))),
        // Small spaces, so that addresses, VIPs and subnets meet.
        (0u32..4, 0u32..8).prop_map(|(n, h)| IpAddr::V4(Ipv4Addr::new(10, 0, n as u8, h as u8))),
        (0u16..4, 0u16..8).prop_map(|(n, h)| IpAddr::V6(Ipv6Addr::new(0xfd00, n, 0, 0, 0, 0, 0, h))),
    ]
}

fn arb_net() -> impl Strategy<Value = IpNet> {
    (arb_ip(), any::<u8>()).prop_map(|(ip, p)| {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        IpNet::new(ip, p % (max + 1)).unwrap()
    })
}

fn arb_flags() -> impl Strategy<Value = AddressFlags> {
    any::<[bool; 8]>().prop_map(|b| AddressFlags {
        permanent: b[0],
        deprecated: b[1],
        tentative: b[2],
        optimistic: b[3],
        dadfailed: b[4],
        temporary: b[5],
        secondary: b[6],
        nodad: b[7],
    })
}

fn arb_snapshot() -> impl Strategy<Value = HostSnapshot> {
    let link = (
        0u32..6,
        "[a-z][a-z0-9.-]{0,14}",
        prop::option::of("[a-z]{1,8}"),
        any::<[bool; 3]>(),
        prop::option::of(0u32..6),
        any::<u32>(),
        prop::option::of("([0-9a-f]{2}:){5}[0-9a-f]{2}"),
        (
            prop::option::of(0u32..6),
            prop::option::of(0u8..7),
            prop::option::of(0u16..4095),
            prop::option::of("([0-9a-f]{2}:){5}[0-9a-f]{2}"),
        ),
    )
        .prop_map(|(index, name, kind, b, master, mtu, mac, (parent, bond_mode, vlan_id, perm_mac))| Link {
            index,
            name,
            kind,
            up: b[0],
            lower_up: b[1],
            loopback: b[2],
            master,
            mtu,
            mac,
            perm_mac,
            parent,
            bond_mode,
            vlan_id,
        });
    let address = (
        0u32..6,
        arb_net(),
        any::<u8>(),
        arb_flags(),
        prop::option::of("[a-z0-9:]{1,15}"),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
    )
        .prop_map(|(link, addr, scope, flags, label, preferred_lft, valid_lft)| Address {
            link,
            addr,
            scope: AddressScope::from_raw(scope),
            flags,
            label,
            preferred_lft,
            valid_lft,
        });
    let route = (
        any::<u32>(),
        arb_net(),
        prop::option::of(arb_ip()),
        prop::option::of(0u32..6),
        any::<u32>(),
        any::<u8>(),
        0u8..8,
        prop::option::of(arb_ip()),
        prop::collection::vec((prop::option::of(arb_ip()), 0u32..6, any::<u16>()), 0..3),
    )
        .prop_map(|(table, destination, gateway, link, metric, proto, kind, prefsrc, hops)| Route {
            table,
            family: if destination.addr().is_ipv4() { bm_addr::Family::Ipv4 } else { bm_addr::Family::Ipv6 },
            destination,
            gateway,
            link,
            metric,
            protocol: RouteProtocol::from_raw(proto),
            kind: [
                RouteType::Unicast,
                RouteType::Local,
                RouteType::Broadcast,
                RouteType::Multicast,
                RouteType::Reject,
                RouteType::Other(3),
                RouteType::Other(9),
                RouteType::Unicast,
            ][usize::from(kind)],
            prefsrc,
            nexthops: hops.into_iter().map(|(gateway, link, weight)| NextHop { gateway, link, weight }).collect(),
        });
    (prop::collection::vec(link, 0..5), prop::collection::vec(address, 0..10), prop::collection::vec(route, 0..6))
        .prop_map(|(links, addresses, routes)| HostSnapshot { links, addresses, routes })
}

fn arb_policy() -> impl Strategy<Value = Policy> {
    let method = prop_oneof![
        prop::collection::vec(arb_ip(), 0..3).prop_map(|ips| Method::Explicit { ips }),
        Just(Method::VipSubnet),
        Just(Method::DefaultRoute),
        Just(Method::LoopbackGlobal),
        arb_ip().prop_map(|target| Method::CanReach { target }),
        prop::collection::vec(arb_net(), 0..3).prop_map(|cidrs| Method::Cidr { cidrs }),
        // Hints as a caller writes them: only what the parser accepts (hints for space that is
        // never a node IP are refused, also when a policy is read from JSON).
        prop::collection::vec((arb_net(), any::<bool>()), 0..3).prop_map(|hs| Method::Hints {
            hints: hs
                .into_iter()
                .filter_map(|(net, exclude)| format!("{}{}", if exclude { "!" } else { "" }, net.trunc()).parse().ok())
                .collect()
        }),
        (
            prop::collection::vec("[a-z*?]{1,6}", 0..3),
            prop::collection::vec(prop::sample::select(vec!["re:^eth[0-9]+$", "re:bond"]), 0..2)
        )
            .prop_map(|(inc, exc)| Method::Interface {
                include: inc.iter().map(|s| s.parse().unwrap()).collect(),
                exclude: exc.iter().map(|s| s.parse().unwrap()).collect(),
            }),
    ];
    (
        prop::collection::vec(method, 0..4),
        prop::collection::vec(arb_ip(), 0..3),
        any::<bool>(),
        prop::collection::vec(arb_net(), 0..2),
        prop::collection::vec(arb_ip(), 0..2),
    )
        .prop_map(|(methods, vips, v6, exclude, previous)| Policy {
            methods,
            vips,
            prefer: v6.then_some(bm_addr::Family::Ipv6),
            exclude,
            previous,
            ..Policy::default()
        })
}

/// The reference glob: translated to an anchored regular expression.
fn glob_by_regex(pattern: &str, name: &str) -> bool {
    let mut re = String::from("^");
    for ch in pattern.chars() {
        match ch {
            '*' => re.push_str("(?s:.*)"),
            '?' => re.push_str("(?s:.)"),
            c => re.push_str(&regex_lite::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex_lite::Regex::new(&re).unwrap().is_match(name)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    /// A hint prints as it was written (host bits cleared), and reads back the same.
    #[test]
    fn hint_text_round_trips(net in arb_net(), is_ip in any::<bool>(), exclude in any::<bool>()) {
        let text = match (is_ip, exclude) {
            (true, false) => net.addr().to_string(),
            (true, true) => format!("!{}", net.addr()),
            (false, false) => net.trunc().to_string(),
            (false, true) => format!("!{}", net.trunc()),
        };
        match text.parse::<Hint>() {
            Ok(h) => {
                prop_assert_eq!(h.to_string(), text.clone());
                prop_assert_eq!(h.to_string().parse::<Hint>().unwrap(), h);
                prop_assert_eq!(h.exclude, exclude);
                prop_assert_eq!(h.is_ip, is_ip);
            }
            Err(e) => {
                // Only hints for space that is never a node IP are refused.
                prop_assert!(!exclude, "{}: {}", text, e);
                prop_assert!(e.to_string().contains("never node IPs"), "{}", e);
            }
        }
    }

    /// Globs match exactly what the equivalent anchored regular expression matches (ASCII
    /// interface names, where one byte is one character).
    #[test]
    fn glob_agrees_with_its_regex(pattern in "[a-c*?.]{0,8}", name in "[a-c.]{0,10}") {
        let p: Pattern = pattern.parse().unwrap();
        prop_assert_eq!(p.matches(&name), glob_by_regex(&pattern, &name), "{} vs {}", pattern, name);
        prop_assert_eq!(p.to_string().parse::<Pattern>().unwrap(), p);
    }

    /// Snapshots, policies and selections survive JSON unchanged, so a `bmnet node-ip snapshot`
    /// file selects exactly as the host it came from, and `--json` output reads back.
    #[test]
    fn json_round_trips(host in arb_snapshot(), policy in arb_policy()) {
        let text = serde_json::to_string(&host).unwrap();
        prop_assert_eq!(&serde_json::from_str::<HostSnapshot>(&text).unwrap(), &host);
        let text = serde_json::to_string(&policy).unwrap();
        prop_assert_eq!(&serde_json::from_str::<Policy>(&text).unwrap(), &policy);
        let sel = select(&host, &policy);
        let text = serde_json::to_string(&sel).unwrap();
        prop_assert_eq!(serde_json::from_str::<bm_nodeip::Selection>(&text).unwrap(), sel);
    }
}
