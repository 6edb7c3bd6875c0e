//! One raw IP protocol 112 socket per interface and family: bound to the device, the VRRP group
//! joined on it, TTL / hop limit 255 on everything sent, the received TTL / hop limit and
//! destination read from ancillary data, and the source address chosen per message (the
//! system calls are `bm_sys::udp`'s, which serve raw sockets as they serve UDP).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::{AsFd, BorrowedFd};

use bm_sys::udp::{self, Receiver};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

use crate::{GROUP_V4, GROUP_V6};

/// IANA protocol number of VRRP.
pub(crate) const IPPROTO_VRRP: i32 = 112;

/// The largest IP packet, which an IPv4 raw socket delivers whole (its header included).
const MAX_PACKET: usize = 65536;

/// A VRRP message as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Datagram<'a> {
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) ttl: u8,
    /// The VRRP message (the IP payload).
    pub(crate) payload: &'a [u8],
}

/// The raw socket of one (interface, family).
pub(crate) struct VrrpSocket {
    socket: Socket,
    ifindex: u32,
    ipv6: bool,
    /// Room for one packet: the daemon reads a bounded number per wake-up, one at a time.
    receiver: Receiver,
}

impl VrrpSocket {
    /// Opens it on `interface` (index `ifindex`) for IPv4 or IPv6.
    pub(crate) fn open(interface: &str, ifindex: u32, ipv6: bool) -> io::Result<VrrpSocket> {
        let domain = if ipv6 { Domain::IPV6 } else { Domain::IPV4 };
        let socket = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        socket.bind_device(Some(interface.as_bytes()))?;
        socket.set_nonblocking(true)?;
        if ipv6 {
            let IpAddr::V6(group) = GROUP_V6 else { unreachable!("GROUP_V6 is IPv6") };
            socket.join_multicast_v6(&group, ifindex)?;
            socket.set_multicast_if_v6(ifindex)?;
            socket.set_multicast_hops_v6(255)?;
            socket.set_unicast_hops_v6(255)?;
            socket.set_multicast_loop_v6(false)?;
        } else {
            let IpAddr::V4(group) = GROUP_V4 else { unreachable!("GROUP_V4 is IPv4") };
            socket.join_multicast_v4_n(&group, &InterfaceIndexOrAddress::Index(ifindex))?;
            socket.set_multicast_ttl_v4(255)?;
            socket.set_ttl_v4(255)?;
            socket.set_multicast_loop_v4(false)?;
            // keepalived sends with TOS 0xc0 (network control).
            socket.set_tos_v4(0xc0)?;
        }
        udp::enable_ttl(socket.as_fd(), ipv6)?;
        udp::enable_pktinfo(socket.as_fd(), ipv6)?;
        Ok(VrrpSocket { socket, ifindex, ipv6, receiver: Receiver::new(1, MAX_PACKET) })
    }

    pub(crate) fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub(crate) fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Sends a VRRP message from `src` to `dst`, out of this socket's interface.
    pub(crate) fn send(&self, src: IpAddr, dst: IpAddr, bytes: &[u8]) -> io::Result<()> {
        // Port 0: a raw socket's protocol is its own.
        udp::send_from_interface(self.socket.as_fd(), bytes, src, SocketAddr::new(dst, 0), self.ifindex)
    }

    /// The next queued message, `Ok(None)` when none is, `Err` for a malformed IPv4 header or a
    /// socket error.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Datagram<'_>>> {
        match self.receiver.recv(self.socket.as_fd(), false) {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(e),
        }
        let d = self.receiver.get(0).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a datagram from an address family other than IPv4 and IPv6")
        })?;
        if self.ipv6 {
            return ipv6_datagram(&d).map(Some);
        }
        // IPv4 raw sockets deliver the IP header too.
        let (header, payload) = split_ipv4(d.bytes)?;
        let dst = d.local.map_or(IpAddr::V4(header.dst), |(dst, _)| dst);
        let ttl = d.ttl.unwrap_or(header.ttl);
        Ok(Some(Datagram { src: IpAddr::V4(header.src), dst, ttl, payload }))
    }
}

/// An IPv6 raw socket delivers the payload only: the destination and hop limit come from
/// ancillary data (`IPV6_PKTINFO`, `IPV6_HOPLIMIT`), both asked for when the socket was opened.
/// Missing either is an error, never a guess: the destination decides unicast against multicast
/// mode and the hop limit the TTL checks, so a guess would let an advert past the checks.
fn ipv6_datagram<'a>(d: &udp::Datagram<'a>) -> io::Result<Datagram<'a>> {
    let missing = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("no {what} with the datagram"));
    let (dst, _) = d.local.ok_or_else(|| missing("IPV6_PKTINFO"))?;
    let ttl = d.ttl.ok_or_else(|| missing("IPV6_HOPLIMIT"))?;
    Ok(Datagram { src: d.source.ip(), dst, ttl, payload: d.bytes })
}

/// What the receive path needs of an IPv4 header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ipv4Header {
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    pub(crate) ttl: u8,
}

/// Splits an IPv4 packet into its header and payload (bounded by the header's total length).
pub(crate) fn split_ipv4(bytes: &[u8]) -> io::Result<(Ipv4Header, &[u8])> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("IPv4 packet: {what}"));
    if bytes.len() < 20 || bytes[0] >> 4 != 4 {
        return Err(bad("shorter than a header or not version 4"));
    }
    let ihl = usize::from(bytes[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if ihl < 20 || ihl > bytes.len() {
        return Err(bad("bad header length"));
    }
    // Linux hands raw sockets the total length as sent; trust the shorter of it and the data.
    let end = if total >= ihl { total.min(bytes.len()) } else { bytes.len() };
    let header = Ipv4Header {
        src: Ipv4Addr::new(bytes[12], bytes[13], bytes[14], bytes[15]),
        dst: Ipv4Addr::new(bytes[16], bytes[17], bytes[18], bytes[19]),
        ttl: bytes[8],
    };
    Ok((header, &bytes[ihl..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv6 addressing comes from ancillary data alone: without the destination or the hop
    /// limit the datagram is refused, never taken for one to the group.
    #[test]
    fn ipv6_needs_pktinfo_and_hop_limit() {
        let src: IpAddr = "fe80::1".parse().unwrap();
        let dst: IpAddr = "fe80::2".parse().unwrap();
        let bytes = [1u8, 2, 3];
        let full = udp::Datagram {
            bytes: &bytes,
            source: SocketAddr::new(src, 0),
            local: Some((dst, 2)),
            ttl: Some(255),
            truncated: false,
        };
        let d = ipv6_datagram(&full).unwrap();
        assert_eq!((d.src, d.dst, d.ttl, d.payload), (src, dst, 255, &bytes[..]));
        let no_dst = udp::Datagram { local: None, ..full };
        let e = ipv6_datagram(&no_dst).unwrap_err();
        assert!(e.to_string().contains("IPV6_PKTINFO"), "{e}");
        let no_ttl = udp::Datagram { ttl: None, ..full };
        assert!(ipv6_datagram(&no_ttl).unwrap_err().to_string().contains("IPV6_HOPLIMIT"));
    }

    /// A v3 advert (research §1's synthetic vector) behind an IPv4 header 192.168.1.10 →
    /// 224.0.0.18, TTL 255, total length 32 (the header checksum is not the receiver's business:
    /// the kernel checked it).
    #[test]
    fn ipv4_split() {
        let pkt = [
            0x45, 0xc0, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0xff, 0x70, 0x18, 0xed, 0xc0, 0xa8, 0x01, 0x0a, 0xe0, 0x00,
            0x00, 0x12, 0x31, 0x33, 0x64, 0x01, 0x00, 0x64, 0x06, 0x19, 0xc0, 0xa8, 0x01, 0x64,
        ];
        let (h, payload) = split_ipv4(&pkt).expect("valid");
        assert_eq!(h, Ipv4Header { src: Ipv4Addr::new(192, 168, 1, 10), dst: Ipv4Addr::new(224, 0, 0, 18), ttl: 255 });
        assert_eq!(payload, &pkt[20..]);
        let mut padded = pkt.to_vec();
        padded.extend_from_slice(&[0; 6]);
        assert_eq!(split_ipv4(&padded).expect("valid").1, &pkt[20..], "bounded by the total length");
        assert!(split_ipv4(&pkt[..19]).is_err());
        let mut v6 = pkt;
        v6[0] = 0x65;
        assert!(split_ipv4(&v6).is_err());
        let mut long_ihl = pkt;
        long_ihl[0] = 0x4f;
        assert!(split_ipv4(&long_ihl).is_err(), "a 60-byte header in 32 bytes");
    }
}
