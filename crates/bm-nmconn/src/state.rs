//! nmstate's declarative network state, the subset bare-metal nodes use, as serde types: what a
//! Kubernetes `NodeNetworkConfigurationPolicy` carries in `spec.desiredState`, or what
//! `nmstatectl gc` reads.
//!
//! The subset: `interfaces` of type `ethernet`, `bond` (`link-aggregation`: `mode`, `options`,
//! `port`), `vlan` (`vlan`: `base-iface`, `id`) and `linux-bridge` (`bridge`: `options.stp.enabled`,
//! `port[].name`), each with `state` (`up` or `absent`), `mtu`, `mac-address`, `ipv4` and `ipv6`
//! (`enabled`, `dhcp`, `autoconf`, `address[]` of `ip`/`prefix-length`, `auto-dns`,
//! `auto-gateway`, `auto-routes`, and for IPv6 `addr-gen-mode`); `routes.config[]`
//! (`destination`, `next-hop-address`, `next-hop-interface`, `metric`, `table-id`);
//! `dns-resolver.config` (`server`, `search`).
//!
//! **Unknown fields are errors**, each naming its place (`interfaces[2].ethtool: unknown
//! field …`): a field bmnet does not model would change what nmstate does, and silently
//! rendering without it would give a node a different network than the one asked for. Only
//! the parts of a `NodeNetworkConfigurationPolicy` that select nodes or roll the change out
//! (`spec.nodeSelector`, `spec.maxUnavailable`) are accepted with a warning, since they do not
//! change any profile; `apiVersion`, `kind`, `metadata` and `status` are read past. Integers may
//! be written as strings (`mtu: "9000"`), as nmstate accepts them.
//!
//! ```
//! use bm_nmconn::state::{from_json, InterfaceType};
//! let loaded = from_json(r#"{"interfaces": [{"name": "eno1", "type": "ethernet", "mtu": 9000,
//!     "ipv4": {"enabled": true, "address": [{"ip": "10.0.0.5", "prefix-length": 24}]}}]}"#).unwrap();
//! assert_eq!(loaded.state.interfaces[0].kind, InterfaceType::Ethernet);
//! assert_eq!(loaded.state.interfaces[0].mtu, Some(9000));
//!
//! let err = from_json(r#"{"interfaces": [{"name": "eno1", "type": "ethernet", "ethtool": {}}]}"#).unwrap_err();
//! assert!(err.to_string().starts_with("interfaces[0].ethtool: unknown field `ethtool`"), "{err}");
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A state that cannot be read or rendered: where (a field path such as
/// `interfaces[1].ipv4.address[0].prefix-length`) and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct StateError {
    /// The field path (`.` for the document itself).
    pub path: String,
    /// What is wrong, and what to change.
    pub message: String,
}

impl StateError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> StateError {
        StateError { path: path.into(), message: message.into() }
    }
}

/// The desired state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct State {
    /// Interfaces, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<Interface>,
    /// Static routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routes: Option<Routes>,
    /// Static DNS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_resolver: Option<DnsResolver>,
}

/// An interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Interface {
    /// The kernel interface name (also the profile's id and file name).
    pub name: String,
    /// The kind.
    #[serde(rename = "type")]
    pub kind: InterfaceType,
    /// `up` (the default) or `absent` (no profile is rendered).
    #[serde(default)]
    pub state: InterfaceState,
    /// MTU.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_u32")]
    pub mtu: Option<u32>,
    /// The MAC address to set (NetworkManager's `cloned-mac-address`), `XX:XX:XX:XX:XX:XX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// IPv4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv4: Option<Ip>,
    /// IPv6.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6: Option<Ip>,
    /// Bond settings (type `bond` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_aggregation: Option<Bond>,
    /// VLAN settings (type `vlan` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan: Option<Vlan>,
    /// Bridge settings (type `linux-bridge` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bridge: Option<Bridge>,
}

impl Interface {
    /// An interface that is up, with nothing else set.
    ///
    /// ```
    /// use bm_nmconn::state::{Interface, InterfaceState, InterfaceType};
    /// let eno1 = Interface::new("eno1", InterfaceType::Ethernet);
    /// assert_eq!((eno1.state, eno1.mtu, eno1.ipv4), (InterfaceState::Up, None, None));
    /// ```
    pub fn new(name: impl Into<String>, kind: InterfaceType) -> Interface {
        Interface {
            name: name.into(),
            kind,
            state: InterfaceState::Up,
            mtu: None,
            mac_address: None,
            ipv4: None,
            ipv6: None,
            link_aggregation: None,
            vlan: None,
            bridge: None,
        }
    }
}

/// The interface kinds bmnet renders.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceType {
    /// A NIC.
    Ethernet,
    /// A bond.
    Bond,
    /// An 802.1Q VLAN.
    Vlan,
    /// A Linux bridge.
    LinuxBridge,
}

impl InterfaceType {
    /// nmstate's name (`linux-bridge`), which its deterministic UUIDs hash.
    pub fn as_str(self) -> &'static str {
        match self {
            InterfaceType::Ethernet => "ethernet",
            InterfaceType::Bond => "bond",
            InterfaceType::Vlan => "vlan",
            InterfaceType::LinuxBridge => "linux-bridge",
        }
    }

    /// NetworkManager's `connection.type` (`bridge`).
    pub fn nm_type(self) -> &'static str {
        match self {
            InterfaceType::LinuxBridge => "bridge",
            t => t.as_str(),
        }
    }
}

impl fmt::Display for InterfaceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `state:`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterfaceState {
    /// Configured and up.
    #[default]
    Up,
    /// Not configured: no profile is rendered for it.
    Absent,
}

/// `ipv4:` / `ipv6:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Ip {
    /// Whether the family is on; when not given, on if `dhcp`, `autoconf` or an address is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// DHCP (DHCPv6 for `ipv6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<bool>,
    /// IPv6 router advertisements (SLAAC); `ipv6` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoconf: Option<bool>,
    /// Static addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub address: Vec<Address>,
    /// `false`: ignore the DNS servers DHCP or RAs give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_dns: Option<bool>,
    /// `false`: ignore the default gateway DHCP or RAs give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_gateway: Option<bool>,
    /// `false`: ignore the routes DHCP or RAs give.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_routes: Option<bool>,
    /// IPv6 interface identifiers; nmstate's default is `eui64`. `ipv6` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr_gen_mode: Option<AddrGenMode>,
}

impl Ip {
    /// Whether the family is on (`enabled`, or implied by `dhcp`, `autoconf` or an address).
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(self.dhcp == Some(true) || self.autoconf == Some(true) || !self.address.is_empty())
    }
}

/// IPv6 interface-identifier generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrGenMode {
    /// From the MAC address.
    Eui64,
    /// RFC 7217.
    StablePrivacy,
}

/// A static address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Address {
    /// The address.
    pub ip: IpAddr,
    /// The prefix length.
    #[serde(deserialize_with = "u8_or_string")]
    pub prefix_length: u8,
}

/// `link-aggregation:`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Bond {
    /// The bonding mode.
    pub mode: BondMode,
    /// Other bonding options (`miimon`, `lacp_rate`, `xmit_hash_policy`, …), as strings.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty", deserialize_with = "string_map")]
    pub options: BTreeMap<String, String>,
    /// The ports (`ports`, as newer nmstate spells it, and `slaves`, as older nmstate did, are
    /// accepted too).
    #[serde(default, alias = "ports", alias = "slaves", skip_serializing_if = "Vec::is_empty")]
    pub port: Vec<String>,
}

/// The bonding modes, by the names NetworkManager and the kernel use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BondMode {
    /// 0.
    #[serde(rename = "balance-rr")]
    BalanceRr,
    /// 1.
    #[serde(rename = "active-backup")]
    ActiveBackup,
    /// 2.
    #[serde(rename = "balance-xor")]
    BalanceXor,
    /// 3.
    #[serde(rename = "broadcast")]
    Broadcast,
    /// 4, LACP.
    #[serde(rename = "802.3ad")]
    Lacp,
    /// 5.
    #[serde(rename = "balance-tlb")]
    BalanceTlb,
    /// 6.
    #[serde(rename = "balance-alb")]
    BalanceAlb,
}

impl BondMode {
    /// The name NetworkManager writes (`802.3ad`).
    pub fn as_str(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Lacp => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }

    /// The kernel's number for the mode.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The mode for a name or number as NetworkManager accepts it.
    pub fn parse(s: &str) -> Option<BondMode> {
        let all = [
            BondMode::BalanceRr,
            BondMode::ActiveBackup,
            BondMode::BalanceXor,
            BondMode::Broadcast,
            BondMode::Lacp,
            BondMode::BalanceTlb,
            BondMode::BalanceAlb,
        ];
        all.into_iter().find(|m| m.as_str() == s || s.parse::<usize>().ok() == Some(m.index()))
    }
}

/// `vlan:`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vlan {
    /// The parent interface.
    pub base_iface: String,
    /// The VLAN id, 0–4094.
    #[serde(deserialize_with = "u16_or_string")]
    pub id: u16,
}

/// `bridge:` of a `linux-bridge`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Bridge {
    /// Bridge options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BridgeOptions>,
    /// The ports.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port: Vec<BridgePort>,
}

/// `bridge.options:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BridgeOptions {
    /// Spanning tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stp: Option<Stp>,
}

/// `bridge.options.stp:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Stp {
    /// STP on (NetworkManager's default) or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
}

/// `bridge.port[]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct BridgePort {
    /// The port interface.
    pub name: String,
}

/// `routes:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Routes {
    /// The static routes.
    #[serde(default)]
    pub config: Vec<Route>,
}

/// A static route.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Route {
    /// Destination network (`0.0.0.0/0` for a default route).
    pub destination: IpNet,
    /// Next hop; none for a route straight onto the link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_address: Option<IpAddr>,
    /// The interface whose profile carries the route; when not given, the interface with an
    /// address whose subnet holds the next hop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_interface: Option<String>,
    /// Metric.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_u32")]
    pub metric: Option<u32>,
    /// Routing table.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "opt_u32")]
    pub table_id: Option<u32>,
}

/// `dns-resolver:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DnsResolver {
    /// The static DNS configuration.
    #[serde(default)]
    pub config: DnsConfig,
}

/// `dns-resolver.config:`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DnsConfig {
    /// Name servers, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server: Vec<IpAddr>,
    /// Search domains, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<String>,
}

/// An integer written as a number or a string, as nmstate accepts both.
fn int_or_string<'de, D: Deserializer<'de>>(d: D, max: u64) -> Result<u64, D::Error> {
    use serde::de::Error;
    let v = Value::deserialize(d)?;
    let n = match &v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(D::Error::custom(format!("{n} is out of range (at most {max})"))),
        None => Err(D::Error::custom(format!("expected a non-negative integer, found {v}"))),
    }
}

fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    int_or_string(d, u64::from(u32::MAX)).map(|n| Some(n as u32))
}

fn u16_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    int_or_string(d, u64::from(u16::MAX)).map(|n| n as u16)
}

fn u8_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    int_or_string(d, u64::from(u8::MAX)).map(|n| n as u8)
}

/// Bond options: strings, numbers or booleans, kept as the string NetworkManager writes.
fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    use serde::de::Error;
    let map = BTreeMap::<String, Value>::deserialize(d)?;
    map.into_iter()
        .map(|(k, v)| {
            let s = match &v {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => u8::from(*b).to_string(),
                other => {
                    return Err(D::Error::custom(format!("option {k}: expected a string or a number, found {other}")));
                }
            };
            Ok((k, s))
        })
        .collect()
}

/// A state as read, and what was read past with a warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The state.
    pub state: State,
    /// Parts of a `NodeNetworkConfigurationPolicy` that select nodes or pace the rollout and
    /// so do not change any profile (`spec.nodeSelector: not applied …`).
    pub warnings: Vec<String>,
}

/// Reads a state, or a whole `NodeNetworkConfigurationPolicy`, from JSON.
pub fn from_json(text: &str) -> Result<Loaded, StateError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| StateError::new(".", format!("invalid JSON at line {}, column {}: {e}", e.line(), e.column())))?;
    from_value(value)
}

/// Reads a state, or a whole `NodeNetworkConfigurationPolicy`, from YAML (the `yaml` feature).
///
/// ```
/// # #[cfg(feature = "yaml")] {
/// let cr = r#"
/// apiVersion: nmstate.io/v1
/// kind: NodeNetworkConfigurationPolicy
/// metadata:
///   name: bond0
/// spec:
///   nodeSelector:
///     node-role.kubernetes.io/worker: ""
///   desiredState:
///     interfaces:
///     - name: bond0
///       type: bond
///       link-aggregation:
///         mode: 802.3ad
///         options:
///           miimon: "100"
///         port: [eno1, eno2]
/// "#;
/// let loaded = bm_nmconn::state::from_yaml(cr).unwrap();
/// assert_eq!(loaded.state.interfaces[0].link_aggregation.as_ref().unwrap().port, ["eno1", "eno2"]);
/// assert_eq!(loaded.warnings.len(), 1); // spec.nodeSelector
/// # }
/// ```
#[cfg(feature = "yaml")]
pub fn from_yaml(text: &str) -> Result<Loaded, StateError> {
    // Before libyaml, whose scan takes time quadratic in this depth (see `yaml_depth`).
    crate::yaml_depth::check_flow_depth(text)
        .map_err(|e| StateError::new(".", format!("invalid YAML at line {}, column {}: {e}", e.line, e.column)))?;
    let value: Value = serde_yaml_ng::from_str(text).map_err(|e| {
        let place = e.location().map(|l| format!(" at line {}, column {}", l.line(), l.column())).unwrap_or_default();
        StateError::new(".", format!("invalid YAML{place}: {e}"))
    })?;
    from_value(value)
}

/// Reads a state, or a whole `NodeNetworkConfigurationPolicy` (recognised by its `kind` or
/// `spec`), from a JSON value.
pub fn from_value(value: Value) -> Result<Loaded, StateError> {
    let mut warnings = Vec::new();
    let Value::Object(mut top) = value else {
        return Err(StateError::new(".", "expected a mapping (a state or a NodeNetworkConfigurationPolicy)"));
    };
    let is_cr = top.contains_key("kind") || top.contains_key("spec") || top.contains_key("apiVersion");
    let (state_value, prefix) = if is_cr {
        if let Some(kind) = top.get("kind")
            && kind.as_str() != Some("NodeNetworkConfigurationPolicy")
        {
            return Err(StateError::new("kind", format!("expected NodeNetworkConfigurationPolicy, found {kind}")));
        }
        for key in top.keys() {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "spec" | "status") {
                return Err(StateError::new(key.as_str(), "unknown field of a NodeNetworkConfigurationPolicy"));
            }
        }
        let Some(Value::Object(mut spec)) = top.remove("spec") else {
            return Err(StateError::new("spec", "missing (a NodeNetworkConfigurationPolicy needs spec.desiredState)"));
        };
        for key in spec.keys() {
            match key.as_str() {
                "desiredState" => {}
                "nodeSelector" | "maxUnavailable" => warnings.push(format!(
                    "spec.{key}: not applied (it selects nodes or paces the rollout; the profiles are rendered for \
                     whatever node they are installed on)"
                )),
                "capture" | "desiredStateTemplate" => {
                    return Err(StateError::new(
                        format!("spec.{key}"),
                        "nmpolicy captures and templates are not supported: resolve them into spec.desiredState",
                    ));
                }
                _ => {
                    return Err(StateError::new(
                        format!("spec.{key}"),
                        "unknown field of a NodeNetworkConfigurationPolicy",
                    ));
                }
            }
        }
        let Some(desired) = spec.remove("desiredState") else {
            return Err(StateError::new("spec.desiredState", "missing"));
        };
        (desired, "spec.desiredState")
    } else {
        (Value::Object(top), "")
    };
    let state: State = serde_path_to_error::deserialize(state_value).map_err(|e| {
        let inner = e.path().to_string();
        let path = match (prefix, inner.as_str()) {
            ("", ".") => ".".to_string(),
            ("", p) => p.to_string(),
            (pre, ".") => pre.to_string(),
            (pre, p) => format!("{pre}.{p}"),
        };
        StateError::new(path, e.into_inner().to_string())
    })?;
    Ok(Loaded { state, warnings })
}

impl State {
    /// The state as JSON (nmstate's field names; defaults left out).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The state as YAML (the `yaml` feature).
    #[cfg(feature = "yaml")]
    pub fn to_yaml(&self) -> String {
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        from_json(json).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            err(r#"{"interfaces": [{"name": "a", "type": "ethernet"}, {"name": "b", "type": "team"}]}"#)
                .split(':')
                .next(),
            Some("interfaces[1].type")
        );
        let e = err(
            r#"{"interfaces": [{"name": "a", "type": "ethernet", "ipv4": {"address": [{"ip": "10.0.0.1", "prefix-length": "x"}]}}]}"#,
        );
        assert!(e.starts_with("interfaces[0].ipv4.address[0].prefix-length: expected a non-negative integer"), "{e}");
        let e = err(r#"{"routes": {"config": [{"destination": "10.0.0.0/8", "next-hop-adress": "10.0.0.1"}]}}"#);
        assert!(e.starts_with("routes.config[0].next-hop-adress: unknown field `next-hop-adress`"), "{e}");
        let e = err(r#"{"interfaces": [{"name": "v", "type": "vlan", "vlan": {"base-iface": "a", "id": 70000}}]}"#);
        assert!(e.starts_with("interfaces[0].vlan.id: 70000 is out of range"), "{e}");
        assert_eq!(err("[1]"), ".: expected a mapping (a state or a NodeNetworkConfigurationPolicy)");
        assert!(err("{").starts_with(".: invalid JSON at line 1"));
        let e = err(
            r#"{"kind": "NodeNetworkConfigurationPolicy", "spec": {"desiredState": {"interfaces": [{"name": 1}]}}}"#,
        );
        assert!(e.starts_with("spec.desiredState.interfaces[0].name: invalid type"), "{e}");
        let e = err(r#"{"kind": "NodeNetworkConfigurationPolicy", "spec": {"capture": {}, "desiredState": {}}}"#);
        assert!(e.starts_with("spec.capture: nmpolicy"), "{e}");
        assert!(err(r#"{"kind": "Pod", "spec": {}}"#).starts_with("kind: expected NodeNetworkConfigurationPolicy"));
    }

    #[test]
    fn nncp_and_strings_for_numbers() {
        let l = from_json(
            r#"{"apiVersion": "nmstate.io/v1", "kind": "NodeNetworkConfigurationPolicy", "metadata": {"name": "x"},
                "spec": {"nodeSelector": {"a": "b"}, "maxUnavailable": 1, "desiredState": {
                  "interfaces": [{"name": "bond0", "type": "bond", "mtu": "9000",
                    "link-aggregation": {"mode": "802.3ad", "options": {"miimon": 100, "lacp_rate": "fast"}, "ports": ["eno1"]}}],
                  "dns-resolver": {"config": {"server": ["10.0.0.53"], "search": ["example.com"]}}}}}"#,
        )
        .unwrap();
        assert_eq!(l.warnings.len(), 2);
        let bond = &l.state.interfaces[0];
        assert_eq!(bond.mtu, Some(9000));
        let la = bond.link_aggregation.as_ref().unwrap();
        assert_eq!(la.options.get("miimon").map(String::as_str), Some("100"));
        assert_eq!(la.port, ["eno1"]);
        assert_eq!(la.mode, BondMode::Lacp);
        // Back to JSON and again: the same state.
        let again = from_json(&l.state.to_json()).unwrap();
        assert_eq!(again.state, l.state);
    }

    #[cfg(feature = "yaml")]
    #[test]
    fn yaml_round_trip() {
        let l = from_json(
            r#"{"interfaces": [{"name": "eno1", "type": "ethernet", "mac-address": "02:00:00:00:00:01",
                "ipv6": {"enabled": true, "dhcp": true, "autoconf": true, "addr-gen-mode": "stable-privacy"}}],
                "routes": {"config": [{"destination": "::/0", "next-hop-address": "fd00::1", "metric": 5}]}}"#,
        )
        .unwrap();
        let yaml = l.state.to_yaml();
        assert!(yaml.contains("addr-gen-mode: stable-privacy"), "{yaml}");
        assert_eq!(from_yaml(&yaml).unwrap().state, l.state);
        let e = from_yaml("interfaces:\n- name: eno1\n  type: ethernet\n  mtu: lots\n").unwrap_err();
        assert_eq!(e.path, "interfaces[0].mtu", "{e}");
        assert!(from_yaml("interfaces: [").unwrap_err().message.starts_with("invalid YAML at line"));
    }

    #[test]
    fn implied_enabled() {
        let ip = Ip { dhcp: Some(true), ..Ip::default() };
        assert!(ip.is_enabled());
        assert!(!Ip::default().is_enabled());
        assert!(!Ip { enabled: Some(false), dhcp: Some(true), ..Ip::default() }.is_enabled());
        assert_eq!(BondMode::parse("4"), Some(BondMode::Lacp));
        assert_eq!(BondMode::parse("lacp"), None);
    }
}
