//! The BFD session (RFC 5880 §6.8) on a virtual clock: two sessions wired to each other
//! reach Up, detect a silent peer, run Poll/Final sequences and go AdminDown; the transmit
//! jitter, the slow rate while not Up, the session's reception checks; arbitrary bytes never
//! panic.

use std::time::Duration;

use bm_bgp::bfd::{BfdAction, BfdConfig, BfdEvent, BfdSession, BfdState, ControlPacket, Diag, DropReason};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn fast() -> BfdConfig {
    BfdConfig::new(ms(100), ms(100), 3)
}

/// What one side sent and saw.
#[derive(Default)]
struct Log {
    sent: Vec<(Duration, ControlPacket)>,
    events: Vec<(Duration, BfdEvent)>,
    /// When a packet from the other side last arrived.
    last_rx: Option<Duration>,
    /// Packets from the other side the session discarded.
    drops: Vec<DropReason>,
}

/// Two sessions on a link with a 1 ms latency; each direction can be cut.
struct Pair {
    s: [BfdSession; 2],
    logs: [Log; 2],
    now: Duration,
    /// Whether what side i sends arrives.
    delivers: [bool; 2],
    in_flight: Vec<(Duration, usize, [u8; 24])>,
}

impl Pair {
    fn new(a: BfdConfig, b: BfdConfig) -> Pair {
        let mut s = [BfdSession::new(a, 0x1111, 1).unwrap(), BfdSession::new(b, 0x2222, 2).unwrap()];
        s[0].start(Duration::ZERO);
        s[1].start(Duration::ZERO);
        let mut p =
            Pair { s, logs: Default::default(), now: Duration::ZERO, delivers: [true, true], in_flight: Vec::new() };
        p.drain();
        p
    }

    fn drain(&mut self) {
        loop {
            let mut progress = false;
            for i in 0..2 {
                while let Some(action) = self.s[i].poll_action() {
                    progress = true;
                    match action {
                        BfdAction::Send { bytes } => {
                            let packet = ControlPacket::decode(&bytes).unwrap();
                            assert!(!(packet.poll && packet.final_), "P and F together: {packet:?}");
                            self.logs[i].sent.push((self.now, packet));
                            if self.delivers[i] {
                                self.in_flight.push((self.now + ms(1), 1 - i, bytes));
                            }
                        }
                        BfdAction::Event { event } => self.logs[i].events.push((self.now, event)),
                    }
                }
            }
            // Deliveries due now.
            let due: Vec<_> = self.in_flight.iter().filter(|f| f.0 <= self.now).cloned().collect();
            self.in_flight.retain(|f| f.0 > self.now);
            for (_, to, bytes) in due {
                progress = true;
                match self.s[to].handle_packet(self.now, &bytes, 255) {
                    Ok(()) => self.logs[to].last_rx = Some(self.now),
                    Err(reason) => self.logs[to].drops.push(reason),
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Runs the virtual clock to `until`, jumping from deadline to deadline.
    fn run_until(&mut self, until: Duration) {
        loop {
            self.drain();
            let next = self.s[0]
                .poll_timeout()
                .into_iter()
                .chain(self.s[1].poll_timeout())
                .chain(self.in_flight.iter().map(|f| f.0))
                .min();
            match next {
                Some(t) if t <= until => {
                    assert!(t >= self.now, "time went backwards");
                    self.now = t;
                    self.s[0].handle_timeout(t);
                    self.s[1].handle_timeout(t);
                }
                _ => {
                    self.now = until;
                    return;
                }
            }
        }
    }

    fn run_for(&mut self, d: Duration) {
        self.run_until(self.now + d);
    }

    fn states(&self) -> (BfdState, BfdState) {
        (self.s[0].state(), self.s[1].state())
    }

    fn changes(&self, i: usize) -> Vec<(BfdState, BfdState, Diag)> {
        self.logs[i]
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                BfdEvent::StateChanged { from, to, diag, .. } => Some((*from, *to, *diag)),
                _ => None,
            })
            .collect()
    }

    /// The gaps between side i's packets sent after `from`, Finals left out.
    fn gaps(&self, i: usize, from: Duration) -> Vec<Duration> {
        let times: Vec<Duration> =
            self.logs[i].sent.iter().filter(|(t, p)| *t >= from && !p.final_).map(|(t, _)| *t).collect();
        times.windows(2).map(|w| w[1] - w[0]).collect()
    }

    fn up(a: BfdConfig, b: BfdConfig) -> Pair {
        let mut p = Pair::new(a, b);
        p.run_for(Duration::from_secs(5));
        assert_eq!(p.states(), (BfdState::Up, BfdState::Up));
        p
    }
}

#[test]
fn two_sessions_come_up_and_agree_on_the_timers() {
    let p = Pair::up(fast(), fast());
    for i in 0..2 {
        let c = p.changes(i);
        assert_eq!(c.last().map(|c| c.1), Some(BfdState::Up), "{c:?}");
        assert!(c.iter().all(|c| c.2 == Diag::None), "{c:?}");
        // Coming Up changed our DesiredMinTx from 1 s to 100 ms: a Poll sequence told the peer.
        assert!(p.logs[i].events.iter().any(|(_, e)| *e == BfdEvent::PollCompleted));
        assert!(!p.s[i].polling());
        assert_eq!(p.s[i].transmit_interval(), ms(100));
        assert_eq!(p.s[i].detection_time(), Some(ms(300)));
        assert_eq!(p.s[i].remote_discriminator(), [0x2222, 0x1111][i]);
        assert_eq!(p.s[i].stats().up, 1);
    }
    // Once Up (and polled), packets leave every 75–100 ms.
    let up_at = p.logs[0].events.iter().rev().find(|(_, e)| *e == BfdEvent::PollCompleted).unwrap().0;
    let gaps = p.gaps(0, up_at);
    assert!(gaps.len() > 20, "{gaps:?}");
    assert!(gaps.iter().all(|g| *g >= ms(75) && *g <= ms(100)), "{gaps:?}");
    // The jitter is spread, not constant.
    assert!(gaps.iter().any(|g| *g < ms(90)) && gaps.iter().any(|g| *g > ms(90)), "{gaps:?}");
    let last = p.logs[0].sent.last().unwrap().1;
    assert_eq!(
        (last.state, last.desired_min_tx, last.required_min_rx, last.detect_mult),
        (BfdState::Up, 100_000, 100_000, 3)
    );
}

#[test]
fn alone_a_session_sends_once_a_second_at_most() {
    // Nobody answers: Down, at the slow rate of §6.8.3, advertising 1 s.
    let mut p = Pair::new(fast(), fast());
    p.delivers = [false, false];
    p.in_flight.clear();
    p.run_for(Duration::from_secs(20));
    assert_eq!(p.states(), (BfdState::Down, BfdState::Down));
    let gaps = p.gaps(0, Duration::ZERO);
    assert!(gaps.len() >= 19, "{gaps:?}");
    assert!(gaps.iter().all(|g| *g >= ms(750) && *g <= ms(1000)), "{gaps:?}");
    for (_, packet) in &p.logs[0].sent {
        assert_eq!((packet.state, packet.your_discriminator, packet.desired_min_tx), (BfdState::Down, 0, 1_000_000));
    }
}

#[test]
fn a_multiplier_of_1_sends_at_75_to_90_per_cent() {
    let one = BfdConfig::new(ms(100), ms(100), 1);
    let p = Pair::up(one, one);
    let gaps = p.gaps(0, Duration::from_secs(4));
    assert!(gaps.len() > 5, "{gaps:?}");
    assert!(gaps.iter().all(|g| *g >= ms(75) && *g <= ms(90)), "{gaps:?}");
}

#[test]
fn a_silent_peer_is_detected_after_its_multiplier_times_the_interval() {
    let mut p = Pair::up(fast(), fast());
    // B's packets stop arriving.
    p.delivers[1] = false;
    let last_rx = p.logs[0].last_rx.unwrap();
    p.run_for(Duration::from_secs(2));
    let (at, down) = p.logs[0]
        .events
        .iter()
        .find_map(|(t, e)| match e {
            BfdEvent::StateChanged { from: BfdState::Up, to: BfdState::Down, diag, .. } => Some((*t, *diag)),
            _ => None,
        })
        .expect("A went down");
    assert_eq!(down, Diag::ControlDetectionExpired);
    // Detect Mult 3 × 100 ms after the last packet, exactly.
    let cut = p.logs[0].last_rx.unwrap();
    assert!(cut <= last_rx + ms(101), "no packet from B after the cut");
    assert_eq!(at - cut, ms(300));
    assert_eq!(p.s[0].remote_discriminator(), 0, "the peer is forgotten");
    // B goes down too: A now sends at the slow rate (1 s), so B's 300 ms detection expires
    // before A's Down arrives; then A's Down (it hears nobody) takes B to Init.
    assert!(
        p.changes(1).iter().any(|c| c.0 == BfdState::Up
            && c.1 == BfdState::Down
            && matches!(c.2, Diag::ControlDetectionExpired | Diag::NeighborSignaledDown)),
        "{:?}",
        p.changes(1)
    );
    assert_eq!(p.states(), (BfdState::Down, BfdState::Init));
    // A sends slowly again, with our diagnostic, and Your Discriminator 0.
    let last = p.logs[0].sent.last().unwrap().1;
    assert_eq!((last.state, last.diag, last.your_discriminator), (BfdState::Down, Diag::ControlDetectionExpired, 0));
    assert_eq!(last.desired_min_tx, 1_000_000);
    // B's packets arrive again: both come back Up.
    p.delivers[1] = true;
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.states(), (BfdState::Up, BfdState::Up));
    assert_eq!(p.s[0].stats().up, 2);
}

#[test]
fn a_timer_change_runs_a_poll_sequence_and_takes_effect_at_the_final() {
    let mut p = Pair::up(fast(), fast());
    let t = p.now;
    // A slows down to 300 ms: an increase waits for B's Final.
    p.s[0].set_timers(t, BfdConfig::new(ms(300), ms(100), 3)).unwrap();
    assert!(p.s[0].polling());
    assert_eq!(p.s[0].transmit_interval(), ms(100));
    p.run_for(ms(150));
    let polls: Vec<_> = p.logs[0].sent.iter().filter(|(at, pk)| *at >= t && pk.poll).collect();
    assert!(!polls.is_empty());
    assert_eq!(polls[0].1.desired_min_tx, 300_000);
    // B answered the Poll at once with a Final.
    let finals: Vec<_> = p.logs[1].sent.iter().filter(|(_, pk)| pk.final_).map(|(at, _)| *at).collect();
    assert!(finals.contains(&(polls[0].0 + ms(1))), "finals {finals:?}, poll at {:?}", polls[0].0);
    assert!(!p.s[0].polling());
    assert_eq!(p.s[0].transmit_interval(), ms(300));
    // B's detection time follows A's slower rate: 3 × 300 ms.
    assert_eq!(p.s[1].detection_time(), Some(ms(900)));
    let done = p.now;
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.states(), (BfdState::Up, BfdState::Up), "no false detection while slowing down");
    let gaps = p.gaps(0, done + ms(300));
    assert!(gaps.iter().all(|g| *g >= ms(225) && *g <= ms(300)), "{gaps:?}");

    // B asks for packets no faster than every 500 ms: A obeys, B's detection waits for the Final.
    let t = p.now;
    p.s[1].set_timers(t, BfdConfig::new(ms(100), ms(500), 3)).unwrap();
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.s[0].transmit_interval(), ms(500));
    assert_eq!(p.s[1].detection_time(), Some(ms(1500)));
    assert_eq!(p.states(), (BfdState::Up, BfdState::Up));
    // Unchanged timers start nothing.
    let t = p.now;
    p.s[1].set_timers(t, BfdConfig::new(ms(100), ms(500), 3)).unwrap();
    assert!(!p.s[1].polling());
    assert!(p.s[1].set_timers(t, BfdConfig::new(ms(100), ms(500), 0)).is_err());
}

#[test]
fn admin_down_takes_the_peer_down_and_stops_sending() {
    let mut p = Pair::up(fast(), fast());
    let t = p.now;
    p.s[0].admin_down(t);
    assert_eq!(p.s[0].state(), BfdState::AdminDown);
    assert_eq!(p.s[0].diag(), Diag::AdministrativelyDown);
    p.run_for(Duration::from_secs(5));
    // B is told: Down, neighbour signalled, the peer AdminDown (not a path failure).
    let to_down = p.logs[1].events.iter().find_map(|(_, e)| match e {
        BfdEvent::StateChanged { to: BfdState::Down, diag, remote, .. } => Some((*diag, *remote)),
        _ => None,
    });
    assert_eq!(to_down, Some((Diag::NeighborSignaledDown, BfdState::AdminDown)));
    assert_eq!(p.s[1].state(), BfdState::Down, "B stays Down while A is AdminDown");
    // A said AdminDown for a detection time, then fell silent; it discards what B sends.
    let admin: Vec<_> = p.logs[0].sent.iter().filter(|(at, _)| *at >= t).collect();
    assert!(admin.iter().all(|(_, pk)| pk.state == BfdState::AdminDown && pk.diag == Diag::AdministrativelyDown));
    assert!(admin.last().unwrap().0 <= t + ms(300), "{admin:?}");
    assert!(p.s[0].poll_timeout().is_none() || p.s[0].poll_timeout() > Some(p.now));
    assert!(!p.logs[0].drops.is_empty());
    assert!(p.logs[0].drops.iter().all(|d| *d == DropReason::AdminDown), "{:?}", p.logs[0].drops);
    // Enabled again: both Up.
    let t = p.now;
    p.s[0].enable(t);
    p.run_for(Duration::from_secs(5));
    assert_eq!(p.states(), (BfdState::Up, BfdState::Up));
}

#[test]
fn the_session_checks_ttl_and_discriminators() {
    let mut p = Pair::up(fast(), fast());
    let now = p.now;
    let good = p.logs[1].sent.last().unwrap().1;
    let s = &mut p.s[0];
    let dropped = s.stats().dropped;
    assert_eq!(s.handle_packet(now, &good.encode(), 254), Err(DropReason::Ttl(254)));
    assert_eq!(s.handle_packet(now, &good.encode(), 1), Err(DropReason::Ttl(1)));
    let mut other = good;
    other.your_discriminator = 0x3333;
    assert_eq!(s.handle_packet(now, &other.encode(), 255), Err(DropReason::UnknownYourDiscriminator(0x3333)));
    let mut bad = good.encode();
    bad[0] = 0x41;
    assert_eq!(s.handle_packet(now, &bad, 255), Err(DropReason::Version(2)));
    assert_eq!(s.stats().dropped, dropped + 4);
    assert_eq!(s.state(), BfdState::Up, "drops change nothing");
    assert_eq!(s.handle_packet(now, &good.encode(), 255), Ok(()));
    assert!(BfdSession::new(fast(), 0, 1).is_err());
}

#[test]
fn events_and_drops_serialize_as_tagged_json() {
    let e = BfdEvent::StateChanged {
        from: BfdState::Up,
        to: BfdState::Down,
        diag: Diag::ControlDetectionExpired,
        remote: BfdState::Down,
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"kind":"state_changed","from":"up","to":"down","diag":"control_detection_expired","remote":"down"}"#
    );
    assert_eq!(serde_json::to_string(&DropReason::Ttl(64)).unwrap(), r#"{"kind":"ttl","value":64}"#);
    assert_eq!(serde_json::to_string(&DropReason::Multipoint).unwrap(), r#"{"kind":"multipoint"}"#);
    let beyond = DropReason::LengthBeyondPayload { length: 25, received: 24 };
    let json = serde_json::to_string(&beyond).unwrap();
    assert_eq!(json, r#"{"kind":"length_beyond_payload","value":{"length":25,"received":24}}"#);
    assert_eq!(serde_json::from_str::<DropReason>(&json).unwrap(), beyond);
    // As the speaker reports it.
    #[cfg(feature = "socket")]
    {
        let dropped = bm_bgp::SpeakerEventKind::BfdDropped { reason: DropReason::Ttl(64) };
        assert_eq!(
            serde_json::to_string(&dropped).unwrap(),
            r#"{"kind":"bfd_dropped","reason":{"kind":"ttl","value":64}}"#
        );
    }
    assert_eq!(DropReason::Ttl(64).to_string(), "TTL 64: single-hop BFD needs 255 (GTSM)");
    assert_eq!(Diag::NeighborSignaledDown.to_string(), "neighbor signaled session down");
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), ttl in any::<u8>()) {
            if let Ok(p) = ControlPacket::decode(&bytes) {
                prop_assert_eq!(ControlPacket::decode(&p.encode()), Ok(p));
            }
            let mut s = BfdSession::new(fast(), 7, 3).unwrap();
            s.start(Duration::ZERO);
            let _ = s.handle_packet(ms(10), &bytes, ttl);
            s.handle_timeout(ms(2000));
            while s.poll_action().is_some() {}
        }

        #[test]
        fn well_formed_packets_drive_the_session_without_panic(
            state in 0u8..4, flags in any::<u8>(), mult in any::<u8>(), your in prop_oneof![Just(0u32), Just(7u32), any::<u32>()],
            tx in any::<u32>(), rx in any::<u32>(), steps in 1usize..20,
        ) {
            let mut s = BfdSession::new(fast(), 7, 3).unwrap();
            s.start(Duration::ZERO);
            let mut now = Duration::ZERO;
            for k in 0..steps {
                let mut b = [0u8; 24];
                b[0] = 0x20;
                b[1] = (state << 6) | (flags & 0x3a);
                b[2] = mult;
                b[3] = 24;
                b[4..8].copy_from_slice(&9u32.to_be_bytes());
                b[8..12].copy_from_slice(&your.to_be_bytes());
                b[12..16].copy_from_slice(&tx.to_be_bytes());
                b[16..20].copy_from_slice(&rx.to_be_bytes());
                let _ = s.handle_packet(now, &b, 255);
                while s.poll_action().is_some() {}
                if let Some(t) = s.poll_timeout() {
                    prop_assert!(t >= now || k == 0);
                    now = now.max(t);
                    s.handle_timeout(now);
                }
            }
        }
    }
}
