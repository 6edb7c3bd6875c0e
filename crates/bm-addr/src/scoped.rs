//! An address with its optional zone, as it is written and as it is bound.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{ParseError, ParseOptions, Scope, Zone, ZonePolicy, parse_addr_with};

/// An IP address with an optional zone (`fe80::1%eth0`).
///
/// Its text form is canonical (RFC 5952; mapped addresses as `::ffff:a.b.c.d`), which is also
/// its serde form. [`FromStr`] parses strictly and accepts a zone where one is meaningful.
///
/// ```
/// use bm_addr::ScopedAddr;
/// let a: ScopedAddr = "FE80::0001%eth0".parse().unwrap();
/// assert_eq!(a.to_string(), "fe80::1%eth0");
/// assert!("2001:db8::1%eth0".parse::<ScopedAddr>().is_err()); // zone on a global address
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopedAddr {
    /// The address.
    pub addr: IpAddr,
    /// The zone, only ever present on link- or interface-scoped IPv6 addresses.
    pub zone: Option<Zone>,
}

impl ScopedAddr {
    /// An address without a zone.
    pub const fn new(addr: IpAddr) -> ScopedAddr {
        ScopedAddr { addr, zone: None }
    }

    /// Whether a zone is meaningful on `addr`: IPv6 link-local unicast (`fe80::/10`) and IPv6
    /// multicast of interface or link scope. Mapped and compatible addresses never take one.
    pub fn takes_zone(addr: IpAddr) -> bool {
        match addr {
            IpAddr::V4(_) => false,
            IpAddr::V6(a) => {
                a.is_unicast_link_local() || (a.is_multicast() && Scope::of_ipv6_multicast(a) <= Scope::Link)
            }
        }
    }
}

impl From<IpAddr> for ScopedAddr {
    fn from(addr: IpAddr) -> Self {
        ScopedAddr::new(addr)
    }
}

impl fmt::Display for ScopedAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.zone {
            Some(zone) => write!(f, "{}%{}", self.addr, zone),
            None => write!(f, "{}", self.addr),
        }
    }
}

impl FromStr for ScopedAddr {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        parse_addr_with(s, &ParseOptions::strict().zone(ZonePolicy::Allow)).map(|p| p.addr)
    }
}

impl Serialize for ScopedAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ScopedAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
