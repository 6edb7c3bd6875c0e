//! The validator's verdicts against NetworkManager 1.42 itself, file by file:
//!
//! - `nmcli --offline connection modify` (a no-op change) refuses a file exactly when we report
//!   a `refused`-class error;
//! - every warning libnm's keyfile reader emits (a dropped value, an ignored key) is an error of
//!   ours on the same key;
//! - every error of ours that neither peer shows is in [`STRICTER`], which says why.
//!
//! The corpus: bare-metal profiles and mutations written here, the research probe files and
//! NetworkManager's own test keyfiles from `../shared/data` (read in place, never copied; a run
//! without them says so loudly). Needs `nmcli` (network-manager) and libnm through python3-gi.

#![allow(clippy::disallowed_methods)] // Runs the peers and reads the shared corpus.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bm_nmconn::check::{CheckOptions, check_text};
use bm_nmconn::diag::{Class, Code};
use serde_json::{Value, json};

/// Errors of ours no peer reports, and why we report them anyway.
const STRICTER: &[(Code, &str)] = &[
    (Code::IntegerOctal, "NetworkManager reads `01500` as octal 832 without a word"),
    (Code::KeyNeedsNewerNm, "1.42 ignores `controller=`/`port-type=` without a word"),
    (Code::PortIpRemoved, "NetworkManager removes IP settings from a port without a word"),
    (Code::BondOptionRemoved, "NetworkManager removes options the bond mode does not support without a word"),
    (Code::GatewayNeverDefault, "NetworkManager removes the gateway under never-default without a word"),
    (Code::RouteOptionsDropped, "one bad route option drops all of them without a word"),
    (Code::NetmaskAsGateway, "a netmask becomes the gateway without a word"),
    (Code::DnsSearchSeparator, "1.42 keeps `a.com,b.com` as one bogus search domain without a word"),
    (Code::SharedExtraAddresses, "method=shared drops extra addresses without a word"),
    (Code::LocaleKey, "GLib hides translated keys from NetworkManager"),
    (Code::NulByte, "GLib reads a line only up to a NUL byte without a word"),
    (Code::GroupUnknown, "libnm skips unknown groups (its warning has no key)"),
    (Code::ValueUnreadable, "GLib cannot unescape the value, so NetworkManager sees none"),
];

const UUID: &str = "0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70";

fn eth(extra_connection: &str, rest: &str) -> String {
    format!(
        "[connection]\nid=eth0\nuuid={UUID}\ntype=ethernet\ninterface-name=eth0\n{extra_connection}\n[ethernet]\n{rest}"
    )
}

fn bond(options: &str) -> String {
    format!(
        "[connection]\nid=bond0\nuuid={UUID}\ntype=bond\ninterface-name=bond0\n\n[bond]\n{options}\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n"
    )
}

fn vlan(body: &str) -> String {
    format!(
        "[connection]\nid=v\nuuid={UUID}\ntype=vlan\ninterface-name=bond0.100\n\n[vlan]\n{body}\n[ipv4]\nmethod=auto\n"
    )
}

fn own_corpus() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, text: String| v.push((name.to_string(), text));
    add(
        "good-static",
        eth(
            "",
            "mtu=9000\n\n[ipv4]\naddress1=10.0.0.5/24,10.0.0.1\ndns=10.0.0.53;\ndns-search=example.com;\nmethod=manual\n\n[ipv6]\naddr-gen-mode=default\nmethod=auto\n\n[proxy]\n",
        ),
    );
    add("good-dhcp", eth("autoconnect-priority=10\n", "[ipv4]\nmethod=auto\n[ipv6]\nmethod=ignore\n"));
    add("mtu-octal", eth("", "mtu=01500\n[ipv4]\nmethod=auto\n"));
    add("mtu-hex", eth("", "mtu=0x2328\n[ipv4]\nmethod=auto\n"));
    add("mtu-garbage", eth("", "mtu=1500k\n[ipv4]\nmethod=auto\n"));
    add("mtu-0900", eth("", "mtu=0900\n[ipv4]\nmethod=auto\n"));
    add("autoconnect-yes", eth("autoconnect=yes\n", "[ipv4]\nmethod=auto\n"));
    add("autoconnect-False", eth("autoconnect=False\n", "[ipv4]\nmethod=auto\n"));
    add("priority-garbage", eth("autoconnect-priority=high\n", "[ipv4]\nmethod=auto\n"));
    add("mac-nosep", eth("", "mac-address=001122334455\n[ipv4]\nmethod=auto\n"));
    add("mac-dash", eth("", "mac-address=00-11-22-33-44-55\n[ipv4]\nmethod=auto\n"));
    add("cloned-bogus", eth("", "cloned-mac-address=sometimes\n[ipv4]\nmethod=auto\n"));
    add("cloned-stable", eth("", "cloned-mac-address=stable\n[ipv4]\nmethod=auto\n"));
    add("typo-key", eth("", "mtuu=1500\n[ipv4]\nmethod=auto\n"));
    add("typo-group", eth("", "[ipv4]\nmethod=auto\n[ipv7]\nmethod=auto\n"));
    add("group-case", eth("", "[IPv4]\nmethod=manual\naddress1=10.0.0.5/24\n"));
    add("method-static", eth("", "[ipv4]\nmethod=static\naddress1=10.0.0.5/24\n"));
    add("method-dhcp", eth("", "[ipv4]\nmethod=dhcp\n"));
    add("v6-method-static", eth("", "[ipv6]\nmethod=static\naddress1=fd00::5/64\n"));
    add("no-method", eth("", "[ipv4]\naddress1=10.0.0.5/24\n"));
    add("backslash", eth("", "[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\n"));
    add("backslash-2", eth("", "[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\naddress2=10.0.0.5/24\n"));
    add("netmask", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/255.255.255.0\n"));
    add("plen33", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/33\n"));
    add("no-plen", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5\n"));
    add("disabled-with-address", eth("", "[ipv4]\nmethod=disabled\naddress1=10.0.0.5/24\n"));
    add("link-local-dns", eth("", "[ipv4]\nmethod=link-local\ndns=1.1.1.1;\n"));
    add("gw-invalid", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\ngateway=10.0.0.1 \n"));
    add("gw-no-addr", eth("", "[ipv4]\nmethod=auto\ngateway=10.0.0.1\n"));
    add("gw-outside", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\ngateway=192.168.1.1\n"));
    add("gw-never-default", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\nnever-default=true\n"));
    add("gw-both", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\ngateway=10.0.0.254\n"));
    add("dns-commas", eth("", "[ipv4]\nmethod=auto\ndns=1.1.1.1,8.8.8.8\n"));
    add("dns-v6-in-v4", eth("", "[ipv4]\nmethod=auto\ndns=fd00::53;1.1.1.1;\n"));
    add("dns-search-commas", eth("", "[ipv4]\nmethod=auto\ndns-search=a.example.com,b.example.com\n"));
    add("route-via", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.0.0/16 via 10.0.0.1\n"));
    add("route-v6-in-v4", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=fd01::/64\n"));
    add("route-hostbits", eth("", "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.2.3/16,10.0.0.1\n"));
    add(
        "route-options-bad",
        eth(
            "",
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.0.0/16,10.0.0.1\nroute1_options=mtu=abc,onlink=true\n",
        ),
    );
    add(
        "route-options-good",
        eth(
            "",
            "[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.0.0/16,10.0.0.1,100\nroute1_options=mtu=1400,table=100,onlink=true\n",
        ),
    );
    add("shared-two", eth("", "[ipv4]\nmethod=shared\naddress1=10.0.0.5/24\naddress2=10.0.1.5/24\n"));
    add("addr-gen-bad", eth("", "[ipv4]\nmethod=auto\n[ipv6]\nmethod=auto\naddr-gen-mode=random\n"));
    add("v6-manual-empty", eth("", "[ipv4]\nmethod=auto\n[ipv6]\nmethod=manual\n"));
    add(
        "ifname-long",
        eth("", "[ipv4]\nmethod=auto\n").replace("interface-name=eth0", "interface-name=averyveryverylongname"),
    );
    add("ifname-colon", eth("", "[ipv4]\nmethod=auto\n").replace("interface-name=eth0", "interface-name=eth0:1"));
    add("uuid-bad", eth("", "[ipv4]\nmethod=auto\n").replace(UUID, "not-a-uuid"));
    add("uuid-upper", eth("", "[ipv4]\nmethod=auto\n").replace(UUID, &UUID.to_uppercase()));
    add("type-bad", eth("", "[ipv4]\nmethod=auto\n").replace("type=ethernet", "type=ethernett"));
    add("permissions-bad", eth("permissions=alice;\n", "[ipv4]\nmethod=auto\n"));
    add("permissions-good", eth("permissions=user:alice:;\n", "[ipv4]\nmethod=auto\n"));
    add("dup-key", eth("", "mtu=1500\nmtu=9000\n[ipv4]\nmethod=auto\n"));
    add("locale-key", eth("", "[ipv4]\nmethod=auto\n").replace("id=eth0\n", "id=eth0\nid[de]=x\n"));
    add("nul-byte", eth("zone=trusted\0 junk\n", "mtu=1500\0 9000\n[ipv4]\nmethod=auto\n"));
    add("bad-escape", eth("", "[ipv4]\nmethod=auto\n").replace("zone", "").replace("id=eth0", "id=eth0\nzone=a\\qb"));
    add(
        "port-bond",
        format!(
            "[connection]\nid=p\nuuid={UUID}\ntype=ethernet\ninterface-name=eno1\nmaster=bond0\nslave-type=bond\n\n[ethernet]\n\n[bond-port]\n"
        ),
    );
    add(
        "port-with-ip",
        format!(
            "[connection]\nid=p\nuuid={UUID}\ntype=ethernet\ninterface-name=eno1\nmaster=bond0\nslave-type=bond\n\n[ethernet]\n\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n"
        ),
    );
    add(
        "port-controller",
        format!(
            "[connection]\nid=p\nuuid={UUID}\ntype=ethernet\ninterface-name=eno1\ncontroller=bond0\nport-type=bond\n\n[ethernet]\n"
        ),
    );
    add("bond-8023ad", bond("mode=802.3ad\nmiimon=100\nlacp_rate=fast\nxmit_hash_policy=layer3+4\n"));
    add("bond-lacp", bond("mode=lacp\nmiimon=100\n"));
    add("bond-mode-4", bond("mode=4\n"));
    add("bond-no-mode", bond("miimon=100\n"));
    add("bond-8023ad-arp", bond("mode=802.3ad\narp_interval=100\narp_ip_target=10.0.0.1\n"));
    add("bond-ab-lacp", bond("mode=active-backup\nlacp_rate=fast\n"));
    add("bond-ab-xmit", bond("mode=active-backup\nxmit_hash_policy=layer3+4\n"));
    add("bond-updelay-nomii", bond("mode=active-backup\nmiimon=0\nupdelay=200\n"));
    add("bond-arp-no-target", bond("mode=active-backup\narp_interval=100\n"));
    add("bond-target-no-arp", bond("mode=active-backup\narp_ip_target=10.0.0.1\nmiimon=0\n"));
    add("bond-unknown-opt", bond("mode=active-backup\nmiimonn=100\n"));
    add("bond-bad-int", bond("mode=active-backup\nmiimon=fast\n"));
    add("bond-primary-rr", bond("mode=balance-rr\nprimary=eno1\n"));
    add("bond-primary-tlb", bond("mode=balance-tlb\nprimary=eno1\n"));
    add("bond-primary-ab", bond("mode=active-backup\nprimary=eno1\n"));
    add("bond-tlb-arp", bond("mode=balance-tlb\narp_interval=100\narp_ip_target=10.0.0.1\n"));
    add("bond-rr-pps", bond("mode=balance-rr\npackets_per_slave=3\n"));
    add("bond-ab-pps", bond("mode=active-backup\npackets_per_slave=3\n"));
    add("bond-ab-actor", bond("mode=active-backup\nad_actor_sys_prio=100\n"));
    add("bond-alb-arp-zero", bond("mode=balance-alb\narp_interval=0\n"));
    add("bond-8023ad-primary", bond("mode=802.3ad\nprimary=eno1\n"));
    add("bond-alb-lacp-slow", bond("mode=balance-alb\nlacp_rate=slow\n"));
    add("bond-grat-na", bond("mode=active-backup\nnum_grat_arp=2\nnum_unsol_na=3\n"));
    add("bond-no-ifname", bond("mode=active-backup\n").replace("interface-name=bond0\n", ""));
    add("vlan-good", vlan("flags=1\nid=100\nparent=bond0\n"));
    add("vlan-4095", vlan("id=4095\nparent=bond0\n"));
    add("vlan-octal", vlan("id=0100\nparent=bond0\n"));
    add("vlan-no-parent", vlan("id=100\n"));
    add("vlan-bad-parent", vlan("id=100\nparent=eth0:1\n"));
    add("vlan-no-id", vlan("parent=bond0\n"));
    add(
        "bridge-no-ifname",
        format!("[connection]\nid=br\nuuid={UUID}\ntype=bridge\n\n[bridge]\nstp=false\n\n[ipv4]\nmethod=auto\n"),
    );
    add(
        "bridge-stp-yes",
        format!(
            "[connection]\nid=br\nuuid={UUID}\ntype=bridge\ninterface-name=br0\n\n[bridge]\nstp=yes\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    add("user-bad", eth("", "[ipv4]\nmethod=auto\n[user]\nnodot=1\n"));
    add("no-id", eth("", "[ipv4]\nmethod=auto\n").replace("id=eth0\n", ""));
    add("no-type-eth-group", eth("", "[ipv4]\nmethod=auto\n").replace("type=ethernet\n", ""));
    add("no-type", format!("[connection]\nid=x\nuuid={UUID}\n"));
    add("ipv6-link-local-gw", eth("", "[ipv6]\nmethod=manual\naddress1=fd00::5/64\ngateway=fe80::1\n"));
    add("priority-octal", eth("autoconnect-priority=010\n", "[ipv4]\nmethod=auto\n"));
    add("priority-range", eth("autoconnect-priority=-1000\n", "[ipv4]\nmethod=auto\n"));
    add("vlan-proto-bad", vlan("id=5\nparent=eth0\nprotocol=802.1x\n"));
    add("vlan-flags-16", vlan("id=5\nparent=eth0\nflags=16\n"));
    add("duplex-bad", eth("", "speed=1000\nduplex=fulll\n[ipv4]\nmethod=auto\n"));
    add("port-bad", eth("", "port=xx\n[ipv4]\nmethod=auto\n"));
    add("wol-default-plus", eth("", "wake-on-lan=33\n[ipv4]\nmethod=auto\n"));
    add("wol-magic", eth("", "wake-on-lan=64\n[ipv4]\nmethod=auto\n"));
    add(
        "gfm-bit0",
        format!(
            "[connection]\nid=br\nuuid={UUID}\ntype=bridge\ninterface-name=br0\n\n[bridge]\ngroup-forward-mask=1\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    add(
        "hash-max-100",
        format!(
            "[connection]\nid=br\nuuid={UUID}\ntype=bridge\ninterface-name=br0\n\n[bridge]\nmulticast-hash-max=100\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    add(
        "forward-delay-1",
        format!(
            "[connection]\nid=br\nuuid={UUID}\ntype=bridge\ninterface-name=br0\n\n[bridge]\nforward-delay=1\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    add(
        "ib-no-transport",
        format!("[connection]\nid=ib\nuuid={UUID}\ntype=infiniband\n\n[infiniband]\nmtu=2044\n\n[ipv4]\nmethod=auto\n"),
    );
    add(
        "ib-connected",
        format!(
            "[connection]\nid=ib\nuuid={UUID}\ntype=infiniband\n\n[infiniband]\nmtu=65520\ntransport-mode=connected\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    add("mdns-5", eth("mdns=5\n", "[ipv4]\nmethod=auto\n"));
    add("token-bad", eth("", "[ipv6]\nmethod=auto\ntoken=zz\n"));
    add("token-sp", eth("", "[ipv6]\nmethod=auto\naddr-gen-mode=stable-privacy\ntoken=::1\n"));
    add("token-ok", eth("", "[ipv6]\nmethod=auto\naddr-gen-mode=eui64\ntoken=::1\n"));
    add("slave-type-only", eth("slave-type=bond\n", ""));
    add("master-only", eth("master=bond0\n", ""));
    // NetworkManager knows six port types, by their exact names (a trailing space is part of
    // the value GLib reads).
    add("slave-type-unknown", eth("master=bond0\nslave-type=foo\n", ""));
    add("slave-type-upper", eth("master=bond0\nslave-type=BOND\n", ""));
    add("slave-type-alias", eth("master=bond0\nslave-type=ethernet\n", ""));
    add("slave-type-space", eth("master=bond0\nslave-type=bond\\s\n", ""));
    add("slave-type-vrf", eth("master=vrf0\nslave-type=vrf\n", ""));
    add("cid-empty", eth("", "[ipv4]\nmethod=auto\ndhcp-client-id=\n"));
    add("iaid-bad", eth("", "[ipv4]\nmethod=auto\ndhcp-iaid=xyz\n"));
    add("iaid-hex", eth("", "[ipv4]\nmethod=auto\ndhcp-iaid=0x1f\n"));
    add("dhcp-timeout-negative", eth("", "[ipv4]\nmethod=auto\ndhcp-timeout=-1\n"));
    // Without a type, NetworkManager reads no interface name from the type's group: the bond it
    // infers has none, and it refuses the profile.
    add(
        "bond-no-type-ifname-in-group",
        format!(
            "[connection]\nid=b\nuuid={UUID}\n\n[bond]\ninterface-name=bond0\nmode=802.3ad\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    // With its type, it reads it there.
    add(
        "bond-ifname-in-group",
        format!(
            "[connection]\nid=b\nuuid={UUID}\ntype=bond\n\n[bond]\ninterface-name=bond0\nmode=802.3ad\n\n[ipv4]\nmethod=auto\n"
        ),
    );
    // An addr-gen-mode is read with its whitespace trimmed.
    add("addr-gen-mode-spaces", eth("", "[ipv6]\nmethod=auto\naddr-gen-mode=\\sstable-privacy \n"));
    v
}

fn shared_corpus() -> Vec<(String, String)> {
    let base = std::env::var_os("BMNET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")));
    let mut out = Vec::new();
    for dir in ["nm-probe-cases", "nm-keyfiles"] {
        let Ok(entries) = std::fs::read_dir(base.join(dir)) else {
            eprintln!(
                "\n*** SKIPPED the shared corpus {}: not found. Set BMNET_SHARED_DATA to ../shared/data to run it. ***\n",
                base.join(dir).display()
            );
            continue;
        };
        let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        names.sort();
        for p in names {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".md") || name.ends_with(".expected") || name.ends_with(".yaml") {
                continue;
            }
            // Invalid UTF-8 files are GLib load errors: compare them too.
            let bytes = std::fs::read(&p).unwrap();
            match String::from_utf8(bytes) {
                Ok(t) => out.push((format!("{dir}/{name}"), t)),
                Err(_) => eprintln!("{dir}/{name}: not UTF-8, checked by the document tests"),
            }
        }
    }
    out
}

fn require_peers() {
    assert!(
        Command::new("nmcli").arg("--version").output().is_ok_and(|o| o.status.success()),
        "nmcli is missing: apt-get install -y network-manager (this test never skips)"
    );
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import gi; gi.require_version('NM', '1.0'); from gi.repository import NM"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0");
}

fn libnm(texts: &[&str]) -> Vec<Value> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/nm_verdict.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(json!(texts).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `nmcli --offline connection modify` with a no-op change: `Err(message)` when it refuses.
fn nmcli(text: &str) -> Result<(), String> {
    let mut child = Command::new("nmcli")
        .args(["--offline", "connection", "modify", "connection.autoconnect-retries", "-1"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// Settings bmnet does not model: a refusal or warning there is not ours to match.
fn unmodelled(group: &str) -> bool {
    !matches!(
        group,
        "connection"
            | "ethernet"
            | "802-3-ethernet"
            | "bond"
            | "bond-port"
            | "vlan"
            | "bridge"
            | "bridge-port"
            | "ipv4"
            | "ipv6"
            | "proxy"
            | "user"
            | "infiniband"
            | "match"
            | ""
    )
}

#[test]
fn verdicts_agree_with_networkmanager() {
    require_peers();
    let mut corpus = own_corpus();
    let own = corpus.len();
    corpus.extend(shared_corpus());
    let texts: Vec<&str> = corpus.iter().map(|(_, t)| t.as_str()).collect();
    let nm = libnm(&texts);
    let mut problems = Vec::new();
    let mut stricter_seen = std::collections::BTreeMap::<&str, usize>::new();
    let (mut refused, mut warned, mut not_modelled) = (0, 0, 0);
    for ((name, text), nm) in corpus.iter().zip(&nm) {
        let ours = check_text(text, &CheckOptions::default());
        let their_refusal = nmcli(text).err();
        let our_refusal = ours.diagnostics.iter().find(|d| d.code.class() == Class::Refused);
        let warnings: Vec<(String, String, String)> = nm["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| (w[0].as_str().unwrap().into(), w[1].as_str().unwrap().into(), w[2].as_str().unwrap().into()))
            .collect();
        let groups_unmodelled = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')))
            .any(|g| unmodelled(g) && bm_nmconn::schema::group_is_known(g));
        match (&their_refusal, our_refusal) {
            (Some(e), None) => {
                if groups_unmodelled {
                    not_modelled += 1;
                } else {
                    problems.push(format!("{name}: nmcli refuses ({e}); we do not: {:?}", ours.diagnostics));
                }
            }
            (None, Some(d)) => problems.push(format!("{name}: we refuse ({} {}); nmcli accepts", d.code, d.message)),
            (Some(_), Some(_)) => refused += 1,
            (None, None) => {}
        }
        for (group, key, msg) in &warnings {
            let covered = ours.diagnostics.iter().any(|d| {
                d.code.class() != Class::Risk
                    && d.group.as_deref().map(bm_nmconn::schema::setting_of_group)
                        == Some(bm_nmconn::schema::setting_of_group(group))
                    && (d.key.as_deref() == Some(key.as_str()) || d.key.is_none() || key.is_empty())
            }) || (key.is_empty() && ours.diagnostics.iter().any(|d| d.code == Code::GroupUnknown));
            if covered {
                warned += 1;
            } else if unmodelled(group) {
                not_modelled += 1;
            } else {
                problems.push(format!("{name}: libnm warns [{group}] {key}: {msg}; we say nothing there"));
            }
        }
        for d in ours.diagnostics.iter().filter(|d| d.code.class() == Class::Altered) {
            let libnm_saw = warnings.iter().any(|(g, k, _)| {
                bm_nmconn::schema::setting_of_group(g)
                    == d.group.as_deref().map(bm_nmconn::schema::setting_of_group).unwrap_or("")
                    && (Some(k.as_str()) == d.key.as_deref() || k.is_empty())
            });
            if libnm_saw || their_refusal.is_some() {
                continue;
            }
            match STRICTER.iter().find(|(c, _)| *c == d.code) {
                Some((c, _)) => *stricter_seen.entry(c.as_str()).or_default() += 1,
                None => problems.push(format!("{name}: we say {} ({}) and no peer does", d.code, d.message)),
            }
        }
    }
    eprintln!(
        "{} files ({own} written here): {refused} refusals matched, {warned} libnm warnings matched, \
         {not_modelled} findings in settings bmnet does not model; stricter: {stricter_seen:?}",
        corpus.len()
    );
    assert!(problems.is_empty(), "{} disagreements with NetworkManager 1.42:\n{}", problems.len(), problems.join("\n"));
}

/// What each file written here must produce, code for code (reviewed by hand; the
/// differential test above says NetworkManager agrees).
const EXPECTED: &[(&str, &[&str])] = &[
    ("good-static", &[]),
    ("good-dhcp", &[]),
    ("mtu-octal", &["integer-octal"]),
    ("mtu-hex", &["integer-hex"]),
    ("mtu-garbage", &["integer-invalid"]),
    ("mtu-0900", &["integer-invalid"]),
    ("autoconnect-yes", &["boolean-invalid"]),
    ("autoconnect-False", &["boolean-invalid"]),
    ("priority-garbage", &["integer-invalid"]),
    ("mac-nosep", &["mac-invalid"]),
    ("mac-dash", &[]),
    ("cloned-bogus", &["mac-invalid"]),
    ("cloned-stable", &[]),
    ("typo-key", &["key-unknown"]),
    ("typo-group", &["group-unknown"]),
    ("group-case", &["group-unknown"]),
    ("method-static", &["method-invalid"]),
    ("method-dhcp", &["method-invalid"]),
    ("v6-method-static", &["method-invalid"]),
    ("no-method", &["method-missing"]),
    ("backslash", &["manual-without-addresses", "address-dropped"]),
    ("backslash-2", &["address-dropped"]),
    ("netmask", &["netmask-as-gateway"]),
    ("plen33", &["prefix-defaulted"]),
    ("no-plen", &["prefix-defaulted"]),
    ("disabled-with-address", &["not-allowed-for-method"]),
    ("link-local-dns", &["not-allowed-for-method"]),
    ("gw-invalid", &["gateway-invalid"]),
    ("gw-no-addr", &["gateway-without-addresses"]),
    ("gw-outside", &["gateway-unreachable"]),
    ("gw-never-default", &["gateway-never-default"]),
    ("gw-both", &["gateway-key-overrides"]),
    ("dns-commas", &["dns-dropped"]),
    ("dns-v6-in-v4", &["dns-dropped"]),
    ("dns-search-commas", &["dns-search-separator"]),
    ("route-via", &["route-dropped"]),
    ("route-v6-in-v4", &["route-dropped"]),
    ("route-hostbits", &["route-host-bits"]),
    ("route-options-bad", &["route-options-dropped"]),
    ("route-options-good", &[]),
    ("shared-two", &["shared-extra-addresses"]),
    ("addr-gen-bad", &["addr-gen-mode-invalid"]),
    ("v6-manual-empty", &["manual-without-addresses"]),
    ("ifname-long", &["interface-name-invalid"]),
    ("ifname-colon", &["interface-name-invalid"]),
    ("uuid-bad", &["uuid-invalid"]),
    ("uuid-upper", &["uuid-uppercase"]),
    ("type-bad", &["type-invalid"]),
    ("permissions-bad", &["permissions-invalid"]),
    ("permissions-good", &[]),
    ("dup-key", &["duplicate-key"]),
    ("locale-key", &["locale-key"]),
    ("nul-byte", &["nul-byte", "nul-byte"]),
    ("bad-escape", &["value-unreadable"]),
    ("port-bond", &[]),
    ("port-with-ip", &["port-ip-removed"]),
    ("port-controller", &["key-needs-newer-nm", "key-needs-newer-nm"]),
    ("bond-8023ad", &[]),
    ("bond-lacp", &["bond-option-invalid"]),
    ("bond-mode-4", &[]),
    ("bond-no-mode", &["bond-mode-missing"]),
    ("bond-8023ad-arp", &["bond-option-removed", "bond-option-removed"]),
    ("bond-ab-lacp", &["bond-option-conflict"]),
    ("bond-ab-xmit", &["bond-option-ignored"]),
    ("bond-updelay-nomii", &["bond-option-conflict"]),
    ("bond-arp-no-target", &["bond-option-conflict"]),
    ("bond-target-no-arp", &["bond-option-conflict"]),
    ("bond-unknown-opt", &["bond-option-invalid"]),
    ("bond-bad-int", &["bond-option-invalid"]),
    ("bond-primary-rr", &["bond-option-conflict"]),
    ("bond-primary-tlb", &[]),
    ("bond-primary-ab", &[]),
    ("bond-tlb-arp", &["bond-option-conflict", "bond-option-removed"]),
    ("bond-rr-pps", &[]),
    ("bond-ab-pps", &["bond-option-removed"]),
    ("bond-ab-actor", &["bond-option-removed"]),
    ("bond-alb-arp-zero", &[]),
    ("bond-8023ad-primary", &["bond-option-conflict"]),
    ("bond-alb-lacp-slow", &[]),
    ("bond-grat-na", &["bond-option-conflict"]),
    ("bond-no-ifname", &["interface-name-missing"]),
    ("vlan-good", &[]),
    ("vlan-4095", &["vlan-id-range"]),
    ("vlan-octal", &["integer-octal"]),
    ("vlan-no-parent", &["vlan-parent-missing"]),
    ("vlan-bad-parent", &["vlan-parent-invalid"]),
    ("vlan-no-id", &["vlan-id-missing"]),
    ("bridge-no-ifname", &["interface-name-missing"]),
    ("bridge-stp-yes", &["boolean-invalid"]),
    ("user-bad", &["user-key-invalid"]),
    ("no-id", &["id-missing"]),
    ("no-type-eth-group", &[]),
    ("no-type", &["type-missing"]),
    ("ipv6-link-local-gw", &[]),
    ("priority-octal", &["integer-octal"]),
    ("priority-range", &["integer-invalid"]),
    ("vlan-proto-bad", &["value-invalid"]),
    ("vlan-flags-16", &["integer-invalid"]),
    ("duplex-bad", &["value-invalid"]),
    ("port-bad", &["value-invalid"]),
    ("wol-default-plus", &["value-invalid"]),
    ("wol-magic", &[]),
    ("gfm-bit0", &["value-invalid"]),
    ("hash-max-100", &["value-invalid"]),
    ("forward-delay-1", &["value-invalid"]),
    ("ib-no-transport", &["value-invalid"]),
    ("ib-connected", &[]),
    ("mdns-5", &["value-invalid"]),
    ("token-bad", &["value-invalid"]),
    ("token-sp", &["value-invalid"]),
    ("token-ok", &[]),
    ("slave-type-only", &["port-incomplete"]),
    ("master-only", &["port-incomplete"]),
    ("slave-type-unknown", &["value-invalid"]),
    ("slave-type-upper", &["value-invalid"]),
    ("slave-type-alias", &["value-invalid"]),
    ("slave-type-space", &["value-invalid"]),
    ("slave-type-vrf", &[]),
    ("cid-empty", &["value-invalid"]),
    ("iaid-bad", &["value-invalid"]),
    ("iaid-hex", &[]),
    ("dhcp-timeout-negative", &["integer-invalid"]),
    ("bond-no-type-ifname-in-group", &["interface-name-missing"]),
    ("bond-ifname-in-group", &[]),
    ("addr-gen-mode-spaces", &[]),
];

#[test]
fn own_corpus_gives_the_expected_codes() {
    let corpus = own_corpus();
    assert_eq!(corpus.len(), EXPECTED.len(), "every case has an expectation");
    let mut wrong = Vec::new();
    for ((name, text), (want_name, want)) in corpus.iter().zip(EXPECTED) {
        assert_eq!(name, want_name);
        let got: Vec<&str> =
            check_text(text, &CheckOptions::default()).diagnostics.iter().map(|d| d.code.as_str()).collect();
        if got != *want {
            wrong.push(format!("{name}: got {got:?}, want {want:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
