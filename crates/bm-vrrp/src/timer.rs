//! An instance's timers as one table indexed by [`Timer`], as quinn-proto keeps its own
//! (`connection/timer.rs`): one deadline per kind, the earliest is the next wake-up, and a
//! transition stops the timers its new state does not run in one place.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What an instance waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timer {
    /// Master: the next advert (RFC 5798's Adver_Timer).
    Advert,
    /// Backup: the master is presumed down (Master_Down_Timer).
    MasterDown,
    /// Until then lower-priority masters are accepted (keepalived's `preempt_delay`).
    PreemptDelay,
    /// Master: the second GARP / NA burst after `garp_master_delay`, then each
    /// `garp_master_refresh`.
    GarpRepeat,
    /// Master: the second burst after hearing a lower priority (`garp_lower_prio_delay`).
    GarpLowerPrio,
    /// Master: one more burst an advert interval after hearing a lower priority, when the
    /// other router has heard us and yielded (bmnet's addition).
    GarpSettle,
    /// FAULT because sends kept failing: try again (back to BACKUP) then.
    SendRetry,
    /// A failed VIP change is tried again then.
    VipRetry,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 8] = [
        Timer::Advert,
        Timer::MasterDown,
        Timer::PreemptDelay,
        Timer::GarpRepeat,
        Timer::GarpLowerPrio,
        Timer::GarpSettle,
        Timer::SendRetry,
        Timer::VipRetry,
    ];
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

    pub(crate) fn get(&self, timer: Timer) -> Option<Duration> {
        self.0[timer as usize]
    }

    /// Whether `timer` runs and is due at `now`.
    pub(crate) fn is_expired(&self, timer: Timer, now: Duration) -> bool {
        self.get(timer).is_some_and(|t| t <= now)
    }

    /// Stops `timer` and says whether it was due at `now`.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Duration) -> bool {
        let due = self.is_expired(timer, now);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_deadline_wins_and_expired_ones_are_taken_once() {
        let mut t = TimerTable::default();
        assert_eq!(t.next_timeout(), None);
        t.set(Timer::Advert, Duration::from_secs(3));
        t.set(Timer::GarpRepeat, Duration::from_secs(1));
        assert_eq!(t.next_timeout(), Some(Duration::from_secs(1)));
        assert!(!t.take_expired(Timer::Advert, Duration::from_secs(2)));
        assert!(t.take_expired(Timer::GarpRepeat, Duration::from_secs(2)));
        assert!(!t.take_expired(Timer::GarpRepeat, Duration::from_secs(2)), "taken once");
        assert_eq!(t.running().collect::<Vec<_>>(), [(Timer::Advert, Duration::from_secs(3))]);
        t.stop(Timer::Advert);
        assert_eq!(t.next_timeout(), None);
    }
}
