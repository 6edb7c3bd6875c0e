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

use bmnet::nmconn::Document;
use bmnet::nmconn::state::{InterfaceType, State};
use serde::Serialize;

#[path = "chart.rs"]
pub mod chart;
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
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(tool, args, _)| !Command::new(tool).args(*args).output().is_ok_and(|o| o.status.success()))
        .map(|(_, _, package)| *package)
        .collect();
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
    /// `arp` (the node whose MAC the client's neighbour entry for the API VIP holds).
    pub kind: String,
    /// The node concerned, if any.
    pub node: String,
    /// Success, for probes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
    /// What happened.
    pub detail: String,
}

/// The recorded timeline.
#[derive(Clone, Debug, Serialize)]
pub struct Timeline {
    /// The cluster zone.
    pub zone: String,
    /// The API VIP.
    pub api_vip: String,
    /// The VRRP advert interval, seconds.
    pub advert_int: f64,
    /// The VRRP daemon: `bmnet vrrp run` or `keepalived`.
    pub daemon: String,
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
            if let Ok(o) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    // Only real pids: `kill -KILL 0` would hit our own process group.
                    if let Ok(pid @ 2..) = pid.parse::<u32>() {
                        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
                    }
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        if self.failed || self.opts.keep_dir || std::thread::panicking() {
            eprintln!("cluster-in-a-box: scratch directory kept: {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        println!("cleaned up: {} namespaces and every process in them", self.created.len());
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
        })
    }

    fn say(&self, msg: &str) {
        println!("[{:6.2}s] {msg}", self.t0.elapsed().as_secs_f64());
    }

    fn ms_since_start(&self, unix: i64) -> i64 {
        unix - self.t0_unix
    }

    fn event(&self, kind: &str, node: &str, ok: Option<bool>, detail: String) {
        let e = Event { t_ms: self.ms_since_start(unix_ms()), kind: kind.into(), node: node.into(), ok, detail };
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

    // ---------------------------------------------------------------- topology and keyfiles

    fn build_topology(&mut self) -> Result<(), String> {
        let bridge = self.bridge_ns.clone();
        self.netns(&bridge)?;
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        let specs = [("master-0", Role::Master), ("master-1", Role::Master), ("master-2", Role::Master)]
            .into_iter()
            .chain([("worker-0", Role::Worker), ("worker-1", Role::Worker)]);
        for (i, (name, role)) in specs.enumerate() {
            let ns = format!("{}-{name}", self.tag);
            self.netns(&ns)?;
            // Two NICs on one L2: only the NIC that has an address answers ARP for it.
            for s in ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"] {
                let o = self.exec(&ns, &["sysctl", "-qw", s])?;
                if !o.status.success() {
                    return Err(format!("sysctl {s} in {ns}: {}", text(&o)));
                }
            }
            let short = format!("{}{}", &name[..1], &name[name.len() - 1..]);
            for (nic, side) in [("eth0", "a"), ("eth1", "b")] {
                let peer = format!("{short}{side}");
                ip(&["link", "add", nic, "netns", &ns, "type", "veth", "peer", "name", &peer, "netns", &bridge])?;
                ip(&["-n", &bridge, "link", "set", &peer, "master", "br0", "up"])?;
                ip(&["-n", &ns, "link", "set", nic, "up"])?;
            }
            let dir = self.dir.join(name);
            let root = dir.join("root");
            std::fs::create_dir_all(&root).map_err(|e| format!("mkdir {}: {e}", root.display()))?;
            self.nodes.push(Node {
                name: name.into(),
                role,
                ns,
                ip: format!("192.168.111.{}", 20 + i),
                vlan_ip: format!("172.22.0.{}", 20 + i),
                dir,
                root,
                procs: BTreeMap::new(),
                old: Vec::new(),
                dead: false,
            });
        }
        let client = self.client_ns.clone();
        self.netns(&client)?;
        ip(&["link", "add", "eth0", "netns", &client, "type", "veth", "peer", "name", "cla", "netns", &bridge])?;
        ip(&["-n", &bridge, "link", "set", "cla", "master", "br0", "up"])?;
        ip(&["-n", &client, "addr", "add", &format!("{CLIENT_IP}/24"), "dev", "eth0"])?;
        ip(&["-n", &client, "link", "set", "eth0", "up"])?;
        self.say(&format!(
            "topology: bridge br0 in netns {bridge}; 3 control-plane and 2 worker namespaces with two veth NICs \
             each (eth0, eth1); a client namespace at {CLIENT_IP}"
        ));
        Ok(())
    }

    /// The node's NodeNetworkConfigurationPolicy: a bond of both NICs on the machine network,
    /// a storage VLAN on the bond, the default route on the VLAN (so only the VIP-subnet rule
    /// picks the right node IP) and static DNS.
    fn nncp(n: &Node) -> String {
        format!(
            "apiVersion: nmstate.io/v1
kind: NodeNetworkConfigurationPolicy
metadata:
  name: {name}-network
spec:
  nodeSelector:
    kubernetes.io/hostname: {name}
  desiredState:
    interfaces:
      - name: eth0
        type: ethernet
        state: up
      - name: eth1
        type: ethernet
        state: up
      - name: bond0
        type: bond
        state: up
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: {ip}
              prefix-length: 24
        ipv6:
          enabled: false
        link-aggregation:
          mode: active-backup
          options:
            miimon: \"100\"
          port:
            - eth0
            - eth1
      - name: bond0.20
        type: vlan
        state: up
        vlan:
          base-iface: bond0
          id: 20
        ipv4:
          enabled: true
          dhcp: false
          address:
            - ip: {vlan_ip}
              prefix-length: 24
        ipv6:
          enabled: false
    routes:
      config:
        - destination: 0.0.0.0/0
          next-hop-address: 172.22.0.1
          next-hop-interface: bond0.20
          metric: 400
    dns-resolver:
      config:
        server:
          - {GATEWAY}
        search:
          - example.com
",
            name = n.name,
            ip = n.ip,
            vlan_ip = n.vlan_ip,
        )
    }

    /// Which veth stands in for a profile's interface: a bond for its first port, a VLAN for
    /// the last port of its base bond (the kernel here has no bonding or 802.1Q module).
    fn stand_in(state: &State, name: &str) -> Result<(String, String), String> {
        let iface = state.interfaces.iter().find(|i| i.name == name).ok_or(format!("no interface {name}"))?;
        match iface.kind {
            InterfaceType::Ethernet => Ok((name.to_string(), "itself".into())),
            InterfaceType::Bond => {
                let bond = iface.link_aggregation.as_ref().ok_or(format!("{name}: bond without settings"))?;
                let first = bond.port.first().ok_or(format!("{name}: bond without ports"))?;
                let mode = serde_json::to_value(bond.mode).ok().and_then(|v| v.as_str().map(str::to_string));
                Ok((first.clone(), format!("bond {} of {}", mode.unwrap_or_default(), bond.port.join("+"))))
            }
            InterfaceType::Vlan => {
                let vlan = iface.vlan.as_ref().ok_or(format!("{name}: VLAN without settings"))?;
                let (base_nic, _) = Self::stand_in(state, &vlan.base_iface)?;
                let base = state.interfaces.iter().find(|i| i.name == vlan.base_iface);
                let nic = base
                    .and_then(|b| b.link_aggregation.as_ref())
                    .and_then(|b| b.port.last().cloned())
                    .unwrap_or(base_nic);
                Ok((nic, format!("VLAN {} on {}", vlan.id, vlan.base_iface)))
            }
            other => Err(format!("{name}: {other:?} has no stand-in")),
        }
    }

    fn keyfiles(&mut self) -> Result<(), String> {
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let yaml = n.dir.join("nncp.yaml");
            write(&yaml, &Self::nncp(n))?;
            let conns = n.root.join("etc/NetworkManager/system-connections");
            std::fs::create_dir_all(&conns).map_err(|e| format!("mkdir {}: {e}", conns.display()))?;
            let (yaml_s, conns_s) = (yaml.display().to_string(), conns.display().to_string());
            let rendered = self.bmnet_ok(&["nmconn", "render", &yaml_s, "--out-dir", &conns_s])?;
            let checked = self.bmnet_ok(&["nmconn", "check", &conns_s])?;
            let mut names: Vec<PathBuf> = std::fs::read_dir(&conns)
                .map_err(|e| format!("{}: {e}", conns.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            names.sort();
            let mut docs = Vec::new();
            for p in &names {
                let mode = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?.permissions().mode();
                if mode & 0o777 != 0o600 {
                    return Err(format!("{}: mode {:o}, NetworkManager wants 0600", p.display(), mode & 0o777));
                }
                docs.push(Document::parse(&read(p)?).map_err(|e| format!("{}: {e}", p.display()))?);
            }
            let back = bmnet::nmconn::render::to_state(&docs);
            if !back.warnings.is_empty() {
                return Err(format!("{}: keyfiles read back with warnings: {:?}", n.name, back.warnings));
            }
            let state = back.state;
            let files: Vec<String> =
                names.iter().filter_map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned())).collect();
            self.say(&format!(
                "{}: `bmnet nmconn render` wrote {} keyfiles ({}); `bmnet nmconn check`: {}",
                n.name,
                rendered.lines().count(),
                files.join(", "),
                checked.lines().last().unwrap_or("").trim()
            ));
            let ns = n.ns.clone();
            let mut applied = Vec::new();
            for iface in &state.interfaces {
                let Some(v4) = &iface.ipv4 else { continue };
                for a in &v4.address {
                    let (nic, what) = Self::stand_in(&state, &iface.name)?;
                    let cidr = format!("{}/{}", a.ip, a.prefix_length);
                    ip(&["-n", &ns, "addr", "add", &cidr, "dev", &nic])?;
                    applied.push(format!("{} ({what}) {cidr} -> veth {nic}", iface.name));
                }
            }
            for r in state.routes.iter().flat_map(|r| &r.config) {
                let dest = r.destination.to_string();
                let mut args = vec!["-n".to_string(), ns.clone(), "route".into(), "add".into(), dest.clone()];
                if let Some(via) = r.next_hop_address {
                    args.extend(["via".into(), via.to_string()]);
                }
                if let Some(dev) = &r.next_hop_interface {
                    args.extend(["dev".into(), Self::stand_in(&state, dev)?.0]);
                }
                if let Some(m) = r.metric {
                    args.extend(["metric".into(), m.to_string()]);
                }
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                ip(&refs)?;
                applied.push(format!(
                    "route {dest} via {} on {} (metric {})",
                    r.next_hop_address.map_or("-".into(), |a| a.to_string()),
                    r.next_hop_interface.as_deref().unwrap_or("-"),
                    r.metric.unwrap_or(0)
                ));
            }
            let n = &self.nodes[i];
            if !applied.iter().any(|a| a.contains(&format!("{}/24", n.ip))) {
                return Err(format!("{}: the keyfiles do not declare {}", n.name, n.ip));
            }
            // NetworkManager's resolv.conf, from the keyfiles' DNS.
            let mut nm = String::from("# Generated by NetworkManager\n");
            if let Some(d) = &state.dns_resolver {
                if !d.config.search.is_empty() {
                    let _ = writeln!(nm, "search {}", d.config.search.join(" "));
                }
                for s in &d.config.server {
                    let _ = writeln!(nm, "nameserver {s}");
                }
            }
            write(&n.root.join("var/run/NetworkManager/resolv.conf"), &nm)?;
            self.say(&format!(
                "{}: applied what the keyfiles declare (stand-ins: this kernel cannot load bonding or 802.1Q): {}",
                n.name,
                applied.join("; ")
            ));
        }
        Ok(())
    }

    fn node_ips(&mut self, report: &mut Report) -> Result<(), String> {
        for n in &self.nodes {
            let root = n.root.display().to_string();
            let bmnet = self.bmnet_path();
            let o = self.exec(
                &n.ns,
                &[&bmnet, "node-ip", "set", "--root", &root, "--vip", API_VIP, "--vip", INGRESS_VIP, "--json"],
            )?;
            if !o.status.success() {
                return Err(format!("{}: bmnet node-ip set failed: {}", n.name, text(&o)));
            }
            let v: serde_json::Value = serde_json::from_slice(&o.stdout)
                .map_err(|e| format!("{}: node-ip set --json: {e}: {}", n.name, text(&o)))?;
            let chosen = v["node_ip"].as_str().unwrap_or_default().to_string();
            if chosen != n.ip {
                return Err(format!(
                    "{}: bmnet node-ip chose {chosen:?}, not {} (the bond's address in the VIP subnet): {v}",
                    n.name, n.ip
                ));
            }
            let files = v["files"].as_array().map_or(0, Vec::len);
            for f in v["files"].as_array().into_iter().flatten() {
                let p = PathBuf::from(f.as_str().unwrap_or_default());
                if !p.starts_with(&n.root) || !p.exists() {
                    return Err(format!("{}: node-ip set wrote {} outside the node's root", n.name, p.display()));
                }
            }
            self.say(&format!(
                "{}: `bmnet node-ip set --vip {API_VIP} --vip {INGRESS_VIP}` chose {chosen} (VIP-subnet rule; the \
                 default route is on the VLAN) and wrote {files} files under the node's root",
                n.name
            ));
            report.node_ips.insert(n.name.clone(), chosen);
        }
        Ok(())
    }

    // ---------------------------------------------------------------- services

    fn start_dns(&mut self) -> Result<(), String> {
        let nodes: Vec<String> = self.nodes.iter().map(|n| format!("{}={}", n.name, n.ip)).collect();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let nm = n.root.join("var/run/NetworkManager/resolv.conf");
            let resolv = n.root.join("etc/resolv.conf");
            std::fs::create_dir_all(n.root.join("etc")).map_err(|e| e.to_string())?;
            self.bmnet_ok(&[
                "dns",
                "resolv-conf",
                "--node-ip",
                &n.ip,
                "--cluster-domain",
                ZONE,
                "--input",
                &nm.display().to_string(),
                "--output",
                &resolv.display().to_string(),
            ])?;
            // The upstreams are NetworkManager's name servers but the node itself, as OpenShift's.
            let upstreams: Vec<String> = read(&nm)?
                .lines()
                .filter_map(|l| l.strip_prefix("nameserver "))
                .map(|s| s.trim().to_string())
                .filter(|s| *s != n.ip)
                .collect();
            let listen = format!("{}:53", n.ip);
            let bmnet = self.bmnet_path();
            let mut argv: Vec<String> = [
                bmnet.as_str(),
                "dns",
                "serve",
                "--listen",
                &listen,
                "--zone",
                ZONE,
                "--api-vip",
                API_VIP,
                "--ingress-vip",
                INGRESS_VIP,
                "--workers",
                "1",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            for node in &nodes {
                argv.extend(["--node".into(), node.clone()]);
            }
            for u in &upstreams {
                argv.extend(["--upstream".into(), u.clone()]);
            }
            let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
            let status = n.root.join("run/bmnet");
            let p = self.spawn(Some(i), "dns", &refs, Some(&status))?;
            self.nodes[i].procs.insert("dns", p);
        }
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            let at = format!("@{}", n.ip);
            let start = Instant::now();
            loop {
                let o =
                    self.exec(&n.ns, &["dig", "+short", "+time=1", "+tries=1", &at, "health.bmnet", "TXT", "CH"])?;
                if String::from_utf8_lossy(&o.stdout).trim().starts_with("\"ok\"") {
                    break;
                }
                if start.elapsed() > Duration::from_secs(10) {
                    let log = self.nodes[i].procs.get("dns").map(Proc::log).unwrap_or_default();
                    return Err(format!("{}: bmnet dns serve does not answer on {}:\n{log}", n.name, n.ip));
                }
                self.sleep(Duration::from_millis(50))?;
            }
            let first = read(&n.root.join("etc/resolv.conf"))?
                .lines()
                .find_map(|l| l.strip_prefix("nameserver ").map(|s| s.trim().to_string()))
                .unwrap_or_default();
            if first != n.ip {
                return Err(format!(
                    "{}: the rendered resolv.conf's first name server is {first:?}, not {}",
                    n.name, n.ip
                ));
            }
        }
        self.say(&format!(
            "DNS: `bmnet dns serve` answers {ZONE} on every node IP (health.bmnet TXT CH \"ok\"); every node's \
             resolv.conf (`bmnet dns resolv-conf`) names its own IP first"
        ));
        Ok(())
    }

    fn start_backend(&mut self, i: usize) -> Result<(), String> {
        let n = &self.nodes[i];
        let www = n.dir.join("apiserver");
        write(&www.join("index.html"), &format!("kube-apiserver stand-in on {}\n", n.name))?;
        write(&www.join("readyz"), "ok\n")?;
        let www_s = www.display().to_string();
        let p = self.spawn(
            Some(i),
            "apiserver",
            &["python3", "-m", "http.server", "6443", "--bind", "0.0.0.0", "--directory", &www_s],
            None,
        )?;
        self.nodes[i].procs.insert("apiserver", p);
        self.wait_http(i, "http://127.0.0.1:6443/readyz", "the API server stand-in")
    }

    fn wait_http(&self, i: usize, url: &str, what: &str) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let o = self.exec(&self.nodes[i].ns, &["curl", "-o", "/dev/null", "-fs", "--max-time", "1", url])?;
            if o.status.success() {
                return Ok(());
            }
            if start.elapsed() > Duration::from_secs(10) {
                let logs: String = self.nodes[i].procs.iter().map(|(k, p)| format!("--- {k}\n{}\n", p.log())).collect();
                return Err(format!("{}: {what} does not answer {url}\n{logs}", self.nodes[i].name));
            }
            self.sleep(Duration::from_millis(50))?;
        }
    }

    fn haproxy_cfg(&self, n: &Node) -> String {
        match n.role {
            Role::Master => {
                let mut servers = String::new();
                for m in self.nodes.iter().filter(|m| m.role == Role::Master) {
                    let _ =
                        writeln!(servers, "  server {} {}:6443 weight 1 check inter 200ms fall 2 rise 3", m.name, m.ip);
                }
                format!(
                    "# OpenShift's on-prem API load balancer (haproxy.cfg template), timers scaled down.
global
  maxconn 2000
defaults
  maxconn 2000
  mode tcp
  option dontlognull
  retries 3
  option redispatch
  timeout http-request 30s
  timeout queue 1m
  timeout connect 500ms
  timeout check 300ms
  timeout client 86400s
  timeout server 86400s
  timeout tunnel 86400s
frontend main
  bind :::{API_LB_PORT} v4v6
  default_backend masters
listen health_check_http_url
  bind :::9444 v4v6
  mode http
  monitor-uri /haproxy_ready
  option dontlognull
backend masters
  option httpchk GET /readyz HTTP/1.0
  balance roundrobin
{servers}"
                )
            }
            Role::Worker => format!(
                "# The ingress router's stand-in: its health endpoints and a default route answer.
global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
frontend public
  bind :80
  http-request return status 200 content-type text/plain string \"router-default on {name}\"
frontend stats
  bind :::1936 v4v6
  http-request return status 200 content-type text/plain string ok if {{ path /healthz }} || {{ path /healthz/ready }}
  http-request return status 404
",
                name = n.name
            ),
        }
    }

    fn start_haproxy(&mut self, i: usize) -> Result<(), String> {
        let cfg = self.nodes[i].dir.join("haproxy.cfg");
        write(&cfg, &self.haproxy_cfg(&self.nodes[i]))?;
        let cfg_s = cfg.display().to_string();
        let p = self.spawn(Some(i), "haproxy", &["/usr/sbin/haproxy", "-db", "-f", &cfg_s], None)?;
        self.nodes[i].procs.insert("haproxy", p);
        let url = match self.nodes[i].role {
            Role::Master => "http://localhost:9444/haproxy_ready",
            Role::Worker => "http://localhost:1936/healthz/ready",
        };
        self.wait_http(i, url, "HAProxy")
    }

    /// OpenShift's keepalived.conf (masters: the API instance with `chk_ocp_lb` +20 and
    /// `chk_ocp_both` +5 on priority 40; workers: the ingress instance with `chk_ingress`
    /// (weight 0: FAULT while failing) and `chk_ingress_ready` +10 on priority 20), unicast,
    /// `label vip`; VRRPv3 so that adverts can be faster than a second.
    fn keepalived_conf(&self, n: &Node) -> Result<String, String> {
        let kdir = n.root.join("etc/keepalived");
        let flag = n.root.join("var/run/keepalived/iptables-rule-exists");
        let peers: String = self
            .nodes
            .iter()
            .filter(|m| m.role == n.role && m.name != n.name)
            .map(|m| format!("        {}\n", m.ip))
            .collect();
        let script = |name: &str, body: &str| -> Result<String, String> {
            let path = kdir.join(name);
            write(&path, &format!("#!/bin/bash\n{body}\n"))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
            Ok(format!("/usr/bin/timeout {SCRIPT_TIMEOUT} {}", path.display()))
        };
        let adv = self.opts.advert;
        // keepalived refuses scripts under a world-writable directory (the scratch directory is
        // in /tmp) when script security is on.
        let security = if self.opts.keepalived { "" } else { "    enable_script_security\n" };
        let global = format!(
            "global_defs {{\n{security}    script_user root\n    max_auto_priority -1\n    vrrp_garp_master_refresh \
             60\n    vrrp_version 3\n}}\n"
        );
        let (scripts, instance) = match n.role {
            Role::Master => {
                write(&flag, "")?;
                let lb = script(
                    "chk_ocp_script.sh",
                    &format!(
                        "/usr/bin/curl -o /dev/null -kLfs http://localhost:9444/haproxy_ready && [ -e {} ]",
                        flag.display()
                    ),
                )?;
                let both = script(
                    "chk_ocp_script_both.sh",
                    &format!(
                        "/usr/bin/curl -o /dev/null -kLfs http://localhost:9444/haproxy_ready && [ -e {} ] || \
                         /usr/bin/curl -kLfs -o /dev/null http://localhost:6443/readyz",
                        flag.display()
                    ),
                )?;
                (
                    format!(
                        "vrrp_script chk_ocp_lb {{\n    script \"{lb}\"\n    interval {SCRIPT_INTERVAL}\n    weight \
                         {CHK_OCP_LB_WEIGHT}\n    rise 3\n    fall {API_FALL}\n}}\n\
                         vrrp_script chk_ocp_both {{\n    script \"{both}\"\n    interval {SCRIPT_INTERVAL}\n    weight \
                         {CHK_OCP_BOTH_WEIGHT}\n    rise 3\n    fall {API_FALL}\n}}\n"
                    ),
                    format!(
                        "vrrp_instance ostest_API {{\n    state BACKUP\n    interface eth0\n    virtual_router_id \
                         {API_VRID}\n    priority {API_PRIORITY}\n    advert_int {adv}\n    unicast_src_ip {ip}\n    \
                         unicast_peer {{\n{peers}    }}\n    virtual_ipaddress {{\n        {API_VIP}/24 label vip\n    \
                         }}\n    track_script {{\n        chk_ocp_lb\n        chk_ocp_both\n    }}\n}}\n",
                        ip = n.ip
                    ),
                )
            }
            Role::Worker => {
                let health = script("chk_ingress.sh", "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz")?;
                let ready = script(
                    "chk_ingress_ready.sh",
                    "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz/ready",
                )?;
                (
                    format!(
                        "vrrp_script chk_ingress {{\n    script \"{health}\"\n    interval {SCRIPT_INTERVAL}\n    rise \
                         3\n    fall 2\n}}\n\
                         vrrp_script chk_ingress_ready {{\n    script \"{ready}\"\n    interval {SCRIPT_INTERVAL}\n    \
                         weight {CHK_INGRESS_READY_WEIGHT}\n    rise 3\n    fall 2\n}}\n"
                    ),
                    format!(
                        "vrrp_instance ostest_INGRESS {{\n    state BACKUP\n    interface eth0\n    virtual_router_id \
                         {INGRESS_VRID}\n    priority {INGRESS_PRIORITY}\n    advert_int {adv}\n    unicast_src_ip \
                         {ip}\n    unicast_peer {{\n{peers}    }}\n    virtual_ipaddress {{\n        {INGRESS_VIP}/24 \
                         label vip\n    }}\n    track_script {{\n        chk_ingress\n        chk_ingress_ready\n    \
                         }}\n}}\n",
                        ip = n.ip
                    ),
                )
            }
        };
        Ok(format!("{global}{scripts}{instance}"))
    }

    fn start_vrrp(&mut self, i: usize) -> Result<(), String> {
        let conf = self.keepalived_conf(&self.nodes[i])?;
        let path = self.nodes[i].root.join("etc/keepalived/keepalived.conf");
        write(&path, &conf)?;
        let path_s = path.display().to_string();
        let check = self.bmnet(&["vrrp", "check-config", &path_s])?;
        if !check.status.success() {
            return Err(format!("{}: bmnet vrrp check-config refuses {path_s}:\n{}", self.nodes[i].name, text(&check)));
        }
        let p = if self.opts.keepalived {
            let d = &self.nodes[i].dir;
            let (pid, vrrp_pid) =
                (d.join("keepalived.pid").display().to_string(), d.join("vrrp.pid").display().to_string());
            self.spawn(
                Some(i),
                "keepalived",
                &[KEEPALIVED, "-n", "-l", "-D", "-P", "-G", "-f", &path_s, "-p", &pid, "-r", &vrrp_pid],
                None,
            )?
        } else {
            let bmnet = self.bmnet_path();
            let status = self.nodes[i].root.join("run/bmnet");
            self.spawn(Some(i), "vrrp", &[&bmnet, "vrrp", "run", "--config", &path_s, "--json"], Some(&status))?
        };
        self.nodes[i].procs.insert("vrrp", p);
        Ok(())
    }

    fn daemon(&self) -> &'static str {
        if self.opts.keepalived {
            "keepalived -n -l -D -P -G -f keepalived.conf"
        } else {
            "bmnet vrrp run --config keepalived.conf --json"
        }
    }

    fn start_services(&mut self) -> Result<(), String> {
        self.start_dns()?;
        for i in 0..self.nodes.len() {
            if self.nodes[i].role == Role::Master {
                self.start_backend(i)?;
            }
        }
        for i in 0..self.nodes.len() {
            self.start_haproxy(i)?;
        }
        self.say(
            "HAProxy (/usr/sbin/haproxy) runs on every node: on the masters OpenShift's API load balancer \
             (:9445 -> the three API server stand-ins on :6443, /haproxy_ready on :9444), on the workers the \
             router's stand-in (:80, /healthz and /healthz/ready on :1936)",
        );
        let conf = self.keepalived_conf(&self.nodes[0])?;
        for i in 0..self.nodes.len() {
            self.start_vrrp(i)?;
        }
        self.say(&format!(
            "VRRP: `{}` on every node (`bmnet vrrp check-config` passed); master-0's keepalived.conf:\n{}",
            self.daemon(),
            conf.lines().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        Ok(())
    }

    // ---------------------------------------------------------------- observation

    /// Polls every node's addresses (`ip -j addr`) and the client's neighbour entry for the API
    /// VIP (which node's MAC the client sends to) every 40 ms, recording every change.
    fn start_watcher(&mut self) {
        let stop = Arc::new(AtomicBool::new(false));
        let nodes: Vec<(String, String)> = self.nodes.iter().map(|n| (n.name.clone(), n.ns.clone())).collect();
        let macs: BTreeMap<String, String> = self
            .nodes
            .iter()
            .filter_map(|n| {
                let o = Command::new("ip").args(["-j", "-n", &n.ns, "link", "show", "eth0"]).output().ok()?;
                let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
                Some((v[0]["address"].as_str()?.to_string(), n.name.clone()))
            })
            .collect();
        let client = self.client_ns.clone();
        let holders = Arc::clone(&self.holders);
        let events = Arc::clone(&self.events);
        let t0 = self.t0_unix;
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut prev: Vec<(bool, bool)> = vec![(false, false); nodes.len()];
            let mut prev_arp = String::new();
            while !flag.load(Ordering::SeqCst) {
                let arp = Command::new("ip")
                    .args(["-j", "-n", &client, "neigh", "show", API_VIP])
                    .output()
                    .ok()
                    .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok())
                    .and_then(|v| v[0]["lladdr"].as_str().map(str::to_string))
                    .map_or_else(String::new, |mac| macs.get(&mac).cloned().unwrap_or(mac));
                let mut now = Vec::with_capacity(nodes.len());
                for (_, ns) in &nodes {
                    let o = Command::new("ip").args(["-j", "-n", ns, "addr", "show"]).output();
                    let v: serde_json::Value =
                        o.ok().and_then(|o| serde_json::from_slice(&o.stdout).ok()).unwrap_or(serde_json::Value::Null);
                    let has = |addr: &str| {
                        v.as_array().into_iter().flatten().any(|l| {
                            l["addr_info"].as_array().into_iter().flatten().any(|a| a["local"].as_str() == Some(addr))
                        })
                    };
                    now.push((has(API_VIP), has(INGRESS_VIP)));
                }
                let t = unix_ms() - t0;
                let mut log = events.lock().unwrap_or_else(|p| p.into_inner());
                if arp != prev_arp {
                    let detail =
                        format!("the client sends {API_VIP} to {}", if arp.is_empty() { "nobody" } else { &arp });
                    log.push(Event { t_ms: t, kind: "arp".into(), node: arp.clone(), ok: None, detail });
                    prev_arp = arp;
                }
                for ((name, _), (p, c)) in nodes.iter().zip(prev.iter().zip(&now)) {
                    for (was, is, vip) in [(p.0, c.0, API_VIP), (p.1, c.1, INGRESS_VIP)] {
                        if was != is {
                            let detail = format!("{}{vip}", if is { "+" } else { "-" });
                            log.push(Event { t_ms: t, kind: "vip".into(), node: name.clone(), ok: None, detail });
                        }
                    }
                }
                drop(log);
                {
                    let mut h = holders.lock().unwrap_or_else(|p| p.into_inner());
                    h.held.clone_from(&now);
                    h.rounds += 1;
                }
                prev = now;
                std::thread::sleep(Duration::from_millis(40));
            }
        });
        self.watcher = Some(Watcher { stop, handle: Some(handle) });
    }

    /// The live nodes holding the API VIP and the ingress VIP, after a fresh watcher round.
    fn holders(&self) -> Result<HolderSets, String> {
        let round = self.holders.lock().unwrap_or_else(|p| p.into_inner()).rounds;
        let start = Instant::now();
        loop {
            let h = self.holders.lock().unwrap_or_else(|p| p.into_inner());
            if h.rounds > round {
                let pick = |f: fn(&(bool, bool)) -> bool| {
                    self.nodes
                        .iter()
                        .zip(&h.held)
                        .filter(|(n, held)| !n.dead && f(held))
                        .map(|(n, _)| n.name.clone())
                        .collect::<Vec<_>>()
                };
                return Ok((pick(|h| h.0), pick(|h| h.1)));
            }
            drop(h);
            if start.elapsed() > Duration::from_secs(5) {
                return Err("the VIP watcher stopped".into());
            }
            self.check_stop()?;
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn api_holder(&self) -> Result<Vec<String>, String> {
        Ok(self.holders()?.0)
    }

    fn start_prober(&mut self) -> Result<(), String> {
        let script = self.dir.join("probe.py");
        write(&script, PROBE_PY)?;
        let servers: Vec<String> = self.nodes.iter().map(|n| n.ip.clone()).collect();
        let (script_s, port, servers_s) = (script.display().to_string(), API_LB_PORT.to_string(), servers.join(","));
        let p = self.spawn(None, "probe", &["python3", "-u", &script_s, API_VIP, &port, ZONE, &servers_s], None)?;
        self.probe_out = Some(p.out.clone());
        self.prober = Some(p);
        self.say(&format!(
            "client: probing http://{API_VIP}:{API_LB_PORT}/ every 50 ms and api.{ZONE} on every node's DNS every \
             250 ms"
        ));
        Ok(())
    }

    /// The client's probes so far (`t_ms` since the start).
    fn probes(&self) -> Vec<Event> {
        let Some(out) = &self.probe_out else { return Vec::new() };
        let text = std::fs::read_to_string(out).unwrap_or_default();
        let by_ip: BTreeMap<&str, &str> = self.nodes.iter().map(|n| (n.ip.as_str(), n.name.as_str())).collect();
        let mut out: Vec<Event> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| Event {
                t_ms: v["t"].as_i64().unwrap_or(0) - self.t0_unix,
                kind: v["kind"].as_str().unwrap_or("?").to_string(),
                node: v["node"].as_str().map(|ip| by_ip.get(ip).copied().unwrap_or(ip).to_string()).unwrap_or_default(),
                ok: v["ok"].as_bool(),
                detail: match v["ms"].as_f64() {
                    Some(ms) => format!("{} ({ms} ms)", v["detail"].as_str().unwrap_or("")),
                    None => v["detail"].as_str().unwrap_or("").to_string(),
                },
            })
            .collect();
        out.sort_by_key(|e| e.t_ms);
        out
    }

    /// HTTP probes sent in `[from, to]`: failed, total, and the longest run of failures in ms
    /// (from the first failed probe to the next successful one).
    fn http_window(&self, from: i64, to: i64) -> (usize, usize, u64) {
        let probes: Vec<Event> =
            self.probes().into_iter().filter(|e| e.kind == "http" && e.t_ms >= from && e.t_ms <= to).collect();
        let failed = probes.iter().filter(|e| e.ok != Some(true)).count();
        let mut longest = 0;
        let mut run_start: Option<i64> = None;
        for e in &probes {
            match (e.ok == Some(true), run_start) {
                (false, None) => run_start = Some(e.t_ms),
                (true, Some(s)) => {
                    longest = longest.max((e.t_ms - s) as u64);
                    run_start = None;
                }
                _ => {}
            }
        }
        if let (Some(s), Some(last)) = (run_start, probes.last()) {
            longest = longest.max((last.t_ms - s + 50) as u64);
        }
        (failed, probes.len(), longest)
    }

    fn vrrp_events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        for n in &self.nodes {
            for p in n.procs.iter().filter(|(k, _)| **k == "vrrp").map(|(_, p)| p).chain(n.old_vrrp_logs()) {
                let text = std::fs::read_to_string(&p.out).unwrap_or_default();
                for v in text.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()) {
                    let Some(at) = v["at"].as_str().and_then(parse_rfc3339_ms) else { continue };
                    out.push(Event {
                        t_ms: at - self.t0_unix,
                        kind: "vrrp".into(),
                        node: n.name.clone(),
                        ok: None,
                        detail: format!(
                            "{} -> {} ({}), priority {}",
                            v["from"].as_str().unwrap_or("?").to_uppercase(),
                            v["to"].as_str().unwrap_or("?").to_uppercase(),
                            v["reason"].as_str().unwrap_or(""),
                            v["priority"]
                        ),
                    });
                }
            }
        }
        out
    }

    // ---------------------------------------------------------------- checks

    fn converge(&self, report: &mut Report) -> Result<(), String> {
        let start = Instant::now();
        let stable_for = Duration::from_secs_f64(SCRIPT_INTERVAL * 4.0) + master_down_interval(self.opts.advert, 1);
        let mut since: Option<(Instant, HolderSets)> = None;
        loop {
            let h = self.holders()?;
            let single = h.0.len() == 1 && h.1.len() == 1;
            match &since {
                Some((at, prev)) if *prev == h && single => {
                    if at.elapsed() >= stable_for {
                        break;
                    }
                }
                _ => since = single.then(|| (Instant::now(), h.clone())),
            }
            if start.elapsed() > Duration::from_secs(30) {
                let logs: String = self
                    .nodes
                    .iter()
                    .filter_map(|n| n.procs.get("vrrp").map(|p| format!("--- {}\n{}\n", n.name, p.log())))
                    .collect();
                return Err(format!(
                    "no single stable holder of each VIP after 30 s (API {:?}, ingress {:?})\n{logs}",
                    h.0, h.1
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let (api, ingress) = self.holders()?;
        report.api_holder = api[0].clone();
        report.ingress_holder = ingress[0].clone();
        let took = start.elapsed().saturating_sub(stable_for);
        report.converge_ms = took.as_millis() as u64;
        self.say(&format!(
            "check: the API VIP {API_VIP} is on exactly one node ({}), the ingress VIP {INGRESS_VIP} on exactly one \
             worker ({}) (`ip -j addr` on every node), stable for {:.1} s; elected {:.2} s after the daemons started",
            report.api_holder,
            report.ingress_holder,
            stable_for.as_secs_f64(),
            took.as_secs_f64()
        ));
        if self.node(&report.api_holder).role != Role::Master || self.node(&report.ingress_holder).role != Role::Worker
        {
            return Err("a VIP is held by a node of the wrong role".into());
        }
        Ok(())
    }

    /// `dig` from every live node, at the first name server of its own resolv.conf: the API,
    /// API-internal and an apps name answer the VIPs, every node's name its IP.
    fn check_dns(&self, when: &str) -> Result<usize, String> {
        let start = Instant::now();
        let mut checked = 0;
        let mut names: Vec<(String, String)> = vec![
            (format!("api.{ZONE}"), API_VIP.into()),
            (format!("api-int.{ZONE}"), API_VIP.into()),
            (format!("console-openshift-console.apps.{ZONE}"), INGRESS_VIP.into()),
        ];
        names.extend(self.nodes.iter().map(|n| (format!("{}.{ZONE}", n.name), n.ip.clone())));
        for n in self.nodes.iter().filter(|n| !n.dead) {
            let server = read(&n.root.join("etc/resolv.conf"))?
                .lines()
                .find_map(|l| l.strip_prefix("nameserver ").map(|s| s.trim().to_string()))
                .unwrap_or_default();
            let at = format!("@{server}");
            for (name, want) in &names {
                let o = self.exec(&n.ns, &["dig", "+short", "+time=1", "+tries=2", &at, name, "A"])?;
                let got = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if got != *want {
                    return Err(format!("{}: dig {at} {name} answered {got:?}, want {want} ({when})", n.name));
                }
                checked += 1;
            }
        }
        self.say(&format!(
            "check ({when}): `dig api.{ZONE}` (and api-int, *.apps, every node name) from every live node at its \
             resolv.conf's name server: {checked} answers right in {:.2} s",
            start.elapsed().as_secs_f64()
        ));
        Ok(checked)
    }

    /// `bmnet inspect` inside a node, seeing the node's keyfiles (bind-mounted over
    /// /etc/NetworkManager/system-connections in the mount namespace `ip netns exec` makes for
    /// this one command; the host's are untouched) and its daemons' status files.
    fn inspect(&self, node: &str) -> Result<String, String> {
        let n = self.node(node);
        let conns = n.root.join("etc/NetworkManager/system-connections");
        let status = n.root.join("run/bmnet");
        let (conns_s, status_s, bmnet) = (conns.display().to_string(), status.display().to_string(), self.bmnet_path());
        let script = "mount --bind \"$1\" \"$2\" || exit 3; BMNET_STATUS_DIR=\"$3\" exec \"$4\" inspect";
        let o = self.exec(&n.ns, &["sh", "-c", script, "sh", &conns_s, NM_KEYFILES, &status_s, &bmnet])?;
        if !o.status.success() {
            return Err(format!("{node}: bmnet inspect failed ({}): {}", o.status, text(&o)));
        }
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let api = format!("api.{ZONE} A: {API_VIP}");
        // keepalived writes no bmnet status file: the VRRP state, and the node IP taken from its
        // VIP subnets (the one `bmnet node-ip set` chose), show only under bmnet vrrp run.
        let node_ip = format!("--node-ip={}\n", n.ip);
        let (vrrp, node_ip) =
            if self.opts.keepalived { (None, None) } else { (Some("MASTER"), Some(node_ip.as_str())) };
        for want in [Some(n.ip.as_str()), Some(API_VIP), vrrp, node_ip, Some("bond0.nmconnection"), Some(api.as_str())]
            .into_iter()
            .flatten()
        {
            if !out.contains(want) {
                return Err(format!("{node}: bmnet inspect does not show {want:?}:\n{out}"));
            }
        }
        self.say(&format!(
            "check: `bmnet inspect` on {node} shows its addresses, node IP, keyfiles, {}DNS answers:\n{}",
            if vrrp.is_some() { "VRRP state and " } else { "" },
            out.lines().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        Ok(out)
    }

    fn curl_client(&self, url: &str) -> Result<String, String> {
        let o = self.exec(&self.client_ns, &["curl", "-fs", "--max-time", "1", url])?;
        if o.status.success() {
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
        } else {
            Err(format!("curl {url} from the client failed: {}", text(&o)))
        }
    }

    /// Retries `url` from the client until it answers (at most `timeout`); returns the body and
    /// how long it took.
    fn curl_until(&self, url: &str, timeout: Duration) -> Result<(String, Duration), String> {
        let start = Instant::now();
        loop {
            match self.curl_client(url) {
                Ok(body) => return Ok((body, start.elapsed())),
                Err(e) if start.elapsed() > timeout => return Err(format!("{e} (for {timeout:?})")),
                Err(_) => self.sleep(Duration::from_millis(50))?,
            }
        }
    }

    fn check_http(&self, report: &mut Report) -> Result<(), String> {
        let url = format!("http://{API_VIP}:{API_LB_PORT}/");
        for _ in 0..6 {
            let body = self.curl_client(&url)?;
            let name = body.rsplit(' ').next().unwrap_or_default().to_string();
            report.backends_seen.insert(name);
        }
        if report.backends_seen.len() != 3 {
            return Err(format!(
                "6 requests through HAProxy reached {:?}, not all three API servers",
                report.backends_seen
            ));
        }
        let router = self.curl_client(&format!("http://{INGRESS_VIP}/"))?;
        if !router.ends_with(&report.ingress_holder) {
            return Err(format!("the ingress VIP answered {router:?}, not the holder {}", report.ingress_holder));
        }
        self.say(&format!(
            "check: 6 HTTP requests from the client to {url} went through HAProxy on {} to {:?}; http://{INGRESS_VIP}/ \
             answered {router:?}",
            report.api_holder, report.backends_seen
        ));
        Ok(())
    }

    fn kill_proc(&mut self, node: &str, which: &'static str) -> Result<i64, String> {
        let i = self.idx(node);
        let mut p = self.nodes[i].procs.remove(which).ok_or(format!("{node} runs no {which}"))?;
        p.kill();
        let t = self.ms_since_start(unix_ms());
        self.nodes[i].old.push(p);
        Ok(t)
    }

    fn wait_api_move(&self, from: &str, started: Instant, timeout: Duration) -> Result<(String, Duration), String> {
        loop {
            let h = self.api_holder()?;
            if h.len() == 1 && h[0] != from {
                return Ok((h[0].clone(), started.elapsed()));
            }
            if started.elapsed() > timeout {
                let logs: String = self
                    .nodes
                    .iter()
                    .filter_map(|n| n.procs.get("vrrp").map(|p| format!("--- {}\n{}\n", n.name, p.log())))
                    .collect();
                return Err(format!(
                    "the API VIP did not move off {from} within {timeout:?} (live holders {h:?})\n{logs}"
                ));
            }
        }
    }

    fn backend_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = report.api_holder.clone();
        let window = Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL + 2))
            + master_down_interval(self.opts.advert, 1)
            + Duration::from_secs(1);
        self.step(
            &holder,
            &format!("kill the API server stand-in on the VIP holder {holder}"),
            &format!("kill API server on {holder}"),
        );
        let t = self.kill_proc(&holder, "apiserver")?;
        let start = Instant::now();
        while start.elapsed() < window {
            let h = self.api_holder()?;
            if h != [holder.clone()] {
                return Err(format!("the API VIP moved (holders {h:?}) when only {holder}'s API server died"));
            }
            self.sleep(Duration::from_millis(50))?;
        }
        let (failed, total, _) = self.http_window(t, t + window.as_millis() as i64);
        report.backend_kill_holder_after = holder.clone();
        report.backend_kill_http = (failed, total);
        self.say(&format!(
            "check: the API VIP stayed on {holder} for {:.1} s (longer than {API_FALL} failed checks + \
             Master_Down_Interval): HAProxy still answers, chk_ocp_lb passes; client HTTP probes: {failed} of {total} \
             failed (HAProxy redispatches to the other API servers)",
            window.as_secs_f64()
        ));
        let i = self.idx(&holder);
        self.start_backend(i)?;
        self.step(&holder, &format!("restart the API server stand-in on {holder}"), "restart it");
        Ok(())
    }

    fn haproxy_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = self.api_holder()?.first().cloned().ok_or("nobody holds the API VIP")?;
        self.step(&holder, &format!("kill HAProxy on the VIP holder {holder}"), &format!("kill HAProxy on {holder}"));
        let started = Instant::now();
        let t = self.kill_proc(&holder, "haproxy")?;
        let (to, took) = self.wait_api_move(&holder, started, Duration::from_secs(15))?;
        // The last passing run was up to one interval before the kill.
        let mdi = master_down_interval(self.opts.advert, api_priority_max());
        let expect = (
            Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL - 1)) + mdi,
            Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL)) + mdi,
        );
        self.say(&format!(
            "check: the API VIP moved {holder} -> {to} in {:.3} s after HAProxy died (chk_ocp_lb fails {API_FALL} \
             times every {SCRIPT_INTERVAL} s, priority {} -> {}, then a backup at {} preempts after Master_Down_Interval: \
             {:.2} to {:.2} s expected)",
            took.as_secs_f64(),
            api_priority_max(),
            api_priority_max() - CHK_OCP_LB_WEIGHT,
            api_priority_max(),
            expect.0.as_secs_f64(),
            expect.1.as_secs_f64()
        ));
        let (body, again) = self.curl_until(&format!("http://{API_VIP}:{API_LB_PORT}/"), Duration::from_secs(10))?;
        self.say(&format!("check: HTTP through the VIP works again: {body:?} ({:.2} s later)", again.as_secs_f64()));
        self.sleep(Duration::from_millis(500))?;
        let (_, _, outage) = self.http_window(t, self.ms_since_start(unix_ms()));
        report.haproxy_kill = (holder.clone(), to, took.as_millis() as u64);
        report.haproxy_kill_outage_ms = outage;
        let (vip_at, arp_at) = self.arrival(&report.haproxy_kill.1, t);
        report.haproxy_kill_arp_ms = arp_at.zip(vip_at).map(|(a, v)| (a - v).max(0) as u64);
        self.say(&format!(
            "client: the longest HTTP outage while the VIP moved: {outage} ms; its ARP entry followed the VIP {}",
            show_ms(report.haproxy_kill_arp_ms)
        ));
        let i = self.idx(&holder);
        self.start_haproxy(i)?;
        self.step(&holder, &format!("restart HAProxy on {holder}"), "restart it");
        // Its checks pass again after `rise` runs; equal priorities do not preempt.
        self.sleep(Duration::from_secs_f64(SCRIPT_INTERVAL * 4.0))?;
        Ok(())
    }

    fn node_kill(&mut self, report: &mut Report) -> Result<(), String> {
        let holder = self.api_holder()?.first().cloned().ok_or("nobody holds the API VIP")?;
        let i = self.idx(&holder);
        self.step(
            &holder,
            &format!("kill node {holder}: both links down (nothing it sends gets out), every process SIGKILLed"),
            &format!("kill node {holder}"),
        );
        let started = Instant::now();
        let t_unix = unix_ms();
        let ns = self.nodes[i].ns.clone();
        for nic in ["eth0", "eth1"] {
            ip(&["-n", &ns, "link", "set", nic, "down"])?;
        }
        let procs: Vec<&'static str> = self.nodes[i].procs.keys().copied().collect();
        for k in procs {
            self.kill_proc(&holder, k)?;
        }
        // Whatever else runs there (check scripts in flight).
        for pid in ip(&["netns", "pids", &self.nodes[i].ns])?.split_whitespace() {
            if let Ok(pid @ 2..) = pid.parse::<u32>() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
            }
        }
        self.nodes[i].dead = true;
        let (to, took) = self.wait_api_move(&holder, started, Duration::from_secs(15))?;
        let bound = master_down_interval(self.opts.advert, api_priority_max());
        // The new holder's own log of its transition.
        let vrrp_ms = self
            .vrrp_events()
            .into_iter()
            .filter(|e| e.node == to && e.detail.starts_with("BACKUP -> MASTER") && e.t_ms + self.t0_unix >= t_unix)
            .map(|e| (e.t_ms + self.t0_unix - t_unix) as u64)
            .min();
        report.node_kill = (holder.clone(), to.clone(), took.as_millis() as u64);
        report.node_kill_vrrp_ms = vrrp_ms;
        report.node_kill_bound_ms = bound.as_millis() as u64;
        self.say(&format!(
            "check: the API VIP moved {holder} -> {to}: seen with `ip -j addr` {:.3} s after the kill, {to} logged \
             BACKUP -> MASTER after {}; the VRRP bound (Master_Down_Interval = 3 x {} s + skew at priority {}) is \
             {:.3} s",
            took.as_secs_f64(),
            vrrp_ms.map_or("?".into(), |ms| format!("{:.3} s", ms as f64 / 1000.0)),
            self.opts.advert,
            api_priority_max(),
            bound.as_secs_f64()
        ));
        let (body, again) = self.curl_until(&format!("http://{API_VIP}:{API_LB_PORT}/"), Duration::from_secs(10))?;
        self.say(&format!(
            "check: HTTP through the VIP works after the node died: {body:?} ({:.2} s later)",
            again.as_secs_f64()
        ));
        self.sleep(Duration::from_millis(500))?;
        let from = t_unix - self.t0_unix;
        let (_, _, outage) = self.http_window(from, self.ms_since_start(unix_ms()));
        report.node_kill_outage_ms = outage;
        let (vip_at, arp_at) = self.arrival(&report.node_kill.1, from);
        report.node_kill_arp_ms = arp_at.zip(vip_at).map(|(a, v)| (a - v).max(0) as u64);
        self.say(&format!(
            "client: the longest HTTP outage while the VIP moved: {outage} ms; its ARP entry followed the VIP {}",
            show_ms(report.node_kill_arp_ms)
        ));
        Ok(())
    }

    /// When, after `since` (ms), `node` got the API VIP (`ip -j addr`) and when the client's
    /// neighbour entry for the VIP first named it.
    fn arrival(&self, node: &str, since: i64) -> (Option<i64>, Option<i64>) {
        let events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let first = |kind: &str, f: &dyn Fn(&Event) -> bool| {
            events.iter().filter(|e| e.kind == kind && e.node == node && e.t_ms >= since && f(e)).map(|e| e.t_ms).min()
        };
        (first("vip", &|e| e.detail == format!("+{API_VIP}")), first("arp", &|_| true))
    }

    fn timeline(&self, window: (i64, i64)) -> Timeline {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner()).clone();
        events.extend(self.vrrp_events());
        events.extend(self.probes());
        events.sort_by_key(|e| e.t_ms);
        Timeline {
            zone: ZONE.into(),
            api_vip: API_VIP.into(),
            advert_int: self.opts.advert,
            daemon: if self.opts.keepalived { "keepalived" } else { "bmnet vrrp run" }.into(),
            start_unix_ms: self.t0_unix,
            nodes: self.nodes.iter().map(|n| (n.name.clone(), n.role)).collect(),
            window_ms: window,
            summary: Vec::new(),
            events,
        }
    }
}

impl Node {
    fn old_vrrp_logs(&self) -> impl Iterator<Item = &Proc> {
        self.old.iter().filter(|p| p.out.file_name().is_some_and(|f| f.to_string_lossy().starts_with("vrrp-")))
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

fn show_ms(ms: Option<u64>) -> String {
    match ms {
        None => "(not seen)".into(),
        Some(ms) if ms < 40 => "at once (within one 40 ms poll)".into(),
        Some(ms) => format!("after {ms} ms"),
    }
}

/// [`show_ms`] for the summary's narrow lines.
fn arp_short(ms: Option<u64>) -> String {
    match ms {
        None => "? (not seen)".into(),
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
            arp_short(r.haproxy_kill_arp_ms),
            r.haproxy_kill_outage_ms
        ),
        format!(
            "node {nf} killed: the VIP moved to {nt} in {nms} ms (VRRP log {}, bound {} ms); client ARP \
             followed {}; longest HTTP outage {} ms",
            r.node_kill_vrrp_ms.map_or("?".into(), |v| format!("{v} ms")),
            r.node_kill_bound_ms,
            arp_short(r.node_kill_arp_ms),
            r.node_kill_outage_ms
        ),
        format!("DNS: {} of {} client probes to live nodes failed", r.dns_probe_failures, r.dns_probes),
    ]
}
