//! Pitfalls: what, on a host, is known to break clusters long before anything else does —
//! addresses configured in a form the tools disagree on, the same address twice, IPv6
//! addresses not (or no longer) usable. What `bmnet inspect` warns of, from a snapshot alone.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use bm_addr::{Kind, ScopedAddr};
use serde::{Deserialize, Serialize};

use crate::snapshot::{Address, HostSnapshot};

/// The kinds of pitfall, with stable snake_case names for JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PitfallKind {
    /// An IPv4-mapped address (`::ffff:a.b.c.d`) configured as IPv6: an IPv6-only socket
    /// cannot bind it, and tools disagree on its family.
    MappedAddress,
    /// A deprecated IPv4-compatible address (`::a.b.c.d`, RFC 4291 §2.5.5.1).
    CompatibleAddress,
    /// Duplicate address detection failed: another host on the link has it.
    Dadfailed,
    /// Still in duplicate address detection: it cannot be bound yet.
    Tentative,
    /// Deprecated (preferred lifetime 0): new connections should not use it.
    Deprecated,
    /// The same (non-link-scoped) address on more than one interface.
    DuplicateAddress,
}

impl fmt::Display for PitfallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PitfallKind::MappedAddress => "mapped_address",
            PitfallKind::CompatibleAddress => "compatible_address",
            PitfallKind::Dadfailed => "dadfailed",
            PitfallKind::Tentative => "tentative",
            PitfallKind::Deprecated => "deprecated",
            PitfallKind::DuplicateAddress => "duplicate_address",
        })
    }
}

/// One pitfall found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pitfall {
    /// What it is.
    pub kind: PitfallKind,
    /// The interfaces concerned (more than one for a duplicate).
    pub interfaces: Vec<String>,
    /// The address concerned (unmapped for a duplicate).
    pub address: IpAddr,
    /// What it means and what to do, for people.
    pub message: String,
}

impl Address {
    /// The names of its flags that are set, as `ip` prints them: `permanent`, `deprecated`
    /// (the flag, or a preferred lifetime of 0), `tentative`, `optimistic`, `dadfailed`,
    /// `temporary` (IPv6 only) and `secondary` (IPv4 only: the kernel uses the same bit for
    /// both), `nodad`.
    pub fn flag_names(&self) -> Vec<&'static str> {
        let (f, ipv6) = (self.flags, self.ip().is_ipv6());
        [
            (f.permanent, "permanent"),
            (self.is_deprecated(), "deprecated"),
            (f.tentative, "tentative"),
            (f.optimistic, "optimistic"),
            (f.dadfailed, "dadfailed"),
            (f.temporary && ipv6, "temporary"),
            (f.secondary && !ipv6, "secondary"),
            (f.nodad, "nodad"),
        ]
        .into_iter()
        .filter_map(|(set, name)| set.then_some(name))
        .collect()
    }
}

/// The pitfalls of a host, in the order of its addresses (duplicates last, by address).
///
/// ```
/// use bm_nodeip::{HostSnapshot, PitfallKind, pitfalls};
/// let host: HostSnapshot = serde_json::from_str(r#"{
///   "links": [{"index": 2, "name": "eth0", "up": true}],
///   "addresses": [{"link": 2, "addr": "::ffff:192.168.0.14/128"}],
///   "routes": []
/// }"#).unwrap();
/// let found = pitfalls(&host);
/// assert_eq!(found[0].kind, PitfallKind::MappedAddress);
/// assert!(found[0].message.contains("configure 192.168.0.14/32 as IPv4"));
/// ```
pub fn pitfalls(host: &HostSnapshot) -> Vec<Pitfall> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<IpAddr, Vec<String>> = BTreeMap::new();
    let mut links: Vec<_> = host.links.iter().collect();
    links.sort_by_key(|l| l.index);
    for link in links {
        let name = &link.name;
        for a in host.addresses.iter().filter(|a| a.link == link.index) {
            let (ip, len) = (a.ip(), a.addr.prefix_len());
            let c = bm_addr::classify(ip);
            let mut flag = |kind, message: String| {
                out.push(Pitfall { kind, interfaces: vec![name.clone()], address: ip, message })
            };
            match (c.kind, c.embedded_ipv4) {
                (Kind::Ipv4Mapped, Some(v4)) => flag(
                    PitfallKind::MappedAddress,
                    format!(
                        "{ip} on {name} is an IPv4-mapped address configured as IPv6: an IPv6-only socket cannot bind it (EINVAL), and tools disagree on its family; configure {v4}/{} as IPv4 instead",
                        len.saturating_sub(96)
                    ),
                ),
                (Kind::Ipv4Compatible, Some(v4)) => flag(
                    PitfallKind::CompatibleAddress,
                    format!(
                        "{ip} on {name} is a deprecated IPv4-compatible address (RFC 4291 §2.5.5.1): it is an IPv6 address that looks like {v4}; remove it"
                    ),
                ),
                _ => {}
            }
            let names = a.flag_names();
            for (kind, state, why) in [
                (
                    PitfallKind::Dadfailed,
                    "dadfailed",
                    "duplicate address detection failed: another host on the link has it",
                ),
                (PitfallKind::Tentative, "tentative", "still in duplicate address detection: it cannot be bound yet"),
                (
                    PitfallKind::Deprecated,
                    "deprecated",
                    "deprecated (preferred lifetime 0): new connections should not use it",
                ),
            ] {
                if names.contains(&state) {
                    flag(kind, format!("{ip}/{len} on {name} is {state}: {why}"));
                }
            }
            // The same link-scoped address on two links is normal (the zone tells them apart).
            if !ScopedAddr::takes_zone(ip) && !c.is_loopback {
                seen.entry(bm_addr::unmap(ip)).or_default().push(name.clone());
            }
        }
    }
    for (address, interfaces) in seen {
        if interfaces.len() > 1 {
            let message = format!(
                "{address} is configured {} times ({}): replies may leave through either interface, and node-IP selection becomes ambiguous",
                interfaces.len(),
                interfaces.join(", ")
            );
            out.push(Pitfall { kind: PitfallKind::DuplicateAddress, interfaces, address, message });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Link;

    /// An address and the flags set on it.
    type Addr<'a> = (&'a str, &'a [&'a str]);

    fn host(links: &[(&str, &[Addr<'_>])]) -> HostSnapshot {
        let mut h = HostSnapshot::default();
        for (i, (name, addrs)) in links.iter().enumerate() {
            let index = i as u32 + 1;
            h.links.push(Link { index, name: (*name).into(), up: true, ..Link::default() });
            for (addr, flags) in addrs.iter() {
                let mut a = Address {
                    link: index,
                    addr: addr.parse().unwrap(),
                    scope: Default::default(),
                    flags: Default::default(),
                    label: None,
                    preferred_lft: None,
                    valid_lft: None,
                };
                for f in flags.iter() {
                    match *f {
                        "permanent" => a.flags.permanent = true,
                        "tentative" => a.flags.tentative = true,
                        "dadfailed" => a.flags.dadfailed = true,
                        _ => unreachable!("{f}"),
                    }
                }
                h.addresses.push(a);
            }
        }
        h
    }

    #[test]
    fn finds_each_pitfall() {
        let h = host(&[
            ("lo", &[("127.0.0.1/8", &[]), ("::1/128", &["permanent"])]),
            (
                "eth0",
                &[
                    ("10.0.0.5/24", &[]),
                    ("::ffff:192.168.0.14/128", &["permanent"]),
                    ("::10.1.1.1/128", &["permanent"]),
                    ("fe80::1/64", &["permanent"]),
                    ("2001:db8::5/64", &["dadfailed", "tentative"]),
                ],
            ),
            ("eth1", &[("10.0.0.5/24", &[]), ("fe80::1/64", &[]), ("192.168.0.14/24", &[])]),
        ]);
        let found: Vec<_> = pitfalls(&h).into_iter().map(|p| (p.kind, p.address.to_string())).collect();
        assert_eq!(
            found,
            vec![
                (PitfallKind::MappedAddress, "::ffff:192.168.0.14".into()),
                (PitfallKind::CompatibleAddress, "::a01:101".into()),
                (PitfallKind::Dadfailed, "2001:db8::5".into()),
                (PitfallKind::Tentative, "2001:db8::5".into()),
                (PitfallKind::DuplicateAddress, "10.0.0.5".into()),
                // The mapped address duplicates a native one once unmapped.
                (PitfallKind::DuplicateAddress, "192.168.0.14".into()),
            ]
        );
        assert_eq!(serde_json::to_value(PitfallKind::DuplicateAddress).unwrap(), "duplicate_address");
        assert_eq!(PitfallKind::DuplicateAddress.to_string(), "duplicate_address");
    }

    #[test]
    fn a_clean_host_has_none() {
        assert!(pitfalls(&host(&[("lo", &[("127.0.0.1/8", &[])]), ("eth0", &[("10.0.0.5/24", &[])])])).is_empty());
    }

    #[test]
    fn flag_names_as_ip_prints_them() {
        let mut h = host(&[("eth0", &[("2001:db8::5/64", &["permanent"]), ("10.0.0.5/24", &["permanent"])])]);
        for a in &mut h.addresses {
            a.flags.temporary = true;
            a.flags.secondary = true; // the same bit: each family names it its own way
            a.preferred_lft = Some(0);
        }
        assert_eq!(h.addresses[0].flag_names(), ["permanent", "deprecated", "temporary"]);
        assert_eq!(h.addresses[1].flag_names(), ["permanent", "deprecated", "secondary"]);
    }
}
