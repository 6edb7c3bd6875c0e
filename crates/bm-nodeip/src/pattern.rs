//! Interface-name patterns: shell globs (`eth*`, `en?1`) or, after `re:`, regular expressions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A name pattern.
///
/// ```
/// use bm_nodeip::Pattern;
/// let glob: Pattern = "ens*".parse().unwrap();
/// assert!(glob.matches("ens3") && !glob.matches("eth0"));
/// let re: Pattern = "re:^(eth|ens)[0-9]+$".parse().unwrap();
/// assert!(re.matches("eth10") && !re.matches("veth0"));
/// ```
#[derive(Clone, Debug)]
pub struct Pattern {
    text: String,
    regex: Option<regex_lite::Regex>,
}

/// A regular expression that does not compile.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid interface pattern {text:?}: {message}")]
pub struct PatternError {
    text: String,
    message: String,
}

impl std::str::FromStr for Pattern {
    type Err = PatternError;
    fn from_str(s: &str) -> Result<Pattern, PatternError> {
        let regex = match s.strip_prefix("re:") {
            Some(re) => Some(
                regex_lite::Regex::new(re).map_err(|e| PatternError { text: s.to_string(), message: e.to_string() })?,
            ),
            None => None,
        };
        Ok(Pattern { text: s.to_string(), regex })
    }
}

impl Pattern {
    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        match &self.regex {
            Some(re) => re.is_match(name),
            None => glob(self.text.as_bytes(), name.as_bytes()),
        }
    }
}

/// `*` any run, `?` any one byte, everything else literal.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more byte and retry.
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text
    }
}
impl Eq for Pattern {}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        for (p, n, m) in [
            ("eth*", "eth0", true),
            ("eth*", "veth0", false),
            ("*", "", true),
            ("e?h0", "eth0", true),
            ("*0", "br-ex0", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("br-ex", "br-ex", true),
            ("br-ex", "br-ex1", false),
        ] {
            assert_eq!(glob(p.as_bytes(), n.as_bytes()), m, "{p} ~ {n}");
        }
    }

    /// The recursive definition: clear, and exponential in the stars.
    fn reference(pattern: &[u8], name: &[u8]) -> bool {
        match (pattern.split_first(), name.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => reference(rest, name) || (!name.is_empty() && reference(pattern, &name[1..])),
            (Some((b'?', rest)), Some((_, n))) => reference(rest, n),
            (Some((p, rest)), Some((c, n))) if p == c => reference(rest, n),
            _ => false,
        }
    }

    /// Every string of up to `len` bytes over `alphabet`.
    fn strings(alphabet: &[u8], len: usize) -> Vec<Vec<u8>> {
        let mut all = vec![Vec::new()];
        let mut last = vec![Vec::new()];
        for _ in 0..len {
            last = last
                .iter()
                .flat_map(|s: &Vec<u8>| alphabet.iter().map(move |&c| [s.as_slice(), &[c]].concat()))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn agrees_with_the_recursive_definition_on_every_short_pair() {
        let names = strings(b"ab", 5);
        for pattern in strings(b"ab*?", 5) {
            for name in &names {
                assert_eq!(glob(&pattern, name), reference(&pattern, name), "{pattern:?} {name:?}");
            }
        }
    }

    /// Ninety `*` and a `b` (the `keepalived_include` fuzz target's input, whose reader had a
    /// recursive matcher of its own that never returned on it): linear here.
    #[test]
    fn many_stars_and_no_match_end_at_once() {
        let pattern = [vec![b'*'; 90], b"b".to_vec()].concat();
        assert!(!glob(&pattern, &[b'a'; 64]));
        assert!(glob(&pattern, &[&[b'a'; 64][..], b"b"].concat()));
    }
}
