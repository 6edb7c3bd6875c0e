//! Response-rate limiting (RRL), as NSD and Knot have it: a UDP source can be forged, so a
//! server answering anyone is a reflector; limiting the answers per source prefix (IPv4 /24,
//! IPv6 /56) and kind of answer caps what a forged flood can aim at one victim. Over the limit,
//! every `slip`-th answer still goes out truncated (TC set, question only), so a real client
//! behind that prefix retries over TCP, which cannot be forged; the rest are dropped.
//!
//! Off by default: the cluster zone is asked by the nodes and pods of one cluster, often
//! through a few resolvers' addresses, and a limit sized for the internet would throttle them.
//! Turn it on for a server reachable from networks you do not trust.
//!
//! Shared by every worker thread without a lock: a fixed table of buckets, each one atomic word
//! holding the second it counts and its count, indexed by a keyed hash (so an attacker cannot
//! aim collisions at a victim's bucket). Two prefixes sharing a bucket share a limit: with 65,536
//! buckets that stays rare until tens of thousands of prefixes are active at once.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The limit's settings (`[rate_limit]` in the zone's TOML).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Answers per second per prefix and kind of answer (NSD's default: 200).
    pub responses_per_second: u32,
    /// Of the answers over the limit, every `slip`-th goes out truncated; 0: none (NSD: 2).
    pub slip: u32,
    /// IPv4 prefix length clients are grouped by (24).
    pub ipv4_prefix: u8,
    /// IPv6 prefix length clients are grouped by (56).
    pub ipv6_prefix: u8,
}

impl Default for RateLimitConfig {
    fn default() -> RateLimitConfig {
        RateLimitConfig { responses_per_second: 200, slip: 2, ipv4_prefix: 24, ipv6_prefix: 56 }
    }
}

/// What kind of answer is being limited: a flood of one kind does not eat the budget of
/// another (NSD and Knot separate them the same way, more finely).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// Data (NOERROR with answers).
    Positive,
    /// NXDOMAIN or NODATA.
    Negative,
    /// REFUSED, FORMERR, NOTIMP, SERVFAIL and the like.
    Error,
}

impl AnswerKind {
    /// The kind of the response `msg`.
    pub fn of(msg: &[u8]) -> AnswerKind {
        let rcode = msg.get(3).map_or(2, |b| b & 0x0f);
        let answers = msg.get(6..8).is_some_and(|c| c != [0, 0]);
        match rcode {
            0 if answers => AnswerKind::Positive,
            0 | 3 => AnswerKind::Negative,
            _ => AnswerKind::Error,
        }
    }
}

/// What to do with an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Over the limit: send it truncated (question only, TC set).
    Slip,
    /// Over the limit: send nothing.
    Drop,
}

const BUCKETS: usize = 1 << 16;

/// Cuts the answer `msg` to what a slipped answer carries: header and question, the OPT if it
/// has one, TC set and no records, so that the client asks again over TCP.
pub fn slip(msg: &mut Vec<u8>) {
    let Some(layout) = crate::message::layout(msg) else { return };
    let opt =
        layout.additional.iter().find(|s| s.rtype == crate::zone::rtype::OPT).map(|s| msg[s.start..s.end].to_vec());
    msg.truncate(layout.question_end);
    msg[2] |= 0x02;
    msg[6..12].copy_from_slice(&[0, 0, 0, 0, 0, u8::from(opt.is_some())]);
    if let Some(opt) = opt {
        msg.extend_from_slice(&opt);
    }
}

/// The limiter, shared by the workers of one server.
#[derive(Debug)]
pub struct RateLimiter {
    config: RateLimitConfig,
    start: Instant,
    key: (u64, u64),
    buckets: Box<[AtomicU64]>,
}

impl RateLimiter {
    /// A limiter counting seconds from `start`; `seed` must be random.
    pub fn new(config: RateLimitConfig, start: Instant, seed: [u8; 16]) -> RateLimiter {
        let (a, b) = seed.split_at(8);
        RateLimiter {
            config,
            start,
            key: (
                u64::from_le_bytes(a.try_into().expect("8 bytes")),
                u64::from_le_bytes(b.try_into().expect("8 bytes")),
            ),
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// The settings.
    pub fn config(&self) -> RateLimitConfig {
        self.config
    }

    /// Counts an answer of `kind` to `client` at `now`, and says whether it may go.
    pub fn check(&self, now: Instant, client: IpAddr, kind: AnswerKind) -> Verdict {
        let rate = self.config.responses_per_second;
        if rate == 0 {
            return Verdict::Send;
        }
        let second = now.saturating_duration_since(self.start).as_secs() as u32;
        let bucket = &self.buckets[self.bucket(client, kind)];
        let mut current = bucket.load(Ordering::Relaxed);
        let count = loop {
            let (at, n) = ((current >> 32) as u32, current as u32);
            let n = if at == second { n.saturating_add(1) } else { 1 };
            let next = (u64::from(second) << 32) | u64::from(n);
            match bucket.compare_exchange_weak(current, next, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => break n,
                Err(seen) => current = seen,
            }
        };
        if count <= rate {
            Verdict::Send
        } else if self.config.slip > 0 && (count - rate).is_multiple_of(self.config.slip) {
            Verdict::Slip
        } else {
            Verdict::Drop
        }
    }

    fn bucket(&self, client: IpAddr, kind: AnswerKind) -> usize {
        let mut data = [0u8; 18];
        match bm_addr::unmap(client) {
            IpAddr::V4(v4) => {
                let len = u32::from(self.config.ipv4_prefix.min(32));
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                data[..4].copy_from_slice(&(u32::from(v4) & mask).to_be_bytes());
                data[16] = 4;
            }
            IpAddr::V6(v6) => {
                let len = u32::from(self.config.ipv6_prefix.min(128));
                let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
                data[..16].copy_from_slice(&(u128::from(v6) & mask).to_be_bytes());
                data[16] = 6;
            }
        }
        data[17] = kind as u8;
        crate::siphash::siphash24(self.key.0, self.key.1, &data) as usize & (BUCKETS - 1)
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // A starting instant for the tests' clock.
mod tests {
    use std::time::Duration;

    use super::*;

    fn limiter(rate: u32, slip: u32) -> (RateLimiter, Instant) {
        let start = Instant::now();
        let cfg = RateLimitConfig { responses_per_second: rate, slip, ..RateLimitConfig::default() };
        (RateLimiter::new(cfg, start, [3; 16]), start)
    }

    #[test]
    fn over_the_limit_every_slipth_answer_is_truncated() {
        let (l, t) = limiter(10, 2);
        let ip = "192.0.2.7".parse().unwrap();
        let verdicts: Vec<Verdict> = (0..20).map(|_| l.check(t, ip, AnswerKind::Positive)).collect();
        assert!(verdicts[..10].iter().all(|v| *v == Verdict::Send));
        let (slipped, dropped) = verdicts[10..].iter().fold((0, 0), |(s, d), v| match v {
            Verdict::Slip => (s + 1, d),
            Verdict::Drop => (s, d + 1),
            Verdict::Send => panic!("over the limit"),
        });
        assert_eq!((slipped, dropped), (5, 5));
        // The same /24 shares the limit; another /24 and another kind do not.
        assert_ne!(l.check(t, "192.0.2.200".parse().unwrap(), AnswerKind::Positive), Verdict::Send);
        assert_eq!(l.check(t, "192.0.3.7".parse().unwrap(), AnswerKind::Positive), Verdict::Send);
        assert_eq!(l.check(t, ip, AnswerKind::Negative), Verdict::Send);
        // IPv4-mapped is the same client.
        assert_ne!(l.check(t, "::ffff:192.0.2.7".parse().unwrap(), AnswerKind::Positive), Verdict::Send);
        // The next second starts afresh.
        assert_eq!(l.check(t + Duration::from_secs(1), ip, AnswerKind::Positive), Verdict::Send);
    }

    #[test]
    fn slip_zero_drops_everything_over_and_ipv6_groups_by_56() {
        let (l, t) = limiter(1, 0);
        let a = "2001:db8:0:ff::1".parse().unwrap();
        assert_eq!(l.check(t, a, AnswerKind::Error), Verdict::Send);
        assert_eq!(l.check(t, "2001:db8:0:1::9".parse().unwrap(), AnswerKind::Error), Verdict::Drop);
        assert_eq!(l.check(t, "2001:db8:0:100::9".parse().unwrap(), AnswerKind::Error), Verdict::Send);
    }

    #[test]
    fn a_slipped_answer_keeps_question_and_opt() {
        use hickory_proto::op::{Edns, Message, MessageType, Query};
        use hickory_proto::rr::{Name, RData, Record, RecordType, rdata};
        let mut m = Message::query();
        m.metadata.message_type = MessageType::Response;
        let name = Name::from_ascii("api.c.example.com.").unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        m.add_answer(Record::from_rdata(name, 30, RData::A(rdata::A::new(192, 0, 2, 5))));
        m.set_edns(Edns::new());
        let mut bytes = m.to_vec().unwrap();
        slip(&mut bytes);
        let s = Message::from_vec(&bytes).unwrap();
        assert!(s.metadata.truncation && s.answers.is_empty());
        assert_eq!(s.queries.len(), 1);
        assert!(s.edns.is_some());
    }

    #[test]
    fn kinds_of_answers() {
        let mut msg = vec![0u8; 12];
        assert_eq!(AnswerKind::of(&msg), AnswerKind::Negative, "NODATA");
        msg[7] = 1;
        assert_eq!(AnswerKind::of(&msg), AnswerKind::Positive);
        msg[3] = 3;
        assert_eq!(AnswerKind::of(&msg), AnswerKind::Negative, "NXDOMAIN");
        msg[3] = 5;
        assert_eq!(AnswerKind::of(&msg), AnswerKind::Error);
    }
}
