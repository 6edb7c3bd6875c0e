//! bm-addr benchmarks: classification of 1M mixed addresses, and strict parsing of 1M strings
//! against `std`'s `IpAddr::from_str` in the same run. Targets (issue #2): classification under
//! 10 ns per address; strict parsing no slower than 1.2× std.
//!
//! Run: `cargo bench --bench addr`. The ratios are printed at the end.

// Reads criterion's results to print ratios.
#![allow(clippy::disallowed_methods)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use bm_addr::{classify, parse_addr};
use criterion::{Criterion, Throughput};

const N: usize = 1_000_000;

/// A mix like a real host list: a third random IPv4, a fifth random IPv6, and the rest drawn
/// from special blocks (private, loopback, link-local, ULA, mapped, multicast, documentation).
fn mixed(n: usize) -> Vec<IpAddr> {
    let mut rng = bm_testkit::Rng::new(0x5eed);
    let rows = bm_addr::registry::rows();
    (0..n)
        .map(|i| {
            let r = rng.next_u64();
            match i % 15 {
                0..=4 => IpAddr::V4(Ipv4Addr::from_bits(r as u32)),
                5..=7 => IpAddr::V6(Ipv6Addr::from_bits(u128::from(r) << 64 | u128::from(rng.next_u64()))),
                8 => IpAddr::V6(Ipv4Addr::from_bits(r as u32).to_ipv6_mapped()),
                _ => {
                    // A random address inside a random special block.
                    let row = &rows[(r % rows.len() as u64) as usize];
                    let host = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
                    match row.block {
                        ipnet::IpNet::V4(n) => {
                            let mask = u32::from(n.hostmask());
                            IpAddr::V4(Ipv4Addr::from_bits(u32::from(n.network()) | (host as u32 & mask)))
                        }
                        ipnet::IpNet::V6(n) => {
                            let mask = u128::from(n.hostmask());
                            IpAddr::V6(Ipv6Addr::from_bits(u128::from(n.network()) | (host & mask)))
                        }
                    }
                }
            }
        })
        .collect()
}

fn bench_classify(c: &mut Criterion, addrs: &[IpAddr]) {
    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("bm_addr_1m_mixed", |b| {
        b.iter(|| {
            // Fold several fields so that the whole classification is computed, as a caller
            // that reads it would.
            let mut acc = 0usize;
            for &a in addrs {
                let c = classify(a);
                acc += usize::from(c.is_global)
                    + usize::from(c.is_private)
                    + c.scope as usize
                    + usize::from(c.registry.is_some())
                    + c.kind as usize
                    + c.family as usize;
            }
            black_box(acc)
        })
    });
    g.finish();
}

fn bench_parse(c: &mut Criterion, addrs: &[IpAddr]) {
    let texts: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let mut g = c.benchmark_group("parse");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("bm_addr_strict_1m", |b| {
        b.iter(|| texts.iter().filter(|t| parse_addr(black_box(t)).is_ok()).count())
    });
    g.bench_function("std_from_str_1m", |b| {
        b.iter(|| texts.iter().filter(|t| black_box(t).parse::<IpAddr>().is_ok()).count())
    });
    g.finish();
}

/// Reads criterion's point estimate (mean, ns per iteration) for one benchmark.
fn estimate(group: &str, name: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
    let path = target.join("criterion").join(group).join(name).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn main() {
    let addrs = mixed(N);
    let mut c = Criterion::default().configure_from_args();
    bench_classify(&mut c, &addrs);
    bench_parse(&mut c, &addrs);
    c.final_summary();

    if let Some(t) = estimate("classify", "bm_addr_1m_mixed") {
        println!("classify: {:.2} ns/address (target < 10)", t / N as f64);
    }
    if let (Some(ours), Some(std)) = (estimate("parse", "bm_addr_strict_1m"), estimate("parse", "std_from_str_1m")) {
        println!(
            "parse: bm-addr strict {:.2} ns/string, std {:.2} ns/string, ratio {:.3}x (target <= 1.2x)",
            ours / N as f64,
            std / N as f64,
            ours / std
        );
    }
}
