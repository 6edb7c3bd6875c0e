//! `ClusterZone::answer` through its public API: the semantics NSD's differential test does not
//! reach (malformed queries, opcodes, EDNS, truncation, PTR, short names, classes, transfers)
//! and the configuration checks.

use std::net::IpAddr;

use bm_dns::{ClusterZone, ConfigError, Outcome, Transport, ZoneConfig};
use hickory_proto::op::{Edns, Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};

fn zone_with(extra: &str) -> ClusterZone {
    let text = format!(
        r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5", "fd2e:6f44:5dd8::5"]
ingress_vips = ["192.168.111.4"]
{extra}
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
"#
    );
    ClusterZone::new(ZoneConfig::from_toml(&text).unwrap()).unwrap()
}

fn zone() -> ClusterZone {
    zone_with("")
}

fn query(name: &str, rtype: RecordType) -> Message {
    let mut q = Message::query();
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    q
}

fn ask(zone: &ClusterZone, q: &Message) -> Message {
    let mut out = Vec::new();
    assert_eq!(zone.answer(&q.to_vec().unwrap(), &mut out), Outcome::Answered);
    Message::from_vec(&out).unwrap()
}

fn ips(m: &Message) -> Vec<IpAddr> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn positive_and_negative_answers() {
    let z = zone();
    let r = ask(&z, &query("api.ostest.example.com.", RecordType::AAAA));
    assert_eq!(ips(&r), ["fd2e:6f44:5dd8::5".parse::<IpAddr>().unwrap()]);
    assert!(r.metadata.authoritative && !r.metadata.recursion_available);
    // The missing family: NODATA with the SOA (negative TTL from it), never NXDOMAIN.
    let r = ask(&z, &query("x.apps.ostest.example.com.", RecordType::AAAA));
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert!(r.answers.is_empty());
    assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    assert_eq!(r.authorities[0].ttl, 30);
    // apps itself is an empty non-terminal.
    let r = ask(&z, &query("apps.ostest.example.com.", RecordType::A));
    assert_eq!((r.metadata.response_code, r.answers.len()), (ResponseCode::NoError, 0));
    // Any depth below apps.
    let r = ask(&z, &query("a.b.c.apps.ostest.example.com.", RecordType::A));
    assert_eq!(ips(&r), ["192.168.111.4".parse::<IpAddr>().unwrap()]);
    assert_eq!(r.answers[0].name.to_ascii(), "a.b.c.apps.ostest.example.com.");
    let r = ask(&z, &query("nope.ostest.example.com.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::NXDomain);
    // ANY: one RRset (RFC 8482).
    let r = ask(&z, &query("api.ostest.example.com.", RecordType::ANY));
    assert_eq!(ips(&r), ["192.168.111.5".parse::<IpAddr>().unwrap()]);
}

#[test]
fn outside_the_zone_refused_or_forwarded() {
    let z = zone();
    let r = ask(&z, &query("www.example.org.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(!r.metadata.authoritative);
    let z = zone_with(r#"upstreams = ["192.0.2.53:53"]"#);
    let mut out = vec![1, 2, 3];
    let mut q = query("www.example.org.", RecordType::A);
    q.metadata.recursion_desired = true;
    assert_eq!(z.answer(&q.to_vec().unwrap(), &mut out), Outcome::Forward);
    // Without RD the client asked this server, not the world: REFUSED, as NSD and Knot answer,
    // even with upstreams.
    let r = ask(&z, &query("www.example.org.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    assert!(!r.metadata.recursion_desired);
}

#[test]
fn reverse_names_of_nodes_and_vips() {
    let z = zone();
    let r = ask(&z, &query("20.111.168.192.in-addr.arpa.", RecordType::PTR));
    assert!(r.metadata.authoritative);
    match &r.answers[0].data {
        RData::PTR(p) => assert_eq!(p.0.to_ascii(), "master-0.ostest.example.com."),
        other => panic!("{other:?}"),
    }
    let v6 = "0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.d.d.5.4.4.f.6.e.2.d.f.ip6.arpa.";
    let r = ask(&z, &query(v6, RecordType::PTR));
    assert_eq!(r.answers.len(), 1);
    let r = ask(&z, &query("5.111.168.192.in-addr.arpa.", RecordType::PTR));
    match &r.answers[0].data {
        RData::PTR(p) => assert_eq!(p.0.to_ascii(), "api.ostest.example.com."),
        other => panic!("{other:?}"),
    }
    // Unknown reverse names are not ours.
    let r = ask(&z, &query("9.9.9.9.in-addr.arpa.", RecordType::PTR));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn short_names_only_when_configured() {
    let r = ask(&zone(), &query("master-0.", RecordType::A));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
    let z = zone_with("short_names = true");
    let r = ask(&z, &query("Master-0.", RecordType::A));
    assert_eq!(ips(&r), ["192.168.111.20".parse::<IpAddr>().unwrap()]);
    assert_eq!(r.answers[0].name.to_ascii(), "Master-0.");
}

#[test]
fn malformed_queries_get_formerr_from_the_raw_header() {
    let z = zone();
    let mut out = Vec::new();
    // Two questions (RFC 9619).
    let mut q = query("api.ostest.example.com.", RecordType::A);
    q.add_query(Query::query(Name::from_ascii("api-int.ostest.example.com.").unwrap(), RecordType::A));
    let bytes = q.to_vec().unwrap();
    assert_eq!(z.answer(&bytes, &mut out), Outcome::Answered);
    let r = Message::from_vec(&out).unwrap();
    assert_eq!((r.metadata.id, r.metadata.response_code), (q.metadata.id, ResponseCode::FormErr));
    // Truncated in the middle of the question.
    let cut = &bytes[..20];
    assert_eq!(z.answer(cut, &mut out), Outcome::Answered);
    assert_eq!(out.len(), 12);
    assert_eq!(&out[..2], &bytes[..2]);
    assert_eq!(out[3] & 0x0f, 1);
    // Two OPT records (RFC 6891 §6.1.1).
    let mut q = query("api.ostest.example.com.", RecordType::A);
    q.set_edns(Edns::new());
    let mut bytes = q.to_vec().unwrap();
    let opt = bytes[bytes.len() - 11..].to_vec();
    bytes.extend_from_slice(&opt);
    bytes[11] = 2;
    assert_eq!(z.answer(&bytes, &mut out), Outcome::Answered);
    assert_eq!(out[3] & 0x0f, 1, "FORMERR");
    // A question of type OPT.
    let r = ask(&z, &query("api.ostest.example.com.", RecordType::OPT));
    assert_eq!(r.metadata.response_code, ResponseCode::FormErr);
    // Runts and responses: nothing.
    assert_eq!(z.answer(&bytes[..11], &mut out), Outcome::Drop);
    let mut resp = query("api.ostest.example.com.", RecordType::A).to_vec().unwrap();
    resp[2] |= 0x80;
    assert_eq!(z.answer(&resp, &mut out), Outcome::Drop);
}

#[test]
fn other_opcodes_classes_and_transfers() {
    let z = zone();
    let mut q = query("api.ostest.example.com.", RecordType::A);
    q.metadata.op_code = OpCode::Notify;
    let r = ask(&z, &q);
    assert_eq!(r.metadata.response_code, ResponseCode::NotImp);
    let mut q = Message::query();
    let mut chaos = Query::query(Name::from_ascii("version.bind.").unwrap(), RecordType::TXT);
    chaos.set_query_class(DNSClass::CH);
    q.add_query(chaos);
    assert_eq!(ask(&z, &q).metadata.response_code, ResponseCode::Refused);
    let r = ask(&z, &query("ostest.example.com.", RecordType::AXFR));
    assert_eq!(r.metadata.response_code, ResponseCode::Refused);
}

#[test]
fn edns_payload_version_and_do_bit() {
    let z = zone();
    let mut q = query("api.ostest.example.com.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_max_payload(4096).set_dnssec_ok(true);
    q.set_edns(edns);
    let r = ask(&z, &q);
    let e = r.edns.as_ref().expect("an OPT in the response");
    assert_eq!(e.max_payload(), 1232);
    assert!(e.flags().dnssec_ok, "DO copied (RFC 3225)");
    let mut q = query("api.ostest.example.com.", RecordType::A);
    let mut edns = Edns::new();
    edns.set_version(1);
    q.set_edns(edns);
    let r = ask(&z, &q);
    // Extended RCODE 16: BADVERS (hickory names the shared code BADSIG, TSIG's meaning).
    assert_eq!(u16::from(r.metadata.response_code), 16);
    assert!(r.answers.is_empty());
    // No EDNS in, none out.
    assert!(ask(&z, &query("api.ostest.example.com.", RecordType::A)).edns.is_none());
}

#[test]
fn truncation_over_udp_only() {
    // 40 TXT strings of 200 bytes: far over 512 and over 1232.
    let strings: Vec<String> = (0..40).map(|i| format!("\"{}\"", format!("{i:02}").repeat(100))).collect();
    let z = zone_with(&format!("[[records]]\ntype = \"TXT\"\nname = \"big\"\ntext = [{}]", strings.join(", ")));
    let q = query("big.ostest.example.com.", RecordType::TXT);
    let r = ask(&z, &q);
    assert!(r.metadata.truncation);
    assert!(r.answers.is_empty());
    assert_eq!(r.queries.len(), 1);
    let mut out = Vec::new();
    assert_eq!(z.answer_over(&q.to_vec().unwrap(), Transport::Tcp, &mut out), Outcome::Answered);
    let r = Message::from_vec(&out).unwrap();
    assert!(!r.metadata.truncation);
    assert_eq!(r.answers.len(), 1);
}

#[test]
fn configurations_that_would_be_served_wrong_are_refused() {
    let base = |extra: &str| {
        ZoneConfig::from_toml(&format!("cluster = \"c\"\nbase_domain = \"example.com\"\n{extra}"))
            .and_then(ClusterZone::new)
    };
    // A mapped VIP would become an A record in CoreDNS's hosts plugin.
    match base(r#"api_vips = ["::ffff:192.168.111.5"]"#) {
        Err(ConfigError::MappedAddress { field, .. }) => assert_eq!(field, "api_vips"),
        other => panic!("{other:?}"),
    }
    let e = base(r#"api_vips = ["::ffff:192.168.111.5"]"#).unwrap_err().to_string();
    assert_eq!(
        e,
        "api_vips: ::ffff:192.168.111.5 is an IPv4-mapped IPv6 address; write 192.168.111.5 (or a real IPv6 address)"
    );
    assert!(matches!(base(r#"api_vips = []"#), Err(ConfigError::Empty("api_vips"))));
    assert!(matches!(base(r#"api_vips = ["0.0.0.0"]"#), Err(ConfigError::BadAddress { .. })));
    assert!(matches!(
        base("api_vips = [\"10.0.0.5\"]\n[nodes]\napi = [\"10.0.0.9\"]"),
        Err(ConfigError::Conflict { .. })
    ));
    assert!(matches!(
        base("api_vips = [\"10.0.0.5\"]\n[[records]]\ntype = \"CNAME\"\nname = \"api\"\ntarget = \"x\""),
        Err(ConfigError::Conflict { .. })
    ));
    assert!(matches!(
        base("api_vips = [\"10.0.0.5\"]\n[[records]]\ntype = \"A\"\nname = \"www.example.org.\"\naddr = \"10.0.0.1\""),
        Err(ConfigError::OutsideZone { .. })
    ));
    assert!(matches!(base("api_vips = [\"10.0.0.5\"]\nbogus = 1"), Err(ConfigError::Toml { .. })));
    assert!(matches!(
        base("api_vips = [\"10.0.0.5\"]\n[nodes]\n\"bad name\" = [\"10.0.0.9\"]"),
        Err(ConfigError::Name { .. })
    ));
}

/// The common query — one question, EDNS, a name in the zone — is answered without touching
/// the heap, whatever the answer (positive, wildcard, NODATA, NXDOMAIN), into a reused buffer.
#[test]
fn common_queries_allocate_nothing() {
    let z = zone();
    // The counter sees allocations (so that zero below means something)...
    let general = allocation_counter::measure(|| {
        let mut q = query("api.ostest.example.com.", RecordType::A);
        q.add_query(Query::query(Name::from_ascii("x.ostest.example.com.").unwrap(), RecordType::A));
        let _ = z.answer(&q.to_vec().unwrap(), &mut Vec::new());
    });
    assert!(general.count_total > 0);
    let mut out = Vec::with_capacity(4096);
    for (name, rtype) in [
        ("api.ostest.example.com.", RecordType::A),
        ("Api-Int.ostest.example.com.", RecordType::AAAA),
        ("a.b.apps.ostest.example.com.", RecordType::A),
        ("x.apps.ostest.example.com.", RecordType::AAAA),
        ("nope.ostest.example.com.", RecordType::A),
        ("20.111.168.192.in-addr.arpa.", RecordType::PTR),
    ] {
        let mut q = query(name, rtype);
        q.set_edns(Edns::new());
        let bytes = q.to_vec().unwrap();
        let info = allocation_counter::measure(|| {
            let _ = z.answer(&bytes, &mut out);
        });
        assert_eq!(info.count_total, 0, "{name} {rtype}: {info:?}");
        assert!(!out.is_empty());
    }
}

/// `dig -c CH health.bmnet TXT`: the probe a static pod's liveness check runs.
#[test]
fn health_query() {
    let mut q = Message::query();
    let mut health = Query::query(Name::from_ascii("Health.BMNET.").unwrap(), RecordType::TXT);
    health.set_query_class(DNSClass::CH);
    q.add_query(health);
    let r = ask(&zone(), &q);
    assert_eq!(r.metadata.response_code, ResponseCode::NoError);
    assert_eq!(r.answers[0].dns_class, DNSClass::CH);
    assert_eq!(r.answers[0].data.to_string(), "okzone=ostest.example.comserial=1"); // hickory joins the strings
}

/// `query` signed with a key nobody has: a TSIG record (RFC 8945 §4.2) appended.
fn signed(query: &Message) -> Vec<u8> {
    let mut bytes = query.to_vec().unwrap();
    let ar = u16::from_be_bytes([bytes[10], bytes[11]]) + 1;
    bytes[10..12].copy_from_slice(&ar.to_be_bytes());
    bytes.extend_from_slice(b"\x07somekey\x00\x00\xfa\x00\xff\x00\x00\x00\x00");
    let mut rdata = b"\x0bhmac-sha256\x00".to_vec();
    rdata.extend_from_slice(&[0, 0, 0x6b, 0x13, 0x5f, 0x00]); // time signed
    rdata.extend_from_slice(&300u16.to_be_bytes());
    rdata.extend_from_slice(&32u16.to_be_bytes());
    rdata.extend_from_slice(&[0xab; 32]);
    rdata.extend_from_slice(&query.metadata.id.to_be_bytes());
    rdata.extend_from_slice(&[0, 0, 0, 0]);
    bytes.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    bytes.extend_from_slice(&rdata);
    bytes
}

/// RFC 8945 §5.2.2: we hold no keys, so a signed query for the zone gets NOTAUTH with TSIG
/// error BADKEY naming the key, unsigned; one for a name we forward goes on unchanged (§5.5).
#[test]
fn signed_queries_get_badkey_or_go_upstream_unchanged() {
    let z = zone_with(r#"upstreams = ["192.0.2.53:53"]"#);
    let mut q = query("api.ostest.example.com.", RecordType::A);
    q.metadata.id = 0x1234;
    let mut out = Vec::new();
    assert_eq!(z.answer(&signed(&q), &mut out), Outcome::Answered);
    assert_eq!(out[3] & 0x0f, 9, "NOTAUTH");
    assert_eq!(&out[..2], &[0x12, 0x34]);
    // The TSIG record ends the reply: key name, type TSIG, the algorithm, MAC size 0, BADKEY.
    let tail = &out[out.len() - 8..];
    assert_eq!(&tail[..2], &[0, 0], "MAC size 0");
    assert_eq!(&tail[2..4], &[0x12, 0x34], "original ID");
    assert_eq!(u16::from_be_bytes([tail[4], tail[5]]), 17, "BADKEY");
    assert_eq!(&tail[6..], &[0, 0], "no other data");
    assert!(out.windows(9).any(|w| w == b"\x07somekey\x00"), "names the key");
    let mut q = query("www.example.org.", RecordType::A);
    q.metadata.recursion_desired = true;
    assert_eq!(z.answer(&signed(&q), &mut out), Outcome::Forward);
}
