//! `bmnet inspect`: this host's interfaces and addresses, classified, and the pitfalls found.

use std::fmt::Write as _;
use std::net::IpAddr;

use bm_addr::{self as addr, Kind};
use bm_nmconn::check::NmVersion;
use bm_nodeip::{self as nodeip, Pitfall, Policy};
use serde_json::{Value, json};

use super::Status;
use super::dns::DnsStatus;
use super::host::{self, Interface};
use super::output::Output;
use super::status::Published;
use super::vrrp_status::{InstanceRecord, VrrpStatus, state_name};

pub(crate) fn run(out: &mut Output) -> Status {
    let snapshot = match host::collect() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: reading this host's network: {e}");
            return Status::Failure;
        }
    };
    let ifaces = host::interfaces(&snapshot);
    let pitfalls = nodeip::pitfalls(&snapshot);
    // What `bmnet node-ip` would choose here: with the VIPs of this namespace's VRRP daemons,
    // OpenShift's chain (the VIP subnets first), as the node's kubelet would be configured;
    // with none, the default route's link.
    let vrrp_status = super::status::read_all::<VrrpStatus>();
    let vips = status_vips(&vrrp_status.live);
    let policy = if vips.is_empty() { Policy::default() } else { Policy::openshift(vips.clone(), Vec::new()) };
    let node_ip = nodeip::select(&snapshot, &policy);
    if out.json() {
        for iface in &ifaces {
            out.json_line(&interface_record(iface));
        }
        for p in &pitfalls {
            let mut v = json!(p);
            v["type"] = json!("pitfall");
            out.json_line(&v);
        }
        let mut v = json!(node_ip);
        v["type"] = json!("node_ip");
        v["vips"] = json!(vips);
        out.json_line(&v);
    } else {
        out.text(&render(&ifaces, &pitfalls));
        if vips.is_empty() {
            out.text("\nNode IP (no VIPs or hints given; `bmnet node-ip --vip ...` for a cluster):\n");
        } else {
            let shown: Vec<String> = vips.iter().map(ToString::to_string).collect();
            out.text(&format!(
                "\nNode IP (VIP subnets of this node's VRRP instances: {}; as `bmnet node-ip --vip ...`):\n",
                shown.join(", ")
            ));
        }
        if node_ip.chosen.is_empty() {
            out.text("  none qualifies\n");
        } else {
            out.text(&format!("  --node-ip={}\n", node_ip.node_ip_arg()));
        }
        out.text(&super::nodeip::explain(&node_ip));
    }
    keyfiles(out);
    drift(out, &super::preflight::without_vips(&snapshot, &vips));
    unreadable(out, "bmnet vrrp run", &vrrp_status.unreadable);
    vrrp(out, &vrrp_status.live);
    bgp(out);
    dns(out);
    Status::Ok
}

/// The VIPs of the VRRP daemons' instances (`ADDR/PREFIX` in their status), sorted, once each.
fn status_vips(daemons: &[Published<VrrpStatus>]) -> Vec<IpAddr> {
    let mut vips: Vec<IpAddr> = daemons
        .iter()
        .flat_map(|d| &d.body.instances)
        .flat_map(|i| &i.vips)
        .filter_map(|v| v.split('/').next()?.parse().ok())
        .collect();
    vips.sort();
    vips.dedup();
    vips
}

/// Status files of running daemons that this bmnet cannot read: said, never guessed at.
fn unreadable(out: &mut Output, what: &str, files: &[(std::path::PathBuf, String)]) {
    for (path, why) in files {
        if out.json() {
            out.json_line(&json!({ "type": "status_unreadable", "daemon": what, "file": path, "error": why }));
        } else {
            out.text(&format!(
                "
{what}: status file {} does not read: {why}
",
                path.display()
            ));
        }
    }
}

/// The VRRP instances a `bmnet vrrp run` in this network namespace holds: state, priority,
/// VIPs and why, then the source address, the counters (drops by reason, failed sends and VIP
/// changes) and what no instance got.
fn vrrp(out: &mut Output, daemons: &[Published<VrrpStatus>]) {
    for daemon in daemons {
        if out.json() {
            for i in &daemon.body.instances {
                let mut v = json!(i);
                v["type"] = json!("vrrp");
                v["pid"] = json!(daemon.pid);
                out.json_line(&v);
            }
            if let Some(u) = &daemon.body.unrouted {
                out.json_line(&json!({ "type": "vrrp_unrouted", "pid": daemon.pid, "unrouted": u }));
            }
            continue;
        }
        out.text(&format!("\nVRRP (bmnet vrrp run, pid {}):\n", daemon.pid));
        for i in &daemon.body.instances {
            out.text(&vrrp_instance_text(i));
        }
        let u = daemon.body.unrouted.unwrap_or_default();
        if u.no_instance + u.too_short > 0 {
            out.text(&format!(
                "  adverts for no instance here: {} (other VRIDs), {} too short\n",
                u.no_instance, u.too_short
            ));
        }
    }
}

/// One instance of a status file, as text.
fn vrrp_instance_text(i: &InstanceRecord) -> String {
    let mut s = format!(
        "  {} on {} (vrid {}): {} priority {}, VIPs {} — since {} ({})\n",
        i.name,
        i.interface,
        i.vrid,
        state_name(i.state),
        i.priority,
        i.vips.join(", "),
        i.since,
        i.reason,
    );
    let st = &i.stats;
    let drops: Vec<String> =
        st.drops.iter().map(|(kind, count)| format!("{} {count}", json!(kind).as_str().unwrap_or("?"))).collect();
    let _ = writeln!(
        s,
        "    source {} ({}), link {}; adverts {} accepted, {} sent, {} failed to send; drops {}; VIP changes failed {}",
        i.source,
        if i.source_usable { "usable" } else { "not usable" },
        if i.link_up { "up" } else { "down" },
        st.adverts_accepted,
        st.adverts_sent,
        st.send_failures,
        if drops.is_empty() { "none".to_string() } else { drops.join(", ") },
        st.vip_failures,
    );
    if let Some(e) = &st.last_send_error {
        let _ = writeln!(s, "    last send error: {e}");
    }
    if !i.pending_vip_removal.is_empty() {
        let pending: Vec<String> = i.pending_vip_removal.iter().map(ToString::to_string).collect();
        let _ = writeln!(s, "    VIP removal failed, retrying: {}", pending.join(", "));
    }
    s
}

/// What a `bmnet dns serve` in this network namespace answers for the cluster names, who may
/// recurse through it, and what its defences turned away.
/// The sessions and VIPs of a `bmnet bgp run` in this network namespace: each session's
/// state since when and why, each VIP announced or withdrawn and why, each check's last run.
fn bgp(out: &mut Output) {
    let reading = super::status::read_all::<super::bgp_status::BgpStatus>();
    unreadable(out, "bmnet bgp run", &reading.unreadable);
    for daemon in reading.live {
        let (pid, status) = (daemon.pid, daemon.body);
        if out.json() {
            for s in &status.sessions {
                let mut v = json!(s);
                v["type"] = json!("bgp_session");
                v["pid"] = json!(pid);
                out.json_line(&v);
            }
            for vip in &status.vips {
                let mut v = json!(vip);
                v["type"] = json!("bgp_vip");
                v["pid"] = json!(pid);
                out.json_line(&v);
            }
            for c in &status.checks {
                let mut v = json!(c);
                v["type"] = json!("bgp_check");
                v["pid"] = json!(pid);
                out.json_line(&v);
            }
            continue;
        }
        out.text(&format!("\nBGP (bmnet bgp run, pid {pid}):\n"));
        for s in &status.sessions {
            let bfd = s.bfd.as_ref().map_or_else(String::new, |b| format!(", BFD {b}"));
            out.text(&format!(
                "  peer {} AS {}: {} since {} ({}){bfd}\n",
                s.peer, s.peer_asn, s.state, s.since, s.reason
            ));
        }
        for v in &status.vips {
            let what = if v.announced { "announced" } else { "withdrawn" };
            let med = v.med.map_or_else(String::new, |m| format!(", MED {m}"));
            out.text(&format!("  VIP {}: {what} since {} ({}){med}\n", v.prefix, v.since, v.reason));
        }
        for c in &status.checks {
            let how = match &c.failure {
                None => "passed".to_string(),
                Some(f) => format!("failed: {f}"),
            };
            out.text(&format!("  check {}: last run {how} at {}\n", c.name, c.at));
        }
    }
}

fn dns(out: &mut Output) {
    let reading = super::status::read_all::<DnsStatus>();
    unreadable(out, "bmnet dns serve", &reading.unreadable);
    for daemon in reading.live {
        let (pid, status) = (daemon.pid, daemon.body);
        let zone = status.zone.trim_end_matches('.');
        let Some(&server) = status.listen.first() else { continue };
        let recursion: Vec<String> = status.recursion.iter().map(ToString::to_string).collect();
        if out.json() {
            out.json_line(&json!({ "type": "dns_server", "pid": pid, "zone": zone, "listen": status.listen,
                                   "xdp": status.xdp, "recursion": recursion, "stats": status.stats }));
        } else {
            let xdp = if status.xdp.is_empty() {
                String::new()
            } else {
                format!(", UDP over XDP on {}", status.xdp.join(", "))
            };
            out.text(&format!("\nCluster DNS (bmnet dns serve, pid {pid}, {zone} on {server}{xdp}):\n"));
            let who = if recursion.is_empty() { "nobody".to_string() } else { recursion.join(", ") };
            out.text(&format!("  other names forwarded for: {who}\n"));
            let summary = status.summary();
            if !summary.is_empty() {
                out.text(&format!("  so far: {}\n", summary.join("; ")));
            }
        }
        for name in [format!("api.{zone}"), format!("api-int.{zone}"), format!("test.apps.{zone}")] {
            for rtype in [hickory_proto::rr::RecordType::A, hickory_proto::rr::RecordType::AAAA] {
                let answer = ask(server, &name, rtype);
                if out.json() {
                    out.json_line(&json!({ "type": "dns", "server": server.to_string(), "name": name,
                                           "rtype": rtype.to_string(), "answer": answer }));
                } else {
                    let shown = match &answer {
                        Ok(a) if a.is_empty() => "no records".to_string(),
                        Ok(a) => a.join(", "),
                        Err(e) => format!("error: {e}"),
                    };
                    out.text(&format!("  {name} {rtype}: {shown}\n"));
                }
            }
        }
    }
}

/// One query over UDP with a 1 s timeout: the answer records' data, or why there is none.
fn ask(server: std::net::SocketAddr, name: &str, rtype: hickory_proto::rr::RecordType) -> Result<Vec<String>, String> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::Name;
    let mut q = Message::query();
    q.add_query(Query::query(Name::from_ascii(name).map_err(|e| e.to_string())?, rtype));
    let reply = super::dns::exchange(server, &q, std::time::Duration::from_secs(1))?;
    match u16::from(reply.metadata.response_code) {
        0 => Ok(reply.answers.iter().map(|r| r.data.to_string()).collect()),
        3 => Err("NXDOMAIN".to_string()),
        n => Err(format!("rcode {n}")),
    }
}

/// Where NetworkManager keeps the profiles bmnet checks on this host.
const KEYFILE_DIRS: &[&str] = &["/etc/NetworkManager/system-connections", "/run/NetworkManager/system-connections"];

/// The diagnostics of this host's NetworkManager keyfiles, when it has any.
fn keyfiles(out: &mut Output) {
    let dirs: Vec<std::path::PathBuf> =
        KEYFILE_DIRS.iter().map(std::path::PathBuf::from).filter(|p| p.is_dir()).collect();
    if dirs.is_empty() {
        return;
    }
    let (checked, set) = match super::nmconn::check_paths(&dirs, NmVersion::default()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bmnet: checking keyfiles: {e}");
            return;
        }
    };
    if !out.json() {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        out.text(&format!("\nNetworkManager keyfiles ({}), as NetworkManager 1.42 reads them:\n", shown.join(", ")));
        if checked.is_empty() {
            out.text("  none\n");
        }
    }
    for (i, c) in checked.iter().enumerate() {
        let extra = set.iter().filter(|(j, _)| *j == i).map(|(_, d)| d);
        let all: Vec<&bm_nmconn::diag::Diagnostic> = c.report.diagnostics.iter().chain(extra).collect();
        if !out.json() && all.is_empty() {
            out.text(&format!("  {}: ok\n", c.path.display()));
        }
        let lines = super::nmconn::Lines::new(&c.text);
        for d in all {
            super::nmconn::emit(out, &c.path, &lines, d);
        }
    }
}

/// The profiles NetworkManager would activate, against the kernel: what an edited keyfile
/// would change at the next `nmcli connection up` or reboot.
fn drift(out: &mut Output, snapshot: &nodeip::HostSnapshot) {
    let dirs = bm_preflight::drift::KeyfileDir::network_manager();
    if !dirs.iter().any(|d| d.path.is_dir()) {
        return;
    }
    let report = match super::preflight::keyfile_drift(&dirs, snapshot, None) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bmnet: comparing keyfiles with the kernel: {e}");
            return;
        }
    };
    if out.json() {
        for d in &report.differences {
            let mut v = json!(d);
            v["type"] = json!("keyfile_drift");
            out.json_line(&v);
        }
        return;
    }
    out.text(&format!(
        "
Keyfiles against the kernel ({} profiles NetworkManager would activate here):
",
        report.matched.len()
    ));
    let lines = super::preflight::drift_lines(&report);
    if lines.is_empty() {
        out.text("  no drift: the kernel runs what the files say\n");
    }
    for line in lines {
        out.text(&format!("  drift: {line}\n"));
    }
}

fn interface_record(iface: &Interface) -> Value {
    let addresses: Vec<Value> = iface
        .addresses
        .iter()
        .map(|a| {
            let mut v = json!(addr::classify(a.addr));
            v["prefix_len"] = json!(a.prefix_len);
            v["flags"] = json!(a.flags);
            v
        })
        .collect();
    json!({
        "type": "interface",
        "name": iface.name,
        "index": iface.index,
        "kind": iface.kind,
        "up": iface.up,
        "running": iface.running,
        "loopback": iface.loopback,
        "mac": iface.mac,
        "addresses": addresses,
    })
}

fn render(ifaces: &[Interface], pitfalls: &[Pitfall]) -> String {
    let mut s = String::new();
    for iface in ifaces {
        let mut state = vec![if iface.up { "up" } else { "down" }];
        if iface.running {
            state.push("running");
        }
        if iface.loopback {
            state.push("loopback");
        }
        let mac = iface.mac.as_deref().map(|m| format!(", {m}")).unwrap_or_default();
        let _ = writeln!(s, "{}: {} ({}{mac})", iface.index, iface.name, state.join(", "));
        for a in &iface.addresses {
            let c = addr::classify(a.addr);
            let mut what = Vec::new();
            for (set, name) in [
                (c.kind != Kind::Ipv4 && c.kind != Kind::Ipv6, kind_name(c.kind)),
                (c.is_loopback, "loopback"),
                (c.is_link_local, "link-local"),
                (c.is_private, "private"),
                (c.is_shared, "shared"),
                (c.is_documentation, "documentation"),
                (c.is_benchmarking, "benchmarking"),
                (c.is_reserved, "reserved"),
                (c.is_multicast, "multicast"),
                (c.is_global, "global"),
            ] {
                if set {
                    what.push(name);
                }
            }
            let flags = if a.flags.is_empty() { String::new() } else { format!(" [{}]", a.flags.join(" ")) };
            let _ = writeln!(
                s,
                "    {:<42} {:<4} {:<32} {}{flags}",
                format!("{}/{}", a.addr, a.prefix_len),
                c.family,
                what.join(","),
                c.registry.map_or("-", |r| r.name),
            );
        }
    }
    if pitfalls.is_empty() {
        let _ = writeln!(s, "\nNo pitfalls found.");
    } else {
        let _ = writeln!(s, "\nPitfalls:");
        for p in pitfalls {
            let _ = writeln!(s, "  ! {}", p.message);
        }
    }
    s
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Ipv4Mapped => "ipv4-mapped",
        Kind::Ipv4Compatible => "ipv4-compatible",
        Kind::Ipv4Translated => "ipv4-translated",
        Kind::Nat64 => "nat64",
        Kind::SixToFour => "6to4",
        Kind::Teredo => "teredo",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::host::HostAddr;

    fn iface(name: &str, addrs: &[(&str, u8, &[&'static str])]) -> Interface {
        Interface {
            name: name.into(),
            addresses: addrs
                .iter()
                .map(|(a, p, f)| HostAddr { addr: a.parse().unwrap(), prefix_len: *p, flags: f.to_vec() })
                .collect(),
            ..Interface::default()
        }
    }

    /// A status file's instance as `bmnet vrrp run` writes it, as text.
    #[test]
    fn vrrp_instances_show_their_counters() {
        let record = json!({
            "name": "VI_1", "interface": "eth0", "vrid": 51, "state": "MASTER", "priority": 150,
            "vips": ["10.0.0.100/24"], "since": "2026-01-01T00:00:00.000Z", "reason": "master down interval expired",
            "source": "10.0.0.2", "source_usable": true, "link_up": true,
            "cause": { "kind": "master_down_expired" },
            "stats": { "adverts_accepted": 3, "adverts_sent": 40, "send_failures": 0, "consecutive_failed_rounds": 0,
                       "drops": { "not_a_peer": 12, "peer_ttl": 1 }, "vip_failures": 2, "last_send_error": null,
                       "last_vip_error": null, "transitions": 2, "encode_failures": 0 },
            "timers": [{ "timer": "advert", "due_in": 700 }],
            "pending_vip_removal": ["10.0.0.101"],
        });
        // Read back as `inspect` reads a status file: typed.
        let record: InstanceRecord = serde_json::from_value(record).unwrap();
        assert_eq!(
            vrrp_instance_text(&record),
            "  VI_1 on eth0 (vrid 51): MASTER priority 150, VIPs 10.0.0.100/24 — since 2026-01-01T00:00:00.000Z \
             (master down interval expired)\n    source 10.0.0.2 (usable), link up; adverts 3 accepted, 40 sent, 0 \
             failed to send; drops not_a_peer 12, peer_ttl 1; VIP changes failed 2\n    VIP removal failed, \
             retrying: 10.0.0.101\n"
        );
    }

    #[test]
    fn a_clean_host_says_so() {
        let ifaces = [iface("lo", &[("127.0.0.1", 8, &[])]), iface("eth0", &[("10.0.0.5", 24, &[])])];
        assert!(render(&ifaces, &[]).contains("No pitfalls found."));
    }
}
