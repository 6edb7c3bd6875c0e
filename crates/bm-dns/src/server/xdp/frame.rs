//! Ethernet frames carrying DNS over UDP, read and answered in place: the typed view the AF_XDP
//! path needs instead of the kernel's UDP socket. A query frame is checked the way the kernel
//! would before delivering it (lengths, IPv4 header checksum), and its answer is written into
//! the same buffer with the addresses and ports swapped and fresh checksums.
//!
//! The UDP checksum of a query is not verified: a frame sent by this host's own stack (veth,
//! loopback) carries only the pseudo-header part of it (checksum offload), and a NIC that
//! delivered the frame has checked it when it can.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

/// The Ethernet header's length (no VLAN tag).
pub const ETHERNET_HEADER: usize = 14;
const ETH_LEN: usize = ETHERNET_HEADER;
const IPV4_LEN: usize = 20;
const IPV6_LEN: usize = 40;
const UDP_LEN: usize = 8;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const PROTO_UDP: u8 = 17;
/// The hop limit of answers, Linux's default.
const HOP_LIMIT: u8 = 64;

/// Why a frame is not a UDP datagram this path answers; `at` is a byte offset in the frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The frame ends before the header that starts at `at`.
    #[error("frame ends at byte {len}, inside the header at byte {at}")]
    Truncated {
        /// Where the header starts.
        at: usize,
        /// The frame's length.
        len: usize,
    },
    /// Not IPv4 or IPv6 (the EtherType at byte 12).
    #[error("EtherType {0:#06x} at byte 12 is not IPv4 or IPv6")]
    NotIp(u16),
    /// IPv4 with options, a fragment, another protocol, or an IPv6 extension header.
    #[error("byte {at}: {what}")]
    Unsupported {
        /// The field's offset.
        at: usize,
        /// What it says.
        what: &'static str,
    },
    /// A length field disagrees with the frame.
    #[error("byte {at}: length {claimed} does not fit the {len}-byte frame")]
    BadLength {
        /// The length field's offset.
        at: usize,
        /// What it says.
        claimed: usize,
        /// The frame's length.
        len: usize,
    },
    /// The IPv4 header checksum (byte 24) is wrong.
    #[error("byte 24: IPv4 header checksum is wrong")]
    BadChecksum,
}

/// A UDP datagram found in a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// The sender.
    pub source: SocketAddr,
    /// Where it was sent.
    pub destination: SocketAddr,
    /// The UDP payload's bytes in the frame.
    pub payload: Range<usize>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn need(frame: &[u8], at: usize, len: usize) -> Result<(), FrameError> {
    if frame.len() < at + len { Err(FrameError::Truncated { at, len: frame.len() }) } else { Ok(()) }
}

/// Reads the UDP datagram in an Ethernet frame (no VLAN tag). Bytes after the IP packet's
/// length (Ethernet padding) are ignored.
pub fn parse(frame: &[u8]) -> Result<Datagram, FrameError> {
    need(frame, 0, ETH_LEN)?;
    let (source, destination, udp, ip_end) = match be16(frame, 12) {
        ETHERTYPE_IPV4 => {
            let ip = ETH_LEN;
            need(frame, ip, IPV4_LEN)?;
            if frame[ip] != 0x45 {
                let what = if frame[ip] >> 4 != 4 { "not IP version 4" } else { "IPv4 options" };
                return Err(FrameError::Unsupported { at: ip, what });
            }
            if be16(frame, ip + 6) & 0x3fff != 0 {
                return Err(FrameError::Unsupported { at: ip + 6, what: "an IPv4 fragment" });
            }
            if frame[ip + 9] != PROTO_UDP {
                return Err(FrameError::Unsupported { at: ip + 9, what: "not UDP" });
            }
            let total = usize::from(be16(frame, ip + 2));
            if total < IPV4_LEN + UDP_LEN || ip + total > frame.len() {
                return Err(FrameError::BadLength { at: ip + 2, claimed: total, len: frame.len() });
            }
            if checksum(0, &frame[ip..ip + IPV4_LEN]) != 0 {
                return Err(FrameError::BadChecksum);
            }
            let src = Ipv4Addr::from([frame[ip + 12], frame[ip + 13], frame[ip + 14], frame[ip + 15]]);
            let dst = Ipv4Addr::from([frame[ip + 16], frame[ip + 17], frame[ip + 18], frame[ip + 19]]);
            (IpAddr::V4(src), IpAddr::V4(dst), ip + IPV4_LEN, ip + total)
        }
        ETHERTYPE_IPV6 => {
            let ip = ETH_LEN;
            need(frame, ip, IPV6_LEN)?;
            if frame[ip] >> 4 != 6 {
                return Err(FrameError::Unsupported { at: ip, what: "not IP version 6" });
            }
            if frame[ip + 6] != PROTO_UDP {
                return Err(FrameError::Unsupported { at: ip + 6, what: "not UDP (or an extension header)" });
            }
            let payload = usize::from(be16(frame, ip + 4));
            if payload < UDP_LEN || ip + IPV6_LEN + payload > frame.len() {
                return Err(FrameError::BadLength { at: ip + 4, claimed: payload, len: frame.len() });
            }
            let octets = |at: usize| -> [u8; 16] { frame[at..at + 16].try_into().expect("16 bytes") };
            let (src, dst) = (Ipv6Addr::from(octets(ip + 8)), Ipv6Addr::from(octets(ip + 24)));
            (IpAddr::V6(src), IpAddr::V6(dst), ip + IPV6_LEN, ip + IPV6_LEN + payload)
        }
        other => return Err(FrameError::NotIp(other)),
    };
    need(frame, udp, UDP_LEN)?;
    let udp_len = usize::from(be16(frame, udp + 4));
    if udp_len < UDP_LEN || udp + udp_len > ip_end {
        return Err(FrameError::BadLength { at: udp + 4, claimed: udp_len, len: frame.len() });
    }
    if source.is_ipv6() && be16(frame, udp + 6) == 0 {
        // RFC 8200 §8.1: an IPv6 receiver discards UDP without a checksum.
        return Err(FrameError::Unsupported { at: udp + 6, what: "IPv6 UDP without a checksum" });
    }
    // An answer swaps the addresses: both ends must be one host, not a group or nobody.
    if frame[0] & 1 != 0 || frame[6] & 1 != 0 {
        let at = if frame[0] & 1 != 0 { 0 } else { 6 };
        return Err(FrameError::Unsupported { at, what: "a group MAC address" });
    }
    let (src_at, dst_at) = if source.is_ipv4() { (ETH_LEN + 12, ETH_LEN + 16) } else { (ETH_LEN + 8, ETH_LEN + 24) };
    if !one_host(source) {
        return Err(FrameError::Unsupported { at: src_at, what: "a source address that is not one host" });
    }
    if !one_host(destination) {
        return Err(FrameError::Unsupported { at: dst_at, what: "a destination address that is not one host" });
    }
    Ok(Datagram {
        source: SocketAddr::new(source, be16(frame, udp)),
        destination: SocketAddr::new(destination, be16(frame, udp + 2)),
        payload: udp + UDP_LEN..udp + udp_len,
    })
}

/// Whether `ip` names one host: not multicast, broadcast or unspecified.
fn one_host(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => !(a.is_multicast() || a.is_broadcast() || a.is_unspecified()),
        IpAddr::V6(a) => !(a.is_multicast() || a.is_unspecified()),
    }
}

/// Where an answer's payload goes in the frame of the query `d` (the headers keep their sizes).
pub fn reply_payload_offset(d: &Datagram) -> usize {
    d.payload.start
}

/// Turns the query frame holding `d` into the frame of its answer, whose `len` payload bytes
/// the caller has already written at [`reply_payload_offset`]: MAC addresses, IP addresses and
/// ports swapped, lengths and checksums set. `ip_id` is the IPv4 identification to use. Returns
/// the answer frame's length.
///
/// # Panics
/// When the frame is shorter than the headers plus `len` (the caller checks the room first).
pub fn write_reply(frame: &mut [u8], d: &Datagram, len: usize, ip_id: u16) -> usize {
    let udp = d.payload.start - UDP_LEN;
    let end = d.payload.start + len;
    let (mac_dst, mac_src) = frame[..12].split_at_mut(6);
    mac_dst.swap_with_slice(mac_src);
    let udp_len = u16::try_from(UDP_LEN + len).expect("a UDP payload under 64 KiB");
    let pseudo = match (d.source.ip(), d.destination.ip()) {
        (IpAddr::V4(client), IpAddr::V4(server)) => {
            let ip = ETH_LEN;
            let total = udp_len + IPV4_LEN as u16;
            frame[ip..ip + 12].copy_from_slice(&[0x45, 0, 0, 0, 0, 0, 0x40, 0, HOP_LIMIT, PROTO_UDP, 0, 0]);
            frame[ip + 2..ip + 4].copy_from_slice(&total.to_be_bytes());
            frame[ip + 4..ip + 6].copy_from_slice(&ip_id.to_be_bytes());
            frame[ip + 12..ip + 16].copy_from_slice(&server.octets());
            frame[ip + 16..ip + 20].copy_from_slice(&client.octets());
            let sum = checksum(0, &frame[ip..ip + IPV4_LEN]);
            frame[ip + 10..ip + 12].copy_from_slice(&sum.to_be_bytes());
            ones_sum(0, &frame[ip + 12..ip + 20])
        }
        (IpAddr::V6(client), IpAddr::V6(server)) => {
            let ip = ETH_LEN;
            frame[ip..ip + 8].copy_from_slice(&[0x60, 0, 0, 0, 0, 0, PROTO_UDP, HOP_LIMIT]);
            frame[ip + 4..ip + 6].copy_from_slice(&udp_len.to_be_bytes());
            frame[ip + 8..ip + 24].copy_from_slice(&server.octets());
            frame[ip + 24..ip + 40].copy_from_slice(&client.octets());
            ones_sum(0, &frame[ip + 8..ip + 40])
        }
        _ => unreachable!("both addresses of one packet are of one family"),
    };
    frame[udp..udp + 2].copy_from_slice(&d.destination.port().to_be_bytes());
    frame[udp + 2..udp + 4].copy_from_slice(&d.source.port().to_be_bytes());
    frame[udp + 4..udp + 6].copy_from_slice(&udp_len.to_be_bytes());
    frame[udp + 6..udp + 8].copy_from_slice(&[0, 0]);
    // Pseudo-header: addresses (summed above), protocol, UDP length; then header and payload.
    let sum = checksum(u32::from(pseudo) + u32::from(PROTO_UDP) + u32::from(udp_len), &frame[udp..end]);
    // An all-zero UDP checksum means "none" (IPv4) or is invalid (IPv6): send its complement.
    let sum = match sum {
        0 => 0xffff,
        s => s,
    };
    frame[udp + 6..udp + 8].copy_from_slice(&sum.to_be_bytes());
    end
}

/// The Internet checksum (RFC 1071) of `bytes` with `initial` added: the complement of their
/// one's-complement sum. Over a header that carries a correct checksum it is 0.
fn checksum(initial: u32, bytes: &[u8]) -> u16 {
    !ones_sum(initial, bytes)
}

/// The one's-complement sum of `bytes` as big-endian 16-bit words, plus `initial`, folded.
fn ones_sum(initial: u32, bytes: &[u8]) -> u16 {
    let mut sum = u64::from(initial);
    let mut chunks = bytes.chunks_exact(2);
    for c in &mut chunks {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u64::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A frame as a host's stack would send it, with correct checksums (built independently of
    /// `write_reply`: field by field, checksums by a plain big-integer sum).
    fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        let udp_len = (8 + payload.len()) as u16;
        let mut pseudo = Vec::new();
        match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend([0x08, 0x00]);
                let mut ip = vec![0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0];
                ip[2..4].copy_from_slice(&(20 + udp_len).to_be_bytes());
                ip.extend(s.octets());
                ip.extend(d.octets());
                let c = reference_sum(&ip);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
                f.extend(ip);
                pseudo.extend(s.octets());
                pseudo.extend(d.octets());
                pseudo.extend([0, 17]);
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
                f.extend(udp_len.to_be_bytes());
                f.extend([17, 64]);
                f.extend(s.octets());
                f.extend(d.octets());
                pseudo.extend(s.octets());
                pseudo.extend(d.octets());
                pseudo.extend([0, 17]);
            }
            _ => unreachable!(),
        }
        let mut udp = Vec::new();
        udp.extend(src.port().to_be_bytes());
        udp.extend(dst.port().to_be_bytes());
        udp.extend(udp_len.to_be_bytes());
        udp.extend([0, 0]);
        udp.extend(payload);
        pseudo.extend(udp_len.to_be_bytes());
        pseudo.extend(&udp);
        let c = match reference_sum(&pseudo) {
            0 => 0xffff,
            c => c,
        };
        udp[6..8].copy_from_slice(&c.to_be_bytes());
        f.extend(udp);
        f
    }

    /// RFC 1071 by the book: sum 16-bit words as a big integer, fold, complement.
    fn reference_sum(bytes: &[u8]) -> u16 {
        let mut words: u128 = 0;
        for i in (0..bytes.len()).step_by(2) {
            let hi = u128::from(bytes[i]) << 8;
            let lo = bytes.get(i + 1).map_or(0, |&b| u128::from(b));
            words += hi | lo;
        }
        while words >> 16 != 0 {
            words = (words & 0xffff) + (words >> 16);
        }
        !(words as u16)
    }

    fn v4(a: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(a.into()), port)
    }

    #[test]
    fn reads_ipv4_and_ipv6_datagrams() {
        let f = frame(v4([10, 0, 0, 1], 40000), v4([10, 0, 0, 2], 53), b"query");
        let d = parse(&f).unwrap();
        assert_eq!((d.source, d.destination), (v4([10, 0, 0, 1], 40000), v4([10, 0, 0, 2], 53)));
        assert_eq!(&f[d.payload.clone()], b"query");
        let (s6, d6): (SocketAddr, SocketAddr) = ("[fd00::1]:40000".parse().unwrap(), "[fd00::2]:53".parse().unwrap());
        let f = frame(s6, d6, b"q6");
        let d = parse(&f).unwrap();
        assert_eq!((d.source, d.destination), (s6, d6));
        assert_eq!(&f[d.payload.clone()], b"q6");
    }

    #[test]
    fn refuses_what_the_kernel_should_handle_naming_the_byte() {
        let good = frame(v4([10, 0, 0, 1], 40000), v4([10, 0, 0, 2], 53), b"query");
        let mut f = good.clone();
        f[12] = 0x08;
        f[13] = 0x06;
        assert_eq!(parse(&f), Err(FrameError::NotIp(0x0806)));
        let mut f = good.clone();
        f[14] = 0x46;
        assert_eq!(parse(&f), Err(FrameError::Unsupported { at: 14, what: "IPv4 options" }));
        let mut f = good.clone();
        f[20] = 0x20; // More fragments.
        assert_eq!(parse(&f), Err(FrameError::Unsupported { at: 20, what: "an IPv4 fragment" }));
        let mut f = good.clone();
        f[24] ^= 1;
        assert_eq!(parse(&f), Err(FrameError::BadChecksum));
        assert_eq!(parse(&good[..30]), Err(FrameError::Truncated { at: 14, len: 30 }));
        // A UDP length past the IP packet.
        let mut f = good.clone();
        f[38] = 0x10;
        assert!(matches!(parse(&f), Err(FrameError::BadLength { at: 38, .. })));
        let mut f = good.clone();
        f[6] = 0x01; // A multicast source MAC.
        assert_eq!(parse(&f), Err(FrameError::Unsupported { at: 6, what: "a group MAC address" }));
        let f = frame(v4([224, 0, 0, 1], 40000), v4([10, 0, 0, 2], 53), b"query");
        assert!(matches!(parse(&f), Err(FrameError::Unsupported { at: 26, .. })));
        let f6 = frame("[fd00::1]:1".parse().unwrap(), "[fd00::2]:53".parse().unwrap(), b"q");
        let mut f = f6.clone();
        f[60..62].copy_from_slice(&[0, 0]);
        assert_eq!(parse(&f), Err(FrameError::Unsupported { at: 60, what: "IPv6 UDP without a checksum" }));
        // Ethernet padding after the packet is not payload.
        let mut f = good.clone();
        f.extend([0; 6]);
        assert_eq!(&f[parse(&f).unwrap().payload], b"query");
    }

    proptest! {
        /// An answer written in place parses back as the datagram from server to client, its
        /// IPv4 header checksum verifies, and its UDP checksum equals the reference sum of a
        /// frame built field by field.
        #[test]
        fn replies_are_the_frames_a_stack_would_send(
            v6 in any::<bool>(),
            a in any::<[u8; 16]>(),
            b in any::<[u8; 16]>(),
            cport in any::<u16>(),
            sport in any::<u16>(),
            query in proptest::collection::vec(any::<u8>(), 0..64),
            answer in proptest::collection::vec(any::<u8>(), 0..600),
            id in any::<u16>(),
        ) {
            let (client, server) = if v6 {
                (SocketAddr::new(IpAddr::V6(a.into()), cport), SocketAddr::new(IpAddr::V6(b.into()), sport))
            } else {
                (v4(a[..4].try_into().unwrap(), cport), v4(b[..4].try_into().unwrap(), sport))
            };
            // Groups and "nobody" are refused (the unit test above); the rest must round-trip.
            prop_assume!(one_host(client.ip()) && one_host(server.ip()));
            let mut f = frame(client, server, &query);
            let d = parse(&f).unwrap();
            f.resize(d.payload.start + answer.len(), 0);
            let at = reply_payload_offset(&d);
            f[at..at + answer.len()].copy_from_slice(&answer);
            let n = write_reply(&mut f, &d, answer.len(), id);
            let r = parse(&f[..n]).unwrap();
            prop_assert_eq!((r.source, r.destination), (server, client));
            prop_assert_eq!(&f[r.payload.clone()], &answer[..]);
            prop_assert_eq!(&f[..6], &[2, 0, 0, 0, 0, 2]);
            let expected = frame(server, client, &answer);
            // Same UDP checksum as the independently built frame; IPv4 differs only in the id.
            let udp = r.payload.start - 8;
            prop_assert_eq!(&f[udp..udp + 8], &expected[udp..udp + 8]);
        }

        /// Any bytes: an answer or an error, never a panic, and a payload inside the frame.
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Ok(d) = parse(&bytes) {
                prop_assert!(d.payload.end <= bytes.len());
            }
        }
    }
}
