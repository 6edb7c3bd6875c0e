//! Fuzzes the address probes' frame codec and state machine (`bm_preflight::probe`, what
//! `bmnet preflight` reads off the wire while it probes) with arbitrary frames.
//!
//! No input may panic; a frame that parses writes back to bytes that parse to the same frame;
//! a prober probing two addresses reports an answer only for one of them, never from its own
//! MAC, and its report counts it: in use for an owner's answer, contended for another host's
//! probe.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bm_preflight::probe::{Frame, MacAddr, ProbeConfig, Prober, Verdict};

/// One input.
pub fn run(data: &[u8]) {
    if let Ok(frame) = Frame::parse(data) {
        let bytes = frame.to_vec();
        assert_eq!(bytes.len(), frame.buffer_len());
        assert_eq!(Frame::parse(&bytes).as_ref(), Ok(&frame), "written back: {bytes:02x?}");
    }
    let ours = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
    let targets: [IpAddr; 2] = ["192.0.2.5".parse().unwrap(), "2001:db8::5".parse().unwrap()];
    let start = Instant::now();
    let mut prober = Prober::new(start, ours, targets, ProbeConfig::default()).expect("a valid prober");
    let mut now = start;
    while prober.poll_transmit(now).is_some() {}
    now += Duration::from_millis(100);
    match prober.handle_frame(now, data) {
        Verdict::Answer { target, mac, kind } => {
            assert!(targets.contains(&target));
            assert_ne!(mac, ours);
            let report = prober.reports().iter().find(|r| r.address == target).expect("a report per target");
            // An owner's answer makes it in use; another host's probe only contends.
            assert_eq!(report.in_use(), kind.is_owner());
            assert_eq!(report.contended(), !kind.is_owner());
        }
        _ => assert!(prober.reports().iter().all(|r| !r.in_use() && !r.contended())),
    }
}
