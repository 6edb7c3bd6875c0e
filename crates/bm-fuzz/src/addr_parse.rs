//! Fuzzes bm-addr's parsers in every mode: no input may panic, every error offset lies within
//! the input, strict mode agrees with std, and whatever parses round-trips through its
//! canonical text.

use std::net::IpAddr;

use bm_addr::{HostBits, ParseOptions, ZonePolicy, classify, parse_addr_with, parse_net_with};

/// One input.
pub fn run(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let modes = [
        ParseOptions::strict(),
        ParseOptions::strict().zone(ZonePolicy::Allow),
        ParseOptions::strict().zone(ZonePolicy::Uri),
        ParseOptions::sloppy().zone(ZonePolicy::Allow).host_bits(HostBits::Reject),
    ];
    for opts in modes {
        match parse_addr_with(s, &opts) {
            Ok(p) => {
                let c = classify(p.addr.addr);
                let text = p.addr.to_string();
                let again = parse_addr_with(&text, &ParseOptions::strict().zone(ZonePolicy::Allow))
                    .expect("canonical text must parse strictly");
                assert_eq!(again.addr, p.addr);
                assert!(again.warning.is_none());
                assert_eq!(classify(again.addr.addr), c);
            }
            Err(e) => assert!(e.offset <= s.len()),
        }
        match parse_net_with(s, &opts) {
            Ok(n) => {
                let text = n.net.to_string();
                let again = parse_net_with(&text, &ParseOptions::strict()).expect("canonical CIDR must parse");
                assert_eq!(again.net, n.net);
            }
            Err(e) => assert!(e.offset <= s.len()),
        }
    }
    let strict = parse_addr_with(s, &ParseOptions::strict()).ok().map(|p| p.addr.addr);
    assert_eq!(strict, s.parse::<IpAddr>().ok(), "strict mode must accept exactly what std accepts");
}
