//! Setting a property on a keyfile the way `nmcli connection modify` spells it
//! (`ipv4.addresses`, `bond.options`, `802-3-ethernet.mtu`), writing the keys NetworkManager
//! 1.42 reads, and touching no other line.
//!
//! [`set_property`] writes one property; [`set_properties`] writes several and refuses the whole
//! edit when NetworkManager would not load the result as asked: the validator runs before and
//! after, and an error the edit introduces (a dropped address, a method that forbids the
//! addresses) leaves the document as it was.
//!
//! ```
//! use bm_nmconn::{Document, edit::set_property};
//! let mut doc = Document::parse("[connection]\nid=eth0\n\n[ipv4]\nmethod=auto\n").unwrap();
//! set_property(&mut doc, "ipv4.method", "manual").unwrap();
//! set_property(&mut doc, "ipv4.addresses", "10.0.0.5/24, 10.0.0.6/24").unwrap();
//! set_property(&mut doc, "ipv4.dns", "1.1.1.1,8.8.8.8").unwrap();
//! assert_eq!(
//!     doc.to_string(),
//!     "[connection]\nid=eth0\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\naddress2=10.0.0.6/24\ndns=1.1.1.1;8.8.8.8;\n"
//! );
//! assert!(set_property(&mut doc, "ipv4.adresses", "10.0.0.7/24").is_err()); // did you mean addresses?
//! ```

use std::net::IpAddr;

use crate::check::{CheckOptions, check_document};
use crate::diag::{Diagnostic, Severity};
use crate::keyfile::Document;
use crate::schema::{ValueType, distance, keys_of};
use crate::value::list_key_index;

/// Why a property cannot be set.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// Not `setting.property`.
    #[error("`{0}` is not SETTING.PROPERTY (e.g. ipv4.addresses)")]
    Syntax(String),
    /// A property bmnet does not know.
    #[error("unknown property `{property}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownProperty {
        /// What was asked.
        property: String,
        /// The closest known one.
        suggestion: Option<String>,
    },
    /// A value that does not parse for the property.
    #[error("invalid value for `{property}`: {reason}")]
    InvalidValue {
        /// The property.
        property: String,
        /// Why.
        reason: String,
    },
    /// NetworkManager would not load the edited file as asked.
    #[error("NetworkManager would not load the change as given: {}", diagnostics.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("; "))]
    Refused {
        /// The errors the edit introduces, located in `text`.
        diagnostics: Vec<Diagnostic>,
        /// The file as the edit would have left it.
        text: String,
    },
}

/// Sets several properties (nmcli's names and value syntax; an empty value removes), then
/// checks the result: an error diagnostic the file did not have before refuses the whole edit
/// and leaves `doc` as it was. Errors the file already had do not refuse it (compared by code,
/// group and key, not by line: an edit moves lines).
///
/// ```
/// use bm_nmconn::{Document, check::CheckOptions, edit::{EditError, set_properties}};
/// let mut doc = Document::parse("[connection]\nid=eth0\ntype=ethernet\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n").unwrap();
/// let before = doc.to_string();
/// let err = set_properties(&mut doc, &[("ipv4.method", "disabled")], &CheckOptions::default()).unwrap_err();
/// assert!(matches!(err, EditError::Refused { ref diagnostics, .. } if diagnostics[0].code.as_str() == "not-allowed-for-method"));
/// assert_eq!(doc.to_string(), before);
/// set_properties(&mut doc, &[("ipv4.addresses", "10.0.0.7/24"), ("ipv4.dns", "10.0.0.53")], &CheckOptions::default()).unwrap();
/// assert!(doc.to_string().ends_with("address1=10.0.0.7/24\ndns=10.0.0.53;\n"));
/// ```
pub fn set_properties(
    doc: &mut Document,
    assignments: &[(&str, &str)],
    options: &CheckOptions,
) -> Result<(), EditError> {
    let before = check_document(doc, options);
    let mut edited = doc.clone();
    for (property, value) in assignments {
        set_property(&mut edited, property, value)?;
    }
    let after = check_document(&edited, options);
    let key = |d: &Diagnostic| (d.code, d.group.clone(), d.key.clone());
    let old: Vec<_> = before.diagnostics.iter().map(key).collect();
    let introduced: Vec<Diagnostic> =
        after.diagnostics.into_iter().filter(|d| d.severity == Severity::Error && !old.contains(&key(d))).collect();
    if !introduced.is_empty() {
        return Err(EditError::Refused { diagnostics: introduced, text: edited.to_string() });
    }
    *doc = edited;
    Ok(())
}

/// Sets `property` (nmcli's `setting.property` name) to `value` (nmcli's syntax). An empty
/// value removes the property. As with nmcli, a string property is set whole, whitespace
/// around it included (a value of spaces is set, not removed); numbers, booleans, lists and
/// addresses are read without it.
pub fn set_property(doc: &mut Document, property: &str, value: &str) -> Result<(), EditError> {
    let (setting, prop) = property.split_once('.').ok_or_else(|| EditError::Syntax(property.to_string()))?;
    let (setting, group) = match setting {
        // NetworkManager reads `[802-3-ethernet]` alone when a file has it, beside `[ethernet]`
        // or not: the property goes where it is read.
        "802-3-ethernet" | "ethernet" if doc.has_group("802-3-ethernet") => ("802-3-ethernet", "802-3-ethernet"),
        "802-3-ethernet" | "ethernet" => ("802-3-ethernet", "ethernet"),
        s => (s, s),
    };
    let invalid = |reason: String| EditError::InvalidValue { property: property.to_string(), reason };
    // GLib reads a keyfile line as a C string and has no escape for NUL: NetworkManager would
    // read the value only up to it. (nmcli cannot be given one: it comes in through argv.)
    if let Some(at) = value.find('\0') {
        return Err(invalid(format!("a NUL byte (at byte {at}): a keyfile cannot hold one")));
    }
    // nmcli reads numbers, booleans, lists, addresses and the other typed values without the
    // whitespace around them, and keeps a string property's whole (`zone= trusted ` is written
    // `zone=\strusted `: checked with `nmcli --offline`).
    let whole = value;
    let value = value.trim();
    // GLib drops whitespace at the start of a value when it reads one; escapes keep spaces, tabs,
    // newlines and carriage returns there, but none keeps a form feed: such a string would
    // load without it (nmcli writes it all the same).
    let whole_string = || {
        if whole.starts_with('\u{c}') {
            return Err(invalid(
                "a form feed at the start: NetworkManager would read the value without it".to_string(),
            ));
        }
        Ok(whole)
    };
    match (setting, prop) {
        ("ipv4" | "ipv6", "addresses") => {
            let v6 = setting == "ipv6";
            let mut items = Vec::new();
            for item in split_list(value) {
                let (a, p) = item.split_once('/').unwrap_or((item, if v6 { "128" } else { "32" }));
                let ip: IpAddr = a.parse().map_err(|_| invalid(format!("`{item}` is no address")))?;
                let max = if v6 { 128 } else { 32 };
                let plen: u8 = p
                    .parse()
                    .ok()
                    .filter(|&n| n <= max)
                    .ok_or_else(|| invalid(format!("`{item}`: bad prefix length")))?;
                if ip.is_ipv6() != v6 {
                    return Err(invalid(format!("`{item}` is not an {setting} address")));
                }
                items.push(format!("{ip}/{plen}"));
            }
            replace_indexed(doc, group, "address", &items);
        }
        ("ipv4" | "ipv6", "routes") => {
            let v6 = setting == "ipv6";
            let mut routes = Vec::new();
            let mut options = Vec::new();
            for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let mut words = item.split_whitespace();
                let dest = words.next().unwrap_or_default();
                let (a, p) = dest.split_once('/').unwrap_or((dest, if v6 { "128" } else { "32" }));
                let ip: IpAddr = a.parse().map_err(|_| invalid(format!("`{dest}` is no destination")))?;
                if ip.is_ipv6() != v6 {
                    return Err(invalid(format!("`{dest}` is not an {setting} destination")));
                }
                let plen: u8 = p.parse().map_err(|_| invalid(format!("`{dest}`: bad prefix length")))?;
                let (mut hop, mut metric, mut attrs) = (String::new(), String::new(), Vec::new());
                for w in words {
                    if w.contains('=') {
                        attrs.push(w.to_string());
                    } else if hop.is_empty()
                        && metric.is_empty()
                        && w.parse::<IpAddr>().is_ok_and(|h| h.is_ipv6() == v6)
                    {
                        hop = w.to_string();
                    } else if metric.is_empty() && w.parse::<u32>().is_ok() {
                        metric = w.to_string();
                    } else {
                        return Err(invalid(format!("`{w}` in `{item}` is no next hop, metric or attribute")));
                    }
                }
                let mut r = format!("{ip}/{plen}");
                if !hop.is_empty() || !metric.is_empty() {
                    r += &format!(",{hop}");
                }
                if !metric.is_empty() {
                    r += &format!(",{metric}");
                }
                routes.push(r);
                options.push(attrs.join(","));
            }
            replace_indexed(doc, group, "route", &routes);
            for (i, o) in options.iter().enumerate() {
                if !o.is_empty() {
                    doc.set_string(group, &format!("route{}_options", i + 1), o);
                }
            }
        }
        ("ipv4" | "ipv6", "dns" | "dns-search" | "dns-options") => {
            let items: Vec<&str> = split_list(value);
            if prop == "dns" {
                for i in &items {
                    let ip: IpAddr = i.parse().map_err(|_| invalid(format!("`{i}` is no address")))?;
                    if ip.is_ipv6() != (setting == "ipv6") {
                        return Err(invalid(format!("`{i}` is not an {setting} server")));
                    }
                }
            }
            set_list_or_remove(doc, group, prop, &items);
        }
        ("connection", "master" | "slave-type" | "controller" | "port-type") if !whole.is_empty() => {
            let value = whole_string()?;
            // A port has no IP configuration: NetworkManager removes it, so does nmcli.
            for g in ["ipv4", "ipv6", "proxy"] {
                doc.remove_group(g);
            }
            doc.set_string(group, prop, value);
        }
        ("bond", "options") => {
            // Read every option first: a refused edit changes nothing.
            let mut options = Vec::new();
            for kv in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = kv.split_once('=').ok_or_else(|| invalid(format!("`{kv}` is not OPTION=VALUE")))?;
                let k = k.trim();
                // GLib would refuse the file with such a key in it.
                if !crate::keyfile::valid_key(k) || k.starts_with('#') || k.chars().any(char::is_control) {
                    return Err(invalid(format!("`{k}` is no option name")));
                }
                options.push((k, v.trim()));
            }
            for key in doc.keys(group).iter().map(|k| k.to_string()).collect::<Vec<_>>() {
                doc.remove(group, &key);
            }
            for (k, v) in options {
                doc.set_string(group, k, v);
            }
        }
        _ => {
            let keys = keys_of(setting)
                .ok_or_else(|| EditError::UnknownProperty { property: property.to_string(), suggestion: None })?;
            let Some((_, ty)) = keys.iter().find(|(k, _)| *k == prop) else {
                // Properties handled above are candidates too.
                let special: &[&str] = if matches!(setting, "ipv4" | "ipv6") { &["addresses", "routes"] } else { &[] };
                let best = keys
                    .iter()
                    .map(|(k, _)| *k)
                    .chain(special.iter().copied())
                    .map(|k| (distance(prop, k), k))
                    .min()
                    .filter(|(d, _)| *d <= 2);
                return Err(EditError::UnknownProperty {
                    property: property.to_string(),
                    suggestion: best.map(|(_, k)| format!("{setting}.{k}")),
                });
            };
            // Only an empty value removes a string (nmcli writes ` ` as `\s`).
            if whole.is_empty() || (value.is_empty() && *ty != ValueType::Str) {
                doc.remove(group, prop);
                return Ok(());
            }
            match ty {
                ValueType::Bool => {
                    let b = match value.to_ascii_lowercase().as_str() {
                        "yes" | "true" | "on" | "1" | "y" => "true",
                        "no" | "false" | "off" | "0" | "n" => "false",
                        _ => return Err(invalid(format!("`{value}` is no boolean"))),
                    };
                    doc.set_string(group, prop, b);
                }
                ValueType::UInt(max) => {
                    let n: u64 = value.parse().map_err(|_| invalid(format!("`{value}` is no decimal number")))?;
                    if n > *max {
                        return Err(invalid(format!("{n} is above {max}")));
                    }
                    // Written without leading zeros: NetworkManager would read those as octal.
                    doc.set_string(group, prop, &n.to_string());
                }
                ValueType::Int(min, max) => {
                    let n: i64 = value.parse().map_err(|_| invalid(format!("`{value}` is no decimal integer")))?;
                    if n < *min || n > *max {
                        return Err(invalid(format!("{n} is outside {min}..={max}")));
                    }
                    // Written in decimal without leading zeros: NetworkManager reads those as octal.
                    doc.set_string(group, prop, &n.to_string());
                }
                ValueType::Mac(len) => {
                    let bytes = crate::value::parse_mac(value, *len)
                        .ok_or_else(|| invalid(format!("`{value}` is no {len}-byte hardware address")))?;
                    let text: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
                    doc.set_string(group, prop, &text.join(":"));
                }
                ValueType::List => set_list_or_remove(doc, group, prop, &split_list(value)),
                ValueType::Str => doc.set_string(group, prop, whole_string()?),
                ValueType::Special => doc.set_string(group, prop, value),
            }
        }
    }
    Ok(())
}

/// nmcli's list syntax: commas and/or ASCII whitespace as GLib's `g_ascii_isspace` has it
/// (space, `\t`, `\n`, `\f`, `\r`; not `\v`), checked with `nmcli --offline`: `a<FF>b` is two
/// elements. Splitting on fewer left an element starting with a form feed, which no keyfile
/// escape holds: GLib drops it at the start of a value (found by the `nmconn_set` fuzz target:
/// `,<FF><FF>,,` was written `interface-name=<FF><FF>;` and loaded as one empty name).
fn split_list(value: &str) -> Vec<&str> {
    value.split([',', ' ', '\t', '\n', '\u{c}', '\r']).filter(|s| !s.is_empty()).collect()
}

fn set_list_or_remove(doc: &mut Document, group: &str, key: &str, items: &[&str]) {
    if items.is_empty() {
        doc.remove(group, key);
    } else {
        doc.set_list(group, key, items);
    }
}

/// Replaces every `{prefix}N`/`{prefix}esN` key (and route options) with `{prefix}1..`.
fn replace_indexed(doc: &mut Document, group: &str, prefix: &str, items: &[String]) {
    let old: Vec<String> = doc
        .keys(group)
        .into_iter()
        .filter(|k| {
            list_key_index(k, prefix).is_some()
                || k.strip_suffix("_options").is_some_and(|b| list_key_index(b, prefix).is_some())
        })
        .map(str::to_string)
        .collect();
    for k in &old {
        doc.remove(group, k);
    }
    for (i, item) in items.iter().enumerate() {
        doc.set_string(group, &format!("{prefix}{}", i + 1), item);
    }
}
