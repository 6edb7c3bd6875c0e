//! Network namespaces owned by one test: created with a name no other test or run uses, and
//! deleted, with every process still running in them, when dropped (also when the test
//! fails and unwinds).

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A network namespace of this test process.
#[derive(Debug)]
pub struct Netns {
    /// Its name (`ip netns` name).
    pub name: String,
    env: Vec<(String, String)>,
}

impl Netns {
    /// A namespace with its loopback up. The name is `bmnet-TAG-PID-N`: unique across tests
    /// of one process and across processes.
    pub fn new(tag: &str) -> Netns {
        let ns = Netns::bare(tag);
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// A namespace as `ip netns add` leaves it: only a loopback, down.
    pub fn bare(tag: &str) -> Netns {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("bmnet-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let o = Command::new("ip").args(["netns", "add", &name]).output().unwrap_or_else(|e| {
            panic!("cannot run `ip` ({e}): install it with `apt-get install -y iproute2`; this test needs root")
        });
        assert!(
            o.status.success(),
            "ip netns add {name}: {} (this test needs root)",
            String::from_utf8_lossy(&o.stderr).trim()
        );
        Netns { name, env: Vec::new() }
    }

    /// Sets `key=value` in the environment of everything [`Netns::exec`] and
    /// [`Netns::command`] run.
    pub fn with_env(mut self, key: &str, value: &str) -> Netns {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// `ip -n NAME ARGS...`, which must succeed; its output.
    pub fn ip(&self, args: &[&str]) -> Output {
        let o = Command::new("ip").args(["-n", &self.name]).args(args).output().expect("run ip");
        assert!(
            o.status.success(),
            "ip -n {} {}: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
        o
    }

    /// `program` run inside the namespace (`ip netns exec NAME program`), to add arguments to
    /// and spawn.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs `argv` inside the namespace and waits for it.
    pub fn exec(&self, argv: &[&str]) -> Output {
        let (program, args) = argv.split_first().expect("a program to run");
        self.command(program).args(args).output().expect("ip netns exec")
    }

    /// Writes `/proc/sys/KEY` (dotted, as sysctl takes it) inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) {
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let o = self.exec(&["sh", "-c", &format!("echo {value} > {path}")]);
        assert!(o.status.success(), "sysctl {key}={value} in {}: {}", self.name, String::from_utf8_lossy(&o.stderr));
    }

    /// The processes running in the namespace.
    pub fn pids(&self) -> Vec<u32> {
        Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // A process left running would keep the namespace's devices (and its veth peers in
        // other namespaces) alive after `ip netns del`.
        for pid in self.pids() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).output();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

#[cfg(test)]
mod tests {
    use super::Netns;

    #[test]
    fn created_used_and_gone() {
        let name;
        let mut sleeper;
        {
            let ns = Netns::new("kit").with_env("BM_TESTKIT_PROBE", "yes");
            name = ns.name.clone();
            let o = ns.exec(&["sh", "-c", "echo $BM_TESTKIT_PROBE; cat /sys/class/net/lo/operstate"]);
            assert_eq!(String::from_utf8_lossy(&o.stdout), "yes\nunknown\n");
            // A process left behind is killed with the namespace.
            sleeper = ns.command("sleep").arg("600").spawn().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(200));
            assert_eq!(ns.pids().len(), 1);
        }
        // Killed with the namespace, not left to run its 600 s.
        let status = sleeper.wait().unwrap();
        assert!(!status.success(), "{status}");
        let list = std::process::Command::new("ip").args(["netns", "list"]).output().unwrap();
        assert!(!String::from_utf8_lossy(&list.stdout).contains(&name));
    }
}
