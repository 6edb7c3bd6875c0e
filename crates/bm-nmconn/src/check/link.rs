//! Link-level settings: `[vlan]` (id range, parent), `[ethernet]`'s cloned MAC, `[user]` keys.

use super::{Checker, Help, ProfileSummary};
use crate::diag::Code;
use crate::value::{parse_mac, parse_uint};

pub(super) fn check(c: &mut Checker<'_>, profile: &ProfileSummary) {
    if profile.kind.as_deref() == Some("vlan") || c.doc.has_group("vlan") {
        vlan(c);
    }
    for g in ["ethernet", "802-3-ethernet"] {
        if let Some(v) = c.string(g, "cloned-mac-address")
            && !matches!(&*v, "preserve" | "permanent" | "random" | "stable")
            && parse_mac(&v, 6).is_none()
        {
            c.at_value(
                Code::MacInvalid,
                g,
                "cloned-mac-address",
                format!("`{v}` is no MAC address nor preserve/permanent/random/stable: NetworkManager drops it"),
            );
        }
    }
    for key in c.doc.keys("user") {
        let why = if !key.contains('.') {
            Some("key requires a '.' for a namespace")
        } else if !key.chars().all(|ch| ch.is_ascii_alphanumeric() || "-_+/=.".contains(ch)) {
            Some("key contains invalid characters")
        } else {
            None
        };
        if let Some(why) = why {
            c.at_key(Code::UserKeyInvalid, "user", key, format!("user.data: invalid key \"{key}\": {why}"));
        }
    }
}

fn vlan(c: &mut Checker<'_>) {
    const G: &str = "vlan";
    match c.string(G, "id") {
        None => {
            c.at_group(Code::VlanIdMissing, G, "no `id`: NetworkManager creates VLAN 0").help("add `id=`");
        }
        Some(v) => {
            if let Ok((id, _)) = parse_uint(&v, 0, u64::from(u32::MAX))
                && id > 4094
            {
                c.at_value(
                    Code::VlanIdRange,
                    G,
                    "id",
                    format!("vlan.id: the vlan id must be in range 0-4094 but is {id}"),
                );
            }
        }
    }
    match c.string(G, "parent").filter(|p| !p.is_empty()) {
        Some(p) => {
            let uuid_like = p.len() == 36 && p.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-');
            let ifname_ok = p.len() <= 15
                && p != "."
                && p != ".."
                && !p.chars().any(|ch| ch == '/' || ch == ':' || ch.is_whitespace());
            if !uuid_like && !ifname_ok {
                c.at_value(
                    Code::VlanParentInvalid,
                    G,
                    "parent",
                    format!("vlan.parent: '{p}' is neither an UUID nor an interface name"),
                );
            }
        }
        None => {
            let has_mac = ["ethernet", "802-3-ethernet"].iter().any(|g| c.string(g, "mac-address").is_some());
            if !has_mac {
                c.at_group(
                    Code::VlanParentMissing,
                    G,
                    "vlan.parent: property is not specified and neither is '802-3-ethernet:mac-address'",
                )
                .help("add `parent=` with the parent's interface name or profile UUID");
            }
        }
    }
}
