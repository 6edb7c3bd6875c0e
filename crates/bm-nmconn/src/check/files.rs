//! Checking the files of a directory: each file on one of the cores, and the rules over the
//! set.
//!
//! The work is CPU-bound and the files independent. They are handed out in contiguous chunks
//! of about 16 KiB (checking costs about the same per byte): each thread takes the next chunk
//! until none is left, so a thread slowed by other work on its core takes fewer, and the
//! threads finish within a chunk of each other. A chunk costs a lock, one vector and one
//! message on a channel; nothing is shared per file, and no pass over the whole set comes
//! before the work (a chunk's end is found by the thread that takes it). The calling thread
//! checks chunks too, beside the threads of a pool kept between checks (`pool.rs`), so
//! `threads` is the number of cores kept busy, up to all of them; and between its chunks the
//! calling thread takes the chunks checked so far, in file order, into the report and through
//! the set rules (they go file by file, each against the ones before it): by the time the last
//! chunk is checked, only that one is left to take.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError, mpsc};

use super::pool;
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
/// The calling thread checks, and for a set of more than one chunk (about 16 KiB) up to
/// `threads - 1` threads of a pool help it. The first such call makes the pool with the
/// threads it wants, at most one fewer than the machine's cores; a later call that wants more
/// grows it; its threads (named `nmconn-check-N`) stay, idle, for the life of the process. The
/// child of a `fork` does not use them: it checks on the calling thread alone. A panic while
/// checking (a bug) surfaces in the caller.
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
    check_files_in(files, options, threads, CHUNK_BYTES)
}

/// A chunk's bytes: about sixty keyfiles, a tenth of a millisecond of work (the threads finish
/// within about that of each other). A directory of one chunk is checked by the calling
/// thread alone.
const CHUNK_BYTES: usize = 16 << 10;

/// [`check_files`], with chunks of about `chunk_bytes`.
fn check_files_in(
    files: &[FileInput<'_>],
    options: &CheckOptions,
    threads: NonZeroUsize,
    chunk_bytes: usize,
) -> SetReport {
    let chunks = Chunks { files, bytes: chunk_bytes, next: Mutex::new((0, 0)) };
    // Threads beside this one: one per chunk past the first, up to `threads` in all and the
    // pool's size.
    let helpers = chunks.count_up_to(threads.get()).saturating_sub(1);
    // Takes the next chunk and checks it: its index and reports, or `None` when none is left.
    let work = || chunks.take().map(|(k, chunk)| (k, check_run(chunk, options)));
    let pool = if helpers > 0 { pool::helpers(helpers) } else { None };
    let Some(pool) = pool else {
        let mut collected = Collected::new(files);
        while let Some(chunk) = work() {
            collected.add(chunk);
        }
        return collected.finish();
    };
    let (checked, chunks_checked) = mpsc::channel();
    let mut collected = pool.in_place_scope(|scope| {
        for _ in 0..helpers.min(pool.current_num_threads()) {
            let checked = checked.clone();
            let work = &work;
            scope.spawn(move |_| {
                while let Some(chunk) = work() {
                    if checked.send(chunk).is_err() {
                        break;
                    }
                }
            });
        }
        // The report's and the rules' memory (a few hundred kilobytes for thousands of files)
        // is taken while the helpers wake up.
        let mut collected = Collected::new(files);
        // This thread checks chunks too, and between them takes every chunk checked so far,
        // in order, into the report and through the set rules: they run while the other
        // threads check, and what is left at the end is the last chunk or two.
        while let Some(chunk) = work() {
            collected.add(chunk);
            while let Ok(chunk) = chunks_checked.try_recv() {
                collected.add(chunk);
            }
        }
        // The scope ends when every helper has: a helper that panicked makes it panic once
        // the others are done (a panic is a bug of the validator, and surfaces).
        collected
    });
    // Every helper is done, and has dropped its sender: what they checked last is waiting.
    drop(checked);
    for chunk in chunks_checked {
        collected.add(chunk);
    }
    collected.finish()
}

/// The files, handed out in contiguous chunks of about `bytes` bytes to whichever thread asks
/// next. The thread that takes a chunk finds its end (a walk over its files' lengths, under
/// the lock): no pass over the whole set comes before the work.
struct Chunks<'f, 'a> {
    files: &'f [FileInput<'a>],
    bytes: usize,
    /// The next chunk's index and first file.
    next: Mutex<(usize, usize)>,
}

impl<'f, 'a> Chunks<'f, 'a> {
    /// The next chunk and its index: the files up to the one that brings it to `bytes`, or to
    /// the end; `None` when none is left.
    fn take(&self) -> Option<(usize, &'f [FileInput<'a>])> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let (k, start) = *next;
        let rest = self.files.get(start..).filter(|rest| !rest.is_empty())?;
        let len = chunk_len(rest, self.bytes);
        *next = (k + 1, start + len);
        Some((k, &rest[..len]))
    }

    /// The number of chunks, or `n` if there are more (the walk stops there).
    fn count_up_to(&self, n: usize) -> usize {
        let (mut count, mut rest) = (0, self.files);
        while count < n && !rest.is_empty() {
            rest = &rest[chunk_len(rest, self.bytes)..];
            count += 1;
        }
        count
    }
}

/// The number of files of the chunk starting `files`: up to the one that brings it to
/// `bytes`, at least one.
fn chunk_len(files: &[FileInput<'_>], bytes: usize) -> usize {
    let mut sum = 0;
    files
        .iter()
        .position(|f| {
            sum += f.bytes.len();
            sum >= bytes
        })
        .map_or(files.len(), |last| last + 1)
}

/// The chunks' reports as they come, taken in the files' order into one report and through
/// the set rules.
struct Collected<'a> {
    files: &'a [FileInput<'a>],
    /// Chunks checked ahead of the next one in order, by index (it grows as they come).
    waiting: Vec<Option<Vec<FileReport>>>,
    /// The next chunk in order.
    next: usize,
    reports: Vec<FileReport>,
    rules: SetRules<'a>,
}

impl<'a> Collected<'a> {
    fn new(files: &'a [FileInput<'a>]) -> Collected<'a> {
        Collected {
            files,
            waiting: Vec::new(),
            next: 0,
            reports: Vec::with_capacity(files.len()),
            rules: SetRules::with_capacity(files.len()),
        }
    }

    /// A chunk checked: its index and reports.
    fn add(&mut self, (k, reports): (usize, Vec<FileReport>)) {
        if self.waiting.len() <= k {
            self.waiting.resize_with(k + 1, || None);
        }
        self.waiting[k] = Some(reports);
        while let Some(reports) = self.waiting.get_mut(self.next).and_then(Option::take) {
            let start = self.reports.len();
            self.reports.extend(reports);
            let summary = |i: usize| self.reports.get(i).and_then(|r| r.profile.as_ref());
            for (f, r) in self.files.get(start..).unwrap_or_default().iter().zip(&self.reports[start..]) {
                self.rules.add(Facts { name: f.path, profile: r.profile.as_ref(), mode: f.mode, uid: f.uid }, summary);
            }
            self.next += 1;
        }
    }

    fn finish(self) -> SetReport {
        let reports = self.reports;
        let set = self.rules.finish(|i| reports.get(i).and_then(|r| r.profile.as_ref()));
        SetReport { files: reports, set }
    }
}

fn check_run(run: &[FileInput<'_>], options: &CheckOptions) -> Vec<FileReport> {
    // The path as the file's name: the check takes its last component when it needs it.
    run.iter().map(|f| check_bytes_named(f.bytes, options, Some(f.path))).collect()
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

    /// Chunks are contiguous, cover every file once, end at the file that brings them to
    /// the size, and are never empty.
    #[test]
    fn chunks_are_contiguous_and_sized_by_bytes() {
        let big = vec![b'#'; 1000];
        let small = vec![b'#'; 10];
        let files: Vec<FileInput<'_>> = (0..100).map(|i| input(if i < 10 { &big } else { &small })).collect();
        let chunks = |bytes: usize| {
            let c = Chunks { files: &files, bytes, next: Mutex::new((0, 0)) };
            let taken: Vec<(usize, usize)> =
                std::iter::from_fn(|| c.take()).map(|(k, chunk)| (k, chunk.len())).collect();
            (taken, c.count_up_to(usize::MAX), c.count_up_to(2))
        };
        // 11,000 bytes: chunks of 5,500 are five big files and a half, so six of them, then
        // the four big and 60 small ones (4,600 bytes).
        assert_eq!(chunks(5_500), (vec![(0, 6), (1, 94)], 2, 2));
        assert_eq!(chunks(11_000), (vec![(0, 100)], 1, 1));
        assert_eq!(chunks(1 << 20), (vec![(0, 100)], 1, 1), "one chunk: no other thread");
        let (taken, count, _) = chunks(1);
        assert_eq!(taken.len(), 100, "a file per chunk, at least");
        assert_eq!(count, 100);
        assert!(taken.iter().enumerate().all(|(i, &(k, len))| k == i && len == 1));
        let (small_chunks, _, up_to_2) = chunks(30);
        assert_eq!(
            small_chunks[..11].iter().map(|c| c.1).collect::<Vec<_>>(),
            [1; 10].iter().chain(&[3]).copied().collect::<Vec<_>>()
        );
        assert_eq!(small_chunks.iter().map(|c| c.1).sum::<usize>(), 100);
        assert_eq!(up_to_2, 2, "count_up_to stops at n");
        let none = Chunks { files: &[], bytes: 10, next: Mutex::new((0, 0)) };
        assert_eq!((none.take(), none.count_up_to(4)), (None, 0));
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
            for chunk_bytes in [1, 200, 1000] {
                let many = check_files_in(&files, &CheckOptions::default(), threads, chunk_bytes);
                assert_eq!(many, one, "{n} threads, chunks of {chunk_bytes} bytes or more");
            }
        }
        assert!(one.set.iter().any(|(_, d)| d.code == Code::UuidDuplicate));
        assert!(one.files[10].diagnostics.iter().any(|d| d.code == Code::IntegerOctal));
    }
}
