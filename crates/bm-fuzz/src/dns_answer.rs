//! Fuzzes `ClusterZone::answer` with arbitrary bytes: no input may panic; every answer is a
//! well-formed DNS response (hickory-proto reads it back) with the query's id, QR set, and
//! within the UDP size the query allows; TCP answers are never truncated below that.

use std::sync::OnceLock;

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
"#,
            )
            .unwrap(),
        )
        .unwrap()
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let zone = zone();
    let mut out = Vec::new();
    for transport in [Transport::Udp, Transport::Tcp] {
        match zone.answer_over(data, transport, &mut out) {
            Outcome::Answered => {
                assert!(out.len() >= 12);
                assert_eq!(&out[..2], &data[..2], "same id");
                assert!(out[2] & 0x80 != 0, "QR set");
                if transport == Transport::Udp {
                    assert!(out.len() <= 1232, "{} bytes over UDP", out.len());
                }
                Message::from_vec(&out).expect("a well-formed response");
            }
            Outcome::Forward => assert!(out.is_empty()),
            Outcome::Drop => {}
        }
    }
}
