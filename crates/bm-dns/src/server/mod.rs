//! The server (feature `server`): UDP and TCP on the given addresses, with the defences a
//! daemon on a node address needs (`README.md`, Security). Its modules depend one way, each
//! only on those above it:
//!
//! - `config` and `error`: settings and errors (the system calls are `bm-sys`'s);
//! - `queue`: the bounded queue to the shared forwarder;
//! - `shared`: what every thread shares (what is served, the stop flag, counters, the rate
//!   limit step) and the [`ServerHandle`] over it;
//! - `forwarder`: forwarding's I/O over a fixed set of upstream sockets;
//! - the transports, each answering through [`crate::Responder::respond`], the one dispatch
//!   step: `udp` (batched kernel sockets, one worker per `SO_REUSEPORT` socket, each
//!   forwarding itself), `tcp` (deadlines per message, per-client limits, eviction of the
//!   idlest), and `xdp` (AF_XDP; without feature `xdp`, `xdp_off.rs`, which refuses a start
//!   that asks for it — the one place the feature is looked at);
//! - `threads`, and this module, which starts them all.
//!
//! No async runtime. Signals are the caller's business (a library must not install handlers):
//! `bmnet dns serve` maps SIGHUP to [`ServerHandle::replace_zone`] and SIGTERM/SIGINT to
//! [`ServerHandle::shutdown`].

// The server is the I/O layer over the sans-IO core: sockets, threads and clocks on purpose.
#![allow(clippy::disallowed_methods)]

mod config;
mod error;
mod forwarder;
mod queue;
mod shared;
mod tcp;
mod threads;
mod udp;
#[cfg(feature = "xdp")]
pub mod xdp;
#[cfg(not(feature = "xdp"))]
#[path = "xdp_off.rs"]
mod xdp;

use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::thread::JoinHandle;

use ipnet::IpNet;
use socket2::{Domain, Protocol, Socket, Type};

pub use config::ServerConfig;
pub use error::{ServerError, ServerWarning};
pub use shared::{ServerHandle, ServerStats};

use config::TICK;
use shared::check_loops;
use threads::Threads;

use crate::access::AclEntry;
use crate::zone::ClusterZone;

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
            let (sockets, listener, bound) = bind_address(addr, workers)?;
            udp.extend(sockets);
            tcp.push(listener);
            local.push(bound);
        }
        check_loops(&zone, &local)?;
        let system = |what| move |source| ServerError::System { what, source };
        let (localnets, warnings) = localnets(&local, &zone.config().allow_recursion).map_err(system("interfaces"))?;
        let inbox = queue::Inbox::new(INBOX).map_err(system("eventfd"))?;
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
                bm_sys::udp::enable_pktinfo(socket.as_fd(), local[listen].is_ipv6()).map_err(system("IP_PKTINFO"))?;
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

/// The on-link subnets of the named listening addresses (`localnets`), from the interfaces'
/// addresses; a warning for each wildcard when the recursion list relies on `localnets`.
fn localnets(local: &[SocketAddr], recursion: &[AclEntry]) -> io::Result<(Vec<IpNet>, Vec<ServerWarning>)> {
    let interfaces = bm_sys::ifaddrs::interface_nets()?;
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

/// One listening address: a UDP socket per worker (`SO_REUSEPORT`) and a TCP listener, on one
/// port. Port 0 takes the port the kernel gives the first UDP socket for TCP too, and another
/// program may hold that port for TCP (a test running beside another did): the server then asks
/// the kernel for another port, up to [`PORT_ZERO_TRIES`] times, holding the ones passed over
/// until it has its pair. A named port that is taken fails at once.
fn bind_address(addr: SocketAddr, workers: usize) -> Result<(Vec<UdpSocket>, TcpListener, SocketAddr), ServerError> {
    let mut taken = Vec::new();
    loop {
        let first = bind_udp(addr)?;
        let bound = first.local_addr().map_err(|source| ServerError::Bind { addr, proto: "udp", source })?;
        let listener = match bind_tcp(bound) {
            Ok(listener) => listener,
            Err(ServerError::Bind { source, .. })
                if addr.port() == 0
                    && source.kind() == io::ErrorKind::AddrInUse
                    && taken.len() + 1 < PORT_ZERO_TRIES =>
            {
                taken.push(first);
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut udp = Vec::with_capacity(workers);
        udp.push(first);
        for _ in 1..workers {
            udp.push(bind_udp(bound)?);
        }
        return Ok((udp, listener, bound));
    }
}

/// Ports tried for a listening address of port 0 whose TCP twin is taken.
const PORT_ZERO_TRIES: usize = 16;

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
