//! `ipvX.addresses` and the gateway they carry, against libnm 1.42's own keyfile reader: a
//! corpus of address keys in every form (separators, missing and invalid prefix lengths, the
//! deprecated address/gateway form, typos like `\24`, garbage, trailing semicolons, index
//! rules like `address01`, `address`/`addresses` collisions) loads the same addresses in the
//! same order, the same gateway, and drops what libnm drops.
//!
//! Needs /usr/bin/python3 with python3-gi and gir1.2-nm-1.0.

#![allow(clippy::disallowed_methods)] // Runs the libnm peer.

use std::io::Write as _;
use std::process::{Command, Stdio};

use bm_nmconn::Document;
use bm_nmconn::ip::read_addresses;
use serde_json::{Value, json};

const HEADER: &str = "[connection]\nid=t\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n[ethernet]\n";

fn corpus() -> Vec<String> {
    let v4 = [
        "10.0.0.5/24",
        "10.0.0.5/24,10.0.0.1",
        "10.0.0.5;24;10.0.0.1;",
        "10.0.0.5,24",
        "10.0.0.5",
        "10.0.0.5/33",
        "10.0.0.5//24",
        "10.0.0.5/1.2.3.4",
        "10.10.99.99\\24",
        "10.0.0.5/24,10.0.0.1,x",
        "10.0.0.5/24,10.0.0.1;",
        "10.0.0.5 /24",
        "010.0.0.5/24",
        "10.0.0/24",
        "fd00::5/64",
        "10.0.0.5/24,gw",
        "",
        "/24",
        "10.0.0.5/0",
        "10.0.0.5/24/10.0.0.1",
        "10.0.0.5/024",
        "10.0.0.5/24,010.0.0.1",
    ];
    let v6 = [
        "fd00::5/64",
        "fd00::5",
        "fd00::5/129",
        "fd00::5/64,fd00::1",
        "fe80::1%eth0/64",
        "10.0.0.5/24",
        "fd00::5/64;",
        // Gateways: kept in inet_ntop's form when valid, as written when not.
        "fd00::5/64,fD01:0::1",
        "fd00::5/64,::1.2.3.4",
        "fd00::5/64,::FFFF:1.2.3.4",
        "fd00::5/64,1:2:3",
    ];
    let mut docs = Vec::new();
    for (i, a) in v4.iter().enumerate() {
        docs.push(format!("{HEADER}[ipv4]\nmethod=manual\naddress1={a}\naddress2=192.168.{i}.2/24,192.168.{i}.1\n"));
    }
    for a in v6 {
        docs.push(format!("{HEADER}[ipv4]\nmethod=disabled\n[ipv6]\nmethod=manual\naddress1={a}\n"));
    }
    // Index rules and ordering.
    docs.push(format!(
        "{HEADER}[ipv4]\nmethod=manual\naddress2=10.0.0.2/24\naddress=10.0.0.9/24\naddress0=10.0.0.1/24\naddress01=10.0.0.77/24\naddresses2=10.0.0.3/24\naddresses1=10.0.0.4/8\n"
    ));
    docs.push(format!("{HEADER}[ipv4]\nmethod=manual\naddress1=10.0.0.2/24\naddress1=10.0.0.3/25\naddress10=10.0.0.10/24\naddress9=10.0.0.9/24\n"));
    for dns in [
        "1.1.1.1;8.8.8.8;",
        "1.1.1.1,8.8.8.8",
        "1.1.1.1;bogus;8.8.8.8",
        "fd00::53;1.1.1.1",
        " 1.1.1.1 ;",
        "1.1.1.1\\;2.2.2.2",
        "010.1.1.1",
    ] {
        docs.push(format!("{HEADER}[ipv4]\nmethod=auto\ndns={dns}\n[ipv6]\nmethod=auto\ndns={dns}\n"));
    }
    docs.push(format!("{HEADER}[ipv4]\nmethod=manual\naddress3=10.0.0.3/24,10.0.0.254\naddress1=10.0.0.1/24\naddress2=10.0.0.2/24,10.0.0.253\n"));
    docs
}

fn libnm(docs: &[String]) -> Vec<Value> {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import gi; gi.require_version('NM', '1.0'); from gi.repository import NM"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0 (this test never skips)"
    );
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_addresses.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(json!(docs).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn addresses_load_as_libnm_loads_them() {
    let docs = corpus();
    let theirs = libnm(&docs);
    let mut mismatches = Vec::new();
    for (text, nm) in docs.iter().zip(&theirs) {
        let doc = Document::parse(text).unwrap();
        for fam in ["ipv4", "ipv6"] {
            if nm[fam].is_null() || !doc.has_group(fam) {
                continue;
            }
            let read = read_addresses(&doc, fam);
            let (dns, dns_warnings) = bm_nmconn::ip::read_dns(&doc, fam);
            let ours_dns: Vec<Value> = dns.iter().map(|ip| json!(ip.to_string())).collect();
            let their_dns_warned = nm["warnings"].as_array().unwrap().iter().any(|w| w[0] == fam && w[1] == "dns");
            let we_warned = !dns_warnings.is_empty();
            if nm[fam]["dns"] != json!(ours_dns) || their_dns_warned != we_warned {
                mismatches.push(format!(
                    "{text}\n  libnm dns: {} warned {their_dns_warned}\n  ours dns:  {ours_dns:?} {dns_warnings:?}",
                    nm[fam]["dns"]
                ));
            }
            let ours: Vec<Value> = read.addresses.iter().map(|(a, p)| json!([a.to_string(), p])).collect();
            // libnm prints IPv6 addresses canonically; so do we.
            let same_addresses = nm[fam]["addresses"] == json!(ours);
            let same_gateway =
                nm[fam]["gateway"] == json!(read.gateway) || (nm[fam]["gateway"].is_null() && read.gateway.is_none());
            // Every key libnm warned about, we warned about (messages may differ in detail).
            let their_keys: Vec<&str> = nm["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|w| w[0] == fam)
                .filter_map(|w| w[1].as_str())
                .filter(|k| k.starts_with("address"))
                .collect();
            let our_keys: Vec<&str> = read.warnings.iter().map(|(k, _)| k.as_str()).collect();
            let same_warned =
                their_keys.iter().all(|k| our_keys.contains(k)) && our_keys.iter().all(|k| their_keys.contains(k));
            if !(same_addresses && same_gateway && same_warned) {
                mismatches.push(format!(
                    "{text}\n  libnm: {} gw {} warns {:?}\n  ours:  {ours:?} gw {:?} warns {:?}",
                    nm[fam]["addresses"], nm[fam]["gateway"], their_keys, read.gateway, read.warnings
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from libnm:\n{}",
        mismatches.len(),
        docs.len(),
        mismatches.join("\n")
    );
}

fn route_corpus() -> Vec<String> {
    let v4 = [
        "10.1.0.0/16",
        "10.1.0.0/16,10.0.0.1",
        "10.1.0.0/16,10.0.0.1,100",
        "10.1.0.0/16,,50",
        "10.1.0.0/16;10.0.0.1;7",
        "10.1.0.0",
        "10.1.0.0/33",
        "10.1.2.3/16,10.0.0.1",
        "10.1.0.0/16,10.0.0.1,x",
        "10.1.0.0/16,10.0.0.1,-1",
        "10.1.0.0/16,10.0.0.1,4294967295",
        "10.1.0.0/16,10.0.0.1,4294967296",
        "10.1.0.0/16,bogus,5",
        "10.1.0.0/16,10.0.0.1,5,9",
        "10.1.0.0/16,fd00::1",
        "0.0.0.0/0,10.0.0.1,0",
        "10.1.0.0\\16,10.0.0.1",
        "10.1.0.0/16,10.0.0.1,010",
        "10.1.0.0/16,10.0.0.1,",
    ];
    let v6 = [
        "fd01::/64",
        "fd01::/64,fd00::1",
        "fd01::/64,fd00::1,200",
        "fd01::",
        "fd01::/64,300",
        "fd01::/64,,300",
        "fd01::/129",
        "fd01::/64,10.0.0.1",
        "::/0,fe80::1,1024",
    ];
    let mut docs = Vec::new();
    for r in v4 {
        docs.push(format!(
            "{HEADER}[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1={r}\nroute2=192.168.9.0/24,10.0.0.2\n"
        ));
    }
    for r in v6 {
        docs.push(format!("{HEADER}[ipv4]\nmethod=disabled\n[ipv6]\nmethod=manual\naddress1=fd00::5/64\nroute1={r}\n"));
    }
    docs.push(format!(
        "{HEADER}[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute3=10.3.0.0/16\nroutes1=10.11.0.0/16\nroute1=10.1.0.0/16\nroute=10.9.0.0/16\nroute0=10.0.9.0/24\nroute1_options=mtu=1400\n"
    ));
    docs
}

#[test]
fn routes_load_as_libnm_loads_them() {
    let docs = route_corpus();
    let theirs = libnm(&docs);
    let mut mismatches = Vec::new();
    for (text, nm) in docs.iter().zip(&theirs) {
        let doc = Document::parse(text).unwrap();
        for fam in ["ipv4", "ipv6"] {
            if nm[fam].is_null() || !doc.has_group(fam) {
                continue;
            }
            let (routes, warnings) = bm_nmconn::ip::read_routes(&doc, fam);
            let ours: Vec<Value> = routes
                .iter()
                .map(|r| json!([r.dest.to_string(), r.plen, r.next_hop.map(|h| h.to_string()), r.metric]))
                .collect();
            let their_keys: Vec<&str> = nm["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|w| w[0] == fam)
                .filter_map(|w| w[1].as_str())
                .filter(|k| k.starts_with("route"))
                .collect();
            let our_keys: Vec<&str> = warnings.iter().map(|(k, _)| k.as_str()).collect();
            let same_warned =
                their_keys.iter().all(|k| our_keys.contains(k)) && our_keys.iter().all(|k| their_keys.contains(k));
            if nm[fam]["routes"] != json!(ours) || !same_warned {
                mismatches.push(format!(
                    "{text}\n  libnm: {} warns {:?} {}\n  ours:  {ours:?} warns {warnings:?}",
                    nm[fam]["routes"], their_keys, nm["warnings"]
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ from libnm:\n{}",
        mismatches.len(),
        docs.len(),
        mismatches.join("\n")
    );
}
