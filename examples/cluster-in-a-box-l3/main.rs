//! The cluster in a box in L3 mode, as root:
//!
//! ```sh
//! cargo run --release --example cluster-in-a-box-l3
//! ```
//!
//! Three control-plane nodes in two subnets and two workers in a third, behind a router
//! namespace running FRR (zebra, bgpd, bfdd) as the top of rack; a client in a fourth subnet.
//! Every node runs HAProxy and `bmnet bgp run`, announcing the API VIP (masters, while HAProxy
//! answers) or the ingress VIP (workers, while the router stand-in is healthy) over eBGP with
//! BFD 100 ms x 3; the router installs them as ECMP routes. Then it kills an API server,
//! HAProxy and a whole node, checks that each VIP's paths are the healthy nodes and what the
//! client sees, stops every `bmnet bgp run` with SIGTERM, and writes the timeline as JSON and
//! as an SVG chart. VRRP cannot do this topology at all: the nodes share no segment.
//!
//! Options: `--out DIR` (where `timeline.json` and `failover.svg` go; default
//! `target/cluster-in-a-box-l3`), `--keep` (keep the scratch directory), `--bmnet PATH` (the
//! binary; by default the one next to this example, built first when run through cargo).
//! Ctrl-C cleans up.

// Runs processes, writes files and reads the clock: it is an example of running things.
#![allow(clippy::disallowed_methods)]

#[path = "../cluster-in-a-box/box.rs"]
mod cib;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cluster-in-a-box-l3 [--out DIR] [--keep] [--bmnet PATH] (as root)";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut out, mut keep, mut bmnet): (Option<PathBuf>, bool, Option<PathBuf>) = (None, false, None);
    while let Some(a) = args.next() {
        let mut path = |what: &str| args.next().map(PathBuf::from).ok_or(format!("{a} takes {what}"));
        let parsed = match a.as_str() {
            "--out" => path("a directory").map(|p| out = Some(p)),
            "--bmnet" => path("a path").map(|p| bmnet = Some(p)),
            "--keep" => {
                keep = true;
                Ok(())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(e) = parsed {
            eprintln!("cluster-in-a-box-l3: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    let bmnet = match bmnet.map_or_else(cib::default_bmnet, Ok) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cluster-in-a-box-l3: {e}");
            return ExitCode::from(2);
        }
    };
    let out = out.unwrap_or_else(|| {
        bmnet.parent().and_then(|p| p.parent()).map_or_else(|| PathBuf::from("."), |t| t.join("cluster-in-a-box-l3"))
    });
    let opts = cib::Options { keep_dir: keep, ..cib::Options::new(bmnet) };
    cib::run_example("cluster-in-a-box-l3", opts, &out, cib::l3::run, &cib::l3::summary)
}
