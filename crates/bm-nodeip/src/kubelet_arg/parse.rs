//! Reading a `--node-ip` value as kubelet reads it, for the kubelet version asked for.

use std::fmt::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr};

use bm_addr::{Family, ParseOptions};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::validate::{HostAddressCaveat, NodeIpRole, NodeIpValidationError, host_matches, validate_node_ip};
use super::version::{FeatureGate, KubeletVersion};
use super::wording::{
    KubeletWording, dual_stack_message, go_ip_string, go_is_unspecified, go_quote, not_pair_message,
    unspecified_message,
};
use crate::{Address, HostSnapshot};

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
    /// The value kubelet sets in [`PROVIDED_NODE_IP_ANNOTATION`](crate::PROVIDED_NODE_IP_ANNOTATION): with a cloud provider and a
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
