//! Datagrams with packet info: `recvmmsg(2)` and `sendmmsg(2)` in batches, with the address each
//! datagram was sent to, the TTL or hop limit it came with, and the source to send from. UDP
//! sockets use it (bm-dns), and so do raw IP sockets (bm-vrrp's protocol 112 sockets), which take
//! the same control messages.

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Datagrams per system call.
pub const BATCH: usize = 32;

/// The largest query taken over UDP: far above any real one (a question and an OPT); a larger
/// datagram is cut by the kernel, flagged, and dropped.
pub const DATAGRAM: usize = 4096;

/// Two control messages: packet info (`CMSG_SPACE` 32 or 40 bytes) and the TTL / hop limit (24),
/// with room to spare, so that neither is ever cut (`MSG_CTRUNC`).
const CONTROL_LEN: usize = 128;

/// Room for the control messages of one datagram, aligned for `cmsghdr`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Control([u8; CONTROL_LEN]);

/// One received datagram.
#[derive(Clone, Copy, Debug)]
pub struct Datagram<'a> {
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Who sent it.
    pub source: SocketAddr,
    /// The address it was sent to and the interface it came in on, when packet info is on
    /// ([`enable_pktinfo`]).
    pub local: Option<(IpAddr, u32)>,
    /// The TTL (IPv4) or hop limit (IPv6) it arrived with, when asked for ([`enable_ttl`]).
    pub ttl: Option<u8>,
    /// Longer than the receiver's datagram size: cut.
    pub truncated: bool,
}

/// Buffers for receiving a batch of datagrams with one `recvmmsg(2)`.
pub struct Receiver {
    /// Bytes per datagram.
    size: usize,
    bufs: Box<[u8]>,
    names: Box<[libc::sockaddr_storage]>,
    controls: Box<[Control]>,
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
    count: usize,
}

// SAFETY: the raw pointers in `iovs` and `hdrs` point into the boxes this value owns (set up
// again before every call); moving the value to another thread moves that ownership.
unsafe impl Send for Receiver {}

impl Receiver {
    /// Room for `batch` datagrams of `size` bytes each.
    pub fn new(batch: usize, size: usize) -> Receiver {
        // SAFETY: sockaddr_storage, iovec and mmsghdr are plain data for which all-zero bytes
        // are valid (empty) values; every pointer in them is set before use.
        let zeroed = || unsafe { mem::zeroed() };
        Receiver {
            size,
            bufs: vec![0; batch * size].into_boxed_slice(),
            names: (0..batch).map(|_| zeroed()).collect(),
            controls: vec![Control([0; CONTROL_LEN]); batch].into_boxed_slice(),
            // SAFETY: as above.
            iovs: (0..batch).map(|_| unsafe { mem::zeroed() }).collect(),
            // SAFETY: as above.
            hdrs: (0..batch).map(|_| unsafe { mem::zeroed() }).collect(),
            count: 0,
        }
    }

    /// Takes every datagram queued on `fd`, up to the batch; with `wait`, first waits (up to the
    /// socket's receive timeout) for one to come. Returns how many.
    pub fn recv(&mut self, fd: BorrowedFd<'_>, wait: bool) -> io::Result<usize> {
        self.count = 0;
        let (size, batch) = (self.size, self.hdrs.len());
        for i in 0..batch {
            self.iovs[i] = libc::iovec { iov_base: self.bufs[i * size..].as_mut_ptr().cast(), iov_len: size };
            let h = &mut self.hdrs[i];
            h.msg_len = 0;
            h.msg_hdr.msg_name = (&raw mut self.names[i]).cast();
            h.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_hdr.msg_iov = &raw mut self.iovs[i];
            h.msg_hdr.msg_iovlen = 1;
            h.msg_hdr.msg_control = self.controls[i].0.as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = CONTROL_LEN as _;
            h.msg_hdr.msg_flags = 0;
        }
        let flags = if wait { libc::MSG_WAITFORONE } else { libc::MSG_DONTWAIT };
        // SAFETY: every header points at its own name, iovec (over its own `size` bytes of
        // `bufs`) and control buffer, all owned by `self` and alive for the call; as many
        // headers as there are are passed.
        let n = unsafe {
            // The flags are a c_int in glibc's prototype and a c_uint in musl's.
            libc::recvmmsg(
                fd.as_raw_fd(),
                self.hdrs.as_mut_ptr(),
                batch as libc::c_uint,
                flags as _,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        Ok(self.count)
    }

    /// Datagram `i` of the last batch.
    pub fn get(&self, i: usize) -> Option<Datagram<'_>> {
        if i >= self.count {
            return None;
        }
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(self.size);
        let source = from_storage(&self.names[i])?;
        // SAFETY: the kernel filled `msg_controllen` bytes of this header's control buffer
        // with well-formed control messages, which the CMSG macros walk within that length.
        let (local, ttl) = unsafe { read_control(&h.msg_hdr) };
        Some(Datagram {
            bytes: &self.bufs[i * self.size..i * self.size + len],
            source,
            local,
            ttl,
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        })
    }
}

/// The destination address and interface of a received datagram, from its `IP_PKTINFO` or
/// `IPV6_PKTINFO` control message, and the TTL or hop limit it arrived with, from its `IP_TTL`
/// or `IPV6_HOPLIMIT` one. A control message shorter than its type says is ignored.
///
/// # Safety
/// `msg`'s control pointer and length must describe control messages the kernel wrote.
unsafe fn read_control(msg: &libc::msghdr) -> (Option<(IpAddr, u32)>, Option<u8>) {
    let (mut local, mut ttl) = (None, None);
    // SAFETY: per this function's contract.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null header returned by CMSG_FIRSTHDR/CMSG_NXTHDR lies within the
        // buffer, and its data is as long as its own length says, which is checked against
        // the type read (unaligned) first.
        unsafe {
            let c = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let data_len = (c.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            match (c.cmsg_level, c.cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) if data_len >= mem::size_of::<libc::in_pktinfo>() => {
                    let info = data.cast::<libc::in_pktinfo>().read_unaligned();
                    let addr = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                    local = Some((IpAddr::V4(addr), info.ipi_ifindex as u32));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if data_len >= mem::size_of::<libc::in6_pktinfo>() => {
                    let info = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    local = Some((IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)), info.ipi6_ifindex));
                }
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                    if data_len >= mem::size_of::<libc::c_int>() =>
                {
                    ttl = u8::try_from(data.cast::<libc::c_int>().read_unaligned()).ok();
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    (local, ttl)
}

pub(crate) fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
            // aligned enough for.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Writes `addr` into `s`, returning its length.
fn to_storage(addr: SocketAddr, s: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let sin = unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from(*a.ip()).to_be() };
            mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &mut *(s as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = 0;
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

/// The scope an IPv6 packet between `from` and `to` needs: the interface, when either is
/// link-local or `to` is a multicast group (ff02::12, whose scope is a link).
fn scope(from: IpAddr, to: IpAddr, ifindex: u32) -> u32 {
    let link_local = |a: IpAddr| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local());
    let multicast = matches!(to, IpAddr::V6(v6) if v6.is_multicast());
    if link_local(from) || link_local(to) || multicast { ifindex } else { 0 }
}

/// Writes into `control` a control message giving `from` as the source address, and `ifindex`
/// as the interface (0: the routes choose).
fn write_pktinfo(control: &mut Control, msg: &mut libc::msghdr, from: IpAddr, ifindex: u32) {
    let (level, kind, info_len) = match from {
        IpAddr::V4(_) => (libc::IPPROTO_IP, libc::IP_PKTINFO, mem::size_of::<libc::in_pktinfo>()),
        IpAddr::V6(_) => (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, mem::size_of::<libc::in6_pktinfo>()),
    };
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(info_len as u32) } as _;
    // SAFETY: the control buffer is aligned for cmsghdr and CMSG_SPACE(info_len) <= CONTROL_LEN
    // bytes long, so the first header and its data (written unaligned) lie inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(msg);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = kind;
        (*cmsg).cmsg_len = libc::CMSG_LEN(info_len as u32) as _;
        let data = libc::CMSG_DATA(cmsg);
        match from {
            IpAddr::V4(s) => data.cast::<libc::in_pktinfo>().write_unaligned(libc::in_pktinfo {
                ipi_ifindex: ifindex as libc::c_int,
                ipi_spec_dst: libc::in_addr { s_addr: u32::from(s).to_be() },
                ipi_addr: libc::in_addr { s_addr: 0 },
            }),
            IpAddr::V6(s) => data.cast::<libc::in6_pktinfo>().write_unaligned(libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr { s6_addr: s.octets() },
                ipi6_ifindex: ifindex,
            }),
        }
    }
}

/// One datagram to send.
#[derive(Clone, Copy, Debug)]
pub struct Outgoing<'a> {
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Where to.
    pub to: SocketAddr,
    /// The source address and the interface of the query, for a socket bound to a wildcard.
    pub from: Option<(IpAddr, u32)>,
}

/// Room for sending up to `N` datagrams with one `sendmmsg(2)`, kept between calls so that a
/// batch costs no allocation and no clearing of kilobytes of headers.
pub struct Sender<const N: usize> {
    names: [libc::sockaddr_storage; N],
    controls: [Control; N],
    iovs: [libc::iovec; N],
    hdrs: [libc::mmsghdr; N],
}

// SAFETY: the raw pointers in `iovs` and `hdrs` are set again before every call and point only
// into this value or into the caller's bytes for the duration of that call.
unsafe impl<const N: usize> Send for Sender<N> {}

impl<const N: usize> Default for Sender<N> {
    fn default() -> Sender<N> {
        Sender::new()
    }
}

impl<const N: usize> Sender<N> {
    /// Room for `N` datagrams.
    pub fn new() -> Sender<N> {
        // SAFETY: all-zero bytes are valid empty values of these plain C structs; every pointer
        // in them is set before use.
        unsafe { mem::zeroed() }
    }

    /// Sends `datagrams` (at most `N`) from `fd`, without blocking. A datagram the kernel
    /// refuses (an unreachable destination) is skipped and the rest still go; a full socket
    /// buffer drops the rest, as a full queue would. Returns how many were sent.
    pub fn send<'a>(&mut self, fd: BorrowedFd<'_>, datagrams: impl IntoIterator<Item = Outgoing<'a>>) -> usize {
        let mut n = 0;
        for (i, d) in datagrams.into_iter().take(N).enumerate() {
            n = i + 1;
            self.fill(i, d, false);
        }
        self.flush(fd, n).0
    }

    /// Sets up header `i` for `d`. With `pinned`, the packet info names the interface, which
    /// the packet then leaves by whatever the routes say; otherwise the routes choose, and the
    /// interface only scopes link-local IPv6 addresses.
    fn fill(&mut self, i: usize, d: Outgoing<'_>, pinned: bool) {
        let to = match d.to {
            SocketAddr::V6(v6) => {
                let s = d.from.map_or(0, |(from, ifindex)| scope(from, d.to.ip(), ifindex));
                let scope_id = if v6.scope_id() != 0 { v6.scope_id() } else { s };
                SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, scope_id))
            }
            v4 => v4,
        };
        let h = &mut self.hdrs[i].msg_hdr;
        h.msg_namelen = to_storage(to, &mut self.names[i]);
        h.msg_name = (&raw mut self.names[i]).cast();
        self.iovs[i] = libc::iovec { iov_base: d.bytes.as_ptr().cast_mut().cast(), iov_len: d.bytes.len() };
        h.msg_iov = &raw mut self.iovs[i];
        h.msg_iovlen = 1;
        h.msg_flags = 0;
        match d.from {
            Some((from, ifindex)) => {
                let via = match (pinned, from) {
                    (true, _) => ifindex,
                    (false, IpAddr::V4(_)) => 0,
                    (false, IpAddr::V6(_)) => scope(from, d.to.ip(), ifindex),
                };
                write_pktinfo(&mut self.controls[i], h, from, via);
            }
            None => {
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
            }
        }
    }

    /// Sends headers `0..n`, as [`Sender::send`] says; how many went, and the error of the
    /// last one refused (or of the full buffer that stopped the rest).
    fn flush(&mut self, fd: BorrowedFd<'_>, n: usize) -> (usize, Option<io::Error>) {
        let mut sent = 0;
        let mut at = 0;
        let mut error = None;
        while at < n {
            // SAFETY: headers `at..n` point at names, iovecs (over the callers' bytes, which the
            // kernel only reads) and control buffers, all alive for the call.
            let r = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    self.hdrs[at..].as_mut_ptr(),
                    (n - at) as libc::c_uint,
                    // c_int in glibc's prototype, c_uint in musl's.
                    libc::MSG_DONTWAIT as _,
                )
            };
            if r > 0 {
                sent += r as usize;
                at += r as usize;
                continue;
            }
            if r == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            match e.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => {
                    error = Some(e);
                    break;
                }
                _ => {
                    // Refused for this destination: skip it.
                    at += 1;
                    error = Some(e);
                }
            }
        }
        (sent, error)
    }
}

/// One datagram through a one-header [`Sender`]: its error when it did not go.
fn send_one(fd: BorrowedFd<'_>, d: Outgoing<'_>, pinned: bool) -> io::Result<()> {
    let mut sender = Sender::<1>::new();
    sender.fill(0, d, pinned);
    match sender.flush(fd, 1) {
        (1, _) => Ok(()),
        (_, Some(e)) => Err(e),
        (_, None) => Err(io::Error::from(io::ErrorKind::WriteZero)),
    }
}

/// Sends `bytes` from the UDP socket `fd` to `to`, with `from` as the source address (for a
/// socket bound to a wildcard address, or for answers to queries that came over XDP).
/// `ifindex` is the interface the query came in on, which IPv6 link-local addresses need.
pub fn send_from(fd: BorrowedFd<'_>, bytes: &[u8], from: IpAddr, to: SocketAddr, ifindex: u32) -> io::Result<()> {
    send_one(fd, Outgoing { bytes, to, from: Some((from, ifindex)) }, false)
}

/// Sends `bytes` from `fd` to `to` with `from` as the source address, out of interface
/// `ifindex` whatever the routes say (the packet info names it): for a socket that serves one
/// link, as a VRRP advert belongs to its own link even when a route to a unicast peer points
/// elsewhere. A raw socket's port is 0.
pub fn send_from_interface(
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    from: IpAddr,
    to: SocketAddr,
    ifindex: u32,
) -> io::Result<()> {
    send_one(fd, Outgoing { bytes, to, from: Some((from, ifindex)) }, true)
}

/// Asks the kernel to report each datagram's destination address and interface on `fd`
/// ([`Datagram::local`]).
pub fn enable_pktinfo(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    let (level, name) =
        if ipv6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) } else { (libc::IPPROTO_IP, libc::IP_PKTINFO) };
    set_flag(fd, level, name)
}

/// Asks the kernel to report the TTL (`IP_RECVTTL`) or hop limit (`IPV6_RECVHOPLIMIT`) each
/// datagram arrived with on `fd` ([`Datagram::ttl`]).
pub fn enable_ttl(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    let (level, name) =
        if ipv6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT) } else { (libc::IPPROTO_IP, libc::IP_RECVTTL) };
    set_flag(fd, level, name)
}

/// `setsockopt(fd, level, name, &1, sizeof(int))`.
fn set_flag(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `on` is a live c_int whose size is passed.
    let r = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const on).cast(), mem::size_of::<libc::c_int>() as u32)
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsFd;
    use std::time::Duration;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // Loopback sockets.
    fn batches_go_out_and_come_back_with_their_destination() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable_pktinfo(server.as_fd(), false).unwrap();
        enable_ttl(server.as_fd(), false).unwrap();
        client.set_ttl(9).unwrap();
        server.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let to = server.local_addr().unwrap();
        let payloads: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; usize::from(i) + 1]).collect();
        let out: Vec<Outgoing<'_>> = payloads.iter().map(|p| Outgoing { bytes: p, to, from: None }).collect();
        let mut sender = Sender::<BATCH>::new();
        assert_eq!(sender.send(client.as_fd(), out[..BATCH].iter().copied()), BATCH);
        assert_eq!(sender.send(client.as_fd(), out[BATCH..].iter().copied()), 40 - BATCH);
        let mut r = Receiver::new(BATCH, DATAGRAM);
        let mut seen = Vec::new();
        while seen.len() < 40 {
            let n = r.recv(server.as_fd(), true).unwrap();
            for i in 0..n {
                let d = r.get(i).unwrap();
                assert_eq!(d.source, client.local_addr().unwrap());
                assert_eq!(d.local.map(|l| l.0), Some(to.ip()));
                assert_eq!(d.ttl, Some(9));
                assert!(!d.truncated);
                seen.push(d.bytes.to_vec());
            }
        }
        assert_eq!(seen, payloads);
        // An oversize datagram is flagged.
        client.send_to(&vec![7u8; DATAGRAM + 1], to).unwrap();
        assert_eq!(r.recv(server.as_fd(), true).unwrap(), 1);
        assert!(r.get(0).unwrap().truncated);
        // Nothing more queued: without waiting, nothing.
        assert_eq!(r.recv(server.as_fd(), false).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // A reply from the destination address reaches the client.
        send_from(server.as_fd(), b"back", to.ip(), client.local_addr().unwrap(), 0).unwrap();
        let mut buf = [0u8; 8];
        client.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (&b"back"[..], to));
        // Out of loopback (index 1) whatever the routes say; a link that does not exist is an
        // error of the send itself.
        send_from_interface(server.as_fd(), b"pinned", to.ip(), client.local_addr().unwrap(), 1).unwrap();
        let (n, _) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"pinned");
        let e = send_from_interface(server.as_fd(), b"x", to.ip(), client.local_addr().unwrap(), 999_999).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV), "{e}");
    }
}
