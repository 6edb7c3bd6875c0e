//! The cluster in a box (`examples/cluster-in-a-box`) as a test, from the same code: three
//! control-plane nodes and two workers in network namespaces with keyfiles from
//! `bmnet nmconn render`, `bmnet node-ip set`, `bmnet dns serve`, HAProxy and
//! `bmnet vrrp run` with OpenShift's keepalived.conf, `bmnet inspect` inside the VIP holder;
//! then a backend, HAProxy and a whole node are killed. Needs root, iproute2, haproxy,
//! bind9-dnsutils, curl, python3 and network-manager (its keyfile directory); a missing one
//! fails the test with the `apt-get install` command.

// Runs the scenario's processes and namespaces.
#![allow(clippy::disallowed_methods)]

#[path = "../examples/cluster-in-a-box/box.rs"]
mod cib;

use std::path::PathBuf;

#[test]
fn cluster_in_a_box() {
    if let Err(e) = cib::need_tools() {
        panic!("{e}");
    }
    let opts = cib::Options::new(PathBuf::from(env!("CARGO_BIN_EXE_bmnet")));
    let advert = opts.advert;
    let (r, tl) = cib::run(opts).unwrap_or_else(|e| panic!("cluster in a box: {e}"));
    println!("report: {}", serde_json::to_string_pretty(&r).expect("report as JSON"));

    // Elections: one holder per VIP, of the right role.
    assert!(r.api_holder.starts_with("master-"), "API VIP on {}", r.api_holder);
    assert!(r.ingress_holder.starts_with("worker-"), "ingress VIP on {}", r.ingress_holder);
    // Keyfiles and node IPs: every node's bond address, not the VLAN's with the default route.
    assert_eq!(r.node_ips.len(), 5);
    assert!(r.node_ips.values().all(|ip| ip.starts_with("192.168.111.")), "{:?}", r.node_ips);
    // DNS from every node (8 names each), before (5 nodes) and after (4 live nodes).
    assert_eq!(r.dns_checked_before, 5 * 8);
    assert_eq!(r.dns_checked_after, 4 * 8);
    assert!(r.dns_probes > 0);
    assert_eq!(r.dns_probe_failures, 0, "client DNS probes to live nodes failed");
    // HTTP through the VIP reaches all three API servers through HAProxy.
    assert_eq!(r.backends_seen.len(), 3, "{:?}", r.backends_seen);
    // A dead API server does not move the VIP.
    assert_eq!(r.backend_kill_holder_after, r.api_holder);
    assert!(r.backend_kill_http.1 > 0, "the client probed during the backend kill");
    // A dead HAProxy does.
    let (from, to, _) = &r.haproxy_kill;
    assert_eq!(*from, r.api_holder);
    assert!(to.starts_with("master-") && to != from, "{from} -> {to}");
    // A dead node does, taken over by the RFC 5798 timer (Master_Down_Interval); how long it
    // took is printed, not asserted (timing belongs to benches; the bound is checked on virtual
    // time by crates/bm-vrrp/tests/simulator.rs).
    let (from, to, ms) = &r.node_kill;
    assert!(to.starts_with("master-") && to != from, "{from} -> {to}");
    let bound = cib::master_down_interval(advert, cib::api_priority_max()).as_millis() as u64;
    assert_eq!(r.node_kill_bound_ms, bound);
    println!("node death: the VIP moved in {ms} ms (VRRP log: {:?} ms); bound {bound} ms", r.node_kill_vrrp_ms);
    assert!(r.node_kill_vrrp_ms.is_some(), "{to} logged no transition to MASTER after the kill");
    let killed_at = tl
        .events
        .iter()
        .find(|e| e.kind == "step" && e.detail == format!("kill node {from}"))
        .map(|e| e.t_ms)
        .expect("the node kill on the timeline");
    assert!(
        tl.events.iter().any(|e| e.kind == "vrrp"
            && e.node == *to
            && e.t_ms >= killed_at
            && e.detail.starts_with("BACKUP -> MASTER (master down interval expired)")),
        "{to} did not take over on its master-down timer"
    );
    // The client follows each move: its neighbour entry names the new holder (printed: how
    // soon; the simulator checks on virtual time that it is within two advert intervals).
    for (what, arp, holder) in [("HAProxy", r.haproxy_kill_arp_ms, &r.haproxy_kill.1), ("node", r.node_kill_arp_ms, to)]
    {
        let arp = arp.unwrap_or_else(|| panic!("{what} kill: the client's ARP entry never named {holder}"));
        println!("{what} kill: the client's ARP entry named {holder} {arp} ms after the VIP arrived");
    }

    // The timeline has every kind of observation, and renders.
    for kind in ["step", "vrrp", "vip", "arp", "http", "dns"] {
        assert!(tl.events.iter().any(|e| e.kind == kind), "no {kind} event in the timeline");
    }
    let svg = cib::render_svg(&tl);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("HTTP via the VIP") && svg.contains("kill HAProxy on"),
        "the chart shows the probes and the kills"
    );
}

#[test]
fn a_missing_tool_names_the_install_command() {
    let e = cib::need(&[("/nonexistent/haproxy", &["-v"], "haproxy"), ("dig-nope", &["-v"], "bind9-dnsutils")])
        .expect_err("missing tools");
    assert!(e.contains("apt-get install -y haproxy bind9-dnsutils"), "{e}");
}

#[test]
fn vrrp_timestamps_and_bounds() {
    assert_eq!(cib::parse_rfc3339_ms("2026-12-01T07:22:35.123Z"), Some(1_796_109_755_123));
    assert_eq!(cib::parse_rfc3339_ms("2000-02-29T23:59:59.009Z"), Some(951_868_799_009));
    assert_eq!(cib::parse_rfc3339_ms("1970-01-01T00:00:01Z"), Some(1000));
    assert_eq!(cib::parse_rfc3339_ms("yesterday"), None);
    // RFC 5798: 3 x 0.1 s + (256 - 65) / 256 x 0.1 s.
    assert_eq!(cib::master_down_interval(0.1, 65).as_micros(), 374_609);
    assert_eq!(cib::api_priority_max(), 65);
}

#[test]
fn chart_summary_lines_wrap_to_the_width() {
    assert_eq!(cib::chart::wrap("short line", 150), ["short line"]);
    assert_eq!(cib::chart::wrap("aaa bbb ccc ddd", 8), ["aaa bbb", "    ccc", "    ddd"]);
    assert_eq!(cib::chart::wrap("a-very-long-word x", 5), ["a-very-long-word", "    x"]);
}
