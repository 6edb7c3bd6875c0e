//! The socket backend (feature `socket`, Linux): what turns a [`Router`](crate::Router) into a
//! daemon that can stand in for keepalived. The daemon is I/O only: which instance a packet is
//! for, what to send, what to add, when to take over, all comes from the core.
//!
//! - [`Daemon`] runs a [`Router`](crate::Router) of instances on one thread around one
//!   `poll(2)`, waking for the earliest instance timer, a check or notify script, a received
//!   advert, a link or address change, or the stop descriptor (a signal pipe).
//! - Adverts go over one raw IP protocol 112 socket per interface and family, bound to the
//!   device with `SO_BINDTODEVICE`, the group (224.0.0.18 / ff02::12) joined on it, sent with
//!   TTL / hop limit 255 from the instance's primary address (`IP_PKTINFO` / `IPV6_PKTINFO`),
//!   and the received TTL / hop limit and destination read from ancillary data (`IP_RECVTTL`,
//!   `IPV6_RECVHOPLIMIT`), which the core checks. Each send's outcome goes back to the core,
//!   which counts failures and gives up mastership when they persist.
//! - VIPs are added and removed over rtnetlink (IPv6 with `nodad`), each outcome reported back
//!   (a failed removal is retried by the core). Carrier changes and address changes arrive on
//!   an rtnetlink subscription: a link down is FAULT, and an advert source address that is
//!   missing or still tentative (IPv6 DAD after the link came back) keeps the instance in FAULT.
//! - Takeovers are announced with gratuitous ARPs ([`garp_frame`]) over an `AF_PACKET` socket and
//!   unsolicited neighbour advertisements ([`na_message`]) over an ICMPv6 socket.
//! - Check scripts ([`CheckScript`]) and notify scripts run as keepalived runs them ([`security`]:
//!   users, `enable_script_security`; `exec`: no shell, a minimal environment, a process group,
//!   SIGTERM when the daemon dies), with timeouts, and never block the loop.
//! - A parsed keepalived.conf becomes the daemon's setup with [`daemon_setup`], and its scripts
//!   are checked beforehand, with findings at their places, by [`script_diagnostics`].
//! - Tracked interfaces (keepalived's `track_interface`) are checks named `interface:NAME`
//!   (see [`TRACK_INTERFACE_PREFIX`](crate::TRACK_INTERFACE_PREFIX)) whose result is the
//!   interface's carrier.
//!
//! Needs `CAP_NET_RAW` and `CAP_NET_ADMIN` (and `CAP_SETUID`/`CAP_SETGID` to run scripts as
//! another user). The system calls that std and socket2 do not wrap (packet info, raw frames,
//! rtnetlink, process groups, credentials between fork and exec, user lookups) are `bm-sys`'s:
//! this crate holds no `unsafe` code.

#![allow(clippy::disallowed_methods)] // The backend: clocks, sleeps, files and processes on purpose.

mod announce;
mod daemon;
mod keepalived;
mod listen;
mod netlink;
mod notify;
mod vrrp_socket;

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

pub use announce::{GARP_FRAME_LEN, NA_MESSAGE_LEN, garp_frame, na_message};
pub use bm_check::process::security;
pub use bm_check::process::{
    CheckFailure, CheckScript, Exposure, Insecurity, ResolvedScript, ScriptError, ScriptPolicy, resolve_script,
};
/// Why an rtnetlink request failed (bm-sys's error, which names the dump or change).
pub use bm_sys::rtnetlink::Error as NetlinkError;
pub use daemon::{Daemon, InstanceSetup, Options, STATUS_HEARTBEAT, VipSpec, Wake};
pub use keepalived::{DaemonSetup, KeepalivedDefaults, SetupError, daemon_setup, script_diagnostics};
pub use listen::listen;

use crate::{ConfigError, DropReason, DropReport, Reason, RouterError, RouterStats, State, Stats, Timer};

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
        reason: InterfaceProblem,
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
    /// Two instances the router cannot tell apart.
    #[error("instance {instance}: {source}")]
    Router {
        /// The instance.
        instance: String,
        /// Why.
        #[source]
        source: RouterError,
    },
    /// A reload that cannot be applied in place (restart to apply it); nothing was changed.
    #[error("reload refused: {0}")]
    Reload(ReloadRefusal),
    /// An instance tracks a script that was not given.
    #[error("instance {instance}: track_script {script} is not defined")]
    UnknownScript {
        /// The instance.
        instance: String,
        /// The missing script.
        script: String,
    },
    /// A check or notify script that cannot run: a missing user, a file that is not executable,
    /// or, under `enable_script_security`, one a non-root user could change.
    #[error("{script}: {source}")]
    Script {
        /// Which script (`vrrp_script NAME`, or `INSTANCE notify_master`).
        script: String,
        /// Why.
        #[source]
        source: ScriptError,
    },
    /// An rtnetlink request failed: opening its sockets, or a dump of links or addresses.
    #[error("{what}: {source}")]
    Netlink {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: NetlinkError,
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

/// What is wrong with an instance's interface ([`Error::Interface`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterfaceProblem {
    /// No link of that name (the instance's, a VIP's `dev`, a tracked interface).
    #[error("no such interface")]
    Missing,
    /// An IPv6 instance without `unicast_src_ip` sends from the link-local address, which the
    /// interface does not have.
    #[error("no IPv6 link-local address to send from")]
    NoLinkLocal,
    /// An IPv4 instance without `unicast_src_ip` sends from the interface's primary address,
    /// which it does not have.
    #[error("no IPv4 address to send from (or set unicast_src_ip)")]
    NoIpv4Address,
    /// A VIP of the setup that its configuration does not carry.
    #[error("VIP {0} is not in the instance's configuration")]
    VipNotConfigured(IpAddr),
    /// An advert of every VIP does not fit the link's MTU. keepalived moves the VIPs that do
    /// not fit to eVIPs (added, never advertised); bmnet refuses to start.
    #[error("an advert of {vips} VIPs is {bytes} bytes with its IP header, more than the MTU of {mtu}")]
    Mtu {
        /// How many VIPs.
        vips: usize,
        /// The advert's size with its IP header.
        bytes: usize,
        /// The link's MTU.
        mtu: u32,
    },
}

/// Why a reload cannot be applied in place ([`Error::Reload`]): keepalived would restart the
/// instances concerned, bmnet keeps the running configuration and asks for a restart.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadRefusal {
    /// The new file adds, removes or renames instances.
    #[error("instances were added, removed or renamed")]
    Instances,
    /// An instance moved to another interface, family or VRID.
    #[error("instance {0}: its interface, family or vrid changed")]
    Identity(String),
    /// A VIP on an interface the daemon opened no announcement sockets on.
    #[error("instance {instance}: VIP {vip} is on an interface bmnet did not start with")]
    VipInterface {
        /// The instance.
        instance: String,
        /// The VIP.
        vip: IpAddr,
    },
}

/// A running timer, relative to when the status was taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TimerStatus {
    /// Which.
    pub timer: Timer,
    /// Due in this long (milliseconds in JSON).
    #[serde(serialize_with = "millis", deserialize_with = "from_millis")]
    pub due_in: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    <u64 as serde::Deserialize>::deserialize(d).map(Duration::from_millis)
}

/// One instance as the daemon sees it: what the status file and `bmnet inspect` show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    /// Its name.
    pub name: String,
    /// Its interface.
    pub interface: String,
    /// Its VRID.
    pub vrid: u8,
    /// Its state.
    pub state: State,
    /// Its effective priority.
    pub priority: u8,
    /// Why it is in that state (its last transition's reason).
    pub reason: Option<Reason>,
    /// Its VIPs as `ADDR/PREFIX`.
    pub vips: Vec<String>,
    /// Its advert source address.
    pub source: IpAddr,
    /// Whether the source address is usable.
    pub source_usable: bool,
    /// Whether its link is up.
    pub link_up: bool,
    /// Its counters.
    pub stats: Stats,
    /// Its running timers.
    pub timers: Vec<TimerStatus>,
    /// VIPs whose removal failed and is being retried.
    pub pending_vip_removal: Vec<IpAddr>,
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
        reason: Reason,
        /// Its effective priority now.
        priority: u8,
    },
    /// A received advert was dropped by the receive checks. Drops are rate-limited (a line per
    /// instance, reason and source every 10 s, 20 lines per 10 s in all); the counts in
    /// [`Event::Status`] are exact.
    Dropped {
        /// The instance.
        instance: String,
        /// The sender.
        from: IpAddr,
        /// The failed check.
        reason: DropReason,
        /// What the previous reports left out.
        #[serde(flatten)]
        report: DropReport,
    },
    /// A check script run failed.
    CheckFailed {
        /// The script.
        script: String,
        /// How.
        reason: CheckFailure,
    },
    /// Something failed without stopping the daemon (a send, a VIP change, an announcement, a
    /// script), or deserves a word.
    Warning {
        /// The instance concerned, if one.
        instance: Option<String>,
        /// What happened.
        message: String,
    },
    /// Every instance's state and counters: after a transition or a failure within a second,
    /// otherwise every 10 s while counters change.
    Status {
        /// The instances.
        instances: Vec<InstanceStatus>,
        /// What no instance got.
        unrouted: RouterStats,
    },
}
