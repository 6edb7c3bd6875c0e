//! `bmnet node-ip` end to end: on snapshot files, on hosts built in network namespaces, the
//! files `set` writes, and `check`'s kubelet messages.

// Writes fixture files and runs namespaces: I/O is the point.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::{Path, PathBuf};

use serde_json::Value;
use util::{bmnet, stderr as err, stdout as out};

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bmnet-cli-nodeip-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Two NICs: eth0 (NAT, default route) and eth1 (the cluster network, with a second, dynamic
/// IPv6 and an egress IP), as in kubernetes#44702 and OCPBUGS-29095.
const HOST: &str = r#"{
  "links": [
    {"index": 1, "name": "lo", "up": true, "loopback": true},
    {"index": 2, "name": "eth0", "up": true, "lower_up": true},
    {"index": 3, "name": "eth1", "up": true, "lower_up": true}
  ],
  "addresses": [
    {"link": 1, "addr": "127.0.0.1/8", "scope": "host", "flags": {"permanent": true}},
    {"link": 2, "addr": "10.0.2.15/24"},
    {"link": 3, "addr": "192.168.111.20/24", "flags": {"permanent": true}},
    {"link": 3, "addr": "192.168.111.50/24", "flags": {"permanent": true, "secondary": true}, "label": "eth1:eip"},
    {"link": 3, "addr": "fd2e:6f44:5dd8::20/64", "flags": {"permanent": true}},
    {"link": 3, "addr": "fe80::1/64", "scope": "link", "flags": {"permanent": true}}
  ],
  "routes": [
    {"family": "ipv4", "destination": "0.0.0.0/0", "gateway": "10.0.2.2", "link": 2, "metric": 100},
    {"family": "ipv4", "destination": "192.168.111.0/24", "link": 3, "protocol": "kernel"},
    {"family": "ipv6", "destination": "fd2e:6f44:5dd8::/64", "link": 3, "protocol": "kernel", "metric": 256}
  ]
}"#;

fn host_file(dir: &Path, json: &str) -> String {
    let path = dir.join("snapshot.json");
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

#[test]
fn vip_subnet_beats_the_default_route_and_pairs_the_other_family() {
    let dir = scratch("vip");
    let snap = host_file(&dir, HOST);
    // No VIP: kubelet's own behaviour, the default route's NIC.
    let o = bmnet(&["node-ip", "--snapshot", &snap]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), "10.0.2.15\n");
    // With the API VIP: its subnet, and the IPv6 of the same link; never the VIP itself, nor the
    // egress IP.
    let o = bmnet(&["node-ip", "--snapshot", &snap, "--vip", "192.168.111.5"]);
    assert_eq!(out(&o), "192.168.111.20,fd2e:6f44:5dd8::20\n");
    let o = bmnet(&["node-ip", "--snapshot", &snap, "--vip", "192.168.111.5", "--prefer-ipv6"]);
    assert_eq!(out(&o), "fd2e:6f44:5dd8::20,192.168.111.20\n");
    // The JSON result says why each address won or lost.
    let o = bmnet(&["node-ip", "--snapshot", &snap, "--vip", "192.168.111.5", "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["chosen"][0]["method"], "vip_subnet");
    let eip = v["candidates"].as_array().unwrap().iter().find(|c| c["addr"] == "192.168.111.50/24").unwrap();
    assert_eq!(eip["verdict"]["verdict"], "rejected");
    assert_eq!(eip["verdict"]["reasons"][0]["reason"], "label");
    let nat = v["candidates"].as_array().unwrap().iter().find(|c| c["addr"] == "10.0.2.15/24").unwrap();
    assert_eq!(nat["verdict"]["verdict"], "lost");
    assert_eq!(nat["verdict"]["why"], "not matched by vip_subnet");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn nothing_qualifies_exits_1_with_every_reason() {
    let dir = scratch("none");
    let snap = host_file(
        &dir,
        r#"{"links": [{"index": 1, "name": "lo", "up": true, "loopback": true},
                      {"index": 2, "name": "eth0", "up": false}],
            "addresses": [{"link": 1, "addr": "127.0.0.1/8"}, {"link": 2, "addr": "10.0.0.5/24"},
                          {"link": 2, "addr": "fe80::1/64"}]}"#,
    );
    let o = bmnet(&["node-ip", "--snapshot", &snap]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).is_empty());
    let e = err(&o);
    assert!(e.contains("no address qualifies"), "{e}");
    assert!(e.contains("10.0.0.5/24") && e.contains("link is down"), "{e}");
    assert!(e.contains("fe80::1/64") && e.contains("link-local"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn set_writes_openshift_files_and_keeps_a_valid_previous_choice() {
    let dir = scratch("set");
    let root = dir.join("root");
    let snap = host_file(&dir, HOST);
    let root_s = root.display().to_string();
    let o = bmnet(&["node-ip", "set", "--root", &root_s, "--snapshot", &snap, "--vip", "192.168.111.5"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap();
    assert_eq!(
        read("etc/systemd/system/kubelet.service.d/20-nodenet.conf"),
        "[Service]\nEnvironment=\"KUBELET_NODE_IP=192.168.111.20\" \"KUBELET_NODE_IPS=192.168.111.20,fd2e:6f44:5dd8::20\"\n"
    );
    assert_eq!(
        read("etc/systemd/system/crio.service.d/20-nodenet.conf"),
        "[Service]\nEnvironment=\"CONTAINER_STREAM_ADDRESS=192.168.111.20\"\n"
    );
    assert_eq!(read("run/nodeip-configuration/primary-ip"), "192.168.111.20");
    assert_eq!(read("run/nodeip-configuration/ipv4"), "192.168.111.20");
    assert_eq!(read("run/nodeip-configuration/ipv6"), "fd2e:6f44:5dd8::20");

    // A lower address appears in the same subnet after a reboot (openshift-docs#109928): the
    // previous choice is still valid, so it is kept.
    let moved = HOST.replace(
        r#"{"link": 3, "addr": "192.168.111.20/24", "flags": {"permanent": true}},"#,
        r#"{"link": 3, "addr": "192.168.111.3/24", "flags": {"permanent": true}},
           {"link": 3, "addr": "192.168.111.20/24", "flags": {"permanent": true}},"#,
    );
    let snap = host_file(&dir, &moved);
    let o = bmnet(&["node-ip", "set", "--root", &root_s, "--snapshot", &snap, "--vip", "192.168.111.5"]);
    assert_eq!(out(&o).lines().next(), Some("192.168.111.20,fd2e:6f44:5dd8::20"), "{}", err(&o));

    // The previous address is gone (talos#8714): re-selected, and said why.
    let gone = HOST.replace("192.168.111.20/24", "192.168.111.21/24");
    let snap = host_file(&dir, &gone);
    let o = bmnet(&["node-ip", "set", "--root", &root_s, "--snapshot", &snap, "--vip", "192.168.111.5"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(err(&o).contains("previous node IP 192.168.111.20 re-selected: no longer on the host"), "{}", err(&o));
    assert_eq!(read("run/nodeip-configuration/primary-ip"), "192.168.111.21");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_speaks_kubelets_words() {
    let cases: &[(&[&str], i32, &str)] = &[
        (&["1.2.3.4"], 0, "ok: 1.2.3.4"),
        (&["1.2.3.4,abcd::1"], 0, "ok: 1.2.3.4,abcd::1"),
        (
            &["1.2.3.4,5.6.7.8"],
            1,
            "bad --node-ip \"1.2.3.4,5.6.7.8\": must contain either a single IP or a dual-stack pair of IPs",
        ),
        (&["1.2.3.4,abcd::1", "--cloud-provider", "gce"], 1, "dual-stack not supported in this configuration"),
        (
            &["1.2.3.4,abcd::1", "--cloud-provider", "external", "--kubelet-version", "1.26"],
            1,
            "dual-stack --node-ip \"1.2.3.4,abcd::1\" not supported when using a cloud provider",
        ),
        (&["1.2.3.4,abcd::1", "--cloud-provider", "external", "--kubelet-version", "1.30"], 0, "ok"),
        (&["0.0.0.0,abcd::1"], 1, "cannot include '0.0.0.0' or '::'"),
        (&["fe80::1"], 1, "nodeIP can't be a link-local unicast address"),
        (&["::"], 0, "autodetects"),
    ];
    for (args, code, needle) in cases {
        let mut argv = vec!["node-ip", "check"];
        argv.extend_from_slice(args);
        let o = bmnet(&argv);
        assert_eq!(o.status.code(), Some(*code), "{args:?}: {}{}", out(&o), err(&o));
        let both = format!("{}{}", out(&o), err(&o));
        assert!(both.contains(needle), "{args:?}: expected {needle:?} in {both}");
    }
}

/// A real host in a namespace: two veth links whose peers sit in a second namespace, an IPv4
/// default route with a worse metric on the cluster link, a deprecated VIP-like address, and
/// the VIP subnet on the other link; the binary runs inside it.
#[test]
fn node_ip_inside_a_namespace() {
    let node = util::netns("node");
    let peer = util::netns("peer");
    node.ip(&["link", "set", "lo", "up"]);
    for (a, b) in [("bmn0", "bmp0"), ("bmn1", "bmp1")] {
        node.ip(&["link", "add", a, "type", "veth", "peer", "name", b, "netns", &peer.name]);
        node.ip(&["link", "set", a, "up"]);
        peer.ip(&["link", "set", b, "up"]);
    }
    node.ip(&["addr", "add", "10.77.0.10/24", "dev", "bmn0"]);
    node.ip(&["addr", "add", "10.88.0.10/24", "dev", "bmn1"]);
    node.ip(&["addr", "add", "10.88.0.5/24", "dev", "bmn1"]); // the VIP, held by keepalived
    node.ip(&["-6", "addr", "add", "fd88::10/64", "dev", "bmn1", "nodad"]);
    node.ip(&["-6", "addr", "add", "fd88::99/64", "dev", "bmn1", "nodad", "preferred_lft", "0"]);
    node.ip(&["route", "add", "default", "via", "10.77.0.1", "dev", "bmn0", "metric", "100"]);
    node.ip(&["route", "add", "default", "via", "10.88.0.1", "dev", "bmn1", "metric", "200"]);
    node.ip(&["-6", "route", "add", "default", "via", "fd88::1", "dev", "bmn1", "metric", "1024"]);

    let bin = env!("CARGO_BIN_EXE_bmnet");
    let o = node.exec(&[bin, "node-ip"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(out(&o), "10.77.0.10,fd88::10\n", "default route: lowest metric per family");
    let o = node.exec(&[bin, "node-ip", "--vip", "10.88.0.5"]);
    assert_eq!(out(&o), "10.88.0.10,fd88::10\n", "{}", err(&o));
    let o = node.exec(&[bin, "node-ip", "--vip", "10.88.0.5", "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    let cands = v["candidates"].as_array().unwrap();
    let vip = cands.iter().find(|c| c["addr"] == "10.88.0.5/24").unwrap();
    assert_eq!(vip["verdict"]["reasons"][0]["reason"], "vip");
    let dep = cands.iter().find(|c| c["addr"] == "fd88::99/64").unwrap();
    assert_eq!(dep["verdict"]["reasons"][0]["reason"], "deprecated");

    // The snapshot the binary dumps is what the library selects on.
    let snap = node.exec(&[bin, "node-ip", "snapshot", "--json"]);
    assert_eq!(snap.status.code(), Some(0), "{}", err(&snap));
    let s: Value = serde_json::from_str(out(&snap).trim()).unwrap();
    assert!(s["links"].as_array().unwrap().iter().any(|l| l["name"] == "bmn1" && l["kind"] == "veth"), "{s}");

    // `set` inside the namespace writes the files under a root.
    let dir = scratch("netns-set");
    let root = dir.display().to_string();
    let o = node.exec(&[bin, "node-ip", "set", "--root", &root, "--vip", "10.88.0.5"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(dir.join("run/nodeip-configuration/primary-ip")).unwrap(), "10.88.0.10");
    std::fs::remove_dir_all(&dir).unwrap();

    // inspect shows the choice too.
    let o = node.exec(&[bin, "inspect", "--json"]);
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let choice = lines.iter().find(|l| l["type"] == "node_ip").expect("inspect reports the node IP");
    assert_eq!(choice["chosen"][0]["addr"], "10.77.0.10/24");
}
