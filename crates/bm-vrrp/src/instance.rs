//! One virtual router: the RFC 5798 §6.4 state machine (Initialize, Backup, Master) with
//! keepalived's extensions (FAULT, preempt_delay, nopreempt, an immediate advert when a master
//! hears a lower priority, GARP bursts), driven by time and packets and emitting actions.
//!
//! Time is a [`Duration`] since any fixed epoch the caller chooses (a monotonic clock), so an
//! instance can be simulated for hours in microseconds. Deadlines are `now` plus a delay,
//! saturating: a `now` near [`Duration::MAX`] never overflows (such a timer is due at
//! `Duration::MAX`).

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};
use crate::interval::AdvertInterval;
use crate::packet::{self, Advert, DropReason, RxCheck, V3Ipv4Checksum, Version};
use crate::peer;
use crate::reason::Reason;
use crate::stats::Stats;
use crate::timer::{Timer, TimerTable};
use crate::track::{self, Check};

/// The states (RFC 5798 §6.4 plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not started, or stopped.
    Initialize,
    /// Listening to the master, ready to take over.
    Backup,
    /// Holding the VIPs and advertising.
    Master,
    /// Link down, source address unusable, a weight-0 check failing, or sends failing:
    /// neither advertising nor taking over.
    Fault,
}

/// What the caller must do. Its serde form is an object tagged by `action`:
/// `{"action": "send", "to", "bytes", "priority"}`, `{"action": "add_vips", "vips"}`,
/// `{"action": "remove_vips", "vips"}`, `{"action": "announce", "vips", "count"}`,
/// `{"action": "transition", "from", "to", "reason", "priority"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ActionForm", from = "ActionForm")]
pub enum Action {
    /// Send this VRRP message (IP protocol 112, TTL/hop limit 255) from the primary address;
    /// then say how it went ([`Instance::report_send`]).
    Send {
        /// The multicast group or a unicast peer.
        to: IpAddr,
        /// The message (the checksum already covers `to`).
        bytes: Vec<u8>,
        /// The priority it carries (0 when resigning).
        priority: u8,
    },
    /// Add the VIPs to the interface; then say how it went ([`Instance::report_vips`]).
    AddVips(Vec<IpAddr>),
    /// Remove the VIPs from the interface; then say how it went ([`Instance::report_vips`]).
    RemoveVips(Vec<IpAddr>),
    /// Announce the VIPs: `count` gratuitous ARPs (IPv4) or unsolicited NAs (IPv6) each.
    Announce {
        /// The VIPs.
        vips: Vec<IpAddr>,
        /// How many of each.
        count: u32,
    },
    /// The state changed.
    Transition {
        /// From.
        from: State,
        /// To.
        to: State,
        /// Why.
        reason: Reason,
        /// The effective priority now.
        priority: u8,
    },
}

/// [`Action`] as serde writes and reads it: an internally tagged enum cannot hold a bare list
/// (serde refuses `AddVips(Vec<IpAddr>)` at run time), so the VIPs get a field of their own.
#[derive(Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum ActionForm {
    Send { to: IpAddr, bytes: Vec<u8>, priority: u8 },
    AddVips { vips: Vec<IpAddr> },
    RemoveVips { vips: Vec<IpAddr> },
    Announce { vips: Vec<IpAddr>, count: u32 },
    Transition { from: State, to: State, reason: Reason, priority: u8 },
}

impl From<Action> for ActionForm {
    fn from(a: Action) -> ActionForm {
        match a {
            Action::Send { to, bytes, priority } => ActionForm::Send { to, bytes, priority },
            Action::AddVips(vips) => ActionForm::AddVips { vips },
            Action::RemoveVips(vips) => ActionForm::RemoveVips { vips },
            Action::Announce { vips, count } => ActionForm::Announce { vips, count },
            Action::Transition { from, to, reason, priority } => ActionForm::Transition { from, to, reason, priority },
        }
    }
}

impl From<ActionForm> for Action {
    fn from(a: ActionForm) -> Action {
        match a {
            ActionForm::Send { to, bytes, priority } => Action::Send { to, bytes, priority },
            ActionForm::AddVips { vips } => Action::AddVips(vips),
            ActionForm::RemoveVips { vips } => Action::RemoveVips(vips),
            ActionForm::Announce { vips, count } => Action::Announce { vips, count },
            ActionForm::Transition { from, to, reason, priority } => Action::Transition { from, to, reason, priority },
        }
    }
}

/// Which VIP action a report is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VipOp {
    /// [`Action::AddVips`].
    Add,
    /// [`Action::RemoveVips`].
    Remove,
}

/// The longest a failed VIP change waits for its next try.
const VIP_RETRY_MAX: Duration = Duration::from_secs(32);
/// The longest FAULT for failing sends lasts before listening again.
const SEND_RETRY_MAX: Duration = Duration::from_secs(64);
/// Advert rounds whose sends are still to be reported, at most: a caller that never reports
/// (a simulation) must not make the queue grow.
const ROUNDS_KEPT: usize = 16;

/// One advert round (an advert to the group, or one to each unicast peer) whose sends are
/// being reported.
#[derive(Clone, Copy, Debug)]
struct Round {
    /// Sends not reported yet.
    left: u32,
    /// Whether one of them went out.
    delivered: bool,
}

/// One virtual router.
///
/// # Driving it
///
/// Inputs are method calls that take `now` (a monotonic time since any epoch, never going
/// backwards): [`start`](Instance::start), [`handle_packet`](Instance::handle_packet),
/// [`handle_timeout`](Instance::handle_timeout), [`set_check`](Instance::set_check),
/// [`set_link`](Instance::set_link), [`set_source_usable`](Instance::set_source_usable),
/// [`report_send`](Instance::report_send), [`report_vips`](Instance::report_vips),
/// [`reconfigure`](Instance::reconfigure), [`shutdown`](Instance::shutdown). Outputs are
/// [`Action`]s. The drain rule: after every input, call [`poll_action`](Instance::poll_action)
/// until it returns `None` and carry out each action (reporting sends and VIP changes back),
/// then sleep until [`poll_timeout`](Instance::poll_timeout) or the next packet or event,
/// whichever comes first, and call `handle_timeout` when the time has come. Getters
/// ([`state`](Instance::state), [`stats`](Instance::stats), [`timers`](Instance::timers), ...)
/// never change anything. No method panics.
///
/// ```
/// use std::net::IpAddr;
/// use std::time::Duration;
/// use bm_vrrp::{Action, Config, Instance, State, VipOp};
///
/// let vip: IpAddr = "192.168.111.5".parse().unwrap();
/// let mut r = Instance::new(Config::new(51, 40, "192.168.111.21".parse().unwrap(), vec![vip])).unwrap();
/// let mut now = Duration::ZERO;
/// let mut sent = 0;
/// r.start(now);
/// // A virtual clock: each round drains the actions, then jumps to the next deadline.
/// for _ in 0..10 {
///     while let Some(action) = r.poll_action() {
///         match action {
///             Action::Send { to, bytes, .. } => {
///                 sent += 1; // socket.send_to(&bytes, to) in a daemon
///                 r.report_send(now, to, Ok(()));
///             }
///             Action::AddVips(vips) => r.report_vips(now, VipOp::Add, &vips, Ok(())),
///             Action::RemoveVips(vips) => r.report_vips(now, VipOp::Remove, &vips, Ok(())),
///             Action::Announce { .. } | Action::Transition { .. } => {}
///         }
///     }
///     let Some(next) = r.poll_timeout() else { break };
///     now = next; // a daemon sleeps in poll(2) until then, or until a packet arrives
///     r.handle_timeout(now);
/// }
/// // Nobody else advertised: it took over after Master_Down_Interval and advertises each second.
/// assert_eq!(r.state(), State::Master);
/// assert!(sent >= 5);
/// ```
#[derive(Clone, Debug)]
pub struct Instance {
    config: Config,
    /// The configured interval, validated.
    interval: AdvertInterval,
    checks: Vec<Check>,
    link_up: bool,
    source_usable: bool,
    /// Why we are in FAULT for failing sends, while we are.
    send_fault: Option<Reason>,
    /// FAULTs for failing sends since the last send that worked: the retry backs off.
    send_faults: u32,
    /// Advert rounds handed out and not fully reported yet, oldest first.
    rounds: VecDeque<Round>,
    state: State,
    priority: u8,
    /// v3: learned from the master (RFC 5798 §6.4.2); our own interval while master.
    master_adver_interval: AdvertInterval,
    /// The master that resigned (priority 0), while we wait Skew_Time to take over.
    resigned_by: Option<IpAddr>,
    timers: TimerTable,
    /// VIPs whose removal failed, tried again at [`Timer::VipRetry`].
    pending_removal: Vec<IpAddr>,
    /// VIPs whose addition failed, tried again at [`Timer::VipRetry`] while master.
    pending_add: Vec<IpAddr>,
    /// Failed VIP changes since the last one that worked: the retry backs off.
    vip_failures: u32,
    stats: Stats,
    actions: VecDeque<Action>,
    buf: Vec<u8>,
}

impl Instance {
    /// A stopped instance (state Initialize); [`Instance::start`] starts it. The configuration
    /// is validated here, once ([`Config::validate`]).
    pub fn new(config: Config) -> Result<Instance, ConfigError> {
        let interval = config.validate()?;
        let checks: Vec<Check> = config.checks.iter().cloned().map(Check::new).collect();
        let priority = track::effective_priority(config.priority, &checks);
        Ok(Instance {
            master_adver_interval: interval,
            interval,
            config,
            checks,
            link_up: true,
            source_usable: true,
            send_fault: None,
            send_faults: 0,
            rounds: VecDeque::new(),
            state: State::Initialize,
            priority,
            resigned_by: None,
            timers: TimerTable::default(),
            pending_removal: Vec::new(),
            pending_add: Vec::new(),
            vip_failures: 0,
            stats: Stats::default(),
            actions: VecDeque::new(),
            buf: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The configured advertisement interval, as validated.
    pub fn interval(&self) -> AdvertInterval {
        self.interval
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority (base priority adjusted by the tracked checks).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The running timers and their deadlines.
    pub fn timers(&self) -> impl Iterator<Item = (Timer, Duration)> + '_ {
        self.timers.running()
    }

    /// Whether the link is up, as last reported.
    pub fn link_up(&self) -> bool {
        self.link_up
    }

    /// Whether the source address is usable, as last reported.
    pub fn source_usable(&self) -> bool {
        self.source_usable
    }

    /// VIPs whose removal failed and is being retried.
    pub fn pending_removal(&self) -> &[IpAddr] {
        &self.pending_removal
    }

    /// Skew_Time: v3 `(256 - priority) * Master_Adver_Interval / 256`, v2 `(256 - priority) /
    /// 256` seconds, both exact to the nanosecond (keepalived computes it in microseconds).
    pub fn skew_time(&self) -> Duration {
        let unit = match self.interval {
            AdvertInterval::V3(_) => self.master_adver_interval.duration(),
            AdvertInterval::V2(_) => Duration::from_secs(1),
        };
        unit * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval: `down_timer_adverts * interval + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        let interval = match self.interval {
            AdvertInterval::V3(_) => self.master_adver_interval.duration(),
            AdvertInterval::V2(_) => self.interval.duration(),
        };
        interval * self.config.down_timer_adverts + self.skew_time()
    }

    /// Startup (RFC 5798 §6.4.1): the owner becomes master at once, everyone else backup;
    /// FAULT if the link is down, the source address unusable or a weight-0 check failing.
    pub fn start(&mut self, now: Duration) {
        if self.state != State::Initialize {
            return;
        }
        self.send_fault = None;
        if !self.config.preempt_delay.is_zero() {
            self.timers.set(Timer::PreemptDelay, now.saturating_add(self.config.preempt_delay));
        }
        if let Some(cause) = self.fault_cause() {
            self.transition(State::Fault, cause);
        } else if self.priority == 255 {
            self.become_master(now, Reason::Owner);
        } else {
            self.become_backup(now, Reason::Startup);
        }
    }

    /// Applies a new configuration without leaving the current state, as keepalived's reload
    /// (SIGHUP) does: peers, priority, interval, preemption, announcements, checks and VIPs
    /// change in place. A check that keeps its name keeps its verdict; a master adds and
    /// announces new VIPs and removes dropped ones. The virtual router id and the address
    /// family cannot change: that is another router ([`ConfigError::Identity`]). A refused
    /// configuration changes nothing.
    pub fn reconfigure(&mut self, now: Duration, config: Config) -> Result<(), ConfigError> {
        let fresh = Instance::new(config)?;
        self.check_successor(&fresh)?;
        self.take_over(now, fresh);
        Ok(())
    }

    /// Whether `fresh` (a validated configuration) may replace this one's in place: the same
    /// virtual router id and address family.
    pub(crate) fn check_successor(&self, fresh: &Instance) -> Result<(), ConfigError> {
        let (old, new) = (&self.config, &fresh.config);
        if new.vrid != old.vrid || new.primary.is_ipv4() != old.primary.is_ipv4() {
            return Err(ConfigError::Identity);
        }
        Ok(())
    }

    /// Applies `fresh`'s configuration, checked by [`Instance::check_successor`]; cannot fail.
    pub(crate) fn take_over(&mut self, now: Duration, fresh: Instance) {
        let mut checks = fresh.checks;
        for c in &mut checks {
            if let Some(old) = self.checks.iter().find(|o| o.config().name == c.config().name) {
                c.carry_from(old);
            }
        }
        let old = std::mem::replace(&mut self.config, fresh.config);
        self.interval = fresh.interval;
        self.checks = checks;
        if self.state == State::Master {
            let dropped: Vec<IpAddr> = old.vips.iter().filter(|v| !self.config.vips.contains(v)).copied().collect();
            let added: Vec<IpAddr> = self.config.vips.iter().filter(|v| !old.vips.contains(v)).copied().collect();
            if !dropped.is_empty() {
                self.actions.push_back(Action::RemoveVips(dropped));
            }
            if !added.is_empty() {
                self.actions.push_back(Action::AddVips(added.clone()));
                self.actions.push_back(Action::Announce { vips: added, count: self.config.garp_repeat });
            }
            // A master advertises its own interval, from the next advert on.
            self.master_adver_interval = self.interval;
            let next = now.saturating_add(self.interval.duration());
            self.timers.set(Timer::Advert, self.timers.get(Timer::Advert).map_or(next, |t| t.min(next)));
        } else if self.master_adver_interval.version() != self.interval.version() {
            self.master_adver_interval = self.interval;
        }
        self.reassess(now, Reason::Reload);
    }

    /// Stops gracefully: a master resigns with priority 0 so that a backup takes over after
    /// Skew_Time, and drops the VIPs. A VIP removal that fails is still retried while the
    /// caller keeps calling [`Instance::handle_timeout`].
    pub fn shutdown(&mut self, _now: Duration) {
        if self.state == State::Master {
            self.send_adverts(0);
            self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
        }
        self.transition(State::Initialize, Reason::Shutdown);
    }

    /// A received VRRP message (the IP payload) from `src` to `dst` with TTL / hop limit `ttl`.
    /// Returns why it was dropped, if it was; every drop is counted in [`Instance::stats`]
    /// under its [`DropKind`](crate::DropKind). The sender is checked first (unicast peers and
    /// their TTL ranges, unicast against multicast; see [`Config::check_unicast_src`]), then
    /// the packet ([`decode`](crate::decode)).
    pub fn handle_packet(
        &mut self,
        now: Duration,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Result<(), DropReason> {
        // A dual-stack socket or a C caller may name IPv4 peers as ::ffff:a.b.c.d.
        let (src, dst) = (src.to_canonical(), dst.to_canonical());
        match self.check_packet(src, dst, ttl, bytes) {
            Ok(advert) => {
                self.stats.adverts_accepted += 1;
                self.handle_advert(now, src, &advert);
                Ok(())
            }
            Err(drop) => {
                self.stats.drops.count(drop.kind());
                Err(drop)
            }
        }
    }

    fn check_packet(&self, src: IpAddr, dst: IpAddr, ttl: u8, bytes: &[u8]) -> Result<Advert, DropReason> {
        let peers = &self.config.unicast_peers;
        peer::check_sender(peers, self.config.checks_unicast_src(), src, dst, ttl)?;
        let check = RxCheck {
            interval: self.interval,
            vrid: self.config.vrid,
            // keepalived skips the TTL of 255 in unicast mode: a peer's range replaces it.
            check_ttl: peers.is_empty(),
            auth: self.config.auth,
            vips: self.config.check_vips.then_some(self.config.vips.as_slice()),
        };
        packet::decode(bytes, src, dst, ttl, &check).map(|(advert, _form)| advert)
    }

    fn handle_advert(&mut self, now: Duration, src: IpAddr, advert: &Advert) {
        let theirs = advert.priority;
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup => {
                if theirs == 0 {
                    // The master resigns: take over after Skew_Time (RFC 5798 §6.4.2).
                    self.resigned_by = Some(src);
                    self.timers.set(Timer::MasterDown, now.saturating_add(self.skew_time()));
                } else if !self.config.preempt || !self.may_preempt(now) || theirs >= self.priority {
                    self.resigned_by = None;
                    if self.interval.version() == Version::V3 {
                        self.master_adver_interval = advert.interval;
                    }
                    self.timers.set(Timer::MasterDown, now.saturating_add(self.master_down_interval()));
                }
                // Otherwise a lower-priority master is ignored: the timer runs out and we preempt.
            }
            State::Master => {
                let higher_address = theirs == self.priority && addr_bits(src) > addr_bits(self.config.primary);
                if theirs == 0 {
                    self.send_adverts(self.priority);
                    self.timers.set(Timer::Advert, now.saturating_add(self.interval.duration()));
                } else if theirs > self.priority || higher_address {
                    if self.config.higher_prio_send_advert {
                        self.send_adverts(self.priority);
                    }
                    self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
                    let reason = if higher_address {
                        Reason::HigherAddressAdvert { from: src, priority: theirs }
                    } else {
                        Reason::HigherPriorityAdvert { from: src, priority: theirs, ours: self.priority }
                    };
                    self.transition(State::Backup, reason);
                    if self.interval.version() == Version::V3 {
                        self.master_adver_interval = advert.interval;
                    }
                    self.timers.set(Timer::MasterDown, now.saturating_add(self.master_down_interval()));
                } else {
                    // RFC 9568 (and keepalived): reassert at once against a lower-priority master,
                    // and win back the clients it may have announced the VIPs to (keepalived:
                    // now and after garp_lower_prio_delay). Two backups that time out together
                    // announce at the same moment, so the loser's burst can reach a client after
                    // ours; bmnet announces once more an advert interval later, when the loser
                    // has heard us and stopped, rather than leave clients on it for 5 s.
                    self.send_adverts(self.priority);
                    self.timers.set(Timer::Advert, now.saturating_add(self.interval.duration()));
                    let count = self.lower_prio_garp_count();
                    if count > 0 {
                        self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count });
                        let delay = self.config.garp_lower_prio_delay.unwrap_or(self.config.garp_delay);
                        match delay.is_zero() {
                            true => self.timers.stop(Timer::GarpLowerPrio),
                            false => self.timers.set(Timer::GarpLowerPrio, now.saturating_add(delay)),
                        }
                        if self.timers.get(Timer::GarpSettle).is_none() {
                            self.timers.set(Timer::GarpSettle, now.saturating_add(self.interval.duration()));
                        }
                    }
                }
            }
        }
    }

    /// Whether `preempt_delay` has passed.
    fn may_preempt(&self, now: Duration) -> bool {
        self.timers.get(Timer::PreemptDelay).is_none_or(|t| now >= t)
    }

    /// Runs the timers due at `now`. Every timer due is taken, whatever the state, so that
    /// [`Instance::poll_timeout`] is later than `now` afterwards.
    pub fn handle_timeout(&mut self, now: Duration) {
        // Nothing to do but no longer delay preemption.
        self.timers.take_expired(Timer::PreemptDelay, now);
        if self.timers.take_expired(Timer::VipRetry, now) {
            self.retry_vips();
        }
        if self.timers.take_expired(Timer::SendRetry, now) && self.send_fault.take().is_some() {
            self.reassess(now, Reason::SendRetry);
        }
        if self.timers.take_expired(Timer::MasterDown, now) && self.state == State::Backup {
            let reason = match self.resigned_by.take() {
                Some(from) => Reason::MasterResigned { from },
                None => Reason::MasterDownExpired,
            };
            self.become_master(now, reason);
        }
        if self.timers.take_expired(Timer::Advert, now) && self.state == State::Master {
            self.send_adverts(self.priority);
            self.timers.set(Timer::Advert, now.saturating_add(self.interval.duration()));
        }
        if self.timers.take_expired(Timer::GarpRepeat, now) && self.state == State::Master {
            self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count: self.config.garp_repeat });
            if !self.config.garp_refresh.is_zero() {
                self.timers.set(Timer::GarpRepeat, now.saturating_add(self.config.garp_refresh));
            }
        }
        for timer in [Timer::GarpLowerPrio, Timer::GarpSettle] {
            if self.timers.take_expired(timer, now) && self.state == State::Master {
                let count = self.lower_prio_garp_count();
                self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count });
            }
        }
    }

    /// The next time [`Instance::handle_timeout`] must run, if any.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next_timeout()
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// A tracked check's result (by name). Unknown names are ignored and return false.
    pub fn set_check(&mut self, now: Duration, name: &str, passing: bool) -> bool {
        let Some(check) = self.checks.iter_mut().find(|c| c.config().name == name) else { return false };
        if check.report(passing) {
            let name = name.to_string();
            let reason = if passing { Reason::CheckPassing { name } } else { Reason::CheckFailing { name } };
            self.reassess(now, reason);
        }
        true
    }

    /// The link's carrier. A link coming back also ends a FAULT for failing sends.
    pub fn set_link(&mut self, now: Duration, up: bool) {
        if self.link_up != up {
            self.link_up = up;
            if up {
                self.end_send_fault();
            }
            self.reassess(now, if up { Reason::LinkUp } else { Reason::LinkDown });
        }
    }

    /// Whether the primary (source) address can be sent from: present and, for IPv6, not
    /// tentative or failed DAD (RFC 4862 §5.4). While it cannot, the instance stays in FAULT,
    /// so that it never becomes a master whose adverts nobody hears: after a link comes back,
    /// IPv6 runs DAD on the link-local address again for 1–2 s, and every advert from it fails
    /// with EINVAL meanwhile (issue 14). Usable again also ends a FAULT for failing sends.
    pub fn set_source_usable(&mut self, now: Duration, usable: bool) {
        if self.source_usable != usable {
            self.source_usable = usable;
            let addr = self.config.primary;
            if usable {
                self.end_send_fault();
            }
            self.reassess(now, if usable { Reason::SourceUsable { addr } } else { Reason::SourceUnusable { addr } });
        }
    }

    /// How an [`Action::Send`] went. Every failed send is counted; a round (the advert to the
    /// group, or one to each unicast peer) fails when every one of its sends failed, and
    /// `down_timer_adverts` failed rounds in a row put a master in FAULT: its backups no longer
    /// hear it and take over, so holding the VIPs would make two masters. A round with one send
    /// that went out is heard by someone, and ends the streak. Reports count towards the oldest
    /// round not fully reported (sends are carried out in order); a report beyond the sends
    /// handed out counts as a round of its own. It listens again (BACKUP) after
    /// Master_Down_Interval, doubling each time the failures come back (up to 64 s), or at once
    /// when the link or the source address comes back.
    pub fn report_send(&mut self, now: Duration, _to: IpAddr, outcome: Result<(), &str>) {
        let mut round = self.rounds.pop_front().unwrap_or(Round { left: 1, delivered: false });
        round.left = round.left.saturating_sub(1);
        match outcome {
            Ok(()) => {
                round.delivered = true;
                self.stats.consecutive_failed_rounds = 0;
                self.send_faults = 0;
            }
            Err(error) => {
                self.stats.send_failures += 1;
                self.stats.last_send_error = Some(error.to_string());
            }
        }
        if round.left > 0 {
            self.rounds.push_front(round);
            return;
        }
        let Err(error) = outcome else { return };
        if round.delivered {
            return;
        }
        self.stats.consecutive_failed_rounds += 1;
        let failures = self.stats.consecutive_failed_rounds;
        if self.state == State::Master && failures >= self.config.down_timer_adverts {
            self.send_fault = Some(Reason::SendFailing { failures, error: error.to_string() });
            let backoff = self.master_down_interval().saturating_mul(1 << self.send_faults.min(16));
            self.timers.set(Timer::SendRetry, now.saturating_add(backoff.min(SEND_RETRY_MAX)));
            self.send_faults += 1;
            self.reassess(now, Reason::SendFailing { failures, error: error.to_string() });
        }
    }

    /// How an [`Action::AddVips`] or [`Action::RemoveVips`] went (for some or all of its
    /// VIPs). A failure is tried again after 1 s, doubling up to 32 s, until it works: a
    /// removal until the instance becomes master again (then the VIPs are wanted), an
    /// addition while it stays master.
    pub fn report_vips(&mut self, now: Duration, op: VipOp, vips: &[IpAddr], outcome: Result<(), &str>) {
        let pending = match op {
            VipOp::Add => &mut self.pending_add,
            VipOp::Remove => &mut self.pending_removal,
        };
        match outcome {
            Ok(()) => {
                pending.retain(|v| !vips.contains(v));
                if self.pending_add.is_empty() && self.pending_removal.is_empty() {
                    self.vip_failures = 0;
                    self.timers.stop(Timer::VipRetry);
                }
            }
            Err(error) => {
                for v in vips {
                    if !pending.contains(v) {
                        pending.push(*v);
                    }
                }
                self.stats.vip_failures += 1;
                self.stats.last_vip_error = Some(error.to_string());
                let wait = Duration::from_secs(1).saturating_mul(1 << self.vip_failures.min(16));
                self.timers.set(Timer::VipRetry, now.saturating_add(wait.min(VIP_RETRY_MAX)));
                self.vip_failures += 1;
            }
        }
    }

    /// Emits the pending VIP changes that are still wanted (the caller reports them again).
    fn retry_vips(&mut self) {
        let master = self.state == State::Master;
        let vips = &self.config.vips;
        let removal: Vec<IpAddr> =
            std::mem::take(&mut self.pending_removal).into_iter().filter(|v| !master || !vips.contains(v)).collect();
        let add: Vec<IpAddr> =
            std::mem::take(&mut self.pending_add).into_iter().filter(|v| master && vips.contains(v)).collect();
        if !removal.is_empty() {
            self.actions.push_back(Action::RemoveVips(removal));
        }
        if !add.is_empty() {
            self.actions.push_back(Action::AddVips(add));
        }
    }

    fn end_send_fault(&mut self) {
        self.send_fault = None;
        self.timers.stop(Timer::SendRetry);
    }

    /// What keeps the instance in FAULT, if anything, the first of: link, source address,
    /// a weight-0 check, failing sends.
    fn fault_cause(&self) -> Option<Reason> {
        if !self.link_up {
            Some(Reason::LinkDown)
        } else if !self.source_usable {
            Some(Reason::SourceUnusable { addr: self.config.primary })
        } else if let Some(name) = track::faulting(&self.checks) {
            Some(Reason::CheckFailing { name: name.to_string() })
        } else {
            self.send_fault.clone()
        }
    }

    /// After a check, the link, the source address, the sends or the configuration changed
    /// (`trigger`): FAULT in or out, and the new priority.
    fn reassess(&mut self, now: Duration, trigger: Reason) {
        let old_skew = self.skew_time();
        self.priority = track::effective_priority(self.config.priority, &self.checks);
        match (self.state, self.fault_cause()) {
            (State::Initialize, _) | (State::Fault, Some(_)) | (State::Master, None) => {}
            (State::Fault, None) => self.become_backup(now, trigger),
            (State::Master, Some(cause)) => {
                // keepalived: leaving master for FAULT resigns with priority 0.
                self.send_adverts(0);
                self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
                self.transition(State::Fault, cause);
            }
            (State::Backup, Some(cause)) => self.transition(State::Fault, cause),
            (State::Backup, None) => {
                // keepalived shifts the running down timer by the change in skew.
                if let Some(t) = self.timers.get(Timer::MasterDown) {
                    self.timers.set(Timer::MasterDown, t.saturating_add(self.skew_time()).saturating_sub(old_skew));
                }
            }
        }
    }

    fn become_master(&mut self, now: Duration, reason: Reason) {
        self.master_adver_interval = self.interval;
        self.transition(State::Master, reason);
        self.send_adverts(self.priority);
        let vips = &self.config.vips;
        self.pending_removal.retain(|v| !vips.contains(v));
        self.actions.push_back(Action::AddVips(self.config.vips.clone()));
        self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count: self.config.garp_repeat });
        self.timers.set(Timer::Advert, now.saturating_add(self.interval.duration()));
        if !self.config.garp_delay.is_zero() {
            self.timers.set(Timer::GarpRepeat, now.saturating_add(self.config.garp_delay));
        } else if !self.config.garp_refresh.is_zero() {
            self.timers.set(Timer::GarpRepeat, now.saturating_add(self.config.garp_refresh));
        }
    }

    /// GARPs / NAs per burst after a lower-priority advert.
    fn lower_prio_garp_count(&self) -> u32 {
        self.config.garp_lower_prio_repeat.unwrap_or(self.config.garp_repeat)
    }

    fn become_backup(&mut self, now: Duration, reason: Reason) {
        self.master_adver_interval = self.interval;
        self.resigned_by = None;
        self.transition(State::Backup, reason);
        self.timers.set(Timer::MasterDown, now.saturating_add(self.master_down_interval()));
    }

    /// Changes state, stopping every timer the new state does not run (a timer left running
    /// in the wrong state would be due forever).
    fn transition(&mut self, to: State, reason: Reason) {
        if self.state == to {
            return;
        }
        let master_timers = [Timer::Advert, Timer::GarpRepeat, Timer::GarpLowerPrio, Timer::GarpSettle];
        let stop: &[Timer] = match to {
            State::Master => &[Timer::MasterDown, Timer::SendRetry],
            State::Backup => &[Timer::SendRetry],
            State::Fault => &[Timer::MasterDown],
            State::Initialize => &[Timer::MasterDown, Timer::SendRetry, Timer::PreemptDelay],
        };
        for &t in stop {
            self.timers.stop(t);
        }
        if to != State::Master {
            for t in master_timers {
                self.timers.stop(t);
            }
            self.pending_add.clear();
        }
        let from = self.state;
        self.state = to;
        self.stats.transitions += 1;
        self.actions.push_back(Action::Transition { from, to, reason, priority: self.priority });
    }

    /// One advert to the group, or one per unicast peer.
    fn send_adverts(&mut self, priority: u8) {
        let advert = Advert {
            vrid: self.config.vrid,
            priority,
            interval: self.interval,
            addrs: self.config.vips.clone(),
            auth: self.config.auth,
        };
        let mut sends = 0;
        for to in self.config.destinations() {
            match packet::encode(&advert, self.config.primary, to, V3Ipv4Checksum::PseudoHeader, &mut self.buf) {
                Ok(()) => {
                    self.stats.adverts_sent += 1;
                    self.actions.push_back(Action::Send { to, bytes: self.buf.clone(), priority });
                    sends += 1;
                }
                // Config::validate encoded these very adverts (only the priority differs),
                // so this cannot happen; if it ever did, it is counted, never silent.
                Err(_) => self.stats.encode_failures += 1,
            }
        }
        if sends > 0 {
            if self.rounds.len() == ROUNDS_KEPT {
                self.rounds.pop_front();
            }
            self.rounds.push_back(Round { left: sends, delivered: false });
        }
    }
}

/// An address as an unsigned integer in network byte order (RFC 9568 §6.4.3's comparison).
fn addr_bits(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}
