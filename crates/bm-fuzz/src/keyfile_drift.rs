//! Fuzzes the keyfile drift check (`bm_preflight::drift`, what `bmnet preflight` and `bmnet
//! inspect` compare): the input is up to three parts separated by NUL bytes — a keyfile, a host
//! snapshot as JSON (`bm_nodeip::HostSnapshot`), and a `resolv.conf` text.
//!
//! No input may panic; a keyfile compared with a host gives differences only for links the
//! snapshot has and profiles it matched, each saying what the file and the kernel hold (one
//! of them at least); the report reads back from its JSON; the check is a function of its
//! inputs (checking twice gives the same report).

use std::time::SystemTime;

use bm_nodeip::HostSnapshot;
use bm_preflight::drift::{DriftReport, KeyfileFile, check, load_profiles};

/// One input.
pub fn run(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let keyfile = parts.next().unwrap_or_default();
    let Ok(host) = serde_json::from_slice::<HostSnapshot>(parts.next().unwrap_or(b"{}")) else { return };
    let resolv = parts.next().and_then(|r| std::str::from_utf8(r).ok());
    let file = KeyfileFile {
        path: "/etc/NetworkManager/system-connections/fuzz.nmconnection".into(),
        bytes: keyfile.to_vec(),
        precedence: 0,
        any_name: true,
        regular: true,
        mode: Some(0o600),
        uid: Some(0),
        modified: Some(SystemTime::UNIX_EPOCH),
    };
    let loaded = load_profiles(&[file]);
    assert!(loaded.profiles.len() + loaded.not_loaded.len() == 1, "one file is one profile or one refusal");
    let report = check(&loaded.profiles, &host, resolv);
    for d in &report.differences {
        assert!(host.links.iter().any(|l| l.name == d.link), "{d:?}");
        assert!(report.matched.iter().any(|m| m.link == d.link));
        assert!(d.file.is_some() || d.kernel.is_some(), "{d:?}");
        assert!(!d.consequence.is_empty());
    }
    let json = serde_json::to_string(&report).expect("a report serializes");
    assert_eq!(serde_json::from_str::<DriftReport>(&json).expect("and reads back"), report);
    assert_eq!(check(&loaded.profiles, &host, resolv), report, "the check is a function of its inputs");
}
