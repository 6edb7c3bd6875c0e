//! Cuts a TCP byte stream into BGP messages: at most one message of 4096 bytes is ever
//! buffered beyond what the caller pushed, and a bad header (marker, length) stops the stream
//! for good, since nothing after it can be trusted.

use crate::message::{DecodeError, HEADER_LEN, Header};

/// A message framer over a TCP stream.
///
/// Push bytes as they arrive with [`Framer::push`], then take whole messages with
/// [`Framer::next_message`] until it returns `None`. A header error is fatal and sticks: every
/// later call returns it (the session sends its NOTIFICATION and closes).
///
/// ```
/// use bm_bgp::Framer;
/// use bm_bgp::message::{Message, decode, encode};
///
/// let mut stream = Vec::new();
/// encode(&Message::Keepalive, &mut stream).unwrap();
/// encode(&Message::Keepalive, &mut stream).unwrap();
/// let mut framer = Framer::new();
/// framer.push(&stream[..25]); // one and a bit
/// let first = framer.next_message().unwrap().unwrap();
/// assert_eq!(decode(&first).unwrap(), Message::Keepalive);
/// assert!(framer.next_message().is_none());
/// framer.push(&stream[25..]);
/// assert_eq!(framer.next_message().unwrap().unwrap().len(), 19);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Framer {
    buf: Vec<u8>,
    /// Where the next message starts in `buf`.
    start: usize,
    failed: Option<DecodeError>,
}

impl Framer {
    /// An empty framer.
    pub fn new() -> Framer {
        Framer::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole message (header included), `None` when more bytes are needed, or the
    /// header error that stopped the stream.
    pub fn next_message(&mut self) -> Option<Result<Vec<u8>, DecodeError>> {
        if let Some(e) = &self.failed {
            return Some(Err(e.clone()));
        }
        let pending = &self.buf[self.start..];
        if pending.len() < HEADER_LEN {
            self.compact();
            return None;
        }
        let header = match Header::new_checked(pending) {
            Ok(h) => h,
            Err(e) => {
                self.buf = Vec::new();
                self.start = 0;
                self.failed = Some(e.clone());
                return Some(Err(e));
            }
        };
        let len = usize::from(header.length());
        if pending.len() < len {
            self.compact();
            return None;
        }
        let message = pending[..len].to_vec();
        self.start += len;
        Some(Ok(message))
    }

    /// The error that stopped the stream, if one did.
    pub fn error(&self) -> Option<&DecodeError> {
        self.failed.as_ref()
    }

    /// Forgets everything (a new connection).
    pub fn reset(&mut self) {
        *self = Framer::default();
    }

    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{Message, encode};

    #[test]
    fn a_bad_header_sticks() {
        let mut f = Framer::new();
        let mut bytes = Vec::new();
        encode(&Message::Keepalive, &mut bytes).unwrap();
        bytes[0] = 0;
        f.push(&bytes);
        assert_eq!(f.next_message(), Some(Err(DecodeError::BadMarker)));
        f.push(&[0xff; 40]);
        assert_eq!(f.next_message(), Some(Err(DecodeError::BadMarker)));
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn byte_by_byte() {
        let mut stream = Vec::new();
        for _ in 0..3 {
            encode(&Message::Keepalive, &mut stream).unwrap();
        }
        let mut f = Framer::new();
        let mut got = 0;
        for b in &stream {
            f.push(std::slice::from_ref(b));
            while let Some(m) = f.next_message() {
                assert_eq!(m.unwrap().len(), 19);
                got += 1;
            }
        }
        assert_eq!((got, f.buffered()), (3, 0));
    }
}
