//! What `bmnet bgp run` publishes in its status file and `bmnet inspect` reads back: each
//! session's state since when and why, each VIP announced or withdrawn and why, and each
//! check's last run.

use std::net::IpAddr;

use bm_bgp::{AnnouncerEvent, Event, SpeakerEvent, SpeakerEventKind, State};
use serde::{Deserialize, Serialize};

use super::status::{DaemonKind, DaemonStatus};

/// The body of a `bgp run` status file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct BgpStatus {
    pub(crate) sessions: Vec<SessionRecord>,
    pub(crate) vips: Vec<VipRecord>,
    pub(crate) checks: Vec<CheckRecord>,
}

impl DaemonStatus for BgpStatus {
    const KIND: DaemonKind = DaemonKind::Bgp;
}

/// One peer's session.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    pub(crate) peer: IpAddr,
    pub(crate) peer_asn: u32,
    /// RFC 4271's name: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
    pub(crate) state: String,
    /// RFC 3339, UTC: when it entered the state.
    pub(crate) since: String,
    pub(crate) reason: String,
    /// The BFD session's state, when BFD runs.
    pub(crate) bfd: Option<String>,
}

/// One VIP.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct VipRecord {
    pub(crate) prefix: String,
    pub(crate) announced: bool,
    pub(crate) since: String,
    /// Why it is withdrawn (or "checks pass").
    pub(crate) reason: String,
    pub(crate) med: Option<u32>,
}

/// One check's last run.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CheckRecord {
    pub(crate) name: String,
    pub(crate) passed: bool,
    pub(crate) at: String,
    /// Why the last run failed.
    pub(crate) failure: Option<String>,
}

pub(crate) fn state_name(s: State) -> &'static str {
    match s {
        State::Idle => "Idle",
        State::Connect => "Connect",
        State::Active => "Active",
        State::OpenSent => "OpenSent",
        State::OpenConfirm => "OpenConfirm",
        State::Established => "Established",
    }
}

impl BgpStatus {
    /// Takes in a speaker event; whether anything shown changed.
    pub(crate) fn speaker(&mut self, e: &SpeakerEvent, at: &str) -> bool {
        let Some(s) = self.sessions.iter_mut().find(|s| s.peer == e.address) else { return false };
        match &e.kind {
            SpeakerEventKind::Session { event: Event::StateChanged { to, reason, .. } } => {
                s.state = state_name(*to).to_string();
                s.reason = reason.to_string();
                s.since = at.to_string();
                true
            }
            SpeakerEventKind::Bfd { event: bm_bgp::bfd::BfdEvent::StateChanged { to, .. } } => {
                s.bfd = Some(format!("{to:?}"));
                true
            }
            _ => false,
        }
    }

    /// Takes in an announcer event; whether anything shown changed.
    pub(crate) fn announcer(&mut self, e: &AnnouncerEvent, at: &str) -> bool {
        match e {
            AnnouncerEvent::Announced { prefix, attributes } => {
                self.vip(&prefix.to_string(), at, |v| {
                    v.announced = true;
                    v.reason = "checks pass".into();
                    v.med = attributes.med;
                });
            }
            AnnouncerEvent::Withdrawn { prefix, reason } => {
                self.vip(&prefix.to_string(), at, |v| {
                    v.announced = false;
                    v.reason = reason.to_string();
                    v.med = None;
                });
            }
            AnnouncerEvent::CheckPassed { check } => self.check(check, true, None, at),
            AnnouncerEvent::CheckFailed { check, failure } => self.check(check, false, Some(failure.to_string()), at),
            _ => return false,
        }
        true
    }

    fn vip(&mut self, prefix: &str, at: &str, f: impl FnOnce(&mut VipRecord)) {
        let i = match self.vips.iter().position(|v| v.prefix == prefix) {
            Some(i) => i,
            None => {
                self.vips.push(VipRecord {
                    prefix: prefix.to_string(),
                    announced: false,
                    since: at.to_string(),
                    reason: String::new(),
                    med: None,
                });
                self.vips.len() - 1
            }
        };
        let v = &mut self.vips[i];
        let was = v.announced;
        f(v);
        if v.announced != was {
            v.since = at.to_string();
        }
    }

    fn check(&mut self, name: &str, passed: bool, failure: Option<String>, at: &str) {
        let record = CheckRecord { name: name.to_string(), passed, at: at.to_string(), failure };
        match self.checks.iter_mut().find(|c| c.name == name) {
            Some(c) => *c = record,
            None => self.checks.push(record),
        }
    }
}
