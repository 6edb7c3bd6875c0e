//! Address scope: how far an address means the same thing.

use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

/// The scope of an address, narrowest first, so scopes compare with `<`.
///
/// Unicast addresses get theirs from the special-purpose table (loopback and unspecified are
/// `Host`, link-local `Link`, deprecated site-local `Site`, everything else `Global`, ULA and
/// RFC 1918 included: they are unique within their domain, not link-bound). Multicast addresses
/// get the scope they carry: IPv6's scope field (RFC 4291 §2.7, RFC 7346), IPv4's
/// administratively scoped blocks (RFC 2365).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// This host only (interface-local for multicast).
    Host,
    /// One link.
    Link,
    /// Realm-local multicast (RFC 7346).
    Realm,
    /// Admin-local multicast.
    Admin,
    /// One site.
    Site,
    /// One organization.
    Organization,
    /// Everywhere.
    Global,
    /// An IPv6 multicast scope value that is reserved or unassigned (0, 6, 7, 9–d, f).
    Unassigned,
}

impl Scope {
    /// The scope of an IPv6 multicast address from its 4-bit scope field.
    ///
    /// ```
    /// use bm_addr::Scope;
    /// assert_eq!(Scope::of_ipv6_multicast("ff02::1".parse().unwrap()), Scope::Link);
    /// assert_eq!(Scope::of_ipv6_multicast("ff0e::1".parse().unwrap()), Scope::Global);
    /// ```
    pub const fn of_ipv6_multicast(addr: Ipv6Addr) -> Scope {
        match addr.octets()[1] & 0x0f {
            0x1 => Scope::Host,
            0x2 => Scope::Link,
            0x3 => Scope::Realm,
            0x4 => Scope::Admin,
            0x5 => Scope::Site,
            0x8 => Scope::Organization,
            0xe => Scope::Global,
            _ => Scope::Unassigned,
        }
    }
}
