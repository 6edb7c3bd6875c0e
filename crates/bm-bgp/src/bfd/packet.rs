//! The BFD control packet (RFC 5880 §4.1): [`ControlPacket::decode`] with the checks of §6.8.6
//! that need no session, each failure a [`DropReason`], and [`ControlPacket::encode`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Vers |  Diag   |Sta|P|F|C|A|D|M|  Detect Mult  |    Length     |
//! |                       My Discriminator                        |
//! |                      Your Discriminator                       |
//! |                    Desired Min TX Interval                    |
//! |                   Required Min RX Interval                    |
//! |                 Required Min Echo RX Interval                 |
//! ```

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The BFD version.
pub const VERSION: u8 = 1;
/// The length of a control packet without authentication.
pub const CONTROL_LEN: usize = 24;

/// A session state (RFC 5880 §4.1 "State").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BfdState {
    /// Held down by its operator.
    AdminDown,
    /// Down, or just created.
    Down,
    /// Talking to the peer, which does not see us yet.
    Init,
    /// Up.
    Up,
}

impl BfdState {
    fn from_bits(bits: u8) -> BfdState {
        match bits & 3 {
            0 => BfdState::AdminDown,
            1 => BfdState::Down,
            2 => BfdState::Init,
            _ => BfdState::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            BfdState::AdminDown => 0,
            BfdState::Down => 1,
            BfdState::Init => 2,
            BfdState::Up => 3,
        }
    }
}

impl fmt::Display for BfdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BfdState::AdminDown => "AdminDown",
            BfdState::Down => "Down",
            BfdState::Init => "Init",
            BfdState::Up => "Up",
        })
    }
}

/// Why a session last left Up, or why it is down (RFC 5880 §4.1 "Diagnostic").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Diag {
    /// 0: no diagnostic.
    None,
    /// 1: control detection time expired.
    ControlDetectionExpired,
    /// 2: echo function failed.
    EchoFailed,
    /// 3: the neighbor signaled session down.
    NeighborSignaledDown,
    /// 4: forwarding plane reset.
    ForwardingPlaneReset,
    /// 5: path down.
    PathDown,
    /// 6: concatenated path down.
    ConcatenatedPathDown,
    /// 7: administratively down.
    AdministrativelyDown,
    /// 8: reverse concatenated path down.
    ReverseConcatenatedPathDown,
    /// 9–31: reserved, kept.
    Unknown(u8),
}

impl Diag {
    /// From the 5-bit field.
    pub fn from_code(code: u8) -> Diag {
        match code & 0x1f {
            0 => Diag::None,
            1 => Diag::ControlDetectionExpired,
            2 => Diag::EchoFailed,
            3 => Diag::NeighborSignaledDown,
            4 => Diag::ForwardingPlaneReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdministrativelyDown,
            8 => Diag::ReverseConcatenatedPathDown,
            other => Diag::Unknown(other),
        }
    }

    /// The 5-bit field.
    pub fn code(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::ControlDetectionExpired => 1,
            Diag::EchoFailed => 2,
            Diag::NeighborSignaledDown => 3,
            Diag::ForwardingPlaneReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdministrativelyDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Unknown(code) => code & 0x1f,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::None => f.write_str("no diagnostic"),
            Diag::ControlDetectionExpired => f.write_str("control detection time expired"),
            Diag::EchoFailed => f.write_str("echo function failed"),
            Diag::NeighborSignaledDown => f.write_str("neighbor signaled session down"),
            Diag::ForwardingPlaneReset => f.write_str("forwarding plane reset"),
            Diag::PathDown => f.write_str("path down"),
            Diag::ConcatenatedPathDown => f.write_str("concatenated path down"),
            Diag::AdministrativelyDown => f.write_str("administratively down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("reverse concatenated path down"),
            Diag::Unknown(code) => write!(f, "diagnostic {code}"),
        }
    }
}

/// A BFD control packet, intervals in microseconds as on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ControlPacket {
    /// The diagnostic.
    pub diag: Diag,
    /// The sender's state.
    pub state: BfdState,
    /// P: a Poll sequence asks for a Final.
    pub poll: bool,
    /// F: the answer to a Poll.
    pub final_: bool,
    /// C: control plane independent.
    pub control_plane_independent: bool,
    /// D: demand mode.
    pub demand: bool,
    /// The detection time multiplier.
    pub detect_mult: u8,
    /// The sender's discriminator.
    pub my_discriminator: u32,
    /// The receiver's discriminator as the sender knows it (0 when it does not).
    pub your_discriminator: u32,
    /// The sender's desired minimum transmit interval, µs.
    pub desired_min_tx: u32,
    /// The minimum receive interval the sender supports, µs.
    pub required_min_rx: u32,
    /// The minimum echo receive interval the sender supports, µs (0: no echo).
    pub required_min_echo_rx: u32,
}

/// Why a received packet is discarded (RFC 5880 §6.8.6, RFC 5881 §4–5): one variant per
/// reception check, to count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropReason {
    /// Fewer bytes than a control packet.
    #[error("{0} bytes: shorter than a control packet")]
    Truncated(usize),
    /// Version other than 1.
    #[error("version {0}: only version 1 exists")]
    Version(u8),
    /// Length field below 24 (26 with authentication).
    #[error("length field {0} is too small")]
    LengthTooSmall(u8),
    /// Length field beyond the datagram.
    #[error("length field {length} beyond the {received} bytes received")]
    LengthBeyondPayload {
        /// The length field.
        length: u8,
        /// Bytes received.
        received: usize,
    },
    /// Detect Mult 0.
    #[error("detect multiplier 0")]
    ZeroDetectMult,
    /// The Multipoint bit set.
    #[error("multipoint bit set")]
    Multipoint,
    /// My Discriminator 0.
    #[error("my discriminator 0")]
    ZeroMyDiscriminator,
    /// Your Discriminator names no session of ours.
    #[error("your discriminator {0} is no session of ours")]
    UnknownYourDiscriminator(u32),
    /// Your Discriminator 0 while the sender is neither Down nor AdminDown.
    #[error("your discriminator 0 in state {0}")]
    ZeroYourDiscriminator(BfdState),
    /// The Authentication Present bit set: authentication is not implemented.
    #[error("authentication present: not supported")]
    AuthenticationUnsupported,
    /// Single hop (RFC 5881 §5): the TTL or hop limit is not 255.
    #[error("TTL {0}: single-hop BFD needs 255 (GTSM)")]
    Ttl(u8),
    /// The session is AdminDown: it discards everything.
    #[error("the session is AdminDown")]
    AdminDown,
}

fn be32(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_be_bytes(w)
}

impl ControlPacket {
    /// Reads a control packet and makes the checks of RFC 5880 §6.8.6 that need no session:
    /// version, length, detect multiplier, multipoint, my discriminator, your discriminator 0
    /// only when Down or AdminDown, and authentication (refused: not implemented).
    ///
    /// # Errors
    ///
    /// The first check that fails.
    pub fn decode(bytes: &[u8]) -> Result<ControlPacket, DropReason> {
        if bytes.len() < 4 {
            return Err(DropReason::Truncated(bytes.len()));
        }
        let version = bytes[0] >> 5;
        if version != VERSION {
            return Err(DropReason::Version(version));
        }
        let flags = bytes[1];
        let auth = flags & 0x04 != 0;
        let length = bytes[3];
        let min = if auth { CONTROL_LEN + 2 } else { CONTROL_LEN };
        if usize::from(length) < min {
            return Err(DropReason::LengthTooSmall(length));
        }
        if usize::from(length) > bytes.len() {
            return Err(DropReason::LengthBeyondPayload { length, received: bytes.len() });
        }
        let packet = ControlPacket {
            diag: Diag::from_code(bytes[0]),
            state: BfdState::from_bits(flags >> 6),
            poll: flags & 0x20 != 0,
            final_: flags & 0x10 != 0,
            control_plane_independent: flags & 0x08 != 0,
            demand: flags & 0x02 != 0,
            detect_mult: bytes[2],
            my_discriminator: be32(bytes, 4),
            your_discriminator: be32(bytes, 8),
            desired_min_tx: be32(bytes, 12),
            required_min_rx: be32(bytes, 16),
            required_min_echo_rx: be32(bytes, 20),
        };
        if packet.detect_mult == 0 {
            return Err(DropReason::ZeroDetectMult);
        }
        if flags & 0x01 != 0 {
            return Err(DropReason::Multipoint);
        }
        if packet.my_discriminator == 0 {
            return Err(DropReason::ZeroMyDiscriminator);
        }
        if packet.your_discriminator == 0 && !matches!(packet.state, BfdState::Down | BfdState::AdminDown) {
            return Err(DropReason::ZeroYourDiscriminator(packet.state));
        }
        if auth {
            return Err(DropReason::AuthenticationUnsupported);
        }
        Ok(packet)
    }

    /// The 24 bytes of the packet (no authentication; P and F as set: a caller never sets both).
    pub fn encode(&self) -> [u8; CONTROL_LEN] {
        let mut b = [0u8; CONTROL_LEN];
        b[0] = (VERSION << 5) | self.diag.code();
        b[1] = (self.state.bits() << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.control_plane_independent) << 3)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = CONTROL_LEN as u8;
        b[4..8].copy_from_slice(&self.my_discriminator.to_be_bytes());
        b[8..12].copy_from_slice(&self.your_discriminator.to_be_bytes());
        b[12..16].copy_from_slice(&self.desired_min_tx.to_be_bytes());
        b[16..20].copy_from_slice(&self.required_min_rx.to_be_bytes());
        b[20..24].copy_from_slice(&self.required_min_echo_rx.to_be_bytes());
        b
    }

    /// The desired minimum transmit interval.
    pub fn desired_min_tx(&self) -> Duration {
        Duration::from_micros(u64::from(self.desired_min_tx))
    }

    /// The required minimum receive interval.
    pub fn required_min_rx(&self) -> Duration {
        Duration::from_micros(u64::from(self.required_min_rx))
    }
}

/// An interval in wire microseconds, saturating at `u32::MAX`.
pub(crate) fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 1, diag 1, state Up, P set, detect mult 3, length 24, discriminators 1 and 2,
    /// 300 ms TX, 300 ms RX, no echo.
    const UP_POLL: [u8; 24] = [
        0x21, 0xe0, 0x03, 0x18, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x04,
        0x93, 0xe0, 0x00, 0x00, 0x00, 0x00,
    ];

    fn up_poll() -> ControlPacket {
        ControlPacket {
            diag: Diag::ControlDetectionExpired,
            state: BfdState::Up,
            poll: true,
            final_: false,
            control_plane_independent: false,
            demand: false,
            detect_mult: 3,
            my_discriminator: 1,
            your_discriminator: 2,
            desired_min_tx: 300_000,
            required_min_rx: 300_000,
            required_min_echo_rx: 0,
        }
    }

    #[test]
    fn deconstruct() {
        let p = ControlPacket::decode(&UP_POLL).unwrap();
        assert_eq!(p, up_poll());
        assert_eq!(p.desired_min_tx(), Duration::from_millis(300));
    }

    #[test]
    fn construct() {
        assert_eq!(up_poll().encode(), UP_POLL);
    }

    #[test]
    fn every_flag_and_state() {
        // Down, F, C, D; diag 8.
        let bytes = [0x28, 0x5a, 0x05, 0x18, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        let p = ControlPacket::decode(&bytes).unwrap();
        assert_eq!(p.diag, Diag::ReverseConcatenatedPathDown);
        assert_eq!(p.state, BfdState::Down);
        assert!(!p.poll && p.final_ && p.control_plane_independent && p.demand);
        assert_eq!((p.detect_mult, p.my_discriminator, p.your_discriminator), (5, 9, 0));
        assert_eq!((p.desired_min_tx, p.required_min_rx, p.required_min_echo_rx), (1, 2, 3));
        assert_eq!(p.encode(), bytes);
        for (bits, state) in [(0, BfdState::AdminDown), (1, BfdState::Down), (2, BfdState::Init), (3, BfdState::Up)] {
            assert_eq!(BfdState::from_bits(bits), state);
            assert_eq!(state.bits(), bits);
        }
        for code in 0..32 {
            assert_eq!(Diag::from_code(code).code(), code);
        }
        assert_eq!(Diag::from_code(9), Diag::Unknown(9));
    }

    #[test]
    fn a_longer_datagram_is_read_to_its_length() {
        let mut bytes = UP_POLL.to_vec();
        bytes.extend_from_slice(&[0xff; 8]);
        assert_eq!(ControlPacket::decode(&bytes), Ok(up_poll()));
    }

    fn with(f: impl FnOnce(&mut [u8; 24])) -> Result<ControlPacket, DropReason> {
        let mut b = UP_POLL;
        f(&mut b);
        ControlPacket::decode(&b)
    }

    #[test]
    fn reception_checks() {
        assert_eq!(ControlPacket::decode(&UP_POLL[..3]), Err(DropReason::Truncated(3)));
        assert_eq!(with(|b| b[0] = 0x41), Err(DropReason::Version(2)));
        assert_eq!(with(|b| b[0] = 0x01), Err(DropReason::Version(0)));
        assert_eq!(with(|b| b[3] = 23), Err(DropReason::LengthTooSmall(23)));
        // With A set, 24 is too small: the authentication section needs 2 more bytes.
        assert_eq!(with(|b| b[1] |= 0x04), Err(DropReason::LengthTooSmall(24)));
        assert_eq!(with(|b| b[3] = 25), Err(DropReason::LengthBeyondPayload { length: 25, received: 24 }));
        assert_eq!(
            ControlPacket::decode(&UP_POLL[..20]),
            Err(DropReason::LengthBeyondPayload { length: 24, received: 20 })
        );
        assert_eq!(with(|b| b[2] = 0), Err(DropReason::ZeroDetectMult));
        assert_eq!(with(|b| b[1] |= 0x01), Err(DropReason::Multipoint));
        assert_eq!(with(|b| b[4..8].fill(0)), Err(DropReason::ZeroMyDiscriminator));
        assert_eq!(with(|b| b[8..12].fill(0)), Err(DropReason::ZeroYourDiscriminator(BfdState::Up)));
        assert_eq!(
            with(|b| {
                b[8..12].fill(0);
                b[1] = 0x80;
            }),
            Err(DropReason::ZeroYourDiscriminator(BfdState::Init))
        );
        // Your discriminator 0 is fine while Down or AdminDown.
        assert!(
            with(|b| {
                b[8..12].fill(0);
                b[1] = 0x40;
            })
            .is_ok()
        );
        assert!(
            with(|b| {
                b[8..12].fill(0);
                b[1] = 0x00;
            })
            .is_ok()
        );
        // A simple password section (type 1, length 5, key 1, "ab"): refused, not parsed.
        let mut auth = UP_POLL.to_vec();
        auth[1] |= 0x04;
        auth[3] = 29;
        auth.extend_from_slice(&[1, 5, 1, b'a', b'b']);
        assert_eq!(ControlPacket::decode(&auth), Err(DropReason::AuthenticationUnsupported));
    }

    #[test]
    fn micros_saturate() {
        assert_eq!(micros(Duration::from_millis(100)), 100_000);
        assert_eq!(micros(Duration::from_secs(10_000)), u32::MAX);
    }
}
