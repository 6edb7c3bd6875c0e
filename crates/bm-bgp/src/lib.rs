//! bm-bgp: a sans-IO BGP-4 speaker core for announcing VIPs (health-gated ECMP: each
//! healthy node announces the VIP as a /32 or /128 to its router). The core opens no socket,
//! reads no clock and starts no thread: time, connection events and received bytes are
//! inputs; bytes to send, connections to open or close and events (each state change with its
//! typed [`Reason`]) are outputs.
//!
//! # Overview
//!
//! - [`message`] is the wire format: [`encode`](message::encode) and
//!   [`decode`](message::decode) for OPEN (capabilities: multiprotocol, route refresh, enhanced
//!   route refresh, 4-octet AS, graceful restart; others kept raw), UPDATE (ORIGIN, AS_PATH,
//!   NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES, LARGE_COMMUNITY, MP_REACH_NLRI/MP_UNREACH_NLRI
//!   with RFC 2545 IPv6 next hops; others kept raw with their flags), NOTIFICATION (every code
//!   and subcode named, RFC 9003 shutdown communications), KEEPALIVE and ROUTE-REFRESH. Every
//!   [`DecodeError`](message::DecodeError) names the NOTIFICATION the RFCs require, and
//!   received UPDATEs get RFC 7606 revised error handling
//!   ([`decode_with_repairs`](message::decode_with_repairs)): treat-as-withdraw and
//!   attribute-discard repair the message, only what RFC 7606 says resets the session.
//! - [`Framer`] cuts a TCP byte stream into messages (4096 bytes at most each).
//! - [`Session`] is the RFC 4271 §8 state machine (active, or passive) for one peer with its
//!   [`Config`]: OPEN validation and capability negotiation ([`Negotiated`]), the hold and
//!   keepalive timers ([`Timer`]), the routes we announce (ORIGIN IGP, our AS on eBGP,
//!   NEXT_HOP self, LOCAL_PREF on iBGP, communities) sent whole with End-of-RIB on reaching
//!   Established and again on ROUTE-REFRESH, and [`Session::stop`] with a shutdown
//!   communication. Routes the peer sends are counted and discarded.
//! - [`bfd`] is BFD (RFC 5880, single hop RFC 5881), sans-IO too: the control packet codec
//!   with every reception check a typed [`DropReason`](bfd::DropReason), and the
//!   asynchronous-mode [`BfdSession`](bfd::BfdSession) (jittered transmission, the slow rate
//!   while not Up, Poll/Final, the detection time). [`Session::bfd_down`] takes a BGP session
//!   down when its BFD session fails ([`Reason::BfdDown`]).
//! - [`vip`] gates VIPs on health checks with bm-check's verdicts ([`Vips`]: a weight-0 check
//!   withdraws its VIP while it fails, weighted checks move the route's MED), and
//!   [`RouteAttributes`] carries a route's own MED and communities
//!   ([`Session::announce_with`]).
//! - With the `socket` feature (Linux), [`Speaker`] is the backend: 1–16 sessions on one
//!   thread around `poll(2)`, connecting over TCP with TTL/multihop, GTSM and TCP-MD5,
//!   bounded write buffers, and a [`SpeakerHandle`] that announces, withdraws and stops with a
//!   Cease; with [`PeerConfig::bfd`] it runs BFD over UDP to the peer, and a BFD failure
//!   closes the BGP connection at once; see its module docs (on [`Speaker`]) for what it
//!   needs and what it does not do. [`Announcer`] runs the VIPs' check scripts and carries
//!   out the gate's changes: the VIP onto `lo`, then announced; withdrawn, then off `lo`; on
//!   stop every VIP withdrawn before the speaker's Cease. `bmnet bgp run` is the two together.
//!
//! # The drive loop
//!
//! Every input takes `now` (a monotonic time since any epoch you choose); after each, drain
//! [`Session::poll_action`] until it returns `None`, then wait for
//! [`Session::poll_timeout`], bytes or a connection event. Two sessions wired to each other in
//! memory, with a virtual clock:
//!
//! ```
//! use std::time::Duration;
//! use bm_bgp::message::{Message, decode};
//! use bm_bgp::{Action, Config, Session, State};
//!
//! let ip = |s: &str| s.parse().unwrap();
//! let mut node = Config::new(64512, 64513, ip("10.0.0.2"));
//! node.next_hop_v4 = Some(ip("10.0.0.2"));
//! let mut tor = Config::new(64513, 64512, ip("10.0.0.1"));
//! let (mut node, mut tor) = (Session::new(node).unwrap(), Session::new(tor).unwrap());
//! node.announce(Duration::ZERO, "192.0.2.10/32".parse().unwrap()).unwrap();
//!
//! // Carries out `from`'s actions: a Connect is the one TCP connection between the two.
//! fn drain(now: Duration, from: &mut Session, to: &mut Session, wire: &mut Vec<Message>) -> bool {
//!     let mut progress = false;
//!     while let Some(action) = from.poll_action() {
//!         progress = true;
//!         match action {
//!             Action::Connect => {
//!                 from.tcp_connected(now);
//!                 to.tcp_connected(now);
//!             }
//!             Action::Send { bytes } => {
//!                 wire.push(decode(&bytes).unwrap());
//!                 to.handle_bytes(now, &bytes);
//!             }
//!             Action::Close | Action::Event { .. } => {}
//!         }
//!     }
//!     progress
//! }
//!
//! let mut now = Duration::ZERO;
//! node.start(now);
//! tor.start(now);
//! let (mut to_tor, mut to_node) = (Vec::new(), Vec::new());
//! for _ in 0..20 {
//!     let a = drain(now, &mut node, &mut tor, &mut to_tor);
//!     let b = drain(now, &mut tor, &mut node, &mut to_node);
//!     if !a && !b {
//!         // Nothing in flight: the virtual clock jumps to the next deadline.
//!         now = node.poll_timeout().into_iter().chain(tor.poll_timeout()).min().unwrap();
//!         node.handle_timeout(now);
//!         tor.handle_timeout(now);
//!     }
//! }
//! assert_eq!((node.state(), tor.state()), (State::Established, State::Established));
//! let announced: Vec<_> = to_tor.iter().filter_map(|m| match m {
//!     Message::Update(u) => Some(u.nlri.clone()),
//!     _ => None,
//! }).flatten().collect();
//! assert_eq!(announced, ["192.0.2.10/32".parse().unwrap()]);
//! assert_eq!(tor.stats().routes_received, 1);
//! ```
//!
//! # What is not here
//!
//! - No I/O in the core: the TCP connection (port 179), TCP-MD5 (`TCP_MD5SIG`), TTL/multihop
//!   and GTSM (RFC 5082) are the `socket` backend's ([`Speaker`]), which only connects: it
//!   does not listen for passive sessions yet.
//! - No connection collision resolution (RFC 4271 §6.8): a session is active (it connects)
//!   or passive ([`Config::passive`]: it waits for the connection the backend accepts), and a
//!   backend holds one connection per session.
//! - BFD is single hop only (no RFC 5883 multihop), without authentication, demand mode or
//!   echo (see [`bfd`]). No RFC 8654 extended messages (the 4096-byte limit holds), no RFC 9072
//!   extended optional parameters, no ADD-PATH, no RFC 8950 IPv4 routes over IPv6 next hops.
//! - Peers must send the 4-octet AS capability (RFC 6793): AS_PATH is always 4-octet, so
//!   AS4_PATH is never needed; a peer without it gets NOTIFICATION 2/7.
//! - Graceful restart is only advertised (off by default, no forwarding state kept); the
//!   received routes are not kept, so there is no RIB, policy or best-path selection.
//! - Enhanced route refresh (RFC 7313) is parsed, not offered.
//! - Checks that need the session's context are not made on received UPDATEs (NEXT_HOP being
//!   our address, the first AS of an eBGP peer's AS_PATH, LOCAL_PREF from an eBGP peer):
//!   received routes are counted and discarded, never used.
//!
//! # Design decisions
//!
//! - One method per input, as `bm-vrrp`'s `Instance` has, rather than one `Input` enum: the
//!   inputs carry different data and a backend calls each from one place.
//! - A decode error is the NOTIFICATION to send ([`DecodeError::notification`](message::DecodeError::notification)),
//!   as rustls maps errors to alerts: the session never chooses a code of its own for bad bytes.
//! - RFC 7606 repairs are data, not logs: [`message::Decoded::repairs`] and
//!   [`Event::UpdateReceived`] carry each repaired error with its action and its offset.

#![forbid(unsafe_code)]

pub mod bfd;
mod config;
mod framer;
pub mod message;
mod reason;
mod route;
mod session;
#[cfg(feature = "socket")]
mod socket;
mod timer;
pub mod vip;

pub use config::{
    Config, ConfigError, DEFAULT_CONNECT_RETRY, DEFAULT_HOLD_TIME, DEFAULT_IDLE_HOLD, DEFAULT_LOCAL_PREF,
    MAX_COMMUNITY_BYTES,
};
pub use framer::Framer;
pub use message::{Family, Notification};
pub use reason::Reason;
pub use route::RouteAttributes;
pub use session::{Action, Event, Negotiated, OPEN_HOLD_TIME, Session, SessionError, State, Stats};
#[cfg(feature = "socket")]
pub use socket::{
    ADDRESS_RETRY, Announcer, AnnouncerCommand, AnnouncerError, AnnouncerEvent, BGP_PORT, CloseCause,
    DEFAULT_WRITE_BUFFER_LIMIT, Errno, MAX_MD5_PASSWORD, MAX_PEERS, PeerConfig, PeerConfigError, STOP_FLUSH,
    SocketOption, Speaker, SpeakerError, SpeakerEvent, SpeakerEventKind, SpeakerHandle,
};
pub use timer::Timer;
pub use vip::{DEFAULT_WEIGHTED_MED, VipChange, VipConfig, VipError, VipStatus, Vips, Withheld};

// The README's example runs as a doctest (crates.io shows the README).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
