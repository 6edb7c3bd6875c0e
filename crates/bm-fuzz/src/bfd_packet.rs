//! Fuzzes BFD (`bm_bgp::bfd`): the control packet codec and the session.
//!
//! The input is read twice. First as a datagram: [`ControlPacket::decode`] never panics, and a
//! packet that decodes encodes to the datagram's first 24 bytes with the length field 24 (every
//! bit it accepts is kept) and decodes back equal.
//!
//! Then structure-aware (`arbitrary`): two [`BfdSession`]s with timers, discriminators and seeds
//! from the input, wired to each other, and up to 64 operations: deliver one of the packets each
//! side has sent (or drop it), a packet built from fields (your discriminator ours, zero or
//! another), raw bytes, with any TTL, the clock moved on (to an arbitrary time or the next
//! deadline) with `handle_timeout` on both, `set_timers`, `admin_down`, `enable` and `start`.
//! Checked after each: no panic; every packet a session sends decodes, with never both P and F,
//! its own discriminator, its state and our configured multiplier; the StateChanged events chain
//! and end at `state()`; a discarded packet changes nothing but the drop count, and every accepted
//! or dropped one is counted; an AdminDown session takes no packet; `poll_timeout` is never before
//! `now`, and never at or before it once `handle_timeout(now)` has run.

use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bm_bgp::bfd::{
    BfdAction, BfdConfig, BfdEvent, BfdSession, BfdState, CONTROL_LEN, ControlPacket, Diag, DropReason, SINGLE_HOP_TTL,
};

/// Two sessions and what happens to them.
#[derive(Arbitrary, Debug)]
pub struct Input {
    timers: [Timers; 2],
    discriminators: [u32; 2],
    seeds: [u64; 2],
    ops: Vec<Op>,
}

/// A session's timers, in milliseconds (0 → 1 ms).
#[derive(Arbitrary, Debug, Clone, Copy)]
pub struct Timers {
    min_tx: u16,
    min_rx: u16,
    multiplier: u8,
}

impl Timers {
    fn config(self) -> BfdConfig {
        let ms = |v: u16| Duration::from_millis(u64::from(v.max(1)));
        BfdConfig::new(ms(self.min_tx), ms(self.min_rx), self.multiplier)
    }
}

/// One operation; `side` picks a session (modulo 2).
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// The oldest packet `side` sent arrives at the other (or is lost).
    Deliver {
        side: u8,
        lose: bool,
    },
    /// A packet built from fields arrives at `side`.
    Packet {
        side: u8,
        packet: Fields,
        ttl: Option<u8>,
    },
    /// Raw bytes arrive at `side`.
    Raw {
        side: u8,
        bytes: Vec<u8>,
        ttl: u8,
    },
    Advance {
        millis: u16,
    },
    NextDeadline,
    SetTimers {
        side: u8,
        timers: Timers,
    },
    AdminDown {
        side: u8,
    },
    Enable {
        side: u8,
    },
    Start {
        side: u8,
    },
}

/// A control packet's fields.
#[derive(Arbitrary, Debug)]
pub struct Fields {
    diag: u8,
    state: u8,
    poll: bool,
    final_: bool,
    demand: bool,
    detect_mult: u8,
    my_discriminator: u32,
    /// 0: the receiver's, 1: zero, else this value.
    your: u32,
    desired_min_tx: u32,
    required_min_rx: u32,
    required_min_echo_rx: u32,
}

/// The codec half: a datagram.
fn check_datagram(bytes: &[u8]) {
    let Ok(p) = ControlPacket::decode(bytes) else { return };
    let encoded = p.encode();
    let mut want = [0u8; CONTROL_LEN];
    want.copy_from_slice(&bytes[..CONTROL_LEN]);
    want[3] = CONTROL_LEN as u8;
    assert_eq!(encoded, want, "a decoded packet encodes to other bytes");
    assert_eq!(ControlPacket::decode(&encoded), Ok(p), "the encoding decodes to another packet");
}

struct Side {
    s: BfdSession,
    config: BfdConfig,
    /// Packets sent, not yet delivered (at most 8: older ones are lost).
    queue: Vec<[u8; CONTROL_LEN]>,
    /// The state as the events tell it.
    state: BfdState,
    sent: u64,
}

struct Harness {
    sides: [Side; 2],
    now: Duration,
}

impl Harness {
    fn drain(&mut self, i: usize) {
        let side = &mut self.sides[i];
        while let Some(action) = side.s.poll_action() {
            match action {
                BfdAction::Send { bytes } => {
                    let p = ControlPacket::decode(&bytes)
                        .unwrap_or_else(|e| panic!("a sent packet does not decode: {e:?} {bytes:?}"));
                    assert!(!(p.poll && p.final_), "P and F together: {p:?}");
                    assert_eq!(p.my_discriminator, side.s.local_discriminator());
                    assert_eq!(p.detect_mult, side.config.multiplier);
                    assert_eq!(p.state, side.state, "a packet with another state than the session's");
                    assert!(!p.demand);
                    side.sent += 1;
                    if side.queue.len() == 8 {
                        side.queue.remove(0);
                    }
                    side.queue.push(bytes);
                }
                BfdAction::Event { event: BfdEvent::StateChanged { from, to, .. } } => {
                    assert_eq!(from, side.state, "StateChanged events do not chain");
                    assert_ne!(from, to);
                    side.state = to;
                }
                BfdAction::Event { .. } => {}
            }
        }
        assert_eq!(side.state, side.s.state(), "the events do not end at state()");
        assert_eq!(side.s.stats().sent, side.sent, "sent does not count the Sends");
        if let Some(t) = side.s.poll_timeout() {
            assert!(t >= self.now, "poll_timeout {t:?} before now {:?}", self.now);
        }
    }

    fn receive(&mut self, i: usize, bytes: &[u8], ttl: u8) {
        let now = self.now;
        let side = &mut self.sides[i];
        let before = *side.s.stats();
        let (state, remote) = (side.s.state(), side.s.remote_discriminator());
        let admin_down = state == BfdState::AdminDown;
        match side.s.handle_packet(now, bytes, ttl) {
            Ok(()) => {
                assert!(!admin_down, "an AdminDown session took a packet");
                assert_eq!(ttl, SINGLE_HOP_TTL);
                let p = ControlPacket::decode(bytes).expect("accepted, so it decodes");
                assert_eq!(side.s.remote_discriminator(), p.my_discriminator);
                assert_eq!(side.s.remote_state(), p.state);
                assert_eq!(side.s.stats().received, before.received + 1);
            }
            Err(reason) => {
                if ttl != SINGLE_HOP_TTL {
                    assert_eq!(reason, DropReason::Ttl(ttl));
                }
                assert_eq!(side.s.stats().dropped, before.dropped + 1);
                assert_eq!((side.s.state(), side.s.remote_discriminator()), (state, remote), "a drop changed things");
                assert_eq!(side.s.poll_action(), None, "a drop did something");
            }
        }
        self.drain(i);
    }

    fn advance(&mut self, to: Duration) {
        self.now = self.now.max(to);
        for i in 0..2 {
            self.sides[i].s.handle_timeout(self.now);
            self.drain(i);
            if let Some(t) = self.sides[i].s.poll_timeout() {
                assert!(t > self.now, "poll_timeout {t:?} not after now {:?} after handle_timeout", self.now);
            }
        }
    }

    fn run(&mut self, op: &Op) {
        let now = self.now;
        match op {
            Op::Deliver { side, lose } => {
                let i = usize::from(side % 2);
                if self.sides[i].queue.is_empty() {
                    return;
                }
                let bytes = self.sides[i].queue.remove(0);
                if !lose {
                    self.receive(1 - i, &bytes, SINGLE_HOP_TTL);
                }
            }
            Op::Packet { side, packet, ttl } => {
                let i = usize::from(side % 2);
                let your = match packet.your {
                    0 => self.sides[i].s.local_discriminator(),
                    1 => 0,
                    other => other,
                };
                let p = ControlPacket {
                    diag: Diag::from_code(packet.diag),
                    state: [BfdState::AdminDown, BfdState::Down, BfdState::Init, BfdState::Up]
                        [usize::from(packet.state % 4)],
                    poll: packet.poll,
                    final_: packet.final_,
                    control_plane_independent: false,
                    demand: packet.demand,
                    detect_mult: packet.detect_mult,
                    my_discriminator: packet.my_discriminator,
                    your_discriminator: your,
                    desired_min_tx: packet.desired_min_tx,
                    required_min_rx: packet.required_min_rx,
                    required_min_echo_rx: packet.required_min_echo_rx,
                };
                self.receive(i, &p.encode(), ttl.unwrap_or(SINGLE_HOP_TTL));
            }
            Op::Raw { side, bytes, ttl } => {
                check_datagram(bytes);
                self.receive(usize::from(side % 2), &bytes[..bytes.len().min(64)], *ttl);
            }
            Op::Advance { millis } => self.advance(now + Duration::from_millis(u64::from(*millis))),
            Op::NextDeadline => {
                let next = self.sides.iter().filter_map(|s| s.s.poll_timeout()).min();
                if let Some(t) = next {
                    self.advance(t);
                }
            }
            Op::SetTimers { side, timers } => {
                let i = usize::from(side % 2);
                let config = timers.config();
                let side = &mut self.sides[i];
                match side.s.set_timers(now, config) {
                    Ok(()) => side.config = config,
                    Err(_) => assert!(config.validate().is_err()),
                }
                assert_eq!(*side.s.config(), side.config);
                self.drain(i);
            }
            Op::AdminDown { side } => {
                let i = usize::from(side % 2);
                self.sides[i].s.admin_down(now);
                assert_eq!(self.sides[i].s.state(), BfdState::AdminDown);
                self.drain(i);
            }
            Op::Enable { side } => {
                let i = usize::from(side % 2);
                let was = self.sides[i].s.state();
                self.sides[i].s.enable(now);
                if was == BfdState::AdminDown {
                    assert_eq!(self.sides[i].s.state(), BfdState::Down);
                }
                self.drain(i);
            }
            Op::Start { side } => {
                let i = usize::from(side % 2);
                self.sides[i].s.start(now);
                self.drain(i);
            }
        }
    }
}

/// One input.
pub fn run(data: &[u8]) {
    check_datagram(data);
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let now = Duration::from_secs(1);
    let mut sides = Vec::new();
    for i in 0..2 {
        let config = input.timers[i].config();
        let discriminator = input.discriminators[i];
        match BfdSession::new(config, discriminator, input.seeds[i]) {
            Ok(mut s) => {
                s.start(now);
                sides.push(Side { s, config, queue: Vec::new(), state: BfdState::Down, sent: 0 });
            }
            Err(_) => {
                assert!(config.validate().is_err() || discriminator == 0);
                return;
            }
        }
    }
    let Ok(sides) = <[Side; 2]>::try_from(sides) else { return };
    let mut h = Harness { sides, now };
    h.drain(0);
    h.drain(1);
    for op in input.ops.iter().take(64) {
        h.run(op);
    }
}
