//! What `bmnet vrrp run` publishes in its status file and `bmnet inspect` reads back: one
//! record per instance, written on each transition and with the daemon's status events.

use std::net::IpAddr;

use bm_vrrp::socket::{InstanceStatus, TimerStatus};
use bm_vrrp::{Reason, RouterStats, State, Stats};
use serde::{Deserialize, Serialize};

use super::status::{DaemonKind, DaemonStatus};

/// The body of a `vrrp run` status file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct VrrpStatus {
    /// Every instance the daemon runs.
    pub(crate) instances: Vec<InstanceRecord>,
    /// What no instance got, once the daemon has counted it.
    pub(crate) unrouted: Option<RouterStats>,
}

impl DaemonStatus for VrrpStatus {
    const KIND: DaemonKind = DaemonKind::Vrrp;
}

/// An instance: the daemon's [`InstanceStatus`] with the state in capitals and the reason as a
/// sentence (as keepalived and `bmnet inspect` write them), the typed reason as `cause`, and
/// when its state began.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InstanceRecord {
    pub(crate) name: String,
    pub(crate) interface: String,
    pub(crate) vrid: u8,
    #[serde(with = "capitals")]
    pub(crate) state: State,
    pub(crate) priority: u8,
    /// `ADDR/PREFIX` each.
    pub(crate) vips: Vec<String>,
    /// RFC 3339, UTC.
    pub(crate) since: String,
    pub(crate) reason: String,
    pub(crate) cause: Option<Reason>,
    pub(crate) source: IpAddr,
    pub(crate) source_usable: bool,
    pub(crate) link_up: bool,
    pub(crate) stats: Stats,
    pub(crate) timers: Vec<TimerStatus>,
    pub(crate) pending_vip_removal: Vec<IpAddr>,
}

impl InstanceRecord {
    pub(crate) fn new(s: InstanceStatus, since: String) -> InstanceRecord {
        InstanceRecord {
            state: s.state,
            reason: s.reason.as_ref().map_or_else(|| "started".to_string(), ToString::to_string),
            cause: s.reason,
            since,
            name: s.name,
            interface: s.interface,
            vrid: s.vrid,
            priority: s.priority,
            vips: s.vips,
            source: s.source,
            source_usable: s.source_usable,
            link_up: s.link_up,
            stats: s.stats,
            timers: s.timers,
            pending_vip_removal: s.pending_vip_removal,
        }
    }

    /// A transition: the new state, priority and reason, since `at`.
    pub(crate) fn transition(&mut self, to: State, priority: u8, reason: &Reason, at: String) {
        self.state = to;
        self.priority = priority;
        self.since = at;
        self.reason = reason.to_string();
        self.cause = Some(reason.clone());
    }
}

impl VrrpStatus {
    /// Replaces `s`'s record, keeping when its state began.
    pub(crate) fn update(&mut self, s: InstanceStatus) {
        if let Some(r) = self.instances.iter_mut().find(|r| r.name == s.name) {
            let since = std::mem::take(&mut r.since);
            *r = InstanceRecord::new(s, since);
        }
    }
}

/// A state as keepalived names it in its logs and `bmnet inspect` shows it.
pub(crate) fn state_name(s: State) -> &'static str {
    match s {
        State::Initialize => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
    }
}

/// `State` as [`state_name`] writes it.
mod capitals {
    use bm_vrrp::State;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(s: &State, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(super::state_name(*s))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<State, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        [State::Initialize, State::Backup, State::Master, State::Fault]
            .into_iter()
            .find(|s| super::state_name(*s) == text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown VRRP state {text:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_in_capitals() {
        for state in [State::Initialize, State::Backup, State::Master, State::Fault] {
            #[derive(Serialize, Deserialize)]
            struct S(#[serde(with = "capitals")] State);
            let text = serde_json::to_string(&S(state)).unwrap();
            assert_eq!(text, format!("\"{}\"", state_name(state)));
            assert_eq!(serde_json::from_str::<S>(&text).unwrap().0, state);
        }
        assert!(serde_json::from_str::<InstanceRecord>(r#"{"state":"master"}"#).is_err());
    }
}
