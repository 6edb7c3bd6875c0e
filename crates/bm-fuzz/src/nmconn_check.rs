//! Fuzzes the keyfile validator and the offline editor: no input may panic; every diagnostic
//! points inside the file (a line that exists, a column within it) and renders; an edit that
//! is accepted leaves a file that parses and checks again.

use bm_nmconn::Document;
use bm_nmconn::check::{CheckOptions, check_text};
use bm_nmconn::edit::set_property;

/// One input.
pub fn run(data: &[u8]) {
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
