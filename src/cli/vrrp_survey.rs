//! `bmnet vrrp vr-ids` and `bmnet vrrp listen`: OpenShift's VRIDs for a cluster name, and the
//! VRRP routers already on a segment (with the collisions against a cluster's VRIDs and VIPs).

use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{Collision, Family, Heard, OpenShiftVrids, Survey};
use serde_json::json;

use super::Status;
use super::output::Output;

/// `bmnet vrrp vr-ids NAME...`: what `runtimecfg vr-ids` prints, one line per name, and the
/// collisions between the names given.
pub(crate) fn vr_ids(out: &mut Output, names: &[String]) -> Status {
    let mut computed = Vec::new();
    for name in names {
        match OpenShiftVrids::for_cluster(name) {
            Ok(v) => computed.push((name, v)),
            Err(e) => {
                eprintln!("bmnet: {name:?}: {e}");
                return Status::Problems;
            }
        }
    }
    let mut status = Status::Ok;
    for (i, (name, v)) in computed.iter().enumerate() {
        let clashes: Vec<&str> = computed
            .iter()
            .enumerate()
            .filter(|(j, (_, w))| *j != i && v.collides_with(w))
            .map(|(_, (n, _))| n.as_str())
            .collect();
        if !clashes.is_empty() {
            status = Status::Problems;
        }
        if out.json() {
            out.json_line(&json!({ "type": "vr_ids", "cluster": name, "api": v.api, "ingress": v.ingress,
                                   "collides_with": clashes }));
        } else {
            let note =
                if clashes.is_empty() { String::new() } else { format!("  collides with {}", clashes.join(", ")) };
            out.text(&format!("{name}: api {} ingress {}{note}\n", v.api, v.ingress));
        }
    }
    status
}

/// `bmnet vrrp listen`: listens, prints every router heard, then the collisions with the
/// cluster's VRIDs (`--cluster-name`) and VIPs (`--vip`). Exit 1 on a collision.
pub(crate) fn listen(
    out: &mut Output,
    interface: &str,
    seconds: Duration,
    cluster: Option<&str>,
    vips: &[IpAddr],
) -> Status {
    let vrids = match cluster.map(OpenShiftVrids::for_cluster).transpose() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("bmnet: --cluster-name: {e}");
            return Status::Problems;
        }
    };
    let survey = match bm_vrrp::socket::listen(interface, seconds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Problems;
        }
    };
    let collisions = report(out, &survey, vrids.as_ref(), vips);
    if collisions == 0 { Status::Ok } else { Status::Problems }
}

/// Prints what `survey` heard and its collisions with `vrids` and `vips`; how many collisions.
pub(crate) fn report(out: &mut Output, survey: &Survey, vrids: Option<&OpenShiftVrids>, vips: &[IpAddr]) -> usize {
    for h in survey.heard() {
        if out.json() {
            out.json_line(&json!({ "type": "vrrp_heard", "heard": h }));
        } else {
            out.text(&format!("heard {}\n", describe(h)));
        }
    }
    let ours: Vec<u8> = vrids.map(|v| v.both().to_vec()).unwrap_or_default();
    let collisions = survey.collisions(&ours, vips);
    for c in &collisions {
        if out.json() {
            out.json_line(&json!({ "type": "vrrp_collision", "collision": c }));
        } else {
            let what = match c {
                Collision::Vrid { vrid, heard } => {
                    let role =
                        vrids.map_or("", |v| if *vrid == v.api { " (the API VIP's)" } else { " (the ingress VIP's)" });
                    format!("VRID {vrid}{role} is in use on {} by {}", heard.family, heard.source)
                }
                Collision::Vip { vip, heard } => {
                    format!("VIP {vip} is advertised by {} (VRID {})", heard.source, heard.vrid)
                }
                _ => format!("{c:?}"),
            };
            out.text(&format!("error: {what}\n"));
        }
    }
    if !collisions.is_empty() {
        let families: Vec<Family> = if vips.is_empty() {
            vec![Family::Ipv4, Family::Ipv6]
        } else {
            let mut f: Vec<Family> = vips.iter().map(|v| Family::of(*v)).collect();
            f.dedup();
            f
        };
        let free: Vec<u8> = (1..=255).filter(|v| families.iter().all(|f| !survey.is_taken(*v, *f))).collect();
        let sample: Vec<String> = free.iter().take(8).map(u8::to_string).collect();
        if out.json() {
            out.json_line(&json!({ "type": "vrrp_free_vrids", "free": free }));
        } else {
            out.text(&format!(
                "free VRIDs: {} ({} in all); OpenShift derives its VRIDs from the cluster name: rename the cluster\n",
                sample.join(", "),
                free.len()
            ));
        }
    }
    if survey.rejected() > 0 && !out.json() {
        out.text(&format!("{} malformed VRRP messages ignored\n", survey.rejected()));
    }
    collisions.len()
}

fn describe(h: &Heard) -> String {
    let mode = if h.unicast { format!("unicast to {}", h.destination) } else { "multicast".to_string() };
    let vips: Vec<String> = h.vips.iter().map(IpAddr::to_string).collect();
    format!(
        "VRID {} {} {} from {} ({mode}), priority {}, interval {}, VIPs {}{}",
        h.vrid,
        h.family,
        h.version,
        h.source,
        h.priority,
        h.interval,
        vips.join(" "),
        if h.password { ", with a password" } else { "" }
    )
}
