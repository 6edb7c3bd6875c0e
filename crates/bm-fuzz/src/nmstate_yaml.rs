//! Fuzzes nmstate desired states and `NodeNetworkConfigurationPolicy` CRs written in YAML
//! (`bm_nmconn::state::from_yaml`: what `bmnet nmconn render` and `bm_nmconn_render` read), and
//! rendering an accepted state to keyfiles (`bm_nmconn::render::render`).
//!
//! No input may panic; an accepted state reads back the same from its own JSON and YAML forms;
//! rendering it gives distinct `*.nmconnection` file names and files that parse, are in
//! canonical form (`render` promises `canonical`'s bytes), and that the validator finds no
//! error in (`render` refuses, naming the field, what NetworkManager would refuse or alter).
//! Reading them back (`to_state`) gives a state in `to_state`'s form when nothing was left out,
//! and for such a state `to_state(render(s))` is `s` (what `render` promises; `render(s)`
//! itself may differ from the first files: a family not given and one given as disabled are
//! written differently).

use std::collections::BTreeSet;

use bm_nmconn::check::{CheckOptions, check_text};
use bm_nmconn::diag::Severity;
use bm_nmconn::render::{render, to_state};
use bm_nmconn::state::{from_json, from_yaml};
use bm_nmconn::{Document, canonical};

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(loaded) = from_yaml(text) else { return };
    let state = loaded.state;
    let json = state.to_json();
    assert_eq!(from_json(&json).map(|l| l.state).as_ref(), Ok(&state), "the JSON form reads back otherwise:\n{json}");
    let yaml = state.to_yaml();
    assert_eq!(from_yaml(&yaml).map(|l| l.state).as_ref(), Ok(&state), "the YAML form reads back otherwise:\n{yaml}");
    let Ok(files) = render(&state) else { return };
    let mut names = BTreeSet::new();
    let mut docs = Vec::new();
    for (name, contents) in &files {
        assert!(name.ends_with(".nmconnection") && !name.contains('/'), "{name}");
        assert!(names.insert(name), "{name} twice");
        let doc = Document::parse(contents).unwrap_or_else(|e| panic!("{name} does not parse: {e}\n{contents}"));
        assert_eq!(&canonical(&doc), contents, "{name} is not canonical");
        let report = check_text(contents, &CheckOptions { file_name: Some(name.clone()), ..CheckOptions::default() });
        let errors: Vec<_> = report.diagnostics.iter().filter(|d| d.severity == Severity::Error).collect();
        assert!(errors.is_empty(), "{name}: NetworkManager would refuse or alter it: {errors:?}\n{contents}");
        docs.push(doc);
    }
    let back = to_state(&docs);
    if back.warnings.is_empty() {
        let again = render(&back.state).unwrap_or_else(|e| panic!("a state read back does not render: {e}"));
        let docs: Vec<Document> =
            again.iter().map(|(_, c)| Document::parse(c).expect("rendered files parse")).collect();
        assert_eq!(to_state(&docs).state, back.state, "to_state(render(s)) is not s");
    }
}
