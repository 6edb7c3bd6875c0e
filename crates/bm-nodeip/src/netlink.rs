//! The netlink backend: a [`HostSnapshot`] of the current network namespace.
//!
//! [`snapshot`] opens one synchronous `NETLINK_ROUTE` socket and runs one dump each:
//!
//! | dump | request | what is kept |
//! |---|---|---|
//! | links | `RTM_GETLINK` (`IFLA_EXT_MASK` = `RTEXT_FILTER_SKIP_STATS`) | index, `IFLA_IFNAME`, `IFLA_LINKINFO`/`IFLA_INFO_KIND` (and from `IFLA_INFO_DATA` a bond's `IFLA_BOND_MODE`, a VLAN's `IFLA_VLAN_ID`), `IFF_UP`, `IFF_LOWER_UP`, `IFF_LOOPBACK`, `IFLA_MASTER`, `IFLA_LINK` (unless `IFLA_LINK_NETNSID` puts it in another namespace), `IFLA_MTU`, `IFLA_ADDRESS`, `IFLA_PERM_ADDRESS` |
//! | addresses | `RTM_GETADDR`, `AF_UNSPEC` (both families) | `IFA_LOCAL` (else `IFA_ADDRESS`) with the prefix length, scope, flags (32-bit `IFA_FLAGS` when present, else the 8-bit header flags), `IFA_LABEL`, `IFA_CACHEINFO` lifetimes |
//! | routes | `RTM_GETROUTE`, `AF_UNSPEC`, `RT_TABLE_UNSPEC` (every table, both families) | table (`RTA_TABLE`, else the header's), `RTA_DST` with the prefix length, `RTA_GATEWAY` (or `RTA_VIA`), `RTA_OIF`, `RTA_PRIORITY`, protocol, type, `RTA_PREFSRC`, `RTA_MULTIPATH` next hops |
//!
//! Nothing is sorted: the order is the kernel's. Messages of other families (multicast routing
//! tables, MPLS) are skipped. A dump the kernel marks inconsistent (`NLM_F_DUMP_INTR`), a
//! receive-queue overrun (`ENOBUFS`) or a datagram larger than the receive buffer restarts that
//! dump, a bounded number of times ([`Error::Retries`]).
//!
//! Two normalisations, both documented on the fields they touch:
//!
//! - An IPv4 address's `label` is `None` when it is just the link's name: the kernel labels
//!   every IPv4 address with its link's name unless told otherwise, and only a label that
//!   differs (`eth0:eip`) says anything.
//! - A lifetime of `0xFFFFFFFF` (`INFINITY_LIFE_TIME`) is `None` (forever).
//!
//! [`wait_until`] re-takes snapshots until a caller's predicate is satisfied (typically: no
//! candidate address is still tentative), bounded by a timeout. It is the backend's only use of
//! clocks and sleep.

// I/O on purpose: this module opens a netlink socket, and `wait_until` reads the monotonic clock
// and sleeps between polls. The sans-IO rules (clippy.toml) apply to the rest of the crate.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bm_addr::Family;
use bm_sys::rtnetlink::{Connection, DecodeError, align4};
pub use bm_sys::rtnetlink::{Dump, Error, Retry};
use ipnet::IpNet;
use netlink_packet_core::{NlasIterator, parse_ip, parse_string, parse_u16, parse_u32};
use netlink_packet_route::address::AddressHeader;
use netlink_packet_route::link::LinkHeader;
use netlink_packet_route::route::RouteHeader;

use crate::snapshot::{
    Address, AddressFlags, AddressScope, HostSnapshot, Link, NextHop, Route, RouteProtocol, RouteType,
};

/// A snapshot of the current network namespace: every link, every address (both families) and
/// every route (both families, every table), in the kernel's order.
pub fn snapshot() -> Result<HostSnapshot, Error> {
    snapshot_with(&mut Connection::open()?)
}

/// A snapshot over an open connection.
fn snapshot_with(connection: &mut Connection) -> Result<HostSnapshot, Error> {
    let links = connection.dump(Dump::Links, parse_link)?;
    let mut addresses = connection.dump(Dump::Addresses, parse_address)?;
    let routes = connection.dump(Dump::Routes, parse_route)?;
    // A label that is just the link's name is the kernel's default, not a label.
    let names: HashMap<u32, &str> = links.iter().map(|l| (l.index, l.name.as_str())).collect();
    for a in &mut addresses {
        if a.label.as_deref().is_some_and(|label| names.get(&a.link) == Some(&label)) {
            a.label = None;
        }
    }
    Ok(HostSnapshot { links, addresses, routes })
}

/// The outcome of [`wait_until`]: the last snapshot, and whether the predicate was satisfied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waited {
    /// The last snapshot taken (the one the predicate accepted, unless it timed out).
    pub snapshot: HostSnapshot,
    /// Time from the call to the last snapshot.
    pub elapsed: Duration,
    /// How many snapshots were taken (at least 1).
    pub polls: u32,
    /// `None` when ready; otherwise it timed out and this is the predicate's last reason.
    pub pending: Option<String>,
}

impl Waited {
    /// The predicate accepted the last snapshot.
    pub fn is_ready(&self) -> bool {
        self.pending.is_none()
    }
}

/// The shortest pause between two polls of [`wait_until`].
pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

/// Takes snapshots until `ready` returns `None`, or until `timeout` has passed.
///
/// `ready` returns `None` when the snapshot is good to use, or `Some(reason)` while it is not
/// (`"2001:db8::5 on eth0 is tentative (DAD)"`). The first snapshot is taken at once; after
/// that, one every `interval` (at least [`MIN_INTERVAL`]). The last one is taken when the
/// timeout is reached, so a wait lasts at most `timeout` plus one snapshot.
///
/// Timing out is not an error: the result carries the last snapshot and the last reason in
/// [`Waited::pending`], and the caller decides. Errors are the snapshot's.
pub fn wait_until<F>(mut ready: F, timeout: Duration, interval: Duration) -> Result<Waited, Error>
where
    F: FnMut(&HostSnapshot) -> Option<String>,
{
    let start = Instant::now();
    let interval = interval.max(MIN_INTERVAL);
    let mut connection = Connection::open()?;
    let mut polls = 0u32;
    loop {
        let snapshot = snapshot_with(&mut connection)?;
        polls = polls.saturating_add(1);
        let pending = ready(&snapshot);
        let elapsed = start.elapsed();
        match pending {
            Some(_) if elapsed < timeout => std::thread::sleep(interval.min(timeout - elapsed)),
            pending => return Ok(Waited { snapshot, elapsed, polls, pending }),
        }
    }
}

// --- Decoding -----------------------------------------------------------------------------

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

const LINK_HEADER_LEN: usize = 16;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_LINK_NETNSID: u16 = 37;
const IFLA_PERM_ADDRESS: u16 = 54;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
/// In a bond's `IFLA_INFO_DATA`: the mode, a `u8`.
const IFLA_BOND_MODE: u16 = 1;
/// In a VLAN's `IFLA_INFO_DATA`: the id, a `u16`.
const IFLA_VLAN_ID: u16 = 1;
const IFF_UP: u32 = 0x1;
const IFF_LOOPBACK: u32 = 0x8;
const IFF_LOWER_UP: u32 = 0x1_0000;

fn parse_link(payload: &[u8]) -> Result<Option<Link>, DecodeError> {
    let header = LinkHeader::parse(payload)?;
    let flags = header.flags.bits();
    let mut link = Link {
        index: header.index,
        up: flags & IFF_UP != 0,
        lower_up: flags & IFF_LOWER_UP != 0,
        loopback: flags & IFF_LOOPBACK != 0,
        ..Link::default()
    };
    let (mut info_data, mut other_netns) = (None, false);
    for nla in NlasIterator::new(&payload[LINK_HEADER_LEN..]) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            IFLA_IFNAME => link.name = parse_string(value)?,
            IFLA_MTU => link.mtu = parse_u32(value)?,
            IFLA_MASTER => link.master = Some(parse_u32(value)?).filter(|&m| m != 0),
            IFLA_LINK => link.parent = Some(parse_u32(value)?).filter(|&p| p != 0 && p != header.index),
            IFLA_LINK_NETNSID => other_netns = true,
            IFLA_ADDRESS if !value.is_empty() => link.mac = Some(hardware_address(value)),
            // All zero: the device has no permanent address (veth, bridge, bond).
            IFLA_PERM_ADDRESS if value.iter().any(|&b| b != 0) => link.perm_mac = Some(hardware_address(value)),
            IFLA_LINKINFO => {
                for info in NlasIterator::new(value) {
                    let info = info?;
                    match info.kind() {
                        IFLA_INFO_KIND => link.kind = Some(parse_string(info.value())?),
                        IFLA_INFO_DATA => info_data = Some(info.value().to_vec()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if other_netns {
        link.parent = None;
    }
    // The kind says how to read its data (the kernel sends the kind first, but nothing needs it
    // to).
    if let Some(data) = info_data.as_deref() {
        match link.kind.as_deref() {
            Some("bond") => link.bond_mode = info_attribute(data, IFLA_BOND_MODE, |v| v.first().copied())?,
            Some("vlan") => link.vlan_id = info_attribute(data, IFLA_VLAN_ID, |v| parse_u16(v).ok())?,
            _ => {}
        }
    }
    Ok(Some(link))
}

/// One attribute of a link's `IFLA_INFO_DATA`, read with `read` (`None` when it is missing; an
/// error when it is there and `read` cannot make sense of it).
fn info_attribute<T>(data: &[u8], kind: u16, read: impl Fn(&[u8]) -> Option<T>) -> Result<Option<T>, DecodeError> {
    for nla in NlasIterator::new(data) {
        let nla = nla?;
        if nla.kind() == kind {
            return read(nla.value())
                .map(Some)
                .ok_or_else(|| format!("IFLA_INFO_DATA attribute {kind} of {} bytes", nla.value().len()).into());
        }
    }
    Ok(None)
}

/// `aa:bb:cc:dd:ee:ff`, as `ip` prints any hardware address.
fn hardware_address(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    s
}

const ADDRESS_HEADER_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_CACHEINFO: u16 = 6;
const IFA_FLAGS: u16 = 8;
const IFA_F_SECONDARY: u32 = 0x01; // IFA_F_TEMPORARY for IPv6.
const IFA_F_NODAD: u32 = 0x02;
const IFA_F_OPTIMISTIC: u32 = 0x04;
const IFA_F_DADFAILED: u32 = 0x08;
const IFA_F_DEPRECATED: u32 = 0x20;
const IFA_F_TENTATIVE: u32 = 0x40;
const IFA_F_PERMANENT: u32 = 0x80;
const INFINITY_LIFE_TIME: u32 = u32::MAX;

fn parse_address(payload: &[u8]) -> Result<Option<Address>, DecodeError> {
    let header = AddressHeader::parse(payload)?;
    let family = u8::from(header.family);
    if family != AF_INET && family != AF_INET6 {
        return Ok(None);
    }
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut flags = u32::from(header.flags.bits());
    let mut lifetimes = None;
    for nla in NlasIterator::new(&payload[ADDRESS_HEADER_LEN..]) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            IFA_ADDRESS => address = Some(parse_ip(value)?),
            IFA_LOCAL => local = Some(parse_ip(value)?),
            IFA_LABEL => label = Some(parse_string(value)?),
            // The 32-bit attribute carries the flags that do not fit the header's 8 bits.
            IFA_FLAGS => flags = parse_u32(value)?,
            IFA_CACHEINFO => {
                let (Some(preferred), Some(valid)) = (value.get(0..4), value.get(4..8)) else {
                    return Err(format!("IFA_CACHEINFO of {} bytes", value.len()).into());
                };
                lifetimes = Some((parse_u32(preferred)?, parse_u32(valid)?));
            }
            _ => {}
        }
    }
    // IFA_LOCAL is the address; IFA_ADDRESS is the peer on point-to-point links, and the
    // address itself when there is no IFA_LOCAL (IPv6).
    let Some(ip) = local.or(address) else {
        return Err("address message without IFA_LOCAL or IFA_ADDRESS".into());
    };
    let addr = IpNet::new(ip, header.prefix_len).map_err(|_| format!("{ip}/{} is not a prefix", header.prefix_len))?;
    let ipv4 = family == AF_INET;
    let finite = |t: u32| (t != INFINITY_LIFE_TIME).then_some(t);
    Ok(Some(Address {
        link: header.index,
        addr,
        scope: AddressScope::from_raw(u8::from(header.scope)),
        flags: AddressFlags {
            permanent: flags & IFA_F_PERMANENT != 0,
            deprecated: flags & IFA_F_DEPRECATED != 0,
            tentative: flags & IFA_F_TENTATIVE != 0,
            optimistic: flags & IFA_F_OPTIMISTIC != 0,
            dadfailed: flags & IFA_F_DADFAILED != 0,
            temporary: !ipv4 && flags & IFA_F_SECONDARY != 0,
            secondary: ipv4 && flags & IFA_F_SECONDARY != 0,
            nodad: flags & IFA_F_NODAD != 0,
        },
        label,
        preferred_lft: lifetimes.and_then(|(p, _)| finite(p)),
        valid_lft: lifetimes.and_then(|(_, v)| finite(v)),
    }))
}

const ROUTE_HEADER_LEN: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
/// `struct rtnexthop`: length, flags, hops, ifindex.
const RTNH_LEN: usize = 8;

fn parse_route(payload: &[u8]) -> Result<Option<Route>, DecodeError> {
    let header = RouteHeader::parse(payload)?;
    let family = match u8::from(header.address_family) {
        AF_INET => Family::Ipv4,
        AF_INET6 => Family::Ipv6,
        _ => return Ok(None), // RTNL_FAMILY_IPMR, RTNL_FAMILY_IP6MR, AF_MPLS
    };
    let mut table = u32::from(header.table);
    let mut destination = unspecified(family);
    let (mut gateway, mut link, mut metric, mut prefsrc, mut nexthops) = (None, None, 0, None, Vec::new());
    for nla in NlasIterator::new(&payload[ROUTE_HEADER_LEN..]) {
        let nla = nla?;
        let value = nla.value();
        match nla.kind() {
            RTA_DST => destination = parse_ip(value)?,
            RTA_GATEWAY => gateway = Some(parse_ip(value)?),
            RTA_VIA => gateway = Some(parse_via(value)?),
            RTA_OIF => link = Some(parse_u32(value)?).filter(|&l| l != 0),
            RTA_PRIORITY => metric = parse_u32(value)?,
            RTA_PREFSRC => prefsrc = Some(parse_ip(value)?),
            RTA_TABLE => table = parse_u32(value)?,
            RTA_MULTIPATH => nexthops = parse_multipath(value)?,
            _ => {}
        }
    }
    let prefix = header.destination_prefix_length;
    let destination = IpNet::new(destination, prefix).map_err(|_| format!("{destination}/{prefix} is not a prefix"))?;
    Ok(Some(Route {
        table,
        family,
        destination,
        gateway,
        link,
        metric,
        protocol: RouteProtocol::from_raw(u8::from(header.protocol)),
        kind: route_type(u8::from(header.kind)),
        prefsrc,
        nexthops,
    }))
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

/// `rtm_type` (linux/rtnetlink.h).
fn route_type(raw: u8) -> RouteType {
    match raw {
        1 => RouteType::Unicast,
        2 => RouteType::Local,
        3 => RouteType::Broadcast,
        5 => RouteType::Multicast,
        6..=8 => RouteType::Reject, // blackhole, unreachable, prohibit
        other => RouteType::Other(other),
    }
}

/// `struct rtvia`: a 16-bit family, then the address (an IPv4 route via an IPv6 gateway).
fn parse_via(value: &[u8]) -> Result<IpAddr, DecodeError> {
    let family = parse_u16(value.get(..2).ok_or("RTA_VIA shorter than its family")?)?;
    match u8::try_from(family) {
        Ok(AF_INET | AF_INET6) => parse_ip(&value[2..]),
        _ => Err(format!("RTA_VIA of family {family}").into()),
    }
}

/// `RTA_MULTIPATH`: a sequence of `struct rtnexthop`, each followed by its own attributes.
fn parse_multipath(mut rest: &[u8]) -> Result<Vec<NextHop>, DecodeError> {
    let mut hops = Vec::new();
    while rest.len() >= RTNH_LEN {
        let len = usize::from(parse_u16(&rest[0..2])?);
        if len < RTNH_LEN || len > rest.len() {
            return Err(format!("rtnexthop of length {len} in {} bytes", rest.len()).into());
        }
        let weight = u16::from(rest[3]) + 1;
        let link = parse_u32(&rest[4..8])?;
        let mut gateway = None;
        for nla in NlasIterator::new(&rest[RTNH_LEN..len]) {
            let nla = nla?;
            match nla.kind() {
                RTA_GATEWAY => gateway = Some(parse_ip(nla.value())?),
                RTA_VIA => gateway = Some(parse_via(nla.value())?),
                _ => {}
            }
        }
        hops.push(NextHop { gateway, link, weight });
        rest = &rest[align4(len).min(rest.len())..];
    }
    Ok(hops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardware_addresses_print_like_ip() {
        assert_eq!(hardware_address(&[0x02, 0xab, 0, 0x10, 0xff, 0x9]), "02:ab:00:10:ff:09");
        assert_eq!(hardware_address(&[10, 0, 0, 1]), "0a:00:00:01");
    }

    /// A link message: header, then the given attributes.
    fn link_message(index: u32, nlas: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0u8; LINK_HEADER_LEN];
        b[4..8].copy_from_slice(&index.to_ne_bytes());
        for (kind, value) in nlas {
            b.extend_from_slice(&nla(*kind, value));
        }
        b
    }

    /// One attribute, padded to 4 bytes.
    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&u16::try_from(4 + value.len()).unwrap().to_ne_bytes());
        b.extend_from_slice(&kind.to_ne_bytes());
        b.extend_from_slice(value);
        b.resize(align4(b.len()), 0);
        b
    }

    #[test]
    fn bond_mode_vlan_id_and_parent() {
        let info = |kind: &str, data: Vec<u8>| {
            let mut v = nla(IFLA_INFO_KIND, format!("{kind}\0").as_bytes());
            v.extend(nla(IFLA_INFO_DATA, &data));
            v
        };
        let bond = link_message(7, &[(IFLA_LINKINFO, info("bond", nla(IFLA_BOND_MODE, &[4])))]);
        let link = parse_link(&bond).unwrap().unwrap();
        assert_eq!((link.kind.as_deref(), link.bond_mode, link.vlan_id), (Some("bond"), Some(4), None));
        let vlan = link_message(
            8,
            &[
                (IFLA_LINK, 3u32.to_ne_bytes().to_vec()),
                (IFLA_LINKINFO, info("vlan", nla(IFLA_VLAN_ID, &100u16.to_ne_bytes()))),
            ],
        );
        let link = parse_link(&vlan).unwrap().unwrap();
        assert_eq!((link.parent, link.vlan_id, link.bond_mode), (Some(3), Some(100), None));
        // A peer in another namespace is no index of this one; a link that is its own parent has none.
        let veth = link_message(
            9,
            &[(IFLA_LINK, 4u32.to_ne_bytes().to_vec()), (IFLA_LINK_NETNSID, 0i32.to_ne_bytes().to_vec())],
        );
        assert_eq!(parse_link(&veth).unwrap().unwrap().parent, None);
        let own = link_message(9, &[(IFLA_LINK, 9u32.to_ne_bytes().to_vec())]);
        assert_eq!(parse_link(&own).unwrap().unwrap().parent, None);
        // A VLAN id of one byte is an error, not a guess.
        let bad = link_message(8, &[(IFLA_LINKINFO, info("vlan", nla(IFLA_VLAN_ID, &[1])))]);
        assert!(parse_link(&bad).is_err());
    }

    #[test]
    fn route_types() {
        assert_eq!(route_type(1), RouteType::Unicast);
        assert_eq!(route_type(7), RouteType::Reject);
        assert_eq!(route_type(4), RouteType::Other(4));
    }

    #[test]
    fn multipath_next_hops() {
        // Two rtnexthops: ifindex 3 via 10.0.0.1 weight 1, ifindex 4 via 10.0.1.1 weight 3.
        let mut b = Vec::new();
        for (ifindex, hops, gw) in [(3u32, 0u8, [10, 0, 0, 1]), (4, 2, [10, 0, 1, 1])] {
            b.extend_from_slice(&16u16.to_ne_bytes());
            b.push(0);
            b.push(hops);
            b.extend_from_slice(&ifindex.to_ne_bytes());
            b.extend_from_slice(&8u16.to_ne_bytes());
            b.extend_from_slice(&RTA_GATEWAY.to_ne_bytes());
            b.extend_from_slice(&gw);
        }
        let hops = parse_multipath(&b).unwrap();
        assert_eq!(
            hops,
            vec![
                NextHop { gateway: Some("10.0.0.1".parse().unwrap()), link: 3, weight: 1 },
                NextHop { gateway: Some("10.0.1.1".parse().unwrap()), link: 4, weight: 3 },
            ]
        );
        assert!(parse_multipath(&b[..12]).is_err());
    }
}
