//! Fuzzes the keyfile validator and the offline editor: no input may panic; every diagnostic
//! points inside the file (a line that exists, a column within it) and renders; an edit that
//! is accepted leaves a file that parses and checks again. The input cut at its NUL bytes is
//! also a directory: its check gives each file the report `check_bytes` gives it alone, and the
//! directory rules what `check_set` finds over those reports.

use std::num::NonZeroUsize;

use bm_nmconn::Document;
use bm_nmconn::check::{CheckOptions, FileFacts, FileInput, check_bytes, check_files, check_set, check_text};
use bm_nmconn::edit::set_property;

/// One input.
pub fn run(data: &[u8]) {
    directory(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    let report = check_text(text, &CheckOptions::default());
    let lines: Vec<&str> = text.split('\n').collect();
    for d in &report.diagnostics {
        if d.line > 0 {
            let line = lines.get(d.line - 1).expect("diagnostic line inside the file");
            assert!(d.column >= 1 && d.column <= line.chars().count() + 1, "{d:?}");
            let _ = d.render("fuzz.nmconnection", Some(line));
        }
    }
    let Ok(mut doc) = Document::parse(text) else { return };
    // Edit with values taken from the input itself.
    let value = text.lines().last().unwrap_or_default();
    for prop in ["ipv4.addresses", "ipv4.dns", "ipv4.routes", "bond.options", "802-3-ethernet.mtu", "connection.id"] {
        if set_property(&mut doc, prop, value).is_ok() {
            let again = doc.to_string();
            let _ = check_text(&again, &CheckOptions::default());
            assert!(Document::parse(&again).is_ok(), "an edit keeps the file loadable");
        }
    }
}

/// The input as a directory of up to eight files, cut at NUL bytes (a keyfile has none).
fn directory(data: &[u8]) {
    let paths: Vec<String> =
        (0..8).map(|i| format!("/etc/NetworkManager/system-connections/f{i}.nmconnection")).collect();
    let files: Vec<FileInput<'_>> = data
        .splitn(8, |&b| b == 0)
        .zip(&paths)
        .enumerate()
        .map(|(i, (bytes, path))| FileInput {
            path,
            bytes,
            mode: Some(if i % 3 == 2 { 0o644 } else { 0o600 }),
            uid: Some(0),
        })
        .collect();
    let two = NonZeroUsize::new(2).expect("2 is not 0");
    let report = check_files(&files, &CheckOptions::default(), two);
    assert_eq!(report.files.len(), files.len());
    let mut facts = Vec::new();
    for (f, r) in files.iter().zip(&report.files) {
        let alone = CheckOptions { file_name: Some(f.path.to_string()), ..CheckOptions::default() };
        assert_eq!(r, &check_bytes(f.bytes, &alone), "a file's report as it has alone");
        facts.push(FileFacts { name: f.path.to_string(), profile: r.profile.clone(), mode: f.mode, uid: f.uid });
    }
    assert_eq!(report.set, check_set(&facts), "the directory rules over the same reports");
    assert!(report.set.iter().all(|(i, _)| *i < files.len()));
    assert_eq!(check_files(&files, &CheckOptions::default(), NonZeroUsize::MIN), report, "threads change nothing");
}
