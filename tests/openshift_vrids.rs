//! OpenShift's VRIDs (`bm_vrrp::OpenShiftVrids`, `bmnet vrrp vr-ids`) against a Go
//! reimplementation of baremetal-runtimecfg's formula (`tests/peers/go_vrids.go`: Go's uint8
//! arithmetic, which wraps before the modulo, is the point) on thousands of names: DNS labels as
//! install-config takes them, consecutive numbered names, and UTF-8 names with bytes above 240
//! (planes 15 and 16: `F3`/`F4` lead bytes, where the sum wraps).
//!
//! Needs Go (`apt-get install -y golang-go`); without it the test fails, never passes silently.

#![allow(clippy::disallowed_methods)] // Runs Go and the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bm_testkit::Rng;
use bm_vrrp::OpenShiftVrids;

const GO_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/go_vrids.go");

fn names() -> Vec<String> {
    let mut names: Vec<String> =
        ["cnf10", "cnf11", "ostest", "lab18", "lab19", "sno-33", "sno-34", "a", "x".repeat(63).as_str()]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for prefix in ["cnf", "lab", "sno-", "ocp", "cluster-"] {
        names.extend((0..200).map(|i| format!("{prefix}{i}")));
    }
    let mut rng = Rng::new(0x5eed_0019);
    let label = b"abcdefghijklmnopqrstuvwxyz0123456789-";
    for _ in 0..4000 {
        let len = 1 + rng.index(40);
        names.push((0..len).map(|_| char::from(*rng.pick(label))).collect());
    }
    for _ in 0..500 {
        let len = 1 + rng.index(12);
        names.push((0..len).map(|_| *rng.pick(&['é', 'Ω', '雪', '🦀', '\u{F0000}', '\u{10FFFD}', 'a', '7'])).collect());
    }
    names
}

#[test]
fn vrids_agree_with_runtimecfg_in_go() {
    let go = Command::new("go").arg("version").output();
    assert!(go.is_ok_and(|o| o.status.success()), "go not found: apt-get install -y golang-go");
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("openshift-vrids-go");
    std::fs::create_dir_all(tmp.join("cache")).unwrap();
    let names = names();
    let mut child = Command::new("go")
        .args(["run", GO_SCRIPT])
        .current_dir(&tmp)
        .env("GOCACHE", tmp.join("cache"))
        .env("GOPATH", tmp.join("gopath"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("go run");
    let input: String = names.iter().map(|n| format!("{n}\n")).collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "go run: {}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), names.len());
    let mut high_bytes = 0;
    for (name, line) in names.iter().zip(lines) {
        let ours = OpenShiftVrids::for_cluster(name).unwrap();
        assert_eq!(format!("{} {}", ours.api, ours.ingress), line, "{name:?}");
        high_bytes += usize::from(name.bytes().any(|b| b > 240));
    }
    assert!(high_bytes > 100, "names that exercise the 8-bit wrap: {high_bytes}");
}

#[test]
fn the_cli_prints_them_and_flags_collisions() {
    let o = Command::new(env!("CARGO_BIN_EXE_bmnet"))
        .args(["vrrp", "vr-ids", "cnf10", "cnf11", "ostest"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "cnf10 and cnf11 collide");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("cnf10: api 147 ingress 2  collides with cnf11"), "{text}");
    assert!(text.contains("cnf11: api 228 ingress 147  collides with cnf10"), "{text}");
    let ostest = OpenShiftVrids::for_cluster("ostest").unwrap();
    assert!(text.contains(&format!("ostest: api {} ingress {}\n", ostest.api, ostest.ingress)), "{text}");
    let o = Command::new(env!("CARGO_BIN_EXE_bmnet")).args(["--json", "vrrp", "vr-ids", "lab18"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["api"].as_u64(), v["type"].as_str()), (Some(211), Some("vr_ids")));
    let o = Command::new(env!("CARGO_BIN_EXE_bmnet")).args(["vrrp", "vr-ids", ""]).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "an empty name is a usage error");
    assert!(String::from_utf8_lossy(&o.stderr).contains("the cluster name is empty"));
}
