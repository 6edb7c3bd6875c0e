//! The special-purpose address table: IANA's IPv4 and IPv6 Special-Purpose Address Registries,
//! plus multicast, the deprecated site-local block and the IPv6 space the IETF has not allocated.
//!
//! The rows live in one data file, `data/special-purpose.txt`, turned into static tables by
//! `build.rs`. A lookup is one binary search over disjoint intervals, each already resolved to
//! its most specific row, so it never allocates and costs the same for every address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Deserializer, Serialize};

use crate::Scope;

include!(concat!(env!("OUT_DIR"), "/registry_table.rs"));

/// The table. A `static` (one copy, addressable) built from the generated `const`, which
/// `classify` also reads at compile time to precompute each row's predicates.
pub(crate) static ROWS: [Row; ROW_COUNT] = ROW_DATA;

/// Which registry a [`Row`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Registry {
    /// IANA IPv4 Special-Purpose Address Registry (RFC 6890).
    Ipv4Special,
    /// IANA IPv6 Special-Purpose Address Registry (RFC 6890).
    Ipv6Special,
    /// IANA IPv4 Multicast Address Space Registry and RFC 2365's administrative scopes.
    Ipv4Multicast,
    /// IPv6 multicast, ff00::/8 (RFC 4291 §2.7).
    Ipv6Multicast,
    /// Deprecated IPv6 site-local unicast, fec0::/10 (RFC 3879).
    SiteLocal,
    /// IANA IPv6 Address Space: blocks still "Reserved by IETF".
    Ipv6AddressSpace,
}

/// bmnet's own column: what a row's addresses are, which drives the predicates of a
/// [`Classification`](crate::Classification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Class {
    /// `0.0.0.0/32`, `::/128`.
    Unspecified,
    /// `0.0.0.0/8`, "this network" (RFC 791).
    ThisNetwork,
    /// `127.0.0.0/8`, `::1/128`.
    Loopback,
    /// `169.254.0.0/16`, `fe80::/10`.
    LinkLocal,
    /// `fec0::/10`, deprecated (RFC 3879).
    SiteLocal,
    /// RFC 1918 and unique-local `fc00::/7`.
    Private,
    /// Shared address space `100.64.0.0/10` (RFC 6598, carrier-grade NAT).
    Shared,
    /// Documentation prefixes (RFC 5737, RFC 3849, RFC 9637).
    Documentation,
    /// Benchmarking prefixes (RFC 2544, RFC 5180).
    Benchmarking,
    /// Reserved for future use: `240.0.0.0/4` and IPv6 space the IETF has not allocated.
    Reserved,
    /// `255.255.255.255`.
    Broadcast,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `::ffff:0:0/96`.
    Mapped,
    /// NAT64 prefixes `64:ff9b::/96` and `64:ff9b:1::/48`.
    Translation,
    /// `2002::/16`.
    SixToFour,
    /// `2001::/32`.
    Teredo,
    /// Any other protocol assignment (anycast, AS112, AMT, ORCHID, ...).
    Protocol,
}

/// One row of the special-purpose table.
///
/// The five flags are those of RFC 6890 §2.2.2; `None` means the registry gives no boolean
/// (`N/A`, or a terminated row).
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// The registry the row belongs to.
    pub registry: Registry,
    /// The address block.
    pub block: IpNet,
    /// The registry's name for the block.
    pub name: &'static str,
    /// The RFC(s) that requested the block.
    pub rfc: &'static str,
    /// Allocation date, `YYYY-MM`.
    pub allocated: &'static str,
    /// Termination date, `YYYY-MM`, for limited-use allocations that ended.
    pub terminated: Option<&'static str>,
    /// Valid as the source address of a datagram that transits two devices.
    pub source: Option<bool>,
    /// Valid as the destination address of a datagram that transits two devices.
    pub destination: Option<bool>,
    /// A router may forward a datagram to the block between external interfaces.
    pub forwardable: Option<bool>,
    /// Datagrams to the block are forwardable beyond an administrative domain.
    pub globally_reachable: Option<bool>,
    /// IP itself reserves the block.
    pub reserved_by_protocol: Option<bool>,
    /// What the addresses are (bmnet's own column).
    pub class: Class,
    /// The scope of the addresses; `None` for IPv6 multicast, whose scope is in the address.
    pub scope: Option<Scope>,
    #[serde(skip)]
    pub(crate) parent: Option<u8>,
}

impl Row {
    /// The most specific other row that contains this one, if any.
    pub fn parent(&self) -> Option<&'static Row> {
        self.parent.map(|i| &ROWS[usize::from(i)])
    }
}

/// Every row of the table, in data-file order.
///
/// ```
/// let names: Vec<_> = bm_addr::registry::rows().iter().map(|r| r.name).collect();
/// assert!(names.contains(&"Shared Address Space"));
/// ```
pub fn rows() -> &'static [Row] {
    &ROWS
}

/// The most specific row that contains `addr`, looking at the address as written (a mapped
/// address finds the `::ffff:0:0/96` row; [`classify`](crate::classify) looks through it).
///
/// ```
/// use std::net::IpAddr;
/// let row = bm_addr::registry::lookup("192.0.0.9".parse::<IpAddr>().unwrap()).unwrap();
/// assert_eq!(row.name, "Port Control Protocol Anycast");
/// assert_eq!(row.globally_reachable, Some(true)); // unlike the enclosing 192.0.0.0/24
/// ```
#[inline]
pub fn lookup(addr: IpAddr) -> Option<&'static Row> {
    ROWS.get(index(addr))
}

/// [`lookup`] for an IPv4 address.
#[inline]
pub fn lookup_v4(addr: Ipv4Addr) -> Option<&'static Row> {
    ROWS.get(index_v4(addr))
}

/// [`lookup`] for an IPv6 address.
#[inline]
pub fn lookup_v6(addr: Ipv6Addr) -> Option<&'static Row> {
    ROWS.get(index_v6(addr))
}

/// The index into [`ROWS`] of the most specific row for `addr`, or `ROW_COUNT` for none.
#[inline]
pub(crate) fn index(addr: IpAddr) -> usize {
    match addr {
        IpAddr::V4(a) => index_v4(a),
        IpAddr::V6(a) => index_v6(a),
    }
}

#[inline]
pub(crate) fn index_v4(addr: Ipv4Addr) -> usize {
    row_index(&V4_INTERVALS, V4_INDEX[usize::from(addr.octets()[0])], addr.to_bits())
}

#[inline]
pub(crate) fn index_v6(addr: Ipv6Addr) -> usize {
    index_v6_bits(crate::kind::v6_bits(addr))
}

#[inline]
pub(crate) fn index_v6_bits(bits: u128) -> usize {
    row_index(&V6_INTERVALS, V6_INDEX[(bits >> 120) as usize], bits)
}

/// The row of the interval containing `key`, among the inclusive range `lo..=hi` that the
/// first-byte index gives for its top byte.
#[inline]
fn row_index<T: Ord + Copy>(intervals: &[(T, u8)], (lo, hi): (u16, u16), key: T) -> usize {
    let (lo, hi) = (usize::from(lo), usize::from(hi));
    // The first interval of the range starts at or below `key`, so the partition point is >= 1.
    let i = if lo == hi { lo } else { lo + intervals[lo..=hi].partition_point(|&(start, _)| start <= key) - 1 };
    usize::from(intervals[i].1)
}

/// The row whose block is exactly `block`.
pub fn find(block: IpNet) -> Option<&'static Row> {
    ROWS.iter().find(|r| r.block == block)
}

impl<'de> Deserialize<'de> for &'static Row {
    /// A row travels as its full serialized form; it is read back by its `block`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Key {
            block: IpNet,
        }
        let key = Key::deserialize(deserializer)?;
        find(key.block).ok_or_else(|| serde::de::Error::custom(format!("no special-purpose row for {}", key.block)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }
    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn most_specific_row_wins() {
        assert_eq!(lookup_v4(v4("192.0.0.9")).unwrap().block.to_string(), "192.0.0.9/32");
        assert_eq!(lookup_v4(v4("192.0.0.11")).unwrap().block.to_string(), "192.0.0.0/24");
        assert_eq!(lookup_v4(v4("192.0.0.3")).unwrap().block.to_string(), "192.0.0.0/29");
        assert_eq!(lookup_v4(v4("0.0.0.0")).unwrap().class, Class::Unspecified);
        assert_eq!(lookup_v4(v4("0.0.0.1")).unwrap().class, Class::ThisNetwork);
        assert_eq!(lookup_v4(v4("255.255.255.255")).unwrap().class, Class::Broadcast);
        assert_eq!(lookup_v4(v4("255.255.255.254")).unwrap().class, Class::Reserved);
        assert_eq!(lookup_v4(v4("239.255.1.1")).unwrap().scope, Some(Scope::Site));
        assert_eq!(lookup_v6(v6("2001:1::3")).unwrap().name, "DNS-SD Service Registration Protocol Anycast");
        assert_eq!(lookup_v6(v6("2001:1::4")).unwrap().name, "IETF Protocol Assignments");
        assert_eq!(lookup_v6(v6("5f00::1")).unwrap().registry, Registry::Ipv6Special);
        assert_eq!(lookup_v6(v6("5f01::1")).unwrap().registry, Registry::Ipv6AddressSpace);
        assert_eq!(lookup_v6(v6("::ffff:1.2.3.4")).unwrap().class, Class::Mapped);
        assert_eq!(lookup_v6(v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")).unwrap().class, Class::Multicast);
    }

    #[test]
    fn ordinary_unicast_has_no_row() {
        assert!(lookup_v4(v4("8.8.8.8")).is_none());
        assert!(lookup_v4(v4("223.255.255.255")).is_none());
        assert!(lookup_v6(v6("2a00:1450::1")).is_none());
        assert!(lookup_v6(v6("2000::")).is_none());
    }

    #[test]
    fn lookup_agrees_with_a_linear_scan_at_every_boundary() {
        // The interval table must equal "most specific containing row" everywhere; probe each
        // block's first and last address and their neighbours.
        let scan = |addr: IpAddr| ROWS.iter().filter(|r| r.block.contains(&addr)).max_by_key(|r| r.block.prefix_len());
        for row in rows() {
            let (first, last): (IpAddr, IpAddr) = (row.block.network(), row.block.broadcast());
            let mut probes = vec![first, last];
            match (first, last) {
                (IpAddr::V4(f), IpAddr::V4(l)) => {
                    probes.extend(f.to_bits().checked_sub(1).map(|b| IpAddr::V4(Ipv4Addr::from_bits(b))));
                    probes.extend(l.to_bits().checked_add(1).map(|b| IpAddr::V4(Ipv4Addr::from_bits(b))));
                }
                (IpAddr::V6(f), IpAddr::V6(l)) => {
                    probes.extend(f.to_bits().checked_sub(1).map(|b| IpAddr::V6(Ipv6Addr::from_bits(b))));
                    probes.extend(l.to_bits().checked_add(1).map(|b| IpAddr::V6(Ipv6Addr::from_bits(b))));
                }
                _ => unreachable!(),
            }
            for p in probes {
                assert_eq!(lookup(p).map(|r| r.block), scan(p).map(|r| r.block), "at {p}");
            }
        }
    }

    #[test]
    fn terminated_rows_have_a_parent_or_none() {
        let orchid = find("2001:10::/28".parse().unwrap()).unwrap();
        assert_eq!(orchid.terminated, Some("2014-03"));
        assert_eq!(orchid.parent().unwrap().name, "IETF Protocol Assignments");
        let relay = find("192.88.99.0/24".parse().unwrap()).unwrap();
        assert!(relay.parent().is_none());
    }

    #[test]
    fn rows_round_trip_through_serde_by_block() {
        for row in rows() {
            let json = serde_json::to_string(row).unwrap();
            let back: &'static Row = serde_json::from_str(&json).unwrap();
            assert!(std::ptr::eq(back, row), "{json}");
        }
    }

    #[test]
    fn registry_dates_are_iso_dates() {
        for d in [IPV4_REGISTRY_DATE, IPV6_REGISTRY_DATE] {
            let parts: Vec<_> = d.split('-').collect();
            assert_eq!(parts.len(), 3, "{d}");
            assert!(parts.iter().all(|p| p.parse::<u32>().is_ok()), "{d}");
        }
    }
}
