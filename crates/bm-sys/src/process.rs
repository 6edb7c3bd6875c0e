//! Child processes beyond `std::process`: signals to a whole process group, a child's exit seen
//! without reaping it (`waitid(WNOWAIT)`), the process's effective credentials, and what a
//! child does between fork and exec to run as another user with a parent-death signal,
//! failing closed.
//!
//! These are the pieces a daemon needs to run scripts as keepalived runs them (bm-vrrp's socket
//! backend); when and why to signal, and whom to run as, is the caller's.

use std::io;
use std::mem;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

/// A signal this module sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGTERM`: asks to end.
    Term,
    /// `SIGKILL`: ends.
    Kill,
}

impl Signal {
    /// Its number on Linux.
    pub fn number(self) -> i32 {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

/// Why a process group could not be signalled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// 0 and 1 would signal our own group and every process (`kill(0)`, `kill(-1)`), and an id
    /// above `pid_t` is none: refused before any system call.
    #[error("{0} is not the process group of a child")]
    NotAGroup(u32),
    /// `kill(2)` failed (`ESRCH`: the group is empty; `EPERM`: not ours to signal).
    #[error("signalling process group {pgid}: {source}")]
    Kill {
        /// The group.
        pgid: u32,
        /// The system error.
        #[source]
        source: io::Error,
    },
}

/// Sends `signal` to every process of process group `pgid` (`kill(-pgid, signal)`).
///
/// A group id is reused once its leader is reaped and its last member gone: signal a group
/// only while its leader is a child not yet reaped ([`exited_unreaped`] looks without reaping).
pub fn signal_group(pgid: u32, signal: Signal) -> Result<(), GroupError> {
    let group = libc::pid_t::try_from(pgid).ok().filter(|&g| g > 1).ok_or(GroupError::NotAGroup(pgid))?;
    // SAFETY: kill(2) takes numbers and no pointers; `group` > 1 was checked above, so this
    // never signals every process (-1) or our own group (0).
    let r = unsafe { libc::kill(-group, signal.number()) };
    if r < 0 { Err(GroupError::Kill { pgid, source: io::Error::last_os_error() }) } else { Ok(()) }
}

/// How a child ended, as `waitpid(2)` encodes it (what `ExitStatusExt::from_raw` takes).
pub type WaitStatus = i32;

/// Whether the child `pid` has exited, without reaping it (`waitid(P_PID, pid, WEXITED |
/// WNOHANG | WNOWAIT)`): its wait status if it has. Its pid, and so its process group's id,
/// stays taken until it is reaped. An error (`ECHILD`) means it is not an unreaped child of
/// ours.
pub fn exited_unreaped(pid: u32) -> io::Result<Option<WaitStatus>> {
    let id = libc::id_t::from(pid);
    // SAFETY: siginfo_t is plain data; all-zero is a valid value ("no child changed state").
    let mut info: libc::siginfo_t = unsafe { mem::zeroed() };
    // SAFETY: `info` is a live, exclusively borrowed siginfo_t for the call.
    let r = unsafe { libc::waitid(libc::P_PID, id, &raw mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: waitid filled `info` for SIGCHLD (or left it zeroed); si_pid and si_status are
    // the fields of that union member, and a zero si_pid means nothing changed.
    let (child, status) = unsafe { (info.si_pid(), info.si_status()) };
    if child == 0 {
        return Ok(None);
    }
    Ok(Some(match info.si_code {
        libc::CLD_EXITED => (status & 0xff) << 8,
        libc::CLD_DUMPED => (status & 0x7f) | 0x80,
        _ => status & 0x7f,
    }))
}

/// A uid and a gid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Credentials {
    /// The user id.
    pub uid: u32,
    /// The group id.
    pub gid: u32,
}

/// This process's effective uid and gid (`geteuid(2)`, `getegid(2)`).
pub fn effective() -> Credentials {
    // SAFETY: geteuid(2) and getegid(2) have no preconditions and cannot fail.
    unsafe { Credentials { uid: libc::geteuid(), gid: libc::getegid() } }
}

/// Makes the child `cmd` spawns run as `credentials` (`None`: as this process) and get
/// `parent_death` when the thread that spawns it dies, failing closed: the child is not
/// executed, and `spawn` returns the error, if any step fails.
///
/// Between fork and exec the child calls, in this order: `setgroups(1, [gid])`, so that the
/// group asked for is its only one (std's `Command::uid`/`gid` ignore `EPERM` from setgroups
/// and clear the supplementary groups only when the uid changes); `setgid`; `setuid`;
/// `prctl(PR_SET_PDEATHSIG)` (after the credentials, whose change clears it); and checks that
/// the parent did not die meanwhile (the signal would then never come: `ESRCH`).
///
/// Changing credentials needs `CAP_SETUID` and `CAP_SETGID`; a process without them passes
/// `None` to run a child as itself.
pub fn exec_as(cmd: &mut Command, credentials: Option<Credentials>, parent_death: Signal) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    let signal = parent_death.number() as libc::c_ulong;
    let hook = move || {
        if let Some(Credentials { uid, gid }) = credentials {
            let groups: [libc::gid_t; 1] = [gid];
            // SAFETY: `groups` is a live array of one gid_t, its length passed.
            if unsafe { libc::setgroups(1, groups.as_ptr()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: setgid(2) takes a number and no pointers.
            if unsafe { libc::setgid(gid) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: setuid(2) takes a number and no pointers.
            if unsafe { libc::setuid(uid) } != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and no pointers.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: getppid(2) has no preconditions.
        if unsafe { libc::getppid() } != parent {
            // The parent died between fork and prctl: the signal would never come.
            return Err(io::Error::from_raw_os_error(libc::ESRCH));
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec and calls only setgroups(2),
    // setgid(2), setuid(2), prctl(2) and getppid(2), all async-signal-safe (std's own pre-exec
    // code calls the first three there too); it allocates nothing (the errors are raw os
    // errors, and the group array lives on the stack).
    unsafe { cmd.pre_exec(hook) };
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt as _;
    use std::process::ExitStatus;
    use std::time::{Duration, Instant};

    use super::*;

    #[allow(clippy::disallowed_methods)] // Polls a real child.
    fn wait_exit(pid: u32) -> WaitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = exited_unreaped(pid).unwrap() {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the child never exited");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A child's exit is seen without reaping it, as often as asked; its group is signalled
    /// until it is reaped.
    #[test]
    fn exits_are_seen_without_reaping() {
        let mut child = Command::new("/bin/sh").args(["-c", "exit 3"]).process_group(0).spawn().unwrap();
        let status = wait_exit(child.id());
        assert_eq!(ExitStatus::from_raw(status).code(), Some(3));
        assert_eq!(exited_unreaped(child.id()).unwrap(), Some(status), "still unreaped");
        assert_eq!(child.wait().unwrap().code(), Some(3));
        assert!(exited_unreaped(child.id()).is_err(), "reaped: no child of ours any more");
    }

    #[test]
    fn groups_are_signalled_whole() {
        let mut child = Command::new("/bin/sh").args(["-c", "sleep 30 & wait"]).process_group(0).spawn().unwrap();
        assert_eq!(exited_unreaped(child.id()).unwrap(), None, "running");
        signal_group(child.id(), Signal::Kill).unwrap();
        assert_eq!(ExitStatus::from_raw(wait_exit(child.id())).signal(), Some(libc::SIGKILL));
        child.wait().unwrap();
        assert!(matches!(signal_group(0, Signal::Term), Err(GroupError::NotAGroup(0))));
        assert!(matches!(signal_group(1, Signal::Term), Err(GroupError::NotAGroup(1))));
        assert!(matches!(signal_group(u32::MAX, Signal::Term), Err(GroupError::NotAGroup(_))));
    }

    /// The child runs with the credentials asked for, its group as its only one; without
    /// credentials, with ours. (bm-vrrp's script tests read the parent-death signal back.)
    #[test]
    fn children_run_as_asked() {
        let run = |credentials| {
            let mut cmd = Command::new("/bin/sh");
            cmd.args(["-c", "echo $(id -u) $(id -g) $(id -G)"]);
            exec_as(&mut cmd, credentials, Signal::Term);
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{out:?}");
            String::from_utf8_lossy(&out.stdout).trim().to_string()
        };
        let ours = effective();
        if ours.uid == 0 {
            assert_eq!(run(Some(Credentials { uid: 65534, gid: 1 })), "65534 1 1");
        }
        let shown = run(None);
        assert!(shown.starts_with(&format!("{} {}", ours.uid, ours.gid)), "{shown}");
    }
}
