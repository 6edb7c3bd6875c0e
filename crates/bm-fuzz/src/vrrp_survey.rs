//! Fuzzes the VRRP survey (`bm_vrrp::Survey`, what `bmnet vrrp listen` and `bmnet preflight`
//! keep of a segment's adverts) with sequences of captured Ethernet frames, each prefixed by
//! its length in two bytes (big-endian). Checksums are skipped under `cfg(fuzzing)`, so the
//! adverts' fields are reached.
//!
//! No input may panic; every frame is either ignored (not VRRP: nothing changes), rejected
//! (counted, nothing recorded) or heard (exactly one record's count grows, or a new record
//! appears); every record's VIPs are of its family, v2 only over IPv4, the times ordered;
//! the survey stays within `MAX_HEARD` records and reads back from its JSON.

use std::time::Duration;

use bm_vrrp::{Family, MAX_HEARD, Survey, Version};

/// One input.
pub fn run(data: &[u8]) {
    let mut survey = Survey::new();
    let mut rest = data;
    let mut now = Duration::ZERO;
    while let Some((len, tail)) = rest.split_first_chunk::<2>() {
        let n = usize::from(u16::from_be_bytes(*len)).min(tail.len());
        let (frame, next) = tail.split_at(n);
        rest = next;
        now += Duration::from_millis(10);
        let adverts = |s: &Survey| s.heard().map(|h| h.adverts).sum::<u64>() + s.overflow();
        let (before, rejected) = (adverts(&survey), survey.rejected());
        match survey.handle_frame(now, frame) {
            Ok(true) => assert_eq!(adverts(&survey), before + 1),
            Ok(false) => assert_eq!((adverts(&survey), survey.rejected()), (before, rejected)),
            Err(_) => assert_eq!((adverts(&survey), survey.rejected()), (before, rejected + 1)),
        }
    }
    assert!(survey.heard().count() <= MAX_HEARD);
    for h in survey.heard() {
        assert!(!h.vips.is_empty());
        assert!(h.vips.iter().all(|v| Family::of(*v) == h.family), "{h:?}");
        assert_eq!(Family::of(h.source), h.family);
        assert!(h.version == Version::V3 || h.family == Family::Ipv4);
        assert!(h.first_heard <= h.last_heard && h.adverts > 0);
    }
    let json = serde_json::to_string(&survey).expect("a survey serializes");
    let back: Survey = serde_json::from_str(&json).expect("and reads back");
    // Times are kept to the millisecond in JSON; the inputs' are whole milliseconds.
    assert_eq!(back, survey);
}
