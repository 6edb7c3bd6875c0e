//! Property tests: the strict parser is exactly std's grammar, text round-trips, and a mapped
//! address classifies exactly as its IPv4 address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bm_addr::{Kind, ParseOptions, ScopedAddr, ZonePolicy, classify, parse_addr, parse_addr_with, parse_net_with};
use proptest::prelude::*;

/// Strings that look like addresses: the characters addresses are made of, in address-ish runs,
/// so that both acceptance and every rejection path are exercised.
fn addressish() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-fA-F:.]{0,45}",
        "(([0-9]{1,4})\\.){0,4}[0-9]{0,4}",
        "([0-9a-f]{0,5}:){0,9}[0-9a-f]{0,5}",
        "([0-9a-f]{0,4}:){1,7}(([0-9]{1,3}\\.){3}[0-9]{1,3})",
        "::(ffff:)?(([0-9]{1,3}\\.){3}[0-9]{1,3})",
        any::<IpAddr>().prop_map(|a| a.to_string()),
        any::<Ipv6Addr>().prop_map(|a| format!("{:x?}", a.segments()).replace(['[', ']', ' '], "").replace(',', ":")),
    ]
}

fn any_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<IpAddr>(),
        any::<Ipv4Addr>().prop_map(|a| IpAddr::V6(a.to_ipv6_mapped())),
        any::<Ipv4Addr>().prop_map(|a| IpAddr::V6(a.to_ipv6_compatible())),
        (0u128..1 << 32).prop_map(|x| IpAddr::V6(Ipv6Addr::from_bits(0x64_ff9b_u128 << 96 | x))),
        any::<u128>().prop_map(|x| IpAddr::V6(Ipv6Addr::from_bits(0xfe80_u128 << 112 | x >> 64))),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// Strict mode accepts exactly what std accepts, with the same value.
    #[test]
    fn strict_parser_matches_std(s in addressish()) {
        prop_assert_eq!(parse_addr(&s).ok(), s.parse::<IpAddr>().ok(), "input {:?}", s);
    }

    /// Errors always point inside the input (or just past its end).
    #[test]
    fn error_offsets_are_in_range(s in "\\PC{0,48}") {
        for opts in [ParseOptions::strict(), ParseOptions::sloppy().zone(ZonePolicy::Allow), ParseOptions::strict().zone(ZonePolicy::Uri)] {
            if let Err(e) = parse_addr_with(&s, &opts) {
                prop_assert!(e.offset <= s.len(), "{:?}: {:?}", s, e);
            }
            if let Err(e) = parse_net_with(&s, &opts) {
                prop_assert!(e.offset <= s.len(), "{:?}: {:?}", s, e);
            }
        }
    }

    /// parse ∘ display is the identity on canonical text, and display ∘ parse the identity on
    /// addresses.
    #[test]
    fn canonical_text_round_trips(a in any_addr()) {
        let text = a.to_string();
        prop_assert_eq!(parse_addr(&text).unwrap(), a);
        prop_assert_eq!(parse_addr(&text).unwrap().to_string(), text);
    }

    /// Zoned link-local addresses round-trip through ScopedAddr's text and serde forms.
    #[test]
    fn scoped_round_trips(bits in any::<u64>(), zone in "[a-z][a-z0-9]{0,14}|[1-9][0-9]{0,8}") {
        let addr = IpAddr::V6(Ipv6Addr::from_bits(0xfe80_u128 << 112 | u128::from(bits)));
        let s = format!("{addr}%{zone}");
        let parsed: ScopedAddr = s.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), s.clone());
        let json = serde_json::to_string(&parsed).unwrap();
        prop_assert_eq!(serde_json::from_str::<ScopedAddr>(&json).unwrap(), parsed);
    }

    /// Sloppy mode reads leading zeros as decimal and gives the same address as the canonical
    /// spelling.
    #[test]
    fn sloppy_leading_zeros_are_decimal(a in any::<Ipv4Addr>(), pad in proptest::collection::vec(0usize..3, 4)) {
        let text: Vec<String> = a.octets().iter().zip(&pad).map(|(o, p)| format!("{}{o}", "0".repeat(*p))).collect();
        let text = text.join(".");
        let p = parse_addr_with(&text, &ParseOptions::sloppy()).unwrap();
        prop_assert_eq!(p.addr.addr, IpAddr::V4(a));
        prop_assert_eq!(p.warning.is_some(), pad.iter().zip(a.octets()).any(|(p, _)| *p > 0));
        prop_assert_eq!(parse_addr(&text).is_ok(), pad.iter().all(|p| *p == 0));
    }

    /// A mapped address classifies exactly as its IPv4 address, except for how it is written.
    #[test]
    fn mapped_classifies_as_its_ipv4(v4 in any::<Ipv4Addr>()) {
        let mapped = classify(IpAddr::V6(v4.to_ipv6_mapped()));
        let native = classify(IpAddr::V4(v4));
        prop_assert_eq!(mapped.kind, Kind::Ipv4Mapped);
        prop_assert_eq!(mapped.embedded_ipv4, Some(v4));
        let strip = |mut c: bm_addr::Classification| { c.addr = IpAddr::V4(Ipv4Addr::UNSPECIFIED); c.kind = Kind::Ipv4; c.embedded_ipv4 = None; c };
        prop_assert_eq!(strip(mapped), strip(native));
    }

    /// Classification survives its serde form.
    #[test]
    fn classification_serde_round_trips(a in any_addr()) {
        let c = classify(a);
        let json = serde_json::to_string(&c).unwrap();
        prop_assert_eq!(serde_json::from_str::<bm_addr::Classification>(&json).unwrap(), c);
    }

    /// CIDRs: strict parsing agrees with ipnet on canonical input, and host bits are reported.
    #[test]
    fn cidrs_agree_with_ipnet_on_canonical_text(a in any::<IpAddr>(), len in 0u8..=128) {
        let len = if a.is_ipv4() { len % 33 } else { len };
        let text = format!("{a}/{len}");
        let ours = parse_net_with(&text, &ParseOptions::strict()).unwrap();
        let theirs: ipnet::IpNet = text.parse().unwrap();
        prop_assert_eq!(ours.net, theirs);
        prop_assert_eq!(ours.host_bits_set(), theirs.addr() != theirs.network());
    }
}
