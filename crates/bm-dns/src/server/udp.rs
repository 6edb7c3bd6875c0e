//! The UDP workers: one per `SO_REUSEPORT` socket, each taking a batch of queries per
//! `recvmmsg(2)` and sending the batch of answers with one `sendmmsg(2)`, so that under load the
//! system-call cost is paid per batch, not per query (Knot and NSD do the same). A worker that
//! found a busy socket lets the next batch gather for `batch_wait` rather than being woken for
//! each query (the XDP path's pacing, and NAPI's idea): under load one wake-up and two system
//! calls serve a batch; at light load every query is answered as it arrives.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use super::config::TICK;
use super::forwarder::{Limits, Upstreams};
use super::queue::ReplyTo;
use super::shared::{Counters, Shared, limit};
use crate::answer::{Outcome, Transport};
use bm_sys::udp::{BATCH, DATAGRAM, Outgoing, Receiver, Sender};

/// An answer of the batch ready to go: which, to whom, from where.
struct Ready {
    index: usize,
    to: SocketAddr,
    from: Option<(IpAddr, u32)>,
}

/// What a UDP worker needs besides its socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Worker {
    /// The socket is bound to a wildcard address: each answer names the address its query was
    /// sent to as its source.
    pub(crate) pktinfo: bool,
    pub(crate) batch_wait: Duration,
    pub(crate) limits: Limits,
    /// This worker's number among the server's forwarders.
    pub(crate) slot: usize,
}

/// Queries in one batch from which the socket counts as busy (measured under dnsperf: 4 with a
/// 500 us wait gave 0.9-1.0x Knot's CPU per query at 1.4x its qps; 8, about 1.1x).
const BUSY: usize = 4;

impl Worker {
    /// Answers the queries arriving on `socket` until the server stops, forwarding those that
    /// go upstream itself. While none is in flight it sleeps in `recvmmsg(2)`; while some are,
    /// in `poll(2)` on its socket and its upstream sockets.
    pub(crate) fn run(self, socket: &UdpSocket, shared: &Shared) {
        let mut rx = Receiver::new(BATCH, DATAGRAM);
        let mut tx = Box::new(Sender::<BATCH>::new());
        let mut upstreams = Upstreams::new(shared, self.limits, self.slot);
        let mut answers: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(1232)).collect();
        let mut ready: Vec<Ready> = Vec::with_capacity(BATCH);
        let mut readable = vec![true; 1 + upstreams.fds().count()];
        let replies = std::slice::from_ref(socket);
        let counters = &shared.counters;
        // The pause must be what it says: the default slack would let 500 us become 550.
        bm_sys::thread::set_timer_slack(Duration::from_micros(1));
        while !shared.stopped() {
            let received = if upstreams.busy() {
                let wait = upstreams.deadline().map_or(TICK, |t| t.saturating_duration_since(Instant::now()).min(TICK));
                let fds: Vec<_> = std::iter::once(socket.as_fd()).chain(upstreams.fds()).collect();
                bm_sys::poll::poll_readable(&fds, &mut readable, wait);
                if readable[0] { rx.recv(socket.as_fd(), false) } else { Ok(0) }
            } else {
                // Nothing in flight: no reply to wait for, only queries (or the stop tick).
                readable.fill(false);
                rx.recv(socket.as_fd(), true)
            };
            let n = received.unwrap_or(0);
            let now = Instant::now();
            let served = shared.served();
            ready.clear();
            let mut oversize = 0;
            for (i, out) in answers.iter_mut().enumerate().take(n) {
                let Some(d) = rx.get(i) else { continue };
                if d.truncated {
                    oversize += 1;
                    continue;
                }
                let from = if self.pktinfo { d.local } else { None };
                match served.responder.respond(d.bytes, d.source.ip(), Transport::Udp, out) {
                    Outcome::Answered => {
                        if limit(&served, Some(now), d.source.ip(), out, counters) {
                            ready.push(Ready { index: i, to: d.source, from });
                        }
                    }
                    Outcome::Forward => {
                        let reply = ReplyTo::Udp { listen: 0, client: d.source, from };
                        upstreams.forward(now, d.bytes, d.source, Transport::Udp, reply);
                    }
                    Outcome::Drop => {}
                }
            }
            Counters::add(&counters.udp_oversize, oversize);
            let batch = ready.iter().map(|r| Outgoing { bytes: &answers[r.index], to: r.to, from: r.from });
            tx.send(socket.as_fd(), batch);
            if upstreams.busy() || readable[1..].iter().any(|&r| r) {
                upstreams.pump(now, &readable[1..], replies, shared);
            }
            // Busy but not full (a full batch means more are waiting already): let the next
            // gather.
            if (BUSY..BATCH).contains(&n) && !self.batch_wait.is_zero() {
                std::thread::sleep(self.batch_wait);
            }
        }
    }
}
