//! A hostile peer: a TCP listener written here, in a namespace of the test, that speaks BGP
//! bytes made by hand (not with this crate's encoder) and sends what a broken or malicious
//! peer would: bad OPENs, bad headers, malformed UPDATEs, a flood. A bm-bgp
//! [`Speaker`] in another namespace connects to it and, in the same speaker, to FRR's bgpd
//! (the well-behaved peer) in the router namespace.
//!
//! For each case the NOTIFICATION the speaker sends is read off the wire and its code,
//! subcode and (where RFC 4271, RFC 5492 say what it holds) data checked; for the errors RFC
//! 7606 repairs (treat-as-withdraw) the session must stay up: a ROUTE-REFRESH sent after the
//! bad UPDATE must be answered (routes and End-of-RIB) with no NOTIFICATION before. After
//! every case the FRR session must be untouched: no event of it since it was Established
//! (no close, no state change), and FRR still Established with a 9 s hold time.
//!
//! Root is needed (namespaces, setns). FRR missing is a failure, never a skip.

// Tests run processes, start threads and read the clock on purpose.
#![allow(clippy::disallowed_methods)]

mod util;

use std::cell::RefCell;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bm_bgp::message::{AttributeErrorKind, ErrorAction};
use bm_bgp::{Event, Family, PeerConfig, Reason, Speaker, SpeakerEvent, SpeakerEventKind, SpeakerHandle, State};
use bm_testkit::Netns;
use util::{Frr, LIMIT, Lab, ip, node_config, require_frr, wait_for};

const VIP: &str = "192.0.2.10/32";
/// The hostile peer, the lab's node 2.
const HOSTILE: &str = "10.0.0.12";
const HOSTILE_AS: u32 = 64700;
const NODE_AS: u32 = 64601;
/// FRR is the good peer (index 0), the hostile one index 1.
const GOOD: usize = 0;
const BAD: usize = 1;

// ---- BGP bytes, by hand (RFC 4271 §4) ----

/// A message: the marker, the length, the type, the body.
fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&(19 + body.len() as u16).to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

fn keepalive() -> Vec<u8> {
    message(4, &[])
}

/// Capabilities (RFC 5492): multiprotocol IPv4 unicast, route refresh and, when given, the
/// 4-octet AS (RFC 6793).
fn capabilities(four_octet_as: Option<u32>) -> Vec<u8> {
    let mut c = vec![1, 4, 0, 1, 0, 1, 2, 0];
    if let Some(asn) = four_octet_as {
        c.extend_from_slice(&[65, 4]);
        c.extend_from_slice(&asn.to_be_bytes());
    }
    c
}

/// An OPEN with one Capabilities optional parameter.
fn open(version: u8, my_as: u16, hold_time: u16, id: [u8; 4], caps: &[u8]) -> Vec<u8> {
    let mut b = vec![version];
    b.extend_from_slice(&my_as.to_be_bytes());
    b.extend_from_slice(&hold_time.to_be_bytes());
    b.extend_from_slice(&id);
    b.extend_from_slice(&[caps.len() as u8 + 2, 2, caps.len() as u8]);
    b.extend_from_slice(caps);
    message(1, &b)
}

fn good_open() -> Vec<u8> {
    open(4, HOSTILE_AS as u16, 90, [10, 0, 0, 12], &capabilities(Some(HOSTILE_AS)))
}

/// An UPDATE: withdrawn routes, path attributes (their total length as given), NLRI.
fn update_with_lengths(withdrawn: &[u8], attribute_length: u16, attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = (withdrawn.len() as u16).to_be_bytes().to_vec();
    b.extend_from_slice(withdrawn);
    b.extend_from_slice(&attribute_length.to_be_bytes());
    b.extend_from_slice(attributes);
    b.extend_from_slice(nlri);
    message(2, &b)
}

fn update(withdrawn: &[u8], attributes: &[u8], nlri: &[u8]) -> Vec<u8> {
    update_with_lengths(withdrawn, attributes.len() as u16, attributes, nlri)
}

/// ORIGIN IGP, AS_PATH (one AS_SEQUENCE: the hostile AS, 4 octets), NEXT_HOP.
fn good_attributes() -> Vec<u8> {
    let mut a = vec![0x40, 1, 1, 0];
    a.extend_from_slice(&[0x40, 2, 6, 2, 1]);
    a.extend_from_slice(&HOSTILE_AS.to_be_bytes());
    a.extend_from_slice(&[0x40, 3, 4, 10, 0, 0, 12]);
    a
}

/// 198.51.100.N/32.
fn host(n: u8) -> [u8; 5] {
    [32, 198, 51, 100, n]
}

/// ROUTE-REFRESH (RFC 2918) for IPv4 unicast.
fn route_refresh() -> Vec<u8> {
    message(5, &[0, 1, 0, 1])
}

/// NOTIFICATION Cease/Administrative Shutdown.
fn cease() -> Vec<u8> {
    message(3, &[6, 2, 0])
}

// ---- The wire ----

/// One connection from the speaker, read message by message.
struct Wire {
    stream: TcpStream,
}

/// What the speaker sent in a NOTIFICATION.
#[derive(Debug, PartialEq, Eq)]
struct Notified {
    code: u8,
    subcode: u8,
    data: Vec<u8>,
}

impl Wire {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the speaker");
    }

    /// The next message (type, body), `None` when the speaker closed (or reset) the
    /// connection. What the speaker sends must be well-formed.
    fn read(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut header = [0u8; 19];
        match self.stream.read_exact(&mut header) {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset) => return None,
            Err(e) => panic!("reading from the speaker: {e}"),
        }
        assert_eq!(header[..16], [0xff; 16], "the speaker's marker");
        let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
        assert!((19..=4096).contains(&len), "the speaker's length {len}");
        let mut body = vec![0; len - 19];
        self.stream.read_exact(&mut body).expect("the rest of the speaker's message");
        Some((header[18], body))
    }

    /// Reads the speaker's OPEN and checks it.
    fn expect_open(&mut self) {
        let (kind, body) = self.read().expect("the speaker's OPEN");
        assert_eq!(kind, 1, "OPEN first: {body:?}");
        assert_eq!(body[0], 4, "version");
        assert_eq!(u16::from_be_bytes([body[1], body[2]]), NODE_AS as u16, "My Autonomous System");
        assert_eq!(body[5..9], [10, 0, 0, 11], "BGP identifier");
        let mut four_octet = vec![65, 4];
        four_octet.extend_from_slice(&NODE_AS.to_be_bytes());
        assert!(body.windows(6).any(|w| w == four_octet), "the 4-octet AS capability: {body:?}");
    }

    /// Up to Established: OPEN and KEEPALIVE each way, then the speaker's routes until its
    /// End-of-RIB.
    fn establish(&mut self) {
        self.expect_open();
        self.send(&good_open());
        self.send(&keepalive());
        self.expect_end_of_rib();
    }

    /// Reads until the End-of-RIB of IPv4 unicast (an UPDATE of four zero bytes), passing
    /// KEEPALIVEs and other UPDATEs; a NOTIFICATION or a close fails.
    fn expect_end_of_rib(&mut self) {
        loop {
            match self.read() {
                Some((2, body)) if body == [0, 0, 0, 0] => return,
                Some((2 | 4, _)) => {}
                Some((3, body)) => {
                    panic!("NOTIFICATION {}/{} {:?} instead of End-of-RIB", body[0], body[1], &body[2..])
                }
                Some((kind, body)) => panic!("message type {kind} {body:?} instead of End-of-RIB"),
                None => panic!("the speaker closed the connection instead of sending End-of-RIB"),
            }
        }
    }

    /// Reads until the speaker's NOTIFICATION (passing KEEPALIVEs and UPDATEs), then the
    /// close that must follow it.
    fn expect_notification(&mut self) -> Notified {
        let notified = loop {
            match self.read() {
                Some((3, body)) => {
                    assert!(body.len() >= 2, "NOTIFICATION body {body:?}");
                    break Notified { code: body[0], subcode: body[1], data: body[2..].to_vec() };
                }
                Some((2 | 4, _)) => {}
                Some((kind, body)) => panic!("message type {kind} {body:?} instead of a NOTIFICATION"),
                None => panic!("the speaker closed the connection without a NOTIFICATION"),
            }
        };
        assert_eq!(self.read().map(|(kind, _)| kind), None, "the connection closes after the NOTIFICATION");
        notified
    }
}

/// The hostile peer's listening socket, made in its namespace (a socket stays in the
/// namespace it was made in, whichever thread uses it).
fn listen_in(ns: &Netns, address: &str) -> TcpListener {
    let path = PathBuf::from("/run/netns").join(&ns.name);
    let address = address.to_string();
    std::thread::spawn(move || {
        bm_sys::tcp::enter_netns(&path).unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
        let listener = TcpListener::bind(&address).unwrap_or_else(|e| panic!("listen on {address}: {e}"));
        listener.set_nonblocking(true).unwrap();
        listener
    })
    .join()
    .expect("the listening thread")
}

/// The speaker's next connection.
fn accept(listener: &TcpListener) -> Wire {
    let stream = wait_for("the speaker's connection to the hostile peer", LIMIT, || match listener.accept() {
        Ok((stream, _)) => Ok(stream),
        Err(e) => Err(e.to_string()),
    });
    stream.set_nonblocking(false).unwrap();
    // Guards only: every read or write here is answered in milliseconds.
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    stream.set_write_timeout(Some(LIMIT)).unwrap();
    Wire { stream }
}

// ---- The speaker ----

/// The speaker's events, except the UPDATEs received without repairs, which are only
/// counted per peer (a flood would fill the memory with them).
#[derive(Default)]
struct Log {
    events: Vec<SpeakerEvent>,
    plain_updates: [u64; 2],
}

/// A speaker running on a thread inside the node's namespace.
struct Node {
    handle: SpeakerHandle,
    log: Arc<Mutex<Log>>,
    thread: JoinHandle<Speaker>,
}

impl Node {
    fn start(ns: &Netns, peers: Vec<PeerConfig>, announce: &[&str]) -> Node {
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let name = ns.name.clone();
        let log = Arc::new(Mutex::new(Log::default()));
        let shared = Arc::clone(&log);
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                bm_sys::tcp::enter_netns(&path).unwrap_or_else(|e| panic!("setns {}: {e}", path.display()));
                let mut speaker = Speaker::new(peers).unwrap();
                tx.send(speaker.handle()).unwrap();
                let start = Instant::now();
                speaker
                    .run(|e| {
                        let mut log = shared.lock().unwrap();
                        if let SpeakerEventKind::Session { event: Event::UpdateReceived { repairs, .. } } = &e.kind
                            && repairs.is_empty()
                        {
                            log.plain_updates[e.peer] += 1;
                            return;
                        }
                        eprintln!("{name} +{:.3}s: {e:?}", start.elapsed().as_secs_f64());
                        log.events.push(e);
                    })
                    .unwrap();
                speaker
            })
            .unwrap();
        let handle = rx.recv().expect("the speaker thread died before running");
        for p in announce {
            handle.announce(p.parse().unwrap()).unwrap();
        }
        Node { handle, log, thread }
    }

    fn events(&self) -> Vec<SpeakerEvent> {
        self.log.lock().unwrap().events.clone()
    }

    fn stop(self) -> (Speaker, Log) {
        self.handle.stop(Some("test over")).unwrap();
        let speaker = self.thread.join().expect("speaker thread");
        let log = std::mem::take(&mut *self.log.lock().unwrap());
        (speaker, log)
    }
}

// ---- The lab ----

/// FRR in the router namespace (the good peer, hold time 9 s), the speaker in node 1 with
/// both peers, the hostile peer's listener in node 2.
struct Harness {
    node: Node,
    listener: TcpListener,
    frr: Frr,
    lab: Lab,
    /// How many events the log held when the good session was Established.
    baseline: usize,
    /// The NOTIFICATIONs the cases made the speaker send to the hostile peer.
    expected: RefCell<Vec<(u8, u8)>>,
}

impl Harness {
    fn new(tag: &str) -> Harness {
        require_frr();
        let lab = Lab::new(tag, 2);
        let frr = Frr::start(
            &lab.router,
            "frr defaults traditional
router bgp 64512
 bgp router-id 10.0.0.1
 no bgp ebgp-requires-policy
 neighbor 10.0.0.11 remote-as 64601
 neighbor 10.0.0.11 timers 3 9
",
        );
        let listener = listen_in(&lab.nodes[1], &format!("{HOSTILE}:179"));
        // The good session with a 9 s hold time (KEEPALIVEs every 3 s): a speaker held up
        // by the hostile peer for that long loses it.
        let mut good = node_config(1, NODE_AS, 64512, Family::IPV4_UNICAST);
        good.hold_time = 9;
        let good = PeerConfig::new(good, ip("10.0.0.1"));
        let bad = PeerConfig::new(node_config(1, NODE_AS, HOSTILE_AS, Family::IPV4_UNICAST), ip(HOSTILE));
        let node = Node::start(&lab.nodes[0], vec![good, bad], &[VIP]);
        wait_for("the good session Established", LIMIT, || {
            let s = frr.peer_state("10.0.0.11");
            if s == "Established" { Ok(()) } else { Err(s) }
        });
        wait_for("the VIP in FRR's FIB", LIMIT, || {
            let hops = lab.fib_next_hops(VIP);
            if hops.contains("10.0.0.11") { Ok(()) } else { Err(format!("next hops {hops:?}")) }
        });
        let events = node.events();
        let established = events
            .iter()
            .rposition(|e| {
                e.peer == GOOD
                    && matches!(
                        &e.kind,
                        SpeakerEventKind::Session { event: Event::StateChanged { to: State::Established, .. } }
                    )
            })
            .expect("the good session's Established event");
        Harness { node, listener, frr, lab, baseline: established + 1, expected: RefCell::new(Vec::new()) }
    }

    /// The good session saw nothing since it was Established, and FRR still has it.
    fn good_untouched(&self, case: &str) {
        let events = self.node.events();
        let touched: Vec<&SpeakerEvent> = events[self.baseline..].iter().filter(|e| e.peer == GOOD).collect();
        assert!(touched.is_empty(), "{case}: the good session was touched: {touched:?}");
        assert_eq!(self.frr.peer_state("10.0.0.11"), "Established", "{case}: FRR's session");
    }

    /// The NOTIFICATIONs the speaker reported sending to the hostile peer, in order.
    fn sent_to_bad(&self) -> Vec<(u8, u8, Vec<u8>)> {
        self.node
            .events()
            .into_iter()
            .filter(|e| e.peer == BAD)
            .filter_map(|e| match e.kind {
                SpeakerEventKind::Session { event: Event::NotificationSent { notification: n } } => {
                    Some((n.code.code(), n.code.subcode(), n.data))
                }
                _ => None,
            })
            .collect()
    }

    /// A case that resets the session: `send` after `establish` (or after the speaker's
    /// OPEN), then the speaker's NOTIFICATION must be `want`.
    fn reset_case(&self, case: &str, establish: bool, send: &[u8], want: (u8, u8, &[u8])) {
        eprintln!("--- case: {case}");
        let mut wire = accept(&self.listener);
        if establish {
            wire.establish();
        } else {
            wire.expect_open();
        }
        wire.send(send);
        let got = wire.expect_notification();
        self.expected.borrow_mut().push((want.0, want.1));
        let want = Notified { code: want.0, subcode: want.1, data: want.2.to_vec() };
        assert_eq!(got, want, "{case}");
        // The speaker reports the same NOTIFICATION (before it closes), and the session
        // goes Idle for it (reported just after the close).
        let reported = self.sent_to_bad();
        assert_eq!(reported.last(), Some(&(want.code, want.subcode, want.data.clone())), "{case}");
        let idle = wait_for(&format!("{case}: the session Idle"), LIMIT, || {
            let events = self.node.events();
            let sent = events
                .iter()
                .rposition(|e| {
                    e.peer == BAD
                        && matches!(e.kind, SpeakerEventKind::Session { event: Event::NotificationSent { .. } })
                })
                .expect("the NOTIFICATION event");
            events[sent..]
                .iter()
                .filter(|e| e.peer == BAD)
                .find_map(|e| match &e.kind {
                    SpeakerEventKind::Session { event: Event::StateChanged { to, reason, .. } } => {
                        Some((*to, reason.clone()))
                    }
                    _ => None,
                })
                .ok_or("not yet".to_string())
        });
        assert!(
            matches!(&idle, (State::Idle, Reason::PeerError { code }) if code.code() == want.code && code.subcode() == want.subcode),
            "{case}: {idle:?}"
        );
        self.good_untouched(case);
    }

    /// A case that resets the session without a NOTIFICATION: a malformed NOTIFICATION
    /// from the peer (RFC 4271 §6.4: an error in a NOTIFICATION is not answered with one).
    fn silent_reset_case(&self, case: &str, send: &[u8], code: (u8, u8)) {
        eprintln!("--- case: {case}");
        let mut wire = accept(&self.listener);
        wire.establish();
        let notifications_before = self.sent_to_bad().len();
        wire.send(send);
        loop {
            match wire.read() {
                Some((4, _)) => {}
                None => break,
                Some((kind, body)) => panic!("{case}: message type {kind} {body:?} instead of the close"),
            }
        }
        assert_eq!(self.sent_to_bad().len(), notifications_before, "{case}: no NOTIFICATION");
        wait_for(&format!("{case}: the session Idle"), LIMIT, || {
            let idle = self.node.events().into_iter().rev().filter(|e| e.peer == BAD).find_map(|e| match e.kind {
                SpeakerEventKind::Session { event: Event::StateChanged { to, reason, .. } } => Some((to, reason)),
                _ => None,
            });
            match &idle {
                Some((State::Idle, Reason::PeerError { code: c })) if (c.code(), c.subcode()) == code => Ok(()),
                _ => Err(format!("{idle:?}")),
            }
        });
        self.good_untouched(case);
    }

    /// A case RFC 7606 repairs: `send` once Established; the session must stay up (a
    /// ROUTE-REFRESH is answered, no NOTIFICATION comes) and the speaker must report the
    /// repair.
    fn repaired_case(&self, case: &str, send: &[u8], kind: AttributeErrorKind, type_code: u8) {
        eprintln!("--- case: {case}");
        let mut wire = accept(&self.listener);
        wire.establish();
        let notifications_before = self.sent_to_bad().len();
        wire.send(send);
        wire.send(&route_refresh());
        wire.expect_end_of_rib();
        let events = self.node.events();
        let repairs = events.iter().rev().filter(|e| e.peer == BAD).find_map(|e| match &e.kind {
            SpeakerEventKind::Session { event: Event::UpdateReceived { announced, withdrawn, repairs, .. } } => {
                Some((*announced, *withdrawn, repairs.clone()))
            }
            _ => None,
        });
        let Some((announced, withdrawn, repairs)) = repairs else { panic!("{case}: no repaired UPDATE: {events:?}") };
        assert_eq!(announced, 0, "{case}: treat-as-withdraw announces nothing");
        assert_eq!(withdrawn, 1, "{case}: the route is withdrawn instead");
        assert!(
            repairs
                .iter()
                .any(|r| r.kind == kind && r.type_code == type_code && r.action == ErrorAction::TreatAsWithdraw),
            "{case}: {repairs:?}"
        );
        assert_eq!(self.sent_to_bad().len(), notifications_before, "{case}: no NOTIFICATION");
        let last_state = events.iter().rev().filter(|e| e.peer == BAD).find_map(|e| match e.kind {
            SpeakerEventKind::Session { event: Event::StateChanged { to, .. } } => Some(to),
            _ => None,
        });
        assert_eq!(last_state, Some(State::Established), "{case}");
        // Done: a polite close.
        wire.send(&cease());
        self.good_untouched(case);
    }

    /// Stops the speaker: the good session was Established once, never reset, and the
    /// hostile one got the NOTIFICATIONs of the cases and no other (but the stop's Cease).
    fn finish(self) -> (Speaker, Log) {
        let Harness { node, listener, frr, lab, baseline: _, expected } = self;
        let (speaker, log) = node.stop();
        let sent: Vec<(u8, u8)> = log
            .events
            .iter()
            .filter(|e| e.peer == BAD)
            .filter_map(|e| match &e.kind {
                SpeakerEventKind::Session { event: Event::NotificationSent { notification: n } } => {
                    Some((n.code.code(), n.code.subcode()))
                }
                _ => None,
            })
            .filter(|sent| *sent != (6, 2))
            .collect();
        assert_eq!(sent, expected.into_inner(), "the NOTIFICATIONs sent to the hostile peer");
        let good = speaker.session(GOOD).unwrap().stats().clone();
        assert_eq!(good.established, 1, "{good:?}");
        assert_eq!(good.notifications_received, 0, "{good:?}");
        assert_eq!(good.notifications_sent, 1, "the Cease of the stop only: {good:?}");
        drop((listener, frr, lab));
        (speaker, log)
    }
}

#[test]
fn bad_open_messages_get_their_notification() {
    let h = Harness::new("hsopen");
    let caps = capabilities(Some(HOSTILE_AS));
    let id = [10, 0, 0, 12];
    let asn = HOSTILE_AS as u16;
    // RFC 4271 §6.2: the data is the largest version supported below the one bid, or the
    // smallest supported above it: 4 either way.
    h.reset_case("version 5", false, &open(5, asn, 90, id, &caps), (2, 1, &[0, 4]));
    h.reset_case("version 3", false, &open(3, asn, 90, id, &caps), (2, 1, &[0, 4]));
    h.reset_case("another AS", false, &open(4, 64999, 90, id, &capabilities(Some(64999))), (2, 2, &[]));
    // RFC 6793: the 4-octet AS capability is the AS, whatever My Autonomous System says.
    h.reset_case(
        "another AS in the 4-octet capability",
        false,
        &open(4, asn, 90, id, &capabilities(Some(65001))),
        (2, 2, &[]),
    );
    h.reset_case("BGP identifier 0.0.0.0", false, &open(4, asn, 90, [0; 4], &caps), (2, 3, &[]));
    h.reset_case("hold time 1", false, &open(4, asn, 1, id, &caps), (2, 6, &[]));
    h.reset_case("hold time 2", false, &open(4, asn, 2, id, &caps), (2, 6, &[]));
    // RFC 5492 §3: the data holds the capability the speaker needs (4-octet AS, its own AS).
    let mut needed = vec![65, 4];
    needed.extend_from_slice(&NODE_AS.to_be_bytes());
    h.reset_case("no 4-octet AS capability", false, &open(4, asn, 90, id, &capabilities(None)), (2, 7, &needed));
    let (speaker, _) = h.finish();
    let bad = speaker.session(BAD).unwrap().stats();
    assert_eq!(bad.established, 0, "{bad:?}");
}

#[test]
fn bad_headers_get_their_notification() {
    let h = Harness::new("hshdr");
    let mut bad_marker = keepalive();
    bad_marker[5] = 0;
    h.reset_case("marker not all ones", true, &bad_marker, (1, 1, &[]));
    let mut short = keepalive();
    short[17] = 18;
    h.reset_case("length 18", true, &short, (1, 2, &[0, 18]));
    // A KEEPALIVE is 19 bytes exactly (RFC 4271 §6.1): the length is the data.
    h.reset_case("a KEEPALIVE of 20 bytes", true, &message(4, &[0]), (1, 2, &[0, 20]));
    h.reset_case("message type 9", true, &message(9, &[]), (1, 3, &[9]));
    // Longer than 4096: refused from the header, before the rest arrives.
    let big = message(2, &[0; 4981]);
    assert_eq!(big.len(), 5000);
    h.reset_case("length 5000", true, &big, (1, 2, &5000u16.to_be_bytes()));
    // A NOTIFICATION without its error code: the session ends, without an answer.
    h.silent_reset_case("a NOTIFICATION of 19 bytes", &message(3, &[]), (1, 2));
    let (speaker, _) = h.finish();
    let bad = speaker.session(BAD).unwrap().stats();
    assert_eq!(bad.established, 6, "{bad:?}");
}

#[test]
fn malformed_updates_reset_or_are_treated_as_withdraw() {
    let h = Harness::new("hsupd");
    let attrs = good_attributes();

    // The total path attribute length runs past the message: the NLRI cannot be found
    // (RFC 7606 §4 keeps RFC 4271's session reset).
    let past = update_with_lengths(&[], attrs.len() as u16 + 40, &attrs, &host(1));
    h.reset_case("total path attribute length past the message", true, &past, (3, 1, &[]));
    let mut withdrawn_past = update(&host(1), &[], &[]);
    withdrawn_past[20] += 10;
    h.reset_case("withdrawn routes length past the message", true, &withdrawn_past, (3, 1, &[]));

    // An attribute running past the path attributes: treat-as-withdraw (RFC 7606 §4).
    let mut overrun = attrs.clone();
    overrun.extend_from_slice(&[0x80, 4, 10, 0, 0, 0, 0]);
    h.repaired_case(
        "MED running past the attributes",
        &update(&[], &overrun, &host(2)),
        AttributeErrorKind::Overrun,
        4,
    );

    // Malformed AS_PATH (RFC 7606 §7.2): a segment type 9, then a segment longer than the
    // attribute.
    let as_path = |segment: &[u8]| {
        let mut a = vec![0x40, 1, 1, 0, 0x40, 2, segment.len() as u8];
        a.extend_from_slice(segment);
        a.extend_from_slice(&[0x40, 3, 4, 10, 0, 0, 12]);
        a
    };
    let mut segment = vec![9, 1];
    segment.extend_from_slice(&HOSTILE_AS.to_be_bytes());
    h.repaired_case(
        "AS_PATH segment type 9",
        &update(&[], &as_path(&segment), &host(3)),
        AttributeErrorKind::MalformedAsPath,
        2,
    );
    let mut segment = vec![2, 3];
    segment.extend_from_slice(&HOSTILE_AS.to_be_bytes());
    h.repaired_case(
        "AS_PATH segment of 3 ASes holding 1",
        &update(&[], &as_path(&segment), &host(4)),
        AttributeErrorKind::MalformedAsPath,
        2,
    );

    // The NLRI cannot be parsed: session reset (RFC 7606 §5.3), Invalid Network Field.
    h.reset_case("truncated NLRI", true, &update(&[], &attrs, &[32, 198, 51]), (3, 10, &[]));
    h.reset_case("prefix length 33", true, &update(&[], &attrs, &[33, 198, 51, 100, 1, 0]), (3, 10, &[]));
    let (speaker, _) = h.finish();
    let bad = speaker.session(BAD).unwrap().stats();
    assert_eq!(bad.treat_as_withdraw, 3, "{bad:?}");
}

/// FRR's count of KEEPALIVEs received from the node.
fn keepalives_at_frr(frr: &Frr) -> u64 {
    let v = frr.json("show bgp neighbor 10.0.0.11 json");
    v["10.0.0.11"]["messageStats"]["keepalivesRecv"].as_u64().unwrap_or_else(|| panic!("keepalivesRecv: {v}"))
}

#[test]
fn a_flood_does_not_starve_the_other_session() {
    let h = Harness::new("hsflood");
    let mut wire = accept(&h.listener);
    wire.establish();

    // KEEPALIVEs, and UPDATEs announcing and withdrawing host routes, as fast as the socket
    // takes them.
    let mut batch = Vec::new();
    let mut updates_per_batch = 0u64;
    for n in 0..64u8 {
        for _ in 0..8 {
            batch.extend_from_slice(&keepalive());
        }
        batch.extend_from_slice(&update(&[], &good_attributes(), &host(n)));
        batch.extend_from_slice(&update(&host(n), &[], &[]));
        updates_per_batch += 2;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let flooding = Arc::clone(&stop);
    let mut stream = wire.stream.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        let (mut batches, mut bytes) = (0u64, 0usize);
        while !flooding.load(Ordering::Relaxed) {
            stream.write_all(&batch).expect("flooding the speaker");
            batches += 1;
            bytes += batch.len();
        }
        (batches * updates_per_batch, bytes)
    });

    // At least 2 s of it, and until the speaker's KEEPALIVEs (every 3 s) have reached FRR
    // twice meanwhile.
    let before = keepalives_at_frr(&h.frr);
    let start = Instant::now();
    let during = wait_for("2 s of flood and two KEEPALIVEs from the speaker at FRR", LIMIT, || {
        let n = keepalives_at_frr(&h.frr);
        if start.elapsed() >= Duration::from_secs(2) && n >= before + 2 {
            Ok(n)
        } else {
            Err(format!("{} KEEPALIVEs, FRR's session {}", n - before, h.frr.peer_state("10.0.0.11")))
        }
    });
    stop.store(true, Ordering::Relaxed);
    let (updates, bytes) = flood.join().expect("the flood thread");
    eprintln!(
        "flood: {:.1} MB, {updates} UPDATEs in {:.1}s; FRR got {} KEEPALIVEs meanwhile",
        bytes as f64 / 1e6,
        start.elapsed().as_secs_f64(),
        during - before
    );
    h.good_untouched("flood");

    // The speaker still answers the flooder, once it has read everything before.
    wire.send(&route_refresh());
    wire.expect_end_of_rib();
    h.good_untouched("after the flood");
    let (speaker, log) = h.finish();
    let bad = speaker.session(BAD).unwrap().stats();
    assert_eq!(bad.established, 1, "{bad:?}");
    assert_eq!(bad.updates_received, updates, "every UPDATE read: {bad:?}");
    assert_eq!(log.plain_updates[BAD], updates, "and reported");
    assert_eq!(bad.notifications_sent, 1, "the Cease of the stop only: {bad:?}");
}
