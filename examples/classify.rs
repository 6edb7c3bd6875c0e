//! Classify the addresses given on the command line with `bm-addr`, the way an installer
//! validating a user's `--node-ip` would: strict parsing, then family, kind and bind target.
//!
//! `cargo run --example classify -- ::ffff:192.168.0.14 fe80::1%eth0 010.1.1.1`

use bm_addr::{BindTarget, ParseOptions, ZonePolicy, classify, parse_addr_with};

fn main() -> std::process::ExitCode {
    let mut status = std::process::ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        match parse_addr_with(&arg, &ParseOptions::strict().zone(ZonePolicy::Allow)) {
            Ok(parsed) => {
                let c = classify(parsed.addr.addr);
                let bind = match BindTarget::new(parsed.addr, 6443) {
                    Ok(t) => format!("bind {:?} {}", t.family, t.addr),
                    Err(e) => format!("cannot bind: {e}"),
                };
                println!(
                    "{arg}: {} {:?} {:?}, scope {:?}, registry {}, global {}; {bind}",
                    parsed.addr,
                    c.family,
                    c.kind,
                    c.scope,
                    c.registry.map_or("-", |r| r.name),
                    c.is_global,
                );
            }
            Err(e) => {
                eprintln!("{arg}: {e}");
                status = std::process::ExitCode::from(1);
            }
        }
    }
    status
}
