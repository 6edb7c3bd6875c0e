//! The UDP workers: one per `SO_REUSEPORT` socket, each taking a batch of queries per
//! `recvmmsg(2)` and sending the batch of answers with one `sendmmsg(2)`, so that under load the
//! system-call cost is paid per batch, not per query (Knot and NSD do the same). A worker that
//! found a busy socket lets the next batch gather for `batch_wait` rather than being woken for
//! each query (the XDP path's pacing, and NAPI's idea): under load one wake-up and two system
//! calls serve a batch; at light load every query is answered as it arrives.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use super::forwarder::{ReplyTo, Submission};
use super::shared::{Counters, Served, Shared};
use super::sys::{self, BATCH, DATAGRAM, Outgoing, Receiver, Sender};
use crate::answer::{Outcome, Transport};
use crate::rrl::{self, AnswerKind, Verdict};

/// An answer of the batch ready to go: which, to whom, from where.
struct Ready {
    index: usize,
    to: SocketAddr,
    from: Option<(IpAddr, u32)>,
}

/// Answers the queries arriving on `socket` (listening address number `listen`) until the
/// server stops. `pktinfo`: the socket is bound to a wildcard address, so each answer names
/// the address its query was sent to as its source.
pub(crate) fn worker(socket: &UdpSocket, listen: usize, pktinfo: bool, shared: &Shared, batch_wait: Duration) {
    /// Queries in one batch from which the socket counts as busy.
    const BUSY: usize = 8;
    let mut rx = Receiver::new(BATCH, DATAGRAM);
    let mut tx = Box::new(Sender::<BATCH>::new());
    // The pause must be what it says: the default slack would let 200 us become 250.
    sys::set_timer_slack(Duration::from_micros(1));
    let mut answers: Vec<Vec<u8>> = (0..BATCH).map(|_| Vec::with_capacity(1232)).collect();
    let mut ready: Vec<Ready> = Vec::with_capacity(BATCH);
    let counters = &shared.counters;
    while !shared.stopped() {
        // A timeout (the tick, to look at the stop flag) or an error: nothing to do.
        let Ok(n) = rx.recv(socket.as_fd(), true) else { continue };
        let served = shared.served();
        let now = served.rrl.is_some().then(Instant::now);
        ready.clear();
        let mut oversize = 0;
        for (i, out) in answers.iter_mut().enumerate().take(n) {
            let Some(d) = rx.get(i) else { continue };
            if d.truncated {
                oversize += 1;
                continue;
            }
            let from = if pktinfo { d.local } else { None };
            match served.responder.respond(d.bytes, d.source.ip(), Transport::Udp, out) {
                Outcome::Answered => {
                    if limit(&served, now, d.source.ip(), out, counters) {
                        ready.push(Ready { index: i, to: d.source, from });
                    }
                }
                Outcome::Forward => {
                    let reply = ReplyTo::Udp { listen, client: d.source, from };
                    let s = Submission { query: d.bytes.to_vec(), client: d.source, transport: Transport::Udp, reply };
                    if !shared.inbox.submit(s) {
                        Counters::add(&counters.forward_queue_full, 1);
                    }
                }
                Outcome::Drop => {}
            }
        }
        Counters::add(&counters.udp_oversize, oversize);
        let batch = ready.iter().map(|r| Outgoing { bytes: &answers[r.index], to: r.to, from: r.from });
        tx.send(socket.as_fd(), batch);
        // Busy but not full (a full batch means more are waiting already): let the next gather.
        if (BUSY..BATCH).contains(&n) && !batch_wait.is_zero() {
            std::thread::sleep(batch_wait);
        }
    }
}

/// Applies the rate limit, if any, to the answer `out` for `client`: whether to send it (cut
/// to its question when it slips).
pub(crate) fn limit(
    served: &Served,
    now: Option<Instant>,
    client: IpAddr,
    out: &mut Vec<u8>,
    counters: &Counters,
) -> bool {
    let (Some(rrl), Some(now)) = (&served.rrl, now) else { return true };
    match rrl.check(now, client, AnswerKind::of(out)) {
        Verdict::Send => true,
        Verdict::Slip => {
            rrl::slip(out);
            Counters::add(&counters.rrl_slipped, 1);
            true
        }
        Verdict::Drop => {
            Counters::add(&counters.rrl_dropped, 1);
            false
        }
    }
}
