//! The daemon: a set of [`Instance`]s driven by one thread and one `poll(2)`, with the raw
//! sockets, netlink, announcements and check scripts around them.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::{Duration, Instant};

use super::announce::Announcer;
use super::netlink::{Address, Link, LinkMonitor, Netlink};
use super::notify::Notifier;
use super::script::{CheckScript, RunResult, ScriptRunner};
use super::sys;
use super::vrrp_socket::VrrpSocket;
use super::{Error, Event};
use crate::{Action, Config, Instance, Notify, State, TRACK_INTERFACE_PREFIX};

/// A VIP as it is added to the interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The interface to add it to (default: the instance's).
    pub interface: Option<String>,
    /// An IPv4 label (`eth0:vip`, or `vip` which becomes `<interface>:vip`).
    pub label: Option<String>,
}

/// One instance to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceSetup {
    /// Its name, in events.
    pub name: String,
    /// The interface it runs on.
    pub interface: String,
    /// The core's configuration. An unspecified `primary` (0.0.0.0 or ::) is filled in with the
    /// interface's primary IPv4 address or its IPv6 link-local address.
    pub config: Config,
    /// The VIPs with their prefix lengths; they must be `config.vips`, in any order.
    pub vips: Vec<VipSpec>,
    /// Scripts to run on its transitions.
    pub notify: Notify,
}

/// Why [`Daemon::run_until`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// The stop descriptor became readable: the daemon stopped gracefully.
    Stopped,
    /// The reload descriptor became readable: the daemon is still running; read the descriptor
    /// empty, call [`Daemon::reload`] if there is something new, then `run_until` again.
    Reload,
}

/// How long a stopping daemon waits for its notify scripts (`notify_stop`) to finish.
const NOTIFY_STOP_WAIT: Duration = Duration::from_secs(2);

/// How long a fresh IPv6 link-local address may stay tentative before the daemon gives up.
const DAD_WAIT: Duration = Duration::from_secs(5);

struct Running {
    name: String,
    instance: Instance,
    ifindex: u32,
    ipv6: bool,
    /// `(ifindex, addr, prefix, label)` for every VIP.
    vips: Vec<(u32, IpAddr, u8, Option<String>)>,
    /// `(ifindex, check name)` of every tracked interface.
    tracked: Vec<(u32, String)>,
    notify: Notify,
}

/// The running daemon; see [`Daemon::run`].
pub struct Daemon {
    epoch: Instant,
    instances: Vec<Running>,
    sockets: Vec<VrrpSocket>,
    announcers: HashMap<u32, Announcer>,
    netlink: Netlink,
    monitor: LinkMonitor,
    scripts: Vec<ScriptRunner>,
    notifier: Notifier,
    started: bool,
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

fn find_link<'a>(links: &'a [Link], name: &str) -> Result<&'a Link, Error> {
    links
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| Error::Interface { name: name.to_string(), reason: "no such interface".into() })
}

/// The interface's primary address of `ipv6`'s family, waiting a little for DAD.
fn primary_address(netlink: &mut Netlink, link: &Link, ipv6: bool, vips: &[IpAddr]) -> Result<IpAddr, Error> {
    let start = Instant::now();
    loop {
        let addrs = netlink.addresses().map_err(io_error("reading addresses over netlink"))?;
        let mine: Vec<&Address> = addrs
            .iter()
            .filter(|a| a.index == link.index && a.addr.is_ipv6() == ipv6 && !vips.contains(&a.addr))
            .collect();
        let pick = if ipv6 {
            mine.iter().find(|a| matches!(a.addr, IpAddr::V6(v6) if v6.is_unicast_link_local()))
        } else {
            mine.iter().find(|a| !a.secondary())
        };
        match pick {
            Some(a) if a.usable() => return Ok(a.addr),
            Some(_) if start.elapsed() < DAD_WAIT => std::thread::sleep(Duration::from_millis(50)),
            Some(a) => {
                return Err(Error::Interface {
                    name: link.name.clone(),
                    reason: format!("{} is still tentative (or failed DAD) after {DAD_WAIT:?}", a.addr),
                });
            }
            None => {
                return Err(Error::Interface {
                    name: link.name.clone(),
                    reason: if ipv6 {
                        "no IPv6 link-local address to send from".into()
                    } else {
                        "no IPv4 address to send from (or set unicast_src_ip)".into()
                    },
                });
            }
        }
    }
}

/// An instance's setup checked against the host: its link found, a missing primary address
/// filled in, every check's script or tracked interface found, every VIP's link and label.
struct Prepared {
    name: String,
    interface: String,
    ipv6: bool,
    config: Config,
    /// `(ifindex, addr, prefix, label)` for every VIP.
    vips: Vec<(u32, IpAddr, u8, Option<String>)>,
    /// `(ifindex, carrier now, check name)` for every tracked interface.
    tracked: Vec<(u32, bool, String)>,
    notify: Notify,
}

fn prepare(
    netlink: &mut Netlink,
    links: &[Link],
    setup: InstanceSetup,
    scripts: &[CheckScript],
) -> Result<Prepared, Error> {
    let link = find_link(links, &setup.interface)?;
    let mut config = setup.config;
    let ipv6 = config.vips.first().is_some_and(IpAddr::is_ipv6);
    if config.primary.is_unspecified() {
        // keepalived.conf leaves it 0.0.0.0 for both families: the VIPs decide.
        config.primary = primary_address(netlink, link, ipv6, &config.vips)?;
    }
    let mut tracked = Vec::new();
    for check in &config.checks {
        if let Some(name) = check.name.strip_prefix(TRACK_INTERFACE_PREFIX) {
            let tracked_link = find_link(links, name)?;
            tracked.push((tracked_link.index, tracked_link.up, check.name.clone()));
        } else if !scripts.iter().any(|s| s.name == check.name) {
            return Err(Error::UnknownScript { instance: setup.name.clone(), script: check.name.clone() });
        }
    }
    let mut vips = Vec::new();
    for v in &setup.vips {
        let vlink = match &v.interface {
            Some(dev) => find_link(links, dev)?,
            None => link,
        };
        let label = v.label.as_ref().map(|l| {
            if l.contains(':') || l.starts_with(&vlink.name) { l.clone() } else { format!("{}:{l}", vlink.name) }
        });
        vips.push((vlink.index, v.addr, v.prefix_len, label));
        if !config.vips.contains(&v.addr) {
            return Err(Error::Interface {
                name: setup.interface.clone(),
                reason: format!("VIP {} is not in the instance's configuration", v.addr),
            });
        }
    }
    Ok(Prepared { name: setup.name, interface: setup.interface, ipv6, config, vips, tracked, notify: setup.notify })
}

fn forwarding(interface: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{interface}/forwarding")).is_ok_and(|s| s.trim() == "1")
}

impl Daemon {
    /// Opens everything the instances need: the interfaces are looked up, missing primary
    /// addresses filled in, configurations checked, sockets opened and every script named by a
    /// check found. Nothing is sent and no VIP touched until [`Daemon::run`].
    pub fn new(setups: Vec<InstanceSetup>, scripts: Vec<CheckScript>) -> Result<Daemon, Error> {
        if setups.is_empty() {
            return Err(Error::NoInstance);
        }
        let mut netlink = Netlink::open().map_err(io_error("opening a NETLINK_ROUTE socket"))?;
        let monitor = LinkMonitor::open().map_err(io_error("subscribing to link changes (RTMGRP_LINK)"))?;
        let links = netlink.links().map_err(io_error("reading links over netlink"))?;
        let mut instances = Vec::new();
        let mut sockets: Vec<VrrpSocket> = Vec::new();
        let mut families: HashMap<u32, (String, [u8; 6], bool, bool)> = HashMap::new();
        for setup in setups {
            let p = prepare(&mut netlink, &links, setup, &scripts)?;
            let link = find_link(&links, &p.interface)?;
            let ipv6 = p.ipv6;
            for (index, addr, _, _) in &p.vips {
                let Some(vlink) = links.iter().find(|l| l.index == *index) else { continue };
                let entry = families.entry(vlink.index).or_insert((
                    vlink.name.clone(),
                    vlink.mac.unwrap_or([0; 6]),
                    false,
                    false,
                ));
                if addr.is_ipv6() {
                    entry.3 = true;
                } else {
                    entry.2 = true;
                }
            }
            let mut instance =
                Instance::new(p.config).map_err(|source| Error::Config { instance: p.name.clone(), source })?;
            if !sockets.iter().any(|s| s.ifindex() == link.index && s.is_ipv6() == ipv6) {
                let socket = VrrpSocket::open(&link.name, link.index, ipv6)
                    .map_err(io_error(format!("opening a raw VRRP socket on {}", link.name)))?;
                sockets.push(socket);
            }
            instance.set_link(Duration::ZERO, link.up);
            for (_, up, check) in &p.tracked {
                instance.set_check(Duration::ZERO, check, *up);
            }
            let tracked = p.tracked.into_iter().map(|(index, _, check)| (index, check)).collect();
            instances.push(Running {
                name: p.name,
                instance,
                ifindex: link.index,
                ipv6,
                vips: p.vips,
                tracked,
                notify: p.notify,
            });
        }
        let mut announcers = HashMap::new();
        for (index, (name, mac, v4, v6)) in families {
            let announcer = Announcer::open(&name, index, mac, v4, v6, forwarding(&name))
                .map_err(io_error(format!("opening the GARP/NA sockets on {name}")))?;
            announcers.insert(index, announcer);
        }
        let epoch = Instant::now();
        let scripts = scripts.into_iter().map(|s| ScriptRunner::new(s, epoch)).collect();
        Ok(Daemon {
            epoch,
            instances,
            sockets,
            announcers,
            netlink,
            monitor,
            scripts,
            notifier: Notifier::default(),
            started: false,
        })
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Each instance's name, state and effective priority.
    pub fn states(&self) -> Vec<(String, State, u8)> {
        self.instances.iter().map(|r| (r.name.clone(), r.instance.state(), r.instance.priority())).collect()
    }

    /// Runs until `stop` becomes readable (a signal pipe), then stops gracefully: masters send
    /// priority 0, VIPs are removed, scripts killed. Events (transitions, warnings, drops) go
    /// to `events` as they happen. An `Err` is a failure of the loop itself (poll); errors of
    /// single sends, VIP changes and announcements are reported as [`Event::Warning`]s.
    pub fn run(&mut self, stop: BorrowedFd<'_>, events: &mut dyn FnMut(Event)) -> Result<(), Error> {
        self.run_until(stop, None, events).map(|_| ())
    }

    /// [`Daemon::run`], also returning (without stopping anything) when `reload` becomes
    /// readable, e.g. a signal pipe for SIGHUP.
    pub fn run_until(
        &mut self,
        stop: BorrowedFd<'_>,
        reload: Option<BorrowedFd<'_>>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Wake, Error> {
        if !self.started {
            self.started = true;
            // Stale VIPs (a previous run killed) go first, as keepalived's static pod does; an
            // address owner's VIPs are its own addresses and stay.
            for i in 0..self.instances.len() {
                if self.instances[i].instance.config().priority == 255 {
                    continue;
                }
                let vips = self.instances[i].vips.clone();
                for (index, addr, prefix, _) in vips {
                    if let Err(e) = self.netlink.remove_address(index, addr, prefix) {
                        events(Event::Warning {
                            instance: Some(self.instances[i].name.clone()),
                            message: format!("removing stale VIP {addr}: {e}"),
                        });
                    }
                }
            }
            let now = self.now();
            for i in 0..self.instances.len() {
                self.instances[i].instance.start(now);
                self.drain(i, events);
            }
        }
        let result = self.run_loop(stop, reload, events);
        if result.as_ref().is_ok_and(|w| *w == Wake::Reload) {
            return result;
        }
        self.shutdown(events);
        result
    }

    /// Applies new setups in place, as keepalived's reload: the same instances (by name) on the
    /// same interfaces, with their configurations (peers, priority, interval, checks, VIPs on
    /// the interfaces bmnet started with), tracked interfaces, notify scripts and the check
    /// scripts changed. States are kept; an unchanged check script keeps its schedule. Anything
    /// else is refused with [`Error::Reload`] and nothing changes.
    pub fn reload(
        &mut self,
        setups: Vec<InstanceSetup>,
        scripts: Vec<CheckScript>,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let same_names = setups.len() == self.instances.len()
            && setups.iter().all(|s| self.instances.iter().any(|r| r.name == s.name));
        if !same_names {
            return Err(Error::Reload("instances were added, removed or renamed".into()));
        }
        let links = self.netlink.links().map_err(io_error("reading links over netlink"))?;
        let mut prepared = Vec::new();
        for setup in setups {
            let p = prepare(&mut self.netlink, &links, setup, &scripts)?;
            let Some(i) = self.instances.iter().position(|r| r.name == p.name) else { continue };
            let r = &self.instances[i];
            let link = find_link(&links, &p.interface)?;
            if link.index != r.ifindex || p.ipv6 != r.ipv6 || p.config.vrid != r.instance.config().vrid {
                return Err(Error::Reload(format!("instance {}: its interface, family or vrid changed", p.name)));
            }
            if let Some((_, addr, ..)) = p.vips.iter().find(|(index, ..)| !self.announcers.contains_key(index)) {
                return Err(Error::Reload(format!(
                    "instance {}: VIP {addr} is on an interface bmnet did not start with",
                    p.name
                )));
            }
            // Checked here so that a refused configuration changes nothing.
            Instance::new(p.config.clone()).map_err(|source| Error::Config { instance: p.name.clone(), source })?;
            prepared.push((i, p));
        }
        let mut old = std::mem::take(&mut self.scripts);
        let wall = Instant::now();
        for script in scripts {
            match old.iter().position(|r| r.script == script) {
                Some(k) => self.scripts.push(old.swap_remove(k)),
                None => self.scripts.push(ScriptRunner::new(script, wall)),
            }
        }
        for mut gone in old {
            gone.stop();
        }
        let now = self.now();
        for (i, p) in prepared {
            let r = &mut self.instances[i];
            r.instance
                .reconfigure(now, p.config)
                .map_err(|source| Error::Config { instance: p.name.clone(), source })?;
            for (_, up, check) in &p.tracked {
                r.instance.set_check(now, check, *up);
            }
            r.tracked = p.tracked.into_iter().map(|(index, _, check)| (index, check)).collect();
            r.notify = p.notify;
            // Dropped VIPs are removed through the old list, then the new one stays.
            let mut both = p.vips.clone();
            both.extend(r.vips.iter().filter(|v| !p.vips.iter().any(|n| n.1 == v.1)).cloned());
            r.vips = both;
            self.drain(i, events);
            self.instances[i].vips = p.vips;
        }
        Ok(())
    }

    fn run_loop(
        &mut self,
        stop: BorrowedFd<'_>,
        reload: Option<BorrowedFd<'_>>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Wake, Error> {
        loop {
            self.notifier.reap();
            let now = self.now();
            for i in 0..self.instances.len() {
                if self.instances[i].instance.poll_timeout().is_some_and(|t| t <= now) {
                    self.instances[i].instance.handle_timeout(now);
                    self.drain(i, events);
                }
            }
            let wall = Instant::now();
            for s in 0..self.scripts.len() {
                if let Some(result) = self.scripts[s].poll(wall) {
                    let name = self.scripts[s].script.name.clone();
                    let passing = result == RunResult::Passed;
                    if let RunResult::Failed(why) = &result {
                        events(Event::CheckFailed { script: name.clone(), reason: why.clone() });
                    }
                    let now = self.now();
                    for i in 0..self.instances.len() {
                        if self.instances[i].instance.set_check(now, &name, passing) {
                            self.drain(i, events);
                        }
                    }
                }
            }
            // The next wake-up: the earliest instance timer or script event.
            let now = self.now();
            let wall = Instant::now();
            let mut timeout: Option<Duration> = None;
            for r in &self.instances {
                if let Some(t) = r.instance.poll_timeout() {
                    let d = t.saturating_sub(now);
                    timeout = Some(timeout.map_or(d, |x| x.min(d)));
                }
            }
            for s in &self.scripts {
                let d = s.next_wake(wall).saturating_duration_since(wall);
                timeout = Some(timeout.map_or(d, |x| x.min(d)));
            }
            // The stop and reload descriptors (without a reload one, the stop one again), netlink,
            // then one raw socket per interface and family.
            let reload_fd = reload.map_or(stop.as_raw_fd(), |r| r.as_raw_fd());
            let mut fds = vec![stop.as_raw_fd(), reload_fd, self.monitor.raw_fd()];
            fds.extend(self.sockets.iter().map(VrrpSocket::raw_fd));
            let ready = sys::poll(&fds, timeout).map_err(io_error("poll"))?;
            if ready[0] {
                return Ok(Wake::Stopped);
            }
            if ready[1] && reload.is_some() {
                return Ok(Wake::Reload);
            }
            if ready[2] {
                self.read_links(events);
            }
            for (k, &is_ready) in ready[3..].iter().enumerate() {
                if is_ready {
                    self.read_socket(k, events);
                }
            }
        }
    }

    fn read_links(&mut self, events: &mut dyn FnMut(Event)) {
        let changes = match self.monitor.drain() {
            Ok(c) => c,
            Err(e) => {
                events(Event::Warning {
                    instance: None,
                    message: format!("link notifications: {e}; re-reading links"),
                });
                match self.netlink.links() {
                    Ok(links) => links.into_iter().map(|l| (l.index, l.up)).collect(),
                    Err(e) => {
                        events(Event::Warning { instance: None, message: format!("reading links: {e}") });
                        return;
                    }
                }
            }
        };
        let now = self.now();
        for (index, up) in changes {
            for i in 0..self.instances.len() {
                let r = &mut self.instances[i];
                if r.ifindex == index {
                    r.instance.set_link(now, up);
                }
                for (_, check) in r.tracked.iter().filter(|(k, _)| *k == index) {
                    r.instance.set_check(now, check, up);
                }
                self.drain(i, events);
            }
        }
    }

    fn read_socket(&mut self, k: usize, events: &mut dyn FnMut(Event)) {
        // Bounded, so that one flooded socket cannot starve the timers.
        for _ in 0..64 {
            let (ifindex, ipv6) = (self.sockets[k].ifindex(), self.sockets[k].is_ipv6());
            let datagram = match self.sockets[k].recv() {
                Ok(Some(d)) => d,
                Ok(None) => return,
                Err(e) => {
                    events(Event::Warning { instance: None, message: format!("receiving VRRP: {e}") });
                    return;
                }
            };
            let (src, dst, ttl) = (datagram.src, datagram.dst, datagram.ttl);
            let vrid = datagram.payload.get(1).copied();
            let payload = datagram.payload.to_vec();
            let now = self.now();
            for i in 0..self.instances.len() {
                let r = &mut self.instances[i];
                if r.ifindex != ifindex
                    || r.ipv6 != ipv6
                    || Some(r.instance.config().vrid) != vrid
                    || r.instance.config().primary == src
                {
                    continue;
                }
                if let Err(drop) = r.instance.handle_packet(now, src, dst, ttl, &payload) {
                    events(Event::Dropped { instance: r.name.clone(), from: src, reason: drop.to_string() });
                }
                self.drain(i, events);
            }
        }
    }

    /// Carries out instance `i`'s pending actions.
    fn drain(&mut self, i: usize, events: &mut dyn FnMut(Event)) {
        while let Some(action) = self.instances[i].instance.poll_action() {
            let r = &self.instances[i];
            let warn = |message: String| Event::Warning { instance: Some(r.name.clone()), message };
            match action {
                Action::Send { to, bytes, .. } => {
                    let primary = r.instance.config().primary;
                    let socket = self.sockets.iter().find(|s| s.ifindex() == r.ifindex && s.is_ipv6() == r.ipv6);
                    if let Some(s) = socket
                        && let Err(e) = s.send(primary, to, &bytes)
                    {
                        events(warn(format!("sending an advert to {to}: {e}")));
                    }
                }
                Action::AddVips(addrs) => {
                    for (index, addr, prefix, label) in r.vips.iter().filter(|v| addrs.contains(&v.1)) {
                        if let Err(e) = self.netlink.add_address(*index, *addr, *prefix, label.as_deref()) {
                            events(warn(format!("adding VIP {addr}/{prefix}: {e}")));
                        }
                    }
                }
                Action::RemoveVips(addrs) => {
                    for (index, addr, prefix, _) in r.vips.iter().filter(|v| addrs.contains(&v.1)) {
                        if let Err(e) = self.netlink.remove_address(*index, *addr, *prefix) {
                            events(warn(format!("removing VIP {addr}/{prefix}: {e}")));
                        }
                    }
                }
                Action::Announce { vips, count } => {
                    for _ in 0..count {
                        for (index, addr, _, _) in r.vips.iter().filter(|v| vips.contains(&v.1)) {
                            if let Some(a) = self.announcers.get(index)
                                && let Err(e) = a.announce(*addr)
                            {
                                events(warn(format!("announcing {addr}: {e}")));
                            }
                        }
                    }
                }
                Action::Transition { from, to, reason, priority } => {
                    let failures = self.notifier.fire(&r.notify, &r.name, to, priority);
                    events(Event::Transition { instance: r.name.clone(), from, to, reason, priority });
                    for message in failures {
                        events(warn(message));
                    }
                }
            }
        }
    }

    /// Stops every instance: masters resign with priority 0 and drop their VIPs; scripts are
    /// killed. [`Daemon::run`] calls it before returning; calling it again does nothing.
    pub fn shutdown(&mut self, events: &mut dyn FnMut(Event)) {
        let now = self.now();
        for i in 0..self.instances.len() {
            self.instances[i].instance.shutdown(now);
            self.drain(i, events);
        }
        for s in &mut self.scripts {
            s.stop();
        }
        // notify_stop scripts get a moment; keepalived does not wait for them at all.
        self.notifier.finish(NOTIFY_STOP_WAIT);
    }
}
