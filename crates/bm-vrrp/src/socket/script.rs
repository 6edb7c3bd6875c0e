//! Check scripts (keepalived's `vrrp_script`): started every interval as keepalived starts them
//! (see `exec`: no shell, their user, a process group of their own, a minimal environment),
//! polled with `try_wait` so the loop never blocks, and, when they overrun their timeout, sent
//! SIGTERM with everything they started (keepalived: "Scripts will be sent SIGTERM ... if ...
//! it has run for too long"), then SIGKILL a second later; an overrun counts as a failure.

use std::process::Child;
use std::time::{Duration, Instant};

use super::exec;
use super::security::ResolvedScript;
use super::sys;
use crate::{ScriptUser, split_words};

/// A check script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckScript {
    /// The name instances track it by.
    pub name: String,
    /// The program and its arguments (keepalived's word splitting of the command,
    /// [`split_words`]); run without a shell, exit status 0 meaning passing.
    pub argv: Vec<String>,
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// A run still going after this long is stopped and counts as failed.
    pub timeout: Duration,
    /// Who runs it (default: the daemon's `script_user`, else `keepalived_script`, else root).
    pub user: Option<ScriptUser>,
}

impl CheckScript {
    /// A script from a command line, split into words as keepalived splits a `script`.
    pub fn from_command(
        name: &str,
        command: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<CheckScript, String> {
        let argv = split_words(command)?;
        if argv.is_empty() {
            return Err(format!("check {name}: an empty command"));
        }
        Ok(CheckScript { name: name.to_string(), argv, interval, timeout, user: None })
    }
}

/// How often a running script is polled for its exit.
pub(crate) const CHILD_POLL: Duration = Duration::from_millis(5);

/// How long a script that got SIGTERM has before SIGKILL.
pub(crate) const KILL_GRACE: Duration = Duration::from_secs(1);

/// A child that was told to stop and must be reaped: SIGKILL at the deadline if still alive.
pub(crate) struct Stopping {
    child: Child,
    kill_at: Instant,
}

impl Stopping {
    /// Sends SIGTERM to `child`'s process group and keeps it to reap.
    pub(crate) fn terminate(child: Child, now: Instant) -> Stopping {
        let _ = sys::terminate_process_group(child.id());
        Stopping { child, kill_at: now + KILL_GRACE }
    }

    /// Whether it is gone (reaped); SIGKILLs its group once the grace has passed.
    pub(crate) fn reap(&mut self, now: Instant) -> bool {
        match self.child.try_wait() {
            Ok(Some(_)) | Err(_) => {
                // The script is gone; what it started may not be.
                let _ = sys::kill_process_group(self.child.id());
                true
            }
            Ok(None) if now >= self.kill_at => {
                let _ = sys::kill_process_group(self.child.id());
                let _ = self.child.kill();
                let _ = self.child.wait();
                true
            }
            Ok(None) => false,
        }
    }
}

/// One script's schedule and its running child.
pub(crate) struct ScriptRunner {
    pub(crate) script: CheckScript,
    program: ResolvedScript,
    next_run: Instant,
    running: Option<(Child, Instant)>,
    stopping: Vec<Stopping>,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunResult {
    Passed,
    Failed(String),
}

impl ScriptRunner {
    pub(crate) fn new(script: CheckScript, program: ResolvedScript, now: Instant) -> ScriptRunner {
        ScriptRunner { script, program, next_run: now, running: None, stopping: Vec::new() }
    }

    /// Starts a due run and collects a finished (or overrun) one.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<RunResult> {
        self.stopping.retain_mut(|s| !s.reap(now));
        if let Some((child, deadline)) = &mut self.running {
            match child.try_wait() {
                Ok(Some(status)) => {
                    self.running = None;
                    return Some(if status.success() {
                        RunResult::Passed
                    } else {
                        RunResult::Failed(format!("exited with {status}"))
                    });
                }
                Ok(None) if now >= *deadline => {
                    if let Some((child, _)) = self.running.take() {
                        self.stopping.push(Stopping::terminate(child, now));
                    }
                    return Some(RunResult::Failed(format!("timed out after {:?}", self.script.timeout)));
                }
                Ok(None) => return None,
                Err(e) => {
                    self.running = None;
                    return Some(RunResult::Failed(format!("cannot wait for it: {e}")));
                }
            }
        }
        if now >= self.next_run {
            self.next_run = now + self.script.interval.max(Duration::from_millis(1));
            match exec::spawn(&self.program, &[]) {
                Ok(child) => self.running = Some((child, now + self.script.timeout)),
                Err(e) => return Some(RunResult::Failed(format!("cannot start it: {e}"))),
            }
        }
        None
    }

    /// When [`ScriptRunner::poll`] must run next.
    pub(crate) fn next_wake(&self, now: Instant) -> Instant {
        let next = match &self.running {
            Some((_, deadline)) => (now + CHILD_POLL).min(*deadline),
            None => self.next_run,
        };
        if self.stopping.is_empty() { next } else { next.min(now + CHILD_POLL) }
    }

    /// Stops a running child and whatever it started (at shutdown): SIGTERM, then SIGKILL after
    /// [`KILL_GRACE`] at most.
    pub(crate) fn stop(&mut self) {
        let now = Instant::now();
        if let Some((child, _)) = self.running.take() {
            self.stopping.push(Stopping::terminate(child, now));
        }
        while !self.stopping.is_empty() {
            let now = Instant::now();
            self.stopping.retain_mut(|s| !s.reap(now));
            std::thread::sleep(CHILD_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::security::{ScriptPolicy, resolve_script};

    fn runner(command: &str, timeout: Duration) -> ScriptRunner {
        let script = CheckScript::from_command("t", command, Duration::from_secs(60), timeout).unwrap();
        let policy =
            ScriptPolicy { security: false, script_user: Some(ScriptUser { user: "root".into(), group: None }) };
        let program = resolve_script(&script.argv, None, &policy).unwrap();
        ScriptRunner::new(script, program, Instant::now())
    }

    fn run_once(command: &str, timeout: Duration) -> (RunResult, Duration) {
        let start = Instant::now();
        let mut r = runner(command, timeout);
        loop {
            let now = Instant::now();
            if let Some(result) = r.poll(now) {
                return (result, start.elapsed());
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the runner never finished");
            std::thread::sleep(r.next_wake(now).saturating_duration_since(Instant::now()));
        }
    }

    #[test]
    fn exit_status_decides() {
        assert_eq!(run_once("/bin/sh -c 'exit 0'", Duration::from_secs(5)).0, RunResult::Passed);
        let (r, _) = run_once("/bin/sh -c 'exit 3'", Duration::from_secs(5));
        assert!(matches!(&r, RunResult::Failed(m) if m.contains('3')), "{r:?}");
        // Words, no shell: the `;` is an argument of `test`, which fails.
        assert!(matches!(run_once("test -e / ; true", Duration::from_secs(5)).0, RunResult::Failed(_)));
    }

    /// An overrun fails at once; the script, which ignores SIGTERM, and the child it started are
    /// gone within the grace: no process outlives its timeout by more than a second.
    #[test]
    fn overrun_is_stopped_with_everything_it_started_and_fails() {
        let dir = std::env::temp_dir().join(format!("bm-vrrp-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("grandchild");
        let cmd = format!("/bin/sh -c \"trap '' TERM; sleep 30 & echo \\$! > {}; wait\"", pidfile.display());
        let mut r = runner(&cmd, Duration::from_millis(200));
        let start = Instant::now();
        let result = loop {
            if let Some(result) = r.poll(Instant::now()) {
                break result;
            }
            std::thread::sleep(CHILD_POLL);
        };
        assert!(matches!(&result, RunResult::Failed(m) if m.contains("timed out")), "{result:?}");
        assert!(start.elapsed() < Duration::from_secs(2), "the loop waited for the script");
        let grandchild: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        r.stop();
        assert!(start.elapsed() < Duration::from_secs(3));
        let alive = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "the sleep the script started is killed too");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
