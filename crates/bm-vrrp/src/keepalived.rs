//! keepalived.conf, the subset OpenShift's templates use: `global_defs`, `vrrp_script`,
//! `vrrp_instance`, `include`, comments. Unknown keywords are reported by line and column,
//! never silently ignored; keywords that would change behaviour and are not supported are
//! errors. Includes are read through a callback, so parsing stays free of I/O.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::instance::{Config, ConfigError};
use crate::packet::Version;
use crate::track::{CheckConfig, TRACK_INTERFACE_PREFIX};

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
    /// The command (run by the backend, with a timeout).
    pub command: String,
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
    /// The user it runs as.
    pub user: Option<String>,
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

/// The notify scripts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notify {
    /// `notify_master`.
    pub master: Option<String>,
    /// `notify_backup`.
    pub backup: Option<String>,
    /// `notify_fault`.
    pub fault: Option<String>,
    /// `notify_stop`.
    pub stop: Option<String>,
    /// `notify` (called with type, name, state, priority).
    pub any: Option<String>,
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
    /// The core's configuration; `primary` is `unicast_src_ip`, or unspecified when the
    /// interface's primary address must be filled in (see [`InstanceSpec::config_for`]).
    pub config: Config,
    /// The VIPs with their prefix, device and label.
    pub vips: Vec<Vip>,
    /// `track_interface` entries.
    pub track_interfaces: Vec<TrackedInterface>,
    /// Notify scripts.
    pub notify: Notify,
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

/// A parsed keepalived.conf.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedConfig {
    /// The instances.
    pub instances: Vec<InstanceSpec>,
    /// The scripts.
    pub scripts: Vec<Script>,
    /// Every finding, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl KeepalivedConfig {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(|d| d.severity == Severity::Error)
    }
}

/// A token and where it is.
#[derive(Clone, Debug)]
struct Token {
    text: String,
    line: usize,
    column: usize,
    file: usize,
}

/// A statement: a keyword, its arguments, and a block if it has one.
#[derive(Clone, Debug)]
struct Stmt {
    key: Token,
    args: Vec<Token>,
    block: Option<Vec<Stmt>>,
}

/// Splits text into tokens: `#` and `!` start comments, `"..."` is one token, braces are
/// tokens of their own.
fn tokenize(text: &str, file: usize) -> Vec<Token> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            if c == '#' || c == '!' {
                break;
            }
            if c.is_whitespace() {
                i += 1;
                continue;
            }
            let column = line[..at].chars().count() + 1;
            if c == '{' || c == '}' {
                out.push(Token { text: c.to_string(), line: n + 1, column, file });
                i += 1;
            } else if c == '"' {
                let mut s = String::new();
                i += 1;
                while i < chars.len() && chars[i].1 != '"' {
                    s.push(chars[i].1);
                    i += 1;
                }
                i += 1;
                out.push(Token { text: s, line: n + 1, column, file });
            } else {
                let mut s = String::new();
                while i < chars.len() && !chars[i].1.is_whitespace() && !matches!(chars[i].1, '{' | '}' | '#' | '!') {
                    s.push(chars[i].1);
                    i += 1;
                }
                out.push(Token { text: s, line: n + 1, column, file });
            }
        }
    }
    out
}

struct Parser<'i> {
    files: Vec<String>,
    diagnostics: Vec<Diagnostic>,
    include: &'i mut dyn FnMut(&str) -> Result<String, String>,
}

impl Parser<'_> {
    fn report(&mut self, t: &Token, severity: Severity, message: String) {
        self.diagnostics.push(Diagnostic {
            file: self.files[t.file].clone(),
            line: t.line,
            column: t.column,
            severity,
            message,
        });
    }

    /// Statements from `tokens[*at..]` until a `}` (consumed) or the end; `include` splices the
    /// included file's statements in place.
    fn statements(&mut self, tokens: &[Token], at: &mut usize, depth: usize) -> Vec<Stmt> {
        let mut out = Vec::new();
        while *at < tokens.len() {
            let key = tokens[*at].clone();
            *at += 1;
            if key.text == "}" {
                return out;
            }
            if key.text == "{" {
                // An anonymous block: its contents belong to the enclosing statement list.
                let inner = self.statements(tokens, at, depth);
                out.extend(inner);
                continue;
            }
            let mut args = Vec::new();
            while *at < tokens.len()
                && tokens[*at].line == key.line
                && tokens[*at].file == key.file
                && tokens[*at].text != "{"
                && tokens[*at].text != "}"
            {
                args.push(tokens[*at].clone());
                *at += 1;
            }
            let block = if *at < tokens.len() && tokens[*at].text == "{" {
                *at += 1;
                Some(self.statements(tokens, at, depth))
            } else {
                None
            };
            if key.text == "include" {
                let Some(path) = args.first() else {
                    self.report(&key, Severity::Error, "include needs a file".into());
                    continue;
                };
                if depth >= 8 {
                    self.report(&key, Severity::Error, "includes nested more than 8 deep".into());
                    continue;
                }
                match (self.include)(&path.text) {
                    Ok(text) => {
                        self.files.push(path.text.clone());
                        let inner = tokenize(&text, self.files.len() - 1);
                        let mut i = 0;
                        let stmts = self.statements(&inner, &mut i, depth + 1);
                        out.extend(stmts);
                    }
                    Err(e) => self.report(path, Severity::Error, format!("cannot include {}: {e}", path.text)),
                }
                continue;
            }
            out.push(Stmt { key, args, block });
        }
        out
    }
}

/// Parses keepalived.conf text. `file` names it in diagnostics; `include` returns the text of
/// an included file (globs are the callback's business).
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
    let mut p = Parser { files: vec![file.to_string()], diagnostics: Vec::new(), include };
    let tokens = tokenize(text, 0);
    let mut at = 0;
    let stmts = p.statements(&tokens, &mut at, 0);
    let mut out = KeepalivedConfig::default();
    let mut global = Global::default();
    for s in stmts.iter().filter(|s| s.key.text == "global_defs") {
        global.read(&mut p, s);
    }
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
            "vrrp_sync_group" | "virtual_server" | "virtual_server_group" | "static_ipaddress" | "static_routes" => {
                p.report(&s.key, Severity::Error, format!("{} is not supported", s.key.text));
            }
            other => p.report(&s.key, Severity::Warning, format!("unknown keyword {other}: ignored")),
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

fn seconds(p: &mut Parser<'_>, s: &Stmt) -> Option<Duration> {
    let v: f64 = num(p, s, 0)?;
    let d = Duration::try_from_secs_f64(v).ok();
    if d.is_none() {
        p.report(&s.args[0], Severity::Error, format!("{}: {v} is not a duration", s.key.text));
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
                "vrrp_garp_master_repeat" => self.garp_repeat = num(p, k, 0),
                "vrrp_garp_master_refresh" => self.garp_refresh = seconds(p, k),
                "vrrp_garp_lower_prio_delay" => self.garp_lower_prio_delay = seconds(p, k),
                "vrrp_garp_lower_prio_repeat" => self.garp_lower_prio_repeat = num(p, k, 0),
                "vrrp_down_timer_adverts" => self.down_timer_adverts = num(p, k, 0),
                "vrrp_skip_check_adv_addr" => self.skip_check_adv_addr = true,
                // Accepted: identity, the script runner's and the backend's settings.
                "router_id"
                | "enable_script_security"
                | "script_user"
                | "vrrp_garp_master_refresh_repeat"
                | "vrrp_garp_interval"
                | "vrrp_gna_interval"
                | "notification_email"
                | "notification_email_from"
                | "smtp_server"
                | "smtp_connect_timeout" => {}
                "max_auto_priority" => p.report(
                    &k.key,
                    Severity::Warning,
                    "max_auto_priority has no effect: bmnet runs no realtime scheduler".into(),
                ),
                "vrrp_higher_prio_send_advert" => self.higher_prio_send_advert = flag(p, k),
                "vrrp_strict"
                | "vrrp_lower_prio_no_advert"
                | "vrrp_mcast_group4"
                | "vrrp_mcast_group6"
                | "vrrp_startup_delay"
                | "vrrp_min_garp"
                | "use_pid_dir"
                | "net_namespace"
                | "vrrp_check_unicast_src" => {
                    p.report(&k.key, Severity::Error, format!("{} changes behaviour and is not supported", k.key.text));
                }
                other => p.report(&k.key, Severity::Warning, format!("unknown global_defs keyword {other}: ignored")),
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
        interval: Duration::from_secs(1),
        timeout: Duration::ZERO,
        weight: 0,
        reverse: false,
        rise: 1,
        fall: 1,
        user: None,
    };
    for k in s.block.as_deref().unwrap_or_default() {
        match k.key.text.as_str() {
            "script" => script.command = k.args.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" "),
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
            "user" => script.user = k.args.first().map(|t| t.text.clone()),
            "init_fail" => p.report(&k.key, Severity::Error, "init_fail is not supported".into()),
            other => p.report(&k.key, Severity::Warning, format!("unknown vrrp_script keyword {other}: ignored")),
        }
    }
    if script.command.is_empty() {
        p.report(&s.key, Severity::Error, format!("vrrp_script {}: no script", script.name));
    }
    if script.timeout.is_zero() {
        script.timeout = script.interval;
    }
    Some(script)
}

fn read_instance(p: &mut Parser<'_>, s: &Stmt, g: &Global, scripts: &[Script]) -> Option<InstanceSpec> {
    let Some(name) = s.args.first() else {
        p.report(&s.key, Severity::Error, "vrrp_instance needs a name".into());
        return None;
    };
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    let mut c = Config::new(0, 100, unspecified, Vec::new());
    c.version = g.version;
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
        vips: Vec::new(),
        track_interfaces: Vec::new(),
        notify: Notify::default(),
    };
    let mut priority_given = false;
    for k in s.block.as_deref().unwrap_or_default() {
        let c = &mut spec.config;
        match k.key.text.as_str() {
            "state" => spec.initial_master = k.args.first().is_some_and(|t| t.text == "MASTER"),
            "interface" => spec.interface = k.args.first().map(|t| t.text.clone()),
            "virtual_router_id" => c.vrid = num(p, k, 0).unwrap_or(0),
            "priority" => {
                c.priority = num(p, k, 0).unwrap_or(100);
                priority_given = true;
            }
            "advert_int" => c.advert_interval = seconds(p, k).unwrap_or(c.advert_interval),
            "version" => {
                c.version = match num::<u8>(p, k, 0) {
                    Some(2) => Some(Version::V2),
                    Some(3) => Some(Version::V3),
                    _ => c.version,
                }
            }
            "nopreempt" => c.preempt = false,
            "preempt_delay" => c.preempt_delay = seconds(p, k).unwrap_or_default(),
            "unicast_src_ip" => {
                if let Some(ip) = ip_arg(p, k, 0) {
                    c.primary = ip;
                }
            }
            "unicast_peer" => {
                for t in k
                    .block
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .flat_map(|st| std::iter::once(&st.key).chain(&st.args))
                {
                    match t.text.parse::<IpAddr>() {
                        Ok(ip) => c.unicast_peers.push(ip),
                        Err(_) if matches!(t.text.as_str(), "min_ttl" | "max_ttl") => {
                            p.report(t, Severity::Error, format!("{} is not supported", t.text));
                        }
                        Err(_) if t.text.chars().all(|ch| ch.is_ascii_digit()) => {}
                        Err(_) => {
                            p.report(t, Severity::Error, format!("unicast_peer: {:?} is not an IP address", t.text))
                        }
                    }
                }
            }
            "authentication" => {
                for a in k.block.as_deref().unwrap_or_default() {
                    match (a.key.text.as_str(), a.args.first().map(|t| t.text.as_str())) {
                        ("auth_type", Some("PASS")) => {}
                        ("auth_type", Some(other)) => {
                            p.report(&a.key, Severity::Error, format!("auth_type {other} is not supported (PASS only)"))
                        }
                        ("auth_pass", Some(pass)) => {
                            // keepalived uses the first 8 bytes, zero-padded.
                            let mut key = [0u8; 8];
                            for (d, s) in key.iter_mut().zip(pass.bytes()) {
                                *d = s;
                            }
                            c.auth = Some(key);
                        }
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
            "notify_master" => spec.notify.master = Some(joined(k)),
            "notify_backup" => spec.notify.backup = Some(joined(k)),
            "notify_fault" => spec.notify.fault = Some(joined(k)),
            "notify_stop" => spec.notify.stop = Some(joined(k)),
            "notify" => spec.notify.any = Some(joined(k)),
            "garp_master_delay" => c.garp_delay = seconds(p, k).unwrap_or(c.garp_delay),
            "garp_master_repeat" => c.garp_repeat = num(p, k, 0).unwrap_or(c.garp_repeat),
            "garp_master_refresh" => c.garp_refresh = seconds(p, k).unwrap_or_default(),
            "garp_lower_prio_delay" => c.garp_lower_prio_delay = seconds(p, k).or(c.garp_lower_prio_delay),
            "garp_lower_prio_repeat" => c.garp_lower_prio_repeat = num(p, k, 0).or(c.garp_lower_prio_repeat),
            "higher_prio_send_advert" => {
                if let Some(on) = flag(p, k) {
                    c.higher_prio_send_advert = on;
                }
            }
            "down_timer_adverts" => c.down_timer_adverts = num(p, k, 0).unwrap_or(3),
            "skip_check_adv_addr" => c.check_vips = false,
            "use_vmac"
            | "vmac_xmit_base"
            | "use_ipvlan"
            | "accept"
            | "strict_mode"
            | "lower_prio_no_advert"
            | "mcast_src_ip"
            | "mcast_dst_ip"
            | "unicast_ttl"
            | "track_file"
            | "track_process"
            | "track_bfd"
            | "virtual_ipaddress_excluded"
            | "virtual_routes"
            | "virtual_rules"
            | "old_unicast_checksum" => {
                p.report(&k.key, Severity::Error, format!("{} changes behaviour and is not supported", k.key.text));
            }
            "debug" | "notify_master_rx_lower_pri" | "notify_priority_changes" | "garp_master_refresh_repeat" => {
                p.report(&k.key, Severity::Warning, format!("{} has no effect in bmnet", k.key.text));
            }
            other => p.report(&k.key, Severity::Warning, format!("unknown vrrp_instance keyword {other}: ignored")),
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
    if spec.config.primary.is_unspecified()
        && let Some(v) = spec.config.vips.first()
        && v.is_ipv6()
    {
        spec.config.primary = IpAddr::from([0u16; 8]);
    }
    Some(spec)
}

fn joined(s: &Stmt) -> String {
    s.args.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join(" ")
}

fn ip_arg(p: &mut Parser<'_>, s: &Stmt, i: usize) -> Option<IpAddr> {
    let t = s.args.get(i)?;
    let ip = bm_addr_like(&t.text);
    if ip.is_none() {
        p.report(t, Severity::Error, format!("{}: {:?} is not an IP address", s.key.text, t.text));
    }
    ip
}

/// An IP address as keepalived accepts it (std's strict grammar: no leading zeros).
fn bm_addr_like(text: &str) -> Option<IpAddr> {
    text.parse().ok()
}

fn read_vip(p: &mut Parser<'_>, s: &Stmt) -> Option<Vip> {
    let (addr_text, prefix) = match s.key.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s.key.text.as_str(), None),
    };
    let Some(addr) = bm_addr_like(addr_text) else {
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
