//! What the caller asks for: the methods to try, in order, and the filters to apply.

use std::net::IpAddr;

use bm_addr::Family;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Pattern;

/// One way of finding a node IP. A [`Policy`] tries its methods in order, per family: the
/// first method that yields an address of a family decides that family.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Method {
    /// These addresses, if they are on the host and pass the filters.
    Explicit {
        /// The addresses, primary first.
        ips: Vec<IpAddr>,
    },
    /// Any usable address of this family (KEP-3705's `IPv4`/`IPv6` keywords): the best one by
    /// the candidate order.
    Family {
        /// The family.
        family: Family,
    },
    /// Addresses whose subnet contains a hint IP, or that lie inside a hint CIDR; addresses
    /// inside an exclusion are skipped. The other family comes from the same link.
    Hints {
        /// The hints, in order of preference.
        hints: Vec<Hint>,
    },
    /// Addresses whose subnet (for an IPv6 /128: the on-link prefix route of its link)
    /// contains a VIP; the other family comes from the same link. Uses [`Policy::vips`].
    VipSubnet,
    /// The source address the host would use to reach `target`: longest-prefix route, then
    /// lowest metric.
    CanReach {
        /// The destination to reach.
        target: IpAddr,
    },
    /// Addresses on links whose names match `include` (all links if empty) and not `exclude`.
    Interface {
        /// Name patterns to accept (glob `eth*`, or `re:` + regex).
        #[serde(default)]
        include: Vec<Pattern>,
        /// Name patterns to refuse.
        #[serde(default)]
        exclude: Vec<Pattern>,
    },
    /// Addresses inside these prefixes, the first prefix with a usable address winning.
    Cidr {
        /// The prefixes, in order of preference.
        cidrs: Vec<IpNet>,
    },
    /// Addresses on the links the default route of their family leaves through, the lowest
    /// metric first (per family; every next hop of a multipath route counts).
    DefaultRoute,
    /// A global address on a loopback link (BGP unnumbered, RFC 5549 hosts).
    LoopbackGlobal,
}

impl Method {
    /// A short stable name (`vip_subnet`, `default_route`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Method::Explicit { .. } => "explicit",
            Method::Family { .. } => "family",
            Method::Hints { .. } => "hints",
            Method::VipSubnet => "vip_subnet",
            Method::CanReach { .. } => "can_reach",
            Method::Interface { .. } => "interface",
            Method::Cidr { .. } => "cidr",
            Method::DefaultRoute => "default_route",
            Method::LoopbackGlobal => "loopback_global",
        }
    }
}

/// A hint: an IP (an address whose subnet contains it matches) or a CIDR (an address inside it
/// matches); `!` in front makes it an exclusion. Text form as in Talos's `validSubnets`:
/// `192.168.1.0/24`, `192.168.1.7`, `!192.168.1.128/25`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Hint {
    /// The prefix: a single IP is a /32 or /128.
    pub net: IpNet,
    /// Written as a single IP (matches by subnet) rather than a CIDR (matches by containment).
    pub is_ip: bool,
    /// An exclusion (`!`).
    pub exclude: bool,
}

/// Why a hint could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid hint {input:?}: {error}")]
pub struct HintError {
    input: String,
    error: bm_addr::ParseError,
}

impl std::str::FromStr for Hint {
    type Err = HintError;
    fn from_str(s: &str) -> Result<Hint, HintError> {
        let (exclude, rest) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let fail = |error| HintError { input: s.to_string(), error };
        let opts = bm_addr::ParseOptions::strict();
        if rest.contains('/') {
            let net = bm_addr::parse_net_with(rest, &opts).map_err(fail)?.network();
            Ok(Hint { net, is_ip: false, exclude })
        } else {
            let ip = bm_addr::parse_addr(rest).map_err(fail)?;
            Ok(Hint { net: IpNet::from(ip), is_ip: true, exclude })
        }
    }
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bang = if self.exclude { "!" } else { "" };
        if self.is_ip { write!(f, "{bang}{}", self.net.addr()) } else { write!(f, "{bang}{}", self.net) }
    }
}

impl Serialize for Hint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Hint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The whole request: methods, VIPs, filters and preferences.
///
/// [`Policy::openshift`] reproduces OpenShift's `nodeip-configuration`: hints, then VIP
/// subnets, then the default route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Methods, tried in order for each family.
    pub methods: Vec<Method>,
    /// The cluster's VIPs (API, ingress): never chosen, and the subnet they sit in is wanted.
    pub vips: Vec<IpAddr>,
    /// The primary family of the result. `None`: the first VIP's family, else the first
    /// hint's, else IPv4.
    pub prefer: Option<Family>,
    /// Families wanted; empty means both.
    pub families: Vec<Family>,
    /// Prefixes never to choose from (pod and service networks, OVN's masquerade subnet).
    pub exclude: Vec<IpNet>,
    /// Address labels that mark addresses never to choose (OVN-Kubernetes egress IPs: `eip`);
    /// matched as substrings, as OpenShift does.
    pub exclude_labels: Vec<String>,
    /// The previous choice, kept while it is still on the host and passes the filters.
    pub previous: Vec<IpAddr>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy::openshift(Vec::new(), Vec::new())
    }
}

impl Policy {
    /// OpenShift's chain: hints, VIP subnets, default route; egress IPs (`eip` labels)
    /// excluded.
    pub fn openshift(vips: Vec<IpAddr>, hints: Vec<Hint>) -> Policy {
        let mut methods = Vec::new();
        if !hints.is_empty() {
            methods.push(Method::Hints { hints });
        }
        methods.push(Method::VipSubnet);
        methods.push(Method::DefaultRoute);
        Policy {
            methods,
            vips,
            prefer: None,
            families: Vec::new(),
            exclude: Vec::new(),
            exclude_labels: vec!["eip".to_string()],
            previous: Vec::new(),
        }
    }

    /// The primary family of the result.
    pub fn primary_family(&self) -> Family {
        if let Some(f) = self.prefer {
            return f;
        }
        if let Some(v) = self.vips.first() {
            return bm_addr::family_of(*v);
        }
        let first_hint = self.methods.iter().find_map(|m| match m {
            Method::Hints { hints } => hints.iter().find(|h| !h.exclude),
            _ => None,
        });
        match first_hint {
            Some(h) => bm_addr::family_of(h.net.addr()),
            None => Family::Ipv4,
        }
    }

    /// Whether `family` is wanted.
    pub fn wants(&self, family: Family) -> bool {
        self.families.is_empty() || self.families.contains(&family)
    }
}
