//! Which profiles NetworkManager loads from its keyfile directories: [`load_profiles`] decides
//! from the files' bytes and metadata (pure), [`load_dirs`] reads the directories first.
//!
//! NetworkManager's keyfile plugin (1.42) skips names it ignores (hidden files, `*~`, mkstemp
//! temporaries `*.XXXXXX`, `*.pem`, `*.der`), requires the `.nmconnection` suffix outside
//! `/etc/NetworkManager/system-connections`, refuses files that are not owned by root or that
//! others can read or write, and refuses a profile that does not load or verify (bm-nmconn's
//! validator says which: the diagnostics of class [`Class::Refused`]). Of several files with
//! one UUID, the one in the directory of higher precedence wins (`/run` before `/etc` before
//! `/usr/lib`), then the more recently modified one, then the one whose path sorts first.

// I/O on purpose: `load_dirs` and `check_dirs` list directories and read files; the rest of
// the module is pure.
#![allow(clippy::disallowed_methods)]

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bm_nmconn::check::{CheckOptions, check_bytes};
use bm_nmconn::diag::{Class, Code};
use bm_nmconn::{Document, Profile};
use bm_nodeip::HostSnapshot;
use serde::{Deserialize, Serialize};

use super::{DriftReport, KeyfileProfile, check};

/// A keyfile directory and its rule on names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyfileDir {
    /// The directory.
    pub path: PathBuf,
    /// Whether files without the `.nmconnection` suffix load (only in `/etc`).
    pub any_name: bool,
}

impl KeyfileDir {
    /// NetworkManager's keyfile directories, by precedence: `/run`, `/etc`, `/usr/lib`.
    pub fn network_manager() -> Vec<KeyfileDir> {
        [
            ("/run/NetworkManager/system-connections", false),
            ("/etc/NetworkManager/system-connections", true),
            ("/usr/lib/NetworkManager/system-connections", false),
        ]
        .into_iter()
        .map(|(p, any_name)| KeyfileDir { path: PathBuf::from(p), any_name })
        .collect()
    }
}

/// One file of a keyfile directory, as read (the library decides, the caller reads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyfileFile {
    /// Its path.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// The precedence of its directory: 0 wins over 1 (`/run` 0, `/etc` 1, `/usr/lib` 2).
    pub precedence: usize,
    /// Whether its directory loads files without the `.nmconnection` suffix.
    pub any_name: bool,
    /// Whether it is a regular file (after following symbolic links).
    pub regular: bool,
    /// `st_mode & 0o7777`, when known.
    pub mode: Option<u32>,
    /// The owner's uid, when known.
    pub uid: Option<u32>,
    /// The modification time, when known.
    pub modified: Option<SystemTime>,
}

/// A file NetworkManager does not load, or whose profile another file's replaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotLoaded {
    /// The file.
    pub file: String,
    /// Why.
    pub reason: NotLoadedReason,
}

/// Why a file's profile is not loaded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
#[non_exhaustive]
pub enum NotLoadedReason {
    /// A name NetworkManager ignores (hidden, backup `~`, temporary, certificate).
    IgnoredName,
    /// No `.nmconnection` suffix, outside `/etc`.
    NoSuffix,
    /// Not a regular file.
    NotRegular,
    /// Not owned by root, or readable or writable by others: NetworkManager refuses it.
    Insecure {
        /// `st_mode & 0o7777`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mode: Option<u32>,
        /// The owner.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        uid: Option<u32>,
    },
    /// NetworkManager refuses the profile; bm-nmconn's validator says why (`bmnet nmconn
    /// check`).
    Refused {
        /// The codes of the validator's diagnostics of class refused.
        codes: Vec<Code>,
    },
    /// Another file has the same UUID and wins.
    Shadowed {
        /// That file.
        by: String,
    },
}

/// What NetworkManager loads from a set of files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Loaded {
    /// The profiles, in the files' order.
    pub profiles: Vec<KeyfileProfile>,
    /// The files that give none.
    pub not_loaded: Vec<NotLoaded>,
}

/// Reading a keyfile directory failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A directory could not be listed (a missing one is no error: it holds nothing).
    #[error("listing {path}: {source}")]
    List {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A file could not be read or its metadata not taken.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

/// NetworkManager's ignored names (`nm_keyfile_utils_ignore_filename`).
fn ignored_name(name: &str) -> bool {
    let b = name.as_bytes();
    let mkstemp = b.len() > 7 && b[b.len() - 7] == b'.' && b[b.len() - 6..].iter().all(u8::is_ascii_alphanumeric);
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".pem") || name.ends_with(".der") || mkstemp
}

/// The profiles NetworkManager loads from these files (see the module documentation). Pure.
pub fn load_profiles(files: &[KeyfileFile]) -> Loaded {
    let mut not_loaded = Vec::new();
    // (index of the file, its profile).
    let mut loaded: Vec<(usize, Profile)> = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let name = f.path.rsplit('/').next().unwrap_or(&f.path);
        let reason = if ignored_name(name) {
            Some(NotLoadedReason::IgnoredName)
        } else if !f.any_name && !name.ends_with(".nmconnection") {
            Some(NotLoadedReason::NoSuffix)
        } else if !f.regular {
            Some(NotLoadedReason::NotRegular)
        } else if f.uid.is_some_and(|u| u != 0) || f.mode.is_some_and(|m| m & 0o077 != 0) {
            Some(NotLoadedReason::Insecure { mode: f.mode, uid: f.uid })
        } else {
            match read_profile(name, &f.bytes) {
                Ok(p) => {
                    loaded.push((i, p));
                    None
                }
                Err(codes) => Some(NotLoadedReason::Refused { codes }),
            }
        };
        if let Some(reason) = reason {
            not_loaded.push((i, NotLoaded { file: f.path.clone(), reason }));
        }
    }
    // One profile per UUID: the winner by precedence, then modification time, then path.
    let mut by_uuid: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (k, (_, p)) in loaded.iter().enumerate() {
        if let Some(u) = &p.connection.uuid {
            by_uuid.entry(u.to_ascii_lowercase()).or_default().push(k);
        }
    }
    let mut shadowed = vec![false; loaded.len()];
    for ks in by_uuid.values().filter(|ks| ks.len() > 1) {
        let rank = |&k: &usize| {
            let f = &files[loaded[k].0];
            (f.precedence, Reverse(f.modified), f.path.as_str())
        };
        let Some(&winner) = ks.iter().min_by_key(|k| rank(k)) else { continue };
        for &k in ks.iter().filter(|&&k| k != winner) {
            shadowed[k] = true;
            let by = files[loaded[winner].0].path.clone();
            not_loaded.push((
                loaded[k].0,
                NotLoaded { file: files[loaded[k].0].path.clone(), reason: NotLoadedReason::Shadowed { by } },
            ));
        }
    }
    not_loaded.sort_by_key(|(i, _)| *i);
    let profiles = loaded
        .into_iter()
        .zip(shadowed)
        .filter(|(_, s)| !s)
        .map(|((i, profile), _)| KeyfileProfile { file: files[i].path.clone(), profile })
        .collect();
    Loaded { profiles, not_loaded: not_loaded.into_iter().map(|(_, n)| n).collect() }
}

/// What NetworkManager loads from a file's bytes, or the codes of why it refuses them.
fn read_profile(name: &str, bytes: &[u8]) -> Result<Profile, Vec<Code>> {
    let options = CheckOptions { file_name: Some(name.to_string()), ..CheckOptions::default() };
    let report = check_bytes(bytes, &options);
    let mut codes: Vec<Code> =
        report.diagnostics.iter().map(|d| d.code).filter(|c| c.class() == Class::Refused).collect();
    codes.dedup();
    if !codes.is_empty() {
        return Err(codes);
    }
    // The validator read the bytes as UTF-8 and parsed them; a failure here would have been
    // a refusal above.
    let text = std::str::from_utf8(bytes).map_err(|_| vec![Code::LoadError])?;
    let doc = Document::parse(text).map_err(|_| vec![Code::LoadError])?;
    let mut profile = Profile::read(&doc);
    // A profile without `id` is named after its file.
    if profile.connection.id.is_none() {
        profile.connection.id = report.profile.and_then(|s| s.id().map(str::to_string));
    }
    Ok(profile)
}

/// Reads the keyfile directories, in precedence order (the first wins), and says which
/// profiles NetworkManager loads from them ([`load_profiles`]). A missing directory holds
/// nothing.
pub fn load_dirs(dirs: &[KeyfileDir]) -> Result<Loaded, LoadError> {
    let mut files = Vec::new();
    for (precedence, dir) in dirs.iter().enumerate() {
        let entries = match fs::read_dir(&dir.path) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(source) => return Err(LoadError::List { path: dir.path.clone(), source }),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::List { path: dir.path.clone(), source })?;
            paths.push(entry.path());
        }
        paths.sort();
        for path in paths {
            files.push(read_file(&path, precedence, dir.any_name)?);
        }
    }
    Ok(load_profiles(&files))
}

/// A file and its metadata; a directory or other non-regular file without its bytes.
fn read_file(path: &Path, precedence: usize, any_name: bool) -> Result<KeyfileFile, LoadError> {
    let err = |source| LoadError::Read { path: path.to_path_buf(), source };
    let meta = fs::metadata(path).map_err(err)?;
    let regular = meta.is_file();
    let bytes = if regular { fs::read(path).map_err(err)? } else { Vec::new() };
    Ok(KeyfileFile {
        path: path.display().to_string(),
        bytes,
        precedence,
        any_name,
        regular,
        mode: Some(meta.mode() & 0o7777),
        uid: Some(meta.uid()),
        modified: meta.modified().ok(),
    })
}

/// [`load_dirs`], then [`check`] against the snapshot the caller took; the files not loaded
/// are in [`DriftReport::not_loaded`].
pub fn check_dirs(
    dirs: &[KeyfileDir],
    host: &HostSnapshot,
    resolv_conf: Option<&str>,
) -> Result<DriftReport, LoadError> {
    let loaded = load_dirs(dirs)?;
    let mut report = check(&loaded.profiles, host, resolv_conf);
    report.not_loaded = loaded.not_loaded;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const ETH0: &str = "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n\
                        interface-name=eth0\n[ipv4]\nmethod=auto\n";

    fn file(path: &str, text: &str, precedence: usize, secs: u64) -> KeyfileFile {
        KeyfileFile {
            path: path.to_string(),
            bytes: text.as_bytes().to_vec(),
            precedence,
            any_name: precedence == 1,
            regular: true,
            mode: Some(0o600),
            uid: Some(0),
            modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)),
        }
    }

    fn reasons(l: &Loaded) -> Vec<(&str, &NotLoadedReason)> {
        l.not_loaded.iter().map(|n| (n.file.as_str(), &n.reason)).collect()
    }

    #[test]
    fn what_networkmanager_skips() {
        let mut insecure = file("/etc/x/b.nmconnection", &ETH0.replace("0b3a", "1b3a"), 1, 0);
        insecure.mode = Some(0o644);
        let mut not_root = file("/etc/x/c.nmconnection", &ETH0.replace("0b3a", "2b3a"), 1, 0);
        not_root.uid = Some(1000);
        let files = [
            file("/etc/x/a.nmconnection", ETH0, 1, 0),
            insecure,
            not_root,
            file("/etc/x/eth0.nmconnection~", ETH0, 1, 0),
            file("/etc/x/eth0.nmconnection.Ab12Cd", ETH0, 1, 0),
            file("/run/x/legacy", &ETH0.replace("0b3a", "3b3a"), 0, 0),
            file("/etc/x/legacy", &ETH0.replace("0b3a", "4b3a"), 1, 0),
            file("/etc/x/broken.nmconnection", "[ipv4]\nmethod=manual\n", 1, 0),
        ];
        let l = load_profiles(&files);
        let loaded: Vec<&str> = l.profiles.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(loaded, ["/etc/x/a.nmconnection", "/etc/x/legacy"]);
        let r = reasons(&l);
        assert_eq!(r[0], ("/etc/x/b.nmconnection", &NotLoadedReason::Insecure { mode: Some(0o644), uid: Some(0) }));
        assert_eq!(r[1].1, &NotLoadedReason::Insecure { mode: Some(0o600), uid: Some(1000) });
        assert_eq!(r[2].1, &NotLoadedReason::IgnoredName);
        assert_eq!(r[3].1, &NotLoadedReason::IgnoredName);
        assert_eq!(r[4], ("/run/x/legacy", &NotLoadedReason::NoSuffix));
        let NotLoadedReason::Refused { codes } = r[5].1 else { panic!("{r:?}") };
        assert!(!codes.is_empty());
        assert_eq!(r.len(), 6);
        assert!(load_profiles(&[file("/etc/x/bin.nmconnection", "\u{0}", 1, 0)]).profiles.is_empty());
        let mut bytes = file("/etc/x/bin.nmconnection", "", 1, 0);
        bytes.bytes = vec![0xff, b'\n'];
        assert!(matches!(load_profiles(&[bytes]).not_loaded[0].reason, NotLoadedReason::Refused { .. }));
    }

    #[test]
    fn one_profile_per_uuid() {
        let upper = ETH0.replace("0b3a5b6e", "0B3A5B6E").replace("id=eth0", "id=upper");
        // /run beats /etc whatever the times.
        let l =
            load_profiles(&[file("/etc/x/a.nmconnection", ETH0, 1, 9), file("/run/x/b.nmconnection", &upper, 0, 1)]);
        assert_eq!(l.profiles.len(), 1);
        assert_eq!(l.profiles[0].file, "/run/x/b.nmconnection");
        assert_eq!(
            reasons(&l),
            [("/etc/x/a.nmconnection", &NotLoadedReason::Shadowed { by: "/run/x/b.nmconnection".into() })]
        );
        // In one directory the newer file wins, then the path.
        let l = load_profiles(&[file("/etc/x/a.nmconnection", ETH0, 1, 1), file("/etc/x/b.nmconnection", ETH0, 1, 2)]);
        assert_eq!(l.profiles[0].file, "/etc/x/b.nmconnection");
        let l = load_profiles(&[file("/etc/x/b.nmconnection", ETH0, 1, 1), file("/etc/x/a.nmconnection", ETH0, 1, 1)]);
        assert_eq!(l.profiles[0].file, "/etc/x/a.nmconnection");
    }

    #[test]
    fn a_profile_without_id_is_named_after_its_file() {
        let text = ETH0.replace("id=eth0\n", "");
        let l = load_profiles(&[file("/etc/x/uplink.nmconnection", &text, 1, 0)]);
        assert_eq!(l.profiles[0].profile.connection.id.as_deref(), Some("uplink"));
    }

    #[test]
    fn names_networkmanager_ignores() {
        for name in [".hidden", "a~", "a.nmconnection.XyZ123", "cert.pem", "key.der"] {
            assert!(ignored_name(name), "{name}");
        }
        for name in ["a.nmconnection", "eth0", "a.b", "x.nmconnection.bak"] {
            assert!(!ignored_name(name), "{name}");
        }
    }
}
