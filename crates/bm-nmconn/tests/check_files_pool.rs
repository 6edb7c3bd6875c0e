//! `check_files` keeps its helper threads between calls: the first check of a set of several
//! chunks makes a pool with the helpers it wants (named `nmconn-check-N`, at most one fewer
//! than the machine's cores), and later checks use the same threads instead of spawning new
//! ones. A test binary of its own: the threads counted are this process's, with no other
//! test's.

#![allow(clippy::disallowed_methods)] // Reads /proc/self/task.

use std::num::NonZeroUsize;

use bm_nmconn::check::{CheckOptions, FileInput, check_files};
use bm_nmconn::diag::Code;

/// The names of this process's threads (`comm`, at most 15 bytes).
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .map(|name| name.trim_end().to_string())
        .collect()
}

fn pool_threads() -> usize {
    thread_names().iter().filter(|name| name.starts_with("nmconn-check-")).count()
}

#[test]
fn calls_reuse_the_pool() {
    // 400 files of about 150 bytes: 60 KB, four chunks or so.
    let texts: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "[connection]\nid=p{i}\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-{i:012x}\ntype=ethernet\nmaster=bond{}\n[ethernet]\nmtu=01500\n",
                i % 3
            )
        })
        .collect();
    let files: Vec<FileInput<'_>> = texts
        .iter()
        .map(|t| FileInput {
            path: "/etc/NetworkManager/system-connections/p",
            bytes: t.as_bytes(),
            mode: Some(0o600),
            uid: Some(0),
        })
        .collect();
    let options = CheckOptions::default();
    let two = NonZeroUsize::new(2).unwrap();

    // One thread: no pool yet.
    let alone = check_files(&files, &options, NonZeroUsize::MIN);
    assert_eq!(pool_threads(), 0, "a check on one thread makes no pool: {:?}", thread_names());
    assert!(alone.files.iter().all(|r| r.diagnostics.iter().any(|d| d.code == Code::IntegerOctal)));
    assert_eq!(alone.set.iter().filter(|(_, d)| d.code == Code::ControllerDangling).count(), 400);

    let first = check_files(&files, &options, two);
    assert_eq!(pool_threads(), 1, "one helper wanted: {:?}", thread_names());
    let threads_then = thread_names().len();
    for _ in 0..20 {
        assert_eq!(check_files(&files, &options, two), first);
    }
    assert_eq!(thread_names().len(), threads_then, "later checks make no threads: {:?}", thread_names());
    assert_eq!(first, alone, "the pool changes nothing in the report");

    // More threads than cores: a bigger pool where the machine has the cores, up to one fewer
    // than them, then no more threads.
    let many = NonZeroUsize::new(64).unwrap();
    assert_eq!(check_files(&files, &options, many), alone);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let most = cores.saturating_sub(1).max(1);
    // A pool replaced by a bigger one ends its threads once they are idle: wait for that.
    let waited = std::time::Instant::now();
    while pool_threads() > most && waited.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let grown = pool_threads();
    assert!((1..=most).contains(&grown), "{grown} threads on {cores} cores: {:?}", thread_names());
    let threads_then = thread_names().len();
    for _ in 0..20 {
        assert_eq!(check_files(&files, &options, many), alone);
        assert_eq!(check_files(&files, &options, two), alone);
    }
    assert_eq!(thread_names().len(), threads_then, "{:?}", thread_names());
}
