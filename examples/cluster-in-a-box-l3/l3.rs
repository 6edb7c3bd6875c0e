//! The cluster in a box in L3 mode: the scenario shared by `examples/cluster-in-a-box-l3`
//! (which prints it) and `tests/cluster_in_a_box_l3.rs` (which asserts it). A child module of
//! the L2 box (`../cluster-in-a-box/box.rs`): it runs on the same plumbing (namespaces,
//! processes, HAProxy and the stand-in API servers, the watcher, the client's probes, the
//! timeline and its chart).
//!
//! No two groups of nodes share a segment: a router namespace (FRR's zebra, bgpd and bfdd,
//! the top of rack) routes between four subnets, master-0 and master-1 in subnet A, master-2
//! in subnet B, the workers in subnet C and the client in subnet D. Every node runs
//! `bmnet bgp run` with a bgpVIPConfig-shaped file and one eBGP session to its subnet's
//! gateway, BFD 100 ms x 3 and a hold time of 9 s: the masters announce the API VIP while
//! HAProxy answers (`chk_ocp_lb`), the workers the ingress VIP while the router stand-in is
//! healthy and ready (`chk_ingress`, `chk_ingress_ready`). The router installs every
//! announcement as one ECMP route (`maximum-paths`), hashing flows on their ports, so the
//! client's probes through the API VIP spread over every healthy master. Then an API server,
//! HAProxy and a whole node are killed, and every `bmnet bgp run` is stopped with SIGTERM.
//!
//! VRRP cannot do this at all: its adverts and gratuitous ARPs stay on one segment, and here
//! the nodes share none.
//!
//! Departures from OpenShift, as in the L2 box: checks every 0.5 s instead of 2 s (same rise
//! and fall), HAProxy checking its backends every 200 ms, clients on HAProxy's port 9445.

use super::*;

#[path = "../../crates/bm-bgp/tests/util/mod.rs"]
mod bgp_util;

use bgp_util::{BFDD, BGPD, Frr, Lab, ZEBRA};
use bm_testkit::Netns;

/// How the VIPs move in this mode, for the chart's title.
pub const MECHANISM: &str = "eBGP + BFD 100 ms x 3 to FRR, ECMP";
/// Every node's AS (bgpVIPConfig's `localASN`, one per cluster).
pub const NODE_ASN: u32 = 64601;
/// The router's AS.
pub const ROUTER_ASN: u32 = 64512;
/// BFD on every session, both sides: the interval in ms and the multiplier.
pub const BFD_MS: u64 = 100;
/// See [`BFD_MS`].
pub const BFD_MULTIPLIER: u64 = 3;
/// The BGP hold time, seconds (keepalives every third).
pub const HOLD_TIME: u64 = 9;
/// The subnets (name, first three octets of the /24); the router is `.1` on each.
pub const SUBNETS: [(&str, &str); 4] =
    [("A", "192.168.11"), ("B", "192.168.12"), ("C", "192.168.13"), ("D", "192.168.14")];
/// The nodes: name, role, subnet (an index of [`SUBNETS`]), host number.
const NODES: [(&str, Role, usize, u8); 5] = [
    ("master-0", Role::Master, 0, 20),
    ("master-1", Role::Master, 0, 21),
    ("master-2", Role::Master, 1, 22),
    ("worker-0", Role::Worker, 2, 23),
    ("worker-1", Role::Worker, 2, 24),
];
/// The client, in subnet D.
pub const CLIENT: &str = "192.168.14.10";
/// Where the API server is killed (HAProxy there, and on the others, still has two).
pub const BACKEND_KILL: &str = "master-0";
/// Where HAProxy is killed: the only node of subnet B.
pub const HAPROXY_KILL: &str = "master-2";
/// The node killed: subnet A's bridge stays up (master-0 is on it), so the router's link does
/// not go down and only BFD can tell.
pub const NODE_KILL: &str = "master-1";
/// `chk_ingress`'s and `chk_ingress_ready`'s fall count (OpenShift's).
const INGRESS_FALL: u32 = 2;
/// How long after a kill's FIB change the client's failures still count as that kill's.
const SETTLE_MS: i64 = 2000;

/// The tools this mode runs, with the Debian package that has each.
const TOOLS: &[(&str, &[&str], &str)] = &[
    ("ip", &["-V"], "iproute2"),
    ("/usr/sbin/haproxy", &["-v"], "haproxy"),
    ("curl", &["--version"], "curl"),
    ("python3", &["--version"], "python3"),
    (ZEBRA, &["-v"], "frr"),
    (BGPD, &["-v"], "frr"),
    (BFDD, &["-v"], "frr"),
    ("vtysh", &["-h"], "frr"),
];

/// Fails, naming the `apt-get install` command, when a tool is missing.
pub fn need_tools() -> Result<(), String> {
    need(TOOLS)
}

/// The top-of-rack router: its namespace and FRR.
pub struct Router {
    /// The namespace (`lab.router`; no nodes of its own).
    lab: Lab,
    frr: Frr,
}

impl Router {
    /// The gateways of `vip`'s host route in the router's FIB.
    pub(super) fn next_hops(&self, vip: &str) -> BTreeSet<String> {
        self.lab.fib_next_hops(&format!("{vip}/32"))
    }
}

/// The VIPs' next hops in the router's FIB once a phase has settled.
#[derive(Clone, Debug, Serialize)]
pub struct Phase {
    /// What had happened.
    pub name: String,
    /// When, ms since the start.
    pub t_ms: i64,
    /// The API VIP's next hops (node names).
    pub api: Vec<String>,
    /// The ingress VIP's next hops.
    pub ingress: Vec<String>,
}

/// One node's session as FRR saw it once everything was up.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Session {
    /// The node.
    pub node: String,
    /// FRR's BGP state (`Established`).
    pub bgp: String,
    /// The negotiated hold time, ms.
    pub hold_ms: u64,
    /// FRR's BFD session (`up`).
    pub bfd: String,
    /// FRR's BFD intervals (transmit, receive, ms) and multiplier.
    pub bfd_local: (u64, u64, u64),
    /// The node's, as FRR received them.
    pub bfd_remote: (u64, u64, u64),
}

/// How one `bmnet bgp run` stopped on SIGTERM.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stopped {
    /// The node.
    pub node: String,
    /// It exited 0.
    pub exit_ok: bool,
    /// Its log has the VIP withdrawn (reason `stopped`) before the Cease it sent.
    pub withdrawn_before_cease: bool,
    /// It sent Cease/Administrative Shutdown.
    pub cease_sent: bool,
    /// The VIP left its `lo`.
    pub vip_off_lo: bool,
    /// FRR's BGP state afterwards.
    pub frr_state: String,
    /// Why FRR says the session went down (`lastResetDueTo`, and the NOTIFICATION's reason
    /// and shutdown message when it read one).
    pub frr_reset: String,
    /// UPDATEs FRR received from the node between SIGTERM and the end (the withdrawal).
    pub frr_updates: i64,
}

/// The measured results; every check has already passed when `run` returns one.
#[derive(Clone, Debug, Default, Serialize)]
pub struct L3Report {
    /// Each subnet: name, prefix, who is in it.
    pub subnets: Vec<(String, String, Vec<String>)>,
    /// Time from starting the `bmnet bgp run`s to the router's FIB having every node, ms.
    pub converge_ms: u64,
    /// Every session as FRR saw it.
    pub sessions: Vec<Session>,
    /// API servers seen behind the VIP, and how many requests that took.
    pub backends_seen: (BTreeSet<String>, usize),
    /// Workers seen behind the ingress VIP, and how many requests that took.
    pub ingress_seen: (BTreeSet<String>, usize),
    /// The FIB at each phase.
    pub phases: Vec<Phase>,
    /// Killing an API server: failed and total client probes over the observation window
    /// (from the instant it died: those in flight then are cut, HAProxy redispatches the
    /// others).
    pub backend_kill_http: (usize, usize),
    /// Killing HAProxy: from the kill to its path leaving the FIB, ms.
    pub haproxy_kill_ms: u64,
    /// Killing HAProxy: failed and total client probes until things settled.
    pub haproxy_kill_http: (usize, usize),
    /// Killing HAProxy: from the first to the last failed probe (`None`: none failed), ms
    /// after the kill.
    pub haproxy_kill_failures: Option<(i64, i64)>,
    /// Restarting HAProxy: from the restart to its path back in the FIB, ms.
    pub haproxy_back_ms: u64,
    /// Restarting HAProxy: failed and total client probes in flight while the path came back.
    /// The router's ECMP hashes flows over the paths it has (Linux's hash-threshold
    /// multipath), so a third path moves some flows between paths: a connection open across
    /// that instant lands on a HAProxy that never saw it and is reset.
    pub haproxy_back_http: (usize, usize),
    /// Killing the node: from the kill to its path leaving the FIB, ms.
    pub node_kill_ms: u64,
    /// Killing the node: why FRR says the session went down.
    pub node_kill_frr_reset: String,
    /// Killing the node: failed and total client probes until things settled.
    pub node_kill_http: (usize, usize),
    /// Killing the node: from the first to the last failed probe, ms after the kill.
    pub node_kill_failures: Option<(i64, i64)>,
    /// Failed and total client probes in flight outside the kills' windows (HAProxy's and the
    /// node's: from the kill to its FIB change plus 2 s; the API server's: the instant it
    /// died) and the instant the restarted HAProxy's path came back.
    pub other_http: (usize, usize),
    /// SIGTERM: from the signals to both VIPs gone from the FIB, ms.
    pub stop_ms: u64,
    /// SIGTERM, per live node.
    pub stopped: Vec<Stopped>,
}

/// The client's HTTP probes after a kill: failed and sent, and the first and last failure in
/// ms after the kill.
type ProbeFailures = ((usize, usize), Option<(i64, i64)>);

/// A stretch of the run, from and to in ms since the start.
type Window = (i64, i64);

/// Runs the whole L3 scenario; every check that fails returns an error (after which
/// everything is cleaned up). Returns the measurements and the timeline.
pub fn run(opts: Options) -> Result<(L3Report, Timeline), String> {
    need_tools()?;
    if !opts.bmnet.exists() {
        return Err(format!("{} does not exist: build it with `cargo build --release`", opts.bmnet.display()));
    }
    let mut c = Cluster::new(opts)?;
    let result = scenario(&mut c);
    c.failed = result.is_err() && !c.opts.stop.load(Ordering::SeqCst);
    result
}

fn scenario(c: &mut Cluster) -> Result<(L3Report, Timeline), String> {
    let mut r = L3Report::default();
    c.say(&format!("cluster in a box, L3 mode: namespaces {}-*, scratch directory {}", c.tag, c.dir.display()));
    let router = c.build_l3(&mut r)?;
    c.start_frr(router)?;
    c.check_stop()?;
    c.start_watcher();
    for i in 0..c.nodes.len() {
        if c.nodes[i].role == Role::Master {
            c.start_backend(i)?;
        }
    }
    for i in 0..c.nodes.len() {
        c.start_haproxy(i)?;
    }
    c.say(
        "HAProxy runs on every node: on the masters OpenShift's API load balancer (:9445 -> the three API server \
         stand-ins on :6443, in subnets A and B), on the workers the router's stand-in (:80, /healthz and \
         /healthz/ready on :1936)",
    );
    let started = c.start_bgp()?;
    c.converge_l3(&mut r, started)?;
    c.check_http_l3(&mut r)?;
    c.inspect_l3(BACKEND_KILL)?;
    c.start_prober()?;
    c.sleep(Duration::from_millis(600))?;
    let window_from = c.ms_since_start(unix_ms()) - 500;
    let backend = c.l3_backend_kill(&mut r)?;
    let (haproxy, back) = c.l3_haproxy_kill(&mut r)?;
    let node = c.l3_node_kill(&mut r)?;
    c.sleep(Duration::from_millis(300))?;
    // The client's probes outside the kills' windows and the path's return never failed.
    c.prober.take();
    let probes_to = c.ms_since_start(unix_ms());
    let outside: Vec<Event> = c
        .probes()
        .into_iter()
        .filter(|e| e.kind == "http" && e.t_ms >= window_from && e.t_ms <= probes_to)
        // A probe in flight when a kill landed (started before it, ended after) is the kill's
        // (for the API server only the instant it died: HAProxy, in TCP mode, cannot retry a
        // connection its server had accepted; after it, HAProxy redispatches and nothing may
        // fail); one in flight while the path came back is the return's (counted apart).
        .filter(|e| ![backend, haproxy, back, node].iter().any(|w| in_flight(e, *w)))
        .collect();
    r.other_http = (outside.iter().filter(|e| e.ok != Some(true)).count(), outside.len());
    c.say(&format!(
        "check: outside the kills' windows and the path's return {} of {} client probes failed",
        r.other_http.0, r.other_http.1
    ));
    if r.other_http.0 > 0 {
        let failed: Vec<String> =
            outside.iter().filter(|e| e.ok != Some(true)).map(|e| format!("{} ms: {}", e.t_ms, e.detail)).collect();
        return Err(format!("client probes failed outside the kills' windows: {failed:?}"));
    }
    c.l3_stop(&mut r)?;
    c.sleep(Duration::from_millis(600))?;
    let window_to = c.ms_since_start(unix_ms());
    c.watcher.take();
    let mut tl = c.timeline((window_from, window_to));
    tl.summary = summary(&r);
    Ok((r, tl))
}

/// `ms` as seconds for the text.
fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

/// Whether HTTP probe `e` was in flight at some instant of `[from, to]` (ms since the start).
/// A probe's `t_ms` is when it was due; its thread may start a little later, hence the slack.
fn in_flight(e: &Event, (from, to): Window) -> bool {
    const SLACK_MS: i64 = 50;
    let ended = e.t_ms + e.ms.unwrap_or(0.0).ceil() as i64 + SLACK_MS;
    ended >= from && e.t_ms <= to
}

/// The first and last failed probe, as text.
fn failures(span: Option<(i64, i64)>) -> String {
    span.map_or_else(|| "none failed".into(), |(a, b)| format!("failures from {a} to {b} ms after the kill"))
}

/// The report as a few lines of text.
pub fn summary(r: &L3Report) -> Vec<String> {
    let subnets: Vec<String> = r.subnets.iter().map(|(n, p, who)| format!("{n} {p} {}", who.join(" "))).collect();
    let (bf, bt) = r.backend_kill_http;
    let (hf, ht) = r.haproxy_kill_http;
    let (nf, nt) = r.node_kill_http;
    vec![
        format!(
            "subnets: {}; every path converged {} after the daemons started",
            subnets.join("; "),
            secs(r.converge_ms)
        ),
        format!(
            "API server killed on {BACKEND_KILL}: all three masters stayed in the FIB (HAProxy still had two API \
             servers); {bf} of {bt} HTTP probes failed"
        ),
        format!(
            "HAProxy killed on {HAPROXY_KILL}: its path left the FIB in {} (chk_ocp_lb failing {API_FALL} times, \
             every {SCRIPT_INTERVAL} s, then the withdrawal); {hf} of {ht} probes failed ({}); back {} after the restart",
            secs(r.haproxy_kill_ms),
            failures(r.haproxy_kill_failures),
            secs(r.haproxy_back_ms)
        ),
        format!(
            "node {NODE_KILL} killed: its path left the FIB in {} (FRR: {}; hold time {HOLD_TIME} s); {nf} of {nt} \
             probes failed ({})",
            secs(r.node_kill_ms),
            r.node_kill_frr_reset,
            failures(r.node_kill_failures)
        ),
        format!(
            "probes in flight while {HAPROXY_KILL}'s path came back: {} of {} failed (a joining path may move a flow)",
            r.haproxy_back_http.0, r.haproxy_back_http.1
        ),
        format!(
            "probes outside those windows: {} of {} failed; SIGTERM: both VIPs left the FIB in {}, every bmnet \
             withdrew before its Cease and exited 0",
            r.other_http.0,
            r.other_http.1,
            secs(r.stop_ms)
        ),
    ]
}

impl Cluster {
    fn router(&self) -> &Router {
        self.router.as_deref().expect("the L3 box has a router")
    }

    /// The router namespace with a bridge per subnet, the nodes and the client on them.
    fn build_l3(&mut self, r: &mut L3Report) -> Result<Netns, String> {
        // The client's namespace first: without root this fails with the reason, not a panic.
        let client = self.client_ns.clone();
        self.netns(&client)?;
        let router = Netns::new("cibl3r");
        let rns = router.name.clone();
        // Forward; hash flows on their ports so that one client spreads over every path; no
        // reverse-path filter in the way of the ECMP route's return traffic.
        for s in [
            "net.ipv4.ip_forward=1",
            "net.ipv4.fib_multipath_hash_policy=1",
            "net.ipv4.conf.all.rp_filter=0",
            "net.ipv4.conf.default.rp_filter=0",
        ] {
            let o = self.exec(&rns, &["sysctl", "-qw", s])?;
            if !o.status.success() {
                return Err(format!("sysctl {s} in {rns}: {}", text(&o)));
            }
        }
        for (name, prefix) in SUBNETS {
            let br = format!("br-{}", name.to_lowercase());
            ip(&["-n", &rns, "link", "add", &br, "type", "bridge"])?;
            ip(&["-n", &rns, "addr", "add", &format!("{prefix}.1/24"), "dev", &br])?;
            ip(&["-n", &rns, "link", "set", &br, "up"])?;
            r.subnets.push((name.into(), format!("{prefix}.0/24"), Vec::new()));
        }
        let attach = |ns: &str, port: &str, subnet: usize, host: &str| -> Result<(), String> {
            let (name, prefix) = SUBNETS[subnet];
            let br = format!("br-{}", name.to_lowercase());
            ip(&["link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", &rns])?;
            ip(&["-n", &rns, "link", "set", port, "master", &br, "up"])?;
            ip(&["-n", ns, "addr", "add", &format!("{host}/24"), "dev", "eth0"])?;
            ip(&["-n", ns, "link", "set", "eth0", "up"])?;
            ip(&["-n", ns, "route", "add", "default", "via", &format!("{prefix}.1")])?;
            Ok(())
        };
        for (name, role, subnet, host) in NODES {
            let ns = format!("{}-{name}", self.tag);
            self.netns(&ns)?;
            let addr = format!("{}.{host}", SUBNETS[subnet].1);
            attach(&ns, &format!("{}{}", &name[..1], &name[name.len() - 1..]), subnet, &addr)?;
            r.subnets[subnet].2.push(name.into());
            self.nodes.push(Node::new(name, role, ns, addr, String::new(), &self.dir)?);
        }
        attach(&client, "cl", 3, CLIENT)?;
        r.subnets[3].2.push("client".into());
        self.say(&format!(
            "topology: router namespace {rns} with a bridge per subnet ({}); masters 0-1 in A, master-2 in B, the \
             workers in C, the client ({CLIENT}) in D; no two subnets share a segment",
            SUBNETS.iter().map(|(n, p)| format!("{n} {p}.0/24")).collect::<Vec<_>>().join(", ")
        ));
        Ok(router)
    }

    /// FRR in the router namespace: one eBGP neighbour per node with BFD (a profile of
    /// 100 ms x 3) and a hold time of 9 s, ECMP over up to 8 paths.
    fn start_frr(&mut self, router: Netns) -> Result<(), String> {
        let mut bgpd = format!(
            "frr defaults traditional
router bgp {ROUTER_ASN}
 bgp router-id {}.1
 no bgp ebgp-requires-policy
 neighbor NODES peer-group
 neighbor NODES remote-as {NODE_ASN}
 neighbor NODES timers {} {HOLD_TIME}
 neighbor NODES bfd
 neighbor NODES bfd profile fast
",
            SUBNETS[3].1,
            HOLD_TIME / 3
        );
        for n in &self.nodes {
            let _ = writeln!(bgpd, " neighbor {} peer-group NODES", n.ip);
        }
        bgpd.push_str(" address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n");
        let bfdd = format!(
            "bfd\n profile fast\n  receive-interval {BFD_MS}\n  transmit-interval {BFD_MS}\n  detect-multiplier \
             {BFD_MULTIPLIER}\n !\n!\n"
        );
        let frr = Frr::start_with_bfdd(&router, &bgpd, Some(&bfdd));
        self.say(&format!(
            "router: FRR's zebra, bgpd and bfdd (AS {ROUTER_ASN}), bgpd.conf:\n{}",
            bgpd.lines().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        self.router = Some(Arc::new(Router { lab: Lab { router, nodes: Vec::new() }, frr }));
        Ok(())
    }

    /// A node's bgpVIPConfig-shaped file: one peer (its subnet's gateway), its VIP gated on
    /// OpenShift's checks.
    fn bgp_yaml(n: &Node) -> String {
        let gateway = format!("{}.1", n.ip.rsplit_once('.').map_or("", |(p, _)| p));
        let (checks, vip) = match n.role {
            Role::Master => (
                vec![("chk_ocp_lb", "/usr/bin/curl -o /dev/null -kLfs http://localhost:9444/haproxy_ready", API_FALL)],
                API_VIP,
            ),
            Role::Worker => (
                vec![
                    ("chk_ingress", "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz", INGRESS_FALL),
                    (
                        "chk_ingress_ready",
                        "/usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz/ready",
                        INGRESS_FALL,
                    ),
                ],
                INGRESS_VIP,
            ),
        };
        let mut yaml = format!(
            "# {name}: bgpVIPConfig-shaped; timers scaled down as in the L2 box.
localASN: {NODE_ASN}
routerID: {ip}
peers:
  - peerAddress: {gateway}
    peerASN: {ROUTER_ASN}
    bfdEnabled: \"true\"
    bfdReceiveInterval: {BFD_MS}ms
    bfdTransmitInterval: {BFD_MS}ms
    bfdMultiplier: {BFD_MULTIPLIER}
    holdTime: {HOLD_TIME}s
    keepaliveTime: {keepalive}s
    connectRetry: 1s
scriptUser: root
enableScriptSecurity: true
checks:
",
            name = n.name,
            ip = n.ip,
            keepalive = HOLD_TIME / 3,
        );
        for (name, script, fall) in &checks {
            let _ = write!(
                yaml,
                "  - name: {name}\n    script: {script}\n    interval: {SCRIPT_INTERVAL}s\n    timeout: \
                 {SCRIPT_TIMEOUT}s\n    rise: 3\n    fall: {fall}\n"
            );
        }
        let names: Vec<&str> = checks.iter().map(|(name, _, _)| *name).collect();
        let _ = write!(yaml, "vips:\n  - address: {vip}\n    checks: [{}]\n", names.join(", "));
        yaml
    }

    /// Starts `bmnet bgp run` on every node; returns when it started the first.
    fn start_bgp(&mut self) -> Result<Instant, String> {
        let started = Instant::now();
        for i in 0..self.nodes.len() {
            let path = self.nodes[i].root.join("etc/bmnet/bgp.yaml");
            write(&path, &Self::bgp_yaml(&self.nodes[i]))?;
            let path_s = path.display().to_string();
            let check = self.bmnet(&["bgp", "check-config", &path_s])?;
            if !check.status.success() {
                return Err(format!(
                    "{}: bmnet bgp check-config refuses {path_s}:\n{}",
                    self.nodes[i].name,
                    text(&check)
                ));
            }
            let bmnet = self.bmnet_path();
            let status = self.nodes[i].root.join("run/bmnet");
            let p =
                self.spawn(Some(i), "bgp", &[&bmnet, "--json", "bgp", "run", "--config", &path_s], Some(&status))?;
            self.nodes[i].procs.insert("bgp", p);
        }
        self.say(&format!(
            "BGP: `bmnet --json bgp run --config bgp.yaml` on every node (`bmnet bgp check-config` passed); \
             master-2's and worker-0's files:\n{}",
            [2, 3]
                .iter()
                .flat_map(|&i| Self::bgp_yaml(&self.nodes[i])
                    .lines()
                    .map(|l| format!("           | {l}"))
                    .collect::<Vec<_>>())
                .collect::<Vec<_>>()
                .join("\n")
        ));
        Ok(started)
    }

    /// The nodes whose VIP should be in the FIB: alive, `bmnet bgp run` and HAProxy running.
    fn healthy(&self) -> HolderSets {
        let pick = |role: Role| {
            self.nodes
                .iter()
                .filter(|n| n.role == role && !n.dead && n.procs.contains_key("bgp") && n.procs.contains_key("haproxy"))
                .map(|n| n.name.clone())
                .collect::<Vec<_>>()
        };
        (pick(Role::Master), pick(Role::Worker))
    }

    /// Waits until the router's FIB has exactly `want`; how long after `since` it did.
    fn wait_fib(&self, want: &HolderSets, since: Instant, limit: Duration) -> Result<Duration, String> {
        loop {
            let fib = self.fib()?;
            if fib == *want {
                return Ok(since.elapsed());
            }
            if since.elapsed() > limit {
                return Err(format!(
                    "the router's FIB has the API VIP via {:?} and the ingress VIP via {:?}, not {:?} and {:?}, \
                     after {limit:?}\n{}",
                    fib.0,
                    fib.1,
                    want.0,
                    want.1,
                    self.bgp_logs()
                ));
            }
        }
    }

    /// Records the FIB as phase `name`, after checking it is what the healthy nodes announce.
    fn phase(&self, r: &mut L3Report, name: &str) -> Result<(), String> {
        let want = self.healthy();
        self.wait_fib(&want, Instant::now(), Duration::from_secs(30))?;
        let t_ms = self.ms_since_start(unix_ms());
        self.say(&format!(
            "check ({name}): the router's FIB has the API VIP via {:?}, the ingress VIP via {:?}: the healthy nodes",
            want.0, want.1
        ));
        r.phases.push(Phase { name: name.into(), t_ms, api: want.0, ingress: want.1 });
        Ok(())
    }

    fn converge_l3(&self, r: &mut L3Report, started: Instant) -> Result<(), String> {
        let took = self.wait_fib(&self.healthy(), started, Duration::from_secs(60))?;
        r.converge_ms = took.as_millis() as u64;
        // FRR's side of every session: BGP up with the 9 s hold time, BFD up at 100 ms x 3.
        let frr = &self.router().frr;
        let limit = Instant::now() + Duration::from_secs(30);
        loop {
            let bfd = frr.json("show bfd peers json");
            let ms = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or(0);
            r.sessions = self
                .nodes
                .iter()
                .map(|n| {
                    let peer = bfd.as_array().into_iter().flatten().find(|p| p["peer"] == n.ip.as_str());
                    let nb = frr.json(&format!("show bgp neighbor {} json", n.ip));
                    let nb = &nb[n.ip.as_str()];
                    let peer = peer.cloned().unwrap_or_default();
                    Session {
                        node: n.name.clone(),
                        bgp: nb["bgpState"].as_str().unwrap_or("?").into(),
                        hold_ms: ms(nb, "bgpTimerHoldTimeMsecs"),
                        bfd: peer["status"].as_str().unwrap_or("none").into(),
                        bfd_local: (
                            ms(&peer, "transmit-interval"),
                            ms(&peer, "receive-interval"),
                            ms(&peer, "detect-multiplier"),
                        ),
                        bfd_remote: (
                            ms(&peer, "remote-transmit-interval"),
                            ms(&peer, "remote-receive-interval"),
                            ms(&peer, "remote-detect-multiplier"),
                        ),
                    }
                })
                .collect();
            let want = (BFD_MS, BFD_MS, BFD_MULTIPLIER);
            let ok = |s: &Session| {
                s.bgp == "Established"
                    && s.hold_ms == HOLD_TIME * 1000
                    && s.bfd == "up"
                    && s.bfd_local == want
                    && s.bfd_remote == want
            };
            if r.sessions.iter().all(ok) {
                break;
            }
            if Instant::now() > limit {
                return Err(format!(
                    "FRR's sessions are not all up at 100 ms x 3: {:?}\n{}",
                    r.sessions,
                    self.bgp_logs()
                ));
            }
            self.sleep(Duration::from_millis(200))?;
        }
        self.say(&format!(
            "check: the router's FIB has every master for the API VIP and every worker for the ingress VIP {:.2} s \
             after the daemons started; FRR: {} sessions Established (hold time {HOLD_TIME} s), BFD up at \
             {BFD_MS} ms x {BFD_MULTIPLIER} both ways",
            took.as_secs_f64(),
            r.sessions.len()
        ));
        let bgp = self.router().frr.vtysh(&format!("show ip route {API_VIP}/32"));
        self.say(&format!(
            "router: `show ip route {API_VIP}/32`:\n{}",
            bgp.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| format!("           | {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        self.phase(r, "converged")
    }

    fn check_http_l3(&self, r: &mut L3Report) -> Result<(), String> {
        // Each master's HAProxy balances on its own: the three show up within a few rounds.
        r.backends_seen = self.answering(&format!("http://{API_VIP}:{API_LB_PORT}/"), 30, 3)?;
        r.ingress_seen = self.answering(&format!("http://{INGRESS_VIP}/"), 30, 2)?;
        if r.backends_seen.0.len() != 3 {
            return Err(format!(
                "30 requests through the API VIP reached {:?}, not all three API servers",
                r.backends_seen.0
            ));
        }
        if r.ingress_seen.0.len() != 2 {
            return Err(format!("30 requests to the ingress VIP reached {:?}, not both workers", r.ingress_seen.0));
        }
        self.say(&format!(
            "check: from the client in subnet D, HTTP through the API VIP reached every API server {:?} ({} requests), \
             the ingress VIP both workers' routers {:?} ({} requests): the router spreads flows over the paths",
            r.backends_seen.0, r.backends_seen.1, r.ingress_seen.0, r.ingress_seen.1
        ));
        Ok(())
    }

    /// `bmnet inspect` on `node` shows its BGP session and its VIP.
    fn inspect_l3(&self, node: &str) -> Result<(), String> {
        let n = self.node(node);
        let status = format!("BMNET_STATUS_DIR={}", n.root.join("run/bmnet").display());
        let o = self.exec(&n.ns, &["env", &status, &self.bmnet_path(), "inspect"])?;
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let bgp: Vec<&str> =
            out.lines().skip_while(|l| !l.starts_with("BGP (bmnet bgp run")).take_while(|l| !l.is_empty()).collect();
        let session = format!("peer {} AS {ROUTER_ASN}: Established", self.gateway(n));
        let vip = format!("VIP {API_VIP}/32: announced");
        if !bgp.iter().any(|l| l.contains(&session)) || !bgp.iter().any(|l| l.contains(&vip)) {
            return Err(format!("{node}: bmnet inspect does not show {session:?} and {vip:?}:\n{out}{}", text(&o)));
        }
        self.say(&format!(
            "check: `bmnet inspect` on {node}:\n{}",
            bgp.iter().map(|l| format!("           | {l}")).collect::<Vec<_>>().join("\n")
        ));
        Ok(())
    }

    fn gateway(&self, n: &Node) -> String {
        format!("{}.1", n.ip.rsplit_once('.').map_or("", |(p, _)| p))
    }

    /// The HTTP probes in `[from, to]`: failed, total, and the first and last failure relative
    /// to `from`.
    fn probe_failures(&self, from: i64, to: i64) -> ProbeFailures {
        let (failed, total, _) = self.http_window(from, to);
        let times: Vec<i64> = self
            .probes()
            .into_iter()
            .filter(|e| e.kind == "http" && e.t_ms >= from && e.t_ms <= to && e.ok != Some(true))
            .map(|e| e.t_ms - from)
            .collect();
        ((failed, total), times.first().zip(times.last()).map(|(a, b)| (*a, *b)))
    }

    /// After a kill at `t` whose FIB change is done: HTTP through the VIP works, the client's
    /// probes until `settled` (waited for), the FIB recorded as phase `name`. Returns the
    /// probes failed and sent since the kill, and the first and last failure.
    fn after_kill(&self, r: &mut L3Report, (t, settled): (i64, i64), name: &str) -> Result<ProbeFailures, String> {
        let (body, again) = self.curl_until(&format!("http://{API_VIP}:{API_LB_PORT}/"), Duration::from_secs(10))?;
        self.say(&format!("check: HTTP through the VIP works: {body:?} ({:.2} s later)", again.as_secs_f64()));
        self.sleep(Duration::from_millis((settled - self.ms_since_start(unix_ms())).max(0) as u64))?;
        let (http, span) = self.probe_failures(t, settled);
        self.say(&format!("client: {} of {} probes failed after the kill ({})", http.0, http.1, failures(span)));
        self.phase(r, name)?;
        Ok((http, span))
    }

    /// Kills the API server stand-in on [`BACKEND_KILL`] and restarts it; the instant it died
    /// (from before the signal to after the wait for its exit), ms.
    fn l3_backend_kill(&mut self, r: &mut L3Report) -> Result<Window, String> {
        let node = BACKEND_KILL;
        let window = Duration::from_secs_f64(SCRIPT_INTERVAL * f64::from(API_FALL + 2)) + Duration::from_secs(1);
        self.step(node, &format!("kill the API server stand-in on {node}"), &format!("kill API server on {node}"));
        let before = self.ms_since_start(unix_ms());
        let t = self.kill_proc(node, "apiserver")?;
        let want = self.healthy();
        let start = Instant::now();
        while start.elapsed() < window {
            let fib = self.fib()?;
            if fib != want {
                return Err(format!("the FIB changed to {fib:?} when only {node}'s API server died"));
            }
            self.sleep(Duration::from_millis(50))?;
        }
        let died = (before, t);
        let (http, _) = self.probe_failures(before, t + window.as_millis() as i64);
        r.backend_kill_http = http;
        self.say(&format!(
            "check: every master stayed in the FIB for {:.1} s (longer than {API_FALL} failed checks): HAProxy on \
             {node} still answers with the other two API servers, chk_ocp_lb passes; client probes: {} of {} failed",
            window.as_secs_f64(),
            http.0,
            http.1
        ));
        self.phase(r, &format!("API server killed on {node}"))?;
        let i = self.idx(node);
        self.start_backend(i)?;
        self.step(node, &format!("restart the API server stand-in on {node}"), "restart it");
        Ok(died)
    }

    /// Kills HAProxy on [`HAPROXY_KILL`] and restarts it; the window in which failed probes
    /// are this kill's, and the one in which the path came back, ms.
    fn l3_haproxy_kill(&mut self, r: &mut L3Report) -> Result<(Window, Window), String> {
        let node = HAPROXY_KILL;
        self.step(node, &format!("kill HAProxy on {node} (alone in subnet B)"), &format!("kill HAProxy on {node}"));
        let started = Instant::now();
        let t = self.kill_proc(node, "haproxy")?;
        let took = self.wait_fib(&self.healthy(), started, Duration::from_secs(15))?;
        r.haproxy_kill_ms = took.as_millis() as u64;
        let settled = self.ms_since_start(unix_ms()) + SETTLE_MS;
        let withdrawn = self.bgp_events().into_iter().any(|e| {
            e.kind == "bgp"
                && e.node == node
                && e.t_ms >= t
                && e.detail.contains("-> WITHDRAWN (check_failing chk_ocp_lb")
        });
        if !withdrawn {
            return Err(format!("{node} did not log its VIP withdrawn for chk_ocp_lb\n{}", self.bgp_logs()));
        }
        self.say(&format!(
            "check: {node}'s path left the router's FIB {:.3} s after HAProxy died (chk_ocp_lb fails {API_FALL} times \
             every {SCRIPT_INTERVAL} s, `bmnet bgp run` withdraws, the router drops the path): ECMP over {:?}",
            took.as_secs_f64(),
            self.healthy().0
        ));
        (r.haproxy_kill_http, r.haproxy_kill_failures) =
            self.after_kill(r, (t, settled), &format!("HAProxy killed on {node}"))?;
        let i = self.idx(node);
        self.start_haproxy(i)?;
        let started = Instant::now();
        self.step(node, &format!("restart HAProxy on {node}"), "restart it");
        let back = self.wait_fib(&self.healthy(), started, Duration::from_secs(15))?;
        r.haproxy_back_ms = back.as_millis() as u64;
        let rejoin = self.fib_changed().ok_or("the watcher saw no FIB change")?;
        self.say(&format!(
            "check: {node}'s path is back in the FIB {:.3} s after HAProxy answered again (chk_ocp_lb passes {} \
             times)",
            back.as_secs_f64(),
            3
        ));
        self.phase(r, &format!("HAProxy restarted on {node}"))?;
        let in_window: Vec<Event> =
            self.probes().into_iter().filter(|e| e.kind == "http" && in_flight(e, rejoin)).collect();
        r.haproxy_back_http = (in_window.iter().filter(|e| e.ok != Some(true)).count(), in_window.len());
        self.say(&format!(
            "client: {} of {} probes in flight while the path came back ({} to {} ms) failed (ECMP moves flows \
             between paths when one joins; a connection open across it is reset)",
            r.haproxy_back_http.0, r.haproxy_back_http.1, rejoin.0, rejoin.1
        ));
        Ok(((t, settled), rejoin))
    }

    /// Kills [`NODE_KILL`]; the window in which failed probes are this kill's, ms.
    fn l3_node_kill(&mut self, r: &mut L3Report) -> Result<(i64, i64), String> {
        let node = NODE_KILL;
        let i = self.idx(node);
        self.step(
            node,
            &format!(
                "kill node {node}: its link down (nothing it sends gets out; subnet A's bridge stays up), every \
                 process SIGKILLed"
            ),
            &format!("kill node {node}"),
        );
        let started = Instant::now();
        let t_unix = self.kill_node(i, &["eth0"])?;
        let t = t_unix - self.t0_unix;
        let took = self.wait_fib(&self.healthy(), started, Duration::from_secs(30))?;
        r.node_kill_ms = took.as_millis() as u64;
        let settled = self.ms_since_start(unix_ms()) + SETTLE_MS;
        r.node_kill_frr_reset = self.frr_reset(&self.nodes[i].ip).1;
        self.say(&format!(
            "check: {node}'s path left the router's FIB {:.3} s after the node died; FRR: {:?} (BFD {BFD_MS} ms x \
             {BFD_MULTIPLIER}; the hold time, {HOLD_TIME} s, would have taken far longer)",
            took.as_secs_f64(),
            r.node_kill_frr_reset
        ));
        (r.node_kill_http, r.node_kill_failures) = self.after_kill(r, (t, settled), &format!("node {node} killed"))?;
        Ok((t, settled))
    }

    /// SIGTERM to every live `bmnet bgp run`: each withdraws its VIP, sends a Cease and exits 0.
    fn l3_stop(&mut self, r: &mut L3Report) -> Result<(), String> {
        let live: Vec<usize> = (0..self.nodes.len()).filter(|&i| !self.nodes[i].dead).collect();
        let updates = |c: &Cluster, ip: &str| {
            let v = c.router().frr.json(&format!("show bgp neighbor {ip} json"));
            v[ip]["messageStats"]["updatesRecv"].as_i64().unwrap_or(0)
        };
        let before: Vec<i64> = live.iter().map(|&i| updates(self, &self.nodes[i].ip)).collect();
        self.step("", "SIGTERM to `bmnet bgp run` on every live node", "SIGTERM to all");
        let started = Instant::now();
        let mut procs = Vec::new();
        for &i in &live {
            let p = self.nodes[i].procs.remove("bgp").ok_or(format!("{} runs no bgp", self.nodes[i].name))?;
            let _ = Command::new("kill").args(["-TERM", &p.child.id().to_string()]).output();
            procs.push((i, p));
        }
        let mut exits = Vec::new();
        for (i, mut p) in procs {
            let limit = Instant::now() + Duration::from_secs(15);
            let status = loop {
                if let Ok(Some(status)) = p.child.try_wait() {
                    break Some(status);
                }
                if Instant::now() > limit {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            exits.push(status.is_some_and(|s| s.success()));
            self.nodes[i].old.push(p);
        }
        let took = self.wait_fib(&(Vec::new(), Vec::new()), started, Duration::from_secs(15))?;
        r.stop_ms = took.as_millis() as u64;
        let logs = self.json_logs("bgp");
        for (k, &i) in live.iter().enumerate() {
            let n = &self.nodes[i];
            let lines: Vec<&serde_json::Value> =
                logs.iter().filter(|(node, _, _)| *node == n.name).map(|(_, _, v)| v).collect();
            let withdrawn = lines.iter().position(|v| {
                v["type"] == "bgp_vip" && v["event"]["kind"] == "withdrawn" && v["event"]["reason"]["kind"] == "stopped"
            });
            let cease = lines.iter().position(|v| {
                v["type"] == "bgp_peer"
                    && v["event"]["kind"]["event"]["event"] == "notification_sent"
                    && v["event"]["kind"]["event"]["notification"]["code"]["code"] == "cease"
            });
            let lo = ip(&["-n", &n.ns, "-j", "addr", "show", "dev", "lo"])?;
            let (frr_state, frr_reset) = self.frr_reset(&n.ip);
            r.stopped.push(Stopped {
                node: n.name.clone(),
                exit_ok: exits[k],
                withdrawn_before_cease: withdrawn.zip(cease).is_some_and(|(w, c)| w < c),
                cease_sent: cease.is_some(),
                vip_off_lo: !lo.contains(&format!("\"{API_VIP}\"")) && !lo.contains(&format!("\"{INGRESS_VIP}\"")),
                frr_state,
                frr_reset,
                frr_updates: updates(self, &n.ip) - before[k],
            });
        }
        let bad: Vec<&Stopped> = r
            .stopped
            .iter()
            .filter(|s| !(s.exit_ok && s.withdrawn_before_cease && s.vip_off_lo && s.frr_state != "Established"))
            .collect();
        if !bad.is_empty() {
            return Err(format!("SIGTERM did not withdraw cleanly: {bad:?}\n{}", self.bgp_logs()));
        }
        self.say(&format!(
            "check: both VIPs left the router's FIB {:.3} s after SIGTERM; every `bmnet bgp run` logged its VIP \
             withdrawn before the Cease it sent, took it off lo and exited 0; FRR:\n{}",
            took.as_secs_f64(),
            r.stopped
                .iter()
                .map(|s| format!("           | {}: {}, {} UPDATE(s) after SIGTERM", s.node, s.frr_reset, s.frr_updates))
                .collect::<Vec<_>>()
                .join("\n")
        ));
        self.phase(r, "SIGTERM")
    }

    /// What `bmnet bgp run --json` logged on every node: announcements and withdrawals as
    /// `bgp` events (`<VIP> -> ANNOUNCED`), session and BFD changes as `bgp-session`.
    pub(super) fn bgp_events(&self) -> Vec<Event> {
        let mut out = Vec::new();
        for (node, t_ms, v) in self.json_logs("bgp") {
            let e = &v["event"];
            let s = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
            let (kind, detail) = match (s(&v["type"]).as_str(), s(&e["kind"]).as_str()) {
                ("bgp_vip", "announced") => ("bgp", format!("{} -> ANNOUNCED", s(&e["prefix"]))),
                ("bgp_vip", "withdrawn") => {
                    let check = e["reason"]["check"].as_str().map_or_else(String::new, |c| format!(" {c}"));
                    ("bgp", format!("{} -> WITHDRAWN ({}{check})", s(&e["prefix"]), s(&e["reason"]["kind"])))
                }
                ("bgp_peer", _) => {
                    let (what, ev) = (s(&e["kind"]["kind"]), &e["kind"]["event"]);
                    let detail = match what.as_str() {
                        "session" if ev["event"] == "state_changed" => {
                            format!(
                                "BGP {} -> {} ({})",
                                s(&ev["from"]),
                                s(&ev["to"]).to_uppercase(),
                                s(&ev["reason"]["kind"])
                            )
                        }
                        "bfd" if ev["kind"] == "state_changed" => {
                            format!("BFD {} -> {} ({})", s(&ev["from"]), s(&ev["to"]).to_uppercase(), s(&ev["diag"]))
                        }
                        _ => continue,
                    };
                    ("bgp-session", detail)
                }
                _ => continue,
            };
            out.push(Event { t_ms, kind: kind.into(), node, ok: None, detail, ms: None });
        }
        out
    }

    /// FRR's session with `peer`: its state, and why it last went down (`lastResetDueTo`,
    /// with the NOTIFICATION's reason and shutdown message when there was one).
    fn frr_reset(&self, peer: &str) -> (String, String) {
        let v = self.router().frr.json(&format!("show bgp neighbor {peer} json"));
        let n = &v[peer];
        let s = |k: &str| n[k].as_str().map(str::to_string);
        let mut reset = s("lastResetDueTo").unwrap_or_else(|| "?".into());
        if let Some(why) = s("lastNotificationReason") {
            let message = s("lastShutdownDescription").map_or_else(String::new, |m| format!(", {m:?}"));
            let _ = write!(reset, " ({why}{message})");
        }
        (s("bgpState").unwrap_or_else(|| "?".into()), reset)
    }

    /// Every node's `bmnet bgp run` log and FRR's view, for a failure message.
    fn bgp_logs(&self) -> String {
        let mut s: String = self
            .nodes
            .iter()
            .flat_map(|n| n.logs("bgp").map(move |p| format!("--- {}\n{}\n", n.name, p.log())))
            .collect();
        if let Some(r) = &self.router {
            let _ = write!(s, "--- FRR\n{}\n{}", r.frr.vtysh("show bgp summary"), r.frr.vtysh("show bfd peers brief"));
        }
        s
    }
}
