//! `[ipv4]` and `[ipv6]`: method, addresses, gateway, routes and their options, DNS.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Checker, Help};
use crate::diag::Code;
use crate::ip::{Route, parse_family, parse_inet4};
use crate::keyfile::{Escape, unescape};
use crate::value::list_key_index;

const V4_METHODS: &[&str] = &["auto", "link-local", "manual", "shared", "disabled"];
const V6_METHODS: &[&str] = &["ignore", "auto", "dhcp", "link-local", "manual", "shared", "disabled"];

/// Whether `m` is one of a family's methods (by constant compares: a search of the list would
/// call memcmp for each name of the same length).
fn is_method(m: &str, ipv6: bool) -> bool {
    matches!(m, "auto" | "link-local" | "manual" | "shared" | "disabled") || (ipv6 && matches!(m, "ignore" | "dhcp"))
}

pub(super) fn check(c: &mut Checker<'_>, ipv6: bool, port: bool) {
    let load = c.load;
    let (Some(read), Some(ip)) = (load.ip(ipv6), load.profile.ip(ipv6)) else { return };
    let group = if ipv6 { "ipv6" } else { "ipv4" };
    let entries = &read.entries;
    if port {
        if !entries.is_empty() {
            c.at_group(
                Code::PortIpRemoved,
                group,
                format!("a port has no IP configuration of its own: NetworkManager removes [{group}]"),
            )
            .help(format!("remove [{group}] from the port; configure IP on the controller's profile"));
        }
        return;
    }
    let methods = if ipv6 { V6_METHODS } else { V4_METHODS };
    let method = match ip.method.as_deref() {
        None => {
            c.at_group(Code::MethodMissing, group, format!("{group}.method: property is missing"))
                .help("add `method=auto`, `manual` or `disabled`");
            return;
        }
        Some(m) if !is_method(m, ipv6) => {
            let d = c.at_value(Code::MethodInvalid, group, "method", format!("{group}.method: property is invalid"));
            match m {
                "static" | "none" => d.help("write `method=manual`"),
                "dhcp" => d.help("write `method=auto`"),
                _ => d.help(format!("one of: {}", methods.join(", "))),
            }
            return;
        }
        Some(m) => m,
    };

    // Addresses.
    let mut netmask_keys = Vec::new();
    for e in entries.iter().filter(|_| read.found.address) {
        let key = e.key;
        if list_key_index(key, "address").is_none() {
            continue;
        }
        let raw = e.value;
        if let Some((addr, mask)) = netmask_form(raw) {
            netmask_keys.push(key);
            c.on_value(
                Code::NetmaskAsGateway,
                e,
                format!(
                    "`{raw}` is read as address {addr}/24 with gateway {mask}: NetworkManager takes no netmask here"
                ),
            )
            .help(format!("did you mean `{addr}/{}`?", prefix_of_mask(mask)));
        }
    }
    // One diagnostic per key: NetworkManager may warn twice about one value (`/33`: "invalid
    // number", then "defaulting to 24"), and whether the address survives is what matters.
    let mut warned_keys: Vec<&str> = Vec::new();
    for (key, _) in &read.address_warnings {
        if !warned_keys.contains(&key.as_str()) {
            warned_keys.push(key);
        }
    }
    for key in warned_keys {
        let msgs: Vec<&str> = read
            .address_warnings
            .iter()
            .filter(|(k, m)| k == key && !m.starts_with("deprecated semicolon"))
            .map(|(_, m)| m.as_str())
            .collect();
        // A trailing `;` is a note of NetworkManager's, not a change: the address is kept.
        if netmask_keys.contains(&key) || msgs.is_empty() {
            continue;
        }
        let Some(e) = entries.iter().find(|e| e.key == key) else { continue };
        let raw = unescape(e.value, Escape::String).unwrap_or(Cow::Borrowed(e.value));
        let defaulted = msgs.iter().any(|m| m.contains("defaulting") || m.contains("missing prefix length"));
        let code = if defaulted { Code::PrefixDefaulted } else { Code::AddressDropped };
        let what = if defaulted { "NetworkManager changes this address" } else { "NetworkManager drops this address" };
        let d = c.on_value(code, e, format!("{what}: {}", msgs.join("; ")));
        if let Some(fix) = address_fix(&raw) {
            d.help(format!("did you mean `{fix}`?"));
        }
    }
    let addresses = &ip.addresses;
    for (i, a) in addresses.iter().enumerate() {
        if addresses[..i].contains(a) {
            c.at_group(Code::DuplicateAddress, group, format!("address {}/{} is listed twice", a.0, a.1));
        }
        if i == 1 && method == "shared" {
            c.at_group(
                Code::SharedExtraAddresses,
                group,
                "method=shared uses only the first address: NetworkManager drops the others",
            );
        }
    }
    let forbid_addresses = matches!(method, "link-local" | "disabled") || (ipv6 && method == "ignore");
    if !addresses.is_empty() && forbid_addresses {
        c.at_group(
            Code::NotAllowedForMethod,
            group,
            format!("{group}.addresses: this property is not allowed for 'method={method}'"),
        )
        .help("use `method=manual`, or remove the addresses");
    }

    // Routes.
    let routes = &ip.routes;
    let mut route_keys_warned: Vec<&str> = Vec::new();
    for (key, msg) in read.routes.warnings.iter().filter(|(_, m)| !m.starts_with("deprecated semicolon")) {
        if route_keys_warned.contains(&key.as_str()) {
            continue;
        }
        route_keys_warned.push(key);
        c.at_value(Code::RouteDropped, group, key, format!("NetworkManager drops this route: {msg}"));
    }
    for r in routes {
        if let Ok(net) = IpNet::new(r.dest, r.plen)
            && net.network() != r.dest
        {
            c.at_group(
                Code::RouteHostBits,
                group,
                format!("route {}/{} has host bits set (NetworkManager keeps them)", r.dest, r.plen),
            )
            .help(format!("write `{}`", net.trunc()));
        }
    }
    let mut onlink = false;
    for (e, options) in &read.routes.options {
        match options {
            Err(why) => {
                c.on_value(
                    Code::RouteOptionsDropped,
                    e,
                    format!("{why}: NetworkManager drops every option of this route, without a warning"),
                );
            }
            Ok(opts) => {
                for unknown in &opts.unknown {
                    let message = format!(
                        "NetworkManager {} knows no route option `{unknown}` and ignores it",
                        c.options.nm_version
                    );
                    c.on_value(Code::RouteOptionUnknown, e, message);
                }
                onlink |= opts.onlink;
            }
        }
    }

    // Gateway.
    let gateway_key = if read.gateway_key { ip.gateway.as_deref() } else { None };
    if let Some(g) = gateway_key {
        let parsed = parse_family(g, ipv6);
        if parsed.is_none() {
            let d = c.at_value(Code::GatewayInvalid, group, "gateway", format!("{group}.gateway: gateway is invalid"));
            if parse_family(g.trim(), ipv6).is_some() {
                d.help(format!("remove the whitespace: `gateway={}`", g.trim()));
            }
        } else if addresses.is_empty() {
            c.at_value(
                Code::GatewayWithoutAddresses,
                group,
                "gateway",
                format!("{group}.gateway: gateway cannot be set if there are no addresses configured"),
            );
        }
        if let Some(from_addr) = &read.address_gateway
            && from_addr != g
        {
            c.at_value(
                Code::GatewayKeyOverrides,
                group,
                "gateway",
                format!("`gateway={g}` wins over the gateway {from_addr} written in an address key"),
            );
        }
    }
    let gateway = match gateway_key {
        Some(g) => parse_family(g, ipv6),
        None => ip.gateway.as_deref().and_then(|g| parse_family(g, ipv6)),
    };
    if let Some(gw) = gateway {
        if ip.never_default {
            c.at_value(
                Code::GatewayNeverDefault,
                group,
                "never-default",
                format!("never-default=true: NetworkManager removes the gateway {gw}"),
            )
            .help("remove the gateway, or `never-default`");
        } else if !addresses.is_empty() && netmask_keys.is_empty() && !reachable(gw, addresses, routes) && !onlink {
            c.at_group(
                Code::GatewayUnreachable,
                group,
                format!(
                    "gateway {gw} is inside no address's subnet and no direct route: NetworkManager 1.42 adds an \
                     on-link route for it, later versions warn"
                ),
            );
        }
    }
    // 1.58 accepts a manual method with routes only.
    let routes_suffice = c.version_at_least(1, 58) && !routes.is_empty();
    if method == "manual" && addresses.is_empty() && !routes_suffice {
        c.at_group(
            Code::ManualWithoutAddresses,
            group,
            format!("{group}.addresses: this property cannot be empty for 'method=manual'"),
        );
    }

    // DNS.
    if !read.dns_warnings.is_empty() {
        let raw = entries
            .iter()
            .find(|e| e.key == "dns")
            .and_then(|e| unescape(e.value, Escape::String).ok())
            .unwrap_or_default();
        let d = c.at_value(
            Code::DnsDropped,
            group,
            "dns",
            format!("NetworkManager drops DNS servers here: {}", read.dns_warnings.join("; ")),
        );
        if raw.contains(',') || raw.contains(' ') {
            let fixed: Vec<&str> = raw.split([',', ' ', ';']).filter(|s| !s.is_empty()).collect();
            d.help(format!("separate servers with `;`: `dns={};`", fixed.join(";")));
        }
    }
    let search = &ip.dns_search;
    if !c.version_at_least(1, 56) && search.iter().any(|s| s.contains([',', ' '])) {
        let fixed: Vec<&str> = search.iter().flat_map(|s| s.split([',', ' '])).filter(|s| !s.is_empty()).collect();
        c.at_value(
            Code::DnsSearchSeparator,
            group,
            "dns-search",
            format!(
                "NetworkManager {} keeps an element with `,` or a space as one (invalid) domain",
                c.options.nm_version
            ),
        )
        .help(format!("separate domains with `;`: `dns-search={};`", fixed.join(";")));
    }
    let forbid_dns =
        matches!(method, "link-local" | "disabled") || if ipv6 { method == "ignore" } else { method == "shared" };
    if forbid_dns {
        if !ip.dns.is_empty() {
            c.at_value(
                Code::NotAllowedForMethod,
                group,
                "dns",
                format!("{group}.dns: this property is not allowed for 'method={method}'"),
            );
        }
        if !search.is_empty() {
            c.at_value(
                Code::NotAllowedForMethod,
                group,
                "dns-search",
                format!("{group}.dns-search: this property is not allowed for 'method={method}'"),
            );
        }
    }

    if ip.dhcp_client_id.as_deref() == Some("") {
        c.at_value(Code::ValueInvalid, group, "dhcp-client-id", format!("{group}.dhcp-client-id: property is empty"));
    }
    if let Some(iaid) = ip.dhcp_iaid.as_deref()
        && !(matches!(iaid, "mac" | "perm-mac" | "ifname" | "stable") || iaid_number(iaid))
    {
        c.at_value(Code::ValueInvalid, group, "dhcp-iaid", format!("{group}.dhcp-iaid: '{iaid}' is not a valid IAID"))
            .help("`mac`, `perm-mac`, `ifname`, `stable` or a 32-bit number");
    }
    if ipv6 && let Some(token) = ip.token.as_deref().filter(|t| !t.is_empty()) {
        let valid = token.parse::<std::net::Ipv6Addr>().is_ok_and(|t| u128::from(t) >> 64 == 0);
        if !valid {
            c.at_value(Code::ValueInvalid, group, "token", "ipv6.token: value is not a valid token")
                .help("an interface identifier such as `::5` (the low 64 bits of an address)");
        } else if ip.addr_gen_mode != Some(0) {
            c.at_value(
                Code::ValueInvalid,
                group,
                "token",
                "ipv6.token: only makes sense with EUI64 address generation mode",
            )
            .help("add `addr-gen-mode=eui64`, or remove the token");
        }
    }
    if let Some(mode) = &read.addr_gen_mode_invalid {
        c.at_value(
            Code::AddrGenModeInvalid,
            group,
            "addr-gen-mode",
            format!("invalid option '{mode}': NetworkManager uses default-or-eui64"),
        )
        .help("one of: eui64, stable-privacy, default, default-or-eui64");
    }
}

/// A DHCP IAID number: decimal, or hexadecimal with `0x`, within 32 bits.
fn iaid_number(s: &str) -> bool {
    match s.strip_prefix("0x") {
        Some(h) => !h.is_empty() && u32::from_str_radix(h, 16).is_ok(),
        None => s.parse::<u32>().is_ok(),
    }
}

/// `ADDR/NETMASK`: an IPv4 address, then a dotted netmask in the prefix's place.
fn netmask_form(raw: &str) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
    let (a, m) = raw.split_once('/')?;
    let addr = parse_inet4(a)?;
    let mask = parse_inet4(m)?;
    let bits = u32::from(mask);
    (bits.leading_ones() + bits.trailing_zeros() == 32).then_some((addr, mask))
}

fn prefix_of_mask(mask: std::net::Ipv4Addr) -> u32 {
    u32::from(mask).leading_ones()
}

/// A likely fix for a dropped address: a backslash or space where the `/` goes, whitespace
/// around it.
fn address_fix(raw: &str) -> Option<String> {
    let t = raw.trim();
    for sep in ['\\', ' ', '|', ':'] {
        if let Some((a, p)) = t.rsplit_once(sep) {
            let a = a.trim();
            let p = p.trim();
            if a.parse::<IpAddr>().is_ok() && p.parse::<u8>().is_ok() {
                return Some(format!("{a}/{p}"));
            }
        }
    }
    if t != raw && !t.is_empty() {
        return Some(t.to_string());
    }
    None
}

/// Reachable as NetworkManager 1.58 defines it: inside an address's prefix, or a direct
/// route's, or an IPv6 link-local address.
fn reachable(gw: IpAddr, addresses: &[(IpAddr, u8)], routes: &[Route]) -> bool {
    if let IpAddr::V6(v6) = gw
        && v6.segments()[0] & 0xffc0 == 0xfe80
    {
        return true;
    }
    let within = |net: IpAddr, plen: u8| IpNet::new(net, plen).is_ok_and(|n| n.contains(&gw));
    addresses.iter().any(|&(a, p)| within(a, p))
        || routes.iter().any(|r| r.next_hop.is_none() && within(r.dest, r.plen))
}
