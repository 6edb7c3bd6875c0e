//! The 19-byte message header (RFC 4271 §4.1) as a typed view over bytes, smoltcp style:
//! marker (16 × 0xff), length (19..=4096, the header included) and type.

use serde::{Deserialize, Serialize};

use super::error::DecodeError;

/// The marker: 16 bytes of ones.
pub const MARKER: [u8; 16] = [0xff; 16];
/// The header's length, and the shortest message (a KEEPALIVE).
pub const HEADER_LEN: usize = 19;
/// The longest message (RFC 4271; RFC 8654 extended messages are not supported).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The message types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum MessageType {
    /// OPEN.
    Open = 1,
    /// UPDATE.
    Update = 2,
    /// NOTIFICATION.
    Notification = 3,
    /// KEEPALIVE.
    Keepalive = 4,
    /// ROUTE-REFRESH (RFC 2918).
    RouteRefresh = 5,
}

impl TryFrom<u8> for MessageType {
    type Error = DecodeError;

    fn try_from(t: u8) -> Result<MessageType, DecodeError> {
        Ok(match t {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            other => return Err(DecodeError::BadType(other)),
        })
    }
}

/// A message header over a buffer holding at least [`HEADER_LEN`] bytes (the body follows).
///
/// After [`Header::new_checked`] no accessor panics; [`Header::new_unchecked`] leaves the
/// length check to [`Header::check`].
///
/// ```
/// use bm_bgp::message::{Header, MessageType};
///
/// let mut keepalive = [0xff; 19];
/// keepalive[16..].copy_from_slice(&[0, 19, 4]);
/// let h = Header::new_checked(&keepalive[..]).unwrap();
/// assert_eq!((h.length(), h.message_type().unwrap()), (19, MessageType::Keepalive));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Wraps `buffer` without checking it.
    ///
    /// # Panics
    ///
    /// The accessors and setters panic on a buffer shorter than [`HEADER_LEN`] unless
    /// [`Header::check`] succeeded; for received bytes use [`Header::new_checked`].
    pub const fn new_unchecked(buffer: T) -> Header<T> {
        Header { buffer }
    }

    /// Wraps `buffer` after [`Header::check`].
    pub fn new_checked(buffer: T) -> Result<Header<T>, DecodeError> {
        let h = Header { buffer };
        h.check()?;
        Ok(h)
    }

    /// Checks the marker and the length field (19..=4096). The buffer may hold less than the
    /// length says (the rest of the message has not arrived) but not less than a header.
    ///
    /// # Errors
    ///
    /// [`DecodeError::Truncated`] when the buffer is shorter than a header,
    /// [`DecodeError::BadMarker`], [`DecodeError::BadLength`].
    pub fn check(&self) -> Result<(), DecodeError> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(DecodeError::Truncated { have: b.len() });
        }
        if b[..16] != MARKER {
            return Err(DecodeError::BadMarker);
        }
        let length = u16::from_be_bytes([b[16], b[17]]);
        if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&usize::from(length)) {
            return Err(DecodeError::BadLength { length });
        }
        Ok(())
    }

    /// The length field.
    pub fn length(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[16], b[17]])
    }

    /// The type field, raw.
    pub fn type_code(&self) -> u8 {
        self.buffer.as_ref()[18]
    }

    /// The type.
    ///
    /// # Errors
    ///
    /// [`DecodeError::BadType`] for a type this crate does not know.
    pub fn message_type(&self) -> Result<MessageType, DecodeError> {
        MessageType::try_from(self.type_code())
    }

    /// What follows the header in the buffer, up to the length field.
    pub fn body(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.length()).min(b.len());
        &b[HEADER_LEN..end]
    }

    /// The buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Header<T> {
    /// Writes the marker.
    pub fn fill_marker(&mut self) {
        self.buffer.as_mut()[..16].copy_from_slice(&MARKER);
    }

    /// Sets the length field.
    pub fn set_length(&mut self, length: u16) {
        self.buffer.as_mut()[16..18].copy_from_slice(&length.to_be_bytes());
    }

    /// Sets the type field.
    pub fn set_message_type(&mut self, t: MessageType) {
        self.buffer.as_mut()[18] = t as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static KEEPALIVE: [u8; 19] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x13,
        0x04,
    ];

    #[test]
    fn deconstruct() {
        let h = Header::new_checked(&KEEPALIVE[..]).unwrap();
        assert_eq!(h.length(), 19);
        assert_eq!(h.message_type(), Ok(MessageType::Keepalive));
        assert!(h.body().is_empty());
    }

    #[test]
    fn construct_into_junk() {
        let mut buf = [0xa5u8; 19];
        let mut h = Header::new_unchecked(&mut buf[..]);
        h.fill_marker();
        h.set_length(19);
        h.set_message_type(MessageType::Keepalive);
        assert_eq!(buf, KEEPALIVE);
    }

    #[test]
    fn checks() {
        assert_eq!(Header::new_checked(&KEEPALIVE[..5]).unwrap_err(), DecodeError::Truncated { have: 5 });
        let mut bad = KEEPALIVE;
        bad[3] = 0;
        assert_eq!(Header::new_checked(&bad[..]).unwrap_err(), DecodeError::BadMarker);
        let mut bad = KEEPALIVE;
        bad[16..18].copy_from_slice(&4097u16.to_be_bytes());
        assert_eq!(Header::new_checked(&bad[..]).unwrap_err(), DecodeError::BadLength { length: 4097 });
        bad[16..18].copy_from_slice(&18u16.to_be_bytes());
        assert_eq!(Header::new_checked(&bad[..]).unwrap_err(), DecodeError::BadLength { length: 18 });
    }
}
