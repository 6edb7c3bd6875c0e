//! Pre-install checks for bare-metal Kubernetes, the ones that need the wire or the live host:
//!
//! - [`probe`]: is an address (a VIP, the node's own) already answered by another host? RFC 5227
//!   ARP probes (sender 0.0.0.0) and, for IPv6, DAD-style neighbour solicitations from `::`, as
//!   sans-IO state machines with time injected; the `socket` feature sends them on a packet
//!   socket. Probing never claims an address.
//! - [`drift`]: does a NetworkManager keyfile on disk say something else than what the kernel
//!   runs (addresses, gateway and routes, MTU, bond mode and ports, VLAN id and parent; DNS
//!   against a `resolv.conf`)? NetworkManager applies an edited keyfile only on the next
//!   activation. A pure check of the loaded profiles against bm-nodeip's host snapshot.
//!
//! - [`ClusterSpec`]: the cluster checked (name, VIPs, machine network), from flags or an
//!   `install-config.yaml` ([`InstallConfig`]), and the checks that need no wire.
//!
//! The VRRP side of the pre-install checks (OpenShift's VRIDs, listening for the adverts on a
//! segment) is `bm-vrrp`'s; `bmnet preflight` runs them all.

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cluster;
pub mod drift;
pub mod probe;

pub use cluster::{
    ClusterSpec, InstallConfig, MachineNetwork, Metadata, Networking, Platform, PlatformVips, SpecProblem,
};
