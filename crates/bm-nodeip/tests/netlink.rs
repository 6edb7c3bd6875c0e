//! The netlink backend against real network namespaces, and against `ip -j` on the same
//! namespaces.
//!
//! Every test creates its own namespaces (`ip netns add`, names carrying the pid) and deletes
//! them in `Drop`, also when it panics. The library runs inside a namespace by re-executing
//! this test binary under `ip netns exec NS`, with `BM_NODEIP_NETLINK_CHILD` telling the
//! `netns_child` test what to do; it prints one JSON line that the parent reads.
//!
//! Needs root and iproute2; a missing `ip` fails the tests (it does not skip them).

#![cfg(feature = "netlink")]
// Tests are I/O: they run `ip`, spawn processes and read clocks.
#![allow(clippy::disallowed_methods)]

use bm_testkit::Netns;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use bm_nodeip::netlink::{self, Waited};
use bm_nodeip::{AddressScope, HostSnapshot, LOCAL_TABLE, MAIN_TABLE, NextHop, Route, RouteProtocol, RouteType};
use ipnet::IpNet;
use serde_json::{Value, json};

const CHILD_ENV: &str = "BM_NODEIP_NETLINK_CHILD";
const RESULT_MARK: &str = "BM_NODEIP_NETLINK_RESULT:";

// --- Child side -----------------------------------------------------------------------------

/// Not a test of its own: the entry point of the re-executed binary inside a namespace. Without
/// `BM_NODEIP_NETLINK_CHILD` it does nothing.
#[test]
fn netns_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else { return };
    let result = match mode.split(':').collect::<Vec<_>>()[..] {
        ["snapshot"] => serde_json::to_value(netlink::snapshot().expect("snapshot")).unwrap(),
        ["wait", timeout_ms, interval_ms] => {
            let waited = netlink::wait_until(
                tentative,
                Duration::from_millis(timeout_ms.parse().unwrap()),
                Duration::from_millis(interval_ms.parse().unwrap()),
            )
            .expect("wait_until");
            waited_json(&waited)
        }
        ["churn", millis] => {
            // Snapshots for a while, counting outcomes, while the parent changes addresses.
            let (mut ok, mut retries, mut checked) = (0u32, 0u32, 0u32);
            let deadline = std::time::Instant::now() + Duration::from_millis(millis.parse().unwrap());
            while std::time::Instant::now() < deadline {
                match netlink::snapshot() {
                    Ok(s) => {
                        ok += 1;
                        // Links do not change: every address must be on a link of the same snapshot.
                        for a in &s.addresses {
                            assert!(s.link(a.link).is_some(), "{a:?} on no link");
                        }
                        // And the stable addresses must all be there, whatever the churn did.
                        let stable = s.addresses.iter().filter(|a| a.ip().to_string().starts_with("10.0.")).count();
                        assert_eq!(stable, 400, "{s:#?}");
                        checked += 1;
                    }
                    Err(netlink::Error::Retries { .. }) => retries += 1,
                    Err(e) => panic!("snapshot under churn: {e}"),
                }
            }
            json!({ "ok": ok, "retries": retries, "checked": checked })
        }
        _ => panic!("unknown {CHILD_ENV}={mode}"),
    };
    println!("{RESULT_MARK}{result}");
}

/// The predicate of the wait tests: every address is past duplicate address detection.
fn tentative(s: &HostSnapshot) -> Option<String> {
    let a = s.addresses.iter().find(|a| a.flags.tentative)?;
    let name = s.link(a.link).map_or("?", |l| l.name.as_str());
    Some(format!("{} on {name} is tentative (DAD)", a.ip()))
}

fn waited_json(w: &Waited) -> Value {
    json!({
        "snapshot": w.snapshot,
        "elapsed_ms": w.elapsed.as_secs_f64() * 1000.0,
        "polls": w.polls,
        "pending": w.pending,
        "ready": w.is_ready(),
    })
}

// --- Namespaces -----------------------------------------------------------------------------

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

/// What these tests do in a namespace beyond the test kit's [`Netns`]: `ip` with its
/// arguments in one string, its JSON, and the snapshot a child process takes inside.
trait Lab {
    /// `ip -n NS ARGS` (split on whitespace), which must succeed.
    fn run_ip(&self, args: &str) -> Output;
    /// `ip -n NS -j ARGS`, parsed.
    fn ip_json(&self, args: &str) -> Value;
    /// Runs `netns_child` inside the namespace and returns its JSON.
    fn child(&self, mode: &str) -> Value;
    /// The namespace's [`HostSnapshot`], taken inside it.
    fn snapshot(&self) -> HostSnapshot;
}

impl Lab for Netns {
    fn run_ip(&self, args: &str) -> Output {
        run(Command::new("ip").arg("-n").arg(&self.name).args(args.split_whitespace()))
    }

    fn ip_json(&self, args: &str) -> Value {
        let out = run(Command::new("ip").arg("-n").arg(&self.name).arg("-j").args(args.split_whitespace()));
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("`ip -j {args}`: {e}"))
    }

    fn child(&self, mode: &str) -> Value {
        let exe = std::env::current_exe().unwrap();
        let out = run(self
            .command(exe)
            .args(["netns_child", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD_ENV, mode));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix(RESULT_MARK))
            .unwrap_or_else(|| panic!("no result from the child:\n{stdout}"));
        serde_json::from_str(line).unwrap()
    }

    fn snapshot(&self) -> HostSnapshot {
        serde_json::from_value(self.child("snapshot")).unwrap()
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn index(s: &HostSnapshot, name: &str) -> u32 {
    s.link_by_name(name).unwrap_or_else(|| panic!("no link {name} in {:#?}", s.links)).index
}

fn address<'a>(s: &'a HostSnapshot, a: &str) -> &'a bm_nodeip::Address {
    s.addresses.iter().find(|x| x.ip() == ip(a)).unwrap_or_else(|| panic!("no address {a} in {:#?}", s.addresses))
}

// --- Links and addresses --------------------------------------------------------------------

/// A namespace with a veth whose peer is up in another namespace, a bridge with a veth port,
/// a macvlan on the veth, a link that is down, and addresses of every kind the policy looks at.
fn host_with_links() -> (Netns, Netns) {
    let a = Netns::new("links");
    let b = Netns::new("peer");
    // No duplicate address detection on links created from now on: link-local addresses would
    // otherwise leave the tentative state between our dump and `ip`'s.
    a.sysctl("net.ipv6.conf.default.accept_dad", "0");
    a.run_ip(&format!("link add v0 type veth peer name p0 netns {}", b.name));
    a.run_ip("link set v0 address 02:00:00:00:00:01 mtu 1400 up");
    b.run_ip("link set p0 mtu 1400 up");
    a.run_ip("link add br0 type bridge");
    a.run_ip("link add v1 type veth peer name v1p");
    a.run_ip("link set v1 master br0");
    a.run_ip("link set br0 up");
    a.run_ip("link set v1 up");
    a.run_ip("link set v1p up");
    a.run_ip("link add mv0 link v0 type macvlan mode bridge");
    a.run_ip("link set mv0 up");
    a.run_ip("link add v2 type veth peer name v2p"); // Both ends stay down.

    a.run_ip("addr add 10.1.0.5/24 dev v0");
    a.run_ip("addr add 10.1.0.6/24 dev v0"); // Secondary: same subnet.
    a.run_ip("addr add 10.1.0.9/24 dev v0 label v0:eip");
    a.run_ip("addr add 10.2.0.5/24 dev br0");
    a.run_ip("addr add 2001:db8:a::5/64 dev v0 nodad");
    a.run_ip("addr add 2001:db8:a::6/64 dev v0 nodad preferred_lft 0");
    a.run_ip("addr add 2001:db8:a::7/64 dev v0 nodad valid_lft 3600 preferred_lft 1800");
    a.run_ip("addr add 2001:db8:c::5/64 dev br0 nodad");
    (a, b)
}

#[test]
fn links() {
    let (a, _b) = host_with_links();
    let s = a.snapshot();

    let lo = s.link_by_name("lo").unwrap();
    assert!(lo.loopback && lo.up && lo.kind.is_none(), "{lo:?}");

    let v0 = s.link_by_name("v0").unwrap();
    assert_eq!(v0.kind.as_deref(), Some("veth"));
    assert!(v0.up && v0.lower_up && !v0.loopback, "{v0:?}");
    assert_eq!(v0.mtu, 1400);
    assert_eq!(v0.mac.as_deref(), Some("02:00:00:00:00:01"));
    assert_eq!(v0.master, None);

    let br0 = s.link_by_name("br0").unwrap();
    assert_eq!(br0.kind.as_deref(), Some("bridge"));
    let v1 = s.link_by_name("v1").unwrap();
    assert_eq!(v1.master, Some(br0.index));
    assert_eq!(s.link_by_name("mv0").unwrap().kind.as_deref(), Some("macvlan"));
    let v2 = s.link_by_name("v2").unwrap();
    assert!(!v2.up && !v2.lower_up, "{v2:?}");

    // `IFLA_LINK`: a veth's peer in this namespace, a macvlan's lower link; none for a peer in
    // another namespace (its index names nothing here) or for a link stacked on nothing.
    assert_eq!(v0.parent, None, "the peer p0 is in another namespace");
    assert_eq!(v1.parent, Some(index(&s, "v1p")));
    assert_eq!(s.link_by_name("v1p").unwrap().parent, Some(v1.index));
    assert_eq!(s.link_by_name("mv0").unwrap().parent, Some(v0.index));
    assert_eq!((br0.parent, lo.parent), (None, None));
    // No bond or VLAN here (this kernel has neither module): their fields stay empty.
    assert!(s.links.iter().all(|l| l.bond_mode.is_none() && l.vlan_id.is_none()), "{:#?}", s.links);

    // Every link, as `ip -d link show` sees it.
    let ip_links = a.ip_json("-d link show");
    let ip_links = ip_links.as_array().unwrap();
    assert_eq!(s.links.len(), ip_links.len(), "{:#?}", s.links);
    for (ours, theirs) in s.links.iter().zip(ip_links) {
        let flags: Vec<&str> = theirs["flags"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(u64::from(ours.index), theirs["ifindex"].as_u64().unwrap());
        assert_eq!(ours.name, theirs["ifname"].as_str().unwrap());
        assert_eq!(ours.kind.as_deref(), theirs["linkinfo"]["info_kind"].as_str(), "{}", ours.name);
        assert_eq!(ours.up, flags.contains(&"UP"), "{}", ours.name);
        assert_eq!(ours.lower_up, flags.contains(&"LOWER_UP"), "{}", ours.name);
        assert_eq!(ours.loopback, flags.contains(&"LOOPBACK"), "{}", ours.name);
        assert_eq!(u64::from(ours.mtu), theirs["mtu"].as_u64().unwrap(), "{}", ours.name);
        assert_eq!(ours.mac.as_deref(), theirs["address"].as_str(), "{}", ours.name);
        let master = ours.master.map(|m| s.link(m).unwrap().name.as_str());
        assert_eq!(master, theirs["master"].as_str(), "{}", ours.name);
        let parent = ours.parent.map(|p| s.link(p).unwrap().name.as_str());
        let link_netns = theirs.get("link_netnsid").is_some();
        assert_eq!(parent, theirs["link"].as_str().filter(|_| !link_netns), "{}", ours.name);
    }
}

#[test]
fn addresses() {
    let (a, _b) = host_with_links();
    let s = a.snapshot();
    let v0 = index(&s, "v0");

    let primary = address(&s, "10.1.0.5");
    assert_eq!(primary.link, v0);
    assert_eq!(primary.addr, net("10.1.0.5/24"));
    assert_eq!(primary.scope, AddressScope::Universe);
    assert!(primary.flags.permanent && !primary.flags.secondary && !primary.flags.temporary);
    assert_eq!(primary.label, None, "the kernel's default label (the link's name) is not a label");
    assert_eq!((primary.preferred_lft, primary.valid_lft), (None, None));

    let secondary = address(&s, "10.1.0.6");
    assert!(secondary.flags.secondary && !secondary.flags.temporary, "{secondary:?}");
    let eip = address(&s, "10.1.0.9");
    assert_eq!(eip.label.as_deref(), Some("v0:eip"));
    assert!(eip.flags.secondary);

    let nodad = address(&s, "2001:db8:a::5");
    assert_eq!(nodad.addr, net("2001:db8:a::5/64"));
    assert!(nodad.flags.nodad && nodad.flags.permanent && !nodad.flags.tentative && !nodad.flags.secondary);
    assert!(!nodad.is_deprecated());

    let deprecated = address(&s, "2001:db8:a::6");
    assert!(deprecated.flags.deprecated, "{deprecated:?}");
    assert_eq!(deprecated.preferred_lft, Some(0));
    assert_eq!(deprecated.valid_lft, None);
    assert!(deprecated.is_deprecated());

    let finite = address(&s, "2001:db8:a::7");
    assert!(!finite.flags.permanent, "an address with lifetimes is not permanent: {finite:?}");
    let (p, v) = (finite.preferred_lft.unwrap(), finite.valid_lft.unwrap());
    assert!((1790..=1800).contains(&p) && (3590..=3600).contains(&v), "{finite:?}");

    let lo = address(&s, "::1");
    assert_eq!(lo.scope, AddressScope::Host);
    assert!(s.addresses.iter().any(|x| x.link == v0 && x.scope == AddressScope::Link), "v0 has a link-local");

    assert_eq!(address_facts(&s), ip_address_facts(&a.ip_json("addr show")));
}

/// What both `ip -j addr show` and a snapshot say about every address, as comparable rows.
type Facts = BTreeSet<(u32, String, String, String, Vec<&'static str>, Option<u32>, Option<u32>)>;

fn address_facts(s: &HostSnapshot) -> Facts {
    s.addresses
        .iter()
        .map(|a| {
            let scope = match a.scope {
                AddressScope::Universe => "global".to_string(),
                AddressScope::Link => "link".to_string(),
                AddressScope::Host => "host".to_string(),
                other => format!("{other:?}"),
            };
            let mut flags = Vec::new();
            for (set, name) in [
                (a.flags.secondary || a.flags.temporary, "secondary"),
                (a.flags.tentative, "tentative"),
                (a.flags.deprecated, "deprecated"),
                (a.flags.nodad, "nodad"),
                (a.flags.dadfailed, "dadfailed"),
                (a.flags.optimistic, "optimistic"),
                (!a.flags.permanent, "dynamic"),
            ] {
                if set {
                    flags.push(name);
                }
            }
            let lifetime = |t: Option<u32>| t.map(|t| t.min(1)); // Finite ones count down.
            (
                a.link,
                a.addr.to_string(),
                scope,
                a.label.clone().unwrap_or_default(),
                flags,
                lifetime(a.preferred_lft),
                lifetime(a.valid_lft),
            )
        })
        .collect()
}

fn ip_address_facts(links: &Value) -> Facts {
    let mut facts = Facts::new();
    for link in links.as_array().unwrap() {
        let ifname = link["ifname"].as_str().unwrap();
        for a in link["addr_info"].as_array().unwrap() {
            let lifetime = |k: &str| a[k].as_u64().map(|v| v as u32).filter(|&v| v != u32::MAX).map(|t| t.min(1));
            let label = a["label"].as_str().filter(|&l| l != ifname).unwrap_or_default().to_string();
            let mut flags = Vec::new();
            for name in
                ["secondary", "temporary", "tentative", "deprecated", "nodad", "dadfailed", "optimistic", "dynamic"]
            {
                if a[name].as_bool() == Some(true) {
                    // IFA_F_SECONDARY and IFA_F_TEMPORARY are one bit: `ip` names it by family.
                    flags.push(if name == "temporary" { "secondary" } else { name });
                }
            }
            facts.insert((
                link["ifindex"].as_u64().unwrap() as u32,
                format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"].as_u64().unwrap()),
                a["scope"].as_str().unwrap().to_string(),
                label,
                flags,
                lifetime("preferred_life_time"),
                lifetime("valid_life_time"),
            ));
        }
    }
    facts
}

#[test]
fn tentative_is_seen_at_once() {
    let a = Netns::new("dad");
    let b = Netns::new("dadpeer");
    a.run_ip(&format!("link add v0 type veth peer name p0 netns {}", b.name));
    b.run_ip("link set p0 up");
    a.run_ip("link set v0 up");
    // Duplicate address detection lasts at least 5 s: the snapshot cannot miss it.
    a.sysctl("net.ipv6.neigh.v0.retrans_time_ms", "5000");
    a.run_ip("addr add 2001:db8:a::5/64 dev v0");
    let s = a.snapshot();
    let t = address(&s, "2001:db8:a::5");
    assert!(t.flags.tentative && !t.flags.nodad && !t.flags.dadfailed, "{t:?}");
    assert_eq!(tentative(&s).map(|r| r.ends_with("is tentative (DAD)")), Some(true));
    // `ip` agrees.
    let ip_says = a.ip_json("addr show dev v0");
    let info = ip_says[0]["addr_info"].as_array().unwrap();
    let theirs = info.iter().find(|x| x["local"] == "2001:db8:a::5").unwrap();
    assert_eq!(theirs["tentative"], true);
}

#[test]
fn empty_namespace() {
    let a = Netns::bare("empty");
    let s = a.snapshot();
    assert_eq!(s.links.len(), 1, "{s:#?}");
    assert!(s.links[0].loopback && !s.links[0].up);
    assert!(s.addresses.is_empty() && s.routes.is_empty(), "{s:#?}");
}

#[test]
fn in_process_snapshot() {
    // The test's own namespace, whatever it holds: the call works and lists a loopback.
    let s = netlink::snapshot().expect("snapshot of the current namespace");
    assert!(s.links.iter().any(|l| l.loopback), "{:#?}", s.links);
}

#[test]
fn snapshots_while_addresses_change() {
    // 200 links with 2 stable addresses each: dumps of several datagrams, which the kernel
    // flags NLM_F_DUMP_INTR when an address changes in the middle.
    let a = Netns::new("churn");
    let mut batch = String::new();
    for i in 0..100 {
        batch.push_str(&format!("link add c{i} type veth peer name d{i}\n"));
        for (dev, j) in [(format!("c{i}"), 2 * i), (format!("d{i}"), 2 * i + 1)] {
            batch.push_str(&format!("link set {dev} up\n"));
            batch.push_str(&format!("addr add 10.0.{j}.1/24 dev {dev}\n"));
            batch.push_str(&format!("addr add 10.0.{j}.2/24 dev {dev}\n"));
        }
    }
    let mut ip = Command::new("ip").args(["-n", &a.name, "-batch", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    ip.stdin.take().unwrap().write_all(batch.as_bytes()).unwrap();
    assert!(ip.wait().unwrap().success());

    let script = "while :; do ip addr add 192.0.2.1/32 dev c0; ip addr del 192.0.2.1/32 dev c0; done";
    let mut churn = Command::new("ip")
        .args(["netns", "exec", &a.name, "sh", "-c", script])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let result = a.child("churn:1500");
    let _ = churn.kill();
    let _ = churn.wait();
    // Ending the shell leaves at most one `ip` of the loop behind, which ends by itself.
    assert!(result["checked"].as_u64().unwrap() > 0, "{result:#}");
}

// --- Routes ---------------------------------------------------------------------------------

#[test]
fn routes() {
    let (a, _b) = host_with_links();
    a.run_ip("route add default via 10.1.0.1 dev v0 metric 100");
    a.run_ip("route add default via 10.2.0.1 dev br0 metric 200");
    a.run_ip("route add default metric 50 nexthop via 10.1.0.1 dev v0 nexthop via 10.2.0.1 dev br0 weight 3");
    a.run_ip("route add 198.51.100.0/24 via 10.1.0.1 dev v0 src 10.1.0.6 proto static");
    a.run_ip("route add 192.0.2.0/24 via 10.1.0.1 dev v0 table 100");
    a.run_ip("route add blackhole 203.0.113.0/24");
    a.run_ip("-6 route add default via 2001:db8:a::1 dev v0 metric 100");
    a.run_ip("-6 route add default via 2001:db8:c::1 dev br0 metric 300");
    a.run_ip("-6 route add 2001:db8:ff::/48 via 2001:db8:a::1 dev v0 table 1000");
    // An address without a prefix route, and the prefix learnt from a router advertisement.
    a.run_ip("addr add 2001:db8:1::10/128 dev v0 nodad");
    a.run_ip("-6 route add 2001:db8:1::/64 dev v0 proto ra");
    // The kernel adds the local route of a link-local address when its DAD ends (1-2 s after
    // link up, later on a loaded machine): compare once no address is tentative, or a route
    // would appear between our dump and `ip`'s.
    let settled = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while a
        .ip_json("-6 addr show tentative")
        .as_array()
        .is_some_and(|l| l.iter().any(|i| i["addr_info"].as_array().is_some_and(|a| !a.is_empty())))
    {
        assert!(std::time::Instant::now() < settled, "addresses still tentative after 20 s");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let s = a.snapshot();
    let (v0, br0) = (index(&s, "v0"), index(&s, "br0"));

    let find = |table: u32, dst: &str, metric: u32| -> &Route {
        s.routes
            .iter()
            .find(|r| r.table == table && r.destination == net(dst) && r.metric == metric)
            .unwrap_or_else(|| panic!("no {dst} metric {metric} in table {table}: {:#?}", s.routes))
    };

    let d = find(MAIN_TABLE, "0.0.0.0/0", 100);
    assert!(d.is_default());
    assert_eq!(
        (d.gateway, d.link, d.kind, d.protocol),
        (Some(ip("10.1.0.1")), Some(v0), RouteType::Unicast, RouteProtocol::Boot)
    );
    assert_eq!(find(MAIN_TABLE, "0.0.0.0/0", 200).gateway_via(br0), Some(ip("10.2.0.1")));

    let ecmp = find(MAIN_TABLE, "0.0.0.0/0", 50);
    assert_eq!((ecmp.gateway, ecmp.link), (None, None));
    assert_eq!(
        ecmp.nexthops,
        vec![
            NextHop { gateway: Some(ip("10.1.0.1")), link: v0, weight: 1 },
            NextHop { gateway: Some(ip("10.2.0.1")), link: br0, weight: 3 },
        ]
    );
    assert!(ecmp.uses_link(br0) && ecmp.gateway_via(v0) == Some(ip("10.1.0.1")));

    let d6 = find(MAIN_TABLE, "::/0", 100);
    assert_eq!((d6.gateway, d6.link), (Some(ip("2001:db8:a::1")), Some(v0)));
    assert_eq!(find(MAIN_TABLE, "::/0", 300).link, Some(br0));

    let src = find(MAIN_TABLE, "198.51.100.0/24", 0);
    assert_eq!((src.prefsrc, src.protocol), (Some(ip("10.1.0.6")), RouteProtocol::Static));
    assert_eq!(find(100, "192.0.2.0/24", 0).gateway, Some(ip("10.1.0.1")));
    assert_eq!(find(1000, "2001:db8:ff::/48", 1024).gateway, Some(ip("2001:db8:a::1")), "RTA_TABLE beyond 255");
    assert_eq!(find(MAIN_TABLE, "203.0.113.0/24", 0).kind, RouteType::Reject);

    // The kernel's prefix route of 10.1.0.5/24, and the local table.
    let connected = find(MAIN_TABLE, "10.1.0.0/24", 0);
    assert_eq!(
        (connected.protocol, connected.prefsrc, connected.link),
        (RouteProtocol::Kernel, Some(ip("10.1.0.5")), Some(v0))
    );
    assert_eq!(find(LOCAL_TABLE, "10.1.0.9/32", 0).kind, RouteType::Local);

    // A /128 address brings only a /128 kernel route; the on-link /64 comes from "RA".
    assert_eq!(address(&s, "2001:db8:1::10").addr.prefix_len(), 128);
    assert_eq!(find(MAIN_TABLE, "2001:db8:1::10/128", 256).protocol, RouteProtocol::Kernel);
    let ra = find(MAIN_TABLE, "2001:db8:1::/64", 1024);
    assert_eq!((ra.protocol, ra.link, ra.gateway), (RouteProtocol::Ra, Some(v0), None));

    // Every route of every table, as `ip` sees them.
    let names: BTreeMap<u32, &str> = s.links.iter().map(|l| (l.index, l.name.as_str())).collect();
    let ours: BTreeSet<String> = s.routes.iter().map(|r| route_row(r, &names)).collect();
    let mut theirs = BTreeSet::new();
    for family in ["-4", "-6"] {
        for r in a.ip_json(&format!("{family} route show table all")).as_array().unwrap() {
            theirs.insert(ip_route_row(r, family == "-6"));
        }
    }
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), s.routes.len(), "no two routes alike");

    // The default routes, exactly.
    let defaults =
        |rows: &BTreeSet<String>| -> Vec<String> { rows.iter().filter(|r| r.contains(" default ")).cloned().collect() };
    assert_eq!(defaults(&ours).len(), 5, "{ours:#?}");
}

/// `family table type destination metric dev gateway prefsrc protocol nexthops`.
fn route_row(r: &Route, names: &BTreeMap<u32, &str>) -> String {
    let dst = if r.is_default() { "default".to_string() } else { r.destination.to_string() };
    let kind = match r.kind {
        RouteType::Unicast => "unicast".to_string(),
        RouteType::Local => "local".to_string(),
        RouteType::Broadcast => "broadcast".to_string(),
        RouteType::Multicast => "multicast".to_string(),
        RouteType::Reject => "blackhole".to_string(), // The only reject route of the test.
        RouteType::Other(4) => "anycast".to_string(),
        RouteType::Other(n) => n.to_string(),
    };
    let proto = match r.protocol {
        RouteProtocol::Kernel => "kernel".to_string(),
        RouteProtocol::Boot => "boot".to_string(),
        RouteProtocol::Static => "static".to_string(),
        RouteProtocol::Ra => "ra".to_string(),
        RouteProtocol::Dhcp => "dhcp".to_string(),
        RouteProtocol::Other(n) => n.to_string(),
    };
    let hops: Vec<String> = r
        .nexthops
        .iter()
        .map(|h| format!("{}@{}*{}", h.gateway.map(|g| g.to_string()).unwrap_or_default(), names[&h.link], h.weight))
        .collect();
    format!(
        "{:?} {} {kind} {dst} {} {} {} {} {proto} [{}]",
        r.family,
        r.table,
        r.metric,
        r.link.map_or("-", |l| names[&l]),
        r.gateway.map(|g| g.to_string()).unwrap_or_default(),
        r.prefsrc.map(|g| g.to_string()).unwrap_or_default(),
        hops.join(" ")
    )
}

fn ip_route_row(r: &Value, ipv6: bool) -> String {
    let s = |k: &str| r[k].as_str().map(str::to_string);
    let table = match s("table").as_deref() {
        None | Some("main") => MAIN_TABLE,
        Some("local") => LOCAL_TABLE,
        Some("default") => 253,
        Some(n) => n.parse().unwrap(),
    };
    let dst = s("dst").unwrap();
    let dst = if dst == "default" || dst.contains('/') {
        dst
    } else if ipv6 {
        format!("{dst}/128")
    } else {
        format!("{dst}/32")
    };
    let hops: Vec<String> = r["nexthops"]
        .as_array()
        .map(|hops| {
            hops.iter()
                .map(|h| {
                    let gw = h["gateway"].as_str().unwrap_or_default();
                    format!("{gw}@{}*{}", h["dev"].as_str().unwrap(), h["weight"].as_u64().unwrap_or(1))
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "{} {table} {} {dst} {} {} {} {} {} [{}]",
        if ipv6 { "Ipv6" } else { "Ipv4" },
        s("type").unwrap_or_else(|| "unicast".to_string()),
        r["metric"].as_u64().unwrap_or(0),
        s("dev").unwrap_or_else(|| "-".to_string()),
        s("gateway").unwrap_or_default(),
        s("prefsrc").unwrap_or_default(),
        s("protocol").unwrap_or_else(|| "boot".to_string()),
        hops.join(" ")
    )
}

// --- wait_until -----------------------------------------------------------------------------

#[test]
fn wait_until_dad_completes() {
    let a = Netns::new("wait");
    let b = Netns::new("waitpeer");
    a.run_ip(&format!("link add v0 type veth peer name p0 netns {}", b.name));
    b.run_ip("link set p0 up");
    a.sysctl("net.ipv6.conf.v0.dad_transmits", "1");
    a.run_ip("link set v0 up");
    a.run_ip("addr add 2001:db8:a::5/64 dev v0");
    let w = a.child("wait:15000:50");
    assert_eq!(w["ready"], true, "{w:#}");
    assert_eq!(w["pending"], Value::Null);
    // DAD takes a second (RetransTimer) or more: the first poll saw it tentative.
    assert!(w["polls"].as_u64().unwrap() >= 2, "{w:#}");
    let s: HostSnapshot = serde_json::from_value(w["snapshot"].clone()).unwrap();
    let done = address(&s, "2001:db8:a::5");
    assert!(!done.flags.tentative && !done.flags.dadfailed, "{done:?}");
    assert!(s.routes.iter().any(|r| r.table == LOCAL_TABLE && r.destination == net("2001:db8:a::5/128")));
}

#[test]
fn wait_until_times_out() {
    let a = Netns::new("timeout");
    // The peer stays down: no carrier, so DAD never starts and the address stays tentative.
    a.run_ip("link add v0 type veth peer name p0");
    a.run_ip("link set v0 up");
    a.run_ip("addr add 2001:db8:a::5/64 dev v0");
    let w = a.child("wait:400:50");
    assert_eq!(w["ready"], false, "{w:#}");
    let reason = w["pending"].as_str().unwrap();
    assert!(reason.ends_with("on v0 is tentative (DAD)"), "{reason}");
    let elapsed = w["elapsed_ms"].as_f64().unwrap();
    assert!((400.0..3000.0).contains(&elapsed), "{w:#}");
    assert!(w["polls"].as_u64().unwrap() >= 3, "{w:#}");
}
