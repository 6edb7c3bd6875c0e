//! `ipv4.addresses` / `ipv6.addresses` as NetworkManager 1.42 reads them from `addressN` and
//! `addressesN` keys: fields split on `/`, `;` or `,` interchangeably, the address limited to
//! hex digits, `:`, `.` and `%`, the prefix length optional (with a warning and a default), the
//! deprecated `address/gateway` form, the first gateway found becoming `ipvX.gateway`, keys
//! ordered by index. Whatever NetworkManager drops is dropped here too, with its warning.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::keyfile::{Document, EntryRef};
use crate::value::list_key_index;

/// What NetworkManager loads from a group's address keys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressesRead {
    /// The addresses kept, in NetworkManager's order.
    pub addresses: Vec<(IpAddr, u8)>,
    /// The gateway taken from the first address that carried one (the `gateway` key, read
    /// elsewhere, overrides it), as NetworkManager keeps it: see [`gateway_as_loaded`].
    pub gateway: Option<String>,
    /// Every warning, with its key: for a dropped address, why.
    pub warnings: Vec<(String, String)>,
}

/// NetworkManager's `IP_ADDRESS_CHARS` ("0123456789abcdefABCDEF:.%"), by byte.
const ADDRESS_CHARS: [bool; 256] = {
    let mut set = [false; 256];
    let chars = b"0123456789abcdefABCDEF:.%";
    let mut i = 0;
    while i < chars.len() {
        set[chars[i] as usize] = true;
        i += 1;
    }
    set
};

fn address_char(b: u8) -> bool {
    ADDRESS_CHARS[usize::from(b)]
}

/// `DIGITS`.
fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// One field, as NetworkManager's `read_field` cuts it.
enum Field<'a> {
    /// A field; the rest of the input follows (`None`: the input ended).
    Ok(&'a str, Option<&'a str>),
    /// No field: the input was already consumed, or is empty.
    Missing(Option<&'a str>),
    /// A character outside the set that is not a delimiter; the input is left as it was.
    Bad(char, Option<&'a str>),
}

fn read_field<'a>(current: Option<&'a str>, in_set: impl Fn(u8) -> bool) -> Field<'a> {
    let Some(s) = current else { return Field::Missing(None) };
    if s.is_empty() {
        return Field::Missing(current);
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && in_set(b[i]) {
        i += 1;
    }
    match b.get(i) {
        None => Field::Ok(s, None),
        // NetworkManager's `DELIMITERS` ("/;,"): one byte each, so `i + 1` starts the rest.
        Some(b'/' | b';' | b',') => Field::Ok(&s[..i], Some(&s[i + 1..])),
        Some(_) => Field::Bad(s[i..].chars().next().unwrap_or_default(), current),
    }
}

/// Reads the addresses of `group` (`ipv4` or `ipv6`) as NetworkManager does.
///
/// ```
/// use bm_nmconn::{Document, ip::read_addresses};
/// let doc = Document::parse("[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\naddress2=10.10.99.99\\24\n").unwrap();
/// let read = read_addresses(&doc, "ipv4");
/// assert_eq!(read.addresses, [("10.0.0.5".parse().unwrap(), 24)]); // address2 is dropped
/// assert_eq!(read.gateway.as_deref(), Some("10.0.0.1"));
/// assert!(read.warnings[0].1.starts_with("unexpected character '\\'"));
/// ```
pub fn read_addresses(doc: &Document, group: &str) -> AddressesRead {
    read_addresses_in(&group_entries(doc, group), group == "ipv6")
}

/// The entries of one group NetworkManager reads.
pub(crate) fn group_entries<'d>(doc: &'d Document, group: &str) -> Vec<EntryRef<'d>> {
    doc.entries_of(group).collect()
}

/// [`read_addresses`] on a group's entries.
pub(crate) fn read_addresses_in(entries: &[EntryRef<'_>], ipv6: bool) -> AddressesRead {
    // `address` keys sort before `addresses` keys of the same index.
    let mut out = AddressesRead::default();
    for_each_indexed(entries, "address", |key, raw| {
        let value = unescaped(raw);
        let mut warn = |msg: String| out.warnings.push((key.to_string(), msg));
        let Some(Entry { addr, plen, gateway, .. }) = read_one(&value, key, ipv6, false, &mut warn) else { return };
        out.addresses.push((addr, plen));
        if out.gateway.is_none() {
            out.gateway = gateway.map(|g| {
                let mut g = g.to_string();
                load_gateway(&mut g, ipv6);
                g
            });
        }
    });
    out
}

/// Calls `f` with each `{prefix}N` / `{prefix}esN` key of a group and its raw value, in
/// NetworkManager's order (by index, the singular before the plural). A group has a handful:
/// up to eight are sorted on the stack, more in a vector.
fn for_each_indexed<'d>(entries: &[EntryRef<'d>], prefix: &str, mut f: impl FnMut(&'d str, &'d str)) {
    const FEW: usize = 8;
    let mut few = [(0i64, 0u8, 0usize); FEW];
    let mut n = 0;
    let mut many: Vec<(i64, u8, usize)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let Some((idx, plural)) = list_key_index(e.key, prefix) else { continue };
        let k = (idx, u8::from(plural), i);
        if n < FEW {
            few[n] = k;
        } else {
            if n == FEW {
                many.extend_from_slice(&few);
            }
            many.push(k);
        }
        n += 1;
    }
    // (index, plural) is unique to a key: the order is total.
    let keys = if n <= FEW { &mut few[..n] } else { &mut many[..] };
    keys.sort_unstable();
    for &(_, _, i) in keys.iter() {
        f(entries[i].key, entries[i].value);
    }
}

/// A value unescaped as GLib does; GLib 2.74 hands NetworkManager the raw text when an escape
/// is invalid.
fn unescaped(raw: &str) -> std::borrow::Cow<'_, str> {
    crate::keyfile::unescape(raw, crate::keyfile::Escape::String).unwrap_or(std::borrow::Cow::Borrowed(raw))
}

/// One `addressN` / `routeN` value, its fields cut and checked.
struct Entry<'v> {
    addr: IpAddr,
    plen: u8,
    /// An address's gateway, or a route's next hop, as written.
    gateway: Option<&'v str>,
    /// A route's metric, as written.
    metric: Option<&'v str>,
}

/// One `addressN` or `routeN` value, as NetworkManager's `read_one_ip_address_or_route` cuts it.
fn read_one<'v>(value: &'v str, key: &str, ipv6: bool, route: bool, warn: &mut dyn FnMut(String)) -> Option<Entry<'v>> {
    let (address, rest) = match read_field(Some(value), address_char) {
        Field::Ok(a, rest) => (Some(a), rest),
        Field::Missing(rest) => (None, rest),
        Field::Bad(c, _) => {
            let at = value.bytes().position(|b| !address_char(b)).unwrap_or(0);
            warn(format!("unexpected character '{c}' for address {key}: '{value}' (position {at})"));
            return None;
        }
    };
    // The prefix length is skippable: a field that is not digits is read again as the gateway
    // (the deprecated `address/gateway` form).
    let (plen, rest) = match read_field(rest, digit) {
        Field::Ok(p, rest) => (Some(p), rest),
        Field::Missing(rest) | Field::Bad(_, rest) => (None, rest),
    };
    let (gateway, rest) = match read_field(rest, address_char) {
        Field::Ok(g, rest) => (Some(g), rest),
        Field::Missing(rest) => (None, rest),
        Field::Bad(c, _) => {
            warn(format!("unexpected character '{c}' for {key}: '{value}'"));
            return None;
        }
    };
    let (metric, rest) = if route {
        match read_field(rest, digit) {
            Field::Ok(m, rest) => (Some(m), rest),
            Field::Missing(rest) => (None, rest),
            Field::Bad(c, _) => {
                warn(format!("unexpected character '{c}' in prefix length for {key}: '{value}'"));
                return None;
            }
        }
    } else {
        (None, rest)
    };
    match rest {
        Some(r) if !r.is_empty() => {
            warn(format!("garbage at the end of value {key}: '{value}'"));
            return None;
        }
        Some(_) => warn(format!("deprecated semicolon at the end of value {key}: '{value}'")),
        None => {}
    }
    let max = if ipv6 { 128 } else { 32 };
    let default = match (route, ipv6) {
        (true, true) => 128,
        (false, true) => 64,
        (_, false) => 24,
    };
    let plen = match plen {
        Some(p) => match p.parse::<u32>().ok().filter(|&n| n <= max) {
            Some(n) => n as u8,
            None => {
                warn(if p.is_empty() {
                    "ignoring missing number".into()
                } else {
                    format!("ignoring invalid number '{p}'")
                });
                warn(format!("invalid prefix length for {key} '{value}', defaulting to {default}"));
                default
            }
        },
        None => {
            warn(format!("missing prefix length for {key} '{value}', defaulting to {default}"));
            default
        }
    };
    let Some(address) = address else {
        warn(format!("ignoring invalid {} address: missing", if ipv6 { "IPv6" } else { "IPv4" }));
        return None;
    };
    let parsed = if ipv6 {
        address.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_inet4(address).map(IpAddr::V4)
    };
    let Some(addr) = parsed else {
        warn(format!("ignoring invalid {} address: {address}", if ipv6 { "IPv6" } else { "IPv4" }));
        return None;
    };
    Some(Entry { addr, plen, gateway, metric })
}

/// A static route as NetworkManager loads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Destination network address (host bits are kept, as NetworkManager keeps them).
    pub dest: IpAddr,
    /// Prefix length.
    pub plen: u8,
    /// Next hop.
    pub next_hop: Option<IpAddr>,
    /// Metric; -1 for "the device's".
    pub metric: i64,
    /// The attributes of `routeN_options` NetworkManager keeps, by name, values as written:
    /// the known ones, or none at all when one of them does not parse.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// What NetworkManager loads from a group's route keys: the routes, why it dropped the others,
/// and how it read every `routeN_options` key.
#[derive(Clone, Debug, Default)]
pub(crate) struct RoutesRead<'d> {
    /// The routes kept, in NetworkManager's order.
    pub(crate) routes: Vec<Route>,
    /// The key each kept route was read from.
    pub(crate) keys: Vec<&'d str>,
    /// Every warning, with its key.
    pub(crate) warnings: Vec<(String, String)>,
    /// Every `routeN_options` entry (whether or not its route was kept), in file order, as read.
    pub(crate) options: Vec<(EntryRef<'d>, Result<RouteOptions, String>)>,
}

/// A `routeN_options` value as `nm_utils_parse_variant_attributes(s, ',', '=',
/// ignore_unknown=TRUE, …)` reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RouteOptions {
    /// The attributes NetworkManager knows, by name.
    pub(crate) known: BTreeMap<String, String>,
    /// Names it does not know (ignored).
    pub(crate) unknown: Vec<String>,
    /// `onlink=true`.
    pub(crate) onlink: bool,
}

/// Reads `routeN_options`: one attribute whose value does not parse fails the whole string
/// (NetworkManager then keeps none of them, without a warning).
pub(crate) fn read_route_options(raw: &str, ipv6: bool) -> Result<RouteOptions, String> {
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
    let mut out = RouteOptions::default();
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
            continue;
        }
        out.known.insert(name.to_string(), value.to_string());
    }
    Ok(out)
}

/// A gateway as NetworkManager keeps it (`ipvX.gateway`, written with an address or as the
/// `gateway` key): an address of the family in `inet_ntop`'s form (`FD00:0::1` is loaded as
/// `fd00::1`), anything else as written, for the validator to report. An IPv4 address
/// `inet_pton` reads (four decimal bytes, no leading zeros) is already in that form.
///
/// ```
/// use bm_nmconn::ip::gateway_as_loaded;
/// assert_eq!(gateway_as_loaded("FD00:0::1", true), "fd00::1");
/// assert_eq!(gateway_as_loaded("1:2:3", true), "1:2:3");
/// assert_eq!(gateway_as_loaded("010.0.0.1", false), "010.0.0.1");
/// ```
pub fn gateway_as_loaded(gateway: &str, ipv6: bool) -> String {
    let mut loaded = gateway.to_string();
    load_gateway(&mut loaded, ipv6);
    loaded
}

/// [`gateway_as_loaded`] in place (allocating only when the form changes).
pub(crate) fn load_gateway(gateway: &mut String, ipv6: bool) {
    if ipv6 && !kept_as_written6(gateway) {
        rewrite6(gateway);
    }
}

/// An IPv6 address rewritten in `inet_ntop`'s form; anything else left as it is. Apart, so
/// that the common case stays small.
#[cold]
#[inline(never)]
fn rewrite6(text: &mut String) {
    if let Ok(v6) = text.parse::<std::net::Ipv6Addr>() {
        let mut buf = [0; NTOP6_MAX];
        let canonical = ntop6(v6, &mut buf);
        if canonical != text {
            text.clear();
            text.push_str(canonical);
        }
    }
}

/// Whether NetworkManager keeps `text` as written when it reads it as an IPv6 address: true
/// when it is plainly in `inet_ntop`'s form or no address at all. A cheap test for the forms
/// gateways are written in (`fe80::1`, `2001:db8::1`), which would otherwise be parsed and
/// written again: lower-case hex groups without leading zeros, none of them zero, and a `::`
/// standing for two or more zero words (the only run of them, so the longest), not leading
/// two groups or more. False says nothing: the caller parses.
fn kept_as_written6(text: &str) -> bool {
    let (mut groups, mut double) = (0, false);
    let mut rest = text.as_bytes();
    while !rest.is_empty() {
        let end = rest.iter().position(|&b| b == b':').unwrap_or(rest.len());
        let (group, tail) = rest.split_at(end);
        match group.first() {
            None => {}
            Some(b'0') => return false,
            Some(_) if group.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) => groups += 1,
            Some(_) => return false,
        }
        // `::`: a colon ending this group with one after it (at most once).
        if tail.len() >= 2 && tail[1] == b':' {
            if double {
                return false;
            }
            double = true;
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    // With no `::`, eight groups none of them zero, or no address. A leading `::` with two
    // groups or more may be the IPv4-compatible or -mapped form, written dotted: parsed.
    !double || (groups <= 6 && !(text.starts_with("::") && groups >= 2))
}

/// The longest text [`ntop6`] writes (`ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff`; a dotted tail
/// comes only after zeros, so is shorter).
pub(crate) const NTOP6_MAX: usize = 39;

/// An IPv6 address as glibc's `inet_ntop` writes it, into `buf`: lower-case hex without leading
/// zeros, the longest run of two or more zero words (the first of equals) as `::`, and a dotted
/// IPv4 tail after `::` (IPv4-compatible: six zero words) or `::ffff:` (IPv4-mapped). Rust's
/// `Display` is the same but for the compatible form (`::102:304` for `::1.2.3.4`), and goes
/// through the formatting machinery, several times the cost.
pub(crate) fn ntop6(v6: std::net::Ipv6Addr, buf: &mut [u8; NTOP6_MAX]) -> &str {
    let w = v6.segments();
    // The best run of zero words: (start, length).
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (i, &word) in w.iter().enumerate() {
        if word == 0 {
            run = if run.1 == 0 { (i, 1) } else { (run.0, run.1 + 1) };
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run = (0, 0);
        }
    }
    if best.1 < 2 {
        best = (usize::MAX, 0);
    }
    let mut n = 0;
    let mut put = |b: u8, n: &mut usize| {
        buf[*n] = b;
        *n += 1;
    };
    let mut i = 0;
    while i < 8 {
        if i == best.0 {
            put(b':', &mut n);
            i += best.1;
            if i == 8 {
                put(b':', &mut n);
            }
            continue;
        }
        if i != 0 {
            put(b':', &mut n);
        }
        if i == 6 && best.0 == 0 && (best.1 == 6 || (best.1 == 5 && w[5] == 0xffff)) {
            for (k, octet) in v6.octets()[12..].iter().enumerate() {
                if k > 0 {
                    put(b'.', &mut n);
                }
                let (h, t, o) = (octet / 100, octet / 10 % 10, octet % 10);
                if h > 0 {
                    put(b'0' + h, &mut n);
                }
                if h > 0 || t > 0 {
                    put(b'0' + t, &mut n);
                }
                put(b'0' + o, &mut n);
            }
            break;
        }
        let word = w[i];
        let mut shift = 12;
        while shift > 0 && word >> shift == 0 {
            shift -= 4;
        }
        loop {
            put(b"0123456789abcdef"[usize::from(word >> shift & 0xf)], &mut n);
            if shift == 0 {
                break;
            }
            shift -= 4;
        }
        i += 1;
    }
    // Only ASCII was written.
    std::str::from_utf8(&buf[..n]).unwrap_or_default()
}

/// An address of the family, as `inet_pton` reads it.
pub(crate) fn parse_family(s: &str, ipv6: bool) -> Option<IpAddr> {
    if ipv6 { s.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6) } else { parse_inet4(s).map(IpAddr::V4) }
}

/// What NetworkManager loads from a group's `routeN` / `routesN` keys (options aside).
///
/// ```
/// use bm_nmconn::{Document, ip::read_routes};
/// let doc = Document::parse("[ipv4]\nroute1=10.1.0.0/16,10.0.0.1,100\nroute2=10.2.0.0/16,,50\n").unwrap();
/// let (routes, _) = read_routes(&doc, "ipv4");
/// assert_eq!(routes[0].next_hop, Some("10.0.0.1".parse().unwrap()));
/// assert_eq!((routes[1].next_hop, routes[1].metric), (None, 50));
/// ```
pub fn read_routes(doc: &Document, group: &str) -> (Vec<Route>, Vec<(String, String)>) {
    let read = read_routes_in(&group_entries(doc, group), group == "ipv6");
    (read.routes, read.warnings)
}

/// [`read_routes`] on a group's entries, with how each `routeN_options` key reads.
pub(crate) fn read_routes_in<'d>(entries: &[EntryRef<'d>], ipv6: bool) -> RoutesRead<'d> {
    let mut options = Vec::new();
    for e in entries {
        if e.key.starts_with('r')
            && let Some(route) = e.key.strip_suffix("_options")
            && list_key_index(route, "route").is_some()
            && let Ok(raw) = crate::keyfile::unescape(e.value, crate::keyfile::Escape::String)
        {
            options.push((*e, read_route_options(&raw, ipv6)));
        }
    }
    let mut routes = Vec::new();
    let mut kept = Vec::new();
    let mut warnings = Vec::new();
    for_each_indexed(entries, "route", |key, raw| {
        let value = unescaped(raw);
        let mut warn = |msg: String| warnings.push((key.to_string(), msg));
        let Some(e) = read_one(&value, key, ipv6, true, &mut warn) else { return };
        let parse_ip = |s: &str| parse_family(s, ipv6);
        let mut metric: i64 = -1;
        let next_hop = match e.gateway.filter(|g| !g.is_empty()) {
            None => None,
            Some(g) => match parse_ip(g) {
                // libnm stores an unspecified next hop (`0.0.0.0`, `::`) as none.
                Some(ip) if ip.is_unspecified() => None,
                Some(ip) => Some(ip),
                // bgo#719851: an old writer put the metric where the next hop goes for IPv6.
                None if ipv6 && e.metric.is_none() && g.parse::<u32>().is_ok() => {
                    metric = i64::from(g.parse::<u32>().unwrap_or_default());
                    None
                }
                None => {
                    warn(format!("ignoring invalid gateway '{g}' for IPv{} route", if ipv6 { 6 } else { 4 }));
                    return;
                }
            },
        };
        if let Some(m) = e.metric {
            match m.parse::<u32>() {
                Ok(n) => metric = i64::from(n),
                Err(_) => {
                    warn(if m.is_empty() {
                        "ignoring missing number".into()
                    } else {
                        format!("ignoring invalid number '{m}'")
                    });
                    return;
                }
            }
        }
        // The options of this key, when they read.
        // (Taken: a key's options belong to its route alone, and nothing else reads them.)
        let attributes = options
            .iter_mut()
            .find(|(o, _): &&mut (EntryRef<'_>, _)| o.key.len() == key.len() + 8 && o.key.starts_with(key))
            .and_then(|(_, read)| read.as_mut().ok())
            .map(|o| std::mem::take(&mut o.known))
            .unwrap_or_default();
        routes.push(Route { dest: e.addr, plen: e.plen, next_hop, metric, attributes });
        kept.push(key);
    });
    RoutesRead { routes, keys: kept, warnings, options }
}

/// `inet_pton(AF_INET)`: exactly four decimal octets of one to three digits, none above 255
/// and none with a leading zero (no shorthand, no octal) — the grammar of Rust's parser too,
/// read here in one pass over the bytes (addresses, gateways, routes and DNS servers are most
/// of what a keyfile holds, and the general parser costs twice as much).
pub(crate) fn parse_inet4(s: &str) -> Option<std::net::Ipv4Addr> {
    let b = s.as_bytes();
    if !(7..=15).contains(&b.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i - start < 3
            && let Some(d) = b.get(i).filter(|d| d.is_ascii_digit())
        {
            value = value * 10 + u32::from(d - b'0');
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || value > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        *octet = value as u8;
    }
    (i == b.len()).then_some(std::net::Ipv4Addr::from(octets))
}

/// What NetworkManager loads from `ipvX.dns`: the `;` list, each element an address of the
/// group's family; anything else is dropped with a warning — so `dns=1.1.1.1,8.8.8.8` (a comma
/// is no separator) loses every server.
///
/// ```
/// use bm_nmconn::{Document, ip::read_dns};
/// let doc = Document::parse("[ipv4]\ndns=1.1.1.1,8.8.8.8\n").unwrap();
/// let (servers, warnings) = read_dns(&doc, "ipv4");
/// assert!(servers.is_empty());
/// assert_eq!(warnings, ["ignoring invalid DNS server IPv4 address '1.1.1.1,8.8.8.8'"]);
/// ```
pub fn read_dns(doc: &Document, group: &str) -> (Vec<IpAddr>, Vec<String>) {
    read_dns_in(&group_entries(doc, group), group == "ipv6")
}

/// [`read_dns`] on a group's entries.
pub(crate) fn read_dns_in(entries: &[EntryRef<'_>], ipv6: bool) -> (Vec<IpAddr>, Vec<String>) {
    // An unreadable list (a bad escape) gives NetworkManager nothing at all.
    let Some(e) = entries.iter().find(|e| e.key == "dns") else { return (Vec::new(), Vec::new()) };
    let mut servers = Vec::new();
    let mut warnings = Vec::new();
    let mut read = |item: &str| {
        let parsed = if ipv6 {
            item.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
        } else {
            parse_inet4(item).map(IpAddr::V4)
        };
        match parsed {
            Some(ip) => servers.push(ip),
            None => {
                warnings.push(format!("ignoring invalid DNS server IPv{} address '{item}'", if ipv6 { 6 } else { 4 }))
            }
        }
    };
    // Without an escape the elements are slices of the value (as `split_list` cuts them).
    if !e.value.contains('\\') {
        if !e.value.is_empty() {
            e.value.strip_suffix(';').unwrap_or(e.value).split(';').for_each(read);
        }
    } else if let Ok(list) = crate::keyfile::split_list(e.value) {
        list.iter().for_each(|item| read(item));
    }
    (servers, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The one-pass IPv4 reader reads what Rust's parser reads (the grammar of
        /// `inet_pton(AF_INET)`), on text made of what addresses are made of.
        #[test]
        fn inet4_reads_as_rusts_parser(s in "[0-9.]{0,17}|[0-9]{1,4}(\\.[0-9]{1,4}){2,4}[ x]?") {
            proptest::prop_assert_eq!(parse_inet4(&s), s.parse().ok(), "{:?}", s);
        }

        /// `ntop6` writes what Rust's `Display` writes, but for the IPv4-compatible form glibc
        /// keeps (`::a.b.c.d`: six zero words, then a word that is not); words drawn mostly
        /// from zero, so that runs of zeros of every length and place come up.
        #[test]
        fn ntop6_writes_as_glibc(words in proptest::array::uniform8(proptest::prop_oneof![
            4 => proptest::strategy::Just(0u16),
            1 => proptest::strategy::Just(0xffff_u16),
            1 => 0u16..0x20,
            2 => proptest::arbitrary::any::<u16>(),
        ])) {
            let v6 = std::net::Ipv6Addr::from(words);
            let expected = if words[..6] == [0; 6] && words[6] != 0 {
                let o = v6.octets();
                format!("::{}.{}.{}.{}", o[12], o[13], o[14], o[15])
            } else {
                v6.to_string()
            };
            let mut buf = [0; NTOP6_MAX];
            proptest::prop_assert_eq!(ntop6(v6, &mut buf), expected);
        }
    }

    proptest::proptest! {
        /// What `kept_as_written6` keeps is NetworkManager's form of it, or no address.
        #[test]
        fn kept_as_written6_is_canonical_or_invalid(text in "[0-9a-fA-F:.]{0,40}|([0-9a-f]{0,4}:){1,8}[0-9a-f]{0,4}") {
            if kept_as_written6(&text) {
                let parsed = text.parse::<std::net::Ipv6Addr>();
                let mut buf = [0; NTOP6_MAX];
                proptest::prop_assert!(parsed.is_err() || parsed.is_ok_and(|v6| ntop6(v6, &mut buf) == text), "{:?}", text);
            }
        }
    }

    #[test]
    fn kept_as_written6_edges() {
        for kept in ["fe80::1", "2001:db8::1", "::", "::1", "fd00::", "1:2:3:4:5:6:7:8", "1:2:3:4:5::"] {
            assert!(kept_as_written6(kept), "{kept}");
        }
        // Parsed: a zero group, a leading zero, upper case, a `::` for one word, a dotted tail.
        for parsed in ["fd00:0::1", "fd00::01", "FE80::1", "1:2:3:4:5:6::7", "::1.2.3.4", "::a:a", "1::2::3"] {
            assert!(!kept_as_written6(parsed), "{parsed}");
        }
    }

    #[test]
    fn gateways_as_loaded() {
        // As libnm 1.42 loads them (`tests/libnm_settings.rs` compares with it).
        for (written, ipv6, loaded) in [
            ("fd00::1", true, "fd00::1"),
            ("FD00:0::1", true, "fd00::1"),
            ("fd00:0:0:0:0:0:0:1", true, "fd00::1"),
            ("::0102:0304", true, "::1.2.3.4"),
            ("::FFFF:1.2.3.4", true, "::ffff:1.2.3.4"),
            ("1:2:3", true, "1:2:3"),
            ("10.0.0.1", true, "10.0.0.1"),
            ("010.0.0.1", false, "010.0.0.1"),
            ("10.0.0.1", false, "10.0.0.1"),
            ("fd00::1", false, "fd00::1"),
        ] {
            assert_eq!(gateway_as_loaded(written, ipv6), loaded, "{written}");
        }
    }

    #[test]
    fn inet4_edges() {
        for ok in ["0.0.0.0", "255.255.255.255", "10.0.0.1", "192.168.100.200", "1.22.133.4"] {
            assert_eq!(parse_inet4(ok), ok.parse().ok(), "{ok}");
            assert!(parse_inet4(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "01.2.3.4",
            "1.2.3.04",
            "256.1.1.1",
            "1.2.3.1000",
            "1..2.3",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.3.-4",
            "1.2.3.+4",
            "0x1.2.3.4",
            "1.2.3.4/24",
            "１.2.3.4",
        ] {
            assert_eq!(parse_inet4(bad), None, "{bad}");
            assert_eq!(bad.parse::<std::net::Ipv4Addr>().ok(), None, "{bad}");
        }
    }
}
