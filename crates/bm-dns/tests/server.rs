//! The server (feature `server`) on loopback: UDP and TCP answers (asked with dig and kdig),
//! forwarding to NSD as the upstream (in order, past a dead one, UDP truncation handed to the
//! client and retried over TCP for TCP clients), the loop guard, zone replacement under load
//! without a lost query, the TCP connection cap and idle timeout, and the health query.
//!
//! Needs NSD, dig and kdig (`apt-get install -y nsd bind9-dnsutils knot-dnsutils`).

#![cfg(feature = "server")]
#![allow(clippy::disallowed_methods)] // Sockets, processes, clocks.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bm_dns::{ClusterZone, Server, ServerConfig, ServerError, ZoneConfig};
use common::{Scratch, free_port, start_nsd, tool};
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};

fn cluster(extra: &str) -> ClusterZone {
    ClusterZone::new(
        ZoneConfig::from_toml(&format!(
            "cluster = \"ostest\"\nbase_domain = \"example.com\"\napi_vips = [\"192.168.111.5\"]\n\
             ingress_vips = [\"192.168.111.4\"]\n{extra}\n[nodes]\nmaster-0 = [\"192.168.111.20\"]\n"
        ))
        .unwrap(),
    )
    .unwrap()
}

fn start(zone: ClusterZone) -> Server {
    let mut cfg = ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()]);
    cfg.udp_workers = 2;
    cfg.tcp_max_connections = 4;
    cfg.tcp_idle_timeout = Duration::from_millis(500);
    cfg.upstream_timeout = Duration::from_millis(500);
    Server::start(zone, &cfg).unwrap()
}

/// A query as a stub resolver sends it (RD set).
fn query(name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut q = Message::query();
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if edns {
        q.set_edns(Edns::new());
    }
    q.to_vec().unwrap()
}

fn udp(addr: SocketAddr, q: &[u8]) -> Message {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    s.send_to(q, addr).unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = s.recv_from(&mut buf).expect("an answer over UDP");
    Message::from_vec(&buf[..n]).unwrap()
}

fn tcp_on(conn: &mut TcpStream, q: &[u8]) -> Message {
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(q);
    conn.write_all(&framed).unwrap();
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).expect("an answer over TCP");
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut msg).unwrap();
    Message::from_vec(&msg).unwrap()
}

fn tcp(addr: SocketAddr, q: &[u8]) -> Message {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    tcp_on(&mut conn, q)
}

#[test]
fn dig_and_kdig_over_udp_and_tcp() {
    tool("dig", "bind9-dnsutils");
    tool("kdig", "knot-dnsutils");
    let server = start(cluster(""));
    let addr = server.local_addrs()[0];
    let port = addr.port().to_string();
    for (tool, transport) in [("dig", "+notcp"), ("dig", "+tcp"), ("kdig", "+notcp"), ("kdig", "+tcp")] {
        let o = Command::new(tool)
            .args(["@127.0.0.1", "-p", &port, transport, "+short", "a.b.apps.ostest.example.com", "A"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&o.stdout), "192.168.111.4\n", "{tool} {transport}");
    }
    let o =
        Command::new("dig").args(["@127.0.0.1", "-p", &port, "+short", "health.bmnet", "TXT", "CH"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), "\"ok\" \"zone=ostest.example.com\" \"serial=1\"\n");
    server.handle().shutdown();
    server.wait();
}

/// NSD serves `up.example.org` as the upstream. Names outside our zone go there, in order,
/// past a dead upstream; a truncated upstream answer reaches a UDP client as truncated and a
/// TCP client complete.
#[test]
fn forwarding_to_nsd() {
    tool("nsd", "nsd");
    let dir = std::env::temp_dir().join(format!("bm-dns-fwd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _scratch = Scratch(dir.clone());
    let strings: Vec<String> = (0..30).map(|i| format!("\"{}\"", format!("{i:02}").repeat(100))).collect();
    let upstream_zone = ClusterZone::new(
        ZoneConfig::from_toml(&format!(
            "cluster = \"up\"\nbase_domain = \"example.org\"\napi_vips = [\"198.51.100.5\"]\n\
             [[records]]\ntype = \"TXT\"\nname = \"big\"\ntext = [{}]\n",
            strings.join(", ")
        ))
        .unwrap(),
    )
    .unwrap();
    let (_nsd, nsd_port) = start_nsd(&dir, &upstream_zone);
    let dead = free_port();
    let server = start(cluster(&format!("upstreams = [\"127.0.0.1:{dead}\", \"127.0.0.1:{nsd_port}\"]")));
    let addr = server.local_addrs()[0];

    let r = udp(addr, &query("api.up.example.org.", RecordType::A, true));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.metadata.authoritative, "NSD's answer, passed on unchanged");
    assert_eq!(r.answers[0].data.to_string(), "198.51.100.5");
    let r = udp(addr, &query("nope.up.example.org.", RecordType::A, true));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    // Truncated over UDP: the client learns it and comes back over TCP.
    let r = udp(addr, &query("big.up.example.org.", RecordType::TXT, true));
    assert!(r.metadata.truncation);
    let r = tcp(addr, &query("big.up.example.org.", RecordType::TXT, true));
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 1);
    // Our own zone is never forwarded.
    let r = udp(addr, &query("api.ostest.example.com.", RecordType::A, true));
    assert_eq!(r.answers[0].data.to_string(), "192.168.111.5");
    server.handle().shutdown();
    server.wait();

    // Only dead upstreams — one that never answers (a bound loopback socket nobody reads) and
    // one with no socket at all: SERVFAIL, with the question, after the timeout.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let server = start(cluster(&format!("upstreams = [\"127.0.0.1:{silent_port}\", \"127.0.0.1:{dead}\"]")));
    let started = Instant::now();
    let r = udp(server.local_addrs()[0], &query("www.example.net.", RecordType::A, false));
    assert_eq!(r.metadata.response_code, ResponseCode::ServFail);
    assert_eq!(r.queries.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(400), "waited for the first upstream");
    server.handle().shutdown();
    server.wait();
}

#[test]
fn upstreams_that_loop_are_refused() {
    let port = free_port();
    let zone = cluster(&format!("upstreams = [\"127.0.0.1:{port}\"]"));
    let cfg = ServerConfig::new(vec![SocketAddr::from(([127, 0, 0, 1], port))]);
    assert!(matches!(Server::start(zone, &cfg), Err(ServerError::Loop { .. })));
    let zone = cluster("upstreams = [\"127.0.0.53:53\"]");
    let cfg = ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()]);
    let e = Server::start(zone, &cfg).unwrap_err();
    assert!(e.to_string().contains("systemd-resolved"), "{e}");
    // And a reload that would loop keeps the old zone.
    let server = start(cluster(""));
    let me = server.local_addrs()[0];
    let looping = cluster(&format!("upstreams = [\"[::ffff:127.0.0.1]:{}\"]", me.port()));
    assert!(matches!(server.handle().replace_zone(looping), Err(ServerError::Loop { .. })));
    server.handle().shutdown();
    server.wait();
}

/// Replacing the zone while queries flow loses none, and the new data is served at once.
#[test]
fn zone_replacement_under_load_loses_no_query() {
    let server = start(cluster(""));
    let addr = server.local_addrs()[0];
    let handle = server.handle();
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, answered) = (stop.clone(), answered.clone());
            std::thread::spawn(move || {
                let q = query("api.ostest.example.com.", RecordType::A, true);
                while !stop.load(Ordering::Relaxed) {
                    let r = udp(addr, &q);
                    assert_eq!(r.answers.len(), 1);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for i in 0..50 {
        let vip = if i % 2 == 0 { "192.168.111.6" } else { "192.168.111.5" };
        let zone = ClusterZone::new(
            ZoneConfig::from_toml(&format!(
                "cluster = \"ostest\"\nbase_domain = \"example.com\"\napi_vips = [\"{vip}\"]\n"
            ))
            .unwrap(),
        )
        .unwrap();
        handle.replace_zone(zone).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("every query answered");
    }
    assert!(answered.load(Ordering::Relaxed) > 50);
    let r = udp(addr, &query("api.ostest.example.com.", RecordType::A, true));
    assert_eq!(r.answers[0].data.to_string(), "192.168.111.5", "the last zone");
    handle.shutdown();
    server.wait();
}

/// Whether the server has closed `conn`: the end of the stream or a reset, not a read that
/// merely timed out.
fn closed(conn: &mut TcpStream) -> bool {
    let mut buf = [0u8; 2];
    match conn.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

/// At the cap a new connection is served and the one idle longest is closed for it; a
/// connection idle past the timeout is closed.
#[test]
fn tcp_connection_cap_evicts_the_idlest_and_idle_timeout() {
    let server = start(cluster(""));
    let addr = server.local_addrs()[0];
    let q = query("master-0.ostest.example.com.", RecordType::A, false);
    // Four connections are allowed and answered on the same connection again and again.
    let mut open: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut c = TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            assert_eq!(tcp_on(&mut c, &q).answers.len(), 1);
            c
        })
        .collect();
    assert_eq!(tcp_on(&mut open[0], &q).answers.len(), 1);
    // The fifth is answered; the second, idle longest, is closed for it.
    let mut fifth = TcpStream::connect(addr).unwrap();
    fifth.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert_eq!(tcp_on(&mut fifth, &q).answers.len(), 1);
    open[1].set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    assert!(closed(&mut open[1]), "the idlest is closed at the cap");
    open[0].set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert!(!closed(&mut open[0]), "the most recently used stays");
    assert_eq!(server.handle().stats().tcp_evicted, 1);
    // Idle past the timeout (500 ms): closed.
    open[0].set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(closed(&mut open[0]), "idle: closed");
    assert!(server.handle().stats().tcp_idle_timeouts >= 1);
    drop(open);
    assert_eq!(tcp(addr, &q).answers.len(), 1);
    server.handle().shutdown();
    server.wait();
}

/// The server stops within a moment of being asked, answering until then.
#[test]
fn graceful_shutdown() {
    let server = start(cluster(""));
    let addr = server.local_addrs()[0];
    let mut q = Message::query();
    let mut health = Query::query(Name::from_ascii("health.bmnet.").unwrap(), RecordType::TXT);
    health.set_query_class(DNSClass::CH);
    q.add_query(health);
    assert_eq!(udp(addr, &q.to_vec().unwrap()).answers.len(), 1);
    let started = Instant::now();
    server.handle().shutdown();
    server.wait();
    assert!(started.elapsed() < Duration::from_secs(2));
    // Nothing listens any more.
    assert!(UdpSocket::bind(addr).is_ok(), "the port is free");
}

/// A client that sends a message a byte at a time is closed once the whole-message deadline
/// passes, however often its bytes come; one that stops reading its answers is closed once the
/// write deadline passes. Each is counted.
#[test]
fn tcp_deadlines_bound_a_whole_message_and_a_whole_answer() {
    let strings: Vec<String> = (0..30).map(|i| format!("\"{}\"", format!("{i:02}").repeat(100))).collect();
    let zone = cluster(&format!("[[records]]\ntype = \"TXT\"\nname = \"big\"\ntext = [{}]\n", strings.join(", ")));
    let mut cfg = ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()]);
    cfg.udp_workers = 1;
    cfg.tcp_message_timeout = Duration::from_millis(300);
    cfg.tcp_write_timeout = Duration::from_millis(300);
    let server = Server::start(zone, &cfg).unwrap();
    let addr = server.local_addrs()[0];

    // Slowloris: a byte every 100 ms, each read well within any per-read timeout.
    let q = query("master-0.ostest.example.com.", RecordType::A, false);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let started = Instant::now();
    let mut closed_after = None;
    for b in &framed[..framed.len() - 1] {
        if slow.write_all(&[*b]).is_err() || closed(&mut slow) {
            closed_after = Some(started.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let closed_after = closed_after.expect("closed before the message was whole");
    assert!(closed_after < Duration::from_secs(2), "{closed_after:?}");
    assert_eq!(server.handle().stats().tcp_message_timeouts, 1);

    // A reader that stops: a tiny receive window and 2,000 pipelined queries for a 6 KB answer
    // (more than the kernel buffers on both sides hold).
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    sock.connect(&addr.into()).unwrap();
    let mut stuck: TcpStream = sock.into();
    let big = query("big.ostest.example.com.", RecordType::TXT, false);
    let mut one = (big.len() as u16).to_be_bytes().to_vec();
    one.extend_from_slice(&big);
    let _ = stuck.write_all(&one.repeat(2000));
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.handle().stats().tcp_write_timeouts == 0 {
        assert!(Instant::now() < deadline, "the server kept waiting on a client that does not read");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Others are still served.
    assert_eq!(tcp(addr, &q).answers.len(), 1);
    server.handle().shutdown();
    server.wait();
}
