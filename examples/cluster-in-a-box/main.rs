//! A whole bare-metal cluster's networking on one machine, as root:
//!
//! ```sh
//! cargo run --release --example cluster-in-a-box
//! ```
//!
//! Three control-plane nodes and two workers in network namespaces (two veth NICs each, on a
//! bridge in a namespace of its own): keyfiles from NNCP-style states (`bmnet nmconn render`,
//! `bmnet nmconn check`), the node IP (`bmnet node-ip set`), cluster DNS (`bmnet dns serve`,
//! `bmnet dns resolv-conf`), HAProxy in front of stand-in API servers and `bmnet vrrp run`
//! with OpenShift's keepalived.conf, and `bmnet inspect` inside the VIP holder. Then it kills a
//! backend, HAProxy and a whole node, checks where the VIP goes and what a client sees, and
//! writes the timeline as JSON and as an SVG chart.
//!
//! Options: `--advert SECONDS` (VRRP advert interval, default 0.1), `--out DIR` (where
//! `timeline.json` and `failover.svg` go; default `target/cluster-in-a-box`), `--keep` (keep
//! the scratch directory), `--keepalived` (run keepalived 2.2.7 on the same keepalived.conf
//! instead of `bmnet vrrp run`, to compare), `--bmnet PATH` (the binary; by default the one
//! next to this example, built first when run through cargo). Ctrl-C cleans up.

// Runs processes, writes files and reads the clock: it is an example of running things.
#![allow(clippy::disallowed_methods)]

#[path = "box.rs"]
mod cib;

use std::path::PathBuf;
use std::process::ExitCode;

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "cluster-in-a-box: {msg}\nusage: cluster-in-a-box [--advert SECONDS] [--out DIR] [--keep] [--keepalived] [--bmnet PATH]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut advert = 0.1;
    let mut out: Option<PathBuf> = None;
    let mut keep = false;
    let mut keepalived = false;
    let mut bmnet: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--advert" => match args.next().and_then(|v| v.parse::<f64>().ok()) {
                Some(v) if (0.01..=40.95).contains(&v) => advert = v,
                _ => return usage("--advert takes seconds, 0.01 to 40.95"),
            },
            "--out" => match args.next() {
                Some(v) => out = Some(v.into()),
                None => return usage("--out takes a directory"),
            },
            "--bmnet" => match args.next() {
                Some(v) => bmnet = Some(v.into()),
                None => return usage("--bmnet takes a path"),
            },
            "--keep" => keep = true,
            "--keepalived" => keepalived = true,
            "-h" | "--help" => {
                println!(
                    "usage: cluster-in-a-box [--advert SECONDS] [--out DIR] [--keep] [--keepalived] [--bmnet PATH] (as root)"
                );
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let bmnet = match bmnet.map_or_else(cib::default_bmnet, Ok) {
        Ok(b) => b,
        Err(e) => return usage(&e),
    };
    let out = out.unwrap_or_else(|| {
        bmnet.parent().and_then(|p| p.parent()).map_or_else(|| PathBuf::from("."), |t| t.join("cluster-in-a-box"))
    });
    let opts = cib::Options { advert, keep_dir: keep, keepalived, ..cib::Options::new(bmnet) };
    cib::run_example("cluster-in-a-box", opts, &out, cib::run, &|r: &cib::Report| {
        let elected = format!("API VIP elected on {} in {:.2} s", r.api_holder, r.converge_ms as f64 / 1000.0);
        std::iter::once(elected).chain(cib::summary(r)).collect()
    })
}
