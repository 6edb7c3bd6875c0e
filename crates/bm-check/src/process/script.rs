//! Check scripts (keepalived's `vrrp_script`): started every interval as keepalived starts them
//! (see `exec`: no shell, their user, a process group of their own, a minimal environment),
//! polled without blocking (their exit seen without reaping them, then handed to the daemon's
//! `Reaper`), and, when they overrun their timeout, handed to the reaper to be stopped with
//! everything they started (keepalived: "Scripts will be sent SIGTERM ... if ... it has run for
//! too long"): SIGTERM, then SIGKILL a second later; an overrun counts as a failure.

use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::exec;
use super::reaper::{self, Reaper};
use super::security::ResolvedScript;
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

use reaper::CHILD_POLL;

/// One script's schedule and its running child: started every interval, never waited for.
pub struct ScriptRunner {
    /// The script it runs.
    pub script: CheckScript,
    program: ResolvedScript,
    next_run: Instant,
    running: Option<(Child, Instant)>,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunResult {
    /// It exited with status 0 within its timeout.
    Passed,
    /// It did not, and why.
    Failed(CheckFailure),
}

/// Why a run of a check script counts as failed (what a daemon reports with the check's name).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckFailure {
    /// It exited with a status other than 0.
    #[error("exited with exit status: {code}")]
    Exited {
        /// Its exit status.
        code: i32,
    },
    /// A signal ended it.
    #[error("exited with signal: {signal}")]
    Killed {
        /// The signal's number.
        signal: i32,
    },
    /// It ran longer than its timeout, and was stopped with everything it started.
    #[error("timed out after {timeout:?}")]
    TimedOut {
        /// The timeout, in milliseconds.
        #[serde(serialize_with = "millis")]
        timeout: Duration,
    },
    /// It could not be started (its user, its file, the system).
    #[error("cannot start it: {error}")]
    Start {
        /// The system's message.
        error: String,
    },
    /// Whether it exited could not be read (it was reaped elsewhere).
    #[error("cannot wait for it: {error}")]
    Wait {
        /// The system's message.
        error: String,
    },
}

impl CheckFailure {
    /// The failure an unsuccessful exit status is.
    fn of(status: ExitStatus) -> CheckFailure {
        match status.code() {
            Some(code) => CheckFailure::Exited { code },
            // `waitid(WEXITED)` reports exits and deaths by signal only, so a status without a
            // code has a signal; 0 would be the impossible rest.
            None => CheckFailure::Killed { signal: status.signal().unwrap_or(0) },
        }
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl ScriptRunner {
    /// A runner whose first run is due at `now`; `program` is the script resolved by
    /// [`resolve_script`](super::resolve_script) (its path and credentials).
    pub fn new(script: CheckScript, program: ResolvedScript, now: Instant) -> ScriptRunner {
        ScriptRunner { script, program, next_run: now, running: None }
    }

    /// Starts a due run and collects a finished (or overrun) one, handing its child to
    /// `reaper`.
    pub fn poll(&mut self, now: Instant, reaper: &mut Reaper) -> Option<RunResult> {
        if let Some((child, deadline)) = &self.running {
            let deadline = *deadline;
            let outcome = reaper::exited(child);
            if matches!(outcome, Ok(None)) && now < deadline {
                return None;
            }
            let (child, _) = self.running.take()?;
            return Some(match outcome {
                Ok(Some(status)) => {
                    reaper.finished(child, now);
                    if status.success() { RunResult::Passed } else { RunResult::Failed(CheckFailure::of(status)) }
                }
                Ok(None) => {
                    reaper.stop(child, now);
                    RunResult::Failed(CheckFailure::TimedOut { timeout: self.script.timeout })
                }
                Err(e) => {
                    reaper.stop(child, now);
                    RunResult::Failed(CheckFailure::Wait { error: e.to_string() })
                }
            });
        }
        if now >= self.next_run {
            self.next_run = now + self.script.interval.max(Duration::from_millis(1));
            match exec::spawn(&self.program, &[]) {
                Ok(child) => self.running = Some((child, now + self.script.timeout)),
                Err(e) => return Some(RunResult::Failed(CheckFailure::Start { error: e.to_string() })),
            }
        }
        None
    }

    /// When [`ScriptRunner::poll`] must run next.
    pub fn next_wake(&self, now: Instant) -> Instant {
        match &self.running {
            Some((_, deadline)) => (now + CHILD_POLL).min(*deadline),
            None => self.next_run,
        }
    }

    /// Hands a running child to `reaper` to be stopped with whatever it started (a reload
    /// dropping the script, the daemon's exit). Returns at once.
    pub fn stop(&mut self, reaper: &mut Reaper, now: Instant) {
        if let Some((child, _)) = self.running.take() {
            reaper.stop(child, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::security::{ScriptPolicy, resolve_script};

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
        let mut reaper = Reaper::default();
        loop {
            let now = Instant::now();
            if let Some(result) = r.poll(now, &mut reaper) {
                return (result, start.elapsed());
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the runner never finished");
            std::thread::sleep(r.next_wake(now).saturating_duration_since(Instant::now()));
        }
    }

    /// The sentences logs have always shown, and the JSON of each kind.
    #[test]
    fn failures_read_as_before() {
        assert_eq!(CheckFailure::Exited { code: 3 }.to_string(), "exited with exit status: 3");
        let timeout = CheckFailure::TimedOut { timeout: Duration::from_millis(1500) };
        assert_eq!(timeout.to_string(), "timed out after 1.5s");
        assert_eq!(serde_json::to_string(&timeout).unwrap(), r#"{"kind":"timed_out","timeout":1500}"#);
        assert_eq!(
            serde_json::to_string(&CheckFailure::Killed { signal: 9 }).unwrap(),
            r#"{"kind":"killed","signal":9}"#
        );
    }

    #[test]
    fn exit_status_decides() {
        assert_eq!(run_once("/bin/sh -c 'exit 0'", Duration::from_secs(5)).0, RunResult::Passed);
        let (r, _) = run_once("/bin/sh -c 'exit 3'", Duration::from_secs(5));
        assert_eq!(r, RunResult::Failed(CheckFailure::Exited { code: 3 }));
        let (r, _) = run_once("/bin/sh -c 'kill -9 $$'", Duration::from_secs(5));
        assert_eq!(r, RunResult::Failed(CheckFailure::Killed { signal: 9 }));
        // Words, no shell: the `;` is an argument of `test`, which fails.
        assert!(matches!(run_once("test -e / ; true", Duration::from_secs(5)).0, RunResult::Failed(_)));
    }

    /// An overrun fails at once; the script, which ignores SIGTERM, and the child it started are
    /// gone within the grace: no process outlives its timeout by more than a second.
    #[test]
    fn overrun_is_stopped_with_everything_it_started_and_fails() {
        let dir = std::env::temp_dir().join(format!("bm-check-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pidfile = dir.join("grandchild");
        let cmd = format!("/bin/sh -c \"trap '' TERM; sleep 30 & echo \\$! > {}; wait\"", pidfile.display());
        let mut r = runner(&cmd, Duration::from_millis(200));
        let mut reaper = Reaper::default();
        let start = Instant::now();
        let result = loop {
            if let Some(result) = r.poll(Instant::now(), &mut reaper) {
                break result;
            }
            std::thread::sleep(CHILD_POLL);
        };
        assert_eq!(result, RunResult::Failed(CheckFailure::TimedOut { timeout: Duration::from_millis(200) }));
        assert!(start.elapsed() < Duration::from_secs(2), "the loop waited for the script");
        let grandchild: u32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        assert_eq!(reaper.len(), 1, "being stopped");
        while !reaper.is_empty() {
            assert!(start.elapsed() < Duration::from_secs(3));
            reaper.poll(Instant::now());
            std::thread::sleep(CHILD_POLL);
        }
        let alive = std::fs::read_to_string(format!("/proc/{grandchild}/stat")).is_ok_and(|s| !s.contains(") Z "));
        assert!(!alive, "the sleep the script started is killed too");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Stopping a runner (a reload dropping its script) hands its child to the reaper and
    /// returns at once, even when the script ignores SIGTERM.
    #[test]
    fn stopping_a_runner_does_not_wait() {
        let mut r = runner("/bin/sh -c \"trap '' TERM; sleep 30\"", Duration::from_secs(60));
        let mut reaper = Reaper::default();
        assert_eq!(r.poll(Instant::now(), &mut reaper), None, "started");
        let start = Instant::now();
        r.stop(&mut reaper, start);
        assert!(start.elapsed() < Duration::from_millis(100), "stop() waited for the script");
        assert_eq!(reaper.len(), 1);
        reaper.finish();
        assert_eq!(reaper.len(), 0);
    }
}
