//! The settings NetworkManager 1.42 knows, and the keys and value types of those bare metal
//! uses (from libnm 1.42.4's own property lists; `tests/libnm_schema.rs` compares them).

/// How NetworkManager reads a key's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A string.
    Str,
    /// A `;` string list.
    List,
    /// A GKeyFile boolean.
    Bool,
    /// A signed integer within a range (base 0, as the unsigned ones; out of range: the
    /// default stays).
    Int(i64, i64),
    /// An unsigned integer (base 0, so `0` prefixes are octal) up to a maximum.
    UInt(u64),
    /// A hardware address of this many bytes.
    Mac(usize),
    /// Read by a dedicated parser (addresses, routes, DNS, gateway, addr-gen-mode, …).
    Special,
}

/// One setting (keyfile group).
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The setting's name (the group; `802-3-ethernet` is written `[ethernet]`).
    pub name: &'static str,
    /// Keys and their types; `None` for settings whose keys are free-form (bond options,
    /// user data, ethtool) or that bmnet does not model.
    pub keys: Option<&'static [(&'static str, ValueType)]>,
}

use ValueType::{Bool, List, Mac, Special, Str, UInt};

const U32: ValueType = UInt(u32::MAX as u64);
const U64: ValueType = UInt(u64::MAX);
const I32: ValueType = ValueType::Int(i32::MIN as i64, i32::MAX as i64);
/// `-1` (the default's marker) and up.
const FROM_M1: ValueType = ValueType::Int(-1, i32::MAX as i64);
/// Enum-typed properties stored as integers (ternaries, `metered`, `ip6-privacy`, ...).
const ENUM: ValueType = ValueType::Int(i32::MIN as i64, i32::MAX as i64);

const CONNECTION: &[(&str, ValueType)] = &[
    ("id", Str),
    ("uuid", Str),
    ("interface-name", Str),
    ("type", Str),
    ("permissions", List),
    ("autoconnect", Bool),
    ("autoconnect-priority", ValueType::Int(-999, 999)),
    ("autoconnect-retries", FROM_M1),
    ("multi-connect", I32),
    ("timestamp", U64),
    ("read-only", Bool),
    ("zone", Str),
    ("master", Str),
    ("slave-type", Str),
    ("autoconnect-slaves", ENUM),
    ("secondaries", List),
    ("gateway-ping-timeout", U32),
    ("metered", ENUM),
    ("lldp", I32),
    ("mdns", I32),
    ("llmnr", I32),
    ("dns-over-tls", I32),
    ("mptcp-flags", U32),
    ("stable-id", Str),
    ("auth-retries", FROM_M1),
    ("wait-device-timeout", FROM_M1),
    ("mud-url", Str),
    ("wait-activation-delay", FROM_M1),
];

const ETHERNET: &[(&str, ValueType)] = &[
    ("port", Str),
    ("speed", U32),
    ("duplex", Str),
    ("auto-negotiate", Bool),
    ("mac-address", Mac(6)),
    ("cloned-mac-address", Special),
    ("generate-mac-address-mask", Str),
    ("mac-address-blacklist", List),
    ("mtu", U32),
    ("s390-subchannels", List),
    ("s390-nettype", Str),
    ("wake-on-lan", U32),
    ("wake-on-lan-password", Str),
    ("accept-all-mac-addresses", ENUM),
];

const BOND_PORT: &[(&str, ValueType)] = &[("queue-id", U32)];

const VLAN: &[(&str, ValueType)] = &[
    ("parent", Str),
    ("id", U32),
    ("flags", U32),
    ("protocol", Str),
    ("ingress-priority-map", List),
    ("egress-priority-map", List),
    // Deprecated place of connection.interface-name, still read (research §1.3).
    ("interface-name", Str),
];

const BRIDGE: &[(&str, ValueType)] = &[
    ("mac-address", Mac(6)),
    ("stp", Bool),
    ("priority", U32),
    ("forward-delay", U32),
    ("hello-time", U32),
    ("max-age", U32),
    ("ageing-time", U32),
    ("group-address", Mac(6)),
    ("group-forward-mask", U32),
    ("multicast-hash-max", U32),
    ("multicast-last-member-count", U32),
    ("multicast-last-member-interval", U64),
    ("multicast-membership-interval", U64),
    ("multicast-router", Str),
    ("multicast-querier", Bool),
    ("multicast-querier-interval", U64),
    ("multicast-query-interval", U64),
    ("multicast-query-response-interval", U64),
    ("multicast-query-use-ifaddr", Bool),
    ("multicast-snooping", Bool),
    ("multicast-startup-query-count", U32),
    ("multicast-startup-query-interval", U64),
    ("vlan-filtering", Bool),
    ("vlan-default-pvid", U32),
    ("vlan-protocol", Str),
    ("vlan-stats-enabled", Bool),
    ("vlans", Special),
    ("interface-name", Str),
];

const BRIDGE_PORT: &[(&str, ValueType)] =
    &[("priority", U32), ("path-cost", U32), ("hairpin-mode", Bool), ("vlans", Special)];

/// Keys common to `[ipv4]` and `[ipv6]` (the indexed `addressN`/`routeN`/`routing-ruleN` keys
/// are recognised separately).
const IP_COMMON: &[(&str, ValueType)] = &[
    ("method", Special),
    ("dns", Special),
    ("dns-search", List),
    ("dns-options", List),
    ("dns-priority", I32),
    ("gateway", Special),
    ("route-metric", ValueType::Int(-1, u32::MAX as i64)),
    ("route-table", U32),
    ("ignore-auto-routes", Bool),
    ("ignore-auto-dns", Bool),
    ("dhcp-hostname", Str),
    ("dhcp-hostname-flags", U32),
    ("dhcp-send-hostname", Bool),
    ("never-default", Bool),
    ("may-fail", Bool),
    ("dad-timeout", ValueType::Int(-1, 30000)),
    ("dhcp-timeout", ValueType::Int(0, i32::MAX as i64)),
    ("required-timeout", FROM_M1),
    ("dhcp-iaid", Str),
    ("dhcp-reject-servers", List),
    ("auto-route-ext-gw", ENUM),
    ("replace-local-rule", ENUM),
];

const IPV4_ONLY: &[(&str, ValueType)] =
    &[("dhcp-client-id", Str), ("dhcp-fqdn", Str), ("dhcp-vendor-class-identifier", Str), ("link-local", I32)];

const IPV6_ONLY: &[(&str, ValueType)] = &[
    ("ip6-privacy", ENUM),
    ("addr-gen-mode", Special),
    ("token", Str),
    ("dhcp-duid", Str),
    ("ra-timeout", ValueType::Int(0, i32::MAX as i64)),
    ("mtu", U32),
];

const PROXY: &[(&str, ValueType)] = &[("method", I32), ("browser-only", Bool), ("pac-url", Str), ("pac-script", Str)];

const INFINIBAND: &[(&str, ValueType)] = &[
    ("mac-address", Mac(20)),
    ("mtu", U32),
    ("transport-mode", Str),
    ("p-key", ValueType::Int(-1, 65535)),
    ("parent", Str),
];

const MATCH: &[(&str, ValueType)] =
    &[("interface-name", List), ("kernel-command-line", List), ("driver", List), ("path", List)];

/// Every setting name NetworkManager 1.42 knows (a group outside this list and the special
/// groups is skipped with a warning).
pub const SETTING_NAMES: &[&str] = &[
    "6lowpan",
    "802-11-olpc-mesh",
    "802-11-wireless",
    "802-11-wireless-security",
    "802-1x",
    "802-3-ethernet",
    "adsl",
    "bluetooth",
    "bond",
    "bond-port",
    "bridge",
    "bridge-port",
    "cdma",
    "connection",
    "dcb",
    "dummy",
    "ethtool",
    "generic",
    "gsm",
    "hostname",
    "infiniband",
    "ip-tunnel",
    "ipv4",
    "ipv6",
    "loopback",
    "macsec",
    "macvlan",
    "match",
    "ovs-bridge",
    "ovs-dpdk",
    "ovs-external-ids",
    "ovs-interface",
    "ovs-other-config",
    "ovs-patch",
    "ovs-port",
    "ppp",
    "pppoe",
    "proxy",
    "serial",
    "sriov",
    "tc",
    "team",
    "team-port",
    "tun",
    "user",
    "veth",
    "vlan",
    "vpn",
    "vrf",
    "vxlan",
    "wifi-p2p",
    "wimax",
    "wireguard",
    "wpan",
];

/// The setting a group name stands for: the three aliases NetworkManager's keyfile layer knows
/// (`ethernet`, `wifi`, `wifi-security`), else the name itself.
pub fn setting_of_group(group: &str) -> &str {
    match group {
        "ethernet" => "802-3-ethernet",
        "wifi" => "802-11-wireless",
        "wifi-security" => "802-11-wireless-security",
        g => g,
    }
}

/// Whether an `[ethtool]` key is a boolean to NetworkManager (the setting is free-form in the
/// schema). In libnm 1.42 features and pause settings are booleans and everything else,
/// adaptive coalescing included, is an integer: `coalesce-adaptive-rx=1` loads as 1 and
/// `coalesce-adaptive-rx=true` is dropped.
pub(crate) fn ethtool_is_boolean(key: &str) -> bool {
    key.starts_with("feature-") || key.starts_with("pause-")
}

/// Whether NetworkManager reads this group (a setting, an alias, or one of the special groups).
pub fn group_is_known(group: &str) -> bool {
    // The groups nearly every file has first; then SETTING_NAMES, sorted (a test says so), by
    // binary search rather than 60 string compares.
    matches!(group, "connection" | "ethernet" | "ipv4" | "ipv6" | "proxy" | "bond" | "vlan" | "bridge")
        || SETTING_NAMES.binary_search(&setting_of_group(group)).is_ok()
        || matches!(group, "vpn-secrets" | ".nmmeta" | "ethernet-s390-options")
        || group.starts_with("wireguard-peer.")
}

/// The keys of a setting bmnet models, with their types (`None`: free-form or not modelled).
pub fn keys_of(setting: &str) -> Option<Vec<(&'static str, ValueType)>> {
    let v: Vec<(&str, ValueType)> = match setting {
        "connection" => CONNECTION.to_vec(),
        "802-3-ethernet" => ETHERNET.to_vec(),
        "bond-port" => BOND_PORT.to_vec(),
        "vlan" => VLAN.to_vec(),
        "bridge" => BRIDGE.to_vec(),
        "bridge-port" => BRIDGE_PORT.to_vec(),
        "ipv4" => [IP_COMMON, IPV4_ONLY].concat(),
        "ipv6" => [IP_COMMON, IPV6_ONLY].concat(),
        "proxy" => PROXY.to_vec(),
        "infiniband" => INFINIBAND.to_vec(),
        "match" => MATCH.to_vec(),
        _ => return None,
    };
    Some(v)
}

/// A table of keys and their types.
pub(crate) type Table = &'static [(&'static str, ValueType)];

/// The keys of a modelled setting — its own, then those it shares with the other IP family —
/// with an index that finds a key in about one probe. Every entry of every file checked is
/// looked up here. A scan of the tables (length and first byte of each key in turn) cost about
/// as many instructions, but stopped at a place that depends on the key, a branch the CPU
/// mostly mispredicts: with the index a keyfile's check took 3% less time for 1% fewer
/// instructions (`cargo bench --bench nmconn_check`).
pub(crate) struct KeyTable {
    own: Table,
    shared: Table,
    /// Open addressing on [`key_hash`], probing the next slot on a collision: 1 + the key's
    /// position in `own` then `shared`, 0 for an empty slot. A key in both tables is indexed
    /// once, as its `own` entry (which a scan of `own` then `shared` would find first).
    slots: [u8; KeyTable::SLOTS],
}

impl KeyTable {
    /// Slots: a power of two at least twice the largest table's keys, so that probes are short.
    const SLOTS: usize = 128;

    const fn new(own: Table, shared: Table) -> KeyTable {
        let n = own.len() + shared.len();
        // Half full at most (a compile error otherwise: these are evaluated as constants).
        assert!(2 * n <= KeyTable::SLOTS);
        let mut slots = [0u8; KeyTable::SLOTS];
        let mut i = 0;
        while i < n {
            let key = entry_at(own, shared, i).0.as_bytes();
            let mut h = key_hash(key);
            loop {
                let s = slots[h] as usize;
                if s == 0 {
                    slots[h] = (i + 1) as u8;
                    break;
                }
                if bytes_eq(entry_at(own, shared, s - 1).0.as_bytes(), key) {
                    break;
                }
                h = (h + 1) % KeyTable::SLOTS;
            }
            i += 1;
        }
        KeyTable { own, shared, slots }
    }

    /// A key's type; `None` for a key the setting does not have.
    #[inline]
    pub(crate) fn get(&self, key: &str) -> Option<ValueType> {
        let mut h = key_hash(key.as_bytes());
        loop {
            let s = usize::from(self.slots[h]);
            if s == 0 {
                return None;
            }
            let (k, t) = entry_at(self.own, self.shared, s - 1);
            if k.len() == key.len() && k == key {
                return Some(t);
            }
            h = (h + 1) % KeyTable::SLOTS;
        }
    }
}

/// The `i`th entry of `own` then `shared`.
const fn entry_at(own: Table, shared: Table, i: usize) -> (&'static str, ValueType) {
    if i < own.len() { own[i] } else { shared[i - own.len()] }
}

/// A key's first slot: its length and three of its bytes (the first, the middle and the last
/// tell NetworkManager's keys apart well: `tests` measure the longest probe).
const fn key_hash(key: &[u8]) -> usize {
    let n = key.len();
    if n == 0 {
        return 0;
    }
    let mix = n.wrapping_mul(97)
        ^ (key[0] as usize).wrapping_mul(31)
        ^ (key[n / 2] as usize).wrapping_mul(7)
        ^ (key[n - 1] as usize).wrapping_mul(131);
    (mix ^ (mix >> 7)) % KeyTable::SLOTS
}

/// `a == b`, in a constant (where `==` on slices cannot be called).
const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

pub(crate) static CONNECTION_KEYS: KeyTable = KeyTable::new(CONNECTION, &[]);
pub(crate) static ETHERNET_KEYS: KeyTable = KeyTable::new(ETHERNET, &[]);
static BOND_PORT_KEYS: KeyTable = KeyTable::new(BOND_PORT, &[]);
static VLAN_KEYS: KeyTable = KeyTable::new(VLAN, &[]);
static BRIDGE_KEYS: KeyTable = KeyTable::new(BRIDGE, &[]);
static BRIDGE_PORT_KEYS: KeyTable = KeyTable::new(BRIDGE_PORT, &[]);
pub(crate) static IPV4_KEYS: KeyTable = KeyTable::new(IPV4_ONLY, IP_COMMON);
pub(crate) static IPV6_KEYS: KeyTable = KeyTable::new(IPV6_ONLY, IP_COMMON);
pub(crate) static PROXY_KEYS: KeyTable = KeyTable::new(PROXY, &[]);
static INFINIBAND_KEYS: KeyTable = KeyTable::new(INFINIBAND, &[]);
static MATCH_KEYS: KeyTable = KeyTable::new(MATCH, &[]);

/// The keys of a modelled setting, without allocating.
pub(crate) fn tables_of(setting: &str) -> Option<&'static KeyTable> {
    Some(match setting {
        "connection" => &CONNECTION_KEYS,
        "802-3-ethernet" => &ETHERNET_KEYS,
        "bond-port" => &BOND_PORT_KEYS,
        "vlan" => &VLAN_KEYS,
        "bridge" => &BRIDGE_KEYS,
        "bridge-port" => &BRIDGE_PORT_KEYS,
        "ipv4" => &IPV4_KEYS,
        "ipv6" => &IPV6_KEYS,
        "proxy" => &PROXY_KEYS,
        "infiniband" => &INFINIBAND_KEYS,
        "match" => &MATCH_KEYS,
        _ => return None,
    })
}

/// Whether bmnet models a setting's keys (see [`keys_of`]).
pub fn is_modelled(setting: &str) -> bool {
    tables_of(setting).is_some()
}

/// A modelled setting's key type (`None`: unknown key, or a setting not modelled).
pub fn key_type(setting: &str, key: &str) -> Option<ValueType> {
    tables_of(setting)?.get(key)
}

/// A setting's rank as a connection's base type, and the type it makes, for NetworkManager's
/// inference of a missing `connection.type` (`_nm_connection_find_base_type_setting`): the
/// base-type setting of the lowest rank gives the type; with none, or two of that rank
/// (`[ethernet]` with `[vlan]`), the type is missing and the profile refused. The ranks are
/// NetworkManager's setting priorities: the hardware base types 2, Bluetooth 3 (a Bluetooth
/// profile's `[gsm]` gives the type), PPPoE 5 (an auxiliary setting, but a base type: alone it
/// gives the type, beside `[ethernet]` it does not). `None`: no base type. The type is named
/// as NetworkManager writes it (`ethernet`, `wifi`). Checked against libnm 1.42 on every
/// setting alone and every pair (`tests/libnm_connection_type.rs`).
///
/// ```
/// use bm_nmconn::schema::base_type_rank;
/// assert_eq!(base_type_rank("802-3-ethernet"), Some((2, "ethernet")));
/// assert_eq!(base_type_rank("pppoe"), Some((5, "pppoe")));
/// assert_eq!(base_type_rank("bridge-port"), None);
/// ```
pub fn base_type_rank(setting: &str) -> Option<(u8, &'static str)> {
    Some(match setting {
        "bluetooth" => (3, "bluetooth"),
        "pppoe" => (5, "pppoe"),
        _ => {
            let name = HW_BASE_SETTINGS.iter().find(|t| **t == setting)?;
            let kind = match *name {
                "802-3-ethernet" => "ethernet",
                "802-11-wireless" => "wifi",
                n => n,
            };
            (2, kind)
        }
    })
}

/// NetworkManager 1.42's hardware base types (settings of priority
/// `NM_SETTING_PRIORITY_HW_BASE`), by name: the order its writer puts them in, right after
/// `[connection]`, and the rank-2 base types of [`base_type_rank`].
pub(crate) const HW_BASE_SETTINGS: &[&str] = &[
    "6lowpan",
    "802-11-olpc-mesh",
    "802-11-wireless",
    "802-3-ethernet",
    "adsl",
    "bond",
    "bridge",
    "cdma",
    "dummy",
    "generic",
    "gsm",
    "infiniband",
    "ip-tunnel",
    "loopback",
    "macsec",
    "macvlan",
    "ovs-bridge",
    "ovs-dpdk",
    "ovs-interface",
    "ovs-patch",
    "ovs-port",
    "team",
    "tun",
    "veth",
    "vlan",
    "vpn",
    "vrf",
    "vxlan",
    "wifi-p2p",
    "wimax",
    "wireguard",
    "wpan",
];

/// The group a connection type's own setting lives in, and whether NetworkManager adds it
/// when missing.
pub fn base_group(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "802-3-ethernet" | "ethernet" => "ethernet",
        "bond" => "bond",
        "bridge" => "bridge",
        "vlan" => "vlan",
        "infiniband" => "infiniband",
        "dummy" => "dummy",
        "team" => "team",
        "802-11-wireless" | "wifi" => "wifi",
        "vxlan" => "vxlan",
        "macvlan" => "macvlan",
        "veth" => "veth",
        "vrf" => "vrf",
        "loopback" => "loopback",
        "generic" => "generic",
        "gsm" => "gsm",
        "cdma" => "cdma",
        "bluetooth" => "bluetooth",
        "ip-tunnel" => "ip-tunnel",
        "wireguard" => "wireguard",
        "vpn" => "vpn",
        "tun" => "tun",
        "pppoe" => "pppoe",
        "adsl" => "adsl",
        "olpc-mesh" | "802-11-olpc-mesh" => "802-11-olpc-mesh",
        "wimax" => "wimax",
        "wpan" => "wpan",
        "6lowpan" => "6lowpan",
        "wifi-p2p" => "wifi-p2p",
        "macsec" => "macsec",
        "ovs-bridge" => "ovs-bridge",
        "ovs-port" => "ovs-port",
        "ovs-interface" => "ovs-interface",
        "ovs-patch" => "ovs-patch",
        "hostname" => return None,
        _ => return None,
    })
}

/// Bond options NetworkManager 1.42 accepts, with the kind of value each takes.
pub const BOND_OPTIONS: &[(&str, BondValue)] = &[
    (
        "mode",
        BondValue::Choice(
            0,
            6,
            &["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"],
        ),
    ),
    ("miimon", BondValue::Int(0, i32::MAX as u64)),
    ("downdelay", BondValue::Int(0, i32::MAX as u64)),
    ("updelay", BondValue::Int(0, i32::MAX as u64)),
    ("arp_interval", BondValue::Int(0, i32::MAX as u64)),
    ("arp_ip_target", BondValue::Ip),
    (
        "arp_validate",
        BondValue::Choice(0, 6, &["none", "active", "backup", "all", "filter", "filter_active", "filter_backup"]),
    ),
    ("balance-slb", BondValue::Int(0, 1)),
    ("primary", BondValue::Ifname),
    ("primary_reselect", BondValue::Choice(0, 2, &["always", "better", "failure"])),
    ("fail_over_mac", BondValue::Choice(0, 2, &["none", "active", "follow"])),
    ("use_carrier", BondValue::Int(0, 1)),
    ("ad_select", BondValue::Choice(0, 2, &["stable", "bandwidth", "count"])),
    (
        "xmit_hash_policy",
        BondValue::Choice(0, 5, &["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4", "vlan+srcmac"]),
    ),
    ("resend_igmp", BondValue::Int(0, 255)),
    ("lacp_rate", BondValue::Choice(0, 1, &["slow", "fast"])),
    ("active_slave", BondValue::Ifname),
    ("ad_actor_sys_prio", BondValue::Int(1, 65535)),
    ("ad_actor_system", BondValue::Mac),
    ("ad_user_port_key", BondValue::Int(0, 1023)),
    ("all_slaves_active", BondValue::Int(0, 1)),
    ("arp_all_targets", BondValue::Choice(0, 1, &["any", "all"])),
    ("min_links", BondValue::Int(0, i32::MAX as u64)),
    ("num_grat_arp", BondValue::Int(0, 255)),
    ("num_unsol_na", BondValue::Int(0, 255)),
    ("packets_per_slave", BondValue::Int(0, 65535)),
    ("tlb_dynamic_lb", BondValue::Int(0, 1)),
    ("lp_interval", BondValue::Int(1, i32::MAX as u64)),
    ("peer_notif_delay", BondValue::Int(0, i32::MAX as u64)),
];

/// A bond option's value kind (`_get_option_meta` in `nm-setting-bond.c`).
#[derive(Clone, Copy, Debug)]
pub enum BondValue {
    /// Decimal digits only, in a range.
    Int(u64, u64),
    /// A name from the list, or its index within the range.
    Choice(u64, u64, &'static [&'static str]),
    /// IPv4 addresses separated by `,` or spaces.
    Ip,
    /// An Ethernet address.
    Mac,
    /// An interface name.
    Ifname,
}

impl BondValue {
    /// Whether NetworkManager accepts `value` for an option of this kind
    /// (`_nm_setting_bond_validate_option`): decimal digits only for numbers, a name or its
    /// number for a choice.
    pub fn accepts(self, value: &str) -> bool {
        let int_in = |min: u64, max: u64| {
            !value.is_empty()
                && value.chars().all(|ch| ch.is_ascii_digit())
                && value.parse::<u64>().is_ok_and(|n| (min..=max).contains(&n))
        };
        match self {
            BondValue::Int(min, max) => int_in(min, max),
            BondValue::Choice(min, max, names) => int_in(min, max) || names.contains(&value),
            BondValue::Ip => {
                let mut addrs = value.split([',', ' ']).filter(|s| !s.is_empty()).peekable();
                addrs.peek().is_some() && addrs.all(|a| a.parse::<std::net::Ipv4Addr>().is_ok())
            }
            BondValue::Mac => crate::value::parse_mac(value, 6).is_some(),
            BondValue::Ifname => {
                !value.is_empty()
                    && value.len() <= 15
                    && !value.chars().any(|ch| ch == '/' || ch == ':' || ch.is_whitespace())
            }
        }
    }
}

/// Bond modes in which an option is not supported (`_bond_option_unsupp_mode`); the profile
/// is normalised by removing it.
pub fn bond_option_unsupported_in(option: &str, mode: usize) -> bool {
    const RR: usize = 0;
    const AB: usize = 1;
    const AD: usize = 4;
    const TLB: usize = 5;
    const ALB: usize = 6;
    match option {
        "active_slave" | "primary" => !matches!(mode, AB | TLB | ALB),
        "ad_actor_sys_prio" | "ad_actor_system" | "ad_user_port_key" | "lacp_rate" => mode != AD,
        "arp_interval" | "arp_ip_target" | "arp_validate" => matches!(mode, AD | TLB | ALB),
        "packets_per_slave" => mode != RR,
        "tlb_dynamic_lb" => !matches!(mode, TLB | ALB),
        _ => false,
    }
}

/// Edit distance, for "did you mean" suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_names_are_sorted_for_the_binary_search() {
        assert!(SETTING_NAMES.windows(2).all(|w| w[0] < w[1]), "SETTING_NAMES must stay sorted and unique");
        for name in SETTING_NAMES {
            assert!(group_is_known(name), "{name}");
        }
        assert!(group_is_known("ethernet") && group_is_known("wifi") && group_is_known("wireguard-peer.abc"));
        assert!(!group_is_known("ipv5") && !group_is_known("Connection"));
    }

    /// The modelled settings' tables, as (own, shared) and as indexed.
    fn tables() -> Vec<(&'static str, Table, Table)> {
        let names = ["connection", "802-3-ethernet", "bond-port", "vlan", "bridge", "bridge-port"];
        let mut t: Vec<_> = names.iter().map(|n| (*n, keys_of(n).map(Vec::leak).unwrap() as Table, &[][..])).collect();
        t.extend([("ipv4", IPV4_ONLY, IP_COMMON), ("ipv6", IPV6_ONLY, IP_COMMON)]);
        t.extend([("proxy", PROXY, &[][..]), ("infiniband", INFINIBAND, &[][..]), ("match", MATCH, &[][..])]);
        t
    }

    /// What the index replaced: the first entry of `own` then `shared` with the key.
    fn scan(own: Table, shared: Table, key: &str) -> Option<ValueType> {
        own.iter().chain(shared).find(|(k, _)| *k == key).map(|(_, t)| *t)
    }

    /// Every key of every table is found with its type (and the own one where the IP
    /// families share a name: `mtu` is IPv6's own), in a few probes.
    #[test]
    fn the_index_finds_every_key() {
        for (setting, own, shared) in tables() {
            let index = tables_of(setting).unwrap();
            for (key, _) in own.iter().chain(shared) {
                assert_eq!(index.get(key), scan(own, shared, key), "{setting}.{key}");
                assert!(index.get(key).is_some());
                // The probe length: from the key's first slot to its own.
                let mut h = key_hash(key.as_bytes());
                let mut probes = 1;
                while entry_at(index.own, index.shared, usize::from(index.slots[h]) - 1).0 != *key {
                    h = (h + 1) % KeyTable::SLOTS;
                    probes += 1;
                }
                assert!(probes <= 3, "{setting}.{key}: {probes} probes");
            }
        }
        assert_eq!(key_type("ipv6", "mtu"), Some(UInt(u32::MAX as u64)));
        assert_eq!(key_type("ipv4", "mtu"), None);
        assert_eq!(key_type("connection", ""), None);
    }

    proptest::proptest! {
        /// Any key, known or not, is typed as a scan of the tables types it: near misses of
        /// the known keys (a byte changed, added or cut) and arbitrary strings.
        #[test]
        fn the_index_agrees_with_a_scan(table in 0..11usize, pick in 0..64usize, edit in 0..4u8, byte in 0..128u8, at in 0..32usize, other in "[a-z0-9-]{0,24}") {
            let tables = tables();
            let (setting, own, shared) = tables[table];
            let known: Vec<&str> = own.iter().chain(shared).map(|(k, _)| *k).collect();
            let mut key = known[pick % known.len()].as_bytes().to_vec();
            let at = at % (key.len() + 1);
            match edit {
                0 => {}
                1 => key.insert(at, byte),
                2 if at < key.len() => key[at] = byte,
                2 => key.push(byte),
                _ => key.truncate(at),
            }
            let key = String::from_utf8(key).unwrap();
            let index = tables_of(setting).unwrap();
            proptest::prop_assert_eq!(index.get(&key), scan(own, shared, &key), "{}.{:?}", setting, key);
            proptest::prop_assert_eq!(index.get(&other), scan(own, shared, &other), "{}.{:?}", setting, other);
        }
    }
}
