//! `bmnet nmconn`: check NetworkManager keyfiles before a node boots, and edit them offline.

// Reading the files and directories it is given is this module's job.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use bm_nmconn::check::{CheckOptions, FileInput, FileReport, NmVersion, check_files};
use bm_nmconn::diag::{Diagnostic, Severity};
use bm_nmconn::edit::{EditError, set_properties};
use bm_nmconn::{Document, canonical};
use clap::Subcommand;
use serde_json::json;

use super::Status;
use super::output::Output;

#[derive(Subcommand, Debug)]
pub(crate) enum NmconnCommand {
    /// Check keyfiles (files or directories) the way NetworkManager will read them: errors where
    /// it refuses a profile or loads something other than what is written, warnings for risks.
    /// Exit 1 if any error.
    Check {
        /// Files or directories (e.g. /etc/NetworkManager/system-connections).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// The NetworkManager version that will read them.
        #[arg(long, default_value = "1.42", value_name = "X.Y")]
        nm_version: NmVersion,
    },
    /// Rewrite keyfiles as NetworkManager 1.42's own writer would (group and key order, list
    /// and address forms), keeping every value, unknown key and comment. The files are
    /// replaced atomically with mode 0600, as NetworkManager writes them (a tighter mode is
    /// kept).
    Fmt {
        /// The keyfiles.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Only report the files that would change (exit 1 if any).
        #[arg(long)]
        check: bool,
    },
    /// Render an nmstate state (or a whole NodeNetworkConfigurationPolicy), YAML or JSON, to
    /// NetworkManager 1.42 keyfiles, checked before any is written (mode 0600).
    Render {
        /// The state file.
        state: PathBuf,
        /// Where the `<name>.nmconnection` files go (created when missing).
        #[arg(long, value_name = "DIR")]
        out_dir: PathBuf,
    },
    /// Read keyfiles (files or directories) back into an nmstate state, printed as YAML (JSON
    /// with `--json`).
    ToNmstate {
        /// Files or directories.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Set properties in a keyfile offline, like `nmcli connection modify`, refusing any change
    /// NetworkManager would drop or reject. The file is replaced atomically with mode 0600, as
    /// NetworkManager writes it (a tighter mode is kept).
    Set {
        /// The keyfile.
        file: PathBuf,
        /// `setting.property=value` (nmcli's names and value syntax; an empty value removes).
        #[arg(required = true, value_name = "PROP=VALUE")]
        assignments: Vec<String>,
        /// The NetworkManager version that will read it.
        #[arg(long, default_value = "1.42", value_name = "X.Y")]
        nm_version: NmVersion,
    },
}

pub(crate) fn run(out: &mut Output, cmd: NmconnCommand) -> Status {
    match cmd {
        NmconnCommand::Check { paths, nm_version } => check(out, &paths, nm_version),
        NmconnCommand::Set { file, assignments, nm_version } => set(out, &file, &assignments, nm_version),
        NmconnCommand::Fmt { files, check } => fmt(out, &files, check),
        NmconnCommand::Render { state, out_dir } => render(out, &state, &out_dir),
        NmconnCommand::ToNmstate { paths } => to_nmstate(out, &paths),
    }
}

/// One file read and checked.
pub(crate) struct Checked {
    pub(crate) path: PathBuf,
    pub(crate) text: String,
    pub(crate) report: FileReport,
}

/// Whether NetworkManager's keyfile plugin skips a name (`nm_keyfile_utils_ignore_filename`):
/// hidden files, backups, mkstemp temporaries, certificates.
fn ignored_name(name: &str) -> bool {
    let mkstemp = name.len() > 7
        && name.as_bytes()[name.len() - 7] == b'.'
        && name[name.len() - 6..].chars().all(|c| c.is_ascii_alphanumeric());
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".pem") || name.ends_with(".der") || mkstemp
}

/// Diagnostics of the rules over a set of files, by index of the file.
pub(crate) type SetDiagnostics = Vec<(usize, Diagnostic)>;

/// Reads every keyfile under `paths` (directories as NetworkManager's keyfile plugin lists
/// them), then checks them on every core, with the rules over the whole set.
pub(crate) fn check_paths(paths: &[PathBuf], nm_version: NmVersion) -> Result<(Vec<Checked>, SetDiagnostics), String> {
    let mut files = Vec::new();
    for p in paths {
        let meta = fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|e| e.is_file() && !e.file_name().is_some_and(|n| ignored_name(&n.to_string_lossy())))
                .collect();
            entries.sort();
            files.extend(entries);
        } else {
            files.push(p.clone());
        }
    }
    let mut read = Vec::with_capacity(files.len());
    for path in files {
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        read.push((path.display().to_string(), path, bytes, meta.mode() & 0o7777, meta.uid()));
    }
    let inputs: Vec<FileInput<'_>> = read
        .iter()
        .map(|(name, _, bytes, mode, uid)| FileInput { path: name, bytes, mode: Some(*mode), uid: Some(*uid) })
        .collect();
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let options = CheckOptions { nm_version, file_name: None };
    let report = check_files(&inputs, &options, threads);
    let checked = read
        .into_iter()
        .zip(report.files)
        .map(|((_, path, bytes, _, _), report)| Checked {
            path,
            text: String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            report,
        })
        .collect();
    Ok((checked, report.set))
}

/// Replaces a keyfile as NetworkManager writes one: atomically, with mode 0600 — or the file's
/// own mode, where that is already tighter — and owned by whoever writes it (root, when run as
/// root: the file is created anew, not rewritten in place). NetworkManager refuses a keyfile
/// that anyone but its owner may read, and one that holds a secret must not be readable anyway.
fn write_keyfile(path: &Path, contents: &[u8]) -> io::Result<()> {
    // `write_atomically` gives the new file the old one's mode: tighten that first, so that the
    // contents are never readable by more than the old file allowed.
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o7777;
            if mode & !0o600 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o600))?;
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    super::write::write_atomically(path, contents, 0o600)
}

fn check(out: &mut Output, paths: &[PathBuf], nm_version: NmVersion) -> Status {
    let (checked, set) = match check_paths(paths, nm_version) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let (mut errors, mut warnings) = (0, 0);
    for (i, c) in checked.iter().enumerate() {
        let extra = set.iter().filter(|(j, _)| *j == i).map(|(_, d)| d);
        let mut all: Vec<&Diagnostic> = c.report.diagnostics.iter().chain(extra).collect();
        all.sort_by_key(|d| (d.line, d.column));
        let lines = Lines::new(&c.text);
        for d in all {
            match d.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
            emit(out, &c.path, &lines, d);
        }
    }
    if out.json() {
        out.json_line(&json!({ "type": "summary", "files": checked.len(), "errors": errors, "warnings": warnings, "nm_version": nm_version.to_string() }));
    } else {
        out.text(&format!(
            "{} file{} checked for NetworkManager {nm_version}: {errors} error{}, {warnings} warning{}\n",
            checked.len(),
            if checked.len() == 1 { "" } else { "s" },
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" },
        ));
    }
    if errors > 0 { Status::Problems } else { Status::Ok }
}

/// A file's lines, split once for the diagnostics that quote them (a search per diagnostic
/// would make a file with many of them quadratic).
pub(crate) struct Lines<'t>(Vec<&'t str>);

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str) -> Lines<'t> {
        Lines(text.lines().collect())
    }

    /// Line `n` (1-based).
    fn get(&self, n: usize) -> Option<&'t str> {
        n.checked_sub(1).and_then(|i| self.0.get(i).copied())
    }
}

pub(crate) fn emit(out: &mut Output, path: &Path, lines: &Lines<'_>, d: &Diagnostic) {
    if out.json() {
        let mut v = json!(d);
        v["type"] = json!("diagnostic");
        v["file"] = json!(path.display().to_string());
        out.json_line(&v);
    } else {
        out.text(&d.render(&path.display().to_string(), lines.get(d.line)));
        out.text("\n");
    }
}

fn set(out: &mut Output, file: &Path, assignments: &[String], nm_version: NmVersion) -> Status {
    let text = match fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bmnet: {}: {e}", file.display());
            return Status::Failure;
        }
    };
    let mut doc = match Document::parse(&text) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bmnet: {}:{}:{}: {}", file.display(), e.line, e.column, e.message);
            return Status::Problems;
        }
    };
    let mut pairs = Vec::with_capacity(assignments.len());
    for a in assignments {
        let Some((prop, value)) = a.split_once('=') else {
            eprintln!("bmnet: `{a}` is not PROPERTY=VALUE");
            return Status::Failure;
        };
        pairs.push((prop.trim(), value));
    }
    let options = CheckOptions { nm_version, file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()) };
    match set_properties(&mut doc, &pairs, &options) {
        Ok(()) => {}
        Err(EditError::Refused { diagnostics, text }) => {
            eprintln!("bmnet: {}: not written; NetworkManager would not load the change as given:", file.display());
            let lines = Lines::new(&text);
            for d in &diagnostics {
                emit(out, file, &lines, d);
            }
            return Status::Problems;
        }
        Err(e) => {
            eprintln!("bmnet: {}: {e}", file.display());
            return Status::Problems;
        }
    }
    let new_text = doc.to_string();
    if new_text == text {
        return Status::Ok;
    }
    if let Err(e) = write_keyfile(file, new_text.as_bytes()) {
        eprintln!("bmnet: writing {}: {e}", file.display());
        return Status::Failure;
    }
    if out.json() {
        out.json_line(&json!({ "type": "written", "file": file.display().to_string() }));
    }
    Status::Ok
}

fn fmt(out: &mut Output, files: &[PathBuf], check_only: bool) -> Status {
    let mut status = Status::Ok;
    for file in files {
        let text = match fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("bmnet: {}: {e}", file.display());
                return Status::Failure;
            }
        };
        let doc = match Document::parse(&text) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("bmnet: {}:{}:{}: {}", file.display(), e.line, e.column, e.message);
                status = Status::Problems;
                continue;
            }
        };
        let canonical = canonical(&doc);
        let changed = canonical != text;
        if out.json() {
            out.json_line(&json!({ "type": "fmt", "file": file.display().to_string(), "changed": changed }));
        } else if changed {
            out.text(&format!("{}{}\n", if check_only { "would reformat " } else { "reformatted " }, file.display()));
        }
        if !changed {
            continue;
        }
        if check_only {
            status = Status::Problems;
        } else if let Err(e) = write_keyfile(file, canonical.as_bytes()) {
            eprintln!("bmnet: writing {}: {e}", file.display());
            return Status::Failure;
        }
    }
    status
}

fn render(out: &mut Output, state_path: &Path, out_dir: &Path) -> Status {
    let text = match fs::read_to_string(state_path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bmnet: {}: {e}", state_path.display());
            return Status::Failure;
        }
    };
    // YAML is a superset of JSON: one reader for both.
    let loaded = match bm_nmconn::state::from_yaml(&text) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bmnet: {}: {e}", state_path.display());
            return Status::Problems;
        }
    };
    for w in &loaded.warnings {
        eprintln!("bmnet: {}: {w}", state_path.display());
    }
    let files = match bm_nmconn::render::render(&loaded.state) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("bmnet: {}: {e}", state_path.display());
            return Status::Problems;
        }
    };
    // Check what would be written, as a set, before writing anything.
    let inputs: Vec<FileInput<'_>> = files
        .iter()
        .map(|(name, text)| FileInput { path: name, bytes: text.as_bytes(), mode: None, uid: None })
        .collect();
    let report = check_files(&inputs, &CheckOptions::default(), NonZeroUsize::MIN);
    let mut problems = false;
    for (i, (name, text)) in files.iter().enumerate() {
        let lines = Lines::new(text);
        for d in report.diagnostics_of(i).into_iter().filter(|d| d.severity == Severity::Error) {
            problems = true;
            emit(out, &out_dir.join(name), &lines, d);
        }
    }
    if problems {
        eprintln!("bmnet: nothing written: the rendered profiles have errors");
        return Status::Problems;
    }
    for (name, text) in &files {
        let path = out_dir.join(name);
        if let Err(e) = write_keyfile(&path, text.as_bytes()) {
            eprintln!("bmnet: writing {}: {e}", path.display());
            return Status::Failure;
        }
        if out.json() {
            out.json_line(&json!({ "type": "written", "file": path.display().to_string() }));
        } else {
            out.text(&format!("{}\n", path.display()));
        }
    }
    Status::Ok
}

fn to_nmstate(out: &mut Output, paths: &[PathBuf]) -> Status {
    let (checked, _) = match check_paths(paths, NmVersion::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let mut docs = Vec::new();
    for c in &checked {
        match Document::parse(&c.text) {
            Ok(d) => docs.push(d),
            Err(e) => {
                eprintln!("bmnet: {}:{}:{}: {}", c.path.display(), e.line, e.column, e.message);
                return Status::Problems;
            }
        }
    }
    let read = bm_nmconn::render::to_state(&docs);
    // What the state leaves out, quoted like `check`'s diagnostics: to stderr beside the YAML,
    // as JSON Lines records before the state's with --json.
    for (i, w) in &read.warnings {
        let c = &checked[*i];
        let lines = Lines::new(&c.text);
        if out.json() {
            emit(out, &c.path, &lines, w);
        } else {
            eprint!("{}", w.render(&c.path.display().to_string(), lines.get(w.line)));
        }
    }
    if out.json() {
        let mut v = json!(read.state);
        v["type"] = json!("state");
        out.json_line(&v);
    } else {
        out.text(&read.state.to_yaml());
    }
    Status::Ok
}
