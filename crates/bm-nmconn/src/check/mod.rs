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
mod pool;
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
    /// The file's name (or path: its last component is the name), when it has one:
    /// NetworkManager names a profile without `id` after it.
    pub file_name: Option<String>,
}

/// What a file says about itself, for the directory rules and for `inspect`: its
/// `connection.id` (or the name NetworkManager derives from the file), `connection.uuid`
/// lower-cased, the type as NetworkManager writes it (`ethernet`, `wifi`, `bond`, …, or as it
/// infers it from the settings when none is written), `connection.interface-name`, and the
/// controller it is a port of (`master`, or `controller` where read).
///
/// The five strings are kept one after another, in place when they fit in
/// [`ProfileSummary::INLINE`] bytes (most profiles': a UUID is 36), else in one allocation: a
/// directory's check keeps a summary per file, and an allocation per file is a malloc from
/// cold memory on the checking thread and a free on the caller's (with an allocation per
/// string it was a tenth slower). It serializes as an object of the five (absent ones `null`).
///
/// ```
/// use bm_nmconn::check::ProfileSummary;
/// let s = ProfileSummary::new(Some("eno1"), Some("0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70"), Some("ethernet"), Some("eno1"), None);
/// assert_eq!(s.id(), Some("eno1"));
/// assert_eq!(s.controller(), None);
/// assert_eq!(serde_json::to_value(&s).unwrap()["type"], "ethernet");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProfileSummary {
    /// The present strings, one after another.
    text: SummaryText,
    /// Where each of id, uuid, type, interface name and controller ends in `text`; `ABSENT`
    /// when it is not there (it then starts where the one before ends).
    ends: [u32; 5],
    /// Line of the key naming the controller.
    pub controller_line: usize,
}

/// `ProfileSummary::ends` of a string that is absent.
const ABSENT: u32 = u32::MAX;

/// A summary's strings: in place up to [`ProfileSummary::INLINE`] bytes (the bytes past `len`
/// are zero, so that equal texts compare equal), else on the heap.
#[derive(Clone, PartialEq, Eq)]
enum SummaryText {
    Inline { len: u8, bytes: [u8; ProfileSummary::INLINE] },
    Heap(Box<str>),
}

impl SummaryText {
    fn as_bytes(&self) -> &[u8] {
        match self {
            SummaryText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            SummaryText::Heap(text) => text.as_bytes(),
        }
    }
}

impl ProfileSummary {
    /// The bytes of strings a summary holds in place (86: the summary is 120 bytes).
    pub const INLINE: usize = 86;

    /// A summary of these values (`controller_line` 0).
    pub fn new(
        id: Option<&str>,
        uuid: Option<&str>,
        kind: Option<&str>,
        interface_name: Option<&str>,
        controller: Option<&str>,
    ) -> ProfileSummary {
        let parts = [id, uuid, kind, interface_name, controller];
        let mut ends = [ABSENT; 5];
        let mut at = 0usize;
        for (end, part) in ends.iter_mut().zip(parts) {
            if let Some(part) = part {
                at += part.len();
                // A keyfile's strings are far below 4 GiB (past that, `get` finds nothing).
                *end = u32::try_from(at).unwrap_or(ABSENT - 1);
            }
        }
        let text = match u8::try_from(at) {
            Ok(len) if at <= ProfileSummary::INLINE => {
                let mut bytes = [0; ProfileSummary::INLINE];
                let mut start = 0;
                for part in parts.iter().flatten() {
                    bytes[start..start + part.len()].copy_from_slice(part.as_bytes());
                    start += part.len();
                }
                SummaryText::Inline { len, bytes }
            }
            _ => {
                let mut text = String::with_capacity(at);
                text.extend(parts.iter().flatten().copied());
                SummaryText::Heap(text.into_boxed_str())
            }
        };
        ProfileSummary { text, ends, controller_line: 0 }
    }

    /// Where the `i`th string is in the text: it starts where the last present one before it
    /// ends.
    fn range(&self, i: usize) -> Option<(usize, usize)> {
        let end = self.ends[i];
        if end == ABSENT {
            return None;
        }
        let start = self.ends[..i].iter().rev().find(|&&e| e != ABSENT).map_or(0, |&e| e as usize);
        Some((start, end as usize))
    }

    fn get(&self, i: usize) -> Option<&str> {
        // Each string was a whole `&str`: its bytes alone are UTF-8 (checking them is cheaper
        // than checking the whole text).
        std::str::from_utf8(self.get_bytes(i)?).ok()
    }

    /// The `i`th string's bytes (no UTF-8 check: for comparing and hashing).
    fn get_bytes(&self, i: usize) -> Option<&[u8]> {
        let (start, end) = self.range(i)?;
        self.text.as_bytes().get(start..end)
    }

    /// [`Self::id`]'s bytes.
    pub(crate) fn id_bytes(&self) -> Option<&[u8]> {
        self.get_bytes(0)
    }

    /// [`Self::uuid`]'s bytes.
    pub(crate) fn uuid_bytes(&self) -> Option<&[u8]> {
        self.get_bytes(1)
    }

    /// [`Self::interface_name`]'s bytes.
    pub(crate) fn interface_name_bytes(&self) -> Option<&[u8]> {
        self.get_bytes(3)
    }

    /// Whether the profile is a port (has a controller).
    pub(crate) fn is_port(&self) -> bool {
        self.ends[4] != ABSENT
    }

    /// [`Self::controller`]'s bytes.
    pub(crate) fn controller_bytes(&self) -> Option<&[u8]> {
        self.get_bytes(4)
    }

    /// `connection.id` (or the name NetworkManager derives from the file).
    pub fn id(&self) -> Option<&str> {
        self.get(0)
    }

    /// `connection.uuid`, lower-cased.
    pub fn uuid(&self) -> Option<&str> {
        self.get(1)
    }

    /// `connection.type`, as NetworkManager writes it (`ethernet`, `wifi`, `bond`, …), or as
    /// it infers it from the settings when none is written.
    pub fn kind(&self) -> Option<&str> {
        self.get(2)
    }

    /// `connection.interface-name`.
    pub fn interface_name(&self) -> Option<&str> {
        self.get(3)
    }

    /// The controller this profile is a port of (`master`, or `controller` where read).
    pub fn controller(&self) -> Option<&str> {
        self.get(4)
    }

    /// Lower-cases the UUID in place.
    fn lowercase_uuid(&mut self) {
        let Some((start, end)) = self.range(1) else { return };
        match &mut self.text {
            SummaryText::Inline { bytes, .. } => {
                if let Some(uuid) = bytes.get_mut(start..end) {
                    uuid.make_ascii_lowercase();
                }
            }
            SummaryText::Heap(text) => {
                if let Some(uuid) = text.get_mut(start..end) {
                    uuid.make_ascii_lowercase();
                }
            }
        }
    }

    /// The five as serialized.
    fn fields(&self) -> SummaryFields<&str> {
        SummaryFields {
            id: self.id(),
            uuid: self.uuid(),
            kind: self.kind(),
            interface_name: self.interface_name(),
            controller: self.controller(),
        }
    }
}

impl Default for ProfileSummary {
    /// None of the five.
    fn default() -> ProfileSummary {
        ProfileSummary::new(None, None, None, None, None)
    }
}

impl fmt::Debug for ProfileSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.fields();
        f.debug_struct("ProfileSummary")
            .field("id", &s.id)
            .field("uuid", &s.uuid)
            .field("kind", &s.kind)
            .field("interface_name", &s.interface_name)
            .field("controller", &s.controller)
            .field("controller_line", &self.controller_line)
            .finish()
    }
}

/// [`ProfileSummary`]'s serialized form.
#[derive(Serialize, Deserialize)]
struct SummaryFields<S> {
    id: Option<S>,
    uuid: Option<S>,
    #[serde(rename = "type")]
    kind: Option<S>,
    interface_name: Option<S>,
    controller: Option<S>,
}

impl Serialize for ProfileSummary {
    fn serialize<Ser: serde::Serializer>(&self, serializer: Ser) -> Result<Ser::Ok, Ser::Error> {
        self.fields().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ProfileSummary {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ProfileSummary, D::Error> {
        let s = SummaryFields::<String>::deserialize(deserializer)?;
        Ok(ProfileSummary::new(
            s.id.as_deref(),
            s.uuid.as_deref(),
            s.kind.as_deref(),
            s.interface_name.as_deref(),
            s.controller.as_deref(),
        ))
    }
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

// Checking a directory is a loop over files: each thread parses the next file into the
// buffers of the document it checked last, so that parsing allocates nothing once they fit the
// largest file (5% of a keyfile's check). A thread keeps at most SPARE_DOCUMENT_MAX_BYTES so:
// a document grown past it by a big file is dropped, not kept.
thread_local! {
    static SPARE_DOCUMENT: std::cell::Cell<Option<Document>> = const { std::cell::Cell::new(None) };
}
const SPARE_DOCUMENT_MAX_BYTES: usize = 64 << 10;

/// Checks one keyfile's text.
pub fn check_text(text: &str, options: &CheckOptions) -> FileReport {
    check_named(text, options, options.file_name.as_deref())
}

/// [`check_text`], the file's name given apart from the options (a directory's files each
/// have their own, and a copy of the options per file would cost an allocation).
pub(super) fn check_named(text: &str, options: &CheckOptions, file_name: Option<&str>) -> FileReport {
    let parsed = match SPARE_DOCUMENT.take() {
        Some(spare) => Document::parse_reusing(text, spare),
        None => Document::parse(text),
    };
    match parsed {
        Ok(doc) => {
            let report = check_parsed(&doc, options, file_name);
            if doc.capacity_bytes() <= SPARE_DOCUMENT_MAX_BYTES {
                SPARE_DOCUMENT.set(Some(doc));
            }
            report
        }
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
    let profile = identity.summary(&load.profile.connection);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A profile without `id` is named after its file: the last component of a path given as
    /// the name.
    #[test]
    fn id_from_the_file_name_of_a_path() {
        let text = "[connection]\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n";
        for name in ["eno1.nmconnection", "/etc/NetworkManager/system-connections/eno1.nmconnection", "eno1"] {
            let report = check_text(text, &CheckOptions { file_name: Some(name.into()), ..CheckOptions::default() });
            assert_eq!(report.profile.as_ref().and_then(ProfileSummary::id), Some("eno1"), "{name}");
            assert!(report.diagnostics.iter().any(|d| d.code == Code::IdFromFilename && d.message.contains("`eno1`")));
        }
    }

    /// Strings up to `INLINE` bytes stay in place, longer ones go to the heap: the same
    /// accessors, equality and JSON either way.
    #[test]
    fn summary_in_place_and_on_the_heap() {
        #[cfg(target_pointer_width = "64")]
        assert_eq!(std::mem::size_of::<ProfileSummary>(), 120, "as INLINE's documentation says");
        for len in [ProfileSummary::INLINE - 36, ProfileSummary::INLINE - 35] {
            let id = "é".repeat(len / 2) + &"x".repeat(len % 2);
            let s = ProfileSummary::new(Some(&id), Some("0B3A5B6E-2A4F-4C9B-9B0E-1D2C3B4A5F70"), None, None, None);
            assert_eq!(matches!(s.text, SummaryText::Inline { .. }), id.len() + 36 <= ProfileSummary::INLINE, "{len}");
            assert_eq!((s.id(), s.uuid(), s.kind()), (Some(&*id), Some("0B3A5B6E-2A4F-4C9B-9B0E-1D2C3B4A5F70"), None));
            let mut lower = s.clone();
            lower.lowercase_uuid();
            assert_eq!(lower.uuid(), Some("0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70"));
            assert_eq!(lower.id(), Some(&*id));
            let back: ProfileSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert_eq!(back, s);
        }
    }

    /// The summary serializes as the object of five strings it always was, absent ones null,
    /// and reads back; any of the five may be absent.
    #[test]
    fn summary_fields_and_json() {
        let full = ProfileSummary::new(Some("bond0"), Some("u"), Some("bond"), Some("bond0"), Some("br0"));
        let json = serde_json::to_value(&full).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": "bond0", "uuid": "u", "type": "bond", "interface_name": "bond0", "controller": "br0"})
        );
        assert_eq!(serde_json::from_value::<ProfileSummary>(json).unwrap(), full);
        let long = "x".repeat(300);
        let s = ProfileSummary::new(Some(&long), Some("U"), None, Some("é"), None);
        assert_eq!([s.id(), s.uuid(), s.kind(), s.interface_name()], [Some(&*long), Some("U"), None, Some("é")]);
        let none = ProfileSummary::default();
        assert_eq!([none.id(), none.uuid(), none.kind(), none.interface_name(), none.controller()], [None; 5]);
        for mask in 0..32u32 {
            let pick = |i: u32, s: &'static str| (mask & 1 << i != 0).then_some(s);
            let parts = [pick(0, "id"), pick(1, "uuid"), pick(2, ""), pick(3, "eth0"), pick(4, "bond0")];
            let s = ProfileSummary::new(parts[0], parts[1], parts[2], parts[3], parts[4]);
            assert_eq!([s.id(), s.uuid(), s.kind(), s.interface_name(), s.controller()], parts, "mask {mask:05b}");
            let back: ProfileSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert_eq!(back, s);
        }
    }

    /// The summary of a checked file: its UUID lower-cased, its type as NetworkManager writes it,
    /// its controller; checking files one after another (each parsed into the last one's
    /// buffers) gives each the summary it gets alone.
    #[test]
    fn summaries_of_files_checked_in_turn() {
        let port = "[connection]\nid=p\nuuid=0B3A5B6E-2A4F-4C9B-9B0E-1D2C3B4A5F70\ntype=802-3-ethernet\n\
                    interface-name=ens1\nmaster=bond0\nslave-type=bond\n";
        let bond = "[connection]\nid=bond0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f71\ntype=bond\ninterface-name=bond0\n\
                    [bond]\nmode=802.3ad\n[ipv4]\nmethod=auto\n";
        let options = CheckOptions::default();
        // Alone: each parsed afresh, past the thread's spare document.
        let alone: Vec<FileReport> =
            [port, bond].iter().map(|t| check_document(&Document::parse(t).unwrap(), &options)).collect();
        let p = alone[0].profile.as_ref().unwrap();
        assert_eq!(p.uuid(), Some("0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70"));
        assert_eq!(p.kind(), Some("ethernet"));
        assert_eq!(p.controller(), Some("bond0"));
        assert_eq!(p.controller_line, 6);
        for round in 0..3 {
            for (text, expected) in [port, bond, "[connection]\nid=x\n=bad\n"]
                .iter()
                .zip(alone.iter().chain([&check_text("[connection]\nid=x\n=bad\n", &options)]))
            {
                assert_eq!(&check_text(text, &options), expected, "round {round}");
            }
        }
    }
}
