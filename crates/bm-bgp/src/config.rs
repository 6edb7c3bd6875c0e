//! A session's configuration, validated once by [`Session::new`](crate::Session::new).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::message::{Community, Family, LargeCommunity};

/// The default hold time (RFC 4271 §10): 90 s.
pub const DEFAULT_HOLD_TIME: u16 = 90;
/// The default ConnectRetryTime (RFC 4271 §10): 120 s.
pub const DEFAULT_CONNECT_RETRY: Duration = Duration::from_secs(120);
/// The default first automatic restart delay after an error: 5 s, doubling on each failure up
/// to the ConnectRetryTime.
pub const DEFAULT_IDLE_HOLD: Duration = Duration::from_secs(5);
/// The default LOCAL_PREF sent to iBGP peers.
pub const DEFAULT_LOCAL_PREF: u32 = 100;
/// At most this many bytes of communities (4 each) and large communities (12 each), so that
/// every UPDATE holds at least 100 prefixes.
pub const MAX_COMMUNITY_BYTES: usize = 2048;

/// One peer's session: who we are, who they are, the timers and what our routes carry.
///
/// Its JSON (serde) gives durations in (fractional) seconds, as bm-vrrp's does, and refuses
/// unknown fields; everything but `local_asn`, `peer_asn` and `router_id` has the default of
/// [`Config::new`].
///
/// ```
/// use bm_bgp::{Config, Family};
///
/// let mut config = Config::new(64512, 64513, "192.0.2.1".parse().unwrap());
/// config.next_hop_v4 = Some("192.0.2.1".parse().unwrap());
/// assert_eq!((config.hold_time, config.families.len()), (90, 2));
/// assert!(config.validate().is_ok());
/// config.hold_time = 2;
/// assert!(config.validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Our AS.
    pub local_asn: u32,
    /// The peer's AS: equal to ours for iBGP.
    pub peer_asn: u32,
    /// Our BGP identifier (router ID): non-zero.
    pub router_id: Ipv4Addr,
    /// The hold time we propose, in seconds: 0 (no keepalives) or at least 3. The session
    /// uses the smaller of ours and the peer's, and sends KEEPALIVEs each third of it.
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    /// ConnectRetryTime.
    #[serde(default = "default_connect_retry", with = "seconds")]
    pub connect_retry: Duration,
    /// The first automatic restart delay after the session fails (doubling up to
    /// `connect_retry`, back to this once Established).
    #[serde(default = "default_idle_hold", with = "seconds")]
    pub idle_hold: Duration,
    /// The families we offer (IPv4 and IPv6 unicast are the ones supported).
    #[serde(default = "default_families")]
    pub families: Vec<Family>,
    /// NEXT_HOP for IPv4 routes (our address towards the peer): required to announce IPv4.
    #[serde(default)]
    pub next_hop_v4: Option<Ipv4Addr>,
    /// The global IPv6 next hop: required to announce IPv6.
    #[serde(default)]
    pub next_hop_v6: Option<Ipv6Addr>,
    /// The link-local IPv6 next hop, sent with the global one (RFC 2545) on a shared link.
    #[serde(default)]
    pub link_local_v6: Option<Ipv6Addr>,
    /// LOCAL_PREF on iBGP (never sent on eBGP).
    #[serde(default = "default_local_pref")]
    pub local_pref: u32,
    /// COMMUNITIES on every route.
    #[serde(default)]
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY on every route.
    #[serde(default)]
    pub large_communities: Vec<LargeCommunity>,
    /// Offer the route refresh capability (and answer ROUTE-REFRESH).
    #[serde(default = "default_true")]
    pub route_refresh: bool,
    /// Passive: never connect, wait in Active for the peer's connection (which the backend
    /// accepts and reports with [`Session::tcp_connected`](crate::Session::tcp_connected)).
    #[serde(default)]
    pub passive: bool,
    /// Offer graceful restart (RFC 4724) with this restart time (0..=4095 s), as a speaker
    /// that keeps no forwarding state; off by default.
    #[serde(default)]
    pub graceful_restart: Option<u16>,
}

fn default_hold_time() -> u16 {
    DEFAULT_HOLD_TIME
}
fn default_connect_retry() -> Duration {
    DEFAULT_CONNECT_RETRY
}
fn default_idle_hold() -> Duration {
    DEFAULT_IDLE_HOLD
}
fn default_families() -> Vec<Family> {
    vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]
}
fn default_local_pref() -> u32 {
    DEFAULT_LOCAL_PREF
}
fn default_true() -> bool {
    true
}

/// Durations as (fractional) seconds in JSON, read to the microsecond.
pub(crate) mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        // f64 seconds are not exact: 0.1 s must mean 100 ms, not 99.999 ms.
        let micros = (secs * 1e6).round();
        if !(0.0..=1e15).contains(&micros) {
            return Err(serde::de::Error::custom(format!("{secs} is not a duration in seconds")));
        }
        Ok(Duration::from_micros(micros as u64))
    }
}

impl Config {
    /// A configuration with the defaults: hold time 90 s, ConnectRetry 120 s, IPv4 and IPv6
    /// unicast, route refresh, no graceful restart, no next hops (set them to announce).
    pub fn new(local_asn: u32, peer_asn: u32, router_id: Ipv4Addr) -> Config {
        Config {
            local_asn,
            peer_asn,
            router_id,
            hold_time: DEFAULT_HOLD_TIME,
            connect_retry: DEFAULT_CONNECT_RETRY,
            idle_hold: DEFAULT_IDLE_HOLD,
            families: default_families(),
            next_hop_v4: None,
            next_hop_v6: None,
            link_local_v6: None,
            local_pref: DEFAULT_LOCAL_PREF,
            communities: Vec::new(),
            large_communities: Vec::new(),
            route_refresh: true,
            passive: false,
            graceful_restart: None,
        }
    }

    /// Whether the peer is in our AS.
    pub fn is_ibgp(&self) -> bool {
        self.local_asn == self.peer_asn
    }

    /// Checks the configuration.
    ///
    /// # Errors
    ///
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.local_asn == 0 || self.peer_asn == 0 {
            return Err(ConfigError::ZeroAsn);
        }
        if self.router_id.is_unspecified() {
            return Err(ConfigError::ZeroRouterId);
        }
        if self.hold_time == 1 || self.hold_time == 2 {
            return Err(ConfigError::HoldTime(self.hold_time));
        }
        if self.connect_retry.is_zero() || self.idle_hold.is_zero() {
            return Err(ConfigError::ZeroTimer);
        }
        if self.families.is_empty() {
            return Err(ConfigError::NoFamily);
        }
        if let Some(f) = self.families.iter().find(|f| **f != Family::IPV4_UNICAST && **f != Family::IPV6_UNICAST) {
            return Err(ConfigError::UnsupportedFamily(*f));
        }
        if self.communities.len() * 4 + self.large_communities.len() * 12 > MAX_COMMUNITY_BYTES {
            return Err(ConfigError::TooManyCommunities);
        }
        if let Some(t) = self.graceful_restart.filter(|t| *t > 0x0fff) {
            return Err(ConfigError::RestartTime(t));
        }
        Ok(())
    }
}

/// A configuration [`Config::validate`] refuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// AS 0 is reserved (RFC 7607).
    #[error("AS 0 is reserved: set local_asn and peer_asn")]
    ZeroAsn,
    /// The router ID is 0.0.0.0.
    #[error("router_id 0.0.0.0: set a non-zero BGP identifier (usually an IPv4 address of the node)")]
    ZeroRouterId,
    /// Hold time 1 or 2.
    #[error("hold_time {0}: use 0 or at least 3 seconds")]
    HoldTime(u16),
    /// ConnectRetry or idle hold of zero.
    #[error("connect_retry and idle_hold must be longer than zero")]
    ZeroTimer,
    /// No family.
    #[error("no family: offer IPv4 unicast, IPv6 unicast or both")]
    NoFamily,
    /// A family other than IPv4/IPv6 unicast.
    #[error("family {0} is not supported: only ipv4-unicast and ipv6-unicast")]
    UnsupportedFamily(Family),
    /// Too many communities.
    #[error("more than 2048 bytes of communities (4 each) and large communities (12 each)")]
    TooManyCommunities,
    /// Graceful restart time over 4095.
    #[error("graceful restart time {0}: at most 4095 seconds")]
    RestartTime(u16),
}
