//! bm-sys: the one Linux layer bmnet's backends share, and the only crate of bmnet (with the C
//! ABI, `bm-capi`) that contains `unsafe` code. Every other crate forbids it and calls this one.
//!
//! - [`udp`]: UDP in batches with packet info (`recvmmsg`/`sendmmsg`), answers from a chosen
//!   source address;
//! - [`poll`]: `poll(2)` over several descriptors and an `eventfd(2)` to wake a thread;
//! - [`thread`]: the calling thread's timer slack;
//! - [`ifaddrs`]: every interface address with its prefix;
//! - [`random`]: seeds from `getrandom(2)`;
//! - [`xdp`]: `bpf(2)` (maps, programs, links) and AF_XDP sockets with their rings;
//! - [`rtnetlink`]: dumps of links, addresses and routes with the kernel's retry rules.
//!
//! Every `unsafe` block says, in a `SAFETY:` comment, why it is sound. The crate is Linux-only
//! and holds no policy: what to send, when and why is the callers'.

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![allow(unsafe_code)]

pub mod ifaddrs;
pub mod poll;
pub mod random;
pub mod rtnetlink;
pub mod thread;
pub mod udp;
pub mod xdp;
