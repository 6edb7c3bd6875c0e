//! Fuzzes the AF_XDP path's frame reader and in-place answer writer with arbitrary frames: no
//! input may panic; a frame that reads as a datagram has its payload inside the frame, and
//! the answer written into it (of any length that fits) reads back as the datagram from
//! server to client with that payload.

use bm_dns::xdp::frame;

/// One input.
pub fn run(data: &[u8]) {
    let Some((&answer_len, bytes)) = data.split_first() else { return };
    let Ok(d) = frame::parse(bytes) else { return };
    assert!(d.payload.start <= d.payload.end && d.payload.end <= bytes.len());
    let at = frame::reply_payload_offset(&d);
    let len = usize::from(answer_len);
    let mut buf = bytes.to_vec();
    buf.resize(buf.len().max(at + len), 0xa5);
    for (i, b) in buf[at..at + len].iter_mut().enumerate() {
        *b = i as u8;
    }
    let n = frame::write_reply(&mut buf, &d, len, 7);
    let r = frame::parse(&buf[..n]).expect("an answer frame reads back");
    assert_eq!((r.source, r.destination), (d.destination, d.source));
    assert_eq!(r.payload.len(), len);
    assert!(buf[r.payload].iter().enumerate().all(|(i, &b)| b == i as u8));
}
