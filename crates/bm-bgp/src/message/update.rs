//! UPDATE (RFC 4271 §4.3) with RFC 7606 revised error handling on receipt, and End-of-RIB
//! (RFC 4724 §2): an empty UPDATE for IPv4 unicast, an MP_UNREACH_NLRI with no prefixes for
//! the other families.

use std::collections::HashSet;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use super::attribute::{
    MpReach, MpUnreach, PathAttribute, RawAttribute, attribute_flags, attribute_type as ty, expected_flags,
};
use super::capability::Family;
use super::error::{AttributeError, AttributeErrorKind, DecodeError, EncodeError, ErrorAction};
use super::prefix::{self, Prefixes};
use super::{Reader, patch_len16};

/// An UPDATE message.
///
/// ```
/// use bm_bgp::message::{Family, Update};
///
/// let eor = Update::end_of_rib(Family::IPV6_UNICAST);
/// assert_eq!(eor.end_of_rib_family(), Some(Family::IPV6_UNICAST));
/// assert_eq!(Update::default().end_of_rib_family(), Some(Family::IPV4_UNICAST));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Update {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<Ipv4Net>,
    /// The path attributes, in the order sent (ascending type code by convention).
    pub attributes: Vec<PathAttribute>,
    /// IPv4 unicast NLRI.
    pub nlri: Vec<Ipv4Net>,
}

impl Update {
    /// The End-of-RIB marker of `family`.
    pub fn end_of_rib(family: Family) -> Update {
        let attributes = match family {
            Family::IPV4_UNICAST => Vec::new(),
            Family::IPV6_UNICAST => vec![PathAttribute::MpUnreach(MpUnreach { withdrawn: Prefixes::Ipv6(Vec::new()) })],
            Family { afi, safi } => {
                let mut value = afi.to_be_bytes().to_vec();
                value.push(safi);
                vec![PathAttribute::Other(RawAttribute {
                    flags: attribute_flags::OPTIONAL,
                    type_code: ty::MP_UNREACH_NLRI,
                    value,
                })]
            }
        };
        Update { withdrawn: Vec::new(), attributes, nlri: Vec::new() }
    }

    /// The family this UPDATE is the End-of-RIB marker of, if it is one.
    pub fn end_of_rib_family(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [PathAttribute::MpUnreach(mp)] if mp.withdrawn.is_empty() => Some(mp.withdrawn.family()),
            [PathAttribute::Other(raw)] if raw.type_code == ty::MP_UNREACH_NLRI && raw.value.len() == 3 => {
                Some(Family { afi: u16::from_be_bytes([raw.value[0], raw.value[1]]), safi: raw.value[2] })
            }
            _ => None,
        }
    }

    /// The first attribute of this type code.
    pub fn attribute(&self, type_code: u8) -> Option<&PathAttribute> {
        self.attributes.iter().find(|a| a.type_code() == type_code)
    }

    /// The MP_REACH_NLRI of IPv4/IPv6 unicast, if any.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpReach(mp) => Some(mp),
            _ => None,
        })
    }

    /// The MP_UNREACH_NLRI of IPv4/IPv6 unicast, if any.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        self.attributes.iter().find_map(|a| match a {
            PathAttribute::MpUnreach(mp) => Some(mp),
            _ => None,
        })
    }

    /// The routes announced: the NLRI, then MP_REACH_NLRI's.
    pub fn announced(&self) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = self.nlri.iter().copied().map(IpNet::V4).collect();
        out.extend(self.mp_reach().map(|mp| mp.nlri.to_ipnets()).unwrap_or_default());
        out
    }

    /// The routes withdrawn: the withdrawn routes, then MP_UNREACH_NLRI's.
    pub fn withdrawn_routes(&self) -> Vec<IpNet> {
        let mut out: Vec<IpNet> = self.withdrawn.iter().copied().map(IpNet::V4).collect();
        out.extend(self.mp_unreach().map(|mp| mp.withdrawn.to_ipnets()).unwrap_or_default());
        out
    }

    /// RFC 7606 treat-as-withdraw: every route announced becomes a withdrawn one (IPv4 in
    /// the withdrawn routes field, IPv6 in one MP_UNREACH_NLRI) and the other attributes go.
    fn treat_as_withdraw(&mut self) {
        let mut v4 = std::mem::take(&mut self.withdrawn);
        v4.append(&mut self.nlri);
        let mut v6 = None::<Vec<_>>;
        for attr in self.attributes.drain(..) {
            let prefixes = match attr {
                PathAttribute::MpReach(mp) => mp.nlri,
                PathAttribute::MpUnreach(mp) => mp.withdrawn,
                _ => continue,
            };
            match prefixes {
                Prefixes::Ipv4(p) => v4.extend(p),
                Prefixes::Ipv6(p) => v6.get_or_insert_default().extend(p),
            }
        }
        self.withdrawn = v4;
        if let Some(v6) = v6 {
            self.attributes.push(PathAttribute::MpUnreach(MpUnreach { withdrawn: Prefixes::Ipv6(v6) }));
        }
    }

    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        self.withdrawn.iter().for_each(|n| prefix::encode_v4(n, out));
        patch_len16(out, at).ok_or(EncodeError::TooLong { length: out.len() })?;
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        for attr in &self.attributes {
            attr.encode(out)?;
        }
        patch_len16(out, at).ok_or(EncodeError::TooLong { length: out.len() })?;
        self.nlri.iter().for_each(|n| prefix::encode_v4(n, out));
        Ok(())
    }

    pub(crate) fn decode_body(
        body: &[u8],
        length: u16,
        repairs: &mut Vec<AttributeError>,
    ) -> Result<Update, DecodeError> {
        // RFC 4271 §6.1: an UPDATE shorter than 23 bytes (4 after the header) is a bad length.
        if body.len() < 4 {
            return Err(DecodeError::BadLength { length });
        }
        let mut r = Reader::new(body);
        let wlen = r.u16().ok_or(DecodeError::BadLength { length })?;
        let wbytes = r.take(usize::from(wlen)).ok_or(DecodeError::MalformedAttributeList("withdrawn routes length"))?;
        let withdrawn = prefix::decode_v4(&mut Reader::new(wbytes))
            .map_err(|off| DecodeError::InvalidNetworkField { offset: 2 + off })?;
        let alen = r.u16().ok_or(DecodeError::MalformedAttributeList("total path attribute length"))?;
        let attrs_at = r.pos();
        let abytes =
            r.take(usize::from(alen)).ok_or(DecodeError::MalformedAttributeList("total path attribute length"))?;
        // The reader is the body's: offsets are the body's already.
        let nlri = prefix::decode_v4(&mut r).map_err(|offset| DecodeError::InvalidNetworkField { offset })?;

        let mut errors: Vec<AttributeError> = Vec::new();
        let mut attributes = Vec::new();
        let mut seen = HashSet::new();
        let mut a = Reader::new(abytes);
        while !a.is_empty() {
            let at = a.pos();
            let error = |type_code: u8, kind, data: &[u8]| AttributeError {
                type_code,
                kind,
                action: action_for(type_code, kind),
                offset: attrs_at + at,
                data: data.to_vec(),
            };
            let flags = a.u8().unwrap_or(0);
            let type_code = a.u8().unwrap_or(0);
            let len = if flags & attribute_flags::EXTENDED_LENGTH != 0 { a.u16() } else { a.u8().map(u16::from) };
            let Some(value) = len.and_then(|len| a.take(usize::from(len))) else {
                let rest = abytes.get(at..).unwrap_or(&[]);
                errors.push(error(type_code, AttributeErrorKind::Overrun, rest));
                break;
            };
            let whole = abytes.get(at..a.pos()).unwrap_or(&[]);
            if !seen.insert(type_code) {
                errors.push(error(type_code, AttributeErrorKind::Duplicate, whole));
                continue;
            }
            let checked = match expected_flags(type_code) {
                Some(want) if flags & (attribute_flags::OPTIONAL | attribute_flags::TRANSITIVE) != want => {
                    Err(AttributeErrorKind::Flags)
                }
                None if flags & attribute_flags::OPTIONAL == 0 => Err(AttributeErrorKind::UnrecognizedWellKnown),
                _ => PathAttribute::decode_value(flags, type_code, value),
            };
            match checked {
                Ok(attr) => attributes.push(attr),
                Err(kind) => errors.push(error(type_code, kind, whole)),
            }
        }

        let mut update = Update { withdrawn, attributes, nlri };
        let has_mp_reach = update.mp_reach().is_some();
        if !update.nlri.is_empty() || has_mp_reach {
            let mut mandatory = vec![ty::ORIGIN, ty::AS_PATH];
            if !update.nlri.is_empty() {
                mandatory.push(ty::NEXT_HOP);
            }
            for code in mandatory {
                if !seen.contains(&code) {
                    errors.push(AttributeError {
                        type_code: code,
                        kind: AttributeErrorKind::Missing,
                        action: ErrorAction::TreatAsWithdraw,
                        offset: attrs_at,
                        data: vec![code],
                    });
                }
            }
        }
        if let Some(reset) = errors.iter().find(|e| e.action == ErrorAction::SessionReset) {
            return Err(DecodeError::Attribute(reset.clone()));
        }
        if errors.iter().any(|e| e.action == ErrorAction::TreatAsWithdraw) {
            update.treat_as_withdraw();
        }
        repairs.extend(errors);
        Ok(update)
    }
}

/// RFC 7606's action for an error in an attribute of this type.
fn action_for(type_code: u8, kind: AttributeErrorKind) -> ErrorAction {
    match (type_code, kind) {
        // §5.3, §7.11: the NLRI cannot be located reliably, or two sets of it.
        (ty::MP_REACH_NLRI | ty::MP_UNREACH_NLRI, _) => ErrorAction::SessionReset,
        // RFC 4271 §6.3, unchanged by RFC 7606.
        (_, AttributeErrorKind::UnrecognizedWellKnown) => ErrorAction::SessionReset,
        // §3 g: all but the first are discarded.
        (_, AttributeErrorKind::Duplicate) => ErrorAction::AttributeDiscard,
        // §7.6, §7.7: a malformed ATOMIC_AGGREGATE or AGGREGATOR is discarded.
        (ty::ATOMIC_AGGREGATE | ty::AGGREGATOR, AttributeErrorKind::Length) => ErrorAction::AttributeDiscard,
        // §7.1-7.8, RFC 8092 §6: ORIGIN, AS_PATH, NEXT_HOP, MED, LOCAL_PREF, COMMUNITIES,
        // LARGE_COMMUNITY; §3 c flags; §3 d missing; §4 overrun.
        _ => ErrorAction::TreatAsWithdraw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An aggregate route as FRR, BIRD or Junos send it (ATOMIC_AGGREGATE and AGGREGATOR):
    /// read, kept raw, no repair; malformed ones are discarded, never a reset.
    #[test]
    fn aggregates_are_read_and_malformed_aggregate_attributes_discarded() {
        let body = |atomic: &[u8], aggregator: &[u8]| {
            let mut attrs = vec![0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, 192, 0, 2, 1];
            attrs.extend_from_slice(atomic);
            attrs.extend_from_slice(aggregator);
            let mut b = vec![0, 0];
            b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
            b.extend_from_slice(&attrs);
            b.extend_from_slice(&[24, 198, 51, 100]);
            b
        };
        let good_aggregator = [0xc0, 7, 8, 0, 0, 0xfd, 0xe8, 192, 0, 2, 9];
        let mut repairs = Vec::new();
        let b = body(&[0x40, 6, 0], &good_aggregator);
        let u = Update::decode_body(&b, 19 + b.len() as u16, &mut repairs).expect("an aggregate is no error");
        assert!(repairs.is_empty(), "{repairs:?}");
        assert_eq!(u.nlri, ["198.51.100.0/24".parse().unwrap()]);
        assert!(u.attributes.iter().any(|a| a.type_code() == ty::ATOMIC_AGGREGATE));
        assert!(u.attributes.iter().any(|a| a.type_code() == ty::AGGREGATOR));

        let b = body(&[0x40, 6, 1, 0], &[0xc0, 7, 6, 0, 1, 192, 0, 2, 9]);
        let u = Update::decode_body(&b, 19 + b.len() as u16, &mut repairs).expect("discarded, not reset");
        assert_eq!(u.nlri.len(), 1, "the route stays");
        assert_eq!(repairs.len(), 2);
        assert!(repairs.iter().all(|r| r.action == ErrorAction::AttributeDiscard), "{repairs:?}");
        assert!(!u.attributes.iter().any(|a| matches!(a.type_code(), ty::ATOMIC_AGGREGATE | ty::AGGREGATOR)));

        // Shorter than RFC 4271's 23 bytes: Bad Message Length, not an attribute list error.
        assert_eq!(Update::decode_body(&[0, 0, 0], 22, &mut Vec::new()), Err(DecodeError::BadLength { length: 22 }));
    }

    #[test]
    fn treat_as_withdraw_moves_every_route() {
        let mut u = Update {
            withdrawn: vec!["10.0.0.0/8".parse().unwrap()],
            attributes: vec![
                PathAttribute::LocalPref(5),
                PathAttribute::MpReach(MpReach {
                    next_hop: super::super::NextHop::Ipv6 { global: "2001:db8::1".parse().unwrap(), link_local: None },
                    nlri: Prefixes::Ipv6(vec!["2001:db8:1::/48".parse().unwrap()]),
                }),
            ],
            nlri: vec!["192.0.2.1/32".parse().unwrap()],
        };
        u.treat_as_withdraw();
        assert_eq!(u.nlri, []);
        assert_eq!(u.withdrawn, ["10.0.0.0/8".parse().unwrap(), "192.0.2.1/32".parse().unwrap()]);
        assert_eq!(u.withdrawn_routes().len(), 3);
        assert_eq!(u.announced(), []);
    }
}
