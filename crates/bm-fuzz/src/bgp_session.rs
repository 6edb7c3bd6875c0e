//! Fuzzes the BGP session state machine (`bm_bgp::Session`), structure-aware (`arbitrary`):
//! the input is a configuration (eBGP or iBGP, active or passive, the families, hold time,
//! route refresh, graceful restart, communities), the peer's OPEN, the routes announced first,
//! and up to 64 operations. A scripted peer takes the session to Established first (asserted);
//! then each operation is one input: well-formed peer messages (KEEPALIVE, UPDATEs with v4
//! NLRI, MP_REACH/MP_UNREACH v6, every attribute the crate reads and an unknown one,
//! End-of-RIB, ROUTE-REFRESH, NOTIFICATION, OPEN) delivered in pieces cut anywhere, the same
//! with bytes overwritten, raw bytes, the clock moved on (to an arbitrary time or the next
//! deadline) with `handle_timeout`, `announce_with`, `withdraw`, `start`, `stop` (with a
//! shutdown message, sometimes too long), the TCP events, `bfd_down`, and the scripted
//! handshake again, whole or up to OpenConfirm.
//!
//! A model of the backend follows the actions (a Connect, the connection up once the harness
//! says so, a Close) and checks after every operation:
//!
//! - no panic; `stats().encode_errors` stays 0 and `messages_sent` counts the Sends;
//! - every Send is one message that decodes without repairs and re-encodes to the same bytes;
//!   the first on each connection is an OPEN and only the first; UPDATEs only in Established;
//!   nothing after a NOTIFICATION on the same connection; no Send without a connection (so after
//!   Idle, none until a new connection, which needs Connect or Active); a passive session never
//!   asks to connect, and the state Connect is always entered with a Connect action;
//! - UPDATEs announce only routes the session holds, with NEXT_HOP (or MP_REACH's next hop) from
//!   the configuration, AS_PATH our AS on eBGP and empty with LOCAL_PREF on iBGP, and withdraw
//!   only routes it no longer holds;
//! - the StateChanged events chain (each `from` is the previous `to`) and end at `state()`; a
//!   connection is up exactly in OpenSent, OpenConfirm and Established; Established has what was
//!   negotiated and a hold timer exactly when the hold time is not 0; Connect has a ConnectRetry
//!   timer; Idle after `stop` has no timer, and Idle otherwise has the automatic restart;
//! - `poll_timeout` is never at or before `now` once `handle_timeout(now)` has run (the clock
//!   only moves through `handle_timeout`);
//! - `stop` sends a Cease carrying its shutdown message, and refuses one over 255 bytes.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bm_addr::ipnet::{IpNet, Ipv4Net, Ipv6Net};
use bm_bgp::bfd::Diag;
use bm_bgp::message::{
    AsPath, AsSegment, AsSegmentType, Capability, CeaseSubcode, Community, ErrorCode, GracefulRestart,
    GracefulRestartFamily, LargeCommunity, Message, MpReach, MpUnreach, NextHop, Notification, Open, Origin,
    PathAttribute, Prefixes, RawAttribute, RouteRefresh, Update, attribute_flags, decode_with_repairs, encode,
};
use bm_bgp::{Action, Config, Event, Family, RouteAttributes, Session, State, Timer};

/// A configuration and what the peer says in its OPEN.
#[derive(Arbitrary, Debug)]
pub struct Input {
    ibgp: bool,
    passive: bool,
    /// 0 → 0 (no hold timer), else at least 3 s.
    hold: u8,
    /// 1: IPv4, 2: IPv6, else both.
    families: u8,
    route_refresh: bool,
    graceful_restart: Option<u16>,
    link_local: bool,
    communities: Vec<(u16, u16)>,
    large_communities: Vec<(u32, u32, u32)>,
    peer: PeerOpen,
    routes: Vec<Route>,
    ops: Vec<Op>,
}

/// The peer's OPEN.
#[derive(Arbitrary, Debug, Clone)]
pub struct PeerOpen {
    hold: u16,
    /// Bit 0: IPv4, bit 1: IPv6, bit 2: no multiprotocol capability at all (IPv4 only).
    families: u8,
    route_refresh: bool,
    enhanced_route_refresh: bool,
    graceful_restart: Option<(bool, u16)>,
    unknown: Option<(u8, Vec<u8>)>,
}

/// A route to announce or withdraw: mostly from a small pool, so that withdrawals hit.
#[derive(Arbitrary, Debug, Clone)]
pub struct Route {
    v6: bool,
    host: u8,
    /// Prefix length (modulo the family's bits + 1); 0 → a host route.
    len: u8,
    med: Option<u32>,
    communities: Vec<u16>,
    large: Option<(u32, u32, u32)>,
}

/// One operation after Established.
#[derive(Arbitrary, Debug)]
pub enum Op {
    /// The clock moves on, then `handle_timeout`.
    Advance {
        secs: u8,
        millis: u16,
    },
    /// The clock jumps to the next deadline, then `handle_timeout`.
    NextDeadline,
    /// Well-formed messages from the peer, delivered in pieces.
    Deliver {
        messages: Vec<PeerMessage>,
        cuts: Vec<u16>,
    },
    /// One message from the peer with bytes overwritten.
    Mutated {
        message: PeerMessage,
        writes: Vec<(u16, u8)>,
    },
    /// Raw bytes from the peer.
    Raw(Vec<u8>),
    Announce(Route),
    /// Withdraw the `index`-th route held, or `route` when none is.
    Withdraw {
        index: u8,
        route: Route,
    },
    /// The scripted peer connects (starting the session if Idle) and sends OPEN and KEEPALIVE.
    Handshake,
    /// The same without the KEEPALIVE: the session waits in OpenConfirm.
    OpenOnly,
    Start,
    Stop(Option<String>),
    TcpConnected,
    TcpFailed,
    TcpClosed,
    BfdDown(u8),
}

/// A message the peer sends.
#[derive(Arbitrary, Debug)]
pub enum PeerMessage {
    Keepalive,
    Update(Box<PeerUpdate>),
    EndOfRib { v6: bool },
    RouteRefresh { v6: bool, other: Option<(u16, u8)>, subtype: u8 },
    Notification { code: u8, subcode: u8, data: Vec<u8> },
    Shutdown(String),
    Open,
}

/// An IPv6 MP_REACH_NLRI: the global and link-local next hops, the prefixes.
#[derive(Arbitrary, Debug)]
pub struct MpReachIn {
    global: u128,
    link_local: Option<u128>,
    nlri: Vec<(u128, u8)>,
}

/// An UPDATE, built from parts.
#[derive(Arbitrary, Debug)]
pub struct PeerUpdate {
    withdrawn: Vec<(u32, u8)>,
    nlri: Vec<(u32, u8)>,
    mp_reach: Option<MpReachIn>,
    mp_unreach: Option<Vec<(u128, u8)>>,
    origin: Option<u8>,
    as_path: Option<Vec<(u8, Vec<u32>)>>,
    next_hop: Option<u32>,
    med: Option<u32>,
    local_pref: Option<u32>,
    communities: Vec<u32>,
    large: Vec<(u32, u32, u32)>,
    unknown: Option<(u8, u8, Vec<u8>)>,
}

const LOCAL_ASN: u32 = 64512;
const PEER_ASN: u32 = 4_200_000_001;

fn take<T: Clone>(v: &[T], n: usize) -> Vec<T> {
    v.iter().take(n).cloned().collect()
}

fn v4(addr: u32, len: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::from(addr), len % 33).expect("a length up to 32").trunc()
}

fn v6(addr: u128, len: u8) -> Ipv6Net {
    Ipv6Net::new(Ipv6Addr::from(addr), len % 129).expect("a length up to 128").trunc()
}

impl Route {
    fn prefix(&self) -> IpNet {
        let host = self.host % 16;
        if self.v6 {
            let len = if self.len == 0 { 128 } else { self.len % 129 };
            IpNet::V6(v6(0x2001_0db8_0000_0000_0000_0000_0000_0010 + u128::from(host), len))
        } else {
            let len = if self.len == 0 { 32 } else { self.len % 33 };
            IpNet::V4(v4(u32::from(Ipv4Addr::new(192, 0, 2, 16 + host)), len))
        }
    }

    fn attributes(&self) -> RouteAttributes {
        RouteAttributes {
            med: self.med,
            communities: self.communities.iter().take(8).map(|&c| Community::new(65000, c)).collect(),
            large_communities: self
                .large
                .iter()
                .map(|&(global, local1, local2)| LargeCommunity { global, local1, local2 })
                .collect(),
        }
    }
}

impl PeerUpdate {
    fn update(&self) -> Update {
        let mut attributes = Vec::new();
        if let Some(mp) = &self.mp_reach {
            attributes.push(PathAttribute::MpReach(MpReach {
                next_hop: NextHop::Ipv6 {
                    global: Ipv6Addr::from(mp.global),
                    link_local: mp.link_local.map(Ipv6Addr::from),
                },
                nlri: Prefixes::Ipv6(mp.nlri.iter().take(8).map(|&(a, l)| v6(a, l)).collect()),
            }));
        }
        if let Some(o) = self.origin {
            attributes.push(PathAttribute::Origin([Origin::Igp, Origin::Egp, Origin::Incomplete][usize::from(o % 3)]));
        }
        if let Some(segments) = &self.as_path {
            let kinds =
                [AsSegmentType::Sequence, AsSegmentType::Set, AsSegmentType::ConfedSequence, AsSegmentType::ConfedSet];
            let segments = segments
                .iter()
                .take(4)
                .filter(|(_, asns)| !asns.is_empty())
                .map(|(k, asns)| AsSegment { kind: kinds[usize::from(k % 4)], asns: take(asns, 8) })
                .collect();
            attributes.push(PathAttribute::AsPath(AsPath { segments }));
        }
        if let Some(nh) = self.next_hop {
            attributes.push(PathAttribute::NextHop(Ipv4Addr::from(nh)));
        }
        if let Some(med) = self.med {
            attributes.push(PathAttribute::MultiExitDisc(med));
        }
        if let Some(lp) = self.local_pref {
            attributes.push(PathAttribute::LocalPref(lp));
        }
        if !self.communities.is_empty() {
            attributes
                .push(PathAttribute::Communities(self.communities.iter().take(8).map(|&c| Community(c)).collect()));
        }
        if !self.large.is_empty() {
            attributes.push(PathAttribute::LargeCommunities(
                self.large
                    .iter()
                    .take(4)
                    .map(|&(global, local1, local2)| LargeCommunity { global, local1, local2 })
                    .collect(),
            ));
        }
        if let Some(withdrawn) = &self.mp_unreach {
            attributes.push(PathAttribute::MpUnreach(MpUnreach {
                withdrawn: Prefixes::Ipv6(withdrawn.iter().take(8).map(|&(a, l)| v6(a, l)).collect()),
            }));
        }
        if let Some((flags, type_code, value)) = &self.unknown {
            // Optional (an unknown well-known attribute resets the session: reached by Mutated).
            attributes.push(PathAttribute::Other(RawAttribute {
                flags: (flags | attribute_flags::OPTIONAL) & !attribute_flags::EXTENDED_LENGTH,
                type_code: type_code.saturating_add(40),
                value: take(value, 32),
            }));
        }
        Update {
            withdrawn: self.withdrawn.iter().take(8).map(|&(a, l)| v4(a, l)).collect(),
            attributes,
            nlri: self.nlri.iter().take(8).map(|&(a, l)| v4(a, l)).collect(),
        }
    }
}

impl PeerMessage {
    fn message(&self, open: &Open) -> Message {
        match self {
            PeerMessage::Keepalive => Message::Keepalive,
            PeerMessage::Update(u) => Message::Update(u.update()),
            PeerMessage::EndOfRib { v6 } => {
                Message::Update(Update::end_of_rib(if *v6 { Family::IPV6_UNICAST } else { Family::IPV4_UNICAST }))
            }
            PeerMessage::RouteRefresh { v6, other, subtype } => {
                let family = match other {
                    Some((afi, safi)) => Family { afi: *afi, safi: *safi },
                    None if *v6 => Family::IPV6_UNICAST,
                    None => Family::IPV4_UNICAST,
                };
                Message::RouteRefresh(RouteRefresh { family, subtype: subtype % 4 })
            }
            PeerMessage::Notification { code, subcode, data } => {
                Message::Notification(Notification::new(ErrorCode::from_codes(*code, *subcode), take(data, 64)))
            }
            PeerMessage::Shutdown(text) => {
                let text: String = text.chars().take(64).collect();
                Message::Notification(Notification::shutdown(&text).expect("at most 64 characters"))
            }
            PeerMessage::Open => Message::Open(open.clone()),
        }
    }

    fn bytes(&self, open: &Open) -> Vec<u8> {
        let mut out = Vec::new();
        // Everything built here fits 4096 bytes; an encode error would leave `out` empty.
        let _ = encode(&self.message(open), &mut out);
        out
    }
}

fn config(input: &Input) -> Config {
    let peer_asn = if input.ibgp { LOCAL_ASN } else { PEER_ASN };
    let mut c = Config::new(LOCAL_ASN, peer_asn, Ipv4Addr::new(10, 0, 0, 2));
    c.hold_time = match input.hold {
        0 => 0,
        h => u16::from(h).max(3),
    };
    c.families = match input.families % 4 {
        1 => vec![Family::IPV4_UNICAST],
        2 => vec![Family::IPV6_UNICAST],
        _ => vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
    };
    c.next_hop_v4 = Some(Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v6 = Some("2001:db8::2".parse().expect("an address"));
    c.link_local_v6 = input.link_local.then(|| "fe80::2".parse().expect("an address"));
    c.route_refresh = input.route_refresh;
    c.passive = input.passive;
    c.graceful_restart = input.graceful_restart.map(|t| t % 4096);
    c.communities = input.communities.iter().take(8).map(|&(a, v)| Community::new(a, v)).collect();
    c.large_communities = input
        .large_communities
        .iter()
        .take(4)
        .map(|&(global, local1, local2)| LargeCommunity { global, local1, local2 })
        .collect();
    c
}

fn peer_open(config: &Config, p: &PeerOpen) -> Open {
    let mut families: Vec<Family> = Vec::new();
    if p.families & 4 == 0 {
        if p.families & 1 != 0 {
            families.push(Family::IPV4_UNICAST);
        }
        if p.families & 2 != 0 {
            families.push(Family::IPV6_UNICAST);
        }
        // At least one family in common, or the session refuses the OPEN.
        if !families.iter().any(|f| config.families.contains(f)) {
            families.push(config.families[0]);
        }
    } else if !config.families.contains(&Family::IPV4_UNICAST) {
        families.push(config.families[0]);
    }
    let mut caps: Vec<Capability> = families.iter().map(|&family| Capability::Multiprotocol { family }).collect();
    if p.route_refresh {
        caps.push(Capability::RouteRefresh);
    }
    if p.enhanced_route_refresh {
        caps.push(Capability::EnhancedRouteRefresh);
    }
    if let Some((restarting, time)) = p.graceful_restart {
        caps.push(Capability::GracefulRestart(GracefulRestart {
            restarting,
            notification: false,
            restart_time: time % 4096,
            families: families
                .iter()
                .map(|&family| GracefulRestartFamily { family, forwarding_preserved: true })
                .collect(),
        }));
    }
    if let Some((code, value)) = &p.unknown
        && ![1, 2, 64, 65, 70].contains(code)
    {
        caps.push(Capability::Unknown { code: *code, value: take(value, 16) });
    }
    let hold = match p.hold {
        1 | 2 => 3,
        h => h,
    };
    Open::new(config.peer_asn, hold, Ipv4Addr::new(10, 0, 0, 1), caps)
}

/// The session, and the backend's view of it.
struct Harness {
    s: Session,
    config: Config,
    open: Open,
    now: Duration,
    /// A TCP connection is up.
    conn: bool,
    /// Sends on the current connection.
    sends_on_conn: usize,
    /// A NOTIFICATION was sent on the current connection.
    notified: bool,
    /// The state as the StateChanged events tell it.
    state: State,
    /// `stop` was called last (rather than `start`).
    stopped: bool,
    /// Sends seen.
    sent: u64,
    /// An Action::Connect since the session was last Idle.
    connect_asked: bool,
    last_notification_sent: Option<Notification>,
}

impl Harness {
    fn drain(&mut self) {
        let mut updates = Vec::new();
        while let Some(action) = self.s.poll_action() {
            match action {
                Action::Connect => {
                    assert!(!self.config.passive, "a passive session asked to connect");
                    self.connect_asked = true;
                }
                Action::Close => {
                    self.conn = false;
                }
                Action::Send { bytes } => {
                    assert!(self.conn, "a Send without a connection (state {:?})", self.state);
                    assert!(!self.notified, "a Send after a NOTIFICATION on the same connection");
                    self.sent += 1;
                    let d =
                        decode_with_repairs(&bytes).unwrap_or_else(|e| panic!("a sent message does not decode: {e:?}"));
                    assert!(d.repairs.is_empty(), "a sent message needs repairs: {:?}", d.repairs);
                    let mut again = Vec::new();
                    encode(&d.message, &mut again).expect("re-encodes");
                    assert_eq!(again, bytes, "a sent message is not canonical");
                    let first = self.sends_on_conn == 0;
                    self.sends_on_conn += 1;
                    assert_eq!(matches!(d.message, Message::Open(_)), first, "an OPEN is the first message, once");
                    match d.message {
                        Message::Update(u) => {
                            assert_eq!(self.state, State::Established, "an UPDATE outside Established");
                            updates.push(u);
                        }
                        Message::Notification(n) => {
                            self.notified = true;
                            self.last_notification_sent = Some(n);
                        }
                        Message::Keepalive => {
                            assert!(matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established));
                        }
                        Message::Open(open) => {
                            assert_eq!(open.asn(), LOCAL_ASN);
                            assert_eq!(open.hold_time, self.config.hold_time);
                        }
                        Message::RouteRefresh(_) => panic!("the session never asks for a refresh"),
                    }
                }
                Action::Event { event: Event::StateChanged { from, to, .. } } => {
                    assert_eq!(from, self.state, "StateChanged events do not chain");
                    assert_ne!(from, to);
                    if to == State::Connect {
                        assert!(self.connect_asked, "Connect entered without a Connect action");
                    }
                    if to == State::Idle {
                        self.connect_asked = false;
                    }
                    self.state = to;
                }
                Action::Event { .. } => {}
            }
        }
        self.check(&updates);
    }

    fn check(&self, updates: &[Update]) {
        let s = &self.s;
        assert_eq!(self.state, s.state(), "the events do not end at state()");
        assert_eq!(s.stats().encode_errors, 0, "a message could not be encoded");
        assert_eq!(s.stats().messages_sent, self.sent, "messages_sent does not count the Sends");
        let connected_state = matches!(s.state(), State::OpenSent | State::OpenConfirm | State::Established);
        assert_eq!(self.conn, connected_state, "connection {} in {:?}", self.conn, s.state());
        if let Some(t) = s.poll_timeout() {
            assert!(t > self.now, "poll_timeout {t:?} is not after now {:?}", self.now);
        }
        let running = |timer| s.timers().any(|(t, _)| t == timer);
        match s.state() {
            State::Idle if self.stopped => assert_eq!(s.poll_timeout(), None, "stopped, yet timers run"),
            State::Idle => assert!(running(Timer::IdleHold), "Idle after a failure without the automatic restart"),
            State::Connect => assert!(running(Timer::ConnectRetry)),
            State::Active => assert_eq!(running(Timer::ConnectRetry), !self.config.passive),
            State::OpenSent => assert!(running(Timer::Hold)),
            State::OpenConfirm | State::Established => {
                let n = s.negotiated().expect("negotiated in OpenConfirm and Established");
                assert_eq!(running(Timer::Hold), n.hold_time > 0);
                assert_eq!(running(Timer::Keepalive), n.hold_time > 0);
                assert!(n.hold_time <= self.config.hold_time);
            }
        }
        if matches!(s.state(), State::Idle | State::Connect | State::Active) {
            assert!(s.negotiated().is_none());
        }
        let routes: Vec<IpNet> = s.routes().copied().collect();
        for u in updates {
            let announced = u.announced();
            for p in &announced {
                assert!(routes.contains(p), "announced {p}, which the session does not hold");
            }
            for p in u.withdrawn_routes() {
                assert!(!routes.contains(&p), "withdrew {p}, which the session holds");
            }
            if announced.is_empty() {
                continue;
            }
            let ibgp = self.config.is_ibgp();
            let as_path = u.attributes.iter().find_map(|a| match a {
                PathAttribute::AsPath(p) => Some(p.clone()),
                _ => None,
            });
            let want = AsPath::sequence(if ibgp { vec![] } else { vec![LOCAL_ASN] });
            assert_eq!(as_path, Some(want), "AS_PATH");
            let local_pref = u.attributes.iter().any(|a| matches!(a, PathAttribute::LocalPref(_)));
            assert_eq!(local_pref, ibgp, "LOCAL_PREF exactly on iBGP");
            if !u.nlri.is_empty() {
                assert!(u.attributes.contains(&PathAttribute::NextHop(self.config.next_hop_v4.expect("set"))));
            }
            if let Some(mp) = u.mp_reach() {
                let want = NextHop::Ipv6 {
                    global: self.config.next_hop_v6.expect("set"),
                    link_local: self.config.link_local_v6,
                };
                assert_eq!(mp.next_hop, want, "MP_REACH next hop");
            }
            for p in &announced {
                let family = if p.addr().is_ipv4() { Family::IPV4_UNICAST } else { Family::IPV6_UNICAST };
                assert!(self.config.families.contains(&family), "announced {p} of a family not configured");
            }
        }
    }

    fn tcp_connected(&mut self) {
        if matches!(self.s.state(), State::Connect | State::Active) {
            self.conn = true;
            self.sends_on_conn = 0;
            self.notified = false;
        }
        self.s.tcp_connected(self.now);
        self.drain();
    }

    fn tcp_down(&mut self, failed: bool) {
        self.conn = false;
        if failed {
            self.s.tcp_failed(self.now);
        } else {
            self.s.tcp_closed(self.now);
        }
        self.drain();
    }

    /// Delivers `bytes` in pieces cut at `cuts`, while the connection is up.
    fn deliver(&mut self, bytes: &[u8], cuts: &[u16]) {
        let mut cuts: Vec<usize> = cuts.iter().take(4).map(|&c| usize::from(c) % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut at = 0;
        for cut in cuts {
            if !self.conn {
                return;
            }
            self.s.handle_bytes(self.now, &bytes[at..cut]);
            at = cut;
            self.drain();
        }
    }

    fn advance(&mut self, to: Duration) {
        self.now = self.now.max(to);
        self.s.handle_timeout(self.now);
        self.drain();
    }

    /// The peer connects (the session started if Idle) and sends OPEN then, with `keepalive`,
    /// KEEPALIVE; whether it had to (the session was not connected).
    fn handshake(&mut self, keepalive: bool) -> bool {
        if self.s.state() == State::Idle {
            self.stopped = false;
            self.s.start(self.now);
            self.drain();
        }
        if !matches!(self.s.state(), State::Connect | State::Active) {
            return false;
        }
        self.tcp_connected();
        let open = PeerMessage::Open.bytes(&self.open);
        self.deliver(&open, &[]);
        if keepalive {
            self.deliver(&PeerMessage::Keepalive.bytes(&self.open), &[]);
        }
        true
    }

    fn run(&mut self, op: &Op) {
        match op {
            Op::Advance { secs, millis } => {
                let d = Duration::from_secs(u64::from(*secs)) + Duration::from_millis(u64::from(millis % 1000));
                self.advance(self.now + d);
            }
            Op::NextDeadline => {
                if let Some(t) = self.s.poll_timeout() {
                    self.advance(t);
                }
            }
            Op::Deliver { messages, cuts } => {
                let mut bytes = Vec::new();
                for m in messages.iter().take(4) {
                    bytes.extend(m.bytes(&self.open));
                }
                self.deliver(&bytes, cuts);
            }
            Op::Mutated { message, writes } => {
                let mut bytes = message.bytes(&self.open);
                if bytes.is_empty() {
                    return;
                }
                let len = bytes.len();
                for &(at, v) in writes.iter().take(4) {
                    bytes[usize::from(at) % len] = v;
                }
                self.deliver(&bytes, &[]);
            }
            Op::Raw(bytes) => self.deliver(&bytes[..bytes.len().min(512)], &[]),
            Op::Announce(route) => {
                let prefix = route.prefix();
                let attributes = route.attributes();
                let family = if prefix.addr().is_ipv4() { Family::IPV4_UNICAST } else { Family::IPV6_UNICAST };
                match self.s.announce_with(self.now, prefix, attributes.clone()) {
                    Ok(_) => {
                        assert!(self.config.families.contains(&family));
                        assert_eq!(self.s.route(&prefix), Some(&attributes));
                    }
                    Err(e) => assert!(!self.config.families.contains(&family), "announce {prefix}: {e}"),
                }
                self.drain();
            }
            Op::Withdraw { index, route } => {
                let held: Vec<IpNet> = self.s.routes().copied().collect();
                let prefix = if held.is_empty() { route.prefix() } else { held[usize::from(*index) % held.len()] };
                let was = held.contains(&prefix);
                assert_eq!(self.s.withdraw(self.now, prefix), was);
                assert!(self.s.route(&prefix).is_none());
                self.drain();
            }
            Op::Handshake => {
                if self.handshake(true) {
                    assert_eq!(self.s.state(), State::Established, "the scripted handshake failed");
                }
            }
            Op::OpenOnly => {
                if self.handshake(false) {
                    assert_eq!(self.s.state(), State::OpenConfirm, "the peer's OPEN was refused");
                }
            }
            Op::Start => {
                self.stopped = false;
                self.s.start(self.now);
                self.drain();
            }
            Op::Stop(message) => {
                let was_connected = self.conn;
                self.last_notification_sent = None;
                match self.s.stop(self.now, message.as_deref()) {
                    Ok(()) => {
                        self.stopped = true;
                        self.drain();
                        assert_eq!(self.s.state(), State::Idle);
                        assert!(!self.conn);
                        if was_connected {
                            let n = self.last_notification_sent.take().expect("a Cease on stop");
                            assert_eq!(n.code, ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown));
                            let text = message.as_deref().filter(|m| !m.is_empty());
                            assert_eq!(n.shutdown_message(), text);
                        }
                    }
                    Err(_) => {
                        assert!(message.as_ref().is_some_and(|m| m.len() > 255));
                        assert_eq!(self.s.poll_action(), None, "a refused stop did something");
                    }
                }
            }
            Op::TcpConnected => self.tcp_connected(),
            Op::TcpFailed => self.tcp_down(true),
            Op::TcpClosed => self.tcp_down(false),
            Op::BfdDown(diag) => {
                self.s.bfd_down(self.now, Diag::from_code(*diag));
                self.drain();
            }
        }
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let config = config(&input);
    let s = Session::new(config.clone()).expect("a valid configuration");
    let open = peer_open(&config, &input.peer);
    let mut h = Harness {
        s,
        config,
        open,
        now: Duration::from_secs(1),
        conn: false,
        sends_on_conn: 0,
        notified: false,
        state: State::Idle,
        stopped: true,
        sent: 0,
        connect_asked: false,
        last_notification_sent: None,
    };
    for route in input.routes.iter().take(8) {
        h.run(&Op::Announce(route.clone()));
    }
    assert!(h.handshake(true), "a new session connects");
    assert_eq!(h.s.state(), State::Established, "the scripted peer did not reach Established");
    for op in input.ops.iter().take(64) {
        h.run(op);
    }
}
