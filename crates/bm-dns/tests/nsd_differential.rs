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

/// What a protocol-edge comparison looks at in one answer, as dig or kdig printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    opcode: String,
    /// The RCODE (with kdig, a TSIG error is shown here, as `BADKEY`).
    status: String,
    /// Header flags, CD left out (we copy it from the query as RFC 4035 §3.1.6 says; NSD 4.6
    /// clears it).
    flags: Vec<String>,
    /// The OPT record: version and flags, if any.
    edns: Option<String>,
    /// The TSIG error, if a TSIG record came back (dig only).
    tsig: Option<String>,
    questions: String,
}

/// Asks with `tool` (dig or kdig) and reads the header, flags, OPT and TSIG of the reply.
#[cfg(feature = "server")]
fn edge(tool: &str, port: u16, args: &[&str]) -> Header {
    let tries = if tool == "kdig" { "+retry=0" } else { "+tries=1" };
    let out = std::process::Command::new(tool)
        .args(["@127.0.0.1", "-p", &port.to_string(), tries, "+time=2"])
        .args(args)
        .output()
        .expect("run the client");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |line: &str, key: &str| -> Option<String> {
        let rest = line.split(key).nth(1)?;
        Some(rest.split([',', ';']).next()?.trim().to_string())
    };
    let mut h = Header {
        opcode: String::new(),
        status: String::new(),
        flags: Vec::new(),
        edns: None,
        tsig: None,
        questions: String::new(),
    };
    let mut in_tsig = false;
    for line in text.lines() {
        if line.contains("->>HEADER<<-") {
            h.opcode = field(line, "opcode: ").unwrap_or_default();
            h.status = field(line, "status: ").unwrap_or_default();
        } else if let Some(flags) = line.strip_prefix(";; flags: ").or_else(|| line.strip_prefix(";; Flags: ")) {
            let (set, counts) = flags.split_once(';').unwrap_or((flags, ""));
            h.flags = set.split_whitespace().filter(|f| *f != "cd").map(str::to_string).collect();
            h.questions = field(counts, "QUERY: ").unwrap_or_default();
        } else if let Some(e) = line.strip_prefix("; EDNS: ") {
            h.edns = Some(e.split("; udp").next().unwrap_or(e).trim().to_string());
        } else if let Some(e) = line.strip_prefix(";; Version: ") {
            // kdig: `;; Version: 0; flags: do; UDP size: 1232 B; ext-rcode: NOERROR`
            let flags = field(line, "flags: ").unwrap_or_default();
            h.edns = Some(format!(
                "version: {}, flags:{}",
                e.split(';').next().unwrap_or(""),
                if flags.is_empty() { String::new() } else { format!(" {flags}") }
            ));
        } else if line.contains("TSIG PSEUDOSECTION") {
            in_tsig = true;
        } else if in_tsig && line.contains("TSIG") && !line.starts_with(';') {
            h.tsig = line.split_whitespace().rev().nth(1).map(str::to_string);
            in_tsig = false;
        }
    }
    assert!(!h.status.is_empty(), "{tool} {args:?}: no answer:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    h
}

/// The protocol's edges, asked of NSD and of our server (the whole dispatch step, as a node
/// runs it) with dig and kdig: a TSIG-signed query with a key we do not have (RFC 8945 §5.2:
/// NOTAUTH with TSIG error BADKEY), EDNS version 1 (BADVERS), unknown EDNS options, NSID and
/// cookies (ignored), DO (echoed), no EDNS, RD clear, the Z and AD bits (cleared), other
/// opcodes (NOTIMP, nothing echoed). The answers must agree on opcode, status, flags, OPT
/// and TSIG error (and the question, but for the TSIG error, see below). Not compared: NOTIFY (NSD answers NXDOMAIN without an allow-notify; we
/// NOTIMP), a query without a question (NSD: NOERROR; we, as Knot: FORMERR) and CD (above).
#[cfg(feature = "server")]
#[test]
fn protocol_edges_match_nsd() {
    tool("nsd", "nsd");
    tool("dig", "bind9-dnsutils");
    tool("kdig", "knot-dnsutils");
    let dir = std::env::temp_dir().join(format!("bm-dns-edges-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _scratch = Scratch(dir.clone());
    let zone = ClusterZone::new(ZoneConfig::from_toml(CONFIG).unwrap()).unwrap();
    let (_nsd, nsd_port) = start_nsd(&dir, &zone);
    let mut cfg = bm_dns::ServerConfig::new(vec!["127.0.0.1:0".parse().unwrap()]);
    cfg.udp_workers = 1;
    let server = bm_dns::Server::start(zone.clone(), &cfg).unwrap();
    let port = server.local_addrs()[0].port();
    let api = format!("api.{}.", zone.config().zone());
    let key = "-y hmac-sha256:unknownkey:c2VjcmV0c2VjcmV0";
    let cases: &[(&str, &str)] = &[
        ("both", key),
        ("both", "+norec"),
        ("both", "+noedns"),
        ("both", "+dnssec"),
        ("both", "+nsid"),
        ("both", "+ednsopt=65001:abcd"),
        ("dig", "+cookie"),
        ("dig", "+zflag"),
        ("dig", "+adflag"),
        ("dig", "+edns=1 +noednsnegotiation"),
        ("kdig", "+edns=1"),
        ("dig", "+opcode=iquery"),
        ("dig", "+opcode=status"),
        ("dig", "+opcode=update"),
        ("dig", "+opcode=15"),
        ("both", "+tcp"),
        ("both", "+tcp +dnssec"),
        ("both", &format!("+tcp {key}")),
    ];
    let mut mismatches = Vec::new();
    let mut seen = Vec::new();
    for (tools, opts) in cases {
        for tool in ["dig", "kdig"] {
            if *tools != "both" && *tools != tool {
                continue;
            }
            let mut args: Vec<&str> = opts.split_whitespace().collect();
            args.extend([api.as_str(), "A"]);
            let (mut theirs, ours) = (edge(tool, nsd_port, &args), edge(tool, port, &args));
            // A TSIG error: NSD leaves the question out, we echo it as Knot does; both are
            // allowed (RFC 8945 §5.3.2 says nothing of it).
            if theirs.tsig.is_some() && ours.tsig.is_some() {
                assert_eq!(ours.questions, "1", "{tool} {opts}");
                theirs.questions = ours.questions.clone();
            }
            if theirs != ours {
                mismatches.push(format!("{tool} {opts}\n  nsd:  {theirs:?}\n  ours: {ours:?}"));
            }
            seen.push(ours);
        }
    }
    assert!(mismatches.is_empty(), "{} of the edges differ from NSD:\n{}", mismatches.len(), mismatches.join("\n"));
    // The cases exercised what they claim to.
    assert!(seen.iter().any(|h| h.status == "NOTAUTH" && h.tsig.as_deref() == Some("BADKEY")), "{seen:?}");
    assert!(seen.iter().any(|h| h.status == "BADKEY"), "kdig shows the TSIG error");
    assert!(seen.iter().any(|h| h.status == "BADVERS"));
    assert!(seen.iter().filter(|h| h.status == "NOTIMP").count() >= 4);
    assert!(seen.iter().any(|h| h.edns.as_deref().is_some_and(|e| e.contains("do"))));
    assert!(seen.iter().any(|h| h.edns.is_none() && h.status == "NOERROR"), "without EDNS, no OPT");
    server.handle().shutdown();
    server.wait();
}
