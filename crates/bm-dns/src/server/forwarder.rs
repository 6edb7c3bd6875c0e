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

use super::shared::Shared;
use super::{TICK, sys};
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

/// Datagrams read from one upstream socket per round, at most: the round ends under any load.
const READS_PER_ROUND: usize = 256;

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
pub(crate) fn run(shared: &Shared, replies: &[UdpSocket], limits: Limits) {
    let v4 = open_family(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).unwrap_or_default();
    let v6 = open_family(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).unwrap_or_default();
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
    let mut buf = vec![0u8; 65_535];
    while !shared.stopped() {
        let now = Instant::now();
        let latest = shared.served();
        if !std::sync::Arc::ptr_eq(&latest, &served) {
            served = latest;
            let zone = served.responder.zone();
            core.reconfigure(config(zone.upstreams.clone(), zone.payload));
        }
        for s in shared.inbox.take() {
            if let Err(refused) = core.handle_query(now, &s.query, s.client.ip(), s.transport, s.reply) {
                // Only a reload racing the dispatch step (upstreams just removed) gets here.
                let mut out = Vec::new();
                if servfail(&s.query, &mut out) {
                    deliver(replies, refused.token, out, None);
                }
            }
        }
        for sockets in [&v4, &v6] {
            for (slot, socket) in sockets.iter().enumerate() {
                for _ in 0..READS_PER_ROUND {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else { break };
                    let _ = core.handle_reply(now, slot, from, &buf[..n]);
                }
            }
        }
        core.handle_timeout(now);
        while let Some(output) = core.poll_output() {
            match output {
                ForwardOutput::Query { socket, upstream, bytes } => {
                    let family = if upstream.is_ipv4() { &v4 } else { &v6 };
                    // A refused send (no route) is left to the attempt's deadline, which then
                    // tries the next upstream.
                    if let Some(s) = family.get(socket) {
                        let _ = s.send_to(&bytes, upstream);
                    }
                }
                ForwardOutput::Reply { token, bytes, upstream } => {
                    if let Some(b) = deliver(replies, token, bytes, upstream) {
                        core.recycle(b);
                    }
                }
            }
        }
        *shared.forwarder.lock().unwrap_or_else(|e| e.into_inner()) = core.stats();
        let wait = core.poll_timeout().map_or(TICK, |t| t.saturating_duration_since(Instant::now()).min(TICK));
        let mut fds: Vec<BorrowedFd<'_>> = vec![shared.inbox.wake.fd()];
        fds.extend(v4.iter().chain(&v6).map(AsFd::as_fd));
        sys::wait_readable(&fds, wait);
    }
}

/// Sends a reply to its client; gives the buffer back when it is free again.
fn deliver(replies: &[UdpSocket], to: ReplyTo, bytes: Vec<u8>, upstream: Option<SocketAddr>) -> Option<Vec<u8>> {
    match to {
        ReplyTo::Udp { listen, client, from } => {
            let socket = replies.get(listen)?;
            let _ = match from {
                Some((from, ifindex)) => sys::send_from(socket.as_fd(), &bytes, from, client, ifindex),
                None => socket.send_to(&bytes, client).map(drop),
            };
            Some(bytes)
        }
        ReplyTo::Tcp(tx) => {
            // The connection may have gone: nothing to do then.
            let _ = tx.try_send(Relayed { bytes, upstream });
            None
        }
    }
}
