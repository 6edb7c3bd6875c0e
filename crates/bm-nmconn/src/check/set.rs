//! Rules over a set of files (a `system-connections` directory): duplicate UUIDs and ids,
//! ports whose controller is none of the set, and file permissions NetworkManager refuses.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

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
    let facts: Vec<Facts<'_>> =
        files.iter().map(|f| Facts { name: &f.name, profile: f.profile.as_ref(), mode: f.mode, uid: f.uid }).collect();
    set_rules(&facts)
}

/// [`FileFacts`], borrowed (the rules only read them).
#[derive(Clone, Copy)]
pub(super) struct Facts<'a> {
    pub(super) name: &'a str,
    pub(super) profile: Option<&'a ProfileSummary>,
    pub(super) mode: Option<u32>,
    pub(super) uid: Option<u32>,
}

/// The directory rules over borrowed facts.
pub(super) fn set_rules(files: &[Facts<'_>]) -> Vec<(usize, Diagnostic)> {
    let mut rules = SetRules::with_capacity(files.len());
    for f in files {
        rules.add(*f);
    }
    rules.finish()
}

/// The directory rules, fed one file at a time in the set's order (so that [`super::check_files`]
/// can run them over the files one thread has checked while the others finish): each file's
/// permissions, and its UUID and id against the files before it, as it comes; whether a port's
/// controller is in the set once every file is in. Linear in the number of files (a directory
/// may hold thousands).
/// The bit of a UUID's entry that says a profile that is no port has it (file indices never
/// reach it).
const NON_PORT: usize = 1 << (usize::BITS - 1);

pub(super) struct SetRules<'a> {
    /// Each file's name, by index, for messages.
    names: Vec<&'a str>,
    /// The first file of each UUID and id (an index: the maps are most of the rules' memory
    /// traffic, so their entries are kept small). A UUID's entry also says, in [`NON_PORT`],
    /// whether a profile that is no port has it: a controller can be named by it.
    first_uuid: Names<'a, usize>,
    first_id: Names<'a, usize>,
    /// The interface names of the profiles that are no port (controllers can be named by them).
    controllers: HashSet<&'a str, BuildHasherDefault<FxHasher>>,
    /// The ports: (index, controller, line of the key naming it).
    ports: Vec<(usize, &'a str, usize)>,
    /// Diagnostics so far, in file order.
    out: Vec<(usize, Diagnostic)>,
}

impl<'a> SetRules<'a> {
    /// Rules for a set of about `n` files.
    pub(super) fn with_capacity(n: usize) -> SetRules<'a> {
        SetRules {
            names: Vec::with_capacity(n),
            first_uuid: HashMap::with_capacity_and_hasher(n, Default::default()),
            first_id: HashMap::with_capacity_and_hasher(n, Default::default()),
            controllers: HashSet::with_capacity_and_hasher(n, Default::default()),
            ports: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The next file of the set.
    pub(super) fn add(&mut self, f: Facts<'a>) {
        let i = self.names.len();
        self.names.push(f.name);
        let out = &mut self.out;
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
        let Some(p) = f.profile else { return };
        let non_port = if p.controller().is_none() { NON_PORT } else { 0 };
        if let Some(uuid) = p.uuid() {
            match self.first_uuid.entry(uuid) {
                Entry::Occupied(mut e) => {
                    let first = self.names[*e.get() & !NON_PORT];
                    *e.get_mut() |= non_port;
                    out.push((
                        i,
                        Diagnostic::new(
                            Code::UuidDuplicate,
                            0,
                            0,
                            format!(
                                "UUID {uuid} is also {first}'s: NetworkManager loads only one of them (/run over /etc, then the newer file)"
                            ),
                        ),
                    ));
                }
                Entry::Vacant(e) => {
                    e.insert(i | non_port);
                }
            }
        }
        if let Some(id) = p.id()
            && let Some(first) = first_seen(&mut self.first_id, id, i)
        {
            let first = self.names[first];
            out.push((
                i,
                Diagnostic::new(
                    Code::IdDuplicate,
                    0,
                    0,
                    format!("id `{id}` is also {first}'s: `nmcli connection up {id}` picks one of them"),
                ),
            ));
        }
        match p.controller() {
            Some(ctl) => self.ports.push((i, ctl, p.controller_line)),
            None => self.controllers.extend(p.interface_name()),
        }
    }

    /// The diagnostics, in file order (a file's dangling controller after its other ones).
    pub(super) fn finish(self) -> Vec<(usize, Diagnostic)> {
        // A controller is a profile that is no port, by interface name or UUID.
        let is_controller = |name: &str| {
            self.controllers.contains(name) || self.first_uuid.get(name).is_some_and(|first| first & NON_PORT != 0)
        };
        let mut dangling = self
            .ports
            .iter()
            .filter(|(_, ctl, _)| {
                !(is_controller(ctl)
                    || (ctl.bytes().any(|b| b.is_ascii_uppercase()) && is_controller(&ctl.to_ascii_lowercase())))
            })
            .map(|&(i, ctl, line)| {
                let message = format!("controller `{ctl}` is no profile's interface name or UUID in this set");
                (i, Diagnostic::new(Code::ControllerDangling, line, 1, message))
            })
            .peekable();
        if dangling.peek().is_none() {
            return self.out;
        }
        let mut out = Vec::with_capacity(self.out.len() + self.ports.len());
        for d in self.out {
            while let Some(port) = dangling.next_if(|p| p.0 < d.0) {
                out.push(port);
            }
            out.push(d);
        }
        out.extend(dangling);
        out
    }
}

/// Names to something, hashed with [`FxHasher`].
type Names<'a, T> = HashMap<&'a str, T, BuildHasherDefault<FxHasher>>;

/// The hash of rustc's `FxHasher` (a multiply and a rotate per word): several times faster
/// than the default SipHash on the short names and UUIDs here. Its inputs are the files of one
/// directory that only root may write, so resistance to chosen collisions is not needed.
#[derive(Default)]
struct FxHasher {
    hash: u64,
}

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]));
        }
        for &b in chunks.remainder() {
            self.add(u64::from(b));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The file that had `name` first, or `None` (and `file` remembered) when this is the first.
fn first_seen<'a, T: Copy>(seen: &mut Names<'a, T>, name: &'a str, file: T) -> Option<T> {
    match seen.entry(name) {
        Entry::Occupied(e) => Some(*e.get()),
        Entry::Vacant(e) => {
            e.insert(file);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(i: usize, uuid: usize, id: &str, ifname: Option<String>, controller: Option<&str>) -> FileFacts {
        FileFacts {
            name: format!("p{i}.nmconnection"),
            profile: Some({
                let uuid = format!("0b3a5b6e-2a4f-4c9b-9b0e-{uuid:012x}");
                let mut s = ProfileSummary::new(Some(id), Some(&uuid), Some("ethernet"), ifname.as_deref(), controller);
                s.controller_line = 5;
                s
            }),
            mode: Some(0o600),
            uid: Some(0),
        }
    }

    /// Thousands of files, a few of them clashing: exactly those are found, each pointing at the
    /// first file with the name.
    #[test]
    fn duplicates_and_dangling_controllers_among_thousands() {
        let mut files: Vec<FileFacts> =
            (0..5000).map(|i| file(i, i, &format!("eth{i}"), Some(format!("eth{i}")), None)).collect();
        files.push(file(5000, 17, "other", None, None)); // UUID of file 17
        files.push(file(5001, 5001, "eth4242", None, None)); // id of file 4242
        files.push(file(5002, 5002, "port-a", None, Some("eth99"))); // a present controller
        files.push(file(5003, 5003, "port-b", None, Some("ETH98"))); // found lower-cased
        files.push(file(5004, 5004, "port-c", None, Some("bond7"))); // dangling
        let found: Vec<(usize, Code, String)> =
            check_set(&files).into_iter().map(|(i, d)| (i, d.code, d.message)).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert_eq!((found[0].0, found[0].1), (5000, Code::UuidDuplicate));
        assert!(found[0].2.contains("p17.nmconnection"), "{}", found[0].2);
        assert_eq!((found[1].0, found[1].1), (5001, Code::IdDuplicate));
        assert!(found[1].2.contains("p4242.nmconnection"), "{}", found[1].2);
        assert_eq!((found[2].0, found[2].1), (5004, Code::ControllerDangling));
    }

    /// A controller named by UUID is a profile that is no port with that UUID, whichever of
    /// the files with the UUID comes first.
    #[test]
    fn controllers_by_uuid() {
        let uuid = |n: usize| format!("0b3a5b6e-2a4f-4c9b-9b0e-{n:012x}");
        let files = vec![
            file(0, 0, "bond", None, None),
            file(1, 1, "port-of-bond", None, Some(&uuid(0))),  // found
            file(2, 2, "port-of-port", None, Some(&uuid(1))),  // 1 is a port: dangling
            file(3, 9, "port-first", None, Some("bond9")),     // a port with UUID 9, dangling itself
            file(4, 5, "port-of-later", None, Some(&uuid(9))), // 9 is also file 5's, no port: found
            file(5, 9, "later", None, None),
            file(6, 6, "port-of-upper", None, Some(&uuid(0).to_uppercase())), // found lower-cased
        ];
        let found: Vec<(usize, Code)> = check_set(&files).into_iter().map(|(i, d)| (i, d.code)).collect();
        assert_eq!(
            found,
            [(2, Code::ControllerDangling), (3, Code::ControllerDangling), (5, Code::UuidDuplicate)],
            "{found:?}"
        );
    }

    #[test]
    fn fx_hash_tells_names_apart() {
        let hash = |s: &str| {
            let mut h = FxHasher::default();
            h.write(s.as_bytes());
            h.finish()
        };
        let names: HashSet<u64> = (0..10_000).map(|i| hash(&format!("0b3a5b6e-2a4f-4c9b-9b0e-{i:012x}"))).collect();
        assert_eq!(names.len(), 10_000);
        assert_ne!(hash("eth0"), hash("eth1"));
    }
}
