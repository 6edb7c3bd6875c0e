//! Strict and sloppy parsing of addresses and CIDRs, with errors that name the byte offset.
//!
//! Strict mode accepts exactly the RFC 4291 §2.2 text forms with dotted-quad IPv4 (RFC 6943
//! §3.1.1: four decimal parts, no leading zeros), which is what Rust's `std`, Python's
//! `ipaddress` and Go ≥ 1.17 accept. Sloppy mode additionally accepts what kubelet's
//! `ParseIPSloppy` accepts (leading zeros read as *decimal*, as pre-1.17 Go did) and says so in
//! a [`Warning`], so a value already stored somewhere can be read and then fixed.
//!
//! `ipnet`'s own `FromStr` accepts `010.1.1.1/32`; CIDRs here parse the address with this
//! parser and build the `ipnet` type with `IpNet::new`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ScopedAddr;
use crate::zone::{MAX_ZONE_LEN, Zone, ZoneError};

/// How forgiving the parser is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Canonical-grammar input only: no leading zeros in IPv4 octets, at most 4 hex digits per
    /// IPv6 group.
    #[default]
    Strict,
    /// Also what kubelet's `ParseIPSloppy` (pre-Go-1.17 `net.ParseIP`) accepts: leading zeros,
    /// read as decimal, with a [`Warning`].
    Sloppy,
}

/// Whether and how a zone (`%eth0`) may follow an IPv6 address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZonePolicy {
    /// A `%` is an error.
    #[default]
    Reject,
    /// `fe80::1%eth0`: the zone follows a plain `%`.
    Allow,
    /// The URI host form of RFC 6874: optional brackets, zone after `%25` (`[fe80::1%25eth0]`).
    Uri,
}

/// What a prefix with host bits set (`10.0.0.5/24`) does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HostBits {
    /// Accepted as written (an interface address); [`ParsedNet::host_bits_set`] tells.
    #[default]
    Allow,
    /// An error naming the network (`10.0.0.0/24`).
    Reject,
}

/// Parser settings. The default is strict, with no zones, and host bits allowed.
///
/// ```
/// use bm_addr::{ParseOptions, ZonePolicy, parse_addr_with};
/// let opts = ParseOptions::sloppy().zone(ZonePolicy::Allow);
/// let p = parse_addr_with("010.1.1.1", &opts).unwrap();
/// assert_eq!(p.addr.to_string(), "10.1.1.1");
/// assert!(p.warning.is_some());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParseOptions {
    /// Strict or sloppy.
    pub mode: Mode,
    /// Zone handling.
    pub zone: ZonePolicy,
    /// Host bits in CIDRs.
    pub host_bits: HostBits,
}

impl ParseOptions {
    /// Strict, no zones.
    pub const fn strict() -> ParseOptions {
        ParseOptions { mode: Mode::Strict, zone: ZonePolicy::Reject, host_bits: HostBits::Allow }
    }
    /// Sloppy, no zones.
    pub const fn sloppy() -> ParseOptions {
        ParseOptions { mode: Mode::Sloppy, zone: ZonePolicy::Reject, host_bits: HostBits::Allow }
    }
    /// With this zone policy.
    pub const fn zone(mut self, zone: ZonePolicy) -> ParseOptions {
        self.zone = zone;
        self
    }
    /// With this host-bits policy.
    pub const fn host_bits(mut self, host_bits: HostBits) -> ParseOptions {
        self.host_bits = host_bits;
        self
    }
}

/// Something sloppy mode accepted that strict mode would not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Warning {
    /// Leading zeros were read as decimal (`010.1.1.1` is `10.1.1.1`, not octal `8.1.1.1`).
    #[error("leading zeros read as decimal; the canonical form is {canonical}")]
    LeadingZeros {
        /// The address in canonical form.
        canonical: ScopedAddr,
    },
}

/// A parsed address with what the parser has to say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parsed {
    /// The address and zone.
    pub addr: ScopedAddr,
    /// Set when sloppy mode accepted a non-canonical spelling.
    pub warning: Option<Warning>,
}

/// A parsed CIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedNet {
    /// The prefix as written: the address keeps any host bits.
    pub net: IpNet,
    /// Set when sloppy mode accepted a non-canonical spelling.
    pub warning: Option<Warning>,
}

impl ParsedNet {
    /// Whether the address has bits set past the prefix (`10.0.0.5/24`).
    pub fn host_bits_set(&self) -> bool {
        self.net.addr() != self.net.network()
    }
    /// The network with host bits cleared (`10.0.0.0/24`).
    pub fn network(&self) -> IpNet {
        self.net.trunc()
    }
    /// The IPv4 network a mapped prefix stands for: `::ffff:1.1.1.0/120` is `1.1.1.0/24`.
    /// `None` unless the prefix is mapped and at least `/96`.
    pub fn unmapped(&self) -> Option<Ipv4Net> {
        match self.net {
            IpNet::V6(n) if n.prefix_len() >= 96 => {
                let v4 = n.addr().to_ipv4_mapped()?;
                Ipv4Net::new(v4, n.prefix_len() - 96).ok()
            }
            _ => None,
        }
    }
}

/// A parse failure: where, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[error("at byte {offset}: {kind}")]
pub struct ParseError {
    /// Byte offset into the input where the problem was found.
    pub offset: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with an address or CIDR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Nothing to parse.
    #[error("empty input")]
    Empty,
    /// Whitespace around or inside the address.
    #[error("whitespace is not allowed")]
    Whitespace,
    /// Brackets where no URI host form was asked for.
    #[error("brackets are not part of an address")]
    Brackets,
    /// A character that cannot appear here.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// The input stops in the middle of an address.
    #[error("the address ends too early")]
    UnexpectedEnd,
    /// An IPv4 octet with a leading zero (`010`), which `inet_aton` reads as octal and kubelet
    /// as decimal.
    #[error(
        "IPv4 octet has a leading zero, which is ambiguous (octal to inet_aton, decimal to kubelet); write it without, or parse in sloppy mode"
    )]
    LeadingZero,
    /// An IPv4 octet above 255.
    #[error("IPv4 octet is larger than 255")]
    OctetOverflow,
    /// Fewer than four dotted parts.
    #[error("IPv4 address needs four dotted parts")]
    TooFewOctets,
    /// An IPv6 group of more than four hex digits (Go's parsers accept `02001:db8::1`).
    #[error("IPv6 group has more than 4 hex digits")]
    GroupTooLong,
    /// An IPv6 group above `ffff` (sloppy mode).
    #[error("IPv6 group is larger than ffff")]
    GroupOverflow,
    /// More than eight IPv6 groups.
    #[error("more than 8 IPv6 groups")]
    TooManyGroups,
    /// Fewer than eight IPv6 groups and no `::`.
    #[error("fewer than 8 IPv6 groups and no '::'")]
    TooFewGroups,
    /// A second `::`.
    #[error("'::' may appear only once")]
    RepeatedDoubleColon,
    /// A `::` standing for no group at all (`1:2:3:4:5:6:7:8::`).
    #[error("'::' must stand for at least one group")]
    EmptyDoubleColon,
    /// An address starting with a single `:`.
    #[error("an address cannot start with a single ':'")]
    LeadingColon,
    /// An address ending with a single `:`.
    #[error("an address cannot end with a single ':'")]
    TrailingColon,
    /// A dotted quad that is not the last 32 bits.
    #[error("an embedded IPv4 address must be the last 32 bits")]
    MisplacedIpv4,
    /// A `%` where zones are not accepted.
    #[error("a zone ('%...') is not accepted here")]
    ZoneNotAllowed,
    /// A zone on an address where it means nothing.
    #[error("a zone is only meaningful on an IPv6 link-local or link-scoped multicast address")]
    ZoneOnNonLinkLocal,
    /// Nothing after the `%`.
    #[error("empty zone")]
    EmptyZone,
    /// A zone longer than an interface name can be.
    #[error("zone is longer than {MAX_ZONE_LEN} bytes")]
    ZoneTooLong,
    /// A zone that is not a valid interface name or index.
    #[error("zone is not a valid interface name")]
    InvalidZone,
    /// A URI host zone not introduced by `%25` (RFC 6874).
    #[error("in a URI the zone is introduced by '%25'")]
    ZoneNotPercentEncoded,
    /// A CIDR without `/`.
    #[error("missing '/prefix-length'")]
    MissingPrefix,
    /// A prefix length that is not a decimal number.
    #[error("prefix length must be a decimal number")]
    InvalidPrefix,
    /// A prefix length with a leading zero.
    #[error("prefix length has a leading zero")]
    PrefixLeadingZero,
    /// A prefix length beyond the family's width.
    #[error("prefix length is larger than {0}")]
    PrefixTooLong(u8),
    /// Host bits set where they were rejected.
    #[error("host bits are set; the network is {0}")]
    HostBitsSet(IpNet),
}

const fn err(offset: usize, kind: ParseErrorKind) -> ParseError {
    ParseError { offset, kind }
}

/// Parses an address strictly: canonical grammar, no zone, no whitespace.
///
/// ```
/// use bm_addr::{ParseErrorKind, parse_addr};
/// assert_eq!(parse_addr("::ffff:192.168.0.14").unwrap().to_string(), "::ffff:192.168.0.14");
/// let e = parse_addr("10.010.1.1").unwrap_err();
/// assert_eq!((e.offset, e.kind), (3, ParseErrorKind::LeadingZero));
/// ```
pub fn parse_addr(s: &str) -> Result<IpAddr, ParseError> {
    parse_scoped(s, &ParseOptions::strict()).map(|(a, _)| a.addr)
}

/// Parses an address with the given options.
pub fn parse_addr_with(s: &str, opts: &ParseOptions) -> Result<Parsed, ParseError> {
    let (addr, sloppy_used) = parse_scoped(s, opts)?;
    let warning = sloppy_used.then_some(Warning::LeadingZeros { canonical: addr });
    Ok(Parsed { addr, warning })
}

/// The address, its zone, and whether sloppy mode had to forgive something.
#[inline]
fn parse_scoped(s: &str, opts: &ParseOptions) -> Result<(ScopedAddr, bool), ParseError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(err(0, ParseErrorKind::Empty));
    }
    // Strip RFC 6874 brackets in URI mode; anywhere else they are an error.
    let (start, end) = match (opts.zone, b[0], b[b.len() - 1]) {
        (ZonePolicy::Uri, b'[', b']') => (1, b.len() - 1),
        (ZonePolicy::Uri, b'[', _) => return Err(err(b.len(), ParseErrorKind::UnexpectedEnd)),
        (_, b'[', _) => return Err(err(0, ParseErrorKind::Brackets)),
        _ => (0, b.len()),
    };
    let mut sloppy_used = false;
    // The common case has no zone: parse straight through, and only if the parser stops at a
    // '%' go back and treat the rest as a zone.
    let pct = match parse_bare(&b[start..end], start, opts.mode, &mut sloppy_used) {
        Ok(addr) => return Ok((ScopedAddr::new(addr), sloppy_used)),
        Err(ParseError { offset, kind: ParseErrorKind::UnexpectedChar('%') }) => offset,
        Err(e) => return Err(e),
    };
    // Whatever is wrong before the '%' is reported first.
    let addr = parse_bare(&b[start..pct], start, opts.mode, &mut sloppy_used)?;
    let zone_start = match opts.zone {
        ZonePolicy::Reject => return Err(err(pct, ParseErrorKind::ZoneNotAllowed)),
        ZonePolicy::Allow => pct + 1,
        ZonePolicy::Uri if s[pct..end].starts_with("%25") => pct + 3,
        ZonePolicy::Uri => return Err(err(pct, ParseErrorKind::ZoneNotPercentEncoded)),
    };
    if !ScopedAddr::takes_zone(addr) {
        return Err(err(zone_start, ParseErrorKind::ZoneOnNonLinkLocal));
    }
    let zone = Zone::parse(&s[zone_start..end]).map_err(|e| zone_error(zone_start, e))?;
    Ok((ScopedAddr { addr, zone: Some(zone) }, sloppy_used))
}

/// Parses a CIDR (`10.0.0.0/8`, `2001:db8::/32`). Zones are never accepted; host bits follow
/// [`ParseOptions::host_bits`].
///
/// ```
/// use bm_addr::{HostBits, ParseErrorKind, ParseOptions, parse_net_with};
/// let p = parse_net_with("10.0.0.5/24", &ParseOptions::strict()).unwrap();
/// assert!(p.host_bits_set());
/// assert_eq!(p.network().to_string(), "10.0.0.0/24");
/// let e = parse_net_with("10.0.0.5/24", &ParseOptions::strict().host_bits(HostBits::Reject)).unwrap_err();
/// assert_eq!(e.offset, 9);
/// assert!(matches!(e.kind, ParseErrorKind::HostBitsSet(_)));
/// assert!(parse_net_with("010.1.1.1/32", &ParseOptions::strict()).is_err()); // ipnet accepts it
/// ```
pub fn parse_net_with(s: &str, opts: &ParseOptions) -> Result<ParsedNet, ParseError> {
    let b = s.as_bytes();
    if b.is_empty() {
        return Err(err(0, ParseErrorKind::Empty));
    }
    if b[0] == b'[' {
        return Err(err(0, ParseErrorKind::Brackets));
    }
    let Some(slash) = b.iter().position(|&c| c == b'/') else {
        // Report what is wrong with the address part first, if anything.
        let mut sloppy_used = false;
        let addr_end = b.iter().position(|&c| c == b'%').unwrap_or(b.len());
        parse_bare(&b[..addr_end], 0, opts.mode, &mut sloppy_used)?;
        if addr_end < b.len() {
            return Err(err(addr_end, ParseErrorKind::ZoneNotAllowed));
        }
        return Err(err(b.len(), ParseErrorKind::MissingPrefix));
    };
    if let Some(p) = b[..slash].iter().position(|&c| c == b'%') {
        return Err(err(p, ParseErrorKind::ZoneNotAllowed));
    }
    let mut sloppy_used = false;
    let addr = parse_bare(&b[..slash], 0, opts.mode, &mut sloppy_used)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = parse_prefix_len(&b[slash + 1..], slash + 1, max, opts.mode, &mut sloppy_used)?;
    let net = match addr {
        IpAddr::V4(a) => {
            IpNet::V4(Ipv4Net::new(a, len).map_err(|_| err(slash + 1, ParseErrorKind::PrefixTooLong(max)))?)
        }
        IpAddr::V6(a) => {
            IpNet::V6(Ipv6Net::new(a, len).map_err(|_| err(slash + 1, ParseErrorKind::PrefixTooLong(max)))?)
        }
    };
    if opts.host_bits == HostBits::Reject && net.addr() != net.network() {
        return Err(err(slash + 1, ParseErrorKind::HostBitsSet(net.trunc())));
    }
    let warning = sloppy_used.then_some(Warning::LeadingZeros { canonical: ScopedAddr::new(addr) });
    Ok(ParsedNet { net, warning })
}

fn parse_prefix_len(b: &[u8], base: usize, max: u8, mode: Mode, sloppy_used: &mut bool) -> Result<u8, ParseError> {
    if b.is_empty() {
        return Err(err(base, ParseErrorKind::InvalidPrefix));
    }
    let mut value: u32 = 0;
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_digit() {
            return Err(err(base + i, char_error(b, i)));
        }
        value = (value * 10 + u32::from(c - b'0')).min(1000);
    }
    if b.len() > 1 && b[0] == b'0' {
        match mode {
            Mode::Strict => return Err(err(base, ParseErrorKind::PrefixLeadingZero)),
            Mode::Sloppy => *sloppy_used = true,
        }
    }
    if value > u32::from(max) {
        return Err(err(base, ParseErrorKind::PrefixTooLong(max)));
    }
    Ok(value as u8)
}

fn zone_error(offset: usize, e: ZoneError) -> ParseError {
    match e {
        ZoneError::Empty => err(offset, ParseErrorKind::EmptyZone),
        ZoneError::TooLong => err(offset + MAX_ZONE_LEN, ParseErrorKind::ZoneTooLong),
        ZoneError::Char(i, c) if c.is_whitespace() => err(offset + i, ParseErrorKind::Whitespace),
        ZoneError::Char(i, _) => err(offset + i, ParseErrorKind::InvalidZone),
        ZoneError::Dots => err(offset, ParseErrorKind::InvalidZone),
    }
}

/// The error for an unexpected byte at `b[i]`, naming the character it starts.
fn char_error(b: &[u8], i: usize) -> ParseErrorKind {
    let c = b[i];
    if c.is_ascii_whitespace() {
        ParseErrorKind::Whitespace
    } else if c.is_ascii() {
        ParseErrorKind::UnexpectedChar(char::from(c))
    } else {
        let ch = b[i..].utf8_chunks().next().and_then(|chunk| chunk.valid().chars().next());
        match ch {
            Some(ch) if ch.is_whitespace() => ParseErrorKind::Whitespace,
            Some(ch) => ParseErrorKind::UnexpectedChar(ch),
            None => ParseErrorKind::UnexpectedChar(char::REPLACEMENT_CHARACTER),
        }
    }
}

/// Parses an address without zone; `base` is its offset in the caller's input.
fn parse_bare(b: &[u8], base: usize, mode: Mode, sloppy_used: &mut bool) -> Result<IpAddr, ParseError> {
    if b.is_empty() {
        return Err(err(base, ParseErrorKind::UnexpectedEnd));
    }
    // The first '.' or ':' decides the family, as in every common parser.
    for &c in b {
        match c {
            b':' => return parse_v6(b, base, mode, sloppy_used).map(IpAddr::V6),
            b'.' => return parse_v4(b, base, mode, sloppy_used).map(IpAddr::V4),
            _ => {}
        }
    }
    // Neither separator: find the first thing that cannot be part of an address.
    match b.iter().position(|c| !c.is_ascii_hexdigit()) {
        Some(i) => Err(err(base + i, char_error(b, i))),
        None => Err(err(base + b.len(), ParseErrorKind::UnexpectedEnd)),
    }
}

/// Dotted-quad IPv4: exactly four decimal parts.
fn parse_v4(b: &[u8], base: usize, mode: Mode, sloppy_used: &mut bool) -> Result<Ipv4Addr, ParseError> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (n, octet) in octets.iter_mut().enumerate() {
        if n > 0 {
            match b.get(i) {
                Some(b'.') => i += 1,
                Some(_) => return Err(err(base + i, char_error(b, i))),
                None => return Err(err(base + i, ParseErrorKind::TooFewOctets)),
            }
        }
        let start = i;
        let mut value: u32 = 0;
        while let Some(&c) = b.get(i) {
            if !c.is_ascii_digit() {
                break;
            }
            value = (value * 10 + u32::from(c - b'0')).min(1000);
            i += 1;
        }
        let digits = i - start;
        if digits == 0 {
            return Err(match b.get(i) {
                Some(_) => err(base + i, char_error(b, i)),
                None => err(base + i, ParseErrorKind::UnexpectedEnd),
            });
        }
        if digits > 1 && b[start] == b'0' {
            match mode {
                Mode::Strict => return Err(err(base + start, ParseErrorKind::LeadingZero)),
                Mode::Sloppy => *sloppy_used = true,
            }
        }
        if value > 255 {
            return Err(err(base + start, ParseErrorKind::OctetOverflow));
        }
        *octet = value as u8;
    }
    match b.get(i) {
        None => Ok(Ipv4Addr::from(octets)),
        Some(b'.') => Err(err(base + i, ParseErrorKind::UnexpectedChar('.'))),
        Some(_) => Err(err(base + i, char_error(b, i))),
    }
}

fn hex_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'a'..=b'f' => Some(u32::from(c - b'a' + 10)),
        b'A'..=b'F' => Some(u32::from(c - b'A' + 10)),
        _ => None,
    }
}

/// RFC 4291 §2.2 text: up to eight groups, one optional `::`, optional trailing dotted quad.
fn parse_v6(b: &[u8], base: usize, mode: Mode, sloppy_used: &mut bool) -> Result<Ipv6Addr, ParseError> {
    let len = b.len();
    let mut groups = [0u16; 8];
    let mut n = 0; // groups written so far
    let mut gap: Option<(usize, usize)> = None; // (group index, byte offset) of the "::"
    let mut i = 0;
    if b[0] == b':' {
        if b.get(1) != Some(&b':') {
            return Err(err(base, ParseErrorKind::LeadingColon));
        }
        gap = Some((0, 0));
        i = 2;
    }
    while i < len {
        if n == 8 {
            return Err(err(base + i, ParseErrorKind::TooManyGroups));
        }
        let start = i;
        let mut value: u32 = 0;
        while let Some(d) = b.get(i).and_then(|&c| hex_value(c)) {
            value = ((value << 4) | d).min(0x10_0000);
            i += 1;
        }
        if b.get(i) == Some(&b'.') {
            // An embedded dotted quad: it must fill the last two groups.
            if n > 6 || (gap.is_none() && n != 6) {
                return Err(err(base + start, ParseErrorKind::MisplacedIpv4));
            }
            let v4 = parse_v4(&b[start..], base + start, mode, sloppy_used)?;
            let o = v4.octets();
            groups[n] = u16::from_be_bytes([o[0], o[1]]);
            groups[n + 1] = u16::from_be_bytes([o[2], o[3]]);
            n += 2;
            break;
        }
        let digits = i - start;
        if digits == 0 {
            return Err(match b.get(i) {
                Some(_) => err(base + i, char_error(b, i)),
                None => err(base + i, ParseErrorKind::UnexpectedEnd),
            });
        }
        if digits > 4 {
            match mode {
                Mode::Strict => return Err(err(base + start, ParseErrorKind::GroupTooLong)),
                Mode::Sloppy if value > 0xffff => return Err(err(base + start, ParseErrorKind::GroupOverflow)),
                Mode::Sloppy => *sloppy_used = true,
            }
        }
        groups[n] = value as u16;
        n += 1;
        match b.get(i) {
            None => break,
            Some(b':') => {}
            Some(_) => return Err(err(base + i, char_error(b, i))),
        }
        i += 1;
        match b.get(i) {
            None => return Err(err(base + i - 1, ParseErrorKind::TrailingColon)),
            Some(b':') => {
                if gap.is_some() {
                    return Err(err(base + i - 1, ParseErrorKind::RepeatedDoubleColon));
                }
                gap = Some((n, i - 1));
                i += 1;
            }
            Some(_) => {}
        }
    }
    match gap {
        None if n < 8 => Err(err(base + len, ParseErrorKind::TooFewGroups)),
        None => Ok(Ipv6Addr::from(groups)),
        Some((_, at)) if n == 8 => Err(err(base + at, ParseErrorKind::EmptyDoubleColon)),
        Some((g, _)) => {
            // Move the groups after the gap to the end.
            let tail = n - g;
            let mut out = [0u16; 8];
            out[..g].copy_from_slice(&groups[..g]);
            out[8 - tail..].copy_from_slice(&groups[g..n]);
            Ok(Ipv6Addr::from(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParseErrorKind::*;

    fn strict_err(s: &str) -> (usize, ParseErrorKind) {
        let e = parse_addr(s).unwrap_err();
        (e.offset, e.kind)
    }

    #[test]
    fn accepts_what_std_accepts() {
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "1.2.3.4",
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6::8",
            "::2:3:4:5:6:7:8",
            "1:2:3:4:5:6:7::",
            "::ffff:1.2.3.4",
            "1::1.2.3.4",
            "2001:0db8:0000::0001",
            "FE80::A",
            "64:ff9b::10.0.0.1",
            "1:2:3:4:5:6:1.2.3.4",
            "::1.2.3.4",
        ] {
            assert_eq!(parse_addr(s).unwrap(), s.parse::<IpAddr>().unwrap(), "{s}");
        }
    }

    #[test]
    fn rejections_name_offset_and_reason() {
        assert_eq!(strict_err(""), (0, Empty));
        assert_eq!(strict_err(" 1.2.3.4"), (0, Whitespace));
        assert_eq!(strict_err("1.2.3.4 "), (7, Whitespace));
        assert_eq!(strict_err("010.1.1.1"), (0, LeadingZero));
        assert_eq!(strict_err("::ffff:010.1.1.1"), (7, LeadingZero));
        assert_eq!(strict_err("1.2.3"), (5, TooFewOctets));
        assert_eq!(strict_err("1.2.3.4.5"), (7, UnexpectedChar('.')));
        assert_eq!(strict_err("1.2.3.256"), (6, OctetOverflow));
        assert_eq!(strict_err("0x7f.0.0.1"), (1, UnexpectedChar('x')));
        assert_eq!(strict_err("02001:db8::1"), (0, GroupTooLong));
        assert_eq!(strict_err("[::1]"), (0, Brackets));
        assert_eq!(strict_err("fe80::1%eth0"), (7, ZoneNotAllowed));
        assert_eq!(strict_err("1::2::3"), (4, RepeatedDoubleColon));
        assert_eq!(strict_err(":1::"), (0, LeadingColon));
        assert_eq!(strict_err("1:2:3:4:5:6:7:8::"), (15, EmptyDoubleColon));
        assert_eq!(strict_err("1:2:3:4:5:6:7:8:9"), (16, TooManyGroups));
        assert_eq!(strict_err("1:2:3:4:5:6:7"), (13, TooFewGroups));
        assert_eq!(strict_err("1:2:3:4:5:6:7:"), (13, TrailingColon));
        assert_eq!(strict_err("1.2.3.4::"), (7, UnexpectedChar(':')));
        assert_eq!(strict_err("::1.2.3.4:5"), (9, UnexpectedChar(':')));
        assert_eq!(strict_err("1:2:3:4:5:6:7:1.2.3.4"), (14, MisplacedIpv4));
        assert_eq!(strict_err("12345"), (5, UnexpectedEnd));
        assert_eq!(strict_err("1é.2"), (1, UnexpectedChar('é')));
        assert_eq!(strict_err("héllo"), (0, UnexpectedChar('h')));
    }

    #[test]
    fn sloppy_reads_leading_zeros_as_decimal_and_warns() {
        let opts = ParseOptions::sloppy();
        let p = parse_addr_with("010.001.1.1", &opts).unwrap();
        assert_eq!(p.addr.addr, "10.1.1.1".parse::<IpAddr>().unwrap());
        assert_eq!(p.warning, Some(Warning::LeadingZeros { canonical: p.addr }));
        let p = parse_addr_with("::ffff:0192.0168.0000.0005", &opts).unwrap();
        assert_eq!(p.addr.to_string(), "::ffff:192.168.0.5");
        let p = parse_addr_with("02001:db8::1", &opts).unwrap();
        assert_eq!(p.addr.to_string(), "2001:db8::1");
        assert!(p.warning.is_some());
        assert_eq!(parse_addr_with("1.2.3.4", &opts).unwrap().warning, None);
        assert_eq!(parse_addr_with("1.2.3.0256", &opts).unwrap_err().kind, OctetOverflow);
        assert_eq!(parse_addr_with("10000::", &opts).unwrap_err().kind, GroupOverflow);
    }

    #[test]
    fn zones() {
        let allow = ParseOptions::strict().zone(ZonePolicy::Allow);
        let p = parse_addr_with("fe80::1%eth0", &allow).unwrap();
        assert_eq!(p.addr.zone.unwrap().as_str(), "eth0");
        assert_eq!(parse_addr_with("ff02::1%2", &allow).unwrap().addr.to_string(), "ff02::1%2");
        let e = parse_addr_with("2001:db8::1%eth0", &allow).unwrap_err();
        assert_eq!((e.offset, e.kind), (12, ZoneOnNonLinkLocal));
        let e = parse_addr_with("::ffff:1.2.3.4%eth0", &allow).unwrap_err();
        assert_eq!(e.kind, ZoneOnNonLinkLocal);
        assert_eq!(parse_addr_with("fe80::1%", &allow).unwrap_err(), err(8, EmptyZone));
        assert_eq!(parse_addr_with("fe80::1%a/b", &allow).unwrap_err(), err(9, InvalidZone));
        assert_eq!(parse_addr_with("fe80::1%0123456789abcdef", &allow).unwrap_err().kind, ZoneTooLong);
        // A plain '%25' is a literal zone named "25eth0"; in URI mode it is the encoding of '%'.
        assert_eq!(parse_addr_with("fe80::1%25eth0", &allow).unwrap().addr.zone.unwrap().as_str(), "25eth0");
        let uri = ParseOptions::strict().zone(ZonePolicy::Uri);
        let p = parse_addr_with("[fe80::1%25eth0]", &uri).unwrap();
        assert_eq!(p.addr.to_string(), "fe80::1%eth0");
        assert_eq!(parse_addr_with("fe80::1%eth0", &uri).unwrap_err(), err(7, ZoneNotPercentEncoded));
        assert_eq!(parse_addr_with("[fe80::1", &uri).unwrap_err().kind, UnexpectedEnd);
    }

    #[test]
    fn cidrs() {
        let s = ParseOptions::strict();
        let p = parse_net_with("::ffff:1.1.1.0/120", &s).unwrap();
        assert_eq!(p.unmapped().unwrap().to_string(), "1.1.1.0/24");
        assert!(!p.host_bits_set());
        assert_eq!(parse_net_with("10.0.0.0/33", &s).unwrap_err(), err(9, PrefixTooLong(32)));
        assert_eq!(parse_net_with("10.0.0.0/08", &s).unwrap_err(), err(9, PrefixLeadingZero));
        assert_eq!(parse_net_with("10.0.0.0/", &s).unwrap_err(), err(9, InvalidPrefix));
        assert_eq!(parse_net_with("10.0.0.0/8 ", &s).unwrap_err(), err(10, Whitespace));
        assert_eq!(parse_net_with("10.0.0.0", &s).unwrap_err(), err(8, MissingPrefix));
        assert_eq!(parse_net_with("010.0.0.0", &s).unwrap_err(), err(0, LeadingZero));
        assert_eq!(parse_net_with("fe80::%eth0/64", &s).unwrap_err(), err(6, ZoneNotAllowed));
        let p = parse_net_with("010.0.0.0/08", &ParseOptions::sloppy()).unwrap();
        assert_eq!(p.net.to_string(), "10.0.0.0/8");
        assert!(p.warning.is_some());
    }
}
