//! `bmnet vrrp`: keepalived.conf validation (the daemon arrives with the socket backend).

use std::path::{Path, PathBuf};

use bmnet::vrrp::{Severity, parse_keepalived};
use clap::Subcommand;
use serde_json::json;

use super::Status;
use super::output::Output;

#[derive(Subcommand, Debug)]
pub(crate) enum VrrpCommand {
    /// Validate a keepalived.conf without running it: every unknown keyword by line and column,
    /// errors for what bmnet would run differently, and each instance's effective settings.
    /// Exit 1 on errors.
    CheckConfig {
        /// The file (includes are read relative to the working directory, as keepalived does).
        file: PathBuf,
    },
}

#[allow(clippy::disallowed_methods)] // The CLI reads the files it is given.
fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

pub(crate) fn run(out: &mut Output, cmd: VrrpCommand) -> Status {
    match cmd {
        VrrpCommand::CheckConfig { file } => {
            let text = match read(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("bmnet: {}: {e}", file.display());
                    return Status::Failure;
                }
            };
            let conf = parse_keepalived(&text, &file.display().to_string(), &mut |p| read(Path::new(p)));
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
                    let max =
                        c.priority as i32 + c.checks.iter().filter(|k| k.weight > 0).map(|k| k.weight).sum::<i32>();
                    out.text(&format!(
                        "instance {}: vrid {} priority {} (up to {}) v{} every {:?}, {}, VIPs {}{}\n",
                        i.name,
                        c.vrid,
                        c.priority,
                        max.clamp(1, 254).max(i32::from(c.priority)),
                        if c.version() == bmnet::vrrp::Version::V2 { 2 } else { 3 },
                        c.advert_interval,
                        if c.unicast_peers.is_empty() {
                            "multicast".to_string()
                        } else {
                            format!(
                                "unicast to {}",
                                c.unicast_peers.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
                            )
                        },
                        i.vips.iter().map(|v| format!("{}/{}", v.addr, v.prefix_len)).collect::<Vec<_>>().join(","),
                        if checks.is_empty() { String::new() } else { format!(", checks {}", checks.join(" ")) },
                    ));
                }
            }
            if conf.diagnostics.iter().any(|d| d.severity == Severity::Error) { Status::Problems } else { Status::Ok }
        }
    }
}
