//! The frames a probe sends and reads, as representations parsed from and emitted into bytes:
//! Ethernet II carrying ARP (RFC 826) for IPv4, or IPv6 carrying an ICMPv6 neighbour
//! solicitation or advertisement (RFC 4861 §4.3, §4.4) for IPv6.
//!
//! [`Frame::parse`] reads untrusted bytes and never panics: every length is checked before it
//! is used, and a frame that fails a check is an [`FrameError`] naming the check. [`Frame::emit`]
//! writes into a buffer of exactly [`Frame::buffer_len`] bytes and computes the ICMPv6
//! checksum. Built with `--cfg fuzzing`, received checksums are not verified.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

const ETHERNET_LEN: usize = 14;
const ARP_LEN: usize = 28;
const IPV6_LEN: usize = 40;
/// ICMPv6 type, code, checksum, flags or reserved, and the target: both NS and NA.
const ND_LEN: usize = 24;
const ICMPV6: u8 = 58;
const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
const OPTION_SOURCE_LLADDR: u8 = 1;
const OPTION_TARGET_LLADDR: u8 = 2;

pub use bm_addr::{MacAddr, MacParseError};

/// The solicited-node multicast group of `address` (RFC 4291 §2.7.1): `ff02::1:ff00:0/104`
/// and its last three bytes.
pub const fn solicited_node(address: Ipv6Addr) -> Ipv6Addr {
    let o = address.octets();
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | o[13] as u16, (o[14] as u16) << 8 | o[15] as u16)
}

/// Why bytes are not a frame the probes read. Frames that fail are ignored.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Shorter than its headers (or than its IPv6 payload length says).
    #[error("{len} bytes where {needed} are needed")]
    Truncated {
        /// Bytes there are.
        len: usize,
        /// Bytes the headers need.
        needed: usize,
    },
    /// Neither ARP nor IPv6 (a VLAN tag included: the kernel strips those before packet
    /// sockets see the frame).
    #[error("EtherType {0:#06x} is neither ARP nor IPv6")]
    EtherType(u16),
    /// ARP for other than Ethernet and IPv4 (hardware type 1, protocol 0x0800, lengths 6, 4).
    #[error("ARP for hardware type {hardware}, protocol {protocol:#06x}, lengths {hardware_len}/{protocol_len}")]
    ArpFormat {
        /// Hardware type.
        hardware: u16,
        /// Protocol type.
        protocol: u16,
        /// Hardware address length.
        hardware_len: u8,
        /// Protocol address length.
        protocol_len: u8,
    },
    /// An ARP operation other than request (1) and reply (2).
    #[error("ARP operation {0}")]
    ArpOperation(u16),
    /// The IPv6 header's version field is not 6.
    #[error("IP version {0} in an IPv6 frame")]
    IpVersion(u8),
    /// Not ICMPv6 directly after the IPv6 header (neighbour discovery carries no extension
    /// headers).
    #[error("IPv6 next header {0}, not ICMPv6")]
    NextHeader(u8),
    /// ICMPv6 but neither a neighbour solicitation nor an advertisement.
    #[error("ICMPv6 type {0} is no neighbour solicitation or advertisement")]
    IcmpType(u8),
    /// Neighbour discovery with a hop limit below 255: it crossed a router (RFC 4861 §7.1).
    #[error("neighbour discovery with hop limit {0}, not 255")]
    HopLimit(u8),
    /// Neighbour discovery with an ICMPv6 code other than 0.
    #[error("neighbour discovery with ICMPv6 code {0}")]
    IcmpCode(u8),
    /// The ICMPv6 checksum does not match.
    #[error("ICMPv6 checksum {found:#06x}, expected {expected:#06x}")]
    Checksum {
        /// In the frame.
        found: u16,
        /// Computed.
        expected: u16,
    },
    /// A neighbour discovery option of length 0 or past the end (RFC 4861 §4.6).
    #[error("neighbour discovery option at byte {offset} has a bad length")]
    OptionLength {
        /// Offset of the option in the ICMPv6 message.
        offset: usize,
    },
    /// A rule of RFC 4861 §7.1 broken: a multicast target, a source link-layer address option
    /// from `::`, a solicited advertisement to a multicast group.
    #[error("neighbour discovery message breaks RFC 4861 §7.1: {0}")]
    Invalid(&'static str),
}

/// An ARP operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArpOperation {
    /// 1.
    Request,
    /// 2.
    Reply,
}

/// An ARP packet for Ethernet and IPv4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender hardware address.
    pub sender_mac: MacAddr,
    /// Sender protocol address (0.0.0.0 in a probe).
    pub sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub target_mac: MacAddr,
    /// Target protocol address.
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    /// An RFC 5227 probe for `address` from `mac`: a request with sender IP 0.0.0.0 and target
    /// hardware address zero.
    pub const fn probe(mac: MacAddr, address: Ipv4Addr) -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            sender_mac: mac,
            sender_ip: Ipv4Addr::UNSPECIFIED,
            target_mac: MacAddr::ZERO,
            target_ip: address,
        }
    }
}

/// A neighbour discovery message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NdMessage {
    /// Neighbour solicitation (135).
    Solicitation {
        /// The address asked about.
        target: Ipv6Addr,
        /// The source link-layer address option.
        source_mac: Option<MacAddr>,
    },
    /// Neighbour advertisement (136).
    Advertisement {
        /// Router flag.
        router: bool,
        /// Solicited flag.
        solicited: bool,
        /// Override flag.
        override_: bool,
        /// The address advertised.
        target: Ipv6Addr,
        /// The target link-layer address option.
        target_mac: Option<MacAddr>,
    },
}

/// An IPv6 packet carrying a neighbour discovery message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NdRepr {
    /// IPv6 source (`::` during duplicate address detection).
    pub source: Ipv6Addr,
    /// IPv6 destination.
    pub destination: Ipv6Addr,
    /// IPv6 hop limit (255 for neighbour discovery).
    pub hop_limit: u8,
    /// The message.
    pub message: NdMessage,
}

impl NdRepr {
    /// A DAD-style probe for `address` (RFC 4862 §5.4.2): a solicitation from `::` to the
    /// address's solicited-node group, hop limit 255, no source link-layer address option.
    pub const fn probe(address: Ipv6Addr) -> NdRepr {
        NdRepr {
            source: Ipv6Addr::UNSPECIFIED,
            destination: solicited_node(address),
            hop_limit: 255,
            message: NdMessage::Solicitation { target: address, source_mac: None },
        }
    }

    fn icmp_len(&self) -> usize {
        let has_option = match self.message {
            NdMessage::Solicitation { source_mac, .. } => source_mac.is_some(),
            NdMessage::Advertisement { target_mac, .. } => target_mac.is_some(),
        };
        ND_LEN + if has_option { 8 } else { 0 }
    }
}

/// What an Ethernet frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Payload {
    /// ARP.
    Arp(ArpRepr),
    /// IPv6 neighbour discovery.
    Nd(NdRepr),
}

/// An Ethernet II frame with the payloads the probes know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Ethernet destination.
    pub destination: MacAddr,
    /// Ethernet source.
    pub source: MacAddr,
    /// What it carries; the EtherType follows from it.
    pub payload: Payload,
}

fn mac_at(b: &[u8], at: usize) -> MacAddr {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    MacAddr(m)
}

fn ipv6_at(b: &[u8], at: usize) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[at..at + 16]);
    Ipv6Addr::from(a)
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The ICMPv6 checksum (RFC 4443 §2.3, RFC 1071) of `message` between `source` and
/// `destination`, the checksum field counted as it is.
fn icmpv6_checksum(source: Ipv6Addr, destination: Ipv6Addr, message: &[u8]) -> u16 {
    fn add(sum: &mut u32, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(2);
        for c in &mut chunks {
            *sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            *sum += u32::from(*last) << 8;
        }
    }
    let mut sum = 0u32;
    add(&mut sum, &source.octets());
    add(&mut sum, &destination.octets());
    add(&mut sum, &(message.len() as u32).to_be_bytes());
    add(&mut sum, &[0, 0, 0, ICMPV6]);
    add(&mut sum, message);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Frame {
    /// Parses an Ethernet frame (padding after the payload allowed).
    pub fn parse(bytes: &[u8]) -> Result<Frame, FrameError> {
        let need = |needed: usize| {
            if bytes.len() < needed { Err(FrameError::Truncated { len: bytes.len(), needed }) } else { Ok(()) }
        };
        need(ETHERNET_LEN)?;
        let destination = mac_at(bytes, 0);
        let source = mac_at(bytes, 6);
        let payload = match be16(bytes, 12) {
            ETHERTYPE_ARP => {
                need(ETHERNET_LEN + ARP_LEN)?;
                Payload::Arp(parse_arp(&bytes[ETHERNET_LEN..])?)
            }
            ETHERTYPE_IPV6 => {
                need(ETHERNET_LEN + IPV6_LEN)?;
                let ip = &bytes[ETHERNET_LEN..];
                let payload_len = usize::from(be16(ip, 4));
                need(ETHERNET_LEN + IPV6_LEN + payload_len)?;
                Payload::Nd(parse_nd(&ip[..IPV6_LEN + payload_len])?)
            }
            other => return Err(FrameError::EtherType(other)),
        };
        Ok(Frame { destination, source, payload })
    }

    /// The bytes [`Frame::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        ETHERNET_LEN
            + match &self.payload {
                Payload::Arp(_) => ARP_LEN,
                Payload::Nd(nd) => IPV6_LEN + nd.icmp_len(),
            }
    }

    /// Writes the frame into `buf`, whose first [`Frame::buffer_len`] bytes it overwrites,
    /// ICMPv6 checksum included; `None` (nothing written) when `buf` is shorter.
    pub fn emit(&self, buf: &mut [u8]) -> Option<()> {
        let buf = buf.get_mut(..self.buffer_len())?;
        buf[0..6].copy_from_slice(&self.destination.0);
        buf[6..12].copy_from_slice(&self.source.0);
        match &self.payload {
            Payload::Arp(arp) => {
                buf[12..14].copy_from_slice(&ETHERTYPE_ARP.to_be_bytes());
                let a = &mut buf[ETHERNET_LEN..];
                a[0..2].copy_from_slice(&1u16.to_be_bytes());
                a[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
                a[4] = 6;
                a[5] = 4;
                let op: u16 = match arp.operation {
                    ArpOperation::Request => 1,
                    ArpOperation::Reply => 2,
                };
                a[6..8].copy_from_slice(&op.to_be_bytes());
                a[8..14].copy_from_slice(&arp.sender_mac.0);
                a[14..18].copy_from_slice(&arp.sender_ip.octets());
                a[18..24].copy_from_slice(&arp.target_mac.0);
                a[24..28].copy_from_slice(&arp.target_ip.octets());
            }
            Payload::Nd(nd) => {
                buf[12..14].copy_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
                let ip = &mut buf[ETHERNET_LEN..];
                let icmp_len = nd.icmp_len();
                ip[0..4].copy_from_slice(&[0x60, 0, 0, 0]);
                ip[4..6].copy_from_slice(&(icmp_len as u16).to_be_bytes());
                ip[6] = ICMPV6;
                ip[7] = nd.hop_limit;
                ip[8..24].copy_from_slice(&nd.source.octets());
                ip[24..40].copy_from_slice(&nd.destination.octets());
                let m = &mut ip[IPV6_LEN..];
                m[1] = 0; // code
                m[2..4].fill(0);
                m[4..8].fill(0);
                let (target, option) = match nd.message {
                    NdMessage::Solicitation { target, source_mac } => {
                        m[0] = NEIGHBOR_SOLICITATION;
                        (target, source_mac.map(|mac| (OPTION_SOURCE_LLADDR, mac)))
                    }
                    NdMessage::Advertisement { router, solicited, override_, target, target_mac } => {
                        m[0] = NEIGHBOR_ADVERTISEMENT;
                        m[4] = u8::from(router) << 7 | u8::from(solicited) << 6 | u8::from(override_) << 5;
                        (target, target_mac.map(|mac| (OPTION_TARGET_LLADDR, mac)))
                    }
                };
                m[8..24].copy_from_slice(&target.octets());
                if let Some((kind, mac)) = option {
                    m[24] = kind;
                    m[25] = 1;
                    m[26..32].copy_from_slice(&mac.0);
                }
                let sum = icmpv6_checksum(nd.source, nd.destination, &m[..icmp_len]);
                m[2..4].copy_from_slice(&sum.to_be_bytes());
            }
        }
        Some(())
    }

    /// The frame as a new vector of [`Frame::buffer_len`] bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.buffer_len()];
        // The vector is exactly as long as emit needs.
        let _ = self.emit(&mut v);
        v
    }
}

/// `a`: at least [`ARP_LEN`] bytes.
fn parse_arp(a: &[u8]) -> Result<ArpRepr, FrameError> {
    let (hardware, protocol, hardware_len, protocol_len) = (be16(a, 0), be16(a, 2), a[4], a[5]);
    if (hardware, protocol, hardware_len, protocol_len) != (1, 0x0800, 6, 4) {
        return Err(FrameError::ArpFormat { hardware, protocol, hardware_len, protocol_len });
    }
    let operation = match be16(a, 6) {
        1 => ArpOperation::Request,
        2 => ArpOperation::Reply,
        other => return Err(FrameError::ArpOperation(other)),
    };
    let ip = |at: usize| Ipv4Addr::new(a[at], a[at + 1], a[at + 2], a[at + 3]);
    Ok(ArpRepr { operation, sender_mac: mac_at(a, 8), sender_ip: ip(14), target_mac: mac_at(a, 18), target_ip: ip(24) })
}

/// `ip`: the IPv6 header and exactly its payload.
fn parse_nd(ip: &[u8]) -> Result<NdRepr, FrameError> {
    let version = ip[0] >> 4;
    if version != 6 {
        return Err(FrameError::IpVersion(version));
    }
    if ip[6] != ICMPV6 {
        return Err(FrameError::NextHeader(ip[6]));
    }
    let (hop_limit, source, destination) = (ip[7], ipv6_at(ip, 8), ipv6_at(ip, 24));
    let m = &ip[IPV6_LEN..];
    let Some(&kind) = m.first() else {
        return Err(FrameError::Truncated { len: ETHERNET_LEN + ip.len(), needed: ETHERNET_LEN + IPV6_LEN + 1 });
    };
    if kind != NEIGHBOR_SOLICITATION && kind != NEIGHBOR_ADVERTISEMENT {
        return Err(FrameError::IcmpType(kind));
    }
    if m.len() < ND_LEN {
        return Err(FrameError::Truncated { len: ETHERNET_LEN + ip.len(), needed: ETHERNET_LEN + IPV6_LEN + ND_LEN });
    }
    if hop_limit != 255 {
        return Err(FrameError::HopLimit(hop_limit));
    }
    if m[1] != 0 {
        return Err(FrameError::IcmpCode(m[1]));
    }
    let found = be16(m, 2);
    let mut zeroed = m.to_vec();
    zeroed[2..4].fill(0);
    let expected = icmpv6_checksum(source, destination, &zeroed);
    if found != expected && !cfg!(fuzzing) {
        return Err(FrameError::Checksum { found, expected });
    }
    let target = ipv6_at(m, 8);
    if target.is_multicast() {
        return Err(FrameError::Invalid("multicast target"));
    }
    // Options: type, length in units of 8 bytes (never 0), value.
    let (mut source_lladdr, mut target_lladdr) = (None, None);
    let mut at = ND_LEN;
    while at < m.len() {
        let units = m.get(at + 1).copied().unwrap_or(0);
        let len = usize::from(units) * 8;
        if len == 0 || at + len > m.len() {
            return Err(FrameError::OptionLength { offset: at });
        }
        // Ethernet addresses take one unit; other link layers' are not ours to read.
        if len == 8 {
            match m[at] {
                OPTION_SOURCE_LLADDR => source_lladdr = Some(mac_at(m, at + 2)),
                OPTION_TARGET_LLADDR => target_lladdr = Some(mac_at(m, at + 2)),
                _ => {}
            }
        }
        at += len;
    }
    let message = if kind == NEIGHBOR_SOLICITATION {
        if source.is_unspecified() && source_lladdr.is_some() {
            return Err(FrameError::Invalid("source link-layer address option from ::"));
        }
        NdMessage::Solicitation { target, source_mac: source_lladdr }
    } else {
        let flags = m[4];
        let solicited = flags & 0x40 != 0;
        if solicited && destination.is_multicast() {
            return Err(FrameError::Invalid("solicited advertisement to a multicast group"));
        }
        NdMessage::Advertisement {
            router: flags & 0x80 != 0,
            solicited,
            override_: flags & 0x20 != 0,
            target,
            target_mac: target_lladdr,
        }
    };
    Ok(NdRepr { source, destination, hop_limit, message })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x01]);

    /// RFC 5227 §2.1.1 and RFC 826, by hand: 02:00:00:00:00:01 probing 192.168.111.5.
    static ARP_PROBE: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
        0x08, 0x06, // ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, // Ethernet, IPv4, 6, 4
        0x00, 0x01, // request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, // sender: our MAC, 0.0.0.0
        0, 0, 0, 0, 0, 0, 192, 168, 111, 5, // target: zero, the address
    ];

    /// RFC 4861 §4.3 and RFC 4862 §5.4.2, by hand: a DAD solicitation for 2001:db8::1:2:3.
    /// Checksum computed by hand over the pseudo-header (see the test below).
    static NS_PROBE: [u8; 78] = [
        0x33, 0x33, 0xff, 0x02, 0x00, 0x03, // destination: 33:33 + solicited-node group
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source
        0x86, 0xdd, // IPv6
        0x60, 0, 0, 0, 0, 24, 58, 255, // version, payload length 24, ICMPv6, hop limit 255
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // source ::
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x02, 0x00, 0x03, // ff02::1:ff02:3
        135, 0, 0x4c, 0xe4, 0, 0, 0, 0, // NS, code, checksum, reserved
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0x02, 0, 0x03, // target
    ];

    #[test]
    fn arp_probe_byte_for_byte() {
        let f = Frame {
            destination: MacAddr::BROADCAST,
            source: MAC,
            payload: Payload::Arp(ArpRepr::probe(MAC, Ipv4Addr::new(192, 168, 111, 5))),
        };
        // Into a junk-filled buffer longer than needed: only buffer_len bytes change.
        let mut buf = [0xa5u8; 50];
        f.emit(&mut buf).unwrap();
        assert_eq!(buf[..42], ARP_PROBE);
        assert_eq!(buf[42..], [0xa5; 8]);
        assert_eq!(Frame::parse(&ARP_PROBE).unwrap(), f);
        assert_eq!(f.emit(&mut [0; 41]), None);
    }

    #[test]
    fn ns_probe_byte_for_byte() {
        let target: Ipv6Addr = "2001:db8::1:2:3".parse().unwrap();
        assert_eq!(solicited_node(target), "ff02::1:ff02:3".parse::<Ipv6Addr>().unwrap());
        let f = Frame {
            destination: MacAddr::ipv6_multicast(solicited_node(target)),
            source: MAC,
            payload: Payload::Nd(NdRepr::probe(target)),
        };
        let mut buf = [0xa5u8; 78];
        f.emit(&mut buf).unwrap();
        assert_eq!(buf, NS_PROBE);
        assert_eq!(Frame::parse(&NS_PROBE).unwrap(), f);
    }

    /// The checksum in [`NS_PROBE`], summed by hand: the pseudo-header's source is zero, its
    /// destination ff02::1:ff02:3, length 24, next header 58; the message NS and the target.
    #[test]
    fn ns_checksum_by_hand() {
        let words: u32 = 0xff02 + 0x0001 + 0xff02 + 0x0003 // destination
            + 24 + 58 // length, next header
            + 0x8700 // type 135, code 0
            + 0x2001 + 0x0db8 + 0x0001 + 0x0002 + 0x0003; // target
        let folded = (words & 0xffff) + (words >> 16);
        assert_eq!(!(folded as u16), 0x4ce4);
    }

    /// Recomputes the ICMPv6 checksum of an emitted frame after a test changed it.
    fn refill_checksum(frame: &mut [u8]) {
        let ip = &mut frame[14..];
        let (source, destination) = (ipv6_at(ip, 8), ipv6_at(ip, 24));
        ip[42..44].fill(0);
        let sum = icmpv6_checksum(source, destination, &ip[40..]);
        ip[42..44].copy_from_slice(&sum.to_be_bytes());
    }

    #[test]
    fn advertisement_round_trip_and_checks() {
        let target: Ipv6Addr = "fd00::5".parse().unwrap();
        let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
        let na = Frame {
            destination: MacAddr::ipv6_multicast(all_nodes),
            source: MAC,
            payload: Payload::Nd(NdRepr {
                source: "fe80::1".parse().unwrap(),
                destination: all_nodes,
                hop_limit: 255,
                message: NdMessage::Advertisement {
                    router: true,
                    solicited: false,
                    override_: true,
                    target,
                    target_mac: Some(MAC),
                },
            }),
        };
        let mut bytes = na.to_vec();
        assert_eq!(bytes.len(), 14 + 40 + 32);
        assert_eq!(Frame::parse(&bytes).unwrap(), na);
        // Ethernet padding after the payload is fine.
        bytes.extend_from_slice(&[0; 10]);
        assert_eq!(Frame::parse(&bytes).unwrap(), na);
        bytes.truncate(86);

        let mut bad = bytes.clone();
        bad[14 + 7] = 64;
        assert_eq!(Frame::parse(&bad), Err(FrameError::HopLimit(64)));
        let mut bad = bytes.clone();
        bad[14 + 40 + 3] ^= 1;
        assert!(matches!(Frame::parse(&bad), Err(FrameError::Checksum { .. })));
        let mut bad = bytes.clone();
        bad[14 + 40 + 25] = 0; // option length 0
        refill_checksum(&mut bad);
        assert_eq!(Frame::parse(&bad), Err(FrameError::OptionLength { offset: 24 }));
        let mut bad = bytes.clone();
        bad[14 + 40 + 25] = 2; // an option past the end
        refill_checksum(&mut bad);
        assert_eq!(Frame::parse(&bad), Err(FrameError::OptionLength { offset: 24 }));
        let mut bad = bytes.clone();
        bad[14 + 40 + 1] = 1; // code 1
        refill_checksum(&mut bad);
        assert_eq!(Frame::parse(&bad), Err(FrameError::IcmpCode(1)));
        let mut bad = bytes.clone();
        bad[14 + 5] = 200; // payload length past the end
        assert!(matches!(Frame::parse(&bad), Err(FrameError::Truncated { .. })));
        let mut bad = bytes.clone();
        bad[14 + 6] = 17;
        assert_eq!(Frame::parse(&bad), Err(FrameError::NextHeader(17)));
        let mut bad = bytes;
        bad[12] = 0x08;
        bad[13] = 0x00;
        assert_eq!(Frame::parse(&bad), Err(FrameError::EtherType(0x0800)));
    }

    #[test]
    fn rfc4861_rules() {
        let target: Ipv6Addr = "fd00::5".parse().unwrap();
        // A DAD solicitation carrying a source link-layer address option.
        let mut nd = NdRepr::probe(target);
        nd.message = NdMessage::Solicitation { target, source_mac: Some(MAC) };
        let f = Frame { destination: MacAddr::BROADCAST, source: MAC, payload: Payload::Nd(nd) };
        assert!(matches!(Frame::parse(&f.to_vec()), Err(FrameError::Invalid(_))));
        // A solicited advertisement to a group.
        let nd = NdRepr {
            source: target,
            destination: "ff02::1".parse().unwrap(),
            hop_limit: 255,
            message: NdMessage::Advertisement {
                router: false,
                solicited: true,
                override_: false,
                target,
                target_mac: None,
            },
        };
        let f = Frame { destination: MacAddr::BROADCAST, source: MAC, payload: Payload::Nd(nd) };
        assert!(matches!(Frame::parse(&f.to_vec()), Err(FrameError::Invalid(_))));
    }

    #[test]
    fn arp_checks() {
        let mut bad = ARP_PROBE;
        bad[21] = 3;
        assert_eq!(Frame::parse(&bad), Err(FrameError::ArpOperation(3)));
        let mut bad = ARP_PROBE;
        bad[18] = 8;
        assert!(matches!(Frame::parse(&bad), Err(FrameError::ArpFormat { hardware_len: 8, .. })));
        assert_eq!(Frame::parse(&ARP_PROBE[..41]), Err(FrameError::Truncated { len: 41, needed: 42 }));
        assert_eq!(Frame::parse(&[]), Err(FrameError::Truncated { len: 0, needed: 14 }));
    }

    fn any_frame() -> impl Strategy<Value = Frame> {
        let mac = any::<[u8; 6]>().prop_map(MacAddr);
        let v6 = any::<u128>().prop_map(Ipv6Addr::from);
        let unicast_v6 = any::<u128>().prop_map(|a| Ipv6Addr::from(a & !(0xffu128 << 120)));
        let arp =
            (any::<bool>(), mac.clone(), any::<u32>(), mac.clone(), any::<u32>()).prop_map(|(r, sm, si, tm, ti)| {
                Payload::Arp(ArpRepr {
                    operation: if r { ArpOperation::Reply } else { ArpOperation::Request },
                    sender_mac: sm,
                    sender_ip: si.into(),
                    target_mac: tm,
                    target_ip: ti.into(),
                })
            });
        let ns = (unicast_v6.clone(), v6.clone(), unicast_v6.clone(), proptest::option::of(mac.clone())).prop_map(
            |(source, destination, target, source_mac)| {
                // From ::, no source link-layer address option (RFC 4861 §7.1.1).
                let source_mac = if source.is_unspecified() { None } else { source_mac };
                Payload::Nd(NdRepr {
                    source,
                    destination,
                    hop_limit: 255,
                    message: NdMessage::Solicitation { target, source_mac },
                })
            },
        );
        let na = (unicast_v6.clone(), unicast_v6, any::<[bool; 2]>(), proptest::option::of(mac.clone())).prop_map(
            |(source, target, [router, override_], target_mac)| {
                // To all nodes, so not solicited (RFC 4861 §7.1.2).
                Payload::Nd(NdRepr {
                    source,
                    destination: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
                    hop_limit: 255,
                    message: NdMessage::Advertisement { router, solicited: false, override_, target, target_mac },
                })
            },
        );
        (mac.clone(), mac, prop_oneof![arp, ns, na]).prop_map(|(destination, source, payload)| Frame {
            destination,
            source,
            payload,
        })
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Frame::parse(&bytes);
        }

        #[test]
        fn emitted_frames_parse_back(f in any_frame()) {
            let bytes = f.to_vec();
            prop_assert_eq!(bytes.len(), f.buffer_len());
            prop_assert_eq!(Frame::parse(&bytes), Ok(f));
        }

        /// Parsing emitted frames with one byte changed never panics either.
        #[test]
        fn mutated_frames_never_panic(f in any_frame(), at in any::<usize>(), byte in any::<u8>()) {
            let mut bytes = f.to_vec();
            let i = at % bytes.len();
            bytes[i] = byte;
            let _ = Frame::parse(&bytes);
        }
    }
}
