//! Where running bmnet daemons (`vrrp run`, `dns serve`) say what they are doing, so that
//! `bmnet inspect` can show it: one JSON file per daemon under `/run/bmnet` (or
//! `$BMNET_STATUS_DIR`), replaced atomically on every change and removed on exit.
//!
//! One typed envelope, [`Published`], carries every daemon's body ([`DaemonStatus`]): the
//! writer and `inspect` share the type, so a renamed field is a compile error, not a `?`.
//! The envelope says which `format` it is (a file of another format is reported, not guessed
//! at), which network namespace the daemon runs in (the file system is shared between
//! namespaces; `inspect` shows its own namespace's daemons), and who wrote it: the PID *and*
//! that process's start time, because a PID is reused: a file whose PID now belongs to another
//! process is as stale as one whose process is gone.

// Reading and writing the status files is this module's job.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The status file format this bmnet writes and reads. Raise it when a change would make an
/// older `inspect` misread a newer file (a field renamed or its meaning changed); adding an
/// optional field does not need it.
pub(crate) const FORMAT: u32 = 1;

/// Which daemon wrote a file (also the start of its name: `vrrp-PID.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DaemonKind {
    /// `bmnet vrrp run`.
    Vrrp,
    /// `bmnet dns serve`.
    Dns,
    /// `bmnet bgp run`.
    Bgp,
}

impl DaemonKind {
    fn name(self) -> &'static str {
        match self {
            DaemonKind::Vrrp => "vrrp",
            DaemonKind::Dns => "dns",
            DaemonKind::Bgp => "bgp",
        }
    }
}

/// What one kind of daemon publishes.
pub(crate) trait DaemonStatus: Serialize + DeserializeOwned {
    /// The daemon it describes.
    const KIND: DaemonKind;
}

/// A status file: who wrote it, then the daemon's own `body` (its fields at the top level).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Published<T> {
    /// [`FORMAT`] when written.
    pub(crate) format: u32,
    /// Which daemon.
    pub(crate) kind: DaemonKind,
    /// Its process.
    pub(crate) pid: u32,
    /// When that process started (`/proc/PID/stat` field 22, clock ticks since boot): with the
    /// PID, names the process for as long as the machine runs.
    pub(crate) start_time: Option<u64>,
    /// Its network namespace (the inode of `/proc/self/ns/net`).
    pub(crate) netns: Option<u64>,
    /// What it says.
    #[serde(flatten)]
    pub(crate) body: T,
    /// When the file was last replaced (read from the file system, not written in it).
    #[serde(skip)]
    pub(crate) modified: Option<std::time::SystemTime>,
}

/// The part of any status file, of any format, that says who wrote it.
#[derive(Deserialize)]
struct Writer {
    #[serde(default)]
    format: Option<u32>,
    pid: u32,
    #[serde(default)]
    start_time: Option<u64>,
    #[serde(default)]
    netns: Option<u64>,
}

impl Writer {
    /// Whether the process that wrote the file still runs: the PID exists and, when the file
    /// recorded it, started when the writer did.
    fn alive(&self) -> bool {
        match (self.start_time, start_time(self.pid)) {
            (_, None) => false,
            (Some(recorded), Some(now)) => recorded == now,
            (None, Some(_)) => true,
        }
    }
}

/// The status directory.
pub(crate) fn dir() -> PathBuf {
    std::env::var_os("BMNET_STATUS_DIR").map_or_else(|| PathBuf::from("/run/bmnet"), PathBuf::from)
}

/// This process's network namespace (the inode of `/proc/self/ns/net`).
pub(crate) fn netns() -> Option<u64> {
    fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino())
}

/// When process `pid` started, in clock ticks since boot (`/proc/PID/stat` field 22), or
/// `None` when there is no such process.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    start_time_of(&stat)
}

/// Field 22 of a `/proc/PID/stat` line. The second field is the command name in parentheses,
/// which may itself hold spaces and parentheses: the fields are counted after its last `)`.
fn start_time_of(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name come field 3 (state) onwards: field 22 is the 20th.
    after_name.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// One daemon's status file, removed when dropped.
pub(crate) struct StatusFile<T> {
    path: PathBuf,
    pid: u32,
    start_time: Option<u64>,
    netns: Option<u64>,
    kind: std::marker::PhantomData<fn(&T)>,
}

impl<T: DaemonStatus> StatusFile<T> {
    /// The file of this process. Files left by daemons of the same kind that are gone (killed
    /// with SIGKILL, or the machine's PID reused since) are removed first: nobody else would.
    pub(crate) fn new() -> StatusFile<T> {
        let dir = dir();
        remove_stale(&dir, T::KIND);
        let pid = std::process::id();
        StatusFile {
            path: dir.join(format!("{}-{pid}.json", T::KIND.name())),
            pid,
            start_time: start_time(pid),
            netns: netns(),
            kind: std::marker::PhantomData,
        }
    }

    /// Replaces the file with `body` and who wrote it. A failure is reported on stderr and
    /// never stops the daemon: the status is for people, the VIPs are not.
    pub(crate) fn write(&self, body: &T) {
        let published = Published {
            format: FORMAT,
            kind: T::KIND,
            pid: self.pid,
            start_time: self.start_time,
            netns: self.netns,
            body,
            modified: None,
        };
        let text = match serde_json::to_string(&published) {
            Ok(text) => format!("{text}\n"),
            Err(e) => return eprintln!("bmnet: status file {}: {e}", self.path.display()),
        };
        if let Err(e) = super::write::write_atomically(&self.path, text.as_bytes(), 0o644) {
            eprintln!("bmnet: status file {}: {e}", self.path.display());
        }
    }
}

impl<T> Drop for StatusFile<T> {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Removes the files of `kind` in `dir` whose writer is gone.
fn remove_stale(dir: &Path, kind: DaemonKind) {
    for (path, text) in files(dir, kind) {
        if serde_json::from_str::<Writer>(&text).is_ok_and(|w| !w.alive()) {
            let _ = fs::remove_file(path);
        }
    }
}

/// The files of `kind` in `dir`, read.
fn files(dir: &Path, kind: DaemonKind) -> Vec<(PathBuf, String)> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let prefix = format!("{}-", kind.name());
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter_map(|e| Some((e.path(), fs::read_to_string(e.path()).ok()?)))
        .collect()
}

/// What the status directory says about one kind of daemon in this network namespace.
#[derive(Debug)]
pub(crate) struct Reading<T> {
    /// The daemons that run, by PID.
    pub(crate) live: Vec<Published<T>>,
    /// Files of running daemons this bmnet cannot read: the file and why.
    pub(crate) unreadable: Vec<(PathBuf, String)>,
}

/// Every running daemon of `T`'s kind in this network namespace; stale files are skipped.
pub(crate) fn read_all<T: DaemonStatus>() -> Reading<T> {
    read_from(&dir(), netns())
}

fn read_from<T: DaemonStatus>(dir: &Path, me: Option<u64>) -> Reading<T> {
    let mut reading = Reading { live: Vec::new(), unreadable: Vec::new() };
    for (path, text) in files(dir, T::KIND) {
        let writer = match serde_json::from_str::<Writer>(&text) {
            Ok(w) => w,
            Err(e) => {
                reading.unreadable.push((path, format!("not a bmnet status file: {e}")));
                continue;
            }
        };
        if !writer.alive() || me.is_none() || writer.netns != me {
            continue;
        }
        if writer.format != Some(FORMAT) {
            let format = writer.format.map_or_else(|| "an unversioned format".to_string(), |f| format!("format {f}"));
            let why = format!("written in {format} by pid {}; this bmnet reads format {FORMAT}", writer.pid);
            reading.unreadable.push((path, why));
            continue;
        }
        match serde_json::from_str::<Published<T>>(&text) {
            Ok(mut p) => {
                p.modified = fs::metadata(&path).and_then(|m| m.modified()).ok();
                reading.live.push(p);
            }
            Err(e) => reading.unreadable.push((path, e.to_string())),
        }
    }
    reading.live.sort_by_key(|p| p.pid);
    reading
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Toy {
        zone: String,
    }

    impl DaemonStatus for Toy {
        const KIND: DaemonKind = DaemonKind::Dns;
    }

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("bmnet-status-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn start_time_counts_fields_after_the_last_parenthesis() {
        // A command name with spaces and a `)` of its own.
        let stat = "4242 (evil) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
        assert_eq!(start_time_of(stat), Some(987_654));
        assert_eq!(start_time_of("4242 (x) S 1"), None);
        assert_eq!(start_time_of("garbage"), None);
        // This process: present and stable.
        let me = std::process::id();
        assert!(start_time(me).is_some());
        assert_eq!(start_time(me), start_time(me));
    }

    #[test]
    fn a_reused_pid_or_a_dead_writer_is_stale() {
        let me = std::process::id();
        let now = start_time(me);
        assert!(Writer { format: Some(FORMAT), pid: me, start_time: now, netns: None }.alive());
        // Same PID, another process (started at another tick).
        let other = now.map(|t| t + 1);
        assert!(!Writer { format: Some(FORMAT), pid: me, start_time: other, netns: None }.alive());
        // No such process (PIDs stop far below this).
        assert!(!Writer { format: Some(FORMAT), pid: u32::MAX - 1, start_time: None, netns: None }.alive());
    }

    #[test]
    fn written_files_read_back_typed_and_others_are_reported_or_skipped() {
        let dir = scratch("read");
        let me = std::process::id();
        let ns = netns();
        let write = |name: &str, text: String| fs::write(dir.join(name), text).unwrap();
        let published = |format: u32, pid: u32, start: Option<u64>| {
            serde_json::to_string(&Published {
                format,
                kind: DaemonKind::Dns,
                pid,
                start_time: start,
                netns: ns,
                body: Toy { zone: format!("z{pid}") },
                modified: None,
            })
            .unwrap()
        };
        write(&format!("dns-{me}.json"), published(FORMAT, me, start_time(me)));
        // Gone, reused, another namespace: skipped.
        write("dns-1.json", published(FORMAT, u32::MAX - 1, None));
        write("dns-2.json", published(FORMAT, me, start_time(me).map(|t| t + 1)));
        let elsewhere =
            published(FORMAT, me, start_time(me)).replace(&format!("\"netns\":{}", ns.unwrap()), "\"netns\":1");
        write("dns-3.json", elsewhere);
        // A newer format and garbage: reported.
        write("dns-4.json", published(FORMAT + 1, me, start_time(me)));
        write("dns-5.json", "{not json".to_string());
        // Another kind: not ours.
        write(&format!("vrrp-{me}.json"), published(FORMAT, me, start_time(me)));
        let r: Reading<Toy> = read_from(&dir, ns);
        assert_eq!(r.live.len(), 1, "{r:?}");
        assert_eq!(r.live[0].body, Toy { zone: format!("z{me}") });
        assert!(r.live[0].modified.is_some());
        let mut why: Vec<String> = r.unreadable.iter().map(|(p, w)| format!("{}: {w}", p.display())).collect();
        why.sort();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why[0].contains("dns-4.json: written in format 2 by pid"), "{why:?}");
        assert!(why[0].ends_with("this bmnet reads format 1"), "{why:?}");
        assert!(why[1].contains("dns-5.json: not a bmnet status file"), "{why:?}");
        // A new writer clears what is stale, and only that.
        remove_stale(&dir, DaemonKind::Dns);
        let mut left: Vec<String> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        let mut kept: Vec<String> = ["dns-3.json", "dns-4.json", "dns-5.json"].map(String::from).to_vec();
        kept.extend([format!("dns-{me}.json"), format!("vrrp-{me}.json")]);
        kept.sort();
        assert_eq!(left, kept);
        fs::remove_dir_all(&dir).unwrap();
    }
}
