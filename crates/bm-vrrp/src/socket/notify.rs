//! Notify scripts (keepalived's `notify_master`, `notify_backup`, `notify_fault`, `notify_stop`
//! and `notify`): started on each transition as `/bin/sh -c COMMAND` in a process group of their
//! own, and never waited for by the loop (keepalived does not wait either); finished ones are
//! reaped as the loop goes round.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Notify, State};

/// keepalived's name of a state in notify arguments; `Initialize` is only reached by stopping.
fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}

/// The notify scripts' children.
#[derive(Default)]
pub(crate) struct Notifier {
    children: Vec<Child>,
}

impl Notifier {
    /// Starts the scripts for `instance` entering `to` with `priority`: the state's own script,
    /// then `notify` with keepalived's arguments `INSTANCE <name> <STATE> <priority>`. Returns
    /// what could not be started.
    pub(crate) fn fire(&mut self, notify: &Notify, instance: &str, to: State, priority: u8) -> Vec<String> {
        let own = match to {
            State::Master => &notify.master,
            State::Backup => &notify.backup,
            State::Fault => &notify.fault,
            State::Initialize => &notify.stop,
        };
        let mut errors = Vec::new();
        let priority = priority.to_string();
        let runs = [
            own.as_deref().map(|cmd| (cmd.to_string(), Vec::new())),
            notify.any.as_deref().map(|cmd| {
                // The arguments go through "$@", so an instance name is never re-split by the shell.
                (format!("{cmd} \"$@\""), vec!["INSTANCE", instance, state_word(to), priority.as_str()])
            }),
        ];
        for (command, args) in runs.into_iter().flatten() {
            match spawn(&command, &args) {
                Ok(child) => self.children.push(child),
                Err(e) => errors.push(format!("notify script {command:?} for {}: {e}", state_word(to))),
            }
        }
        errors
    }

    /// Collects the scripts that have finished.
    pub(crate) fn reap(&mut self) {
        self.children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_)) | Err(_)));
    }

    /// At shutdown: gives the running scripts (`notify_stop` among them) up to `within` to
    /// finish, and leaves the others running on their own.
    pub(crate) fn finish(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.children.is_empty() && Instant::now() < deadline {
            self.reap();
            std::thread::sleep(Duration::from_millis(5));
        }
        self.children.clear();
    }
}

fn spawn(command: &str, args: &[&str]) -> io::Result<Child> {
    Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .arg("sh")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_scripts_and_the_generic_one_get_keepalived_arguments() {
        let dir = std::env::temp_dir().join(format!("bm-vrrp-notify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (own, any) = (dir.join("own"), dir.join("any"));
        let notify = Notify {
            master: Some(format!("echo master >> {}", own.display())),
            backup: None,
            fault: None,
            stop: Some(format!("echo stop >> {}", own.display())),
            any: Some(format!("printf '%s|' >> {}", any.display())),
        };
        let mut n = Notifier::default();
        assert!(n.fire(&notify, "VI 1; rm -rf /", State::Master, 150).is_empty());
        n.finish(Duration::from_secs(5));
        assert!(n.fire(&notify, "VI 1; rm -rf /", State::Backup, 40).is_empty());
        n.finish(Duration::from_secs(5));
        assert!(n.fire(&notify, "VI 1; rm -rf /", State::Initialize, 40).is_empty());
        n.finish(Duration::from_secs(5));
        assert_eq!(std::fs::read_to_string(&own).unwrap(), "master\nstop\n");
        assert_eq!(
            std::fs::read_to_string(&any).unwrap(),
            "INSTANCE|VI 1; rm -rf /|MASTER|150|INSTANCE|VI 1; rm -rf /|BACKUP|40|INSTANCE|VI 1; rm -rf /|STOP|40|"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
