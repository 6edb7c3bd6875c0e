//! What NetworkManager 1.42 loads from a keyfile: the settings bare metal uses —
//! `connection`, `ethernet`, `bond`, `vlan`, `bridge`, `bridge-port`, `infiniband`,
//! `ipv4`/`ipv6`, `proxy`, `user`, `ethtool`, `match` — as typed values, read with
//! NetworkManager's own readers: an unreadable value gives the property's default (as
//! NetworkManager does after its warning), integers are read in C's base 0, booleans exactly,
//! addresses, routes and DNS as [`crate::ip`] reads them, strings as GLib returns them (an empty
//! value is an empty string, as in libnm).
//!
//! This is the one model of loaded values: the validator ([`crate::check`]) says where it
//! differs from what is written, [`crate::render::to_state`] maps it to an nmstate state.
//! `tests/libnm_settings.rs` compares it with libnm 1.42 property by property.
//!
//! ```
//! use bm_nmconn::{Document, Profile};
//! let doc = Document::parse("[connection]\nid=eth0\ntype=ethernet\nautoconnect=yes\n\
//!                            [ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n").unwrap();
//! let p = Profile::read(&doc);
//! assert!(p.connection.autoconnect); // `yes` is no GKeyFile boolean: the default stays
//! assert_eq!(p.ethernet.unwrap().mtu, 832); // octal
//! let ipv4 = p.ipv4.unwrap();
//! assert_eq!(ipv4.addresses, [("10.0.0.5".parse().unwrap(), 24)]);
//! assert_eq!(ipv4.gateway.as_deref(), Some("10.0.0.1"));
//! ```

mod read;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::ip::Route;
use crate::keyfile::Document;

pub(crate) use read::{BondDrop, EntryNote, Load, Note, load, load_into};

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
    /// `[ethtool]`: `feature-*`, `pause-*`, `ring-*`, `coalesce-*` keys; the booleans
    /// (features and pause) as NetworkManager reads them (`true` or `false`, whatever trailing
    /// whitespace was written), the rest as written.
    pub ethtool: BTreeMap<String, String>,
    /// `[match]`.
    #[serde(rename = "match")]
    pub match_: Option<Match>,
}

impl Profile {
    /// What NetworkManager 1.42 loads from a keyfile, setting by setting.
    pub fn read(doc: &Document) -> Profile {
        load(doc).profile
    }

    /// The IP settings of a family.
    pub fn ip(&self, ipv6: bool) -> Option<&IpConfig> {
        if ipv6 { self.ipv6.as_ref() } else { self.ipv4.as_ref() }
    }
}

/// `[connection]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `id`.
    pub id: Option<String>,
    /// `uuid`, as written (NetworkManager lower-cases it when it normalises).
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
    /// `master`.
    pub master: Option<String>,
    /// `slave-type`.
    pub slave_type: Option<String>,
    /// `controller`: 1.46's name for `master`, which 1.42 does not read (kept so that a check
    /// for a later version can).
    pub controller: Option<String>,
    /// `port-type`: 1.46's name for `slave-type`, which 1.42 does not read.
    pub port_type: Option<String>,
    /// `zone`.
    pub zone: Option<String>,
    /// `permissions`.
    pub permissions: Vec<String>,
    /// `stable-id`.
    pub stable_id: Option<String>,
    /// `multi-connect` (default 0).
    pub multi_connect: i32,
    /// `mdns` (default -1: the global default).
    pub mdns: i32,
    /// `llmnr` (default -1).
    pub llmnr: i32,
    /// `dns-over-tls` (default -1).
    pub dns_over_tls: i32,
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
            controller: None,
            port_type: None,
            zone: None,
            permissions: Vec::new(),
            stable_id: None,
            multi_connect: 0,
            mdns: -1,
            llmnr: -1,
            dns_over_tls: -1,
        }
    }
}

/// `[ethernet]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ethernet {
    /// `mtu` (0: automatic).
    pub mtu: u32,
    /// `mac-address`.
    pub mac_address: Option<[u8; 6]>,
    /// `cloned-mac-address`: a MAC (upper-case, as stored) or
    /// `preserve`/`permanent`/`random`/`stable`.
    pub cloned_mac_address: Option<String>,
    /// `speed` in Mb/s (0: unset).
    pub speed: u32,
    /// `duplex`.
    pub duplex: Option<String>,
    /// `port`.
    pub port: Option<String>,
    /// `auto-negotiate`.
    pub auto_negotiate: bool,
    /// `wake-on-lan` flags (default 1: the global default).
    pub wake_on_lan: u32,
}

impl Default for Ethernet {
    fn default() -> Ethernet {
        Ethernet {
            mtu: 0,
            mac_address: None,
            cloned_mac_address: None,
            speed: 0,
            duplex: None,
            port: None,
            auto_negotiate: false,
            wake_on_lan: 1,
        }
    }
}

/// `[bond]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bond {
    /// The options NetworkManager keeps (invalid ones dropped; `balance-rr` when no valid
    /// mode is written).
    pub options: BTreeMap<String, String>,
}

impl Default for Bond {
    fn default() -> Bond {
        Bond { options: BTreeMap::from([("mode".to_string(), "balance-rr".to_string())]) }
    }
}

/// The bonding modes by the kernel's number.
pub(crate) const BOND_MODES: [&str; 7] =
    ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];

impl Bond {
    /// The mode in effect, by name (`4` is `802.3ad`, as normalisation makes it).
    pub fn mode(&self) -> &str {
        BOND_MODES.get(self.mode_index()).copied().unwrap_or("balance-rr")
    }

    /// The mode in effect, by the kernel's number.
    pub fn mode_index(&self) -> usize {
        match self.options.get("mode") {
            None => 0,
            Some(m) => BOND_MODES.iter().position(|n| n == m).or_else(|| m.parse().ok()).unwrap_or(0),
        }
    }
}

/// `[vlan]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

impl Default for Vlan {
    fn default() -> Vlan {
        Vlan { id: 0, parent: None, flags: 1, protocol: None }
    }
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
    /// `group-forward-mask` (default 0).
    pub group_forward_mask: u32,
    /// `multicast-hash-max` (default 4096).
    pub multicast_hash_max: u32,
    /// `multicast-snooping` (default true).
    pub multicast_snooping: bool,
    /// `vlan-filtering` (default false).
    pub vlan_filtering: bool,
    /// `vlan-default-pvid` (default 1).
    pub vlan_default_pvid: u32,
    /// `mac-address`.
    pub mac_address: Option<[u8; 6]>,
}

impl Default for Bridge {
    fn default() -> Bridge {
        Bridge {
            stp: true,
            priority: 32768,
            forward_delay: 15,
            hello_time: 2,
            max_age: 20,
            ageing_time: 300,
            group_forward_mask: 0,
            multicast_hash_max: 4096,
            multicast_snooping: true,
            vlan_filtering: false,
            vlan_default_pvid: 1,
            mac_address: None,
        }
    }
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

impl Default for BridgePort {
    fn default() -> BridgePort {
        BridgePort { priority: 32, path_cost: 100, hairpin_mode: false }
    }
}

/// `[infiniband]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

impl Default for Infiniband {
    fn default() -> Infiniband {
        Infiniband { mtu: 0, transport_mode: None, p_key: -1, parent: None }
    }
}

/// `[ipv4]` or `[ipv6]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpConfig {
    /// `method` as written (the validator checks it).
    pub method: Option<String>,
    /// The addresses NetworkManager keeps, in its order.
    pub addresses: Vec<(IpAddr, u8)>,
    /// `gateway`, or the first gateway written with an address, as NetworkManager keeps it
    /// ([`gateway_as_loaded`](crate::ip::gateway_as_loaded): `FD00:0::1` becomes `fd00::1`).
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
    /// `dhcp-iaid`.
    pub dhcp_iaid: Option<String>,
    /// `dhcp-client-id` (IPv4).
    pub dhcp_client_id: Option<String>,
    /// `dhcp-duid` (IPv6).
    pub dhcp_duid: Option<String>,
    /// `ra-timeout` seconds (IPv6; 0: the global default).
    pub ra_timeout: i32,
    /// `addr-gen-mode` (IPv6): 0 eui64, 1 stable-privacy, 2 default-or-eui64, 3 default.
    pub addr_gen_mode: Option<i32>,
    /// `token` (IPv6).
    pub token: Option<String>,
}

impl IpConfig {
    /// The defaults of a family's `[ipv4]` or `[ipv6]` setting: what NetworkManager 1.42 holds
    /// for a group with no key (and, with `method` set to `auto`, for a profile without the
    /// group).
    pub fn defaults(ipv6: bool) -> IpConfig {
        IpConfig {
            method: None,
            addresses: Vec::new(),
            gateway: None,
            routes: Vec::new(),
            dns: Vec::new(),
            dns_search: Vec::new(),
            dns_options: Vec::new(),
            dns_priority: 0,
            may_fail: true,
            never_default: false,
            ignore_auto_dns: false,
            ignore_auto_routes: false,
            route_metric: -1,
            route_table: 0,
            dhcp_hostname: None,
            dhcp_timeout: 0,
            dhcp_iaid: None,
            dhcp_client_id: None,
            dhcp_duid: None,
            ra_timeout: 0,
            addr_gen_mode: ipv6.then_some(2),
            token: None,
        }
    }
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
