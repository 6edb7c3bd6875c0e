//! kubelet `--node-ip` argument parsing and validation, by job: [`version`] (kubelet versions
//! and the feature gates that change the rules), [`parse`] (reading the value), [`validate`]
//! (kubelet's `validateNodeIP` against a host), [`wording`] (kubelet's own error messages).
//!
//! [`parse_node_ip_arg`] applies the rules kubelet applies to `--node-ip`, for the kubelet
//! version asked for, and answers with kubelet's own error messages:
//!
//! - Parsing is `ParseNodeIPArgument` from `k8s.io/component-helpers` (kubelet 1.27 and
//!   later) or the code it replaced in `cmd/kubelet/app/server.go` (1.20 to 1.26): split on
//!   `,`, trim each piece, parse sloppily (leading zeros are decimal), ignore what does not
//!   parse, then allow one IP or a dual-stack pair.
//! - A dual-stack pair needs no cloud provider, or `external` with the `CloudDualStackNodeIPs`
//!   gate (alpha 1.27, beta 1.29, GA 1.30); before 1.27 any cloud provider forbids it.
//! - `0.0.0.0` and `::` alone mean "not specified": kubelet autodetects, preferring IPv6 for
//!   `::`. They may not be half of a pair.
//! - Each specified IP then goes through kubelet's `validateNodeIP`: not loopback, multicast or
//!   link-local, and present on a host interface (checked when a [`HostSnapshot`] is given).
//!   kubelet does this only after it started, and a failure leaves the node without addresses
//!   (kubernetes#130409); here it is an error up front.
//!
//! IPv4-mapped addresses (`::ffff:a.b.c.d`) are IPv4, as Go's `To4()` says; bmnet warns
//! about them. The KEP-3705 family keywords `IPv4` and `IPv6`, which kubelet never
//! implemented, can be accepted as a bmnet extension ([`NodeIpArgOptions::family_keywords`]).

mod parse;
#[cfg(test)]
mod tests;
mod validate;
mod version;
mod wording;

pub use parse::*;
pub use validate::*;
pub use version::*;
pub use wording::KubeletWording;

/// The node annotation kubelet sets to the `--node-ip` it was given when a cloud provider is
/// configured (`cloudproviderapi.AnnotationAlphaProvidedIPAddr`).
pub const PROVIDED_NODE_IP_ANNOTATION: &str = "alpha.kubernetes.io/provided-node-ip";
