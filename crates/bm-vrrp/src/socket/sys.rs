//! The few system calls socket2, netlink-sys and std do not wrap safely: `poll(2)`,
//! `recvmsg(2)` and `sendmsg(2)` with ancillary data (received TTL / hop limit and destination,
//! the source address to send from), integer socket options, `sendto(2)` with a `sockaddr_ll`,
//! user and group lookups (`getpwnam_r`, `getgrnam_r`), a script child's credentials and
//! parent-death signal (`setgroups`, `setgid`, `setuid`, `prctl(PR_SET_PDEATHSIG)` between fork
//! and exec), and a child's exit seen without reaping it (`waitid(WNOWAIT)`).
//!
//! This is the only module of the crate that may use `unsafe`; every block says why it is sound.

#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;
use std::time::Duration;

/// Waits until one of `fds` is readable or `timeout` passes (`None`: forever). Returns which
/// are readable (or in error, which a read then reports). `EINTR` counts as "nothing ready".
pub(crate) fn poll(fds: &[RawFd], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut pollfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    let ms = match timeout {
        None => -1,
        // Round up, so that a timer is never polled for early and then spun on.
        Some(t) => i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
    };
    // SAFETY: `pollfds` is a valid, exclusively borrowed array of `pollfds.len()` pollfd structs
    // that lives across the call.
    let n = unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(vec![false; fds.len()]);
        }
        return Err(e);
    }
    Ok(pollfds.iter().map(|p| p.revents != 0).collect())
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
pub(crate) fn set_int_option(fd: RawFd, level: i32, name: i32, value: i32) -> io::Result<()> {
    // SAFETY: the option value points at a live `c_int` and its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// One received datagram's addressing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// Bytes written into the buffer (IPv4 raw sockets include the IP header).
    pub(crate) len: usize,
    /// The sender.
    pub(crate) src: IpAddr,
    /// The destination (`IP_PKTINFO` / `IPV6_PKTINFO`), when the kernel said.
    pub(crate) dst: Option<IpAddr>,
    /// The TTL / hop limit it arrived with (`IP_TTL` / `IPV6_HOPLIMIT`), when the kernel said.
    pub(crate) ttl: Option<u8>,
}

/// Room for the control messages asked for (two cmsgs of up to 20 bytes of data each).
const CONTROL_LEN: usize = 128;

/// Control buffer with the alignment `cmsghdr` needs.
#[repr(C, align(8))]
struct Control([u8; CONTROL_LEN]);

/// `recvmsg(2)` without blocking; `WouldBlock` when nothing is queued.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Received> {
    let mut control = Control([0; CONTROL_LEN]);
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut from: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: msghdr is plain data; all-zero is a valid (empty) value, filled in below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut from).cast();
    msg.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = CONTROL_LEN as _;
    // SAFETY: every pointer in `msg` refers to a live, exclusively borrowed buffer of the length
    // given next to it (`buf`, `from`, `control`), all outliving the call.
    let n = unsafe { libc::recvmsg(fd, &raw mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let src = match i32::from(from.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family AF_INET) into the storage, which
            // is larger than and aligned for it.
            let sin = unsafe { &*(&raw const from).cast::<libc::sockaddr_in>() };
            IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let sin6 = unsafe { &*(&raw const from).cast::<libc::sockaddr_in6>() };
            IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
        }
        other => {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("address family {other} from recvmsg")));
        }
    };
    let mut received = Received { len: n as usize, src, dst: None, ttl: None };
    // SAFETY: `msg` was filled by a successful recvmsg: msg_control/msg_controllen describe the
    // control messages the kernel wrote into `control`, which is still alive; the CMSG_* macros
    // stay within it, and each data read is bounded by the cmsg's own length checked first.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        while !cmsg.is_null() {
            let c = &*cmsg;
            let data = libc::CMSG_DATA(cmsg);
            let data_len = (c.cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
            match (c.cmsg_level, c.cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_TTL) | (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                    if data_len >= mem::size_of::<libc::c_int>() =>
                {
                    let v = data.cast::<libc::c_int>().read_unaligned();
                    received.ttl = u8::try_from(v).ok();
                }
                (libc::IPPROTO_IP, libc::IP_PKTINFO) if data_len >= mem::size_of::<libc::in_pktinfo>() => {
                    let info = data.cast::<libc::in_pktinfo>().read_unaligned();
                    received.dst = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr))));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) if data_len >= mem::size_of::<libc::in6_pktinfo>() => {
                    let info = data.cast::<libc::in6_pktinfo>().read_unaligned();
                    received.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                _ => {}
            }
            cmsg = libc::CMSG_NXTHDR(&raw const msg, cmsg);
        }
    }
    Ok(received)
}

/// `sendmsg(2)` of `bytes` to `dst`, from the local address `src` out of interface `ifindex`
/// (`IP_PKTINFO` / `IPV6_PKTINFO`), so that one unbound socket both receives and sends.
pub(crate) fn send_from(fd: RawFd, bytes: &[u8], src: IpAddr, dst: IpAddr, ifindex: u32) -> io::Result<()> {
    let mut control = Control([0; CONTROL_LEN]);
    // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
    let mut to: libc::sockaddr_storage = unsafe { mem::zeroed() };
    let (to_len, level, kind, info_len) = match dst {
        IpAddr::V4(d) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: 0,
                sin_addr: libc::in_addr { s_addr: u32::from(d).to_be() },
                sin_zero: [0; 8],
            };
            // SAFETY: the storage is larger than and aligned for a sockaddr_in.
            unsafe { (&raw mut to).cast::<libc::sockaddr_in>().write(sin) };
            (
                mem::size_of::<libc::sockaddr_in>(),
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                mem::size_of::<libc::in_pktinfo>(),
            )
        }
        IpAddr::V6(d) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: 0,
                sin6_flowinfo: 0,
                sin6_addr: libc::in6_addr { s6_addr: d.octets() },
                sin6_scope_id: if d.is_unicast_link_local() || d.is_multicast() { ifindex } else { 0 },
            };
            // SAFETY: the storage is larger than and aligned for a sockaddr_in6.
            unsafe { (&raw mut to).cast::<libc::sockaddr_in6>().write(sin6) };
            (
                mem::size_of::<libc::sockaddr_in6>(),
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                mem::size_of::<libc::in6_pktinfo>(),
            )
        }
    };
    let mut iov = libc::iovec { iov_base: bytes.as_ptr().cast_mut().cast(), iov_len: bytes.len() };
    // SAFETY: msghdr is plain data; all-zero is a valid (empty) value, filled in below.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_name = (&raw mut to).cast();
    msg.msg_namelen = to_len as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(info_len as u32) } as _;
    // SAFETY: the control buffer is aligned for cmsghdr and CMSG_SPACE(info_len) <= CONTROL_LEN
    // bytes long, so the first header and its data (written unaligned) lie inside it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
        (*cmsg).cmsg_level = level;
        (*cmsg).cmsg_type = kind;
        (*cmsg).cmsg_len = libc::CMSG_LEN(info_len as u32) as _;
        let data = libc::CMSG_DATA(cmsg);
        match src {
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
    // SAFETY: `msg` points at `to`, `iov` (over `bytes`, only read by the kernel) and
    // `control`, all alive and of the lengths given.
    let n = unsafe { libc::sendmsg(fd, &raw const msg, 0) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `sendto(2)` of a whole Ethernet frame on an `AF_PACKET`/`SOCK_RAW` socket, out of `ifindex`.
pub(crate) fn send_frame(fd: RawFd, ifindex: u32, frame: &[u8]) -> io::Result<()> {
    if frame.len() < 14 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "an Ethernet frame is at least 14 bytes"));
    }
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value, filled in below.
    let mut ll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
    ll.sll_ifindex = ifindex as i32;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&frame[..6]);
    // SAFETY: `frame` is a live buffer of `frame.len()` bytes and `ll` a live sockaddr_ll whose
    // exact size is passed.
    let n = unsafe {
        libc::sendto(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            0,
            (&raw const ll).cast::<libc::sockaddr>(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, block everything)`: a send-only ICMPv6 socket
/// must not queue every ICMPv6 message the host receives.
pub(crate) fn block_all_icmpv6(fd: RawFd) -> io::Result<()> {
    /// `ICMP6_FILTER` (netinet/icmp6.h).
    const ICMP6_FILTER: i32 = 1;
    let filter = [u32::MAX; 8];
    // SAFETY: the option value points at a live 32-byte `struct icmp6_filter` equivalent and
    // its exact size is passed.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_ICMPV6,
            ICMP6_FILTER,
            filter.as_ptr().cast::<libc::c_void>(),
            mem::size_of_val(&filter) as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `kill(-pgid, SIGKILL)`: ends a script and everything it started (it runs in a process
/// group of its own).
pub(crate) fn kill_process_group(pgid: u32) -> io::Result<()> {
    signal_process_group(pgid, libc::SIGKILL)
}

/// `kill(-pgid, SIGTERM)`: asks a script and everything it started to end.
pub(crate) fn terminate_process_group(pgid: u32) -> io::Result<()> {
    signal_process_group(pgid, libc::SIGTERM)
}

fn signal_process_group(pgid: u32, signal: libc::c_int) -> io::Result<()> {
    let pgid = libc::pid_t::try_from(pgid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    if pgid <= 1 {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: kill(2) has no memory-safety preconditions; a positive pgid > 1 was checked above
    // so this never signals every process (-1) or our own group (0).
    let r = unsafe { libc::kill(-pgid, signal) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Makes the child of `cmd` run as `uid`:`gid` with `gid` as its only group, and get SIGTERM
/// when the thread that spawns it dies, failing closed: the child is not executed if any of it
/// fails. Between fork and exec it calls, in this order, `setgroups(1, [gid])` (std ignores
/// EPERM from it, and clears the groups only when the uid changes), `setgid`, `setuid`,
/// `prctl(PR_SET_PDEATHSIG, SIGTERM)` (after the credentials, whose change clears it), and
/// checks that the daemon did not die meanwhile (the signal would then never come).
///
/// With `change_ids` false (a daemon that is not root running a script as itself, which it
/// could not change anyway) the credentials are left as they are.
pub(crate) fn exec_as(cmd: &mut std::process::Command, uid: u32, gid: u32, change_ids: bool) {
    use std::os::unix::process::CommandExt as _;
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    let groups: [libc::gid_t; 1] = [gid];
    let hook = move || {
        if change_ids {
            // SAFETY: `groups` is a live array of one gid_t, its length passed.
            if unsafe { libc::setgroups(1, groups.as_ptr()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: setgid(2) takes a number and no pointers.
            if unsafe { libc::setgid(gid) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: setuid(2) takes a number and no pointers.
            if unsafe { libc::setuid(uid) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and no pointers.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: getppid(2) has no preconditions.
        if unsafe { libc::getppid() } != parent {
            // The daemon died between fork and prctl: the signal would never come.
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec and calls only setgroups(2),
    // setgid(2), setuid(2), prctl(2) and getppid(2), all async-signal-safe (std's own pre-exec
    // code calls the first three there too); it allocates nothing (the errors are raw os
    // errors, and `groups` was built before the fork).
    unsafe { cmd.pre_exec(hook) };
}

/// Whether the child `pid` has exited, without reaping it (`waitid(P_PID, pid,
/// WEXITED | WNOHANG | WNOWAIT)`): its wait status (as `waitpid` gives it) if it has. Its pid,
/// and so its process group's id, stays taken until it is reaped.
pub(crate) fn exited_unreaped(pid: u32) -> io::Result<Option<i32>> {
    let id = libc::id_t::from(pid);
    // SAFETY: siginfo_t is plain data; all-zero is a valid value ("no child changed state").
    let mut info: libc::siginfo_t = unsafe { mem::zeroed() };
    // SAFETY: `info` is a live, exclusively borrowed siginfo_t for the call.
    let r = unsafe { libc::waitid(libc::P_PID, id, &raw mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: waitid filled `info` for SIGCHLD (or left it zeroed); si_pid and si_status are
    // the fields of that union member, and a zero si_pid means nothing changed.
    let (child, status) = unsafe { (info.si_pid(), info.si_status()) };
    if child == 0 {
        return Ok(None);
    }
    Ok(Some(match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    }))
}

/// What a `getpwnam_r` / `getgrnam_r` return value means: `Ok(true)` found, `Ok(false)` no
/// such name. Besides 0 with no result, glibc documents ENOENT, ESRCH, EBADF and EPERM as
/// "the given name was not found" (getpwnam(3)), and NSS modules return them for a name they
/// do not have; anything else is an error.
pub(crate) fn lookup_outcome(r: libc::c_int, found: bool) -> io::Result<bool> {
    match r {
        0 => Ok(found),
        libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => Ok(false),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// A user's uid and primary gid, by name (`getpwnam_r`, so NSS sources count as they
/// do for keepalived); `Ok(None)` when there is no such user ([`lookup_outcome`]).
pub(crate) fn user_by_name(name: &str) -> io::Result<Option<(u32, u32)>> {
    let name = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: passwd is plain data; all-zero is a valid value, filled in by the call.
        let mut pwd: libc::passwd = unsafe { mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated, `pwd`, `buf` (of the length passed) and `result`
        // are live and exclusively borrowed for the call.
        let r = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        match r {
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            r => return Ok(lookup_outcome(r, !result.is_null())?.then_some((pwd.pw_uid, pwd.pw_gid))),
        }
    }
}

/// A group's gid, by name (`getgrnam_r`); `Ok(None)` when there is no such group.
pub(crate) fn group_by_name(name: &str) -> io::Result<Option<u32>> {
    let name = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: group is plain data; all-zero is a valid value, filled in by the call.
        let mut grp: libc::group = unsafe { mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in user_by_name, for getgrnam_r and a group.
        let r = unsafe { libc::getgrnam_r(name.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        match r {
            libc::ERANGE if buf.len() < 1 << 20 => buf.resize(buf.len() * 4, 0),
            r => return Ok(lookup_outcome(r, !result.is_null())?.then_some(grp.gr_gid)),
        }
    }
}

/// Our effective uid and gid (`geteuid`, `getegid`).
pub(crate) fn effective_ids() -> (u32, u32) {
    // SAFETY: geteuid(2) and getegid(2) have no preconditions and cannot fail.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// getpwnam(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ...: The given name or uid was
    /// not found." Only other errors are failures of the lookup.
    #[test]
    fn lookup_errors_that_mean_no_such_name() {
        assert!(lookup_outcome(0, true).unwrap());
        assert!(!lookup_outcome(0, false).unwrap());
        for e in [libc::ENOENT, libc::ESRCH, libc::EBADF, libc::EPERM] {
            assert!(!lookup_outcome(e, false).unwrap(), "errno {e}");
        }
        for e in [libc::EIO, libc::EMFILE, libc::ENFILE, libc::EINTR] {
            assert_eq!(lookup_outcome(e, false).unwrap_err().raw_os_error(), Some(e));
        }
    }
}
