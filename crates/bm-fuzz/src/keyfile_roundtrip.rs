//! Differential: the keyfile parser against write-then-parse. A keyfile that parses is written
//! in canonical form ([`bm_nmconn::canonical`], NetworkManager's own writer's layout, which
//! promises never to change what NetworkManager loads) and parsed again.
//!
//! No input may panic; the canonical text parses, and is its own canonical form; NetworkManager
//! loads the same profile from both ([`Profile::read`], the crate's one model of what it loads,
//! checked against libnm), and the validator gives both the same verdict: the same error codes,
//! so the same decision about whether NetworkManager would refuse or alter the file.
//!
//! A line is written up to its first NUL byte (GLib never reads further): the original's
//! `nul-byte` errors are the one verdict the canonical text does not repeat.
//!
//! `Profile` keeps bond options as written, and the writer names a numeric bond mode
//! (`mode=4` is written `mode=802.3ad`, as NetworkManager writes it): profiles are compared
//! with the mode by its name.

use std::collections::BTreeSet;

use bm_nmconn::check::{CheckOptions, check_document};
use bm_nmconn::diag::{Code, Severity};
use bm_nmconn::{Document, Profile, canonical};

fn errors(doc: &Document) -> BTreeSet<Code> {
    let report = check_document(doc, &CheckOptions::default());
    report.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(|d| d.code).collect()
}

/// What NetworkManager loads, with a numeric bond mode by its name.
fn loaded(doc: &Document) -> Profile {
    let mut p = Profile::read(doc);
    if let Some(b) = &mut p.bond
        && b.options.get("mode").is_some_and(|m| m.parse::<u8>().is_ok_and(|n| n < 7))
    {
        let name = b.mode().to_string();
        b.options.insert("mode".into(), name);
    }
    p
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = Document::parse(text) else { return };
    let canon = canonical(&doc);
    let again = Document::parse(&canon).unwrap_or_else(|e| panic!("canonical output does not parse: {e}\n{canon}"));
    assert_eq!(canonical(&again), canon, "canonical is not idempotent");
    assert_eq!(loaded(&again), loaded(&doc), "NetworkManager loads another profile:\n{canon}");
    let mut before = errors(&doc);
    before.remove(&Code::NulByte);
    assert_eq!(errors(&again), before, "the verdicts differ:\n{canon}");
}
