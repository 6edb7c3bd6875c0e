//! A deterministic simulator of health-gated ECMP: nodes, each a [`Session`] (active) with its
//! [`Vips`] gate, and a router with one passive [`Session`] per node and a path table built
//! from the UPDATEs it receives, on a virtual clock, driven only through the public API.
//! Check results, link cuts and repairs, and waits come from proptest. Properties:
//!
//! - safety, at every quiet point: the router holds a node's path for the VIP only while that
//!   node's gate announces it and the node's check passes (by an independent model of
//!   keepalived's rise and fall), so a withdrawn VIP is never announced by an unhealthy node;
//! - convergence: once the links are up and the sessions have had time to come back, the
//!   router's path set is exactly the set of nodes whose check passes;
//! - a clean stop: a node stopping (its gate withdrawn, then its session with a Cease) has no
//!   path left at the router when the router reads its NOTIFICATION.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::time::Duration;

use bm_bgp::message::{Message, decode};
use bm_bgp::{Action, Config, Event, Session, State, VipChange, VipConfig, Vips};
use bm_check::CheckConfig;
use ipnet::IpNet;
use proptest::prelude::*;

const NODES: usize = 3;
const ROUTER_AS: u32 = 64512;
const NODE_AS: u32 = 64600;

fn vip() -> IpNet {
    "192.0.2.10/32".parse().unwrap()
}

/// keepalived's verdict, written from its description rather than from bm-check: the first
/// result decides; then `fall` failures in a row fail a passing check and `rise` successes in
/// a row pass a failing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Model {
    Unknown,
    Passing { failures: u32 },
    Failing { successes: u32 },
}

impl Model {
    fn report(self, ok: bool, rise: u32, fall: u32) -> Model {
        match (self, ok) {
            (Model::Unknown, true) => Model::Passing { failures: 0 },
            (Model::Unknown, false) => Model::Failing { successes: 0 },
            (Model::Passing { .. }, true) => Model::Passing { failures: 0 },
            (Model::Passing { failures }, false) if failures + 1 >= fall => Model::Failing { successes: 0 },
            (Model::Passing { failures }, false) => Model::Passing { failures: failures + 1 },
            (Model::Failing { successes }, true) if successes + 1 >= rise => Model::Passing { failures: 0 },
            (Model::Failing { successes }, true) => Model::Failing { successes: successes + 1 },
            (Model::Failing { .. }, false) => Model::Failing { successes: 0 },
        }
    }

    fn passing(self) -> bool {
        matches!(self, Model::Passing { .. })
    }
}

/// One node, its session with the router, and what the router holds from it.
struct Link {
    node: Session,
    router: Session,
    vips: Vips,
    /// The cable: a cut one refuses connections and drops the one there is.
    up: bool,
    connected: bool,
    model: Model,
    rise: u32,
    fall: u32,
    /// The router's paths from this node.
    paths: BTreeSet<IpNet>,
    /// Whether the router still held paths from this node when its NOTIFICATION arrived.
    paths_at_notification: Vec<bool>,
    stopped: bool,
}

impl Link {
    fn new(k: usize, rise: u32, fall: u32) -> Link {
        let address = Ipv4Addr::new(10, 0, 0, 11 + k as u8);
        let mut node = Config::new(NODE_AS, ROUTER_AS, address);
        node.next_hop_v4 = Some(address);
        node.families = vec![bm_bgp::Family::IPV4_UNICAST];
        let mut router = Config::new(ROUTER_AS, NODE_AS, Ipv4Addr::new(10, 0, 0, 1));
        router.passive = true;
        router.families = vec![bm_bgp::Family::IPV4_UNICAST];
        let mut config = VipConfig::new(vip());
        config.checks.push(CheckConfig { name: "api".into(), weight: 0, rise, fall, reverse: false });
        Link {
            node: Session::new(node).unwrap(),
            router: Session::new(router).unwrap(),
            vips: Vips::new(vec![config]).unwrap(),
            up: true,
            connected: false,
            model: Model::Unknown,
            rise,
            fall,
            paths: BTreeSet::new(),
            paths_at_notification: Vec::new(),
            stopped: false,
        }
    }

    /// Carries out the gate's changes on the session, as the backend does.
    fn apply_gate(&mut self, now: Duration) {
        while let Some(change) = self.vips.poll_change() {
            match change {
                VipChange::Announce { prefix, attributes } => {
                    self.node.announce_with(now, prefix, attributes).unwrap();
                }
                VipChange::Withdraw { prefix, .. } => {
                    self.node.withdraw(now, prefix);
                }
            }
        }
    }

    fn report(&mut self, now: Duration, ok: bool) {
        if self.stopped {
            return;
        }
        self.model = self.model.report(ok, self.rise, self.fall);
        self.vips.report("api", ok);
        self.apply_gate(now);
    }

    fn cut(&mut self, now: Duration) {
        self.up = false;
        if self.connected {
            self.connected = false;
            self.node.tcp_closed(now);
            self.router.tcp_closed(now);
        }
    }

    /// Carries out both sides' actions; whether there were any.
    fn step(&mut self, now: Duration) -> bool {
        let mut any = false;
        while let Some(action) = self.node.poll_action() {
            any = true;
            match action {
                Action::Connect => {
                    if self.up && !self.connected && self.router.state() == State::Active {
                        self.connected = true;
                        self.node.tcp_connected(now);
                        self.router.tcp_connected(now);
                    } else {
                        self.node.tcp_failed(now);
                    }
                }
                Action::Send { bytes } if self.connected => {
                    self.router_reads(&bytes);
                    self.router.handle_bytes(now, &bytes);
                }
                Action::Send { .. } => {}
                Action::Close if self.connected => {
                    self.connected = false;
                    self.router.tcp_closed(now);
                }
                Action::Close | Action::Event { .. } => {}
            }
        }
        while let Some(action) = self.router.poll_action() {
            any = true;
            match action {
                Action::Connect => self.router.tcp_failed(now),
                Action::Send { bytes } if self.connected => self.node.handle_bytes(now, &bytes),
                Action::Send { .. } => {}
                Action::Close if self.connected => {
                    self.connected = false;
                    self.node.tcp_closed(now);
                }
                Action::Close => {}
                // A router drops a peer's paths when its session goes down (no graceful restart).
                Action::Event { event: Event::StateChanged { from: State::Established, .. } } => self.paths.clear(),
                Action::Event { .. } => {}
            }
        }
        any
    }

    /// The router's view of the node's messages: its path table.
    fn router_reads(&mut self, bytes: &[u8]) {
        let mut at = 0;
        while at + 19 <= bytes.len() {
            let len = usize::from(u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]));
            match decode(&bytes[at..at + len]).expect("the node sends well-formed messages") {
                Message::Update(u) => {
                    for p in u.withdrawn_routes() {
                        self.paths.remove(&p);
                    }
                    self.paths.extend(u.announced());
                }
                Message::Notification(_) => self.paths_at_notification.push(!self.paths.is_empty()),
                _ => {}
            }
            at += len;
        }
    }

    /// Safety: a path at the router means the node announces and its check passes.
    fn check_safety(&self, k: usize) {
        if self.paths.contains(&vip()) {
            assert!(self.vips.is_announced(&vip()), "node {k}: the router has a path its gate withdrew");
            assert!(self.model.passing(), "node {k}: the router has a path from a node whose check fails");
        }
    }
}

struct Sim {
    links: Vec<Link>,
    now: Duration,
}

impl Sim {
    fn new(checks: &[(u32, u32)]) -> Sim {
        let mut links: Vec<Link> = checks.iter().enumerate().map(|(k, &(r, f))| Link::new(k, r, f)).collect();
        for l in &mut links {
            l.router.start(Duration::ZERO);
            l.node.start(Duration::ZERO);
        }
        let mut sim = Sim { links, now: Duration::ZERO };
        sim.run_for(Duration::from_secs(1));
        sim
    }

    fn settle(&mut self) {
        loop {
            let mut any = false;
            for l in &mut self.links {
                any |= l.step(self.now);
            }
            if !any {
                break;
            }
        }
        for (k, l) in self.links.iter().enumerate() {
            l.check_safety(k);
        }
    }

    /// Runs the clock forward by `d`, from deadline to deadline.
    fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        loop {
            self.settle();
            let next = self.links.iter().flat_map(|l| [l.node.poll_timeout(), l.router.poll_timeout()]).flatten().min();
            match next {
                Some(t) if t <= until => {
                    assert!(t >= self.now, "a deadline in the past");
                    self.now = t;
                    for l in &mut self.links {
                        l.node.handle_timeout(t);
                        l.router.handle_timeout(t);
                    }
                }
                _ => break,
            }
        }
        self.now = until;
        self.settle();
    }

    fn router_paths(&self) -> BTreeSet<usize> {
        (0..self.links.len()).filter(|&k| self.links[k].paths.contains(&vip())).collect()
    }

    fn healthy(&self) -> BTreeSet<usize> {
        (0..self.links.len()).filter(|&k| self.links[k].model.passing() && !self.links[k].stopped).collect()
    }
}

#[derive(Clone, Debug)]
enum Op {
    Report { node: usize, ok: bool },
    Cut { node: usize },
    Repair { node: usize },
    Wait { seconds: u64 },
    Stop { node: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..NODES, any::<bool>()).prop_map(|(node, ok)| Op::Report { node, ok }),
        1 => (0..NODES).prop_map(|node| Op::Cut { node }),
        1 => (0..NODES).prop_map(|node| Op::Repair { node }),
        2 => (1..200u64).prop_map(|seconds| Op::Wait { seconds }),
        1 => (0..NODES).prop_map(|node| Op::Stop { node }),
    ]
}

/// Long enough for a cut session to come back: the hold time, the idle hold's doubling and a
/// connect retry.
const RECOVERY: Duration = Duration::from_secs(600);

fn run(checks: &[(u32, u32)], ops: &[Op]) {
    let mut sim = Sim::new(checks);
    for op in ops {
        let now = sim.now;
        match *op {
            Op::Report { node, ok } => sim.links[node].report(now, ok),
            Op::Cut { node } => sim.links[node].cut(now),
            Op::Repair { node } => sim.links[node].up = true,
            Op::Wait { seconds } => sim.run_for(Duration::from_secs(seconds)),
            Op::Stop { node } => {
                let l = &mut sim.links[node];
                if !l.stopped {
                    l.stopped = true;
                    l.vips.stop();
                    l.apply_gate(now);
                    l.node.stop(now, Some("node drained")).unwrap();
                }
            }
        }
        sim.settle();
    }
    for l in &mut sim.links {
        l.up = true;
    }
    sim.run_for(RECOVERY);
    for (k, l) in sim.links.iter().enumerate() {
        if !l.stopped {
            assert_eq!(l.node.state(), State::Established, "node {k} is back");
        }
        assert!(!l.paths_at_notification.contains(&true), "node {k}: a NOTIFICATION arrived with paths still held");
    }
    assert_eq!(sim.router_paths(), sim.healthy(), "the router's paths are the healthy nodes");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_router_paths_are_the_healthy_nodes(
        checks in proptest::collection::vec((1..4u32, 1..4u32), NODES),
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        run(&checks, &ops);
    }
}

/// The flaps a reader would try first, spelled out: all healthy → ECMP over three; one fails
/// (fall 2) → two; a cut link → its path goes with its session and comes back with it.
#[test]
fn three_nodes_one_failing_one_cut() {
    let mut sim = Sim::new(&[(1, 2), (1, 2), (1, 2)]);
    for k in 0..NODES {
        let now = sim.now;
        sim.links[k].report(now, true);
    }
    sim.run_for(Duration::from_secs(1));
    assert_eq!(sim.router_paths(), BTreeSet::from([0, 1, 2]));
    let now = sim.now;
    sim.links[1].report(now, false);
    sim.settle();
    assert_eq!(sim.router_paths(), BTreeSet::from([0, 1, 2]), "fall 2: one failure is not enough");
    sim.links[1].report(now, false);
    sim.settle();
    assert_eq!(sim.router_paths(), BTreeSet::from([0, 2]), "withdrawn at the verdict, no clock needed");
    sim.links[2].cut(now);
    sim.settle();
    assert_eq!(sim.router_paths(), BTreeSet::from([0]));
    sim.links[2].up = true;
    sim.run_for(RECOVERY);
    assert_eq!(sim.router_paths(), BTreeSet::from([0, 2]));
}
