//! NetworkManager's value readers against libnm 1.42 itself (python3-gi + gir1.2-nm-1.0):
//! ethernet.mtu and vlan.id as integers (decimal, octal, hex, junk), connection.autoconnect as
//! a boolean, ethernet.mac-address in every form — what we say NetworkManager loads must be
//! what it loads, and where we say "falls back to the default" it must warn and do so.
//!
//! Needs /usr/bin/python3 with python3-gi and gir1.2-nm-1.0 (`apt-get install -y python3-gi
//! gir1.2-nm-1.0`).

#![allow(clippy::disallowed_methods)] // Runs the libnm peer.

use std::io::Write as _;
use std::process::{Command, Stdio};

use bm_nmconn::value::{parse_bool, parse_mac, parse_uint};
use serde_json::{Value, json};

fn libnm(cases: &[(&str, &str)]) -> Vec<Value> {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import gi; gi.require_version('NM', '1.0'); from gi.repository import NM"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0 (this test never skips)"
    );
    let input: Vec<Value> = cases.iter().map(|(p, v)| json!({ "prop": p, "value": v })).collect();
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_values.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(Value::from(input).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn integers_booleans_and_macs_load_as_libnm_loads_them() {
    let ints = [
        "1500",
        "01500",
        "010",
        "0x2328",
        "0X10",
        " 9000",
        "+1280",
        "0900",
        "1e3",
        "9k",
        "-1",
        "0x",
        "",
        "4294967296",
        "0",
    ];
    let vlans = ["100", "0100", "4094", "4095", "007", "0x64"];
    let bools = ["true", "false", "1", "0", "yes", "no", "False", "TRUE", "on", "true "];
    let macs = [
        "00:11:22:33:44:55",
        "00-11-22-33-44-5a",
        "0:1:2:3:4:5",
        "001122334455",
        "00:11:22:33:44",
        "0;34;104;18;121;162;",
        "aa:bb:cc:dd:ee:ff:00",
    ];
    let mut cases: Vec<(&str, &str)> = Vec::new();
    cases.extend(ints.iter().map(|v| ("mtu", *v)));
    cases.extend(vlans.iter().map(|v| ("vlan", *v)));
    cases.extend(bools.iter().map(|v| ("autoconnect", *v)));
    cases.extend(macs.iter().map(|v| ("mac", *v)));
    let theirs = libnm(&cases);
    let mut mismatches = Vec::new();
    for ((prop, value), nm) in cases.iter().zip(&theirs) {
        let (ours, ours_warns): (Value, bool) = match *prop {
            // mtu: u32; default 0 (automatic). vlan.id: the property takes 0..=4095 (4095 loads;
            // it is the profile's verification that refuses it later), default 0.
            "mtu" => match parse_uint(value, 0, u64::from(u32::MAX)) {
                Ok((v, _)) => (json!(v), false),
                Err(_) => (json!(0), true),
            },
            "vlan" => match parse_uint(value, 0, 4095) {
                Ok((v, _)) => (json!(v), false),
                Err(_) => (json!(0), true),
            },
            "autoconnect" => match parse_bool(value) {
                Some(b) => (json!(b), false),
                None => (json!(true), true),
            },
            _ => match parse_mac(value, 6) {
                Some(b) => (json!(b.iter().map(|o| format!("{o:02X}")).collect::<Vec<_>>().join(":")), false),
                None => (Value::Null, true),
            },
        };
        if nm["value"] != ours || nm["warned"] != ours_warns {
            mismatches.push(format!("{prop}={value:?}: libnm {nm}, ours {{\"value\":{ours},\"warned\":{ours_warns}}}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from libnm:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}
