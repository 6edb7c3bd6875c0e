//! bm-vrrp: a sans-IO VRRP (RFC 5798 / RFC 9568 v3, RFC 3768 v2) virtual router with
//! keepalived's tracked-priority semantics. The core opens no socket, reads no clock or file
//! and starts no thread: time and packets are inputs; adverts to send, VIPs to add or remove
//! and transitions (each with its typed [`Reason`]) are outputs.
//!
//! # Overview
//!
//! - [`Config`] is one virtual router's configuration, validated once by [`Instance::new`]
//!   ([`Config::validate`]): the interval becomes an [`AdvertInterval`] of its version, and
//!   every configuration accepted sends adverts that a peer configured alike accepts.
//! - [`Instance`] is the RFC 5798 §6.4 state machine with keepalived's FAULT and extensions,
//!   its timers one table ([`Timer`]), its counters [`Stats`] (every drop by [`DropKind`]).
//! - [`Router`] holds a host's instances and hands each received advert to the one it is for
//!   (interface, family, VRID, source), as quinn-proto's `Endpoint` does for connections;
//!   drops come out rate-limited for logs ([`Routed`], [`DropReport`]).
//! - [`packet`] is the wire format: [`encode`], [`decode`] with every receive check of §7.1
//!   and one [`DropReason`] per drop; [`UnicastPeer`]s and `check_unicast_src` filter senders.
//! - [`parse_keepalived`] reads keepalived.conf into [`InstanceSpec`]s with every finding at its
//!   file:line:column; keywords that would change behaviour or security and are not
//!   implemented are errors.
//!
//! # The drive loop
//!
//! Every input takes `now` (a monotonic time since any epoch you choose); after each, drain the
//! actions until there are none, then wait for the next deadline ([`Router::poll_timeout`]), a
//! packet or an event. The [`Instance`] and [`Router`] docs run the loop.
//!
//! The I/O lives behind the `socket` feature (Linux): [`socket::Daemon`] is a [`Router`] plus
//! raw IP protocol 112 sockets, rtnetlink for the VIPs, link and address state, gratuitous ARP /
//! unsolicited NA, and check and notify scripts run as keepalived runs them (users, script
//! security, a minimal environment, timeouts, process groups). `bmnet vrrp run` is that daemon;
//! it interoperates with keepalived 2.2.7 (v2 with PASS, v3 over IPv4 and IPv6, multicast and
//! unicast), as the namespace tests of the `bmnet` package show. The core never imports the
//! backend, and the backend's system calls are `bm-sys`'s: the crate holds no `unsafe` code.

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]

mod config;
mod droplog;
mod instance;
mod interval;
mod keepalived;
mod openshift;
pub mod packet;
mod peer;
mod reason;
mod router;
#[cfg(feature = "socket")]
pub mod socket;
mod stats;
mod survey;
mod timer;
mod track;

pub use config::{
    Config, ConfigError, GROUP_V4, GROUP_V6, MAX_DOWN_TIMER_ADVERTS, MAX_GARP_REPEAT, VersionMismatch, pass_key,
};
pub use droplog::DropReport;
pub use instance::{Action, Instance, State, VipOp};
pub use interval::{AdvertInterval, IntervalError, V2Interval, V3Interval};
pub use keepalived::{
    Diagnostic, InstanceSpec, KeepalivedConfig, MAX_INCLUDES, Notify, NotifyScript, Place, Script, ScriptSecurity,
    ScriptUser, Severity, TrackedInterface, Vip, parse_keepalived, split_words,
};
pub use openshift::{EmptyClusterName, OpenShiftVrids, runtimecfg_fletcher8};
pub use packet::{
    Advert, ChecksumForm, DropKind, DropReason, EncodeError, RxCheck, V3Ipv4Checksum, Version, decode, encode,
};
pub use peer::UnicastPeer;
pub use reason::Reason;
pub use router::{InstanceId, Routed, Router, RouterError, RouterStats};
pub use stats::{DropCounts, Stats};
pub use survey::{Collision, Family, FrameError, Heard, MAX_HEARD, Survey, Unreadable};
pub use timer::Timer;
pub use track::{CheckConfig, TRACK_INTERFACE_PREFIX};
