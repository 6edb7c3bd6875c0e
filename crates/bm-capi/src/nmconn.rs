//! `bm_nmconn_check`.

use std::ffi::{c_char, c_int};

use bm_nmconn::check::{CheckOptions, FileFacts, NmVersion, check_set, check_text};
use bm_nmconn::diag::{Diagnostic, Severity};
use serde::{Deserialize, Serialize};

use crate::ffi::{self, Failure};

/// Checks NetworkManager keyfiles as NetworkManager will read them: the same diagnostics as
/// `bmnet nmconn check --json`.
///
/// `input` is one keyfile's text, or a JSON request:
/// `{"files": [{"name": "eth0.nmconnection", "text": "...", "mode": 384, "uid": 0}, ...],
/// "nm_version": "1.42"}` (`mode`, `uid` and `nm_version` optional) — with several files the
/// directory rules run too (duplicate UUIDs, dangling controllers, permissions).
///
/// Status 0 whenever the files could be checked, also when they have errors: the result is
/// `{"ok": bool, "errors": n, "warnings": n, "files": [{"name", "profile", "diagnostics":
/// [{"code", "severity", "line", "column", "group", "key", "message", "help"}]}]}` (`ok` is
/// false when any diagnostic is an error). Status 1 for a malformed request or an unknown
/// version (`kind` `invalid_request`, `invalid_json`, `invalid_version`).
///
/// Thread-safe; no I/O (file metadata comes in the request).
///
/// # Safety
///
/// `input` is NULL or a NUL-terminated string; `out_json` and `err_json` are NULL or point to
/// writable `char *` slots. Returned strings are freed with `bm_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_nmconn_check(
    input: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `input` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(input, "input") }?;
        check(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    files: Vec<FileIn>,
    #[serde(default)]
    nm_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    name: Option<String>,
    text: String,
    #[serde(default)]
    mode: Option<u32>,
    #[serde(default)]
    uid: Option<u32>,
}

#[derive(Serialize)]
struct CheckResult {
    ok: bool,
    errors: usize,
    warnings: usize,
    files: Vec<FileOut>,
}

#[derive(Serialize)]
struct FileOut {
    name: Option<String>,
    profile: Option<bm_nmconn::check::ProfileSummary>,
    diagnostics: Vec<Diagnostic>,
}

fn check(text: &str) -> Result<String, Failure> {
    // A keyfile never starts with `{`: GLib refuses such a line.
    let request = if text.trim_start().starts_with('{') {
        ffi::request::<CheckRequest>(text)?
    } else {
        CheckRequest {
            files: vec![FileIn { name: None, text: text.to_string(), mode: None, uid: None }],
            nm_version: None,
        }
    };
    let nm_version = match &request.nm_version {
        None => NmVersion::default(),
        Some(v) => v.parse().map_err(|e| Failure::rejected("invalid_version", e).with("path", "nm_version"))?,
    };
    let mut files = Vec::new();
    let mut facts = Vec::new();
    for f in &request.files {
        let report = check_text(&f.text, &CheckOptions { nm_version, file_name: f.name.clone() });
        facts.push(FileFacts {
            name: f.name.clone().unwrap_or_default(),
            profile: report.profile.clone(),
            mode: f.mode,
            uid: f.uid,
        });
        files.push(FileOut { name: f.name.clone(), profile: report.profile, diagnostics: report.diagnostics });
    }
    for (i, d) in check_set(&facts) {
        files[i].diagnostics.push(d);
    }
    let count = |s: Severity| files.iter().flat_map(|f| &f.diagnostics).filter(|d| d.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    ffi::to_json(&CheckResult { ok: errors == 0, errors, warnings, files })
}

/// Renders an nmstate desired state — or a whole Kubernetes `NodeNetworkConfigurationPolicy`
/// — given as YAML or JSON, to NetworkManager 1.42 keyfiles: the files `bmnet nmconn render`
/// writes.
///
/// The result is `{"files": [{"name": "bond0.nmconnection", "contents": "[connection]\n..."}],
/// "warnings": [...]}`; the caller writes the files (mode 0600). The rendered set is checked as
/// `bm_nmconn_check` would: a state whose profiles NetworkManager would refuse or alter is
/// rejected. Status 1 with `kind` `invalid_state` and the field `path`
/// (`interfaces[0].link-aggregation.options.lacp_rate`), or `kind` `invalid_profiles` with the
/// diagnostics in `diagnostics`.
///
/// Thread-safe; no I/O.
///
/// # Safety
///
/// `input` is NULL or a NUL-terminated string; `out_json` and `err_json` are NULL or point to
/// writable `char *` slots. Returned strings are freed with `bm_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_nmconn_render(
    input: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `input` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(input, "input") }?;
        render(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

#[derive(Serialize)]
struct Rendered {
    name: String,
    contents: String,
}

#[derive(Serialize)]
struct RenderResult {
    files: Vec<Rendered>,
    warnings: Vec<String>,
}

fn render(text: &str) -> Result<String, Failure> {
    let invalid =
        |e: bm_nmconn::state::StateError| Failure::rejected("invalid_state", &e.message).with("path", &e.path);
    // YAML is a superset of JSON: one reader for both.
    let loaded = bm_nmconn::state::from_yaml(text).map_err(invalid)?;
    let files = bm_nmconn::render::render(&loaded.state).map_err(invalid)?;
    let mut diagnostics = Vec::new();
    let mut facts = Vec::new();
    for (name, contents) in &files {
        let report =
            check_text(contents, &CheckOptions { nm_version: NmVersion::default(), file_name: Some(name.clone()) });
        facts.push(FileFacts { name: name.clone(), profile: report.profile.clone(), mode: None, uid: None });
        diagnostics.extend(
            report.diagnostics.into_iter().filter(|d| d.severity == Severity::Error).map(|d| (name.clone(), d)),
        );
    }
    for (i, d) in check_set(&facts) {
        if d.severity == Severity::Error {
            diagnostics.push((files[i].0.clone(), d));
        }
    }
    if !diagnostics.is_empty() {
        let list: Vec<serde_json::Value> = diagnostics
            .iter()
            .map(|(name, d)| {
                let mut v = serde_json::json!(d);
                v["file"] = serde_json::json!(name);
                v
            })
            .collect();
        return Err(Failure::rejected(
            "invalid_profiles",
            "NetworkManager would refuse or alter the rendered profiles",
        )
        .with("diagnostics", list));
    }
    let files = files.into_iter().map(|(name, contents)| Rendered { name, contents }).collect();
    ffi::to_json(&RenderResult { files, warnings: loaded.warnings })
}
