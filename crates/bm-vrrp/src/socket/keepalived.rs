//! A parsed keepalived.conf ([`KeepalivedConfig`]) as the daemon runs it: its instances,
//! check scripts and script policy turned into [`Daemon::with_options`](super::Daemon)'s
//! arguments ([`daemon_setup`]), and its scripts checked as the daemon will check them, with
//! the findings at their places in the file ([`script_diagnostics`]).
//!
//! The parser stays free of I/O (it never asks whether a user or a file exists); this module
//! asks, which is why it is part of the socket backend. `bmnet vrrp check-config` and
//! `bmnet vrrp run --config` are these two calls and what they print.

use std::time::Duration;

use super::daemon::{InstanceSetup, Options, VipSpec};
use crate::{Diagnostic, KeepalivedConfig, Place, ScriptSecurity, ScriptUser, Severity};
use bm_check::process::CheckScript;
use bm_check::process::{ScriptPolicy, policy_warning, resolve_script};

/// What the daemon runs: [`Daemon::with_options`](super::Daemon::with_options)'s arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonSetup {
    /// The instances.
    pub instances: Vec<InstanceSetup>,
    /// The check scripts they track.
    pub scripts: Vec<CheckScript>,
    /// How scripts run.
    pub options: Options,
}

/// What a keepalived.conf has no say about: the runner's choices ([`daemon_setup`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeepalivedDefaults {
    /// Whether an instance checks the source of unicast adverts when the file does not ask for
    /// it (`check_unicast_src`, `vrrp_check_unicast_src`, a peer's TTL range). bmnet's default
    /// is true; false is keepalived's behaviour. A file that asks keeps the check either way.
    pub check_unicast_src: bool,
    /// How long a notify script may run before it is stopped (keepalived has no limit).
    pub notify_timeout: Duration,
}

impl Default for KeepalivedDefaults {
    /// bmnet's: the unicast source checked, notify scripts stopped after
    /// [`Options::default`]'s timeout.
    fn default() -> KeepalivedDefaults {
        KeepalivedDefaults { check_unicast_src: true, notify_timeout: Options::default().notify_timeout }
    }
}

/// Why a keepalived.conf cannot be run as parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// An instance without `interface` (the parser reports it as an error too; a caller that
    /// runs a file with errors gets this).
    #[error("instance {instance}: no interface")]
    NoInterface {
        /// The instance.
        instance: String,
    },
}

impl From<&ScriptSecurity> for ScriptPolicy {
    /// `global_defs`' `enable_script_security` and `script_user`.
    fn from(s: &ScriptSecurity) -> ScriptPolicy {
        ScriptPolicy { security: s.enabled, script_user: s.script_user.clone() }
    }
}

/// The daemon's setup for `conf`: an [`InstanceSetup`] per instance (its VIPs with their
/// prefix, `dev` and label, its notify scripts), a [`CheckScript`] per `vrrp_script` (a
/// timeout of 0 is the interval, as keepalived takes it), and the script policy of
/// `global_defs`; `defaults` supplies what the file does not. Whether the scripts and users
/// exist is checked when the daemon starts, and beforehand by [`script_diagnostics`].
pub fn daemon_setup(conf: &KeepalivedConfig, defaults: &KeepalivedDefaults) -> Result<DaemonSetup, SetupError> {
    let mut instances = Vec::with_capacity(conf.instances.len());
    for i in &conf.instances {
        let interface = i.interface.clone().ok_or_else(|| SetupError::NoInterface { instance: i.name.clone() })?;
        let vips = i
            .vips
            .iter()
            .map(|v| VipSpec {
                addr: v.addr,
                prefix_len: v.prefix_len,
                interface: v.dev.clone(),
                label: v.label.clone(),
            })
            .collect();
        let mut config = i.config.clone();
        if !defaults.check_unicast_src && !i.check_unicast_src_explicit {
            config.check_unicast_src = false;
        }
        instances.push(InstanceSetup { name: i.name.clone(), interface, config, vips, notify: i.notify.clone() });
    }
    let scripts = conf
        .scripts
        .iter()
        .map(|s| CheckScript {
            name: s.name.clone(),
            argv: s.argv.clone(),
            interval: s.interval,
            timeout: if s.timeout.is_zero() { s.interval } else { s.timeout },
            user: s.user.clone(),
        })
        .collect();
    let options =
        Options { script_policy: ScriptPolicy::from(&conf.script_security), notify_timeout: defaults.notify_timeout };
    Ok(DaemonSetup { instances, scripts, options })
}

/// The scripts of `conf` (check and notify) checked as the daemon checks them when it starts
/// (their users, their files, and under `enable_script_security` whether a non-root user could
/// change them), as diagnostics at their places: an error for a script the daemon refuses, a
/// warning for what keepalived would log about one it runs, and keepalived's warning that
/// scripts run without `enable_script_security`, at the first script.
pub fn script_diagnostics(conf: &KeepalivedConfig) -> Vec<Diagnostic> {
    let policy = ScriptPolicy::from(&conf.script_security);
    let mut out = Vec::new();
    let mut check = |argv: &[String], user: Option<&ScriptUser>, place: &Place, what: String| match resolve_script(
        argv, user, &policy,
    ) {
        Ok(r) => out.extend(r.warnings.iter().map(|w| place.diagnostic(Severity::Warning, format!("{what}: {w}")))),
        Err(e) => out.push(place.diagnostic(Severity::Error, format!("{what}: {e}"))),
    };
    for s in conf.scripts.iter().filter(|s| !s.argv.is_empty()) {
        check(&s.argv, s.user.as_ref(), &s.place, format!("vrrp_script {}", s.name));
    }
    for i in &conf.instances {
        for n in i.notify.scripts() {
            check(&n.argv, n.user.as_ref(), &n.place, format!("vrrp_instance {}", i.name));
        }
    }
    let any = !conf.scripts.is_empty() || conf.instances.iter().any(|i| i.notify.scripts().next().is_some());
    if let Some(w) = policy_warning(&policy, any) {
        let place = conf
            .scripts
            .first()
            .map(|s| s.place.clone())
            .or_else(|| conf.instances.iter().flat_map(|i| i.notify.scripts()).next().map(|n| n.place.clone()));
        if let Some(place) = place {
            out.push(place.diagnostic(Severity::Warning, w));
        }
    }
    out
}
