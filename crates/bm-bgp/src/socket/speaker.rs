//! The speaker: sessions, their connections and one `poll(2)`.

// The backend does I/O on purpose: sockets and the monotonic clock.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeSet, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bm_sys::poll::{EventFd, Interest, wait_io};
use ipnet::IpNet;
use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::bfd::{self, BfdPeer};
use super::{CloseCause, Errno, MAX_PEERS, PeerConfig, SocketOption, SpeakerError, SpeakerEvent, SpeakerEventKind};
use crate::bfd::{BfdAction, BfdEvent, BfdSession, BfdState};
use crate::message::Family;
use crate::route::RouteAttributes;
use crate::session::{Action, Session, SessionError};

/// The most batches of BFD datagrams read per wake-up (see `bfd_receive`).
const MAX_BFD_BATCHES: usize = 4;

/// How long a stopping speaker, or a closed connection, keeps writing what is left.
pub const STOP_FLUSH: Duration = Duration::from_secs(3);

/// Bytes read from a connection per wake-up at most, so that one busy peer does not starve
/// the others.
const READ_PER_WAKE: usize = 256 * 1024;

enum Command {
    Announce(IpNet, RouteAttributes),
    Withdraw(IpNet),
    Stop(Option<String>),
}

/// What the handles share with the speaker.
struct Shared {
    wake: EventFd,
    commands: Mutex<VecDeque<Command>>,
    /// Per peer: what announcements are checked against at once.
    peers: Vec<PeerLimits>,
}

/// What a peer's session accepts to announce ([`Session::announce_with`]'s checks).
struct PeerLimits {
    families: Vec<Family>,
    next_hop_v4: bool,
    next_hop_v6: bool,
    community_bytes: usize,
}

/// Announces, withdraws and stops, from any thread, while [`Speaker::run`] runs (or before:
/// what is asked is done when it starts).
#[derive(Clone)]
pub struct SpeakerHandle(Arc<Shared>);

impl std::fmt::Debug for SpeakerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpeakerHandle").field("peers", &self.0.peers.len()).finish_non_exhaustive()
    }
}

impl SpeakerHandle {
    fn push(&self, command: Command) {
        self.0.commands.lock().unwrap_or_else(PoisonError::into_inner).push_back(command);
        self.0.wake.wake();
    }

    /// Announces `prefix` to every peer whose session has its family (at once to those
    /// Established, to the others when they are).
    ///
    /// # Errors
    ///
    /// [`SessionError::FamilyNotConfigured`] when no peer has the family,
    /// [`SessionError::NoNextHop`] when one that has it has no next hop of it; nothing is
    /// announced then.
    pub fn announce(&self, prefix: IpNet) -> Result<(), SessionError> {
        self.announce_with(prefix, RouteAttributes::default())
    }

    /// Announces `prefix` with `attributes` beyond each session's own
    /// ([`Session::announce_with`]); announcing it again with other attributes replaces its
    /// path.
    ///
    /// # Errors
    ///
    /// As [`SpeakerHandle::announce`], and [`SessionError::TooManyCommunities`]; nothing is
    /// announced then.
    pub fn announce_with(&self, prefix: IpNet, attributes: RouteAttributes) -> Result<(), SessionError> {
        let family = match prefix {
            IpNet::V4(_) => Family::IPV4_UNICAST,
            IpNet::V6(_) => Family::IPV6_UNICAST,
        };
        let mut any = false;
        for peer in self.0.peers.iter().filter(|p| p.families.contains(&family)) {
            any = true;
            if !(if prefix.addr().is_ipv4() { peer.next_hop_v4 } else { peer.next_hop_v6 }) {
                return Err(SessionError::NoNextHop(family));
            }
            let bytes = peer.community_bytes + attributes.community_bytes();
            if bytes > crate::MAX_COMMUNITY_BYTES {
                return Err(SessionError::TooManyCommunities(bytes));
            }
        }
        if !any {
            return Err(SessionError::FamilyNotConfigured(family));
        }
        self.push(Command::Announce(prefix, attributes));
        Ok(())
    }

    /// Withdraws `prefix` from every peer it was announced to.
    pub fn withdraw(&self, prefix: IpNet) {
        self.push(Command::Withdraw(prefix));
    }

    /// Stops the speaker: every session with a connection sends NOTIFICATION
    /// Cease/Administrative Shutdown with `message` as its shutdown communication (RFC 9003),
    /// what is left is written for up to [`STOP_FLUSH`], every connection is closed and
    /// [`Speaker::run`] returns.
    ///
    /// # Errors
    ///
    /// [`SessionError::ShutdownMessageTooLong`] over 255 bytes (nothing is done).
    pub fn stop(&self, message: Option<&str>) -> Result<(), SessionError> {
        if let Some(m) = message
            && m.len() > 255
        {
            return Err(SessionError::ShutdownMessageTooLong(m.len()));
        }
        self.push(Command::Stop(message.map(str::to_string)));
        Ok(())
    }
}

/// A connection: being made, or up.
struct Conn {
    stream: TcpStream,
    connecting: bool,
    out: Vec<u8>,
    sent: usize,
}

impl Conn {
    fn pending(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Writes what the kernel takes.
    fn flush(&mut self) -> io::Result<()> {
        while self.sent < self.out.len() {
            match (&self.stream).write(&self.out[self.sent..]) {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Ok(n) => self.sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.sent == self.out.len() {
            self.out.clear();
            self.sent = 0;
        } else if self.sent > self.out.len() / 2 {
            self.out.drain(..self.sent);
            self.sent = 0;
        }
        Ok(())
    }
}

struct Peer {
    config: PeerConfig,
    session: Session,
    conn: Option<Conn>,
    bfd: Option<BfdPeer>,
}

/// A closed connection still writing what the session sent last (its NOTIFICATION).
struct Lingering {
    conn: Conn,
    deadline: Duration,
    /// When stopping: the peer whose BFD session goes AdminDown once the peer has closed its
    /// side (it read our Cease), so that the peer never sees BFD down before the Cease.
    then_admin_down: Option<usize>,
}

/// Runs 1–16 BGP sessions, each to one peer, on the calling thread.
///
/// [`Speaker::new`] checks the peers; [`Speaker::handle`] gives the [`SpeakerHandle`] that
/// announces, withdraws and stops; [`Speaker::run`] starts every session and runs until
/// stopped, reporting [`SpeakerEvent`]s to its callback. The getters
/// ([`peers`](Speaker::peers), [`session`](Speaker::session)) show the state between runs or
/// after.
///
/// ```no_run
/// use bm_bgp::{Config, PeerConfig, Speaker};
///
/// let mut session = Config::new(64601, 64512, "10.0.0.11".parse().unwrap());
/// session.next_hop_v4 = Some("10.0.0.11".parse().unwrap());
/// let peer = PeerConfig::new(session, "10.0.0.1".parse().unwrap());
/// let mut speaker = Speaker::new(vec![peer]).unwrap();
/// let handle = speaker.handle();
/// handle.announce("192.0.2.10/32".parse().unwrap()).unwrap();
/// std::thread::spawn(move || {
///     std::thread::sleep(std::time::Duration::from_secs(60));
///     handle.stop(Some("node drained")).unwrap();
/// });
/// speaker.run(|event| eprintln!("{event:?}")).unwrap();
/// ```
pub struct Speaker {
    peers: Vec<Peer>,
    shared: Arc<Shared>,
    epoch: Instant,
    lingering: Vec<Lingering>,
    /// Told to stop: every session has sent its Cease.
    stopping: bool,
    buf: Vec<u8>,
    /// BFD's listening sockets (one per family in use), made when [`Speaker::run`] starts.
    bfd_listeners: Vec<UdpSocket>,
    bfd_receiver: bm_sys::udp::Receiver,
    /// Where the BFD source ports are first looked for.
    bfd_port_start: u16,
}

impl std::fmt::Debug for Speaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Speaker").field("peers", &self.peers.len()).finish_non_exhaustive()
    }
}

enum OpenError {
    Option(SocketOption, io::Error),
    Connect(io::Error),
}

impl Speaker {
    /// A speaker for `peers` (1 to 16), each checked.
    ///
    /// # Errors
    ///
    /// [`SpeakerError::PeerCount`], [`SpeakerError::Peer`] (the first peer refused),
    /// [`SpeakerError::DuplicatePeer`]; [`SpeakerError::Io`] when no eventfd can be made.
    pub fn new(peers: Vec<PeerConfig>) -> Result<Speaker, SpeakerError> {
        if peers.is_empty() || peers.len() > MAX_PEERS {
            return Err(SpeakerError::PeerCount(peers.len()));
        }
        let seed = bm_sys::random::seed();
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&seed[at..at + 8]);
            u64::from_le_bytes(w)
        };
        let (discriminator_base, jitter_seed) = (word(0), word(8));
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(peers.len());
        for (index, config) in peers.into_iter().enumerate() {
            let address = config.address;
            config.validate().map_err(|error| SpeakerError::Peer { index, address, error })?;
            if !seen.insert(config.socket_address()) {
                return Err(SpeakerError::DuplicatePeer(config.socket_address()));
            }
            let session = Session::new(config.session.clone()).map_err(|e| SpeakerError::Peer {
                index,
                address,
                error: super::PeerConfigError::Session(e),
            })?;
            // Non-zero and distinct: the low byte is the peer's index + 1.
            let discriminator = (discriminator_base as u32 & 0xffff_ff00) | (index as u32 + 1);
            let bfd = match config.bfd {
                Some(timers) => Some(BfdPeer {
                    session: BfdSession::new(timers, discriminator, jitter_seed ^ index as u64)
                        .map_err(|e| SpeakerError::Peer { index, address, error: super::PeerConfigError::Bfd(e) })?,
                    socket: None,
                }),
                None => None,
            };
            out.push(Peer { config, session, conn: None, bfd });
        }
        let shared = Shared {
            wake: EventFd::new()?,
            commands: Mutex::new(VecDeque::new()),
            peers: out
                .iter()
                .map(|p| {
                    let c = &p.config.session;
                    PeerLimits {
                        families: c.families.clone(),
                        next_hop_v4: c.next_hop_v4.is_some(),
                        next_hop_v6: c.next_hop_v6.is_some(),
                        community_bytes: c.communities.len() * 4 + c.large_communities.len() * 12,
                    }
                })
                .collect(),
        };
        Ok(Speaker {
            peers: out,
            shared: Arc::new(shared),
            epoch: Instant::now(),
            lingering: Vec::new(),
            stopping: false,
            buf: vec![0; 65536],
            bfd_listeners: Vec::new(),
            bfd_receiver: bm_sys::udp::Receiver::new(bm_sys::udp::BATCH, 128),
            bfd_port_start: (discriminator_base >> 32) as u16,
        })
    }

    /// The handle that announces, withdraws and stops.
    pub fn handle(&self) -> SpeakerHandle {
        SpeakerHandle(Arc::clone(&self.shared))
    }

    /// The peers' configurations, in order.
    pub fn peers(&self) -> impl Iterator<Item = &PeerConfig> + '_ {
        self.peers.iter().map(|p| &p.config)
    }

    /// Peer `index`'s session.
    pub fn session(&self, index: usize) -> Option<&Session> {
        self.peers.get(index).map(|p| &p.session)
    }

    /// Peer `index`'s BFD session, when it has BFD.
    pub fn bfd_session(&self, index: usize) -> Option<&BfdSession> {
        self.peers.get(index).and_then(|p| p.bfd.as_ref()).map(|b| &b.session)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Starts every session and runs until [`SpeakerHandle::stop`]; each event goes to
    /// `on_event` as it happens (on this thread: a slow callback delays every session).
    ///
    /// # Errors
    ///
    /// `poll(2)` failing (never expected); the connections are closed without a
    /// NOTIFICATION then.
    pub fn run(&mut self, mut on_event: impl FnMut(SpeakerEvent)) -> io::Result<()> {
        let on_event: &mut dyn FnMut(SpeakerEvent) = &mut on_event;
        let now = self.now();
        let mut stopping = self.apply_commands(now, on_event);
        if stopping.is_none() {
            self.open_bfd(now, on_event);
            for i in 0..self.peers.len() {
                self.peers[i].session.start(now);
                self.drive(i, now, on_event);
            }
        }
        loop {
            let now = self.now();
            if stopping.is_none() {
                stopping = self.apply_commands(now, on_event);
            }
            if let Some(deadline) = stopping
                && (self.lingering.is_empty() || now >= deadline)
            {
                // Peers that never closed: their AdminDown now, the last thing sent.
                for l in std::mem::take(&mut self.lingering) {
                    if let Some(i) = l.then_admin_down {
                        self.bfd_admin_down(i, now, on_event);
                    }
                }
                self.bfd_listeners.clear();
                for i in 0..self.peers.len() {
                    self.peers[i].conn = None;
                    if let Some(b) = &mut self.peers[i].bfd {
                        b.socket = None;
                    }
                    let address = self.peers[i].config.address;
                    on_event(SpeakerEvent { peer: i, address, kind: SpeakerEventKind::Stopped });
                }
                return Ok(());
            }
            self.lingering.retain(|l| l.deadline > now);

            // What to wait for: the wake-up, each connection, each lingering one.
            let mut interests = vec![Interest { fd: self.shared.wake.fd(), read: true, write: false }];
            let mut owners = Vec::new();
            for (i, p) in self.peers.iter().enumerate() {
                if let Some(c) = &p.conn {
                    interests.push(Interest {
                        fd: c.stream.as_fd(),
                        read: !c.connecting,
                        write: c.connecting || c.pending() > 0,
                    });
                    owners.push(Some(i));
                }
            }
            for l in &self.lingering {
                let write = l.conn.pending() > 0;
                interests.push(Interest { fd: l.conn.stream.as_fd(), read: l.then_admin_down.is_some(), write });
                owners.push(None);
            }
            for l in &self.bfd_listeners {
                interests.push(Interest { fd: l.as_fd(), read: true, write: false });
            }
            let deadline = self
                .peers
                .iter()
                .flat_map(|p| {
                    let bfd = p.bfd.as_ref().filter(|b| b.socket.is_some()).and_then(|b| b.session.poll_timeout());
                    p.session.poll_timeout().into_iter().chain(bfd)
                })
                .chain(self.lingering.iter().map(|l| l.deadline))
                .chain(stopping)
                .min();
            let timeout = deadline.map(|d| d.saturating_sub(now));
            let ready = wait_io(&interests, timeout)?;
            drop(interests);

            let now = self.now();
            if ready[0].read {
                self.shared.wake.clear();
            }
            let mut lingering_index = 0;
            let mut finished = Vec::new();
            let listeners_ready: Vec<bool> =
                ready.get(1 + owners.len()..).unwrap_or(&[]).iter().map(|r| r.read || r.error).collect();
            for (owner, r) in owners.into_iter().zip(&ready[1..]) {
                match owner {
                    Some(i) => self.ready(i, *r, now, on_event),
                    None => {
                        let l = &mut self.lingering[lingering_index];
                        let mut done = false;
                        if r.write || r.error {
                            let failed = l.conn.flush().is_err();
                            done = failed || (l.conn.pending() == 0 && l.then_admin_down.is_none());
                        }
                        if l.then_admin_down.is_some() && (r.read || r.error) {
                            done |= peer_closed(&l.conn.stream);
                        }
                        if done {
                            finished.push(lingering_index);
                        }
                        lingering_index += 1;
                    }
                }
            }
            for index in finished.into_iter().rev() {
                let l = self.lingering.swap_remove(index);
                if let Some(i) = l.then_admin_down {
                    self.bfd_admin_down(i, now, on_event);
                }
            }
            for (l, readable) in listeners_ready.into_iter().enumerate() {
                if readable {
                    self.bfd_receive(l, now, on_event);
                }
            }
            for i in 0..self.peers.len() {
                if let Some(b) = &mut self.peers[i].bfd
                    && b.socket.is_some()
                    && b.session.poll_timeout().is_some_and(|t| t <= now)
                {
                    b.session.handle_timeout(now);
                    self.drive_bfd(i, now, on_event);
                }
                if self.peers[i].session.poll_timeout().is_some_and(|t| t <= now) {
                    self.peers[i].session.handle_timeout(now);
                    self.drive(i, now, on_event);
                }
            }
        }
    }

    /// Carries out the commands queued by the handles; the flush deadline when one stops.
    fn apply_commands(&mut self, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) -> Option<Duration> {
        loop {
            let command = self.shared.commands.lock().unwrap_or_else(PoisonError::into_inner).pop_front();
            let command = command?;
            match command {
                Command::Announce(prefix, attributes) => {
                    for i in 0..self.peers.len() {
                        if self.peers[i].session.config().families.contains(&family_of(prefix)) {
                            // Checked by the handle: every peer of the family takes it.
                            let _ = self.peers[i].session.announce_with(now, prefix, attributes.clone());
                            self.drive(i, now, on_event);
                        }
                    }
                }
                Command::Withdraw(prefix) => {
                    for i in 0..self.peers.len() {
                        self.peers[i].session.withdraw(now, prefix);
                        self.drive(i, now, on_event);
                    }
                }
                Command::Stop(message) => {
                    self.stopping = true;
                    for i in 0..self.peers.len() {
                        // Checked by the handle: at most 255 bytes.
                        let _ = self.peers[i].session.stop(now, message.as_deref());
                        self.drive(i, now, on_event);
                        // A connection still being made has nothing to say.
                        self.peers[i].conn = None;
                        // The peer's BFD learns it is on purpose (RFC 5882 §3.2: not a failure),
                        // after the Cease: at once when no connection waits for the peer to read
                        // it, else when the peer closes (`finish_lingering`) or at the deadline.
                        if !self.lingering.iter().any(|l| l.then_admin_down == Some(i)) {
                            self.bfd_admin_down(i, now, on_event);
                        }
                    }
                    return Some(now.saturating_add(STOP_FLUSH));
                }
            }
        }
    }

    /// Peer `i`'s connection is ready for `r`.
    fn ready(&mut self, i: usize, r: bm_sys::poll::Ready, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        let address = self.peers[i].config.address;
        let emit = |on_event: &mut dyn FnMut(SpeakerEvent), kind| on_event(SpeakerEvent { peer: i, address, kind });
        let Some(conn) = &mut self.peers[i].conn else { return };
        if conn.connecting {
            if !(r.write || r.error) {
                return;
            }
            let result = match conn.stream.take_error() {
                Ok(Some(e)) | Err(e) => Err(e),
                Ok(None) => conn.stream.peer_addr().map(|_| ()),
            };
            match result {
                Ok(()) => {
                    conn.connecting = false;
                    let local = conn.stream.local_addr().ok();
                    emit(on_event, SpeakerEventKind::Connected { local });
                    self.peers[i].session.tcp_connected(now);
                }
                Err(e) => {
                    self.peers[i].conn = None;
                    emit(on_event, SpeakerEventKind::ConnectFailed { error: Errno::of(&e) });
                    self.peers[i].session.tcp_failed(now);
                }
            }
            self.drive(i, now, on_event);
            return;
        }
        if r.write
            && let Err(e) = conn.flush()
        {
            self.peers[i].conn = None;
            emit(on_event, SpeakerEventKind::Closed { cause: CloseCause::Error { error: Errno::of(&e) } });
            self.peers[i].session.tcp_closed(now);
            self.drive(i, now, on_event);
            return;
        }
        if !(r.read || r.error) {
            return;
        }
        let mut total = 0;
        while total < READ_PER_WAKE {
            let Some(conn) = &mut self.peers[i].conn else { return };
            let result = (&conn.stream).read(&mut self.buf);
            match result {
                Ok(0) => {
                    self.peers[i].conn = None;
                    emit(on_event, SpeakerEventKind::Closed { cause: CloseCause::PeerClosed });
                    self.peers[i].session.tcp_closed(now);
                }
                Ok(n) => {
                    total += n;
                    self.peers[i].session.handle_bytes(now, &self.buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.peers[i].conn = None;
                    emit(on_event, SpeakerEventKind::Closed { cause: CloseCause::Error { error: Errno::of(&e) } });
                    self.peers[i].session.tcp_closed(now);
                }
            }
            self.drive(i, now, on_event);
        }
    }

    /// Makes the BFD sockets and starts the BFD sessions; a peer whose socket cannot be made
    /// runs without BFD.
    fn open_bfd(&mut self, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        for v6 in [false, true] {
            let wanted = self.peers.iter().any(|p| p.bfd.is_some() && p.config.address.is_ipv6() == v6);
            if !wanted {
                continue;
            }
            let failure = match bfd::listener(v6) {
                Ok(socket) => {
                    self.bfd_listeners.push(socket);
                    None
                }
                Err(f) => Some(f),
            };
            for i in 0..self.peers.len() {
                let p = &mut self.peers[i];
                if p.bfd.is_none() || p.config.address.is_ipv6() != v6 {
                    continue;
                }
                let opened = match &failure {
                    Some((option, e)) => Err((*option, Errno::of(e))),
                    None => bfd::sender(&p.config, self.bfd_port_start.wrapping_add(i as u16 * 37))
                        .map_err(|(option, e)| (option, Errno::of(&e))),
                };
                match opened {
                    Ok(socket) => {
                        if let Some(b) = &mut p.bfd {
                            b.socket = Some(socket);
                            b.session.start(now);
                        }
                        self.drive_bfd(i, now, on_event);
                    }
                    Err((option, error)) => {
                        p.bfd = None;
                        let address = p.config.address;
                        on_event(SpeakerEvent {
                            peer: i,
                            address,
                            kind: SpeakerEventKind::BfdUnavailable { option, error },
                        });
                    }
                }
            }
        }
    }

    /// Reads what BFD listener `l` has: each datagram goes to the peer it comes from.
    fn bfd_receive(&mut self, l: usize, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        // A bounded number of batches per wake-up: a flood of datagrams to port 3784 must not
        // hold the loop off BGP's keepalives and timers (the rest wait for the next wake-up).
        for _ in 0..MAX_BFD_BATCHES {
            let Some(listener) = self.bfd_listeners.get(l) else { return };
            let n = match self.bfd_receiver.recv(listener.as_fd(), false) {
                Ok(n) => n,
                Err(_) => return,
            };
            let datagrams: Vec<(SocketAddr, u8, Vec<u8>)> = (0..n)
                .filter_map(|k| self.bfd_receiver.get(k))
                .map(|d| (d.source, d.ttl.unwrap_or(0), d.bytes.to_vec()))
                .collect();
            for (source, ttl, bytes) in datagrams {
                let Some(i) = self.peers.iter().position(|p| p.bfd.is_some() && p.config.address == source.ip()) else {
                    continue;
                };
                let address = self.peers[i].config.address;
                let Some(b) = &mut self.peers[i].bfd else { continue };
                // Any source port: RFC 5881 §4's range binds senders, and BIRD 2.0 sends from an
                // ephemeral one; the TTL of 255 is the single-hop check (§5).
                if let Err(reason) = b.session.handle_packet(now, &bytes, ttl) {
                    on_event(SpeakerEvent { peer: i, address, kind: SpeakerEventKind::BfdDropped { reason } });
                }
                self.drive_bfd(i, now, on_event);
            }
            if n < bm_sys::udp::BATCH {
                return;
            }
        }
    }

    /// Peer `i`'s BFD session (if any) goes AdminDown and says so.
    fn bfd_admin_down(&mut self, i: usize, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        if let Some(b) = &mut self.peers[i].bfd {
            b.session.admin_down(now);
            self.drive_bfd(i, now, on_event);
        }
    }

    /// Carries out peer `i`'s BFD session's actions; its going down takes BGP down.
    fn drive_bfd(&mut self, i: usize, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        let address = self.peers[i].config.address;
        let destination = bfd::destination(&self.peers[i].config);
        let Some(b) = &mut self.peers[i].bfd else { return };
        let mut failed = None;
        while let Some(action) = b.session.poll_action() {
            match action {
                BfdAction::Send { bytes } => {
                    if let Some(socket) = &b.socket {
                        // A lost packet is what BFD is made to notice (a link down gives
                        // ENETUNREACH here): the peer's detection time covers it.
                        let _ = socket.send_to(&bytes, destination);
                    }
                }
                BfdAction::Event { event } => {
                    if let BfdEvent::StateChanged { from: BfdState::Up, to: BfdState::Down, diag, remote } = &event
                        && *remote != BfdState::AdminDown
                    {
                        failed = Some(*diag);
                    }
                    on_event(SpeakerEvent { peer: i, address, kind: SpeakerEventKind::Bfd { event } });
                }
            }
        }
        if let Some(diag) = failed {
            self.peers[i].session.bfd_down(now, diag);
            self.drive(i, now, on_event);
        }
    }

    /// Carries out peer `i`'s session's actions.
    fn drive(&mut self, i: usize, now: Duration, on_event: &mut dyn FnMut(SpeakerEvent)) {
        let address = self.peers[i].config.address;
        let emit = |on_event: &mut dyn FnMut(SpeakerEvent), kind| on_event(SpeakerEvent { peer: i, address, kind });
        while let Some(action) = self.peers[i].session.poll_action() {
            match action {
                Action::Connect => {
                    self.peers[i].conn = None;
                    emit(on_event, SpeakerEventKind::Connecting);
                    match open(&self.peers[i].config) {
                        Ok(stream) => {
                            self.peers[i].conn = Some(Conn { stream, connecting: true, out: Vec::new(), sent: 0 })
                        }
                        Err(OpenError::Option(option, e)) => {
                            emit(on_event, SpeakerEventKind::SocketOption { option, error: Errno::of(&e) });
                            self.peers[i].session.tcp_failed(now);
                        }
                        Err(OpenError::Connect(e)) => {
                            emit(on_event, SpeakerEventKind::ConnectFailed { error: Errno::of(&e) });
                            self.peers[i].session.tcp_failed(now);
                        }
                    }
                }
                Action::Send { bytes } => {
                    let limit = self.peers[i].config.write_buffer_limit;
                    let Some(conn) = self.peers[i].conn.as_mut().filter(|c| !c.connecting) else { continue };
                    conn.out.extend_from_slice(&bytes);
                    let flushed = conn.flush();
                    let pending = conn.pending();
                    let cause = match flushed {
                        Err(e) => Some(CloseCause::Error { error: Errno::of(&e) }),
                        Ok(()) if pending > limit => Some(CloseCause::WriteBufferFull { pending }),
                        Ok(()) => None,
                    };
                    if let Some(cause) = cause {
                        if let Some(conn) = self.peers[i].conn.take() {
                            // Reset, not closed: nothing more of this connection is sent.
                            let _ = SockRef::from(&conn.stream).set_linger(Some(Duration::ZERO));
                        }
                        emit(on_event, SpeakerEventKind::Closed { cause });
                        self.peers[i].session.tcp_closed(now);
                    }
                }
                Action::Close => {
                    if let Some(conn) = self.peers[i].conn.take() {
                        emit(on_event, SpeakerEventKind::Closed { cause: CloseCause::Session });
                        // Stopping with BFD: kept until the peer closes, to order AdminDown.
                        let await_close = self.stopping && self.peers[i].bfd.is_some();
                        if !conn.connecting && (conn.pending() > 0 || await_close) {
                            let then_admin_down = await_close.then_some(i);
                            let deadline = now.saturating_add(STOP_FLUSH);
                            self.lingering.push(Lingering { conn, deadline, then_admin_down });
                        }
                    }
                }
                Action::Event { event } => emit(on_event, SpeakerEventKind::Session { event }),
            }
        }
    }
}

/// Whether the peer has closed its side of `stream` (or it failed): reads and drops what it
/// still sends.
fn peer_closed(stream: &TcpStream) -> bool {
    let mut scratch = [0u8; 4096];
    loop {
        match (&*stream).read(&mut scratch) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

fn family_of(prefix: IpNet) -> Family {
    match prefix {
        IpNet::V4(_) => Family::IPV4_UNICAST,
        IpNet::V6(_) => Family::IPV6_UNICAST,
    }
}

/// A non-blocking connection attempt to the peer, with its options set.
fn open(config: &PeerConfig) -> Result<TcpStream, OpenError> {
    let peer = config.socket_address();
    let v6 = peer.is_ipv6();
    let opt = |option| move |e| OpenError::Option(option, e);
    let socket =
        Socket::new(Domain::for_address(peer), Type::STREAM, Some(Protocol::TCP)).map_err(opt(SocketOption::Socket))?;
    socket.set_nonblocking(true).map_err(opt(SocketOption::Socket))?;
    if let Some(password) = &config.md5_password {
        bm_sys::tcp::set_md5_key(socket.as_fd(), config.address, password.as_bytes())
            .map_err(opt(SocketOption::Md5))?;
    }
    let ttl = u32::from(config.effective_ttl());
    if v6 { socket.set_unicast_hops_v6(ttl) } else { socket.set_ttl_v4(ttl) }.map_err(opt(SocketOption::Ttl))?;
    if let Some(min) = config.min_ttl() {
        bm_sys::tcp::set_min_ttl(socket.as_fd(), v6, min).map_err(opt(SocketOption::MinTtl))?;
    }
    socket.set_tcp_nodelay(true).map_err(opt(SocketOption::NoDelay))?;
    if let Some(local) = config.local_address {
        socket.bind(&SocketAddr::new(local, 0).into()).map_err(opt(SocketOption::Bind))?;
    }
    match socket.connect(&peer.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(bm_sys::tcp::CONNECT_IN_PROGRESS) => {}
        Err(e) => return Err(OpenError::Connect(e)),
    }
    Ok(socket.into())
}
