//! An `AF_PACKET` socket bound to one interface and one EtherType: whole Ethernet frames in
//! and out, each received frame with its packet type (so that the host's own outgoing frames,
//! `PACKET_OUTGOING`, can be skipped), receives with a deadline, and link-layer multicast
//! groups joined for as long as the socket lives.
//!
//! The socket is opened with protocol 0, which queues nothing, and only then bound to the
//! interface and the EtherType: no frame of another interface or type is ever queued on it.
//! The kernel hands copies of the host's outgoing frames only to sockets bound to
//! [`ETH_P_ALL`], never to the socket that sent them; a socket bound to one EtherType sees
//! only frames received.

use std::ffi::CString;
use std::io;
use std::mem;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::raw;

/// How a received frame reached the socket (`sll_pkttype`, linux/if_packet.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// Addressed to this host (`PACKET_HOST`).
    Host,
    /// Link-layer broadcast (`PACKET_BROADCAST`).
    Broadcast,
    /// Link-layer multicast (`PACKET_MULTICAST`).
    Multicast,
    /// Addressed to another host, seen in promiscuous mode (`PACKET_OTHERHOST`).
    OtherHost,
    /// Sent by this host, looped back to packet sockets (`PACKET_OUTGOING`).
    Outgoing,
    /// Any other value (loopback, user, kernel).
    Other(u8),
}

impl PacketType {
    fn from_raw(t: u8) -> PacketType {
        match t {
            libc::PACKET_HOST => PacketType::Host,
            libc::PACKET_BROADCAST => PacketType::Broadcast,
            libc::PACKET_MULTICAST => PacketType::Multicast,
            libc::PACKET_OTHERHOST => PacketType::OtherHost,
            libc::PACKET_OUTGOING => PacketType::Outgoing,
            other => PacketType::Other(other),
        }
    }
}

/// One received frame: how long it was on the wire, how it arrived, and on which interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// The interface the kernel delivered it on (`sll_ifindex`). A socket bound to a bond,
    /// VLAN or bridge port also gets the frames the kernel passes on to an upper device (a
    /// VLAN on top, say), delivered on that device: callers that want only the bound
    /// interface's own frames compare this with [`PacketSocket::ifindex`].
    pub ifindex: u32,
    /// Bytes written into the caller's buffer.
    pub len: usize,
    /// The frame's whole length; more than `len` when the buffer was too short (truncated).
    pub wire_len: usize,
    /// How it arrived.
    pub packet_type: PacketType,
}

/// `ETH_P_ALL`: bound to it, a socket receives every frame of the interface, the host's own
/// outgoing ones included.
pub const ETH_P_ALL: u16 = 0x0003;

/// An `AF_PACKET`/`SOCK_RAW` socket bound to one interface and one EtherType, non-blocking,
/// closed on exec.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
}

/// The index of interface `name` (`if_nametoindex(3)`); `NotFound` when there is none.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
    // SAFETY: `c` is a live NUL-terminated string, only read.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        let e = io::Error::last_os_error();
        return Err(if e.raw_os_error() == Some(libc::ENODEV) || e.raw_os_error() == Some(libc::ENXIO) {
            io::Error::new(io::ErrorKind::NotFound, format!("no interface {name}"))
        } else {
            e
        });
    }
    Ok(index)
}

impl PacketSocket {
    /// Opens a socket that receives the frames of EtherType `ethertype` (host order, e.g.
    /// 0x0806 for ARP) on interface `ifindex`, in both directions, and sends whole frames out
    /// of it. Needs `CAP_NET_RAW`.
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<PacketSocket> {
        let index = i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: plain socket(2); protocol 0 queues nothing until the bind below.
        let raw_fd =
            unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
        if raw_fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw_fd` is a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw_fd) };
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value, filled in below.
        let mut ll: libc::sockaddr_ll = unsafe { mem::zeroed() };
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = ethertype.to_be();
        ll.sll_ifindex = index;
        // SAFETY: `ll` is a live sockaddr_ll whose exact size is passed, only read.
        let r = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const ll).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket { fd, ifindex })
    }

    /// The interface it is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface's hardware address as the kernel has it now (`getsockname(2)` of the
    /// bound socket), up to 8 bytes: 6 for Ethernet.
    pub fn hardware_address(&self) -> io::Result<Vec<u8>> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value for the kernel to fill.
        let mut ll: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `ll` is a live, exclusively borrowed sockaddr_ll and `len` its exact size.
        let r = unsafe { libc::getsockname(self.fd.as_raw_fd(), (&raw mut ll).cast::<libc::sockaddr>(), &raw mut len) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = usize::from(ll.sll_halen).min(ll.sll_addr.len());
        Ok(ll.sll_addr[..n].to_vec())
    }

    /// Receives link-layer multicast frames to `address` on the interface while the socket
    /// lives (`PACKET_ADD_MEMBERSHIP`, `PACKET_MR_MULTICAST`): the interface's filter lets
    /// them in. No IP-level group is joined, so nothing (no MLD report) is sent.
    pub fn join_multicast(&self, address: &[u8]) -> io::Result<()> {
        let index = i32::try_from(self.ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: packet_mreq is plain data; all-zero is a valid value, filled in below.
        let mut mreq: libc::packet_mreq = unsafe { mem::zeroed() };
        if address.len() > mreq.mr_address.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a hardware address is at most 8 bytes"));
        }
        mreq.mr_ifindex = index;
        mreq.mr_type = libc::PACKET_MR_MULTICAST as u16;
        mreq.mr_alen = address.len() as u16;
        mreq.mr_address[..address.len()].copy_from_slice(address);
        // SAFETY: the option value points at a live packet_mreq and its exact size is passed.
        let r = unsafe {
            libc::setsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_ADD_MEMBERSHIP,
                (&raw const mreq).cast::<libc::c_void>(),
                mem::size_of::<libc::packet_mreq>() as libc::socklen_t,
            )
        };
        if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// Sends a whole Ethernet frame, its header included, out of the interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        raw::send_frame(self.fd.as_fd(), self.ifindex, frame)
    }

    /// Receives one queued frame into `buf` without waiting: `None` when none is queued.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        // SAFETY: sockaddr_ll is plain data; all-zero is a valid value for the kernel to fill.
        let mut ll: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `buf` is a live, exclusively borrowed buffer of `buf.len()` bytes, `ll` a live
        // sockaddr_ll and `len` its exact size. MSG_TRUNC only makes the result the wire length.
        let n = unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
                (&raw mut ll).cast::<libc::sockaddr>(),
                &raw mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(e),
            };
        }
        let wire_len = n as usize;
        Ok(Some(Received {
            ifindex: u32::try_from(ll.sll_ifindex).unwrap_or(0),
            len: wire_len.min(buf.len()),
            wire_len,
            packet_type: PacketType::from_raw(ll.sll_pkttype),
        }))
    }

    /// Receives one frame into `buf`, waiting at most until `deadline`: `None` when none came
    /// by then.
    #[allow(clippy::disallowed_methods)] // A deadline on a socket is measured on the clock.
    pub fn recv_until(&self, buf: &mut [u8], deadline: Instant) -> io::Result<Option<Received>> {
        loop {
            if let Some(r) = self.try_recv(buf)? {
                return Ok(Some(r));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left == Duration::ZERO {
                return Ok(None);
            }
            crate::poll::wait(&[self.fd.as_fd()], Some(left))?;
        }
    }

    /// The descriptor, to wait on.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // Deadlines of real sockets.
mod tests {
    use super::*;

    #[test]
    fn no_interface_no_index() {
        let e = ifindex("bm-no-such-if0").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound, "{e}");
        assert_eq!(ifindex("a\0b").unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(ifindex("lo").unwrap(), 1);
    }

    #[test]
    fn packet_types_are_the_kernels() {
        assert_eq!(PacketType::from_raw(0), PacketType::Host);
        assert_eq!(PacketType::from_raw(1), PacketType::Broadcast);
        assert_eq!(PacketType::from_raw(2), PacketType::Multicast);
        assert_eq!(PacketType::from_raw(3), PacketType::OtherHost);
        assert_eq!(PacketType::from_raw(4), PacketType::Outgoing);
        assert_eq!(PacketType::from_raw(5), PacketType::Other(5));
    }

    /// On the loopback (needs CAP_NET_RAW; skipped without it): a frame one socket sends, an
    /// `ETH_P_ALL` socket sees twice, as outgoing and as received, and a socket bound to the
    /// EtherType once, as received; a receive with nothing queued returns at its deadline.
    /// (The kernel never loops a frame back to the socket that sent it.)
    #[test]
    fn loopback_frames_say_how_they_came() {
        const ETHERTYPE: u16 = 0x88b5; // IEEE 802 local experimental
        let open = |ethertype| match PacketSocket::open(1, ethertype) {
            Ok(s) => Some(s),
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => None,
            Err(e) => panic!("open: {e}"),
        };
        let (Some(sender), Some(all), Some(typed)) = (open(ETHERTYPE), open(ETH_P_ALL), open(ETHERTYPE)) else {
            return;
        };
        assert_eq!(sender.ifindex(), 1);
        assert_eq!(sender.hardware_address().unwrap(), [0; 6]);
        let mut frame = [0u8; 60];
        frame[12..14].copy_from_slice(&ETHERTYPE.to_be_bytes());
        frame[14..20].copy_from_slice(b"bmnet!");
        let marker = [0x88, 0xb5, b'b', b'm'];
        sender.send(&frame).unwrap();
        // What `socket` receives within a second that is this frame (the loopback may carry
        // other traffic of the host).
        let receive = |socket: &PacketSocket| {
            let mut buf = [0u8; 16];
            let deadline = Instant::now() + Duration::from_secs(1);
            let mut kinds = Vec::new();
            while let Some(r) = socket.recv_until(&mut buf, deadline).unwrap() {
                if buf[12..16] == marker {
                    assert_eq!((r.len, r.wire_len), (16, 60), "truncated to the buffer, the wire length kept");
                    assert_eq!(r.ifindex, 1);
                    kinds.push(r.packet_type);
                }
            }
            kinds.sort_by_key(|k| format!("{k:?}"));
            kinds
        };
        assert_eq!(receive(&all), [PacketType::Host, PacketType::Outgoing]);
        assert_eq!(receive(&typed), [PacketType::Host]);
    }
}
