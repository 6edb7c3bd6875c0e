//! The calling thread's scheduling.

use std::time::Duration;

/// Sets this thread's timer slack: how late the kernel may end its sleeps (default 50 us).
pub fn set_timer_slack(slack: Duration) {
    // SAFETY: prctl(PR_SET_TIMERSLACK) takes an integer and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack.as_nanos() as libc::c_ulong, 0, 0, 0) };
}
