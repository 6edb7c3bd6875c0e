//! Sessions driven against each other in memory with a virtual clock (quinn-proto's `Pair`):
//! the bytes one sends are fed to the other, a Connect is the one TCP connection between them,
//! and the clock jumps to the earliest deadline when nothing is in flight.

mod strategies;

use std::net::Ipv4Addr;
use std::time::Duration;

use bm_bgp::message::{
    AS_TRANS, AsPath, CeaseSubcode, Community, ErrorCode, FsmSubcode, LargeCommunity, Message, NextHop, Notification,
    Open, OpenSubcode, PathAttribute, Prefixes, RouteRefresh, Update, attribute_type, decode, encode,
};
use bm_bgp::{Action, Config, Event, Family, Reason, Session, SessionError, State, Timer};
use ipnet::IpNet;

const SECOND: Duration = Duration::from_secs(1);

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// A node (AS 64512, announcing) and its top-of-rack router (AS 64513).
fn node_config() -> Config {
    let mut c = Config::new(64512, 64513, Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v4 = Some("10.0.0.2".parse().unwrap());
    c.next_hop_v6 = Some("2001:db8::2".parse().unwrap());
    c.link_local_v6 = Some("fe80::2".parse().unwrap());
    c
}

fn router_config() -> Config {
    Config::new(64513, 64512, Ipv4Addr::new(10, 0, 0, 1))
}

/// One side of the pair.
struct Side {
    session: Session,
    /// Every message this side received, decoded.
    received: Vec<Message>,
    events: Vec<Event>,
    /// Whether what this side sends arrives.
    delivers: bool,
}

struct Pair {
    sides: [Side; 2],
    now: Duration,
    /// Whether a connection attempt succeeds.
    reachable: bool,
    connected: bool,
}

impl Pair {
    fn new(a: Config, b: Config) -> Pair {
        let side =
            |c| Side { session: Session::new(c).unwrap(), received: Vec::new(), events: Vec::new(), delivers: true };
        Pair { sides: [side(a), side(b)], now: Duration::ZERO, reachable: true, connected: false }
    }

    fn a(&mut self) -> &mut Session {
        &mut self.sides[0].session
    }

    fn b(&mut self) -> &mut Session {
        &mut self.sides[1].session
    }

    fn states(&self) -> (State, State) {
        (self.sides[0].session.state(), self.sides[1].session.state())
    }

    /// Carries out every pending action of both sides; whether there was any.
    fn step(&mut self) -> bool {
        let mut any = false;
        for i in 0..2 {
            let j = 1 - i;
            while let Some(action) = self.sides[i].session.poll_action() {
                any = true;
                let now = self.now;
                match action {
                    // Already connected by the other side's attempt (one connection between
                    // the two): this attempt is moot.
                    Action::Connect if !matches!(self.sides[i].session.state(), State::Connect | State::Active) => {}
                    Action::Connect => {
                        let wants = matches!(self.sides[j].session.state(), State::Connect | State::Active);
                        if self.reachable && wants {
                            self.connected = true;
                            self.sides[i].session.tcp_connected(now);
                            self.sides[j].session.tcp_connected(now);
                        } else {
                            self.sides[i].session.tcp_failed(now);
                        }
                    }
                    Action::Send { bytes } => {
                        if self.connected && self.sides[i].delivers {
                            let mut at = 0;
                            while at < bytes.len() {
                                let len = usize::from(u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]));
                                self.sides[j].received.push(decode(&bytes[at..at + len]).unwrap());
                                at += len;
                            }
                            // Delivered in two pieces, as TCP may.
                            let cut = bytes.len() / 2;
                            self.sides[j].session.handle_bytes(now, &bytes[..cut]);
                            self.sides[j].session.handle_bytes(now, &bytes[cut..]);
                        }
                    }
                    Action::Close => {
                        if self.connected {
                            self.connected = false;
                            self.sides[j].session.tcp_closed(now);
                        }
                    }
                    Action::Event { event } => self.sides[i].events.push(event),
                }
            }
        }
        any
    }

    /// Runs until `until`, jumping the clock from deadline to deadline; panics if it never
    /// settles (more than 10 000 steps).
    fn drive_until(&mut self, until: Duration) {
        for _ in 0..10_000 {
            while self.step() {}
            let next = self.sides.iter().filter_map(|s| s.session.poll_timeout()).min();
            match next {
                Some(t) if t <= until => {
                    assert!(t >= self.now, "time went backwards");
                    self.now = t;
                    for s in &mut self.sides {
                        s.session.handle_timeout(t);
                    }
                }
                _ => {
                    self.now = self.now.max(until);
                    return;
                }
            }
        }
        panic!("never settled");
    }

    fn drive_for(&mut self, d: Duration) {
        self.drive_until(self.now + d);
    }

    fn established(a: Config, b: Config) -> Pair {
        let mut p = Pair::new(a, b);
        p.a().start(Duration::ZERO);
        p.b().start(Duration::ZERO);
        p.drive_for(SECOND);
        assert_eq!(p.states(), (State::Established, State::Established));
        p
    }

    fn updates(&self, side: usize) -> Vec<Update> {
        self.sides[side]
            .received
            .iter()
            .filter_map(|m| match m {
                Message::Update(u) => Some(u.clone()),
                _ => None,
            })
            .collect()
    }

    fn transitions(&self, side: usize) -> Vec<(State, Reason)> {
        self.sides[side]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged { to, reason, .. } => Some((*to, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn notifications_received(&self, side: usize) -> Vec<Notification> {
        self.sides[side]
            .events
            .iter()
            .filter_map(|e| match e {
                Event::NotificationReceived { notification } => Some(notification.clone()),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn ebgp_reaches_established_and_the_routes_arrive() {
    let mut node = node_config();
    node.communities = vec![Community::new(64512, 100)];
    node.large_communities = vec![LargeCommunity { global: 64512, local1: 1, local2: 2 }];
    let mut p = Pair::new(node, router_config());
    p.a().announce(Duration::ZERO, net("192.0.2.10/32")).unwrap();
    p.a().announce(Duration::ZERO, net("2001:db8:100::10/128")).unwrap();
    p.a().start(Duration::ZERO);
    p.b().start(Duration::ZERO);
    p.drive_for(SECOND);
    assert_eq!(p.states(), (State::Established, State::Established));
    let neg = p.sides[0].session.negotiated().unwrap();
    assert_eq!((neg.peer_asn, neg.hold_time, neg.route_refresh), (64513, 90, true));
    assert_eq!(neg.families, [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert_eq!(
        p.transitions(0).iter().map(|t| t.0).collect::<Vec<_>>(),
        [State::Connect, State::OpenSent, State::OpenConfirm, State::Established]
    );

    let updates = p.updates(1);
    assert_eq!(updates.len(), 4, "{updates:#?}");
    let v4 = &updates[0];
    assert_eq!(v4.nlri, ["192.0.2.10/32".parse().unwrap()]);
    assert_eq!(v4.attribute(attribute_type::AS_PATH), Some(&PathAttribute::AsPath(AsPath::sequence(vec![64512]))));
    assert_eq!(v4.attribute(attribute_type::NEXT_HOP), Some(&PathAttribute::NextHop("10.0.0.2".parse().unwrap())));
    assert_eq!(v4.attribute(attribute_type::LOCAL_PREF), None, "never on eBGP");
    assert_eq!(
        v4.attribute(attribute_type::COMMUNITIES),
        Some(&PathAttribute::Communities(vec![Community::new(64512, 100)]))
    );
    assert!(v4.attribute(attribute_type::LARGE_COMMUNITY).is_some());
    assert_eq!(updates[1].end_of_rib_family(), Some(Family::IPV4_UNICAST));
    let mp = updates[2].mp_reach().unwrap();
    assert_eq!(mp.nlri, Prefixes::Ipv6(vec!["2001:db8:100::10/128".parse().unwrap()]));
    assert_eq!(
        mp.next_hop,
        NextHop::Ipv6 { global: "2001:db8::2".parse().unwrap(), link_local: Some("fe80::2".parse().unwrap()) }
    );
    assert_eq!(updates[2].attribute(attribute_type::NEXT_HOP), None);
    assert_eq!(updates[3].end_of_rib_family(), Some(Family::IPV6_UNICAST));
    assert_eq!(p.sides[1].session.stats().routes_received, 2);
    let eors: Vec<_> = p.sides[1]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::UpdateReceived { end_of_rib: Some(f), .. } => Some(*f),
            _ => None,
        })
        .collect();
    assert_eq!(eors, [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);

    // Keepalives keep it up for an hour.
    p.drive_for(Duration::from_secs(3600));
    assert_eq!(p.states(), (State::Established, State::Established));
    assert!(p.sides[1].received.iter().filter(|m| **m == Message::Keepalive).count() >= 3600 / 30);
}

#[test]
fn ibgp_sends_local_pref_and_an_empty_as_path() {
    let mut node = node_config();
    node.peer_asn = 64512;
    node.local_pref = 200;
    let mut router = router_config();
    router.local_asn = 64512;
    let mut p = Pair::established(node, router);
    let now = p.now;
    p.a().announce(now, net("192.0.2.10/32")).unwrap();
    while p.step() {}
    let u = p.updates(1).pop().unwrap();
    assert_eq!(u.attribute(attribute_type::AS_PATH), Some(&PathAttribute::AsPath(AsPath::default())));
    assert_eq!(u.attribute(attribute_type::LOCAL_PREF), Some(&PathAttribute::LocalPref(200)));
}

#[test]
fn announce_and_withdraw_while_established() {
    let mut p = Pair::established(node_config(), router_config());
    assert_eq!(p.updates(1).len(), 2, "End-of-RIB of each family, no routes yet");
    let now = p.now;
    assert_eq!(p.a().announce(now, net("192.0.2.10/32")), Ok(true));
    assert_eq!(p.a().announce(now, net("192.0.2.10/32")), Ok(false), "already announced: nothing sent");
    assert_eq!(p.a().announce(now, net("2001:db8:100::1/64")), Ok(true));
    while p.step() {}
    let updates = p.updates(1);
    assert_eq!(updates.len(), 4);
    assert_eq!(updates[2].announced(), [net("192.0.2.10/32")]);
    assert_eq!(updates[3].announced(), [net("2001:db8:100::/64")], "host bits cleared");

    assert!(p.a().withdraw(now, net("192.0.2.10/32")));
    assert!(p.a().withdraw(now, net("2001:db8:100::/64")));
    assert!(!p.a().withdraw(now, net("198.51.100.0/24")), "never announced");
    while p.step() {}
    let updates = p.updates(1);
    assert_eq!(updates.len(), 6);
    assert_eq!(updates[4].withdrawn, ["192.0.2.10/32".parse().unwrap()]);
    assert_eq!(updates[5].withdrawn_routes(), [net("2001:db8:100::/64")]);
    assert_eq!(p.sides[1].session.stats().withdrawals_received, 2);
    assert_eq!(p.sides[0].session.routes().count(), 0);
}

/// Per-route MED and communities: added to the session's, replaced by announcing again with
/// others, grouped by equal attributes when the routes are sent whole.
#[test]
fn route_attributes_are_sent_and_replaced() {
    let mut node = node_config();
    node.communities = vec![Community::new(64512, 1)];
    let mut p = Pair::new(node, router_config());
    let heavy = bm_bgp::RouteAttributes {
        med: Some(120),
        communities: vec![Community::new(64512, 1), Community::new(64512, 7)],
        large_communities: vec![LargeCommunity { global: 64512, local1: 1, local2: 2 }],
    };
    let now = p.now;
    // Before Established: three routes, two attribute sets, sent on reaching it.
    p.a().announce_with(now, net("192.0.2.10/32"), heavy.clone()).unwrap();
    p.a().announce_with(now, net("192.0.2.11/32"), heavy.clone()).unwrap();
    p.a().announce(now, net("192.0.2.12/32")).unwrap();
    p.a().start(now);
    p.b().start(now);
    p.drive_for(SECOND);
    let updates = p.updates(1);
    let with_routes: Vec<&Update> = updates.iter().filter(|u| !u.announced().is_empty()).collect();
    assert_eq!(with_routes.len(), 2, "one UPDATE per attribute set: {updates:?}");
    let find = |u: &Update, code: u8| u.attributes.iter().find(|a| a.type_code() == code).cloned();
    let plain = with_routes.iter().find(|u| u.announced() == [net("192.0.2.12/32")]).expect("the plain route");
    assert_eq!(find(plain, attribute_type::MULTI_EXIT_DISC), None, "no MED unless asked");
    assert_eq!(
        find(plain, attribute_type::COMMUNITIES),
        Some(PathAttribute::Communities(vec![Community::new(64512, 1)]))
    );
    let both = with_routes.iter().find(|u| u.announced().len() == 2).expect("the two heavy routes together");
    assert_eq!(find(both, attribute_type::MULTI_EXIT_DISC), Some(PathAttribute::MultiExitDisc(120)));
    assert_eq!(
        find(both, attribute_type::COMMUNITIES),
        Some(PathAttribute::Communities(vec![Community::new(64512, 1), Community::new(64512, 7)])),
        "the session's first, no repeats"
    );
    assert!(find(both, attribute_type::LARGE_COMMUNITY).is_some());

    // Announcing again: the same attributes send nothing, others replace the path.
    let now = p.now;
    assert_eq!(p.a().announce_with(now, net("192.0.2.10/32"), heavy.clone()), Ok(false));
    let lighter = bm_bgp::RouteAttributes { med: Some(80), ..heavy };
    assert_eq!(p.a().announce_with(now, net("192.0.2.10/32"), lighter.clone()), Ok(true));
    while p.step() {}
    let last = p.updates(1).last().cloned().unwrap();
    assert_eq!(last.announced(), [net("192.0.2.10/32")]);
    assert_eq!(find(&last, attribute_type::MULTI_EXIT_DISC), Some(PathAttribute::MultiExitDisc(80)));
    assert_eq!(p.sides[0].session.route(&net("192.0.2.10/32")), Some(&lighter));

    // Too many communities with the session's: refused, nothing changes.
    let many =
        bm_bgp::RouteAttributes { communities: (0..512).map(|v| Community::new(1, v)).collect(), ..Default::default() };
    assert_eq!(p.a().announce_with(now, net("192.0.2.13/32"), many), Err(SessionError::TooManyCommunities(2052)));
    assert_eq!(p.sides[0].session.routes().count(), 3);
}

#[test]
fn announce_needs_a_family_and_a_next_hop() {
    let mut c = Config::new(64512, 64513, Ipv4Addr::new(10, 0, 0, 2));
    c.families = vec![Family::IPV4_UNICAST];
    let mut s = Session::new(c).unwrap();
    assert_eq!(
        s.announce(Duration::ZERO, net("2001:db8::1/128")),
        Err(SessionError::FamilyNotConfigured(Family::IPV6_UNICAST))
    );
    assert_eq!(s.announce(Duration::ZERO, net("192.0.2.1/32")), Err(SessionError::NoNextHop(Family::IPV4_UNICAST)));
}

#[test]
fn many_routes_are_split_into_updates_that_fit() {
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    for i in 0..2000u32 {
        p.a().announce(now, IpNet::V4(ipnet::Ipv4Net::new(Ipv4Addr::from(0x0a00_0000 + i), 32).unwrap())).unwrap();
    }
    while p.step() {}
    // Route refresh: the whole set again, in UPDATEs of at most 4096 bytes, then End-of-RIB.
    let before = p.updates(1).len();
    let mut rr = Vec::new();
    encode(&Message::RouteRefresh(RouteRefresh::new(Family::IPV4_UNICAST)), &mut rr).unwrap();
    p.b().handle_bytes(now, &[]); // nothing
    p.sides[0].session.handle_bytes(now, &rr);
    while p.step() {}
    let again = &p.updates(1)[before..];
    let routes: usize = again.iter().map(|u| u.nlri.len()).sum();
    assert_eq!(routes, 2000);
    assert!(again.len() >= 3, "2000 × 5 bytes do not fit in one message");
    assert_eq!(again.last().unwrap().end_of_rib_family(), Some(Family::IPV4_UNICAST));
    assert!(p.sides[0].events.contains(&Event::RouteRefreshReceived { family: Family::IPV4_UNICAST }));

    // IPv6 too, and withdrawing them all: every message fits.
    let v6: Vec<IpNet> = (0..1000u128)
        .map(|i| IpNet::V6(ipnet::Ipv6Net::new((0x2001_0db8_u128 << 96 | i).into(), 128).unwrap()))
        .collect();
    for n in &v6 {
        p.a().announce(now, *n).unwrap();
    }
    while p.step() {}
    for n in v6.iter().chain(p.sides[0].session.routes().cloned().collect::<Vec<_>>().iter()) {
        p.a().withdraw(now, *n);
    }
    while p.step() {}
    let stats = p.sides[1].session.stats();
    assert_eq!((stats.routes_received, stats.withdrawals_received), (2000 + 2000 + 1000, 3000));
    assert_eq!(p.sides[0].session.stats().encode_errors, 0);
    assert_eq!(p.states(), (State::Established, State::Established));
}

#[test]
fn hold_timer_expiry_sends_4_0_and_goes_idle_then_restarts() {
    let mut p = Pair::established(node_config(), router_config());
    let up_at = p.now;
    // The router goes silent (its messages are lost; TCP stays up).
    p.sides[1].delivers = false;
    p.drive_until(up_at + Duration::from_secs(90));
    assert_eq!(p.states().0, State::Idle);
    let sent: Vec<_> = p.sides[0]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::NotificationSent { notification } => Some(notification.code),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [ErrorCode::HoldTimerExpired]);
    assert_eq!(p.transitions(0).last().unwrap(), &(State::Idle, Reason::HoldTimerExpired));
    assert_eq!(p.notifications_received(1)[0].code, ErrorCode::HoldTimerExpired);
    assert_eq!(p.states().1, State::Idle);
    // The automatic restart (idle hold 5 s) brings it back once the router talks again.
    p.sides[1].delivers = true;
    p.drive_for(Duration::from_secs(30));
    assert_eq!(p.states(), (State::Established, State::Established));
    assert!(p.transitions(0).contains(&(State::Connect, Reason::AutoRestart)));
}

#[test]
fn stop_with_a_shutdown_message() {
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    assert_eq!(p.a().stop(now, Some(&"x".repeat(256))), Err(SessionError::ShutdownMessageTooLong(256)));
    assert_eq!(p.states().0, State::Established, "nothing done");
    p.a().stop(now, Some("node drained for upgrade")).unwrap();
    while p.step() {}
    let got = p.notifications_received(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].code, ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown));
    assert_eq!(got[0].shutdown_message(), Some("node drained for upgrade"));
    assert_eq!(
        p.transitions(1).last().unwrap(),
        &(State::Idle, Reason::NotificationReceived { code: ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown) })
    );
    assert_eq!(p.transitions(0).last().unwrap(), &(State::Idle, Reason::Stopped));
    // A stopped session stays down: the router's restarts are refused.
    p.drive_for(Duration::from_secs(600));
    assert_eq!(p.states().0, State::Idle);
    assert_ne!(p.states().1, State::Established);
    // Started again, it comes back.
    let now = p.now;
    p.a().start(now);
    p.drive_for(Duration::from_secs(300));
    assert_eq!(p.states(), (State::Established, State::Established));
}

#[test]
fn stop_without_a_message_and_before_connecting() {
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    p.a().stop(now, None).unwrap();
    while p.step() {}
    let got = p.notifications_received(1);
    assert_eq!(
        (got[0].code, got[0].data.as_slice()),
        (ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown), &[][..])
    );

    let mut s = Session::new(node_config()).unwrap();
    s.start(Duration::ZERO);
    while s.poll_action().is_some() {}
    s.stop(SECOND, None).unwrap();
    let actions: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    assert_eq!(actions[0], Action::Close);
    assert_eq!((s.state(), s.poll_timeout()), (State::Idle, None));
}

#[test]
fn connect_retry_after_failure() {
    let mut p = Pair::new(node_config(), router_config());
    p.reachable = false;
    p.a().start(Duration::ZERO);
    p.b().start(Duration::ZERO);
    p.drive_for(SECOND);
    assert_eq!(p.states().0, State::Active);
    assert_eq!(p.sides[0].session.timers().collect::<Vec<_>>(), [(Timer::ConnectRetry, Duration::from_secs(120))]);
    p.drive_until(Duration::from_secs(119));
    assert_eq!(p.transitions(0).len(), 2, "Connect, Active");
    p.drive_until(Duration::from_secs(120));
    // Tried again at 120 s, failed again.
    assert_eq!(
        p.transitions(0).iter().map(|t| t.1.clone()).collect::<Vec<_>>(),
        [Reason::Started, Reason::TcpFailed, Reason::ConnectRetryExpired, Reason::TcpFailed]
    );
    p.reachable = true;
    p.drive_for(Duration::from_secs(121));
    assert_eq!(p.states(), (State::Established, State::Established));
}

#[test]
fn hold_time_is_the_smaller_and_zero_means_none() {
    let mut node = node_config();
    node.hold_time = 9;
    let p = Pair::established(node, router_config());
    for s in &p.sides {
        let n = s.session.negotiated().unwrap();
        assert_eq!((n.hold_time, n.keepalive_interval()), (9, Some(Duration::from_secs(3))));
    }
    let mut node = node_config();
    node.hold_time = 0;
    let mut p = Pair::established(node, router_config());
    assert_eq!(p.sides[0].session.poll_timeout(), None, "no hold, no keepalive");
    p.drive_for(Duration::from_secs(3600));
    assert_eq!(p.states(), (State::Established, State::Established));
}

/// Drives `s` to OpenSent and returns it.
fn open_sent(config: Config) -> Session {
    let mut s = Session::new(config).unwrap();
    s.start(Duration::ZERO);
    s.tcp_connected(Duration::ZERO);
    while s.poll_action().is_some() {}
    assert_eq!(s.state(), State::OpenSent);
    s
}

/// What `s` sends in answer to `message`: the NOTIFICATION's code and data.
fn answer(s: &mut Session, message: &Message) -> (ErrorCode, Vec<u8>) {
    let mut bytes = Vec::new();
    encode(message, &mut bytes).unwrap();
    s.handle_bytes(SECOND, &bytes);
    let actions: Vec<_> = std::iter::from_fn(|| s.poll_action()).collect();
    let Some(Action::Send { bytes }) = actions.first() else { panic!("{actions:?}") };
    let Message::Notification(n) = decode(bytes).unwrap() else { panic!() };
    assert!(actions.contains(&Action::Close));
    assert_eq!(s.state(), State::Idle);
    (n.code, n.data)
}

fn router_open(caps: Vec<bm_bgp::message::Capability>) -> Open {
    use bm_bgp::message::Capability;
    let mut all = vec![
        Capability::Multiprotocol { family: Family::IPV4_UNICAST },
        Capability::Multiprotocol { family: Family::IPV6_UNICAST },
    ];
    all.extend(caps);
    Open::new(64513, 90, Ipv4Addr::new(10, 0, 0, 1), all)
}

#[test]
fn bad_opens_are_answered_with_the_right_notification() {
    use bm_bgp::message::Capability;
    let open_code = |s| ErrorCode::Open(s);
    // Wrong AS: 2/2.
    let mut open = router_open(vec![]);
    open.capabilities[0] = Capability::FourOctetAs { asn: 64999 };
    assert_eq!(
        answer(&mut open_sent(node_config()), &Message::Open(open)),
        (open_code(OpenSubcode::BadPeerAs), vec![])
    );
    // Our own BGP identifier from an internal peer, or 0 from any: 2/3 (RFC 6286 §2.2).
    let mut open = router_open(vec![]);
    open.bgp_id = Ipv4Addr::new(10, 0, 0, 2);
    let mut ibgp = node_config();
    ibgp.local_asn = 64513;
    assert_eq!(answer(&mut open_sent(ibgp), &Message::Open(open.clone())).0, open_code(OpenSubcode::BadBgpIdentifier));
    // From an external peer the same identifier is no error (cloned VMs, labs).
    let mut ebgp = open_sent(node_config());
    let mut bytes = Vec::new();
    encode(&Message::Open(open.clone()), &mut bytes).unwrap();
    ebgp.handle_bytes(SECOND, &bytes);
    assert_eq!(ebgp.state(), State::OpenConfirm);
    open.bgp_id = Ipv4Addr::UNSPECIFIED;
    assert_eq!(answer(&mut open_sent(node_config()), &Message::Open(open)).0, open_code(OpenSubcode::BadBgpIdentifier));
    // No 4-octet AS capability: 2/7 listing it.
    let mut open = router_open(vec![]);
    open.capabilities.retain(|c| !matches!(c, Capability::FourOctetAs { .. }));
    assert_eq!(
        answer(&mut open_sent(node_config()), &Message::Open(open)),
        (open_code(OpenSubcode::UnsupportedCapability), vec![65, 4, 0, 0, 0xfc, 0x00])
    );
    // No family in common (we offer IPv6 only, the peer IPv4 only): 2/7 with ours.
    let mut v6_only = node_config();
    v6_only.families = vec![Family::IPV6_UNICAST];
    let open = Open::new(64513, 90, Ipv4Addr::new(10, 0, 0, 1), vec![]);
    assert_eq!(
        answer(&mut open_sent(v6_only), &Message::Open(open)),
        (open_code(OpenSubcode::UnsupportedCapability), vec![1, 4, 0, 2, 0, 1])
    );
    // Hold time 2 (the codec refuses it): 2/6.
    let mut open = router_open(vec![]);
    open.hold_time = 2;
    let mut bytes = Vec::new();
    encode(&Message::Open(open), &mut bytes).unwrap();
    let mut s = open_sent(node_config());
    s.handle_bytes(SECOND, &bytes);
    let Some(Action::Send { bytes }) = s.poll_action() else { panic!() };
    assert_eq!(
        decode(&bytes).unwrap(),
        Message::Notification(Notification::new(open_code(OpenSubcode::UnacceptableHoldTime), vec![]))
    );
    // A KEEPALIVE before the OPEN: 5/1.
    assert_eq!(
        answer(&mut open_sent(node_config()), &Message::Keepalive).0,
        ErrorCode::Fsm(FsmSubcode::UnexpectedMessageInOpenSent)
    );
    // A 2-octet AS peer's OPEN with AS_TRANS and the capability: accepted.
    let mut s = open_sent(Config { peer_asn: 4_200_000_000, ..node_config() });
    let open = Open::new(4_200_000_000, 90, Ipv4Addr::new(10, 0, 0, 1), vec![]);
    assert_eq!(open.my_as, AS_TRANS);
    let mut bytes = Vec::new();
    encode(&Message::Open(open), &mut bytes).unwrap();
    s.handle_bytes(SECOND, &bytes);
    assert_eq!(s.state(), State::OpenConfirm);
    assert_eq!(s.negotiated().unwrap().families, [Family::IPV4_UNICAST], "no multiprotocol capability: IPv4");
}

#[test]
fn broken_bytes_and_messages_once_established() {
    // Garbage instead of a marker: 1/1.
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    p.a().handle_bytes(now, &[0u8; 19]);
    while p.step() {}
    assert_eq!(p.notifications_received(1)[0].code.code(), 1);
    assert_eq!(p.notifications_received(1)[0].code.subcode(), 1);
    assert_eq!(p.states().0, State::Idle);

    // An OPEN in Established: 5/3.
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    let mut bytes = Vec::new();
    encode(&Message::Open(router_open(vec![])), &mut bytes).unwrap();
    p.a().handle_bytes(now, &bytes);
    while p.step() {}
    assert_eq!(p.notifications_received(1)[0].code, ErrorCode::Fsm(FsmSubcode::UnexpectedMessageInEstablished));

    // A malformed ORIGIN: treated as withdraw, counted, the session stays up.
    let mut p = Pair::established(node_config(), router_config());
    let now = p.now;
    let body = [
        &[0u8, 0, 0, 20][..],
        &[0x40, 1, 1, 9],
        &[0x40, 2, 6, 2, 1, 0, 0, 0xfb, 0xf9],
        &[0x40, 3, 4, 10, 0, 0, 1],
        &[32, 192, 0, 2, 99],
    ]
    .concat();
    let mut bytes = vec![0xff; 16];
    bytes.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    bytes.push(2);
    bytes.extend_from_slice(&body);
    p.a().handle_bytes(now, &bytes);
    while p.step() {}
    assert_eq!(p.states().0, State::Established);
    let stats = p.sides[0].session.stats();
    assert_eq!((stats.treat_as_withdraw, stats.withdrawals_received, stats.routes_received), (1, 1, 0));
    assert!(
        p.sides[0]
            .events
            .iter()
            .any(|e| matches!(e, Event::UpdateReceived { withdrawn: 1, repairs, .. } if repairs.len() == 1))
    );
}

#[test]
fn events_and_actions_serialize_as_tagged_json() {
    let e = Action::Event {
        event: Event::StateChanged {
            from: State::OpenConfirm,
            to: State::Established,
            reason: Reason::KeepaliveReceived,
        },
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"action":"event","event":{"event":"state_changed","from":"open_confirm","to":"established","reason":{"kind":"keepalive_received"}}}"#
    );
    let config: Config = serde_json::from_str(
        r#"{"local_asn": 64512, "peer_asn": 64513, "router_id": "10.0.0.2", "next_hop_v4": "10.0.0.2"}"#,
    )
    .unwrap();
    assert_eq!(config.hold_time, 90);
    assert_eq!(config.families, [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
}

/// Durations are seconds in JSON (as in bm-vrrp's), read to the microsecond; a misspelt
/// field is refused, not ignored.
#[test]
fn config_json_durations_are_seconds_and_unknown_fields_refused() {
    let config: Config = serde_json::from_str(
        r#"{"local_asn": 64512, "peer_asn": 64513, "router_id": "10.0.0.2", "connect_retry": 30, "idle_hold": 0.1}"#,
    )
    .unwrap();
    assert_eq!((config.connect_retry, config.idle_hold), (Duration::from_secs(30), Duration::from_millis(100)));
    let json = serde_json::to_value(&config).unwrap();
    assert_eq!((json["connect_retry"].as_f64(), json["idle_hold"].as_f64()), (Some(30.0), Some(0.1)));
    assert_eq!(serde_json::from_value::<Config>(json).unwrap(), config);
    let e = serde_json::from_str::<Config>(r#"{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "hold": 9}"#)
        .unwrap_err();
    assert!(e.to_string().contains("unknown field `hold`"), "{e}");
    for bad in ["-1", "1e300"] {
        let text = format!(r#"{{"local_asn": 1, "peer_asn": 2, "router_id": "10.0.0.2", "connect_retry": {bad}}}"#);
        assert!(serde_json::from_str::<Config>(&text).is_err(), "{bad}");
    }
}

#[test]
fn config_is_validated() {
    use bm_bgp::ConfigError;
    let ok = node_config();
    assert!(Session::new(ok.clone()).is_ok());
    assert_eq!(Session::new(Config { hold_time: 1, ..ok.clone() }).err(), Some(ConfigError::HoldTime(1)));
    assert_eq!(Session::new(Config { local_asn: 0, ..ok.clone() }).err(), Some(ConfigError::ZeroAsn));
    assert_eq!(
        Session::new(Config { router_id: Ipv4Addr::UNSPECIFIED, ..ok.clone() }).err(),
        Some(ConfigError::ZeroRouterId)
    );
    assert_eq!(Session::new(Config { families: vec![], ..ok.clone() }).err(), Some(ConfigError::NoFamily));
    let l2vpn = Family { afi: 25, safi: 70 };
    assert_eq!(
        Session::new(Config { families: vec![l2vpn], ..ok.clone() }).err(),
        Some(ConfigError::UnsupportedFamily(l2vpn))
    );
    assert_eq!(
        Session::new(Config { graceful_restart: Some(5000), ..ok.clone() }).err(),
        Some(ConfigError::RestartTime(5000))
    );
    assert_eq!(
        Session::new(Config { communities: vec![Community(1); 600], ..ok }).err(),
        Some(ConfigError::TooManyCommunities)
    );
}

#[test]
fn graceful_restart_is_off_by_default_and_advertised_when_asked() {
    use bm_bgp::message::Capability;
    let p = Pair::established(node_config(), router_config());
    let open = &p.sides[1].session.negotiated().unwrap().peer_open;
    assert!(!open.capabilities.iter().any(|c| matches!(c, Capability::GracefulRestart(_))));
    assert!(open.capabilities.contains(&Capability::RouteRefresh));
    let p = Pair::established(Config { graceful_restart: Some(120), ..node_config() }, router_config());
    let open = &p.sides[1].session.negotiated().unwrap().peer_open;
    let gr = open.capabilities.iter().find_map(|c| match c {
        Capability::GracefulRestart(gr) => Some(gr),
        _ => None,
    });
    assert_eq!(gr.map(|g| (g.restart_time, g.families.len())), Some((120, 2)));
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// A valid UPDATE as the node sends it, for mutation.
    fn node_update() -> Vec<u8> {
        let mut node = node_config();
        node.communities = vec![Community::new(64512, 7)];
        let mut p = Pair::new(node, router_config());
        p.a().announce(Duration::ZERO, net("192.0.2.10/32")).unwrap();
        p.a().announce(Duration::ZERO, net("2001:db8::10/128")).unwrap();
        let mut sent = Vec::new();
        p.a().start(Duration::ZERO);
        p.b().start(Duration::ZERO);
        // Capture the node's bytes as they go out.
        for _ in 0..50 {
            while let Some(action) = p.sides[0].session.poll_action() {
                match action {
                    Action::Connect => {
                        p.sides[0].session.tcp_connected(Duration::ZERO);
                        p.sides[1].session.tcp_connected(Duration::ZERO);
                    }
                    Action::Send { bytes } => {
                        sent.push(bytes.clone());
                        p.sides[1].session.handle_bytes(Duration::ZERO, &bytes);
                    }
                    _ => {}
                }
            }
            while let Some(action) = p.sides[1].session.poll_action() {
                if let Action::Send { bytes } = action {
                    p.sides[0].session.handle_bytes(Duration::ZERO, &bytes);
                }
            }
        }
        sent.into_iter().find(|b| b[18] == 2 && b.len() > 23).unwrap()
    }

    /// A message with a valid header (marker, length) and any type and body: past the framer,
    /// into the decoders. Bare random bytes stop at the marker check.
    fn framed_junk() -> impl Strategy<Value = Vec<u8>> {
        (1u8..=6, prop::collection::vec(any::<u8>(), 0..120)).prop_map(|(t, body)| {
            let mut m = vec![0xff; 16];
            m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
            m.push(t);
            m.extend_from_slice(&body);
            m
        })
    }

    /// The router's OPEN to the node (AS 64513, both families, route refresh).
    fn router_open() -> Open {
        use bm_bgp::message::Capability;
        Open::new(
            64513,
            90,
            Ipv4Addr::new(10, 0, 0, 1),
            vec![
                Capability::Multiprotocol { family: Family::IPV4_UNICAST },
                Capability::Multiprotocol { family: Family::IPV6_UNICAST },
                Capability::RouteRefresh,
            ],
        )
    }

    /// What the router sends: its OPEN, KEEPALIVEs, well-formed UPDATEs and ROUTE-REFRESH,
    /// NOTIFICATIONs, and now and then framed junk or bare bytes.
    fn router_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => Just(strategies::bytes_of(&Message::Open(router_open()))),
            3 => Just(strategies::bytes_of(&Message::Keepalive)),
            3 => strategies::established_message().prop_map(|m| strategies::bytes_of(&m)),
            1 => strategies::notification().prop_map(|n| strategies::bytes_of(&Message::Notification(n))),
            1 => framed_junk(),
            1 => prop::collection::vec(any::<u8>(), 0..40),
        ]
    }

    /// Inputs to one session: (op, seconds later, bytes when the op is "bytes received"); now
    /// and then the router's side of a handshake in a row (start, connected, its OPEN, its
    /// KEEPALIVE), which random inputs alone hardly ever hit.
    fn inputs() -> impl Strategy<Value = Vec<(u8, u64, Vec<u8>)>> {
        let op = (0u8..10, prop_oneof![3 => 0u64..3, 1 => 0u64..400], router_bytes()).prop_map(|op| vec![op]);
        let handshake = Just(vec![
            (0, 0, Vec::new()),
            (2, 0, Vec::new()),
            (5, 0, strategies::bytes_of(&Message::Open(router_open()))),
            (5, 0, strategies::bytes_of(&Message::Keepalive)),
        ]);
        prop::collection::vec(prop_oneof![6 => op, 1 => handshake], 0..30)
            .prop_map(|blocks| blocks.into_iter().flatten().collect())
    }

    /// Runs `ops` on a node session, checking that every due timer is taken; whether it
    /// reached Established.
    fn run_inputs(ops: &[(u8, u64, Vec<u8>)]) -> Result<bool, TestCaseError> {
        let mut s = Session::new(node_config()).unwrap();
        let mut now = Duration::ZERO;
        let mut established = false;
        for (op, dt, bytes) in ops {
            now += Duration::from_secs(*dt);
            match op {
                0 => s.start(now),
                1 => {
                    let _ = s.stop(now, Some("bye"));
                }
                2 => s.tcp_connected(now),
                3 => s.tcp_failed(now),
                4 => s.tcp_closed(now),
                5 | 6 => s.handle_bytes(now, bytes),
                7 => {
                    let _ = s.announce(now, net("192.0.2.1/32"));
                }
                8 => {
                    s.withdraw(now, net("192.0.2.1/32"));
                }
                _ => {
                    if let Some(t) = s.poll_timeout() {
                        now = now.max(t);
                    }
                    s.handle_timeout(now);
                    prop_assert!(s.poll_timeout().is_none_or(|t| t > now), "every due timer is taken");
                }
            }
            while let Some(action) = s.poll_action() {
                if let Action::Send { bytes } = action {
                    prop_assert!(decode(&bytes).is_ok(), "what the session sends decodes");
                }
            }
            established |= s.state() == State::Established;
        }
        if s.stats().routes_received > 0 {
            prop_assert!(established);
        }
        prop_assert_eq!(s.stats().encode_errors, 0);
        Ok(established)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn arbitrary_bytes_never_panic_an_established_session(chunks in prop::collection::vec(prop_oneof![
            3 => framed_junk(),
            1 => prop::collection::vec(any::<u8>(), 0..100),
        ], 0..8)) {
            let mut p = Pair::established(node_config(), router_config());
            for c in chunks {
                let now = p.now;
                p.a().handle_bytes(now, &c);
                while p.step() {}
            }
            prop_assert!(matches!(p.states().0, State::Established | State::Idle));
        }

        /// Well-formed UPDATEs (v4 and v6 VIPs with every attribute, withdrawals, End-of-RIB),
        /// KEEPALIVEs and ROUTE-REFRESHes, cut anywhere: the session keeps them all, counts
        /// every route, repairs nothing and stays Established.
        #[test]
        fn well_formed_streams_keep_an_established_session_up(
            ms in prop::collection::vec(strategies::established_message(), 1..12),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut s = strategies::established(strategies::local_config());
            let before = s.stats().clone();
            let mut stream = Vec::new();
            for m in &ms {
                stream.extend(strategies::bytes_of(m));
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
            cuts.push(stream.len());
            cuts.sort_unstable();
            let (mut at, mut events) = (0, Vec::new());
            for cut in cuts {
                s.handle_bytes(Duration::ZERO, &stream[at..cut]);
                at = cut;
                while let Some(action) = s.poll_action() {
                    prop_assert!(!matches!(action, Action::Close), "closed");
                    if let Action::Event { event } = action {
                        events.push(event);
                    }
                }
            }
            prop_assert_eq!(s.state(), State::Established);
            let updates: Vec<&Update> = ms.iter().filter_map(|m| match m { Message::Update(u) => Some(u), _ => None }).collect();
            let stats = s.stats();
            prop_assert_eq!(stats.messages_received - before.messages_received, ms.len() as u64);
            prop_assert_eq!(stats.updates_received - before.updates_received, updates.len() as u64);
            let announced: usize = updates.iter().map(|u| u.announced().len()).sum();
            let withdrawn: usize = updates.iter().map(|u| u.withdrawn_routes().len()).sum();
            prop_assert_eq!(stats.routes_received - before.routes_received, announced as u64);
            prop_assert_eq!(stats.withdrawals_received - before.withdrawals_received, withdrawn as u64);
            prop_assert_eq!(stats.treat_as_withdraw + stats.attributes_discarded, 0);
            let received: Vec<(usize, usize, Option<Family>)> = events.iter().filter_map(|e| match e {
                Event::UpdateReceived { announced, withdrawn, end_of_rib, repairs } if repairs.is_empty() => {
                    Some((*announced, *withdrawn, *end_of_rib))
                }
                Event::UpdateReceived { repairs, .. } => panic!("repaired: {repairs:?}"),
                _ => None,
            }).collect();
            let want: Vec<_> =
                updates.iter().map(|u| (u.announced().len(), u.withdrawn_routes().len(), u.end_of_rib_family())).collect();
            prop_assert_eq!(received, want);
            let refreshes = ms.iter().filter(|m| matches!(m, Message::RouteRefresh(_))).count();
            prop_assert_eq!(events.iter().filter(|e| matches!(e, Event::RouteRefreshReceived { .. })).count(), refreshes);
        }

        #[test]
        fn mutated_updates_reset_repair_or_pass(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
            let mut bytes = node_update();
            for (at, v) in flips {
                let at = 19 + at % (bytes.len() - 19);
                bytes[at] = v;
            }
            let mut p = Pair::established(node_config(), router_config());
            let now = p.now;
            let before = p.sides[1].session.stats().updates_received;
            p.b().handle_bytes(now, &bytes);
            while p.step() {}
            match p.states().1 {
                // Reset: the router sent a NOTIFICATION saying why.
                State::Idle => prop_assert_eq!(p.notifications_received(0).len(), 1),
                State::Established => prop_assert_eq!(p.sides[1].session.stats().updates_received, before + 1),
                other => prop_assert!(false, "{other:?}"),
            }
        }

        /// Any order of inputs, with the router's real messages among the bytes (so that
        /// sequences reach OpenConfirm and Established, see below).
        #[test]
        fn any_sequence_of_inputs_is_handled(ops in inputs()) {
            run_inputs(&ops)?;
        }
    }

    /// The input sequences above are no mostly-rejected junk: a good share of them take the
    /// session to Established.
    #[test]
    fn the_input_sequences_reach_established() {
        let mut runner = TestRunner::deterministic();
        let strategy = inputs();
        let cases = 300;
        let mut reached = 0;
        for _ in 0..cases {
            let ops = strategy.new_tree(&mut runner).unwrap().current();
            reached += usize::from(run_inputs(&ops).unwrap());
        }
        println!("{reached} of {cases} input sequences reached Established");
        assert!(reached * 2 >= cases, "only {reached} of {cases} input sequences reached Established");
    }
}

#[test]
fn a_passive_router_waits_for_the_node() {
    let mut router = router_config();
    router.passive = true;
    let mut p = Pair::new(node_config(), router);
    p.b().start(Duration::ZERO);
    assert_eq!(
        p.b().poll_action(),
        Some(Action::Event {
            event: Event::StateChanged { from: State::Idle, to: State::Active, reason: Reason::Started }
        })
    );
    assert_eq!(p.sides[1].session.poll_timeout(), None, "no connect retry: it never connects");
    p.drive_for(Duration::from_secs(600));
    assert_eq!(p.states(), (State::Idle, State::Active));
    let now = p.now;
    p.a().start(now);
    p.drive_for(SECOND);
    assert_eq!(p.states(), (State::Established, State::Established));
    // The node goes away: the router waits again, without connecting.
    let now = p.now;
    p.a().stop(now, None).unwrap();
    p.drive_for(Duration::from_secs(600));
    assert_eq!(p.states(), (State::Idle, State::Active));
    assert!(p.transitions(1).iter().all(|(to, _)| *to != State::Connect));
}

#[test]
fn bfd_down_closes_at_once_without_a_notification_and_restarts() {
    use bm_bgp::bfd::Diag;
    let mut p = Pair::established(node_config(), router_config());
    let t = p.now;
    let sent_before = p.notifications_received(1).len();
    p.a().bfd_down(t, Diag::ControlDetectionExpired);
    assert_eq!(p.states().0, State::Idle);
    p.step();
    assert_eq!(
        p.transitions(0).last().unwrap(),
        &(State::Idle, Reason::BfdDown { diag: Diag::ControlDetectionExpired })
    );
    // The connection closed: the router sees it go.
    assert_eq!(p.states().1, State::Idle);
    assert_eq!(p.notifications_received(1).len(), sent_before, "the path is gone: no NOTIFICATION");
    // Nothing to take down before a connection: BGP does not wait for BFD.
    let mut idle = Session::new(node_config()).unwrap();
    idle.bfd_down(Duration::ZERO, Diag::ControlDetectionExpired);
    assert_eq!(idle.poll_action(), None);
    // It restarts as after any failure.
    p.drive_for(Duration::from_secs(30));
    assert_eq!(p.states(), (State::Established, State::Established));
}
