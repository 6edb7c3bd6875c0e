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

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bm_dns::{ClusterZone, Outcome, Transport, ZoneConfig};

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

fn tool(program: &str, package: &str) {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(found, "{program} not found: install it with `apt-get install -y {package}` (this test never skips)");
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Nsd(Child);

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A UDP port nobody is using right now.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_nsd(dir: &Path, zone: &ClusterZone) -> (Nsd, u16) {
    let port = free_port();
    std::fs::write(dir.join("zone"), zone.zone_file()).unwrap();
    let conf = format!(
        r#"server:
    ip-address: 127.0.0.1
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    pidfile: "{dir}/nsd.pid"
    logfile: "{dir}/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
    minimal-responses: yes
    refuse-any: no
remote-control:
    control-enable: no
zone:
    name: "{name}"
    zonefile: "{dir}/zone"
"#,
        dir = dir.display(),
        name = zone.config().zone(),
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let check = Command::new("nsd-checkzone").arg(zone.config().zone()).arg(dir.join("zone")).output().unwrap();
    assert!(
        check.status.success(),
        "nsd-checkzone refuses our zone file:\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        zone.zone_file()
    );
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsd");
    let nsd = Nsd(child);
    // Wait until it answers the SOA.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = dig(port, &[format!("{}. SOA", zone.config().zone())]);
        if out.iter().any(|r| r.rcode == "NOERROR") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nsd did not come up; log:\n{}",
            std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (nsd, port)
}

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

/// One response as dig printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    query: String,
    rcode: String,
    aa: bool,
    answer: BTreeSet<String>,
    authority: BTreeSet<String>,
    /// The answer section exactly as printed (case kept).
    answer_raw: Vec<String>,
}

/// Asks `port` every query (`NAME TYPE`) in one `dig -f` batch.
fn dig(port: u16, queries: &[String]) -> Vec<Reply> {
    // Options go on every line: dig applies command-line options to the first query only.
    let opts = "+norec +nocookie +noall +comments +question +answer +authority +tries=1 +time=2";
    let batch: String = queries.iter().map(|q| format!("{q} {opts}\n")).collect();
    let file = std::env::temp_dir().join(format!("bm-dns-dig-{}-{port}", std::process::id()));
    std::fs::write(&file, batch).unwrap();
    let out =
        Command::new("dig").args(["@127.0.0.1", "-p", &port.to_string(), "-f"]).arg(&file).output().expect("run dig");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if std::env::var_os("BM_DNS_DIG_DUMP").is_some() {
        std::fs::write(
            format!("/tmp/dig-{port}.txt"),
            format!("{text}\n--- stderr\n{}", String::from_utf8_lossy(&out.stderr)),
        )
        .unwrap();
    }
    let mut replies = Vec::new();
    let mut it = queries.iter();
    for block in text.split(";; Got answer:").skip(1) {
        let mut r = Reply {
            query: it.next().cloned().unwrap_or_default(),
            rcode: String::new(),
            aa: false,
            answer: BTreeSet::new(),
            authority: BTreeSet::new(),
            answer_raw: Vec::new(),
        };
        let mut section = "";
        for line in block.lines() {
            if let Some(rest) = line.split("status: ").nth(1) {
                r.rcode = rest.split(',').next().unwrap_or("").to_string();
            } else if let Some(flags) = line.strip_prefix(";; flags: ") {
                r.aa = flags.split(';').next().unwrap_or("").split_whitespace().any(|f| f == "aa");
            } else if line.starts_with(";; ANSWER SECTION") {
                section = "answer";
            } else if line.starts_with(";; AUTHORITY SECTION") {
                section = "authority";
            } else if line.starts_with(';') || line.trim().is_empty() {
                if line.starts_with(";; ") && !line.contains("SECTION") {
                    section = "";
                }
            } else {
                let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
                match section {
                    "answer" => {
                        r.answer_raw.push(norm.clone());
                        r.answer.insert(norm.to_ascii_lowercase());
                    }
                    "authority" => {
                        r.authority.insert(norm.to_ascii_lowercase());
                    }
                    _ => {}
                }
            }
        }
        replies.push(r);
    }
    replies
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
