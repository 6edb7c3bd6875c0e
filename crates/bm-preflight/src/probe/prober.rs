//! The prober: a sans-IO state machine that schedules the probes for every target, reads every
//! frame the caller received, and records who answered.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::frame::{ArpOperation, ArpRepr, Frame, FrameError, MacAddr, NdMessage, NdRepr, Payload, solicited_node};

/// How many probes, how far apart, and how long to listen after the last.
///
/// The [`Default`] is for a pre-install check: 3 probes 200 ms apart, then 1 s of listening,
/// about 1.4 s for any number of targets (they are probed side by side). RFC 5227's timings
/// ([`ProbeConfig::rfc5227`]: a random 0–1 s wait, 3 probes 1–2 s apart, then 2 s) are for a
/// host about to *claim* an address: the random spacing keeps hosts that boot together (after
/// a power failure) from probing in lockstep, and the long waits cover a peer that is itself
/// still probing. A check claims nothing, so nobody's probing has to be desynchronised from
/// ours; what still matters is a lost frame, hence three probes, and a slow answerer: an owner
/// answers an ARP probe or a DAD solicitation from its kernel within milliseconds, and 1 s is
/// RFC 4861's `RETRANS_TIMER`, the time IPv6 DAD itself waits for an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeConfig {
    /// Probes per target (RFC 5227 `PROBE_NUM`: 3); at least 1.
    pub probes: u32,
    /// Longest random wait before the first probe (RFC 5227 `PROBE_WAIT`: 1 s).
    pub initial_delay_max: Duration,
    /// Time between probes (RFC 5227 `PROBE_MIN`: 1 s) ...
    pub interval: Duration,
    /// ... plus a random extra up to this (RFC 5227 `PROBE_MAX` − `PROBE_MIN`: 1 s).
    pub interval_jitter: Duration,
    /// Listening after the last probe (RFC 5227 `ANNOUNCE_WAIT`: 2 s).
    pub wait: Duration,
    /// Seed of the random waits: the prober draws no randomness of its own.
    pub seed: u64,
}

impl Default for ProbeConfig {
    fn default() -> ProbeConfig {
        ProbeConfig {
            probes: 3,
            initial_delay_max: Duration::ZERO,
            interval: Duration::from_millis(200),
            interval_jitter: Duration::ZERO,
            wait: Duration::from_secs(1),
            seed: 0,
        }
    }
}

impl ProbeConfig {
    /// RFC 5227 §2.1.1's timings, random waits drawn from `seed`: up to `PROBE_WAIT` (1 s)
    /// before the first probe, `PROBE_NUM` (3) probes `PROBE_MIN` to `PROBE_MAX` (1–2 s) apart,
    /// then `ANNOUNCE_WAIT` (2 s). Between 4 and 7 seconds.
    pub fn rfc5227(seed: u64) -> ProbeConfig {
        ProbeConfig {
            probes: 3,
            initial_delay_max: Duration::from_secs(1),
            interval: Duration::from_secs(1),
            interval_jitter: Duration::from_secs(1),
            wait: Duration::from_secs(2),
            seed,
        }
    }
}

/// Why a prober cannot be made. Nothing has been sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No address to probe.
    #[error("no address to probe")]
    NoTargets,
    /// `probes` is 0: nothing would be sent and every address would look free.
    #[error("probes is 0: at least one probe per address must be sent")]
    NoProbes,
    /// Our MAC address cannot be a frame's source.
    #[error("{0} is a group or zero address: the interface's own unicast MAC is needed")]
    Mac(MacAddr),
    /// The timings add up to more than a day (or overflow the clock): a mistake, not a check.
    #[error("the probing would take more than a day (probes, interval, jitter, initial delay and wait)")]
    TooLong,
    /// An address no host can own on a link.
    #[error("{address} cannot be probed: it is {why}")]
    Target {
        /// The address.
        address: IpAddr,
        /// What it is instead of a unicast address.
        why: &'static str,
    },
}

/// How another host showed that it has (or is about to take) an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AnswerKind {
    /// An ARP reply whose sender IP is the address (RFC 5227 §2.1.1): the owner answering.
    ArpReply,
    /// An ARP request whose sender IP is the address: the owner using it, or announcing it.
    ArpRequest,
    /// An ARP probe (sender IP 0.0.0.0) for the address from another MAC (RFC 5227 §2.1.1):
    /// another host checking it, about to claim it.
    ArpProbe,
    /// A neighbour advertisement for the address (RFC 4862 §5.4.4): the owner answering.
    NeighborAdvertisement,
    /// A neighbour solicitation for the address from `::` (RFC 4862 §5.4.3): another host's
    /// duplicate address detection, about to claim it.
    DadSolicitation,
}

/// One host's answers of one kind for one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The answering host's link-layer address: the ARP sender hardware address; the
    /// advertisement's target link-layer address option, or else the Ethernet source.
    pub mac: MacAddr,
    /// How it answered.
    pub kind: AnswerKind,
    /// How many such frames came.
    pub count: u32,
    /// When the first came, counted from the prober's creation.
    pub first: Duration,
}

impl AnswerKind {
    /// An answer only the address's owner gives (not another host's probe).
    pub const fn is_owner(self) -> bool {
        matches!(self, AnswerKind::ArpReply | AnswerKind::ArpRequest | AnswerKind::NeighborAdvertisement)
    }
}

impl std::fmt::Display for AnswerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AnswerKind::ArpReply => "an ARP reply",
            AnswerKind::ArpRequest => "an ARP request from the address",
            AnswerKind::ArpProbe => "another host's ARP probe",
            AnswerKind::NeighborAdvertisement => "a neighbour advertisement",
            AnswerKind::DadSolicitation => "another host's duplicate address detection",
        })
    }
}

/// The outcome for one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The address probed.
    pub address: IpAddr,
    /// Probes sent for it.
    pub probes_sent: u32,
    /// Every answer, one per answering MAC and kind, in the order they first came.
    pub answers: Vec<Answer>,
}

impl TargetReport {
    /// Whether another host answered for the address as its owner (an ARP reply or request
    /// from it, a neighbour advertisement): it is in use. Another host's probe for it
    /// ([`AnswerKind::ArpProbe`], [`AnswerKind::DadSolicitation`]) is not: that host is about
    /// to claim it, or is checking it as this prober does (`bmnet preflight` on every node at
    /// once); see [`contended`](Self::contended).
    pub fn in_use(&self) -> bool {
        self.answers.iter().any(|a| a.kind.is_owner())
    }

    /// Whether another host probed the address while this one did.
    pub fn contended(&self) -> bool {
        self.answers.iter().any(|a| !a.kind.is_owner())
    }
}

/// A probe to send now.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Transmit {
    /// The address it probes.
    pub target: IpAddr,
    /// Which probe of that address it is, from 1.
    pub probe: u32,
    /// The whole Ethernet frame, header included.
    pub frame: Vec<u8>,
}

/// What [`Prober::handle_frame`] made of a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Another host answered for `target`.
    Answer {
        /// The address.
        target: IpAddr,
        /// How.
        kind: AnswerKind,
        /// Who.
        mac: MacAddr,
    },
    /// From our own MAC: our probes seen coming back, or our own host.
    Own,
    /// A well-formed frame that says nothing about the targets.
    Unrelated,
    /// Not a frame the prober reads (see the error); dropped.
    Malformed(FrameError),
    /// Came after the listening ended; dropped.
    Late,
}

/// Probes IPv4 addresses with RFC 5227 ARP probes and IPv6 addresses with DAD-style neighbour
/// solicitations, and records who answers. No I/O: the caller sends what
/// [`Prober::poll_transmit`] yields, gives every received frame to [`Prober::handle_frame`],
/// and waits until [`Prober::poll_timeout`].
///
/// Methods:
/// - inputs: [`Prober::handle_frame`], [`Prober::handle_timeout`];
/// - outputs: [`Prober::poll_transmit`], drained until `None` after each input, then
///   [`Prober::poll_timeout`], the instant to call in again (`None`: done);
/// - getters: [`Prober::is_done`], [`Prober::reports`], [`Prober::into_reports`].
///
/// Every `now` passed in must not be earlier than the one before. Nothing panics on any input.
#[derive(Clone, Debug)]
pub struct Prober {
    mac: MacAddr,
    /// The host's other interfaces' MACs: their answers are this host's, not another's.
    also_ours: Vec<MacAddr>,
    config: ProbeConfig,
    start: Instant,
    reports: Vec<TargetReport>,
    /// Rounds fully sent (a round is one probe for each target).
    rounds: u32,
    /// The next target of the round being sent.
    next_target: usize,
    /// When the next round may start.
    next_round: Instant,
    /// When listening ends, once the last probe is out.
    end: Option<Instant>,
    done: bool,
    rng: u64,
}

/// The longest probing accepted (initial delay, probes and the wait together).
const MAX_PROBING: Duration = Duration::from_secs(86_400);

/// Why no host can own `address` on a link (unspecified, broadcast, multicast, loopback,
/// IPv4-mapped), or `None` when it can be probed: what [`Prober::new`] refuses.
pub fn target_problem(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(a) if a.is_unspecified() => Some("unspecified"),
        IpAddr::V4(a) if a.is_broadcast() => Some("the broadcast address"),
        IpAddr::V4(a) if a.is_multicast() => Some("multicast"),
        IpAddr::V4(a) if a.is_loopback() => Some("loopback"),
        IpAddr::V6(a) if a.is_unspecified() => Some("unspecified"),
        IpAddr::V6(a) if a.is_multicast() => Some("multicast"),
        IpAddr::V6(a) if a.is_loopback() => Some("loopback"),
        IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => Some("IPv4-mapped (probe the IPv4 address)"),
        _ => None,
    }
}

impl Prober {
    /// A prober for `targets` (duplicates probed once) from `mac`, the interface's address.
    /// The first probe is due at `now` plus the random initial delay.
    pub fn new(
        now: Instant,
        mac: MacAddr,
        targets: impl IntoIterator<Item = IpAddr>,
        config: ProbeConfig,
    ) -> Result<Prober, ProbeError> {
        if mac.is_multicast() || mac == MacAddr::ZERO {
            return Err(ProbeError::Mac(mac));
        }
        if config.probes == 0 {
            return Err(ProbeError::NoProbes);
        }
        let per_round = config.interval.checked_add(config.interval_jitter);
        let total = per_round
            .and_then(|r| r.checked_mul(config.probes))
            .and_then(|t| t.checked_add(config.initial_delay_max))
            .and_then(|t| t.checked_add(config.wait));
        if total.is_none_or(|t| t > MAX_PROBING) || now.checked_add(MAX_PROBING).is_none() {
            return Err(ProbeError::TooLong);
        }
        let mut reports: Vec<TargetReport> = Vec::new();
        for address in targets {
            if let Some(why) = target_problem(address) {
                return Err(ProbeError::Target { address, why });
            }
            if !reports.iter().any(|r| r.address == address) {
                reports.push(TargetReport { address, probes_sent: 0, answers: Vec::new() });
            }
        }
        if reports.is_empty() {
            return Err(ProbeError::NoTargets);
        }
        let mut p = Prober {
            mac,
            also_ours: Vec::new(),
            config,
            start: now,
            reports,
            rounds: 0,
            next_target: 0,
            next_round: now,
            end: None,
            done: false,
            rng: config.seed,
        };
        p.next_round = now + p.random_up_to(config.initial_delay_max);
        Ok(p)
    }

    /// splitmix64: a uniform duration in `[0, max]`.
    fn random_up_to(&mut self, max: Duration) -> Duration {
        let max_nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        if max_nanos == 0 {
            return Duration::ZERO;
        }
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        Duration::from_nanos(z % max_nanos.saturating_add(1).max(1))
    }

    fn advance(&mut self, now: Instant) {
        if let Some(end) = self.end
            && now >= end
        {
            self.done = true;
        }
    }

    /// Adds the MACs of the host's other interfaces: on a host with two NICs on one segment,
    /// Linux answers ARP for any of its addresses on every NIC (`arp_ignore=0`, the default),
    /// and those answers are the host's own, not another host's.
    pub fn also_ours(&mut self, macs: impl IntoIterator<Item = MacAddr>) {
        self.also_ours.extend(macs.into_iter().filter(|m| *m != self.mac));
    }

    fn is_ours(&self, mac: MacAddr) -> bool {
        mac == self.mac || self.also_ours.contains(&mac)
    }

    /// Notes the time: listening ends once its deadline has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance(now);
    }

    /// The next probe due at `now`, if one is; call until `None`. All targets' first probes
    /// go out together, then their second ones after the interval, and so on.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.advance(now);
        if self.done || self.rounds >= self.config.probes || now < self.next_round {
            return None;
        }
        let report = self.reports.get_mut(self.next_target)?;
        report.probes_sent += 1;
        let (target, probe) = (report.address, report.probes_sent);
        let frame = probe_frame(self.mac, target).to_vec();
        self.next_target += 1;
        if self.next_target == self.reports.len() {
            self.next_target = 0;
            self.rounds += 1;
            if self.rounds == self.config.probes {
                self.end = Some(now + self.config.wait);
            } else {
                self.next_round = now + self.config.interval + self.random_up_to(self.config.interval_jitter);
            }
        }
        Some(Transmit { target, probe, frame })
    }

    /// When to call in next ([`Prober::poll_transmit`] for the next probes, or
    /// [`Prober::handle_timeout`] for the end of listening); `None` once done. An instant
    /// already past means now.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.done {
            None
        } else if self.rounds < self.config.probes {
            Some(self.next_round)
        } else {
            self.end
        }
    }

    /// Whether the listening after the last probe has ended: the reports are final.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The reports so far, one per target in the order given.
    pub fn reports(&self) -> &[TargetReport] {
        &self.reports
    }

    /// The reports.
    pub fn into_reports(self) -> Vec<TargetReport> {
        self.reports
    }

    /// Reads one received Ethernet frame, whatever it is, and records it if it answers for a
    /// target. Frames from our own MAC, frames after the end and frames that are not
    /// well-formed ARP or neighbour discovery are dropped (the verdict says which).
    pub fn handle_frame(&mut self, now: Instant, frame: &[u8]) -> Verdict {
        self.advance(now);
        if self.done {
            return Verdict::Late;
        }
        let frame = match Frame::parse(frame) {
            Ok(f) => f,
            Err(e) => return Verdict::Malformed(e),
        };
        if self.is_ours(frame.source) {
            return Verdict::Own;
        }
        let found = match frame.payload {
            Payload::Arp(arp) => self.arp_answer(&arp),
            Payload::Nd(nd) => self.nd_answer(&frame, &nd),
        };
        let Some((target, kind, mac)) = found else {
            return Verdict::Unrelated;
        };
        if self.is_ours(mac) {
            return Verdict::Own;
        }
        let first = now.saturating_duration_since(self.start);
        if let Some(report) = self.reports.iter_mut().find(|r| r.address == target) {
            match report.answers.iter_mut().find(|a| a.mac == mac && a.kind == kind) {
                Some(a) => a.count = a.count.saturating_add(1),
                None => report.answers.push(Answer { mac, kind, count: 1, first }),
            }
        }
        Verdict::Answer { target, kind, mac }
    }

    fn is_target(&self, address: IpAddr) -> bool {
        self.reports.iter().any(|r| r.address == address)
    }

    fn arp_answer(&self, arp: &ArpRepr) -> Option<(IpAddr, AnswerKind, MacAddr)> {
        let sender = IpAddr::V4(arp.sender_ip);
        if self.is_target(sender) {
            let kind = match arp.operation {
                ArpOperation::Reply => AnswerKind::ArpReply,
                ArpOperation::Request => AnswerKind::ArpRequest,
            };
            return Some((sender, kind, arp.sender_mac));
        }
        let target = IpAddr::V4(arp.target_ip);
        if arp.operation == ArpOperation::Request && arp.sender_ip == Ipv4Addr::UNSPECIFIED && self.is_target(target) {
            return Some((target, AnswerKind::ArpProbe, arp.sender_mac));
        }
        None
    }

    fn nd_answer(&self, frame: &Frame, nd: &NdRepr) -> Option<(IpAddr, AnswerKind, MacAddr)> {
        match nd.message {
            NdMessage::Advertisement { target, target_mac, .. } if self.is_target(IpAddr::V6(target)) => {
                Some((IpAddr::V6(target), AnswerKind::NeighborAdvertisement, target_mac.unwrap_or(frame.source)))
            }
            NdMessage::Solicitation { target, .. }
                if nd.source == Ipv6Addr::UNSPECIFIED && self.is_target(IpAddr::V6(target)) =>
            {
                Some((IpAddr::V6(target), AnswerKind::DadSolicitation, frame.source))
            }
            _ => None,
        }
    }
}

/// The probe for `target` from `mac`: an ARP probe broadcast, or a neighbour solicitation
/// from `::` to the target's solicited-node group.
pub fn probe_frame(mac: MacAddr, target: IpAddr) -> Frame {
    match target {
        IpAddr::V4(a) => {
            Frame { destination: MacAddr::BROADCAST, source: mac, payload: Payload::Arp(ArpRepr::probe(mac, a)) }
        }
        IpAddr::V6(a) => Frame {
            destination: MacAddr::ipv6_multicast(solicited_node(a)),
            source: mac,
            payload: Payload::Nd(NdRepr::probe(a)),
        },
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // `Instant::now()` only as the origin of virtual time.
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OURS: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
    const OWNER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
    const OTHER: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0xbb]);

    fn v4() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 111, 5))
    }
    fn v6() -> IpAddr {
        IpAddr::V6("fd00::5".parse().unwrap())
    }
    fn v6_addr() -> Ipv6Addr {
        "fd00::5".parse().unwrap()
    }

    fn arp(op: ArpOperation, src: MacAddr, sender_mac: MacAddr, sender_ip: Ipv4Addr, target_ip: Ipv4Addr) -> Vec<u8> {
        Frame {
            destination: OURS,
            source: src,
            payload: Payload::Arp(ArpRepr { operation: op, sender_mac, sender_ip, target_mac: OURS, target_ip }),
        }
        .to_vec()
    }

    fn na(src: MacAddr, target: Ipv6Addr, target_mac: Option<MacAddr>) -> Vec<u8> {
        Frame {
            destination: MacAddr::ipv6_multicast(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            source: src,
            payload: Payload::Nd(NdRepr {
                source: "fe80::aa".parse().unwrap(),
                destination: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                hop_limit: 255,
                message: NdMessage::Advertisement {
                    router: false,
                    solicited: false,
                    override_: true,
                    target,
                    target_mac,
                },
            }),
        }
        .to_vec()
    }

    /// Drains every due probe.
    fn drain(p: &mut Prober, now: Instant) -> Vec<Transmit> {
        std::iter::from_fn(|| p.poll_transmit(now)).take(1000).collect()
    }

    /// Runs a prober to the end with virtual time, feeding `answer(transmit)` back for every
    /// probe sent; bounded: a prober that never ends fails the test.
    fn drive(
        mut p: Prober,
        start: Instant,
        mut answer: impl FnMut(&Transmit) -> Vec<Vec<u8>>,
    ) -> (Prober, Vec<(Duration, Transmit)>) {
        let mut now = start;
        let mut sent = Vec::new();
        for _ in 0..100 {
            for t in drain(&mut p, now) {
                for f in answer(&t) {
                    p.handle_frame(now, &f);
                }
                sent.push((now - start, t));
            }
            match p.poll_timeout() {
                None => return (p, sent),
                Some(at) => {
                    now = now.max(at);
                    p.handle_timeout(now);
                }
            }
        }
        panic!("the prober never finished: {p:?}");
    }

    #[test]
    fn probes_go_out_on_time_and_it_ends_after_the_wait() {
        let start = Instant::now();
        let p = Prober::new(start, OURS, [v4(), v6(), v4()], ProbeConfig::default()).unwrap();
        let (p, sent) = drive(p, start, |_| Vec::new());
        let times: Vec<(u128, IpAddr, u32)> = sent.iter().map(|(d, t)| (d.as_millis(), t.target, t.probe)).collect();
        assert_eq!(
            times,
            [(0, v4(), 1), (0, v6(), 1), (200, v4(), 2), (200, v6(), 2), (400, v4(), 3), (400, v6(), 3)],
            "the duplicate target is probed once"
        );
        assert!(p.is_done());
        assert_eq!(p.poll_timeout(), None);
        assert_eq!(p.reports().len(), 2);
        assert!(p.reports().iter().all(|r| r.probes_sent == 3 && !r.in_use()));
    }

    #[test]
    fn end_is_the_wait_after_the_last_probe_not_before() {
        let start = Instant::now();
        let mut p = Prober::new(start, OURS, [v4()], ProbeConfig::default()).unwrap();
        assert_eq!(p.poll_timeout(), Some(start));
        assert!(p.poll_transmit(start).is_some());
        assert_eq!(p.poll_transmit(start), None, "the second probe is not due yet");
        let second = start + Duration::from_millis(200);
        assert_eq!(p.poll_timeout(), Some(second));
        assert_eq!(p.poll_transmit(second - Duration::from_millis(1)), None);
        // A late caller: probes go out when asked, the end counts from the last one.
        let late = start + Duration::from_secs(5);
        assert_eq!(p.poll_transmit(late).map(|t| t.probe), Some(2));
        assert_eq!(p.poll_timeout(), Some(late + Duration::from_millis(200)));
        let third = late + Duration::from_millis(200);
        assert_eq!(p.poll_transmit(third).map(|t| t.probe), Some(3));
        let end = third + Duration::from_secs(1);
        assert_eq!(p.poll_timeout(), Some(end));
        p.handle_timeout(end - Duration::from_millis(1));
        assert!(!p.is_done());
        // An answer just before the end counts; one at the end is late.
        let reply = arp(ArpOperation::Reply, OWNER, OWNER, Ipv4Addr::new(192, 168, 111, 5), Ipv4Addr::UNSPECIFIED);
        assert!(matches!(p.handle_frame(end - Duration::from_millis(1), &reply), Verdict::Answer { .. }));
        assert_eq!(p.handle_frame(end, &reply), Verdict::Late);
        assert!(p.is_done());
        assert_eq!(p.poll_transmit(end), None);
        assert_eq!(p.reports()[0].answers[0].count, 1);
    }

    #[test]
    fn rfc5227_timings_are_random_within_bounds_and_seeded() {
        let start = Instant::now();
        let run = |seed| {
            let p = Prober::new(start, OURS, [v4()], ProbeConfig::rfc5227(seed)).unwrap();
            let (p, sent) = drive(p, start, |_| Vec::new());
            assert!(p.is_done());
            sent.into_iter().map(|(d, _)| d).collect::<Vec<_>>()
        };
        let a = run(1);
        assert_eq!(a, run(1), "the same seed, the same times");
        assert_ne!(a, run(2));
        assert_eq!(a.len(), 3);
        assert!(a[0] <= Duration::from_secs(1), "{a:?}");
        for w in a.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= Duration::from_secs(1) && gap <= Duration::from_secs(2), "{a:?}");
        }
    }

    #[test]
    fn every_kind_of_answer_is_recorded_with_the_answering_mac() {
        let start = Instant::now();
        let addr4 = Ipv4Addr::new(192, 168, 111, 5);
        let later = start + Duration::from_millis(30);
        let mut p = Prober::new(start, OURS, [v4(), v6()], ProbeConfig::default()).unwrap();
        let _ = drain(&mut p, start);
        let cases: Vec<(Vec<u8>, IpAddr, AnswerKind, MacAddr)> = vec![
            (arp(ArpOperation::Reply, OWNER, OWNER, addr4, Ipv4Addr::UNSPECIFIED), v4(), AnswerKind::ArpReply, OWNER),
            (arp(ArpOperation::Reply, OWNER, OWNER, addr4, Ipv4Addr::UNSPECIFIED), v4(), AnswerKind::ArpReply, OWNER),
            (
                arp(ArpOperation::Request, OTHER, OTHER, addr4, Ipv4Addr::new(192, 168, 111, 1)),
                v4(),
                AnswerKind::ArpRequest,
                OTHER,
            ),
            (arp(ArpOperation::Request, OTHER, OTHER, Ipv4Addr::UNSPECIFIED, addr4), v4(), AnswerKind::ArpProbe, OTHER),
            // The option names the owner even when a bridge or proxy relays the frame.
            (na(OTHER, v6_addr(), Some(OWNER)), v6(), AnswerKind::NeighborAdvertisement, OWNER),
            (na(OTHER, v6_addr(), None), v6(), AnswerKind::NeighborAdvertisement, OTHER),
            (probe_frame(OTHER, v6()).to_vec(), v6(), AnswerKind::DadSolicitation, OTHER),
        ];
        for (frame, target, kind, mac) in &cases {
            assert_eq!(p.handle_frame(later, frame), Verdict::Answer { target: *target, kind: *kind, mac: *mac });
        }
        let r = p.reports();
        assert!(r.iter().all(TargetReport::in_use));
        let summary = |i: usize| r[i].answers.iter().map(|a| (a.kind, a.mac, a.count)).collect::<Vec<_>>();
        assert_eq!(
            summary(0),
            [(AnswerKind::ArpReply, OWNER, 2), (AnswerKind::ArpRequest, OTHER, 1), (AnswerKind::ArpProbe, OTHER, 1)]
        );
        assert_eq!(
            summary(1),
            [
                (AnswerKind::NeighborAdvertisement, OWNER, 1),
                (AnswerKind::NeighborAdvertisement, OTHER, 1),
                (AnswerKind::DadSolicitation, OTHER, 1)
            ]
        );
        assert_eq!(r[0].answers[0].first, Duration::from_millis(30));
        // The report as JSON, the form `bmnet preflight --json` prints.
        let json = serde_json::to_value(r[1].answers[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"mac": "02:00:00:00:00:aa", "kind": "neighbor_advertisement", "count": 1,
                "first": {"secs": 0, "nanos": 30_000_000}})
        );
        let back: Vec<TargetReport> = serde_json::from_value(serde_json::to_value(r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn own_and_unrelated_frames_are_ignored() {
        let start = Instant::now();
        let addr4 = Ipv4Addr::new(192, 168, 111, 5);
        let mut p = Prober::new(start, OURS, [v4(), v6()], ProbeConfig::default()).unwrap();
        for t in drain(&mut p, start) {
            // Our own probes, looped back.
            assert_eq!(p.handle_frame(start, &t.frame), Verdict::Own);
        }
        // Our MAC inside a frame relayed from another source.
        assert_eq!(
            p.handle_frame(start, &arp(ArpOperation::Reply, OTHER, OURS, addr4, Ipv4Addr::UNSPECIFIED)),
            Verdict::Own
        );
        assert_eq!(p.handle_frame(start, &na(OTHER, v6_addr(), Some(OURS))), Verdict::Own);
        let unrelated = [
            // Someone asking for the address (sender IP another address): not an owner.
            arp(ArpOperation::Request, OTHER, OTHER, Ipv4Addr::new(192, 168, 111, 9), addr4),
            // Answers about other addresses.
            arp(ArpOperation::Reply, OTHER, OTHER, Ipv4Addr::new(192, 168, 111, 6), Ipv4Addr::UNSPECIFIED),
            arp(ArpOperation::Request, OTHER, OTHER, Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(192, 168, 111, 6)),
            // An ARP reply whose target (not sender) is the address.
            arp(ArpOperation::Reply, OTHER, OTHER, Ipv4Addr::new(192, 168, 111, 9), addr4),
            na(OTHER, "fd00::6".parse().unwrap(), None),
            probe_frame(OTHER, IpAddr::V6("fd00::6".parse().unwrap())).to_vec(),
            // Address resolution for the target from a configured source: someone asking.
            Frame {
                destination: MacAddr::ipv6_multicast(solicited_node(v6_addr())),
                source: OTHER,
                payload: Payload::Nd(NdRepr {
                    source: "fd00::9".parse().unwrap(),
                    message: NdMessage::Solicitation { target: v6_addr(), source_mac: Some(OTHER) },
                    ..NdRepr::probe(v6_addr())
                }),
            }
            .to_vec(),
        ];
        for f in &unrelated {
            assert_eq!(p.handle_frame(start, f), Verdict::Unrelated);
        }
        assert!(matches!(p.handle_frame(start, &[0u8; 60]), Verdict::Malformed(FrameError::EtherType(0))));
        assert!(matches!(p.handle_frame(start, &[1, 2, 3]), Verdict::Malformed(FrameError::Truncated { .. })));
        assert!(p.reports().iter().all(|r| !r.in_use()), "{:?}", p.reports());
    }

    #[test]
    fn sent_frames_are_probes_that_claim_nothing() {
        let start = Instant::now();
        let mut p = Prober::new(start, OURS, [v4(), v6()], ProbeConfig::default()).unwrap();
        let sent = drain(&mut p, start);
        assert_eq!(sent.len(), 2);
        let f4 = Frame::parse(&sent[0].frame).unwrap();
        assert_eq!(f4.destination, MacAddr::BROADCAST);
        assert_eq!(f4.source, OURS);
        assert_eq!(
            f4.payload,
            Payload::Arp(ArpRepr {
                operation: ArpOperation::Request,
                sender_mac: OURS,
                sender_ip: Ipv4Addr::UNSPECIFIED,
                target_mac: MacAddr::ZERO,
                target_ip: Ipv4Addr::new(192, 168, 111, 5),
            })
        );
        let f6 = Frame::parse(&sent[1].frame).unwrap();
        assert_eq!(f6.destination, MacAddr([0x33, 0x33, 0xff, 0, 0, 5]));
        assert_eq!(
            f6.payload,
            Payload::Nd(NdRepr {
                source: Ipv6Addr::UNSPECIFIED,
                destination: "ff02::1:ff00:5".parse().unwrap(),
                hop_limit: 255,
                message: NdMessage::Solicitation { target: v6_addr(), source_mac: None },
            })
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        let now = Instant::now();
        let new = |mac, targets: Vec<IpAddr>, config| Prober::new(now, mac, targets, config).map(drop);
        let c = ProbeConfig::default();
        assert_eq!(new(OURS, vec![], c), Err(ProbeError::NoTargets));
        assert_eq!(new(OURS, vec![v4()], ProbeConfig { probes: 0, ..c }), Err(ProbeError::NoProbes));
        assert_eq!(new(MacAddr::BROADCAST, vec![v4()], c), Err(ProbeError::Mac(MacAddr::BROADCAST)));
        assert_eq!(new(MacAddr::ZERO, vec![v4()], c), Err(ProbeError::Mac(MacAddr::ZERO)));
        for bad in ["0.0.0.0", "255.255.255.255", "224.0.0.18", "127.0.0.1", "::", "ff02::1", "::1", "::ffff:10.0.0.1"]
        {
            let address: IpAddr = bad.parse().unwrap();
            assert!(
                matches!(new(OURS, vec![v4(), address], c), Err(ProbeError::Target { address: a, .. }) if a == address),
                "{bad}"
            );
        }
        assert!(new(OURS, vec!["169.254.1.1".parse().unwrap(), "fe80::1".parse().unwrap()], c).is_ok());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 1..20)) {
            let start = Instant::now();
            let mut p = Prober::new(start, OURS, [v4(), v6()], ProbeConfig::default()).unwrap();
            for (i, f) in frames.iter().enumerate() {
                let now = start + Duration::from_millis(100 * i as u64);
                let _ = drain(&mut p, now);
                let _ = p.handle_frame(now, f);
            }
        }

        /// Whatever the targets, every frame the prober sends parses back as the probe for
        /// its target, from our MAC and claiming nothing.
        #[test]
        fn built_probes_parse_back(raw in proptest::collection::vec(any::<(bool, u32, u128)>(), 1..8)) {
            let targets: Vec<IpAddr> = raw.iter().map(|&(v4, a, b)| if v4 {
                IpAddr::V4(Ipv4Addr::from(a))
            } else {
                IpAddr::V6(Ipv6Addr::from(b))
            }).filter(|a| target_problem(*a).is_none()).collect();
            prop_assume!(!targets.is_empty());
            let start = Instant::now();
            let mut p = Prober::new(start, OURS, targets.clone(), ProbeConfig::default()).unwrap();
            for t in drain(&mut p, start) {
                let f = Frame::parse(&t.frame).unwrap();
                prop_assert_eq!(f.source, OURS);
                match (t.target, f.payload) {
                    (IpAddr::V4(a), Payload::Arp(arp)) => {
                        prop_assert_eq!(arp, ArpRepr::probe(OURS, a));
                        prop_assert_eq!(f.destination, MacAddr::BROADCAST);
                    }
                    (IpAddr::V6(a), Payload::Nd(nd)) => {
                        prop_assert_eq!(nd, NdRepr::probe(a));
                        prop_assert_eq!(f.destination, MacAddr::ipv6_multicast(solicited_node(a)));
                    }
                    (target, payload) => prop_assert!(false, "{} probed with {:?}", target, payload),
                }
                prop_assert_eq!(p.handle_frame(start, &t.frame), Verdict::Own);
            }
        }
    }

    #[test]
    fn peers_probing_contend_but_do_not_make_an_address_in_use() {
        let start = Instant::now();
        let ours = MacAddr([2, 0, 0, 0, 0, 1]);
        let other_nic = MacAddr([2, 0, 0, 0, 0, 2]);
        let peer = MacAddr([2, 0, 0, 0, 0, 9]);
        let target: IpAddr = "192.0.2.5".parse().unwrap();
        let mut p = Prober::new(start, ours, [target], ProbeConfig::default()).unwrap();
        p.also_ours([other_nic]);
        while p.poll_transmit(start).is_some() {}
        // Another checker's probe for the same address: contended, not in use.
        let probe = probe_frame(peer, target).to_vec();
        assert!(matches!(p.handle_frame(start, &probe), Verdict::Answer { kind: AnswerKind::ArpProbe, .. }));
        assert!(!p.reports()[0].in_use() && p.reports()[0].contended());
        // This host's other NIC answering (arp_ignore=0): its own, not an answer.
        let reply = |from: MacAddr| {
            Frame {
                destination: ours,
                source: from,
                payload: Payload::Arp(ArpRepr {
                    operation: ArpOperation::Reply,
                    sender_mac: from,
                    sender_ip: "192.0.2.5".parse().unwrap(),
                    target_mac: ours,
                    target_ip: std::net::Ipv4Addr::UNSPECIFIED,
                }),
            }
            .to_vec()
        };
        assert_eq!(p.handle_frame(start, &reply(other_nic)), Verdict::Own);
        assert!(!p.reports()[0].in_use());
        // The owner's reply: in use.
        assert!(matches!(p.handle_frame(start, &reply(peer)), Verdict::Answer { kind: AnswerKind::ArpReply, .. }));
        assert!(p.reports()[0].in_use());
    }

    #[test]
    fn timings_beyond_a_day_are_refused() {
        let start = Instant::now();
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let target: IpAddr = "192.0.2.5".parse().unwrap();
        for config in [
            ProbeConfig { wait: Duration::MAX, ..ProbeConfig::default() },
            ProbeConfig { interval: Duration::from_secs(u64::MAX / 2), probes: 3, ..ProbeConfig::default() },
            ProbeConfig { initial_delay_max: Duration::from_secs(86_401), ..ProbeConfig::default() },
        ] {
            assert_eq!(Prober::new(start, mac, [target], config).unwrap_err(), ProbeError::TooLong);
        }
    }
}
