//! GLib's escaping of key-file values (`g_key_file_parse_value_as_string` and
//! `g_key_file_parse_string_as_value`), both directions, in its two modes.
//!
//! A value is read or written either as a plain string or as a list of elements, and the two
//! differ in exactly one place: `;`. In a list an unescaped `;` ends an element and `\;` is a
//! `;`; in a string `;` is an ordinary character and `\;` is an invalid escape. Every other rule
//! is shared: `\s`, `\n`, `\t`, `\r` and `\\` are the escapes (anything else after a `\` is
//! invalid, and so is a `\` at the end), and the writer escapes leading spaces and tabs (as
//! `\s` and `\t`), newlines, carriage returns and backslashes, and nothing else.

use std::borrow::Cow;

use super::ValueError;

/// Which of GLib's two forms a value is read or written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Escape {
    /// A plain string (`g_key_file_get_string`, `g_key_file_set_string`): `;` is an ordinary
    /// character and `\;` an invalid escape.
    String,
    /// One element of a list (`g_key_file_get_string_list`, `g_key_file_set_string_list`): an
    /// unescaped `;` ends the element, and a `;` inside one is written `\;`.
    ListElement,
}

/// A value as GLib writes it in `mode`, borrowed when nothing needs escaping.
///
/// ```
/// use bm_nmconn::{Escape, escape};
/// assert_eq!(escape(" C:\\temp; lab", Escape::String), "\\sC:\\\\temp; lab");
/// assert_eq!(escape(" C:\\temp; lab", Escape::ListElement), "\\sC:\\\\temp\\;\\slab");
/// assert!(matches!(escape("eth0", Escape::String), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escape(value: &str, mode: Escape) -> Cow<'_, str> {
    let list = mode == Escape::ListElement;
    let needs = value.starts_with([' ', '\t'])
        || value.bytes().any(|b| matches!(b, b'\n' | b'\r' | b'\\') || (list && b == b';'));
    if !needs {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 4);
    // Spaces and tabs are escaped only at the start of the value, and (GLib's rule) again after
    // an escaped `;`.
    let mut leading = true;
    for c in value.chars() {
        match c {
            ' ' if leading => out.push_str("\\s"),
            '\t' if leading => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\\' => {
                leading = false;
                out.push_str("\\\\");
            }
            ';' if list => {
                leading = true;
                out.push_str("\\;");
            }
            c => {
                leading = false;
                out.push(c);
            }
        }
    }
    Cow::Owned(out)
}

/// A list as NetworkManager writes it: each element escaped, each followed by `;`
/// (`dns=1.1.1.1;8.8.8.8;`).
pub(crate) fn escape_list<S: AsRef<str>>(items: &[S]) -> String {
    let mut out = String::new();
    for item in items {
        out.push_str(&escape(item.as_ref(), Escape::ListElement));
        out.push(';');
    }
    out
}

/// A raw value read as a plain string, as `g_key_file_get_string` reads it: borrowed when it
/// holds no escape.
///
/// ```
/// use bm_nmconn::{Escape, ValueError, unescape};
/// assert_eq!(unescape("\\sa\\tb\\\\c", Escape::String).unwrap(), " a\tb\\c");
/// assert_eq!(unescape("a\\;b", Escape::String), Err(ValueError::InvalidEscape { escape: ';', offset: 1 }));
/// assert_eq!(unescape("a\\;b", Escape::ListElement).unwrap(), "a;b");
/// ```
///
/// With [`Escape::ListElement`] the raw text is taken as one element: `\;` is a `;` and a bare
/// `;` stays (use [`split_list`] to read a whole list).
#[inline]
pub fn unescape(raw: &str, mode: Escape) -> Result<Cow<'_, str>, ValueError> {
    if !super::has_backslash(raw.as_bytes()) {
        return Ok(Cow::Borrowed(raw));
    }
    unescape_escaped(raw, mode)
}

/// [`unescape`] of a value with a `\`.
fn unescape_escaped(raw: &str, mode: Escape) -> Result<Cow<'_, str>, ValueError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(unescape_one(chars.next(), i, mode)?);
    }
    Ok(Cow::Owned(out))
}

/// The character an escape stands for; `at` is the byte offset of its `\`.
fn unescape_one(next: Option<(usize, char)>, at: usize, mode: Escape) -> Result<char, ValueError> {
    match next {
        Some((_, 's')) => Ok(' '),
        Some((_, 'n')) => Ok('\n'),
        Some((_, 't')) => Ok('\t'),
        Some((_, 'r')) => Ok('\r'),
        Some((_, '\\')) => Ok('\\'),
        Some((_, ';')) if mode == Escape::ListElement => Ok(';'),
        Some((_, escape)) => Err(ValueError::InvalidEscape { escape, offset: at }),
        None => Err(ValueError::TrailingEscape),
    }
}

/// A raw value read as a list, as `g_key_file_get_string_list` reads it: split on unescaped
/// `;`, each element unescaped, a trailing `;` optional.
///
/// ```
/// use bm_nmconn::split_list;
/// assert_eq!(split_list("1.1.1.1;8.8.8.8;").unwrap(), ["1.1.1.1", "8.8.8.8"]);
/// assert_eq!(split_list("a\\;b;c").unwrap(), ["a;b", "c"]);
/// assert!(split_list("").unwrap().is_empty());
/// ```
pub fn split_list(raw: &str) -> Result<Vec<String>, ValueError> {
    let mut out = Vec::new();
    if !raw.contains('\\') {
        if !raw.is_empty() {
            let body = raw.strip_suffix(';').unwrap_or(raw);
            out.extend(body.split(';').map(str::to_string));
        }
        return Ok(out);
    }
    let mut cur = String::new();
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => cur.push(unescape_one(chars.next(), i, Escape::ListElement)?),
            ';' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What GLib writes, from `g_key_file_parse_string_as_value` (the peer test in
    /// `tests/glib.rs` checks the same against GLib itself).
    #[test]
    fn escapes_as_glib_writes() {
        for (value, string, element) in [
            ("eth0", "eth0", "eth0"),
            (" a b", "\\sa b", "\\sa b"),
            ("\t\ta", "\\t\\ta", "\\t\\ta"),
            ("a\nb\rc", "a\\nb\\rc", "a\\nb\\rc"),
            ("C:\\temp", "C:\\\\temp", "C:\\\\temp"),
            // GLib treats what follows an escaped `;` as leading again.
            ("a; b", "a; b", "a\\;\\sb"),
            (";  x", ";  x", "\\;\\s\\sx"),
            ("", "", ""),
        ] {
            assert_eq!(escape(value, Escape::String), string, "{value:?}");
            assert_eq!(escape(value, Escape::ListElement), element, "{value:?}");
        }
        assert_eq!(escape_list(&["1.1.1.1", "a;b"]), "1.1.1.1;a\\;b;");
        assert_eq!(escape_list::<&str>(&[]), "");
    }

    #[test]
    fn unescapes_as_glib_reads() {
        assert_eq!(unescape("\\s\\n\\t\\r\\\\", Escape::String).unwrap(), " \n\t\r\\");
        assert_eq!(unescape("a\\x", Escape::String), Err(ValueError::InvalidEscape { escape: 'x', offset: 1 }));
        assert_eq!(unescape("é\\", Escape::String), Err(ValueError::TrailingEscape));
        assert_eq!(split_list("a;;b"), Ok(vec!["a".into(), String::new(), "b".into()]));
        assert_eq!(split_list(";"), Ok(vec![String::new()]));
        assert_eq!(split_list("\\s;x\\;"), Ok(vec![" ".into(), "x;".into()]));
        assert_eq!(split_list("a\\qb;"), Err(ValueError::InvalidEscape { escape: 'q', offset: 1 }));
    }

    proptest::proptest! {
        /// Whatever is written in a mode reads back the same in that mode.
        #[test]
        fn round_trips(value in "[ \t;\\\\a-z\n\r]{0,12}") {
            let written = escape(&value, Escape::String);
            proptest::prop_assert_eq!(unescape(&written, Escape::String).unwrap(), value.clone());
            let raw = escape_list(&[value.as_str(), "x"]);
            proptest::prop_assert_eq!(split_list(&raw).unwrap(), vec![value.clone(), "x".to_string()]);
        }
    }
}
