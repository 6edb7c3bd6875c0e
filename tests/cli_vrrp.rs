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
        "instance ostest_API: vrid 62 priority 40 (up to 60) v2 every 1s, unicast to 192.168.111.21, VIPs 192.168.111.5/32, checks chk_ocp_lb(+20)\n"
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
        out(&o).starts_with(&format!("{path}:3:3: error: use_vmac changes behaviour and is not supported\n")),
        "{}",
        out(&o)
    );
    let o = bmnet(&["vrrp", "check-config", "/nonexistent.conf"]);
    assert_eq!(o.status.code(), Some(2));
}
