//! Rules over a set of files (a `system-connections` directory): duplicate UUIDs and ids,
//! ports whose controller is none of the set, and file permissions NetworkManager refuses.

use std::collections::{HashMap, HashSet};

use super::ProfileSummary;
use crate::diag::{Code, Diagnostic};

/// What the directory rules need to know about one file (the caller reads the metadata: the
/// library does no I/O).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileFacts {
    /// The file's path or name, for messages.
    pub name: String,
    /// The profile, when the file loaded.
    pub profile: Option<ProfileSummary>,
    /// `st_mode & 0o7777`, when known.
    pub mode: Option<u32>,
    /// The owner's uid, when known.
    pub uid: Option<u32>,
}

/// The directory rules. Returns (index of the file, diagnostic) pairs.
///
/// ```
/// use bm_nmconn::check::{CheckOptions, FileFacts, check_set, check_text};
/// use bm_nmconn::diag::Code;
/// let a = "[connection]\nid=a\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\nmaster=bond0\nslave-type=bond\n";
/// let b = "[connection]\nid=b\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n[ipv4]\nmethod=auto\n";
/// let facts: Vec<FileFacts> = [("a.nmconnection", a), ("b.nmconnection", b)]
///     .iter()
///     .map(|(n, t)| FileFacts { name: n.to_string(), profile: check_text(t, &CheckOptions::default()).profile, mode: Some(0o600), uid: Some(0) })
///     .collect();
/// let found: Vec<Code> = check_set(&facts).into_iter().map(|(_, d)| d.code).collect();
/// assert!(found.contains(&Code::UuidDuplicate));
/// assert!(found.contains(&Code::ControllerDangling)); // no profile is bond0
/// ```
pub fn check_set(files: &[FileFacts]) -> Vec<(usize, Diagnostic)> {
    let mut out = Vec::new();
    // First file of each UUID and id, and every name a controller can be referred to by:
    // linear in the number of files (a directory may hold thousands).
    let mut first_uuid: HashMap<&str, usize> = HashMap::new();
    let mut first_id: HashMap<&str, usize> = HashMap::new();
    let mut controllers: HashSet<&str> = HashSet::new();
    for p in files.iter().filter_map(|f| f.profile.as_ref()).filter(|p| p.controller.is_none()) {
        controllers.extend(p.interface_name.as_deref());
        controllers.extend(p.uuid.as_deref());
    }
    for (i, f) in files.iter().enumerate() {
        if let Some(uid) = f.uid
            && uid != 0
        {
            out.push((
                i,
                Diagnostic::new(
                    Code::FileInsecure,
                    0,
                    0,
                    format!("File owner ({uid}) is insecure: NetworkManager does not load this file"),
                ),
            ));
        }
        if let Some(mode) = f.mode {
            if mode & 0o077 != 0 {
                let mut d = Diagnostic::new(
                    Code::FileInsecure,
                    0,
                    0,
                    format!(
                        "File permissions ({:03o}) are insecure: NetworkManager does not load this file",
                        mode & 0o777
                    ),
                );
                d.help = Some(format!("chmod 600 {}", f.name));
                out.push((i, d));
            } else if mode & 0o777 != 0o600 {
                out.push((
                    i,
                    Diagnostic::new(
                        Code::FileMode,
                        0,
                        0,
                        format!("mode {:03o}: NetworkManager writes 600", mode & 0o777),
                    ),
                ));
            }
        }
        let Some(p) = &f.profile else { continue };
        if let Some(uuid) = &p.uuid
            && let Some(j) = first_seen(&mut first_uuid, uuid, i)
        {
            out.push((
                i,
                Diagnostic::new(
                    Code::UuidDuplicate,
                    0,
                    0,
                    format!(
                        "UUID {uuid} is also {}'s: NetworkManager loads only one of them (/run over /etc, then the newer file)",
                        files[j].name
                    ),
                ),
            ));
        }
        if let Some(id) = &p.id
            && let Some(j) = first_seen(&mut first_id, id, i)
        {
            out.push((
                i,
                Diagnostic::new(
                    Code::IdDuplicate,
                    0,
                    0,
                    format!("id `{id}` is also {}'s: `nmcli connection up {id}` picks one of them", files[j].name),
                ),
            ));
        }
        if let Some(ctl) = &p.controller {
            let found = controllers.contains(ctl.as_str()) || controllers.contains(ctl.to_ascii_lowercase().as_str());
            if !found {
                out.push((
                    i,
                    Diagnostic::new(
                        Code::ControllerDangling,
                        p.controller_line,
                        1,
                        format!("controller `{ctl}` is no profile's interface name or UUID in this set"),
                    ),
                ));
            }
        }
    }
    out
}

/// The file that had `name` first, or `None` (and `i` remembered) when this is the first.
fn first_seen<'a>(seen: &mut HashMap<&'a str, usize>, name: &'a str, i: usize) -> Option<usize> {
    match seen.entry(name) {
        std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()),
        std::collections::hash_map::Entry::Vacant(e) => {
            e.insert(i);
            None
        }
    }
}
