//! GKeyFile as GLib 2.74's `gkeyfile.c` reads it (research nmconn.md §1.2), kept lossless.
//!
//! Lines are split on `\n` with one trailing `\r` dropped, and read up to their first NUL byte
//! (GLib reads each line as a C string; the rest of the line is kept here but never read, and
//! reported as a notice); leading whitespace (`g_ascii_isspace`: space, `\t`, `\n`, `\f`, `\r`,
//! not `\v`) is skipped to classify a line as blank or comment (`#` only: `;` is not a
//! comment), group (`[name]`, only spaces or tabs after the `]`) or `key=value` (split at the
//! first `=`, the key's trailing whitespace and the value's leading whitespace dropped, the
//! value's trailing whitespace kept). Anything else, a key before the first group, or an invalid group or key name rejects
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
    /// The text without its terminator (a `\r` before the `\n` is in `ending`), up to its
    /// first NUL byte (the NUL and the rest of the line are in `ending`).
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

    /// What follows the text up to the line's end when the line has a NUL byte: the NUL and
    /// the rest of the line (its `\r` included), which GLib never reads; empty otherwise. Only
    /// a line as parsed has one: an edit that rewrites a line drops it.
    fn tail_in<'a>(&self, text: &'a str) -> &'a str {
        match (&self.raw, self.ending) {
            (Raw::Span(_, b), Ending::NulLf | Ending::NulEof) => &text[*b..newline_at(text.as_bytes(), *b)],
            _ => "",
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
    fn is_entry(&self, text: &str, group: usize, key: &[u8]) -> bool {
        matches!(self.kind, Kind::Entry { key: r, group: g, locale: false, .. }
            if g == group && r.1 - r.0 == key.len() && self.part_bytes(text, r) == key)
    }

    /// While parsing (every line a range of `text`): the part `a..b` of the line, borrowed
    /// from `text` rather than from the line.
    fn parsed_part<'t>(&self, text: &'t str, (a, b): (usize, usize)) -> &'t str {
        match &self.raw {
            Raw::Span(start, _) => &text[start + a..start + b],
            Raw::Owned(_) => "",
        }
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
    /// A NUL byte and the rest of the line ([`Line::tail_in`]), then `\n`.
    NulLf,
    /// A NUL byte and the rest of the text, the last line.
    NulEof,
}

impl Ending {
    /// The terminator written after the line's text and tail.
    fn as_str(self) -> &'static str {
        match self {
            Ending::Lf | Ending::NulLf => "\n",
            Ending::CrLf => "\r\n",
            Ending::None | Ending::NulEof => "",
        }
    }

    /// Whether the line is the text's last, without a newline.
    fn at_eof(self) -> bool {
        matches!(self, Ending::None | Ending::NulEof)
    }

    /// The same ending on a line that gets a successor.
    fn terminated(self) -> Ending {
        match self {
            Ending::None => Ending::Lf,
            Ending::NulEof => Ending::NulLf,
            e => e,
        }
    }

    /// The same ending on a line that becomes the last.
    fn unterminated(self) -> Ending {
        match self {
            Ending::Lf | Ending::CrLf => Ending::None,
            Ending::NulLf => Ending::NulEof,
            e => e,
        }
    }

    /// The ending of a line rewritten by an edit (its tail, if any, dropped).
    fn without_tail(self) -> Ending {
        match self {
            Ending::NulLf => Ending::Lf,
            Ending::NulEof => Ending::None,
            e => e,
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

impl ParseError {
    /// An error on line index `n`, whose text is `raw`, at byte `at` of it.
    #[cold]
    fn at(raw: &str, n: usize, kind: ParseErrorKind, at: usize, message: String) -> ParseError {
        ParseError { line: n + 1, column: column(raw, at), kind, message }
    }
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
#[non_exhaustive]
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
    /// A NUL byte: GLib reads the line only up to it (a value ends there, a group header or
    /// comment is read without the rest); the NUL and the rest of the line are ignored.
    NulByte {
        /// Its column, 1-based (characters).
        column: usize,
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
    /// While parsing: a bit per key of the group (see [`key_filter_bit`]).
    keys: u64,
}

/// The first 16 bytes of `name`, zero-padded, as one number: two loads that may overlap, the
/// overlap shifted out.
fn head(name: &[u8]) -> u128 {
    let n = name.len();
    let u64_at = |i: usize| {
        let b = &name[i..i + 8];
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    let u32_at = |i: usize| u32::from_le_bytes([name[i], name[i + 1], name[i + 2], name[i + 3]]);
    match n {
        16.. => u128::from(u64_at(0)) | u128::from(u64_at(8)) << 64,
        9..=15 => u128::from(u64_at(0)) | u128::from(u64_at(n - 8) >> (8 * (16 - n))) << 64,
        8 => u128::from(u64_at(0)),
        4..=7 => u128::from(u32_at(0)) | u128::from(u64::from(u32_at(n - 4)) >> (8 * (8 - n))) << 32,
        _ => name.iter().enumerate().fold(0, |h, (i, &b)| h | u128::from(b) << (8 * i)),
    }
}

/// The empty buffers a document is parsed into.
#[derive(Default)]
struct Buffers {
    text: String,
    lines: Vec<Line>,
    notices: Vec<Notice>,
    spans: Vec<GroupSpan>,
}

impl PartialEq for Document {
    /// Same lines (text, ending, meaning) and notices, however each line is stored.
    fn eq(&self, other: &Document) -> bool {
        self.lines.len() == other.lines.len()
            && self.notices == other.notices
            && self.lines.iter().zip(&other.lines).all(|(a, b)| {
                a.raw_in(&self.text) == b.raw_in(&other.text)
                    && a.tail_in(&self.text) == b.tail_in(&other.text)
                    && a.ending == b.ending
                    && a.kind == b.kind
            })
    }
}

impl Eq for Document {}

pub(crate) fn is_space(c: char) -> bool {
    // g_ascii_isspace: space, \t, \n, \f, \r; not \v (GLib's table, unlike C's isspace):
    // `k=\vv` reads as `\vv`, a line of `\v` alone is no blank line (checked with GLib 2.74).
    matches!(c, ' ' | '\t' | '\n' | '\u{c}' | '\r')
}

/// [`is_space`] of a byte (every such character is one byte).
fn is_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0c | b'\r')
}

/// A line as [`cut`] finds it.
struct Cut {
    /// Where its text ends (before `\n` or `\r\n`).
    end: usize,
    /// Where the next line starts.
    next: usize,
    ending: Ending,
    /// Its first byte that is no whitespace, from the line's start.
    start: usize,
    shape: Shape,
}

/// What a line is, by its bytes (names are checked after).
enum Shape {
    /// Blank or a comment.
    Blank,
    /// A group header: `[`, the `]` at `close` from `start`, then only spaces and tabs;
    /// `valid` when the name between is one GLib takes ([`group_close`]).
    Group { close: usize, valid: bool },
    /// A key-value pair, the first `=` at `eq` from `start` (0: no `=`, or an empty key: the
    /// line is none of GLib's kinds), `bracket` when a `[` or `]` comes before it.
    Entry { eq: usize, bracket: bool },
}

/// Whether `bytes` has a NUL byte: a word at a time, the words' zero-byte tests ORed together
/// and looked at once (a keyfile has no NUL, so every byte is read either way; a branch per
/// byte, as `<[u8]>::contains` takes here, made parsing a quarter dearer).
fn has_nul(bytes: &[u8]) -> bool {
    let mut words = bytes.chunks_exact(8);
    let mut flags = 0;
    for w in words.by_ref() {
        flags |= zero_bytes(u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
    }
    flags != 0 || words.remainder().contains(&0)
}

/// The line at `pos` in a text with a NUL byte somewhere. GLib reads a line as a C string (its
/// `g_key_file_parse_line` and helpers use `strchr` and `g_strndup`): a line with a NUL is cut
/// and sorted on its bytes before the NUL (after the `\r` before its `\n` is dropped, which only
/// matters when the NUL is last), and the NUL and the rest of the line become its ending. Gives
/// the bytes to cut the line in (the text, or the text up to the NUL), and where the NUL is
/// from `pos`, where the line's newline is (or the text's end).
fn nul_in_line(bytes: &[u8], pos: usize) -> (&[u8], Option<(usize, usize)>) {
    let newline = newline_at(bytes, pos);
    match bytes[pos..newline].iter().position(|&b| b == 0) {
        Some(nul) => (&bytes[..pos + nul], Some((nul, newline))),
        None => (bytes, None),
    }
}

/// Cuts the line starting at `pos` and sorts it, in one pass over its bytes.
fn cut(bytes: &[u8], pos: usize) -> Cut {
    let len = bytes.len();
    let mut i = pos;
    while i < len && bytes[i] != b'\n' && is_space_byte(bytes[i]) {
        i += 1;
    }
    let start = i - pos;
    let (newline, shape) = match bytes.get(i) {
        None | Some(b'\n') => (i, Shape::Blank),
        Some(b'#') => (newline_at(bytes, i), Shape::Blank),
        Some(b'[') => match group_close(bytes, i) {
            Some((close, valid, newline)) => (newline, Shape::Group { close: close - i, valid }),
            None => entry(bytes, i),
        },
        Some(_) => entry(bytes, i),
    };
    let (end, next, ending) = if newline == len {
        (len, len, Ending::None)
    } else if newline > pos && bytes[newline - 1] == b'\r' {
        (newline - 1, newline + 1, Ending::CrLf)
    } else {
        (newline, newline + 1, Ending::Lf)
    };
    // A blank line's whitespace may run into its `\r\n`.
    Cut { end, next, ending, start: start.min(end - pos), shape }
}

/// The `]` of a group header opened at `at`, whether the name before it is valid, and the end
/// of its line: `None` when the line has no `]`, or more than spaces and tabs after it.
fn group_close(bytes: &[u8], at: usize) -> Option<(usize, bool, usize)> {
    let mut i = at + 1;
    // `g_key_file_is_group_name`: no `[` nor control character (every byte of a multi-byte
    // character is past ASCII, so bytes tell), and not empty.
    let mut valid = true;
    // Eight bytes at a time up to the first byte that is `]`, `[` or a control character (the
    // lowest flagged byte is exact, see [`zero_bytes`]); that byte and the rest one at a time.
    while let Some(word) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes([word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7]]);
        let flags = zero_bytes(w ^ splat(b']'))
            | zero_bytes(w ^ splat(b'['))
            | zero_bytes(w ^ splat(0x7f))
            | (w.wrapping_sub(splat(0x20)) & !w & splat(0x80));
        if flags != 0 {
            i += (flags.trailing_zeros() / 8) as usize;
            break;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i] != b']' {
        match bytes[i] {
            b'\n' => return None,
            b'[' => valid = false,
            b => valid &= !b.is_ascii_control(),
        }
        i += 1;
    }
    let close = i;
    valid &= close > at + 1;
    i += 1;
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    // The line may end here: the text's end, `\n`, or `\r\n` (a lone `\r` is text).
    match bytes.get(i) {
        _ if close >= bytes.len() => None,
        None | Some(b'\n') => Some((close, valid, i)),
        Some(b'\r') if bytes.get(i + 1) == Some(&b'\n') => Some((close, valid, i + 1)),
        _ => None,
    }
}

/// A key-value line from its first non-space byte at `at`: the end of the line, and where the
/// first `=` is (0 when there is none) and whether a bracket comes before it. Sixteen bytes
/// at a time ([`flags16`]): the first byte that is `=`, `[`, `]` or `\n` is the lowest flagged
/// one (see [`newline_at`]).
fn entry(bytes: &[u8], at: usize) -> (usize, Shape) {
    let mut bracket = false;
    let mut i = at;
    let key_flags = |w: u64| {
        zero_bytes(w ^ splat(b'='))
            | zero_bytes(w ^ splat(b'\n'))
            | zero_bytes(w ^ splat(b'['))
            | zero_bytes(w ^ splat(b']'))
    };
    loop {
        let b = match flags16(bytes, i, key_flags) {
            Some(0) => {
                i += 16;
                continue;
            }
            Some(flags) => {
                i += (flags.trailing_zeros() / 8) as usize;
                bytes[i]
            }
            None => match bytes.get(i) {
                Some(&b) if matches!(b, b'=' | b'\n' | b'[' | b']') => b,
                Some(_) => {
                    i += 1;
                    continue;
                }
                None => break,
            },
        };
        match b {
            b'=' => return (newline_at(bytes, i + 1), Shape::Entry { eq: i - at, bracket }),
            b'\n' => break,
            _ => bracket = true,
        }
        i += 1;
    }
    (i, Shape::Entry { eq: 0, bracket })
}

/// The flags `f` gives the sixteen bytes at `i`, read as two words (the first in the low
/// half), or `None` past the text's end. Sixteen bytes a step: most keys and values end within
/// the first, and a loop that nearly always stops at its first step is one the CPU predicts
/// (with eight, where it stops depends on the length, and the CPU guesses wrong).
#[inline(always)]
fn flags16(bytes: &[u8], i: usize, f: impl Fn(u64) -> u64) -> Option<u128> {
    let b = bytes.get(i..i + 16)?;
    let lo = u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let hi = u64::from_le_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    // A false flag (see [`zero_bytes`]) is only ever above a true one of its own word: the
    // lowest flag of the two stays exact.
    Some(u128::from(f(lo)) | u128::from(f(hi)) << 64)
}

/// The high bit of each zero byte of `w`, and possibly of bytes above the lowest zero byte
/// (a borrow): the lowest flag is always exact.
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(splat(1)) & !w & splat(0x80)
}

/// Whether a value has a `\\`: eight bytes at a time, the last few in one word too (values are
/// short: a memchr call's set-up, or a loop over the last bytes, costs more than the value).
#[inline]
pub(crate) fn has_backslash(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let flagged = |w: u64| zero_bytes(w ^ splat(b'\\')) != 0;
    let word = |i: usize| {
        let b = &bytes[i..i + 8];
        u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    };
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if flagged(word(i)) {
                return true;
            }
            i += 8;
        }
        // The bytes left, in the word that ends the value (it overlaps the one before).
        return i < n && flagged(word(n - 8));
    }
    // Fewer than eight bytes, gathered in one word by loads that may overlap (overlapping
    // bytes agree); the bytes not loaded are zero, which is no backslash.
    let w = match n {
        4.. => {
            let u32_at = |i: usize| u64::from(u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]));
            u32_at(0) | u32_at(n - 4) << (8 * (n - 4))
        }
        1.. => {
            let at = |i: usize| u64::from(bytes[i]) << (8 * i);
            at(0) | at(n / 2) | at(n - 1)
        }
        0 => return false,
    };
    flagged(w)
}

/// Repeats a byte in every byte of a word.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// The first `\n` at or after `i`, or the end: sixteen bytes at a time (bytes equal to `\n`
/// are the zero bytes of the word XOR `\n`; the lowest flagged byte is the first of them).
fn newline_at(bytes: &[u8], mut i: usize) -> usize {
    while let Some(flags) = flags16(bytes, i, |w| zero_bytes(w ^ splat(b'\n'))) {
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 16;
    }
    while i < bytes.len() && bytes[i] != b'\n' {
        i += 1;
    }
    i
}

/// The bit of a group's key filter a key sets: a key is looked for among the earlier lines only
/// when its bit is already set (two different keys may share one; the scan then tells).
fn key_filter_bit(key: &[u8]) -> u64 {
    let h = key.len() as u32 ^ u32::from(key[0]) << 6 ^ u32::from(key[key.len() - 1]) << 13;
    1 << (h.wrapping_mul(0x9e37_79b1) >> 26)
}

fn column(raw: &str, byte: usize) -> usize {
    raw[..byte].chars().count() + 1
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

/// The entries of one group's span, as [`Document::entries_of`] gives them: a loop of its own
/// rather than a `filter_map` (whose closure, called through a reference once per line, the
/// compiler did not inline).
struct SpanEntries<'d> {
    text: &'d str,
    lines: std::slice::Iter<'d, Line>,
    /// The index of the line `lines` yields next.
    line: usize,
    /// The group's header line.
    header: usize,
    name: &'d str,
}

impl<'d> Iterator for SpanEntries<'d> {
    type Item = EntryRef<'d>;

    #[inline]
    fn next(&mut self) -> Option<EntryRef<'d>> {
        for l in self.lines.by_ref() {
            let n = self.line;
            self.line += 1;
            if let Kind::Entry { key, value_at, group, shadowed: false, locale: false } = l.kind
                && group == self.header
            {
                let raw = l.raw_in(self.text);
                return Some(EntryRef {
                    group: self.name,
                    key: &raw[key.0..key.1],
                    value: &raw[value_at..],
                    line: n + 1,
                });
            }
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.lines.len()))
    }
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
        Document::parse_with(text, BIG_FILE_LINES, Buffers::default())
    }

    /// [`Document::parse`] into the buffers of a document no longer needed, which it takes
    /// apart: a loop over many files then allocates nothing for their documents once the
    /// buffers have grown to the largest file.
    pub(crate) fn parse_reusing(text: &str, spare: Document) -> Result<Document, ParseError> {
        let Document { text: mut buf, mut lines, mut notices, mut spans } = spare;
        buf.clear();
        lines.clear();
        notices.clear();
        spans.clear();
        Document::parse_with(text, BIG_FILE_LINES, Buffers { text: buf, lines, notices, spans })
    }

    /// The heap memory this document holds, about (for a caller deciding whether to keep it
    /// as a spare for [`Document::parse_reusing`]).
    pub(crate) fn capacity_bytes(&self) -> usize {
        self.text.capacity()
            + self.lines.capacity() * std::mem::size_of::<Line>()
            + self.notices.capacity() * std::mem::size_of::<Notice>()
            + self.spans.capacity() * std::mem::size_of::<GroupSpan>()
    }

    /// [`Document::parse`] into `buffers` (empty), finding earlier groups and keys through
    /// maps from line index `maps_from` on (scans before: both find the same).
    fn parse_with(text: &str, maps_from: usize, buffers: Buffers) -> Result<Document, ParseError> {
        if text.is_empty() {
            return Err(ParseError {
                line: 1,
                column: 1,
                kind: ParseErrorKind::Empty,
                message: "File is empty".into(),
            });
        }
        let bytes = text.as_bytes();
        let Buffers { text: mut owned_text, mut lines, mut notices, mut spans } = buffers;
        // Room for lines of eight bytes on average (keyfile lines are longer): most files need no
        // regrowth. (Fresh buffers are allocated at their size: `reserve` on an empty vector
        // takes the slower path of a regrowth.)
        let room = bytes.len() / 8 + 4;
        if lines.capacity() == 0 {
            lines = Vec::with_capacity(room);
            spans = Vec::with_capacity(8);
        } else {
            lines.reserve(room);
            spans.reserve(8);
        }
        // Earlier groups are found among the spans and earlier keys among the lines already
        // read: a keyfile is a few dozen lines, so a scan costs less than a map and allocates
        // nothing (and a key is looked for only when its group's key filter says it may be
        // there). Past `maps_from` lines, maps take over, so that parsing stays linear whatever
        // the input.
        let mut group_at: Option<HashMap<&str, usize>> = None;
        let mut key_at: Option<HashMap<(usize, &str), usize>> = None;
        // The span of the group the current line is in, and the span whose first run is open.
        let mut current: Option<usize> = None;
        let mut open: Option<usize> = None;
        let mut first_group: Option<usize> = None;
        // A NUL byte ends a line's text for GLib: lines are then cut as [`nul_in_line`] says (a
        // keyfile has none; one search of the text says so).
        let has_nul = has_nul(bytes);
        let mut pos = 0;
        // Each line is cut, sorted and checked as GLib's `g_key_file_parse_line` does, in one
        // pass over its bytes (every byte GLib looks for is ASCII, and no byte of a multi-byte
        // UTF-8 character is).
        while pos < bytes.len() {
            let n = lines.len();
            if n == maps_from {
                // The maps, from what the scans would have found.
                let mut groups = HashMap::new();
                for (k, s) in spans.iter().enumerate() {
                    if let Kind::Group { name } = lines[s.header].kind {
                        groups.insert(lines[s.header].parsed_part(text, name), k);
                    }
                }
                let mut keys = HashMap::new();
                for (i, l) in lines.iter().enumerate() {
                    if let Kind::Entry { key, group, locale: false, .. } = l.kind {
                        // The last of a key is the one a later one shadows.
                        keys.insert((group, l.parsed_part(text, key)), i);
                    }
                }
                (group_at, key_at) = (Some(groups), Some(keys));
            }
            // One call of `cut`, inlined here (with a second one, it was not: a fifth more
            // instructions per keyfile).
            let (view, nul) = if has_nul { nul_in_line(bytes, pos) } else { (bytes, None) };
            let Cut { end, mut next, mut ending, start, shape } = cut(view, pos);
            if let Some((nul, newline)) = nul {
                (next, ending) =
                    if newline == bytes.len() { (newline, Ending::NulEof) } else { (newline + 1, Ending::NulLf) };
                let column = column(&text[pos..pos + nul], nul);
                notices.push(Notice { line: n + 1, kind: NoticeKind::NulByte { column } });
            }
            let t = &bytes[pos + start..end];
            let err = |kind, at, message| ParseError::at(&text[pos..end], n, kind, at, message);
            let kind = if let Shape::Blank = shape {
                Kind::Other
            } else if let Shape::Group { close, valid } = shape {
                let name = &text[pos + start + 1..pos + start + close];
                if !valid {
                    return Err(err(ParseErrorKind::GroupName, start, format!("Invalid group name: {name}")));
                }
                // GLib merges a repeated group into the first one.
                let (len, h) = (name.len(), head(name.as_bytes()));
                let first = match &mut group_at {
                    Some(map) => {
                        let first = map.get(name).copied();
                        map.entry(name).or_insert(spans.len());
                        first
                    }
                    None => spans.iter().position(|s| {
                        s.name_len == len && s.name_head == h && (len <= 16 || lines[s.header].is_group(text, name))
                    }),
                };
                if let Some(k) = open.take() {
                    spans[k].end = n;
                }
                let span = match first {
                    Some(k) => {
                        let first = spans[k].header + 1;
                        notices.push(Notice {
                            line: n + 1,
                            kind: NoticeKind::RepeatedGroup { group: name.into(), first },
                        });
                        spans[k].repeated = true;
                        k
                    }
                    None => {
                        spans.push(GroupSpan {
                            header: n,
                            end: usize::MAX,
                            repeated: false,
                            name_len: len,
                            name_head: h,
                            keys: 0,
                        });
                        open = Some(spans.len() - 1);
                        spans.len() - 1
                    }
                };
                current = Some(span);
                first_group.get_or_insert(spans[span].header);
                Kind::Group { name: (start + 1, start + close) }
            } else {
                let Shape::Entry { eq, bracket } = shape else {
                    unreachable!("blank and group lines are sorted above")
                };
                // `eq == 0`: no `=`, or a line starting with one (an empty key).
                if eq == 0 {
                    return Err(err(
                        ParseErrorKind::NotKeyValue,
                        start,
                        format!(
                            "Key file contains line “{}” which is not a key-value pair, group, or comment",
                            &text[pos + start..end]
                        ),
                    ));
                }
                let mut key_end = eq;
                while is_space_byte(t[key_end - 1]) {
                    key_end -= 1;
                }
                let key_bytes = &t[..key_end];
                // Sliced as text only where a name is kept or shown (the bytes are a whole key,
                // so a character boundary).
                let key = || &text[pos + start..pos + start + key_end];
                let Some(span) = current else {
                    return Err(err(ParseErrorKind::NoGroup, start, "Key file does not start with a group".into()));
                };
                // Without a bracket the key is valid: not empty, no `=`, and neither end a
                // space (the line's leading and the key's trailing whitespace are cut).
                if bracket && !valid_key(key()) {
                    return Err(err(ParseErrorKind::KeyName, start, format!("Invalid key name: {}", key())));
                }
                let mut value_rel = eq + 1;
                while value_rel < t.len() && is_space_byte(t[value_rel]) {
                    value_rel += 1;
                }
                let value_at = start + value_rel;
                let group = spans[span].header;
                if key_bytes == b"Encoding" && Some(group) == first_group && &t[value_rel..] != b"UTF-8" {
                    return Err(err(
                        ParseErrorKind::Encoding,
                        value_at,
                        format!("Key file contains unsupported encoding “{}”", &text[pos + value_at..end]),
                    ));
                }
                let group_name = || lines[group].group_in(text).unwrap_or_default().to_string();
                let key_range = (start, start + key_end);
                if bracket && key_bytes.contains(&b'[') {
                    // Kept in the document, invisible to readers (GLib drops it at load).
                    let notice =
                        Notice { line: n + 1, kind: NoticeKind::LocaleKey { group: group_name(), key: key().into() } };
                    notices.push(notice);
                    Kind::Entry { key: key_range, value_at, group, shadowed: false, locale: true }
                } else {
                    let bit = key_filter_bit(key_bytes);
                    let earlier = match &mut key_at {
                        Some(map) => map.insert((group, key()), n),
                        None if spans[span].keys & bit != 0 => {
                            lines.iter().rposition(|l| l.is_entry(text, group, key_bytes))
                        }
                        None => None,
                    };
                    spans[span].keys |= bit;
                    if let Some(earlier) = earlier {
                        let kind = NoticeKind::DuplicateKey {
                            group: group_name(),
                            key: key().to_string(),
                            earlier: earlier + 1,
                        };
                        notices.push(Notice { line: n + 1, kind });
                        if let Kind::Entry { shadowed, .. } = &mut lines[earlier].kind {
                            *shadowed = true;
                        }
                    }
                    Kind::Entry { key: key_range, value_at, group, shadowed: false, locale: false }
                }
            };
            lines.push(Line { raw: Raw::Span(pos, end), ending, kind });
            pos = next;
        }
        if let Some(k) = open {
            spans[k].end = lines.len();
        }
        if owned_text.capacity() == 0 {
            owned_text = text.to_owned();
        } else {
            owned_text.push_str(text);
        }
        Ok(Document { text: owned_text, lines, notices, spans })
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
                        keys: 0,
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
        self.span_entries(self.span(group))
    }

    /// Each group once, in order of first appearance, with its entries (as
    /// [`Document::entries_of`] gives them, without a lookup per group).
    pub(crate) fn groups_with_entries(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = EntryRef<'_>>)> {
        self.spans.iter().map(|s| (self.group_name(s.header), self.span_entries(Some(s))))
    }

    /// The entries of a group's span (none without one).
    fn span_entries<'d>(&'d self, span: Option<&GroupSpan>) -> SpanEntries<'d> {
        let (header, lines) = match span {
            // A repeated group's entries can be anywhere after its first header.
            Some(s) if s.repeated => (s.header, &self.lines[s.header..]),
            Some(s) => (s.header, &self.lines[s.header..s.end]),
            None => (usize::MAX, &self.lines[..0]),
        };
        let name = if header == usize::MAX { "" } else { self.group_name(header) };
        SpanEntries { text: &self.text, lines: lines.iter(), line: header, header, name }
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
        let matches = |l: &Line| l.is_entry(&self.text, g, key.as_bytes());
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

    /// The text of a line (1-based) as GLib reads it: without its terminator, and up to its
    /// first NUL byte.
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
    /// group goes at the end. Every other line stays as it was. No escape stands for a NUL
    /// byte, and GLib reads a line only up to one: a caller refuses such a value, as
    /// [`crate::edit::set_property`] does (the validator reports one written anyway).
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
                self.lines[n].ending = self.lines[n].ending.without_tail();
            }
            return;
        }
        // New lines end as the file's lines do.
        let ending =
            self.lines.iter().find(|l| matches!(l.ending, Ending::Lf | Ending::CrLf)).map_or(Ending::Lf, |l| l.ending);
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
                if i == self.lines.len() && ending.at_eof() && i > 0 {
                    self.lines[i - 1].ending = self.lines[i - 1].ending.unterminated();
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
        self.lines[n].ending = self.lines[n].ending.terminated();
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
            f.write_str(l.tail_in(&self.text))?;
            f.write_str(l.ending.as_str())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time scans find what a byte loop finds, at every length and place (the
    /// short values and the last, overlapping word are where they differ from a plain loop).
    #[test]
    fn word_scans_find_what_a_byte_loop_finds() {
        for n in 0..40 {
            let plain = vec![b'a'; n];
            assert!(!has_backslash(&plain), "{n}");
            for at in 0..n {
                let mut v = plain.clone();
                v[at] = b'\\';
                assert!(has_backslash(&v), "{n} {at}");
                // A byte one off from `\\` is none.
                v[at] = b'\\' + 1;
                assert!(!has_backslash(&v), "{n} {at}");
            }
        }
        // Keys and values: the first `=` and the line's end, at every length, whether the text
        // ends there or goes on.
        for (k, v) in (1..40).flat_map(|k| (0..40).map(move |v| (k, v))) {
            let line = format!("{}={}", "k".repeat(k), "v".repeat(v));
            for text in [line.clone(), format!("{line}\n[g]\nnext=line\n")] {
                let (end, shape) = entry(text.as_bytes(), 0);
                assert_eq!(end, line.len(), "{text:?}");
                assert!(matches!(shape, Shape::Entry { eq, bracket: false } if eq == k), "{text:?}");
            }
            let bracketed = format!("{}[x]={}\n", "k".repeat(k), "v".repeat(v));
            let (end, shape) = entry(bracketed.as_bytes(), 0);
            assert_eq!(end, bracketed.len() - 1);
            assert!(matches!(shape, Shape::Entry { eq, bracket: true } if eq == k + 3), "{bracketed:?}");
            let no_eq = format!("{}\nk=v\n", "k".repeat(k));
            assert!(matches!(entry(no_eq.as_bytes(), 0), (end, Shape::Entry { eq: 0, .. }) if end == k));
        }
        // Group names: the `]` is found past bytes of every kind a name may hold, and a `[`
        // or a control character anywhere before it makes the name invalid.
        for n in 1..30 {
            let name = "é".repeat(n / 2) + &"g".repeat(n % 2);
            let line = format!("[{name}]\n");
            assert_eq!(group_close(line.as_bytes(), 0), Some((name.len() + 1, true, name.len() + 2)), "{name}");
            for at in 0..name.len() {
                for bad in [b'[', 0x01, 0x1f, 0x7f] {
                    let mut b = line.clone().into_bytes();
                    b[1 + at] = bad;
                    assert_eq!(group_close(&b, 0).map(|(_, valid, _)| valid), Some(false), "{n} {at} {bad}");
                }
                let mut b = line.clone().into_bytes();
                b[1 + at] = b'\n';
                assert_eq!(group_close(&b, 0), None, "a newline ends the line before any `]`");
            }
        }
    }

    proptest::proptest! {
        /// Earlier groups and keys are found the same through maps as through scans, whichever
        /// line the maps take over at (a big file switches at line 256).
        #[test]
        fn maps_find_what_scans_find(
            lines in proptest::collection::vec(
                proptest::prop_oneof!["\\[[abc]\\]", "[kmn]=[a-z]{0,3}", "[kmn]\\[de\\]=x", "#[a-z]{0,5}", ""],
                0..40,
            ),
            at in 0usize..45,
        ) {
            let text = format!("[a]\n{}\n", lines.join("\n"));
            let scans = Document::parse_with(&text, usize::MAX, Buffers::default()).unwrap();
            let maps = Document::parse_with(&text, at, Buffers::default()).unwrap();
            proptest::prop_assert_eq!(&maps, &scans);
            proptest::prop_assert_eq!(maps.groups(), scans.groups());
            proptest::prop_assert_eq!(maps.entries().collect::<Vec<_>>(), scans.entries().collect::<Vec<_>>());
        }

        /// A document parsed into the buffers of another (edited or not) is the document parsed
        /// afresh: nothing of the old one shows through.
        #[test]
        fn parsing_into_a_spare_is_parsing_afresh(
            old in proptest::collection::vec(proptest::prop_oneof!["\\[[abc]\\]", "[kmn]=[a-z]{0,3}", "#x", ""], 0..30),
            new in proptest::collection::vec(
                proptest::prop_oneof!["\\[[abc]\\]", "[kmn]=[a-z]{0,3}", "[kmn]\\[de\\]=x", "#y", "", "bad line"],
                0..30,
            ),
            edit in proptest::bool::ANY,
        ) {
            let mut spare = Document::parse(&format!("[a]\n{}\n", old.join("\n"))).unwrap();
            if edit {
                spare.set_string("b", "k", "edited");
            }
            let text = format!("[c]\n{}\n", new.join("\n"));
            let fresh = Document::parse(&text);
            let reused = Document::parse_reusing(&text, spare);
            proptest::prop_assert_eq!(reused.is_ok(), fresh.is_ok());
            if let (Ok(reused), Ok(fresh)) = (reused, fresh) {
                proptest::prop_assert_eq!(reused.to_string(), fresh.to_string());
                proptest::prop_assert_eq!(&reused, &fresh);
                proptest::prop_assert_eq!(reused.groups(), fresh.groups());
                proptest::prop_assert_eq!(reused.notices(), fresh.notices());
                proptest::prop_assert_eq!(reused.entries().collect::<Vec<_>>(), fresh.entries().collect::<Vec<_>>());
            }
        }
    }
}
