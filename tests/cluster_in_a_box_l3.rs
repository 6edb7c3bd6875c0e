//! The cluster in a box in L3 mode (`examples/cluster-in-a-box-l3`) as a test, from the same
//! code: three masters in two subnets and two workers in a third behind an FRR router
//! namespace, a client in a fourth, `bmnet bgp run` on every node announcing the API or the
//! ingress VIP over eBGP with BFD, ECMP on the router; then an API server, HAProxy and a whole
//! node are killed and every `bmnet bgp run` gets SIGTERM. Needs root, iproute2, haproxy,
//! curl, python3 and frr; a missing one fails the test with the `apt-get install` command.

// Runs the scenario's processes and namespaces.
#![allow(clippy::disallowed_methods)]

#[path = "../examples/cluster-in-a-box/box.rs"]
mod cib;

use std::path::PathBuf;

use cib::l3;

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn cluster_in_a_box_l3() {
    if let Err(e) = l3::need_tools() {
        panic!("{e}");
    }
    let opts = cib::Options::new(PathBuf::from(env!("CARGO_BIN_EXE_bmnet")));
    let (r, tl) = l3::run(opts).unwrap_or_else(|e| panic!("cluster in a box, L3 mode: {e}"));
    println!("report: {}", serde_json::to_string_pretty(&r).expect("report as JSON"));

    // Four subnets; the masters in two of them.
    let who: Vec<(&str, Vec<String>)> = r.subnets.iter().map(|(n, _, who)| (n.as_str(), who.clone())).collect();
    assert_eq!(
        who,
        [
            ("A", names(&["master-0", "master-1"])),
            ("B", names(&["master-2"])),
            ("C", names(&["worker-0", "worker-1"])),
            ("D", names(&["client"])),
        ]
    );
    // Every session up with the hold time and BFD 100 ms x 3, both ways, as FRR sees it.
    assert_eq!(r.sessions.len(), 5);
    for s in &r.sessions {
        assert_eq!((s.bgp.as_str(), s.hold_ms, s.bfd.as_str()), ("Established", 9000, "up"), "{s:?}");
        assert_eq!((s.bfd_local, s.bfd_remote), ((100, 100, 3), (100, 100, 3)), "{s:?}");
    }
    // Through the VIPs the client reaches every API server and both workers' routers.
    assert_eq!(r.backends_seen.0.len(), 3, "{:?}", r.backends_seen);
    assert_eq!(r.ingress_seen.0, names(&["worker-0", "worker-1"]).into_iter().collect());

    // Each VIP's ECMP set is the healthy nodes at every phase.
    let masters = names(&["master-0", "master-1", "master-2"]);
    let workers = names(&["worker-0", "worker-1"]);
    let phases: Vec<(&str, &Vec<String>, &Vec<String>)> =
        r.phases.iter().map(|p| (p.name.as_str(), &p.api, &p.ingress)).collect();
    let none = Vec::new();
    assert_eq!(
        phases,
        [
            ("converged", &masters, &workers),
            ("API server killed on master-0", &masters, &workers),
            ("HAProxy killed on master-2", &names(&["master-0", "master-1"]), &workers),
            ("HAProxy restarted on master-2", &masters, &workers),
            ("node master-1 killed", &names(&["master-0", "master-2"]), &workers),
            ("SIGTERM", &none, &none),
        ]
    );

    // The client: its probes failed only in the kills' windows (for the API server, the
    // instant it died) or, reset by ECMP moving their flow, in flight while master-2's path
    // came back (counted, not asserted). How long the windows were is printed, not asserted,
    // beyond sanity: BFD, not the 9 s hold time, took the dead node's path away.
    assert!(r.other_http.1 > 100, "the client probed throughout: {:?}", r.other_http);
    assert_eq!(r.other_http.0, 0, "probes failed outside the kills' windows");
    assert!(r.backend_kill_http.1 > 0 && r.haproxy_kill_http.1 > 0 && r.node_kill_http.1 > 0);
    println!(
        "HAProxy kill: path withdrawn in {} ms, {} of {} probes failed ({:?} ms after the kill)",
        r.haproxy_kill_ms, r.haproxy_kill_http.0, r.haproxy_kill_http.1, r.haproxy_kill_failures
    );
    println!(
        "node kill: path gone in {} ms ({}), {} of {} probes failed ({:?} ms after the kill)",
        r.node_kill_ms, r.node_kill_frr_reset, r.node_kill_http.0, r.node_kill_http.1, r.node_kill_failures
    );
    assert!(r.node_kill_frr_reset.contains("BFD"), "FRR took the session down for {:?}", r.node_kill_frr_reset);
    if let Some((_, last)) = r.node_kill_failures {
        assert!(last < 9000, "client failures {last} ms after the node died: longer than the hold time");
    }

    // SIGTERM: every live node withdrew before its Cease, took the VIP off lo and exited 0.
    assert_eq!(r.stopped.len(), 4);
    for s in &r.stopped {
        assert!(s.exit_ok && s.withdrawn_before_cease && s.cease_sent && s.vip_off_lo, "{s:?}");
        assert_ne!(s.frr_state, "Established", "{s:?}");
    }

    // The timeline has every kind of observation, and renders.
    for kind in ["step", "bgp", "bgp-session", "fib", "vip", "http"] {
        assert!(tl.events.iter().any(|e| e.kind == kind), "no {kind} event in the timeline");
    }
    assert_eq!(tl.mode, "l3");
    let svg = cib::render_svg(&tl);
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(
        svg.contains("router: paths to the VIP") && svg.contains("kill node master-1") && !svg.contains("DNS api.*"),
        "the chart shows the router's paths and the kills, and no DNS lane"
    );
}

#[test]
fn a_missing_frr_names_the_install_command() {
    let e = cib::need(&[("/nonexistent/bgpd", &["-v"], "frr"), ("/nonexistent/bfdd", &["-v"], "frr")])
        .expect_err("missing tools");
    assert!(e.contains("apt-get install -y frr`"), "{e}");
}
