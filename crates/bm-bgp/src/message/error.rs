//! Decode and encode errors. A [`DecodeError`] resets the session, and says with which
//! NOTIFICATION; an [`AttributeError`] is one UPDATE attribute error with its RFC 7606 action.

use serde::{Deserialize, Serialize};

use super::notification::{ErrorCode, HeaderSubcode, Notification, OpenSubcode, UpdateSubcode};

/// What RFC 7606 §2 does about an error in a received UPDATE, mildest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorAction {
    /// The attribute is dropped and the UPDATE processed without it.
    AttributeDiscard,
    /// The UPDATE's routes are treated as withdrawn.
    TreatAsWithdraw,
    /// A NOTIFICATION is sent and the session closed.
    SessionReset,
}

/// What is wrong with a path attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttributeErrorKind {
    /// The Optional or Transitive flag contradicts the attribute's definition.
    Flags,
    /// The length is wrong for the attribute.
    Length,
    /// The attribute runs past the path attributes field.
    Overrun,
    /// ORIGIN other than 0, 1 or 2.
    InvalidOrigin,
    /// AS_PATH: a bad segment type, an empty segment, or a segment running past the attribute.
    MalformedAsPath,
    /// MP_REACH_NLRI / MP_UNREACH_NLRI: next hop length, AFI/SAFI or NLRI unreadable.
    MalformedMultiprotocol,
    /// The attribute appears more than once.
    Duplicate,
    /// A well-known attribute this crate does not know (Optional bit clear).
    UnrecognizedWellKnown,
    /// ORIGIN, AS_PATH or (with IPv4 NLRI) NEXT_HOP is missing from an UPDATE with routes.
    Missing,
}

/// One error in a received UPDATE's path attributes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("path attribute {type_code}: {kind:?} at byte {offset} ({action:?})")]
pub struct AttributeError {
    /// The attribute's type code.
    pub type_code: u8,
    /// What is wrong.
    pub kind: AttributeErrorKind,
    /// What RFC 7606 does about it.
    pub action: ErrorAction,
    /// Where the attribute starts, from the start of the UPDATE's body.
    pub offset: usize,
    /// The attribute as received (flags, type, length, value), for the NOTIFICATION's data;
    /// the type code alone for [`AttributeErrorKind::Missing`].
    pub data: Vec<u8>,
}

impl AttributeError {
    /// The NOTIFICATION RFC 4271 §6.3 gives this error, when it resets the session.
    pub fn notification(&self) -> Notification {
        let sub = match self.kind {
            AttributeErrorKind::Flags => UpdateSubcode::AttributeFlagsError,
            AttributeErrorKind::Length => UpdateSubcode::AttributeLengthError,
            AttributeErrorKind::Overrun | AttributeErrorKind::Duplicate => UpdateSubcode::MalformedAttributeList,
            AttributeErrorKind::InvalidOrigin => UpdateSubcode::InvalidOriginAttribute,
            AttributeErrorKind::MalformedAsPath => UpdateSubcode::MalformedAsPath,
            AttributeErrorKind::MalformedMultiprotocol => UpdateSubcode::OptionalAttributeError,
            AttributeErrorKind::UnrecognizedWellKnown => UpdateSubcode::UnrecognizedWellKnownAttribute,
            AttributeErrorKind::Missing => UpdateSubcode::MissingWellKnownAttribute,
        };
        let data = match self.kind {
            AttributeErrorKind::Overrun | AttributeErrorKind::Duplicate => Vec::new(),
            _ => self.data.clone(),
        };
        Notification::new(ErrorCode::Update(sub), data)
    }
}

/// A received message that resets the session. [`DecodeError::notification`] is the
/// NOTIFICATION to send before closing the connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Fewer bytes than a header.
    #[error("{have} bytes: shorter than the 19-byte header")]
    Truncated {
        /// How many bytes there were.
        have: usize,
    },
    /// The marker is not 16 × 0xff.
    #[error("the marker is not all ones")]
    BadMarker,
    /// The length field is outside 19..=4096, wrong for the type, or not the message's.
    #[error("bad message length {length}")]
    BadLength {
        /// The length field.
        length: u16,
    },
    /// A message type this crate does not know.
    #[error("unknown message type {0}")]
    BadType(u8),
    /// OPEN: a version other than 4.
    #[error("BGP version {0}, only 4 is supported")]
    UnsupportedVersion(u8),
    /// OPEN: a hold time of 1 or 2 seconds.
    #[error("hold time {0} s: 1 and 2 are not allowed")]
    UnacceptableHoldTime(u16),
    /// OPEN: an optional parameter other than capabilities (type 2); RFC 9072 extended
    /// parameters (type 255) are not supported.
    #[error("unsupported optional parameter type {0}")]
    UnsupportedOptionalParameter(u8),
    /// OPEN: the optional parameters or a capability do not parse.
    #[error("malformed OPEN optional parameters at byte {offset}")]
    MalformedOpen {
        /// Where, from the start of the OPEN's body.
        offset: usize,
    },
    /// UPDATE: the withdrawn routes or path attributes length runs past the message.
    #[error("malformed attribute list: {0} runs past the message")]
    MalformedAttributeList(&'static str),
    /// UPDATE: a prefix whose length is over 32 (128) or runs past its field.
    #[error("invalid network field at byte {offset}")]
    InvalidNetworkField {
        /// Where, from the start of the UPDATE's body.
        offset: usize,
    },
    /// UPDATE: an attribute error that resets the session (RFC 7606).
    #[error("{0}")]
    Attribute(AttributeError),
}

impl DecodeError {
    /// The NOTIFICATION RFC 4271 §6 (and RFC 7606) requires in answer.
    ///
    /// ```
    /// use bm_bgp::message::DecodeError;
    ///
    /// let n = DecodeError::BadLength { length: 5000 }.notification();
    /// assert_eq!((n.code.code(), n.code.subcode(), n.data), (1, 2, vec![0x13, 0x88]));
    /// ```
    pub fn notification(&self) -> Notification {
        match self {
            DecodeError::Truncated { have } => Notification::new(
                ErrorCode::MessageHeader(HeaderSubcode::BadMessageLength),
                u16::try_from(*have).unwrap_or(0).to_be_bytes().to_vec(),
            ),
            DecodeError::BadMarker => {
                Notification::new(ErrorCode::MessageHeader(HeaderSubcode::ConnectionNotSynchronized), Vec::new())
            }
            DecodeError::BadLength { length } => Notification::new(
                ErrorCode::MessageHeader(HeaderSubcode::BadMessageLength),
                length.to_be_bytes().to_vec(),
            ),
            DecodeError::BadType(t) => {
                Notification::new(ErrorCode::MessageHeader(HeaderSubcode::BadMessageType), vec![*t])
            }
            DecodeError::UnsupportedVersion(_) => {
                // The data is the largest version we support (RFC 4271 §6.2).
                Notification::new(ErrorCode::Open(OpenSubcode::UnsupportedVersionNumber), vec![0, 4])
            }
            DecodeError::UnacceptableHoldTime(_) => {
                Notification::new(ErrorCode::Open(OpenSubcode::UnacceptableHoldTime), Vec::new())
            }
            DecodeError::UnsupportedOptionalParameter(_) => {
                Notification::new(ErrorCode::Open(OpenSubcode::UnsupportedOptionalParameter), Vec::new())
            }
            DecodeError::MalformedOpen { .. } => {
                Notification::new(ErrorCode::Open(OpenSubcode::Unspecific), Vec::new())
            }
            DecodeError::MalformedAttributeList(_) => {
                Notification::new(ErrorCode::Update(UpdateSubcode::MalformedAttributeList), Vec::new())
            }
            DecodeError::InvalidNetworkField { .. } => {
                Notification::new(ErrorCode::Update(UpdateSubcode::InvalidNetworkField), Vec::new())
            }
            DecodeError::Attribute(e) => e.notification(),
        }
    }
}

/// A message that cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Longer than 4096 bytes.
    #[error("{length} bytes: longer than 4096")]
    TooLong {
        /// The length it would have.
        length: usize,
    },
    /// An attribute value longer than 65535 bytes, a capability longer than 255, or
    /// optional parameters longer than 255.
    #[error("a field is too long for its length field")]
    FieldTooLong,
    /// An AS_PATH segment with no AS number or more than 255.
    #[error("AS_PATH segments hold 1 to 255 AS numbers")]
    AsSegmentLength,
    /// MP_REACH_NLRI's next hop is not of its prefixes' family.
    #[error("MP_REACH_NLRI next hop and prefixes of different families")]
    NextHopFamily,
    /// Graceful restart time over 4095 s.
    #[error("restart time {0} s: at most 4095")]
    RestartTime(u16),
    /// A shutdown communication longer than 255 bytes.
    #[error("shutdown communication of {0} bytes: at most 255")]
    ShutdownMessageTooLong(usize),
}
