//! The daemon: a [`Router`] driven by one thread and one `poll(2)`, with the raw sockets,
//! netlink, announcements and scripts around it. Everything VRRP decides is the router's; this
//! module only carries packets, link and address changes, script results and time to it, and
//! carries out its actions, reporting each outcome back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use super::announce::Announcer;
use super::netlink::{Address, Change, Link, LinkMonitor, Netlink};
use super::notify::{Notifier, NotifyPrograms};
use super::vrrp_socket::VrrpSocket;
use super::{Error, Event, InstanceStatus, InterfaceProblem, ReloadRefusal, TimerStatus};
use crate::{
    Action, Config, Instance, InstanceId, Notify, NotifyScript, Reason, Routed, Router, State, TRACK_INTERFACE_PREFIX,
    VipOp, packet,
};
use bm_check::process::Reaper;
use bm_check::process::{CheckScript, RunResult, ScriptRunner};
use bm_check::process::{ScriptPolicy, policy_warning, resolve_script};

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

/// How the daemon runs scripts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// keepalived's `enable_script_security` and `script_user`.
    pub script_policy: ScriptPolicy,
    /// How long a notify script may run before it is stopped (keepalived has no limit).
    pub notify_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options { script_policy: ScriptPolicy::default(), notify_timeout: Duration::from_secs(30) }
    }
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

/// How long a fresh IPv6 link-local address may stay tentative at startup before the daemon
/// starts anyway (the instance then stays in FAULT until the address is usable).
const DAD_WAIT: Duration = Duration::from_secs(5);

/// A status after a transition or a failure comes at most this late...
const STATUS_SOON: Duration = Duration::from_secs(1);
/// ... and after other counter changes (adverts accepted and sent) at most this late.
const STATUS_LATER: Duration = Duration::from_secs(10);
/// With nothing to report, a status at least this often: the heartbeat by which a liveness
/// probe (`bmnet vrrp health`) tells a daemon whose loop runs from one that hangs.
pub const STATUS_HEARTBEAT: Duration = Duration::from_secs(30);

/// What the daemon keeps of an instance beside the core: its I/O.
struct Meta {
    name: String,
    interface: String,
    ifindex: u32,
    ipv6: bool,
    /// `(ifindex, addr, prefix, label)` for every VIP.
    vips: Vec<(u32, IpAddr, u8, Option<String>)>,
    /// `(ifindex, check name)` of every tracked interface.
    tracked: Vec<(u32, String)>,
    notify: NotifyPrograms,
    last_reason: Option<Reason>,
    /// Destinations whose last send failed, with the failures since it last worked: a failing
    /// destination is said once when it starts and once when it ends.
    failing: HashMap<IpAddr, u64>,
}

/// The running daemon; see [`Daemon::run`].
pub struct Daemon {
    epoch: Instant,
    router: Router,
    meta: Vec<Meta>,
    sockets: Vec<VrrpSocket>,
    announcers: HashMap<u32, Announcer>,
    netlink: Netlink,
    monitor: LinkMonitor,
    scripts: Vec<ScriptRunner>,
    notifier: Notifier,
    /// Script children done with: stopping, or finished with their group not yet empty.
    reaper: Reaper,
    options: Options,
    started: bool,
    /// Said when the daemon starts running.
    startup_warnings: Vec<(Option<String>, String)>,
    /// A status is due then (soon after a transition or failure, later after other counts).
    status_due: Option<Instant>,
    /// The counters' sum at the last status, to notice a change.
    status_seen: u64,
    /// When the last status event went out.
    status_last: Instant,
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let what = what.into();
    move |source| Error::Io { what, source }
}

fn netlink_error(what: &'static str) -> impl FnOnce(bm_sys::rtnetlink::Error) -> Error {
    move |source| Error::Netlink { what, source }
}

fn find_link<'a>(links: &'a [Link], name: &str) -> Result<&'a Link, Error> {
    links
        .iter()
        .find(|l| l.name == name)
        .ok_or_else(|| Error::Interface { name: name.to_string(), reason: InterfaceProblem::Missing })
}

/// The interface's primary address of `ipv6`'s family, waiting a little for DAD (an address
/// still tentative after that is used anyway: the instance waits in FAULT until it is usable).
fn primary_address(netlink: &mut Netlink, link: &Link, ipv6: bool, vips: &[IpAddr]) -> Result<IpAddr, Error> {
    let start = Instant::now();
    loop {
        let addrs = netlink.addresses().map_err(netlink_error("reading addresses over netlink"))?;
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
            Some(a) if a.usable() || start.elapsed() >= DAD_WAIT => return Ok(a.addr),
            Some(_) => std::thread::sleep(Duration::from_millis(50)),
            None => {
                return Err(Error::Interface {
                    name: link.name.clone(),
                    reason: if ipv6 { InterfaceProblem::NoLinkLocal } else { InterfaceProblem::NoIpv4Address },
                });
            }
        }
    }
}

/// Whether `addr` is on this host and usable as a source (not tentative, not failed DAD): on
/// `ifindex` for an IPv6 link-local address (the same one may be on every link), anywhere
/// otherwise (`unicast_src_ip` may be another link's address).
fn usable(addrs: &[Address], addr: IpAddr, ifindex: u32) -> bool {
    let link_local = matches!(addr, IpAddr::V6(v6) if v6.is_unicast_link_local());
    addrs.iter().any(|a| a.addr == addr && (!link_local || a.index == ifindex) && a.usable())
}

/// An instance's setup checked against the host: its link found, a missing primary address
/// filled in, its configuration validated (once: the instance built from it), every check's
/// script or tracked interface found, every VIP's link and label, the advert within the link's
/// MTU, its notify scripts resolved.
struct Prepared {
    name: String,
    interface: String,
    ipv6: bool,
    /// The instance its configuration makes (stopped): run at startup, or handed to the router
    /// on a reload, so that each configuration is validated once.
    instance: Instance,
    /// `(ifindex, addr, prefix, label)` for every VIP.
    vips: Vec<(u32, IpAddr, u8, Option<String>)>,
    /// `(ifindex, carrier now, check name)` for every tracked interface.
    tracked: Vec<(u32, bool, String)>,
    notify: NotifyPrograms,
    warnings: Vec<String>,
}

fn resolve_notify(
    instance: &str,
    notify: &Notify,
    policy: &ScriptPolicy,
    warnings: &mut Vec<String>,
) -> Result<NotifyPrograms, Error> {
    let mut resolve = |kind: &str, n: &Option<NotifyScript>| -> Result<_, Error> {
        let Some(n) = n else { return Ok(None) };
        let r = resolve_script(&n.argv, n.user.as_ref(), policy)
            .map_err(|source| Error::Script { script: format!("{instance} {kind}"), source })?;
        warnings.extend(r.warnings.iter().map(|w| format!("{kind}: {w}")));
        Ok(Some(r))
    };
    Ok(NotifyPrograms {
        master: resolve("notify_master", &notify.master)?,
        backup: resolve("notify_backup", &notify.backup)?,
        fault: resolve("notify_fault", &notify.fault)?,
        stop: resolve("notify_stop", &notify.stop)?,
        any: resolve("notify", &notify.any)?,
    })
}

fn prepare(
    netlink: &mut Netlink,
    links: &[Link],
    setup: InstanceSetup,
    scripts: &[CheckScript],
    policy: &ScriptPolicy,
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
                reason: InterfaceProblem::VipNotConfigured(v.addr),
            });
        }
    }
    // keepalived moves the VIPs an advert cannot carry within the MTU to eVIPs (added, never
    // advertised: "exceeds maximum/space available in packet"); bmnet refuses to start.
    let instance = Instance::new(config).map_err(|source| Error::Config { instance: setup.name.clone(), source })?;
    let config = instance.config();
    let interval = instance.interval();
    let advert = packet::Advert { vrid: config.vrid, priority: 0, interval, addrs: config.vips.clone(), auth: None };
    let message = packet::message_len_of(&advert).unwrap_or(usize::MAX);
    let ip_header = if ipv6 { 40 } else { 20 };
    if let Some(mtu) = link.mtu
        && message.saturating_add(ip_header) > mtu as usize
    {
        return Err(Error::Interface {
            name: link.name.clone(),
            reason: InterfaceProblem::Mtu { vips: config.vips.len(), bytes: message + ip_header, mtu },
        });
    }
    let mut warnings = Vec::new();
    let notify = resolve_notify(&setup.name, &setup.notify, policy, &mut warnings)?;
    Ok(Prepared { name: setup.name, interface: setup.interface, ipv6, instance, vips, tracked, notify, warnings })
}

fn forwarding(interface: &str) -> bool {
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{interface}/forwarding")).is_ok_and(|s| s.trim() == "1")
}

/// The check scripts resolved, with their warnings.
fn runners(
    scripts: &[CheckScript],
    policy: &ScriptPolicy,
    now: Instant,
    warnings: &mut Vec<(Option<String>, String)>,
) -> Result<Vec<ScriptRunner>, Error> {
    let mut out = Vec::new();
    for s in scripts {
        let program = resolve_script(&s.argv, s.user.as_ref(), policy)
            .map_err(|source| Error::Script { script: format!("vrrp_script {}", s.name), source })?;
        warnings.extend(program.warnings.iter().map(|w| (None, format!("vrrp_script {}: {w}", s.name))));
        out.push(ScriptRunner::new(s.clone(), program, now));
    }
    Ok(out)
}

impl Daemon {
    /// [`Daemon::with_options`] with the default options: scripts run as `keepalived_script`
    /// (or root without that user), no script security, notify scripts stopped after 30 s.
    pub fn new(setups: Vec<InstanceSetup>, scripts: Vec<CheckScript>) -> Result<Daemon, Error> {
        Daemon::with_options(setups, scripts, Options::default())
    }

    /// Opens everything the instances need: the interfaces are looked up, missing primary
    /// addresses filled in, configurations checked, sockets opened, every script named by a
    /// check found, and every script resolved and checked as keepalived checks it (its user,
    /// its file, and under `enable_script_security` the permissions of its path). Nothing is
    /// sent and no VIP touched until [`Daemon::run`].
    pub fn with_options(
        setups: Vec<InstanceSetup>,
        scripts: Vec<CheckScript>,
        options: Options,
    ) -> Result<Daemon, Error> {
        if setups.is_empty() {
            return Err(Error::NoInstance);
        }
        let mut netlink = Netlink::open().map_err(netlink_error("opening a NETLINK_ROUTE socket"))?;
        let monitor = LinkMonitor::open().map_err(netlink_error("subscribing to link and address changes"))?;
        let links = netlink.links().map_err(netlink_error("reading links over netlink"))?;
        let mut router = Router::new();
        let mut meta = Vec::new();
        let mut sockets: Vec<VrrpSocket> = Vec::new();
        let mut families: HashMap<u32, (String, [u8; 6], bool, bool)> = HashMap::new();
        let mut startup_warnings = Vec::new();
        let any_notify = setups.iter().any(|s| s.notify.scripts().next().is_some());
        for setup in setups {
            let p = prepare(&mut netlink, &links, setup, &scripts, &options.script_policy)?;
            startup_warnings.extend(p.warnings.iter().map(|w| (Some(p.name.clone()), w.clone())));
            let link = find_link(&links, &p.interface)?;
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
            let id = router
                .add(link.index, p.instance)
                .map_err(|source| Error::Router { instance: p.name.clone(), source })?;
            if !sockets.iter().any(|s| s.ifindex() == link.index && s.is_ipv6() == p.ipv6) {
                let socket = VrrpSocket::open(&link.name, link.index, p.ipv6)
                    .map_err(io_error(format!("opening a raw VRRP socket on {}", link.name)))?;
                sockets.push(socket);
            }
            router.set_link(Duration::ZERO, link.index, link.up);
            for (_, up, check) in &p.tracked {
                router.set_check(Duration::ZERO, check, *up);
            }
            debug_assert_eq!(id.index(), meta.len());
            meta.push(Meta {
                name: p.name,
                interface: p.interface,
                ifindex: link.index,
                ipv6: p.ipv6,
                vips: p.vips,
                tracked: p.tracked.into_iter().map(|(index, _, check)| (index, check)).collect(),
                notify: p.notify,
                last_reason: None,
                failing: HashMap::new(),
            });
        }
        let mut announcers = HashMap::new();
        for (index, (name, mac, v4, v6)) in families {
            let announcer = Announcer::open(&name, index, mac, v4, v6, forwarding(&name))
                .map_err(io_error(format!("opening the GARP/NA sockets on {name}")))?;
            announcers.insert(index, announcer);
        }
        let epoch = Instant::now();
        let runners = runners(&scripts, &options.script_policy, epoch, &mut startup_warnings)?;
        if let Some(w) = policy_warning(&options.script_policy, !scripts.is_empty() || any_notify) {
            startup_warnings.push((None, w));
        }
        let mut daemon = Daemon {
            epoch,
            router,
            meta,
            sockets,
            announcers,
            netlink,
            monitor,
            scripts: runners,
            notifier: Notifier::new(options.notify_timeout),
            reaper: Reaper::default(),
            options,
            started: false,
            startup_warnings,
            status_due: None,
            status_seen: 0,
            status_last: Instant::now(),
        };
        daemon.refresh_sources(Duration::ZERO)?;
        Ok(daemon)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Each instance's name, state and effective priority.
    pub fn states(&self) -> Vec<(String, State, u8)> {
        self.router
            .instances()
            .map(|(id, _, i)| (self.meta[id.index()].name.clone(), i.state(), i.priority()))
            .collect()
    }

    /// Every instance's state, reason, counters and timers.
    pub fn status(&self) -> Vec<InstanceStatus> {
        let now = self.now();
        self.router
            .instances()
            .map(|(id, _, i)| {
                let m = &self.meta[id.index()];
                InstanceStatus {
                    name: m.name.clone(),
                    interface: m.interface.clone(),
                    vrid: i.config().vrid,
                    state: i.state(),
                    priority: i.priority(),
                    reason: m.last_reason.clone(),
                    vips: m.vips.iter().map(|(_, a, p, _)| format!("{a}/{p}")).collect(),
                    source: i.config().primary,
                    source_usable: i.source_usable(),
                    link_up: i.link_up(),
                    stats: i.stats().clone(),
                    timers: i
                        .timers()
                        .map(|(timer, at)| TimerStatus { timer, due_in: at.saturating_sub(now) })
                        .collect(),
                    pending_vip_removal: i.pending_removal().to_vec(),
                }
            })
            .collect()
    }

    /// Runs until `stop` becomes readable (a signal pipe), then stops gracefully: masters send
    /// priority 0, VIPs are removed, scripts stopped. Events (transitions, warnings, drops,
    /// status) go to `events` as they happen. An `Err` is a failure of the loop itself (poll);
    /// failures of single sends, VIP changes and announcements are reported to the core and as
    /// [`Event::Warning`]s.
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
            for (instance, message) in std::mem::take(&mut self.startup_warnings) {
                events(Event::Warning { instance, message });
            }
            // Stale VIPs (a previous run killed) go first, as keepalived's static pod does; an
            // address owner's VIPs are its own addresses and stay.
            for (id, _, i) in self.router.instances() {
                if i.config().priority == 255 {
                    continue;
                }
                let m = &self.meta[id.index()];
                for (index, addr, prefix, _) in &m.vips {
                    if let Err(e) = self.netlink.remove_address(*index, *addr, *prefix) {
                        events(Event::Warning {
                            instance: Some(m.name.clone()),
                            message: format!("removing stale VIP {addr}: {e}"),
                        });
                    }
                }
            }
            let now = self.now();
            self.router.start(now);
            self.drain(events);
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
    /// else is refused with [`Error::Reload`] (or the script's or configuration's error) and
    /// nothing changes.
    pub fn reload(
        &mut self,
        setups: Vec<InstanceSetup>,
        scripts: Vec<CheckScript>,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let options = self.options.clone();
        self.reload_with_options(setups, scripts, options, events)
    }

    /// [`Daemon::reload`] with new options (script security and users, notify timeout).
    ///
    /// Everything is checked before anything changes: every setup against the host, every
    /// script, and the new configurations as one set through the router (each valid, and no
    /// two instances that could not be told apart, new against new and against old), each
    /// configuration validated once. Only then are scripts swapped (old ones handed to the
    /// reaper, which stops them without blocking the loop) and the instances reconfigured.
    pub fn reload_with_options(
        &mut self,
        setups: Vec<InstanceSetup>,
        scripts: Vec<CheckScript>,
        options: Options,
        events: &mut dyn FnMut(Event),
    ) -> Result<(), Error> {
        let same_names =
            setups.len() == self.meta.len() && setups.iter().all(|s| self.meta.iter().any(|m| m.name == s.name));
        if !same_names {
            return Err(Error::Reload(ReloadRefusal::Instances));
        }
        let links = self.netlink.links().map_err(netlink_error("reading links over netlink"))?;
        let mut prepared = Vec::new();
        let mut warnings = Vec::new();
        for setup in setups {
            let p = prepare(&mut self.netlink, &links, setup, &scripts, &options.script_policy)?;
            let Some(i) = self.meta.iter().position(|m| m.name == p.name) else { continue };
            let id = InstanceId::from_index(i as u32);
            let m = &self.meta[i];
            let link = find_link(&links, &p.interface)?;
            let vrid = self.router.instance(id).map(|i| i.config().vrid);
            if link.index != m.ifindex || p.ipv6 != m.ipv6 || Some(p.instance.config().vrid) != vrid {
                return Err(Error::Reload(ReloadRefusal::Identity(p.name)));
            }
            if let Some(&(_, vip, ..)) = p.vips.iter().find(|(index, ..)| !self.announcers.contains_key(index)) {
                return Err(Error::Reload(ReloadRefusal::VipInterface { instance: p.name, vip }));
            }
            warnings.extend(p.warnings.iter().map(|w| (Some(p.name.clone()), w.clone())));
            prepared.push((id, p));
        }
        let wall = Instant::now();
        let mut fresh = runners(&scripts, &options.script_policy, wall, &mut warnings)?;
        // The whole set through the router at once: refused with nothing changed, or applied.
        let now = self.now();
        let mut rest = Vec::with_capacity(prepared.len());
        let mut instances = Vec::with_capacity(prepared.len());
        for (id, p) in prepared {
            let Prepared { name, vips, tracked, notify, instance, .. } = p;
            instances.push((id, instance));
            rest.push((id, name, vips, tracked, notify));
        }
        if let Err((id, source)) = self.router.reconfigure_validated(now, instances) {
            let instance = self.meta[id.index()].name.clone();
            return Err(Error::Router { instance, source });
        }
        // Nothing can fail from here on.
        let mut old = std::mem::take(&mut self.scripts);
        for runner in &mut fresh {
            if let Some(k) = old.iter().position(|r| r.script == runner.script) {
                *runner = old.swap_remove(k);
            }
        }
        self.scripts = fresh;
        for mut gone in old {
            gone.stop(&mut self.reaper, wall);
        }
        self.notifier.set_timeout(options.notify_timeout);
        self.options = options;
        for (instance, message) in warnings {
            events(Event::Warning { instance, message });
        }
        let mut new_vips = Vec::with_capacity(rest.len());
        for (id, _, vips, tracked, notify) in rest {
            for (_, up, check) in &tracked {
                self.router.set_check(now, check, *up);
            }
            let m = &mut self.meta[id.index()];
            m.tracked = tracked.into_iter().map(|(index, _, check)| (index, check)).collect();
            m.notify = notify;
            // Dropped VIPs are removed through the old list, then the new one stays.
            let mut both = vips.clone();
            both.extend(m.vips.iter().filter(|v| !vips.iter().any(|n| n.1 == v.1)).cloned());
            m.vips = both;
            new_vips.push((id, vips));
        }
        self.drain(events);
        for (id, vips) in new_vips {
            self.meta[id.index()].vips = vips;
        }
        self.refresh_sources(now)?;
        self.drain(events);
        self.status_due = Some(Instant::now());
        Ok(())
    }

    fn run_loop(
        &mut self,
        stop: BorrowedFd<'_>,
        reload: Option<BorrowedFd<'_>>,
        events: &mut dyn FnMut(Event),
    ) -> Result<Wake, Error> {
        loop {
            for message in self.notifier.reap(&mut self.reaper) {
                events(Event::Warning { instance: None, message });
            }
            self.reaper.poll(Instant::now());
            let now = self.now();
            if self.router.poll_timeout().is_some_and(|t| t <= now) {
                self.router.handle_timeout(now);
                self.drain(events);
            }
            let wall = Instant::now();
            for s in 0..self.scripts.len() {
                if let Some(result) = self.scripts[s].poll(wall, &mut self.reaper) {
                    let name = self.scripts[s].script.name.clone();
                    let passing = result == RunResult::Passed;
                    if let RunResult::Failed(why) = &result {
                        events(Event::CheckFailed { script: name.clone(), reason: why.clone() });
                    }
                    self.router.set_check(self.now(), &name, passing);
                    self.drain(events);
                }
            }
            self.maybe_status(events);
            // The next wake-up: the earliest instance timer, script event or status.
            let now = self.now();
            let wall = Instant::now();
            let mut wakes: Vec<Instant> = Vec::new();
            if let Some(t) = self.router.poll_timeout() {
                wakes.push(wall + t.saturating_sub(now));
            }
            wakes.extend(self.scripts.iter().map(|s| s.next_wake(wall)));
            wakes.extend(self.notifier.next_wake(wall));
            wakes.extend(self.reaper.next_wake(wall));
            wakes.extend(self.status_due);
            let timeout = wakes.into_iter().min().map(|t| t.saturating_duration_since(wall));
            // The stop and reload descriptors (without a reload one, the stop one again), netlink,
            // then one raw socket per interface and family.
            let mut fds = vec![stop, reload.unwrap_or(stop), self.monitor.fd()];
            fds.extend(self.sockets.iter().map(VrrpSocket::fd));
            let ready = bm_sys::poll::wait(&fds, timeout).map_err(io_error("poll"))?;
            // The descriptors borrow the sockets, which the reads below take mutably.
            drop(fds);
            if ready[0] {
                return Ok(Wake::Stopped);
            }
            if ready[1] && reload.is_some() {
                return Ok(Wake::Reload);
            }
            if ready[2] {
                self.read_changes(events);
            }
            for (k, &is_ready) in ready[3..].iter().enumerate() {
                if is_ready {
                    self.read_socket(k, events);
                }
            }
        }
    }

    /// Tells every instance whether its source address is usable now (an address dump).
    fn refresh_sources(&mut self, now: Duration) -> Result<(), Error> {
        let addrs = self.netlink.addresses().map_err(netlink_error("reading addresses over netlink"))?;
        let ids: Vec<(InstanceId, IpAddr, u32)> =
            self.router.instances().map(|(id, ifindex, i)| (id, i.config().primary, ifindex)).collect();
        for (id, primary, ifindex) in ids {
            let _ = self.router.set_source_usable(now, id, usable(&addrs, primary, ifindex));
        }
        Ok(())
    }

    fn read_changes(&mut self, events: &mut dyn FnMut(Event)) {
        let changes = match self.monitor.drain() {
            Ok(c) => c,
            Err(e) => {
                events(Event::Warning { instance: None, message: format!("{e}; re-reading links and addresses") });
                match self.netlink.links() {
                    Ok(links) => links
                        .into_iter()
                        .flat_map(|l| [Change::Address(l.index), Change::Link(l.index, l.up)])
                        .collect(),
                    Err(e) => {
                        events(Event::Warning { instance: None, message: format!("reading links: {e}") });
                        return;
                    }
                }
            }
        };
        let now = self.now();
        // Links going down first, so that FAULT says "link down" even when the link took its
        // IPv6 addresses with it; then the addresses; then links coming back, so that one whose
        // IPv6 link-local is tentative again (DAD runs anew) never looks usable in between.
        for &change in &changes {
            if let Change::Link(index, false) = change {
                self.link_changed(now, index, false);
            }
        }
        self.drain(events);
        if !changes.is_empty() {
            if let Err(e) = self.refresh_sources(now) {
                events(Event::Warning { instance: None, message: e.to_string() });
            }
            self.drain(events);
        }
        for &change in &changes {
            if let Change::Link(index, true) = change {
                self.link_changed(now, index, true);
            }
        }
        self.drain(events);
    }

    /// A link's carrier, for the instances on it and the checks tracking it.
    fn link_changed(&mut self, now: Duration, index: u32, up: bool) {
        self.router.set_link(now, index, up);
        let checks: Vec<String> = self
            .meta
            .iter()
            .flat_map(|m| m.tracked.iter().filter(|(k, _)| *k == index).map(|(_, c)| c.clone()))
            .collect();
        for check in checks {
            self.router.set_check(now, &check, up);
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
            if datagram.src.is_ipv6() != ipv6 {
                continue;
            }
            let (src, dst, ttl) = (datagram.src, datagram.dst, datagram.ttl);
            let payload = datagram.payload.to_vec();
            let now = self.now();
            if let Routed::Dropped { instance, reason, report: Some(report) } =
                self.router.handle_packet(now, ifindex, src, dst, ttl, &payload)
            {
                let name = self.meta[instance.index()].name.clone();
                events(Event::Dropped { instance: name, from: src, reason, report });
                self.status_soon();
            }
            self.drain(events);
        }
    }

    fn status_soon(&mut self) {
        let soon = Instant::now() + STATUS_SOON;
        self.status_due = Some(self.status_due.map_or(soon, |t| t.min(soon)));
    }

    /// A status event when one is due, or later when only the advert counts changed.
    fn maybe_status(&mut self, events: &mut dyn FnMut(Event)) {
        let seen: u64 =
            self.router.instances().map(|(_, _, i)| i.stats().adverts_accepted + i.stats().adverts_sent).sum();
        // Counts that changed are reported within STATUS_LATER; nothing at all within the
        // heartbeat.
        let mut due = self.status_due.unwrap_or(self.status_last + STATUS_HEARTBEAT);
        if seen != self.status_seen {
            due = due.min(Instant::now() + STATUS_LATER);
        }
        self.status_due = Some(due);
        if due <= Instant::now() {
            self.status_seen = seen;
            self.status_last = Instant::now();
            // The next heartbeat is a wake-up of its own: a daemon with no timer running
            // (every instance in FAULT) still reports.
            self.status_due = Some(self.status_last + STATUS_HEARTBEAT);
            events(Event::Status { instances: self.status(), unrouted: *self.router.stats() });
        }
    }

    /// Carries out the instances' pending actions, reporting each outcome back.
    fn drain(&mut self, events: &mut dyn FnMut(Event)) {
        while let Some((id, action)) = self.router.poll_action() {
            let now = self.now();
            let m = &self.meta[id.index()];
            let warn = |message: String| Event::Warning { instance: Some(m.name.clone()), message };
            match action {
                Action::Send { to, bytes, .. } => {
                    let Some(instance) = self.router.instance(id) else { continue };
                    let primary = instance.config().primary;
                    let socket = self.sockets.iter().find(|s| s.ifindex() == m.ifindex && s.is_ipv6() == m.ipv6);
                    let outcome = match socket {
                        Some(s) => s.send(primary, to, &bytes).map_err(|e| e.to_string()),
                        None => Err("no socket".to_string()),
                    };
                    // A destination's failing streak is said once when it starts and once when
                    // it ends (the core counts every failure, and turns rounds in which every
                    // destination failed, when they persist, into FAULT).
                    let failed_before = m.failing.get(&to).copied();
                    let message = match (&outcome, failed_before) {
                        (Err(e), None) => Some(format!("sending an advert to {to} from {primary}: {e}")),
                        (Ok(()), Some(n)) => Some(format!("adverts to {to} go out again after {n} failed")),
                        _ => None,
                    };
                    if let Some(message) = message {
                        events(warn(message));
                    }
                    let failing = &mut self.meta[id.index()].failing;
                    match outcome {
                        Ok(()) => {
                            failing.remove(&to);
                        }
                        Err(_) => *failing.entry(to).or_insert(0) += 1,
                    }
                    let _ = self.router.report_send(now, id, to, outcome.as_ref().map(|_| ()).map_err(|e| e.as_str()));
                    if outcome.is_err() {
                        self.status_soon();
                    }
                }
                Action::AddVips(addrs) | Action::RemoveVips(addrs) if addrs.is_empty() => {}
                Action::AddVips(addrs) => self.change_vips(id, VipOp::Add, &addrs, events),
                Action::RemoveVips(addrs) => self.change_vips(id, VipOp::Remove, &addrs, events),
                Action::Announce { vips, count } => {
                    for _ in 0..count {
                        for (index, addr, _, _) in m.vips.iter().filter(|v| vips.contains(&v.1)) {
                            if let Some(a) = self.announcers.get(index)
                                && let Err(e) = a.announce(*addr)
                            {
                                events(warn(format!("announcing {addr}: {e}")));
                            }
                        }
                    }
                }
                Action::Transition { from, to, reason, priority } => {
                    let failures = self.notifier.fire(&m.notify, &m.name, to, priority);
                    events(Event::Transition { instance: m.name.clone(), from, to, reason: reason.clone(), priority });
                    for message in failures {
                        events(warn(message));
                    }
                    self.meta[id.index()].last_reason = Some(reason);
                    self.status_soon();
                }
            }
        }
    }

    /// Adds or removes VIPs over netlink, reporting each outcome to the core (which retries
    /// failures).
    fn change_vips(&mut self, id: InstanceId, op: VipOp, addrs: &[IpAddr], events: &mut dyn FnMut(Event)) {
        let now = self.now();
        let m = &self.meta[id.index()];
        let mut done = Vec::new();
        let mut failed: Vec<(IpAddr, String)> = Vec::new();
        for (index, addr, prefix, label) in m.vips.iter().filter(|v| addrs.contains(&v.1)) {
            let r = match op {
                VipOp::Add => self.netlink.add_address(*index, *addr, *prefix, label.as_deref()),
                VipOp::Remove => self.netlink.remove_address(*index, *addr, *prefix),
            };
            match r {
                Ok(()) => done.push(*addr),
                Err(e) => failed.push((*addr, e.to_string())),
            }
        }
        let verb = if op == VipOp::Add { "adding" } else { "removing" };
        for (addr, e) in &failed {
            events(Event::Warning {
                instance: Some(m.name.clone()),
                message: format!("{verb} VIP {addr}: {e}; retrying"),
            });
        }
        if !done.is_empty() {
            let _ = self.router.report_vips(now, id, op, &done, Ok(()));
        }
        if let Some((_, e)) = failed.first() {
            let vips: Vec<IpAddr> = failed.iter().map(|(a, _)| *a).collect();
            let _ = self.router.report_vips(now, id, op, &vips, Err(e));
            self.status_soon();
        }
    }

    /// Stops every instance: masters resign with priority 0 and drop their VIPs (a removal
    /// that fails is tried once more); scripts are stopped. [`Daemon::run`] calls it before
    /// returning; calling it again does nothing.
    pub fn shutdown(&mut self, events: &mut dyn FnMut(Event)) {
        let now = self.now();
        self.router.shutdown(now);
        self.drain(events);
        let pending: Vec<(InstanceId, Vec<IpAddr>)> = self
            .router
            .instances()
            .filter(|(_, _, i)| !i.pending_removal().is_empty())
            .map(|(id, _, i)| (id, i.pending_removal().to_vec()))
            .collect();
        for (id, vips) in pending {
            // The daemon exits now: one more try instead of the core's backoff.
            self.change_vips(id, VipOp::Remove, &vips, events);
            self.drain(events);
        }
        let now = Instant::now();
        for s in &mut self.scripts {
            s.stop(&mut self.reaper, now);
        }
        // notify_stop scripts get a moment; then they and everything they started are stopped,
        // and what finished scripts left running in their process groups is killed.
        self.notifier.finish(NOTIFY_STOP_WAIT, &mut self.reaper);
        self.reaper.finish();
        events(Event::Status { instances: self.status(), unrouted: *self.router.stats() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(index: u32, addr: &str, flags: u32) -> Address {
        Address { index, addr: addr.parse().unwrap(), prefix_len: 64, flags, scope_link: true }
    }

    const TENTATIVE: u32 = 0x40;

    #[test]
    fn a_link_local_source_counts_only_on_its_own_link() {
        // fe80::1 is configured on links 2 and 3; on link 2 (the instance's) it is still
        // in DAD after a flap. The copy on link 3 must not make link 2's source usable.
        let addrs = [address(2, "fe80::1", TENTATIVE), address(3, "fe80::1", 0)];
        assert!(!usable(&addrs, "fe80::1".parse().unwrap(), 2));
        assert!(usable(&addrs, "fe80::1".parse().unwrap(), 3));
    }

    #[test]
    fn a_global_source_counts_on_any_link() {
        // unicast_src_ip may be another link's address (keepalived allows it too).
        let addrs = [address(3, "192.0.2.1", 0), address(3, "2001:db8::1", TENTATIVE)];
        assert!(usable(&addrs, "192.0.2.1".parse().unwrap(), 2));
        assert!(!usable(&addrs, "2001:db8::1".parse().unwrap(), 3));
        assert!(!usable(&addrs, "192.0.2.2".parse().unwrap(), 2));
    }
}
