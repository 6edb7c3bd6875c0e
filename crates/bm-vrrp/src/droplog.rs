//! Which drops deserve a log line: a flood of forged adverts must not become a flood of log
//! lines (issue 14: one line per dropped advert). The counters stay exact
//! ([`Stats::drops`](crate::Stats)); only the reporting is limited:
//!
//! - one line per instance, drop reason and source per [`WINDOW`], telling how many drops of
//!   that kind from that source were not reported since;
//! - at most [`MAX_LINES`] lines per window in all, so that spoofed sources cannot buy a line
//!   each; what they cause is counted and told with the next line;
//! - at most [`MAX_SOURCES`] sources remembered, so that memory stays bounded whatever the
//!   attacker sends; stale ones are forgotten when a window ends.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use crate::packet::DropKind;
use crate::router::InstanceId;

/// How long one source's drops of one kind stay quiet after a line.
pub(crate) const WINDOW: Duration = Duration::from_secs(10);
/// Lines per window, all instances, reasons and sources together.
pub(crate) const MAX_LINES: u32 = 20;
/// Sources remembered at once.
pub(crate) const MAX_SOURCES: usize = 256;

/// That a drop deserves a line, and what the previous lines left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DropReport {
    /// Drops of this kind from this source since its last line.
    pub suppressed: u64,
    /// Drops of any kind from sources that got no line of their own since the last line.
    pub suppressed_elsewhere: u64,
}

#[derive(Clone, Copy, Debug)]
struct Seen {
    reported_at: Duration,
    suppressed: u64,
}

/// The limiter's memory.
#[derive(Clone, Debug, Default)]
pub(crate) struct DropLog {
    seen: HashMap<(InstanceId, DropKind, IpAddr), Seen>,
    window_start: Duration,
    lines: u32,
    /// Drops that neither got a line nor belong to a remembered source.
    unreported: u64,
}

impl DropLog {
    /// Notes one drop at `now`; `Some` when it deserves a line.
    pub(crate) fn note(
        &mut self,
        now: Duration,
        instance: InstanceId,
        kind: DropKind,
        src: IpAddr,
    ) -> Option<DropReport> {
        if now >= self.window_start.saturating_add(WINDOW) {
            self.window_start = now;
            self.lines = 0;
            // Sources without a line for two windows are forgotten; what they left unreported
            // is told with the next line.
            let unreported = &mut self.unreported;
            self.seen.retain(|_, s| {
                let keep = now < s.reported_at.saturating_add(2 * WINDOW);
                if !keep {
                    *unreported += s.suppressed;
                }
                keep
            });
        }
        let key = (instance, kind, src);
        if let Some(s) = self.seen.get_mut(&key)
            && now < s.reported_at.saturating_add(WINDOW)
        {
            s.suppressed += 1;
            return None;
        }
        if self.lines >= MAX_LINES || (!self.seen.contains_key(&key) && self.seen.len() >= MAX_SOURCES) {
            match self.seen.get_mut(&key) {
                Some(s) => s.suppressed += 1,
                None => self.unreported += 1,
            }
            return None;
        }
        self.lines += 1;
        let previous = self.seen.insert(key, Seen { reported_at: now, suppressed: 0 });
        Some(DropReport {
            suppressed: previous.map_or(0, |s| s.suppressed),
            suppressed_elsewhere: std::mem::take(&mut self.unreported),
        })
    }

    /// Sources remembered (for tests of the bound).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn ip(i: u32) -> IpAddr {
        IpAddr::from(i.to_be_bytes())
    }

    #[test]
    fn one_line_per_source_and_kind_per_window() {
        let mut log = DropLog::default();
        let id = InstanceId::from_index(0);
        let src = ip(0x0a00_0009);
        assert_eq!(
            log.note(ms(0), id, DropKind::NotAPeer, src),
            Some(DropReport { suppressed: 0, suppressed_elsewhere: 0 })
        );
        for t in 1..1000 {
            assert_eq!(log.note(ms(t), id, DropKind::NotAPeer, src), None, "quiet within the window");
        }
        // Another kind from the same source is another line.
        assert!(log.note(ms(1000), id, DropKind::Ttl, src).is_some());
        let next = log.note(WINDOW, id, DropKind::NotAPeer, src);
        assert_eq!(next, Some(DropReport { suppressed: 999, suppressed_elsewhere: 0 }), "and says what it left out");
    }

    /// The attacker spoofs a new source for every advert: lines stay within the budget and
    /// memory within the bound, and every drop is accounted for in the next line.
    #[test]
    fn spoofed_sources_buy_no_log_flood() {
        let mut log = DropLog::default();
        let id = InstanceId::from_index(0);
        let mut lines = 0;
        let mut accounted = 0;
        let total = 100_000u32;
        for i in 0..total {
            let now = ms(u64::from(i) / 10); // 10,000 adverts per second for 10 s
            if let Some(r) = log.note(now, id, DropKind::NotAPeer, ip(i)) {
                lines += 1;
                accounted += 1 + r.suppressed + r.suppressed_elsewhere;
            }
            assert!(log.remembered() <= MAX_SOURCES);
        }
        assert!(lines <= MAX_LINES * 2, "{lines} lines in 10 s");
        // One more line after the window tells the rest.
        let r = log.note(WINDOW * 2, id, DropKind::NotAPeer, ip(total)).expect("a new window");
        accounted += 1 + r.suppressed + r.suppressed_elsewhere;
        assert_eq!(accounted, u64::from(total) + 1);
    }
}
