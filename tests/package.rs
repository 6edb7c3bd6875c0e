//! The Debian package: `scripts/package --profile dev` builds it (cargo-deb, installed from
//! crates.io by the script when missing), then it is installed with `dpkg -i` into a scratch
//! root of its own (never the host's), its files checked (the binary runs, `man bmnet` renders,
//! the units pass `systemd-analyze verify` against the installed binary), and removed with
//! `dpkg -r`, leaving none of its files.
//!
//! Needs dpkg, man-db and systemd (`apt-get install -y dpkg man-db systemd`) and network access
//! to crates.io the first time (for cargo-deb); without them the test fails, it never passes
//! silently.

#![allow(clippy::disallowed_methods)] // Builds, installs and inspects a package in scratch directories.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    let o = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        o.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Every file (not directory) under `dir`, relative to it.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            if meta.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path().strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_debian_package_installs_runs_and_removes_cleanly() {
    for (tool, package) in [("dpkg", "dpkg"), ("man", "man-db"), ("systemd-analyze", "systemd")] {
        let found = Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output();
        assert!(found.is_ok_and(|o| o.status.success()), "{tool} not found: apt-get install -y {package}");
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().to_path_buf();
    run(Command::new(repo.join("scripts/package")).args(["--profile", "dev"]).env("CARGO_TARGET_DIR", &target));
    let version = env!("CARGO_PKG_VERSION");
    let deb = std::fs::read_dir(target.join("debian"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&format!("bmnet_{version}-1_")))
        .expect("target/debian/bmnet_VERSION-1_ARCH.deb");

    // A root of its own with an empty dpkg database.
    let root = std::env::temp_dir().join(format!("bmnet-deb-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        run(Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args(["--force-depends", "--force-not-root", "--force-script-chrootless", "--log=/dev/null"])
            .args(args))
    };
    dpkg(&["-i", deb.to_str().unwrap()]);
    let installed = files(&root);
    for want in [
        "usr/bin/bmnet",
        "usr/share/man/man1/bmnet.1.gz",
        "usr/share/man/man1/bmnet-vrrp-run.1.gz",
        "usr/share/bash-completion/completions/bmnet",
        "usr/lib/systemd/system/bmnet-nodeip.service",
        "usr/lib/systemd/system/bmnet-vrrp.service",
        "usr/lib/systemd/system/bmnet-dns.service",
        "usr/lib/systemd/system/bmnet-bgp.service",
        "usr/share/doc/bmnet/examples/bgp.yaml",
        "usr/lib/tmpfiles.d/bmnet.conf",
        "usr/lib/NetworkManager/dispatcher.d/30-bmnet-resolv-conf",
        "usr/share/doc/bmnet/examples/dns.toml",
        "usr/share/bmnet/static-pods/bmnet-vrrp.yaml",
    ] {
        assert!(installed.iter().any(|f| f == Path::new(want)), "{want} not installed: {installed:#?}");
    }
    let v = run(Command::new(root.join("usr/bin/bmnet")).arg("--version"));
    assert_eq!(String::from_utf8_lossy(&v.stdout).trim(), format!("bmnet {version}"));
    let man = run(Command::new("man")
        .arg("-l")
        .arg(root.join("usr/share/man/man1/bmnet-vrrp-health.1.gz"))
        .env("MANWIDTH", "80"));
    assert!(String::from_utf8_lossy(&man.stdout).contains("bmnet vrrp health"), "man renders the page");
    let unit_dir = root.join("usr/lib/systemd/system");
    // The units they order against (sysinit.target, network-online.target, NetworkManager's)
    // are the host's: copied in beside ours for the check (systemd refuses some unit types
    // as symlinks), removed after it.
    let host_units = Path::new("/usr/lib/systemd/system");
    let mut linked = Vec::new();
    for e in std::fs::read_dir(host_units).unwrap().flatten() {
        let at = unit_dir.join(e.file_name());
        if std::fs::symlink_metadata(&at).is_ok() {
            continue;
        }
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), &at).unwrap();
            linked.push(at);
        }
    }
    // So is /bin/kill, which ExecReload= runs.
    std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
    std::fs::copy("/usr/bin/kill", root.join("usr/bin/kill")).unwrap();
    linked.extend([root.join("bin"), root.join("usr/bin/kill")]);
    for unit in ["bmnet-nodeip.service", "bmnet-vrrp.service", "bmnet-dns.service", "bmnet-bgp.service"] {
        let o = Command::new("systemd-analyze")
            .arg(format!("--root={}", root.display()))
            .args(["verify", "--man=no"])
            .arg(unit_dir.join(unit))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success() && stderr.trim().is_empty(), "{unit}: {stderr}");
    }
    for link in linked {
        std::fs::remove_file(link).unwrap();
    }

    dpkg(&["-r", "bmnet"]);
    let left: Vec<PathBuf> = files(&root).into_iter().filter(|f| !f.starts_with("var/lib/dpkg")).collect();
    assert!(left.is_empty(), "left after dpkg -r: {left:#?}");
    std::fs::remove_dir_all(&root).unwrap();
}
