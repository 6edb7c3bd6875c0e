//! Forwarding's I/O: [`Upstreams`] drives the sans-IO [`Forwarder`] over a fixed set of
//! non-blocking sockets (four per address family, each on its own random port). Each UDP
//! worker owns one and forwards what it receives itself, in its own event loop (a hand-off to
//! another thread on the same CPU cost a scheduling delay per round: 2.6 ms of latency under
//! dnsperf). TCP connections and the XDP path hand their queries to one more, on a thread of
//! its own, through a bounded queue ([`Inbox`], [`run`]). No thread and no descriptor per
//! query: a flood can fill the queue and the tables of queries in flight, all bounded, and
//! nothing else.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::TICK;
use super::queue::{Relayed, ReplyTo};
use super::shared::{Served, Shared};
use crate::answer::{Transport, servfail};
use crate::forward::{ForwardOutput, Forwarder, ForwarderConfig};
use bm_sys::poll;
use bm_sys::udp::{BATCH, Outgoing, Receiver, Sender};

/// Upstream datagrams read per `recvmmsg(2)`, and batches read from one socket per round at
/// most (the round ends under any load).
const RECV_BATCH: usize = 16;
const RECV_BATCHES_PER_ROUND: usize = 16;

/// Sockets per address family.
pub(crate) const SOCKETS: usize = 4;

/// An answer for a UDP client, waiting to go out through listening socket `listen`.
struct UdpAnswer {
    listen: usize,
    to: SocketAddr,
    from: Option<(IpAddr, u32)>,
    bytes: Vec<u8>,
}

/// Opens the upstream sockets of one family: non-blocking, each on a random port. None when
/// the family is not available (no IPv6 on the host: its upstreams time out).
fn open_family(any: IpAddr) -> Vec<UdpSocket> {
    let sockets: Option<Vec<UdpSocket>> = (0..SOCKETS)
        .map(|_| {
            let s = UdpSocket::bind((any, 0)).ok()?;
            s.set_nonblocking(true).ok()?;
            Some(s)
        })
        .collect();
    sockets.unwrap_or_default()
}

/// The limits the forwarder keeps, besides the upstreams of the zone being served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) max_pending: usize,
}

/// One forwarder with its sockets and buffers: what a thread needs to forward.
pub(crate) struct Upstreams {
    core: Forwarder<ReplyTo>,
    limits: Limits,
    /// The zone whose upstreams and payload the core was configured with.
    served: Arc<Served>,
    /// IPv4 sockets first, then IPv6 (the core numbers them within a family).
    sockets: Vec<UdpSocket>,
    v4: usize,
    rx: Receiver,
    tx: Box<Sender<BATCH>>,
    queries: Vec<(usize, SocketAddr, Vec<u8>)>,
    answers: Vec<UdpAnswer>,
    /// Where this forwarder's counters go in the server's.
    slot: usize,
}

impl Upstreams {
    /// A forwarder for the zone `shared` serves, reporting its counters as number `slot`.
    pub(crate) fn new(shared: &Shared, limits: Limits, slot: usize) -> Upstreams {
        let mut sockets = open_family(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let v4 = sockets.len();
        sockets.extend(open_family(IpAddr::V6(Ipv6Addr::UNSPECIFIED)));
        let served = shared.served();
        let core = Forwarder::new(Self::config(&served, limits), bm_sys::random::seed());
        Upstreams {
            core,
            limits,
            served,
            sockets,
            v4,
            rx: Receiver::new(RECV_BATCH, 65_535),
            tx: Box::new(Sender::new()),
            queries: Vec::new(),
            answers: Vec::new(),
            slot,
        }
    }

    fn config(served: &Served, limits: Limits) -> ForwarderConfig {
        let zone = served.responder.zone();
        ForwarderConfig {
            upstreams: zone.upstreams.clone(),
            timeout: limits.timeout,
            max_pending: limits.max_pending,
            sockets: SOCKETS,
            payload: zone.payload,
        }
    }

    /// The upstream sockets, to wait on.
    pub(crate) fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.sockets.iter().map(AsFd::as_fd)
    }

    /// Whether queries are in flight (replies to wait for).
    pub(crate) fn busy(&self) -> bool {
        self.core.pending() > 0
    }

    /// When [`Upstreams::pump`] must run next at the latest.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.core.poll_timeout()
    }

    /// Takes new upstreams after a reload.
    fn sync(&mut self, shared: &Shared) {
        let latest = shared.served();
        if !Arc::ptr_eq(&latest, &self.served) {
            self.served = latest;
            self.core.reconfigure(Self::config(&self.served, self.limits));
        }
    }

    /// Takes a query to forward; one that cannot be (a reload just removed the upstreams) is
    /// answered SERVFAIL.
    pub(crate) fn forward(
        &mut self,
        now: Instant,
        query: &[u8],
        client: SocketAddr,
        transport: Transport,
        reply: ReplyTo,
    ) {
        if let Err(refused) = self.core.handle_query(now, query, client.ip(), transport, reply) {
            let mut out = Vec::new();
            if servfail(query, &mut out) {
                answer(refused.token, out, None, &mut self.answers);
            }
        }
    }

    /// One round: reads the upstream sockets marked in `readable` (one flag per socket of
    /// [`Upstreams::fds`]), gives up what timed out, and sends what the core asks for in
    /// batches: queries by upstream socket, answers by listening socket of `replies`.
    pub(crate) fn pump(&mut self, now: Instant, readable: &[bool], replies: &[UdpSocket], shared: &Shared) {
        self.sync(shared);
        for (i, socket) in self.sockets.iter().enumerate() {
            if !readable.get(i).copied().unwrap_or(true) {
                continue;
            }
            let slot = if i < self.v4 { i } else { i - self.v4 };
            for _ in 0..RECV_BATCHES_PER_ROUND {
                let Ok(n) = self.rx.recv(socket.as_fd(), false) else { break };
                for d in (0..n).filter_map(|j| self.rx.get(j)) {
                    let _ = self.core.handle_reply(now, slot, d.source, d.bytes);
                }
                if n < RECV_BATCH {
                    break;
                }
            }
        }
        self.core.handle_timeout(now);
        while let Some(output) = self.core.poll_output() {
            match output {
                ForwardOutput::Query { socket, upstream, bytes } => {
                    let at = if upstream.is_ipv4() { socket } else { self.v4 + socket };
                    self.queries.push((at, upstream, bytes));
                }
                ForwardOutput::Reply { token, bytes, upstream } => answer(token, bytes, upstream, &mut self.answers),
            }
        }
        // A refused send (no route) is left to the attempt's deadline, which then tries the next
        // upstream.
        self.queries.sort_by_key(|q| q.0);
        for group in self.queries.chunk_by(|a, b| a.0 == b.0) {
            let Some(socket) = self.sockets.get(group[0].0) else { continue };
            for chunk in group.chunks(BATCH) {
                self.tx
                    .send(socket.as_fd(), chunk.iter().map(|(_, to, bytes)| Outgoing { bytes, to: *to, from: None }));
            }
        }
        self.queries.clear();
        self.answers.sort_by_key(|a| a.listen);
        for group in self.answers.chunk_by(|a, b| a.listen == b.listen) {
            let Some(socket) = replies.get(group[0].listen) else { continue };
            for chunk in group.chunks(BATCH) {
                self.tx
                    .send(socket.as_fd(), chunk.iter().map(|a| Outgoing { bytes: &a.bytes, to: a.to, from: a.from }));
            }
        }
        for a in self.answers.drain(..) {
            self.core.recycle(a.bytes);
        }
        shared.report_forwarder(self.slot, self.core.stats());
    }
}

/// Runs the shared forwarder, for TCP connections and the XDP path, until the server stops.
/// `replies` holds one socket per listening address, through which UDP clients get their
/// answers.
pub(crate) fn run(shared: &Shared, replies: &[UdpSocket], limits: Limits, slot: usize) {
    let mut up = Upstreams::new(shared, limits, slot);
    let mut ready = vec![true; 1 + up.sockets.len()];
    while !shared.stopped() {
        let now = Instant::now();
        if ready[0] {
            for s in shared.inbox.take() {
                up.forward(now, &s.query, s.client, s.transport, s.reply);
            }
        }
        up.pump(now, &ready[1..], replies, shared);
        let wait = up.deadline().map_or(TICK, |t| t.saturating_duration_since(Instant::now()).min(TICK));
        let fds: Vec<BorrowedFd<'_>> = std::iter::once(shared.inbox.wake.fd()).chain(up.fds()).collect();
        poll::poll_readable(&fds, &mut ready, wait);
    }
}

/// Queues a UDP client's answer for sending, or hands a TCP client's to its connection's thread
/// (which may have gone: nothing to do then).
fn answer(to: ReplyTo, bytes: Vec<u8>, upstream: Option<SocketAddr>, answers: &mut Vec<UdpAnswer>) {
    match to {
        ReplyTo::Udp { listen, client, from } => answers.push(UdpAnswer { listen, to: client, from, bytes }),
        ReplyTo::Tcp(tx) => {
            let _ = tx.try_send(Relayed { bytes, upstream });
        }
    }
}
