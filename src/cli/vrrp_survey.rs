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
                return Status::Failure;
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
            return Status::Failure;
        }
    };
    let survey = match bm_vrrp::socket::listen(interface, seconds) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bmnet: {e}");
            return Status::Failure;
        }
    };
    let collisions = report(out, &survey, cluster, vrids.as_ref(), vips);
    if collisions == 0 { Status::Ok } else { Status::Problems }
}

/// Prints what `survey` heard and its collisions with `vrids` and `vips`; how many collisions.
pub(crate) fn report(
    out: &mut Output,
    survey: &Survey,
    cluster: Option<&str>,
    vrids: Option<&OpenShiftVrids>,
    vips: &[IpAddr],
) -> usize {
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
            out.text(&format!("error: {}\n", collision_text(c, vrids)));
        }
    }
    let name = cluster.unwrap_or_default();
    if let Some(advice) = rename_advice(name, survey, &collisions, vips) {
        if out.json() {
            out.json_line(
                &json!({ "type": "vrrp_free_vrids", "free": advice.free_vrids, "free_names": advice.free_names }),
            );
        } else {
            let sample: Vec<String> = advice.free_vrids.iter().take(8).map(u8::to_string).collect();
            out.text(&format!(
                "free VRIDs: {} ({} in all); {}\n",
                sample.join(", "),
                advice.free_vrids.len(),
                advice.text
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

/// One collision in a sentence.
pub(crate) fn collision_text(c: &Collision, vrids: Option<&OpenShiftVrids>) -> String {
    let role = |vrid: u8| match vrids {
        Some(v) if vrid == v.api => " (the API VIP's)",
        Some(v) if vrid == v.ingress => " (the ingress VIP's)",
        _ => "",
    };
    match c {
        Collision::Vrid { vrid, heard } => {
            let vips: Vec<String> = heard.vips.iter().map(IpAddr::to_string).collect();
            format!(
                "VRID {vrid}{} is in use on {}: {} {} from {}, VIPs {}",
                role(*vrid),
                heard.family,
                heard.version,
                if heard.unicast { "unicast" } else { "multicast" },
                heard.source,
                vips.join(" ")
            )
        }
        Collision::UnreadableVrid { vrid, unreadable: u } => format!(
            "VRID {vrid}{} is in use on {}: {} {} messages from {} that bmnet cannot read ({})",
            role(*vrid),
            u.family,
            u.messages,
            u.version,
            u.source,
            u.reason
        ),
        Collision::Vip { vip, heard } => {
            format!("VIP {vip} is advertised by {} under VRID {}", heard.source, heard.vrid)
        }
        other => format!("{other:?}"),
    }
}

/// What to do about VRID collisions (none for VIP collisions alone: renaming does not help).
pub(crate) struct RenameAdvice {
    pub(crate) text: String,
    pub(crate) free_vrids: Vec<u8>,
    pub(crate) free_names: Vec<String>,
}

/// The advice when a collision is on a VRID: the free VRIDs in the cluster's families, and
/// names near `name` (valid cluster names) whose VRIDs nobody was heard using.
pub(crate) fn rename_advice(
    name: &str,
    survey: &Survey,
    collisions: &[Collision],
    vips: &[IpAddr],
) -> Option<RenameAdvice> {
    if !collisions.iter().any(|c| matches!(c, Collision::Vrid { .. } | Collision::UnreadableVrid { .. })) {
        return None;
    }
    let mut families: Vec<Family> =
        if vips.is_empty() { vec![Family::Ipv4, Family::Ipv6] } else { vips.iter().map(|v| Family::of(*v)).collect() };
    families.sort();
    families.dedup();
    let free = |id: &u8| families.iter().all(|f| !survey.is_taken(*id, *f));
    let free_vrids: Vec<u8> = (1..=255).filter(free).collect();
    let free_names: Vec<String> = if name.is_empty() {
        Vec::new()
    } else {
        (1..100)
            .map(|n| format!("{name}-{n}"))
            // A cluster name is a DNS label: at most 63 characters.
            .filter(|c| c.len() <= 63)
            .filter(|c| OpenShiftVrids::for_cluster(c).is_ok_and(|ids| ids.both().iter().all(free)))
            .take(3)
            .collect()
    };
    let text = format!(
        "OpenShift derives its VRIDs from the cluster name: rename the cluster{}",
        if free_names.is_empty() { String::new() } else { format!(" (free, for example: {})", free_names.join(", ")) }
    );
    Some(RenameAdvice { text, free_vrids, free_names })
}
