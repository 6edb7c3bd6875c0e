//! How to serve: the server's settings.

use std::net::SocketAddr;
use std::time::Duration;

/// How often blocked threads look at the stop flag.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// How to serve.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Addresses to listen on, UDP and TCP each (port 0 picks one, the same for both).
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per address; default: the available parallelism.
    pub udp_workers: usize,
    /// Open TCP connections at most; at the cap the connection idle longest is closed for a
    /// new one.
    pub tcp_max_connections: usize,
    /// Open TCP connections per client (an IPv4 address or an IPv6 /64) at most.
    pub tcp_per_client: usize,
    /// A TCP connection idle this long between messages is closed.
    pub tcp_idle_timeout: Duration,
    /// A TCP message must arrive whole within this long of its first byte.
    pub tcp_message_timeout: Duration,
    /// An answer over TCP must be taken by the client within this long.
    pub tcp_write_timeout: Duration,
    /// How long one upstream gets before the next is tried (a query waits at most this long
    /// per upstream, then the client gets SERVFAIL).
    pub upstream_timeout: Duration,
    /// Queries in flight to the upstreams at most, per forwarder (each UDP worker forwards what
    /// it receives; one more forwarder serves TCP and XDP); when full, the oldest of the client
    /// with the most in flight makes room.
    pub forward_max_pending: usize,
    /// Interfaces whose UDP queries to the listening addresses are taken before the kernel's
    /// stack and answered over AF_XDP (feature `xdp`; needs root). TCP, and queries arriving
    /// elsewhere, still use the sockets on `listen`, whose addresses must then be named (no
    /// wildcard) and share one port. Packets taken this way skip netfilter and reverse-path
    /// filtering: see `xdp`.
    pub xdp: Vec<String>,
    /// How long a busy worker (UDP or XDP) waits for a batch to gather before taking it
    /// (zero: as soon as woken). Adds up to this much latency under load, in exchange for one
    /// wake-up and one system call per batch rather than per query; at light load every query
    /// is answered as it arrives.
    pub batch_wait: Duration,
}

impl ServerConfig {
    /// Defaults for these addresses.
    pub fn new(listen: Vec<SocketAddr>) -> ServerConfig {
        ServerConfig {
            listen,
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            tcp_max_connections: 128,
            tcp_per_client: 16,
            tcp_idle_timeout: Duration::from_secs(10),
            tcp_message_timeout: Duration::from_secs(1),
            tcp_write_timeout: Duration::from_secs(1),
            upstream_timeout: Duration::from_secs(2),
            forward_max_pending: 1024,
            xdp: Vec::new(),
            batch_wait: Duration::from_micros(500),
        }
    }
}
