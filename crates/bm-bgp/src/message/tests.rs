//! Codec tests: byte vectors written out from the RFC layouts (and as FRR and GoBGP send
//! them), every NOTIFICATION mapping, RFC 7606 repairs, and proptest properties.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use proptest::prelude::*;

use super::*;

/// Bytes from hex, whitespace ignored: the vectors below follow the RFC layouts field by field.
fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}

/// A whole message: marker, length, type, then `body` (hex).
fn message(t: u8, body: &str) -> Vec<u8> {
    let body = hex(body);
    let mut out = vec![0xff; 16];
    out.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    out.push(t);
    out.extend_from_slice(&body);
    out
}

fn roundtrip(m: &Message) -> Vec<u8> {
    let mut out = vec![0xa5; 3]; // encode appends: junk before must stay
    encode(m, &mut out).unwrap();
    assert_eq!(&out[..3], &[0xa5; 3]);
    let bytes = out.split_off(3);
    assert_eq!(&decode(&bytes).unwrap(), m);
    bytes
}

fn update_of(bytes: &[u8]) -> (Update, Vec<AttributeError>) {
    let d = decode_with_repairs(bytes).unwrap();
    match d.message {
        Message::Update(u) => (u, d.repairs),
        other => panic!("{other:?}"),
    }
}

fn codes(e: &DecodeError) -> (u8, u8, Vec<u8>) {
    let n = e.notification();
    (n.code.code(), n.code.subcode(), n.data)
}

/// OPEN as FRR 8.4 sends it to a neighbour with IPv4 and IPv6 unicast: one capability per
/// optional parameter, Cisco's pre-standard route refresh (128), ADD-PATH (69) and FQDN (73)
/// kept raw, graceful restart as a helper.
static FRR_OPEN: &str = "ffffffff ffffffff ffffffff ffffffff 005b 01
    04 fde9 00b4 0a000001 3e
    02 06 01 04 0001 00 01
    02 06 01 04 0002 00 01
    02 02 80 00
    02 02 02 00
    02 02 46 00
    02 06 41 04 0000fde9
    02 06 45 04 0001 01 01
    02 0a 49 08 06 726f75746572 00
    02 04 40 02 0078";

#[test]
fn open_as_frr_sends_it() {
    let bytes = hex(FRR_OPEN);
    let Message::Open(open) = decode(&bytes).unwrap() else { panic!() };
    assert_eq!((open.my_as, open.hold_time, open.bgp_id), (65001, 180, Ipv4Addr::new(10, 0, 0, 1)));
    assert_eq!(open.asn(), 65001);
    assert_eq!(open.families(), [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert_eq!(
        open.capabilities,
        [
            Capability::Multiprotocol { family: Family::IPV4_UNICAST },
            Capability::Multiprotocol { family: Family::IPV6_UNICAST },
            Capability::Unknown { code: 128, value: vec![] },
            Capability::RouteRefresh,
            Capability::EnhancedRouteRefresh,
            Capability::FourOctetAs { asn: 65001 },
            Capability::Unknown { code: 69, value: hex("0001 01 01") },
            Capability::Unknown { code: 73, value: hex("06 726f75746572 00") },
            Capability::GracefulRestart(GracefulRestart {
                restarting: false,
                notification: false,
                restart_time: 120,
                families: vec![]
            }),
        ]
    );
    // We pack the capabilities into one parameter: the same OPEN, 16 bytes shorter.
    let ours = roundtrip(&Message::Open(open));
    assert_eq!(ours.len(), bytes.len() - 2 * 8);
}

#[test]
fn open_with_a_four_octet_asn_carries_as_trans() {
    let open = Open::new(
        4_200_000_000,
        90,
        Ipv4Addr::new(192, 0, 2, 1),
        vec![Capability::Multiprotocol { family: Family::IPV6_UNICAST }, Capability::RouteRefresh],
    );
    let bytes = roundtrip(&Message::Open(open));
    assert_eq!(
        bytes,
        message(
            1,
            "04 5ba0 005a c0000201 10
             02 0e  41 04 fa56ea00  01 04 0002 00 01  02 00"
        )
    );
}

#[test]
fn open_errors() {
    let open = |body: &str| decode(&message(1, body)).unwrap_err();
    // Version 3: 2/1 with the version we speak.
    assert_eq!(codes(&open("03 fde9 005a 0a000001 00")), (2, 1, vec![0, 4]));
    // Hold time 2: 2/6.
    assert_eq!(codes(&open("04 fde9 0002 0a000001 00")), (2, 6, vec![]));
    // Optional parameter 1 (authentication, long deprecated): 2/4.
    assert_eq!(codes(&open("04 fde9 005a 0a000001 03 01 01 00")), (2, 4, vec![]));
    // A capability running past its parameter: 2/0.
    assert_eq!(codes(&open("04 fde9 005a 0a000001 04 02 02 41 04")), (2, 0, vec![]));
    // A 4-octet AS capability of 2 bytes: 2/0.
    assert_eq!(open("04 fde9 005a 0a000001 04 02 02 41 00"), DecodeError::MalformedOpen { offset: 12 });
    // Optional parameters length past the message, or a short OPEN: 1/2 with the length.
    assert_eq!(codes(&open("04 fde9 005a 0a000001 05 02 02 02 00")), (1, 2, vec![0, 29 + 4]));
    assert_eq!(codes(&open("04 fde9 005a 0a")), (1, 2, vec![0, 25]));
}

/// UPDATE as GoBGP sends an eBGP route: ORIGIN, AS_PATH, NEXT_HOP, MED, COMMUNITIES, NLRI.
#[test]
fn ipv4_update_as_gobgp_sends_it() {
    let bytes = message(
        2,
        "0000 0022
         40 01 01 00
         40 02 06 02 01 0000fde9
         40 03 04 0a000001
         80 04 04 00000000
         c0 08 04 fde90064
         20 c000020a  18 c63364",
    );
    let (u, repairs) = update_of(&bytes);
    assert!(repairs.is_empty());
    assert_eq!(
        u,
        Update {
            withdrawn: vec![],
            attributes: vec![
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::sequence(vec![65001])),
                PathAttribute::NextHop(Ipv4Addr::new(10, 0, 0, 1)),
                PathAttribute::MultiExitDisc(0),
                PathAttribute::Communities(vec![Community::new(65001, 100)]),
            ],
            nlri: vec!["192.0.2.10/32".parse().unwrap(), "198.51.100.0/24".parse().unwrap()],
        }
    );
    assert_eq!(roundtrip(&Message::Update(u)), bytes);
}

/// IPv6 over iBGP: empty AS_PATH, LOCAL_PREF, MP_REACH_NLRI with a global and a link-local
/// next hop (32 bytes, RFC 2545) and extended length, large communities, a withdrawal.
#[test]
fn ipv6_update_with_link_local_next_hop() {
    let bytes = message(
        2,
        "0000 0067
         40 01 01 00
         40 02 00
         40 05 04 00000064
         90 0e 002e 0002 01 20 20010db8000000000000000000000001 fe800000000000000000000000000001 00
            40 20010db800010000
         90 0f 0014 0002 01 80 20010db8000000000000000000000099
         c0 20 0c 0000fde9 00000001 00000002",
    );
    let (u, repairs) = update_of(&bytes);
    assert!(repairs.is_empty());
    let mp = u.mp_reach().unwrap();
    assert_eq!(
        mp.next_hop,
        NextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: Some("fe80::1".parse().unwrap()) }
    );
    assert_eq!(u.announced(), ["2001:db8:1::/64".parse::<ipnet::IpNet>().unwrap()]);
    assert_eq!(u.withdrawn_routes(), ["2001:db8::99/128".parse::<ipnet::IpNet>().unwrap()]);
    assert_eq!(u.attribute(attribute_type::LOCAL_PREF), Some(&PathAttribute::LocalPref(100)));
    assert_eq!(
        u.attribute(attribute_type::LARGE_COMMUNITY),
        Some(&PathAttribute::LargeCommunities(vec![LargeCommunity { global: 65001, local1: 1, local2: 2 }]))
    );
    // We use the 1-byte length where it fits: same attributes, 2 bytes shorter.
    let ours = roundtrip(&Message::Update(u));
    assert_eq!(ours.len(), bytes.len() - 2);
}

#[test]
fn end_of_rib() {
    let v4 = message(2, "0000 0000");
    assert_eq!(v4.len(), 23);
    assert_eq!(roundtrip(&Message::Update(Update::end_of_rib(Family::IPV4_UNICAST))), v4);
    // GoBGP: 1-byte length; FRR: extended length.
    let v6 = message(2, "0000 0006 80 0f 03 0002 01");
    assert_eq!(roundtrip(&Message::Update(Update::end_of_rib(Family::IPV6_UNICAST))), v6);
    let frr = message(2, "0000 0007 90 0f 0003 0002 01");
    assert_eq!(update_of(&frr).0.end_of_rib_family(), Some(Family::IPV6_UNICAST));
    // Another family's: kept raw, still recognised.
    let l2vpn = message(2, "0000 0006 80 0f 03 0019 46");
    assert_eq!(update_of(&l2vpn).0.end_of_rib_family(), Some(Family { afi: 25, safi: 70 }));
    assert_eq!(roundtrip(&Message::Update(Update::end_of_rib(Family { afi: 25, safi: 70 }))), l2vpn);
}

#[test]
fn notification_keepalive_route_refresh() {
    let n = message(3, "06 02 0b 6d61696e74656e616e6365");
    let Message::Notification(got) = decode(&n).unwrap() else { panic!() };
    assert_eq!(got.shutdown_message(), Some("maintenance"));
    assert_eq!(roundtrip(&Message::Notification(Notification::shutdown("maintenance").unwrap())), n);
    // Hold timer expired, no data.
    assert_eq!(
        roundtrip(&Message::Notification(Notification::new(ErrorCode::HoldTimerExpired, vec![]))),
        message(3, "04 00")
    );
    // A shutdown communication whose length byte lies: no message, no error (RFC 9003 §4).
    let Message::Notification(liar) = decode(&message(3, "06 04 20 6869")).unwrap() else { panic!() };
    assert_eq!((liar.code, liar.shutdown_message()), (ErrorCode::Cease(CeaseSubcode::AdministrativeReset), None));
    // 255 bytes fit, 256 do not.
    assert!(Notification::shutdown(&"x".repeat(255)).is_ok());
    assert_eq!(Notification::shutdown(&"x".repeat(256)), Err(EncodeError::ShutdownMessageTooLong(256)));
    // Short NOTIFICATION: 1/2.
    assert_eq!(codes(&decode(&message(3, "06")).unwrap_err()), (1, 2, vec![0, 20]));

    assert_eq!(roundtrip(&Message::Keepalive), message(4, ""));
    assert_eq!(codes(&decode(&message(4, "00")).unwrap_err()), (1, 2, vec![0, 20]));

    let rr = message(5, "0002 00 01");
    assert_eq!(roundtrip(&Message::RouteRefresh(RouteRefresh::new(Family::IPV6_UNICAST))), rr);
    assert_eq!(codes(&decode(&message(5, "0002 00")).unwrap_err()), (1, 2, vec![0, 22]));
}

#[test]
fn every_error_code_and_subcode_round_trips() {
    for code in 0..=255u8 {
        for subcode in 0..=255u8 {
            let c = ErrorCode::from_codes(code, subcode);
            assert_eq!((c.code(), c.subcode()), (code, subcode));
        }
    }
    assert_eq!(ErrorCode::from_codes(6, 2), ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown));
    assert_eq!(ErrorCode::from_codes(6, 10), ErrorCode::Cease(CeaseSubcode::BfdDown));
    assert_eq!(ErrorCode::from_codes(3, 11), ErrorCode::Update(UpdateSubcode::MalformedAsPath));
    assert_eq!(ErrorCode::from_codes(4, 1), ErrorCode::Other { code: 4, subcode: 1 });
    assert_eq!(ErrorCode::from_codes(5, 2), ErrorCode::Fsm(FsmSubcode::UnexpectedMessageInOpenConfirm));
}

#[test]
fn header_errors_map_to_code_1() {
    let mut bad_marker = message(4, "");
    bad_marker[7] = 0xfe;
    assert_eq!(codes(&decode(&bad_marker).unwrap_err()), (1, 1, vec![]));
    let mut long = message(4, "");
    long[16..18].copy_from_slice(&5000u16.to_be_bytes());
    assert_eq!(codes(&decode(&long).unwrap_err()), (1, 2, vec![0x13, 0x88]));
    assert_eq!(codes(&decode(&message(6, "")).unwrap_err()), (1, 3, vec![6]));
    assert_eq!(codes(&decode(&[0xff; 10]).unwrap_err()), (1, 2, vec![0, 10]));
    // A length field that is not the message's.
    let mut lying = message(4, "");
    lying.push(0);
    assert_eq!(decode(&lying).unwrap_err(), DecodeError::BadLength { length: 19 });
}

#[test]
fn update_errors_that_reset_the_session() {
    let update = |body: &str| decode(&message(2, body)).unwrap_err();
    // Withdrawn routes length past the message: 3/1.
    assert_eq!(codes(&update("0010 0000")), (3, 1, vec![]));
    // Total path attribute length past the message: 3/1.
    assert_eq!(codes(&update("0000 0010 40 01 01 00")), (3, 1, vec![]));
    // A /33 in the NLRI: 3/10; a prefix running past the message too.
    assert_eq!(codes(&update("0000 0000 21 0a000000 00")), (3, 10, vec![]));
    assert_eq!(update("0000 0000 18 0a00"), DecodeError::InvalidNetworkField { offset: 4 });
    assert_eq!(codes(&update("0001 20 0000")), (3, 10, vec![]));
    // An unknown well-known attribute (Optional clear): 3/2 with the attribute.
    assert_eq!(codes(&update("0000 0004 40 63 01 07")), (3, 2, hex("40 63 01 07")));
    // MP_REACH_NLRI with a 5-byte IPv6 next hop: 3/9 (RFC 7606 §7.11: session reset).
    assert_eq!(
        codes(&update("0000 000d 80 0e 0a 0002 01 05 0000000000 00")),
        (3, 9, hex("80 0e 0a 0002 01 05 0000000000 00"))
    );
    // An IPv6 prefix /129 inside MP_UNREACH_NLRI: session reset.
    let e = update("0000 0007 80 0f 04 0002 01 81");
    assert!(matches!(&e, DecodeError::Attribute(a) if a.kind == AttributeErrorKind::MalformedMultiprotocol));
    // MP_UNREACH_NLRI twice: 3/1 (RFC 7606 §3 g).
    assert_eq!(codes(&update("0000 000c 80 0f 03 0002 01 80 0f 03 0002 01")), (3, 1, vec![]));
    // MP_REACH_NLRI with the flags of a well-known attribute.
    assert_eq!(
        codes(&update("0000 000c 40 0e 09 0001 01 04 0a000001 00")),
        (3, 4, hex("40 0e 09 0001 01 04 0a000001 00"))
    );
}

/// The well-formed attributes a route needs, then `bad`, then one IPv4 prefix.
fn route_with(bad: &str) -> Vec<u8> {
    let attrs = hex(&format!("40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 0a000001 {bad}"));
    message(
        2,
        &format!(
            "0000 {:04x} {} 20 c000020a",
            attrs.len(),
            attrs.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    )
}

#[test]
fn treat_as_withdraw() {
    let cases = [
        ("80 04 02 0000", attribute_type::MULTI_EXIT_DISC, AttributeErrorKind::Length),
        ("40 05 03 000064", attribute_type::LOCAL_PREF, AttributeErrorKind::Length),
        ("c0 08 03 fde900", attribute_type::COMMUNITIES, AttributeErrorKind::Length),
        ("c0 20 0a 00000000000000000000", attribute_type::LARGE_COMMUNITY, AttributeErrorKind::Length),
        // COMMUNITIES marked well-known.
        ("40 08 04 fde90064", attribute_type::COMMUNITIES, AttributeErrorKind::Flags),
        // An attribute whose length runs past the attributes.
        ("c0 08 09 fde90064", attribute_type::COMMUNITIES, AttributeErrorKind::Overrun),
    ];
    for (bad, type_code, kind) in cases {
        let (u, repairs) = update_of(&route_with(bad));
        let route: Ipv4Net = "192.0.2.10/32".parse().unwrap();
        if kind == AttributeErrorKind::Overrun {
            // The prefix was read as part of the attribute: nothing left to withdraw.
            assert_eq!((u.nlri.len(), u.attributes.len()), (0, 0), "{bad}");
        } else {
            assert_eq!(u, Update { withdrawn: vec![route], attributes: vec![], nlri: vec![] }, "{bad}");
        }
        assert_eq!(repairs.len(), 1, "{bad}");
        assert_eq!(
            (repairs[0].type_code, repairs[0].kind, repairs[0].action),
            (type_code, kind, ErrorAction::TreatAsWithdraw)
        );
    }
    // ORIGIN 5, AS_PATH with segment type 7, NEXT_HOP of 5 bytes: the mandatory ones.
    for (attrs, kind) in [
        ("40 01 01 05  40 02 06 02 01 0000fde9  40 03 04 0a000001", AttributeErrorKind::InvalidOrigin),
        ("40 01 01 00  40 02 06 07 01 0000fde9  40 03 04 0a000001", AttributeErrorKind::MalformedAsPath),
        ("40 01 01 00  40 02 06 02 00 0000fde9  40 03 04 0a000001", AttributeErrorKind::MalformedAsPath),
        ("40 01 01 00  40 02 06 02 01 0000fde9  40 03 05 0a00000100", AttributeErrorKind::Length),
        ("c0 01 01 00  40 02 06 02 01 0000fde9  40 03 04 0a000001", AttributeErrorKind::Flags),
        ("40 01 01 00  40 02 06 02 01 0000fde9", AttributeErrorKind::Missing),
    ] {
        let len = hex(attrs).len();
        let (u, repairs) = update_of(&message(2, &format!("0000 {len:04x} {attrs} 20 c000020a")));
        assert_eq!(u.withdrawn, ["192.0.2.10/32".parse::<Ipv4Net>().unwrap()], "{attrs}");
        assert!(u.nlri.is_empty() && u.attributes.is_empty());
        assert_eq!(repairs[0].kind, kind);
        assert_eq!(repairs[0].action, ErrorAction::TreatAsWithdraw);
    }
    // IPv6 routes in MP_REACH_NLRI are withdrawn through MP_UNREACH_NLRI.
    let attrs = "40 01 01 07  40 02 00  80 0e 1e 0002 01 10 20010db8000000000000000000000001 00 40 20010db800010000";
    let len = hex(attrs).len();
    let (u, repairs) = update_of(&message(2, &format!("0000 {len:04x} {attrs}")));
    assert_eq!(repairs[0].kind, AttributeErrorKind::InvalidOrigin);
    assert_eq!(u.withdrawn_routes(), ["2001:db8:1::/64".parse::<ipnet::IpNet>().unwrap()]);
    assert_eq!(u.announced(), []);
}

#[test]
fn duplicates_are_discarded_and_unknown_attributes_kept() {
    // ORIGIN twice: the second goes; an unknown optional transitive attribute with Partial
    // set is kept with its flags.
    let (u, repairs) = update_of(&route_with("40 01 01 02  e0 63 02 abcd"));
    assert_eq!(u.attribute(attribute_type::ORIGIN), Some(&PathAttribute::Origin(Origin::Igp)));
    assert_eq!(u.nlri.len(), 1);
    assert_eq!(repairs.len(), 1);
    assert_eq!((repairs[0].kind, repairs[0].action), (AttributeErrorKind::Duplicate, ErrorAction::AttributeDiscard));
    assert_eq!(
        u.attribute(0x63),
        Some(&PathAttribute::Other(RawAttribute { flags: 0xe0, type_code: 0x63, value: vec![0xab, 0xcd] }))
    );
    // An UPDATE with only withdrawals needs no attribute.
    let (u, repairs) = update_of(&message(2, "0005 20 c000020a 0000"));
    assert_eq!((u.withdrawn.len(), repairs.len()), (1, 0));
}

#[test]
fn encode_errors() {
    let too_many: Vec<Ipv4Net> = (0..1100u32).map(|i| Ipv4Net::new(Ipv4Addr::from(i << 8), 24).unwrap()).collect();
    let mut out = vec![1, 2, 3];
    let err = encode(&Message::Update(Update { nlri: too_many, ..Update::default() }), &mut out).unwrap_err();
    assert!(matches!(err, EncodeError::TooLong { .. }));
    assert_eq!(out, [1, 2, 3], "left as it was");
    let bad_nh = PathAttribute::MpReach(MpReach {
        next_hop: NextHop::Ipv4 { addr: Ipv4Addr::LOCALHOST },
        nlri: Prefixes::Ipv6(vec![]),
    });
    let u = Update { attributes: vec![bad_nh], ..Update::default() };
    assert_eq!(encode(&Message::Update(u), &mut out), Err(EncodeError::NextHopFamily));
    let empty_segment = AsPath { segments: vec![AsSegment { kind: AsSegmentType::Set, asns: vec![] }] };
    let u = Update { attributes: vec![PathAttribute::AsPath(empty_segment)], ..Update::default() };
    assert_eq!(encode(&Message::Update(u), &mut out), Err(EncodeError::AsSegmentLength));
    let gr = GracefulRestart { restarting: false, notification: false, restart_time: 5000, families: vec![] };
    let open = Open::new(1, 90, Ipv4Addr::LOCALHOST, vec![Capability::GracefulRestart(gr)]);
    assert_eq!(encode(&Message::Open(open), &mut out), Err(EncodeError::RestartTime(5000)));
}

#[test]
fn serde_forms() {
    let n = Notification::shutdown("bye").unwrap();
    let json = serde_json::to_string(&n).unwrap();
    assert_eq!(json, r#"{"code":{"code":"cease","subcode":"administrative_shutdown"},"data":[3,98,121,101]}"#);
    let m = Message::Update(Update::end_of_rib(Family::IPV6_UNICAST));
    let back: Message = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
    assert_eq!(back, m);
}

// ---- properties ----

fn v4net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
}

fn v6net() -> impl Strategy<Value = ipnet::Ipv6Net> {
    (any::<u128>(), 0u8..=128).prop_map(|(a, l)| ipnet::Ipv6Net::new(a.into(), l).unwrap().trunc())
}

fn prefixes() -> impl Strategy<Value = Prefixes> {
    prop_oneof![
        prop::collection::vec(v4net(), 0..8).prop_map(Prefixes::Ipv4),
        prop::collection::vec(v6net(), 0..8).prop_map(Prefixes::Ipv6),
    ]
}

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![
        Just(Family::IPV4_UNICAST),
        Just(Family::IPV6_UNICAST),
        (any::<u16>(), any::<u8>()).prop_map(|(afi, safi)| Family { afi, safi })
    ]
}

fn capability() -> impl Strategy<Value = Capability> {
    prop_oneof![
        family().prop_map(|family| Capability::Multiprotocol { family }),
        Just(Capability::RouteRefresh),
        Just(Capability::EnhancedRouteRefresh),
        any::<u32>().prop_map(|asn| Capability::FourOctetAs { asn }),
        (any::<bool>(), any::<bool>(), 0u16..4096, prop::collection::vec((family(), any::<bool>()), 0..4)).prop_map(
            |(restarting, notification, restart_time, fams)| Capability::GracefulRestart(GracefulRestart {
                restarting,
                notification,
                restart_time,
                families: fams
                    .into_iter()
                    .map(|(family, forwarding_preserved)| GracefulRestartFamily { family, forwarding_preserved })
                    .collect(),
            })
        ),
        (
            any::<u8>().prop_filter("unknown", |c| ![1, 2, 64, 65, 70].contains(c)),
            prop::collection::vec(any::<u8>(), 0..20)
        )
            .prop_map(|(code, value)| Capability::Unknown { code, value }),
    ]
}

fn attribute() -> impl Strategy<Value = PathAttribute> {
    let segment = (1u8..=4, prop::collection::vec(any::<u32>(), 1..6)).prop_map(|(k, asns)| AsSegment {
        kind: [AsSegmentType::Set, AsSegmentType::Sequence, AsSegmentType::ConfedSequence, AsSegmentType::ConfedSet]
            [usize::from(k - 1)],
        asns,
    });
    let next_hop_v6 = (any::<u128>(), prop::option::of(any::<u128>()))
        .prop_map(|(g, ll)| NextHop::Ipv6 { global: g.into(), link_local: ll.map(Into::into) });
    prop_oneof![
        prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)].prop_map(PathAttribute::Origin),
        prop::collection::vec(segment, 0..4).prop_map(|segments| PathAttribute::AsPath(AsPath { segments })),
        any::<u32>().prop_map(|a| PathAttribute::NextHop(Ipv4Addr::from(a))),
        any::<u32>().prop_map(PathAttribute::MultiExitDisc),
        any::<u32>().prop_map(PathAttribute::LocalPref),
        prop::collection::vec(any::<u32>().prop_map(Community), 1..10).prop_map(PathAttribute::Communities),
        prop::collection::vec(
            (any::<u32>(), any::<u32>(), any::<u32>()).prop_map(|(global, local1, local2)| LargeCommunity {
                global,
                local1,
                local2
            }),
            1..5
        )
        .prop_map(PathAttribute::LargeCommunities),
        (any::<u32>(), prop::collection::vec(v4net(), 0..5)).prop_map(|(a, p)| PathAttribute::MpReach(MpReach {
            next_hop: NextHop::Ipv4 { addr: Ipv4Addr::from(a) },
            nlri: Prefixes::Ipv4(p)
        })),
        (next_hop_v6, prop::collection::vec(v6net(), 0..5))
            .prop_map(|(next_hop, p)| PathAttribute::MpReach(MpReach { next_hop, nlri: Prefixes::Ipv6(p) })),
        prefixes().prop_map(|withdrawn| PathAttribute::MpUnreach(MpUnreach { withdrawn })),
        (any::<u8>(), 33u8..=255, prop::collection::vec(any::<u8>(), 0..300))
            .prop_filter("not parsed", |(_, t, _)| *t != 14 && *t != 15)
            .prop_map(|(flags, type_code, value)| PathAttribute::Other(RawAttribute {
                flags: (flags | attribute_flags::OPTIONAL) & !attribute_flags::EXTENDED_LENGTH,
                type_code,
                value
            })),
    ]
}

/// Attributes with distinct type codes (duplicates are repaired, not kept).
fn attributes() -> impl Strategy<Value = Vec<PathAttribute>> {
    prop::collection::vec(attribute(), 0..6).prop_map(|mut attrs| {
        let mut seen = std::collections::HashSet::new();
        attrs.retain(|a| seen.insert(a.type_code()));
        attrs
    })
}

fn update() -> impl Strategy<Value = Update> {
    (prop::collection::vec(v4net(), 0..10), attributes(), prop::collection::vec(v4net(), 0..10)).prop_map(
        |(withdrawn, mut attributes, nlri)| {
            // Routes need the mandatory attributes, or they are treated as withdrawn.
            let announces = !nlri.is_empty() || attributes.iter().any(|a| matches!(a, PathAttribute::MpReach(_)));
            if announces {
                for needed in [
                    PathAttribute::Origin(Origin::Igp),
                    PathAttribute::AsPath(AsPath::default()),
                    PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)),
                ] {
                    if !attributes.iter().any(|a| a.type_code() == needed.type_code()) {
                        attributes.push(needed);
                    }
                }
            }
            Update { withdrawn, attributes, nlri }
        },
    )
}

fn notification() -> impl Strategy<Value = Notification> {
    (any::<u8>(), any::<u8>(), prop::collection::vec(any::<u8>(), 0..40))
        .prop_map(|(c, s, data)| Notification::new(ErrorCode::from_codes(c, s), data))
}

fn any_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u32>(), prop_oneof![Just(0u16), 3u16..], any::<u32>(), prop::collection::vec(capability(), 0..8))
            .prop_map(|(asn, hold, id, caps)| Message::Open(Open::new(asn, hold, Ipv4Addr::from(id), caps))),
        (any::<u16>(), prop_oneof![Just(0u16), 3u16..], any::<u32>(), prop::collection::vec(capability(), 0..8))
            .prop_map(|(my_as, hold_time, id, capabilities)| Message::Open(Open {
                my_as,
                hold_time,
                bgp_id: Ipv4Addr::from(id),
                capabilities
            })),
        update().prop_map(Message::Update),
        notification().prop_map(Message::Notification),
        Just(Message::Keepalive),
        (family(), any::<u8>()).prop_map(|(family, subtype)| Message::RouteRefresh(RouteRefresh { family, subtype })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_encodable_message_decodes_back_equal(m in any_message()) {
        let mut bytes = Vec::new();
        if encode(&m, &mut bytes).is_ok() {
            prop_assert!(bytes.len() <= MAX_MESSAGE_LEN);
            let d = decode_with_repairs(&bytes).unwrap();
            prop_assert_eq!(d.repairs, vec![]);
            prop_assert_eq!(d.message, m);
        } else {
            prop_assert!(bytes.is_empty());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(t in 1u8..=6, body in prop::collection::vec(any::<u8>(), 0..200)) {
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
        bytes.push(t);
        bytes.extend_from_slice(&body);
        if let Err(e) = decode_with_repairs(&bytes) {
            let _ = e.notification();
        }
    }

    #[test]
    fn arbitrary_update_bodies_never_panic(attrs in prop::collection::vec(any::<u8>(), 0..200), nlri in prop::collection::vec(any::<u8>(), 0..20)) {
        let mut body = vec![0, 0];
        body.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
        body.extend_from_slice(&attrs);
        body.extend_from_slice(&nlri);
        let mut bytes = vec![0xff; 16];
        bytes.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
        bytes.push(2);
        bytes.extend_from_slice(&body);
        match decode_with_repairs(&bytes) {
            Ok(d) => {
                // A repaired UPDATE encodes again.
                let mut again = Vec::new();
                prop_assert!(encode(&d.message, &mut again).is_ok());
            }
            Err(e) => {
                let _ = e.notification();
            }
        }
    }

    #[test]
    fn raw_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        let _ = decode(&bytes);
    }

    #[test]
    fn the_framer_splits_anywhere(ms in prop::collection::vec(any_message(), 1..6), cuts in prop::collection::vec(any::<usize>(), 0..10)) {
        let mut stream = Vec::new();
        let mut sent = Vec::new();
        for m in ms {
            if encode(&m, &mut stream).is_ok() {
                sent.push(m);
            }
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.push(stream.len());
        cuts.sort_unstable();
        let mut framer = crate::Framer::new();
        let mut got = Vec::new();
        let mut at = 0;
        for cut in cuts {
            framer.push(&stream[at..cut]);
            at = cut;
            while let Some(m) = framer.next_message() {
                got.push(decode(&m.unwrap()).unwrap());
            }
        }
        prop_assert_eq!(got, sent);
        prop_assert_eq!(framer.buffered(), 0);
    }

    #[test]
    fn the_framer_never_panics(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..10)) {
        let mut framer = crate::Framer::new();
        for chunk in chunks {
            framer.push(&chunk);
            let mut n = 0;
            while let Some(m) = framer.next_message() {
                n += 1;
                if m.is_err() || n > 100 {
                    break;
                }
            }
        }
    }
}
