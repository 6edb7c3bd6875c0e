//! bm-sys: the one Linux layer bmnet's backends share, and the only crate of bmnet (with the C
//! ABI, `bm-capi`) that contains `unsafe` code. Every other crate forbids it and calls this one.
//!
//! - [`udp`]: datagrams in batches with packet info (`recvmmsg`/`sendmmsg`): the destination
//!   and TTL of each received one, answers from a chosen source address (and interface), for
//!   UDP and raw IP sockets alike;
//! - [`raw`]: Ethernet frames over `AF_PACKET`, the ICMPv6 filter;
//! - [`packet`]: an `AF_PACKET` socket bound to one interface and EtherType, whose received
//!   frames say how they arrived (the host's own outgoing ones among them), with deadlines;
//! - [`poll`]: `poll(2)` over several descriptors and an `eventfd(2)` to wake a thread;
//! - [`tcp`]: TCP-MD5 keys (`TCP_MD5SIG`), the minimum TTL of GTSM (`IP_MINTTL`,
//!   `IPV6_MINHOPCOUNT`) and entering a network namespace (`setns(2)`);
//! - [`thread`]: the calling thread's timer slack;
//! - [`ifaddrs`]: every interface address with its prefix;
//! - [`random`]: seeds from `getrandom(2)`;
//! - [`xdp`]: `bpf(2)` (maps, programs, links) and AF_XDP sockets with their rings;
//! - [`rtnetlink`]: dumps of links, addresses and routes with the kernel's retry rules, address
//!   changes, and link and address monitoring;
//! - [`process`]: signals to process groups, exits seen without reaping, and a child's
//!   credentials and parent-death signal set between fork and exec;
//! - [`user`]: users and groups by name (NSS).
//!
//! Every `unsafe` block says, in a `SAFETY:` comment, why it is sound. The crate is Linux-only
//! and holds no policy: what to send, when and why is the callers'.

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(unsafe_code)]

pub mod ifaddrs;
pub mod packet;
pub mod poll;
pub mod process;
pub mod random;
pub mod raw;
pub mod rtnetlink;
pub mod tcp;
pub mod thread;
pub mod udp;
pub mod user;
pub mod xdp;
