//! Why a server cannot start, and what it tells the operator.

use std::io;
use std::net::SocketAddr;

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A socket could not be opened or bound.
    #[error("cannot listen on {addr} ({proto}): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// `udp` or `tcp`.
        proto: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// An upstream would send queries back to this server.
    #[error("upstream {upstream} would loop: {why}")]
    Loop {
        /// The upstream.
        upstream: SocketAddr,
        /// Why.
        why: &'static str,
    },
    /// No address to listen on.
    #[error("no address to listen on")]
    NoListen,
    /// The AF_XDP path could not start on an interface.
    #[error("XDP on {interface}: {source}")]
    Xdp {
        /// The interface.
        interface: String,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Something the server needs from the system (an eventfd, the interface list).
    #[error("{what}: {source}")]
    System {
        /// What.
        what: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
}

/// Something the server does differently from what its configuration may suggest.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerWarning {
    /// `localnets` cannot be known for a wildcard address: it adds nothing for it, so only the
    /// other entries (loopback, by default) may recurse through it.
    #[error(
        "listening on {addr}: `localnets` is empty for a wildcard address, so names outside the zone are forwarded only for the other entries of allow_recursion (by default loopback); name the addresses, or list the client networks"
    )]
    WildcardLocalnets {
        /// The wildcard address.
        addr: SocketAddr,
    },
}
