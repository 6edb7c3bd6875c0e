//! A VRRP lab for the keepalived interop tests and the failover bench: hosts in network
//! namespaces of their own, joined by a bridge in another, each running keepalived or bmnet,
//! and questions asked of the hosts themselves (`ip -j addr`).
//!
//! Everything the lab creates (namespaces, processes, the scratch directory) is removed on
//! drop, also when a test panics. It only ever touches the namespaces it created.

// Namespaces, processes and scratch files are the point of the lab.
#![allow(clippy::disallowed_methods, dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The keepalived binary (Debian's package).
pub const KEEPALIVED: &str = "/usr/sbin/keepalived";

/// Fails (never skips) when keepalived is missing.
pub fn need_keepalived() {
    let ok = Command::new(KEEPALIVED).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(ok, "{KEEPALIVED} is missing: install it with `apt-get install -y keepalived` (this test needs root)");
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

/// Which daemon a host runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// keepalived 2.2.7.
    Keepalived,
    /// `bmnet vrrp run`.
    Bmnet,
}

/// A running daemon in one host.
pub struct Daemon {
    /// Which.
    pub kind: Kind,
    /// The host index.
    pub host: usize,
    child: Child,
    /// keepalived's parent and VRRP child pid files.
    pids: Option<(PathBuf, PathBuf)>,
    /// Its log.
    pub log: PathBuf,
}

impl Daemon {
    /// The pid of the process sending adverts (keepalived's VRRP child, or bmnet).
    pub fn vrrp_pid(&self) -> Option<u32> {
        match &self.pids {
            None => Some(self.child.id()),
            Some((_, vrrp)) => std::fs::read_to_string(vrrp).ok()?.trim().parse().ok(),
        }
    }

    /// The pid to signal for a graceful stop (keepalived's parent, or bmnet).
    pub fn main_pid(&self) -> u32 {
        match &self.pids {
            None => self.child.id(),
            Some((main, _)) => {
                std::fs::read_to_string(main).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(self.child.id())
            }
        }
    }

    /// Resident memory of every process of the daemon (keepalived: parent and VRRP child), kB.
    pub fn rss_kb(&self) -> u64 {
        let mut pids = vec![self.main_pid()];
        if let Some(v) = self.vrrp_pid().filter(|v| *v != self.main_pid()) {
            pids.push(v);
        }
        pids.iter().map(|p| rss_of(*p)).sum()
    }

    /// Resident memory of the process sending adverts alone, kB.
    pub fn vrrp_rss_kb(&self) -> u64 {
        self.vrrp_pid().map_or(0, rss_of)
    }

    /// Anonymous resident memory (heap, stacks; `RssAnon`) of every process of the daemon, kB.
    pub fn anon_kb(&self) -> u64 {
        let mut pids = vec![self.main_pid()];
        if let Some(v) = self.vrrp_pid().filter(|v| *v != self.main_pid()) {
            pids.push(v);
        }
        pids.iter().map(|p| status_kb(*p, "RssAnon:")).sum()
    }

    /// SIGTERM: the graceful stop (priority 0, VIPs removed), without waiting; returns when
    /// the signal was sent.
    pub fn terminate(&self) -> Instant {
        signal(self.main_pid(), "TERM");
        Instant::now()
    }

    /// Waits for the exit (killing it after 15 s).
    pub fn wait_exit(&mut self) {
        let _ = wait_timeout(&mut self.child, Duration::from_secs(15));
    }

    /// SIGTERM, then waits for the exit.
    pub fn stop(&mut self) {
        self.terminate();
        self.wait_exit();
    }

    /// SIGKILL, as a crash: nothing is sent, the VIPs stay where they are. keepalived's parent
    /// is frozen first so that it neither respawns its VRRP child nor lets it see its death.
    pub fn kill(&mut self) -> Instant {
        let at;
        if self.pids.is_some() {
            let main = self.main_pid();
            let vrrp = self.vrrp_pid();
            signal(main, "STOP");
            if let Some(v) = vrrp {
                signal(v, "KILL");
            }
            at = Instant::now();
            signal(main, "KILL");
        } else {
            signal(self.child.id(), "KILL");
            at = Instant::now();
        }
        let _ = self.child.wait();
        at
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill();
        }
    }
}

fn main_exists(d: &Daemon) -> bool {
    d.pids.as_ref().is_some_and(|(main, _)| main.exists())
}

fn rss_of(pid: u32) -> u64 {
    status_kb(pid, "VmRSS:")
}

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

fn signal(pid: u32, sig: &str) {
    if pid <= 1 {
        return;
    }
    let _ = Command::new("kill").args([&format!("-{sig}"), &pid.to_string()]).output();
}

fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            return child.wait().ok();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The lab: `hosts` namespaces with `eth0` on one bridge.
pub struct Lab {
    /// The unique prefix of every name.
    pub tag: String,
    /// Scratch directory (configs, pid files, logs).
    pub dir: PathBuf,
    /// The IPv4 /24 is 10.`net`.0.0, the IPv6 /64 fd00:`net`::.
    pub net: u8,
    hosts: Vec<String>,
    bridge: String,
}

fn ip(args: &[&str]) {
    let o = Command::new("ip").args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `ip` ({e}): install it with `apt-get install -y iproute2`; this test needs root")
    });
    assert!(o.status.success(), "ip {}: {} (this test needs root)", args.join(" "), String::from_utf8_lossy(&o.stderr));
}

impl Lab {
    /// Creates the namespaces `bv<pid>-<n>-{br,h1..}` (IPv6 DAD off so addresses are usable at
    /// once), with 10.`net`.0.`i`/24 and fd00:`net`::`i`/64 on each host's `eth0`.
    pub fn new(name: &str, hosts: usize) -> Lab {
        let serial = SERIAL.fetch_add(1, Ordering::SeqCst);
        let tag = format!("bv{}-{serial}", std::process::id());
        // Each lab has a bridge of its own, so subnets only need to differ for readable logs.
        let net = (100 + serial % 100) as u8;
        let dir = std::env::temp_dir().join(format!("bmnet-vrrp-{name}-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let bridge = format!("{tag}-br");
        let mut lab = Lab { tag: tag.clone(), dir, net, hosts: Vec::new(), bridge: bridge.clone() };
        ip(&["netns", "add", &bridge]);
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        ip(&["-n", &bridge, "link", "set", "br0", "up"]);
        for i in 1..=hosts {
            let h = format!("{tag}-h{i}");
            ip(&["netns", "add", &h]);
            lab.hosts.push(h.clone());
            lab.sysctl(i, "net.ipv6.conf.default.accept_dad=0");
            lab.sysctl(i, "net.ipv6.conf.all.accept_dad=0");
            let port = format!("p{i}");
            ip(&["link", "add", "eth0", "netns", &h, "type", "veth", "peer", "name", &port, "netns", &bridge]);
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            ip(&["-n", &h, "link", "set", "lo", "up"]);
            ip(&["-n", &h, "addr", "add", &format!("{}/24", lab.v4(i)), "dev", "eth0"]);
            ip(&["-n", &h, "addr", "add", &format!("{}/64", lab.v6(i)), "dev", "eth0", "nodad"]);
            ip(&["-n", &h, "link", "set", "eth0", "up"]);
        }
        lab
    }

    fn sysctl(&self, host: usize, setting: &str) {
        let o = Command::new("ip")
            .args(["netns", "exec", self.ns(host), "sysctl", "-qw", setting])
            .output()
            .expect("sysctl");
        assert!(o.status.success(), "sysctl {setting}: {}", String::from_utf8_lossy(&o.stderr));
    }

    /// Host `i`'s namespace (1-based).
    pub fn ns(&self, host: usize) -> &str {
        &self.hosts[host - 1]
    }

    /// Host `i`'s IPv4 address.
    pub fn v4(&self, host: usize) -> String {
        format!("10.{}.0.{host}", self.net)
    }

    /// Host `i`'s IPv6 address.
    pub fn v6(&self, host: usize) -> String {
        format!("fd00:{}::{host}", self.net)
    }

    /// An IPv4 VIP of the lab's subnet.
    pub fn vip4(&self) -> String {
        format!("10.{}.0.100", self.net)
    }

    /// An IPv6 VIP of the lab's subnet.
    pub fn vip6(&self) -> String {
        format!("fd00:{}::100", self.net)
    }

    /// Starts keepalived on `host` with `conf` (`-n -l -D -P -G`, pid files of its own).
    pub fn keepalived(&self, host: usize, conf: &str) -> Daemon {
        need_keepalived();
        let n = SERIAL.fetch_add(1, Ordering::SeqCst);
        let path = self.dir.join(format!("ka-h{host}-{n}.conf"));
        std::fs::write(&path, conf).expect("write keepalived.conf");
        let main = self.dir.join(format!("ka-h{host}-{n}.pid"));
        let vrrp = self.dir.join(format!("ka-h{host}-{n}-vrrp.pid"));
        let log = self.dir.join(format!("ka-h{host}-{n}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", self.ns(host), KEEPALIVED, "-n", "-l", "-D", "-P", "-G", "-f"])
            .arg(&path)
            .arg("-p")
            .arg(&main)
            .arg("-r")
            .arg(&vrrp)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start keepalived");
        let d = Daemon { kind: Kind::Keepalived, host, child, pids: Some((main, vrrp)), log };
        // Both pid files exist once the VRRP child runs.
        let start = Instant::now();
        while !(main_exists(&d) && d.vrrp_pid().is_some()) {
            assert!(start.elapsed() < Duration::from_secs(10), "keepalived did not start:\n{}", d.log_text());
            std::thread::sleep(Duration::from_millis(10));
        }
        d
    }

    /// Starts `bmnet vrrp run ARGS` on `host` (the binary is `bmnet`, from the caller).
    pub fn bmnet(&self, bmnet: &Path, host: usize, args: &[String]) -> Daemon {
        let n = SERIAL.fetch_add(1, Ordering::SeqCst);
        let log = self.dir.join(format!("bmnet-h{host}-{n}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", self.ns(host)])
            .arg(bmnet)
            .args(["vrrp", "run"])
            .args(args)
            // Status files in the build's temporary directory, not the host's /run/bmnet.
            .env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("start bmnet");
        Daemon { kind: Kind::Bmnet, host, child, pids: None, log }
    }

    /// Whether `host` has `addr` on any interface, asked of the host (`ip -j addr`).
    pub fn has(&self, host: usize, addr: &str) -> bool {
        let o = Command::new("ip").args(["-j", "-n", self.ns(host), "addr", "show"]).output().expect("ip -j addr");
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
        v.as_array()
            .into_iter()
            .flatten()
            .any(|link| link["addr_info"].as_array().into_iter().flatten().any(|a| a["local"].as_str() == Some(addr)))
    }

    /// The hosts holding `addr`.
    pub fn holders(&self, addr: &str) -> Vec<usize> {
        // Asked of every host at once: one sample costs one `ip` run, not one per host, so
        // that `longest_split` samples finely.
        std::thread::scope(|scope| {
            let asks: Vec<_> = (1..=self.hosts.len()).map(|h| (h, scope.spawn(move || self.has(h, addr)))).collect();
            asks.into_iter().filter_map(|(h, ask)| ask.join().unwrap_or(false).then_some(h)).collect()
        })
    }

    /// Turns IPv6 duplicate address detection on for `host`'s `eth0` (the lab turns it off):
    /// from then on, every time the link comes up its link-local address is tentative for
    /// 1-2 s (RFC 4862 §5.4), as on a real node.
    pub fn enable_dad(&self, host: usize) {
        self.sysctl(host, "net.ipv6.conf.eth0.accept_dad=1");
        self.sysctl(host, "net.ipv6.conf.eth0.dad_transmits=1");
    }

    /// `ip link set eth0 up|down` in `host`.
    pub fn set_link(&self, host: usize, up: bool) {
        ip(&["-n", self.ns(host), "link", "set", "eth0", if up { "up" } else { "down" }]);
    }

    /// Sends one IPv4 packet of protocol 112 from `host`, with any source and TTL (a raw socket
    /// with the header included; the kernel fills in the header checksum), as an attacker on
    /// the link would. Needs python3 (`apt-get install -y python3`).
    pub fn send_raw_vrrp4(&self, host: usize, src: &str, dst: &str, ttl: u8, payload: &[u8]) {
        let (s, d): (std::net::Ipv4Addr, std::net::Ipv4Addr) = (src.parse().expect("src"), dst.parse().expect("dst"));
        let len = (20 + payload.len()) as u16;
        let mut pkt = vec![0x45, 0xc0];
        pkt.extend_from_slice(&len.to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0, ttl, 112, 0, 0]);
        pkt.extend_from_slice(&s.octets());
        pkt.extend_from_slice(&d.octets());
        pkt.extend_from_slice(payload);
        let hex: String = pkt.iter().map(|b| format!("{b:02x}")).collect();
        let script = "import socket, sys\n\
                      s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)\n\
                      s.sendto(bytes.fromhex(sys.argv[1]), (sys.argv[2], 0))\n";
        let o = Command::new("ip")
            .args(["netns", "exec", self.ns(host), "/usr/bin/python3", "-c", script, &hex, dst])
            .output()
            .unwrap_or_else(|e| panic!("python3 ({e}): install it with `apt-get install -y python3`"));
        assert!(o.status.success(), "raw send from h{host}: {}", String::from_utf8_lossy(&o.stderr));
    }

    /// Samples who holds `addr` until `done` holds for the hosts sampled (or `timeout`), and
    /// returns the longest time two or more hosts held it at once, measured between samples,
    /// with the gaps between samples (what the measure can miss). `Err` when nobody ever held
    /// `addr` while sampling (a split of 0 would then say nothing), or when `done` never held.
    pub fn longest_split(
        &self,
        addr: &str,
        timeout: Duration,
        mut done: impl FnMut(&[usize]) -> bool,
    ) -> Result<Split, String> {
        let start = Instant::now();
        let mut split = Split { longest: Duration::ZERO, sample_gap: Duration::ZERO, sample_period: Duration::ZERO };
        let mut samples = 0u32;
        let mut since: Option<Instant> = None;
        let mut held = false;
        let mut last: Option<Instant> = None;
        let mut finished = false;
        while start.elapsed() < timeout {
            let now = Instant::now();
            if let Some(l) = last {
                split.sample_gap = split.sample_gap.max(now - l);
            }
            last = Some(now);
            samples += 1;
            let holders = self.holders(addr);
            held |= !holders.is_empty();
            match (holders.len() > 1, since) {
                (true, None) => since = Some(now),
                (false, Some(s)) => {
                    split.longest = split.longest.max(now - s);
                    since = None;
                }
                _ => {}
            }
            if holders.len() <= 1 && done(&holders) {
                finished = true;
                break;
            }
        }
        if let Some(s) = since {
            split.longest = split.longest.max(s.elapsed());
        }
        if let Some(l) = last {
            split.sample_period = (l - start) / samples.saturating_sub(1).max(1);
        }
        match (held, finished) {
            (false, _) => Err(format!("nobody held {addr} in {:?}", start.elapsed())),
            (true, false) => Err(format!("not done within {timeout:?} (longest split {:?})", split.longest)),
            (true, true) => Ok(split),
        }
    }

    /// Polls until `f` holds; returns how long that took, or `None` after `timeout`.
    pub fn wait(&self, timeout: Duration, f: impl FnMut(&Lab) -> bool) -> Option<Duration> {
        self.wait_since(Instant::now(), timeout, f)
    }

    /// Polls until `f` holds; returns the time since `start`, or `None` after `timeout`.
    pub fn wait_since(&self, start: Instant, timeout: Duration, mut f: impl FnMut(&Lab) -> bool) -> Option<Duration> {
        loop {
            if f(self) {
                return Some(start.elapsed());
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits until exactly `host` among the hosts holds `addr`, and still does `settle` later
    /// (no flapping); panics with the daemons' logs otherwise. Returns the time to converge.
    pub fn converge(&self, addr: &str, host: usize, timeout: Duration, settle: Duration, logs: &[&Daemon]) -> Duration {
        let took = self.wait(timeout, |l| l.holders(addr) == vec![host]);
        let dump =
            || logs.iter().map(|d| format!("--- {:?} on h{}:\n{}", d.kind, d.host, d.log_text())).collect::<String>();
        let Some(took) = took else {
            panic!(
                "{addr} never settled on h{host} alone (holders {:?}) within {timeout:?}\n{}",
                self.holders(addr),
                dump()
            );
        };
        std::thread::sleep(settle);
        assert_eq!(self.holders(addr), vec![host], "{addr} moved after converging on h{host}\n{}", dump());
        took
    }
}

/// What [`Lab::longest_split`] measured.
#[derive(Clone, Copy, Debug)]
pub struct Split {
    /// The longest time two or more hosts held the address at once.
    pub longest: Duration,
    /// The longest time between two samples: a split shorter than this can go unseen, and a
    /// split is measured short by up to twice this.
    pub sample_gap: Duration,
    /// The mean time between two samples.
    pub sample_period: Duration,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for h in self.hosts.iter().chain(std::iter::once(&self.bridge)) {
            let _ = Command::new("ip").args(["netns", "pids", h]).output().map(|o| {
                for pid in String::from_utf8_lossy(&o.stdout).split_whitespace() {
                    // Only real pids: `kill -KILL 0` would hit our own process group.
                    if let Ok(pid @ 2..) = pid.parse::<u32>() {
                        signal(pid, "KILL");
                    }
                }
            });
            let _ = Command::new("ip").args(["netns", "del", h]).output();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
