//! The Linux backend (feature `socket`): a [`Speaker`] runs 1–16 [`Session`](crate::Session)s,
//! each to one peer, on the calling thread around one `poll(2)`.
//!
//! # What it does
//!
//! - Connects to each peer (TCP port 179, or [`PeerConfig::port`]) without blocking, from
//!   [`PeerConfig::local_address`] when set, and carries out every [`Action`](crate::Action)
//!   of its session: the connection, the bytes, the close, the events.
//! - TTL: the TTL (IPv4) or hop limit (IPv6) of what it sends is [`PeerConfig::ttl`], by
//!   default 1 for eBGP (a directly connected peer, as FRR does without `ebgp-multihop`) and
//!   255 for iBGP. With [`PeerConfig::ttl_security_hops`] (GTSM, RFC 5082; FRR's
//!   `ttl-security hops N`) it sends 255 and the kernel drops segments that arrive with less
//!   than 256 − N (`IP_MINTTL` / `IPV6_MINHOPCOUNT`).
//! - TCP-MD5 (RFC 2385): [`PeerConfig::md5_password`] is set with `TCP_MD5SIG` before
//!   connecting, so the SYN is signed too.
//! - Bounded writes: bytes the kernel does not take at once wait in a buffer of the peer's
//!   own; a peer that lets it grow past [`PeerConfig::write_buffer_limit`] has its connection
//!   reset (the session restarts by itself), so a slow peer never holds up the others. The
//!   bound must hold the burst sent on reaching Established (every route, about 5 bytes per
//!   IPv4 /32 and 17 per IPv6 /128, less what the kernel takes at once): the default 256 KiB
//!   is tens of thousands of routes. Every wait ends by the earliest deadline of the sessions
//!   ([`Session::poll_timeout`](crate::Session::poll_timeout)).
//! - [`SpeakerHandle`] (cloneable, `Send`) announces and withdraws prefixes while the speaker
//!   runs and stops it: every session sends a NOTIFICATION Cease/Administrative Shutdown with
//!   the shutdown communication given (RFC 9003), the speaker writes what is left for up to
//!   [`STOP_FLUSH`], closes every connection and [`Speaker::run`] returns.
//! - BFD (RFC 5880/5881), for each peer with [`PeerConfig::bfd`]: a sending socket per peer
//!   (from [`PeerConfig::local_address`] when set, from a source port in 49152–65535, TTL or
//!   hop limit 255, to the peer's port 3784) and one listening socket per family on port
//!   3784 (any address, the TTL of each datagram read from `IP_RECVTTL` /
//!   `IPV6_RECVHOPLIMIT`: only 255 is accepted). A packet goes to the session of the
//!   peer it comes from (by source address), which then checks its Your Discriminator. When a peer's BFD session goes
//!   from Up to Down (not because the peer went AdminDown), its BGP connection is closed at
//!   once and the session restarts as after any failure ([`Reason::BfdDown`](crate::Reason::BfdDown));
//!   BGP never waits for BFD to come up. Stopping sends AdminDown to every BFD peer once it
//!   has closed the connection that carried our Cease (so it reads the Cease first). The
//!   sockets are made when [`Speaker::run`] starts; if they cannot be (port 3784 taken),
//!   [`SpeakerEventKind::BfdUnavailable`] says so and BGP runs without BFD.
//! - Events ([`SpeakerEvent`]: each session's [`Event`](crate::Event)s and the connections'
//!   own) go to a callback, for the caller to log.
//!
//! The speaker makes its sockets in the network namespace of the thread that runs it: to
//! speak from another namespace, run it on a thread that entered it first
//! (`bm_sys::tcp::enter_netns`), as the FRR interop tests (`tests/frr.rs`) do.
//!
//! # Capabilities
//!
//! None for what it does now: connecting to port 179 needs no privilege, nor does
//! `TCP_MD5SIG`, `IP_TTL` or `IP_MINTTL`, nor BFD's UDP ports (3784 and 49152–65535 are
//! above 1023); `CAP_NET_RAW` is never needed. Listening on port
//! 179 (a passive session) would need `CAP_NET_BIND_SERVICE`.
//!
//! # What is not done yet
//!
//! - No passive sessions: the speaker only connects ([`Config::passive`](crate::Config::passive)
//!   is refused), so it never listens and needs no connection collision resolution
//!   (RFC 4271 §6.8). A peer that connects to us is refused by the kernel and keeps trying;
//!   ours succeeds.
//! - BFD is single hop only (RFC 5881; no RFC 5883 multihop) and without authentication;
//!   see [`bfd`](crate::bfd).
//! - IPv6 link-local peers (which need an interface, a scope ID) are not supported: peer
//!   with a global or unique local address.

mod announcer;
mod bfd;
mod speaker;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::bfd::{BfdConfig, BfdConfigError, BfdEvent, DropReason};
use crate::config::{Config, ConfigError};
use crate::session::Event;

pub use announcer::{ADDRESS_RETRY, Announcer, AnnouncerCommand, AnnouncerError, AnnouncerEvent};
pub use speaker::{STOP_FLUSH, Speaker, SpeakerHandle};

/// The BGP port.
pub const BGP_PORT: u16 = 179;
/// At most this many peers per [`Speaker`].
pub const MAX_PEERS: usize = 16;
/// The default [`PeerConfig::write_buffer_limit`]: 256 KiB.
pub const DEFAULT_WRITE_BUFFER_LIMIT: usize = 256 * 1024;
/// The longest TCP-MD5 password (`TCP_MD5SIG_MAXKEYLEN`).
pub const MAX_MD5_PASSWORD: usize = 80;

/// One peer of a [`Speaker`]: its session and its connection.
///
/// ```
/// use bm_bgp::{Config, PeerConfig};
///
/// let session = Config::new(64601, 64512, "10.0.0.11".parse().unwrap());
/// let mut peer = PeerConfig::new(session, "10.0.0.1".parse().unwrap());
/// assert_eq!((peer.port, peer.effective_ttl()), (179, 1));
/// peer.ttl_security_hops = Some(1);
/// assert_eq!((peer.effective_ttl(), peer.min_ttl()), (255, Some(255)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerConfig {
    /// The session.
    pub session: Config,
    /// The peer's address.
    pub address: IpAddr,
    /// The peer's port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The source address of the connection (of the peer's family); the kernel's choice when
    /// unset.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// The TTL / hop limit of what we send (eBGP multihop); unset: 1 for eBGP, 255 for iBGP.
    #[serde(default)]
    pub ttl: Option<u8>,
    /// GTSM (RFC 5082): send with TTL 255 and accept only segments sent at most this many
    /// hops away (TTL at least 256 − hops). Excludes `ttl`.
    #[serde(default)]
    pub ttl_security_hops: Option<u8>,
    /// The TCP-MD5 password (RFC 2385), at most 80 bytes.
    #[serde(default)]
    pub md5_password: Option<String>,
    /// Bytes waiting to be sent beyond which the connection is reset.
    #[serde(default = "default_write_buffer_limit")]
    pub write_buffer_limit: usize,
    /// Single-hop BFD (RFC 5881) with the peer, with these timers: when its session goes
    /// from Up to Down, the BGP session goes down at once.
    #[serde(default)]
    pub bfd: Option<BfdConfig>,
}

fn default_port() -> u16 {
    BGP_PORT
}
fn default_write_buffer_limit() -> usize {
    DEFAULT_WRITE_BUFFER_LIMIT
}

impl PeerConfig {
    /// A peer on port 179 with the default TTL, no GTSM, no MD5.
    pub fn new(session: Config, address: IpAddr) -> PeerConfig {
        PeerConfig {
            session,
            address,
            port: BGP_PORT,
            local_address: None,
            ttl: None,
            ttl_security_hops: None,
            md5_password: None,
            write_buffer_limit: DEFAULT_WRITE_BUFFER_LIMIT,
            bfd: None,
        }
    }

    /// The TTL / hop limit we send with.
    pub fn effective_ttl(&self) -> u8 {
        match (self.ttl_security_hops, self.ttl) {
            (Some(_), _) => 255,
            (None, Some(ttl)) => ttl,
            (None, None) if self.session.is_ibgp() => 255,
            (None, None) => 1,
        }
    }

    /// The minimum TTL / hop limit of what we accept (GTSM).
    pub fn min_ttl(&self) -> Option<u8> {
        self.ttl_security_hops.map(|hops| 255 - hops.saturating_sub(1).min(254))
    }

    /// The peer's socket address.
    pub fn socket_address(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }

    /// Checks the peer (its session's [`Config::validate`] included).
    ///
    /// # Errors
    ///
    /// The first [`PeerConfigError`] found.
    pub fn validate(&self) -> Result<(), PeerConfigError> {
        self.session.validate().map_err(PeerConfigError::Session)?;
        if self.session.passive {
            return Err(PeerConfigError::Passive);
        }
        if self.port == 0 {
            return Err(PeerConfigError::ZeroPort);
        }
        if self.address.is_unspecified() || self.address.is_multicast() {
            return Err(PeerConfigError::Address(self.address));
        }
        if let IpAddr::V6(a) = self.address
            && a.is_unicast_link_local()
        {
            return Err(PeerConfigError::LinkLocal(self.address));
        }
        if let Some(local) = self.local_address
            && local.is_ipv4() != self.address.is_ipv4()
        {
            return Err(PeerConfigError::SourceFamily { local, peer: self.address });
        }
        match (self.ttl, self.ttl_security_hops) {
            (Some(_), Some(_)) => return Err(PeerConfigError::TtlAndGtsm),
            (Some(0), None) => return Err(PeerConfigError::ZeroTtl),
            (None, Some(0)) => return Err(PeerConfigError::ZeroTtl),
            _ => {}
        }
        if let Some(p) = &self.md5_password
            && (p.is_empty() || p.len() > MAX_MD5_PASSWORD)
        {
            return Err(PeerConfigError::Md5Password(p.len()));
        }
        if self.write_buffer_limit < crate::message::MAX_MESSAGE_LEN {
            return Err(PeerConfigError::WriteBufferLimit(self.write_buffer_limit));
        }
        if let Some(bfd) = &self.bfd {
            bfd.validate().map_err(PeerConfigError::Bfd)?;
            if self.session.graceful_restart.is_some() {
                return Err(PeerConfigError::GracefulRestartWithBfd);
            }
        }
        Ok(())
    }
}

/// A peer configuration [`PeerConfig::validate`] refuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum PeerConfigError {
    /// The session's configuration.
    #[error(transparent)]
    Session(ConfigError),
    /// A passive session.
    #[error("passive sessions are not supported by the socket backend: it only connects; unset passive")]
    Passive,
    /// Port 0.
    #[error("port 0: use 179 or the peer's port")]
    ZeroPort,
    /// An unspecified or multicast peer address.
    #[error("peer address {0}: set the peer's unicast address")]
    Address(IpAddr),
    /// An IPv6 link-local peer address.
    #[error("peer address {0} is link-local, which is not supported: peer with a global or unique local address")]
    LinkLocal(IpAddr),
    /// The source address is of another family.
    #[error("local_address {local} and peer {peer} are of different families")]
    SourceFamily {
        /// The source address.
        local: IpAddr,
        /// The peer's.
        peer: IpAddr,
    },
    /// Both `ttl` and `ttl_security_hops`.
    #[error("ttl and ttl_security_hops exclude each other: GTSM always sends with TTL 255")]
    TtlAndGtsm,
    /// A TTL or GTSM hop count of 0.
    #[error("ttl and ttl_security_hops are 1 to 255")]
    ZeroTtl,
    /// An MD5 password that is empty or over 80 bytes.
    #[error("md5_password of {0} bytes: 1 to 80 bytes")]
    Md5Password(usize),
    /// A write buffer limit smaller than one message.
    #[error("write_buffer_limit {0}: at least 4096 bytes (one message)")]
    WriteBufferLimit(usize),
    /// The BFD timers.
    #[error(transparent)]
    Bfd(BfdConfigError),
    /// Graceful restart with BFD: a router that sees BFD fail keeps a restarting peer's paths
    /// as stale for the restart time (RFC 4724), so a dead node would keep its VIP's share of
    /// the traffic for that long, which is what BFD is there to prevent.
    #[error(
        "graceful_restart with bfd: the router would keep a dead node's VIP paths for the restart time after BFD \
         found it down; use one or the other (for VIPs: BFD)"
    )]
    GracefulRestartWithBfd,
}

/// Why a [`Speaker`] cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeakerError {
    /// No peer, or more than [`MAX_PEERS`].
    #[error("{0} peers: a speaker runs 1 to 16")]
    PeerCount(usize),
    /// One peer's configuration.
    #[error("peer {index} ({address}): {error}")]
    Peer {
        /// Its index.
        index: usize,
        /// Its address.
        address: IpAddr,
        /// What is wrong.
        error: PeerConfigError,
    },
    /// The same peer address and port twice.
    #[error("peer {0} is configured twice")]
    DuplicatePeer(SocketAddr),
    /// The wake-up descriptor could not be made.
    #[error("eventfd: {0}")]
    Io(#[from] std::io::Error),
}

/// An OS error number, shown as the OS words it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Errno(pub i32);

impl Errno {
    fn of(e: &std::io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(0))
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", std::io::Error::from_raw_os_error(self.0))
    }
}

/// What happened to one peer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerEvent {
    /// The peer's index in the configuration.
    pub peer: usize,
    /// Its address.
    pub address: IpAddr,
    /// What.
    pub kind: SpeakerEventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SpeakerEventKind {
    /// The session reported this.
    Session {
        /// The event.
        event: Event,
    },
    /// A connection attempt started.
    Connecting,
    /// The connection is up, from this address.
    Connected {
        /// Our side.
        local: Option<SocketAddr>,
    },
    /// The connection attempt failed.
    ConnectFailed {
        /// Why.
        error: Errno,
    },
    /// The connection ended.
    Closed {
        /// Why.
        cause: CloseCause,
    },
    /// A socket option could not be set: the attempt is abandoned (the session retries).
    SocketOption {
        /// Which (`IP_TTL`, `TCP_MD5SIG`…).
        option: SocketOption,
        /// Why.
        error: Errno,
    },
    /// The peer's BFD session reported this. A [`BfdEvent::StateChanged`] from Up to Down
    /// (unless the peer said AdminDown, RFC 5882 §3.2) is followed by the BGP session going
    /// Idle with [`Reason::BfdDown`](crate::Reason::BfdDown).
    Bfd {
        /// The event.
        event: BfdEvent,
    },
    /// A BFD packet from the peer was discarded.
    BfdDropped {
        /// Why.
        reason: DropReason,
    },
    /// The BFD sockets could not be made (another BFD daemon holding port 3784, say): the
    /// peer runs without BFD.
    BfdUnavailable {
        /// Which step failed.
        option: SocketOption,
        /// Why.
        error: Errno,
    },
    /// The speaker stopped: every session sent its Cease and every connection is closed.
    Stopped,
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CloseCause {
    /// The session closed it ([`Action::Close`](crate::Action::Close)).
    Session,
    /// The peer closed it.
    PeerClosed,
    /// Reading or writing failed.
    Error {
        /// The error.
        error: Errno,
    },
    /// More than [`PeerConfig::write_buffer_limit`] bytes waited to be sent: reset.
    WriteBufferFull {
        /// Bytes waiting.
        pending: usize,
    },
}

/// A socket option the speaker sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SocketOption {
    /// Making the socket.
    Socket,
    /// Binding the source address.
    Bind,
    /// `IP_TTL` / `IPV6_UNICAST_HOPS`.
    Ttl,
    /// `IP_MINTTL` / `IPV6_MINHOPCOUNT`.
    MinTtl,
    /// `TCP_MD5SIG`.
    Md5,
    /// `TCP_NODELAY`.
    NoDelay,
    /// The BFD listening socket on UDP port 3784 (`IP_RECVTTL` / `IPV6_RECVHOPLIMIT` on it).
    BfdListen,
    /// The BFD sending socket, bound to a port in 49152–65535 with TTL 255.
    BfdSend,
}
