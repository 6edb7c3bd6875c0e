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
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn usage(msg: &str) -> ExitCode {
    eprintln!(
        "cluster-in-a-box: {msg}\nusage: cluster-in-a-box [--advert SECONDS] [--out DIR] [--keep] [--keepalived] [--bmnet PATH]"
    );
    ExitCode::from(2)
}

/// The `bmnet` binary next to this example (`target/<profile>/bmnet`), built first when cargo
/// runs the example (cargo builds no binaries for examples by itself).
fn default_bmnet() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe.parent().and_then(|p| p.parent()).ok_or("the example is not under target/<profile>")?;
    let bmnet = profile_dir.join("bmnet");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let target = profile_dir.parent().ok_or("no target directory")?;
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--bin", "bmnet"]).env("CARGO_TARGET_DIR", target);
        if profile_dir.file_name().is_some_and(|f| f == "release") {
            cmd.arg("--release");
        }
        if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            cmd.current_dir(dir);
        }
        let status = cmd.status().map_err(|e| format!("cargo build --bin bmnet: {e}"))?;
        if !status.success() {
            return Err("cargo build --bin bmnet failed".into());
        }
    }
    Ok(bmnet)
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
    let bmnet = match bmnet.map_or_else(default_bmnet, Ok) {
        Ok(b) => b,
        Err(e) => return usage(&e),
    };
    let out = out.unwrap_or_else(|| {
        bmnet.parent().and_then(|p| p.parent()).map_or_else(|| PathBuf::from("."), |t| t.join("cluster-in-a-box"))
    });
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&stop)) {
            eprintln!("cluster-in-a-box: cannot handle signal {sig}: {e}");
            return ExitCode::from(2);
        }
    }
    let opts = cib::Options { advert, stop, keep_dir: keep, keepalived, ..cib::Options::new(bmnet) };
    let (report, timeline) = match cib::run(opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cluster-in-a-box: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = serde_json::to_string_pretty(&timeline).unwrap_or_default();
    let svg = cib::render_svg(&timeline);
    let written = std::fs::create_dir_all(&out)
        .and_then(|()| std::fs::write(out.join("timeline.json"), json))
        .and_then(|()| std::fs::write(out.join("failover.svg"), svg));
    if let Err(e) = written {
        eprintln!("cluster-in-a-box: writing {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    println!("\nsummary");
    println!("  API VIP elected on {} in {:.2} s", report.api_holder, report.converge_ms as f64 / 1000.0);
    for line in cib::summary(&report) {
        println!("  {line}");
    }
    println!("  timeline: {} and {}", out.join("timeline.json").display(), out.join("failover.svg").display());
    ExitCode::SUCCESS
}
