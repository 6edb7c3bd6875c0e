//! keepalived's splitting of a script command into words (`alloc_strvec_quoted_escaped` in
//! keepalived 2.2.7's `lib/parser.c`): whitespace separates words, `"` and `'` quote (the
//! quotes are removed, the whitespace between kept, and a word may mix quoted and unquoted
//! parts), and a backslash escapes as the man page lists (`\a \b \E \f \n \r \t \v`, `\nnn`
//! octal, `\xXX` hex, `\cC` control, anything else itself). No shell ever sees the command:
//! keepalived `execve`s the words, and so does bmnet.

/// The words of `text`, or why it has none: an unterminated quote or a trailing backslash.
///
/// ```
/// assert_eq!(
///     bm_check::split_words(r#"/usr/bin/test -e '/run/a b' x"y z"\t"#).unwrap(),
///     ["/usr/bin/test", "-e", "/run/a b", "xy z\t"]
/// );
/// ```
pub fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => {
                    quote = Some(c);
                    chars.next();
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    chars.next();
                }
                (_, '\\') => {
                    chars.next();
                    word.push(escape(&mut chars).ok_or_else(|| format!("{text:?}: a backslash at the end"))?);
                }
                (_, c) => {
                    word.push(c);
                    chars.next();
                }
            }
        }
        if let Some(q) = quote {
            return Err(format!("{text:?}: missing terminating {q}"));
        }
        words.push(word);
    }
}

/// The character an escape stands for, the backslash already taken.
fn escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    let c = chars.next()?;
    Some(match c {
        'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
            // keepalived takes every hex digit that follows into one byte (wrapping).
            let mut v: u8 = 0;
            while let Some(d) = chars.next_if(char::is_ascii_hexdigit) {
                v = v.wrapping_shl(4) | d.to_digit(16).unwrap_or(0) as u8;
            }
            char::from(v)
        }
        'c' if chars.peek().is_some() => {
            let next = chars.next().unwrap_or('@');
            char::from((next as u32 & 0x1f) as u8)
        }
        '0'..='7' => {
            let mut v = c.to_digit(8).unwrap_or(0);
            for _ in 0..2 {
                match chars.next_if(|d| ('0'..='7').contains(d)) {
                    Some(d) => v = v * 8 + d.to_digit(8).unwrap_or(0),
                    None => break,
                }
            }
            char::from((v & 0xff) as u8)
        }
        'a' => '\x07',
        'b' => '\x08',
        'E' => '\x1b',
        'f' => '\x0c',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'v' => '\x0b',
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The man page's examples (keepalived.conf(5), "Quoted strings").
    #[test]
    fn as_the_man_page_says() {
        assert_eq!(split_words(r#"abcd" efg h jkl "mnop"#).unwrap(), ["abcd efg h jkl mnop"]);
        assert_eq!(split_words(r#"abcd "efg h jkl" mnop"#).unwrap(), ["abcd", "efg h jkl", "mnop"]);
        assert_eq!(split_words(r#"a\\b \"c\" 'd"e'"#).unwrap(), [r"a\b", "\"c\"", "d\"e"]);
        assert_eq!(split_words(r"\x41\101\cA\q").unwrap(), ["AA\u{1}q"]);
        assert_eq!(split_words("  ").unwrap(), Vec::<String>::new());
        assert!(split_words("'open").unwrap_err().contains("missing terminating '"));
        assert!(split_words("end\\").is_err());
    }
}
