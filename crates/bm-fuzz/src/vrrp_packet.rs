//! Fuzzes VRRP decoding with every receive check: no input may panic, and whatever decodes
//! encodes back to a packet that decodes to the same advert. cargo-fuzz builds with
//! `--cfg fuzzing`, under which the decoder does not verify checksums, so the fuzzer reaches
//! the checks behind them (VRID, authentication, interval, addresses) instead of stopping at a
//! 16-bit sum it cannot guess.

use std::net::IpAddr;

use bm_vrrp::{AdvertInterval, RxCheck, V2Interval, V3Interval, V3Ipv4Checksum, decode, encode};

/// One input.
pub fn run(data: &[u8]) {
    let Some((&knobs, bytes)) = data.split_first() else { return };
    let v6 = knobs & 1 != 0;
    let (src, dst): (IpAddr, IpAddr) = if v6 {
        ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap())
    } else {
        ([10, 0, 0, 1].into(), [224, 0, 0, 18].into())
    };
    // The local interval, from the knobs: v2 whole seconds or v3 centiseconds.
    let interval = if knobs & 2 != 0 {
        AdvertInterval::V3(V3Interval::new(u16::from(knobs >> 4).max(1) * 100).unwrap_or(V3Interval::MAX))
    } else {
        AdvertInterval::V2(V2Interval::new((knobs >> 4).max(1)).unwrap_or(V2Interval::MAX))
    };
    let check = RxCheck {
        interval,
        vrid: bytes.get(1).copied().unwrap_or(1),
        check_ttl: knobs & 4 != 0,
        auth: (knobs & 8 != 0).then_some(*b"ostest_a"),
        vips: None,
    };
    if let Ok((advert, _)) = decode(bytes, src, dst, 255, &check) {
        let mut out = Vec::new();
        encode(&advert, src, dst, V3Ipv4Checksum::PseudoHeader, &mut out).expect("a decoded advert encodes");
        let (again, _) = decode(&out, src, dst, 255, &check).expect("and decodes again");
        assert_eq!(again, advert);
    }
}
