//! `bmnet dns serve` (kernel UDP sockets, and AF_XDP with `--xdp`) under `dnsperf` against NSD
//! (rate limiting off), Knot, Unbound and Knot's own XDP mode, all serving the same zone with
//! the same query mix in the same run. The bench makes two network namespaces joined by a veth
//! pair (`bmb-cli-PID` with `bmbcN`, 10.77.0.1, and `bmb-srv-PID` with `bmbsN`, 10.77.0.2) and
//! deletes them when it ends, panics included. Each server runs in the server namespace on
//! 10.77.0.2 port 53, pinned to CPU 1 with one worker; dnsperf runs in the client namespace,
//! pinned to CPU 0 (the harness of `../shared/research/dns_addr.md` §2.5, moved off loopback).
//! Reported per server: queries per second, lost queries, server CPU per answered query
//! (utime + stime from `/proc/PID/stat` of the server's processes in the server namespace),
//! dnsperf's average latency, and how busy the server and dnsperf kept their CPUs over the
//! middle half of the run (dnsperf near 100 %: the qps is the client's limit as much as the
//! server's); then our ratios against each peer. Targets (issue 13): bmnet on kernel sockets
//! at or below 0.7x Knot's CPU per query and at or above every peer's qps; bmnet over AF_XDP
//! keeps its lead (more qps than each peer, at most half the best CPU per query). Knot's XDP
//! mode is printed beside ours as a like-for-like AF_XDP comparison, outside that peer set.
//!
//! Then forwarding: names outside the zone, through bmnet's forwarder and through Unbound as a
//! forwarder (`forward-no-cache: yes`, so that it forwards every query rather than answering
//! from its cache), both to the same fast upstream (NSD on the server namespace's loopback,
//! pinned to CPU 1 with them), in the "receiver pays" mode. Reported as the other tables.
//!
//! Every server is measured in two harness modes; neither is a real NIC:
//! - "sender pays": a plain veth hands each packet to the receiving side in the softirq of the
//!   sending CPU, so the kernel's receive of every answer into dnsperf's socket (IP, UDP,
//!   wake-up) is charged to the server's CPU, as on loopback.
//! - "receiver pays": RPS on the client's veth steers that receive to dnsperf's CPU 0, as a
//!   NIC interrupting the client host would; the server pays an IPI instead.
//!
//! In both modes each query's receive runs on dnsperf's CPU 0, not the server's: for the
//! kernel-socket servers IP, UDP and the wake-up; for the XDP servers the XDP program and the
//! copy into the AF_XDP ring (veth polls the receiving side on the sending CPU). A NIC would put
//! that work on the server's host.
//!
//! Run (root, with `apt-get install -y dnsperf nsd knot unbound bind9-dnsutils iproute2`):
//! `cargo bench --bench dns_server`. Without `--bench` (as `cargo test
//! --benches` runs it) it only checks that the tools are there and that each server answers,
//! one second of dnsperf each, in both modes, and prints the tables without ratios.

#![allow(clippy::disallowed_methods)] // Runs servers, dnsperf and `ip`, reads /proc, writes /sys.

use std::fmt::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bm_dns::{ClusterZone, ZoneConfig};

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

const CLIENT_IP: &str = "10.77.0.1";
const SERVER_IP: &str = "10.77.0.2";

/// In the order they run in each mode.
const SERVERS: [&str; 6] = ["bmnet", "bmnet-xdp", "nsd", "knot", "unbound", "knot-xdp"];

/// The issue's peers.
const PEERS: [&str; 3] = ["nsd", "knot", "unbound"];

/// The command the forwarders' upstream runs as.
const UPSTREAM_COMM: &str = "unbound-up";

/// The forwarders compared, in the order they run.
const FORWARDERS: [&str; 2] = ["bmnet-fwd", "unbound-fwd"];

/// The upstream's zone: the forwarded names.
const UPSTREAM_ZONE: &str = r#"
cluster = "up"
base_domain = "example.net"
api_vips = ["198.51.100.5"]
ingress_vips = ["198.51.100.4"]
[nodes]
node-0 = ["198.51.100.20", "2001:db8::20"]
"#;

/// Names outside the cluster zone, answered by the upstream (under `*.apps`, a redirect zone
/// there; not under `.test`, which Unbound answers itself, as RFC 6761 allows): all different,
/// so that each query really goes upstream. With a few names repeated, Unbound joins identical
/// queries in flight into one upstream query (its mesh), which measures that, not forwarding;
/// bmnet does not join them.
fn forwarded_queries() -> String {
    (0..50_000).map(|i| format!("n{i}.apps.up.example.net A\n")).collect()
}

/// A server; SIGTERM on drop (so bmnet, NSD's forked children and Knot shut down their own
/// way), SIGKILL if it has not exited within 5 s.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The scratch directory; removed on drop.
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn need(program: &str, package: &str) {
    let ok =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(ok, "{program} not found: apt-get install -y {package}");
}

/// Runs `program args`, panicking with its stderr when it fails.
fn run(program: &str, args: &[&str]) -> String {
    let o = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(o.status.success(), "{program} {}: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The client and server namespaces and the veth pair between them; both namespaces (and with
/// them the pair and anything attached to it) are deleted on drop, after whatever still runs in
/// them is stopped.
struct Net {
    cli: String,
    srv: String,
    cli_if: String,
    srv_if: String,
}

impl Net {
    fn new() -> Net {
        let pid = std::process::id();
        let n = pid % 100_000; // Interface names are at most 15 bytes.
        let net = Net {
            cli: format!("bmb-cli-{pid}"),
            srv: format!("bmb-srv-{pid}"),
            cli_if: format!("bmbc{n}"),
            srv_if: format!("bmbs{n}"),
        };
        // `net` exists before the first command, so a failure part-way still cleans up.
        run("ip", &["netns", "add", &net.cli]);
        run("ip", &["netns", "add", &net.srv]);
        run(
            "ip",
            &[
                "link",
                "add",
                &net.cli_if,
                "netns",
                &net.cli,
                "type",
                "veth",
                "peer",
                "name",
                &net.srv_if,
                "netns",
                &net.srv,
            ],
        );
        for (ns, dev, ip) in [(&net.cli, &net.cli_if, CLIENT_IP), (&net.srv, &net.srv_if, SERVER_IP)] {
            run("ip", &["-n", ns, "addr", "add", &format!("{ip}/24"), "dev", dev]);
            run("ip", &["-n", ns, "link", "set", "dev", dev, "up"]);
            run("ip", &["-n", ns, "link", "set", "dev", "lo", "up"]);
        }
        net
    }

    /// The inode of namespace `ns`, as `/proc/PID/ns/net` names it.
    fn inode(ns: &str) -> u64 {
        std::fs::metadata(format!("/run/netns/{ns}")).map(|m| m.ino()).unwrap_or(0)
    }

    /// `program` in the server namespace, pinned to CPU 1.
    fn server(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.srv, "taskset", "-c", "1", program]);
        c
    }

    /// `program` in the client namespace.
    fn client(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.cli, program]);
        c
    }

    /// Steers the client veth's receive processing to the CPUs of `mask` (`0`: none, where the
    /// packet arrives).
    fn set_rps(&self, mask: &str) {
        let path = format!("/sys/class/net/{}/queues/rx-0/rps_cpus", self.cli_if);
        run("ip", &["netns", "exec", &self.cli, "sh", "-c", &format!("echo {mask} > {path}")]);
    }

    fn xdp_attached(&self) -> bool {
        run("ip", &["-n", &self.srv, "link", "show", "dev", &self.srv_if]).contains("xdp")
    }

    /// Detaches any XDP program from the server veth; whether there was one.
    fn xdp_off(&self) -> bool {
        if !self.xdp_attached() {
            return false;
        }
        for mode in ["xdp", "xdpgeneric"] {
            let _ =
                Command::new("ip").args(["-n", &self.srv, "link", "set", "dev", &self.srv_if, mode, "off"]).status();
        }
        assert!(!self.xdp_attached(), "cannot detach the XDP program from {}", self.srv_if);
        true
    }

    /// Waits (5 s at most) until nothing runs in namespace `ns` (with `comm`: nothing of that
    /// command, as `cpu_ticks` names them), then kills what still does: each server must be
    /// gone before the next binds port 53, and the forwarders' upstream must stay.
    fn reap(ns: &str, comm: Option<&str>) {
        let ino = Net::inode(ns);
        if ino == 0 {
            return;
        }
        let left = || -> Vec<u32> {
            pids_in(ino)
                .into_iter()
                .filter(|&pid| {
                    comm.is_none_or(|c| stat_ticks(pid).is_some_and(|(n, _)| n == c || n.starts_with(&format!("{c}:"))))
                })
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !left().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in left() {
            eprintln!("killing process {pid} left in {ns}");
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }

    /// Waits until the server answers `api.<zone>` to dig in the client namespace.
    fn wait_ready(&self, name: &str, log: &Path) {
        // The forwarders are ready when the upstream's answer comes through them.
        let (qname, answer) = if name.ends_with("-fwd") {
            ("api.up.example.net", "198.51.100.5")
        } else {
            ("api.ostest.example.com", "192.168.111.5")
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let o = self
                .client("dig")
                .args([&format!("@{SERVER_IP}"), "-p", "53", "+short", "+tries=1", "+time=1", qname])
                .output();
            if o.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == answer) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(log).unwrap_or_default();
        panic!("{name} never answered on {SERVER_IP}:53; its output:\n{log}");
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in [&self.srv, &self.cli] {
            Net::reap(ns, None);
            let _ = Command::new("ip").args(["netns", "del", ns]).stderr(Stdio::null()).status();
        }
    }
}

/// The processes in the network namespace with inode `ino`.
fn pids_in(ino: u64) -> Vec<u32> {
    let want = format!("net:[{ino}]");
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/net")).is_ok_and(|l| l.to_str() == Some(&want)))
        .collect()
}

fn spawn(cmd: &mut Command, log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    Proc(cmd.stdout(out).stderr(err).spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}")))
}

/// The command and utime + stime, in clock ticks, of process `pid`.
fn stat_ticks(pid: u32) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    // After ") ": field 3 (state) onwards; utime and stime are fields 14 and 15.
    let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some((stat[open + 1..close].to_string(), ticks))
}

/// utime + stime, in clock ticks, of every process in the network namespace with inode
/// `netns` whose command is `comm` (or `comm: ...`): NSD forks its answering process away from
/// the one started, so the pid alone would miss it. /proc shows every namespace's processes.
fn cpu_ticks(comm: &str, netns: u64) -> u64 {
    let mut total = 0;
    for pid in pids_in(netns) {
        let Some((name, ticks)) = stat_ticks(pid) else { continue };
        // NSD names its answering process `nsd: server 1`.
        if name == comm || name.starts_with(&format!("{comm}:")) {
            total += ticks;
        }
    }
    total
}

struct Result {
    name: &'static str,
    qps: f64,
    lost_pct: f64,
    cpu_us: f64,
    /// The forwarders' upstream's CPU per answered query (0 where there is none).
    upstream_cpu_us: f64,
    latency_ms: f64,
    server_busy_pct: f64,
    client_busy_pct: f64,
}

fn dnsperf(net: &Net, name: &'static str, comm: &str, queries: &Path, seconds: u32) -> Result {
    let ticks = 100.0; // USER_HZ
    let netns = Net::inode(&net.srv);
    let before = cpu_ticks(comm, netns);
    let upstream_before = cpu_ticks(UPSTREAM_COMM, netns);
    // `ip netns exec` and `taskset` exec, so the child is dnsperf.
    let child = net
        .client("taskset")
        .args(["-c", "0", "dnsperf", "-s", SERVER_IP, "-p", "53", "-d"])
        .arg(queries)
        .args(["-c", "4", "-T", "1", "-q", "200", "-l", &seconds.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsperf");
    // How busy the server and dnsperf are, over the middle half of the run: after the run
    // dnsperf waits (and spins) for late answers, which would blur its share.
    let quarter = Duration::from_secs_f64(f64::from(seconds) / 4.0);
    std::thread::sleep(quarter);
    let client = || stat_ticks(child.id()).filter(|(c, _)| c == "dnsperf").map(|(_, t)| t as f64);
    let (s0, c0, t0) = (cpu_ticks(comm, netns), client(), Instant::now());
    std::thread::sleep(2 * quarter);
    let (s1, c1, t1) = (cpu_ticks(comm, netns), client(), Instant::now());
    let busy = |d: f64| 100.0 * d / ticks / (t1 - t0).as_secs_f64();
    let o = child.wait_with_output().expect("dnsperf");
    let used = cpu_ticks(comm, netns).saturating_sub(before) as f64 / ticks;
    let upstream_used = cpu_ticks(UPSTREAM_COMM, netns).saturating_sub(upstream_before) as f64 / ticks;
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
        upstream_cpu_us: if completed > 0.0 { upstream_used * 1e6 / completed } else { f64::NAN },
        latency_ms: number("Average Latency") * 1e3,
        server_busy_pct: busy(s1.saturating_sub(s0) as f64),
        client_busy_pct: c0.zip(c1).map_or(f64::NAN, |(c0, c1)| busy(c1 - c0)),
    }
}

fn nsd_conf(dir: &Path, zone: &str) -> PathBuf {
    let conf = format!(
        "server:\n  ip-address: {SERVER_IP}\n  port: 53\n  do-ip6: no\n  username: \"\"\n  chroot: \"\"\n  \
         database: \"\"\n  zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n  xfrdir: \"{d}\"\n  \
         pidfile: \"{d}/nsd.pid\"\n  server-count: 1\n  rrl-ratelimit: 0\n  minimal-responses: yes\n\
         remote-control:\n  control-enable: no\nzone:\n  name: \"{zone}\"\n  zonefile: \"{d}/zone\"\n",
        d = dir.display()
    );
    let path = dir.join("nsd.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// Knot on kernel sockets, and with `xdp` also on AF_XDP on that interface (Knot 3.2's XDP
/// mode; Debian's knotd has it).
fn knot_conf(dir: &Path, zone: &str, xdp: Option<&str>) -> PathBuf {
    let mut conf = format!(
        "server:\n  listen: {SERVER_IP}@53\n  rundir: \"{d}\"\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n\
         database:\n  storage: \"{d}/knot-db\"\nzone:\n  - domain: {zone}\n    file: \"{d}/zone\"\n    zonefile-load: whole\n    journal-content: none\n",
        d = dir.display()
    );
    if let Some(interface) = xdp {
        let _ = writeln!(conf, "xdp:\n  listen: {interface}@53\n  udp: on");
    }
    let path = dir.join("knot.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// Unbound as an authoritative-ish server: `local-zone static` with every record as
/// `local-data`, and `*.apps` as a `redirect` zone; on `listen` port `port`, its config in
/// `file`.
fn unbound_conf(dir: &Path, zone: &ClusterZone, listen: &str, port: u16, file: &str) -> PathBuf {
    let name = zone.config().zone();
    let mut conf = format!(
        "server:\n  interface: {listen}\n  port: {port}\n  do-ip6: no\n  num-threads: 1\n  username: \"\"\n  chroot: \"\"\n  \
         directory: \"{d}\"\n  pidfile: \"{d}/{file}.pid\"\n  use-syslog: no\n  logfile: \"\"\n  access-control: 10.77.0.0/24 allow\n  \
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
    let path = dir.join(file);
    std::fs::write(&path, conf).unwrap();
    path
}

/// Unbound as a forwarder to the upstream, with its defaults but for what the harness needs: the
/// client's subnet allowed, the upstream on loopback allowed, no cache of forwarded answers.
fn unbound_forwarder_conf(dir: &Path) -> PathBuf {
    let conf = format!(
        "server:\n  interface: {SERVER_IP}\n  port: 53\n  do-ip6: no\n  num-threads: 1\n  username: \"\"\n  chroot: \"\"\n  \
         directory: \"{d}\"\n  pidfile: \"{d}/unbound-fwd.pid\"\n  use-syslog: no\n  logfile: \"\"\n  \
         access-control: 10.77.0.0/24 allow\n  do-not-query-localhost: no\n  module-config: \"iterator\"\n\
         forward-zone:\n  name: \".\"\n  forward-addr: 127.0.0.1@5300\n  forward-no-cache: yes\n\
         remote-control:\n  control-enable: no\n",
        d = dir.display()
    );
    let path = dir.join("unbound-fwd.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// The upstream of the forwarding runs, on the server namespace's loopback, pinned to CPU 1 like
/// the forwarder: a recursive server answering `UPSTREAM_ZONE` from local data (Unbound as a
/// forwarder refuses an upstream that offers no recursion, as NSD does). It runs as
/// `unbound-up`, a link to unbound, so that its CPU is not counted as the forwarders'.
fn start_upstream(net: &Net, dir: &Path) -> Proc {
    let zone = ClusterZone::new(ZoneConfig::from_toml(UPSTREAM_ZONE).unwrap()).unwrap();
    let conf = unbound_conf(dir, &zone, "127.0.0.1", 5300, "unbound-up.conf");
    let link = dir.join(UPSTREAM_COMM);
    let _ = std::fs::remove_file(&link);
    let unbound =
        String::from_utf8(Command::new("sh").args(["-c", "command -v unbound"]).output().unwrap().stdout).unwrap();
    std::os::unix::fs::symlink(unbound.trim(), &link).unwrap();
    let p = spawn(net.server(link.to_str().unwrap()).args(["-d", "-c"]).arg(conf), &dir.join("unbound-up.log"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(
        &net.server("dig")
            .args(["@127.0.0.1", "-p", "5300", "+short", "+tries=1", "+time=1", "api.up.example.net"])
            .output()
            .unwrap()
            .stdout,
    )
    .contains("198.51.100.5")
    {
        assert!(Instant::now() < deadline, "the upstream never answered");
        std::thread::sleep(Duration::from_millis(100));
    }
    p
}

/// Starts server `name` in the server namespace; its process command and guard.
fn start(name: &str, net: &Net, dir: &Path, zone: &ClusterZone, log: &Path) -> (&'static str, Proc) {
    let zone_name = zone.config().zone();
    match name {
        "bmnet" | "bmnet-xdp" => {
            let mut c = net.server(env!("CARGO_BIN_EXE_bmnet"));
            c.env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"));
            c.args(["dns", "serve", "--workers", "1", "--listen", &format!("{SERVER_IP}:53"), "--config"])
                .arg(dir.join("zone.toml"));
            if name == "bmnet-xdp" {
                // bmnet refuses to start while another program is attached.
                net.xdp_off();
                c.args(["--xdp", &net.srv_if]);
            }
            ("bmnet", spawn(&mut c, log))
        }
        "nsd" => ("nsd", spawn(net.server("nsd").args(["-d", "-c"]).arg(nsd_conf(dir, &zone_name)), log)),
        "knot" | "knot-xdp" => {
            let conf = knot_conf(dir, &zone_name, (name == "knot-xdp").then_some(net.srv_if.as_str()));
            ("knotd", spawn(net.server("knotd").arg("-c").arg(conf), log))
        }
        "unbound" => {
            let conf = unbound_conf(dir, zone, SERVER_IP, 53, "unbound.conf");
            ("unbound", spawn(net.server("unbound").args(["-d", "-c"]).arg(conf), log))
        }
        "bmnet-fwd" => {
            let mut c = net.server(env!("CARGO_BIN_EXE_bmnet"));
            c.env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"));
            c.args(["dns", "serve", "--workers", "1", "--listen", &format!("{SERVER_IP}:53"), "--config"])
                .arg(dir.join("zone.toml"))
                .args(["--upstream", "127.0.0.1:5300"]);
            ("bmnet", spawn(&mut c, log))
        }
        "unbound-fwd" => {
            let conf = unbound_forwarder_conf(dir);
            ("unbound", spawn(net.server("unbound").args(["-d", "-c"]).arg(conf), log))
        }
        _ => unreachable!("{name}"),
    }
}

/// Each of `servers` in turn, in the current mode.
fn run_mode(
    net: &Net,
    dir: &Path,
    zone: &ClusterZone,
    servers: &[&'static str],
    queries: &Path,
    seconds: u32,
) -> Vec<Result> {
    let mut results = Vec::new();
    for &name in servers {
        let log = dir.join(format!("{name}.log"));
        let (comm, p) = start(name, net, dir, zone, &log);
        net.wait_ready(name, &log);
        results.push(dnsperf(net, name, comm, queries, seconds));
        drop(p);
        Net::reap(&net.srv, Some(comm));
        match name {
            // knotd leaves its XDP program attached when it exits.
            "knot-xdp" => {
                net.xdp_off();
            }
            // bmnet attaches with a BPF link, which goes away with the process.
            "bmnet-xdp" if net.xdp_off() => eprintln!("note: bmnet left an XDP program on {}", net.srv_if),
            _ => {}
        }
    }
    results
}

fn get<'a>(results: &'a [Result], name: &str) -> &'a Result {
    results.iter().find(|r| r.name == name).unwrap()
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn table(title: &str, results: &[Result]) {
    println!("\n{title}");
    println!(
        "{:<11} {:>9} {:>7} {:>13} {:>11} {:>13} {:>14}",
        "server", "qps", "lost %", "CPU us/query", "latency ms", "server CPU %", "dnsperf CPU %"
    );
    for r in results {
        println!(
            "{:<11} {:>9.0} {:>7.2} {:>13.2} {:>11.3} {:>13.0} {:>14.0}",
            r.name, r.qps, r.lost_pct, r.cpu_us, r.latency_ms, r.server_busy_pct, r.client_busy_pct
        );
    }
}

fn report(title: &str, results: &[Result], bench: bool) {
    table(title, results);
    if !bench {
        return;
    }
    let peers: Vec<&Result> = PEERS.iter().map(|p| get(results, p)).collect();
    let most_qps = peers.iter().copied().max_by(|a, b| a.qps.total_cmp(&b.qps)).unwrap();
    let least_cpu = peers.iter().copied().min_by(|a, b| a.cpu_us.total_cmp(&b.cpu_us)).unwrap();
    for ours in [get(results, "bmnet"), get(results, "bmnet-xdp")] {
        for p in &peers {
            println!(
                "{}/{}: {:.2}x the queries per second, {:.2}x the CPU per query",
                ours.name,
                p.name,
                ours.qps / p.qps,
                ours.cpu_us / p.cpu_us
            );
        }
        println!(
            "target for {}: at least the qps of each of nsd, knot, unbound: {} ({:.0} qps vs {:.0} for {}, the most of them)",
            ours.name,
            met(peers.iter().all(|p| ours.qps >= p.qps)),
            ours.qps,
            most_qps.qps,
            most_qps.name,
        );
    }
    let (kernel, xdp, knot) = (get(results, "bmnet"), get(results, "bmnet-xdp"), get(results, "knot"));
    println!(
        "target for bmnet (kernel sockets): at most 0.7x knot's CPU per query: {} ({:.2} us vs {:.2} us, {:.2}x)",
        met(kernel.cpu_us <= 0.7 * knot.cpu_us),
        kernel.cpu_us,
        knot.cpu_us,
        kernel.cpu_us / knot.cpu_us,
    );
    println!(
        "target for bmnet-xdp (keeps its lead): at most half the best CPU per query of nsd, knot, unbound: {} \
         ({:.2} us vs {:.2} us, half of {}'s {:.2} us)",
        met(xdp.cpu_us <= least_cpu.cpu_us / 2.0),
        xdp.cpu_us,
        least_cpu.cpu_us / 2.0,
        least_cpu.name,
        least_cpu.cpu_us,
    );
    let knot_xdp = get(results, "knot-xdp");
    println!(
        "like-for-like AF_XDP, not one of the issue's peers: bmnet-xdp/knot-xdp: {:.2}x the queries per second, \
         {:.2}x the CPU per query",
        xdp.qps / knot_xdp.qps,
        xdp.cpu_us / knot_xdp.cpu_us
    );
}

fn report_forwarding(results: &[Result], bench: bool) {
    table(
        "forwarding, receiver pays (names outside the zone, to a recursive upstream on the server's loopback; Unbound with forward-no-cache)",
        results,
    );
    if bench {
        let (ours, unbound) = (get(results, "bmnet-fwd"), get(results, "unbound-fwd"));
        println!(
            "bmnet-fwd/unbound-fwd: {:.2}x the queries per second, {:.2}x the CPU per query",
            ours.qps / unbound.qps,
            ours.cpu_us / unbound.cpu_us
        );
        println!(
            "the upstream's CPU per query (alike when both sent every query upstream): {:.2} us behind bmnet-fwd, \
             {:.2} us behind unbound-fwd",
            ours.upstream_cpu_us, unbound.upstream_cpu_us
        );
    }
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
        ("ip", "iproute2"),
    ] {
        need(p, pkg);
    }
    let dir = Dir(std::env::temp_dir().join(format!("bmnet-dnsbench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let zone = ClusterZone::new(ZoneConfig::from_toml(ZONE).unwrap()).unwrap();
    std::fs::write(dir.0.join("zone"), zone.zone_file()).unwrap();
    std::fs::write(dir.0.join("zone.toml"), ZONE).unwrap();
    let queries = dir.0.join("queries");
    std::fs::write(&queries, QUERIES).unwrap();
    let forwarded = dir.0.join("forwarded-queries");
    std::fs::write(&forwarded, forwarded_queries()).unwrap();
    let seconds = if bench { 8 } else { 1 };

    let net = Net::new();
    net.set_rps("0");
    let sender_pays = run_mode(&net, &dir.0, &zone, &SERVERS, &queries, seconds);
    net.set_rps("1");
    let receiver_pays = run_mode(&net, &dir.0, &zone, &SERVERS, &queries, seconds);
    let upstream = start_upstream(&net, &dir.0);
    let forwarding = run_mode(&net, &dir.0, &zone, &FORWARDERS, &forwarded, seconds);
    drop(upstream);
    drop(net);

    report(
        "sender pays (veth, no RPS: each answer's receive into dnsperf's socket runs on the server's CPU 1)",
        &sender_pays,
        bench,
    );
    report(
        "receiver pays (RPS on the client veth: each answer's receive runs on dnsperf's CPU 0, the server sends an IPI)",
        &receiver_pays,
        bench,
    );
    report_forwarding(&forwarding, bench);
}
