//! keepalived.conf as keepalived 2.2.7 reads it, for the subset bmnet runs: `global_defs`,
//! `vrrp_script`, `vrrp_instance`, `include`, comments. Every finding has its file:line:column;
//! keywords bmnet does not implement are errors when they would change behaviour or security,
//! warnings when they have no effect here ([`keywords`]); values keepalived rounds or clamps are
//! rounded or clamped alike, with a warning saying so. Includes are read through a callback,
//! so parsing stays free of I/O: whether scripts and users exist is the backend's business
//! (`socket::script_diagnostics` asks it, and reports at the places recorded here; and
//! `socket::daemon_setup` turns what is parsed here into what the daemon runs).

mod keywords;
mod lexer;

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError, MAX_DOWN_TIMER_ADVERTS, MAX_GARP_REPEAT, pass_key};
use crate::packet::{MAX_ADDRESSES, Version};
use crate::peer::UnicastPeer;
use crate::track::{CheckConfig, TRACK_INTERFACE_PREFIX};
pub use bm_check::split_words;
use lexer::{Parser, Stmt, Token, tokenize};

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The file cannot be run as written.
    Error,
    /// Accepted, but worth a look (an unknown keyword, one without effect here).
    Warning,
}

/// A finding, with its place.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The file (the top file's name as given, or an included file's).
    pub file: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
    /// Error or warning.
    pub severity: Severity,
    /// What.
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}:{}: {sev}: {}", self.file, self.line, self.column, self.message)
    }
}

/// Where something was written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Place {
    /// The file.
    pub file: String,
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
}

impl Place {
    /// A finding at this place.
    pub fn diagnostic(&self, severity: Severity, message: String) -> Diagnostic {
        Diagnostic { file: self.file.clone(), line: self.line, column: self.column, severity, message }
    }
}

pub use bm_check::ScriptUser;

/// A `track_interface` entry: `NAME [weight N [reverse]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedInterface {
    /// The interface.
    pub name: String,
    /// -253..=253; 0 (the default) is FAULT while the carrier is down.
    pub weight: i32,
    /// `reverse`: the adjustment is negated (weight 0: FAULT while the carrier is up).
    pub reverse: bool,
}

/// A `vrrp_script`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Script {
    /// Its name.
    pub name: String,
    /// The command as written (the quoted string).
    pub command: String,
    /// Its words, as keepalived splits them ([`split_words`]); run without a shell.
    pub argv: Vec<String>,
    /// How often it runs (default 1 s).
    pub interval: Duration,
    /// How long a run may take (default: the interval).
    pub timeout: Duration,
    /// Weight (default 0: FAULT while failing).
    pub weight: i32,
    /// `weight N reverse`: the default for the `track_script` entries naming it.
    #[serde(default)]
    pub reverse: bool,
    /// Consecutive successes to pass (default 1).
    pub rise: u32,
    /// Consecutive failures to fail (default 1).
    pub fall: u32,
    /// `user USER [GROUP]`: the user it runs as (default: `script_user`, else
    /// `keepalived_script` if that user exists, else root).
    pub user: Option<ScriptUser>,
    /// Where its `script` keyword is (or its `vrrp_script` block, without one).
    pub place: Place,
}

/// A virtual address as keepalived adds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length (default 32 / 128).
    pub prefix_len: u8,
    /// `dev`: another interface than the instance's.
    pub dev: Option<String>,
    /// `label`.
    pub label: Option<String>,
}

/// One notify script: `notify_master "COMMAND" [USER [GROUP]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyScript {
    /// The command as written.
    pub command: String,
    /// Its words, as keepalived splits them; run without a shell.
    pub argv: Vec<String>,
    /// The user it runs as (default as [`Script::user`]).
    pub user: Option<ScriptUser>,
    /// Where its keyword is.
    pub place: Place,
}

impl NotifyScript {
    /// A script from a command line, as keepalived splits it, run as the default user.
    pub fn from_command(command: &str) -> Result<NotifyScript, String> {
        let argv = split_words(command)?;
        if argv.is_empty() {
            return Err("an empty command".into());
        }
        Ok(NotifyScript { command: command.to_string(), argv, user: None, place: Place::default() })
    }
}

/// The notify scripts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<NotifyScript>,
    /// `notify_backup`.
    pub backup: Option<NotifyScript>,
    /// `notify_fault`.
    pub fault: Option<NotifyScript>,
    /// `notify_stop`.
    pub stop: Option<NotifyScript>,
    /// `notify` (called with type, name, state, priority).
    pub any: Option<NotifyScript>,
}

impl Notify {
    /// Every script set.
    pub fn scripts(&self) -> impl Iterator<Item = &NotifyScript> {
        [&self.master, &self.backup, &self.fault, &self.stop, &self.any].into_iter().flatten()
    }
}

/// A `vrrp_instance`, with what the core's [`Config`] does not carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    /// Its name.
    pub name: String,
    /// `interface`.
    pub interface: Option<String>,
    /// `state MASTER` (only meaningful with priority 255).
    pub initial_master: bool,
    /// The core's configuration; `primary` is `unicast_src_ip` (or `mcast_src_ip`), or
    /// unspecified when the interface's primary address must be filled in (see
    /// [`InstanceSpec::config_for`]).
    pub config: Config,
    /// Whether the file asks for the unicast source check (`check_unicast_src`,
    /// `vrrp_check_unicast_src`, or a peer's `min_ttl`/`max_ttl`). bmnet checks by default
    /// anyway; a runner may turn its default off (keepalived's behaviour) but not this.
    pub check_unicast_src_explicit: bool,
    /// The VIPs with their prefix, device and label.
    pub vips: Vec<Vip>,
    /// `track_interface` entries.
    pub track_interfaces: Vec<TrackedInterface>,
    /// Notify scripts.
    pub notify: Notify,
    /// Where its `vrrp_instance` keyword is.
    pub place: Place,
}

impl InstanceSpec {
    /// The core configuration with `primary` as the source address when the file did not give
    /// `unicast_src_ip`, checked.
    pub fn config_for(&self, primary: IpAddr) -> Result<Config, ConfigError> {
        let mut c = self.config.clone();
        if c.primary.is_unspecified() {
            c.primary = primary;
        }
        crate::Instance::new(c.clone()).map(|_| c)
    }
}

/// `global_defs`' script settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptSecurity {
    /// `enable_script_security`: a script run as root (or group root) whose file or any
    /// directory on its path a non-root user can write is refused.
    pub enabled: bool,
    /// Where `enable_script_security` is.
    pub enabled_at: Option<Place>,
    /// `script_user USER [GROUP]`: the default user of every script.
    pub script_user: Option<ScriptUser>,
    /// Where `script_user` is.
    pub script_user_at: Option<Place>,
}

/// A parsed keepalived.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedConfig {
    /// The instances.
    pub instances: Vec<InstanceSpec>,
    /// The scripts.
    pub scripts: Vec<Script>,
    /// The script settings.
    pub script_security: ScriptSecurity,
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl KeepalivedConfig {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// How many times one parse calls its `include` callback at most: further includes are errors.
pub const MAX_INCLUDES: usize = 256;

/// Parses keepalived.conf text. `file` names it in diagnostics; `include` returns the text of
/// an included file (globs are the callback's business).
///
/// Includes nest at most 8 deep, a file that includes itself (directly, through other files, or
/// through a glob matching it: the same path as written) is an error, and the callback is
/// called at most [`MAX_INCLUDES`] times, so that any set of files is read in bounded time.
///
/// ```
/// let conf = bm_vrrp::parse_keepalived(r#"
/// vrrp_instance API {
///     state BACKUP
///     interface eth0
///     virtual_router_id 51
///     priority 40
///     advert_int 1
///     authentication {
///         auth_type PASS
///         auth_pass ostest_api_vip
///     }
///     virtual_ipaddress {
///         192.168.111.5/32 label vip
///     }
/// }
/// "#, "keepalived.conf", &mut |_| Err("no includes".into()));
/// assert!(!conf.has_errors(), "{:?}", conf.diagnostics);
/// let api = &conf.instances[0];
/// assert_eq!(api.config.auth, Some(*b"ostest_a")); // keepalived keeps 8 characters
/// ```
pub fn parse_keepalived(
    text: &str,
    file: &str,
    include: &mut dyn FnMut(&str) -> Result<String, String>,
) -> KeepalivedConfig {
    let mut p = Parser::new(file, text, include);
    let tokens = tokenize(text, 0);
    let mut at = 0;
    let stmts = p.statements(&tokens, &mut at, 0, 0);
    let mut out = KeepalivedConfig::default();
    let mut global = Global::default();
    for s in stmts.iter().filter(|s| s.key.text == "global_defs") {
        global.read(&mut p, s);
    }
    out.script_security = global.security.clone();
    for s in &stmts {
        match s.key.text.as_str() {
            "global_defs" => {}
            "vrrp_script" => {
                if let Some(script) = read_script(&mut p, s) {
                    out.scripts.push(script);
                }
            }
            "vrrp_instance" => {
                if let Some(inst) = read_instance(&mut p, s, &global, &out.scripts) {
                    out.instances.push(inst);
                }
            }
            k if k.starts_with('$') || k.starts_with('@') => p.report(
                &s.key,
                Severity::Error,
                format!(
                    "{k}: keepalived's definitions ($NAME) and conditional lines (@NAME) are not supported by bmnet"
                ),
            ),
            other => match keywords::judge(keywords::top(other), other, s.args.first().map(|t| t.text.as_str())) {
                Some((severity, message)) => p.report(&s.key, severity, message),
                None => p.report(&s.key, Severity::Warning, format!("unknown keyword {other}: ignored")),
            },
        }
    }
    out.diagnostics = p.diagnostics;
    out
}

/// `global_defs` values that instances inherit.
#[derive(Default)]
struct Global {
    version: Option<Version>,
    garp_delay: Option<Duration>,
    garp_repeat: Option<u32>,
    garp_refresh: Option<Duration>,
    garp_lower_prio_delay: Option<Duration>,
    garp_lower_prio_repeat: Option<u32>,
    higher_prio_send_advert: Option<bool>,
    down_timer_adverts: Option<u32>,
    skip_check_adv_addr: bool,
    check_unicast_src: bool,
    security: ScriptSecurity,
}

fn num<T: std::str::FromStr>(p: &mut Parser<'_>, s: &Stmt, i: usize) -> Option<T> {
    let Some(t) = s.args.get(i) else {
        p.report(&s.key, Severity::Error, format!("{} needs a value", s.key.text));
        return None;
    };
    let v = t.text.parse().ok();
    if v.is_none() {
        p.report(t, Severity::Error, format!("{}: {:?} is not a valid value", s.key.text, t.text));
    }
    v
}

/// The weight of one `track_script` / `track_interface` entry: `NAME [weight N [reverse]]`,
/// N within -253..=253, `default` without one; `noreverse` too for a `track_script` entry (its
/// script's `reverse` is the default), as keepalived reads them. Anything else is an error at
/// its place, and the entry is left out.
fn tracked_weight(p: &mut Parser<'_>, t: &Stmt, what: &str, default: (i32, bool)) -> Option<(i32, bool)> {
    let weight = match (t.args.first(), t.args.get(1)) {
        (None, _) => return Some(default),
        (Some(w), Some(v)) if w.text == "weight" => match v.text.parse::<i32>() {
            Ok(n) if (-253..=253).contains(&n) => n,
            _ => {
                p.report(v, Severity::Error, format!("{what} {}: weight -253 to 253", t.key.text));
                return None;
            }
        },
        (Some(a), _) => {
            p.report(a, Severity::Error, format!("{what} {}: expected `weight N`", t.key.text));
            return None;
        }
    };
    let reverse = match t.args.get(2).map(|r| r.text.as_str()) {
        None => default.1,
        Some("reverse") => true,
        Some("noreverse") if what == "track_script" => false,
        Some(_) => {
            let r = &t.args[2];
            p.report(r, Severity::Error, format!("{what} {}: expected `reverse` after the weight", t.key.text));
            return None;
        }
    };
    if let Some(extra) = t.args.get(3) {
        p.report(extra, Severity::Error, format!("{what} {}: nothing may follow the weight", t.key.text));
        return None;
    }
    Some((weight, reverse))
}

/// keepalived's optional boolean argument: none means true; `true`/`on`/`yes` or
/// `false`/`off`/`no` (`check_true_false`).
fn flag(p: &mut Parser<'_>, s: &Stmt) -> Option<bool> {
    match s.args.first().map(|t| t.text.as_str()) {
        None => Some(true),
        Some("true" | "on" | "yes") => Some(true),
        Some("false" | "off" | "no") => Some(false),
        Some(_) => {
            p.report(&s.args[0], Severity::Error, format!("{}: {:?} is not true or false", s.key.text, s.args[0].text));
            None
        }
    }
}

/// A decimal number of seconds, exact to the microsecond (keepalived's timer resolution,
/// `TIMER_HZ_DIGITS`); further digits round half up.
fn parse_seconds(text: &str) -> Option<Duration> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let mut micros: u64 = 0;
    for (i, d) in frac.bytes().chain(std::iter::repeat(b'0')).take(6).enumerate() {
        micros += u64::from(d - b'0') * 10u64.pow(5 - i as u32);
    }
    if frac.as_bytes().get(6).is_some_and(|&d| d >= b'5') {
        micros += 1;
    }
    Duration::from_secs(secs).checked_add(Duration::from_micros(micros))
}

fn seconds(p: &mut Parser<'_>, s: &Stmt) -> Option<Duration> {
    let Some(t) = s.args.first() else {
        p.report(&s.key, Severity::Error, format!("{} needs a value", s.key.text));
        return None;
    };
    let d = parse_seconds(&t.text);
    if d.is_none() {
        p.report(t, Severity::Error, format!("{}: {:?} is not a number of seconds", s.key.text, t.text));
    }
    d
}

/// A `vrrp_script` `interval` or `timeout`: whole seconds from 1 to 4294, as keepalived 2.2.7
/// reads them. keepalived ignores anything else (`0.5` included) with an error line and keeps
/// its default; bmnet does the same, warning, so that one file behaves alike under both.
fn whole_seconds(p: &mut Parser<'_>, s: &Stmt, script: &str) -> Option<Duration> {
    let Some(t) = s.args.first() else {
        p.report(&s.key, Severity::Error, format!("{} needs a value", s.key.text));
        return None;
    };
    match t.text.parse::<u64>() {
        Ok(n @ 1..=4294) => Some(Duration::from_secs(n)),
        _ => {
            let default = if s.key.text == "interval" { "1 s" } else { "the interval" };
            let why = format!(
                "vrrp_script {script}: {} {:?}: keepalived takes whole seconds from 1 to 4294 and ignores this; \
                 so does bmnet ({default})",
                s.key.text, t.text
            );
            p.report(t, Severity::Warning, why);
            None
        }
    }
}

/// `down_timer_adverts`: 1 to 100. keepalived ignores anything else ("Invalid
/// down_timer_adverts [1:100]") and keeps what it had; so does bmnet, warning.
fn down_timer_adverts(p: &mut Parser<'_>, s: &Stmt) -> Option<u32> {
    let n: u32 = num(p, s, 0)?;
    if (1..=MAX_DOWN_TIMER_ADVERTS).contains(&n) {
        return Some(n);
    }
    let why =
        format!("{} {n}: keepalived takes 1 to {MAX_DOWN_TIMER_ADVERTS} and ignores this; so does bmnet", s.key.text);
    p.report(&s.args[0], Severity::Warning, why);
    None
}

/// A GARP / NA count: `garp_master_repeat` (`min` 1) or `garp_lower_prio_repeat` (`min` 0).
/// keepalived raises a master repeat of 0 to 1 ("must be greater than 0, setting to 1"), and
/// so does bmnet, warning; more than [`MAX_GARP_REPEAT`] is bmnet's own limit (its daemon sends a
/// burst at once), an error.
fn garp_count(p: &mut Parser<'_>, s: &Stmt, min: u32) -> Option<u32> {
    let n: u32 = num(p, s, 0)?;
    if n < min {
        let why = format!("{} {n}: keepalived raises it to {min}, and so does bmnet", s.key.text);
        p.report(&s.args[0], Severity::Warning, why);
        return Some(min);
    }
    if n > MAX_GARP_REPEAT {
        let why = format!("{} {n}: bmnet sends at most {MAX_GARP_REPEAT} per burst, at once", s.key.text);
        p.report(&s.args[0], Severity::Error, why);
        return None;
    }
    Some(n)
}

/// `garp_master_refresh`: whole seconds (keepalived's `unsigned`). keepalived refuses anything
/// else, `1.5` included ("Invalid garp_master_refresh '1.5' - ignoring"), and runs without a
/// refresh; so does bmnet, warning.
fn refresh_seconds(p: &mut Parser<'_>, s: &Stmt) -> Duration {
    let Some(t) = s.args.first() else {
        p.report(&s.key, Severity::Error, format!("{} needs a value", s.key.text));
        return Duration::ZERO;
    };
    match t.text.parse::<u32>() {
        Ok(n) if t.text.bytes().all(|b| b.is_ascii_digit()) => Duration::from_secs(u64::from(n)),
        _ => {
            let why = format!(
                "{} {:?}: keepalived takes whole seconds up to 4294967295, ignores this and sends no periodic \
                 GARP; so does bmnet",
                s.key.text, t.text
            );
            p.report(t, Severity::Warning, why);
            Duration::ZERO
        }
    }
}

/// `USER [GROUP]` from `args` (a `user` or `script_user` statement's).
fn script_user(p: &mut Parser<'_>, s: &Stmt) -> Option<ScriptUser> {
    let Some(user) = s.args.first() else {
        p.report(&s.key, Severity::Error, format!("{} needs a user name", s.key.text));
        return None;
    };
    if let Some(extra) = s.args.get(2) {
        p.report(extra, Severity::Error, format!("{}: USER [GROUP], nothing more", s.key.text));
        return None;
    }
    Some(ScriptUser { user: user.text.clone(), group: s.args.get(1).map(|g| g.text.clone()) })
}

/// Reports a keyword bmnet does not implement, or an unknown one.
fn unimplemented(p: &mut Parser<'_>, kind: Option<keywords::Unimplemented>, k: &Stmt, block: &str) {
    let first = k.args.first().map(|t| t.text.as_str());
    match keywords::judge(kind, &k.key.text, first) {
        Some((severity, message)) => p.report(&k.key, severity, message),
        None if kind.is_some() => {}
        None => p.report(&k.key, Severity::Warning, format!("unknown {block} keyword {}: ignored", k.key.text)),
    }
}

impl Global {
    fn read(&mut self, p: &mut Parser<'_>, s: &Stmt) {
        for k in s.block.as_deref().unwrap_or_default() {
            match k.key.text.as_str() {
                "vrrp_version" => {
                    self.version = match num::<u8>(p, k, 0) {
                        Some(2) => Some(Version::V2),
                        Some(3) => Some(Version::V3),
                        Some(n) => {
                            p.report(&k.key, Severity::Error, format!("vrrp_version {n}: 2 or 3"));
                            None
                        }
                        None => None,
                    }
                }
                "vrrp_garp_master_delay" => self.garp_delay = seconds(p, k),
                "vrrp_garp_master_repeat" => self.garp_repeat = garp_count(p, k, 1),
                "vrrp_garp_master_refresh" => self.garp_refresh = Some(refresh_seconds(p, k)),
                "vrrp_garp_lower_prio_delay" => self.garp_lower_prio_delay = seconds(p, k),
                "vrrp_garp_lower_prio_repeat" => self.garp_lower_prio_repeat = garp_count(p, k, 0),
                "vrrp_down_timer_adverts" => self.down_timer_adverts = down_timer_adverts(p, k),
                "vrrp_skip_check_adv_addr" => self.skip_check_adv_addr = true,
                "vrrp_higher_prio_send_advert" => self.higher_prio_send_advert = flag(p, k),
                // keepalived 2.2.7 takes no argument and turns it on whatever follows.
                "vrrp_check_unicast_src" => self.check_unicast_src = true,
                "enable_script_security" => {
                    self.security.enabled = true;
                    self.security.enabled_at = Some(p.place(&k.key));
                }
                "script_user" => {
                    self.security.script_user = script_user(p, k);
                    self.security.script_user_at = Some(p.place(&k.key));
                }
                // Identity and e-mail settings: nothing uses them without smtp_alert (refused).
                "router_id"
                | "notification_email"
                | "notification_email_from"
                | "smtp_server"
                | "smtp_connect_timeout"
                | "smtp_helo_name" => {}
                other => unimplemented(p, keywords::global(other), k, "global_defs"),
            }
        }
    }
}

fn read_script(p: &mut Parser<'_>, s: &Stmt) -> Option<Script> {
    let Some(name) = s.args.first() else {
        p.report(&s.key, Severity::Error, "vrrp_script needs a name".into());
        return None;
    };
    let mut script = Script {
        name: name.text.clone(),
        command: String::new(),
        argv: Vec::new(),
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        user: None,
        place: p.place(&s.key),
    };
    for k in s.block.as_deref().unwrap_or_default() {
        match k.key.text.as_str() {
            "script" => {
                script.place = p.place(&k.key);
                if let Some((command, argv)) = script_command(p, k) {
                    script.command = command;
                    script.argv = argv;
                }
            }
            "interval" => script.interval = whole_seconds(p, k, &name.text).unwrap_or(script.interval),
            "timeout" => script.timeout = whole_seconds(p, k, &name.text).unwrap_or_default(),
            "weight" => {
                script.weight = num(p, k, 0).unwrap_or(0);
                match k.args.get(1).map(|t| t.text.as_str()) {
                    None => {}
                    Some("reverse") => script.reverse = true,
                    Some(_) => p.report(&k.args[1], Severity::Error, "weight N [reverse]: expected `reverse`".into()),
                }
                if !(-253..=253).contains(&script.weight) {
                    p.report(&k.key, Severity::Error, format!("weight {}: -253 to 253", script.weight));
                }
            }
            "rise" => script.rise = num(p, k, 0).unwrap_or(1),
            "fall" => script.fall = num(p, k, 0).unwrap_or(1),
            "user" => script.user = script_user(p, k),
            other => unimplemented(p, keywords::script(other), k, "vrrp_script"),
        }
    }
    if script.argv.is_empty() {
        p.report(&s.key, Severity::Error, format!("vrrp_script {}: no script", script.name));
    }
    if script.timeout.is_zero() {
        script.timeout = script.interval;
    }
    Some(script)
}

/// The words of `k`'s line as keepalived re-reads a script line, or an error at `k`.
fn line_words(p: &mut Parser<'_>, k: &Stmt) -> Option<Vec<String>> {
    match split_words(&p.raw_from(&k.key)) {
        Ok(words) => Some(words),
        Err(e) => {
            p.report(&k.key, Severity::Error, format!("{}: {e}", k.key.text));
            None
        }
    }
}

/// A `vrrp_script`'s `script "COMMAND"`: the command and its words. keepalived 2.2.7 runs
/// only the first word after `script` (the quoted string, or one unquoted word) and drops
/// the rest of the line without a word; bmnet refuses such a line, which cannot mean what
/// it says.
fn script_command(p: &mut Parser<'_>, k: &Stmt) -> Option<(String, Vec<String>)> {
    let words = line_words(p, k)?;
    let Some(command) = words.get(1) else {
        p.report(&k.key, Severity::Error, "script needs a command".into());
        return None;
    };
    if words.len() > 2 {
        let at = k.args.get(1).unwrap_or(&k.key);
        p.report(
            at,
            Severity::Error,
            format!(
                "script: keepalived 2.2.7 runs only {command:?} and ignores {:?}; quote the whole command",
                words[2..].join(" ")
            ),
        );
        return None;
    }
    command_words(p, k, command).map(|argv| (command.clone(), argv))
}

fn command_words(p: &mut Parser<'_>, k: &Stmt, command: &str) -> Option<Vec<String>> {
    match split_words(command) {
        Ok(argv) if !argv.is_empty() => Some(argv),
        Ok(_) => {
            p.report(&k.key, Severity::Error, format!("{}: an empty command", k.key.text));
            None
        }
        Err(e) => {
            p.report(&k.key, Severity::Error, format!("{}: {e}", k.key.text));
            None
        }
    }
}

/// `notify_<state> "COMMAND" [USER [GROUP]]`, as keepalived's `notify_script_init` reads it.
fn notify_script(p: &mut Parser<'_>, k: &Stmt) -> Option<NotifyScript> {
    let words = line_words(p, k)?;
    let Some(command) = words.get(1) else {
        p.report(&k.key, Severity::Error, format!("{} needs a command", k.key.text));
        return None;
    };
    if words.len() > 4 {
        p.report(&k.key, Severity::Error, format!("{}: \"COMMAND\" [USER [GROUP]], nothing more", k.key.text));
        return None;
    }
    let quoted = k.args.first().is_some_and(|a| {
        let raw = p.raw_from(a);
        raw.starts_with('"') || raw.starts_with('\'')
    });
    if words.len() > 2 && !quoted {
        p.report(
            &k.key,
            Severity::Warning,
            format!(
                "{}: {:?} is read as the user to run {command:?} as, as keepalived does; quote the command if it is \
                 an argument",
                k.key.text, words[2]
            ),
        );
    }
    let argv = command_words(p, k, command)?;
    let user = words.get(2).map(|u| ScriptUser { user: u.clone(), group: words.get(3).cloned() });
    Some(NotifyScript { command: command.clone(), argv, user, place: p.place(&k.key) })
}

/// `unicast_peer { ADDR [min_ttl N] [max_ttl N] ... }`.
fn unicast_peers(p: &mut Parser<'_>, k: &Stmt, peers: &mut Vec<UnicastPeer>) -> bool {
    let mut ttl_given = false;
    for line in k.block.as_deref().unwrap_or_default() {
        let Ok(addr) = line.key.text.parse::<IpAddr>() else {
            p.report(&line.key, Severity::Error, format!("unicast_peer: {:?} is not an IP address", line.key.text));
            continue;
        };
        let mut peer = UnicastPeer::from(addr);
        let mut args = line.args.iter();
        while let Some(option) = args.next() {
            let slot = match option.text.as_str() {
                "min_ttl" => &mut peer.min_ttl,
                "max_ttl" => &mut peer.max_ttl,
                other => {
                    p.report(
                        option,
                        Severity::Error,
                        format!("unicast_peer {addr}: {other:?}: min_ttl N or max_ttl N"),
                    );
                    break;
                }
            };
            match args.next().map(|v| (v, v.text.parse::<u8>())) {
                Some((_, Ok(n))) => *slot = n,
                Some((v, Err(_))) => p.report(v, Severity::Error, format!("{}: 0 to 255", option.text)),
                None => p.report(option, Severity::Error, format!("{} needs a value", option.text)),
            }
            ttl_given = true;
        }
        if peer.min_ttl > peer.max_ttl {
            p.report(&line.key, Severity::Error, format!("unicast_peer {addr}: min_ttl is above max_ttl"));
        }
        peers.push(peer);
    }
    ttl_given
}

fn read_instance(p: &mut Parser<'_>, s: &Stmt, g: &Global, scripts: &[Script]) -> Option<InstanceSpec> {
    let Some(name) = s.args.first() else {
        p.report(&s.key, Severity::Error, "vrrp_instance needs a name".into());
        return None;
    };
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    let mut c = Config::new(0, 100, unspecified, Vec::new());
    c.garp_delay = g.garp_delay.unwrap_or(c.garp_delay);
    c.garp_repeat = g.garp_repeat.unwrap_or(c.garp_repeat);
    c.garp_refresh = g.garp_refresh.unwrap_or(c.garp_refresh);
    // keepalived: an instance's lower-priority GARPs follow the global ones, which default to
    // the global garp_master_repeat / garp_master_delay (not the instance's).
    c.garp_lower_prio_repeat = Some(g.garp_lower_prio_repeat.or(g.garp_repeat).unwrap_or(c.garp_repeat));
    c.garp_lower_prio_delay = Some(g.garp_lower_prio_delay.or(g.garp_delay).unwrap_or(c.garp_delay));
    c.down_timer_adverts = g.down_timer_adverts.unwrap_or(c.down_timer_adverts);
    // Unset, it stays on: bmnet's default (see `Config::higher_prio_send_advert`).
    c.higher_prio_send_advert = g.higher_prio_send_advert.unwrap_or(c.higher_prio_send_advert);
    c.check_vips = !g.skip_check_adv_addr;
    let mut spec = InstanceSpec {
        name: name.text.clone(),
        interface: None,
        initial_master: false,
        config: c,
        check_unicast_src_explicit: g.check_unicast_src,
        vips: Vec::new(),
        track_interfaces: Vec::new(),
        notify: Notify::default(),
        place: p.place(&s.key),
    };
    let mut priority_given = false;
    let mut advert_int: Option<(Duration, Token)> = None;
    let mut version: Option<(Version, Token)> = None;
    for k in s.block.as_deref().unwrap_or_default() {
        let c = &mut spec.config;
        match k.key.text.as_str() {
            "state" => spec.initial_master = k.args.first().is_some_and(|t| t.text == "MASTER"),
            "interface" => spec.interface = k.args.first().map(|t| t.text.clone()),
            "virtual_router_id" => c.vrid = num(p, k, 0).unwrap_or(0),
            "priority" => {
                // keepalived 2.2.7: "Priority not valid! must be between 1 & 255. Using default
                // 100"; bmnet refuses rather than run another priority than written.
                match num::<u8>(p, k, 0) {
                    Some(0) => p.report(&k.args[0], Severity::Error, "priority 0: 1 to 255".into()),
                    Some(n) => c.priority = n,
                    None => {}
                }
                priority_given = true;
            }
            "advert_int" => {
                // keepalived 2.2.7 reads 0.01 to 255 s and ignores anything else with a config
                // error ("Advert interval (0) not valid! Must be > 0 - ignoring"), running the
                // default of 1 s instead; bmnet refuses the file.
                if let Some(d) = seconds(p, k) {
                    if (Duration::from_millis(10)..=Duration::from_secs(255)).contains(&d) {
                        advert_int = Some((d, k.args[0].clone()));
                    } else {
                        p.report(
                            &k.args[0],
                            Severity::Error,
                            format!(
                                "advert_int {}: 0.01 to 255 seconds (keepalived 2.2.7 ignores it and runs 1 s)",
                                k.args[0].text
                            ),
                        );
                    }
                }
            }
            "version" => match num::<u8>(p, k, 0) {
                Some(2) => version = Some((Version::V2, k.key.clone())),
                Some(3) => version = Some((Version::V3, k.key.clone())),
                Some(n) => p.report(&k.key, Severity::Error, format!("version {n}: 2 or 3")),
                None => {}
            },
            "nopreempt" => c.preempt = false,
            "preempt" => c.preempt = true,
            "preempt_delay" => c.preempt_delay = seconds(p, k).unwrap_or_default(),
            // keepalived sets the advert source from either.
            "unicast_src_ip" | "mcast_src_ip" => {
                if let Some(ip) = ip_arg(p, k, 0) {
                    c.primary = ip;
                }
            }
            "unicast_peer" => {
                if unicast_peers(p, k, &mut c.unicast_peers) {
                    // keepalived: "Specifying min_ttl or max_ttl turns on check_unicast_src".
                    spec.check_unicast_src_explicit = true;
                }
            }
            // keepalived 2.2.7 takes no argument and turns it on whatever follows.
            "check_unicast_src" => spec.check_unicast_src_explicit = true,
            "authentication" => {
                for a in k.block.as_deref().unwrap_or_default() {
                    match (a.key.text.as_str(), a.args.first().map(|t| t.text.as_str())) {
                        ("auth_type", Some("PASS")) => {}
                        ("auth_type", Some(other)) => {
                            p.report(&a.key, Severity::Error, format!("auth_type {other} is not supported (PASS only)"))
                        }
                        ("auth_pass", Some(pass)) => c.auth = Some(pass_key(pass)),
                        (other, _) => p.report(
                            &a.key,
                            Severity::Warning,
                            format!("unknown authentication keyword {other}: ignored"),
                        ),
                    }
                }
            }
            "virtual_ipaddress" => {
                for v in k.block.as_deref().unwrap_or_default() {
                    if c.vips.len() == MAX_ADDRESSES {
                        // keepalived 2.2.7: "Number of VIPs (256) exceeds maximum/space available
                        // in packet (max 255 addresses) - excess moved to eVIPs": added, but never
                        // advertised, so a peer drops every advert for its address list.
                        p.report(
                            &v.key,
                            Severity::Error,
                            format!(
                                "VIP {}: one advert carries at most {MAX_ADDRESSES} addresses (keepalived 2.2.7 adds \
                                 the excess without advertising it)",
                                MAX_ADDRESSES + 1
                            ),
                        );
                        break;
                    }
                    if let Some(vip) = read_vip(p, v) {
                        c.vips.push(vip.addr);
                        spec.vips.push(vip);
                    }
                }
            }
            "track_script" => {
                for t in k.block.as_deref().unwrap_or_default() {
                    let Some(script) = scripts.iter().find(|sc| sc.name == t.key.text) else {
                        p.report(&t.key, Severity::Error, format!("track_script {}: no such vrrp_script", t.key.text));
                        continue;
                    };
                    let default = (script.weight, script.reverse);
                    let Some((weight, reverse)) = tracked_weight(p, t, "track_script", default) else { continue };
                    c.checks.push(CheckConfig {
                        name: script.name.clone(),
                        weight,
                        rise: script.rise,
                        fall: script.fall,
                        reverse,
                    });
                }
            }
            "track_interface" => {
                for t in k.block.as_deref().unwrap_or_default() {
                    if let Some((weight, reverse)) = tracked_weight(p, t, "track_interface", (0, false)) {
                        spec.track_interfaces.push(TrackedInterface { name: t.key.text.clone(), weight, reverse });
                    }
                }
            }
            "notify_master" => spec.notify.master = notify_script(p, k),
            "notify_backup" => spec.notify.backup = notify_script(p, k),
            "notify_fault" => spec.notify.fault = notify_script(p, k),
            "notify_stop" => spec.notify.stop = notify_script(p, k),
            "notify" => spec.notify.any = notify_script(p, k),
            "garp_master_delay" => c.garp_delay = seconds(p, k).unwrap_or(c.garp_delay),
            "garp_master_repeat" => c.garp_repeat = garp_count(p, k, 1).unwrap_or(c.garp_repeat),
            "garp_master_refresh" => c.garp_refresh = refresh_seconds(p, k),
            "garp_lower_prio_delay" => c.garp_lower_prio_delay = seconds(p, k).or(c.garp_lower_prio_delay),
            "garp_lower_prio_repeat" => c.garp_lower_prio_repeat = garp_count(p, k, 0).or(c.garp_lower_prio_repeat),
            "higher_prio_send_advert" => {
                if let Some(on) = flag(p, k) {
                    c.higher_prio_send_advert = on;
                }
            }
            "down_timer_adverts" => c.down_timer_adverts = down_timer_adverts(p, k).unwrap_or(c.down_timer_adverts),
            "skip_check_adv_addr" => c.check_vips = false,
            other => unimplemented(p, keywords::instance(other), k, "vrrp_instance"),
        }
    }
    // Tracked interfaces become checks the backend feeds with their carrier; the instance's own
    // interface is always tracked (FAULT), so keepalived ignores it there, and so do we.
    spec.track_interfaces.retain(|TrackedInterface { name, .. }| {
        let own = spec.interface.as_deref() == Some(name.as_str());
        if own {
            p.report(
                &s.key,
                Severity::Warning,
                format!("vrrp_instance {}: track_interface {name} is its own interface: ignored", spec.name),
            );
        }
        !own
    });
    for t in &spec.track_interfaces {
        spec.config.checks.push(CheckConfig {
            name: format!("{TRACK_INTERFACE_PREFIX}{}", t.name),
            weight: t.weight,
            rise: 1,
            fall: 1,
            reverse: t.reverse,
        });
    }
    if spec.initial_master && !priority_given {
        spec.config.priority = 255; // keepalived: state MASTER without a priority is the owner
    }
    if spec.config.vrid == 0 {
        p.report(
            &s.key,
            Severity::Error,
            format!("vrrp_instance {}: virtual_router_id 1 to 255 is required", spec.name),
        );
    }
    if spec.config.vips.is_empty() {
        p.report(&s.key, Severity::Error, format!("vrrp_instance {}: no virtual_ipaddress", spec.name));
    }
    let ipv6 = spec.config.vips.first().is_some_and(IpAddr::is_ipv6);
    if spec.config.primary.is_unspecified() && ipv6 {
        spec.config.primary = IpAddr::from([0u16; 8]);
    }
    // keepalived: the instance's `version`, else `vrrp_version`, but "IPv6 instances will
    // always use version 3" (keepalived.conf(5)); an explicit `version 2` there is refused.
    spec.config.version = match version {
        Some((Version::V2, at)) if ipv6 => {
            p.report(&at, Severity::Error, "version 2 with IPv6 VIPs: VRRPv2 is IPv4 only".into());
            Some(Version::V3)
        }
        Some((v, _)) => Some(v),
        None if ipv6 => Some(Version::V3),
        None => g.version,
    };
    if let Some((given, at)) = advert_int {
        spec.config.advert_interval = keepalived_interval(p, &at, given, spec.config.version());
    }
    Some(spec)
}

/// The interval keepalived 2.2.7 runs for `advert_int given` (0.01 to 255 s) in `version`, as
/// its `vrrp_complete_instance` makes it, with a warning where it differs (checked against the
/// installed 2.2.7's data dump, SIGUSR1): v2 rounds half up to whole seconds, at least 1 ("must
/// be an integer. rounding": 1.5 runs 2 s, 0.4 runs 1 s); v3 rounds half up to 10 ms ("must be
/// in units of 10ms - rounding": 0.015 runs 20 ms) and clamps to 40.95 s ("Setting to 40.95s").
fn keepalived_interval(p: &mut Parser<'_>, at: &Token, given: Duration, version: Version) -> Duration {
    let micros = given.as_micros();
    let (unit, max) = match version {
        Version::V2 => (1_000_000u128, 255),
        Version::V3 => (10_000u128, 4095),
    };
    let units = ((micros + unit / 2) / unit).clamp(1, max);
    let runs = Duration::from_micros((units * unit) as u64);
    if runs != given {
        let why = if micros > max * unit {
            "is longer than VRRPv3 carries"
        } else if version == Version::V2 {
            "is not whole seconds, as VRRPv2 needs"
        } else {
            "is not a multiple of 10 ms, as VRRPv3 needs"
        };
        p.report(
            at,
            Severity::Warning,
            format!("advert_int {}: {why}; keepalived 2.2.7 runs {runs:?}, and so does bmnet", at.text),
        );
    }
    runs
}

fn ip_arg(p: &mut Parser<'_>, s: &Stmt, i: usize) -> Option<IpAddr> {
    let Some(t) = s.args.get(i) else {
        p.report(&s.key, Severity::Error, format!("{} needs an address", s.key.text));
        return None;
    };
    let ip = t.text.parse().ok();
    if ip.is_none() {
        p.report(t, Severity::Error, format!("{}: {:?} is not an IP address", s.key.text, t.text));
    }
    ip
}

fn read_vip(p: &mut Parser<'_>, s: &Stmt) -> Option<Vip> {
    let (addr_text, prefix) = match s.key.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s.key.text.as_str(), None),
    };
    let Ok(addr) = addr_text.parse::<IpAddr>() else {
        p.report(&s.key, Severity::Error, format!("virtual_ipaddress: {:?} is not an address", s.key.text));
        return None;
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix.map(str::parse::<u8>) {
        None => max,
        Some(Ok(l)) if l <= max => l,
        Some(_) => {
            p.report(&s.key, Severity::Error, format!("virtual_ipaddress: bad prefix in {:?}", s.key.text));
            return None;
        }
    };
    let mut vip = Vip { addr, prefix_len, dev: None, label: None };
    let mut i = 0;
    while i < s.args.len() {
        match (s.args[i].text.as_str(), s.args.get(i + 1)) {
            ("dev", Some(v)) => vip.dev = Some(v.text.clone()),
            ("label", Some(v)) => vip.label = Some(v.text.clone()),
            ("brd" | "scope", Some(_)) => {}
            (other, _) => {
                p.report(&s.args[i], Severity::Error, format!("virtual_ipaddress option {other} is not supported"));
                return Some(vip);
            }
        }
        i += 2;
    }
    Some(vip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(parse_seconds("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(parse_seconds("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_seconds(".5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_seconds("0.0000005"), Some(Duration::from_micros(1)));
        assert_eq!(parse_seconds("1.2345674"), Some(Duration::from_micros(1_234_567)));
        for bad in ["", ".", "-1", "1e3", "0x10", "1.2.3", "nan"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }
}
