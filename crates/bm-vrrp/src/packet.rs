//! VRRP advertisements on the wire: v2 (RFC 3768, auth type 0 and 1/PASS) and v3 (RFC 5798 /
//! RFC 9568) over IPv4 and IPv6. Encoding, and decoding with every receive check of §7.1, one
//! reason per drop.
//!
//! [`encode`] writes the VRRP message only; the IP header (TTL / hop limit 255, protocol 112) is
//! the sender's. [`decode`] takes the IP payload with the header fields it needs and runs the
//! checks in a fixed order, so a packet failing several is always dropped for the same reason:
//! TTL, header length, version, type, family, address count, exact length, checksum, VRID,
//! then v3's non-zero interval or v2's authentication and interval, and last keepalived's
//! address-list comparison. Who may send (unicast peers, their TTL range, unicast against
//! multicast) is not the packet's business: [`Instance`](crate::Instance) checks it first.
//!
//! Checksums are the RFC 1071 internet checksum. v2 covers the message alone (authentication
//! data included), v3 over IPv6 adds the IPv6 pseudo-header, and v3 over IPv4 exists in two
//! incompatible forms in the field (see [`V3Ipv4Checksum`]): a receiver accepts both and reports
//! which one verified, so that a router can talk to peers of either kind. Built with
//! `--cfg fuzzing` (as cargo-fuzz does), the checksum is not verified, so that a fuzzer reaches
//! the checks behind it; every other build verifies it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::interval::{AdvertInterval, V2Interval, V3Interval};

/// Protocol version (`"v2"`, `"v3"` in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// RFC 3768 (IPv4 only), interval in whole seconds, 8 bytes of authentication data.
    V2,
    /// RFC 5798 / RFC 9568, interval in centiseconds (12 bits).
    V3,
}

/// How a VRRPv3-over-IPv4 checksum is computed (the interop trap, research §1.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum V3Ipv4Checksum {
    /// With the IPv4 pseudo-header (src, dst, 0, 112, length): RFC 5798's reading, keepalived
    /// 2.2.7, FRR. The default for sending.
    #[default]
    PseudoHeader,
    /// The message alone: RFC 9568, Cisco, Juniper, holo.
    MessageOnly,
}

/// One advertisement. Its version is its interval's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advert {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Priority: 255 owner, 1..=254 backups, 0 the master resigns.
    pub priority: u8,
    /// The advertisement interval, of the advert's version.
    pub interval: AdvertInterval,
    /// The virtual addresses, all of the packet's family.
    pub addrs: Vec<IpAddr>,
    /// v2 authentication: `Some(password)` for type 1 (PASS, 8 bytes, zero-padded), `None`
    /// for type 0. Always `None` for v3.
    pub auth: Option<[u8; 8]>,
}

impl Advert {
    /// The protocol version (its interval's).
    pub const fn version(&self) -> Version {
        self.interval.version()
    }
}

/// Which checksum form a received v3/IPv4 advert verified with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChecksumForm {
    /// IPv4 pseudo-header with the packet's destination.
    PseudoHeader,
    /// Message only (RFC 9568).
    MessageOnly,
    /// v2, or v3 over IPv6 (one form only).
    Only,
}

/// What a receiver expects; a packet failing any check is dropped with its [`DropReason`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RxCheck<'a> {
    /// The local interval, which gives the local version; v2 adverts must carry exactly it
    /// (RFC 3768 §7.1), v3 adverts any non-zero one (RFC 9568 §7.1 only logs a mismatch).
    pub interval: AdvertInterval,
    /// The local VRID.
    pub vrid: u8,
    /// Check TTL / hop limit == 255 (RFC 5798 §7.1; keepalived skips it for unicast).
    pub check_ttl: bool,
    /// v2: the local authentication (must match: type and password).
    pub auth: Option<[u8; 8]>,
    /// keepalived's check: the advert's address list must equal these (order-insensitive).
    /// `None` skips it.
    pub vips: Option<&'a [IpAddr]>,
}

/// Why a received packet was dropped (RFC 5798 / 3768 / 9568 §7.1, keepalived's extras, and
/// the unicast peer filter). Each variant is counted under its [`DropKind`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DropReason {
    /// TTL / hop limit is not 255.
    #[error("TTL/hop limit {0}, not 255")]
    Ttl(u8),
    /// Shorter than the fixed header.
    #[error("{0} bytes: shorter than the 8-byte header")]
    Short(usize),
    /// Version nibble is not the local version.
    #[error("version {0}, expected the local one")]
    Version(u8),
    /// Type nibble is not 1 (ADVERTISEMENT).
    #[error("type {0}, not ADVERTISEMENT")]
    Type(u8),
    /// The address count is 0 (RFC 9568 erratum 8299).
    #[error("no addresses")]
    NoAddresses,
    /// Length does not match the address count (exact, as keepalived demands).
    #[error("{got} bytes, {want} expected for the address count")]
    Length {
        /// Received.
        got: usize,
        /// Expected.
        want: usize,
    },
    /// Source and destination addresses of different families, or v2 over IPv6.
    #[error("address family does not fit the version or the packet")]
    Family,
    /// Checksum does not verify (in any accepted form).
    #[error("bad checksum")]
    Checksum,
    /// Another VRID.
    #[error("VRID {0} is not ours")]
    Vrid(u8),
    /// Interval 0 (RFC 9568 erratum 8301 for v3; no v2 router sends it).
    #[error("advertisement interval 0")]
    IntervalZero,
    /// v2 auth type differs from the local one.
    #[error("authentication type {0} does not match ours")]
    AuthType(u8),
    /// v2 PASS password differs.
    #[error("authentication failed")]
    AuthFailed,
    /// v2 interval differs from the local one (RFC 3768 §7.1).
    #[error("advertisement interval {got}, ours is {want}")]
    Interval {
        /// Received.
        got: AdvertInterval,
        /// Local.
        want: AdvertInterval,
    },
    /// The address list differs from ours (keepalived's check).
    #[error("address list differs from ours")]
    VipList,
    /// In unicast mode, a source that is no unicast peer (keepalived's `check_unicast_src`).
    #[error("source {0} is not a unicast peer")]
    NotAPeer(IpAddr),
    /// From a unicast peer, but with a TTL / hop limit outside its `min_ttl`..`max_ttl`.
    #[error("TTL/hop limit {ttl} outside the peer's {min} to {max}")]
    PeerTtl {
        /// Received.
        ttl: u8,
        /// The peer's `min_ttl`.
        min: u8,
        /// The peer's `max_ttl`.
        max: u8,
    },
    /// Sent to a unicast address, but the instance runs multicast (keepalived drops it too).
    #[error("a unicast advert, but this instance is multicast")]
    UnicastInMulticastMode,
    /// Sent to a multicast group, but the instance has unicast peers (keepalived drops it too).
    #[error("a multicast advert, but this instance is unicast")]
    MulticastInUnicastMode,
}

/// A [`DropReason`] without its data: what drops are counted and rate-limited by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DropKind {
    /// [`DropReason::Ttl`].
    Ttl,
    /// [`DropReason::Short`].
    Short,
    /// [`DropReason::Version`].
    Version,
    /// [`DropReason::Type`].
    Type,
    /// [`DropReason::NoAddresses`].
    NoAddresses,
    /// [`DropReason::Length`].
    Length,
    /// [`DropReason::Family`].
    Family,
    /// [`DropReason::Checksum`].
    Checksum,
    /// [`DropReason::Vrid`].
    Vrid,
    /// [`DropReason::IntervalZero`].
    IntervalZero,
    /// [`DropReason::AuthType`].
    AuthType,
    /// [`DropReason::AuthFailed`].
    AuthFailed,
    /// [`DropReason::Interval`].
    Interval,
    /// [`DropReason::VipList`].
    VipList,
    /// [`DropReason::NotAPeer`].
    NotAPeer,
    /// [`DropReason::PeerTtl`].
    PeerTtl,
    /// [`DropReason::UnicastInMulticastMode`].
    UnicastInMulticastMode,
    /// [`DropReason::MulticastInUnicastMode`].
    MulticastInUnicastMode,
}

impl DropKind {
    /// Every kind, in declaration order.
    pub const ALL: [DropKind; 18] = [
        DropKind::Ttl,
        DropKind::Short,
        DropKind::Version,
        DropKind::Type,
        DropKind::NoAddresses,
        DropKind::Length,
        DropKind::Family,
        DropKind::Checksum,
        DropKind::Vrid,
        DropKind::IntervalZero,
        DropKind::AuthType,
        DropKind::AuthFailed,
        DropKind::Interval,
        DropKind::VipList,
        DropKind::NotAPeer,
        DropKind::PeerTtl,
        DropKind::UnicastInMulticastMode,
        DropKind::MulticastInUnicastMode,
    ];

    /// Its position in [`DropKind::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl DropReason {
    /// The kind it is counted under.
    pub const fn kind(&self) -> DropKind {
        match self {
            DropReason::Ttl(_) => DropKind::Ttl,
            DropReason::Short(_) => DropKind::Short,
            DropReason::Version(_) => DropKind::Version,
            DropReason::Type(_) => DropKind::Type,
            DropReason::NoAddresses => DropKind::NoAddresses,
            DropReason::Length { .. } => DropKind::Length,
            DropReason::Family => DropKind::Family,
            DropReason::Checksum => DropKind::Checksum,
            DropReason::Vrid(_) => DropKind::Vrid,
            DropReason::IntervalZero => DropKind::IntervalZero,
            DropReason::AuthType(_) => DropKind::AuthType,
            DropReason::AuthFailed => DropKind::AuthFailed,
            DropReason::Interval { .. } => DropKind::Interval,
            DropReason::VipList => DropKind::VipList,
            DropReason::NotAPeer(_) => DropKind::NotAPeer,
            DropReason::PeerTtl { .. } => DropKind::PeerTtl,
            DropReason::UnicastInMulticastMode => DropKind::UnicastInMulticastMode,
            DropReason::MulticastInUnicastMode => DropKind::MulticastInUnicastMode,
        }
    }
}

/// Why an advert cannot be encoded. [`Instance::new`](crate::Instance::new) refuses every
/// configuration whose adverts would hit one, so a running instance never meets them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EncodeError {
    /// No address: RFC 9568 erratum 8299 makes a receiver drop it.
    #[error("an advert needs at least one address")]
    NoAddresses,
    /// More addresses than the 8-bit count field carries.
    #[error("{0} addresses: an advert carries at most 255")]
    TooManyAddresses(usize),
    /// Source, destination and addresses not all of one family, or v2 over IPv6.
    #[error("source, destination and addresses must be of one family (and VRRPv2 is IPv4 only)")]
    Family,
}

/// Version/type, VRID, priority, count, interval (v2: auth type, interval), checksum.
const HEADER_LEN: usize = 8;
/// v2's authentication data, present whatever the auth type.
const AUTH_LEN: usize = 8;
/// Where the checksum sits in the header.
const CHECKSUM: std::ops::Range<usize> = 6..8;
/// IPv4 protocol / IPv6 next header of VRRP.
const PROTO_VRRP: u8 = 112;
/// The only VRRP message type.
const TYPE_ADVERTISEMENT: u8 = 1;
/// v2 authentication type 0.
const AUTH_NONE: u8 = 0;
/// v2 authentication type 1, the plain-text password ("PASS").
const AUTH_PASS: u8 = 1;
/// RFC 5798 §5.1.1.3 / §5.1.2.3: the IP TTL / hop limit of every advertisement.
const TTL: u8 = 255;
/// The most addresses one advert carries (the 8-bit count field).
pub const MAX_ADDRESSES: usize = u8::MAX as usize;

/// The length of the message `advert` encodes to (for an MTU check: add the IP header), or
/// why it cannot be encoded at all.
pub fn message_len_of(advert: &Advert) -> Result<usize, EncodeError> {
    let count = u8::try_from(advert.addrs.len()).map_err(|_| EncodeError::TooManyAddresses(advert.addrs.len()))?;
    let per = if advert.addrs.first().is_some_and(IpAddr::is_ipv6) { 16 } else { 4 };
    let fixed = match advert.version() {
        Version::V2 => HEADER_LEN + AUTH_LEN,
        Version::V3 => HEADER_LEN,
    };
    Ok(fixed + usize::from(count) * per)
}

/// Encodes `advert` as sent from `src` to `dst` (multicast group or unicast peer), with the
/// checksum `v3_ipv4` says for v3 over IPv4, or says why it cannot be sent.
///
/// `out` is cleared first and holds exactly the message on success, nothing on error.
/// `advert.auth` is ignored for v3, which has no authentication field. The interval always
/// fits: its type ([`AdvertInterval`]) only holds what the version's field carries.
pub fn encode(
    advert: &Advert,
    src: IpAddr,
    dst: IpAddr,
    v3_ipv4: V3Ipv4Checksum,
    out: &mut Vec<u8>,
) -> Result<(), EncodeError> {
    out.clear();
    let ends = Endpoints::new(src, dst).ok_or(EncodeError::Family)?;
    if advert.version() == Version::V2 && !ends.is_ipv4() {
        return Err(EncodeError::Family);
    }
    if advert.addrs.is_empty() {
        return Err(EncodeError::NoAddresses);
    }
    if advert.addrs.iter().any(|a| a.is_ipv4() != ends.is_ipv4()) {
        return Err(EncodeError::Family);
    }
    let count = u8::try_from(advert.addrs.len()).map_err(|_| EncodeError::TooManyAddresses(advert.addrs.len()))?;
    let [field4, field5] = match advert.interval {
        AdvertInterval::V3(i) => i.centiseconds().to_be_bytes(),
        AdvertInterval::V2(i) => {
            let auth_type = if advert.auth.is_some() { AUTH_PASS } else { AUTH_NONE };
            [auth_type, i.seconds()]
        }
    };

    let version = advert.version();
    let len = message_len(version, ends, count);
    out.reserve(usize::from(len));
    out.extend_from_slice(&[version.first_byte(), advert.vrid, advert.priority, count, field4, field5, 0, 0]);
    for addr in &advert.addrs {
        match addr {
            IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
            IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
        }
    }
    if version == Version::V2 {
        out.extend_from_slice(&advert.auth.unwrap_or([0; AUTH_LEN]));
    }
    let checksum = !covered_sum(out, version, ends, v3_ipv4, len);
    out[CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    Ok(())
}

/// Decodes and checks a received VRRP message (the IP payload) from `src` to `dst` with IP
/// TTL / hop limit `ttl`. v3/IPv4 accepts both checksum forms and says which verified.
///
/// The checks run in the order of the module documentation and the first failure is returned.
/// The four reserved bits in front of the v3 interval are ignored, as RFC 5798 §5.2.5 says.
/// The returned advert has `auth: None` for v3 and for v2 type 0.
pub fn decode(
    bytes: &[u8],
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    check: &RxCheck<'_>,
) -> Result<(Advert, ChecksumForm), DropReason> {
    let version = check.interval.version();
    if check.check_ttl && ttl != TTL {
        return Err(DropReason::Ttl(ttl));
    }
    let Some((header, body)) = bytes.split_first_chunk::<HEADER_LEN>() else {
        return Err(DropReason::Short(bytes.len()));
    };
    let [version_type, vrid, priority, count, field4, field5, _, _] = *header;
    let got_version = version_type >> 4;
    if got_version != version.nibble() {
        return Err(DropReason::Version(got_version));
    }
    let kind = version_type & 0x0f;
    if kind != TYPE_ADVERTISEMENT {
        return Err(DropReason::Type(kind));
    }
    let ends = Endpoints::new(src, dst).ok_or(DropReason::Family)?;
    if version == Version::V2 && !ends.is_ipv4() {
        return Err(DropReason::Family);
    }
    if count == 0 {
        return Err(DropReason::NoAddresses);
    }
    let len = message_len(version, ends, count);
    if bytes.len() != usize::from(len) {
        return Err(DropReason::Length { got: bytes.len(), want: usize::from(len) });
    }
    let form = verify_checksum(bytes, version, ends, len)?;
    if vrid != check.vrid {
        return Err(DropReason::Vrid(vrid));
    }

    let (interval, auth, addr_bytes) = match check.interval {
        AdvertInterval::V3(_) => {
            let centiseconds = u16::from_be_bytes([field4 & 0x0f, field5]);
            let interval = V3Interval::new(centiseconds).map_err(|_| DropReason::IntervalZero)?;
            (AdvertInterval::V3(interval), None, body)
        }
        AdvertInterval::V2(want) => {
            // The exact length check above guarantees the authentication data is there.
            let Some((addr_bytes, auth_data)) = body.split_last_chunk::<AUTH_LEN>() else {
                return Err(DropReason::Length { got: bytes.len(), want: usize::from(len) });
            };
            let auth = match (field4, check.auth) {
                (AUTH_NONE, None) => None,
                (AUTH_PASS, Some(password)) if *auth_data == password => Some(password),
                (AUTH_PASS, Some(_)) => return Err(DropReason::AuthFailed),
                (got, _) => return Err(DropReason::AuthType(got)),
            };
            let got = V2Interval::new(field5).map_err(|_| DropReason::IntervalZero)?;
            if got != want {
                return Err(DropReason::Interval { got: AdvertInterval::V2(got), want: AdvertInterval::V2(want) });
            }
            (AdvertInterval::V2(got), auth, addr_bytes)
        }
    };

    let addrs = ends.parse_addrs(addr_bytes);
    if let Some(vips) = check.vips
        && !same_addresses(&addrs, vips)
    {
        return Err(DropReason::VipList);
    }
    Ok((Advert { vrid, priority, interval, addrs, auth }, form))
}

impl Version {
    /// The version nibble.
    const fn nibble(self) -> u8 {
        match self {
            Self::V2 => 2,
            Self::V3 => 3,
        }
    }

    /// Version and type ADVERTISEMENT.
    const fn first_byte(self) -> u8 {
        (self.nibble() << 4) | TYPE_ADVERTISEMENT
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Version::V2 => "v2",
            Version::V3 => "v3",
        })
    }
}

/// The exact message length for `count` addresses. At most 8 + 255 × 16 bytes, so it always
/// fits the IPv4 pseudo-header's 16-bit length.
fn message_len(version: Version, ends: Endpoints, count: u8) -> u16 {
    let fixed = match version {
        Version::V2 => HEADER_LEN + AUTH_LEN,
        Version::V3 => HEADER_LEN,
    };
    fixed as u16 + u16::from(count) * ends.addr_len()
}

/// Order-insensitive comparison; duplicates count, as keepalived compares counts too.
fn same_addresses(got: &[IpAddr], want: &[IpAddr]) -> bool {
    if got.len() != want.len() {
        return false;
    }
    let (mut got, mut want) = (got.to_vec(), want.to_vec());
    got.sort_unstable();
    want.sort_unstable();
    got == want
}

/// A packet's source and destination, of one family.
#[derive(Clone, Copy, Debug)]
enum Endpoints {
    V4(Ipv4Addr, Ipv4Addr),
    V6(Ipv6Addr, Ipv6Addr),
}

impl Endpoints {
    fn new(src: IpAddr, dst: IpAddr) -> Option<Self> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Some(Self::V4(src, dst)),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Some(Self::V6(src, dst)),
            _ => None,
        }
    }

    const fn is_ipv4(self) -> bool {
        matches!(self, Self::V4(..))
    }

    const fn addr_len(self) -> u16 {
        match self {
            Self::V4(..) => 4,
            Self::V6(..) => 16,
        }
    }

    /// The sum of the pseudo-header for a message of `len` bytes: RFC 768's layout for IPv4
    /// (RFC 5798's reading), RFC 8200 §8.1's for IPv6.
    fn pseudo_header(self, len: u16) -> Sum {
        match self {
            Self::V4(src, dst) => {
                Sum::default().add(&src.octets()).add(&dst.octets()).add(&[0, PROTO_VRRP]).add(&len.to_be_bytes())
            }
            Self::V6(src, dst) => Sum::default()
                .add(&src.octets())
                .add(&dst.octets())
                .add(&u32::from(len).to_be_bytes())
                .add(&[0, 0, 0, PROTO_VRRP]),
        }
    }

    /// The addresses in `bytes`, of this family; a partial trailing address is ignored (the
    /// caller checked the length).
    fn parse_addrs(self, bytes: &[u8]) -> Vec<IpAddr> {
        match self {
            Self::V4(..) => bytes.as_chunks::<4>().0.iter().map(|&octets| IpAddr::from(octets)).collect(),
            Self::V6(..) => bytes.as_chunks::<16>().0.iter().map(|&octets| IpAddr::from(octets)).collect(),
        }
    }
}

/// The folded one's-complement sum over everything the checksum of `msg` (of `len` bytes)
/// covers, taking its checksum field as it is: the complement of this is the checksum when the
/// field is zero, and a received message verifies when this is `0xffff`.
fn covered_sum(msg: &[u8], version: Version, ends: Endpoints, v3_ipv4: V3Ipv4Checksum, len: u16) -> u16 {
    let start = match (version, ends, v3_ipv4) {
        (Version::V2, ..) | (Version::V3, Endpoints::V4(..), V3Ipv4Checksum::MessageOnly) => Sum::default(),
        (Version::V3, ..) => ends.pseudo_header(len),
    };
    start.add(msg).fold()
}

/// Which form, if any, `msg`'s checksum verifies in. v3/IPv4 tries RFC 5798's pseudo-header
/// form first, as the default that keepalived and FRR send. Under `cfg(fuzzing)` every message
/// passes (in the form it would be tried first), so that fuzzers reach the later checks.
fn verify_checksum(msg: &[u8], version: Version, ends: Endpoints, len: u16) -> Result<ChecksumForm, DropReason> {
    let verifies = |form| cfg!(fuzzing) || covered_sum(msg, version, ends, form, len) == 0xffff;
    match (version, ends) {
        (Version::V3, Endpoints::V4(..)) => {
            if verifies(V3Ipv4Checksum::PseudoHeader) {
                Ok(ChecksumForm::PseudoHeader)
            } else if verifies(V3Ipv4Checksum::MessageOnly) {
                Ok(ChecksumForm::MessageOnly)
            } else {
                Err(DropReason::Checksum)
            }
        }
        // The form argument only matters for v3 over IPv4.
        _ if verifies(V3Ipv4Checksum::default()) => Ok(ChecksumForm::Only),
        _ => Err(DropReason::Checksum),
    }
}

/// A running RFC 1071 sum of big-endian 16-bit words.
#[derive(Clone, Copy, Debug, Default)]
struct Sum(u64);

impl Sum {
    /// Adds `bytes`, padding an odd last byte with zero. That is only right for the final
    /// piece; every piece summed here has even length anyway.
    fn add(self, bytes: &[u8]) -> Self {
        let (words, rest) = bytes.as_chunks::<2>();
        // A u64 cannot overflow: that would take 2^48 words.
        let mut sum = self.0 + words.iter().map(|&w| u64::from(u16::from_be_bytes(w))).sum::<u64>();
        if let [last] = rest {
            sum += u64::from(u16::from_be_bytes([*last, 0]));
        }
        Self(sum)
    }

    /// The end-around-carry folded sum.
    fn fold(self) -> u16 {
        let mut sum = self.0;
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection::vec;
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    use bm_testkit::hex;

    /// An interval of `version` from centiseconds (v2: a multiple of 100).
    fn interval(version: Version, interval_cs: u16) -> AdvertInterval {
        match version {
            Version::V2 => AdvertInterval::V2(V2Interval::new((interval_cs / 100) as u8).unwrap()),
            Version::V3 => AdvertInterval::V3(V3Interval::new(interval_cs).unwrap()),
        }
    }

    fn advert(version: Version, vrid: u8, priority: u8, interval_cs: u16, addrs: &[&str]) -> Advert {
        let interval = interval(version, interval_cs);
        Advert { vrid, priority, interval, addrs: addrs.iter().map(|a| ip(a)).collect(), auth: None }
    }

    /// Accepts exactly `advert`.
    fn check_for(advert: &Advert) -> RxCheck<'_> {
        RxCheck {
            vrid: advert.vrid,
            check_ttl: true,
            auth: advert.auth,
            interval: advert.interval,
            vips: Some(&advert.addrs),
        }
    }

    /// `advert` from `src` to `dst` encodes (in `form` for v3/IPv4) to `wire`, and `wire`
    /// decodes back to it, verifying in `want`.
    fn assert_vector(advert: &Advert, src: &str, dst: &str, form: V3Ipv4Checksum, wire: &str, want: ChecksumForm) {
        let (src, dst, wire) = (ip(src), ip(dst), hex(wire));
        let mut out = vec![0xaa; 3];
        encode(advert, src, dst, form, &mut out).unwrap();
        assert_eq!(out, wire, "encoding");
        assert_eq!(decode(&wire, src, dst, 255, &check_for(advert)), Ok((advert.clone(), want)), "decoding");
    }

    /// Recomputes the checksum of a hand-made message (v3/IPv4: pseudo-header form).
    fn fix_checksum(msg: &mut [u8], version: Version, src: IpAddr, dst: IpAddr) {
        let ends = Endpoints::new(src, dst).unwrap();
        let len = u16::try_from(msg.len()).unwrap();
        msg[CHECKSUM].fill(0);
        let checksum = !covered_sum(msg, version, ends, V3Ipv4Checksum::PseudoHeader, len);
        msg[CHECKSUM].copy_from_slice(&checksum.to_be_bytes());
    }

    // Research §1.6, captured from keepalived 2.2.7.

    #[test]
    fn k1_v2_pass() {
        let a = Advert { auth: Some(*b"ostest_a"), ..advert(Version::V2, 51, 65, 100, &["10.99.0.100"]) };
        let wire = "21 33 41 01 01 01 db 54 0a 63 00 64 6f 73 74 65 73 74 5f 61";
        assert_vector(&a, "10.99.0.1", "224.0.0.18", V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    #[test]
    fn k2_v3_ipv4_multicast_both_forms() {
        let a = advert(Version::V3, 51, 100, 100, &["10.99.0.100"]);
        let (src, dst) = ("10.99.0.1", "224.0.0.18");
        let pseudo = "31 33 64 01 00 64 74 ad 0a 63 00 64";
        assert_vector(&a, src, dst, V3Ipv4Checksum::PseudoHeader, pseudo, ChecksumForm::PseudoHeader);
        let message_only = "31 33 64 01 00 64 5f a0 0a 63 00 64";
        assert_vector(&a, src, dst, V3Ipv4Checksum::MessageOnly, message_only, ChecksumForm::MessageOnly);
    }

    #[test]
    fn k3_v3_ipv4_unicast_pseudo_header_has_the_peer() {
        let a = advert(Version::V3, 51, 100, 100, &["10.99.0.100"]);
        let wire = "31 33 64 01 00 64 4a 5a 0a 63 00 64";
        assert_vector(&a, "10.99.0.1", "10.99.0.3", V3Ipv4Checksum::PseudoHeader, wire, ChecksumForm::PseudoHeader);
        // keepalived ≤ 1.3.6 put the multicast group in the pseudo-header even for unicast.
        let got = decode(&hex(wire), ip("10.99.0.1"), ip("224.0.0.18"), 255, &check_for(&a));
        assert_eq!(got, Err(DropReason::Checksum));
    }

    #[test]
    fn k4_v3_ipv6() {
        let a = advert(Version::V3, 52, 90, 50, &["fd00:99::100"]);
        let wire = "31 34 5a 01 00 32 54 09 fd 00 00 99 00 00 00 00 00 00 00 00 00 00 01 00";
        let (src, dst) = ("fe80::c98:f0ff:fef5:2749", "ff02::12");
        assert_vector(&a, src, dst, V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    // Research §1.6, public sources.

    #[test]
    fn keepalived_issue_1175_unicast() {
        let a = advert(Version::V3, 88, 198, 100, &["10.195.76.227"]);
        let wire = "31 58 c6 01 00 64 9c 19 0a c3 4c e3";
        assert_vector(&a, "10.1.0.3", "10.1.0.1", V3Ipv4Checksum::PseudoHeader, wire, ChecksumForm::PseudoHeader);
    }

    #[test]
    fn holo_v2() {
        // v2 has no pseudo-header, so any addresses do.
        let a = advert(Version::V2, 51, 30, 100, &["10.0.1.5"]);
        let wire = "21 33 1e 01 00 01 b5 c5 0a 00 01 05 00 00 00 00 00 00 00 00";
        assert_vector(&a, "10.0.1.1", "224.0.0.18", V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
        assert_vector(&a, "192.0.2.7", "192.0.2.8", V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    /// scapy's `VRRPv3(..., adv=1, ...)`: the interval is 1 cs, not 100.
    #[test]
    fn scapy_v3_ipv4() {
        let a = advert(Version::V3, 2, 254, 1, &["20.0.1.2", "20.0.1.3"]);
        let wire = "31 02 fe 02 00 01 b2 5e 14 00 01 02 14 00 01 03";
        assert_vector(&a, "20.0.0.3", "224.0.0.18", V3Ipv4Checksum::PseudoHeader, wire, ChecksumForm::PseudoHeader);
    }

    #[test]
    fn scapy_v3_ipv6() {
        let a = advert(Version::V3, 2, 254, 1, &["2001:db8::2", "2001:db8::3"]);
        let wire = "31 02 fe 02 00 01 48 1b \
                    20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02 \
                    20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 03";
        assert_vector(&a, "2001:db8::1", "ff02::12", V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    /// scapy's default `VRRP()` has no address, which neither side accepts; its checksum still
    /// checks the v2 sum (message and authentication data, no pseudo-header).
    #[test]
    fn scapy_v2_default_checksum() {
        let msg = hex("21 01 64 00 00 01 00 00 00 00 00 00 00 00 00 00");
        let ends = Endpoints::new(ip("127.0.0.1"), ip("127.0.0.1")).unwrap();
        assert_eq!(!covered_sum(&msg, Version::V2, ends, V3Ipv4Checksum::default(), 16), 0x7afd);
    }

    // Research §1.6, synthetic: 192.168.1.10 → 224.0.0.18, VRID 51, priority 100, 100 cs.

    const SRC: &str = "192.168.1.10";
    const GROUP: &str = "224.0.0.18";
    const PSEUDO: &str = "31 33 64 01 00 64 06 19 c0 a8 01 64";

    fn synthetic(version: Version) -> Advert {
        advert(version, 51, 100, 100, &["192.168.1.100"])
    }

    #[test]
    fn synthetic_v3_pseudo_header() {
        let a = synthetic(Version::V3);
        assert_vector(&a, SRC, GROUP, V3Ipv4Checksum::PseudoHeader, PSEUDO, ChecksumForm::PseudoHeader);
    }

    #[test]
    fn synthetic_v3_message_only() {
        let a = synthetic(Version::V3);
        let wire = "31 33 64 01 00 64 a8 5a c0 a8 01 64";
        assert_vector(&a, SRC, GROUP, V3Ipv4Checksum::MessageOnly, wire, ChecksumForm::MessageOnly);
    }

    #[test]
    fn synthetic_v3_priority_0() {
        let a = Advert { priority: 0, ..synthetic(Version::V3) };
        let wire = "31 33 00 01 00 64 6a 19 c0 a8 01 64";
        assert_vector(&a, SRC, GROUP, V3Ipv4Checksum::PseudoHeader, wire, ChecksumForm::PseudoHeader);
    }

    #[test]
    fn synthetic_v2_no_auth() {
        let a = synthetic(Version::V2);
        let wire = "21 33 64 01 00 01 b8 bd c0 a8 01 64 00 00 00 00 00 00 00 00";
        assert_vector(&a, SRC, GROUP, V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    #[test]
    fn synthetic_v2_pass() {
        let a = Advert { priority: 40, auth: Some(*b"ostest_a"), ..synthetic(Version::V2) };
        let wire = "21 33 28 01 01 01 3d 0f c0 a8 01 64 6f 73 74 65 73 74 5f 61";
        assert_vector(&a, SRC, GROUP, V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    #[test]
    fn synthetic_v3_ipv6_two_vips() {
        let a = advert(Version::V3, 51, 100, 100, &["fe80::51", "2001:db8::10"]);
        let wire = "31 33 64 02 00 64 3f 93 \
                    fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 51 \
                    20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 10";
        assert_vector(&a, "fe80::a", "ff02::12", V3Ipv4Checksum::default(), wire, ChecksumForm::Only);
    }

    // One test per drop reason, each starting from a packet that decodes.

    fn rx(bytes: &[u8], version: Version) -> Result<(Advert, ChecksumForm), DropReason> {
        let a = synthetic(version);
        decode(bytes, ip(SRC), ip(GROUP), 255, &check_for(&a))
    }

    fn v2_packet(auth: Option<[u8; 8]>) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&Advert { auth, ..synthetic(Version::V2) }, ip(SRC), ip(GROUP), V3Ipv4Checksum::default(), &mut out)
            .unwrap();
        out
    }

    #[test]
    fn drop_ttl() {
        let a = synthetic(Version::V3);
        let wire = hex(PSEUDO);
        assert_eq!(decode(&wire, ip(SRC), ip(GROUP), 254, &check_for(&a)), Err(DropReason::Ttl(254)));
        // The unicast case: keepalived does not check the TTL there.
        let lax = RxCheck { check_ttl: false, ..check_for(&a) };
        assert!(decode(&wire, ip(SRC), ip(GROUP), 1, &lax).is_ok());
        // The TTL is checked before anything else.
        assert_eq!(decode(&[], ip(SRC), ip(GROUP), 64, &check_for(&a)), Err(DropReason::Ttl(64)));
    }

    #[test]
    fn drop_short() {
        assert_eq!(rx(&[], Version::V3), Err(DropReason::Short(0)));
        assert_eq!(rx(&hex(PSEUDO)[..7], Version::V3), Err(DropReason::Short(7)));
    }

    #[test]
    fn drop_version() {
        assert_eq!(rx(&hex(PSEUDO), Version::V2), Err(DropReason::Version(3)));
        assert_eq!(rx(&v2_packet(None), Version::V3), Err(DropReason::Version(2)));
    }

    #[test]
    fn drop_type() {
        let mut wire = hex(PSEUDO);
        wire[0] = 0x32;
        assert_eq!(rx(&wire, Version::V3), Err(DropReason::Type(2)));
    }

    #[test]
    fn drop_family() {
        let a = synthetic(Version::V3);
        let got = decode(&hex(PSEUDO), ip(SRC), ip("ff02::12"), 255, &check_for(&a));
        assert_eq!(got, Err(DropReason::Family));
        // v2 over IPv6, even with a length that would fit.
        let v2 = Advert { addrs: vec![ip("2001:db8::1")], ..synthetic(Version::V2) };
        let mut wire = hex("21 33 64 01 00 01 00 00");
        wire.extend_from_slice(&[0; 24]);
        let got = decode(&wire, ip("fe80::a"), ip("ff02::12"), 255, &check_for(&v2));
        assert_eq!(got, Err(DropReason::Family));
    }

    #[test]
    fn drop_no_addresses() {
        let mut wire = hex("31 33 64 00 00 64 00 00");
        fix_checksum(&mut wire, Version::V3, ip(SRC), ip(GROUP));
        assert_eq!(rx(&wire, Version::V3), Err(DropReason::NoAddresses));
    }

    #[test]
    fn drop_length() {
        let wire = hex(PSEUDO);
        assert_eq!(rx(&wire[..11], Version::V3), Err(DropReason::Length { got: 11, want: 12 }));
        let mut long = wire.clone();
        long.push(0);
        assert_eq!(rx(&long, Version::V3), Err(DropReason::Length { got: 13, want: 12 }));
        // v2 without its authentication data.
        assert_eq!(rx(&v2_packet(None)[..12], Version::V2), Err(DropReason::Length { got: 12, want: 20 }));
        // An IPv4-sized message over IPv6.
        let v6 = advert(Version::V3, 51, 100, 100, &["fe80::51"]);
        let got = decode(&wire, ip("fe80::a"), ip("ff02::12"), 255, &check_for(&v6));
        assert_eq!(got, Err(DropReason::Length { got: 12, want: 24 }));
    }

    #[test]
    fn drop_checksum() {
        let mut wire = hex(PSEUDO);
        wire[11] ^= 1;
        assert_eq!(rx(&wire, Version::V3), Err(DropReason::Checksum));
        let mut v2 = v2_packet(Some(*b"password"));
        v2[19] ^= 1;
        assert_eq!(rx(&v2, Version::V2), Err(DropReason::Checksum));
    }

    #[test]
    fn drop_vrid() {
        let a = synthetic(Version::V3);
        let other = RxCheck { vrid: 52, ..check_for(&a) };
        assert_eq!(decode(&hex(PSEUDO), ip(SRC), ip(GROUP), 255, &other), Err(DropReason::Vrid(51)));
    }

    #[test]
    fn drop_interval_zero() {
        let mut wire = hex("31 33 64 01 00 00 00 00 c0 a8 01 64");
        fix_checksum(&mut wire, Version::V3, ip(SRC), ip(GROUP));
        assert_eq!(rx(&wire, Version::V3), Err(DropReason::IntervalZero));
        // Reserved bits do not make an interval.
        wire[4] = 0xf0;
        fix_checksum(&mut wire, Version::V3, ip(SRC), ip(GROUP));
        assert_eq!(rx(&wire, Version::V3), Err(DropReason::IntervalZero));
        // No v2 router sends 0 either: dropped as such, not as a mismatch.
        let mut v2 = v2_packet(None);
        v2[5] = 0;
        fix_checksum(&mut v2, Version::V2, ip(SRC), ip(GROUP));
        assert_eq!(rx(&v2, Version::V2), Err(DropReason::IntervalZero));
    }

    #[test]
    fn drop_auth_type() {
        assert_eq!(rx(&v2_packet(Some(*b"password")), Version::V2), Err(DropReason::AuthType(1)));
        let a = Advert { auth: Some(*b"password"), ..synthetic(Version::V2) };
        let got = decode(&v2_packet(None), ip(SRC), ip(GROUP), 255, &check_for(&a));
        assert_eq!(got, Err(DropReason::AuthType(0)));
        // Type 2 (IP AH, RFC 2338) is not supported whatever the local setting.
        let mut ah = v2_packet(None);
        ah[4] = 2;
        fix_checksum(&mut ah, Version::V2, ip(SRC), ip(GROUP));
        assert_eq!(rx(&ah, Version::V2), Err(DropReason::AuthType(2)));
        assert_eq!(decode(&ah, ip(SRC), ip(GROUP), 255, &check_for(&a)), Err(DropReason::AuthType(2)));
    }

    #[test]
    fn drop_auth_failed() {
        let a = Advert { auth: Some(*b"password"), ..synthetic(Version::V2) };
        let got = decode(&v2_packet(Some(*b"passwore")), ip(SRC), ip(GROUP), 255, &check_for(&a));
        assert_eq!(got, Err(DropReason::AuthFailed));
    }

    #[test]
    fn drop_interval() {
        let a = synthetic(Version::V2);
        let slower = RxCheck { interval: interval(Version::V2, 200), ..check_for(&a) };
        let got = decode(&v2_packet(None), ip(SRC), ip(GROUP), 255, &slower);
        let (one, two) = (interval(Version::V2, 100), interval(Version::V2, 200));
        assert_eq!(got, Err(DropReason::Interval { got: one, want: two }));
        // advert_int 60 (the interval that used to be clamped to 40.95 s on receive).
        let minute = Advert { interval: interval(Version::V2, 6000), ..a.clone() };
        let mut wire = Vec::new();
        encode(&minute, ip(SRC), ip(GROUP), V3Ipv4Checksum::default(), &mut wire).unwrap();
        assert!(decode(&wire, ip(SRC), ip(GROUP), 255, &check_for(&minute)).is_ok());
        // v3 only logs an interval mismatch (RFC 9568 §7.1).
        let v3 = synthetic(Version::V3);
        let other = RxCheck { interval: interval(Version::V3, 200), ..check_for(&v3) };
        assert!(decode(&hex(PSEUDO), ip(SRC), ip(GROUP), 255, &other).is_ok());
    }

    #[test]
    fn drop_vip_list() {
        let a = synthetic(Version::V3);
        let theirs = [ip("192.168.1.101")];
        let check = RxCheck { vips: Some(&theirs), ..check_for(&a) };
        assert_eq!(decode(&hex(PSEUDO), ip(SRC), ip(GROUP), 255, &check), Err(DropReason::VipList));
        let more = [ip("192.168.1.100"), ip("192.168.1.101")];
        let check = RxCheck { vips: Some(&more), ..check_for(&a) };
        assert_eq!(decode(&hex(PSEUDO), ip(SRC), ip(GROUP), 255, &check), Err(DropReason::VipList));
        let check = RxCheck { vips: None, ..check_for(&a) };
        assert!(decode(&hex(PSEUDO), ip(SRC), ip(GROUP), 255, &check).is_ok());
    }

    #[test]
    fn vip_list_order_does_not_matter() {
        let a = advert(Version::V3, 51, 100, 100, &["192.168.1.100", "192.168.1.101"]);
        let mut wire = Vec::new();
        encode(&a, ip(SRC), ip(GROUP), V3Ipv4Checksum::default(), &mut wire).unwrap();
        let reversed = [ip("192.168.1.101"), ip("192.168.1.100")];
        let check = RxCheck { vips: Some(&reversed), ..check_for(&a) };
        assert_eq!(decode(&wire, ip(SRC), ip(GROUP), 255, &check), Ok((a, ChecksumForm::PseudoHeader)));
    }

    #[test]
    fn reserved_bits_are_ignored() {
        let mut wire = hex(PSEUDO);
        wire[4] |= 0xf0;
        fix_checksum(&mut wire, Version::V3, ip(SRC), ip(GROUP));
        assert_eq!(rx(&wire, Version::V3), Ok((synthetic(Version::V3), ChecksumForm::PseudoHeader)));
    }

    #[test]
    fn encode_refuses_what_cannot_be_sent() {
        let enc = |a: &Advert, src: &str, dst: &str| {
            let mut out = vec![1, 2, 3];
            let got = encode(a, ip(src), ip(dst), V3Ipv4Checksum::default(), &mut out);
            assert!(got.is_ok() || out.is_empty(), "no partial message on error");
            got
        };
        let v3 = synthetic(Version::V3);
        assert_eq!(enc(&Advert { addrs: vec![], ..v3.clone() }, SRC, GROUP), Err(EncodeError::NoAddresses));
        assert_eq!(enc(&v3, SRC, "ff02::12"), Err(EncodeError::Family));
        assert_eq!(enc(&v3, "fe80::a", "ff02::12"), Err(EncodeError::Family));
        let mixed = advert(Version::V3, 51, 100, 100, &["192.168.1.100", "2001:db8::1"]);
        assert_eq!(enc(&mixed, SRC, GROUP), Err(EncodeError::Family));
        let v2_ipv6 = advert(Version::V2, 51, 100, 100, &["2001:db8::1"]);
        assert_eq!(enc(&v2_ipv6, "fe80::a", "ff02::12"), Err(EncodeError::Family));
        let many = Advert { addrs: (0..=255u8).map(|i| IpAddr::from([10, 0, 0, i])).collect(), ..v3.clone() };
        assert_eq!(enc(&many, SRC, GROUP), Err(EncodeError::TooManyAddresses(256)));
        assert_eq!(message_len_of(&many), Err(EncodeError::TooManyAddresses(256)));
        let most = Advert { addrs: many.addrs[..255].to_vec(), ..v3.clone() };
        assert_eq!(enc(&most, SRC, GROUP), Ok(()));
        assert_eq!(message_len_of(&most), Ok(8 + 255 * 4));
        // The longest intervals of both versions go out as they are.
        assert_eq!(enc(&Advert { interval: interval(Version::V3, 4095), ..v3 }, SRC, GROUP), Ok(()));
        let v2 = synthetic(Version::V2);
        assert_eq!(enc(&Advert { interval: interval(Version::V2, 25_500), ..v2 }, SRC, GROUP), Ok(()));
    }

    #[test]
    fn v3_ignores_auth_when_encoding() {
        let a = Advert { auth: Some(*b"password"), ..synthetic(Version::V3) };
        let mut out = Vec::new();
        encode(&a, ip(SRC), ip(GROUP), V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
        assert_eq!(out, hex(PSEUDO));
    }

    /// Any interval of `version`.
    fn arb_interval(version: Version) -> BoxedStrategy<AdvertInterval> {
        match version {
            Version::V2 => (1..=255u8).prop_map(|s| AdvertInterval::V2(V2Interval::new(s).unwrap())).boxed(),
            Version::V3 => (1..=4095u16).prop_map(|c| AdvertInterval::V3(V3Interval::new(c).unwrap())).boxed(),
        }
    }

    /// An advert with a source and destination it can be sent with, and a v3/IPv4 form.
    fn arb_sendable() -> impl Strategy<Value = (Advert, IpAddr, IpAddr, V3Ipv4Checksum)> {
        (any::<bool>(), any::<bool>()).prop_flat_map(|(v2, ipv6)| {
            let addr = if ipv6 && !v2 {
                any::<Ipv6Addr>().prop_map(IpAddr::V6).boxed()
            } else {
                any::<Ipv4Addr>().prop_map(IpAddr::V4).boxed()
            };
            let (interval, auth) = if v2 {
                (arb_interval(Version::V2), any::<Option<[u8; 8]>>().boxed())
            } else {
                (arb_interval(Version::V3), Just(None).boxed())
            };
            let form = prop_oneof![Just(V3Ipv4Checksum::PseudoHeader), Just(V3Ipv4Checksum::MessageOnly)];
            (any::<u8>(), any::<u8>(), interval, vec(addr.clone(), 1..=20), auth, addr.clone(), addr, form).prop_map(
                move |(vrid, priority, interval, addrs, auth, src, dst, form)| {
                    (Advert { vrid, priority, interval, addrs, auth }, src, dst, form)
                },
            )
        })
    }

    /// Bytes that get past the header, family, count and length checks, with a checksum
    /// that verifies (in the pseudo-header form for v3/IPv4), so the later checks see junk.
    fn arb_plausible() -> impl Strategy<Value = (Vec<u8>, Version, IpAddr, IpAddr)> {
        let auth_type = prop_oneof![Just(AUTH_NONE), Just(AUTH_PASS), any::<u8>()];
        (any::<bool>(), any::<bool>(), 1..=8u8, any::<[u8; 3]>(), auth_type, vec(any::<u8>(), 8 * 16 + 8))
            .prop_flat_map(|(v2, ipv6, count, header, auth_type, body)| {
                let version = if v2 { Version::V2 } else { Version::V3 };
                let addr = if ipv6 && !v2 {
                    any::<Ipv6Addr>().prop_map(IpAddr::V6).boxed()
                } else {
                    any::<Ipv4Addr>().prop_map(IpAddr::V4).boxed()
                };
                (addr.clone(), addr).prop_map(move |(src, dst)| {
                    let ends = Endpoints::new(src, dst).unwrap();
                    let len = usize::from(message_len(version, ends, count));
                    let field4 = if v2 { auth_type } else { header[2] };
                    let mut msg = vec![version.first_byte(), header[0], header[1], count, field4, body[0], 0, 0];
                    msg.extend_from_slice(&body[1..=len - HEADER_LEN]);
                    fix_checksum(&mut msg, version, src, dst);
                    (msg, version, src, dst)
                })
            })
    }

    /// What a receiver expecting exactly `msg`'s contents checks, each part unless its `fits`
    /// flag is off (then from `other`).
    fn check_fitting<'a>(
        msg: &[u8],
        version: Version,
        ends: Endpoints,
        fits: [bool; 4],
        other: &RxCheck<'a>,
        vips: &'a mut Vec<IpAddr>,
    ) -> RxCheck<'a> {
        let [vrid, auth, interval, addrs] = fits;
        let auth_data = msg.last_chunk::<AUTH_LEN>().copied();
        let addr_end = match version {
            Version::V2 => msg.len() - AUTH_LEN,
            Version::V3 => msg.len(),
        };
        *vips = ends.parse_addrs(&msg[HEADER_LEN..addr_end]);
        vips.reverse();
        RxCheck {
            vrid: if vrid { msg[1] } else { other.vrid },
            check_ttl: true,
            auth: if auth && msg[4] == AUTH_PASS {
                auth_data
            } else if auth {
                None
            } else {
                other.auth
            },
            // No configuration has an interval of 0, so no receiver expects one.
            interval: match (version, V2Interval::new(msg[5])) {
                (Version::V2, Ok(got)) if interval => AdvertInterval::V2(got),
                _ => other.interval,
            },
            vips: if addrs { Some(vips) } else { other.vips },
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn decode_inverts_encode((a, src, dst, form) in arb_sendable()) {
            let mut wire = Vec::new();
            encode(&a, src, dst, form, &mut wire).unwrap();
            let want = match (a.version(), src) {
                (Version::V3, IpAddr::V4(_)) => {
                    // A pseudo-header summing to zero makes both forms the same bytes, and
                    // the receiver tries the pseudo-header form first.
                    let mut pseudo = Vec::new();
                    encode(&a, src, dst, V3Ipv4Checksum::PseudoHeader, &mut pseudo).unwrap();
                    if pseudo == wire || form == V3Ipv4Checksum::PseudoHeader {
                        ChecksumForm::PseudoHeader
                    } else {
                        ChecksumForm::MessageOnly
                    }
                }
                _ => ChecksumForm::Only,
            };
            prop_assert_eq!(decode(&wire, src, dst, 255, &check_for(&a)), Ok((a, want)));
        }

        #[test]
        fn decode_never_panics(
            bytes in vec(any::<u8>(), 0..200),
            first in prop_oneof![any::<u8>(), Just(0x21u8), Just(0x31u8)],
            ttl: u8,
            src: IpAddr,
            dst: IpAddr,
            interval in prop_oneof![arb_interval(Version::V2), arb_interval(Version::V3)],
            check_ttl: bool,
            auth: Option<[u8; 8]>,
            vips: Option<Vec<IpAddr>>,
        ) {
            let mut bytes = bytes;
            if let Some(b) = bytes.first_mut() {
                *b = first;
            }
            let check = RxCheck { interval, vrid: 51, check_ttl, auth, vips: vips.as_deref() };
            let _ = decode(&bytes, src, dst, ttl, &check);
        }

        #[test]
        fn decode_survives_plausible_junk(
            (msg, version, src, dst) in arb_plausible(),
            fits in prop::array::uniform4(prop::bool::weighted(0.8)),
            vrid: u8,
            auth: Option<[u8; 8]>,
            (v2_interval, v3_interval) in (arb_interval(Version::V2), arb_interval(Version::V3)),
            other_vips: Option<Vec<IpAddr>>,
        ) {
            let interval = if version == Version::V2 { v2_interval } else { v3_interval };
            let other = RxCheck { interval, vrid, check_ttl: true, auth, vips: other_vips.as_deref() };
            let ends = Endpoints::new(src, dst).unwrap();
            let mut vips = Vec::new();
            let check = check_fitting(&msg, version, ends, fits, &other, &mut vips);
            let got = decode(&msg, src, dst, 255, &check);
            prop_assert!(!matches!(
                got,
                Err(DropReason::Ttl(_) | DropReason::Short(_) | DropReason::Version(_) | DropReason::Type(_)
                    | DropReason::Family | DropReason::NoAddresses | DropReason::Length { .. } | DropReason::Checksum)
            ), "{:?}", got);
            // Whatever is accepted re-encodes to the message, but for what a receiver ignores:
            // v3's reserved bits and v2's authentication data under type 0.
            if let Ok((a, form)) = got {
                let mut canonical = msg;
                match version {
                    Version::V3 => canonical[4] &= 0x0f,
                    Version::V2 if canonical[4] == AUTH_NONE => {
                        let n = canonical.len();
                        canonical[n - AUTH_LEN..].fill(0);
                    }
                    Version::V2 => {}
                }
                fix_checksum(&mut canonical, version, src, dst);
                let form = match form {
                    ChecksumForm::MessageOnly => V3Ipv4Checksum::MessageOnly,
                    ChecksumForm::PseudoHeader | ChecksumForm::Only => V3Ipv4Checksum::PseudoHeader,
                };
                let mut again = Vec::new();
                encode(&a, src, dst, form, &mut again).unwrap();
                prop_assert_eq!(again, canonical);
            }
        }
    }
}
