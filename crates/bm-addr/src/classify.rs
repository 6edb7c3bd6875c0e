//! Classification of one address into one value: family, kind, scope, registry row, predicates.

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::registry::{self, Class, ROW_COUNT, ROW_DATA, ROWS, Row};
use crate::{Family, Kind, Scope};

/// Everything bm-addr knows about one address.
///
/// Mapped (`::ffff:a.b.c.d`) and compatible (`::a.b.c.d`) addresses are classified by their
/// embedded IPv4 address for every predicate, the scope and the registry row, and say so in
/// [`kind`](Self::kind): `::ffff:127.0.0.1` is loopback, `::ffff:0.0.0.0` is unspecified.
/// The other embedding forms (NAT64, 6to4, Teredo, SIIT) are IPv6 addresses routed as IPv6 and
/// are classified as such; their embedded IPv4 is reported, and decides global reachability
/// where the registry defers to it (6to4 and Teredo are `N/A` there).
///
/// Serialized with stable snake_case keys, `canonical` first; deserializing reads `canonical`
/// and classifies it again, since every other field derives from it.
///
/// ```
/// let c = bm_addr::classify("::ffff:127.0.0.1".parse().unwrap());
/// assert_eq!(c.kind, bm_addr::Kind::Ipv4Mapped);
/// assert_eq!(c.family, bm_addr::Family::Ipv4);
/// assert!(c.is_loopback);
/// assert_eq!(c.registry.unwrap().name, "Loopback");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    /// The address as given.
    pub addr: IpAddr,
    /// The family the address belongs to on the wire: IPv4 for mapped addresses.
    pub family: Family,
    /// Native, mapped, compatible, translated, NAT64, 6to4 or Teredo.
    pub kind: Kind,
    /// The IPv4 address embedded in an IPv6 form, if any.
    pub embedded_ipv4: Option<Ipv4Addr>,
    /// How far the address is meaningful; for multicast, the group's scope.
    pub scope: Scope,
    /// The most specific special-purpose row, if any.
    pub registry: Option<&'static Row>,
    /// `127.0.0.0/8`, `::1`.
    pub is_loopback: bool,
    /// `0.0.0.0`, `::`.
    pub is_unspecified: bool,
    /// Link-local unicast: `169.254.0.0/16`, `fe80::/10`.
    pub is_link_local: bool,
    /// `224.0.0.0/4`, `ff00::/8`.
    pub is_multicast: bool,
    /// RFC 1918 and unique-local `fc00::/7` (not the shared space).
    pub is_private: bool,
    /// Shared address space `100.64.0.0/10` (RFC 6598).
    pub is_shared: bool,
    /// Documentation prefixes: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`,
    /// `2001:db8::/32`, `3fff::/20`.
    pub is_documentation: bool,
    /// Benchmarking prefixes: `198.18.0.0/15`, `2001:2::/48`.
    pub is_benchmarking: bool,
    /// Reserved for future use: `240.0.0.0/4` (not the broadcast address) and IPv6 space the
    /// IETF has not allocated (which includes `::ffff:0:a.b.c.d` and `::/8` generally).
    pub is_reserved: bool,
    /// Globally reachable: the registry's column for the most specific row; multicast by scope;
    /// 6to4 and Teredo by their embedded IPv4; ordinary unicast is global.
    pub is_global: bool,
}

/// Classifies an address. Allocation-free and branch-light: one table lookup, then the row's
/// precomputed predicates.
#[inline]
pub fn classify(addr: IpAddr) -> Classification {
    // One family decision up front: with families interleaved at random, every further branch
    // on the family would be another misprediction.
    match addr {
        IpAddr::V4(a) => build(addr, Family::Ipv4, Kind::Ipv4, None, registry::index_v4(a), Scope::Global),
        IpAddr::V6(a) => {
            let bits = crate::kind::v6_bits(a);
            match Kind::of_v6_bits(bits) {
                (Kind::Ipv4Mapped, Some(v4)) => {
                    build(addr, Family::Ipv4, Kind::Ipv4Mapped, Some(v4), registry::index_v4(v4), Scope::Global)
                }
                (Kind::Ipv4Compatible, Some(v4)) => {
                    build(addr, Family::Ipv6, Kind::Ipv4Compatible, Some(v4), registry::index_v4(v4), Scope::Global)
                }
                (kind, embedded) => {
                    let field_scope = Scope::of_ipv6_multicast(a);
                    build(addr, Family::Ipv6, kind, embedded, registry::index_v6_bits(bits), field_scope)
                }
            }
        }
    }
}

/// Assembles a classification from the row found for the effective address; `field_scope` is
/// the scope an IPv6 multicast address carries, used by the one row that defers to it.
#[inline(always)]
fn build(
    addr: IpAddr,
    family: Family,
    kind: Kind,
    embedded_ipv4: Option<Ipv4Addr>,
    row: usize,
    field_scope: Scope,
) -> Classification {
    let info = ROW_INFO[row];
    let p = info.predicates;
    // Selects rather than matches: rows of every kind arrive in random order, and a
    // mispredicted branch costs more than computing both sides.
    let scope = if p & SCOPE_FROM_FIELD != 0 { field_scope } else { info.scope };
    let mut is_global = if p & REACH_BY_SCOPE != 0 { scope == Scope::Global } else { p & GLOBAL != 0 };
    if p & REACH_BY_EMBEDDED_IPV4 != 0 {
        is_global = embedded_ipv4.is_some_and(|v4| ROW_INFO[registry::index_v4(v4)].predicates & GLOBAL != 0);
    }
    Classification {
        addr,
        family,
        kind,
        embedded_ipv4,
        scope,
        registry: ROWS.get(row),
        is_loopback: p & LOOPBACK != 0,
        is_unspecified: p & UNSPECIFIED != 0,
        is_link_local: p & LINK_LOCAL != 0,
        is_multicast: p & MULTICAST != 0,
        is_private: p & PRIVATE != 0,
        is_shared: p & SHARED != 0,
        is_documentation: p & DOCUMENTATION != 0,
        is_benchmarking: p & BENCHMARKING != 0,
        is_reserved: p & RESERVED != 0,
        is_global,
    }
}

// Predicate bits of a row, precomputed at compile time from the table.
const LOOPBACK: u16 = 1 << 0;
const UNSPECIFIED: u16 = 1 << 1;
const LINK_LOCAL: u16 = 1 << 2;
const MULTICAST: u16 = 1 << 3;
const PRIVATE: u16 = 1 << 4;
const SHARED: u16 = 1 << 5;
const DOCUMENTATION: u16 = 1 << 6;
const BENCHMARKING: u16 = 1 << 7;
const RESERVED: u16 = 1 << 8;
const GLOBAL: u16 = 1 << 9;

/// Multicast: globally reachable only with global scope.
const REACH_BY_SCOPE: u16 = 1 << 10;
/// 6to4 and Teredo, `N/A` in the registry (RFC 8190): as reachable as the embedded IPv4.
const REACH_BY_EMBEDDED_IPV4: u16 = 1 << 11;
/// IPv6 multicast: the scope is the address's own scope field.
const SCOPE_FROM_FIELD: u16 = 1 << 12;

#[derive(Clone, Copy)]
struct RowInfo {
    predicates: u16,
    scope: Scope,
}

/// One entry per row, plus a last one for addresses no row covers (ordinary global unicast).
static ROW_INFO: [RowInfo; ROW_COUNT + 1] = {
    let mut out = [RowInfo { predicates: GLOBAL, scope: Scope::Global }; ROW_COUNT + 1];
    let mut i = 0;
    while i < ROW_COUNT {
        out[i] = row_info(i);
        i += 1;
    }
    out
};

const fn row_info(i: usize) -> RowInfo {
    let row = &ROW_DATA[i];
    let class_bit = match row.class {
        Class::Loopback => LOOPBACK,
        Class::Unspecified => UNSPECIFIED,
        Class::LinkLocal => LINK_LOCAL,
        Class::Multicast => MULTICAST,
        Class::Private => PRIVATE,
        Class::Shared => SHARED,
        Class::Documentation => DOCUMENTATION,
        Class::Benchmarking => BENCHMARKING,
        Class::Reserved => RESERVED,
        _ => 0,
    };
    let reach = match (row.globally_reachable, row.class) {
        (None, Class::Multicast) => REACH_BY_SCOPE,
        (None, Class::SixToFour | Class::Teredo) => REACH_BY_EMBEDDED_IPV4,
        _ => 0,
    };
    let (scope, from_field) = match row.scope {
        Some(scope) => (scope, 0),
        None => (Scope::Global, SCOPE_FROM_FIELD),
    };
    let global = if fixed_reachability(i) { GLOBAL } else { 0 };
    RowInfo { predicates: class_bit | global | reach | from_field, scope }
}

/// A row's own "Globally Reachable" answer where it has one; a terminated allocation returns
/// to its enclosing block, or to ordinary (global) space; any other row without an answer is
/// not globally reachable.
const fn fixed_reachability(i: usize) -> bool {
    let row = &ROW_DATA[i];
    match (row.globally_reachable, row.terminated, row.parent) {
        (Some(g), _, _) => g,
        (None, Some(_), Some(parent)) => fixed_reachability(parent as usize),
        (None, Some(_), None) => true,
        (None, None, _) => false,
    }
}

impl Classification {
    /// The canonical text (RFC 5952; mapped addresses as `::ffff:a.b.c.d`).
    pub fn canonical(&self) -> IpAddr {
        self.addr
    }

    /// The IPv4 address the classification looked through to, for mapped and compatible
    /// addresses; otherwise the address itself.
    pub fn effective(&self) -> IpAddr {
        match (self.kind.looks_through(), self.embedded_ipv4) {
            (true, Some(v4)) => IpAddr::V4(v4),
            _ => self.addr,
        }
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    canonical: IpAddr,
    family: Family,
    kind: Kind,
    embedded_ipv4: Option<Ipv4Addr>,
    scope: Scope,
    registry: Option<&'a str>,
    registry_block: Option<ipnet::IpNet>,
    is_loopback: bool,
    is_unspecified: bool,
    is_link_local: bool,
    is_multicast: bool,
    is_private: bool,
    is_shared: bool,
    is_documentation: bool,
    is_benchmarking: bool,
    is_reserved: bool,
    is_global: bool,
}

impl Serialize for Classification {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            canonical: self.addr,
            family: self.family,
            kind: self.kind,
            embedded_ipv4: self.embedded_ipv4,
            scope: self.scope,
            registry: self.registry.map(|r| r.name),
            registry_block: self.registry.map(|r| r.block),
            is_loopback: self.is_loopback,
            is_unspecified: self.is_unspecified,
            is_link_local: self.is_link_local,
            is_multicast: self.is_multicast,
            is_private: self.is_private,
            is_shared: self.is_shared,
            is_documentation: self.is_documentation,
            is_benchmarking: self.is_benchmarking,
            is_reserved: self.is_reserved,
            is_global: self.is_global,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Classification {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Key<'a> {
            #[serde(borrow)]
            canonical: std::borrow::Cow<'a, str>,
        }
        let key = Key::deserialize(deserializer)?;
        let addr = crate::parse_addr(&key.canonical).map_err(serde::de::Error::custom)?;
        Ok(classify(addr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Classification {
        classify(s.parse().unwrap())
    }

    #[test]
    fn mapped_addresses_are_their_ipv4() {
        let m = c("::ffff:192.168.0.14");
        assert_eq!((m.family, m.kind), (Family::Ipv4, Kind::Ipv4Mapped));
        assert!(m.is_private && !m.is_global);
        assert!(c("::ffff:0.0.0.0").is_unspecified);
        assert!(c("::ffff:169.254.169.254").is_link_local);
        assert_eq!(c("::ffff:169.254.169.254").scope, Scope::Link);
        assert!(c("::ffff:8.8.8.8").is_global);
        let shared = c("::ffff:100.64.0.1");
        assert!(shared.is_shared && !shared.is_global && !shared.is_private);
    }

    #[test]
    fn compatible_addresses_look_through_but_stay_ipv6() {
        let a = c("::127.0.0.1");
        assert_eq!((a.family, a.kind), (Family::Ipv6, Kind::Ipv4Compatible));
        assert!(a.is_loopback);
        let one = c("::1");
        assert_eq!(one.kind, Kind::Ipv6);
        assert!(one.is_loopback && one.embedded_ipv4.is_none());
        assert!(c("::").is_unspecified);
    }

    #[test]
    fn tunnelling_forms_are_ipv6_with_embedded_ipv4() {
        let t = c("2001:0:4136:e378:8000:63bf:3fff:fdd2"); // RFC 4380's example
        assert_eq!(t.kind, Kind::Teredo);
        assert_eq!(t.embedded_ipv4, Some("192.0.2.45".parse().unwrap()));
        assert!(!t.is_global); // the client is a documentation address
        let s = c("2002:808:808::1");
        assert_eq!((s.kind, s.embedded_ipv4), (Kind::SixToFour, Some("8.8.8.8".parse().unwrap())));
        assert!(s.is_global);
        assert!(!c("2002:a00:1::1").is_global);
        let n = c("64:ff9b::10.0.0.1");
        assert_eq!(n.kind, Kind::Nat64);
        assert!(n.is_global && !n.is_private);
        let x = c("::ffff:0:1.2.3.4");
        assert_eq!(x.kind, Kind::Ipv4Translated);
        assert!(x.is_reserved && !x.is_global);
    }

    #[test]
    fn registry_rows_newer_than_the_peers() {
        assert!(!c("192.88.99.2").is_global);
        assert!(c("192.88.99.1").is_global); // terminated block, no enclosing row
        assert!(!c("2001:10::1").is_global); // terminated ORCHID defers to 2001::/23
        assert!(!c("100:0:0:1::1").is_global);
        assert!(c("2001:1::3").is_global);
        assert!(c("3fff::1").is_documentation);
        assert!(!c("5f00::1").is_global && !c("5f00::1").is_reserved);
        assert!(c("5f01::1").is_reserved);
    }

    #[test]
    fn multicast_scope_and_reachability() {
        let m = c("ff02::1");
        assert!(m.is_multicast && !m.is_global && !m.is_link_local);
        assert_eq!(m.scope, Scope::Link);
        assert!(c("ff0e::1").is_global);
        assert_eq!(c("224.0.0.251").scope, Scope::Link);
        assert!(!c("224.0.0.251").is_global);
        assert!(c("224.0.1.1").is_global);
        assert_eq!(c("239.1.1.1").scope, Scope::Organization);
        assert_eq!(c("239.255.255.250").scope, Scope::Site);
    }

    #[test]
    fn unicast_scope() {
        assert_eq!(c("127.0.0.1").scope, Scope::Host);
        assert_eq!(c("fe80::1").scope, Scope::Link);
        assert_eq!(c("fec0::1").scope, Scope::Site);
        assert_eq!(c("fd00::1").scope, Scope::Global);
        assert_eq!(c("10.0.0.1").scope, Scope::Global);
    }

    #[test]
    fn serde_uses_canonical_text_and_reclassifies() {
        let m = c("::ffff:10.0.0.1");
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(json["canonical"], "::ffff:10.0.0.1");
        assert_eq!(json["kind"], "ipv4_mapped");
        assert_eq!(json["family"], "ipv4");
        assert_eq!(json["registry"], "Private-Use");
        let back: Classification = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }
}
