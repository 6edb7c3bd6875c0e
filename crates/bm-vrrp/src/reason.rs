//! Why an instance changed state: a typed value in every [`Action::Transition`](crate::Action),
//! carried as it is into `bmnet vrrp run --json` events, the status file and `bmnet inspect`
//! (`{"kind": "higher_priority_advert", "from": "10.0.0.1", "priority": 200, "ours": 100}`),
//! with a sentence for people ([`Reason`]'s `Display`, the text logs have always shown).

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Why a transition happened.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    /// Started (RFC 5798 §6.4.1): a non-owner becomes backup.
    Startup,
    /// Started as the address owner (priority 255): master at once.
    Owner,
    /// Backup: nothing heard from a master for Master_Down_Interval.
    MasterDownExpired,
    /// Backup: the master resigned (priority 0) and Skew_Time passed.
    MasterResigned {
        /// The master that resigned.
        from: IpAddr,
    },
    /// Master: an advert with a higher priority.
    HigherPriorityAdvert {
        /// Its sender.
        from: IpAddr,
        /// Its priority.
        priority: u8,
        /// Ours.
        ours: u8,
    },
    /// Master: an advert with our priority from a higher address (RFC 5798 §6.4.3).
    HigherAddressAdvert {
        /// Its sender.
        from: IpAddr,
        /// The priority, ours too.
        priority: u8,
    },
    /// The link went down.
    LinkDown,
    /// The link came back.
    LinkUp,
    /// A tracked check (or tracked interface) puts the instance in FAULT.
    CheckFailing {
        /// The check.
        name: String,
    },
    /// A tracked check (or tracked interface) no longer does.
    CheckPassing {
        /// The check.
        name: String,
    },
    /// The advert source address cannot be sent from (missing, or IPv6 still tentative after
    /// the link came up: RFC 4862 §5.4, RFC 9568 §5.1.2.1).
    SourceUnusable {
        /// The address.
        addr: IpAddr,
    },
    /// It can again.
    SourceUsable {
        /// The address.
        addr: IpAddr,
    },
    /// As master, this many advert rounds in a row went nowhere (every send of each failed):
    /// the backups no longer hear us and take over, so we drop the VIPs.
    SendFailing {
        /// Consecutive failed rounds.
        failures: u32,
        /// The last error.
        error: String,
    },
    /// FAULT for failing sends ended: listening again.
    SendRetry,
    /// The configuration was reloaded.
    Reload,
    /// Stopped.
    Shutdown,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::Owner => f.write_str("address owner (priority 255)"),
            Reason::MasterDownExpired => f.write_str("master down interval expired"),
            Reason::MasterResigned { from } => write!(f, "master {from} resigned (priority 0), skew time passed"),
            Reason::HigherPriorityAdvert { from, priority, ours } => {
                write!(f, "advert from {from} with priority {priority}, ours {ours}")
            }
            Reason::HigherAddressAdvert { from, priority } => {
                write!(f, "advert from {from} with priority {priority}, ours {priority}, and a higher address")
            }
            Reason::LinkDown => f.write_str("link down"),
            Reason::LinkUp => f.write_str("link up"),
            Reason::CheckFailing { name } => write!(f, "check {name} failing"),
            Reason::CheckPassing { name } => write!(f, "check {name} passing"),
            Reason::SourceUnusable { addr } => write!(f, "source address {addr} not usable (missing or tentative)"),
            Reason::SourceUsable { addr } => write!(f, "source address {addr} usable"),
            Reason::SendFailing { failures, error } => write!(f, "{failures} advert rounds in a row not sent: {error}"),
            Reason::SendRetry => f.write_str("retrying after failed sends"),
            Reason::Reload => f.write_str("configuration reloaded"),
            Reason::Shutdown => f.write_str("shutdown"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_tagged_by_kind() {
        let r = Reason::HigherPriorityAdvert { from: "10.0.0.1".parse().unwrap(), priority: 200, ours: 100 };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"kind":"higher_priority_advert","from":"10.0.0.1","priority":200,"ours":100}"#
        );
        assert_eq!(r.to_string(), "advert from 10.0.0.1 with priority 200, ours 100");
        assert_eq!(serde_json::to_string(&Reason::MasterDownExpired).unwrap(), r#"{"kind":"master_down_expired"}"#);
        let back: Reason = serde_json::from_str(r#"{"kind":"check_failing","name":"chk"}"#).unwrap();
        assert_eq!(back.to_string(), "check chk failing");
    }
}
