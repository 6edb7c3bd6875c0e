//! Fuzzes keepalived.conf with `include`s: the input is a main file and up to four virtual
//! files it may include (`%% NAME` on a line of its own starts one; names are single words).
//! The reader hands back a virtual file by its exact name, and for a glob (`*`, `?`) the
//! matching files one after the other, as a globbing reader would; any other name is a missing
//! file.
//!
//! No input may panic; include cycles (direct, through other files, through a glob that
//! matches the including file) and any fan-out end after at most
//! [`bm_vrrp::MAX_INCLUDES`] reads; every read the reader refuses, and every include the
//! parser refuses, is an error diagnostic; every diagnostic points into the file it names.

use bm_vrrp::{MAX_INCLUDES, Severity, parse_keepalived};

const MAX_FILES: usize = 4;

/// `main` and the virtual files, from the input.
fn split(text: &str) -> (&str, Vec<(&str, &str)>) {
    let mut parts = text.split("\n%% ");
    let main = parts.next().unwrap_or_default();
    let files = parts
        .take(MAX_FILES)
        .filter_map(|p| {
            let (name, body) = p.split_once('\n').unwrap_or((p, ""));
            let name = name.trim();
            (!name.is_empty() && name != "main" && !name.contains(char::is_whitespace)).then_some((name, body))
        })
        .collect();
    (main, files)
}

/// Shell-style matching of `*` and `?` (no classes), in time at most the product of the
/// lengths: on a mismatch only the last `*` takes one more byte. (The recursive form, each `*`
/// trying every split, took time exponential in the stars: an `include` of ninety `*` and a
/// `b` in the campaign never returned.)
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // After the last `*` seen: the pattern's next byte and the name's byte it was tried at.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p + 1, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((after, tried)) => {
                    star = Some((after, tried + 1));
                    (p, n) = (after, tried + 1);
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (main, files) = split(text);
    let mut reads = 0usize;
    let mut refused = 0usize;
    let mut served: Vec<(String, String)> = Vec::new();
    let mut reader = |path: &str| -> Result<String, String> {
        reads += 1;
        let found: Vec<&str> = if path.contains(['*', '?']) {
            files.iter().filter(|(n, _)| glob(path.as_bytes(), n.as_bytes())).map(|(_, t)| *t).collect()
        } else {
            files.iter().filter(|(n, _)| *n == path).take(1).map(|(_, t)| *t).collect()
        };
        if found.is_empty() {
            refused += 1;
            return Err("No such file or directory".into());
        }
        let joined = found.iter().map(|t| t.trim_end_matches('\n')).collect::<Vec<_>>().join("\n");
        served.push((path.to_string(), joined.clone()));
        Ok(joined)
    };
    let conf = parse_keepalived(main, "main", &mut reader);
    assert!(reads <= MAX_INCLUDES, "{reads} reads");
    let errors = conf.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    assert!(errors >= refused, "{refused} reads refused, {errors} errors: {:#?}", conf.diagnostics);
    for d in &conf.diagnostics {
        let lines = if d.file == "main" {
            main.lines().count()
        } else {
            match served.iter().filter(|(p, _)| *p == d.file).map(|(_, t)| t.lines().count()).max() {
                Some(n) => n,
                // An include that was refused is reported in the file that asked for it.
                None => panic!("{d}: a file never read"),
            }
        };
        assert!(d.line >= 1 && d.line <= lines.max(1), "{d}");
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

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
                assert_eq!(glob(&pattern, name), reference(&pattern, name), "{:?} {:?}", pattern, name);
            }
        }
    }

    /// The campaign's finding (`fuzz/corpus/keepalived_include` keeps the whole input): with
    /// the recursive matcher this never returned.
    #[test]
    fn many_stars_and_no_match_end_at_once() {
        let pattern = [vec![b'*'; 90], b"b".to_vec()].concat();
        assert!(!glob(&pattern, &[b'a'; 64]));
        assert!(glob(&pattern, &[&[b'a'; 64][..], b"b"].concat()));
    }
}
