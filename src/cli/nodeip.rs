//! `bmnet node-ip`: choose the IP(s) kubelet must bind, show the snapshot, check a `--node-ip`
//! value, and write OpenShift's node-IP files.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bm_addr::ipnet::IpNet;
use bm_nodeip::{self as nodeip, Hint, HostSnapshot, Method, Policy, Selection, Verdict};
use clap::{Args, Subcommand};
use serde_json::json;

use super::Status;
use super::output::Output;
use super::write::write_atomically;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct NodeIpCommand {
    #[command(subcommand)]
    action: Option<NodeIpAction>,
    #[command(flatten)]
    select: SelectArgs,
}

#[derive(Subcommand, Debug)]
enum NodeIpAction {
    /// Print this host's network snapshot (links, addresses, routes) as JSON, for bug reports
    /// and test fixtures.
    Snapshot,
    /// Check a kubelet --node-ip value as the given kubelet would, with its exact messages;
    /// exit 1 when kubelet would refuse it.
    Check {
        /// The --node-ip value (`10.0.0.5`, `10.0.0.5,fd00::5`, `::`).
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// kubelet's --cloud-provider (`external`, or a legacy in-tree provider name).
        #[arg(long, default_value = "", value_name = "NAME")]
        cloud_provider: String,
        /// The kubelet version whose rules and wording apply (default: current).
        #[arg(long, value_name = "X.Y")]
        kubelet_version: Option<nodeip::KubeletVersion>,
        /// Accept the KEP-3705 keywords IPv4/IPv6 (a bmnet extension kubelet does not have).
        #[arg(long)]
        family_keywords: bool,
        /// Also require each IP to be configured on this host (or on the --snapshot).
        #[arg(long)]
        on_host: bool,
        /// With --on-host: check against this snapshot file instead of this host.
        #[arg(long, value_name = "FILE", requires = "on_host")]
        snapshot: Option<PathBuf>,
    },
    /// Select, then write kubelet's and CRI-O's drop-ins and /run/nodeip-configuration under
    /// ROOT, as OpenShift's nodeip-configuration does. A previous choice found there is kept
    /// while it is still valid.
    Set {
        /// The root to write under (`/` on a node).
        #[arg(long, value_name = "DIR")]
        root: PathBuf,
        #[command(flatten)]
        select: SelectArgs,
    },
}

/// How to select.
#[derive(Args, Debug, Clone)]
pub(crate) struct SelectArgs {
    /// A VIP (API or ingress): never chosen; an address in its subnet is. Repeatable.
    #[arg(long = "vip", value_name = "IP")]
    vips: Vec<IpAddr>,
    /// A hint: an IP (an address whose subnet contains it) or a CIDR (an address inside it);
    /// `!CIDR` excludes. Repeatable, in order of preference.
    #[arg(long = "hint", value_name = "IP|CIDR", allow_hyphen_values = true)]
    hints: Vec<Hint>,
    /// Choose the address that routes to this IP (the API server's, for instance), by the
    /// host's main routing table: longest prefix, then lowest metric. Repeatable.
    #[arg(long = "can-reach", value_name = "IP")]
    can_reach: Vec<IpAddr>,
    /// Choose on a link whose name matches: a glob (`eth*`, `bond0.?00`) or `re:REGEX`.
    /// Repeatable.
    #[arg(long = "interface", value_name = "PATTERN")]
    interfaces: Vec<nodeip::Pattern>,
    /// Never choose on a link whose name matches (glob or `re:REGEX`); with --interface,
    /// narrows it. Repeatable.
    #[arg(long = "skip-interface", value_name = "PATTERN")]
    skip_interfaces: Vec<nodeip::Pattern>,
    /// Choose an address inside this CIDR; the first CIDR with a match wins. Repeatable.
    #[arg(long = "cidr", value_name = "CIDR", value_parser = parse_cidr)]
    cidrs: Vec<IpNet>,
    /// Make IPv6 the primary family.
    #[arg(long)]
    prefer_ipv6: bool,
    /// Never choose inside this prefix (pod/service networks, OVN masquerade). Repeatable.
    #[arg(long = "exclude", value_name = "CIDR", value_parser = parse_cidr)]
    exclude: Vec<IpNet>,
    /// Select on a snapshot file (from `bmnet node-ip snapshot`) instead of this host.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// Wait up to this many seconds for tentative (DAD) addresses to settle first.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    wait: f64,
}

impl SelectArgs {
    fn empty() -> SelectArgs {
        SelectArgs {
            vips: Vec::new(),
            hints: Vec::new(),
            can_reach: Vec::new(),
            interfaces: Vec::new(),
            skip_interfaces: Vec::new(),
            cidrs: Vec::new(),
            prefer_ipv6: false,
            exclude: Vec::new(),
            snapshot: None,
            wait: 0.0,
        }
    }

    /// OpenShift's chain (hints, VIP subnet, default route), with the rules given on the
    /// command line tried after the VIP subnet and before the default route.
    fn policy(&self) -> Policy {
        let mut p = Policy::openshift(self.vips.clone(), self.hints.clone());
        let mut rules: Vec<Method> = self.can_reach.iter().map(|&target| Method::CanReach { target }).collect();
        if !self.interfaces.is_empty() || !self.skip_interfaces.is_empty() {
            rules.push(Method::Interface { include: self.interfaces.clone(), exclude: self.skip_interfaces.clone() });
        }
        if !self.cidrs.is_empty() {
            rules.push(Method::Cidr { cidrs: self.cidrs.clone() });
        }
        let at = p.methods.iter().position(|m| *m == Method::DefaultRoute).unwrap_or(p.methods.len());
        p.methods.splice(at..at, rules);
        if self.prefer_ipv6 {
            p.prefer = Some(bm_addr::Family::Ipv6);
        }
        p.exclude = self.exclude.clone();
        p
    }

    /// The snapshot to select on: a file, or this host (optionally after DAD settles).
    fn snapshot(&self) -> Result<HostSnapshot, String> {
        if let Some(path) = &self.snapshot {
            let text = read_file(path)?;
            return serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()));
        }
        if self.wait > 0.0 {
            let waited = nodeip::netlink::wait_until(
                tentative_reason,
                Duration::from_secs_f64(self.wait),
                Duration::from_millis(100),
            )
            .map_err(|e| format!("reading this host's network: {e}"))?;
            if let Some(reason) = &waited.pending {
                eprintln!("bmnet: still waiting after {:.1}s: {reason}", waited.elapsed.as_secs_f64());
            }
            return Ok(waited.snapshot);
        }
        nodeip::netlink::snapshot().map_err(|e| format!("reading this host's network: {e}"))
    }
}

/// Why the host is not settled yet: the first tentative address that is not link-local.
fn tentative_reason(s: &HostSnapshot) -> Option<String> {
    s.addresses
        .iter()
        .find(|a| {
            a.flags.tentative && !a.flags.optimistic && !a.flags.dadfailed && !bm_addr::classify(a.ip()).is_link_local
        })
        .map(|a| {
            let link = s.link(a.link).map_or("?", |l| l.name.as_str());
            format!("{} on {link} is tentative (duplicate address detection)", a.addr)
        })
}

/// A CIDR, strictly (ipnet's own parser accepts `010.0.0.0/8`); host bits are cleared.
fn parse_cidr(s: &str) -> Result<IpNet, String> {
    bm_addr::parse_net_with(s, &bm_addr::ParseOptions::strict()).map(|p| p.network()).map_err(|e| e.to_string())
}

#[allow(clippy::disallowed_methods)] // The CLI reads the files it is given.
fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

pub(crate) fn run(out: &mut Output, cmd: NodeIpCommand) -> Status {
    match cmd.action {
        None => choose(out, &cmd.select),
        Some(NodeIpAction::Snapshot) => match nodeip::netlink::snapshot() {
            Ok(s) => {
                if out.json() {
                    out.json_line(&s);
                } else {
                    out.text(&serde_json::to_string_pretty(&s).unwrap_or_default());
                    out.text("\n");
                }
                Status::Ok
            }
            Err(e) => {
                eprintln!("bmnet: reading this host's network: {e}");
                Status::Failure
            }
        },
        Some(NodeIpAction::Set { root, select }) => set(out, &root, &select),
        Some(NodeIpAction::Check { value, cloud_provider, kubelet_version, family_keywords, on_host, snapshot }) => {
            let host = if on_host {
                let args = SelectArgs { snapshot, ..SelectArgs::empty() };
                match args.snapshot() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        eprintln!("bmnet: {e}");
                        return Status::Failure;
                    }
                }
            } else {
                None
            };
            let mut opts = nodeip::NodeIpArgOptions::default()
                .cloud_provider(&cloud_provider)
                .kubelet_version(kubelet_version.unwrap_or_default())
                .family_keywords(family_keywords);
            if let Some(h) = &host {
                opts = opts.host(h);
            }
            check(out, &value, &opts)
        }
    }
}

fn choose(out: &mut Output, args: &SelectArgs) -> Status {
    let snapshot = match args.snapshot() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let selection = nodeip::select(&snapshot, &args.policy());
    report(out, &selection)
}

/// Prints a selection: the `--node-ip` value, or the whole result as JSON.
fn report(out: &mut Output, selection: &Selection) -> Status {
    if out.json() {
        out.json_line(selection);
    }
    if selection.chosen.is_empty() {
        eprintln!("bmnet: no address qualifies as a node IP:");
        eprint!("{}", explain(selection));
        return Status::Problems;
    }
    if !out.json() {
        out.text(&format!("{}\n", selection.node_ip_arg()));
    }
    Status::Ok
}

/// One line per address: what happened to it and why.
pub(crate) fn explain(selection: &Selection) -> String {
    let mut s = String::new();
    for c in &selection.candidates {
        let what = match &c.verdict {
            Verdict::Chosen { method } => format!("chosen by {method}"),
            Verdict::Rejected { reasons } => {
                format!("rejected: {}", reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(", "))
            }
            Verdict::Lost { to, method, why } => format!("lost to {to} ({method}): {why}"),
            Verdict::Unmatched => "eligible, but no method matched its family".to_string(),
        };
        s.push_str(&format!("  {:<44} {:<12} {what}\n", c.addr.to_string(), c.link_name));
    }
    s
}

fn set(out: &mut Output, root: &Path, args: &SelectArgs) -> Status {
    let snapshot = match args.snapshot() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let mut policy = args.policy();
    // The previous choice, as the files record it: kept while still valid.
    for file in [nodeip::PRIMARY_IP_FILE, nodeip::IPV4_FILE, nodeip::IPV6_FILE] {
        if let Ok(text) = read_file(&root.join(file))
            && let Ok(ip) = bm_addr::parse_addr(text.trim())
            && !policy.previous.contains(&ip)
        {
            policy.previous.push(ip);
        }
    }
    let selection = nodeip::select(&snapshot, &policy);
    for p in selection.previous.iter().filter(|p| !p.kept) {
        eprintln!("bmnet: previous node IP {} re-selected: {}", p.ip, p.why.as_deref().unwrap_or("-"));
    }
    if selection.chosen.is_empty() {
        return report(out, &selection);
    }
    let files = nodeip::render_files(&selection.ips());
    for f in &files {
        let path = root.join(&f.path);
        if let Err(e) = write_atomically(&path, f.contents.as_bytes(), f.mode) {
            eprintln!("bmnet: writing {}: {e}", path.display());
            return Status::Failure;
        }
    }
    if out.json() {
        out.json_line(&json!({
            "node_ip": selection.node_ip_arg(),
            "files": files.iter().map(|f| root.join(&f.path).display().to_string()).collect::<Vec<_>>(),
            "selection": selection,
        }));
    } else {
        out.text(&format!("{}\n", selection.node_ip_arg()));
        for f in &files {
            out.text(&format!("wrote {}\n", root.join(&f.path).display()));
        }
    }
    Status::Ok
}

fn check(out: &mut Output, value: &str, opts: &nodeip::NodeIpArgOptions<'_>) -> Status {
    match nodeip::parse_node_ip_arg(value, opts) {
        Ok(arg) => {
            for w in &arg.warnings {
                eprintln!("bmnet: warning: {w}");
            }
            if out.json() {
                out.json_line(&json!({ "input": value, "ok": true, "result": arg }));
            } else if arg.autodetect {
                out.text(&format!("ok: kubelet autodetects its node IP (preferring {})\n", arg.primary_family));
            } else {
                let ips: Vec<String> = arg.ips().iter().map(|ip| ip.to_string()).collect();
                out.text(&format!("ok: {} (primary family {})\n", ips.join(","), arg.primary_family));
            }
            Status::Ok
        }
        Err(rejected) => {
            for e in &rejected.errors {
                eprintln!("bmnet: {e}");
            }
            for w in &rejected.warnings {
                eprintln!("bmnet: warning: {w}");
            }
            if out.json() {
                out.json_line(&json!({
                    "input": value,
                    "ok": false,
                    "errors": rejected.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
                    "rejected": rejected,
                }));
            }
            Status::Problems
        }
    }
}
