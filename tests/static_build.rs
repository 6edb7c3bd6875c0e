//! The statically linked binary `dist/Containerfile` builds (musl, as on Alpine): it compiles
//! for `x86_64-unknown-linux-musl`, has no dynamic dependencies, and runs what the static pods
//! run on a host with nothing else: the shipped keepalived.conf checks, `inspect` reads a
//! namespace over netlink.
//!
//! Needs the musl target (`rustup target add x86_64-unknown-linux-musl`; `scripts/test` adds
//! it); without it the test fails with that command.

#![allow(clippy::disallowed_methods)] // Builds and runs the binary.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "x86_64-unknown-linux-musl";

#[test]
fn the_musl_build_is_static_and_runs() {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    assert!(
        installed.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l == TARGET)),
        "the {TARGET} target is missing: rustup target add {TARGET}"
    );
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let built = Command::new(cargo)
        .args(["build", "--quiet", "--locked", "--bin", "bmnet", "--target", TARGET])
        .env("CARGO_TARGET_DIR", &target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let bin = target_dir.join(TARGET).join("debug/bmnet");
    let dynamic = Command::new("readelf").arg("-d").arg(&bin).output().unwrap();
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(!dynamic.contains("(NEEDED)"), "a static binary needs no shared library:\n{dynamic}");

    let version = Command::new(&bin).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8_lossy(&version.stdout).trim(), format!("bmnet {}", env!("CARGO_PKG_VERSION")));
    let conf = Path::new(env!("CARGO_MANIFEST_DIR")).join("dist/etc/keepalived.conf");
    let checked = Command::new(&bin).args(["vrrp", "check-config"]).arg(&conf).output().unwrap();
    assert_eq!(checked.status.code(), Some(0), "{}", String::from_utf8_lossy(&checked.stdout));
    let ns = util::netns("static");
    let o = ns.exec(&[bin.to_str().unwrap(), "inspect", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(r#""name":"lo""#));
}
