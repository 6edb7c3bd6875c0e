//! bm-vrrp core: adverts processed per second by a backup (decode, every receive check, the
//! timer reset), and by a master hearing a lower priority (decode, check, an advert encoded in
//! reply). Issue target: over 5 M adverts per second on one core.
//!
//! Run: `cargo bench --bench vrrp_adverts`.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{Advert, AdvertInterval, Config, GROUP_V4, Instance, V3Ipv4Checksum, Version, encode};
use criterion::{Criterion, Throughput};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn main() {
    let vip = ip("192.168.111.5");
    let mut backup = Instance::new(Config::new(51, 40, ip("192.168.111.21"), vec![vip])).unwrap();
    backup.start(Duration::ZERO);
    while backup.poll_action().is_some() {}
    let mut master = Instance::new(Config::new(51, 255, ip("192.168.111.20"), vec![vip])).unwrap();
    master.start(Duration::ZERO);
    while master.poll_action().is_some() {}
    let advert = |priority| {
        let a = Advert {
            vrid: 51,
            priority,
            interval: AdvertInterval::one_second(Version::V2),
            addrs: vec![vip],
            auth: None,
        };
        let mut out = Vec::new();
        encode(&a, ip("192.168.111.20"), GROUP_V4, V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
        out
    };
    let (from_master, from_lower) = (advert(60), advert(30));
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("vrrp_adverts");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    let mut now = Duration::ZERO;
    g.bench_function("backup_accepts", |b| {
        b.iter(|| {
            now += Duration::from_millis(1);
            backup.handle_packet(now, ip("192.168.111.20"), GROUP_V4, 255, black_box(&from_master)).unwrap();
        })
    });
    g.bench_function("master_reasserts", |b| {
        b.iter(|| {
            now += Duration::from_millis(1);
            master.handle_packet(now, ip("192.168.111.22"), GROUP_V4, 255, black_box(&from_lower)).unwrap();
            while let Some(a) = master.poll_action() {
                black_box(a);
            }
        })
    });
    g.finish();
    c.final_summary();
}
