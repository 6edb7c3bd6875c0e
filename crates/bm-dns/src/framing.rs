//! DNS over TCP's framing (RFC 1035 §4.2.2, RFC 7766 §8): each message preceded by its length
//! as two bytes. A connection's bytes arrive in any split; this collects them into messages,
//! sans-IO, and says whether a message is under way (so that the server can hold a sender to a
//! deadline for the whole message, not per read).

/// Splits a stream into length-prefixed messages.
///
/// ```
/// use bm_dns::TcpFraming;
/// let mut f = TcpFraming::default();
/// f.push(&[0, 3, b'a']);
/// assert!(f.next_message().is_none());
/// assert!(f.in_progress(), "a message has begun");
/// f.push(&[b'b', b'c', 0, 1, b'x']);
/// assert_eq!(f.next_message().as_deref(), Some(&b"abc"[..]));
/// assert_eq!(f.next_message().as_deref(), Some(&b"x"[..]));
/// assert!(!f.in_progress());
/// ```
#[derive(Clone, Debug, Default)]
pub struct TcpFraming {
    buf: Vec<u8>,
    /// Where the unread bytes start in `buf`.
    start: usize,
}

impl TcpFraming {
    /// Takes bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete message, if one has arrived. A zero-length message is returned as
    /// empty (not a DNS message: the caller closes the connection).
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        let pending = &self.buf[self.start..];
        let len = usize::from(u16::from_be_bytes([*pending.first()?, *pending.get(1)?]));
        let message = pending.get(2..2 + len)?.to_vec();
        self.start += 2 + len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > 1 << 16 {
            // Keep the buffer from growing with a long pipeline: drop what has been read.
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Some(message)
    }

    /// Whether some bytes of a message (its length, or part of its body) have arrived.
    pub fn in_progress(&self) -> bool {
        self.start < self.buf.len()
    }

    /// Bytes held that no message has taken yet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

/// `message` with its two-byte length in front; `None` when it is longer than 65,535 bytes.
pub fn frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(message.len()).ok()?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    Some(framed)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Messages framed and delivered in any split come out whole, in order, and nothing is
        /// left in progress after the last.
        #[test]
        fn any_split_gives_back_the_messages(messages in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
                                              cuts in prop::collection::vec(1usize..64, 0..40)) {
            let stream: Vec<u8> = messages.iter().flat_map(|m| frame(m).unwrap()).collect();
            let mut f = TcpFraming::default();
            let mut got = Vec::new();
            let mut at = 0;
            for cut in cuts.iter().copied().chain(std::iter::repeat(64)) {
                if at >= stream.len() {
                    break;
                }
                let end = (at + cut).min(stream.len());
                f.push(&stream[at..end]);
                at = end;
                while let Some(m) = f.next_message() {
                    got.push(m);
                }
            }
            prop_assert_eq!(got, messages);
            prop_assert!(!f.in_progress());
            prop_assert_eq!(f.buffered(), 0);
        }
    }

    #[test]
    fn too_long_is_refused() {
        assert!(frame(&vec![0; 65_536]).is_none());
        assert_eq!(frame(&vec![0; 65_535]).unwrap().len(), 65_537);
    }
}
