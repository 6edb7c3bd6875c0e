//! Is an address already in use on the segment? Probes that ask without claiming: RFC 5227 ARP
//! probes for IPv4, DAD-style neighbour solicitations (RFC 4862 §5.4) for IPv6.
//!
//! Before an install, every VIP and every address of the node should be free of other hosts, or
//! held by the node itself. A ping or an ordinary ARP request would answer the question but
//! also tell the segment who asked: the owner (and every host that hears the broadcast) may
//! learn our MAC for our sender address. The probes here claim nothing:
//!
//! - **IPv4 (RFC 5227 §2.1.1)**: an ARP request broadcast, sender hardware address ours,
//!   *sender IP 0.0.0.0*, target hardware address zero, target IP the address probed. With a
//!   zero sender IP no receiver can update its ARP cache. An owner answers with an ARP reply
//!   (Linux sends it straight back to our MAC).
//! - **IPv6 (RFC 4862 §5.4.2)**: a neighbour solicitation from the *unspecified address `::`*,
//!   to the solicited-node multicast group of the address (`ff02::1:ffXX:XXXX`, Ethernet
//!   `33:33:ff:XX:XX:XX`), hop limit 255, target the address, and *no source link-layer
//!   address option* (RFC 4861 §7.1.1 forbids one from `::`), with a correct ICMPv6 checksum.
//!   An owner answers with a neighbour advertisement to all nodes (`ff02::1`).
//!
//! What counts as an answer for address A, from a MAC other than ours ([`AnswerKind`]):
//!
//! - an ARP reply or an ARP request whose sender IP is A (RFC 5227 §2.1.1: "any ARP packet
//!   … where the packet's 'sender IP address' is the address being probed for");
//! - an ARP probe (sender IP 0.0.0.0) whose target IP is A (RFC 5227 §2.1.1: another host is
//!   probing for it at the same time, about to claim it);
//! - a neighbour advertisement whose target is A (RFC 4862 §5.4.4);
//! - a neighbour solicitation from `::` whose target is A (RFC 4862 §5.4.3: another host's
//!   duplicate address detection).
//!
//! An ARP request or solicitation *for* A from a configured address is someone asking, not an
//! owner, and is not an answer. Frames from our own MAC (our probes looped back, our own
//! host) are ignored, so probing the node's own addresses reports only other hosts. The
//! answering MAC is the ARP sender hardware address, or the advertisement's target
//! link-layer address option (else its Ethernet source), so that a frame relayed through a
//! bridge still names its owner.
//!
//! # Design
//!
//! [`Prober`] is sans-IO: it opens no socket, reads no clock, and draws no randomness but from
//! its configured seed. It yields whole Ethernet frames to send ([`Prober::poll_transmit`]),
//! reads any frame the caller received ([`Prober::handle_frame`]: malformed and unrelated
//! frames are dropped, never a panic), says when to call in next ([`Prober::poll_timeout`]),
//! and ends when the listening after the last probe does. Targets are probed side by side:
//! one round of probes, one per target, per interval. The codec ([`Frame`], [`ArpRepr`],
//! [`NdRepr`]) parses and emits the frames. The timings are [`ProbeConfig`]'s; its docs say
//! why the defaults are shorter than RFC 5227's, which [`ProbeConfig::rfc5227`] gives.
//!
//! With the `socket` feature, `probe_interface` runs a prober on a Linux interface over
//! `AF_PACKET` sockets with the real clock.
//!
//! # Example
//!
//! The prober driven with hand-made time: one probe per target is due at once, an owner
//! answers the ARP probe, and after the last probe and the wait the reports are final.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//!
//! use bm_preflight::probe::{
//!     AnswerKind, ArpOperation, ArpRepr, Frame, MacAddr, Payload, ProbeConfig, Prober,
//! };
//!
//! let ours = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
//! let owner = MacAddr([0x02, 0, 0, 0, 0, 0xaa]);
//! let vip = Ipv4Addr::new(192, 168, 111, 5);
//! let free: IpAddr = "fd00::7".parse()?;
//!
//! let start = Instant::now();
//! let mut prober = Prober::new(start, ours, [IpAddr::V4(vip), free], ProbeConfig::default())?;
//! let mut now = start;
//! let mut sent = 0;
//! while !prober.is_done() {
//!     while let Some(transmit) = prober.poll_transmit(now) {
//!         sent += 1; // a real driver sends `transmit.frame` on the interface
//!         if transmit.target == IpAddr::V4(vip) {
//!             // The owner's reply, as it would come back off the wire.
//!             let reply = Frame {
//!                 destination: ours,
//!                 source: owner,
//!                 payload: Payload::Arp(ArpRepr {
//!                     operation: ArpOperation::Reply,
//!                     sender_mac: owner,
//!                     sender_ip: vip,
//!                     target_mac: ours,
//!                     target_ip: Ipv4Addr::UNSPECIFIED,
//!                 }),
//!             };
//!             prober.handle_frame(now + Duration::from_millis(1), &reply.to_vec());
//!         }
//!     }
//!     // Nothing else arrives: jump to the next deadline.
//!     if let Some(deadline) = prober.poll_timeout() {
//!         now = now.max(deadline);
//!         prober.handle_timeout(now);
//!     }
//! }
//! assert_eq!(sent, 6); // 3 probes for each address
//! let reports = prober.into_reports();
//! assert!(reports[0].in_use());
//! assert_eq!(reports[0].answers[0].mac, owner);
//! assert_eq!(reports[0].answers[0].kind, AnswerKind::ArpReply);
//! assert_eq!(reports[0].answers[0].count, 3);
//! assert!(!reports[1].in_use());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod frame;
mod prober;
#[cfg(feature = "socket")]
mod socket;

pub use frame::{
    ArpOperation, ArpRepr, ETHERTYPE_ARP, ETHERTYPE_IPV6, Frame, FrameError, MacAddr, MacParseError, NdMessage, NdRepr,
    Payload, solicited_node,
};
pub use prober::{
    Answer, AnswerKind, ProbeConfig, ProbeError, Prober, TargetReport, Transmit, Verdict, probe_frame, target_problem,
};
#[cfg(feature = "socket")]
pub use socket::{SocketError, probe_interface};
