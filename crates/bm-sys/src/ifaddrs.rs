//! The host's interface addresses (`getifaddrs(3)`).

use std::io;
use std::mem;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::udp::from_storage;

/// Every address of every interface with its prefix length (`getifaddrs(3)`).
pub fn interface_nets() -> io::Result<Vec<IpNet>> {
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

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_is_among_the_interface_nets() {
        let nets = super::interface_nets().unwrap();
        assert!(nets.contains(&"127.0.0.1/8".parse().unwrap()), "{nets:?}");
    }
}
