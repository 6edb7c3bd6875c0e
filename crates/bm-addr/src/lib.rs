//! Dual-stack IP address classification, parsing and bind targets, done once and right.
//!
//! `bm-addr` is sans-IO and allocation-free (the optional `socket` feature aside): it works on
//! `std::net` and `ipnet` values and never touches the network, files or clocks.
//!
//! # Brief overview
//!
//! - [`classify`] turns any [`IpAddr`](std::net::IpAddr) into one [`Classification`]: family,
//!   [`Kind`] (native, IPv4-mapped, IPv4-compatible, SIIT, NAT64, 6to4, Teredo), the embedded
//!   IPv4, [`Scope`], the most specific [`registry`] row, and the predicates.
//! - [`registry`] holds the IANA IPv4 and IPv6 Special-Purpose Address Registries as data,
//!   plus multicast, deprecated site-local and unallocated IPv6 space.
//! - [`parse_addr`], [`parse_addr_with`] and [`parse_net_with`] parse strictly by default, or
//!   sloppily as kubelet does, with errors that name the byte offset.
//! - [`BindTarget`] says which socket family and address to bind; with the `socket` feature it
//!   opens and binds the socket.
//! - [`ListFamilies`] and [`dual_stack_pair`] answer dual-stack questions about lists.
//!
//! # The design decision: mapped addresses are IPv4
//!
//! `::ffff:10.0.0.1` is how an IPv4 address looks through an IPv6 socket. Go's `net.IP` calls
//! it IPv4, Rust's `std` never looks through it, Python is inconsistent across versions, and
//! the kernel refuses to bind it on an IPv6-only socket. Here it is classified, bound and
//! counted as the IPv4 address it stands for, and every answer says it was mapped (its
//! [`Kind`]), so callers can both do the right thing and warn.
//!
//! # Example
//!
//! ```
//! use bm_addr::{Family, Kind, classify, parse_addr};
//!
//! let c = classify(parse_addr("::ffff:100.64.0.1").unwrap());
//! assert_eq!((c.family, c.kind), (Family::Ipv4, Kind::Ipv4Mapped));
//! assert!(c.is_shared && !c.is_global); // Python 3.11 says global; 100.64.0.1 itself is not
//!
//! let err = parse_addr("010.1.1.1").unwrap_err();
//! assert_eq!(err.to_string().split(':').next(), Some("at byte 0"));
//! ```

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bind;
mod classify;
mod family;
mod kind;
mod mac;
mod parse;
pub mod registry;
pub mod report;
mod scope;
mod scoped;
#[cfg(feature = "socket")]
mod socket;
mod zone;

pub use bind::{BindError, BindTarget};
pub use classify::{Classification, classify};
pub use family::{ListFamilies, PairError, dual_stack_pair, family_of};
pub use kind::{Family, Kind, unmap};
pub use mac::{MacAddr, MacParseError};
pub use parse::{
    HostBits, Mode, ParseError, ParseErrorKind, ParseOptions, Parsed, ParsedNet, Warning, ZonePolicy, parse_addr,
    parse_addr_with, parse_net_with,
};
pub use registry::{IPV4_REGISTRY_DATE, IPV6_REGISTRY_DATE};
pub use scope::Scope;
pub use scoped::ScopedAddr;
#[cfg(feature = "socket")]
pub use socket::{Transport, interface_index};
pub use zone::{MAX_ZONE_LEN, Zone};

/// The `ipnet` crate whose prefix types bm-addr returns, so callers need not depend on it.
pub use ipnet;
