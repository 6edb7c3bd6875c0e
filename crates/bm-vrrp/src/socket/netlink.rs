//! rtnetlink for the daemon: the interface's index, MAC, MTU, carrier and addresses; VIPs added
//! (IPv6 with `IFA_F_NODAD`, as keepalived does, so that a VIP is usable at once) and removed;
//! and a subscription (`RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`, `RTMGRP_IPV6_IFADDR`) that reports
//! carrier changes and address changes (an IPv6 address leaving or entering DAD).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

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
    socket: Socket,
    seq: u32,
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
    pub(crate) fn open() -> io::Result<Netlink> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.connect(&SocketAddr::new(0, 0))?;
        let _ = socket.set_ext_ack(true);
        Ok(Netlink { socket, seq: 0 })
    }

    /// Sends one request and collects the answers: every inner message of a dump, or nothing
    /// for an acknowledged change. A kernel error becomes an `io::Error` with its errno.
    fn request(&mut self, message: RouteNetlinkMessage, flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(message));
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket.send(&buf, 0)?;
        let mut out = Vec::new();
        loop {
            let (data, _) = self.socket.recv_from_full()?;
            let mut offset = 0;
            while offset + 16 <= data.len() {
                let len = u32::from_ne_bytes([data[offset], data[offset + 1], data[offset + 2], data[offset + 3]]);
                let len = len as usize;
                if len < 16 || offset + len > data.len() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated netlink message"));
                }
                let bytes = &data[offset..offset + len];
                offset += (len + 3) & !3;
                let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                if parsed.header.sequence_number != self.seq {
                    continue;
                }
                match parsed.payload {
                    NetlinkPayload::Done(_) => return Ok(out),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            None => Ok(out),
                            Some(_) => Err(e.to_io()),
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => {
                        out.push(m);
                        if flags & NLM_F_DUMP != NLM_F_DUMP && flags & NLM_F_ACK == 0 {
                            return Ok(out);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Every link.
    pub(crate) fn links(&mut self) -> io::Result<Vec<Link>> {
        let answers = self.request(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(l)),
                _ => None,
            })
            .collect())
    }

    /// Every address of both families.
    pub(crate) fn addresses(&mut self) -> io::Result<Vec<Address>> {
        let answers =
            self.request(RouteNetlinkMessage::GetAddress(AddressMessage::default()), NLM_F_REQUEST | NLM_F_DUMP)?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => address_from(a),
                _ => None,
            })
            .collect())
    }

    fn address_message(index: u32, addr: IpAddr, prefix_len: u8, label: Option<&str>) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
        msg.header.prefix_len = prefix_len;
        msg.header.index = index;
        msg.header.scope = AddressScope::Universe;
        msg.attributes.push(AddressAttribute::Local(addr));
        if addr.is_ipv4() {
            msg.attributes.push(AddressAttribute::Address(addr));
            if let Some(l) = label {
                msg.attributes.push(AddressAttribute::Label(l.to_string()));
            }
        } else {
            msg.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        msg
    }

    /// Adds `addr/prefix_len` to link `index` (replacing it if present).
    pub(crate) fn add_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix_len: u8,
        label: Option<&str>,
    ) -> io::Result<()> {
        let msg = Self::address_message(index, addr, prefix_len, label);
        self.request(RouteNetlinkMessage::NewAddress(msg), NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
            .map(drop)
    }

    /// Removes `addr/prefix_len` from link `index`; an address already gone is fine.
    pub(crate) fn remove_address(&mut self, index: u32, addr: IpAddr, prefix_len: u8) -> io::Result<()> {
        let msg = Self::address_message(index, addr, prefix_len, None);
        match self.request(RouteNetlinkMessage::DelAddress(msg), NLM_F_REQUEST | NLM_F_ACK) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) || e.raw_os_error() == Some(libc::ENODEV) => Ok(()),
            r => r.map(drop),
        }
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
    socket: Socket,
}

impl LinkMonitor {
    pub(crate) fn open() -> io::Result<LinkMonitor> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        let groups = libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR;
        socket.bind(&SocketAddr::new(0, groups as u32))?;
        socket.set_non_blocking(true)?;
        Ok(LinkMonitor { socket })
    }

    pub(crate) fn raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Every notification queued. `Err` only for socket errors other than "nothing queued";
    /// an overrun (`ENOBUFS`) is reported so the caller re-reads links and addresses.
    pub(crate) fn drain(&mut self) -> io::Result<Vec<Change>> {
        let mut out = Vec::new();
        loop {
            let data = match self.socket.recv_from_full() {
                Ok((d, _)) => d,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) => return Err(e),
            };
            let mut offset = 0;
            while offset + 16 <= data.len() {
                let len =
                    u32::from_ne_bytes([data[offset], data[offset + 1], data[offset + 2], data[offset + 3]]) as usize;
                if len < 16 || offset + len > data.len() {
                    break;
                }
                if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&data[offset..offset + len]) {
                    match m.payload {
                        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                            let link = link_from(&l);
                            out.push(Change::Link(link.index, link.up));
                        }
                        NetlinkPayload::InnerMessage(
                            RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a),
                        ) => out.push(Change::Address(a.header.index)),
                        _ => {}
                    }
                }
                offset += (len + 3) & !3;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `ip addr add` sends: IPv4 with IFA_LOCAL, IFA_ADDRESS and the label; IPv6 with
    /// IFA_LOCAL and IFA_F_NODAD (keepalived's choice, so the VIP is usable at once).
    #[test]
    fn address_messages() {
        let v4 = Netlink::address_message(7, "10.0.0.5".parse().unwrap(), 24, Some("eth0:vip"));
        assert_eq!((v4.header.family, v4.header.prefix_len, v4.header.index), (AddressFamily::Inet, 24, 7));
        assert_eq!(
            v4.attributes,
            vec![
                AddressAttribute::Local("10.0.0.5".parse().unwrap()),
                AddressAttribute::Address("10.0.0.5".parse().unwrap()),
                AddressAttribute::Label("eth0:vip".into()),
            ]
        );
        let v6 = Netlink::address_message(7, "fd00::5".parse().unwrap(), 64, Some("ignored"));
        assert_eq!(v6.header.family, AddressFamily::Inet6);
        assert_eq!(
            v6.attributes,
            vec![AddressAttribute::Local("fd00::5".parse().unwrap()), AddressAttribute::Flags(AddressFlags::Nodad)]
        );
    }

    #[test]
    fn usable_addresses() {
        let a = |flags| Address { index: 1, addr: "fe80::1".parse().unwrap(), prefix_len: 64, flags, scope_link: true };
        assert!(a(0x80).usable(), "permanent");
        assert!(!a(0x40).usable(), "tentative");
        assert!(!a(0x08).usable(), "failed DAD");
        assert!(a(0x01).secondary());
    }
}
