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
    /// The method's name, as results report it.
    pub fn name(&self) -> MethodName {
        match self {
            Method::Explicit { .. } => MethodName::Explicit,
            Method::Family { .. } => MethodName::Family,
            Method::Hints { .. } => MethodName::Hints,
            Method::VipSubnet => MethodName::VipSubnet,
            Method::CanReach { .. } => MethodName::CanReach,
            Method::Interface { .. } => MethodName::Interface,
            Method::Cidr { .. } => MethodName::Cidr,
            Method::DefaultRoute => MethodName::DefaultRoute,
            Method::LoopbackGlobal => MethodName::LoopbackGlobal,
        }
    }
}

/// What chose an address: one of the [`Method`]s, or the previous choice kept. Serialized
/// (and displayed) in snake case: `vip_subnet`, `default_route`, `previous`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum MethodName {
    /// The previous choice, kept (see [`Policy::previous`]).
    Previous,
    /// [`Method::Explicit`].
    Explicit,
    /// [`Method::Family`].
    Family,
    /// [`Method::Hints`].
    Hints,
    /// [`Method::VipSubnet`].
    VipSubnet,
    /// [`Method::CanReach`].
    CanReach,
    /// [`Method::Interface`].
    Interface,
    /// [`Method::Cidr`].
    Cidr,
    /// [`Method::DefaultRoute`].
    DefaultRoute,
    /// [`Method::LoopbackGlobal`].
    LoopbackGlobal,
}

impl MethodName {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Previous => "previous",
            MethodName::Explicit => "explicit",
            MethodName::Family => "family",
            MethodName::Hints => "hints",
            MethodName::VipSubnet => "vip_subnet",
            MethodName::CanReach => "can_reach",
            MethodName::Interface => "interface",
            MethodName::Cidr => "cidr",
            MethodName::DefaultRoute => "default_route",
            MethodName::LoopbackGlobal => "loopback_global",
        }
    }

    /// A loser's reason when this method chose another address without matching it.
    pub(crate) fn not_matched(self) -> &'static str {
        match self {
            MethodName::Previous => "the previous choice was kept",
            MethodName::Explicit => "not matched by explicit",
            MethodName::Family => "not matched by family",
            MethodName::Hints => "not matched by hints",
            MethodName::VipSubnet => "not matched by vip_subnet",
            MethodName::CanReach => "not matched by can_reach",
            MethodName::Interface => "not matched by interface",
            MethodName::Cidr => "not matched by cidr",
            MethodName::DefaultRoute => "not matched by default_route",
            MethodName::LoopbackGlobal => "not matched by loopback_global",
        }
    }
}

impl std::fmt::Display for MethodName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for MethodName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MethodName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
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
#[error("invalid hint {input:?}: {problem}")]
pub struct HintError {
    input: String,
    problem: HintProblem,
}

/// What is wrong with a hint.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HintProblem {
    /// Not an IP or CIDR.
    #[error(transparent)]
    Parse(#[from] bm_addr::ParseError),
    /// It can only match addresses that are never node IPs, so it would silently fall through
    /// to the next method (kubernetes#130409: a link-local `--node-ip` leaves the node with no
    /// address at all).
    #[error("{0} addresses are never node IPs, so this hint could never match")]
    NeverANodeIp(&'static str),
}

impl std::str::FromStr for Hint {
    type Err = HintError;
    fn from_str(s: &str) -> Result<Hint, HintError> {
        let (exclude, rest) = match s.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let fail = |problem: HintProblem| HintError { input: s.to_string(), problem };
        let opts = bm_addr::ParseOptions::strict();
        let hint = if rest.contains('/') {
            let net = bm_addr::parse_net_with(rest, &opts).map_err(|e| fail(e.into()))?.network();
            Hint { net, is_ip: false, exclude }
        } else {
            let ip = bm_addr::parse_addr(rest).map_err(|e| fail(e.into()))?;
            Hint { net: IpNet::from(ip), is_ip: true, exclude }
        };
        // An exclusion of such space is harmless; a hint for it is a mistake worth an error.
        if !exclude && let Some(what) = never_a_node_ip(&hint.net) {
            return Err(fail(HintProblem::NeverANodeIp(what)));
        }
        Ok(hint)
    }
}

/// The kind of address every address of `net` is, when no address of that kind is ever a
/// node IP (see the candidate filters).
fn never_a_node_ip(net: &IpNet) -> Option<&'static str> {
    let (first, last) = (bm_addr::classify(net.network()), bm_addr::classify(net.broadcast()));
    let both = |f: fn(&bm_addr::Classification) -> bool| f(&first) && f(&last);
    if both(|c| c.is_link_local) {
        Some("link-local")
    } else if both(|c| c.is_loopback) {
        Some("loopback")
    } else if both(|c| c.is_multicast) {
        Some("multicast")
    } else if net.prefix_len() == net.max_prefix_len() && first.is_unspecified {
        Some("unspecified")
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_parse_strictly_and_round_trip() {
        for text in ["10.0.0.5", "10.0.0.0/16", "!10.0.0.0/24", "fd00::7", "!fd00::/48", "0.0.0.0/0", "!fe80::/10"] {
            let h: Hint = text.parse().unwrap();
            assert_eq!(h.to_string(), text);
        }
        let h: Hint = "10.0.0.5/16".parse().unwrap();
        assert_eq!(h.to_string(), "10.0.0.0/16", "host bits are cleared");
        let e = "010.0.0.5".parse::<Hint>().unwrap_err();
        assert!(matches!(e.problem, HintProblem::Parse(_)), "{e}");
    }

    #[test]
    fn hints_that_can_never_match_are_refused() {
        for (text, what) in [
            ("fe80::1", "link-local"),
            ("fe80::/64", "link-local"),
            ("169.254.0.0/16", "link-local"),
            ("127.0.0.1", "loopback"),
            ("::1", "loopback"),
            ("ff02::1", "multicast"),
            ("224.0.0.0/4", "multicast"),
            ("0.0.0.0", "unspecified"),
            ("::", "unspecified"),
        ] {
            let e = text.parse::<Hint>().unwrap_err();
            assert_eq!(e.problem, HintProblem::NeverANodeIp(what), "{text}");
            assert_eq!(
                e.to_string(),
                format!("invalid hint {text:?}: {what} addresses are never node IPs, so this hint could never match")
            );
        }
        // A prefix that only starts in such space is fine.
        assert!("0.0.0.0/0".parse::<Hint>().is_ok());
        assert!("fe00::/7".parse::<Hint>().is_ok());
    }
}

#[cfg(test)]
mod method_name_tests {
    use super::*;

    #[test]
    fn names_serialize_as_they_display_and_reasons_name_the_method() {
        let all = [
            MethodName::Previous,
            MethodName::Explicit,
            MethodName::Family,
            MethodName::Hints,
            MethodName::VipSubnet,
            MethodName::CanReach,
            MethodName::Interface,
            MethodName::Cidr,
            MethodName::DefaultRoute,
            MethodName::LoopbackGlobal,
        ];
        for m in all {
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
            assert_eq!(serde_json::from_str::<MethodName>(&format!("\"{m}\"")).unwrap(), m);
            if m != MethodName::Previous {
                assert_eq!(m.not_matched(), format!("not matched by {m}"));
            }
        }
    }
}
