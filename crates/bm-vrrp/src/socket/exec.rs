//! Starting a script as keepalived does, and stricter where keepalived is lax: the program
//! `execve`d with its words (no shell), as its user and group, in a process group of its own
//! (so that a timeout or the daemon's exit kills everything it started), with SIGTERM when the
//! daemon dies (`PR_SET_PDEATHSIG`), standard input, output and error on `/dev/null`, and a
//! minimal environment: `PATH` ([`SCRIPT_PATH`]) and nothing else. keepalived 2.2.7 passes its
//! whole environment (checked: a variable set for keepalived reached a notify script), so a
//! script could be steered by whatever the daemon was started with (`LD_PRELOAD`, `IFS`, a
//! proxy); keepalived's later versions drop some of it, bmnet drops all of it.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use super::security::{ResolvedScript, SCRIPT_PATH};
use super::sys;

/// Starts `script` with `extra` arguments after its own.
pub(crate) fn spawn(script: &ResolvedScript, extra: &[&str]) -> io::Result<Child> {
    let mut cmd = Command::new(&script.path);
    cmd.args(&script.argv[1..])
        .args(extra)
        .env_clear()
        .env("PATH", SCRIPT_PATH)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let (uid, gid) = sys::effective_ids();
    if script.gid != gid {
        cmd.gid(script.gid);
    }
    if script.uid != uid {
        // std then clears the supplementary groups, as keepalived 2.2.7 does (setgroups).
        cmd.uid(script.uid);
    }
    sys::die_with_parent(&mut cmd);
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::socket::security::{ScriptPolicy, resolve_script};

    /// What a script sees: its uid, its arguments and an environment of PATH alone, in a process
    /// group of its own.
    #[test]
    fn a_script_runs_as_its_user_with_nothing_but_path() {
        let dir = std::env::temp_dir().join(format!("bm-vrrp-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
        let out = dir.join("seen");
        let words = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            format!("{{ id -u; env; echo \"$@\"; awk '{{print $5}}' /proc/$$/stat; }} > {}", out.display()),
            "sh".into(),
        ];
        let user = crate::ScriptUser { user: "nobody".into(), group: None };
        let policy = ScriptPolicy { security: true, script_user: None };
        let script = resolve_script(&words, Some(&user), &policy).unwrap();
        let mut child = spawn(&script, &["INSTANCE", "VI 1", "MASTER"]).unwrap();
        let pid = child.id();
        let status = child.wait().unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(10));
        let seen = std::fs::read_to_string(&out).unwrap();
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines[0], "65534", "{seen}");
        let env: Vec<&str> = lines.iter().copied().filter(|l| l.contains('=')).collect();
        // The shell adds PWD, SHLVL and _; nothing of the daemon's environment (HOME, the
        // test harness's CARGO_* and RUST_*) gets through.
        let ours = |l: &&str| ["PATH=", "PWD=", "SHLVL=", "_="].iter().any(|p| l.starts_with(p));
        assert!(env.iter().all(ours), "{env:?}");
        assert!(env.contains(&format!("PATH={SCRIPT_PATH}").as_str()), "{env:?}");
        assert!(seen.contains("INSTANCE VI 1 MASTER"), "{seen}");
        assert_eq!(lines.last().unwrap().trim(), pid.to_string(), "its own process group");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
