//! The advertisement interval, one type per protocol version, validated once and then used for
//! sending (the wire field), receiving (v2's equality check) and the timers.
//!
//! Before this type the interval was a [`Duration`] read three ways: sending allowed v2 up to
//! 255 s while the receive check clamped to 4,095 cs, so two routers with `advert_int 60`
//! dropped each other's adverts and both became master. A value of this type always fits its
//! version's wire field, so an advert built from it always passes its own receive check.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::packet::Version;

/// A VRRPv2 interval (RFC 3768 §5.3.7): whole seconds, 1 to 255 (the 8-bit field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct V2Interval(u8);

/// A VRRPv3 interval (RFC 5798 §5.2.7, RFC 9568 erratum 8301): centiseconds, 1 to 4,095 (the
/// 12-bit field), so 10 ms to 40.95 s in steps of 10 ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct V3Interval(u16);

/// The interval of one version: what a [`Config`](crate::Config)'s `advert_interval` becomes
/// when [`Instance::new`](crate::Instance::new) accepts it, and what an advert carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvertInterval {
    /// VRRPv2: whole seconds.
    V2(V2Interval),
    /// VRRPv3: centiseconds.
    V3(V3Interval),
}

/// Why a duration is no interval of a version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IntervalError {
    /// Zero: an advertisement interval of 0 would send in a busy loop, and RFC 9568 erratum
    /// 8301 makes a received 0 a discard.
    #[error("an advertisement interval of 0 is not allowed")]
    Zero,
    /// Longer than the version's field can carry.
    #[error("the advertisement interval is at most {max:?} for this version")]
    TooLong {
        /// The longest interval of the version.
        max: Duration,
    },
    /// Not a whole number of the version's unit (v2: seconds; v3: 10 ms).
    #[error("a VRRP{version} advertisement interval is a whole number of {unit}")]
    NotAMultiple {
        /// "v2" or "v3".
        version: &'static str,
        /// "seconds" or "10 ms".
        unit: &'static str,
    },
}

const CENTISECOND: Duration = Duration::from_millis(10);

impl V2Interval {
    /// The longest: 255 s.
    pub const MAX: V2Interval = V2Interval(u8::MAX);

    /// `seconds`, if it is 1 to 255.
    pub const fn new(seconds: u8) -> Result<V2Interval, IntervalError> {
        if seconds == 0 { Err(IntervalError::Zero) } else { Ok(V2Interval(seconds)) }
    }

    /// The seconds, as the wire field carries them.
    pub const fn seconds(self) -> u8 {
        self.0
    }

    /// As a duration.
    pub const fn duration(self) -> Duration {
        Duration::from_secs(self.0 as u64)
    }
}

impl V3Interval {
    /// The longest: 4,095 cs (40.95 s).
    pub const MAX: V3Interval = V3Interval(0x0fff);

    /// `centiseconds`, if it is 1 to 4,095.
    pub const fn new(centiseconds: u16) -> Result<V3Interval, IntervalError> {
        match centiseconds {
            0 => Err(IntervalError::Zero),
            1..=0x0fff => Ok(V3Interval(centiseconds)),
            _ => Err(IntervalError::TooLong { max: Duration::from_millis(40_950) }),
        }
    }

    /// The centiseconds, as the 12-bit wire field carries them.
    pub const fn centiseconds(self) -> u16 {
        self.0
    }

    /// As a duration.
    pub const fn duration(self) -> Duration {
        Duration::from_millis(self.0 as u64 * 10)
    }
}

impl AdvertInterval {
    /// keepalived's default, one second, in `version`.
    pub const fn one_second(version: Version) -> AdvertInterval {
        match version {
            Version::V2 => AdvertInterval::V2(V2Interval(1)),
            Version::V3 => AdvertInterval::V3(V3Interval(100)),
        }
    }

    /// `duration` as an interval of `version`, if it is exactly one: v2 whole seconds from 1
    /// to 255, v3 multiples of 10 ms from 10 ms to 40.95 s. Nothing is rounded here: the
    /// keepalived.conf reader rounds and clamps as keepalived does, with a warning, before.
    pub fn from_duration(version: Version, duration: Duration) -> Result<AdvertInterval, IntervalError> {
        if duration.is_zero() {
            return Err(IntervalError::Zero);
        }
        match version {
            Version::V2 => {
                if duration.subsec_nanos() != 0 {
                    return Err(IntervalError::NotAMultiple { version: "v2", unit: "seconds" });
                }
                let seconds = u8::try_from(duration.as_secs())
                    .map_err(|_| IntervalError::TooLong { max: V2Interval::MAX.duration() })?;
                V2Interval::new(seconds).map(AdvertInterval::V2)
            }
            Version::V3 => {
                if !duration.as_nanos().is_multiple_of(CENTISECOND.as_nanos()) {
                    return Err(IntervalError::NotAMultiple { version: "v3", unit: "10 ms" });
                }
                let centiseconds = u16::try_from(duration.as_nanos() / CENTISECOND.as_nanos())
                    .map_err(|_| IntervalError::TooLong { max: V3Interval::MAX.duration() })?;
                V3Interval::new(centiseconds).map(AdvertInterval::V3)
            }
        }
    }

    /// The version it belongs to.
    pub const fn version(self) -> Version {
        match self {
            AdvertInterval::V2(_) => Version::V2,
            AdvertInterval::V3(_) => Version::V3,
        }
    }

    /// As a duration, for the timers.
    pub const fn duration(self) -> Duration {
        match self {
            AdvertInterval::V2(i) => i.duration(),
            AdvertInterval::V3(i) => i.duration(),
        }
    }

    /// In centiseconds (v2: seconds × 100), for logs and JSON.
    pub const fn centiseconds(self) -> u32 {
        match self {
            AdvertInterval::V2(i) => i.0 as u32 * 100,
            AdvertInterval::V3(i) => i.0 as u32,
        }
    }
}

impl fmt::Display for AdvertInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdvertInterval::V2(i) => write!(f, "{} s", i.0),
            AdvertInterval::V3(i) => write!(f, "{} cs", i.0),
        }
    }
}

impl TryFrom<u8> for V2Interval {
    type Error = IntervalError;
    fn try_from(seconds: u8) -> Result<Self, Self::Error> {
        V2Interval::new(seconds)
    }
}

impl From<V2Interval> for u8 {
    fn from(i: V2Interval) -> u8 {
        i.0
    }
}

impl TryFrom<u16> for V3Interval {
    type Error = IntervalError;
    fn try_from(centiseconds: u16) -> Result<Self, Self::Error> {
        V3Interval::new(centiseconds)
    }
}

impl From<V3Interval> for u16 {
    fn from(i: V3Interval) -> u16 {
        i.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn v2_is_whole_seconds_up_to_255() {
        let v2 = |d| AdvertInterval::from_duration(Version::V2, d);
        assert_eq!(v2(ms(60_000)).map(AdvertInterval::duration), Ok(ms(60_000)), "advert_int 60");
        assert_eq!(v2(ms(255_000)).map(AdvertInterval::centiseconds), Ok(25_500));
        assert_eq!(v2(ms(256_000)), Err(IntervalError::TooLong { max: ms(255_000) }));
        assert_eq!(v2(Duration::ZERO), Err(IntervalError::Zero));
        assert!(matches!(v2(ms(1500)), Err(IntervalError::NotAMultiple { .. })));
        assert_eq!(V2Interval::new(0), Err(IntervalError::Zero));
    }

    #[test]
    fn v3_is_centiseconds_up_to_4095() {
        let v3 = |d| AdvertInterval::from_duration(Version::V3, d);
        assert_eq!(v3(ms(10)).map(AdvertInterval::centiseconds), Ok(1));
        assert_eq!(v3(ms(40_950)).map(AdvertInterval::duration), Ok(ms(40_950)));
        assert!(matches!(v3(ms(40_960)), Err(IntervalError::TooLong { .. })));
        assert!(matches!(v3(ms(15)), Err(IntervalError::NotAMultiple { .. })));
        assert_eq!(v3(Duration::from_nanos(1)), Err(IntervalError::NotAMultiple { version: "v3", unit: "10 ms" }));
        assert_eq!(v3(Duration::ZERO), Err(IntervalError::Zero));
        assert_eq!(V3Interval::new(4096), Err(IntervalError::TooLong { max: ms(40_950) }));
    }

    #[test]
    fn serde_refuses_what_the_field_cannot_carry() {
        assert_eq!(serde_json::from_str::<V3Interval>("4095").unwrap(), V3Interval::MAX);
        assert!(serde_json::from_str::<V3Interval>("4096").is_err());
        assert!(serde_json::from_str::<V2Interval>("0").is_err());
        let i = AdvertInterval::V2(V2Interval(60));
        assert_eq!(serde_json::to_string(&i).unwrap(), r#"{"v2":60}"#);
    }
}
