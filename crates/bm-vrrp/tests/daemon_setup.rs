//! keepalived.conf → what the daemon runs, through the public API: `parse_keepalived`, then
//! `socket::daemon_setup` and `socket::script_diagnostics`, as `bmnet vrrp run --config` and
//! `bmnet vrrp check-config` call them.
#![cfg(feature = "socket")]

use std::time::Duration;

use bm_vrrp::socket::{
    DaemonSetup, KeepalivedDefaults, ScriptPolicy, SetupError, VipSpec, daemon_setup, script_diagnostics,
};
use bm_vrrp::{KeepalivedConfig, ScriptUser, Severity, parse_keepalived};

fn parse(text: &str) -> KeepalivedConfig {
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("no includes".into()));
    assert!(!conf.has_errors(), "{:?}", conf.diagnostics);
    conf
}

const TWO_INSTANCES: &str = r#"
global_defs {
    enable_script_security
    script_user root
}

vrrp_script chk {
    script "/bin/true"
    interval 2
    weight 20
}

vrrp_instance API {
    interface eth0
    virtual_router_id 51
    priority 100
    virtual_ipaddress {
        192.168.111.5/24 dev eth1 label vip
        192.168.111.6
    }
    track_script {
        chk
    }
    notify_master "/bin/true master"
}

vrrp_instance INGRESS {
    interface eth0
    virtual_router_id 52
    priority 90
    unicast_peer {
        192.168.111.21
    }
    check_unicast_src
    virtual_ipaddress {
        192.168.111.7/32
    }
}
"#;

#[test]
fn instances_scripts_and_policy() {
    let conf = parse(TWO_INSTANCES);
    let DaemonSetup { instances, scripts, options } = daemon_setup(&conf, &KeepalivedDefaults::default()).unwrap();
    let names: Vec<&str> = instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["API", "INGRESS"]);
    let api = &instances[0];
    assert_eq!(api.interface, "eth0");
    assert_eq!(api.config, conf.instances[0].config, "the core's configuration as parsed");
    assert_eq!(
        api.vips,
        [
            VipSpec {
                addr: "192.168.111.5".parse().unwrap(),
                prefix_len: 24,
                interface: Some("eth1".into()),
                label: Some("vip".into()),
            },
            VipSpec { addr: "192.168.111.6".parse().unwrap(), prefix_len: 32, interface: None, label: None },
        ]
    );
    assert_eq!(api.notify.master.as_ref().map(|n| n.argv.clone()), Some(vec!["/bin/true".into(), "master".into()]));
    // A script without `timeout` runs for at most its interval, as in keepalived.
    assert_eq!(scripts.len(), 1);
    assert_eq!((scripts[0].name.as_str(), scripts[0].argv.as_slice()), ("chk", &["/bin/true".to_string()][..]));
    assert_eq!((scripts[0].interval, scripts[0].timeout), (Duration::from_secs(2), Duration::from_secs(2)));
    let root = ScriptUser { user: "root".into(), group: None };
    assert_eq!(options.script_policy, ScriptPolicy { security: true, script_user: Some(root) });
    assert_eq!(options.notify_timeout, Duration::from_secs(30));
}

/// keepalived's default (no source check) when the runner asks for it, except where the file
/// asks for the check.
#[test]
fn the_runner_chooses_what_the_file_does_not_say() {
    let conf = parse(TWO_INSTANCES);
    assert!(conf.instances.iter().all(|i| i.config.check_unicast_src), "bmnet's default");
    let lax = KeepalivedDefaults { check_unicast_src: false, notify_timeout: Duration::from_millis(1500) };
    let setup = daemon_setup(&conf, &lax).unwrap();
    let checks: Vec<bool> = setup.instances.iter().map(|i| i.config.check_unicast_src).collect();
    assert_eq!(checks, [false, true], "INGRESS says check_unicast_src");
    assert_eq!(setup.options.notify_timeout, Duration::from_millis(1500));
}

#[test]
fn an_instance_without_an_interface_is_refused() {
    let text = "vrrp_instance X {\n    virtual_router_id 1\n    priority 100\n    \
                virtual_ipaddress {\n        10.0.0.5\n    }\n}\n";
    let conf = parse_keepalived(text, "k.conf", &mut |_| Err("no includes".into()));
    let e = daemon_setup(&conf, &KeepalivedDefaults::default()).unwrap_err();
    assert_eq!(e, SetupError::NoInterface { instance: "X".into() });
    assert_eq!(e.to_string(), "instance X: no interface");
}

/// Scripts are checked as the daemon checks them, at their places: a missing program is an
/// error at its `script` line, a bare name a warning, and running scripts without
/// enable_script_security keepalived's warning at the first script.
#[test]
fn scripts_are_checked_at_their_places() {
    let text = "global_defs {\n    script_user root\n}\n\
                vrrp_script missing {\n    script \"/nonexistent/bm-vrrp-check\"\n}\n\
                vrrp_script bare {\n    script \"true\"\n}\n\
                vrrp_instance X {\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    \
                virtual_ipaddress {\n        10.0.0.5\n    }\n}\n";
    let conf = parse(text);
    let found: Vec<(usize, Severity, String)> =
        script_diagnostics(&conf).into_iter().map(|d| (d.line, d.severity, d.message)).collect();
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (5, Severity::Error));
    assert!(found[0].2.starts_with("vrrp_script missing: /nonexistent/bm-vrrp-check: "), "{found:?}");
    assert_eq!((found[1].0, found[1].1), (8, Severity::Warning));
    assert!(found[1].2.contains("resolved by path search"), "{found:?}");
    assert_eq!((found[2].0, found[2].1), (5, Severity::Warning));
    assert!(found[2].2.contains("enable_script_security"), "{found:?}");
    // With script security on, a root-owned /bin/true in root-owned directories is fine.
    let secure = parse(&text.replace("script_user root", "enable_script_security\n    script_user root"));
    let found: Vec<String> = script_diagnostics(&secure).into_iter().map(|d| d.message).collect();
    assert_eq!(found.len(), 2, "the missing one and the bare name: {found:?}");
}
