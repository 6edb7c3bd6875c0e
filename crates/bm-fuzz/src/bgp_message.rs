//! Fuzzes the BGP message codec (`bm_bgp::message`) and the [`Framer`], differentially.
//!
//! The input's first byte seeds the chunk sizes; the rest is read three ways:
//!
//! - as one message, as received: [`decode`] and [`decode_with_repairs`] never panic and agree;
//!   an error's NOTIFICATION encodes (the session sends it); whatever decodes encodes,
//!   [`encoded_len`] is the length of that encoding, the encoding decodes to an equal message
//!   with nothing left to repair (`decode(encode(decode(x))) == decode(x)`), and encoding that
//!   again gives the same bytes;
//! - as one message with the marker and the length field set to fit the bytes, so that the
//!   fuzzer's mutations reach the bodies (OPEN, UPDATE, NOTIFICATION, ROUTE-REFRESH) rather
//!   than stopping at the header; checked as above;
//! - as a TCP stream: a [`Framer`] fed it in pseudo-random chunk sizes (1 to 300 bytes) gives
//!   the same messages, the same header error (which sticks) and the same bytes left over as a
//!   [`Framer`] fed the whole stream at once; every framed message is checked as above.

use bm_bgp::Framer;
use bm_bgp::message::{
    DecodeError, HEADER_LEN, MARKER, MAX_MESSAGE_LEN, Message, decode, decode_with_repairs, encode, encoded_len,
};

/// Checks one received message; returns it when it decodes.
pub fn check_message(bytes: &[u8]) -> Option<Message> {
    let repaired = decode_with_repairs(bytes);
    assert_eq!(decode(bytes), repaired.clone().map(|d| d.message), "decode and decode_with_repairs disagree");
    let decoded = match repaired {
        Ok(d) => d,
        Err(e) => {
            let n = e.notification();
            let mut out = Vec::new();
            encode(&Message::Notification(n.clone()), &mut out)
                .unwrap_or_else(|err| panic!("the NOTIFICATION for {e:?} does not encode: {err:?} ({n:?})"));
            return None;
        }
    };
    for r in &decoded.repairs {
        assert!(r.offset < bytes.len(), "repair offset {} outside the message: {r:?}", r.offset);
    }
    let m = decoded.message;
    let mut out = Vec::new();
    encode(&m, &mut out).unwrap_or_else(|e| panic!("a decoded message does not encode: {e:?}\n{m:?}"));
    assert_eq!(encoded_len(&m), Ok(out.len()), "encoded_len is not the encoding's length");
    assert!((HEADER_LEN..=MAX_MESSAGE_LEN).contains(&out.len()));
    let again = decode_with_repairs(&out).unwrap_or_else(|e| panic!("the re-encoding does not decode: {e:?}\n{m:?}"));
    assert_eq!(again.message, m, "decode(encode(decode(x))) != decode(x)");
    assert!(again.repairs.is_empty(), "the re-encoding still needs repairs: {:?}", again.repairs);
    let mut twice = Vec::new();
    encode(&again.message, &mut twice).expect("encodes again");
    assert_eq!(twice, out, "the encoding is not canonical");
    Some(m)
}

/// Frames `stream` whole: the messages up to the first header error, that error, and the bytes
/// left over.
fn frame_whole(stream: &[u8]) -> (Vec<Result<Vec<u8>, DecodeError>>, usize) {
    let mut f = Framer::new();
    f.push(stream);
    let mut out = Vec::new();
    drain(&mut f, &mut out);
    (out, f.buffered())
}

/// Takes every whole message out of `f`; stops after an error (it sticks).
fn drain(f: &mut Framer, out: &mut Vec<Result<Vec<u8>, DecodeError>>) {
    if matches!(out.last(), Some(Err(_))) {
        assert!(f.error().is_some());
        return;
    }
    while let Some(m) = f.next_message() {
        let failed = m.is_err();
        out.push(m);
        if failed {
            assert_eq!(f.next_message().map(|m| m.err()), Some(out.last().cloned().and_then(Result::err)));
            assert_eq!(f.buffered(), 0, "a failed framer keeps nothing");
            return;
        }
    }
}

/// splitmix64, for the chunk sizes.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One input.
pub fn run(data: &[u8]) {
    let Some((&seed, stream)) = data.split_first() else { return };

    check_message(stream);
    if (HEADER_LEN..=MAX_MESSAGE_LEN).contains(&stream.len()) {
        let mut fixed = stream.to_vec();
        fixed[..16].copy_from_slice(&MARKER);
        fixed[16..18].copy_from_slice(&(stream.len() as u16).to_be_bytes());
        check_message(&fixed);
    }

    let (whole, left) = frame_whole(stream);
    let mut f = Framer::new();
    let mut chunked = Vec::new();
    let mut state = u64::from(seed);
    let mut at = 0;
    while at < stream.len() {
        let r = next(&mut state);
        // Mostly small pieces, sometimes a large one.
        let size = if r & 0x300 == 0 { 1 + (r >> 16) as usize % 300 } else { 1 + (r >> 16) as usize % 24 };
        let end = (at + size).min(stream.len());
        f.push(&stream[at..end]);
        at = end;
        drain(&mut f, &mut chunked);
    }
    assert_eq!(chunked, whole, "chunked framing differs from whole-buffer framing");
    assert_eq!(f.buffered(), left, "chunked framing leaves other bytes");
    for m in whole.iter().flatten() {
        assert_eq!(usize::from(u16::from_be_bytes([m[16], m[17]])), m.len());
        check_message(m);
    }
}
