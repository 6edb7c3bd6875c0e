//! `[ipv4]` and `[ipv6]`: method, addresses, gateway, routes and their options, DNS.

use std::borrow::Cow;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Checker, Help};
use crate::diag::Code;
use crate::ip::{Route, group_entries, read_addresses_in, read_dns_in, read_routes_in};
use crate::keyfile::{EntryRef, Escape, split_list, unescape};
use crate::value::{list_key_index, parse_bool};

const V4_METHODS: &[&str] = &["auto", "link-local", "manual", "shared", "disabled"];
const V6_METHODS: &[&str] = &["ignore", "auto", "dhcp", "link-local", "manual", "shared", "disabled"];

pub(super) fn check(c: &mut Checker<'_>, group: &str, port: bool) {
    if !c.doc.has_group(group) {
        return;
    }
    let ipv6 = group == "ipv6";
    // The group's entries once; every lookup below is in this short list.
    let entries = group_entries(c.doc, group);
    let get = |key: &str| -> Option<Cow<'_, str>> {
        let e = entries.iter().find(|e| e.key == key)?;
        unescape(e.value, Escape::String).ok()
    };
    if port {
        let has_content = !entries.is_empty();
        if has_content {
            c.at_group(
                Code::PortIpRemoved,
                group,
                format!("a port has no IP configuration of its own: NetworkManager removes [{group}]"),
            )
            .help(format!("remove [{group}] from the port; configure IP on the controller's profile"));
        }
        return;
    }
    let method = get("method");
    let method = match method.as_deref() {
        None => {
            c.at_group(Code::MethodMissing, group, format!("{group}.method: property is missing"))
                .help("add `method=auto`, `manual` or `disabled`");
            return;
        }
        Some(m) if !(if ipv6 { V6_METHODS } else { V4_METHODS }).contains(&m) => {
            let d = c.at_value(Code::MethodInvalid, group, "method", format!("{group}.method: property is invalid"));
            match m {
                "static" | "none" => d.help("write `method=manual`"),
                "dhcp" => d.help("write `method=auto`"),
                _ => d.help(format!("one of: {}", (if ipv6 { V6_METHODS } else { V4_METHODS }).join(", "))),
            }
            return;
        }
        Some(m) => m.to_string(),
    };

    // Addresses.
    let read = read_addresses_in(&entries, ipv6);
    let mut netmask_keys = Vec::new();
    for e in &entries {
        let key = e.key;
        if list_key_index(key, "address").is_none() {
            continue;
        }
        let raw = e.value;
        if let Some((addr, mask)) = netmask_form(raw) {
            netmask_keys.push(key.to_string());
            c.at_value(
                Code::NetmaskAsGateway,
                group,
                key,
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
    for (key, _) in &read.warnings {
        if !warned_keys.contains(&key.as_str()) {
            warned_keys.push(key);
        }
    }
    for key in warned_keys {
        let msgs: Vec<&str> = read
            .warnings
            .iter()
            .filter(|(k, m)| k == key && !m.starts_with("deprecated semicolon"))
            .map(|(_, m)| m.as_str())
            .collect();
        // A trailing `;` is a note of NetworkManager's, not a change: the address is kept.
        if netmask_keys.iter().any(|k| k == key) || msgs.is_empty() {
            continue;
        }
        let raw = get(key).map(Cow::into_owned).unwrap_or_else(|| raw_of(&entries, key).to_string());
        let defaulted = msgs.iter().any(|m| m.contains("defaulting") || m.contains("missing prefix length"));
        let code = if defaulted { Code::PrefixDefaulted } else { Code::AddressDropped };
        let what = if defaulted { "NetworkManager changes this address" } else { "NetworkManager drops this address" };
        let d = c.at_value(code, group, key, format!("{what}: {}", msgs.join("; ")));
        if let Some(fix) = address_fix(&raw) {
            d.help(format!("did you mean `{fix}`?"));
        }
    }
    let mut seen = Vec::new();
    for (i, a) in read.addresses.iter().enumerate() {
        if seen.contains(a) {
            c.at_group(Code::DuplicateAddress, group, format!("address {}/{} is listed twice", a.0, a.1));
        }
        seen.push(*a);
        if i == 1 && method == "shared" {
            c.at_group(
                Code::SharedExtraAddresses,
                group,
                "method=shared uses only the first address: NetworkManager drops the others",
            );
        }
    }
    let forbid_addresses: &[&str] =
        if ipv6 { &["ignore", "link-local", "disabled"] } else { &["link-local", "disabled"] };
    if !read.addresses.is_empty() && forbid_addresses.contains(&method.as_str()) {
        c.at_group(
            Code::NotAllowedForMethod,
            group,
            format!("{group}.addresses: this property is not allowed for 'method={method}'"),
        )
        .help("use `method=manual`, or remove the addresses");
    }

    // Routes.
    let (routes, route_warnings) = read_routes_in(&entries, ipv6);
    let mut route_keys_warned: Vec<&str> = Vec::new();
    for (key, msg) in route_warnings.iter().filter(|(_, m)| !m.starts_with("deprecated semicolon")) {
        if route_keys_warned.contains(&key.as_str()) {
            continue;
        }
        route_keys_warned.push(key);
        c.at_value(Code::RouteDropped, group, key, format!("NetworkManager drops this route: {msg}"));
    }
    for r in &routes {
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
    let mut onlink_hops = Vec::new();
    for e in &entries {
        let key = e.key;
        let Some(base) = key.strip_suffix("_options") else { continue };
        if list_key_index(base, "route").is_none() {
            continue;
        }
        let Some(raw) = get(key) else { continue };
        match route_options(&raw, ipv6) {
            Err(why) => {
                c.at_value(
                    Code::RouteOptionsDropped,
                    group,
                    key,
                    format!("{why}: NetworkManager drops every option of this route, without a warning"),
                );
            }
            Ok(opts) => {
                for unknown in opts.unknown {
                    c.at_value(
                        Code::RouteOptionUnknown,
                        group,
                        key,
                        format!(
                            "NetworkManager {} knows no route option `{unknown}` and ignores it",
                            c.options.nm_version
                        ),
                    );
                }
                if opts.onlink {
                    onlink_hops.push(base.to_string());
                }
            }
        }
    }

    // Gateway.
    let gateway_key = get("gateway");
    if let Some(g) = &gateway_key {
        let parsed = parse_family(g, ipv6);
        if parsed.is_none() {
            let d = c.at_value(Code::GatewayInvalid, group, "gateway", format!("{group}.gateway: gateway is invalid"));
            if parse_family(g.trim(), ipv6).is_some() {
                d.help(format!("remove the whitespace: `gateway={}`", g.trim()));
            }
        } else if read.addresses.is_empty() {
            c.at_value(
                Code::GatewayWithoutAddresses,
                group,
                "gateway",
                format!("{group}.gateway: gateway cannot be set if there are no addresses configured"),
            );
        }
        if let Some(from_addr) = &read.gateway
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
    let gateway = gateway_key
        .as_deref()
        .and_then(|g| parse_family(g, ipv6))
        .or_else(|| read.gateway.as_deref().and_then(|g| parse_family(g, ipv6)).filter(|_| gateway_key.is_none()));
    let never_default = get("never-default").and_then(|v| parse_bool(&v)).unwrap_or(false);
    if let Some(gw) = gateway {
        if never_default {
            c.at_value(
                Code::GatewayNeverDefault,
                group,
                "never-default",
                format!("never-default=true: NetworkManager removes the gateway {gw}"),
            )
            .help("remove the gateway, or `never-default`");
        } else if !read.addresses.is_empty()
            && netmask_keys.is_empty()
            && !reachable(gw, &read.addresses, &routes)
            && onlink_hops.is_empty()
        {
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
    if method == "manual" && read.addresses.is_empty() && !routes_suffice {
        c.at_group(
            Code::ManualWithoutAddresses,
            group,
            format!("{group}.addresses: this property cannot be empty for 'method=manual'"),
        );
    }

    // DNS.
    let (servers, dns_warnings) = read_dns_in(&entries, ipv6);
    if !dns_warnings.is_empty() {
        let raw = get("dns").unwrap_or_default();
        let d = c.at_value(
            Code::DnsDropped,
            group,
            "dns",
            format!("NetworkManager drops DNS servers here: {}", dns_warnings.join("; ")),
        );
        if raw.contains(',') || raw.contains(' ') {
            let fixed: Vec<&str> = raw.split([',', ' ', ';']).filter(|s| !s.is_empty()).collect();
            d.help(format!("separate servers with `;`: `dns={};`", fixed.join(";")));
        }
    }
    let search =
        entries.iter().find(|e| e.key == "dns-search").and_then(|e| split_list(e.value).ok()).unwrap_or_default();
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
    let forbid_dns: &[&str] =
        if ipv6 { &["ignore", "link-local", "disabled"] } else { &["link-local", "shared", "disabled"] };
    if forbid_dns.contains(&method.as_str()) {
        if !servers.is_empty() {
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

    if let Some(cid) = get("dhcp-client-id")
        && cid.is_empty()
    {
        c.at_value(Code::ValueInvalid, group, "dhcp-client-id", format!("{group}.dhcp-client-id: property is empty"));
    }
    if let Some(iaid) = get("dhcp-iaid")
        && !(matches!(&*iaid, "mac" | "perm-mac" | "ifname" | "stable") || iaid_number(&iaid))
    {
        c.at_value(Code::ValueInvalid, group, "dhcp-iaid", format!("{group}.dhcp-iaid: '{iaid}' is not a valid IAID"))
            .help("`mac`, `perm-mac`, `ifname`, `stable` or a 32-bit number");
    }
    if ipv6 && let Some(token) = get("token").filter(|t| !t.is_empty()) {
        let valid = token.parse::<std::net::Ipv6Addr>().is_ok_and(|t| u128::from(t) >> 64 == 0);
        let mode = get("addr-gen-mode");
        let eui64 = matches!(mode.as_deref().map(str::trim), None | Some("eui64" | "0"));
        if !valid {
            c.at_value(Code::ValueInvalid, group, "token", "ipv6.token: value is not a valid token")
                .help("an interface identifier such as `::5` (the low 64 bits of an address)");
        } else if !eui64 {
            c.at_value(
                Code::ValueInvalid,
                group,
                "token",
                "ipv6.token: only makes sense with EUI64 address generation mode",
            )
            .help("add `addr-gen-mode=eui64`, or remove the token");
        }
    }
    if ipv6 && let Some(mode) = get("addr-gen-mode") {
        let ok = matches!(&*mode, "eui64" | "stable-privacy" | "default-or-eui64" | "default")
            || matches!(mode.trim(), "0" | "1" | "2" | "3");
        if !ok {
            c.at_value(
                Code::AddrGenModeInvalid,
                group,
                "addr-gen-mode",
                format!("invalid option '{mode}': NetworkManager uses default-or-eui64"),
            )
            .help("one of: eui64, stable-privacy, default, default-or-eui64");
        }
    }
}

/// A DHCP IAID number: decimal, or hexadecimal with `0x`, within 32 bits.
fn iaid_number(s: &str) -> bool {
    match s.strip_prefix("0x") {
        Some(h) => !h.is_empty() && u32::from_str_radix(h, 16).is_ok(),
        None => s.parse::<u32>().is_ok(),
    }
}

/// A key's raw value in a group's entries ("" when missing).
fn raw_of<'d>(entries: &[EntryRef<'d>], key: &str) -> &'d str {
    entries.iter().find(|e| e.key == key).map_or("", |e| e.value)
}

fn parse_family(s: &str, ipv6: bool) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    (ip.is_ipv6() == ipv6).then_some(ip)
}

/// `ADDR/NETMASK`: an IPv4 address, then a dotted netmask in the prefix's place.
fn netmask_form(raw: &str) -> Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)> {
    let (a, m) = raw.split_once('/')?;
    let addr: std::net::Ipv4Addr = a.parse().ok()?;
    let mask: std::net::Ipv4Addr = m.parse().ok()?;
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

/// The parsed `routeN_options`.
struct RouteOptions {
    unknown: Vec<String>,
    onlink: bool,
}

/// `nm_utils_parse_variant_attributes(s, ',', '=', ignore_unknown=TRUE, route attributes)`:
/// one value that does not parse fails the whole string.
fn route_options(raw: &str, ipv6: bool) -> Result<RouteOptions, String> {
    const UINTS: &[&str] = &["advmss", "cwnd", "initcwnd", "initrwnd", "mtu", "rto_min", "table", "window", "weight"];
    const BOOLS: &[&str] = &[
        "lock-advmss",
        "lock-cwnd",
        "lock-initcwnd",
        "lock-initrwnd",
        "lock-mtu",
        "lock-window",
        "onlink",
        "quickack",
    ];
    const BYTES: &[&str] = &["tos", "scope"];
    const TYPES: &[&str] = &["unicast", "local", "blackhole", "unreachable", "prohibit", "throw"];
    let mut out = RouteOptions { unknown: Vec::new(), onlink: false };
    for part in raw.split(',').filter(|p| !p.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            return Err(format!("`{part}` has no `=`"));
        };
        let bad = || format!("invalid value `{value}` for route option `{name}`");
        if UINTS.contains(&name) {
            value.parse::<u32>().map_err(|_| bad())?;
        } else if BOOLS.contains(&name) {
            let b = match value.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => true,
                "false" | "no" | "off" | "0" => false,
                _ => return Err(bad()),
            };
            if name == "onlink" {
                out.onlink = b;
            }
        } else if BYTES.contains(&name) {
            let v =
                value.strip_prefix("0x").map_or_else(|| value.parse::<u8>().ok(), |h| u8::from_str_radix(h, 16).ok());
            v.ok_or_else(bad)?;
        } else if name == "src" {
            parse_family(value, ipv6).ok_or_else(bad)?;
        } else if name == "from" {
            if !ipv6 {
                return Err("`from` is an IPv6 route option".to_string());
            }
            let (a, p) = value.split_once('/').unwrap_or((value, "128"));
            parse_family(a, true).ok_or_else(bad)?;
            p.parse::<u8>().ok().filter(|&p| p <= 128).ok_or_else(bad)?;
        } else if name == "type" {
            if !TYPES.contains(&value) {
                return Err(bad());
            }
        } else {
            out.unknown.push(name.to_string());
        }
    }
    Ok(out)
}
