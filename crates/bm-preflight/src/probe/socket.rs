//! The Linux backend: a [`Prober`] run on one interface over `AF_PACKET` sockets (one for ARP,
//! one for IPv6), with the real clock.

// The backend is I/O on purpose: it reads the clock and waits on sockets.
#![allow(clippy::disallowed_methods)]

use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bm_sys::packet::{PacketSocket, PacketType};

use super::frame::{ETHERTYPE_ARP, ETHERTYPE_IPV6, MacAddr, solicited_node};
use super::prober::{ProbeConfig, ProbeError, Prober, TargetReport};

/// Why probing an interface failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SocketError {
    /// The targets or the configuration (nothing was sent).
    #[error(transparent)]
    Probe(#[from] ProbeError),
    /// No such interface.
    #[error("interface {interface:?}: {source}")]
    Interface {
        /// Its name.
        interface: String,
        /// What `if_nametoindex` said.
        source: io::Error,
    },
    /// The interface's link-layer address is not an Ethernet one.
    #[error("interface {interface:?} has no Ethernet address (it has {address:02x?})")]
    NotEthernet {
        /// Its name.
        interface: String,
        /// What it has.
        address: Vec<u8>,
    },
    /// A socket call failed (opening needs `CAP_NET_RAW`).
    #[error("{what} on {interface:?}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The interface.
        interface: String,
        /// The error.
        source: io::Error,
    },
    /// The probing went on past its own schedule by more than a margin (a clock or scheduler
    /// far behind): the reports so far are not trusted.
    #[error("probing on {interface:?} did not end by its deadline")]
    Overran {
        /// The interface.
        interface: String,
    },
}

/// The longest the probing can take by `config`, and a margin for a slow scheduler.
fn deadline(config: &ProbeConfig) -> Duration {
    let per_round = config.interval.saturating_add(config.interval_jitter);
    config
        .initial_delay_max
        .saturating_add(per_round.saturating_mul(config.probes))
        .saturating_add(config.wait)
        .saturating_add(Duration::from_secs(10))
}

/// Probes `targets` on `interface`: sends the probes from the interface's own MAC, reads every
/// ARP and IPv6 frame the interface receives until the listening ends (the host's own
/// outgoing frames, frames for other hosts, and frames of VLANs on top of the interface
/// skipped: probe a VLAN on its own interface), and returns one report per target, in the
/// order given (duplicates once). Blocks for the probing's length (about 1.4 s with [`ProbeConfig::default`]); every
/// wait has a deadline. Needs `CAP_NET_RAW`.
///
/// For IPv6 targets the sockets also let in the targets' solicited-node Ethernet groups (a
/// link-layer filter only: no MLD report is sent), so that another host's duplicate address
/// detection is heard through a NIC's multicast filter.
///
/// `also_ours`: the MACs of the host's other interfaces, whose answers are the host's own
/// ([`Prober::also_ours`]).
pub fn probe_interface(
    interface: &str,
    targets: impl IntoIterator<Item = IpAddr>,
    config: ProbeConfig,
    also_ours: &[MacAddr],
) -> Result<Vec<TargetReport>, SocketError> {
    let targets: Vec<IpAddr> = targets.into_iter().collect();
    let io_err = |what: &'static str| {
        move |source: io::Error| SocketError::Io { what, interface: interface.to_string(), source }
    };
    let ifindex = bm_sys::packet::ifindex(interface)
        .map_err(|source| SocketError::Interface { interface: interface.to_string(), source })?;
    let arp = if targets.iter().any(IpAddr::is_ipv4) {
        Some(PacketSocket::open(ifindex, ETHERTYPE_ARP).map_err(io_err("opening an ARP packet socket"))?)
    } else {
        None
    };
    let ipv6 = if targets.iter().any(IpAddr::is_ipv6) {
        Some(PacketSocket::open(ifindex, ETHERTYPE_IPV6).map_err(io_err("opening an IPv6 packet socket"))?)
    } else {
        None
    };
    let Some(any) = arp.as_ref().or(ipv6.as_ref()) else {
        return Err(ProbeError::NoTargets.into());
    };
    let address = any.hardware_address().map_err(io_err("reading the interface's MAC address"))?;
    let mac = MacAddr(
        <[u8; 6]>::try_from(address.as_slice())
            .map_err(|_| SocketError::NotEthernet { interface: interface.to_string(), address: address.clone() })?,
    );
    if let Some(s) = &ipv6 {
        for t in &targets {
            if let IpAddr::V6(a) = t {
                s.join_multicast(&MacAddr::ipv6_multicast(solicited_node(*a)).0)
                    .map_err(io_err("letting in a solicited-node group"))?;
            }
        }
    }

    let start = Instant::now();
    let mut prober = Prober::new(start, mac, targets, config)?;
    prober.also_ours(also_ours.iter().copied());
    // `Prober::new` refused timings of more than a day, so this cannot overflow.
    let hard_deadline = start.checked_add(deadline(&config)).unwrap_or(start);
    let sockets: Vec<&PacketSocket> = arp.iter().chain(ipv6.iter()).collect();
    let mut buf = vec![0u8; 2048];
    loop {
        let now = Instant::now();
        prober.handle_timeout(now);
        while let Some(t) = prober.poll_transmit(now) {
            let socket = if t.target.is_ipv4() { arp.as_ref() } else { ipv6.as_ref() };
            if let Some(s) = socket {
                s.send(&t.frame).map_err(io_err("sending a probe"))?;
            }
        }
        let Some(next) = prober.poll_timeout() else { break };
        if now >= hard_deadline {
            return Err(SocketError::Overran { interface: interface.to_string() });
        }
        let wait = next.min(hard_deadline).saturating_duration_since(now);
        let fds: Vec<_> = sockets.iter().map(|s| s.fd()).collect();
        let ready = bm_sys::poll::wait(&fds, Some(wait)).map_err(io_err("waiting for frames"))?;
        for (s, ready) in sockets.iter().zip(ready) {
            if !ready {
                continue;
            }
            // At most a queue's worth per wake-up, so that a flood cannot hold off the schedule.
            for _ in 0..256 {
                let Some(r) = s.try_recv(&mut buf).map_err(io_err("receiving a frame"))? else { break };
                // Our own frames, frames for other hosts (a VLAN the host has no device for, in
                // promiscuous mode), and frames the kernel delivers on a device on top of the
                // interface (a VLAN's): none is an answer on this segment.
                if r.ifindex != ifindex || matches!(r.packet_type, PacketType::Outgoing | PacketType::OtherHost) {
                    continue;
                }
                prober.handle_frame(Instant::now(), &buf[..r.len]);
            }
        }
    }
    Ok(prober.into_reports())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_covers_the_schedule() {
        let d = ProbeConfig::default();
        assert_eq!(deadline(&d), Duration::from_millis(3 * 200 + 1000 + 10_000));
        let r = ProbeConfig::rfc5227(0);
        assert_eq!(deadline(&r), Duration::from_secs(1 + 3 * 2 + 2 + 10));
    }

    #[test]
    fn a_missing_interface_is_named() {
        let e = probe_interface("bm-nope0", ["192.0.2.1".parse().unwrap()], ProbeConfig::default(), &[]).unwrap_err();
        assert!(matches!(&e, SocketError::Interface { interface, .. } if interface == "bm-nope0"), "{e}");
        let e = probe_interface("lo", std::iter::empty(), ProbeConfig::default(), &[]).unwrap_err();
        assert!(matches!(e, SocketError::Probe(ProbeError::NoTargets)), "{e}");
    }
}
