//! Round-trip properties of the codecs over well-formed messages built from strategies
//! (`strategies/`): every OPEN, UPDATE (IPv4 NLRI, MP_REACH/MP_UNREACH IPv6, withdrawn
//! routes, AS_PATH segments, MED, LOCAL_PREF, communities, large communities), NOTIFICATION,
//! KEEPALIVE and ROUTE-REFRESH encodes, to exactly [`encoded_len`] bytes, and decodes back equal
//! with nothing repaired; UPDATEs too long for 4096 bytes are refused whole; BFD control packets
//! round-trip, and decode refuses exactly the fields RFC 5880 §6.8.6 says to.
//!
//! The strategies make what an Established session exchanges, not mostly-rejected junk: the
//! first property requires every message to encode, and `session.rs` feeds the same UPDATEs to
//! an Established session, which must keep them all.

mod strategies;

use bm_bgp::bfd::{BfdState, CONTROL_LEN, ControlPacket, Diag, DropReason};
use bm_bgp::message::{
    EncodeError, HEADER_LEN, MAX_MESSAGE_LEN, Message, Notification, PathAttribute, Update, decode,
    decode_with_repairs, encode, encoded_len,
};
use proptest::prelude::*;
use strategies::*;

/// Encodes `m` after some junk (encode appends), checks the length, decodes it back.
fn round_trip(m: &Message) -> Result<Vec<u8>, TestCaseError> {
    let mut out = vec![0xa5; 3];
    encode(m, &mut out).map_err(|e| TestCaseError::fail(format!("{e}: {m:?}")))?;
    prop_assert_eq!(&out[..3], &[0xa5; 3]);
    let bytes = out.split_off(3);
    prop_assert!((HEADER_LEN..=MAX_MESSAGE_LEN).contains(&bytes.len()));
    prop_assert_eq!(usize::from(u16::from_be_bytes([bytes[16], bytes[17]])), bytes.len());
    prop_assert_eq!(encoded_len(m), Ok(bytes.len()));
    let d = decode_with_repairs(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {m:?}")))?;
    prop_assert_eq!(d.repairs, vec![]);
    prop_assert_eq!(&d.message, m);
    // Canonical: the decoded message encodes to the same bytes.
    let mut again = Vec::new();
    encode(&d.message, &mut again).unwrap();
    prop_assert_eq!(&again, &bytes);
    Ok(bytes)
}

/// A valid control packet: detect multiplier and my discriminator non-zero, your discriminator
/// non-zero unless Down or AdminDown, any diagnostic, flags and intervals.
fn bfd_packet() -> impl Strategy<Value = ControlPacket> {
    let state = prop_oneof![Just(BfdState::AdminDown), Just(BfdState::Down), Just(BfdState::Init), Just(BfdState::Up)];
    (
        (0u8..32, state, any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        (1u8.., 1u32.., any::<u32>()),
        (any::<u32>(), any::<u32>(), any::<u32>()),
    )
        .prop_map(|((diag, state, poll, final_, cpi, demand), (mult, my, your), (tx, rx, echo))| {
            let your = if your == 0 && matches!(state, BfdState::Init | BfdState::Up) { 1 } else { your };
            ControlPacket {
                diag: Diag::from_code(diag),
                state,
                poll,
                final_,
                control_plane_independent: cpi,
                demand,
                detect_mult: mult,
                my_discriminator: my,
                your_discriminator: your,
                desired_min_tx: tx,
                required_min_rx: rx,
                required_min_echo_rx: echo,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn every_message_encodes_and_decodes_back_equal(m in message()) {
        round_trip(&m)?;
    }

    #[test]
    fn updates_round_trip_with_their_routes(u in update()) {
        let bytes = round_trip(&Message::Update(u.clone()))?;
        let Ok(Message::Update(back)) = decode(&bytes) else { return Err(TestCaseError::fail("not an UPDATE")) };
        prop_assert_eq!(back.announced(), u.announced());
        prop_assert_eq!(back.withdrawn_routes(), u.withdrawn_routes());
        prop_assert_eq!(back.end_of_rib_family(), u.end_of_rib_family());
        // Routes carry the mandatory attributes; MP_REACH_NLRI comes first (RFC 7606 §5.1).
        if !u.announced().is_empty() {
            for code in [1, 2] {
                prop_assert!(back.attribute(code).is_some());
            }
        }
        if back.mp_reach().is_some() {
            prop_assert!(matches!(back.attributes[0], PathAttribute::MpReach(_)));
        }
    }

    #[test]
    fn shutdown_communications_round_trip(text in shutdown_text()) {
        let n = Notification::shutdown(&text).unwrap();
        let bytes = round_trip(&Message::Notification(n))?;
        let Ok(Message::Notification(back)) = decode(&bytes) else { return Err(TestCaseError::fail("not a NOTIFICATION")) };
        prop_assert_eq!(back.shutdown_message(), (!text.is_empty()).then_some(text.as_str()));
    }

    /// Up to 1200 host routes in one UPDATE: those that fit in 4096 bytes round-trip, the others
    /// are refused whole with the length they would have, the buffer untouched.
    #[test]
    fn updates_too_long_are_refused_whole(n in 0usize..1200, base in update_v4()) {
        let nlri = (0..n).map(|i| ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0a00_0000 + i as u32), 32).unwrap()).collect();
        let m = Message::Update(Update { nlri, ..base });
        let mut out = vec![1, 2, 3];
        match encode(&m, &mut out) {
            Ok(()) => {
                round_trip(&m)?;
            }
            Err(EncodeError::TooLong { length }) => {
                prop_assert!(length > MAX_MESSAGE_LEN);
                prop_assert_eq!(out, vec![1, 2, 3]);
                prop_assert_eq!(encoded_len(&m), Err(EncodeError::TooLong { length }));
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        }
    }

    #[test]
    fn bfd_packets_round_trip(p in bfd_packet(), extra in prop::collection::vec(any::<u8>(), 0..8)) {
        let bytes = p.encode();
        prop_assert_eq!(usize::from(bytes[3]), CONTROL_LEN);
        prop_assert_eq!(ControlPacket::decode(&bytes), Ok(p));
        // A longer datagram is read to the length field.
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(ControlPacket::decode(&longer), Ok(p));
        prop_assert_eq!(Diag::from_code(p.diag.code()), p.diag);
    }

    /// Any field values: decode gives the packet back, or refuses it for the first of the
    /// checks it fails, in RFC 5880 §6.8.6's order.
    #[test]
    fn bfd_fields_decode_back_or_are_dropped_for_the_right_reason(
        mut p in bfd_packet(),
        zero_mult in any::<bool>(),
        zero_my in any::<bool>(),
        zero_your in any::<bool>(),
    ) {
        if zero_mult { p.detect_mult = 0; }
        if zero_my { p.my_discriminator = 0; }
        if zero_your { p.your_discriminator = 0; }
        let want = if p.detect_mult == 0 {
            Err(DropReason::ZeroDetectMult)
        } else if p.my_discriminator == 0 {
            Err(DropReason::ZeroMyDiscriminator)
        } else if p.your_discriminator == 0 && matches!(p.state, BfdState::Init | BfdState::Up) {
            Err(DropReason::ZeroYourDiscriminator(p.state))
        } else {
            Ok(p)
        };
        prop_assert_eq!(ControlPacket::decode(&p.encode()), want);
    }
}
