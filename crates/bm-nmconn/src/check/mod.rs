//! The validator: what NetworkManager would do with a keyfile, said before a node boots.
//!
//! [`check_text`] runs every rule on one file; [`check_set`] adds the rules that need every
//! file of a directory (duplicate UUIDs, dangling controllers); [`check_files`] does both for a
//! directory's files on several cores. Each rule is pinned to the
//! NetworkManager version in [`CheckOptions`] (default 1.42, Debian 12's).
//!
//! ```
//! use bm_nmconn::check::{CheckOptions, check_text};
//! use bm_nmconn::diag::Code;
//! let text = "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n\
//!             [ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\n";
//! let report = check_text(text, &CheckOptions::default());
//! let codes: Vec<Code> = report.diagnostics.iter().map(|d| d.code).collect();
//! assert!(codes.contains(&Code::IntegerOctal)); // mtu 832
//! assert!(codes.contains(&Code::AddressDropped)); // the typo loses the address…
//! assert!(codes.contains(&Code::ManualWithoutAddresses)); // …and NetworkManager refuses the profile
//! let dropped = report.diagnostics.iter().find(|d| d.code == Code::AddressDropped).unwrap();
//! assert_eq!(dropped.help.as_deref(), Some("did you mean `10.10.99.99/24`?"));
//! ```

mod bond;
mod connection;
mod files;
mod ipconfig;
mod link;
mod set;
mod values;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use files::{FileInput, SetReport, check_bytes, check_files};
pub use set::{FileFacts, check_set};

use crate::diag::{Code, Diagnostic, Severity};
use crate::keyfile::{Document, EntryRef, Location};
use crate::profile::{Load, load_into};

/// A NetworkManager version, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NmVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
}

impl NmVersion {
    /// Debian 12's NetworkManager, the default target.
    pub const V1_42: NmVersion = NmVersion { major: 1, minor: 42 };

    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> NmVersion {
        NmVersion { major, minor }
    }
}

impl Default for NmVersion {
    fn default() -> NmVersion {
        NmVersion::V1_42
    }
}

impl fmt::Display for NmVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A version that does not read as `MAJOR.MINOR`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid NetworkManager version {0:?}: expected MAJOR.MINOR, e.g. 1.42")]
pub struct NmVersionError(String);

impl FromStr for NmVersion {
    type Err = NmVersionError;

    fn from_str(s: &str) -> Result<NmVersion, NmVersionError> {
        let err = || NmVersionError(s.to_string());
        let mut parts = s.split('.');
        let major = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        let minor = parts.next().and_then(|p| p.parse().ok()).ok_or_else(err)?;
        // A patch level is allowed and irrelevant.
        if parts.next().is_some_and(|p| p.parse::<u16>().is_err()) || parts.next().is_some() {
            return Err(err());
        }
        Ok(NmVersion { major, minor })
    }
}

/// What to check against.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// The NetworkManager version that will read the file.
    pub nm_version: NmVersion,
    /// The file's name, when it has one: NetworkManager names a profile without `id` after it.
    pub file_name: Option<String>,
}

/// What a file says about itself, for the directory rules and for `inspect`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSummary {
    /// `connection.id` (or the name NetworkManager derives from the file).
    pub id: Option<String>,
    /// `connection.uuid`, lower-cased.
    pub uuid: Option<String>,
    /// `connection.type`, as NetworkManager writes it (`ethernet`, `wifi`, `bond`, …), or as
    /// it infers it from the settings when none is written.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `connection.interface-name`.
    pub interface_name: Option<String>,
    /// The controller this profile is a port of (`master`, or `controller` where read).
    pub controller: Option<String>,
    /// Line of the key naming the controller.
    #[serde(skip)]
    pub controller_line: usize,
}

/// The result of checking one file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileReport {
    /// Every diagnostic, in line order.
    pub diagnostics: Vec<Diagnostic>,
    /// The profile's identity, when the file loads.
    pub profile: Option<ProfileSummary>,
}

impl FileReport {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// Checks one keyfile's text.
pub fn check_text(text: &str, options: &CheckOptions) -> FileReport {
    check_named(text, options, options.file_name.as_deref())
}

/// [`check_text`], the file's name given apart from the options (a directory's files each
/// have their own, and a copy of the options per file would cost an allocation).
pub(super) fn check_named(text: &str, options: &CheckOptions, file_name: Option<&str>) -> FileReport {
    match Document::parse(text) {
        Ok(doc) => check_parsed(&doc, options, file_name),
        Err(e) => FileReport {
            diagnostics: vec![Diagnostic::new(
                Code::LoadError,
                e.line,
                e.column,
                format!("NetworkManager cannot load this file: {}", e.message),
            )],
            profile: None,
        },
    }
}

/// Checks a parsed keyfile.
pub fn check_document(doc: &Document, options: &CheckOptions) -> FileReport {
    check_parsed(doc, options, options.file_name.as_deref())
}

fn check_parsed(doc: &Document, options: &CheckOptions, file_name: Option<&str>) -> FileReport {
    // What NetworkManager loads, and where reading it departed from what is written: every rule
    // below looks at these, and at the document only for what is written and where.
    let mut load = Load::default();
    load_into(doc, &mut load);
    let mut c = Checker { doc, options, file_name, load: &load, out: Vec::new() };
    values::check(&mut c);
    let identity = connection::check(&mut c);
    let port = identity.is_port();
    ipconfig::check(&mut c, false, port);
    ipconfig::check(&mut c, true, port);
    bond::check(&mut c);
    link::check(&mut c, identity.kind(&load.profile.connection));
    let mut diagnostics = c.out;
    diagnostics.sort_by_key(|d| (d.line, d.column));
    diagnostics.dedup();
    // The rules are done with what was loaded: the summary takes its strings.
    let profile = identity.summary(&mut load.profile.connection);
    FileReport { diagnostics, profile: Some(profile) }
}

/// The rules' shared state: the document, the options, what NetworkManager loads from it, and
/// what was found.
struct Checker<'a> {
    doc: &'a Document,
    options: &'a CheckOptions,
    /// The file's name (the options' own, or the one [`check_files`] gives).
    file_name: Option<&'a str>,
    load: &'a Load<'a>,
    out: Vec<Diagnostic>,
}

impl<'a> Checker<'a> {
    fn version_at_least(&self, major: u16, minor: u16) -> bool {
        self.options.nm_version >= NmVersion::new(major, minor)
    }

    /// Where the winning entry of (group, key) is.
    fn locate(&self, group: &str, key: &str) -> Option<Location> {
        self.doc.locate(group, key)
    }

    /// Whether (group, key) is written (whether or not NetworkManager can read it).
    fn written(&self, group: &str, key: &str) -> bool {
        self.doc.get_raw(group, key).is_some()
    }

    /// A diagnostic on an entry's value, located without a lookup (a lookup per diagnostic
    /// would make a file of many unknown keys quadratic).
    fn on_value(&mut self, code: Code, e: &EntryRef<'_>, message: impl Into<String>) -> &mut Diagnostic {
        let at = self.doc.locate_entry(e);
        self.push(code, at.line, at.value_column, Some(e.group), Some(e.key), message)
    }

    /// A diagnostic on an entry's key, located without a lookup.
    fn on_key(&mut self, code: Code, e: &EntryRef<'_>, message: impl Into<String>) -> &mut Diagnostic {
        let at = self.doc.locate_entry(e);
        self.push(code, at.line, at.key_column, Some(e.group), Some(e.key), message)
    }

    /// A diagnostic on a key's value.
    fn at_value(&mut self, code: Code, group: &str, key: &str, message: impl Into<String>) -> &mut Diagnostic {
        let (line, column) = self.locate(group, key).map_or((0, 0), |l| (l.line, l.value_column));
        self.push(code, line, column, Some(group), Some(key), message)
    }

    /// A diagnostic on a key's name.
    fn at_key(&mut self, code: Code, group: &str, key: &str, message: impl Into<String>) -> &mut Diagnostic {
        let (line, column) = self.locate(group, key).map_or((0, 0), |l| (l.line, l.key_column));
        self.push(code, line, column, Some(group), Some(key), message)
    }

    /// A diagnostic on a group's header (the file when the group is missing).
    fn at_group(&mut self, code: Code, group: &str, message: impl Into<String>) -> &mut Diagnostic {
        let line = self.doc.group_line_number(group).unwrap_or(0);
        let column = usize::from(line > 0);
        self.push(code, line, column, Some(group), None, message)
    }

    fn push(
        &mut self,
        code: Code,
        line: usize,
        column: usize,
        group: Option<&str>,
        key: Option<&str>,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let mut d = Diagnostic::new(code, line, column, message);
        d.group = group.map(str::to_string);
        d.key = key.map(str::to_string);
        self.out.push(d);
        let last = self.out.len() - 1;
        &mut self.out[last]
    }
}

/// Sets a diagnostic's help text.
trait Help {
    fn help(&mut self, help: impl Into<String>);
}

impl Help for Diagnostic {
    fn help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }
}
