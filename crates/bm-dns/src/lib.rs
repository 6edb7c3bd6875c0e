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

/// Internals that bmnet's fuzz targets (`crates/bm-fuzz`) compare: feature `fuzzing`, not part of
/// the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use crate::{ClusterZone, Outcome, Transport, request};

    /// How the fast path reads `query` (`Debug` of what it reads), `None` when the query does
    /// not have its shape.
    pub fn read_fast(query: &[u8]) -> Option<String> {
        request::fast(query).map(|r| format!("{r:?}"))
    }

    /// How the general path reads `query`, or why it refuses it.
    pub fn read_general(query: &[u8]) -> String {
        match request::general(query) {
            Ok(r) => format!("{r:?}"),
            Err(e) => format!("refused: {e:?}"),
        }
    }

    /// [`ClusterZone::answer_over`] with the query read by the fast path (`general` false) or
    /// by hickory-proto's general path only; `None` when that path does not read it. `recursion`
    /// says whether the client may have names forwarded.
    pub fn answer_by(
        zone: &ClusterZone,
        query: &[u8],
        general: bool,
        transport: Transport,
        recursion: bool,
        out: &mut Vec<u8>,
    ) -> Option<Outcome> {
        zone.answer_by(query, general, transport, recursion, out)
    }
}
