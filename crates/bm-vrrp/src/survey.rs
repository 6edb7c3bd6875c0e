//! The VRRP routers heard on a segment: [`Survey`] and what it records.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bm_addr::MacAddr;
use serde::{Deserialize, Serialize};

use crate::interval::{AdvertInterval, V2Interval, V3Interval};
use crate::packet::{DropReason, RxCheck, Version, decode};
use crate::{GROUP_V4, GROUP_V6};

/// The most distinct (family, VRID, source, version) records a survey keeps; adverts from
/// further senders are counted in [`Survey::overflow`]. 255 VRIDs × 2 families × a few
/// senders each, with room.
pub const MAX_HEARD: usize = 4096;

/// An address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 (VRRP v2 or v3).
    Ipv4,
    /// IPv6 (VRRP v3).
    Ipv6,
}

impl Family {
    /// The family of `addr`.
    pub const fn of(addr: IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// One virtual router's adverts from one sender, as heard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heard {
    /// The virtual router id.
    pub vrid: u8,
    /// The family of the adverts (and of their VIPs).
    pub family: Family,
    /// The protocol version.
    pub version: Version,
    /// The sender's address.
    pub source: IpAddr,
    /// The sender's MAC, when the capture had Ethernet headers (the virtual MAC
    /// `00:00:5e:00:01:VRID` when the sender uses one, as keepalived's `use_vmac` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_mac: Option<MacAddr>,
    /// Where the last advert went: the VRRP group, or an address of this host.
    pub destination: IpAddr,
    /// Whether it went to a unicast address (keepalived's `unicast_peer`), not the group.
    pub unicast: bool,
    /// The last advert's priority (0: the master is resigning).
    pub priority: u8,
    /// The last advert's VIPs.
    pub vips: Vec<IpAddr>,
    /// The last advert's interval.
    pub interval: AdvertInterval,
    /// v2 only: whether the adverts carry a password (authentication type 1).
    pub password: bool,
    /// The last advert's TTL / hop limit (255 on the sender's own link).
    pub ttl: u8,
    /// How many adverts were heard.
    pub adverts: u64,
    /// When the first and the last were heard (the caller's clock; milliseconds in JSON).
    #[serde(rename = "first_heard_ms", with = "millis")]
    pub first_heard: Duration,
    /// See `first_heard`.
    #[serde(rename = "last_heard_ms", with = "millis")]
    pub last_heard: Duration,
}

/// A sender of VRRP messages that could not be read (see [`Survey::unreadable`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unreadable {
    /// The VRID the messages name.
    pub vrid: u8,
    /// The family they came over.
    pub family: Family,
    /// The version nibble they carry.
    pub version: Version,
    /// The sender.
    pub source: IpAddr,
    /// Why the first was not read.
    pub reason: DropReason,
    /// How many came.
    pub messages: u64,
    /// When the last came.
    #[serde(rename = "last_heard_ms", with = "millis")]
    pub last_heard: Duration,
}

/// Why a frame handed to [`Survey::handle_frame`] was not read as an advert.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The Ethernet or IP header is cut short or inconsistent, at this byte offset.
    #[error("{what} at byte {offset}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
        /// Where, counted from the frame's first byte.
        offset: usize,
    },
    /// An IPv4 fragment: VRRP messages are never fragmented.
    #[error("an IPv4 fragment")]
    Fragment,
    /// A VRRP message that fails the wire-format checks.
    #[error("VRRP message dropped: {0}")]
    Vrrp(#[from] DropReason),
}

/// A cluster's VRID or VIP heard on the segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Collision {
    /// Another router uses one of the cluster's VRIDs in a family the cluster uses.
    Vrid {
        /// The VRID.
        vrid: u8,
        /// Who uses it.
        heard: Heard,
    },
    /// Messages naming one of the cluster's VRIDs, in a family the cluster uses, that could not
    /// be read (another authentication type, a vendor's format): a router uses that VRID.
    UnreadableVrid {
        /// The VRID.
        vrid: u8,
        /// Who sent them.
        unreadable: Unreadable,
    },
    /// Another router advertises one of the cluster's VIPs.
    Vip {
        /// The VIP.
        vip: IpAddr,
        /// Who advertises it.
        heard: Heard,
    },
}

/// What a segment's VRRP traffic showed: the VRRP adverts already on a segment, listened to
/// before an install.
///
/// A [`Survey`] takes what a capture saw, as Ethernet frames ([`Survey::handle_frame`]) or as
/// IP payloads with their addresses and TTL ([`Survey::handle_packet`], what a raw protocol 112
/// socket gives), and keeps one [`Heard`] record per virtual router and sender: VRID, family,
/// version, source, destination (the VRRP group, or this host for a unicast advert), priority,
/// VIPs, interval and how often it was heard. Nothing is filtered by the local configuration:
/// any version, any VRID, any interval, any TTL (unicast adverts may come from routers away),
/// v2 with or without a password. Every message still passes the wire-format checks of
/// [`decode`](crate::decode) (length, checksum, address count); one that fails is counted, not
/// recorded.
///
/// [`Survey::collisions`] then compares what was heard with a cluster's own VRIDs and VIPs.
/// VRIDs are per address family (RFC 5798 §7.3: the virtual MACs `00-00-5E-00-01-{VRID}` and
/// `00-00-5E-00-02-{VRID}` differ), but not per version: a v2 and a v3 router with one VRID on
/// one segment share the virtual MAC and drop each other's adverts. A VIP heard in anyone's
/// advert is a collision whatever its VRID.
///
/// The survey is bounded: at most [`MAX_HEARD`] records of each kind, whatever a segment
/// sends (a preflight listens for seconds, so decoding each advert's VIP list anew is fine).
///
/// ```
/// use std::time::Duration;
/// use bm_vrrp::{Advert, AdvertInterval, GROUP_V4, Survey, V3Interval, encode};
///
/// // A v3 advert for VRID 147 from 192.0.2.7, as a capture would hand it over.
/// let advert = Advert {
///     vrid: 147,
///     priority: 100,
///     interval: AdvertInterval::V3(V3Interval::new(100).unwrap()),
///     addrs: vec!["192.0.2.5".parse().unwrap()],
///     auth: None,
/// };
/// let src = "192.0.2.7".parse().unwrap();
/// let mut message = Vec::new();
/// encode(&advert, src, GROUP_V4, Default::default(), &mut message).unwrap();
///
/// let mut survey = Survey::new();
/// survey.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &message).unwrap();
/// let heard = survey.heard().next().unwrap();
/// assert_eq!((heard.vrid, heard.priority, heard.unicast), (147, 100, false));
///
/// // cnf10's API VRID is 147: a collision, and a different VIP does not make it one less.
/// let ours = bm_vrrp::OpenShiftVrids::for_cluster("cnf10").unwrap();
/// let collisions = survey.collisions(&ours.both(), &["192.0.2.10".parse().unwrap()]);
/// assert_eq!(collisions.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survey {
    heard: Vec<Heard>,
    #[serde(default)]
    unreadable: Vec<Unreadable>,
    rejected: u64,
    overflow: u64,
}

impl Survey {
    /// An empty survey.
    pub fn new() -> Survey {
        Survey::default()
    }

    /// Takes one VRRP message (the IP payload) from `src` to `dst`, received with TTL / hop
    /// limit `ttl` at `now`. A message failing the wire-format checks is counted in
    /// [`rejected`](Self::rejected) and its reason returned.
    pub fn handle_packet(
        &mut self,
        now: Duration,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
    ) -> Result<(), DropReason> {
        self.record(now, src, dst, ttl, payload, None)
    }

    /// Takes one captured Ethernet frame (an 802.1Q tag is skipped). `Ok(false)`: not VRRP
    /// (another EtherType or IP protocol), ignored. `Err`: a VRRP frame that could not be read,
    /// counted in [`rejected`](Self::rejected).
    pub fn handle_frame(&mut self, now: Duration, frame: &[u8]) -> Result<bool, FrameError> {
        let Some(ip) = vrrp_in_frame(frame).inspect_err(|_| self.rejected += 1)? else {
            return Ok(false);
        };
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&frame[6..12]);
        self.record(now, ip.src, ip.dst, ip.ttl, ip.payload, Some(MacAddr(mac)))?;
        Ok(true)
    }

    fn record(
        &mut self,
        now: Duration,
        src: IpAddr,
        dst: IpAddr,
        ttl: u8,
        payload: &[u8],
        mac: Option<MacAddr>,
    ) -> Result<(), DropReason> {
        let (advert, password) = match decode_any(payload, src, dst, ttl) {
            Ok(decoded) => decoded,
            Err(reason) => {
                self.rejected += 1;
                self.note_unreadable(now, src, payload, &reason);
                return Err(reason);
            }
        };
        let family = Family::of(src);
        let version = advert.version();
        let unicast = dst != GROUP_V4 && dst != GROUP_V6;
        let found = self
            .heard
            .iter()
            .position(|h| h.vrid == advert.vrid && h.family == family && h.source == src && h.version == version);
        let index = match found {
            Some(i) => i,
            None if self.heard.len() >= MAX_HEARD => {
                self.overflow += 1;
                return Ok(());
            }
            None => {
                self.heard.push(Heard {
                    vrid: advert.vrid,
                    family,
                    version,
                    source: src,
                    source_mac: None,
                    destination: dst,
                    unicast,
                    priority: advert.priority,
                    vips: Vec::new(),
                    interval: advert.interval,
                    password,
                    ttl,
                    adverts: 0,
                    first_heard: now,
                    last_heard: now,
                });
                self.heard.len() - 1
            }
        };
        let h = &mut self.heard[index];
        h.adverts += 1;
        h.last_heard = now;
        h.destination = dst;
        h.unicast = unicast;
        h.priority = advert.priority;
        h.interval = advert.interval;
        h.password = password;
        h.ttl = ttl;
        if mac.is_some() {
            h.source_mac = mac;
        }
        if h.vips != advert.addrs {
            h.vips = advert.addrs;
        }
        Ok(())
    }

    /// Keeps a message that failed the checks but names a version and a VRID: a router of
    /// another kind (v2 with another authentication type, a vendor's checksum or length) still
    /// uses that VRID on the segment.
    fn note_unreadable(&mut self, now: Duration, src: IpAddr, payload: &[u8], reason: &DropReason) {
        let [first, vrid, ..] = *payload else { return };
        let version = match first >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            _ => return,
        };
        if vrid == 0 {
            return;
        }
        let family = Family::of(src);
        if let Some(u) = self.unreadable.iter_mut().find(|u| u.vrid == vrid && u.family == family && u.source == src) {
            u.messages += 1;
            u.last_heard = now;
            return;
        }
        if self.unreadable.len() < MAX_HEARD {
            self.unreadable.push(Unreadable {
                vrid,
                family,
                version,
                source: src,
                reason: reason.clone(),
                messages: 1,
                last_heard: now,
            });
        }
    }

    /// Every (virtual router, sender) heard, in the order first heard.
    pub fn heard(&self) -> impl Iterator<Item = &Heard> {
        self.heard.iter()
    }

    /// Senders of VRRP messages that did not pass the wire-format checks but name a version
    /// and a VRID (at most [`MAX_HEARD`]).
    pub fn unreadable(&self) -> impl Iterator<Item = &Unreadable> {
        self.unreadable.iter()
    }

    /// How many messages failed the wire-format checks.
    pub const fn rejected(&self) -> u64 {
        self.rejected
    }

    /// How many adverts came from senders beyond the first [`MAX_HEARD`].
    pub const fn overflow(&self) -> u64 {
        self.overflow
    }

    /// The cluster's `vrids` and `vips` heard from others: a VRID collides in the families of
    /// `vips` (in both when `vips` is empty), a VIP whatever the VRID it is advertised with.
    pub fn collisions(&self, vrids: &[u8], vips: &[IpAddr]) -> Vec<Collision> {
        let uses = |family: Family| vips.is_empty() || vips.iter().any(|v| Family::of(*v) == family);
        let mut out = Vec::new();
        for h in &self.heard {
            if vrids.contains(&h.vrid) && uses(h.family) {
                out.push(Collision::Vrid { vrid: h.vrid, heard: h.clone() });
            }
            for vip in vips.iter().filter(|v| h.vips.contains(v)) {
                out.push(Collision::Vip { vip: *vip, heard: h.clone() });
            }
        }
        for u in &self.unreadable {
            if vrids.contains(&u.vrid) && uses(u.family) {
                out.push(Collision::UnreadableVrid { vrid: u.vrid, unreadable: u.clone() });
            }
        }
        out
    }

    /// Whether `vrid` was heard in `family` (readable or not).
    pub fn is_taken(&self, vrid: u8, family: Family) -> bool {
        self.heard.iter().any(|h| h.vrid == vrid && h.family == family)
            || self.unreadable.iter().any(|u| u.vrid == vrid && u.family == family)
    }

    /// The VRIDs (1 to 255) nobody was heard using in `family`.
    pub fn free_vrids(&self, family: Family) -> impl Iterator<Item = u8> + '_ {
        (1..=255).filter(move |v| !self.is_taken(*v, family))
    }
}

/// Decodes a message with no local expectations: its own version, VRID, interval and (v2)
/// password are taken as the expected ones, so only the wire-format checks remain. Returns
/// the advert and whether it carried a password.
fn decode_any(payload: &[u8], src: IpAddr, dst: IpAddr, ttl: u8) -> Result<(crate::Advert, bool), DropReason> {
    let [first, vrid, _, _, auth_type, field5, ..] = *payload else {
        return Err(DropReason::Short(payload.len()));
    };
    let interval = match first >> 4 {
        2 => AdvertInterval::V2(V2Interval::new(field5).map_err(|_| DropReason::IntervalZero)?),
        3 => {
            let cs = u16::from_be_bytes([auth_type & 0x0f, field5]);
            AdvertInterval::V3(V3Interval::new(cs).map_err(|_| DropReason::IntervalZero)?)
        }
        other => return Err(DropReason::Version(other)),
    };
    // v2 type 1 (PASS): the password is the last 8 bytes; decode checks the length first.
    let password = (first >> 4 == 2 && auth_type == 1).then(|| payload.last_chunk::<8>().copied()).flatten();
    let check = RxCheck { interval, vrid, check_ttl: false, auth: password, vips: None };
    let (advert, _) = decode(payload, src, dst, ttl, &check)?;
    Ok((advert, password.is_some()))
}

/// The IP layer of a frame carrying VRRP.
struct IpVrrp<'a> {
    src: IpAddr,
    dst: IpAddr,
    ttl: u8,
    payload: &'a [u8],
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const IPPROTO_VRRP: u8 = 112;

/// The VRRP message in an Ethernet frame, `Ok(None)` when the frame carries something else.
fn vrrp_in_frame(frame: &[u8]) -> Result<Option<IpVrrp<'_>>, FrameError> {
    let malformed = |what, offset| FrameError::Malformed { what, offset };
    let ethertype_at = |at: usize| {
        frame
            .get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or(malformed("Ethernet header cut short", at))
    };
    let mut at = 12;
    let mut ethertype = ethertype_at(at)?;
    if ethertype == ETHERTYPE_VLAN {
        at += 4;
        ethertype = ethertype_at(at)?;
    }
    let ip_start = at + 2;
    let ip = &frame[ip_start..];
    match ethertype {
        ETHERTYPE_IPV4 => {
            let Some(header) = ip.first_chunk::<20>() else {
                return Err(malformed("IPv4 header cut short", ip_start));
            };
            if header[9] != IPPROTO_VRRP {
                return Ok(None);
            }
            if header[0] >> 4 != 4 {
                return Err(malformed("IPv4 version", ip_start));
            }
            let ihl = usize::from(header[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([header[2], header[3]]));
            if ihl < 20 || total < ihl || total > ip.len() {
                return Err(malformed("IPv4 header or total length", ip_start));
            }
            // More fragments, or a fragment offset: never a whole VRRP message.
            if u16::from_be_bytes([header[6], header[7]]) & 0x3fff != 0 {
                return Err(FrameError::Fragment);
            }
            let src = Ipv4Addr::from([header[12], header[13], header[14], header[15]]);
            let dst = Ipv4Addr::from([header[16], header[17], header[18], header[19]]);
            Ok(Some(IpVrrp { src: src.into(), dst: dst.into(), ttl: header[8], payload: &ip[ihl..total] }))
        }
        ETHERTYPE_IPV6 => {
            let Some(header) = ip.first_chunk::<40>() else {
                return Err(malformed("IPv6 header cut short", ip_start));
            };
            // VRRP adverts carry no extension headers; anything else is not ours.
            if header[6] != IPPROTO_VRRP {
                return Ok(None);
            }
            if header[0] >> 4 != 6 {
                return Err(malformed("IPv6 version", ip_start));
            }
            let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
            let Some(payload) = ip.get(40..40 + len) else {
                return Err(malformed("IPv6 payload length", ip_start + 4));
            };
            let addr = |at: usize| {
                let mut b = [0u8; 16];
                b.copy_from_slice(&header[at..at + 16]);
                IpAddr::V6(Ipv6Addr::from(b))
            };
            Ok(Some(IpVrrp { src: addr(8), dst: addr(24), ttl: header[7], payload }))
        }
        _ => Ok(None),
    }
}

/// A time as whole milliseconds.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Advert, V3Ipv4Checksum, encode};

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn advert(vrid: u8, interval: AdvertInterval, vips: &[&str], auth: Option<[u8; 8]>) -> Advert {
        Advert { vrid, priority: 100, interval, addrs: vips.iter().map(|v| ip(v)).collect(), auth }
    }

    fn v3(cs: u16) -> AdvertInterval {
        AdvertInterval::V3(V3Interval::new(cs).unwrap())
    }

    fn message(a: &Advert, src: IpAddr, dst: IpAddr) -> Vec<u8> {
        let mut out = Vec::new();
        encode(a, src, dst, V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
        out
    }

    /// An Ethernet frame (optionally 802.1Q-tagged) around an IP packet carrying `payload`.
    fn frame(src: IpAddr, dst: IpAddr, ttl: u8, proto: u8, payload: &[u8], vlan: bool) -> Vec<u8> {
        let mut f = vec![0x01, 0x00, 0x5e, 0x00, 0x00, 0x12, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x07];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
        }
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend_from_slice(&[0x08, 0x00, 0x45, 0xc0]);
                f.extend_from_slice(&(20 + payload.len() as u16).to_be_bytes());
                f.extend_from_slice(&[0, 0, 0, 0, ttl, proto, 0, 0]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
                f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                f.extend_from_slice(&[proto, ttl]);
                f.extend_from_slice(&s.octets());
                f.extend_from_slice(&d.octets());
            }
            _ => unreachable!(),
        }
        f.extend_from_slice(payload);
        // Ethernet padding after the IP packet must not be read as part of it.
        f.extend_from_slice(&[0; 6]);
        f
    }

    #[test]
    fn hears_every_version_family_and_mode() {
        let mut s = Survey::new();
        let v2 = advert(147, AdvertInterval::V2(V2Interval::new(1).unwrap()), &["192.0.2.5"], Some(*b"secret\0\0"));
        let src4 = ip("192.0.2.7");
        s.handle_packet(Duration::from_secs(1), src4, GROUP_V4, 255, &message(&v2, src4, GROUP_V4)).unwrap();
        let v3_4 = advert(2, v3(100), &["192.0.2.6"], None);
        let f = frame(src4, GROUP_V4, 255, 112, &message(&v3_4, src4, GROUP_V4), true);
        assert_eq!(s.handle_frame(Duration::from_secs(2), &f), Ok(true));
        let src6 = ip("fe80::7");
        let v3_6 = advert(147, v3(50), &["2001:db8::5"], None);
        let f = frame(src6, GROUP_V6, 255, 112, &message(&v3_6, src6, GROUP_V6), false);
        assert_eq!(s.handle_frame(Duration::from_secs(3), &f), Ok(true));
        // A unicast advert towards this host, from a router two hops away.
        let peer = ip("198.51.100.9");
        let here = ip("192.0.2.20");
        let uni = advert(9, v3(100), &["192.0.2.9"], None);
        s.handle_packet(Duration::from_secs(4), peer, here, 253, &message(&uni, peer, here)).unwrap();
        // The same router again: one record, counted twice, the latest values kept.
        let again = Advert { priority: 0, ..uni.clone() };
        s.handle_packet(Duration::from_secs(5), peer, here, 253, &message(&again, peer, here)).unwrap();

        let heard: Vec<_> = s.heard().collect();
        assert_eq!(heard.len(), 4);
        let h = heard[0];
        assert_eq!((h.vrid, h.family, h.version, h.password, h.unicast), (147, Family::Ipv4, Version::V2, true, false));
        assert_eq!(h.source_mac, None);
        let h = heard[1];
        assert_eq!((h.vrid, h.version, h.interval), (2, Version::V3, v3(100)));
        assert_eq!(h.source_mac.unwrap().to_string(), "00:00:5e:00:01:07");
        let h = heard[2];
        assert_eq!((h.vrid, h.family, h.vips.clone()), (147, Family::Ipv6, vec![ip("2001:db8::5")]));
        let h = heard[3];
        assert_eq!((h.unicast, h.ttl, h.adverts, h.priority), (true, 253, 2, 0));
        assert_eq!((h.first_heard, h.last_heard), (Duration::from_secs(4), Duration::from_secs(5)));
        let json = serde_json::to_value(h).unwrap();
        assert_eq!((json["first_heard_ms"].as_u64(), json["last_heard_ms"].as_u64()), (Some(4000), Some(5000)));
        assert_eq!(s.rejected(), 0);

        // JSON round trip (the preflight report carries these).
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Survey>(&json).unwrap(), s);
    }

    #[test]
    fn ignores_other_traffic_and_counts_broken_vrrp() {
        let mut s = Survey::new();
        let src = ip("192.0.2.7");
        let a = advert(1, v3(100), &["192.0.2.5"], None);
        let good = message(&a, src, GROUP_V4);
        // Another IP protocol, another EtherType: not VRRP.
        assert_eq!(s.handle_frame(Duration::ZERO, &frame(src, GROUP_V4, 255, 17, &good, false)), Ok(false));
        let mut arp = frame(src, GROUP_V4, 255, 112, &good, false);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(s.handle_frame(Duration::ZERO, &arp), Ok(false));
        // A bad checksum, a cut frame, a fragment: rejected, counted, not recorded.
        let mut bad = good.clone();
        bad[6] ^= 0xff;
        assert!(matches!(
            s.handle_frame(Duration::ZERO, &frame(src, GROUP_V4, 255, 112, &bad, false)),
            Err(FrameError::Vrrp(DropReason::Checksum))
        ));
        let f = frame(src, GROUP_V4, 255, 112, &good, false);
        assert!(matches!(s.handle_frame(Duration::ZERO, &f[..30]), Err(FrameError::Malformed { offset: 14, .. })));
        let mut frag = f.clone();
        frag[14 + 6] = 0x20; // more fragments
        assert_eq!(s.handle_frame(Duration::ZERO, &frag), Err(FrameError::Fragment));
        assert_eq!(s.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &good[..5]), Err(DropReason::Short(5)));
        assert_eq!(s.heard().count(), 0);
        assert_eq!(s.rejected(), 4);
        // The bad checksum named VRID 1 (v3): kept as unreadable, and it takes the VRID.
        let u: Vec<_> = s.unreadable().collect();
        assert_eq!((u.len(), u[0].vrid, u[0].version, u[0].reason.clone()), (1, 1, Version::V3, DropReason::Checksum));
        assert!(s.is_taken(1, Family::Ipv4));
        let c = s.collisions(&[1], &[]);
        assert!(matches!(&c[..], [Collision::UnreadableVrid { vrid: 1, .. }]), "{c:?}");
        // v2 with authentication type 2 (IPsec AH, Cisco's MD5 in practice): unreadable, kept.
        let mut ah =
            message(&advert(147, AdvertInterval::V2(V2Interval::new(1).unwrap()), &["192.0.2.5"], None), src, GROUP_V4);
        ah[4] = 2;
        assert!(s.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &ah).is_err());
        assert!(s.is_taken(147, Family::Ipv4));
    }

    #[test]
    fn collisions_free_vrids_and_the_bound() {
        let mut s = Survey::new();
        let src = ip("192.0.2.7");
        let other = advert(147, v3(100), &["192.0.2.50"], None);
        s.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &message(&other, src, GROUP_V4)).unwrap();
        let holds_vip = advert(77, v3(100), &["192.0.2.5"], None);
        s.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &message(&holds_vip, src, GROUP_V4)).unwrap();

        let ours = crate::OpenShiftVrids::for_cluster("cnf10").unwrap();
        let c = s.collisions(&ours.both(), &[ip("192.0.2.5")]);
        assert!(
            matches!(&c[..], [Collision::Vrid { vrid: 147, .. }, Collision::Vip { vip, heard }] if *vip == ip("192.0.2.5") && heard.vrid == 77)
        );
        // An IPv6-only cluster does not collide with IPv4 VRID 147; no VIPs given: any family.
        assert!(s.collisions(&ours.both(), &[ip("2001:db8::5")]).is_empty());
        assert_eq!(s.collisions(&ours.both(), &[]).len(), 1);
        assert!(s.is_taken(147, Family::Ipv4) && !s.is_taken(147, Family::Ipv6));
        let free: Vec<u8> = s.free_vrids(Family::Ipv4).collect();
        assert_eq!(free.len(), 253);
        assert!(!free.contains(&147) && !free.contains(&77));

        // Senders beyond MAX_HEARD are counted, not kept.
        let mut s = Survey::new();
        for i in 0..(MAX_HEARD as u32 + 10) {
            let src = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
            let a = advert(1, v3(100), &["192.0.2.5"], None);
            s.handle_packet(Duration::ZERO, src, GROUP_V4, 255, &message(&a, src, GROUP_V4)).unwrap();
        }
        assert_eq!((s.heard().count(), s.overflow()), (MAX_HEARD, 10));
    }

    proptest! {
        #[test]
        fn any_frame_is_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut s = Survey::new();
            let _ = s.handle_frame(Duration::ZERO, &bytes);
            prop_assert!(s.heard().count() <= 1);
        }

        #[test]
        fn any_encoded_advert_is_heard(vrid in 1u8.., priority: u8, cs in 1u16..4096, last in 1u8..255) {
            let src = ip("192.0.2.1");
            let a = Advert { vrid, priority, interval: v3(cs), addrs: vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))], auth: None };
            let mut s = Survey::new();
            prop_assert_eq!(s.handle_frame(Duration::ZERO, &frame(src, GROUP_V4, 255, 112, &message(&a, src, GROUP_V4), false)), Ok(true));
            let h = s.heard().next().unwrap();
            prop_assert_eq!((h.vrid, h.priority, h.interval, h.vips.clone()), (vrid, priority, v3(cs), a.addrs.clone()));
        }
    }
}
