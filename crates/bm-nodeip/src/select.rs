//! Selection: run the policy's methods over the ranked candidates, per family.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;

use bm_addr::Family;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::candidate::{Candidate, Rejection, candidates_into};
use crate::order::{DefaultRoutes, DefaultVia, Rank};
use crate::{HostSnapshot, MAIN_TABLE, Method, MethodName, Policy, RouteType};

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
    pub method: MethodName,
}

/// What happened to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateReport {
    /// The address with its prefix length.
    pub addr: IpNet,
    /// Name of its link (shared among the link's addresses).
    pub link_name: Arc<str>,
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
        method: MethodName,
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
        method: MethodName,
        /// Why: the method did not match this address, or the criterion on which the winner
        /// ranked higher. (Mostly static text: a host may have thousands of losers.)
        why: Cow<'static, str>,
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
    method: MethodName,
    matched: Vec<usize>,
    /// Set when the winner was taken from this link to pair the families on one link, not by
    /// rank among all matches.
    paired_on: Option<u32>,
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
    Selector::new().select(snapshot, policy)
}

/// [`select`] with scratch space kept from one call to the next: a daemon that re-selects
/// whenever the host changes allocates only the result. (On a host with 10,000 addresses the
/// scratch is about a megabyte; a fresh one costs a page fault per 4 KiB.)
///
/// ```
/// use bm_nodeip::{HostSnapshot, Policy, Selector};
/// let mut selector = Selector::new();
/// let host = HostSnapshot::default();
/// for _ in 0..3 {
///     assert!(selector.select(&host, &Policy::default()).chosen.is_empty());
/// }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Selector {
    cands: Vec<Candidate>,
    ranks: Vec<Rank>,
    usable: Vec<usize>,
}

impl Selector {
    /// A selector with empty scratch space.
    pub fn new() -> Selector {
        Selector::default()
    }

    /// Selects the node IP(s) on `snapshot` under `policy`, exactly as [`select`] does.
    pub fn select(&mut self, snapshot: &HostSnapshot, policy: &Policy) -> Selection {
        let Selector { cands, ranks, usable } = self;
        candidates_into(snapshot, policy, cands);
        let routes = DefaultRoutes::of(snapshot);
        let primary = policy.primary_family();
        // Addresses of one link usually come together: remember the last lookup per family.
        let mut last: [Option<(u32, Option<&DefaultVia>)>; 2] = [None, None];
        ranks.clear();
        ranks.extend(cands.iter().map(|c| {
            let slot = usize::from(c.family == Family::Ipv6);
            let default = match last[slot] {
                Some((link, via)) if link == c.link => via,
                _ => {
                    let via = routes.best(c.link, c.family);
                    last[slot] = Some((c.link, via));
                    via
                }
            };
            Rank::of(c, default, primary)
        }));
        usable.clear();
        usable.extend((0..cands.len()).filter(|&i| cands[i].usable()));
        select_ranked(snapshot, policy, primary, cands, ranks, usable)
    }
}

/// Selection once candidates are built and ranked.
fn select_ranked(
    snapshot: &HostSnapshot,
    policy: &Policy,
    primary: Family,
    cands: &[Candidate],
    ranks: &[Rank],
    usable: &[usize],
) -> Selection {
    let ctx = Ctx { snapshot, policy, cands, ranks, usable };
    let families = [primary, primary.other()];
    let mut picks: [Option<Pick>; 2] = [None, None];
    let mut previous = Vec::new();

    // Stickiness: keep a previous choice that is still here and still usable. The same IP may
    // sit on several links (or twice on one): the best-ranked usable copy counts, so the
    // snapshot's order cannot matter.
    let mut seen_previous: Vec<IpAddr> = Vec::new();
    for &ip in &policy.previous {
        if seen_previous.contains(&ip) {
            continue;
        }
        seen_previous.push(ip);
        let kept = ctx.best(usable.iter().copied().filter(|&i| cands[i].ip() == ip));
        let copies = || cands.iter().filter(|c| c.ip() == ip);
        let why = match kept {
            None if copies().next().is_none() => Some("no longer on the host".to_string()),
            None => {
                let mut reasons: Vec<String> =
                    copies().flat_map(|c| c.rejections.iter().map(|r| r.to_string())).collect();
                reasons.sort_unstable();
                reasons.dedup();
                Some(format!("no longer usable: {}", reasons.join(", ")))
            }
            Some(i) => {
                let slot = families.iter().position(|&f| f == cands[i].family).unwrap_or(0);
                if picks[slot].is_none() {
                    picks[slot] =
                        Some(Pick { index: i, method: MethodName::Previous, matched: vec![i], paired_on: None });
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
                addr: c.addr,
                family: c.family,
                link: c.link,
                link_name: c.link_name.to_string(),
                method: p.method,
            }
        })
        .collect();

    // Which candidates each family's winning method matched, as a mask: a method may match
    // thousands of addresses.
    let matched_by: Vec<(Family, Vec<bool>)> = picks
        .iter()
        .flatten()
        .map(|p| {
            let mut mask = vec![false; cands.len()];
            for &m in &p.matched {
                mask[m] = true;
            }
            (cands[p.index].family, mask)
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
                    Some(p) if p.index == i => Verdict::Chosen { method: p.method },
                    Some(p) => {
                        // A kept previous choice "matched" only itself: the others lose to it
                        // with `not_matched`'s "the previous choice was kept".
                        let why: Cow<'static, str> = if !matched_by.iter().any(|(f, mask)| *f == c.family && mask[i]) {
                            Cow::Borrowed(p.method.not_matched())
                        } else if let Some(link) = p.paired_on.filter(|&l| l != c.link) {
                            Cow::Owned(format!(
                                "not on {}, the link {} paired both families on",
                                link_name(snapshot, link),
                                p.method
                            ))
                        } else {
                            Cow::Borrowed(ranks[p.index].beats_on(&ranks[i]).unwrap_or("ranked higher"))
                        };
                        Verdict::Lost { to: cands[p.index].ip(), method: p.method, why }
                    }
                    None => Verdict::Unmatched,
                }
            };
            CandidateReport { addr: c.addr, link_name: c.link_name.clone(), verdict }
        })
        .collect();

    Selection { chosen, primary_family: primary, candidates: reports, previous }
}

fn link_name(snapshot: &HostSnapshot, index: u32) -> String {
    snapshot.link(index).map_or_else(|| format!("link {index}"), |l| l.name.clone())
}

struct Ctx<'s> {
    snapshot: &'s HostSnapshot,
    policy: &'s Policy,
    cands: &'s [Candidate],
    ranks: &'s [Rank],
    /// Usable candidate indices, in snapshot order.
    usable: &'s [usize],
}

impl Ctx<'_> {
    /// Usable candidates of `family` satisfying `f`, in snapshot order.
    fn usable(&self, family: Family, f: impl Fn(&Candidate) -> bool) -> Vec<usize> {
        self.usable.iter().copied().filter(|&i| self.cands[i].family == family && f(&self.cands[i])).collect()
    }

    /// The best of some candidates by the total order. A minimum, not a sort: methods only
    /// need their winner, and a host may have thousands of addresses. Ranks are distinct
    /// unless two entries are the same address on the same link with the same flags; only
    /// those indistinguishable twins fall back to snapshot position.
    fn best(&self, among: impl IntoIterator<Item = usize>) -> Option<usize> {
        among.into_iter().min_by_key(|&i| (self.ranks[i].key(), i))
    }

    /// A pick of the best of `matched`, if any.
    fn pick(&self, name: MethodName, matched: Vec<usize>) -> Option<Pick> {
        let index = self.best(matched.iter().copied())?;
        Some(Pick { index, method: name, matched, paired_on: None })
    }

    /// One method's picks for both families (`families[0]` is the primary).
    fn run(&self, method: &Method, families: [Family; 2], already: &[Option<Pick>; 2]) -> [Option<Pick>; 2] {
        let name = method.name();
        let per_family = |matches: &dyn Fn(&Candidate) -> bool| -> [Option<Pick>; 2] {
            families.map(|f| self.pick(name, self.usable(f, matches)))
        };
        match method {
            Method::Explicit { ips } => per_family(&|c| ips.contains(&c.ip())),
            Method::Family { family } => per_family(&|c| c.family == *family),
            Method::Hints { hints } => {
                let excluded = |c: &Candidate| hints.iter().any(|h| h.exclude && h.net.contains(&c.ip()));
                // Hints in order of preference: the first hint with a match decides.
                for h in hints.iter().filter(|h| !h.exclude) {
                    let matches = |c: &Candidate| {
                        !excluded(c)
                            && if h.is_ip { self.subnet_of(c).contains(&h.net.addr()) } else { h.net.contains(&c.ip()) }
                    };
                    let found = self.paired(name, families, already, &matches, &|c| !excluded(c));
                    if found.iter().any(Option::is_some) {
                        return found;
                    }
                }
                [None, None]
            }
            Method::VipSubnet => {
                let vips = &self.policy.vips;
                let matches = |c: &Candidate| vips.iter().any(|v| self.subnet_of(c).contains(&bm_addr::unmap(*v)));
                self.paired(name, families, already, &matches, &|_| true)
            }
            Method::CanReach { target } => {
                let target = bm_addr::unmap(*target);
                let family = bm_addr::family_of(target);
                let Some((link, prefsrc)) = self.route_to(target) else { return [None, None] };
                let matched = match prefsrc {
                    Some(src) => self.usable(family, |c| c.ip() == src),
                    None => self.usable(family, |c| c.link == link),
                };
                let mut matched = Some(matched);
                families.map(|f| if f == family { self.pick(name, matched.take()?) } else { None })
            }
            Method::Interface { include, exclude } => per_family(&|c| {
                (include.is_empty() || include.iter().any(|p| p.matches(&c.link_name)))
                    && !exclude.iter().any(|p| p.matches(&c.link_name))
            }),
            Method::Cidr { cidrs } => families
                .map(|f| cidrs.iter().find_map(|cidr| self.pick(name, self.usable(f, |c| cidr.contains(&c.ip()))))),
            Method::DefaultRoute => families.map(|f| {
                // The rank already knows whether the link has a default route of the family.
                let on_default = |&i: &usize| self.cands[i].family == f && self.ranks[i].has_default_route();
                self.pick(name, self.usable.iter().copied().filter(on_default).collect())
            }),
            Method::LoopbackGlobal => per_family(&|c| c.link_is_loopback),
        }
    }

    /// VIP/hint-style matching: each family's best direct match; a family without one takes
    /// the best usable address on the link of the other family's match (OpenShift pairs the
    /// families on one link). Families already decided keep their pick and still anchor the
    /// pairing.
    fn paired(
        &self,
        name: MethodName,
        families: [Family; 2],
        already: &[Option<Pick>; 2],
        matches: &dyn Fn(&Candidate) -> bool,
        allowed: &dyn Fn(&Candidate) -> bool,
    ) -> [Option<Pick>; 2] {
        let mut direct: [Vec<usize>; 2] = families.map(|f| self.usable(f, matches));
        // A method that matches nothing yields nothing, even where a family is already decided.
        if direct.iter().all(Vec::is_empty) {
            return [None, None];
        }
        // The anchor link: a decided family's pick, else the primary family's match, else the
        // other's.
        let anchor = (0..2)
            .find_map(|s| already[s].as_ref().map(|p| p.index))
            .or_else(|| (0..2).find_map(|s| self.best(direct[s].iter().copied())));
        let Some(anchor) = anchor else { return [None, None] };
        let link = self.cands[anchor].link;
        let mut out: [Option<Pick>; 2] = [None, None];
        for s in 0..2 {
            let on_link = self.best(direct[s].iter().copied().filter(|&i| self.cands[i].link == link));
            let best = self.best(direct[s].iter().copied());
            let matched = std::mem::take(&mut direct[s]);
            out[s] = match (on_link, best) {
                (Some(index), Some(best)) => {
                    Some(Pick { index, method: name, matched, paired_on: (index != best).then_some(link) })
                }
                (None, Some(index)) => Some(Pick { index, method: name, matched, paired_on: None }),
                _ => self.pick(name, self.usable(families[s], |c| c.link == link && allowed(c))),
            };
        }
        out
    }

    /// The subnet an address stands for: its own prefix, or for an IPv6 /128 the on-link
    /// prefix route of its link (DHCPv6 addresses with a router-advertised prefix).
    fn subnet_of(&self, c: &Candidate) -> IpNet {
        if c.addr.prefix_len() == 128 {
            let onlink = self
                .snapshot
                .routes
                .iter()
                .filter(|r| {
                    r.table == MAIN_TABLE
                        && r.kind == RouteType::Unicast
                        && r.link == Some(c.link)
                        && r.gateway.is_none()
                        && r.destination.prefix_len() > 0
                        && r.destination.prefix_len() < 128
                        && r.destination.contains(&c.ip())
                })
                .max_by_key(|r| r.destination.prefix_len());
            if let Some(r) = onlink {
                return r.destination;
            }
        }
        c.addr
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
