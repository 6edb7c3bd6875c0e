//! The threads that help [`check_files`](super::check_files): a pool made by the first check
//! that wants helpers, grown when a check wants more, and kept, idle, between checks for the
//! life of the process.
//!
//! Why a pool: a thread spawned per check cost this machine kind (two cores under KVM, where
//! `clone` is slow) about 0.1 ms of the calling thread's time and 0.2 ms before it checked
//! anything, 3% of a 10,000-file check; a waiting pool thread starts in a third of that.
//!
//! Why it grows: one thread per core made up front would cost a 128-core node over a hundred
//! thread starts for a directory of a few chunks. A pool has the helpers its first check wants
//! (at most one fewer than the cores), and is replaced by one at least twice its size when a
//! check wants more: a process starts at most about twice the threads it ends up with.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use rayon_core::{ThreadPool, ThreadPoolBuilder};

/// Threads to help a check that wants `wanted` of them: a pool of at least that many, or of
/// one fewer than the machine's cores (at least one) if that is fewer. `None` when no thread
/// can be made, or in the child of a `fork`: the pool's threads are its parent's, and a check
/// there would wait for them forever (the check then runs on the calling thread alone).
pub(super) fn helpers(wanted: usize) -> Option<Arc<ThreadPool>> {
    static POOL: Mutex<Option<Arc<ThreadPool>>> = Mutex::new(None);
    // The process that has used the pool (0 before any), set before the lock is released so
    // that a child forked at any time after sees its parent's, and never takes a lock a thread
    // of its parent may have held at the fork.
    static OWNER: AtomicU32 = AtomicU32::new(0);
    let pid = std::process::id();
    if !usable_by(OWNER.load(Ordering::Acquire), pid) {
        return None;
    }
    let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
    OWNER.store(pid, Ordering::Release);
    grown(&mut pool, wanted, most())
}

/// Whether a process `pid` may use a pool that process `owner` used (0: none did).
fn usable_by(owner: u32, pid: u32) -> bool {
    owner == 0 || owner == pid
}

/// The most helpers: one fewer than the machine's cores, at least one (two threads on one
/// core still check a set as one does).
fn most() -> usize {
    static MOST: OnceLock<usize> = OnceLock::new();
    *MOST.get_or_init(|| std::thread::available_parallelism().map_or(1, NonZeroUsize::get).saturating_sub(1).max(1))
}

/// The pool in `slot`, first made or replaced by a bigger one if it has fewer than `wanted`
/// threads (at most `most`); the old one stays if a new one cannot be made.
fn grown(slot: &mut Option<Arc<ThreadPool>>, wanted: usize, most: usize) -> Option<Arc<ThreadPool>> {
    let wanted = wanted.clamp(1, most.max(1));
    let have = slot.as_ref().map_or(0, |pool| pool.current_num_threads());
    if have < wanted {
        let size = wanted.max(2 * have).min(most.max(1));
        let made = ThreadPoolBuilder::new().num_threads(size).thread_name(|i| format!("nmconn-check-{i}")).build();
        if let Ok(pool) = made {
            // A check still running on the old pool keeps it until it is done; its threads
            // then end.
            *slot = Some(Arc::new(pool));
        }
    }
    slot.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made with what the first check wants, doubled when a check wants more, never past the
    /// most, never shrunk.
    #[test]
    fn the_pool_grows_by_doubling_up_to_the_cores() {
        let mut slot = None;
        let mut sizes = Vec::new();
        for wanted in [1, 1, 3, 4, 2, 7, 40, 1] {
            sizes.push(grown(&mut slot, wanted, 8).expect("threads can be made here").current_num_threads());
        }
        assert_eq!(sizes, [1, 1, 3, 6, 6, 8, 8, 8]);
        let mut slot = None;
        assert_eq!(grown(&mut slot, 5, 1).map(|p| p.current_num_threads()), Some(1), "one core: one helper");
        assert_eq!(grown(&mut slot, 0, 0).map(|p| p.current_num_threads()), Some(1));
    }

    /// The pool serves the process that used it first, and not the child of a `fork` (which
    /// has none of its threads). A real `fork` needs `unsafe`, which this crate forbids: the
    /// decision is tested here, the pool's reuse in `tests/check_files_pool.rs`.
    #[test]
    fn a_forked_child_checks_alone() {
        assert!(usable_by(0, 4242), "no pool yet");
        assert!(usable_by(4242, 4242));
        assert!(!usable_by(4242, 4243), "a child of 4242");
        assert!(helpers(1).is_some());
    }
}
