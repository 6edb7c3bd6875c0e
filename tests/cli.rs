//! The `bmnet` binary end to end: exit statuses, JSON shape, and `inspect` on a host the test
//! builds itself in a network namespace.

// Runs the binary and daemons, with deadlines and a scratch status directory.
#![allow(clippy::disallowed_methods)]

mod util;

use std::process::Output;

use serde_json::Value;
use util::{Daemon, bmnet, stderr, stdout};

fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

#[test]
fn version_help_and_usage_errors() {
    let v = bmnet(&["--version"]);
    assert_eq!(v.status.code(), Some(0));
    assert_eq!(stdout(&v).trim(), format!("bmnet {}", env!("CARGO_PKG_VERSION")));

    let h = bmnet(&["help"]);
    assert_eq!(h.status.code(), Some(0));
    for word in ["inspect", "addr", "completions", "--json"] {
        assert!(stdout(&h).contains(word), "help lacks {word}:\n{}", stdout(&h));
    }

    for args in [&["frobnicate"][..], &["addr", "classify"], &["--no-such-flag"], &[]] {
        let o = bmnet(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).is_empty(), "{args:?}: usage errors go to stderr");
        assert!(stdout(&o).is_empty(), "{args:?}");
    }
}

#[test]
fn completions() {
    let o = bmnet(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("_bmnet()"), "{}", stdout(&o));
    assert!(stdout(&o).contains("classify"));
    // A shell reads it: `--json` does not wrap it.
    let zsh = bmnet(&["completions", "zsh"]);
    assert_eq!(stdout(&bmnet(&["completions", "zsh", "--json"])), stdout(&zsh));
    assert!(stdout(&zsh).starts_with("#compdef bmnet"));
    // Interfaces, addresses and numbers complete no file names; files do.
    let bash = stdout(&o);
    let after = |option: &str| {
        let at =
            bash.find(&format!("                {option})\n")).unwrap_or_else(|| panic!("{option} not in the script"));
        bash[at..].lines().nth(1).unwrap().trim().to_string()
    };
    for option in ["--interface", "--vip", "--vrid", "--unicast-peer", "--listen"] {
        assert_eq!(after(option), r#"COMPREPLY=("${cur}")"#, "{option}");
    }
    assert_eq!(after("--config"), r#"COMPREPLY=($(compgen -f "${cur}"))"#);
}

/// Every JSON record starts with `json_version`, the stability rule's version.
#[test]
fn json_records_carry_their_version() {
    let o = bmnet(&["addr", "classify", "10.0.0.1", "::1", "--json"]);
    for line in stdout(&o).lines() {
        assert!(line.starts_with(r#"{"json_version":1,"#), "{line}");
    }
}

/// The issue's acceptance command.
#[test]
fn classify_the_acceptance_vectors() {
    let o =
        bmnet(&["addr", "classify", "::ffff:192.168.0.14", "fe80::1%eth0", "010.1.1.1", "::ffff:127.0.0.1", "--json"]);
    assert_eq!(o.status.code(), Some(1), "an invalid input makes the exit status 1");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 4, "one object per input, in order");

    let mapped = &lines[0];
    assert_eq!(mapped["input"], "::ffff:192.168.0.14");
    assert_eq!(mapped["canonical"], "::ffff:192.168.0.14");
    assert_eq!(mapped["family"], "ipv4");
    assert_eq!(mapped["kind"], "ipv4_mapped");
    assert_eq!(mapped["embedded_ipv4"], "192.168.0.14");
    assert_eq!(mapped["scope"], "global");
    assert_eq!(mapped["registry"], "Private-Use");
    assert_eq!(mapped["is_private"], true);
    assert_eq!(mapped["is_global"], false);
    assert_eq!(mapped["bind_family"], "ipv4");
    assert_eq!(mapped["bind_address"], "192.168.0.14");

    let ll = &lines[1];
    assert_eq!(ll["canonical"], "fe80::1%eth0");
    assert_eq!(ll["zone"], "eth0");
    assert_eq!(ll["family"], "ipv6");
    assert_eq!(ll["kind"], "ipv6");
    assert_eq!(ll["scope"], "link");
    assert_eq!(ll["is_link_local"], true);
    assert_eq!(ll["is_global"], false);
    assert_eq!(ll["bind_family"], "ipv6");
    assert_eq!(ll["bind_address"], "fe80::1%eth0");

    let bad = &lines[2];
    assert_eq!(bad["input"], "010.1.1.1");
    assert_eq!(bad["offset"], 0);
    assert!(bad["error"].as_str().unwrap().contains("leading zero"), "{bad}");
    assert!(bad.get("canonical").is_none());

    let lo = &lines[3];
    assert_eq!(lo["kind"], "ipv4_mapped");
    assert_eq!(lo["is_loopback"], true);
    assert_eq!(lo["scope"], "host");
    assert_eq!(lo["registry"], "Loopback");
    assert_eq!(lo["bind_address"], "127.0.0.1");

    // Every key of a valid record is stable snake_case and present.
    for key in [
        "input",
        "canonical",
        "family",
        "kind",
        "embedded_ipv4",
        "scope",
        "registry",
        "is_loopback",
        "is_unspecified",
        "is_link_local",
        "is_multicast",
        "is_private",
        "is_shared",
        "is_documentation",
        "is_benchmarking",
        "is_reserved",
        "is_global",
        "bind_family",
        "bind_address",
    ] {
        for l in [mapped, ll, lo] {
            assert!(l.get(key).is_some(), "{key} missing in {l}");
        }
    }
    assert!(stderr(&o).contains("at byte 0"), "the error goes to stderr too: {}", stderr(&o));
}

#[test]
fn classify_text_and_sloppy() {
    let o = bmnet(&["addr", "classify", "::10.0.0.1"]);
    assert_eq!(o.status.code(), Some(0));
    let text = stdout(&o);
    assert!(text.contains("ipv4_compatible"), "{text}");
    assert!(text.contains("bind_error"), "a compatible address cannot be bound: {text}");

    let strict = bmnet(&["addr", "classify", "10.0.0.01"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(stderr(&strict).contains("  10.0.0.01\n         ^"), "caret under byte 7:\n{}", stderr(&strict));

    let sloppy = bmnet(&["addr", "classify", "--sloppy", "--json", "10.0.0.01"]);
    assert_eq!(sloppy.status.code(), Some(0));
    let l = &json_lines(&sloppy)[0];
    assert_eq!(l["canonical"], "10.0.0.1");
    assert!(l["warning"].as_str().unwrap().contains("10.0.0.1"));
    assert!(stderr(&sloppy).contains("warning"));
}

#[test]
fn inspect_runs_without_configuration() {
    let o = bmnet(&["inspect", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let lo = lines.iter().find(|l| l["type"] == "interface" && l["name"] == "lo").expect("lo is listed");
    let addrs = lo["addresses"].as_array().unwrap();
    let v4 = addrs.iter().find(|a| a["canonical"] == "127.0.0.1").expect("127.0.0.1 on lo");
    assert_eq!(v4["is_loopback"], true);
    assert_eq!(v4["prefix_len"], 8);
    let text = bmnet(&["inspect"]);
    assert_eq!(text.status.code(), Some(0));
    assert!(stdout(&text).contains("lo ("), "{}", stdout(&text));
}

/// A namespace with the pitfalls configured for real: `inspect` run inside it must find them.
#[test]
fn inspect_finds_pitfalls_in_a_namespace() {
    let ns = util::netns("inspect");
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&["link", "add", "bmv0", "type", "veth", "peer", "name", "bmv1"]);
    ns.ip(&["link", "set", "bmv0", "up"]);
    ns.ip(&["link", "set", "bmv1", "up"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "bmv0"]);
    ns.ip(&["addr", "add", "10.99.0.1/24", "dev", "bmv1"]);
    ns.ip(&["-6", "addr", "add", "::ffff:192.168.0.14/128", "dev", "bmv0", "nodad"]);
    ns.ip(&["-6", "addr", "add", "::10.1.1.1/128", "dev", "bmv0", "nodad"]);
    ns.ip(&["-6", "addr", "add", "2001:db8::7/64", "dev", "bmv1", "preferred_lft", "0", "nodad"]);

    let o = ns.exec(&[env!("CARGO_BIN_EXE_bmnet"), "inspect", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let lines = json_lines(&o);
    let names: Vec<&str> =
        lines.iter().filter(|l| l["type"] == "interface").filter_map(|l| l["name"].as_str()).collect();
    assert_eq!(names[0], "lo", "interfaces come in index order: {names:?}");
    assert!(names.contains(&"bmv0") && names.contains(&"bmv1"), "{names:?}");
    let pitfalls: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["type"] == "pitfall")
        .map(|l| (l["kind"].as_str().unwrap().to_string(), l["address"].as_str().unwrap().to_string()))
        .collect();
    for expected in [
        ("mapped_address", "::ffff:192.168.0.14"),
        // RFC 5952 text: only mapped addresses keep the dotted quad.
        ("compatible_address", "::a01:101"),
        ("duplicate_address", "10.99.0.1"),
        ("deprecated", "2001:db8::7"),
    ] {
        assert!(
            pitfalls.iter().any(|(k, a)| k == expected.0 && a == expected.1),
            "{expected:?} not found in {pitfalls:?}"
        );
    }
    let bmv0 = lines.iter().find(|l| l["name"] == "bmv0").unwrap();
    let mapped = bmv0["addresses"].as_array().unwrap().iter().find(|a| a["kind"] == "ipv4_mapped").unwrap();
    assert_eq!(mapped["family"], "ipv4");
    assert_eq!(mapped["prefix_len"], 128);

    let text = ns.exec(&[env!("CARGO_BIN_EXE_bmnet"), "inspect"]);
    let text = stdout(&text);
    assert!(text.contains("Pitfalls:"), "{text}");
    assert!(text.contains("IPv4-mapped address configured as IPv6"), "{text}");
}

/// `inspect` inside a node shows the VRRP state of the `bmnet vrrp run` and the cluster names
/// the `bmnet dns serve` of that node answers — and nothing of another namespace's daemons.
#[test]
fn inspect_shows_the_nodes_vrrp_and_dns() {
    let ns = util::netns("inspect-daemons");
    let other = util::netns("inspect-other");
    ns.ip(&["link", "set", "lo", "up"]);
    ns.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    ns.ip(&["addr", "add", "192.168.111.20/24", "dev", "eth0"]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "peer0", "up"]);
    let status_dir = std::env::temp_dir().join(format!("bmnet-status-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&status_dir);
    std::fs::create_dir_all(&status_dir).unwrap();
    let spawn = |netns: &str, args: &[&str]| {
        Daemon(
            std::process::Command::new("ip")
                .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_bmnet")])
                .args(args)
                .env("BMNET_STATUS_DIR", &status_dir)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let _vrrp = spawn(
        &ns.name,
        &[
            "vrrp",
            "run",
            "--interface",
            "eth0",
            "--vrid",
            "51",
            "--priority",
            "150",
            "--vip",
            "192.168.111.5/32",
            "--advert-int",
            "0.1",
            "--vrrp-version",
            "3",
        ],
    );
    let _dns = spawn(
        &ns.name,
        &[
            "dns",
            "serve",
            "--listen",
            "192.168.111.20:53",
            "--zone",
            "ostest.example.com",
            "--api-vip",
            "192.168.111.5",
            "--ingress-vip",
            "192.168.111.4",
        ],
    );
    // A daemon in another namespace, whose status must not show up.
    other.ip(&["link", "set", "lo", "up"]);
    let _elsewhere = spawn(
        &other.name,
        &["dns", "serve", "--listen", "127.0.0.1:5353", "--zone", "elsewhere.example.com", "--api-vip", "10.9.9.9"],
    );

    let inspect = || {
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_bmnet"), "inspect", "--json"])
            .env("BMNET_STATUS_DIR", &status_dir)
            .output()
            .unwrap()
    };
    // Master after Master_Down_Interval (~0.36 s); the DNS server is up at once.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let lines = loop {
        let o = inspect();
        let lines: Vec<Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let master = lines.iter().any(|v| v["type"] == "vrrp" && v["state"] == "MASTER");
        let answered = lines.iter().any(|v| v["type"] == "dns" && v["answer"]["Ok"].is_array());
        if master && answered || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let vrrp = lines.iter().find(|v| v["type"] == "vrrp").unwrap_or_else(|| panic!("no vrrp record: {lines:?}"));
    assert_eq!(vrrp["state"], "MASTER", "{vrrp}");
    assert_eq!(vrrp["vrid"], 51);
    assert_eq!(vrrp["vips"], serde_json::json!(["192.168.111.5/32"]));
    let api = lines
        .iter()
        .find(|v| v["type"] == "dns" && v["name"] == "api.ostest.example.com" && v["rtype"] == "A")
        .unwrap_or_else(|| panic!("no dns record: {lines:?}"));
    assert_eq!(api["answer"]["Ok"], serde_json::json!(["192.168.111.5"]), "{api}");
    let apps = lines
        .iter()
        .find(|v| v["type"] == "dns" && v["name"] == "test.apps.ostest.example.com" && v["rtype"] == "A")
        .unwrap();
    assert_eq!(apps["answer"]["Ok"], serde_json::json!(["192.168.111.4"]), "{apps}");
    assert!(!stdout(&inspect()).contains("elsewhere"), "another namespace's daemon is not this node's");
    // The liveness probes: the VRRP daemon's status is fresh here and absent in the other
    // namespace; a status older than --max-age 0 is not alive.
    let health = |netns: &str, args: &[&str]| {
        std::process::Command::new("ip")
            .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_bmnet"), "vrrp", "health"])
            .args(args)
            .env("BMNET_STATUS_DIR", &status_dir)
            .output()
            .unwrap()
    };
    let alive = health(&ns.name, &[]);
    assert_eq!(alive.status.code(), Some(0), "{}", stderr(&alive));
    assert!(stdout(&alive).starts_with("ok: pid ") && stdout(&alive).contains("VI_1 MASTER"), "{}", stdout(&alive));
    let none = health(&other.name, &[]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("no bmnet vrrp run in this network namespace"), "{}", stderr(&none));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let stale = health(&ns.name, &["--max-age", "0"]);
    assert_eq!(stale.status.code(), Some(1), "{}", stdout(&stale));
    assert!(stderr(&stale).contains("status not refreshed for"), "{}", stderr(&stale));
    // Who may recurse: loopback and the listening address's subnet (the default).
    let server = lines.iter().find(|v| v["type"] == "dns_server").unwrap_or_else(|| panic!("no dns_server: {lines:?}"));
    assert_eq!(server["recursion"], serde_json::json!(["127.0.0.0/8", "192.168.111.0/24", "::1/128"]), "{server}");
    assert!(server["stats"]["forwarder"]["queries"].is_u64(), "{server}");
    // No default route here: the node IP comes from the VRRP instance's VIP subnet, as kubelet's
    // would, and the VIP itself never qualifies.
    let node_ip = lines.iter().find(|v| v["type"] == "node_ip").unwrap_or_else(|| panic!("no node_ip: {lines:?}"));
    assert_eq!(node_ip["vips"], serde_json::json!(["192.168.111.5"]), "{node_ip}");
    assert_eq!(node_ip["chosen"][0]["addr"], "192.168.111.20/24", "{node_ip}");
    let text = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_bmnet"), "inspect"])
        .env("BMNET_STATUS_DIR", &status_dir)
        .output()
        .unwrap();
    let text = stdout(&text);
    assert!(text.contains("VRRP (bmnet vrrp run, pid"), "{text}");
    assert!(text.contains("VI_1 on eth0 (vrid 51): MASTER priority 150, VIPs 192.168.111.5/32"), "{text}");
    assert!(text.contains("api.ostest.example.com A: 192.168.111.5"), "{text}");
    assert!(text.contains("other names forwarded for: 127.0.0.0/8, 192.168.111.0/24, ::1/128"), "{text}");
    assert!(text.contains("Node IP (VIP subnets of this node's VRRP instances: 192.168.111.5;"), "{text}");
    assert!(text.contains("--node-ip=192.168.111.20\n"), "{text}");
    let _ = std::fs::remove_dir_all(&status_dir);
}
