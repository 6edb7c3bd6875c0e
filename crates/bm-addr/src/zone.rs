//! IPv6 zone identifiers (`%eth0`, `%2`), stored inline so parsed addresses stay `Copy`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest zone accepted: Linux interface names are at most 15 bytes (`IFNAMSIZ` - 1), and
/// a numeric zone (a 32-bit interface index) is at most 10 digits.
pub const MAX_ZONE_LEN: usize = 15;

/// A zone identifier: an interface name or a numeric interface index (RFC 4007 §11).
///
/// Zones are validated the way Linux validates interface names (`dev_valid_name`): 1 to 15
/// bytes of printable ASCII, without `/`, `:`, `%` or whitespace, and not `.` or `..`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Zone {
    len: u8,
    bytes: [u8; MAX_ZONE_LEN],
}

/// Why a zone identifier is not valid; the `usize` is the offset of the bad byte in the zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ZoneError {
    Empty,
    TooLong,
    Char(usize, char),
    Dots,
}

impl Zone {
    /// Parses a zone identifier.
    ///
    /// ```
    /// let z = bm_addr::Zone::new("eth0").unwrap();
    /// assert_eq!(z.as_str(), "eth0");
    /// assert_eq!(z.index(), None);
    /// assert_eq!(bm_addr::Zone::new("2").unwrap().index(), Some(2));
    /// assert!(bm_addr::Zone::new("a b").is_none());
    /// ```
    pub fn new(s: &str) -> Option<Zone> {
        Zone::parse(s).ok()
    }

    pub(crate) fn parse(s: &str) -> Result<Zone, ZoneError> {
        let b = s.as_bytes();
        if b.is_empty() {
            return Err(ZoneError::Empty);
        }
        if let Some((i, ch)) = s.char_indices().find(|&(_, c)| !c.is_ascii_graphic() || matches!(c, '/' | ':' | '%')) {
            return Err(ZoneError::Char(i, ch));
        }
        if b.len() > MAX_ZONE_LEN {
            return Err(ZoneError::TooLong);
        }
        if s == "." || s == ".." {
            return Err(ZoneError::Dots);
        }
        let mut bytes = [0u8; MAX_ZONE_LEN];
        bytes[..b.len()].copy_from_slice(b);
        Ok(Zone { len: b.len() as u8, bytes })
    }

    /// The zone as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The interface index, when the zone is numeric (`fe80::1%2`).
    pub fn index(&self) -> Option<u32> {
        let s = self.as_str();
        if s.len() > 1 && s.starts_with('0') {
            return None;
        }
        s.parse().ok()
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({:?})", self.as_str())
    }
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Zone::new(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid zone {s:?}")))
    }
}
