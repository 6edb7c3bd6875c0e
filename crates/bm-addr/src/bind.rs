//! Which socket family and address to bind for an address: the `nc -l ::ffff:192.168.0.14`
//! bug, solved once.
//!
//! Linux refuses to bind a mapped address on an `IPV6_V6ONLY` socket (`EINVAL`), and on a
//! dual-stack socket a mapped bind silently takes the IPv4 port. So a mapped address binds
//! `AF_INET` to its IPv4; IPv6 proper binds `AF_INET6` with `IPV6_V6ONLY` set explicitly, so
//! the result does not depend on `net.ipv6.bindv6only`.

use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Family, Kind, ScopedAddr, Zone};

/// The socket to open and the address to bind it to.
///
/// ```
/// use bm_addr::{BindTarget, Family};
/// let t = BindTarget::new("::ffff:192.168.0.14".parse().unwrap(), 6443).unwrap();
/// assert_eq!(t.family, Family::Ipv4);
/// assert_eq!(t.addr.to_string(), "192.168.0.14:6443");
/// assert!(BindTarget::new("::192.168.0.14".parse().unwrap(), 6443).is_err());
/// assert!(BindTarget::new("fe80::1".parse().unwrap(), 6443).is_err()); // needs a zone
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindTarget {
    /// `AF_INET` or `AF_INET6`.
    pub family: Family,
    /// Address and port; for a numeric zone the scope id is already set.
    pub addr: SocketAddr,
    /// The zone of a link-scoped address, as written. A name still has to be resolved to an
    /// interface index (the `socket` feature does it) before binding.
    pub zone: Option<Zone>,
    /// For `AF_INET6`: set `IPV6_V6ONLY` to this value (always `true`; explicit so that
    /// binding does not depend on the `net.ipv6.bindv6only` sysctl).
    pub v6only: bool,
}

/// Why an address cannot be bound as given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BindError {
    /// `::a.b.c.d` is deprecated (RFC 4291 §2.5.5.1); the kernel treats it as an IPv6 address
    /// that no interface has (`EADDRNOTAVAIL`).
    #[error(
        "{addr} is a deprecated IPv4-compatible address, which no interface has; bind {ipv4} (or ::ffff:{ipv4}) instead"
    )]
    Ipv4Compatible {
        /// The address given.
        addr: std::net::Ipv6Addr,
        /// The IPv4 address it embeds.
        ipv4: std::net::Ipv4Addr,
    },
    /// A link-scoped IPv6 address without a zone: the kernel cannot tell which link.
    #[error("{addr} is link-scoped and needs a zone naming the interface (e.g. {addr}%eth0)")]
    ZoneRequired {
        /// The address given.
        addr: std::net::Ipv6Addr,
    },
    /// A zone on an address that is not link-scoped.
    #[error("{addr} is not link-scoped, so it cannot take a zone")]
    UnexpectedZone {
        /// The address given.
        addr: IpAddr,
    },
}

impl BindTarget {
    /// Decides the family and address to bind for `addr` and `port`.
    pub fn new(addr: ScopedAddr, port: u16) -> Result<BindTarget, BindError> {
        let takes_zone = ScopedAddr::takes_zone(addr.addr);
        if addr.zone.is_some() && !takes_zone {
            return Err(BindError::UnexpectedZone { addr: addr.addr });
        }
        match addr.addr {
            IpAddr::V4(a) => Ok(BindTarget::v4(SocketAddrV4::new(a, port))),
            IpAddr::V6(a) => match Kind::of_v6(a) {
                (Kind::Ipv4Mapped, Some(v4)) => Ok(BindTarget::v4(SocketAddrV4::new(v4, port))),
                (Kind::Ipv4Compatible, Some(ipv4)) => Err(BindError::Ipv4Compatible { addr: a, ipv4 }),
                _ if takes_zone && addr.zone.is_none() => Err(BindError::ZoneRequired { addr: a }),
                _ => {
                    let scope_id = addr.zone.and_then(|z| z.index()).unwrap_or(0);
                    Ok(BindTarget {
                        family: Family::Ipv6,
                        addr: SocketAddr::V6(SocketAddrV6::new(a, port, 0, scope_id)),
                        zone: addr.zone,
                        v6only: true,
                    })
                }
            },
        }
    }

    fn v4(addr: SocketAddrV4) -> BindTarget {
        BindTarget { family: Family::Ipv4, addr: SocketAddr::V4(addr), zone: None, v6only: false }
    }

    /// The address to bind, as text with its zone (`192.168.0.14`, `fe80::1%eth0`).
    pub fn address(&self) -> ScopedAddr {
        ScopedAddr { addr: self.addr.ip(), zone: self.zone }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Result<BindTarget, BindError> {
        BindTarget::new(s.parse().unwrap(), 80)
    }

    #[test]
    fn families() {
        assert_eq!(t("10.0.0.1").unwrap().family, Family::Ipv4);
        assert_eq!(t("::ffff:127.0.0.1").unwrap().address().to_string(), "127.0.0.1");
        let v6 = t("2001:db8::1").unwrap();
        assert_eq!(v6.family, Family::Ipv6);
        assert!(v6.v6only);
        // `::1` is IPv6 loopback, never 0.0.0.1.
        assert_eq!(t("::1").unwrap().addr.to_string(), "[::1]:80");
        assert_eq!(t("::").unwrap().family, Family::Ipv6);
        assert!(matches!(t("::10.0.0.1"), Err(BindError::Ipv4Compatible { .. })));
        // SIIT and NAT64 addresses are IPv6 addresses.
        assert_eq!(t("::ffff:0:10.0.0.1").unwrap().family, Family::Ipv6);
    }

    #[test]
    fn zones() {
        assert!(matches!(t("fe80::1"), Err(BindError::ZoneRequired { .. })));
        let z = t("fe80::1%7").unwrap();
        let SocketAddr::V6(sa) = z.addr else { panic!() };
        assert_eq!(sa.scope_id(), 7);
        let named = t("fe80::1%eth0").unwrap();
        assert_eq!(named.address().to_string(), "fe80::1%eth0");
        let mut a: ScopedAddr = "2001:db8::1".parse().unwrap();
        a.zone = Zone::new("eth0");
        assert!(matches!(BindTarget::new(a, 1), Err(BindError::UnexpectedZone { .. })));
    }
}
