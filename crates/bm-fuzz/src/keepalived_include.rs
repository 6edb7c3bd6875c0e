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

use bm_nodeip::Pattern;
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

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (main, files) = split(text);
    let mut reads = 0usize;
    let mut refused = 0usize;
    let mut served: Vec<(String, String)> = Vec::new();
    let mut reader = |path: &str| -> Result<String, String> {
        reads += 1;
        // A glob as bm-nodeip's interface patterns match them (`*`, `?`; linear in the
        // lengths). Its `re:` prefix means a regular expression, which keepalived has not.
        let glob =
            (!path.starts_with("re:") && path.contains(['*', '?'])).then(|| path.parse::<Pattern>().ok()).flatten();
        let found: Vec<&str> = if let Some(glob) = glob {
            files.iter().filter(|(n, _)| glob.matches(n)).map(|(_, t)| *t).collect()
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
