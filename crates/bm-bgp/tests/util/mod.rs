//! What the FRR interop tests share: a router namespace with FRR's daemons, node namespaces
//! on its bridge, speakers running in them, and waiting with a limit.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods, dead_code)]

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bm_bgp::{
    Announcer, AnnouncerCommand, AnnouncerEvent, Config, Family, PeerConfig, Speaker, SpeakerEvent, SpeakerEventKind,
    SpeakerHandle, VipConfig,
};
use bm_check::process::{CheckScript, ScriptPolicy, resolve_script};
use bm_check::{CheckConfig, ScriptUser};
use bm_testkit::Netns;
use serde_json::Value;

pub(crate) const BGPD: &str = "/usr/lib/frr/bgpd";
pub(crate) const ZEBRA: &str = "/usr/lib/frr/zebra";
pub(crate) const BFDD: &str = "/usr/lib/frr/bfdd";
/// Generous: FRR and the speakers need seconds; a loaded CI machine more.
pub(crate) const LIMIT: Duration = Duration::from_secs(90);

pub(crate) fn require_frr() {
    for path in [BGPD, ZEBRA, "/usr/bin/vtysh"] {
        assert!(Path::new(path).exists(), "FRR is missing ({path}): install it with `apt-get install -y frr`");
    }
}

/// A router namespace with a bridge `br0` (10.0.0.1/24, fd00::1/64) and `n` node namespaces,
/// node k (1-based) at 10.0.0.1k and fd00::1k on its `eth0`.
pub(crate) struct Lab {
    pub(crate) router: Netns,
    pub(crate) nodes: Vec<Netns>,
}

impl Lab {
    pub(crate) fn new(tag: &str, n: usize) -> Lab {
        let router = Netns::new(&format!("{tag}r"));
        router.sysctl("net.ipv6.conf.all.forwarding", "1");
        router.ip(&["link", "add", "br0", "type", "bridge"]);
        router.ip(&["addr", "add", "10.0.0.1/24", "dev", "br0"]);
        router.ip(&["addr", "add", "fd00::1/64", "dev", "br0", "nodad"]);
        router.ip(&["link", "set", "br0", "up"]);
        let mut nodes = Vec::new();
        for k in 1..=n {
            let node = Netns::new(&format!("{tag}n{k}"));
            let port = format!("r{k}");
            router.ip(&["link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &node.name]);
            router.ip(&["link", "set", &port, "master", "br0", "up"]);
            node.ip(&["addr", "add", &format!("10.0.0.1{k}/24"), "dev", "eth0"]);
            node.ip(&["addr", "add", &format!("fd00::1{k}/64"), "dev", "eth0", "nodad"]);
            node.ip(&["link", "set", "eth0", "up"]);
            nodes.push(node);
        }
        Lab { router, nodes }
    }

    /// The gateways of `prefix` in the router's FIB.
    pub(crate) fn fib_next_hops(&self, prefix: &str) -> BTreeSet<String> {
        let family = if prefix.contains(':') { "-6" } else { "-4" };
        let o = self.router.ip(&[family, "-j", "route", "show", prefix]);
        let routes: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let mut hops = BTreeSet::new();
        for route in routes.as_array().into_iter().flatten() {
            if let Some(g) = route["gateway"].as_str() {
                hops.insert(g.to_string());
            }
            for nh in route["nexthops"].as_array().into_iter().flatten() {
                if let Some(g) = nh["gateway"].as_str() {
                    hops.insert(g.to_string());
                }
            }
        }
        hops
    }
}

/// zebra and bgpd in `ns`, with their files under a directory of their own.
pub(crate) struct Frr {
    pub(crate) dir: PathBuf,
}

impl Frr {
    pub(crate) fn start(ns: &Netns, bgpd_conf: &str) -> Frr {
        Frr::start_with_bfdd(ns, bgpd_conf, None)
    }

    /// zebra, bgpd and, with its configuration, bfdd (bgpd's `neighbor … bfd` goes to it
    /// through zebra).
    pub(crate) fn start_with_bfdd(ns: &Netns, bgpd_conf: &str, bfdd_conf: Option<&str>) -> Frr {
        require_frr();
        if bfdd_conf.is_some() {
            assert!(
                Path::new(BFDD).exists(),
                "FRR's bfdd is missing ({BFDD}): install it with `apt-get install -y frr`"
            );
        }
        let dir = std::env::temp_dir().join(format!("bm-bgp-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("zebra.conf"), "hostname router\n").unwrap();
        let log = dir.join("bgpd.log");
        std::fs::write(dir.join("bgpd.conf"), format!("log file {}\n{bgpd_conf}", log.display())).unwrap();
        if let Some(conf) = bfdd_conf {
            let log = dir.join("bfdd.log");
            std::fs::write(dir.join("bfdd.conf"), format!("log file {}\n{conf}", log.display())).unwrap();
        }
        // The daemons drop to the frr user: it writes its sockets, pid files and log here.
        let chmod = Command::new("chmod").args(["-R", "a+rwX"]).arg(&dir).status().unwrap();
        assert!(chmod.success());
        let d = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let mut daemons = vec![(ZEBRA, "zebra"), (BGPD, "bgpd")];
        if bfdd_conf.is_some() {
            daemons.push((BFDD, "bfdd"));
        }
        for (daemon, conf) in daemons {
            let mut command = ns.command(daemon);
            command.args(["-d", "-N", &ns.name, "-f", &d(&format!("{conf}.conf"))]).args([
                "-z",
                &d("zserv.api"),
                "-i",
                &d(&format!("{conf}.pid")),
                "--vty_socket",
                &d(""),
            ]);
            if conf == "bfdd" {
                // Its control socket, by default /var/run/frr/bfdd.sock, is per namespace here.
                command.args(["--bfdctl", &d("bfdd.sock")]);
            }
            let o = command.output().unwrap();
            assert!(o.status.success(), "{daemon}: {}", String::from_utf8_lossy(&o.stderr));
            let vty = dir.join(format!("{conf}.vty"));
            wait_for(&format!("{daemon}'s vty socket"), Duration::from_secs(30), || {
                if vty.exists() { Ok(()) } else { Err("not yet".into()) }
            });
        }
        let frr = Frr { dir };
        let version = frr.vtysh("show version");
        eprintln!("{}", version.lines().next().unwrap_or("FRR, version unknown"));
        frr
    }

    pub(crate) fn vtysh(&self, command: &str) -> String {
        let o = Command::new("vtysh").arg("--vty_socket").arg(&self.dir).args(["-c", command]).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    pub(crate) fn json(&self, command: &str) -> Value {
        serde_json::from_str(&self.vtysh(command)).unwrap_or(Value::Null)
    }

    /// The state of FRR's session with `peer` (`Established`, `Active`…).
    pub(crate) fn peer_state(&self, peer: &str) -> String {
        let v = self.json(&format!("show bgp neighbor {peer} json"));
        v[peer]["bgpState"].as_str().unwrap_or("unknown").to_string()
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bgpd.log")).unwrap_or_default()
    }
}

impl Drop for Frr {
    fn drop(&mut self) {
        // The namespace's drop kills the daemons; on failure, the log says what FRR saw.
        if std::thread::panicking() {
            eprintln!("--- bgpd.log ---\n{}", self.log());
            if let Ok(log) = std::fs::read_to_string(self.dir.join("bfdd.log")) {
                eprintln!("--- bfdd.log ---\n{log}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A speaker running on a thread inside a node's namespace.
pub(crate) struct Running {
    pub(crate) handle: SpeakerHandle,
    pub(crate) events: Arc<Mutex<Vec<SpeakerEvent>>>,
    /// When each event came, in the same order.
    pub(crate) stamps: Arc<Mutex<Vec<Instant>>>,
    pub(crate) thread: JoinHandle<Speaker>,
}

impl Running {
    pub(crate) fn start(ns: &Netns, peers: Vec<PeerConfig>, announce: &[&str]) -> Running {
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let name = ns.name.clone();
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&events);
        let stamps = Arc::new(Mutex::new(Vec::new()));
        let stamp_log = Arc::clone(&stamps);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                bm_sys::tcp::enter_netns(&path).unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
                let mut speaker = Speaker::new(peers).unwrap();
                tx.send(speaker.handle()).unwrap();
                let start = Instant::now();
                speaker
                    .run(|e| {
                        eprintln!("{name} +{:.3}s: {e:?}", start.elapsed().as_secs_f64());
                        let mut log = log.lock().unwrap();
                        stamp_log.lock().unwrap().push(Instant::now());
                        log.push(e);
                    })
                    .unwrap();
                speaker
            })
            .unwrap();
        let handle = rx.recv().expect("the speaker thread died before running");
        for p in announce {
            handle.announce(p.parse().unwrap()).unwrap();
        }
        Running { handle, events, stamps, thread }
    }

    pub(crate) fn events(&self) -> Vec<SpeakerEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Every event with when it came.
    pub(crate) fn timed(&self) -> Vec<(Instant, SpeakerEvent)> {
        let events = self.events.lock().unwrap();
        let stamps = self.stamps.lock().unwrap();
        stamps.iter().copied().zip(events.iter().cloned()).collect()
    }

    /// The first event `f` accepts, with when it came.
    pub(crate) fn first(&self, f: impl Fn(&SpeakerEventKind) -> bool) -> Option<(Instant, SpeakerEvent)> {
        let events = self.events.lock().unwrap();
        let stamps = self.stamps.lock().unwrap();
        events.iter().zip(stamps.iter()).find(|(e, _)| f(&e.kind)).map(|(e, t)| (*t, e.clone()))
    }

    pub(crate) fn count(&self, f: impl Fn(&SpeakerEventKind) -> bool) -> usize {
        self.events().iter().filter(|e| f(&e.kind)).count()
    }

    pub(crate) fn stop(self, message: &str) -> (Speaker, Vec<SpeakerEvent>) {
        self.handle.stop(Some(message)).unwrap();
        let speaker = self.thread.join().expect("speaker thread");
        let events = self.events.lock().unwrap().clone();
        (speaker, events)
    }
}

/// Checks until `check` succeeds or `limit` passes (then fails with its last complaint);
/// prints how long it took.
pub(crate) fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => {
                eprintln!("{what}: after {:.2}s", start.elapsed().as_secs_f64());
                return v;
            }
            Err(last) if start.elapsed() > limit => panic!("{what}: not after {limit:?}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

pub(crate) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Node `k`'s session to the router: quick retries, one family.
pub(crate) fn node_config(k: usize, local_asn: u32, peer_asn: u32, family: Family) -> Config {
    let mut c = Config::new(local_asn, peer_asn, format!("10.0.0.1{k}").parse().unwrap());
    c.families = vec![family];
    c.connect_retry = Duration::from_secs(2);
    c.idle_hold = Duration::from_secs(1);
    if family == Family::IPV4_UNICAST {
        c.next_hop_v4 = Some(format!("10.0.0.1{k}").parse().unwrap());
    } else {
        c.next_hop_v6 = Some(format!("fd00::1{k}").parse().unwrap());
    }
    c
}

/// The VIP the health-gated tests announce.
pub(crate) const GATED_VIP: &str = "192.0.2.10/32";

/// An announcer on a thread inside `ns` for the VIP `VIP` (192.0.2.10/32) on `lo`, gated by
/// the check `test -e FILE` (every 200 ms, rise and fall 1), driving `speaker`.
pub(crate) struct Gate {
    pub(crate) commands: mpsc::Sender<AnnouncerCommand>,
    pub(crate) events: Arc<Mutex<Vec<AnnouncerEvent>>>,
    pub(crate) thread: JoinHandle<()>,
    healthy: PathBuf,
}

impl Gate {
    pub(crate) fn start(ns: &Netns, speaker: &Running, dir: &Path) -> Gate {
        let healthy = dir.join(format!("{}-healthy", ns.name));
        let script = CheckScript::from_command(
            "api",
            &format!("/usr/bin/test -e {}", healthy.display()),
            Duration::from_millis(200),
            Duration::from_secs(2),
        )
        .unwrap();
        let policy =
            ScriptPolicy { security: false, script_user: Some(ScriptUser { user: "root".into(), group: None }) };
        let resolved = resolve_script(&script.argv, None, &policy).unwrap();
        let mut vip = VipConfig::new(GATED_VIP.parse().unwrap());
        vip.checks.push(CheckConfig { name: "api".into(), weight: 0, rise: 1, fall: 1, reverse: false });
        let handle = speaker.handle.clone();
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let events = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&events);
        let (tx, rx) = mpsc::channel();
        let name = ns.name.clone();
        let thread = std::thread::spawn(move || {
            bm_sys::tcp::enter_netns(&path).unwrap();
            let mut announcer = Announcer::new(vec![vip], vec![(script, resolved)], Some("lo"), handle).unwrap();
            announcer.run(&rx, |e| {
                eprintln!("{name}: {e:?}");
                log.lock().unwrap().push(e);
            });
        });
        Gate { commands: tx, events, thread, healthy }
    }

    pub(crate) fn set_healthy(&self, healthy: bool) {
        if healthy {
            std::fs::write(&self.healthy, "").unwrap();
        } else {
            let _ = std::fs::remove_file(&self.healthy);
        }
    }
}
