//! The probes on a real segment: a bridge in one namespace, with veths to an "owner" namespace
//! holding an IPv4 and an IPv6 VIP and to a "prober" namespace, where the probing runs.
//!
//! Every test creates its own namespaces (names carrying the pid) and deletes them in `Drop`,
//! also when it panics. The probing runs inside the prober namespace by re-executing this test
//! binary under `ip netns exec NS` (bounded by `timeout`), with `BM_PREFLIGHT_PROBE_CHILD`
//! naming the interface and the addresses; the child prints the reports as one JSON line.
//!
//! Needs root and iproute2; a missing `ip` fails the tests (it does not skip them).

#![cfg(feature = "socket")]
// Tests are I/O: they run `ip` and spawn processes.
#![allow(clippy::disallowed_methods)]

use std::net::IpAddr;
use std::process::{Command, Output};

use bm_preflight::probe::{AnswerKind, MacAddr, ProbeConfig, TargetReport, probe_interface};
use bm_testkit::Netns;

const CHILD_ENV: &str = "BM_PREFLIGHT_PROBE_CHILD";
const RESULT_MARK: &str = "BM_PREFLIGHT_PROBE_RESULT:";

const OWNER_MAC: &str = "02:00:00:00:00:aa";
const PROBER_MAC: &str = "02:00:00:00:00:01";
const VIP4: &str = "10.77.0.10";
const VIP6: &str = "fd00:77::10";
const FREE4: &str = "10.77.0.99";
const FREE6: &str = "fd00:77::99";
const OWN4: &str = "10.77.0.3";
const OWN6: &str = "fd00:77::3";

/// Not a test of its own: the entry point of the re-executed binary inside the prober
/// namespace. Without `BM_PREFLIGHT_PROBE_CHILD` it does nothing.
#[test]
fn netns_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    if let Some(addresses) = spec.strip_prefix("udp ") {
        // The control: an ordinary datagram to each address, which resolves it the usual way.
        let socket = std::net::UdpSocket::bind("[::]:0").expect("a UDP socket");
        for a in addresses.split_whitespace() {
            let a: IpAddr = a.parse().expect("an address");
            let to = match a {
                IpAddr::V4(v4) => std::net::SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), 9),
                IpAddr::V6(_) => std::net::SocketAddr::new(a, 9),
            };
            socket.send_to(b"hello", to).expect("sending a datagram");
        }
        println!("{RESULT_MARK}[]");
        return;
    }
    let mut words = spec.split_whitespace();
    let interface = words.next().expect("an interface");
    let targets: Vec<IpAddr> = words.map(|w| w.parse().expect("an address")).collect();
    let reports = probe_interface(interface, targets, ProbeConfig::default(), &[]).expect("probing");
    println!("{RESULT_MARK}{}", serde_json::to_string(&reports).unwrap());
}

/// Runs a command, failing the test with a useful message when it cannot run or fails.
fn run(cmd: &mut Command) -> Output {
    let out = match cmd.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{:?} not found ({e}): these tests need iproute2 (apt-get install -y iproute2)", cmd.get_program())
        }
        Err(e) => panic!("cannot run {cmd:?}: {e}"),
    };
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `ip -n NS ARGS` (split on whitespace), which must succeed.
fn ip(ns: &Netns, args: &str) -> Output {
    run(Command::new("ip").arg("-n").arg(&ns.name).args(args.split_whitespace()))
}

/// The namespace's neighbour table, both families, as `ip neigh show` prints it.
fn neighbours(ns: &Netns) -> String {
    let v4 = ip(ns, "-4 neigh show");
    let v6 = ip(ns, "-6 neigh show");
    format!("{}{}", String::from_utf8_lossy(&v4.stdout), String::from_utf8_lossy(&v6.stdout))
}

/// The segment: `br0` in the bridge namespace, the owner's `o0` and the prober's `p0` on it.
struct Segment {
    bridge: Netns,
    owner: Netns,
    prober: Netns,
}

fn segment() -> Segment {
    let bridge = Netns::new("probe-br");
    let owner = Netns::new("probe-owner");
    let prober = Netns::new("probe-prober");
    // No duplicate address detection on the links created from now on: the addresses are
    // usable at once, and no namespace sends solicitations of its own.
    for ns in [&bridge, &owner, &prober] {
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0");
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0");
    }
    ip(&bridge, "link add br0 type bridge mcast_snooping 0");
    ip(&bridge, &format!("link add bo type veth peer name o0 netns {}", owner.name));
    ip(&bridge, &format!("link add bp type veth peer name p0 netns {}", prober.name));
    for port in ["bo", "bp"] {
        ip(&bridge, &format!("link set {port} master br0"));
        ip(&bridge, &format!("link set {port} up"));
    }
    ip(&bridge, "link set br0 up");

    ip(&owner, &format!("link set o0 address {OWNER_MAC}"));
    ip(&owner, "addr add 10.77.0.2/24 dev o0");
    ip(&owner, &format!("addr add {VIP4}/32 dev o0"));
    ip(&owner, &format!("addr add {VIP6}/64 dev o0 nodad"));
    ip(&owner, "link set o0 up");

    ip(&prober, &format!("link set p0 address {PROBER_MAC}"));
    ip(&prober, &format!("addr add {OWN4}/24 dev p0"));
    ip(&prober, &format!("addr add {OWN6}/64 dev p0 nodad"));
    ip(&prober, "link set p0 up");
    Segment { bridge, owner, prober }
}

/// Runs `netns_child` inside the prober namespace with `spec`, bounded by 60 s: its output.
fn child(prober: &Netns, spec: &str) -> Output {
    let exe = std::env::current_exe().unwrap();
    prober
        .command("timeout")
        .arg("60")
        .arg(exe)
        .args(["netns_child", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_ENV, spec)
        .output()
        .expect("run the child")
}

/// Probes `targets` on `p0` from inside the prober namespace.
fn probe_from(prober: &Netns, targets: &[&str]) -> Vec<TargetReport> {
    let out = child(prober, &format!("p0 {}", targets.join(" ")));
    assert!(
        out.status.success(),
        "the child failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT_MARK))
        .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"));
    serde_json::from_str(line).unwrap()
}

fn report<'a>(reports: &'a [TargetReport], address: &str) -> &'a TargetReport {
    let a: IpAddr = address.parse().unwrap();
    reports.iter().find(|r| r.address == a).unwrap_or_else(|| panic!("no report for {address}: {reports:#?}"))
}

#[test]
fn vips_in_use_are_found_free_and_own_addresses_are_clean_and_nobody_learns_anything() {
    let s = segment();
    let owner_mac: MacAddr = OWNER_MAC.parse().unwrap();
    let targets = [VIP4, VIP6, FREE4, FREE6, OWN4, OWN6];
    let reports = probe_from(&s.prober, &targets);
    assert_eq!(reports.len(), targets.len(), "{reports:#?}");
    assert!(reports.iter().all(|r| r.probes_sent == 3), "{reports:#?}");

    // The owner answers both VIPs: an ARP reply, a neighbour advertisement, from its MAC.
    let vip4 = report(&reports, VIP4);
    assert!(vip4.in_use(), "{reports:#?}");
    assert!(vip4.answers.iter().all(|a| a.mac == owner_mac && a.kind == AnswerKind::ArpReply), "{vip4:#?}");
    let vip6 = report(&reports, VIP6);
    assert!(vip6.in_use(), "{reports:#?}");
    assert!(
        vip6.answers.iter().all(|a| a.mac == owner_mac && a.kind == AnswerKind::NeighborAdvertisement),
        "{vip6:#?}"
    );
    // Nobody has the free addresses, and the prober's own are not reported against it.
    for free in [FREE4, FREE6, OWN4, OWN6] {
        assert!(!report(&reports, free).in_use(), "{free}: {reports:#?}");
    }

    // Nothing was learned: no namespace has a neighbour entry for a probed address, and the
    // owner has none for the prober at all.
    for ns in [&s.bridge, &s.owner, &s.prober] {
        let table = neighbours(ns);
        for t in targets {
            assert!(!table.lines().any(|l| l.split_whitespace().next() == Some(t)), "{t} in {}:\n{table}", ns.name);
        }
    }
    let owner_table = neighbours(&s.owner);
    assert!(!owner_table.contains(PROBER_MAC), "the owner learned the prober:\n{owner_table}");
}

/// The check of the test above is one that can fail: ordinary traffic from the prober to the
/// VIPs (a datagram each, resolved by the kernel) leaves entries behind, in the owner for the
/// prober and in the prober for the VIPs.
#[test]
fn ordinary_traffic_would_have_been_learned() {
    let s = segment();
    let out = child(&s.prober, &format!("udp {VIP4} {VIP6}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Resolution runs after the send returns: wait for it, up to a generous deadline.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let learned = |ns: &Netns, what: &[&str]| {
        let table = neighbours(ns);
        what.iter().all(|w| table.lines().any(|l| l.contains(w)))
    };
    while !(learned(&s.owner, &[&format!("{OWN4} "), &format!("{OWN6} "), PROBER_MAC])
        && learned(&s.prober, &[&format!("{VIP4} "), &format!("{VIP6} ")]))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "not learned:\nowner:\n{}\nprober:\n{}",
            neighbours(&s.owner),
            neighbours(&s.prober)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_link_that_is_down_is_an_error_not_a_clean_report() {
    let s = segment();
    ip(&s.prober, "link set p0 down");
    let out = child(&s.prober, &format!("p0 {VIP4}"));
    assert!(!out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("sending a probe"), "{text}");
}
