//! nmstate state → NetworkManager 1.42 keyfiles, and keyfiles → state, for the subset in
//! [`crate::state`].
//!
//! [`render`] gives one profile per interface that is `up` (and one per bond or bridge port not
//! listed under `interfaces`, as a plain Ethernet port), each as `(file name, contents)`:
//!
//! * the id and `interface-name` are the interface name; the file name is the id escaped as
//!   NetworkManager's writer escapes it ([`crate::writer::file_name`]); the UUID is nmstate's
//!   deterministic one ([`profile_uuid`]);
//! * ports get `master=` / `slave-type=` (what 1.42 reads; `controller=` is 1.46's and 1.42
//!   ignores it), an empty `[bond-port]` or `[bridge-port]`, and no IP settings; bonds and
//!   bridges get `autoconnect-slaves=1`, as nmstate writes;
//! * methods as nmstate maps them: IPv4 `enabled: false` → `disabled`, `dhcp` → `auto`,
//!   addresses → `manual`; IPv6 `dhcp`+`autoconf` → `auto`, `dhcp` alone → `dhcp`, addresses →
//!   `manual`, nothing → `link-local`; `addr-gen-mode` `eui64` unless `stable-privacy` is asked
//!   (nmstate's default); a family not given at all → `method=disabled`; a family with DHCP or
//!   autoconf gets nmstate's DHCP settings (`dhcp-timeout=2147483647`, so the node waits for a
//!   lease for ever, `dhcp-client-id=mac`; for IPv6 `dhcp-duid=ll`, `dhcp-iaid=mac`,
//!   `ra-timeout=2147483647`);
//! * a route goes to its `next-hop-interface`, or else to the one interface with a static
//!   address whose subnet holds the next hop; `table-id` becomes `routeN_options=table=N`;
//! * the name servers of each family go to the interface with that family's default route,
//!   else to the interface whose static subnet holds the first server, else to a DHCP/autoconf
//!   interface with `auto-dns: false` (nmstate's rule: static DNS needs a place NetworkManager
//!   will not override), with `dns-priority=40` as nmstate writes it; search domains go with the
//!   IPv4 servers, else the IPv6 ones;
//! * the bytes are [`crate::writer::canonical`]'s, so `nmcli --offline connection modify` with a
//!   no-op change gives them back unchanged.
//!
//! What NetworkManager would refuse or silently change is an error naming the field: an
//! interface name the kernel refuses, a VLAN id over 4094, a bond option NetworkManager drops
//! for the mode, IP settings on a port, an address of the wrong family, a route no interface can
//! carry, `autoconf` without `dhcp` (which nmstate refuses too), an enabled family with neither
//! DHCP nor an address (1.42 cannot express it).
//!
//! Where bmnet differs from nmstate's `gen_conf`, on purpose: static addresses and routes on an
//! interface with DHCP are written (nmstate drops them without a word); an enabled family with
//! neither DHCP nor an address is an error (nmstate writes `disabled`); values are escaped as
//! GLib escapes them and file names as NetworkManager names them (nmstate writes both raw).
//!
//! [`to_state`] reads keyfiles back into the same subset, with a warning for everything it
//! cannot represent; `to_state(render(s))` is `s` for a state in the form `to_state` writes
//! (ports listed as interfaces, both families given for every non-port, routes grouped by
//! interface).
//!
//! ```
//! use bm_nmconn::render::{render, to_state};
//! use bm_nmconn::state::from_json;
//! let state = from_json(r#"{
//!   "interfaces": [
//!     {"name": "bond0", "type": "bond", "link-aggregation": {"mode": "802.3ad", "port": ["eno1", "eno2"]},
//!      "ipv4": {"enabled": true, "address": [{"ip": "10.0.0.5", "prefix-length": 24}]},
//!      "ipv6": {"enabled": false}}],
//!   "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "10.0.0.1"}]},
//!   "dns-resolver": {"config": {"server": ["10.0.0.53"]}}}"#).unwrap().state;
//! let files = render(&state).unwrap();
//! assert_eq!(files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
//!            ["bond0.nmconnection", "eno1.nmconnection", "eno2.nmconnection"]);
//! assert!(files[0].1.contains("[ipv4]\naddress1=10.0.0.5/24\ndns=10.0.0.53;\ndns-priority=40\nmethod=manual\nroute1=0.0.0.0/0,10.0.0.1\n"));
//! assert!(files[1].1.contains("master=bond0\nslave-type=bond\n"));
//!
//! let docs: Vec<_> = files.iter().map(|f| bm_nmconn::Document::parse(&f.1).unwrap()).collect();
//! let back = to_state(&docs);
//! assert!(back.warnings.is_empty(), "{:?}", back.warnings);
//! assert_eq!(back.state.interfaces.len(), 3); // the ports are listed too
//! ```

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::ip::{read_addresses, read_dns, read_routes};
use crate::keyfile::{Document, Escape, escape, escape_list};
use crate::schema::{BOND_OPTIONS, BondValue, bond_option_unsupported_in};
use crate::state::{
    AddrGenMode, Address, Bond, BondMode, Bridge, BridgeOptions, BridgePort, DnsConfig, DnsResolver, Interface,
    InterfaceState, InterfaceType, Ip, Route, Routes, State, StateError, Stp, Vlan,
};
use crate::value::{list_key_index, parse_bool, parse_mac, parse_uint};
use crate::writer::{canonical, file_name, normalise_options, ntop, one_key, only_benign};

/// nmstate's deterministic profile UUID: UUIDv5 in the URL namespace of
/// `"{nmstate interface type}://{interface name}"`.
///
/// Source: nmstate `rust/src/lib/nm/settings/connection.rs`, `uuid_from_name_and_type()`:
/// `uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{iface_type}://{iface_name}").as_bytes())`,
/// where the type is nmstate's name (`linux-bridge`, not NetworkManager's `bridge`).
///
/// ```
/// use bm_nmconn::{render::profile_uuid, state::InterfaceType};
/// assert_eq!(profile_uuid(InterfaceType::Bond, "bond0"), "925b4a95-2de0-5b2d-bcf5-8b684a7e9cb4");
/// ```
pub fn profile_uuid(kind: InterfaceType, name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{kind}://{name}").as_bytes()).hyphenated().to_string()
}

/// Why a kernel would refuse an interface name (`nm_utils_ifname_valid_kernel`), if it would.
fn ifname_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("an interface name cannot be empty")
    } else if name.len() > 15 {
        Some("an interface name is at most 15 bytes")
    } else if name == "." || name == ".." {
        Some("`.` and `..` are reserved")
    } else if matches!(name, "all" | "default" | "bonding_masters") {
        Some("this name is reserved by the kernel")
    } else if name.chars().any(|c| c == '/' || c == ':' || c == '%' || c.is_whitespace() || c.is_control()) {
        Some("an interface name cannot contain `/`, `:`, `%` or whitespace")
    } else {
        None
    }
}

/// One profile being built: groups with their `(key, raw value)` entries.
struct Profile {
    groups: Vec<(String, Vec<(String, String)>)>,
}

impl Profile {
    fn new() -> Profile {
        Profile { groups: Vec::new() }
    }

    fn group(&mut self, name: &str) -> &mut Vec<(String, String)> {
        if let Some(i) = self.groups.iter().position(|(g, _)| g == name) {
            return &mut self.groups[i].1;
        }
        self.groups.push((name.to_string(), Vec::new()));
        let last = self.groups.len() - 1;
        &mut self.groups[last].1
    }

    fn set(&mut self, group: &str, key: &str, raw: String) {
        self.group(group).push((key.to_string(), raw));
    }

    fn finish(&self) -> String {
        let mut text = String::new();
        for (g, entries) in &self.groups {
            text.push_str(&format!("[{g}]\n"));
            for (k, v) in entries {
                text.push_str(&format!("{k}={v}\n"));
            }
        }
        match Document::parse(&text) {
            Ok(doc) => canonical(&doc),
            // Every name and value was checked or escaped; keep the text if not.
            Err(_) => text,
        }
    }
}

/// The interfaces that are up, with their index in `state.interfaces`.
struct Plan<'a> {
    state: &'a State,
    /// Up interfaces: (index in state.interfaces, interface).
    up: Vec<(usize, &'a Interface)>,
    /// Port name → (controller name, NetworkManager slave-type).
    ports: BTreeMap<String, (String, &'static str)>,
}

impl<'a> Plan<'a> {
    fn find(&self, name: &str) -> Option<(usize, &'a Interface)> {
        self.up.iter().find(|(_, i)| i.name == name).map(|(n, i)| (*n, *i))
    }

    fn is_port(&self, name: &str) -> bool {
        self.ports.contains_key(name)
    }

    /// Whether an interface carries static addresses or dynamic configuration in a family.
    fn family<'i>(&self, iface: &'i Interface, v6: bool) -> Option<&'i Ip> {
        if self.is_port(&iface.name) {
            return None;
        }
        let ip = if v6 { iface.ipv6.as_ref() } else { iface.ipv4.as_ref() }?;
        ip.is_enabled().then_some(ip)
    }

    fn can_carry(&self, iface: &Interface, v6: bool) -> bool {
        self.family(iface, v6)
            .is_some_and(|ip| !ip.address.is_empty() || ip.dhcp == Some(true) || (v6 && ip.autoconf == Some(true)))
    }

    /// The interface with a static address whose subnet holds `ip`.
    fn subnet_holder(&self, ip: IpAddr) -> Vec<&'a Interface> {
        self.up
            .iter()
            .map(|(_, i)| *i)
            .filter(|i| {
                self.family(i, ip.is_ipv6()).is_some_and(|f| {
                    f.address.iter().any(|a| {
                        IpNet::new(a.ip, a.prefix_length)
                            .is_ok_and(|n| n.contains(&ip) && a.ip.is_ipv6() == ip.is_ipv6())
                    })
                })
            })
            .collect()
    }
}

fn check_interfaces(state: &State) -> Result<Plan<'_>, StateError> {
    let mut up = Vec::new();
    for (n, iface) in state.interfaces.iter().enumerate() {
        let at = |field: &str| format!("interfaces[{n}].{field}");
        if let Some(problem) = ifname_problem(&iface.name) {
            return Err(StateError::new(at("name"), format!("{:?}: {problem}", iface.name)));
        }
        if let Some(first) = state.interfaces[..n].iter().position(|i| i.name == iface.name) {
            return Err(StateError::new(at("name"), format!("{} is already interfaces[{first}]", iface.name)));
        }
        let wrong = |field: &str, kind: &str| {
            Err(StateError::new(at(field), format!("only for an interface of type {kind}, not {}", iface.kind)))
        };
        if iface.link_aggregation.is_some() && iface.kind != InterfaceType::Bond {
            return wrong("link-aggregation", "bond");
        }
        if iface.vlan.is_some() && iface.kind != InterfaceType::Vlan {
            return wrong("vlan", "vlan");
        }
        if iface.bridge.is_some() && iface.kind != InterfaceType::LinuxBridge {
            return wrong("bridge", "linux-bridge");
        }
        if iface.state == InterfaceState::Absent {
            continue;
        }
        match iface.kind {
            InterfaceType::Bond if iface.link_aggregation.is_none() => {
                return Err(StateError::new(at("link-aggregation"), "missing: a bond needs its mode"));
            }
            InterfaceType::Vlan if iface.vlan.is_none() => {
                return Err(StateError::new(at("vlan"), "missing: a VLAN needs base-iface and id"));
            }
            _ => {}
        }
        if let Some(mac) = &iface.mac_address
            && parse_mac(mac, 6).is_none()
        {
            return Err(StateError::new(
                at("mac-address"),
                format!("{mac:?} is not a MAC address (XX:XX:XX:XX:XX:XX)"),
            ));
        }
        if let Some(v) = &iface.vlan {
            if v.id > 4094 {
                return Err(StateError::new(at("vlan.id"), format!("{} is over 4094", v.id)));
            }
            if let Some(problem) = ifname_problem(&v.base_iface) {
                return Err(StateError::new(at("vlan.base-iface"), format!("{:?}: {problem}", v.base_iface)));
            }
        }
        if let Some(bond) = &iface.link_aggregation {
            check_bond(bond, &at("link-aggregation.options"))?;
        }
        for (fam, ip, v6) in [("ipv4", &iface.ipv4, false), ("ipv6", &iface.ipv6, true)] {
            let Some(ip) = ip else { continue };
            check_ip(ip, v6, &at(fam))?;
        }
        up.push((n, iface));
    }
    let mut plan = Plan { state, up, ports: BTreeMap::new() };
    for (n, iface) in &plan.up {
        let (list, kind): (Vec<(String, String)>, &str) = match (&iface.link_aggregation, &iface.bridge) {
            (Some(b), _) => (
                b.port.iter().enumerate().map(|(i, p)| (p.clone(), format!("link-aggregation.port[{i}]"))).collect(),
                "bond",
            ),
            (_, Some(br)) => (
                br.port.iter().enumerate().map(|(i, p)| (p.name.clone(), format!("bridge.port[{i}]"))).collect(),
                "bridge",
            ),
            _ => continue,
        };
        for (port, field) in list {
            let at = format!("interfaces[{n}].{field}");
            if let Some(problem) = ifname_problem(&port) {
                return Err(StateError::new(at, format!("{port:?}: {problem}")));
            }
            if port == iface.name {
                return Err(StateError::new(at, "an interface cannot be its own port"));
            }
            if let Some((other, _)) = plan.ports.get(&port) {
                return Err(StateError::new(at, format!("{port} is already a port of {other}")));
            }
            if let Some(j) = state.interfaces.iter().position(|i| i.name == port) {
                let p = &state.interfaces[j];
                if p.state == InterfaceState::Absent {
                    return Err(StateError::new(at, format!("{port} is absent (interfaces[{j}])")));
                }
                let allowed = match kind {
                    "bond" => p.kind == InterfaceType::Ethernet,
                    _ => matches!(p.kind, InterfaceType::Ethernet | InterfaceType::Bond | InterfaceType::Vlan),
                };
                if !allowed {
                    return Err(StateError::new(
                        at,
                        format!("{port} is a {} interface: a {kind} cannot take it as a port", p.kind),
                    ));
                }
                for (fam, ip) in [("ipv4", &p.ipv4), ("ipv6", &p.ipv6)] {
                    if ip.as_ref().is_some_and(Ip::is_enabled) {
                        return Err(StateError::new(
                            format!("interfaces[{j}].{fam}"),
                            format!(
                                "{port} is a port of {}: a port carries no IP configuration (NetworkManager removes \
                                 it); set enabled: false or configure {} instead",
                                iface.name, iface.name
                            ),
                        ));
                    }
                }
            }
            plan.ports.insert(port, (iface.name.clone(), kind));
        }
    }
    for (n, iface) in &plan.up {
        let Some(v) = &iface.vlan else { continue };
        let at = format!("interfaces[{n}].vlan.base-iface");
        if v.base_iface == iface.name {
            return Err(StateError::new(at, "a VLAN cannot be its own base interface"));
        }
        if let Some(j) =
            state.interfaces.iter().position(|i| i.name == v.base_iface && i.state == InterfaceState::Absent)
        {
            return Err(StateError::new(at, format!("{} is absent (interfaces[{j}])", v.base_iface)));
        }
    }
    Ok(plan)
}

fn check_bond(bond: &Bond, at: &str) -> Result<(), StateError> {
    for (name, value) in &bond.options {
        let here = format!("{at}.{name}");
        if name == "mode" {
            return Err(StateError::new(here, "set the mode with link-aggregation.mode"));
        }
        let Some((_, kind)) = BOND_OPTIONS.iter().find(|(n, _)| n == name) else {
            return Err(StateError::new(here, "not a bond option NetworkManager 1.42 knows (it would drop it)"));
        };
        let ok = match kind {
            BondValue::Int(lo, hi) => {
                !value.is_empty()
                    && value.chars().all(|c| c.is_ascii_digit())
                    && value.parse::<u64>().is_ok_and(|v| (*lo..=*hi).contains(&v))
            }
            BondValue::Choice(_, _, names) => names.contains(&value.as_str()),
            BondValue::Mac => parse_mac(value, 6).is_some(),
            BondValue::Ip | BondValue::Ifname => !value.is_empty(),
        };
        if !ok {
            let expected = match kind {
                BondValue::Int(lo, hi) => format!("a decimal number from {lo} to {hi}"),
                BondValue::Choice(_, _, names) => format!("one of {}", names.join(", ")),
                BondValue::Mac => "a MAC address".into(),
                BondValue::Ip => "IPv4 addresses".into(),
                BondValue::Ifname => "an interface name".into(),
            };
            return Err(StateError::new(
                here,
                format!("{value:?} is not valid (NetworkManager would drop it): expected {expected}"),
            ));
        }
        if bond_option_unsupported_in(name, bond.mode.index()) {
            return Err(StateError::new(
                here,
                format!("not valid with mode {} (NetworkManager would remove it)", bond.mode.as_str()),
            ));
        }
    }
    Ok(())
}

fn check_ip(ip: &Ip, v6: bool, at: &str) -> Result<(), StateError> {
    if !v6 && ip.autoconf.is_some() {
        return Err(StateError::new(format!("{at}.autoconf"), "autoconf is for ipv6 only"));
    }
    if !v6 && ip.addr_gen_mode.is_some() {
        return Err(StateError::new(format!("{at}.addr-gen-mode"), "addr-gen-mode is for ipv6 only"));
    }
    for (i, a) in ip.address.iter().enumerate() {
        let max = if v6 { 128 } else { 32 };
        if a.ip.is_ipv6() != v6 {
            return Err(StateError::new(
                format!("{at}.address[{i}].ip"),
                format!("{} is not an IPv{} address", a.ip, if v6 { 6 } else { 4 }),
            ));
        }
        if a.prefix_length > max {
            return Err(StateError::new(
                format!("{at}.address[{i}].prefix-length"),
                format!("{} is over {max}", a.prefix_length),
            ));
        }
    }
    if !ip.is_enabled() {
        return Ok(());
    }
    let dynamic = ip.dhcp == Some(true) || (v6 && ip.autoconf == Some(true));
    if v6 && ip.autoconf == Some(true) && ip.dhcp != Some(true) {
        return Err(StateError::new(
            format!("{at}.autoconf"),
            "autoconf without dhcp is not supported (nmstate refuses it too): set dhcp: true",
        ));
    }
    if !v6 && !dynamic && ip.address.is_empty() {
        return Err(StateError::new(
            at,
            "enabled with neither dhcp nor an address: NetworkManager 1.42 cannot express it (set enabled: false, \
             dhcp: true, or add an address)",
        ));
    }
    for (field, value) in
        [("auto-dns", ip.auto_dns), ("auto-gateway", ip.auto_gateway), ("auto-routes", ip.auto_routes)]
    {
        if value.is_some() && !dynamic {
            return Err(StateError::new(format!("{at}.{field}"), "only has a meaning with dhcp or autoconf"));
        }
    }
    Ok(())
}

/// Routes placed on interfaces: interface name → (route, index in routes.config).
fn place_routes<'a>(plan: &Plan<'a>) -> Result<BTreeMap<String, Vec<&'a Route>>, StateError> {
    let mut placed: BTreeMap<String, Vec<&Route>> = BTreeMap::new();
    let Some(routes) = &plan.state.routes else { return Ok(placed) };
    for (n, r) in routes.config.iter().enumerate() {
        let at = |f: &str| format!("routes.config[{n}]{f}");
        let v6 = matches!(r.destination, IpNet::V6(_));
        if let Some(nh) = r.next_hop_address
            && nh.is_ipv6() != v6
        {
            return Err(StateError::new(
                at(".next-hop-address"),
                format!("{nh} is not of the destination's family ({})", r.destination),
            ));
        }
        let iface = match (&r.next_hop_interface, r.next_hop_address) {
            (Some(name), _) => {
                let Some((_, iface)) = plan.find(name) else {
                    return Err(StateError::new(
                        at(".next-hop-interface"),
                        format!("{name} is not an interface that is up"),
                    ));
                };
                iface
            }
            (None, Some(nh)) => {
                let holders = plan.subnet_holder(nh);
                match holders.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(StateError::new(
                            at(""),
                            format!(
                                "no interface has a static address whose subnet holds {nh}: set next-hop-interface"
                            ),
                        ));
                    }
                    many => {
                        let names: Vec<&str> = many.iter().map(|i| i.name.as_str()).collect();
                        return Err(StateError::new(
                            at(""),
                            format!("{nh} is in the subnets of {}: set next-hop-interface", names.join(" and ")),
                        ));
                    }
                }
            }
            (None, None) => {
                return Err(StateError::new(at(""), "a route needs next-hop-interface or next-hop-address"));
            }
        };
        if plan.is_port(&iface.name) {
            return Err(StateError::new(
                at(".next-hop-interface"),
                format!("{} is a port: it carries no routes", iface.name),
            ));
        }
        if !plan.can_carry(iface, v6) {
            return Err(StateError::new(
                at(".next-hop-interface"),
                format!(
                    "{} has no IPv{} address, DHCP or autoconf to carry the route",
                    iface.name,
                    if v6 { 6 } else { 4 }
                ),
            ));
        }
        placed.entry(iface.name.clone()).or_default().push(r);
    }
    Ok(placed)
}

/// Where the DNS configuration goes.
#[derive(Default)]
struct DnsPlacement<'a> {
    /// The interface for the IPv4 name servers.
    v4: Option<&'a str>,
    /// The interface for the IPv6 name servers.
    v6: Option<&'a str>,
    /// The interface for the search domains, and whether in its `[ipv6]`.
    search: Option<(&'a str, bool)>,
}

/// The interface for each family's name servers, and for the search domains.
fn place_dns<'a>(plan: &Plan<'a>) -> Result<DnsPlacement<'a>, StateError> {
    let mut out = DnsPlacement::default();
    let Some(dns) = &plan.state.dns_resolver else { return Ok(out) };
    let config = &dns.config;
    let default_route_iface = |v6: bool| -> Option<&'a str> {
        let routes = plan.state.routes.as_ref()?;
        routes.config.iter().find_map(|r| {
            if r.destination.prefix_len() != 0 || matches!(r.destination, IpNet::V6(_)) != v6 {
                return None;
            }
            let name = match (&r.next_hop_interface, r.next_hop_address) {
                (Some(n), _) => n.as_str(),
                (None, Some(nh)) => match plan.subnet_holder(nh).as_slice() {
                    [one] => one.name.as_str(),
                    _ => return None,
                },
                _ => return None,
            };
            plan.find(name).map(|(_, i)| i.name.as_str())
        })
    };
    let choose = |v6: bool, first: Option<IpAddr>| -> Option<&'a str> {
        if let Some(name) = default_route_iface(v6) {
            return Some(name);
        }
        if let Some(server) = first
            && let [one] = plan.subnet_holder(server).as_slice()
        {
            return Some(one.name.as_str());
        }
        plan.up.iter().map(|(_, i)| *i).find_map(|i| {
            let ip = plan.family(i, v6)?;
            let dynamic = ip.dhcp == Some(true) || (v6 && ip.autoconf == Some(true));
            (dynamic && ip.auto_dns == Some(false)).then_some(i.name.as_str())
        })
    };
    for v6 in [false, true] {
        let servers: Vec<&IpAddr> = config.server.iter().filter(|s| s.is_ipv6() == v6).collect();
        if servers.is_empty() {
            continue;
        }
        match choose(v6, servers.first().map(|s| **s)) {
            Some(name) if v6 => out.v6 = Some(name),
            Some(name) => out.v4 = Some(name),
            None => {
                let fam = if v6 { "IPv6" } else { "IPv4" };
                let route = if v6 { "::/0" } else { "0.0.0.0/0" };
                return Err(StateError::new(
                    "dns-resolver.config.server",
                    format!(
                        "no interface to carry the {fam} name servers: add a default route (destination {route}), a \
                         static address whose subnet holds the first server, or auto-dns: false on a DHCP interface"
                    ),
                ));
            }
        }
    }
    if !config.search.is_empty() {
        out.search = match (out.v4, out.v6) {
            (Some(n), _) => Some((n, false)),
            (None, Some(n)) => Some((n, true)),
            (None, None) => choose(false, None).map(|n| (n, false)).or_else(|| choose(true, None).map(|n| (n, true))),
        };
        if out.search.is_none() {
            return Err(StateError::new(
                "dns-resolver.config.search",
                "no interface to carry the search domains: add name servers, a default route, or auto-dns: false on a \
                 DHCP interface",
            ));
        }
        for (i, d) in config.search.iter().enumerate() {
            if d.is_empty() || d.contains(';') || d.chars().any(char::is_whitespace) {
                return Err(StateError::new(
                    format!("dns-resolver.config.search[{i}]"),
                    format!("{d:?} is not a domain"),
                ));
            }
        }
    }
    Ok(out)
}

/// What nmstate writes for a family with DHCP or autoconf (`gen_nm_ipv4_setting`,
/// `gen_nm_ipv6_setting`): (IPv6?, key, value).
const NMSTATE_DHCP: &[(bool, &str, &str)] = &[
    (false, "dhcp-client-id", "mac"),
    (false, "dhcp-timeout", "2147483647"),
    (true, "dhcp-duid", "ll"),
    (true, "dhcp-iaid", "mac"),
    (true, "dhcp-timeout", "2147483647"),
    (true, "ra-timeout", "2147483647"),
];

fn write_ip(
    p: &mut Profile,
    ip: Option<&Ip>,
    v6: bool,
    routes: &[&Route],
    dns: (&[IpAddr], &[String]),
) -> Result<(), StateError> {
    let g = if v6 { "ipv6" } else { "ipv4" };
    let Some(ip) = ip else {
        // Not given: disabled, and for IPv6 no addr-gen-mode (as nmstate writes it).
        p.set(g, "method", "disabled".into());
        return Ok(());
    };
    if v6 {
        let mode = match ip.addr_gen_mode {
            Some(AddrGenMode::StablePrivacy) => "stable-privacy",
            _ => "eui64",
        };
        p.set(g, "addr-gen-mode", mode.into());
    }
    let method = if !ip.is_enabled() {
        "disabled"
    } else if v6 {
        match (ip.dhcp == Some(true), ip.autoconf == Some(true)) {
            (true, true) => "auto",
            (true, false) => "dhcp",
            (false, _) if !ip.address.is_empty() => "manual",
            (false, _) => "link-local",
        }
    } else if ip.dhcp == Some(true) {
        "auto"
    } else {
        "manual"
    };
    p.set(g, "method", method.into());
    if !ip.is_enabled() {
        return Ok(());
    }
    for (i, a) in ip.address.iter().enumerate() {
        p.set(g, &format!("address{}", i + 1), format!("{}/{}", ntop(a.ip), a.prefix_length));
    }
    if ip.dhcp == Some(true) || ip.autoconf == Some(true) {
        // nmstate's DHCP settings: wait for a lease for ever, identify by the MAC address.
        for (key, value) in NMSTATE_DHCP.iter().filter(|(six, _, _)| *six == v6).map(|(_, k, v)| (k, v)) {
            p.set(g, key, (*value).into());
        }
    }
    if ip.auto_dns == Some(false) {
        p.set(g, "ignore-auto-dns", "true".into());
    }
    if ip.auto_gateway == Some(false) {
        p.set(g, "never-default", "true".into());
    }
    if ip.auto_routes == Some(false) {
        p.set(g, "ignore-auto-routes", "true".into());
    }
    let unspecified = if v6 { "::" } else { "0.0.0.0" };
    for (i, r) in routes.iter().enumerate() {
        let mut v = format!("{}/{}", ntop(r.destination.addr()), r.destination.prefix_len());
        if r.next_hop_address.is_some() || r.metric.is_some() {
            v.push(',');
            v.push_str(&r.next_hop_address.map_or_else(|| unspecified.to_string(), ntop));
            if let Some(m) = r.metric {
                v.push_str(&format!(",{m}"));
            }
        }
        p.set(g, &format!("route{}", i + 1), v);
        if let Some(t) = r.table_id {
            p.set(g, &format!("route{}_options", i + 1), format!("table={t}"));
        }
    }
    let (servers, search) = dns;
    if !servers.is_empty() {
        p.set(g, "dns", servers.iter().map(|s| ntop(*s) + ";").collect());
    }
    if !search.is_empty() {
        p.set(g, "dns-search", escape_list(search));
    }
    if !servers.is_empty() || !search.is_empty() {
        p.set(g, "dns-priority", "40".into());
    }
    Ok(())
}

/// Renders a state into NetworkManager 1.42 keyfiles: `(file name, contents)` for every
/// profile, interfaces in order, then the ports not listed as interfaces. See the module
/// documentation for the rules.
pub fn render(state: &State) -> Result<Vec<(String, String)>, StateError> {
    let plan = check_interfaces(state)?;
    let routes = place_routes(&plan)?;
    let dns_at = place_dns(&plan)?;
    let empty_dns = DnsConfig::default();
    let dns = state.dns_resolver.as_ref().map_or(&empty_dns, |d| &d.config);
    let v4_servers: Vec<IpAddr> = dns.server.iter().copied().filter(IpAddr::is_ipv4).collect();
    let v6_servers: Vec<IpAddr> = dns.server.iter().copied().filter(IpAddr::is_ipv6).collect();
    // The listed interfaces, then unlisted ports as plain Ethernet ports.
    let mut ifaces: Vec<Interface> = plan.up.iter().map(|(_, i)| (*i).clone()).collect();
    for port in plan.ports.keys() {
        if !state.interfaces.iter().any(|i| &i.name == port) {
            ifaces.push(Interface {
                name: port.clone(),
                kind: InterfaceType::Ethernet,
                state: InterfaceState::Up,
                mtu: None,
                mac_address: None,
                ipv4: None,
                ipv6: None,
                link_aggregation: None,
                vlan: None,
                bridge: None,
            });
        }
    }
    // Unlisted ports in the order their controllers list them.
    let order: Vec<String> = plan
        .up
        .iter()
        .flat_map(|(_, i)| {
            let bond = i.link_aggregation.iter().flat_map(|b| b.port.iter().cloned());
            let bridge = i.bridge.iter().flat_map(|b| b.port.iter().map(|p| p.name.clone()));
            bond.chain(bridge).collect::<Vec<_>>()
        })
        .collect();
    let listed = plan.up.len();
    ifaces[listed..].sort_by_key(|i| order.iter().position(|n| *n == i.name));

    let mut files = Vec::new();
    for iface in &ifaces {
        let mut p = Profile::new();
        let name = escape(&iface.name, Escape::String).into_owned();
        p.set("connection", "id", name.clone());
        p.set("connection", "uuid", profile_uuid(iface.kind, &iface.name));
        p.set("connection", "type", iface.kind.nm_type().into());
        p.set("connection", "interface-name", name);
        if matches!(iface.kind, InterfaceType::Bond | InterfaceType::LinuxBridge) {
            p.set("connection", "autoconnect-slaves", "1".into());
        }
        let port = plan.ports.get(&iface.name);
        if let Some((controller, kind)) = port {
            p.set("connection", "master", escape(controller, Escape::String).into_owned());
            p.set("connection", "slave-type", (*kind).into());
        }
        if iface.kind != InterfaceType::Bond || iface.mtu.is_some() || iface.mac_address.is_some() {
            p.group("ethernet");
        }
        if let Some(mac) = &iface.mac_address
            && let Some(bytes) = parse_mac(mac, 6)
        {
            let text: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
            p.set("ethernet", "cloned-mac-address", text.join(":"));
        }
        if let Some(mtu) = iface.mtu.filter(|m| *m > 0) {
            p.set("ethernet", "mtu", mtu.to_string());
        }
        match iface.kind {
            InterfaceType::Bond => {
                if let Some(b) = &iface.link_aggregation {
                    p.set("bond", "mode", b.mode.as_str().into());
                    for (k, v) in &b.options {
                        p.set("bond", k, escape(v, Escape::String).into_owned());
                    }
                }
            }
            InterfaceType::Vlan => {
                if let Some(v) = &iface.vlan {
                    p.set("vlan", "flags", "1".into());
                    p.set("vlan", "id", v.id.to_string());
                    p.set("vlan", "parent", escape(&v.base_iface, Escape::String).into_owned());
                }
            }
            InterfaceType::LinuxBridge => {
                p.group("bridge");
                let stp = iface.bridge.as_ref().and_then(|b| b.options.as_ref()).and_then(|o| o.stp.as_ref());
                if stp.and_then(|s| s.enabled) == Some(false) {
                    p.set("bridge", "stp", "false".into());
                }
            }
            InterfaceType::Ethernet => {}
        }
        if let Some((_, kind)) = port {
            p.group(&format!("{kind}-port"));
        } else {
            let mine = routes.get(&iface.name).map(Vec::as_slice).unwrap_or_default();
            let v4_routes: Vec<&Route> =
                mine.iter().copied().filter(|r| matches!(r.destination, IpNet::V4(_))).collect();
            let v6_routes: Vec<&Route> =
                mine.iter().copied().filter(|r| matches!(r.destination, IpNet::V6(_))).collect();
            let here = |slot: Option<&str>| slot == Some(iface.name.as_str());
            let search_here = dns_at.search.filter(|(n, _)| here(Some(n))).map(|(_, v6)| v6);
            let search: &[String] = &dns.search;
            let v4_dns: (&[IpAddr], &[String]) = (
                if here(dns_at.v4) { &v4_servers } else { &[] },
                if search_here == Some(false) { search } else { &[] },
            );
            let v6_dns: (&[IpAddr], &[String]) =
                (if here(dns_at.v6) { &v6_servers } else { &[] }, if search_here == Some(true) { search } else { &[] });
            write_ip(&mut p, iface.ipv4.as_ref(), false, &v4_routes, v4_dns)?;
            write_ip(&mut p, iface.ipv6.as_ref(), true, &v6_routes, v6_dns)?;
            p.group("proxy");
        }
        let Some(fname) = file_name(&iface.name) else {
            return Err(StateError::new("interfaces", format!("{:?} gives no valid file name", iface.name)));
        };
        if let Some((_, other)) = files.iter().zip(&ifaces).find(|((f, _), _): &(&(String, String), _)| *f == fname) {
            return Err(StateError::new(
                "interfaces",
                format!("{} and {} would both be written to {fname}", other.name, iface.name),
            ));
        }
        files.push((fname, p.finish()));
    }
    Ok(files)
}

/// A state read from keyfiles, and what could not be represented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FromKeyfiles {
    /// The state.
    pub state: State,
    /// `<profile id>: <what was not represented>`, in file order.
    pub warnings: Vec<String>,
}

struct Read<'a> {
    doc: &'a Document,
    id: String,
    uuid: String,
    kind: InterfaceType,
    name: String,
    master: Option<(String, String)>,
}

fn get(doc: &Document, group: &str, key: &str) -> Option<String> {
    doc.get_string(group, key).ok().flatten()
}

/// Reads keyfiles back into a state (see the module documentation). Profiles of other types,
/// and keys outside the subset, are reported in the warnings; nothing is an error.
pub fn to_state(docs: &[Document]) -> FromKeyfiles {
    let mut warnings = Vec::new();
    let mut read: Vec<Read<'_>> = Vec::new();
    for (n, doc) in docs.iter().enumerate() {
        let id = get(doc, "connection", "id").unwrap_or_else(|| format!("file {}", n + 1));
        let kind = match get(doc, "connection", "type").as_deref() {
            Some("ethernet" | "802-3-ethernet") => InterfaceType::Ethernet,
            Some("bond") => InterfaceType::Bond,
            Some("vlan") => InterfaceType::Vlan,
            Some("bridge") => InterfaceType::LinuxBridge,
            other => {
                warnings.push(format!("{id}: connection.type {other:?} is not represented; profile skipped"));
                continue;
            }
        };
        let name = get(doc, "connection", "interface-name").or_else(|| get(doc, "vlan", "interface-name"));
        let Some(name) = name else {
            warnings.push(format!("{id}: no interface-name (nmstate names interfaces); profile skipped"));
            continue;
        };
        let master = match (get(doc, "connection", "master"), get(doc, "connection", "slave-type")) {
            (Some(m), Some(t)) => Some((m, t)),
            (Some(m), None) => {
                warnings.push(format!("{id}: master={m} without slave-type; NetworkManager ignores it"));
                None
            }
            _ => None,
        };
        if doc.get_raw("connection", "controller").is_some() {
            warnings.push(format!("{id}: connection.controller is ignored by NetworkManager 1.42 (use master=)"));
        }
        let uuid = get(doc, "connection", "uuid").unwrap_or_default();
        if let Some(first) = read.iter().find(|r| r.name == name) {
            warnings.push(format!(
                "{id}: another profile for {name} ({}); NetworkManager activates one of them, the state keeps the \
                 first",
                first.id
            ));
            continue;
        }
        read.push(Read { doc, id, uuid, kind, name, master });
    }
    // Controllers and VLAN parents may be named by UUID.
    let by_uuid: BTreeMap<String, String> =
        read.iter().filter(|r| !r.uuid.is_empty()).map(|r| (r.uuid.to_lowercase(), r.name.clone())).collect();
    let resolve = |s: &str| by_uuid.get(&s.to_lowercase()).cloned().unwrap_or_else(|| s.to_string());

    let mut state = State::default();
    let mut routes = Vec::new();
    let mut servers: [Vec<IpAddr>; 2] = [Vec::new(), Vec::new()];
    let mut search: Vec<String> = Vec::new();
    let mut ports: Vec<(String, String, String)> = Vec::new();
    for r in &read {
        let doc = r.doc;
        let warn = |w: &mut Vec<String>, msg: String| w.push(format!("{}: {msg}", r.id));
        let mut iface = Interface {
            name: r.name.clone(),
            kind: r.kind,
            state: InterfaceState::Up,
            mtu: None,
            mac_address: None,
            ipv4: None,
            ipv6: None,
            link_aggregation: None,
            vlan: None,
            bridge: None,
        };
        let eth = if doc.has_group("802-3-ethernet") { "802-3-ethernet" } else { "ethernet" };
        for key in doc.keys(eth) {
            match key {
                "mtu" => match get(doc, eth, key).as_deref().map(|v| parse_uint(v, 0, u64::from(u32::MAX))) {
                    Some(Ok((v, _))) => iface.mtu = (v > 0).then_some(v as u32),
                    _ => warn(&mut warnings, format!("{eth}.mtu is not a number NetworkManager reads; left out")),
                },
                "cloned-mac-address" => match get(doc, eth, key).and_then(|v| parse_mac(&v, 6)) {
                    Some(b) => {
                        iface.mac_address = Some(b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":"))
                    }
                    None => warn(&mut warnings, format!("{eth}.cloned-mac-address is not a MAC address; left out")),
                },
                k => warn(&mut warnings, format!("{eth}.{k} is not represented")),
            }
        }
        match r.kind {
            InterfaceType::Bond => {
                let mut mode = BondMode::BalanceRr;
                let mut options = BTreeMap::new();
                for key in doc.keys("bond") {
                    let value = get(doc, "bond", key).unwrap_or_default();
                    if key == "mode" {
                        match BondMode::parse(&value) {
                            Some(m) => mode = m,
                            None => warn(
                                &mut warnings,
                                format!("bond.mode={value} is not a mode; balance-rr, as NetworkManager falls back"),
                            ),
                        }
                    } else {
                        options.insert(key.to_string(), value);
                    }
                }
                iface.link_aggregation = Some(Bond { mode, options, port: Vec::new() });
            }
            InterfaceType::Vlan => {
                let id =
                    get(doc, "vlan", "id").map_or(Ok((0, crate::value::Radix::Decimal)), |v| parse_uint(&v, 0, 4094));
                let id = match id {
                    Ok((v, _)) => v as u16,
                    Err(_) => {
                        warn(&mut warnings, "vlan.id is not a VLAN id NetworkManager accepts; 0".into());
                        0
                    }
                };
                let parent = get(doc, "vlan", "parent").map(|p| resolve(&p)).unwrap_or_default();
                if parent.is_empty() {
                    warn(&mut warnings, "vlan.parent is missing".into());
                }
                iface.vlan = Some(Vlan { base_iface: parent, id });
                for key in doc.keys("vlan") {
                    let value = get(doc, "vlan", key).unwrap_or_default();
                    let expected =
                        matches!(key, "id" | "parent" | "interface-name") || (key == "flags" && value == "1");
                    if !expected {
                        warn(&mut warnings, format!("vlan.{key}={value} is not represented"));
                    }
                }
            }
            InterfaceType::LinuxBridge => {
                let mut bridge = Bridge::default();
                for key in doc.keys("bridge") {
                    let value = get(doc, "bridge", key).unwrap_or_default();
                    match (key, parse_bool(&value)) {
                        ("stp", Some(false)) => {
                            bridge.options = Some(BridgeOptions { stp: Some(Stp { enabled: Some(false) }) });
                        }
                        ("stp", Some(true)) => {}
                        (k, _) => warn(&mut warnings, format!("bridge.{k}={value} is not represented")),
                    }
                }
                iface.bridge = Some(bridge);
            }
            InterfaceType::Ethernet => {}
        }
        if let Some((controller, kind)) = &r.master {
            ports.push((resolve(controller), kind.clone(), r.name.clone()));
            for g in ["ipv4", "ipv6"] {
                if doc.has_group(g) {
                    warn(&mut warnings, format!("[{g}] on a port: NetworkManager removes it"));
                }
            }
        } else {
            for v6 in [false, true] {
                let (ip, mut rts, (srv, srch)) = read_ip(doc, v6, &r.name, &mut warnings, &r.id);
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
    for (controller, kind, port) in ports {
        let Some(c) = state.interfaces.iter_mut().find(|i| i.name == controller) else {
            warnings.push(format!("{port}: its controller {controller} is not among the profiles"));
            continue;
        };
        match (kind.as_str(), c.link_aggregation.as_mut(), c.bridge.as_mut()) {
            ("bond", Some(b), _) => b.port.push(port),
            ("bridge", _, Some(b)) => b.port.push(BridgePort { name: port }),
            _ => warnings.push(format!("{port}: slave-type {kind} does not match its controller {controller}")),
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

fn read_ip(doc: &Document, v6: bool, name: &str, warnings: &mut Vec<String>, id: &str) -> IpRead {
    let g = if v6 { "ipv6" } else { "ipv4" };
    let mut warn = |msg: String| warnings.push(format!("{id}: {msg}"));
    let method = if doc.has_group(g) { get(doc, g, "method") } else { None };
    let method = method.unwrap_or_else(|| {
        warn(format!("no {g}.method: NetworkManager uses auto (DHCP)"));
        "auto".into()
    });
    let mut ip = Ip::default();
    let mut routes = Vec::new();
    let mut dns = (Vec::new(), Vec::new());
    if v6 {
        match get(doc, g, "addr-gen-mode").as_deref() {
            Some("eui64" | "0") => {}
            Some("stable-privacy" | "1") => ip.addr_gen_mode = Some(AddrGenMode::StablePrivacy),
            other => {
                if method != "disabled" && method != "ignore" {
                    warn(format!(
                        "ipv6.addr-gen-mode {} is not nmstate's eui64 or stable-privacy; read as eui64",
                        other.unwrap_or("(default-or-eui64)")
                    ));
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
            warn(format!("{g}.method={m} is not represented; read as disabled"));
            ip.enabled = Some(false);
            return (ip, routes, dns);
        }
    }
    let read = read_addresses(doc, g);
    for (key, w) in &read.warnings {
        warn(format!("{g}.{key}: {w}"));
    }
    ip.address = read.addresses.iter().map(|(a, p)| Address { ip: *a, prefix_length: *p }).collect();
    let gateway = get(doc, g, "gateway").or(read.gateway);
    if let Some(gw) = gateway {
        match gw.parse::<IpAddr>() {
            Ok(nh) if nh.is_ipv6() == v6 => routes.push(Route {
                destination: default_destination(v6),
                next_hop_address: Some(nh),
                next_hop_interface: Some(name.to_string()),
                metric: None,
                table_id: None,
            }),
            _ => warn(format!("{g}.gateway {gw} is not an address NetworkManager reads; left out")),
        }
    }
    // Routes, each with its options.
    let mut keys: Vec<(i64, bool, &str)> =
        doc.keys(g).into_iter().filter_map(|k| list_key_index(k, "route").map(|(i, p)| (i, p, k))).collect();
    keys.sort();
    for (_, _, key) in keys {
        let Some((raw, _)) = doc.get_raw(g, key) else { continue };
        let Some(one) = one_key(g, key, raw) else { continue };
        let (rs, ws) = read_routes(&one, g);
        for (_, w) in ws.iter().filter(|_| !only_benign(&ws)) {
            warn(format!("{g}.{key}: {w}"));
        }
        let Some(r) = rs.first() else { continue };
        let Ok(destination) = IpNet::new(r.dest, r.plen) else { continue };
        let mut route = Route {
            destination,
            // libnm stores an unspecified next hop (`0.0.0.0`, `::`) as none.
            next_hop_address: r.next_hop.filter(|h| !h.is_unspecified()),
            next_hop_interface: Some(name.to_string()),
            metric: u32::try_from(r.metric).ok(),
            table_id: None,
        };
        if let Some((opts, _)) = doc.get_raw(g, &format!("{key}_options")) {
            let normal = normalise_options(opts).unwrap_or_else(|| opts.to_string());
            for item in normal.split(',').filter(|i| !i.is_empty()) {
                match item.split_once('=') {
                    Some(("table", t)) if t.parse::<u32>().is_ok() => route.table_id = t.parse().ok(),
                    _ => warn(format!("{g}.{key}_options: {item} is not represented")),
                }
            }
        }
        routes.push(route);
    }
    let (servers, dns_warnings) = read_dns(doc, g);
    for w in dns_warnings {
        warn(format!("{g}.dns: {w}"));
    }
    dns.0 = servers;
    dns.1 = doc.get_list(g, "dns-search").ok().flatten().unwrap_or_default();
    for (key, field) in [("ignore-auto-dns", 0), ("never-default", 1), ("ignore-auto-routes", 2)] {
        if get(doc, g, key).as_deref().and_then(parse_bool) == Some(true) {
            let slot = match field {
                0 => &mut ip.auto_dns,
                1 => &mut ip.auto_gateway,
                _ => &mut ip.auto_routes,
            };
            *slot = Some(false);
        }
    }
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
    for (_, key, value) in NMSTATE_DHCP.iter().filter(|(six, _, _)| *six == v6) {
        if let Some(v) = get(doc, g, key)
            && v != *value
        {
            warn(format!("{g}.{key}={v} is not represented (nmstate writes {value})"));
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
            warn(format!("{g}.{key} is not represented"));
        }
    }
    (ip, routes, dns)
}
