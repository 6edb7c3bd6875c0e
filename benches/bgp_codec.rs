//! bm-bgp codec throughput (issue 18): a VIP's UPDATE encoded and decoded, for IPv4 (one /32
//! with ORIGIN, AS_PATH, NEXT_HOP, MED and two communities, as `Session` sends it on eBGP) and
//! IPv6 (one /128 in MP_REACH_NLRI with a global and a link-local next hop, and the same
//! attributes); and whole messages framed out of a TCP byte stream by `Framer` (a mix of
//! KEEPALIVEs and both UPDATEs, pushed in 1448-byte segments), alone and with each message
//! decoded.
//!
//! There is no Rust BGP implementation to compare with here, so the peer measured in the same
//! run is the floor any owned decoder pays: copying the same bytes (`to_vec`, an allocation
//! and a memcpy, per message; for encoding, a memcpy into a reused buffer). After criterion's
//! table each case prints its rate and its ratio to that copy, from interleaved rounds (median
//! of 15) so that both see the same machine.
//!
//! Run: `cargo bench --bench bgp_codec` (`-- --quick` for a short run).

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bm_bgp::Framer;
use bm_bgp::message::{
    AsPath, Community, Message, MpReach, NextHop, Origin, PathAttribute, Prefixes, Update, decode, encode,
};
use criterion::{Criterion, Throughput};

fn vip_v4() -> Message {
    Message::Update(Update {
        withdrawn: Vec::new(),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::sequence(vec![64512])),
            PathAttribute::NextHop(Ipv4Addr::new(10, 0, 0, 2)),
            PathAttribute::MultiExitDisc(100),
            PathAttribute::Communities(vec![Community::new(64512, 10), Community::NO_EXPORT]),
        ],
        nlri: vec!["192.0.2.10/32".parse().unwrap()],
    })
}

fn vip_v6() -> Message {
    Message::Update(Update {
        withdrawn: Vec::new(),
        attributes: vec![
            PathAttribute::MpReach(MpReach {
                next_hop: NextHop::Ipv6 {
                    global: "2001:db8::2".parse().unwrap(),
                    link_local: Some("fe80::2".parse().unwrap()),
                },
                nlri: Prefixes::Ipv6(vec!["2001:db8::10/128".parse().unwrap()]),
            }),
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::sequence(vec![64512])),
            PathAttribute::MultiExitDisc(100),
            PathAttribute::Communities(vec![Community::new(64512, 10), Community::NO_EXPORT]),
        ],
        nlri: Vec::new(),
    })
}

fn bytes_of(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(m, &mut out).unwrap();
    out
}

/// Messages in the stream.
const STREAM_MESSAGES: usize = 1000;
/// A TCP segment's payload (Ethernet MTU 1500, IPv4 and TCP with timestamps).
const SEGMENT: usize = 1448;

/// Per ten messages: one KEEPALIVE, five IPv4 UPDATEs, four IPv6 UPDATEs.
fn stream(v4: &[u8], v6: &[u8], keepalive: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut lens = Vec::new();
    for i in 0..STREAM_MESSAGES {
        let m = match i % 10 {
            0 => keepalive,
            1..=5 => v4,
            _ => v6,
        };
        out.extend_from_slice(m);
        lens.push(m.len());
    }
    (out, lens)
}

/// Frames `stream` pushed in segments; with `decode_each`, decodes every message too.
fn frame(stream: &[u8], decode_each: bool) -> usize {
    let mut f = Framer::new();
    let mut n = 0;
    for segment in stream.chunks(SEGMENT) {
        f.push(segment);
        while let Some(m) = f.next_message() {
            let m = m.unwrap();
            if decode_each {
                black_box(decode(&m).unwrap());
            }
            black_box(m);
            n += 1;
        }
    }
    n
}

/// The floor: the same messages copied out of the same segments' bytes, one `to_vec` each.
fn copy_messages(stream: &[u8], lens: &[usize]) -> usize {
    let mut at = 0;
    for &len in lens {
        black_box(stream[at..at + len].to_vec());
        at += len;
    }
    lens.len()
}

/// Times `f` and `base` interleaved in 15 rounds of `n` calls; the median ratio of the rounds
/// and the median time per call of `f`.
#[allow(clippy::disallowed_methods)] // A bench reads the clock.
fn ratio(n: u32, mut f: impl FnMut(), mut base: impl FnMut()) -> (f64, Duration) {
    let mut ratios = Vec::new();
    let mut times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..n {
            base();
        }
        let b = t.elapsed();
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        let ours = t.elapsed();
        ratios.push(ours.as_secs_f64() / b.as_secs_f64());
        times.push(ours / n);
    }
    ratios.sort_by(f64::total_cmp);
    times.sort();
    (ratios[7], times[7])
}

fn per_second(per_call: Duration, items: usize) -> f64 {
    items as f64 / per_call.as_secs_f64() / 1e6
}

fn main() {
    let (m4, m6) = (vip_v4(), vip_v6());
    let (b4, b6, keepalive) = (bytes_of(&m4), bytes_of(&m6), bytes_of(&Message::Keepalive));
    let (stream, lens) = stream(&b4, &b6, &keepalive);

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("bgp_codec");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    let mut out = Vec::with_capacity(4096);
    for (name, m, b) in [("v4", &m4, &b4), ("v6", &m6, &b6)] {
        g.bench_function(format!("encode_vip_{name}"), |bench| {
            bench.iter(|| {
                out.clear();
                encode(black_box(m), &mut out).unwrap();
            })
        });
        g.bench_function(format!("decode_vip_{name}"), |bench| bench.iter(|| decode(black_box(b)).unwrap()));
        g.bench_function(format!("copy_vip_{name}"), |bench| bench.iter(|| black_box(b).to_vec()));
    }
    g.finish();
    let mut g = c.benchmark_group("bgp_framer");
    g.throughput(Throughput::Elements(STREAM_MESSAGES as u64));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("frame_1000", |bench| bench.iter(|| frame(black_box(&stream), false)));
    g.bench_function("frame_and_decode_1000", |bench| bench.iter(|| frame(black_box(&stream), true)));
    g.bench_function("copy_1000", |bench| bench.iter(|| copy_messages(black_box(&stream), &lens)));
    g.finish();
    c.final_summary();

    println!();
    println!(
        "bgp_codec: rates, and ratios to copying the same bytes in the same run (median of 15 interleaved rounds)"
    );
    for (name, m, b) in [("IPv4 /32", &m4, &b4), ("IPv6 /128", &m6, &b6)] {
        let mut out = Vec::with_capacity(4096);
        let mut copy = Vec::with_capacity(4096);
        let (r, t) = ratio(
            200_000,
            || {
                out.clear();
                encode(black_box(m), &mut out).unwrap();
            },
            || {
                copy.clear();
                copy.extend_from_slice(black_box(b));
            },
        );
        println!(
            "  encode VIP UPDATE {name} ({} B): {:.2} M/s ({:.0} ns), {r:.1}x a memcpy of its bytes into a reused buffer",
            b.len(),
            per_second(t, 1),
            t.as_nanos()
        );
        let (r, t) = ratio(
            200_000,
            || {
                black_box(decode(black_box(b)).unwrap());
            },
            || {
                black_box(black_box(b).to_vec());
            },
        );
        println!(
            "  decode VIP UPDATE {name} ({} B): {:.2} M/s ({:.0} ns), {r:.1}x a to_vec of its bytes",
            b.len(),
            per_second(t, 1),
            t.as_nanos()
        );
    }
    for (what, decode_each) in [("framed", false), ("framed and decoded", true)] {
        let (r, t) = ratio(
            200,
            || {
                black_box(frame(black_box(&stream), decode_each));
            },
            || {
                black_box(copy_messages(black_box(&stream), &lens));
            },
        );
        println!(
            "  {what}: {:.2} M messages/s ({} messages, {} B, in {SEGMENT}-byte segments), {r:.1}x a to_vec of each message",
            per_second(t, STREAM_MESSAGES),
            STREAM_MESSAGES,
            stream.len()
        );
    }
}
