//! The asynchronous-mode BFD session of RFC 5880 §6.8, sans-IO: time is an input
//! (`now`, a [`Duration`] since any epoch), bytes and events are outputs
//! ([`BfdSession::poll_action`]), the next wake-up is [`BfdSession::poll_timeout`].

use std::collections::VecDeque;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::config::{BfdConfig, BfdConfigError, SLOW_TX};
use super::packet::{BfdState, CONTROL_LEN, ControlPacket, Diag, DropReason, micros};

/// The TTL (hop limit) a single-hop BFD packet is sent and must arrive with (RFC 5881 §5).
pub const SINGLE_HOP_TTL: u8 = 255;

/// What a session asks of its backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BfdAction {
    /// Send this control packet to the peer (UDP port 3784, TTL 255).
    Send {
        /// The packet.
        bytes: [u8; CONTROL_LEN],
    },
    /// Something happened.
    Event {
        /// What.
        event: BfdEvent,
    },
}

/// What happened to a session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BfdEvent {
    /// The state changed.
    StateChanged {
        /// From.
        from: BfdState,
        /// To.
        to: BfdState,
        /// Why (our diagnostic, as sent to the peer).
        diag: Diag,
        /// The peer's state as last heard.
        remote: BfdState,
    },
    /// A Poll sequence ended with the peer's Final: the new timers are in force.
    PollCompleted,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdStats {
    /// Control packets sent.
    pub sent: u64,
    /// Control packets accepted.
    pub received: u64,
    /// Control packets discarded.
    pub dropped: u64,
    /// Times the session came Up.
    pub up: u64,
}

/// One asynchronous-mode BFD session (RFC 5880 §6.8), active role, no demand mode, no echo.
///
/// Drive it as [`Session`](crate::Session): after each input ([`start`](Self::start),
/// [`handle_packet`](Self::handle_packet), [`handle_timeout`](Self::handle_timeout),
/// [`set_timers`](Self::set_timers), [`admin_down`](Self::admin_down),
/// [`enable`](Self::enable)) drain [`poll_action`](Self::poll_action), then wait for
/// [`poll_timeout`](Self::poll_timeout) or a packet. Times never go backwards.
#[derive(Clone, Debug)]
pub struct BfdSession {
    config: BfdConfig,
    state: BfdState,
    remote_state: BfdState,
    local_discr: u32,
    remote_discr: u32,
    diag: Diag,
    remote_min_rx: Duration,
    remote_desired_tx: Duration,
    remote_detect_mult: u8,
    remote_demand: bool,
    /// The desired TX interval acted on (an increase waits for the Poll's Final).
    tx_in_use: Duration,
    /// The required RX interval the detection time uses (a decrease waits for the Final).
    rx_in_use: Duration,
    polling: bool,
    send_final: bool,
    started: bool,
    last_tx: Option<Duration>,
    next_tx: Option<Duration>,
    last_rx: Option<Duration>,
    detect_at: Option<Duration>,
    /// AdminDown: packets saying so are sent until then.
    admin_until: Option<Duration>,
    rng: u64,
    actions: VecDeque<BfdAction>,
    stats: BfdStats,
}

impl BfdSession {
    /// A session in Down with our discriminator (non-zero, unique among the backend's
    /// sessions) and a seed for the transmit jitter.
    ///
    /// # Errors
    ///
    /// The timers' [`BfdConfigError`]; a discriminator of 0 is [`BfdConfigError::ZeroDiscriminator`].
    pub fn new(config: BfdConfig, local_discriminator: u32, seed: u64) -> Result<BfdSession, BfdConfigError> {
        config.validate()?;
        if local_discriminator == 0 {
            return Err(BfdConfigError::ZeroDiscriminator);
        }
        let mut s = BfdSession {
            config,
            state: BfdState::Down,
            remote_state: BfdState::Down,
            local_discr: local_discriminator,
            remote_discr: 0,
            diag: Diag::None,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_tx: Duration::ZERO,
            remote_detect_mult: 0,
            remote_demand: false,
            tx_in_use: SLOW_TX,
            rx_in_use: config.min_rx,
            polling: false,
            send_final: false,
            started: false,
            last_tx: None,
            next_tx: None,
            last_rx: None,
            detect_at: None,
            admin_until: None,
            rng: seed,
            actions: VecDeque::new(),
            stats: BfdStats::default(),
        };
        s.tx_in_use = s.advertised_tx();
        Ok(s)
    }

    /// The state.
    pub fn state(&self) -> BfdState {
        self.state
    }

    /// The peer's state as last heard.
    pub fn remote_state(&self) -> BfdState {
        self.remote_state
    }

    /// Our diagnostic.
    pub fn diag(&self) -> Diag {
        self.diag
    }

    /// Our discriminator.
    pub fn local_discriminator(&self) -> u32 {
        self.local_discr
    }

    /// The peer's discriminator (0 until heard, and after the detection time expires).
    pub fn remote_discriminator(&self) -> u32 {
        self.remote_discr
    }

    /// The timers.
    pub fn config(&self) -> &BfdConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &BfdStats {
        &self.stats
    }

    /// Whether a Poll sequence is in progress.
    pub fn polling(&self) -> bool {
        self.polling
    }

    /// The interval packets are sent at before jitter: the larger of our desired TX interval
    /// and the peer's required RX interval (RFC 5880 §6.8.7).
    pub fn transmit_interval(&self) -> Duration {
        self.tx_in_use.max(self.remote_min_rx)
    }

    /// The detection time: the peer's multiplier × the larger of our required RX interval and
    /// the peer's desired TX interval (RFC 5880 §6.8.4); `None` before the peer is heard.
    pub fn detection_time(&self) -> Option<Duration> {
        (self.remote_detect_mult > 0)
            .then(|| self.rx_in_use.max(self.remote_desired_tx).saturating_mul(u32::from(self.remote_detect_mult)))
    }

    /// The next wake-up.
    pub fn poll_timeout(&self) -> Option<Duration> {
        [self.next_tx, self.detect_at].into_iter().flatten().min()
    }

    /// The next action.
    pub fn poll_action(&mut self) -> Option<BfdAction> {
        self.actions.pop_front()
    }

    /// Starts sending (in Down, once a second).
    pub fn start(&mut self, now: Duration) {
        if self.started {
            return;
        }
        self.started = true;
        self.transmit(now, false);
    }

    /// A datagram from the peer, received with this TTL / hop limit.
    ///
    /// # Errors
    ///
    /// Why it was discarded (RFC 5880 §6.8.6, RFC 5881 §5); the session is unchanged.
    pub fn handle_packet(&mut self, now: Duration, bytes: &[u8], ttl: u8) -> Result<(), DropReason> {
        let result = self.receive(now, bytes, ttl);
        match result {
            Ok(()) => self.stats.received += 1,
            Err(_) => self.stats.dropped += 1,
        }
        result
    }

    fn receive(&mut self, now: Duration, bytes: &[u8], ttl: u8) -> Result<(), DropReason> {
        if ttl != SINGLE_HOP_TTL {
            return Err(DropReason::Ttl(ttl));
        }
        let p = ControlPacket::decode(bytes)?;
        if p.your_discriminator != 0 && p.your_discriminator != self.local_discr {
            return Err(DropReason::UnknownYourDiscriminator(p.your_discriminator));
        }
        if self.state == BfdState::AdminDown {
            return Err(DropReason::AdminDown);
        }
        self.remote_discr = p.my_discriminator;
        self.remote_state = p.state;
        self.remote_demand = p.demand;
        self.remote_detect_mult = p.detect_mult;
        self.remote_desired_tx = p.desired_min_tx();
        let old_interval = self.transmit_interval();
        self.remote_min_rx = p.required_min_rx();
        if p.final_ && self.polling {
            self.polling = false;
            self.tx_in_use = self.advertised_tx();
            self.rx_in_use = self.config.min_rx;
            self.actions.push_back(BfdAction::Event { event: BfdEvent::PollCompleted });
        }
        match (self.state, p.state) {
            (BfdState::Down, _) if p.state == BfdState::AdminDown => {}
            (_, BfdState::AdminDown) => self.change(now, BfdState::Down, Diag::NeighborSignaledDown),
            (BfdState::Down, BfdState::Down) => self.change(now, BfdState::Init, Diag::None),
            (BfdState::Down, BfdState::Init) => self.change(now, BfdState::Up, Diag::None),
            (BfdState::Init, BfdState::Init | BfdState::Up) => self.change(now, BfdState::Up, Diag::None),
            (BfdState::Up, BfdState::Down) => self.change(now, BfdState::Down, Diag::NeighborSignaledDown),
            _ => {}
        }
        self.last_rx = Some(now);
        self.detect_at = self.detection_time().map(|d| now.saturating_add(d));
        if p.poll {
            self.send_final = true;
            self.send_packet(now);
        }
        if self.transmit_interval() != old_interval {
            self.reschedule(now);
        }
        Ok(())
    }

    /// The timers expired: a packet to send, or the peer silent for the detection time.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.detect_at.is_some_and(|t| t <= now) {
            self.detect_at = None;
            // RFC 5880 §6.8.1: the peer is forgotten.
            self.remote_discr = 0;
            self.remote_state = BfdState::Down;
            self.remote_min_rx = Duration::from_micros(1);
            self.remote_detect_mult = 0;
            self.remote_demand = false;
            if matches!(self.state, BfdState::Init | BfdState::Up) {
                self.change(now, BfdState::Down, Diag::ControlDetectionExpired);
            }
        }
        if self.next_tx.is_some_and(|t| t <= now) {
            self.next_tx = None;
            self.transmit(now, true);
        }
    }

    /// New timers; while Up, a Poll sequence carries them to the peer (an increase of the
    /// TX interval, or a decrease of the RX interval, takes effect at its Final).
    ///
    /// # Errors
    ///
    /// The timers' [`BfdConfigError`]; the session is unchanged.
    pub fn set_timers(&mut self, now: Duration, config: BfdConfig) -> Result<(), BfdConfigError> {
        config.validate()?;
        if config == self.config {
            return Ok(());
        }
        let old_interval = self.transmit_interval();
        self.config = config;
        if self.state == BfdState::Up {
            self.polling = true;
            // Changes that make the peer's life easier apply now, the others at the Final.
            self.tx_in_use = self.tx_in_use.min(self.advertised_tx());
            self.rx_in_use = self.rx_in_use.max(config.min_rx);
        } else {
            self.tx_in_use = self.advertised_tx();
            self.rx_in_use = config.min_rx;
        }
        if self.transmit_interval() != old_interval {
            self.reschedule(now);
        }
        Ok(())
    }

    /// Holds the session down (RFC 5880 §6.8.16): AdminDown with diagnostic 7, sent to the
    /// peer for one detection time (or three transmit intervals if the peer is not heard),
    /// then silent.
    pub fn admin_down(&mut self, now: Duration) {
        if self.state == BfdState::AdminDown {
            return;
        }
        let linger = self.detection_time().unwrap_or(self.transmit_interval().saturating_mul(3));
        self.change(now, BfdState::AdminDown, Diag::AdministrativelyDown);
        self.polling = false;
        self.detect_at = None;
        self.admin_until = Some(now.saturating_add(linger));
        if self.started {
            self.send_packet(now);
            self.schedule(now);
        }
    }

    /// Ends [`admin_down`](Self::admin_down): Down, sending again.
    pub fn enable(&mut self, now: Duration) {
        if self.state != BfdState::AdminDown {
            return;
        }
        self.admin_until = None;
        self.change(now, BfdState::Down, self.diag);
        if self.started {
            self.send_packet(now);
            self.schedule(now);
        }
    }

    /// Our desired TX interval as sent: at least 1 s while not Up (RFC 5880 §6.8.3).
    fn advertised_tx(&self) -> Duration {
        if self.state == BfdState::Up { self.config.min_tx } else { self.config.min_tx.max(SLOW_TX) }
    }

    fn change(&mut self, now: Duration, to: BfdState, diag: Diag) {
        let from = self.state;
        if from == to {
            return;
        }
        self.state = to;
        self.diag = diag;
        if to == BfdState::Up {
            self.stats.up += 1;
        }
        let old_interval = self.transmit_interval();
        if to == BfdState::Up || from == BfdState::Up {
            // DesiredMinTx changes (1 s ↔ the configured one): the peer learns it by a Poll
            // when we are Up; leaving Up there is no one to ask.
            self.polling = to == BfdState::Up;
            self.tx_in_use = self.advertised_tx();
            self.rx_in_use = self.config.min_rx;
        }
        self.actions.push_back(BfdAction::Event {
            event: BfdEvent::StateChanged { from, to, diag, remote: self.remote_state },
        });
        if self.transmit_interval() != old_interval && self.started {
            self.reschedule(now);
        }
    }

    /// The interval changed: the next packet is due one (new, jittered) interval after the
    /// last one sent.
    fn reschedule(&mut self, now: Duration) {
        if self.next_tx.is_none() {
            return;
        }
        let at = self.last_tx.unwrap_or(now).saturating_add(self.jittered());
        self.next_tx = Some(at.max(now));
    }

    /// The periodic transmission (RFC 5880 §6.8.7), then the next one scheduled.
    fn transmit(&mut self, now: Duration, periodic: bool) {
        let quiet = self.remote_min_rx.is_zero()
            || (self.remote_demand && self.state == BfdState::Up && self.remote_state == BfdState::Up)
            || (self.state == BfdState::AdminDown && self.admin_until.is_none_or(|t| now >= t));
        if !(periodic && quiet) {
            self.send_packet(now);
        }
        self.schedule(now);
    }

    fn schedule(&mut self, now: Duration) {
        let done = self.state == BfdState::AdminDown && self.admin_until.is_none_or(|t| now >= t);
        self.next_tx = (!done).then(|| now.saturating_add(self.jittered()));
    }

    fn send_packet(&mut self, now: Duration) {
        let final_ = std::mem::take(&mut self.send_final);
        let p = ControlPacket {
            diag: self.diag,
            state: self.state,
            // Never both (RFC 5880 §6.5): the Poll goes on the next packet.
            poll: self.polling && !final_,
            final_,
            control_plane_independent: false,
            demand: false,
            detect_mult: self.config.multiplier,
            my_discriminator: self.local_discr,
            your_discriminator: self.remote_discr,
            desired_min_tx: micros(self.advertised_tx()),
            required_min_rx: micros(self.config.min_rx),
            required_min_echo_rx: 0,
        };
        self.stats.sent += 1;
        self.last_tx = Some(now);
        self.actions.push_back(BfdAction::Send { bytes: p.encode() });
    }

    /// The transmit interval less 0–25 % jitter (0–10 % more, at least, with a multiplier
    /// of 1: 75–90 % of the interval, RFC 5880 §6.8.7).
    fn jittered(&mut self) -> Duration {
        let interval = self.transmit_interval();
        let top: u64 = if self.config.multiplier == 1 { 90 } else { 100 };
        // 75..=top per cent, in tenths of a per cent for a finer spread.
        let span = (top - 75) * 10;
        let permille = 750 + self.next_random() % (span + 1);
        interval.saturating_mul(u32::try_from(permille).unwrap_or(1000)) / 1000
    }

    /// splitmix64.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}
