//! TCP and IP socket options socket2 does not set: the TCP-MD5 signature key of a peer
//! (RFC 2385, `TCP_MD5SIG`) and the minimum TTL / hop limit of received packets (RFC 5082 GTSM,
//! `IP_MINTTL` / `IPV6_MINHOPCOUNT`); and entering a network namespace (`setns(2)`).

use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;

/// The error of a non-blocking `connect(2)` under way (`EINPROGRESS`): wait until writable,
/// then read `SO_ERROR`.
pub const CONNECT_IN_PROGRESS: i32 = libc::EINPROGRESS;

/// The longest TCP-MD5 key Linux takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY_LEN: usize = 80;

/// `struct tcp_md5sig` of `<linux/tcp.h>`.
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefix_len: u8,
    key_len: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

/// Sets (or, with an empty `key`, removes) the TCP-MD5 key for segments to and from `peer` on
/// `fd`, a TCP socket of `peer`'s family. Set it before `connect` (or on a listening socket):
/// the SYN is signed too.
///
/// # Errors
///
/// `InvalidInput` for a key over [`MD5_MAX_KEY_LEN`] bytes; the kernel's error otherwise
/// (`ENOENT` removing a key that was never set, `EINVAL` for a peer of the wrong family).
pub fn set_md5_key(fd: BorrowedFd<'_>, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "TCP-MD5 keys are at most 80 bytes"));
    }
    // SAFETY: all-zero bytes are a valid value of this plain C struct.
    let mut sig: TcpMd5Sig = unsafe { mem::zeroed() };
    match peer {
        IpAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let sin = unsafe { &mut *(&raw mut sig.addr).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.octets());
        }
        IpAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(&raw mut sig.addr).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_addr.s6_addr = a.octets();
        }
    }
    sig.key_len = key.len() as u16;
    sig.key[..key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
}

/// Drops received packets with a TTL (IPv4) or hop limit (IPv6) below `min`: GTSM (RFC 5082)
/// with `min` = 255 - hops + 1. `v6` says which option: `IPV6_MINHOPCOUNT` on an IPv6
/// socket, `IP_MINTTL` on an IPv4 one.
///
/// # Errors
///
/// The kernel's (`ENOPROTOOPT` on the wrong family).
pub fn set_min_ttl(fd: BorrowedFd<'_>, v6: bool, min: u8) -> io::Result<()> {
    let value = libc::c_int::from(min);
    if v6 {
        setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &value)
    } else {
        setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &value)
    }
}

/// The minimum TTL set on `fd` (`IP_MINTTL` or `IPV6_MINHOPCOUNT`).
///
/// # Errors
///
/// The kernel's.
pub fn min_ttl(fd: BorrowedFd<'_>, v6: bool) -> io::Result<u8> {
    let (level, name) =
        if v6 { (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT) } else { (libc::IPPROTO_IP, libc::IP_MINTTL) };
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `value` and `len` are live and `len` is the size of `value`.
    let r = unsafe { libc::getsockopt(fd.as_raw_fd(), level, name, (&raw mut value).cast(), &raw mut len) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value.clamp(0, 255) as u8)
}

fn setsockopt<T>(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` is a live `T` of `size_of::<T>()` bytes, read by the kernel only.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Moves the calling thread into the network namespace at `path` (`/run/netns/NAME` as
/// `ip netns add` makes it, or `/proc/PID/ns/net`): sockets it creates afterwards belong to
/// that namespace; other threads stay where they are. Needs `CAP_SYS_ADMIN`.
///
/// # Errors
///
/// Opening `path`, or `setns(2)`'s (`EINVAL`: not a network namespace; `EPERM`).
pub fn enter_netns(path: &Path) -> io::Result<()> {
    let file = std::fs::File::open(path)?;
    // SAFETY: `file` is an open descriptor for the duration of the call.
    let r = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
// Tests open sockets and start a thread on purpose.
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
    use std::os::fd::AsFd;

    #[test]
    fn md5_keys_are_set_and_removed() {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        set_md5_key(v4.as_fd(), peer, b"a secret").unwrap();
        set_md5_key(v4.as_fd(), peer, &[7; MD5_MAX_KEY_LEN]).unwrap();
        // Removed once; a second removal finds no key.
        set_md5_key(v4.as_fd(), peer, b"").unwrap();
        assert_eq!(set_md5_key(v4.as_fd(), peer, b"").unwrap_err().raw_os_error(), Some(libc::ENOENT));
        let long = set_md5_key(v4.as_fd(), peer, &[7; MD5_MAX_KEY_LEN + 1]).unwrap_err();
        assert_eq!(long.kind(), io::ErrorKind::InvalidInput);
        if let Ok(v6) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
            set_md5_key(v6.as_fd(), IpAddr::V6("2001:db8::1".parse().unwrap()), b"six").unwrap();
        }
    }

    #[test]
    fn min_ttl_is_set() {
        let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        assert_eq!(min_ttl(v4.as_fd(), false).unwrap(), 0);
        set_min_ttl(v4.as_fd(), false, 255).unwrap();
        assert_eq!(min_ttl(v4.as_fd(), false).unwrap(), 255);
        if let Ok(v6) = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)) {
            set_min_ttl(v6.as_fd(), true, 254).unwrap();
            assert_eq!(min_ttl(v6.as_fd(), true).unwrap(), 254);
        }
    }

    #[test]
    fn only_network_namespaces_are_entered() {
        // On a thread of its own: entering changes only the calling thread.
        std::thread::spawn(|| {
            let err = enter_netns(Path::new("/dev/null")).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
            // Our own namespace: allowed for root (CAP_SYS_ADMIN), EPERM otherwise.
            match enter_netns(Path::new("/proc/self/ns/net")) {
                Ok(()) => {}
                Err(e) => assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}"),
            }
        })
        .join()
        .unwrap();
    }
}
