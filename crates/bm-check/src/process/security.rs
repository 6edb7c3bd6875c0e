//! Who runs a script and whether it may run, as keepalived 2.2.7 decides (`lib/notify.c`:
//! `check_script_secure`, `check_security`, `find_path`, `get_default_script_user`), checked
//! against the installed keepalived on the same files:
//!
//! - the user is the script's own (`user USER [GROUP]`, or the names after a notify command),
//!   else `script_user`, else `keepalived_script` if that user exists, else root ("Script
//!   user 'keepalived_script' does not exist"); with `enable_script_security` and none of the
//!   first three keepalived drops the script ("Unable to set default user keepalived_script
//!   for script"), and bmnet refuses it;
//! - a bare command name is searched in a fixed `PATH` ("resolved by path search to ... Please
//!   specify full path"), and the command is followed to its real file (merged-/usr `/bin/true`
//!   is `/usr/bin/true`), which must be executable by that user;
//! - a script run as root (uid or gid 0, or set-uid/set-gid root) must not be replaceable by
//!   anyone else: every directory on its real path owned by root and not writable by a
//!   non-root group or by others unless sticky (as `/tmp`), the file owned by root and not
//!   writable by a non-root group or by others ("Unsafe permissions found for script ... -
//!   disabling"). With `enable_script_security` such a script is refused; without, keepalived
//!   runs it and so does bmnet, with a warning.
//!
//! This module reads the file system and the user database: it is part of the `process`
//! backend, never of the core.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bm_sys::user::{self, LookupError};

use crate::ScriptUser;

/// Where bare command names are searched, and the only `PATH` a script gets: systemd's
/// default for services (keepalived uses its own environment's `PATH`, which varies).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// keepalived's default script user.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

/// The global script settings (keepalived's `enable_script_security` and `script_user`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptPolicy {
    /// Refuse a script run as root that a non-root user could change.
    pub security: bool,
    /// The default user of every script.
    pub script_user: Option<ScriptUser>,
}

/// A script ready to run: its program, arguments and credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedScript {
    /// The program's path (absolute, symbolic links resolved as keepalived resolves them).
    pub path: PathBuf,
    /// Its arguments, `argv[0]` being `path`.
    pub argv: Vec<String>,
    /// The user it runs as.
    pub user: String,
    /// That user's uid.
    pub uid: u32,
    /// The gid it runs with.
    pub gid: u32,
    /// What deserves a word without refusing it.
    pub warnings: Vec<String>,
}

/// Why a script cannot run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScriptError {
    /// No command.
    #[error("no command")]
    Empty,
    /// A user that does not exist.
    #[error("user {0} does not exist")]
    NoUser(String),
    /// A group that does not exist.
    #[error("group {0} does not exist")]
    NoGroup(String),
    /// The user database could not be read.
    #[error("looking up {name}: {error}")]
    Lookup {
        /// The user or group.
        name: String,
        /// The error.
        error: String,
    },
    /// `enable_script_security` without `script_user` and without a `keepalived_script` user.
    #[error(
        "enable_script_security needs script_user, a user for this script, or a {DEFAULT_SCRIPT_USER} user \
         (keepalived: \"Unable to set default user {DEFAULT_SCRIPT_USER} for script\")"
    )]
    NoDefaultUser,
    /// keepalived's `</path` form (a redirection run through `system()`): bmnet runs no shell.
    #[error("{0:?}: a redirection is run through a shell by keepalived; bmnet runs no shell (use /usr/bin/test -r)")]
    Shell(String),
    /// Not found (in `SCRIPT_PATH` for a bare name).
    #[error("{command}: {why}")]
    NotFound {
        /// The command.
        command: String,
        /// Why.
        why: String,
    },
    /// Not executable by the user it runs as.
    #[error("{path} is not executable for uid:gid {uid}:{gid}")]
    NotExecutable {
        /// The file.
        path: PathBuf,
        /// The uid.
        uid: u32,
        /// The gid.
        gid: u32,
    },
    /// A root-run script a non-root user could change, refused under `enable_script_security`.
    #[error("{0}; refused with enable_script_security, as keepalived refuses it")]
    Insecure(Insecurity),
}

/// What makes a root-run script changeable by someone else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Insecurity {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// Why.
    pub why: Exposure,
}

/// What is wrong with one file or directory on a root-run script's path, as keepalived's
/// `check_security` judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Exposure {
    /// A component that is not a directory, or a script that is neither a file nor a link.
    #[error("is of the wrong file type (keepalived refuses it)")]
    FileType,
    /// Owned by someone other than root.
    #[error("is owned by uid {0}, not root")]
    Owner(u32),
    /// Writable by a group other than root's (a directory only when not sticky).
    #[error("is writable by group {0}")]
    GroupWritable(u32),
    /// A directory anyone can write, without the sticky bit that `/tmp` has.
    #[error("is writable by others and not sticky")]
    OthersWritableDirectory,
    /// A file anyone can write.
    #[error("is writable by others")]
    OthersWritable,
}

impl fmt::Display for Insecurity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}, so a non-root user can replace a script run as root", self.path.display(), self.why)
    }
}

/// Where users and groups are looked up: the system's database (NSS), or a test's.
pub(crate) trait UserDb {
    /// A user's uid and primary gid; `Ok(None)` when there is no such user.
    fn user(&self, name: &str) -> Result<Option<(u32, u32)>, LookupError>;
    /// A group's gid; `Ok(None)` when there is no such group.
    fn group(&self, name: &str) -> Result<Option<u32>, LookupError>;
}

/// The system's user database (`getpwnam_r`, `getgrnam_r`).
struct SystemDb;

impl UserDb for SystemDb {
    fn user(&self, name: &str) -> Result<Option<(u32, u32)>, LookupError> {
        Ok(user::user_by_name(name)?.map(|u| (u.uid, u.gid)))
    }

    fn group(&self, name: &str) -> Result<Option<u32>, LookupError> {
        user::group_by_name(name)
    }
}

/// Who runs a script: (name, uid, gid), and warnings.
fn credentials(
    user: Option<&ScriptUser>,
    policy: &ScriptPolicy,
    db: &dyn UserDb,
) -> Result<(String, u32, u32, Vec<String>), ScriptError> {
    let lookup =
        |name: &str| db.user(name).map_err(|e| ScriptError::Lookup { name: name.into(), error: e.to_string() });
    if let Some(u) = user.or(policy.script_user.as_ref()) {
        let (uid, mut gid) = lookup(&u.user)?.ok_or_else(|| ScriptError::NoUser(u.user.clone()))?;
        if let Some(g) = &u.group {
            gid = db
                .group(g)
                .map_err(|e| ScriptError::Lookup { name: g.clone(), error: e.to_string() })?
                .ok_or_else(|| ScriptError::NoGroup(g.clone()))?;
        }
        return Ok((u.user.clone(), uid, gid, Vec::new()));
    }
    match lookup(DEFAULT_SCRIPT_USER)? {
        Some((uid, gid)) => Ok((DEFAULT_SCRIPT_USER.into(), uid, gid, Vec::new())),
        None if policy.security => Err(ScriptError::NoDefaultUser),
        None => {
            let bm_sys::process::Credentials { uid, gid } = bm_sys::process::effective();
            let warning = format!(
                "no {DEFAULT_SCRIPT_USER} user and no script_user: the script runs as uid {uid}, as keepalived runs it; \
                 create the user or set script_user"
            );
            Ok(("root".into(), uid, gid, vec![warning]))
        }
    }
}

/// keepalived's `is_executable`: root needs any x bit; the owner the user's; a member of the
/// file's group the group's; anyone else the others'.
fn executable(meta: &std::fs::Metadata, uid: u32, gid: u32) -> bool {
    let mode = meta.mode();
    (uid == 0 && mode & 0o111 != 0)
        || (uid == meta.uid() && mode & 0o100 != 0)
        || (uid != meta.uid() && ((gid == meta.gid() && mode & 0o010 != 0) || (gid != meta.gid() && mode & 0o001 != 0)))
}

/// The first file of `SCRIPT_PATH` named `name` that is a regular file executable for uid:gid.
fn search_path(name: &str, uid: u32, gid: u32) -> Result<PathBuf, ScriptError> {
    for dir in SCRIPT_PATH.split(':') {
        let candidate = Path::new(dir).join(name);
        if let Ok(meta) = std::fs::metadata(&candidate)
            && meta.is_file()
            && executable(&meta, uid, gid)
        {
            return Ok(candidate);
        }
    }
    Err(ScriptError::NotFound { command: name.into(), why: format!("not found in {SCRIPT_PATH}") })
}

/// keepalived's `check_security`: every component of `path` from `/`, not following symbolic
/// links; all but the last must be directories, the last a file or a link.
fn check_security(path: &Path) -> Result<(), Result<Insecurity, ScriptError>> {
    let mut prefix = PathBuf::new();
    let components: Vec<_> = path.components().collect();
    for (i, c) in components.iter().enumerate() {
        prefix.push(c);
        let last = i + 1 == components.len();
        let meta = std::fs::symlink_metadata(&prefix).map_err(|e| {
            Err(ScriptError::NotFound {
                command: path.display().to_string(),
                why: format!("{}: {e}", prefix.display()),
            })
        })?;
        let ft = meta.file_type();
        if (!last && !ft.is_dir()) || (last && !ft.is_file() && !ft.is_symlink()) {
            return Err(Ok(Insecurity { path: prefix, why: Exposure::FileType }));
        }
        let mode = meta.mode();
        let changeable = (ft.is_dir() && mode & 0o1000 == 0) || ft.is_file();
        let why = if meta.uid() != 0 {
            Some(Exposure::Owner(meta.uid()))
        } else if changeable && meta.gid() != 0 && mode & 0o020 != 0 {
            Some(Exposure::GroupWritable(meta.gid()))
        } else if changeable && mode & 0o002 != 0 {
            Some(if ft.is_dir() { Exposure::OthersWritableDirectory } else { Exposure::OthersWritable })
        } else {
            None
        };
        if let Some(why) = why {
            return Err(Ok(Insecurity { path: prefix, why }));
        }
    }
    Ok(())
}

/// Resolves and checks a script given as words (`argv`, as keepalived splits a command), to be
/// run as `user` (or the policy's default).
pub fn resolve_script(
    argv: &[String],
    user: Option<&ScriptUser>,
    policy: &ScriptPolicy,
) -> Result<ResolvedScript, ScriptError> {
    resolve_script_in(argv, user, policy, &SystemDb)
}

/// [`resolve_script`] with users and groups from `db`.
pub(crate) fn resolve_script_in(
    argv: &[String],
    user: Option<&ScriptUser>,
    policy: &ScriptPolicy,
    db: &dyn UserDb,
) -> Result<ResolvedScript, ScriptError> {
    let first = argv.first().ok_or(ScriptError::Empty)?;
    if first.starts_with('<') && first[1..].trim_start().starts_with('/') {
        return Err(ScriptError::Shell(first.clone()));
    }
    let (user, uid, gid, mut warnings) = credentials(user, policy, db)?;
    let named = if first.contains('/') {
        PathBuf::from(first)
    } else {
        let found = search_path(first, uid, gid)?;
        warnings.push(format!("{first} resolved by path search to {}: give the full path", found.display()));
        found
    };
    let real = std::fs::canonicalize(&named)
        .map_err(|e| ScriptError::NotFound { command: first.clone(), why: e.to_string() })?;
    // keepalived keeps the name a program was called by when its link points at a file of
    // another name in the same directory (busybox-like multi-call programs), and runs the
    // real file otherwise.
    let in_real_dir = real.parent().zip(named.file_name()).map(|(dir, name)| dir.join(name));
    let (path, also) = match in_real_dir {
        Some(p) if p != real && same_file(&p, &real) => (p, Some(real.clone())),
        _ => (real.clone(), None),
    };
    let meta =
        std::fs::metadata(&real).map_err(|e| ScriptError::NotFound { command: first.clone(), why: e.to_string() })?;
    if !meta.is_file() || !executable(&meta, uid, gid) {
        return Err(ScriptError::NotExecutable { path: real, uid, gid });
    }
    let setid_root =
        (meta.uid() == 0 && meta.mode() & 0o4100 == 0o4100) || (meta.gid() == 0 && meta.mode() & 0o2010 == 0o2010);
    if uid == 0 || gid == 0 || setid_root {
        for p in std::iter::once(&path).chain(also.as_ref()) {
            match check_security(p) {
                Ok(()) => {}
                Err(Err(e)) => return Err(e),
                Err(Ok(insecurity)) if policy.security => return Err(ScriptError::Insecure(insecurity)),
                Err(Ok(insecurity)) => warnings.push(format!(
                    "{insecurity}; keepalived runs it without enable_script_security, and so does bmnet"
                )),
            }
        }
    }
    let mut args = vec![path.display().to_string()];
    args.extend(argv[1..].iter().cloned());
    Ok(ResolvedScript { path, argv: args, user, uid, gid, warnings })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// What keepalived logs once when scripts run and script security is off ("SECURITY VIOLATION
/// - scripts are being executed but script_security not enabled"), as a warning.
pub fn policy_warning(policy: &ScriptPolicy, any_script: bool) -> Option<String> {
    (any_script && !policy.security).then(|| {
        "scripts run without enable_script_security: a script run as root that others can change is still run \
         (keepalived: \"SECURITY VIOLATION - scripts are being executed but script_security not enabled\")"
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A scratch directory of root's (tests run as root, as the daemon does).
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bm-check-security-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn script(dir: &Path, mode: u32) -> PathBuf {
        let p = dir.join("chk.sh");
        std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    fn root() -> ScriptPolicy {
        ScriptPolicy { security: true, script_user: Some(ScriptUser { user: "root".into(), group: None }) }
    }

    fn words(p: &Path) -> Vec<String> {
        vec![p.display().to_string(), "arg".into()]
    }

    #[test]
    fn a_root_owned_script_in_root_owned_directories_runs() {
        let dir = scratch("ok");
        let p = script(&dir, 0o755);
        let r = resolve_script(&words(&p), None, &root()).unwrap();
        assert_eq!((r.uid, r.gid, r.argv[1].as_str()), (0, 0, "arg"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The attacker owns the script, or can write its directory: refused under
    /// enable_script_security, a warning without it, as keepalived does.
    #[test]
    fn scripts_others_can_change_are_refused() {
        let dir = scratch("bad");
        let p = script(&dir, 0o755);
        std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
        let err = resolve_script(&words(&p), None, &root()).unwrap_err();
        assert!(matches!(&err, ScriptError::Insecure(i) if i.path == p && i.why == Exposure::Owner(65534)), "{err}");
        let lax = ScriptPolicy { security: false, ..root() };
        let ok = resolve_script(&words(&p), None, &lax).unwrap();
        assert!(ok.warnings.iter().any(|w| w.contains("uid 65534")), "{:?}", ok.warnings);
        std::os::unix::fs::chown(&p, Some(0), None).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = resolve_script(&words(&p), None, &root()).unwrap_err();
        let open = Exposure::OthersWritableDirectory;
        assert!(matches!(&err, ScriptError::Insecure(i) if i.path == dir && i.why == open), "{err}");
        // Sticky, as /tmp: fine.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(resolve_script(&words(&p), None, &root()).is_ok());
        // Group-writable by a non-root group.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o775)).unwrap();
        std::os::unix::fs::chown(&p, None, Some(100)).unwrap();
        let group = Exposure::GroupWritable(100);
        assert!(matches!(resolve_script(&words(&p), None, &root()), Err(ScriptError::Insecure(i)) if i.why == group));
        // Run as nobody, nothing needs protecting (keepalived checks root-run scripts only).
        let nobody = ScriptUser { user: "nobody".into(), group: None };
        let r = resolve_script(&words(&p), Some(&nobody), &root()).unwrap();
        assert_eq!(r.uid, 65534);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn users_commands_and_paths() {
        let nobody = ScriptUser { user: "no-such-user-bmnet".into(), group: None };
        assert_eq!(
            resolve_script(&["/bin/true".into()], Some(&nobody), &root()),
            Err(ScriptError::NoUser(nobody.user.clone()))
        );
        let r = resolve_script(&["true".into()], None, &root()).unwrap();
        assert!(r.path.is_absolute() && r.warnings[0].contains("path search"), "{r:?}");
        // Merged /usr: /bin/true is /usr/bin/true, checked and run there.
        let r = resolve_script(&["/bin/true".into()], None, &root()).unwrap();
        assert_eq!(r.path, std::fs::canonicalize("/bin/true").unwrap());
        assert!(matches!(resolve_script(&["/nonexistent/x".into()], None, &root()), Err(ScriptError::NotFound { .. })));
        let dir = scratch("noexec");
        let p = script(&dir, 0o644);
        assert!(matches!(resolve_script(&words(&p), None, &root()), Err(ScriptError::NotExecutable { .. })));
        assert!(matches!(resolve_script(&["</etc/hosts".into()], None, &root()), Err(ScriptError::Shell(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A user database of the test's: `users` exist; any other name is missing, or a lookup
    /// error `errno` when one is given.
    struct FakeDb {
        users: Vec<(&'static str, u32, u32)>,
        errno: Option<i32>,
    }

    impl UserDb for FakeDb {
        fn user(&self, name: &str) -> Result<Option<(u32, u32)>, LookupError> {
            match self.users.iter().find(|(n, ..)| *n == name) {
                Some(&(_, uid, gid)) => Ok(Some((uid, gid))),
                None => {
                    self.errno.map_or(Ok(None), |e| Err(LookupError::Database(std::io::Error::from_raw_os_error(e))))
                }
            }
        }

        fn group(&self, name: &str) -> Result<Option<u32>, LookupError> {
            Ok((name == "wheel").then_some(10))
        }
    }

    /// The default user as keepalived picks it (`get_default_script_user`): keepalived_script
    /// when it exists; without it, root with a warning, or, under enable_script_security, a
    /// refusal. "No such user" covers the errors NSS gives for a missing name (`bm_sys::user`
    /// tells them apart); another lookup error is a refusal that says so.
    #[test]
    fn the_default_user_is_keepalived_script_else_root() {
        let secure = ScriptPolicy { security: true, script_user: None };
        let lax = ScriptPolicy { security: false, script_user: None };
        let run = |db: &FakeDb, policy: &ScriptPolicy| resolve_script_in(&["/bin/true".into()], None, policy, db);
        let with = FakeDb { users: vec![(DEFAULT_SCRIPT_USER, 990, 991)], errno: None };
        for policy in [&secure, &lax] {
            let r = run(&with, policy).unwrap();
            assert_eq!((r.user.as_str(), r.uid, r.gid), (DEFAULT_SCRIPT_USER, 990, 991));
            assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        }
        let without = FakeDb { users: vec![], errno: None };
        assert_eq!(run(&without, &secure), Err(ScriptError::NoDefaultUser));
        let r = run(&without, &lax).unwrap();
        assert_eq!((r.user.as_str(), r.uid, r.gid), ("root", 0, 0));
        assert!(r.warnings[0].contains("no keepalived_script user"), "{:?}", r.warnings);
        let eio = 5;
        let broken = FakeDb { users: vec![], errno: Some(eio) };
        assert!(matches!(run(&broken, &lax), Err(ScriptError::Lookup { name, .. }) if name == DEFAULT_SCRIPT_USER));
        // A named user and group come from the same database.
        let db = FakeDb { users: vec![("alice", 1000, 1000)], errno: None };
        let alice = ScriptUser { user: "alice".into(), group: Some("wheel".into()) };
        let r = resolve_script_in(&["/bin/true".into()], Some(&alice), &secure, &db).unwrap();
        assert_eq!((r.uid, r.gid), (1000, 10));
        let nogroup = ScriptUser { user: "alice".into(), group: Some("staff".into()) };
        assert_eq!(
            resolve_script_in(&["/bin/true".into()], Some(&nogroup), &secure, &db),
            Err(ScriptError::NoGroup("staff".into()))
        );
    }
}
