//! `bmnet vrrp check-config`: diagnostics by file:line:column, the instances' effective
//! settings, exit 1 on errors.

// Writes configuration files and runs the binary.
#![allow(clippy::disallowed_methods)]

mod util;

use serde_json::Value;
use util::{bmnet, stderr as err, stdout as out};

fn file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("bmnet-cli-vrrp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const GOOD: &str = r#"
global_defs {
    enable_script_security
    script_user root
}
vrrp_script chk_ocp_lb {
    script "/usr/bin/timeout 1.9 /etc/keepalived/chk_ocp_script.sh"
    interval 2
    weight 20
    rise 3
    fall 3
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
    }
    virtual_ipaddress {
        192.168.111.5/32 label vip
    }
    track_script {
        chk_ocp_lb
    }
}
"#;

#[test]
fn a_good_file_is_summarised() {
    let path = file("good.conf", GOOD);
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "instance ostest_API: vrid 62 priority 40 (up to 60) v2 every 1s, unicast to 192.168.111.21 (only from them), VIPs 192.168.111.5/32, checks chk_ocp_lb(+20)\n"
    );
    let o = bmnet(&["vrrp", "check-config", &path, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["instance"]["config"]["unicast_peers"][0], "192.168.111.21");
}

#[test]
fn errors_name_the_place_and_exit_1() {
    let path = file(
        "bad.conf",
        "vrrp_instance X {\n  virtual_router_id 7\n  use_vmac\n  virtual_ipaddress {\n    10.0.0.5\n  }\n}\n",
    );
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).starts_with(&format!(
            "{path}:3:3: error: use_vmac changes behaviour or security and is not supported by bmnet\n"
        )),
        "{}",
        out(&o)
    );
    let o = bmnet(&["vrrp", "check-config", "/nonexistent.conf"]);
    assert_eq!(o.status.code(), Some(2));
}

/// A directory of root's with one script in it, owned by `owner`.
fn script_dir(name: &str, owner: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("bmnet-cli-vrrp-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.join("chk.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(&script, Some(owner), None).unwrap();
    script
}

fn with_script(global: &str, script: &str, user: &str) -> String {
    format!(
        "global_defs {{\n{global}}}\nvrrp_script chk {{\n    script \"{script} --arg\"\n{user}}}\n\
         vrrp_instance A {{\n    interface eth0\n    virtual_router_id 9\n    virtual_ipaddress {{\n        \
         10.0.0.5\n    }}\n    track_script {{\n        chk\n    }}\n}}\n"
    )
}

/// keepalived refuses a root-run script that a non-root user owns under
/// enable_script_security ("Unsafe permissions found for script ... - disabling"); bmnet says
/// so at the `script` line and exits 1. Without enable_script_security keepalived runs it, and
/// bmnet warns.
#[test]
fn insecure_scripts_are_refused_at_their_place() {
    let script = script_dir("insecure", 65534);
    let secure = "    enable_script_security\n    script_user root\n";
    let path = file("insecure.conf", &with_script(secure, &script.display().to_string(), ""));
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let want = format!(
        "{path}:6:5: error: vrrp_script chk: {} is owned by uid 65534, not root, so a non-root user can replace a \
         script run as root; refused with enable_script_security, as keepalived refuses it\n",
        script.display()
    );
    assert!(out(&o).starts_with(&want), "{}", out(&o));
    // `vrrp run` refuses it before opening anything, with the same line.
    let o = bmnet(&["vrrp", "run", "--config", &path]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains(want.trim_end()), "{}", err(&o));
    let lax = file("lax.conf", &with_script("    script_user root\n", &script.display().to_string(), ""));
    let o = bmnet(&["vrrp", "check-config", &lax]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    assert!(out(&o).contains(":5:5: warning: vrrp_script chk:") && out(&o).contains("without enable_script_security"));
    // Run as nobody (`user nobody`), nothing needs protecting, as in keepalived.
    let nobody = file("nobody.conf", &with_script(secure, &script.display().to_string(), "    user nobody\n"));
    let o = bmnet(&["vrrp", "check-config", &nobody]);
    assert_eq!(o.status.code(), Some(0), "{}", out(&o));
    // A user that does not exist.
    let ghost = file("ghost.conf", &with_script(secure, "/bin/true", "    user bmnet-no-such-user\n"));
    let o = bmnet(&["vrrp", "check-config", &ghost]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).contains(":6:5: error: vrrp_script chk: user bmnet-no-such-user does not exist"), "{}", out(&o));
    let _ = std::fs::remove_dir_all(script.parent().unwrap());
}

/// Issue 14's edges through the CLI: keepalived keywords bmnet used to ignore
/// (check_unicast_src is read now), advert_int 0, and 256 VIPs, each at its place.
#[test]
fn edges_are_reported_at_their_place() {
    let conf = |extra: &str, vips: usize| {
        let vips: String = (0..vips).map(|i| format!("        10.1.{}.{}\n", i / 200, i % 200 + 1)).collect();
        format!(
            "vrrp_instance A {{\n    interface eth0\n    virtual_router_id 9\n    unicast_src_ip 10.0.0.1\n{extra}    \
             virtual_ipaddress {{\n{vips}    }}\n}}\n"
        )
    };
    let path = file(
        "ucast.conf",
        &conf("    check_unicast_src\n    unicast_peer {\n        10.0.0.2 max_ttl 255\n    }\n", 1),
    );
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!((o.status.code(), out(&o).contains("warning")), (Some(0), false), "{}", out(&o));
    assert!(out(&o).contains("unicast to 10.0.0.2 (only from them)"), "{}", out(&o));
    let path = file("zero.conf", &conf("    advert_int 0\n", 1));
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(out(&o).starts_with(&format!("{path}:5:16: error: advert_int 0: 0.01 to 255 seconds")), "{}", out(&o));
    let path = file("many.conf", &conf("", 256));
    let o = bmnet(&["vrrp", "check-config", &path]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        out(&o).starts_with(&format!("{path}:261:9: error: VIP 256: one advert carries at most 255")),
        "{}",
        out(&o)
    );
}
