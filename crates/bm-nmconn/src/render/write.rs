//! Writing the planned profiles as NetworkManager 1.42 keyfiles.

use std::net::IpAddr;

use ipnet::IpNet;

use super::place::{place_dns, place_routes};
use super::validate::check_interfaces;
use super::{NMSTATE_DHCP, profile_uuid};
use crate::keyfile::{Document, Escape, escape, escape_list};
use crate::state::{AddrGenMode, DnsConfig, Interface, InterfaceType, Ip, Route, State, StateError};
use crate::value::parse_mac;
use crate::writer::{canonical, file_name, ntop};

/// One keyfile being built: groups with their `(key, raw value)` entries.
struct Keyfile {
    groups: Vec<(String, Vec<(String, String)>)>,
}

impl Keyfile {
    fn new() -> Keyfile {
        Keyfile { groups: Vec::new() }
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

fn write_ip(
    p: &mut Keyfile,
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
            ifaces.push(Interface::new(port.clone(), InterfaceType::Ethernet));
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
        let mut p = Keyfile::new();
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
