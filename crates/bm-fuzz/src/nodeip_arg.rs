//! Fuzzes kubelet `--node-ip` parsing under every option combination, and the hint and
//! interface-pattern parsers: no input may panic; whatever parses reads back from its canonical
//! form to the same addresses without warnings; hints round-trip through their text.

use bm_nodeip::{Hint, KubeletVersion, NodeIpArgOptions, Pattern, parse_node_ip_arg};

/// One input.
pub fn run(data: &[u8]) {
    let Some((&knobs, rest)) = data.split_first() else { return };
    let Ok(s) = std::str::from_utf8(rest) else { return };
    let gate = |bits: u8| match bits & 3 {
        0 => None,
        1 => Some(false),
        _ => Some(true),
    };
    let opts = NodeIpArgOptions {
        cloud_provider: ["", "external", "gce", "aws"][usize::from(knobs & 3)].to_string(),
        kubelet_version: KubeletVersion::new(1, 20 + u32::from(knobs >> 4)),
        cloud_dual_stack_gate: gate(knobs >> 2),
        ipv6_dual_stack_gate: gate(knobs >> 3),
        family_keywords: knobs & 0x80 != 0,
        host: None,
    };
    match parse_node_ip_arg(s, &opts) {
        Ok(arg) => {
            assert!(arg.entries.len() <= 2);
            let again = parse_node_ip_arg(&arg.canonical_value(), &opts).expect("the canonical value parses");
            let unmapped = |ips: Vec<std::net::IpAddr>| ips.into_iter().map(bm_addr::unmap).collect::<Vec<_>>();
            assert_eq!(unmapped(again.ips()), unmapped(arg.ips()));
            assert!(again.ignored.is_empty());
        }
        Err(e) => assert!(!e.errors.is_empty() && !e.to_string().is_empty()),
    }
    let _ = KubeletVersion::parse(s);
    if let Ok(h) = s.parse::<Hint>() {
        assert_eq!(h.to_string().parse::<Hint>().expect("a hint's text parses"), h);
    }
    if let Ok(p) = s.parse::<Pattern>() {
        let _ = p.matches(s);
        assert_eq!(p.to_string().parse::<Pattern>().expect("a pattern's text parses"), p);
    }
}
