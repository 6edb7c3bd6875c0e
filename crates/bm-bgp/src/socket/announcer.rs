//! The health-gated VIPs' backend: runs the checks ([`bm_check::process`]), feeds their
//! results to the [`Vips`] gate, and carries out its changes: the VIP added to the loopback
//! before it is announced, removed after it is withdrawn, both over rtnetlink.

#![allow(clippy::disallowed_methods)] // The backend: the clock, threads and processes on purpose.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bm_check::process::{CheckFailure, CheckScript, Reaper, ResolvedScript, RunResult, ScriptRunner};
use bm_sys::rtnetlink::Connection;
use ipnet::IpNet;
use serde::Serialize;

use super::speaker::SpeakerHandle;
use crate::route::RouteAttributes;
use crate::session::SessionError;
use crate::vip::{VipChange, VipConfig, VipError, VipStatus, Vips, Withheld};

/// How soon an address that could not be added is tried again (its VIP waits meanwhile).
pub const ADDRESS_RETRY: Duration = Duration::from_secs(1);

/// What the [`Announcer`] is told while it runs.
#[derive(Debug)]
pub enum AnnouncerCommand {
    /// Withdraw every VIP, remove their addresses, stop the checks, then stop the speaker with
    /// this shutdown communication ([`SpeakerHandle::stop`]); [`Announcer::run`] returns.
    Stop(Option<String>),
    /// Take these VIPs and checks ([`Vips::reload`]: verdicts of kept checks are kept).
    Reload {
        /// The VIPs.
        vips: Vec<VipConfig>,
        /// The check scripts, resolved.
        scripts: Vec<(CheckScript, ResolvedScript)>,
    },
}

/// What the [`Announcer`] did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnnouncerEvent {
    /// A check's run failed (each run that fails, not only verdict changes).
    CheckFailed {
        /// The check.
        check: String,
        /// Why.
        failure: CheckFailure,
    },
    /// A check passed after failing (or for the first time).
    CheckPassed {
        /// The check.
        check: String,
    },
    /// A VIP was added to the node and announced (again, with new attributes).
    Announced {
        /// The VIP.
        prefix: IpNet,
        /// Its route's attributes.
        attributes: RouteAttributes,
    },
    /// A VIP was withdrawn and removed from the node.
    Withdrawn {
        /// The VIP.
        prefix: IpNet,
        /// Why.
        reason: Withheld,
    },
    /// The VIP's address could not be added (it is not announced; retried every
    /// [`ADDRESS_RETRY`]) or removed.
    AddressFailed {
        /// The VIP.
        prefix: IpNet,
        /// The system's message.
        error: String,
    },
    /// The speaker refused the announcement (a family no peer has).
    AnnounceRefused {
        /// The VIP.
        prefix: IpNet,
        /// Why.
        error: SessionError,
    },
    /// A reload was refused; the previous VIPs stay.
    ReloadRefused {
        /// Why.
        error: String,
    },
}

/// Where VIPs go while announced.
struct Loopback {
    netlink: Connection,
    index: u32,
}

/// Runs the checks of a node's VIPs and announces each VIP through a [`SpeakerHandle`]
/// while its checks allow ([`Vips`]), on the calling thread, until told to stop. The
/// [`Speaker`](super::Speaker) runs on another.
///
/// The address goes on the loopback (`interface`, usually `lo`) as a /32 or /128 before the
/// route is announced, so the node accepts the traffic the route brings, and comes off after
/// the withdrawal is handed to the speaker, so that a failed node does not keep answering for
/// its VIP from local sockets (katl-dev/katl#142) nor attract it.
pub struct Announcer {
    vips: Vips,
    runners: Vec<ScriptRunner>,
    reaper: Reaper,
    loopback: Option<Loopback>,
    handle: SpeakerHandle,
    /// Announcements waiting for their address.
    pending: Vec<(IpNet, RouteAttributes)>,
    retry_at: Option<Instant>,
    /// Each check's last verdict of a run, to report changes only.
    last_run: Vec<(String, bool)>,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer").field("vips", &self.vips).finish_non_exhaustive()
    }
}

/// Why an [`Announcer`] could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnnouncerError {
    /// The VIPs.
    #[error(transparent)]
    Vip(#[from] VipError),
    /// A VIP's check has no script.
    #[error("VIP {vip}: check {check} has no script")]
    UnknownCheck {
        /// The VIP.
        vip: IpNet,
        /// The check.
        check: String,
    },
    /// The loopback interface.
    #[error("interface {interface}: {error}")]
    Interface {
        /// Its name.
        interface: String,
        /// Why.
        error: std::io::Error,
    },
    /// rtnetlink.
    #[error(transparent)]
    Netlink(#[from] bm_sys::rtnetlink::Error),
}

impl Announcer {
    /// An announcer for `vips`, whose checks are `scripts` (resolved with
    /// [`resolve_script`](bm_check::process::resolve_script)), putting addresses on
    /// `interface` (`None`: the caller's business).
    ///
    /// # Errors
    ///
    /// [`AnnouncerError`]: a VIP refused by [`Vips::new`], a check without a script, no such
    /// interface, no rtnetlink.
    pub fn new(
        vips: Vec<VipConfig>,
        scripts: Vec<(CheckScript, ResolvedScript)>,
        interface: Option<&str>,
        handle: SpeakerHandle,
    ) -> Result<Announcer, AnnouncerError> {
        check_scripts(&vips, &scripts)?;
        let loopback = match interface {
            Some(name) => Some(Loopback {
                netlink: Connection::open()?,
                index: bm_sys::packet::ifindex(name)
                    .map_err(|error| AnnouncerError::Interface { interface: name.to_string(), error })?,
            }),
            None => None,
        };
        let now = Instant::now();
        Ok(Announcer {
            vips: Vips::new(vips)?,
            runners: scripts.into_iter().map(|(s, r)| ScriptRunner::new(s, r, now)).collect(),
            reaper: Reaper::default(),
            loopback,
            handle,
            pending: Vec::new(),
            retry_at: None,
            last_run: Vec::new(),
        })
    }

    /// Each VIP's state.
    pub fn status(&self) -> Vec<VipStatus> {
        self.vips.status()
    }

    /// Runs the checks and carries out the gate's changes until [`AnnouncerCommand::Stop`]
    /// (or every sender is gone, which stops the same way without a message), reporting to
    /// `on_event`. Blocks.
    pub fn run(&mut self, commands: &Receiver<AnnouncerCommand>, mut on_event: impl FnMut(AnnouncerEvent)) {
        let mut stop_message = None;
        loop {
            let now = Instant::now();
            self.apply(now, &mut on_event);
            for i in 0..self.runners.len() {
                if let Some(result) = self.runners[i].poll(now, &mut self.reaper) {
                    let name = self.runners[i].script.name.clone();
                    let passed = result == RunResult::Passed;
                    // The verdict is acted on before anything is reported: a slow callback (a
                    // status file synced to disk) must not hold up the withdrawal. The events
                    // still come in their order: the run, then what it changed.
                    let mut events = Vec::new();
                    match result {
                        RunResult::Passed => {
                            if self.last_run(&name, true) {
                                events.push(AnnouncerEvent::CheckPassed { check: name.clone() });
                            }
                        }
                        RunResult::Failed(failure) => {
                            self.last_run(&name, false);
                            events.push(AnnouncerEvent::CheckFailed { check: name.clone(), failure });
                        }
                    }
                    self.vips.report(&name, passed);
                    self.apply(now, &mut |e| events.push(e));
                    for e in events {
                        on_event(e);
                    }
                }
            }
            self.reaper.poll(now);
            let wake = self
                .runners
                .iter()
                .map(|r| r.next_wake(now))
                .chain(self.reaper.next_wake(now))
                .chain(self.retry_at)
                .min()
                .unwrap_or(now + Duration::from_secs(3600));
            match commands.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Ok(AnnouncerCommand::Stop(message)) => {
                    stop_message = message;
                    break;
                }
                Ok(AnnouncerCommand::Reload { vips, scripts }) => self.reload(vips, scripts, &mut on_event),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        self.vips.stop();
        self.apply(Instant::now(), &mut on_event);
        // After the withdrawals: the speaker's commands run in order, so every peer reads the
        // withdrawals before the Cease. Before the scripts are waited for: one that ignores
        // SIGTERM must not hold up the sessions' end.
        let _ = self.handle.stop(stop_message.as_deref());
        let now = Instant::now();
        for r in &mut self.runners {
            r.stop(&mut self.reaper, now);
        }
        self.reaper.finish();
    }

    /// Records a run's outcome; whether it differs from the previous run's.
    fn last_run(&mut self, name: &str, passed: bool) -> bool {
        match self.last_run.iter_mut().find(|(n, _)| n == name) {
            Some((_, last)) => std::mem::replace(last, passed) != passed,
            None => {
                self.last_run.push((name.to_string(), passed));
                true
            }
        }
    }

    fn reload(
        &mut self,
        vips: Vec<VipConfig>,
        scripts: Vec<(CheckScript, ResolvedScript)>,
        on_event: &mut impl FnMut(AnnouncerEvent),
    ) {
        if let Err(error) = check_scripts(&vips, &scripts).and_then(|()| Ok(self.vips.reload(vips)?)) {
            on_event(AnnouncerEvent::ReloadRefused { error: error.to_string() });
            return;
        }
        let now = Instant::now();
        // A script that stays keeps its schedule; one that changed or went is stopped.
        let mut old = std::mem::take(&mut self.runners);
        for (script, resolved) in scripts {
            match old.iter().position(|r| r.script == script) {
                Some(i) => self.runners.push(old.swap_remove(i)),
                None => self.runners.push(ScriptRunner::new(script, resolved, now)),
            }
        }
        for mut gone in old {
            gone.stop(&mut self.reaper, now);
        }
        self.pending.retain(|(p, _)| self.vips.is_announced(p));
        self.apply(now, on_event);
    }

    /// Carries out the gate's changes, and the announcements waiting for their address.
    fn apply(&mut self, now: Instant, on_event: &mut impl FnMut(AnnouncerEvent)) {
        if self.retry_at.is_some_and(|t| now >= t) {
            self.retry_at = None;
            for (prefix, attributes) in std::mem::take(&mut self.pending) {
                self.announce(now, prefix, attributes, on_event);
            }
        }
        while let Some(change) = self.vips.poll_change() {
            match change {
                VipChange::Announce { prefix, attributes } => {
                    self.pending.retain(|(p, _)| *p != prefix);
                    self.announce(now, prefix, attributes, on_event);
                }
                VipChange::Withdraw { prefix, reason } => {
                    let was_pending = self.pending.iter().any(|(p, _)| *p == prefix);
                    self.pending.retain(|(p, _)| *p != prefix);
                    if !was_pending {
                        self.handle.withdraw(prefix);
                    }
                    if let Some(lo) = &mut self.loopback
                        && let Err(e) = lo.netlink.remove_address(lo.index, prefix.addr(), prefix.prefix_len())
                    {
                        on_event(AnnouncerEvent::AddressFailed { prefix, error: e.to_string() });
                    }
                    on_event(AnnouncerEvent::Withdrawn { prefix, reason });
                }
            }
        }
    }

    fn announce(
        &mut self,
        now: Instant,
        prefix: IpNet,
        attributes: RouteAttributes,
        on_event: &mut impl FnMut(AnnouncerEvent),
    ) {
        if let Some(lo) = &mut self.loopback
            && let Err(e) = lo.netlink.add_address(lo.index, prefix.addr(), prefix.prefix_len(), None)
        {
            on_event(AnnouncerEvent::AddressFailed { prefix, error: e.to_string() });
            self.pending.push((prefix, attributes));
            self.retry_at = Some(now + ADDRESS_RETRY);
            return;
        }
        match self.handle.announce_with(prefix, attributes.clone()) {
            Ok(()) => on_event(AnnouncerEvent::Announced { prefix, attributes }),
            Err(error) => {
                // Not announced: the node must not hold the address either.
                if let Some(lo) = &mut self.loopback {
                    let _ = lo.netlink.remove_address(lo.index, prefix.addr(), prefix.prefix_len());
                }
                on_event(AnnouncerEvent::AnnounceRefused { prefix, error });
            }
        }
    }
}

/// Every VIP's checks have a script.
fn check_scripts(vips: &[VipConfig], scripts: &[(CheckScript, ResolvedScript)]) -> Result<(), AnnouncerError> {
    for vip in vips {
        for c in &vip.checks {
            if !scripts.iter().any(|(s, _)| s.name == c.name) {
                return Err(AnnouncerError::UnknownCheck { vip: vip.prefix, check: c.name.clone() });
            }
        }
    }
    Ok(())
}
