//! Argument definitions, exit statuses and output plumbing shared by every subcommand.

mod addr;
mod bgp;
mod bgp_config;
mod bgp_status;
mod dns;
mod host;
mod inspect;
mod nmconn;
mod nodeip;
mod output;
mod preflight;
mod status;
mod vrrp;
mod vrrp_status;
mod vrrp_survey;
mod write;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use output::Output;

/// Bare-metal networking for everyone: address classification, host inspection and, as the
/// crates land, node-IP selection, VRRP, cluster DNS and NetworkManager keyfiles.
#[derive(Parser, Debug)]
#[command(name = "bmnet", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON (JSON Lines for lists) instead of text.
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show this host's interfaces and addresses, classified, with the pitfalls found.
    Inspect,
    /// Address tools.
    #[command(subcommand)]
    Addr(AddrCommand),
    /// Choose the IP(s) kubelet must bind (VIP subnet, hints, default route), print them as
    /// kubelet's --node-ip takes them; exit 1 with every address's reason when none qualifies.
    NodeIp(Box<nodeip::NodeIpCommand>),
    /// The cluster zone (api, api-int, *.apps, nodes): its zone file, offline answers.
    #[command(subcommand)]
    Dns(dns::DnsCommand),
    /// VRRP: validate a keepalived.conf, run instances (a keepalived replacement).
    #[command(subcommand)]
    Vrrp(vrrp::VrrpCommand),
    /// BGP: announce VIPs from every healthy node (health-gated ECMP), across subnets.
    #[command(subcommand)]
    Bgp(bgp::BgpCommand),
    /// Before an install: the cluster's VRIDs heard on the segment, its VIPs and this node's
    /// addresses answered by another host (ARP and neighbour-solicitation probes that claim
    /// nothing), keyfiles NetworkManager has not applied, and the node IP kubelet would get.
    /// Exit 1 when a check fails. Listening and probing need CAP_NET_RAW (or --offline).
    Preflight(Box<preflight::PreflightArgs>),
    /// NetworkManager keyfiles: check them as NetworkManager reads them, edit them offline.
    #[command(subcommand)]
    Nmconn(nmconn::NmconnCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Write the man pages (bmnet.1 and one per subcommand, from this definition) into DIR.
    #[command(hide = true)]
    Manpages {
        /// Where to write them.
        #[arg(value_name = "DIR")]
        dir: std::path::PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AddrCommand {
    /// Classify addresses: canonical form, family, kind, scope, registry row, predicates and
    /// the socket to bind. Exit status 1 if any address is invalid.
    Classify {
        /// Addresses to classify; zones (`fe80::1%eth0`) are accepted on link-scoped addresses.
        #[arg(required = true, value_name = "ADDR")]
        addrs: Vec<String>,
        /// Accept what kubelet's ParseIPSloppy accepts (leading zeros read as decimal), with a
        /// warning naming the canonical form.
        #[arg(long)]
        sloppy: bool,
    },
}

/// How a run ended, mapped onto the exit status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    /// 0: success.
    Ok,
    /// 1: the input has problems (invalid address, validation errors).
    Problems,
    /// 2: usage or runtime failure.
    Failure,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Ok => 0,
            Status::Problems => 1,
            Status::Failure => 2,
        })
    }
}

pub(crate) fn run() -> ExitCode {
    // clap exits with 2 on usage errors and 0 for --help/--version, as documented.
    let cli = Cli::parse();
    let mut out = Output::new(cli.json);
    let status = match cli.command {
        Command::Inspect => inspect::run(&mut out),
        Command::Addr(AddrCommand::Classify { addrs, sloppy }) => addr::classify(&mut out, &addrs, sloppy),
        Command::NodeIp(cmd) => nodeip::run(&mut out, *cmd),
        Command::Dns(cmd) => dns::run(&mut out, cmd),
        Command::Vrrp(cmd) => vrrp::run(&mut out, cmd),
        Command::Bgp(cmd) => bgp::run(&mut out, cmd),
        Command::Nmconn(cmd) => nmconn::run(&mut out, cmd),
        Command::Preflight(args) => preflight::run(&mut out, &args),
        Command::Completions { shell } => completions(&mut out, shell),
        Command::Manpages { dir } => manpages(&dir),
    };
    match out.finish() {
        // A closed pipe (`bmnet inspect | head`) is not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bmnet: writing output: {e}");
            Status::Failure.into()
        }
        Ok(()) => status.into(),
    }
}

/// The script, as is: a shell reads it, so `--json` does not apply.
fn completions(out: &mut Output, shell: clap_complete::Shell) -> Status {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command(), "bmnet", &mut script);
    out.text(&String::from_utf8_lossy(&script));
    Status::Ok
}

/// `bmnet manpages DIR`: the man pages of every (visible) command.
#[allow(clippy::disallowed_methods)] // Writes the pages it is asked for.
fn manpages(dir: &std::path::Path) -> Status {
    // No pages for the `help` subcommands: `man bmnet-vrrp-run` is the help.
    fn without_help(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.disable_help_subcommand(true);
        let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
        names.into_iter().fold(cmd, |cmd, name| cmd.mut_subcommand(name, without_help))
    }
    let mut cmd = without_help(hinted());
    cmd.build();
    let written = std::fs::create_dir_all(dir).and_then(|()| clap_mangen::generate_to(cmd, dir));
    match written {
        Ok(()) => Status::Ok,
        Err(e) => {
            eprintln!("bmnet: man pages into {}: {e}", dir.display());
            Status::Failure
        }
    }
}

/// The command line's definition, with the completion hints derive does not give: a value
/// that is not a path (an interface, an address, a number, a name) completes nothing instead
/// of file names.
pub(crate) fn command() -> clap::Command {
    let mut cmd = hinted();
    cmd.build();
    cmd
}

/// [`command`] before clap adds what building adds (the `help` subcommands).
fn hinted() -> clap::Command {
    fn hint(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.mut_args(|a| {
            if !a.get_action().takes_values()
                || a.get_value_hint() != clap::ValueHint::Unknown
                || !a.get_possible_values().is_empty()
            {
                return a;
            }
            // Paths complete as paths, everything else as nothing.
            if a.get_value_parser().type_id() == std::any::TypeId::of::<std::path::PathBuf>() {
                a.value_hint(clap::ValueHint::AnyPath)
            } else {
                a.value_hint(clap::ValueHint::Other)
            }
        });
        let names: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_string()).collect();
        names.into_iter().fold(cmd, |cmd, name| cmd.mut_subcommand(name, hint))
    }
    hint(Cli::command())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
