//! nmstate state → keyfiles → state, against NetworkManager 1.42 itself:
//!
//! * rendered profiles load in libnm (`NM.keyfile_read`, then normalize and verify) with no
//!   warning, and the values libnm loads, read back into a state by this test's own mapping,
//!   are the state we rendered;
//! * `nmcli --offline connection modify connection.id <id>` (a no-op change) gives every
//!   rendered file back byte for byte, so the files are exactly what NetworkManager writes;
//! * `to_state(render(s)) == s` on proptest-generated states;
//! * the shapes of nmstate's own examples and of an OpenShift bare-metal NNCP (bond0 802.3ad
//!   over two NICs, a VLAN with static IPv4 and IPv6, default routes, DNS) render to the
//!   expected keyfiles.
//!
//! Needs nmcli (Debian's `network-manager`) and /usr/bin/python3 with python3-gi and
//! gir1.2-nm-1.0; a missing one fails the test.

#![allow(clippy::disallowed_methods)] // Runs nmcli and the libnm peer.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::process::{Command, Stdio};

use bm_nmconn::Document;
use bm_nmconn::diag::Code;
use bm_nmconn::render::{profile_uuid, render, to_state};
use bm_nmconn::state::{
    AddrGenMode, Address, Bond, BondMode, Bridge, BridgeOptions, BridgePort, DnsConfig, DnsResolver, Interface,
    InterfaceState, InterfaceType, Ip, Route, Routes, State, Stp, Vlan, from_json,
};
use ipnet::IpNet;
use serde_json::Value;

const NMCLI: &str = "/usr/bin/nmcli";

fn strip_warnings(mut out: String) -> String {
    while out.starts_with("Warning: ") {
        let end = out.find('\n').map_or(out.len(), |i| i + 1);
        out.drain(..end);
    }
    out
}

/// `nmcli --offline connection modify connection.id ID < text`.
fn nmcli_rewrite(text: &str, id: &str) -> Result<String, String> {
    assert!(
        std::path::Path::new(NMCLI).exists(),
        "{NMCLI} is missing: apt-get install -y network-manager (this test never skips)"
    );
    let mut child = Command::new(NMCLI)
        .args(["--offline", "connection", "modify", "connection.id", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nmcli (apt-get install -y network-manager)");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("nmcli output");
    if out.status.success() {
        Ok(strip_warnings(String::from_utf8(out.stdout).expect("UTF-8")))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// What libnm loads from each text (tests/peers/libnm_profile.py).
fn libnm(texts: &[String]) -> Vec<Value> {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", "import gi; gi.require_version('NM', '1.0'); from gi.repository import NM"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0 (this test never skips)"
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_profile.py");
    let mut child = Command::new("/usr/bin/python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the libnm peer");
    let input = serde_json::to_vec(texts).expect("json");
    child.stdin.take().expect("stdin").write_all(&input).expect("write stdin");
    let out = child.wait_with_output().expect("peer output");
    assert!(out.status.success(), "libnm peer failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("peer JSON")
}

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// libnm's view of a set of profiles, as a state, by this test's own mapping (independent of
/// `to_state`): methods, addresses, routes, DNS, bond options, VLAN, bridge, ports.
fn state_from_libnm(profiles: &[Value]) -> State {
    let mut state = State::default();
    let mut routes = Vec::new();
    let mut servers: [Vec<IpAddr>; 2] = [Vec::new(), Vec::new()];
    let mut search: Vec<String> = Vec::new();
    let mut ports = Vec::new();
    for p in profiles {
        assert_eq!(p["ok"], Value::Bool(true), "libnm refused: {p}");
        assert_eq!(p["warnings"], Value::Array(vec![]), "libnm warned: {p}");
        let name = s(&p["interface_name"]).expect("interface-name");
        assert_eq!(s(&p["id"]).as_deref(), Some(name.as_str()));
        let kind = match p["type"].as_str() {
            Some("802-3-ethernet") => InterfaceType::Ethernet,
            Some("bond") => InterfaceType::Bond,
            Some("vlan") => InterfaceType::Vlan,
            Some("bridge") => InterfaceType::LinuxBridge,
            t => panic!("type {t:?}"),
        };
        assert_eq!(s(&p["uuid"]), Some(profile_uuid(kind, &name)), "nmstate's UUID");
        let controller = matches!(kind, InterfaceType::Bond | InterfaceType::LinuxBridge);
        assert_eq!(p["autoconnect_slaves"].as_i64(), Some(if controller { 1 } else { -1 }), "{name}");
        let mut iface = Interface {
            name: name.clone(),
            kind,
            state: InterfaceState::Up,
            mtu: p["mtu"].as_u64().filter(|m| *m > 0).map(|m| m as u32),
            mac_address: s(&p["cloned_mac"]).map(|m| m.to_uppercase()),
            ipv4: None,
            ipv6: None,
            link_aggregation: None,
            vlan: None,
            bridge: None,
        };
        if let Some(b) = p["bond"].as_object() {
            let mut options: BTreeMap<String, String> =
                b.iter().map(|(k, v)| (k.clone(), s(v).expect("string"))).collect();
            let mode = options.remove("mode").and_then(|m| BondMode::parse(&m)).expect("mode");
            iface.link_aggregation = Some(Bond { mode, options, port: Vec::new() });
        }
        if let Some(v) = p["vlan"].as_object() {
            assert_eq!(v["flags"].as_u64(), Some(1), "reorder-headers");
            iface.vlan =
                Some(Vlan { base_iface: s(&v["parent"]).expect("parent"), id: v["id"].as_u64().expect("id") as u16 });
        }
        if let Some(b) = p["bridge"].as_object() {
            let stp = b["stp"].as_bool().expect("stp");
            iface.bridge = Some(Bridge {
                options: (!stp).then_some(BridgeOptions { stp: Some(Stp { enabled: Some(false) }) }),
                port: Vec::new(),
            });
        }
        if let Some(m) = s(&p["master"]) {
            ports.push((m, s(&p["slave_type"]).expect("slave-type"), name.clone()));
            assert!(p["ipv4"].is_null() && p["ipv6"].is_null(), "a port has no IP settings: {p}");
        } else {
            for (fam, v6) in [("ipv4", false), ("ipv6", true)] {
                let x = &p[fam];
                assert!(x["gateway"].is_null(), "bmnet writes default routes, not gateways");
                let mut ip = Ip::default();
                if v6 {
                    ip.addr_gen_mode = match x["addr_gen_mode"].as_i64() {
                        Some(0) => None,
                        Some(1) => Some(AddrGenMode::StablePrivacy),
                        // default-or-eui64: ipv6 not given at all, written `method=disabled`.
                        Some(2) if x["method"] == "disabled" => None,
                        m => panic!("addr-gen-mode {m:?}"),
                    };
                }
                let method = x["method"].as_str().expect("method");
                let (enabled, dhcp, autoconf) = match (method, v6) {
                    ("disabled", _) => (false, None, None),
                    ("auto", false) => (true, Some(true), None),
                    ("manual", false) => (true, Some(false), None),
                    ("auto", true) => (true, Some(true), Some(true)),
                    ("dhcp", true) => (true, Some(true), Some(false)),
                    ("manual" | "link-local", true) => (true, Some(false), Some(false)),
                    m => panic!("method {m:?}"),
                };
                ip.enabled = Some(enabled);
                ip.dhcp = dhcp;
                ip.autoconf = autoconf;
                // nmstate's DHCP settings on every family with DHCP or autoconf.
                let dynamic = dhcp == Some(true);
                let forever = if dynamic { i64::from(i32::MAX) } else { 0 };
                assert_eq!(x["dhcp_timeout"].as_i64(), Some(forever), "{name} {fam} dhcp-timeout");
                if v6 {
                    assert_eq!(x["ra_timeout"].as_i64(), Some(forever), "{name} ra-timeout");
                    assert_eq!(x["dhcp_duid"].as_str(), dynamic.then_some("ll"), "{name} dhcp-duid");
                    assert_eq!(x["dhcp_iaid"].as_str(), dynamic.then_some("mac"), "{name} dhcp-iaid");
                } else {
                    assert_eq!(x["dhcp_client_id"].as_str(), dynamic.then_some("mac"), "{name} dhcp-client-id");
                }
                for a in x["addresses"].as_array().expect("addresses") {
                    ip.address.push(Address {
                        ip: a[0].as_str().expect("ip").parse().expect("ip"),
                        prefix_length: a[1].as_u64().expect("plen") as u8,
                    });
                }
                let flag = |k: &str| (x[k].as_bool() == Some(true)).then_some(false);
                ip.auto_dns = flag("ignore_auto_dns");
                ip.auto_gateway = flag("never_default");
                ip.auto_routes = flag("ignore_auto_routes");
                for r in x["routes"].as_array().expect("routes") {
                    let dest: IpAddr = r[0].as_str().expect("dest").parse().expect("dest");
                    let attributes: Vec<&str> =
                        r[5].as_array().expect("attrs").iter().filter_map(Value::as_str).collect();
                    assert!(attributes.iter().all(|a| *a == "table"), "attributes {attributes:?}");
                    routes.push(Route {
                        destination: IpNet::new(dest, r[1].as_u64().expect("plen") as u8).expect("net"),
                        next_hop_address: r[2].as_str().map(|n| n.parse().expect("nh")),
                        next_hop_interface: Some(name.clone()),
                        metric: u32::try_from(r[3].as_i64().expect("metric")).ok(),
                        table_id: r[4].as_u64().map(|t| t as u32),
                    });
                }
                let dns: Vec<IpAddr> = x["dns"]
                    .as_array()
                    .expect("dns")
                    .iter()
                    .map(|d| d.as_str().expect("dns").parse().expect("ip"))
                    .collect();
                let domains: Vec<String> = x["dns_search"].as_array().expect("search").iter().filter_map(s).collect();
                let priority = x["dns_priority"].as_i64().expect("priority");
                assert_eq!(priority, if dns.is_empty() && domains.is_empty() { 0 } else { 40 }, "{name} {fam}");
                servers[usize::from(v6)].extend(dns);
                search.extend(domains);
                if v6 {
                    iface.ipv6 = Some(ip);
                } else {
                    iface.ipv4 = Some(ip);
                }
            }
        }
        state.interfaces.push(iface);
    }
    for (controller, kind, port) in ports {
        let c = state.interfaces.iter_mut().find(|i| i.name == controller).expect("controller among the profiles");
        match kind.as_str() {
            "bond" => c.link_aggregation.as_mut().expect("bond").port.push(port),
            "bridge" => c.bridge.as_mut().expect("bridge").port.push(BridgePort { name: port }),
            k => panic!("slave-type {k}"),
        }
    }
    if !routes.is_empty() {
        state.routes = Some(Routes { config: routes });
    }
    let server = servers.concat();
    if !server.is_empty() || !search.is_empty() {
        state.dns_resolver = Some(DnsResolver { config: DnsConfig { server, search } });
    }
    state
}

/// Renders, then checks the files against nmcli (byte for byte) and libnm (values); returns
/// the files.
fn check_against_networkmanager(state: &State, expected_state: &State) -> Vec<(String, String)> {
    let files = render(state).unwrap_or_else(|e| panic!("render: {e}\n{}", state.to_json()));
    for (name, text) in &files {
        let id = name.strip_suffix(".nmconnection").expect("suffix");
        let nm = nmcli_rewrite(text, id).unwrap_or_else(|e| panic!("nmcli refused {name}:\n{text}\n{e}"));
        assert_eq!(&nm, text, "{name}: nmcli --offline modify changed the file");
    }
    let texts: Vec<String> = files.iter().map(|f| f.1.clone()).collect();
    let loaded = state_from_libnm(&libnm(&texts));
    assert_eq!(&loaded, expected_state, "libnm loads another state than\n{}", expected_state.to_json());
    files
}

fn docs(files: &[(String, String)]) -> Vec<Document> {
    files.iter().map(|f| Document::parse(&f.1).expect("parse")).collect()
}

/// An OpenShift bare-metal node as a NodeNetworkConfigurationPolicy: bond0 802.3ad over two
/// NICs with jumbo frames, the machine network on VLAN 100 (static IPv4 and IPv6), default
/// routes, DNS.
const OPENSHIFT_NNCP: &str = r#"{
  "apiVersion": "nmstate.io/v1",
  "kind": "NodeNetworkConfigurationPolicy",
  "metadata": {"name": "master-0-bond"},
  "spec": {
    "nodeSelector": {"kubernetes.io/hostname": "master-0"},
    "desiredState": {
      "interfaces": [
        {"name": "bond0", "type": "bond", "state": "up", "mtu": 9000,
         "link-aggregation": {"mode": "802.3ad",
           "options": {"miimon": "100", "lacp_rate": "fast", "xmit_hash_policy": "layer3+4"},
           "port": ["eno1", "eno2"]},
         "ipv4": {"enabled": false}, "ipv6": {"enabled": false}},
        {"name": "eno1", "type": "ethernet", "state": "up", "mtu": 9000},
        {"name": "eno2", "type": "ethernet", "state": "up", "mtu": 9000},
        {"name": "bond0.100", "type": "vlan", "state": "up", "mtu": 9000,
         "vlan": {"base-iface": "bond0", "id": 100},
         "ipv4": {"enabled": true, "dhcp": false, "address": [{"ip": "192.168.111.20", "prefix-length": 24}]},
         "ipv6": {"enabled": true, "dhcp": false, "autoconf": false,
                  "address": [{"ip": "fd2e:6f44:5dd8::20", "prefix-length": 64}]}}
      ]
    ,
    "routes": {"config": [
      {"destination": "0.0.0.0/0", "next-hop-address": "192.168.111.1", "next-hop-interface": "bond0.100"},
      {"destination": "::/0", "next-hop-address": "fd2e:6f44:5dd8::1", "next-hop-interface": "bond0.100", "metric": 100},
      {"destination": "10.128.0.0/14", "next-hop-address": "192.168.111.254", "table-id": 254}
    ]},
    "dns-resolver": {"config": {"server": ["192.168.111.1", "fd2e:6f44:5dd8::1"], "search": ["ostest.test.metalkube.org"]}}
    }
  }
}"#;

const BOND0: &str = "[connection]
id=bond0
uuid=925b4a95-2de0-5b2d-bcf5-8b684a7e9cb4
type=bond
autoconnect-slaves=1
interface-name=bond0

[ethernet]
mtu=9000

[bond]
lacp_rate=fast
miimon=100
mode=802.3ad
xmit_hash_policy=layer3+4

[ipv4]
method=disabled

[ipv6]
addr-gen-mode=eui64
method=disabled

[proxy]
";

#[test]
fn openshift_nncp_renders_the_expected_keyfiles() {
    let loaded = from_json(OPENSHIFT_NNCP).expect("NNCP");
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let state = loaded.state;
    let files = render(&state).expect("render");
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, ["bond0.nmconnection", "eno1.nmconnection", "eno2.nmconnection", "bond0.100.nmconnection"]);
    assert_eq!(files[0].1, BOND0);
    let eno1 = format!(
        "[connection]\nid=eno1\nuuid={}\ntype=ethernet\ninterface-name=eno1\nmaster=bond0\nslave-type=bond\n\n\
         [ethernet]\nmtu=9000\n\n[bond-port]\n",
        profile_uuid(InterfaceType::Ethernet, "eno1")
    );
    assert_eq!(files[1].1, eno1);
    let vlan = format!(
        "[connection]\nid=bond0.100\nuuid={}\ntype=vlan\ninterface-name=bond0.100\n\n[ethernet]\nmtu=9000\n\n\
         [vlan]\nflags=1\nid=100\nparent=bond0\n\n\
         [ipv4]\naddress1=192.168.111.20/24\ndns=192.168.111.1;\ndns-priority=40\ndns-search=ostest.test.metalkube.org;\n\
         method=manual\nroute1=0.0.0.0/0,192.168.111.1\nroute2=10.128.0.0/14,192.168.111.254\nroute2_options=table=254\n\n\
         [ipv6]\naddr-gen-mode=eui64\naddress1=fd2e:6f44:5dd8::20/64\ndns=fd2e:6f44:5dd8::1;\ndns-priority=40\n\
         method=manual\nroute1=::/0,fd2e:6f44:5dd8::1,100\n\n[proxy]\n",
        profile_uuid(InterfaceType::Vlan, "bond0.100")
    );
    assert_eq!(files[3].1, vlan);
    // The second route found its interface by its next hop; read back, it names it.
    let back = to_state(&docs(&files));
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    let mut expected = state.clone();
    if let Some(r) = expected.routes.as_mut() {
        r.config[2].next_hop_interface = Some("bond0.100".into());
        // Routes come back grouped by interface, IPv4 first.
        r.config.swap(1, 2);
    }
    assert_eq!(back.state, expected);
    check_against_networkmanager(&state, &expected);
}

/// nmstate's examples/bond_linuxbridge_vlan_up.yml shape: eth1+eth2 in bond0 (active-backup,
/// the old `slaves` key), bond0 in br0, vlan29 on bond0 in br29; nothing has IP.
const NMSTATE_BOND_BRIDGE_VLAN: &str = r#"{"interfaces": [
  {"name": "vlan29", "type": "vlan", "state": "up", "vlan": {"base-iface": "bond0", "id": 29}},
  {"name": "br29", "type": "linux-bridge", "state": "up", "bridge": {"port": [{"name": "vlan29"}]}},
  {"name": "br0", "type": "linux-bridge", "state": "up", "bridge": {"port": [{"name": "bond0"}]}},
  {"name": "bond0", "type": "bond", "state": "up", "link-aggregation": {"mode": "active-backup", "slaves": ["eth1", "eth2"]}},
  {"name": "eth1", "type": "ethernet", "state": "up"},
  {"name": "eth2", "type": "ethernet", "state": "up"}
]}"#;

#[test]
fn nmstate_bond_bridge_vlan_example() {
    let state = from_json(NMSTATE_BOND_BRIDGE_VLAN).expect("state").state;
    let files = render(&state).expect("render");
    let by_name: BTreeMap<&str, &str> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    assert_eq!(
        by_name["vlan29.nmconnection"],
        format!(
            "[connection]\nid=vlan29\nuuid={}\ntype=vlan\ninterface-name=vlan29\nmaster=br29\nslave-type=bridge\n\n\
             [ethernet]\n\n[vlan]\nflags=1\nid=29\nparent=bond0\n\n[bridge-port]\n",
            profile_uuid(InterfaceType::Vlan, "vlan29")
        )
    );
    assert_eq!(
        by_name["br0.nmconnection"],
        format!(
            "[connection]\nid=br0\nuuid={}\ntype=bridge\nautoconnect-slaves=1\ninterface-name=br0\n\n[ethernet]\n\n\
             [bridge]\n\n[ipv4]\nmethod=disabled\n\n[ipv6]\nmethod=disabled\n\n[proxy]\n",
            profile_uuid(InterfaceType::LinuxBridge, "br0")
        )
    );
    assert!(by_name["bond0.nmconnection"].contains("master=br0\nslave-type=bridge\n"));
    assert!(by_name["bond0.nmconnection"].contains("[bond]\nmode=active-backup\n\n[bridge-port]\n"));
    assert!(by_name["eth1.nmconnection"].contains("master=bond0\nslave-type=bond\n"));
    // What comes back lists the families of every non-port explicitly.
    let back = to_state(&docs(&files));
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    let disabled = Some(Ip { enabled: Some(false), ..Ip::default() });
    let mut expected = state.clone();
    for i in &mut expected.interfaces {
        if matches!(i.name.as_str(), "br29" | "br0") {
            i.ipv4 = disabled.clone();
            i.ipv6 = disabled.clone();
        }
    }
    assert_eq!(back.state, expected);
    check_against_networkmanager(&state, &expected);
}

#[cfg(feature = "yaml")]
#[test]
fn nmstate_route_example_in_yaml() {
    // nmstate's examples/eth1_add_route.yml.
    let yaml = "---\ninterfaces:\n  - name: eth1\n    type: ethernet\n    state: up\n    ipv4:\n      address:\n      \
                - ip: 192.0.2.251\n        prefix-length: 24\n      dhcp: false\n      enabled: true\n\nroutes:\n  \
                config:\n  - destination: 0.0.0.0/0\n    metric: 150\n    next-hop-address: 192.0.2.1\n    \
                next-hop-interface: eth1\n    table-id: 254\n";
    let state = bm_nmconn::state::from_yaml(yaml).expect("yaml").state;
    let files = render(&state).expect("render");
    assert!(files[0].1.contains(
        "[ipv4]\naddress1=192.0.2.251/24\nmethod=manual\nroute1=0.0.0.0/0,192.0.2.1,150\nroute1_options=table=254\n"
    ));
    let mut expected = state.clone();
    expected.interfaces[0].ipv6 = Some(Ip { enabled: Some(false), ..Ip::default() });
    assert_eq!(to_state(&docs(&files)).state, expected);
    check_against_networkmanager(&state, &expected);
}

#[test]
fn errors_name_the_field() {
    let cases = [
        (r#"{"interfaces": [{"name": "eth0/1", "type": "ethernet"}]}"#, "interfaces[0].name"),
        (r#"{"interfaces": [{"name": "averyveryverylongname", "type": "ethernet"}]}"#, "interfaces[0].name"),
        (
            r#"{"interfaces": [{"name": "a", "type": "ethernet"}, {"name": "a", "type": "ethernet"}]}"#,
            "interfaces[1].name",
        ),
        (
            r#"{"interfaces": [{"name": "v", "type": "vlan", "vlan": {"base-iface": "a", "id": 4095}}]}"#,
            "interfaces[0].vlan.id",
        ),
        (r#"{"interfaces": [{"name": "v", "type": "vlan"}]}"#, "interfaces[0].vlan"),
        (
            r#"{"interfaces": [{"name": "b", "type": "bond", "link-aggregation": {"mode": "active-backup", "options": {"lacp_rate": "fast"}}}]}"#,
            "interfaces[0].link-aggregation.options.lacp_rate",
        ),
        (
            r#"{"interfaces": [{"name": "b", "type": "bond", "link-aggregation": {"mode": "802.3ad", "options": {"miimon": "0100x"}}}]}"#,
            "interfaces[0].link-aggregation.options.miimon",
        ),
        (
            r#"{"interfaces": [{"name": "b", "type": "bond", "link-aggregation": {"mode": "802.3ad", "options": {"bogus": "1"}}}]}"#,
            "interfaces[0].link-aggregation.options.bogus",
        ),
        (
            r#"{"interfaces": [{"name": "b", "type": "bond", "link-aggregation": {"mode": "802.3ad", "port": ["e"]}},
             {"name": "e", "type": "ethernet", "ipv4": {"dhcp": true}}]}"#,
            "interfaces[1].ipv4",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv6": {"address": [{"ip": "10.0.0.2", "prefix-length": 24}]}}]}"#,
            "interfaces[0].ipv6.address[0].ip",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"address": [{"ip": "10.0.0.2", "prefix-length": 33}]}}]}"#,
            "interfaces[0].ipv4.address[0].prefix-length",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv6": {"enabled": true, "autoconf": true}}]}"#,
            "interfaces[0].ipv6.autoconf",
        ),
        (r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"enabled": true}}]}"#, "interfaces[0].ipv4"),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "mac-address": "00:11:22:33:44"}]}"#,
            "interfaces[0].mac-address",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "vlan": {"base-iface": "a", "id": 1}}]}"#,
            "interfaces[0].vlan",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"address": [{"ip": "10.0.0.2", "prefix-length": 24}]}}],
             "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "10.1.0.1"}]}}"#,
            "routes.config[0]",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"address": [{"ip": "10.0.0.2", "prefix-length": 24}]}}],
             "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "fd00::1", "next-hop-interface": "e"}]}}"#,
            "routes.config[0].next-hop-address",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"enabled": false}}],
             "routes": {"config": [{"destination": "0.0.0.0/0", "next-hop-address": "10.0.0.1", "next-hop-interface": "e"}]}}"#,
            "routes.config[0].next-hop-interface",
        ),
        (
            r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"dhcp": true}}],
             "dns-resolver": {"config": {"server": ["10.0.0.53"]}}}"#,
            "dns-resolver.config.server",
        ),
        (
            r#"{"interfaces": [{"name": "b", "type": "bond", "link-aggregation": {"mode": "802.3ad", "port": ["v"]}},
             {"name": "v", "type": "vlan", "vlan": {"base-iface": "eno1", "id": 5}}]}"#,
            "interfaces[0].link-aggregation.port[0]",
        ),
        (
            r#"{"interfaces": [{"name": "v", "type": "vlan", "vlan": {"base-iface": "eno1", "id": 5}},
             {"name": "eno1", "type": "ethernet", "state": "absent"}]}"#,
            "interfaces[0].vlan.base-iface",
        ),
        (r#"{"interfaces": [{"name": "_x", "type": "ethernet"}, {"name": ".x", "type": "ethernet"}]}"#, "interfaces"),
    ];
    for (json, path) in cases {
        let state = from_json(json).unwrap_or_else(|e| panic!("{json}: {e}")).state;
        let err = render(&state).expect_err(json);
        assert_eq!(err.path, path, "{json}: {err}");
        assert!(!err.message.is_empty());
    }
    // auto-dns: false on a DHCP interface is a place for static DNS.
    let ok = r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv4": {"dhcp": true, "auto-dns": false}}],
                 "dns-resolver": {"config": {"server": ["10.0.0.53"], "search": ["x.example"]}}}"#;
    let files = render(&from_json(ok).expect("state").state).expect("render");
    assert!(files[0].1.contains(
        "[ipv4]\ndhcp-client-id=mac\ndhcp-timeout=2147483647\ndns=10.0.0.53;\ndns-priority=40\ndns-search=x.example;\n\
         ignore-auto-dns=true\nmethod=auto\n"
    ));
    let v6 = r#"{"interfaces": [{"name": "e", "type": "ethernet", "ipv6": {"dhcp": true, "autoconf": true}}]}"#;
    let files = render(&from_json(v6).expect("state").state).expect("render");
    assert!(files[0].1.contains(
        "[ipv4]\nmethod=disabled\n\n[ipv6]\naddr-gen-mode=eui64\ndhcp-duid=ll\ndhcp-iaid=mac\ndhcp-timeout=2147483647\n\
         method=auto\nra-timeout=2147483647\n"
    ));
}

/// A small deterministic generator driven by a proptest seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

struct Gen {
    rng: Rng,
    counter: u32,
    eth: u32,
}

impl Gen {
    fn unique(&mut self) -> u32 {
        self.counter += 1;
        self.counter
    }

    fn mac(&mut self) -> Option<String> {
        self.rng.coin().then(|| {
            let b = self.rng.next().to_be_bytes();
            format!("02:{:02X}:{:02X}:{:02X}:{:02X}:{:02X}", b[0], b[1], b[2], b[3], b[4])
        })
    }

    fn mtu(&mut self) -> Option<u32> {
        self.rng.coin().then(|| 1280 + self.rng.below(7800) as u32)
    }

    fn v4(&mut self) -> Address {
        let u = self.unique();
        Address {
            ip: IpAddr::from([10, (u % 250) as u8, (u / 250) as u8, 1 + self.rng.below(250) as u8]),
            prefix_length: 8 + self.rng.below(23) as u8,
        }
    }

    fn v6(&mut self) -> Address {
        let u = self.unique() as u16;
        Address {
            ip: IpAddr::from([0xfd00, u, 0, 0, 0, 0, 0, 1 + self.rng.below(0xfff0) as u16]),
            prefix_length: 48 + self.rng.below(81) as u8,
        }
    }

    fn auto_flags(&mut self, ip: &mut Ip) {
        for f in [&mut ip.auto_dns, &mut ip.auto_gateway, &mut ip.auto_routes] {
            *f = self.rng.coin().then_some(false);
        }
    }

    fn ipv4(&mut self) -> Ip {
        let mut ip = Ip::default();
        match self.rng.below(3) {
            0 => ip.enabled = Some(false),
            1 => {
                (ip.enabled, ip.dhcp) = (Some(true), Some(true));
                ip.address = (0..self.rng.below(2)).map(|_| self.v4()).collect();
                self.auto_flags(&mut ip);
            }
            _ => {
                (ip.enabled, ip.dhcp) = (Some(true), Some(false));
                ip.address = (0..1 + self.rng.below(3)).map(|_| self.v4()).collect();
            }
        }
        ip
    }

    fn ipv6(&mut self) -> Ip {
        let mut ip = Ip { addr_gen_mode: self.rng.coin().then_some(AddrGenMode::StablePrivacy), ..Ip::default() };
        match self.rng.below(5) {
            0 => ip.enabled = Some(false),
            k @ (1 | 2) => {
                (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(true), Some(k == 1));
                ip.address = (0..self.rng.below(2)).map(|_| self.v6()).collect();
                self.auto_flags(&mut ip);
            }
            3 => {
                (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(false), Some(false));
                ip.address = (0..1 + self.rng.below(2)).map(|_| self.v6()).collect();
            }
            _ => (ip.enabled, ip.dhcp, ip.autoconf) = (Some(true), Some(false), Some(false)),
        }
        ip
    }

    fn iface(&mut self, name: String, kind: InterfaceType, port: bool) -> Interface {
        let (ipv4, ipv6) = if port { (None, None) } else { (Some(self.ipv4()), Some(self.ipv6())) };
        Interface {
            name,
            kind,
            state: InterfaceState::Up,
            mtu: self.mtu(),
            mac_address: self.mac(),
            ipv4,
            ipv6,
            link_aggregation: None,
            vlan: None,
            bridge: None,
        }
    }

    fn ports(&mut self, max: u64) -> Vec<Interface> {
        (0..1 + self.rng.below(max))
            .map(|_| {
                self.eth += 1;
                let name = format!("eth{}", self.eth);
                self.iface(name, InterfaceType::Ethernet, true)
            })
            .collect()
    }

    fn route(&mut self, v6: bool, name: &str, default: bool) -> Route {
        let u = self.unique();
        let destination: IpNet = match (v6, default) {
            (false, true) => "0.0.0.0/0".parse().expect("net"),
            (true, true) => "::/0".parse().expect("net"),
            (false, false) => IpNet::new(IpAddr::from([172, 16 + (u % 16) as u8, (u / 16) as u8, 0]), 24).expect("net"),
            (true, false) => IpNet::new(IpAddr::from([0xfd10, u as u16, 0, 0, 0, 0, 0, 0]), 64).expect("net"),
        };
        let next_hop_address = (default || self.rng.coin()).then(|| {
            if v6 {
                IpAddr::from([0xfd99, 0, 0, 0, 0, 0, 0, 1 + self.rng.below(1000) as u16])
            } else {
                IpAddr::from([10, 254, 0, 1 + self.rng.below(250) as u8])
            }
        });
        Route {
            destination,
            next_hop_address,
            next_hop_interface: Some(name.to_string()),
            metric: self.rng.coin().then(|| self.rng.below(2000) as u32),
            table_id: self.rng.coin().then(|| 1 + self.rng.below(252) as u32),
        }
    }
}

/// A state in the form `to_state` writes.
fn gen_state(seed: u64) -> State {
    let mut g = Gen { rng: Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), counter: 0, eth: 0 };
    let mut interfaces: Vec<Interface> = Vec::new();
    let modes = [
        BondMode::BalanceRr,
        BondMode::ActiveBackup,
        BondMode::BalanceXor,
        BondMode::Broadcast,
        BondMode::Lacp,
        BondMode::BalanceTlb,
        BondMode::BalanceAlb,
    ];
    for b in 0..g.rng.below(3) {
        let mut bond = g.iface(format!("bond{b}"), InterfaceType::Bond, false);
        let mode = *g.rng.pick(&modes);
        let mut options = BTreeMap::new();
        if g.rng.coin() {
            options.insert("miimon".to_string(), g.rng.below(1000).to_string());
        }
        if g.rng.coin() {
            let p = *g.rng.pick(&["layer2", "layer3+4", "layer2+3", "encap2+3", "encap3+4"]);
            options.insert("xmit_hash_policy".to_string(), p.to_string());
        }
        if mode == BondMode::Lacp && g.rng.coin() {
            options.insert("lacp_rate".to_string(), g.rng.pick(&["slow", "fast"]).to_string());
        }
        let ports = g.ports(3);
        bond.link_aggregation = Some(Bond { mode, options, port: ports.iter().map(|p| p.name.clone()).collect() });
        interfaces.push(bond);
        interfaces.extend(ports);
    }
    for b in 0..g.rng.below(2) {
        let mut br = g.iface(format!("br{b}"), InterfaceType::LinuxBridge, false);
        let ports = g.ports(2);
        br.bridge = Some(Bridge {
            options: g.rng.coin().then_some(BridgeOptions { stp: Some(Stp { enabled: Some(false) }) }),
            port: ports.iter().map(|p| BridgePort { name: p.name.clone() }).collect(),
        });
        interfaces.push(br);
        interfaces.extend(ports);
    }
    for _ in 0..g.rng.below(3) {
        g.eth += 1;
        let name = format!("eth{}", g.eth);
        interfaces.push(g.iface(name, InterfaceType::Ethernet, false));
    }
    let mut vlan_ids = Vec::new();
    for _ in 0..g.rng.below(3) {
        let id = 1 + g.rng.below(4094) as u16;
        if vlan_ids.contains(&id) {
            continue;
        }
        vlan_ids.push(id);
        let bases: Vec<String> = interfaces
            .iter()
            .filter(|i| i.ipv4.is_some() && i.kind != InterfaceType::Vlan)
            .map(|i| i.name.clone())
            .chain(["eno9".to_string()])
            .collect();
        let base_iface = g.rng.pick(&bases).clone();
        let mut vlan = g.iface(format!("vlan{id}"), InterfaceType::Vlan, false);
        vlan.vlan = Some(Vlan { base_iface, id });
        interfaces.push(vlan);
    }
    // Routes on interfaces that can carry them, grouped by interface, IPv4 first.
    let mut routes = Vec::new();
    let mut default_route = [false, false];
    for i in &interfaces {
        for (v6, ip) in [(false, &i.ipv4), (true, &i.ipv6)] {
            let Some(ip) = ip else { continue };
            let carries = ip.enabled == Some(true) && (ip.dhcp == Some(true) || !ip.address.is_empty());
            if !carries {
                continue;
            }
            for _ in 0..g.rng.below(3) {
                let default = !default_route[usize::from(v6)] && g.rng.coin();
                default_route[usize::from(v6)] |= default;
                routes.push(g.route(v6, &i.name, default));
            }
        }
    }
    let mut server = Vec::new();
    if default_route[0] {
        server.extend((0..g.rng.below(3)).map(|k| IpAddr::from([10, 253, 0, 1 + k as u8])));
    }
    if default_route[1] {
        server.extend((0..g.rng.below(3)).map(|k| IpAddr::from([0xfd53, 0, 0, 0, 0, 0, 0, 1 + k as u16])));
    }
    let search: Vec<String> =
        if server.is_empty() { Vec::new() } else { (0..g.rng.below(3)).map(|k| format!("s{k}.example.com")).collect() };
    State {
        interfaces,
        routes: (!routes.is_empty()).then_some(Routes { config: routes }),
        dns_resolver: (!server.is_empty() || !search.is_empty())
            .then_some(DnsResolver { config: DnsConfig { server, search } }),
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// state → keyfiles → state is the identity.
    #[test]
    fn state_keyfiles_state_round_trip(seed: u64) {
        let state = gen_state(seed);
        let files = render(&state).map_err(|e| proptest::test_runner::TestCaseError::fail(format!("{e}\n{}", state.to_json())))?;
        let back = to_state(&docs(&files));
        proptest::prop_assert!(back.warnings.is_empty(), "{:?}", back.warnings);
        proptest::prop_assert_eq!(back.state, state);
    }
}

/// Generated states against NetworkManager: libnm loads the same values, nmcli writes the same
/// bytes.
#[test]
fn generated_states_load_in_libnm_and_nmcli_writes_them_back() {
    let mut files_checked = 0;
    for seed in 0..40u64 {
        let state = gen_state(seed * 7919 + 3);
        files_checked += check_against_networkmanager(&state, &state).len();
    }
    assert!(files_checked > 60, "{files_checked}");
    eprintln!("{files_checked} rendered profiles: libnm loads the state, nmcli --offline writes them back unchanged");
}

/// `nmcli --offline connection add ARGS`: the keyfile it prints.
fn nmcli_add(args: &[&str]) -> String {
    assert!(
        std::path::Path::new(NMCLI).exists(),
        "{NMCLI} is missing: apt-get install -y network-manager (this test never skips)"
    );
    let out = Command::new(NMCLI)
        .args(["--offline", "connection", "add"])
        .args(args)
        .output()
        .expect("run nmcli (apt-get install -y network-manager)");
    assert!(out.status.success(), "nmcli add {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    strip_warnings(String::from_utf8(out.stdout).expect("UTF-8"))
}

/// Profiles NetworkManager itself wrote (an OpenShift node's bond, ports and VLAN, made with
/// nmcli) read into the state they describe; the one thing nmstate cannot say (nmcli's
/// `addr-gen-mode=default`) is a warning, and the gateway becomes a default route.
#[test]
fn nmcli_profiles_to_state() {
    let texts = [
        nmcli_add(&[
            "type",
            "bond",
            "con-name",
            "bond0",
            "ifname",
            "bond0",
            "bond.options",
            "mode=802.3ad,miimon=100",
            "802-3-ethernet.mtu",
            "9000",
            "ipv4.method",
            "disabled",
            "ipv6.method",
            "disabled",
        ]),
        nmcli_add(&["type", "ethernet", "con-name", "eno1", "ifname", "eno1", "master", "bond0", "slave-type", "bond"]),
        nmcli_add(&["type", "ethernet", "con-name", "eno2", "ifname", "eno2", "master", "bond0", "slave-type", "bond"]),
        nmcli_add(&[
            "type",
            "vlan",
            "con-name",
            "bond0.100",
            "ifname",
            "bond0.100",
            "vlan.parent",
            "bond0",
            "vlan.id",
            "100",
            "ipv4.method",
            "manual",
            "ipv4.addresses",
            "192.168.111.20/24",
            "ipv4.gateway",
            "192.168.111.1",
            "ipv4.dns",
            "192.168.111.1",
            "ipv4.dns-search",
            "ostest.example.com",
            "ipv6.method",
            "manual",
            "ipv6.addresses",
            "fd2e:6f44:5dd8::20/64",
            "ipv6.gateway",
            "fd2e:6f44:5dd8::1",
        ]),
    ];
    let back = to_state(&docs(&texts.iter().map(|t| (String::new(), t.clone())).collect::<Vec<_>>()));
    assert_eq!(back.warnings.len(), 1, "{:?}", back.warnings);
    let (file, warning) = &back.warnings[0];
    assert_eq!((*file, warning.code), (3, Code::StateKeyLeftOut), "bond0.100's: {warning:?}");
    assert!(warning.message.starts_with("ipv6.addr-gen-mode default"), "{warning:?}");
    assert_eq!((warning.group.as_deref(), warning.key.as_deref()), (Some("ipv6"), Some("addr-gen-mode")));
    assert!(warning.line > 0 && warning.column > 0, "points at the value: {warning:?}");
    let expected = from_json(
        r#"{"interfaces": [
          {"name": "bond0", "type": "bond", "mtu": 9000,
           "link-aggregation": {"mode": "802.3ad", "options": {"miimon": "100"}, "port": ["eno1", "eno2"]},
           "ipv4": {"enabled": false}, "ipv6": {"enabled": false}},
          {"name": "eno1", "type": "ethernet"},
          {"name": "eno2", "type": "ethernet"},
          {"name": "bond0.100", "type": "vlan", "vlan": {"base-iface": "bond0", "id": 100},
           "ipv4": {"enabled": true, "dhcp": false, "address": [{"ip": "192.168.111.20", "prefix-length": 24}]},
           "ipv6": {"enabled": true, "dhcp": false, "autoconf": false,
                    "address": [{"ip": "fd2e:6f44:5dd8::20", "prefix-length": 64}]}}],
         "routes": {"config": [
           {"destination": "0.0.0.0/0", "next-hop-address": "192.168.111.1", "next-hop-interface": "bond0.100"},
           {"destination": "::/0", "next-hop-address": "fd2e:6f44:5dd8::1", "next-hop-interface": "bond0.100"}]},
         "dns-resolver": {"config": {"server": ["192.168.111.1"], "search": ["ostest.example.com"]}}}"#,
    )
    .expect("expected state")
    .state;
    assert_eq!(back.state, expected);
    // Rendered again, it loads in NetworkManager as the same state.
    check_against_networkmanager(&back.state, &expected);
    // A second profile for the same interface is reported, not merged.
    let twice = [texts[1].clone(), texts[1].replace("id=eno1", "id=eno1-copy")];
    let back = to_state(&docs(&twice.iter().map(|t| (String::new(), t.clone())).collect::<Vec<_>>()));
    assert_eq!(back.state.interfaces.len(), 1);
    assert!(
        back.warnings.iter().any(|(file, w)| *file == 1
            && w.code == Code::StateInterfaceDuplicate
            && w.message.starts_with("another profile for eno1 (eno1)")),
        "{:?}",
        back.warnings
    );
}
