//! Link-level settings: `[vlan]` (id range, parent), `[ethernet]`'s cloned MAC, `[user]` keys.

use super::{Checker, Help};
use crate::diag::Code;
use crate::profile::{Bridge, Ethernet};

/// `kind`: the profile's type, as NetworkManager writes it.
pub(super) fn check(c: &mut Checker<'_>, kind: Option<&str>) {
    let load = c.load;
    if kind == Some("vlan") || load.profile.vlan.is_some() {
        vlan(c);
    }
    // Both Ethernet groups, when both are written (NetworkManager reads one of them).
    for read in load.ethernet_groups.iter().flatten() {
        if let Some((e, v)) = &read.cloned_mac_invalid {
            c.on_value(
                Code::MacInvalid,
                e,
                format!("`{v}` is no MAC address nor preserve/permanent/random/stable: NetworkManager drops it"),
            );
        }
    }
    for read in load.ethernet_groups.iter().flatten() {
        ethernet(c, read.group, &read.ethernet);
    }
    if let Some(bridge) = &load.profile.bridge {
        self::bridge(c, bridge);
    }
    let infiniband = load.profile.infiniband.as_ref();
    let transport_mode = match infiniband {
        Some(ib) => Some(ib.transport_mode.as_deref().unwrap_or_default()),
        None => (kind == Some("infiniband")).then_some(""),
    };
    if let Some(mode) = transport_mode
        && !matches!(mode, "datagram" | "connected")
    {
        let d = c.at_group(Code::ValueInvalid, "infiniband", "infiniband.transport-mode: property is invalid");
        d.help("add `transport-mode=datagram` or `connected`");
    }
    // (Most files have no `[user]`: no lookup for one.)
    let user_keys = if c.load.user_written { c.doc.keys("user") } else { Vec::new() };
    for key in user_keys {
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
fn ethernet(c: &mut Checker<'_>, g: &str, eth: &Ethernet) {
    if let Some(d) = eth.duplex.as_deref()
        && !matches!(d, "half" | "full")
    {
        c.at_value(
            Code::ValueInvalid,
            g,
            "duplex",
            format!("802-3-ethernet.duplex: '{d}' is not a valid duplex value"),
        )
        .help("`half` or `full`");
    }
    if let Some(p) = eth.port.as_deref()
        && !matches!(p, "tp" | "aui" | "bnc" | "mii")
    {
        c.at_value(
            Code::ValueInvalid,
            g,
            "port",
            format!("802-3-ethernet.port: '{p}' is not a valid Ethernet port value"),
        )
        .help("`tp`, `aui`, `bnc` or `mii`");
    }
    {
        let w = eth.wake_on_lan;
        const DEFAULT: u32 = 0x1;
        const IGNORE: u32 = 0x8000;
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
fn bridge(c: &mut Checker<'_>, b: &Bridge) {
    const G: &str = "bridge";
    if b.group_forward_mask & 0b111 != 0 {
        c.at_value(
            Code::ValueInvalid,
            G,
            "group-forward-mask",
            "bridge.group-forward-mask: the mask can't contain bits 0 (STP), 1 (MAC) or 2 (LACP)",
        );
    }
    if !b.multicast_hash_max.is_power_of_two() {
        c.at_value(
            Code::ValueInvalid,
            G,
            "multicast-hash-max",
            "bridge.multicast-hash-max: 'multicast-hash-max' option must be a power of 2",
        );
    }
    for (key, n, min, max) in [
        ("forward-delay", b.forward_delay, 2, 30),
        ("hello-time", b.hello_time, 1, 10),
        ("max-age", b.max_age, 6, 40),
        ("ageing-time", b.ageing_time, 0, 1_000_000),
    ] {
        if !(min..=max).contains(&n) {
            c.at_value(Code::ValueInvalid, G, key, format!("bridge.{key}: value '{n}' is out of range <{min}-{max}>"));
        }
    }
}

fn vlan(c: &mut Checker<'_>) {
    const G: &str = "vlan";
    let load = c.load;
    let vlan = load.profile.vlan.as_ref();
    if let Some(n) = load.vlan_flags_invalid {
        c.at_value(
            Code::IntegerInvalid,
            G,
            "flags",
            format!("vlan.flags {n} has bits no flag uses (1 reorder-headers, 2 gvrp, 4 loose-binding, 8 mvrp): NetworkManager keeps the default, 1"),
        );
    }
    if let Some(p) = vlan.and_then(|v| v.protocol.as_deref())
        && !matches!(p, "802.1Q" | "802.1ad")
    {
        c.at_value(
            Code::ValueInvalid,
            G,
            "protocol",
            format!("vlan.protocol: invalid VLAN protocol {p}: must be '802.1Q' or '802.1ad'"),
        );
    }
    match vlan {
        Some(v) if c.written(G, "id") => {
            if v.id > 4094 {
                let id = v.id;
                c.at_value(
                    Code::VlanIdRange,
                    G,
                    "id",
                    format!("vlan.id: the vlan id must be in range 0-4094 but is {id}"),
                );
            }
        }
        _ => {
            c.at_group(Code::VlanIdMissing, G, "no `id`: NetworkManager creates VLAN 0").help("add `id=`");
        }
    }
    match vlan.and_then(|v| v.parent.as_deref()).filter(|p| !p.is_empty()) {
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
            let has_mac = load.profile.ethernet.as_ref().is_some_and(|e| e.mac_address.is_some());
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
