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

/// The criteria of [`Rank`], in order, as they are reported.
const CRITERIA: [&str; 10] = [
    "lower metric of its link's default route",
    "lower link index",
    "preferred family",
    "gateway inside its subnet",
    "globally reachable",
    "permanent rather than dynamic or temporary",
    "primary rather than secondary",
    "family order",
    "lower address",
    "shorter prefix",
];

impl Rank {
    pub(crate) fn of(c: &Candidate<'_>, routes: &DefaultRoutes, preferred: Family) -> Rank {
        let a = c.address;
        let link = a.link;
        let default = routes.best(link, c.family);
        let gateway_off_subnet = match default.and_then(|d| d.gateway) {
            Some(gw) => !a.addr.contains(&gw),
            None => true,
        };
        let lifetime = if a.flags.permanent {
            0
        } else if a.flags.temporary && c.family == Family::Ipv6 {
            2
        } else {
            1
        };
        let octets = match a.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        Rank {
            default_metric: default.map_or(u64::from(u32::MAX) + 1, |d| u64::from(d.metric)),
            link,
            not_preferred_family: c.family != preferred,
            gateway_off_subnet,
            not_global: !bm_addr::classify(a.ip()).is_global,
            lifetime,
            secondary: a.flags.secondary && c.family == Family::Ipv4,
            family: c.family,
            octets,
            prefix_len: a.addr.prefix_len(),
        }
    }

    /// The first criterion on which `self` beats `other`, if it does.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DefaultVia {
    pub(crate) metric: u32,
    pub(crate) gateway: Option<IpAddr>,
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
                let via = DefaultVia { metric: r.metric, gateway: r.gateway_via(link) };
                match entries.iter_mut().find(|(l, f, _)| *l == link && *f == r.family) {
                    Some((_, _, best)) if (via.metric, via.gateway) < (best.metric, best.gateway) => *best = via,
                    Some(_) => {}
                    None => entries.push((link, r.family, via)),
                }
            }
        }
        DefaultRoutes { entries }
    }

    pub(crate) fn best(&self, link: u32, family: Family) -> Option<DefaultVia> {
        self.entries.iter().find(|(l, f, _)| *l == link && *f == family).map(|(_, _, v)| *v)
    }

    pub(crate) fn has(&self, link: u32, family: Family) -> bool {
        self.best(link, family).is_some()
    }
}
