//! The server (feature `server`): UDP and TCP on the given addresses, with the defences a
//! daemon on a node address needs (`README.md`, Security). Its modules depend one way:
//!
//! - [`shared`]: what every thread shares (what is served, the stop flag, counters) and the
//!   [`ServerHandle`] over it;
//! - the transports, each answering through [`crate::Responder::respond`], the one dispatch
//!   step: [`udp`] (batched kernel sockets, one per worker with `SO_REUSEPORT`), [`tcp`]
//!   (deadlines per message, per-client limits, eviction of the idlest), and `xdp` (AF_XDP,
//!   feature `xdp`; without it, a start that asks for XDP is refused);
//! - [`forwarder`]: one event loop over a fixed set of upstream sockets, fed by the transports;
//! - [`sys`]: the system calls std does not wrap.
//!
//! No async runtime. Signals are the caller's business (a library must not install handlers):
//! `bmnet dns serve` maps SIGHUP to [`ServerHandle::replace_zone`] and SIGTERM/SIGINT to
//! [`ServerHandle::shutdown`].

// The server is the I/O layer over the sans-IO core: sockets, threads and clocks on purpose.
#![allow(clippy::disallowed_methods)]

mod forwarder;
mod shared;
mod sys;
mod tcp;
mod udp;
#[cfg(feature = "xdp")]
pub mod xdp;
#[cfg(not(feature = "xdp"))]
#[path = "xdp_off.rs"]
mod xdp;

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use ipnet::IpNet;
use socket2::{Domain, Protocol, Socket, Type};

pub use shared::{ServerHandle, ServerStats};

use crate::access::AclEntry;
use crate::zone::ClusterZone;

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

/// A running server.
#[derive(Debug)]
pub struct Server {
    handle: ServerHandle,
    local: Vec<SocketAddr>,
    warnings: Vec<ServerWarning>,
    threads: Vec<JoinHandle<()>>,
    /// The XDP programs, detached when the server is dropped (after its threads end).
    _xdp: Vec<xdp::Attachment>,
}

/// How often blocked threads look at the stop flag.
pub(crate) const TICK: Duration = Duration::from_millis(100);

/// Queries waiting for the forwarder's thread at most.
const INBOX: usize = 4096;

impl Server {
    /// Binds every address (UDP and TCP) and starts the threads.
    pub fn start(zone: ClusterZone, config: &ServerConfig) -> Result<Server, ServerError> {
        if config.listen.is_empty() {
            return Err(ServerError::NoListen);
        }
        xdp::check(config)?;
        let workers = config.udp_workers.max(1);
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut local = Vec::new();
        for &addr in &config.listen {
            let first = bind_udp(addr)?;
            let bound = first.local_addr().map_err(|source| ServerError::Bind { addr, proto: "udp", source })?;
            udp.push(first);
            for _ in 1..workers {
                udp.push(bind_udp(bound)?);
            }
            tcp.push(bind_tcp(bound)?);
            local.push(bound);
        }
        check_loops(&zone, &local)?;
        let system = |what| move |source| ServerError::System { what, source };
        let (localnets, warnings) = localnets(&local, &zone.config().allow_recursion).map_err(system("interfaces"))?;
        let inbox = forwarder::Inbox::new(INBOX).map_err(system("eventfd"))?;
        // A forwarder per UDP worker, and one for TCP and XDP.
        let shared = Arc::new(shared::Shared::new(zone, local.clone(), localnets, inbox, udp.len() + 1));
        // One socket per listening address for what leaves outside its worker: forwarded
        // answers, and XDP's answers that go through the kernel.
        let kernel: Vec<UdpSocket> = udp
            .iter()
            .step_by(workers)
            .map(UdpSocket::try_clone)
            .collect::<io::Result<_>>()
            .map_err(system("socket"))?;
        let mut threads = Threads { shared: shared.clone(), handles: Vec::new() };
        let attachments = xdp::start(config, &local, &shared, &kernel, &mut threads)?;
        let limits = forwarder::Limits { timeout: config.upstream_timeout, max_pending: config.forward_max_pending };
        let (s, slot) = (shared.clone(), udp.len());
        threads.spawn("bm-dns-forward", move || forwarder::run(&s, &kernel, limits, slot))?;
        for (i, socket) in udp.into_iter().enumerate() {
            let listen = i / workers;
            let pktinfo = local[listen].ip().is_unspecified();
            if pktinfo {
                sys::enable_pktinfo(socket.as_fd(), local[listen].is_ipv6()).map_err(system("IP_PKTINFO"))?;
            }
            let s = shared.clone();
            let worker = udp::Worker { pktinfo, batch_wait: config.batch_wait, limits, slot: i };
            threads.spawn("bm-dns-udp", move || worker.run(&socket, &s))?;
        }
        let tcp_limits = tcp::Limits {
            max: config.tcp_max_connections,
            per_client: config.tcp_per_client,
            idle: config.tcp_idle_timeout,
            message: config.tcp_message_timeout,
            write: config.tcp_write_timeout,
            upstream_timeout: config.upstream_timeout,
        };
        let conns = Arc::new(tcp::Connections::default());
        for listener in tcp {
            let (s, c) = (shared.clone(), conns.clone());
            threads.spawn("bm-dns-accept", move || tcp::acceptor(&listener, &s, &c, tcp_limits))?;
        }
        let threads = std::mem::take(&mut threads.handles);
        Ok(Server { handle: ServerHandle { shared }, local, warnings, threads, _xdp: attachments })
    }

    /// The addresses actually bound (ports filled in).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// What the caller should tell the operator.
    pub fn warnings(&self) -> &[ServerWarning] {
        &self.warnings
    }

    /// A handle to replace the zone or stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Waits until every thread has finished (after [`ServerHandle::shutdown`]).
    pub fn wait(self) {
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// The threads of a server being started: if the start fails part-way, those already running
/// are stopped and joined when this is dropped.
pub(crate) struct Threads {
    shared: Arc<shared::Shared>,
    handles: Vec<JoinHandle<()>>,
}

impl Threads {
    /// Starts a thread; when the system has none to give, the start fails (it does not panic).
    pub(crate) fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), ServerError> {
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map_err(|source| ServerError::System { what: "starting a thread", source })?;
        self.handles.push(handle);
        Ok(())
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        if self.handles.is_empty() {
            return;
        }
        ServerHandle { shared: self.shared.clone() }.shutdown();
        for t in self.handles.drain(..) {
            let _ = t.join();
        }
    }
}

/// The on-link subnets of the named listening addresses (`localnets`), from the interfaces'
/// addresses; a warning for each wildcard when the recursion list relies on `localnets`.
fn localnets(local: &[SocketAddr], recursion: &[AclEntry]) -> io::Result<(Vec<IpNet>, Vec<ServerWarning>)> {
    let interfaces = sys::interface_nets()?;
    let mut nets = Vec::new();
    let mut warnings = Vec::new();
    for addr in local {
        let ip = bm_addr::unmap(addr.ip());
        if ip.is_unspecified() {
            if recursion.contains(&AclEntry::Localnets) {
                warnings.push(ServerWarning::WildcardLocalnets { addr: *addr });
            }
            continue;
        }
        nets.extend(interfaces.iter().filter(|n| n.addr() == ip).map(IpNet::trunc));
    }
    nets.sort_unstable();
    nets.dedup();
    Ok((nets, warnings))
}

fn domain(addr: SocketAddr) -> Domain {
    if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 }
}

fn bind_udp(addr: SocketAddr) -> Result<UdpSocket, ServerError> {
    let err = |source| ServerError::Bind { addr, proto: "udp", source };
    let s = Socket::new(domain(addr), Type::DGRAM, Some(Protocol::UDP)).map_err(err)?;
    s.set_reuse_port(true).map_err(err)?;
    if addr.is_ipv6() {
        s.set_only_v6(true).map_err(err)?;
    }
    s.bind(&addr.into()).map_err(err)?;
    s.set_read_timeout(Some(TICK)).map_err(err)?;
    Ok(s.into())
}

fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    let err = |source| ServerError::Bind { addr, proto: "tcp", source };
    let s = Socket::new(domain(addr), Type::STREAM, Some(Protocol::TCP)).map_err(err)?;
    s.set_reuse_address(true).map_err(err)?;
    if addr.is_ipv6() {
        s.set_only_v6(true).map_err(err)?;
    }
    s.bind(&addr.into()).map_err(err)?;
    s.listen(128).map_err(err)?;
    // accept(2) honours SO_RCVTIMEO: the acceptor blocks until a connection comes or a tick
    // passes to look at the stop flag, instead of polling a non-blocking socket (whose wake-ups
    // cost the UDP worker on the same CPU about 6% of its queries per second under dnsperf).
    s.set_read_timeout(Some(TICK)).map_err(err)?;
    Ok(s.into())
}

/// Refuses upstreams that are this server: one of its addresses (also written IPv4-mapped), a
/// loopback address on its port when it listens on a wildcard, or systemd-resolved's stub
/// `127.0.0.53`, which forwards to the node's resolv.conf — which points here.
pub(crate) fn check_loops(zone: &ClusterZone, listen: &[SocketAddr]) -> Result<(), ServerError> {
    for &upstream in &zone.upstreams {
        let ip = bm_addr::unmap(upstream.ip());
        if ip == IpAddr::V4(Ipv4Addr::new(127, 0, 0, 53)) {
            return Err(ServerError::Loop {
                upstream,
                why: "127.0.0.53 is systemd-resolved's stub, which forwards back here",
            });
        }
        for l in listen {
            let same_port = l.port() == upstream.port();
            let mine =
                bm_addr::unmap(l.ip()) == ip || (l.ip().is_unspecified() && (ip.is_loopback() || ip.is_unspecified()));
            if same_port && mine {
                return Err(ServerError::Loop { upstream, why: "it is an address this server listens on" });
            }
        }
    }
    Ok(())
}
