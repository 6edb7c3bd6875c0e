//! The `--node-ip` rules, each against kubelet's behaviour.

use std::net::IpAddr;

use bm_addr::Family;

use super::wording::{go_ip_string, go_quote};
use super::*;
use crate::{Address, AddressFlags, HostSnapshot, Link};
use proptest::prelude::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn opts(cloud: &str) -> NodeIpArgOptions<'static> {
    NodeIpArgOptions::default().cloud_provider(cloud)
}

fn at(cloud: &str, minor: u32) -> NodeIpArgOptions<'static> {
    opts(cloud).kubelet_version(KubeletVersion::new(1, minor))
}

fn message(value: &str, o: &NodeIpArgOptions<'_>) -> String {
    parse_node_ip_arg(value, o).unwrap_err().to_string()
}

const PAIR: &str = "must contain either a single IP or a dual-stack pair of IPs";
const SS: &str = "dual-stack not supported in this configuration";
const UNSPEC: &str = "dual-stack node IP cannot include '0.0.0.0' or '::'";

/// component-helpers node/util/ips_test.go `TestParseNodeIPArgument`: description, input,
/// output, ignored pieces, error with dual stack allowed ("" and "external"), error for "gce".
type Row = (
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Option<&'static str>,
    Option<&'static str>,
);

#[rustfmt::skip]
const TABLE: &[Row] = &[
    ("empty --node-ip", "", &[], &[], None, None),
    ("just whitespace (ignored)", " ", &[], &[""], None, None),
    ("garbage (ignored)", "blah", &[], &["blah"], None, None),
    ("single IPv4", "1.2.3.4", &["1.2.3.4"], &[], None, None),
    ("single IPv4 with whitespace", " 1.2.3.4   ", &["1.2.3.4"], &[], None, None),
    ("single IPv4 non-canonical", "01.2.3.004", &["1.2.3.4"], &[], None, None),
    ("single IPv4 invalid (ignored)", "1.2.3", &[], &["1.2.3"], None, None),
    ("single IPv4 CIDR (ignored)", "1.2.3.0/24", &[], &["1.2.3.0/24"], None, None),
    ("single IPv4 unspecified", "0.0.0.0", &["0.0.0.0"], &[], None, None),
    ("single IPv4 plus ignored garbage", "1.2.3.4,not-an-IPv6-address", &["1.2.3.4"], &["not-an-IPv6-address"], None, None),
    ("single IPv6", "abcd::ef01", &["abcd::ef01"], &[], None, None),
    ("single IPv6 non-canonical", "abcd:0abc:00ab:0000:0000::1", &["abcd:abc:ab::1"], &[], None, None),
    ("simple dual-stack", "1.2.3.4,abcd::ef01", &["1.2.3.4", "abcd::ef01"], &[], None, Some(SS)),
    ("dual-stack with whitespace", "abcd::ef01 , 1.2.3.4", &["abcd::ef01", "1.2.3.4"], &[], None, Some(SS)),
    ("double IPv4", "1.2.3.4,5.6.7.8", &[], &[], Some(PAIR), Some(PAIR)),
    ("double IPv6", "abcd::1,abcd::2", &[], &[], Some(PAIR), Some(PAIR)),
    ("dual-stack with unspecified", "1.2.3.4,::", &[], &[], Some(UNSPEC), Some(SS)),
    ("dual-stack with unspecified", "0.0.0.0,abcd::1", &[], &[], Some(UNSPEC), Some(SS)),
    ("dual-stack plus ignored garbage", "abcd::ef01 , 1.2.3.4, something else", &["abcd::ef01", "1.2.3.4"], &["something else"], None, Some(SS)),
    ("triple stack!", "1.2.3.4,abcd::1,5.6.7.8", &[], &[], Some(PAIR), Some(PAIR)),
];

#[test]
fn parse_node_ip_argument_table() {
    for cloud in ["", "external", "gce"] {
        for &(desc, input, out, invalids, err, gce_err) in TABLE {
            let err = if cloud == "gce" { gce_err } else { err };
            let ctx = format!("{desc} ({input:?}, cloud {cloud:?})");
            match (parse_node_ip_arg(input, &opts(cloud)), err) {
                (Ok(arg), None) => {
                    let want: Vec<IpAddr> = out.iter().map(|s| ip(s)).collect();
                    assert_eq!(arg.ips(), want, "{ctx}");
                    assert_eq!(arg.ignored, invalids, "{ctx}");
                }
                (Err(rejected), Some(msg)) => {
                    assert_eq!(rejected.errors.len(), 1, "{ctx}");
                    assert!(rejected.kubelet_error().unwrap().is_fatal_at_startup(), "{ctx}");
                    let want = format!("bad --node-ip {}: {msg}", go_quote(input));
                    assert_eq!(rejected.to_string(), want, "{ctx}");
                    assert_eq!(rejected.ignored, invalids, "{ctx}");
                }
                (got, want) => panic!("{ctx}: got {got:?}, want error {want:?}"),
            }
        }
    }
}

/// The same table through kubelet 1.26: the legacy rules and wording, where any cloud
/// provider (`external` too) refuses a pair, and that check comes before the unspecified one.
#[test]
fn parse_node_ip_argument_table_legacy() {
    for cloud in ["", "external", "gce"] {
        for &(desc, input, out, invalids, err, _) in TABLE {
            let ctx = format!("{desc} ({input:?}, cloud {cloud:?})");
            let q = go_quote(input);
            let pair = out.len() == 2 || err == Some(UNSPEC);
            let want = if err == Some(PAIR) {
                Some(format!("bad --node-ip {q}; {PAIR}"))
            } else if pair && !cloud.is_empty() {
                Some(format!("dual-stack --node-ip {q} not supported when using a cloud provider"))
            } else if err == Some(UNSPEC) {
                Some(format!("dual-stack --node-ip {q} cannot include '0.0.0.0' or '::'"))
            } else {
                None
            };
            match (parse_node_ip_arg(input, &at(cloud, 26)), want) {
                (Ok(arg), None) => {
                    let want: Vec<IpAddr> = out.iter().map(|s| ip(s)).collect();
                    assert_eq!(arg.ips(), want, "{ctx}");
                    assert_eq!(arg.ignored, invalids, "{ctx}");
                }
                (Err(rejected), Some(want)) => {
                    assert_eq!(rejected.to_string(), want, "{ctx}");
                    assert_eq!(rejected.ignored, invalids, "{ctx}");
                }
                (got, want) => panic!("{ctx}: got {got:?}, want error {want:?}"),
            }
        }
    }
}

#[test]
fn exact_current_messages() {
    assert_eq!(
        message("1.2.3.4,5.6.7.8", &opts("")),
        r#"bad --node-ip "1.2.3.4,5.6.7.8": must contain either a single IP or a dual-stack pair of IPs"#
    );
    assert_eq!(
        message("1.2.3.4,abcd::1", &opts("gce")),
        r#"bad --node-ip "1.2.3.4,abcd::1": dual-stack not supported in this configuration"#
    );
    assert_eq!(
        message(" 0.0.0.0 , abcd::1", &opts("external")),
        r#"bad --node-ip " 0.0.0.0 , abcd::1": dual-stack node IP cannot include '0.0.0.0' or '::'"#
    );
}

#[test]
fn legacy_wording_before_1_27() {
    let v126 = |cloud| at(cloud, 26);
    assert_eq!(
        message("1.2.3.4,abcd::1", &v126("external")),
        r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported when using a cloud provider"#
    );
    assert_eq!(
        message("1.2.3.4,abcd::1", &v126("gce")),
        r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported when using a cloud provider"#
    );
    assert!(parse_node_ip_arg("1.2.3.4,abcd::1", &v126("")).is_ok());
    assert_eq!(
        message("1.2.3.4,5.6.7.8", &v126("")),
        r#"bad --node-ip "1.2.3.4,5.6.7.8"; must contain either a single IP or a dual-stack pair of IPs"#
    );
    assert_eq!(
        message("1.2.3.4,abcd::1,5.6.7.8", &v126("external")),
        r#"bad --node-ip "1.2.3.4,abcd::1,5.6.7.8"; must contain either a single IP or a dual-stack pair of IPs"#
    );
    assert_eq!(
        message("1.2.3.4,::", &v126("")),
        r#"dual-stack --node-ip "1.2.3.4,::" cannot include '0.0.0.0' or '::'"#
    );
    // The cloud-provider check comes before the unspecified one.
    assert_eq!(
        message("1.2.3.4,::", &v126("external")),
        r#"dual-stack --node-ip "1.2.3.4,::" not supported when using a cloud provider"#
    );
    let e = parse_node_ip_arg("1.2.3.4,abcd::1", &v126("external")).unwrap_err();
    assert!(matches!(e.errors[0], NodeIpArgError::DualStackNotSupported { wording: KubeletWording::Legacy, .. }));
    // Single IPs are fine with any provider in every version.
    assert!(parse_node_ip_arg("1.2.3.4", &v126("gce")).is_ok());
}

#[test]
fn ipv6_dual_stack_gate_before_1_23() {
    let pair = "1.2.3.4,abcd::1";
    let single_stack = r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported in a single-stack cluster"#;
    assert_eq!(message(pair, &at("", 20)), single_stack);
    assert!(parse_node_ip_arg(pair, &at("", 20).ipv6_dual_stack_gate(true)).is_ok());
    assert!(parse_node_ip_arg(pair, &at("", 21)).is_ok());
    assert_eq!(message(pair, &at("", 22).ipv6_dual_stack_gate(false)), single_stack);
    // The gate check comes first, even for two IPv4 addresses.
    assert_eq!(
        message("1.2.3.4,5.6.7.8", &at("", 20)),
        r#"dual-stack --node-ip "1.2.3.4,5.6.7.8" not supported in a single-stack cluster"#
    );
    // GA in 1.23: turning it off changes nothing here, with a warning.
    let arg = parse_node_ip_arg(pair, &at("", 23).ipv6_dual_stack_gate(false)).unwrap();
    assert_eq!(
        arg.warnings,
        [NodeIpArgWarning::GateIgnored {
            gate: FeatureGate::Ipv6DualStack,
            value: false,
            version: KubeletVersion::new(1, 23)
        }]
    );
    assert!(parse_node_ip_arg("1.2.3.4", &at("", 20)).is_ok());
}

#[test]
fn cloud_dual_stack_gate() {
    let pair = "1.2.3.4,abcd::1";
    let refused = r#"bad --node-ip "1.2.3.4,abcd::1": dual-stack not supported in this configuration"#;
    // Alpha, off by default.
    assert_eq!(message(pair, &at("external", 27)), refused);
    assert_eq!(message(pair, &at("external", 28)), refused);
    assert!(parse_node_ip_arg(pair, &at("external", 27).cloud_dual_stack_gate(true)).is_ok());
    assert!(parse_node_ip_arg(pair, &at("external", 28).cloud_dual_stack_gate(true)).is_ok());
    // Beta, on by default.
    assert!(parse_node_ip_arg(pair, &at("external", 29)).is_ok());
    assert_eq!(message(pair, &at("external", 29).cloud_dual_stack_gate(false)), refused);
    // GA, locked on.
    let arg = parse_node_ip_arg(pair, &at("external", 30).cloud_dual_stack_gate(false)).unwrap();
    assert!(matches!(
        arg.warnings[..],
        [NodeIpArgWarning::GateIgnored { gate: FeatureGate::CloudDualStackNodeIps, value: false, .. }]
    ));
    assert!(arg.warnings[0].to_string().contains("locked on from 1.30"));
    assert!(parse_node_ip_arg(pair, &at("external", 30)).is_ok());
    assert!(parse_node_ip_arg(pair, &at("external", 33)).is_ok());
    // Never for an in-tree provider, never needed without one.
    for minor in [27, 28, 29, 30, 33] {
        assert_eq!(message(pair, &at("gce", minor).cloud_dual_stack_gate(true)), refused, "1.{minor}");
        assert!(parse_node_ip_arg(pair, &at("", minor).cloud_dual_stack_gate(false)).is_ok(), "1.{minor}");
    }
    // Before the gate exists it is ignored, with a warning.
    let e = parse_node_ip_arg(pair, &at("external", 26).cloud_dual_stack_gate(true)).unwrap_err();
    assert!(e.warnings.iter().any(|w| matches!(w, NodeIpArgWarning::GateIgnored { .. })));
    assert!(e.to_string().starts_with("dual-stack --node-ip"));
}

#[test]
fn feature_gate_defaults() {
    let g = FeatureGate::CloudDualStackNodeIps;
    let on = |minor, set| g.enabled(KubeletVersion::new(1, minor), set);
    assert!(!on(26, Some(true)));
    assert!(!on(27, None) && on(27, Some(true)));
    assert!(!on(28, None));
    assert!(on(29, None) && !on(29, Some(false)));
    assert!(on(30, Some(false)) && on(33, None));
    assert_eq!(g.to_string(), "CloudDualStackNodeIPs");
    assert_eq!(serde_json::to_string(&FeatureGate::Ipv6DualStack).unwrap(), r#""IPv6DualStack""#);
}

#[test]
fn unspecified_means_autodetect() {
    let arg = parse_node_ip_arg("0.0.0.0", &opts("")).unwrap();
    assert!(arg.autodetect);
    assert_eq!(arg.ips(), [ip("0.0.0.0")]);
    assert!(arg.specified_ips().is_empty());
    assert_eq!(arg.primary_family, Family::Ipv4);
    // `::` prefers IPv6 (kubernetes#85850).
    let arg = parse_node_ip_arg("::", &opts("external")).unwrap();
    assert!(arg.autodetect);
    assert_eq!(arg.primary_family, Family::Ipv6);
    assert_eq!(arg.annotation, None);
    // Empty: autodetect, IPv4 preferred, no warning.
    let arg = parse_node_ip_arg("", &opts("")).unwrap();
    assert!(arg.autodetect && arg.warnings.is_empty() && arg.entries.is_empty());
    assert_eq!(arg.primary_family, Family::Ipv4);
    // Mapped zeros are IPv4 zeros to Go.
    let arg = parse_node_ip_arg("::ffff:0.0.0.0", &opts("")).unwrap();
    assert!(arg.autodetect);
    assert_eq!(arg.primary_family, Family::Ipv4);
    assert_eq!(
        message("::ffff:0.0.0.0,abcd::1", &opts("")),
        r#"bad --node-ip "::ffff:0.0.0.0,abcd::1": dual-stack node IP cannot include '0.0.0.0' or '::'"#
    );
    // Only ignored pieces: autodetect, said so.
    let arg = parse_node_ip_arg("eth0", &opts("")).unwrap();
    assert!(arg.autodetect);
    assert_eq!(arg.warnings.last(), Some(&NodeIpArgWarning::NothingLeft));
}

#[test]
fn primary_family_and_dual_stack() {
    let arg = parse_node_ip_arg("abcd::ef01 , 1.2.3.4", &opts("")).unwrap();
    assert_eq!(arg.primary_family, Family::Ipv6);
    assert!(arg.is_dual_stack() && !arg.autodetect);
    assert_eq!(arg.canonical_value(), "abcd::ef01,1.2.3.4");
    assert_eq!(arg.annotation, None);
}

#[test]
fn annotation() {
    let ann = |value: &str, cloud: &str| parse_node_ip_arg(value, &opts(cloud)).unwrap().annotation;
    assert_eq!(ann("1.2.3.4", "external").as_deref(), Some("1.2.3.4"));
    // Legacy in-tree providers get it too ("Legacy cloud provider gets nodeIP annotation").
    assert_eq!(ann("1.2.3.4", "gce").as_deref(), Some("1.2.3.4"));
    assert_eq!(ann("1.2.3.4", ""), None);
    assert_eq!(ann("", "external"), None);
    assert_eq!(ann("0.0.0.0", "external"), None);
    assert_eq!(ann("blah", "external"), None);
    assert_eq!(ann("abcd::ef01 , 1.2.3.4, x", "external").as_deref(), Some("abcd::ef01,1.2.3.4"));
    assert_eq!(ann("01.2.3.004", "external").as_deref(), Some("1.2.3.4"));
    assert_eq!(ann("ABCD:0::0:1", "external").as_deref(), Some("abcd::1"));
    assert_eq!(ann("::ffff:5.6.7.8", "external").as_deref(), Some("5.6.7.8"));
    assert_eq!(PROVIDED_NODE_IP_ANNOTATION, "alpha.kubernetes.io/provided-node-ip");
}

#[test]
fn validate_node_ip_messages() {
    let cases = [
        ("127.0.0.1", "nodeIP can't be loopback address"),
        ("::1", "nodeIP can't be loopback address"),
        ("::ffff:127.0.0.2", "nodeIP can't be loopback address"),
        ("224.0.0.1", "nodeIP can't be a multicast address"),
        ("ff02::1", "nodeIP can't be a multicast address"),
        ("169.254.1.10", "nodeIP can't be a link-local unicast address"),
        ("fe80::1", "nodeIP can't be a link-local unicast address"),
        ("febf::1", "nodeIP can't be a link-local unicast address"),
        ("::ffff:169.254.0.1", "nodeIP can't be a link-local unicast address"),
    ];
    for (value, problem) in cases {
        let e = parse_node_ip_arg(value, &opts("")).unwrap_err();
        assert_eq!(e.to_string(), format!("failed to validate nodeIP: {problem}"), "{value}");
        assert!(!e.errors[0].is_fatal_at_startup());
    }
    // The secondary address has its own wrapper.
    assert_eq!(
        message("1.2.3.4,fe80::1", &opts("")),
        "failed to validate secondaryNodeIP: nodeIP can't be a link-local unicast address"
    );
    // Both bad: kubelet reports the first, the second is there too.
    let e = parse_node_ip_arg("127.0.0.1,::1", &opts("")).unwrap_err();
    assert_eq!(e.errors.len(), 2);
    assert_eq!(e.to_string(), "failed to validate nodeIP: nodeIP can't be loopback address");
    assert_eq!(e.errors[1].to_string(), "failed to validate secondaryNodeIP: nodeIP can't be loopback address");
    assert_eq!(
        e.errors[1],
        NodeIpArgError::InvalidNodeIp {
            role: NodeIpRole::Secondary,
            ip: ip("::1"),
            problem: NodeIpValidationError::Loopback
        }
    );
    // Not loopback to Go: a compatible address is IPv6, and only ::1 is IPv6 loopback.
    assert!(parse_node_ip_arg("::127.0.0.1", &opts("")).is_ok());
    assert!(parse_node_ip_arg("fec0::1", &opts("")).is_ok()); // site-local is not link-local
    // All zeros: only where kubelet applies it (not to --node-ip, where it means autodetect).
    assert_eq!(validate_node_ip(ip("0.0.0.0"), None), Err(NodeIpValidationError::AllZeros));
    assert_eq!(NodeIpValidationError::AllZeros.to_string(), "nodeIP can't be an all zeros address");
    assert_eq!(validate_node_ip(ip("10.0.0.1"), None), Ok(()));
}

fn host() -> HostSnapshot {
    let link =
        |index, name: &str, up, loopback| Link { index, name: name.to_string(), up, loopback, ..Link::default() };
    let addr = |link, net: &str, flags| Address {
        link,
        addr: net.parse().unwrap(),
        scope: Default::default(),
        flags,
        label: None,
        preferred_lft: None,
        valid_lft: None,
    };
    let tentative = AddressFlags { tentative: true, ..AddressFlags::default() };
    let mut vip = addr(2, "10.0.0.100/32", AddressFlags::default());
    vip.preferred_lft = Some(0);
    HostSnapshot {
        links: vec![link(1, "lo", true, true), link(2, "eth0", true, false), link(3, "eth1", false, false)],
        addresses: vec![
            addr(1, "127.0.0.1/8", AddressFlags::default()),
            addr(2, "10.0.0.5/24", AddressFlags::default()),
            addr(2, "fd00::5/64", AddressFlags::default()),
            addr(2, "fd00::6/64", tentative),
            vip,
            addr(3, "192.168.9.9/24", AddressFlags::default()),
            addr(1, "203.0.113.1/32", AddressFlags::default()),
        ],
        routes: vec![],
    }
}

#[test]
fn on_host_check() {
    let h = host();
    let o = opts("").host(&h);
    let arg = parse_node_ip_arg("10.0.0.5,fd00::5", &o).unwrap();
    assert!(arg.warnings.is_empty());
    assert_eq!(
        message("10.0.0.6", &o),
        r#"failed to validate nodeIP: node IP: "10.0.0.6" not found in the host's network interfaces"#
    );
    assert_eq!(
        message("10.0.0.5,fd00::7", &o),
        r#"failed to validate secondaryNodeIP: node IP: "fd00::7" not found in the host's network interfaces"#
    );
    // Go's Equal: a mapped address matches the IPv4 address, and prints as IPv4.
    let arg = parse_node_ip_arg("::ffff:10.0.0.5", &o).unwrap();
    assert!(matches!(arg.warnings[..], [NodeIpArgWarning::Mapped { .. }]));
    assert_eq!(
        message("::ffff:10.0.0.7", &o),
        r#"failed to validate nodeIP: node IP: "10.0.0.7" not found in the host's network interfaces"#
    );
    // Loopback is refused before the presence check.
    assert_eq!(message("127.0.0.1", &o), "failed to validate nodeIP: nodeIP can't be loopback address");
    // No host, no presence check.
    assert!(parse_node_ip_arg("10.0.0.6", &opts("")).is_ok());
    // Unspecified is not checked.
    assert!(parse_node_ip_arg("::", &o).is_ok());
}

#[test]
fn on_host_caveats() {
    let h = host();
    let o = opts("").host(&h);
    let caveats = |value| -> Vec<HostAddressCaveat> {
        parse_node_ip_arg(value, &o)
            .unwrap()
            .warnings
            .into_iter()
            .filter_map(|w| match w {
                NodeIpArgWarning::HostAddress { caveat, .. } => Some(caveat),
                _ => None,
            })
            .collect()
    };
    assert_eq!(caveats("fd00::6"), [HostAddressCaveat::Tentative]);
    assert_eq!(caveats("10.0.0.100"), [HostAddressCaveat::Deprecated]);
    assert_eq!(caveats("192.168.9.9"), [HostAddressCaveat::LinkDown]);
    assert_eq!(caveats("203.0.113.1"), [HostAddressCaveat::Loopback]);
    let w = &parse_node_ip_arg("192.168.9.9", &o).unwrap().warnings[0];
    assert_eq!(w.to_string(), "192.168.9.9 on eth1: the link is down");
}

#[test]
fn sloppy_warnings() {
    let arg = parse_node_ip_arg("01.2.3.004", &opts("")).unwrap();
    assert_eq!(arg.ips(), [ip("1.2.3.4")]);
    assert_eq!(
        arg.warnings,
        [NodeIpArgWarning::NonCanonical { piece: "01.2.3.004".to_string(), canonical: ip("1.2.3.4") }]
    );
    assert_eq!(
        arg.warnings[0].to_string(),
        r#""01.2.3.004" is not canonical: kubelet reads leading zeros as decimal (inet_aton reads them as octal); write 1.2.3.4"#
    );
    assert_eq!(arg.canonical_value(), "1.2.3.4");
    // Leading zeros in IPv6 groups are canonical grammar: no warning.
    let arg = parse_node_ip_arg("abcd:0abc:00ab:0000:0000::1", &opts("")).unwrap();
    assert!(arg.warnings.is_empty());
    assert_eq!(arg.canonical_value(), "abcd:abc:ab::1");
    let arg = parse_node_ip_arg("02001:db8::1", &opts("")).unwrap();
    assert_eq!(arg.ips(), [ip("2001:db8::1")]);
    assert_eq!(
        arg.warnings[0].to_string(),
        r#""02001:db8::1" is not canonical: kubelet's sloppy parser accepts an IPv6 group of more than 4 hex digits; write 2001:db8::1"#
    );
    // In a pair, each piece is reported.
    let arg = parse_node_ip_arg("010.0.0.1,fd00::1", &opts("")).unwrap();
    assert_eq!(arg.ips(), [ip("10.0.0.1"), ip("fd00::1")]);
    assert_eq!(arg.warnings.len(), 1);
}

#[test]
fn ignored_pieces_are_warnings() {
    let arg = parse_node_ip_arg("1.2.3.4, 10.0.0.0/8 ,fe80::1%eth0,[fd00::1],IPv6,,x", &opts("")).unwrap();
    assert_eq!(arg.ips(), [ip("1.2.3.4")]);
    assert_eq!(arg.ignored, ["10.0.0.0/8", "fe80::1%eth0", "[fd00::1]", "IPv6", "", "x"]);
    let kinds: Vec<IgnoredKind> = arg
        .warnings
        .iter()
        .filter_map(|w| match w {
            NodeIpArgWarning::Ignored { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            IgnoredKind::Cidr,
            IgnoredKind::Zone,
            IgnoredKind::Brackets,
            IgnoredKind::FamilyKeyword,
            IgnoredKind::Empty,
            IgnoredKind::NotAnAddress
        ]
    );
    assert_eq!(
        arg.warnings[0].to_string(),
        r#"kubelet ignores "10.0.0.0/8": a CIDR is not accepted; give the address without the prefix length"#
    );
    assert_eq!(arg.canonical_value(), "1.2.3.4");
}

#[test]
fn mapped_addresses_are_ipv4() {
    // Not a dual-stack pair to kubelet; the warning says why.
    let e = parse_node_ip_arg("1.2.3.4,::ffff:5.6.7.8", &opts("")).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"bad --node-ip "1.2.3.4,::ffff:5.6.7.8": must contain either a single IP or a dual-stack pair of IPs"#
    );
    assert_eq!(e.warnings, [NodeIpArgWarning::Mapped { ip: ip("::ffff:5.6.7.8"), ipv4: "5.6.7.8".parse().unwrap() }]);
    assert_eq!(
        e.warnings[0].to_string(),
        "::ffff:5.6.7.8 is an IPv4-mapped IPv6 address: kubelet counts it as the IPv4 address 5.6.7.8; write 5.6.7.8"
    );
    // With a real IPv6 address it is a pair, IPv4 primary.
    let arg = parse_node_ip_arg("::ffff:5.6.7.8,abcd::1", &opts("")).unwrap();
    assert_eq!(arg.primary_family, Family::Ipv4);
    assert_eq!(arg.canonical_value(), "5.6.7.8,abcd::1");
    assert_eq!(arg.entries[0], NodeIpEntry::Ip(ip("::ffff:5.6.7.8")));
    // Other embeddings are IPv6.
    assert!(parse_node_ip_arg("1.2.3.4,64:ff9b::5.6.7.8", &opts("")).unwrap().warnings.is_empty());
}

#[test]
fn family_keywords_extension() {
    // Stock kubelet: ignored, so autodetect.
    let arg = parse_node_ip_arg("IPv4,IPv6", &opts("")).unwrap();
    assert!(arg.autodetect);
    assert_eq!(arg.ignored, ["IPv4", "IPv6"]);
    assert_eq!(arg.warnings.last(), Some(&NodeIpArgWarning::NothingLeft));

    let kw = |cloud| opts(cloud).family_keywords(true);
    let arg = parse_node_ip_arg("IPv4", &kw("external")).unwrap();
    assert_eq!(arg.entries, [NodeIpEntry::Family(Family::Ipv4)]);
    assert!(!arg.autodetect);
    assert_eq!(arg.annotation, None);
    assert_eq!(arg.warnings, [NodeIpArgWarning::FamilyKeyword { family: Family::Ipv4 }]);
    let arg = parse_node_ip_arg("IPv6,5.6.7.8", &kw("")).unwrap();
    assert_eq!(arg.primary_family, Family::Ipv6);
    assert_eq!(arg.canonical_value(), "IPv6,5.6.7.8");
    let arg = parse_node_ip_arg("ipv4 , ipv6", &kw("external")).unwrap();
    assert!(arg.is_dual_stack());
    assert_eq!(arg.canonical_value(), "IPv4,IPv6");
    assert_eq!(
        message("IPv4,1.2.3.4", &kw("")),
        r#"bad --node-ip "IPv4,1.2.3.4": must contain either a single IP or a dual-stack pair of IPs"#
    );
    assert_eq!(
        message("IPv4,IPv6", &kw("gce")),
        r#"bad --node-ip "IPv4,IPv6": dual-stack not supported in this configuration"#
    );
    assert_eq!(
        message("IPv4,::", &kw("")),
        r#"bad --node-ip "IPv4,::": dual-stack node IP cannot include '0.0.0.0' or '::'"#
    );
}

#[test]
fn legacy_cloud_provider_warning() {
    let arg = parse_node_ip_arg("1.2.3.4", &opts("aws")).unwrap();
    assert_eq!(arg.warnings, [NodeIpArgWarning::LegacyCloudProvider { name: "aws".to_string() }]);
    assert!(parse_node_ip_arg("1.2.3.4", &opts("external")).unwrap().warnings.is_empty());
}

#[test]
fn versions() {
    let v = |s: &str| KubeletVersion::parse(s);
    assert_eq!(v("1.26"), Ok(KubeletVersion::new(1, 26)));
    assert_eq!(v("v1.30.2"), Ok(KubeletVersion::new(1, 30)));
    assert_eq!(v("V1.30"), Ok(KubeletVersion::new(1, 30)));
    assert_eq!(v("v1.29.0-rc.1"), Ok(KubeletVersion::new(1, 29)));
    assert_eq!(v("v1.30.2+k3s1"), Ok(KubeletVersion::new(1, 30)));
    assert_eq!(v(" 1.33 "), Ok(KubeletVersion::new(1, 33)));
    for bad in ["", "1", "1.", ".1", "x.y", "1.30.2.1", "1.-1", "v", "1.30-", "1.30+", "1..2", "1.2x", "1.99999999999"]
    {
        assert_eq!(v(bad), Err(KubeletVersionError::Malformed { input: bad.to_string() }), "{bad:?}");
    }
    assert_eq!(
        v("1.x").unwrap_err().to_string(),
        r#"invalid kubelet version "1.x": expected MAJOR.MINOR such as 1.30 or v1.30.2"#
    );
    assert_eq!(v("2.0").unwrap_err().to_string(), "invalid kubelet version 2.0: Kubernetes versions are 1.x");
    assert_eq!(
        v("1.19").unwrap_err().to_string(),
        "kubelet 1.19 is older than 1.20, the oldest version whose --node-ip rules bmnet models"
    );
    assert_eq!(KubeletVersion::default(), KubeletVersion::CURRENT);
    assert_eq!(KubeletVersion::new(1, 26).wording(), KubeletWording::Legacy);
    assert_eq!(KubeletVersion::new(1, 27).wording(), KubeletWording::Current);
    assert_eq!(serde_json::to_string(&KubeletVersion::new(1, 30)).unwrap(), r#""1.30""#);
    assert_eq!(serde_json::from_str::<KubeletVersion>(r#""v1.28.3""#).unwrap(), KubeletVersion::new(1, 28));
    assert!(serde_json::from_str::<KubeletVersion>(r#""1.2.3.4""#).is_err());
    // Built directly, an old version is checked as the oldest modelled, with a warning.
    let arg = parse_node_ip_arg("1.2.3.4", &at("", 18)).unwrap();
    assert_eq!(arg.warnings, [NodeIpArgWarning::VersionNotModelled { version: KubeletVersion::new(1, 18) }]);
}

#[test]
fn go_quoting() {
    assert_eq!(go_quote(""), r#""""#);
    assert_eq!(go_quote("1.2.3.4, x"), r#""1.2.3.4, x""#);
    assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
    assert_eq!(go_quote("\x07\x08\x0c\n\r\t\x0b\x00\x1b\x7f"), r#""\a\b\f\n\r\t\v\x00\x1b\x7f""#);
    assert_eq!(go_quote("é\u{a0}😀"), r#""\u00e9\u00a0\U0001f600""#);
    assert_eq!(
        message("1.2.3.4,\t5.6.7.8\n", &opts("")),
        r#"bad --node-ip "1.2.3.4,\t5.6.7.8\n": must contain either a single IP or a dual-stack pair of IPs"#
    );
}

#[test]
fn go_ip_strings() {
    assert_eq!(go_ip_string(ip("::ffff:1.2.3.4")), "1.2.3.4");
    assert_eq!(go_ip_string(ip("::1.2.3.4")), "::102:304");
    assert_eq!(go_ip_string(ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
    assert_eq!(go_ip_string(ip("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
}

#[test]
fn serde_round_trips() {
    let arg = parse_node_ip_arg("01.2.3.004,fd00::1,x", &opts("external")).unwrap();
    let json = serde_json::to_string(&arg).unwrap();
    assert_eq!(serde_json::from_str::<NodeIpArg>(&json).unwrap(), arg);
    let e = parse_node_ip_arg("127.0.0.1", &opts("")).unwrap_err();
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["errors"][0]["rule"], "invalid_node_ip");
    assert_eq!(json["errors"][0]["problem"]["problem"], "loopback");
    assert_eq!(serde_json::from_value::<NodeIpArgRejected>(json).unwrap(), e);
    let o = at("external", 28).cloud_dual_stack_gate(true);
    let json = serde_json::to_string(&o).unwrap();
    assert_eq!(serde_json::from_str::<NodeIpArgOptions<'_>>(&json).unwrap(), o);
    let o: NodeIpArgOptions<'_> = serde_json::from_str("{}").unwrap();
    assert_eq!(o, NodeIpArgOptions::default());
}

fn any_options() -> impl Strategy<Value = NodeIpArgOptions<'static>> {
    (
        prop::sample::select(vec!["", "external", "gce"]),
        16u32..40,
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
        any::<bool>(),
    )
        .prop_map(|(cloud, minor, cloud_gate, v6_gate, keywords)| NodeIpArgOptions {
            cloud_provider: cloud.to_string(),
            kubelet_version: KubeletVersion::new(1, minor),
            cloud_dual_stack_gate: cloud_gate,
            ipv6_dual_stack_gate: v6_gate,
            family_keywords: keywords,
            host: None,
        })
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
        any::<std::net::Ipv4Addr>().prop_map(|a| format!("::ffff:{a}")),
        prop::sample::select(vec![
            "0.0.0.0",
            "::",
            "127.0.0.1",
            "fe80::1",
            "IPv4",
            "ipv6",
            " ",
            "",
            "01.02.03.004",
            "10.0.0.0/8",
            "1.2.3.4",
            "abcd::1",
        ])
        .prop_map(str::to_string),
        "[0-9a-fA-F:./% ]{0,20}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![prop::collection::vec(piece(), 0..5).prop_map(|v| v.join(",")), any::<String>(), ".{0,40}",]
}

proptest! {
    #[test]
    fn never_panics_and_keeps_the_invariants(v in value(), o in any_options()) {
        match parse_node_ip_arg(&v, &o) {
            Ok(arg) => {
                prop_assert!(arg.entries.len() <= 2);
                if let [a, b] = arg.entries[..] {
                    prop_assert_ne!(a.family(), b.family());
                    prop_assert!(!a.is_unspecified() && !b.is_unspecified());
                }
                prop_assert_eq!(arg.autodetect, arg.entries.iter().all(NodeIpEntry::is_unspecified));
                prop_assert_eq!(arg.ips().len() + arg.entries.iter().filter(|e| e.ip().is_none()).count(), arg.entries.len());
                // Reading the canonical form back gives the same addresses, without warnings
                // about the pieces.
                let again = parse_node_ip_arg(&arg.canonical_value(), &o).unwrap();
                let unmapped = |a: &NodeIpArg| a.ips().into_iter().map(bm_addr::unmap).collect::<Vec<_>>();
                prop_assert_eq!(unmapped(&again), unmapped(&arg));
                prop_assert!(again.ignored.is_empty());
                let sloppy = again.warnings.iter().any(|w| {
                    matches!(w, NodeIpArgWarning::NonCanonical { .. } | NodeIpArgWarning::Mapped { .. })
                });
                prop_assert!(!sloppy);
            }
            Err(e) => {
                prop_assert!(!e.errors.is_empty() && e.errors.len() <= 2);
                prop_assert!(!e.to_string().is_empty());
                if e.errors[0].is_fatal_at_startup() {
                    prop_assert!(e.to_string().contains(&go_quote(&v)));
                }
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(v in any::<String>(), o in any_options()) {
        let _ = parse_node_ip_arg(&v, &o);
        let _ = KubeletVersion::parse(&v);
    }
}
