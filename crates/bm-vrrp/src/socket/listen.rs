//! Listening to the adverts on an interface for a while: the backend of a [`Survey`].
//!
//! One raw protocol 112 socket per family, bound to the interface with the VRRP groups joined
//! (the daemon's own sockets), so multicast adverts of either version and unicast adverts sent
//! to this host's addresses on that interface arrive. No VRRP message is sent (joining the
//! groups sends the IGMP / MLD reports any multicast listener sends).

use std::time::{Duration, Instant};

use super::netlink::Netlink;
use super::vrrp_socket::VrrpSocket;
use super::{Error, InterfaceProblem};
use crate::Survey;

/// The most messages read per wake-up per socket, so one busy family cannot hold the other off.
const BATCH: usize = 64;

/// Listens on `interface` for `duration` and returns what was heard. Both families are
/// listened to; one that cannot be (IPv6 disabled on the interface) is skipped when the other
/// works. Needs `CAP_NET_RAW`.
pub fn listen(interface: &str, duration: Duration) -> Result<Survey, Error> {
    let mut netlink = Netlink::open().map_err(|source| Error::Netlink { what: "reading links", source })?;
    let links = netlink.links().map_err(|source| Error::Netlink { what: "reading links", source })?;
    let link = links
        .iter()
        .find(|l| l.name == interface)
        .ok_or_else(|| Error::Interface { name: interface.to_string(), reason: InterfaceProblem::Missing })?;
    let mut sockets = Vec::new();
    let mut first_error = None;
    for ipv6 in [false, true] {
        match VrrpSocket::open(interface, link.index, ipv6) {
            Ok(s) => sockets.push(s),
            Err(source) => {
                let what = format!("opening a raw VRRP {} socket on {interface}", if ipv6 { "IPv6" } else { "IPv4" });
                first_error.get_or_insert(Error::Io { what, source });
            }
        }
    }
    if sockets.is_empty() {
        return Err(first_error.expect("a socket failed to open"));
    }
    let start = Instant::now();
    // A duration too long for the clock listens for as long as the clock goes (a day is more
    // than anyone waits; `checked_add` keeps an absurd one from panicking).
    let deadline = start.checked_add(duration).unwrap_or_else(|| start + Duration::from_secs(86_400 * 365));
    let mut survey = Survey::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(survey);
        }
        let fds: Vec<_> = sockets.iter().map(VrrpSocket::fd).collect();
        let ready = bm_sys::poll::wait(&fds, Some(left))
            .map_err(|source| Error::Io { what: "waiting for adverts".to_string(), source })?;
        for (socket, ready) in sockets.iter_mut().zip(ready) {
            if !ready {
                continue;
            }
            for _ in 0..BATCH {
                match socket.recv() {
                    Ok(Some(d)) => {
                        // Malformed messages are counted by the survey; nothing else to do.
                        let _ = survey.handle_packet(start.elapsed(), d.src, d.dst, d.ttl, d.payload);
                    }
                    Ok(None) => break,
                    // A malformed IPv4 header (the kernel delivered it; nothing of it is
                    // VRRP to count): the listening goes on until the deadline.
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => break,
                    Err(source) => return Err(Error::Io { what: format!("receiving on {interface}"), source }),
                }
            }
        }
    }
}
