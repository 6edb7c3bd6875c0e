//! Proptest strategies for well-formed BGP messages, shaped like what an Established session
//! exchanges (VIP routes of both families with the attributes routers send, withdrawals,
//! End-of-RIB, OPENs with real capabilities, NOTIFICATIONs with shutdown communications), and a
//! session taken to Established by a scripted peer. Shared by `codec_properties.rs` and
//! `session.rs`.

#![allow(dead_code)] // Each test crate uses some.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bm_bgp::message::{
    AsPath, AsSegment, AsSegmentType, Capability, CeaseSubcode, Community, ErrorCode, GracefulRestart,
    GracefulRestartFamily, LargeCommunity, Message, MpReach, MpUnreach, NextHop, Notification, Open, Origin,
    PathAttribute, Prefixes, RouteRefresh, Update, encode,
};
use bm_bgp::{Action, Config, Family, Session, State};
use ipnet::{Ipv4Net, Ipv6Net};
use proptest::prelude::*;

/// The peer's AS in [`established`].
pub(crate) const PEER_ASN: u32 = 4_200_000_001;
/// Our AS in [`established`].
pub(crate) const LOCAL_ASN: u32 = 64512;

/// AS numbers: private 2-octet, public 2-octet, private 4-octet.
pub(crate) fn asn() -> impl Strategy<Value = u32> {
    prop_oneof![64512u32..=65534, 1u32..=64511, 4_200_000_000u32..=4_294_967_294]
}

/// Mostly VIP host routes (/32), sometimes any prefix.
pub(crate) fn v4_prefix() -> impl Strategy<Value = Ipv4Net> {
    prop_oneof![
        3 => any::<u32>().prop_map(|a| Ipv4Net::new(Ipv4Addr::from(a), 32).unwrap()),
        1 => (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc()),
    ]
}

/// Mostly VIP host routes (/128), sometimes any prefix.
pub(crate) fn v6_prefix() -> impl Strategy<Value = Ipv6Net> {
    prop_oneof![
        3 => any::<u128>().prop_map(|a| Ipv6Net::new(Ipv6Addr::from(a), 128).unwrap()),
        1 => (any::<u128>(), 0u8..=128).prop_map(|(a, l)| Ipv6Net::new(Ipv6Addr::from(a), l).unwrap().trunc()),
    ]
}

pub(crate) fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)]
}

/// Empty (iBGP from the originator), one AS_SEQUENCE, or a sequence then an AS_SET (an
/// aggregate); confederation segments now and then.
pub(crate) fn as_path() -> impl Strategy<Value = AsPath> {
    let kind = prop_oneof![
        6 => Just(AsSegmentType::Sequence),
        2 => Just(AsSegmentType::Set),
        1 => Just(AsSegmentType::ConfedSequence),
        1 => Just(AsSegmentType::ConfedSet),
    ];
    let segment = (kind, prop::collection::vec(asn(), 1..8)).prop_map(|(kind, asns)| AsSegment { kind, asns });
    prop_oneof![
        1 => Just(AsPath::default()),
        3 => prop::collection::vec(asn(), 1..6).prop_map(AsPath::sequence),
        2 => prop::collection::vec(segment, 1..4).prop_map(|segments| AsPath { segments }),
    ]
}

pub(crate) fn communities() -> impl Strategy<Value = Vec<Community>> {
    let one = prop_oneof![
        4 => (any::<u16>(), any::<u16>()).prop_map(|(a, v)| Community::new(a, v)),
        1 => prop_oneof![Just(Community::NO_EXPORT), Just(Community::NO_ADVERTISE), Just(Community::NO_EXPORT_SUBCONFED)],
    ];
    prop::collection::vec(one, 1..8)
}

pub(crate) fn large_communities() -> impl Strategy<Value = Vec<LargeCommunity>> {
    prop::collection::vec(
        (asn(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| LargeCommunity {
            global,
            local1,
            local2,
        }),
        1..4,
    )
}

/// The optional attributes a VIP route carries: MED, LOCAL_PREF, COMMUNITIES, LARGE_COMMUNITY.
#[derive(Clone, Debug)]
pub(crate) struct Extras {
    pub(crate) med: Option<u32>,
    pub(crate) local_pref: Option<u32>,
    pub(crate) communities: Option<Vec<Community>>,
    pub(crate) large: Option<Vec<LargeCommunity>>,
}

pub(crate) fn extras() -> impl Strategy<Value = Extras> {
    (
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        prop::option::of(communities()),
        prop::option::of(large_communities()),
    )
        .prop_map(|(med, local_pref, communities, large)| Extras { med, local_pref, communities, large })
}

impl Extras {
    fn push(self, attrs: &mut Vec<PathAttribute>) {
        attrs.extend(self.med.map(PathAttribute::MultiExitDisc));
        attrs.extend(self.local_pref.map(PathAttribute::LocalPref));
        attrs.extend(self.communities.map(PathAttribute::Communities));
        attrs.extend(self.large.map(PathAttribute::LargeCommunities));
    }
}

/// An IPv4 UPDATE: NLRI (a VIP /32 mostly) with ORIGIN, AS_PATH, NEXT_HOP and the extras, in
/// type code order, and sometimes withdrawn routes beside.
pub(crate) fn update_v4() -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(v4_prefix(), 0..4),
        prop::collection::vec(v4_prefix(), 1..16),
        origin(),
        as_path(),
        1u32..,
        extras(),
    )
        .prop_map(|(withdrawn, nlri, origin, as_path, next_hop, extras)| {
            let mut attributes = vec![
                PathAttribute::Origin(origin),
                PathAttribute::AsPath(as_path),
                PathAttribute::NextHop(Ipv4Addr::from(next_hop)),
            ];
            extras.push(&mut attributes);
            Update { withdrawn, attributes, nlri }
        })
}

/// An IPv6 UPDATE: MP_REACH_NLRI first (RFC 7606), with a global next hop and sometimes a
/// link-local one (RFC 2545), then ORIGIN, AS_PATH, the extras, and sometimes an
/// MP_UNREACH_NLRI beside.
pub(crate) fn update_v6() -> impl Strategy<Value = Update> {
    (
        prop::collection::vec(v6_prefix(), 1..16),
        any::<u128>(),
        prop::option::of(any::<u64>()),
        origin(),
        as_path(),
        extras(),
        prop::option::of(prop::collection::vec(v6_prefix(), 1..4)),
    )
        .prop_map(|(nlri, global, link_local, origin, as_path, extras, unreach)| {
            let link_local = link_local.map(|iid| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(iid)));
            let mut attributes = vec![
                PathAttribute::MpReach(MpReach {
                    next_hop: NextHop::Ipv6 { global: Ipv6Addr::from(global), link_local },
                    nlri: Prefixes::Ipv6(nlri),
                }),
                PathAttribute::Origin(origin),
                PathAttribute::AsPath(as_path),
            ];
            extras.push(&mut attributes);
            if let Some(withdrawn) = unreach {
                attributes.push(PathAttribute::MpUnreach(MpUnreach { withdrawn: Prefixes::Ipv6(withdrawn) }));
            }
            Update { withdrawn: Vec::new(), attributes, nlri: Vec::new() }
        })
}

/// A withdrawal: IPv4 withdrawn routes, or an MP_UNREACH_NLRI of IPv6 prefixes.
pub(crate) fn withdrawal() -> impl Strategy<Value = Update> {
    prop_oneof![
        prop::collection::vec(v4_prefix(), 1..16).prop_map(|withdrawn| Update { withdrawn, ..Update::default() }),
        prop::collection::vec(v6_prefix(), 1..16).prop_map(|p| Update {
            attributes: vec![PathAttribute::MpUnreach(MpUnreach { withdrawn: Prefixes::Ipv6(p) })],
            ..Update::default()
        }),
    ]
}

pub(crate) fn end_of_rib() -> impl Strategy<Value = Update> {
    prop_oneof![Just(Family::IPV4_UNICAST), Just(Family::IPV6_UNICAST)].prop_map(Update::end_of_rib)
}

/// Any of the UPDATEs above.
pub(crate) fn update() -> impl Strategy<Value = Update> {
    prop_oneof![4 => update_v4(), 4 => update_v6(), 2 => withdrawal(), 1 => end_of_rib()]
}

/// An OPEN as routers send it: hold time 0 or 3.., a non-zero identifier, multiprotocol for
/// IPv4 and/or IPv6, route refresh, enhanced route refresh, graceful restart, an unknown
/// capability now and then; the 4-octet AS capability first (AS_TRANS above 65535).
pub(crate) fn open() -> impl Strategy<Value = Open> {
    let families = prop_oneof![
        Just(vec![Family::IPV4_UNICAST]),
        Just(vec![Family::IPV6_UNICAST]),
        Just(vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]),
        Just(vec![]),
    ];
    (
        asn(),
        prop_oneof![Just(0u16), Just(90), Just(180), 3u16..],
        1u32..,
        families,
        any::<bool>(),
        any::<bool>(),
        prop::option::of((any::<bool>(), 0u16..4096)),
        prop::option::of((
            prop_oneof![Just(69u8), Just(73), Just(128), 129u8..=254],
            prop::collection::vec(any::<u8>(), 0..12),
        )),
    )
        .prop_map(|(asn, hold, id, families, rr, err, gr, unknown)| {
            let mut caps: Vec<Capability> =
                families.iter().map(|&family| Capability::Multiprotocol { family }).collect();
            if rr {
                caps.push(Capability::RouteRefresh);
            }
            if err {
                caps.push(Capability::EnhancedRouteRefresh);
            }
            if let Some((restarting, restart_time)) = gr {
                caps.push(Capability::GracefulRestart(GracefulRestart {
                    restarting,
                    notification: false,
                    restart_time,
                    families: families
                        .iter()
                        .map(|&family| GracefulRestartFamily { family, forwarding_preserved: restarting })
                        .collect(),
                }));
            }
            if let Some((code, value)) = unknown {
                caps.push(Capability::Unknown { code, value });
            }
            Open::new(asn, hold, Ipv4Addr::from(id), caps)
        })
}

/// A shutdown communication (RFC 9003): any text of up to 255 bytes of UTF-8.
pub(crate) fn shutdown_text() -> impl Strategy<Value = String> {
    ".{0,80}".prop_map(|s: String| {
        let mut s = s;
        while s.len() > 255 {
            s.pop();
        }
        s
    })
}

/// A NOTIFICATION: any code, subcode and data, or a Cease with a shutdown communication.
pub(crate) fn notification() -> impl Strategy<Value = Notification> {
    prop_oneof![
        (1u8..=7, any::<u8>(), prop::collection::vec(any::<u8>(), 0..32))
            .prop_map(|(c, s, data)| Notification::new(ErrorCode::from_codes(c, s), data)),
        (
            prop_oneof![Just(CeaseSubcode::AdministrativeShutdown), Just(CeaseSubcode::AdministrativeReset)],
            shutdown_text()
        )
            .prop_map(|(sub, text)| Notification::with_shutdown_message(sub, &text).unwrap()),
    ]
}

/// A ROUTE-REFRESH for IPv4 or IPv6: a request, or RFC 7313's BoRR and EoRR.
pub(crate) fn route_refresh() -> impl Strategy<Value = RouteRefresh> {
    (prop_oneof![Just(Family::IPV4_UNICAST), Just(Family::IPV6_UNICAST)], 0u8..=2)
        .prop_map(|(family, subtype)| RouteRefresh { family, subtype })
}

/// Any message of the above.
pub(crate) fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        2 => open().prop_map(Message::Open),
        6 => update().prop_map(Message::Update),
        2 => notification().prop_map(Message::Notification),
        1 => Just(Message::Keepalive),
        1 => route_refresh().prop_map(Message::RouteRefresh),
    ]
}

/// What a peer sends in Established without the session closing: UPDATEs, KEEPALIVEs,
/// ROUTE-REFRESH.
pub(crate) fn established_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        6 => update().prop_map(Message::Update),
        2 => Just(Message::Keepalive),
        1 => route_refresh().prop_map(Message::RouteRefresh),
    ]
}

pub(crate) fn bytes_of(m: &Message) -> Vec<u8> {
    let mut out = Vec::new();
    encode(m, &mut out).unwrap();
    out
}

/// Our configuration in [`established`]: eBGP to [`PEER_ASN`], both families, a next hop of
/// each.
pub(crate) fn local_config() -> Config {
    let mut c = Config::new(LOCAL_ASN, PEER_ASN, Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v4 = Some(Ipv4Addr::new(10, 0, 0, 2));
    c.next_hop_v6 = Some("2001:db8::2".parse().unwrap());
    c
}

/// The OPEN of the scripted peer: AS [`PEER_ASN`], both families, route refresh.
pub(crate) fn peer_open() -> Open {
    Open::new(
        PEER_ASN,
        90,
        Ipv4Addr::new(10, 0, 0, 1),
        vec![
            Capability::Multiprotocol { family: Family::IPV4_UNICAST },
            Capability::Multiprotocol { family: Family::IPV6_UNICAST },
            Capability::RouteRefresh,
        ],
    )
}

/// A session with `config` taken to Established by a scripted peer at time 0 (its actions
/// drained).
pub(crate) fn established(config: Config) -> Session {
    let mut s = Session::new(config).unwrap();
    let now = Duration::ZERO;
    s.start(now);
    s.tcp_connected(now);
    s.handle_bytes(now, &bytes_of(&Message::Open(peer_open())));
    s.handle_bytes(now, &bytes_of(&Message::Keepalive));
    while let Some(a) = s.poll_action() {
        assert!(!matches!(a, Action::Close), "closed on the way up");
    }
    assert_eq!(s.state(), State::Established);
    s
}
