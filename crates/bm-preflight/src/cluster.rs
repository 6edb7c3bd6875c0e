//! The cluster a pre-install check is for: name, base domain, API and ingress VIPs and the
//! machine network, from flags or from an OpenShift `install-config.yaml`, with the checks that
//! need no wire (what the IPI installer itself checks, and a little more).
//!
//! [`InstallConfig`] is the subset of install-config's schema these checks read; it derives
//! `Deserialize`, so the caller reads the file with the YAML (or JSON) crate of its choice.
//! Both VIP spellings are read: `apiVIPs`/`ingressVIPs` (lists, OpenShift 4.12 and later) and
//! the older `apiVIP`/`ingressVIP`.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

/// One cluster, as the checks see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterSpec {
    /// `metadata.name`: OpenShift derives the keepalived VRIDs from it.
    pub name: String,
    /// `baseDomain` (the cluster zone is `NAME.BASE_DOMAIN`).
    #[serde(default)]
    pub base_domain: String,
    /// The API VIPs (at most one per family).
    #[serde(default)]
    pub api_vips: Vec<IpAddr>,
    /// The ingress VIPs (at most one per family).
    #[serde(default)]
    pub ingress_vips: Vec<IpAddr>,
    /// `networking.machineNetwork[].cidr`.
    #[serde(default)]
    pub machine_networks: Vec<IpNet>,
}

/// The part of an OpenShift `install-config.yaml` the checks read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallConfig {
    /// `metadata`.
    #[serde(default)]
    pub metadata: Metadata,
    /// `baseDomain`.
    #[serde(default)]
    pub base_domain: String,
    /// `networking`.
    #[serde(default)]
    pub networking: Networking,
    /// `platform`.
    #[serde(default)]
    pub platform: Platform,
}

/// install-config's `metadata`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Metadata {
    /// `metadata.name`.
    #[serde(default)]
    pub name: String,
}

/// install-config's `networking`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Networking {
    /// `networking.machineNetwork`.
    #[serde(default)]
    pub machine_network: Vec<MachineNetwork>,
}

/// One `networking.machineNetwork` entry.
#[derive(Clone, Debug, Deserialize)]
pub struct MachineNetwork {
    /// The CIDR.
    pub cidr: IpNet,
}

/// install-config's `platform`: the platforms whose VIPs keepalived holds.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Platform {
    /// `platform.baremetal`.
    #[serde(default)]
    pub baremetal: Option<PlatformVips>,
    /// `platform.vsphere`.
    #[serde(default)]
    pub vsphere: Option<PlatformVips>,
    /// `platform.openstack`.
    #[serde(default)]
    pub openstack: Option<PlatformVips>,
    /// `platform.nutanix`.
    #[serde(default)]
    pub nutanix: Option<PlatformVips>,
    /// `platform.ovirt`.
    #[serde(default)]
    pub ovirt: Option<PlatformVips>,
}

/// A platform's VIPs, in either spelling.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlatformVips {
    /// `apiVIPs` (4.12+).
    #[serde(default, rename = "apiVIPs")]
    pub api_vips: Vec<IpAddr>,
    /// `apiVIP` (before 4.12).
    #[serde(default, rename = "apiVIP")]
    pub api_vip: Option<IpAddr>,
    /// `ingressVIPs` (4.12+).
    #[serde(default, rename = "ingressVIPs")]
    pub ingress_vips: Vec<IpAddr>,
    /// `ingressVIP` (before 4.12).
    #[serde(default, rename = "ingressVIP")]
    pub ingress_vip: Option<IpAddr>,
}

impl From<InstallConfig> for ClusterSpec {
    fn from(ic: InstallConfig) -> ClusterSpec {
        let p = ic.platform;
        let vips =
            [p.baremetal, p.vsphere, p.openstack, p.nutanix, p.ovirt].into_iter().flatten().next().unwrap_or_default();
        let merge = |list: Vec<IpAddr>, single: Option<IpAddr>| {
            let mut all = list;
            if let Some(one) = single.filter(|a| !all.contains(a)) {
                all.insert(0, one);
            }
            all
        };
        ClusterSpec {
            name: ic.metadata.name,
            base_domain: ic.base_domain,
            api_vips: merge(vips.api_vips, vips.api_vip),
            ingress_vips: merge(vips.ingress_vips, vips.ingress_vip),
            machine_networks: ic.networking.machine_network.into_iter().map(|m| m.cidr).collect(),
        }
    }
}

/// What is wrong with a cluster before anything is asked of the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SpecProblem {
    /// No cluster name (OpenShift derives the VRIDs from it).
    #[error("no cluster name (install-config's metadata.name)")]
    NoName,
    /// The name is not a DNS label (lower-case letters, digits and `-`, at most 63).
    #[error("cluster name {name:?} is not a DNS label (a-z, 0-9 and '-', at most 63, not starting or ending with '-')")]
    BadName {
        /// The name.
        name: String,
    },
    /// No API VIP.
    #[error("no API VIP")]
    NoApiVip,
    /// No ingress VIP (the installer requires one with an API VIP).
    #[error("no ingress VIP")]
    NoIngressVip,
    /// A VIP outside every machine network (the IPI installer refuses it too).
    #[error("{role} VIP {vip} is in no machine network ({networks})")]
    VipOutsideMachineNetwork {
        /// `api` or `ingress`.
        role: String,
        /// The VIP.
        vip: IpAddr,
        /// The machine networks, comma-separated.
        networks: String,
    },
    /// Two VIPs of one role in one family, or one address in both roles.
    #[error("{vip} is given twice ({what})")]
    DuplicateVip {
        /// The VIP.
        vip: IpAddr,
        /// Which roles or family.
        what: String,
    },
    /// A VIP that is no unicast host address (network or broadcast address of its machine
    /// network, multicast, loopback, unspecified).
    #[error("{role} VIP {vip} cannot be a host address: {why}")]
    NotAHostAddress {
        /// `api` or `ingress`.
        role: String,
        /// The VIP.
        vip: IpAddr,
        /// Why.
        why: String,
    },
}

impl ClusterSpec {
    /// Every VIP, API first.
    pub fn vips(&self) -> Vec<IpAddr> {
        self.api_vips.iter().chain(&self.ingress_vips).copied().collect()
    }

    /// The checks that need no wire: name, VIPs present, distinct, host addresses, inside a
    /// machine network (when any is given).
    ///
    /// ```
    /// use bm_preflight::{ClusterSpec, SpecProblem};
    /// let spec = ClusterSpec {
    ///     name: "cnf10".into(),
    ///     api_vips: vec!["192.168.111.5".parse().unwrap()],
    ///     ingress_vips: vec!["192.168.112.4".parse().unwrap()],
    ///     machine_networks: vec!["192.168.111.0/24".parse().unwrap()],
    ///     ..Default::default()
    /// };
    /// let problems = spec.problems();
    /// assert!(matches!(&problems[..], [SpecProblem::VipOutsideMachineNetwork { role, .. }] if role == "ingress"));
    /// ```
    pub fn problems(&self) -> Vec<SpecProblem> {
        let mut out = Vec::new();
        if self.name.is_empty() {
            out.push(SpecProblem::NoName);
        } else if !is_dns_label(&self.name) {
            out.push(SpecProblem::BadName { name: self.name.clone() });
        }
        if self.api_vips.is_empty() {
            out.push(SpecProblem::NoApiVip);
        }
        if self.ingress_vips.is_empty() {
            out.push(SpecProblem::NoIngressVip);
        }
        let networks = self.machine_networks.iter().map(IpNet::to_string).collect::<Vec<_>>().join(", ");
        for (role, vips) in [("api", &self.api_vips), ("ingress", &self.ingress_vips)] {
            for (i, vip) in vips.iter().enumerate() {
                if vips[..i].iter().any(|v| v.is_ipv4() == vip.is_ipv4()) {
                    let what = if vips[..i].contains(vip) {
                        format!("{role} twice")
                    } else {
                        format!("two {role} VIPs of one family")
                    };
                    out.push(SpecProblem::DuplicateVip { vip: *vip, what });
                }
                if let Some(why) = not_a_host(*vip, &self.machine_networks) {
                    out.push(SpecProblem::NotAHostAddress { role: role.into(), vip: *vip, why });
                }
                if !self.machine_networks.is_empty() && !self.machine_networks.iter().any(|n| n.contains(vip)) {
                    out.push(SpecProblem::VipOutsideMachineNetwork {
                        role: role.into(),
                        vip: *vip,
                        networks: networks.clone(),
                    });
                }
            }
        }
        for vip in self.api_vips.iter().filter(|v| self.ingress_vips.contains(v)) {
            out.push(SpecProblem::DuplicateVip { vip: *vip, what: "API and ingress".into() });
        }
        out
    }
}

fn is_dns_label(s: &str) -> bool {
    s.len() <= 63
        && !s.starts_with('-')
        && !s.ends_with('-')
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn not_a_host(vip: IpAddr, networks: &[IpNet]) -> Option<String> {
    if vip.is_unspecified() || vip.is_loopback() || vip.is_multicast() {
        return Some("unspecified, loopback or multicast".into());
    }
    for n in networks.iter().filter(|n| n.contains(&vip)) {
        if let IpNet::V4(v4) = n
            && v4.prefix_len() < 31
            && (IpAddr::V4(v4.network()) == vip || IpAddr::V4(v4.broadcast()) == vip)
        {
            return Some(format!("the network or broadcast address of {n}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_install_config_spellings() {
        let new: InstallConfig = serde_json::from_str(
            r#"{"metadata": {"name": "cnf10"}, "baseDomain": "example.com",
                "networking": {"machineNetwork": [{"cidr": "192.168.111.0/24"}, {"cidr": "fd2e:6f44:5dd8::/64"}]},
                "platform": {"baremetal": {"apiVIPs": ["192.168.111.5", "fd2e:6f44:5dd8::5"],
                                           "ingressVIPs": ["192.168.111.4", "fd2e:6f44:5dd8::4"], "hosts": []}},
                "pullSecret": "…"}"#,
        )
        .unwrap();
        let spec = ClusterSpec::from(new);
        assert_eq!(spec.name, "cnf10");
        assert_eq!(spec.api_vips.len(), 2);
        assert_eq!(spec.machine_networks.len(), 2);
        assert_eq!(spec.problems(), vec![]);

        let old: InstallConfig = serde_json::from_str(
            r#"{"metadata": {"name": "ostest"}, "platform": {"vsphere": {"apiVIP": "10.0.0.5", "ingressVIP": "10.0.0.6"}}}"#,
        )
        .unwrap();
        let spec = ClusterSpec::from(old);
        assert_eq!((spec.api_vips.len(), spec.ingress_vips.len()), (1, 1));
        assert_eq!(spec.vips(), vec!["10.0.0.5".parse::<IpAddr>().unwrap(), "10.0.0.6".parse().unwrap()]);
    }

    #[test]
    fn problems_named() {
        let spec = ClusterSpec {
            name: "Bad_Name".into(),
            api_vips: vec!["192.168.111.0".parse().unwrap(), "192.168.111.9".parse().unwrap()],
            ingress_vips: vec!["192.168.111.9".parse().unwrap()],
            machine_networks: vec!["192.168.111.0/24".parse().unwrap()],
            ..Default::default()
        };
        let p = spec.problems();
        assert!(matches!(p[0], SpecProblem::BadName { .. }));
        assert!(
            p.iter()
                .any(|x| matches!(x, SpecProblem::NotAHostAddress { why, .. } if why.contains("network or broadcast")))
        );
        assert!(
            p.iter()
                .any(|x| matches!(x, SpecProblem::DuplicateVip { what, .. } if what == "two api VIPs of one family"))
        );
        assert!(p.iter().any(|x| matches!(x, SpecProblem::DuplicateVip { what, .. } if what == "API and ingress")));
        assert_eq!(
            ClusterSpec::default().problems(),
            vec![SpecProblem::NoName, SpecProblem::NoApiVip, SpecProblem::NoIngressVip]
        );
        // Round trip of the report types.
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Vec<SpecProblem>>(&json).unwrap(), p);
    }
}
