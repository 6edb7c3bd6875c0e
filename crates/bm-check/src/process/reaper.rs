//! The daemon's one place for script children that are done with, polled from its loop and
//! never blocking it (only [`Reaper::finish`], at exit, waits). Every script runs in a process
//! group of its own whose id is its pid (`exec`); a process group id can be reused once its
//! leader is reaped and its last member gone, so a group is only ever signalled while its leader
//! is still unreaped (its exit seen with `waitid(WNOWAIT)`): the signal cannot reach anyone
//! else's group.
//!
//! What is guaranteed:
//!
//! - A script stopped (check script over its timeout, notify script over its own, any script
//!   still running at exit, a check script dropped by a reload): SIGTERM to its group, SIGKILL
//!   to the group [`KILL_GRACE`] later if its leader has not exited, and SIGKILL to the group
//!   when its leader exits (what it started goes with it). The loop goes on meanwhile.
//! - A script that exits by itself: reaped at once when nothing else is left in its group.
//!   Otherwise (it left children running in the background, as keepalived lets them run) its
//!   leader is kept unreaped, so the group id stays its own, and reaped once the group is
//!   empty; at the daemon's exit ([`Reaper::finish`]) the group is killed.
//! - Not covered: processes that left the script's group (`setsid`, `setpgid`, a daemon that
//!   detaches itself), and anything still running when the daemon is killed with SIGKILL
//!   (running scripts then get SIGTERM from the kernel, `PR_SET_PDEATHSIG`; their groups do not).

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use bm_sys::process::{self, Signal};

/// How long a script that got SIGTERM has before SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(1);

/// How often a child told to stop is looked at.
pub const CHILD_POLL: Duration = Duration::from_millis(5);

/// How often a finished script's group with members left is looked at.
const LEFTOVER_POLL: Duration = Duration::from_secs(1);

/// The longest [`Reaper::finish`] waits for leaders after SIGKILL (one stuck in the kernel is
/// left behind rather than hang the daemon's exit).
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// Whether `child` has exited, without reaping it: its exit status if it has. Its process group
/// id stays its own until it is reaped.
pub fn exited(child: &Child) -> std::io::Result<Option<ExitStatus>> {
    use std::os::unix::process::ExitStatusExt as _;
    Ok(process::exited_unreaped(child.id())?.map(ExitStatus::from_raw))
}

/// Whether any process other than `leader` is in process group `pgid` (from `/proc`).
fn group_has_others(pgid: u32, leader: u32) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else { return false };
    dir.flatten().filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok())).any(|pid| {
        pid != leader
            && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                // After the command name in parentheses: state, ppid, pgrp.
                .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(2)?.parse().ok()))
                == Some(pgid)
    })
}

enum Phase {
    /// SIGTERM sent to the group; SIGKILL at `kill_at` unless the leader exits first.
    Stopping { kill_at: Instant },
    /// SIGKILL sent to the group; waiting for the leader to exit.
    Killed,
    /// The leader exited by itself with members left in its group; looked at again then.
    Leftover { check_at: Instant },
}

struct Tracked {
    child: Child,
    phase: Phase,
}

impl Tracked {
    fn pgid(&self) -> u32 {
        self.child.id()
    }

    /// Moves on; true when the child is reaped and nothing is left to do.
    fn poll(&mut self, now: Instant) -> bool {
        let leader = self.child.id();
        let gone = match exited(&self.child) {
            Ok(status) => status.is_some(),
            // Not our unreaped child any more (reaped elsewhere, say SIGCHLD ignored): its
            // group id may be anyone's now, so it is never signalled again.
            Err(_) => return true,
        };
        match self.phase {
            Phase::Stopping { .. } | Phase::Killed if gone => {
                // The leader is a zombie: the group id is still its own.
                let _ = process::signal_group(self.pgid(), Signal::Kill);
                self.reap()
            }
            Phase::Stopping { kill_at } if now >= kill_at => {
                let _ = process::signal_group(self.pgid(), Signal::Kill);
                self.phase = Phase::Killed;
                false
            }
            Phase::Stopping { .. } | Phase::Killed => false,
            Phase::Leftover { check_at } if now >= check_at => {
                if group_has_others(self.pgid(), leader) {
                    self.phase = Phase::Leftover { check_at: now + LEFTOVER_POLL };
                    false
                } else {
                    self.reap()
                }
            }
            Phase::Leftover { .. } => false,
        }
    }

    fn reap(&mut self) -> bool {
        // The leader has exited (or waiting for it fails): this does not block.
        let _ = self.child.try_wait();
        true
    }

    fn next_wake(&self, now: Instant) -> Instant {
        match self.phase {
            Phase::Stopping { kill_at } => kill_at.min(now + CHILD_POLL),
            Phase::Killed => now + CHILD_POLL,
            Phase::Leftover { check_at } => check_at,
        }
    }
}

/// Script children the daemon is done with: stopping, or finished with members of their group
/// left (see the module's documentation).
#[derive(Default)]
pub struct Reaper {
    tracked: Vec<Tracked>,
}

impl Reaper {
    /// Stops `child` and what it started: SIGTERM to its group now, SIGKILL after
    /// [`KILL_GRACE`]. Returns at once.
    pub fn stop(&mut self, child: Child, now: Instant) {
        // Unreaped (running, or exited and not waited for): its group id is its own.
        if exited(&child).is_ok() {
            let _ = process::signal_group(child.id(), Signal::Term);
        }
        self.tracked.push(Tracked { child, phase: Phase::Stopping { kill_at: now + KILL_GRACE } });
        self.poll(now);
    }

    /// Takes `child`, whose leader has exited ([`exited`]) and is not reaped: reaped now when
    /// nothing else is in its group, else kept until its group is empty or the daemon exits.
    pub fn finished(&mut self, child: Child, now: Instant) {
        self.tracked.push(Tracked { child, phase: Phase::Leftover { check_at: now } });
        self.poll(now);
    }

    /// Moves every child on (signals, reaps); never blocks.
    pub fn poll(&mut self, now: Instant) {
        self.tracked.retain_mut(|t| !t.poll(now));
    }

    /// When [`Reaper::poll`] should run next.
    pub fn next_wake(&self, now: Instant) -> Option<Instant> {
        self.tracked.iter().map(|t| t.next_wake(now)).min()
    }

    /// Whether it holds no child.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many children it holds.
    pub fn len(&self) -> usize {
        self.tracked.len()
    }

    /// At the daemon's exit: the groups of finished scripts are killed, stopping ones get the
    /// rest of their grace, and every leader is waited for, [`KILL_GRACE`] plus two seconds at
    /// most. Blocks.
    pub fn finish(&mut self) {
        let start = Instant::now();
        for t in &mut self.tracked {
            if let Phase::Leftover { .. } = t.phase {
                let _ = process::signal_group(t.pgid(), Signal::Kill);
                t.phase = Phase::Killed;
            }
        }
        while !self.tracked.is_empty() && start.elapsed() < KILL_GRACE + FINISH_WAIT {
            self.poll(Instant::now());
            if !self.tracked.is_empty() {
                std::thread::sleep(CHILD_POLL);
            }
        }
    }
}

impl Drop for Reaper {
    /// Whatever is still held (the daemon dropped without [`Reaper::finish`]): its groups are
    /// killed, its leaders being unreaped still. They are left to be reaped by whoever inherits
    /// them.
    fn drop(&mut self) {
        for t in &self.tracked {
            let _ = process::signal_group(t.pgid(), Signal::Kill);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Child {
        use std::os::unix::process::CommandExt as _;
        std::process::Command::new("/bin/sh").args(["-c", script]).process_group(0).spawn().unwrap()
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
    }

    fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(CHILD_POLL);
        }
    }

    /// The background child's pid, as the script wrote it.
    fn read_pid(path: &std::path::Path) -> u32 {
        let mut pid = None;
        wait_for("the script wrote its child's pid", || {
            pid = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok());
            pid.is_some()
        });
        pid.unwrap_or_default()
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("bm-check-reaper-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("pid")
    }

    /// Stopping a script that ignores SIGTERM returns at once, with the script still running;
    /// polling kills it and what it started after the grace.
    #[test]
    fn stopping_never_blocks_and_kills_the_group_after_the_grace() {
        let pidfile = scratch("stop");
        let child = sh(&format!("trap '' TERM; sleep 30 & echo $! > {}; wait", pidfile.display()));
        let (leader, grandchild) = (child.id(), read_pid(&pidfile));
        let mut reaper = Reaper::default();
        let start = Instant::now();
        reaper.stop(child, start);
        assert!(start.elapsed() < Duration::from_millis(100), "stop() waited");
        assert!(alive(leader) && alive(grandchild), "still running within the grace");
        assert!(reaper.next_wake(Instant::now()).is_some());
        wait_for("reaped after the grace", || {
            reaper.poll(Instant::now());
            reaper.is_empty()
        });
        assert!(start.elapsed() >= KILL_GRACE, "SIGKILL only after the grace");
        assert!(!std::path::Path::new(&format!("/proc/{leader}")).exists(), "the leader is reaped");
        wait_for("the background child is killed", || !alive(grandchild));
    }

    /// A script that exited by itself leaving a background child: the leader is kept unreaped
    /// (its group id cannot be reused) while the child runs, and the group is killed at exit.
    #[test]
    fn leftovers_of_finished_scripts_are_killed_at_exit() {
        let pidfile = scratch("leftover");
        let child = sh(&format!("sleep 30 & echo $! > {}", pidfile.display()));
        let (leader, background) = (child.id(), read_pid(&pidfile));
        wait_for("the script exits", || exited(&child).ok().flatten().is_some());
        assert!(exited(&child).unwrap().unwrap().success());
        let mut reaper = Reaper::default();
        reaper.finished(child, Instant::now());
        assert_eq!(reaper.len(), 1, "kept: its group has a member");
        assert!(std::path::Path::new(&format!("/proc/{leader}")).exists(), "the leader is not reaped yet");
        assert!(alive(background), "keepalived lets it run, and so does bmnet");
        reaper.finish();
        assert_eq!(reaper.len(), 0);
        wait_for("the background child is killed", || !alive(background));
        assert!(!std::path::Path::new(&format!("/proc/{leader}")).exists(), "the leader is reaped");
        // A script that leaves nothing behind is reaped at once.
        let quick = sh("exit 3");
        wait_for("the script exits", || exited(&quick).ok().flatten().is_some());
        let pid = quick.id();
        reaper.finished(quick, Instant::now());
        assert_eq!(reaper.len(), 0);
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
