//! `bmnet vrrp run` refusals that need no privileges: bad flags and files fail before any
//! socket is opened, with a message naming what to change; a missing interface is named.

// Writes configuration files and runs the binary.
#![allow(clippy::disallowed_methods)]

mod util;

use util::{bmnet, stderr as err, stdout as out};

fn file(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("bmnet-cli-vrrp-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn flags_are_checked_before_anything_runs() {
    let o = bmnet(&["vrrp", "run", "--interface", "eth0", "--vrid", "51"]);
    assert_eq!(o.status.code(), Some(2), "no --vip is a usage error: {}", err(&o));
    assert!(err(&o).contains("--vip"), "{}", err(&o));

    let o = bmnet(&["vrrp", "run", "--interface", "eth0", "--vrid", "51", "--vip", "10.0.0.5/33"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("--vip 10.0.0.5/33: the prefix length must be 0 to 32"), "{}", err(&o));

    let o = bmnet(&["vrrp", "run", "--interface", "eth0", "--vrid", "51", "--vip", "10.0.0.5", "--advert-int", "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("--advert-int x: expected seconds"), "{}", err(&o));

    let o = bmnet(&["vrrp", "run", "--interface", "eth0", "--vrid", "51", "--vip", "10.0.0.5", "--check-weight", "5"]);
    assert_eq!(o.status.code(), Some(2), "--check-weight needs --check: {}", err(&o));

    let o = bmnet(&["vrrp", "run", "--interface", "eth0", "--vrid", "51", "--vip", "10.0.0.5", "--vrrp-version", "4"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    // `--version` is bmnet's version everywhere, also after `vrrp run`.
    let o = bmnet(&["vrrp", "run", "--version"]);
    assert_eq!(
        (o.status.code(), out(&o).as_str()),
        (Some(0), concat!("bmnet-vrrp-run ", env!("CARGO_PKG_VERSION"), "\n"))
    );

    // The --check command is split as keepalived splits a script: an open quote is refused.
    let o = bmnet(&["vrrp", "run", "--interface", "lo", "--vrid", "51", "--vip", "10.0.0.5", "--check", "test -e 'x"]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("--check:") && err(&o).contains("missing terminating '"), "{}", err(&o));
}

/// advert_int 0 (issue 14: a busy loop of adverts) and intervals the version cannot carry are
/// refused before anything runs, as are more VIPs than one advert carries.
#[test]
fn intervals_and_vip_counts_are_checked_before_anything_runs() {
    let run = |extra: &[&str]| {
        let mut args = vec!["vrrp", "run", "--interface", "lo", "--vrid", "51", "--vip", "10.0.0.5/32"];
        args.extend_from_slice(extra);
        bmnet(&args)
    };
    for (extra, want) in [
        (&["--advert-int", "0"][..], "an advertisement interval of 0 is not allowed"),
        (&["--advert-int", "1.5"][..], "a VRRPv2 advertisement interval is a whole number of seconds"),
        (&["--advert-int", "256"][..], "at most 255s"),
        (&["--vrrp-version", "3", "--advert-int", "0.015"][..], "a whole number of 10 ms"),
        (&["--vrrp-version", "3", "--advert-int", "41"][..], "at most 40.95s"),
    ] {
        let o = run(extra);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {}", err(&o));
        assert!(err(&o).contains(want), "{extra:?}: {}", err(&o));
    }
    let vips: Vec<String> = (0..256).map(|i| format!("10.1.{}.{}", i / 200, i % 200 + 1)).collect();
    let mut args = vec!["vrrp", "run", "--interface", "lo", "--vrid", "51"];
    for v in &vips {
        args.extend(["--vip", v.as_str()]);
    }
    let o = bmnet(&args);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("256 VIPs: one advert carries at most 255"), "{}", err(&o));
}

#[test]
fn a_missing_interface_is_named() {
    let o = bmnet(&["vrrp", "run", "--interface", "bmnet-nope0", "--vrid", "51", "--vip", "10.0.0.5/24"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("interface bmnet-nope0: no such interface"), "{}", err(&o));
}

#[test]
fn a_source_of_the_other_family_is_refused() {
    let o = bmnet(&[
        "vrrp",
        "run",
        "--interface",
        "lo",
        "--vrid",
        "51",
        "--vip",
        "10.0.0.5/24",
        "--unicast-src",
        "fd00::1",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
    assert!(err(&o).contains("instance VI_1: VIPs must be of the primary address's family"), "{}", err(&o));
}

#[test]
fn config_errors_and_unsupported_keywords_are_refused() {
    let bad = file("bad.conf", "vrrp_instance A {\n    interface eth0\n    virtual_router_id 0\n}\n");
    let o = bmnet(&["vrrp", "run", "--config", &bad]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(err(&o).contains("bad.conf:"), "diagnostics name the file: {}", err(&o));

    let vmac = file(
        "vmac.conf",
        "vrrp_instance A {\n    interface eth0\n    virtual_router_id 5\n    priority 50\n    \
         use_vmac\n    virtual_ipaddress {\n        10.0.0.5/24\n    }\n}\n",
    );
    let o = bmnet(&["vrrp", "run", "--config", &vmac]);
    assert_eq!(o.status.code(), Some(1), "{}", err(&o));
    assert!(
        err(&o).contains("vmac.conf:5:5: error: use_vmac changes behaviour or security and is not supported by bmnet"),
        "{}",
        err(&o)
    );

    let o = bmnet(&["vrrp", "run", "--config", "/nonexistent/keepalived.conf"]);
    assert_eq!(o.status.code(), Some(2), "{}", err(&o));
}
