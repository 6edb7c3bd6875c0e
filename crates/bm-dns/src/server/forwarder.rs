//! The forwarder's thread: one event loop driving the sans-IO [`Forwarder`] over a fixed set of
//! non-blocking sockets (four per address family, each on its own random port), fed by the
//! transports through a bounded queue. No thread and no descriptor per query: a flood can fill
//! the queue and the table of queries in flight, both bounded, and nothing else.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Mutex;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use super::TICK;
use super::shared::Shared;
use super::sys::{self, BATCH, Outgoing, Receiver, Sender};
use crate::answer::{Transport, servfail};
use crate::forward::{ForwardOutput, Forwarder, ForwarderConfig};

/// Where the answer to a forwarded query goes.
#[derive(Debug)]
pub(crate) enum ReplyTo {
    /// Over UDP through the listening socket `listen`, from `from` (the address the query was
    /// sent to, and its interface) when that socket cannot choose it itself.
    Udp { listen: usize, client: SocketAddr, from: Option<(IpAddr, u32)> },
    /// To the thread serving a TCP connection.
    Tcp(SyncSender<Relayed>),
}

/// An answer for a TCP connection's thread.
#[derive(Debug)]
pub(crate) struct Relayed {
    pub(crate) bytes: Vec<u8>,
    /// The upstream that answered (`None`: SERVFAIL).
    pub(crate) upstream: Option<SocketAddr>,
}

/// A query handed to the forwarder.
#[derive(Debug)]
pub(crate) struct Submission {
    pub(crate) query: Vec<u8>,
    pub(crate) client: SocketAddr,
    pub(crate) transport: Transport,
    pub(crate) reply: ReplyTo,
}

/// The bounded queue from the transports to the forwarder's thread, with the descriptor that
/// wakes it.
#[derive(Debug)]
pub(crate) struct Inbox {
    queue: Mutex<VecDeque<Submission>>,
    capacity: usize,
    wake: sys::EventFd,
}

impl Inbox {
    pub(crate) fn new(capacity: usize) -> io::Result<Inbox> {
        Ok(Inbox { queue: Mutex::new(VecDeque::new()), capacity: capacity.max(1), wake: sys::EventFd::new()? })
    }

    /// Queues `s`, waking the forwarder; `false` (and `s` dropped) when the queue is full.
    #[must_use]
    pub(crate) fn submit(&self, s: Submission) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= self.capacity {
            return false;
        }
        q.push_back(s);
        if q.len() == 1 {
            self.wake.wake();
        }
        true
    }

    pub(crate) fn wake(&self) {
        self.wake.wake();
    }

    fn take(&self) -> VecDeque<Submission> {
        self.wake.clear();
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Upstream datagrams read per `recvmmsg(2)`, and batches read from one socket per round at
/// most (the round ends under any load).
const RECV_BATCH: usize = 16;
const RECV_BATCHES_PER_ROUND: usize = 16;

/// An answer for a UDP client, waiting to go out through listening socket `listen`.
struct UdpAnswer {
    listen: usize,
    to: SocketAddr,
    from: Option<(IpAddr, u32)>,
    bytes: Vec<u8>,
}

/// Sockets per address family.
pub(crate) const SOCKETS: usize = 4;

/// Opens the upstream sockets of one family: non-blocking, each on a random port. `None` when
/// the family is not available (no IPv6 on the host: its upstreams time out).
fn open_family(any: IpAddr) -> Option<Vec<UdpSocket>> {
    (0..SOCKETS)
        .map(|_| {
            let s = UdpSocket::bind((any, 0)).ok()?;
            s.set_nonblocking(true).ok()?;
            Some(s)
        })
        .collect()
}

/// The limits the forwarder keeps, besides the upstreams of the zone being served.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) timeout: Duration,
    pub(crate) max_pending: usize,
}

/// Runs the forwarder until the server stops. `replies` holds one socket per listening
/// address, through which UDP clients get their answers.
///
/// Each round takes the queued queries, reads the upstream sockets `poll(2)` found readable (a
/// batch per `recvmmsg(2)`), gives up what timed out, then sends what the core asked for in
/// batches: the queries by upstream socket, the answers by listening socket.
pub(crate) fn run(shared: &Shared, replies: &[UdpSocket], limits: Limits) {
    let v4 = open_family(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).unwrap_or_default();
    let v6 = open_family(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).unwrap_or_default();
    // The core numbers sockets within a family; here they are one list, IPv4 first.
    let upstream_socket = |upstream: SocketAddr, slot: usize| if upstream.is_ipv4() { slot } else { v4.len() + slot };
    let sockets: Vec<&UdpSocket> = v4.iter().chain(&v6).collect();
    let config = |upstreams: Vec<SocketAddr>, payload: u16| ForwarderConfig {
        upstreams,
        timeout: limits.timeout,
        max_pending: limits.max_pending,
        sockets: SOCKETS,
        payload,
    };
    let mut served = shared.served();
    let zone = served.responder.zone();
    let mut core: Forwarder<ReplyTo> = Forwarder::new(config(zone.upstreams.clone(), zone.payload), sys::random_seed());
    let mut rx = Receiver::new(RECV_BATCH, 65_535);
    let mut tx = Box::new(Sender::<BATCH>::new());
    let mut queries: Vec<(usize, SocketAddr, Vec<u8>)> = Vec::new();
    let mut answers: Vec<UdpAnswer> = Vec::new();
    let fds: Vec<BorrowedFd<'_>> =
        std::iter::once(shared.inbox.wake.fd()).chain(sockets.iter().map(|s| s.as_fd())).collect();
    // The first round looks at everything.
    let mut ready = vec![true; fds.len()];
    while !shared.stopped() {
        let now = Instant::now();
        let latest = shared.served();
        if !std::sync::Arc::ptr_eq(&latest, &served) {
            served = latest;
            let zone = served.responder.zone();
            core.reconfigure(config(zone.upstreams.clone(), zone.payload));
        }
        if ready[0] {
            for s in shared.inbox.take() {
                if let Err(refused) = core.handle_query(now, &s.query, s.client.ip(), s.transport, s.reply) {
                    // Only a reload racing the dispatch step (upstreams just removed) gets here.
                    let mut out = Vec::new();
                    if servfail(&s.query, &mut out) {
                        answer(refused.token, out, None, &mut answers);
                    }
                }
            }
        }
        for (i, socket) in sockets.iter().enumerate() {
            if !ready[1 + i] {
                continue;
            }
            let slot = if i < v4.len() { i } else { i - v4.len() };
            for _ in 0..RECV_BATCHES_PER_ROUND {
                let Ok(n) = rx.recv(socket.as_fd(), false) else { break };
                for d in (0..n).filter_map(|j| rx.get(j)) {
                    let _ = core.handle_reply(now, slot, d.source, d.bytes);
                }
                if n < RECV_BATCH {
                    break;
                }
            }
        }
        core.handle_timeout(now);
        while let Some(output) = core.poll_output() {
            match output {
                ForwardOutput::Query { socket, upstream, bytes } => {
                    queries.push((upstream_socket(upstream, socket), upstream, bytes));
                }
                ForwardOutput::Reply { token, bytes, upstream } => answer(token, bytes, upstream, &mut answers),
            }
        }
        // A refused send (no route) is left to the attempt's deadline, which then tries the next
        // upstream.
        queries.sort_by_key(|q| q.0);
        for group in queries.chunk_by(|a, b| a.0 == b.0) {
            let Some(socket) = sockets.get(group[0].0) else { continue };
            for chunk in group.chunks(BATCH) {
                tx.send(socket.as_fd(), chunk.iter().map(|(_, to, bytes)| Outgoing { bytes, to: *to, from: None }));
            }
        }
        queries.clear();
        answers.sort_by_key(|a| a.listen);
        for group in answers.chunk_by(|a, b| a.listen == b.listen) {
            let Some(socket) = replies.get(group[0].listen) else { continue };
            for chunk in group.chunks(BATCH) {
                tx.send(socket.as_fd(), chunk.iter().map(|a| Outgoing { bytes: &a.bytes, to: a.to, from: a.from }));
            }
        }
        for a in answers.drain(..) {
            core.recycle(a.bytes);
        }
        *shared.forwarder.lock().unwrap_or_else(|e| e.into_inner()) = core.stats();
        let wait = core.poll_timeout().map_or(TICK, |t| t.saturating_duration_since(Instant::now()).min(TICK));
        sys::poll_readable(&fds, &mut ready, wait);
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
