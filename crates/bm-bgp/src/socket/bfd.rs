//! The speaker's BFD sockets: one sending socket per peer, one listening socket per family.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsFd;

use socket2::{Domain, Protocol, Socket, Type};

use super::{PeerConfig, SocketOption};
use crate::bfd::{BfdSession, CONTROL_PORT, MIN_SOURCE_PORT, SINGLE_HOP_TTL};

/// Ports tried, from a random start, before giving up on a sending socket.
const PORT_TRIES: u16 = 256;

/// One peer's BFD: its session and the socket it sends from.
pub(super) struct BfdPeer {
    pub(super) session: BfdSession,
    pub(super) socket: Option<UdpSocket>,
}

/// A failed step and its error.
pub(super) type OpenFailure = (SocketOption, io::Error);

/// The socket listening on port 3784 of every address of a family, reporting each
/// datagram's TTL / hop limit.
pub(super) fn listener(v6: bool) -> Result<UdpSocket, OpenFailure> {
    let fail = |e| (SocketOption::BfdListen, e);
    let (domain, any) = if v6 {
        (Domain::IPV6, IpAddr::V6(Ipv6Addr::UNSPECIFIED))
    } else {
        (Domain::IPV4, IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(fail)?;
    if v6 {
        socket.set_only_v6(true).map_err(fail)?;
    }
    socket.set_nonblocking(true).map_err(fail)?;
    bm_sys::udp::enable_ttl(socket.as_fd(), v6).map_err(fail)?;
    socket.bind(&SocketAddr::new(any, CONTROL_PORT).into()).map_err(fail)?;
    Ok(socket.into())
}

/// The socket sending to `peer`: from its local address when set, from a port in
/// 49152–65535 (the first free one from `start`), with TTL / hop limit 255.
pub(super) fn sender(peer: &PeerConfig, start: u16) -> Result<UdpSocket, OpenFailure> {
    let fail = |e| (SocketOption::BfdSend, e);
    let v6 = peer.address.is_ipv6();
    let local = peer.local_address.unwrap_or(if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    });
    let socket =
        Socket::new(Domain::for_address(peer.socket_address()), Type::DGRAM, Some(Protocol::UDP)).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let ttl = u32::from(SINGLE_HOP_TTL);
    if v6 { socket.set_unicast_hops_v6(ttl) } else { socket.set_ttl_v4(ttl) }.map_err(fail)?;
    let range = u32::from(u16::MAX - MIN_SOURCE_PORT) + 1;
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for k in 0..PORT_TRIES {
        let offset = (u32::from(start) + u32::from(k)) % range;
        // Below 16384: the port fits.
        let port = MIN_SOURCE_PORT + u16::try_from(offset).unwrap_or(0);
        match socket.bind(&SocketAddr::new(local, port).into()) {
            Ok(()) => return Ok(socket.into()),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(fail(e)),
        }
    }
    Err(fail(last))
}

/// Where a peer's control packets go.
pub(super) fn destination(peer: &PeerConfig) -> SocketAddr {
    SocketAddr::new(peer.address, CONTROL_PORT)
}
