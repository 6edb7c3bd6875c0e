//! Issue 18's performance figures for `bmnet bgp run` in network namespaces, each against a peer
//! measured in the same run (FRR 8.4.4, keepalived 2.2.7):
//!
//! - node death: a router namespace runs FRR (zebra, bgpd, bfdd with BFD 100 ms × 3,
//!   `maximum-paths`), two nodes run `bmnet bgp run` announcing the same VIP with BFD 100 ms × 3.
//!   One node's `eth0` goes down (the router's bridge stays up: only BFD can tell); timed from
//!   the cut to the route message (`ip monitor route` in the router, each line stamped as it
//!   is read) that drops its next hop from the router's FIB. The peer: keepalived's crash
//!   takeover at advert_int 0.1 (VRRPv3, as bench `vrrp_failover`: the master's SIGKILL to the
//!   VIP on the backup), bounded by Master_Down_Interval (0.361 s). The node dies at evenly
//!   spread points of a BFD interval, as the VRRP master of one advert interval. Target: under
//!   0.5 s (BFD's 0.3 s detection plus the router's FIB update);
//! - withdrawal after a failed check (a script testing a file every 100 ms, fall 1): from the
//!   failing run's exit (stamped by the script itself, wall clock in nanoseconds) to the BGP
//!   UPDATE withdrawing the VIP leaving the node's `eth0` (an `AF_PACKET` socket in the bench,
//!   in the node's namespace). So each bmnet row holds the check runner's wait for the exit (it
//!   looks every 5 ms) before the verdict, then the verdict to the wire (the announcer acts on
//!   a verdict before it reports it, so no callback, log or status file is in between). Three
//!   rows: bm-bgp's `Announcer` and `Speaker` in the bench process; `bmnet bgp run`; the peer, FRR's bgpd doing the node's job (`network`
//!   with `import-check`): from the VIP's removal from `lo` (rtnetlink, in the bench) to its
//!   UPDATE. Target: 10 ms;
//! - resident memory with 16 peers and 4 VIPs, all Established and announced: `bmnet bgp run`
//!   (one process: VmRSS, and RssAnon, heap and stacks without the mapped binary) against FRR
//!   doing the same job (zebra and bgpd, 16 neighbours, 4 `network`s), summed over its daemons.
//!   Target: under 4 MB. No BFD and no checks on either side.
//!
//! Medians and max over the repetitions, then bmnet/peer ratios.
//!
//! Run (root, FRR and keepalived installed): `cargo bench -j 1 --bench bgp_daemon`. Without
//! `--bench` (as `cargo test --benches` runs it) it does one repetition of each as a smoke
//! test. Timings are printed and compared with the targets, never asserted.

#![allow(clippy::disallowed_methods)] // Runs daemons in namespaces, reads /proc, the clock.

#[path = "../crates/bm-bgp/tests/util/mod.rs"]
mod bgp_util;
#[path = "../tests/util/vrrp_lab.rs"]
mod vrrp_lab;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bgp_util::{Frr, LIMIT, Lab, Running, node_config, require_frr, wait_for};
use bm_bgp::{Announcer, AnnouncerCommand, AnnouncerEvent, Family, PeerConfig, VipConfig};
use bm_check::process::{CheckScript, ScriptPolicy, resolve_script};
use bm_check::{CheckConfig, ScriptUser};
use bm_testkit::Netns;

/// The targets.
const FAILOVER_TARGET: Duration = Duration::from_millis(500);
const WITHDRAW_TARGET: Duration = Duration::from_millis(10);
const RSS_TARGET_KB: u64 = 4 * 1024;
/// BFD's interval (both ways) and the VRRP advert interval.
const BFD_INTERVAL: Duration = Duration::from_millis(100);
const ADVERT: f64 = 0.1;
/// How often the checks run.
const CHECK_INTERVAL: Duration = Duration::from_millis(100);
const BMNET: &str = env!("CARGO_BIN_EXE_bmnet");

/// A scratch directory, removed on drop (kept when panicking, for the logs).
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("bmnet-bgp-bench-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Where the daemons keep their status files: tmpfs, as `/run/bmnet` on a node.
fn status_dir() -> String {
    format!("/dev/shm/bmnet-bgp-bench-status-{}", std::process::id())
}

/// `bmnet bgp run` in a namespace, killed on drop (the namespace's drop would kill it too).
struct Bmnet {
    child: Child,
    log: PathBuf,
}

impl Bmnet {
    fn start(ns: &Netns, config: &Path, log: PathBuf, json: bool) -> Bmnet {
        let out = std::fs::File::create(&log).expect("log file");
        let mut command = ns.command(BMNET);
        if json {
            command.arg("--json");
        }
        let child = command
            .args(["bgp", "run", "--config"])
            .arg(config)
            .env("BMNET_STATUS_DIR", status_dir())
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start bmnet bgp run");
        Bmnet { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `ip netns exec` execs the program: the child is bmnet itself.
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Bmnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/PID/status` in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn pid_file(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {}", path.display()))
}

/// `ip monitor route` in a namespace, each line stamped as the bench reads it.
struct RouteMonitor {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    reader: Option<JoinHandle<()>>,
}

impl RouteMonitor {
    fn start(ns: &Netns) -> RouteMonitor {
        let mut child = Command::new("ip")
            .args(["-n", &ns.name, "monitor", "route"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ip monitor route");
        let stdout = child.stdout.take().expect("piped");
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send((Instant::now(), line)).is_err() {
                    return;
                }
            }
        });
        // Subscribed once `ip` runs; give it a moment before anything changes.
        std::thread::sleep(Duration::from_millis(200));
        RouteMonitor { child, lines, reader: Some(reader) }
    }

    /// Forgets what came so far.
    fn drain(&self) {
        while self.lines.try_recv().is_ok() {}
    }

    /// The first route message for `prefix` (an address: how `ip` prints a host route) that
    /// leaves `gone` out of its next hops: its deletion, or a route via another next hop only.
    fn wait_without(&self, prefix: &str, gone: &str, limit: Duration) -> Option<(Instant, String)> {
        let start = Instant::now();
        let (new, deleted) = (format!("{prefix} "), format!("Deleted {prefix} "));
        loop {
            let left = limit.checked_sub(start.elapsed())?;
            let (at, line) = self.lines.recv_timeout(left).ok()?;
            if line.starts_with(&deleted) {
                return Some((at, line));
            }
            // A multipath route prints its next hops on the lines after; with two nodes, one
            // gone leaves a single `via` on the first line.
            if line.starts_with(&new) && line.contains(" via ") && !line.contains(&format!(" via {gone} ")) {
                return Some((at, line));
            }
        }
    }
}

impl Drop for RouteMonitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

/// A BGP UPDATE withdrawing routes seen leaving a node's `eth0`: when, on both clocks.
#[derive(Clone, Copy, Debug)]
struct Seen {
    at: Instant,
    wall: SystemTime,
}

/// An `AF_PACKET` socket on a namespace's `eth0` (every frame, both ways), on a thread of the
/// bench inside the namespace, keeping the outgoing UPDATEs that withdraw routes.
struct Sniffer {
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sniffer {
    fn start(ns: &Netns) -> Sniffer {
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (Arc::clone(&seen), Arc::clone(&stop));
        let (ready, opened) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            bm_sys::tcp::enter_netns(&path).expect("setns");
            let index = bm_sys::packet::ifindex("eth0").expect("eth0");
            let socket =
                bm_sys::packet::PacketSocket::open(index, bm_sys::packet::ETH_P_ALL).expect("AF_PACKET socket");
            ready.send(()).expect("bench waits");
            let mut buf = vec![0u8; 65536];
            while !stopped.load(Ordering::Relaxed) {
                let got = socket.recv_until(&mut buf, Instant::now() + Duration::from_millis(50));
                let (at, wall) = (Instant::now(), SystemTime::now());
                let Ok(Some(r)) = got else { continue };
                if r.packet_type == bm_sys::packet::PacketType::Outgoing && withdraws(&buf[..r.len]) {
                    log.lock().expect("sniffer log").push(Seen { at, wall });
                }
            }
        });
        opened.recv().expect("the sniffer thread died");
        Sniffer { seen, stop, thread: Some(thread) }
    }

    /// The first withdrawal seen at or after `after`, waiting up to `limit` for it.
    fn first_after(&self, after: Instant, limit: Duration) -> Option<Seen> {
        let start = Instant::now();
        loop {
            let found = self.seen.lock().expect("sniffer log").iter().find(|s| s.at >= after).copied();
            if found.is_some() || start.elapsed() > limit {
                return found;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The first withdrawal seen at or after wall-clock time `after`.
    fn first_after_wall(&self, after: SystemTime, limit: Duration) -> Option<Seen> {
        let start = Instant::now();
        loop {
            let found = self.seen.lock().expect("sniffer log").iter().find(|s| s.wall >= after).copied();
            if found.is_some() || start.elapsed() > limit {
                return found;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Sniffer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether an Ethernet frame is IPv4/TCP on port 179 carrying a BGP UPDATE that withdraws
/// routes (Withdrawn Routes, or MP_UNREACH_NLRI), as the first of its BGP messages or a later one.
fn withdraws(frame: &[u8]) -> bool {
    if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] {
        return false;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip[9] != 6 || ip.len() < ihl + 20 {
        return false;
    }
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let tcp = &ip[ihl..total];
    let (src, dst) = (u16::from_be_bytes([tcp[0], tcp[1]]), u16::from_be_bytes([tcp[2], tcp[3]]));
    let offset = usize::from(tcp[12] >> 4) * 4;
    if (src != 179 && dst != 179) || tcp.len() < offset {
        return false;
    }
    let mut bgp = &tcp[offset..];
    while bgp.len() >= 19 && bgp[..16].iter().all(|b| *b == 0xff) {
        let len = usize::from(u16::from_be_bytes([bgp[16], bgp[17]]));
        if !(19..=bgp.len()).contains(&len) {
            return false;
        }
        if bgp[18] == 2 && update_withdraws(&bgp[19..len]) {
            return true;
        }
        bgp = &bgp[len..];
    }
    false
}

fn update_withdraws(body: &[u8]) -> bool {
    let Some(withdrawn) = body.get(..2).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
        return false;
    };
    if withdrawn > 0 {
        return true;
    }
    let Some(attrs_len) = body.get(2..4).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]]))) else {
        return false;
    };
    let mut attrs = body.get(4..4 + attrs_len).unwrap_or_default();
    while attrs.len() >= 3 {
        let (flags, code) = (attrs[0], attrs[1]);
        let (len, head) = if flags & 0x10 != 0 {
            let Some(l) = attrs.get(2..4) else { return false };
            (usize::from(u16::from_be_bytes([l[0], l[1]])), 4)
        } else {
            (usize::from(attrs[2]), 3)
        };
        if code == 15 {
            return true; // MP_UNREACH_NLRI
        }
        attrs = attrs.get(head + len..).unwrap_or_default();
    }
    false
}

fn median(v: &[Duration]) -> Duration {
    let mut s = v.to_vec();
    s.sort();
    s.get(s.len() / 2).copied().unwrap_or_default()
}

fn max(v: &[Duration]) -> Duration {
    v.iter().copied().max().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Waits for `f`, polling every 20 ms; panics with `what` after `limit`.
fn until(what: &str, limit: Duration, mut f: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match f() {
            Ok(()) => return,
            Err(e) if start.elapsed() > limit => panic!("{what}: not after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn hops(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// FRR's BFD peers that are up.
fn frr_bfd_up(frr: &Frr) -> BTreeSet<String> {
    let v = frr.json("show bfd peers json");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["status"] == "up")
        .filter_map(|p| p["peer"].as_str().map(str::to_string))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. Node death: BGP with BFD against VRRP.

const FAILOVER_VIP: &str = "192.0.2.10";

fn failover_config(k: usize) -> String {
    format!(
        "localASN: 64601
routerID: 10.0.0.1{k}
peers:
  - peerAddress: 10.0.0.1
    peerASN: 64512
    holdTime: 30s
    keepaliveTime: 10s
    bfdEnabled: \"true\"
    bfdReceiveInterval: 100ms
    bfdTransmitInterval: 100ms
    bfdMultiplier: 3
    localAddress: 10.0.0.1{k}
    nextHopIPv4: 10.0.0.1{k}
    connectRetry: 1s
vips:
  - address: {FAILOVER_VIP}
"
    )
}

/// What the node death repetitions measured.
struct Failover {
    bgp: Vec<Duration>,
    vrrp: Vec<Duration>,
}

fn bgp_failover(reps: u32) -> Vec<Duration> {
    let scratch = Scratch::new("failover");
    let lab = Lab::new("bgpbf", 2);
    let frr = Frr::start_with_bfdd(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.11 timers 10 30
 neighbor 10.0.0.11 timers connect 1
 neighbor 10.0.0.11 bfd
 neighbor 10.0.0.11 bfd profile fast
 neighbor 10.0.0.12 remote-as 64601
 neighbor 10.0.0.12 timers 10 30
 neighbor 10.0.0.12 timers connect 1
 neighbor 10.0.0.12 bfd
 neighbor 10.0.0.12 bfd profile fast
 address-family ipv4 unicast
  maximum-paths 2
 exit-address-family
",
        Some(
            "bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
",
        ),
    );
    let monitor = RouteMonitor::start(&lab.router);
    let nodes: Vec<Bmnet> = (1..=2)
        .map(|k| {
            let path = scratch.path(&format!("node{k}.yaml"));
            std::fs::write(&path, failover_config(k)).expect("write config");
            Bmnet::start(&lab.nodes[k - 1], &path, scratch.path(&format!("node{k}.log")), false)
        })
        .collect();
    let both = hops(&["10.0.0.11", "10.0.0.12"]);
    let prefix = format!("{FAILOVER_VIP}/32");
    let logs = || nodes.iter().map(|n| n.log_text()).collect::<Vec<_>>().join("\n---\n");
    let all_up = |limit: Duration| {
        until("both next hops in the router's FIB, both BFD sessions up", limit, || {
            let (fib, bfd) = (lab.fib_next_hops(&prefix), frr_bfd_up(&frr));
            if fib == both && bfd == both { Ok(()) } else { Err(format!("FIB {fib:?}, BFD up {bfd:?}\n{}", logs())) }
        });
    };
    all_up(LIMIT);
    let mut took = Vec::new();
    for i in 0..reps {
        // Steady for a second (FRR may redo a BFD session once BGP is up), then the cut at
        // evenly spread points of a BFD interval.
        std::thread::sleep(Duration::from_secs(1));
        all_up(Duration::from_secs(5));
        std::thread::sleep(BFD_INTERVAL * i / reps);
        monitor.drain();
        lab.nodes[0].ip(&["link", "set", "eth0", "down"]);
        let cut = Instant::now();
        let (at, line) = monitor
            .wait_without(FAILOVER_VIP, "10.0.0.11", Duration::from_secs(10))
            .unwrap_or_else(|| panic!("node 1's next hop still in the router's FIB 10 s after the cut\n{}", logs()));
        took.push(at.saturating_duration_since(cut));
        eprintln!("node death {i}: {:.1} ms ({line})", ms(at.saturating_duration_since(cut)));
        assert_eq!(lab.fib_next_hops(&prefix), hops(&["10.0.0.12"]), "{line}");
        lab.nodes[0].ip(&["link", "set", "eth0", "up"]);
        all_up(LIMIT);
    }
    drop(nodes);
    drop(monitor);
    drop(frr);
    took
}

fn vrrp_conf(lab: &vrrp_lab::Lab, priority: u32) -> String {
    format!(
        "global_defs {{\n    script_user root\n}}\nvrrp_instance VI_API {{\n    state BACKUP\n    interface eth0\n    \
         virtual_router_id 61\n    priority {priority}\n    advert_int {ADVERT}\n    version 3\n    \
         virtual_ipaddress {{\n        {}/24\n    }}\n}}\n",
        lab.vip4()
    )
}

/// keepalived's crash takeover, as bench `vrrp_failover` measures it.
fn vrrp_crash(reps: u32) -> Vec<Duration> {
    vrrp_lab::need_keepalived();
    let lab = vrrp_lab::Lab::new("bgp-bench-vrrp", 2);
    let vip = lab.vip4();
    let mut took = Vec::new();
    for i in 0..reps {
        let mut master = lab.keepalived(1, &vrrp_conf(&lab, 150));
        assert!(lab.wait(Duration::from_secs(20), |l| l.holders(&vip) == vec![1]).is_some(), "{}", master.log_text());
        let mut backup = lab.keepalived(2, &vrrp_conf(&lab, 100));
        std::thread::sleep(Duration::from_millis(800));
        assert_eq!(lab.holders(&vip), vec![1], "{}\n{}", master.log_text(), backup.log_text());
        std::thread::sleep(Duration::from_secs_f64(ADVERT * f64::from(i) / f64::from(reps)));
        let died = master.kill();
        let t = lab
            .wait_since(died, Duration::from_secs(20), |l| l.has(2, &vip))
            .unwrap_or_else(|| panic!("keepalived: no takeover\n{}", backup.log_text()));
        took.push(t);
        backup.stop();
        let _ = Command::new("ip").args(["-n", lab.ns(1), "addr", "del", &format!("{vip}/24"), "dev", "eth0"]).output();
    }
    took
}

// ---------------------------------------------------------------------------------------------
// 2. Withdrawal after a failed check.

/// What the withdrawal repetitions measured, per row.
struct Withdrawal {
    library: Vec<Duration>,
    daemon: Vec<Duration>,
    frr: Vec<Duration>,
}

/// bm-bgp's Announcer on a thread of the bench in a node's namespace, its events stamped.
struct Gate {
    commands: mpsc::Sender<AnnouncerCommand>,
    events: Arc<Mutex<Vec<(Instant, AnnouncerEvent)>>>,
    thread: Option<JoinHandle<()>>,
}

impl Gate {
    fn start(ns: &Netns, speaker: &Running, vip: &str, command: &str) -> Gate {
        let script =
            CheckScript::from_command("api", command, CHECK_INTERVAL, Duration::from_secs(1)).expect("check script");
        let policy =
            ScriptPolicy { security: false, script_user: Some(ScriptUser { user: "root".into(), group: None }) };
        let resolved = resolve_script(&script.argv, None, &policy).expect("resolve the script");
        let mut config = VipConfig::new(format!("{vip}/32").parse().expect("VIP"));
        config.checks.push(CheckConfig { name: "api".into(), weight: 0, rise: 1, fall: 1, reverse: false });
        let handle = speaker.handle.clone();
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&events);
        let (commands, received) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            bm_sys::tcp::enter_netns(&path).expect("setns");
            let mut announcer =
                Announcer::new(vec![config], vec![(script, resolved)], Some("lo"), handle).expect("announcer");
            announcer.run(&received, |e| {
                let at = Instant::now();
                log.lock().expect("events").push((at, e));
            });
        });
        Gate { commands, events, thread: Some(thread) }
    }

    /// The first event `f` accepts at or after `after`.
    fn first(&self, after: Instant, f: impl Fn(&AnnouncerEvent) -> bool) -> Option<Instant> {
        self.events.lock().expect("events").iter().find(|(t, e)| *t >= after && f(e)).map(|(t, _)| *t)
    }

    fn stop(&mut self) {
        let _ = self.commands.send(AnnouncerCommand::Stop(Some("bench over".into())));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_healthy(path: &Path, healthy: bool) {
    if healthy {
        std::fs::write(path, "").expect("healthy file");
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Times written by the daemon's check script (`date +%s.%N`, one a line).
fn script_stamps(path: &Path) -> Vec<SystemTime> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (s, n) = l.trim().split_once('.')?;
            Some(UNIX_EPOCH + Duration::new(s.parse().ok()?, n.parse().ok()?))
        })
        .collect()
}

/// Removes `addr`/32 from `lo` in a namespace over rtnetlink; when the request went.
fn remove_from_lo(ns: &Netns, addr: Ipv4Addr) -> Instant {
    let path = PathBuf::from("/run/netns").join(&ns.name);
    std::thread::spawn(move || {
        bm_sys::tcp::enter_netns(&path).expect("setns");
        let mut netlink = bm_sys::rtnetlink::Connection::open().expect("rtnetlink");
        let lo = bm_sys::packet::ifindex("lo").expect("lo");
        let at = Instant::now();
        let removed = netlink.remove_address(lo, IpAddr::V4(addr), 32).expect("remove the VIP");
        assert!(removed, "{addr} was not on lo");
        at
    })
    .join()
    .expect("rtnetlink thread")
}

fn withdrawal(reps: u32) -> Withdrawal {
    let scratch = Scratch::new("withdraw");
    let lab = Lab::new("bgpbw", 3);
    let frr = Frr::start(
        &lab.router,
        "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.12 remote-as 64601
 neighbor 10.0.0.13 remote-as 64601
",
    );
    let sniffers: Vec<Sniffer> = lab.nodes.iter().map(Sniffer::start).collect();
    let fib_has = |vip: &str, hop: &str| lab.fib_next_hops(&format!("{vip}/32")).contains(hop);

    // Node 1: the library in the bench, its check script stamping each failed run.
    let (vip1, healthy1, stamps1) = ("192.0.2.21", scratch.path("node1-healthy"), scratch.path("node1-stamps"));
    let script1 = scratch.path("node1-check.sh");
    std::fs::write(
        &script1,
        format!("test -e {} && exit 0\ndate +%s.%N >> {}\nexit 1\n", healthy1.display(), stamps1.display()),
    )
    .expect("check script");
    let peer = PeerConfig::new(node_config(1, 64601, 64512, Family::IPV4_UNICAST), "10.0.0.1".parse().expect("IP"));
    let speaker = Running::start(&lab.nodes[0], vec![peer], &[]);
    let mut gate = Gate::start(&lab.nodes[0], &speaker, vip1, &format!("/bin/sh {}", script1.display()));

    // Node 2: the daemon, its check script stamping each failed run.
    let (vip2, healthy2, stamps) = ("192.0.2.22", scratch.path("node2-healthy"), scratch.path("node2-stamps"));
    let script = scratch.path("node2-check.sh");
    std::fs::write(
        &script,
        format!("test -e {} && exit 0\ndate +%s.%N >> {}\nexit 1\n", healthy2.display(), stamps.display()),
    )
    .expect("check script");
    let config = scratch.path("node2.yaml");
    std::fs::write(
        &config,
        format!(
            "localASN: 64601
routerID: 10.0.0.12
peers:
  - peerAddress: 10.0.0.1
    peerASN: 64512
    localAddress: 10.0.0.12
    connectRetry: 1s
scriptUser: root
checks:
  - name: api
    script: /bin/sh {}
    interval: 100ms
    timeout: 1s
    fall: 1
vips:
  - address: {vip2}
    checks: [api]
",
            script.display()
        ),
    )
    .expect("config");
    let daemon = Bmnet::start(&lab.nodes[1], &config, scratch.path("node2.log"), true);

    // Node 3: FRR doing the node's job, the VIP on lo.
    let vip3 = "192.0.2.23";
    let node_frr = Frr::start(
        &lab.nodes[2],
        &format!(
            "frr defaults traditional
router bgp 64601
 bgp router-id 10.0.0.13
 no bgp ebgp-requires-policy
 bgp network import-check
 neighbor 10.0.0.1 remote-as 64512
 address-family ipv4 unicast
  network {vip3}/32
 exit-address-family
"
        ),
    );

    let mut w = Withdrawal { library: Vec::new(), daemon: Vec::new(), frr: Vec::new() };
    for i in 0..reps {
        let phase = CHECK_INTERVAL * i / reps;

        // The library.
        set_healthy(&healthy1, true);
        until("node 1's VIP in the router's FIB", LIMIT, || {
            if fib_has(vip1, "10.0.0.11") { Ok(()) } else { Err(format!("{:?}", gate.events.lock())) }
        });
        std::thread::sleep(phase);
        let (failed, failed_wall) = (Instant::now(), SystemTime::now());
        set_healthy(&healthy1, false);
        until("node 1's check failed and its VIP withdrawn", Duration::from_secs(10), || {
            gate.first(failed, |e| matches!(e, AnnouncerEvent::Withdrawn { .. }))
                .map(|_| ())
                .ok_or_else(|| "not yet".to_string())
        });
        let exit = script_stamps(&stamps1).into_iter().find(|t| *t >= failed_wall).expect("a stamp");
        let wire = sniffers[0].first_after_wall(exit, Duration::from_secs(5)).expect("node 1's withdrawal on the wire");
        w.library.push(wire.wall.duration_since(exit).unwrap_or_default());

        // The daemon.
        set_healthy(&healthy2, true);
        until("node 2's VIP in the router's FIB", LIMIT, || {
            if fib_has(vip2, "10.0.0.12") { Ok(()) } else { Err(daemon.log_text()) }
        });
        std::thread::sleep(phase);
        let failed = SystemTime::now();
        set_healthy(&healthy2, false);
        let mut exit = None;
        until("node 2's check failed", Duration::from_secs(10), || {
            exit = script_stamps(&stamps).into_iter().find(|t| *t >= failed);
            exit.map(|_| ()).ok_or_else(|| daemon.log_text())
        });
        let exit = exit.expect("a stamp");
        let wire = sniffers[1]
            .first_after_wall(exit, Duration::from_secs(5))
            .unwrap_or_else(|| panic!("node 2's withdrawal on the wire\n{}", daemon.log_text()));
        w.daemon.push(wire.wall.duration_since(exit).unwrap_or_default());

        // FRR.
        lab.nodes[2].ip(&["addr", "add", &format!("{vip3}/32"), "dev", "lo"]);
        until("node 3's VIP in the router's FIB", LIMIT, || {
            if fib_has(vip3, "10.0.0.13") { Ok(()) } else { Err(node_frr.vtysh("show ip bgp")) }
        });
        // FRR's own timers start at the change; no check schedule to spread over, but the
        // same waits keep the rows alike.
        std::thread::sleep(phase);
        let removed = remove_from_lo(&lab.nodes[2], vip3.parse().expect("VIP"));
        let wire = sniffers[2].first_after(removed, Duration::from_secs(10)).expect("node 3's withdrawal on the wire");
        w.frr.push(wire.at.saturating_duration_since(removed));
        eprintln!(
            "withdrawal {i}: library {:.2} ms, daemon {:.2} ms, FRR {:.2} ms",
            ms(w.library[w.library.len() - 1]),
            ms(w.daemon[w.daemon.len() - 1]),
            ms(w.frr[w.frr.len() - 1])
        );
        until("every VIP out of the router's FIB", Duration::from_secs(10), || {
            let left: Vec<&str> = [(vip1, "10.0.0.11"), (vip2, "10.0.0.12"), (vip3, "10.0.0.13")]
                .into_iter()
                .filter(|(v, h)| fib_has(v, h))
                .map(|(v, _)| v)
                .collect();
            if left.is_empty() { Ok(()) } else { Err(format!("{left:?}")) }
        });
    }
    // The announcer withdraws, then stops the speaker.
    gate.stop();
    let _ = speaker.thread.join();
    drop(daemon);
    drop(sniffers);
    drop(node_frr);
    drop(frr);
    w
}

// ---------------------------------------------------------------------------------------------
// 3. Resident memory with 16 peers and 4 VIPs.

const PEERS: usize = 16;
const VIPS: [&str; 4] = ["192.0.2.31", "192.0.2.32", "192.0.2.33", "192.0.2.34"];

/// Resident memory, kB.
struct Memory {
    rss: u64,
    anon: u64,
    file: u64,
}

impl Memory {
    fn of(pids: &[u32]) -> Memory {
        let sum = |field: &str| pids.iter().map(|p| status_kb(*p, field)).sum();
        Memory { rss: sum("VmRSS:"), anon: sum("RssAnon:"), file: sum("RssFile:") }
    }
}

fn memory() -> (Memory, Memory) {
    let scratch = Scratch::new("memory");
    let lab = Lab::new("bgpbm", 2);
    // The router answers on 10.0.1.1-16; bmnet's node speaks from 10.0.1.101-116, FRR's from
    // 10.0.1.201-216: peer k of each node is router address k.
    for k in 1..=PEERS {
        lab.router.ip(&["addr", "add", &format!("10.0.1.{k}/24"), "dev", "br0"]);
        lab.nodes[0].ip(&["addr", "add", &format!("10.0.1.{}/24", 100 + k), "dev", "eth0"]);
        lab.nodes[1].ip(&["addr", "add", &format!("10.0.1.{}/24", 200 + k), "dev", "eth0"]);
    }
    let mut router = String::from(
        "frr defaults traditional
route-map NONE deny 10
!
router bgp 64512
 bgp router-id 10.0.1.1
 no bgp ebgp-requires-policy
",
    );
    let mut family = String::from(" address-family ipv4 unicast\n  maximum-paths 32\n");
    for k in 1..=PEERS {
        for n in [100 + k, 200 + k] {
            router += &format!(" neighbor 10.0.1.{n} remote-as 64601\n neighbor 10.0.1.{n} passive\n");
            family += &format!("  neighbor 10.0.1.{n} route-map NONE out\n");
        }
    }
    router += &family;
    router += " exit-address-family\n";
    let frr = Frr::start(&lab.router, &router);

    let mut config = String::from("localASN: 64601\nrouterID: 10.0.1.101\npeers:\n");
    for k in 1..=PEERS {
        config += &format!(
            "  - peerAddress: 10.0.1.{k}\n    peerASN: 64512\n    localAddress: 10.0.1.{n}\n    nextHopIPv4: 10.0.1.{n}\n    connectRetry: 1s\n",
            n = 100 + k
        );
    }
    config += "vips:\n";
    for v in VIPS {
        config += &format!("  - address: {v}\n");
    }
    let path = scratch.path("node.yaml");
    std::fs::write(&path, config).expect("config");
    let bmnet = Bmnet::start(&lab.nodes[0], &path, scratch.path("node.log"), false);

    let mut node = String::from(
        "frr defaults traditional
router bgp 64601
 bgp router-id 10.0.1.201
 no bgp ebgp-requires-policy
 bgp network import-check
",
    );
    let mut family = String::from(" address-family ipv4 unicast\n");
    for k in 1..=PEERS {
        node +=
            &format!(" neighbor 10.0.1.{k} remote-as 64512\n neighbor 10.0.1.{k} update-source 10.0.1.{}\n", 200 + k);
    }
    for v in VIPS {
        lab.nodes[1].ip(&["addr", "add", &format!("{v}/32"), "dev", "lo"]);
        family += &format!("  network {v}/32\n");
    }
    node += &family;
    node += " exit-address-family\n";
    let node_frr = Frr::start(&lab.nodes[1], &node);

    wait_for("every session Established with the 4 VIPs", LIMIT, || {
        let v = frr.json("show bgp ipv4 unicast summary json");
        let peers = v["peers"].as_object().cloned().unwrap_or_default();
        let done = peers.values().filter(|p| p["state"] == "Established" && p["pfxRcd"] == VIPS.len()).count();
        if done == 2 * PEERS { Ok(()) } else { Err(format!("{done} of {} done\n{}", 2 * PEERS, bmnet.log_text())) }
    });
    // Settled: a few keepalives' worth.
    std::thread::sleep(Duration::from_secs(3));
    let pid = bmnet.pid();
    let ours = Memory::of(&[pid]);
    let daemons = [pid_file(&node_frr.dir.join("zebra.pid")), pid_file(&node_frr.dir.join("bgpd.pid"))];
    let theirs = Memory::of(&daemons);
    assert!(ours.rss > 0 && theirs.rss > 0, "no /proc reading: bmnet {pid}, FRR {daemons:?}");
    drop(bmnet);
    drop(node_frr);
    drop(frr);
    (ours, theirs)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    require_frr();
    vrrp_lab::need_keepalived();
    let reps: u32 = if bench { 10 } else { 1 };
    let started = Instant::now();
    let failover = Failover { bgp: bgp_failover(reps), vrrp: vrrp_crash(reps) };
    let w = withdrawal(if bench { 2 * reps } else { 1 });
    let (ours, theirs) = memory();
    let _ = std::fs::remove_dir_all(status_dir());

    let mdi = Duration::from_secs_f64(3.0 * ADVERT + (256.0 - 100.0) / 256.0 * ADVERT);
    println!(
        "bgp_daemon: {reps} node deaths, {} withdrawals, in {:.0} s ({})",
        w.library.len(),
        started.elapsed().as_secs_f64(),
        if bench {
            "`cargo bench -j 1 --bench bgp_daemon`"
        } else {
            "smoke test; figures: `cargo bench --bench bgp_daemon`"
        }
    );
    println!("{:<58} {:>9} {:>9} {:>9}", "node death, to the router's FIB", "median", "max", "bound");
    println!(
        "{:<58} {:>6.1} ms {:>6.1} ms {:>6.0} ms",
        "bmnet bgp run, BFD 100 ms x 3: link cut -> next hop gone",
        ms(median(&failover.bgp)),
        ms(max(&failover.bgp)),
        ms(FAILOVER_TARGET)
    );
    println!(
        "{:<58} {:>6.1} ms {:>6.1} ms {:>6.0} ms",
        "keepalived VRRPv3, advert 0.1 s: SIGKILL -> VIP on backup",
        ms(median(&failover.vrrp)),
        ms(max(&failover.vrrp)),
        ms(mdi)
    );
    println!("{:<58} {:>9} {:>9} {:>9}", "withdrawal after a failed check, to the wire", "median", "max", "target");
    for (name, v) in [
        ("bm-bgp Announcer: check script's exit -> UPDATE out", &w.library),
        ("bmnet bgp run: check script's exit -> UPDATE out", &w.daemon),
        ("FRR bgpd (import-check): VIP off lo -> UPDATE out", &w.frr),
    ] {
        println!("{:<58} {:>6.2} ms {:>6.2} ms {:>6.0} ms", name, ms(median(v)), ms(max(v)), ms(WITHDRAW_TARGET));
    }
    println!(
        "{:<58} {:>9} {:>9} {:>9} {:>9}",
        "resident memory, 16 peers and 4 VIPs", "VmRSS", "RssAnon", "RssFile", "target"
    );
    println!(
        "{:<58} {:>6} kB {:>6} kB {:>6} kB {:>6} kB",
        "bmnet bgp run", ours.rss, ours.anon, ours.file, RSS_TARGET_KB
    );
    println!("{:<58} {:>6} kB {:>6} kB {:>6} kB", "FRR zebra + bgpd", theirs.rss, theirs.anon, theirs.file);
    println!("bmnet / peer:");
    println!(
        "  node death failover / keepalived crash takeover (median) {:.2}, (max) {:.2}",
        ms(median(&failover.bgp)) / ms(median(&failover.vrrp)),
        ms(max(&failover.bgp)) / ms(max(&failover.vrrp))
    );
    println!(
        "  withdrawal, bm-bgp / FRR (median) {:.3}, bmnet bgp run / FRR (median) {:.3}",
        ms(median(&w.library)) / ms(median(&w.frr)),
        ms(median(&w.daemon)) / ms(median(&w.frr))
    );
    println!(
        "  resident memory / FRR's {:.2}, anonymous {:.2}",
        ours.rss as f64 / theirs.rss as f64,
        ours.anon as f64 / theirs.anon as f64
    );
    println!(
        "bmnet vs targets: failover max {:+.1} ms from 500 ms, withdrawal max {:+.2} ms (library) {:+.2} ms (daemon) \
         from 10 ms, RSS {:+} kB from 4096 kB",
        ms(max(&failover.bgp)) - ms(FAILOVER_TARGET),
        ms(max(&w.library)) - ms(WITHDRAW_TARGET),
        ms(max(&w.daemon)) - ms(WITHDRAW_TARGET),
        ours.rss as i64 - RSS_TARGET_KB as i64
    );
}
