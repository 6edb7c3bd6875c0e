//! bm-dns: one query answered by `ClusterZone::answer` (issue target: under 250 ns for the
//! common query, with no heap allocation on that path — `tests/answer.rs` checks the latter),
//! for the shapes a cluster sees: a positive answer, a wildcard at depth, the missing family
//! (NODATA with the SOA), NXDOMAIN, and a query the general (hickory-proto) path reads.
//!
//! And the server's dispatch step, `Responder::respond`, for the same query from a client on
//! the recursion list and from one off it: what the access check adds to an answer (issue 13:
//! under 5 % of throughput), printed as a ratio of interleaved timings after criterion's table.
//!
//! Run: `cargo bench --bench dns_answer`.

use std::hint::black_box;
use std::time::Duration;

use bm_dns::{Access, AclEntry, ClusterZone, Responder, Transport, ZoneConfig};
use criterion::Criterion;
use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};

fn query(name: &str, rtype: RecordType, edns: bool) -> Vec<u8> {
    let mut q = Message::query();
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    if edns {
        q.set_edns(Edns::new());
    }
    q.to_vec().unwrap()
}

fn main() {
    let zone = ClusterZone::new(
        ZoneConfig::from_toml(
            r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4"]
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
master-1 = ["192.168.111.21", "fd2e:6f44:5dd8::21"]
master-2 = ["192.168.111.22", "fd2e:6f44:5dd8::22"]
"#,
        )
        .unwrap(),
    )
    .unwrap();
    // The general path: an extra (empty) authority count is not the fast path's shape.
    let mut general = query("api-int.ostest.example.com.", RecordType::A, true);
    let mut m = Message::from_vec(&general).unwrap();
    m.add_authority(hickory_proto::rr::Record::from_rdata(
        Name::from_ascii("ostest.example.com.").unwrap(),
        0,
        hickory_proto::rr::RData::A(hickory_proto::rr::rdata::A("192.0.2.1".parse().unwrap())),
    ));
    general = m.to_vec().unwrap();

    let cases = [
        ("api_a", query("api.ostest.example.com.", RecordType::A, true)),
        ("apps_wildcard_depth3", query("a.b.c.apps.ostest.example.com.", RecordType::A, true)),
        ("api_aaaa_nodata", query("api.ostest.example.com.", RecordType::AAAA, true)),
        ("nxdomain", query("nope.ostest.example.com.", RecordType::A, true)),
        ("no_edns", query("master-1.ostest.example.com.", RecordType::AAAA, false)),
        ("general_path", general),
    ];
    // A node's typical lists: loopback, the on-link subnets, and a pod network.
    let localnets = ["192.168.111.0/24".parse().unwrap(), "fd2e:6f44:5dd8::/64".parse().unwrap()];
    let recursion = [AclEntry::Localhost, AclEntry::Localnets, "10.128.0.0/14".parse().unwrap()];
    let responder = Responder::new(zone.clone(), Access::resolve(&recursion, AclEntry::DEFAULT_QUERY, &localnets));
    let node = "192.168.111.21".parse().unwrap();
    let stranger = "203.0.113.9".parse().unwrap();
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("dns_answer");
    g.measurement_time(Duration::from_secs(3));
    let mut out = Vec::with_capacity(4096);
    for (name, q) in &cases {
        g.bench_function(*name, |b| b.iter(|| zone.answer(black_box(q), &mut out)));
    }
    let api = &cases[0].1;
    g.bench_function("respond_api_a_node", |b| {
        b.iter(|| responder.respond(black_box(api), node, Transport::Udp, &mut out))
    });
    g.bench_function("respond_api_a_stranger", |b| {
        b.iter(|| responder.respond(black_box(api), stranger, Transport::Udp, &mut out))
    });
    g.finish();
    c.final_summary();
    dispatch_ratio(&zone, &responder, api, node, &mut out);
}

/// `respond` against `answer` for the same query, interleaved in rounds so that both see the
/// same machine; the median ratio of the rounds.
#[allow(clippy::disallowed_methods)] // A bench times things.
fn dispatch_ratio(zone: &ClusterZone, responder: &Responder, q: &[u8], client: std::net::IpAddr, out: &mut Vec<u8>) {
    const N: u32 = 200_000;
    let mut ratios = Vec::new();
    for _ in 0..15 {
        let t = std::time::Instant::now();
        for _ in 0..N {
            let _ = black_box(zone.answer(black_box(q), out));
        }
        let plain = t.elapsed();
        let t = std::time::Instant::now();
        for _ in 0..N {
            let _ = black_box(responder.respond(black_box(q), client, Transport::Udp, out));
        }
        ratios.push(t.elapsed().as_secs_f64() / plain.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "dispatch: Responder::respond / ClusterZone::answer for api A from a node on the lists: {:.3}x (median of 15 rounds of {N})",
        ratios[7]
    );
}
