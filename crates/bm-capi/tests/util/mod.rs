//! Helpers for the C and Go tests: where the built library is, scratch directories, tools.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Fails the test with the install command when `program` is missing.
pub fn tool(program: &str, package: &str) {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(found, "{program} not found: install it with `apt-get install -y {package}` (this test never skips)");
}

/// Runs a command; fails the test with its output unless it succeeds.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A scratch directory, removed on drop.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("bm-capi-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Where the library cargo built for this test run is, and the crate's own files.
pub struct CapiDirs {
    /// `target/<profile>`, holding `libbmnet.a` and `libbmnet.so`.
    pub lib_dir: PathBuf,
    /// `crates/bm-capi`.
    pub crate_dir: PathBuf,
}

/// Builds the library (`cargo build -p bm-capi`, same profile and target directory as these
/// tests) and says where it is. cargo does not build a `cdylib`/`staticlib`-only library for its
/// integration tests, so without this they would link whatever was built last.
pub fn capi_dirs() -> CapiDirs {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> -> target/<profile>
    let lib_dir = exe.parent().and_then(Path::parent).unwrap().to_path_buf();
    let target_dir = lib_dir.parent().unwrap();
    let release = lib_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--quiet", "-p", "bm-capi", "--lib"]).env("CARGO_TARGET_DIR", target_dir);
    if release {
        cmd.arg("--release");
    }
    run(&mut cmd);
    for lib in ["libbmnet.a", "libbmnet.so"] {
        let path = lib_dir.join(lib);
        assert!(path.exists(), "{} missing after `cargo build -p bm-capi`", path.display());
    }
    CapiDirs { lib_dir, crate_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")) }
}

impl CapiDirs {
    /// `scratch/lib`: links to the built library under the names an install gives it
    /// (`libbmnet.so.0` is its SONAME, what programs linked to it load), for `-L` and
    /// `LD_LIBRARY_PATH`.
    pub fn linked_lib_dir(&self, scratch: &Scratch) -> PathBuf {
        let dir = scratch.path.join("lib");
        if !dir.exists() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, built) in
                [("libbmnet.so", "libbmnet.so"), ("libbmnet.so.0", "libbmnet.so"), ("libbmnet.a", "libbmnet.a")]
            {
                std::os::unix::fs::symlink(self.lib_dir.join(built), dir.join(name)).unwrap();
            }
        }
        dir
    }

    /// Writes `bmnet.pc` and `bmnet-shared.pc` into `scratch` from their templates (as
    /// `make install` does), pointing at [`CapiDirs::linked_lib_dir`] and the checked-in
    /// header, and returns the directory for `PKG_CONFIG_PATH`.
    pub fn pkg_config_dir(&self, scratch: &Scratch) -> PathBuf {
        let dir = scratch.path.join("pkgconfig");
        std::fs::create_dir_all(&dir).unwrap();
        let lib = self.linked_lib_dir(scratch);
        for pc in ["bmnet", "bmnet-shared"] {
            let text = std::fs::read_to_string(self.crate_dir.join(format!("{pc}.pc.in"))).unwrap();
            let text = text
                .replace("@PREFIX@", &scratch.path.display().to_string())
                .replace("@LIBDIR@", &lib.display().to_string())
                .replace("@INCLUDEDIR@", &self.crate_dir.join("include").display().to_string())
                .replace("@VERSION@", env!("CARGO_PKG_VERSION"));
            std::fs::write(dir.join(format!("{pc}.pc")), text).unwrap();
        }
        dir
    }
}
