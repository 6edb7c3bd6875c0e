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

pub use bm_testkit::Netns;

/// A network namespace owned by one test (loopback up), deleted on drop with what runs in it;
/// what it runs publishes daemon status under [`STATUS_DIR`].
pub fn netns(tag: &str) -> Netns {
    Netns::new(tag).with_env("BMNET_STATUS_DIR", STATUS_DIR)
}

/// A daemon a test started: killed when dropped (also when the test fails half-way).
pub struct Daemon(pub std::process::Child);

impl Daemon {
    /// SIGTERM, then waits for it to exit.
    pub fn stop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Does nothing once it has been reaped.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
