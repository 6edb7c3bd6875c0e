//! Capabilities advertised in OPEN (RFC 5492): multiprotocol (RFC 4760), route refresh
//! (RFC 2918), enhanced route refresh (RFC 7313), 4-octet AS (RFC 6793) and graceful restart
//! (RFC 4724); any other capability is kept raw.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Reader;

/// Capability codes (IANA "Capability Codes").
pub mod capability_code {
    /// Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// Support for 4-octet AS number (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// Enhanced Route Refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
}

/// An address family and subsequent address family (AFI/SAFI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Family {
    /// AFI: 1 IPv4, 2 IPv6.
    pub afi: u16,
    /// SAFI: 1 unicast.
    pub safi: u8,
}

impl Family {
    /// IPv4 unicast (1/1).
    pub const IPV4_UNICAST: Family = Family { afi: 1, safi: 1 };
    /// IPv6 unicast (2/1).
    pub const IPV6_UNICAST: Family = Family { afi: 2, safi: 1 };
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Family::IPV4_UNICAST => f.write_str("ipv4-unicast"),
            Family::IPV6_UNICAST => f.write_str("ipv6-unicast"),
            Family { afi, safi } => write!(f, "afi {afi}/safi {safi}"),
        }
    }
}

/// One family of a graceful restart capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestartFamily {
    /// The family.
    pub family: Family,
    /// Forwarding state preserved (F bit).
    pub forwarding_preserved: bool,
}

/// The graceful restart capability (RFC 4724, N bit of RFC 8538).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// Restart State (R bit): the sender has restarted.
    pub restarting: bool,
    /// Graceful Notification (N bit, RFC 8538).
    pub notification: bool,
    /// Restart Time in seconds, 0..=4095.
    pub restart_time: u16,
    /// The families whose routes are kept across a restart.
    pub families: Vec<GracefulRestartFamily>,
}

/// A capability.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Capability {
    /// Multiprotocol Extensions for one family (code 1).
    Multiprotocol {
        /// The family.
        family: Family,
    },
    /// Route Refresh (code 2).
    RouteRefresh,
    /// Enhanced Route Refresh (code 70).
    EnhancedRouteRefresh,
    /// 4-octet AS numbers, with the sender's AS (code 65).
    FourOctetAs {
        /// The sender's AS number.
        asn: u32,
    },
    /// Graceful Restart (code 64).
    GracefulRestart(GracefulRestart),
    /// Any other capability, raw.
    Unknown {
        /// Its code.
        code: u8,
        /// Its value.
        value: Vec<u8>,
    },
}

impl Capability {
    /// Its code.
    pub fn code(&self) -> u8 {
        match self {
            Capability::Multiprotocol { .. } => capability_code::MULTIPROTOCOL,
            Capability::RouteRefresh => capability_code::ROUTE_REFRESH,
            Capability::EnhancedRouteRefresh => capability_code::ENHANCED_ROUTE_REFRESH,
            Capability::FourOctetAs { .. } => capability_code::FOUR_OCTET_AS,
            Capability::GracefulRestart(_) => capability_code::GRACEFUL_RESTART,
            Capability::Unknown { code, .. } => *code,
        }
    }

    /// Appends code, length and value; `None` when the value is longer than 255 bytes or
    /// a graceful restart time is over 4095.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        let start = out.len();
        out.push(self.code());
        out.push(0);
        match self {
            Capability::Multiprotocol { family } => {
                out.extend_from_slice(&family.afi.to_be_bytes());
                out.push(0);
                out.push(family.safi);
            }
            Capability::RouteRefresh | Capability::EnhancedRouteRefresh => {}
            Capability::FourOctetAs { asn } => out.extend_from_slice(&asn.to_be_bytes()),
            Capability::GracefulRestart(gr) => {
                if gr.restart_time > 0x0fff {
                    out.truncate(start);
                    return None;
                }
                let flags = (u16::from(gr.restarting) << 15) | (u16::from(gr.notification) << 14);
                out.extend_from_slice(&(flags | gr.restart_time).to_be_bytes());
                for f in &gr.families {
                    out.extend_from_slice(&f.family.afi.to_be_bytes());
                    out.push(f.family.safi);
                    out.push(if f.forwarding_preserved { 0x80 } else { 0 });
                }
            }
            Capability::Unknown { value, .. } => out.extend_from_slice(value),
        }
        match u8::try_from(out.len() - start - 2) {
            Ok(len) => {
                out[start + 1] = len;
                Some(())
            }
            Err(_) => {
                out.truncate(start);
                None
            }
        }
    }

    /// Reads one capability (code, length, value); `None` when it is malformed.
    pub(crate) fn decode(r: &mut Reader<'_>) -> Option<Capability> {
        let code = r.u8()?;
        let len = r.u8()?;
        let value = r.take(usize::from(len))?;
        let mut v = Reader::new(value);
        Some(match code {
            capability_code::MULTIPROTOCOL if value.len() == 4 => Capability::Multiprotocol {
                family: Family { afi: u16::from_be_bytes([value[0], value[1]]), safi: value[3] },
            },
            capability_code::ROUTE_REFRESH if value.is_empty() => Capability::RouteRefresh,
            capability_code::ENHANCED_ROUTE_REFRESH if value.is_empty() => Capability::EnhancedRouteRefresh,
            capability_code::FOUR_OCTET_AS if value.len() == 4 => Capability::FourOctetAs { asn: v.u32()? },
            capability_code::GRACEFUL_RESTART if value.len() >= 2 && (value.len() - 2).is_multiple_of(4) => {
                let head = v.u16()?;
                let mut families = Vec::new();
                while !v.is_empty() {
                    let afi = v.u16()?;
                    let safi = v.u8()?;
                    let flags = v.u8()?;
                    families.push(GracefulRestartFamily {
                        family: Family { afi, safi },
                        forwarding_preserved: flags & 0x80 != 0,
                    });
                }
                Capability::GracefulRestart(GracefulRestart {
                    restarting: head & 0x8000 != 0,
                    notification: head & 0x4000 != 0,
                    restart_time: head & 0x0fff,
                    families,
                })
            }
            capability_code::MULTIPROTOCOL
            | capability_code::ROUTE_REFRESH
            | capability_code::ENHANCED_ROUTE_REFRESH
            | capability_code::FOUR_OCTET_AS
            | capability_code::GRACEFUL_RESTART => return None,
            code => Capability::Unknown { code, value: value.to_vec() },
        })
    }
}
