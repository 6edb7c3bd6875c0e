//! Helpers shared by the CLI integration tests: running the binary, and network namespaces.

// Test helpers run processes and create namespaces on purpose.
#![allow(clippy::disallowed_methods, dead_code, unreachable_pub)]

use std::process::{Command, Output};

/// Where the daemons the tests start publish their status (`BMNET_STATUS_DIR`): under the
/// build's temporary directory, never the host's `/run/bmnet`.
pub const STATUS_DIR: &str = concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status");

/// Runs the `bmnet` binary under test.
pub fn bmnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bmnet"))
        .args(args)
        .env("BMNET_STATUS_DIR", STATUS_DIR)
        .output()
        .expect("run bmnet")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("utf-8 stdout")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("utf-8 stderr")
}

/// A network namespace owned by one test, deleted on drop (also when the test fails).
pub struct Netns {
    /// The namespace's name.
    pub name: String,
}

impl Netns {
    /// Creates `bmnet-<tag>-<pid>`; fails with the install command if `ip` is missing.
    pub fn new(tag: &str) -> Netns {
        let name = format!("bmnet-{tag}-{}", std::process::id());
        let o = Command::new("ip").args(["netns", "add", &name]).output().unwrap_or_else(|e| {
            panic!("cannot run `ip` ({e}): install it with `apt-get install -y iproute2`; this test needs root")
        });
        assert!(
            o.status.success(),
            "ip netns add {name}: {} (this test needs root)",
            String::from_utf8_lossy(&o.stderr)
        );
        Netns { name }
    }

    /// `ip -n NAME ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let o = Command::new("ip").args(["-n", &self.name]).args(args).output().expect("run ip");
        assert!(o.status.success(), "ip -n {} {}: {}", self.name, args.join(" "), String::from_utf8_lossy(&o.stderr));
    }

    /// Runs `argv` inside the namespace.
    pub fn exec(&self, argv: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .env("BMNET_STATUS_DIR", STATUS_DIR)
            .output()
            .expect("ip netns exec")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}
