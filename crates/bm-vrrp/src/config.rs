//! One virtual router's configuration, and the one place it is validated
//! ([`Config::validate`], which [`Instance::new`](crate::Instance::new) calls): whatever passes
//! produces adverts that encode, and that a peer with the same configuration accepts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::interval::{AdvertInterval, IntervalError};
use crate::packet::{self, Advert, EncodeError, MAX_ADDRESSES, V3Ipv4Checksum, Version};
use crate::peer::UnicastPeer;
use crate::track::CheckConfig;

/// IPv4 VRRP multicast group.
pub const GROUP_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(224, 0, 0, 18));
/// IPv6 VRRP multicast group.
pub const GROUP_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12));

/// The most adverts `down_timer_adverts` may count, as keepalived 2.2.7 reads it
/// ("Invalid down_timer_adverts \[1:100\]").
pub const MAX_DOWN_TIMER_ADVERTS: u32 = 100;

/// The most gratuitous ARPs / unsolicited NAs of one burst (`garp_repeat`,
/// `garp_lower_prio_repeat`). keepalived has no limit but spaces them out on its timer thread;
/// bmnet's daemon sends a burst at once, so a huge count would stall its loop.
pub const MAX_GARP_REPEAT: u32 = 100;

/// One virtual router's configuration. In JSON, durations are seconds (fractions allowed, as
/// keepalived's `advert_int`), and every field but `vrid`, `priority`, `vips` and `primary`
/// has keepalived's default (or bmnet's, where it says so).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Virtual router id, 1..=255.
    pub vrid: u8,
    /// Protocol version (default: 2 for IPv4, 3 for IPv6, as keepalived).
    #[serde(default)]
    pub version: Option<Version>,
    /// Base priority: 255 for the address owner, 1..=254 otherwise.
    pub priority: u8,
    /// Advertisement interval: v2 whole seconds from 1 to 255, v3 a multiple of 10 ms from
    /// 10 ms to 40.95 s ([`AdvertInterval`]); anything else is refused, never rounded.
    #[serde(default = "one_second", with = "seconds")]
    pub advert_interval: Duration,
    /// The virtual addresses (one family, at most 255), as added to the interface.
    pub vips: Vec<IpAddr>,
    /// This router's primary address on the link: the adverts' source and the tiebreak.
    pub primary: IpAddr,
    /// Unicast peers; empty for multicast.
    #[serde(default)]
    pub unicast_peers: Vec<UnicastPeer>,
    /// With unicast peers, drop adverts from any other source, and from a peer outside its TTL
    /// range (keepalived's `check_unicast_src`). On by default in bmnet, off in keepalived,
    /// where one forged advert from anywhere moves the VIP; turn it off for a peer that sends
    /// from an address the list does not name. A peer with a TTL range turns it on, as in
    /// keepalived.
    #[serde(default = "yes")]
    pub check_unicast_src: bool,
    /// Preempt a lower-priority master (keepalived's `nopreempt` is false).
    #[serde(default = "yes")]
    pub preempt: bool,
    /// keepalived's `preempt_delay`: after startup, lower-priority masters are accepted this long.
    #[serde(default, with = "seconds")]
    pub preempt_delay: Duration,
    /// v2 PASS authentication (8 bytes, zero-padded).
    #[serde(default)]
    pub auth: Option<[u8; 8]>,
    /// Drop adverts whose address list differs from ours (keepalived does).
    #[serde(default = "yes")]
    pub check_vips: bool,
    /// Adverts missed before a backup takes over (keepalived's `down_timer_adverts`, RFC: 3;
    /// 1 to 100, as keepalived takes it). Also how many advert rounds in a row with every send
    /// failed make a master give up (FAULT): by then its backups have stopped hearing it and
    /// taken over.
    #[serde(default = "three")]
    pub down_timer_adverts: u32,
    /// Gratuitous ARPs / unsolicited NAs per burst (keepalived's `garp_master_repeat`): 1 (as
    /// keepalived, which raises 0 to 1) to [`MAX_GARP_REPEAT`] (bmnet sends a burst at once).
    #[serde(default = "five")]
    pub garp_repeat: u32,
    /// Delay of the second burst after becoming master (`garp_master_delay`; 0: none).
    #[serde(default = "five_seconds", with = "seconds")]
    pub garp_delay: Duration,
    /// Periodic refresh while master (`garp_master_refresh`; OpenShift uses 60 s; 0: none):
    /// whole seconds, as keepalived takes it.
    #[serde(default, with = "seconds")]
    pub garp_refresh: Duration,
    /// Gratuitous ARPs / unsolicited NAs sent when, as master, we hear a lower-priority advert
    /// (keepalived's `garp_lower_prio_repeat`; `None`: `garp_repeat`, keepalived's default; 0:
    /// none; at most [`MAX_GARP_REPEAT`]). Another master existed, so clients may have learned its MAC for the VIPs: after
    /// two backups time out together, the loser's announcement can arrive last and keep
    /// clients on a router that no longer holds the VIP until the next burst.
    #[serde(default)]
    pub garp_lower_prio_repeat: Option<u32>,
    /// Delay of a second such burst (`garp_lower_prio_delay`; `None`: `garp_delay`; 0: none).
    #[serde(default, with = "optional_seconds")]
    pub garp_lower_prio_delay: Option<Duration>,
    /// Send one advert when yielding to a higher-priority master (keepalived's
    /// `higher_prio_send_advert`), so that it hears a lower priority and announces the VIPs
    /// again. On by default in bmnet, off in keepalived: without it, after a split brain heals
    /// clients can stay on the yielding router's MAC until the next periodic refresh (60 s in
    /// OpenShift's configuration, never by keepalived's default; keepalived#166).
    #[serde(default = "yes")]
    pub higher_prio_send_advert: bool,
    /// Tracked checks.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}
fn five_seconds() -> Duration {
    Duration::from_secs(5)
}
fn yes() -> bool {
    true
}
fn three() -> u32 {
    3
}
fn five() -> u32 {
    5
}

/// Durations as (fractional) seconds on the wire.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        // f64 seconds are not exact: 0.07 s must mean 70 ms, not 69.999 ms, so round to the
        // microsecond (keepalived's resolution too).
        let micros = (secs * 1e6).round();
        if !(0.0..=1e15).contains(&micros) {
            return Err(serde::de::Error::custom(format!("{secs} is not a duration in seconds")));
        }
        Ok(Duration::from_micros(micros as u64))
    }
}

/// Optional durations as (fractional) seconds on the wire.
mod optional_seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(serde::Deserialize)]
        struct Wrapped(#[serde(with = "super::seconds")] Duration);
        Option::<Wrapped>::deserialize(d).map(|w| w.map(|Wrapped(d)| d))
    }
}

/// Why a configuration is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0.
    #[error("virtual_router_id must be 1 to 255")]
    Vrid,
    /// Priority 0 is only ever sent, never configured.
    #[error("priority must be 1 to 255")]
    Priority,
    /// A primary address that cannot be a source: unspecified, multicast or broadcast.
    #[error("primary address {0}: adverts need a unicast source address")]
    Primary(IpAddr),
    /// No VIP, or VIPs of another family than the primary address.
    #[error("VIPs must be of the primary address's family, and at least one")]
    Vips,
    /// More VIPs than one advert carries.
    #[error("{0} VIPs: one advert carries at most 255")]
    TooManyVips(usize),
    /// A version that cannot carry this configuration.
    #[error("{0}")]
    Version(VersionMismatch),
    /// An interval the version cannot carry.
    #[error("advert_interval {interval:?}: {error}")]
    Interval {
        /// As configured.
        interval: Duration,
        /// Why not.
        error: IntervalError,
    },
    /// A unicast peer of the other family, our own primary address, or no unicast address.
    #[error("unicast peer {0}: a peer must be another unicast address of the primary address's family")]
    Peer(IpAddr),
    /// A unicast peer whose TTL range is empty.
    #[error("unicast peer {peer}: min_ttl {min} is above max_ttl {max}")]
    PeerTtl {
        /// The peer.
        peer: IpAddr,
        /// Its `min_ttl`.
        min: u8,
        /// Its `max_ttl`.
        max: u8,
    },
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as the primary address, a VIP or a peer:
    /// adverts carry IPv4 addresses as IPv4, so it must be written as one.
    #[error("{0}: an IPv4-mapped address; write it as the IPv4 address {ipv4}", ipv4 = .0.to_canonical())]
    Mapped(IpAddr),
    /// `down_timer_adverts` outside 1..=100.
    #[error("down_timer_adverts {0}: 1 to {MAX_DOWN_TIMER_ADVERTS}, as keepalived takes it")]
    DownTimerAdverts(u32),
    /// A GARP / NA burst of 0 (`garp_repeat`) or more than [`MAX_GARP_REPEAT`].
    #[error("{field} {value}: {min} to {MAX_GARP_REPEAT}")]
    GarpRepeat {
        /// `garp_repeat` or `garp_lower_prio_repeat`.
        field: &'static str,
        /// As configured.
        value: u32,
        /// The least allowed (1, or 0 for `garp_lower_prio_repeat`: none).
        min: u32,
    },
    /// A `garp_refresh` that is not whole seconds, or longer than keepalived's `unsigned`.
    #[error("garp_refresh {0:?}: whole seconds up to 4294967295, as keepalived takes it")]
    GarpRefresh(Duration),
    /// A check with a weight outside -253..=253 (keepalived's range: a priority moves within
    /// 1..=254).
    #[error("check {check}: weight {weight} must be -253 to 253")]
    Weight {
        /// The check (a script's name, or `interface:NAME`).
        check: String,
        /// Its weight as configured.
        weight: i32,
    },
    /// A reload that would make this another virtual router.
    #[error("a reload cannot change the virtual router id or the address family")]
    Identity,
    /// An advert of this configuration does not encode. [`Config::validate`] refuses every
    /// such configuration through the checks above, so this is a guard that no later check
    /// can forget one.
    #[error("its adverts cannot be encoded: {0}")]
    Advert(EncodeError),
}

/// The 8 bytes of VRRPv2 simple password authentication ([`Config::auth`]) for `pass`, as
/// keepalived takes its `auth_pass`: the first 8 bytes, zero-padded (the rest is dropped).
pub fn pass_key(pass: &str) -> [u8; 8] {
    let mut key = [0u8; 8];
    for (d, s) in key.iter_mut().zip(pass.bytes()) {
        *d = s;
    }
    key
}

/// Why the configured (or default) version cannot carry a configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum VersionMismatch {
    /// VRRPv2 (RFC 3768) over IPv6: version 2 carries IPv4 addresses only.
    #[error("VRRPv2 is IPv4 only")]
    V2OverIpv6,
}

/// Whether `a` is an IPv4-mapped IPv6 address.
fn is_mapped(a: IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

impl Config {
    /// keepalived's defaults for one instance (with bmnet's `check_unicast_src` and
    /// `higher_prio_send_advert`).
    pub fn new(vrid: u8, priority: u8, primary: IpAddr, vips: Vec<IpAddr>) -> Config {
        Config {
            vrid,
            version: None,
            priority,
            advert_interval: Duration::from_secs(1),
            vips,
            primary,
            unicast_peers: Vec::new(),
            check_unicast_src: true,
            preempt: true,
            preempt_delay: Duration::ZERO,
            auth: None,
            check_vips: true,
            down_timer_adverts: 3,
            garp_repeat: 5,
            garp_delay: Duration::from_secs(5),
            garp_refresh: Duration::ZERO,
            garp_lower_prio_repeat: None,
            garp_lower_prio_delay: None,
            higher_prio_send_advert: true,
            checks: Vec::new(),
        }
    }

    /// The version in effect: as configured, else 2 for IPv4 and 3 for IPv6 (keepalived).
    pub fn version(&self) -> Version {
        self.version.unwrap_or(if self.primary.is_ipv6() { Version::V3 } else { Version::V2 })
    }

    /// The multicast group of the primary address's family.
    pub fn group(&self) -> IpAddr {
        if self.primary.is_ipv4() { GROUP_V4 } else { GROUP_V6 }
    }

    /// Where adverts go: the group, or every unicast peer.
    pub fn destinations(&self) -> Vec<IpAddr> {
        if self.unicast_peers.is_empty() {
            vec![self.group()]
        } else {
            self.unicast_peers.iter().map(|p| p.addr).collect()
        }
    }

    /// Whether the source of unicast adverts is checked: asked for, or implied by a peer's
    /// TTL range (as keepalived: "Specifying min_ttl or max_ttl turns on check_unicast_src").
    pub fn checks_unicast_src(&self) -> bool {
        self.check_unicast_src || self.unicast_peers.iter().any(UnicastPeer::has_ttl_range)
    }

    /// Checks everything at once and returns the interval the configuration runs with. Every
    /// configuration this accepts sends adverts that encode, to every destination, and that a
    /// peer configured alike accepts (a property test says so).
    pub fn validate(&self) -> Result<AdvertInterval, ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::Vrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::Priority);
        }
        let addrs = std::iter::once(self.primary).chain(self.vips.iter().copied());
        if let Some(mapped) = addrs.chain(self.unicast_peers.iter().map(|p| p.addr)).find(|&a| is_mapped(a)) {
            return Err(ConfigError::Mapped(mapped));
        }
        let broadcast = self.primary == IpAddr::V4(Ipv4Addr::BROADCAST);
        if self.primary.is_unspecified() || self.primary.is_multicast() || broadcast {
            return Err(ConfigError::Primary(self.primary));
        }
        if self.vips.is_empty() || self.vips.iter().any(|v| v.is_ipv4() != self.primary.is_ipv4()) {
            return Err(ConfigError::Vips);
        }
        if self.vips.len() > MAX_ADDRESSES {
            return Err(ConfigError::TooManyVips(self.vips.len()));
        }
        let version = self.version();
        if version == Version::V2 && self.primary.is_ipv6() {
            return Err(ConfigError::Version(VersionMismatch::V2OverIpv6));
        }
        let interval = AdvertInterval::from_duration(version, self.advert_interval)
            .map_err(|error| ConfigError::Interval { interval: self.advert_interval, error })?;
        for p in &self.unicast_peers {
            let unusable =
                p.addr.is_multicast() || p.addr.is_unspecified() || p.addr == IpAddr::V4(Ipv4Addr::BROADCAST);
            if p.addr.is_ipv4() != self.primary.is_ipv4() || p.addr == self.primary || unusable {
                return Err(ConfigError::Peer(p.addr));
            }
            if p.min_ttl > p.max_ttl {
                return Err(ConfigError::PeerTtl { peer: p.addr, min: p.min_ttl, max: p.max_ttl });
            }
        }
        if let Some(c) = self.checks.iter().find(|c| !(-253..=253).contains(&c.weight)) {
            return Err(ConfigError::Weight { check: c.name.clone(), weight: c.weight });
        }
        if !(1..=MAX_DOWN_TIMER_ADVERTS).contains(&self.down_timer_adverts) {
            return Err(ConfigError::DownTimerAdverts(self.down_timer_adverts));
        }
        if !(1..=MAX_GARP_REPEAT).contains(&self.garp_repeat) {
            return Err(ConfigError::GarpRepeat { field: "garp_repeat", value: self.garp_repeat, min: 1 });
        }
        if let Some(value) = self.garp_lower_prio_repeat.filter(|&n| n > MAX_GARP_REPEAT) {
            return Err(ConfigError::GarpRepeat { field: "garp_lower_prio_repeat", value, min: 0 });
        }
        if self.garp_refresh.subsec_nanos() != 0 || self.garp_refresh.as_secs() > u64::from(u32::MAX) {
            return Err(ConfigError::GarpRefresh(self.garp_refresh));
        }
        let advert = Advert { vrid: self.vrid, priority: 0, interval, addrs: self.vips.clone(), auth: self.auth };
        let mut buf = Vec::new();
        for to in self.destinations() {
            packet::encode(&advert, self.primary, to, V3Ipv4Checksum::PseudoHeader, &mut buf)
                .map_err(ConfigError::Advert)?;
        }
        Ok(interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4() -> Config {
        Config::new(1, 100, "10.0.0.1".parse().unwrap(), vec!["10.0.0.5".parse().unwrap()])
    }

    /// Each refusal says what is wrong in fields a caller can match on; the sentences are the
    /// ones keepalived.conf diagnostics show.
    #[test]
    fn refusals_are_typed() {
        let mut c = Config::new(1, 100, "fe80::1".parse().unwrap(), vec!["fd00::5".parse().unwrap()]);
        c.version = Some(Version::V2);
        let e = c.validate().unwrap_err();
        assert_eq!(e, ConfigError::Version(VersionMismatch::V2OverIpv6));
        assert_eq!(e.to_string(), "VRRPv2 is IPv4 only");
        let mut c = v4();
        c.checks.push(CheckConfig { name: "chk".into(), weight: 254, rise: 1, fall: 1, reverse: false });
        let e = c.validate().unwrap_err();
        assert_eq!(e, ConfigError::Weight { check: "chk".into(), weight: 254 });
        assert_eq!(e.to_string(), "check chk: weight 254 must be -253 to 253");
        c.checks[0].weight = -253;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn pass_keys_are_eight_bytes() {
        assert_eq!(pass_key("ostest_api_vip"), *b"ostest_a");
        assert_eq!(pass_key("abc"), *b"abc\0\0\0\0\0");
    }
}
