//! The server (feature `server`): UDP and TCP on the given addresses, one `SO_REUSEPORT` UDP
//! socket per worker thread, a TCP connection cap and idle timeout, forwarding on threads of
//! its own so that a slow upstream never delays an authoritative answer, zone replacement
//! without dropping queries, and graceful shutdown. No async runtime. With feature `xdp`, UDP
//! queries on the interfaces of [`ServerConfig::xdp`] are answered over AF_XDP instead
//! (`crate::xdp`), one thread per receive queue, beside the sockets.
//!
//! Signals are the caller's business (a library must not install handlers): `bmnet dns serve`
//! maps SIGHUP to [`ServerHandle::replace_zone`] and SIGTERM/SIGINT to
//! [`ServerHandle::shutdown`].

// The server is the I/O layer over the sans-IO core: sockets, threads and clocks on purpose.
#![allow(clippy::disallowed_methods)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::answer::{Outcome, Transport, servfail};
use crate::zone::ClusterZone;

/// How to serve.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Addresses to listen on, UDP and TCP each (port 0 picks one, the same for both).
    pub listen: Vec<SocketAddr>,
    /// UDP sockets (and threads) per address; default: the available parallelism.
    pub udp_workers: usize,
    /// Threads sending queries upstream.
    pub forwarders: usize,
    /// Open TCP connections at most; more are closed at once.
    pub tcp_max_connections: usize,
    /// A TCP connection idle this long is closed.
    pub tcp_idle_timeout: Duration,
    /// How long one upstream gets before the next is tried.
    pub upstream_timeout: Duration,
    /// Interfaces whose UDP queries to the listening addresses are taken before the kernel's
    /// stack and answered over AF_XDP (feature `xdp`; needs root). TCP, and queries arriving
    /// elsewhere, still use the sockets on `listen`, whose addresses must then be named (no
    /// wildcard) and share one port.
    pub xdp: Vec<String>,
    /// How long a busy XDP worker waits for a batch to gather before answering it (zero:
    /// answer as soon as woken). Adds up to this much latency under load, in exchange for one
    /// wake-up and one send call per batch rather than per query; at light load every query
    /// is answered as it arrives.
    pub xdp_batch_wait: Duration,
}

impl ServerConfig {
    /// Defaults for these addresses.
    pub fn new(listen: Vec<SocketAddr>) -> ServerConfig {
        ServerConfig {
            listen,
            udp_workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            forwarders: 4,
            tcp_max_connections: 128,
            tcp_idle_timeout: Duration::from_secs(10),
            upstream_timeout: Duration::from_secs(2),
            xdp: Vec::new(),
            xdp_batch_wait: Duration::from_micros(200),
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
}

/// Controls a running server from other threads.
#[derive(Clone, Debug)]
pub struct ServerHandle {
    zone: Arc<RwLock<Arc<ClusterZone>>>,
    stop: Arc<AtomicBool>,
    listen: Vec<SocketAddr>,
}

impl ServerHandle {
    /// Serves `zone` from the next query on; queries being answered finish with the old one.
    /// Refused (and the old zone kept) when one of its upstreams would loop.
    pub fn replace_zone(&self, zone: ClusterZone) -> Result<(), ServerError> {
        check_loops(&zone, &self.listen)?;
        let mut current = self.zone.write().unwrap_or_else(|e| e.into_inner());
        *current = Arc::new(zone);
        Ok(())
    }

    /// Asks every thread to finish; [`Server::wait`] returns once they have.
    pub fn shutdown(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Whether [`ServerHandle::shutdown`] was called.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn zone(&self) -> Arc<ClusterZone> {
        self.zone.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    handle: ServerHandle,
    local: Vec<SocketAddr>,
    threads: Vec<JoinHandle<()>>,
    /// The XDP programs, detached when the server is dropped (after its threads end).
    #[cfg(feature = "xdp")]
    _xdp: Vec<crate::xdp::Attachment>,
}

/// How often blocked threads look at the stop flag.
pub(crate) const TICK: Duration = Duration::from_millis(100);

impl Server {
    /// Binds every address (UDP and TCP) and starts the threads.
    pub fn start(zone: ClusterZone, config: &ServerConfig) -> Result<Server, ServerError> {
        if config.listen.is_empty() {
            return Err(ServerError::NoListen);
        }
        check_xdp(config)?;
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut local = Vec::new();
        for &addr in &config.listen {
            let first = bind_udp(addr)?;
            let bound = first.local_addr().map_err(|source| ServerError::Bind { addr, proto: "udp", source })?;
            udp.push(first);
            for _ in 1..config.udp_workers.max(1) {
                udp.push(bind_udp(bound)?);
            }
            tcp.push(bind_tcp(bound)?);
            local.push(bound);
        }
        check_loops(&zone, &local)?;
        // Clones of one UDP socket per address, for what the XDP path sends through the kernel.
        #[cfg(feature = "xdp")]
        let kernel: Vec<(SocketAddr, UdpSocket)> = local
            .iter()
            .zip(udp.iter().step_by(config.udp_workers.max(1)))
            .filter_map(|(&a, s)| Some((a, s.try_clone().ok()?)))
            .collect();
        #[cfg(feature = "xdp")]
        let (attachments, queues) = start_xdp(config, &local)?;
        #[cfg(not(feature = "xdp"))]
        if let Some(interface) = config.xdp.first() {
            let source = io::Error::new(io::ErrorKind::Unsupported, "bm-dns was built without the `xdp` feature");
            return Err(ServerError::Xdp { interface: interface.clone(), source });
        }
        let handle = ServerHandle {
            zone: Arc::new(RwLock::new(Arc::new(zone))),
            stop: Arc::new(AtomicBool::new(false)),
            listen: local.clone(),
        };
        let (jobs, queue) = sync_channel::<Job>(1024);
        let queue = Arc::new(Mutex::new(queue));
        let mut threads = Vec::new();
        for _ in 0..config.forwarders.max(1) {
            let (queue, h, timeout) = (queue.clone(), handle.clone(), config.upstream_timeout);
            threads.push(std::thread::spawn(move || forwarder(&queue, &h, timeout)));
        }
        for socket in udp {
            let (h, jobs) = (handle.clone(), jobs.clone());
            threads.push(std::thread::spawn(move || udp_worker(&socket, &h, &jobs)));
        }
        #[cfg(feature = "xdp")]
        for queue in queues {
            let (h, jobs, kernel) = (
                handle.clone(),
                jobs.clone(),
                kernel.iter().filter_map(|(a, s)| Some((*a, s.try_clone().ok()?))).collect::<Vec<_>>(),
            );
            let wait = config.xdp_batch_wait;
            threads.push(std::thread::spawn(move || crate::xdp::worker(queue, &h, &jobs, &kernel, wait)));
        }
        drop(jobs);
        let active = Arc::new(AtomicUsize::new(0));
        for listener in tcp {
            let (h, active, cfg) = (handle.clone(), active.clone(), config.clone());
            threads.push(std::thread::spawn(move || tcp_acceptor(&listener, &h, &active, &cfg)));
        }
        Ok(Server {
            handle,
            local,
            threads,
            #[cfg(feature = "xdp")]
            _xdp: attachments,
        })
    }

    /// The addresses actually bound (ports filled in).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
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

/// Attaches the XDP program to each of `config.xdp`, for the one port of `local`.
#[cfg(feature = "xdp")]
fn start_xdp(
    config: &ServerConfig,
    local: &[SocketAddr],
) -> Result<(Vec<crate::xdp::Attachment>, Vec<crate::xdp::Queue>), ServerError> {
    let (mut attachments, mut queues) = (Vec::new(), Vec::new());
    for interface in &config.xdp {
        let err = |source| ServerError::Xdp { interface: interface.clone(), source };
        let port = local[0].port();
        let addresses: Vec<IpAddr> = local.iter().map(SocketAddr::ip).collect();
        let (a, q) = crate::xdp::attach(interface, port, &addresses).map_err(err)?;
        attachments.push(a);
        queues.extend(q);
    }
    Ok((attachments, queues))
}

/// What the XDP path needs of the listening addresses, checked before anything is bound: one
/// port, given, and named addresses — the program takes UDP for exactly those, and a wildcard
/// would take the DNS traffic of other hosts routed through this one.
fn check_xdp(config: &ServerConfig) -> Result<(), ServerError> {
    let Some(interface) = config.xdp.first() else { return Ok(()) };
    let refuse = |why: &str| {
        let source = io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
        Err(ServerError::Xdp { interface: interface.clone(), source })
    };
    let port = config.listen[0].port();
    if port == 0 || config.listen.iter().any(|a| a.port() != port) {
        return refuse("every listening address must have the same port, not 0");
    }
    if config.listen.iter().any(|a| a.ip().is_unspecified()) {
        return refuse("a wildcard listening address would take DNS traffic meant for other hosts; name the addresses");
    }
    Ok(())
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
fn check_loops(zone: &ClusterZone, listen: &[SocketAddr]) -> Result<(), ServerError> {
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

/// A query to forward, and where its answer goes.
pub(crate) struct Job {
    pub(crate) query: Vec<u8>,
    pub(crate) client: SocketAddr,
    pub(crate) socket: UdpSocket,
    /// The source address to answer from and the interface the query came in on, for queries
    /// that came over XDP rather than through `socket`.
    pub(crate) from: Option<(IpAddr, u32)>,
}

impl Job {
    fn reply(&self, bytes: &[u8]) {
        #[cfg(feature = "xdp")]
        if let Some((from, ifindex)) = self.from {
            use std::os::fd::AsRawFd;
            let _ = crate::xdp::send_from(self.socket.as_raw_fd(), bytes, from, self.client, ifindex);
            return;
        }
        // Without the XDP path every query came through `socket`, which answers from its address.
        #[cfg(not(feature = "xdp"))]
        debug_assert!(self.from.is_none());
        let _ = self.socket.send_to(bytes, self.client);
    }
}

fn udp_worker(socket: &UdpSocket, h: &ServerHandle, jobs: &SyncSender<Job>) {
    let mut buf = vec![0u8; 65535];
    let mut out = Vec::with_capacity(4096);
    while !h.stopped() {
        let Ok((n, client)) = socket.recv_from(&mut buf) else { continue };
        let zone = h.zone();
        match zone.answer_over(&buf[..n], Transport::Udp, &mut out) {
            Outcome::Answered => {
                let _ = socket.send_to(&out, client);
            }
            Outcome::Forward => {
                let Ok(reply) = socket.try_clone() else { continue };
                let job = Job { query: buf[..n].to_vec(), client, socket: reply, from: None };
                if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) = jobs.try_send(job) {
                    // Overloaded: say so at once rather than let the client wait.
                    if servfail(&job.query, &mut out) {
                        job.reply(&out);
                    }
                }
            }
            Outcome::Drop => {}
        }
    }
}

fn forwarder(queue: &Mutex<Receiver<Job>>, h: &ServerHandle, timeout: Duration) {
    let mut out = Vec::new();
    loop {
        let job = {
            let rx = queue.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv_timeout(TICK)
        };
        match job {
            Ok(job) => {
                let zone = h.zone();
                match forward(&job.query, &zone.upstreams, timeout, false) {
                    Some(reply) => job.reply(&reply),
                    None => {
                        if servfail(&job.query, &mut out) {
                            job.reply(&out);
                        }
                    }
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if !h.stop.load(Ordering::Relaxed) => {}
            Err(_) => return,
        }
    }
}

/// Sends a query to each upstream in order until one answers: over UDP, and, for a client on
/// TCP, again over TCP when the answer is truncated. A UDP client gets the truncated answer as
/// it came and retries over TCP itself. Answers are passed on unchanged.
fn forward(query: &[u8], upstreams: &[SocketAddr], timeout: Duration, tcp_client: bool) -> Option<Vec<u8>> {
    for &up in upstreams {
        match forward_udp(query, up, timeout) {
            Some(reply) if tcp_client && reply.len() > 2 && reply[2] & 0x02 != 0 => {
                if let Some(full) = forward_tcp(query, up, timeout) {
                    return Some(full);
                }
                return Some(reply);
            }
            Some(reply) => return Some(reply),
            None => continue,
        }
    }
    None
}

fn forward_udp(query: &[u8], up: SocketAddr, timeout: Duration) -> Option<Vec<u8>> {
    let any: SocketAddr =
        if up.is_ipv4() { (Ipv4Addr::UNSPECIFIED, 0).into() } else { (Ipv6Addr::UNSPECIFIED, 0).into() };
    let sock = UdpSocket::bind(any).ok()?;
    sock.connect(up).ok()?;
    sock.send(query).ok()?;
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
        sock.set_read_timeout(Some(left)).ok()?;
        let n = sock.recv(&mut buf).ok()?;
        // The same id, and a response: anything else is noise (or spoofing) and is ignored.
        if n >= 12 && buf[..2] == query[..2] && buf[2] & 0x80 != 0 {
            buf.truncate(n);
            return Some(buf);
        }
    }
}

fn forward_tcp(query: &[u8], up: SocketAddr, timeout: Duration) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect_timeout(&up, timeout).ok()?;
    conn.set_read_timeout(Some(timeout)).ok()?;
    conn.set_write_timeout(Some(timeout)).ok()?;
    let mut framed = u16::try_from(query.len()).ok()?.to_be_bytes().to_vec();
    framed.extend_from_slice(query);
    conn.write_all(&framed).ok()?;
    read_framed(&mut conn).ok()
}

fn read_framed(conn: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    conn.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut msg)?;
    Ok(msg)
}

fn tcp_acceptor(listener: &TcpListener, h: &ServerHandle, active: &Arc<AtomicUsize>, cfg: &ServerConfig) {
    while !h.stopped() {
        let conn = match listener.accept() {
            Ok((conn, _)) => conn,
            // The tick: look at the stop flag again.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(_) => {
                // Out of descriptors, say: do not spin on it.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= cfg.tcp_max_connections {
            active.fetch_sub(1, Ordering::SeqCst);
            drop(conn); // over the cap: closed at once
            continue;
        }
        let (h, active, idle, timeout) = (h.clone(), active.clone(), cfg.tcp_idle_timeout, cfg.upstream_timeout);
        std::thread::spawn(move || {
            tcp_connection(conn, &h, idle, timeout);
            active.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

fn tcp_connection(mut conn: TcpStream, h: &ServerHandle, idle: Duration, timeout: Duration) {
    // Idle for `idle` (no complete query): the read times out and the connection closes.
    if conn.set_nonblocking(false).is_err() || conn.set_read_timeout(Some(idle)).is_err() {
        return;
    }
    let mut out = Vec::new();
    while !h.stopped() {
        let Ok(msg) = read_framed(&mut conn) else { return };
        let zone = h.zone();
        let reply = match zone.answer_over(&msg, Transport::Tcp, &mut out) {
            Outcome::Answered => std::mem::take(&mut out),
            Outcome::Forward => match forward(&msg, &zone.upstreams, timeout, true) {
                Some(r) => r,
                None if servfail(&msg, &mut out) => std::mem::take(&mut out),
                None => return,
            },
            Outcome::Drop => return,
        };
        let Ok(len) = u16::try_from(reply.len()) else { return };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if conn.write_all(&framed).is_err() {
            return;
        }
    }
}
