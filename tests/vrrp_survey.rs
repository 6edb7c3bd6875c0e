//! `bmnet vrrp listen` against real keepalived (Debian's 2.2.7) in network namespaces: three
//! keepalived instances on one bridge use VRIDs and a VIP of cluster `cnf10` (v2 with a password
//! over IPv4 multicast, v3 over IPv6 multicast, v3 over IPv4 unicast towards the listening host,
//! v3 over IPv4 multicast carrying the cluster's ingress VIP under another VRID); the listener on
//! a fourth host reports every one with its source, VRID and VIPs, and each collision.
//!
//! Needs root, iproute2 and keepalived (`apt-get install -y keepalived`); without them the
//! test fails, it never passes silently.

// Namespaces and processes are the point of this test.
#![allow(clippy::disallowed_methods)]

#[path = "util/vrrp_lab.rs"]
mod lab;

use std::process::Command;

use lab::Lab;
use serde_json::Value;

/// One keepalived instance, as its configuration.
fn instance(name: &str, vrid: u8, version: u8, extra: &str, vips: &[String]) -> String {
    let mut c = format!(
        "vrrp_instance {name} {{\n    state BACKUP\n    interface eth0\n    virtual_router_id {vrid}\n    \
         priority 100\n    advert_int 1\n    version {version}\n{extra}    virtual_ipaddress {{\n"
    );
    for v in vips {
        c += &format!("        {v}\n");
    }
    c + "    }\n}\n"
}

#[test]
fn every_router_on_the_segment_is_heard_and_each_collision_reported() {
    let lab = Lab::new("survey", 4);
    let cnf10 = bm_vrrp::OpenShiftVrids::for_cluster("cnf10").unwrap();
    assert_eq!((cnf10.api, cnf10.ingress), (147, 2));
    let net = lab.net;
    let api4 = format!("10.{net}.0.5");
    let ingress4 = format!("10.{net}.0.7");
    let api6 = format!("fd00:{net}::5");
    let listener = lab.v4(4);

    // h1: v2 with a password, the cluster's API VRID, another VIP.
    let h1 = format!(
        "global_defs {{\n    script_user root\n}}\n{}",
        instance(
            "V2",
            cnf10.api,
            2,
            "    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }\n",
            &[format!("10.{net}.0.50")]
        )
    );
    // h2: v3 over IPv6 with the cluster's ingress VRID, and v3 unicast to h4 with VRID 9.
    let h2 = format!(
        "global_defs {{\n    script_user root\n}}\n{}{}",
        instance("V6", cnf10.ingress, 3, "", &[format!("fd00:{net}::60")]),
        instance(
            "UNI",
            9,
            3,
            &format!("    unicast_src_ip {}\n    unicast_peer {{\n        {listener}\n    }}\n", lab.v4(2)),
            &[format!("10.{net}.0.90")]
        )
    );
    // h3: v3 over IPv4 multicast, a free VRID, but the cluster's ingress VIP.
    let h3 = format!(
        "global_defs {{\n    script_user root\n}}\n{}",
        instance("HOLDS_VIP", 200, 3, "", std::slice::from_ref(&ingress4))
    );
    let mut daemons = vec![lab.keepalived(1, &h1), lab.keepalived(2, &h2), lab.keepalived(3, &h3)];
    // keepalived advertises once it is master (about 3 s after start, alone on its VRID).
    let masters = [
        (1, format!("10.{net}.0.50")),
        (2, format!("fd00:{net}::60")),
        (2, format!("10.{net}.0.90")),
        (3, ingress4.clone()),
    ];
    let converged = lab.wait(std::time::Duration::from_secs(20), |l| masters.iter().all(|(h, vip)| l.has(*h, vip)));
    assert!(
        converged.is_some(),
        "the keepalived instances did not become master:\n{}",
        daemons.iter().map(|d| d.log_text()).collect::<String>()
    );

    let o = Command::new("ip")
        .args(["netns", "exec", lab.ns(4), env!("CARGO_BIN_EXE_bmnet"), "--json", "vrrp", "listen"])
        .args(["--interface", "eth0", "--seconds", "3", "--cluster-name", "cnf10"])
        .args(["--vip", &api4, "--vip", &ingress4, "--vip", &api6])
        .output()
        .expect("run bmnet");
    for d in &mut daemons {
        d.stop();
    }
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "collisions exit 1:\n{text}\n{}", String::from_utf8_lossy(&o.stderr));
    let records: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    let heard: Vec<&Value> = records.iter().filter(|r| r["type"] == "vrrp_heard").map(|r| &r["heard"]).collect();
    let find = |vrid: u8, family: &str| {
        heard
            .iter()
            .find(|h| h["vrid"] == vrid && h["family"] == family)
            .unwrap_or_else(|| panic!("VRID {vrid} {family} not heard:\n{text}"))
    };

    let v2 = find(cnf10.api, "ipv4");
    assert_eq!((v2["version"].as_str(), v2["password"].as_bool()), (Some("v2"), Some(true)), "{v2}");
    assert_eq!(v2["source"], lab.v4(1));
    assert_eq!(v2["vips"], serde_json::json!([format!("10.{net}.0.50")]));
    assert_eq!(v2["unicast"], false);

    let v6 = find(cnf10.ingress, "ipv6");
    assert!(v6["source"].as_str().unwrap().starts_with("fe80::"), "sent from the link-local address: {v6}");
    assert_eq!(v6["vips"], serde_json::json!([format!("fd00:{net}::60")]));

    let uni = find(9, "ipv4");
    assert_eq!(
        (uni["source"].as_str(), uni["destination"].as_str()),
        (Some(lab.v4(2).as_str()), Some(listener.as_str()))
    );
    assert_eq!(uni["unicast"], true);

    let holder = find(200, "ipv4");
    assert_eq!(holder["source"], lab.v4(3));
    assert_eq!(heard.len(), 4, "exactly the four routers:\n{text}");

    let collisions: Vec<&Value> =
        records.iter().filter(|r| r["type"] == "vrrp_collision").map(|r| &r["collision"]).collect();
    let has = |kind: &str, key: &str, value: Value| collisions.iter().any(|c| c["kind"] == kind && c[key] == value);
    assert!(has("vrid", "vrid", cnf10.api.into()), "API VRID collision:\n{text}");
    assert!(has("vrid", "vrid", cnf10.ingress.into()), "ingress VRID collision (IPv6):\n{text}");
    assert!(has("vip", "vip", ingress4.clone().into()), "ingress VIP collision:\n{text}");
    assert_eq!(collisions.len(), 3, "{text}");
    let free = records.iter().find(|r| r["type"] == "vrrp_free_vrids").expect("free VRIDs suggested");
    let free: Vec<u64> = free["free"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).collect();
    assert!(!free.contains(&u64::from(cnf10.api)) && !free.contains(&u64::from(cnf10.ingress)) && free.contains(&1));
}
