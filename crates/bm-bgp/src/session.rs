//! One BGP session: the RFC 4271 §8 state machine, active or passive, with the speaker's routes.
//!
//! Time is a [`Duration`] since any fixed epoch the caller chooses (a monotonic clock);
//! deadlines saturate, so a `now` near [`Duration::MAX`] never overflows.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};
use crate::framer::Framer;
use crate::message::{
    AsPath, AttributeError, Capability, Decoded, ErrorAction, ErrorCode, Family, FsmSubcode, GracefulRestart,
    GracefulRestartFamily, HEADER_LEN, MAX_MESSAGE_LEN, Message, MpReach, MpUnreach, NextHop, Notification, Open,
    OpenSubcode, Origin, PathAttribute, Prefixes, Update, decode_with_repairs, encode,
};
use crate::reason::Reason;
use crate::route::{RouteAttributes, merged};
use crate::timer::{Timer, TimerTable};

/// The hold time while waiting for the peer's OPEN (RFC 4271 §8.2.2 suggests 4 minutes).
pub const OPEN_HOLD_TIME: Duration = Duration::from_secs(240);

/// The session states (RFC 4271 §8.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Stopped, or waiting for the automatic restart.
    Idle,
    /// Connecting.
    Connect,
    /// The connection attempt failed: waiting for ConnectRetry.
    Active,
    /// Connected, OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for the peer's KEEPALIVE.
    OpenConfirm,
    /// Up: routes flow.
    Established,
}

/// What the session reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The state changed.
    StateChanged {
        /// From.
        from: State,
        /// To.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// We sent this NOTIFICATION (its bytes are in the [`Action::Send`] before).
    NotificationSent {
        /// The NOTIFICATION.
        notification: Notification,
    },
    /// The peer sent this NOTIFICATION.
    NotificationReceived {
        /// The NOTIFICATION.
        notification: Notification,
    },
    /// The peer sent an UPDATE; its routes are counted and discarded (a speaker announces,
    /// it does not route).
    UpdateReceived {
        /// Routes announced in it.
        announced: usize,
        /// Routes withdrawn in it (treat-as-withdraw included).
        withdrawn: usize,
        /// The family it is the End-of-RIB marker of.
        end_of_rib: Option<Family>,
        /// What RFC 7606 repaired in it.
        repairs: Vec<AttributeError>,
    },
    /// The peer asked for our routes again (answered at once).
    RouteRefreshReceived {
        /// The family.
        family: Family,
    },
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Open a TCP connection to the peer (port 179), then call
    /// [`Session::tcp_connected`] or [`Session::tcp_failed`]. A previous connection attempt,
    /// if any, is abandoned.
    Connect,
    /// Write these bytes (whole messages) to the connection.
    Send {
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Close the connection once what was sent is written.
    Close,
    /// Something happened.
    Event {
        /// What.
        event: Event,
    },
}

/// What the session agreed with the peer when its OPEN was accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Negotiated {
    /// The peer's AS.
    pub peer_asn: u32,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// The hold time in seconds, the smaller of both (0: no hold timer, no KEEPALIVEs).
    pub hold_time: u16,
    /// The families both sides offered.
    pub families: Vec<Family>,
    /// Both sides offered route refresh.
    pub route_refresh: bool,
    /// The peer's OPEN.
    pub peer_open: Open,
}

impl Negotiated {
    /// The KEEPALIVE interval: a third of the hold time.
    pub fn keepalive_interval(&self) -> Option<Duration> {
        (self.hold_time > 0).then(|| Duration::from_secs(u64::from(self.hold_time)) / 3)
    }
}

/// Counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Messages received.
    pub messages_received: u64,
    /// Messages sent.
    pub messages_sent: u64,
    /// UPDATEs received.
    pub updates_received: u64,
    /// UPDATEs sent.
    pub updates_sent: u64,
    /// Routes announced by the peer (counted, then discarded).
    pub routes_received: u64,
    /// Routes withdrawn by the peer.
    pub withdrawals_received: u64,
    /// UPDATEs treated as withdraw (RFC 7606).
    pub treat_as_withdraw: u64,
    /// Attributes discarded (RFC 7606).
    pub attributes_discarded: u64,
    /// NOTIFICATIONs sent.
    pub notifications_sent: u64,
    /// NOTIFICATIONs received.
    pub notifications_received: u64,
    /// Times the session reached Established.
    pub established: u64,
    /// Messages that could not be encoded (never expected: a bug if not 0).
    pub encode_errors: u64,
}

/// A misuse of the API.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The prefix's family is not in [`Config::families`].
    #[error("{0} is not a configured family: add it to the session's families")]
    FamilyNotConfigured(Family),
    /// No next hop of the prefix's family.
    #[error("no {0} next hop: set next_hop_v4 / next_hop_v6 in the session's configuration")]
    NoNextHop(Family),
    /// A shutdown communication over 255 bytes.
    #[error("shutdown message of {0} bytes: at most 255 bytes of UTF-8")]
    ShutdownMessageTooLong(usize),
    /// A route's communities with the session's over [`MAX_COMMUNITY_BYTES`](crate::MAX_COMMUNITY_BYTES).
    #[error("{0} bytes of communities with the session's: at most 2048")]
    TooManyCommunities(usize),
}

/// One BGP session to one peer, active (it connects) or passive.
///
/// # Driving it
///
/// Inputs are method calls that take `now` (a monotonic time since any epoch, never going
/// backwards): [`start`](Session::start), [`stop`](Session::stop),
/// [`tcp_connected`](Session::tcp_connected), [`tcp_failed`](Session::tcp_failed),
/// [`tcp_closed`](Session::tcp_closed), [`handle_bytes`](Session::handle_bytes),
/// [`handle_timeout`](Session::handle_timeout), [`announce`](Session::announce),
/// [`withdraw`](Session::withdraw). After each, drain [`poll_action`](Session::poll_action)
/// until it returns `None` and carry out each [`Action`] in order, then wait until
/// [`poll_timeout`](Session::poll_timeout), bytes from the peer or a connection event.
/// Getters ([`state`](Session::state), [`negotiated`](Session::negotiated),
/// [`stats`](Session::stats), [`routes`](Session::routes), [`timers`](Session::timers)) change
/// nothing. No method panics, whatever the peer sends.
///
/// The session connects, or with [`Config::passive`] waits for the peer to (no connection
/// collision resolution: one side of a session is passive, or the backend keeps one
/// connection); a failed session goes Idle and restarts by itself after
/// [`Config::idle_hold`], doubling up to [`Config::connect_retry`]; only
/// [`stop`](Session::stop) keeps it down.
///
/// ```
/// use std::time::Duration;
/// use bm_bgp::{Action, Config, Session, State};
///
/// let mut config = Config::new(64512, 64513, "192.0.2.1".parse().unwrap());
/// config.next_hop_v4 = Some("192.0.2.1".parse().unwrap());
/// let mut s = Session::new(config).unwrap();
/// s.announce(Duration::ZERO, "198.51.100.10/32".parse().unwrap()).unwrap();
/// s.start(Duration::ZERO);
/// assert_eq!(s.poll_action(), Some(Action::Connect));
/// # while s.poll_action().is_some() {}
/// // Nobody answers: Active, then another attempt when ConnectRetry (120 s) expires.
/// s.tcp_failed(Duration::from_secs(1));
/// assert_eq!(s.state(), State::Active);
/// assert_eq!(s.poll_timeout(), Some(Duration::from_secs(121)));
/// # while s.poll_action().is_some() {}
/// s.handle_timeout(Duration::from_secs(121));
/// assert_eq!((s.state(), s.poll_action()), (State::Connect, Some(Action::Connect)));
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    config: Config,
    state: State,
    timers: TimerTable,
    framer: Framer,
    actions: VecDeque<Action>,
    routes: BTreeMap<IpNet, RouteAttributes>,
    negotiated: Option<Negotiated>,
    stats: Stats,
    /// The next automatic restart delay.
    idle_hold: Duration,
    /// Stopped by [`Session::stop`] (or never started): no automatic restart.
    stopped: bool,
}

impl Session {
    /// An Idle session; [`Session::start`] starts it. The configuration is validated here.
    ///
    /// # Errors
    ///
    /// The [`ConfigError`] of [`Config::validate`].
    pub fn new(config: Config) -> Result<Session, ConfigError> {
        config.validate()?;
        Ok(Session {
            idle_hold: config.idle_hold,
            config,
            state: State::Idle,
            timers: TimerTable::default(),
            framer: Framer::new(),
            actions: VecDeque::new(),
            routes: BTreeMap::new(),
            negotiated: None,
            stats: Stats::default(),
            stopped: true,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// What was agreed with the peer (OpenConfirm and Established).
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The routes we announce (each sent while Established).
    pub fn routes(&self) -> impl Iterator<Item = &IpNet> + '_ {
        self.routes.keys()
    }

    /// What `prefix` carries beyond the session's attributes, if we announce it.
    pub fn route(&self, prefix: &IpNet) -> Option<&RouteAttributes> {
        self.routes.get(&prefix.trunc())
    }

    /// The running timers and their deadlines.
    pub fn timers(&self) -> impl Iterator<Item = (Timer, Duration)> + '_ {
        self.timers.running()
    }

    /// The next time [`Session::handle_timeout`] must run, if any.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.timers.next_timeout()
    }

    /// The next action, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// ManualStart: Idle → Connect (a [`Action::Connect`]), or Idle → Active when
    /// [`Config::passive`]. Does nothing unless Idle.
    pub fn start(&mut self, now: Duration) {
        self.stopped = false;
        if self.state == State::Idle {
            self.timers.stop(Timer::IdleHold);
            self.connect(now, Reason::Started);
        }
    }

    /// ManualStop: to Idle, for good (no automatic restart). With a connection up, a
    /// NOTIFICATION Cease/Administrative Shutdown is sent first, carrying `message` as its
    /// shutdown communication (RFC 9003) when there is one.
    ///
    /// # Errors
    ///
    /// [`SessionError::ShutdownMessageTooLong`] over 255 bytes (nothing is done).
    pub fn stop(&mut self, now: Duration, message: Option<&str>) -> Result<(), SessionError> {
        let notification = Notification::shutdown(message.unwrap_or(""))
            .map_err(|_| SessionError::ShutdownMessageTooLong(message.map_or(0, str::len)))?;
        self.stopped = true;
        match self.state {
            State::Idle => self.timers.stop_all(),
            State::Connect | State::Active => {
                self.actions.push_back(Action::Close);
                self.go_idle(now, Reason::Stopped);
            }
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.send_notification(notification);
                self.actions.push_back(Action::Close);
                self.go_idle(now, Reason::Stopped);
            }
        }
        Ok(())
    }

    /// The TCP connection asked for by [`Action::Connect`] is up: OPEN is sent.
    pub fn tcp_connected(&mut self, now: Duration) {
        match self.state {
            State::Connect | State::Active => {
                self.timers.stop(Timer::ConnectRetry);
                self.framer.reset();
                let open = self.our_open();
                self.send(&Message::Open(open));
                self.timers.set(Timer::Hold, now.saturating_add(OPEN_HOLD_TIME));
                self.transition(State::OpenSent, Reason::TcpConnected);
            }
            // A connection nobody asked for (stopped meanwhile): close it.
            State::Idle => self.actions.push_back(Action::Close),
            State::OpenSent | State::OpenConfirm | State::Established => {}
        }
    }

    /// The connection attempt failed.
    pub fn tcp_failed(&mut self, now: Duration) {
        self.tcp_down(now, Reason::TcpFailed);
    }

    /// The connection closed (by the peer, or an error).
    pub fn tcp_closed(&mut self, now: Duration) {
        self.tcp_down(now, Reason::TcpClosed);
    }

    /// BFD saw the path to the peer fail (its session went from Up to Down): from OpenSent
    /// on, the connection is closed at once, without a NOTIFICATION, and the session goes to
    /// Idle and restarts as after any failure ([`Reason::BfdDown`]). Before (Connect,
    /// Active, Idle) there is no connection to close and nothing changes: BGP never waits for
    /// BFD to come up.
    pub fn bfd_down(&mut self, now: Duration, diag: crate::bfd::Diag) {
        match self.state {
            State::OpenSent | State::OpenConfirm | State::Established => {
                self.actions.push_back(Action::Close);
                self.go_idle(now, Reason::BfdDown { diag });
            }
            State::Idle | State::Connect | State::Active => {}
        }
    }

    fn tcp_down(&mut self, now: Duration, reason: Reason) {
        match self.state {
            State::Connect | State::Active | State::OpenSent => {
                // RFC 4271 §8.2.2: back to Active, ConnectRetry restarted.
                self.timers.stop_all();
                self.negotiated = None;
                if !self.config.passive {
                    self.timers.set(Timer::ConnectRetry, now.saturating_add(self.config.connect_retry));
                }
                self.transition(State::Active, reason);
            }
            State::OpenConfirm | State::Established => self.go_idle(now, reason),
            State::Idle => {}
        }
    }

    /// Bytes received on the connection. Each whole message is handled; the first error
    /// sends its NOTIFICATION and closes.
    pub fn handle_bytes(&mut self, now: Duration, bytes: &[u8]) {
        if !matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established) {
            return;
        }
        self.framer.push(bytes);
        while let Some(next) = self.framer.next_message() {
            // The type byte of a whole message (after the 16-byte marker and the length).
            let notification = next.as_ref().is_ok_and(|m| m.get(18) == Some(&3));
            let decoded = next.and_then(|m| decode_with_repairs(&m));
            self.stats.messages_received += 1;
            match decoded {
                Ok(d) => self.handle_message(now, d),
                // RFC 4271 §6.4: an error in a received NOTIFICATION is not answered with one.
                Err(e) if notification => {
                    let code = e.notification().code;
                    self.actions.push_back(Action::Close);
                    self.go_idle(now, Reason::PeerError { code });
                }
                Err(e) => self.peer_error(now, e.notification()),
            }
            if !matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established) {
                break;
            }
        }
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.timers.take_expired(Timer::IdleHold, now) && self.state == State::Idle && !self.stopped {
            self.connect(now, Reason::AutoRestart);
        }
        if self.timers.take_expired(Timer::ConnectRetry, now) {
            match self.state {
                State::Connect => {
                    self.actions.push_back(Action::Close);
                    self.actions.push_back(Action::Connect);
                    self.timers.set(Timer::ConnectRetry, now.saturating_add(self.config.connect_retry));
                }
                State::Active => self.connect(now, Reason::ConnectRetryExpired),
                _ => {}
            }
        }
        if self.timers.take_expired(Timer::Hold, now)
            && matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established)
        {
            self.send_notification(Notification::new(ErrorCode::HoldTimerExpired, Vec::new()));
            self.actions.push_back(Action::Close);
            self.go_idle(now, Reason::HoldTimerExpired);
        }
        if self.timers.take_expired(Timer::Keepalive, now)
            && matches!(self.state, State::OpenConfirm | State::Established)
        {
            self.send(&Message::Keepalive);
            self.restart_keepalive(now);
        }
    }

    /// Adds `prefix` (host bits cleared) to the routes we announce; sent at once while
    /// Established. Returns whether it is new.
    ///
    /// # Errors
    ///
    /// [`SessionError::FamilyNotConfigured`], [`SessionError::NoNextHop`].
    pub fn announce(&mut self, now: Duration, prefix: IpNet) -> Result<bool, SessionError> {
        self.announce_with(now, prefix, RouteAttributes::default())
    }

    /// Announces `prefix` (host bits cleared) with `attributes` beyond the session's; sent at
    /// once while Established, again when the attributes change (the new path replaces the
    /// old). Returns whether anything changed.
    ///
    /// # Errors
    ///
    /// [`SessionError::FamilyNotConfigured`], [`SessionError::NoNextHop`],
    /// [`SessionError::TooManyCommunities`]; nothing changes then.
    pub fn announce_with(
        &mut self,
        now: Duration,
        prefix: IpNet,
        attributes: RouteAttributes,
    ) -> Result<bool, SessionError> {
        let prefix = prefix.trunc();
        let family = family_of(&prefix);
        if !self.config.families.contains(&family) {
            return Err(SessionError::FamilyNotConfigured(family));
        }
        let has_next_hop = match prefix {
            IpNet::V4(_) => self.config.next_hop_v4.is_some(),
            IpNet::V6(_) => self.config.next_hop_v6.is_some(),
        };
        if !has_next_hop {
            return Err(SessionError::NoNextHop(family));
        }
        let bytes =
            attributes.community_bytes() + self.config.communities.len() * 4 + self.config.large_communities.len() * 12;
        if bytes > crate::MAX_COMMUNITY_BYTES {
            return Err(SessionError::TooManyCommunities(bytes));
        }
        if self.routes.get(&prefix) == Some(&attributes) {
            return Ok(false);
        }
        self.routes.insert(prefix, attributes.clone());
        if self.sends_family(family) {
            for update in self.reach_updates(&[prefix], &attributes) {
                self.send_update(now, update);
            }
        }
        Ok(true)
    }

    /// Removes `prefix` (host bits cleared) from the routes we announce; the withdrawal is
    /// sent at once while Established. Returns whether it was announced.
    pub fn withdraw(&mut self, now: Duration, prefix: IpNet) -> bool {
        let prefix = prefix.trunc();
        let removed = self.routes.remove(&prefix).is_some();
        if removed && self.sends_family(family_of(&prefix)) {
            for update in unreach_updates(&[prefix]) {
                self.send_update(now, update);
            }
        }
        removed
    }

    /// Whether UPDATEs of `family` go to the peer now.
    fn sends_family(&self, family: Family) -> bool {
        self.state == State::Established && self.negotiated.as_ref().is_some_and(|n| n.families.contains(&family))
    }

    /// Connects, or (passive) waits in Active for the peer to.
    fn connect(&mut self, now: Duration, reason: Reason) {
        self.framer.reset();
        if self.config.passive {
            self.transition(State::Active, reason);
            return;
        }
        self.actions.push_back(Action::Connect);
        self.timers.set(Timer::ConnectRetry, now.saturating_add(self.config.connect_retry));
        self.transition(State::Connect, reason);
    }

    fn transition(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        if from != to {
            self.actions.push_back(Action::Event { event: Event::StateChanged { from, to, reason } });
        }
    }

    /// To Idle; unless stopped, the automatic restart is scheduled (backing off).
    fn go_idle(&mut self, now: Duration, reason: Reason) {
        self.timers.stop_all();
        self.negotiated = None;
        self.framer.reset();
        self.transition(State::Idle, reason);
        if !self.stopped {
            self.timers.set(Timer::IdleHold, now.saturating_add(self.idle_hold));
            self.idle_hold = self.idle_hold.saturating_mul(2).min(self.config.connect_retry.max(self.config.idle_hold));
        }
    }

    /// The peer sent something wrong: NOTIFICATION, close, Idle.
    fn peer_error(&mut self, now: Duration, notification: Notification) {
        let code = notification.code;
        self.send_notification(notification);
        self.actions.push_back(Action::Close);
        self.go_idle(now, Reason::PeerError { code });
    }

    fn send(&mut self, message: &Message) -> bool {
        let mut bytes = Vec::new();
        match encode(message, &mut bytes) {
            Ok(()) => {
                self.stats.messages_sent += 1;
                self.actions.push_back(Action::Send { bytes });
                true
            }
            Err(_) => {
                self.stats.encode_errors += 1;
                false
            }
        }
    }

    fn send_notification(&mut self, notification: Notification) {
        self.send(&Message::Notification(notification.clone()));
        self.stats.notifications_sent += 1;
        self.actions.push_back(Action::Event { event: Event::NotificationSent { notification } });
    }

    fn send_update(&mut self, now: Duration, update: Update) {
        if self.send(&Message::Update(update)) {
            self.stats.updates_sent += 1;
        }
        // RFC 4271 §10: an UPDATE restarts the KeepaliveTimer as a KEEPALIVE does.
        self.restart_keepalive(now);
    }

    fn restart_keepalive(&mut self, now: Duration) {
        match self.negotiated.as_ref().and_then(Negotiated::keepalive_interval) {
            Some(every) => self.timers.set(Timer::Keepalive, now.saturating_add(every)),
            None => self.timers.stop(Timer::Keepalive),
        }
    }

    fn restart_hold(&mut self, now: Duration) {
        match self.negotiated.as_ref().map(|n| n.hold_time).filter(|h| *h > 0) {
            Some(h) => self.timers.set(Timer::Hold, now.saturating_add(Duration::from_secs(u64::from(h)))),
            None => self.timers.stop(Timer::Hold),
        }
    }

    fn handle_message(&mut self, now: Duration, decoded: Decoded) {
        match (self.state, decoded.message) {
            (_, Message::Notification(notification)) => {
                self.stats.notifications_received += 1;
                let code = notification.code;
                self.actions.push_back(Action::Event { event: Event::NotificationReceived { notification } });
                self.actions.push_back(Action::Close);
                self.go_idle(now, Reason::NotificationReceived { code });
            }
            (State::OpenSent, Message::Open(open)) => match self.accept_open(open) {
                Ok(negotiated) => {
                    self.negotiated = Some(negotiated);
                    self.send(&Message::Keepalive);
                    self.restart_hold(now);
                    self.restart_keepalive(now);
                    self.transition(State::OpenConfirm, Reason::OpenAccepted);
                }
                Err(notification) => self.peer_error(now, notification),
            },
            (State::OpenConfirm, Message::Keepalive) => {
                self.restart_hold(now);
                self.stats.established += 1;
                self.idle_hold = self.config.idle_hold;
                self.transition(State::Established, Reason::KeepaliveReceived);
                let families = self.negotiated.as_ref().map(|n| n.families.clone()).unwrap_or_default();
                for family in families {
                    self.send_family(now, family);
                }
            }
            (State::Established, Message::Keepalive) => self.restart_hold(now),
            (State::Established, Message::Update(update)) => {
                self.restart_hold(now);
                let announced = update.announced().len();
                let withdrawn = update.withdrawn_routes().len();
                self.stats.updates_received += 1;
                self.stats.routes_received += announced as u64;
                self.stats.withdrawals_received += withdrawn as u64;
                if decoded.repairs.iter().any(|r| r.action == ErrorAction::TreatAsWithdraw) {
                    self.stats.treat_as_withdraw += 1;
                }
                self.stats.attributes_discarded +=
                    decoded.repairs.iter().filter(|r| r.action == ErrorAction::AttributeDiscard).count() as u64;
                // An UPDATE emptied by treat-as-withdraw is no End-of-RIB.
                let end_of_rib = if decoded.repairs.is_empty() { update.end_of_rib_family() } else { None };
                let event = Event::UpdateReceived { announced, withdrawn, end_of_rib, repairs: decoded.repairs };
                self.actions.push_back(Action::Event { event });
            }
            (State::Established, Message::RouteRefresh(rr)) => {
                self.restart_hold(now);
                let family = rr.family;
                self.actions.push_back(Action::Event { event: Event::RouteRefreshReceived { family } });
                // RFC 2918 §4: a family not negotiated is ignored, and so is a request when
                // we did not offer the capability; subtypes 1 and 2 (RFC 7313 BoRR/EoRR) are
                // not requests.
                if rr.subtype == 0 && self.config.route_refresh && self.sends_family(family) {
                    self.send_family(now, family);
                }
            }
            (state, _) => {
                let sub = match state {
                    State::OpenSent => FsmSubcode::UnexpectedMessageInOpenSent,
                    State::OpenConfirm => FsmSubcode::UnexpectedMessageInOpenConfirm,
                    _ => FsmSubcode::UnexpectedMessageInEstablished,
                };
                self.peer_error(now, Notification::new(ErrorCode::Fsm(sub), Vec::new()));
            }
        }
    }

    /// Every route of `family`, then its End-of-RIB.
    fn send_family(&mut self, now: Duration, family: Family) {
        // Prefixes with equal attributes share UPDATEs.
        let mut groups: BTreeMap<&RouteAttributes, Vec<IpNet>> = BTreeMap::new();
        for (prefix, attributes) in self.routes.iter().filter(|(p, _)| family_of(p) == family) {
            groups.entry(attributes).or_default().push(*prefix);
        }
        let updates: Vec<Update> =
            groups.iter().flat_map(|(attributes, prefixes)| self.reach_updates(prefixes, attributes)).collect();
        for update in updates {
            self.send_update(now, update);
        }
        self.send_update(now, Update::end_of_rib(family));
    }

    fn our_open(&self) -> Open {
        let mut caps: Vec<Capability> =
            self.config.families.iter().map(|&family| Capability::Multiprotocol { family }).collect();
        if self.config.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if let Some(restart_time) = self.config.graceful_restart {
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restarting: false,
                notification: false,
                restart_time,
                families: self
                    .config
                    .families
                    .iter()
                    .map(|&family| GracefulRestartFamily { family, forwarding_preserved: false })
                    .collect(),
            }));
        }
        Open::new(self.config.local_asn, self.config.hold_time, self.config.router_id, caps)
    }

    /// RFC 4271 §6.2 and RFC 5492/6793 checks of the peer's OPEN.
    fn accept_open(&self, open: Open) -> Result<Negotiated, Notification> {
        let unsupported = |caps: Vec<Capability>| {
            let mut data = Vec::new();
            for cap in caps {
                // Our own capabilities always fit.
                let _ = cap.encode(&mut data);
            }
            Notification::new(ErrorCode::Open(OpenSubcode::UnsupportedCapability), data)
        };
        // AS_PATH is read with 4-octet AS numbers: the peer must say it writes them so.
        if open.four_octet_as().is_none() {
            return Err(unsupported(vec![Capability::FourOctetAs { asn: self.config.local_asn }]));
        }
        if open.asn() != self.config.peer_asn {
            return Err(Notification::new(ErrorCode::Open(OpenSubcode::BadPeerAs), Vec::new()));
        }
        // RFC 6286 §2.2: the same identifier as ours is refused from an internal peer only.
        if open.bgp_id.is_unspecified() || (open.bgp_id == self.config.router_id && self.config.is_ibgp()) {
            return Err(Notification::new(ErrorCode::Open(OpenSubcode::BadBgpIdentifier), Vec::new()));
        }
        let theirs = open.families();
        let families: Vec<Family> = self.config.families.iter().copied().filter(|f| theirs.contains(f)).collect();
        if families.is_empty() {
            return Err(unsupported(
                self.config.families.iter().map(|&family| Capability::Multiprotocol { family }).collect(),
            ));
        }
        Ok(Negotiated {
            peer_asn: open.asn(),
            peer_id: open.bgp_id,
            hold_time: self.config.hold_time.min(open.hold_time),
            families,
            route_refresh: self.config.route_refresh
                && open.has_capability(crate::message::capability_code::ROUTE_REFRESH),
            peer_open: open,
        })
    }

    /// The path attributes of our routes of `family`: MP_REACH_NLRI first (RFC 7606), then in
    /// type code order; NEXT_HOP or
    /// MP_REACH_NLRI carries `nlri` (for IPv6).
    fn attributes(&self, v6_nlri: Option<Vec<Ipv6Net>>, route: &RouteAttributes) -> Vec<PathAttribute> {
        let ibgp = self.config.is_ibgp();
        let mut attrs = Vec::new();
        // RFC 7606 §5.1: MP_REACH_NLRI first, so that a receiver finds the NLRI even when a
        // later attribute is malformed and can treat the routes as withdrawn.
        if let (Some(nlri), Some(global)) = (&v6_nlri, self.config.next_hop_v6) {
            attrs.push(PathAttribute::MpReach(MpReach {
                next_hop: NextHop::Ipv6 { global, link_local: self.config.link_local_v6 },
                nlri: Prefixes::Ipv6(nlri.clone()),
            }));
        }
        attrs.push(PathAttribute::Origin(Origin::Igp));
        attrs.push(PathAttribute::AsPath(AsPath::sequence(if ibgp {
            Vec::new()
        } else {
            vec![self.config.local_asn]
        })));
        if v6_nlri.is_none()
            && let Some(nh) = self.config.next_hop_v4
        {
            attrs.push(PathAttribute::NextHop(nh));
        }
        if let Some(med) = route.med {
            attrs.push(PathAttribute::MultiExitDisc(med));
        }
        if ibgp {
            attrs.push(PathAttribute::LocalPref(self.config.local_pref));
        }
        let communities = merged(&self.config.communities, &route.communities);
        if !communities.is_empty() {
            attrs.push(PathAttribute::Communities(communities));
        }
        let large = merged(&self.config.large_communities, &route.large_communities);
        if !large.is_empty() {
            attrs.push(PathAttribute::LargeCommunities(large));
        }
        attrs
    }

    /// UPDATEs announcing `prefixes` with `route`'s attributes, as few as fit in 4096 bytes each.
    fn reach_updates(&self, prefixes: &[IpNet], route: &RouteAttributes) -> Vec<Update> {
        let v4: Vec<Ipv4Net> =
            prefixes.iter().filter_map(|p| if let IpNet::V4(n) = p { Some(*n) } else { None }).collect();
        let v6: Vec<Ipv6Net> =
            prefixes.iter().filter_map(|p| if let IpNet::V6(n) = p { Some(*n) } else { None }).collect();
        let mut out = Vec::new();
        if !v4.is_empty() {
            let attrs = self.attributes(None, route);
            let room = room_for_nlri(&Update { attributes: attrs.clone(), ..Update::default() });
            for chunk in v4.chunks((room / 5).max(1)) {
                out.push(Update { withdrawn: Vec::new(), attributes: attrs.clone(), nlri: chunk.to_vec() });
            }
        }
        if !v6.is_empty() {
            let room =
                room_for_nlri(&Update { attributes: self.attributes(Some(Vec::new()), route), ..Update::default() });
            for chunk in v6.chunks((room.saturating_sub(2) / 17).max(1)) {
                out.push(Update {
                    withdrawn: Vec::new(),
                    attributes: self.attributes(Some(chunk.to_vec()), route),
                    nlri: Vec::new(),
                });
            }
        }
        out
    }
}

/// UPDATEs withdrawing `prefixes`.
fn unreach_updates(prefixes: &[IpNet]) -> Vec<Update> {
    let v4: Vec<Ipv4Net> = prefixes.iter().filter_map(|p| if let IpNet::V4(n) = p { Some(*n) } else { None }).collect();
    let v6: Vec<Ipv6Net> = prefixes.iter().filter_map(|p| if let IpNet::V6(n) = p { Some(*n) } else { None }).collect();
    // Header, two length fields; MP_UNREACH_NLRI's header (extended length) and AFI/SAFI.
    let room = MAX_MESSAGE_LEN - HEADER_LEN - 4;
    let mut out: Vec<Update> =
        v4.chunks(room / 5).map(|c| Update { withdrawn: c.to_vec(), ..Update::default() }).collect();
    out.extend(v6.chunks((room - 7) / 17).map(|c| Update {
        attributes: vec![PathAttribute::MpUnreach(MpUnreach { withdrawn: Prefixes::Ipv6(c.to_vec()) })],
        ..Update::default()
    }));
    out
}

/// Bytes left for prefixes in an UPDATE like `update` (which has none).
fn room_for_nlri(update: &Update) -> usize {
    let len = crate::message::encoded_len(&Message::Update(update.clone())).unwrap_or(MAX_MESSAGE_LEN);
    MAX_MESSAGE_LEN.saturating_sub(len)
}

fn family_of(prefix: &IpNet) -> Family {
    match prefix {
        IpNet::V4(_) => Family::IPV4_UNICAST,
        IpNet::V6(_) => Family::IPV6_UNICAST,
    }
}
