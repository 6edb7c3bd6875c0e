//! One instance against hand-made adverts: the RFC 5798 §6.4 sentences and keepalived's
//! extensions, each as a test through the public API.

use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{
    Action, Advert, AdvertInterval, CheckConfig, Config, ConfigError, DropKind, DropReason, GROUP_V4, Instance,
    IntervalError, Reason, State, Timer, UnicastPeer, V3Ipv4Checksum, Version, VipOp, encode,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(priority: u8) -> Config {
    let mut c = Config::new(51, priority, ip("10.0.0.2"), vec![ip("10.0.0.100")]);
    c.version = Some(Version::V3);
    c
}

/// An advert from `src` with `priority`, as a peer would send it.
fn advert(src: &str, priority: u8, version: Version) -> Vec<u8> {
    let a = Advert {
        vrid: 51,
        priority,
        interval: AdvertInterval::one_second(version),
        addrs: vec![ip("10.0.0.100")],
        auth: None,
    };
    let mut out = Vec::new();
    encode(&a, ip(src), GROUP_V4, V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
    out
}

fn timer(i: &Instance, which: Timer) -> Option<Duration> {
    i.timers().find(|(t, _)| *t == which).map(|(_, at)| at)
}

fn actions(i: &mut Instance) -> Vec<Action> {
    std::iter::from_fn(|| i.poll_action()).collect()
}

fn transitions(acts: &[Action]) -> Vec<(State, State)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Transition { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

fn sent_priorities(acts: &[Action]) -> Vec<u8> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Send { priority, .. } => Some(*priority),
            _ => None,
        })
        .collect()
}

#[test]
fn owner_starts_as_master_others_as_backup() {
    let mut owner = Instance::new(config(255)).unwrap();
    owner.start(Duration::ZERO);
    let acts = actions(&mut owner);
    assert_eq!(transitions(&acts), [(State::Initialize, State::Master)]);
    assert_eq!(sent_priorities(&acts), [255]);
    assert!(acts.contains(&Action::AddVips(vec![ip("10.0.0.100")])));
    assert!(acts.iter().any(|a| matches!(a, Action::Announce { count: 5, .. })));
    assert_eq!(owner.poll_timeout(), Some(ms(1000)), "the next advert");

    let mut backup = Instance::new(config(100)).unwrap();
    backup.start(Duration::ZERO);
    assert_eq!(transitions(&actions(&mut backup)), [(State::Initialize, State::Backup)]);
    // Master_Down_Interval = 3 * 1 s + (256 - 100) * 1 s / 256.
    assert_eq!(backup.master_down_interval(), ms(3000) + Duration::from_nanos(609_375_000));
    assert_eq!(backup.poll_timeout(), Some(backup.master_down_interval()));
}

#[test]
fn backup_takes_over_when_the_master_goes_quiet() {
    let mut b = Instance::new(config(100)).unwrap();
    b.start(Duration::ZERO);
    actions(&mut b);
    b.handle_packet(ms(500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 150, Version::V3)).unwrap();
    let due = b.poll_timeout().unwrap();
    assert_eq!(due, ms(500) + b.master_down_interval(), "an accepted advert resets the timer");
    b.handle_timeout(due - Duration::from_nanos(1));
    assert_eq!(b.state(), State::Backup);
    b.handle_timeout(due);
    assert_eq!(b.state(), State::Master);
    let acts = actions(&mut b);
    assert_eq!(sent_priorities(&acts), [100]);
}

#[test]
fn preemption_and_nopreempt() {
    // A lower-priority master is ignored: the timer runs out and we preempt.
    let mut b = Instance::new(config(100)).unwrap();
    b.start(Duration::ZERO);
    let first = b.poll_timeout().unwrap();
    b.handle_packet(ms(500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 50, Version::V3)).unwrap();
    assert_eq!(b.poll_timeout(), Some(first), "discarded");
    // nopreempt: accepted, so we never take over while it advertises.
    let mut c = config(100);
    c.preempt = false;
    let mut b = Instance::new(c).unwrap();
    b.start(Duration::ZERO);
    b.handle_packet(ms(500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 50, Version::V3)).unwrap();
    assert_eq!(b.poll_timeout(), Some(ms(500) + b.master_down_interval()));
    // preempt_delay: accepted until the delay passes, ignored after. The delay is a timer of
    // its own, so it shows (and wakes the caller, for nothing but to end it).
    let mut c = config(100);
    c.preempt_delay = ms(2000);
    let mut b = Instance::new(c).unwrap();
    b.start(Duration::ZERO);
    assert_eq!(timer(&b, Timer::PreemptDelay), Some(ms(2000)));
    b.handle_packet(ms(1500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 50, Version::V3)).unwrap();
    assert_eq!(timer(&b, Timer::MasterDown), Some(ms(1500) + b.master_down_interval()));
    assert_eq!(b.poll_timeout(), Some(ms(2000)));
    b.handle_timeout(ms(2000));
    assert_eq!(timer(&b, Timer::PreemptDelay), None);
    let before = timer(&b, Timer::MasterDown);
    b.handle_packet(ms(2500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 50, Version::V3)).unwrap();
    assert_eq!(timer(&b, Timer::MasterDown), before);
}

#[test]
fn master_yields_to_higher_priority_and_to_equal_priority_with_higher_address() {
    let mut m = Instance::new(config(255)).unwrap();
    m.start(Duration::ZERO);
    actions(&mut m);
    // Equal priority from a lower address: stays master, and reasserts at once (RFC 9568).
    let mut c = config(100);
    c.priority = 100;
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(m.state(), State::Master);
    actions(&mut m);
    m.handle_packet(ms(4000), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 100, Version::V3)).unwrap();
    assert_eq!(m.state(), State::Master);
    assert_eq!(sent_priorities(&actions(&mut m)), [100]);
    // Equal priority from a higher address: yields, removing the VIP, with one last advert so
    // the winner hears a lower priority and announces the VIP again (higher_prio_send_advert).
    m.handle_packet(ms(4100), ip("10.0.0.3"), GROUP_V4, 255, &advert("10.0.0.3", 100, Version::V3)).unwrap();
    assert_eq!(m.state(), State::Backup);
    let acts = actions(&mut m);
    assert!(acts.contains(&Action::RemoveVips(vec![ip("10.0.0.100")])));
    assert_eq!(sent_priorities(&acts), [100]);
    // keepalived's default: yield silently.
    let mut c = config(100);
    c.higher_prio_send_advert = false;
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    actions(&mut m);
    m.handle_packet(ms(4100), ip("10.0.0.3"), GROUP_V4, 255, &advert("10.0.0.3", 200, Version::V3)).unwrap();
    assert_eq!(m.state(), State::Backup);
    assert_eq!(sent_priorities(&actions(&mut m)), [] as [u8; 0]);
}

fn announces(acts: &[Action]) -> Vec<u32> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Announce { count, .. } => Some(*count),
            _ => None,
        })
        .collect()
}

/// Two backups that time out together both announce the VIP; the winner re-announces when it
/// hears the loser's advert and after `garp_lower_prio_delay` (keepalived), and once more an
/// advert interval later (bmnet), so clients do not stay on the loser's MAC for seconds.
#[test]
fn a_master_hearing_a_lower_priority_advert_announces_the_vips_again() {
    let mut c = config(100);
    c.garp_delay = ms(5000);
    let mut m = Instance::new(c.clone()).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(m.state(), State::Master);
    let became = m.poll_timeout().unwrap() - ms(1000);
    assert_eq!(announces(&actions(&mut m)), [5], "the burst on becoming master");
    // The loser's advert (equal priority, lower address) 10 ms later.
    let heard = became + ms(10);
    m.handle_packet(heard, ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 100, Version::V3)).unwrap();
    let acts = actions(&mut m);
    assert_eq!((sent_priorities(&acts), announces(&acts)), (vec![100], vec![5]));
    // Adverts every second; one advert interval later, when the loser has heard us and stopped,
    // once more (bmnet); then the master's own delayed burst (5 s after becoming master) and
    // the lower-priority burst's second half 5 s after hearing it (keepalived).
    let mut bursts = Vec::new();
    while let Some(t) = m.poll_timeout().filter(|t| *t <= became + ms(6000)) {
        m.handle_timeout(t);
        for n in announces(&actions(&mut m)) {
            bursts.push((t - became, n));
        }
    }
    assert_eq!(bursts, [(ms(1010), 5), (ms(5000), 5), (ms(5010), 5)]);

    // Configured as keepalived's garp_lower_prio_repeat / _delay; 0 turns it off.
    c.garp_lower_prio_repeat = Some(2);
    c.garp_lower_prio_delay = Some(Duration::ZERO);
    c.garp_delay = Duration::ZERO;
    let mut m = Instance::new(c.clone()).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    actions(&mut m);
    m.handle_packet(ms(3500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 90, Version::V3)).unwrap();
    assert_eq!(announces(&actions(&mut m)), [2]);
    assert_eq!(m.poll_timeout(), Some(ms(4500)), "the next advert, and the settling burst");
    m.handle_timeout(ms(4500));
    let acts = actions(&mut m);
    assert_eq!((sent_priorities(&acts), announces(&acts)), (vec![100], vec![2]));
    assert_eq!(m.poll_timeout(), Some(ms(5500)), "only adverts from now on");
    c.garp_lower_prio_repeat = Some(0);
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    actions(&mut m);
    m.handle_packet(ms(3500), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 90, Version::V3)).unwrap();
    let acts = actions(&mut m);
    assert_eq!((sent_priorities(&acts), announces(&acts)), (vec![100], vec![]));
}

#[test]
fn priority_zero_means_take_over_after_skew_time() {
    let mut b = Instance::new(config(200)).unwrap();
    b.start(Duration::ZERO);
    b.handle_packet(ms(300), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 0, Version::V3)).unwrap();
    // Skew_Time = (256 - 200) * 1 s / 256 = 218.75 ms, keepalived's microsecond precision.
    assert_eq!(b.skew_time(), Duration::from_micros(218_750));
    assert_eq!(b.poll_timeout(), Some(ms(300) + Duration::from_micros(218_750)));
}

#[test]
fn shutdown_resigns_with_priority_zero() {
    let mut m = Instance::new(config(255)).unwrap();
    m.start(Duration::ZERO);
    actions(&mut m);
    m.shutdown(ms(10));
    let acts = actions(&mut m);
    assert_eq!(sent_priorities(&acts), [0]);
    assert!(acts.contains(&Action::RemoveVips(vec![ip("10.0.0.100")])));
    assert_eq!(transitions(&acts), [(State::Master, State::Initialize)]);
    assert_eq!(m.poll_timeout(), None);
}

/// OpenShift's API VIP: base 40, haproxy check +20 while passing. When haproxy dies the master
/// drops to 40 and a backup at 45 preempts; a weight-0 check or the link going down is FAULT,
/// which resigns with priority 0.
#[test]
fn tracked_checks_change_priority_and_fault() {
    let mut c = config(40);
    c.checks = vec![
        CheckConfig { name: "haproxy".into(), weight: 20, rise: 2, fall: 2, reverse: false },
        CheckConfig { name: "fatal".into(), weight: 0, rise: 1, fall: 1, reverse: false },
    ];
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    assert!(m.set_check(ms(1), "haproxy", true));
    assert_eq!(m.priority(), 60);
    assert!(!m.set_check(ms(1), "nope", true), "unknown checks are reported");
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(m.state(), State::Master);
    actions(&mut m);
    m.set_check(ms(5000), "haproxy", false);
    assert_eq!(m.priority(), 60, "fall 2");
    m.set_check(ms(6000), "haproxy", false);
    assert_eq!(m.priority(), 40);
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(sent_priorities(&actions(&mut m)), [40], "adverts carry the new priority");
    // The backup at 45 now outranks us.
    m.handle_packet(ms(7000), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 45, Version::V3)).unwrap();
    assert_eq!(m.state(), State::Backup);
    actions(&mut m);
    // FAULT from a weight-0 check, and back.
    m.set_check(ms(8000), "fatal", false);
    assert_eq!(m.state(), State::Fault);
    assert_eq!(m.poll_timeout(), None);
    m.set_check(ms(9000), "fatal", true);
    assert_eq!(m.state(), State::Backup);
    // Link down while master: priority 0 and the VIPs go.
    let mut o = Instance::new(config(255)).unwrap();
    o.start(Duration::ZERO);
    actions(&mut o);
    o.set_link(ms(100), false);
    let acts = actions(&mut o);
    assert_eq!(sent_priorities(&acts), [0]);
    assert_eq!(transitions(&acts), [(State::Master, State::Fault)]);
}

#[test]
fn receive_checks_drop_with_a_reason() {
    let mut b = Instance::new(config(100)).unwrap();
    b.start(Duration::ZERO);
    let good = advert("10.0.0.1", 150, Version::V3);
    assert!(b.handle_packet(ms(1), ip("10.0.0.1"), GROUP_V4, 64, &good).is_err(), "TTL must be 255");
    assert!(
        b.handle_packet(ms(1), ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 150, Version::V2)).is_err(),
        "version"
    );
    let mut other_vip = Advert {
        vrid: 51,
        priority: 150,
        interval: AdvertInterval::one_second(Version::V3),
        addrs: vec![ip("10.0.0.200")],
        auth: None,
    };
    let mut bytes = Vec::new();
    encode(&other_vip, ip("10.0.0.1"), GROUP_V4, V3Ipv4Checksum::PseudoHeader, &mut bytes).unwrap();
    assert!(b.handle_packet(ms(1), ip("10.0.0.1"), GROUP_V4, 255, &bytes).is_err(), "keepalived's VIP-list check");
    other_vip.vrid = 52;
    other_vip.addrs = vec![ip("10.0.0.100")];
    encode(&other_vip, ip("10.0.0.1"), GROUP_V4, V3Ipv4Checksum::PseudoHeader, &mut bytes).unwrap();
    assert!(b.handle_packet(ms(1), ip("10.0.0.1"), GROUP_V4, 255, &bytes).is_err(), "another VRID");
    assert!(b.handle_packet(ms(1), ip("10.0.0.1"), GROUP_V4, 255, &good).is_ok());
}

#[test]
fn configurations_are_checked() {
    let mut c = config(100);
    c.vrid = 0;
    assert!(Instance::new(c).is_err());
    let mut c = config(100);
    c.vips = vec![ip("fd00::1")];
    assert!(Instance::new(c).is_err());
    let mut c = config(100);
    c.version = Some(Version::V2);
    c.advert_interval = ms(500);
    assert!(Instance::new(c).is_err(), "v2 intervals are whole seconds");
    let mut c = config(100);
    c.checks = vec![CheckConfig { name: "x".into(), weight: 300, rise: 1, fall: 1, reverse: false }];
    assert!(Instance::new(c).is_err());
}

/// A JSON configuration needs only the essentials; the rest are keepalived's defaults, and
/// durations are seconds.
#[test]
fn json_config_with_keepalived_defaults() {
    let c: Config = serde_json::from_str(
        r#"{"vrid": 51, "priority": 40, "vips": ["192.168.111.5"], "primary": "192.168.111.21", "advert_interval": 1, "garp_refresh": 60}"#,
    )
    .unwrap();
    assert_eq!(c.version(), Version::V2);
    assert!(c.preempt && c.check_vips);
    assert_eq!((c.down_timer_adverts, c.garp_repeat), (3, 5));
    assert_eq!((c.garp_delay, c.garp_refresh), (ms(5000), ms(60_000)));
    let c: Config =
        serde_json::from_str(r#"{"vrid": 52, "priority": 90, "vips": ["fd00::5"], "primary": "fe80::1", "version": "v3", "advert_interval": 0.5}"#)
            .unwrap();
    assert_eq!((c.version(), c.advert_interval), (Version::V3, ms(500)));
    assert!(
        serde_json::from_str::<Config>(r#"{"vrid": 1, "priority": 1, "vips": [], "primary": "10.0.0.1", "bogus": 1}"#)
            .is_err()
    );
}

/// A reload keeps the state: a master stays master with the new priority in its adverts, adds
/// and announces new VIPs, removes dropped ones; checks keep their verdicts by name; another
/// VRID is another router.
#[test]
fn reconfigure_keeps_the_state() {
    let mut c = config(100);
    c.checks = vec![CheckConfig { name: "lb".into(), weight: 20, rise: 3, fall: 3, reverse: false }];
    let mut m = Instance::new(c.clone()).unwrap();
    m.start(Duration::ZERO);
    m.set_check(Duration::ZERO, "lb", true);
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!((m.state(), m.priority()), (State::Master, 120));
    actions(&mut m);

    let mut c2 = c.clone();
    c2.priority = 150;
    c2.vips = vec![ip("10.0.0.101")];
    c2.checks.push(CheckConfig { name: "new".into(), weight: -30, rise: 1, fall: 1, reverse: false });
    m.reconfigure(ms(5000), c2.clone()).unwrap();
    let acts = actions(&mut m);
    assert_eq!(m.state(), State::Master);
    assert_eq!(m.priority(), 170, "lb still passing (+20), the new check not yet run");
    assert!(acts.contains(&Action::RemoveVips(vec![ip("10.0.0.100")])), "{acts:?}");
    assert!(acts.contains(&Action::AddVips(vec![ip("10.0.0.101")])), "{acts:?}");
    assert!(acts.iter().any(|a| matches!(a, Action::Announce { vips, .. } if *vips == [ip("10.0.0.101")])));
    assert!(transitions(&acts).is_empty(), "no transition: {acts:?}");
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(sent_priorities(&actions(&mut m)), [170]);

    let mut other = c2;
    other.vrid = 52;
    assert_eq!(m.reconfigure(ms(6000), other), Err(bm_vrrp::ConfigError::Identity));
    assert_eq!((m.state(), m.priority()), (State::Master, 170), "a refused reload changes nothing");
}

fn reasons(acts: &[Action]) -> Vec<Reason> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Transition { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

/// A unicast pair 10.0.0.2 (us) and `peer`, we master at 100.
fn unicast_master(peer: UnicastPeer, check: bool) -> Instance {
    let mut c = config(100);
    c.unicast_peers = vec![peer];
    c.check_unicast_src = check;
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    m.handle_timeout(m.poll_timeout().unwrap());
    assert_eq!(m.state(), State::Master);
    actions(&mut m);
    m
}

/// An advert from `src` to `dst` (the pseudo-header covers it).
fn advert_to(src: &str, dst: &str, priority: u8) -> Vec<u8> {
    let a = Advert {
        vrid: 51,
        priority,
        interval: AdvertInterval::one_second(Version::V3),
        addrs: vec![ip("10.0.0.100")],
        auth: None,
    };
    let mut out = Vec::new();
    encode(&a, ip(src), ip(dst), V3Ipv4Checksum::PseudoHeader, &mut out).unwrap();
    out
}

/// Issue 14's attacker against a unicast master: a priority-255 advert from a host that is no
/// peer (TTL 64 or 255), from a peer's address with TTL 64, and to the multicast group. Each is
/// dropped and counted by kind; the master keeps the VIP. The peer itself is heard.
#[test]
fn forged_adverts_do_not_move_a_unicast_master() {
    let mut m = unicast_master(UnicastPeer { addr: ip("10.0.0.3"), min_ttl: 255, max_ttl: 255 }, true);
    let me = "10.0.0.2";
    let forged = [
        ("10.0.0.9", me, 64, DropKind::NotAPeer),
        ("10.0.0.9", me, 255, DropKind::NotAPeer),
        ("10.0.0.3", me, 64, DropKind::PeerTtl),
        ("10.0.0.3", "224.0.0.18", 255, DropKind::MulticastInUnicastMode),
    ];
    for (src, dst, ttl, kind) in forged {
        let got = m.handle_packet(ms(1500), ip(src), ip(dst), ttl, &advert_to(src, dst, 255));
        assert_eq!(got.map_err(|d| d.kind()), Err(kind), "{src} -> {dst} TTL {ttl}");
        assert_eq!(m.state(), State::Master);
        assert!(actions(&mut m).is_empty(), "nothing sent, no VIP touched");
    }
    let drops = &m.stats().drops;
    assert_eq!((drops.get(DropKind::NotAPeer), drops.get(DropKind::PeerTtl), drops.total()), (2, 1, 4));
    // The real peer with a higher priority is heard.
    m.handle_packet(ms(1600), ip("10.0.0.3"), ip(me), 255, &advert_to("10.0.0.3", me, 200)).unwrap();
    assert_eq!(m.state(), State::Backup);
    assert_eq!(m.stats().adverts_accepted, 1);

    // keepalived's behaviour (check_unicast_src off): anyone on the path moves the VIP.
    let mut m = unicast_master(UnicastPeer::from(ip("10.0.0.3")), false);
    m.handle_packet(ms(1500), ip("10.0.0.9"), ip(me), 64, &advert_to("10.0.0.9", me, 255)).unwrap();
    assert_eq!(m.state(), State::Backup);
    // A peer TTL range turns the check on regardless, as in keepalived.
    let mut c = m.config().clone();
    c.unicast_peers[0].min_ttl = 250;
    assert!(c.checks_unicast_src());
}

/// In multicast mode an advert sent to one of our addresses is dropped (keepalived: "Expected
/// multicast packet but received unicast packet").
#[test]
fn unicast_adverts_are_dropped_in_multicast_mode() {
    let mut b = Instance::new(config(100)).unwrap();
    b.start(Duration::ZERO);
    let got = b.handle_packet(ms(1), ip("10.0.0.1"), ip("10.0.0.2"), 255, &advert_to("10.0.0.1", "10.0.0.2", 200));
    assert_eq!(got, Err(DropReason::UnicastInMulticastMode));
}

/// Issue 14's IPv6 link flap, on the core: the link comes back, the link-local source is still
/// tentative, so the instance stays in FAULT (it would advertise into the void and become a
/// second master); usable again, it listens for Master_Down_Interval before taking over.
#[test]
fn no_master_before_the_source_address_is_usable() {
    let mut c = Config::new(51, 150, ip("fe80::2"), vec![ip("fd00::100")]);
    c.advert_interval = ms(100);
    let mut i = Instance::new(c).unwrap();
    i.start(Duration::ZERO);
    i.handle_timeout(i.poll_timeout().unwrap());
    assert_eq!(i.state(), State::Master);
    actions(&mut i);
    i.set_link(ms(1000), false);
    assert_eq!(reasons(&actions(&mut i)), [Reason::LinkDown]);
    // What the daemon reports on link up: the address first (tentative again), then the link.
    i.set_source_usable(ms(2000), false);
    i.set_link(ms(2000), true);
    assert_eq!((i.state(), i.poll_timeout()), (State::Fault, None), "no master down timer runs");
    assert!(actions(&mut i).is_empty());
    i.set_source_usable(ms(3500), true);
    let acts = actions(&mut i);
    assert_eq!(transitions(&acts), [(State::Fault, State::Backup)]);
    assert_eq!(reasons(&acts), [Reason::SourceUsable { addr: ip("fe80::2") }]);
    assert_eq!(i.poll_timeout(), Some(ms(3500) + i.master_down_interval()));
    // A source that goes away under a master: FAULT, resigning.
    i.handle_timeout(i.poll_timeout().unwrap());
    actions(&mut i);
    i.set_source_usable(ms(9000), false);
    let acts = actions(&mut i);
    assert_eq!(sent_priorities(&acts), [0]);
    assert_eq!(reasons(&acts), [Reason::SourceUnusable { addr: ip("fe80::2") }]);
    // Started with an unusable source: FAULT from the start, with that reason.
    let mut j = Instance::new(i.config().clone()).unwrap();
    j.set_source_usable(Duration::ZERO, false);
    j.start(Duration::ZERO);
    assert_eq!(reasons(&actions(&mut j)), [Reason::SourceUnusable { addr: ip("fe80::2") }]);
}

/// Failed sends are counted; `down_timer_adverts` in a row make a master give up (FAULT,
/// VIPs removed); it listens again after Master_Down_Interval, then twice that when they fail
/// again; a send that works resets the count and the backoff.
#[test]
fn persistent_send_failures_are_a_fault() {
    let mut m = Instance::new(config(100)).unwrap();
    m.start(Duration::ZERO);
    let mut now = m.poll_timeout().unwrap();
    m.handle_timeout(now);
    actions(&mut m);
    let group = ip("224.0.0.18");
    m.report_send(now, group, Err("Invalid argument (os error 22)"));
    for _ in 0..1 {
        now += ms(1000);
        m.handle_timeout(now);
        actions(&mut m);
        m.report_send(now, group, Err("Invalid argument (os error 22)"));
    }
    assert_eq!((m.state(), m.stats().consecutive_failed_rounds), (State::Master, 2), "two are not persistent");
    m.report_send(now, group, Ok(()));
    assert_eq!(m.stats().consecutive_failed_rounds, 0);
    for _ in 0..3 {
        now += ms(1000);
        m.handle_timeout(now);
        actions(&mut m);
        m.report_send(now, group, Err("Invalid argument (os error 22)"));
    }
    let acts = actions(&mut m);
    assert_eq!(m.state(), State::Fault);
    assert!(acts.contains(&Action::RemoveVips(vec![ip("10.0.0.100")])));
    let failing = Reason::SendFailing { failures: 3, error: "Invalid argument (os error 22)".into() };
    assert_eq!(reasons(&acts), [failing]);
    assert_eq!(
        (m.stats().send_failures, m.stats().last_send_error.as_deref()),
        (5, Some("Invalid argument (os error 22)"))
    );
    let mdi = m.master_down_interval();
    assert_eq!(timer(&m, Timer::SendRetry), Some(now + mdi));
    now += mdi;
    m.handle_timeout(now);
    assert_eq!(reasons(&actions(&mut m)), [Reason::SendRetry]);
    assert_eq!(m.state(), State::Backup);
    // Nobody else: master again, and the sends still fail: FAULT for twice as long.
    now = m.poll_timeout().unwrap();
    m.handle_timeout(now);
    actions(&mut m);
    for _ in 0..3 {
        m.report_send(now, group, Err("Network is unreachable (os error 101)"));
    }
    assert_eq!(m.state(), State::Fault);
    assert_eq!(timer(&m, Timer::SendRetry), Some(now + mdi * 2));
    // The link coming back ends it at once.
    m.set_link(now, false);
    m.set_link(now + ms(10), true);
    assert_eq!(m.state(), State::Backup);
}

/// With several unicast peers a round is one advert to each: it fails only when every send of
/// it failed, and `down_timer_adverts` failed rounds (not sends) in a row make FAULT. One peer
/// that cannot be reached while the others hear us is no reason to give up the VIPs.
#[test]
fn send_failures_count_per_round_with_several_peers() {
    let peers = ["10.0.0.3", "10.0.0.4", "10.0.0.5"];
    let mut c = config(100);
    c.unicast_peers = peers.iter().map(|p| UnicastPeer::from(ip(p))).collect();
    let mut m = Instance::new(c).unwrap();
    m.start(Duration::ZERO);
    let mut now = m.poll_timeout().unwrap();
    m.handle_timeout(now);
    assert_eq!(m.state(), State::Master);
    let fail = "Network is unreachable (os error 101)";
    // Report every send of the round that was just handed out, as `outcome(peer)` says.
    let round = |m: &mut Instance, now: Duration, outcome: &dyn Fn(&str) -> Result<(), &'static str>| {
        let sends: Vec<IpAddr> = actions(m)
            .into_iter()
            .filter_map(|a| if let Action::Send { to, .. } = a { Some(to) } else { None })
            .collect();
        assert_eq!(sends.len(), peers.len(), "one advert per peer");
        for to in sends {
            m.report_send(now, to, outcome(&to.to_string()));
        }
    };
    // Round 1: every send fails. Three failures, one failed round: still master.
    round(&mut m, now, &|_| Err(fail));
    assert_eq!((m.state(), m.stats().send_failures, m.stats().consecutive_failed_rounds), (State::Master, 3, 1));
    // Rounds 2-4: one peer unreachable, the others hear us: the streak ends and stays 0.
    for _ in 0..3 {
        now += ms(1000);
        m.handle_timeout(now);
        round(&mut m, now, &|to| if to == "10.0.0.4" { Err(fail) } else { Ok(()) });
        assert_eq!((m.state(), m.stats().consecutive_failed_rounds), (State::Master, 0));
    }
    assert_eq!(m.stats().send_failures, 6);
    // Rounds 5-7: nobody can be reached: FAULT after the third round, not after the third send.
    for k in 1..=3u32 {
        now += ms(1000);
        m.handle_timeout(now);
        round(&mut m, now, &|_| Err(fail));
        let want = if k < 3 { State::Master } else { State::Fault };
        assert_eq!((m.state(), m.stats().consecutive_failed_rounds), (want, k), "round {k}");
    }
    let acts = actions(&mut m);
    assert_eq!(reasons(&acts), [Reason::SendFailing { failures: 3, error: fail.into() }]);
    assert_eq!(m.stats().send_failures, 15);
}

/// Times near the end of `Duration` never overflow a deadline (they saturate).
#[test]
fn deadlines_saturate_near_the_end_of_time() {
    let mut c = config(100);
    c.garp_refresh = Duration::from_secs(60);
    c.preempt_delay = Duration::from_secs(300);
    let mut m = Instance::new(c).unwrap();
    let end = Duration::MAX - ms(1);
    m.start(end);
    m.handle_timeout(Duration::MAX);
    assert_eq!(m.state(), State::Master);
    actions(&mut m);
    m.report_send(Duration::MAX, GROUP_V4, Err("no"));
    m.report_vips(Duration::MAX, VipOp::Add, &[ip("10.0.0.100")], Err("no"));
    assert!(m.timers().all(|(_, at)| at == Duration::MAX), "{:?}", m.timers().collect::<Vec<_>>());
    let adv = advert("10.0.0.3", 200, Version::V3);
    m.handle_packet(Duration::MAX, ip("10.0.0.3"), GROUP_V4, 255, &adv).unwrap();
    assert_eq!(m.state(), State::Backup);
}

/// IPv4 senders named as IPv4-mapped IPv6 addresses (a dual-stack socket, a C caller) are the
/// IPv4 addresses; a configuration naming one is refused, telling the IPv4 form.
#[test]
fn ipv4_mapped_addresses_are_ipv4() {
    let mut m = unicast_master(UnicastPeer::from(ip("10.0.0.3")), true);
    let adv = advert_to("10.0.0.3", "10.0.0.2", 200);
    let now = m.poll_timeout().unwrap();
    assert_eq!(m.handle_packet(now, ip("::ffff:10.0.0.3"), ip("::ffff:10.0.0.2"), 255, &adv), Ok(()));
    assert_eq!(m.state(), State::Backup, "the peer's advert, mapped, is the peer's");
    for (what, mapped) in [("primary", 0), ("vip", 1), ("peer", 2)] {
        let mut c = config(100);
        let m6 = ip("::ffff:10.0.0.9");
        match mapped {
            0 => c.primary = m6,
            1 => c.vips = vec![m6],
            _ => c.unicast_peers = vec![UnicastPeer::from(m6)],
        }
        let e = Instance::new(c).unwrap_err();
        assert_eq!(e, ConfigError::Mapped(m6), "{what}");
        assert!(e.to_string().contains("write it as the IPv4 address 10.0.0.9"), "{e}");
    }
}

/// The counts keepalived bounds are bounded here too: down_timer_adverts 1-100 (keepalived's
/// range), GARP bursts 1-100 (0 for the lower-priority one), the refresh whole seconds.
#[test]
fn unbounded_counts_are_refused() {
    let with = |f: &dyn Fn(&mut Config)| {
        let mut c = config(100);
        f(&mut c);
        Instance::new(c).err()
    };
    assert_eq!(with(&|c| c.down_timer_adverts = 0), Some(ConfigError::DownTimerAdverts(0)));
    assert_eq!(with(&|c| c.down_timer_adverts = 101), Some(ConfigError::DownTimerAdverts(101)));
    assert_eq!(with(&|c| c.down_timer_adverts = 100), None);
    assert_eq!(with(&|c| c.down_timer_adverts = 1), None);
    assert!(matches!(with(&|c| c.garp_repeat = 0), Some(ConfigError::GarpRepeat { value: 0, .. })));
    assert!(matches!(with(&|c| c.garp_repeat = u32::MAX), Some(ConfigError::GarpRepeat { .. })));
    assert_eq!(with(&|c| c.garp_repeat = 100), None);
    assert!(matches!(with(&|c| c.garp_lower_prio_repeat = Some(101)), Some(ConfigError::GarpRepeat { .. })));
    assert_eq!(with(&|c| c.garp_lower_prio_repeat = Some(0)), None);
    assert_eq!(with(&|c| c.garp_refresh = ms(1500)), Some(ConfigError::GarpRefresh(ms(1500))));
    let long = Duration::from_secs(u64::from(u32::MAX) + 1);
    assert_eq!(with(&|c| c.garp_refresh = long), Some(ConfigError::GarpRefresh(long)));
    assert_eq!(with(&|c| c.garp_refresh = Duration::from_secs(60)), None);
}

/// A VIP removal that fails is tried again, backing off, until it works; becoming master again
/// makes it unwanted. An addition that fails is retried while master.
#[test]
fn failed_vip_changes_are_retried() {
    let vip = ip("10.0.0.100");
    let mut m = Instance::new(config(100)).unwrap();
    m.start(Duration::ZERO);
    let became = m.poll_timeout().unwrap();
    m.handle_timeout(became);
    actions(&mut m);
    m.report_vips(became, VipOp::Add, &[vip], Err("No buffer space available (os error 105)"));
    let retry = timer(&m, Timer::VipRetry).unwrap();
    assert_eq!(retry, became + ms(1000));
    m.handle_timeout(retry);
    assert!(actions(&mut m).contains(&Action::AddVips(vec![vip])), "the addition again");
    m.report_vips(retry, VipOp::Add, &[vip], Ok(()));
    assert_eq!(timer(&m, Timer::VipRetry), None);

    // A higher priority takes over; our removal fails, twice.
    let t = retry + ms(100);
    m.handle_packet(t, ip("10.0.0.3"), GROUP_V4, 255, &advert("10.0.0.3", 200, Version::V3)).unwrap();
    assert!(actions(&mut m).contains(&Action::RemoveVips(vec![vip])));
    m.report_vips(t, VipOp::Remove, &[vip], Err("Operation not permitted (os error 1)"));
    assert_eq!(m.pending_removal(), [vip]);
    assert_eq!(timer(&m, Timer::VipRetry), Some(t + ms(1000)));
    m.handle_timeout(t + ms(1000));
    assert!(actions(&mut m).contains(&Action::RemoveVips(vec![vip])));
    m.report_vips(t + ms(1000), VipOp::Remove, &[vip], Err("Operation not permitted (os error 1)"));
    assert_eq!(timer(&m, Timer::VipRetry), Some(t + ms(3000)), "backing off");
    assert_eq!(m.stats().vip_failures, 3);
    m.handle_timeout(t + ms(3000));
    assert!(actions(&mut m).contains(&Action::RemoveVips(vec![vip])));
    m.report_vips(t + ms(3000), VipOp::Remove, &[vip], Ok(()));
    assert!(m.pending_removal().is_empty());
    assert_eq!(timer(&m, Timer::VipRetry), None);

    // Pending when the instance becomes master again: the VIP is wanted, not removed.
    m.report_vips(t + ms(3000), VipOp::Remove, &[vip], Err("Operation not permitted (os error 1)"));
    let due = timer(&m, Timer::MasterDown).unwrap();
    m.handle_timeout(due);
    assert_eq!(m.state(), State::Master);
    assert!(m.pending_removal().is_empty());
    let retry = timer(&m, Timer::VipRetry).unwrap();
    actions(&mut m);
    m.handle_timeout(retry);
    assert!(!actions(&mut m).iter().any(|a| matches!(a, Action::RemoveVips(_))));
}

/// Every transition says why, typed.
#[test]
fn transitions_carry_typed_reasons() {
    let mut o = Instance::new(config(255)).unwrap();
    o.start(Duration::ZERO);
    assert_eq!(reasons(&actions(&mut o)), [Reason::Owner]);
    let mut b = Instance::new(config(100)).unwrap();
    b.start(Duration::ZERO);
    assert_eq!(reasons(&actions(&mut b)), [Reason::Startup]);
    b.handle_timeout(b.poll_timeout().unwrap());
    assert_eq!(reasons(&actions(&mut b)), [Reason::MasterDownExpired]);
    let t = b.poll_timeout().unwrap();
    b.handle_packet(t, ip("10.0.0.3"), GROUP_V4, 255, &advert("10.0.0.3", 100, Version::V3)).unwrap();
    assert_eq!(reasons(&actions(&mut b)), [Reason::HigherAddressAdvert { from: ip("10.0.0.3"), priority: 100 }]);
    b.handle_packet(t, ip("10.0.0.3"), GROUP_V4, 255, &advert("10.0.0.3", 0, Version::V3)).unwrap();
    b.handle_timeout(b.poll_timeout().unwrap());
    assert_eq!(reasons(&actions(&mut b)), [Reason::MasterResigned { from: ip("10.0.0.3") }]);
    let t = b.poll_timeout().unwrap();
    b.handle_packet(t, ip("10.0.0.1"), GROUP_V4, 255, &advert("10.0.0.1", 200, Version::V3)).unwrap();
    let why = Reason::HigherPriorityAdvert { from: ip("10.0.0.1"), priority: 200, ours: 100 };
    assert_eq!(reasons(&actions(&mut b)), [why]);
    b.shutdown(t);
    assert_eq!(reasons(&actions(&mut b)), [Reason::Shutdown]);
    let mut c = config(100);
    c.checks = vec![CheckConfig { name: "fatal".into(), weight: 0, rise: 1, fall: 1, reverse: false }];
    let mut f = Instance::new(c.clone()).unwrap();
    f.start(Duration::ZERO);
    f.set_check(ms(1), "fatal", false);
    f.set_check(ms(2), "fatal", true);
    let expect =
        [Reason::Startup, Reason::CheckFailing { name: "fatal".into() }, Reason::CheckPassing { name: "fatal".into() }];
    assert_eq!(reasons(&actions(&mut f)), expect);
    f.set_check(ms(3), "fatal", false);
    actions(&mut f);
    c.checks.clear();
    f.reconfigure(ms(4), c).unwrap();
    assert_eq!(reasons(&actions(&mut f)), [Reason::Reload], "a reload that drops the failing check");
}

/// Issue 14's edges, refused once at build time: `advert_int 0` (a busy loop of adverts),
/// intervals a version cannot carry, more VIPs than one advert carries, peers of the other
/// family; and `advert_int 60` in v2 now works both ways (it was clamped to 40.95 s on
/// receive, so both routers became master).
#[test]
fn edge_configurations() {
    let mut c = config(100);
    c.advert_interval = Duration::ZERO;
    assert!(matches!(Instance::new(c), Err(ConfigError::Interval { error: IntervalError::Zero, .. })));
    let mut c = config(100);
    c.advert_interval = ms(15);
    assert!(matches!(Instance::new(c), Err(ConfigError::Interval { error: IntervalError::NotAMultiple { .. }, .. })));
    let mut c = config(100);
    c.version = Some(Version::V2);
    c.advert_interval = ms(256_000);
    assert!(matches!(Instance::new(c), Err(ConfigError::Interval { error: IntervalError::TooLong { .. }, .. })));
    let mut c = config(100);
    c.vips = (0..256u32).map(|i| IpAddr::from((0x0a01_0000 + i).to_be_bytes())).collect();
    assert_eq!(Instance::new(c.clone()).err(), Some(ConfigError::TooManyVips(256)));
    c.vips.pop();
    assert!(Instance::new(c).is_ok(), "255 fit");
    let mut c = config(100);
    c.unicast_peers = vec![UnicastPeer::from(ip("fd00::3"))];
    assert_eq!(Instance::new(c).err(), Some(ConfigError::Peer(ip("fd00::3"))));

    let minute = |primary: &str, priority: u8| {
        let mut c = Config::new(51, priority, ip(primary), vec![ip("10.0.0.100")]);
        c.version = Some(Version::V2);
        c.advert_interval = Duration::from_secs(60);
        Instance::new(c).unwrap()
    };
    let (mut a, mut b) = (minute("10.0.0.1", 200), minute("10.0.0.2", 100));
    a.start(Duration::ZERO);
    b.start(Duration::ZERO);
    a.handle_timeout(a.poll_timeout().unwrap());
    let sent: Vec<Vec<u8>> = actions(&mut a)
        .into_iter()
        .filter_map(|x| if let Action::Send { bytes, .. } = x { Some(bytes) } else { None })
        .collect();
    assert_eq!(sent[0][5], 60, "the v2 interval field");
    let t = a.poll_timeout().unwrap();
    b.handle_packet(t, ip("10.0.0.1"), GROUP_V4, 255, &sent[0]).expect("a peer with advert_int 60 hears it");
    assert_eq!(b.master_down_interval(), Duration::from_secs(180) + Duration::from_secs(1) * 156 / 256);
}

/// Found by the `capi_json` fuzz target (which serializes every action a C caller is handed):
/// `Action` derived serde as an internally tagged enum, which serde cannot write for a variant
/// holding a bare list: `AddVips` and `RemoveVips` failed at run time ("cannot serialize tagged
/// newtype variant Action::AddVips containing a sequence"), for every instance that ever became
/// master. They are written `{"action": "add_vips", "vips": [...]}` now, as bm-capi writes them.
#[test]
fn every_action_serializes_and_reads_back() {
    let mut i = Instance::new(config(255)).unwrap();
    i.start(ms(0));
    let due = i.poll_timeout().unwrap();
    i.handle_timeout(due);
    i.shutdown(due);
    let mut acts = actions(&mut i);
    acts.push(Action::RemoveVips(vec![ip("10.0.0.100")]));
    let kinds: Vec<&str> = acts
        .iter()
        .map(|a| match a {
            Action::Send { .. } => "send",
            Action::AddVips(_) => "add_vips",
            Action::RemoveVips(_) => "remove_vips",
            Action::Announce { .. } => "announce",
            Action::Transition { .. } => "transition",
        })
        .collect();
    for k in ["send", "add_vips", "remove_vips", "announce", "transition"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    for a in &acts {
        let json = serde_json::to_value(a).unwrap_or_else(|e| panic!("{a:?}: {e}"));
        if let Action::AddVips(vips) = a {
            assert_eq!(json, serde_json::json!({"action": "add_vips", "vips": vips}));
        }
        assert_eq!(&serde_json::from_value::<Action>(json).unwrap(), a);
    }
}
