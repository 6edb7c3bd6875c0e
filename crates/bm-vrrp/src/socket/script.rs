//! Check scripts (keepalived's `vrrp_script`): `/bin/sh -c COMMAND` every interval as a child
//! in its own process group, polled with `try_wait` so the loop never blocks, and killed
//! (the whole group) when it overruns its timeout, which counts as a failure as in keepalived.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::sys;

/// A check script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckScript {
    /// The name instances track it by.
    pub name: String,
    /// The shell command; exit status 0 means passing.
    pub command: String,
    /// Time between the starts of two runs.
    pub interval: Duration,
    /// A run still going after this long is killed and counts as failed.
    pub timeout: Duration,
}

/// How often a running script is polled for its exit.
pub(crate) const CHILD_POLL: Duration = Duration::from_millis(5);

/// One script's schedule and its running child.
pub(crate) struct ScriptRunner {
    pub(crate) script: CheckScript,
    next_run: Instant,
    running: Option<(Child, Instant)>,
}

/// The outcome of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RunResult {
    Passed,
    Failed(String),
}

impl ScriptRunner {
    pub(crate) fn new(script: CheckScript, now: Instant) -> ScriptRunner {
        ScriptRunner { script, next_run: now, running: None }
    }

    /// Starts a due run and collects a finished (or overrun) one.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<RunResult> {
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
                    let _ = sys::kill_process_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    self.running = None;
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
            match self.spawn() {
                Ok(child) => self.running = Some((child, now + self.script.timeout)),
                Err(e) => return Some(RunResult::Failed(format!("cannot start it: {e}"))),
            }
        }
        None
    }

    fn spawn(&self) -> io::Result<Child> {
        Command::new("/bin/sh")
            .arg("-c")
            .arg(&self.script.command)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
    }

    /// When [`ScriptRunner::poll`] must run next.
    pub(crate) fn next_wake(&self, now: Instant) -> Instant {
        match &self.running {
            Some((_, deadline)) => (now + CHILD_POLL).min(*deadline),
            None => self.next_run,
        }
    }

    /// Kills a running child (at shutdown).
    pub(crate) fn stop(&mut self) {
        if let Some((mut child, _)) = self.running.take() {
            let _ = sys::kill_process_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_once(command: &str, timeout: Duration) -> (RunResult, Duration) {
        let script =
            CheckScript { name: "t".into(), command: command.into(), interval: Duration::from_secs(60), timeout };
        let start = Instant::now();
        let mut r = ScriptRunner::new(script, start);
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
        assert_eq!(run_once("exit 0", Duration::from_secs(5)).0, RunResult::Passed);
        assert!(matches!(run_once("exit 3", Duration::from_secs(5)).0, RunResult::Failed(m) if m.contains('3')));
    }

    #[test]
    fn overrun_is_killed_and_fails() {
        let (result, took) = run_once("sleep 30", Duration::from_millis(100));
        assert!(matches!(&result, RunResult::Failed(m) if m.contains("timed out")), "{result:?}");
        assert!(took < Duration::from_secs(5), "the loop waited for the script: {took:?}");
    }
}
