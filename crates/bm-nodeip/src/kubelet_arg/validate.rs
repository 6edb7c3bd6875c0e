//! kubelet's `validateNodeIP`: what a node IP may not be, and whether the host has it.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::wording::{go_ip_string, go_quote};
use crate::{Address, HostSnapshot};

/// Which of the two node IPs a validation error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeIpRole {
    /// The first (`nodeIP`).
    Primary,
    /// The second (`secondaryNodeIP`).
    Secondary,
}

impl fmt::Display for NodeIpRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeIpRole::Primary => "nodeIP",
            NodeIpRole::Secondary => "secondaryNodeIP",
        })
    }
}

/// Why kubelet's `validateNodeIP` (pkg/kubelet/kubelet_node_status.go) refuses an address.
/// The messages are kubelet's.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeIpValidationError {
    /// `127.0.0.0/8`, `::1` (and mapped loopback).
    #[error("nodeIP can't be loopback address")]
    Loopback,
    /// `224.0.0.0/4`, `ff00::/8`.
    #[error("nodeIP can't be a multicast address")]
    Multicast,
    /// `169.254.0.0/16`, `fe80::/10`.
    #[error("nodeIP can't be a link-local unicast address")]
    LinkLocalUnicast,
    /// `0.0.0.0`, `::`. Never reached from `--node-ip`, where these mean "not specified";
    /// kubelet applies it to addresses it looked up.
    #[error("nodeIP can't be an all zeros address")]
    AllZeros,
    /// Not configured on any interface of the host.
    #[error("node IP: {} not found in the host's network interfaces", go_quote(&go_ip_string(*.ip)))]
    NotOnHost {
        /// The address.
        ip: IpAddr,
    },
}

/// kubelet's `validateNodeIP`, in kubelet's order: loopback, multicast, link-local, all
/// zeros, then (when `host` is given) presence on an interface. Mapped addresses are checked
/// as the IPv4 address they stand for, as Go does.
///
/// ```
/// use bm_nodeip::{NodeIpValidationError, validate_node_ip};
/// let e = validate_node_ip("fe80::1".parse().unwrap(), None).unwrap_err();
/// assert_eq!(e, NodeIpValidationError::LinkLocalUnicast);
/// assert_eq!(e.to_string(), "nodeIP can't be a link-local unicast address");
/// ```
pub fn validate_node_ip(ip: IpAddr, host: Option<&HostSnapshot>) -> Result<(), NodeIpValidationError> {
    let go = bm_addr::unmap(ip);
    let (loopback, multicast, link_local) = match go {
        IpAddr::V4(a) => (a.is_loopback(), a.is_multicast(), a.is_link_local()),
        IpAddr::V6(a) => (a.is_loopback(), a.is_multicast(), a.is_unicast_link_local()),
    };
    if loopback {
        Err(NodeIpValidationError::Loopback)
    } else if multicast {
        Err(NodeIpValidationError::Multicast)
    } else if link_local {
        Err(NodeIpValidationError::LinkLocalUnicast)
    } else if go.is_unspecified() {
        Err(NodeIpValidationError::AllZeros)
    } else if host.is_some_and(|h| host_matches(h, ip).next().is_none()) {
        Err(NodeIpValidationError::NotOnHost { ip })
    } else {
        Ok(())
    }
}

/// The host's addresses equal to `ip` as Go's `net.IP.Equal` sees it (mapped equals IPv4).
pub(super) fn host_matches(host: &HostSnapshot, ip: IpAddr) -> impl Iterator<Item = &Address> {
    let want = bm_addr::unmap(ip);
    host.addresses.iter().filter(move |a| bm_addr::unmap(a.ip()) == want)
}

/// Something about a host address that kubelet's presence check does not look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostAddressCaveat {
    /// Its link is administratively down.
    LinkDown,
    /// It is on a loopback interface: usually a VIP or an anycast address.
    Loopback,
    /// Duplicate address detection is still running: binding it fails until it ends.
    Tentative,
    /// Duplicate address detection failed: another host has it.
    DadFailed,
    /// Preferred lifetime 0: how kube-vip and OpenELB install VIPs.
    Deprecated,
}

impl fmt::Display for HostAddressCaveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostAddressCaveat::LinkDown => "the link is down",
            HostAddressCaveat::Loopback => "it is on a loopback interface (a VIP or anycast address?)",
            HostAddressCaveat::Tentative => "duplicate address detection is still running; binding it fails until then",
            HostAddressCaveat::DadFailed => "duplicate address detection failed: another host has this address",
            HostAddressCaveat::Deprecated => {
                "its preferred lifetime is 0 (deprecated), as for a kube-vip or OpenELB VIP"
            }
        })
    }
}
