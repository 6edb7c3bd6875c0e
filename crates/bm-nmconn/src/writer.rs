//! The canonical form of a keyfile: the bytes NetworkManager 1.42.4's own keyfile writer
//! (`nmcli --offline connection add/modify`, `nm_keyfile_write`) produces for the same profile.
//!
//! What 1.42's writer does, observed with `nmcli --offline` and libnm (research nmconn.md §1.9):
//!
//! * **Groups** in setting-priority order, then by setting name: `[connection]`; the hardware
//!   base settings (`[ethernet]` — the setting is `802-3-ethernet`, so it sorts first — then
//!   `[bond]`, `[bridge]`, `[infiniband]`, `[vlan]`, …); `[bluetooth]`, `[wifi-security]`; the
//!   hardware auxiliaries (`[802-1x]`, `[dcb]`, `[serial]`, `[sriov]`); the auxiliaries
//!   (`[bond-port]`, `[bridge-port]`, `[ethtool]`, `[match]`, …); the IP settings
//!   (`[hostname]`, `[ipv4]`, `[ipv6]`, `[proxy]`, `[tc]`); `[user]`. `[vpn-secrets]` follows
//!   `[vpn]`, `[wireguard-peer.*]` follow `[wireguard]`, `[ethernet-s390-options]` follows
//!   `[ethernet]`. A blank line between groups, none at the end; empty groups are kept.
//! * **Keys** sorted by property name (bytewise), except `[connection]`'s `id`, `uuid`, `type`,
//!   which come first. `addressN` keys sit where the `addresses` property sorts, `routeN` and
//!   `routeN_options` where `routes` sorts, `routing-ruleN` where `routing-rules` sorts.
//! * **Addresses** renumbered from 1, written `ADDR/PLEN`, the gateway after the first
//!   (`address1=10.0.0.5/24,10.0.0.1`; 1.52 moved it to a `gateway=` key, 1.42 reads both).
//!   **Routes** renumbered from 1, `DEST/PLEN[,NEXT-HOP[,METRIC]]` (a metric without a next hop
//!   gets `0.0.0.0` / `::`), options sorted by name, booleans `true`/`false`.
//! * **Lists** each element escaped as GLib escapes it and followed by `;`
//!   (`dns=1.1.1.1;8.8.8.8;`); booleans `true`/`false`; MAC addresses upper-case with two digits
//!   per octet; a numeric bond mode by its name (`mode=4` → `mode=802.3ad`); `[802-3-ethernet]`
//!   written `[ethernet]` and `type=802-3-ethernet` written `type=ethernet`.
//!
//! What [`canonical`] keeps that NetworkManager's writer would not (it never loses data):
//! keys and groups NetworkManager does not know (sorted in with the rest; unknown groups after
//! the known ones, in file order), comments (each stays with the line that follows it), integers
//! as written (`mtu=01500` stays, so the validator can still say it is octal), keys set to their
//! default value, and address or route keys NetworkManager would drop or alter (if any key of a
//! group's address or route family reads with a warning, that family is only re-ordered, not
//! rewritten). The earlier of two duplicate keys (which NetworkManager never reads) is dropped,
//! its comments kept; repeated groups are merged, as GLib merges them. A line is written up to
//! its first NUL byte: GLib reads it only that far (the validator reports the NUL).
//!
//! ```
//! use bm_nmconn::{Document, canonical};
//! let shuffled = "[ipv4]\nmethod=manual\ndns=1.1.1.1;8.8.8.8\ngateway=10.0.0.1\naddress0=10.0.0.5/24\n\
//!                 [802-3-ethernet]\n[connection]\ntype=802-3-ethernet\nid=eth0\n";
//! let doc = Document::parse(shuffled).unwrap();
//! assert_eq!(
//!     canonical(&doc),
//!     "[connection]\nid=eth0\ntype=ethernet\n\n[ethernet]\n\n\
//!      [ipv4]\naddress1=10.0.0.5/24,10.0.0.1\ndns=1.1.1.1;8.8.8.8;\nmethod=manual\n"
//! );
//! ```

use std::net::{IpAddr, Ipv6Addr};

use crate::ip::{read_addresses, read_routes};
use crate::keyfile::{Document, escape_list, is_space};
use crate::schema::{HW_BASE_SETTINGS, ValueType, ethtool_is_boolean, keys_of, setting_of_group};
use crate::value::{list_key_index, parse_bool, parse_mac};

/// Setting names in the order NetworkManager 1.42.4 writes them: `nm_connection_get_settings()`
/// order (priority, then name), read from libnm 1.42.4 with every setting added: `connection`,
/// then [`HW_BASE_SETTINGS`] (by name), then these.
const SETTING_ORDER_AFTER_BASE: &[&str] = &[
    // HW_NON_BASE.
    "bluetooth",
    "802-11-wireless-security",
    // HW_AUX.
    "802-1x",
    "dcb",
    "serial",
    "sriov",
    // AUX.
    "bond-port",
    "bridge-port",
    "ethtool",
    "match",
    "ovs-external-ids",
    "ovs-other-config",
    "ppp",
    "pppoe",
    "team-port",
    // IP.
    "hostname",
    "ipv4",
    "ipv6",
    "proxy",
    "tc",
    // USER.
    "user",
];

/// Where a group goes: (rank of its setting, rank within the setting's groups, file order).
/// Unknown groups sort after every known one, in file order.
fn group_rank(group: &str, file_order: usize) -> (usize, usize, usize) {
    let (setting, sub) = match group {
        "vpn-secrets" => ("vpn", 1),
        "ethernet-s390-options" => ("802-3-ethernet", 1),
        g if g.starts_with("wireguard-peer.") => ("wireguard", 1),
        g => (setting_of_group(g), 0),
    };
    let base = HW_BASE_SETTINGS.len();
    let rank = if setting == "connection" {
        Some(0)
    } else {
        HW_BASE_SETTINGS
            .iter()
            .position(|s| *s == setting)
            .map(|i| 1 + i)
            .or_else(|| SETTING_ORDER_AFTER_BASE.iter().position(|s| *s == setting).map(|i| 1 + base + i))
    };
    match rank {
        Some(rank) => (rank, sub, file_order),
        None => (1 + base + SETTING_ORDER_AFTER_BASE.len(), 0, file_order),
    }
}

/// One `key=value` line, the comments before it, and where it sorts.
#[derive(Clone, Debug)]
struct Entry {
    comments: Vec<String>,
    key: String,
    value: String,
}

/// A group with its entries (repeated groups merged).
#[derive(Clone, Debug)]
struct Group {
    comments: Vec<String>,
    name: String,
    entries: Vec<Entry>,
    /// Comments after the group's last entry (before the next group or the end).
    trailing: Vec<String>,
}

/// Splits a parsed document into groups, entries and comments (the document already passed
/// GLib's rules, so every line is a blank, a comment, a group header or an entry).
fn lex(doc: &Document) -> (Vec<String>, Vec<Group>) {
    let mut groups: Vec<Group> = Vec::new();
    let mut head: Vec<String> = Vec::new();
    let mut current: Option<usize> = None;
    let mut pending: Vec<String> = Vec::new();
    // How many of the pending comments came before the last blank line: before a header,
    // those end the previous group; the rest (right above the header) belong to the header.
    let mut split = 0;
    // Each line as the document's reader cut it, GLib's way: without the `\r` before its `\n`
    // (one at the text's end stays), up to its first NUL byte (the rest is never read, and not
    // written).
    for line in (1..).map_while(|n| doc.line_text(n)) {
        let t = line.trim_start_matches(is_space);
        if t.is_empty() {
            split = pending.len();
            continue;
        }
        if t.starts_with('#') {
            pending.push(line.to_string());
            continue;
        }
        if let Some(after) = t.strip_prefix('[')
            && let Some(close) = after.find(']')
            && after[close + 1..].chars().all(|c| c == ' ' || c == '\t')
        {
            let name = &after[..close];
            let before: Vec<String> = pending.drain(..split.min(pending.len())).collect();
            split = 0;
            match current {
                Some(c) => groups[c].trailing.extend(before),
                None => head.extend(before),
            }
            match groups.iter().position(|g| g.name == name) {
                Some(i) => {
                    // A repeated group: its header's comments go with what follows.
                    groups[i].trailing.append(&mut pending);
                    current = Some(i);
                }
                None => {
                    groups.push(Group {
                        comments: std::mem::take(&mut pending),
                        name: name.to_string(),
                        entries: Vec::new(),
                        trailing: Vec::new(),
                    });
                    current = Some(groups.len() - 1);
                }
            }
            continue;
        }
        let Some(eq) = t.find('=') else { continue };
        let Some(c) = current else { continue };
        let key = t[..eq].trim_end_matches(is_space).to_string();
        let value = t[eq + 1..].trim_start_matches(is_space).to_string();
        let g = &mut groups[c];
        let mut comments = std::mem::take(&mut g.trailing);
        comments.append(&mut pending);
        split = 0;
        // The last occurrence wins; the earlier one's comments move to it.
        if let Some(i) = g.entries.iter().position(|e| e.key == key) {
            let mut earlier = g.entries.remove(i);
            earlier.comments.append(&mut comments);
            comments = earlier.comments;
        }
        g.entries.push(Entry { comments, key, value });
    }
    // Comments at the end of the file stay at the end of the last group.
    match current {
        Some(c) => groups[c].trailing.append(&mut pending),
        None => head.append(&mut pending),
    }
    (head, groups)
}

/// An address as `inet_ntop` prints it (glibc): Rust's form, except that an IPv4-compatible
/// IPv6 address (`::a.b.c.d`, the first 96 bits zero and the next 16 not) keeps the dotted tail.
pub(crate) fn ntop(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => ntop6(v6),
        IpAddr::V4(v4) => v4.to_string(),
    }
}

fn ntop6(v6: Ipv6Addr) -> String {
    crate::ip::ntop6(v6, &mut [0; crate::ip::NTOP6_MAX]).to_string()
}

/// The type of a key in a group, from the schema.
fn key_type(group: &str, key: &str) -> Option<ValueType> {
    let setting = setting_of_group(group);
    if setting == "ethtool" {
        return ethtool_is_boolean(key).then_some(ValueType::Bool);
    }
    let keys = keys_of(setting)?;
    keys.iter().find(|(k, _)| *k == key).map(|(_, t)| *t)
}

/// Normalises one value the way NetworkManager's writer prints what it read, where the result
/// is certain to load the same; otherwise the value as written.
fn normalise_value(doc: &Document, group: &str, key: &str, raw: &str) -> String {
    let ty =
        if (group == "ipv4" || group == "ipv6") && key == "dns" { Some(ValueType::List) } else { key_type(group, key) };
    match ty {
        Some(ValueType::List) => match doc.get_list(group, key) {
            Ok(Some(items)) => escape_list(&items),
            _ => raw.to_string(),
        },
        Some(ValueType::Bool) => match parse_bool(raw) {
            Some(b) => b.to_string(),
            None => raw.to_string(),
        },
        Some(ValueType::Mac(len)) => mac_or_raw(raw, len),
        Some(ValueType::Special) if key == "cloned-mac-address" => mac_or_raw(raw, 6),
        // `_normalize_bond_mode`: a numeric mode is written by its name.
        _ if setting_of_group(group) == "bond" && key == "mode" => {
            const MODES: [&str; 7] =
                ["balance-rr", "active-backup", "balance-xor", "broadcast", "802.3ad", "balance-tlb", "balance-alb"];
            match raw.parse::<usize>() {
                Ok(n) if n < MODES.len() && !raw.starts_with('+') && (raw == "0" || !raw.starts_with('0')) => {
                    MODES[n].to_string()
                }
                _ => raw.to_string(),
            }
        }
        _ if group == "connection" && key == "type" => match raw {
            "802-3-ethernet" => "ethernet".into(),
            "802-11-wireless" => "wifi".into(),
            r => r.to_string(),
        },
        _ => raw.to_string(),
    }
}

fn mac_or_raw(raw: &str, len: usize) -> String {
    // Only the forms that carry no escapes (a value with `\` reads differently).
    if raw.contains('\\') {
        return raw.to_string();
    }
    match parse_mac(raw, len) {
        Some(bytes) => bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"),
        None => raw.to_string(),
    }
}

/// Where a key sorts: (property name, index within the property, sub-order, the key).
fn key_rank(group: &str, key: &str) -> (u8, String, i64, u8, String) {
    let (base, locale) = match key.find('[') {
        Some(i) => (&key[..i], 1u8),
        None => (key, 0u8),
    };
    if group == "connection"
        && let Some(p) = ["id", "uuid", "type"].iter().position(|k| *k == base)
    {
        return (p as u8, String::new(), 0, locale, key.to_string());
    }
    if group == "ipv4" || group == "ipv6" {
        if let Some((idx, plural)) = list_key_index(base, "address") {
            return (3, "addresses".into(), idx, u8::from(plural) * 2 + locale, key.to_string());
        }
        if let Some((idx, plural)) = list_key_index(base, "route") {
            return (3, "routes".into(), idx, u8::from(plural) * 4 + locale, key.to_string());
        }
        if let Some(route) = base.strip_suffix("_options")
            && let Some((idx, plural)) = list_key_index(route, "route")
        {
            return (3, "routes".into(), idx, u8::from(plural) * 4 + 2 + locale, key.to_string());
        }
        if let Some(n) = base.strip_prefix("routing-rule")
            && let Ok(idx) = n.parse::<i64>()
            && !n.starts_with('+')
        {
            return (3, "routing-rules".into(), idx, locale, key.to_string());
        }
    }
    (3, base.to_string(), 0, locale, key.to_string())
}

/// Whether every warning is one that changes nothing loaded (NetworkManager's INFO about the
/// old trailing `;` of `address1=10.0.0.5;24;`).
pub(crate) fn only_benign(warnings: &[(String, String)]) -> bool {
    warnings.iter().all(|(_, w)| w.starts_with("deprecated semicolon"))
}

/// A one-key document, to read one address or route key with `ip.rs`'s readers. The key is the
/// last line, with no newline after it: GLib drops a `\r` before a `\n`, so a newline would
/// lose a `\r` ending `raw` (a value GLib keeps it in, and an address that does not read with
/// it, was read cleanly and rewritten: found by the `keyfile_roundtrip` fuzz target).
pub(crate) fn one_key(group: &str, key: &str, raw: &str) -> Option<Document> {
    Document::parse(&format!("[{group}]\n{key}={raw}")).ok()
}

/// Rewrites the address keys (and the `gateway` key) of an IP group as 1.42 writes them, if
/// every key reads cleanly and at most one gateway is given; `None` leaves them as written.
fn rewrite_addresses(doc: &Document, group: &str, entries: &[Entry]) -> Option<Vec<(String, String)>> {
    let mut keys: Vec<(i64, bool, &Entry)> =
        entries.iter().filter_map(|e| list_key_index(&e.key, "address").map(|(i, p)| (i, p, e))).collect();
    if keys.is_empty() {
        return None;
    }
    keys.sort_by_key(|(i, p, _)| (*i, *p));
    let mut addresses = Vec::new();
    let mut gateways: Vec<IpAddr> = Vec::new();
    for (_, _, e) in &keys {
        let one = one_key(group, &e.key, &e.value)?;
        let read = read_addresses(&one, group);
        if !only_benign(&read.warnings) || read.addresses.len() != 1 {
            return None;
        }
        if let Some(g) = read.gateway {
            gateways.push(g.parse().ok()?);
        }
        addresses.push(read.addresses[0]);
    }
    if entries.iter().any(|e| e.key == "gateway") {
        let text = doc.get_string(group, "gateway").ok()??;
        let ip: IpAddr = text.parse().ok()?;
        if ip.is_ipv6() != (group == "ipv6") {
            return None;
        }
        gateways.push(ip);
    }
    gateways.dedup();
    if gateways.len() > 1 {
        return None;
    }
    Some(
        addresses
            .iter()
            .enumerate()
            .map(|(i, (ip, plen))| {
                let mut v = format!("{}/{plen}", ntop(*ip));
                if i == 0
                    && let Some(g) = gateways.first()
                {
                    v.push(',');
                    v.push_str(&ntop(*g));
                }
                (format!("address{}", i + 1), v)
            })
            .collect(),
    )
}

/// Route attributes that are booleans (`nm-setting-ip-config.c`'s attribute table).
const BOOL_ATTRIBUTES: &[&str] =
    &["lock-advmss", "lock-cwnd", "lock-initcwnd", "lock-initrwnd", "lock-mtu", "lock-window", "onlink", "quickack"];

/// `routeN_options` with the attributes sorted by name and booleans spelled out, if every item
/// is a plain `name=value`.
pub(crate) fn normalise_options(raw: &str) -> Option<String> {
    if raw.contains('\\') {
        return None;
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for item in raw.split(',') {
        let (k, v) = item.split_once('=')?;
        if k.is_empty() || items.iter().any(|(n, _)| n == k) {
            return None;
        }
        let v = if BOOL_ATTRIBUTES.contains(&k) {
            match v {
                "1" | "true" => "true",
                "0" | "false" => "false",
                _ => return None,
            }
        } else {
            v
        };
        items.push((k.to_string(), v.to_string()));
    }
    items.sort();
    Some(items.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","))
}

/// Rewrites the route keys of an IP group as 1.42 writes them, if every key reads cleanly.
fn rewrite_routes(group: &str, entries: &[Entry]) -> Option<Vec<(String, String)>> {
    let mut keys: Vec<(i64, bool, &Entry)> =
        entries.iter().filter_map(|e| list_key_index(&e.key, "route").map(|(i, p)| (i, p, e))).collect();
    if keys.is_empty() {
        return None;
    }
    // Options without their route stay as written (the family is then left alone).
    for e in entries {
        if let Some(route) = e.key.strip_suffix("_options")
            && list_key_index(route, "route").is_some()
            && !keys.iter().any(|(_, _, k)| k.key == route)
        {
            return None;
        }
    }
    keys.sort_by_key(|(i, p, _)| (*i, *p));
    let ipv6 = group == "ipv6";
    let mut out = Vec::new();
    for (n, (_, _, e)) in keys.iter().enumerate() {
        let one = one_key(group, &e.key, &e.value)?;
        let (routes, warnings) = read_routes(&one, group);
        if !only_benign(&warnings) || routes.len() != 1 {
            return None;
        }
        let r = &routes[0];
        let mut v = format!("{}/{}", ntop(r.dest), r.plen);
        if r.next_hop.is_some() || r.metric != -1 {
            let unspecified = if ipv6 { "::" } else { "0.0.0.0" };
            v.push(',');
            v.push_str(&r.next_hop.map_or_else(|| unspecified.to_string(), ntop));
            if r.metric != -1 {
                v.push_str(&format!(",{}", r.metric));
            }
        }
        out.push((format!("route{}", n + 1), v));
        let options_key = format!("{}_options", e.key);
        if let Some(o) = entries.iter().find(|x| x.key == options_key) {
            out.push((
                format!("route{}_options", n + 1),
                normalise_options(&o.value).unwrap_or_else(|| o.value.clone()),
            ));
        }
    }
    Some(out)
}

/// The canonical keyfile for a document: NetworkManager 1.42.4's writer output for files
/// NetworkManager wrote, and for anything else the same content in NetworkManager's order
/// and list form (see the module documentation for what is kept and what is normalised).
///
/// ```
/// use bm_nmconn::{Document, canonical};
/// let nm = "[connection]\nid=eno1\nuuid=c1ef9e0b-51f2-48a3-90b9-9bdde9c22987\ntype=ethernet\n\
///           interface-name=eno1\nmaster=bond0\nslave-type=bond\n\n[ethernet]\n\n[bond-port]\n";
/// assert_eq!(canonical(&Document::parse(nm).unwrap()), nm);
/// ```
pub fn canonical(doc: &Document) -> String {
    let (head, mut groups) = lex(doc);
    // The aliases, where the canonical group is not there too (then both stay as they are).
    for (long, short) in
        [("802-3-ethernet", "ethernet"), ("802-11-wireless", "wifi"), ("802-11-wireless-security", "wifi-security")]
    {
        if !groups.iter().any(|g| g.name == short)
            && let Some(g) = groups.iter_mut().find(|g| g.name == long)
        {
            g.name = short.to_string();
        }
    }
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&i| group_rank(&groups[i].name, i));

    let mut out = String::new();
    for c in &head {
        push_line(&mut out, c);
    }
    // A blank line keeps the file's comments apart from the first header's.
    if !head.is_empty() && !order.is_empty() {
        out.push('\n');
    }
    for (n, &gi) in order.iter().enumerate() {
        let g = &mut groups[gi];
        if n > 0 {
            out.push('\n');
        }
        for c in &g.comments {
            push_line(&mut out, c);
        }
        out.push('[');
        out.push_str(&g.name);
        out.push_str("]\n");
        // Values are read from the document under the group's name as written.
        let source = match (g.name.as_str(), doc.has_group(&g.name)) {
            (name, true) => name.to_string(),
            ("ethernet", false) => "802-3-ethernet".to_string(),
            ("wifi", false) => "802-11-wireless".to_string(),
            ("wifi-security", false) => "802-11-wireless-security".to_string(),
            (name, false) => name.to_string(),
        };
        let mut lines: Vec<(Vec<String>, String, String)> = Vec::new();
        let ip = g.name == "ipv4" || g.name == "ipv6";
        let addresses = if ip { rewrite_addresses(doc, &source, &g.entries) } else { None };
        let routes = if ip { rewrite_routes(&g.name, &g.entries) } else { None };
        let mut address_comments = Vec::new();
        let mut route_comments = Vec::new();
        for e in &g.entries {
            let is_address = list_key_index(&e.key, "address").is_some();
            let is_route = list_key_index(&e.key, "route").is_some()
                || e.key.strip_suffix("_options").is_some_and(|r| list_key_index(r, "route").is_some());
            if addresses.is_some() && (is_address || e.key == "gateway") {
                address_comments.extend(e.comments.iter().cloned());
                continue;
            }
            if routes.is_some() && is_route {
                route_comments.extend(e.comments.iter().cloned());
                continue;
            }
            let value =
                if e.key.contains('[') { e.value.clone() } else { normalise_value(doc, &source, &e.key, &e.value) };
            lines.push((e.comments.clone(), e.key.clone(), value));
        }
        for (family, comments) in [(addresses, address_comments), (routes, route_comments)] {
            let Some(family) = family else { continue };
            for (i, (k, v)) in family.into_iter().enumerate() {
                let c = if i == 0 { comments.clone() } else { Vec::new() };
                lines.push((c, k, v));
            }
        }
        // NetworkManager writes `[tc]` qdiscs and filters in their list order, which is the
        // order read: keep it.
        if g.name != "tc" {
            lines.sort_by_cached_key(|l| key_rank(&g.name, &l.1));
        }
        for (comments, k, v) in &lines {
            for c in comments {
                push_line(&mut out, c);
            }
            out.push_str(k);
            out.push('=');
            push_line(&mut out, v);
        }
        for c in &g.trailing {
            push_line(&mut out, c);
        }
    }
    // A document of nothing but whitespace: GLib refuses an empty file ("File is empty") and
    // loads a blank line, so an empty output would not read back.
    if out.is_empty() {
        out.push('\n');
    }
    out
}

/// Ends a line with `\n`, and with `\r\n` when its text ends in `\r`: GLib drops one `\r`
/// before a `\n`, so without another a value ending in `\r` would load one shorter (`id=a`
/// and two `\r` load as `a` and one `\r`; written `id=a`, one `\r` and `\n`, as `a`).
fn push_line(out: &mut String, text: &str) {
    out.push_str(text);
    if text.ends_with('\r') {
        out.push('\r');
    }
    out.push('\n');
}

/// The file name NetworkManager's writer gives a new profile (`nm_keyfile_utils_create_filename`
/// with the extension): every `/` becomes `_`, a leading `.` becomes `_`, and `.nmconnection`
/// is appended. `None` if the result would exceed the 255-byte file-name limit or the id is
/// empty.
///
/// ```
/// use bm_nmconn::file_name;
/// assert_eq!(file_name("lab/rack1").as_deref(), Some("lab_rack1.nmconnection"));
/// assert_eq!(file_name(".hidden").as_deref(), Some("_hidden.nmconnection"));
/// ```
pub fn file_name(id: &str) -> Option<String> {
    if id.is_empty() {
        return None;
    }
    let mut name: String = id.chars().map(|c| if c == '/' { '_' } else { c }).collect();
    if name.starts_with('.') {
        name.replace_range(0..1, "_");
    }
    name.push_str(".nmconnection");
    (name.len() <= 255).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        canonical(&Document::parse(s).unwrap())
    }

    /// The `keyfile_roundtrip` fuzz target's finding: a file of one space came out empty,
    /// which does not parse (GLib: "File is empty").
    #[test]
    fn a_blank_file_is_written_as_a_blank_line() {
        for text in [" ", "\n", "\t\r\n \n"] {
            let once = canon(text);
            assert_eq!(once, "\n", "{text:?}");
            assert_eq!(canon(&once), once);
        }
        assert!(Document::parse("").is_err(), "GLib refuses an empty file");
    }

    /// The `keyfile_roundtrip` fuzz target's finding: values (and comments) ending in `\r`
    /// lost one on every write, and one at the text's end was dropped where GLib keeps it.
    #[test]
    fn carriage_returns_at_a_line_end_are_kept() {
        for (text, id, written) in [
            ("[connection]\nid=a\r\r\n", "a\r", "[connection]\nid=a\r\r\n"),
            ("[connection]\nid=a\r\r", "a\r\r", "[connection]\nid=a\r\r\r\n"),
            ("[connection]\nid=a\r", "a\r", "[connection]\nid=a\r\r\n"),
            ("[connection]\nid=a\r\n", "a", "[connection]\nid=a\n"),
            ("# c\r\r\n[connection]\nid=a\n", "a", "# c\r\r\n[connection]\nid=a\n"),
        ] {
            let doc = Document::parse(text).unwrap();
            assert_eq!(doc.get_string("connection", "id").unwrap().as_deref(), Some(id), "{text:?}");
            let once = canon(text);
            assert_eq!(once, written, "{text:?}");
            assert_eq!(Document::parse(&once).unwrap().get_string("connection", "id").unwrap().as_deref(), Some(id));
            assert_eq!(canon(&once), once, "{text:?}: idempotent");
        }
    }

    /// An address or route whose value ends in a `\r` GLib keeps (at the text's end, or before
    /// a NUL byte) does not read, so its family is left as written, not rewritten as if the
    /// `\r` were not there. Found by the `keyfile_roundtrip` fuzz target.
    #[test]
    fn a_carriage_return_ending_an_address_is_kept() {
        for text in [
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\naddresses2=10.0.1.5;20;10.0.1.1\r",
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\naddresses2=10.0.1.5;20;10.0.1.1\r\0x\n",
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.0.0/16,10.0.0.1\r",
        ] {
            let doc = Document::parse(text).unwrap();
            let once = canon(text);
            let again = Document::parse(&once).unwrap();
            let (a, b) = (crate::Profile::read(&doc), crate::Profile::read(&again));
            assert_eq!(a.ipv4, b.ipv4, "{text:?} -> {once:?}");
            assert_eq!(canon(&once), once, "{text:?}: idempotent");
        }
    }

    #[test]
    fn orders_groups_and_keys_as_networkmanager() {
        let shuffled = "[user]\nx.y=z\n[proxy]\n[ipv6]\nmethod=auto\n[ipv4]\nmethod=auto\n[match]\n\
                        interface-name=eno3\n[ethtool]\nfeature-rx=false\n[ethernet]\nmtu=1500\n\
                        [connection]\nzone=x\nuuid=u\ntype=ethernet\nid=e\ninterface-name=e\n";
        assert_eq!(
            canon(shuffled),
            "[connection]\nid=e\nuuid=u\ntype=ethernet\ninterface-name=e\nzone=x\n\n[ethernet]\nmtu=1500\n\n\
             [ethtool]\nfeature-rx=false\n\n[match]\ninterface-name=eno3;\n\n[ipv4]\nmethod=auto\n\n\
             [ipv6]\nmethod=auto\n\n[proxy]\n\n[user]\nx.y=z\n"
        );
    }

    #[test]
    fn addresses_and_routes_as_1_42_writes_them() {
        let s = "[ipv4]\nroute3=10.3.0.0/16;;50\nroute3_options=table=100,onlink=1,mtu=1400\n\
                 routes1=10.9.0.0/16\nmethod=manual\ngateway=10.0.0.1\naddress5=10.0.0.5/24\n\
                 addresses1=10.0.0.9;24;\naddress=10.0.0.7/24\nroute-metric=100\n";
        assert_eq!(
            canon(s),
            "[ipv4]\naddress1=10.0.0.7/24,10.0.0.1\naddress2=10.0.0.9/24\naddress3=10.0.0.5/24\nmethod=manual\n\
             route-metric=100\nroute1=10.9.0.0/16\nroute2=10.3.0.0/16,0.0.0.0,50\n\
             route2_options=mtu=1400,onlink=true,table=100\n"
        );
        let v6 = "[ipv6]\nroute1=fd01::/64,,10\nroute2=fd02::/64,fd00::1\naddress1=FD00:0::5/64\n";
        assert_eq!(canon(v6), "[ipv6]\naddress1=fd00::5/64\nroute1=fd01::/64,::,10\nroute2=fd02::/64,fd00::1\n");
    }

    #[test]
    fn what_networkmanager_would_drop_is_kept() {
        // A typo NetworkManager drops: the family is re-ordered, not rewritten.
        let s = "[ipv4]\naddress2=10.0.0.2/24\naddress1=10.10.99.99\\24\nmethod=manual\n";
        assert_eq!(canon(s), "[ipv4]\naddress1=10.10.99.99\\24\naddress2=10.0.0.2/24\nmethod=manual\n");
        // Two different gateways: left alone.
        let s = "[ipv4]\naddress1=10.0.0.2/24,10.0.0.1\ngateway=10.0.0.254\n";
        assert_eq!(canon(s), "[ipv4]\naddress1=10.0.0.2/24,10.0.0.1\ngateway=10.0.0.254\n");
        // Unknown keys and groups, octal integers, comments, invalid lists.
        let s = "# head\n\n[zzz]\na=1\n[ethernet]\n# why\nmtu=01500\nautoconect=false\n[ipv4]\ndns=1.1.1.1\\x\n";
        assert_eq!(
            canon(s),
            "# head\n\n[ethernet]\nautoconect=false\n# why\nmtu=01500\n\n[ipv4]\ndns=1.1.1.1\\x\n\n[zzz]\na=1\n"
        );
        // A comment right above a header moves with it; one after a blank line stays at the
        // end of the group before.
        let s = "[ipv4]\nmethod=auto\n# end of ipv4\n\n# about connection\n[connection]\nid=x\n";
        assert_eq!(canon(s), "# about connection\n[connection]\nid=x\n\n[ipv4]\nmethod=auto\n# end of ipv4\n");
    }

    #[test]
    fn values_normalised() {
        assert_eq!(canon("[bond]\nmode=4\n"), "[bond]\nmode=802.3ad\n");
        assert_eq!(canon("[bond]\nmode=04\n"), "[bond]\nmode=04\n");
        let s = "[connection]\nautoconnect=0\npermissions=user:a\n[802-3-ethernet]\nmac-address=52:54:0:aa:bb:cc\n\
                 [ipv4]\ndns-search= a;b\\;c\n";
        assert_eq!(
            canon(s),
            "[connection]\nautoconnect=false\npermissions=user:a;\n\n[ethernet]\nmac-address=52:54:00:AA:BB:CC\n\n\
             [ipv4]\ndns-search=a;b\\;c;\n"
        );
    }

    #[test]
    fn duplicates_and_repeated_groups() {
        let s = "[ipv4]\n# one\nmethod=auto\n[connection]\nid=a\n[ipv4]\nmethod=manual\n";
        assert_eq!(canon(s), "[connection]\nid=a\n\n[ipv4]\n# one\nmethod=manual\n");
    }

    #[test]
    fn inet_ntop_forms() {
        assert_eq!(ntop("::1.2.3.4".parse().unwrap()), "::1.2.3.4");
        assert_eq!(ntop("::ffff:1.2.3.4".parse().unwrap()), "::ffff:1.2.3.4");
        assert_eq!(ntop("::1".parse().unwrap()), "::1");
        assert_eq!(ntop("fd00:0:0:1::5".parse().unwrap()), "fd00:0:0:1::5");
    }

    #[test]
    fn file_names() {
        assert_eq!(file_name("bond0.100").as_deref(), Some("bond0.100.nmconnection"));
        assert_eq!(file_name(""), None);
        assert_eq!(file_name(&"x".repeat(243)), None);
        assert!(file_name(&"x".repeat(242)).is_some());
    }
}
