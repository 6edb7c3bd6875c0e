//! rtnetlink for the daemon, on `bm_sys::rtnetlink`: the interface's index, MAC, MTU, carrier
//! and addresses read from dumps (restarted when the kernel says they were inconsistent or
//! overran); VIPs added (IPv6 with `IFA_F_NODAD`, as keepalived does, so that a VIP is usable at
//! once) and removed; and a subscription that reports carrier changes and address changes (an
//! IPv6 address leaving or entering DAD). This module says what the messages mean; bm-sys
//! carries them.

use std::net::IpAddr;
use std::os::fd::BorrowedFd;

use bm_sys::rtnetlink::{Connection, Dump, Error, Monitor, Notification};
use netlink_packet_core::Parseable as _;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};

/// A link as the daemon needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) index: u32,
    pub(crate) name: String,
    pub(crate) mac: Option<[u8; 6]>,
    /// Its MTU, when the kernel said.
    pub(crate) mtu: Option<u32>,
    /// Administratively up with carrier (`IFF_UP` and `IFF_LOWER_UP`).
    pub(crate) up: bool,
}

/// An address on a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) index: u32,
    pub(crate) addr: IpAddr,
    pub(crate) prefix_len: u8,
    /// `IFA_F_*` (32-bit when the kernel sent `IFA_FLAGS`).
    pub(crate) flags: u32,
    pub(crate) scope_link: bool,
}

impl Address {
    /// Usable as a source: not tentative, not failed DAD, not deprecated.
    pub(crate) fn usable(&self) -> bool {
        const TENTATIVE: u32 = 0x40;
        const DADFAILED: u32 = 0x08;
        const DEPRECATED: u32 = 0x20;
        self.flags & (TENTATIVE | DADFAILED | DEPRECATED) == 0
    }

    pub(crate) fn secondary(&self) -> bool {
        self.flags & 0x01 != 0
    }
}

/// A `NETLINK_ROUTE` request socket.
pub(crate) struct Netlink {
    connection: Connection,
}

fn link_from(msg: &LinkMessage) -> Link {
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        mac: None,
        mtu: None,
        up: msg.header.flags.contains(LinkFlags::Up) && msg.header.flags.contains(LinkFlags::LowerUp),
    };
    for a in &msg.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name.clone_from(n),
            LinkAttribute::Address(m) if m.len() == 6 => {
                let mut mac = [0; 6];
                mac.copy_from_slice(m);
                link.mac = Some(mac);
            }
            LinkAttribute::Mtu(m) => link.mtu = Some(*m),
            _ => {}
        }
    }
    link
}

fn address_from(msg: &AddressMessage) -> Option<Address> {
    let mut local = None;
    let mut address = None;
    let mut flags = u32::from(msg.header.flags.bits());
    for a in &msg.attributes {
        match a {
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Flags(f) => flags = f.bits(),
            _ => {}
        }
    }
    Some(Address {
        index: msg.header.index,
        addr: local.or(address)?,
        prefix_len: msg.header.prefix_len,
        flags,
        scope_link: msg.header.scope == AddressScope::Link,
    })
}

impl Netlink {
    pub(crate) fn open() -> Result<Netlink, Error> {
        Ok(Netlink { connection: Connection::open()? })
    }

    /// Every link.
    pub(crate) fn links(&mut self) -> Result<Vec<Link>, Error> {
        self.connection.dump(Dump::Links, |payload| Ok(Some(link_from(&LinkMessage::parse(payload)?))))
    }

    /// Every address of both families.
    pub(crate) fn addresses(&mut self) -> Result<Vec<Address>, Error> {
        self.connection.dump(Dump::Addresses, |payload| Ok(address_from(&AddressMessage::parse(payload)?)))
    }

    /// Adds `addr/prefix_len` to link `index` (replacing it if present).
    pub(crate) fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> Result<(), Error> {
        self.connection.add_address(index, addr, prefix_len, label)
    }

    /// Removes `addr/prefix_len` from link `index`; an address already gone is fine.
    pub(crate) fn remove_address(&mut self, index: u32, addr: IpAddr, prefix_len: u8) -> Result<(), Error> {
        self.connection.remove_address(index, addr, prefix_len).map(drop)
    }
}

/// What the subscription reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// A link's carrier (index, up).
    Link(u32, bool),
    /// Some address of a link came, went or changed flags (index).
    Address(u32),
}

/// A subscription to link and address changes, as they happen.
pub(crate) struct LinkMonitor {
    monitor: Monitor,
}

impl LinkMonitor {
    pub(crate) fn open() -> Result<LinkMonitor, Error> {
        Ok(LinkMonitor { monitor: Monitor::open()? })
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.monitor.fd()
    }

    /// Every notification queued. `Err` for socket errors, and when notifications were lost
    /// (`ENOBUFS`): the caller then re-reads links and addresses. A notification that does not
    /// decode is skipped (the next dump after a change sees the truth anyway).
    pub(crate) fn drain(&mut self) -> Result<Vec<Change>, Error> {
        self.monitor.drain(|kind, payload| match kind {
            Notification::NewLink => {
                let link = link_from(&LinkMessage::parse(payload).ok()?);
                Some(Change::Link(link.index, link.up))
            }
            Notification::NewAddress | Notification::DelAddress => {
                Some(Change::Address(AddressMessage::parse(payload).ok()?.header.index))
            }
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_addresses() {
        let a = |flags| Address { index: 1, addr: "fe80::1".parse().unwrap(), prefix_len: 64, flags, scope_link: true };
        assert!(a(0x80).usable(), "permanent");
        assert!(!a(0x40).usable(), "tentative");
        assert!(!a(0x08).usable(), "failed DAD");
        assert!(a(0x01).secondary());
    }
}
