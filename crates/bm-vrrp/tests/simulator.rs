//! A deterministic simulator: N hosts on a virtual LAN with loss, delay, partitions and a
//! virtual clock, each a [`Router`] with one instance, driven only through the public API
//! (`start`, `handle_packet`, `handle_timeout`, `poll_action`, `poll_timeout`, the reports,
//! `shutdown`). Properties:
//!
//! - after the network heals and one Master_Down_Interval passes, exactly one master, holding
//!   the VIP, and it is the highest effective priority (ties: the highest primary address);
//! - a dead master is replaced within Master_Down_Interval (plus the link delay);
//! - a master that stops gracefully is replaced within Skew_Time (plus the link delay);
//! - after `handle_timeout(now)` no deadline is at or before `now` (no busy loop), and every
//!   advert sent is accepted by every other host (none dropped).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bm_testkit::Rng;
use bm_vrrp::{Action, Config, Instance, InstanceId, Routed, Router, State, Version, VipOp};
use proptest::prelude::*;

struct Node {
    router: Router,
    id: InstanceId,
    alive: bool,
    holds_vip: bool,
    side: u8,
}

/// A packet in flight.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Delivery {
    at: Duration,
    seq: u64,
    to: usize,
    from: usize,
    bytes: Vec<u8>,
}

struct Lan {
    nodes: Vec<Node>,
    now: Duration,
    queue: BinaryHeap<Reverse<Delivery>>,
    seq: u64,
    rng: Rng,
    loss: f64,
    delay: Duration,
    partitioned: bool,
    /// When the last packet from one node to another arrives: a LAN does not reorder one
    /// sender's packets, so jitter never lets a later advert overtake an earlier one (a
    /// priority-0 advert overtaken by the advert before it would restart the backups' timers).
    last_arrival: Vec<Vec<Duration>>,
    /// A host on side 0 of any partition: whose MAC its neighbour entry for the VIP names (the
    /// last announcement it received wins, as Linux lets a gratuitous ARP override).
    client_arp: Option<usize>,
}

/// [`Delivery::to`] for the client.
const CLIENT: usize = usize::MAX;

const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 100));

/// The one link every host has.
const ETH0: u32 = 2;

impl Node {
    fn inst(&self) -> &Instance {
        self.router.instance(self.id).expect("the node's instance")
    }
}

fn addr(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1 + i as u8))
}

impl Lan {
    fn new(priorities: &[u8], version: Version, interval: Duration, delay: Duration, seed: u64) -> Lan {
        let nodes = priorities
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let mut cfg = Config::new(51, p, addr(i), vec![VIP]);
                cfg.version = Some(version);
                cfg.advert_interval = interval;
                let mut router = Router::new();
                let id = router.add(ETH0, Instance::new(cfg).unwrap()).unwrap();
                Node { router, id, alive: true, holds_vip: false, side: (i % 2) as u8 }
            })
            .collect();
        Lan {
            nodes,
            now: Duration::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            rng: Rng::new(seed),
            loss: 0.0,
            delay,
            partitioned: false,
            last_arrival: vec![vec![Duration::ZERO; priorities.len()]; priorities.len()],
            client_arp: None,
        }
    }

    fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.nodes[i].router.start(self.now);
            self.drain(i);
        }
    }

    /// Carries out node `i`'s actions: adverts go to every other live node on its side of a
    /// partition, minus losses, after the link delay (with up to 10 % jitter).
    fn drain(&mut self, i: usize) {
        let now = self.now;
        while let Some((id, a)) = self.nodes[i].router.poll_action() {
            match a {
                Action::Send { to, bytes, .. } => {
                    self.nodes[i].router.report_send(now, id, to, Ok(())).unwrap();
                    for to in 0..self.nodes.len() {
                        if to == i || !self.nodes[to].alive {
                            continue;
                        }
                        if self.partitioned && self.nodes[to].side != self.nodes[i].side {
                            continue;
                        }
                        if self.rng.chance(self.loss) {
                            continue;
                        }
                        let jitter = self.delay / 10 * (self.rng.next_u64() % 11) as u32 / 10;
                        let at = (self.now + self.delay + jitter).max(self.last_arrival[i][to]);
                        self.last_arrival[i][to] = at;
                        self.seq += 1;
                        self.queue.push(Reverse(Delivery { at, seq: self.seq, to, from: i, bytes: bytes.clone() }));
                    }
                }
                Action::AddVips(vips) => {
                    self.nodes[i].holds_vip = true;
                    self.nodes[i].router.report_vips(now, id, VipOp::Add, &vips, Ok(())).unwrap();
                }
                Action::RemoveVips(vips) => {
                    self.nodes[i].holds_vip = false;
                    self.nodes[i].router.report_vips(now, id, VipOp::Remove, &vips, Ok(())).unwrap();
                }
                Action::Announce { .. } => {
                    // Announcements are repeated bursts: modelled as never lost, only delayed.
                    if !self.partitioned || self.nodes[i].side == 0 {
                        let jitter = self.delay / 10 * (self.rng.next_u64() % 11) as u32 / 10;
                        self.seq += 1;
                        let at = self.now + self.delay + jitter;
                        self.queue.push(Reverse(Delivery {
                            at,
                            seq: self.seq,
                            to: CLIENT,
                            from: i,
                            bytes: Vec::new(),
                        }));
                    }
                }
                Action::Transition { .. } => {}
            }
        }
    }

    /// Runs events until `until`.
    fn run_until(&mut self, until: Duration) {
        loop {
            let next_packet = self.queue.peek().map(|Reverse(d)| d.at);
            let next_timer = self.nodes.iter().filter(|n| n.alive).filter_map(|n| n.router.poll_timeout()).min();
            let Some(next) = [next_packet, next_timer].into_iter().flatten().min() else {
                self.now = until;
                return;
            };
            if next > until {
                self.now = until;
                return;
            }
            self.now = self.now.max(next);
            while self.queue.peek().is_some_and(|Reverse(d)| d.at <= self.now) {
                let Reverse(d) = self.queue.pop().unwrap();
                if d.to == CLIENT {
                    self.client_arp = Some(d.from);
                } else if self.nodes[d.to].alive {
                    let src = addr(d.from);
                    let routed =
                        self.nodes[d.to].router.handle_packet(self.now, ETH0, src, bm_vrrp::GROUP_V4, 255, &d.bytes);
                    assert!(matches!(routed, Routed::Accepted { .. }), "{routed:?}");
                    self.drain(d.to);
                }
            }
            for i in 0..self.nodes.len() {
                if self.nodes[i].alive && self.nodes[i].router.poll_timeout().is_some_and(|t| t <= self.now) {
                    self.nodes[i].router.handle_timeout(self.now);
                    self.drain(i);
                    let next = self.nodes[i].router.poll_timeout();
                    assert!(
                        next.is_none_or(|t| t > self.now),
                        "a deadline at {next:?}, now {:?}: a busy loop",
                        self.now
                    );
                }
            }
        }
    }

    /// Starts every node and runs three worst-case Master_Down_Intervals: the masters then.
    fn start_and_settle(&mut self) -> Vec<usize> {
        self.start_all();
        self.run_until(self.worst_master_down() * 3);
        self.masters()
    }

    fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.nodes[i].inst().state() == State::Master)
            .collect()
    }

    /// The node that must win: highest priority, then highest address, among the live ones.
    fn expected_winner(&self) -> usize {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive)
            .max_by_key(|&i| (self.nodes[i].inst().priority(), addr(i)))
            .unwrap()
    }

    fn worst_master_down(&self) -> Duration {
        self.nodes.iter().map(|n| n.inst().master_down_interval()).max().unwrap()
    }
}

fn arb_setup() -> impl Strategy<Value = (Vec<u8>, Version, Duration, Duration, u64)> {
    (
        prop::collection::vec(1u8..=254, 2..=5),
        prop_oneof![Just(Version::V2), Just(Version::V3)],
        prop::sample::select(vec![100u64, 250, 1000]),
        0u64..=20,
        any::<u64>(),
    )
        .prop_map(|(prios, version, interval_ms, delay_ms, seed)| {
            let interval =
                if version == Version::V2 { Duration::from_secs(1) } else { Duration::from_millis(interval_ms) };
            (prios, version, interval, Duration::from_millis(delay_ms), seed)
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Chaos (loss, a partition), then a healed network: one master, the right one.
    #[test]
    fn one_master_after_healing((prios, version, interval, delay, seed) in arb_setup(), loss in 0.0f64..0.5) {
        let mut lan = Lan::new(&prios, version, interval, delay, seed);
        lan.start_all();
        lan.loss = loss;
        lan.partitioned = true;
        lan.run_until(interval * 20);
        lan.loss = 0.0;
        lan.partitioned = false;
        let healed = lan.now;
        // Two rounds of master-down: a partition's master hears the other at the first advert,
        // and a preempting backup waits one interval.
        lan.run_until(healed + lan.worst_master_down() * 2 + delay * 4);
        let masters = lan.masters();
        prop_assert_eq!(masters.len(), 1, "masters {:?} priorities {:?}", masters, prios);
        prop_assert_eq!(masters[0], lan.expected_winner());
        let holders: Vec<usize> = (0..lan.nodes.len()).filter(|&i| lan.nodes[i].holds_vip).collect();
        prop_assert_eq!(&holders, &masters);
        // The client sends to the master: the loser's last advert made the winner announce
        // again, within an advert interval of the settling.
        lan.run_until(lan.now + interval * 2 + delay * 2);
        prop_assert_eq!(lan.client_arp, Some(masters[0]), "the client's neighbour entry; priorities {:?}", prios);
    }

    /// Equal priorities: after the master dies every backup times out at the same moment and
    /// announces the VIP; the client still ends up on the winner, within two advert intervals
    /// of the takeover rather than at the next 5 s burst.
    #[test]
    fn client_follows_the_winner_of_a_simultaneous_takeover(
        n in 3usize..=5, version in prop_oneof![Just(Version::V2), Just(Version::V3)], delay_ms in 1u64..=20, seed in any::<u64>()
    ) {
        let interval = if version == Version::V2 { Duration::from_secs(1) } else { Duration::from_millis(100) };
        let delay = Duration::from_millis(delay_ms);
        let mut lan = Lan::new(&vec![65; n], version, interval, delay, seed);
        let old = lan.start_and_settle();
        prop_assert_eq!(old.len(), 1);
        lan.nodes[old[0]].alive = false;
        let died = lan.now;
        let next = lan.expected_winner();
        lan.run_until(died + lan.worst_master_down() + interval * 2 + delay * 4);
        prop_assert_eq!(lan.masters(), vec![next]);
        prop_assert!(lan.now - died < Duration::from_secs(5) + lan.worst_master_down(), "before any 5 s burst");
        prop_assert_eq!(lan.client_arp, Some(next));
    }

    /// A crashed master is replaced within Master_Down_Interval (plus the delay).
    #[test]
    fn dead_master_replaced_within_master_down_interval((prios, version, interval, delay, seed) in arb_setup()) {
        let mut lan = Lan::new(&prios, version, interval, delay, seed);
        let old = lan.start_and_settle();
        prop_assert_eq!(old.len(), 1);
        lan.nodes[old[0]].alive = false;
        let died = lan.now;
        let next = lan.expected_winner();
        let bound = died + lan.nodes[next].inst().master_down_interval() + delay + delay / 10;
        lan.run_until(bound);
        prop_assert_eq!(lan.nodes[next].inst().state(), State::Master, "not master by {:?} after the crash", bound - died);
    }

    /// A master that stops gracefully (priority 0) is replaced within Skew_Time (plus the delay).
    #[test]
    fn graceful_stop_replaced_within_skew_time((prios, version, interval, delay, seed) in arb_setup()) {
        let mut lan = Lan::new(&prios, version, interval, delay, seed);
        let old = lan.start_and_settle();
        prop_assert_eq!(old.len(), 1);
        let now = lan.now;
        lan.nodes[old[0]].router.shutdown(now);
        lan.drain(old[0]);
        prop_assert!(!lan.nodes[old[0]].holds_vip, "the VIP is removed on stop");
        lan.nodes[old[0]].alive = false;
        let next = lan.expected_winner();
        let bound = now + lan.nodes[next].inst().skew_time() + delay + delay / 10;
        lan.run_until(bound);
        prop_assert_eq!(lan.nodes[next].inst().state(), State::Master);
    }
}
