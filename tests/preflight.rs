//! `bmnet preflight` on a node of a small lab (namespaces on one bridge), with one of each
//! failure injected and then removed: keepalived on another host using the cluster's API VRID
//! (VRRPv2, as OpenShift's bootstrap does), another host holding the ingress VIP, and the node's
//! keyfile (rendered by `nmcli --offline`, applied with `ip`) edited on disk afterwards. The
//! run reports exactly those three and exits 1; with the failures removed it passes.
//!
//! Needs root, iproute2, keepalived and nmcli (`apt-get install -y iproute2 keepalived
//! network-manager`); without them the test fails, it never passes silently.

#![allow(clippy::disallowed_methods)] // Namespaces, processes and files are the point.

#[path = "util/vrrp_lab.rs"]
mod lab;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use lab::Lab;
use serde_json::Value;

fn nmcli_add(name: &str, properties: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("nmcli");
    cmd.args(["--offline", "connection", "add", "type", "ethernet", "con-name", name, "ifname", name]);
    for (property, value) in properties {
        cmd.args([property, value]);
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run nmcli ({e}): apt-get install -y network-manager"));
    assert!(out.status.success(), "nmcli: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn preflight(lab: &Lab, args: &[&str]) -> (Option<i32>, String, Vec<Value>) {
    let o = Command::new("ip")
        .args(["netns", "exec", lab.ns(1), env!("CARGO_BIN_EXE_bmnet"), "preflight"])
        .args(args)
        .output()
        .expect("run bmnet");
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let json = Command::new("ip")
        .args(["netns", "exec", lab.ns(1), env!("CARGO_BIN_EXE_bmnet"), "--json", "preflight"])
        .args(args)
        .output()
        .expect("run bmnet");
    let records =
        String::from_utf8_lossy(&json.stdout).lines().map(|l| serde_json::from_str(l).expect("JSON")).collect();
    assert_eq!(json.status.code(), o.status.code(), "--json exits alike");
    (o.status.code(), text, records)
}

fn failed(records: &[Value]) -> Vec<String> {
    let summary = records.iter().find(|r| r["type"] == "preflight").expect("a summary record");
    summary["failed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

#[test]
fn one_collision_one_vip_in_use_one_drifted_keyfile() {
    let lab = Lab::new("preflight", 3);
    let net = lab.net;
    let (api, ingress) = (format!("10.{net}.0.5"), format!("10.{net}.0.7"));
    let machine = format!("10.{net}.0.0/24");
    let cnf10 = bm_vrrp::OpenShiftVrids::for_cluster("cnf10").unwrap();

    // The node's keyfile, as the lab configured eth0 (address, MTU 1500), applied already.
    let dir = lab.dir.join("keyfiles");
    std::fs::create_dir_all(&dir).unwrap();
    let keyfile = dir.join("eth0.nmconnection");
    let text = nmcli_add(
        "eth0",
        &[
            ("ipv4.method", "manual"),
            ("ipv4.addresses", &format!("{}/24", lab.v4(1))),
            ("ipv6.method", "manual"),
            ("ipv6.addresses", &format!("{}/64", lab.v6(1))),
            ("ethernet.mtu", "1500"),
        ],
    );
    std::fs::write(&keyfile, &text).unwrap();
    std::fs::set_permissions(&keyfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    let dir_arg = dir.to_str().unwrap();
    let args = [
        "--cluster-name",
        "cnf10",
        "--api-vip",
        &api,
        "--ingress-vip",
        &ingress,
        "--machine-network",
        &machine,
        "--interface",
        "eth0",
        "--keyfile-dir",
        dir_arg,
        "--listen-seconds",
        "3",
    ];

    // Clean first: nothing on the wire, the file as the kernel runs it.
    let (code, text_out, records) = preflight(&lab, &args);
    assert_eq!(code, Some(0), "a clean lab passes:\n{text_out}");
    assert!(failed(&records).is_empty());
    assert!(text_out.contains("all checks passed"), "{text_out}");

    // Inject: keepalived with the API VRID, the ingress VIP on h3, the MTU edited on disk.
    let conf = format!(
        "global_defs {{\n    script_user root\n}}\nvrrp_instance OTHER_API {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id {}\n    priority 100\n    advert_int 1\n    virtual_ipaddress {{\n        10.{net}.0.50\n    }}\n}}\n",
        cnf10.api
    );
    let mut keepalived = lab.keepalived(2, &conf);
    let master = lab.wait(Duration::from_secs(20), |l| l.has(2, &format!("10.{net}.0.50")));
    assert!(master.is_some(), "keepalived became master:\n{}", keepalived.log_text());
    let added =
        Command::new("ip").args(["-n", lab.ns(3), "addr", "add", &format!("{ingress}/24"), "dev", "eth0"]).status();
    assert!(added.unwrap().success());
    std::fs::write(&keyfile, text.replace("mtu=1500", "mtu=9000")).unwrap();

    let (code, text_out, records) = preflight(&lab, &args);
    println!("{text_out}");
    assert_eq!(code, Some(1), "{text_out}");
    let mut f = failed(&records);
    f.sort();
    assert_eq!(f, ["addresses", "keyfiles", "vrids"], "{text_out}");
    assert!(
        text_out.contains(&format!(
            "VRID {} (the API VIP's) is in use on IPv4: v2 multicast from {}",
            cnf10.api,
            lab.v4(2)
        )),
        "{text_out}"
    );
    assert!(text_out.contains(&format!("VIP {ingress} is in use")), "{text_out}");
    assert!(text_out.contains("mtu") || text_out.contains("MTU"), "{text_out}");
    let h3_mac = Command::new("ip").args(["-n", lab.ns(3), "-j", "link", "show", "eth0"]).output().unwrap();
    let h3_mac: Value = serde_json::from_slice(&h3_mac.stdout).unwrap();
    let h3_mac = h3_mac[0]["address"].as_str().unwrap().to_string();
    assert!(text_out.contains(&h3_mac), "the answering MAC is h3's ({h3_mac}):\n{text_out}");

    // Remove them again: the same lab passes.
    keepalived.stop();
    let removed =
        Command::new("ip").args(["-n", lab.ns(3), "addr", "del", &format!("{ingress}/24"), "dev", "eth0"]).status();
    assert!(removed.unwrap().success());
    std::fs::write(&keyfile, &text).unwrap();
    let (code, text_out, records) = preflight(&lab, &args);
    assert_eq!(code, Some(0), "the failures removed, the lab passes again:\n{text_out}");
    assert!(failed(&records).is_empty());

    // A link without carrier would hear nothing and pass everything: the run cannot check, exit 2.
    lab.set_link(1, false);
    let (code, text_out, _) = preflight(&lab, &args);
    assert_eq!(code, Some(2), "{text_out}");
    assert!(text_out.contains("eth0 is down or has no carrier"), "{text_out}");
}

/// The cluster from an install-config.yaml, offline (no wire, no privileges needed): the
/// static checks fail by name, and a broken file is named with its line and column.
#[test]
fn install_config_offline() {
    let dir = std::env::temp_dir().join(format!("bmnet-preflight-ic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ic = dir.join("install-config.yaml");
    std::fs::write(
        &ic,
        "apiVersion: v1\nbaseDomain: example.com\nmetadata:\n  name: cnf10\nnetworking:\n  machineNetwork:\n  \
         - cidr: 192.168.111.0/24\nplatform:\n  baremetal:\n    apiVIPs:\n    - 192.168.111.5\n    ingressVIPs:\n    \
         - 192.168.112.4\n",
    )
    .unwrap();
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_bmnet")).args(args).output().unwrap();
    let o = run(&["preflight", "--offline", "--keyfile-dir", dir.to_str().unwrap(), "--config", ic.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("preflight for cluster cnf10 (VIPs 192.168.111.5 192.168.112.4)"), "{text}");
    assert!(text.contains("error: ingress VIP 192.168.112.4 is in no machine network (192.168.111.0/24)"), "{text}");
    assert!(text.contains("skip   vrids") && text.contains("skip   addresses"), "{text}");
    // A flag adds to the file: the ingress VIP's network.
    let o = run(&[
        "--json",
        "preflight",
        "--offline",
        "--keyfile-dir",
        dir.to_str().unwrap(),
        "--config",
        ic.to_str().unwrap(),
        "--machine-network",
        "192.168.112.0/24",
    ]);
    let records: Vec<Value> =
        String::from_utf8_lossy(&o.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let cluster = records.iter().find(|r| r["check"] == "cluster").unwrap();
    assert_eq!(cluster["ok"], true, "{cluster}");
    assert_eq!(cluster["details"][0]["vrids"]["api"], 147);

    std::fs::write(&ic, "metadata:\n  name: [unclosed\n").unwrap();
    let o = run(&["preflight", "--offline", "--config", ic.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:", ic.display())) && err.contains(":2:"), "file:line:col: {err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
