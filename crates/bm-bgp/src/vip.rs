//! Health-gated VIPs: each VIP is announced while its checks allow, with the same verdicts,
//! weights and faults as bm-vrrp's tracked scripts ([`bm_check`]), and withdrawn as soon as a
//! verdict says so.
//!
//! - A check of weight 0 gates its VIP: the VIP is announced only once every such check has a
//!   verdict and none says FAULT (failing, or passing when `reverse`), as a weight-0
//!   `track_script` keeps a VRRP instance in FAULT. A VIP without gating checks is announced
//!   at once.
//! - A weighted check changes the route's MED the way it changes a VRRP priority, in the
//!   direction BGP prefers: MED = base − [`bm_check::adjustment`], where the base
//!   is the VIP's `med` ([`DEFAULT_WEIGHTED_MED`] if it has none), clamped to 0..=2³²−1. Routers
//!   spread traffic (ECMP) over equal MEDs only, so a node whose weighted check fails keeps its
//!   path as a backup instead of taking a share.
//! - [`Vips::stop`] withdraws everything (SIGTERM: before the sessions close).
//!
//! The gate is sans-IO: check results are inputs ([`Vips::report`]), announcements and
//! withdrawals are outputs ([`Vips::poll_change`]), in the order they must be carried out.
//! The backend adds the VIP to the node (loopback) before announcing it and removes it after
//! withdrawing it, so that a node never attracts traffic for an address it does not hold and
//! never holds one it no longer announces.
//!
//! ```
//! use bm_bgp::{VipChange, VipConfig, Vips, Withheld};
//! use bm_check::CheckConfig;
//!
//! let mut api = VipConfig::new("192.0.2.10/32".parse().unwrap());
//! api.checks.push(CheckConfig { name: "haproxy".into(), weight: 0, rise: 1, fall: 2, reverse: false });
//! let mut vips = Vips::new(vec![api]).unwrap();
//! assert_eq!(vips.poll_change(), None, "withheld until the check has a verdict");
//!
//! vips.report("haproxy", true);
//! assert!(matches!(vips.poll_change(), Some(VipChange::Announce { .. })));
//! vips.report("haproxy", false);
//! assert_eq!(vips.poll_change(), None, "fall 2: one failure is not enough");
//! vips.report("haproxy", false);
//! assert_eq!(
//!     vips.poll_change(),
//!     Some(VipChange::Withdraw {
//!         prefix: "192.0.2.10/32".parse().unwrap(),
//!         reason: Withheld::CheckFailing { check: "haproxy".into() },
//!     })
//! );
//! ```

use std::collections::{BTreeSet, VecDeque};

use bm_check::{Check, CheckConfig, adjustment};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::message::{Community, LargeCommunity};
use crate::route::RouteAttributes;

/// The MED a VIP with weighted checks starts from when it sets none (its weights add to and
/// subtract from it; keepalived's default priority is 100 too).
pub const DEFAULT_WEIGHTED_MED: u32 = 100;

/// The largest weight, either way (keepalived's).
pub const MAX_WEIGHT: i32 = 253;

/// One VIP and what gates it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipConfig {
    /// The address as a host route: /32 or /128.
    pub prefix: IpNet,
    /// Its checks: weight 0 gates the VIP; other weights change its MED (see the module).
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// MULTI_EXIT_DISC: sent as is without weighted checks; the base weights adjust otherwise.
    #[serde(default)]
    pub med: Option<u32>,
    /// COMMUNITIES on this VIP's route (after the sessions' own).
    #[serde(default)]
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY on this VIP's route.
    #[serde(default)]
    pub large_communities: Vec<LargeCommunity>,
}

impl VipConfig {
    /// A VIP without checks or attributes.
    pub fn new(prefix: IpNet) -> VipConfig {
        VipConfig { prefix, checks: Vec::new(), med: None, communities: Vec::new(), large_communities: Vec::new() }
    }

    fn has_weights(&self) -> bool {
        self.checks.iter().any(|c| c.weight != 0)
    }
}

/// A VIP configuration [`Vips::new`] refuses; each names the VIP (and the check).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum VipError {
    /// Not a host route.
    #[error("VIP {0}: a VIP is one address, a /32 or a /128")]
    NotAHost(IpNet),
    /// The same VIP twice.
    #[error("VIP {0} is listed twice")]
    Duplicate(IpNet),
    /// The same check twice on one VIP.
    #[error("VIP {vip}: check {check} is listed twice")]
    DuplicateCheck {
        /// The VIP.
        vip: IpNet,
        /// The check.
        check: String,
    },
    /// A weight outside -253..=253.
    #[error("VIP {vip}: check {check} has weight {weight}: -253 to 253")]
    Weight {
        /// The VIP.
        vip: IpNet,
        /// The check.
        check: String,
        /// Its weight.
        weight: i32,
    },
    /// A check without a name.
    #[error("VIP {0}: a check has no name")]
    UnnamedCheck(IpNet),
    /// Communities over what an UPDATE holds.
    #[error("VIP {vip}: {bytes} bytes of communities, at most 2048")]
    TooManyCommunities {
        /// The VIP.
        vip: IpNet,
        /// Their size.
        bytes: usize,
    },
}

/// Why a VIP is not announced.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Withheld {
    /// A gating check has no verdict yet (at start, or after a reload added it).
    CheckPending {
        /// The check.
        check: String,
    },
    /// A gating check says FAULT (failing; passing when reversed).
    CheckFailing {
        /// The check.
        check: String,
    },
    /// [`Vips::stop`]: the node is leaving.
    Stopped,
    /// A reload removed it.
    Removed,
}

impl std::fmt::Display for Withheld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Withheld::CheckPending { check } => write!(f, "check {check} has no verdict yet"),
            Withheld::CheckFailing { check } => write!(f, "check {check} is failing"),
            Withheld::Stopped => f.write_str("stopping"),
            Withheld::Removed => f.write_str("removed from the configuration"),
        }
    }
}

/// What to do next, in order: [`Vips::poll_change`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VipChange {
    /// Add the address to the node, then announce the prefix with these attributes (again, with
    /// new attributes, when a weighted check changes its MED: the new path replaces the old).
    Announce {
        /// The VIP.
        prefix: IpNet,
        /// Its route's attributes.
        attributes: RouteAttributes,
    },
    /// Withdraw the prefix, then remove the address from the node.
    Withdraw {
        /// The VIP.
        prefix: IpNet,
        /// Why.
        reason: Withheld,
    },
}

/// One VIP's state, for status output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VipStatus {
    /// The VIP.
    pub prefix: IpNet,
    /// Its route's attributes while announced.
    pub announced: Option<RouteAttributes>,
    /// Why it is not announced, when it is not.
    pub withheld: Option<Withheld>,
    /// Each check and its verdict: `Some(true)` passing, `Some(false)` failing, `None` none yet.
    pub checks: Vec<(String, Option<bool>)>,
}

struct Vip {
    config: VipConfig,
    checks: Vec<Check>,
    /// What was last asked of the backend: announced with these attributes, or not.
    announced: Option<RouteAttributes>,
}

impl Vip {
    /// What the VIP should be now: its attributes, or why it is withheld.
    fn wanted(&self, stopped: bool) -> Result<RouteAttributes, Withheld> {
        if stopped {
            return Err(Withheld::Stopped);
        }
        for c in self.checks.iter().filter(|c| c.config().weight == 0) {
            let check = c.config().name.clone();
            if !c.passing() && !c.failing() {
                return Err(Withheld::CheckPending { check });
            }
            if c.config().reverse == c.passing() {
                return Err(Withheld::CheckFailing { check });
            }
        }
        let med = if self.config.has_weights() {
            let base = i64::from(self.config.med.unwrap_or(DEFAULT_WEIGHTED_MED));
            Some((base - adjustment(&self.checks)).clamp(0, i64::from(u32::MAX)) as u32)
        } else {
            self.config.med
        };
        Ok(RouteAttributes {
            med,
            communities: self.config.communities.clone(),
            large_communities: self.config.large_communities.clone(),
        })
    }
}

/// The VIPs of a node and their checks: see the module.
pub struct Vips {
    vips: Vec<Vip>,
    changes: VecDeque<VipChange>,
    stopped: bool,
}

impl std::fmt::Debug for Vips {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vips").field("status", &self.status()).field("stopped", &self.stopped).finish()
    }
}

impl Vips {
    /// The gate for `configs`; VIPs without gating checks are announced at once
    /// ([`Vips::poll_change`]).
    ///
    /// # Errors
    ///
    /// The first [`VipError`] found.
    pub fn new(configs: Vec<VipConfig>) -> Result<Vips, VipError> {
        validate(&configs)?;
        let mut vips = Vips { vips: Vec::new(), changes: VecDeque::new(), stopped: false };
        vips.vips = configs.into_iter().map(new_vip).collect();
        vips.update();
        Ok(vips)
    }

    /// Replaces the VIPs with `configs` (a reload): a check that stays, on a VIP that stays,
    /// keeps its verdict (in its new rise and fall, as keepalived keeps a script's state); a
    /// VIP that goes is withdrawn ([`Withheld::Removed`]), one that comes is gated as at start.
    ///
    /// # Errors
    ///
    /// The first [`VipError`] found; nothing changes then.
    pub fn reload(&mut self, configs: Vec<VipConfig>) -> Result<(), VipError> {
        validate(&configs)?;
        let mut old = std::mem::take(&mut self.vips);
        for config in configs {
            let mut vip = new_vip(config);
            if let Some(i) = old.iter().position(|o| o.config.prefix == vip.config.prefix) {
                let before = old.swap_remove(i);
                for c in &mut vip.checks {
                    if let Some(o) = before.checks.iter().find(|o| o.config().name == c.config().name) {
                        c.carry_from(o);
                    }
                }
                vip.announced = before.announced;
            }
            self.vips.push(vip);
        }
        for gone in old.into_iter().filter(|v| v.announced.is_some()) {
            self.changes.push_back(VipChange::Withdraw { prefix: gone.config.prefix, reason: Withheld::Removed });
        }
        self.update();
        Ok(())
    }

    /// Records one run of check `check` on every VIP that has it. Returns whether any has it.
    pub fn report(&mut self, check: &str, success: bool) -> bool {
        let mut known = false;
        for vip in &mut self.vips {
            for c in vip.checks.iter_mut().filter(|c| c.config().name == check) {
                c.report(success);
                known = true;
            }
        }
        self.update();
        known
    }

    /// Withdraws every VIP, for good: later reports change nothing.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.update();
    }

    /// The next change to carry out, in order.
    pub fn poll_change(&mut self) -> Option<VipChange> {
        self.changes.pop_front()
    }

    /// The names of every check, once each (what the backend runs).
    pub fn check_names(&self) -> BTreeSet<&str> {
        self.vips.iter().flat_map(|v| v.checks.iter().map(|c| c.config().name.as_str())).collect()
    }

    /// Each VIP's state.
    pub fn status(&self) -> Vec<VipStatus> {
        self.vips
            .iter()
            .map(|v| VipStatus {
                prefix: v.config.prefix,
                announced: v.announced.clone(),
                withheld: v.wanted(self.stopped).err(),
                checks: v
                    .checks
                    .iter()
                    .map(|c| {
                        let verdict = if c.passing() {
                            Some(true)
                        } else if c.failing() {
                            Some(false)
                        } else {
                            None
                        };
                        (c.config().name.clone(), verdict)
                    })
                    .collect(),
            })
            .collect()
    }

    /// Whether `prefix` is announced (as last asked of the backend).
    pub fn is_announced(&self, prefix: &IpNet) -> bool {
        self.vips.iter().any(|v| v.config.prefix == *prefix && v.announced.is_some())
    }

    /// Queues what differs between each VIP's wanted and asked state.
    fn update(&mut self) {
        for vip in &mut self.vips {
            match (vip.wanted(self.stopped), &vip.announced) {
                (Ok(attributes), Some(now)) if attributes == *now => {}
                (Ok(attributes), _) => {
                    vip.announced = Some(attributes.clone());
                    self.changes.push_back(VipChange::Announce { prefix: vip.config.prefix, attributes });
                }
                (Err(reason), Some(_)) => {
                    vip.announced = None;
                    self.changes.push_back(VipChange::Withdraw { prefix: vip.config.prefix, reason });
                }
                (Err(_), None) => {}
            }
        }
    }
}

fn new_vip(config: VipConfig) -> Vip {
    let checks = config.checks.iter().cloned().map(Check::new).collect();
    Vip { config, checks, announced: None }
}

fn validate(configs: &[VipConfig]) -> Result<(), VipError> {
    for (i, vip) in configs.iter().enumerate() {
        let prefix = vip.prefix;
        if prefix.prefix_len() != prefix.max_prefix_len() {
            return Err(VipError::NotAHost(prefix));
        }
        if configs[..i].iter().any(|o| o.prefix == prefix) {
            return Err(VipError::Duplicate(prefix));
        }
        for (j, c) in vip.checks.iter().enumerate() {
            if c.name.is_empty() {
                return Err(VipError::UnnamedCheck(prefix));
            }
            if vip.checks[..j].iter().any(|o| o.name == c.name) {
                return Err(VipError::DuplicateCheck { vip: prefix, check: c.name.clone() });
            }
            if !(-MAX_WEIGHT..=MAX_WEIGHT).contains(&c.weight) {
                return Err(VipError::Weight { vip: prefix, check: c.name.clone(), weight: c.weight });
            }
        }
        let attributes = RouteAttributes {
            med: None,
            communities: vip.communities.clone(),
            large_communities: vip.large_communities.clone(),
        };
        if let Err(bytes) = attributes.validate() {
            return Err(VipError::TooManyCommunities { vip: prefix, bytes });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn check(name: &str, weight: i32) -> CheckConfig {
        CheckConfig { name: name.into(), weight, rise: 1, fall: 1, reverse: false }
    }

    fn drain(v: &mut Vips) -> Vec<VipChange> {
        std::iter::from_fn(|| v.poll_change()).collect()
    }

    fn announce(prefix: &str, med: Option<u32>) -> VipChange {
        VipChange::Announce { prefix: net(prefix), attributes: RouteAttributes { med, ..Default::default() } }
    }

    #[test]
    fn a_vip_without_checks_is_announced_at_once_and_stop_withdraws_it() {
        let mut v = Vips::new(vec![VipConfig::new(net("2001:db8::10/128"))]).unwrap();
        assert_eq!(drain(&mut v), [announce("2001:db8::10/128", None)]);
        v.stop();
        assert_eq!(drain(&mut v), [VipChange::Withdraw { prefix: net("2001:db8::10/128"), reason: Withheld::Stopped }]);
        v.report("anything", true);
        assert_eq!(drain(&mut v), [], "stopped for good");
    }

    #[test]
    fn gating_checks_must_all_pass_and_reverse_inverts() {
        let mut vip = VipConfig::new(net("192.0.2.10/32"));
        vip.checks = vec![check("api", 0), CheckConfig { reverse: true, ..check("maintenance", 0) }];
        let mut v = Vips::new(vec![vip]).unwrap();
        assert_eq!(drain(&mut v), []);
        assert_eq!(v.status()[0].withheld, Some(Withheld::CheckPending { check: "api".into() }));
        v.report("api", true);
        assert_eq!(drain(&mut v), [], "maintenance has no verdict yet");
        v.report("maintenance", false);
        assert_eq!(drain(&mut v), [announce("192.0.2.10/32", None)], "reverse: failing is fine");
        v.report("maintenance", true);
        assert_eq!(
            drain(&mut v),
            [VipChange::Withdraw {
                prefix: net("192.0.2.10/32"),
                reason: Withheld::CheckFailing { check: "maintenance".into() }
            }]
        );
        assert!(!v.is_announced(&net("192.0.2.10/32")));
        assert!(!v.report("nobody", false), "an unknown check");
    }

    #[test]
    fn weights_move_the_med_as_they_move_a_priority() {
        let mut vip = VipConfig::new(net("192.0.2.10/32"));
        vip.checks = vec![check("haproxy", 20), check("disk", -30)];
        let mut v = Vips::new(vec![vip.clone()]).unwrap();
        assert_eq!(drain(&mut v), [announce("192.0.2.10/32", Some(100))], "no gate: at once, from the base");
        v.report("haproxy", true);
        assert_eq!(drain(&mut v), [announce("192.0.2.10/32", Some(80))], "a passing +20 is preferred");
        v.report("disk", false);
        assert_eq!(drain(&mut v), [announce("192.0.2.10/32", Some(110))]);
        vip.med = Some(10);
        let mut v = Vips::new(vec![vip]).unwrap();
        v.report("haproxy", true);
        assert_eq!(drain(&mut v), [announce("192.0.2.10/32", Some(10)), announce("192.0.2.10/32", Some(0))], "clamped");
    }

    #[test]
    fn a_shared_check_gates_every_vip_that_has_it() {
        let mut a = VipConfig::new(net("192.0.2.10/32"));
        a.checks = vec![check("haproxy", 0)];
        let mut b = VipConfig::new(net("2001:db8::10/128"));
        b.checks = vec![CheckConfig { fall: 2, ..check("haproxy", 0) }];
        let mut v = Vips::new(vec![a, b]).unwrap();
        v.report("haproxy", true);
        assert_eq!(drain(&mut v).len(), 2);
        v.report("haproxy", false);
        assert_eq!(drain(&mut v).len(), 1, "each VIP counts with its own fall");
        assert_eq!(v.check_names().into_iter().collect::<Vec<_>>(), ["haproxy"]);
    }

    #[test]
    fn reload_keeps_verdicts_and_withdraws_what_went() {
        let mut a = VipConfig::new(net("192.0.2.10/32"));
        a.checks = vec![check("api", 0)];
        let b = VipConfig::new(net("192.0.2.11/32"));
        let mut v = Vips::new(vec![a.clone(), b]).unwrap();
        v.report("api", true);
        assert_eq!(drain(&mut v).len(), 2);
        let mut c = VipConfig::new(net("192.0.2.12/32"));
        c.checks = vec![check("api", 0)];
        a.checks[0].fall = 3;
        v.reload(vec![a, c]).unwrap();
        assert_eq!(
            drain(&mut v),
            [VipChange::Withdraw { prefix: net("192.0.2.11/32"), reason: Withheld::Removed }],
            "the kept VIP keeps its verdict and stays; the new one waits for its own"
        );
        v.report("api", true);
        assert_eq!(drain(&mut v), [announce("192.0.2.12/32", None)]);
    }

    #[test]
    fn bad_configurations_name_the_vip_and_the_check() {
        let err = |c: VipConfig| Vips::new(vec![c]).unwrap_err().to_string();
        assert_eq!(err(VipConfig::new(net("192.0.2.0/24"))), "VIP 192.0.2.0/24: a VIP is one address, a /32 or a /128");
        let mut c = VipConfig::new(net("192.0.2.1/32"));
        c.checks = vec![check("a", 254)];
        assert_eq!(err(c.clone()), "VIP 192.0.2.1/32: check a has weight 254: -253 to 253");
        c.checks = vec![check("a", 0), check("a", 1)];
        assert_eq!(err(c.clone()), "VIP 192.0.2.1/32: check a is listed twice");
        c.checks = vec![];
        c.communities = (0..513).map(Community).collect();
        assert_eq!(err(c), "VIP 192.0.2.1/32: 2052 bytes of communities, at most 2048");
        let twice = Vips::new(vec![VipConfig::new(net("192.0.2.1/32")), VipConfig::new(net("192.0.2.1/32"))]);
        assert_eq!(twice.unwrap_err(), VipError::Duplicate(net("192.0.2.1/32")));
    }
}
