//! Which IP(s) kubelet must bind on a bare-metal node.
//!
//! `bm-nodeip` is sans-IO: selection is a pure function of a [`HostSnapshot`] (links,
//! addresses, routes) and a policy. The `netlink` feature reads a snapshot of the current
//! network namespace.

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod candidate;
mod kubelet_arg;
#[cfg(feature = "netlink")]
pub mod netlink;
mod order;
mod output;
mod pattern;
mod pitfall;
mod policy;
mod select;
mod snapshot;

pub use candidate::Rejection;
pub use kubelet_arg::{
    FeatureGate, HostAddressCaveat, IgnoredKind, KubeletVersion, KubeletVersionError, KubeletWording, NodeIpArg,
    NodeIpArgError, NodeIpArgOptions, NodeIpArgRejected, NodeIpArgWarning, NodeIpEntry, NodeIpRole,
    NodeIpValidationError, PROVIDED_NODE_IP_ANNOTATION, parse_node_ip_arg, validate_node_ip,
};
pub use output::{CRIO_DROPIN, IPV4_FILE, IPV6_FILE, KUBELET_DROPIN, PRIMARY_IP_FILE, RenderedFile, render_files};
pub use pattern::{Pattern, PatternError};
pub use pitfall::{Pitfall, PitfallKind, pitfalls};
pub use policy::{Hint, HintError, HintProblem, Method, MethodName, Policy};
pub use select::{CandidateReport, Chosen, PreviousReport, Selection, Selector, Verdict, select};
pub use snapshot::{
    Address, AddressFlags, AddressScope, HostSnapshot, LOCAL_TABLE, Link, MAIN_TABLE, NextHop, Route, RouteProtocol,
    RouteType,
};
