//! keepalived.conf's layout: tokens (`#` and `!` start comments, `"..."` is one token, braces
//! are tokens of their own), statements (a keyword, its arguments on the same line, a block),
//! `include`s spliced in place, and every finding with its file:line:column.

use super::{Diagnostic, MAX_INCLUDES, Place, Severity};

/// A token and where it is.
#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) text: String,
    pub(super) line: usize,
    pub(super) column: usize,
    pub(super) file: usize,
}

/// A statement: a keyword, its arguments, and a block if it has one.
#[derive(Clone, Debug)]
pub(super) struct Stmt {
    pub(super) key: Token,
    pub(super) args: Vec<Token>,
    pub(super) block: Option<Vec<Stmt>>,
}

/// Splits text into tokens.
pub(super) fn tokenize(text: &str, file: usize) -> Vec<Token> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            if c == '#' || c == '!' {
                break;
            }
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            let column = line[..at].chars().count() + 1;
            if c == '{' || c == '}' {
                out.push(Token { text: c.to_string(), line: n + 1, column, file });
                i += 1;
            } else if c == '"' {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    s.push(chars[i].1);
                    i += 1;
                }
                i += 1;
                out.push(Token { text: s, line: n + 1, column, file });
            } else {
                let mut s = String::new();
                while i < chars.len() && !chars[i].1.is_whitespace() && !matches!(chars[i].1, '{' | '}' | '#' | '!') {
                    s.push(chars[i].1);
                    i += 1;
                }
                out.push(Token { text: s, line: n + 1, column, file });
            }
        }
    }
    out
}

/// The reader's state: the files read so far (names and texts), the findings, and how to read
/// an included file.
pub(super) struct Parser<'i> {
    files: Vec<String>,
    texts: Vec<String>,
    pub(super) diagnostics: Vec<Diagnostic>,
    include: &'i mut dyn FnMut(&str) -> Result<String, String>,
    /// The files being read, outermost first (indexes into `files`): an include of one of them
    /// is a cycle.
    open: Vec<usize>,
    /// How many times `include` has been called.
    reads: usize,
}

/// Includes nest at most this deep.
const MAX_DEPTH: usize = 8;

/// Blocks nest at most this deep. keepalived's own configurations need five
/// (`virtual_server` / `real_server` / `HTTP_GET` / `url`, inside an anonymous block); past this
/// a block is skipped with an error rather than read by a recursion as deep as the input
/// (found by the `keepalived_parse` fuzz target: two thousand `{` overflowed a thread's stack).
pub(super) const MAX_BLOCK_DEPTH: usize = 32;

impl<'i> Parser<'i> {
    pub(super) fn new(file: &str, text: &str, include: &'i mut dyn FnMut(&str) -> Result<String, String>) -> Self {
        Parser {
            files: vec![file.to_string()],
            texts: vec![text.to_string()],
            diagnostics: Vec::new(),
            include,
            open: vec![0],
            reads: 0,
        }
    }

    /// Where `t` is.
    pub(super) fn place(&self, t: &Token) -> Place {
        Place { file: self.files[t.file].clone(), line: t.line, column: t.column }
    }

    pub(super) fn report(&mut self, t: &Token, severity: Severity, message: String) {
        let Place { file, line, column } = self.place(t);
        self.diagnostics.push(Diagnostic { file, line, column, severity, message });
    }

    /// The text of `t`'s line from `t` on, up to a comment outside quotes: what keepalived
    /// re-splits for scripts (its `buf_extern`), quotes and escapes as written.
    pub(super) fn raw_from(&self, t: &Token) -> String {
        let line = self.texts[t.file].lines().nth(t.line - 1).unwrap_or_default();
        let rest: String = line.chars().skip(t.column - 1).collect();
        let mut quote = None;
        let mut escaped = false;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                _ if escaped => escaped = false,
                (_, '\\') => escaped = true,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '#' | '!') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        rest[..end].trim_end().to_string()
    }

    /// Statements from `tokens[*at..]` until a `}` (consumed) or the end, inside `blocks`
    /// enclosing blocks; `include` splices the included file's statements in place (`depth`
    /// includes deep).
    pub(super) fn statements(&mut self, tokens: &[Token], at: &mut usize, depth: usize, blocks: usize) -> Vec<Stmt> {
        let mut out = Vec::new();
        while *at < tokens.len() {
            let key = tokens[*at].clone();
            *at += 1;
            if key.text == "}" {
                return out;
            }
            if key.text == "{" {
                // An anonymous block: its contents belong to the enclosing statement list.
                let inner = self.block(tokens, at, &key, depth, blocks);
                out.extend(inner);
                continue;
            }
            let mut args = Vec::new();
            while *at < tokens.len()
                && tokens[*at].line == key.line
                && tokens[*at].file == key.file
                && tokens[*at].text != "{"
                && tokens[*at].text != "}"
            {
                args.push(tokens[*at].clone());
                *at += 1;
            }
            let block = if *at < tokens.len() && tokens[*at].text == "{" {
                let open = tokens[*at].clone();
                *at += 1;
                Some(self.block(tokens, at, &open, depth, blocks))
            } else {
                None
            };
            if key.text == "include" {
                let Some(path) = args.first() else {
                    self.report(&key, Severity::Error, "include needs a file".into());
                    continue;
                };
                if depth >= MAX_DEPTH {
                    self.report(&key, Severity::Error, format!("includes nested more than {MAX_DEPTH} deep"));
                    continue;
                }
                // A file that includes itself, directly, through others or through a glob that
                // matches it (the same path as written), would be read again and again.
                if self.open.iter().any(|&f| self.files[f] == path.text) {
                    let mut chain: Vec<&str> = self.open.iter().map(|&f| self.files[f].as_str()).collect();
                    chain.push(&path.text);
                    let message = format!("include cycle: {}", chain.join(" -> "));
                    self.report(path, Severity::Error, message);
                    continue;
                }
                // Without cycles, fan-out still multiplies with depth (each of 8 levels
                // including the next level's files 10 times is 10^8 reads).
                if self.reads >= MAX_INCLUDES {
                    let message = format!("cannot include {}: more than {MAX_INCLUDES} includes", path.text);
                    self.report(path, Severity::Error, message);
                    continue;
                }
                self.reads += 1;
                match (self.include)(&path.text) {
                    Ok(text) => {
                        self.files.push(path.text.clone());
                        let inner = tokenize(&text, self.files.len() - 1);
                        self.texts.push(text);
                        self.open.push(self.files.len() - 1);
                        let mut i = 0;
                        let stmts = self.statements(&inner, &mut i, depth + 1, blocks);
                        self.open.pop();
                        out.extend(stmts);
                    }
                    Err(e) => self.report(path, Severity::Error, format!("cannot include {}: {e}", path.text)),
                }
                continue;
            }
            out.push(Stmt { key, args, block });
        }
        out
    }

    /// The statements of the block opened by `open` (its `{` consumed), nested `blocks` deep
    /// before it: read when the nesting allows, else skipped to its `}` with an error.
    fn block(&mut self, tokens: &[Token], at: &mut usize, open: &Token, depth: usize, blocks: usize) -> Vec<Stmt> {
        if blocks < MAX_BLOCK_DEPTH {
            return self.statements(tokens, at, depth, blocks + 1);
        }
        self.report(
            open,
            Severity::Error,
            format!("blocks nested more than {MAX_BLOCK_DEPTH} deep: this one is skipped"),
        );
        let mut open_blocks = 1usize;
        while *at < tokens.len() && open_blocks > 0 {
            match tokens[*at].text.as_str() {
                "{" => open_blocks += 1,
                "}" => open_blocks -= 1,
                _ => {}
            }
            *at += 1;
        }
        Vec::new()
    }
}
