//! Raw sockets where std and socket2 stop: whole Ethernet frames sent over an `AF_PACKET`
//! socket (`sendto(2)` with a `sockaddr_ll`), and the ICMPv6 filter of a raw ICMPv6 socket.
//! Opening the sockets, binding and multicast options are socket2's.

use std::io;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd};

/// An Ethernet header: destination, source, EtherType.
const ETHERNET_HEADER_LEN: usize = 14;

/// Sends a whole Ethernet frame (its header included) on the `AF_PACKET`/`SOCK_RAW` socket
/// `fd`, out of interface `ifindex`. The link-layer destination and protocol are the frame's
/// own. A frame shorter than an Ethernet header is refused (`InvalidInput`).
pub fn send_frame(fd: BorrowedFd<'_>, ifindex: u32, frame: &[u8]) -> io::Result<()> {
    let Some(header) = frame.get(..ETHERNET_HEADER_LEN) else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "an Ethernet frame is at least 14 bytes"));
    };
    let ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value, filled in below.
    let mut ll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = u16::from_be_bytes([header[12], header[13]]).to_be();
    ll.sll_ifindex = ifindex;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&header[..6]);
    // SAFETY: `frame` is a live buffer of `frame.len()` bytes (only read) and `ll` a live
    // sockaddr_ll whose exact size is passed.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&raw const ll).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Blocks every ICMPv6 type on the raw ICMPv6 socket `fd` (`ICMP6_FILTER`): a socket that only
/// sends (unsolicited neighbour advertisements) must not queue every ICMPv6 message the host
/// receives.
pub fn block_all_icmpv6(fd: BorrowedFd<'_>) -> io::Result<()> {
    /// `ICMP6_FILTER` (netinet/icmp6.h).
    const ICMP6_FILTER: libc::c_int = 1;
    // `struct icmp6_filter`: 256 bits, a set bit blocks that type.
    let filter = [u32::MAX; 8];
    // SAFETY: the option value points at a live 32-byte `struct icmp6_filter` equivalent and
    // its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast::<libc::c_void>(),
            mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixDatagram;

    use super::*;

    /// A socket that is no packet socket: the frame checks come first, then the kernel's.
    #[test]
    fn short_frames_are_refused_before_the_kernel_sees_them() {
        let fd = UnixDatagram::unbound().unwrap();
        let e = send_frame(fd.as_fd(), 1, &[0; 13]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(send_frame(fd.as_fd(), 1, &[0; 42]).is_err(), "an AF_UNIX socket takes no sockaddr_ll");
        assert!(block_all_icmpv6(fd.as_fd()).is_err(), "nor an ICMPv6 filter");
    }
}
