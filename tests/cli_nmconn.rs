//! `bmnet nmconn check` and `bmnet nmconn set`: rustc-style diagnostics and JSON Lines, exit 1
//! on errors, directory rules, and offline edits that refuse what NetworkManager would drop and
//! keep the file's mode.

// Writes keyfiles and runs the binary.
#![allow(clippy::disallowed_methods)]

mod util;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use serde_json::Value;
use util::{bmnet, stderr as err, stdout as out};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("bmnet-cli-nmconn-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(path: &PathBuf, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

const GOOD: &str = "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\ninterface-name=eth0\n\n[ethernet]\n\n[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\nmethod=manual\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n";

#[test]
fn a_clean_file_passes() {
    let d = dir("clean");
    let f = d.join("eth0.nmconnection");
    write(&f, GOOD, 0o600);
    let o = bmnet(&["nmconn", "check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}{}", out(&o), err(&o));
    assert!(out(&o).contains("1 file checked for NetworkManager 1.42: 0 errors, 0 warnings"), "{}", out(&o));
}

#[test]
fn typos_are_errors_with_the_place_and_the_fix() {
    let d = dir("typo");
    let f = d.join("eth0.nmconnection");
    write(
        &f,
        &GOOD.replace("10.0.0.5/24,10.0.0.1", "10.10.99.99\\24").replace("[ethernet]\n", "[ethernet]\nmtu=01500\n"),
        0o600,
    );
    let o = bmnet(&["nmconn", "check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let text = out(&o);
    let path = f.display().to_string();
    assert!(text.contains("error[integer-octal]: `01500` starts with 0"), "{text}");
    assert!(text.contains(&format!("--> {path}:8:5")), "{text}");
    assert!(text.contains("8 | mtu=01500\n  |     ^^^^^"), "{text}");
    assert!(text.contains("= help: write `1500`"), "{text}");
    assert!(text.contains("error[address-dropped]"), "{text}");
    assert!(text.contains("= help: did you mean `10.10.99.99/24`?"), "{text}");
    assert!(text.contains("error[manual-without-addresses]"), "{text}");

    let o = bmnet(&["nmconn", "check", "--json", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let octal = lines.iter().find(|v| v["code"] == "integer-octal").unwrap();
    assert_eq!(octal["type"], "diagnostic");
    assert_eq!(octal["severity"], "error");
    assert_eq!(octal["file"], path);
    assert_eq!((octal["line"].as_u64(), octal["column"].as_u64()), (Some(8), Some(5)));
    assert_eq!(octal["group"], "ethernet");
    assert_eq!(octal["key"], "mtu");
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["errors"], 3);
}

#[test]
fn version_changes_the_verdict() {
    let d = dir("version");
    let f = d.join("port.nmconnection");
    let port = "[connection]\nid=p\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f71\ntype=ethernet\ninterface-name=eno1\ncontroller=bond0\nport-type=bond\n\n[ethernet]\n";
    write(&f, port, 0o600);
    let o = bmnet(&["nmconn", "check", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("error[key-needs-newer-nm]"), "{}", out(&o));
    assert!(out(&o).contains("help: write `master=bond0`"), "{}", out(&o));
    let o = bmnet(&["nmconn", "check", "--nm-version", "1.46", f.to_str().unwrap()]);
    assert!(!out(&o).contains("key-needs-newer-nm"), "{}", out(&o));
    // Alone, its controller is dangling (a warning).
    assert!(out(&o).contains("warning[controller-dangling]"), "{}", out(&o));
    let o = bmnet(&["nmconn", "check", "--nm-version", "one", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn directories_get_the_set_rules() {
    let d = dir("set");
    write(&d.join("a.nmconnection"), GOOD, 0o600);
    write(
        &d.join("b.nmconnection"),
        &GOOD.replace("id=eth0", "id=eth1").replace("interface-name=eth0", "interface-name=eth1"),
        0o644,
    );
    write(&d.join(".hidden.nmconnection"), "garbage", 0o600);
    write(&d.join("c.nmconnection~"), "garbage", 0o600);
    let o = bmnet(&["nmconn", "check", "--json", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let codes: Vec<&str> = lines.iter().filter_map(|v| v["code"].as_str()).collect();
    assert_eq!(codes, ["file-insecure", "uuid-duplicate"], "{lines:?}");
    assert_eq!(lines.last().unwrap()["files"], 2, "hidden and backup files are skipped as NetworkManager skips them");
}

#[test]
fn set_edits_validates_and_keeps_the_mode() {
    let d = dir("edit");
    let f = d.join("eth0.nmconnection");
    write(&f, GOOD, 0o600);
    let p = f.to_str().unwrap();
    let o = bmnet(&[
        "nmconn",
        "set",
        p,
        "ipv4.addresses=10.0.0.7/24",
        "ipv4.dns=1.1.1.1,8.8.8.8",
        "802-3-ethernet.mtu=9000",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.contains("address1=10.0.0.7/24\n"), "{text}");
    assert!(text.contains("dns=1.1.1.1;8.8.8.8;\n"), "{text}");
    assert!(text.contains("[ethernet]\nmtu=9000\n"), "{text}");
    assert!(text.starts_with("[connection]\nid=eth0\n"), "other lines untouched: {text}");
    assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);

    // A change NetworkManager would refuse is not written.
    let before = std::fs::read_to_string(&f).unwrap();
    let o = bmnet(&["nmconn", "set", p, "ipv4.method=disabled"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("not written"), "{}", err(&o));
    assert!(out(&o).contains("error[not-allowed-for-method]"), "{}", out(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), before);

    // Nor a value it would drop, nor an unknown property.
    let o = bmnet(&["nmconn", "set", p, "ipv4.addresses=10.10.99.99\\24"]);
    assert_eq!(o.status.code(), Some(1));
    let o = bmnet(&["nmconn", "set", p, "ipv4.adresses=10.0.0.8/24"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("did you mean `ipv4.addresses`?"), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), before);
    let leftovers = std::fs::read_dir(&d).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

/// `bmnet inspect` checks this host's keyfiles: run in a private mount namespace whose /run is
/// a fresh tmpfs holding one broken profile in /run/NetworkManager/system-connections.
#[test]
fn inspect_checks_the_hosts_keyfiles() {
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; d=/run/NetworkManager/system-connections; mkdir -p $d; \
         printf '%s' '{}' > $d/eth0.nmconnection; chmod 600 $d/eth0.nmconnection; exec {} inspect --json",
        GOOD.replace("[ethernet]\n", "[ethernet]\nmtu=01500\n"),
        env!("CARGO_BIN_EXE_bmnet")
    );
    let o = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) is missing: apt-get install -y util-linux");
    assert!(o.status.success(), "needs root for a mount namespace: {}", err(&o));
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let d = lines.iter().find(|v| v["type"] == "diagnostic").unwrap_or_else(|| panic!("{}", out(&o)));
    assert_eq!(d["file"], "/run/NetworkManager/system-connections/eth0.nmconnection");
    assert_eq!(d["code"], "integer-octal");
}

const NNCP: &str = "apiVersion: nmstate.io/v1
kind: NodeNetworkConfigurationPolicy
metadata:
  name: master-0
spec:
  desiredState:
    interfaces:
    - name: bond0
      type: bond
      state: up
      mtu: 9000
      ipv4: {enabled: false}
      ipv6: {enabled: false}
      link-aggregation:
        mode: 802.3ad
        options: {miimon: '100', lacp_rate: fast}
        port: [eno1, eno2]
    - {name: eno1, type: ethernet, state: up}
    - {name: eno2, type: ethernet, state: up}
    - name: bond0.100
      type: vlan
      state: up
      vlan: {base-iface: bond0, id: 100}
      ipv4:
        enabled: true
        address: [{ip: 192.168.111.20, prefix-length: 24}]
      ipv6: {enabled: false}
    routes:
      config:
      - {destination: 0.0.0.0/0, next-hop-address: 192.168.111.1, next-hop-interface: bond0.100}
    dns-resolver:
      config: {server: [192.168.111.1]}
";

#[test]
fn render_writes_checked_keyfiles_and_reads_them_back() {
    let d = dir("render");
    let state = d.join("nncp.yaml");
    write(&state, NNCP, 0o644);
    let out_dir = d.join("out");
    let o = bmnet(&["nmconn", "render", state.to_str().unwrap(), "--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let mut names: Vec<String> =
        std::fs::read_dir(&out_dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["bond0.100.nmconnection", "bond0.nmconnection", "eno1.nmconnection", "eno2.nmconnection"]);
    for n in &names {
        assert_eq!(std::fs::metadata(out_dir.join(n)).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let vlan = std::fs::read_to_string(out_dir.join("bond0.100.nmconnection")).unwrap();
    // As nmstate writes it: the default route as a route, DNS on the interface that reaches it.
    assert!(vlan.contains("address1=192.168.111.20/24\n"), "{vlan}");
    assert!(vlan.contains("route1=0.0.0.0/0,192.168.111.1\n"), "{vlan}");
    assert!(vlan.contains("dns=192.168.111.1;\n"), "{vlan}");
    let port = std::fs::read_to_string(out_dir.join("eno1.nmconnection")).unwrap();
    assert!(port.contains("master=bond0\n") && port.contains("slave-type=bond\n"), "{port}");

    let o = bmnet(&["nmconn", "check", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains("4 files checked for NetworkManager 1.42: 0 errors, 0 warnings"), "{}", out(&o));
    let o = bmnet(&["nmconn", "fmt", "--check", out_dir.join("bond0.nmconnection").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "rendered files are canonical: {}", out(&o));

    let o = bmnet(&["nmconn", "to-nmstate", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let yaml = out(&o);
    assert!(yaml.contains("- name: bond0\n  type: bond\n"), "{yaml}");
    assert!(yaml.contains("base-iface: bond0"), "{yaml}");

    // A state with a mistake names the field and writes nothing.
    let bad = d.join("bad.yaml");
    write(&bad, &NNCP.replace("lacp_rate: fast", "lacp_rate: fastest"), 0o644);
    let empty = d.join("empty");
    let o = bmnet(&["nmconn", "render", bad.to_str().unwrap(), "--out-dir", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("lacp_rate"), "{}", err(&o));
    assert!(!empty.exists());
}

#[test]
fn fmt_rewrites_to_networkmanagers_order() {
    let d = dir("fmt");
    let f = d.join("eth0.nmconnection");
    let shuffled = "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n\n[connection]\ntype=ethernet\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ninterface-name=eth0\n\n[ethernet]\n\n[ipv6]\nmethod=auto\naddr-gen-mode=default\n\n[proxy]\n";
    write(&f, shuffled, 0o600);
    let p = f.to_str().unwrap();
    let o = bmnet(&["nmconn", "fmt", "--check", p]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains("would reformat"), "{}", out(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), shuffled, "--check writes nothing");
    let o = bmnet(&["nmconn", "fmt", p]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), GOOD);
    assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
}

/// What an nmstate state cannot hold is said like `check` says things: a code, the place, the
/// line quoted (on stderr beside the YAML; JSON Lines records before the state with --json).
#[test]
fn to_nmstate_says_what_the_state_leaves_out() {
    let d = dir("to-nmstate");
    let f = d.join("eth0.nmconnection");
    write(&f, &GOOD.replace("[ethernet]\n", "[ethernet]\nspeed=1000\n"), 0o600);
    let p = f.to_str().unwrap();
    let o = bmnet(&["nmconn", "to-nmstate", p]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(out(&o).contains("- name: eth0\n"), "{}", out(&o));
    let e = err(&o);
    assert!(e.contains("warning[state-key-left-out]: ethernet.speed is not represented"), "{e}");
    assert!(e.contains(&format!("--> {p}:8:1")) && e.contains("8 | speed=1000"), "{e}");

    let o = bmnet(&["nmconn", "to-nmstate", "--json", p]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let lines: Vec<Value> = out(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The speed, and GOOD's addr-gen-mode=default (nmstate says eui64 or stable-privacy).
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["type"], "diagnostic");
    assert_eq!(lines[0]["code"], "state-key-left-out");
    assert_eq!((lines[0]["file"].as_str(), lines[0]["line"].as_u64()), (Some(p), Some(8)));
    assert_eq!(lines[1]["key"], "addr-gen-mode");
    assert_eq!(lines[2]["type"], "state");
    std::fs::remove_dir_all(&d).unwrap();
}

/// The uid files this test creates get: root's, when the suite runs as root.
fn my_uid(d: &std::path::Path) -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    let probe = d.join("uid-probe");
    std::fs::write(&probe, "").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    uid
}

/// A keyfile holding a secret, left 0644 and someone else's by hand: NetworkManager refuses it,
/// and `check` says so. `set`, `fmt` and `render` write it back as NetworkManager writes its
/// own: mode 0600 (a tighter mode is kept) and owned by whoever writes it — root, as root.
#[test]
fn rewritten_keyfiles_are_0600_and_owned_by_the_writer() {
    use std::os::unix::fs::MetadataExt as _;
    let d = dir("mode");
    let me = my_uid(&d);
    let secret = GOOD.replace("[proxy]\n", "[proxy]\n\n[802-1x]\neap=peap;\nidentity=node\npassword=s3cret\n");
    let f = d.join("eth0.nmconnection");
    let p = f.to_str().unwrap();
    let other = |path: &std::path::Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        // Someone else's file, where this test may give it away (as root).
        if me == 0 {
            std::os::unix::fs::chown(path, Some(1000), Some(1000)).unwrap();
        }
    };
    let mode_and_owner = |path: &std::path::Path| {
        let m = std::fs::metadata(path).unwrap();
        (m.permissions().mode() & 0o7777, m.uid())
    };
    write(&f, &secret, 0o644);
    other(&f, 0o644);
    let o = bmnet(&["nmconn", "check", "--json", p]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    assert!(out(&o).contains("\"code\":\"file-insecure\""), "{}", out(&o));

    let o = bmnet(&["nmconn", "set", p, "connection.zone=trusted"]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert!(std::fs::read_to_string(&f).unwrap().contains("zone=trusted\n"));
    assert_eq!(mode_and_owner(&f), (0o600, me), "set writes 0600, the writer's");
    let o = bmnet(&["nmconn", "check", p]);
    assert_eq!(o.status.code(), Some(0), "NetworkManager loads it now: {}", out(&o));

    // fmt, on a file it reorders.
    let shuffled = secret.replace("[ethernet]\n\n", "") + "\n[ethernet]\n";
    write(&f, &shuffled, 0o640);
    other(&f, 0o640);
    let o = bmnet(&["nmconn", "fmt", p]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_ne!(std::fs::read_to_string(&f).unwrap(), shuffled, "reformatted");
    assert_eq!(mode_and_owner(&f), (0o600, me), "fmt writes 0600, the writer's");

    // A tighter mode is kept.
    write(&f, &shuffled, 0o400);
    let o = bmnet(&["nmconn", "fmt", p]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(mode_and_owner(&f).0, 0o400);

    // render, over a 0644 file of a previous run.
    let state = d.join("state.yaml");
    write(&state, "interfaces:\n- {name: eno1, type: ethernet, ipv4: {enabled: true, dhcp: true}}\n", 0o644);
    let out_dir = d.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let old = out_dir.join("eno1.nmconnection");
    write(&old, "[connection]\nid=old\n", 0o644);
    other(&old, 0o644);
    let o = bmnet(&["nmconn", "render", state.to_str().unwrap(), "--out-dir", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(mode_and_owner(&old), (0o600, me), "render writes 0600, the writer's");
    let leftovers: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "no temporary file left behind: {leftovers:?}");
    std::fs::remove_dir_all(&d).unwrap();
}
