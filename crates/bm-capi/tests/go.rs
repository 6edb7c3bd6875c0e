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
            .env("LD_LIBRARY_PATH", &dirs.lib_dir)
            .env("GOFLAGS", "-mod=mod")
            // A build cache of its own: Go does not notice a rebuilt libbmnet.a behind an
            // unchanged linker flag, and a shared cache would link a stale one.
            .env("GOCACHE", scratch.path.join("gocache"))
            .env("GOTOOLCHAIN", "local"));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("ok"), "go test ({tags:?}): {stdout}");
    }
}
