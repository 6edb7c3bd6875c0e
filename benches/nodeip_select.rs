//! Node-IP selection on a large snapshot: 1,000 links and 10,000 addresses (issue #3 target:
//! under 1 ms), with a VIP (VIP-subnet method) and without (default-route method), once with a
//! fresh `select()` per call (scratch and result allocated anew: with glibc's malloc the freed
//! megabytes go back to the kernel and come back as page faults) and once with a `Selector`
//! kept across calls (only the result is allocated), as a daemon that re-selects would.
//!
//! Run: `cargo bench --bench nodeip_select`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use bm_addr::Family;
use bm_addr::ipnet::IpNet;
use bm_nodeip::{Address, AddressFlags, HostSnapshot, Link, Policy, Route, Selector, select};
use criterion::Criterion;

/// 1,000 links, each with 5 IPv4 and 5 IPv6 addresses (some deprecated, secondary or
/// temporary), a default route of each family on every tenth link with varied metrics.
fn big_host() -> HostSnapshot {
    let mut s = HostSnapshot::default();
    for i in 0..1000u32 {
        let index = i + 2;
        s.links.push(Link {
            index,
            name: format!("veth{i}"),
            kind: Some("veth".into()),
            up: true,
            lower_up: true,
            mtu: 1500,
            ..Link::default()
        });
        for j in 0..5u32 {
            let v4 = Ipv4Addr::new(10, (i / 250) as u8, (i % 250) as u8, (j * 10 + 1) as u8);
            let flags = AddressFlags { permanent: j != 4, secondary: j > 0, ..AddressFlags::default() };
            s.addresses.push(Address {
                link: index,
                addr: IpNet::new(IpAddr::V4(v4), 24).unwrap(),
                scope: Default::default(),
                flags,
                label: None,
                preferred_lft: None,
                valid_lft: None,
            });
            let v6 = Ipv6Addr::new(0xfd00, i as u16, 0, 0, 0, 0, 0, j as u16 + 1);
            let flags =
                AddressFlags { permanent: j < 2, temporary: j == 3, deprecated: j == 4, ..AddressFlags::default() };
            s.addresses.push(Address {
                link: index,
                addr: IpNet::new(IpAddr::V6(v6), 64).unwrap(),
                scope: Default::default(),
                flags,
                label: None,
                preferred_lft: None,
                valid_lft: None,
            });
        }
        if i % 10 == 0 {
            for (family, dst, gw) in [
                (Family::Ipv4, "0.0.0.0/0", IpAddr::V4(Ipv4Addr::new(10, (i / 250) as u8, (i % 250) as u8, 254))),
                (Family::Ipv6, "::/0", IpAddr::V6(Ipv6Addr::new(0xfd00, i as u16, 0, 0, 0, 0, 0, 0xfffe))),
            ] {
                s.routes.push(Route {
                    table: 254,
                    family,
                    destination: dst.parse().unwrap(),
                    gateway: Some(gw),
                    link: Some(index),
                    metric: 100 + (i * 7919) % 1000,
                    protocol: Default::default(),
                    kind: Default::default(),
                    prefsrc: None,
                    nexthops: Vec::new(),
                });
            }
        }
    }
    s
}

fn main() {
    let host = big_host();
    assert_eq!((host.links.len(), host.addresses.len()), (1000, 10_000));
    let default_route = Policy::default();
    let vip = Policy::openshift(vec!["10.3.200.99".parse().unwrap()], Vec::new());
    assert!(!select(&host, &default_route).chosen.is_empty());
    assert_eq!(select(&host, &vip).chosen[0].addr.to_string(), "10.3.200.1/24");

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("nodeip_select_1000_links_10000_addrs");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("default_route", |b| b.iter(|| select(black_box(&host), black_box(&default_route))));
    g.bench_function("vip_subnet", |b| b.iter(|| select(black_box(&host), black_box(&vip))));
    let mut selector = Selector::new();
    assert_eq!(selector.select(&host, &vip), select(&host, &vip));
    g.bench_function("default_route_selector_reused", |b| {
        b.iter(|| selector.select(black_box(&host), black_box(&default_route)))
    });
    g.bench_function("vip_subnet_selector_reused", |b| b.iter(|| selector.select(black_box(&host), black_box(&vip))));
    g.finish();
    c.final_summary();
}
