//! The socket backend (feature `socket`, Linux): what turns [`Instance`](crate::Instance)s into a
//! daemon that can stand in for keepalived.
//!
//! - [`Daemon`] runs any number of instances on one thread around one `poll(2)`, waking for the
//!   earliest instance timer, a check script, a received advert, a link change or the stop
//!   descriptor (a signal pipe).
//! - Adverts go over one raw IP protocol 112 socket per interface and family, bound to the
//!   device with `SO_BINDTODEVICE`, the group (224.0.0.18 / ff02::12) joined on it, sent with
//!   TTL / hop limit 255 from the instance's primary address (`IP_PKTINFO` / `IPV6_PKTINFO`),
//!   and the received TTL / hop limit and destination read from ancillary data (`IP_RECVTTL`,
//!   `IPV6_RECVHOPLIMIT`), which the core checks.
//! - VIPs are added and removed over rtnetlink (IPv6 with `nodad`); carrier changes arrive on a
//!   `RTMGRP_LINK` subscription and put instances in and out of FAULT.
//! - Takeovers are announced with gratuitous ARPs ([`garp_frame`]) over an `AF_PACKET` socket and
//!   unsolicited neighbour advertisements ([`na_message`]) over an ICMPv6 socket.
//! - Check scripts ([`CheckScript`]) run as children with a timeout and never block the loop;
//!   notify scripts run on every transition, unwaited.
//! - Tracked interfaces (keepalived's `track_interface`) are checks named `interface:NAME`
//!   (see [`TRACK_INTERFACE_PREFIX`](crate::TRACK_INTERFACE_PREFIX)) whose result is the
//!   interface's carrier.
//!
//! Needs `CAP_NET_RAW` and `CAP_NET_ADMIN`. The only `unsafe` code of the crate is in the private
//! `sys` module (poll, recvmsg/sendmsg with control messages, sockaddr_ll).

#![allow(clippy::disallowed_methods)] // The backend: clocks, sleeps, files and processes on purpose.

mod announce;
mod daemon;
mod netlink;
mod notify;
mod script;
mod sys;
mod vrrp_socket;

use std::net::IpAddr;

use serde::Serialize;

pub use announce::{GARP_FRAME_LEN, NA_MESSAGE_LEN, garp_frame, na_message};
pub use daemon::{Daemon, InstanceSetup, VipSpec, Wake};
pub use script::CheckScript;

use crate::{ConfigError, State};

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No instance to run.
    #[error("no VRRP instance to run")]
    NoInstance,
    /// An interface is missing or unusable.
    #[error("interface {name}: {reason}")]
    Interface {
        /// The interface.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An instance's configuration is refused by the core.
    #[error("instance {instance}: {source}")]
    Config {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: ConfigError,
    },
    /// A reload that cannot be applied in place (restart to apply it); nothing was changed.
    #[error("reload refused: {0}")]
    Reload(String),
    /// An instance tracks a script that was not given.
    #[error("instance {instance}: track_script {script} is not defined")]
    UnknownScript {
        /// The instance.
        instance: String,
        /// The missing script.
        script: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The system error.
        #[source]
        source: std::io::Error,
    },
}

/// Something the daemon reports as it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// An instance changed state.
    Transition {
        /// The instance.
        instance: String,
        /// From.
        from: State,
        /// To.
        to: State,
        /// Why.
        reason: String,
        /// Its effective priority now.
        priority: u8,
    },
    /// A received advert was dropped by the receive checks.
    Dropped {
        /// The instance.
        instance: String,
        /// The sender.
        from: IpAddr,
        /// The failed check.
        reason: String,
    },
    /// A check script run failed.
    CheckFailed {
        /// The script.
        script: String,
        /// How.
        reason: String,
    },
    /// Something failed without stopping the daemon (a send, a VIP change, an announcement).
    Warning {
        /// The instance concerned, if one.
        instance: Option<String>,
        /// What happened.
        message: String,
    },
}
