//! Path attributes (RFC 4271 §4.3, §5): ORIGIN, AS_PATH (4-octet ASNs), NEXT_HOP,
//! MULTI_EXIT_DISC, LOCAL_PREF, COMMUNITIES (RFC 1997), MP_REACH_NLRI / MP_UNREACH_NLRI
//! (RFC 4760, RFC 2545 next hops) and LARGE_COMMUNITY (RFC 8092); any other attribute is kept
//! raw with its flags.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::Reader;
use super::error::{AttributeErrorKind, EncodeError};
use super::prefix::{self, Prefixes};

/// Attribute flag bits.
pub mod attribute_flags {
    /// Optional (clear: well-known).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended Length: a 2-byte length field.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes.
pub mod attribute_type {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (kept raw).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (kept raw).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
}

use attribute_flags::{EXTENDED_LENGTH, OPTIONAL, TRANSITIVE};
use attribute_type as ty;

/// ORIGIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// 0: interior to the AS.
    Igp,
    /// 1: learned by EGP.
    Egp,
    /// 2: otherwise.
    Incomplete,
}

/// AS_PATH segment types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AsSegmentType {
    /// 1: AS_SET.
    Set = 1,
    /// 2: AS_SEQUENCE.
    Sequence = 2,
    /// 3: AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence = 3,
    /// 4: AS_CONFED_SET (RFC 5065).
    ConfedSet = 4,
}

/// One AS_PATH segment: 1 to 255 AS numbers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsSegment {
    /// Set or sequence.
    pub kind: AsSegmentType,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// AS_PATH, with 4-octet AS numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AsPath {
    /// The segments (none on iBGP from the originator).
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// One AS_SEQUENCE of `asns`; empty when `asns` is.
    pub fn sequence(asns: Vec<u32>) -> AsPath {
        if asns.is_empty() {
            AsPath::default()
        } else {
            AsPath { segments: vec![AsSegment { kind: AsSegmentType::Sequence, asns }] }
        }
    }
}

/// A community (RFC 1997): AS and value in one `u32`.
///
/// ```
/// use bm_bgp::message::Community;
///
/// assert_eq!(Community::new(64512, 100).to_string(), "64512:100");
/// assert_eq!(Community::NO_EXPORT.0, 0xffff_ff01);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xffff_ff01);
    /// NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xffff_ff02);
    /// NO_EXPORT_SUBCONFED.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xffff_ff03);

    /// `asn:value`.
    pub const fn new(asn: u16, value: u16) -> Community {
        Community(((asn as u32) << 16) | value as u32)
    }
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xffff)
    }
}

/// A large community (RFC 8092): `global:local1:local2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LargeCommunity {
    /// Global Administrator (an ASN).
    pub global: u32,
    /// Local Data Part 1.
    pub local1: u32,
    /// Local Data Part 2.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// The next hop of an MP_REACH_NLRI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum NextHop {
    /// IPv4 (4 bytes).
    Ipv4 {
        /// The address.
        addr: Ipv4Addr,
    },
    /// IPv6 (RFC 2545): the global address (16 bytes), or global and link-local (32).
    Ipv6 {
        /// The global address.
        global: Ipv6Addr,
        /// The link-local address, on a shared link.
        link_local: Option<Ipv6Addr>,
    },
}

/// MP_REACH_NLRI (RFC 4760) for IPv4 or IPv6 unicast.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpReach {
    /// The next hop, of the prefixes' family.
    pub next_hop: NextHop,
    /// The prefixes reachable through it.
    pub nlri: Prefixes,
}

/// MP_UNREACH_NLRI (RFC 4760) for IPv4 or IPv6 unicast; with no prefixes, End-of-RIB.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpUnreach {
    /// The prefixes withdrawn.
    pub withdrawn: Prefixes,
}

/// An attribute kept as received: any type this crate does not parse, and MP_REACH_NLRI /
/// MP_UNREACH_NLRI of families other than IPv4 and IPv6 unicast.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RawAttribute {
    /// The flags, without Extended Length (the encoder sets it when the value needs it).
    pub flags: u8,
    /// The type code.
    pub type_code: u8,
    /// The value.
    pub value: Vec<u8>,
}

/// A path attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "attribute", content = "value", rename_all = "snake_case")]
pub enum PathAttribute {
    /// ORIGIN (1, well-known mandatory).
    Origin(Origin),
    /// AS_PATH (2, well-known mandatory).
    AsPath(AsPath),
    /// NEXT_HOP (3, well-known mandatory with IPv4 NLRI).
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC (4, optional non-transitive).
    MultiExitDisc(u32),
    /// LOCAL_PREF (5, well-known, iBGP).
    LocalPref(u32),
    /// COMMUNITIES (8, optional transitive).
    Communities(Vec<Community>),
    /// MP_REACH_NLRI (14, optional non-transitive).
    MpReach(MpReach),
    /// MP_UNREACH_NLRI (15, optional non-transitive).
    MpUnreach(MpUnreach),
    /// LARGE_COMMUNITY (32, optional transitive).
    LargeCommunities(Vec<LargeCommunity>),
    /// Anything else.
    Other(RawAttribute),
}

/// The Optional and Transitive flags each known attribute must carry.
pub(crate) fn expected_flags(type_code: u8) -> Option<u8> {
    Some(match type_code {
        // ATOMIC_AGGREGATE is well-known discretionary (RFC 4271 §5.1.6): routers put it on
        // aggregates, and a session must not reset on it.
        ty::ORIGIN | ty::AS_PATH | ty::NEXT_HOP | ty::LOCAL_PREF | ty::ATOMIC_AGGREGATE => TRANSITIVE,
        ty::MULTI_EXIT_DISC | ty::MP_REACH_NLRI | ty::MP_UNREACH_NLRI => OPTIONAL,
        ty::COMMUNITIES | ty::LARGE_COMMUNITY | ty::AGGREGATOR => OPTIONAL | TRANSITIVE,
        _ => return None,
    })
}

impl PathAttribute {
    /// Its type code.
    pub fn type_code(&self) -> u8 {
        match self {
            PathAttribute::Origin(_) => ty::ORIGIN,
            PathAttribute::AsPath(_) => ty::AS_PATH,
            PathAttribute::NextHop(_) => ty::NEXT_HOP,
            PathAttribute::MultiExitDisc(_) => ty::MULTI_EXIT_DISC,
            PathAttribute::LocalPref(_) => ty::LOCAL_PREF,
            PathAttribute::Communities(_) => ty::COMMUNITIES,
            PathAttribute::MpReach(_) => ty::MP_REACH_NLRI,
            PathAttribute::MpUnreach(_) => ty::MP_UNREACH_NLRI,
            PathAttribute::LargeCommunities(_) => ty::LARGE_COMMUNITY,
            PathAttribute::Other(raw) => raw.type_code,
        }
    }

    /// Its flags (Extended Length aside).
    pub fn flags(&self) -> u8 {
        match self {
            PathAttribute::Other(raw) => raw.flags & !EXTENDED_LENGTH,
            other => expected_flags(other.type_code()).unwrap_or(0),
        }
    }

    /// Appends flags, type, length and value.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut value = Vec::new();
        match self {
            PathAttribute::Origin(o) => value.push(*o as u8),
            PathAttribute::AsPath(path) => {
                for seg in &path.segments {
                    let n = u8::try_from(seg.asns.len()).map_err(|_| EncodeError::AsSegmentLength)?;
                    if n == 0 {
                        return Err(EncodeError::AsSegmentLength);
                    }
                    value.push(seg.kind as u8);
                    value.push(n);
                    seg.asns.iter().for_each(|a| value.extend_from_slice(&a.to_be_bytes()));
                }
            }
            PathAttribute::NextHop(a) => value.extend_from_slice(&a.octets()),
            PathAttribute::MultiExitDisc(v) | PathAttribute::LocalPref(v) => value.extend_from_slice(&v.to_be_bytes()),
            PathAttribute::Communities(cs) => cs.iter().for_each(|c| value.extend_from_slice(&c.0.to_be_bytes())),
            PathAttribute::LargeCommunities(cs) => cs.iter().for_each(|c| {
                value.extend_from_slice(&c.global.to_be_bytes());
                value.extend_from_slice(&c.local1.to_be_bytes());
                value.extend_from_slice(&c.local2.to_be_bytes());
            }),
            PathAttribute::MpReach(mp) => {
                let family = mp.nlri.family();
                value.extend_from_slice(&family.afi.to_be_bytes());
                value.push(family.safi);
                match (mp.next_hop, &mp.nlri) {
                    (NextHop::Ipv4 { addr }, Prefixes::Ipv4(_)) => {
                        value.push(4);
                        value.extend_from_slice(&addr.octets());
                    }
                    (NextHop::Ipv6 { global, link_local }, Prefixes::Ipv6(_)) => {
                        value.push(if link_local.is_some() { 32 } else { 16 });
                        value.extend_from_slice(&global.octets());
                        if let Some(ll) = link_local {
                            value.extend_from_slice(&ll.octets());
                        }
                    }
                    _ => return Err(EncodeError::NextHopFamily),
                }
                value.push(0); // Reserved
                mp.nlri.encode(&mut value);
            }
            PathAttribute::MpUnreach(mp) => {
                let family = mp.withdrawn.family();
                value.extend_from_slice(&family.afi.to_be_bytes());
                value.push(family.safi);
                mp.withdrawn.encode(&mut value);
            }
            PathAttribute::Other(raw) => value.extend_from_slice(&raw.value),
        }
        let flags = self.flags();
        match u8::try_from(value.len()) {
            Ok(len) => out.extend_from_slice(&[flags, self.type_code(), len]),
            Err(_) => {
                let len = u16::try_from(value.len()).map_err(|_| EncodeError::FieldTooLong)?;
                out.extend_from_slice(&[flags | EXTENDED_LENGTH, self.type_code()]);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(&value);
        Ok(())
    }

    /// Reads the value of an attribute whose flags and type were read; the flags must have
    /// been checked against [`expected_flags`].
    pub(crate) fn decode_value(flags: u8, type_code: u8, value: &[u8]) -> Result<PathAttribute, AttributeErrorKind> {
        use AttributeErrorKind::{InvalidOrigin, Length, MalformedAsPath, MalformedMultiprotocol};
        let mut r = Reader::new(value);
        let u32_value = || <[u8; 4]>::try_from(value).map(u32::from_be_bytes).map_err(|_| Length);
        Ok(match type_code {
            ty::ORIGIN => match value {
                [0] => PathAttribute::Origin(Origin::Igp),
                [1] => PathAttribute::Origin(Origin::Egp),
                [2] => PathAttribute::Origin(Origin::Incomplete),
                [_] => return Err(InvalidOrigin),
                _ => return Err(Length),
            },
            ty::AS_PATH => {
                let mut segments = Vec::new();
                while !r.is_empty() {
                    let kind = match r.u8() {
                        Some(1) => AsSegmentType::Set,
                        Some(2) => AsSegmentType::Sequence,
                        Some(3) => AsSegmentType::ConfedSequence,
                        Some(4) => AsSegmentType::ConfedSet,
                        _ => return Err(MalformedAsPath),
                    };
                    let n = r.u8().filter(|n| *n > 0).ok_or(MalformedAsPath)?;
                    let asns = r
                        .take(usize::from(n) * 4)
                        .ok_or(MalformedAsPath)?
                        .chunks_exact(4)
                        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                        .collect();
                    segments.push(AsSegment { kind, asns });
                }
                PathAttribute::AsPath(AsPath { segments })
            }
            ty::NEXT_HOP => PathAttribute::NextHop(Ipv4Addr::from(u32_value()?)),
            ty::MULTI_EXIT_DISC => PathAttribute::MultiExitDisc(u32_value()?),
            ty::LOCAL_PREF => PathAttribute::LocalPref(u32_value()?),
            ty::COMMUNITIES => {
                if value.is_empty() || !value.len().is_multiple_of(4) {
                    return Err(Length);
                }
                PathAttribute::Communities(
                    value.chunks_exact(4).map(|c| Community(u32::from_be_bytes([c[0], c[1], c[2], c[3]]))).collect(),
                )
            }
            ty::LARGE_COMMUNITY => {
                if value.is_empty() || !value.len().is_multiple_of(12) {
                    return Err(Length);
                }
                let word = |c: &[u8], i: usize| u32::from_be_bytes([c[i], c[i + 1], c[i + 2], c[i + 3]]);
                PathAttribute::LargeCommunities(
                    value
                        .chunks_exact(12)
                        .map(|c| LargeCommunity { global: word(c, 0), local1: word(c, 4), local2: word(c, 8) })
                        .collect(),
                )
            }
            ty::MP_REACH_NLRI => {
                let (afi, safi) = (r.u16().ok_or(MalformedMultiprotocol)?, r.u8().ok_or(MalformedMultiprotocol)?);
                let nh_len = r.u8().ok_or(MalformedMultiprotocol)?;
                let nh = r.take(usize::from(nh_len)).ok_or(MalformedMultiprotocol)?;
                match (afi, safi) {
                    (1, 1) | (2, 1) => {}
                    _ => return Ok(raw(flags, type_code, value)),
                }
                r.u8().ok_or(MalformedMultiprotocol)?; // Reserved
                let next_hop = match (afi, nh.len()) {
                    (1, 4) => NextHop::Ipv4 { addr: Ipv4Addr::from(<[u8; 4]>::try_from(nh).map_err(|_| Length)?) },
                    (2, 16 | 32) => {
                        let global = <[u8; 16]>::try_from(&nh[..16]).map_err(|_| Length)?;
                        let link_local =
                            nh.get(16..).filter(|ll| !ll.is_empty()).and_then(|ll| <[u8; 16]>::try_from(ll).ok());
                        NextHop::Ipv6 { global: global.into(), link_local: link_local.map(Ipv6Addr::from) }
                    }
                    _ => return Err(MalformedMultiprotocol),
                };
                let nlri = match afi {
                    1 => Prefixes::Ipv4(prefix::decode_v4(&mut r).map_err(|_| MalformedMultiprotocol)?),
                    _ => Prefixes::Ipv6(prefix::decode_v6(&mut r).map_err(|_| MalformedMultiprotocol)?),
                };
                PathAttribute::MpReach(MpReach { next_hop, nlri })
            }
            ty::MP_UNREACH_NLRI => {
                let (afi, safi) = (r.u16().ok_or(MalformedMultiprotocol)?, r.u8().ok_or(MalformedMultiprotocol)?);
                let withdrawn = match (afi, safi) {
                    (1, 1) => Prefixes::Ipv4(prefix::decode_v4(&mut r).map_err(|_| MalformedMultiprotocol)?),
                    (2, 1) => Prefixes::Ipv6(prefix::decode_v6(&mut r).map_err(|_| MalformedMultiprotocol)?),
                    _ => return Ok(raw(flags, type_code, value)),
                };
                PathAttribute::MpUnreach(MpUnreach { withdrawn })
            }
            // Kept raw (not ours to interpret), once their lengths are right (RFC 7606 §7.6:
            // none; §7.7: 8, a 4-octet AS and an address, on a session that negotiated them).
            ty::ATOMIC_AGGREGATE if !value.is_empty() => return Err(Length),
            ty::AGGREGATOR if value.len() != 8 => return Err(Length),
            _ => raw(flags, type_code, value),
        })
    }
}

fn raw(flags: u8, type_code: u8, value: &[u8]) -> PathAttribute {
    PathAttribute::Other(RawAttribute { flags: flags & !EXTENDED_LENGTH, type_code, value: value.to_vec() })
}
