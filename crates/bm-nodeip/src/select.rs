//! Selection: run the policy's methods over the ranked candidates, per family.

use std::net::IpAddr;

use bm_addr::Family;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::candidate::{Candidate, Rejection, candidates};
use crate::order::{DefaultRoutes, Rank};
use crate::{HostSnapshot, MAIN_TABLE, Method, Policy, RouteType};

/// The outcome of a selection: the chosen addresses and the fate of every address on the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The chosen addresses, primary family first; at most one per family.
    pub chosen: Vec<Chosen>,
    /// The primary family.
    pub primary_family: Family,
    /// Every address on the host with what happened to it, in candidate order.
    pub candidates: Vec<CandidateReport>,
    /// What became of the previous choice, when one was given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previous: Vec<PreviousReport>,
}

impl Selection {
    /// The chosen IPs as kubelet's `--node-ip` takes them: comma separated, primary first.
    pub fn node_ip_arg(&self) -> String {
        self.chosen.iter().map(|c| c.addr.addr().to_string()).collect::<Vec<_>>().join(",")
    }

    /// The chosen IPs, primary first.
    pub fn ips(&self) -> Vec<IpAddr> {
        self.chosen.iter().map(|c| c.addr.addr()).collect()
    }
}

/// A chosen address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chosen {
    /// The address with its prefix length.
    pub addr: IpNet,
    /// Its family.
    pub family: Family,
    /// Index of its link.
    pub link: u32,
    /// Name of its link.
    pub link_name: String,
    /// The method that chose it (`previous` when kept from the previous choice).
    pub method: String,
}

/// What happened to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateReport {
    /// The address with its prefix length.
    pub addr: IpNet,
    /// Name of its link.
    pub link_name: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Why an address won or lost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Chosen by this method.
    Chosen {
        /// The method.
        method: String,
    },
    /// Never eligible.
    Rejected {
        /// Every reason that applies.
        reasons: Vec<Rejection>,
    },
    /// Eligible, but another address of its family was chosen.
    Lost {
        /// The address chosen instead.
        to: IpAddr,
        /// The method that chose it.
        method: String,
        /// Why: the method did not match this address, or the criterion on which the winner
        /// ranked higher.
        why: String,
    },
    /// Eligible, but no method chose any address of its family.
    Unmatched,
}

/// What became of one previously chosen address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousReport {
    /// The previous address.
    pub ip: IpAddr,
    /// Kept, or why it was re-selected.
    pub kept: bool,
    /// The reason it was not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// One family's winner: the candidate index, the method, and the candidates the method matched.
struct Pick {
    index: usize,
    method: String,
    matched: Vec<usize>,
}

/// Selects the node IP(s) on `snapshot` under `policy`.
///
/// ```
/// use bm_nodeip::{HostSnapshot, Policy, select};
/// let host: HostSnapshot = serde_json::from_str(r#"{
///   "links": [{"index": 1, "name": "lo", "up": true, "loopback": true},
///             {"index": 2, "name": "eth0", "up": true}, {"index": 3, "name": "eth1", "up": true}],
///   "addresses": [{"link": 1, "addr": "127.0.0.1/8"},
///                 {"link": 2, "addr": "10.0.2.15/24"}, {"link": 3, "addr": "192.168.111.20/24"}],
///   "routes": [{"family": "ipv4", "destination": "0.0.0.0/0", "gateway": "10.0.2.2", "link": 2}]
/// }"#).unwrap();
/// // No VIP: the default route's link wins (kubelet's own choice, kubernetes#44702).
/// assert_eq!(select(&host, &Policy::default()).node_ip_arg(), "10.0.2.15");
/// // With the API VIP, the address in the VIP's subnet wins.
/// let vip = Policy::openshift(vec!["192.168.111.5".parse().unwrap()], vec![]);
/// assert_eq!(select(&host, &vip).node_ip_arg(), "192.168.111.20");
/// ```
pub fn select(snapshot: &HostSnapshot, policy: &Policy) -> Selection {
    let cands = candidates(snapshot, policy);
    let routes = DefaultRoutes::of(snapshot);
    let primary = policy.primary_family();
    let ranks: Vec<Rank> = cands.iter().map(|c| Rank::of(c, &routes, primary)).collect();
    // Usable candidates, best first.
    let mut order: Vec<usize> = (0..cands.len()).filter(|&i| cands[i].usable()).collect();
    order.sort_by_key(|&i| ranks[i]);

    let ctx = Ctx { snapshot, policy, cands: &cands, order: &order, routes: &routes };
    let families = [primary, primary.other()];
    let mut picks: [Option<Pick>; 2] = [None, None];
    let mut previous = Vec::new();

    // Stickiness: keep a previous choice that is still here and still usable.
    for &ip in &policy.previous {
        let at = cands.iter().position(|c| c.ip() == ip);
        let why = match at {
            None => Some("no longer on the host".to_string()),
            Some(i) if !cands[i].usable() => Some(format!(
                "no longer usable: {}",
                cands[i].rejections.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", ")
            )),
            Some(i) => {
                let slot = families.iter().position(|&f| f == cands[i].family).unwrap_or(0);
                if picks[slot].is_none() {
                    picks[slot] = Some(Pick { index: i, method: "previous".into(), matched: vec![i] });
                    None
                } else {
                    Some("another previous address of the same family was kept".to_string())
                }
            }
        };
        previous.push(PreviousReport { ip, kept: why.is_none(), why });
    }

    for method in &policy.methods {
        if picks.iter().all(Option::is_some) {
            break;
        }
        let found = ctx.run(method, families, &picks);
        for (slot, pick) in found.into_iter().enumerate() {
            if picks[slot].is_none() {
                picks[slot] = pick;
            }
        }
    }

    let chosen: Vec<Chosen> = picks
        .iter()
        .flatten()
        .map(|p| {
            let c = &cands[p.index];
            Chosen {
                addr: c.address.addr,
                family: c.family,
                link: c.address.link,
                link_name: c.link_name.to_string(),
                method: p.method.clone(),
            }
        })
        .collect();

    let reports = cands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let verdict = if !c.usable() {
                Verdict::Rejected { reasons: c.rejections.clone() }
            } else {
                match picks.iter().flatten().find(|p| cands[p.index].family == c.family) {
                    Some(p) if p.index == i => Verdict::Chosen { method: p.method.clone() },
                    Some(p) => {
                        let why = if p.matched.contains(&i) {
                            ranks[p.index]
                                .beats_on(&ranks[i])
                                .map_or_else(|| "ranked higher".to_string(), |c| format!("ranked higher: {c}"))
                        } else {
                            format!("not matched by {}", p.method)
                        };
                        Verdict::Lost { to: cands[p.index].ip(), method: p.method.clone(), why }
                    }
                    None => Verdict::Unmatched,
                }
            };
            CandidateReport { addr: c.address.addr, link_name: c.link_name.to_string(), verdict }
        })
        .collect();

    Selection { chosen, primary_family: primary, candidates: reports, previous }
}

struct Ctx<'s, 'a> {
    snapshot: &'s HostSnapshot,
    policy: &'s Policy,
    cands: &'s [Candidate<'a>],
    /// Usable candidate indices, best first.
    order: &'s [usize],
    routes: &'s DefaultRoutes,
}

impl Ctx<'_, '_> {
    /// Usable candidates of `family` satisfying `f`, best first.
    fn usable(&self, family: Family, f: impl Fn(&Candidate<'_>) -> bool) -> Vec<usize> {
        self.order.iter().copied().filter(|&i| self.cands[i].family == family && f(&self.cands[i])).collect()
    }

    /// One method's picks for both families (`families[0]` is the primary).
    fn run(&self, method: &Method, families: [Family; 2], already: &[Option<Pick>; 2]) -> [Option<Pick>; 2] {
        let name = method.name().to_string();
        let per_family = |matches: &dyn Fn(&Candidate<'_>) -> bool| -> [Option<Pick>; 2] {
            families.map(|f| {
                let matched = self.usable(f, matches);
                matched.first().map(|&index| Pick { index, method: name.clone(), matched: matched.clone() })
            })
        };
        match method {
            Method::Explicit { ips } => per_family(&|c| ips.contains(&c.ip())),
            Method::Family { family } => per_family(&|c| c.family == *family),
            Method::Hints { hints } => {
                let excluded = |c: &Candidate<'_>| hints.iter().any(|h| h.exclude && h.net.contains(&c.ip()));
                // Hints in order of preference: the first hint with a match decides.
                for h in hints.iter().filter(|h| !h.exclude) {
                    let matches = |c: &Candidate<'_>| {
                        !excluded(c)
                            && if h.is_ip { self.subnet_of(c).contains(&h.net.addr()) } else { h.net.contains(&c.ip()) }
                    };
                    let found = self.paired(&name, families, already, &matches, &|c| !excluded(c));
                    if found.iter().any(Option::is_some) {
                        return found;
                    }
                }
                [None, None]
            }
            Method::VipSubnet => {
                let vips = &self.policy.vips;
                let matches = |c: &Candidate<'_>| vips.iter().any(|v| self.subnet_of(c).contains(&bm_addr::unmap(*v)));
                self.paired(&name, families, already, &matches, &|_| true)
            }
            Method::CanReach { target } => {
                let target = bm_addr::unmap(*target);
                let family = bm_addr::family_of(target);
                let Some((link, prefsrc)) = self.route_to(target) else { return [None, None] };
                let matched = match prefsrc {
                    Some(src) => self.usable(family, |c| c.ip() == src),
                    None => self.usable(family, |c| c.address.link == link),
                };
                families.map(|f| {
                    (f == family)
                        .then(|| {
                            matched.first().map(|&index| Pick { index, method: name.clone(), matched: matched.clone() })
                        })
                        .flatten()
                })
            }
            Method::Interface { include, exclude } => per_family(&|c| {
                (include.is_empty() || include.iter().any(|p| p.matches(c.link_name)))
                    && !exclude.iter().any(|p| p.matches(c.link_name))
            }),
            Method::Cidr { cidrs } => families.map(|f| {
                cidrs.iter().find_map(|cidr| {
                    let matched = self.usable(f, |c| cidr.contains(&c.ip()));
                    matched.first().map(|&index| Pick { index, method: name.clone(), matched: matched.clone() })
                })
            }),
            Method::DefaultRoute => per_family(&|c| self.routes.has(c.address.link, c.family)),
            Method::LoopbackGlobal => per_family(&|c| c.link_is_loopback),
        }
    }

    /// VIP/hint-style matching: each family's best direct match; a family without one takes
    /// the best usable address on the link of the other family's match (OpenShift pairs the
    /// families on one link). Families already decided keep their pick and still anchor the
    /// pairing.
    fn paired(
        &self,
        name: &str,
        families: [Family; 2],
        already: &[Option<Pick>; 2],
        matches: &dyn Fn(&Candidate<'_>) -> bool,
        allowed: &dyn Fn(&Candidate<'_>) -> bool,
    ) -> [Option<Pick>; 2] {
        let direct: [Vec<usize>; 2] = families.map(|f| self.usable(f, matches));
        // The anchor link: the primary family's match, else the other's.
        let anchor = (0..2).find_map(|s| already[s].as_ref().map(|p| p.index).or(direct[s].first().copied()));
        let Some(anchor) = anchor else { return [None, None] };
        let link = self.cands[anchor].address.link;
        let mut out: [Option<Pick>; 2] = [None, None];
        for s in 0..2 {
            let on_link: Vec<usize> =
                direct[s].iter().copied().filter(|&i| self.cands[i].address.link == link).collect();
            let pick =
                on_link.first().or(direct[s].first()).copied().map(|index| (index, direct[s].clone())).or_else(|| {
                    let same_link = self.usable(families[s], |c| c.address.link == link && allowed(c));
                    same_link.first().map(|&index| (index, same_link.clone()))
                });
            out[s] = pick.map(|(index, matched)| Pick { index, method: name.to_string(), matched });
        }
        out
    }

    /// The subnet an address stands for: its own prefix, or for an IPv6 /128 the on-link
    /// prefix route of its link (DHCPv6 addresses with a router-advertised prefix).
    fn subnet_of(&self, c: &Candidate<'_>) -> IpNet {
        let a = c.address;
        if a.addr.prefix_len() == 128 {
            let onlink = self
                .snapshot
                .routes
                .iter()
                .filter(|r| {
                    r.table == MAIN_TABLE
                        && r.kind == RouteType::Unicast
                        && r.link == Some(a.link)
                        && r.gateway.is_none()
                        && r.destination.prefix_len() > 0
                        && r.destination.prefix_len() < 128
                        && r.destination.contains(&a.ip())
                })
                .max_by_key(|r| r.destination.prefix_len());
            if let Some(r) = onlink {
                return r.destination;
            }
        }
        a.addr
    }

    /// Route lookup on the snapshot: the main table's longest matching prefix, then the lowest
    /// metric. Returns the output link and the preferred source, if the route names one.
    fn route_to(&self, target: IpAddr) -> Option<(u32, Option<IpAddr>)> {
        let best = self
            .snapshot
            .routes
            .iter()
            .filter(|r| r.table == MAIN_TABLE && r.kind == RouteType::Unicast && r.destination.contains(&target))
            .min_by_key(|r| (std::cmp::Reverse(r.destination.prefix_len()), r.metric, r.links().min()))?;
        let link = best.links().min()?;
        Some((link, best.prefsrc))
    }
}
