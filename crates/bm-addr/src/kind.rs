//! What an address is on the wire, and the IPv4 address some IPv6 forms carry inside them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// The address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Ipv4,
    /// IPv6 (`AF_INET6`).
    Ipv6,
}

impl Family {
    /// The other family.
    pub const fn other(self) -> Family {
        match self {
            Family::Ipv4 => Family::Ipv6,
            Family::Ipv6 => Family::Ipv4,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// The form of an address: native, or one of the IPv6 forms that embed an IPv4 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// A plain IPv4 address.
    Ipv4,
    /// An IPv6 address with no embedded IPv4 address.
    Ipv6,
    /// `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): an IPv4 node's address written as IPv6. It *is*
    /// the IPv4 address: classified, bound and routed as IPv4.
    Ipv4Mapped,
    /// `::a.b.c.d` (RFC 4291 §2.5.5.1), deprecated; `::` and `::1` are not compatible
    /// addresses. Classified by its IPv4, but the kernel routes it as IPv6 and cannot bind it.
    Ipv4Compatible,
    /// `::ffff:0:a.b.c.d` (RFC 2765 SIIT), an IPv6 node's address for IPv4 translation.
    Ipv4Translated,
    /// `64:ff9b::a.b.c.d` (RFC 6052 well-known NAT64 prefix).
    Nat64,
    /// `2002:aabb:ccdd::/48` (RFC 3056); the embedded IPv4 is the site's 6to4 router.
    SixToFour,
    /// `2001::/32` (RFC 4380); the embedded IPv4 is the client's public address.
    Teredo,
}

impl Kind {
    /// The kind of `addr` and the IPv4 address embedded in it, if any.
    ///
    /// ```
    /// use bm_addr::Kind;
    /// let (kind, v4) = Kind::of("::ffff:10.0.0.1".parse().unwrap());
    /// assert_eq!(kind, Kind::Ipv4Mapped);
    /// assert_eq!(v4, Some("10.0.0.1".parse().unwrap()));
    /// // `::1` is loopback, not the compatible form of 0.0.0.1 (unlike `Ipv6Addr::to_ipv4`).
    /// assert_eq!(Kind::of("::1".parse().unwrap()), (Kind::Ipv6, None));
    /// ```
    pub const fn of(addr: IpAddr) -> (Kind, Option<Ipv4Addr>) {
        match addr {
            IpAddr::V4(_) => (Kind::Ipv4, None),
            IpAddr::V6(a) => Kind::of_v6(a),
        }
    }

    /// [`Kind::of`] for an IPv6 address.
    pub const fn of_v6(addr: Ipv6Addr) -> (Kind, Option<Ipv4Addr>) {
        let s = addr.segments();
        let o = addr.octets();
        let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
        match s {
            [0, 0, 0, 0, 0, 0xffff, _, _] => (Kind::Ipv4Mapped, Some(low)),
            [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => (Kind::Ipv4Compatible, Some(low)),
            [0, 0, 0, 0, 0xffff, 0, _, _] => (Kind::Ipv4Translated, Some(low)),
            [0x64, 0xff9b, 0, 0, 0, 0, _, _] => (Kind::Nat64, Some(low)),
            [0x2002, _, _, _, _, _, _, _] => (Kind::SixToFour, Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]))),
            [0x2001, 0, _, _, _, _, _, _] => {
                // The client address is stored with every bit inverted (RFC 4380 §4).
                (Kind::Teredo, Some(Ipv4Addr::new(!o[12], !o[13], !o[14], !o[15])))
            }
            _ => (Kind::Ipv6, None),
        }
    }

    /// Whether classification looks through to the embedded IPv4 address: true for mapped and
    /// compatible addresses, which stand for an IPv4 address, and false for the translation and
    /// tunnelling forms, which are IPv6 addresses routed as IPv6.
    pub const fn looks_through(self) -> bool {
        matches!(self, Kind::Ipv4Mapped | Kind::Ipv4Compatible)
    }
}

/// The IPv4 address a mapped `::ffff:a.b.c.d` address stands for; `None` for anything else.
///
/// Never `Ipv6Addr::to_ipv4`, which turns `::1` into `0.0.0.1`.
///
/// ```
/// use std::net::IpAddr;
/// assert_eq!(bm_addr::unmap("::ffff:192.168.0.14".parse().unwrap()), "192.168.0.14".parse::<IpAddr>().unwrap());
/// assert_eq!(bm_addr::unmap("::1".parse().unwrap()), "::1".parse::<IpAddr>().unwrap());
/// ```
pub const fn unmap(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => addr,
        },
        IpAddr::V4(_) => addr,
    }
}
