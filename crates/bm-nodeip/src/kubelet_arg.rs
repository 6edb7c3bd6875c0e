//! kubelet `--node-ip` argument parsing and validation.
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

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use bm_addr::{Family, ParseOptions};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::{Address, HostSnapshot};

/// The node annotation kubelet sets to the `--node-ip` it was given when a cloud provider is
/// configured (`cloudproviderapi.AnnotationAlphaProvidedIPAddr`).
pub const PROVIDED_NODE_IP_ANNOTATION: &str = "alpha.kubernetes.io/provided-node-ip";

/// A kubelet minor version, which decides the rules and the wording of the messages.
///
/// Parsed from `1.26`, `v1.30.2`, `v1.29.0-rc.1` or `v1.30.2+k3s1`; the patch level and any
/// suffix are accepted and ignored. The default is [`KubeletVersion::CURRENT`].
///
/// ```
/// use bm_nodeip::KubeletVersion;
/// let v: KubeletVersion = "v1.30.2+k3s1".parse().unwrap();
/// assert_eq!(v, KubeletVersion::new(1, 30));
/// assert_eq!(v.to_string(), "1.30");
/// assert!("1.x".parse::<KubeletVersion>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct KubeletVersion {
    /// Major version: 1.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
}

impl KubeletVersion {
    /// The version assumed when none is given.
    pub const CURRENT: KubeletVersion = KubeletVersion::new(1, 33);
    /// The oldest version modelled: dual-stack `--node-ip` behind the `IPv6DualStack` gate.
    /// [`parse_node_ip_arg`] checks older versions, built directly, with these rules and a
    /// warning; [`KubeletVersion::parse`] refuses them.
    pub const OLDEST: KubeletVersion = KubeletVersion::new(1, 20);
    /// Parsing moved to `k8s.io/component-helpers`, with new wording (kubernetes 1.27).
    pub const COMPONENT_HELPERS: KubeletVersion = KubeletVersion::new(1, 27);

    /// A version from its parts.
    pub const fn new(major: u32, minor: u32) -> KubeletVersion {
        KubeletVersion { major, minor }
    }

    /// Parses `1.30`, `v1.30.2`, `1.30.2-rc.0`, `v1.30.2+k3s1`.
    pub fn parse(s: &str) -> Result<KubeletVersion, KubeletVersionError> {
        let malformed = || KubeletVersionError::Malformed { input: s.to_string() };
        let t = s.trim();
        let t = t.strip_prefix(['v', 'V']).unwrap_or(t);
        // Cut any pre-release or build suffix (`-rc.1`, `+k3s1`) first.
        let core = t.split(['-', '+']).next().unwrap_or_default();
        if core.len() < t.len() && core.len() + 1 == t.len() {
            return Err(malformed()); // a suffix marker with nothing after it
        }
        let mut parts = core.split('.');
        let number = |p: Option<&str>| -> Option<u32> {
            let p = p?;
            if p.is_empty() || p.len() > 9 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let major = number(parts.next()).ok_or_else(malformed)?;
        let minor = number(parts.next()).ok_or_else(malformed)?;
        if let Some(patch) = parts.next() {
            number(Some(patch)).ok_or_else(malformed)?;
        }
        if parts.next().is_some() {
            return Err(malformed());
        }
        let v = KubeletVersion::new(major, minor);
        if major != 1 {
            return Err(KubeletVersionError::UnknownMajor { version: v });
        }
        if v < KubeletVersion::OLDEST {
            return Err(KubeletVersionError::TooOld { version: v });
        }
        Ok(v)
    }

    /// Which wording kubelet's `--node-ip` errors have in this version.
    pub fn wording(self) -> KubeletWording {
        if self < KubeletVersion::COMPONENT_HELPERS { KubeletWording::Legacy } else { KubeletWording::Current }
    }
}

impl Default for KubeletVersion {
    fn default() -> KubeletVersion {
        KubeletVersion::CURRENT
    }
}

impl fmt::Display for KubeletVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for KubeletVersion {
    type Err = KubeletVersionError;
    fn from_str(s: &str) -> Result<KubeletVersion, KubeletVersionError> {
        KubeletVersion::parse(s)
    }
}

impl From<KubeletVersion> for String {
    fn from(v: KubeletVersion) -> String {
        v.to_string()
    }
}

impl TryFrom<String> for KubeletVersion {
    type Error = KubeletVersionError;
    fn try_from(s: String) -> Result<KubeletVersion, KubeletVersionError> {
        KubeletVersion::parse(&s)
    }
}

/// Why a kubelet version could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum KubeletVersionError {
    /// Not `MAJOR.MINOR[.PATCH][-pre|+build]`.
    #[error("invalid kubelet version {input:?}: expected MAJOR.MINOR such as 1.30 or v1.30.2")]
    Malformed {
        /// The text given.
        input: String,
    },
    /// A major version other than 1.
    #[error("invalid kubelet version {version}: Kubernetes versions are 1.x")]
    UnknownMajor {
        /// The version given.
        version: KubeletVersion,
    },
    /// Older than [`KubeletVersion::OLDEST`].
    #[error(
        "kubelet {version} is older than {}, the oldest version whose --node-ip rules bmnet models",
        KubeletVersion::OLDEST
    )]
    TooOld {
        /// The version given.
        version: KubeletVersion,
    },
}

/// The wording of kubelet's `--node-ip` errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KubeletWording {
    /// kubelet 1.20 to 1.26, `cmd/kubelet/app/server.go`:
    /// `bad --node-ip "…"; must contain…`, `dual-stack --node-ip "…" not supported when using
    /// a cloud provider`.
    Legacy,
    /// kubelet 1.27 and later, component-helpers wrapped by kubelet: `bad --node-ip "…": …`.
    Current,
}

/// A feature gate that changes how `--node-ip` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FeatureGate {
    /// `CloudDualStackNodeIPs` (KEP-3705): a dual-stack `--node-ip` with
    /// `--cloud-provider=external`. Alpha 1.27 (off), beta 1.29 (on), GA 1.30 (locked on).
    #[serde(rename = "CloudDualStackNodeIPs")]
    CloudDualStackNodeIps,
    /// `IPv6DualStack`: without it a dual-stack `--node-ip` is refused. Alpha before 1.21
    /// (off), beta 1.21 (on), GA 1.23 (locked on).
    #[serde(rename = "IPv6DualStack")]
    Ipv6DualStack,
}

impl FeatureGate {
    /// The first version the gate exists in (among those modelled).
    pub const fn introduced(self) -> KubeletVersion {
        match self {
            FeatureGate::CloudDualStackNodeIps => KubeletVersion::new(1, 27),
            FeatureGate::Ipv6DualStack => KubeletVersion::new(1, 16),
        }
    }

    /// The first version with the gate on by default.
    pub const fn beta(self) -> KubeletVersion {
        match self {
            FeatureGate::CloudDualStackNodeIps => KubeletVersion::new(1, 29),
            FeatureGate::Ipv6DualStack => KubeletVersion::new(1, 21),
        }
    }

    /// The first version with the gate locked on.
    pub const fn ga(self) -> KubeletVersion {
        match self {
            FeatureGate::CloudDualStackNodeIps => KubeletVersion::new(1, 30),
            FeatureGate::Ipv6DualStack => KubeletVersion::new(1, 23),
        }
    }

    /// Whether the gate is on in `version` when set to `set` (`None`: the version's default).
    /// `false` before the gate exists; `true` once it is GA, whatever `set` says.
    pub fn enabled(self, version: KubeletVersion, set: Option<bool>) -> bool {
        if version < self.introduced() {
            false
        } else if version >= self.ga() {
            true
        } else {
            set.unwrap_or(version >= self.beta())
        }
    }
}

impl fmt::Display for FeatureGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FeatureGate::CloudDualStackNodeIps => "CloudDualStackNodeIPs",
            FeatureGate::Ipv6DualStack => "IPv6DualStack",
        })
    }
}

/// How to read a `--node-ip` value: the kubelet it is for, and bmnet's extensions.
///
/// ```
/// use bm_nodeip::{KubeletVersion, NodeIpArgOptions};
/// let opts = NodeIpArgOptions::default().cloud_provider("external").kubelet_version(KubeletVersion::new(1, 28));
/// assert_eq!(opts.cloud_dual_stack_gate, None); // 1.28's default: off
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIpArgOptions<'a> {
    /// kubelet's `--cloud-provider`: `""` (none), `"external"`, or the name of a legacy in-tree
    /// provider (`"gce"`, `"aws"`, ...), compared exactly as kubelet does.
    #[serde(default)]
    pub cloud_provider: String,
    /// The kubelet version whose rules and messages apply.
    #[serde(default)]
    pub kubelet_version: KubeletVersion,
    /// `--feature-gates=CloudDualStackNodeIPs=…`; `None` is the version's default. Only
    /// matters for 1.27 to 1.29.
    #[serde(default)]
    pub cloud_dual_stack_gate: Option<bool>,
    /// `--feature-gates=IPv6DualStack=…`; `None` is the version's default. Only matters for
    /// 1.20 to 1.22.
    #[serde(default)]
    pub ipv6_dual_stack_gate: Option<bool>,
    /// Accept the KEP-3705 family keywords `IPv4` and `IPv6` ("any address of this family")
    /// in place of an address. A bmnet extension, off by default: kubelet ignores them as
    /// unparsable, so they must be resolved to addresses before kubelet sees the value.
    #[serde(default)]
    pub family_keywords: bool,
    /// When given, each specified IP must be configured on this host, as kubelet's
    /// `validateNodeIP` requires of `net.InterfaceAddrs()`.
    #[serde(skip)]
    pub host: Option<&'a HostSnapshot>,
}

impl<'a> NodeIpArgOptions<'a> {
    /// With this `--cloud-provider`.
    pub fn cloud_provider(mut self, name: &str) -> NodeIpArgOptions<'a> {
        self.cloud_provider = name.to_string();
        self
    }

    /// For this kubelet version.
    pub fn kubelet_version(mut self, version: KubeletVersion) -> NodeIpArgOptions<'a> {
        self.kubelet_version = version;
        self
    }

    /// With `CloudDualStackNodeIPs` set.
    pub fn cloud_dual_stack_gate(mut self, on: bool) -> NodeIpArgOptions<'a> {
        self.cloud_dual_stack_gate = Some(on);
        self
    }

    /// With `IPv6DualStack` set.
    pub fn ipv6_dual_stack_gate(mut self, on: bool) -> NodeIpArgOptions<'a> {
        self.ipv6_dual_stack_gate = Some(on);
        self
    }

    /// Accepting (or not) the `IPv4` / `IPv6` family keywords.
    pub fn family_keywords(mut self, on: bool) -> NodeIpArgOptions<'a> {
        self.family_keywords = on;
        self
    }

    /// Checking that each IP is on `host`.
    pub fn host(mut self, host: &'a HostSnapshot) -> NodeIpArgOptions<'a> {
        self.host = Some(host);
        self
    }
}

/// One accepted entry of a `--node-ip` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeIpEntry {
    /// An address, as parsed (a mapped address stays mapped here; it counts as IPv4).
    Ip(IpAddr),
    /// A family keyword (`IPv4`, `IPv6`): any one address of that family. Only with
    /// [`NodeIpArgOptions::family_keywords`].
    Family(Family),
}

impl NodeIpEntry {
    /// The family kubelet gives the entry: IPv4 for IPv4 and mapped addresses.
    pub fn family(&self) -> Family {
        match *self {
            NodeIpEntry::Ip(ip) => bm_addr::family_of(ip),
            NodeIpEntry::Family(f) => f,
        }
    }

    /// `0.0.0.0` or `::` (or `::ffff:0.0.0.0`): "not specified".
    pub fn is_unspecified(&self) -> bool {
        matches!(*self, NodeIpEntry::Ip(ip) if go_is_unspecified(ip))
    }

    /// The address, if the entry is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match *self {
            NodeIpEntry::Ip(ip) => Some(ip),
            NodeIpEntry::Family(_) => None,
        }
    }
}

impl fmt::Display for NodeIpEntry {
    /// As Go prints it (mapped addresses as dotted IPv4), or the keyword.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            NodeIpEntry::Ip(ip) => write!(f, "{}", go_ip_string(ip)),
            NodeIpEntry::Family(fam) => write!(f, "{fam}"),
        }
    }
}

/// An accepted `--node-ip` value: what kubelet will do with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeIpArg {
    /// The accepted entries in order, primary first; at most two, and two are of different
    /// families. `0.0.0.0` and `::` are kept (kubelet keeps them too).
    pub entries: Vec<NodeIpEntry>,
    /// The pieces kubelet ignores because they do not parse, trimmed (kubelet logs "Could
    /// not parse some node IP(s), ignoring them").
    pub ignored: Vec<String>,
    /// Everything worth knowing that does not stop kubelet.
    pub warnings: Vec<NodeIpArgWarning>,
    /// No address is specified (empty, all ignored, or `0.0.0.0` / `::`): kubelet picks the
    /// node IP itself, single-stack.
    pub autodetect: bool,
    /// The family of the first entry; when autodetecting, the family kubelet prefers (IPv6
    /// only for `::`).
    pub primary_family: Family,
    /// The value kubelet sets in [`PROVIDED_NODE_IP_ANNOTATION`]: with a cloud provider and a
    /// specified IP. `None` when kubelet removes the annotation, and when the value holds a
    /// family keyword (the annotation then depends on what the keyword resolves to).
    pub annotation: Option<String>,
}

impl NodeIpArg {
    /// The addresses, in order (`0.0.0.0` / `::` included).
    pub fn ips(&self) -> Vec<IpAddr> {
        self.entries.iter().filter_map(NodeIpEntry::ip).collect()
    }

    /// The specified addresses (without `0.0.0.0` / `::`), primary first.
    pub fn specified_ips(&self) -> Vec<IpAddr> {
        self.entries.iter().filter(|e| !e.is_unspecified()).filter_map(NodeIpEntry::ip).collect()
    }

    /// A dual-stack pair.
    pub fn is_dual_stack(&self) -> bool {
        self.entries.len() == 2
    }

    /// The value in canonical form: what to pass instead, with nothing ignored, no leading
    /// zeros, and mapped addresses written as IPv4.
    pub fn canonical_value(&self) -> String {
        let mut out = String::new();
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{e}");
        }
        out
    }
}

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
fn host_matches(host: &HostSnapshot, ip: IpAddr) -> impl Iterator<Item = &Address> {
    let want = bm_addr::unmap(ip);
    host.addresses.iter().filter(move |a| bm_addr::unmap(a.ip()) == want)
}

/// A rule of kubelet's that a `--node-ip` value breaks. `Display` is kubelet's message for the
/// version the value was checked against, wrapping included.
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeIpArgError {
    /// More than two addresses, or two of the same family.
    #[error("{}", not_pair_message(.value, *.wording))]
    NotSingleOrDualStackPair {
        /// The `--node-ip` value as given.
        value: String,
        /// The kubelet wording.
        wording: KubeletWording,
    },
    /// A dual-stack pair with a cloud provider that does not allow one: any cloud provider
    /// before 1.27; from 1.27 one other than `external`, or `external` without
    /// `CloudDualStackNodeIPs`.
    #[error("{}", dual_stack_message(.value, *.wording))]
    DualStackNotSupported {
        /// The `--node-ip` value as given.
        value: String,
        /// The kubelet wording.
        wording: KubeletWording,
    },
    /// A dual-stack pair that includes `0.0.0.0` or `::`.
    #[error("{}", unspecified_message(.value, *.wording))]
    DualStackUnspecified {
        /// The `--node-ip` value as given.
        value: String,
        /// The kubelet wording.
        wording: KubeletWording,
    },
    /// More than one address with `IPv6DualStack` off (kubelet 1.20 to 1.22).
    #[error("dual-stack --node-ip {} not supported in a single-stack cluster", go_quote(.value))]
    SingleStackCluster {
        /// The `--node-ip` value as given.
        value: String,
    },
    /// A specified address fails `validateNodeIP`.
    #[error("failed to validate {role}: {problem}")]
    InvalidNodeIp {
        /// Which of the two.
        role: NodeIpRole,
        /// The address, as given.
        ip: IpAddr,
        /// What is wrong with it.
        problem: NodeIpValidationError,
    },
}

impl NodeIpArgError {
    /// Whether kubelet refuses to start. Validation errors do not stop it: it starts, and every
    /// node-status update then fails with this message, leaving the node without addresses.
    pub fn is_fatal_at_startup(&self) -> bool {
        !matches!(self, NodeIpArgError::InvalidNodeIp { .. })
    }
}

fn not_pair_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => {
            format!("bad --node-ip {}; must contain either a single IP or a dual-stack pair of IPs", go_quote(value))
        }
        KubeletWording::Current => {
            format!("bad --node-ip {}: must contain either a single IP or a dual-stack pair of IPs", go_quote(value))
        }
    }
}

fn dual_stack_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => {
            format!("dual-stack --node-ip {} not supported when using a cloud provider", go_quote(value))
        }
        KubeletWording::Current => {
            format!("bad --node-ip {}: dual-stack not supported in this configuration", go_quote(value))
        }
    }
}

fn unspecified_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => format!("dual-stack --node-ip {} cannot include '0.0.0.0' or '::'", go_quote(value)),
        KubeletWording::Current => {
            format!("bad --node-ip {}: dual-stack node IP cannot include '0.0.0.0' or '::'", go_quote(value))
        }
    }
}

/// A refused `--node-ip` value. `Display` is the message kubelet reports (the first error).
#[derive(Clone, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("{}", .errors.first().map(ToString::to_string).unwrap_or_default())]
pub struct NodeIpArgRejected {
    /// Every rule broken, the one kubelet reports first. kubelet stops at the first; a
    /// validation error can be followed by the secondary IP's.
    pub errors: Vec<NodeIpArgError>,
    /// The pieces kubelet ignored on the way.
    pub ignored: Vec<String>,
    /// Warnings found on the way (a mapped address often explains a "not a dual-stack pair").
    pub warnings: Vec<NodeIpArgWarning>,
}

impl NodeIpArgRejected {
    /// The error kubelet reports.
    pub fn kubelet_error(&self) -> Option<&NodeIpArgError> {
        self.errors.first()
    }
}

/// Why kubelet ignores a piece of the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IgnoredKind {
    /// Nothing (or only whitespace) between commas.
    Empty,
    /// A CIDR (`10.0.0.5/24`): kubelet wants the address alone.
    Cidr,
    /// An address with a zone (`fe80::1%eth0`).
    Zone,
    /// An address in brackets (`[fd00::1]`).
    Brackets,
    /// `IPv4` / `IPv6`: KEP-3705's keywords, never implemented in kubelet.
    FamilyKeyword,
    /// Anything else.
    NotAnAddress,
}

impl IgnoredKind {
    fn of(piece: &str) -> IgnoredKind {
        let parses = |s: &str| bm_addr::parse_addr_with(s, &ParseOptions::sloppy()).is_ok();
        if piece.is_empty() {
            IgnoredKind::Empty
        } else if piece.eq_ignore_ascii_case("ipv4") || piece.eq_ignore_ascii_case("ipv6") {
            IgnoredKind::FamilyKeyword
        } else if piece.split_once('/').is_some_and(|(a, _)| parses(a)) {
            IgnoredKind::Cidr
        } else if piece.split_once('%').is_some_and(|(a, _)| parses(a.trim_start_matches('['))) {
            IgnoredKind::Zone
        } else if piece.strip_prefix('[').and_then(|p| p.strip_suffix(']')).is_some_and(parses) {
            IgnoredKind::Brackets
        } else {
            IgnoredKind::NotAnAddress
        }
    }
}

impl fmt::Display for IgnoredKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IgnoredKind::Empty => "an empty entry",
            IgnoredKind::Cidr => "a CIDR is not accepted; give the address without the prefix length",
            IgnoredKind::Zone => "a zone (%...) is not accepted",
            IgnoredKind::Brackets => "brackets are not part of an address",
            IgnoredKind::FamilyKeyword => "the KEP-3705 family keywords were never implemented in kubelet",
            IgnoredKind::NotAnAddress => "not an IP address",
        })
    }
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

/// Something kubelet accepts but a person should know. The wording is bmnet's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
#[non_exhaustive]
pub enum NodeIpArgWarning {
    /// kubelet ignores this piece ("Could not parse some node IP(s), ignoring them").
    Ignored {
        /// The piece, trimmed.
        piece: String,
        /// Why it does not parse.
        kind: IgnoredKind,
    },
    /// Nothing usable was left: kubelet autodetects although a value was given.
    NothingLeft,
    /// Sloppy parsing accepted a non-canonical spelling: leading zeros in IPv4 (read as
    /// decimal), or an IPv6 group of more than 4 hex digits (`02001:db8::1`).
    NonCanonical {
        /// The piece as written.
        piece: String,
        /// The address kubelet reads.
        canonical: IpAddr,
    },
    /// An IPv4-mapped IPv6 address: kubelet counts it as IPv4 and reports it in IPv4 form.
    Mapped {
        /// The address as given.
        ip: IpAddr,
        /// The IPv4 address it stands for.
        ipv4: Ipv4Addr,
    },
    /// A family keyword was accepted (a bmnet extension).
    FamilyKeyword {
        /// The family.
        family: Family,
    },
    /// A cloud provider other than `external`: a legacy in-tree provider.
    LegacyCloudProvider {
        /// The name given.
        name: String,
    },
    /// A feature gate was set where the version ignores or refuses it.
    GateIgnored {
        /// The gate.
        gate: FeatureGate,
        /// The value set.
        value: bool,
        /// The kubelet version.
        version: KubeletVersion,
    },
    /// The kubelet version is older than any modelled; the oldest modelled rules were used.
    VersionNotModelled {
        /// The version asked for.
        version: KubeletVersion,
    },
    /// The address is on the host, but with a caveat.
    HostAddress {
        /// The address.
        ip: IpAddr,
        /// The name of its link.
        link: String,
        /// The caveat.
        caveat: HostAddressCaveat,
    },
}

impl fmt::Display for NodeIpArgWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeIpArgWarning::Ignored { piece, kind } => write!(f, "kubelet ignores {}: {kind}", go_quote(piece)),
            NodeIpArgWarning::NothingLeft => {
                f.write_str("no address is left after the ignored entries: kubelet autodetects the node IP")
            }
            NodeIpArgWarning::NonCanonical { piece, canonical } => {
                let why = if piece.contains('.') {
                    "kubelet reads leading zeros as decimal (inet_aton reads them as octal)"
                } else {
                    "kubelet's sloppy parser accepts an IPv6 group of more than 4 hex digits"
                };
                write!(f, "{} is not canonical: {why}; write {}", go_quote(piece), go_ip_string(*canonical))
            }
            NodeIpArgWarning::Mapped { ip, ipv4 } => write!(
                f,
                "{ip} is an IPv4-mapped IPv6 address: kubelet counts it as the IPv4 address {ipv4}; write {ipv4}"
            ),
            NodeIpArgWarning::FamilyKeyword { family } => write!(
                f,
                "{family} is a bmnet extension (KEP-3705's dropped syntax): kubelet ignores it, so resolve it to an address before passing --node-ip"
            ),
            NodeIpArgWarning::LegacyCloudProvider { name } => write!(
                f,
                "--cloud-provider={name} is a legacy in-tree provider, which never allows a dual-stack --node-ip (in-tree providers were removed in Kubernetes 1.31; use \"external\")"
            ),
            NodeIpArgWarning::GateIgnored { gate, value, version } => {
                if *version < gate.introduced() {
                    write!(
                        f,
                        "feature gate {gate}={value} has no effect: kubelet {version} does not have it (it came in {})",
                        gate.introduced()
                    )
                } else if *value {
                    write!(f, "feature gate {gate}={value} has no effect: it is GA and always on from {}", gate.ga())
                } else {
                    write!(
                        f,
                        "feature gate {gate}={value} has no effect: it is GA and locked on from {}, and kubelet {version} refuses to turn it off",
                        gate.ga()
                    )
                }
            }
            NodeIpArgWarning::VersionNotModelled { version } => write!(
                f,
                "kubelet {version} is older than {}, the oldest version modelled; its rules were used",
                KubeletVersion::OLDEST
            ),
            NodeIpArgWarning::HostAddress { ip, link, caveat } => write!(f, "{ip} on {link}: {caveat}"),
        }
    }
}

/// Checks a kubelet `--node-ip` value as the given kubelet would read it.
///
/// On success the answer says which addresses kubelet uses (primary first), what it ignores,
/// whether it autodetects, and the annotation it sets. On failure every error's `Display` is
/// kubelet's own message for that version; the first is the one kubelet reports.
///
/// ```
/// use bm_nodeip::{KubeletVersion, NodeIpArgOptions, parse_node_ip_arg};
///
/// let opts = NodeIpArgOptions::default().cloud_provider("external");
/// let arg = parse_node_ip_arg(" 10.0.0.5 , fd00::5 ,blah", &opts).unwrap();
/// assert_eq!(arg.ips(), ["10.0.0.5".parse::<std::net::IpAddr>().unwrap(), "fd00::5".parse().unwrap()]);
/// assert_eq!(arg.ignored, ["blah"]);
/// assert_eq!(arg.annotation.as_deref(), Some("10.0.0.5,fd00::5"));
///
/// // Before 1.27 no cloud provider allowed a dual-stack pair, and the message was different.
/// let old = opts.clone().kubelet_version(KubeletVersion::new(1, 26));
/// let err = parse_node_ip_arg("10.0.0.5,fd00::5", &old).unwrap_err();
/// assert_eq!(err.to_string(), r#"dual-stack --node-ip "10.0.0.5,fd00::5" not supported when using a cloud provider"#);
///
/// // `::ffff:10.0.0.6` is IPv4 to kubelet, so this is not a dual-stack pair.
/// let err = parse_node_ip_arg("10.0.0.5,::ffff:10.0.0.6", &opts).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     r#"bad --node-ip "10.0.0.5,::ffff:10.0.0.6": must contain either a single IP or a dual-stack pair of IPs"#
/// );
/// assert_eq!(err.warnings.len(), 1); // the mapped address
///
/// // Link-local is refused up front (kubelet would start, then leave the node without IPs).
/// let err = parse_node_ip_arg("fe80::1", &opts).unwrap_err();
/// assert_eq!(err.to_string(), "failed to validate nodeIP: nodeIP can't be a link-local unicast address");
/// ```
pub fn parse_node_ip_arg(value: &str, options: &NodeIpArgOptions<'_>) -> Result<NodeIpArg, NodeIpArgRejected> {
    let mut warnings = Vec::new();
    let mut version = options.kubelet_version;
    if version < KubeletVersion::OLDEST {
        warnings.push(NodeIpArgWarning::VersionNotModelled { version });
        version = KubeletVersion::OLDEST;
    }
    let cloud = options.cloud_provider.as_str();
    if !cloud.is_empty() && cloud != "external" {
        warnings.push(NodeIpArgWarning::LegacyCloudProvider { name: cloud.to_string() });
    }
    gate_warnings(version, options, &mut warnings);

    // Split, trim, parse sloppily; what does not parse is ignored.
    let mut entries = Vec::new();
    let mut ignored = Vec::new();
    if !value.is_empty() {
        for piece in value.split(',') {
            // Go's strings.TrimSpace and Rust's trim agree: both trim Unicode White_Space.
            let piece = piece.trim();
            if options.family_keywords {
                let family = match piece {
                    p if p.eq_ignore_ascii_case("ipv4") => Some(Family::Ipv4),
                    p if p.eq_ignore_ascii_case("ipv6") => Some(Family::Ipv6),
                    _ => None,
                };
                if let Some(family) = family {
                    warnings.push(NodeIpArgWarning::FamilyKeyword { family });
                    entries.push(NodeIpEntry::Family(family));
                    continue;
                }
            }
            match bm_addr::parse_addr_with(piece, &ParseOptions::sloppy()) {
                Ok(parsed) => {
                    let ip = parsed.addr.addr;
                    if parsed.warning.is_some() {
                        warnings.push(NodeIpArgWarning::NonCanonical { piece: piece.to_string(), canonical: ip });
                    }
                    if let (true, IpAddr::V4(ipv4)) = (ip.is_ipv6(), bm_addr::unmap(ip)) {
                        warnings.push(NodeIpArgWarning::Mapped { ip, ipv4 });
                    }
                    entries.push(NodeIpEntry::Ip(ip));
                }
                Err(_) => {
                    warnings.push(NodeIpArgWarning::Ignored { piece: piece.to_string(), kind: IgnoredKind::of(piece) });
                    ignored.push(piece.to_string());
                }
            }
        }
    }

    if let Some(error) = check_count_and_families(value, &entries, version, options) {
        return Err(NodeIpArgRejected { errors: vec![error], ignored, warnings });
    }

    // validateNodeIP, on each specified address, nodeIP first.
    let mut errors = Vec::new();
    for (role, entry) in [NodeIpRole::Primary, NodeIpRole::Secondary].into_iter().zip(&entries) {
        let NodeIpEntry::Ip(ip) = *entry else { continue };
        if go_is_unspecified(ip) {
            continue;
        }
        match validate_node_ip(ip, options.host) {
            Err(problem) => errors.push(NodeIpArgError::InvalidNodeIp { role, ip, problem }),
            Ok(()) => {
                if let Some(host) = options.host {
                    host_caveats(host, ip, &mut warnings);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(NodeIpArgRejected { errors, ignored, warnings });
    }

    let specified: Vec<&NodeIpEntry> = entries.iter().filter(|e| !e.is_unspecified()).collect();
    let autodetect = specified.is_empty();
    if autodetect && entries.is_empty() && !value.is_empty() {
        warnings.push(NodeIpArgWarning::NothingLeft);
    }
    // preferIPv4 := nodeIP == nil || nodeIP.To4() != nil
    let primary_family = entries.first().map_or(Family::Ipv4, NodeIpEntry::family);
    let has_keyword = entries.iter().any(|e| matches!(e, NodeIpEntry::Family(_)));
    let annotation = (!cloud.is_empty() && !autodetect && !has_keyword)
        .then(|| specified.iter().map(|e| e.to_string()).collect::<Vec<_>>().join(","));
    Ok(NodeIpArg { entries, ignored, warnings, autodetect, primary_family, annotation })
}

/// The count and family rules, in kubelet's order for the version.
fn check_count_and_families(
    value: &str,
    entries: &[NodeIpEntry],
    version: KubeletVersion,
    options: &NodeIpArgOptions<'_>,
) -> Option<NodeIpArgError> {
    let value = || value.to_string();
    let wording = version.wording();
    let n = entries.len();
    let not_pair = n > 2 || (n == 2 && entries[0].family() == entries[1].family());
    let pair = n == 2;
    let unspecified = pair && entries.iter().any(NodeIpEntry::is_unspecified);
    let cloud = options.cloud_provider.as_str();
    match wording {
        KubeletWording::Legacy => {
            let dual_stack = FeatureGate::Ipv6DualStack.enabled(version, options.ipv6_dual_stack_gate);
            if !dual_stack && n > 1 {
                Some(NodeIpArgError::SingleStackCluster { value: value() })
            } else if not_pair {
                Some(NodeIpArgError::NotSingleOrDualStackPair { value: value(), wording })
            } else if pair && !cloud.is_empty() {
                Some(NodeIpArgError::DualStackNotSupported { value: value(), wording })
            } else if unspecified {
                Some(NodeIpArgError::DualStackUnspecified { value: value(), wording })
            } else {
                None
            }
        }
        KubeletWording::Current => {
            let allow_dual = cloud.is_empty()
                || (cloud == "external"
                    && FeatureGate::CloudDualStackNodeIps.enabled(version, options.cloud_dual_stack_gate));
            if not_pair {
                Some(NodeIpArgError::NotSingleOrDualStackPair { value: value(), wording })
            } else if pair && !allow_dual {
                Some(NodeIpArgError::DualStackNotSupported { value: value(), wording })
            } else if unspecified {
                Some(NodeIpArgError::DualStackUnspecified { value: value(), wording })
            } else {
                None
            }
        }
    }
}

/// Warns about gates set where the version does not let them matter.
fn gate_warnings(version: KubeletVersion, options: &NodeIpArgOptions<'_>, warnings: &mut Vec<NodeIpArgWarning>) {
    let gates = [
        (FeatureGate::CloudDualStackNodeIps, options.cloud_dual_stack_gate),
        (FeatureGate::Ipv6DualStack, options.ipv6_dual_stack_gate),
    ];
    for (gate, set) in gates {
        let Some(value) = set else { continue };
        // Setting a GA gate to true changes nothing kubelet does; say nothing about it.
        let ignored = version < gate.introduced() || (version >= gate.ga() && !value);
        if ignored {
            warnings.push(NodeIpArgWarning::GateIgnored { gate, value, version });
        }
    }
}

/// Warns when every host address equal to `ip` has a caveat (the first such address's).
fn host_caveats(host: &HostSnapshot, ip: IpAddr, warnings: &mut Vec<NodeIpArgWarning>) {
    let caveats_of = |a: &Address| {
        let link = host.link(a.link);
        let mut out = Vec::new();
        if link.is_some_and(|l| !l.up) {
            out.push(HostAddressCaveat::LinkDown);
        }
        if link.is_some_and(|l| l.loopback) {
            out.push(HostAddressCaveat::Loopback);
        }
        if a.flags.dadfailed {
            out.push(HostAddressCaveat::DadFailed);
        } else if a.flags.tentative && !a.flags.optimistic {
            out.push(HostAddressCaveat::Tentative);
        }
        if a.is_deprecated() {
            out.push(HostAddressCaveat::Deprecated);
        }
        out
    };
    let matches = host_matches(host, ip).map(|a| (a, caveats_of(a))).collect::<Vec<_>>();
    if matches.iter().any(|(_, c)| c.is_empty()) {
        return;
    }
    let Some((address, caveats)) = matches.into_iter().next() else { return };
    let link = host.link(address.link).map_or_else(|| format!("link #{}", address.link), |l| l.name.clone());
    for caveat in caveats {
        warnings.push(NodeIpArgWarning::HostAddress { ip, link: link.clone(), caveat });
    }
}

/// Go's `ip.IsUnspecified()`: `0.0.0.0`, `::`, and `::ffff:0.0.0.0`.
fn go_is_unspecified(ip: IpAddr) -> bool {
    bm_addr::unmap(ip).is_unspecified()
}

/// Go's `net.IP.String()`: mapped addresses print as IPv4; the rest as RFC 5952, like Rust.
fn go_ip_string(ip: IpAddr) -> String {
    bm_addr::unmap(ip).to_string()
}

/// Go's `%q` (`strconv.Quote`) for ASCII; other characters are escaped as
/// `strconv.QuoteToASCII` escapes them (`\u00e9`, `\U0001f600`), where `%q` would keep the
/// printable ones.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AddressFlags, Link};
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn opts(cloud: &str) -> NodeIpArgOptions<'static> {
        NodeIpArgOptions::default().cloud_provider(cloud)
    }

    fn at(cloud: &str, minor: u32) -> NodeIpArgOptions<'static> {
        opts(cloud).kubelet_version(KubeletVersion::new(1, minor))
    }

    fn message(value: &str, o: &NodeIpArgOptions<'_>) -> String {
        parse_node_ip_arg(value, o).unwrap_err().to_string()
    }

    const PAIR: &str = "must contain either a single IP or a dual-stack pair of IPs";
    const SS: &str = "dual-stack not supported in this configuration";
    const UNSPEC: &str = "dual-stack node IP cannot include '0.0.0.0' or '::'";

    /// component-helpers node/util/ips_test.go `TestParseNodeIPArgument`: description, input,
    /// output, ignored pieces, error with dual stack allowed ("" and "external"), error for "gce".
    type Row = (
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        Option<&'static str>,
        Option<&'static str>,
    );

    #[rustfmt::skip]
    const TABLE: &[Row] = &[
        ("empty --node-ip", "", &[], &[], None, None),
        ("just whitespace (ignored)", " ", &[], &[""], None, None),
        ("garbage (ignored)", "blah", &[], &["blah"], None, None),
        ("single IPv4", "1.2.3.4", &["1.2.3.4"], &[], None, None),
        ("single IPv4 with whitespace", " 1.2.3.4   ", &["1.2.3.4"], &[], None, None),
        ("single IPv4 non-canonical", "01.2.3.004", &["1.2.3.4"], &[], None, None),
        ("single IPv4 invalid (ignored)", "1.2.3", &[], &["1.2.3"], None, None),
        ("single IPv4 CIDR (ignored)", "1.2.3.0/24", &[], &["1.2.3.0/24"], None, None),
        ("single IPv4 unspecified", "0.0.0.0", &["0.0.0.0"], &[], None, None),
        ("single IPv4 plus ignored garbage", "1.2.3.4,not-an-IPv6-address", &["1.2.3.4"], &["not-an-IPv6-address"], None, None),
        ("single IPv6", "abcd::ef01", &["abcd::ef01"], &[], None, None),
        ("single IPv6 non-canonical", "abcd:0abc:00ab:0000:0000::1", &["abcd:abc:ab::1"], &[], None, None),
        ("simple dual-stack", "1.2.3.4,abcd::ef01", &["1.2.3.4", "abcd::ef01"], &[], None, Some(SS)),
        ("dual-stack with whitespace", "abcd::ef01 , 1.2.3.4", &["abcd::ef01", "1.2.3.4"], &[], None, Some(SS)),
        ("double IPv4", "1.2.3.4,5.6.7.8", &[], &[], Some(PAIR), Some(PAIR)),
        ("double IPv6", "abcd::1,abcd::2", &[], &[], Some(PAIR), Some(PAIR)),
        ("dual-stack with unspecified", "1.2.3.4,::", &[], &[], Some(UNSPEC), Some(SS)),
        ("dual-stack with unspecified", "0.0.0.0,abcd::1", &[], &[], Some(UNSPEC), Some(SS)),
        ("dual-stack plus ignored garbage", "abcd::ef01 , 1.2.3.4, something else", &["abcd::ef01", "1.2.3.4"], &["something else"], None, Some(SS)),
        ("triple stack!", "1.2.3.4,abcd::1,5.6.7.8", &[], &[], Some(PAIR), Some(PAIR)),
    ];

    #[test]
    fn parse_node_ip_argument_table() {
        for cloud in ["", "external", "gce"] {
            for &(desc, input, out, invalids, err, gce_err) in TABLE {
                let err = if cloud == "gce" { gce_err } else { err };
                let ctx = format!("{desc} ({input:?}, cloud {cloud:?})");
                match (parse_node_ip_arg(input, &opts(cloud)), err) {
                    (Ok(arg), None) => {
                        let want: Vec<IpAddr> = out.iter().map(|s| ip(s)).collect();
                        assert_eq!(arg.ips(), want, "{ctx}");
                        assert_eq!(arg.ignored, invalids, "{ctx}");
                    }
                    (Err(rejected), Some(msg)) => {
                        assert_eq!(rejected.errors.len(), 1, "{ctx}");
                        assert!(rejected.kubelet_error().unwrap().is_fatal_at_startup(), "{ctx}");
                        let want = format!("bad --node-ip {}: {msg}", go_quote(input));
                        assert_eq!(rejected.to_string(), want, "{ctx}");
                        assert_eq!(rejected.ignored, invalids, "{ctx}");
                    }
                    (got, want) => panic!("{ctx}: got {got:?}, want error {want:?}"),
                }
            }
        }
    }

    /// The same table through kubelet 1.26: the legacy rules and wording, where any cloud
    /// provider (`external` too) refuses a pair, and that check comes before the unspecified one.
    #[test]
    fn parse_node_ip_argument_table_legacy() {
        for cloud in ["", "external", "gce"] {
            for &(desc, input, out, invalids, err, _) in TABLE {
                let ctx = format!("{desc} ({input:?}, cloud {cloud:?})");
                let q = go_quote(input);
                let pair = out.len() == 2 || err == Some(UNSPEC);
                let want = if err == Some(PAIR) {
                    Some(format!("bad --node-ip {q}; {PAIR}"))
                } else if pair && !cloud.is_empty() {
                    Some(format!("dual-stack --node-ip {q} not supported when using a cloud provider"))
                } else if err == Some(UNSPEC) {
                    Some(format!("dual-stack --node-ip {q} cannot include '0.0.0.0' or '::'"))
                } else {
                    None
                };
                match (parse_node_ip_arg(input, &at(cloud, 26)), want) {
                    (Ok(arg), None) => {
                        let want: Vec<IpAddr> = out.iter().map(|s| ip(s)).collect();
                        assert_eq!(arg.ips(), want, "{ctx}");
                        assert_eq!(arg.ignored, invalids, "{ctx}");
                    }
                    (Err(rejected), Some(want)) => {
                        assert_eq!(rejected.to_string(), want, "{ctx}");
                        assert_eq!(rejected.ignored, invalids, "{ctx}");
                    }
                    (got, want) => panic!("{ctx}: got {got:?}, want error {want:?}"),
                }
            }
        }
    }

    #[test]
    fn exact_current_messages() {
        assert_eq!(
            message("1.2.3.4,5.6.7.8", &opts("")),
            r#"bad --node-ip "1.2.3.4,5.6.7.8": must contain either a single IP or a dual-stack pair of IPs"#
        );
        assert_eq!(
            message("1.2.3.4,abcd::1", &opts("gce")),
            r#"bad --node-ip "1.2.3.4,abcd::1": dual-stack not supported in this configuration"#
        );
        assert_eq!(
            message(" 0.0.0.0 , abcd::1", &opts("external")),
            r#"bad --node-ip " 0.0.0.0 , abcd::1": dual-stack node IP cannot include '0.0.0.0' or '::'"#
        );
    }

    #[test]
    fn legacy_wording_before_1_27() {
        let v126 = |cloud| at(cloud, 26);
        assert_eq!(
            message("1.2.3.4,abcd::1", &v126("external")),
            r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported when using a cloud provider"#
        );
        assert_eq!(
            message("1.2.3.4,abcd::1", &v126("gce")),
            r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported when using a cloud provider"#
        );
        assert!(parse_node_ip_arg("1.2.3.4,abcd::1", &v126("")).is_ok());
        assert_eq!(
            message("1.2.3.4,5.6.7.8", &v126("")),
            r#"bad --node-ip "1.2.3.4,5.6.7.8"; must contain either a single IP or a dual-stack pair of IPs"#
        );
        assert_eq!(
            message("1.2.3.4,abcd::1,5.6.7.8", &v126("external")),
            r#"bad --node-ip "1.2.3.4,abcd::1,5.6.7.8"; must contain either a single IP or a dual-stack pair of IPs"#
        );
        assert_eq!(
            message("1.2.3.4,::", &v126("")),
            r#"dual-stack --node-ip "1.2.3.4,::" cannot include '0.0.0.0' or '::'"#
        );
        // The cloud-provider check comes before the unspecified one.
        assert_eq!(
            message("1.2.3.4,::", &v126("external")),
            r#"dual-stack --node-ip "1.2.3.4,::" not supported when using a cloud provider"#
        );
        let e = parse_node_ip_arg("1.2.3.4,abcd::1", &v126("external")).unwrap_err();
        assert!(matches!(e.errors[0], NodeIpArgError::DualStackNotSupported { wording: KubeletWording::Legacy, .. }));
        // Single IPs are fine with any provider in every version.
        assert!(parse_node_ip_arg("1.2.3.4", &v126("gce")).is_ok());
    }

    #[test]
    fn ipv6_dual_stack_gate_before_1_23() {
        let pair = "1.2.3.4,abcd::1";
        let single_stack = r#"dual-stack --node-ip "1.2.3.4,abcd::1" not supported in a single-stack cluster"#;
        assert_eq!(message(pair, &at("", 20)), single_stack);
        assert!(parse_node_ip_arg(pair, &at("", 20).ipv6_dual_stack_gate(true)).is_ok());
        assert!(parse_node_ip_arg(pair, &at("", 21)).is_ok());
        assert_eq!(message(pair, &at("", 22).ipv6_dual_stack_gate(false)), single_stack);
        // The gate check comes first, even for two IPv4 addresses.
        assert_eq!(
            message("1.2.3.4,5.6.7.8", &at("", 20)),
            r#"dual-stack --node-ip "1.2.3.4,5.6.7.8" not supported in a single-stack cluster"#
        );
        // GA in 1.23: turning it off changes nothing here, with a warning.
        let arg = parse_node_ip_arg(pair, &at("", 23).ipv6_dual_stack_gate(false)).unwrap();
        assert_eq!(
            arg.warnings,
            [NodeIpArgWarning::GateIgnored {
                gate: FeatureGate::Ipv6DualStack,
                value: false,
                version: KubeletVersion::new(1, 23)
            }]
        );
        assert!(parse_node_ip_arg("1.2.3.4", &at("", 20)).is_ok());
    }

    #[test]
    fn cloud_dual_stack_gate() {
        let pair = "1.2.3.4,abcd::1";
        let refused = r#"bad --node-ip "1.2.3.4,abcd::1": dual-stack not supported in this configuration"#;
        // Alpha, off by default.
        assert_eq!(message(pair, &at("external", 27)), refused);
        assert_eq!(message(pair, &at("external", 28)), refused);
        assert!(parse_node_ip_arg(pair, &at("external", 27).cloud_dual_stack_gate(true)).is_ok());
        assert!(parse_node_ip_arg(pair, &at("external", 28).cloud_dual_stack_gate(true)).is_ok());
        // Beta, on by default.
        assert!(parse_node_ip_arg(pair, &at("external", 29)).is_ok());
        assert_eq!(message(pair, &at("external", 29).cloud_dual_stack_gate(false)), refused);
        // GA, locked on.
        let arg = parse_node_ip_arg(pair, &at("external", 30).cloud_dual_stack_gate(false)).unwrap();
        assert!(matches!(
            arg.warnings[..],
            [NodeIpArgWarning::GateIgnored { gate: FeatureGate::CloudDualStackNodeIps, value: false, .. }]
        ));
        assert!(arg.warnings[0].to_string().contains("locked on from 1.30"));
        assert!(parse_node_ip_arg(pair, &at("external", 30)).is_ok());
        assert!(parse_node_ip_arg(pair, &at("external", 33)).is_ok());
        // Never for an in-tree provider, never needed without one.
        for minor in [27, 28, 29, 30, 33] {
            assert_eq!(message(pair, &at("gce", minor).cloud_dual_stack_gate(true)), refused, "1.{minor}");
            assert!(parse_node_ip_arg(pair, &at("", minor).cloud_dual_stack_gate(false)).is_ok(), "1.{minor}");
        }
        // Before the gate exists it is ignored, with a warning.
        let e = parse_node_ip_arg(pair, &at("external", 26).cloud_dual_stack_gate(true)).unwrap_err();
        assert!(e.warnings.iter().any(|w| matches!(w, NodeIpArgWarning::GateIgnored { .. })));
        assert!(e.to_string().starts_with("dual-stack --node-ip"));
    }

    #[test]
    fn feature_gate_defaults() {
        let g = FeatureGate::CloudDualStackNodeIps;
        let on = |minor, set| g.enabled(KubeletVersion::new(1, minor), set);
        assert!(!on(26, Some(true)));
        assert!(!on(27, None) && on(27, Some(true)));
        assert!(!on(28, None));
        assert!(on(29, None) && !on(29, Some(false)));
        assert!(on(30, Some(false)) && on(33, None));
        assert_eq!(g.to_string(), "CloudDualStackNodeIPs");
        assert_eq!(serde_json::to_string(&FeatureGate::Ipv6DualStack).unwrap(), r#""IPv6DualStack""#);
    }

    #[test]
    fn unspecified_means_autodetect() {
        let arg = parse_node_ip_arg("0.0.0.0", &opts("")).unwrap();
        assert!(arg.autodetect);
        assert_eq!(arg.ips(), [ip("0.0.0.0")]);
        assert!(arg.specified_ips().is_empty());
        assert_eq!(arg.primary_family, Family::Ipv4);
        // `::` prefers IPv6 (kubernetes#85850).
        let arg = parse_node_ip_arg("::", &opts("external")).unwrap();
        assert!(arg.autodetect);
        assert_eq!(arg.primary_family, Family::Ipv6);
        assert_eq!(arg.annotation, None);
        // Empty: autodetect, IPv4 preferred, no warning.
        let arg = parse_node_ip_arg("", &opts("")).unwrap();
        assert!(arg.autodetect && arg.warnings.is_empty() && arg.entries.is_empty());
        assert_eq!(arg.primary_family, Family::Ipv4);
        // Mapped zeros are IPv4 zeros to Go.
        let arg = parse_node_ip_arg("::ffff:0.0.0.0", &opts("")).unwrap();
        assert!(arg.autodetect);
        assert_eq!(arg.primary_family, Family::Ipv4);
        assert_eq!(
            message("::ffff:0.0.0.0,abcd::1", &opts("")),
            r#"bad --node-ip "::ffff:0.0.0.0,abcd::1": dual-stack node IP cannot include '0.0.0.0' or '::'"#
        );
        // Only ignored pieces: autodetect, said so.
        let arg = parse_node_ip_arg("eth0", &opts("")).unwrap();
        assert!(arg.autodetect);
        assert_eq!(arg.warnings.last(), Some(&NodeIpArgWarning::NothingLeft));
    }

    #[test]
    fn primary_family_and_dual_stack() {
        let arg = parse_node_ip_arg("abcd::ef01 , 1.2.3.4", &opts("")).unwrap();
        assert_eq!(arg.primary_family, Family::Ipv6);
        assert!(arg.is_dual_stack() && !arg.autodetect);
        assert_eq!(arg.canonical_value(), "abcd::ef01,1.2.3.4");
        assert_eq!(arg.annotation, None);
    }

    #[test]
    fn annotation() {
        let ann = |value: &str, cloud: &str| parse_node_ip_arg(value, &opts(cloud)).unwrap().annotation;
        assert_eq!(ann("1.2.3.4", "external").as_deref(), Some("1.2.3.4"));
        // Legacy in-tree providers get it too ("Legacy cloud provider gets nodeIP annotation").
        assert_eq!(ann("1.2.3.4", "gce").as_deref(), Some("1.2.3.4"));
        assert_eq!(ann("1.2.3.4", ""), None);
        assert_eq!(ann("", "external"), None);
        assert_eq!(ann("0.0.0.0", "external"), None);
        assert_eq!(ann("blah", "external"), None);
        assert_eq!(ann("abcd::ef01 , 1.2.3.4, x", "external").as_deref(), Some("abcd::ef01,1.2.3.4"));
        assert_eq!(ann("01.2.3.004", "external").as_deref(), Some("1.2.3.4"));
        assert_eq!(ann("ABCD:0::0:1", "external").as_deref(), Some("abcd::1"));
        assert_eq!(ann("::ffff:5.6.7.8", "external").as_deref(), Some("5.6.7.8"));
        assert_eq!(PROVIDED_NODE_IP_ANNOTATION, "alpha.kubernetes.io/provided-node-ip");
    }

    #[test]
    fn validate_node_ip_messages() {
        let cases = [
            ("127.0.0.1", "nodeIP can't be loopback address"),
            ("::1", "nodeIP can't be loopback address"),
            ("::ffff:127.0.0.2", "nodeIP can't be loopback address"),
            ("224.0.0.1", "nodeIP can't be a multicast address"),
            ("ff02::1", "nodeIP can't be a multicast address"),
            ("169.254.1.10", "nodeIP can't be a link-local unicast address"),
            ("fe80::1", "nodeIP can't be a link-local unicast address"),
            ("febf::1", "nodeIP can't be a link-local unicast address"),
            ("::ffff:169.254.0.1", "nodeIP can't be a link-local unicast address"),
        ];
        for (value, problem) in cases {
            let e = parse_node_ip_arg(value, &opts("")).unwrap_err();
            assert_eq!(e.to_string(), format!("failed to validate nodeIP: {problem}"), "{value}");
            assert!(!e.errors[0].is_fatal_at_startup());
        }
        // The secondary address has its own wrapper.
        assert_eq!(
            message("1.2.3.4,fe80::1", &opts("")),
            "failed to validate secondaryNodeIP: nodeIP can't be a link-local unicast address"
        );
        // Both bad: kubelet reports the first, the second is there too.
        let e = parse_node_ip_arg("127.0.0.1,::1", &opts("")).unwrap_err();
        assert_eq!(e.errors.len(), 2);
        assert_eq!(e.to_string(), "failed to validate nodeIP: nodeIP can't be loopback address");
        assert_eq!(e.errors[1].to_string(), "failed to validate secondaryNodeIP: nodeIP can't be loopback address");
        assert_eq!(
            e.errors[1],
            NodeIpArgError::InvalidNodeIp {
                role: NodeIpRole::Secondary,
                ip: ip("::1"),
                problem: NodeIpValidationError::Loopback
            }
        );
        // Not loopback to Go: a compatible address is IPv6, and only ::1 is IPv6 loopback.
        assert!(parse_node_ip_arg("::127.0.0.1", &opts("")).is_ok());
        assert!(parse_node_ip_arg("fec0::1", &opts("")).is_ok()); // site-local is not link-local
        // All zeros: only where kubelet applies it (not to --node-ip, where it means autodetect).
        assert_eq!(validate_node_ip(ip("0.0.0.0"), None), Err(NodeIpValidationError::AllZeros));
        assert_eq!(NodeIpValidationError::AllZeros.to_string(), "nodeIP can't be an all zeros address");
        assert_eq!(validate_node_ip(ip("10.0.0.1"), None), Ok(()));
    }

    fn host() -> HostSnapshot {
        let link =
            |index, name: &str, up, loopback| Link { index, name: name.to_string(), up, loopback, ..Link::default() };
        let addr = |link, net: &str, flags| Address {
            link,
            addr: net.parse().unwrap(),
            scope: Default::default(),
            flags,
            label: None,
            preferred_lft: None,
            valid_lft: None,
        };
        let tentative = AddressFlags { tentative: true, ..AddressFlags::default() };
        let mut vip = addr(2, "10.0.0.100/32", AddressFlags::default());
        vip.preferred_lft = Some(0);
        HostSnapshot {
            links: vec![link(1, "lo", true, true), link(2, "eth0", true, false), link(3, "eth1", false, false)],
            addresses: vec![
                addr(1, "127.0.0.1/8", AddressFlags::default()),
                addr(2, "10.0.0.5/24", AddressFlags::default()),
                addr(2, "fd00::5/64", AddressFlags::default()),
                addr(2, "fd00::6/64", tentative),
                vip,
                addr(3, "192.168.9.9/24", AddressFlags::default()),
                addr(1, "203.0.113.1/32", AddressFlags::default()),
            ],
            routes: vec![],
        }
    }

    #[test]
    fn on_host_check() {
        let h = host();
        let o = opts("").host(&h);
        let arg = parse_node_ip_arg("10.0.0.5,fd00::5", &o).unwrap();
        assert!(arg.warnings.is_empty());
        assert_eq!(
            message("10.0.0.6", &o),
            r#"failed to validate nodeIP: node IP: "10.0.0.6" not found in the host's network interfaces"#
        );
        assert_eq!(
            message("10.0.0.5,fd00::7", &o),
            r#"failed to validate secondaryNodeIP: node IP: "fd00::7" not found in the host's network interfaces"#
        );
        // Go's Equal: a mapped address matches the IPv4 address, and prints as IPv4.
        let arg = parse_node_ip_arg("::ffff:10.0.0.5", &o).unwrap();
        assert!(matches!(arg.warnings[..], [NodeIpArgWarning::Mapped { .. }]));
        assert_eq!(
            message("::ffff:10.0.0.7", &o),
            r#"failed to validate nodeIP: node IP: "10.0.0.7" not found in the host's network interfaces"#
        );
        // Loopback is refused before the presence check.
        assert_eq!(message("127.0.0.1", &o), "failed to validate nodeIP: nodeIP can't be loopback address");
        // No host, no presence check.
        assert!(parse_node_ip_arg("10.0.0.6", &opts("")).is_ok());
        // Unspecified is not checked.
        assert!(parse_node_ip_arg("::", &o).is_ok());
    }

    #[test]
    fn on_host_caveats() {
        let h = host();
        let o = opts("").host(&h);
        let caveats = |value| -> Vec<HostAddressCaveat> {
            parse_node_ip_arg(value, &o)
                .unwrap()
                .warnings
                .into_iter()
                .filter_map(|w| match w {
                    NodeIpArgWarning::HostAddress { caveat, .. } => Some(caveat),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(caveats("fd00::6"), [HostAddressCaveat::Tentative]);
        assert_eq!(caveats("10.0.0.100"), [HostAddressCaveat::Deprecated]);
        assert_eq!(caveats("192.168.9.9"), [HostAddressCaveat::LinkDown]);
        assert_eq!(caveats("203.0.113.1"), [HostAddressCaveat::Loopback]);
        let w = &parse_node_ip_arg("192.168.9.9", &o).unwrap().warnings[0];
        assert_eq!(w.to_string(), "192.168.9.9 on eth1: the link is down");
    }

    #[test]
    fn sloppy_warnings() {
        let arg = parse_node_ip_arg("01.2.3.004", &opts("")).unwrap();
        assert_eq!(arg.ips(), [ip("1.2.3.4")]);
        assert_eq!(
            arg.warnings,
            [NodeIpArgWarning::NonCanonical { piece: "01.2.3.004".to_string(), canonical: ip("1.2.3.4") }]
        );
        assert_eq!(
            arg.warnings[0].to_string(),
            r#""01.2.3.004" is not canonical: kubelet reads leading zeros as decimal (inet_aton reads them as octal); write 1.2.3.4"#
        );
        assert_eq!(arg.canonical_value(), "1.2.3.4");
        // Leading zeros in IPv6 groups are canonical grammar: no warning.
        let arg = parse_node_ip_arg("abcd:0abc:00ab:0000:0000::1", &opts("")).unwrap();
        assert!(arg.warnings.is_empty());
        assert_eq!(arg.canonical_value(), "abcd:abc:ab::1");
        let arg = parse_node_ip_arg("02001:db8::1", &opts("")).unwrap();
        assert_eq!(arg.ips(), [ip("2001:db8::1")]);
        assert_eq!(
            arg.warnings[0].to_string(),
            r#""02001:db8::1" is not canonical: kubelet's sloppy parser accepts an IPv6 group of more than 4 hex digits; write 2001:db8::1"#
        );
        // In a pair, each piece is reported.
        let arg = parse_node_ip_arg("010.0.0.1,fd00::1", &opts("")).unwrap();
        assert_eq!(arg.ips(), [ip("10.0.0.1"), ip("fd00::1")]);
        assert_eq!(arg.warnings.len(), 1);
    }

    #[test]
    fn ignored_pieces_are_warnings() {
        let arg = parse_node_ip_arg("1.2.3.4, 10.0.0.0/8 ,fe80::1%eth0,[fd00::1],IPv6,,x", &opts("")).unwrap();
        assert_eq!(arg.ips(), [ip("1.2.3.4")]);
        assert_eq!(arg.ignored, ["10.0.0.0/8", "fe80::1%eth0", "[fd00::1]", "IPv6", "", "x"]);
        let kinds: Vec<IgnoredKind> = arg
            .warnings
            .iter()
            .filter_map(|w| match w {
                NodeIpArgWarning::Ignored { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            [
                IgnoredKind::Cidr,
                IgnoredKind::Zone,
                IgnoredKind::Brackets,
                IgnoredKind::FamilyKeyword,
                IgnoredKind::Empty,
                IgnoredKind::NotAnAddress
            ]
        );
        assert_eq!(
            arg.warnings[0].to_string(),
            r#"kubelet ignores "10.0.0.0/8": a CIDR is not accepted; give the address without the prefix length"#
        );
        assert_eq!(arg.canonical_value(), "1.2.3.4");
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        // Not a dual-stack pair to kubelet; the warning says why.
        let e = parse_node_ip_arg("1.2.3.4,::ffff:5.6.7.8", &opts("")).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"bad --node-ip "1.2.3.4,::ffff:5.6.7.8": must contain either a single IP or a dual-stack pair of IPs"#
        );
        assert_eq!(
            e.warnings,
            [NodeIpArgWarning::Mapped { ip: ip("::ffff:5.6.7.8"), ipv4: "5.6.7.8".parse().unwrap() }]
        );
        assert_eq!(
            e.warnings[0].to_string(),
            "::ffff:5.6.7.8 is an IPv4-mapped IPv6 address: kubelet counts it as the IPv4 address 5.6.7.8; write 5.6.7.8"
        );
        // With a real IPv6 address it is a pair, IPv4 primary.
        let arg = parse_node_ip_arg("::ffff:5.6.7.8,abcd::1", &opts("")).unwrap();
        assert_eq!(arg.primary_family, Family::Ipv4);
        assert_eq!(arg.canonical_value(), "5.6.7.8,abcd::1");
        assert_eq!(arg.entries[0], NodeIpEntry::Ip(ip("::ffff:5.6.7.8")));
        // Other embeddings are IPv6.
        assert!(parse_node_ip_arg("1.2.3.4,64:ff9b::5.6.7.8", &opts("")).unwrap().warnings.is_empty());
    }

    #[test]
    fn family_keywords_extension() {
        // Stock kubelet: ignored, so autodetect.
        let arg = parse_node_ip_arg("IPv4,IPv6", &opts("")).unwrap();
        assert!(arg.autodetect);
        assert_eq!(arg.ignored, ["IPv4", "IPv6"]);
        assert_eq!(arg.warnings.last(), Some(&NodeIpArgWarning::NothingLeft));

        let kw = |cloud| opts(cloud).family_keywords(true);
        let arg = parse_node_ip_arg("IPv4", &kw("external")).unwrap();
        assert_eq!(arg.entries, [NodeIpEntry::Family(Family::Ipv4)]);
        assert!(!arg.autodetect);
        assert_eq!(arg.annotation, None);
        assert_eq!(arg.warnings, [NodeIpArgWarning::FamilyKeyword { family: Family::Ipv4 }]);
        let arg = parse_node_ip_arg("IPv6,5.6.7.8", &kw("")).unwrap();
        assert_eq!(arg.primary_family, Family::Ipv6);
        assert_eq!(arg.canonical_value(), "IPv6,5.6.7.8");
        let arg = parse_node_ip_arg("ipv4 , ipv6", &kw("external")).unwrap();
        assert!(arg.is_dual_stack());
        assert_eq!(arg.canonical_value(), "IPv4,IPv6");
        assert_eq!(
            message("IPv4,1.2.3.4", &kw("")),
            r#"bad --node-ip "IPv4,1.2.3.4": must contain either a single IP or a dual-stack pair of IPs"#
        );
        assert_eq!(
            message("IPv4,IPv6", &kw("gce")),
            r#"bad --node-ip "IPv4,IPv6": dual-stack not supported in this configuration"#
        );
        assert_eq!(
            message("IPv4,::", &kw("")),
            r#"bad --node-ip "IPv4,::": dual-stack node IP cannot include '0.0.0.0' or '::'"#
        );
    }

    #[test]
    fn legacy_cloud_provider_warning() {
        let arg = parse_node_ip_arg("1.2.3.4", &opts("aws")).unwrap();
        assert_eq!(arg.warnings, [NodeIpArgWarning::LegacyCloudProvider { name: "aws".to_string() }]);
        assert!(parse_node_ip_arg("1.2.3.4", &opts("external")).unwrap().warnings.is_empty());
    }

    #[test]
    fn versions() {
        let v = |s: &str| KubeletVersion::parse(s);
        assert_eq!(v("1.26"), Ok(KubeletVersion::new(1, 26)));
        assert_eq!(v("v1.30.2"), Ok(KubeletVersion::new(1, 30)));
        assert_eq!(v("V1.30"), Ok(KubeletVersion::new(1, 30)));
        assert_eq!(v("v1.29.0-rc.1"), Ok(KubeletVersion::new(1, 29)));
        assert_eq!(v("v1.30.2+k3s1"), Ok(KubeletVersion::new(1, 30)));
        assert_eq!(v(" 1.33 "), Ok(KubeletVersion::new(1, 33)));
        for bad in
            ["", "1", "1.", ".1", "x.y", "1.30.2.1", "1.-1", "v", "1.30-", "1.30+", "1..2", "1.2x", "1.99999999999"]
        {
            assert_eq!(v(bad), Err(KubeletVersionError::Malformed { input: bad.to_string() }), "{bad:?}");
        }
        assert_eq!(
            v("1.x").unwrap_err().to_string(),
            r#"invalid kubelet version "1.x": expected MAJOR.MINOR such as 1.30 or v1.30.2"#
        );
        assert_eq!(v("2.0").unwrap_err().to_string(), "invalid kubelet version 2.0: Kubernetes versions are 1.x");
        assert_eq!(
            v("1.19").unwrap_err().to_string(),
            "kubelet 1.19 is older than 1.20, the oldest version whose --node-ip rules bmnet models"
        );
        assert_eq!(KubeletVersion::default(), KubeletVersion::CURRENT);
        assert_eq!(KubeletVersion::new(1, 26).wording(), KubeletWording::Legacy);
        assert_eq!(KubeletVersion::new(1, 27).wording(), KubeletWording::Current);
        assert_eq!(serde_json::to_string(&KubeletVersion::new(1, 30)).unwrap(), r#""1.30""#);
        assert_eq!(serde_json::from_str::<KubeletVersion>(r#""v1.28.3""#).unwrap(), KubeletVersion::new(1, 28));
        assert!(serde_json::from_str::<KubeletVersion>(r#""1.2.3.4""#).is_err());
        // Built directly, an old version is checked as the oldest modelled, with a warning.
        let arg = parse_node_ip_arg("1.2.3.4", &at("", 18)).unwrap();
        assert_eq!(arg.warnings, [NodeIpArgWarning::VersionNotModelled { version: KubeletVersion::new(1, 18) }]);
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote(""), r#""""#);
        assert_eq!(go_quote("1.2.3.4, x"), r#""1.2.3.4, x""#);
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\x07\x08\x0c\n\r\t\x0b\x00\x1b\x7f"), r#""\a\b\f\n\r\t\v\x00\x1b\x7f""#);
        assert_eq!(go_quote("é\u{a0}😀"), r#""\u00e9\u00a0\U0001f600""#);
        assert_eq!(
            message("1.2.3.4,\t5.6.7.8\n", &opts("")),
            r#"bad --node-ip "1.2.3.4,\t5.6.7.8\n": must contain either a single IP or a dual-stack pair of IPs"#
        );
    }

    #[test]
    fn go_ip_strings() {
        assert_eq!(go_ip_string(ip("::ffff:1.2.3.4")), "1.2.3.4");
        assert_eq!(go_ip_string(ip("::1.2.3.4")), "::102:304");
        assert_eq!(go_ip_string(ip("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
        assert_eq!(go_ip_string(ip("2001:db8:0:1:1:1:1:1")), "2001:db8:0:1:1:1:1:1");
    }

    #[test]
    fn serde_round_trips() {
        let arg = parse_node_ip_arg("01.2.3.004,fd00::1,x", &opts("external")).unwrap();
        let json = serde_json::to_string(&arg).unwrap();
        assert_eq!(serde_json::from_str::<NodeIpArg>(&json).unwrap(), arg);
        let e = parse_node_ip_arg("127.0.0.1", &opts("")).unwrap_err();
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["errors"][0]["rule"], "invalid_node_ip");
        assert_eq!(json["errors"][0]["problem"]["problem"], "loopback");
        assert_eq!(serde_json::from_value::<NodeIpArgRejected>(json).unwrap(), e);
        let o = at("external", 28).cloud_dual_stack_gate(true);
        let json = serde_json::to_string(&o).unwrap();
        assert_eq!(serde_json::from_str::<NodeIpArgOptions<'_>>(&json).unwrap(), o);
        let o: NodeIpArgOptions<'_> = serde_json::from_str("{}").unwrap();
        assert_eq!(o, NodeIpArgOptions::default());
    }

    fn any_options() -> impl Strategy<Value = NodeIpArgOptions<'static>> {
        (
            prop::sample::select(vec!["", "external", "gce"]),
            16u32..40,
            prop::option::of(any::<bool>()),
            prop::option::of(any::<bool>()),
            any::<bool>(),
        )
            .prop_map(|(cloud, minor, cloud_gate, v6_gate, keywords)| NodeIpArgOptions {
                cloud_provider: cloud.to_string(),
                kubelet_version: KubeletVersion::new(1, minor),
                cloud_dual_stack_gate: cloud_gate,
                ipv6_dual_stack_gate: v6_gate,
                family_keywords: keywords,
                host: None,
            })
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
            any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
            any::<std::net::Ipv4Addr>().prop_map(|a| format!("::ffff:{a}")),
            prop::sample::select(vec![
                "0.0.0.0",
                "::",
                "127.0.0.1",
                "fe80::1",
                "IPv4",
                "ipv6",
                " ",
                "",
                "01.02.03.004",
                "10.0.0.0/8",
                "1.2.3.4",
                "abcd::1",
            ])
            .prop_map(str::to_string),
            "[0-9a-fA-F:./% ]{0,20}",
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![prop::collection::vec(piece(), 0..5).prop_map(|v| v.join(",")), any::<String>(), ".{0,40}",]
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_the_invariants(v in value(), o in any_options()) {
            match parse_node_ip_arg(&v, &o) {
                Ok(arg) => {
                    prop_assert!(arg.entries.len() <= 2);
                    if let [a, b] = arg.entries[..] {
                        prop_assert_ne!(a.family(), b.family());
                        prop_assert!(!a.is_unspecified() && !b.is_unspecified());
                    }
                    prop_assert_eq!(arg.autodetect, arg.entries.iter().all(NodeIpEntry::is_unspecified));
                    prop_assert_eq!(arg.ips().len() + arg.entries.iter().filter(|e| e.ip().is_none()).count(), arg.entries.len());
                    // Reading the canonical form back gives the same addresses, without warnings
                    // about the pieces.
                    let again = parse_node_ip_arg(&arg.canonical_value(), &o).unwrap();
                    let unmapped = |a: &NodeIpArg| a.ips().into_iter().map(bm_addr::unmap).collect::<Vec<_>>();
                    prop_assert_eq!(unmapped(&again), unmapped(&arg));
                    prop_assert!(again.ignored.is_empty());
                    let sloppy = again.warnings.iter().any(|w| {
                        matches!(w, NodeIpArgWarning::NonCanonical { .. } | NodeIpArgWarning::Mapped { .. })
                    });
                    prop_assert!(!sloppy);
                }
                Err(e) => {
                    prop_assert!(!e.errors.is_empty() && e.errors.len() <= 2);
                    prop_assert!(!e.to_string().is_empty());
                    if e.errors[0].is_fatal_at_startup() {
                        prop_assert!(e.to_string().contains(&go_quote(&v)));
                    }
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(v in any::<String>(), o in any_options()) {
            let _ = parse_node_ip_arg(&v, &o);
            let _ = KubeletVersion::parse(&v);
        }
    }
}
