//! What a cluster zone is made of, as a user writes it (TOML, or JSON through serde), and the
//! checks that refuse what would be served wrong.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::access::AclEntry;
use crate::name::{self, NameError};
use crate::rrl::RateLimitConfig;

/// The cluster zone's configuration.
///
/// ```
/// let cfg = bm_dns::ZoneConfig::from_toml(r#"
///     cluster = "ostest"
///     base_domain = "example.com"
///     api_vips = ["192.168.111.5"]
///     ingress_vips = ["192.168.111.4"]
///     [nodes]
///     master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
/// "#).unwrap();
/// assert_eq!(cfg.zone(), "ostest.example.com");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    /// The cluster name: the zone is `<cluster>.<base_domain>`.
    pub cluster: String,
    /// The base domain.
    pub base_domain: String,
    /// API VIPs: `api.<zone>`.
    pub api_vips: Vec<IpAddr>,
    /// API-internal VIPs: `api-int.<zone>` (default: the API VIPs).
    #[serde(default)]
    pub api_int_vips: Vec<IpAddr>,
    /// Ingress VIPs: `*.apps.<zone>`, any depth.
    #[serde(default)]
    pub ingress_vips: Vec<IpAddr>,
    /// Node names (a single label, or a name inside the zone) and their addresses.
    #[serde(default)]
    pub nodes: BTreeMap<String, Vec<IpAddr>>,
    /// TTL of every record (default 30 s).
    #[serde(default = "default_ttl")]
    pub ttl: u32,
    /// The SOA's values.
    #[serde(default)]
    pub soa: SoaConfig,
    /// Extra static records.
    #[serde(default)]
    pub records: Vec<StaticRecord>,
    /// Upstream servers for names outside the zone, tried in order (`sequential`, as
    /// OpenShift's CoreDNS does). Without any, such names are REFUSED.
    #[serde(default)]
    pub upstreams: Vec<SocketAddr>,
    /// EDNS(0) UDP payload size this server offers (default 1232, DNS Flag Day 2020).
    #[serde(default = "default_payload")]
    pub edns_payload: u16,
    /// Answer single-label node names (`master-0`) too, not only `master-0.<zone>`.
    #[serde(default)]
    pub short_names: bool,
    /// Who may have names outside the zone forwarded (BIND's `allow-recursion`): CIDRs or
    /// addresses, `localhost`, `localnets` (the on-link subnets of the listening addresses),
    /// `any`, `none`. Others get REFUSED for them. Default: `["localhost", "localnets"]`.
    #[serde(default = "crate::access::default_recursion")]
    pub allow_recursion: Vec<AclEntry>,
    /// Who may query at all (default `["any"]`); others get REFUSED.
    #[serde(default = "crate::access::default_query")]
    pub allow_query: Vec<AclEntry>,
    /// Response-rate limiting of UDP answers (off unless given; see [`RateLimitConfig`]).
    #[serde(default)]
    pub rate_limit: Option<RateLimitConfig>,
}

/// The SOA record's values. The primary name server is `api-int.<zone>` unless given.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SoaConfig {
    /// MNAME (absolute, or relative to the zone).
    pub mname: Option<String>,
    /// RNAME, the responsible mailbox as a name (`hostmaster` becomes `hostmaster.<zone>`).
    pub rname: String,
    /// Serial.
    pub serial: u32,
    /// Refresh, seconds.
    pub refresh: u32,
    /// Retry, seconds.
    pub retry: u32,
    /// Expire, seconds.
    pub expire: u32,
    /// Minimum: the negative-caching TTL (RFC 2308), capped by the SOA's own TTL.
    pub minimum: u32,
}

impl Default for SoaConfig {
    fn default() -> SoaConfig {
        SoaConfig {
            mname: None,
            rname: "hostmaster".into(),
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 30,
        }
    }
}

/// An extra record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, tag = "type")]
pub enum StaticRecord {
    /// An IPv4 address.
    A {
        /// Owner, relative to the zone (`@` for the apex) or absolute with a trailing dot.
        name: String,
        /// Address.
        addr: std::net::Ipv4Addr,
    },
    /// An IPv6 address.
    AAAA {
        /// Owner.
        name: String,
        /// Address.
        addr: std::net::Ipv6Addr,
    },
    /// An alias; the owner may hold nothing else.
    CNAME {
        /// Owner.
        name: String,
        /// Target (relative or absolute).
        target: String,
    },
    /// Text.
    TXT {
        /// Owner.
        name: String,
        /// Character strings, each at most 255 bytes.
        text: Vec<String>,
    },
    /// A service.
    SRV {
        /// Owner (`_etcd-server-ssl._tcp`).
        name: String,
        /// Priority.
        priority: u16,
        /// Weight.
        weight: u16,
        /// Port.
        port: u16,
        /// Target.
        target: String,
    },
}

fn default_ttl() -> u32 {
    30
}

fn default_payload() -> u16 {
    1232
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML does not parse or does not fit the schema.
    #[error("{}{message}", place(.at))]
    Toml {
        /// Where, when the parser knows: 1-based line and column (in characters).
        at: Option<(usize, usize)>,
        /// Why, in one line of at most 200 bytes (and the count of those left out): the `toml`
        /// crate's own text quotes the offending line whole, and serde's quotes a wrong value
        /// whole, so a configuration of one 200 kB line made a 200 kB error (on stderr and in
        /// the C ABI's JSON).
        message: String,
    },
    /// A name is not a valid domain name.
    #[error("{field}: {error}")]
    Name {
        /// The field.
        field: String,
        /// What is wrong.
        error: NameError,
    },
    /// An IPv4-mapped address was given where it would be served as an A record: CoreDNS's
    /// `hosts` plugin does exactly that, and clients then connect over IPv4 to an address the
    /// operator wrote as IPv6.
    #[error("{field}: {addr} is an IPv4-mapped IPv6 address; write {v4} (or a real IPv6 address)")]
    MappedAddress {
        /// The field.
        field: String,
        /// The address as written.
        addr: IpAddr,
        /// Its IPv4 form.
        v4: std::net::Ipv4Addr,
    },
    /// An address that can never be a service address (unspecified, multicast, or an
    /// IPv4-compatible `::a.b.c.d`).
    #[error("{field}: {addr} cannot be served ({why})")]
    BadAddress {
        /// The field.
        field: String,
        /// The address.
        addr: IpAddr,
        /// Why.
        why: &'static str,
    },
    /// A required list is empty.
    #[error("{0}: at least one address is required")]
    Empty(&'static str),
    /// Two sources define the same owner in conflicting ways.
    #[error("{name}: {why}")]
    Conflict {
        /// The owner.
        name: String,
        /// What conflicts.
        why: String,
    },
    /// A name lies outside the zone.
    #[error("{field}: {name} is outside the zone {zone}")]
    OutsideZone {
        /// The field.
        field: String,
        /// The name.
        name: String,
        /// The zone.
        zone: String,
    },
    /// A TXT string longer than 255 bytes.
    #[error("{field}: a TXT string is at most 255 bytes")]
    TxtTooLong {
        /// The field.
        field: String,
    },
    /// The EDNS payload is below the 512 bytes every DNS message may have.
    #[error("edns_payload: {0} is below 512")]
    Payload(u16),
}

/// The most of a parser's message a [`ConfigError::Toml`] keeps, in bytes.
const MESSAGE_MAX: usize = 200;

fn place(at: &Option<(usize, usize)>) -> String {
    at.map(|(line, column)| format!("line {line}, column {column}: ")).unwrap_or_default()
}

/// 1-based line and column (in characters) of byte `at` of `text`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// `message` on one line (its line breaks as "; "), cut to [`MESSAGE_MAX`] bytes with how much
/// was left out.
fn one_short_line(message: &str) -> String {
    let line = message.trim().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    if line.len() <= MESSAGE_MAX {
        return line;
    }
    let mut cut = MESSAGE_MAX;
    while !line.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more bytes)", &line[..cut], line.len() - cut)
}

impl ZoneConfig {
    /// Reads a TOML configuration.
    pub fn from_toml(text: &str) -> Result<ZoneConfig, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Toml {
            at: e.span().map(|span| line_column(text, span.start)),
            // toml's message is empty where the text ends too early.
            message: match one_short_line(e.message()) {
                m if m.is_empty() => "TOML parse error".into(),
                m => m,
            },
        })
    }

    /// The zone's name, `<cluster>.<base_domain>`, lowercase, without a trailing dot.
    pub fn zone(&self) -> String {
        format!("{}.{}", self.cluster.trim_end_matches('.'), self.base_domain.trim_end_matches('.'))
            .to_ascii_lowercase()
    }

    /// The API-internal VIPs in effect.
    pub fn api_int(&self) -> &[IpAddr] {
        if self.api_int_vips.is_empty() { &self.api_vips } else { &self.api_int_vips }
    }

    /// Checks every address of the configuration.
    pub(crate) fn check_addresses(&self) -> Result<(), ConfigError> {
        if self.api_vips.is_empty() {
            return Err(ConfigError::Empty("api_vips"));
        }
        if self.edns_payload < 512 {
            return Err(ConfigError::Payload(self.edns_payload));
        }
        let lists =
            [("api_vips", &self.api_vips), ("api_int_vips", &self.api_int_vips), ("ingress_vips", &self.ingress_vips)];
        for (field, list) in lists {
            for &addr in list.iter() {
                check_address(field, addr)?;
            }
        }
        for (node, addrs) in &self.nodes {
            for &addr in addrs {
                check_address(&format!("nodes.{node}"), addr)?;
            }
        }
        Ok(())
    }

    /// An owner name written relative to the zone (`@`, `api`, `_x._tcp`) or absolute
    /// (`name.`), as lowercase wire bytes; it must lie inside the zone.
    pub(crate) fn owner(&self, field: &str, text: &str, zone: &[u8]) -> Result<Vec<u8>, ConfigError> {
        let wire = self.target(field, text)?;
        if !name::is_within(&wire, zone) {
            return Err(ConfigError::OutsideZone { field: field.into(), name: text.into(), zone: self.zone() });
        }
        Ok(wire)
    }

    /// A name written relative to the zone or absolute, as lowercase wire bytes, anywhere.
    pub(crate) fn target(&self, field: &str, text: &str) -> Result<Vec<u8>, ConfigError> {
        let absolute = if text == "@" {
            format!("{}.", self.zone())
        } else if text.ends_with('.') {
            text.to_string()
        } else {
            format!("{text}.{}.", self.zone())
        };
        name::from_text(&absolute).map_err(|error| ConfigError::Name { field: field.into(), error })
    }
}

fn check_address(field: &str, addr: IpAddr) -> Result<(), ConfigError> {
    let c = bm_addr::classify(addr);
    match c.kind {
        bm_addr::Kind::Ipv4Mapped => {
            let v4 = c.embedded_ipv4.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
            return Err(ConfigError::MappedAddress { field: field.into(), addr, v4 });
        }
        bm_addr::Kind::Ipv4Compatible => {
            return Err(ConfigError::BadAddress {
                field: field.into(),
                addr,
                why: "deprecated IPv4-compatible address",
            });
        }
        _ => {}
    }
    if c.is_unspecified {
        return Err(ConfigError::BadAddress { field: field.into(), addr, why: "unspecified" });
    }
    if c.is_multicast {
        return Err(ConfigError::BadAddress { field: field.into(), addr, why: "multicast" });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An attacker's (or a typo's) configuration of one huge line: the error names the place
    /// and stays short, on stderr and in the C ABI's JSON alike.
    #[test]
    fn a_huge_line_makes_a_short_error_that_names_its_place() {
        let huge = "x".repeat(200_000);
        for (text, at, cut) in [
            // serde quotes the wrong value whole.
            (format!("cluster = \"c\"\nbase_domain = \"example.com\"\nedns_payload = \"{huge}\"\n"), (3, 16), true),
            // toml quotes the line whole; its own message is short.
            (format!("cluster = \"c\"\nbase_domain = [\"{huge}\" \"b\"]\n"), (2, 200_019), false),
        ] {
            let e = ZoneConfig::from_toml(&text).expect_err("refused");
            let ConfigError::Toml { at: Some(place), message } = &e else { panic!("{e:?}") };
            assert_eq!(*place, at, "{e}");
            let shown = e.to_string();
            assert!(shown.starts_with(&format!("line {}, column {}: ", at.0, at.1)), "{shown}");
            assert!(shown.len() < 300, "{} bytes: {}…", shown.len(), &shown[..300]);
            assert!(!message.contains('\n'), "{message:?}");
            assert_eq!(message.ends_with("more bytes)"), cut, "{message}");
        }
    }

    #[test]
    fn a_text_that_ends_too_early_says_so_where() {
        let e = ZoneConfig::from_toml("cluster = ").expect_err("refused");
        assert_eq!(e.to_string(), "line 1, column 11: TOML parse error");
    }

    #[test]
    fn a_short_message_is_kept_whole_on_one_line() {
        assert_eq!(one_short_line("invalid string\nexpected `\"`, `'`\n"), "invalid string; expected `\"`, `'`");
        let long = "é".repeat(150);
        let cut = one_short_line(&long);
        assert_eq!(cut, format!("{}… (100 more bytes)", "é".repeat(100)));
        assert_eq!(line_column("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_column("ab\ncdé\nf", 6), (2, 3), "inside a character: its start");
    }
}
