//! keepalived.conf as OpenShift's templates render it (machine-config-operator on-prem
//! masters), and the diagnostics for what bmnet does not run.

use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{Instance, Severity, State, Version, parse_keepalived};
use proptest::prelude::*;

const OPENSHIFT_MASTER: &str = r#"
global_defs {
    enable_script_security
    script_user root
    max_auto_priority -1
    vrrp_garp_master_refresh 60
}

# These are separate checks to provide the following behavior:
vrrp_script chk_ocp_lb {
    script "/usr/bin/timeout 1.9 /etc/keepalived/chk_ocp_script.sh"
    interval 2
    weight 20
    rise 3
    fall 3
}

vrrp_script chk_ocp_both {
    script "/usr/bin/timeout 1.9 /etc/keepalived/chk_ocp_script_both.sh"
    interval 2
    weight 5
    rise 3
    fall 3
}

vrrp_script chk_ingress {
    script "/usr/bin/timeout 0.9 /usr/bin/curl -o /dev/null -Lfs http://localhost:1936/healthz"
    interval 1
    weight 0
    rise 3
    fall 2
}

vrrp_instance ostest_API {
    state BACKUP
    interface br-ex
    virtual_router_id 62
    priority 40
    advert_int 1
    unicast_src_ip 192.168.111.20
    unicast_peer {
        192.168.111.21
        192.168.111.22
    }
    authentication {
        auth_type PASS
        auth_pass ostest_api_vip
    }
    virtual_ipaddress {
        192.168.111.5/32 label vip
    }
    track_script {
        chk_ocp_lb
        chk_ocp_both
    }
}

vrrp_instance ostest_INGRESS {
    state BACKUP
    interface br-ex
    virtual_router_id 159
    priority 20
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass ostest_ingress_vip
    }
    virtual_ipaddress {
        192.168.111.4/32 label vip
    }
    track_script {
        chk_ingress
    }
}
"#;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn openshift_master_template() {
    let conf = parse_keepalived(OPENSHIFT_MASTER, "keepalived.conf", &mut |_| Err("none".into()));
    assert!(!conf.has_errors(), "{:#?}", conf.diagnostics);
    assert_eq!(conf.diagnostics.len(), 1, "only max_auto_priority is worth a word: {:#?}", conf.diagnostics);
    assert_eq!(
        conf.diagnostics[0].to_string(),
        "keepalived.conf:5:5: warning: max_auto_priority has no effect: bmnet runs no realtime scheduler"
    );
    assert_eq!(conf.scripts.len(), 3);
    assert_eq!(conf.scripts[0].timeout, Duration::from_secs(2), "timeout defaults to the interval");
    let api = &conf.instances[0];
    assert_eq!(api.name, "ostest_API");
    assert_eq!(api.interface.as_deref(), Some("br-ex"));
    let c = &api.config;
    assert_eq!((c.vrid, c.priority, c.version()), (62, 40, Version::V2));
    assert_eq!(c.primary, ip("192.168.111.20"));
    assert_eq!(c.unicast_peers, [ip("192.168.111.21"), ip("192.168.111.22")]);
    assert_eq!(c.auth, Some(*b"ostest_a"));
    assert_eq!(c.garp_refresh, Duration::from_secs(60));
    // keepalived's default: re-announce on a lower-priority advert as on becoming master.
    assert_eq!((c.garp_lower_prio_repeat, c.garp_lower_prio_delay), (Some(5), Some(Duration::from_secs(5))));
    assert_eq!(api.vips[0].label.as_deref(), Some("vip"));
    assert_eq!(
        c.checks.iter().map(|k| (k.name.as_str(), k.weight, k.rise, k.fall)).collect::<Vec<_>>(),
        [("chk_ocp_lb", 20, 3, 3), ("chk_ocp_both", 5, 3, 3)]
    );

    // The instance runs: checks raise the priority to 65, then a failing one takes 20 back.
    let mut inst = Instance::new(api.config.clone()).unwrap();
    inst.start(Duration::ZERO);
    for _ in 0..3 {
        inst.set_check(Duration::ZERO, "chk_ocp_lb", true);
        inst.set_check(Duration::ZERO, "chk_ocp_both", true);
    }
    assert_eq!(inst.priority(), 65);
    // The ingress instance has no unicast_src_ip: the interface's address fills it in, and its
    // weight-0 check means FAULT while failing.
    let ingress = &conf.instances[1];
    assert!(ingress.config.primary.is_unspecified());
    let cfg = ingress.config_for(ip("192.168.111.20")).unwrap();
    let mut inst = Instance::new(cfg).unwrap();
    inst.start(Duration::ZERO);
    inst.set_check(Duration::ZERO, "chk_ingress", false);
    assert_eq!(inst.state(), State::Fault);
}

#[test]
fn unknown_and_unsupported_keywords_are_reported_by_line() {
    let text = "global_defs {\n  vrrp_strict\n  fancy_option 1\n}\nvrrp_instance X {\n  virtual_router_id 7\n  use_vmac\n  colour blue\n  virtual_ipaddress {\n    10.0.0.5/24 dev eth1\n  }\n  track_script {\n    missing\n  }\n}\nvirtual_server 10.0.0.1 80 {\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    let found: Vec<(usize, Severity, &str)> =
        conf.diagnostics.iter().map(|d| (d.line, d.severity, d.message.as_str())).collect();
    assert_eq!(
        found,
        [
            (2, Severity::Error, "vrrp_strict changes behaviour and is not supported"),
            (3, Severity::Warning, "unknown global_defs keyword fancy_option: ignored"),
            (7, Severity::Error, "use_vmac changes behaviour and is not supported"),
            (8, Severity::Warning, "unknown vrrp_instance keyword colour: ignored"),
            (13, Severity::Error, "track_script missing: no such vrrp_script"),
            (16, Severity::Error, "virtual_server is not supported"),
        ]
    );
    assert_eq!(conf.instances[0].vips[0].prefix_len, 24);
    assert_eq!(conf.instances[0].vips[0].dev.as_deref(), Some("eth1"));
}

/// The lower-priority GARPs follow the global settings, which default to the global
/// garp_master_* (keepalived's `vrrp_complete_instance`), not an instance's own garp_master_*.
#[test]
fn lower_priority_garps_follow_global_defs() {
    let text = "global_defs {\n  vrrp_garp_master_repeat 3\n  vrrp_garp_master_delay 2\n}\n\
        vrrp_instance A {\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  garp_master_repeat 9\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n\
        vrrp_instance B {\n  virtual_router_id 8\n  unicast_src_ip 10.0.0.1\n  garp_lower_prio_repeat 0\n  garp_lower_prio_delay 1\n  virtual_ipaddress {\n    10.0.0.6\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    assert!(conf.diagnostics.is_empty(), "{:#?}", conf.diagnostics);
    let (a, b) = (&conf.instances[0].config, &conf.instances[1].config);
    assert_eq!(
        (a.garp_repeat, a.garp_lower_prio_repeat, a.garp_lower_prio_delay),
        (9, Some(3), Some(Duration::from_secs(2)))
    );
    assert_eq!((b.garp_lower_prio_repeat, b.garp_lower_prio_delay), (Some(0), Some(Duration::from_secs(1))));
    let text = "global_defs {\n  vrrp_garp_lower_prio_repeat 1\n  vrrp_garp_lower_prio_delay 0\n}\n\
        vrrp_instance A {\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    assert!(conf.diagnostics.is_empty(), "{:#?}", conf.diagnostics);
    let a = &conf.instances[0].config;
    assert_eq!((a.garp_lower_prio_repeat, a.garp_lower_prio_delay), (Some(1), Some(Duration::ZERO)));
}

/// `higher_prio_send_advert` is on unless turned off, globally or per instance (keepalived's
/// optional true/false argument); anything else is an error at its place.
#[test]
fn higher_prio_send_advert_switches() {
    let instance = |extra: &str, vrid: u8| {
        format!(
            "vrrp_instance I{vrid} {{\n  virtual_router_id {vrid}\n  unicast_src_ip 10.0.0.1\n{extra}  virtual_ipaddress {{\n    10.0.0.5\n  }}\n}}\n"
        )
    };
    let text =
        [instance("", 1), instance("  higher_prio_send_advert false\n", 2), instance("  higher_prio_send_advert\n", 3)]
            .concat();
    let conf = parse_keepalived(&text, "k.conf", &mut |_| Err("none".into()));
    assert!(conf.diagnostics.is_empty(), "{:#?}", conf.diagnostics);
    let on: Vec<bool> = conf.instances.iter().map(|i| i.config.higher_prio_send_advert).collect();
    assert_eq!(on, [true, false, true]);

    let text = format!(
        "global_defs {{\n  vrrp_higher_prio_send_advert off\n}}\n{}{}",
        instance("", 1),
        instance("  higher_prio_send_advert on\n", 2)
    );
    let conf = parse_keepalived(&text, "k.conf", &mut |_| Err("none".into()));
    assert!(conf.diagnostics.is_empty(), "{:#?}", conf.diagnostics);
    let on: Vec<bool> = conf.instances.iter().map(|i| i.config.higher_prio_send_advert).collect();
    assert_eq!(on, [false, true]);

    let conf =
        parse_keepalived(&instance("  higher_prio_send_advert maybe\n", 1), "k.conf", &mut |_| Err("none".into()));
    assert_eq!(conf.diagnostics.len(), 1);
    assert_eq!(
        conf.diagnostics[0].to_string(),
        "k.conf:4:27: error: higher_prio_send_advert: \"maybe\" is not true or false"
    );
}

#[test]
fn includes_state_master_and_ipv6() {
    let mut asked = Vec::new();
    let conf = parse_keepalived(
        "include /etc/keepalived/instances.conf\ninclude /missing.conf\n",
        "main.conf",
        &mut |path| {
            asked.push(path.to_string());
            if path == "/etc/keepalived/instances.conf" {
                Ok("vrrp_instance V6 {\n  state MASTER\n  virtual_router_id 9\n  advert_int 0.5\n  virtual_ipaddress {\n    fd00::5/64\n  }\n}\n".into())
            } else {
                Err("No such file or directory".into())
            }
        },
    );
    assert_eq!(asked, ["/etc/keepalived/instances.conf", "/missing.conf"]);
    let d = &conf.diagnostics;
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].to_string(), "main.conf:2:9: error: cannot include /missing.conf: No such file or directory");
    let v6 = &conf.instances[0];
    assert_eq!(v6.config.priority, 255, "state MASTER without a priority is the owner");
    let cfg = v6.config_for(ip("fe80::1")).unwrap();
    assert_eq!((cfg.version(), cfg.advert_interval), (Version::V3, Duration::from_millis(500)));
}

proptest! {
    /// Any text, and the OpenShift file cut or spliced anywhere: no panic, diagnostics inside
    /// the text.
    #[test]
    fn never_panics(text in ".{0,400}", cut in 0usize..2000, junk in "[{}\"#! a-z0-9./_-]{0,40}") {
        let mut spliced: String = OPENSHIFT_MASTER.chars().take(cut).collect();
        spliced.push_str(&junk);
        spliced.extend(OPENSHIFT_MASTER.chars().skip(cut));
        for t in [text, spliced] {
            let conf = parse_keepalived(&t, "f", &mut |_| Err("none".into()));
            let lines = t.lines().count().max(1);
            for d in &conf.diagnostics {
                prop_assert!(d.line >= 1 && d.line <= lines && d.column >= 1, "{}", d);
            }
        }
    }
}

/// `track_interface` becomes checks named `interface:NAME` (rise and fall 1) that the socket
/// backend feeds with the carrier; the instance's own interface is ignored, as keepalived does;
/// a bad weight is an error at its place.
#[test]
fn tracked_interfaces_are_checks() {
    let text = "vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  \
                track_interface {\n    eth1 weight -30\n    eth2\n    eth0\n  }\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    assert_eq!(conf.diagnostics.len(), 1, "{:#?}", conf.diagnostics);
    assert_eq!(
        conf.diagnostics[0].to_string(),
        "k.conf:1:1: warning: vrrp_instance A: track_interface eth0 is its own interface: ignored"
    );
    let a = &conf.instances[0];
    let tracked: Vec<_> = a.track_interfaces.iter().map(|t| (t.name.as_str(), t.weight, t.reverse)).collect();
    assert_eq!(tracked, [("eth1", -30, false), ("eth2", 0, false)]);
    let checks: Vec<_> = a.config.checks.iter().map(|c| (c.name.as_str(), c.weight, c.rise, c.fall)).collect();
    assert_eq!(checks, [("interface:eth1", -30, 1, 1), ("interface:eth2", 0, 1, 1)]);

    // Through the core: eth1 down costs 30, eth2 down is a fault.
    let mut i = Instance::new(a.config.clone()).unwrap();
    i.start(Duration::ZERO);
    i.set_check(Duration::ZERO, "interface:eth1", false);
    assert_eq!(i.priority(), 70);
    i.set_check(Duration::ZERO, "interface:eth2", false);
    assert_eq!(i.state(), State::Fault);

    let text = "vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  track_interface {\n    eth1 weight 300\n    \
                eth2 wait 3\n    eth3 weight 5 reverse\n    eth4 weight 5 sideways\n  }\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    let shown: Vec<String> = conf.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "k.conf:5:17: error: track_interface eth1: weight -253 to 253",
            "k.conf:6:10: error: track_interface eth2: expected `weight N`",
            "k.conf:8:19: error: track_interface eth4: expected `reverse` after the weight",
        ]
    );
    // eth3's `reverse` is read (keepalived's negated adjustment).
    let tracked: Vec<_> =
        conf.instances[0].track_interfaces.iter().map(|t| (t.name.as_str(), t.weight, t.reverse)).collect();
    assert_eq!(tracked, [("eth3", 5, true)]);
}

/// `track_script` entries read their weight as `track_interface` entries do.
#[test]
fn track_script_weights_are_checked() {
    let text = "vrrp_script chk {\n  script \"/bin/true\"\n  weight 10\n}\nvrrp_instance A {\n  interface eth0\n  \
                virtual_router_id 7\n  track_script {\n    chk\n    chk weight -20\n    chk weight 999\n    chk wait 3\n  }\n  \
                virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    let shown: Vec<String> = conf.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "k.conf:11:16: error: track_script chk: weight -253 to 253",
            "k.conf:12:9: error: track_script chk: expected `weight N`"
        ]
    );
    let weights: Vec<i32> = conf.instances[0].config.checks.iter().map(|c| c.weight).collect();
    assert_eq!(weights, [10, -20], "the script's own weight, then the entry's");
}

/// keepalived 2.2.7 ignores a fractional or out-of-range `interval` or `timeout` of a
/// vrrp_script (`(chk): vrrp script interval '0.5' must be between 1 and 4294 - ignoring`) and
/// keeps its defaults; bmnet warns and does the same, so one file runs its checks alike.
#[test]
fn script_intervals_are_whole_seconds_as_keepalived_reads_them() {
    let text = "vrrp_script chk {\n  script \"/bin/true\"\n  interval 0.5\n  timeout 0.5\n}\n\
                vrrp_script slow {\n  script \"/bin/true\"\n  interval 3\n  timeout 9999\n  interval\n}\n\
                vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  track_script {\n    chk\n    slow\n  }\n  \
                virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    let shown: Vec<String> = conf.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "k.conf:3:12: warning: vrrp_script chk: interval \"0.5\": keepalived takes whole seconds from 1 to 4294 and \
             ignores this; so does bmnet (1 s)",
            "k.conf:4:11: warning: vrrp_script chk: timeout \"0.5\": keepalived takes whole seconds from 1 to 4294 and \
             ignores this; so does bmnet (the interval)",
            "k.conf:9:11: warning: vrrp_script slow: timeout \"9999\": keepalived takes whole seconds from 1 to 4294 and \
             ignores this; so does bmnet (the interval)",
            "k.conf:10:3: error: interval needs a value",
        ]
    );
    let checks: Vec<_> = conf.instances[0].config.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(checks, ["chk", "slow"]);
    let timing: Vec<_> = conf.scripts.iter().map(|s| (s.name.as_str(), s.interval, s.timeout)).collect();
    assert_eq!(
        timing,
        [
            ("chk", Duration::from_secs(1), Duration::from_secs(1)),
            ("slow", Duration::from_secs(3), Duration::from_secs(3))
        ]
    );
}

/// `reverse` as keepalived reads it: on a vrrp_script's weight (the default for the entries
/// naming it), on a `track_script` entry (`noreverse` undoes the script's), and the arithmetic
/// through the core: +30 reverse subtracts while passing, -20 reverse adds while failing.
#[test]
fn reverse_weights_negate_the_adjustment() {
    let text = "vrrp_script up {\n  script \"/bin/true\"\n  weight 30 reverse\n}\n\
                vrrp_script down {\n  script \"/bin/false\"\n  weight -20\n}\n\
                vrrp_script plain {\n  script \"/bin/true\"\n  weight 10 reverse\n}\n\
                vrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n  priority 100\n  track_script {\n    up\n    \
                down weight -20 reverse\n    plain weight 10 noreverse\n  }\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("none".into()));
    assert!(conf.diagnostics.is_empty(), "{:?}", conf.diagnostics);
    let checks: Vec<_> =
        conf.instances[0].config.checks.iter().map(|c| (c.name.as_str(), c.weight, c.reverse)).collect();
    assert_eq!(checks, [("up", 30, true), ("down", -20, true), ("plain", 10, false)]);
    let mut i = Instance::new(conf.instances[0].config.clone()).unwrap();
    i.start(Duration::ZERO);
    i.set_check(Duration::ZERO, "up", true);
    assert_eq!(i.priority(), 70, "+30 reverse, passing: -30");
    i.set_check(Duration::ZERO, "down", false);
    assert_eq!(i.priority(), 90, "-20 reverse, failing: +20");
    i.set_check(Duration::ZERO, "plain", true);
    assert_eq!(i.priority(), 100, "+10 noreverse, passing: +10");
}
