//! The forwarder, sans-IO: names outside the zone go to the upstreams, in order, and their
//! replies back to the clients who asked. Time, queries and replies are inputs; datagrams to
//! send are outputs, so one event loop (or a test) drives any number of queries through a
//! fixed set of sockets.
//!
//! What makes it safe to run on a node address (`../shared/research/hardening.md`, Unbound's
//! choices):
//! - each upstream query gets a fresh unpredictable ID and socket ([`ids`]), and a reply is
//!   taken only from the upstream asked, on the socket asked from, with that ID, answering the
//!   question asked (name ignoring case, type, class); the client's own ID goes back to it;
//! - each attempt has a deadline (`timeout` per upstream): an upstream that does not answer in
//!   time is given up for the next, and after the last the client gets SERVFAIL. Nothing waits
//!   longer, so after any flood the forwarder is idle again within one timeout per upstream;
//! - at most `max_pending` queries are in flight; when a new one finds the table full, the
//!   oldest query of the client with the most in flight makes room (longest-queue drop, fair
//!   queueing's rule): a flooding client only ever displaces itself once it holds more than
//!   anyone else. Clients are told apart by address (IPv6 by /64, which one host holds);
//! - replies are cut to what the client can take ([`relay`]).
//!
//! The drain rule: after each `handle_*` call, take [`Forwarder::poll_output`] until `None`,
//! then sleep until [`Forwarder::poll_timeout`] (or the next packet) and call
//! [`Forwarder::handle_timeout`].
//!
//! ```
//! use std::net::SocketAddr;
//! use std::time::{Duration, Instant};
//! use bm_dns::{Forwarder, ForwarderConfig, ForwardOutput, Transport};
//! use hickory_proto::op::{Message, Query};
//! use hickory_proto::rr::{Name, RecordType};
//!
//! let upstream: SocketAddr = "192.0.2.53:53".parse().unwrap();
//! let mut fwd = Forwarder::new(ForwarderConfig::new(vec![upstream]), [7; 16]);
//! let now = Instant::now();
//! let mut q = Message::query();
//! q.metadata.id = 1234;
//! q.add_query(Query::query(Name::from_ascii("www.example.org.").unwrap(), RecordType::A));
//! let client = "10.0.0.9".parse().unwrap();
//! fwd.handle_query(now, &q.to_vec().unwrap(), client, Transport::Udp, "token").unwrap();
//! // One datagram to the upstream, with an ID of the forwarder's choosing.
//! let Some(ForwardOutput::Query { socket, upstream: to, bytes }) = fwd.poll_output() else { panic!() };
//! assert_eq!(to, upstream);
//! // The upstream answers: the reply goes to the token's client with its own ID.
//! let mut reply = Message::from_vec(&bytes).unwrap();
//! reply.metadata.message_type = hickory_proto::op::MessageType::Response;
//! fwd.handle_reply(now, socket, upstream, &reply.to_vec().unwrap()).unwrap();
//! let Some(ForwardOutput::Reply { token, bytes, .. }) = fwd.poll_output() else { panic!() };
//! assert_eq!((token, Message::from_vec(&bytes).unwrap().metadata.id), ("token", 1234));
//! // Nothing left to do, and no deadline pending.
//! assert!(fwd.poll_output().is_none());
//! assert_eq!(fwd.poll_timeout(), None);
//! # let _ = Duration::ZERO;
//! ```

mod ids;
pub(crate) mod relay;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::answer::Transport;
use crate::request;

/// How the forwarder works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwarderConfig {
    /// Upstream servers, tried in order.
    pub upstreams: Vec<SocketAddr>,
    /// How long each upstream gets to answer before the next is tried.
    pub timeout: Duration,
    /// Queries in flight at most (and at most 32,768 per socket).
    pub max_pending: usize,
    /// Sockets per address family the caller sends from ([`ForwardOutput::Query`] names one).
    pub sockets: usize,
    /// Our EDNS payload: the most a UDP client is sent, whatever it advertises.
    pub payload: u16,
}

impl ForwarderConfig {
    /// Defaults: 2 s per upstream, 1,024 queries in flight, 4 sockets per family, 1,232-byte
    /// payload.
    pub fn new(upstreams: Vec<SocketAddr>) -> ForwarderConfig {
        ForwarderConfig { upstreams, timeout: Duration::from_secs(2), max_pending: 1024, sockets: 4, payload: 1232 }
    }
}

/// Why a query is not forwarded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// No upstream is configured.
    #[error("no upstream configured")]
    NoUpstream,
    /// The query's question cannot be read (the dispatch step answers those itself).
    #[error("not a query with one readable question")]
    NotAQuery,
}

/// A query not taken, with the caller's token back (to answer the client some other way).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct NotForwarded<T> {
    /// Why.
    pub error: ForwardError,
    /// The token given with the query.
    pub token: T,
}

/// Why an upstream datagram is not relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// No query in flight has this ID on this socket: late (the query was answered, timed out
    /// or displaced) or forged.
    #[error("no query in flight with this ID on this socket")]
    Unknown,
    /// The ID matches, but it came from another address than the upstream asked.
    #[error("from another address than the upstream asked")]
    WrongSource,
    /// The ID and source match, but it does not answer the question asked.
    #[error("does not answer the question asked")]
    WrongQuestion,
    /// Its records run past its end.
    #[error("malformed")]
    Malformed,
}

/// What the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum ForwardOutput<T> {
    /// Send `bytes` to `upstream` from socket number `socket` (of the upstream's family).
    Query {
        /// Which of [`ForwarderConfig::sockets`].
        socket: usize,
        /// Where to.
        upstream: SocketAddr,
        /// The query, with the forwarder's ID.
        bytes: Vec<u8>,
    },
    /// Send `bytes` to the client behind `token`.
    Reply {
        /// The caller's token for the client.
        token: T,
        /// The response, fitted to the client; a SERVFAIL when no upstream answered.
        bytes: Vec<u8>,
        /// The upstream that answered (`None`: SERVFAIL), so that a TCP client's truncated
        /// reply can be asked again over TCP.
        upstream: Option<SocketAddr>,
    },
}

/// Counters, one per fate of a query or a datagram.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ForwarderStats {
    /// Queries taken.
    pub queries: u64,
    /// Replies relayed to clients.
    pub relayed: u64,
    /// Of those, cut to fit the client (TC set).
    pub truncated: u64,
    /// Upstream attempts that timed out.
    pub timeouts: u64,
    /// Clients answered SERVFAIL: every upstream timed out.
    pub servfail: u64,
    /// Queries dropped to make room for another (the table was full).
    pub displaced: u64,
    /// Queries refused: no upstream, or no readable question.
    pub refused: u64,
    /// Upstream datagrams ignored: unknown ID (late or forged).
    pub unknown_id: u64,
    /// Upstream datagrams ignored: from another address.
    pub wrong_source: u64,
    /// Upstream datagrams ignored: another question, or not a response.
    pub wrong_question: u64,
    /// Upstream datagrams ignored: malformed.
    pub malformed: u64,
}

impl std::ops::AddAssign for ForwarderStats {
    /// Adds another forwarder's counters (a server runs one per worker).
    fn add_assign(&mut self, o: ForwarderStats) {
        self.queries += o.queries;
        self.relayed += o.relayed;
        self.truncated += o.truncated;
        self.timeouts += o.timeouts;
        self.servfail += o.servfail;
        self.displaced += o.displaced;
        self.refused += o.refused;
        self.unknown_id += o.unknown_id;
        self.wrong_source += o.wrong_source;
        self.wrong_question += o.wrong_question;
        self.malformed += o.malformed;
    }
}

/// Index into the slab; `NIL` ends a list.
type Ix = u32;
const NIL: Ix = Ix::MAX;

/// Links of an intrusive doubly linked list.
#[derive(Clone, Copy, Debug)]
struct Links {
    prev: Ix,
    next: Ix,
}

const UNLINKED: Links = Links { prev: NIL, next: NIL };

/// Who a query is charged to: an IPv4 address, or an IPv6 /64 (one host's, usually).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum ClientKey {
    V4(u32),
    V6(u64),
}

impl ClientKey {
    fn of(ip: IpAddr) -> ClientKey {
        match bm_addr::unmap(ip) {
            IpAddr::V4(v4) => ClientKey::V4(v4.into()),
            IpAddr::V6(v6) => ClientKey::V6((u128::from(v6) >> 64) as u64),
        }
    }
}

/// A client's queries in flight, oldest first.
#[derive(Clone, Copy, Debug)]
struct Queue {
    head: Ix,
    tail: Ix,
    count: usize,
    /// Where the client sits in `Forwarder::by_count[count]`.
    slot: usize,
}

/// One query in flight.
#[derive(Debug)]
struct Job<T> {
    token: T,
    client: ClientKey,
    /// The query as the upstream gets it (our ID in its first two bytes).
    query: Vec<u8>,
    /// Where the question ends in `query` (it starts at byte 12).
    question_end: usize,
    fit: relay::Fit,
    /// The upstreams this query was taken with, and the one being asked.
    upstreams: Arc<[SocketAddr]>,
    upstream: usize,
    /// The socket and ID of the attempt in flight.
    key: Option<(u16, u16)>,
    deadline: Instant,
    /// In the deadline order of all jobs, and in arrival order of the client's.
    by_deadline: Links,
    by_client: Links,
}

/// Forwards queries for any number of clients through a fixed set of sockets. `T` is the
/// caller's token for where a reply goes (an address and socket, a TCP connection).
#[derive(Debug)]
pub struct Forwarder<T> {
    config: ForwarderConfig,
    upstreams: Arc<[SocketAddr]>,
    ids: ids::Ids,
    jobs: Vec<Option<Job<T>>>,
    free: Vec<Ix>,
    /// (socket, ID) of each attempt in flight.
    by_id: HashMap<(u16, u16), Ix>,
    /// Jobs by deadline: every attempt lasts `timeout`, so the order of sending is the order of
    /// deadlines.
    deadlines: Links,
    clients: HashMap<ClientKey, Queue>,
    /// Clients by number of queries in flight: `by_count[n]` holds those with `n`.
    by_count: Vec<Vec<ClientKey>>,
    max_count: usize,
    out: VecDeque<ForwardOutput<T>>,
    buf: Vec<u8>,
    stats: ForwarderStats,
}

impl<T> Forwarder<T> {
    /// A forwarder; `seed` must be random (it keys the IDs an off-path attacker must guess).
    pub fn new(config: ForwarderConfig, seed: [u8; 16]) -> Forwarder<T> {
        let upstreams = config.upstreams.clone().into();
        Forwarder {
            config,
            upstreams,
            ids: ids::Ids::new(seed),
            jobs: Vec::new(),
            free: Vec::new(),
            by_id: HashMap::new(),
            deadlines: UNLINKED,
            clients: HashMap::new(),
            by_count: vec![Vec::new()],
            max_count: 0,
            out: VecDeque::new(),
            buf: Vec::new(),
            stats: ForwarderStats::default(),
        }
    }

    /// Takes new upstreams and limits for queries from now on; queries in flight finish with
    /// the upstreams they started with.
    pub fn reconfigure(&mut self, config: ForwarderConfig) {
        self.upstreams = config.upstreams.clone().into();
        self.config = config;
    }

    /// The configuration in effect.
    pub fn config(&self) -> &ForwarderConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> ForwarderStats {
        self.stats
    }

    /// Queries in flight.
    pub fn pending(&self) -> usize {
        self.by_id.len()
    }

    /// Takes a query from `client` (which the dispatch step allowed to recurse) to forward.
    /// `transport` is how the client asked: a UDP client's reply is cut to its size.
    pub fn handle_query(
        &mut self,
        now: Instant,
        query: &[u8],
        client: IpAddr,
        transport: Transport,
        token: T,
    ) -> Result<(), NotForwarded<T>> {
        if self.upstreams.is_empty() {
            self.stats.refused += 1;
            return Err(NotForwarded { error: ForwardError::NoUpstream, token });
        }
        let Some(req) = request::fast(query).or_else(|| request::general(query).ok()) else {
            self.stats.refused += 1;
            return Err(NotForwarded { error: ForwardError::NotAQuery, token });
        };
        let payload = self.config.payload.max(512);
        let limit = match (transport, req.edns) {
            (Transport::Tcp, _) => usize::from(u16::MAX),
            (Transport::Udp, Some(e)) => usize::from(e.payload.min(payload)),
            (Transport::Udp, None) => 512,
        };
        let fit = relay::Fit { id: req.id, limit, edns: req.edns.is_some(), payload };
        let mut bytes = query.to_vec();
        // The upstream sizes its UDP reply by our payload, not the client's: what a UDP client
        // cannot take is cut here anyway, and a TCP client's comes again over TCP.
        if let Some(opt) = request::fast_opt_payload_at(query, &req) {
            bytes[opt..opt + 2].copy_from_slice(&payload.to_be_bytes());
        }
        let client = ClientKey::of(client);
        // At most half the (socket, ID) pairs in flight, so that a free pair is always found at
        // once: a larger configured bound is cut to that.
        let cap = self.config.max_pending.clamp(1, self.config.sockets.max(1) * 32_768);
        if self.by_id.len() >= cap {
            self.displace();
        }
        let job = Job {
            token,
            client,
            query: bytes,
            question_end: req.qname_end + 4,
            fit,
            upstreams: self.upstreams.clone(),
            upstream: 0,
            key: None,
            deadline: now,
            by_deadline: UNLINKED,
            by_client: UNLINKED,
        };
        let ix = match self.free.pop() {
            Some(ix) => {
                self.jobs[ix as usize] = Some(job);
                ix
            }
            None => {
                self.jobs.push(Some(job));
                (self.jobs.len() - 1) as Ix
            }
        };
        self.enqueue_client(client, ix);
        self.stats.queries += 1;
        self.send(now, ix);
        Ok(())
    }

    /// Takes a datagram that arrived on socket `socket` from `from`.
    pub fn handle_reply(
        &mut self,
        _now: Instant,
        socket: usize,
        from: SocketAddr,
        reply: &[u8],
    ) -> Result<(), ReplyError> {
        let ix = match reply.get(..2) {
            Some(id) => self.by_id.get(&(socket as u16, u16::from_be_bytes([id[0], id[1]]))).copied(),
            None => None,
        };
        let Some(ix) = ix else {
            self.stats.unknown_id += 1;
            return Err(ReplyError::Unknown);
        };
        let job = self.jobs[ix as usize].as_ref().expect("indexed jobs exist");
        let asked = job.upstreams[job.upstream];
        if bm_addr::unmap(from.ip()) != bm_addr::unmap(asked.ip()) || from.port() != asked.port() {
            self.stats.wrong_source += 1;
            return Err(ReplyError::WrongSource);
        }
        // Keep waiting for the right answer: a forged one must not end the query.
        if !relay::answers(reply, &job.query[12..job.question_end]) {
            self.stats.wrong_question += 1;
            return Err(ReplyError::WrongQuestion);
        }
        let mut out = std::mem::take(&mut self.buf);
        match relay::fit(reply, job.fit, &mut out) {
            Ok(truncated) => {
                self.stats.relayed += 1;
                self.stats.truncated += u64::from(truncated);
                let job = self.remove(ix);
                let upstream = Some(job.upstreams[job.upstream]);
                self.out.push_back(ForwardOutput::Reply { token: job.token, bytes: out, upstream });
                Ok(())
            }
            Err(_) => {
                self.buf = out;
                self.stats.malformed += 1;
                Err(ReplyError::Malformed)
            }
        }
    }

    /// Gives up every attempt whose deadline has passed: the next upstream is asked, or the
    /// client gets SERVFAIL.
    pub fn handle_timeout(&mut self, now: Instant) {
        while self.deadlines.next != NIL {
            let ix = self.deadlines.next;
            let job = self.jobs[ix as usize].as_ref().expect("listed jobs exist");
            if job.deadline > now {
                break;
            }
            self.stats.timeouts += 1;
            if job.upstream + 1 < job.upstreams.len() {
                let job = self.jobs[ix as usize].as_mut().expect("listed jobs exist");
                job.upstream += 1;
                self.send(now, ix);
            } else {
                let job = self.remove(ix);
                self.stats.servfail += 1;
                let mut out = Vec::new();
                if crate::answer::servfail(&job.query, &mut out) {
                    out[..2].copy_from_slice(&job.fit.id.to_be_bytes());
                    self.out.push_back(ForwardOutput::Reply { token: job.token, bytes: out, upstream: None });
                }
            }
        }
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<ForwardOutput<T>> {
        self.out.pop_front()
    }

    /// When [`Forwarder::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let ix = self.deadlines.next;
        (ix != NIL).then(|| self.jobs[ix as usize].as_ref().expect("listed jobs exist").deadline)
    }

    /// Hands back a reply buffer (from [`ForwardOutput::Reply`]) to be reused.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > self.buf.capacity() {
            buf.clear();
            self.buf = buf;
        }
    }

    /// Sends job `ix` to its current upstream with a fresh ID and socket, deadline `now +
    /// timeout`.
    fn send(&mut self, now: Instant, ix: Ix) {
        self.unlink_deadline(ix);
        let sockets = self.config.sockets.max(1);
        if let Some(old) = self.job(ix).key.take() {
            self.by_id.remove(&old);
        }
        let (socket, id) = loop {
            let r = self.ids.next();
            let key = (((r >> 16) % sockets as u64) as u16, r as u16);
            if !self.by_id.contains_key(&key) {
                break key;
            }
        };
        let job = self.jobs[ix as usize].as_mut().expect("sent jobs exist");
        job.key = Some((socket, id));
        job.query[..2].copy_from_slice(&id.to_be_bytes());
        job.deadline = now + self.config.timeout;
        let upstream = job.upstreams[job.upstream];
        let bytes = job.query.clone();
        self.by_id.insert((socket, id), ix);
        self.link_deadline_tail(ix);
        self.out.push_back(ForwardOutput::Query { socket: usize::from(socket), upstream, bytes });
    }

    /// Makes room for a query: the oldest query of the client with the most in flight goes,
    /// or, when no client has more than one, the oldest of all (Unbound's jostle). It gets no
    /// reply: under a flood, a reply is what the attacker wants.
    fn displace(&mut self) {
        let ix = match self.by_count.get(self.max_count).and_then(|c| c.last()) {
            Some(victim) if self.max_count > 1 => self.clients[victim].head,
            _ => self.deadlines.next,
        };
        if ix != NIL {
            self.remove(ix);
            self.stats.displaced += 1;
        }
    }

    /// Takes job `ix` out of every table.
    fn remove(&mut self, ix: Ix) -> Job<T> {
        self.unlink_deadline(ix);
        self.dequeue_client(ix);
        let job = self.jobs[ix as usize].take().expect("removed jobs exist");
        if let Some(key) = job.key {
            self.by_id.remove(&key);
        }
        self.free.push(ix);
        job
    }

    fn job(&mut self, ix: Ix) -> &mut Job<T> {
        self.jobs[ix as usize].as_mut().expect("linked jobs exist")
    }

    fn link_deadline_tail(&mut self, ix: Ix) {
        let tail = self.deadlines.prev;
        self.job(ix).by_deadline = Links { prev: tail, next: NIL };
        if tail == NIL {
            self.deadlines.next = ix
        } else {
            self.job(tail).by_deadline.next = ix
        }
        self.deadlines.prev = ix;
    }

    fn unlink_deadline(&mut self, ix: Ix) {
        let Links { prev, next } = self.job(ix).by_deadline;
        let linked = prev != NIL || next != NIL || self.deadlines.next == ix;
        if !linked {
            return;
        }
        if prev == NIL {
            self.deadlines.next = next
        } else {
            self.job(prev).by_deadline.next = next
        }
        if next == NIL {
            self.deadlines.prev = prev
        } else {
            self.job(next).by_deadline.prev = prev
        }
        self.job(ix).by_deadline = UNLINKED;
    }

    fn enqueue_client(&mut self, client: ClientKey, ix: Ix) {
        let queue = self.clients.get(&client).copied();
        let tail = queue.map_or(NIL, |q| q.tail);
        self.job(ix).by_client = Links { prev: tail, next: NIL };
        if tail != NIL {
            self.job(tail).by_client.next = ix;
        }
        let count = queue.map_or(0, |q| q.count);
        let mut q = queue.unwrap_or(Queue { head: ix, tail: ix, count: 0, slot: 0 });
        q.tail = ix;
        self.clients.insert(client, q);
        self.move_count(client, count, count + 1);
    }

    fn dequeue_client(&mut self, ix: Ix) {
        let Links { prev, next } = self.job(ix).by_client;
        let client = self.job(ix).client;
        let mut q = self.clients[&client];
        if prev == NIL {
            q.head = next
        } else {
            self.job(prev).by_client.next = next
        }
        if next == NIL {
            q.tail = prev
        } else {
            self.job(next).by_client.prev = prev
        }
        self.clients.insert(client, q);
        self.move_count(client, q.count, q.count - 1);
        if q.count == 1 {
            self.clients.remove(&client);
        }
    }

    /// Moves `client` from the clients with `from` queries in flight to those with `to`.
    fn move_count(&mut self, client: ClientKey, from: usize, to: usize) {
        if from > 0 {
            let slot = self.clients[&client].slot;
            let bucket = &mut self.by_count[from];
            bucket.swap_remove(slot);
            if let Some(&moved) = bucket.get(slot) {
                self.clients.get_mut(&moved).expect("bucketed clients exist").slot = slot;
            }
        }
        if to > 0 {
            if self.by_count.len() <= to {
                self.by_count.resize_with(to + 1, Vec::new);
            }
            self.by_count[to].push(client);
            let q = self.clients.get_mut(&client).expect("counted clients exist");
            q.slot = self.by_count[to].len() - 1;
            q.count = to;
        }
        self.max_count = self.max_count.max(to);
        while self.max_count > 0 && self.by_count[self.max_count].is_empty() {
            self.max_count -= 1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // A starting instant for the tests' clock.
mod tests {
    use std::collections::HashSet;

    use hickory_proto::op::{Edns, Message, MessageType, Query};
    use hickory_proto::rr::{Name, RData, Record, RecordType, rdata};
    use proptest::prelude::*;

    use super::*;

    const UP1: &str = "192.0.2.1:53";
    const UP2: &str = "[2001:db8::2]:53";

    fn query(name: &str, id: u16, edns: Option<u16>) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = id;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if let Some(payload) = edns {
            let mut e = Edns::new();
            e.set_max_payload(payload);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    /// The upstream's answer to `sent`, with `answers` A records.
    fn answer(sent: &[u8], answers: u8) -> Vec<u8> {
        let mut m = Message::from_vec(sent).unwrap();
        m.metadata.message_type = MessageType::Response;
        let name = m.queries[0].name().clone();
        for i in 0..answers {
            m.add_answer(Record::from_rdata(name.clone(), 60, RData::A(rdata::A::new(198, 51, 100, i))));
        }
        m.to_vec().unwrap()
    }

    fn forwarder(upstreams: &[&str], max_pending: usize) -> Forwarder<u32> {
        let mut cfg = ForwarderConfig::new(upstreams.iter().map(|u| u.parse().unwrap()).collect());
        cfg.max_pending = max_pending;
        Forwarder::new(cfg, [9; 16])
    }

    fn sent(f: &mut Forwarder<u32>) -> Vec<(usize, SocketAddr, Vec<u8>)> {
        let mut v = Vec::new();
        while let Some(o) = f.poll_output() {
            match o {
                ForwardOutput::Query { socket, upstream, bytes } => v.push((socket, upstream, bytes)),
                ForwardOutput::Reply { .. } => panic!("no reply expected"),
            }
        }
        v
    }

    fn replies(f: &mut Forwarder<u32>) -> Vec<(u32, Message, Option<SocketAddr>)> {
        let mut v = Vec::new();
        while let Some(o) = f.poll_output() {
            if let ForwardOutput::Reply { token, bytes, upstream } = o {
                v.push((token, Message::from_vec(&bytes).unwrap(), upstream));
            }
        }
        v
    }

    #[test]
    fn forged_replies_are_ignored_and_the_real_one_relayed() {
        let t = Instant::now();
        let mut f = forwarder(&[UP1], 16);
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        f.handle_query(t, &query("www.example.org.", 4242, None), client, Transport::Udp, 7).unwrap();
        let [(socket, up, bytes)] = sent(&mut f).try_into().unwrap();
        let id = u16::from_be_bytes([bytes[0], bytes[1]]);
        assert_eq!(up, UP1.parse().unwrap());
        let good = answer(&bytes, 1);
        // From another address; on another socket; another ID; another question.
        assert_eq!(f.handle_reply(t, socket, "192.0.2.99:53".parse().unwrap(), &good), Err(ReplyError::WrongSource));
        assert_eq!(f.handle_reply(t, (socket + 1) % 4, up, &good), Err(ReplyError::Unknown));
        let mut other_id = good.clone();
        other_id[..2].copy_from_slice(&id.wrapping_add(1).to_be_bytes());
        assert_eq!(f.handle_reply(t, socket, up, &other_id), Err(ReplyError::Unknown));
        let other_name = answer(
            &{
                let mut q = query("www.example.net.", 0, None);
                q[..2].copy_from_slice(&id.to_be_bytes());
                q
            },
            1,
        );
        assert_eq!(f.handle_reply(t, socket, up, &other_name), Err(ReplyError::WrongQuestion));
        assert_eq!(f.handle_reply(t, socket, up, &good[..good.len() - 2]), Err(ReplyError::Malformed));
        // The name in another case is the same question (0x20).
        let mut upper = good.clone();
        upper[13..16].copy_from_slice(b"WWW");
        f.handle_reply(t, socket, up, &upper).unwrap();
        let [(token, m, from)] = replies(&mut f).try_into().unwrap();
        assert_eq!((token, m.metadata.id, from), (7, 4242, Some(up)));
        let s = f.stats();
        assert_eq!((s.wrong_source, s.unknown_id, s.wrong_question, s.malformed, s.relayed), (1, 2, 1, 1, 1));
        assert_eq!(f.pending(), 0);
        // Late: the same reply again is unknown.
        assert_eq!(f.handle_reply(t, socket, up, &good), Err(ReplyError::Unknown));
    }

    #[test]
    fn a_silent_upstream_gives_way_to_the_next_then_servfail() {
        let t = Instant::now();
        let mut f = forwarder(&[UP1, UP2], 16);
        f.handle_query(t, &query("a.example.org.", 1, Some(4096)), "10.0.0.1".parse().unwrap(), Transport::Udp, 1)
            .unwrap();
        let [(_, up, first)] = sent(&mut f).try_into().unwrap();
        assert_eq!(up, UP1.parse().unwrap());
        // Our payload, not the client's 4096, goes upstream.
        assert_eq!(Message::from_vec(&first).unwrap().edns.unwrap().max_payload(), 1232);
        assert_eq!(f.poll_timeout(), Some(t + Duration::from_secs(2)));
        f.handle_timeout(t + Duration::from_millis(1999));
        assert!(f.poll_output().is_none(), "not yet");
        f.handle_timeout(t + Duration::from_secs(2));
        let [(socket, up, second)] = sent(&mut f).try_into().unwrap();
        assert_eq!(up, UP2.parse().unwrap());
        // The first upstream's late answer is no longer taken.
        assert_eq!(f.handle_reply(t, socket, UP1.parse().unwrap(), &answer(&first, 1)), Err(ReplyError::Unknown));
        let _ = second;
        f.handle_timeout(t + Duration::from_secs(4));
        let [(token, m, from)] = replies(&mut f).try_into().unwrap();
        assert_eq!((token, m.metadata.id, from), (1, 1, None));
        assert_eq!(m.metadata.response_code, hickory_proto::op::ResponseCode::ServFail);
        assert_eq!(f.poll_timeout(), None);
        assert_eq!((f.stats().timeouts, f.stats().servfail), (2, 1));
    }

    /// The issue's flood: 1,100 queries from one client to a silent upstream. The table stays
    /// at its bound, another client's query still goes out at once and is answered, and one
    /// timeout later nothing is left.
    #[test]
    fn a_flood_displaces_only_the_flooder_and_ends_within_one_timeout() {
        let t = Instant::now();
        let mut f = forwarder(&[UP1], 1024);
        let attacker: IpAddr = "10.9.9.9".parse().unwrap();
        for i in 0..1100u16 {
            f.handle_query(t, &query(&format!("x{i}.flood.example."), i, None), attacker, Transport::Udp, 0).unwrap();
            assert!(f.pending() <= 1024);
        }
        assert_eq!(sent(&mut f).len(), 1100);
        assert_eq!(f.stats().displaced, 76);
        let victim: IpAddr = "2001:db8:1:2::7".parse().unwrap();
        let t1 = t + Duration::from_millis(500);
        f.handle_query(t1, &query("www.example.org.", 99, None), victim, Transport::Udp, 1).unwrap();
        let [(socket, up, bytes)] = sent(&mut f).try_into().unwrap();
        assert_eq!(f.stats().displaced, 77, "the flooder's oldest made room");
        f.handle_reply(t1, socket, up, &answer(&bytes, 1)).unwrap();
        let [(token, m, _)] = replies(&mut f).try_into().unwrap();
        assert_eq!((token, m.metadata.id), (1, 99));
        // The flooder's queries all end by one timeout after the last was sent.
        f.handle_timeout(t1 + Duration::from_secs(2));
        assert_eq!(f.pending(), 0);
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn many_clients_at_one_each_jostle_the_oldest() {
        let t = Instant::now();
        let mut f = forwarder(&[UP1], 4);
        for i in 0..4u8 {
            let ip = IpAddr::from([10, 0, 0, i]);
            f.handle_query(
                t + Duration::from_millis(u64::from(i)),
                &query("a.example.", 0, None),
                ip,
                Transport::Udp,
                u32::from(i),
            )
            .unwrap();
        }
        let _ = sent(&mut f);
        f.handle_query(t, &query("b.example.", 0, None), "10.0.1.1".parse().unwrap(), Transport::Udp, 9).unwrap();
        let _ = sent(&mut f);
        // The oldest (client 0) went; its deadline no longer fires.
        f.handle_timeout(t + Duration::from_secs(10));
        let tokens: HashSet<u32> = replies(&mut f).into_iter().map(|r| r.0).collect();
        assert_eq!(tokens, HashSet::from([1, 2, 3, 9]));
    }

    #[test]
    fn a_tcp_client_is_not_cut_and_a_udp_one_is() {
        let t = Instant::now();
        let mut f = forwarder(&[UP1], 16);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        f.handle_query(t, &query("big.example.", 1, None), ip, Transport::Udp, 1).unwrap();
        f.handle_query(t, &query("big.example.", 2, None), ip, Transport::Tcp, 2).unwrap();
        for (socket, up, bytes) in sent(&mut f) {
            f.handle_reply(t, socket, up, &answer(&bytes, 60)).unwrap();
        }
        for (token, m, _) in replies(&mut f) {
            match token {
                1 => assert!(m.metadata.truncation && m.answers.len() < 60, "UDP without EDNS: 512 bytes"),
                _ => assert!(!m.metadata.truncation && m.answers.len() == 60),
            }
        }
        assert_eq!(f.stats().truncated, 1);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Query {
            client: u8,
            tcp: bool,
        },
        /// Answer the n-th query in flight (by send order), forged in some way or not.
        Reply {
            pick: usize,
            forge: u8,
        },
        Tick {
            ms: u16,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6, any::<bool>()).prop_map(|(client, tcp)| Op::Query { client, tcp }),
            (any::<usize>(), 0u8..5).prop_map(|(pick, forge)| Op::Reply { pick, forge }),
            (0u16..3000).prop_map(|ms| Op::Tick { ms }),
        ]
    }

    proptest! {
        /// Whatever happens: never more in flight than the bound, each client gets at most one
        /// reply per query with its own ID, forged replies are never relayed, and once enough
        /// time passes nothing is left.
        #[test]
        fn invariants_hold(ops in prop::collection::vec(op(), 1..300)) {
            let mut f = forwarder(&[UP1, UP2], 8);
            let mut now = Instant::now();
            let mut next_token = 0u32;
            let mut asked: HashMap<u32, u16> = HashMap::new();
            let mut answered: HashSet<u32> = HashSet::new();
            let mut in_flight: Vec<(usize, SocketAddr, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Query { client, tcp } => {
                        next_token += 1;
                        let id = (next_token * 7) as u16;
                        let transport = if tcp { Transport::Tcp } else { Transport::Udp };
                        f.handle_query(now, &query("q.example.", id, None), IpAddr::from([10, 0, 0, client]), transport, next_token).unwrap();
                        asked.insert(next_token, id);
                    }
                    Op::Reply { pick, forge } if !in_flight.is_empty() => {
                        let (socket, up, bytes) = in_flight[pick % in_flight.len()].clone();
                        let mut r = answer(&bytes, 1);
                        let from = match forge {
                            1 => "198.51.100.1:53".parse().unwrap(),
                            _ => up,
                        };
                        if forge == 2 { r[1] ^= 1; }
                        if forge == 3 { r[20] ^= 0x20; r[21] ^= 1; }
                        let result = f.handle_reply(now, socket, from, &r);
                        match forge {
                            1 => prop_assert!(matches!(result, Err(ReplyError::WrongSource | ReplyError::Unknown)), "{result:?}"),
                            3 => prop_assert!(matches!(result, Err(ReplyError::WrongQuestion | ReplyError::Unknown)), "{result:?}"),
                            _ => {}
                        }
                    }
                    Op::Reply { .. } => {}
                    Op::Tick { ms } => {
                        now += Duration::from_millis(u64::from(ms));
                        f.handle_timeout(now);
                    }
                }
                prop_assert!(f.pending() <= 8);
                while let Some(o) = f.poll_output() {
                    match o {
                        ForwardOutput::Query { socket, upstream, bytes } => in_flight.push((socket, upstream, bytes)),
                        ForwardOutput::Reply { token, bytes, .. } => {
                            prop_assert!(answered.insert(token), "one reply per query");
                            let m = Message::from_vec(&bytes).unwrap();
                            prop_assert_eq!(m.metadata.id, asked[&token]);
                            if !m.answers.is_empty() {
                                // Relayed: it answers the question asked (forge 3 changed it).
                                prop_assert_eq!(m.queries[0].name().to_ascii().to_lowercase(), "q.example.");
                            }
                        }
                    }
                }
            }
            // Each upstream gets its timeout from when it is asked: two rounds end everything.
            for round in 1..=2 {
                f.handle_timeout(now + Duration::from_secs(2 * round));
                while f.poll_output().is_some() {}
            }
            prop_assert_eq!(f.pending(), 0);
            prop_assert_eq!(f.poll_timeout(), None);
            prop_assert!(f.clients.is_empty() && f.max_count == 0);
        }
    }
}
