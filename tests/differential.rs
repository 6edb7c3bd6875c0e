//! Differential interop tests: `bm-addr` against two independent, real implementations.
//!
//! - Python's `ipaddress` (Debian's `/usr/bin/python3`, 3.11.2 with the CVE-2024-4032 backport),
//!   driven by `tests/peers/py_classify.py`;
//! - Go's `net/netip` and `net.ParseIP` (Debian's `/usr/bin/go`, Go 1.19), driven by
//!   `tests/peers/go_classify.go`.
//!
//! A few thousand addresses per family are generated deterministically (uniform, inside every
//! registry row, embedded IPv4 forms, multicast of every scope, textual variants, and the tricky
//! vectors), fed to both peers, and compared field by field with what `bm-addr` says. Every
//! disagreement must be explained by [`known_difference`], which names *why* for that specific
//! case from a precise condition on the address; anything else fails the test.
//!
//! A missing peer fails the test (with the `apt-get install` command); it is never skipped.
//! Run with `cargo test --test differential -- --nocapture` to see the summary.

// Drives external peers: files and processes are the point.
#![allow(clippy::disallowed_methods)]

use bm_testkit::Rng;
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bm_addr::registry::{self, Class, Registry};
use bm_addr::{
    Classification, Family, Kind, ParseError, ParseErrorKind, ParseOptions, Parsed, Scope, ZonePolicy, classify,
    parse_addr, parse_addr_with, unmap,
};
use serde_json::{Value, json};

const PYTHON: &str = "/usr/bin/python3";
const GO: &str = "/usr/bin/go";
const PY_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/py_classify.py");
const GO_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/go_classify.go");

/// Each peer must have compared at least this many addresses of each family.
const MIN_PER_FAMILY: usize = 2000;

/// The hand-picked vectors, fed to both peers along with the generated ones.
const TRICKY: &[&str] = &[
    "::ffff:10.0.0.1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:8.8.8.8",
    "::ffff:0.0.0.0",
    "::ffff:a00:1",
    "::10.0.0.1",
    "::127.0.0.1",
    "::1",
    "::",
    "0.0.0.0",
    "0.1.2.3",
    "010.1.1.1",
    "::ffff:010.1.1.1",
    "1.2.3",
    "0x7f.0.0.1",
    " 1.2.3.4",
    "1.2.3.4 ",
    "fe80::1%eth0",
    "fe80::1%25eth0",
    "::ffff:1.2.3.4%eth0",
    "FE80::A",
    "fd00::1",
    "fec0::1",
    "ff02::1",
    "224.0.0.251",
    "100.64.0.1",
    "::ffff:100.64.0.1",
    "192.0.0.8",
    "192.0.0.9",
    "192.88.99.2",
    "100:0:0:1::1",
    "2001:1::3",
    "3fff::1",
    "5f00::1",
    "64:ff9b::10.0.0.1",
    "2002:a00:1::1",
    "2001::1",
    "2001:4:112::1",
    "255.255.255.255",
    "240.0.0.1",
    "1::ffff:1.2.3.4",
    "::ffff:0:1.2.3.4",
    "02001:db8::1",
    "[::1]",
    "2001:0db8:0000::0001",
    // More rejections every parser should agree on.
    "",
    "1.2.3.4.5",
    "1.2.3.256",
    "1::2::3",
    ":1::",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:",
    "1.2.3.4::",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "12345::",
    "1.2.3.4%eth0",
    "2001:db8::1%eth0",
    "fe80::1%",
    "fe80::1%0123456789abcdef",
    "fe80::1%a b",
    "fe80::1%a:b",
    "fe80::1%a/b",
    "fe80::1%.",
    "fe80::1%25%eth0",
    "héllo",
];

// ---------------------------------------------------------------------------------------------
// Deterministic input generation

/// Inputs in generation order, without duplicates.
#[derive(Default)]
struct Inputs {
    list: Vec<String>,
    seen: HashSet<String>,
}

impl Inputs {
    fn push(&mut self, s: impl Into<String>) {
        let s = s.into();
        assert!(!s.contains(['\n', '\r']), "inputs travel one per line: {s:?}");
        if self.seen.insert(s.clone()) {
            self.list.push(s);
        }
    }

    /// An IPv6 address in canonical form plus, now and then, other spellings of it.
    fn push_v6(&mut self, rng: &mut Rng, a: Ipv6Addr) {
        let canonical = a.to_string();
        let s = a.segments();
        if rng.percent(30) {
            self.push(canonical.to_uppercase());
        }
        if rng.percent(25) {
            // Fully expanded: 2001:0db8:0000:0000:0000:0000:0000:0001.
            self.push(s.iter().map(|g| format!("{g:04x}")).collect::<Vec<_>>().join(":"));
        }
        if rng.percent(25) {
            // Uncompressed, no leading zeros: 2001:db8:0:0:0:0:0:1.
            self.push(s.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":"));
        }
        if rng.percent(25) {
            // Compressed, but every group padded: 2001:0db8::0001.
            let padded: Vec<String> = canonical
                .split(':')
                .map(|g| if g.is_empty() || g.contains('.') { g.to_string() } else { format!("{:0>4}", g) })
                .collect();
            self.push(padded.join(":"));
        }
        if rng.percent(20) {
            // The last 32 bits as a dotted quad: 2001:db8:0:0:0:0:0.0.0.1.
            let head: Vec<String> = s[..6].iter().map(|g| format!("{g:x}")).collect();
            let o = a.octets();
            self.push(format!("{}:{}.{}.{}.{}", head.join(":"), o[12], o[13], o[14], o[15]));
        }
        let zeros: Vec<usize> = (0..8).filter(|&i| s[i] == 0).collect();
        if !zeros.is_empty() && rng.percent(30) {
            // "::" standing for some zero run, not necessarily the one RFC 5952 picks (even a
            // single group, which RFC 4291 allows): 1:0:0:2::  or  1::2:0:0:0:0.
            let start = zeros[rng.below(zeros.len() as u64) as usize];
            let run = (start..8).take_while(|&i| s[i] == 0).count();
            let end = start + 1 + rng.below(run as u64) as usize;
            let hex = |gs: &[u16]| gs.iter().map(|g| format!("{g:x}")).collect::<Vec<_>>().join(":");
            self.push(format!("{}::{}", hex(&s[..start]), hex(&s[end..])));
        }
        if let Some(v4) = a.to_ipv4_mapped() {
            // The mapped forms in their other spellings.
            self.push(format!("0:0:0:0:0:ffff:{v4}"));
            self.push(format!("::FFFF:{v4}"));
            self.push(format!("::ffff:{:x}:{:x}", s[6], s[7]));
        }
        self.push(canonical);
    }
}

fn v4_in(net: Ipv4Addr, len: u32, host: u32) -> Ipv4Addr {
    let mask = u32::MAX.checked_shr(len).unwrap_or(0);
    Ipv4Addr::from_bits(net.to_bits() | (host & mask))
}

fn v6_in(net: Ipv6Addr, len: u32, host: u128) -> Ipv6Addr {
    let mask = u128::MAX.checked_shr(len).unwrap_or(0);
    Ipv6Addr::from_bits(net.to_bits() | (host & mask))
}

fn generate() -> Vec<String> {
    let mut rng = Rng::new(0x626d_6e65_745f_6466); // "bmnet_df"
    let mut out = Inputs::default();
    for s in TRICKY {
        out.push(*s);
    }

    // IPv4s whose embedded forms matter most, then random ones.
    let mut embed: Vec<Ipv4Addr> = [
        "0.0.0.0",
        "0.0.0.1",
        "0.0.0.2",
        "127.0.0.1",
        "169.254.169.254",
        "8.8.8.8",
        "1.1.1.1",
        "192.168.0.14",
        "224.0.0.251",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.2.1",
        "192.88.99.2",
        "192.0.0.9",
        "198.18.0.1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    for (net, len) in [([127, 0, 0, 0], 8), ([10, 0, 0, 0], 8), ([100, 64, 0, 0], 10), ([169, 254, 0, 0], 16)] {
        for _ in 0..8 {
            embed.push(v4_in(Ipv4Addr::from(net), len, rng.next_u32()));
        }
    }

    // Uniform IPv4.
    for _ in 0..2000 {
        out.push(Ipv4Addr::from_bits(rng.next_u32()).to_string());
    }
    // Uniform IPv6, and more of the global unicast 2000::/3.
    for _ in 0..1000 {
        let a = Ipv6Addr::from_bits(rng.next_u128());
        out.push_v6(&mut rng, a);
    }
    for _ in 0..600 {
        let a = Ipv6Addr::from_bits((rng.next_u128() >> 3) | (1 << 125));
        out.push_v6(&mut rng, a);
    }

    // Inside every registry row: first, last, their outside neighbours and random hosts.
    for row in registry::rows() {
        let len = u32::from(row.block.prefix_len());
        match (row.block.network(), row.block.broadcast()) {
            (IpAddr::V4(first), IpAddr::V4(last)) => {
                let mut picks = vec![first, last];
                picks.extend(first.to_bits().checked_sub(1).map(Ipv4Addr::from_bits));
                picks.extend(last.to_bits().checked_add(1).map(Ipv4Addr::from_bits));
                for _ in 0..14 {
                    picks.push(v4_in(first, len, rng.next_u32()));
                }
                for (i, a) in picks.into_iter().enumerate() {
                    out.push(a.to_string());
                    if i % 4 == 0 {
                        embed.push(a);
                    }
                }
            }
            (IpAddr::V6(first), IpAddr::V6(last)) => {
                let mut picks = vec![first, last];
                picks.extend(first.to_bits().checked_sub(1).map(Ipv6Addr::from_bits));
                picks.extend(last.to_bits().checked_add(1).map(Ipv6Addr::from_bits));
                for _ in 0..14 {
                    picks.push(v6_in(first, len, rng.next_u128()));
                }
                for a in picks {
                    out.push_v6(&mut rng, a);
                }
            }
            _ => unreachable!("a block's first and last address share a family"),
        }
    }

    // Random IPv4s for the embedded forms too.
    for _ in 0..300 {
        embed.push(Ipv4Addr::from_bits(rng.next_u32()));
    }
    for v4 in embed {
        let o = v4.octets();
        let (hi, lo) = (u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]));
        out.push(format!("::ffff:{v4}")); // mapped, dotted
        out.push(format!("::ffff:{hi:x}:{lo:x}")); // mapped, hex
        out.push(format!("::{v4}")); // compatible
        out.push(format!("::ffff:0:{v4}")); // SIIT
        out.push(format!("64:ff9b::{v4}")); // NAT64
        let six_to_four = Ipv6Addr::new(0x2002, hi, lo, rng.next_u16(), 0, 0, 0, rng.next_u16() | 1);
        out.push_v6(&mut rng, six_to_four);
        let (server, flags, port) = (rng.next_u32(), rng.next_u16(), rng.next_u16());
        let teredo = Ipv6Addr::new(0x2001, 0, (server >> 16) as u16, server as u16, flags, port, !hi, !lo);
        out.push_v6(&mut rng, teredo);
    }

    // Multicast of every scope nibble, with assorted flags.
    for scope in 0u128..16 {
        for flags in [0u128, 1, 3, 7, u128::from(rng.next_u16() & 0xf)] {
            let group = rng.next_u128() & ((1 << 112) - 1);
            out.push_v6(&mut rng, Ipv6Addr::from_bits((0xff << 120) | (flags << 116) | (scope << 112) | group));
        }
        out.push_v6(&mut rng, Ipv6Addr::from_bits((0xff << 120) | (scope << 112) | 1));
    }
    for s in ["ff02::fb", "ff05::1:3", "ff0e::101", "ff02::1:ff00:1"] {
        out.push(s);
    }
    for _ in 0..200 {
        out.push(v4_in(Ipv4Addr::new(224, 0, 0, 0), 4, rng.next_u32()).to_string());
    }

    // Zones: where bm-addr allows them, and where it does not.
    for i in 0..40 {
        let ll = v6_in(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 64, rng.next_u128());
        let zone = match i % 4 {
            0 => "eth0".to_string(),
            1 => format!("{}", 1 + rng.below(64)),
            2 => "25eth0".to_string(),
            _ => "wlp2s0".to_string(),
        };
        out.push(format!("{ll}%{zone}"));
    }
    for s in ["ff01::1%lo", "ff02::1%eth0", "ff02::fb%2", "ff05::1:3%eth0", "ff0e::1%eth0", "fd00::1%eth0"] {
        out.push(s);
    }

    // IPv4 text that strict parsing must refuse.
    for _ in 0..30 {
        let o = Ipv4Addr::from_bits(rng.next_u32()).octets();
        out.push(format!("{:03}.{}.{}.{}", o[0] % 100, o[1], o[2], o[3]));
        out.push(format!("{}.{}.{}", o[0], o[1], o[2]));
        out.push(format!("0x{:x}.{}.{}.{}", o[0], o[1], o[2], o[3]));
    }

    // Small random edits of valid text, to probe the edges of every grammar.
    let valid: Vec<String> = out.list.clone();
    const ALPHABET: &[u8] = b"0123456789abcdefABCDEF::::....%[]gx /";
    for _ in 0..3000 {
        let mut b = valid[rng.below(valid.len() as u64) as usize].clone().into_bytes();
        for _ in 0..1 + rng.below(2) {
            let at = rng.below(b.len() as u64 + 1) as usize;
            let c = ALPHABET[rng.below(ALPHABET.len() as u64) as usize];
            match rng.below(3) {
                0 => b.insert(at, c),
                1 if at < b.len() => drop(b.remove(at)),
                _ if at < b.len() => b[at] = c,
                _ => b.push(c),
            }
        }
        out.push(String::from_utf8(b).expect("ASCII edits of ASCII text"));
    }
    out.list
}

// ---------------------------------------------------------------------------------------------
// Running the peers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PeerKind {
    Python,
    Go,
}

#[derive(Clone, Copy, Debug)]
struct Peer {
    kind: PeerKind,
    /// (major, minor, patch) as the peer reported it.
    version: (u32, u32, u32),
}

impl Peer {
    fn name(&self) -> &'static str {
        match self.kind {
            PeerKind::Python => "Python ipaddress",
            PeerKind::Go => "Go netip",
        }
    }
    fn python_before(&self, v: (u32, u32, u32)) -> bool {
        self.kind == PeerKind::Python && self.version < v
    }
    /// Go before the CVE-2024-24790 fix (1.21.11, 1.22.4), whose netip predicates do not unmap.
    fn go_predates_unmapping(&self) -> bool {
        self.kind == PeerKind::Go
            && (self.version < (1, 21, 11) || (self.version.0 == 1 && self.version.1 == 22 && self.version.2 < 4))
    }
}

fn parse_version(s: &str) -> (u32, u32, u32) {
    let digits = s.trim_start_matches("go");
    let mut parts = digits.split(|c: char| !c.is_ascii_digit()).map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Runs a peer over `inputs`; returns it with one JSON record per input, in order.
fn run_peer(kind: PeerKind, mut cmd: Command, install: &str, inputs: &[String]) -> (Peer, Vec<Value>) {
    let program = cmd.get_program().to_string_lossy().into_owned();
    assert!(
        Path::new(&program).exists(),
        "peer {kind:?} is missing: {program} not found; install it with `{install}` (this test never skips)"
    );
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run peer {program}: {e}; install it with `{install}`"));
    let mut stdin = child.stdin.take().unwrap();
    let text: String = inputs.iter().flat_map(|s| [s.as_str(), "\n"]).collect();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    writer.join().unwrap().unwrap_or_else(|e| panic!("writing to peer {program}: {e}\n{stderr}"));
    assert!(status.success(), "peer {kind:?} ({program}) failed with {status}:\n{stderr}");

    let mut lines = stdout.lines();
    let header: Value = serde_json::from_str(lines.next().expect("peer printed nothing")).unwrap();
    let version = parse_version(header["version"].as_str().expect("peer header has a version"));
    let records: Vec<Value> =
        lines.map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("peer {kind:?} line {l:?}: {e}"))).collect();
    assert_eq!(records.len(), inputs.len(), "peer {kind:?} must answer every input");
    for (rec, input) in records.iter().zip(inputs) {
        assert_eq!(rec["input"].as_str(), Some(input.as_str()), "peer {kind:?} answered out of order");
    }
    (Peer { kind, version }, records)
}

fn python_command() -> Command {
    let mut cmd = Command::new(PYTHON);
    cmd.arg("-I").arg(PY_SCRIPT); // isolated: no PYTHON* variables, no user site
    cmd
}

fn go_command() -> Command {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("differential-go");
    std::fs::create_dir_all(tmp.join("cache")).unwrap();
    std::fs::create_dir_all(tmp.join("gopath")).unwrap();
    let mut cmd = Command::new(GO);
    cmd.args(["run", GO_SCRIPT])
        .current_dir(&tmp) // outside any module
        .env("GOCACHE", tmp.join("cache"))
        .env("GOPATH", tmp.join("gopath"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local");
    cmd
}

// ---------------------------------------------------------------------------------------------
// What bm-addr says

/// bm-addr's view of one input.
struct Case<'a> {
    input: &'a str,
    /// `parse_addr`: strict, no zone.
    strict: Result<IpAddr, ParseError>,
    /// Strict with zones allowed (identical to `strict` when the input has no `%`).
    zoned: Result<Parsed, ParseError>,
    class: Option<Classification>,
}

impl<'a> Case<'a> {
    fn new(input: &'a str) -> Case<'a> {
        let zoned = parse_addr_with(input, &ParseOptions::strict().zone(ZonePolicy::Allow));
        let class = zoned.as_ref().ok().map(|p| classify(p.addr.addr));
        Case { input, strict: parse_addr(input), zoned, class }
    }
}

fn class_of(c: &Classification) -> Option<Class> {
    c.registry.map(|r| r.class)
}

/// Go's `IsGlobalUnicast` in bm-addr's terms: not unspecified, loopback, multicast, link-local
/// unicast or the limited broadcast address.
fn global_unicast(c: &Classification) -> bool {
    !(c.is_unspecified || c.is_loopback || c.is_multicast || c.is_link_local || class_of(c) == Some(Class::Broadcast))
}

fn embedded_if(c: &Classification, kind: Kind) -> Value {
    match (c.kind == kind, c.embedded_ipv4) {
        (true, Some(v4)) => json!(v4.to_string()),
        _ => Value::Null,
    }
}

/// Whether `a` lies in a block the IANA IPv6 Address Space registry lists as "Reserved by IETF"
/// (exactly the blocks of Python's `_reserved_networks`).
fn in_ietf_reserved_v6(a: Ipv6Addr) -> bool {
    registry::rows().iter().any(|r| r.registry == Registry::Ipv6AddressSpace && r.block.contains(&IpAddr::V6(a)))
}

/// What a peer that does not look through mapped/compatible addresses computes from the bare
/// IPv6 bits, for the fields where that is all it does.
fn literal_v6(peer: &Peer, kind: Kind, field: &str, a: Ipv6Addr) -> Option<bool> {
    let s0 = a.segments()[0];
    let link_local = s0 & 0xffc0 == 0xfe80;
    Some(match (peer.kind, field) {
        (_, "is_loopback") => a == Ipv6Addr::LOCALHOST,
        (_, "is_unspecified") => a == Ipv6Addr::UNSPECIFIED,
        (_, "is_multicast") => a.is_multicast(),
        (_, "is_link_local") => link_local,
        (PeerKind::Go, "is_private") => s0 & 0xfe00 == 0xfc00,
        (PeerKind::Go, "is_global_unicast") => {
            !(a.is_unspecified() || a == Ipv6Addr::LOCALHOST || a.is_multicast() || link_local)
        }
        (PeerKind::Python, "is_reserved") => in_ietf_reserved_v6(a),
        (PeerKind::Python, "is_site_local") => s0 & 0xffc0 == 0xfec0,
        // Python's not-globally-reachable list holds only ::/128 and ::1/128 inside ::/96, so a
        // compatible address is neither private nor (is_global being `not is_private`) non-global.
        // Mapped addresses are unmapped for these two by the CVE-2024-4032 backport.
        (PeerKind::Python, "is_private") if kind == Kind::Ipv4Compatible => false,
        (PeerKind::Python, "is_global") if kind == Kind::Ipv4Compatible => true,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// The known differences

/// Registry rows allocated after the peers' tables were written.
fn newer_than_peer(c: &Classification) -> Option<String> {
    let row = c.registry?;
    (row.registry == Registry::Ipv6Special && row.allocated >= "2024")
        .then(|| format!("registry row newer than the peer: {} {} ({})", row.block, row.rfc, row.allocated))
}

/// Why `ours` and `theirs` differ for this input and field, if that is a known, deliberate or
/// documented difference; `None` fails the test. `rec` is the peer's whole record, for
/// conditions that look at more than the field at hand.
fn known_difference(
    peer: &Peer,
    case: &Case,
    rec: &Value,
    field: &str,
    ours: &Value,
    theirs: &Value,
) -> Option<String> {
    let name = peer.name();
    let (ours_b, theirs_b) = (ours.as_bool(), theirs.as_bool());

    // Acceptance.
    if field == "accepts" || field == "net_parseip_accepts" {
        let (result, opts) = match field {
            "accepts" => (case.zoned.as_ref().map(|_| ()), ParseOptions::sloppy().zone(ZonePolicy::Allow)),
            _ => (case.strict.as_ref().map(|_| ()), ParseOptions::sloppy()),
        };
        let err = result.err()?;
        if theirs_b != Some(true) {
            return None;
        }
        if peer.kind == PeerKind::Go && err.kind == ParseErrorKind::GroupTooLong {
            // Only if the group is too long merely by leading zeros: sloppy mode reads it, and
            // (for netip) to the very address Go printed.
            let sloppy = parse_addr_with(case.input, &opts).ok()?;
            // net.ParseIP prints nothing; netip prints the address it read.
            let go_text = if field == "accepts" { rec["string"].as_str() } else { None };
            if go_text.is_none_or(|t| t == sloppy.addr.to_string()) {
                return Some(
                    "Go accepts IPv6 groups of 5+ hex digits with leading zeros (02001:db8::1); \
                     strict RFC 4291 text allows at most 4"
                        .to_string(),
                );
            }
        }
        if let (true, Some((bare, zone))) = (field == "accepts", case.input.split_once('%'))
            && err.offset > bare.len()
            && parse_addr_with(&format!("{bare}%x"), &ParseOptions::strict().zone(ZonePolicy::Allow)).is_ok()
            && rec[if peer.kind == PeerKind::Go { "zone" } else { "scope_id" }].as_str() == Some(zone)
        {
            // The address takes a zone; only the zone text is refused, and the peer took it as is.
            let rule = match err.kind {
                ParseErrorKind::ZoneTooLong => "longer than an interface name (15 bytes, IFNAMSIZ - 1)",
                ParseErrorKind::Whitespace => "contains whitespace",
                ParseErrorKind::InvalidZone => "not a valid interface name ('/', ':', '%', '.', '..')",
                _ => return None,
            };
            return Some(format!(
                "zone text {rule}: bm-addr validates zones as Linux does interface names; {name} \
                 accepts any non-empty zone{}",
                if peer.kind == PeerKind::Python { " without '%' or '/'" } else { "" }
            ));
        }
        if field == "accepts" && err.kind == ParseErrorKind::ZoneOnNonLinkLocal {
            // An IPv6 address that takes no zone, with a zone the peer kept as written.
            let (bare, zone) = case.input.split_once('%')?;
            let IpAddr::V6(a) = parse_addr(bare).ok()? else { return None };
            if rec[if peer.kind == PeerKind::Go { "zone" } else { "scope_id" }].as_str() != Some(zone) {
                return None;
            }
            let what = match classify(IpAddr::V6(a)) {
                c if c.kind == Kind::Ipv4Mapped => "an IPv4-mapped address".to_string(),
                c if c.kind == Kind::Ipv4Compatible => "an IPv4-compatible address".to_string(),
                c => format!("a {:?}-scope IPv6 address", c.scope),
            };
            return Some(format!(
                "zone on {what}: bm-addr accepts a zone only on fe80::/10 and interface/link-local \
                 multicast (RFC 4007 §6); {name} accepts a zone on any IPv6 address"
            ));
        }
        return None;
    }

    let c = case.class.as_ref()?;
    let effective = c.effective();

    // Python 3.11 text of mapped addresses.
    if (field == "str" || field == "compressed") && peer.python_before((3, 13, 0)) && c.kind == Kind::Ipv4Mapped {
        let s = match c.addr {
            IpAddr::V6(a) => a.segments(),
            IpAddr::V4(_) => return None,
        };
        if theirs.as_str() == Some(format!("::ffff:{:x}:{:x}", s[6], s[7]).as_str()) {
            return Some(
                "Python before 3.13 prints mapped addresses in hex (::ffff:a00:1); bm-addr prints \
                 ::ffff:10.0.0.1 (RFC 5952 §5)"
                    .to_string(),
            );
        }
        return None;
    }
    if field == "version" && c.kind == Kind::Ipv4Mapped && ours == &json!(4) && theirs == &json!(6) {
        return Some(
            "mapped address: bm-addr reports the family it has on the wire, IPv4 (deliberate); \
             Python's IPv6Address is version 6"
                .to_string(),
        );
    }

    // Mapped and compatible addresses: bm-addr looks through to the embedded IPv4, the peer
    // computes the predicate from the IPv6 bits.
    if let (true, IpAddr::V6(a)) = (c.kind.looks_through(), c.addr)
        && theirs_b.is_some()
        && literal_v6(peer, c.kind, field, a) == theirs_b
    {
        return match (c.kind, peer.kind) {
            (Kind::Ipv4Compatible, _) => Some(format!(
                "IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1): bm-addr classifies it by \
                 its embedded IPv4 (deliberate); {name} sees plain IPv6 in ::/96"
            )),
            (_, PeerKind::Go) if field == "is_unspecified" => Some(
                "mapped address: bm-addr looks through to the embedded IPv4 (issue requirement); Go \
                 netip IsUnspecified compares with 0.0.0.0 and :: only and never unmaps"
                    .to_string(),
            ),
            (_, PeerKind::Go) if peer.go_predates_unmapping() => Some(
                "mapped address: bm-addr looks through to the embedded IPv4 (issue requirement); Go \
                 1.19 netip predicates predate the CVE-2024-24790 unmapping"
                    .to_string(),
            ),
            (_, PeerKind::Python) if peer.python_before((3, 13, 0)) => Some(
                "mapped address: bm-addr looks through to the embedded IPv4 (issue requirement); \
                 Python 3.11's IPv6Address predicates test the IPv6 bits (only is_private/is_global \
                 were backported to unmap)"
                    .to_string(),
            ),
            _ => None,
        };
    }

    if peer.kind != PeerKind::Python {
        return None;
    }

    // Rows the peer's table does not have yet.
    if matches!(field, "is_global" | "is_private" | "is_reserved")
        && let Some(reason) = newer_than_peer(c)
    {
        return Some(reason);
    }

    let row = c.registry;
    let class = class_of(c);
    match (field, ours_b, theirs_b) {
        ("is_global", Some(false), Some(true)) => {
            if c.is_multicast && c.scope != Scope::Global {
                return Some(format!(
                    "multicast with {:?} scope: bm-addr decides global reachability by scope; \
                     Python calls all multicast global",
                    c.scope
                ));
            }
            if effective == IpAddr::V4(Ipv4Addr::new(192, 88, 99, 2)) {
                return Some(
                    "row missing from Python's table: 192.88.99.2/32 6a44-relay anycast (RFC 6751) \
                     is not globally reachable"
                        .to_string(),
                );
            }
            if c.kind == Kind::Ipv4Mapped && c.is_shared && peer.python_before((3, 12, 4)) {
                return Some(
                    "Python 3.11 backport bug: IPv6Address.is_global is `not is_private`, without \
                     upstream's ipv4_mapped look-through, so mapped 100.64.0.0/10 (neither private \
                     nor global) is called global"
                        .to_string(),
                );
            }
            if class == Some(Class::SiteLocal) {
                return Some(
                    "deprecated site-local fec0::/10 (RFC 3879): bm-addr says not globally reachable; \
                     Python's IPv6 is_global is `not is_private` and ignores is_site_local"
                        .to_string(),
                );
            }
            if let (Some(r), IpAddr::V6(_)) = (row, effective)
                && r.registry == Registry::Ipv6AddressSpace
                && class == Some(Class::Reserved)
                && rec["is_private"].as_bool() == Some(false)
            {
                let what = if c.kind == Kind::Ipv4Translated { "SIIT ::ffff:0:a.b.c.d in " } else { "" };
                return Some(format!(
                    "IPv6 reserved-space semantics: {what}IETF-reserved (unallocated) space is not \
                     globally reachable to bm-addr; Python 3.11's IPv6 is_global is just `not \
                     is_private`, and its private list has no reserved block"
                ));
            }
            None
        }
        ("is_global", Some(true), Some(false)) | ("is_private", Some(false), Some(true))
            if matches!(c.kind, Kind::SixToFour | Kind::Teredo) && c.is_global =>
        {
            let (what, block) = match c.kind {
                Kind::SixToFour => ("6to4 2002::/16", "all of 2002::/16"),
                _ => ("Teredo 2001::/32", "all of 2001::/23, Teredo included,"),
            };
            Some(format!(
                "{what}: IANA says N/A, bm-addr uses the embedded IPv4 (globally reachable here); \
                 Python treats {block} as not globally reachable"
            ))
        }
        ("is_private", Some(false), Some(true)) if !c.is_global && rec["is_global"].as_bool() == Some(false) => Some(
            "Python is_private means 'not globally reachable' per the IANA registries (loopback, \
             link-local, documentation, ...); bm-addr's is_private is RFC 1918 + fc00::/7 only"
                .to_string(),
        ),
        ("is_reserved", Some(false), Some(true)) => {
            if effective == IpAddr::V4(Ipv4Addr::BROADCAST) {
                return Some(
                    "limited broadcast: Python's is_reserved is all of 240.0.0.0/4; bm-addr's most \
                     specific row for 255.255.255.255 is Limited Broadcast (RFC 919), not reserved"
                        .to_string(),
                );
            }
            match (row, effective) {
                (Some(r), IpAddr::V6(a)) if in_ietf_reserved_v6(a) && r.registry != Registry::Ipv6AddressSpace => {
                    Some(format!(
                        "IPv6 reserved-space semantics: Python's is_reserved is membership of the \
                         IETF-reserved blocks; bm-addr's more specific row wins ({} {})",
                        r.block, r.name
                    ))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison

struct Mismatch {
    peer: &'static str,
    input: String,
    field: &'static str,
    ours: Value,
    theirs: Value,
}

struct Report {
    peer: Peer,
    /// Addresses both sides accepted, by family of bm-addr's parse: [IPv4, IPv6].
    compared: [usize; 2],
    inputs: usize,
    fields: usize,
    /// Reason -> (count, first example as `input field`).
    reasons: BTreeMap<String, (usize, String)>,
    unexplained: Vec<Mismatch>,
}

impl Report {
    fn new(peer: Peer) -> Report {
        Report { peer, compared: [0; 2], inputs: 0, fields: 0, reasons: BTreeMap::new(), unexplained: Vec::new() }
    }

    fn check(&mut self, case: &Case, rec: &Value, field: &'static str, ours: Value) {
        self.fields += 1;
        let theirs = &rec[self.key(field)];
        if &ours == theirs {
            return;
        }
        match known_difference(&self.peer, case, rec, field, &ours, theirs) {
            Some(reason) => {
                self.reasons.entry(reason).or_insert_with(|| (0, format!("{:?} {field}", case.input))).0 += 1
            }
            None => self.unexplained.push(Mismatch {
                peer: self.peer.name(),
                input: case.input.to_string(),
                field,
                ours,
                theirs: theirs.clone(),
            }),
        }
    }

    /// The peer's name for one of our field names.
    fn key(&self, field: &'static str) -> &'static str {
        match (self.peer.kind, field) {
            (_, "accepts") => "ok",
            (_, "net_parseip_accepts") => "net_parseip_ok",
            (PeerKind::Go, "is_link_local") => "is_link_local_unicast",
            _ => field,
        }
    }

    fn compare(&mut self, case: &Case, rec: &Value) {
        self.inputs += 1;
        match self.peer.kind {
            PeerKind::Python => self.compare_python(case, rec),
            PeerKind::Go => self.compare_go(case, rec),
        }
    }

    fn both_accepted<'c>(&mut self, case: &'c Case, rec: &Value) -> Option<(&'c Parsed, &'c Classification)> {
        let (Ok(parsed), Some(c), Some(true)) = (case.zoned.as_ref(), case.class.as_ref(), rec["ok"].as_bool()) else {
            return None;
        };
        self.compared[usize::from(parsed.addr.addr.is_ipv6())] += 1;
        Some((parsed, c))
    }

    fn compare_python(&mut self, case: &Case, rec: &Value) {
        self.check(case, rec, "accepts", json!(case.zoned.is_ok()));
        let Some((parsed, c)) = self.both_accepted(case, rec) else { return };
        let text = parsed.addr.to_string();
        self.check(case, rec, "str", json!(text));
        self.check(case, rec, "compressed", json!(text));
        self.check(case, rec, "version", json!(if c.family == Family::Ipv4 { 4 } else { 6 }));
        self.check(case, rec, "is_private", json!(c.is_private));
        self.check(case, rec, "is_global", json!(c.is_global));
        self.check(case, rec, "is_loopback", json!(c.is_loopback));
        self.check(case, rec, "is_link_local", json!(c.is_link_local));
        self.check(case, rec, "is_multicast", json!(c.is_multicast));
        self.check(case, rec, "is_unspecified", json!(c.is_unspecified));
        self.check(case, rec, "is_reserved", json!(c.is_reserved));
        if c.addr.is_ipv6() {
            // IPv4Address has no is_site_local.
            self.check(case, rec, "is_site_local", json!(class_of(c) == Some(Class::SiteLocal)));
        }
        self.check(case, rec, "ipv4_mapped", embedded_if(c, Kind::Ipv4Mapped));
        self.check(case, rec, "sixtofour", embedded_if(c, Kind::SixToFour));
        self.check(case, rec, "teredo_client", embedded_if(c, Kind::Teredo));
        self.check(case, rec, "scope_id", json!(parsed.addr.zone.map(|z| z.to_string())));
    }

    fn compare_go(&mut self, case: &Case, rec: &Value) {
        self.check(case, rec, "accepts", json!(case.zoned.is_ok()));
        // net.ParseIP knows no zones: it is compared with strict parsing.
        self.check(case, rec, "net_parseip_accepts", json!(case.strict.is_ok()));
        let Some((parsed, c)) = self.both_accepted(case, rec) else { return };
        let zone = parsed.addr.zone.map(|z| z.to_string());
        self.check(case, rec, "string", json!(parsed.addr.to_string()));
        self.check(case, rec, "zone", json!(zone.clone().unwrap_or_default()));
        self.check(case, rec, "is4", json!(c.addr.is_ipv4()));
        self.check(case, rec, "is4in6", json!(c.kind == Kind::Ipv4Mapped));
        let unmapped = match (unmap(c.addr), zone) {
            (IpAddr::V6(a), Some(z)) => format!("{a}%{z}"),
            (a, _) => a.to_string(),
        };
        self.check(case, rec, "unmap", json!(unmapped));
        self.check(case, rec, "is_loopback", json!(c.is_loopback));
        self.check(case, rec, "is_multicast", json!(c.is_multicast));
        self.check(case, rec, "is_link_local", json!(c.is_link_local));
        self.check(case, rec, "is_private", json!(c.is_private));
        self.check(case, rec, "is_unspecified", json!(c.is_unspecified));
        self.check(case, rec, "is_global_unicast", json!(global_unicast(c)));
    }

    fn summary(&self) -> String {
        let p = self.peer;
        let mut s = format!(
            "{} {}.{}.{}: {} inputs, {} IPv4 + {} IPv6 addresses compared, {} field comparisons, \
             {} explained mismatches, {} unexplained\n",
            p.name(),
            p.version.0,
            p.version.1,
            p.version.2,
            self.inputs,
            self.compared[0],
            self.compared[1],
            self.fields,
            self.reasons.values().map(|(n, _)| n).sum::<usize>(),
            self.unexplained.len(),
        );
        let mut reasons: Vec<_> = self.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
        for (reason, (n, example)) in reasons {
            s.push_str(&format!("  {n:6}  {reason}\n          e.g. {example}\n"));
        }
        s
    }
}

#[test]
fn differential_against_python_and_go() {
    let inputs = generate();
    let ((python, py_records), (go, go_records)) = std::thread::scope(|s| {
        let py = s.spawn(|| run_peer(PeerKind::Python, python_command(), "apt-get install -y python3", &inputs));
        let go = s.spawn(|| run_peer(PeerKind::Go, go_command(), "apt-get install -y golang-go", &inputs));
        let join = |h: std::thread::ScopedJoinHandle<'_, _>| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (join(py), join(go))
    });

    let mut reports = [Report::new(python), Report::new(go)];
    for (i, input) in inputs.iter().enumerate() {
        let case = Case::new(input);
        reports[0].compare(&case, &py_records[i]);
        reports[1].compare(&case, &go_records[i]);
    }

    eprintln!("differential: {} distinct inputs", inputs.len());
    for r in &reports {
        eprint!("{}", r.summary());
    }

    let unexplained: Vec<&Mismatch> = reports.iter().flat_map(|r| &r.unexplained).collect();
    if !unexplained.is_empty() {
        let mut msg = format!("{} unexplained mismatches (first 30):\n", unexplained.len());
        for m in unexplained.iter().take(30) {
            msg.push_str(&format!(
                "  {:<16} {:<22} {:<40} ours={} theirs={}\n",
                m.peer,
                m.field,
                format!("{:?}", m.input),
                m.ours,
                m.theirs
            ));
        }
        panic!("{msg}");
    }
    for r in &reports {
        for (family, n) in ["IPv4", "IPv6"].iter().zip(r.compared) {
            assert!(
                n >= MIN_PER_FAMILY,
                "{} compared only {n} {family} addresses (want >= {MIN_PER_FAMILY})",
                r.peer.name()
            );
        }
    }
}

/// Fixed expectations of bm-addr itself, so the differential test cannot pass vacuously.
#[test]
fn own_fixed_expectations() {
    let c = |s: &str| classify(parse_addr(s).unwrap());

    let shared = c("::ffff:100.64.0.1");
    assert_eq!((shared.family, shared.kind), (Family::Ipv4, Kind::Ipv4Mapped));
    assert!(shared.is_shared && !shared.is_global && !shared.is_private);
    assert_eq!(parse_addr("::ffff:10.0.0.1").unwrap().to_string(), "::ffff:10.0.0.1");
    assert!(c("::ffff:127.0.0.1").is_loopback);
    assert!(c("::ffff:169.254.169.254").is_link_local);
    assert!(c("::ffff:0.0.0.0").is_unspecified);
    assert!(c("::ffff:10.0.0.1").is_private);
    assert!(c("::ffff:8.8.8.8").is_global);
    let compat = c("::127.0.0.1");
    assert_eq!((compat.family, compat.kind), (Family::Ipv6, Kind::Ipv4Compatible));
    assert!(compat.is_loopback);
    assert_eq!(c("::1").kind, Kind::Ipv6);

    let e = parse_addr("010.1.1.1").unwrap_err();
    assert_eq!((e.offset, e.kind), (0, ParseErrorKind::LeadingZero));
    assert_eq!(parse_addr("::ffff:010.1.1.1").unwrap_err().kind, ParseErrorKind::LeadingZero);
    assert_eq!(parse_addr("02001:db8::1").unwrap_err().kind, ParseErrorKind::GroupTooLong);
    assert_eq!(parse_addr("[::1]").unwrap_err().kind, ParseErrorKind::Brackets);
    assert_eq!(parse_addr(" 1.2.3.4").unwrap_err().kind, ParseErrorKind::Whitespace);
    assert_eq!(parse_addr("fe80::1%eth0").unwrap_err().kind, ParseErrorKind::ZoneNotAllowed);
    let allow = ParseOptions::strict().zone(ZonePolicy::Allow);
    assert_eq!(parse_addr_with("fe80::1%eth0", &allow).unwrap().addr.to_string(), "fe80::1%eth0");
    assert_eq!(parse_addr_with("::ffff:1.2.3.4%eth0", &allow).unwrap_err().kind, ParseErrorKind::ZoneOnNonLinkLocal);

    let m = c("ff02::1");
    assert!(m.is_multicast && !m.is_global && m.scope == Scope::Link);
    assert!(c("ff0e::1").is_global);
    assert!(!c("224.0.0.251").is_global);
    assert!(c("3fff::1").is_documentation && !c("3fff::1").is_global);
    assert!(!c("5f00::1").is_global && !c("5f00::1").is_reserved);
    assert!(c("2001:1::3").is_global);
    assert!(!c("100:0:0:1::1").is_global);
    assert!(!c("192.88.99.2").is_global);
    assert!(!c("2002:a00:1::1").is_global && c("2002:808:808::1").is_global);
    assert!(!c("fec0::1").is_global);
    assert!(c("fd00::1").is_private && !c("fd00::1").is_global);
    assert!(c("255.255.255.255").registry.is_some_and(|r| r.class == Class::Broadcast));
    assert!(c("240.0.0.1").is_reserved);
    assert!(c("::ffff:0:1.2.3.4").is_reserved);

    // The generator is deterministic and big enough on its own.
    let a = generate();
    assert_eq!(a, generate());
    let v4 = a.iter().filter(|s| matches!(parse_addr(s), Ok(IpAddr::V4(_)))).count();
    let v6 = a.iter().filter(|s| matches!(parse_addr(s), Ok(IpAddr::V6(_)))).count();
    assert!(v4 >= MIN_PER_FAMILY && v6 >= MIN_PER_FAMILY, "{v4} IPv4, {v6} IPv6 inputs");
}
