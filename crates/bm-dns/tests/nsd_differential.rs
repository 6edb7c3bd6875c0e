//! Differential test against NSD: NSD serves `ClusterZone::zone_file()` on loopback, a small
//! UDP loop serves `ClusterZone::answer` next to it, and `dig` asks both the same generated
//! corpus (every record, wildcard depths, the empty non-terminals, case mixes, names just
//! outside the zone) × (A, AAAA, ANY, SOA, NS, MX, TXT, PTR, CNAME, SRV). RCODE, AA, and the
//! answer and authority sections must match (as sets, names compared case-insensitively; for
//! ANY only RCODE and AA, since RFC 8482 lets us answer one RRset where NSD gives all).
//!
//! Needs NSD and dig (`apt-get install -y nsd bind9-dnsutils`); without them the test fails
//! with that command.

#![allow(clippy::disallowed_methods)] // Runs NSD and dig, binds sockets, writes scratch files.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bm_dns::{ClusterZone, Outcome, Transport, ZoneConfig};
use common::{Reply, Scratch, dig, start_nsd, tool};

const CONFIG: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
api_int_vips = ["192.168.111.5", "fd2e:6f44:5dd8::5"]
ingress_vips = ["192.168.111.4", "fd2e:6f44:5dd8::4"]

[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
worker-0 = ["192.168.111.23"]
"lab.rack1.node-7" = ["192.168.111.27"]

[[records]]
type = "TXT"
name = "@"
text = ["v=spf1 -all", "second \"quoted\" string"]

[[records]]
type = "SRV"
name = "_etcd-server-ssl._tcp"
priority = 0
weight = 10
port = 2380
target = "master-0"

[[records]]
type = "CNAME"
name = "console"
target = "console-openshift-console.apps"

[[records]]
type = "CNAME"
name = "registry"
target = "registry.example.org."

[[records]]
type = "CNAME"
name = "loop-a"
target = "missing"

[[records]]
type = "A"
name = "bastion"
addr = "192.168.111.10"
"#;

/// Serves `zone.answer` on a loopback port, UDP and TCP (dig sends ANY over TCP in batch
/// mode), until dropped.
struct Ours {
    port: u16,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Ours {
    fn start(zone: ClusterZone) -> Ours {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let port = sock.local_addr().unwrap().port();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, udp_zone) = (stop.clone(), zone.clone());
        let udp = std::thread::spawn(move || {
            let (mut buf, mut out) = (vec![0u8; 65535], Vec::with_capacity(4096));
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else { continue };
                if udp_zone.answer(&buf[..n], &mut out) == Outcome::Answered {
                    let _ = sock.send_to(&out, from);
                }
            }
        });
        let flag = stop.clone();
        let tcp = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut out = Vec::new();
                loop {
                    let mut len = [0u8; 2];
                    if conn.read_exact(&mut len).is_err() {
                        break;
                    }
                    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                    if conn.read_exact(&mut msg).is_err() {
                        break;
                    }
                    if zone.answer_over(&msg, Transport::Tcp, &mut out) == Outcome::Answered {
                        let mut framed = (out.len() as u16).to_be_bytes().to_vec();
                        framed.extend_from_slice(&out);
                        if conn.write_all(&framed).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        Ours { port, stop, threads: vec![udp, tcp] }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn corpus(zone: &str) -> Vec<String> {
    let names = [
        "@",
        "api",
        "API",
        "api-int",
        "ApI-InT",
        "apps",
        "APPS",
        "x.apps",
        "console-openshift-console.apps",
        "a.b.apps",
        "deep.a.b.c.apps",
        "*.apps",
        "Oauth-Openshift.APPS",
        "master-0",
        "MASTER-0",
        "worker-0",
        "lab.rack1.node-7",
        "rack1.node-7",
        "node-7",
        "_etcd-server-ssl._tcp",
        "_tcp",
        "console",
        "registry",
        "loop-a",
        "missing",
        "bastion",
        "nope",
        "x.nope",
        "x.api",
        "x.master-0",
        "x.y.z",
        "ns1",
    ];
    let types = ["A", "AAAA", "ANY", "SOA", "NS", "MX", "TXT", "PTR", "CNAME", "SRV"];
    let mut q = Vec::new();
    for n in names {
        let fqdn = if n == "@" { format!("{zone}.") } else { format!("{n}.{zone}.") };
        for t in types {
            q.push(format!("{fqdn} {t}"));
        }
    }
    // Just outside the zone: NSD is not authoritative there and refuses, as we do without
    // upstreams.
    for n in ["example.com.", "xostest.example.com.", "com.", "."] {
        for t in ["A", "SOA"] {
            q.push(format!("{n} {t}"));
        }
    }
    q
}

#[test]
fn answers_match_nsd() {
    tool("nsd", "nsd");
    tool("dig", "bind9-dnsutils");
    let dir = std::env::temp_dir().join(format!("bm-dns-nsd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _scratch = Scratch(dir.clone());

    let zone = ClusterZone::new(ZoneConfig::from_toml(CONFIG).unwrap()).unwrap();
    let (_nsd, nsd_port) = start_nsd(&dir, &zone);
    let ours = Ours::start(zone.clone());

    let queries = corpus(&zone.config().zone());
    let theirs = dig(nsd_port, &queries);
    let mine = dig(ours.port, &queries);
    let missing = |replies: &[Reply]| -> Vec<String> {
        queries.iter().filter(|q| !replies.iter().any(|r| r.query.eq_ignore_ascii_case(q))).cloned().collect()
    };
    assert!(missing(&theirs).is_empty(), "NSD did not answer {:?}", missing(&theirs));
    assert!(missing(&mine).is_empty(), "we did not answer {:?}", missing(&mine));
    assert_eq!((theirs.len(), mine.len()), (queries.len(), queries.len()));

    let mut mismatches = Vec::new();
    for (t, m) in theirs.iter().zip(&mine) {
        let any = t.query.ends_with(" ANY");
        let same = t.rcode == m.rcode && t.aa == m.aa && (any || (t.answer == m.answer && t.authority == m.authority));
        if !same {
            mismatches.push(format!("{}\n  nsd:  {:?}\n  ours: {:?}", t.query, t, m));
        }
        // Our owners carry the query's case.
        if !any {
            let qname = m.query.split_whitespace().next().unwrap();
            for line in &m.answer_raw {
                let owner = line.split_whitespace().next().unwrap();
                if owner.eq_ignore_ascii_case(qname) {
                    assert_eq!(owner, qname, "{}: owner case not echoed", m.query);
                }
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} answers differ from NSD:\n{}",
        mismatches.len(),
        queries.len(),
        mismatches.join("\n")
    );
    // The corpus exercised what it claims to.
    let count = |f: &dyn Fn(&Reply) -> bool| mine.iter().filter(|r| f(r)).count();
    assert!(count(&|r| r.rcode == "NXDOMAIN") > 20);
    assert!(count(&|r| r.rcode == "NOERROR" && r.answer.is_empty() && !r.authority.is_empty()) > 50, "NODATA");
    assert!(count(&|r| r.rcode == "REFUSED") >= 8);
    assert!(count(&|r| r.answer.iter().any(|a| a.contains(" cname "))) >= 3);
}
