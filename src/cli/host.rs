//! Reading this host's interfaces and addresses (the I/O half of `bmnet inspect`).
//!
//! IPv4 addresses and link data come from `getifaddrs(3)`; IPv6 addresses come from
//! `/proc/net/if_inet6`, which also carries the flags `getifaddrs` drops (deprecated,
//! tentative, dadfailed...). The netlink backend of `bm-nodeip` will replace this.

// This module is the I/O half of `inspect`: it reads the host on purpose.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv6Addr};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;
use serde::Serialize;

/// One network interface and its addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Interface {
    pub(crate) name: String,
    pub(crate) index: u32,
    pub(crate) up: bool,
    pub(crate) running: bool,
    pub(crate) loopback: bool,
    pub(crate) mac: Option<String>,
    pub(crate) addresses: Vec<HostAddr>,
}

/// One configured address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct HostAddr {
    pub(crate) addr: IpAddr,
    pub(crate) prefix_len: u8,
    /// IPv6 address flags (`IFA_F_*`); empty for IPv4.
    pub(crate) flags: Vec<&'static str>,
}

/// `IFA_F_*` bits as printed in `/proc/net/if_inet6` (linux/if_addr.h).
const IFA_FLAGS: [(u32, &str); 8] = [
    (0x01, "temporary"),
    (0x02, "nodad"),
    (0x04, "optimistic"),
    (0x08, "dadfailed"),
    (0x10, "homeaddress"),
    (0x20, "deprecated"),
    (0x40, "tentative"),
    (0x80, "permanent"),
];

pub(crate) fn collect() -> io::Result<Vec<Interface>> {
    let mut by_name: BTreeMap<String, Interface> = BTreeMap::new();
    for ifa in getifaddrs().map_err(io::Error::from)? {
        let iface = by_name.entry(ifa.interface_name.clone()).or_insert_with(|| Interface {
            name: ifa.interface_name.clone(),
            index: nix::net::if_::if_nametoindex(ifa.interface_name.as_str()).unwrap_or(0),
            ..Interface::default()
        });
        iface.up |= ifa.flags.contains(InterfaceFlags::IFF_UP);
        iface.running |= ifa.flags.contains(InterfaceFlags::IFF_RUNNING);
        iface.loopback |= ifa.flags.contains(InterfaceFlags::IFF_LOOPBACK);
        let Some(address) = ifa.address else { continue };
        if let Some(link) = address.as_link_addr() {
            if let Some(mac) = link.addr().filter(|m| m.iter().any(|&b| b != 0)) {
                iface.mac = Some(mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"));
            }
        } else if let Some(v4) = address.as_sockaddr_in() {
            let prefix_len = ifa
                .netmask
                .and_then(|m| m.as_sockaddr_in().map(|m| u32::from(m.ip()).count_ones() as u8))
                .unwrap_or(32);
            iface.addresses.push(HostAddr { addr: IpAddr::V4(v4.ip()), prefix_len, flags: Vec::new() });
        }
    }
    match std::fs::read_to_string("/proc/net/if_inet6") {
        Ok(text) => {
            for (name, addr) in text.lines().filter_map(parse_if_inet6_line) {
                if let Some(iface) = by_name.get_mut(&name) {
                    iface.addresses.push(addr);
                }
            }
        }
        // A kernel without IPv6 has no such file.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("/proc/net/if_inet6: {e}"))),
    }
    let mut ifaces: Vec<Interface> = by_name.into_values().collect();
    ifaces.sort_by_key(|i| (i.index, i.name.clone()));
    Ok(ifaces)
}

/// `00000000000000000000000000000001 01 80 10 80       lo`: address, index, prefix length,
/// scope and flags in hex, then the interface name.
pub(crate) fn parse_if_inet6_line(line: &str) -> Option<(String, HostAddr)> {
    let mut f = line.split_whitespace();
    let hex = f.next()?;
    let _index = f.next()?;
    let prefix_len = u8::from_str_radix(f.next()?, 16).ok()?;
    let _scope = f.next()?;
    let flags = u32::from_str_radix(f.next()?, 16).ok()?;
    let name = f.next()?.to_string();
    let bits = u128::from_str_radix(hex, 16).ok().filter(|_| hex.len() == 32)?;
    let flags = IFA_FLAGS.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| *n).collect();
    Some((name, HostAddr { addr: IpAddr::V6(Ipv6Addr::from_bits(bits)), prefix_len, flags }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_inet6_lines() {
        let (name, a) = parse_if_inet6_line("00000000000000000000ffffc0a8000e 01 80 00 a0       lo").unwrap();
        assert_eq!(name, "lo");
        assert_eq!(a.addr.to_string(), "::ffff:192.168.0.14");
        assert_eq!(a.prefix_len, 128);
        assert_eq!(a.flags, vec!["deprecated", "permanent"]);
        assert!(parse_if_inet6_line("garbage").is_none());
        assert!(parse_if_inet6_line("0001 01 80 00 80 lo").is_none());
    }
}
