//! bm-nmconn: parse + validate throughput over a directory of 10,000 keyfiles (issue target:
//! over 200 MB/s and faster than `rust-ini` parsing the same files, in the same run).
//!
//! The files are the shapes a bare-metal fleet has: static ethernet, DHCP ethernet, bonds,
//! bond ports, VLANs, bridges — one in ten with a mistake. They are written to a temporary
//! directory and read back, as `bmnet nmconn check DIR` does; the timed part is the CPU work
//! on the bytes in memory. Prints MB/s for each and the ratio.
//!
//! Run: `cargo bench --bench nmconn_check`.

#![allow(clippy::disallowed_methods)] // Writes and reads the generated directory.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bm_nmconn::Document;
use bm_nmconn::check::{CheckOptions, FileFacts, check_set, check_text};
use criterion::{Criterion, Throughput};

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

/// What `bmnet nmconn check DIR` does with the files once read: each checked on one of the
/// cores (a chunk per core), then the directory rules over the set.
fn check_directory(files: &[String], options: &CheckOptions) -> usize {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = files.len().div_ceil(threads).max(1);
    let facts: Vec<FileFacts> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|f| FileFacts { profile: check_text(f, options).profile, ..FileFacts::default() })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    check_set(&facts).len()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("bmnet-bench-nmconn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..10_000 {
        std::fs::write(dir.join(format!("p{i:05}.nmconnection")), keyfile(i)).unwrap();
    }
    let mut paths: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    paths.sort();
    let files: Vec<String> = paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    std::fs::remove_dir_all(&dir).unwrap();
    let bytes: usize = files.iter().map(String::len).sum();
    let options = CheckOptions::default();
    let errors: usize = files.iter().filter(|f| check_text(f, &options).has_errors()).count();
    println!("{} files, {:.2} MB, {errors} with errors", files.len(), bytes as f64 / 1e6);

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("nmconn_10k_files");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.measurement_time(Duration::from_secs(5));
    g.sample_size(20);
    g.bench_function("bmnet_parse_and_check", |b| {
        b.iter(|| files.iter().map(|f| check_text(black_box(f), &options).diagnostics.len()).sum::<usize>())
    });
    g.bench_function("bmnet_directory_all_cores", |b| b.iter(|| check_directory(black_box(&files), &options)));
    g.bench_function("bmnet_parse", |b| {
        b.iter(|| {
            files.iter().map(|f| Document::parse(black_box(f)).map(|d| d.groups().len()).unwrap_or(0)).sum::<usize>()
        })
    });
    g.bench_function("rust_ini_parse", |b| {
        b.iter(|| {
            files.iter().map(|f| ini::Ini::load_from_str(black_box(f)).map(|i| i.len()).unwrap_or(0)).sum::<usize>()
        })
    });
    g.finish();

    // The ratio, measured here with the same clock (criterion prints each on its own).
    let time = |f: &dyn Fn() -> usize| {
        let mut best = Duration::MAX;
        for _ in 0..10 {
            let t = Instant::now();
            black_box(f());
            best = best.min(t.elapsed());
        }
        best
    };
    let ours = time(&|| files.iter().map(|f| check_text(f, &options).diagnostics.len()).sum());
    let dir = time(&|| check_directory(&files, &options));
    let parse = time(&|| files.iter().map(|f| Document::parse(f).map(|d| d.groups().len()).unwrap_or(0)).sum());
    let theirs = time(&|| files.iter().map(|f| ini::Ini::load_from_str(f).map(|i| i.len()).unwrap_or(0)).sum());
    let mbs = |d: Duration| bytes as f64 / d.as_secs_f64() / 1e6;
    println!(
        "best of 10: bmnet parse+check {:.0} MB/s on one core, {:.0} MB/s as a directory on {} cores; \
         bmnet parse {:.0} MB/s; rust-ini parse {:.0} MB/s (one core); parse+check on one core is {:.2}x rust-ini's parse",
        mbs(ours),
        mbs(dir),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        mbs(parse),
        mbs(theirs),
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    c.final_summary();
}
