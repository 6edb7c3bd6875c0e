//! A profile without `connection.type`, against libnm 1.42: NetworkManager infers the type
//! from its base-type setting of the lowest rank, and refuses the profile ("connection.type:
//! property is missing") when there is none or two share that rank. Every setting alone (and
//! the two group aliases), every pair of base-type settings, and a few triples: we report
//! `type-missing` exactly when libnm does, and where libnm normalises the profile, the type we
//! infer is its type. And the types that need `connection.interface-name`: every type, with
//! the least its own setting needs, with and without one.
//!
//! Needs /usr/bin/python3 with python3-gi and gir1.2-nm-1.0.

#![allow(clippy::disallowed_methods)] // Runs the libnm peer.

use std::io::Write as _;
use std::process::{Command, Stdio};

use bm_nmconn::check::{CheckOptions, check_text};
use bm_nmconn::diag::Code;
use bm_nmconn::schema::{SETTING_NAMES, base_type_rank, setting_of_group};
use serde_json::{Value, json};

fn libnm(texts: &[String]) -> Vec<Value> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_type.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is missing: apt-get install -y python3 python3-gi gir1.2-nm-1.0");
    child.stdin.take().unwrap().write_all(json!(texts).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "libnm through python3-gi failed (apt-get install -y python3-gi gir1.2-nm-1.0; this test never skips): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A profile without a type, with these groups (empty).
fn profile(groups: &[&str]) -> String {
    let mut text = "[connection]\nid=x\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ninterface-name=x0\n".to_string();
    for g in groups {
        text.push_str(&format!("[{g}]\n"));
    }
    text
}

/// The type as NetworkManager writes it (what `ProfileSummary::kind` gives).
fn written(setting: &str) -> &str {
    match setting {
        "802-3-ethernet" => "ethernet",
        "802-11-wireless" => "wifi",
        s => s,
    }
}

#[test]
fn a_missing_type_is_inferred_as_libnm_infers_it() {
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for s in SETTING_NAMES.iter().copied().filter(|s| *s != "connection").chain(["ethernet", "wifi"]) {
        cases.push(vec![s]);
    }
    let base: Vec<&str> = SETTING_NAMES.iter().copied().filter(|s| base_type_rank(s).is_some()).collect();
    assert!(base.len() > 30, "the base types: {base:?}");
    for (i, a) in base.iter().enumerate() {
        for b in &base[i + 1..] {
            cases.push(vec![a, b]);
        }
    }
    cases.extend([
        vec!["ethernet", "802-3-ethernet"],
        vec!["wifi", "802-11-wireless"],
        vec!["ethernet", "vlan", "pppoe"],
        vec!["bluetooth", "gsm", "cdma"],
        vec!["bluetooth", "pppoe", "ipv4"],
        vec!["pppoe", "bluetooth", "bond"],
        vec!["bridge", "bridge-port", "ipv4", "ipv6"],
        vec!["ipv4", "ipv6", "proxy", "user", "ethtool", "match"],
        vec!["bond-port", "team-port", "bridge-port"],
        vec!["wireguard-peer.abc", "ipv4"],
    ]);
    let texts: Vec<String> = cases.iter().map(|c| profile(c)).collect();
    let theirs = libnm(&texts);
    let mut mismatches = Vec::new();
    let mut missing = 0;
    for ((case, text), nm) in cases.iter().zip(&texts).zip(&theirs) {
        let report = check_text(text, &CheckOptions::default());
        let ours_missing = report.diagnostics.iter().any(|d| d.code == Code::TypeMissing);
        let their_missing = nm["error"].as_str().is_some_and(|e| e.starts_with("connection.type: property is missing"));
        missing += usize::from(their_missing);
        if ours_missing != their_missing {
            mismatches.push(format!("{case:?}: type-missing ours {ours_missing}, libnm {nm}"));
            continue;
        }
        if let Some(t) = nm["type"].as_str() {
            let ours = report.profile.as_ref().and_then(|p| p.kind());
            if ours != Some(written(setting_of_group(t))) {
                mismatches.push(format!("{case:?}: type ours {ours:?}, libnm {t}"));
            }
        }
    }
    // Both answers come up, many times.
    assert!(missing > 100 && texts.len() - missing > 100, "{missing} of {} missing", texts.len());
    assert!(mismatches.is_empty(), "{} of {} differ:\n{}", mismatches.len(), texts.len(), mismatches.join("\n"));
}

#[test]
fn the_types_that_need_an_interface_name_are_libnms() {
    // Each type with what its own setting needs besides (so that libnm's first error, if any,
    // is about the interface name).
    let types = [
        ("ethernet", ""),
        ("wifi", "ssid=x\nmode=infrastructure\n"),
        ("bond", ""),
        ("bridge", ""),
        ("team", ""),
        ("dummy", ""),
        ("vrf", "table=10\n"),
        ("wireguard", ""),
        ("ovs-bridge", ""),
        ("ovs-port", ""),
        ("ovs-patch", "peer=p1\n"),
        ("ovs-interface", "type=internal\n"),
        ("ovs-dpdk", "devargs=x\n"),
        ("vlan", "parent=eth0\nid=5\n"),
        ("macvlan", "parent=eth0\nmode=1\n"),
        ("veth", "peer=v1\n"),
        ("tun", "mode=1\n"),
        ("vxlan", "id=1\nremote=1.2.3.4\n"),
        ("ip-tunnel", "mode=1\nremote=1.2.3.4\n"),
        ("6lowpan", "parent=wpan0\n"),
        ("infiniband", "transport-mode=datagram\n"),
        ("loopback", ""),
        ("generic", ""),
        ("wpan", ""),
    ];
    let mut texts = Vec::new();
    for (t, body) in types {
        // An OVS interface is a port's port; so that its `master` is not what libnm objects to.
        let port = if t == "ovs-interface" { "master=p0\nslave-type=ovs-port\n" } else { "" };
        for ifname in ["", "interface-name=x0\n"] {
            texts.push(format!(
                "[connection]\nid=x\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype={t}\n{port}{ifname}[{t}]\n{body}"
            ));
        }
    }
    let theirs = libnm(&texts);
    let mut mismatches = Vec::new();
    let mut needed = 0;
    for (text, nm) in texts.iter().zip(&theirs) {
        let ours =
            check_text(text, &CheckOptions::default()).diagnostics.iter().any(|d| d.code == Code::InterfaceNameMissing);
        let theirs =
            nm["error"].as_str().is_some_and(|e| e.starts_with("connection.interface-name: property is missing"));
        needed += usize::from(theirs);
        if ours != theirs {
            mismatches.push(format!("interface-name-missing ours {ours}, libnm {nm}:\n{text}"));
        }
    }
    assert!(needed >= 10, "libnm needs an interface name for {needed} types only");
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
