//! BFD, Bidirectional Forwarding Detection (RFC 5880, single hop RFC 5881), sans-IO: a
//! dead link is noticed in `multiplier × interval` (300 ms with FRR's 100 ms × 3) rather than
//! the BGP hold time.
//!
//! # What is here
//!
//! - [`ControlPacket`]: the control packet codec (RFC 5880 §4.1): version 1, every
//!   diagnostic ([`Diag`], reserved codes kept), the four states ([`BfdState`]), the P, F, C,
//!   A, D and M bits, the detection multiplier, both discriminators and the three intervals.
//!   [`ControlPacket::decode`] makes the reception checks of §6.8.6 that need no session;
//!   [`BfdSession::handle_packet`] makes the rest (your discriminator, the TTL of RFC 5881
//!   §5). Each failed check is a [`DropReason`].
//! - [`BfdSession`]: the asynchronous-mode state machine of §6.8 (Down → Init → Up and
//!   back, AdminDown both ways, [`BfdEvent::StateChanged`] with the diagnostic), the transmit
//!   interval (the larger of our desired TX and the peer's required RX) less 0–25 % jitter
//!   from a seed (0–10 % more with a multiplier of 1), 1 s at least while not Up (§6.8.3),
//!   Poll/Final sequences whenever our intervals change (on coming Up, and by
//!   [`BfdSession::set_timers`]), a Final sent at once for every Poll, and the detection time
//!   (the peer's multiplier × the larger of our required RX and its desired TX, §6.8.4).
//! - RFC 5881 §4's source ports (49152–65535) bind the sender, and ours are in that range;
//!   received packets are not held to it (BIRD 2.0.12 sends from an ephemeral port, 32768 and
//!   up): the TTL of 255 is what keeps them single hop.
//! - With the `socket` feature, [`Speaker`](crate::Speaker) runs a session per peer that has
//!   [`PeerConfig::bfd`](crate::PeerConfig::bfd) over UDP, and takes the BGP session down
//!   when BFD goes down.
//!
//! # What is not
//!
//! - Authentication (§6.7): a packet with the A bit is dropped
//!   ([`DropReason::AuthenticationUnsupported`]), and we never send one. Neither simple
//!   password nor the MD5/SHA1 kinds are implemented.
//! - Demand mode (§6.6) and the echo function (§6.4): we never set D, advertise a required
//!   echo RX of 0, and only honour a peer's D bit by not sending periodically while both are
//!   Up (§6.8.7).
//! - The passive role: a session always sends.
//! - Multihop (RFC 5883, port 4784): single hop only, the TTL must be 255.
//! - Demultiplexing: a backend finds the session of a packet (by your discriminator, or by
//!   the source address when it is 0); a session checks that your discriminator is its own.
//!
//! # Example: two sessions on a virtual clock
//!
//! ```
//! use std::time::Duration;
//! use bm_bgp::bfd::{BfdAction, BfdConfig, BfdSession, BfdState};
//!
//! let ms = Duration::from_millis;
//! let config = BfdConfig::new(ms(100), ms(100), 3);
//! let mut a = BfdSession::new(config, 1, 7).unwrap();
//! let mut b = BfdSession::new(config, 2, 8).unwrap();
//! let mut now = Duration::ZERO;
//! a.start(now);
//! b.start(now);
//! fn deliver(now: Duration, from: &mut BfdSession, to: &mut BfdSession) {
//!     while let Some(action) = from.poll_action() {
//!         if let BfdAction::Send { bytes } = action {
//!             to.handle_packet(now, &bytes, 255).unwrap();
//!         }
//!     }
//! }
//! while now < Duration::from_secs(5) {
//!     deliver(now, &mut a, &mut b);
//!     deliver(now, &mut b, &mut a);
//!     now = a.poll_timeout().into_iter().chain(b.poll_timeout()).min().unwrap();
//!     a.handle_timeout(now);
//!     b.handle_timeout(now);
//! }
//! assert_eq!((a.state(), b.state()), (BfdState::Up, BfdState::Up));
//! assert_eq!(a.transmit_interval(), ms(100));
//! assert_eq!(a.detection_time(), Some(ms(300)));
//! ```

mod config;
mod packet;
mod session;

pub use config::{BfdConfig, BfdConfigError, MAX_INTERVAL, SLOW_TX};
pub use packet::{BfdState, CONTROL_LEN, ControlPacket, Diag, DropReason, VERSION};
pub use session::{BfdAction, BfdEvent, BfdSession, BfdStats, SINGLE_HOP_TTL};

/// The destination port of single-hop control packets (RFC 5881 §4).
pub const CONTROL_PORT: u16 = 3784;
/// The lowest source port of the control packets we send (RFC 5881 §4).
pub const MIN_SOURCE_PORT: u16 = 49152;
