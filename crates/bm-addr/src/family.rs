//! Dual-stack lists: which families a list holds, whether two addresses make a dual-stack
//! pair, and which family comes first. Mapped addresses count as IPv4, and the answers say how
//! many there were, so a caller can warn instead of silently agreeing with Go's `To4()`.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Family, Kind};

/// The family an address belongs to: IPv4 for IPv4 and mapped addresses, IPv6 otherwise.
#[inline]
pub fn family_of(addr: IpAddr) -> Family {
    match (addr, Kind::of(addr).0) {
        (IpAddr::V4(_), _) | (_, Kind::Ipv4Mapped) => Family::Ipv4,
        _ => Family::Ipv6,
    }
}

/// What a list of addresses holds.
///
/// ```
/// use bm_addr::{Family, ListFamilies};
/// let l = ListFamilies::of(["::ffff:10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()]);
/// assert!(l.is_dual_stack());
/// assert_eq!(l.primary, Some(Family::Ipv4));
/// assert_eq!(l.mapped, 1); // say so: k8s would call this list dual-stack too, silently
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListFamilies {
    /// Addresses counted as IPv4 (mapped ones included).
    pub ipv4: usize,
    /// Addresses counted as IPv6.
    pub ipv6: usize,
    /// How many of the IPv4 ones were written as mapped IPv6.
    pub mapped: usize,
    /// The family of the first address.
    pub primary: Option<Family>,
}

impl ListFamilies {
    /// Counts the families of `addrs`.
    pub fn of(addrs: impl IntoIterator<Item = IpAddr>) -> ListFamilies {
        let mut out = ListFamilies::default();
        for a in addrs {
            let f = family_of(a);
            out.primary.get_or_insert(f);
            match f {
                Family::Ipv4 => out.ipv4 += 1,
                Family::Ipv6 => out.ipv6 += 1,
            }
            if matches!(a, IpAddr::V6(_)) && f == Family::Ipv4 {
                out.mapped += 1;
            }
        }
        out
    }

    /// At least one address of each family.
    pub fn is_dual_stack(&self) -> bool {
        self.ipv4 > 0 && self.ipv6 > 0
    }

    /// The single family of a non-empty, single-family list.
    pub fn single(&self) -> Option<Family> {
        match (self.ipv4, self.ipv6) {
            (0, 0) => None,
            (_, 0) => Some(Family::Ipv4),
            (0, _) => Some(Family::Ipv6),
            _ => None,
        }
    }
}

/// Why two addresses are not a dual-stack pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PairError {
    /// Both addresses are of one family.
    #[error("both addresses are {family}{}", if *.mapped > 0 { " (counting IPv4-mapped IPv6 addresses as IPv4)" } else { "" })]
    SameFamily {
        /// The family of both.
        family: Family,
        /// How many of the two were mapped.
        mapped: usize,
    },
}

/// Checks that `first` and `second` are one IPv4 and one IPv6 address (in either order), as
/// kubelet's `--node-ip a,b` requires, and returns the primary family (that of `first`).
///
/// ```
/// use bm_addr::{Family, dual_stack_pair};
/// assert_eq!(dual_stack_pair("10.0.0.1".parse().unwrap(), "fd00::1".parse().unwrap()), Ok(Family::Ipv4));
/// assert!(dual_stack_pair("::ffff:10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()).is_err());
/// ```
pub fn dual_stack_pair(first: IpAddr, second: IpAddr) -> Result<Family, PairError> {
    let l = ListFamilies::of([first, second]);
    match l.single() {
        Some(family) => Err(PairError::SameFamily { family, mapped: l.mapped }),
        None => Ok(family_of(first)),
    }
}
