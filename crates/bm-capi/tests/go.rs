//! The Go package `go/bmnet` (cgo over the C ABI): `go test` with libbmnet linked statically
//! (the default, `bmnet.pc`) and shared (`-tags bmnet_shared`, `bmnet-shared.pc`).
//!
//! Needs Go (Debian's `golang-go`, go 1.19), gcc and pkg-config; without them the test fails
//! with the install command.

#![allow(clippy::disallowed_methods)] // Runs the Go toolchain.

mod util;

use std::process::Command;

use util::{Scratch, capi_dirs, run, tool};

#[test]
fn go_test_static_and_shared() {
    tool("go", "golang-go");
    tool("gcc", "gcc");
    tool("pkg-config", "pkg-config");
    let dirs = capi_dirs();
    let scratch = Scratch::new("go");
    let pc_path = dirs.pkg_config_dir(&scratch);
    let package = dirs.crate_dir.join("go/bmnet");
    let unformatted = run(Command::new("gofmt").arg("-l").arg(".").current_dir(&package));
    assert!(unformatted.stdout.is_empty(), "not gofmt-ed: {}", String::from_utf8_lossy(&unformatted.stdout));
    for tags in ["", "bmnet_shared"] {
        let out = run(Command::new("go")
            .args(["test", "-count=1", "-race=false", "-tags", tags, "./..."])
            .current_dir(&package)
            .env("CGO_ENABLED", "1")
            .env("PKG_CONFIG_PATH", &pc_path)
            .env("LD_LIBRARY_PATH", dirs.linked_lib_dir(&scratch))
            .env("GOFLAGS", "-mod=mod")
            // A build cache of its own: Go does not notice a rebuilt libbmnet.a behind an
            // unchanged linker flag, and a shared cache would link a stale one.
            .env("GOCACHE", scratch.path.join("gocache"))
            .env("GOTOOLCHAIN", "local"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("ok"), "go test ({tags:?}): {stdout}");
    }
}

/// A network namespace (deleted on drop) with the addresses of a node on the machine network.
fn node() -> bm_testkit::Netns {
    let ns = bm_testkit::Netns::new("goinst");
    for args in [
        &["link", "add", "eno1", "type", "veth", "peer", "name", "sw0"][..],
        &["addr", "add", "192.168.111.20/24", "dev", "eno1"],
        &["link", "set", "eno1", "up"],
        &["link", "set", "sw0", "up"],
        &["route", "add", "default", "via", "192.168.111.1"],
    ] {
        ns.ip(args);
    }
    ns
}

/// `examples/go-installer`, built against libbmnet and run on a host (a namespace) whose
/// machine network holds the API VIP: it picks that address, writes checked keyfiles from the
/// NNCP and answers the API name from the cluster zone.
#[test]
fn go_installer_example_runs_on_a_host() {
    tool("go", "golang-go");
    tool("gcc", "gcc");
    tool("pkg-config", "pkg-config");
    let dirs = capi_dirs();
    let scratch = Scratch::new("go-installer");
    let pc_path = dirs.pkg_config_dir(&scratch);
    let example = dirs.crate_dir.join("../../examples/go-installer");
    let unformatted = run(Command::new("gofmt").arg("-l").arg(".").current_dir(&example));
    assert!(unformatted.stdout.is_empty(), "not gofmt-ed: {}", String::from_utf8_lossy(&unformatted.stdout));
    let binary = scratch.path.join("go-installer");
    run(Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&example)
        .env("CGO_ENABLED", "1")
        .env("PKG_CONFIG_PATH", &pc_path)
        .env("GOFLAGS", "-mod=mod")
        .env("GOCACHE", scratch.path.join("gocache"))
        .env("GOTOOLCHAIN", "local"));
    let node = node();
    let keyfiles = scratch.path.join("keyfiles");
    let out = run(Command::new("ip")
        .args(["netns", "exec", &node.name])
        .arg(&binary)
        .args(["-api-vip", "192.168.111.5", "-ingress-vip", "192.168.111.4", "-nncp"])
        .arg(example.join("nncp.yaml"))
        .arg("-out")
        .arg(&keyfiles));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("node IP: --node-ip=192.168.111.20\n"), "{stdout}");
    assert!(stdout.contains("dns: api.ostest.example.com A 192.168.111.5\n"), "{stdout}");
    for name in ["bond0.nmconnection", "eno1.nmconnection", "eno2.nmconnection", "bond0.100.nmconnection"] {
        let path = keyfiles.join(name);
        assert!(stdout.contains(&format!("wrote {}", path.display())), "{stdout}");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
    }
    let vlan = std::fs::read_to_string(keyfiles.join("bond0.100.nmconnection")).unwrap();
    assert!(vlan.contains("address1=192.168.111.20/24\n") && vlan.contains("parent=bond0\n"), "{vlan}");
}
