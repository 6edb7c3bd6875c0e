//! The AF_XDP path (feature `xdp`): UDP queries to the server's addresses and port are taken
//! off the interface by a small XDP program, before the kernel's IP and UDP layers, into an
//! AF_XDP socket per receive queue, answered in place in shared memory and handed back to the
//! driver in batches — no socket buffer, no per-packet system call. Everything else (ARP, TCP,
//! other ports and addresses, IPv4 options and fragments, extension headers) goes on to the
//! kernel, and so do the answers this path cannot send itself: forwarded queries and answers
//! larger than 1280 bytes or the interface's MTU leave through the server's ordinary UDP
//! socket, from the address the client asked. The listening addresses must be named: a
//! wildcard would take the DNS traffic of other hosts routed through this one.
//!
//! Knot DNS's XDP mode is the model. Needs `CAP_NET_ADMIN`, `CAP_NET_RAW` and `CAP_BPF` (or
//! root). The program is attached with a BPF link, so it goes away with the process, crash
//! included; another XDP program on the interface makes the start fail, saying so.
//!
//! **What this path skips.** The program takes the packets before the kernel's IP layer, so
//! nothing the kernel would do to them happens: netfilter (iptables/nftables rules, conntrack,
//! the `INPUT` chain a firewall relies on), reverse-path filtering (`rp_filter`), the kernel's
//! martian-source checks, and socket-level filters. The server applies its own rules instead:
//! the same access lists as on its sockets (`allow_query`, `allow_recursion`), the rate limit
//! when configured, and it drops packets whose source can be no real client: loopback,
//! unspecified, multicast, broadcast and reserved addresses, IPv4-mapped or -compatible IPv6
//! sources, and its own listening addresses (`crate::Martian`). A firewall rule that should
//! keep a network away from the DNS server does not apply to `--xdp`: put it in the access
//! lists, or do not use XDP on that interface.
//!
//! Answers go back to the MAC address the query came from, untagged. Frames with a VLAN tag in
//! them go to the kernel, but a NIC that strips tags on receive (VLAN offload) hides them from
//! XDP: on such an interface, do not listen on a VLAN sub-interface's address with `--xdp` on
//! the parent, or turn the offload off (`ethtool -K IFACE rxvlan off`).

// The XDP path is I/O on purpose: sockets, threads, sysfs.
#![allow(clippy::disallowed_methods)]

pub mod frame;
mod program;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::config::{ServerConfig, TICK};
use super::error::ServerError;
use super::queue::{ReplyTo, Submission};
use super::shared::{Counters, Shared, limit};
use super::threads::Threads;
use crate::access::martian;
use crate::answer::{Outcome, Transport};
use bm_sys::udp::send_from;
use bm_sys::xdp as sys;

/// Queries taken from the ring per batch.
const BATCH: u32 = 64;

/// Batches served before the worker looks at the stop flag, the zone and the MTU again.
const BATCHES_PER_ROUND: u32 = 16;

/// The largest IP packet sent over XDP: 1280 bytes, the minimum IPv6 MTU, which is what the
/// default EDNS payload of 1232 fits (DNS Flag Day 2020). This path cannot learn a smaller path
/// MTU (the ICMP errors go to the kernel), so larger answers leave through the kernel's socket,
/// which does.
const MAX_XDP_PACKET: usize = 1280;

/// How often a worker reads the interface's MTU again.
const MTU_REFRESH: Duration = Duration::from_secs(1);

/// How long a worker with answers stuck in its TX ring (a busy device) waits before asking again.
const TX_RETRY: Duration = Duration::from_micros(50);

/// Queries found in one drain from which the worker counts as busy. A busy worker sleeps the
/// server's `batch_wait` before draining again, rather than waiting in `poll(2)` to be woken
/// by the next packet: under load one wake-up and one send call then serve a whole batch (what
/// NAPI does for a NIC's interrupts), and the client's stack delivers answers in bursts. The
/// price, under load only, is up to that wait in latency; a worker that finds fewer queries
/// answers every one as it arrives.
const BUSY: u32 = 8;

/// What the XDP path needs of the listening addresses, checked before anything is bound: one
/// port, given, and named addresses — the program takes UDP for exactly those, and a wildcard
/// would take the DNS traffic of other hosts routed through this one.
pub(crate) fn check(config: &ServerConfig) -> Result<(), ServerError> {
    let Some(interface) = config.xdp.first() else { return Ok(()) };
    let refuse = |why: &str| {
        let source = io::Error::new(io::ErrorKind::InvalidInput, why.to_string());
        Err(ServerError::Xdp { interface: interface.clone(), source })
    };
    let port = config.listen[0].port();
    if port == 0 || config.listen.iter().any(|a| a.port() != port) {
        return refuse("every listening address must have the same port, not 0");
    }
    if config.listen.iter().any(|a| a.ip().is_unspecified()) {
        return refuse("a wildcard listening address would take DNS traffic meant for other hosts; name the addresses");
    }
    Ok(())
}

/// Attaches the program to each of `config.xdp` for the listening addresses `local` and starts
/// a worker per receive queue. `kernel` holds a socket per listening address for the answers
/// this path cannot send itself.
pub(crate) fn start(
    config: &ServerConfig,
    local: &[SocketAddr],
    shared: &Arc<Shared>,
    kernel: &[UdpSocket],
    threads: &mut Threads,
) -> Result<Vec<Attachment>, ServerError> {
    let mut attachments = Vec::new();
    let addresses: Vec<IpAddr> = local.iter().map(SocketAddr::ip).collect();
    for interface in &config.xdp {
        let err = |source| ServerError::Xdp { interface: interface.clone(), source };
        let (attachment, queues) = attach(interface, local[0].port(), &addresses).map_err(err)?;
        attachments.push(attachment);
        for queue in queues {
            let sockets = kernel.iter().map(UdpSocket::try_clone).collect::<io::Result<Vec<_>>>().map_err(err)?;
            let (s, local, wait) = (shared.clone(), local.to_vec(), config.batch_wait);
            threads.spawn("bm-dns-xdp", move || worker(queue, &s, &local, &sockets, wait))?;
        }
    }
    Ok(attachments)
}

/// The program attached to one interface; dropping it detaches the program.
#[derive(Debug)]
pub(crate) struct Attachment {
    _link: OwnedFd,
    _program: OwnedFd,
    _map: OwnedFd,
}

/// One receive queue's socket, ready for a worker thread.
pub(crate) struct Queue {
    xsk: sys::Xsk,
    /// Where the interface's MTU is read.
    mtu_file: String,
    ifindex: u32,
}

fn read_mtu(file: &str) -> usize {
    std::fs::read_to_string(file).ok().and_then(|m| m.trim().parse().ok()).unwrap_or(1500)
}

/// Opens a socket on every receive queue of `interface` and attaches the program sending UDP
/// port `port` for the addresses `listen` to them. The addresses must be named: a wildcard
/// would take DNS traffic routed through this host, or meant for another resolver on it.
fn attach(interface: &str, port: u16, listen: &[IpAddr]) -> io::Result<(Attachment, Vec<Queue>)> {
    debug_assert!(!listen.iter().any(IpAddr::is_unspecified), "the server refuses wildcards first");
    let v4: Vec<Ipv4Addr> = listen.iter().filter_map(|a| if let IpAddr::V4(a) = a { Some(*a) } else { None }).collect();
    let v6: Vec<Ipv6Addr> = listen.iter().filter_map(|a| if let IpAddr::V6(a) = a { Some(*a) } else { None }).collect();
    if v4.len() > program::MAX_ADDRESSES || v6.len() > program::MAX_ADDRESSES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("at most {} addresses of each family", program::MAX_ADDRESSES),
        ));
    }
    let sysfs = format!("/sys/class/net/{interface}");
    let read = |what: &str| std::fs::read_to_string(format!("{sysfs}/{what}"));
    let ifindex: u32 = read("ifindex")
        .map_err(|e| io::Error::new(e.kind(), format!("no interface {interface} ({sysfs}: {e})")))?
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("{sysfs}/ifindex is not a number")))?;
    // A socket sends on the TX queue of its own number: only queues with both get one (the
    // program passes what arrives on the others to the kernel).
    let count = |prefix: &str| {
        std::fs::read_dir(format!("{sysfs}/queues"))
            .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with(prefix)).count())
            .unwrap_or(1)
    };
    let queues = count("rx-").min(count("tx-")).max(1) as u32;
    let map = sys::create_xskmap(queues)?;
    let mut sockets = Vec::new();
    for q in 0..queues {
        let xsk = sys::Xsk::open(ifindex, q).map_err(|e| {
            let busy = format!("queue {q} already has an AF_XDP socket (another XDP server on {interface}?)");
            explained(e, busy, &format!("AF_XDP socket on queue {q}"))
        })?;
        sys::map_set(&map, q, xsk.as_raw_fd())?;
        sockets.push(Queue { xsk, mtu_file: format!("{sysfs}/mtu"), ifindex });
    }
    let program = sys::load_xdp(&program::udp_port_redirect(port, &v4, &v6, map.as_raw_fd()))?;
    let link = sys::attach_xdp(&program, ifindex).map_err(|e| {
        let busy = format!("another XDP program is attached (`ip link set dev {interface} xdp off` removes it)");
        explained(e, busy, "attaching the XDP program")
    })?;
    Ok((Attachment { _link: link, _program: program, _map: map }, sockets))
}

/// `EBUSY` (asm-generic/errno-base.h).
const EBUSY: i32 = 16;

/// The error `e` of a step, said as what it means when the kernel answers EBUSY (something
/// else holds the queue or the interface), else prefixed with the step.
fn explained(e: io::Error, busy: String, step: &str) -> io::Error {
    let why = if e.raw_os_error() == Some(EBUSY) { busy } else { format!("{step}: {e}") };
    io::Error::new(e.kind(), why)
}

/// Answers the queries arriving on one queue until the server stops. `kernel[i]` is the UDP
/// socket of listening address `local[i]`: what this path cannot answer itself leaves through
/// it (and a query to any other address, which the program does not take, would be dropped).
fn worker(mut queue: Queue, shared: &Shared, local: &[SocketAddr], kernel: &[UdpSocket], batch_wait: Duration) {
    let mut out = Vec::with_capacity(4096);
    let mut ip_id: u16 = 0;
    let ifindex = queue.ifindex;
    let own: Vec<IpAddr> = local.iter().map(SocketAddr::ip).collect();
    let counters = &shared.counters;
    // The pause must be what it says: the default slack would let 200 us become 250.
    bm_sys::thread::set_timer_slack(Duration::from_micros(1));
    let mut max_packet = read_mtu(&queue.mtu_file).min(MAX_XDP_PACKET);
    let mut mtu_read = Instant::now();
    while !shared.stopped() {
        // The MTU once a second (answers larger than the link carries go through the kernel,
        // which fragments; the driver would drop them), what is served once a round (a reload).
        if mtu_read.elapsed() >= MTU_REFRESH {
            max_packet = read_mtu(&queue.mtu_file).min(MAX_XDP_PACKET);
            mtu_read = Instant::now();
        }
        let served = shared.served();
        let now = served.rrl.is_some().then(Instant::now);
        let mut answer = |buf: &mut [u8], len: usize| -> Option<usize> {
            let d = frame::parse(&buf[..len]).ok()?;
            // The kernel's martian and reverse-path checks never saw this packet.
            if martian(d.source.ip(), &own).is_some() {
                Counters::add(&counters.xdp_martians, 1);
                return None;
            }
            let listen = local.iter().position(|a| a.port() == d.destination.port() && a.ip() == d.destination.ip())?;
            let socket = &kernel[listen];
            let query = &buf[d.payload.clone()];
            let to_kernel = |bytes: &[u8]| send_from(socket.as_fd(), bytes, d.destination.ip(), d.source, ifindex);
            match served.responder.respond(query, d.source.ip(), Transport::Udp, &mut out) {
                Outcome::Answered => {
                    if !limit(&served, now, d.source.ip(), &mut out, counters) {
                        return None;
                    }
                    let at = frame::reply_payload_offset(&d);
                    let ip_len = at - frame::ETHERNET_HEADER + out.len();
                    if at + out.len() <= buf.len() && ip_len <= max_packet {
                        buf[at..at + out.len()].copy_from_slice(&out);
                        ip_id = ip_id.wrapping_add(1);
                        Some(frame::write_reply(buf, &d, out.len(), ip_id))
                    } else {
                        let _ = to_kernel(&out);
                        None
                    }
                }
                Outcome::Forward => {
                    let from = Some((d.destination.ip(), ifindex));
                    let reply = ReplyTo::Udp { listen, client: d.source, from };
                    let s = Submission { query: query.to_vec(), client: d.source, transport: Transport::Udp, reply };
                    if !shared.inbox.submit(s) {
                        Counters::add(&counters.forward_queue_full, 1);
                    }
                    None
                }
                Outcome::Drop => None,
            }
        };
        // Drain the ring (a bounded number of batches, so that the round ends under any load),
        // then wait for more: see `BUSY`.
        let mut taken = Ok(0);
        for _ in 0..BATCHES_PER_ROUND {
            match queue.xsk.serve(BATCH, &mut answer) {
                Ok(n) => {
                    taken = taken.map(|t| t + n);
                    if n < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    taken = Err(e);
                    break;
                }
            }
        }
        match taken {
            // The ring's send failed (the interface went down, say): wait rather than spin.
            Err(_) => std::thread::sleep(TICK),
            Ok(n) if n >= BATCH * BATCHES_PER_ROUND => {}
            Ok(n) if n >= BUSY && !batch_wait.is_zero() => std::thread::sleep(batch_wait),
            // Answers still in the TX ring (a busy device) need another kick, not a packet.
            Ok(_) if queue.xsk.tx_pending() => std::thread::sleep(TX_RETRY),
            Ok(0) => queue.xsk.wait(TICK),
            Ok(_) => {}
        }
    }
}
