//! Why a session changed state: a typed value in every [`Event::StateChanged`](crate::Event),
//! with a sentence for people (`Display`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::bfd::Diag;
use crate::message::ErrorCode;

/// Why a session changed state.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// [`Session::start`](crate::Session::start).
    Started,
    /// [`Session::stop`](crate::Session::stop).
    Stopped,
    /// The automatic restart after an error (IdleHoldTimer).
    AutoRestart,
    /// ConnectRetryTimer expired: connecting again.
    ConnectRetryExpired,
    /// The TCP connection is up: OPEN sent.
    TcpConnected,
    /// The TCP connection could not be made.
    TcpFailed,
    /// The TCP connection closed.
    TcpClosed,
    /// The peer's OPEN was accepted.
    OpenAccepted,
    /// The peer's KEEPALIVE confirmed the session.
    KeepaliveReceived,
    /// Nothing heard from the peer for the hold time: NOTIFICATION 4/0 sent.
    HoldTimerExpired,
    /// The peer sent a NOTIFICATION.
    NotificationReceived {
        /// Its code.
        code: ErrorCode,
    },
    /// The peer sent something wrong: we sent this NOTIFICATION.
    PeerError {
        /// Its code.
        code: ErrorCode,
    },
    /// The BFD session with the peer went down ([`Session::bfd_down`](crate::Session::bfd_down)):
    /// the connection is closed without a NOTIFICATION (the path is gone).
    BfdDown {
        /// BFD's diagnostic.
        diag: Diag,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Started => f.write_str("started"),
            Reason::Stopped => f.write_str("stopped"),
            Reason::AutoRestart => f.write_str("automatic restart"),
            Reason::ConnectRetryExpired => f.write_str("connect retry timer expired"),
            Reason::TcpConnected => f.write_str("TCP connection up, OPEN sent"),
            Reason::TcpFailed => f.write_str("TCP connection failed"),
            Reason::TcpClosed => f.write_str("TCP connection closed"),
            Reason::OpenAccepted => f.write_str("OPEN accepted"),
            Reason::KeepaliveReceived => f.write_str("KEEPALIVE received"),
            Reason::HoldTimerExpired => f.write_str("hold timer expired"),
            Reason::NotificationReceived { code } => write!(f, "NOTIFICATION {code} received"),
            Reason::PeerError { code } => write!(f, "NOTIFICATION {code} sent"),
            Reason::BfdDown { diag } => write!(f, "BFD session down ({diag})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::CeaseSubcode;

    #[test]
    fn json_is_tagged_by_kind() {
        let r = Reason::NotificationReceived { code: ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown) };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"kind":"notification_received","code":{"code":"cease","subcode":"administrative_shutdown"}}"#
        );
        assert_eq!(r.to_string(), "NOTIFICATION 6/2 (Cease(AdministrativeShutdown)) received");
        let r = Reason::BfdDown { diag: Diag::ControlDetectionExpired };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"kind":"bfd_down","diag":"control_detection_expired"}"#);
        assert_eq!(r.to_string(), "BFD session down (control detection time expired)");
    }
}
