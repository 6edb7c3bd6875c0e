//! Node-IP selection on real hosts built in network namespaces, one test per failure users hit
//! (`../shared/research/nodeip.md` §3, cited by issue number).
//!
//! Each host is a namespace of its own with veth links whose peers sit in a second namespace
//! (so carrier is up and DAD really runs), plus bridges and macvlans where the scenario needs
//! them. Every selection runs twice: through the library's netlink backend (this test binary
//! re-executed inside the namespace, see `netns_child`) and through the `bmnet` binary, and the
//! two must agree on the whole result, every candidate's verdict included.
//!
//! This kernel cannot create bond or VLAN devices: the bond/VLAN scenario names veths like a
//! bond and its VLAN, creates a real bond when the kernel can, and says which it did; the real
//! device kinds are covered by the snapshot tests in `crates/bm-nodeip/tests/select.rs`.
//!
//! Needs root and iproute2 (`apt-get install -y iproute2`); without them the tests fail.

// Namespaces, processes and scratch files are the point of these tests.
#![allow(clippy::disallowed_methods)]

mod util;

use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Output};

use bm_addr::ipnet::IpNet;
use bm_nodeip::{self as nodeip, Hint, Method, Pattern, Policy, Rejection, Selection, Verdict};
use util::Netns;

const CHILD_ENV: &str = "BMNET_NODEIP_NETNS_POLICY";
const RESULT_MARK: &str = "BMNET_NODEIP_NETNS_RESULT:";

/// Not a test of its own: inside a namespace, the library takes a netlink snapshot and selects
/// with the policy in `BMNET_NODEIP_NETNS_POLICY`. Without it, it does nothing.
#[test]
fn netns_child() {
    let Ok(policy) = std::env::var(CHILD_ENV) else { return };
    let policy: Policy = serde_json::from_str(&policy).expect("policy JSON");
    let snapshot = nodeip::netlink::snapshot().expect("netlink snapshot");
    let selection = nodeip::select(&snapshot, &policy);
    println!("{RESULT_MARK}{}", serde_json::to_string(&selection).unwrap());
}

/// What a scenario asks for, as `bmnet node-ip` flags and as the library's policy.
#[derive(Default, Clone)]
struct Ask {
    vips: Vec<&'static str>,
    hints: Vec<&'static str>,
    can_reach: Vec<&'static str>,
    interfaces: Vec<&'static str>,
    skip_interfaces: Vec<&'static str>,
    cidrs: Vec<&'static str>,
    exclude: Vec<&'static str>,
    prefer_ipv6: bool,
}

impl Ask {
    fn args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut flag = |name: &str, values: &[&str]| {
            for v in values {
                a.push(format!("--{name}={v}"));
            }
        };
        flag("vip", &self.vips);
        flag("hint", &self.hints);
        flag("can-reach", &self.can_reach);
        flag("interface", &self.interfaces);
        flag("skip-interface", &self.skip_interfaces);
        flag("cidr", &self.cidrs);
        flag("exclude", &self.exclude);
        if self.prefer_ipv6 {
            a.push("--prefer-ipv6".into());
        }
        a
    }

    /// The policy the flags stand for, built independently of the CLI: hints, VIP subnet,
    /// the command line's rules, default route (the README's documented chain).
    fn policy(&self) -> Policy {
        let ip = |s: &&str| s.parse::<IpAddr>().unwrap();
        let net = |s: &&str| s.parse::<IpNet>().unwrap().trunc();
        let hints: Vec<Hint> = self.hints.iter().map(|h| h.parse().unwrap()).collect();
        let mut p = Policy::openshift(self.vips.iter().map(ip).collect(), hints);
        let mut rules: Vec<Method> = self.can_reach.iter().map(|t| Method::CanReach { target: ip(t) }).collect();
        if !self.interfaces.is_empty() || !self.skip_interfaces.is_empty() {
            let pats = |v: &[&str]| v.iter().map(|s| s.parse::<Pattern>().unwrap()).collect();
            rules.push(Method::Interface { include: pats(&self.interfaces), exclude: pats(&self.skip_interfaces) });
        }
        if !self.cidrs.is_empty() {
            rules.push(Method::Cidr { cidrs: self.cidrs.iter().map(net).collect() });
        }
        let last = p.methods.len() - 1;
        assert_eq!(p.methods[last], Method::DefaultRoute);
        p.methods.splice(last..last, rules);
        p.exclude = self.exclude.iter().map(net).collect();
        if self.prefer_ipv6 {
            p.prefer = Some(bm_addr::Family::Ipv6);
        }
        p
    }
}

/// One host: the node's namespace and the namespace holding its links' far ends.
struct Host {
    node: Netns,
    peer: Netns,
}

impl Host {
    fn new(tag: &str) -> Host {
        let node = Netns::new(&format!("nip-{tag}"));
        let peer = Netns::new(&format!("nipp-{tag}"));
        node.ip(&["link", "set", "lo", "up"]);
        peer.ip(&["link", "set", "lo", "up"]);
        Host { node, peer }
    }

    /// A veth `name` in the node, its peer up in the other namespace.
    fn veth(&self, name: &str) -> &Host {
        let far = format!("p{}", self.far_count());
        self.node.ip(&["link", "add", "name", name, "type", "veth", "peer", "name", &far, "netns", &self.peer.name]);
        self.peer.ip(&["link", "set", &far, "up"]);
        self.node.ip(&["link", "set", name, "up"]);
        self
    }

    fn far_count(&self) -> usize {
        let o = Command::new("ip").args(["-n", &self.peer.name, "-o", "link", "show"]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().count()
    }

    /// `ip -n NODE ARGS` (split on whitespace), which must succeed.
    fn ip(&self, args: &str) -> &Host {
        self.node.ip(&args.split_whitespace().collect::<Vec<_>>());
        self
    }

    /// The library's selection inside the namespace.
    fn library(&self, policy: &Policy) -> Selection {
        let exe = std::env::current_exe().unwrap();
        let o = Command::new("ip")
            .args(["netns", "exec", &self.node.name])
            .arg(exe)
            .args(["netns_child", "--exact", "--nocapture", "--test-threads=1", "-q"])
            .env(CHILD_ENV, serde_json::to_string(policy).unwrap())
            .output()
            .expect("re-run the test binary in the namespace");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "library child failed: {stdout}\n{}", String::from_utf8_lossy(&o.stderr));
        let line = stdout.lines().find_map(|l| l.strip_prefix(RESULT_MARK)).expect("a result line");
        serde_json::from_str(line).unwrap()
    }

    /// `bmnet ARGS` inside the namespace.
    fn bmnet(&self, args: &[&str]) -> Output {
        let mut argv = vec![env!("CARGO_BIN_EXE_bmnet")];
        argv.extend_from_slice(args);
        self.node.exec(&argv)
    }

    /// Selects through the library and through `bmnet node-ip` (text and `--json`), checks
    /// they agree, and returns the selection with the binary's stdout and stderr.
    fn select(&self, ask: &Ask) -> (Selection, String, String) {
        let lib = self.library(&ask.policy());
        let args = ask.args();
        let mut argv: Vec<&str> = vec!["node-ip"];
        argv.extend(args.iter().map(String::as_str));
        let text = self.bmnet(&argv);
        let (out, err) = (util::stdout(&text), util::stderr(&text));
        argv.push("--json");
        let json = self.bmnet(&argv);
        let bin: Selection = serde_json::from_str(util::stdout(&json).trim())
            .unwrap_or_else(|e| panic!("bmnet {argv:?} --json: {e}: {}", util::stderr(&json)));
        assert_eq!(bin, lib, "the binary and the library disagree for {argv:?}");
        if lib.chosen.is_empty() {
            assert_eq!(text.status.code(), Some(1), "nothing chosen must exit 1: {out}{err}");
            assert!(out.is_empty(), "{out}");
            assert!(err.contains("no address qualifies as a node IP"), "{err}");
        } else {
            assert_eq!(text.status.code(), Some(0), "{err}");
            assert_eq!(out, format!("{}\n", lib.node_ip_arg()));
        }
        (lib, out, err)
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The verdict of the candidate `addr` (with prefix) on `link`.
fn verdict<'a>(sel: &'a Selection, addr: &str, link: &str) -> &'a Verdict {
    let net: IpNet = addr.parse().unwrap();
    &sel.candidates
        .iter()
        .find(|c| c.addr == net && &*c.link_name == link)
        .unwrap_or_else(|| panic!("{addr} on {link} is not a candidate: {sel:#?}"))
        .verdict
}

fn assert_rejected_for(sel: &Selection, addr: &str, link: &str, reason: &Rejection) {
    match verdict(sel, addr, link) {
        Verdict::Rejected { reasons } => assert!(reasons.contains(reason), "{addr}: {reasons:?}"),
        v => panic!("{addr} on {link} should be rejected for {reason}: {v:?}"),
    }
}

fn methods(sel: &Selection) -> Vec<&str> {
    sel.chosen.iter().map(|c| c.method.as_str()).collect()
}

/// A scratch root for `node-ip set`.
fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bmnet-nodeip-netns-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// kubernetes#44702, #34566: eth0 is the NAT NIC with the default route, eth1 the cluster
/// network. kubelet's autodetection takes eth0; a hint or the VIP's subnet must win.
#[test]
fn default_route_on_the_nat_nic_loses_to_hint_and_vip() {
    let h = Host::new("nat");
    h.veth("eth0").veth("eth1");
    h.ip("addr add 10.0.2.15/24 dev eth0").ip("addr add 192.168.111.20/24 dev eth1");
    h.ip("route add default via 10.0.2.2 dev eth0");

    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.0.2.15", "no VIP, no hint: kubelet's own choice");
    assert_eq!(methods(&sel), ["default_route"]);

    let (sel, ..) = h.select(&Ask { hints: vec!["192.168.111.0/24"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "192.168.111.20");
    assert_eq!(methods(&sel), ["hints"]);
    assert!(
        matches!(verdict(&sel, "10.0.2.15/24", "eth0"), Verdict::Lost { why, .. } if why == "not matched by hints")
    );

    let (sel, ..) = h.select(&Ask { vips: vec!["192.168.111.5"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "192.168.111.20");
    assert_eq!(methods(&sel), ["vip_subnet"]);
}

/// kubernetes#61170: the node IP must be the one that reaches the API server, through a
/// route that is not the default one.
#[test]
fn can_reach_follows_the_route_to_the_api_server() {
    let h = Host::new("reach");
    h.veth("eth0").veth("eth1");
    h.ip("addr add 10.0.2.15/24 dev eth0").ip("addr add 192.168.111.20/24 dev eth1");
    h.ip("route add default via 10.0.2.2 dev eth0");
    h.ip("route add 172.30.0.0/16 via 192.168.111.1 dev eth1");
    let (sel, ..) = h.select(&Ask { can_reach: vec!["172.30.0.1"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "192.168.111.20");
    assert_eq!(methods(&sel), ["can_reach"]);
    // A target only the default route reaches gives the default route's address.
    let (sel, ..) = h.select(&Ask { can_reach: vec!["8.8.8.8"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "10.0.2.15");
    assert_eq!(methods(&sel), ["can_reach"]);
}

/// kubernetes#57534, k3s#1144, rke2#1242: an air-gapped host without any default route.
/// Nothing is guessed: exit 1 with every address and why; a VIP or a CIDR rule decides.
#[test]
fn no_default_route_is_an_explained_error_unless_a_rule_decides() {
    let h = Host::new("nodefault");
    h.veth("eth0").veth("eth1");
    h.ip("addr add 10.0.2.15/24 dev eth0").ip("addr add 192.168.111.20/24 dev eth1");
    h.ip("-6 addr add fd00:111::20/64 dev eth1 nodad");

    let (sel, _, err) = h.select(&Ask::default());
    assert!(sel.chosen.is_empty());
    assert!(matches!(verdict(&sel, "192.168.111.20/24", "eth1"), Verdict::Unmatched));
    for line in ["10.0.2.15/24", "192.168.111.20/24", "fd00:111::20/64"] {
        assert!(err.lines().any(|l| l.contains(line) && l.contains("no method matched")), "{line}: {err}");
    }

    let (sel, ..) = h.select(&Ask { vips: vec!["192.168.111.5"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "192.168.111.20,fd00:111::20", "the other family from the VIP's link");
    let (sel, ..) = h.select(&Ask { cidrs: vec!["10.0.0.0/8"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "10.0.2.15");
    assert_eq!(methods(&sel), ["cidr"]);
}

/// kubernetes#130409: link-local and loopback addresses are never node IPs; a link-local hint
/// or --node-ip value is refused up front instead of leaving the node without an address.
#[test]
fn link_local_is_never_chosen_and_refused_up_front() {
    let h = Host::new("ll");
    h.veth("eth0");
    h.ip("addr add 169.254.10.10/16 dev eth0").ip("-6 addr add fe80::10/64 dev eth0 nodad");
    h.ip("addr add 203.0.113.10/32 dev lo");
    h.ip("route add default dev eth0").ip("-6 route add default via fe80::1 dev eth0");

    let (sel, ..) = h.select(&Ask::default());
    assert!(sel.chosen.is_empty(), "{sel:#?}");
    assert_rejected_for(&sel, "169.254.10.10/16", "eth0", &Rejection::LinkLocal);
    assert_rejected_for(&sel, "fe80::10/64", "eth0", &Rejection::LinkLocal);
    assert_rejected_for(&sel, "127.0.0.1/8", "lo", &Rejection::Loopback);

    let o = h.bmnet(&["node-ip", "--hint", "fe80::10"]);
    assert_eq!(o.status.code(), Some(2), "a usage error");
    assert!(util::stderr(&o).contains("link-local addresses are never node IPs"), "{}", util::stderr(&o));
    let o = h.bmnet(&["node-ip", "check", "fe80::10"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(util::stderr(&o), "bmnet: failed to validate nodeIP: nodeIP can't be a link-local unicast address\n");
}

/// kubernetes#91940, #100675: a dual-stack host with no configuration yields the pair, each
/// family by its own lowest-metric default route, primary first.
#[test]
fn dual_stack_host_yields_the_pair_by_per_family_metric() {
    let h = Host::new("dual");
    h.veth("eth0").veth("eth1");
    h.ip("addr add 10.1.0.10/24 dev eth0").ip("-6 addr add fd01::10/64 dev eth0 nodad");
    h.ip("addr add 10.2.0.10/24 dev eth1").ip("-6 addr add fd02::10/64 dev eth1 nodad");
    // IPv4 prefers eth0, IPv6 prefers eth1: the metric counts per family.
    h.ip("route add default via 10.1.0.1 dev eth0 metric 100");
    h.ip("route add default via 10.2.0.1 dev eth1 metric 200");
    h.ip("-6 route add default via fd01::1 dev eth0 metric 300");
    h.ip("-6 route add default via fd02::1 dev eth1 metric 50");

    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.1.0.10,fd02::10");
    let (sel, ..) = h.select(&Ask { prefer_ipv6: true, ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "fd02::10,10.1.0.10");
    // A VIP's family is the primary family.
    let (sel, ..) = h.select(&Ask { vips: vec!["fd01::5"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "fd01::10,10.1.0.10", "IPv4 paired from the VIP's link");
}

/// kube-vip#741, openelb#384, runtimecfg#157 (Bug 2021544): VIPs held on the node's own NIC or
/// on lo, some with preferred_lft 0, are never chosen, even when the node IP lies in another
/// subnet than the VIP.
#[test]
fn vips_and_deprecated_addresses_are_never_chosen() {
    let h = Host::new("vip");
    h.veth("eth0");
    h.ip("addr add 192.168.111.20/24 dev eth0");
    h.ip("addr add 192.168.111.5/32 dev eth0"); // the API VIP, held by keepalived
    h.ip("addr add 192.168.111.6/32 dev lo"); // an LB VIP on lo (kube-vip, loxilb)
    h.ip("addr add 10.9.9.9/32 dev eth0 preferred_lft 0"); // an OpenELB VIP
    h.ip("-6 addr add fd00:111::20/64 dev eth0 nodad");
    h.ip("-6 addr add fd00:111::5/64 dev eth0 nodad preferred_lft 0");
    h.ip("route add default via 192.168.111.1 dev eth0").ip("-6 route add default via fd00:111::1 dev eth0");

    let ask = Ask { vips: vec!["192.168.111.5", "fd00:111::5", "192.168.111.6"], ..Ask::default() };
    let (sel, ..) = h.select(&ask);
    assert_eq!(sel.node_ip_arg(), "192.168.111.20,fd00:111::20");
    assert_rejected_for(&sel, "192.168.111.5/32", "eth0", &Rejection::Vip { vip: ip("192.168.111.5") });
    assert_rejected_for(&sel, "192.168.111.6/32", "lo", &Rejection::Vip { vip: ip("192.168.111.6") });
    assert_rejected_for(&sel, "fd00:111::5/64", "eth0", &Rejection::Deprecated);
    assert_rejected_for(&sel, "10.9.9.9/32", "eth0", &Rejection::Deprecated);

    // Bug 2021544: the VIP in a subnet of its own, the node's IP in another: the VIP's subnet
    // has no other address, and the VIP itself still is not chosen.
    let (sel, ..) = h.select(&Ask { vips: vec!["10.9.9.9"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "192.168.111.20,fd00:111::20");
    assert_eq!(methods(&sel), ["default_route", "default_route"]);
}

/// runtimecfg#181 (Bug 2096226): an IPv6 address still in DAD was chosen and CRI-O crashed.
/// A tentative address is refused; `--wait` waits until DAD completes, then chooses it.
#[test]
fn tentative_address_is_refused_then_waited_for() {
    let h = Host::new("dad");
    h.veth("eth0");
    h.ip("addr add 10.0.0.20/24 dev eth0").ip("route add default via 10.0.0.1 dev eth0");
    // Three probes a second apart: DAD takes at least three seconds.
    for (key, value) in [("conf/eth0/dad_transmits", "3"), ("neigh/eth0/retrans_time_ms", "1000")] {
        let o = h.node.exec(&["sh", "-c", &format!("echo {value} > /proc/sys/net/ipv6/{key}")]);
        assert!(o.status.success(), "{key}: {}", util::stderr(&o));
    }
    h.ip("-6 addr add fd00::20/64 dev eth0").ip("-6 route add default via fd00::1 dev eth0");

    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.0.0.20", "{sel:#?}");
    assert_rejected_for(&sel, "fd00::20/64", "eth0", &Rejection::Tentative);

    let o = h.bmnet(&["node-ip", "--wait", "20"]);
    assert_eq!(o.status.code(), Some(0), "{}", util::stderr(&o));
    assert_eq!(util::stdout(&o), "10.0.0.20,fd00::20\n");
}

/// OCPBUGS-29095, OCPBUGS-2512, OCPBUGS-10695: an egress IP (label `eip`), OVN's masquerade
/// address fd69::2, an IPv4-mapped and an IPv4-compatible address configured as IPv6 are
/// never chosen.
#[test]
fn egress_masquerade_and_mapped_addresses_are_never_chosen() {
    let h = Host::new("ovn");
    h.veth("br-ex");
    h.ip("addr add 192.168.111.50/24 dev br-ex label br-ex:eip"); // listed first: lower is not better
    h.ip("addr add 192.168.111.60/24 dev br-ex");
    h.ip("-6 addr add ::ffff:192.168.1.160/64 dev br-ex nodad");
    h.ip("-6 addr add ::10.0.0.5/96 dev br-ex nodad");
    h.ip("-6 addr add fd69::2/112 dev br-ex nodad");
    h.ip("-6 addr add fd00:111::60/64 dev br-ex nodad");
    h.ip("route add default via 192.168.111.1 dev br-ex").ip("-6 route add default via fd69::1 dev br-ex");

    let ask = Ask { vips: vec!["192.168.111.5"], exclude: vec!["fd69::/112"], ..Ask::default() };
    let (sel, ..) = h.select(&ask);
    assert_eq!(sel.node_ip_arg(), "192.168.111.60,fd00:111::60");
    assert_rejected_for(&sel, "192.168.111.50/24", "br-ex", &Rejection::Label { label: "br-ex:eip".into() });
    assert_rejected_for(&sel, "::ffff:192.168.1.160/64", "br-ex", &Rejection::Ipv4Mapped);
    assert_rejected_for(&sel, "::10.0.0.5/96", "br-ex", &Rejection::Ipv4Compatible);
    assert_rejected_for(&sel, "fd69::2/112", "br-ex", &Rejection::Excluded { prefix: "fd69::/112".parse().unwrap() });
}

/// openshift-docs#109928 (OCPBUGS-82061) and talos#8714: two IPs on br-ex (a bridge with a
/// veth port). After a "reboot" that lists them the other way round, `set` keeps the persisted
/// choice; a persisted IP that vanished is re-selected with the reason on stderr.
#[test]
fn set_keeps_the_choice_across_reboots_and_replaces_a_stale_one() {
    let h = Host::new("sticky");
    h.veth("eno1");
    h.ip("link add br-ex type bridge").ip("link set eno1 master br-ex").ip("link set br-ex up");
    h.ip("addr add 192.168.111.20/24 dev br-ex").ip("addr add 192.168.111.30/24 dev br-ex");
    h.ip("route add default via 192.168.111.1 dev br-ex");
    let root = scratch("sticky");
    let root_s = root.display().to_string();
    let primary = root.join("run/nodeip-configuration/primary-ip");

    let o = h.bmnet(&["node-ip", "set", "--root", &root_s]);
    assert_eq!(o.status.code(), Some(0), "{}", util::stderr(&o));
    assert_eq!(std::fs::read_to_string(&primary).unwrap(), "192.168.111.20");

    // Reboot: the addresses come back the other way round, so .30 is the primary now.
    h.ip("addr flush dev br-ex").ip("addr add 192.168.111.30/24 dev br-ex").ip("addr add 192.168.111.20/24 dev br-ex");
    h.ip("route add default via 192.168.111.1 dev br-ex");
    let (fresh, ..) = h.select(&Ask::default());
    assert_eq!(fresh.node_ip_arg(), "192.168.111.30", "without memory the primary address wins");
    let o = h.bmnet(&["node-ip", "set", "--root", &root_s, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", util::stderr(&o));
    let v: serde_json::Value = serde_json::from_str(util::stdout(&o).trim()).unwrap();
    assert_eq!(v["node_ip"], "192.168.111.20", "{v}");
    assert_eq!(v["selection"]["chosen"][0]["method"], "previous");
    assert_eq!(std::fs::read_to_string(&primary).unwrap(), "192.168.111.20");

    // The persisted IP is gone: re-selected, and said so.
    h.ip("addr del 192.168.111.20/24 dev br-ex");
    let o = h.bmnet(&["node-ip", "set", "--root", &root_s]);
    assert_eq!(o.status.code(), Some(0), "{}", util::stderr(&o));
    assert_eq!(util::stderr(&o), "bmnet: previous node IP 192.168.111.20 re-selected: no longer on the host\n");
    assert_eq!(std::fs::read_to_string(&primary).unwrap(), "192.168.111.30");
    std::fs::remove_dir_all(&root).unwrap();
}

/// k3s#12459: a dynamic (SLAAC-like) GUA and a static ULA on one interface. The documented
/// order decides: the default route's gateway lies in the ULA's subnet, and between two
/// addresses of one subnet the permanent one beats the dynamic one.
#[test]
fn static_ula_beats_dynamic_gua_by_the_documented_order() {
    let h = Host::new("ula");
    h.veth("eth0");
    h.ip("-6 addr add 2600:1f00::99/64 dev eth0 nodad valid_lft 3600 preferred_lft 1800");
    h.ip("-6 addr add fd00:10::5/64 dev eth0 nodad valid_lft 3600 preferred_lft 1800");
    h.ip("-6 addr add fd00:10::20/64 dev eth0 nodad");
    h.ip("-6 route add default via fd00:10::1 dev eth0");

    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "fd00:10::20");
    match verdict(&sel, "2600:1f00::99/64", "eth0") {
        Verdict::Lost { why, .. } => assert_eq!(why, "ranked higher: gateway inside its subnet"),
        v => panic!("{v:?}"),
    }
    match verdict(&sel, "fd00:10::5/64", "eth0") {
        Verdict::Lost { why, .. } => assert_eq!(why, "ranked higher: permanent rather than dynamic or temporary"),
        v => panic!("{v:?}"),
    }
}

/// k3s#259: a multipath default route (`nexthop via … nexthop via …`) has no link of its own.
/// Both links count as default-route links; the lower link index decides, deterministically.
#[test]
fn ecmp_default_route_without_a_link_of_its_own() {
    let h = Host::new("ecmp");
    h.veth("eth0").veth("eth1");
    h.ip("addr add 10.1.0.10/24 dev eth0").ip("addr add 10.2.0.10/24 dev eth1");
    h.ip("route add default nexthop via 10.2.0.1 dev eth1 nexthop via 10.1.0.1 dev eth0");
    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.1.0.10");
    assert_eq!(methods(&sel), ["default_route"]);
    match verdict(&sel, "10.2.0.10/24", "eth1") {
        Verdict::Lost { why, .. } => assert_eq!(why, "ranked higher: lower link index"),
        v => panic!("{v:?}"),
    }
}

/// kubeadm#1987, calico#8783, k0s#3711: a management NIC with the default route next to a bond
/// and its VLAN carrying the cluster network; interface-name and CIDR rules pick the VLAN.
#[test]
fn bond_vlan_and_management_nic_by_interface_or_cidr_rule() {
    let h = Host::new("bond");
    h.veth("eno1");
    let real_bond = Command::new("ip")
        .args(["-n", &h.node.name, "link", "add", "bond0", "type", "bond"])
        .output()
        .is_ok_and(|o| o.status.success());
    let vlan = if real_bond {
        h.veth("ens1f0").ip("link set ens1f0 down").ip("link set ens1f0 master bond0").ip("link set bond0 up");
        let made = Command::new("ip")
            .args([
                "-n",
                &h.node.name,
                "link",
                "add",
                "link",
                "bond0",
                "name",
                "bond0.100",
                "type",
                "vlan",
                "id",
                "100",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if made {
            h.ip("link set bond0.100 up");
            "bond0.100"
        } else {
            eprintln!("this kernel cannot create VLAN devices: a veth named bond0.100 stands in for the VLAN");
            h.veth("bond0.100");
            "bond0.100"
        }
    } else {
        eprintln!(
            "this kernel cannot create bond or VLAN devices: veths named bond0 and bond0.100 stand in; \
             real bonds and VLANs are covered by select.rs's bond_vlan_bridge_veth_snapshot"
        );
        h.veth("bond0").veth("bond0.100");
        "bond0.100"
    };
    h.ip("addr add 10.0.2.15/24 dev eno1").ip("route add default via 10.0.2.2 dev eno1");
    h.ip(&format!("addr add 172.22.100.20/24 dev {vlan}"));
    h.ip("addr add 172.22.0.20/24 dev bond0");

    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.0.2.15", "first-found takes the management NIC");
    let (sel, ..) = h.select(&Ask { interfaces: vec!["bond0.*"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "172.22.100.20");
    assert_eq!(methods(&sel), ["interface"]);
    let (sel, ..) = h.select(&Ask { interfaces: vec!["re:^bond\\d+\\.\\d+$"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "172.22.100.20");
    let (sel, ..) = h.select(&Ask { cidrs: vec!["172.22.100.0/24"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "172.22.100.20");
    assert_eq!(methods(&sel), ["cidr"]);
    let (sel, ..) = h.select(&Ask { skip_interfaces: vec!["eno*", "bond0"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "172.22.100.20");
}

/// cloud-provider-aws#656: a CNI bridge on the host holds an address of the pod network; with
/// the pod CIDR excluded it is never the node IP, even when a rule matches it.
#[test]
fn pod_network_address_is_excluded() {
    let h = Host::new("pod");
    h.veth("eth0").veth("veth-cni");
    h.ip("link add cni0 type bridge").ip("link set veth-cni master cni0").ip("link set cni0 up");
    // cni0 is created later but has the lower address; no default route.
    h.ip("addr add 10.128.0.1/23 dev cni0").ip("addr add 10.200.0.10/24 dev eth0");
    let (sel, ..) = h.select(&Ask { cidrs: vec!["10.0.0.0/8"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "10.200.0.10", "rank among matches: lower link index first");
    let (sel, ..) =
        h.select(&Ask { cidrs: vec!["10.128.0.0/14", "10.0.0.0/8"], exclude: vec!["10.128.0.0/14"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "10.200.0.10");
    assert_rejected_for(
        &sel,
        "10.128.0.1/23",
        "cni0",
        &Rejection::Excluded { prefix: "10.128.0.0/14".parse().unwrap() },
    );
}

/// A DHCPv6 /128 on a macvlan, with the router-advertised prefix as an on-link route of the
/// same link: the /128's subnet is that prefix, so it matches the VIP, and IPv4 comes from the
/// same link.
#[test]
fn ipv6_slash128_on_a_macvlan_matches_the_vip_through_its_onlink_route() {
    let h = Host::new("mv");
    h.veth("eth0").veth("eth1");
    h.ip("link add link eth1 name mv0 type macvlan mode bridge").ip("link set mv0 up");
    h.ip("addr add 10.0.2.15/24 dev eth0").ip("route add default via 10.0.2.2 dev eth0");
    h.ip("addr add 192.168.111.20/24 dev mv0");
    h.ip("-6 addr add fd2e:6f44:5dd8::20/128 dev mv0 nodad");
    h.ip("-6 route add fd2e:6f44:5dd8::/64 dev mv0 proto ra");
    let (sel, ..) = h.select(&Ask { vips: vec!["fd2e:6f44:5dd8::5"], ..Ask::default() });
    assert_eq!(sel.node_ip_arg(), "fd2e:6f44:5dd8::20,192.168.111.20");
    assert_eq!(sel.chosen[0].link_name, "mv0");
    assert_eq!(sel.chosen[1].link_name, "mv0");
    assert_eq!(methods(&sel), ["vip_subnet", "vip_subnet"]);
}

/// Several addresses in one subnet: the primary beats the secondary, and that is what the
/// loser's reason says.
#[test]
fn primary_beats_secondary_in_one_subnet() {
    let h = Host::new("sec");
    h.veth("eth0");
    h.ip("addr add 10.0.0.30/24 dev eth0").ip("addr add 10.0.0.20/24 dev eth0");
    h.ip("route add default via 10.0.0.1 dev eth0");
    let (sel, ..) = h.select(&Ask::default());
    assert_eq!(sel.node_ip_arg(), "10.0.0.30");
    match verdict(&sel, "10.0.0.20/24", "eth0") {
        Verdict::Lost { why, .. } => assert_eq!(why, "ranked higher: primary rather than secondary"),
        v => panic!("{v:?}"),
    }
}
