//! Link-layer (Ethernet, EUI-48) addresses, as the kernel, NetworkManager and the wire write
//! them: one type for every crate that handles a MAC.

use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An Ethernet (EUI-48) address, written and serialized as `02:00:5e:00:01:0a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);
    /// `00:00:00:00:00:00`.
    pub const ZERO: MacAddr = MacAddr([0; 6]);

    /// Whether the group bit is set (broadcast included).
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// The Ethernet address IPv6 multicast to `group` goes to (RFC 2464 §7): `33:33` and the
    /// group's last four bytes.
    pub const fn ipv6_multicast(group: Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}

/// A MAC address that is not six colon-separated hexadecimal bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is no MAC address: six hexadecimal bytes separated by colons, as 02:00:5e:00:01:0a")]
pub struct MacParseError {
    /// What was given.
    pub text: String,
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    fn from_str(s: &str) -> Result<MacAddr, MacParseError> {
        let err = || MacParseError { text: s.to_string() };
        let mut mac = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut mac {
            let p = parts.next().ok_or_else(err)?;
            // Two digits per byte, as `ip`, the kernel and NetworkManager write them: strict,
            // like the rest of this crate's parsers.
            // (`from_str_radix` alone would take a sign: "+0".)
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(MacAddr(mac))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<MacAddr, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let mac: MacAddr = "00:00:5E:00:01:93".parse().unwrap();
        assert_eq!(mac.to_string(), "00:00:5e:00:01:93");
        assert_eq!(serde_json::to_string(&mac).unwrap(), r#""00:00:5e:00:01:93""#);
        assert_eq!(serde_json::from_str::<MacAddr>(r#""00:00:5e:00:01:93""#).unwrap(), mac);
        for bad in
            ["", "00:00:5e:00:01", "00:00:5e:00:01:93:00", "0:00:5e:00:01:93", "zz:00:5e:00:01:93", "+0:00:5e:00:01:93"]
        {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!(MacAddr::BROADCAST.is_multicast() && !MacAddr::ZERO.is_multicast());
        let group: Ipv6Addr = "ff02::1:ff00:5".parse().unwrap();
        assert_eq!(MacAddr::ipv6_multicast(group).to_string(), "33:33:ff:00:00:05");
    }
}
