//! One virtual router: the RFC 5798 §6.4 state machine (Initialize, Backup, Master) with
//! keepalived's extensions (FAULT, preempt_delay, nopreempt, an immediate advert when a master
//! hears a lower priority, GARP bursts), driven by time and packets and emitting actions.
//!
//! Time is a [`Duration`] since any fixed epoch the caller chooses (a monotonic clock), so an
//! instance can be simulated for hours in microseconds.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::{self, Advert, Drop, RxCheck, V3Ipv4Checksum, Version};
use crate::track::{self, Check, CheckConfig};

/// IPv4 VRRP multicast group.
pub const GROUP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
/// IPv6 VRRP multicast group.
pub const GROUP_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));

/// One virtual router's configuration. In JSON, durations are seconds (fractions allowed, as
/// keepalived's `advert_int`), and every field but `vrid`, `priority`, `vips` and `primary`
/// has keepalived's default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Protocol version (default: 2 for IPv4, 3 for IPv6, as keepalived).
    #[serde(default)]
    pub version: Option<Version>,
    /// Base priority: 255 for the address owner, 1..=254 otherwise.
    pub priority: u8,
    /// Advertisement interval (v3: a multiple of 10 ms up to 40.95 s; v2: whole seconds).
    #[serde(default = "one_second", with = "seconds")]
    pub advert_interval: Duration,
    /// The virtual addresses (one family), as added to the interface.
    pub vips: Vec<IpAddr>,
    /// This router's primary address on the link: the adverts' source and the tiebreak.
    pub primary: IpAddr,
    /// Unicast peers; empty for multicast.
    #[serde(default)]
    pub unicast_peers: Vec<IpAddr>,
    /// Preempt a lower-priority master (keepalived's `nopreempt` is false).
    #[serde(default = "yes")]
    pub preempt: bool,
    /// keepalived's `preempt_delay`: after startup, lower-priority masters are accepted this long.
    #[serde(default, with = "seconds")]
    pub preempt_delay: Duration,
    /// v2 PASS authentication (8 bytes, zero-padded).
    #[serde(default)]
    pub auth: Option<[u8; 8]>,
    /// Drop adverts whose address list differs from ours (keepalived does).
    #[serde(default = "yes")]
    pub check_vips: bool,
    /// Adverts missed before a backup takes over (keepalived's `down_timer_adverts`, RFC: 3).
    #[serde(default = "three")]
    pub down_timer_adverts: u32,
    /// Gratuitous ARPs / unsolicited NAs per burst (keepalived's `garp_master_repeat`).
    #[serde(default = "five")]
    pub garp_repeat: u32,
    /// Delay of the second burst after becoming master (`garp_master_delay`; 0: none).
    #[serde(default = "five_seconds", with = "seconds")]
    pub garp_delay: Duration,
    /// Periodic refresh while master (`garp_master_refresh`; OpenShift uses 60 s; 0: none).
    #[serde(default, with = "seconds")]
    pub garp_refresh: Duration,
    /// Gratuitous ARPs / unsolicited NAs sent when, as master, we hear a lower-priority advert
    /// (keepalived's `garp_lower_prio_repeat`; `None`: `garp_repeat`, keepalived's default; 0:
    /// none). Another master existed, so clients may have learned its MAC for the VIPs: after
    /// two backups time out together, the loser's announcement can arrive last and keep
    /// clients on a router that no longer holds the VIP until the next burst.
    #[serde(default)]
    pub garp_lower_prio_repeat: Option<u32>,
    /// Delay of a second such burst (`garp_lower_prio_delay`; `None`: `garp_delay`; 0: none).
    #[serde(default, with = "optional_seconds")]
    pub garp_lower_prio_delay: Option<Duration>,
    /// Send one advert when yielding to a higher-priority master (keepalived's
    /// `higher_prio_send_advert`), so that it hears a lower priority and announces the VIPs
    /// again. On by default in bmnet, off in keepalived: without it, after a split brain heals
    /// clients can stay on the yielding router's MAC until the next periodic refresh (60 s in
    /// OpenShift's configuration, never by keepalived's default; keepalived#166).
    #[serde(default = "yes")]
    pub higher_prio_send_advert: bool,
    /// Tracked checks.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn yes() -> bool {
    true
}
fn three() -> u32 {
    3
}
fn five() -> u32 {
    5
}

/// Durations as (fractional) seconds on the wire.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

/// Optional durations as (fractional) seconds on the wire.
mod optional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<f64>::deserialize(d)?
            .map(|secs| Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom))
            .transpose()
    }
}

impl Config {
    /// keepalived's defaults for one instance.
    pub fn new(vrid: u8, priority: u8, primary: IpAddr, vips: Vec<IpAddr>) -> Config {
        Config {
            vrid,
            version: None,
            priority,
            advert_interval: Duration::from_secs(1),
            vips,
            primary,
            unicast_peers: Vec::new(),
            preempt: true,
            preempt_delay: Duration::ZERO,
            auth: None,
            check_vips: true,
            down_timer_adverts: 3,
            garp_repeat: 5,
            garp_delay: Duration::from_secs(5),
            garp_refresh: Duration::ZERO,
            garp_lower_prio_repeat: None,
            garp_lower_prio_delay: None,
            higher_prio_send_advert: true,
            checks: Vec::new(),
        }
    }

    /// The version in effect: as configured, else 2 for IPv4 and 3 for IPv6 (keepalived).
    pub fn version(&self) -> Version {
        self.version.unwrap_or(if self.primary.is_ipv6() { Version::V3 } else { Version::V2 })
    }

    fn interval_cs(&self) -> u16 {
        (self.advert_interval.as_millis() / 10).clamp(1, 4095) as u16
    }
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0.
    #[error("virtual_router_id must be 1 to 255")]
    Vrid,
    /// Priority 0 is only ever sent, never configured.
    #[error("priority must be 1 to 255")]
    Priority,
    /// No VIP, or VIPs of another family than the primary address.
    #[error("VIPs must be of the primary address's family, and at least one")]
    Vips,
    /// v2 over IPv6, or an interval the version cannot carry.
    #[error("{0}")]
    Version(&'static str),
    /// A check with a weight outside -253..=253.
    #[error("check {0}: weight must be -253 to 253")]
    Weight(String),
    /// A reload that would make this another virtual router.
    #[error("a reload cannot change the virtual router id or the address family")]
    Identity,
}

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
    /// Link down or a weight-0 check failing: neither advertising nor taking over.
    Fault,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Send this VRRP message (IP protocol 112, TTL/hop limit 255) from the primary address.
    Send {
        /// The multicast group or a unicast peer.
        to: IpAddr,
        /// The message (the checksum already covers `to`).
        bytes: Vec<u8>,
        /// The priority it carries (0 when resigning).
        priority: u8,
    },
    /// Add the VIPs to the interface.
    AddVips(Vec<IpAddr>),
    /// Remove the VIPs from the interface.
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
        reason: String,
        /// The effective priority now.
        priority: u8,
    },
}

/// One virtual router.
#[derive(Clone, Debug)]
pub struct Instance {
    config: Config,
    checks: Vec<Check>,
    link_up: bool,
    state: State,
    priority: u8,
    /// v3: learned from the master (RFC 5798 §6.4.2); our own interval while master.
    master_adver_interval: Duration,
    master_down_at: Option<Duration>,
    adver_at: Option<Duration>,
    garp_at: Option<Duration>,
    /// The second burst after a lower-priority advert (`garp_lower_prio_delay`).
    lower_prio_garp_at: Option<Duration>,
    /// One advert interval after a lower-priority advert: the other master has heard our
    /// reassertion and yielded by then, so its announcements can no longer race ours.
    settle_garp_at: Option<Duration>,
    /// Lower-priority masters are accepted until then (preempt_delay).
    preempt_after: Duration,
    actions: VecDeque<Action>,
    buf: Vec<u8>,
}

impl Instance {
    /// A stopped instance (state Initialize); [`Instance::start`] starts it.
    pub fn new(config: Config) -> Result<Instance, ConfigError> {
        if config.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if config.priority == 0 {
            return Err(ConfigError::Priority);
        }
        if config.vips.is_empty() || config.vips.iter().any(|v| v.is_ipv4() != config.primary.is_ipv4()) {
            return Err(ConfigError::Vips);
        }
        if config.version() == Version::V2 && config.primary.is_ipv6() {
            return Err(ConfigError::Version("VRRPv2 is IPv4 only"));
        }
        if config.version() == Version::V2 && config.advert_interval.subsec_nanos() != 0 {
            return Err(ConfigError::Version("a VRRPv2 advert_int is whole seconds"));
        }
        if config.version() == Version::V3
            && !(Duration::from_millis(10)..=Duration::from_millis(40950)).contains(&config.advert_interval)
        {
            return Err(ConfigError::Version("a VRRPv3 advert_int is 0.01 to 40.95 seconds"));
        }
        if let Some(c) = config.checks.iter().find(|c| !(-253..=253).contains(&c.weight)) {
            return Err(ConfigError::Weight(c.name.clone()));
        }
        let checks: Vec<Check> = config.checks.iter().cloned().map(Check::new).collect();
        let priority = track::effective_priority(config.priority, &checks);
        Ok(Instance {
            master_adver_interval: config.advert_interval,
            config,
            checks,
            link_up: true,
            state: State::Initialize,
            priority,
            master_down_at: None,
            adver_at: None,
            garp_at: None,
            lower_prio_garp_at: None,
            settle_garp_at: None,
            preempt_after: Duration::ZERO,
            actions: VecDeque::new(),
            buf: Vec::with_capacity(64),
        })
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The effective priority (base and checks).
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Skew_Time: `(256 - priority) * interval / 256`, in nanoseconds (keepalived's precision).
    pub fn skew_time(&self) -> Duration {
        let unit = match self.config.version() {
            Version::V3 => self.master_adver_interval,
            Version::V2 => Duration::from_secs(1),
        };
        unit * (256 - u32::from(self.priority)) / 256
    }

    /// Master_Down_Interval: `down_timer_adverts * interval + Skew_Time`.
    pub fn master_down_interval(&self) -> Duration {
        let interval = match self.config.version() {
            Version::V3 => self.master_adver_interval,
            Version::V2 => self.config.advert_interval,
        };
        interval * self.config.down_timer_adverts.max(1) + self.skew_time()
    }

    /// Startup (RFC 5798 §6.4.1): the owner becomes master at once, everyone else backup.
    pub fn start(&mut self, now: Duration) {
        if self.state != State::Initialize {
            return;
        }
        self.preempt_after = now + self.config.preempt_delay;
        if !self.link_up || track::faulted(&self.checks) {
            self.transition(State::Fault, "started while faulted".into());
        } else if self.priority == 255 {
            self.become_master(now, "address owner (priority 255)".into());
        } else {
            self.become_backup(now, "startup".into());
        }
    }

    /// Applies a new configuration without leaving the current state, as keepalived's reload
    /// (SIGHUP) does: peers, priority, interval, preemption, announcements, checks and VIPs
    /// change in place. A check that keeps its name keeps its verdict; a master adds and
    /// announces new VIPs and removes dropped ones. The virtual router id and the address
    /// family cannot change: that is another router ([`ConfigError::Identity`]).
    pub fn reconfigure(&mut self, now: Duration, config: Config) -> Result<(), ConfigError> {
        if config.vrid != self.config.vrid || config.primary.is_ipv4() != self.config.primary.is_ipv4() {
            return Err(ConfigError::Identity);
        }
        let fresh = Instance::new(config)?;
        let mut checks = fresh.checks;
        for c in &mut checks {
            if let Some(old) = self.checks.iter().find(|o| o.config.name == c.config.name) {
                c.carry_from(old);
            }
        }
        let old = std::mem::replace(&mut self.config, fresh.config);
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
            self.master_adver_interval = self.config.advert_interval;
            self.adver_at = self.adver_at.map(|t| t.min(now + self.config.advert_interval));
        }
        self.reassess(now, "configuration reloaded".into());
        Ok(())
    }

    /// Stops gracefully: a master resigns with priority 0 so that a backup takes over after
    /// Skew_Time, and drops the VIPs.
    pub fn shutdown(&mut self, _now: Duration) {
        if self.state == State::Master {
            self.send_adverts(0);
            self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
        }
        self.master_down_at = None;
        self.adver_at = None;
        self.garp_at = None;
        self.lower_prio_garp_at = None;
        self.settle_garp_at = None;
        self.transition(State::Initialize, "shutdown".into());
    }

    /// A received VRRP message (the IP payload) from `src` to `dst` with TTL / hop limit `ttl`.
    /// Returns why it was dropped, if it was.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Result<(), Drop> {
        let unicast = !self.config.unicast_peers.is_empty();
        let check = RxCheck {
            version: self.config.version(),
            vrid: self.config.vrid,
            check_ttl: !unicast,
            auth: self.config.auth,
            interval_cs: self.config.interval_cs(),
            vips: self.config.check_vips.then_some(self.config.vips.as_slice()),
        };
        let (advert, _form) = packet::decode(bytes, src, dst, ttl, &check)?;
        self.handle_advert(now, src, &advert);
        Ok(())
    }

    fn handle_advert(&mut self, now: Duration, src: IpAddr, advert: &Advert) {
        let theirs = advert.priority;
        let interval = Duration::from_millis(u64::from(advert.interval_cs) * 10);
        match self.state {
            State::Initialize | State::Fault => {}
            State::Backup => {
                if theirs == 0 {
                    // The master resigns: take over after Skew_Time (RFC 5798 §6.4.2).
                    self.master_down_at = Some(now + self.skew_time());
                } else if !self.config.preempt || now < self.preempt_after || theirs >= self.priority {
                    if self.config.version() == Version::V3 {
                        self.master_adver_interval = interval;
                    }
                    self.master_down_at = Some(now + self.master_down_interval());
                }
                // Otherwise a lower-priority master is ignored: the timer runs out and we preempt.
            }
            State::Master => {
                if theirs == 0 {
                    self.send_adverts(self.priority);
                    self.adver_at = Some(now + self.config.advert_interval);
                } else if theirs > self.priority
                    || (theirs == self.priority && addr_bits(src) > addr_bits(self.config.primary))
                {
                    if self.config.higher_prio_send_advert {
                        self.send_adverts(self.priority);
                    }
                    if self.config.version() == Version::V3 {
                        self.master_adver_interval = interval;
                    }
                    self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
                    self.adver_at = None;
                    self.garp_at = None;
                    self.lower_prio_garp_at = None;
                    self.settle_garp_at = None;
                    let reason = format!("advert from {src} with priority {theirs}, ours {}", self.priority);
                    self.transition(State::Backup, reason);
                    self.master_down_at = Some(now + self.master_down_interval());
                } else {
                    // RFC 9568 (and keepalived): reassert at once against a lower-priority master,
                    // and win back the clients it may have announced the VIPs to (keepalived:
                    // now and after garp_lower_prio_delay). Two backups that time out together
                    // announce at the same moment, so the loser's burst can reach a client after
                    // ours; bmnet announces once more an advert interval later, when the loser
                    // has heard us and stopped, rather than leave clients on it for 5 s.
                    self.send_adverts(self.priority);
                    self.adver_at = Some(now + self.config.advert_interval);
                    let count = self.lower_prio_garp_count();
                    if count > 0 {
                        self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count });
                        let delay = self.config.garp_lower_prio_delay.unwrap_or(self.config.garp_delay);
                        self.lower_prio_garp_at = (!delay.is_zero()).then(|| now + delay);
                        self.settle_garp_at = self.settle_garp_at.or(Some(now + self.config.advert_interval));
                    }
                }
            }
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        match self.state {
            State::Backup => {
                if self.master_down_at.is_some_and(|t| t <= now) {
                    self.become_master(now, "master down interval expired".into());
                }
            }
            State::Master => {
                if self.adver_at.is_some_and(|t| t <= now) {
                    self.send_adverts(self.priority);
                    self.adver_at = Some(now + self.config.advert_interval);
                }
                if self.garp_at.is_some_and(|t| t <= now) {
                    self.actions
                        .push_back(Action::Announce { vips: self.config.vips.clone(), count: self.config.garp_repeat });
                    self.garp_at = (!self.config.garp_refresh.is_zero()).then(|| now + self.config.garp_refresh);
                }
                let count = self.lower_prio_garp_count();
                for at in [&mut self.lower_prio_garp_at, &mut self.settle_garp_at] {
                    if at.is_some_and(|t| t <= now) {
                        *at = None;
                        self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count });
                    }
                }
            }
            State::Initialize | State::Fault => {}
        }
    }

    /// The next time [`Instance::handle_timeout`] must run, if any.
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            State::Backup => self.master_down_at,
            State::Master => {
                [self.adver_at, self.garp_at, self.lower_prio_garp_at, self.settle_garp_at].into_iter().flatten().min()
            }
            State::Initialize | State::Fault => None,
        }
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// A tracked check's result (by name). Unknown names are ignored and return false.
    pub fn set_check(&mut self, now: Duration, name: &str, passing: bool) -> bool {
        let Some(check) = self.checks.iter_mut().find(|c| c.config.name == name) else { return false };
        if check.report(passing) {
            self.reassess(now, format!("check {name} {}", if passing { "passing" } else { "failing" }));
        }
        true
    }

    /// The link's carrier.
    pub fn set_link(&mut self, now: Duration, up: bool) {
        if self.link_up != up {
            self.link_up = up;
            self.reassess(now, format!("link {}", if up { "up" } else { "down" }));
        }
    }

    /// After a check or the link changed: FAULT in or out, and the new priority.
    fn reassess(&mut self, now: Duration, reason: String) {
        let old_skew = self.skew_time();
        self.priority = track::effective_priority(self.config.priority, &self.checks);
        let faulted = !self.link_up || track::faulted(&self.checks);
        match (self.state, faulted) {
            (State::Initialize, _) => {}
            (State::Fault, false) => self.become_backup(now, reason),
            (State::Fault, true) => {}
            (State::Master, true) => {
                // keepalived: leaving master for FAULT resigns with priority 0.
                self.send_adverts(0);
                self.actions.push_back(Action::RemoveVips(self.config.vips.clone()));
                self.adver_at = None;
                self.garp_at = None;
                self.lower_prio_garp_at = None;
                self.settle_garp_at = None;
                self.transition(State::Fault, reason);
            }
            (State::Backup, true) => {
                self.master_down_at = None;
                self.transition(State::Fault, reason);
            }
            (State::Backup, false) => {
                // keepalived shifts the running down timer by the change in skew.
                if let Some(t) = self.master_down_at {
                    self.master_down_at = Some((t + self.skew_time()).saturating_sub(old_skew));
                }
            }
            (State::Master, false) => {}
        }
    }

    fn become_master(&mut self, now: Duration, reason: String) {
        self.master_adver_interval = self.config.advert_interval;
        self.master_down_at = None;
        self.transition(State::Master, reason);
        self.send_adverts(self.priority);
        self.actions.push_back(Action::AddVips(self.config.vips.clone()));
        self.actions.push_back(Action::Announce { vips: self.config.vips.clone(), count: self.config.garp_repeat });
        self.adver_at = Some(now + self.config.advert_interval);
        self.garp_at = if !self.config.garp_delay.is_zero() {
            Some(now + self.config.garp_delay)
        } else if !self.config.garp_refresh.is_zero() {
            Some(now + self.config.garp_refresh)
        } else {
            None
        };
    }

    /// GARPs / NAs per burst after a lower-priority advert.
    fn lower_prio_garp_count(&self) -> u32 {
        self.config.garp_lower_prio_repeat.unwrap_or(self.config.garp_repeat)
    }

    fn become_backup(&mut self, now: Duration, reason: String) {
        self.master_adver_interval = self.config.advert_interval;
        self.transition(State::Backup, reason);
        self.master_down_at = Some(now + self.master_down_interval());
    }

    fn transition(&mut self, to: State, reason: String) {
        if self.state != to {
            let from = self.state;
            self.state = to;
            self.actions.push_back(Action::Transition { from, to, reason, priority: self.priority });
        }
    }

    /// One advert to the group, or one per unicast peer.
    fn send_adverts(&mut self, priority: u8) {
        let advert = Advert {
            version: self.config.version(),
            vrid: self.config.vrid,
            priority,
            interval_cs: match self.config.version() {
                Version::V3 => self.config.interval_cs(),
                Version::V2 => (self.config.advert_interval.as_secs().clamp(1, 255) * 100) as u16,
            },
            addrs: self.config.vips.clone(),
            auth: self.config.auth,
        };
        let group = if self.config.primary.is_ipv4() { GROUP_V4 } else { GROUP_V6 };
        let targets: Vec<IpAddr> =
            if self.config.unicast_peers.is_empty() { vec![group] } else { self.config.unicast_peers.clone() };
        for to in targets {
            if packet::encode(&advert, self.config.primary, to, V3Ipv4Checksum::PseudoHeader, &mut self.buf).is_ok() {
                self.actions.push_back(Action::Send { to, bytes: self.buf.clone(), priority });
            }
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
