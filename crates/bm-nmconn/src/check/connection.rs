//! `[connection]`: identity, type, interface name, permissions, and whether the profile is a
//! port (and which keys say so on the target version).

use super::{Checker, Help, ProfileSummary};
use crate::diag::Code;
use crate::profile::Connection;
use crate::schema::{base_group, base_type_rank, group_is_known, setting_of_group};

/// Types that need `connection.interface-name` (their settings' `verify` calls
/// `_nm_connection_verify_required_interface_name`; checked against libnm 1.42 for every type
/// in `tests/libnm_connection_type.rs`).
const NEED_IFNAME: &[&str] =
    &["bond", "bridge", "team", "dummy", "vrf", "wireguard", "ovs-bridge", "ovs-port", "ovs-patch", "veth"];

/// The profile's identity as [`check`] finds it, kept apart from the loaded values it comes
/// from: [`Identity::summary`] then moves those values into the [`ProfileSummary`] instead of
/// copying them.
#[derive(Default)]
pub(super) struct Identity {
    /// The id: `None` when it is the written one (or there is none), else the one NetworkManager
    /// derives from the file name.
    id_from_file: Option<String>,
    /// The written UUID is valid (the summary has it lower-cased).
    uuid: bool,
    /// It has an upper-case digit (else there is nothing to lower-case).
    uuid_upper: bool,
    /// The type, as NetworkManager writes it.
    pub(super) kind: Kind,
    /// The controller: written as `controller` (true) or as `master` (false).
    controller: Option<bool>,
    controller_line: usize,
}

/// Where the summary's type comes from.
#[derive(Default)]
pub(super) enum Kind {
    /// No type.
    #[default]
    None,
    /// The written one, as stored.
    Written,
    /// Another name: a setting's alias, or a type inferred from the groups.
    Named(&'static str),
}

impl Identity {
    /// Whether the profile is a port.
    pub(super) fn is_port(&self) -> bool {
        self.controller.is_some()
    }

    /// The type, as NetworkManager writes it.
    pub(super) fn kind<'a>(&self, con: &'a Connection) -> Option<&'a str> {
        match self.kind {
            Kind::None => None,
            Kind::Written => con.kind.as_deref(),
            Kind::Named(k) => Some(k),
        }
    }

    /// The summary: the identity's strings copied out of the loaded connection, into one
    /// allocation.
    pub(super) fn summary(&self, con: &Connection) -> ProfileSummary {
        let id = match &self.id_from_file {
            Some(id) => Some(id.as_str()),
            None => con.id.as_deref().filter(|s| !s.is_empty()),
        };
        let uuid = con.uuid.as_deref().filter(|_| self.uuid);
        let controller = match self.controller {
            Some(true) => con.controller.as_deref(),
            Some(false) => con.master.as_deref(),
            None => None,
        };
        let mut summary = ProfileSummary::new(id, uuid, self.kind(con), con.interface_name.as_deref(), controller);
        if self.uuid_upper {
            summary.lowercase_uuid();
        }
        summary.controller_line = self.controller_line;
        summary
    }
}

pub(super) fn check(c: &mut Checker<'_>) -> Identity {
    let mut p = Identity::default();
    const G: &str = "connection";
    let load = c.load;
    let con = &load.profile.connection;

    // id
    match con.id.as_deref().filter(|s| !s.is_empty()) {
        Some(_) => {}
        None => match c.file_name {
            Some(name) => {
                // A directory's files come with their paths: the last component names it.
                let name = name.rsplit('/').next().unwrap_or(name);
                let id = name.strip_suffix(".nmconnection").unwrap_or(name).to_string();
                c.at_group(
                    Code::IdFromFilename,
                    G,
                    format!("no `id`: NetworkManager names this profile `{id}` after the file"),
                );
                p.id_from_file = Some(id);
            }
            None => {
                let d = if c.doc.locate(G, "id").is_some() {
                    c.at_value(Code::IdMissing, G, "id", "connection.id: property is missing")
                } else {
                    c.at_group(Code::IdMissing, G, "connection.id: property is missing")
                };
                d.help("add `id=NAME` to [connection]");
            }
        },
    }

    // uuid
    match con.uuid.as_deref() {
        None if c.doc.locate(G, "uuid").is_none() => {
            c.at_group(
                Code::UuidMissing,
                G,
                "no `uuid`: NetworkManager derives one from the file's path, so a renamed file is a new profile",
            );
        }
        None => {}
        Some(u) => match uuid_form(u) {
            None => {
                c.at_value(Code::UuidInvalid, G, "uuid", format!("connection.uuid: '{u}' is not a valid UUID"));
            }
            Some(upper) => {
                if upper {
                    c.at_value(Code::UuidUppercase, G, "uuid", "upper-case UUID: NetworkManager lower-cases it")
                        .help(format!("write `{}`", u.to_ascii_lowercase()));
                }
                p.uuid = true;
                p.uuid_upper = upper;
            }
        },
    }

    // type
    p.kind = match con.kind.as_deref() {
        Some(t) => {
            if base_group(t).is_none() {
                c.at_value(
                    Code::TypeInvalid,
                    G,
                    "type",
                    format!("connection.type: connection type '{t}' is not valid"),
                );
                Kind::None
            } else {
                // As NetworkManager writes the type (and nmcli shows it).
                match t {
                    "802-3-ethernet" => Kind::Named("ethernet"),
                    "802-11-wireless" => Kind::Named("wifi"),
                    _ => Kind::Written,
                }
            }
        }
        None => {
            // NetworkManager infers the type from the base-type setting of the lowest rank, if
            // no other has that rank.
            let mut best: Option<(u8, &str, &'static str)> = None;
            let mut tied = false;
            for group in c.doc.group_names().filter(|g| group_is_known(g)) {
                let setting = setting_of_group(group);
                let Some((rank, kind)) = base_type_rank(setting) else { continue };
                match best {
                    Some((r, s, _)) if rank > r || (rank == r && s == setting) => {}
                    Some((r, _, _)) if rank == r => tied = true,
                    _ => (best, tied) = (Some((rank, setting, kind)), false),
                }
            }
            let inferred = best.filter(|_| !tied).map(|(_, _, kind)| kind);
            match inferred {
                Some(k) => Kind::Named(k),
                None => {
                    c.at_group(Code::TypeMissing, G, "connection.type: property is missing")
                        .help("add `type=ethernet` (or bond, vlan, bridge, …)");
                    Kind::None
                }
            }
        }
    };
    let kind = p.kind(con);

    // interface-name, also read from [vlan]/[bridge]… when [connection] has none.
    let ifname = con.interface_name.as_deref();
    let ifname_group = load.interface_name_group;
    if let Some(name) = ifname {
        if let Err(why) = ifname_valid(name) {
            c.at_value(
                Code::InterfaceNameInvalid,
                ifname_group,
                "interface-name",
                format!("connection.interface-name: '{name}': {why}"),
            );
        }
    } else if let Some(k) = kind.filter(|k| NEED_IFNAME.contains(k)) {
        c.at_group(Code::InterfaceNameMissing, G, "connection.interface-name: property is missing")
            .help(format!("a {k} needs `interface-name=` (e.g. `interface-name={k}0`)"));
    }

    // permissions
    {
        for perm in &con.permissions {
            let ok = perm.strip_prefix("user:").is_some_and(|rest| {
                let name = rest.strip_suffix(':').unwrap_or(rest);
                !name.is_empty() && !name.contains(':')
            });
            if !ok {
                c.at_value(
                    Code::PermissionsInvalid,
                    G,
                    "permissions",
                    format!("connection.permissions: invalid permissions not in format \"user:$UNAME[:]\": '{perm}'"),
                )
                .help("write `permissions=user:NAME:;`");
                break;
            }
        }
    }

    // Port keys: `master`/`slave-type` always; `controller`/`port-type` from 1.46.
    let new_names = c.version_at_least(1, 46);
    for (new, old) in [("controller", "master"), ("port-type", "slave-type")] {
        let written = if new == "controller" { load.controller_written } else { load.port_type_written };
        if written && !new_names {
            let v = if new == "controller" { &con.controller } else { &con.port_type };
            let v = v.as_deref().unwrap_or_default();
            let d = c.at_key(
                Code::KeyNeedsNewerNm,
                G,
                new,
                format!(
                    "NetworkManager {} does not read `{new}=` (1.46 does): this key is ignored{}",
                    c.options.nm_version,
                    if new == "controller" { " and the profile is no port" } else { "" }
                ),
            );
            d.help(format!("write `{old}={v}`, which every version reads"));
        }
    }
    for (key, n) in [("mdns", con.mdns), ("llmnr", con.llmnr), ("dns-over-tls", con.dns_over_tls)] {
        if !(-1..=2).contains(&n) {
            c.at_value(Code::ValueInvalid, G, key, format!("connection.{key}: value {n} is not valid"));
        }
    }
    // A port needs both halves (the 1.46 names count where they are read).
    let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
    let has_controller = set(&con.master) || (new_names && set(&con.controller));
    let has_port_type = set(&con.slave_type) || (new_names && set(&con.port_type));
    match (has_controller, has_port_type) {
        (true, false) => {
            c.at_group(Code::PortIncomplete, G, "connection.slave-type: Cannot set 'master' without 'slave-type'")
                .help("add `slave-type=bond` (or bridge, team)");
        }
        (false, true) => {
            c.at_group(Code::PortIncomplete, G, "connection.master: Slave connections need a valid 'master' property")
                .help("add `master=` with the controller's interface name or UUID");
        }
        _ => {}
    }
    // The port type: one NetworkManager knows, by its exact name (libnm's verify: "Unknown
    // slave type"; `BOND`, `ethernet` and `bond ` are none). Empty is a port without one, above.
    for (key, value, read) in [("slave-type", &con.slave_type, true), ("port-type", &con.port_type, new_names)] {
        if let Some(t) = value.as_deref().filter(|t| read && !t.is_empty() && !PORT_TYPES.contains(t)) {
            c.at_value(Code::ValueInvalid, G, key, format!("connection.{key}: Unknown slave type '{t}'"))
                .help(format!("write one of {}", PORT_TYPES.join(", ")));
        }
    }
    let new_key = new_names && load.controller_written;
    let (controller_key, controller) = if new_key { ("controller", &con.controller) } else { ("master", &con.master) };
    if controller.as_deref().is_some_and(|s| !s.is_empty()) {
        p.controller_line = c.doc.locate(G, controller_key).map_or(0, |l| l.line);
        p.controller = Some(new_key);
    }
    p
}

/// The port types NetworkManager 1.42 knows (`connection.slave-type`; `port-type` from 1.46).
const PORT_TYPES: [&str; 6] = ["bond", "bridge", "ovs-bridge", "ovs-port", "team", "vrf"];

/// Whether `s` is a UUID as NetworkManager writes them (`8-4-4-4-12` hexadecimal digits, of
/// either case), and if so whether a digit is upper-case: one pass over the digits, without a
/// branch per byte (every profile has a UUID, and this runs for each).
fn uuid_form(s: &str) -> Option<bool> {
    let b = s.as_bytes();
    if b.len() != 36 || b[8] != b'-' || b[13] != b'-' || b[18] != b'-' || b[23] != b'-' {
        return None;
    }
    let (mut hex, mut upper) = (true, false);
    for part in [&b[..8], &b[9..13], &b[14..18], &b[19..23], &b[24..]] {
        for &ch in part {
            let letter = (ch | 0x20).wrapping_sub(b'a') < 6;
            hex &= ch.wrapping_sub(b'0') < 10 || letter;
            upper |= letter && ch & 0x20 == 0;
        }
    }
    hex.then_some(upper)
}

/// `nm_utils_ifname_valid_kernel`.
fn ifname_valid(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("interface name is empty");
    }
    if name.len() > 15 {
        return Err("interface name is longer than 15 characters");
    }
    if name == "." || name == ".." {
        return Err("interface name is reserved");
    }
    if name.chars().any(|ch| ch == '/' || ch == ':' || ch.is_whitespace()) {
        return Err("interface name contains an invalid character");
    }
    if matches!(name, "all" | "default" | "bonding_masters") {
        return Err("interface name is not allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `uuid_form` replaced: a compare per part, then a search for an upper-case digit.
    fn reference(s: &str) -> Option<bool> {
        let b = s.as_bytes();
        let hex = |part: &[u8]| part.iter().all(u8::is_ascii_hexdigit);
        let valid = b.len() == 36
            && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
            && [&b[..8], &b[9..13], &b[14..18], &b[19..23], &b[24..]].iter().all(|p| hex(p));
        valid.then(|| b.iter().any(u8::is_ascii_uppercase))
    }

    #[test]
    fn uuid_forms() {
        assert_eq!(uuid_form("0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70"), Some(false));
        assert_eq!(uuid_form("0B3A5B6E-2a4f-4c9b-9b0e-1d2c3b4a5f70"), Some(true));
        assert_eq!(uuid_form("0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f7g"), None);
        assert_eq!(uuid_form("0b3a5b6e2a4f-4c9b-9b0e-1d2c3b4a5f70a"), None);
        assert_eq!(uuid_form(""), None);
    }

    proptest::proptest! {
        /// Every byte next to the ranges of digits and letters (`/`, `:`, `@`, `G`, `` ` ``,
        /// `g`), dashes anywhere, non-ASCII, in strings of a UUID's length and near it.
        #[test]
        fn uuid_form_is_the_reference(s in "[0-9a-fA-F/:@G`g\\-é]{35,37}", t in "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}") {
            proptest::prop_assert_eq!(uuid_form(&s), reference(&s), "{:?}", s);
            proptest::prop_assert_eq!(uuid_form(&t), reference(&t), "{:?}", t);
            proptest::prop_assert!(uuid_form(&t).is_some());
        }
    }
}
