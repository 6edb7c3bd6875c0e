//! The instances of one host behind one door, as quinn-proto's `Endpoint` is for its
//! connections: a received advert is demultiplexed by interface, family, VRID and source to the
//! instance it is for, link and check changes reach every instance they concern, and actions
//! come out tagged with their instance. The socket daemon is this plus I/O; C and Go callers
//! (bm-capi) get the same routing without rewriting it.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError};
use crate::droplog::{DropLog, DropReport};
use crate::instance::{Action, Instance, VipOp};
use crate::packet::DropReason;

/// An instance's handle in its [`Router`], given by [`Router::add`]: its position, from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(u32);

impl InstanceId {
    /// The instance added `index`-th (from 0).
    pub const fn from_index(index: u32) -> InstanceId {
        InstanceId(index)
    }

    /// Its position, from 0.
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// What happened to a received packet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Routed {
    /// The instance accepted it.
    Accepted {
        /// The instance.
        instance: InstanceId,
    },
    /// The instance it was for dropped it (counted in its [`Stats`](crate::Stats)).
    Dropped {
        /// The instance.
        instance: InstanceId,
        /// Why.
        reason: DropReason,
        /// `Some` when this drop deserves a log line ([`DropReport`]); floods get few.
        report: Option<DropReport>,
    },
    /// Sent by one of our own instances (the primary address is the source): ignored.
    Own {
        /// The instance that sent it.
        instance: InstanceId,
    },
    /// No instance runs this VRID on this interface and family (another router's: normal
    /// on a shared link), or it was too short to carry a VRID.
    NoInstance {
        /// The VRID it carries, if it is long enough to.
        vrid: Option<u8>,
    },
}

/// Counts of what no instance got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterStats {
    /// Packets for a VRID no instance runs on that interface and family.
    pub no_instance: u64,
    /// Packets too short to carry a VRID.
    pub too_short: u64,
    /// Our own adverts, seen again.
    pub own: u64,
}

/// Why an instance cannot join or change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// Another instance runs the same VRID on the same interface and family, and the two
    /// cannot be told apart: both multicast, one multicast, unicast with a peer in common, or
    /// unicast with one not checking sources (it accepts adverts from anyone, so which of the
    /// two gets an advert from a source neither lists would depend on the order they were
    /// added).
    #[error("VRID {vrid} already runs on interface {interface} for this address family ({other:?})")]
    Duplicate {
        /// The interface.
        interface: u32,
        /// The VRID.
        vrid: u8,
        /// The instance already there.
        other: InstanceId,
    },
    /// No instance has this id.
    #[error("no instance {0:?}")]
    UnknownInstance(InstanceId),
    /// The configuration is refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

#[derive(Clone, Debug)]
struct Entry {
    interface: u32,
    instance: Instance,
}

/// A host's instances: feed it packets, link and check changes and time; it hands each
/// instance what concerns it and collects their actions.
///
/// # Driving it
///
/// The drain rule is [`Instance`]'s: after every input (every method that takes `now`, times
/// never going backwards), call [`poll_action`](Router::poll_action) until `None`, carrying
/// out each action and reporting sends and VIP changes back
/// ([`report_send`](Router::report_send), [`report_vips`](Router::report_vips)); then wait for
/// [`poll_timeout`](Router::poll_timeout), the next packet or the next event, whichever comes
/// first, and call [`handle_timeout`](Router::handle_timeout) when the time has come.
/// Interfaces are whatever numbers the caller names links by (the socket daemon: ifindexes).
/// No method panics.
///
/// ```
/// use std::net::IpAddr;
/// use std::time::Duration;
/// use bm_vrrp::{Action, Config, GROUP_V4, Instance, Routed, Router, State, VipOp};
///
/// let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
/// let (eth0, vip) = (2, ip("192.168.111.5"));
/// // Two hosts, each with one router; the "network" carries adverts between them by hand.
/// let mut hosts = [Router::new(), Router::new()];
/// for (i, prio) in [(0, 100), (1, 50)] {
///     let me = ip(&format!("192.168.111.{}", 20 + i));
///     hosts[i].add(eth0, Instance::new(Config::new(51, prio, me, vec![vip])).unwrap()).unwrap();
///     hosts[i].start(Duration::ZERO);
/// }
/// let mut now = Duration::ZERO;
/// for _ in 0..20 {
///     let mut wire = Vec::new();
///     for (i, host) in hosts.iter_mut().enumerate() {
///         while let Some((id, action)) = host.poll_action() {
///             match action {
///                 Action::Send { to, bytes, .. } => {
///                     host.report_send(now, id, to, Ok(())).unwrap();
///                     wire.push((i, bytes));
///                 }
///                 Action::AddVips(v) => host.report_vips(now, id, VipOp::Add, &v, Ok(())).unwrap(),
///                 Action::RemoveVips(v) => host.report_vips(now, id, VipOp::Remove, &v, Ok(())).unwrap(),
///                 Action::Announce { .. } | Action::Transition { .. } => {}
///             }
///         }
///     }
///     for (from, bytes) in wire {
///         let src = ip(&format!("192.168.111.{}", 20 + from));
///         let routed = hosts[1 - from].handle_packet(now, eth0, src, GROUP_V4, 255, &bytes);
///         assert!(matches!(routed, Routed::Accepted { .. }), "{routed:?}");
///     }
///     now = hosts.iter().filter_map(Router::poll_timeout).min().unwrap();
///     for host in &mut hosts {
///         host.handle_timeout(now);
///     }
/// }
/// let states: Vec<State> = hosts.iter().flat_map(|h| h.instances().map(|(_, _, i)| i.state())).collect();
/// assert_eq!(states, [State::Master, State::Backup]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Router {
    entries: Vec<Entry>,
    drop_log: DropLog,
    stats: RouterStats,
}

impl Router {
    /// No instances yet.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds an instance running on `interface`; refused when another one runs its VRID on
    /// that interface and family and the two cannot be told apart ([`RouterError::Duplicate`]).
    pub fn add(&mut self, interface: u32, instance: Instance) -> Result<InstanceId, RouterError> {
        let clash =
            self.entries.iter().position(|e| clashes(interface, instance.config(), e.interface, e.instance.config()));
        if let Some(other) = clash {
            return Err(RouterError::Duplicate {
                interface,
                vrid: instance.config().vrid,
                other: InstanceId(other as u32),
            });
        }
        let id = InstanceId(u32::try_from(self.entries.len()).unwrap_or(u32::MAX));
        self.entries.push(Entry { interface, instance });
        Ok(id)
    }

    fn entry_mut(&mut self, id: InstanceId) -> Result<&mut Entry, RouterError> {
        self.entries.get_mut(id.index()).ok_or(RouterError::UnknownInstance(id))
    }

    /// An instance.
    pub fn instance(&self, id: InstanceId) -> Option<&Instance> {
        self.entries.get(id.index()).map(|e| &e.instance)
    }

    /// Every instance: its id, its interface and itself.
    pub fn instances(&self) -> impl Iterator<Item = (InstanceId, u32, &Instance)> + '_ {
        self.entries.iter().enumerate().map(|(i, e)| (InstanceId(i as u32), e.interface, &e.instance))
    }

    /// What no instance got.
    pub fn stats(&self) -> &RouterStats {
        &self.stats
    }

    /// Starts every instance.
    pub fn start(&mut self, now: Duration) {
        for e in &mut self.entries {
            e.instance.start(now);
        }
    }

    /// Stops every instance gracefully (masters resign with priority 0 and drop the VIPs).
    pub fn shutdown(&mut self, now: Duration) {
        for e in &mut self.entries {
            e.instance.shutdown(now);
        }
    }

    /// A received VRRP message (the IP payload) on `interface`, from `src` to `dst` with TTL /
    /// hop limit `ttl`: handed to the instance running its VRID there for its family (and, when
    /// several unicast instances share the VRID, to the one `src` is a peer of).
    pub fn handle_packet(
        &mut self,
        now: Duration,
        interface: u32,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        bytes: &[u8],
    ) -> Routed {
        let Some(&vrid) = bytes.get(1) else {
            self.stats.too_short += 1;
            return Routed::NoInstance { vrid: None };
        };
        // A dual-stack socket or a C caller may name IPv4 senders as ::ffff:a.b.c.d.
        let (src, dst) = (src.to_canonical(), dst.to_canonical());
        let mut candidates = self.entries.iter().enumerate().filter(|(_, e)| {
            let c = e.instance.config();
            e.interface == interface && c.vrid == vrid && c.primary.is_ipv4() == src.is_ipv4()
        });
        let Some((first, _)) = candidates.clone().next() else {
            self.stats.no_instance += 1;
            return Routed::NoInstance { vrid: Some(vrid) };
        };
        if let Some((own, _)) = candidates.clone().find(|(_, e)| e.instance.config().primary == src) {
            self.stats.own += 1;
            return Routed::Own { instance: InstanceId(own as u32) };
        }
        let index = candidates
            .find(|(_, e)| e.instance.config().unicast_peers.iter().any(|p| p.addr == src))
            .map_or(first, |(i, _)| i);
        let instance = InstanceId(index as u32);
        match self.entries[index].instance.handle_packet(now, src, dst, ttl, bytes) {
            Ok(()) => Routed::Accepted { instance },
            Err(reason) => {
                let report = self.drop_log.note(now, instance, reason.kind(), src);
                Routed::Dropped { instance, reason, report }
            }
        }
    }

    /// Runs every instance's timers due at `now`.
    pub fn handle_timeout(&mut self, now: Duration) {
        for e in &mut self.entries {
            if e.instance.poll_timeout().is_some_and(|t| t <= now) {
                e.instance.handle_timeout(now);
            }
        }
    }

    /// The earliest deadline of any instance.
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.entries.iter().filter_map(|e| e.instance.poll_timeout()).min()
    }

    /// The next action of any instance, with its instance: each instance's in order, the
    /// instances by id.
    pub fn poll_action(&mut self) -> Option<(InstanceId, Action)> {
        self.entries
            .iter_mut()
            .enumerate()
            .find_map(|(i, e)| e.instance.poll_action().map(|a| (InstanceId(i as u32), a)))
    }

    /// `interface`'s carrier, for the instances running on it.
    pub fn set_link(&mut self, now: Duration, interface: u32, up: bool) {
        for e in self.entries.iter_mut().filter(|e| e.interface == interface) {
            e.instance.set_link(now, up);
        }
    }

    /// A tracked check's result, for every instance tracking it; false when none does.
    pub fn set_check(&mut self, now: Duration, name: &str, passing: bool) -> bool {
        let mut known = false;
        for e in &mut self.entries {
            known |= e.instance.set_check(now, name, passing);
        }
        known
    }

    /// Whether an instance's source address is usable ([`Instance::set_source_usable`]).
    pub fn set_source_usable(&mut self, now: Duration, id: InstanceId, usable: bool) -> Result<(), RouterError> {
        self.entry_mut(id)?.instance.set_source_usable(now, usable);
        Ok(())
    }

    /// How an instance's send went ([`Instance::report_send`]).
    pub fn report_send(
        &mut self,
        now: Duration,
        id: InstanceId,
        to: IpAddr,
        outcome: Result<(), &str>,
    ) -> Result<(), RouterError> {
        self.entry_mut(id)?.instance.report_send(now, to, outcome);
        Ok(())
    }

    /// How an instance's VIP change went ([`Instance::report_vips`]).
    pub fn report_vips(
        &mut self,
        now: Duration,
        id: InstanceId,
        op: VipOp,
        vips: &[IpAddr],
        outcome: Result<(), &str>,
    ) -> Result<(), RouterError> {
        self.entry_mut(id)?.instance.report_vips(now, op, vips, outcome);
        Ok(())
    }

    /// Reloads an instance's configuration in place ([`Instance::reconfigure`]); refused, with
    /// nothing changed, when it would clash with another instance.
    pub fn reconfigure(&mut self, now: Duration, id: InstanceId, config: Config) -> Result<(), RouterError> {
        self.reconfigure_all(now, vec![(id, config)]).map_err(|(_, e)| e)
    }

    /// Reloads several instances at once, as a daemon's reload does: every configuration is
    /// validated, every instance's identity kept (VRID and family), and the whole new set
    /// checked for instances that could not be told apart (the new configurations against each
    /// other and against the instances not reloaded) before anything changes. Refused, with
    /// nothing changed and the offending instance named, or applied in full. Two instances may
    /// so swap their peers, which one [`Router::reconfigure`] after the other cannot do.
    pub fn reconfigure_all(
        &mut self,
        now: Duration,
        changes: Vec<(InstanceId, Config)>,
    ) -> Result<(), (InstanceId, RouterError)> {
        let mut fresh = Vec::with_capacity(changes.len());
        for (id, config) in changes {
            fresh.push((id, Instance::new(config).map_err(|e| (id, RouterError::Config(e)))?));
        }
        self.reconfigure_validated(now, fresh)
    }

    /// [`Router::reconfigure_all`] with configurations already validated (as instances built
    /// from them), so that a daemon that built them while checking a reload validates each once.
    pub(crate) fn reconfigure_validated(
        &mut self,
        now: Duration,
        fresh: Vec<(InstanceId, Instance)>,
    ) -> Result<(), (InstanceId, RouterError)> {
        for (k, (id, new)) in fresh.iter().enumerate() {
            let entry = self.entries.get(id.index()).ok_or((*id, RouterError::UnknownInstance(*id)))?;
            entry.instance.check_successor(new).map_err(|e| (*id, RouterError::Config(e)))?;
            if fresh[..k].iter().any(|(other, _)| other == id) {
                return Err((
                    *id,
                    RouterError::Duplicate { interface: entry.interface, vrid: new.config().vrid, other: *id },
                ));
            }
        }
        // The configurations after the reload: the new ones, the others as they are.
        let after = |i: usize| -> &Config {
            fresh.iter().find(|(id, _)| id.index() == i).map_or(self.entries[i].instance.config(), |(_, n)| n.config())
        };
        for (id, new) in &fresh {
            let interface = self.entries[id.index()].interface;
            let clash = (0..self.entries.len())
                .filter(|&i| i != id.index())
                .find(|&i| clashes(interface, new.config(), self.entries[i].interface, after(i)));
            if let Some(other) = clash {
                let other = InstanceId(other as u32);
                return Err((*id, RouterError::Duplicate { interface, vrid: new.config().vrid, other }));
            }
        }
        for (id, new) in fresh {
            self.entries[id.index()].instance.take_over(now, new);
        }
        Ok(())
    }
}

/// Whether an instance with configuration `a` on interface `ia` and one with `b` on `ib` could
/// not be told apart by [`Router::handle_packet`]: the same interface, VRID and family, and
/// either one multicast, a unicast peer in common, or one not checking sources.
fn clashes(ia: u32, a: &Config, ib: u32, b: &Config) -> bool {
    ia == ib
        && a.vrid == b.vrid
        && a.primary.is_ipv4() == b.primary.is_ipv4()
        && (a.unicast_peers.is_empty()
            || b.unicast_peers.is_empty()
            || !a.checks_unicast_src()
            || !b.checks_unicast_src()
            || a.unicast_peers.iter().any(|p| b.unicast_peers.iter().any(|q| q.addr == p.addr)))
}
