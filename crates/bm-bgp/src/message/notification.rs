//! NOTIFICATION (RFC 4271 §4.5, §6): error code, subcode and data, with the subcodes of
//! RFC 4271, RFC 4486 (Cease), RFC 6608 (FSM) and RFC 8203/9003 shutdown communications.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::{DecodeError, EncodeError};

/// The longest shutdown communication (RFC 9003).
pub const MAX_SHUTDOWN_MESSAGE_LEN: usize = 255;

/// Declares a subcode enum with an `Other(u8)` variant, so that no value is lost.
macro_rules! subcodes {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $value:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $variant,)*
            /// A subcode this crate has no name for.
            Other(u8),
        }

        impl From<u8> for $name {
            fn from(v: u8) -> $name {
                match v {
                    $($value => $name::$variant,)*
                    other => $name::Other(other),
                }
            }
        }

        impl From<$name> for u8 {
            fn from(v: $name) -> u8 {
                match v {
                    $($name::$variant => $value,)*
                    $name::Other(other) => other,
                }
            }
        }
    };
}

subcodes! {
    /// Message Header Error subcodes (code 1).
    HeaderSubcode {
        /// 0.
        Unspecific = 0,
        /// 1: the marker is wrong.
        ConnectionNotSynchronized = 1,
        /// 2: the data is the length field.
        BadMessageLength = 2,
        /// 3: the data is the type.
        BadMessageType = 3,
    }
}

subcodes! {
    /// OPEN Message Error subcodes (code 2).
    OpenSubcode {
        /// 0: a recognized optional parameter is malformed.
        Unspecific = 0,
        /// 1: the data is the largest version supported.
        UnsupportedVersionNumber = 1,
        /// 2.
        BadPeerAs = 2,
        /// 3.
        BadBgpIdentifier = 3,
        /// 4.
        UnsupportedOptionalParameter = 4,
        /// 6: hold time 1 or 2, or refused by policy.
        UnacceptableHoldTime = 6,
        /// 7 (RFC 5492): the data lists the capabilities required.
        UnsupportedCapability = 7,
        /// 11 (RFC 9234).
        RoleMismatch = 11,
    }
}

subcodes! {
    /// UPDATE Message Error subcodes (code 3).
    UpdateSubcode {
        /// 0.
        Unspecific = 0,
        /// 1.
        MalformedAttributeList = 1,
        /// 2: the data is the attribute.
        UnrecognizedWellKnownAttribute = 2,
        /// 3: the data is the missing type code.
        MissingWellKnownAttribute = 3,
        /// 4: the data is the attribute.
        AttributeFlagsError = 4,
        /// 5: the data is the attribute.
        AttributeLengthError = 5,
        /// 6: the data is the attribute.
        InvalidOriginAttribute = 6,
        /// 8: the data is the attribute.
        InvalidNextHopAttribute = 8,
        /// 9: the data is the attribute.
        OptionalAttributeError = 9,
        /// 10.
        InvalidNetworkField = 10,
        /// 11.
        MalformedAsPath = 11,
    }
}

subcodes! {
    /// Finite State Machine Error subcodes (code 5, RFC 6608).
    FsmSubcode {
        /// 0.
        Unspecified = 0,
        /// 1: a message other than OPEN or NOTIFICATION in OpenSent.
        UnexpectedMessageInOpenSent = 1,
        /// 2: a message other than KEEPALIVE or NOTIFICATION in OpenConfirm.
        UnexpectedMessageInOpenConfirm = 2,
        /// 3: an OPEN in Established.
        UnexpectedMessageInEstablished = 3,
    }
}

subcodes! {
    /// Cease subcodes (code 6, RFC 4486, RFC 8538, RFC 9384).
    CeaseSubcode {
        /// 0.
        Unspecific = 0,
        /// 1.
        MaximumNumberOfPrefixesReached = 1,
        /// 2: may carry a shutdown communication (RFC 9003).
        AdministrativeShutdown = 2,
        /// 3.
        PeerDeconfigured = 3,
        /// 4: may carry a shutdown communication (RFC 9003).
        AdministrativeReset = 4,
        /// 5.
        ConnectionRejected = 5,
        /// 6.
        OtherConfigurationChange = 6,
        /// 7.
        ConnectionCollisionResolution = 7,
        /// 8.
        OutOfResources = 8,
        /// 9 (RFC 8538).
        HardReset = 9,
        /// 10 (RFC 9384).
        BfdDown = 10,
    }
}

/// A NOTIFICATION's error code with its subcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", content = "subcode", rename_all = "snake_case")]
pub enum ErrorCode {
    /// 1.
    MessageHeader(HeaderSubcode),
    /// 2.
    Open(OpenSubcode),
    /// 3.
    Update(UpdateSubcode),
    /// 4/0.
    HoldTimerExpired,
    /// 5.
    Fsm(FsmSubcode),
    /// 6.
    Cease(CeaseSubcode),
    /// 7 (RFC 7313): the subcode raw (1 is Invalid Message Length).
    RouteRefresh(u8),
    /// Any other code, or 4 with a subcode other than 0.
    Other {
        /// The code.
        code: u8,
        /// The subcode.
        subcode: u8,
    },
}

impl ErrorCode {
    /// From the code and subcode on the wire.
    pub fn from_codes(code: u8, subcode: u8) -> ErrorCode {
        match (code, subcode) {
            (1, s) => ErrorCode::MessageHeader(s.into()),
            (2, s) => ErrorCode::Open(s.into()),
            (3, s) => ErrorCode::Update(s.into()),
            (4, 0) => ErrorCode::HoldTimerExpired,
            (5, s) => ErrorCode::Fsm(s.into()),
            (6, s) => ErrorCode::Cease(s.into()),
            (7, s) => ErrorCode::RouteRefresh(s),
            (code, subcode) => ErrorCode::Other { code, subcode },
        }
    }

    /// The error code.
    pub fn code(&self) -> u8 {
        match self {
            ErrorCode::MessageHeader(_) => 1,
            ErrorCode::Open(_) => 2,
            ErrorCode::Update(_) => 3,
            ErrorCode::HoldTimerExpired => 4,
            ErrorCode::Fsm(_) => 5,
            ErrorCode::Cease(_) => 6,
            ErrorCode::RouteRefresh(_) => 7,
            ErrorCode::Other { code, .. } => *code,
        }
    }

    /// The subcode.
    pub fn subcode(&self) -> u8 {
        match *self {
            ErrorCode::MessageHeader(s) => s.into(),
            ErrorCode::Open(s) => s.into(),
            ErrorCode::Update(s) => s.into(),
            ErrorCode::HoldTimerExpired => 0,
            ErrorCode::Fsm(s) => s.into(),
            ErrorCode::Cease(s) => s.into(),
            ErrorCode::RouteRefresh(s) => s,
            ErrorCode::Other { subcode, .. } => subcode,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} ({self:?})", self.code(), self.subcode())
    }
}

/// A NOTIFICATION.
///
/// ```
/// use bm_bgp::message::{CeaseSubcode, ErrorCode, Notification};
///
/// let n = Notification::shutdown("upgrading to 1.2").unwrap();
/// assert_eq!(n.code, ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown));
/// assert_eq!(n.shutdown_message(), Some("upgrading to 1.2"));
/// assert_eq!(n.to_string(), "6/2 (Cease(AdministrativeShutdown)): \"upgrading to 1.2\"");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Notification {
    /// The error code and subcode.
    pub code: ErrorCode,
    /// The data (meaning depends on the code).
    pub data: Vec<u8>,
}

impl Notification {
    /// A NOTIFICATION with this code and data.
    pub fn new(code: ErrorCode, data: Vec<u8>) -> Notification {
        Notification { code, data }
    }

    /// Cease/Administrative Shutdown with a shutdown communication (RFC 9003; none when
    /// `message` is empty).
    ///
    /// # Errors
    ///
    /// [`EncodeError::ShutdownMessageTooLong`] over 255 bytes of UTF-8.
    pub fn shutdown(message: &str) -> Result<Notification, EncodeError> {
        Notification::with_shutdown_message(CeaseSubcode::AdministrativeShutdown, message)
    }

    /// Cease with `subcode` (Administrative Shutdown or Reset) and a shutdown communication:
    /// a length byte then UTF-8, nothing for an empty message.
    ///
    /// # Errors
    ///
    /// [`EncodeError::ShutdownMessageTooLong`] over 255 bytes.
    pub fn with_shutdown_message(subcode: CeaseSubcode, message: &str) -> Result<Notification, EncodeError> {
        let len = u8::try_from(message.len()).map_err(|_| EncodeError::ShutdownMessageTooLong(message.len()))?;
        let mut data = Vec::with_capacity(message.len() + 1);
        if len > 0 {
            data.push(len);
            data.extend_from_slice(message.as_bytes());
        }
        Ok(Notification::new(ErrorCode::Cease(subcode), data))
    }

    /// The shutdown communication of a Cease/Administrative Shutdown or Reset (RFC 9003):
    /// `None` for other codes, no data, or data that is not a length byte with that much
    /// UTF-8 (RFC 9003 §4: such data is logged as hex, never an error).
    pub fn shutdown_message(&self) -> Option<&str> {
        match self.code {
            ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown | CeaseSubcode::AdministrativeReset) => {}
            _ => return None,
        }
        let (&len, text) = self.data.split_first()?;
        let text = text.get(..usize::from(len))?;
        std::str::from_utf8(text).ok().filter(|s| !s.is_empty())
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.push(self.code.code());
        out.push(self.code.subcode());
        out.extend_from_slice(&self.data);
    }

    pub(crate) fn decode_body(body: &[u8], length: u16) -> Result<Notification, DecodeError> {
        match body {
            [code, subcode, data @ ..] => {
                Ok(Notification { code: ErrorCode::from_codes(*code, *subcode), data: data.to_vec() })
            }
            _ => Err(DecodeError::BadLength { length }),
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(text) = self.shutdown_message() {
            write!(f, ": {text:?}")
        } else if !self.data.is_empty() {
            f.write_str(": data")?;
            for b in &self.data {
                write!(f, " {b:02x}")?;
            }
            Ok(())
        } else {
            Ok(())
        }
    }
}
