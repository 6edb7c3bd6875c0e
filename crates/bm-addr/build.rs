//! Turns `data/special-purpose.txt` into static lookup tables.
//!
//! The data file stays human-editable; this script checks it and emits, per family, a sorted
//! list of disjoint intervals, each naming the most specific row that covers it, so a lookup is
//! one binary search and never allocates.

// A build script reads and writes files by design.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

const DATA: &str = "data/special-purpose.txt";

const REGISTRIES: &[(&str, &str)] = &[
    ("iana-ipv4-special", "Ipv4Special"),
    ("iana-ipv6-special", "Ipv6Special"),
    ("iana-ipv4-multicast", "Ipv4Multicast"),
    ("rfc4291-multicast", "Ipv6Multicast"),
    ("rfc3879", "SiteLocal"),
    ("iana-ipv6-space", "Ipv6AddressSpace"),
];

const CLASSES: &[(&str, &str)] = &[
    ("unspecified", "Unspecified"),
    ("this-network", "ThisNetwork"),
    ("loopback", "Loopback"),
    ("link-local", "LinkLocal"),
    ("site-local", "SiteLocal"),
    ("private", "Private"),
    ("shared", "Shared"),
    ("documentation", "Documentation"),
    ("benchmarking", "Benchmarking"),
    ("reserved", "Reserved"),
    ("broadcast", "Broadcast"),
    ("multicast", "Multicast"),
    ("mapped", "Mapped"),
    ("translation", "Translation"),
    ("6to4", "SixToFour"),
    ("teredo", "Teredo"),
    ("protocol", "Protocol"),
];

const SCOPES: &[(&str, &str)] = &[
    ("host", "Some(Scope::Host)"),
    ("link", "Some(Scope::Link)"),
    ("realm", "Some(Scope::Realm)"),
    ("admin", "Some(Scope::Admin)"),
    ("site", "Some(Scope::Site)"),
    ("organization", "Some(Scope::Organization)"),
    ("global", "Some(Scope::Global)"),
    ("", "Some(Scope::Global)"),
    ("nibble", "None"),
];

struct Row {
    line: usize,
    registry: &'static str,
    addr: IpAddr,
    len: u8,
    fields: Vec<String>,
    flags: [&'static str; 5],
    class: &'static str,
    scope: &'static str,
}

impl Row {
    fn bits(&self) -> u32 {
        if self.addr.is_ipv4() { 32 } else { 128 }
    }
    fn start(&self) -> u128 {
        match self.addr {
            IpAddr::V4(a) => u32::from(a) as u128,
            IpAddr::V6(a) => u128::from(a),
        }
    }
    /// Last address of the block, inclusive.
    fn end(&self) -> u128 {
        let host_bits = self.bits() - self.len as u32;
        let host_mask = if host_bits == 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
        self.start() | host_mask
    }
    fn contains(&self, other: &Row) -> bool {
        self.addr.is_ipv4() == other.addr.is_ipv4() && self.start() <= other.start() && other.end() <= self.end()
    }
}

fn fail(line: usize, msg: impl std::fmt::Display) -> ! {
    panic!("{DATA}:{line}: {msg}");
}

fn lookup(table: &'static [(&'static str, &'static str)], key: &str, line: usize, what: &str) -> &'static str {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
        .unwrap_or_else(|| fail(line, format!("unknown {what} {key:?}")))
}

fn flag(text: &str, line: usize) -> &'static str {
    match text {
        "True" => "Some(true)",
        "False" => "Some(false)",
        "N/A" | "" => "None",
        other => fail(line, format!("flag must be True, False, N/A or empty, not {other:?}")),
    }
}

fn parse(text: &str) -> (Vec<Row>, Vec<(String, String)>) {
    let mut rows = Vec::new();
    let mut dates = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("@registry-date ") {
            let mut parts = rest.split_whitespace();
            let (Some(name), Some(date), None) = (parts.next(), parts.next(), parts.next()) else {
                fail(line, "expected `@registry-date NAME YYYY-MM-DD`");
            };
            dates.push((name.to_string(), date.to_string()));
            continue;
        }
        let fields: Vec<String> = trimmed.split('|').map(|f| f.trim().to_string()).collect();
        if fields.len() != 13 {
            fail(line, format!("expected 13 `|`-separated columns, found {}", fields.len()));
        }
        let registry = lookup(REGISTRIES, &fields[0], line, "registry");
        let (addr, len) = fields[1].split_once('/').unwrap_or_else(|| fail(line, "block must be ADDRESS/LEN"));
        let addr: IpAddr = addr.parse().unwrap_or_else(|e| fail(line, format!("bad address: {e}")));
        let len: u8 = len.parse().unwrap_or_else(|e| fail(line, format!("bad prefix length: {e}")));
        let flags = [
            flag(&fields[6], line),
            flag(&fields[7], line),
            flag(&fields[8], line),
            flag(&fields[9], line),
            flag(&fields[10], line),
        ];
        let row = Row {
            line,
            registry,
            addr,
            len,
            flags,
            class: lookup(CLASSES, &fields[11], line, "class"),
            scope: lookup(SCOPES, &fields[12], line, "scope"),
            fields,
        };
        if u32::from(row.len) > row.bits() {
            fail(line, "prefix length too long for the family");
        }
        let host_bits = row.bits() - row.len as u32;
        if host_bits < 128 && row.start() & ((1u128 << host_bits) - 1) != 0 {
            fail(line, "block has host bits set");
        }
        if let Some(dup) = rows.iter().find(|r: &&Row| r.addr == row.addr && r.len == row.len) {
            fail(line, format!("block duplicates line {}", dup.line));
        }
        rows.push(row);
    }
    (rows, dates)
}

/// Index of the most specific row that contains `addr` (of the given family), if any.
fn most_specific(rows: &[Row], v4: bool, addr: u128) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.addr.is_ipv4() == v4 && r.start() <= addr && addr <= r.end())
        .max_by_key(|(_, r)| r.len)
        .map(|(i, _)| i)
}

/// Disjoint intervals `(start, row)` covering the whole family, merged where neighbours agree.
fn intervals(rows: &[Row], v4: bool) -> Vec<(u128, Option<usize>)> {
    let mut bounds = BTreeSet::new();
    bounds.insert(0u128);
    let max = if v4 { u32::MAX as u128 } else { u128::MAX };
    for r in rows.iter().filter(|r| r.addr.is_ipv4() == v4) {
        bounds.insert(r.start());
        if r.end() < max {
            bounds.insert(r.end() + 1);
        }
    }
    let mut out: Vec<(u128, Option<usize>)> = Vec::new();
    for b in bounds {
        let row = most_specific(rows, v4, b);
        if out.last().map(|(_, last)| *last) != Some(row) {
            out.push((b, row));
        }
    }
    out
}

fn escape(s: &str) -> String {
    s.escape_default().to_string()
}

fn main() {
    println!("cargo::rerun-if-changed={DATA}");
    println!("cargo::rerun-if-changed=build.rs");
    let text = std::fs::read_to_string(DATA).expect("read data/special-purpose.txt");
    let (rows, dates) = parse(&text);
    assert!(rows.len() < usize::from(u8::MAX), "{DATA}: too many rows for u8 indices");
    // Interval entries hold a row index, or `rows.len()` where no row covers the range.

    let mut out = String::new();
    let date = |name: &str| {
        dates
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("{DATA}: missing `@registry-date {name} ...`"))
    };
    writeln!(out, "/// Date of the IANA IPv4 Special-Purpose Address Registry these rows follow.").unwrap();
    writeln!(out, "pub const IPV4_REGISTRY_DATE: &str = \"{}\";", date("iana-ipv4-special")).unwrap();
    writeln!(out, "/// Date of the IANA IPv6 Special-Purpose Address Registry these rows follow.").unwrap();
    writeln!(out, "pub const IPV6_REGISTRY_DATE: &str = \"{}\";", date("iana-ipv6-special")).unwrap();

    writeln!(out, "/// Number of rows; interval entries equal to it mean \"no row\".").unwrap();
    writeln!(out, "pub(crate) const ROW_COUNT: usize = {};", rows.len()).unwrap();
    writeln!(out, "pub(crate) const ROW_DATA: [Row; ROW_COUNT] = [").unwrap();
    for r in &rows {
        // The parent row is the most specific other row that contains this one; a terminated row
        // with no flags of its own defers to it.
        let parent = rows
            .iter()
            .enumerate()
            .filter(|(_, p)| !std::ptr::eq(*p, r) && p.contains(r))
            .max_by_key(|(_, p)| p.len)
            .map(|(i, _)| i);
        let block = match r.addr {
            IpAddr::V4(a) => {
                let o = a.octets();
                format!(
                    "IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new({}, {}, {}, {}), {}))",
                    o[0], o[1], o[2], o[3], r.len
                )
            }
            IpAddr::V6(a) => {
                format!("IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::from_bits({:#x}), {}))", u128::from(a), r.len)
            }
        };
        let terminated =
            if r.fields[5].is_empty() { "None".to_string() } else { format!("Some(\"{}\")", escape(&r.fields[5])) };
        writeln!(
            out,
            "    Row {{ registry: Registry::{}, block: {block}, name: \"{}\", rfc: \"{}\", allocated: \"{}\", \
             terminated: {terminated}, source: {}, destination: {}, forwardable: {}, globally_reachable: {}, \
             reserved_by_protocol: {}, class: Class::{}, scope: {}, parent: {:?} }},",
            r.registry,
            escape(&r.fields[2]),
            escape(&r.fields[3]),
            escape(&r.fields[4]),
            r.flags[0],
            r.flags[1],
            r.flags[2],
            r.flags[3],
            r.flags[4],
            r.class,
            r.scope,
            parent.map(|p| p as u8),
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();

    for (v4, name, ty) in [(true, "V4", "u32"), (false, "V6", "u128")] {
        let iv = intervals(&rows, v4);
        writeln!(out, "pub(crate) static {name}_INTERVALS: [({ty}, u8); {}] = [", iv.len()).unwrap();
        for (start, row) in &iv {
            writeln!(out, "    ({start:#x}, {}),", row.unwrap_or(rows.len())).unwrap();
        }
        writeln!(out, "];").unwrap();
        // First-byte index: for each value of the top byte, the inclusive range of intervals
        // that byte's addresses fall into. Most bytes map to a single interval, so a lookup of
        // an ordinary address is one table read and no search.
        let shift = if v4 { 24 } else { 120 };
        let containing = |addr: u128| iv.partition_point(|&(s, _)| s <= addr) - 1;
        writeln!(out, "pub(crate) static {name}_INDEX: [(u16, u16); 256] = [").unwrap();
        for byte in 0u128..256 {
            let first = byte << shift;
            let last = first | ((1u128 << shift) - 1);
            writeln!(out, "    ({}, {}),", containing(first), containing(last)).unwrap();
        }
        writeln!(out, "];").unwrap();
    }

    let dest = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("registry_table.rs");
    std::fs::write(dest, out).expect("write registry_table.rs");
}
