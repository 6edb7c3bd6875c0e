//! Rules over a set of files (a `system-connections` directory): duplicate UUIDs and ids,
//! ports whose controller is none of the set, and file permissions NetworkManager refuses.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
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
    let summary = |i: usize| files.get(i).and_then(|f| f.profile.as_ref());
    let mut rules = SetRules::with_capacity(files.len());
    for f in files {
        rules.add(Facts { name: &f.name, profile: f.profile.as_ref(), mode: f.mode, uid: f.uid }, summary);
    }
    rules.finish(summary)
}

/// [`FileFacts`], borrowed (the rules only read them; they keep the name).
#[derive(Clone, Copy)]
pub(super) struct Facts<'a, 'p> {
    pub(super) name: &'a str,
    pub(super) profile: Option<&'p ProfileSummary>,
    pub(super) mode: Option<u32>,
    pub(super) uid: Option<u32>,
}

/// The bit of a UUID's entry that says a profile that is no port has it (file indices stay
/// below it).
const NON_PORT: u32 = 1 << 31;

/// The directory rules, fed one file at a time in the set's order (so that [`super::check_files`]
/// can run them over the files one thread has checked while the others go on): each file's
/// permissions, and its UUID and id against the files before it, as it comes; whether a port's
/// controller is in the set once every file is in. Linear in the number of files (a directory
/// may hold thousands).
///
/// The rules keep no reference to the files' summaries, only their indices: each call is
/// given `summary`, the summary of a file by index (of the files added so far), so that the
/// caller may move the reports while the rules run. Memory traffic is most of their cost (a
/// table entry is a random access per name): the tables map a 32-bit hash of a name to the
/// file that had it first, 8 bytes an entry, and the names themselves are read only when
/// hashes match.
pub(super) struct SetRules<'a> {
    /// Each file's name, by index, for messages.
    names: Vec<&'a str>,
    /// The first file of each UUID. The entry also says, in [`NON_PORT`], whether a profile
    /// that is no port has the UUID: a controller can be named by it.
    uuids: FirstOf,
    /// The first file of each id.
    ids: FirstOf,
    /// The first profile that is no port of each interface name (controllers can be named by
    /// them).
    controllers: FirstOf,
    /// The ports, in file order. Taken as each comes, while the other threads check:
    /// [`Self::finish`], which nothing overlaps, only looks them up.
    ports: Vec<Port>,
    /// Diagnostics so far, in file order.
    out: Vec<(usize, Diagnostic)>,
}

/// A file's index in the tables' entries. A set has far fewer than 2^31 files (each is a
/// `FileInput` in memory); past that the files share the last index, and the rules may miss a
/// duplicate among them or name the wrong first file (nothing panics).
fn index_of(i: usize) -> u32 {
    u32::try_from(i).map_or(NON_PORT - 1, |i| i.min(NON_PORT - 1))
}

/// A table entry's file index.
fn file_of(entry: u32) -> usize {
    (entry & !NON_PORT) as usize
}

impl<'a> SetRules<'a> {
    /// Rules for a set of about `n` files.
    pub(super) fn with_capacity(n: usize) -> SetRules<'a> {
        SetRules {
            names: Vec::with_capacity(n),
            uuids: FirstOf::with_capacity(n),
            ids: FirstOf::with_capacity(n),
            controllers: FirstOf::with_capacity(n),
            ports: Vec::new(),
            out: Vec::new(),
        }
    }

    /// The next file of the set; `summary` gives the summaries of the files added before it.
    pub(super) fn add<'s>(&mut self, f: Facts<'a, '_>, summary: impl Fn(usize) -> Option<&'s ProfileSummary>) {
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
        let file = index_of(i);
        let non_port = if p.is_port() { 0 } else { NON_PORT };
        if let Some(uuid) = p.uuid_bytes()
            && let Some(first) = self.uuids.get_or_insert(uuid, file | non_port, |e| summary(file_of(e))?.uuid_bytes())
        {
            *first |= non_port;
            let first = self.names[file_of(*first)];
            let uuid = p.uuid().unwrap_or_default();
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
        if let Some(id) = p.id_bytes()
            && let Some(first) = self.ids.get_or_insert(id, file, |e| summary(file_of(e))?.id_bytes())
        {
            let first = self.names[file_of(*first)];
            let id = p.id().unwrap_or_default();
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
        if let Some(controller) = p.controller_bytes() {
            self.ports.push(Port::new(file, controller, p.controller_line));
        } else if let Some(name) = p.interface_name_bytes() {
            self.controllers.get_or_insert(name, file, |e| summary(file_of(e))?.interface_name_bytes());
        }
    }

    /// The diagnostics, in file order (a file's dangling controller after its other ones);
    /// `summary` gives the summary of every file added.
    pub(super) fn finish<'s>(self, summary: impl Fn(usize) -> Option<&'s ProfileSummary>) -> Vec<(usize, Diagnostic)> {
        // A controller is a profile that is no port, by interface name or UUID.
        let is_controller = |name: &[u8], hash: u32| {
            self.controllers.get(name, hash, |e| summary(file_of(e))?.interface_name_bytes()).is_some()
                || self.uuids.get(name, hash, |e| summary(file_of(e))?.uuid_bytes()).is_some_and(|e| e & NON_PORT != 0)
        };
        let mut dangling = self
            .ports
            .iter()
            .filter_map(|port| {
                let ctl = match port.name() {
                    Some(name) => name,
                    None => summary(file_of(port.file))?.controller_bytes()?,
                };
                Some((port, ctl))
            })
            .filter(|&(port, ctl)| {
                !(is_controller(ctl, port.hash)
                    || (ctl.iter().any(u8::is_ascii_uppercase) && {
                        let lower = ctl.to_ascii_lowercase();
                        is_controller(&lower, name_hash(&lower))
                    }))
            })
            .map(|(port, ctl)| {
                // The bytes of a `&str` (the summary's controller, or all of it copied).
                let ctl = String::from_utf8_lossy(ctl);
                let mut message = String::with_capacity(ctl.len() + 72);
                message.push_str("controller `");
                message.push_str(&ctl);
                message.push_str("` is no profile's interface name or UUID in this set");
                (file_of(port.file), Diagnostic::new(Code::ControllerDangling, port.line, 1, message))
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

/// A port, as [`SetRules::finish`] needs it: its file, the hash of its controller's name, the
/// line naming it, and the name itself when it is short (an interface name, at most 15 bytes
/// on Linux). Looking a port's controller up at the end then reads nothing else: the port's
/// report is long out of the cache by then, and the end runs on one thread while the others
/// wait (reading them again cost about 0.1 ms of a 10,000-file check with 1,667 ports).
struct Port {
    file: u32,
    hash: u32,
    line: usize,
    /// The name's length, or [`Port::LONG`] when the name is the summary's only.
    len: u8,
    name: [u8; Port::SHORT],
}

impl Port {
    /// The longest name a port keeps.
    const SHORT: usize = 15;
    const LONG: u8 = u8::MAX;

    fn new(file: u32, controller: &[u8], line: usize) -> Port {
        let mut name = [0; Port::SHORT];
        let len = match name.get_mut(..controller.len()) {
            Some(short) => {
                short.copy_from_slice(controller);
                controller.len() as u8
            }
            None => Port::LONG,
        };
        Port { file, hash: name_hash(controller), line, len, name }
    }

    /// The controller's name, when the port keeps it.
    fn name(&self) -> Option<&[u8]> {
        self.name.get(..usize::from(self.len))
    }
}

/// The first file of each name: a table from a 32-bit hash of the name to an entry (a file
/// index, with flags the caller keeps in [`NON_PORT`]), and, for the rare name whose hash an
/// earlier, different name has, a list beside it. The names are not kept: the caller's
/// `name_of` gives the name of an entry, read only when hashes match.
struct FirstOf {
    by_hash: HashMap<u32, u32, BuildHasherDefault<KeyHasher>>,
    /// (hash, entry) of names whose hash an earlier name in `by_hash` has.
    more: Vec<(u32, u32)>,
}

impl FirstOf {
    fn with_capacity(n: usize) -> FirstOf {
        FirstOf { by_hash: HashMap::with_capacity_and_hasher(n, Default::default()), more: Vec::new() }
    }

    /// The entry of the first file that had `name`, or `None` after making `entry` its entry.
    fn get_or_insert<'s>(
        &mut self,
        name: &[u8],
        entry: u32,
        name_of: impl Fn(u32) -> Option<&'s [u8]>,
    ) -> Option<&mut u32> {
        let hash = name_hash(name);
        match self.by_hash.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(entry);
                None
            }
            Entry::Occupied(e) => {
                let first = e.into_mut();
                if name_of(*first) == Some(name) {
                    return Some(first);
                }
                match self.more.iter().position(|&(h, e)| h == hash && name_of(e) == Some(name)) {
                    Some(k) => Some(&mut self.more[k].1),
                    None => {
                        self.more.push((hash, entry));
                        None
                    }
                }
            }
        }
    }

    /// The entry of the first file that had `name`, whose [`name_hash`] is `hash`.
    fn get<'s>(&self, name: &[u8], hash: u32, name_of: impl Fn(u32) -> Option<&'s [u8]>) -> Option<u32> {
        let first = *self.by_hash.get(&hash)?;
        if name_of(first) == Some(name) {
            return Some(first);
        }
        self.more.iter().find(|&&(h, e)| h == hash && name_of(e) == Some(name)).map(|&(_, e)| e)
    }
}

/// A 32-bit hash of a name: rustc's `FxHasher` step (a multiply and a rotate per word) over
/// its length and its bytes, eight at a time (the last eight overlapping the ones before: no
/// padded copy, whose byte stores a word load would wait for), then MurmurHash3's finalizer.
/// The finalizer matters: names that differ only in their last characters differ only in the
/// high bytes of the last word, and a multiply carries that difference only upwards, so
/// without it the tables' buckets and tags (low and high bits) would follow a lattice and
/// their probes run long. Several times faster than SipHash on the short names and UUIDs
/// here. The names come from the files of one directory that only root may write:
/// resistance to chosen collisions is not needed, and a collision costs a comparison, never a
/// wrong answer.
fn name_hash(name: &[u8]) -> u32 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let step = |hash: u64, word: u64| (hash.rotate_left(5) ^ word).wrapping_mul(K);
    // One load each (a slice of known length; bytes picked one by one are eight loads).
    let word = |w: &[u8]| <[u8; 8]>::try_from(w).map_or(0, u64::from_le_bytes);
    let half = |w: &[u8]| <[u8; 4]>::try_from(w).map_or(0, |w| u64::from(u32::from_le_bytes(w)));
    let len = name.len();
    let mut hash = step(0, len as u64);
    let mut words = name.chunks_exact(8);
    for w in &mut words {
        hash = step(hash, word(w));
    }
    if !words.remainder().is_empty() {
        let tail = if len >= 8 {
            word(&name[len - 8..])
        } else if len >= 4 {
            half(&name[..4]) | half(&name[len - 4..]) << 32
        } else {
            name.iter().fold(0, |w, &b| w << 8 | u64::from(b))
        };
        hash = step(hash, tail);
    }
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash as u32
}

/// The tables' hasher: their keys are hashes already. Hashbrown takes a bucket from the low
/// bits and a tag from the top seven, so the key goes in both halves.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not called for the `u32` keys; other bytes still hash.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u32(&mut self, key: u32) {
        self.0 = u64::from(key) << 32 | u64::from(key);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

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

    /// Ports before their controllers: found when the controller comes, by interface name
    /// (as written or lower-cased) or UUID; the others stay dangling, in file order.
    #[test]
    fn controllers_after_their_ports() {
        let uuid = |n: usize| format!("0b3a5b6e-2a4f-4c9b-9b0e-{n:012x}");
        let files = vec![
            file(0, 0, "port-a", None, Some("bond0")),
            file(1, 1, "port-b", None, Some("BOND1")),
            file(2, 2, "port-c", None, Some(&uuid(7))),
            file(3, 3, "port-d", None, Some("bond9")),
            file(4, 4, "port-e", None, Some("Bond0")),
            file(5, 5, "bond0", Some("bond0".into()), None),
            file(6, 6, "bond1", Some("bond1".into()), None),
            file(7, 7, "port-f", None, Some("bond1")), // after its controller
            file(8, 7, "bond7", None, None),           // UUID of port-c's controller, a duplicate
            file(9, 9, "upper", Some("BOND9".into()), None), // not bond9
        ];
        let found: Vec<(usize, Code)> = check_set(&files).into_iter().map(|(i, d)| (i, d.code)).collect();
        assert_eq!(found, [(3, Code::ControllerDangling), (8, Code::UuidDuplicate)], "{found:?}");
    }

    /// The rules as a reader would state them, over all pairs of files.
    fn rules_by_definition(files: &[FileFacts]) -> Vec<(usize, Code, Option<usize>)> {
        let p = |i: usize| files[i].profile.as_ref().unwrap();
        let non_port = |j: usize| p(j).controller().is_none();
        let is_controller = |name: &str| {
            (0..files.len()).any(|j| non_port(j) && (p(j).interface_name() == Some(name) || p(j).uuid() == Some(name)))
        };
        let mut found = Vec::new();
        for i in 0..files.len() {
            let first = |get: fn(&ProfileSummary) -> Option<&str>| {
                (0..i).find(|&j| get(p(j)).is_some() && get(p(j)) == get(p(i)))
            };
            if let Some(j) = first(ProfileSummary::uuid) {
                found.push((i, Code::UuidDuplicate, Some(j)));
            }
            if let Some(j) = first(ProfileSummary::id) {
                found.push((i, Code::IdDuplicate, Some(j)));
            }
            if let Some(ctl) = p(i).controller()
                && !is_controller(ctl)
                && !(ctl.bytes().any(|b| b.is_ascii_uppercase()) && is_controller(&ctl.to_ascii_lowercase()))
            {
                found.push((i, Code::ControllerDangling, None));
            }
        }
        found
    }

    proptest::proptest! {
        /// Whatever the order of ports, controllers and duplicates, the rules fed file by file
        /// find what the definition finds, naming the same first files.
        #[test]
        fn rules_agree_with_their_definition(
            picks in proptest::collection::vec((0..6usize, 0..5usize, 0..10usize, 0..12usize), 0..14)
        ) {
            // Short names, names of the longest length a port keeps (15 bytes) and one past it,
            // UUIDs.
            let names = [
                "bond0", "Bond0", "BOND1", "bond1", "eth0", "0b3a5b6e-2a4f-4c9b-9b0e-000000000001",
                "0B3A5B6E-2A4F-4C9B-9B0E-000000000001", "enp0s31f6-bond0", "Enp0s31f6-bond0", "enp0s31f6-bond0x",
            ];
            let files: Vec<FileFacts> = picks
                .iter()
                .enumerate()
                .map(|(i, &(uuid, id, ifname, controller))| {
                    let ifname = names.get(ifname).map(|s| s.to_string());
                    // Controllers from the names (5 of 9 picks), or none: a profile that is no port.
                    file(i, uuid, &format!("id{id}"), ifname, names.get(controller.saturating_sub(2)).filter(|_| controller >= 2).copied())
                })
                .collect();
            let found: Vec<(usize, Code, Option<usize>)> = check_set(&files)
                .into_iter()
                .map(|(i, d)| {
                    let first = (0..files.len()).find(|&j| d.message.contains(&format!(" also {}'s", files[j].name)));
                    (i, d.code, first)
                })
                .collect();
            proptest::prop_assert_eq!(found, rules_by_definition(&files));
        }
    }

    /// A dangling controller's message names it whole, whatever its length (a port keeps
    /// names of up to 15 bytes, and reads longer ones from its summary).
    #[test]
    fn dangling_messages_name_the_controller() {
        let names =
            ["bond9", "ens1f0-bönd0", "enp0s31f6-bond0", "enp0s31f6-bond01", "0b3a5b6e-2a4f-4c9b-9b0e-00000000ffff"];
        let files: Vec<FileFacts> =
            names.iter().enumerate().map(|(i, n)| file(i, i, &format!("port{i}"), None, Some(n))).collect();
        let found = check_set(&files);
        assert_eq!(found.len(), names.len(), "{found:#?}");
        for ((i, d), name) in found.iter().zip(names) {
            assert_eq!(d.code, Code::ControllerDangling);
            assert_eq!((d.line, d.column), (5, 1));
            assert_eq!(
                d.message,
                format!("controller `{name}` is no profile's interface name or UUID in this set"),
                "file {i}"
            );
        }
    }

    #[test]
    fn name_hash_tells_names_apart() {
        let names: HashSet<u32> =
            (0..10_000).map(|i| name_hash(format!("0b3a5b6e-2a4f-4c9b-9b0e-{i:012x}").as_bytes())).collect();
        assert_eq!(names.len(), 10_000);
        // Spread where the tables look: 10,000 names over 16,384 buckets fill about 7,100 of
        // them when the low bits are random, and the top seven bits (the tags) take all values.
        let buckets: HashSet<u32> = names.iter().map(|h| h & 0x3fff).collect();
        assert!(buckets.len() > 6_800, "{} buckets", buckets.len());
        let tags: HashSet<u32> = names.iter().map(|h| h >> 25).collect();
        assert_eq!(tags.len(), 128);
        for (a, b) in [("eth0", "eth1"), ("a", "a\0"), ("", "\0"), ("12345678", "12345678\0")] {
            assert_ne!(name_hash(a.as_bytes()), name_hash(b.as_bytes()), "{a:?} {b:?}");
        }
    }

    /// Two different names with the same 32-bit hash (found by a birthday search).
    fn colliding_names() -> (String, String) {
        let mut seen = HashMap::new();
        for i in 0u32.. {
            let name = format!("bond{i}");
            if let Some(other) = seen.insert(name_hash(name.as_bytes()), name.clone()) {
                return (other, name);
            }
        }
        unreachable!("a 32-bit hash collides within 2^32 names")
    }

    /// Names whose hashes collide are told apart: no duplicate between them, a duplicate of
    /// the second found (pointing at the right file), controllers by either found.
    #[test]
    fn hash_collisions_change_nothing() {
        let (a, b) = colliding_names();
        assert_ne!(a, b);
        assert_eq!(name_hash(a.as_bytes()), name_hash(b.as_bytes()));
        let files = vec![
            file(0, 0, &a, Some(a.clone()), None),
            file(1, 1, &b, Some(b.clone()), None),
            file(2, 2, "port-a", None, Some(&a)),
            file(3, 3, "port-b", None, Some(&b)),
            file(4, 4, &b, None, None), // id of file 1
            file(5, 5, "port-c", None, Some("bond-none")),
        ];
        let found: Vec<(usize, Code, String)> =
            check_set(&files).into_iter().map(|(i, d)| (i, d.code, d.message)).collect();
        assert_eq!(found.len(), 2, "{found:#?}");
        assert_eq!((found[0].0, found[0].1), (4, Code::IdDuplicate));
        assert!(found[0].2.contains("p1.nmconnection"), "{}", found[0].2);
        assert_eq!((found[1].0, found[1].1), (5, Code::ControllerDangling));
    }
}
