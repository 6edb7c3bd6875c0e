//! `bmnet dns`: the zone file NSD can load, offline answers in text and JSON, and the exit
//! statuses for bad configurations.

// Writes configuration files and runs the binary.
#![allow(clippy::disallowed_methods)]

mod util;

use std::path::PathBuf;

use serde_json::Value;
use util::{bmnet, stderr as err, stdout as out};

const ZONE: &str = r#"
cluster = "ostest"
base_domain = "example.com"
api_vips = ["192.168.111.5"]
ingress_vips = ["192.168.111.4", "fd2e:6f44:5dd8::4"]
[nodes]
master-0 = ["192.168.111.20", "fd2e:6f44:5dd8::20"]
"#;

fn config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bmnet-cli-dns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn query_answers_as_the_server_would() {
    let cfg = config("zone.toml", ZONE);
    let cfg = cfg.to_str().unwrap();
    let o = bmnet(&["dns", "query", "A.B.apps.ostest.example.com", "AAAA", "--config", cfg]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    assert_eq!(
        out(&o),
        "status: NOERROR, flags: qr aa, 84 bytes\nanswer    A.B.apps.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::4\n"
    );
    let o = bmnet(&["dns", "query", "api.ostest.example.com", "AAAA", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "NOERROR");
    assert_eq!(v["answer"].as_array().unwrap().len(), 0);
    assert_eq!(v["authority"][0]["type"], "SOA");
    let o = bmnet(&["dns", "query", "nope.ostest.example.com", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "NXDOMAIN");
    let o = bmnet(&["dns", "query", "www.example.org", "--config", cfg, "--json"]);
    let v: Value = serde_json::from_str(out(&o).trim()).unwrap();
    assert_eq!(v["rcode"], "REFUSED", "no upstreams: refused");
    let o = bmnet(&["dns", "query", "api.ostest.example.com", "BOGUS", "--config", cfg]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn zonefile_lists_every_record() {
    let cfg = config("zone2.toml", ZONE);
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    for line in [
        "$ORIGIN ostest.example.com.",
        "ostest.example.com. 30 IN SOA api-int.ostest.example.com. hostmaster.ostest.example.com. 1 3600 600 86400 30",
        "*.apps.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::4",
        "api-int.ostest.example.com. 30 IN A 192.168.111.5",
        "master-0.ostest.example.com. 30 IN AAAA fd2e:6f44:5dd8::20",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
    }
}

#[test]
fn bad_configurations_exit_1_naming_the_file() {
    let cfg = config("mapped.toml", "cluster = \"c\"\nbase_domain = \"x\"\napi_vips = [\"::ffff:1.2.3.4\"]\n");
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).contains("mapped.toml: api_vips: ::ffff:1.2.3.4 is an IPv4-mapped IPv6 address; write 1.2.3.4"),
        "{}",
        err(&o)
    );
    let cfg = config("syntax.toml", "cluster = \"c\"\nbase_domain =\n");
    let o = bmnet(&["dns", "zonefile", "--config", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("syntax.toml: TOML parse error at line 2, column 14"), "{}", err(&o));
    let o = bmnet(&["dns", "zonefile", "--config", "/nonexistent/zone.toml"]);
    assert_eq!(o.status.code(), Some(2));
}
