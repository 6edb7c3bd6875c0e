//! The key tables in `schema` against libnm 1.42's own property lists: every property libnm
//! has is known to us (or read by a dedicated parser), we know no property libnm lacks, and
//! the bond options are exactly libnm's. Needs libnm through python3-gi.

#![allow(clippy::disallowed_methods)] // Runs the libnm peer.

use std::process::Command;

use bm_nmconn::schema::{BOND_OPTIONS, keys_of};
use serde_json::Value;

/// Properties stored under other keys (`addressN`, `routeN`, `routing-ruleN`) or in other groups.
const ELSEWHERE: &[&str] = &["addresses", "routes", "routing-rules", "s390-options"];
/// Keys we know that are no property: the deprecated place of `connection.interface-name`.
const EXTRA: &[&str] = &["interface-name"];

#[test]
fn tables_match_libnm() {
    let out = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_schema.py"))
        .output()
        .expect("python3 is missing: apt-get install -y python3 python3-gi gir1.2-nm-1.0");
    assert!(
        out.status.success(),
        "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut problems = Vec::new();
    for (setting, props) in v["settings"].as_object().unwrap() {
        let ours: Vec<&str> =
            keys_of(setting).unwrap_or_else(|| panic!("no table for {setting}")).iter().map(|(k, _)| *k).collect();
        let theirs: Vec<&str> = props.as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
        for p in &theirs {
            if !ours.contains(p) && !ELSEWHERE.contains(p) {
                problems.push(format!("{setting}.{p}: libnm has it, our table does not"));
            }
        }
        for k in &ours {
            if !theirs.contains(k) && !EXTRA.contains(k) {
                problems.push(format!("{setting}.{k}: in our table, not in libnm"));
            }
        }
    }
    let mut theirs: Vec<&str> = v["bond_options"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    let mut ours: Vec<&str> = BOND_OPTIONS.iter().map(|(n, _)| *n).collect();
    theirs.sort_unstable();
    ours.sort_unstable();
    if theirs != ours {
        problems.push(format!("bond options differ:\n  libnm {theirs:?}\n  ours  {ours:?}"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
