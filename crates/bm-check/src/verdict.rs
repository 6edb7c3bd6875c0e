//! A check's verdict, exactly as keepalived computes it (`vrrp_track.c`, `vrrp_scheduler.c`):
//! rise/fall counters over consecutive runs; positive weights count while a check passes,
//! negative weights while it fails, and weight 0 means "fault while failing". `reverse` negates
//! the adjustment (keepalived's `weight_multiplier` of -1): a positive weight is subtracted
//! while passing, a negative one added while failing, and weight 0 faults while passing.
//!
//! What the adjustment and the fault mean is the user's: bm-vrrp adds the adjustment to an
//! instance's priority and faults the instance; bm-bgp withdraws a VIP while a check faults.

use serde::{Deserialize, Serialize};

/// A tracked check (keepalived's `vrrp_script` as used by `track_script`): how its runs become
/// a verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckConfig {
    /// Its name, as results are reported under.
    pub name: String,
    /// -253..=253: added while passing when positive, subtracted while failing when negative;
    /// 0 puts the instance in FAULT while failing.
    pub weight: i32,
    /// Consecutive successes to count as passing (>= 1).
    pub rise: u32,
    /// Consecutive failures to count as failing (>= 1).
    pub fall: u32,
    /// keepalived's `weight N reverse`: the adjustment is negated (see the module).
    #[serde(default)]
    pub reverse: bool,
}

/// A check's counter and verdict: feed it each run's result with [`Check::report`].
///
/// ```
/// use bm_check::{Check, CheckConfig};
///
/// let mut haproxy = Check::new(CheckConfig { name: "haproxy".into(), weight: 0, rise: 2, fall: 3, reverse: false });
/// assert!(!haproxy.passing() && !haproxy.failing(), "unknown until a run is reported");
/// assert!(haproxy.report(true) && haproxy.passing(), "at startup one success is enough");
/// haproxy.report(false);
/// haproxy.report(false);
/// assert!(haproxy.passing(), "two failures of three");
/// assert!(haproxy.report(false) && haproxy.failing());
/// assert_eq!(bm_check::faulting([&haproxy]), Some("haproxy"), "weight 0: a fault while failing");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    config: CheckConfig,
    /// keepalived's `result`, in 0..=rise+fall-1; passing iff >= rise.
    result: u32,
    /// Reported at least once.
    known: bool,
}

impl Check {
    /// A check not yet reported (neither passing nor failing); rise and fall of 0 count as 1.
    pub fn new(config: CheckConfig) -> Check {
        let rise = config.rise.max(1);
        // keepalived starts at rise-1: one success is enough, and the first failure counts.
        Check { result: rise - 1, known: false, config: CheckConfig { rise, fall: config.fall.max(1), ..config } }
    }

    /// Takes over an earlier check's verdict (a reload keeps a script's state, as keepalived
    /// does), expressed in this check's rise and fall.
    pub fn carry_from(&mut self, old: &Check) {
        if old.known {
            self.known = true;
            self.result = if old.passing() { self.config.rise + self.config.fall - 1 } else { 0 };
        }
    }

    /// Its configuration (rise and fall at least 1).
    pub fn config(&self) -> &CheckConfig {
        &self.config
    }

    /// Whether the check counts as passing.
    pub fn passing(&self) -> bool {
        self.known && self.result >= self.config.rise
    }

    /// Whether the check counts as failing (a check never reported counts as neither).
    pub fn failing(&self) -> bool {
        self.known && self.result < self.config.rise
    }

    /// Records one run; returns whether the verdict changed.
    pub fn report(&mut self, success: bool) -> bool {
        let (before_pass, before_fail) = (self.passing(), self.failing());
        let (rise, fall) = (self.config.rise, self.config.fall);
        if success {
            if self.result < rise - 1 {
                self.result += 1;
            } else {
                self.result = rise + fall - 1;
            }
        } else if self.result > rise {
            self.result -= 1;
        } else {
            self.result = 0;
        }
        self.known = true;
        (self.passing(), self.failing()) != (before_pass, before_fail)
    }
}

/// The adjustment `checks` make, as keepalived sums it: each positive weight while its check
/// passes, each negative weight while it fails, negated for `reverse`. bm-vrrp adds it to a
/// priority (and clamps); the sum is unbounded here.
pub fn adjustment<'a>(checks: impl IntoIterator<Item = &'a Check>) -> i64 {
    let mut total = 0i64;
    for c in checks {
        let w = i64::from(c.config.weight);
        if (w > 0 && c.passing()) || (w < 0 && c.failing()) {
            total += if c.config.reverse { -w } else { w };
        }
    }
    total
}

/// The first weight-0 check that says FAULT (failing, or passing when reversed), by name: what
/// puts a VRRP instance in FAULT and withdraws a BGP VIP.
pub fn faulting<'a>(checks: impl IntoIterator<Item = &'a Check>) -> Option<&'a str> {
    checks
        .into_iter()
        .find(|c| c.config.weight == 0 && if c.config.reverse { c.passing() } else { c.failing() })
        .map(|c| c.config.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(weight: i32, rise: u32, fall: u32) -> Check {
        Check::new(CheckConfig { name: "c".into(), weight, rise, fall, reverse: false })
    }

    fn reversed(weight: i32) -> Check {
        Check::new(CheckConfig { name: "c".into(), weight, rise: 1, fall: 1, reverse: true })
    }

    /// keepalived's `process_script_update_priority` with a multiplier of -1.
    #[test]
    fn reverse_negates_the_adjustment() {
        let mut pos = [reversed(30)];
        pos[0].report(true);
        assert_eq!(adjustment(&pos), -30, "+30 reverse: subtracted while passing");
        pos[0].report(false);
        assert_eq!(adjustment(&pos), 0, "nothing while failing");
        let mut neg = [reversed(-50)];
        neg[0].report(false);
        assert_eq!(adjustment(&neg), 50, "-50 reverse: added while failing");
        neg[0].report(true);
        assert_eq!(adjustment(&neg), 0);
        let mut zero = [reversed(0)];
        zero[0].report(false);
        assert_eq!(faulting(&zero), None, "weight 0 reverse: failing is fine");
        zero[0].report(true);
        assert_eq!(faulting(&zero), Some("c"), "and passing is a fault");
    }

    #[test]
    fn rise_and_fall_count_consecutive_runs() {
        let mut c = check(20, 2, 3);
        assert!(!c.passing() && !c.failing(), "unknown until reported");
        assert!(c.report(true), "one success is enough at startup");
        assert!(c.passing());
        assert!(!c.report(false) && !c.report(false), "two failures: still passing (fall 3)");
        assert!(c.report(false) && c.failing(), "the third fails it");
        assert!(!c.report(true), "one success is not enough (rise 2)");
        assert!(c.report(true) && c.passing());
        let mut c = check(-10, 2, 2);
        assert!(c.report(false) && c.failing(), "the first failure counts at once");
    }

    #[test]
    fn weights_count_by_verdict() {
        let mut checks = [check(20, 2, 2), check(5, 2, 2), check(-3, 2, 2), check(0, 1, 1)];
        assert_eq!(adjustment(&checks), 0, "nothing counts before a report");
        for c in &mut checks {
            c.report(true);
        }
        assert_eq!(adjustment(&checks), 25, "positive weights while passing");
        assert_eq!(faulting(&checks), None);
        for c in &mut checks {
            c.report(false);
            c.report(false);
        }
        assert_eq!(adjustment(&checks), -3, "negative weights while failing");
        assert_eq!(faulting(&checks), Some("c"), "weight 0 failing");
    }

    #[test]
    fn carry_from_keeps_the_verdict_in_new_counters() {
        let mut old = check(0, 1, 1);
        old.report(false);
        let mut new = check(0, 3, 3);
        new.carry_from(&old);
        assert!(new.failing());
        assert!(!new.report(true) && !new.report(true), "rise 3 from failing");
        assert!(new.report(true) && new.passing());
        let mut fresh = check(0, 2, 2);
        fresh.carry_from(&check(0, 1, 1));
        assert!(!fresh.passing() && !fresh.failing(), "an unreported check carries nothing");
    }
}
