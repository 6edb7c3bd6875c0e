//! Tracked checks and the effective priority, exactly as keepalived computes them
//! (`vrrp_track.c`, `vrrp_scheduler.c`): rise/fall counters, positive weights added while a
//! check passes, negative weights subtracted while it fails, the sum clamped to 1..=254, an
//! owner's 255 never changed, and weight 0 meaning "fault while failing". `reverse` negates
//! the adjustment (keepalived's `weight_multiplier` of -1): a positive weight is subtracted
//! while passing, a negative one added while failing, and weight 0 faults while passing.

pub(crate) use bm_check::Check;
pub use bm_check::CheckConfig;

/// A check named `interface:NAME` tracks interface `NAME`'s carrier instead of a script, as
/// keepalived's `track_interface` does: [`parse_keepalived`](crate::parse_keepalived) names
/// them so, and the socket backend reports each carrier change as the check's result (rise and
/// fall 1). A core user reports them with [`Instance::set_check`](crate::Instance::set_check).
pub const TRACK_INTERFACE_PREFIX: &str = "interface:";

/// The effective priority: `base` plus positive weights of passing checks and negative weights
/// of failing ones ([`bm_check::adjustment`]), clamped to 1..=254; 255 (the address owner) is
/// never changed.
pub(crate) fn effective_priority(base: u8, checks: &[Check]) -> u8 {
    if base == 255 {
        return 255;
    }
    (i64::from(base) + bm_check::adjustment(checks)).clamp(1, 254) as u8
}

/// Whether a weight-0 check says FAULT: failing, or passing when reversed.
#[cfg(test)]
pub(crate) fn faulted(checks: &[Check]) -> bool {
    faulting(checks).is_some()
}

/// The first weight-0 check that says FAULT (failing, or passing when reversed), by name.
pub(crate) fn faulting(checks: &[Check]) -> Option<&str> {
    bm_check::faulting(checks)
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
        let mut pos = vec![reversed(30)];
        pos[0].report(true);
        assert_eq!(effective_priority(100, &pos), 70, "+30 reverse: subtracted while passing");
        pos[0].report(false);
        assert_eq!(effective_priority(100, &pos), 100, "nothing while failing");
        let mut neg = vec![reversed(-50)];
        neg[0].report(false);
        assert_eq!(effective_priority(100, &neg), 150, "-50 reverse: added while failing");
        neg[0].report(true);
        assert_eq!(effective_priority(100, &neg), 100);
        let mut zero = vec![reversed(0)];
        zero[0].report(false);
        assert!(!faulted(&zero), "weight 0 reverse: failing is fine");
        zero[0].report(true);
        assert!(faulted(&zero), "and passing is a fault");
    }

    /// OpenShift's API VIP: base 40, checks +20 (haproxy), +5, +3 (research §2.2).
    #[test]
    fn keepalived_arithmetic() {
        let mut checks = vec![check(20, 2, 2), check(5, 2, 2), check(3, 2, 2)];
        assert_eq!(effective_priority(40, &checks), 40);
        for c in &mut checks {
            c.report(true);
        }
        assert_eq!(effective_priority(40, &checks), 68);
        checks[0].report(false);
        checks[0].report(false);
        assert_eq!(effective_priority(40, &checks), 48);
        let mut neg = vec![check(-50, 1, 1)];
        neg[0].report(false);
        assert_eq!(effective_priority(20, &neg), 1, "clamped at 1");
        let mut pos = vec![check(253, 1, 1)];
        pos[0].report(true);
        assert_eq!(effective_priority(100, &pos), 254, "clamped at 254");
        assert_eq!(effective_priority(255, &neg), 255, "the owner is never changed");
        let mut fault = vec![check(0, 1, 1)];
        assert!(!faulted(&fault));
        fault[0].report(false);
        assert!(faulted(&fault));
        assert_eq!(effective_priority(100, &fault), 100, "weight 0 changes no priority");
    }
}
