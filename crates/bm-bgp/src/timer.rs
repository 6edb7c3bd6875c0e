//! A session's timers as one table indexed by [`Timer`], as quinn-proto and bm-vrrp keep
//! theirs: one deadline per kind, the earliest is the next wake-up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a session waits for (RFC 4271 §8.1.3, plus the automatic restart's IdleHoldTimer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// Connect/Active: the next connection attempt.
    ConnectRetry,
    /// OpenSent and later: nothing heard from the peer for the hold time.
    Hold,
    /// OpenConfirm and Established: the next KEEPALIVE.
    Keepalive,
    /// Idle after an error: the automatic restart.
    IdleHold,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 4] = [Timer::ConnectRetry, Timer::Hold, Timer::Keepalive, Timer::IdleHold];
}

/// One deadline (a time since the caller's epoch) per [`Timer`], or none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct TimerTable([Option<Duration>; Timer::ALL.len()]);

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Duration) {
        self.0[timer as usize] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer as usize] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.0 = Default::default();
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Duration> {
        self.0[timer as usize]
    }

    /// Stops `timer` and says whether it was due at `now`.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Duration) -> bool {
        let due = self.get(timer).is_some_and(|t| t <= now);
        if due {
            self.stop(timer);
        }
        due
    }

    /// The earliest deadline.
    pub(crate) fn next_timeout(&self) -> Option<Duration> {
        self.0.iter().flatten().min().copied()
    }

    /// The running timers with their deadlines, in table order.
    pub(crate) fn running(&self) -> impl Iterator<Item = (Timer, Duration)> + '_ {
        Timer::ALL.into_iter().filter_map(|t| self.get(t).map(|at| (t, at)))
    }
}
