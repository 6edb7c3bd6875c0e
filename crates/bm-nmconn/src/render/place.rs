//! Where routes and name servers go: each route on the interface that carries it, each
//! family's name servers on one interface, as nmstate places them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::validate::Plan;
use crate::state::{Route, StateError};

/// Routes placed on interfaces: interface name → (route, index in routes.config).
pub(super) fn place_routes<'a>(plan: &Plan<'a>) -> Result<BTreeMap<String, Vec<&'a Route>>, StateError> {
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
pub(super) struct DnsPlacement<'a> {
    /// The interface for the IPv4 name servers.
    pub(super) v4: Option<&'a str>,
    /// The interface for the IPv6 name servers.
    pub(super) v6: Option<&'a str>,
    /// The interface for the search domains, and whether in its `[ipv6]`.
    pub(super) search: Option<(&'a str, bool)>,
}

/// The interface for each family's name servers, and for the search domains.
pub(super) fn place_dns<'a>(plan: &Plan<'a>) -> Result<DnsPlacement<'a>, StateError> {
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
