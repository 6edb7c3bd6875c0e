//! Differential: the DNS server's two query readers. The fast path reads the common shape
//! (one question, at most an OPT) by hand; everything else goes through hickory-proto (the
//! general path). Every query the fast path takes must be read the same way by the general
//! path, and answered byte for byte the same whichever path read it, over UDP and TCP, for a
//! client that may and one that may not have names forwarded. Every answer is a well-formed
//! response (hickory-proto reads it back) with the query's ID.
//!
//! The input is the query's bytes (the `dns_answer` corpus seeds it).

use std::sync::OnceLock;

use bm_dns::fuzzing::{answer_by, read_fast, read_general};
use bm_dns::{ClusterZone, Outcome, Transport, ZoneConfig};
use hickory_proto::op::Message;

fn zone() -> &'static ClusterZone {
    static ZONE: OnceLock<ClusterZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        ClusterZone::new(
            ZoneConfig::from_toml(
                r#"
cluster = "c"
base_domain = "example.com"
api_vips = ["192.0.2.5", "2001:db8::5"]
ingress_vips = ["192.0.2.4"]
upstreams = ["192.0.2.53:53"]
short_names = true
[nodes]
m0 = ["192.0.2.20", "2001:db8::20"]
[[records]]
type = "CNAME"
name = "console"
target = "console.apps"
[[records]]
type = "TXT"
name = "@"
text = ["x"]
[[records]]
type = "SRV"
name = "_etcd-server-ssl._tcp"
priority = 0
weight = 10
port = 2380
target = "m0"
"#,
            )
            .unwrap(),
        )
        .unwrap()
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let Some(fast) = read_fast(data) else { return };
    assert_eq!(fast, read_general(data), "the general path reads the query otherwise");
    let zone = zone();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for transport in [Transport::Udp, Transport::Tcp] {
        for recursion in [true, false] {
            let by_fast = answer_by(zone, data, false, transport, recursion, &mut a);
            let by_general = answer_by(zone, data, true, transport, recursion, &mut b);
            assert_eq!(by_fast, by_general, "{transport:?}, recursion {recursion}");
            assert_eq!(a, b, "{transport:?}, recursion {recursion}: answers differ");
            if by_fast == Some(Outcome::Answered) {
                assert_eq!(a[..2], data[..2], "the query's ID");
                Message::from_vec(&a).expect("a well-formed response");
            }
        }
    }
}
