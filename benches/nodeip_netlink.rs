//! bm-nodeip netlink backend benchmark: a snapshot of a network namespace holding 1,000 veth
//! links (500 pairs), each with an IPv4 and an IPv6 address, plus a route per pair and family,
//! against `ip -j addr show` + `ip -j route show table all` run on the same namespace in the
//! same run. Target (issue): faster than `ip`.
//!
//! Run (as root, with iproute2): `cargo bench --bench nodeip_netlink`. The ratio is printed at
//! the end.
//!
//! How it runs: the process started by cargo creates the namespace `bmnet-bench-<pid>` (with
//! `ip -batch`), re-executes itself inside it under `ip netns exec` with `BMNET_BENCH_NETNS`
//! set, and deletes the namespace when that child exits (also if it fails). Without `--bench`
//! (`cargo test --benches`) the namespace holds 10 pairs and each benchmark runs once.

// A benchmark is I/O: it runs `ip`, spawns processes and reads criterion's result files.
#![allow(clippy::disallowed_methods)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use bm_nodeip::netlink;
use criterion::{Criterion, SamplingMode};

/// Set in the re-executed child: the namespace it runs in.
const NETNS_ENV: &str = "BMNET_BENCH_NETNS";
/// veth pairs in bench mode (two links each).
const PAIRS: usize = 500;
const GROUP: &str = "nodeip_netlink";

fn main() -> ExitCode {
    match std::env::var(NETNS_ENV) {
        Ok(netns) => {
            inside(&netns);
            ExitCode::SUCCESS
        }
        Err(_) => outside(),
    }
}

// --- The parent: namespace setup and teardown ----------------------------------------------

/// Deletes the namespace on drop, including when setup panics.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let out = match Command::new("ip").args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`ip` not found ({e}): this benchmark needs iproute2 (apt-get install -y iproute2)")
        }
        Err(e) => panic!("cannot run ip {args:?}: {e}"),
    };
    assert!(
        out.status.success(),
        "ip {args:?} failed ({}; creating namespaces needs root): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `ip -batch` script: per pair `i`, links `bnA<i>` and `bnB<i>`; link number `j` (0..2n)
/// is up with `10.<j/256>.<j%256>.1/24` and `fd00:0:0:<j>::1/64` of its own; per pair one IPv4
/// and one IPv6 route via the A end; and a default route of each family.
fn batch(pairs: usize) -> String {
    let mut s = String::new();
    for i in 0..pairs {
        let _ = writeln!(s, "link add bnA{i} type veth peer name bnB{i}");
    }
    for i in 0..pairs {
        for (end, j) in [("A", 2 * i), ("B", 2 * i + 1)] {
            let dev = format!("bn{end}{i}");
            let (hi, lo) = (j / 256, j % 256);
            let _ = writeln!(s, "link set {dev} up");
            let _ = writeln!(s, "addr add 10.{hi}.{lo}.1/24 dev {dev}");
            let _ = writeln!(s, "addr add fd00:0:0:{j:x}::1/64 dev {dev} nodad");
        }
        let (hi, lo) = (2 * i / 256, 2 * i % 256);
        let _ = writeln!(s, "route add 172.{}.{}.0/24 via 10.{hi}.{lo}.2 dev bnA{i}", 16 + i / 256, i % 256);
        let _ = writeln!(s, "route add fd01:0:0:{i:x}::/64 via fd00:0:0:{:x}::2 dev bnA{i}", 2 * i);
    }
    let _ = writeln!(s, "route add default via 10.0.0.254 dev bnA0");
    let _ = writeln!(s, "route add default via fd00::ff dev bnA0");
    s
}

fn outside() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let pairs = if args.iter().any(|a| a == "--bench") { PAIRS } else { 10 };
    let name = format!("bmnet-bench-{}", std::process::id());
    ip(&["netns", "add", &name]);
    let netns = Netns(name);
    // No duplicate address detection: nothing changes while it is measured.
    ip(&["netns", "exec", &netns.0, "sh", "-c", "echo 0 > /proc/sys/net/ipv6/conf/default/accept_dad"]);
    ip(&["-n", &netns.0, "link", "set", "lo", "up"]);

    let mut child = Command::new("ip")
        .args(["-n", &netns.0, "-batch", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("ip -batch (apt-get install -y iproute2)");
    child.stdin.take().unwrap().write_all(batch(pairs).as_bytes()).expect("writing the batch");
    assert!(child.wait().unwrap().success(), "ip -batch failed");

    let exe = std::env::current_exe().expect("current_exe");
    let status = Command::new("ip")
        .args(["netns", "exec", &netns.0])
        .arg(exe)
        .args(&args)
        .env(NETNS_ENV, &netns.0)
        .status()
        .expect("ip netns exec");
    drop(netns);
    if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

// --- The child, inside the namespace --------------------------------------------------------

fn run_ip(args: &[&str]) -> usize {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.len()
}

fn inside(netns: &str) {
    let s = netlink::snapshot().expect("netlink snapshot");
    println!("namespace {netns}: {} links, {} addresses, {} routes", s.links.len(), s.addresses.len(), s.routes.len());

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group(GROUP);
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(2));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("snapshot_1000_veth", |b| b.iter(|| black_box(netlink::snapshot().unwrap())));
    // Tens of milliseconds an iteration: flat sampling keeps 20 samples within the time.
    g.sampling_mode(SamplingMode::Flat);
    // The comparison of the issue: what a shell script would run.
    g.bench_function("ip_addr_route_1000_veth", |b| {
        b.iter(|| run_ip(&["-j", "addr", "show"]) + run_ip(&["-j", "route", "show", "table", "all"]))
    });
    // `ip route` lists IPv4 only; the snapshot has both families, so this is the like-for-like.
    g.bench_function("ip_addr_route46_1000_veth", |b| {
        b.iter(|| {
            run_ip(&["-j", "addr", "show"])
                + run_ip(&["-j", "-4", "route", "show", "table", "all"])
                + run_ip(&["-j", "-6", "route", "show", "table", "all"])
        })
    });
    g.finish();
    c.final_summary();

    if !std::env::args().any(|a| a == "--bench") {
        return; // Test mode: nothing was measured.
    }
    let ours = estimate("snapshot_1000_veth");
    for (name, what) in [
        ("ip_addr_route_1000_veth", "`ip -j addr show` + `ip -j route show table all`"),
        ("ip_addr_route46_1000_veth", "`ip -j addr show` + `ip -j -4/-6 route show table all`"),
    ] {
        if let (Some(ours), Some(theirs)) = (ours, estimate(name)) {
            println!(
                "netlink snapshot {:.2} ms vs {what} {:.2} ms: ratio {:.3}x, {:.1}x faster (target: faster than ip)",
                ours / 1e6,
                theirs / 1e6,
                ours / theirs,
                theirs / ours
            );
        }
    }
}

/// Reads criterion's point estimate (mean, ns per iteration) for one benchmark.
fn estimate(name: &str) -> Option<f64> {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| "target".into());
    let path = target.join("criterion").join(GROUP).join(name).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["mean"]["point_estimate"].as_f64()
}
