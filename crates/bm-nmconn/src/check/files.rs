//! Checking the files of a directory: each file on one of the cores, then the rules over the
//! set.
//!
//! The work is CPU-bound and the files independent, so it is split into one contiguous run of
//! files per thread, each run holding about the same number of bytes (checking costs about the
//! same per byte, and a run of big files next to a run of small ones would leave a thread
//! idle). The calling thread checks a run itself rather than waiting, so `threads` is the
//! number of cores kept busy. No work is shared between the threads and nothing is allocated
//! per file beyond its report; the set rules run after, over borrowed summaries (they cost a
//! few percent of the whole).

use std::num::NonZeroUsize;

use super::set::{Facts, set_rules};
use super::{CheckOptions, FileReport, check_text};
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
/// [`check_text`] checks it (the file name from its path), then [`check_set`](super::check_set)'s
/// rules over all of them.
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
    let runs = runs(files, threads.get());
    let reports: Vec<FileReport> = std::thread::scope(|scope| {
        let mut runs = runs.into_iter();
        let mine = runs.next().unwrap_or_default();
        let workers: Vec<_> = runs.map(|run| scope.spawn(move || check_run(run, options))).collect();
        let mut reports = check_run(mine, options);
        for w in workers {
            // A panic in a worker is a bug of the validator: let it surface.
            reports.extend(w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        reports
    });
    let facts: Vec<Facts<'_>> = files
        .iter()
        .zip(&reports)
        .map(|(f, r)| Facts { name: f.path, profile: r.profile.as_ref(), mode: f.mode, uid: f.uid })
        .collect();
    let set = set_rules(&facts);
    SetReport { files: reports, set }
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
    let mut options = options.clone();
    run.iter()
        .map(|f| {
            options.file_name = Some(f.path.rsplit('/').next().unwrap_or(f.path).to_string());
            check_bytes(f.bytes, &options)
        })
        .collect()
}

/// Checks a file's bytes: text that is not UTF-8 is a load error at its first bad byte (GLib
/// refuses the file).
pub fn check_bytes(bytes: &[u8], options: &CheckOptions) -> FileReport {
    match std::str::from_utf8(bytes) {
        Ok(text) => check_text(text, options),
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
            assert_eq!(
                check_files(&files, &CheckOptions::default(), NonZeroUsize::new(n).unwrap()),
                one,
                "{n} threads"
            );
        }
        assert!(one.set.iter().any(|(_, d)| d.code == Code::UuidDuplicate));
        assert!(one.files[10].diagnostics.iter().any(|d| d.code == Code::IntegerOctal));
    }
}
