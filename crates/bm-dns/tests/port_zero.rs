//! Port 0: the server takes the port the kernel gives its first UDP socket for TCP too. When
//! another program holds that port for TCP, it tries another port instead of failing (it did
//! fail: `server.rs`'s `upstreams_that_loop_are_refused` once lost its TCP port to a test
//! running beside it).
//!
//! Played in a network namespace of the test's own (`unshare -n` running this test binary
//! again), whose ephemeral port range is two ports, one of them held for TCP: the kernel gives
//! the held one to the server's UDP socket about every other start, so twenty starts meet it
//! (all twenty missing it has a chance of one in a million). Needs root and `unshare`
//! (util-linux) and `ip` (iproute2).

#![cfg(feature = "server")]
#![allow(clippy::disallowed_methods)] // Sockets, processes.

use std::net::TcpListener;
use std::process::Command;

use bm_dns::{ClusterZone, Server, ServerConfig, ZoneConfig};

/// Set in the namespace's run of this test.
const CHILD: &str = "BMNET_DNS_PORT_ZERO_CHILD";
/// The namespace's ephemeral range: `HELD` (held for TCP) and `FREE`.
const HELD: u16 = 40000;
const FREE: u16 = 40001;
const STARTS: usize = 20;

fn cluster() -> ClusterZone {
    ClusterZone::new(
        ZoneConfig::from_toml(
            "cluster = \"ostest\"\nbase_domain = \"example.com\"\napi_vips = [\"192.168.111.5\"]\n\
             ingress_vips = [\"192.168.111.4\"]\n",
        )
        .unwrap(),
    )
    .unwrap()
}

#[test]
fn port_zero_skips_a_port_held_for_tcp() {
    if std::env::var_os(CHILD).is_some() {
        in_namespace();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["-n", "--"])
        .arg(&exe)
        .args(["--exact", "port_zero_skips_a_port_held_for_tcp", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("unshare is missing: apt-get install -y util-linux");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the run in a namespace failed:\n{stdout}\n{stderr}");
    // The namespace's run did run the test (not zero of them, filtered out).
    assert!(stdout.contains(&format!("{STARTS} starts on port {FREE}")), "{stdout}\n{stderr}");
}

/// In the namespace: two ephemeral ports, the first held for TCP, and the server started on
/// port 0 again and again.
fn in_namespace() {
    let ip = Command::new("ip").args(["link", "set", "lo", "up"]).status().expect("apt-get install -y iproute2");
    assert!(ip.success());
    std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", format!("{HELD} {FREE}"))
        .expect("the namespace's port range (needs root)");
    let _held = TcpListener::bind(("127.0.0.1", HELD)).unwrap();
    let mut cfg = ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()]);
    cfg.udp_workers = 2;
    for i in 0..STARTS {
        let server = Server::start(cluster(), &cfg).unwrap_or_else(|e| panic!("start {i}: {e}"));
        assert_eq!(server.local_addrs()[0].port(), FREE, "start {i}");
        server.handle().shutdown();
        server.wait();
    }
    println!("{STARTS} starts on port {FREE}");
}
