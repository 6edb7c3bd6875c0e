//! Starting a script as keepalived does, and stricter where keepalived is lax: the program
//! `execve`d with its words (no shell), as its user with its group as the only one (no
//! supplementary group of the daemon's), in a process group of its own (see `reaper` for what
//! is killed when), with SIGTERM when the daemon dies (`PR_SET_PDEATHSIG`), failing to start
//! rather than run with other credentials, standard input, output and error on `/dev/null`, and a
//! minimal environment: `PATH` ([`SCRIPT_PATH`]) and nothing else. keepalived 2.2.7 passes its
//! whole environment (checked: a variable set for keepalived reached a notify script), so a
//! script could be steered by whatever the daemon was started with (`LD_PRELOAD`, `IFS`, a
//! proxy); keepalived's later versions drop some of it, bmnet drops all of it.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use bm_sys::process::{self, Credentials, Signal};

use super::security::{ResolvedScript, SCRIPT_PATH};

/// Starts `script` with `extra` arguments after its own.
pub fn spawn(script: &ResolvedScript, extra: &[&str]) -> io::Result<Child> {
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
    // Not std's `uid`/`gid`: it ignores EPERM from setgroups and clears the supplementary
    // groups only when the uid changes. keepalived 2.2.7 calls setgroups(1, [gid]) too. A
    // daemon that is not root running a script as itself keeps its credentials: it could not
    // change them anyway.
    let ours = process::effective();
    let wanted = Credentials { uid: script.uid, gid: script.gid };
    let change = ours.uid == 0 || wanted != ours;
    process::exec_as(&mut cmd, change.then_some(wanted), Signal::Term);
    cmd.spawn()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::process::security::{ScriptPolicy, resolve_script};

    /// What a script sees: its uid, its group as its only group, the parent-death signal, its
    /// arguments and an environment of PATH alone, in a process group of its own.
    #[test]
    fn a_script_runs_as_its_user_with_nothing_but_path() {
        let dir = std::env::temp_dir().join(format!("bm-check-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
        let out = dir.join("seen");
        // PR_GET_PDEATHSIG (2) through python3's ctypes (/proc shows no parent-death signal),
        // exec'd by the script: a fork clears the setting, an exec keeps it.
        let pdeathsig =
            "import ctypes; s = ctypes.c_int(); ctypes.CDLL(None).prctl(2, ctypes.byref(s)); print(s.value)";
        let words = vec![
            "/bin/sh".to_string(),
            "-c".into(),
            format!(
                "{{ id -u; id -g; echo groups $(id -G); env; echo \"$@\"; awk '{{print $5}}' /proc/$$/stat; }} > {out}; \
                 exec /usr/bin/python3 -c '{pdeathsig}' >> {out}",
                out = out.display()
            ),
            "sh".into(),
        ];
        // nobody with the group `daemon` (gid 1), which nobody is no member of.
        let user = crate::ScriptUser { user: "nobody".into(), group: Some("daemon".into()) };
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
        assert_eq!(lines[1], "1", "the group asked for: {seen}");
        assert_eq!(lines[2], "groups 1", "that group alone, none of the daemon's: {seen}");
        let n = lines.len();
        assert_eq!(lines[n - 1], Signal::Term.number().to_string(), "SIGTERM when the daemon dies: {seen}");
        let env: Vec<&str> = lines.iter().copied().filter(|l| l.contains('=')).collect();
        // The shell adds PWD, SHLVL and _; nothing of the daemon's environment (HOME, the
        // test harness's CARGO_* and RUST_*) gets through.
        let ours = |l: &&str| ["PATH=", "PWD=", "SHLVL=", "_="].iter().any(|p| l.starts_with(p));
        assert!(env.iter().all(ours), "{env:?}");
        assert!(env.contains(&format!("PATH={SCRIPT_PATH}").as_str()), "{env:?}");
        assert!(seen.contains("INSTANCE VI 1 MASTER"), "{seen}");
        assert_eq!(lines[n - 2].trim(), pid.to_string(), "its own process group");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Root running a script as root still drops the daemon's supplementary groups (std's
    /// `uid`/`gid` leave them when the uid does not change). The daemon here is this test
    /// binary run again under `setpriv --groups 1,2` (so that the harness keeps its groups),
    /// running [`spawn_from_a_root_with_groups`] alone.
    #[test]
    fn a_root_script_gets_no_supplementary_group() {
        let out = std::process::Command::new("/usr/bin/setpriv")
            .args(["--groups", "1,2", "--"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", "process::exec::tests::spawn_from_a_root_with_groups", "--ignored", "--nocapture"])
            .env("BM_CHECK_GROUPS_TEST", "1")
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("1 passed"), "{text}");
    }

    /// Run by [`a_root_script_gets_no_supplementary_group`] only.
    #[test]
    #[ignore = "run by a_root_script_gets_no_supplementary_group, in a process with supplementary groups"]
    fn spawn_from_a_root_with_groups() {
        assert_eq!(std::env::var("BM_CHECK_GROUPS_TEST").as_deref(), Ok("1"), "run through the test above");
        let ours = std::process::Command::new("/usr/bin/id").arg("-G").output().unwrap();
        assert_eq!(String::from_utf8_lossy(&ours.stdout).trim(), "0 1 2", "the daemon has groups 1 and 2");
        let words: Vec<String> = ["/bin/sh", "-c", "test \"$(id -G)\" = 0"].iter().map(|w| w.to_string()).collect();
        let root = crate::ScriptUser { user: "root".into(), group: None };
        let policy = ScriptPolicy { security: false, script_user: Some(root) };
        let script = resolve_script(&words, None, &policy).unwrap();
        assert_eq!((script.uid, script.gid), (0, 0));
        let mut child = spawn(&script, &[]).unwrap();
        assert!(child.wait().unwrap().success(), "the script saw groups other than 0");
    }
}
