//! The `socket` feature against the real kernel: a mapped address binds AF_INET and accepts a
//! connection, where an IPv6-only socket gets EINVAL.

// Talks to the kernel on loopback on purpose.
#![allow(clippy::disallowed_methods)]
#![cfg(feature = "socket")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use bm_addr::{BindTarget, Family, Transport};
use socket2::{Domain, SockAddr, Socket, Type};

#[test]
fn mapped_loopback_binds_ipv4_and_accepts() {
    let target = BindTarget::new("::ffff:127.0.0.1".parse().unwrap(), 0).unwrap();
    assert_eq!(target.family, Family::Ipv4);
    let socket = target.bind(Transport::Tcp).unwrap();
    socket.listen(1).unwrap();
    let local = socket.local_addr().unwrap().as_socket().unwrap();
    assert!(local.is_ipv4(), "{local}");

    let mut client = TcpStream::connect(local).unwrap();
    client.write_all(b"ping").unwrap();
    let (conn, peer) = socket.accept().unwrap();
    assert_eq!(peer.as_socket().unwrap().ip(), "127.0.0.1".parse::<std::net::IpAddr>().unwrap());
    let mut conn: std::net::TcpStream = conn.into();
    let mut buf = [0u8; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
}

#[test]
fn the_kernel_refuses_a_mapped_bind_on_an_ipv6_only_socket() {
    // What `nc -l ::ffff:127.0.0.1` does, and why BindTarget exists.
    let s = Socket::new(Domain::IPV6, Type::STREAM, None).unwrap();
    s.set_only_v6(true).unwrap();
    let addr: SocketAddr = "[::ffff:127.0.0.1]:0".parse().unwrap();
    let err = s.bind(&SockAddr::from(addr)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(22), "expected EINVAL, got {err}");
}

#[test]
fn ipv6_loopback_binds_v6only() {
    let target = BindTarget::new("::1".parse().unwrap(), 0).unwrap();
    let socket = target.bind(Transport::Udp).unwrap();
    assert!(socket.only_v6().unwrap());
    assert!(socket.local_addr().unwrap().as_socket_ipv6().is_some());
}

#[test]
fn named_zone_resolves_through_sysfs() {
    // `lo` always exists; fe80::/10 is not configured on it, so the kernel must answer
    // EADDRNOTAVAIL, which proves the zone resolved to an index (an unknown name fails earlier).
    let target = BindTarget::new("fe80::1%lo".parse().unwrap(), 0).unwrap();
    let err = target.bind(Transport::Udp).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(99), "expected EADDRNOTAVAIL, got {err}");
    let missing = BindTarget::new("fe80::1%nosuchif0".parse().unwrap(), 0).unwrap();
    let err = missing.bind(Transport::Udp).unwrap_err();
    assert!(err.to_string().contains("no such interface"), "{err}");
}
