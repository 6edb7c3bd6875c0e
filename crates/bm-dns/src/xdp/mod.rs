//! The AF_XDP path (feature `xdp`): UDP queries to the server's port are taken off the
//! interface by a small XDP program, before the kernel's IP and UDP layers, into an AF_XDP
//! socket per receive queue, answered in place in shared memory and handed back to the driver
//! in batches — no socket buffer, no per-packet system call. Everything else (ARP, TCP,
//! other ports, IPv4 options and fragments, extension headers) goes on to the kernel, and so do
//! the answers this path cannot send itself: forwarded queries and answers larger than a frame
//! or the interface's MTU leave through the server's ordinary UDP socket, from the address the
//! client asked.
//!
//! Knot DNS's XDP mode is the model. Needs `CAP_NET_ADMIN`, `CAP_NET_RAW` and `CAP_BPF` (or
//! root). The program is attached with a BPF link, so it goes away with the process, crash
//! included; another XDP program on the interface makes the start fail, saying so.
//!
//! Answers go back to the MAC address the query came from, untagged. Frames with a VLAN tag in
//! them go to the kernel, but a NIC that strips tags on receive (VLAN offload) hides them from
//! XDP: on such an interface, name the addresses in `--listen` so that a query to a VLAN
//! sub-interface's address is not taken, or turn the offload off (`ethtool -K IFACE rxvlan
//! off`).

// The XDP path is I/O on purpose: sockets, threads, sysfs.
#![allow(clippy::disallowed_methods)]

pub mod frame;
mod program;
mod sys;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use crate::answer::{Outcome, Transport, servfail};
use crate::server::{Job, ServerHandle, TICK};

pub(crate) use sys::send_from;

/// Queries taken from the ring per batch.
const BATCH: u32 = 64;

/// Queries found in one drain from which the worker counts as busy. A busy worker sleeps the
/// server's `xdp_batch_wait` before draining again, rather than waiting in `poll(2)` to be woken
/// by the next packet: under load one wake-up and one send call then serve a whole batch (what
/// NAPI does for a NIC's interrupts), and the client's stack delivers answers in bursts. The
/// price, under load only, is up to that wait in latency; a worker that finds fewer queries
/// answers every one as it arrives.
const BUSY: u32 = 8;

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
}

/// How often a worker reads the interface's MTU again (an answer larger than it must go
/// through the kernel, which fragments; the driver would drop it).
const MTU_REFRESH: Duration = Duration::from_secs(1);

fn read_mtu(file: &str) -> usize {
    std::fs::read_to_string(file).ok().and_then(|m| m.trim().parse().ok()).unwrap_or(1500)
}

/// Opens a socket on every receive queue of `interface` and attaches the program sending UDP
/// port `port` to them.
pub(crate) fn attach(interface: &str, port: u16) -> io::Result<(Attachment, Vec<Queue>)> {
    let sysfs = format!("/sys/class/net/{interface}");
    let read = |what: &str| std::fs::read_to_string(format!("{sysfs}/{what}"));
    let ifindex: u32 = read("ifindex")
        .map_err(|e| io::Error::new(e.kind(), format!("no interface {interface} ({sysfs}: {e})")))?
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("{sysfs}/ifindex is not a number")))?;
    let queues = std::fs::read_dir(format!("{sysfs}/queues"))
        .map(|d| d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("rx-")).count())
        .unwrap_or(1)
        .max(1) as u32;
    let map = sys::create_xskmap(queues)?;
    let mut sockets = Vec::new();
    for q in 0..queues {
        let xsk = sys::Xsk::open(ifindex, q).map_err(|e| {
            let why = if e.raw_os_error() == Some(16) {
                format!("queue {q} already has an AF_XDP socket (another XDP server on {interface}?)")
            } else {
                format!("AF_XDP socket on queue {q}: {e}")
            };
            io::Error::new(e.kind(), why)
        })?;
        sys::map_set(&map, q, xsk.as_raw_fd())?;
        sockets.push(Queue { xsk, mtu_file: format!("{sysfs}/mtu") });
    }
    let program = sys::load_xdp(&program::udp_port_redirect(port, map.as_raw_fd()))?;
    let link = sys::attach_xdp(&program, ifindex).map_err(|e| {
        let why = if e.raw_os_error() == Some(16) {
            format!("another XDP program is attached (`ip link set dev {interface} xdp off` removes it)")
        } else {
            format!("attaching the XDP program: {e}")
        };
        io::Error::new(e.kind(), why)
    })?;
    Ok((Attachment { _link: link, _program: program, _map: map }, sockets))
}

impl AsRawFd for sys::Xsk {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.raw_fd()
    }
}

/// Answers the queries arriving on one queue until the server stops. `kernel` are the server's
/// UDP sockets by listening address: a query to an address the server does not listen on is
/// dropped, as the kernel would; one this path cannot answer itself leaves through them.
pub(crate) fn worker(
    mut queue: Queue,
    h: &ServerHandle,
    jobs: &SyncSender<Job>,
    kernel: &[(SocketAddr, UdpSocket)],
    batch_wait: Duration,
) {
    let mut out = Vec::with_capacity(4096);
    let mut ip_id: u16 = 0;
    let mut mtu = read_mtu(&queue.mtu_file);
    let mut mtu_read = std::time::Instant::now();
    // The pause must be what it says: the default slack would let 200 us become 250.
    sys::set_timer_slack(Duration::from_micros(1));
    while !h.stopped() {
        if mtu_read.elapsed() >= MTU_REFRESH {
            mtu = read_mtu(&queue.mtu_file);
            mtu_read = std::time::Instant::now();
        }
        let zone = h.zone();
        let mut answer = |buf: &mut [u8], len: usize| -> Option<usize> {
            let d = frame::parse(&buf[..len]).ok()?;
            let (_, socket) = kernel.iter().find(|(a, _)| {
                a.port() == d.destination.port()
                    && (a.ip() == d.destination.ip()
                        || (a.ip().is_unspecified() && a.is_ipv4() == d.destination.is_ipv4()))
            })?;
            let query = &buf[d.payload.clone()];
            match zone.answer_over(query, Transport::Udp, &mut out) {
                Outcome::Answered => {
                    let at = frame::reply_payload_offset(&d);
                    // The frame must hold the answer, and the link must carry it unfragmented.
                    if at + out.len() <= buf.len() && at - 14 + out.len() <= mtu {
                        buf[at..at + out.len()].copy_from_slice(&out);
                        ip_id = ip_id.wrapping_add(1);
                        Some(frame::write_reply(buf, &d, out.len(), ip_id))
                    } else {
                        let _ = send_from(socket.as_raw_fd(), &out, d.destination.ip(), d.source);
                        None
                    }
                }
                Outcome::Forward => {
                    let Ok(reply) = socket.try_clone() else { return None };
                    let job =
                        Job { query: query.to_vec(), client: d.source, socket: reply, from: Some(d.destination.ip()) };
                    // Overloaded: say so at once rather than let the client wait.
                    if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) = jobs.try_send(job)
                        && servfail(&job.query, &mut out)
                    {
                        let _ = send_from(socket.as_raw_fd(), &out, d.destination.ip(), d.source);
                    }
                    None
                }
                Outcome::Drop => None,
            }
        };
        // Drain the ring, then wait for more: see `BUSY`.
        let mut served = Ok(0);
        loop {
            match queue.xsk.serve(BATCH, &mut answer) {
                Ok(n) => {
                    served = served.map(|t| t + n);
                    if n < BATCH {
                        break;
                    }
                }
                Err(e) => {
                    served = Err(e);
                    break;
                }
            }
        }
        match served {
            Ok(0) => queue.xsk.wait(TICK),
            Ok(n) if n >= BUSY && !batch_wait.is_zero() => std::thread::sleep(batch_wait),
            Ok(_) => {}
            // The ring's send failed (the interface went down, say): wait rather than spin.
            Err(_) => queue.xsk.wait(TICK),
        }
    }
}
