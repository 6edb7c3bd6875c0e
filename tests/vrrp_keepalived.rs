//! bmnet's VRRP daemon against real keepalived (Debian's 2.2.7) in network namespaces: each test
//! builds its own hosts on a bridge (`util/vrrp_lab.rs`), runs keepalived on one and
//! `bmnet vrrp run` on the other with the same virtual router, and asks the hosts themselves
//! (`ip -j addr`) who holds the VIP: exactly one after every convergence, and it must stay put.
//!
//! Covered: VRRPv3 over IPv4 and IPv6 multicast, VRRPv2 with PASS authentication, unicast
//! peers; elections won by either side, preemption and `nopreempt`; keepalived stopped with
//! SIGTERM and killed with SIGKILL, bmnet stopped and killed; a failing check script lowering
//! bmnet's priority; tracked interfaces and notify scripts, and `reverse` weights, from one
//! keepalived.conf run by both. Takeover times are printed (`--nocapture`), never asserted: timing
//! belongs to the bench (`benches/vrrp_failover.rs`).
//!
//! Needs root, iproute2 and keepalived (`apt-get install -y keepalived`); without them the
//! tests fail, they never pass silently.

#![cfg(feature = "cli")]
// Namespaces, processes and scratch files are the point of these tests.
#![allow(clippy::disallowed_methods)]

#[path = "util/vrrp_lab.rs"]
mod lab;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use lab::{Daemon, Lab};

fn bmnet_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bmnet"))
}

/// Generous: convergence normally takes a Master_Down_Interval, but two cores build and test
/// at once.
const CONVERGE: Duration = Duration::from_secs(20);
/// How long a converged VIP must stay put.
const SETTLE: Duration = Duration::from_millis(600);

/// One virtual router, rendered for keepalived and for bmnet's flags.
#[derive(Clone)]
struct Router {
    vrid: u8,
    version: u8,
    advert: &'static str,
    vips: Vec<String>,
    auth: Option<&'static str>,
    /// (own address, peers).
    unicast: Option<(String, Vec<String>)>,
}

impl Router {
    fn keepalived(&self, priority: u8, nopreempt: bool) -> String {
        let mut c = String::from("global_defs {\n    script_user root\n}\nvrrp_instance VI_1 {\n    state BACKUP\n");
        c += &format!(
            "    interface eth0\n    virtual_router_id {}\n    priority {priority}\n    advert_int {}\n    version {}\n",
            self.vrid, self.advert, self.version
        );
        if nopreempt {
            c += "    nopreempt\n";
        }
        if let Some(pass) = self.auth {
            c += &format!("    authentication {{\n        auth_type PASS\n        auth_pass {pass}\n    }}\n");
        }
        if let Some((src, peers)) = &self.unicast {
            c += &format!("    unicast_src_ip {src}\n    unicast_peer {{\n");
            for p in peers {
                c += &format!("        {p}\n");
            }
            c += "    }\n";
        }
        c += "    virtual_ipaddress {\n";
        for v in &self.vips {
            c += &format!("        {v}\n");
        }
        c + "    }\n}\n"
    }

    fn bmnet(&self, priority: u8, extra: &[&str]) -> Vec<String> {
        let mut a: Vec<String> = vec![
            "--interface".into(),
            "eth0".into(),
            "--vrid".into(),
            self.vrid.to_string(),
            "--priority".into(),
            priority.to_string(),
            "--advert-int".into(),
            self.advert.into(),
            "--version".into(),
            self.version.to_string(),
        ];
        for v in &self.vips {
            a.push("--vip".into());
            a.push(v.clone());
        }
        if let Some(pass) = self.auth {
            a.push("--auth-pass".into());
            a.push(pass.into());
        }
        if let Some((src, peers)) = &self.unicast {
            a.push("--unicast-src".into());
            a.push(src.clone());
            for p in peers {
                a.push("--unicast-peer".into());
                a.push(p.clone());
            }
        }
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    }
}

fn report(test: &str, what: &str, took: Duration) {
    println!("{test}: {what}: {:.1} ms", took.as_secs_f64() * 1000.0);
}

/// A daemon's log must show it: bmnet logs transitions, keepalived its states.
fn assert_logged(d: &Daemon, needle: &str) {
    let log = d.log_text();
    assert!(log.contains(needle), "{:?} on h{} never logged {needle:?}:\n{log}", d.kind, d.host);
}

/// v3 over IPv4 multicast: keepalived first; bmnet with a higher priority preempts it; bmnet
/// stopped (SIGTERM) hands back within Skew_Time; bmnet with a lower priority stays backup;
/// keepalived stopped (SIGTERM) hands over to bmnet.
#[test]
fn v3_ipv4_elections_both_ways_and_graceful_stops() {
    let lab = Lab::new("v3v4", 2);
    let vip = lab.vip4();
    let r = Router { vrid: 51, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let ka = lab.keepalived(1, &r.keepalived(100, false));
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka]);
    report("v3 IPv4", "keepalived alone becomes master", t);

    let mut bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(150, &[]));
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("v3 IPv4", "bmnet (150) preempts keepalived (100)", t);
    assert_logged(&bm, "BACKUP -> MASTER");
    assert_logged(&ka, "Entering BACKUP STATE");

    let sent = bm.terminate();
    let t = lab
        .wait_since(sent, CONVERGE, |l| l.holders(&vip) == vec![1])
        .expect("keepalived takes over after bmnet's SIGTERM");
    report("v3 IPv4", "bmnet SIGTERM -> keepalived master (Skew_Time 0.061 s)", t);
    bm.wait_exit();
    assert_logged(&bm, "MASTER -> INIT");
    assert_logged(&ka, "Backup received priority 0 advertisement");

    let mut bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(50, &[]));
    std::thread::sleep(Duration::from_secs(1));
    lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    assert_logged(&bm, "INIT -> BACKUP");

    let mut ka = ka;
    let sent = ka.terminate();
    let t = lab.wait_since(sent, CONVERGE, |l| l.has(2, &vip)).expect("bmnet takes over after keepalived's SIGTERM");
    report("v3 IPv4", "keepalived SIGTERM -> bmnet master (Skew_Time 0.080 s)", t);
    ka.wait_exit();
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    bm.stop();
    assert!(lab.holders(&vip).is_empty(), "bmnet's SIGTERM removes the VIP");
}

/// v2 with PASS (keepalived's default version, as OpenShift runs it): keepalived wins, is
/// killed (SIGKILL), and bmnet takes over after Master_Down_Interval; a wrong password is not
/// heard, so bmnet with it becomes a second master (and says why it drops the adverts).
#[test]
fn v2_pass_keepalived_killed() {
    let lab = Lab::new("v2pass", 2);
    let vip = lab.vip4();
    let r = Router {
        vrid: 52,
        version: 2,
        advert: "1",
        vips: vec![format!("{vip}/24")],
        auth: Some("ostest_api_vip"),
        unicast: None,
    };
    let mut ka = lab.keepalived(1, &r.keepalived(100, false));
    lab.converge(&vip, 1, CONVERGE, Duration::ZERO, &[&ka]);
    let bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(50, &[]));
    // One Master_Down_Interval of bmnet (3 + 206/256 s) plus a margin: it must stay backup.
    std::thread::sleep(Duration::from_millis(4200));
    lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    assert_logged(&bm, "INIT -> BACKUP");

    let died = ka.kill();
    let t = lab.wait_since(died, CONVERGE, |l| l.has(2, &vip)).expect("bmnet takes over from a killed keepalived");
    report("v2 PASS", "keepalived SIGKILL -> bmnet master (Master_Down_Interval 3.805 s)", t);
    assert_logged(&bm, "BACKUP -> MASTER (master down interval expired)");
    drop(bm);

    // A wrong password: keepalived does not hear bmnet's adverts, nor bmnet keepalived's.
    let lab = Lab::new("v2bad", 2);
    let vip = lab.vip4();
    let r = Router { vips: vec![format!("{vip}/24")], ..r };
    let ka = lab.keepalived(1, &r.keepalived(100, false));
    lab.converge(&vip, 1, CONVERGE, Duration::ZERO, &[&ka]);
    let bad = Router { auth: Some("wrongpas"), ..r.clone() };
    let bm = lab.bmnet(bmnet_bin(), 2, &bad.bmnet(150, &[]));
    lab.wait(CONVERGE, |l| l.holders(&vip).len() == 2).expect("two masters with mismatched passwords");
    assert_logged(&bm, "dropped an advert");
}

/// v3 over IPv6 (link-local sources, ff02::12): bmnet preempts keepalived, is killed
/// (SIGKILL), keepalived takes over; bmnet restarted with `--nopreempt` removes its stale VIP
/// and leaves keepalived master despite its higher priority.
#[test]
fn v3_ipv6_bmnet_killed_and_nopreempt() {
    let lab = Lab::new("v3v6", 2);
    let vip = lab.vip6();
    let r = Router { vrid: 53, version: 3, advert: "0.1", vips: vec![format!("{vip}/64")], auth: None, unicast: None };
    let ka = lab.keepalived(1, &r.keepalived(100, false));
    lab.converge(&vip, 1, CONVERGE, Duration::ZERO, &[&ka]);
    let mut bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(150, &[]));
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("v3 IPv6", "bmnet (150) preempts keepalived (100)", t);

    let died = bm.kill();
    let t = lab.wait_since(died, CONVERGE, |l| l.has(1, &vip)).expect("keepalived takes over from a killed bmnet");
    report("v3 IPv6", "bmnet SIGKILL -> keepalived master (Master_Down_Interval 0.361 s)", t);
    assert!(lab.has(2, &vip), "a killed bmnet leaves its VIP behind, as a crash would");

    let bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(150, &["--nopreempt"]));
    let t = lab.converge(&vip, 1, CONVERGE, Duration::from_secs(1), &[&ka, &bm]);
    report("v3 IPv6", "restarted bmnet removes its stale VIP", t);
    assert_logged(&bm, "INIT -> BACKUP");
    assert!(!bm.log_text().contains("-> MASTER"), "nopreempt: bmnet must not take over:\n{}", bm.log_text());
}

/// Unicast peers (v3, as OpenShift's unicast mode but faster): bmnet wins, is stopped, and
/// keepalived takes over; then bmnet becomes backup of keepalived.
#[test]
fn v3_unicast_peers() {
    let lab = Lab::new("ucast", 2);
    let vip = lab.vip4();
    let base =
        Router { vrid: 54, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let ka_side = Router { unicast: Some((lab.v4(1), vec![lab.v4(2)])), ..base.clone() };
    let bm_side = Router { unicast: Some((lab.v4(2), vec![lab.v4(1)])), ..base };
    let ka = lab.keepalived(1, &ka_side.keepalived(100, false));
    let mut bm = lab.bmnet(bmnet_bin(), 2, &bm_side.bmnet(200, &[]));
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("v3 unicast", "bmnet (200) master", t);
    let sent = bm.terminate();
    let t = lab.wait_since(sent, CONVERGE, |l| l.holders(&vip) == vec![1]).expect("keepalived takes over");
    report("v3 unicast", "bmnet SIGTERM -> keepalived master", t);
    bm.wait_exit();
    let bm = lab.bmnet(bmnet_bin(), 2, &bm_side.bmnet(20, &[]));
    std::thread::sleep(Duration::from_millis(800));
    lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    assert_logged(&bm, "INIT -> BACKUP");
}

/// Unicast over IPv6 (global sources and peers, the hop limit not checked): keepalived wins,
/// is stopped, bmnet takes over.
#[test]
fn v3_ipv6_unicast_peers() {
    let lab = Lab::new("ucast6", 2);
    let vip = lab.vip6();
    let base =
        Router { vrid: 59, version: 3, advert: "0.1", vips: vec![format!("{vip}/64")], auth: None, unicast: None };
    let ka_side = Router { unicast: Some((lab.v6(1), vec![lab.v6(2)])), ..base.clone() };
    let bm_side = Router { unicast: Some((lab.v6(2), vec![lab.v6(1)])), ..base };
    let mut ka = lab.keepalived(1, &ka_side.keepalived(200, false));
    let bm = lab.bmnet(bmnet_bin(), 2, &bm_side.bmnet(100, &[]));
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("v3 IPv6 unicast", "keepalived (200) master", t);
    assert_logged(&bm, "INIT -> BACKUP");
    let sent = ka.terminate();
    let t = lab.wait_since(sent, CONVERGE, |l| l.holders(&vip) == vec![2]).expect("bmnet takes over");
    report("v3 IPv6 unicast", "keepalived SIGTERM -> bmnet master", t);
    ka.wait_exit();
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
}

/// A check script: bmnet at 150 with a check of weight -100 wins while the check passes; when
/// it fails its priority drops to 50 and keepalived (100) preempts; when it passes again bmnet
/// preempts back.
#[test]
fn failing_check_lowers_priority() {
    let lab = Lab::new("check", 2);
    let vip = lab.vip4();
    let flag = lab.dir.join("healthy");
    std::fs::write(&flag, "").expect("flag file");
    let r = Router { vrid: 55, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let ka = lab.keepalived(1, &r.keepalived(100, false));
    let check = format!("test -e {}", flag.display());
    let bm = lab.bmnet(
        bmnet_bin(),
        2,
        &r.bmnet(
            150,
            &[
                "--check",
                &check,
                "--check-interval",
                "0.1",
                "--check-weight",
                "-100",
                "--check-fall",
                "2",
                "--check-rise",
                "2",
            ],
        ),
    );
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);

    std::fs::remove_file(&flag).expect("remove flag");
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("check", "check fails -> keepalived master", t);
    assert_logged(&bm, "check failed");

    std::fs::write(&flag, "").expect("flag file");
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("check", "check passes again -> bmnet master", t);
}

/// Link state from netlink: bmnet (master) loses its link and goes to FAULT, dropping the VIP,
/// so keepalived takes over; with the link back it returns to BACKUP and preempts again.
#[test]
fn link_down_is_a_fault() {
    let lab = Lab::new("link", 2);
    let vip = lab.vip4();
    let r = Router { vrid: 57, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let ka = lab.keepalived(1, &r.keepalived(100, false));
    let bm = lab.bmnet(bmnet_bin(), 2, &r.bmnet(150, &[]));
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    let down = Command::new("ip").args(["-n", lab.ns(2), "link", "set", "eth0", "down"]).output().expect("ip link");
    assert!(down.status.success());
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("link", "bmnet's link down -> keepalived master", t);
    assert_logged(&bm, "MASTER -> FAULT (link down)");
    let up = Command::new("ip").args(["-n", lab.ns(2), "link", "set", "eth0", "up"]).output().expect("ip link");
    assert!(up.status.success());
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("link", "bmnet's link up -> bmnet preempts again", t);
    assert_logged(&bm, "FAULT -> BACKUP (link up)");
}

/// OpenShift's shape, from one keepalived.conf template run by both daemons (`bmnet vrrp run
/// --config`): VRRPv2, PASS, unicast peers, `label vip`, a `vrrp_script` with a positive
/// weight. bmnet (50 + 20) beats keepalived (40 + 20) while its check passes; when the check
/// fails bmnet drops to 50 and keepalived (60) preempts.
#[test]
fn openshift_shaped_config_file() {
    let lab = Lab::new("ocp", 2);
    let vip = lab.vip4();
    let flags = [lab.dir.join("ok-1"), lab.dir.join("ok-2")];
    for f in &flags {
        std::fs::write(f, "").expect("flag file");
    }
    let conf = |host: usize, priority: u8| {
        let peer = lab.v4(3 - host);
        format!(
            "global_defs {{\n    script_user root\n    vrrp_garp_master_refresh 60\n}}\n\
             vrrp_script chk_ocp_lb {{\n    script \"/usr/bin/test -e {flag}\"\n    interval 1\n    weight 20\n    \
             rise 1\n    fall 1\n}}\n\
             vrrp_instance ostest_API {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 58\n    \
             priority {priority}\n    advert_int 1\n    authentication {{\n        auth_type PASS\n        \
             auth_pass ostest_api_vip\n    }}\n    unicast_src_ip {src}\n    unicast_peer {{\n        {peer}\n    }}\n    \
             virtual_ipaddress {{\n        {vip}/24 label vip\n    }}\n    track_script {{\n        chk_ocp_lb\n    }}\n}}\n",
            flag = flags[host - 1].display(),
            src = lab.v4(host),
        )
    };
    let ka = lab.keepalived(1, &conf(1, 40));
    let path = lab.dir.join("bmnet-keepalived.conf");
    std::fs::write(&path, conf(2, 50)).expect("write config");
    let check = Command::new(bmnet_bin()).args(["vrrp", "check-config"]).arg(&path).output().expect("check-config");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let bm = lab.bmnet(bmnet_bin(), 2, &["--config".into(), path.display().to_string()]);
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("OpenShift shape", "bmnet (70) master over keepalived (60)", t);
    let labels = Command::new("ip").args(["-n", lab.ns(2), "-j", "addr", "show", "dev", "eth0"]).output().expect("ip");
    assert!(String::from_utf8_lossy(&labels.stdout).contains("\"label\":\"eth0:vip\""), "the VIP carries its label");

    std::fs::remove_file(&flags[1]).expect("remove flag");
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("OpenShift shape", "bmnet's check fails (50) -> keepalived (60) preempts", t);
    assert_logged(&bm, "check chk_ocp_lb failed");
}

/// `--json` prints one JSON Lines record per transition with the documented fields.
#[test]
fn json_transitions() {
    let lab = Lab::new("json", 1);
    let vip = lab.vip4();
    let r = Router { vrid: 56, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let mut args = vec!["--json".to_string()];
    args.extend(r.bmnet(100, &[]));
    let mut bm = lab.bmnet(bmnet_bin(), 1, &args);
    lab.converge(&vip, 1, CONVERGE, Duration::ZERO, &[&bm]);
    bm.stop();
    let log = bm.log_text();
    let records: Vec<serde_json::Value> =
        log.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let path: Vec<(&str, &str)> =
        records.iter().map(|r| (r["from"].as_str().unwrap_or("?"), r["to"].as_str().unwrap_or("?"))).collect();
    assert_eq!(path, [("initialize", "backup"), ("backup", "master"), ("master", "initialize")], "{log}");
    for r in &records {
        assert_eq!(r["instance"], "VI_1");
        assert!(r["reason"].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        assert!(r["at"].as_str().is_some_and(|s| s.ends_with('Z')), "{r}");
    }
}

/// One keepalived.conf template with notify scripts and tracked interfaces, run by keepalived
/// on one host and by `bmnet vrrp run --config` on the other. bmnet (150) tracks `trk0` with
/// weight -100 and `trk1` with weight 0: `trk0` down drops it to 50 and keepalived (100)
/// preempts; `trk1` down is a FAULT. Both daemons' notify scripts log what they were called
/// with, and bmnet's calls must read as keepalived's do.
#[test]
fn notify_scripts_and_tracked_interfaces() {
    let lab = Lab::new("notify", 2);
    let vip = lab.vip4();
    let script = lab.dir.join("notify.sh");
    std::fs::write(&script, "#!/bin/sh\nf=$1\nshift\necho \"$*\" >> \"$f\"\n").expect("notify script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    for host in 1..=2 {
        for trk in ["trk0", "trk1"] {
            let peer = format!("{trk}p");
            for args in [
                vec!["-n", lab.ns(host), "link", "add", trk, "type", "veth", "peer", "name", &peer],
                vec!["-n", lab.ns(host), "link", "set", &peer, "up"],
                vec!["-n", lab.ns(host), "link", "set", trk, "up"],
            ] {
                let o = Command::new("ip").args(&args).output().expect("ip");
                assert!(o.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&o.stderr));
            }
        }
    }
    let log = |host: usize, what: &str| lab.dir.join(format!("h{host}-{what}.log"));
    let conf = |host: usize, priority: u8| {
        let (states, all) = (log(host, "states"), log(host, "notify"));
        let (s, states, all) = (script.display(), states.display(), all.display());
        format!(
            "global_defs {{\n    script_user root\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 59\n    \
             priority {priority}\n    advert_int 0.1\n    version 3\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n    \
             track_interface {{\n        trk0 weight -100\n        trk1\n    }}\n    \
             notify_master \"{s} {states} MASTER\"\n    notify_backup \"{s} {states} BACKUP\"\n    \
             notify_fault \"{s} {states} FAULT\"\n    notify_stop \"{s} {states} STOP\"\n    \
             notify \"{s} {all}\"\n}}\n"
        )
    };
    let mut ka = lab.keepalived(1, &conf(1, 100));
    let path = lab.dir.join("bmnet-keepalived.conf");
    std::fs::write(&path, conf(2, 150)).expect("write config");
    let check = Command::new(bmnet_bin()).args(["vrrp", "check-config"]).arg(&path).output().expect("check-config");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let mut bm = lab.bmnet(bmnet_bin(), 2, &["--config".into(), path.display().to_string()]);
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);

    let link = |trk: &str, state: &str| {
        let o = Command::new("ip").args(["-n", lab.ns(2), "link", "set", trk, state]).output().expect("ip link");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    link("trk0", "down");
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("notify", "bmnet's tracked trk0 down (150 -> 50) -> keepalived (100) master", t);
    link("trk0", "up");
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("notify", "trk0 up -> bmnet preempts", t);
    link("trk1", "down");
    let t = lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);
    report("notify", "bmnet's tracked trk1 (weight 0) down -> FAULT, keepalived master", t);
    assert_logged(&bm, "MASTER -> FAULT (check interface:trk1 failing)");
    link("trk1", "up");
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("notify", "trk1 up -> bmnet preempts", t);
    bm.stop();
    lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka]);
    ka.stop();

    let read = |p: std::path::PathBuf| std::fs::read_to_string(&p).unwrap_or_default();
    assert_eq!(
        read(log(2, "states")),
        "BACKUP\nMASTER\nBACKUP\nMASTER\nFAULT\nBACKUP\nMASTER\nSTOP\n",
        "bmnet's notify_<state> calls"
    );
    assert_eq!(
        read(log(2, "notify")),
        "INSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 BACKUP 50\nINSTANCE VI_1 MASTER 150\n\
         INSTANCE VI_1 FAULT 150\nINSTANCE VI_1 BACKUP 150\nINSTANCE VI_1 MASTER 150\nINSTANCE VI_1 STOP 150\n",
        "bmnet's notify calls"
    );
    // keepalived, with the same template: the same scripts, the same arguments.
    let ka_states = read(log(1, "states"));
    let ka_notify = read(log(1, "notify"));
    println!("keepalived's notify calls:\n{ka_notify}");
    assert!(ka_states.starts_with("BACKUP\nMASTER\n") && ka_states.ends_with("STOP\n"), "{ka_states}");
    assert!(ka_notify.starts_with("INSTANCE VI_1 BACKUP 100\nINSTANCE VI_1 MASTER 100\n"), "{ka_notify}");
    assert!(ka_notify.ends_with("INSTANCE VI_1 STOP 100\n"), "{ka_notify}");
}

/// SIGHUP reloads bmnet's keepalived.conf in place, as keepalived's does (OpenShift re-renders
/// the file and signals on every change of the peer list): bmnet first lists a wrong unicast
/// peer with priority 50, so keepalived (100) never hears it and holds the VIP, while bmnet,
/// run with `--no-check-unicast-src` (keepalived's behaviour without check_unicast_src), hears
/// keepalived although it is no listed peer; the rewritten file names keepalived and priority
/// 150, and after SIGHUP bmnet takes over without restarting. A broken file is refused and
/// the running configuration kept.
#[test]
fn sighup_reloads_the_configuration_in_place() {
    let lab = Lab::new("reload", 2);
    let vip = lab.vip4();
    let base =
        Router { vrid: 60, version: 3, advert: "0.1", vips: vec![format!("{vip}/24")], auth: None, unicast: None };
    let ka_side = Router { unicast: Some((lab.v4(1), vec![lab.v4(2)])), ..base.clone() };
    let nobody = format!("10.{}.0.9", lab.v4(1).split('.').nth(1).unwrap_or("0"));
    let ka = lab.keepalived(1, &ka_side.keepalived(100, false));
    let path = lab.dir.join("bmnet-keepalived.conf");
    let write = |peer: &str, priority: u8| {
        let side = Router { unicast: Some((lab.v4(2), vec![peer.to_string()])), ..base.clone() };
        std::fs::write(&path, side.keepalived(priority, false)).expect("write config");
    };
    write(&nobody, 50);
    let args = ["--no-check-unicast-src".into(), "--config".into(), path.display().to_string()];
    let mut bm = lab.bmnet(bmnet_bin(), 2, &args);
    lab.converge(&vip, 1, CONVERGE, SETTLE, &[&ka, &bm]);

    write(&lab.v4(1), 150);
    let hup = Command::new("kill").args(["-HUP", &bm.main_pid().to_string()]).status().expect("kill -HUP");
    assert!(hup.success());
    let t = lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    report("reload", "SIGHUP with keepalived as peer and priority 150 -> bmnet master", t);
    assert!(bm.running(), "bmnet kept running:\n{}", bm.log_text());
    assert_logged(&bm, "reloaded");
    assert_logged(&bm, "VI_1: priority 150");
    let log = bm.log_text();
    assert_eq!(log.matches("INIT -> BACKUP").count(), 1, "the state was kept, not restarted:\n{log}");
    // `bmnet inspect` in the host sees the reloaded priority in the daemon's status.
    let inspect = Command::new("ip")
        .args(["netns", "exec", lab.ns(2)])
        .arg(bmnet_bin())
        .args(["inspect", "--json"])
        .output()
        .expect("bmnet inspect");
    let records = String::from_utf8_lossy(&inspect.stdout).into_owned();
    let vrrp: Vec<serde_json::Value> = records
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["type"] == "vrrp")
        .collect();
    assert_eq!(vrrp.len(), 1, "{records}");
    assert_eq!((vrrp[0]["state"].as_str(), vrrp[0]["priority"].as_u64()), (Some("MASTER"), Some(150)), "{records}");

    std::fs::write(&path, "vrrp_instance VI_1 {\n    virtual_router_id 0\n").expect("write config");
    let hup = Command::new("kill").args(["-HUP", &bm.main_pid().to_string()]).status().expect("kill -HUP");
    assert!(hup.success());
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    assert!(bm.running());
    assert_logged(&bm, "still running the previous configuration");
}

/// `reverse` weights from one keepalived.conf run by both daemons, each host with its own
/// flag files: `up` (+60 reverse) subtracts 60 while its check passes, `down` (-50, reversed
/// on the track_script entry) adds 50 while its check fails. keepalived starts at 80 + 50,
/// bmnet at 100 + 50; each flag created moves the VIP, so the election follows keepalived's
/// arithmetic on both sides: bmnet's `up` passes (90 < 130), keepalived's (70 < 90), bmnet's
/// `down` passes (40 < 70), keepalived's (20 < 40).
#[test]
fn reverse_weights_as_keepalived() {
    let lab = Lab::new("reverse", 2);
    let vip = lab.vip4();
    let flag = |host: usize, what: &str| lab.dir.join(format!("h{host}-{what}"));
    let conf = |host: usize, priority: u8| {
        format!(
            "global_defs {{\n    script_user root\n}}\n\
             vrrp_script up {{\n    script \"/usr/bin/test -e {}\"\n    interval 1\n    weight 60 reverse\n}}\n\
             vrrp_script down {{\n    script \"/usr/bin/test -e {}\"\n    interval 1\n    weight -50\n}}\n\
             vrrp_instance VI_1 {{\n    state BACKUP\n    interface eth0\n    virtual_router_id 61\n    \
             priority {priority}\n    advert_int 0.1\n    version 3\n    \
             virtual_ipaddress {{\n        {vip}/24\n    }}\n    \
             track_script {{\n        up\n        down weight -50 reverse\n    }}\n}}\n",
            flag(host, "up").display(),
            flag(host, "down").display()
        )
    };
    let ka = lab.keepalived(1, &conf(1, 80));
    let path = lab.dir.join("bmnet-keepalived.conf");
    std::fs::write(&path, conf(2, 100)).expect("write config");
    let check = Command::new(bmnet_bin()).args(["vrrp", "check-config"]).arg(&path).output().expect("check-config");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
    let bm = lab.bmnet(bmnet_bin(), 2, &["--config".into(), path.display().to_string()]);
    lab.converge(&vip, 2, CONVERGE, SETTLE, &[&ka, &bm]);
    for (host, what, winner, why) in [
        (2, "up", 1, "bmnet's up passes: 150 - 60 = 90 < keepalived's 130"),
        (1, "up", 2, "keepalived's up passes: 130 - 60 = 70 < 90"),
        (2, "down", 1, "bmnet's down passes: 90 - 50 = 40 < 70"),
        (1, "down", 2, "keepalived's down passes: 70 - 50 = 20 < 40"),
    ] {
        std::fs::write(flag(host, what), "").expect("flag file");
        let t = lab.converge(&vip, winner, CONVERGE, SETTLE, &[&ka, &bm]);
        report("reverse", why, t);
    }
}
