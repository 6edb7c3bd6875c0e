//! Rules every key gets: the group is one NetworkManager reads, the key is one it knows, and
//! the value reads as the key's type the way NetworkManager reads it.

use std::borrow::Cow;

use super::{Checker, Help};
use crate::diag::Code;
use crate::keyfile::NoticeKind;
use crate::schema::{ValueType, distance, group_is_known, key_type_in, keys_of, setting_of_group, tables_of};
use crate::value::{IntError, Radix, list_key_index, parse_bool, parse_int, parse_mac, parse_uint};

pub(super) fn check(c: &mut Checker<'_>) {
    for notice in c.doc.notices().to_vec() {
        match notice.kind {
            NoticeKind::DuplicateKey { group, key, earlier } => {
                let d = c.push(
                    Code::DuplicateKey,
                    notice.line,
                    1,
                    Some(&group),
                    Some(&key),
                    format!("`{key}` is set again here: line {earlier}'s value is ignored"),
                );
                d.help("remove one of the two lines");
            }
            NoticeKind::RepeatedGroup { group, first } => {
                c.push(
                    Code::RepeatedGroup,
                    notice.line,
                    1,
                    Some(&group),
                    None,
                    format!("[{group}] is opened again: its keys merge into the group of line {first}"),
                );
            }
            NoticeKind::LocaleKey { group, key } => {
                c.push(
                    Code::LocaleKey,
                    notice.line,
                    1,
                    Some(&group),
                    Some(&key),
                    format!("translated key `{key}`: NetworkManager never reads it"),
                );
            }
        }
    }
    // One pass over each group's entries, with what depends on the group worked out once.
    let doc = c.doc;
    for group in doc.groups() {
        if !group_is_known(group) {
            let lower = group.trim().to_ascii_lowercase();
            let d = c.at_group(
                Code::GroupUnknown,
                group,
                format!("NetworkManager knows no setting [{group}] and skips the whole group"),
            );
            if lower != group && group_is_known(&lower) {
                d.help(format!("group names are case-sensitive: write [{lower}]"));
            }
            continue;
        }
        let setting = setting_of_group(group);
        let ip = setting == "ipv4" || setting == "ipv6";
        let tables = tables_of(setting);
        for e in doc.entries_of(group) {
            c.here = Some(e);
            // Address and route keys are read from the raw text (ipconfig.rs reports them).
            if ip && is_indexed_ip_key(e.key) {
                continue;
            }
            let value: Cow<'_, str> = if e.value.as_bytes().contains(&b'\\') {
                match (doc.get_string(e.group, e.key), doc.get_list(e.group, e.key)) {
                    (Ok(Some(v)), _) => Cow::Owned(v),
                    (Err(_), Ok(_)) => continue, // a list value (`\;`): not one of the typed scalars
                    (_, Err(err)) => {
                        c.at_value(
                            Code::ValueUnreadable,
                            e.group,
                            e.key,
                            format!("GLib cannot read this value ({err}): NetworkManager sees no `{}`", e.key),
                        );
                        continue;
                    }
                    (Ok(None), _) => continue,
                }
            } else {
                Cow::Borrowed(e.value)
            };
            let Some(tables) = tables else { continue };
            match key_type_in(tables, e.key) {
                Some(ty) => typed(c, e.group, e.key, &value, ty),
                None => unknown_key(c, e.group, setting, e.key, &keys_of(setting).unwrap_or_default()),
            }
        }
    }
    c.here = None;
}

/// `addressN`, `addressesN`, `routeN`, `routesN`, `routeN_options`, `routing-ruleN`.
fn is_indexed_ip_key(key: &str) -> bool {
    // Every one starts with `a` or `r`; most keys of the group do not.
    if !matches!(key.as_bytes().first(), Some(b'a' | b'r')) {
        return false;
    }
    let base = key.strip_suffix("_options").unwrap_or(key);
    list_key_index(key, "address").is_some()
        || list_key_index(base, "route").is_some()
        || key.strip_prefix("routing-rule").is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()))
}

fn unknown_key(c: &mut Checker<'_>, group: &str, setting: &str, key: &str, known: &[(&str, ValueType)]) {
    // Renamed keys get their own rule (connection.rs); leave them to it.
    if setting == "connection" && matches!(key, "controller" | "port-type" | "autoconnect-ports") {
        return;
    }
    let best = known.iter().map(|(k, _)| (distance(key, k), *k)).min();
    let d = c.at_key(
        Code::KeyUnknown,
        group,
        key,
        format!("NetworkManager knows no `{setting}.{key}` and ignores it without a warning"),
    );
    if let Some((dist, k)) = best
        && (dist <= 2 || key.eq_ignore_ascii_case(k))
    {
        d.help(format!("did you mean `{k}`?"));
    }
}

fn typed(c: &mut Checker<'_>, group: &str, key: &str, value: &str, ty: ValueType) {
    match ty {
        ValueType::Bool => {
            if parse_bool(value).is_none() {
                let d = c.at_value(
                    Code::BooleanInvalid,
                    group,
                    key,
                    format!("`{value}` is no boolean: NetworkManager keeps the default of `{key}`"),
                );
                match value.trim().to_ascii_lowercase().as_str() {
                    "yes" | "on" | "true" | "y" => d.help("write `true`"),
                    "no" | "off" | "false" | "n" => d.help("write `false`"),
                    _ => d.help("write `true` or `false`"),
                }
            }
        }
        ValueType::UInt(max) => match parse_uint(value, 0, max) {
            Ok((n, Radix::Octal)) if value.trim().trim_start_matches('+').len() > 1 => {
                let decimal = value.trim().trim_start_matches(['+', '0']);
                let d = c.at_value(
                    Code::IntegerOctal,
                    group,
                    key,
                    format!("`{value}` starts with 0, so NetworkManager reads it as octal: {key} becomes {n}"),
                );
                d.help(if decimal.is_empty() { "write `0`".to_string() } else { format!("write `{decimal}`") });
            }
            Ok((n, Radix::Hex)) => {
                c.at_value(Code::IntegerHex, group, key, format!("`{value}` is hexadecimal: {key} is {n}"));
            }
            Ok(_) => {}
            Err(e) => {
                let d = c.at_value(
                    Code::IntegerInvalid,
                    group,
                    key,
                    format!("`{value}` is no valid `{key}` ({e}): NetworkManager keeps the default"),
                );
                if let IntError::Digit { base: 8, .. } = e {
                    d.help(format!("remove the leading zeros: `{}`", value.trim().trim_start_matches('0')));
                }
            }
        },
        ValueType::Int(min, max) => match parse_int(value, min, max) {
            Ok((n, Radix::Octal)) if value.trim().trim_start_matches(['-', '+']).len() > 1 => {
                let sign = if value.trim().starts_with('-') { "-" } else { "" };
                let decimal = value.trim().trim_start_matches(['-', '+', '0']);
                c.at_value(
                    Code::IntegerOctal,
                    group,
                    key,
                    format!("`{value}` starts with 0, so NetworkManager reads it as octal: {key} becomes {n}"),
                )
                .help(if decimal.is_empty() {
                    "write `0`".to_string()
                } else {
                    format!("write `{sign}{decimal}`")
                });
            }
            Ok((n, Radix::Hex)) => {
                c.at_value(Code::IntegerHex, group, key, format!("`{value}` is hexadecimal: {key} is {n}"));
            }
            Ok(_) => {}
            Err(e) => {
                c.at_value(
                    Code::IntegerInvalid,
                    group,
                    key,
                    format!("`{value}` is no valid `{key}` ({e}): NetworkManager keeps the default"),
                );
            }
        },
        ValueType::Mac(len) => {
            if parse_mac(value, len).is_none() {
                let d = c.at_value(
                    Code::MacInvalid,
                    group,
                    key,
                    format!("`{value}` is no {len}-byte hardware address: NetworkManager drops `{key}`"),
                );
                let hex: String = value.chars().filter(char::is_ascii_hexdigit).collect();
                if hex.len() == len * 2 && value.len() == hex.len() {
                    let parts: Vec<&str> = (0..len).map(|i| &hex[2 * i..2 * i + 2]).collect();
                    d.help(format!("write `{}`", parts.join(":").to_ascii_uppercase()));
                }
            }
        }
        ValueType::Str | ValueType::List | ValueType::Special => {}
    }
}
