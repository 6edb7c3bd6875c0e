//! Who may ask what. A server on a node address is reachable by the whole machine network and
//! by pods; answering the cluster zone to all of them is its job, resolving any other name for
//! any of them makes it an open resolver (an amplifier, and a cache anyone can probe). So, as
//! BIND's `allow-recursion` and Unbound's `access-control` do, names outside the zone are
//! forwarded only for clients on an access list, by default the host itself and the on-link
//! subnets of the addresses the server listens on (`localhost; localnets;`, BIND's default).
//!
//! Lists are written as strings: a CIDR or a single address, or one of `localhost`,
//! `localnets`, `any`, `none`. They are resolved once the server knows its addresses
//! ([`Access::resolve`]); matching is then a scan of a few prefixes, with IPv4-mapped clients
//! (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 clients) matched as IPv4.

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

/// One entry of an access list, as configured.
///
/// ```
/// use bm_dns::AclEntry;
/// assert_eq!("localnets".parse::<AclEntry>().unwrap(), AclEntry::Localnets);
/// assert_eq!("10.128.0.0/14".parse::<AclEntry>().unwrap().to_string(), "10.128.0.0/14");
/// assert_eq!("192.0.2.1".parse::<AclEntry>().unwrap().to_string(), "192.0.2.1/32");
/// // Host bits set is a typo more often than not: refused, naming the network meant.
/// let e = "10.0.0.1/8".parse::<AclEntry>().unwrap_err();
/// assert!(e.to_string().contains("10.0.0.0/8"), "{e}");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum AclEntry {
    /// Every client.
    Any,
    /// No client (alone in a list: the list allows nobody).
    None,
    /// Loopback addresses (`127.0.0.0/8`, `::1`).
    Localhost,
    /// The on-link subnets of the addresses the server listens on (none for a wildcard).
    Localnets,
    /// A prefix (IPv4-mapped prefixes are stored as the IPv4 prefix they stand for).
    Net(IpNet),
}

/// Why an access-list entry is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?}: {why}")]
pub struct AclError {
    /// The entry as written.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

impl std::str::FromStr for AclEntry {
    type Err = AclError;

    fn from_str(text: &str) -> Result<AclEntry, AclError> {
        let err = |why: String| AclError { text: text.into(), why };
        match text {
            "any" => return Ok(AclEntry::Any),
            "none" => return Ok(AclEntry::None),
            "localhost" => return Ok(AclEntry::Localhost),
            "localnets" => return Ok(AclEntry::Localnets),
            _ => {}
        }
        let strict = bm_addr::ParseOptions::strict().host_bits(bm_addr::HostBits::Reject);
        let net = if text.contains('/') {
            let parsed = bm_addr::parse_net_with(text, &strict).map_err(|e| err(e.to_string()))?;
            match parsed.unmapped() {
                Some(v4) => IpNet::V4(v4),
                None => parsed.net,
            }
        } else {
            let ip = bm_addr::parse_addr(text).map_err(|e| {
                err(format!("{e} (expected an address, a CIDR, or one of any, none, localhost, localnets)"))
            })?;
            IpNet::from(bm_addr::unmap(ip))
        };
        Ok(AclEntry::Net(net))
    }
}

impl TryFrom<String> for AclEntry {
    type Error = AclError;

    fn try_from(text: String) -> Result<AclEntry, AclError> {
        text.parse()
    }
}

impl From<AclEntry> for String {
    fn from(entry: AclEntry) -> String {
        entry.to_string()
    }
}

impl fmt::Display for AclEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclEntry::Any => f.write_str("any"),
            AclEntry::None => f.write_str("none"),
            AclEntry::Localhost => f.write_str("localhost"),
            AclEntry::Localnets => f.write_str("localnets"),
            AclEntry::Net(net) => write!(f, "{net}"),
        }
    }
}

impl AclEntry {
    /// Who may recurse unless configured: `localhost`, `localnets` (BIND's default).
    pub const DEFAULT_RECURSION: &[AclEntry] = &[AclEntry::Localhost, AclEntry::Localnets];
    /// Who may query unless configured: `any`.
    pub const DEFAULT_QUERY: &[AclEntry] = &[AclEntry::Any];
}

pub(crate) fn default_recursion() -> Vec<AclEntry> {
    AclEntry::DEFAULT_RECURSION.to_vec()
}

pub(crate) fn default_query() -> Vec<AclEntry> {
    AclEntry::DEFAULT_QUERY.to_vec()
}

/// A resolved access list: the prefixes it allows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessList {
    nets: Vec<IpNet>,
}

impl AccessList {
    /// Everything `entries` allows, with `localnets` standing for `localnets` here.
    pub fn resolve(entries: &[AclEntry], localnets: &[IpNet]) -> AccessList {
        let mut nets = Vec::new();
        for entry in entries {
            match entry {
                AclEntry::Any => {
                    nets.push(IpNet::V4(Ipv4Net::default()));
                    nets.push(IpNet::V6(Ipv6Net::default()));
                }
                AclEntry::None => {}
                AclEntry::Localhost => {
                    nets.push("127.0.0.0/8".parse().expect("a prefix"));
                    nets.push("::1/128".parse().expect("a prefix"));
                }
                AclEntry::Localnets => nets.extend(localnets.iter().map(|n| n.trunc())),
                AclEntry::Net(n) => nets.push(*n),
            }
        }
        nets.sort_unstable();
        nets.dedup();
        AccessList { nets }
    }

    /// Whether `client` is on the list (an IPv4-mapped client as the IPv4 address it is).
    #[inline]
    pub fn allows(&self, client: IpAddr) -> bool {
        let client = bm_addr::unmap(client);
        self.nets.iter().any(|n| n.contains(&client))
    }

    /// The prefixes allowed.
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
}

/// The access lists a server applies, resolved.
///
/// ```
/// use bm_dns::{AclEntry, Access};
/// let localnets = ["192.168.111.0/24".parse().unwrap()];
/// let access = Access::resolve(&[AclEntry::Localhost, AclEntry::Localnets], &[AclEntry::Any], &localnets);
/// assert!(access.recursion.allows("192.168.111.7".parse().unwrap()));
/// assert!(access.recursion.allows("::ffff:127.0.0.1".parse().unwrap()));
/// assert!(!access.recursion.allows("10.128.2.9".parse().unwrap()));
/// assert!(access.query.allows("10.128.2.9".parse().unwrap()));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// Who may have names outside the zone resolved.
    pub recursion: AccessList,
    /// Who may query at all; others get REFUSED.
    pub query: AccessList,
}

impl Access {
    /// Resolves both lists against the server's on-link subnets.
    pub fn resolve(recursion: &[AclEntry], query: &[AclEntry], localnets: &[IpNet]) -> Access {
        Access { recursion: AccessList::resolve(recursion, localnets), query: AccessList::resolve(query, localnets) }
    }

    /// Every client may query, and recursion for loopback only.
    pub fn localhost_only() -> Access {
        Access::resolve(&[AclEntry::Localhost], &default_query(), &[])
    }
}

/// Why a packet's source cannot be a real client of a server taking packets off the wire (the
/// XDP path, which runs before the kernel's own martian and reverse-path filters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Martian {
    /// Loopback, unspecified, multicast, broadcast or reserved: never a sender on a link.
    Impossible,
    /// One of the server's own addresses: a reflection loop, or spoofed.
    Own,
    /// An IPv4-mapped or -compatible source on an IPv6 packet (RFC 4291 §2.5.5: never on the
    /// wire).
    Embedded,
}

/// Whether `source`, read off the wire, is a martian for a server listening on `own`.
pub fn martian(source: IpAddr, own: &[IpAddr]) -> Option<Martian> {
    let c = bm_addr::classify(source);
    if matches!(c.kind, bm_addr::Kind::Ipv4Mapped | bm_addr::Kind::Ipv4Compatible) {
        return Some(Martian::Embedded);
    }
    let broadcast = source == IpAddr::V4(std::net::Ipv4Addr::BROADCAST);
    if c.is_loopback || c.is_unspecified || c.is_multicast || broadcast || (source.is_ipv4() && c.is_reserved) {
        return Some(Martian::Impossible);
    }
    if let IpAddr::V4(v4) = source
        && v4.octets()[0] == 0
    {
        return Some(Martian::Impossible); // 0.0.0.0/8, "this network": a source only while booting
    }
    if own.contains(&source) {
        return Some(Martian::Own);
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn entries_parse_and_print_back() {
        for text in ["any", "none", "localhost", "localnets", "10.0.0.0/8", "2001:db8::/32", "192.0.2.1/32"] {
            let e: AclEntry = text.parse().unwrap();
            assert_eq!(e.to_string(), text);
        }
        assert_eq!("::ffff:10.0.0.0/104".parse::<AclEntry>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!("::ffff:10.0.0.1".parse::<AclEntry>().unwrap().to_string(), "10.0.0.1/32");
        for bad in ["", "everyone", "10.0.0.0/33", "010.0.0.0/8", "fe80::1%eth0", "10.0.0.1/8"] {
            assert!(bad.parse::<AclEntry>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn lists_resolve_and_match() {
        let localnets: Vec<IpNet> = vec!["192.168.111.20/24".parse().unwrap(), "fd00:1::20/64".parse().unwrap()];
        let list = AccessList::resolve(&default_recursion(), &localnets);
        for ok in ["127.0.0.1", "127.9.9.9", "::1", "192.168.111.200", "fd00:1::99", "::ffff:192.168.111.1"] {
            assert!(list.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["192.168.112.1", "10.0.0.1", "fd00:2::1", "::2", "::ffff:10.0.0.1"] {
            assert!(!list.allows(no.parse().unwrap()), "{no}");
        }
        assert!(!AccessList::resolve(&[AclEntry::None], &localnets).allows("127.0.0.1".parse().unwrap()));
        let any = AccessList::resolve(&[AclEntry::Any], &[]);
        assert!(any.allows("203.0.113.9".parse().unwrap()) && any.allows("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn martians() {
        let own: Vec<IpAddr> = vec!["192.168.111.20".parse().unwrap()];
        let m = |s: &str| martian(s.parse().unwrap(), &own);
        for s in
            ["127.0.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.5", "255.255.255.255", "240.0.0.1", "::1", "::", "ff02::1"]
        {
            assert_eq!(m(s), Some(Martian::Impossible), "{s}");
        }
        assert_eq!(m("192.168.111.20"), Some(Martian::Own));
        assert_eq!(m("::ffff:192.168.111.7"), Some(Martian::Embedded));
        for s in ["192.168.111.7", "10.128.0.5", "fe80::1", "2001:db8::5", "169.254.1.1"] {
            assert_eq!(m(s), None, "{s}");
        }
    }

    proptest! {
        /// A mapped client is allowed exactly when its IPv4 address is.
        #[test]
        fn mapped_clients_match_as_ipv4(a in any::<u32>(), net in any::<u32>(), len in 0u8..=32) {
            let net = Ipv4Net::new(net.into(), len).unwrap().trunc();
            let list = AccessList::resolve(&[AclEntry::Net(IpNet::V4(net))], &[]);
            let v4 = std::net::Ipv4Addr::from(a);
            prop_assert_eq!(list.allows(IpAddr::V4(v4)), list.allows(IpAddr::V6(v4.to_ipv6_mapped())));
            prop_assert_eq!(list.allows(IpAddr::V4(v4)), net.contains(&v4));
        }

        /// Every entry prints as text that parses back to it.
        #[test]
        fn entries_round_trip(a in any::<u128>(), len in 0u8..=128) {
            let net = Ipv6Net::new(a.into(), len).unwrap().trunc();
            let e = AclEntry::Net(IpNet::V6(net));
            let back: AclEntry = e.to_string().parse().unwrap();
            // A mapped prefix of /96 or longer comes back as IPv4.
            match bm_addr::parse_net_with(&net.to_string(), &bm_addr::ParseOptions::strict()).unwrap().unmapped() {
                Some(v4) => prop_assert_eq!(back, AclEntry::Net(IpNet::V4(v4))),
                None => prop_assert_eq!(back, e),
            }
        }
    }
}
