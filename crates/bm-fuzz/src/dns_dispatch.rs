//! Fuzzes the server's whole dispatch step, sans-IO: query bytes and a client address in
//! (`Responder::respond`, with access lists and upstreams), and, when it says to forward, the
//! forwarder with an arbitrary upstream reply. No input may panic; an answer is a response
//! with the query's ID within the client's UDP size; a client off the query list is never
//! answered with data; a relayed reply has the client's ID, fits, parses, and answers the
//! question asked.

use std::net::{IpAddr, SocketAddr};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bm_dns::{
    Access, AclEntry, ClusterZone, ForwardOutput, Forwarder, ForwarderConfig, Outcome, Responder, Transport, ZoneConfig,
};
use hickory_proto::op::Message;

const UPSTREAM: &str = "192.0.2.53:53";

fn responder() -> &'static Responder {
    static R: OnceLock<Responder> = OnceLock::new();
    R.get_or_init(|| {
        let zone = ClusterZone::new(
            ZoneConfig::from_toml(&format!(
                r#"
cluster = "c"
base_domain = "example.com"
api_vips = ["192.0.2.5", "2001:db8::5"]
ingress_vips = ["192.0.2.4"]
upstreams = ["{UPSTREAM}"]
[nodes]
m0 = ["192.0.2.20", "2001:db8::20"]
"#
            ))
            .unwrap(),
        )
        .unwrap();
        let query = ["10.0.0.0/8".parse().unwrap(), AclEntry::Localhost, "2001:db8::/32".parse().unwrap()];
        let access =
            Access::resolve(&[AclEntry::Localnets, AclEntry::Localhost], &query, &["10.1.0.0/16".parse().unwrap()]);
        Responder::new(zone, access)
    })
}

/// One input.
pub fn run(data: &[u8]) {
    if data.len() < 19 {
        return;
    }
    // 16 bytes of client address, a flag byte (v4 or v6, UDP or TCP), a query length, then
    // the query and an upstream reply.
    let (addr, rest) = data.split_at(16);
    let v6 = u128::from_be_bytes(addr.try_into().unwrap());
    let (flags, rest) = (rest[0], &rest[1..]);
    let client =
        if flags & 1 == 0 { IpAddr::from(((v6 >> 96) as u32).to_be_bytes()) } else { IpAddr::from(v6.to_be_bytes()) };
    let transport = if flags & 2 == 0 { Transport::Udp } else { Transport::Tcp };
    let (qlen, rest) = (usize::from(rest[0]) * 2, &rest[1..]);
    let (query, reply) = rest.split_at(qlen.min(rest.len()));
    let r = responder();
    let mut out = Vec::new();
    match r.respond(query, client, transport, &mut out) {
        Outcome::Answered => {
            assert!(out.len() >= 12 && out[..2] == query[..2] && out[2] & 0x80 != 0);
            if transport == Transport::Udp {
                assert!(out.len() <= 1232, "{} bytes over UDP", out.len());
            }
            if !r.access().query.allows(client) {
                assert_eq!(out[3] & 0x0f, 5, "REFUSED for a client off the query list");
                assert_eq!(&out[6..10], &[0, 0, 0, 0], "no data for it");
            }
            Message::from_vec(&out).expect("a well-formed response");
        }
        Outcome::Forward => {
            assert!(r.access().recursion.allows(client) && query[2] & 0x01 != 0, "only RD queries of allowed clients");
            let now = Instant::now();
            let mut f: Forwarder<()> = Forwarder::new(ForwarderConfig::new(vec![UPSTREAM.parse().unwrap()]), [1; 16]);
            f.handle_query(now, query, client, transport, ()).expect("a query the dispatch step forwards is taken");
            let Some(ForwardOutput::Query { socket, upstream, bytes }) = f.poll_output() else { panic!("a query out") };
            // The fuzzer's reply, given the forwarder's ID so that it gets past the first check.
            let mut reply = reply.to_vec();
            if reply.len() >= 2 {
                reply[..2].copy_from_slice(&bytes[..2]);
            }
            let from: SocketAddr = upstream;
            if f.handle_reply(now, socket, from, &reply).is_ok() {
                let Some(ForwardOutput::Reply { bytes, .. }) = f.poll_output() else { panic!("a reply out") };
                assert_eq!(bytes[..2], query[..2], "the client's ID");
                let limit = if transport == Transport::Tcp { 65_535 } else { 1232 };
                assert!(bytes.len() <= limit);
                let m = Message::from_vec(&bytes).expect("a relayed reply parses");
                let q = Message::from_vec(query).expect("a forwarded query parses");
                assert_eq!(m.queries.len(), 1);
                assert_eq!(m.queries[0].name().to_lowercase(), q.queries[0].name().to_lowercase());
            }
            f.handle_timeout(now + Duration::from_secs(3));
        }
        Outcome::Drop => {}
    }
}
