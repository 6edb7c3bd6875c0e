//! A BFD session's timers: what we send at, what we accept, how many misses are a failure.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The slowest interval a session may ask for: the wire field is 32 bits of microseconds.
pub const MAX_INTERVAL: Duration = Duration::from_micros(u32::MAX as u64);

/// While not Up, a session sends at most once a second (RFC 5880 §6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// One BFD session's timers, FRR's `transmit-interval`, `receive-interval` and
/// `detect-multiplier`. In JSON the intervals are (fractional) seconds (`0.1` for 100 ms).
///
/// ```
/// use std::time::Duration;
/// use bm_bgp::bfd::BfdConfig;
///
/// let c = BfdConfig::new(Duration::from_millis(100), Duration::from_millis(100), 3);
/// assert_eq!(c.validate(), Ok(()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BfdConfig {
    /// The desired minimum transmit interval once Up (1 s at least before).
    #[serde(with = "crate::config::seconds")]
    pub min_tx: Duration,
    /// The required minimum receive interval: the peer sends no faster.
    #[serde(with = "crate::config::seconds")]
    pub min_rx: Duration,
    /// The detection multiplier: the peer is down after this many intervals without a packet.
    pub multiplier: u8,
}

impl Default for BfdConfig {
    /// FRR's defaults: 300 ms both ways, × 3.
    fn default() -> BfdConfig {
        BfdConfig::new(Duration::from_millis(300), Duration::from_millis(300), 3)
    }
}

impl BfdConfig {
    /// These timers.
    pub fn new(min_tx: Duration, min_rx: Duration, multiplier: u8) -> BfdConfig {
        BfdConfig { min_tx, min_rx, multiplier }
    }

    /// Checks the timers.
    ///
    /// # Errors
    ///
    /// The first [`BfdConfigError`] found.
    pub fn validate(&self) -> Result<(), BfdConfigError> {
        if self.multiplier == 0 {
            return Err(BfdConfigError::ZeroMultiplier);
        }
        let bad = |d: Duration| d < Duration::from_millis(1) || d > MAX_INTERVAL;
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if bad(self.min_tx) {
            return Err(BfdConfigError::MinTx(us(self.min_tx)));
        }
        if bad(self.min_rx) {
            return Err(BfdConfigError::MinRx(us(self.min_rx)));
        }
        Ok(())
    }
}

/// Timers [`BfdConfig::validate`] refuses.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum BfdConfigError {
    /// A multiplier of 0.
    #[error("BFD multiplier 0: use 1 to 255 (3 is usual)")]
    ZeroMultiplier,
    /// A local discriminator of 0 (RFC 5880 §6.8.1: it must be non-zero).
    #[error("BFD local discriminator 0: it must be non-zero")]
    ZeroDiscriminator,
    /// A `min_tx` (in µs) under 1 ms or over the wire's 32-bit microseconds.
    #[error("BFD min_tx of {0} µs: use 1 ms to 4294 s")]
    MinTx(u64),
    /// A `min_rx` (in µs) under 1 ms or over the wire's 32-bit microseconds.
    #[error("BFD min_rx of {0} µs: use 1 ms to 4294 s")]
    MinRx(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ms = Duration::from_millis;
        assert_eq!(BfdConfig::new(ms(100), ms(100), 0).validate(), Err(BfdConfigError::ZeroMultiplier));
        assert_eq!(BfdConfig::new(Duration::ZERO, ms(100), 3).validate(), Err(BfdConfigError::MinTx(0)));
        assert_eq!(
            BfdConfig::new(ms(100), Duration::from_secs(5000), 3).validate(),
            Err(BfdConfigError::MinRx(5_000_000_000))
        );
        assert_eq!(BfdConfig::default().validate(), Ok(()));
    }

    #[test]
    fn json_round_trip() {
        let c = BfdConfig::new(Duration::from_millis(100), Duration::from_millis(200), 3);
        let j = serde_json::to_string(&c).unwrap();
        assert_eq!(j, r#"{"min_tx":0.1,"min_rx":0.2,"multiplier":3}"#);
        assert_eq!(serde_json::from_str::<BfdConfig>(&j).unwrap(), c);
    }
}
