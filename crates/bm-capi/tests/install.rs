//! `make install` (crates/bm-capi/Makefile) into a temporary `DESTDIR`, then C and Go programs
//! built from copies outside the repository against the installed files alone: the header,
//! the generated `bmnet.pc`/`bmnet-shared.pc`, `libbmnet.a`, and `libbmnet.so` through its
//! SONAME link, as a distribution package would ship them.
//!
//! Needs make, gcc, pkg-config, binutils (readelf) and Go (`apt-get install -y make gcc
//! pkg-config binutils golang-go`); without them the test fails with that command.

#![allow(clippy::disallowed_methods)] // Installs, compiles and runs programs in scratch directories.

mod util;

use std::path::{Path, PathBuf};
use std::process::Command;

use util::{Scratch, capi_dirs, run, tool};

/// Copies the files of `from` (not recursing) into `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// pkg-config against the staged tree only: its `.pc` files, every path under `stage`.
fn pkg_config(stage: &Path, args: &[&str]) -> String {
    let out = run(Command::new("pkg-config")
        .args(args)
        .env("PKG_CONFIG_LIBDIR", stage.join("usr/lib/pkgconfig"))
        .env_remove("PKG_CONFIG_PATH")
        .env("PKG_CONFIG_SYSROOT_DIR", stage));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn installed_library_builds_c_and_go_from_outside_the_repository() {
    for (program, package) in [("make", "make"), ("gcc", "gcc"), ("pkg-config", "pkg-config"), ("readelf", "binutils")]
    {
        tool(program, package);
    }
    tool("go", "golang-go");
    let dirs = capi_dirs();
    let scratch = Scratch::new("install");
    let stage = scratch.path.join("stage");
    let profile = dirs.lib_dir.file_name().unwrap().to_str().unwrap().to_string();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    run(Command::new("make")
        .arg("-C")
        .arg(&dirs.crate_dir)
        .arg("install")
        .arg(format!("DESTDIR={}", stage.display()))
        .args(["PREFIX=/usr", "LIBDIR=/usr/lib", "INCLUDEDIR=/usr/include"])
        .arg(format!("PROFILE={profile}"))
        .arg(format!("CARGO={cargo}"))
        .arg(format!("CARGO_TARGET_DIR={}", dirs.lib_dir.parent().unwrap().display())));

    // The files, the links and the SONAME.
    let lib = stage.join("usr/lib");
    let version = env!("CARGO_PKG_VERSION");
    for f in [format!("libbmnet.so.{version}"), "libbmnet.a".into(), "pkgconfig/bmnet.pc".into()] {
        assert!(lib.join(&f).is_file(), "{f} not installed");
    }
    assert!(stage.join("usr/include/bmnet.h").is_file());
    assert_eq!(std::fs::read_link(lib.join("libbmnet.so.0")).unwrap(), PathBuf::from(format!("libbmnet.so.{version}")));
    assert_eq!(std::fs::read_link(lib.join("libbmnet.so")).unwrap(), PathBuf::from("libbmnet.so.0"));
    let dynamic = run(Command::new("readelf").arg("-d").arg(lib.join("libbmnet.so")));
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(dynamic.contains("Library soname: [libbmnet.so.0]"), "{dynamic}");
    // The generated .pc files name the installed directories, not the build tree.
    let pc = std::fs::read_to_string(lib.join("pkgconfig/bmnet.pc")).unwrap();
    assert!(
        pc.contains("prefix=/usr\n") && pc.contains("libdir=/usr/lib\n") && pc.contains(&format!("Version: {version}"))
    );
    assert_eq!(pkg_config(&stage, &["--modversion", "bmnet"]), version);

    // C, from a copy of the test program elsewhere, static and shared.
    let outside = scratch.path.join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let source = outside.join("test_bmnet.c");
    std::fs::copy(dirs.crate_dir.join("tests/c/test_bmnet.c"), &source).unwrap();
    for (pc, exe) in [("bmnet", "c_static"), ("bmnet-shared", "c_shared")] {
        let flags = pkg_config(&stage, &["--cflags", "--libs", pc]);
        assert!(!flags.contains(dirs.crate_dir.to_str().unwrap()), "{pc}: {flags}");
        let exe = outside.join(exe);
        run(Command::new("gcc")
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
            .arg(&exe)
            .arg(&source)
            .args(flags.split_whitespace())
            .current_dir(&outside));
        let needed = run(Command::new("readelf").arg("-d").arg(&exe));
        let needed = String::from_utf8_lossy(&needed.stdout);
        // Static: no libbmnet at run time; shared: the SONAME, found where it was installed.
        assert_eq!(needed.contains("Shared library: [libbmnet.so.0]"), pc == "bmnet-shared", "{pc}: {needed}");
        let out = run(Command::new(&exe).env("LD_LIBRARY_PATH", &lib).current_dir(&outside));
        assert!(String::from_utf8_lossy(&out.stdout).contains("checks passed"), "{pc}");
    }

    // Go: the package and the example installer, copied out, built against the staged tree.
    let module = outside.join("go/bmnet");
    copy_dir(&dirs.crate_dir.join("go/bmnet"), &module);
    let example = outside.join("go-installer");
    copy_dir(&dirs.crate_dir.join("../../examples/go-installer"), &example);
    let go_mod = std::fs::read_to_string(example.join("go.mod")).unwrap();
    let go_mod = go_mod.replace("=> ../../crates/bm-capi/go/bmnet", &format!("=> {}", module.display()));
    std::fs::write(example.join("go.mod"), go_mod).unwrap();
    for tags in ["", "bmnet_shared"] {
        let binary = outside.join(format!("go-installer-{}", if tags.is_empty() { "static" } else { "shared" }));
        run(Command::new("go")
            .args(["build", "-tags", tags, "-o"])
            .arg(&binary)
            .arg(".")
            .current_dir(&example)
            .env("CGO_ENABLED", "1")
            .env("PKG_CONFIG_LIBDIR", stage.join("usr/lib/pkgconfig"))
            .env_remove("PKG_CONFIG_PATH")
            .env("PKG_CONFIG_SYSROOT_DIR", &stage)
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", scratch.path.join("gocache"))
            .env("GOTOOLCHAIN", "local"));
        let needed = run(Command::new("readelf").arg("-d").arg(&binary));
        let needed = String::from_utf8_lossy(&needed.stdout);
        assert_eq!(needed.contains("Shared library: [libbmnet.so.0]"), !tags.is_empty(), "{tags:?}: {needed}");
        // It runs, with the installed library, and checks the ABI before anything else.
        let out = run(Command::new(&binary).arg("-check-abi").env("LD_LIBRARY_PATH", &lib));
        assert!(String::from_utf8_lossy(&out.stdout).contains("libbmnet 0.1.0, ABI 2"), "{tags:?}");
    }

    // And it uninstalls to nothing.
    run(Command::new("make")
        .arg("-C")
        .arg(&dirs.crate_dir)
        .arg("uninstall")
        .arg(format!("DESTDIR={}", stage.display()))
        .args(["PREFIX=/usr", "LIBDIR=/usr/lib", "INCLUDEDIR=/usr/include"]));
    let left: Vec<_> = walk(&stage);
    assert!(left.is_empty(), "left after uninstall: {left:?}");
}

/// The files under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
