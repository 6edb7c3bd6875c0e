//! bm-nmconn: checking 10,000 keyfiles, reported as figures that hold on any machine (issue
//! #20): ratios measured in one run, and instructions per keyfile, which do not depend on load.
//!
//! The files are the shapes a bare-metal fleet has: static ethernet, DHCP ethernet, bonds,
//! bond ports, VLANs, bridges, some with a mistake people make (the first line printed counts
//! the files with errors). They are written to a temporary directory and read back, as
//! `bmnet nmconn check DIR` does; the timed part is the CPU work on the bytes in memory,
//! dropping the reports included (each file's as it is checked on one core, the directory's
//! at the end).
//!
//! Criterion times each row on its own. The summary then measures the figures the README
//! quotes, in one run: rounds that time every row once each, so that load coming and going
//! touches every row alike, the best of each row kept:
//!
//! - `parse+check 1 core / rust-ini parse 1 core`: `check_text` over every file against
//!   `ini::Ini::load_from_str` over the same files (throughput ratio);
//! - `directory check 2 threads / parse+check 1 core`: `check_files` on 2 threads, what
//!   `bmnet nmconn check DIR` runs on a 2-core machine (bytes, paths, modes, the directory
//!   rules), against the one-core loop above. It needs two otherwise idle cores: the bench
//!   prints the load average before and after, and says so on a one-core machine. The helper
//!   thread is the one `check_files`'s pool made at its first call (criterion's warm-up, or the
//!   summary's first round), as in any process that checks more than once; `bmnet nmconn check
//!   DIR` checks once, and also pays for making it (about 0.2 ms here);
//! - `directory check 2 threads / directory check 1 thread`: how `check_files` itself scales
//!   (the directory's own work, the rules and the reports kept, is in both);
//! - instructions per keyfile: the bench runs itself under callgrind (`valgrind
//!   --tool=callgrind --collect-atstart=no --toggle-collect=*callgrind_counted*`) once per row,
//!   with the files made in memory, and divides valgrind's `Ir` (instructions executed, counted
//!   only inside the row's loop) by the number of files. Deterministic for a given build; under
//!   valgrind the CPU shows no AVX-512, so runtime-dispatched code (`memchr`) may take another
//!   path than natively. Without valgrind (`apt-get install valgrind`) these are skipped;
//! - MB/s of each row, for this machine only, beside `nproc` and the CPU model.
//!
//! Run: `cargo bench --bench nmconn_check` (the summary is the two lines
//! starting `nmconn_check summary` and `nmconn_check machine`).

#![allow(clippy::disallowed_methods)] // Writes and reads the generated directory, times rows.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::process::Command;
use std::time::{Duration, Instant};

use bm_nmconn::Document;
use bm_nmconn::check::{CheckOptions, FileInput, check_files, check_text};
use criterion::{Criterion, Throughput};

/// The environment variable that makes the bench a callgrind child counting one row.
const COUNT_ROW: &str = "BMNET_NMCONN_COUNT_ROW";

/// Number of files.
const FILES: usize = 10_000;

fn keyfile(i: usize) -> String {
    let uuid = format!("0b3a5b6e-2a4f-4c9b-9b0e-{i:012x}");
    let host = i % 250 + 2;
    let net = i / 250 % 250;
    let mut s = match i % 6 {
        0 => format!(
            "[connection]\nid=eno{i}\nuuid={uuid}\ntype=ethernet\ninterface-name=eno{}\nautoconnect-priority=10\n\n[ethernet]\nmtu=9000\nmac-address=52:54:00:{:02X}:{:02X}:{:02X}\n\n[ipv4]\naddress1=10.{net}.0.{host}/24,10.{net}.0.1\ndns=10.{net}.0.53;10.{net}.1.53;\ndns-search=cluster.example.com;example.com;\nmethod=manual\nroute1=172.16.0.0/12,10.{net}.0.254,100\nroute1_options=table=100\n\n[ipv6]\naddr-gen-mode=default\naddress1=fd00:{net:x}::{host:x}/64,fd00:{net:x}::1\nmethod=manual\n\n[proxy]\n",
            i % 16,
            i >> 16 & 0xff,
            i >> 8 & 0xff,
            i & 0xff
        ),
        1 => format!(
            "[connection]\nid=dhcp{i}\nuuid={uuid}\ntype=ethernet\ninterface-name=eth{}\n\n[ethernet]\n\n[ipv4]\nmethod=auto\nmay-fail=false\n\n[ipv6]\naddr-gen-mode=stable-privacy\nmethod=auto\n\n[proxy]\n",
            i % 16
        ),
        2 => format!(
            "[connection]\nid=bond{i}\nuuid={uuid}\ntype=bond\ninterface-name=bond{}\n\n[ethernet]\nmtu=9000\n\n[bond]\nlacp_rate=fast\nmiimon=100\nmode=802.3ad\nxmit_hash_policy=layer3+4\n\n[ipv4]\naddress1=192.168.{net}.{host}/24,192.168.{net}.1\nmethod=manual\n\n[ipv6]\naddr-gen-mode=default\nmethod=disabled\n\n[proxy]\n",
            i % 8
        ),
        3 => format!(
            "[connection]\nid=bond-port{i}\nuuid={uuid}\ntype=ethernet\ninterface-name=ens{}f{}\nmaster=bond{}\nslave-type=bond\n\n[ethernet]\nmtu=9000\n\n[bond-port]\n",
            i % 4,
            i % 2,
            i % 8
        ),
        4 => format!(
            "[connection]\nid=vlan{i}\nuuid={uuid}\ntype=vlan\ninterface-name=bond0.{}\n\n[ethernet]\n\n[vlan]\nflags=1\nid={}\nparent=bond0\n\n[ipv4]\naddress1=10.200.{net}.{host}/24\nmethod=manual\nnever-default=true\n\n[ipv6]\naddr-gen-mode=default\nmethod=ignore\n\n[proxy]\n",
            i % 4000 + 2,
            i % 4000 + 2
        ),
        _ => format!(
            "[connection]\nid=br{i}\nuuid={uuid}\ntype=bridge\ninterface-name=br-ex{}\nautoconnect-slaves=1\n\n[ethernet]\n\n[bridge]\nforward-delay=15\nstp=false\n\n[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n",
            i % 4
        ),
    };
    // One in ten with a mistake people make.
    match i % 50 {
        7 => s = s.replace("mtu=9000", "mtu=09000"),
        17 => s = s.replace("/24,", "\\24,"),
        27 => s = s.replace("dns=10.", "dns=10.0.0.1,10."),
        37 => s = s.replace("mode=802.3ad", "mode=lacp"),
        47 => s = s.replace("method=auto", "method=dhcp"),
        _ => {}
    }
    s
}

/// The files as `bmnet nmconn check DIR` gets them: path, bytes, mode 0600, owned by root.
fn inputs<'a>(paths: &'a [String], files: &'a [String]) -> Vec<FileInput<'a>> {
    paths
        .iter()
        .zip(files)
        .map(|(path, text)| FileInput { path, bytes: text.as_bytes(), mode: Some(0o600), uid: Some(0) })
        .collect()
}

/// The rows: what each does with every file once. Returns something from each result, so that
/// nothing is optimised away.
fn row(name: &str, files: &[String], inputs: &[FileInput<'_>], options: &CheckOptions, threads: usize) -> usize {
    match name {
        "parse+check" => files.iter().map(|f| check_text(black_box(f), options).diagnostics.len()).sum(),
        "directory check" => {
            let threads = NonZeroUsize::new(threads).unwrap_or(NonZeroUsize::MIN);
            let report = check_files(black_box(inputs), options, threads);
            report.files.iter().map(|r| r.diagnostics.len()).sum::<usize>() + report.set.len()
        }
        "bmnet parse" => {
            files.iter().map(|f| Document::parse(black_box(f)).map(|d| d.groups().len()).unwrap_or(0)).sum()
        }
        "rust-ini parse" => {
            files.iter().map(|f| ini::Ini::load_from_str(black_box(f)).map(|i| i.len()).unwrap_or(0)).sum()
        }
        _ => unreachable!("row {name}"),
    }
}

/// The region callgrind counts (`--toggle-collect`): one row over every file, on this thread.
#[inline(never)]
fn callgrind_counted(name: &str, files: &[String], inputs: &[FileInput<'_>], options: &CheckOptions) -> usize {
    row(name, files, inputs, options, 1)
}

/// Rows counted by callgrind, and how the summary names them.
const COUNTED: [(&str, &str); 4] = [
    ("parse+check", "parse+check"),
    ("directory check", "directory check (1 thread)"),
    ("bmnet parse", "bmnet parse"),
    ("rust-ini parse", "rust-ini parse"),
];

/// Instructions per file of a row, counted by callgrind running this bench again as a child;
/// `None` (and why, on stderr) when valgrind cannot.
fn instructions_per_file(name: &str) -> Option<f64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::env::temp_dir().join(format!("bmnet-nmconn-callgrind-{}.out", std::process::id()));
    let run = Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no", "--toggle-collect=*callgrind_counted*"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .env(COUNT_ROW, name)
        .output();
    let run = match run {
        Ok(run) => run,
        Err(e) => {
            eprintln!("instructions: cannot run valgrind ({e}); apt-get install valgrind");
            return None;
        }
    };
    let counted = std::fs::read_to_string(&out).ok();
    let _ = std::fs::remove_file(&out);
    if !run.status.success() {
        eprintln!("instructions: valgrind failed: {}", String::from_utf8_lossy(&run.stderr));
        return None;
    }
    // `totals: N` (or `summary: N` from older versions): the Ir collected, inside the region.
    let total: u64 = counted?
        .lines()
        .find_map(|l| l.strip_prefix("totals:").or_else(|| l.strip_prefix("summary:")))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(total as f64 / FILES as f64)
}

/// The callgrind child: the files made in memory, one row counted.
fn count_row(name: &str) {
    let files: Vec<String> = (0..FILES).map(keyfile).collect();
    let paths: Vec<String> = (0..FILES).map(|i| format!("/tmp/d/p{i:05}.nmconnection")).collect();
    let inputs = inputs(&paths, &files);
    black_box(callgrind_counted(name, &files, &inputs, &CheckOptions::default()));
}

/// `nproc`, the CPU model and the 1-minute load average, for the absolute figures.
fn machine() -> (usize, String) {
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    (nproc, model)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(String::from))
        .unwrap_or_default()
}

fn main() {
    if let Ok(name) = std::env::var(COUNT_ROW) {
        count_row(&name);
        return;
    }
    let dir = std::env::temp_dir().join(format!("bmnet-bench-nmconn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..FILES {
        std::fs::write(dir.join(format!("p{i:05}.nmconnection")), keyfile(i)).unwrap();
    }
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let files: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let inputs = inputs(&paths, &files);
    let bytes: usize = files.iter().map(String::len).sum();
    let options = CheckOptions::default();
    let errors: usize = files.iter().filter(|f| check_text(f, &options).has_errors()).count();
    println!("{} files, {:.2} MB, {errors} with errors", files.len(), bytes as f64 / 1e6);

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("nmconn_10k_files");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(20);
    for (id, name, threads) in [
        ("bmnet_parse_and_check", "parse+check", 1),
        ("bmnet_check_files_2_threads", "directory check", 2),
        ("bmnet_parse", "bmnet parse", 1),
        ("rust_ini_parse", "rust-ini parse", 1),
    ] {
        g.bench_function(id, |b| b.iter(|| row(name, &files, &inputs, &options, threads)));
    }
    g.finish();
    // The summary is for `cargo bench`: not for `--profile-time` (a profiler's run), `--list`,
    // or the single pass `cargo test --benches` makes.
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args.iter().any(|a| a.starts_with("--profile-time") || a == "--list" || a == "--test");
    if !measuring {
        c.final_summary();
        return;
    }

    // The summary's timings: every row once per round, the best of each kept.
    let load_before = load_average();
    const ROUNDS: usize = 30;
    let timed =
        [("parse+check", 1), ("directory check", 2), ("directory check", 1), ("bmnet parse", 1), ("rust-ini parse", 1)];
    let mut best = [Duration::MAX; 5];
    for _ in 0..ROUNDS {
        for (k, (name, threads)) in timed.iter().enumerate() {
            let t = Instant::now();
            black_box(row(name, &files, &inputs, &options, *threads));
            best[k] = best[k].min(t.elapsed());
        }
    }
    let load_after = load_average();
    let [check, directory, directory_1, parse, rust_ini] = best.map(|d| d.as_secs_f64());
    let instructions: Vec<String> = COUNTED
        .iter()
        .filter_map(|(name, label)| instructions_per_file(name).map(|n| format!("{label} {:.1}k", n / 1e3)))
        .collect();
    let instructions =
        if instructions.is_empty() { "not counted (no valgrind)".to_string() } else { instructions.join(", ") };
    let (nproc, model) = machine();
    println!(
        "nmconn_check summary ({} files, best of {ROUNDS} interleaved rounds): \
         parse+check 1 core / rust-ini parse 1 core = {:.2}x; \
         directory check 2 threads / parse+check 1 core = {:.2}x{}; \
         directory check 2 threads / directory check 1 thread = {:.2}x; \
         instructions per keyfile (callgrind Ir): {instructions}",
        files.len(),
        rust_ini / check,
        check / directory,
        if nproc < 2 { " (this machine has one core: the 2 threads share it)" } else { "" },
        directory_1 / directory,
    );
    let mbs = |s: f64| bytes as f64 / s / 1e6;
    println!(
        "nmconn_check machine (nproc {nproc}, {model}; load average {load_before} before, {load_after} after): \
         parse+check 1 core {:.0} MB/s, directory check 2 threads {:.0} MB/s, 1 thread {:.0} MB/s, \
         bmnet parse {:.0} MB/s, rust-ini parse {:.0} MB/s",
        mbs(check),
        mbs(directory),
        mbs(directory_1),
        mbs(parse),
        mbs(rust_ini),
    );
    c.final_summary();
}
