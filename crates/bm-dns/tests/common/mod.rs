//! Helpers shared by the bm-dns tests that drive real peers: NSD and dig.

#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bm_dns::ClusterZone;

pub fn tool(program: &str, package: &str) {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {program}")).output().is_ok_and(|o| o.status.success());
    assert!(found, "{program} not found: install it with `apt-get install -y {package}` (this test never skips)");
}

pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub struct Nsd(pub Child);

impl Drop for Nsd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A UDP port nobody is using right now.
pub fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub fn start_nsd(dir: &Path, zone: &ClusterZone) -> (Nsd, u16) {
    let port = free_port();
    std::fs::write(dir.join("zone"), zone.zone_file()).unwrap();
    let conf = format!(
        r#"server:
    ip-address: 127.0.0.1
    port: {port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{dir}"
    database: ""
    zonelistfile: "{dir}/zone.list"
    xfrdfile: "{dir}/xfrd.state"
    xfrdir: "{dir}"
    pidfile: "{dir}/nsd.pid"
    logfile: "{dir}/nsd.log"
    server-count: 1
    verbosity: 1
    rrl-ratelimit: 0
    minimal-responses: yes
    refuse-any: no
remote-control:
    control-enable: no
zone:
    name: "{name}"
    zonefile: "{dir}/zone"
"#,
        dir = dir.display(),
        name = zone.config().zone(),
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let check = Command::new("nsd-checkzone").arg(zone.config().zone()).arg(dir.join("zone")).output().unwrap();
    assert!(
        check.status.success(),
        "nsd-checkzone refuses our zone file:\n{}\n{}",
        String::from_utf8_lossy(&check.stdout),
        zone.zone_file()
    );
    let child = Command::new("nsd")
        .args(["-d", "-c"])
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start nsd");
    let nsd = Nsd(child);
    // Wait until it answers the SOA.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = dig(port, &[format!("{}. SOA", zone.config().zone())]);
        if out.iter().any(|r| r.rcode == "NOERROR") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "nsd did not come up; log:\n{}",
            std::fs::read_to_string(dir.join("nsd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (nsd, port)
}

/// One response as dig printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub query: String,
    pub rcode: String,
    pub aa: bool,
    pub answer: BTreeSet<String>,
    pub authority: BTreeSet<String>,
    /// The answer section exactly as printed (case kept).
    pub answer_raw: Vec<String>,
}

/// Asks `port` every query (`NAME TYPE`) in one `dig -f` batch.
pub fn dig(port: u16, queries: &[String]) -> Vec<Reply> {
    // Options go on every line: dig applies command-line options to the first query only.
    let opts = "+norec +nocookie +noall +comments +question +answer +authority +tries=1 +time=2";
    let batch: String = queries.iter().map(|q| format!("{q} {opts}\n")).collect();
    let file = std::env::temp_dir().join(format!("bm-dns-dig-{}-{port}", std::process::id()));
    std::fs::write(&file, batch).unwrap();
    let out =
        Command::new("dig").args(["@127.0.0.1", "-p", &port.to_string(), "-f"]).arg(&file).output().expect("run dig");
    let _ = std::fs::remove_file(&file);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if std::env::var_os("BM_DNS_DIG_DUMP").is_some() {
        std::fs::write(
            format!("/tmp/dig-{port}.txt"),
            format!("{text}\n--- stderr\n{}", String::from_utf8_lossy(&out.stderr)),
        )
        .unwrap();
    }
    let mut replies = Vec::new();
    let mut it = queries.iter();
    for block in text.split(";; Got answer:").skip(1) {
        let mut r = Reply {
            query: it.next().cloned().unwrap_or_default(),
            rcode: String::new(),
            aa: false,
            answer: BTreeSet::new(),
            authority: BTreeSet::new(),
            answer_raw: Vec::new(),
        };
        let mut section = "";
        for line in block.lines() {
            if let Some(rest) = line.split("status: ").nth(1) {
                r.rcode = rest.split(',').next().unwrap_or("").to_string();
            } else if let Some(flags) = line.strip_prefix(";; flags: ") {
                r.aa = flags.split(';').next().unwrap_or("").split_whitespace().any(|f| f == "aa");
            } else if line.starts_with(";; ANSWER SECTION") {
                section = "answer";
            } else if line.starts_with(";; AUTHORITY SECTION") {
                section = "authority";
            } else if line.starts_with(';') || line.trim().is_empty() {
                if line.starts_with(";; ") && !line.contains("SECTION") {
                    section = "";
                }
            } else {
                let norm = line.split_whitespace().collect::<Vec<_>>().join(" ");
                match section {
                    "answer" => {
                        r.answer_raw.push(norm.clone());
                        r.answer.insert(norm.to_ascii_lowercase());
                    }
                    "authority" => {
                        r.authority.insert(norm.to_ascii_lowercase());
                    }
                    _ => {}
                }
            }
        }
        replies.push(r);
    }
    replies
}
