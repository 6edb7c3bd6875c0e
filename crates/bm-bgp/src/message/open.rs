//! OPEN (RFC 4271 §4.2) with capabilities as optional parameters (RFC 5492) and the 4-octet
//! AS number of RFC 6793 (AS_TRANS in My Autonomous System).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::Reader;
use super::capability::{Capability, Family};
use super::error::{DecodeError, EncodeError};

/// The BGP version: 4.
pub const BGP_VERSION: u8 = 4;
/// AS_TRANS (RFC 6793): My Autonomous System when the ASN needs 4 octets.
pub const AS_TRANS: u16 = 23456;
/// Optional parameter type Capabilities (RFC 5492).
const PARAM_CAPABILITIES: u8 = 2;

/// An OPEN message (version 4).
///
/// ```
/// use bm_bgp::message::{AS_TRANS, Capability, Family, Open};
///
/// let open = Open::new(4_200_000_001, 90, "192.0.2.1".parse().unwrap(), vec![Capability::RouteRefresh]);
/// assert_eq!(open.my_as, AS_TRANS);
/// assert_eq!(open.asn(), 4_200_000_001);
/// assert_eq!(open.families(), vec![Family::IPV4_UNICAST]); // no multiprotocol capability
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Open {
    /// My Autonomous System: the 2-octet ASN, or [`AS_TRANS`].
    pub my_as: u16,
    /// Hold Time in seconds: 0 or at least 3.
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_id: Ipv4Addr,
    /// The capabilities, in the order sent (all optional parameters are capabilities).
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// An OPEN for AS `asn`: My Autonomous System is `asn` or [`AS_TRANS`], and the 4-octet
    /// AS capability carrying `asn` is added first to `capabilities`.
    pub fn new(asn: u32, hold_time: u16, bgp_id: Ipv4Addr, capabilities: Vec<Capability>) -> Open {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        let mut caps = vec![Capability::FourOctetAs { asn }];
        caps.extend(capabilities.into_iter().filter(|c| !matches!(c, Capability::FourOctetAs { .. })));
        Open { my_as, hold_time, bgp_id, capabilities: caps }
    }

    /// The sender's AS: the 4-octet AS capability's, or My Autonomous System.
    pub fn asn(&self) -> u32 {
        self.four_octet_as().unwrap_or(u32::from(self.my_as))
    }

    /// The AS of the 4-octet AS capability, if sent.
    pub fn four_octet_as(&self) -> Option<u32> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::FourOctetAs { asn } => Some(*asn),
            _ => None,
        })
    }

    /// The families of the multiprotocol capabilities; IPv4 unicast alone when there are
    /// none (RFC 4760 §8).
    pub fn families(&self) -> Vec<Family> {
        let mut families: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { family } => Some(*family),
                _ => None,
            })
            .collect();
        if families.is_empty() {
            families.push(Family::IPV4_UNICAST);
        }
        families.sort();
        families.dedup();
        families
    }

    /// Whether a capability with this code was sent.
    pub fn has_capability(&self, code: u8) -> bool {
        self.capabilities.iter().any(|c| c.code() == code)
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.push(BGP_VERSION);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let len_at = out.len();
        out.push(0);
        // One Capabilities parameter holds as many capabilities as fit in 255 bytes.
        let mut caps = self.capabilities.iter().peekable();
        while caps.peek().is_some() {
            out.push(PARAM_CAPABILITIES);
            let plen_at = out.len();
            out.push(0);
            while let Some(cap) = caps.peek() {
                let before = out.len();
                if let Capability::GracefulRestart(gr) = cap
                    && gr.restart_time > 0x0fff
                {
                    return Err(EncodeError::RestartTime(gr.restart_time));
                }
                cap.encode(out).ok_or(EncodeError::FieldTooLong)?;
                if out.len() - plen_at - 1 > 255 {
                    if before == plen_at + 1 {
                        return Err(EncodeError::FieldTooLong);
                    }
                    out.truncate(before);
                    break;
                }
                caps.next();
            }
            out[plen_at] = (out.len() - plen_at - 1) as u8;
        }
        out[len_at] = u8::try_from(out.len() - len_at - 1).map_err(|_| EncodeError::FieldTooLong)?;
        Ok(())
    }

    pub(crate) fn decode_body(body: &[u8], length: u16) -> Result<Open, DecodeError> {
        let mut r = Reader::new(body);
        let (Some(version), Some(my_as), Some(hold_time), Some(id), Some(opt_len)) =
            (r.u8(), r.u16(), r.u16(), r.u32(), r.u8())
        else {
            return Err(DecodeError::BadLength { length });
        };
        if version != BGP_VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        if usize::from(opt_len) != r.remaining() {
            return Err(DecodeError::BadLength { length });
        }
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::UnacceptableHoldTime(hold_time));
        }
        let mut capabilities = Vec::new();
        while !r.is_empty() {
            let offset = r.pos();
            let malformed = DecodeError::MalformedOpen { offset };
            let ptype = r.u8().ok_or(malformed.clone())?;
            let plen = r.u8().ok_or(malformed.clone())?;
            let value = r.take(usize::from(plen)).ok_or(malformed.clone())?;
            if ptype != PARAM_CAPABILITIES {
                return Err(DecodeError::UnsupportedOptionalParameter(ptype));
            }
            let mut caps = Reader::new(value);
            while !caps.is_empty() {
                let at = offset + 2 + caps.pos();
                capabilities.push(Capability::decode(&mut caps).ok_or(DecodeError::MalformedOpen { offset: at })?);
            }
        }
        Ok(Open { my_as, hold_time, bgp_id: Ipv4Addr::from(id), capabilities })
    }
}
