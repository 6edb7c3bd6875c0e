//! Keyfiles back into a state, from what NetworkManager loads of them ([`crate::Profile`]):
//! the state holds the loaded values, and whatever it cannot hold is a warning whose code is of
//! the class [`Class::Unrepresented`](crate::diag::Class::Unrepresented).

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::NMSTATE_DHCP;
use crate::diag::{Code, Diagnostic};
use crate::keyfile::Document;
use crate::profile::{EntryNote, IpConfig, Load, Note, load};
use crate::state::{
    AddrGenMode, Address, Bond, BondMode, Bridge, BridgeOptions, BridgePort, DnsConfig, DnsResolver, Interface,
    InterfaceType, Ip, Route, Routes, State, Stp, Vlan,
};
use crate::value::list_key_index;

/// A state read from keyfiles, and what could not be represented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromKeyfiles {
    /// The state.
    pub state: State,
    /// What the state leaves out, in file order: (index of the keyfile, warning).
    pub warnings: Vec<(usize, Diagnostic)>,
}

/// One keyfile the state represents.
struct Read<'a> {
    /// Its index in the input.
    n: usize,
    doc: &'a Document,
    load: Load<'a>,
    id: String,
    kind: InterfaceType,
    name: String,
    /// `master` and `slave-type`.
    master: Option<(String, String)>,
}

/// Where a warning points.
enum At<'a> {
    /// A key's name.
    Key(&'a str, &'a str),
    /// A key's value.
    Value(&'a str, &'a str),
    /// A group's header.
    Group(&'a str),
}

/// The warnings of one keyfile.
struct Warnings<'o, 'd> {
    out: &'o mut Vec<(usize, Diagnostic)>,
    n: usize,
    doc: &'d Document,
}

impl Warnings<'_, '_> {
    fn push(&mut self, code: Code, at: At<'_>, message: impl Into<String>) {
        let (line, column, group, key) = match at {
            At::Key(g, k) => {
                let l = self.doc.locate(g, k);
                (l.map_or(0, |l| l.line), l.map_or(0, |l| l.key_column), Some(g), Some(k))
            }
            At::Value(g, k) => {
                let l = self.doc.locate(g, k);
                (l.map_or(0, |l| l.line), l.map_or(0, |l| l.value_column), Some(g), Some(k))
            }
            At::Group(g) => {
                let line = self.doc.group_line_number(g).unwrap_or(0);
                (line, usize::from(line > 0), Some(g), None)
            }
        };
        let mut d = Diagnostic::new(code, line, column, message);
        d.group = group.map(str::to_string);
        d.key = key.map(str::to_string);
        self.out.push((self.n, d));
    }
}

/// Whether reading found the value of (group, key) unreadable or of the wrong type.
fn unread(load: &Load<'_>, group: &str, key: &str) -> bool {
    load.notes.iter().any(|n| {
        matches!(n, Note::Entry(e, note) if e.group == group && e.key == key && matches!(note,
            EntryNote::Unreadable(_) | EntryNote::NotBoolean | EntryNote::NotMac(_)
            | EntryNote::Unsigned(Err(_)) | EntryNote::Signed(Err(_))))
    })
}

/// Reads keyfiles back into a state (see the module documentation). Profiles of other types,
/// and keys outside the subset, are reported in the warnings; nothing is an error.
pub fn to_state(docs: &[Document]) -> FromKeyfiles {
    let mut warnings = Vec::new();
    let mut read: Vec<Read<'_>> = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        let load = load(doc);
        let mut w = Warnings { out: &mut warnings, n, doc };
        let con = &load.profile.connection;
        let id = con.id.clone().unwrap_or_else(|| format!("file {}", n + 1));
        let kind = match con.kind.as_deref() {
            Some("802-3-ethernet") => InterfaceType::Ethernet,
            Some("bond") => InterfaceType::Bond,
            Some("vlan") => InterfaceType::Vlan,
            Some("bridge") => InterfaceType::LinuxBridge,
            other => {
                let what = other.map_or("no connection.type".to_string(), |t| format!("connection.type {t}"));
                w.push(
                    Code::StateTypeUnsupported,
                    At::Value("connection", "type"),
                    format!("{what} is none of the state's ethernet, bond, vlan, linux-bridge: profile left out"),
                );
                continue;
            }
        };
        let Some(name) = con.interface_name.clone() else {
            w.push(
                Code::StateInterfaceNameMissing,
                At::Group("connection"),
                "no interface-name (nmstate names interfaces): profile left out",
            );
            continue;
        };
        let master = match (&con.master, &con.slave_type) {
            (Some(m), Some(t)) => Some((m.clone(), t.clone())),
            (Some(m), None) => {
                w.push(
                    Code::StatePortUnresolved,
                    At::Value("connection", "master"),
                    format!("master={m} without slave-type: NetworkManager refuses the profile; read as no port"),
                );
                None
            }
            _ => None,
        };
        if doc.get_raw("connection", "controller").is_some() {
            w.push(
                Code::StateKeyLeftOut,
                At::Key("connection", "controller"),
                "connection.controller is not read by NetworkManager 1.42 (use master=): left out",
            );
        }
        if let Some(first) = read.iter().find(|r| r.name == name) {
            w.push(
                Code::StateInterfaceDuplicate,
                At::Group("connection"),
                format!(
                    "another profile for {name} ({}): NetworkManager activates one of them, the state keeps the first",
                    first.id
                ),
            );
            continue;
        }
        read.push(Read { n, doc, load, id, kind, name, master });
    }
    // Controllers and VLAN parents may be named by UUID.
    let by_uuid: BTreeMap<String, String> = read
        .iter()
        .filter_map(|r| Some((r.load.profile.connection.uuid.as_deref()?.to_lowercase(), r.name.clone())))
        .collect();
    let resolve = |s: &str| by_uuid.get(&s.to_lowercase()).cloned().unwrap_or_else(|| s.to_string());

    let mut state = State::default();
    let mut routes = Vec::new();
    let mut servers: [Vec<IpAddr>; 2] = [Vec::new(), Vec::new()];
    let mut search: Vec<String> = Vec::new();
    // (controller, slave-type, port name, index of the port's keyfile).
    let mut ports: Vec<(String, String, String, usize)> = Vec::new();
    for r in &read {
        let (doc, p) = (r.doc, &r.load.profile);
        let mut w = Warnings { out: &mut warnings, n: r.n, doc };
        let mut iface = Interface::new(r.name.clone(), r.kind);
        let eth = if doc.has_group("802-3-ethernet") { "802-3-ethernet" } else { "ethernet" };
        if let Some(e) = &p.ethernet {
            for key in doc.keys(eth) {
                match key {
                    "mtu" => {
                        iface.mtu = (e.mtu > 0).then_some(e.mtu);
                        if unread(&r.load, eth, key) {
                            w.push(
                                Code::StateValueUnread,
                                At::Value(eth, key),
                                format!("{eth}.mtu is not a number NetworkManager reads: left out"),
                            );
                        }
                    }
                    "cloned-mac-address" => match &e.cloned_mac_address {
                        // Stored upper-case, as NetworkManager stores it.
                        Some(mac) if crate::value::parse_mac(mac, 6).is_some() => iface.mac_address = Some(mac.clone()),
                        _ => w.push(
                            Code::StateValueUnread,
                            At::Value(eth, key),
                            format!("{eth}.cloned-mac-address is not a MAC address: left out"),
                        ),
                    },
                    k => w.push(Code::StateKeyLeftOut, At::Key(eth, k), format!("{eth}.{k} is not represented")),
                }
            }
        }
        match r.kind {
            InterfaceType::Bond => {
                let bond = p.bond.clone().unwrap_or_default();
                for (e, value, _) in &r.load.bond_dropped {
                    let message = if e.key == "mode" {
                        format!("bond.mode={value} is not a mode: balance-rr, as NetworkManager falls back")
                    } else {
                        format!("NetworkManager drops bond option {}={value}: left out", e.key)
                    };
                    w.push(Code::StateValueUnread, At::Value("bond", e.key), message);
                }
                let mode = BondMode::parse(bond.mode()).unwrap_or(BondMode::BalanceRr);
                let options = bond.options.into_iter().filter(|(k, _)| k != "mode").collect();
                iface.link_aggregation = Some(Bond { mode, options, port: Vec::new() });
            }
            InterfaceType::Vlan => {
                let vlan = p.vlan.clone().unwrap_or_default();
                let id = match u16::try_from(vlan.id) {
                    Ok(id) if id <= 4094 && !unread(&r.load, "vlan", "id") => id,
                    _ => {
                        w.push(
                            Code::StateValueUnread,
                            At::Value("vlan", "id"),
                            "vlan.id is not a VLAN id NetworkManager accepts: 0",
                        );
                        0
                    }
                };
                let parent = vlan.parent.as_deref().filter(|p| !p.is_empty()).map(resolve).unwrap_or_default();
                if parent.is_empty() {
                    w.push(Code::StateKeyLeftOut, At::Group("vlan"), "vlan.parent is missing");
                }
                iface.vlan = Some(Vlan { base_iface: parent, id });
                for key in doc.keys("vlan") {
                    let expected = matches!(key, "id" | "parent" | "interface-name")
                        || (key == "flags" && vlan.flags == 1 && r.load.vlan_flags_invalid.is_none());
                    if !expected {
                        w.push(Code::StateKeyLeftOut, At::Key("vlan", key), format!("vlan.{key} is not represented"));
                    }
                }
            }
            InterfaceType::LinuxBridge => {
                let mut bridge = Bridge::default();
                if p.bridge.as_ref().is_some_and(|b| !b.stp) {
                    bridge.options = Some(BridgeOptions { stp: Some(Stp { enabled: Some(false) }) });
                }
                for key in doc.keys("bridge") {
                    if key != "stp" || unread(&r.load, "bridge", key) {
                        w.push(
                            Code::StateKeyLeftOut,
                            At::Key("bridge", key),
                            format!("bridge.{key} is not represented"),
                        );
                    }
                }
                iface.bridge = Some(bridge);
            }
            InterfaceType::Ethernet => {}
        }
        if let Some((controller, kind)) = &r.master {
            ports.push((resolve(controller), kind.clone(), r.name.clone(), r.n));
            for g in ["ipv4", "ipv6"] {
                if doc.has_group(g) {
                    w.push(Code::StatePortIp, At::Group(g), format!("[{g}] on a port: NetworkManager removes it"));
                }
            }
        } else {
            for v6 in [false, true] {
                let (ip, mut rts, (srv, srch)) = read_ip(r, v6, &mut w);
                if v6 {
                    iface.ipv6 = Some(ip);
                } else {
                    iface.ipv4 = Some(ip);
                }
                routes.append(&mut rts);
                servers[usize::from(v6)].extend(srv);
                for s in srch {
                    if !search.contains(&s) {
                        search.push(s);
                    }
                }
            }
        }
        state.interfaces.push(iface);
    }
    for (controller, kind, port, n) in ports {
        let doc = &docs[n];
        let mut w = Warnings { out: &mut warnings, n, doc };
        let Some(c) = state.interfaces.iter_mut().find(|i| i.name == controller) else {
            w.push(
                Code::StatePortUnresolved,
                At::Value("connection", "master"),
                format!("{port}'s controller {controller} is not among the profiles"),
            );
            continue;
        };
        match (kind.as_str(), c.link_aggregation.as_mut(), c.bridge.as_mut()) {
            ("bond", Some(b), _) => b.port.push(port),
            ("bridge", _, Some(b)) => b.port.push(BridgePort { name: port }),
            _ => w.push(
                Code::StatePortUnresolved,
                At::Value("connection", "slave-type"),
                format!("slave-type {kind} does not match {port}'s controller {controller}"),
            ),
        }
    }
    if !routes.is_empty() {
        state.routes = Some(Routes { config: routes });
    }
    let server: Vec<IpAddr> = servers.concat();
    if !server.is_empty() || !search.is_empty() {
        state.dns_resolver = Some(DnsResolver { config: DnsConfig { server, search } });
    }
    FromKeyfiles { state, warnings }
}

/// `0.0.0.0/0` or `::/0`.
fn default_destination(v6: bool) -> IpNet {
    if v6 { IpNet::V6(ipnet::Ipv6Net::default()) } else { IpNet::V4(ipnet::Ipv4Net::default()) }
}

type IpRead = (Ip, Vec<Route>, (Vec<IpAddr>, Vec<String>));

/// The keys of an IP group the state represents.
const KNOWN: &[&str] = &[
    "method",
    "addr-gen-mode",
    "gateway",
    "dns",
    "dns-search",
    "dns-priority",
    "ignore-auto-dns",
    "never-default",
    "ignore-auto-routes",
];

/// A DHCP setting as the profile loads it, in the form nmstate writes.
fn dhcp_setting(ip: &IpConfig, key: &str) -> Option<String> {
    match key {
        "dhcp-client-id" => ip.dhcp_client_id.clone(),
        "dhcp-duid" => ip.dhcp_duid.clone(),
        "dhcp-iaid" => ip.dhcp_iaid.clone(),
        "dhcp-timeout" => Some(ip.dhcp_timeout.to_string()),
        "ra-timeout" => Some(ip.ra_timeout.to_string()),
        _ => None,
    }
}

fn read_ip(r: &Read<'_>, v6: bool, w: &mut Warnings<'_, '_>) -> IpRead {
    let g = if v6 { "ipv6" } else { "ipv4" };
    let name = &r.name;
    let doc = r.doc;
    let loaded = r.load.profile.ip(v6);
    let details = r.load.ip(v6);
    let method = loaded.and_then(|ip| ip.method.clone()).unwrap_or_else(|| {
        w.push(Code::StateMethodDefault, At::Group(g), format!("no {g}.method: NetworkManager uses auto (DHCP)"));
        "auto".into()
    });
    let mut ip = Ip::default();
    let mut routes = Vec::new();
    let mut dns = (Vec::new(), Vec::new());
    if v6 {
        match loaded.and_then(|ip| ip.addr_gen_mode) {
            Some(0) => {}
            Some(1) => ip.addr_gen_mode = Some(AddrGenMode::StablePrivacy),
            other => {
                if method != "disabled" && method != "ignore" {
                    let mode = if other == Some(3) { "default" } else { "default-or-eui64" };
                    w.push(
                        Code::StateKeyLeftOut,
                        At::Value(g, "addr-gen-mode"),
                        format!("ipv6.addr-gen-mode {mode} is not nmstate's eui64 or stable-privacy; read as eui64"),
                    );
                }
            }
        }
    }
    match (method.as_str(), v6) {
        ("disabled", _) | ("ignore", true) => {
            ip.enabled = Some(false);
            return (ip, routes, dns);
        }
        ("auto", false) => (ip.enabled, ip.dhcp) = (Some(true), Some(true)),
        ("manual", false) => (ip.enabled, ip.dhcp) = (Some(true), Some(false)),
        ("auto", true) => (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(true), Some(true)),
        ("dhcp", true) => (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(true), Some(false)),
        ("manual" | "link-local", true) => (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(false), Some(false)),
        (m, _) => {
            w.push(
                Code::StateKeyLeftOut,
                At::Value(g, "method"),
                format!("{g}.method={m} is not represented; read as disabled"),
            );
            ip.enabled = Some(false);
            return (ip, routes, dns);
        }
    }
    let (Some(loaded), Some(details)) = (loaded, details) else {
        // No group: NetworkManager's defaults, which have nothing to carry over.
        return (ip, routes, dns);
    };
    let benign = |m: &str| m.starts_with("deprecated semicolon");
    for (key, msg) in details.address_warnings.iter().filter(|(_, m)| !benign(m)) {
        w.push(Code::StateValueUnread, At::Value(g, key), format!("{g}.{key}: {msg}"));
    }
    ip.address = loaded.addresses.iter().map(|(a, p)| Address { ip: *a, prefix_length: *p }).collect();
    if let Some(gw) = &loaded.gateway {
        match gw.parse::<IpAddr>() {
            Ok(nh) if nh.is_ipv6() == v6 => routes.push(Route {
                destination: default_destination(v6),
                next_hop_address: Some(nh),
                next_hop_interface: Some(name.to_string()),
                metric: None,
                table_id: None,
            }),
            _ => w.push(
                Code::StateValueUnread,
                At::Value(g, "gateway"),
                format!("{g}.gateway {gw} is not an address NetworkManager reads; left out"),
            ),
        }
    }
    // Routes, each with the options NetworkManager keeps.
    for (key, msg) in details.routes.warnings.iter().filter(|(_, m)| !benign(m)) {
        w.push(Code::StateValueUnread, At::Value(g, key), format!("{g}.{key}: {msg}"));
    }
    for (e, options) in &details.routes.options {
        match options {
            Err(why) => w.push(
                Code::StateValueUnread,
                At::Value(g, e.key),
                format!("{g}.{}: {why}: NetworkManager drops every option of the route", e.key),
            ),
            Ok(o) => {
                for unknown in &o.unknown {
                    w.push(
                        Code::StateKeyLeftOut,
                        At::Value(g, e.key),
                        format!("{g}.{}: {unknown} is not represented", e.key),
                    );
                }
            }
        }
    }
    for (r, key) in loaded.routes.iter().zip(&details.routes.keys) {
        let Ok(destination) = IpNet::new(r.dest, r.plen) else { continue };
        let mut route = Route {
            destination,
            next_hop_address: r.next_hop,
            next_hop_interface: Some(name.to_string()),
            metric: u32::try_from(r.metric).ok(),
            table_id: None,
        };
        for (attribute, value) in &r.attributes {
            match (attribute.as_str(), value.parse::<u32>()) {
                ("table", Ok(t)) => route.table_id = Some(t),
                _ => {
                    let options = format!("{key}_options");
                    w.push(
                        Code::StateKeyLeftOut,
                        At::Value(g, &options),
                        format!("{g}.{options}: {attribute}={value} is not represented"),
                    );
                }
            }
        }
        routes.push(route);
    }
    for msg in &details.dns_warnings {
        w.push(Code::StateValueUnread, At::Value(g, "dns"), format!("{g}.dns: {msg}"));
    }
    dns.0.clone_from(&loaded.dns);
    dns.1.clone_from(&loaded.dns_search);
    if loaded.ignore_auto_dns {
        ip.auto_dns = Some(false);
    }
    if loaded.never_default {
        ip.auto_gateway = Some(false);
    }
    if loaded.ignore_auto_routes {
        ip.auto_routes = Some(false);
    }
    for (_, key, value) in NMSTATE_DHCP.iter().filter(|(six, _, _)| *six == v6) {
        if doc.get_raw(g, key).is_some()
            && let Some(v) = dhcp_setting(loaded, key)
            && v != *value
        {
            w.push(
                Code::StateKeyLeftOut,
                At::Value(g, key),
                format!("{g}.{key}={v} is not represented (nmstate writes {value})"),
            );
        }
    }
    for key in doc.keys(g) {
        if NMSTATE_DHCP.iter().any(|(six, k, _)| *six == v6 && *k == key) {
            continue;
        }
        let listed = list_key_index(key, "address").is_some()
            || list_key_index(key, "route").is_some()
            || key.strip_suffix("_options").is_some_and(|k| list_key_index(k, "route").is_some());
        if !listed && !KNOWN.contains(&key) {
            w.push(Code::StateKeyLeftOut, At::Key(g, key), format!("{g}.{key} is not represented"));
        }
    }
    (ip, routes, dns)
}
