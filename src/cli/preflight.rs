//! `bmnet preflight`: the checks to run on a node before an install, for one cluster. Each check
//! is a library call (`bm-preflight`, `bm-vrrp`, `bm-nodeip`); this module gathers the inputs,
//! runs the checks that take seconds (listening for VRRP, probing addresses) side by side, and
//! prints one verdict per check.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bm_nodeip::{self as nodeip, HostSnapshot, Policy};
use bm_preflight::drift::{DnsCheck, DriftReport, KeyfileDir};
use bm_preflight::probe::{MacAddr, ProbeConfig, TargetReport};
use bm_preflight::{ClusterSpec, InstallConfig};
use bm_vrrp::{OpenShiftVrids, Survey};
use clap::Args;
use ipnet::IpNet;
use serde_json::{Value, json};

use super::Status;
use super::output::Output;

/// `bmnet preflight`.
#[derive(Args, Debug)]
pub(crate) struct PreflightArgs {
    /// An OpenShift install-config.yaml: metadata.name, baseDomain, the platform's
    /// apiVIPs/ingressVIPs (or apiVIP/ingressVIP), networking.machineNetwork. Flags add to it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The cluster's name (OpenShift derives the keepalived VRIDs from it).
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// The API VIP, repeatable (one per family).
    #[arg(long = "api-vip", value_name = "IP", value_hint = clap::ValueHint::Other)]
    api_vips: Vec<IpAddr>,
    /// The ingress VIP, repeatable (one per family).
    #[arg(long = "ingress-vip", value_name = "IP", value_hint = clap::ValueHint::Other)]
    ingress_vips: Vec<IpAddr>,
    /// A machine network CIDR, repeatable.
    #[arg(long = "machine-network", value_name = "CIDR", value_hint = clap::ValueHint::Other)]
    machine_networks: Vec<IpNet>,
    /// The interface on the machine network (default: the link of the node IP chosen).
    #[arg(long, value_name = "IFACE", value_hint = clap::ValueHint::Other)]
    interface: Option<String>,
    /// How long to listen for VRRP adverts (keepalived sends one a second).
    #[arg(long, value_name = "SECONDS", default_value = "3")]
    listen_seconds: String,
    /// A keyfile directory to compare with the kernel, repeatable, as NetworkManager reads
    /// /etc/NetworkManager/system-connections (default: NetworkManager's three directories).
    #[arg(long = "keyfile-dir", value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    keyfile_dirs: Vec<PathBuf>,
    /// The resolv.conf NetworkManager wrote, for the DNS settings (default:
    /// /run/NetworkManager/resolv.conf when it exists).
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    resolv_conf: Option<PathBuf>,
    /// Skip the checks on the wire (VRRP listening, address probes): what needs no
    /// CAP_NET_RAW and takes no time.
    #[arg(long)]
    offline: bool,
}

/// One check's verdict: its name, whether it passed, and what it found (errors fail it).
struct Verdict {
    check: &'static str,
    /// Not run (--offline): neither passed nor failed.
    skipped: bool,
    /// Could not run (a socket, a file, the interface): the run is incomplete, exit 2.
    broken: bool,
    /// What is worth knowing but fails nothing.
    warnings: Vec<String>,
    summary: String,
    errors: Vec<String>,
    details: Vec<Value>,
}

impl Verdict {
    fn new(check: &'static str, summary: impl Into<String>) -> Verdict {
        Verdict {
            check,
            skipped: false,
            broken: false,
            summary: summary.into(),
            errors: Vec::new(),
            warnings: Vec::new(),
            details: Vec::new(),
        }
    }

    fn skipped(check: &'static str, summary: &str) -> Verdict {
        Verdict { skipped: true, ..Verdict::new(check, summary) }
    }

    /// A check that could not run, with why.
    fn broken(check: &'static str, summary: impl Into<String>, why: String) -> Verdict {
        let mut v = Verdict::new(check, summary);
        v.broken = true;
        v.errors.push(why);
        v
    }

    fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

pub(crate) fn run(out: &mut Output, args: &PreflightArgs) -> Status {
    let spec = match cluster(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let listen_for = match super::vrrp::seconds("listen-seconds", &args.listen_seconds) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let host = match nodeip::netlink::snapshot() {
        Ok(h) => h,
        Err(e) => {
            eprintln!("bmnet: reading this host's network: {e}");
            return Status::Failure;
        }
    };

    let mut verdicts = vec![cluster_verdict(&spec)];
    let (node_ip, selection) = node_ip_verdict(&spec, &host);
    verdicts.push(node_ip);
    // Directories given by hand must exist (a typo would compare nothing and pass);
    // NetworkManager's own may be missing on a host without it.
    if let Some(missing) = args.keyfile_dirs.iter().find(|d| !d.is_dir()) {
        eprintln!("bmnet: --keyfile-dir {}: not a directory", missing.display());
        return Status::Failure;
    }
    let dirs = if args.keyfile_dirs.is_empty() {
        KeyfileDir::network_manager()
    } else {
        args.keyfile_dirs.iter().map(|p| KeyfileDir { path: p.clone(), any_name: true }).collect()
    };
    verdicts.push(keyfile_verdict(&dirs, &without_vips(&host, &spec.vips()), args.resolv_conf.as_deref()));
    let interface = args.interface.clone().or_else(|| selection.chosen.first().map(|c| c.link_name.clone()));
    if args.offline {
        verdicts.push(Verdict::skipped("vrids", "not listened (--offline)"));
        verdicts.push(Verdict::skipped("addresses", "not probed (--offline)"));
    } else if let Some(interface) = interface.as_deref() {
        match wire_ready(&host, interface) {
            Ok(others) => {
                let own = own_addresses(&host, interface);
                let (vrids, addresses) = on_the_wire(&spec, interface, listen_for, &own, &others);
                verdicts.push(vrids);
                verdicts.push(addresses);
            }
            Err(why) => {
                verdicts.push(Verdict::broken("vrids", format!("cannot listen on {interface}"), why.clone()));
                verdicts.push(Verdict::broken("addresses", format!("cannot probe on {interface}"), why));
            }
        }
    } else {
        let why = "no node IP was chosen and no --interface given: nothing to listen or probe on".to_string();
        verdicts.push(Verdict::broken("vrids", "no interface", why.clone()));
        verdicts.push(Verdict::broken("addresses", "no interface", why));
    }

    print(out, &spec, interface.as_deref(), &verdicts);
    if verdicts.iter().any(|v| v.broken) {
        Status::Failure
    } else if verdicts.iter().all(Verdict::ok) {
        Status::Ok
    } else {
        Status::Problems
    }
}

/// Whether `interface` can be listened and probed on: it exists, is up with a carrier, and is
/// no port of a bond or bridge (its frames go to the controller). The MACs of the host's other
/// links, whose ARP answers are the host's own.
fn wire_ready(host: &HostSnapshot, interface: &str) -> Result<Vec<MacAddr>, String> {
    let link = host.links.iter().find(|l| l.name == interface).ok_or_else(|| format!("no interface {interface}"))?;
    if !link.up || !link.lower_up {
        return Err(format!("{interface} is down or has no carrier: nothing would answer, every check would pass"));
    }
    if let Some(master) = link.master {
        let name = host.links.iter().find(|l| l.index == master).map_or("its controller", |l| l.name.as_str());
        return Err(format!("{interface} is a port of {name}: run on {name}, whose frames these are"));
    }
    Ok(host
        .links
        .iter()
        .filter(|l| l.index != link.index)
        .filter_map(|l| l.mac.as_deref()?.parse::<MacAddr>().ok())
        .filter(|m| !m.is_multicast() && *m != MacAddr::ZERO)
        .collect())
}

/// The host without the cluster's VIPs and OVN's egress IPs (label `eip`): addresses that
/// keepalived, `bmnet vrrp run` or OVN add, that no keyfile holds, and that are no drift.
pub(crate) fn without_vips(host: &HostSnapshot, vips: &[IpAddr]) -> HostSnapshot {
    let mut h = host.clone();
    h.addresses.retain(|a| !vips.contains(&a.ip()) && a.label.as_deref().is_none_or(|l| !l.ends_with("eip")));
    h
}

/// The cluster from --config and the flags (flags add VIPs and networks, and replace the name).
#[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
fn cluster(args: &PreflightArgs) -> Result<ClusterSpec, String> {
    let mut spec = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            // Before libyaml, whose scan takes time quadratic in this depth.
            bm_nmconn::yaml_depth::check_flow_depth(&text)
                .map_err(|e| format!("{}:{}:{}: {e}", path.display(), e.line, e.column))?;
            let ic: InstallConfig = serde_yaml_ng::from_str(&text).map_err(|e| match e.location() {
                Some(l) => format!("{}:{}:{}: {e}", path.display(), l.line(), l.column()),
                None => format!("{}: {e}", path.display()),
            })?;
            ClusterSpec::from(ic)
        }
        None => ClusterSpec::default(),
    };
    if let Some(name) = &args.cluster_name {
        spec.name = name.clone();
    }
    let add = |list: &mut Vec<IpAddr>, more: &[IpAddr]| {
        list.extend(more.iter().filter(|a| !list.contains(a)).copied().collect::<Vec<_>>())
    };
    add(&mut spec.api_vips, &args.api_vips);
    add(&mut spec.ingress_vips, &args.ingress_vips);
    for n in &args.machine_networks {
        if !spec.machine_networks.contains(&n.trunc()) {
            spec.machine_networks.push(n.trunc());
        }
    }
    Ok(spec)
}

fn cluster_verdict(spec: &ClusterSpec) -> Verdict {
    let mut v = Verdict::new("cluster", "name, VIPs and machine network");
    for p in spec.problems() {
        v.errors.push(p.to_string());
        v.details.push(json!(p));
    }
    if let Ok(ids) = OpenShiftVrids::for_cluster(&spec.name) {
        v.summary = format!("name, VIPs and machine network; VRIDs api {} ingress {}", ids.api, ids.ingress);
        v.details.push(json!({ "vrids": ids }));
    }
    v
}

/// The node IP OpenShift's chain chooses (VIP subnets first), and kubelet's check of it.
fn node_ip_verdict(spec: &ClusterSpec, host: &HostSnapshot) -> (Verdict, nodeip::Selection) {
    let mut policy = Policy::openshift(spec.vips(), Vec::new());
    // The cluster's families: its machine networks', else its VIPs' (a single-stack cluster's
    // kubelet gets one node IP).
    let families: Vec<IpAddr> = if spec.machine_networks.is_empty() {
        spec.vips()
    } else {
        spec.machine_networks.iter().map(IpNet::addr).collect()
    };
    for a in families {
        let f = if a.is_ipv4() { bm_addr::Family::Ipv4 } else { bm_addr::Family::Ipv6 };
        if !policy.families.contains(&f) {
            policy.families.push(f);
        }
    }
    let selection = nodeip::select(host, &policy);
    let mut v = Verdict::new("node-ip", "");
    if selection.chosen.is_empty() {
        v.summary = "no address qualifies".into();
        v.errors.push("no address qualifies as a node IP (`bmnet node-ip` explains each)".into());
        v.details.extend(selection.candidates.iter().map(|c| json!(c)));
        return (v, selection);
    }
    let arg = selection.node_ip_arg();
    v.summary = format!("--node-ip={arg} on {}", selection.chosen[0].link_name);
    match nodeip::parse_node_ip_arg(&arg, &nodeip::NodeIpArgOptions::default().host(host)) {
        Ok(parsed) => v.details.push(json!({ "node_ip": arg, "kubelet": parsed })),
        Err(rejected) => {
            v.errors.extend(rejected.errors.iter().map(|e| format!("kubelet rejects --node-ip={arg}: {e}")))
        }
    }
    for chosen in &selection.chosen {
        if !spec.machine_networks.is_empty() && !spec.machine_networks.iter().any(|n| n.contains(&chosen.addr.addr())) {
            v.errors.push(format!("node IP {} is in no machine network", chosen.addr.addr()));
        }
    }
    (v, selection)
}

/// The node's global addresses on `interface`: probed too (a duplicate node IP breaks etcd).
fn own_addresses(host: &HostSnapshot, interface: &str) -> Vec<IpAddr> {
    let Some(link) = host.links.iter().find(|l| l.name == interface) else { return Vec::new() };
    host.addresses
        .iter()
        .filter(|a| a.link == link.index && !bm_addr::classify(a.ip()).is_link_local && !a.ip().is_loopback())
        .map(|a| a.ip())
        .collect()
}

/// Listens for VRRP and probes the VIPs and `own` addresses on `interface`, at the same time.
fn on_the_wire(
    spec: &ClusterSpec,
    interface: &str,
    listen_for: Duration,
    own: &[IpAddr],
    others: &[MacAddr],
) -> (Verdict, Verdict) {
    let vips = spec.vips();
    // What no host can own (the cluster check reports such a VIP) is not probed.
    let probeable = |a: &IpAddr| bm_preflight::probe::target_problem(*a).is_none();
    let mut targets: Vec<IpAddr> = vips.iter().copied().filter(probeable).collect();
    targets.extend(own.iter().filter(|a| !vips.contains(a) && probeable(a)));
    let (survey, probed) = std::thread::scope(|s| {
        let listener = s.spawn(|| bm_vrrp::socket::listen(interface, listen_for));
        let probed = (!targets.is_empty()).then(|| {
            bm_preflight::probe::probe_interface(interface, targets.iter().copied(), ProbeConfig::default(), others)
        });
        let survey = match listener.join() {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("the listening thread panicked".to_string()),
        };
        (survey, probed)
    });
    let vrids = match survey {
        Ok(survey) => vrid_verdict(spec, interface, listen_for, &survey),
        Err(e) => Verdict::broken("vrids", format!("could not listen on {interface}"), e),
    };
    let addresses = match probed {
        None => Verdict::skipped("addresses", "no address to probe"),
        Some(Ok(reports)) => address_verdict(&vips, &reports),
        Some(Err(e)) => Verdict::broken("addresses", format!("could not probe on {interface}"), e.to_string()),
    };
    (vrids, addresses)
}

fn vrid_verdict(spec: &ClusterSpec, interface: &str, listen_for: Duration, survey: &Survey) -> Verdict {
    let heard = survey.heard().count();
    let mut v = Verdict::new(
        "vrids",
        format!(
            "{heard} VRRP router{} heard on {interface} in {:.1} s (unicast VRRP is heard only by its peers)",
            if heard == 1 { "" } else { "s" },
            listen_for.as_secs_f64()
        ),
    );
    let ids = OpenShiftVrids::for_cluster(&spec.name).ok();
    let ours: Vec<u8> = ids.map(|i| i.both().to_vec()).unwrap_or_default();
    let collisions = survey.collisions(&ours, &spec.vips());
    for c in &collisions {
        v.errors.push(super::vrrp_survey::collision_text(c, ids.as_ref()));
        v.details.push(json!(c));
    }
    if let Some(advice) = super::vrrp_survey::rename_advice(&spec.name, survey, &collisions, &spec.vips()) {
        v.errors.push(advice.text);
        v.details.push(json!({ "free_vrids": advice.free_vrids, "free_names": advice.free_names }));
    }
    if survey.rejected() > 0 {
        v.warnings.push(format!(
            "{} VRRP messages could not be read (their senders are listed as unreadable)",
            survey.rejected()
        ));
    }
    for h in survey.heard() {
        v.details.push(json!({ "heard": h }));
    }
    for u in survey.unreadable() {
        v.details.push(json!({ "unreadable": u }));
    }
    v
}

/// The resolv.conf NetworkManager renders from the active profiles.
const NM_RESOLV_CONF: &str = "/run/NetworkManager/resolv.conf";

/// The keyfiles NetworkManager would activate, against the kernel (`resolv_conf`: the file
/// given, else NetworkManager's own when it exists).
#[allow(clippy::disallowed_methods)] // The CLI reads the files it is given.
pub(crate) fn keyfile_drift(
    dirs: &[KeyfileDir],
    host: &HostSnapshot,
    resolv_conf: Option<&Path>,
) -> Result<DriftReport, String> {
    let resolv = match resolv_conf {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => std::fs::read_to_string(NM_RESOLV_CONF).ok(),
    };
    bm_preflight::drift::check_dirs(dirs, host, resolv.as_deref()).map_err(|e| e.to_string())
}

/// One line per difference: the profile's file and link, then what activation would change.
pub(crate) fn drift_lines(report: &DriftReport) -> Vec<String> {
    report
        .differences
        .iter()
        .map(|d| {
            let id = d.profile.id.as_deref().map(|id| format!("{id} ")).unwrap_or_default();
            format!("{} ({id}on {}): {}", d.profile.file, d.link, d.consequence)
        })
        .collect()
}

fn keyfile_verdict(dirs: &[KeyfileDir], host: &HostSnapshot, resolv_conf: Option<&Path>) -> Verdict {
    let report = match keyfile_drift(dirs, host, resolv_conf) {
        Ok(r) => r,
        // Unreadable files or resolv.conf: the check could not run (exit 2), it did not fail.
        Err(e) => return Verdict::broken("keyfiles", "could not read the keyfiles", e),
    };
    let dns = match &report.dns {
        DnsCheck::Compared { .. } => "",
        _ => ", DNS not comparable",
    };
    let mut v = Verdict::new(
        "keyfiles",
        format!(
            "{} profile{} compared with the kernel, {} not{dns}",
            report.matched.len(),
            if report.matched.len() == 1 { "" } else { "s" },
            report.unmatched.len()
        ),
    );
    v.errors.extend(drift_lines(&report));
    v.details.push(json!(report));
    v
}

fn address_verdict(vips: &[IpAddr], reports: &[TargetReport]) -> Verdict {
    let mut v = Verdict::new("addresses", format!("{} addresses probed (ARP / neighbour solicitation)", reports.len()));
    for r in reports {
        let role = if vips.contains(&r.address) { "VIP" } else { "node address" };
        for a in &r.answers {
            if a.kind.is_owner() {
                v.errors.push(format!("{role} {} is in use: {} from {}", r.address, a.kind, a.mac));
            } else {
                // Another host probing too: about to claim it, or checking it as this run does.
                v.warnings.push(format!("{role} {} was probed by {} too ({})", r.address, a.mac, a.kind));
            }
        }
        v.details.push(json!(r));
    }
    v
}

fn print(out: &mut Output, spec: &ClusterSpec, interface: Option<&str>, verdicts: &[Verdict]) {
    let failed = verdicts.iter().filter(|v| !v.ok()).count();
    if out.json() {
        for v in verdicts {
            out.json_line(&json!({ "type": "preflight_check", "check": v.check, "ok": v.ok(), "skipped": v.skipped,
                                   "broken": v.broken, "summary": v.summary, "warnings": v.warnings,
                                   "errors": v.errors, "details": v.details }));
        }
        out.json_line(&json!({ "type": "preflight", "cluster": spec, "interface": interface, "ok": failed == 0,
                               "failed": verdicts.iter().filter(|v| !v.ok()).map(|v| v.check).collect::<Vec<_>>() }));
        return;
    }
    let vips: Vec<String> = spec.vips().iter().map(IpAddr::to_string).collect();
    out.text(&format!(
        "preflight for cluster {} (VIPs {}){}\n",
        if spec.name.is_empty() { "?" } else { &spec.name },
        vips.join(" "),
        interface.map(|i| format!(" on {i}")).unwrap_or_default()
    ));
    for v in verdicts {
        let mark = if !v.ok() {
            "FAIL"
        } else if v.skipped {
            "skip"
        } else {
            "ok"
        };
        out.text(&format!("{mark:<6} {:<10} {}\n", v.check, v.summary));
        for e in &v.errors {
            out.text(&format!("         error: {e}\n"));
        }
        for w in &v.warnings {
            out.text(&format!("         warning: {w}\n"));
        }
    }
    let skipped = verdicts.iter().filter(|v| v.skipped).count();
    out.text(&match (failed, skipped) {
        (0, 0) => "all checks passed\n".to_string(),
        (0, n) => format!("every check run passed ({n} skipped)\n"),
        (1, _) => "1 check failed\n".to_string(),
        (n, _) => format!("{n} checks failed\n"),
    });
}
