//! Announcing VIPs after a takeover: gratuitous ARP requests as whole Ethernet frames over an
//! `AF_PACKET` socket (IPv4), and unsolicited neighbour advertisements over an ICMPv6 raw socket
//! with hop limit 255 to ff02::1 (IPv6), as keepalived sends them.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;

use bm_sys::raw;
use socket2::{Domain, Protocol, Socket, Type};

/// Length of a gratuitous ARP frame (Ethernet header and ARP body, no padding).
pub const GARP_FRAME_LEN: usize = 42;
/// Length of an unsolicited neighbour advertisement with its target link-layer address option.
pub const NA_MESSAGE_LEN: usize = 32;

/// The gratuitous ARP keepalived sends for `vip` from `mac`: an ARP request broadcast, sender
/// and target protocol address both the VIP, target hardware address broadcast.
pub fn garp_frame(mac: [u8; 6], vip: Ipv4Addr) -> [u8; GARP_FRAME_LEN] {
    let mut f = [0u8; GARP_FRAME_LEN];
    f[0..6].copy_from_slice(&[0xff; 6]); // destination: broadcast
    f[6..12].copy_from_slice(&mac);
    f[12..14].copy_from_slice(&0x0806u16.to_be_bytes()); // ARP
    f[14..16].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    f[16..18].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    f[18] = 6;
    f[19] = 4;
    f[20..22].copy_from_slice(&1u16.to_be_bytes()); // request
    f[22..28].copy_from_slice(&mac);
    f[28..32].copy_from_slice(&vip.octets());
    f[32..38].copy_from_slice(&[0xff; 6]);
    f[38..42].copy_from_slice(&vip.octets());
    f
}

/// The unsolicited neighbour advertisement (RFC 4861 §4.4, §7.2.6) for `vip` from `mac`:
/// Override set, Solicited clear, Router as `router`, and a target link-layer address option.
/// The checksum is left zero: the kernel computes it for ICMPv6 raw sockets (RFC 3542 §3.1).
pub fn na_message(mac: [u8; 6], vip: Ipv6Addr, router: bool) -> [u8; NA_MESSAGE_LEN] {
    let mut m = [0u8; NA_MESSAGE_LEN];
    m[0] = 136; // neighbour advertisement
    m[4] = 0x20 | if router { 0x80 } else { 0 };
    m[8..24].copy_from_slice(&vip.octets());
    m[24] = 2; // target link-layer address
    m[25] = 1; // 8 bytes
    m[26..32].copy_from_slice(&mac);
    m
}

/// The sockets that announce VIPs on one interface.
pub(crate) struct Announcer {
    ifindex: u32,
    mac: [u8; 6],
    router: bool,
    packet: Option<Socket>,
    icmpv6: Option<Socket>,
}

impl Announcer {
    /// Opens what the families in use need; `router` sets the NA's Router flag (forwarding on).
    pub(crate) fn open(
        interface: &str,
        ifindex: u32,
        mac: [u8; 6],
        ipv4: bool,
        ipv6: bool,
        router: bool,
    ) -> io::Result<Announcer> {
        let packet = if ipv4 {
            // Protocol 0: send only, nothing is ever queued for reading.
            let s = Socket::new(Domain::PACKET, Type::RAW, None)?;
            s.set_nonblocking(true)?;
            Some(s)
        } else {
            None
        };
        let icmpv6 = if ipv6 {
            let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
            s.bind_device(Some(interface.as_bytes()))?;
            s.set_multicast_if_v6(ifindex)?;
            s.set_multicast_hops_v6(255)?;
            s.set_multicast_loop_v6(false)?;
            s.set_nonblocking(true)?;
            raw::block_all_icmpv6(s.as_fd())?;
            Some(s)
        } else {
            None
        };
        Ok(Announcer { ifindex, mac, router, packet, icmpv6 })
    }

    /// One GARP or NA for `vip`.
    pub(crate) fn announce(&self, vip: IpAddr) -> io::Result<()> {
        match vip {
            IpAddr::V4(v4) => {
                let s = self.packet.as_ref().ok_or_else(|| io::Error::other("no packet socket for IPv4"))?;
                raw::send_frame(s.as_fd(), self.ifindex, &garp_frame(self.mac, v4))
            }
            IpAddr::V6(v6) => {
                let s = self.icmpv6.as_ref().ok_or_else(|| io::Error::other("no ICMPv6 socket for IPv6"))?;
                let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
                let to = std::net::SocketAddrV6::new(all_nodes, 0, 0, self.ifindex);
                s.send_to(&na_message(self.mac, v6, self.router), &to.into()).map(drop)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Derived by hand from RFC 826 and RFC 5227 §3 (ARP Announcement): 02:00:00:00:00:01
    /// announcing 192.168.111.5.
    #[test]
    fn garp_byte_for_byte() {
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
            0x08, 0x06, // ethertype ARP
            0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet, IPv4, 6, 4
            0x00, 0x01, // request
            0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 192, 168, 111, 5, // sender
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 168, 111, 5, // target
        ];
        assert_eq!(garp_frame([2, 0, 0, 0, 0, 1], Ipv4Addr::new(192, 168, 111, 5)), expected);
    }

    /// Derived by hand from RFC 4861 §4.4 and §4.6.1: 02:00:00:00:00:01 announcing fd00::5,
    /// Override set, then with Router set as well.
    #[test]
    fn na_byte_for_byte() {
        let mut expected: [u8; 32] = [
            136, 0, 0x00, 0x00, // type, code, checksum (kernel)
            0x20, 0, 0, 0, // R=0 S=0 O=1
            0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, // target
            2, 1, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // TLLA option
        ];
        let vip: Ipv6Addr = "fd00::5".parse().expect("address");
        assert_eq!(na_message([2, 0, 0, 0, 0, 1], vip, false), expected);
        expected[4] = 0xa0;
        assert_eq!(na_message([2, 0, 0, 0, 0, 1], vip, true), expected);
    }
}
