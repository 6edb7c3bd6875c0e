//! Notify scripts (keepalived's `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`
//! and `notify`): started on each transition as keepalived starts them (see `exec`: no shell,
//! their user, a process group of their own, a minimal environment, SIGTERM if the daemon
//! dies), never waited for by the loop. keepalived gives them no timeout and leaves them
//! running when it stops; bmnet stops one that runs longer than its timeout, and at exit gives
//! the running ones (`notify_stop` among them) a moment, then stops them with everything they
//! started. Finished and stopped ones go to the daemon's `Reaper`.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::State;
use bm_check::process::ResolvedScript;
use bm_check::process::spawn;
use bm_check::process::{CHILD_POLL, Reaper, exited};

/// An instance's notify scripts, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NotifyPrograms {
    pub(crate) master: Option<ResolvedScript>,
    pub(crate) backup: Option<ResolvedScript>,
    pub(crate) fault: Option<ResolvedScript>,
    pub(crate) stop: Option<ResolvedScript>,
    pub(crate) any: Option<ResolvedScript>,
}

/// keepalived's name of a state in notify arguments; `Initialize` is only reached by stopping.
fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

struct Running {
    child: Child,
    command: String,
    deadline: Instant,
}

/// The notify scripts' children.
pub(crate) struct Notifier {
    timeout: Duration,
    running: Vec<Running>,
}

impl Notifier {
    pub(crate) fn new(timeout: Duration) -> Notifier {
        Notifier { timeout, running: Vec::new() }
    }

    pub(crate) fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Starts the scripts for `instance` entering `to` with `priority`: the state's own script,
    /// then `notify` with keepalived's arguments `INSTANCE <name> <STATE> <priority>` after its
    /// own. Returns what could not be started.
    pub(crate) fn fire(&mut self, notify: &NotifyPrograms, instance: &str, to: State, priority: u8) -> Vec<String> {
        let own = match to {
            State::Master => &notify.master,
            State::Backup => &notify.backup,
            State::Fault => &notify.fault,
            State::Initialize => &notify.stop,
        };
        let mut errors = Vec::new();
        let priority = priority.to_string();
        let runs = [
            own.as_ref().map(|p| (p, Vec::new())),
            notify.any.as_ref().map(|p| (p, vec!["INSTANCE", instance, state_word(to), priority.as_str()])),
        ];
        let now = Instant::now();
        for (program, args) in runs.into_iter().flatten() {
            let command = program.path.display().to_string();
            match spawn(program, &args) {
                Ok(child) => self.running.push(Running { child, command, deadline: now + self.timeout }),
                Err(e) => errors.push(format!("notify script {command} for {}: {e}", state_word(to))),
            }
        }
        errors
    }

    /// Hands the scripts that have finished to `reaper`, and those past their timeout to be
    /// stopped; returns what was stopped. Never blocks.
    pub(crate) fn reap(&mut self, reaper: &mut Reaper) -> Vec<String> {
        let now = Instant::now();
        let mut overdue = Vec::new();
        for r in std::mem::take(&mut self.running) {
            match exited(&r.child) {
                Ok(Some(_)) => reaper.finished(r.child, now),
                Ok(None) if now < r.deadline => self.running.push(r),
                Ok(None) => {
                    overdue.push(format!("notify script {} ran longer than {:?}: stopped", r.command, self.timeout));
                    reaper.stop(r.child, now);
                }
                Err(_) => reaper.stop(r.child, now),
            }
        }
        overdue
    }

    /// When [`Notifier::reap`] should run next: the earliest deadline, or soon while scripts run.
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        let deadline = self.running.iter().map(|r| r.deadline).min()?;
        // A script's exit is looked at often enough to hand it on; no hurry beyond that.
        Some(deadline.min(now + Duration::from_millis(100)))
    }

    /// At shutdown: gives the running scripts (`notify_stop` among them) up to `within` to
    /// finish, then hands the rest to `reaper` to be stopped (SIGTERM, SIGKILL a second later)
    /// with whatever they started; [`Reaper::finish`] then waits for them.
    pub(crate) fn finish(&mut self, within: Duration, reaper: &mut Reaper) {
        let deadline = Instant::now() + within;
        while !self.running.is_empty() && Instant::now() < deadline {
            let _ = self.reap(reaper);
            reaper.poll(Instant::now());
            std::thread::sleep(CHILD_POLL);
        }
        let now = Instant::now();
        for r in std::mem::take(&mut self.running) {
            reaper.stop(r.child, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScriptUser;
    use bm_check::process::{ScriptPolicy, resolve_script};

    fn program(words: &[&str]) -> ResolvedScript {
        let policy =
            ScriptPolicy { security: false, script_user: Some(ScriptUser { user: "root".into(), group: None }) };
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        resolve_script(&words, None, &policy).unwrap()
    }

    #[test]
    fn state_scripts_and_the_generic_one_get_keepalived_arguments() {
        let dir = std::env::temp_dir().join(format!("bm-vrrp-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (own, any) = (dir.join("own"), dir.join("any"));
        let append = |file: &std::path::Path, what: &str| {
            program(&["/bin/sh", "-c", &format!("echo {what} >> {}", file.display())])
        };
        let notify = NotifyPrograms {
            master: Some(append(&own, "master")),
            stop: Some(append(&own, "stop")),
            any: Some(program(&["/bin/sh", "-c", &format!("printf '%s|' \"$@\" >> {}", any.display()), "sh"])),
            ..NotifyPrograms::default()
        };
        let mut n = Notifier::new(Duration::from_secs(30));
        let mut reaper = Reaper::default();
        for (state, priority) in [(State::Master, 150), (State::Backup, 40), (State::Initialize, 40)] {
            assert!(n.fire(&notify, "VI 1; rm -rf /", state, priority).is_empty());
            n.finish(Duration::from_secs(5), &mut reaper);
            reaper.finish();
        }
        assert_eq!(std::fs::read_to_string(&own).unwrap(), "master\nstop\n");
        assert_eq!(
            std::fs::read_to_string(&any).unwrap(),
            "INSTANCE|VI 1; rm -rf /|MASTER|150|INSTANCE|VI 1; rm -rf /|BACKUP|40|INSTANCE|VI 1; rm -rf /|STOP|40|"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A notify script that hangs is stopped at its timeout, and at exit nothing is left: the
    /// processes are gone from /proc.
    #[test]
    fn hanging_scripts_are_stopped() {
        let gone = |pid: u32| !std::path::Path::new(&format!("/proc/{pid}")).exists();
        let mut n = Notifier::new(Duration::from_millis(100));
        let mut reaper = Reaper::default();
        let hang = NotifyPrograms { master: Some(program(&["/bin/sleep", "30"])), ..NotifyPrograms::default() };
        n.fire(&hang, "VI_1", State::Master, 100);
        let first = n.running[0].child.id();
        let start = Instant::now();
        let stopped = loop {
            let s = n.reap(&mut reaper);
            if !s.is_empty() {
                break s;
            }
            assert!(start.elapsed() < Duration::from_secs(5));
            std::thread::sleep(CHILD_POLL);
        };
        assert!(stopped[0].contains("ran longer than 100ms"), "{stopped:?}");
        while !gone(first) {
            assert!(start.elapsed() < Duration::from_secs(5), "the overdue script is still there");
            reaper.poll(Instant::now());
            std::thread::sleep(CHILD_POLL);
        }
        n.fire(&hang, "VI_1", State::Master, 100);
        let second = n.running[0].child.id();
        let started = Instant::now();
        n.finish(Duration::from_millis(50), &mut reaper);
        reaper.finish();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(gone(second), "the script running at exit is gone");
    }
}
