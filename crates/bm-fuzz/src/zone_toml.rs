//! Fuzzes the cluster zone's TOML configuration as `bmnet dns serve --config` loads it
//! (`ZoneConfig::from_toml`, `ClusterZone::new`, the access lists and the rate limiter the
//! server builds from it), then asks the zone it builds about every name the configuration
//! names.
//!
//! No input may panic; a configuration read from TOML reads back the same from its JSON form
//! (what the C ABI takes); a zone that is built renders its zone file and answers every
//! question about its own names (the apex, `api`, `api-int`, `*.apps`, nodes, their short
//! names, static records, the PTRs of their addresses, the CHAOS health name) with a
//! well-formed response (hickory-proto reads it back) with the query's ID; over TCP nothing is
//! truncated, and `api` answers exactly the configured API VIPs.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use bm_dns::{Access, AnswerKind, ClusterZone, Outcome, RateLimiter, StaticRecord, Transport, ZoneConfig, name};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

const A: u16 = 1;
const NS: u16 = 2;
const SOA: u16 = 6;
const PTR: u16 = 12;
const TXT: u16 = 16;
const AAAA: u16 = 28;
const SRV: u16 = 33;
const CNAME: u16 = 5;
const ANY: u16 = 255;
const CLASS_IN: u16 = 1;
const CLASS_CH: u16 = 3;

/// A query for `name` (wire form), with an EDNS OPT offering 4096 bytes.
fn query(id: u16, name: &[u8], qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(name);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    q
}

/// A name as the configuration writes it (relative to the zone, `@`, or absolute).
fn owner(text: &str, zone: &str) -> Option<Vec<u8>> {
    let absolute = match text {
        "@" => format!("{zone}."),
        t if t.ends_with('.') => t.to_string(),
        t => format!("{t}.{zone}."),
    };
    name::from_text(&absolute).ok()
}

fn ask(questions: &mut Vec<(Vec<u8>, u16, u16)>, name: Option<Vec<u8>>, types: &[u16]) {
    if let Some(n) = name {
        for &t in types {
            questions.push((n.clone(), t, CLASS_IN));
        }
    }
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = ZoneConfig::from_toml(text) else { return };
    let json = serde_json::to_string(&config).expect("a configuration serializes");
    let again: ZoneConfig = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
    assert_eq!(again, config, "the JSON form reads back the same");

    // What the server builds besides the zone.
    let localnets = ["192.0.2.0/24".parse().unwrap(), "2001:db8::/64".parse().unwrap()];
    let access = Access::resolve(&config.allow_recursion, &config.allow_query, &localnets);
    let _ = access.query.allows("192.0.2.9".parse().unwrap());
    let _ = access.recursion.allows("2001:db8::9".parse().unwrap());
    if let Some(rl) = config.rate_limit {
        let start = Instant::now();
        let limiter = RateLimiter::new(rl, start, [7; 16]);
        for (i, client) in ["192.0.2.9", "2001:db8::9", "::ffff:192.0.2.9"].iter().enumerate() {
            let _ = limiter.check(start + Duration::from_secs(i as u64), client.parse().unwrap(), AnswerKind::Positive);
        }
    }

    let Ok(zone) = ClusterZone::new(config.clone()) else { return };
    assert!(zone.zone_file().contains(" IN SOA "));
    let z = config.zone();
    let mut questions: Vec<(Vec<u8>, u16, u16)> = Vec::new();
    ask(&mut questions, owner("@", &z), &[SOA, NS, ANY, A]);
    let api_a = questions.len();
    let api = owner("api", &z);
    ask(&mut questions, api.clone(), &[A, AAAA, ANY]);
    ask(&mut questions, owner("api-int", &z), &[A, AAAA]);
    ask(&mut questions, owner("x.apps", &z), &[A, AAAA, TXT]);
    ask(&mut questions, owner("apps", &z), &[A]);
    ask(&mut questions, owner("nope-404", &z), &[A]);
    for (node, addrs) in &config.nodes {
        ask(&mut questions, owner(node, &z), &[A, AAAA, ANY]);
        ask(&mut questions, name::from_text(&format!("{node}.")).ok(), &[A, AAAA]);
        for &a in addrs {
            ask(&mut questions, Some(name::reverse_name(a)), &[PTR, ANY]);
        }
    }
    for &vip in config.api_vips.iter().chain(config.api_int()).chain(&config.ingress_vips) {
        ask(&mut questions, Some(name::reverse_name(vip)), &[PTR]);
    }
    // `api A` answers the IPv4 API VIPs, and static A records of that name.
    let mut api_v4: BTreeSet<IpAddr> = config.api_vips.iter().copied().filter(IpAddr::is_ipv4).collect();
    for r in &config.records {
        let (n, t) = match r {
            StaticRecord::A { name, addr } => {
                if owner(name, &z) == api {
                    api_v4.insert(IpAddr::V4(*addr));
                }
                (name, A)
            }
            StaticRecord::AAAA { name, .. } => (name, AAAA),
            StaticRecord::CNAME { name, .. } => (name, CNAME),
            StaticRecord::TXT { name, .. } => (name, TXT),
            StaticRecord::SRV { name, .. } => (name, SRV),
        };
        ask(&mut questions, owner(n, &z), &[t, ANY, A]);
    }
    questions.push((b"\x06health\x05bmnet\x00".to_vec(), TXT, CLASS_CH));

    let mut out = Vec::new();
    for (i, (qname, qtype, qclass)) in questions.iter().enumerate() {
        let id = i as u16;
        let q = query(id, qname, *qtype, *qclass);
        for transport in [Transport::Udp, Transport::Tcp] {
            match zone.answer_over(&q, transport, &mut out) {
                Outcome::Answered => {}
                Outcome::Forward => {
                    assert!(!config.upstreams.is_empty(), "forwarded without upstreams");
                    continue;
                }
                Outcome::Drop => panic!("a query dropped: {}", name::to_text(qname)),
            }
            let m = Message::from_vec(&out)
                .unwrap_or_else(|e| panic!("{} {qtype}/{qclass}: {e}: {out:02x?}", name::to_text(qname)));
            assert_eq!(m.metadata.id, id);
            if transport == Transport::Tcp {
                assert!(!m.metadata.truncation, "{} {qtype} truncated over TCP", name::to_text(qname));
            }
            if transport == Transport::Tcp && i == api_a {
                assert_eq!(m.metadata.response_code, ResponseCode::NoError);
                let got: BTreeSet<IpAddr> = m
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::A(a) => Some(IpAddr::V4(a.0)),
                        _ => None,
                    })
                    .collect();
                assert_eq!(got, api_v4);
            }
        }
    }
}
