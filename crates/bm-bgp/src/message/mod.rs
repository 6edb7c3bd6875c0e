//! The BGP-4 wire format: every message of RFC 4271 plus ROUTE-REFRESH (RFC 2918), the
//! capabilities of RFC 5492, multiprotocol NLRI (RFC 4760, RFC 2545 IPv6 next hops), 4-octet
//! AS numbers (RFC 6793), communities (RFC 1997, RFC 8092) and shutdown communications
//! (RFC 8203/9003).
//!
//! [`encode`] appends one message to a buffer; [`decode`] reads one whole message (the
//! [`Framer`](crate::Framer) cuts them out of a TCP stream) and [`decode_with_repairs`] also
//! says what RFC 7606 error handling changed in a received UPDATE. Every [`DecodeError`]
//! knows the NOTIFICATION the RFCs require in answer ([`DecodeError::notification`]).
//!
//! AS numbers are 4 octets everywhere: the session requires the peer's 4-octet AS capability
//! (every current implementation sends it), so AS_PATH is always read and written with 4-byte
//! ASNs and AS4_PATH/AS4_AGGREGATOR never appear (they would be kept raw). Messages are at
//! most 4096 bytes: RFC 8654 extended messages are not supported (the capability is never
//! sent, so a peer never sends one).
//!
//! ```
//! use bm_bgp::message::{Message, decode, encode};
//!
//! let mut bytes = Vec::new();
//! encode(&Message::Keepalive, &mut bytes).unwrap();
//! assert_eq!(bytes.len(), 19);
//! assert_eq!(decode(&bytes).unwrap(), Message::Keepalive);
//! ```

mod attribute;
mod capability;
mod error;
mod header;
mod notification;
mod open;
mod prefix;
mod route_refresh;
mod update;

use serde::{Deserialize, Serialize};

pub use attribute::{
    AsPath, AsSegment, AsSegmentType, Community, LargeCommunity, MpReach, MpUnreach, NextHop, Origin, PathAttribute,
    RawAttribute, attribute_flags, attribute_type,
};
pub use capability::{Capability, Family, GracefulRestart, GracefulRestartFamily, capability_code};
pub use error::{AttributeError, AttributeErrorKind, DecodeError, EncodeError, ErrorAction};
pub use header::{HEADER_LEN, Header, MARKER, MAX_MESSAGE_LEN, MessageType};
pub use notification::{
    CeaseSubcode, ErrorCode, FsmSubcode, HeaderSubcode, MAX_SHUTDOWN_MESSAGE_LEN, Notification, OpenSubcode,
    UpdateSubcode,
};
pub use open::{AS_TRANS, BGP_VERSION, Open};
pub use prefix::Prefixes;
pub use route_refresh::RouteRefresh;
pub use update::Update;

/// One BGP message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Message {
    /// OPEN (type 1).
    Open(Open),
    /// UPDATE (type 2).
    Update(Update),
    /// NOTIFICATION (type 3).
    Notification(Notification),
    /// KEEPALIVE (type 4): the header alone.
    Keepalive,
    /// ROUTE-REFRESH (type 5, RFC 2918).
    RouteRefresh(RouteRefresh),
}

impl Message {
    /// Its type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh(_) => MessageType::RouteRefresh,
        }
    }
}

/// A received message and what RFC 7606 error handling did to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    /// The message, repaired: an UPDATE whose routes were treated as withdrawn carries them
    /// as withdrawn routes and no other attribute; discarded attributes are gone.
    pub message: Message,
    /// The errors that were repaired instead of resetting the session (treat-as-withdraw and
    /// attribute-discard), in the order met; empty for a well-formed message.
    pub repairs: Vec<AttributeError>,
}

/// Appends `message` to `out`, header included. On error `out` is left as it was.
///
/// ```
/// use bm_bgp::message::{Message, Notification, encode};
///
/// let mut out = Vec::new();
/// encode(&Message::Notification(Notification::shutdown("maintenance").unwrap()), &mut out).unwrap();
/// assert_eq!(&out[16..21], &[0, 33, 3, 6, 2]); // length 33, NOTIFICATION, Cease/Administrative Shutdown
/// assert_eq!(&out[21..], b"\x0bmaintenance");
/// ```
pub fn encode(message: &Message, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, message.message_type() as u8]);
    let body = match message {
        Message::Open(open) => open.encode_body(out),
        Message::Update(update) => update.encode_body(out),
        Message::Notification(n) => {
            n.encode_body(out);
            Ok(())
        }
        Message::Keepalive => Ok(()),
        Message::RouteRefresh(r) => {
            r.encode_body(out);
            Ok(())
        }
    };
    let len = out.len() - start;
    let result = body.and_then(|()| (len <= MAX_MESSAGE_LEN).then_some(()).ok_or(EncodeError::TooLong { length: len }));
    match result {
        Ok(()) => {
            let [hi, lo] = (len as u16).to_be_bytes();
            out[start + 16] = hi;
            out[start + 17] = lo;
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// The encoded length of `message`.
pub fn encoded_len(message: &Message) -> Result<usize, EncodeError> {
    let mut out = Vec::new();
    encode(message, &mut out)?;
    Ok(out.len())
}

/// Reads one whole message (`bytes` is exactly one message, header included), with RFC 7606
/// repairs applied silently: see [`decode_with_repairs`].
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    decode_with_repairs(bytes).map(|d| d.message)
}

/// Reads one whole message (`bytes` is exactly one message, header included).
///
/// An UPDATE with errors RFC 7606 repairs comes back repaired with the list of repairs; an
/// error that resets the session comes back as `Err`, and
/// [`notification`](DecodeError::notification) is the NOTIFICATION to send before closing.
///
/// ```
/// use bm_bgp::message::{DecodeError, decode};
///
/// let mut bytes = [0xff; 19];
/// bytes[16..].copy_from_slice(&[0, 19, 9]); // type 9 does not exist
/// let err = decode(&bytes).unwrap_err();
/// assert_eq!(err, DecodeError::BadType(9));
/// let n = err.notification();
/// assert_eq!((n.code.code(), n.code.subcode(), n.data.as_slice()), (1, 3, &[9][..]));
/// ```
pub fn decode_with_repairs(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let header = Header::new_checked(bytes)?;
    if usize::from(header.length()) != bytes.len() {
        return Err(DecodeError::BadLength { length: header.length() });
    }
    let body = header.body();
    let length = header.length();
    let mut repairs = Vec::new();
    let message = match header.message_type()? {
        MessageType::Open => Message::Open(Open::decode_body(body, length)?),
        MessageType::Update => Message::Update(Update::decode_body(body, length, &mut repairs)?),
        MessageType::Notification => Message::Notification(Notification::decode_body(body, length)?),
        MessageType::Keepalive => {
            if !body.is_empty() {
                return Err(DecodeError::BadLength { length });
            }
            Message::Keepalive
        }
        MessageType::RouteRefresh => Message::RouteRefresh(RouteRefresh::decode_body(body, length)?),
    };
    Ok(Decoded { message, repairs })
}

/// A cursor over received bytes that never reads past the end.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    pub(crate) fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Writes a 2-byte length at `at` covering everything after `at + 2`.
pub(crate) fn patch_len16(out: &mut [u8], at: usize) -> Option<()> {
    let len = u16::try_from(out.len().checked_sub(at + 2)?).ok()?;
    out.get_mut(at..at + 2)?.copy_from_slice(&len.to_be_bytes());
    Some(())
}

#[cfg(test)]
mod tests;
