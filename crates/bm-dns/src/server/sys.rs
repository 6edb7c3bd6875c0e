//! The system calls the server needs that std and socket2 do not wrap: `recvmmsg(2)` and
//! `sendmmsg(2)` with packet info (a batch of datagrams per system call, and the address each
//! query was sent to), `sendmsg(2)` from a given source address, `poll(2)`, an `eventfd(2)`,
//! `getifaddrs(3)` and `getrandom(2)`.
//!
//! With `server/xdp/sys.rs`, the only code of the crate that may use `unsafe`; every block
//! says why it is sound.

#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

use ipnet::IpNet;

/// Datagrams per system call.
pub(crate) const BATCH: usize = 32;

/// The largest query taken over UDP: far above any real one (a question and an OPT); a larger
/// datagram is cut by the kernel, flagged, and dropped.
pub(crate) const DATAGRAM: usize = 4096;

const CONTROL_LEN: usize = 64;

/// Room for one `in_pktinfo` or `in6_pktinfo` control message, aligned for `cmsghdr`.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
struct Control([u8; CONTROL_LEN]);

/// One received datagram.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Datagram<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) source: SocketAddr,
    /// The address it was sent to and the interface it came in on, when packet info is on.
    pub(crate) local: Option<(IpAddr, u32)>,
    /// Longer than the receiver's datagram size: cut.
    pub(crate) truncated: bool,
}

/// Buffers for receiving a batch of datagrams with one `recvmmsg(2)`.
pub(crate) struct Receiver {
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
    pub(crate) fn new(batch: usize, size: usize) -> Receiver {
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
    pub(crate) fn recv(&mut self, fd: BorrowedFd<'_>, wait: bool) -> io::Result<usize> {
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
            libc::recvmmsg(fd.as_raw_fd(), self.hdrs.as_mut_ptr(), batch as libc::c_uint, flags, std::ptr::null_mut())
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        Ok(self.count)
    }

    /// Datagram `i` of the last batch.
    pub(crate) fn get(&self, i: usize) -> Option<Datagram<'_>> {
        if i >= self.count {
            return None;
        }
        let h = &self.hdrs[i];
        let len = (h.msg_len as usize).min(self.size);
        let source = from_storage(&self.names[i])?;
        // SAFETY: the kernel filled `msg_controllen` bytes of this header's control buffer
        // with well-formed control messages, which the CMSG macros walk within that length.
        let local = unsafe { read_pktinfo(&h.msg_hdr) };
        Some(Datagram {
            bytes: &self.bufs[i * self.size..i * self.size + len],
            source,
            local,
            truncated: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
        })
    }
}

/// The destination address and interface of a received datagram, from its `IP_PKTINFO` or
/// `IPV6_PKTINFO` control message.
///
/// # Safety
/// `msg`'s control pointer and length must describe control messages the kernel wrote.
unsafe fn read_pktinfo(msg: &libc::msghdr) -> Option<(IpAddr, u32)> {
    // SAFETY: per this function's contract.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(msg) };
    while !cmsg.is_null() {
        // SAFETY: a non-null header returned by CMSG_FIRSTHDR/CMSG_NXTHDR lies within the
        // buffer, and its data is as long as its type says (read unaligned).
        unsafe {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            if level == libc::IPPROTO_IP && kind == libc::IP_PKTINFO {
                let info = libc::CMSG_DATA(cmsg).cast::<libc::in_pktinfo>().read_unaligned();
                let addr = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
                return Some((IpAddr::V4(addr), info.ipi_ifindex as u32));
            }
            if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info = libc::CMSG_DATA(cmsg).cast::<libc::in6_pktinfo>().read_unaligned();
                return Some((IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)), info.ipi6_ifindex));
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    None
}

fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
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
/// link-local.
fn scope(from: IpAddr, to: IpAddr, ifindex: u32) -> u32 {
    let link_local = |a: IpAddr| matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local());
    if link_local(from) || link_local(to) { ifindex } else { 0 }
}

/// Writes a control message giving `from` as the source address into `control`; returns its
/// length.
fn write_pktinfo(control: &mut Control, msg: &mut libc::msghdr, from: IpAddr, scope: u32) {
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
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr { s_addr: u32::from(s).to_be() },
                ipi_addr: libc::in_addr { s_addr: 0 },
            }),
            IpAddr::V6(s) => data.cast::<libc::in6_pktinfo>().write_unaligned(libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr { s6_addr: s.octets() },
                ipi6_ifindex: scope,
            }),
        }
    }
}

/// One datagram to send.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outgoing<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) to: SocketAddr,
    /// The source address and the interface of the query, for a socket bound to a wildcard.
    pub(crate) from: Option<(IpAddr, u32)>,
}

/// Room for sending up to `N` datagrams with one `sendmmsg(2)`, kept between calls so that a
/// batch costs no allocation and no clearing of kilobytes of headers.
pub(crate) struct Sender<const N: usize> {
    names: [libc::sockaddr_storage; N],
    controls: [Control; N],
    iovs: [libc::iovec; N],
    hdrs: [libc::mmsghdr; N],
}

// SAFETY: the raw pointers in `iovs` and `hdrs` are set again before every call and point only
// into this value or into the caller's bytes for the duration of that call.
unsafe impl<const N: usize> Send for Sender<N> {}

impl<const N: usize> Sender<N> {
    pub(crate) fn new() -> Sender<N> {
        // SAFETY: all-zero bytes are valid empty values of these plain C structs; every pointer
        // in them is set before use.
        unsafe { mem::zeroed() }
    }

    /// Sends `datagrams` (at most `N`) from `fd`, without blocking. A datagram the kernel
    /// refuses (an unreachable destination) is skipped and the rest still go; a full socket
    /// buffer drops the rest, as a full queue would. Returns how many were sent.
    pub(crate) fn send<'a>(&mut self, fd: BorrowedFd<'_>, datagrams: impl IntoIterator<Item = Outgoing<'a>>) -> usize {
        let mut n = 0;
        for (i, d) in datagrams.into_iter().take(N).enumerate() {
            n = i + 1;
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
                    write_pktinfo(&mut self.controls[i], h, from, scope(from, d.to.ip(), ifindex));
                }
                None => {
                    h.msg_control = std::ptr::null_mut();
                    h.msg_controllen = 0;
                }
            }
        }
        let mut sent = 0;
        let mut at = 0;
        while at < n {
            // SAFETY: headers `at..n` point at names, iovecs (over the callers' bytes, which the
            // kernel only reads) and control buffers, all alive for the call.
            let r = unsafe {
                libc::sendmmsg(
                    fd.as_raw_fd(),
                    self.hdrs[at..].as_mut_ptr(),
                    (n - at) as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if r > 0 {
                sent += r as usize;
                at += r as usize;
                continue;
            }
            match io::Error::last_os_error().kind() {
                _ if r == 0 => break,
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => break,
                _ => at += 1, // refused for this destination: skip it
            }
        }
        sent
    }
}

/// Sends `bytes` from the UDP socket `fd` to `to`, with `from` as the source address (for a
/// socket bound to a wildcard address, or for answers to queries that came over XDP).
/// `ifindex` is the interface the query came in on, which IPv6 link-local addresses need.
#[cfg_attr(not(feature = "xdp"), allow(dead_code))] // The XDP path's.
pub(crate) fn send_from(
    fd: BorrowedFd<'_>,
    bytes: &[u8],
    from: IpAddr,
    to: SocketAddr,
    ifindex: u32,
) -> io::Result<()> {
    let sent = Sender::<1>::new().send(fd, [Outgoing { bytes, to, from: Some((from, ifindex)) }]);
    if sent == 1 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// Asks the kernel to report each datagram's destination address and interface on `fd`.
pub(crate) fn enable_pktinfo(fd: BorrowedFd<'_>, ipv6: bool) -> io::Result<()> {
    let on: libc::c_int = 1;
    let (level, name) =
        if ipv6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO) } else { (libc::IPPROTO_IP, libc::IP_PKTINFO) };
    // SAFETY: `on` is a live c_int whose size is passed.
    let r = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const on).cast(), mem::size_of::<libc::c_int>() as u32)
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Waits until one of `fds` is readable or `timeout` passes; sets `ready[i]` for each that is
/// (none: the timeout, an error or a signal). `ready` is as long as `fds`.
pub(crate) fn poll_readable(fds: &[BorrowedFd<'_>], ready: &mut [bool], timeout: Duration) {
    const MAX: usize = 16;
    let mut polls = [libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 }; MAX];
    let n = fds.len().min(MAX);
    for (p, fd) in polls.iter_mut().zip(fds) {
        p.fd = fd.as_raw_fd();
    }
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `polls` is a live array of at least `n` pollfds.
    let r = unsafe { libc::poll(polls.as_mut_ptr(), n as libc::nfds_t, ms) };
    for (flag, p) in ready.iter_mut().zip(&polls[..n]) {
        *flag = r > 0 && p.revents != 0;
    }
}

/// Waits until one of `fds` is readable or `timeout` passes; whether one is.
#[cfg_attr(not(feature = "xdp"), allow(dead_code))] // The XDP path's.
pub(crate) fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Duration) -> bool {
    let mut ready = [false; 16];
    poll_readable(fds, &mut ready[..fds.len().min(16)], timeout);
    ready.iter().any(|&r| r)
}

/// Sets this thread's timer slack: how late the kernel may end its sleeps (default 50 us).
pub(crate) fn set_timer_slack(slack: Duration) {
    // SAFETY: prctl(PR_SET_TIMERSLACK) takes an integer and touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, slack.as_nanos() as libc::c_ulong, 0, 0, 0) };
}

/// An `eventfd(2)` counter: one thread wakes another's `poll`.
#[derive(Debug)]
pub(crate) struct EventFd(OwnedFd);

impl EventFd {
    pub(crate) fn new() -> io::Result<EventFd> {
        // SAFETY: plain eventfd(2); the descriptor is owned at once.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor nothing else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// Makes the descriptor readable.
    pub(crate) fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live u64. A full counter (EAGAIN) is already awake.
        unsafe { libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Makes it unreadable again.
    pub(crate) fn clear(&self) {
        let mut n: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64.
        unsafe { libc::read(self.0.as_raw_fd(), (&raw mut n).cast(), 8) };
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.0.as_fd()
    }
}

/// Every address of every interface with its prefix length (`getifaddrs(3)`).
pub(crate) fn interface_nets() -> io::Result<Vec<IpNet>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below.
    if unsafe { libc::getifaddrs(&raw mut list) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut nets = Vec::new();
    let mut at = list;
    while !at.is_null() {
        // SAFETY: `at` is a node of the list getifaddrs returned, not yet freed; its address
        // and netmask, when not null, point at sockaddrs of the family they say.
        unsafe {
            let ifa = &*at;
            let (addr, mask) = (ifa.ifa_addr, ifa.ifa_netmask);
            if !addr.is_null() && !mask.is_null() {
                let family = i32::from((*addr).sa_family);
                if family == libc::AF_INET || family == libc::AF_INET6 {
                    let copy = |p: *const libc::sockaddr| {
                        let mut s: libc::sockaddr_storage = mem::zeroed();
                        let len = if family == libc::AF_INET {
                            mem::size_of::<libc::sockaddr_in>()
                        } else {
                            mem::size_of::<libc::sockaddr_in6>()
                        };
                        std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&raw mut s).cast::<u8>(), len);
                        s.ss_family = family as libc::sa_family_t;
                        from_storage(&s)
                    };
                    if let (Some(a), Some(m)) = (copy(addr), copy(mask)) {
                        let prefix = match m.ip() {
                            IpAddr::V4(m) => u32::from(m).count_ones() as u8,
                            IpAddr::V6(m) => u128::from(m).count_ones() as u8,
                        };
                        if let Ok(net) = IpNet::new(a.ip(), prefix) {
                            nets.push(net);
                        }
                    }
                }
            }
            at = ifa.ifa_next;
        }
    }
    // SAFETY: the list getifaddrs returned, freed once, nothing of it kept.
    unsafe { libc::freeifaddrs(list) };
    Ok(nets)
}

/// 16 random bytes from the kernel (`getrandom(2)`), to key what an attacker must not guess.
pub(crate) fn random_seed() -> [u8; 16] {
    let mut seed = [0u8; 16];
    let mut filled = 0;
    while filled < seed.len() {
        // SAFETY: writes at most the remaining bytes of `seed`.
        let r = unsafe { libc::getrandom(seed[filled..].as_mut_ptr().cast(), seed.len() - filled, 0) };
        if r > 0 {
            filled += r as usize;
        } else if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // No getrandom (a kernel before 3.17): std's per-process random hash keys.
            use std::hash::BuildHasher;
            let s = std::collections::hash_map::RandomState::new();
            seed[..8].copy_from_slice(&s.hash_one(1u8).to_le_bytes());
            seed[8..].copy_from_slice(&s.hash_one(2u8).to_le_bytes());
            break;
        }
    }
    seed
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsFd;

    use super::*;

    #[test]
    #[allow(clippy::disallowed_methods)] // Loopback sockets.
    fn batches_go_out_and_come_back_with_their_destination() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        enable_pktinfo(server.as_fd(), false).unwrap();
        server.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
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
    }

    #[test]
    fn loopback_is_among_the_interface_nets_and_seeds_differ() {
        let nets = interface_nets().unwrap();
        assert!(nets.contains(&"127.0.0.1/8".parse().unwrap()), "{nets:?}");
        assert_ne!(random_seed(), random_seed());
    }

    #[test]
    fn an_eventfd_wakes_a_poll() {
        let e = EventFd::new().unwrap();
        assert!(!wait_readable(&[e.fd()], Duration::ZERO));
        e.wake();
        e.wake();
        assert!(wait_readable(&[e.fd()], Duration::ZERO));
        e.clear();
        assert!(!wait_readable(&[e.fd()], Duration::ZERO));
    }
}
