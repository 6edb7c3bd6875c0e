//! `bmnet vrrp`: keepalived.conf validation, and the VRRP daemon (`run`) on the socket backend.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bm_vrrp::socket::{
    CheckScript, Daemon, DaemonSetup, Event, InstanceSetup, KeepalivedDefaults, Options, ScriptPolicy, VipSpec, Wake,
    daemon_setup, script_diagnostics,
};
use bm_vrrp::{CheckConfig, Config, Notify, ScriptUser, UnicastPeer, Version, parse_keepalived, pass_key};
use clap::{Args, Subcommand};
use serde_json::json;

use super::Status;
use super::output::Output;
use super::status::StatusFile;
use super::vrrp_status::{InstanceRecord, VrrpStatus, state_name};

#[derive(Subcommand, Debug)]
pub(crate) enum VrrpCommand {
    /// Validate a keepalived.conf without running it: every unknown keyword by line and column,
    /// errors for what bmnet would run differently (keywords it does not implement that change
    /// behaviour or security, values keepalived would ignore), every script checked as
    /// `vrrp run` checks it (its user, its file, and under enable_script_security whether a
    /// non-root user could change it), and each instance's effective settings. Exit 1 on errors.
    CheckConfig {
        /// The file (includes are read relative to the working directory, as keepalived does).
        file: PathBuf,
    },
    /// Run VRRP instances (a keepalived replacement): from a keepalived.conf, or one instance
    /// from flags. Logs every transition (JSON Lines with --json) and dropped adverts (at most
    /// one line per instance, reason and source every 10 s); SIGTERM or SIGINT resigns
    /// (priority 0), removes the VIPs and exits; SIGHUP re-reads --config and applies it in
    /// place, keeping every instance's state, as keepalived does (adding, removing or moving
    /// instances needs a restart). Needs CAP_NET_RAW and CAP_NET_ADMIN.
    Run(Box<RunArgs>),
    /// Is a `vrrp run` of this network namespace alive and its loop running? Exit 0 when one
    /// is (its status file names a live process, by PID and start time, and was refreshed
    /// within --max-age: the daemon refreshes it at least every 30 s), 1 otherwise. The
    /// liveness probe of the static pod and the systemd unit; a FAULT instance is alive.
    Health {
        /// The oldest status accepted, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 75)]
        max_age: u64,
    },
    /// The VRIDs OpenShift gives a cluster's API and ingress VIPs (as `runtimecfg vr-ids`
    /// prints them: derived from the cluster name). Exit 1 when two names given collide.
    VrIds {
        /// Cluster names (install-config's metadata.name).
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Listen to the VRRP adverts on an interface for a while and list every router heard
    /// (v2 and v3, IPv4 and IPv6, multicast and unicast adverts sent to this host). With
    /// --cluster-name and --vip, exit 1 when one of the cluster's VRIDs or VIPs is in use.
    /// Needs CAP_NET_RAW.
    Listen {
        /// The interface (the cluster's machine network).
        #[arg(long, value_name = "IFACE", value_hint = clap::ValueHint::Other)]
        interface: String,
        /// How long to listen (keepalived advertises every second by default).
        #[arg(long, value_name = "SECONDS", default_value = "3")]
        seconds: String,
        /// The cluster's name: its VRIDs are checked.
        #[arg(long, value_name = "NAME")]
        cluster_name: Option<String>,
        /// The cluster's VIPs (API and ingress), repeatable.
        #[arg(long = "vip", value_name = "IP", value_hint = clap::ValueHint::Other)]
        vips: Vec<IpAddr>,
    },
}

/// `bmnet vrrp run`.
#[derive(Args, Debug)]
pub(crate) struct RunArgs {
    /// A keepalived.conf to run (exclusive with the single-instance flags).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["interface", "vrid", "vip", "script_user", "enable_script_security"])]
    config: Option<PathBuf>,
    /// The instance's name in logs.
    #[arg(long, default_value = "VI_1")]
    name: String,
    /// The interface to run on.
    #[arg(long, required_unless_present = "config")]
    interface: Option<String>,
    /// Virtual router id (1-255).
    #[arg(long, required_unless_present = "config")]
    vrid: Option<u8>,
    /// Base priority (1-255; 255 is the address owner).
    #[arg(long, default_value_t = 100)]
    priority: u8,
    /// A virtual address with its prefix length (repeatable; one family; at most 255).
    #[arg(long, value_name = "CIDR", required_unless_present = "config")]
    vip: Vec<String>,
    /// Advertisement interval in seconds, decimal as keepalived's advert_int (v3: a multiple
    /// of 0.01 from 0.01 to 40.95; v2: whole seconds from 1 to 255).
    #[arg(long, value_name = "SECONDS", default_value = "1")]
    advert_int: String,
    /// VRRP version (default: 2 for IPv4, 3 for IPv6, as keepalived's vrrp_version). Not
    /// `--version`, which prints bmnet's.
    #[arg(long, value_parser = ["2", "3"])]
    vrrp_version: Option<String>,
    /// A unicast peer (repeatable); without any, adverts go to the multicast group.
    #[arg(long, value_name = "ADDR")]
    unicast_peer: Vec<IpAddr>,
    /// The source address of adverts (default: the interface's primary address, or its IPv6
    /// link-local address).
    #[arg(long, value_name = "ADDR")]
    unicast_src: Option<IpAddr>,
    /// Accept unicast adverts from any source, as keepalived does without check_unicast_src
    /// (bmnet drops adverts from anyone but the unicast peers by default; an instance of a
    /// --config file that asks for check_unicast_src, vrrp_check_unicast_src or a peer's
    /// min_ttl/max_ttl keeps the check).
    #[arg(long)]
    no_check_unicast_src: bool,
    /// Never preempt a lower-priority master.
    #[arg(long)]
    nopreempt: bool,
    /// VRRPv2 simple password (keepalived keeps the first 8 characters).
    #[arg(long, value_name = "PASSWORD")]
    auth_pass: Option<String>,
    /// A check command, split into words as keepalived splits a vrrp_script's `script` and
    /// run without a shell; exit status 0 means passing.
    #[arg(long, value_name = "CMD")]
    check: Option<String>,
    /// Seconds between two runs of the check.
    #[arg(long, value_name = "SECONDS", default_value = "1", requires = "check")]
    check_interval: String,
    /// Seconds a run may take before it is stopped and counts as failed (default: the interval).
    #[arg(long, value_name = "SECONDS", requires = "check")]
    check_timeout: Option<String>,
    /// Weight: added while passing if positive, subtracted while failing if negative, FAULT
    /// while failing if 0 (keepalived's semantics).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, requires = "check")]
    check_weight: i32,
    /// Consecutive successes to count as passing.
    #[arg(long, default_value_t = 1, requires = "check")]
    check_rise: u32,
    /// Consecutive failures to count as failing.
    #[arg(long, default_value_t = 1, requires = "check")]
    check_fall: u32,
    /// The user (and group) the check runs as, keepalived's script_user (default: the
    /// keepalived_script user if it exists, else root).
    #[arg(long, value_name = "USER[:GROUP]")]
    script_user: Option<String>,
    /// Refuse a check run as root that a non-root user could change (keepalived's
    /// enable_script_security).
    #[arg(long)]
    enable_script_security: bool,
    /// Seconds a notify script may run before it is stopped with everything it started
    /// (keepalived has no limit).
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    notify_timeout: String,
}

#[allow(clippy::disallowed_methods)] // The CLI reads the files it is given.
fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

pub(crate) fn run(out: &mut Output, cmd: VrrpCommand) -> Status {
    match cmd {
        VrrpCommand::CheckConfig { file } => check_config(out, &file),
        VrrpCommand::Health { max_age } => health(out, Duration::from_secs(max_age)),
        VrrpCommand::Run(args) => run_daemon(out.json(), &args),
        VrrpCommand::VrIds { names } => super::vrrp_survey::vr_ids(out, &names),
        VrrpCommand::Listen { interface, seconds: text, cluster_name, vips } => match seconds("seconds", &text) {
            Ok(d) => super::vrrp_survey::listen(out, &interface, d, cluster_name.as_deref(), &vips),
            Err(e) => {
                eprintln!("bmnet: {e}");
                Status::Failure
            }
        },
    }
}

/// `bmnet vrrp health`: the status files of this namespace's daemons, judged by age.
#[allow(clippy::disallowed_methods)] // The wall clock, against the files' modification times.
fn health(out: &mut Output, max_age: Duration) -> Status {
    let reading = super::status::read_all::<VrrpStatus>();
    let now = SystemTime::now();
    let mut healthy = false;
    for daemon in &reading.live {
        let age = daemon.modified.and_then(|m| now.duration_since(m).ok()).unwrap_or(Duration::MAX);
        let fresh = age <= max_age;
        healthy |= fresh;
        let states: Vec<String> =
            daemon.body.instances.iter().map(|i| format!("{} {}", i.name, state_name(i.state))).collect();
        if out.json() {
            out.json_line(&json!({ "type": "vrrp_health", "pid": daemon.pid, "ok": fresh,
                                   "age_ms": u64::try_from(age.as_millis()).unwrap_or(u64::MAX), "instances": states }));
        } else if fresh {
            out.text(&format!("ok: pid {}, status {} s old: {}\n", daemon.pid, age.as_secs(), states.join(", ")));
        } else {
            eprintln!(
                "bmnet: pid {}: status not refreshed for {} s (at most {} s): is its loop stuck?",
                daemon.pid,
                age.as_secs(),
                max_age.as_secs()
            );
        }
    }
    if reading.live.is_empty() {
        eprintln!(
            "bmnet: no bmnet vrrp run in this network namespace (status directory {})",
            super::status::dir().display()
        );
    }
    if healthy { Status::Ok } else { Status::Problems }
}

fn check_config(out: &mut Output, file: &Path) -> Status {
    let text = match read(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bmnet: {}: {e}", file.display());
            return Status::Failure;
        }
    };
    let mut conf = parse_keepalived(&text, &file.display().to_string(), &mut |p| read(Path::new(p)));
    let scripts = script_diagnostics(&conf);
    conf.diagnostics.extend(scripts);
    for d in &conf.diagnostics {
        if out.json() {
            out.json_line(&json!({ "type": "diagnostic", "diagnostic": d }));
        } else {
            out.text(&format!("{d}\n"));
        }
    }
    for i in &conf.instances {
        let c = &i.config;
        if out.json() {
            out.json_line(&json!({ "type": "instance", "instance": i }));
        } else {
            let checks: Vec<String> = c.checks.iter().map(|k| format!("{}({:+})", k.name, k.weight)).collect();
            let max = c.priority as i32 + c.checks.iter().filter(|k| k.weight > 0).map(|k| k.weight).sum::<i32>();
            out.text(&format!(
                "instance {}: vrid {} priority {} (up to {}) v{} every {:?}, {}, VIPs {}{}\n",
                i.name,
                c.vrid,
                c.priority,
                max.clamp(1, 254).max(i32::from(c.priority)),
                if c.version() == Version::V2 { 2 } else { 3 },
                c.advert_interval,
                if c.unicast_peers.is_empty() {
                    "multicast".to_string()
                } else {
                    let peers: Vec<String> = c.unicast_peers.iter().map(|p| p.addr.to_string()).collect();
                    let checked = if c.checks_unicast_src() { "only from them" } else { "from any source" };
                    format!("unicast to {} ({checked})", peers.join(","))
                },
                i.vips.iter().map(|v| format!("{}/{}", v.addr, v.prefix_len)).collect::<Vec<_>>().join(","),
                if checks.is_empty() { String::new() } else { format!(", checks {}", checks.join(" ")) },
            ));
        }
    }
    if conf.has_errors() { Status::Problems } else { Status::Ok }
}

/// Seconds as a decimal number, exact to the microsecond (as keepalived reads its timers).
pub(crate) fn seconds(flag: &str, text: &str) -> Result<Duration, String> {
    let bad = || format!("--{flag} {text}: expected seconds (a non-negative decimal number)");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return Err(bad());
    }
    let secs: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let micros: u64 = if frac.is_empty() { 0 } else { format!("{frac:0<6}").parse().map_err(|_| bad())? };
    Duration::from_secs(secs).checked_add(Duration::from_micros(micros)).ok_or_else(bad)
}

fn parse_vip(text: &str) -> Result<VipSpec, String> {
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| format!("--vip {text}: not an IP address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix_len = match prefix {
        None => max,
        Some(p) => p
            .parse::<u8>()
            .ok()
            .filter(|&p| p <= max)
            .ok_or_else(|| format!("--vip {text}: the prefix length must be 0 to {max}"))?,
    };
    Ok(VipSpec { addr, prefix_len, interface: None, label: None })
}

/// The single instance described by the flags.
fn from_flags(args: &RunArgs) -> Result<DaemonSetup, String> {
    let interface = args.interface.clone().ok_or("--interface is required without --config")?;
    let vrid = args.vrid.ok_or("--vrid is required without --config")?;
    let vips = args.vip.iter().map(|v| parse_vip(v)).collect::<Result<Vec<_>, _>>()?;
    let first = vips.first().ok_or("at least one --vip is required without --config")?;
    let unspecified =
        if first.addr.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
    let mut config = Config::new(
        vrid,
        args.priority,
        args.unicast_src.unwrap_or(unspecified),
        vips.iter().map(|v| v.addr).collect(),
    );
    config.advert_interval = seconds("advert-int", &args.advert_int)?;
    config.version = args.vrrp_version.as_deref().map(|v| if v == "2" { Version::V2 } else { Version::V3 });
    config.unicast_peers = args.unicast_peer.iter().map(|&p| UnicastPeer::from(p)).collect();
    config.check_unicast_src = !args.no_check_unicast_src;
    config.preempt = !args.nopreempt;
    if let Some(pass) = &args.auth_pass {
        if pass.is_empty() {
            return Err("--auth-pass must not be empty".into());
        }
        config.auth = Some(pass_key(pass));
    }
    let mut scripts = Vec::new();
    if let Some(cmd) = &args.check {
        let interval = seconds("check-interval", &args.check_interval)?;
        if interval.is_zero() {
            return Err("--check-interval must be more than 0".into());
        }
        let timeout = match &args.check_timeout {
            Some(t) => seconds("check-timeout", t)?,
            None => interval,
        };
        config.checks.push(CheckConfig {
            name: "check".into(),
            weight: args.check_weight,
            rise: args.check_rise,
            fall: args.check_fall,
            reverse: false,
        });
        scripts.push(CheckScript::from_command("check", cmd, interval, timeout).map_err(|e| format!("--check: {e}"))?);
    }
    let script_user = args.script_user.as_deref().map(|s| match s.split_once(':') {
        Some((user, group)) => ScriptUser { user: user.into(), group: Some(group.into()) },
        None => ScriptUser { user: s.into(), group: None },
    });
    let options = Options {
        script_policy: ScriptPolicy { security: args.enable_script_security, script_user },
        notify_timeout: seconds("notify-timeout", &args.notify_timeout)?,
    };
    let setup = InstanceSetup { name: args.name.clone(), interface, config, vips, notify: Notify::default() };
    Ok(DaemonSetup { instances: vec![setup], scripts, options })
}

/// UTC as RFC 3339 with milliseconds.
#[allow(clippy::disallowed_methods)] // The CLI stamps its log lines with the wall clock.
pub(crate) fn timestamp() -> String {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

fn log_event(json: bool, event: &Event) {
    let at = timestamp();
    let mut stdout = std::io::stdout().lock();
    let line = match event {
        Event::Transition { instance, from, to, reason, priority } => {
            if json {
                // `reason` stays the sentence it has always been; `cause` is the typed reason.
                super::output::versioned(json!({ "instance": instance, "from": from, "to": to,
                        "reason": reason.to_string(), "cause": reason, "at": at, "priority": priority }))
                .to_string()
            } else {
                format!("{at} {instance}: {} -> {} ({reason}), priority {priority}", state_name(*from), state_name(*to))
            }
        }
        Event::Status { .. } => return,
        other => {
            let text = match other {
                Event::Dropped { instance, from, reason, report } => {
                    let mut line = format!("{instance}: dropped an advert from {from}: {reason}");
                    if report.suppressed > 0 || report.suppressed_elsewhere > 0 {
                        line += &format!(
                            " ({} more like it from {from} and {} others dropped since the last report)",
                            report.suppressed, report.suppressed_elsewhere
                        );
                    }
                    line
                }
                Event::CheckFailed { script, reason } => format!("check {script} failed: {reason}"),
                Event::Warning { instance: Some(i), message } => format!("{i}: {message}"),
                Event::Warning { instance: None, message } => message.clone(),
                _ => format!("{other:?}"),
            };
            eprintln!("{at} bmnet: {text}");
            return;
        }
    };
    // A closed stdout must not stop the daemon: the VIPs matter more than the log.
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

fn run_daemon(json: bool, args: &RunArgs) -> Status {
    let setup = match &args.config {
        Some(file) => load_conf(file, args),
        None => from_flags(args).map_err(|e| (Status::Problems, e)),
    };
    let DaemonSetup { instances: setups, scripts, options } = match setup {
        Ok(s) => s,
        Err((status, e)) => {
            eprintln!("bmnet: {e}");
            return status;
        }
    };
    // Signals arrive on a socket pair the daemon polls with everything else.
    let (stop_read, stop_write) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bmnet: cannot create the signal pipe: {e}");
            return Status::Failure;
        }
    };
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let registered = stop_write.try_clone().and_then(|w| signal_hook::low_level::pipe::register(signal, w));
        if let Err(e) = registered {
            eprintln!("bmnet: cannot handle signals: {e}");
            return Status::Failure;
        }
    }
    // SIGHUP reloads the configuration in place, as keepalived's does.
    let (hup_read, hup_write) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("bmnet: cannot create the signal pipe: {e}");
            return Status::Failure;
        }
    };
    let registered = hup_read
        .set_nonblocking(true)
        .and_then(|()| signal_hook::low_level::pipe::register(signal_hook::consts::SIGHUP, hup_write));
    if let Err(e) = registered {
        eprintln!("bmnet: cannot handle signals: {e}");
        return Status::Failure;
    }
    let mut daemon = match Daemon::with_options(setups, scripts, options) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    for (name, _, priority) in daemon.states() {
        eprintln!("{} bmnet: {name}: starting, priority {priority}", timestamp());
    }
    // What `bmnet inspect` shows: every instance's state, reason, counters and timers, written
    // on each transition at once and with the daemon's status events (at most every second).
    let status_file = StatusFile::<VrrpStatus>::new();
    let started = timestamp();
    let status = VrrpStatus {
        instances: daemon.status().into_iter().map(|s| InstanceRecord::new(s, started.clone())).collect(),
        unrouted: None,
    };
    status_file.write(&status);
    // Shared by the event handler and the reload below, one at a time.
    let status = std::cell::RefCell::new(status);
    let mut on_event = |e: Event| {
        match &e {
            Event::Transition { instance, to, reason, priority, .. } => {
                let mut status = status.borrow_mut();
                if let Some(r) = status.instances.iter_mut().find(|r| r.name == *instance) {
                    r.transition(*to, *priority, reason, timestamp());
                    status_file.write(&status);
                }
            }
            Event::Status { instances, unrouted } => {
                let mut status = status.borrow_mut();
                for s in instances {
                    status.update(s.clone());
                }
                status.unrouted = Some(*unrouted);
                status_file.write(&status);
            }
            _ => {}
        }
        log_event(json, &e);
    };
    loop {
        match daemon.run_until(stop_read.as_fd(), Some(hup_read.as_fd()), &mut on_event) {
            Ok(Wake::Stopped) => {
                eprintln!("{} bmnet: stopped", timestamp());
                return Status::Ok;
            }
            Ok(Wake::Reload) => {
                // Empty the pipe: several SIGHUPs in a row are one reload.
                let mut buf = [0u8; 64];
                while (&hup_read).read(&mut buf).is_ok_and(|n| n > 0) {}
                let Some(file) = &args.config else {
                    eprintln!("{} bmnet: SIGHUP: nothing to reload without --config", timestamp());
                    continue;
                };
                match load_conf(file, args).map_err(|(_, e)| e).and_then(
                    |DaemonSetup { instances, scripts, options }| {
                        daemon
                            .reload_with_options(instances, scripts, options, &mut on_event)
                            .map_err(|e| e.to_string())
                    },
                ) {
                    Ok(()) => {
                        eprintln!("{} bmnet: SIGHUP: {} reloaded", timestamp(), file.display());
                        let mut status = status.borrow_mut();
                        for s in daemon.status() {
                            eprintln!("{} bmnet: {}: priority {}", timestamp(), s.name, s.priority);
                            status.update(s);
                        }
                        status_file.write(&status);
                    }
                    Err(e) => eprintln!("{} bmnet: SIGHUP: {e}; still running the previous configuration", timestamp()),
                }
            }
            Err(e) => {
                eprintln!("bmnet: {e}");
                return Status::Failure;
            }
        }
    }
}

/// The instances, scripts and options of a keepalived.conf, its diagnostics (and its scripts'
/// checks) printed; on failure, the exit status it deserves (an unreadable file is a failure,
/// a wrong one a problem) and why.
fn load_conf(file: &Path, args: &RunArgs) -> Result<DaemonSetup, (Status, String)> {
    let text = read(file).map_err(|e| (Status::Failure, format!("{}: {e}", file.display())))?;
    let mut conf = parse_keepalived(&text, &file.display().to_string(), &mut |p| read(Path::new(p)));
    if !conf.has_errors() {
        let scripts = script_diagnostics(&conf);
        conf.diagnostics.extend(scripts);
    }
    for d in &conf.diagnostics {
        eprintln!("{d}");
    }
    if conf.has_errors() {
        return Err((Status::Problems, format!("{} has errors", file.display())));
    }
    let defaults = KeepalivedDefaults {
        check_unicast_src: !args.no_check_unicast_src,
        notify_timeout: seconds("notify-timeout", &args.notify_timeout).map_err(|e| (Status::Problems, e))?,
    };
    daemon_setup(&conf, &defaults).map_err(|e| (Status::Problems, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vip_flags() {
        assert_eq!(parse_vip("10.0.0.5/24").map(|v| (v.addr, v.prefix_len)), Ok(("10.0.0.5".parse().unwrap(), 24)));
        assert_eq!(parse_vip("fd00::5").map(|v| v.prefix_len), Ok(128));
        assert!(parse_vip("10.0.0.5/33").unwrap_err().contains("0 to 32"));
        assert!(parse_vip("nope/3").unwrap_err().contains("not an IP"));
        assert!(seconds("advert-int", "-1").is_err());
        assert_eq!(seconds("advert-int", "0.25"), Ok(Duration::from_millis(250)));
        // Exact decimals: 0.07 is 70 ms (as an f64 it would be 69.999... ms, no multiple of 10 ms).
        assert_eq!(seconds("advert-int", "0.07"), Ok(Duration::from_millis(70)));
        assert!(seconds("advert-int", "1e3").is_err() && seconds("advert-int", ".").is_err());
    }
}
