//! Where running bmnet daemons (`vrrp run`, `dns serve`) say what they are doing, so that
//! `bmnet inspect` can show it: one JSON file per daemon under `/run/bmnet` (or
//! `$BMNET_STATUS_DIR`), replaced atomically on every change and removed on exit. Each file
//! records its network namespace, so `inspect` in a namespace shows that namespace's daemons
//! only (the file system is shared between namespaces).

// Reading and writing the status files is this module's job.
#![allow(clippy::disallowed_methods)]

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::PathBuf;

use serde_json::{Value, json};

/// The status directory.
pub(crate) fn dir() -> PathBuf {
    std::env::var_os("BMNET_STATUS_DIR").map_or_else(|| PathBuf::from("/run/bmnet"), PathBuf::from)
}

/// This process's network namespace (the inode of `/proc/self/ns/net`).
pub(crate) fn netns() -> Option<u64> {
    fs::metadata("/proc/self/ns/net").ok().map(|m| m.ino())
}

/// One daemon's status file, removed when dropped.
pub(crate) struct StatusFile {
    path: PathBuf,
    kind: &'static str,
}

impl StatusFile {
    /// The file of this process for `kind` (`vrrp`, `dns`).
    pub(crate) fn new(kind: &'static str) -> StatusFile {
        StatusFile { path: dir().join(format!("{kind}-{}.json", std::process::id())), kind }
    }

    /// Replaces the file with `body` plus who wrote it. A failure is reported once per call on
    /// stderr and never stops the daemon: the status is for people, the VIPs are not.
    pub(crate) fn write(&self, body: Value) {
        let mut v = json!({ "kind": self.kind, "pid": std::process::id(), "netns": netns() });
        if let (Some(dst), Value::Object(src)) = (v.as_object_mut(), body) {
            dst.extend(src);
        }
        self.write_text(&v.to_string());
    }

    /// Replaces the file with `text`, a whole JSON object that carries `kind`, `pid` and `netns`
    /// as [`StatusFile::write`] adds them (for a daemon that serializes its own typed status).
    pub(crate) fn write_text(&self, text: &str) {
        let text = format!("{text}\n");
        if let Err(e) = super::write::write_atomically(&self.path, text.as_bytes(), 0o644) {
            eprintln!("bmnet: status file {}: {e}", self.path.display());
        }
    }
}

impl Drop for StatusFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The status of every live daemon of `kind` in this network namespace.
pub(crate) fn read_all(kind: &str) -> Vec<Value> {
    let Ok(entries) = fs::read_dir(dir()) else { return Vec::new() };
    let me = netns();
    let mut out: Vec<Value> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{kind}-")))
        .filter_map(|e| fs::read_to_string(e.path()).ok())
        .filter_map(|t| serde_json::from_str::<Value>(&t).ok())
        .filter(|v| v["netns"].as_u64() == me && me.is_some())
        // A daemon killed with SIGKILL leaves its file: only live ones count.
        .filter(|v| v["pid"].as_u64().is_some_and(|pid| fs::metadata(format!("/proc/{pid}")).is_ok()))
        .collect();
    out.sort_by_key(|v| v["pid"].as_u64());
    out
}
