//! The socket backend over loopback (no root, no FRR): peers are bm-bgp sessions of the test
//! (passive) behind `TcpListener`s, driven with blocking reads on threads of their own.

// Tests open sockets, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bm_bgp::bfd::{BfdConfig, BfdConfigError};
use bm_bgp::message::{CeaseSubcode, ErrorCode};
use bm_bgp::{
    Action, CloseCause, Config, Event, Family, PeerConfig, PeerConfigError, Session, Speaker, SpeakerError,
    SpeakerEvent, SpeakerEventKind, State, Stats,
};
use ipnet::IpNet;

const LIMIT: Duration = Duration::from_secs(60);

/// What a peer of the test saw.
#[derive(Debug)]
struct Seen {
    stats: Stats,
    events: Vec<Event>,
}

/// A peer (AS 64512) on `listener`: accepts one connection and runs a passive session on it.
/// With `stall`, it stops reading once Established and waits for `release` before it returns.
fn peer(listener: TcpListener, families: Vec<Family>, stall: Option<mpsc::Receiver<()>>) -> JoinHandle<Seen> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut config = Config::new(64512, 64601, "10.255.0.1".parse().unwrap());
        config.passive = true;
        config.families = families;
        let mut session = Session::new(config).unwrap();
        let epoch = Instant::now();
        session.start(epoch.elapsed());
        session.tcp_connected(epoch.elapsed());
        let mut events = Vec::new();
        let mut buf = vec![0; 65536];
        loop {
            while let Some(action) = session.poll_action() {
                match action {
                    Action::Send { bytes } => {
                        let _ = stream.write_all(&bytes);
                    }
                    Action::Close => return Seen { stats: session.stats().clone(), events },
                    Action::Event { event } => events.push(event),
                    Action::Connect => unreachable!("passive"),
                }
            }
            if session.state() == State::Established
                && let Some(release) = &stall
            {
                // A peer that stops reading: the speaker's buffer for it fills up.
                let _ = release.recv();
                return Seen { stats: session.stats().clone(), events };
            }
            let now = epoch.elapsed();
            match stream.read(&mut buf) {
                Ok(0) => {
                    session.tcp_closed(now);
                    return Seen { stats: session.stats().clone(), events };
                }
                Ok(n) => session.handle_bytes(now, &buf[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
                Err(_) => {
                    session.tcp_closed(now);
                    return Seen { stats: session.stats().clone(), events };
                }
            }
            session.handle_timeout(epoch.elapsed());
        }
    })
}

fn node(peer: SocketAddr, families: Vec<Family>) -> PeerConfig {
    let mut c = Config::new(64601, 64512, "10.255.0.2".parse().unwrap());
    c.families = families;
    c.next_hop_v4 = Some("127.0.0.1".parse().unwrap());
    c.next_hop_v6 = Some("2001:db8::2".parse().unwrap());
    c.connect_retry = Duration::from_secs(2);
    c.idle_hold = Duration::from_secs(30);
    let mut p = PeerConfig::new(c, peer.ip());
    p.port = peer.port();
    p
}

fn wait_for(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return eprintln!("{what}: after {:.2}s", start.elapsed().as_secs_f64()),
            Err(last) if start.elapsed() > LIMIT => panic!("{what}: not after {LIMIT:?}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_peer_that_stops_reading_is_reset_and_holds_up_no_other() {
    let slow_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let good_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let (slow_addr, good_addr) = (slow_listener.local_addr().unwrap(), good_listener.local_addr().unwrap());
    let (release, stalled) = mpsc::channel();
    let slow = peer(slow_listener, vec![Family::IPV6_UNICAST], Some(stalled));
    let good = peer(good_listener, vec![Family::IPV4_UNICAST], None);

    // 300 000 IPv6 routes for the slow peer: about 5 MB of UPDATEs, more than the kernel's
    // buffers hold for a peer that does not read, far more than its 64 KiB bound.
    let mut slow_peer = node(slow_addr, vec![Family::IPV6_UNICAST]);
    slow_peer.write_buffer_limit = 64 * 1024;
    let mut speaker = Speaker::new(vec![slow_peer, node(good_addr, vec![Family::IPV4_UNICAST])]).unwrap();
    let handle = speaker.handle();
    for i in 0..300_000u128 {
        let a = Ipv6Addr::from(0x2001_0db8_0100_0000_0000_0000_0000_0000u128 + i);
        handle.announce(IpNet::new(IpAddr::V6(a), 128).unwrap()).unwrap();
    }
    handle.announce("192.0.2.10/32".parse().unwrap()).unwrap();
    let events: Arc<Mutex<Vec<SpeakerEvent>>> = Arc::default();
    let log = Arc::clone(&events);
    let running = std::thread::spawn(move || {
        speaker.run(|e| log.lock().unwrap().push(e)).unwrap();
        speaker
    });

    let of = |peer: usize, f: &dyn Fn(&SpeakerEventKind) -> bool| {
        events.lock().unwrap().iter().any(|e| e.peer == peer && f(&e.kind))
    };
    wait_for("the slow peer reset for a full buffer", || {
        if of(0, &|k| matches!(k, SpeakerEventKind::Closed { cause: CloseCause::WriteBufferFull { .. } })) {
            Ok(())
        } else {
            Err(format!("{:?}", events.lock().unwrap().iter().filter(|e| e.peer == 0).collect::<Vec<_>>()))
        }
    });
    // Meanwhile the other peer is up, and gets what is announced now.
    let established = |k: &SpeakerEventKind| {
        matches!(k, SpeakerEventKind::Session { event: Event::StateChanged { to: State::Established, .. } })
    };
    assert!(of(1, &established), "{:?}", events.lock().unwrap());
    handle.announce("192.0.2.11/32".parse().unwrap()).unwrap();
    handle.withdraw("192.0.2.10/32".parse().unwrap());
    handle.stop(Some("bye")).unwrap();
    let speaker = running.join().unwrap();
    release.send(()).unwrap();
    slow.join().unwrap();

    let good = good.join().unwrap();
    assert_eq!((good.stats.routes_received, good.stats.withdrawals_received), (2, 1), "{:?}", good.stats);
    let cease = good.events.iter().find_map(|e| match e {
        Event::NotificationReceived { notification } => Some(notification.clone()),
        _ => None,
    });
    let cease = cease.expect("a NOTIFICATION");
    assert_eq!(cease.code, ErrorCode::Cease(CeaseSubcode::AdministrativeShutdown));
    assert_eq!(cease.shutdown_message(), Some("bye"));
    assert_eq!(speaker.session(1).unwrap().stats().established, 1);
    let events = events.lock().unwrap();
    assert!(
        !events.iter().any(
            |e| e.peer == 1 && matches!(e.kind, SpeakerEventKind::Closed { cause } if cause != CloseCause::Session)
        )
    );
    assert_eq!(events.iter().filter(|e| matches!(e.kind, SpeakerEventKind::Stopped)).count(), 2);
}

#[test]
fn a_refused_connection_is_retried_and_stop_ends_the_run() {
    // A port nobody listens on: refused, Active, then another attempt after ConnectRetry.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut config = node(addr, vec![Family::IPV4_UNICAST]);
    config.session.connect_retry = Duration::from_millis(200);
    let mut speaker = Speaker::new(vec![config]).unwrap();
    let handle = speaker.handle();
    let events: Arc<Mutex<Vec<SpeakerEvent>>> = Arc::default();
    let log = Arc::clone(&events);
    let running = std::thread::spawn(move || {
        speaker.run(|e| log.lock().unwrap().push(e)).unwrap();
        speaker
    });
    wait_for("three refused attempts", || {
        let refused = events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e.kind, SpeakerEventKind::ConnectFailed { error } if error.0 == 111))
            .count();
        if refused >= 3 { Ok(()) } else { Err(format!("{refused}")) }
    });
    handle.stop(None).unwrap();
    let speaker = running.join().unwrap();
    assert_eq!(speaker.session(0).unwrap().state(), State::Idle);
    let refused = events.lock().unwrap().iter().find_map(|e| match e.kind {
        SpeakerEventKind::ConnectFailed { error } => Some(error.to_string()),
        _ => None,
    });
    assert!(refused.unwrap().contains("refused"));
}

#[test]
fn configurations_are_checked() {
    let addr: SocketAddr = "127.0.0.1:179".parse().unwrap();
    let base = node(addr, vec![Family::IPV4_UNICAST]);
    assert!(matches!(Speaker::new(Vec::new()), Err(SpeakerError::PeerCount(0))));
    assert!(matches!(Speaker::new(vec![base.clone(); 17]), Err(SpeakerError::PeerCount(17))));
    assert!(matches!(Speaker::new(vec![base.clone(), base.clone()]), Err(SpeakerError::DuplicatePeer(a)) if a == addr));
    let refused = |f: &dyn Fn(&mut PeerConfig)| {
        let mut p = base.clone();
        f(&mut p);
        p.validate().unwrap_err()
    };
    assert_eq!(refused(&|p| p.session.passive = true), PeerConfigError::Passive);
    assert_eq!(refused(&|p| p.port = 0), PeerConfigError::ZeroPort);
    assert_eq!(refused(&|p| p.md5_password = Some("x".repeat(81))), PeerConfigError::Md5Password(81));
    assert_eq!(refused(&|p| p.md5_password = Some(String::new())), PeerConfigError::Md5Password(0));
    assert_eq!(
        refused(&|p| {
            p.ttl = Some(2);
            p.ttl_security_hops = Some(1);
        }),
        PeerConfigError::TtlAndGtsm
    );
    assert_eq!(refused(&|p| p.ttl = Some(0)), PeerConfigError::ZeroTtl);
    assert!(matches!(
        refused(&|p| p.local_address = Some("::1".parse().unwrap())),
        PeerConfigError::SourceFamily { .. }
    ));
    assert!(matches!(refused(&|p| p.address = "fe80::1".parse().unwrap()), PeerConfigError::LinkLocal(_)));
    assert_eq!(refused(&|p| p.write_buffer_limit = 100), PeerConfigError::WriteBufferLimit(100));
    let bfd = |tx: u64, mult: u8| Some(BfdConfig::new(Duration::from_millis(tx), Duration::from_millis(100), mult));
    assert_eq!(refused(&|p| p.bfd = bfd(100, 0)), PeerConfigError::Bfd(BfdConfigError::ZeroMultiplier));
    assert_eq!(refused(&|p| p.bfd = bfd(0, 3)), PeerConfigError::Bfd(BfdConfigError::MinTx(0)));
    let mut with_bfd = base.clone();
    with_bfd.bfd = bfd(100, 3);
    assert_eq!(with_bfd.validate(), Ok(()));
    let mut restarting = with_bfd.clone();
    restarting.session.graceful_restart = Some(120);
    assert_eq!(restarting.validate(), Err(PeerConfigError::GracefulRestartWithBfd), "stale paths would outlive BFD");
    assert!(Speaker::new(vec![with_bfd.clone()]).unwrap().bfd_session(0).is_some_and(|b| b.local_discriminator() != 0));
    // A configuration from before BFD reads as without it.
    let mut json = serde_json::to_value(&with_bfd).unwrap();
    json.as_object_mut().unwrap().remove("bfd");
    assert_eq!(serde_json::from_value::<PeerConfig>(json).unwrap().bfd, None);
    let e = Speaker::new(vec![base.clone(), refused_peer()]).unwrap_err();
    assert_eq!(e.to_string(), "peer 1 (127.0.0.2): AS 0 is reserved: set local_asn and peer_asn");

    // TTLs: 1 for eBGP, 255 for iBGP, 255 with GTSM accepting 256 - hops.
    let mut p = base.clone();
    assert_eq!((p.effective_ttl(), p.min_ttl()), (1, None));
    p.session.peer_asn = p.session.local_asn;
    assert_eq!(p.effective_ttl(), 255);
    p.ttl_security_hops = Some(3);
    assert_eq!((p.effective_ttl(), p.min_ttl()), (255, Some(253)));
    p.ttl_security_hops = Some(255);
    assert_eq!(p.min_ttl(), Some(1));

    // The handle checks announcements against every peer at once.
    let speaker = Speaker::new(vec![base]).unwrap();
    let handle = speaker.handle();
    assert!(handle.announce("2001:db8::/64".parse().unwrap()).is_err());
    assert!(handle.stop(Some(&"x".repeat(256))).is_err());
}

fn refused_peer() -> PeerConfig {
    let mut p = node("127.0.0.2:179".parse().unwrap(), vec![Family::IPV4_UNICAST]);
    p.session.peer_asn = 0;
    p
}
