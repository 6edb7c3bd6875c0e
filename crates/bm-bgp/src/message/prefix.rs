//! NLRI prefixes (RFC 4271 §4.3): a length in bits, then as many bytes as it needs. Host bits
//! are cleared on both sides: a prefix is its network.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Reader;
use super::capability::Family;

/// Prefixes of one family (the NLRI of an MP_REACH_NLRI or MP_UNREACH_NLRI).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "family", content = "prefixes", rename_all = "snake_case")]
pub enum Prefixes {
    /// IPv4 unicast.
    Ipv4(Vec<Ipv4Net>),
    /// IPv6 unicast.
    Ipv6(Vec<Ipv6Net>),
}

impl Prefixes {
    /// Its family.
    pub fn family(&self) -> Family {
        match self {
            Prefixes::Ipv4(_) => Family::IPV4_UNICAST,
            Prefixes::Ipv6(_) => Family::IPV6_UNICAST,
        }
    }

    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Prefixes::Ipv4(p) => p.len(),
            Prefixes::Ipv6(p) => p.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The prefixes as [`IpNet`]s.
    pub fn to_ipnets(&self) -> Vec<IpNet> {
        match self {
            Prefixes::Ipv4(p) => p.iter().copied().map(IpNet::V4).collect(),
            Prefixes::Ipv6(p) => p.iter().copied().map(IpNet::V6).collect(),
        }
    }

    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Prefixes::Ipv4(p) => p.iter().for_each(|n| encode_v4(n, out)),
            Prefixes::Ipv6(p) => p.iter().for_each(|n| encode_v6(n, out)),
        }
    }
}

/// Appends one IPv4 prefix.
pub(crate) fn encode_v4(net: &Ipv4Net, out: &mut Vec<u8>) {
    out.push(net.prefix_len());
    out.extend_from_slice(&net.network().octets()[..usize::from(net.prefix_len()).div_ceil(8)]);
}

/// Appends one IPv6 prefix.
pub(crate) fn encode_v6(net: &Ipv6Net, out: &mut Vec<u8>) {
    out.push(net.prefix_len());
    out.extend_from_slice(&net.network().octets()[..usize::from(net.prefix_len()).div_ceil(8)]);
}

/// Reads `N`-byte-address prefixes to the end of `r`; `Err(offset)` where one is invalid.
fn decode_raw<const N: usize>(r: &mut Reader<'_>) -> Result<Vec<([u8; N], u8)>, usize> {
    let mut out = Vec::new();
    while !r.is_empty() {
        let at = r.pos();
        let len = r.u8().ok_or(at)?;
        if usize::from(len) > N * 8 {
            return Err(at);
        }
        let bytes = r.take(usize::from(len).div_ceil(8)).ok_or(at)?;
        let mut addr = [0u8; N];
        addr[..bytes.len()].copy_from_slice(bytes);
        out.push((addr, len));
    }
    Ok(out)
}

/// Reads IPv4 prefixes to the end of `r`; `Err(offset in r)` where one is invalid.
pub(crate) fn decode_v4(r: &mut Reader<'_>) -> Result<Vec<Ipv4Net>, usize> {
    decode_raw::<4>(r)?
        .into_iter()
        .map(|(a, len)| Ipv4Net::new(Ipv4Addr::from(a), len).map(|n| n.trunc()).map_err(|_| 0))
        .collect()
}

/// Reads IPv6 prefixes to the end of `r`; `Err(offset in r)` where one is invalid.
pub(crate) fn decode_v6(r: &mut Reader<'_>) -> Result<Vec<Ipv6Net>, usize> {
    decode_raw::<16>(r)?
        .into_iter()
        .map(|(a, len)| Ipv6Net::new(Ipv6Addr::from(a), len).map(|n| n.trunc()).map_err(|_| 0))
        .collect()
}
