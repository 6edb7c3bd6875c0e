//! A linear check of how deeply a YAML (or JSON) text nests flow collections (`[…]`, `{…}`),
//! to run before the text goes to `serde_yaml_ng` (the `yaml` feature).
//!
//! Why: libyaml's scanner (unsafe-libyaml 0.2.11, what serde_yaml_ng 0.10 parses with) walks
//! its stack of open flow levels for every token it makes (`yaml_parser_fetch_more_tokens`,
//! src/scanner.rs:178, and `yaml_parser_stale_simple_keys`, :338; yaml/yaml-serde#1), so a text
//! nesting flow collections `d` deep takes time proportional to its length times `d`: 100,000
//! levels of `{a: ` (500 kB) take minutes of CPU. serde_yaml_ng's own depth limit (128) applies
//! only once the whole document has been scanned, too late to help. [`check_flow_depth`]
//! refuses the level past [`MAX_FLOW_DEPTH`] where it opens, in one pass.
//!
//! Block collections (indentation) need no such check: libyaml keeps its per-level state for
//! flow levels only, and a million levels of `- ` (2 MB) are scanned and refused by
//! serde_yaml_ng's limit in half a second.
//!
//! # Which brackets count
//!
//! A `[` or `{` opens a collection only where libyaml's scanner starts a token: not in a quoted
//! scalar, a comment, a tag (`!<tag:a[1]>`), a directive line or a block scalar (`|`, `>`), nor
//! in a plain scalar, which outside flow collections may hold brackets (`title: a [draft]`) and
//! go on over more indented lines. Where a plain or block scalar ends depends on the
//! indentation of the block collections around it, and that on where libyaml found the simple
//! keys (`key:`); so this module follows libyaml's scanner, not the YAML specification (from
//! which libyaml departs: `#` right after `[` starts a comment, a tab may not indent), in every
//! decision that moves a token's start or end. It is a port of those parts of
//! `yaml_parser_fetch_next_token` and the scalar scanners (src/scanner.rs), without building
//! tokens. The tests check the levels it finds against what serde_yaml_ng reads from generated
//! documents that hide brackets in every kind of scalar and in comments.
//!
//! Where libyaml stops with an error, this pass carries on as best it can: what it finds past
//! that point cannot matter, as serde_yaml_ng refuses the document anyway and libyaml spends
//! no time past its error.

use std::fmt;

/// Flow collections may nest this deep; the next `[` or `{` is refused.
///
/// 128 is serde_yaml_ng's own limit on nesting (`remaining_depth: 128`, serde_yaml_ng 0.10.0
/// src/de.rs:112, counted for block and flow collections alike when a value is read), so a
/// text read into a free-form value (an nmstate state) that nests flow collections deeper was
/// already refused, after the quadratic scan: this refuses nothing that read before. A typed
/// reader skips the values of fields it does not know without that limit; flow collections
/// deeper than 128 in such a field (a hand-written config has a handful) are refused now.
/// Within the limit libyaml's cost is linear again, with a factor of up to the depth: 10 MB of
/// 127-deep flow mappings read in about 10 s in a release build, 10 MB of plain lines in 0.5 s
/// (this check takes under 0.1 s for either).
pub const MAX_FLOW_DEPTH: usize = 128;

/// A text nests flow collections deeper than [`MAX_FLOW_DEPTH`]: where the first collection
/// too deep opens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowDepthError {
    /// 1-based line of the `[` or `{`, counted as libyaml counts (and serde_yaml_ng reports).
    pub line: usize,
    /// 1-based column of the `[` or `{`, in characters.
    pub column: usize,
}

impl fmt::Display for FlowDepthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flow collections (`[…]`, `{{…}}`) nested more than {MAX_FLOW_DEPTH} deep (the YAML parser's time grows \
             with their depth)"
        )
    }
}

impl std::error::Error for FlowDepthError {}

/// Refuses a text whose flow collections nest deeper than [`MAX_FLOW_DEPTH`], naming where;
/// in time linear in the text, and before serde_yaml_ng spends time quadratic in the depth.
///
/// `Ok` promises only that the depth is within the limit, not that the text is valid YAML.
///
/// ```
/// use bm_nmconn::yaml_depth::check_flow_depth;
///
/// assert!(check_flow_depth("port: [eno1, eno2]\nname: '[[[['\n").is_ok());
/// let deep = format!("holdTime: {}{}\n", "[".repeat(129), "]".repeat(129));
/// let err = check_flow_depth(&deep).unwrap_err();
/// assert_eq!((err.line, err.column), (1, 11 + 128));
/// ```
pub fn check_flow_depth(text: &str) -> Result<(), FlowDepthError> {
    match first_too_deep(text, MAX_FLOW_DEPTH) {
        Some(mark) => Err(FlowDepthError { line: mark.line + 1, column: mark.column + 1 }),
        None => Ok(()),
    }
}

/// Where the first flow collection deeper than `limit` opens, if one does.
pub(crate) fn first_too_deep(text: &str, limit: usize) -> Option<Mark> {
    Scanner::new(text, limit).run().err()
}

/// A place in the text as libyaml's `yaml_mark_t` has it: `index` in bytes, `line` and
/// `column` (in characters) from 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) index: usize,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// libyaml forgets a simple key (a possible `key:`) this many bytes after its start.
const SIMPLE_KEY_REACH: usize = 1024;

/// The scanner state that decides where tokens start: libyaml's `yaml_parser_t` less the
/// tokens. Simple keys are tracked at flow level 0 only: inside flow collections they move no
/// indentation, and libyaml consults them there only to report errors.
struct Scanner<'a> {
    text: &'a [u8],
    limit: usize,
    mark: Mark,
    flow_level: usize,
    /// The indentation of the innermost block collection (-1 outside any), and the enclosing
    /// ones'.
    indent: isize,
    indents: Vec<isize>,
    simple_key_allowed: bool,
    /// A possible simple key at flow level 0: where it starts.
    simple_key: Option<Mark>,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str, limit: usize) -> Scanner<'a> {
        Scanner {
            text: text.as_bytes(),
            limit,
            mark: Mark { index: 0, line: 0, column: 0 },
            flow_level: 0,
            indent: -1,
            indents: Vec::new(),
            simple_key_allowed: true,
            simple_key: None,
        }
    }

    /// Token by token to the end (`yaml_parser_fetch_next_token`); `Err` at the first flow
    /// collection deeper than the limit.
    fn run(mut self) -> Result<(), Mark> {
        loop {
            self.scan_to_next_token();
            self.unroll_indent(self.column());
            if self.at_end() {
                return Ok(());
            }
            self.fetch_token()?;
        }
    }

    /// One token, from its first character.
    fn fetch_token(&mut self) -> Result<(), Mark> {
        let c = self.byte(0);
        if self.mark.column == 0 && c == b'%' {
            self.directive();
        } else if self.mark.column == 0 && self.document_indicator() {
            self.document_marker();
        } else if c == b'[' || c == b'{' {
            self.flow_collection_start()?;
        } else if c == b']' || c == b'}' {
            self.flow_collection_end();
        } else if c == b',' {
            self.remove_simple_key();
            self.simple_key_allowed = true;
            self.skip();
        } else if c == b'-' && self.blankz(1) {
            self.block_indicator();
        } else if c == b'?' && (self.flow_level > 0 || self.blankz(1)) {
            self.block_indicator();
            self.simple_key_allowed = self.flow_level == 0;
        } else if c == b':' && (self.flow_level > 0 || self.blankz(1)) {
            self.value_indicator();
        } else if c == b'*' || c == b'&' {
            self.anchor();
        } else if c == b'!' {
            self.tag();
        } else if (c == b'|' || c == b'>') && self.flow_level == 0 {
            self.block_scalar();
        } else if c == b'\'' || c == b'"' {
            self.quoted_scalar(c);
        } else if self.starts_plain_scalar() {
            self.plain_scalar();
        } else {
            // libyaml: "found character that cannot start any token".
            self.skip();
        }
        Ok(())
    }

    /// Skips spaces, comments and line breaks (`yaml_parser_scan_to_next_token`). A `#` here
    /// starts a comment even with no space before it (`[#`, `"a"#`), as in libyaml.
    fn scan_to_next_token(&mut self) {
        loop {
            if self.mark.column == 0 && self.text[self.mark.index..].starts_with("\u{feff}".as_bytes()) {
                self.skip();
            }
            while self.byte(0) == b' ' || ((self.flow_level > 0 || !self.simple_key_allowed) && self.byte(0) == b'\t') {
                self.skip();
            }
            if self.byte(0) == b'#' {
                self.skip_to_break();
            }
            if !self.is_break(0) {
                return;
            }
            self.skip_line();
            if self.flow_level == 0 {
                self.simple_key_allowed = true;
            }
        }
    }

    /// `[` or `{`: one flow level more, refused past the limit.
    fn flow_collection_start(&mut self) -> Result<(), Mark> {
        if self.flow_level >= self.limit {
            return Err(self.mark);
        }
        self.save_simple_key();
        self.flow_level += 1;
        self.simple_key_allowed = true;
        self.skip();
        Ok(())
    }

    /// `]` or `}`: one flow level less (none below 0; libyaml reports that as a parse error).
    fn flow_collection_end(&mut self) {
        self.remove_simple_key();
        self.flow_level = self.flow_level.saturating_sub(1);
        self.simple_key_allowed = false;
        self.skip();
    }

    /// `- ` and `? `: in block context, a block sequence or mapping from this column.
    fn block_indicator(&mut self) {
        self.roll_indent(self.column());
        self.remove_simple_key();
        self.simple_key_allowed = true;
        self.skip();
    }

    /// `: `: the value of the possible simple key before it (a block mapping from the key's
    /// column), or of an empty key.
    fn value_indicator(&mut self) {
        if self.flow_level > 0 {
            self.simple_key_allowed = false;
        } else if let Some(key) = self.possible_simple_key() {
            self.roll_indent(signed(key.column));
            self.simple_key = None;
            self.simple_key_allowed = false;
        } else {
            self.roll_indent(self.column());
            self.simple_key_allowed = true;
        }
        self.skip();
    }

    /// `%YAML …` or `%TAG …` at the start of a line: the rest of the line, its break included
    /// (and, as in libyaml, without allowing a simple key on the next line).
    fn directive(&mut self) {
        self.unroll_indent(-1);
        self.remove_simple_key();
        self.simple_key_allowed = false;
        self.skip_to_break();
        self.skip_line();
    }

    /// `---` or `...` at the start of a line, followed by a blank or the end.
    fn document_indicator(&self) -> bool {
        let c = self.byte(0);
        (c == b'-' || c == b'.') && self.byte(1) == c && self.byte(2) == c && self.blankz(3)
    }

    fn document_marker(&mut self) {
        self.unroll_indent(-1);
        self.remove_simple_key();
        self.simple_key_allowed = false;
        self.skip_n(3);
    }

    /// `&anchor` or `*alias`: the name is letters, digits, `_` and `-`.
    fn anchor(&mut self) {
        self.save_simple_key();
        self.simple_key_allowed = false;
        self.skip();
        while is_alpha(self.byte(0)) {
            self.skip();
        }
    }

    /// `!handle!suffix`, `!suffix` or `!<verbatim>`: URI characters, which include `'` and,
    /// in a verbatim tag, brackets (`yaml_parser_scan_tag`).
    fn tag(&mut self) {
        self.save_simple_key();
        self.simple_key_allowed = false;
        let verbatim = self.byte(1) == b'<';
        self.skip_n(if verbatim { 2 } else { 1 });
        while is_uri_char(self.byte(0), verbatim) {
            self.skip();
        }
        if verbatim && self.byte(0) == b'>' {
            self.skip();
        }
    }

    /// `'…'` (`''` a quote) or `"…"` (`\` an escape), over any number of lines.
    fn quoted_scalar(&mut self, quote: u8) {
        self.save_simple_key();
        self.simple_key_allowed = false;
        self.skip();
        loop {
            if self.at_end() || (self.mark.column == 0 && self.document_indicator()) {
                return; // libyaml: "unexpected end of stream" / "unexpected document indicator".
            }
            while !self.blankz(0) {
                let c = self.byte(0);
                if quote == b'\'' && c == b'\'' && self.byte(1) == b'\'' {
                    self.skip_n(2);
                } else if c == quote {
                    break;
                } else if quote == b'"' && c == b'\\' && self.is_break(1) {
                    self.skip();
                    self.skip_line();
                    break;
                } else if quote == b'"' && c == b'\\' {
                    // The escape's character; `\x41`'s digits are skipped as plain characters.
                    self.skip_n(2);
                } else {
                    self.skip();
                }
            }
            if self.byte(0) == quote {
                self.skip();
                return;
            }
            while self.blank(0) || self.is_break(0) {
                if self.blank(0) {
                    self.skip();
                } else {
                    self.skip_line();
                }
            }
        }
    }

    /// What `yaml_parser_fetch_next_token` takes for the start of a plain scalar: anything
    /// but an indicator, and `-`, `?`, `:` before a non-blank (`?` and `:` in block context).
    fn starts_plain_scalar(&self) -> bool {
        let c = self.byte(0);
        !(self.blankz(0) || b"-?:,[]{}#&*!|>'\"%@`".contains(&c))
            || (c == b'-' && !self.blank(1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.blankz(1))
    }

    /// A plain scalar (`yaml_parser_scan_plain_scalar`): it ends before `: `, ` #`, a flow
    /// indicator in flow context, a document marker, or (in block context) a line indented
    /// less than the block collection it is in plus one.
    fn plain_scalar(&mut self) {
        self.save_simple_key();
        self.simple_key_allowed = false;
        let indent = self.indent + 1;
        let mut leading_blanks = false;
        loop {
            if (self.mark.column == 0 && self.document_indicator()) || self.byte(0) == b'#' {
                break;
            }
            while !self.blankz(0) {
                let c = self.byte(0);
                if (c == b':' && self.blankz(1))
                    || (self.flow_level > 0
                        && (b",[]{}".contains(&c) || (c == b':' && b",?[]{}".contains(&self.byte(1)))))
                {
                    // The last: libyaml's "found unexpected ':'".
                    break;
                }
                leading_blanks = false;
                self.skip();
            }
            if !(self.blank(0) || self.is_break(0)) {
                break;
            }
            while self.blank(0) || self.is_break(0) {
                if self.blank(0) {
                    self.skip();
                } else {
                    self.skip_line();
                    leading_blanks = true;
                }
            }
            if self.flow_level == 0 && self.column() < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
    }

    /// A literal (`|`) or folded (`>`) scalar (`yaml_parser_scan_block_scalar`): its header,
    /// then every line indented at least as its first non-empty line (or as its indentation
    /// indicator says).
    fn block_scalar(&mut self) {
        self.remove_simple_key();
        self.simple_key_allowed = true;
        self.skip();
        let Some(increment) = self.block_scalar_header() else {
            return; // libyaml: an error in the header.
        };
        let mut indent = match increment {
            0 => 0,
            n if self.indent >= 0 => self.indent + n,
            n => n,
        };
        if !self.block_scalar_breaks(&mut indent) {
            return;
        }
        while self.column() == indent && !self.at_end() {
            self.skip_to_break();
            self.skip_line();
            if !self.block_scalar_breaks(&mut indent) {
                return;
            }
        }
    }

    /// The chomping and indentation indicators, in either order, and a comment, to the end of
    /// the line: the indentation indicator (0 if none), or `None` where libyaml reports an
    /// error.
    fn block_scalar_header(&mut self) -> Option<isize> {
        let mut increment = 0;
        let chomping = |c: u8| c == b'+' || c == b'-';
        if chomping(self.byte(0)) {
            self.skip();
            if self.byte(0).is_ascii_digit() {
                increment = self.indentation_indicator()?;
            }
        } else if self.byte(0).is_ascii_digit() {
            increment = self.indentation_indicator()?;
            if chomping(self.byte(0)) {
                self.skip();
            }
        }
        while self.blank(0) {
            self.skip();
        }
        if self.byte(0) == b'#' {
            self.skip_to_break();
        }
        if !self.breakz(0) {
            return None;
        }
        self.skip_line();
        Some(increment)
    }

    /// A digit 1 to 9 (0 is an error).
    fn indentation_indicator(&mut self) -> Option<isize> {
        let digit = self.byte(0) - b'0';
        self.skip();
        (digit != 0).then_some(isize::from(digit))
    }

    /// Empty lines and the indentation of the next (`yaml_parser_scan_block_scalar_breaks`);
    /// an `indent` of 0 is set from the first non-empty line. `false` where libyaml reports
    /// a tab in the indentation.
    fn block_scalar_breaks(&mut self, indent: &mut isize) -> bool {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || self.column() < *indent) && self.byte(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.column());
            if (*indent == 0 || self.column() < *indent) && self.byte(0) == b'\t' {
                return false;
            }
            if !self.is_break(0) {
                break;
            }
            self.skip_line();
        }
        if *indent == 0 {
            *indent = max_indent.max(self.indent + 1).max(1);
        }
        true
    }

    /// Remembers a possible simple key here, where one may start (flow level 0 only).
    fn save_simple_key(&mut self) {
        if self.flow_level == 0 && self.simple_key_allowed {
            self.simple_key = Some(self.mark);
        }
    }

    fn remove_simple_key(&mut self) {
        if self.flow_level == 0 {
            self.simple_key = None;
        }
    }

    /// The possible simple key, unless it is stale: libyaml forgets a key once the line
    /// changes or [`SIMPLE_KEY_REACH`] bytes have passed.
    fn possible_simple_key(&self) -> Option<Mark> {
        self.simple_key.filter(|k| k.line == self.mark.line && k.index + SIMPLE_KEY_REACH >= self.mark.index)
    }

    /// A block collection starts at `column`, if that is deeper than the current one.
    fn roll_indent(&mut self, column: isize) {
        if self.flow_level == 0 && self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
        }
    }

    /// The block collections deeper than `column` end.
    fn unroll_indent(&mut self, column: isize) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > column {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn column(&self) -> isize {
        signed(self.mark.column)
    }

    /// The byte `k` bytes ahead, or 0 past the end (libyaml's buffer ends with a NUL; a NUL in
    /// the text is a control character, which libyaml refuses).
    fn byte(&self, k: usize) -> u8 {
        self.text.get(self.mark.index + k).copied().unwrap_or(0)
    }

    fn at_end(&self) -> bool {
        self.byte(0) == 0
    }

    fn blank(&self, k: usize) -> bool {
        matches!(self.byte(k), b' ' | b'\t')
    }

    /// A line break `k` bytes ahead: CR, LF, NEL (U+0085), LS (U+2028) or PS (U+2029).
    fn is_break(&self, k: usize) -> bool {
        match self.byte(k) {
            b'\r' | b'\n' => true,
            0xC2 => self.byte(k + 1) == 0x85,
            0xE2 => self.byte(k + 1) == 0x80 && matches!(self.byte(k + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }

    fn breakz(&self, k: usize) -> bool {
        self.is_break(k) || self.byte(k) == 0
    }

    fn blankz(&self, k: usize) -> bool {
        self.blank(k) || self.breakz(k)
    }

    /// One character (libyaml's `SKIP`): a column more.
    fn skip(&mut self) {
        if self.at_end() {
            return;
        }
        let width = match self.byte(0) {
            0..0x80 => 1,
            0xC0..0xE0 => 2,
            0xE0..0xF0 => 3,
            _ => 4,
        };
        self.mark.index = (self.mark.index + width).min(self.text.len());
        self.mark.column += 1;
    }

    fn skip_n(&mut self, n: usize) {
        for _ in 0..n {
            self.skip();
        }
    }

    /// A line break, if here (`SKIP_LINE`): CR LF is one.
    fn skip_line(&mut self) {
        let width = match self.byte(0) {
            b'\r' if self.byte(1) == b'\n' => 2,
            b'\r' | b'\n' => 1,
            _ if !self.is_break(0) => return,
            0xC2 => 2, // NEL
            _ => 3,    // LS, PS
        };
        self.mark.index += width;
        self.mark.line += 1;
        self.mark.column = 0;
    }

    /// To the line break (or the end), not past it.
    fn skip_to_break(&mut self) {
        while !self.breakz(0) {
            self.skip();
        }
    }
}

/// A column as libyaml compares it with indentations, which may be -1.
fn signed(column: usize) -> isize {
    isize::try_from(column).unwrap_or(isize::MAX)
}

/// A letter, digit, `_` or `-` (libyaml's `IS_ALPHA`): the characters of anchors and tag handles.
fn is_alpha(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

/// A character of a tag's URI (`yaml_parser_scan_tag_uri`); a verbatim tag's may also be `,`,
/// `[` and `]`. `%` starts an escape whose hex digits are URI characters too.
fn is_uri_char(c: u8, verbatim: bool) -> bool {
    is_alpha(c) || b";/?:@&=+$.%!~*'()".contains(&c) || (verbatim && b",[]".contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether any bracket of `text` opens a flow collection (a limit of 0 refuses the first).
    fn opens_flow(text: &str) -> Option<(usize, usize)> {
        first_too_deep(text, 0).map(|m| (m.line + 1, m.column + 1))
    }

    /// The deepest flow level of `text`.
    fn flow_depth(text: &str) -> usize {
        (0..).find(|&limit| first_too_deep(text, limit).is_none()).unwrap()
    }

    fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    }

    #[test]
    fn brackets_in_quoted_scalars_do_not_count() {
        for text in [
            "a: '[[{{'\n",
            "a: 'it''s [ {'\n",
            "a: \"[\\\"{{ \\\\\"\n",
            "\"[[\": '{{'\n",
            "a: \"x\\\n  [[ {{\"\n",
            "a: '\n  [[\n  {{'\n",
            "- \"\\x5b\\u007b[\"\n",
        ] {
            assert_eq!(opens_flow(text), None, "{text:?}");
        }
        // A quote inside a plain scalar starts nothing: the bracket after it counts.
        assert_eq!(opens_flow("a: it's\nb: [x]\n"), Some((2, 4)));
        assert_eq!(flow_depth("[\"]]]\", '[[[', \"\\\"]\"]"), 1);
    }

    #[test]
    fn brackets_in_comments_do_not_count() {
        for text in ["# [[[\n", "a: b # [[{\n", "a: [x] # [[{\n", "  # {\n- a\n"] {
            assert_eq!(flow_depth(text), usize::from(text.contains("[x]")), "{text:?}");
        }
        // In a flow collection, up to the end of the line; libyaml takes a `#` right after a
        // token for a comment, as after `[` and a quoted scalar here.
        assert_eq!(flow_depth("[a, # ]] [[\n b, [c]]\n"), 2);
        assert_eq!(flow_depth("[#]]\n]\n"), 1);
        assert_eq!(flow_depth("{\"a\":\"b\"#]\n}"), 1);
        // `#` after a non-blank inside a plain scalar is text: the bracket after it counts in
        // flow context (it ends the scalar) and not in block context.
        assert_eq!(flow_depth("[a#[b]]"), 2);
        assert_eq!(opens_flow("key: a#[b\n"), None);
    }

    #[test]
    fn brackets_in_block_scalars_do_not_count() {
        for text in [
            "key: |\n  [[[\n  {a: [\n",
            "key: >-\n    ]] {\n     [\n",
            "- |2\n   [[\n  [[\n",
            "a:\n  b: |+\n\n      [\n       [\n\n      {\n",
            "key: | # [[\n  [x]\n",
        ] {
            assert_eq!(opens_flow(text), None, "{text:?}");
        }
        // The scalar ends at the first line indented less than its first: what follows counts.
        assert_eq!(opens_flow("a: |\n  [[\n  {{\nb: [c]\n"), Some((4, 4)));
        assert_eq!(opens_flow("key: >-\n    ]] {\n   [\n"), Some((3, 4)));
        assert_eq!(opens_flow("- >\n   [[\n - [c]\n"), Some((3, 4)));
        // Its lines are indented at least one column, even at the top level.
        assert_eq!(opens_flow("--- |\n [[[\n {{\n"), None);
        assert_eq!(opens_flow("--- |\n[[[\n"), Some((2, 1)));
    }

    #[test]
    fn brackets_in_plain_scalars_count_only_where_a_token_starts() {
        // In block context a plain scalar may hold brackets, and go on over lines indented
        // more than its block collection.
        assert_eq!(opens_flow("title: a [draft] {1}\n"), None);
        assert_eq!(opens_flow("title: a\n  [draft\n  {1\n"), None);
        assert_eq!(opens_flow("- a\n  [[ b\n"), None);
        // A line indented no more than the collection ends the scalar.
        assert_eq!(opens_flow("title: a\n  b\n[c]: d\n"), Some((3, 1)));
        assert_eq!(opens_flow("a:\n  b: c\n  [d]: e\n"), Some((3, 3)));
        // A value starts a token.
        assert_eq!(opens_flow("a: [b]\n"), Some((1, 4)));
        assert_eq!(opens_flow("- - [b]\n"), Some((1, 5)));
        assert_eq!(opens_flow("? [b]\n: c\n"), Some((1, 3)));
        // In flow context every bracket outside a scalar counts: it ends a plain scalar.
        assert_eq!(flow_depth("[a [b {c"), 3);
    }

    #[test]
    fn brackets_in_tags_directives_and_anchors_do_not_count() {
        assert_eq!(opens_flow("a: !<tag:x,[1]> b\n"), None);
        assert_eq!(opens_flow("%TAG !e! tag:e.com,2000:[a]\n--- !e!x a\n"), None);
        assert_eq!(flow_depth("a: !x [b]\n"), 1);
        assert_eq!(flow_depth("a: &x [b]\nc: *x\n"), 1);
        // A tag may hold a quote, which then starts no quoted scalar.
        assert_eq!(flow_depth("a: !x'y [b]\n"), 1);
    }

    #[test]
    fn places_count_lines_and_characters_as_libyaml() {
        assert_eq!(opens_flow("é: [a]\n"), Some((1, 4)));
        assert_eq!(opens_flow("a: b\r\nc: [d]\r\n"), Some((2, 4)));
        assert_eq!(opens_flow("\u{feff}[a]\n"), Some((1, 2)));
        assert_eq!(opens_flow("a: 'b\u{2028}c'\nd: [e]\n"), Some((3, 4)));
    }

    #[test]
    fn the_limit_is_serde_yaml_ngs() {
        // At the limit: accepted, as serde_yaml_ng reads it.
        for text in [nested("[", "", "]", MAX_FLOW_DEPTH), nested("{\"a\":", "1", "}", MAX_FLOW_DEPTH)] {
            assert_eq!(check_flow_depth(&text), Ok(()));
            assert!(serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).is_ok());
        }
        // Only flow levels count: block collections around them are serde_yaml_ng's to count.
        let in_block = |depth| format!("a:\n  b: {}\n", nested("[", "", "]", depth));
        assert_eq!(check_flow_depth(&in_block(MAX_FLOW_DEPTH)), Ok(()));
        let err = check_flow_depth(&in_block(MAX_FLOW_DEPTH + 1)).unwrap_err();
        assert_eq!((err.line, err.column), (2, 6 + 128));
        // One past: refused at the `[` that opens level 129, where serde_yaml_ng refuses it.
        for (text, place) in [
            (nested("[", "", "]", MAX_FLOW_DEPTH + 1), (1, 1 + 128)),
            (nested("{a: ", "1", "}", MAX_FLOW_DEPTH + 1), (1, 1 + 4 * 128)),
            (nested("{\"a\":", "1", "}", MAX_FLOW_DEPTH + 1), (1, 1 + 5 * 128)),
            (nested("[\n", "", "]", MAX_FLOW_DEPTH + 1), (129, 1)),
        ] {
            let err = check_flow_depth(&text).unwrap_err();
            assert_eq!((err.line, err.column), place, "{text:?}");
            let theirs = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text).unwrap_err();
            assert!(theirs.to_string().contains("recursion limit exceeded"), "{theirs}");
            let l = theirs.location().unwrap();
            assert_eq!((l.line(), l.column()), place, "{text:?}");
        }
        let err = check_flow_depth(&nested("[", "", "]", 100_000)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "flow collections (`[…]`, `{…}`) nested more than 128 deep (the YAML parser's time grows with their depth)"
        );
    }

    #[test]
    fn never_panics_on_truncated_or_odd_text() {
        for text in [
            "",
            "[",
            "]",
            "}}}",
            "'",
            "\"",
            "\"\\",
            "|",
            "|0\n",
            ">9",
            "!<",
            "&",
            "%",
            "\t[",
            "---",
            "...",
            "\r",
            "\u{85}[",
            "a: |\n\t[\n",
            "- \"\\\u{2029}",
            "\u{feff}",
            "[\u{feff}",
        ] {
            let _ = check_flow_depth(text);
        }
    }

    /// A YAML value as the generated documents hold it.
    #[derive(Clone, Debug)]
    enum Node {
        Scalar(usize),
        Seq(Vec<Node>, bool),
        Map(Vec<Node>, bool),
    }

    /// Scalars with brackets where they do not open collections: written one way in block
    /// context (`block`, `{pad}` the indentation of the lines after the first) and another in
    /// flow context (`flow`).
    const SCALARS: &[(&str, &str)] = &[
        ("a", "a"),
        ("'[[{'", "'[[{'"),
        ("\"[\\\"{\"", "\"[\\\"{\""),
        ("'it''s ['", "'it''s ['"),
        ("\"\\u005b\"", "\"\\u005b\""),
        ("!!str ']'", "!!str ']'"),
        ("-1", "-1"),
        ("a [b] {c", "'a [b] {c'"),
        ("x#[", "'x#['"),
        ("a\n{pad}[[ b", "\"a\n{pad}[[ b\""),
        ("|\n{pad}[[[\n{pad}{a: [", "'|'"),
        (">-\n{pad}]] {\n\n{pad} [", "'>'"),
    ];

    /// Writes documents, and counts the flow levels they nest and the levels of all collections.
    #[derive(Default)]
    struct Writer {
        text: String,
        max_flow: usize,
    }

    impl Writer {
        fn document(node: &Node) -> (String, usize) {
            let mut w = Writer::default();
            if w.is_block(node) {
                w.block(node, 0);
            } else {
                w.flow(node, 0, 2);
                w.text.push('\n');
            }
            (w.text, w.max_flow)
        }

        fn is_block(&self, node: &Node) -> bool {
            matches!(node, Node::Seq(c, false) | Node::Map(c, false) if !c.is_empty())
        }

        fn block(&mut self, node: &Node, indent: usize) {
            let (Node::Seq(children, _) | Node::Map(children, _)) = node else { unreachable!() };
            for (i, child) in children.iter().enumerate() {
                self.text.push_str(&" ".repeat(indent));
                match node {
                    Node::Seq(..) => self.text.push_str("- "),
                    _ => self.text.push_str(&key(i)),
                }
                if self.is_block(child) {
                    self.text.push('\n');
                    self.block(child, indent + 2);
                    continue;
                }
                match child {
                    Node::Scalar(s) => self.text.push_str(&SCALARS[*s].0.replace("{pad}", &" ".repeat(indent + 2))),
                    _ => self.flow(child, 0, indent + 2),
                }
                if i % 3 == 1 && !self.text.ends_with(['[', ' ']) {
                    self.text.push_str(" # ]] [{");
                }
                self.text.push('\n');
            }
        }

        fn flow(&mut self, node: &Node, depth: usize, indent: usize) {
            let children = match node {
                Node::Scalar(s) => return self.text.push_str(&SCALARS[*s].1.replace("{pad}", &" ".repeat(indent))),
                Node::Seq(c, _) | Node::Map(c, _) => c,
            };
            self.max_flow = self.max_flow.max(depth + 1);
            let is_map = matches!(node, Node::Map(..));
            self.text.push(if is_map { '{' } else { '[' });
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    self.text.push_str([", ", ",", ", # ]] {\n", ",\n"][i % 4]);
                    if self.text.ends_with('\n') {
                        self.text.push_str(&" ".repeat(indent));
                    }
                }
                if is_map {
                    self.text.push_str(&key(i));
                }
                self.flow(child, depth + 1, indent);
            }
            self.text.push(if is_map { '}' } else { ']' });
        }
    }

    /// The `i`th key of a mapping: plain or quoted with brackets.
    fn key(i: usize) -> String {
        if i.is_multiple_of(2) { format!("k{i}: ") } else { format!("\"k[{i}\": ") }
    }

    /// Levels of collections, flow or block: what serde_yaml_ng's limit counts.
    fn depth(node: &Node) -> usize {
        match node {
            Node::Scalar(_) => 0,
            Node::Seq(c, _) | Node::Map(c, _) => 1 + c.iter().map(depth).max().unwrap_or(0),
        }
    }

    fn node() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        let leaf = (0..SCALARS.len()).prop_map(Node::Scalar);
        leaf.prop_recursive(6, 40, 4, |inner| {
            prop_oneof![
                (proptest::collection::vec(inner.clone(), 0..4), any::<bool>()).prop_map(|(c, f)| Node::Seq(c, f)),
                (proptest::collection::vec(inner, 0..4), any::<bool>()).prop_map(|(c, f)| Node::Map(c, f)),
            ]
        })
    }

    /// A document, sometimes with a chain of flow collections around the limit's depth in a
    /// block mapping.
    fn document() -> impl proptest::strategy::Strategy<Value = Node> {
        use proptest::prelude::*;
        prop_oneof![
            3 => node(),
            1 => (node(), 120usize..136).prop_map(|(mut n, levels)| {
                for i in 0..levels {
                    n = if i.is_multiple_of(2) { Node::Seq(vec![n], true) } else { Node::Map(vec![n], true) };
                }
                Node::Map(vec![Node::Scalar(0), n], false)
            }),
        ]
    }

    proptest::proptest! {
        /// Generated documents, with brackets in scalars and comments: serde_yaml_ng reads
        /// every one within its limit, and this scan finds exactly the flow levels written;
        /// so it accepts whatever serde_yaml_ng accepts.
        #[test]
        fn finds_the_flow_levels_serde_yaml_ng_reads(node in document()) {
            let (text, max_flow) = Writer::document(&node);
            let parsed = serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text);
            proptest::prop_assert_eq!(parsed.is_ok(), depth(&node) <= MAX_FLOW_DEPTH, "{}: {:?}", text, parsed);
            proptest::prop_assert_eq!(flow_depth(&text), max_flow, "{}", text);
            proptest::prop_assert_eq!(check_flow_depth(&text).is_ok(), max_flow <= MAX_FLOW_DEPTH);
            if parsed.is_ok() {
                proptest::prop_assert!(check_flow_depth(&text).is_ok());
            }
        }

        /// Any text: no panic.
        #[test]
        fn never_panics(text in "[\\[\\]{}'\"\\\\|>#!&*%:?,\\- \t\r\n\u{85}\u{2028}\u{feff}a1é]{0,60}") {
            let _ = check_flow_depth(&text);
        }
    }
}
