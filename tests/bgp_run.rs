//! `bmnet bgp run` against FRR (Debian's `frr`, 8.4) in network namespaces: a node namespace
//! runs the binary with a bgpVIPConfig-shaped file; the router's FIB, `vtysh` and the node's
//! `lo` show what it did. Covers: a VIP without checks announced at once, a gated VIP only
//! once its check passes, `bmnet inspect` showing the session and the VIPs, SIGHUP replacing
//! the VIPs, SIGTERM withdrawing everything before a Cease with the shutdown message, and
//! `bmnet bgp check-config` refusing a broken file with its place.
//!
//! Root is needed (namespaces). FRR missing is a failure, never a skip.

// Runs the binary, FRR and namespaces; reads the clock to wait.
#![allow(clippy::disallowed_methods)]

#[path = "../crates/bm-bgp/tests/util/mod.rs"]
mod bgp_util;
mod util;

use std::collections::BTreeSet;
use std::process::Stdio;

use bgp_util::{Frr, LIMIT, Lab, require_frr, wait_for};
use util::{Daemon, STATUS_DIR, bmnet, stderr};

fn config(dir: &std::path::Path, healthy: &std::path::Path, vips: &str) -> std::path::PathBuf {
    let path = dir.join("bgp.yaml");
    let text = format!(
        "localASN: 64601
routerID: 10.0.0.11
peers:
  - peerAddress: 10.0.0.1
    peerASN: 64512
    holdTime: 9s
    keepaliveTime: 3s
communities: [\"64512:100\"]
checks:
  - name: api
    script: /usr/bin/test -e {}
    interval: 200ms
    fall: 1
vips:
{vips}",
        healthy.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn vip_on_lo(lab: &Lab, vip: &str) -> bool {
    let o = lab.nodes[0].ip(&["-4", "-o", "addr", "show", "dev", "lo"]);
    String::from_utf8_lossy(&o.stdout).contains(&format!(" {vip}/32 "))
}

fn in_fib(lab: &Lab, vip: &str) -> bool {
    !lab.fib_next_hops(&format!("{vip}/32")).is_empty()
}

#[test]
fn run_gate_inspect_reload_and_stop() {
    require_frr();
    let lab = Lab::new("bgpr", 1);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
",
    );
    let dir = std::env::temp_dir().join(format!("bmnet-bgp-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let healthy = dir.join("healthy");
    let file = config(&dir, &healthy, "  - address: 192.0.2.10\n    checks: [api]\n  - address: 192.0.2.11\n");
    let o = bmnet(&["bgp", "check-config", &file.display().to_string()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let log = std::fs::File::create(dir.join("events.jsonl")).unwrap();
    let child = lab.nodes[0]
        .command(env!("CARGO_BIN_EXE_bmnet"))
        .args(["--json", "bgp", "run", "--config"])
        .arg(&file)
        .env("BMNET_STATUS_DIR", STATUS_DIR)
        .stdout(Stdio::from(log))
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut daemon = Daemon(child);

    wait_for("192.0.2.11 (no checks) in FRR's FIB", LIMIT, || {
        if in_fib(&lab, "192.0.2.11") { Ok(()) } else { Err("not yet".into()) }
    });
    assert!(!in_fib(&lab, "192.0.2.10"), "announced before its check passed");
    assert!(vip_on_lo(&lab, "192.0.2.11") && !vip_on_lo(&lab, "192.0.2.10"));
    let route = frr.vtysh("show ip bgp 192.0.2.11/32");
    assert!(route.contains("64512:100"), "the file's community on the route: {route}");

    std::fs::write(&healthy, "").unwrap();
    wait_for("192.0.2.10 in FRR's FIB once its check passes", LIMIT, || {
        if in_fib(&lab, "192.0.2.10") { Ok(()) } else { Err("not yet".into()) }
    });
    assert!(vip_on_lo(&lab, "192.0.2.10"));

    // bmnet inspect in the node's namespace reads the daemon's status.
    let o = lab.nodes[0]
        .command(env!("CARGO_BIN_EXE_bmnet"))
        .arg("inspect")
        .env("BMNET_STATUS_DIR", STATUS_DIR)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("BGP (bmnet bgp run, pid "), "{text}");
    assert!(text.contains("peer 10.0.0.1 AS 64512: Established since "), "{text}");
    assert!(text.contains("VIP 192.0.2.10/32: announced since "), "{text}");
    assert!(text.contains("check api: last run passed"), "{text}");

    // The check fails: withdrawn, off lo; the session stays.
    std::fs::remove_file(&healthy).unwrap();
    wait_for("192.0.2.10 withdrawn after its check failed", LIMIT, || {
        if in_fib(&lab, "192.0.2.10") { Err("still there".into()) } else { Ok(()) }
    });
    assert!(!vip_on_lo(&lab, "192.0.2.10"));
    assert_eq!(frr.peer_state("10.0.0.11"), "Established");

    // SIGHUP: 192.0.2.11 goes, 192.0.2.12 comes.
    config(&dir, &healthy, "  - address: 192.0.2.10\n    checks: [api]\n  - address: 192.0.2.12\n");
    let pid = daemon.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    wait_for("the reload: 192.0.2.12 in, 192.0.2.11 out", LIMIT, || {
        let now: BTreeSet<&str> = ["192.0.2.11", "192.0.2.12"].into_iter().filter(|v| in_fib(&lab, v)).collect();
        if now == BTreeSet::from(["192.0.2.12"]) { Ok(()) } else { Err(format!("{now:?}")) }
    });
    assert!(!vip_on_lo(&lab, "192.0.2.11"));

    // SIGTERM: everything withdrawn, then the Cease with the message; exit 0.
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = daemon.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let neighbor = wait_for("FRR's session reset by the Cease", LIMIT, || {
        let v = frr.json("show bgp neighbor 10.0.0.11 json");
        let n = &v["10.0.0.11"];
        if n["bgpState"] != "Established" && n["lastResetDueTo"].is_string() {
            Ok(n.clone())
        } else {
            Err(format!("{n}"))
        }
    });
    assert_eq!(neighbor["lastNotificationReason"], "Cease/Administrative Shutdown", "{neighbor}");
    assert_eq!(neighbor["lastShutdownDescription"], "bmnet bgp stopping", "{neighbor}");
    // zebra takes the route out of the FIB a moment after bgpd drops the session.
    wait_for("192.0.2.12 out of FRR's FIB", LIMIT, || {
        if in_fib(&lab, "192.0.2.12") { Err("still there".into()) } else { Ok(()) }
    });
    assert!(!vip_on_lo(&lab, "192.0.2.12"), "the VIP left lo on exit");

    // The JSON events say the same, each versioned.
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = events.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.iter().all(|r| r["json_version"] == 1));
    let vip_events: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["type"] == "bgp_vip" && r["event"]["prefix"] == "192.0.2.12/32")
        .map(|r| (r["event"]["kind"].as_str().unwrap().to_string(), r["event"]["reason"]["kind"].to_string()))
        .collect();
    assert_eq!(
        vip_events,
        [("announced".to_string(), "null".to_string()), ("withdrawn".to_string(), "\"stopped\"".to_string())]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_names_the_place() {
    let dir = std::env::temp_dir().join(format!("bmnet-bgp-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.yaml");
    std::fs::write(
        &path,
        "localASN: 64601\nrouterID: 10.0.0.11\npeers:\n  - peerAddress: 10.0.0.1\n    peerAS: 1\nvips: []\n",
    )
    .unwrap();
    let o = bmnet(&["bgp", "check-config", &path.display().to_string()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("bad.yaml:5:5: peers[0]: unknown field `peerAS`"), "{}", stderr(&o));
    let toml = dir.join("bad.toml");
    std::fs::write(&toml, "localASN = 64601\nrouterID = \"10.0.0.11\"\nvips = []\n[[peers]]\npeerAddress = \"10.0.0.1\"\npeerASN = 64512\nholdTime = \"2s\"\n").unwrap();
    let o = bmnet(&["bgp", "check-config", &toml.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("bad.toml: peers[0].holdTime: whole seconds, 0 or 3 to 65535"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}
