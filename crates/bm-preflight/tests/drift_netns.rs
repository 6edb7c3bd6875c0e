//! Keyfile drift against a real kernel: keyfiles rendered by `nmcli --offline connection add`
//! for two veths of a namespace this test creates, applied with `ip` inside it exactly as the
//! files say, and the namespace read by bm-nodeip's netlink reader. The set as rendered shows
//! no drift; each edit of the files on disk (an address, an MTU, a route) is reported; applying
//! the edits with `ip` makes the drift go away again.
//!
//! The snapshot is taken inside the namespace by re-executing this test binary under
//! `ip netns exec NS`, with `BM_PREFLIGHT_DRIFT_CHILD` set; the child prints the snapshot as one
//! JSON line. Needs root, iproute2 and nmcli: a missing one fails the test with the command
//! that installs it (it never skips).

// Tests are I/O: they run `ip` and `nmcli`, write files and spawn processes.
#![allow(clippy::disallowed_methods)]

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use bm_nodeip::{HostSnapshot, netlink};
use bm_preflight::drift::{Activation, DnsCheck, DriftReport, Field, KeyfileDir, MatchedBy, check_dirs};
use bm_testkit::Netns;

const CHILD_ENV: &str = "BM_PREFLIGHT_DRIFT_CHILD";
const RESULT_MARK: &str = "BM_PREFLIGHT_DRIFT_SNAPSHOT:";

/// Not a test of its own: inside a namespace, prints its snapshot. Without
/// `BM_PREFLIGHT_DRIFT_CHILD` it does nothing.
#[test]
fn netns_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let snapshot = netlink::snapshot().expect("netlink snapshot");
    println!("{RESULT_MARK}{}", serde_json::to_string(&snapshot).unwrap());
}

/// The namespace's snapshot, taken inside it.
fn snapshot(ns: &Netns) -> HostSnapshot {
    let exe = std::env::current_exe().unwrap();
    let out = ns
        .command(exe)
        .args(["netns_child", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("run the child under ip netns exec");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let line =
        stdout.lines().find_map(|l| l.strip_prefix(RESULT_MARK)).unwrap_or_else(|| panic!("no snapshot:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

/// `nmcli --offline connection add type ethernet con-name NAME ifname NAME PROPERTY VALUE...`:
/// the keyfile it renders.
fn nmcli_add(name: &str, properties: &[(&str, &str)]) -> String {
    let mut cmd = Command::new("nmcli");
    cmd.args(["--offline", "connection", "add", "type", "ethernet", "con-name", name, "ifname", name]);
    for (property, value) in properties {
        cmd.args([property, value]);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap_or_else(|e| {
        panic!("cannot run nmcli ({e}): apt-get install -y network-manager (this test never skips)")
    });
    assert!(out.status.success(), "nmcli {cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A directory of keyfiles, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let p = std::env::temp_dir().join(format!("bmnet-drift-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    /// Writes a keyfile as NetworkManager wants it: mode 600, owned by root (the test's user).
    fn write(&self, name: &str, text: &str) {
        let path = self.0.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    /// Replaces `from` with `to` in a keyfile, as someone editing it would.
    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.0.join(name)).unwrap();
        assert!(text.contains(from), "{name} has no {from:?}:\n{text}");
        self.write(name, &text.replace(from, to));
    }

    fn check(&self, host: &HostSnapshot, resolv: &str) -> DriftReport {
        let dirs = [KeyfileDir { path: self.0.clone(), any_name: false }];
        check_dirs(&dirs, host, Some(resolv)).expect("read the keyfiles")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ip -n NS ARGS` (split on whitespace), which must succeed.
fn ip(ns: &Netns, args: &str) -> Output {
    ns.ip(&args.split_whitespace().collect::<Vec<_>>())
}

/// A difference as (link, field, file, kernel, activation).
type Row = (String, Field, Option<String>, Option<String>, Activation);

fn summary(r: &DriftReport) -> Vec<Row> {
    let mut v: Vec<_> = r
        .differences
        .iter()
        .map(|d| (d.link.clone(), d.field, d.file.clone(), d.kernel.clone(), d.activation))
        .collect();
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

const RESOLV: &str = "# Generated by NetworkManager\nsearch lab.example\nnameserver 192.0.2.53\n";

#[test]
fn rendered_applied_edited() {
    let v0 = nmcli_add(
        "v0",
        &[
            ("ethernet.mtu", "1400"),
            ("ipv4.method", "manual"),
            ("ipv4.addresses", "10.9.0.5/24"),
            ("ipv4.gateway", "10.9.0.1"),
            ("ipv4.routes", "198.51.100.0/24 10.9.0.254"),
            ("ipv4.dns", "192.0.2.53"),
            ("ipv4.dns-search", "lab.example"),
            ("ipv6.method", "manual"),
            ("ipv6.addresses", "2001:db8:9::5/64"),
            ("ipv6.gateway", "2001:db8:9::1"),
        ],
    );
    let v1 = nmcli_add(
        "v1",
        &[
            ("ethernet.mtu", "9000"),
            ("ipv4.method", "manual"),
            ("ipv4.addresses", "10.8.0.5/24"),
            ("ipv4.routes", "203.0.113.0/24 10.8.0.1 50"),
            ("ipv6.method", "disabled"),
        ],
    );
    let dir = Dir::new();
    dir.write("v0.nmconnection", &v0);
    dir.write("v1.nmconnection", &v1);

    let ns = Netns::new("drift");
    let peers = Netns::new("drift-peers");
    ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
    for (link, peer) in [("v0", "p0"), ("v1", "p1")] {
        ip(&ns, &format!("link add {link} type veth peer name {peer} netns {}", peers.name));
        ip(&peers, &format!("link set {peer} mtu 9000 up"));
    }
    // What NetworkManager does on activation: the MTU, the addresses, the routes of protocol
    // static with the ethernet default metric (100) unless the file gives one.
    ip(&ns, "link set v0 mtu 1400 up");
    ip(&ns, "link set v1 mtu 9000 up");
    ns.sysctl("net.ipv6.conf.v1.disable_ipv6", "1");
    ip(&ns, "addr add 10.9.0.5/24 dev v0");
    ip(&ns, "addr add 2001:db8:9::5/64 dev v0 nodad");
    ip(&ns, "addr add 10.8.0.5/24 dev v1");
    ip(&ns, "route add default via 10.9.0.1 dev v0 proto static metric 100");
    ip(&ns, "route add 198.51.100.0/24 via 10.9.0.254 dev v0 proto static metric 100");
    ip(&ns, "-6 route add default via 2001:db8:9::1 dev v0 proto static metric 100");
    ip(&ns, "route add 203.0.113.0/24 via 10.8.0.1 dev v1 proto static metric 50");

    // As rendered and applied: no drift.
    let host = snapshot(&ns);
    assert_eq!(host.link_by_name("v0").and_then(|l| l.kind.as_deref()), Some("veth"));
    let r = dir.check(&host, RESOLV);
    assert!(!r.has_drift(), "{:#?}", r.differences);
    let matched: Vec<(&str, &str, MatchedBy)> =
        r.matched.iter().map(|m| (m.profile.id.as_deref().unwrap(), m.link.as_str(), m.by)).collect();
    assert_eq!(matched, [("v0", "v0", MatchedBy::InterfaceName), ("v1", "v1", MatchedBy::InterfaceName)]);
    assert!(r.unmatched.is_empty() && r.not_loaded.is_empty(), "{r:#?}");
    assert!(matches!(r.dns, DnsCheck::Compared { .. }));

    // Edit the files: each edit is reported, and nothing else.
    dir.edit("v0.nmconnection", "address1=10.9.0.5/24", "address1=10.9.0.6/24");
    dir.edit("v1.nmconnection", "mtu=9000", "mtu=1500");
    dir.edit("v0.nmconnection", "route1=198.51.100.0/24,10.9.0.254", "route1=198.51.100.0/24,10.9.0.253");
    dir.edit("v1.nmconnection", "route1=203.0.113.0/24,10.8.0.1,50", "route1=203.0.113.0/25,10.8.0.1,50");
    let r = dir.check(&host, RESOLV);
    assert_eq!(
        summary(&r),
        [
            ("v0".into(), Field::Address, None, s("10.9.0.5/24"), Activation::Remove),
            ("v0".into(), Field::Address, s("10.9.0.6/24"), None, Activation::Add),
            (
                "v0".into(),
                Field::Route,
                s("198.51.100.0/24 via 10.9.0.253"),
                s("198.51.100.0/24 via 10.9.0.254 metric 100"),
                Activation::Set
            ),
            ("v1".into(), Field::Mtu, s("1500"), s("9000"), Activation::Set),
            ("v1".into(), Field::Route, None, s("203.0.113.0/24 via 10.8.0.1 metric 50"), Activation::Remove),
            ("v1".into(), Field::Route, s("203.0.113.0/25 via 10.8.0.1 metric 50"), None, Activation::Add),
        ],
        "{:#?}",
        r.differences
    );
    let mtu = r.differences.iter().find(|d| d.field == Field::Mtu).unwrap();
    assert_eq!(mtu.consequence, "activation sets the MTU of v1 from 9000 to 1500");
    assert!(mtu.profile.file.ends_with("/v1.nmconnection"), "{}", mtu.profile.file);

    // Apply the edits as activation would: the drift is gone.
    ip(&ns, "addr del 10.9.0.5/24 dev v0");
    ip(&ns, "addr add 10.9.0.6/24 dev v0");
    // Deleting the address took the default route with it; activation installs it again.
    ip(&ns, "route replace default via 10.9.0.1 dev v0 proto static metric 100");
    ip(&ns, "route replace 198.51.100.0/24 via 10.9.0.253 dev v0 proto static metric 100");
    ip(&ns, "link set v1 mtu 1500");
    ip(&ns, "route del 203.0.113.0/24 via 10.8.0.1 dev v1");
    ip(&ns, "route add 203.0.113.0/25 via 10.8.0.1 dev v1 proto static metric 50");
    let r = dir.check(&snapshot(&ns), RESOLV);
    assert!(!r.has_drift(), "{:#?}", r.differences);

    // A DNS server the file has and resolv.conf does not: reported.
    let r = dir.check(&snapshot(&ns), "nameserver 192.0.2.99\nsearch lab.example\n");
    assert_eq!(summary(&r), [("v0".into(), Field::Dns, s("192.0.2.53"), None, Activation::Add)]);
}
