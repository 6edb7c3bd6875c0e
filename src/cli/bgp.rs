//! `bmnet bgp`: health-gated VIPs announced over BGP (bm-bgp's Speaker and Announcer).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use bm_bgp::{Announcer, AnnouncerCommand, AnnouncerEvent, Event, PeerConfig, Speaker, SpeakerEvent, SpeakerEventKind};
use bm_check::process::{CheckScript, ResolvedScript, ScriptPolicy, policy_warning, resolve_script};
use clap::Subcommand;
use serde_json::json;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::Status;
use super::bgp_config::{self, BgpSetup};
use super::bgp_status::{BgpStatus, SessionRecord, VipRecord};
use super::output::{Output, versioned};
use super::status::StatusFile;
use super::vrrp::timestamp;

#[derive(Subcommand, Debug)]
pub(crate) enum BgpCommand {
    /// Announce the configured VIPs to the BGP peers while their checks pass (health-gated
    /// ECMP: every healthy node announces, the routers spread traffic over them). A VIP goes
    /// on `lo` before it is announced and comes off after it is withdrawn. SIGTERM and
    /// SIGINT withdraw every VIP, then close each session with a Cease carrying
    /// --shutdown-message; SIGHUP re-reads --config and applies its VIPs and checks (peers
    /// need a restart). Events go to stderr, or to stdout as JSON Lines with --json; `bmnet
    /// inspect` shows the sessions and VIPs.
    Run {
        /// The configuration: YAML (or JSON), or TOML when it ends in .toml, in the shape of
        /// OpenShift's bgpVIPConfig (see `bmnet bgp check-config --help`).
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The shutdown communication sent with the Cease on exit (RFC 9003).
        #[arg(long, default_value = "bmnet bgp stopping", value_name = "TEXT")]
        shutdown_message: String,
    },
    /// Check a configuration file as `bmnet bgp run` reads it (and its check scripts as they
    /// would run): exit 0 when it runs, 1 with each problem's place (file:line:column, or the
    /// field: `peers[1].holdTime`). Fields: localASN, routerID, peers[] (peerAddress,
    /// peerASN, port, password or passwordFile, bfdEnabled with bfdReceiveInterval,
    /// bfdTransmitInterval, bfdMultiplier, ebgpMultiHop or ttl, ttlSecurityHops, holdTime,
    /// keepaliveTime, connectRetry, localAddress, nextHopIPv4, nextHopIPv6, localPref),
    /// communities, largeCommunities, checks[] (name, script, interval, timeout, rise, fall,
    /// user), vips[] (address, checks: names or {name, weight, reverse}, med, communities,
    /// largeCommunities), vipInterface (default lo; "" for none), scriptUser,
    /// enableScriptSecurity.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
}

pub(crate) fn run(out: &mut Output, cmd: BgpCommand) -> Status {
    match cmd {
        BgpCommand::CheckConfig { file } => check_config(out, &file),
        BgpCommand::Run { config, shutdown_message } => run_daemon(out.json(), &config, &shutdown_message),
    }
}

/// The setup and its scripts resolved (who runs them, that they may run).
fn load(file: &Path) -> Result<(BgpSetup, Vec<(CheckScript, ResolvedScript)>), String> {
    let setup = bgp_config::load(file)?;
    let resolved = resolve(&setup.scripts, &setup.policy).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok((setup, resolved))
}

fn resolve(scripts: &[CheckScript], policy: &ScriptPolicy) -> Result<Vec<(CheckScript, ResolvedScript)>, String> {
    scripts
        .iter()
        .map(|s| {
            resolve_script(&s.argv, s.user.as_ref(), policy)
                .map(|r| (s.clone(), r))
                .map_err(|e| format!("check {}: {e}", s.name))
        })
        .collect()
}

fn check_config(out: &mut Output, file: &Path) -> Status {
    match load(file) {
        Ok((setup, _)) => {
            if out.json() {
                out.json_line(&json!({ "type": "bgp_config", "file": file, "valid": true,
                    "peers": setup.peers.len(), "vips": setup.vips.len(), "checks": setup.scripts.len() }));
            } else {
                out.text(&format!(
                    "{}: {} peers, {} VIPs, {} checks\n",
                    file.display(),
                    setup.peers.len(),
                    setup.vips.len(),
                    setup.scripts.len()
                ));
            }
            if let Some(w) = policy_warning(&setup.policy, !setup.scripts.is_empty()) {
                eprintln!("bmnet: warning: {w}");
            }
            Status::Ok
        }
        Err(e) => {
            if out.json() {
                out.json_line(&json!({ "type": "bgp_config", "file": file, "valid": false, "error": e }));
            } else {
                eprintln!("{e}");
            }
            Status::Problems
        }
    }
}

/// One JSON Lines record on stdout, or a line on stderr.
fn log(json: bool, record: serde_json::Value, text: Option<String>) {
    if json {
        let mut stdout = std::io::stdout().lock();
        // A closed stdout must not stop the daemon: the VIPs matter more than the log.
        let _ = writeln!(stdout, "{}", versioned(record)).and_then(|()| stdout.flush());
    } else if let Some(text) = text {
        eprintln!("{} bmnet: {text}", timestamp());
    }
}

fn log_speaker(json: bool, e: &SpeakerEvent) {
    let text = match &e.kind {
        SpeakerEventKind::Session { event: Event::StateChanged { from, to, reason } } => {
            Some(format!("peer {}: {from:?} -> {to:?} ({reason})", e.address))
        }
        SpeakerEventKind::Session { event: Event::NotificationSent { notification } } => {
            Some(format!("peer {}: sent NOTIFICATION {notification}", e.address))
        }
        SpeakerEventKind::Session { event: Event::NotificationReceived { notification } } => {
            Some(format!("peer {}: received NOTIFICATION {notification}", e.address))
        }
        SpeakerEventKind::ConnectFailed { error } => Some(format!("peer {}: connect failed: {error}", e.address)),
        SpeakerEventKind::Closed { cause } => Some(format!("peer {}: connection closed: {cause:?}", e.address)),
        SpeakerEventKind::Bfd { event } => Some(format!("peer {}: BFD {event:?}", e.address)),
        SpeakerEventKind::BfdUnavailable { option, error } => {
            Some(format!("peer {}: BFD unavailable ({option:?}: {error})", e.address))
        }
        _ => None,
    };
    log(json, json!({ "type": "bgp_peer", "at": timestamp(), "event": e }), text);
}

fn log_announcer(json: bool, e: &AnnouncerEvent) {
    let text = match e {
        AnnouncerEvent::Announced { prefix, attributes } => Some(match attributes.med {
            Some(med) => format!("VIP {prefix}: announced, MED {med}"),
            None => format!("VIP {prefix}: announced"),
        }),
        AnnouncerEvent::Withdrawn { prefix, reason } => Some(format!("VIP {prefix}: withdrawn: {reason}")),
        AnnouncerEvent::CheckFailed { check, failure } => Some(format!("check {check} failed: {failure}")),
        AnnouncerEvent::CheckPassed { check } => Some(format!("check {check} passes")),
        AnnouncerEvent::AddressFailed { prefix, error } => Some(format!("VIP {prefix}: address: {error}")),
        AnnouncerEvent::AnnounceRefused { prefix, error } => Some(format!("VIP {prefix}: not announced: {error}")),
        AnnouncerEvent::ReloadRefused { error } => Some(format!("reload refused: {error}")),
        _ => Some(format!("{e:?}")),
    };
    log(json, json!({ "type": "bgp_vip", "at": timestamp(), "event": e }), text);
}

fn initial_status(setup: &BgpSetup, at: &str) -> BgpStatus {
    BgpStatus {
        sessions: setup
            .peers
            .iter()
            .map(|p| SessionRecord {
                peer: p.address,
                peer_asn: p.session.peer_asn,
                state: "Idle".into(),
                since: at.to_string(),
                reason: "starting".into(),
                bfd: p.bfd.as_ref().map(|_| "Down".to_string()),
            })
            .collect(),
        vips: setup
            .vips
            .iter()
            .map(|v| VipRecord {
                prefix: v.prefix.to_string(),
                announced: false,
                since: at.to_string(),
                reason: if v.checks.is_empty() { "starting".into() } else { "checks have no verdict yet".into() },
                med: None,
            })
            .collect(),
        checks: Vec::new(),
    }
}

fn same_peers(a: &[PeerConfig], b: &[PeerConfig]) -> bool {
    a == b
}

#[allow(clippy::disallowed_methods)] // The daemon: threads for the speaker and the signals, on purpose.
fn run_daemon(json: bool, config: &Path, shutdown_message: &str) -> Status {
    let (setup, resolved) = match load(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Problems;
        }
    };
    if shutdown_message.len() > 255 {
        eprintln!("bmnet: --shutdown-message: {} bytes, at most 255", shutdown_message.len());
        return Status::Problems;
    }
    if let Some(w) = policy_warning(&setup.policy, !setup.scripts.is_empty()) {
        eprintln!("{} bmnet: warning: {w}", timestamp());
    }
    let mut signals = match signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: cannot handle signals: {e}");
            return Status::Failure;
        }
    };
    let mut speaker = match Speaker::new(setup.peers.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let handle = speaker.handle();
    let mut announcer =
        match Announcer::new(setup.vips.clone(), resolved, setup.vip_interface.as_deref(), handle.clone()) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("bmnet: {e}");
                return Status::Failure;
            }
        };
    // What `bmnet inspect` shows, written on every change from either thread.
    let status_file = Arc::new(StatusFile::<BgpStatus>::new());
    let status = Arc::new(Mutex::new(initial_status(&setup, &timestamp())));
    status_file.write(&status.lock().unwrap_or_else(PoisonError::into_inner));

    let (commands, received) = mpsc::channel();
    let speaker_thread = {
        let (status, status_file) = (Arc::clone(&status), Arc::clone(&status_file));
        // A speaker that ends by itself (a poll failure) takes the VIPs down with it.
        let announcer_stop = commands.clone();
        std::thread::Builder::new().name("bgp-speaker".into()).spawn(move || {
            let result = speaker.run(|e| {
                let mut s = status.lock().unwrap_or_else(PoisonError::into_inner);
                if s.speaker(&e, &timestamp()) {
                    status_file.write(&s);
                }
                drop(s);
                log_speaker(json, &e);
            });
            let _ = announcer_stop.send(AnnouncerCommand::Stop(None));
            result
        })
    };
    let speaker_thread = match speaker_thread {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bmnet: cannot start the speaker: {e}");
            return Status::Failure;
        }
    };

    // Signals become the announcer's commands: a stop withdraws first, then stops the speaker.
    let signal_handle = signals.handle();
    let config_path = config.to_path_buf();
    let message = shutdown_message.to_string();
    let running_peers = setup.peers.clone();
    let signal_thread = std::thread::spawn(move || {
        for signal in signals.forever() {
            if signal == SIGHUP {
                match load(&config_path) {
                    Ok((new, resolved)) => {
                        if !same_peers(&new.peers, &running_peers) {
                            eprintln!(
                                "{} bmnet: SIGHUP: the peers changed; their change needs a restart (VIPs and checks are reloaded)",
                                timestamp()
                            );
                        }
                        eprintln!("{} bmnet: SIGHUP: {} reloaded", timestamp(), config_path.display());
                        let _ = commands.send(AnnouncerCommand::Reload { vips: new.vips, scripts: resolved });
                    }
                    Err(e) => eprintln!("{} bmnet: SIGHUP: {e}; still running the previous configuration", timestamp()),
                }
            } else {
                eprintln!("{} bmnet: stopping: withdrawing every VIP, then closing the sessions", timestamp());
                let _ = commands.send(AnnouncerCommand::Stop(Some(message.clone())));
                return;
            }
        }
    });

    announcer.run(&received, |e| {
        let mut s = status.lock().unwrap_or_else(PoisonError::into_inner);
        if s.announcer(&e, &timestamp()) {
            status_file.write(&s);
        }
        drop(s);
        log_announcer(json, &e);
    });
    signal_handle.close();
    let _ = signal_thread.join();
    let result = speaker_thread.join();
    match result {
        Ok(Ok(())) => {
            eprintln!("{} bmnet: stopped", timestamp());
            Status::Ok
        }
        Ok(Err(e)) => {
            eprintln!("bmnet: the speaker failed: {e}");
            Status::Failure
        }
        Err(_) => {
            eprintln!("bmnet: the speaker thread panicked");
            Status::Failure
        }
    }
}
