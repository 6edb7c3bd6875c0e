//! Rules every key gets: the group is one NetworkManager reads, the key is one it knows, and
//! the value reads as the key's type the way NetworkManager reads it (the reader in
//! [`crate::profile`] notes where it does not; this module words it).

use std::borrow::Cow;

use super::{Checker, Help};
use crate::diag::Code;
use crate::keyfile::{EntryRef, Escape, NoticeKind, unescape};
use crate::profile::{EntryNote, Note};
use crate::schema::{distance, group_is_known, keys_of, setting_of_group};
use crate::value::{IntError, Radix};

pub(super) fn check(c: &mut Checker<'_>) {
    for notice in c.doc.notices() {
        match &notice.kind {
            NoticeKind::DuplicateKey { group, key, earlier } => {
                let d = c.push(
                    Code::DuplicateKey,
                    notice.line,
                    1,
                    Some(group),
                    Some(key),
                    format!("`{key}` is set again here: line {earlier}'s value is ignored"),
                );
                d.help("remove one of the two lines");
            }
            NoticeKind::RepeatedGroup { group, first } => {
                c.push(
                    Code::RepeatedGroup,
                    notice.line,
                    1,
                    Some(group),
                    None,
                    format!("[{group}] is opened again: its keys merge into the group of line {first}"),
                );
            }
            NoticeKind::LocaleKey { group, key } => {
                c.push(
                    Code::LocaleKey,
                    notice.line,
                    1,
                    Some(group),
                    Some(key),
                    format!("translated key `{key}`: NetworkManager never reads it"),
                );
            }
            NoticeKind::NulByte { column } => {
                let d = c.push(
                    Code::NulByte,
                    notice.line,
                    *column,
                    None,
                    None,
                    "a NUL byte: NetworkManager reads this line only up to it and ignores the rest".to_string(),
                );
                d.help("remove the NUL byte (a keyfile is text; no escape stands for NUL)");
            }
        }
    }
    let load = c.load;
    for note in &load.notes {
        match note {
            Note::GroupUnknown(group) => {
                let lower = group.trim().to_ascii_lowercase();
                let d = c.at_group(
                    Code::GroupUnknown,
                    group,
                    format!("NetworkManager knows no setting [{group}] and skips the whole group"),
                );
                if lower != *group && group_is_known(&lower) {
                    d.help(format!("group names are case-sensitive: write [{lower}]"));
                }
            }
            Note::Entry(e, kind) => entry(c, e, kind),
        }
    }
}

fn entry(c: &mut Checker<'_>, e: &EntryRef<'_>, note: &EntryNote) {
    // Every note but `Unreadable` is about a value GLib reads as a string.
    let value = unescape(e.value, Escape::String).unwrap_or(Cow::Borrowed(e.value));
    let key = e.key;
    match note {
        EntryNote::Unreadable(err) => {
            c.on_value(
                Code::ValueUnreadable,
                e,
                format!("GLib cannot read this value ({err}): NetworkManager sees no `{key}`"),
            );
        }
        EntryNote::KeyUnknown => unknown_key(c, e),
        EntryNote::NotBoolean => {
            let d = c.on_value(
                Code::BooleanInvalid,
                e,
                format!("`{value}` is no boolean: NetworkManager keeps the default of `{key}`"),
            );
            match value.trim().to_ascii_lowercase().as_str() {
                "yes" | "on" | "true" | "y" => d.help("write `true`"),
                "no" | "off" | "false" | "n" => d.help("write `false`"),
                _ => d.help("write `true` or `false`"),
            }
        }
        EntryNote::Unsigned(Ok((n, Radix::Octal))) => {
            if value.trim().trim_start_matches('+').len() > 1 {
                let decimal = value.trim().trim_start_matches(['+', '0']);
                let d = c.on_value(
                    Code::IntegerOctal,
                    e,
                    format!("`{value}` starts with 0, so NetworkManager reads it as octal: {key} becomes {n}"),
                );
                d.help(if decimal.is_empty() { "write `0`".to_string() } else { format!("write `{decimal}`") });
            }
        }
        EntryNote::Signed(Ok((n, Radix::Octal))) => {
            if value.trim().trim_start_matches(['-', '+']).len() > 1 {
                let sign = if value.trim().starts_with('-') { "-" } else { "" };
                let decimal = value.trim().trim_start_matches(['-', '+', '0']);
                c.on_value(
                    Code::IntegerOctal,
                    e,
                    format!("`{value}` starts with 0, so NetworkManager reads it as octal: {key} becomes {n}"),
                )
                .help(if decimal.is_empty() {
                    "write `0`".to_string()
                } else {
                    format!("write `{sign}{decimal}`")
                });
            }
        }
        EntryNote::Unsigned(Ok((n, Radix::Hex))) => {
            c.on_value(Code::IntegerHex, e, format!("`{value}` is hexadecimal: {key} is {n}"));
        }
        EntryNote::Signed(Ok((n, Radix::Hex))) => {
            c.on_value(Code::IntegerHex, e, format!("`{value}` is hexadecimal: {key} is {n}"));
        }
        EntryNote::Unsigned(Ok((_, Radix::Decimal))) | EntryNote::Signed(Ok((_, Radix::Decimal))) => {}
        EntryNote::Unsigned(Err(err)) => {
            let d = c.on_value(
                Code::IntegerInvalid,
                e,
                format!("`{value}` is no valid `{key}` ({err}): NetworkManager keeps the default"),
            );
            if let IntError::Digit { base: 8, .. } = err {
                d.help(format!("remove the leading zeros: `{}`", value.trim().trim_start_matches('0')));
            }
        }
        EntryNote::Signed(Err(err)) => {
            c.on_value(
                Code::IntegerInvalid,
                e,
                format!("`{value}` is no valid `{key}` ({err}): NetworkManager keeps the default"),
            );
        }
        EntryNote::NotMac(len) => {
            let len = *len;
            let d = c.on_value(
                Code::MacInvalid,
                e,
                format!("`{value}` is no {len}-byte hardware address: NetworkManager drops `{key}`"),
            );
            let hex: String = value.chars().filter(char::is_ascii_hexdigit).collect();
            if hex.len() == len * 2 && value.len() == hex.len() {
                let parts: Vec<&str> = (0..len).map(|i| &hex[2 * i..2 * i + 2]).collect();
                d.help(format!("write `{}`", parts.join(":").to_ascii_uppercase()));
            }
        }
    }
}

fn unknown_key(c: &mut Checker<'_>, e: &EntryRef<'_>) {
    let setting = setting_of_group(e.group);
    let known = keys_of(setting).unwrap_or_default();
    let key = e.key;
    let best = known.iter().map(|(k, _)| (distance(key, k), *k)).min();
    let d = c.on_key(
        Code::KeyUnknown,
        e,
        format!("NetworkManager knows no `{setting}.{key}` and ignores it without a warning"),
    );
    if let Some((dist, k)) = best
        && (dist <= 2 || key.eq_ignore_ascii_case(k))
    {
        d.help(format!("did you mean `{k}`?"));
    }
}
