//! `bmnet dns serve` under `dnsperf` against NSD (rate limiting off), Knot and Unbound serving
//! the same zone on loopback, with the same query mix, in the same run. Each server is pinned
//! to CPU 1 with one worker, dnsperf to CPU 0 (the harness of `../shared/research/dns_addr.md`
//! §2.5). Reported per server: queries per second, lost queries, and server CPU per answered
//! query (utime + stime from `/proc/PID/stat`); then our ratios against each peer. Issue
//! target: more queries per second than each peer, at most half the CPU per query of the best.
//!
//! Run (root, with `apt-get install -y dnsperf nsd knot unbound`): `cargo bench --bench
//! dns_server`. Without `--bench` (as `cargo test --benches` runs it) it only checks that the
//! tools are there and each server answers.

#![allow(clippy::disallowed_methods)] // Runs servers and dnsperf, reads /proc.

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bmnet::dns::{ClusterZone, ZoneConfig};

const ZONE: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4"]
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
master-1 = ["192.168.111.21", "fd2e:6f44:5dd8::21"]
master-2 = ["192.168.111.22", "fd2e:6f44:5dd8::22"]
worker-0 = ["192.168.111.23"]
"#;

/// An OpenShift-shaped mix: API, API-internal (both families), apps at depth, nodes, the
/// missing family, a name that does not exist.
const QUERIES: &str = "api.ostest.example.com A
api-int.ostest.example.com A
api-int.ostest.example.com AAAA
console-openshift-console.apps.ostest.example.com A
oauth-openshift.apps.ostest.example.com A
a.b.apps.ostest.example.com A
master-0.ostest.example.com A
master-1.ostest.example.com AAAA
nope.ostest.example.com A
";

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn need(program: &str, package: &str) {
    let ok =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{program} not found: apt-get install -y {package}");
}

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn spawn(cmd: &mut Command) -> Proc {
    Proc(cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}")))
}

/// Waits until the server answers `api.<zone>`.
fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        let o = Command::new("dig")
            .args(["@127.0.0.1", "-p", &port.to_string(), "+short", "+tries=1", "+time=1", "api.ostest.example.com"])
            .output();
        if o.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "192.168.111.5") {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("server on port {port} never answered");
}

/// utime + stime, in clock ticks, of every process whose command is `comm` (or `comm: ...`):
/// NSD forks its answering process away from the one started, so the pid alone would miss it. Only this
/// benchmark's instance of each server runs.
fn cpu_ticks(comm: &str) -> u64 {
    let mut total = 0;
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        // NSD names its answering process `nsd: server 1`.
        let name = &stat[open + 1..close];
        if name != comm && !name.starts_with(&format!("{comm}:")) {
            continue;
        }
        // After ") ": field 3 (state) onwards; utime and stime are fields 14 and 15.
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        total += f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
    }
    total
}

struct Result {
    name: &'static str,
    qps: f64,
    lost_pct: f64,
    cpu_us: f64,
}

fn dnsperf(name: &'static str, comm: &str, port: u16, queries: &Path, seconds: u32) -> Result {
    let ticks = 100.0; // USER_HZ
    let before = cpu_ticks(comm);
    let o = Command::new("taskset")
        .args(["-c", "0", "dnsperf", "-s", "127.0.0.1", "-p", &port.to_string(), "-d"])
        .arg(queries)
        .args(["-c", "4", "-T", "1", "-q", "200", "-l", &seconds.to_string()])
        .output()
        .expect("dnsperf");
    let used = cpu_ticks(comm).saturating_sub(before) as f64 / ticks;
    let text = String::from_utf8_lossy(&o.stdout);
    let number = |key: &str| -> f64 {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .and_then(|l| l.split(':').nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    };
    let completed = number("Queries completed");
    let lost = number("Queries lost");
    Result {
        name,
        qps: number("Queries per second"),
        lost_pct: if completed + lost > 0.0 { 100.0 * lost / (completed + lost) } else { 100.0 },
        cpu_us: if completed > 0.0 { used * 1e6 / completed } else { f64::NAN },
    }
}

fn nsd_conf(dir: &Path, port: u16, zone: &str) -> PathBuf {
    let conf = format!(
        "server:\n  ip-address: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  \
         database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  server-count: 1\n  rrl-ratelimit: 0\n  minimal-responses: yes\n\
         remote-control:\n  control-enable: no\nzone:\n  name: \"{zone}\"\n  zonefile: \"{d}/zone\"\n",
        d = dir.display()
    );
    let path = dir.join("nsd.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn knot_conf(dir: &Path, port: u16, zone: &str) -> PathBuf {
    let conf = format!(
        "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
         database:\n  storage: \"{d}/knot-db\"\nzone:\n  - domain: {zone}\n    file: \"{d}/zone\"\n    zonefile-load: whole\n    journal-content: none\n",
        d = dir.display()
    );
    let path = dir.join("knot.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// Unbound as an authoritative-ish server: `local-zone static` with every record as
/// `local-data`, and `*.apps` as a `redirect` zone.
fn unbound_conf(dir: &Path, port: u16, zone: &ClusterZone) -> PathBuf {
    let name = zone.config().zone();
    let mut conf = format!(
        "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  num-threads: 1\n  username: \"\"\n  chroot: \"\"\n  \
         directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  access-control: 127.0.0.0/8 allow\n  \
         local-zone: \"{name}.\" static\n",
        d = dir.display()
    );
    for line in zone.zone_file().lines().filter(|l| !l.starts_with(';') && !l.starts_with('$')) {
        if let Some(rest) = line.strip_prefix("*.apps.") {
            let _ = writeln!(conf, "  local-zone: \"apps.{name}.\" redirect\n  local-data: \"apps.{rest}\"");
        } else {
            let _ = writeln!(conf, "  local-data: \"{line}\"");
        }
    }
    let _ = writeln!(conf, "remote-control:\n  control-enable: no");
    let path = dir.join("unbound.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    for (p, pkg) in [
        ("dnsperf", "dnsperf"),
        ("nsd", "nsd"),
        ("knotd", "knot"),
        ("unbound", "unbound"),
        ("dig", "bind9-dnsutils"),
        ("taskset", "util-linux"),
    ] {
        need(p, pkg);
    }
    let dir = std::env::temp_dir().join(format!("bmnet-dnsbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let zone = ClusterZone::new(ZoneConfig::from_toml(ZONE).unwrap()).unwrap();
    let name = zone.config().zone();
    std::fs::write(dir.join("zone"), zone.zone_file()).unwrap();
    std::fs::write(dir.join("zone.toml"), ZONE).unwrap();
    let queries = dir.join("queries");
    std::fs::write(&queries, QUERIES).unwrap();
    let seconds = if bench { 8 } else { 1 };

    let mut results = Vec::new();
    let pin = |program: &str| {
        let mut c = Command::new("taskset");
        c.args(["-c", "1", program]);
        c
    };
    {
        let port = free_port();
        let p = spawn(
            pin(env!("CARGO_BIN_EXE_bmnet"))
                .args(["dns", "serve", "--workers", "1", "--listen", &format!("127.0.0.1:{port}"), "--config"])
                .arg(dir.join("zone.toml")),
        );
        wait_ready(port);
        results.push(dnsperf("bmnet", "bmnet", port, &queries, seconds));
        drop(p);
    }
    {
        let port = free_port();
        let conf = nsd_conf(&dir, port, &name);
        let p = spawn(pin("nsd").args(["-d", "-c"]).arg(conf));
        wait_ready(port);
        results.push(dnsperf("nsd", "nsd", port, &queries, seconds));
        drop(p);
    }
    {
        let port = free_port();
        let conf = knot_conf(&dir, port, &name);
        let p = spawn(pin("knotd").arg("-c").arg(conf));
        wait_ready(port);
        results.push(dnsperf("knot", "knotd", port, &queries, seconds));
        drop(p);
    }
    {
        let port = free_port();
        let conf = unbound_conf(&dir, port, &zone);
        let p = spawn(pin("unbound").args(["-d", "-c"]).arg(conf));
        wait_ready(port);
        results.push(dnsperf("unbound", "unbound", port, &queries, seconds));
        drop(p);
    }
    let _ = std::fs::remove_dir_all(&dir);

    println!("{:<8} {:>10} {:>8} {:>12}", "server", "qps", "lost %", "CPU us/query");
    for r in &results {
        println!("{:<8} {:>10.0} {:>8.2} {:>12.2}", r.name, r.qps, r.lost_pct, r.cpu_us);
    }
    if !bench {
        return;
    }
    let ours = &results[0];
    let peers = &results[1..];
    let best_cpu = peers.iter().map(|r| r.cpu_us).fold(f64::INFINITY, f64::min);
    for p in peers {
        println!(
            "bmnet/{}: {:.2}x the queries per second, {:.2}x the CPU per query",
            p.name,
            ours.qps / p.qps,
            ours.cpu_us / p.cpu_us
        );
    }
    println!(
        "target: more qps than each peer ({}), at most half the best peer's CPU per query ({:.2} us vs {:.2} us: {})",
        if peers.iter().all(|p| ours.qps > p.qps) { "met" } else { "NOT met" },
        ours.cpu_us,
        best_cpu / 2.0,
        if ours.cpu_us <= best_cpu / 2.0 { "met" } else { "NOT met" }
    );
}
