//! DNS over TCP with deadlines, as Knot bounds it against slow clients: a whole message must
//! arrive within `tcp_message_timeout` of its first byte and an answer must be taken within
//! `tcp_write_timeout` (not per read or write, which a client sending a byte at a time would
//! stretch forever), a connection idle between messages for `tcp_idle_timeout` is closed, a
//! client (an IPv4 address or IPv6 /64) holds at most `tcp_per_client` connections, and at the
//! global cap the connection idle longest makes room for a new one, so that connections held
//! open by an attacker cannot lock real clients out. One thread per connection, started with
//! `std::thread::Builder`: when none can be started, that one connection is closed.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::config::TICK;
use super::queue::{Relayed, ReplyTo, Submission};
use super::shared::{Counters, Shared};
use crate::answer::{Outcome, Transport, servfail};
use crate::forward::relay;
use crate::framing::{TcpFraming, frame};

/// The TCP settings of [`super::ServerConfig`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max: usize,
    pub(crate) per_client: usize,
    pub(crate) idle: Duration,
    pub(crate) message: Duration,
    pub(crate) write: Duration,
    pub(crate) upstream_timeout: Duration,
}

/// Who a connection is charged to: an IPv4 address, or an IPv6 /64.
fn client_key(ip: IpAddr) -> (bool, u64) {
    match bm_addr::unmap(ip) {
        IpAddr::V4(v4) => (true, u64::from(u32::from(v4))),
        IpAddr::V6(v6) => (false, (u128::from(v6) >> 64) as u64),
    }
}

#[derive(Debug)]
struct Conn {
    client: (bool, u64),
    /// When a byte last came in or an answer went out.
    last: Instant,
    /// Working on a query (answering or waiting for an upstream): not to be evicted.
    busy: bool,
    /// A handle on the socket, to close it from another thread.
    stream: TcpStream,
}

/// The open connections.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    open: Mutex<(u64, HashMap<u64, Conn>)>,
}

/// Why a new connection is closed at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    PerClient,
    Full,
}

impl Connections {
    /// Registers a new connection from `peer`, closing the longest-idle one at the cap.
    fn admit(
        &self,
        now: Instant,
        peer: IpAddr,
        stream: TcpStream,
        limits: &Limits,
        counters: &Counters,
    ) -> Result<u64, Refusal> {
        let mut guard = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let (next, open) = &mut *guard;
        let client = client_key(peer);
        if open.values().filter(|c| c.client == client).count() >= limits.per_client.max(1) {
            return Err(Refusal::PerClient);
        }
        if open.len() >= limits.max.max(1) {
            let idlest = open.iter().filter(|(_, c)| !c.busy).min_by_key(|(_, c)| c.last).map(|(&id, _)| id);
            let Some(id) = idlest else { return Err(Refusal::Full) };
            if let Some(c) = open.remove(&id) {
                let _ = c.stream.shutdown(Shutdown::Both);
                Counters::add(&counters.tcp_evicted, 1);
            }
        }
        *next += 1;
        open.insert(*next, Conn { client, last: now, busy: false, stream });
        Ok(*next)
    }

    fn touch(&self, id: u64, now: Instant, busy: bool) {
        let mut guard = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = guard.1.get_mut(&id) {
            c.last = now;
            c.busy = busy;
        }
    }

    fn remove(&self, id: u64) {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).1.remove(&id);
    }

    /// Closes every connection (at shutdown): their threads see the end of the stream.
    pub(crate) fn close_all(&self) {
        for c in self.open.lock().unwrap_or_else(|e| e.into_inner()).1.values() {
            let _ = c.stream.shutdown(Shutdown::Both);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).1.len()
    }
}

/// Accepts connections on `listener` until the server stops.
pub(crate) fn acceptor(listener: &TcpListener, shared: &Arc<Shared>, conns: &Arc<Connections>, limits: Limits) {
    let counters = &shared.counters;
    while !shared.stopped() {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            // The tick: look at the stop flag again.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(_) => {
                // Out of descriptors, say: the connection waits in the backlog; do not spin.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        // A handle to close it from elsewhere; without one (no descriptor left), it closes now.
        let Ok(handle) = stream.try_clone() else { continue };
        let id = match conns.admit(Instant::now(), peer.ip(), handle, &limits, counters) {
            Ok(id) => id,
            Err(Refusal::PerClient) => {
                Counters::add(&counters.tcp_refused_per_client, 1);
                continue;
            }
            Err(Refusal::Full) => {
                Counters::add(&counters.tcp_refused_full, 1);
                continue;
            }
        };
        let (s, c) = (shared.clone(), conns.clone());
        let spawned = std::thread::Builder::new().name("bm-dns-tcp".into()).stack_size(256 * 1024).spawn(move || {
            serve(stream, peer, id, &s, &c, limits);
            c.remove(id);
        });
        if spawned.is_err() {
            // The closure, and the stream in it, are dropped: this connection closes, no other.
            conns.remove(id);
            Counters::add(&counters.tcp_spawn_failures, 1);
        }
    }
    conns.close_all();
}

/// Serves one connection until the client closes it, a deadline passes or the server stops.
fn serve(mut stream: TcpStream, peer: SocketAddr, id: u64, shared: &Shared, conns: &Connections, limits: Limits) {
    let counters = &shared.counters;
    let _ = stream.set_nodelay(true);
    let mut framing = TcpFraming::default();
    let mut chunk = vec![0u8; 4096];
    // When the message under way began to arrive, and when the last bytes came.
    let mut started: Option<Instant> = None;
    let mut last_read = Instant::now();
    let mut idle_since = last_read;
    loop {
        let mut answered = false;
        while let Some(message) = framing.next_message() {
            conns.touch(id, Instant::now(), true);
            let Some(answer) = answer(&message, peer, shared, limits) else { return };
            let Some(framed) = frame(&answer) else { return };
            match write_by(&mut stream, &framed, Instant::now() + limits.write) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    Counters::add(&counters.tcp_write_timeouts, 1);
                    return;
                }
                Err(_) => return,
            }
            idle_since = Instant::now();
            conns.touch(id, idle_since, false);
            answered = true;
        }
        // A message still under way after one was taken began in the last read (the one before
        // it ended there); with none under way, the connection is idle.
        if answered || !framing.in_progress() {
            started = framing.in_progress().then_some(last_read);
        }
        if shared.stopped() {
            return;
        }
        let now = Instant::now();
        let (deadline, timeouts) = match started {
            Some(t) => (t + limits.message, &counters.tcp_message_timeouts),
            None => (idle_since + limits.idle, &counters.tcp_idle_timeouts),
        };
        let left = deadline.saturating_duration_since(now);
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            Counters::add(timeouts, 1);
            return;
        }
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => {
                last_read = Instant::now();
                framing.push(&chunk[..n]);
                started.get_or_insert(last_read);
                conns.touch(id, last_read, false);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return,
        }
    }
}

/// The answer to one message, or `None` to close the connection (not a query).
fn answer(message: &[u8], peer: SocketAddr, shared: &Shared, limits: Limits) -> Option<Vec<u8>> {
    let served = shared.served();
    let mut out = Vec::new();
    match served.responder.respond(message, peer.ip(), Transport::Tcp, &mut out) {
        Outcome::Answered => Some(out),
        Outcome::Drop => None,
        Outcome::Forward => {
            let upstreams = served.responder.zone().upstreams.len() as u32;
            let (tx, rx) = sync_channel::<Relayed>(1);
            let s = Submission {
                query: message.to_vec(),
                client: peer,
                transport: Transport::Tcp,
                reply: ReplyTo::Tcp(tx),
            };
            let relayed = if shared.inbox.submit(s) {
                rx.recv_timeout(limits.upstream_timeout * upstreams + TICK).ok()
            } else {
                Counters::add(&shared.counters.forward_queue_full, 1);
                None
            };
            match relayed {
                // Truncated over UDP: ask the upstream that answered again over TCP.
                Some(Relayed { bytes, upstream: Some(up) }) if bytes.get(2).is_some_and(|b| b & 0x02 != 0) => {
                    Some(forward_tcp(message, up, limits.upstream_timeout).unwrap_or(bytes))
                }
                Some(r) => Some(r.bytes),
                None => servfail(message, &mut out).then_some(out),
            }
        }
    }
}

/// Asks `upstream` over TCP, within `timeout` for the whole exchange; the answer must carry the
/// query's ID and question.
#[allow(clippy::disallowed_methods)] // The server's own upstream connection.
fn forward_tcp(query: &[u8], upstream: SocketAddr, timeout: Duration) -> Option<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut conn = TcpStream::connect_timeout(&upstream, timeout).ok()?;
    write_by(&mut conn, &frame(query)?, deadline).ok()?;
    let mut framing = TcpFraming::default();
    let mut chunk = vec![0u8; 16 * 1024];
    let reply = loop {
        if let Some(m) = framing.next_message() {
            break m;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        conn.set_read_timeout(Some(left)).ok()?;
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return None,
            Ok(n) => framing.push(&chunk[..n]),
        }
    };
    let question_end = crate::name::skip(query, 12)? + 4;
    (reply.get(..2) == query.get(..2) && relay::answers(&reply, query.get(12..question_end)?)).then_some(reply)
}

/// Writes all of `bytes` by `deadline`, however slowly the peer reads.
fn write_by(stream: &mut TcpStream, bytes: &[u8], deadline: Instant) -> io::Result<()> {
    let mut at = 0;
    while at < bytes.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_write_timeout(Some(left))?;
        match stream.write(&bytes[at..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => at += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's end of a new loopback connection; the client's is kept in `peers`.
    #[allow(clippy::disallowed_methods)] // Loopback sockets.
    fn pair(listener: &TcpListener, peers: &mut Vec<TcpStream>) -> TcpStream {
        peers.push(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        listener.accept().unwrap().0
    }

    #[test]
    #[allow(clippy::disallowed_methods)] // Loopback sockets.
    fn admission_limits_per_client_and_evicts_the_idlest() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let limits = Limits {
            max: 3,
            per_client: 2,
            idle: Duration::from_secs(10),
            message: Duration::from_secs(1),
            write: Duration::from_secs(1),
            upstream_timeout: Duration::from_secs(1),
        };
        let counters = Counters::default();
        let conns = Connections::default();
        let mut peers = Vec::new();
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "2001:db8::1".parse().unwrap();
        let first = conns.admit(t0, a, pair(&listener, &mut peers), &limits, &counters).unwrap();
        conns.admit(t0 + Duration::from_millis(1), a, pair(&listener, &mut peers), &limits, &counters).unwrap();
        assert_eq!(conns.admit(t0, a, pair(&listener, &mut peers), &limits, &counters), Err(Refusal::PerClient));
        conns.admit(t0 + Duration::from_millis(2), b, pair(&listener, &mut peers), &limits, &counters).unwrap();
        // Full: the idlest (the first) goes, unless busy.
        conns.touch(first, t0, true);
        let evicted = conns.admit(t0 + Duration::from_millis(3), c, pair(&listener, &mut peers), &limits, &counters);
        assert!(evicted.is_ok());
        assert_eq!(conns.len(), 3);
        assert_eq!(counters.tcp_evicted.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert!(conns.open.lock().unwrap().1.contains_key(&first), "busy: kept");
        // Everyone busy: refused.
        for id in conns.open.lock().unwrap().1.values_mut() {
            id.busy = true;
        }
        let d: IpAddr = "2001:db8:1::1".parse().unwrap();
        assert_eq!(conns.admit(t0, d, pair(&listener, &mut peers), &limits, &counters), Err(Refusal::Full));
        // Another address in the same /64 counts as the same client.
        let c2: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(client_key(c2), client_key(c));
    }
}
