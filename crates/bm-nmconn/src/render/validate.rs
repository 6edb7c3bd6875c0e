//! The state checked before anything is written, and the plan: which interfaces are up and
//! get a profile, and which are ports of which controller.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::schema::{BOND_OPTIONS, BondValue, bond_option_unsupported_in};
use crate::state::{Bond, Interface, InterfaceState, InterfaceType, Ip, State, StateError};
use crate::value::parse_mac;

/// Why a kernel would refuse an interface name (`nm_utils_ifname_valid_kernel`), if it would.
pub(super) fn ifname_problem(name: &str) -> Option<&'static str> {
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

/// The interfaces that are up, with their index in `state.interfaces`.
pub(super) struct Plan<'a> {
    pub(super) state: &'a State,
    /// Up interfaces: (index in state.interfaces, interface).
    pub(super) up: Vec<(usize, &'a Interface)>,
    /// Port name → (controller name, NetworkManager slave-type).
    pub(super) ports: BTreeMap<String, (String, &'static str)>,
}

impl<'a> Plan<'a> {
    pub(super) fn find(&self, name: &str) -> Option<(usize, &'a Interface)> {
        self.up.iter().find(|(_, i)| i.name == name).map(|(n, i)| (*n, *i))
    }

    pub(super) fn is_port(&self, name: &str) -> bool {
        self.ports.contains_key(name)
    }

    /// Whether an interface carries static addresses or dynamic configuration in a family.
    pub(super) fn family<'i>(&self, iface: &'i Interface, v6: bool) -> Option<&'i Ip> {
        if self.is_port(&iface.name) {
            return None;
        }
        let ip = if v6 { iface.ipv6.as_ref() } else { iface.ipv4.as_ref() }?;
        ip.is_enabled().then_some(ip)
    }

    pub(super) fn can_carry(&self, iface: &Interface, v6: bool) -> bool {
        self.family(iface, v6)
            .is_some_and(|ip| !ip.address.is_empty() || ip.dhcp == Some(true) || (v6 && ip.autoconf == Some(true)))
    }

    /// The interface with a static address whose subnet holds `ip`.
    pub(super) fn subnet_holder(&self, ip: IpAddr) -> Vec<&'a Interface> {
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

/// Checks the interfaces and plans their profiles.
pub(super) fn check_interfaces(state: &State) -> Result<Plan<'_>, StateError> {
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
