//! The total order among usable candidates, and which criterion decided between two.
//!
//! In order: the metric of the default route of the candidate's family leaving through its
//! link (links without one last), link index, preferred family, gateway inside the address's
//! subnet, globally reachable before private, permanent before dynamic before temporary,
//! primary before secondary, then family and bytes, then prefix length. Nothing depends on
//! the order the snapshot lists things in.

use std::cmp::Ordering;
use std::net::IpAddr;

use bm_addr::Family;

use crate::candidate::Candidate;
use crate::{HostSnapshot, MAIN_TABLE, RouteType};

/// The sort key of one candidate; smaller is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Rank {
    default_metric: u64,
    link: u32,
    not_preferred_family: bool,
    gateway_off_subnet: bool,
    not_global: bool,
    lifetime: u8,
    secondary: bool,
    family: Family,
    octets: [u8; 16],
    prefix_len: u8,
}

/// The criteria of [`Rank`], in order, as a loser's reason reports them.
const CRITERIA: [&str; 10] = [
    "ranked higher: lower metric of its link's default route",
    "ranked higher: lower link index",
    "ranked higher: preferred family",
    "ranked higher: gateway inside its subnet",
    "ranked higher: globally reachable",
    "ranked higher: permanent rather than dynamic or temporary",
    "ranked higher: primary rather than secondary",
    "ranked higher: family order",
    "ranked higher: lower address",
    "ranked higher: shorter prefix",
];

impl Rank {
    /// The rank of `c`, whose link's best default route of its family is `default`.
    pub(crate) fn of(c: &Candidate, default: Option<&DefaultVia>, preferred: Family) -> Rank {
        let link = c.link;
        // Any next hop of the best default route on this link counts, so that the order of
        // a multipath route's next hops cannot matter.
        let gateway_off_subnet = !default.is_some_and(|d| d.gateways.iter().any(|gw| c.addr.contains(gw)));
        let lifetime = if c.permanent {
            0
        } else if c.temporary && c.family == Family::Ipv6 {
            2
        } else {
            1
        };
        let octets = match c.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        Rank {
            default_metric: default.map_or(u64::from(u32::MAX) + 1, |d| u64::from(d.metric)),
            link,
            not_preferred_family: c.family != preferred,
            gateway_off_subnet,
            not_global: !c.global,
            lifetime,
            secondary: c.secondary && c.family == Family::Ipv4,
            family: c.family,
            octets,
            prefix_len: c.addr.prefix_len(),
        }
    }

    /// Whether the candidate's link has a default route of its family.
    pub(crate) fn has_default_route(&self) -> bool {
        self.default_metric <= u64::from(u32::MAX)
    }

    /// The same order as `Ord`, packed into integers so that sorting thousands of candidates
    /// compares two words instead of ten fields.
    pub(crate) fn key(&self) -> (u128, u128, u8) {
        let high = (u128::from(self.default_metric) << 40)
            | (u128::from(self.link) << 8)
            | (u128::from(self.not_preferred_family) << 7)
            | (u128::from(self.gateway_off_subnet) << 6)
            | (u128::from(self.not_global) << 5)
            | (u128::from(self.lifetime) << 3)
            | (u128::from(self.secondary) << 2)
            | (u128::from(self.family == Family::Ipv6) << 1);
        (high, u128::from_be_bytes(self.octets), self.prefix_len)
    }

    /// The first criterion on which `self` beats `other`, if it does, as the loser's reason
    /// (`ranked higher: …`).
    pub(crate) fn beats_on(&self, other: &Rank) -> Option<&'static str> {
        let pairs = [
            self.default_metric.cmp(&other.default_metric),
            self.link.cmp(&other.link),
            self.not_preferred_family.cmp(&other.not_preferred_family),
            self.gateway_off_subnet.cmp(&other.gateway_off_subnet),
            self.not_global.cmp(&other.not_global),
            self.lifetime.cmp(&other.lifetime),
            self.secondary.cmp(&other.secondary),
            self.family.cmp(&other.family),
            self.octets.cmp(&other.octets),
            self.prefix_len.cmp(&other.prefix_len),
        ];
        pairs.iter().position(|o| *o != Ordering::Equal).filter(|&i| pairs[i] == Ordering::Less).map(|i| CRITERIA[i])
    }
}

/// The best default route of one family through one link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DefaultVia {
    pub(crate) metric: u32,
    /// Every gateway reached through the link at that metric (several with ECMP), sorted.
    pub(crate) gateways: Vec<IpAddr>,
}

/// Default routes of the main table, indexed by (link, family): the lowest metric wins, and
/// every next hop of a multipath route counts as a way out through its link.
#[derive(Clone, Debug, Default)]
pub(crate) struct DefaultRoutes {
    entries: Vec<(u32, Family, DefaultVia)>,
}

impl DefaultRoutes {
    pub(crate) fn of(snapshot: &HostSnapshot) -> DefaultRoutes {
        let mut entries: Vec<(u32, Family, DefaultVia)> = Vec::new();
        for r in &snapshot.routes {
            if !r.is_default() || r.table != MAIN_TABLE || r.kind != RouteType::Unicast {
                continue;
            }
            for link in r.links() {
                let gateways: Vec<IpAddr> = r.gateways_via(link).collect();
                match entries.iter_mut().find(|(l, f, _)| *l == link && *f == r.family) {
                    Some((_, _, best)) if r.metric < best.metric => {
                        *best = DefaultVia { metric: r.metric, gateways };
                    }
                    Some((_, _, best)) if r.metric == best.metric => best.gateways.extend(gateways),
                    Some(_) => {}
                    None => entries.push((link, r.family, DefaultVia { metric: r.metric, gateways })),
                }
            }
        }
        for (_, _, via) in &mut entries {
            via.gateways.sort_unstable();
            via.gateways.dedup();
        }
        // Sorted for a logarithmic lookup: there may be a default route per link.
        entries.sort_unstable_by_key(|(l, f, _)| (*l, *f));
        DefaultRoutes { entries }
    }

    pub(crate) fn best(&self, link: u32, family: Family) -> Option<&DefaultVia> {
        let at = self.entries.binary_search_by_key(&(link, family), |(l, f, _)| (*l, *f)).ok()?;
        Some(&self.entries[at].2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ranks that differ in one field at a time, with values at the edges of each field.
    fn ranks() -> Vec<Rank> {
        let base = Rank {
            default_metric: 100,
            link: 7,
            not_preferred_family: false,
            gateway_off_subnet: false,
            not_global: false,
            lifetime: 1,
            secondary: false,
            family: Family::Ipv4,
            octets: [0; 16],
            prefix_len: 24,
        };
        let mut out = vec![base];
        for metric in [0, 1, u64::from(u32::MAX), u64::from(u32::MAX) + 1] {
            out.push(Rank { default_metric: metric, ..base });
        }
        for link in [0, 1, u32::MAX] {
            out.push(Rank { link, ..base });
        }
        out.push(Rank { not_preferred_family: true, ..base });
        out.push(Rank { gateway_off_subnet: true, ..base });
        out.push(Rank { not_global: true, ..base });
        for lifetime in [0, 2] {
            out.push(Rank { lifetime, ..base });
        }
        out.push(Rank { secondary: true, ..base });
        out.push(Rank { family: Family::Ipv6, ..base });
        for octets in [[0xff; 16], [1; 16], [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]] {
            out.push(Rank { octets, ..base });
        }
        for prefix_len in [0, 128] {
            out.push(Rank { prefix_len, ..base });
        }
        // Two fields at once, so that a higher field must dominate a lower one.
        let n = out.len();
        for i in 0..n {
            for j in 0..n {
                let (a, b) = (out[i], out[j]);
                out.push(Rank { link: b.link, lifetime: b.lifetime, octets: b.octets, ..a });
            }
        }
        out
    }

    #[test]
    fn packed_key_orders_exactly_like_the_fields() {
        let all = ranks();
        for a in &all {
            for b in &all {
                assert_eq!(a.key().cmp(&b.key()), a.cmp(b), "{a:?} vs {b:?}");
                assert_eq!(a.beats_on(b).is_some(), a < b, "{a:?} vs {b:?}");
            }
        }
    }
}
