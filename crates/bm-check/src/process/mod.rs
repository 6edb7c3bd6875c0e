//! The `process` backend (feature `process`, Linux): check scripts run as keepalived runs them,
//! never blocking the caller's loop.
//!
//! - [`resolve_script`] decides who runs a script and whether it may run ([`security`]: users,
//!   `enable_script_security`, the script's path and permissions).
//! - [`ScriptRunner`] starts a [`CheckScript`] every interval ([`spawn`]: no shell, its user, a
//!   process group of its own, a minimal environment, SIGTERM when the daemon dies), sees its
//!   exit without waiting, and stops it at its timeout; each run is a [`RunResult`] to report to
//!   a [`Check`](crate::Check).
//! - [`Reaper`] holds the children a caller is done with and stops or reaps them from the
//!   caller's loop ([`reaper`]: what is killed when).
//!
//! The system calls std does not wrap (process groups, credentials between fork and exec, user
//! lookups) are `bm-sys`'s: this crate holds no `unsafe` code.

#![allow(clippy::disallowed_methods)] // The backend: clocks, files and processes on purpose.

mod exec;
pub mod reaper;
mod script;
pub mod security;

pub use exec::spawn;
pub use reaper::{CHILD_POLL, KILL_GRACE, Reaper, exited};
pub use script::{CheckFailure, CheckScript, RunResult, ScriptRunner};
pub use security::{
    DEFAULT_SCRIPT_USER, Exposure, Insecurity, ResolvedScript, SCRIPT_PATH, ScriptError, ScriptPolicy, policy_warning,
    resolve_script,
};
