//! keepalived.conf as OpenShift's templates render it (machine-config-operator on-prem
//! masters), and the diagnostics for what bmnet does not run.

use std::net::IpAddr;
use std::time::Duration;

use bm_vrrp::{Instance, ScriptUser, Severity, State, Version, parse_keepalived};
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
        "keepalived.conf:5:5: warning: max_auto_priority has no effect in bmnet: bmnet runs no realtime scheduler \
         and sets no process priority or affinity"
    );
    // Script security as OpenShift sets it, and each command split as keepalived splits it.
    let security = &conf.script_security;
    assert!(security.enabled);
    assert_eq!(security.script_user, Some(ScriptUser { user: "root".into(), group: None }));
    assert_eq!(conf.scripts[0].argv, ["/usr/bin/timeout", "1.9", "/etc/keepalived/chk_ocp_script.sh"]);
    assert_eq!((conf.scripts[0].place.line, conf.scripts[0].place.column), (11, 5));
    assert_eq!(conf.scripts.len(), 3);
    assert_eq!(conf.scripts[0].timeout, Duration::from_secs(2), "timeout defaults to the interval");
    let api = &conf.instances[0];
    assert_eq!(api.name, "ostest_API");
    assert_eq!(api.interface.as_deref(), Some("br-ex"));
    let c = &api.config;
    assert_eq!((c.vrid, c.priority, c.version()), (62, 40, Version::V2));
    assert_eq!(c.primary, ip("192.168.111.20"));
    let peers: Vec<IpAddr> = c.unicast_peers.iter().map(|p| p.addr).collect();
    assert_eq!(peers, [ip("192.168.111.21"), ip("192.168.111.22")]);
    assert!(c.check_unicast_src && !api.check_unicast_src_explicit, "bmnet's default, not the file's");
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
            (2, Severity::Error, "vrrp_strict changes behaviour or security and is not supported by bmnet"),
            (3, Severity::Warning, "unknown global_defs keyword fancy_option: ignored"),
            (7, Severity::Error, "use_vmac changes behaviour or security and is not supported by bmnet"),
            (8, Severity::Warning, "unknown vrrp_instance keyword colour: ignored"),
            (13, Severity::Error, "track_script missing: no such vrrp_script"),
            (16, Severity::Error, "virtual_server changes behaviour or security and is not supported by bmnet"),
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

/// Found by the `keepalived_parse` fuzz target: blocks nested two thousand deep overflowed a
/// test thread's stack (the reader recursed once per `{`). Blocks nest at most 32 deep now;
/// a deeper one is an error at its `{` and is skipped to its `}`, and what follows it is read.
/// (Run on a test thread, whose stack is 2 MiB: a million `{` would overflow any stack.)
#[test]
fn deeply_nested_blocks_end_with_an_error() {
    let deep = format!("{}{}", "x {\n".repeat(1_000_000), "}\n".repeat(1_000_000));
    let text = format!(
        "global_defs {{\n router_id r1\n}}\n{deep}vrrp_instance V4 {{\n  virtual_router_id 9\n  virtual_ipaddress {{\n    10.0.0.5/24\n  }}\n}}\n"
    );
    let conf = parse_keepalived(&text, "keepalived.conf", &mut |_| Err("no includes".into()));
    let errors: Vec<String> =
        conf.diagnostics.iter().filter(|d| d.severity == Severity::Error).map(ToString::to_string).collect();
    assert_eq!(errors, ["keepalived.conf:36:3: error: blocks nested more than 32 deep: this one is skipped"]);
    assert_eq!(conf.instances.len(), 1, "the instance after the deep blocks is read");
    // Anonymous blocks count alike.
    let conf = parse_keepalived(&"{\n".repeat(100_000), "a.conf", &mut |_| Err("no includes".into()));
    assert!(conf.diagnostics.iter().any(|d| d.message.contains("nested more than 32 deep")));
}

/// Found by the `keepalived_include` fuzz target: `include *.conf` in a file the glob matches,
/// written three times, was read 3^8 times (each of 8 levels of nesting read it three times);
/// ten times was 10^8 reads and never ended. A file that includes itself is an error now, and
/// read once.
#[test]
fn include_cycles_end_with_an_error() {
    let mut reads = 0;
    let conf = parse_keepalived("include *.conf\n", "keepalived.conf", &mut |path| {
        reads += 1;
        assert_eq!(path, "*.conf");
        Ok("vrrp_instance V6 {\n  virtual_router_id 9\n  virtual_ipaddress {\n    fd00::5/64\n  }\n}\n".to_string()
            + &"include *.conf\n".repeat(10))
    });
    assert_eq!(reads, 1);
    assert_eq!(conf.instances.len(), 1);
    let errors: Vec<String> = conf.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 10, "{errors:#?}");
    assert_eq!(errors[0], "*.conf:7:9: error: include cycle: keepalived.conf -> *.conf -> *.conf");

    // Through another file, and back to the top file by its own name.
    let mut asked = Vec::new();
    let conf = parse_keepalived("include a\n", "main.conf", &mut |path| {
        asked.push(path.to_string());
        Ok(match path {
            "a" => "include b\n",
            _ => "include a\ninclude main.conf\n",
        }
        .into())
    });
    assert_eq!(asked, ["a", "b"]);
    let errors: Vec<String> = conf.diagnostics.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "b:1:9: error: include cycle: main.conf -> a -> b -> a",
            "b:2:9: error: include cycle: main.conf -> a -> b -> main.conf"
        ]
    );
}

/// Found by the `keepalived_include` fuzz target (as a cycle, above): without any cycle, eight
/// levels of files each including the next level ten times are 10^8 reads. The callback is
/// called at most `MAX_INCLUDES` times; the includes past that are errors.
#[test]
fn include_fan_out_is_bounded() {
    let mut reads = 0;
    let conf = parse_keepalived("include l1\n", "main.conf", &mut |path| {
        reads += 1;
        let level: usize = path[1..].parse().unwrap();
        Ok(format!("include l{}\n", level + 1).repeat(10))
    });
    assert_eq!(reads, bm_vrrp::MAX_INCLUDES);
    let d = &conf.diagnostics;
    assert!(d.iter().all(|d| d.severity == Severity::Error), "{d:#?}");
    assert!(d.iter().any(|d| d.message.ends_with("more than 256 includes")), "{d:#?}");
    assert!(d.iter().any(|d| d.message == "includes nested more than 8 deep"), "{d:#?}");
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
    let mut i = Instance::new(conf.instances[0].config_for(ip("10.0.0.1")).unwrap()).unwrap();
    i.start(Duration::ZERO);
    i.set_check(Duration::ZERO, "up", true);
    assert_eq!(i.priority(), 70, "+30 reverse, passing: -30");
    i.set_check(Duration::ZERO, "down", false);
    assert_eq!(i.priority(), 90, "-20 reverse, failing: +20");
    i.set_check(Duration::ZERO, "plain", true);
    assert_eq!(i.priority(), 100, "+10 noreverse, passing: +10");
}

fn parse(text: &str) -> bm_vrrp::KeepalivedConfig {
    parse_keepalived(text, "k.conf", &mut |_| Err("none".into()))
}

fn shown(conf: &bm_vrrp::KeepalivedConfig) -> Vec<String> {
    conf.diagnostics.iter().map(ToString::to_string).collect()
}

/// One instance with `extra` lines, VRID 7, source 10.0.0.1, one VIP.
fn one(extra: &str) -> String {
    format!(
        "vrrp_instance A {{\n  interface eth0\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n{extra}  virtual_ipaddress {{\n    10.0.0.5\n  }}\n}}\n"
    )
}

/// advert_int as keepalived 2.2.7 reads it (checked with `keepalived -t` and its SIGUSR1 data
/// dump): 0 and anything outside 0.01..255 s is ignored by keepalived with an error, and
/// refused by bmnet; v2 rounds half up to whole seconds, v3 to 10 ms and clamps to 40.95 s,
/// each with a warning; advert_int 60 stays 60 s in v2 (it used to be clamped to 40.95 s on
/// receive, so two routers dropped each other's adverts).
#[test]
fn advert_int_is_refused_rounded_or_clamped_as_keepalived_does() {
    for bad in ["0", "300", "0.005", "-1", "soon"] {
        let conf = parse(&one(&format!("  advert_int {bad}\n")));
        assert!(conf.has_errors(), "advert_int {bad}: {:?}", shown(&conf));
        assert_eq!((conf.diagnostics[0].line, conf.diagnostics[0].column), (5, 14), "{:?}", shown(&conf));
    }
    let interval = |extra: &str| {
        let conf = parse(&one(extra));
        assert!(!conf.has_errors(), "{:?}", shown(&conf));
        (conf.instances[0].config.advert_interval, shown(&conf))
    };
    assert_eq!(interval("  advert_int 60\n"), (Duration::from_secs(60), vec![]));
    let (d, w) = interval("  advert_int 1.5\n");
    assert_eq!(d, Duration::from_secs(2));
    assert_eq!(
        w,
        [
            "k.conf:5:14: warning: advert_int 1.5: is not whole seconds, as VRRPv2 needs; keepalived 2.2.7 runs 2s, and so \
          does bmnet"
        ]
    );
    assert_eq!(interval("  advert_int 0.4\n").0, Duration::from_secs(1));
    let (d, w) = interval("  version 3\n  advert_int 50\n");
    assert_eq!(d, Duration::from_millis(40_950));
    assert!(w[0].contains("longer than VRRPv3 carries; keepalived 2.2.7 runs 40.95s"), "{w:?}");
    assert_eq!(interval("  advert_int 0.015\n  version 3\n").0, Duration::from_millis(20));
    assert_eq!(interval("  advert_int 0.014\n  version 3\n").0, Duration::from_millis(10));
    // What the file asks for runs: the core accepts every interval the reader produces.
    for extra in ["  advert_int 255\n", "  version 3\n  advert_int 40.95\n", "  version 3\n  advert_int 255\n"] {
        let conf = parse(&one(extra));
        Instance::new(conf.instances[0].config.clone()).expect(extra);
    }
}

/// The counts and the refresh as keepalived 2.2.7 reads them (checked with `keepalived -t`):
/// down_timer_adverts 0 or 101 is ignored ("Invalid down_timer_adverts [1:100]"), a
/// garp_master_repeat of 0 raised to 1, a fractional or negative garp_master_refresh ignored
/// and no refresh sent; bmnet does the same, each with a warning at the value. A burst beyond
/// bmnet's limit is an error. Every value the reader produces runs.
#[test]
fn garp_counts_refresh_and_down_timer_adverts_as_keepalived_reads_them() {
    let read = |extra: &str| {
        let conf = parse(&one(extra));
        (conf.instances.first().map(|i| i.config.clone()), shown(&conf))
    };
    let (c, w) = read(
        "  down_timer_adverts 0
  garp_master_repeat 0
  garp_master_refresh 2.5
",
    );
    let c = c.unwrap();
    assert_eq!((c.down_timer_adverts, c.garp_repeat, c.garp_refresh), (3, 1, Duration::ZERO));
    assert_eq!(
        w,
        [
            "k.conf:5:22: warning: down_timer_adverts 0: keepalived takes 1 to 100 and ignores this; so does bmnet",
            "k.conf:6:22: warning: garp_master_repeat 0: keepalived raises it to 1, and so does bmnet",
            "k.conf:7:23: warning: garp_master_refresh \"2.5\": keepalived takes whole seconds up to 4294967295, ignores \
             this and sends no periodic GARP; so does bmnet",
        ]
    );
    Instance::new(c).expect("runs");
    let (c, w) = read(
        "  down_timer_adverts 101
  garp_master_refresh -1
  garp_lower_prio_repeat 0
",
    );
    let c = c.unwrap();
    assert_eq!((c.down_timer_adverts, c.garp_refresh, c.garp_lower_prio_repeat), (3, Duration::ZERO, Some(0)));
    assert_eq!(w.len(), 2, "{w:?}");
    let (c, w) = read(
        "  down_timer_adverts 100
  garp_master_repeat 100
  garp_master_refresh 60
",
    );
    let c = c.unwrap();
    assert_eq!((c.down_timer_adverts, c.garp_repeat, c.garp_refresh), (100, 100, Duration::from_secs(60)));
    assert!(w.is_empty(), "{w:?}");
    Instance::new(c).expect("runs");
    let conf = parse(&one("  garp_master_repeat 101
"));
    assert!(conf.has_errors());
    assert_eq!(
        shown(&conf),
        ["k.conf:5:22: error: garp_master_repeat 101: bmnet sends at most 100 per burst, at once"]
    );
    // The global forms alike.
    let conf = parse(&format!(
        "global_defs {{
  vrrp_down_timer_adverts 0
  vrrp_garp_master_refresh 1.5
  vrrp_garp_master_repeat 0
}}
{}",
        one("")
    ));
    let c = &conf.instances[0].config;
    assert_eq!((c.down_timer_adverts, c.garp_refresh, c.garp_repeat), (3, Duration::ZERO, 1), "{:?}", shown(&conf));
    assert_eq!(
        conf.diagnostics.iter().map(|d| (d.line, d.column, d.severity)).collect::<Vec<_>>(),
        [(2, 27, Severity::Warning), (3, 28, Severity::Warning), (4, 27, Severity::Warning)]
    );
}

/// keepalived 2.2.7 "moves the excess to eVIPs" beyond 255 VIPs: added, never advertised, so
/// its peers drop every advert for the address list. bmnet refuses, at the 256th VIP.
#[test]
fn more_vips_than_one_advert_carries_are_refused() {
    let vips = |n: u32| -> String { (0..n).map(|i| format!("    10.1.{}.{}\n", i / 200, i % 200 + 1)).collect() };
    let conf = parse(&format!(
        "vrrp_instance A {{\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  virtual_ipaddress {{\n{}  }}\n}}\n",
        vips(256)
    ));
    assert_eq!(
        shown(&conf),
        ["k.conf:260:5: error: VIP 256: one advert carries at most 255 addresses (keepalived 2.2.7 adds the excess \
          without advertising it)"]
    );
    let conf = parse(&format!(
        "vrrp_instance A {{\n  virtual_router_id 7\n  unicast_src_ip 10.0.0.1\n  virtual_ipaddress {{\n{}  }}\n}}\n",
        vips(255)
    ));
    assert!(conf.diagnostics.is_empty());
    Instance::new(conf.instances[0].config.clone()).expect("255 VIPs run");
}

/// `check_unicast_src`, `vrrp_check_unicast_src` and a peer's TTL range ask for the source
/// check explicitly (keepalived: "Specifying min_ttl or max_ttl turns on check_unicast_src").
#[test]
fn unicast_source_checks_and_ttl_ranges() {
    let peers = "  unicast_peer {\n    10.0.0.2 min_ttl 250 max_ttl 255\n    10.0.0.3\n  }\n";
    let conf = parse(&one(peers));
    assert!(conf.diagnostics.is_empty(), "{:?}", shown(&conf));
    let a = &conf.instances[0];
    assert!(a.check_unicast_src_explicit);
    let ranges: Vec<_> = a.config.unicast_peers.iter().map(|p| (p.addr.to_string(), p.min_ttl, p.max_ttl)).collect();
    assert_eq!(ranges, [("10.0.0.2".into(), 250, 255), ("10.0.0.3".into(), 0, 255)]);
    let conf = parse(&one("  check_unicast_src\n  unicast_peer {\n    10.0.0.2\n  }\n"));
    assert!(conf.instances[0].check_unicast_src_explicit);
    let conf = parse(&format!("global_defs {{\n  vrrp_check_unicast_src\n}}\n{}", one("")));
    assert!(conf.diagnostics.is_empty() && conf.instances[0].check_unicast_src_explicit);
    let conf =
        parse(&one("  unicast_peer {\n    10.0.0.2 min_ttl 300\n    10.0.0.3 max_ttl\n    10.0.0.4 hops 3\n  }\n"));
    assert_eq!(
        shown(&conf),
        [
            "k.conf:6:22: error: min_ttl: 0 to 255",
            "k.conf:7:14: error: max_ttl needs a value",
            "k.conf:8:14: error: unicast_peer 10.0.0.4: \"hops\": min_ttl N or max_ttl N",
        ]
    );
    let conf = parse(&one("  unicast_peer {\n    10.0.0.2 min_ttl 9 max_ttl 8\n  }\n"));
    assert_eq!(shown(&conf), ["k.conf:6:5: error: unicast_peer 10.0.0.2: min_ttl is above max_ttl"]);
}

/// Scripts as keepalived reads them: the quoted command split into words (no shell), `user`,
/// `script_user`, `enable_script_security`, notify scripts with a user; and the unquoted
/// `script` line whose arguments keepalived 2.2.7 silently drops is refused.
#[test]
fn scripts_users_and_security() {
    let text = "global_defs {\n  script_user nobody nogroup\n  enable_script_security\n}\n\
                vrrp_script chk {\n  script \"/usr/bin/test -e '/run/a b'\"\n  user daemon\n}\n\
                vrrp_script loose {\n  script /usr/bin/test -e /run/x\n}\n";
    let conf =
        parse(&format!("{text}{}", one("  notify_master \"/bin/echo master\" daemon adm\n  notify \"/bin/logger\"\n")));
    assert_eq!(
        shown(&conf),
        [
            "k.conf:10:24: error: script: keepalived 2.2.7 runs only \"/usr/bin/test\" and ignores \"-e /run/x\"; quote \
          the whole command",
            "k.conf:9:1: error: vrrp_script loose: no script"
        ]
    );
    let s = &conf.script_security;
    assert!(s.enabled);
    assert_eq!(s.script_user, Some(ScriptUser { user: "nobody".into(), group: Some("nogroup".into()) }));
    assert_eq!(s.script_user_at.as_ref().map(|p| (p.line, p.column)), Some((2, 3)));
    let chk = &conf.scripts[0];
    assert_eq!(chk.argv, ["/usr/bin/test", "-e", "/run/a b"]);
    assert_eq!(chk.user, Some(ScriptUser { user: "daemon".into(), group: None }));
    let notify = &conf.instances[0].notify;
    let master = notify.master.as_ref().unwrap();
    assert_eq!(master.argv, ["/bin/echo", "master"]);
    assert_eq!(master.user, Some(ScriptUser { user: "daemon".into(), group: Some("adm".into()) }));
    assert_eq!(notify.any.as_ref().unwrap().user, None);
    // An unquoted notify command: the next word is its user, as keepalived reads it.
    let conf = parse(&one("  notify_backup /bin/echo backup\n"));
    assert_eq!(
        shown(&conf),
        [
            "k.conf:5:3: warning: notify_backup: \"backup\" is read as the user to run \"/bin/echo\" as, as keepalived does; \
          quote the command if it is an argument"
        ]
    );
}

/// keepalived keywords bmnet does not implement: refused when they change behaviour or
/// security, accepted at their default value, warned about when they change nothing here.
#[test]
fn unimplemented_keywords_are_errors_unless_harmless() {
    let conf = parse(&format!(
        "global_defs {{\n  vrrp_garp_interval 0\n  vrrp_gna_interval 0.5\n  vrrp_lower_prio_no_advert false\n  \
         vrrp_iptables\n  enable_snmp_vrrp\n  lvs_flush\n}}\n{}$IF=eth0\n",
        one("  unicast_ttl 255\n  garp_master_refresh_repeat 2\n  lower_prio_no_advert\n  notify_master_rx_lower_pri \
             \"/bin/true\"\n  debug 2\n  track_src_ip\n")
    ));
    assert_eq!(
        shown(&conf),
        [
            "k.conf:3:3: error: vrrp_gna_interval other than keepalived's default 0 changes behaviour and is not \
             supported by bmnet",
            "k.conf:5:3: error: vrrp_iptables changes behaviour or security and is not supported by bmnet",
            "k.conf:6:3: error: enable_snmp_vrrp changes behaviour or security and is not supported by bmnet",
            "k.conf:7:3: warning: lvs_flush has no effect in bmnet: it configures keepalived's checker, BFD or LVS, \
             which bmnet does not run",
            "k.conf:14:3: error: garp_master_refresh_repeat other than keepalived's default 1 changes behaviour and is \
             not supported by bmnet",
            "k.conf:15:3: error: lower_prio_no_advert changes behaviour or security and is not supported by bmnet",
            "k.conf:16:3: error: notify_master_rx_lower_pri changes behaviour or security and is not supported by bmnet",
            "k.conf:17:3: warning: debug has no effect in bmnet: bmnet's logs do not depend on it",
            "k.conf:18:3: error: track_src_ip changes behaviour or security and is not supported by bmnet",
            "k.conf:23:1: error: $IF=eth0: keepalived's definitions ($NAME) and conditional lines (@NAME) are not \
             supported by bmnet",
        ]
    );
}

/// `vrrp_version 2` applies to IPv4 instances: keepalived runs IPv6 ones as v3 whatever it
/// says; an instance's own `version 2` with IPv6 VIPs is refused.
#[test]
fn ipv6_instances_run_v3() {
    let v6 = "vrrp_instance B {\n  virtual_router_id 8\n  virtual_ipaddress {\n    fd00::5\n  }\n}\n";
    let conf = parse(&format!("global_defs {{\n  vrrp_version 2\n}}\n{}{v6}", one("")));
    assert!(conf.diagnostics.is_empty(), "{:?}", shown(&conf));
    assert_eq!(conf.instances[0].config.version(), Version::V2);
    assert_eq!(conf.instances[1].config.version(), Version::V3);
    let conf = parse(&v6.replace("  virtual_router_id 8\n", "  virtual_router_id 8\n  version 2\n"));
    assert_eq!(shown(&conf), ["k.conf:3:3: error: version 2 with IPv6 VIPs: VRRPv2 is IPv4 only"]);
}
