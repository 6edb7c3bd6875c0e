//! Checking the files of a directory: each file on one of the cores, and the rules over the
//! set.
//!
//! The work is CPU-bound and the files independent. They are cut into contiguous chunks of
//! about the same number of bytes (checking costs about the same per byte), up to 64 per
//! thread and none under 16 KiB, and each thread takes the next chunk until none is left: a
//! thread slowed by other work on its core takes fewer, and the threads finish within a chunk
//! of each other. A chunk costs one atomic increment and one vector; nothing is shared per
//! file. The calling thread checks chunks too, so `threads` is the number of cores kept busy,
//! and between its chunks it feeds the set rules the chunks checked so far, in file order
//! (they go file by file, each against the ones before it): by the time the last chunk is
//! checked, the rules have only that one left to read.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::set::{Facts, SetRules};
use super::{CheckOptions, FileReport, check_named};
use crate::diag::{Code, Diagnostic};

/// One file of a set, as its caller read it (the library does no I/O).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileInput<'a> {
    /// Its path, for messages; its last component names a profile without `id`.
    pub path: &'a str,
    /// Its bytes (text that is not UTF-8 is a load error).
    pub bytes: &'a [u8],
    /// `st_mode & 0o7777`, when known.
    pub mode: Option<u32>,
    /// The owner's uid, when known.
    pub uid: Option<u32>,
}

/// What [`check_files`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SetReport {
    /// Each file's report, in the order given.
    pub files: Vec<FileReport>,
    /// The directory rules' diagnostics: (index of the file, diagnostic).
    pub set: Vec<(usize, Diagnostic)>,
}

impl SetReport {
    /// A file's diagnostics and the set rules' about it, in line order.
    pub fn diagnostics_of(&self, i: usize) -> Vec<&Diagnostic> {
        let extra = self.set.iter().filter(|(j, _)| *j == i).map(|(_, d)| d);
        let mut all: Vec<&Diagnostic> = self.files[i].diagnostics.iter().chain(extra).collect();
        all.sort_by_key(|d| (d.line, d.column));
        all
    }
}

/// Checks a set of files (a `system-connections` directory) on `threads` cores: every file as
/// [`check_text`](super::check_text) checks it (the file name from its path), and
/// [`check_set`](super::check_set)'s rules over all of them.
///
/// ```
/// use std::num::NonZeroUsize;
/// use bm_nmconn::check::{CheckOptions, FileInput, check_files};
/// use bm_nmconn::diag::Code;
/// let good = b"[connection]\nid=a\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n[ipv4]\nmethod=auto\n";
/// let files = [
///     FileInput { path: "/etc/NetworkManager/system-connections/a.nmconnection", bytes: good, mode: Some(0o600), uid: Some(0) },
///     FileInput { path: "/etc/NetworkManager/system-connections/b.nmconnection", bytes: b"[ipv4]\n\xff\n", mode: Some(0o644), uid: Some(0) },
/// ];
/// let report = check_files(&files, &CheckOptions::default(), NonZeroUsize::new(2).unwrap());
/// assert_eq!(report.files[1].diagnostics[0].code, Code::LoadError); // not UTF-8
/// assert_eq!(report.diagnostics_of(1)[0].code, Code::FileInsecure); // mode 644, the whole file
/// ```
pub fn check_files(files: &[FileInput<'_>], options: &CheckOptions, threads: NonZeroUsize) -> SetReport {
    check_files_in(files, options, threads, MIN_CHUNK_BYTES)
}

/// The least a chunk holds: about sixty keyfiles, half a millisecond of work. A smaller
/// directory is one chunk, checked by the calling thread alone.
const MIN_CHUNK_BYTES: usize = 16 << 10;

/// Chunks per thread, at most: the threads finish within a small chunk of each other.
const CHUNKS_PER_THREAD: usize = 64;

/// [`check_files`], with the least a chunk holds.
fn check_files_in(
    files: &[FileInput<'_>],
    options: &CheckOptions,
    threads: NonZeroUsize,
    min_chunk_bytes: usize,
) -> SetReport {
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    let chunks = runs(files, (threads.get() * CHUNKS_PER_THREAD).min(total / min_chunk_bytes.max(1)).max(1));
    // Each chunk's reports, set once by the thread that checked it.
    let slots: Vec<OnceLock<Vec<FileReport>>> = chunks.iter().map(|_| OnceLock::new()).collect();
    let next = AtomicUsize::new(0);
    // Takes the next chunk and checks it; false when none is left.
    let work = || {
        let k = next.fetch_add(1, Ordering::Relaxed);
        let Some(chunk) = chunks.get(k) else { return false };
        // Each chunk is taken once: the slot is empty.
        let _ = slots[k].set(check_run(chunk, options));
        true
    };
    let set = std::thread::scope(|scope| {
        let workers: Vec<_> = (1..threads.get().min(chunks.len())).map(|_| scope.spawn(|| while work() {})).collect();
        // This thread checks chunks too, and between them feeds the set rules every chunk
        // checked so far, in order: the rules run while the other threads check.
        let mut rules = SetRules::with_capacity(files.len());
        let mut fed = 0;
        let mut feed = || {
            while let Some(reports) = slots.get(fed).and_then(OnceLock::get) {
                add_facts(&mut rules, chunks[fed], reports);
                fed += 1;
            }
        };
        while work() {
            feed();
        }
        for w in workers {
            // A panic in a worker is a bug of the validator: let it surface.
            w.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
        feed();
        rules.finish()
    });
    let mut reports = Vec::with_capacity(files.len());
    for slot in slots {
        reports.extend(slot.into_inner().unwrap_or_default());
    }
    SetReport { files: reports, set }
}

/// Feeds a chunk's files, as checked, to the set rules.
fn add_facts<'a>(rules: &mut SetRules<'a>, chunk: &[FileInput<'a>], reports: &'a [FileReport]) {
    for (f, r) in chunk.iter().zip(reports) {
        rules.add(Facts { name: f.path, profile: r.profile.as_ref(), mode: f.mode, uid: f.uid });
    }
}

/// Splits the files into at most `n` contiguous runs of about equal bytes.
fn runs<'f, 'a>(files: &'f [FileInput<'a>], n: usize) -> Vec<&'f [FileInput<'a>]> {
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    let per_run = total.div_ceil(n.max(1)).max(1);
    let mut out = Vec::with_capacity(n);
    let (mut start, mut bytes) = (0, 0);
    for (i, f) in files.iter().enumerate() {
        bytes += f.bytes.len();
        // The last run takes whatever is left.
        if bytes >= per_run && out.len() + 1 < n {
            out.push(&files[start..=i]);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < files.len() || out.is_empty() {
        out.push(&files[start..]);
    }
    out
}

fn check_run(run: &[FileInput<'_>], options: &CheckOptions) -> Vec<FileReport> {
    run.iter().map(|f| check_bytes_named(f.bytes, options, Some(f.path.rsplit('/').next().unwrap_or(f.path)))).collect()
}

/// Checks a file's bytes: text that is not UTF-8 is a load error at its first bad byte (GLib
/// refuses the file).
pub fn check_bytes(bytes: &[u8], options: &CheckOptions) -> FileReport {
    check_bytes_named(bytes, options, options.file_name.as_deref())
}

fn check_bytes_named(bytes: &[u8], options: &CheckOptions, file_name: Option<&str>) -> FileReport {
    match std::str::from_utf8(bytes) {
        Ok(text) => check_named(text, options, file_name),
        Err(e) => {
            let at = e.valid_up_to();
            let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            let d = Diagnostic::new(
                Code::LoadError,
                line,
                1,
                format!("NetworkManager cannot load this file: it is not UTF-8 (byte offset {at})"),
            );
            FileReport { diagnostics: vec![d], profile: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(bytes: &[u8]) -> FileInput<'_> {
        FileInput { path: "x", bytes, mode: None, uid: None }
    }

    #[test]
    fn runs_are_contiguous_and_even_in_bytes() {
        let big = vec![b'#'; 1000];
        let small = vec![b'#'; 10];
        let files: Vec<FileInput<'_>> = (0..100).map(|i| input(if i < 10 { &big } else { &small })).collect();
        let r = runs(&files, 2);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].len() + r[1].len(), 100);
        // 11,000 bytes: the first run ends where it reaches half of them.
        assert_eq!(r[0].len(), 6, "six big files");
        assert_eq!(runs(&files, 1).len(), 1);
        assert_eq!(runs(&files[..1], 4).len(), 1, "no empty runs");
        assert_eq!(runs(&[], 3).len(), 1);
        assert!(runs(&[], 3)[0].is_empty());
    }

    /// Whatever the number of threads, the same reports in the same order.
    #[test]
    fn threads_change_nothing() {
        let texts: Vec<String> = (0..50)
            .map(|i| {
                format!(
                    "[connection]\nid=p{}\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-{:012x}\ntype=ethernet\n[ethernet]\nmtu=0{i}\n",
                    i % 7,
                    i % 13
                )
            })
            .collect();
        let files: Vec<FileInput<'_>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| FileInput {
                path: "d/f",
                bytes: t.as_bytes(),
                mode: Some(0o600 + (i as u32 % 2) * 4),
                uid: Some(0),
            })
            .collect();
        let one = check_files(&files, &CheckOptions::default(), NonZeroUsize::MIN);
        for n in [2, 3, 8, 64] {
            let threads = NonZeroUsize::new(n).unwrap();
            assert_eq!(check_files(&files, &CheckOptions::default(), threads), one, "{n} threads");
            // Chunks of a file or more each: the threads share the work.
            for min_chunk_bytes in [1, 200, 1000] {
                let many = check_files_in(&files, &CheckOptions::default(), threads, min_chunk_bytes);
                assert_eq!(many, one, "{n} threads, chunks of {min_chunk_bytes} bytes or more");
            }
        }
        assert!(one.set.iter().any(|(_, d)| d.code == Code::UuidDuplicate));
        assert!(one.files[10].diagnostics.iter().any(|d| d.code == Code::IntegerOctal));
    }
}
