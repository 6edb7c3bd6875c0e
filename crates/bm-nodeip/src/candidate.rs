//! Candidates: every address on the host, with the reasons it may not be chosen.

use std::net::IpAddr;
use std::sync::Arc;

use bm_addr::{Family, Kind};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::{HostSnapshot, Link, Policy};

/// Why an address can never be a node IP under this policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Rejection {
    /// `fe80::/10`, `169.254.0.0/16`: not routable beyond the link (kubernetes#130409).
    LinkLocal,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// A multicast address.
    Multicast,
    /// `0.0.0.0`, `::`.
    Unspecified,
    /// `::ffff:a.b.c.d` configured as an IPv6 address: tools disagree on its family, and an
    /// IPv6-only socket cannot bind it (OCPBUGS-10695).
    Ipv4Mapped,
    /// `::a.b.c.d`, deprecated (RFC 4291 §2.5.5.1).
    Ipv4Compatible,
    /// Preferred lifetime 0: new connections should not use it (kube-vip and OpenELB VIPs).
    Deprecated,
    /// Duplicate address detection is still running: binding it fails (Bug 2096226).
    Tentative,
    /// Duplicate address detection failed: another host has it.
    DadFailed,
    /// The address is one of the VIPs (Bug 2021544).
    Vip {
        /// The VIP.
        vip: IpAddr,
    },
    /// A label marks it as not ours (OVN-Kubernetes egress IPs, OCPBUGS-29095).
    Label {
        /// The label.
        label: String,
    },
    /// Inside an excluded prefix (pod or service network, OVN masquerade).
    Excluded {
        /// The prefix.
        prefix: IpNet,
    },
    /// The link is administratively down.
    LinkDown,
    /// The address names a link the snapshot does not have.
    UnknownLink,
    /// A family the policy does not want.
    FamilyNotWanted,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::LinkLocal => f.write_str("link-local"),
            Rejection::Loopback => f.write_str("loopback"),
            Rejection::Multicast => f.write_str("multicast"),
            Rejection::Unspecified => f.write_str("unspecified"),
            Rejection::Ipv4Mapped => f.write_str("IPv4-mapped address configured as IPv6"),
            Rejection::Ipv4Compatible => f.write_str("deprecated IPv4-compatible address"),
            Rejection::Deprecated => f.write_str("deprecated (preferred lifetime 0)"),
            Rejection::Tentative => f.write_str("tentative (duplicate address detection running)"),
            Rejection::DadFailed => f.write_str("duplicate address detection failed"),
            Rejection::Vip { vip } => write!(f, "is the VIP {vip}"),
            Rejection::Label { label } => write!(f, "label {label:?} is excluded"),
            Rejection::Excluded { prefix } => write!(f, "inside excluded {prefix}"),
            Rejection::LinkDown => f.write_str("link is down"),
            Rejection::UnknownLink => f.write_str("unknown link"),
            Rejection::FamilyNotWanted => f.write_str("family not wanted"),
        }
    }
}

/// An address on the host, as selection sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
///
/// It copies what selection needs from the [`crate::Address`] instead of borrowing it, so that a
/// [`crate::Selector`] can keep its buffer of candidates from one snapshot to the next.
pub(crate) struct Candidate {
    pub(crate) addr: IpNet,
    pub(crate) link: u32,
    pub(crate) family: Family,
    pub(crate) permanent: bool,
    pub(crate) temporary: bool,
    pub(crate) secondary: bool,
    /// Shared by every report of the link's addresses, so that reports do not copy it.
    pub(crate) link_name: Arc<str>,
    pub(crate) link_is_loopback: bool,
    /// Globally reachable (IANA registries), kept for the order.
    pub(crate) global: bool,
    pub(crate) rejections: Vec<Rejection>,
}

impl Candidate {
    pub(crate) fn ip(&self) -> IpAddr {
        self.addr.addr()
    }
    pub(crate) fn usable(&self) -> bool {
        self.rejections.is_empty()
    }
}

/// Every address of the snapshot, with its rejections under `policy`, into `out` (cleared
/// first).
pub(crate) fn candidates_into(snapshot: &HostSnapshot, policy: &Policy, out: &mut Vec<Candidate>) {
    out.clear();
    // Links by index, for a logarithmic lookup per address (hosts may have thousands). The
    // stable sort keeps the first of duplicate indices, as `HostSnapshot::link` does.
    let mut links: Vec<(&Link, Arc<str>)> = snapshot.links.iter().map(|l| (l, Arc::from(l.name.as_str()))).collect();
    links.sort_by_key(|(l, _)| l.index);
    let no_link: Arc<str> = Arc::from("");
    let link_of = |index: u32| {
        links.binary_search_by_key(&index, |(l, _)| l.index).ok().map(|at| {
            let first = links[..=at].iter().rposition(|(l, _)| l.index != index).map_or(0, |p| p + 1);
            &links[first]
        })
    };
    out.extend(snapshot.addresses.iter().map(|address| {
        let (link, link_name) = match link_of(address.link) {
            Some((l, name)) => (Some(*l), name.clone()),
            None => (None, no_link.clone()),
        };
        let ip = address.ip();
        let c = bm_addr::classify(ip);
        let mut rejections = Vec::new();
        let mut reject = |r: Rejection| rejections.push(r);
        if c.is_link_local {
            reject(Rejection::LinkLocal);
        }
        if c.is_loopback {
            reject(Rejection::Loopback);
        }
        if c.is_multicast {
            reject(Rejection::Multicast);
        }
        if c.is_unspecified {
            reject(Rejection::Unspecified);
        }
        match c.kind {
            Kind::Ipv4Mapped => reject(Rejection::Ipv4Mapped),
            Kind::Ipv4Compatible => reject(Rejection::Ipv4Compatible),
            _ => {}
        }
        if address.is_deprecated() {
            reject(Rejection::Deprecated);
        }
        if address.flags.tentative && !address.flags.optimistic {
            reject(Rejection::Tentative);
        }
        if address.flags.dadfailed {
            reject(Rejection::DadFailed);
        }
        // Compare unmapped, so `::ffff:10.0.0.1` as a VIP still rules out 10.0.0.1.
        if let Some(&vip) = policy.vips.iter().find(|v| bm_addr::unmap(**v) == bm_addr::unmap(ip)) {
            reject(Rejection::Vip { vip });
        }
        if let Some(label) = &address.label
            && policy.exclude_labels.iter().any(|l| label.contains(l.as_str()))
        {
            reject(Rejection::Label { label: label.clone() });
        }
        if let Some(prefix) = policy.exclude.iter().find(|p| p.contains(&ip)) {
            reject(Rejection::Excluded { prefix: *prefix });
        }
        match link {
            Some(l) if !l.up => reject(Rejection::LinkDown),
            Some(_) => {}
            None => reject(Rejection::UnknownLink),
        }
        if !policy.wants(c.family) {
            reject(Rejection::FamilyNotWanted);
        }
        Candidate {
            addr: address.addr,
            link: address.link,
            family: c.family,
            permanent: address.flags.permanent,
            temporary: address.flags.temporary,
            secondary: address.flags.secondary,
            link_name,
            link_is_loopback: link.is_some_and(|l| l.loopback),
            global: c.is_global,
            rejections,
        }
    }));
}
