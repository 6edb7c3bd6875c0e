//! The one pass that reads a document into a [`Profile`]: every entry of every group once,
//! each value read by its type in [`crate::schema`] with NetworkManager's readers, and every
//! place where that reading departs from what is written noted for the validator (an unknown
//! group or key, an escape GLib refuses, a number read as octal, a value that is no boolean, a
//! bond option dropped, an address NetworkManager drops). Noting costs nothing when a file is
//! clean, which is why the validator and this reader are one pass.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::{Bond, Bridge, BridgePort, Connection, Ethernet, Infiniband, IpConfig, Match, Profile, Proxy, Vlan};
use crate::ip::{AddressesRead, RoutesRead, read_addresses_in, read_dns_in, read_routes_in};
use crate::keyfile::{Document, EntryRef, Escape, ValueError, split_list, unescape};
use crate::schema::{
    BOND_OPTIONS, CONNECTION_KEYS, ETHERNET_KEYS, IPV4_KEYS, IPV6_KEYS, KeyTable, PROXY_KEYS, ValueType,
    ethtool_is_boolean, group_is_known, setting_of_group, tables_of,
};
use crate::value::{
    HwAddr, IntError, Radix, list_key_index, parse_bool, parse_hwaddr, parse_int, parse_mac, parse_uint,
};

/// A profile with what reading it found.
#[derive(Debug, Default)]
pub(crate) struct Load<'d> {
    /// What NetworkManager loads.
    pub(crate) profile: Profile,
    /// Unknown groups, unreadable values, unknown keys and values that do not read as their
    /// type, in file order (groups in the order they first appear).
    pub(crate) notes: Vec<Note<'d>>,
    /// `[bond]` options NetworkManager drops, with their value.
    pub(crate) bond_dropped: Vec<(EntryRef<'d>, String, BondDrop)>,
    /// What the IP readers found, per family.
    pub(crate) ipv4: Option<IpRead<'d>>,
    /// See `ipv4`.
    pub(crate) ipv6: Option<IpRead<'d>>,
    /// The group `connection.interface-name` was read from (`connection`, or the type's own
    /// group, the deprecated place).
    pub(crate) interface_name_group: &'d str,
    /// A `vlan.flags` with bits no flag uses: NetworkManager keeps the default.
    pub(crate) vlan_flags_invalid: Option<u32>,
    /// `connection.controller` and `connection.port-type` (1.46's names) are written, readable
    /// or not.
    pub(crate) controller_written: bool,
    /// See `controller_written`.
    pub(crate) port_type_written: bool,
    /// The file has a `[user]` group (whose keys the validator looks at, readable or not).
    pub(crate) user_written: bool,
    /// `[ethernet]` and `[802-3-ethernet]` as read, in that order (NetworkManager reads
    /// `[802-3-ethernet]` alone when both are written; the validator looks at both).
    pub(crate) ethernet_groups: [Option<EthernetRead<'d>>; 2],
}

impl<'d> Load<'d> {
    /// What the IP readers found for a family.
    pub(crate) fn ip(&self, ipv6: bool) -> Option<&IpRead<'d>> {
        if ipv6 { self.ipv6.as_ref() } else { self.ipv4.as_ref() }
    }
}

/// One group of the Ethernet setting, as read.
#[derive(Debug)]
pub(crate) struct EthernetRead<'d> {
    /// `ethernet` or `802-3-ethernet`.
    pub(crate) group: &'d str,
    /// Its values.
    pub(crate) ethernet: Ethernet,
    /// A `cloned-mac-address` that is neither a MAC address nor a special word: dropped.
    pub(crate) cloned_mac_invalid: Option<(EntryRef<'d>, String)>,
}

/// What the IP readers found in one family's group.
#[derive(Debug)]
pub(crate) struct IpRead<'d> {
    /// The group's entries.
    pub(crate) entries: Vec<EntryRef<'d>>,
    /// Which kinds of indexed keys (and `dns`) it has.
    pub(crate) found: IpKeys,
    /// Whether the profile's gateway is the `gateway` key's value (else it is the one written
    /// with an address, if any).
    pub(crate) gateway_key: bool,
    /// The gateway written with an address, when the `gateway` key overrides it.
    pub(crate) address_gateway: Option<String>,
    /// Why addresses were dropped or changed, by key.
    pub(crate) address_warnings: Vec<(String, String)>,
    /// Route warnings and how each `routeN_options` read.
    pub(crate) routes: RoutesRead<'d>,
    /// Why DNS servers were dropped.
    pub(crate) dns_warnings: Vec<String>,
    /// The written `addr-gen-mode`, when NetworkManager does not know it.
    pub(crate) addr_gen_mode_invalid: Option<String>,
}

/// Something found while reading.
#[derive(Clone, Debug)]
pub(crate) enum Note<'d> {
    /// A group NetworkManager knows no setting for.
    GroupUnknown(&'d str),
    /// Something about one entry.
    Entry(EntryRef<'d>, EntryNote),
}

/// What reading an entry found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EntryNote {
    /// GLib reads it neither as a string nor as a list.
    Unreadable(ValueError),
    /// A key of a modelled setting NetworkManager does not know.
    KeyUnknown,
    /// Not `true`/`false`/`1`/`0`.
    NotBoolean,
    /// An unsigned integer read in another base than decimal, or none of the property's range.
    Unsigned(Result<(u64, Radix), IntError>),
    /// A signed integer read in another base than decimal, or none of the property's range.
    Signed(Result<(i64, Radix), IntError>),
    /// No hardware address of this many bytes.
    NotMac(usize),
}

/// Why NetworkManager drops a bond option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BondDrop {
    /// An option it does not know.
    Unknown,
    /// A value the option does not take.
    Value,
}

/// One value read by its type.
enum Read<'v> {
    Str(Cow<'v, str>),
    Bool(Option<bool>),
    Unsigned(Option<u64>),
    Signed(Option<i64>),
    Mac(Option<HwAddr>),
}

/// Where a group's values go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    Connection,
    Ethernet(usize),
    Vlan,
    Bridge,
    BridgePort,
    Infiniband,
    Ip(bool),
    Proxy,
    Match,
    Bond,
    User,
    Ethtool,
    Other,
}

/// Reads a document.
pub(crate) fn load(doc: &Document) -> Load<'_> {
    let mut out = Load::default();
    load_into(doc, &mut out);
    out
}

/// Reads a document into a fresh [`Load`] (`Load::default()`), in place: a `Load` is a few
/// kilobytes, and returning one by value copies it.
pub(crate) fn load_into<'d>(doc: &'d Document, out: &mut Load<'d>) {
    out.interface_name_group = "connection";
    let mut r = Reading { deprecated_ifname: Vec::new(), ethernet: [None, None] };
    for (group, entries) in doc.groups_with_entries() {
        let Some((setting, target, tables)) = sort_group(group) else {
            out.notes.push(Note::GroupUnknown(group));
            continue;
        };
        out.user_written |= target == Target::User;
        let p = &mut out.profile;
        match target {
            Target::Ethernet(i) => {
                r.ethernet[i] = Some(EthernetRead { group, ethernet: Ethernet::default(), cloned_mac_invalid: None })
            }
            Target::Vlan => p.vlan = Some(Vlan::default()),
            Target::Bridge => p.bridge = Some(Bridge::default()),
            Target::BridgePort => p.bridge_port = Some(BridgePort::default()),
            Target::Infiniband => p.infiniband = Some(Infiniband::default()),
            Target::Proxy => p.proxy = Some(Proxy::default()),
            Target::Match => p.match_ = Some(Match::default()),
            // The default mode is added at the end when none is kept (rather than made here
            // and replaced: three allocations in a bond profile's read).
            Target::Bond => p.bond = Some(Bond { options: BTreeMap::new() }),
            _ => {}
        }
        let g = Group { name: group, setting, target, tables };
        match target {
            Target::Ip(ipv6) => {
                // The IP readers look at the whole group: its entries are kept (at most one per
                // line of the group: one allocation).
                let mut kept = Vec::with_capacity(entries.size_hint().1.unwrap_or(0));
                let mut found = IpKeys::default();
                for e in entries {
                    // Address and route keys are read by the IP readers below.
                    if !found.note(e.key) {
                        read_entry(out, &mut r, &g, e);
                    }
                    kept.push(e);
                }
                read_ip(out, ipv6, kept, found);
            }
            _ => {
                for e in entries {
                    read_entry(out, &mut r, &g, e);
                }
            }
        }
    }
    let p = &mut out.profile;
    if let Some(bond) = &mut p.bond
        && !bond.options.contains_key("mode")
    {
        // NetworkManager's default, `balance-rr` (mode 0), as `Bond::default` has it.
        bond.options.insert("mode".to_string(), super::BOND_MODES[0].to_string());
    }
    // `[802-3-ethernet]` wins over `[ethernet]` when both exist (research §1.3).
    p.ethernet = r.ethernet.iter().rev().flatten().next().map(|r| r.ethernet.clone());
    // The deprecated place of the interface name: the type's own group (by its setting name
    // first, then its alias, as NetworkManager looks groups up).
    if p.connection.interface_name.is_none()
        && let Some(setting) = p.connection.kind.as_deref()
    {
        let in_group = |g: &str| r.deprecated_ifname.iter().position(|(group, _)| *group == g);
        let alias = crate::schema::base_group(setting).filter(|g| *g != setting);
        if let Some(i) = in_group(setting).or_else(|| alias.and_then(in_group)) {
            let (group, name) = r.deprecated_ifname.swap_remove(i);
            p.connection.interface_name = Some(name);
            out.interface_name_group = group;
        }
    }
    out.ethernet_groups = r.ethernet;
}

/// A group's setting, where its values go and its keys' types (when bmnet models them); `None`
/// for a group NetworkManager does not know. The groups nearly every file has are sorted by one
/// `match`; the others are looked up.
fn sort_group(group: &str) -> Option<(&str, Target, Option<&'static KeyTable>)> {
    Some(match group {
        "connection" => ("connection", Target::Connection, Some(&CONNECTION_KEYS)),
        "ethernet" => ("802-3-ethernet", Target::Ethernet(0), Some(&ETHERNET_KEYS)),
        "ipv4" => ("ipv4", Target::Ip(false), Some(&IPV4_KEYS)),
        "ipv6" => ("ipv6", Target::Ip(true), Some(&IPV6_KEYS)),
        "proxy" => ("proxy", Target::Proxy, Some(&PROXY_KEYS)),
        _ if !group_is_known(group) => return None,
        _ => {
            let setting = setting_of_group(group);
            (setting, target_of(setting, group), tables_of(setting))
        }
    })
}

/// Where the values of a known group go, by its setting (`group`: the name written, which tells
/// `[ethernet]` from `[802-3-ethernet]`).
fn target_of(setting: &str, group: &str) -> Target {
    match setting {
        "connection" => Target::Connection,
        "802-3-ethernet" => Target::Ethernet(usize::from(group != "ethernet")),
        "vlan" => Target::Vlan,
        "bridge" => Target::Bridge,
        "bridge-port" => Target::BridgePort,
        "infiniband" => Target::Infiniband,
        "ipv4" => Target::Ip(false),
        "ipv6" => Target::Ip(true),
        "proxy" => Target::Proxy,
        "match" => Target::Match,
        "bond" => Target::Bond,
        "user" => Target::User,
        "ethtool" => Target::Ethtool,
        _ => Target::Other,
    }
}

/// What [`load`] keeps while it reads, besides the [`Load`] it returns.
struct Reading<'d> {
    /// Interface names written in a type's own group (the deprecated place), by group.
    deprecated_ifname: Vec<(&'d str, String)>,
    /// `[ethernet]` and `[802-3-ethernet]`, as read.
    ethernet: [Option<EthernetRead<'d>>; 2],
}

/// The group being read.
struct Group<'d> {
    name: &'d str,
    /// Its setting (the alias resolved).
    setting: &'d str,
    target: Target,
    /// Its keys' types, when bmnet models the setting.
    tables: Option<&'static KeyTable>,
}

/// Reads one entry of a group into the profile, noting where reading it departs from what is
/// written.
fn read_entry<'d>(out: &mut Load<'d>, r: &mut Reading<'d>, g: &Group<'d>, e: EntryRef<'d>) {
    let target = g.target;
    // GLib's string reading; a value only a list reading accepts (`a\;b`) is no string.
    let string = match unescape(e.value, Escape::String) {
        Ok(s) => Some(s),
        Err(_) => {
            if let Err(err) = split_list(e.value) {
                out.notes.push(Note::Entry(e, EntryNote::Unreadable(err)));
            }
            None
        }
    };
    if e.key == "interface-name"
        && target != Target::Connection
        && let Some(s) = &string
    {
        r.deprecated_ifname.push((g.name, s.to_string()));
    }
    let p = &mut out.profile;
    match target {
        Target::Bond => {
            if let Some(value) = string {
                read_bond_option(out, e, value);
            }
            return;
        }
        Target::User => {
            if let Some(value) = string {
                p.user.insert(e.key.to_string(), value.into_owned());
            }
            return;
        }
        Target::Ethtool => {
            if let Some(value) = string {
                // A boolean as NetworkManager reads it (`g_key_file_get_boolean` ignores
                // trailing whitespace): `true\x0c` and `true` load alike, and the writer
                // writes `true`.
                let value = match parse_bool(&value) {
                    Some(b) if ethtool_is_boolean(e.key) => b.to_string(),
                    _ => value.into_owned(),
                };
                p.ethtool.insert(e.key.to_string(), value);
            }
            return;
        }
        _ => {}
    }
    let Some(tables) = g.tables else { return };
    let ty = tables.get(e.key);
    if ty.is_none() && target == Target::Connection {
        match e.key {
            "controller" => out.controller_written = true,
            "port-type" => out.port_type_written = true,
            _ => {}
        }
    }
    if ty == Some(ValueType::List) {
        // GLib's list reading (an unreadable list is empty: NetworkManager passes no
        // error and warns of nothing).
        let items = split_list(e.value).unwrap_or_default();
        assign_list(p, target, e.key, items);
        return;
    }
    // A value GLib cannot read as a string is not typed (nor its key judged).
    let Some(value) = string else { return };
    let Some(ty) = ty else {
        let connection = g.setting == "connection";
        // Renamed keys get their own rule (the validator's connection rules).
        if !(connection && matches!(e.key, "controller" | "port-type" | "autoconnect-ports")) {
            out.notes.push(Note::Entry(e, EntryNote::KeyUnknown));
        }
        if connection {
            match e.key {
                "controller" => p.connection.controller = Some(value.into_owned()),
                "port-type" => p.connection.port_type = Some(value.into_owned()),
                _ => {}
            }
        }
        return;
    };
    let read = match ty {
        ValueType::Bool => {
            let b = parse_bool(&value);
            if b.is_none() {
                out.notes.push(Note::Entry(e, EntryNote::NotBoolean));
            }
            Read::Bool(b)
        }
        ValueType::UInt(max) => {
            let n = parse_uint(&value, 0, max);
            if !matches!(n, Ok((_, Radix::Decimal))) {
                out.notes.push(Note::Entry(e, EntryNote::Unsigned(n.clone())));
            }
            Read::Unsigned(n.ok().map(|(n, _)| n))
        }
        ValueType::Int(min, max) => {
            let n = parse_int(&value, min, max);
            if !matches!(n, Ok((_, Radix::Decimal))) {
                out.notes.push(Note::Entry(e, EntryNote::Signed(n.clone())));
            }
            Read::Signed(n.ok().map(|(n, _)| n))
        }
        ValueType::Mac(len) => {
            let mac = parse_hwaddr(&value, len);
            if mac.is_none() {
                out.notes.push(Note::Entry(e, EntryNote::NotMac(len)));
            }
            Read::Mac(mac)
        }
        ValueType::Str | ValueType::Special | ValueType::List => Read::Str(value),
    };
    let p = &mut out.profile;
    match target {
        Target::Ethernet(i) => {
            if let Some(eth) = &mut r.ethernet[i] {
                assign_ethernet(eth, e, read);
            }
        }
        Target::Ip(ipv6) => {
            let ip = if ipv6 { &mut p.ipv6 } else { &mut p.ipv4 };
            assign_ip(ip.get_or_insert_with(|| IpConfig::defaults(ipv6)), e.key, read);
        }
        Target::Vlan if e.key == "flags" => {
            let flags = unsigned(read, 1);
            // 1 reorder-headers, 2 gvrp, 4 loose-binding, 8 mvrp: GObject refuses other
            // bits, and the default stays.
            if flags & !0xf != 0 {
                out.vlan_flags_invalid = Some(flags);
            } else if let Some(v) = &mut p.vlan {
                v.flags = flags;
            }
        }
        _ => assign(p, target, e.key, read),
    }
}

/// Which of the keys the IP readers look for an IP group has: the indexed ones (`addressN`,
/// `addressesN`, `routeN`, `routesN`, `routeN_options`, read by those readers alone) and `dns`
/// (read by the typed readers too). A reader whose keys the group lacks is not run.
/// (`routing-ruleN` keys are indexed too: [`IpKeys::note`] keeps them from the typed readers.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IpKeys {
    /// An `addressN` or `addressesN` key.
    pub(crate) address: bool,
    /// A `routeN`, `routesN` or `routeN_options` key.
    pub(crate) route: bool,
    /// The `dns` key (read by the typed readers too).
    pub(crate) dns: bool,
}

impl IpKeys {
    /// Notes `key`; whether it is one of the indexed keys (address, route, route options,
    /// routing rule), which the IP readers read rather than the typed ones.
    pub(crate) fn note(&mut self, key: &str) -> bool {
        // Every indexed key starts with `a` or `r`; most keys of the group do not.
        match key.as_bytes().first() {
            Some(b'a') if list_key_index(key, "address").is_some() => {
                self.address = true;
                true
            }
            Some(b'r') => {
                let base = key.strip_suffix("_options").unwrap_or(key);
                if list_key_index(base, "route").is_some() {
                    self.route = true;
                    true
                } else {
                    key.strip_prefix("routing-rule").is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
                }
            }
            Some(b'd') if key == "dns" => {
                self.dns = true;
                false
            }
            _ => false,
        }
    }
}

/// One `[bond]` entry: kept when NetworkManager accepts the option and its value.
fn read_bond_option<'d>(out: &mut Load<'d>, e: EntryRef<'d>, value: Cow<'_, str>) {
    // The deprecated place of `connection.interface-name`, never an option (NetworkManager
    // skips it without a warning, whatever the type).
    if e.key == "interface-name" {
        return;
    }
    let Some((_, kind)) = BOND_OPTIONS.iter().find(|(n, _)| *n == e.key) else {
        out.bond_dropped.push((e, value.into_owned(), BondDrop::Unknown));
        return;
    };
    if !kind.accepts(&value) {
        out.bond_dropped.push((e, value.into_owned(), BondDrop::Value));
        return;
    }
    if let Some(bond) = &mut out.profile.bond {
        bond.options.insert(e.key.to_string(), value.into_owned());
    }
}

/// The addresses, routes and DNS of a family, then the values that depend on several keys.
fn read_ip<'d>(out: &mut Load<'d>, ipv6: bool, entries: Vec<EntryRef<'d>>, found: IpKeys) {
    let p = &mut out.profile;
    let ip = if ipv6 { &mut p.ipv6 } else { &mut p.ipv4 };
    let ip = ip.get_or_insert_with(|| IpConfig::defaults(ipv6));
    // Each reader on a group without its keys finds nothing: it is not run.
    let AddressesRead { addresses, gateway, warnings } =
        if found.address { read_addresses_in(&entries, ipv6) } else { AddressesRead::default() };
    ip.addresses = addresses;
    // The `gateway` key wins over a gateway written with an address (which is then kept
    // apart, for the validator).
    let gateway_key = ip.gateway.is_some();
    if let Some(g) = &mut ip.gateway {
        crate::ip::load_gateway(g, ipv6);
    }
    let address_gateway = if gateway_key {
        gateway
    } else {
        ip.gateway = gateway;
        None
    };
    let mut routes = if found.route { read_routes_in(&entries, ipv6) } else { RoutesRead::default() };
    ip.routes = std::mem::take(&mut routes.routes);
    let (dns, dns_warnings) = if found.dns { read_dns_in(&entries, ipv6) } else { Default::default() };
    ip.dns = dns;
    let mut addr_gen_mode_invalid = None;
    if ipv6 {
        let written = entries.iter().find(|e| e.key == "addr-gen-mode").map(|e| unescape(e.value, Escape::String));
        ip.addr_gen_mode = Some(match written {
            Some(Ok(mode)) => match mode.trim() {
                "eui64" | "0" => 0,
                "stable-privacy" | "1" => 1,
                "default-or-eui64" | "2" => 2,
                "default" | "3" => 3,
                _ => {
                    addr_gen_mode_invalid = Some(mode.into_owned());
                    2
                }
            },
            // Missing with a token: eui64 (research §1.3); otherwise default-or-eui64.
            None if entries.iter().any(|e| e.key == "token") => 0,
            _ => 2,
        });
    }
    let read = IpRead {
        entries,
        found,
        gateway_key,
        address_gateway,
        address_warnings: warnings,
        routes,
        dns_warnings,
        addr_gen_mode_invalid,
    };
    if ipv6 {
        out.ipv6 = Some(read);
    } else {
        out.ipv4 = Some(read);
    }
}

fn string(read: Read<'_>) -> Option<String> {
    match read {
        Read::Str(s) => Some(s.into_owned()),
        _ => None,
    }
}

fn boolean(read: Read<'_>, default: bool) -> bool {
    match read {
        Read::Bool(b) => b.unwrap_or(default),
        _ => default,
    }
}

fn unsigned(read: Read<'_>, default: u32) -> u32 {
    match read {
        Read::Unsigned(Some(n)) => u32::try_from(n).unwrap_or(default),
        _ => default,
    }
}

fn signed(read: Read<'_>, default: i32) -> i32 {
    match read {
        Read::Signed(Some(n)) => i32::try_from(n).unwrap_or(default),
        _ => default,
    }
}

fn mac6(read: Read<'_>) -> Option<[u8; 6]> {
    match read {
        Read::Mac(Some(mac)) => mac.as_bytes().try_into().ok(),
        _ => None,
    }
}

/// A list value into its field.
fn assign_list(p: &mut Profile, target: Target, key: &str, items: Vec<String>) {
    match (target, key) {
        (Target::Connection, "permissions") => p.connection.permissions = items,
        (Target::Ip(ipv6), "dns-search" | "dns-options") => {
            let ip = if ipv6 { &mut p.ipv6 } else { &mut p.ipv4 };
            let ip = ip.get_or_insert_with(|| IpConfig::defaults(ipv6));
            if key == "dns-search" {
                ip.dns_search = items;
            } else {
                ip.dns_options = items;
            }
        }
        (Target::Match, _) => {
            if let Some(m) = &mut p.match_ {
                match key {
                    "interface-name" => m.interface_name = items,
                    "driver" => m.driver = items,
                    "path" => m.path = items,
                    "kernel-command-line" => m.kernel_command_line = items,
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// A scalar value into its field (keys the profile does not model are read for their notes
/// only).
fn assign(p: &mut Profile, target: Target, key: &str, read: Read<'_>) {
    match target {
        Target::Connection => {
            let c: &mut Connection = &mut p.connection;
            match key {
                "id" => c.id = string(read),
                "uuid" => c.uuid = string(read),
                "type" => {
                    // Stored as the setting's name (`ethernet` is `802-3-ethernet`).
                    c.kind = match read {
                        Read::Str(t) => Some(match setting_of_group(&t) {
                            s if std::ptr::eq(s, &*t) => t.into_owned(),
                            s => s.to_string(),
                        }),
                        _ => None,
                    }
                }
                "interface-name" => c.interface_name = string(read),
                "autoconnect" => c.autoconnect = boolean(read, true),
                "autoconnect-priority" => c.autoconnect_priority = signed(read, 0),
                "autoconnect-retries" => c.autoconnect_retries = signed(read, -1),
                "master" => c.master = string(read),
                "slave-type" => c.slave_type = string(read),
                "zone" => c.zone = string(read),
                "stable-id" => c.stable_id = string(read),
                "multi-connect" => c.multi_connect = signed(read, 0),
                "mdns" => c.mdns = signed(read, -1),
                "llmnr" => c.llmnr = signed(read, -1),
                "dns-over-tls" => c.dns_over_tls = signed(read, -1),
                _ => {}
            }
        }
        Target::Vlan => {
            if let Some(v) = &mut p.vlan {
                match key {
                    "id" => v.id = unsigned(read, 0),
                    "parent" => v.parent = string(read),
                    "protocol" => v.protocol = string(read),
                    _ => {}
                }
            }
        }
        Target::Bridge => {
            if let Some(b) = &mut p.bridge {
                match key {
                    "stp" => b.stp = boolean(read, true),
                    "priority" => b.priority = unsigned(read, 32768),
                    "forward-delay" => b.forward_delay = unsigned(read, 15),
                    "hello-time" => b.hello_time = unsigned(read, 2),
                    "max-age" => b.max_age = unsigned(read, 20),
                    "ageing-time" => b.ageing_time = unsigned(read, 300),
                    "group-forward-mask" => b.group_forward_mask = unsigned(read, 0),
                    "multicast-hash-max" => b.multicast_hash_max = unsigned(read, 4096),
                    "multicast-snooping" => b.multicast_snooping = boolean(read, true),
                    "vlan-filtering" => b.vlan_filtering = boolean(read, false),
                    "vlan-default-pvid" => b.vlan_default_pvid = unsigned(read, 1),
                    "mac-address" => b.mac_address = mac6(read),
                    _ => {}
                }
            }
        }
        Target::BridgePort => {
            if let Some(b) = &mut p.bridge_port {
                match key {
                    "priority" => b.priority = unsigned(read, 32),
                    "path-cost" => b.path_cost = unsigned(read, 100),
                    "hairpin-mode" => b.hairpin_mode = boolean(read, false),
                    _ => {}
                }
            }
        }
        Target::Infiniband => {
            if let Some(i) = &mut p.infiniband {
                match key {
                    "mtu" => i.mtu = unsigned(read, 0),
                    "transport-mode" => i.transport_mode = string(read),
                    "p-key" => i.p_key = signed(read, -1),
                    "parent" => i.parent = string(read),
                    _ => {}
                }
            }
        }
        Target::Proxy => {
            if let Some(x) = &mut p.proxy {
                match key {
                    "method" => x.method = signed(read, 0),
                    "pac-url" => x.pac_url = string(read),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// An Ethernet value into its field.
fn assign_ethernet<'d>(r: &mut EthernetRead<'d>, e: EntryRef<'d>, read: Read<'_>) {
    let eth = &mut r.ethernet;
    match e.key {
        "mtu" => eth.mtu = unsigned(read, 0),
        "mac-address" => eth.mac_address = mac6(read),
        "cloned-mac-address" => {
            let Some(v) = string(read) else { return };
            eth.cloned_mac_address = if matches!(v.as_str(), "preserve" | "permanent" | "random" | "stable") {
                Some(v)
            } else if let Some(bytes) = parse_mac(&v, 6) {
                // A MAC in any accepted form is stored as `AA:BB:...`.
                Some(bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
            } else {
                r.cloned_mac_invalid = Some((e, v));
                None
            };
        }
        "speed" => eth.speed = unsigned(read, 0),
        "duplex" => eth.duplex = string(read),
        "port" => eth.port = string(read),
        "auto-negotiate" => eth.auto_negotiate = boolean(read, false),
        "wake-on-lan" => eth.wake_on_lan = unsigned(read, 1),
        _ => {}
    }
}

/// An IP scalar into its field.
fn assign_ip(ip: &mut IpConfig, key: &str, read: Read<'_>) {
    match key {
        "method" => ip.method = string(read),
        // Put in NetworkManager's form by `read_ip`.
        "gateway" => ip.gateway = string(read),
        "dns-priority" => ip.dns_priority = signed(read, 0),
        "may-fail" => ip.may_fail = boolean(read, true),
        "never-default" => ip.never_default = boolean(read, false),
        "ignore-auto-dns" => ip.ignore_auto_dns = boolean(read, false),
        "ignore-auto-routes" => ip.ignore_auto_routes = boolean(read, false),
        "route-metric" => {
            if let Read::Signed(Some(n)) = read {
                ip.route_metric = n;
            }
        }
        "route-table" => ip.route_table = unsigned(read, 0),
        "dhcp-hostname" => ip.dhcp_hostname = string(read),
        "dhcp-timeout" => ip.dhcp_timeout = signed(read, 0),
        "dhcp-iaid" => ip.dhcp_iaid = string(read),
        "dhcp-client-id" => ip.dhcp_client_id = string(read),
        "dhcp-duid" => ip.dhcp_duid = string(read),
        "ra-timeout" => ip.ra_timeout = signed(read, 0),
        "token" => ip.token = string(read),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The groups sorted at once are sorted as the lookups sort them.
    #[test]
    fn common_groups_sort_as_looked_up() {
        for group in
            ["connection", "ethernet", "ipv4", "ipv6", "proxy", "802-3-ethernet", "bond", "user", "team", "vlan"]
        {
            let setting = setting_of_group(group);
            assert!(group_is_known(group), "{group}");
            let (s, target, tables) = sort_group(group).unwrap();
            assert_eq!((s, target), (setting, target_of(setting, group)), "{group}");
            let address = |t: Option<&'static KeyTable>| t.map(std::ptr::from_ref);
            assert_eq!(address(tables), address(tables_of(setting)), "{group}");
        }
        assert_eq!(sort_group("802-3-ethernet").map(|(s, t, _)| (s, t)), Some(("802-3-ethernet", Target::Ethernet(1))));
        assert!(sort_group("ipv5").is_none());
    }
}
