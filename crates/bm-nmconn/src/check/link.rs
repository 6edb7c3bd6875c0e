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
    for g in ["ethernet", "802-3-ethernet"] {
        ethernet(c, g);
    }
    if c.doc.has_group("bridge") {
        bridge(c);
    }
    if let Some(mode) = c
        .string("infiniband", "transport-mode")
        .or_else(|| (c.doc.has_group("infiniband") || profile.kind.as_deref() == Some("infiniband")).then(|| "".into()))
        && !matches!(&*mode, "datagram" | "connected")
    {
        let d = c.at_group(Code::ValueInvalid, "infiniband", "infiniband.transport-mode: property is invalid");
        d.help("add `transport-mode=datagram` or `connected`");
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

/// `[ethernet]`'s verify rules (`nm-setting-wired.c`).
fn ethernet(c: &mut Checker<'_>, g: &str) {
    if let Some(d) = c.string(g, "duplex")
        && !matches!(&*d, "half" | "full")
    {
        c.at_value(
            Code::ValueInvalid,
            g,
            "duplex",
            format!("802-3-ethernet.duplex: '{d}' is not a valid duplex value"),
        )
        .help("`half` or `full`");
    }
    if let Some(p) = c.string(g, "port")
        && !matches!(&*p, "tp" | "aui" | "bnc" | "mii")
    {
        c.at_value(
            Code::ValueInvalid,
            g,
            "port",
            format!("802-3-ethernet.port: '{p}' is not a valid Ethernet port value"),
        )
        .help("`tp`, `aui`, `bnc` or `mii`");
    }
    if let Some(w) = c.string(g, "wake-on-lan")
        && let Ok((w, _)) = parse_uint(&w, 0, u64::from(u32::MAX))
    {
        const DEFAULT: u64 = 0x1;
        const IGNORE: u64 = 0x8000;
        if (w & DEFAULT != 0 && w != DEFAULT) || (w & IGNORE != 0 && w != IGNORE) {
            c.at_value(
                Code::ValueInvalid,
                g,
                "wake-on-lan",
                "802-3-ethernet.wake-on-lan: Wake-on-LAN mode 'default' and 'ignore' are exclusive flags",
            );
        }
    }
}

/// `[bridge]`'s verify rules (`nm-setting-bridge.c`).
fn bridge(c: &mut Checker<'_>) {
    const G: &str = "bridge";
    let num =
        |c: &Checker<'_>, key: &str| c.string(G, key).and_then(|v| parse_uint(&v, 0, u64::MAX).ok()).map(|(n, _)| n);
    if let Some(mask) = num(c, "group-forward-mask")
        && mask & 0b111 != 0
    {
        c.at_value(
            Code::ValueInvalid,
            G,
            "group-forward-mask",
            "bridge.group-forward-mask: the mask can't contain bits 0 (STP), 1 (MAC) or 2 (LACP)",
        );
    }
    if let Some(n) = num(c, "multicast-hash-max")
        && !n.is_power_of_two()
    {
        c.at_value(
            Code::ValueInvalid,
            G,
            "multicast-hash-max",
            "bridge.multicast-hash-max: 'multicast-hash-max' option must be a power of 2",
        );
    }
    for (key, min, max) in
        [("forward-delay", 2, 30), ("hello-time", 1, 10), ("max-age", 6, 40), ("ageing-time", 0, 1_000_000)]
    {
        if let Some(n) = num(c, key)
            && !(min..=max).contains(&n)
        {
            c.at_value(Code::ValueInvalid, G, key, format!("bridge.{key}: value '{n}' is out of range <{min}-{max}>"));
        }
    }
}

fn vlan(c: &mut Checker<'_>) {
    const G: &str = "vlan";
    if let Some(f) = c.string(G, "flags")
        && let Ok((n, _)) = parse_uint(&f, 0, u64::from(u32::MAX))
        && n & !0xf != 0
    {
        c.at_value(
            Code::IntegerInvalid,
            G,
            "flags",
            format!("vlan.flags {n} has bits no flag uses (1 reorder-headers, 2 gvrp, 4 loose-binding, 8 mvrp): NetworkManager keeps the default, 1"),
        );
    }
    if let Some(p) = c.string(G, "protocol")
        && !matches!(&*p, "802.1Q" | "802.1ad")
    {
        c.at_value(
            Code::ValueInvalid,
            G,
            "protocol",
            format!("vlan.protocol: invalid VLAN protocol {p}: must be '802.1Q' or '802.1ad'"),
        );
    }
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
