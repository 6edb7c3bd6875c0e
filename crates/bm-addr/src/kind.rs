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
    #[inline]
    pub const fn of(addr: IpAddr) -> (Kind, Option<Ipv4Addr>) {
        match addr {
            IpAddr::V4(_) => (Kind::Ipv4, None),
            IpAddr::V6(a) => Kind::of_v6(a),
        }
    }

    /// [`Kind::of`] for an IPv6 address.
    #[inline]
    pub const fn of_v6(addr: Ipv6Addr) -> (Kind, Option<Ipv4Addr>) {
        Kind::of_v6_bits(v6_bits(addr))
    }

    /// [`Kind::of_v6`] on the address as a big-endian integer.
    #[inline]
    pub(crate) const fn of_v6_bits(bits: u128) -> (Kind, Option<Ipv4Addr>) {
        let hi = (bits >> 64) as u64;
        let mid = (bits >> 32) as u32;
        let low = Ipv4Addr::from_bits(bits as u32);
        if hi == 0 {
            match mid {
                0xffff => (Kind::Ipv4Mapped, Some(low)),
                0xffff_0000 => (Kind::Ipv4Translated, Some(low)),
                // `::` and `::1` are the unspecified and loopback addresses, not compatible ones.
                0 if low.to_bits() > 1 => (Kind::Ipv4Compatible, Some(low)),
                _ => (Kind::Ipv6, None),
            }
        } else if hi == 0x0064_ff9b_0000_0000 && mid == 0 {
            (Kind::Nat64, Some(low))
        } else if hi >> 48 == 0x2002 {
            (Kind::SixToFour, Some(Ipv4Addr::from_bits((hi >> 16) as u32)))
        } else if hi >> 32 == 0x2001_0000 {
            // The client address is stored with every bit inverted (RFC 4380 §4).
            (Kind::Teredo, Some(Ipv4Addr::from_bits(!(bits as u32))))
        } else {
            (Kind::Ipv6, None)
        }
    }

    /// Whether classification looks through to the embedded IPv4 address: true for mapped and
    /// compatible addresses, which stand for an IPv4 address, and false for the translation and
    /// tunnelling forms, which are IPv6 addresses routed as IPv6.
    #[inline]
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

/// The address as a big-endian integer, built from two 64-bit halves rather than with
/// `to_bits()`: for an `Ipv6Addr` inside an `IpAddr` (alignment 1), LLVM otherwise spills it to
/// the stack and reloads it in unaligned pieces, a store-forwarding stall that doubled the cost
/// of IPv6 classification.
#[inline(always)]
pub(crate) const fn v6_bits(addr: Ipv6Addr) -> u128 {
    let o = addr.octets();
    let hi = u64::from_be_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7]]);
    let lo = u64::from_be_bytes([o[8], o[9], o[10], o[11], o[12], o[13], o[14], o[15]]);
    (hi as u128) << 64 | lo as u128
}
