//! BFD interop with FRR (8.4): the router namespace runs zebra, bgpd and bfdd, its bgpd
//! neighbour with `bfd` and a profile of 100 ms × 3; the node runs a bm-bgp [`Speaker`] with
//! BFD 100 ms × 3. FRR must show the BFD peer Up and the VIP route; when the node's link is
//! cut, the speaker must see BFD go down and take the BGP session down long before the hold
//! time (30 s) would have. Over IPv4 and over IPv6.
//!
//! A second test checks the backend's RFC 5881 reception checks with packets the test crafts
//! (source port, TTL), over the loopback of a namespace of its own.
//!
//! Root is needed (namespaces, setns). FRR missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::time::{Duration, Instant};

use std::net::UdpSocket;
use std::path::PathBuf;

use bm_bgp::bfd::{BfdConfig, BfdEvent, BfdState, ControlPacket, Diag, DropReason};
use bm_bgp::{Event, Family, PeerConfig, Reason, SpeakerEventKind, State};
use bm_testkit::Netns;
use serde_json::Value;
use util::{Frr, LIMIT, Lab, Running, ip, node_config, wait_for};

const VIP: &str = "192.0.2.10/32";
const HOLD: u16 = 30;

fn bfd_up(k: &SpeakerEventKind) -> bool {
    matches!(k, SpeakerEventKind::Bfd { event: BfdEvent::StateChanged { to: BfdState::Up, .. } })
}

fn bgp_down_by_bfd(k: &SpeakerEventKind) -> bool {
    matches!(
        k,
        SpeakerEventKind::Session {
            event: Event::StateChanged { to: State::Idle, reason: Reason::BfdDown { .. }, .. }
        }
    )
}

fn established(k: &SpeakerEventKind) -> bool {
    matches!(k, SpeakerEventKind::Session { event: Event::StateChanged { to: State::Established, .. } })
}

/// FRR's BFD peer `node`, when it has one.
fn frr_bfd_peer(frr: &Frr, node: &str) -> Option<Value> {
    let v = frr.json("show bfd peers json");
    v.as_array()?.iter().find(|p| p["peer"] == node).cloned()
}

#[test]
fn bfd_up_with_frr_then_a_cut_link_takes_bgp_down_before_the_hold_time() {
    cut_link("bfd4", Family::IPV4_UNICAST);
}

#[test]
fn bfd_over_ipv6_with_frr() {
    cut_link("bfd6", Family::IPV6_UNICAST);
}

/// The router and one node over `family`: BFD and BGP up, the node's link cut and restored.
fn cut_link(tag: &str, family: Family) {
    let v6 = family == Family::IPV6_UNICAST;
    let (router, node_addr, vip) =
        if v6 { ("fd00::1", "fd00::11", "2001:db8:100::10/128") } else { ("10.0.0.1", "10.0.0.11", VIP) };
    let activate = if v6 {
        format!(
            " no bgp default ipv4-unicast\n address-family ipv6 unicast\n  neighbor {node_addr} activate\n exit-address-family\n"
        )
    } else {
        String::new()
    };
    let lab = Lab::new(tag, 1);
    // Linux drops a link's IPv6 addresses when it goes down, unless told to keep them.
    lab.nodes[0].sysctl("net.ipv6.conf.eth0.keep_addr_on_down", "1");
    let frr = Frr::start_with_bfdd(
        &lab.router,
        &format!(
            "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 bgp log-neighbor-changes
 no bgp ebgp-requires-policy
 neighbor {node_addr} remote-as 64601
 neighbor {node_addr} timers 10 {HOLD}
 neighbor {node_addr} bfd
 neighbor {node_addr} bfd profile fast
{activate}"
        ),
        Some(
            "bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
",
        ),
    );
    let mut session = node_config(1, 64601, 64512, family);
    session.hold_time = HOLD;
    let mut peer = PeerConfig::new(session, ip(router));
    peer.local_address = Some(ip(node_addr));
    peer.bfd = Some(BfdConfig::new(Duration::from_millis(100), Duration::from_millis(100), 3));
    let node = Running::start(&lab.nodes[0], vec![peer], &[vip]);

    let frr_peer = wait_for(&format!("FRR's BFD peer {node_addr} up"), LIMIT, || match frr_bfd_peer(&frr, node_addr) {
        Some(p) if p["status"] == "up" => Ok(p),
        other => Err(format!("{other:?}")),
    });
    eprintln!("FRR's BFD peer: {frr_peer}");
    // FRR runs at the profile's 100 ms, and sees ours.
    assert_eq!(frr_peer["transmit-interval"], 100, "{frr_peer}");
    assert_eq!(frr_peer["remote-receive-interval"], 100, "{frr_peer}");
    assert_eq!(frr_peer["remote-detect-multiplier"], 3, "{frr_peer}");
    wait_for("the speaker's BFD session Up", LIMIT, || node.first(bfd_up).ok_or("not yet".to_string()));
    wait_for(&format!("the VIP in FRR's FIB via {node_addr}"), LIMIT, || {
        let hops = lab.fib_next_hops(vip);
        if hops.contains(node_addr) { Ok(()) } else { Err(format!("next hops {hops:?}")) }
    });
    // FRR may replace its BFD session once BGP is up (over IPv6 its bgpd registers it again
    // with the connection's addresses: the new one starts Down, and FRR's BGP goes down with
    // Cease/BFD Down): wait until both are steady for 3 s.
    let steady = Duration::from_secs(3);
    wait_for("BFD Up and BGP Established, steady", LIMIT, || {
        let events = node.timed();
        let last_change = events.iter().rev().find(|(_, e)| {
            matches!(
                e.kind,
                SpeakerEventKind::Bfd { event: BfdEvent::StateChanged { .. } }
                    | SpeakerEventKind::Session { event: Event::StateChanged { .. } }
            )
        });
        let bfd = events.iter().rev().find_map(|(_, e)| match &e.kind {
            SpeakerEventKind::Bfd { event: BfdEvent::StateChanged { to, .. } } => Some(*to),
            _ => None,
        });
        let bgp = events.iter().rev().find_map(|(_, e)| match &e.kind {
            SpeakerEventKind::Session { event: Event::StateChanged { to, .. } } => Some(*to),
            _ => None,
        });
        let quiet = last_change.is_some_and(|(t, _)| t.elapsed() >= steady);
        let up = frr_bfd_peer(&frr, node_addr).is_some_and(|p| p["status"] == "up");
        if quiet && up && bfd == Some(BfdState::Up) && bgp == Some(State::Established) {
            Ok(())
        } else {
            Err(format!("BFD {bfd:?}, BGP {bgp:?}, FRR's BFD up {up}, quiet {quiet}"))
        }
    });
    assert_eq!(frr.peer_state(node_addr), "Established");
    let established_before = node.count(established);

    // Cut the node's link: the router's packets stop coming.
    let cut = Instant::now();
    lab.nodes[0].ip(&["link", "set", "eth0", "down"]);
    let after_cut = |f: fn(&SpeakerEventKind) -> bool| node.timed().into_iter().find(|(t, e)| *t >= cut && f(&e.kind));
    let (at, _) =
        wait_for("BGP down by BFD", Duration::from_secs(5), || after_cut(bgp_down_by_bfd).ok_or("not yet".to_string()));
    let detected = at.duration_since(cut);
    eprintln!("BFD detection and BGP down {:.3}s after the cut (hold time {HOLD}s)", detected.as_secs_f64());
    assert!(detected < Duration::from_secs(u64::from(HOLD)));
    let (bfd_at, bfd_down) = after_cut(|k| {
        matches!(
            k,
            SpeakerEventKind::Bfd { event: BfdEvent::StateChanged { from: BfdState::Up, to: BfdState::Down, .. } }
        )
    })
    .expect("BFD's Up to Down");
    assert!(bfd_at <= at);
    assert!(
        matches!(
            bfd_down.kind,
            SpeakerEventKind::Bfd { event: BfdEvent::StateChanged { diag: Diag::ControlDetectionExpired, .. } }
        ),
        "{bfd_down:?}"
    );

    // The link back: BFD and BGP come up again.
    lab.nodes[0].ip(&["link", "set", "eth0", "up"]);
    wait_for("BGP Established again", LIMIT, || {
        let n = node.count(established);
        if n > established_before { Ok(()) } else { Err(format!("{n} times Established")) }
    });
    wait_for("FRR's BFD peer up again", LIMIT, || match frr_bfd_peer(&frr, node_addr) {
        Some(p) if p["status"] == "up" => Ok(()),
        other => Err(format!("{other:?}")),
    });

    let (speaker, _) = node.stop("test over");
    // The Cease reached bgpd before BFD's AdminDown reached bfdd: bgpd read the shutdown
    // message. (Its `lastResetDueTo` says "BFD down received" all the same: FRR 8.4 sets it on
    // any BFD Up to Down, also for a session the Cease already closed.)
    wait_for("FRR logged the Cease with its message", LIMIT, || {
        let log = frr.log();
        if log.contains("test over") { Ok(()) } else { Err(log) }
    });
    let bfd = speaker.bfd_session(0).expect("BFD configured");
    eprintln!("BFD stats: {:?}", bfd.stats());
    assert_eq!(bfd.state(), BfdState::AdminDown);
    assert!(bfd.stats().up >= 2, "{:?}", bfd.stats());
    assert!(speaker.session(0).unwrap().stats().established >= 2);
}

#[test]
fn the_speaker_drops_a_wrong_ttl_and_takes_a_good_packet_from_any_port() {
    let ns = Netns::new("bfdchk");
    ns.ip(&["link", "set", "lo", "up"]);
    // The node is 127.0.0.1, its "peer" the test's sockets on 127.0.0.2 (no BGP there: the
    // connection is refused and retried, BFD runs regardless).
    let mut peer = PeerConfig::new(node_config(1, 64601, 64512, Family::IPV4_UNICAST), ip("127.0.0.2"));
    peer.local_address = Some(ip("127.0.0.1"));
    peer.bfd = Some(BfdConfig::new(Duration::from_millis(100), Duration::from_millis(100), 3));
    let node = Running::start(&ns, vec![peer], &[]);

    let down = ControlPacket {
        diag: Diag::None,
        state: BfdState::Down,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: 0x5555,
        your_discriminator: 0,
        desired_min_tx: 1_000_000,
        required_min_rx: 100_000,
        required_min_echo_rx: 0,
    }
    .encode();
    let path = PathBuf::from("/run/netns").join(&ns.name);
    let dropped = |node: &Running, reason: DropReason| {
        wait_for(&format!("{reason:?} dropped"), Duration::from_secs(10), || {
            node.first(|k| matches!(k, SpeakerEventKind::BfdDropped { reason: r } if *r == reason))
                .map(|_| ())
                .ok_or("not yet".to_string())
        })
    };
    let send = move |port: u16, ttl: u32| {
        let path = path.clone();
        std::thread::spawn(move || {
            bm_sys::tcp::enter_netns(&path).unwrap();
            let socket = UdpSocket::bind(("127.0.0.2", port)).unwrap();
            socket.set_ttl(ttl).unwrap();
            socket.send_to(&down, "127.0.0.1:3784").unwrap();
        })
        .join()
        .unwrap();
    };
    // The BFD sockets are made when the run starts, before the first connection attempt.
    wait_for("the speaker running", Duration::from_secs(10), || {
        node.first(|k| matches!(k, SpeakerEventKind::Connecting)).map(|_| ()).ok_or("not yet".to_string())
    });
    // RFC 5881 §5: a TTL other than 255 (nothing routed it: it left with 64).
    send(40000, 64);
    dropped(&node, DropReason::Ttl(64));
    assert!(node.first(|k| matches!(k, SpeakerEventKind::Bfd { .. })).is_none(), "{:?}", node.events());
    // The same packet with TTL 255, from a port below RFC 5881 §4's 49152 (which binds senders:
    // BIRD 2.0 sends from ephemeral ports): the session hears the peer, goes Init.
    send(40000, 255);
    wait_for("BFD Init", Duration::from_secs(10), || {
        node.first(|k| {
            matches!(
                k,
                SpeakerEventKind::Bfd {
                    event: BfdEvent::StateChanged { from: BfdState::Down, to: BfdState::Init, .. }
                }
            )
        })
        .map(|_| ())
        .ok_or(format!("{:?}", node.events()))
    });
    let (speaker, _) = node.stop("test over");
    let bfd = speaker.bfd_session(0).unwrap();
    assert_eq!(bfd.remote_discriminator(), 0x5555);
    assert_eq!(bfd.stats().dropped, 1, "the TTL; the source port is the backend's check: {:?}", bfd.stats());
    assert_eq!(bfd.stats().received, 1);
}
