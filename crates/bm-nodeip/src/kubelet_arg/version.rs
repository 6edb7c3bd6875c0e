//! kubelet versions, and the feature gates whose defaults depend on them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::wording::KubeletWording;

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
    /// [`parse_node_ip_arg`](crate::parse_node_ip_arg) checks older versions, built directly, with these rules and a
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
