//! bm-dns: one query answered by `ClusterZone::answer` (issue target: under 250 ns for the
//! common query, with no heap allocation on that path — `tests/answer.rs` checks the latter),
//! for the shapes a cluster sees: a positive answer, a wildcard at depth, the missing family
//! (NODATA with the SOA), NXDOMAIN, and a query the general (hickory-proto) path reads.
//!
//! Run: `cargo bench --bench dns_answer`.

use std::hint::black_box;
use std::time::Duration;

use bmnet::dns::{ClusterZone, ZoneConfig};
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
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("dns_answer");
    g.measurement_time(Duration::from_secs(3));
    let mut out = Vec::with_capacity(4096);
    for (name, q) in &cases {
        g.bench_function(*name, |b| b.iter(|| zone.answer(black_box(q), &mut out)));
    }
    g.finish();
    c.final_summary();
}
