//! The classification record bmnet prints for one address: `bmnet addr classify --json` and the
//! C ABI's `bm_addr_classify` give exactly this object.

use std::net::Ipv4Addr;

use ipnet::IpNet;
use serde::Serialize;

use crate::{BindTarget, Family, Kind, ParseError, Parsed, Scope, ScopedAddr, Zone, classify};

/// One parsed address as a flat record with stable snake_case keys, in this order: `input`,
/// `canonical` (with its zone), the [`Classification`](crate::Classification)'s fields, `zone`,
/// the bind target (`bind_family` and `bind_address`, or nulls and `bind_error`), and
/// `warning` when the sloppy parser had to read around something.
///
/// ```
/// let parsed = bm_addr::parse_addr_with("::ffff:192.168.0.14", &bm_addr::ParseOptions::strict()).unwrap();
/// let r = serde_json::to_value(bm_addr::report::record("::ffff:192.168.0.14", &parsed)).unwrap();
/// assert_eq!(r["family"], "ipv4");
/// assert_eq!(r["bind_address"], "192.168.0.14"); // an IPv4 socket, not an IPv6 one
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record<'a> {
    /// The input as given.
    pub input: &'a str,
    /// Canonical text, with the zone.
    pub canonical: ScopedAddr,
    /// See [`Classification::family`](crate::Classification::family).
    pub family: Family,
    /// See [`Classification::kind`](crate::Classification::kind).
    pub kind: Kind,
    /// See [`Classification::embedded_ipv4`](crate::Classification::embedded_ipv4).
    pub embedded_ipv4: Option<Ipv4Addr>,
    /// See [`Classification::scope`](crate::Classification::scope).
    pub scope: Scope,
    /// The registry row's name.
    pub registry: Option<&'static str>,
    /// The registry row's block.
    pub registry_block: Option<IpNet>,
    /// Loopback.
    pub is_loopback: bool,
    /// Unspecified.
    pub is_unspecified: bool,
    /// Link-local unicast.
    pub is_link_local: bool,
    /// Multicast.
    pub is_multicast: bool,
    /// RFC 1918 or unique-local.
    pub is_private: bool,
    /// Shared address space.
    pub is_shared: bool,
    /// Documentation.
    pub is_documentation: bool,
    /// Benchmarking.
    pub is_benchmarking: bool,
    /// Reserved.
    pub is_reserved: bool,
    /// Globally reachable.
    pub is_global: bool,
    /// The zone, if any.
    pub zone: Option<Zone>,
    /// The socket family to bind, or null when it cannot be bound.
    pub bind_family: Option<Family>,
    /// The address to bind, or null.
    pub bind_address: Option<ScopedAddr>,
    /// Why it cannot be bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind_error: Option<String>,
    /// What the sloppy parser read around.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

/// The record of one parsed address.
pub fn record<'a>(input: &'a str, parsed: &Parsed) -> Record<'a> {
    let scoped: ScopedAddr = parsed.addr;
    let c = classify(scoped.addr);
    let bind = BindTarget::new(scoped, 0);
    Record {
        input,
        canonical: scoped,
        family: c.family,
        kind: c.kind,
        embedded_ipv4: c.embedded_ipv4,
        scope: c.scope,
        registry: c.registry.map(|r| r.name),
        registry_block: c.registry.map(|r| r.block),
        is_loopback: c.is_loopback,
        is_unspecified: c.is_unspecified,
        is_link_local: c.is_link_local,
        is_multicast: c.is_multicast,
        is_private: c.is_private,
        is_shared: c.is_shared,
        is_documentation: c.is_documentation,
        is_benchmarking: c.is_benchmarking,
        is_reserved: c.is_reserved,
        is_global: c.is_global,
        zone: scoped.zone,
        bind_family: bind.as_ref().ok().map(|t| t.family),
        bind_address: bind.as_ref().ok().map(BindTarget::address),
        bind_error: bind.as_ref().err().map(ToString::to_string),
        warning: parsed.warning.map(|w| w.to_string()),
    }
}

/// The record of an input that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ErrorRecord<'a> {
    /// The input as given.
    pub input: &'a str,
    /// The reason.
    pub error: String,
    /// The byte the reason names.
    pub offset: usize,
}

/// The record of an input that does not parse: `input`, `error` (the reason) and `offset`.
pub fn error_record<'a>(input: &'a str, e: &ParseError) -> ErrorRecord<'a> {
    ErrorRecord { input, error: e.kind.to_string(), offset: e.offset }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ParseOptions, ZonePolicy, parse_addr_with};

    /// The record's keys are the classification's wire keys, framed by input, zone and bind.
    #[test]
    fn keys_in_order_and_classification_fields_agree() {
        let opts = ParseOptions::strict().zone(ZonePolicy::Allow);
        // Keys in the order they are written (serde_json's Map may sort them).
        let keys = |text: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_str(text).unwrap();
            let mut ks: Vec<(usize, String)> =
                v.as_object().unwrap().keys().map(|k| (text.find(&format!("\"{k}\":")).unwrap(), k.clone())).collect();
            ks.sort();
            ks.into_iter().map(|(_, k)| k).collect()
        };
        for input in ["::ffff:192.168.0.14", "fe80::1%eth0", "::10.0.0.1", "2001:db8::1", "224.0.0.251"] {
            let parsed = parse_addr_with(input, &opts).unwrap();
            let rec_text = serde_json::to_string(&record(input, &parsed)).unwrap();
            let class_text = serde_json::to_string(&classify(parsed.addr.addr)).unwrap();
            let (rk, ck) = (keys(&rec_text), keys(&class_text));
            assert_eq!(rk[0], "input");
            assert_eq!(&rk[1..1 + ck.len()], &ck[..], "{input}");
            assert_eq!(&rk[1 + ck.len()..1 + ck.len() + 3], ["zone", "bind_family", "bind_address"]);
            let (rec, class): (serde_json::Value, serde_json::Value) =
                (serde_json::from_str(&rec_text).unwrap(), serde_json::from_str(&class_text).unwrap());
            for k in &ck[1..] {
                assert_eq!(rec[k], class[k], "{input}: {k}");
            }
            assert_eq!(rec["canonical"], parsed.addr.to_string());
        }
    }
}
