//! A whole bare-metal cluster's networking on one machine: the scenario shared by
//! `examples/cluster-in-a-box` (which prints it) and `tests/cluster_in_a_box.rs` (which asserts
//! it).
//!
//! Three control-plane nodes and two workers live in network namespaces of their own, each with
//! two NICs (veth pairs) on a Linux bridge that lives in a namespace of its own too, next to a
//! client namespace; nothing is configured on the host. Every node's keyfiles come from an
//! NNCP-style state through `bmnet nmconn render` and pass `bmnet nmconn check`; the addresses
//! and routes they declare are applied to the namespace. `bmnet node-ip set` picks the kubelet
//! IP, `bmnet dns serve` answers the cluster zone on it, `bmnet dns resolv-conf` writes the
//! node's resolv.conf, HAProxy balances three stand-in API servers, and `bmnet vrrp run` holds
//! the API VIP on the control plane and the ingress VIP on the workers with OpenShift's
//! keepalived.conf shape. Then HAProxy, a backend and a whole node are killed, and what the
//! client sees is recorded as a timeline.
//!
//! Where the box departs from OpenShift, and why: VRRPv3 with a 0.1 s advert instead of v2
//! with 1 s (v2 cannot go below a second), hence no PASS authentication; the check scripts
//! run every 0.5 s instead of 2 s (same rise and fall counts) and HAProxy checks its backends
//! every 200 ms; clients use HAProxy's port 9445 directly (OpenShift redirects VIP:6443 there
//! with an iptables rule); `chk_mcs` and `chk_default_ingress` are left out (they ask CRI-O
//! with `crictl`). The bond and the VLAN exist only in the keyfiles: their addresses go on the
//! veths that stand in for them.
//!
//! Namespaces and processes are removed on drop, also on failure and on interruption; the
//! scratch directory too, except after a failure (its logs are named then).
//!
//! This file holds the scenario and the cluster's plumbing; `setup.rs` builds the nodes,
//! `observe.rs` watches them, `failures.rs` checks and breaks them, `chart.rs` draws the
//! timeline. `../cluster-in-a-box-l3/l3.rs` is the same cluster in L3 mode (BGP to a router
//! instead of VRRP on one segment), on the same plumbing.

// Namespaces, processes, threads, clocks and scratch files are the point of the scenario.
#![allow(clippy::disallowed_methods, dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bm_nmconn::Document;
use bm_nmconn::state::{InterfaceType, State};
use serde::Serialize;

#[path = "chart.rs"]
pub mod chart;
#[path = "failures.rs"]
mod failures;
#[path = "../cluster-in-a-box-l3/l3.rs"]
pub mod l3;
#[path = "observe.rs"]
mod observe;
#[path = "setup.rs"]
mod setup;
pub use chart::render_svg;

/// The cluster zone, `<cluster>.<base domain>`.
pub const ZONE: &str = "ostest.example.com";
/// The API VIP (machine network).
pub const API_VIP: &str = "192.168.111.5";
/// The ingress VIP (machine network).
pub const INGRESS_VIP: &str = "192.168.111.4";
/// The client outside the cluster, on the machine network.
pub const CLIENT_IP: &str = "192.168.111.10";
/// The machine network's gateway and DNS server as the keyfiles name them (nothing answers).
pub const GATEWAY: &str = "192.168.111.1";
/// HAProxy's API frontend (OpenShift's; it redirects VIP:6443 there with an iptables rule the
/// box does not install, so clients use this port directly).
pub const API_LB_PORT: u16 = 9445;
/// OpenShift's base priority of the API instance, and the weights of `chk_ocp_lb` and
/// `chk_ocp_both`.
pub const API_PRIORITY: u8 = 40;
const CHK_OCP_LB_WEIGHT: u8 = 20;
const CHK_OCP_BOTH_WEIGHT: u8 = 5;
/// The ingress instance's base priority and `chk_ingress_ready`'s weight.
pub const INGRESS_PRIORITY: u8 = 20;
const CHK_INGRESS_READY_WEIGHT: u8 = 10;
/// The check scripts' interval and timeout: OpenShift's 2 s / 1.9 s scaled down, keeping its
/// rise and fall counts.
pub const SCRIPT_INTERVAL: f64 = 0.5;
const SCRIPT_TIMEOUT: f64 = 0.45;
/// `chk_ocp_lb`'s fall count.
pub const API_FALL: u32 = 3;
const API_VRID: u8 = 51;
const INGRESS_VRID: u8 = 52;

/// The tools the scenario runs, with the Debian package that has each.
const TOOLS: &[(&str, &[&str], &str)] = &[
    ("ip", &["-V"], "iproute2"),
    ("/usr/sbin/haproxy", &["-v"], "haproxy"),
    ("dig", &["-v"], "bind9-dnsutils"),
    ("curl", &["--version"], "curl"),
    ("python3", &["--version"], "python3"),
];

/// keepalived, for `Options::keepalived`.
const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// The probe run in the client namespace.
const PROBE_PY: &str = include_str!("probe.py");

/// Where `bmnet inspect` reads keyfiles; the scenario mounts a node's over it, in the private
/// mount namespace of one `ip netns exec`.
const NM_KEYFILES: &str = "/etc/NetworkManager/system-connections";

/// Fails, naming the `apt-get install` command, when a tool is missing.
pub fn need_tools() -> Result<(), String> {
    need(TOOLS)?;
    if Path::new(NM_KEYFILES).is_dir() {
        Ok(())
    } else {
        Err(format!(
            "the cluster in a box needs {NM_KEYFILES} (to show a node's keyfiles with `bmnet inspect`): install with \
             `apt-get install -y network-manager`"
        ))
    }
}

/// Fails, naming the `apt-get install` command, when one of `tools` (program, arguments that
/// make it exit 0, Debian package) does not run.
pub fn need(tools: &[(&str, &[&str], &str)]) -> Result<(), String> {
    let mut missing: Vec<&str> = Vec::new();
    for (tool, args, package) in tools {
        let runs = Command::new(tool).args(*args).output().is_ok_and(|o| o.status.success());
        if !runs && !missing.contains(package) {
            missing.push(package);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the cluster in a box needs {}: install with `apt-get install -y {}` (and run as root)",
            missing.join(", "),
            missing.join(" ")
        ))
    }
}

/// The `bmnet` binary next to the running example (`target/<profile>/bmnet`), built first when
/// cargo runs the example (cargo builds no binaries for examples by itself).
pub fn default_bmnet() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe.parent().and_then(|p| p.parent()).ok_or("the example is not under target/<profile>")?;
    let bmnet = profile_dir.join("bmnet");
    if let Some(cargo) = std::env::var_os("CARGO") {
        let target = profile_dir.parent().ok_or("no target directory")?;
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--bin", "bmnet"]).env("CARGO_TARGET_DIR", target);
        if profile_dir.file_name().is_some_and(|f| f == "release") {
            cmd.arg("--release");
        }
        if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
            cmd.current_dir(dir);
        }
        let status = cmd.status().map_err(|e| format!("cargo build --bin bmnet: {e}"))?;
        if !status.success() {
            return Err("cargo build --bin bmnet failed".into());
        }
    }
    Ok(bmnet)
}

/// Writes the timeline to `out` as `timeline.json` and as the chart `failover.svg`.
pub fn write_timeline(out: &Path, tl: &Timeline) -> Result<(), String> {
    let json = serde_json::to_string_pretty(tl).map_err(|e| format!("the timeline as JSON: {e}"))?;
    write(&out.join("timeline.json"), &json)?;
    write(&out.join("failover.svg"), &render_svg(tl))
}

/// What the examples do with their options: run `scenario` (SIGINT and SIGTERM stop it, and
/// it cleans up), write the timeline to `out`, print `summary`. `name` starts every message.
pub fn run_example<R>(
    name: &str,
    opts: Options,
    out: &Path,
    scenario: fn(Options) -> Result<(R, Timeline), String>,
    summary: &dyn Fn(&R) -> Vec<String>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, Arc::clone(&opts.stop)) {
            eprintln!("{name}: cannot handle signal {sig}: {e}");
            return ExitCode::from(2);
        }
    }
    let (report, timeline) = match scenario(opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{name}: FAILED: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = write_timeline(out, &timeline) {
        eprintln!("{name}: {e}");
        return ExitCode::FAILURE;
    }
    println!("\nsummary");
    for line in summary(&report) {
        println!("  {line}");
    }
    println!("  timeline: {} and {}", out.join("timeline.json").display(), out.join("failover.svg").display());
    ExitCode::SUCCESS
}

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// The `bmnet` binary.
    pub bmnet: PathBuf,
    /// The VRRP advertisement interval in seconds (VRRPv3: 0.01 to 40.95).
    pub advert: f64,
    /// Set (by a signal handler) to stop: the scenario then fails with "interrupted" and
    /// cleans up.
    pub stop: Arc<AtomicBool>,
    /// Keep the scratch directory (configs, keyfiles, logs) after a successful run.
    pub keep_dir: bool,
    /// Run keepalived (Debian's 2.2.7) on the same keepalived.conf instead of `bmnet vrrp run`,
    /// for comparison (its transitions are then not on the timeline).
    pub keepalived: bool,
}

impl Options {
    /// Defaults: an advert interval of 0.1 s.
    pub fn new(bmnet: PathBuf) -> Options {
        Options { bmnet, advert: 0.1, stop: Arc::new(AtomicBool::new(false)), keep_dir: false, keepalived: false }
    }
}

/// RFC 5798's Master_Down_Interval for a backup of `priority`: 3 adverts plus the skew time.
pub fn master_down_interval(advert: f64, priority: u8) -> Duration {
    Duration::from_secs_f64(3.0 * advert + f64::from(256 - u32::from(priority)) * advert / 256.0)
}

/// The API instance's priority while both checks pass.
pub const fn api_priority_max() -> u8 {
    API_PRIORITY + CHK_OCP_LB_WEIGHT + CHK_OCP_BOTH_WEIGHT
}

/// A node's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    /// Control plane: API server stand-in, HAProxy, the API VIP.
    Master,
    /// Worker: router stand-in, the ingress VIP.
    Worker,
}

/// One observation on the timeline, `t_ms` after the scenario started.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Milliseconds since the start.
    pub t_ms: i64,
    /// `step` (what the scenario did), `vrrp` (a transition logged by `bmnet vrrp run --json`),
    /// `vip` (an address appearing or leaving, seen with `ip -j addr`), `http` (a probe of the
    /// API VIP from the client), `dns` (an `api.<zone>` query from the client to one node),
    /// `arp` (the node whose MAC the client's neighbour entry for the API VIP holds); in L3
    /// mode `bgp` (a VIP announced or withdrawn, logged by `bmnet bgp run --json`),
    /// `bgp-session` (its BGP or BFD session changing state) and `fib` (the node becoming or
    /// ceasing to be a next hop of a VIP in the router's FIB, seen with `ip -j route`).
    pub kind: String,
    /// The node concerned, if any.
    pub node: String,
    /// Success, for probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// What happened.
    pub detail: String,
    /// How long it took, ms, for probes (a probe's `t_ms` is when it started).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms: Option<f64>,
}

/// The recorded timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// The cluster zone.
    pub zone: String,
    /// The API VIP.
    pub api_vip: String,
    /// `l2` (VRRP on one segment) or `l3` (BGP to a router).
    pub mode: String,
    /// The VRRP advert interval, seconds (L2 mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advert_int: Option<f64>,
    /// The daemon: `bmnet vrrp run`, `keepalived` or `bmnet bgp run`.
    pub daemon: String,
    /// How the VIPs move, in a few words (`VRRPv3, advert 0.1 s`).
    pub mechanism: String,
    /// Unix time of `t_ms = 0`, milliseconds.
    pub start_unix_ms: i64,
    /// The node names, in order, with their roles.
    pub nodes: Vec<(String, Role)>,
    /// The window the client probed, `[from, to]` ms.
    pub window_ms: (i64, i64),
    /// The measured results, one line each.
    pub summary: Vec<String>,
    /// Everything observed, in time order.
    pub events: Vec<Event>,
}

/// The measured results; every check has already passed when `run` returns one.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The API VIP's holder after the election.
    pub api_holder: String,
    /// The ingress VIP's holder after the election.
    pub ingress_holder: String,
    /// Time from starting the VRRP daemons to one stable holder of each VIP, ms.
    pub converge_ms: u64,
    /// The node IP `bmnet node-ip set` chose, per node.
    pub node_ips: BTreeMap<String, String>,
    /// `dig` answers checked before the failures (every node, every name).
    pub dns_checked_before: usize,
    /// `dig` answers checked after the node died (every live node, every name).
    pub dns_checked_after: usize,
    /// API servers seen behind the VIP.
    pub backends_seen: BTreeSet<String>,
    /// Killing the holder's API server: the holder after the observation window.
    pub backend_kill_holder_after: String,
    /// Killing the holder's API server: failed and total client probes in the window.
    pub backend_kill_http: (usize, usize),
    /// Killing the holder's HAProxy: from, to and how long the VIP took to move, ms.
    pub haproxy_kill: (String, String, u64),
    /// Killing the holder's HAProxy: the longest run of failed client probes, ms.
    pub haproxy_kill_outage_ms: u64,
    /// Killing the holder's HAProxy: from the VIP's arrival on the new holder to the client's
    /// neighbour entry naming it, ms.
    pub haproxy_kill_arp_ms: Option<u64>,
    /// Killing the holder node: from, to and how long the VIP took to appear on the new
    /// holder, ms (`ip -j addr`).
    pub node_kill: (String, String, u64),
    /// Killing the holder node: the new holder's transition to MASTER as its daemon logged
    /// it, ms after the kill.
    pub node_kill_vrrp_ms: Option<u64>,
    /// The bound: the backups' Master_Down_Interval, ms.
    pub node_kill_bound_ms: u64,
    /// Killing the holder node: the longest run of failed client probes, ms.
    pub node_kill_outage_ms: u64,
    /// Killing the holder node: from the VIP's arrival on the new holder to the client's
    /// neighbour entry naming it, ms.
    pub node_kill_arp_ms: Option<u64>,
    /// Client DNS probes that failed against live nodes (should be none).
    pub dns_probe_failures: usize,
    /// Client DNS probes against live nodes.
    pub dns_probes: usize,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

fn unix_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn run_cmd(program: &str, args: &[&str]) -> Result<Output, String> {
    Command::new(program).args(args).output().map_err(|e| format!("cannot run {program}: {e}"))
}

fn must(program: &str, args: &[&str]) -> Result<String, String> {
    let o = run_cmd(program, args)?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).into_owned())
    } else {
        Err(format!("{program} {} failed: {}", args.join(" "), text(&o).trim()))
    }
}

fn ip(args: &[&str]) -> Result<String, String> {
    must("ip", args)
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|e| format!("write {}: {e}", path.display()))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))
}

/// SIGKILLs every process in namespace `ns`.
fn kill_all_in(ns: &str) {
    if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
            // Only real pids: `kill -KILL 0` would hit our own process group.
            if let Ok(pid @ 2..) = pid.parse::<u32>() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
            }
        }
    }
}

/// A process in a namespace, killed on drop.
pub struct Proc {
    child: Child,
    /// Where its standard output goes.
    pub out: PathBuf,
    /// Where its standard error goes.
    pub err: PathBuf,
}

impl Proc {
    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL and reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn log(&self) -> String {
        let out = std::fs::read_to_string(&self.out).unwrap_or_default();
        let err = std::fs::read_to_string(&self.err).unwrap_or_default();
        let tail =
            |s: &str| s.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
        format!("stdout:\n{}\nstderr:\n{}", tail(&out), tail(&err))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.alive() {
            self.kill();
        }
    }
}

/// One node.
pub struct Node {
    /// `master-0`, `worker-1`, ...
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its network namespace.
    pub ns: String,
    /// The machine-network address (bond0 in the keyfiles).
    pub ip: String,
    /// The storage-VLAN address (bond0.20 in the keyfiles).
    pub vlan_ip: String,
    /// Scratch directory of the node (configs, logs).
    pub dir: PathBuf,
    /// The node's root: keyfiles, node-IP drop-ins, resolv.conf, keepalived.conf.
    pub root: PathBuf,
    procs: BTreeMap<&'static str, Proc>,
    /// Processes the scenario killed (their logs stay readable).
    old: Vec<Proc>,
    /// Killed by the scenario.
    pub dead: bool,
}

/// The live holders of the API VIP and of the ingress VIP.
type HolderSets = (Vec<String>, Vec<String>);

#[derive(Default)]
struct Holders {
    /// Per node: holds the API VIP, holds the ingress VIP.
    held: Vec<(bool, bool)>,
    /// L3 mode, per node: a next hop of the API VIP, of the ingress VIP in the router's FIB.
    fib: Vec<(bool, bool)>,
    /// L3 mode: when the FIB last changed, as the watcher can bound it: from the start of the
    /// read before the one that saw the change to the end of that one, ms since the start.
    fib_changed: Option<(i64, i64)>,
    rounds: u64,
}

struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// The cluster: namespaces, nodes, processes, the timeline. Dropping it removes everything.
pub struct Cluster {
    /// Unique prefix of every namespace name.
    pub tag: String,
    /// Scratch directory.
    pub dir: PathBuf,
    opts: Options,
    bridge_ns: String,
    client_ns: String,
    created: Vec<String>,
    /// The nodes, masters first.
    pub nodes: Vec<Node>,
    t0: Instant,
    t0_unix: i64,
    events: Arc<Mutex<Vec<Event>>>,
    holders: Arc<Mutex<Holders>>,
    watcher: Option<Watcher>,
    prober: Option<Proc>,
    probe_out: Option<PathBuf>,
    failed: bool,
    /// L3 mode: the router namespace and FRR (dropped after the nodes' namespaces).
    router: Option<Arc<l3::Router>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.watcher.take();
        self.prober.take();
        for n in &mut self.nodes {
            n.procs.clear();
            n.old.clear();
        }
        for ns in self.created.iter().rev() {
            kill_all_in(ns);
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        // L3 mode: the router's namespace (FRR with it) after the nodes'.
        let router = usize::from(self.router.take().is_some());
        if self.failed || self.opts.keep_dir || std::thread::panicking() {
            eprintln!("cluster-in-a-box: scratch directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        println!("cleaned up: {} namespaces and every process in them", self.created.len() + router);
    }
}

impl Cluster {
    fn new(opts: Options) -> Result<Cluster, String> {
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let tag = format!("cib{}-{serial}", std::process::id());
        let dir = std::env::temp_dir().join(format!("bmnet-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
        Ok(Cluster {
            bridge_ns: format!("{tag}-bridge"),
            client_ns: format!("{tag}-client"),
            tag,
            dir,
            opts,
            created: Vec::new(),
            nodes: Vec::new(),
            t0: Instant::now(),
            t0_unix: unix_ms(),
            events: Arc::new(Mutex::new(Vec::new())),
            holders: Arc::new(Mutex::new(Holders::default())),
            watcher: None,
            prober: None,
            probe_out: None,
            failed: false,
            router: None,
        })
    }

    fn say(&self, msg: &str) {
        println!("[{:6.2}s] {msg}", self.t0.elapsed().as_secs_f64());
    }

    fn ms_since_start(&self, unix: i64) -> i64 {
        unix - self.t0_unix
    }

    fn event(&self, kind: &str, node: &str, ok: Option<bool>, detail: String) {
        let e =
            Event { t_ms: self.ms_since_start(unix_ms()), kind: kind.into(), node: node.into(), ok, detail, ms: None };
        self.events.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    /// Prints what the scenario does and records it on the timeline under a short label.
    fn step(&self, node: &str, what: &str, label: &str) {
        self.say(what);
        self.event("step", node, None, label.to_string());
    }

    fn check_stop(&self) -> Result<(), String> {
        if self.opts.stop.load(Ordering::SeqCst) { Err("interrupted (SIGINT/SIGTERM)".into()) } else { Ok(()) }
    }

    fn sleep(&self, d: Duration) -> Result<(), String> {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.check_stop()?;
            std::thread::sleep(Duration::from_millis(20).min(end.saturating_duration_since(Instant::now())));
        }
        Ok(())
    }

    fn netns(&mut self, name: &str) -> Result<(), String> {
        ip(&["netns", "add", name]).map_err(|e| format!("{e} (the cluster in a box needs root)"))?;
        self.created.push(name.to_string());
        ip(&["-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn exec(&self, ns: &str, argv: &[&str]) -> Result<Output, String> {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(argv)
            .output()
            .map_err(|e| format!("ip netns exec {ns} {}: {e}", argv.join(" ")))
    }

    fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).expect("a node of the cluster")
    }

    fn idx(&self, name: &str) -> usize {
        self.nodes.iter().position(|n| n.name == name).expect("a node of the cluster")
    }

    /// Starts `argv` in node `i`'s namespace (or the client's for `None`) in a process group
    /// of its own (a terminal's Ctrl-C reaches only the scenario, which cleans up).
    fn spawn(&self, i: Option<usize>, label: &str, argv: &[&str], status_dir: Option<&Path>) -> Result<Proc, String> {
        let (ns, dir) = match i {
            Some(i) => (self.nodes[i].ns.clone(), self.nodes[i].dir.clone()),
            None => (self.client_ns.clone(), self.dir.clone()),
        };
        let n = SERIAL.fetch_add(1, Ordering::SeqCst);
        let out = dir.join(format!("{label}-{n}.out"));
        let err = dir.join(format!("{label}-{n}.err"));
        let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("create {}: {e}", p.display()));
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &ns]).args(argv).stdin(Stdio::null()).stdout(file(&out)?).stderr(file(&err)?);
        cmd.process_group(0);
        if let Some(d) = status_dir {
            cmd.env("BMNET_STATUS_DIR", d);
        }
        let child = cmd.spawn().map_err(|e| format!("start {}: {e}", argv.join(" ")))?;
        Ok(Proc { child, out, err })
    }

    fn bmnet(&self, args: &[&str]) -> Result<Output, String> {
        Command::new(&self.opts.bmnet).args(args).output().map_err(|e| {
            format!("cannot run {}: {e} (build it with `cargo build --release`)", self.opts.bmnet.display())
        })
    }

    fn bmnet_ok(&self, args: &[&str]) -> Result<String, String> {
        let o = self.bmnet(args)?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).into_owned())
        } else {
            Err(format!("bmnet {} failed ({}): {}", args.join(" "), o.status, text(&o).trim()))
        }
    }

    fn bmnet_path(&self) -> String {
        self.opts.bmnet.display().to_string()
    }
}

impl Node {
    /// A node in namespace `ns`, its scratch directory (and root) made under `cluster_dir`,
    /// running nothing yet.
    fn new(
        name: &str,
        role: Role,
        ns: String,
        ip: String,
        vlan_ip: String,
        cluster_dir: &Path,
    ) -> Result<Node, String> {
        let dir = cluster_dir.join(name);
        let root = dir.join("root");
        std::fs::create_dir_all(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
        Ok(Node {
            name: name.into(),
            role,
            ns,
            ip,
            vlan_ip,
            dir,
            root,
            procs: BTreeMap::new(),
            old: Vec::new(),
            dead: false,
        })
    }

    /// The logs of `label` (`vrrp`, `bgp`): the running process's, then those of the ones the
    /// scenario killed or stopped.
    fn logs(&self, label: &str) -> impl Iterator<Item = &Proc> {
        let prefix = format!("{label}-");
        self.procs.iter().filter(move |(k, _)| **k == label).map(|(_, p)| p).chain(
            self.old
                .iter()
                .filter(move |p| p.out.file_name().is_some_and(|f| f.to_string_lossy().starts_with(&prefix))),
        )
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff]Z` into Unix milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let ms: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + hh * 3600 + mm * 60 + ss) * 1000) + ms)
}

/// Runs the whole scenario; every check that fails returns an error (after which everything
/// is cleaned up). Returns the measurements and the timeline.
pub fn run(opts: Options) -> Result<(Report, Timeline), String> {
    need_tools()?;
    if opts.keepalived {
        need(&[(KEEPALIVED, &["--version"], "keepalived")])?;
    }
    if !opts.bmnet.exists() {
        return Err(format!("{} does not exist: build it with `cargo build --release`", opts.bmnet.display()));
    }
    let mut c = Cluster::new(opts)?;
    let result = scenario(&mut c);
    // Keep the logs of a failure, not of an interruption.
    c.failed = result.is_err() && !c.opts.stop.load(Ordering::SeqCst);
    result
}

fn scenario(c: &mut Cluster) -> Result<(Report, Timeline), String> {
    let mut report = Report::default();
    c.say(&format!("cluster in a box: namespaces {}-*, scratch directory {}", c.tag, c.dir.display()));
    c.build_topology()?;
    c.check_stop()?;
    c.keyfiles()?;
    c.node_ips(&mut report)?;
    c.check_stop()?;
    c.start_watcher();
    c.start_services()?;
    c.converge(&mut report)?;
    report.dns_checked_before = c.check_dns("before the failures")?;
    c.check_http(&mut report)?;
    let holder = report.api_holder.clone();
    c.inspect(&holder)?;
    c.start_prober()?;
    c.sleep(Duration::from_millis(600))?;
    let window_from = c.ms_since_start(unix_ms()) - 500;
    c.backend_kill(&mut report)?;
    c.haproxy_kill(&mut report)?;
    c.node_kill(&mut report)?;
    report.dns_checked_after = c.check_dns("after the node died")?;
    c.sleep(Duration::from_millis(300))?;
    let window_to = c.ms_since_start(unix_ms());
    // DNS answers from the live nodes never stopped.
    let dead: Vec<(String, i64)> = c
        .events
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|e| e.kind == "step" && e.detail.starts_with("kill node"))
        .map(|e| (e.node.clone(), e.t_ms))
        .collect();
    let dns: Vec<Event> = c
        .probes()
        .into_iter()
        .filter(|e| e.kind == "dns" && !dead.iter().any(|(n, t)| *n == e.node && e.t_ms + 300 >= *t))
        .collect();
    report.dns_probes = dns.len();
    report.dns_probe_failures = dns.iter().filter(|e| e.ok != Some(true)).count();
    c.say(&format!(
        "check: the client's DNS probes of api.{ZONE} to live nodes: {} of {} failed",
        report.dns_probe_failures, report.dns_probes
    ));
    if report.dns_probes == 0 || report.dns_probe_failures > 0 {
        return Err(format!("DNS probes to live nodes failed: {} of {}", report.dns_probe_failures, report.dns_probes));
    }
    c.prober.take();
    c.watcher.take();
    let mut tl = c.timeline((window_from, window_to));
    tl.summary = summary(&report);
    Ok((report, tl))
}

/// How soon the client's neighbour entry followed the VIP (polled every 40 ms, so under 40 ms
/// is at once).
fn arp_delay(ms: Option<u64>) -> String {
    match ms {
        None => "never (not seen)".into(),
        Some(ms) if ms < 40 => "at once".into(),
        Some(ms) => format!("after {ms} ms"),
    }
}

/// The report as a few lines of text.
pub fn summary(r: &Report) -> Vec<String> {
    let (failed, total) = r.backend_kill_http;
    let (hf, ht, hms) = &r.haproxy_kill;
    let (nf, nt, nms) = &r.node_kill;
    vec![
        format!("API server killed on {}: the VIP stayed, {failed} of {total} HTTP probes failed", r.api_holder),
        format!(
            "HAProxy killed on {hf}: the VIP moved to {ht} in {hms} ms (3 failed checks + Master_Down_Interval); \
             client ARP followed {}; longest HTTP outage {} ms",
            arp_delay(r.haproxy_kill_arp_ms),
            r.haproxy_kill_outage_ms
        ),
        format!(
            "node {nf} killed: the VIP moved to {nt} in {nms} ms (VRRP log {}, bound {} ms); client ARP \
             followed {}; longest HTTP outage {} ms",
            r.node_kill_vrrp_ms.map_or("?".into(), |v| format!("{v} ms")),
            r.node_kill_bound_ms,
            arp_delay(r.node_kill_arp_ms),
            r.node_kill_outage_ms
        ),
        format!("DNS: {} of {} client probes to live nodes failed", r.dns_probe_failures, r.dns_probes),
    ]
}
