//! Fuzzes `bmnet nmconn set` (`bm_nmconn::edit::set_properties`), structure-aware: the input
//! picks a base keyfile (one of a few clean profiles, plus arbitrary lines when they still
//! parse), then one to three properties from the schema's known list (every key of every
//! modelled setting, the `ethernet.` alias, and the properties nmcli spells specially:
//! `ipvX.addresses`, `ipvX.routes`, `bond.options`) and a value for each: raw text, or one
//! shaped like what the property takes (a number, a boolean word, a MAC, addresses, routes).
//!
//! What `set_properties` promises, checked: no input panics; a refused edit leaves the document
//! as it was; an accepted one leaves a file that parses (and writes back byte for byte) and
//! that has no error the file did not have before (compared by code, group and key, as
//! `set_properties` compares), measured on the file re-parsed from its text; and when the base
//! had no error at all (so NetworkManager loads the result as asked), the last property set
//! reads back from what NetworkManager loads ([`bm_nmconn::Profile`]) as the value given
//! (`connection.type` as the setting's name: `ethernet` reads back as `802-3-ethernet`).

use std::net::IpAddr;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use bm_nmconn::check::{CheckOptions, check_document};
use bm_nmconn::diag::{Code, Severity};
use bm_nmconn::edit::set_properties;
use bm_nmconn::schema::{ValueType, keys_of, setting_of_group};
use bm_nmconn::{Document, Profile};
use serde_json::Value as Json;

const UUID: &str = "uuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\n";

/// Clean profiles, as nmcli writes them.
fn bases() -> [String; 8] {
    let ip = "[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n";
    [
        format!("[connection]\nid=eth0\n{UUID}type=ethernet\ninterface-name=eth0\n\n[ethernet]\n\n{ip}"),
        format!(
            "[connection]\nid=eno1\n{UUID}type=ethernet\ninterface-name=eno1\n\n[ethernet]\nmtu=9000\n\n\
             [ipv4]\naddress1=10.0.0.5/24,10.0.0.1\ndns=10.0.0.53;\nmethod=manual\nroute1=10.1.0.0/16,10.0.0.254,100\n\n\
             [ipv6]\naddr-gen-mode=eui64\naddress1=fd00::5/64\nmethod=manual\n\n[proxy]\n"
        ),
        format!(
            "[connection]\nid=bond0\n{UUID}type=bond\ninterface-name=bond0\n\n[bond]\nmiimon=100\nmode=802.3ad\n\n{ip}"
        ),
        format!(
            "[connection]\nid=eno2\n{UUID}type=ethernet\ninterface-name=eno2\nmaster=bond0\nslave-type=bond\n\n\
             [ethernet]\n\n[bond-port]\n"
        ),
        format!(
            "[connection]\nid=vlan70\n{UUID}type=vlan\ninterface-name=bond0.70\n\n[ethernet]\n\n\
             [vlan]\nflags=1\nid=70\nparent=bond0\n\n[ipv4]\nmethod=disabled\n\n\
             [ipv6]\naddr-gen-mode=default\nmethod=link-local\n\n[proxy]\n"
        ),
        format!(
            "[connection]\nid=br-ex\n{UUID}type=bridge\ninterface-name=br-ex\n\n[ethernet]\n\n[bridge]\nstp=false\n\n{ip}"
        ),
        format!(
            "[connection]\nid=ib0\n{UUID}type=infiniband\ninterface-name=ib0\n\n[infiniband]\ntransport-mode=datagram\n\n{ip}"
        ),
        format!(
            "[connection]\nid=old\n{UUID}type=802-3-ethernet\ninterface-name=eth1\n\n[802-3-ethernet]\nmtu=1500\n\n\
             [ipv4]\nmethod=auto\n"
        ),
    ]
}

/// Every property the input can pick: `setting.key` and how it is read.
fn properties() -> &'static [(String, ValueType)] {
    static P: OnceLock<Vec<(String, ValueType)>> = OnceLock::new();
    P.get_or_init(|| {
        let mut out = Vec::new();
        for setting in [
            "connection",
            "802-3-ethernet",
            "bond-port",
            "vlan",
            "bridge",
            "bridge-port",
            "ipv4",
            "ipv6",
            "proxy",
            "infiniband",
            "match",
        ] {
            for (key, ty) in keys_of(setting).unwrap_or_default() {
                out.push((format!("{setting}.{key}"), ty));
            }
        }
        for (p, ty) in [
            ("ipv4.addresses", ValueType::Special),
            ("ipv6.addresses", ValueType::Special),
            ("ipv4.routes", ValueType::Special),
            ("ipv6.routes", ValueType::Special),
            ("bond.options", ValueType::Special),
            ("ethernet.mtu", ValueType::UInt(u64::from(u32::MAX))),
            ("ethernet.mac-address", ValueType::Mac(6)),
            ("ethernet.cloned-mac-address", ValueType::Special),
        ] {
            out.push((p.to_string(), ty));
        }
        out
    })
}

const WORDS: &[&str] = &[
    "manual",
    "auto",
    "disabled",
    "link-local",
    "dhcp",
    "ignore",
    "shared",
    "bond",
    "bridge",
    "ethernet",
    "bond0",
    "eth0",
    "yes",
    "no",
    "true",
    "false",
    "802.3ad",
    "active-backup",
    "mode=802.3ad,miimon=100,lacp_rate=fast",
    "mode=active-backup,primary=eno1",
    "eui64",
    "stable-privacy",
    "default",
    "preserve",
    "random",
    "example.com",
    "0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f71",
];

/// A value, raw or shaped like what a property takes.
#[derive(Arbitrary, Debug)]
enum Shape<'a> {
    Raw(&'a str),
    Number(i64),
    Word(u8),
    Mac([u8; 6], bool),
    Addresses(Vec<(IpAddr, u8)>),
    Routes(Vec<(IpAddr, u8, Option<IpAddr>, Option<u32>)>),
    Empty,
}

impl Shape<'_> {
    fn text(&self) -> String {
        match self {
            Shape::Raw(s) => s.to_string(),
            Shape::Number(n) => n.to_string(),
            Shape::Word(w) => WORDS[usize::from(*w) % WORDS.len()].to_string(),
            Shape::Mac(b, dash) => {
                let sep = if *dash { "-" } else { ":" };
                b.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(sep)
            }
            Shape::Addresses(a) => a.iter().map(|(ip, p)| format!("{ip}/{}", p % 129)).collect::<Vec<_>>().join(", "),
            Shape::Routes(r) => r
                .iter()
                .map(|(ip, p, hop, metric)| {
                    let mut s = format!("{ip}/{}", p % 129);
                    if let Some(h) = hop {
                        s += &format!(" {h}");
                    }
                    if let Some(m) = metric {
                        s += &format!(" {m}");
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(", "),
            Shape::Empty => String::new(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Edit<'a> {
    property: u16,
    value: Shape<'a>,
}

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    base: u8,
    extra: &'a str,
    edits: Vec<Edit<'a>>,
}

/// Errors by code, group and key, as `set_properties` compares them.
fn errors(doc: &Document) -> Vec<(Code, Option<String>, Option<String>)> {
    check_document(doc, &CheckOptions::default())
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code, d.group, d.key))
        .collect()
}

/// What NetworkManager loads for `property`, and what it should be after setting `value`
/// (`None`: not modelled by [`Profile`], or not comparable).
fn read_back(profile: &Json, property: &str, ty: ValueType, value: &str) -> Option<(Json, Json)> {
    // A string is set whole (as nmcli sets it); the other types without the whitespace around.
    let whole = value;
    let value = value.trim();
    let (setting, key) = property.split_once('.')?;
    let section = match setting {
        "802-3-ethernet" => "ethernet",
        "bridge-port" => "bridge_port",
        s => s,
    };
    let field = match (setting, key) {
        ("connection", "type") => "type".to_string(),
        (_, "addresses") => "addresses".to_string(),
        (_, k) => k.replace('-', "_"),
    };
    let loaded = profile.get(section)?.get(&field)?.clone();
    // nmcli's list syntax: commas and GLib's ASCII whitespace (no `\v`).
    let list = |v: &str| {
        v.split([',', ' ', '\t', '\n', '\u{c}', '\r']).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>()
    };
    let want = match (ty, key) {
        _ if whole.is_empty() || (value.is_empty() && ty != ValueType::Str) => return None,
        // `Profile` holds the type as the setting's name: `ethernet` reads as `802-3-ethernet`.
        _ if setting == "connection" && key == "type" => Json::String(setting_of_group(whole).to_string()),
        (ValueType::Bool, _) => {
            Json::Bool(matches!(value.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1" | "y"))
        }
        (ValueType::UInt(_), _) => serde_json::json!(value.parse::<u64>().ok()?),
        (ValueType::Int(..), _) => serde_json::json!(value.parse::<i64>().ok()?),
        (ValueType::Mac(len), _) => serde_json::json!(bm_nmconn::value::parse_mac(value, len)?),
        (ValueType::Str, _) => Json::String(whole.to_string()),
        (ValueType::List, _) => serde_json::json!(list(value)),
        (ValueType::Special, "dns") => {
            serde_json::json!(list(value).iter().map(|a| a.parse::<IpAddr>().ok()).collect::<Option<Vec<_>>>()?)
        }
        (ValueType::Special, "addresses") => {
            let v6 = setting == "ipv6";
            let parsed: Option<Vec<(IpAddr, u8)>> = list(value)
                .iter()
                .map(|item| {
                    let (a, p) = item.split_once('/').unwrap_or((item, if v6 { "128" } else { "32" }));
                    Some((a.parse().ok()?, p.parse().ok()?))
                })
                .collect();
            serde_json::json!(parsed?)
        }
        _ => return None,
    };
    Some((loaded, want))
}

/// One input.
pub fn run(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let bases = bases();
    let base = &bases[usize::from(input.base) % bases.len()];
    let doc =
        Document::parse(&format!("{base}{}", input.extra)).or_else(|_| Document::parse(base)).expect("the bases parse");
    let props = properties();
    let assignments: Vec<(&str, ValueType, String)> = input
        .edits
        .iter()
        .take(3)
        .map(|e| {
            let (p, ty) = &props[usize::from(e.property) % props.len()];
            (p.as_str(), *ty, e.value.text())
        })
        .collect();
    if assignments.is_empty() {
        return;
    }
    let pairs: Vec<(&str, &str)> = assignments.iter().map(|(p, _, v)| (*p, v.as_str())).collect();
    let before = errors(&doc);
    let mut edited = doc.clone();
    if set_properties(&mut edited, &pairs, &CheckOptions::default()).is_err() {
        assert_eq!(edited.to_string(), doc.to_string(), "a refused edit changes nothing");
        return;
    }
    let text = edited.to_string();
    let again =
        Document::parse(&text).unwrap_or_else(|e| panic!("{pairs:?}: the edited file does not parse: {e}\n{text}"));
    assert_eq!(again.to_string(), text);
    for e in errors(&again) {
        assert!(before.contains(&e), "{pairs:?}: an error the edit introduced: {e:?}\n{text}");
    }
    if before.is_empty() {
        let (property, ty, value) = assignments.last().expect("one at least");
        let profile = serde_json::to_value(Profile::read(&again)).expect("a profile serializes");
        if let Some((loaded, want)) = read_back(&profile, property, *ty, value) {
            assert_eq!(loaded, want, "{pairs:?}: {property} does not read back as set\n{text}");
        }
    }
}
