//! ROUTE-REFRESH (RFC 2918; the subtype byte of RFC 7313).

use serde::{Deserialize, Serialize};

use super::capability::Family;
use super::error::DecodeError;

/// A ROUTE-REFRESH: send me `family` again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RouteRefresh {
    /// The family.
    pub family: Family,
    /// The reserved byte: RFC 7313's subtype (0 a normal request, 1 BoRR, 2 EoRR).
    pub subtype: u8,
}

impl RouteRefresh {
    /// A normal request for `family`.
    pub fn new(family: Family) -> RouteRefresh {
        RouteRefresh { family, subtype: 0 }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.family.afi.to_be_bytes());
        out.push(self.subtype);
        out.push(self.family.safi);
    }

    pub(crate) fn decode_body(body: &[u8], length: u16) -> Result<RouteRefresh, DecodeError> {
        match body {
            &[a, b, subtype, safi] => {
                Ok(RouteRefresh { family: Family { afi: u16::from_be_bytes([a, b]), safi }, subtype })
            }
            _ => Err(DecodeError::BadLength { length }),
        }
    }
}
