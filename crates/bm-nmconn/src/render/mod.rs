//! nmstate state → NetworkManager 1.42 keyfiles, and keyfiles → state, for the subset in
//! [`crate::state`].
//!
//! [`render`] gives one profile per interface that is `up` (and one per bond or bridge port not
//! listed under `interfaces`, as a plain Ethernet port), each as `(file name, contents)`:
//!
//! * the id and `interface-name` are the interface name; the file name is the id escaped as
//!   NetworkManager's writer escapes it ([`crate::file_name`]); the UUID is nmstate's
//!   deterministic one ([`profile_uuid`]);
//! * ports get `master=` / `slave-type=` (what 1.42 reads; `controller=` is 1.46's and 1.42
//!   ignores it), an empty `[bond-port]` or `[bridge-port]`, and no IP settings; bonds and
//!   bridges get `autoconnect-slaves=1`, as nmstate writes;
//! * methods as nmstate maps them: IPv4 `enabled: false` → `disabled`, `dhcp` → `auto`,
//!   addresses → `manual`; IPv6 `dhcp`+`autoconf` → `auto`, `dhcp` alone → `dhcp`, addresses →
//!   `manual`, nothing → `link-local`; `addr-gen-mode` `eui64` unless `stable-privacy` is asked
//!   (nmstate's default); a family not given at all → `method=disabled`; a family with DHCP or
//!   autoconf gets nmstate's DHCP settings (`dhcp-timeout=2147483647`, so the node waits for a
//!   lease for ever, `dhcp-client-id=mac`; for IPv6 `dhcp-duid=ll`, `dhcp-iaid=mac`,
//!   `ra-timeout=2147483647`);
//! * a route goes to its `next-hop-interface`, or else to the one interface with a static
//!   address whose subnet holds the next hop; `table-id` becomes `routeN_options=table=N`;
//! * the name servers of each family go to the interface with that family's default route,
//!   else to the interface whose static subnet holds the first server, else to a DHCP/autoconf
//!   interface with `auto-dns: false` (nmstate's rule: static DNS needs a place NetworkManager
//!   will not override), with `dns-priority=40` as nmstate writes it; search domains go with the
//!   IPv4 servers, else the IPv6 ones;
//! * the bytes are [`crate::canonical`]'s, so `nmcli --offline connection modify` with a
//!   no-op change gives them back unchanged.
//!
//! What NetworkManager would refuse or silently change is an error naming the field: an
//! interface name the kernel refuses, a VLAN id over 4094, a bond option NetworkManager drops
//! for the mode, IP settings on a port, an address of the wrong family, a route no interface can
//! carry, `autoconf` without `dhcp` (which nmstate refuses too), an enabled family with neither
//! DHCP nor an address (1.42 cannot express it).
//!
//! Where bmnet differs from nmstate's `gen_conf`, on purpose: static addresses and routes on an
//! interface with DHCP are written (nmstate drops them without a word); an enabled family with
//! neither DHCP nor an address is an error (nmstate writes `disabled`); values are escaped as
//! GLib escapes them and file names as NetworkManager names them (nmstate writes both raw).
//!
//! [`to_state`] reads keyfiles back into the same subset, from what NetworkManager loads of them
//! ([`crate::Profile`]), with a warning for everything it cannot represent (a diagnostic whose
//! code is of the class [`crate::diag::Class::Unrepresented`]); `to_state(render(s))` is `s`
//! for a state in the form `to_state` writes (ports listed as interfaces, both families given
//! for every non-port, routes grouped by interface).
//!
//! The work is split by job: [`validate`](self) checks the state and plans which interfaces get
//! a profile and which are ports, `place` puts routes and name servers on interfaces, `write`
//! writes the keyfiles, `read` reads them back.
//!
//! ```
//! use bm_nmconn::render::{render, to_state};
//! use bm_nmconn::state::from_json;
//! let state = from_json(r#"{
//!   "interfaces": [
//!     {"name": "bond0", "type": "bond", "link-aggregation": {"mode": "802.3ad", "port": ["eno1", "eno2"]},
//!      "ipv4": {"enabled": true, "address": [{"ip": "10.0.0.5", "prefix-length": 24}]},
//!      "ipv6": {"enabled": false}}],
//!   "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "10.0.0.1"}]},
//!   "dns-resolver": {"config": {"server": ["10.0.0.53"]}}}"#).unwrap().state;
//! let files = render(&state).unwrap();
//! assert_eq!(files.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
//!            ["bond0.nmconnection", "eno1.nmconnection", "eno2.nmconnection"]);
//! assert!(files[0].1.contains("[ipv4]\naddress1=10.0.0.5/24\ndns=10.0.0.53;\ndns-priority=40\nmethod=manual\nroute1=0.0.0.0/0,10.0.0.1\n"));
//! assert!(files[1].1.contains("master=bond0\nslave-type=bond\n"));
//!
//! let docs: Vec<_> = files.iter().map(|f| bm_nmconn::Document::parse(&f.1).unwrap()).collect();
//! let back = to_state(&docs);
//! assert!(back.warnings.is_empty(), "{:?}", back.warnings);
//! assert_eq!(back.state.interfaces.len(), 3); // the ports are listed too
//! ```

mod place;
mod read;
mod validate;
mod write;

pub use read::{FromKeyfiles, to_state};
pub use write::render;

use crate::state::InterfaceType;

/// nmstate's deterministic profile UUID: UUIDv5 in the URL namespace of
/// `"{nmstate interface type}://{interface name}"`.
///
/// Source: nmstate `rust/src/lib/nm/settings/connection.rs`, `uuid_from_name_and_type()`:
/// `uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{iface_type}://{iface_name}").as_bytes())`,
/// where the type is nmstate's name (`linux-bridge`, not NetworkManager's `bridge`).
///
/// ```
/// use bm_nmconn::{render::profile_uuid, state::InterfaceType};
/// assert_eq!(profile_uuid(InterfaceType::Bond, "bond0"), "925b4a95-2de0-5b2d-bcf5-8b684a7e9cb4");
/// ```
pub fn profile_uuid(kind: InterfaceType, name: &str) -> String {
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, format!("{kind}://{name}").as_bytes()).hyphenated().to_string()
}

/// What nmstate writes for a family with DHCP or autoconf (`gen_nm_ipv4_setting`,
/// `gen_nm_ipv6_setting`): (IPv6?, key, value).
const NMSTATE_DHCP: &[(bool, &str, &str)] = &[
    (false, "dhcp-client-id", "mac"),
    (false, "dhcp-timeout", "2147483647"),
    (true, "dhcp-duid", "ll"),
    (true, "dhcp-iaid", "mac"),
    (true, "dhcp-timeout", "2147483647"),
    (true, "ra-timeout", "2147483647"),
];
