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
        // A table, not a `match`: a match compiles to a jump table, and an indirect jump on a
        // random nibble mispredicts.
        const BY_FIELD: [Scope; 16] = [
            Scope::Unassigned,
            Scope::Host,
            Scope::Link,
            Scope::Realm,
            Scope::Admin,
            Scope::Site,
            Scope::Unassigned,
            Scope::Unassigned,
            Scope::Organization,
            Scope::Unassigned,
            Scope::Unassigned,
            Scope::Unassigned,
            Scope::Unassigned,
            Scope::Unassigned,
            Scope::Global,
            Scope::Unassigned,
        ];
        BY_FIELD[(addr.octets()[1] & 0x0f) as usize]
    }
}
