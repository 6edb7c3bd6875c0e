//! Typed settings: a keyfile read into the values NetworkManager 1.42 would load for the
//! profiles bare metal uses — `connection`, `ethernet`, `bond`, `vlan`, `bridge`,
//! `bridge-port`, `infiniband`, `ipv4`/`ipv6`, `proxy`, `user`, `ethtool`, `match` — with
//! NetworkManager's own readers: an unreadable value gives the property's default (as
//! NetworkManager does after its warning), integers are read in C's base 0, booleans exactly,
//! addresses, routes and DNS as [`crate::ip`] reads them. The validator ([`crate::check`]) says
//! where what is loaded differs from what is written; this module says what is loaded.
//! `tests/libnm_settings.rs` compares it with libnm 1.42 property by property.
//!
//! ```
//! use bm_nmconn::{Document, profile::Profile};
//! let doc = Document::parse("[connection]\nid=eth0\ntype=ethernet\nautoconnect=yes\n\
//!                            [ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n").unwrap();
//! let p = Profile::read(&doc);
//! assert!(p.connection.autoconnect); // `yes` is no GKeyFile boolean: the default stays
//! assert_eq!(p.ethernet.unwrap().mtu, 832); // octal
//! let ipv4 = p.ipv4.unwrap();
//! assert_eq!(ipv4.addresses, [("10.0.0.5".parse().unwrap(), 24)]);
//! assert_eq!(ipv4.gateway.as_deref(), Some("10.0.0.1"));
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ip::{Route, read_addresses, read_dns, read_routes};
use crate::keyfile::Document;
use crate::value::{parse_bool, parse_mac, parse_uint};

/// A profile as NetworkManager 1.42 loads it (before normalisation).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `[connection]`.
    pub connection: Connection,
    /// `[ethernet]` (or `[802-3-ethernet]`, which wins when both exist).
    pub ethernet: Option<Ethernet>,
    /// `[bond]`: the options NetworkManager keeps, as written.
    pub bond: Option<Bond>,
    /// `[vlan]`.
    pub vlan: Option<Vlan>,
    /// `[bridge]`.
    pub bridge: Option<Bridge>,
    /// `[bridge-port]`.
    pub bridge_port: Option<BridgePort>,
    /// `[infiniband]`.
    pub infiniband: Option<Infiniband>,
    /// `[ipv4]`.
    pub ipv4: Option<IpConfig>,
    /// `[ipv6]`.
    pub ipv6: Option<IpConfig>,
    /// `[proxy]`.
    pub proxy: Option<Proxy>,
    /// `[user]`: free-form `namespace.key` data.
    pub user: BTreeMap<String, String>,
    /// `[ethtool]`: `feature-*`, `ring-*`, `coalesce-*` keys as written.
    pub ethtool: BTreeMap<String, String>,
    /// `[match]`.
    #[serde(rename = "match")]
    pub match_: Option<Match>,
}

/// `[connection]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `id`.
    pub id: Option<String>,
    /// `uuid`.
    pub uuid: Option<String>,
    /// `type`, as the setting name NetworkManager stores (`ethernet` reads as `802-3-ethernet`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `interface-name` (also read from the type's group, the deprecated place).
    pub interface_name: Option<String>,
    /// `autoconnect` (default true).
    pub autoconnect: bool,
    /// `autoconnect-priority` (default 0).
    pub autoconnect_priority: i32,
    /// `autoconnect-retries` (default -1: the global default).
    pub autoconnect_retries: i32,
    /// `master` (1.42 reads no `controller`).
    pub master: Option<String>,
    /// `slave-type`.
    pub slave_type: Option<String>,
    /// `zone`.
    pub zone: Option<String>,
    /// `permissions`.
    pub permissions: Vec<String>,
    /// `stable-id`.
    pub stable_id: Option<String>,
    /// `multi-connect` (default 0).
    pub multi_connect: i32,
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            id: None,
            uuid: None,
            kind: None,
            interface_name: None,
            autoconnect: true,
            autoconnect_priority: 0,
            autoconnect_retries: -1,
            master: None,
            slave_type: None,
            zone: None,
            permissions: Vec::new(),
            stable_id: None,
            multi_connect: 0,
        }
    }
}

/// `[ethernet]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ethernet {
    /// `mtu` (0: automatic).
    pub mtu: u32,
    /// `mac-address`.
    pub mac_address: Option<[u8; 6]>,
    /// `cloned-mac-address`: a MAC or `preserve`/`permanent`/`random`/`stable`.
    pub cloned_mac_address: Option<String>,
    /// `speed` in Mb/s (0: unset).
    pub speed: u32,
    /// `duplex`.
    pub duplex: Option<String>,
    /// `auto-negotiate`.
    pub auto_negotiate: bool,
    /// `wake-on-lan` flags (default 1: the global default).
    pub wake_on_lan: u32,
}

/// `[bond]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bond {
    /// The options NetworkManager keeps (invalid ones dropped; `mode` by name).
    pub options: BTreeMap<String, String>,
}

impl Bond {
    /// The mode in effect, by name (`4` is `802.3ad`, as normalisation makes it): `balance-rr`
    /// when none (or an invalid one) is given.
    pub fn mode(&self) -> &str {
        const MODES: &[&str] =
            &["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
        match self.options.get("mode") {
            None => "balance-rr",
            Some(m) => m.parse::<usize>().ok().and_then(|i| MODES.get(i).copied()).unwrap_or(m),
        }
    }
}

/// `[vlan]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vlan {
    /// `id` (missing: 0).
    pub id: u32,
    /// `parent`: an interface name or a profile UUID.
    pub parent: Option<String>,
    /// `flags` (1 reorder-headers, 2 gvrp, 4 loose-binding, 8 mvrp; default 1).
    pub flags: u32,
    /// `protocol` (`802.1Q` or `802.1ad`).
    pub protocol: Option<String>,
}

/// `[bridge]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bridge {
    /// `stp` (default true).
    pub stp: bool,
    /// `priority` (default 32768).
    pub priority: u32,
    /// `forward-delay` seconds (default 15).
    pub forward_delay: u32,
    /// `hello-time` seconds (default 2).
    pub hello_time: u32,
    /// `max-age` seconds (default 20).
    pub max_age: u32,
    /// `ageing-time` seconds (default 300).
    pub ageing_time: u32,
    /// `multicast-snooping` (default true).
    pub multicast_snooping: bool,
    /// `vlan-filtering` (default false).
    pub vlan_filtering: bool,
    /// `vlan-default-pvid` (default 1).
    pub vlan_default_pvid: u32,
    /// `mac-address`.
    pub mac_address: Option<[u8; 6]>,
}

/// `[bridge-port]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BridgePort {
    /// `priority` (default 32).
    pub priority: u32,
    /// `path-cost` (default 100).
    pub path_cost: u32,
    /// `hairpin-mode` (default false).
    pub hairpin_mode: bool,
}

/// `[infiniband]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Infiniband {
    /// `mtu` (0: automatic).
    pub mtu: u32,
    /// `transport-mode` (`datagram` or `connected`).
    pub transport_mode: Option<String>,
    /// `p-key` (-1: none).
    pub p_key: i32,
    /// `parent`.
    pub parent: Option<String>,
}

/// `[ipv4]` or `[ipv6]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// `method` as written (the validator checks it).
    pub method: Option<String>,
    /// The addresses NetworkManager keeps, in its order.
    pub addresses: Vec<(IpAddr, u8)>,
    /// `gateway`, or the first gateway written with an address.
    pub gateway: Option<String>,
    /// The routes NetworkManager keeps.
    pub routes: Vec<Route>,
    /// `dns`: the servers NetworkManager keeps.
    pub dns: Vec<IpAddr>,
    /// `dns-search`.
    pub dns_search: Vec<String>,
    /// `dns-options`.
    pub dns_options: Vec<String>,
    /// `dns-priority` (default 0).
    pub dns_priority: i32,
    /// `may-fail` (default true).
    pub may_fail: bool,
    /// `never-default` (default false).
    pub never_default: bool,
    /// `ignore-auto-dns` (default false).
    pub ignore_auto_dns: bool,
    /// `ignore-auto-routes` (default false).
    pub ignore_auto_routes: bool,
    /// `route-metric` (default -1: the device's).
    pub route_metric: i64,
    /// `route-table` (default 0: main).
    pub route_table: u32,
    /// `dhcp-hostname`.
    pub dhcp_hostname: Option<String>,
    /// `dhcp-timeout` seconds (0: the global default).
    pub dhcp_timeout: i32,
    /// `addr-gen-mode` (IPv6): 0 eui64, 1 stable-privacy, 2 default-or-eui64, 3 default.
    pub addr_gen_mode: Option<i32>,
    /// `token` (IPv6).
    pub token: Option<String>,
}

/// `[proxy]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proxy {
    /// `method`: 0 none, 1 auto.
    pub method: i32,
    /// `pac-url`.
    pub pac_url: Option<String>,
}

/// `[match]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// `interface-name` patterns.
    pub interface_name: Vec<String>,
    /// `driver` patterns.
    pub driver: Vec<String>,
    /// `path` patterns.
    pub path: Vec<String>,
    /// `kernel-command-line` patterns.
    pub kernel_command_line: Vec<String>,
}

/// Reads one group's values with NetworkManager's readers.
struct Group<'d> {
    doc: &'d Document,
    name: &'d str,
}

impl Group<'_> {
    fn string(&self, key: &str) -> Option<String> {
        self.doc.get_string(self.name, key).ok().flatten()
    }

    fn non_empty(&self, key: &str) -> Option<String> {
        self.string(key).filter(|s| !s.is_empty())
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.doc.get_list(self.name, key).ok().flatten().unwrap_or_default()
    }

    fn boolean(&self, key: &str, default: bool) -> bool {
        self.string(key).and_then(|v| parse_bool(&v)).unwrap_or(default)
    }

    fn uint(&self, key: &str, default: u32) -> u32 {
        self.string(key)
            .and_then(|v| parse_uint(&v, 0, u64::from(u32::MAX)).ok())
            .map_or(default, |(n, _)| u32::try_from(n).unwrap_or(default))
    }

    /// A signed property, in its range (the schema's), base 0; the default when unreadable.
    fn int64(&self, key: &str, default: i64) -> i64 {
        let (min, max) = match crate::schema::key_type(crate::schema::setting_of_group(self.name), key) {
            Some(crate::schema::ValueType::Int(min, max)) => (min, max),
            _ => (i64::from(i32::MIN), i64::from(i32::MAX)),
        };
        self.string(key).and_then(|v| crate::value::parse_int(&v, min, max).ok()).map_or(default, |(n, _)| n)
    }

    fn int(&self, key: &str, default: i32) -> i32 {
        i32::try_from(self.int64(key, i64::from(default))).unwrap_or(default)
    }

    fn mac(&self, key: &str) -> Option<[u8; 6]> {
        self.string(key).and_then(|v| parse_mac(&v, 6)).and_then(|b| b.try_into().ok())
    }
}

impl Profile {
    /// What NetworkManager 1.42 loads from a keyfile, setting by setting.
    pub fn read(doc: &Document) -> Profile {
        let g = |name| doc.has_group(name).then_some(Group { doc, name });
        let con = Group { doc, name: "connection" };
        let mut p = Profile {
            connection: Connection {
                id: con.non_empty("id"),
                uuid: con.non_empty("uuid"),
                kind: con.non_empty("type").map(|t| crate::schema::setting_of_group(&t).to_string()),
                interface_name: con.non_empty("interface-name"),
                autoconnect: con.boolean("autoconnect", true),
                autoconnect_priority: con.int("autoconnect-priority", 0),
                autoconnect_retries: con.int("autoconnect-retries", -1),
                master: con.non_empty("master"),
                slave_type: con.non_empty("slave-type"),
                zone: con.non_empty("zone"),
                permissions: con.list("permissions"),
                stable_id: con.non_empty("stable-id"),
                multi_connect: con.int("multi-connect", 0),
            },
            ..Profile::default()
        };
        // `[802-3-ethernet]` wins over `[ethernet]` when both exist (research §1.3).
        if let Some(e) = g("802-3-ethernet").or_else(|| g("ethernet")) {
            p.ethernet = Some(Ethernet {
                mtu: e.uint("mtu", 0),
                mac_address: e.mac("mac-address"),
                cloned_mac_address: e.non_empty("cloned-mac-address").and_then(|v| {
                    if matches!(v.as_str(), "preserve" | "permanent" | "random" | "stable") {
                        return Some(v);
                    }
                    // A MAC in any accepted form is stored as `AA:BB:...`.
                    let bytes = parse_mac(&v, 6)?;
                    Some(bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
                }),
                speed: e.uint("speed", 0),
                duplex: e.non_empty("duplex"),
                auto_negotiate: e.boolean("auto-negotiate", false),
                wake_on_lan: e.uint("wake-on-lan", 1),
            });
        }
        if let Some(b) = g("bond") {
            p.bond = Some(read_bond(&b));
        }
        if let Some(v) = g("vlan") {
            p.vlan = Some(Vlan {
                id: v.uint("id", 0),
                parent: v.non_empty("parent"),
                flags: v.uint("flags", 1),
                protocol: v.non_empty("protocol"),
            });
        }
        if let Some(b) = g("bridge") {
            p.bridge = Some(Bridge {
                stp: b.boolean("stp", true),
                priority: b.uint("priority", 32768),
                forward_delay: b.uint("forward-delay", 15),
                hello_time: b.uint("hello-time", 2),
                max_age: b.uint("max-age", 20),
                ageing_time: b.uint("ageing-time", 300),
                multicast_snooping: b.boolean("multicast-snooping", true),
                vlan_filtering: b.boolean("vlan-filtering", false),
                vlan_default_pvid: b.uint("vlan-default-pvid", 1),
                mac_address: b.mac("mac-address"),
            });
        }
        if let Some(b) = g("bridge-port") {
            p.bridge_port = Some(BridgePort {
                priority: b.uint("priority", 32),
                path_cost: b.uint("path-cost", 100),
                hairpin_mode: b.boolean("hairpin-mode", false),
            });
        }
        if let Some(i) = g("infiniband") {
            p.infiniband = Some(Infiniband {
                mtu: i.uint("mtu", 0),
                transport_mode: i.non_empty("transport-mode"),
                p_key: i.int("p-key", -1),
                parent: i.non_empty("parent"),
            });
        }
        p.ipv4 = g("ipv4").map(|ip| read_ip(&ip, false));
        p.ipv6 = g("ipv6").map(|ip| read_ip(&ip, true));
        if let Some(x) = g("proxy") {
            p.proxy = Some(Proxy { method: x.int("method", 0), pac_url: x.non_empty("pac-url") });
        }
        if let Some(m) = g("match") {
            p.match_ = Some(Match {
                interface_name: m.list("interface-name"),
                driver: m.list("driver"),
                path: m.list("path"),
                kernel_command_line: m.list("kernel-command-line"),
            });
        }
        for (map, group) in [(&mut p.user, "user"), (&mut p.ethtool, "ethtool")] {
            for key in doc.keys(group) {
                if let Ok(Some(v)) = doc.get_string(group, key) {
                    map.insert(key.to_string(), v);
                }
            }
        }
        // The deprecated place of the interface name.
        if p.connection.interface_name.is_none()
            && let Some(group) = p.connection.kind.as_deref().and_then(crate::schema::base_group)
        {
            p.connection.interface_name = Group { doc, name: group }.non_empty("interface-name");
        }
        p
    }
}

fn read_bond(b: &Group<'_>) -> Bond {
    use crate::schema::BOND_OPTIONS;
    let mut options = BTreeMap::new();
    for key in b.doc.keys(b.name) {
        let Some(value) = b.string(key) else { continue };
        let Some((_, kind)) = BOND_OPTIONS.iter().find(|(n, _)| *n == key) else { continue };
        if !crate::check::bond_value_valid(*kind, &value) {
            continue;
        }
        options.insert(key.to_string(), value);
    }
    // The setting starts with mode=balance-rr: a missing or dropped mode leaves that.
    options.entry("mode".to_string()).or_insert_with(|| "balance-rr".to_string());
    Bond { options }
}

fn read_ip(g: &Group<'_>, ipv6: bool) -> IpConfig {
    let read = read_addresses(g.doc, g.name);
    let (routes, _) = read_routes(g.doc, g.name);
    let (dns, _) = read_dns(g.doc, g.name);
    let gateway = g.non_empty("gateway").or(read.gateway);
    let addr_gen_mode = ipv6.then(|| match g.string("addr-gen-mode").as_deref().map(str::trim) {
        Some("eui64" | "0") => 0,
        Some("stable-privacy" | "1") => 1,
        Some("default" | "3") => 3,
        // Missing with a token: eui64 (research §1.3); otherwise default-or-eui64.
        None if g.non_empty("token").is_some() => 0,
        _ => 2,
    });
    IpConfig {
        method: g.non_empty("method"),
        addresses: read.addresses,
        gateway,
        routes,
        dns,
        dns_search: g.list("dns-search"),
        dns_options: g.list("dns-options"),
        dns_priority: g.int("dns-priority", 0),
        may_fail: g.boolean("may-fail", true),
        never_default: g.boolean("never-default", false),
        ignore_auto_dns: g.boolean("ignore-auto-dns", false),
        ignore_auto_routes: g.boolean("ignore-auto-routes", false),
        route_metric: g.int64("route-metric", -1),
        route_table: g.uint("route-table", 0),
        dhcp_hostname: g.non_empty("dhcp-hostname"),
        dhcp_timeout: g.int("dhcp-timeout", 0),
        addr_gen_mode,
        token: if ipv6 { g.non_empty("token") } else { None },
    }
}
