//! bm-dns: authoritative answers for a Kubernetes cluster zone — `api`, `api-int`, `*.apps` at
//! any depth, node names, PTRs — on raw DNS wire bytes, without I/O.
//!
//! A [`ClusterZone`] is built from a [`ZoneConfig`]; [`ClusterZone::answer`] turns a query's
//! bytes into a response's bytes, or says to forward it or drop it. The answers are what an
//! RFC-correct authoritative server gives (NSD's, for the same zone as
//! [`ClusterZone::zone_file`]), not what OpenShift's CoreDNS templates give: negative answers
//! carry the SOA, `apps.<zone>` is an empty non-terminal, the missing address family is NODATA
//! rather than NXDOMAIN, and an IPv4-mapped VIP is refused when the zone is built.
//!
//! [`Responder`] adds the access rules of a server (who may query, who may have other names
//! forwarded), [`Forwarder`] the forwarding of those names, sans-IO too.
//!
//! Feature `server` adds a UDP/TCP server with forwarding; feature `xdp` lets it answer UDP
//! queries over AF_XDP, before the kernel's IP stack (`xdp`).

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]

mod access;
mod answer;
mod config;
mod dispatch;
mod forward;
mod framing;
mod message;
pub mod name;
mod request;
mod resolv;
mod rrl;
#[cfg(feature = "server")]
mod server;
mod siphash;
mod zone;
mod zonefile;

pub use access::{Access, AccessList, AclEntry, AclError, Martian, martian};
pub use answer::{Outcome, Transport, servfail};
pub use config::{ConfigError, SoaConfig, StaticRecord, ZoneConfig};
pub use dispatch::Responder;
pub use forward::{ForwardError, ForwardOutput, Forwarder, ForwarderConfig, ForwarderStats, NotForwarded, ReplyError};
pub use framing::{TcpFraming, frame};
pub use resolv::{MAX_NAMESERVERS, ResolvFinding, Severity, check_resolv_conf, render_resolv_conf};
pub use rrl::{AnswerKind, RateLimitConfig, RateLimiter, Verdict, slip};
#[cfg(feature = "xdp")]
pub use server::xdp;
#[cfg(feature = "server")]
pub use server::{Server, ServerConfig, ServerError, ServerHandle, ServerStats, ServerWarning};
pub use zone::ClusterZone;
