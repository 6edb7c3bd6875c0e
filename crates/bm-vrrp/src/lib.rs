//! bm-vrrp: a sans-IO VRRP (RFC 5798 / RFC 9568 v3, RFC 3768 v2) virtual router with
//! keepalived's tracked-priority semantics. Time and packets are inputs; adverts to send, VIPs
//! to add or remove and notifications are outputs.
//!
//! The I/O lives behind the `socket` feature (Linux): [`socket::Daemon`] runs instances on one
//! thread around one `poll(2)` with raw IP protocol 112 sockets, rtnetlink for the VIPs and the
//! link state, gratuitous ARP / unsolicited NA, and check scripts as children with a timeout.
//! `bmnet vrrp run` is that daemon; it interoperates with keepalived 2.2.7 (v2 with PASS, v3
//! over IPv4 and IPv6, multicast and unicast), as the namespace tests of the `bmnet` package
//! show. The core never imports the backend; the backend's `sys` module is the crate's only
//! `unsafe` code.

#![deny(unsafe_code)] // Only the socket backend's `sys` module allows it.

mod instance;
mod keepalived;
pub mod packet;
#[cfg(feature = "socket")]
pub mod socket;
mod track;

pub use instance::{Action, Config, ConfigError, GROUP_V4, GROUP_V6, Instance, State};
pub use keepalived::{
    Diagnostic, InstanceSpec, KeepalivedConfig, Notify, Script, Severity, TrackedInterface, Vip, parse_keepalived,
};
pub use packet::{Advert, ChecksumForm, Drop, RxCheck, V3Ipv4Checksum, Version, decode, encode};
pub use track::{CheckConfig, TRACK_INTERFACE_PREFIX};
