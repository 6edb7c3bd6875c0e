//! GKeyFile as GLib 2.74's `gkeyfile.c` reads it (research nmconn.md §1.2), kept lossless.
//!
//! Lines are split on `\n` with one trailing `\r` dropped; leading ASCII whitespace is skipped
//! to classify a line as blank or comment (`#` only: `;` is not a comment), group (`[name]`,
//! only spaces or tabs after the `]`) or `key=value` (split at the first `=`, the key's trailing
//! whitespace and the value's leading whitespace dropped, the value's trailing whitespace
//! kept). Anything else, a key before the first group, or an invalid group or key name rejects
//! the whole file, as `g_key_file_load_from_file` does. Duplicate keys: the last wins; repeated
//! groups merge; both are reported as notices.

mod escape;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub(crate) use escape::escape_list;
pub use escape::{Escape, escape, split_list, unescape};

/// A line and how it ended.
#[derive(Clone, Debug)]
struct Line {
    /// The text without its terminator (a `\r` before the `\n` is in `ending`).
    raw: Raw,
    ending: Ending,
    kind: Kind,
}

/// A line's text: a range of the parsed text (no allocation per line), or its own text once
/// an edit changed it.
#[derive(Clone, Debug)]
enum Raw {
    Span(usize, usize),
    Owned(String),
}

impl Line {
    fn raw_in<'a>(&'a self, text: &'a str) -> &'a str {
        match &self.raw {
            Raw::Span(a, b) => &text[*a..*b],
            Raw::Owned(s) => s,
        }
    }

    /// The name, for a group header.
    fn group_in<'a>(&'a self, text: &'a str) -> Option<&'a str> {
        match self.kind {
            Kind::Group { name } => Some(self.part(text, name)),
            _ => None,
        }
    }

    /// The key, for an entry.
    fn key_in<'a>(&'a self, text: &'a str) -> Option<&'a str> {
        match self.kind {
            Kind::Entry { key, .. } => Some(self.part(text, key)),
            _ => None,
        }
    }

    /// The part `a..b` of the line's bytes, for comparisons (no character-boundary checks).
    fn part_bytes<'a>(&'a self, text: &'a str, (a, b): (usize, usize)) -> &'a [u8] {
        match &self.raw {
            Raw::Span(start, _) => &text.as_bytes()[start + a..start + b],
            Raw::Owned(s) => &s.as_bytes()[a..b],
        }
    }

    /// Whether this is the header of group `name`.
    fn is_group(&self, text: &str, name: &str) -> bool {
        matches!(self.kind, Kind::Group { name: r } if r.1 - r.0 == name.len() && self.part_bytes(text, r) == name.as_bytes())
    }

    /// Whether this is an entry of the group headed at line `group` with key `key`, translated
    /// keys left out. The length first: most entries differ there.
    fn is_entry(&self, text: &str, group: usize, key: &str) -> bool {
        matches!(self.kind, Kind::Entry { key: r, group: g, locale: false, .. }
            if g == group && r.1 - r.0 == key.len() && self.part_bytes(text, r) == key.as_bytes())
    }

    /// The part `a..b` of the line's text, sliced once.
    fn part<'a>(&'a self, text: &'a str, (a, b): (usize, usize)) -> &'a str {
        match &self.raw {
            Raw::Span(start, _) => &text[start + a..start + b],
            Raw::Owned(s) => &s[a..b],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Lf,
    CrLf,
    /// The last line, without a newline.
    None,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Lf => "\n",
            Ending::CrLf => "\r\n",
            Ending::None => "",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// Blank or a comment.
    Other,
    Group {
        /// Where the name is in `raw` (between the brackets).
        name: (usize, usize),
    },
    Entry {
        /// Where the key is in `raw`, as GLib stores it (a locale suffix included: `id[de]`).
        key: (usize, usize),
        /// Byte offset of the value in `raw` (after the leading whitespace).
        value_at: usize,
        /// Index of the group line this entry belongs to.
        group: usize,
        /// A later line sets the same key: this one is never read.
        shadowed: bool,
        /// A translated key (`id[de]`): never read.
        locale: bool,
    },
}

/// Why a file is rejected as a whole (GLib's `G_KEY_FILE_ERROR_PARSE` cases).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Nothing in the file.
    Empty,
    /// A key before the first group.
    NoGroup,
    /// A line that is no comment, group or key-value pair (`; comment`, `=value`, `[a] x`).
    NotKeyValue,
    /// `[]`, or a name with `[` or a control character.
    GroupName,
    /// A key that is empty, has `[` or `]` outside a locale suffix, or starts or ends with a space.
    KeyName,
    /// `Encoding=` in the first group other than `UTF-8`.
    Encoding,
}

/// A rejected file, with the place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based (characters).
    pub column: usize,
    /// What.
    pub kind: ParseErrorKind,
    /// GLib's wording, where it has one.
    pub message: String,
}

/// Something accepted that is worth knowing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// The line, 1-based.
    pub line: usize,
    /// What.
    pub kind: NoticeKind,
}

/// The notices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NoticeKind {
    /// A key set again in the same group: this later one wins.
    DuplicateKey {
        /// The group.
        group: String,
        /// The key.
        key: String,
        /// The line it overrides.
        earlier: usize,
    },
    /// A translated key (`id[de]=`): GLib loads it only for the process's languages, and
    /// NetworkManager never asks for one, so it has no effect.
    LocaleKey {
        /// The group.
        group: String,
        /// The key, with its locale.
        key: String,
    },
    /// A group opened again: its keys merge into the first.
    RepeatedGroup {
        /// The group.
        group: String,
        /// Where it first appeared.
        first: usize,
    },
}

/// Why a value cannot be read (GLib's `G_KEY_FILE_ERROR_INVALID_VALUE`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ValueError {
    /// `\` followed by something other than `s n t r \` (or `;` in a list).
    #[error("invalid escape sequence \\{escape} at byte {offset}")]
    InvalidEscape {
        /// The character after the backslash.
        escape: char,
        /// Byte offset in the value.
        offset: usize,
    },
    /// A `\` at the end of the value.
    #[error("escape character at end of value")]
    TrailingEscape,
}

/// One entry as [`Document::entries`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// Its group (the first header's name for a repeated group).
    pub group: &'a str,
    /// The key.
    pub key: &'a str,
    /// The raw value (escapes not processed).
    pub value: &'a str,
    /// Line, 1-based.
    pub line: usize,
}

/// Where an entry is in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Line, 1-based.
    pub line: usize,
    /// Column of the key, 1-based (characters).
    pub key_column: usize,
    /// Column of the value, 1-based (characters).
    pub value_column: usize,
}

/// Past this many lines, parsing finds earlier groups and keys through maps rather than scans.
const BIG_FILE_LINES: usize = 256;

/// A keyfile, every byte kept.
#[derive(Clone, Debug)]
pub struct Document {
    /// The text parsed; lines not edited since are ranges of it.
    text: String,
    lines: Vec<Line>,
    notices: Vec<Notice>,
    /// Each group once, for lookups (rebuilt whenever lines are added or removed).
    spans: Vec<GroupSpan>,
}

/// A group as lookups see it: its first header line, where that first run of lines ends, and
/// whether it is opened again further on (GLib merges the runs; lookups then search them all).
#[derive(Clone, Debug)]
struct GroupSpan {
    header: usize,
    end: usize,
    repeated: bool,
    /// The name's length and first 16 bytes: lookups compare these first, in two machine
    /// words, and the whole name only when they agree and it is longer.
    name_len: usize,
    name_head: u128,
}

/// The first 16 bytes of `name`, zero-padded, as one number.
fn head(name: &[u8]) -> u128 {
    let mut buf = [0u8; 16];
    let n = name.len().min(16);
    buf[..n].copy_from_slice(&name[..n]);
    u128::from_le_bytes(buf)
}

impl PartialEq for Document {
    /// Same lines (text, ending, meaning) and notices, however each line is stored.
    fn eq(&self, other: &Document) -> bool {
        self.lines.len() == other.lines.len()
            && self.notices == other.notices
            && self
                .lines
                .iter()
                .zip(&other.lines)
                .all(|(a, b)| a.raw_in(&self.text) == b.raw_in(&other.text) && a.ending == b.ending && a.kind == b.kind)
    }
}

impl Eq for Document {}

fn is_space(c: char) -> bool {
    // g_ascii_isspace: space, \t, \n, \v, \f, \r.
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

fn column(raw: &str, byte: usize) -> usize {
    raw[..byte].chars().count() + 1
}

/// `g_key_file_is_group_name`.
fn valid_group(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '[' || c == ']' || c.is_ascii_control())
}

/// `g_key_file_is_key_name`.
pub(crate) fn valid_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let end = bytes.iter().position(|&b| matches!(b, b'=' | b'[' | b']')).unwrap_or(bytes.len());
    let base = &bytes[..end];
    if base.is_empty() || base[0] == b' ' || base[end - 1] == b' ' {
        return false;
    }
    // `end` is at an ASCII byte or the end: a character boundary.
    let mut rest = &key[end..];
    if let Some(locale) = rest.strip_prefix('[') {
        let close =
            locale.find(|c: char| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))).unwrap_or(locale.len());
        if !locale[close..].starts_with(']') {
            return false;
        }
        rest = &locale[close + 1..];
    }
    rest.is_empty()
}

impl Document {
    /// Parses a keyfile as NetworkManager loads it.
    ///
    /// ```
    /// use bm_nmconn::Document;
    /// let text = "[connection]\nid=eth0\n\n[ipv4]\naddress1=10.10.99.99\\24\nmethod=manual\n";
    /// let doc = Document::parse(text).unwrap();
    /// assert_eq!(doc.to_string(), text); // lossless
    /// // GLib reads the typo as an invalid escape: NetworkManager then drops the address.
    /// assert!(doc.get_string("ipv4", "address1").is_err());
    /// assert_eq!(doc.get_string("ipv4", "method").unwrap().as_deref(), Some("manual"));
    /// ```
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        if text.is_empty() {
            return Err(ParseError {
                line: 1,
                column: 1,
                kind: ParseErrorKind::Empty,
                message: "File is empty".into(),
            });
        }
        // One pass over the bytes: lines are short, so a plain loop beats a memchr call per
        // line. Capacity from a typical keyfile line length; most files need no regrowth.
        let bytes = text.as_bytes();
        let mut lines = Vec::with_capacity(bytes.len() / 10 + 4);
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                let (end, ending) =
                    if i > start && bytes[i - 1] == b'\r' { (i - 1, Ending::CrLf) } else { (i, Ending::Lf) };
                lines.push(Line { raw: Raw::Span(start, end), ending, kind: Kind::Other });
                start = i + 1;
            }
        }
        if start < bytes.len() {
            lines.push(Line { raw: Raw::Span(start, bytes.len()), ending: Ending::None, kind: Kind::Other });
        }
        let mut doc = Document { text: text.to_string(), lines, notices: Vec::new(), spans: Vec::new() };
        doc.classify()?;
        doc.index_groups();
        Ok(doc)
    }

    /// Sorts every line into blank/comment, group or entry, and checks names.
    fn classify(&mut self) -> Result<(), ParseError> {
        let mut current: Option<usize> = None;
        let mut first_group: Option<usize> = None;
        // Earlier groups and keys are found among the lines already classified: a keyfile is
        // a few dozen lines, so a scan costs less than a map and allocates nothing. A big file
        // gets maps instead, so that parsing stays linear whatever the input.
        let text = std::mem::take(&mut self.text);
        let big = self.lines.len() > BIG_FILE_LINES;
        let mut group_at: Option<HashMap<&str, usize>> = big.then(HashMap::new);
        let mut key_at: Option<HashMap<(usize, &str), usize>> = big.then(HashMap::new);
        for n in 0..self.lines.len() {
            // Every line is a span right after parsing.
            let Raw::Span(a, b) = self.lines[n].raw else { continue };
            let raw = &text[a..b];
            let start = raw.len() - raw.trim_start_matches(is_space).len();
            let t = &raw[start..];
            let err = |kind: ParseErrorKind, at: usize, message: String| ParseError {
                line: n + 1,
                column: column(raw, at),
                kind,
                message,
            };
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(after) = t.strip_prefix('[')
                && let Some(close) = after.bytes().position(|b| b == b']')
                && after[close + 1..].chars().all(|c| c == ' ' || c == '\t')
            {
                let name = &after[..close];
                if !valid_group(name) {
                    return Err(err(ParseErrorKind::GroupName, start, format!("Invalid group name: {name}")));
                }
                // GLib merges a repeated group into the first one.
                let first = match &mut group_at {
                    Some(map) => {
                        let first = map.get(name).copied();
                        map.entry(name).or_insert(n);
                        first
                    }
                    None => self.lines[..n].iter().position(|l| l.is_group(&text, name)),
                };
                let canonical = match first {
                    Some(first) => {
                        self.notices.push(Notice {
                            line: n + 1,
                            kind: NoticeKind::RepeatedGroup { group: name.into(), first: first + 1 },
                        });
                        first
                    }
                    None => n,
                };
                self.lines[n].kind = Kind::Group { name: (start + 1, start + 1 + close) };
                current = Some(canonical);
                first_group.get_or_insert(canonical);
                continue;
            }
            let Some(eq) = t.bytes().position(|b| b == b'=').filter(|&i| i > 0) else {
                return Err(err(
                    ParseErrorKind::NotKeyValue,
                    start,
                    format!("Key file contains line “{t}” which is not a key-value pair, group, or comment"),
                ));
            };
            let key = t[..eq].trim_end_matches(is_space);
            let Some(group) = current else {
                return Err(err(ParseErrorKind::NoGroup, start, "Key file does not start with a group".into()));
            };
            if !valid_key(key) {
                return Err(err(ParseErrorKind::KeyName, start, format!("Invalid key name: {key}")));
            }
            let value_rel = t[eq + 1..].len() - t[eq + 1..].trim_start_matches(is_space).len();
            let value_at = start + eq + 1 + value_rel;
            let value = &raw[value_at..];
            if key == "Encoding" && Some(group) == first_group && value != "UTF-8" {
                return Err(err(
                    ParseErrorKind::Encoding,
                    value_at,
                    format!("Key file contains unsupported encoding “{value}”"),
                ));
            }
            let group_name = || self.lines[group].group_in(&text).unwrap_or_default().to_string();
            if key.as_bytes().contains(&b'[') {
                // Kept in the document, invisible to readers (GLib drops it at load).
                let notice =
                    Notice { line: n + 1, kind: NoticeKind::LocaleKey { group: group_name(), key: key.into() } };
                self.notices.push(notice);
                self.lines[n].kind =
                    Kind::Entry { key: (start, start + key.len()), value_at, group, shadowed: false, locale: true };
                continue;
            }
            let earlier = match &mut key_at {
                Some(map) => map.insert((group, key), n),
                None => self.lines[..n].iter().rposition(|l| l.is_entry(&text, group, key)),
            };
            if let Some(earlier) = earlier {
                let kind = NoticeKind::DuplicateKey { group: group_name(), key: key.to_string(), earlier: earlier + 1 };
                self.notices.push(Notice { line: n + 1, kind });
                if let Kind::Entry { shadowed, .. } = &mut self.lines[earlier].kind {
                    *shadowed = true;
                }
            }
            let key = (start, start + key.len());
            self.lines[n].kind = Kind::Entry { key, value_at, group, shadowed: false, locale: false };
        }
        self.text = text;
        Ok(())
    }

    /// Duplicate keys and repeated groups, in file order.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// Group names, each once, in order of first appearance.
    pub fn groups(&self) -> Vec<&str> {
        self.group_names().collect()
    }

    /// [`Document::groups`], without collecting them.
    pub fn group_names(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|s| self.group_name(s.header))
    }

    /// The name of the group whose header is line index `n`.
    fn group_name(&self, n: usize) -> &str {
        self.lines[n].group_in(&self.text).unwrap_or_default()
    }

    /// Rebuilds `spans` from the lines.
    fn index_groups(&mut self) {
        let mut spans = std::mem::take(&mut self.spans);
        spans.clear();
        spans.reserve(8);
        // The span whose first run is open, if the current run is a first one.
        let mut open: Option<usize> = None;
        for (i, l) in self.lines.iter().enumerate() {
            let Some(name) = l.group_in(&self.text) else { continue };
            if let Some(k) = open.take() {
                spans[k].end = i;
            }
            let same = |s: &GroupSpan| s.name_len == name.len() && self.lines[s.header].is_group(&self.text, name);
            match spans.iter().position(same) {
                Some(k) => spans[k].repeated = true,
                None => {
                    spans.push(GroupSpan {
                        header: i,
                        end: self.lines.len(),
                        repeated: false,
                        name_len: name.len(),
                        name_head: head(name.as_bytes()),
                    });
                    open = Some(spans.len() - 1);
                }
            }
        }
        self.spans = spans;
    }

    /// The span of `group`.
    fn span(&self, group: &str) -> Option<&GroupSpan> {
        let (len, h) = (group.len(), head(group.as_bytes()));
        self.spans.iter().find(|s| {
            s.name_len == len && s.name_head == h && (len <= 16 || self.lines[s.header].is_group(&self.text, group))
        })
    }

    /// Every entry NetworkManager reads, in file order: translated keys and keys set again
    /// later in their group are left out. Cheaper than a lookup per key.
    pub fn entries(&self) -> impl Iterator<Item = EntryRef<'_>> {
        self.lines.iter().enumerate().filter_map(move |(n, l)| match &l.kind {
            Kind::Entry { key, value_at, group, shadowed: false, locale: false } => {
                let raw = l.raw_in(&self.text);
                let key = &raw[key.0..key.1];
                let group = self.group_name(*group);
                Some(EntryRef { group, key, value: &raw[*value_at..], line: n + 1 })
            }
            _ => None,
        })
    }

    /// [`Document::entries`] of one group, found through its header rather than by comparing
    /// every entry's group name.
    pub fn entries_of<'d>(&'d self, group: &str) -> impl Iterator<Item = EntryRef<'d>> + 'd {
        let (header, lines) = match self.span(group) {
            // A repeated group's entries can be anywhere after its first header.
            Some(s) if s.repeated => (s.header, &self.lines[s.header..]),
            Some(s) => (s.header, &self.lines[s.header..s.end]),
            None => (usize::MAX, &self.lines[..0]),
        };
        let name = if header == usize::MAX { "" } else { self.group_name(header) };
        lines.iter().enumerate().filter_map(move |(i, l)| match &l.kind {
            Kind::Entry { key, value_at, group, shadowed: false, locale: false } if *group == header => {
                let raw = l.raw_in(&self.text);
                Some(EntryRef { group: name, key: &raw[key.0..key.1], value: &raw[*value_at..], line: header + i + 1 })
            }
            _ => None,
        })
    }

    /// Whether a group exists.
    pub fn has_group(&self, group: &str) -> bool {
        self.group_line(group).is_some()
    }

    /// The group line index (the first occurrence) of `group`.
    fn group_line(&self, group: &str) -> Option<usize> {
        self.span(group).map(|s| s.header)
    }

    /// Keys of a group, each once, in order of first appearance (translated keys left out, as
    /// GLib leaves them out).
    pub fn keys(&self, group: &str) -> Vec<&str> {
        let Some(g) = self.group_line(group) else { return Vec::new() };
        let mut out: Vec<&str> = Vec::new();
        for l in &self.lines {
            if let Kind::Entry { group, locale: false, .. } = &l.kind
                && *group == g
                && let Some(key) = l.key_in(&self.text)
                && !out.contains(&key)
            {
                out.push(key);
            }
        }
        out
    }

    /// The line index of the entry that wins for (group, key): the last. Translated keys are
    /// never found, as GLib never loads them.
    fn entry(&self, group: &str, key: &str) -> Option<usize> {
        let span = self.span(group)?;
        let g = span.header;
        // Translated keys never match (GLib never loads them), and only they can contain `[`.
        let matches = |l: &Line| l.is_entry(&self.text, g, key);
        // A group opened once is one run of lines: search only that run. A repeated group
        // (rare) has entries further on: search the whole file.
        if span.repeated {
            return self.lines.iter().rposition(matches);
        }
        self.lines[g + 1..span.end].iter().rposition(matches).map(|i| g + 1 + i)
    }

    /// The raw value as written (escapes not processed), and its line (1-based).
    pub fn get_raw(&self, group: &str, key: &str) -> Option<(&str, usize)> {
        let n = self.entry(group, key)?;
        match &self.lines[n].kind {
            Kind::Entry { value_at, .. } => Some((&self.raw(n)[*value_at..], n + 1)),
            _ => None,
        }
    }

    /// Where the winning entry of (group, key) is: its line, the column of its key and the
    /// column of its value (1-based, in characters).
    pub fn locate(&self, group: &str, key: &str) -> Option<Location> {
        let n = self.entry(group, key)?;
        let raw = self.raw(n);
        let Kind::Entry { value_at, .. } = &self.lines[n].kind else { return None };
        let key_at = raw.len() - raw.trim_start_matches(is_space).len();
        Some(Location { line: n + 1, key_column: column(raw, key_at), value_column: column(raw, *value_at) })
    }

    /// Where an entry [`Document::entries`] or [`Document::entries_of`] yielded is, without a
    /// lookup.
    pub fn locate_entry(&self, e: &EntryRef<'_>) -> Location {
        let raw = self.line_text(e.line).unwrap_or_default();
        // The entry's key and value are slices of this line.
        let offset = |part: &str| (part.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize).min(raw.len());
        let col = |at: usize| raw.get(..at).map_or(1, |s| s.chars().count() + 1);
        Location { line: e.line, key_column: col(offset(e.key)), value_column: col(offset(e.value)) }
    }

    /// The line (1-based) of a group's first header.
    pub fn group_line_number(&self, group: &str) -> Option<usize> {
        self.group_line(group).map(|n| n + 1)
    }

    /// The text of a line (1-based), without its terminator.
    pub fn line_text(&self, line: usize) -> Option<&str> {
        self.lines.get(line.checked_sub(1)?).map(|l| l.raw_in(&self.text))
    }

    /// The value as `g_key_file_get_string` returns it, borrowed when it has no escape.
    pub fn get_str(&self, group: &str, key: &str) -> Result<Option<Cow<'_, str>>, ValueError> {
        self.get_raw(group, key).map(|(raw, _)| unescape(raw, Escape::String)).transpose()
    }

    /// The value as `g_key_file_get_string` returns it: escapes processed, `\;` refused.
    pub fn get_string(&self, group: &str, key: &str) -> Result<Option<String>, ValueError> {
        self.get_raw(group, key).map(|(raw, _)| unescape(raw, Escape::String).map(Cow::into_owned)).transpose()
    }

    /// The value as `g_key_file_get_string_list` returns it: split on unescaped `;`, a
    /// trailing `;` optional.
    pub fn get_list(&self, group: &str, key: &str) -> Result<Option<Vec<String>>, ValueError> {
        self.get_raw(group, key).map(|(raw, _)| split_list(raw)).transpose()
    }

    /// Sets a value (escaped as GLib's writer escapes it): the winning entry's line is rewritten
    /// in place (its key and spacing kept); a new key goes after the group's last entry; a new
    /// group goes at the end. Every other line stays as it was.
    pub fn set_string(&mut self, group: &str, key: &str, value: &str) {
        self.set_raw(group, key, &escape(value, Escape::String));
    }

    /// Sets a list value, each element escaped and followed by `;` (NetworkManager's form).
    pub fn set_list(&mut self, group: &str, key: &str, values: &[&str]) {
        self.set_raw(group, key, &escape_list(values));
    }

    fn set_raw(&mut self, group: &str, key: &str, raw_value: &str) {
        if let Some(n) = self.entry(group, key) {
            if let Kind::Entry { value_at, .. } = self.lines[n].kind {
                let mut new = self.raw(n)[..value_at].to_string();
                new.push_str(raw_value);
                self.lines[n].raw = Raw::Owned(new);
            }
            return;
        }
        let ending = self.lines.iter().find(|l| l.ending != Ending::None).map_or(Ending::Lf, |l| l.ending);
        let entry_line = |group_index: usize| Line {
            raw: Raw::Owned(format!("{key}={raw_value}")),
            ending,
            kind: Kind::Entry {
                key: (0, key.len()),
                value_at: key.len() + 1,
                group: group_index,
                shadowed: false,
                locale: key.contains('['),
            },
        };
        match self.group_line(group) {
            Some(g) => {
                // After the last line belonging to the group (its last entry, or its header).
                let last = (0..self.lines.len())
                    .rev()
                    .find(|&i| i == g || matches!(&self.lines[i].kind, Kind::Entry { group, .. } if *group == g))
                    .unwrap_or(g);
                self.ensure_terminated(last);
                self.lines.insert(last + 1, entry_line(g));
                self.reindex(last + 1);
            }
            None => {
                if let Some(last) = self.lines.len().checked_sub(1) {
                    self.ensure_terminated(last);
                    if !self.raw(last).trim().is_empty() {
                        self.lines.push(Line { raw: Raw::Owned(String::new()), ending, kind: Kind::Other });
                    }
                }
                let g = self.lines.len();
                self.lines.push(Line {
                    raw: Raw::Owned(format!("[{group}]")),
                    ending,
                    kind: Kind::Group { name: (1, 1 + group.len()) },
                });
                self.lines.push(entry_line(g));
                self.index_groups();
            }
        }
    }

    /// Removes a group (every occurrence), its entries, and the comments and blank lines
    /// inside it. Returns whether there was one.
    pub fn remove_group(&mut self, group: &str) -> bool {
        let mut removed = false;
        let mut i = 0;
        let mut inside = false;
        while i < self.lines.len() {
            if let Some(name) = self.lines[i].group_in(&self.text) {
                inside = name == group;
            }
            if inside {
                self.lines.remove(i);
                removed = true;
            } else {
                i += 1;
            }
        }
        if removed {
            self.reindex(0);
        }
        removed
    }

    /// Removes a key from a group (every occurrence). Returns whether there was one.
    pub fn remove(&mut self, group: &str, key: &str) -> bool {
        let Some(g) = self.group_line(group) else { return false };
        let before = self.lines.len();
        let mut i = 0;
        while i < self.lines.len() {
            let line = &self.lines[i];
            if matches!(&line.kind, Kind::Entry { group, .. } if *group == g) && line.key_in(&self.text) == Some(key) {
                let ending = self.lines[i].ending;
                self.lines.remove(i);
                // Keep the file's last-line-without-newline shape.
                if i == self.lines.len() && ending == Ending::None && i > 0 {
                    self.lines[i - 1].ending = Ending::None;
                }
                self.reindex(i);
            } else {
                i += 1;
            }
        }
        self.notices.retain(
            |n| !matches!(&n.kind, NoticeKind::DuplicateKey { group: g2, key: k2, .. } if g2 == group && k2 == key),
        );
        self.lines.len() != before
    }

    /// Line `n`'s text.
    fn raw(&self, n: usize) -> &str {
        self.lines[n].raw_in(&self.text)
    }

    /// A line that gets a successor needs a newline of its own.
    fn ensure_terminated(&mut self, n: usize) {
        if self.lines[n].ending == Ending::None {
            self.lines[n].ending = Ending::Lf;
        }
    }

    /// Fixes the group indices and spans after a line was inserted at or removed from `at`.
    fn reindex(&mut self, _at: usize) {
        let mut current = None;
        let mut firsts: Vec<(String, usize)> = Vec::new();
        for i in 0..self.lines.len() {
            match &self.lines[i].kind {
                Kind::Group { .. } => {
                    let name = self.lines[i].group_in(&self.text).unwrap_or_default();
                    let first = match firsts.iter().find(|(g, _)| g == name) {
                        Some((_, f)) => *f,
                        None => {
                            firsts.push((name.to_string(), i));
                            i
                        }
                    };
                    current = Some(first);
                }
                Kind::Entry { .. } => {
                    if let (Kind::Entry { group, .. }, Some(c)) = (&mut self.lines[i].kind, current) {
                        *group = c;
                    }
                }
                Kind::Other => {}
            }
        }
        self.index_groups();
    }
}

impl fmt::Display for Document {
    /// The file, byte for byte as parsed (with edits applied).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for l in &self.lines {
            f.write_str(l.raw_in(&self.text))?;
            f.write_str(l.ending.as_str())?;
        }
        Ok(())
    }
}
