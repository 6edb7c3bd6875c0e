//! `profile::Profile` against libnm 1.42's keyfile reader, property by property: for every
//! file of a corpus (profiles written here for each typed setting, with wrong values of every
//! kind, plus the research probe files and NetworkManager's own test keyfiles from
//! `../shared/data`, read in place), every modelled property has the value libnm loads.
//!
//! Needs /usr/bin/python3 with python3-gi and gir1.2-nm-1.0.

#![allow(clippy::disallowed_methods)] // Runs the libnm peer and reads the shared corpus.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use bm_nmconn::Document;
use bm_nmconn::profile::{IpConfig, Profile};
use serde_json::{Map, Value, json};

const C: &str = "[connection]\nid=p\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\n";

fn corpus() -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, text: String| v.push((name.to_string(), text));
    add(
        "ethernet",
        format!(
            "{C}type=ethernet\ninterface-name=eno1\nautoconnect=false\nautoconnect-priority=-5\nautoconnect-retries=3\nzone=trusted\nstable-id=x\nmulti-connect=2\n[ethernet]\nmtu=9000\nmac-address=52:54:00:aa:bb:cc\ncloned-mac-address=stable\nspeed=1000\nduplex=full\nauto-negotiate=true\nwake-on-lan=64\n"
        ),
    );
    add(
        "ethernet-bad",
        format!(
            "{C}type=ethernet\nautoconnect=yes\nautoconnect-priority=high\n[ethernet]\nmtu=01500\nmac-address=001122334455\ncloned-mac-address=sometimes\nspeed=0x3e8\nwake-on-lan=nope\n"
        ),
    );
    add("alias-both", format!("{C}type=ethernet\n[802-3-ethernet]\nmtu=9000\n[ethernet]\nmtu=1500\n"));
    // Booleans with trailing whitespace, a group written twice (the later value wins), one that
    // is no boolean (the `keyfile_roundtrip` fuzz target's finding: a form feed after `true`
    // loads as `true`), and integers: adaptive coalescing is one, not a boolean.
    add(
        "ethtool-options",
        format!(
            "{C}type=ethernet\n[ethtool]\nfeature-rx=false\nfeature-tx=false \t\npause-autoneg=1\x0c\nfeature-gro=yes\n\
             [ethtool]\nfeature-rx=true\x0c\x0c\ncoalesce-adaptive-rx=1\ncoalesce-adaptive-tx=true\nring-rx=512\n"
        ),
    );
    add(
        "bond",
        format!(
            "{C}type=bond\ninterface-name=bond0\n[bond]\nmode=4\nmiimon=100\nlacp_rate=fast\nxmit_hash_policy=layer3+4\nbogus=1\nupdelay=fast\n"
        ),
    );
    add("bond-lacp", format!("{C}type=bond\ninterface-name=bond0\n[bond]\nmode=lacp\n"));
    // No mode kept (none written, or one NetworkManager drops): its default beside the other
    // options.
    add("bond-no-mode", format!("{C}type=bond\ninterface-name=bond0\n[bond]\nmiimon=100\nupdelay=200\n"));
    add("bond-mode-dropped", format!("{C}type=bond\ninterface-name=bond0\n[bond]\nmiimon=100\nmode=lacp\n"));
    add(
        "port",
        format!("{C}type=ethernet\ninterface-name=eno1\nmaster=bond0\nslave-type=bond\n[ethernet]\n[bond-port]\n"),
    );
    add(
        "vlan",
        format!("{C}type=vlan\n[vlan]\nid=0100\nparent=bond0\nflags=3\nprotocol=802.1ad\ninterface-name=bond0.64\n"),
    );
    add("vlan-bad", format!("{C}type=vlan\n[vlan]\nid=x\nflags=\n"));
    add(
        "bridge",
        format!(
            "{C}type=bridge\ninterface-name=br-ex\n[bridge]\nstp=false\npriority=4096\nforward-delay=4\nhello-time=1\nmax-age=6\nageing-time=30\nmulticast-snooping=false\nvlan-filtering=true\nvlan-default-pvid=10\nmac-address=52:54:00:00:00:01\n"
        ),
    );
    add("bridge-bad", format!("{C}type=bridge\ninterface-name=br0\n[bridge]\nstp=no\npriority=0x10\n"));
    add(
        "bridge-port",
        format!(
            "{C}type=ethernet\nmaster=br0\nslave-type=bridge\n[ethernet]\n[bridge-port]\npriority=16\npath-cost=5\nhairpin-mode=true\n"
        ),
    );
    add(
        "infiniband",
        format!("{C}type=infiniband\n[infiniband]\nmtu=65520\ntransport-mode=connected\np-key=0x8001\nparent=ib0\n"),
    );
    add(
        "ip",
        format!(
            "{C}type=ethernet\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\naddress2=10.0.1.5\nroute1=10.9.0.0/16,10.0.0.254,50\ndns=10.0.0.53;bogus;\ndns-search=a.example.com;b.example.com;\ndns-options=rotate;timeout:1;\ndns-priority=-10\nmay-fail=false\nnever-default=true\nignore-auto-dns=true\nignore-auto-routes=1\nroute-metric=100\nroute-table=254\ndhcp-hostname=node0\ndhcp-timeout=2147483647\n[ipv6]\nmethod=manual\naddress1=fd00::5/64\ngateway=fd00::1\naddr-gen-mode=stable-privacy\ntoken=::5\n"
        ),
    );
    add(
        "ip-bad",
        format!(
            "{C}type=ethernet\n[ipv4]\nmethod=auto\nmay-fail=yes\nroute-metric=x\ndns-priority=1.5\ndhcp-timeout=-1\n[ipv6]\nmethod=auto\naddr-gen-mode=random\n"
        ),
    );
    add("ip6-token", format!("{C}type=ethernet\n[ipv6]\nmethod=auto\ntoken=::1\n"));
    // Gateways as NetworkManager keeps them: a valid one in inet_ntop's form, an invalid one as
    // written (the fuzzer's `fD01::1`).
    add(
        "gateway-forms",
        format!(
            "{C}type=ethernet\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\ngateway=010.0.0.1\n[ipv6]\nmethod=manual\naddress1=fd00::5/64\ngateway=FD00:0::1\n"
        ),
    );
    add(
        "address-gateway-forms",
        format!(
            "{C}type=ethernet\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24,10.0.0.1\n[ipv6]\nmethod=manual\naddress1=fd00::5/64,::0102:0304\n"
        ),
    );
    // Empty values are empty strings (not unset), an empty token still means eui64.
    add(
        "empty-values",
        "[connection]\nid=\nuuid=\ntype=ethernet\ninterface-name=\nzone=\n[ethernet]\nduplex=\nport=\n\
         [ipv4]\nmethod=\ndhcp-hostname=\ngateway=\ndhcp-iaid=\ndhcp-client-id=\n[ipv6]\nmethod=auto\ntoken=\n"
            .to_string(),
    );
    // The interface name in the type's own group (the deprecated place), any type; the setting's
    // own group name before its alias; none without a type.
    add("ifname-bridge", format!("{C}type=bridge\n[bridge]\ninterface-name=br0\nstp=false\n"));
    add("ifname-bond", format!("{C}type=bond\n[bond]\ninterface-name=bond9\nmode=1\n"));
    add("ifname-empty", format!("{C}type=vlan\n[vlan]\ninterface-name=\nid=3\nparent=eth0\n"));
    add(
        "ifname-aliases",
        format!("{C}type=ethernet\n[ethernet]\ninterface-name=x\n[802-3-ethernet]\ninterface-name=y\n"),
    );
    add("ifname-no-type", format!("{C}[bridge]\ninterface-name=br0\n"));
    // Other bits than the four flags: GObject refuses them, the default stays.
    add("vlan-flags-bad", format!("{C}type=vlan\n[vlan]\nid=5\nflags=17\nparent=eth0\n"));
    // Names read trimmed.
    add("ip6-mode-spaces", format!("{C}type=ethernet\n[ipv6]\nmethod=auto\naddr-gen-mode=\\sstable-privacy \n"));
    add(
        "dhcp-and-dns-modes",
        format!(
            "{C}type=ethernet\nmdns=2\nllmnr=0\ndns-over-tls=1\n[ethernet]\nport=tp\n[bridge]\ngroup-forward-mask=8\n\
             multicast-hash-max=512\n[ipv4]\nmethod=auto\ndhcp-iaid=mac\ndhcp-client-id=duid\n[ipv6]\nmethod=auto\n\
             dhcp-iaid=stable\ndhcp-duid=ll\nra-timeout=30\n"
        ),
    );
    // Route attributes: the known ones kept, unknown ones ignored, all dropped when one fails.
    add(
        "route-attributes",
        format!(
            "{C}type=ethernet\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\nroute1=10.1.0.0/16,10.0.0.1\n\
             route1_options=table=5,onlink=true,bogus=1\nroute2=10.2.0.0/16\nroute2_options=mtu=abc,table=7\n\
             route3=10.3.0.0/16\nroute3_options=type=blackhole,lock-mtu=1\n"
        ),
    );
    add("ip6-numeric", format!("{C}type=ethernet\n[ipv6]\nmethod=auto\naddr-gen-mode=1\n"));
    add(
        "proxy-match-user",
        format!(
            "{C}type=ethernet\n[proxy]\nmethod=1\npac-url=http://wpad/wpad.dat\n[match]\ninterface-name=eno*;!eno9;\ndriver=mlx5_core;\n[user]\norg.example.a=1\nbmnet.role=master\n"
        ),
    );
    v
}

fn shared() -> Vec<(String, String)> {
    let base = std::env::var_os("BMNET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data")));
    let mut out = Vec::new();
    for dir in ["nm-probe-cases", "nm-keyfiles"] {
        let Ok(entries) = std::fs::read_dir(base.join(dir)) else {
            eprintln!(
                "\n*** SKIPPED the shared corpus {}: not found (set BMNET_SHARED_DATA). ***\n",
                base.join(dir).display()
            );
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if name.ends_with(".md") || name.ends_with(".expected") || name.ends_with(".yaml") {
                continue;
            }
            if let Ok(t) = String::from_utf8(std::fs::read(&p).unwrap()) {
                out.push((format!("{dir}/{name}"), t));
            }
        }
    }
    out
}

fn libnm(texts: &[&str]) -> Vec<Value> {
    let mut child = Command::new("/usr/bin/python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/libnm_settings.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 is missing: apt-get install -y python3 python3-gi gir1.2-nm-1.0");
    child.stdin.take().unwrap().write_all(json!(texts).to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "libnm through python3-gi is missing: apt-get install -y python3-gi gir1.2-nm-1.0");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn mac(m: Option<[u8; 6]>) -> Value {
    m.map_or(Value::Null, |b| json!(b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":")))
}

fn ip(c: &IpConfig, ipv6: bool) -> Value {
    let mut v = json!({
        "method": c.method, "gateway": c.gateway, "dns-search": c.dns_search, "dns-options": c.dns_options,
        "dns-priority": c.dns_priority, "may-fail": c.may_fail, "never-default": c.never_default,
        "ignore-auto-dns": c.ignore_auto_dns, "ignore-auto-routes": c.ignore_auto_routes,
        "route-metric": c.route_metric, "route-table": c.route_table, "dhcp-hostname": c.dhcp_hostname,
        "dhcp-timeout": c.dhcp_timeout,
        "addresses": c.addresses.iter().map(|(a, p)| json!([a.to_string(), p])).collect::<Vec<_>>(),
        "dhcp-iaid": c.dhcp_iaid,
        "routes": c.routes.iter().map(|r| json!([
            r.dest.to_string(), r.plen, r.next_hop.map(|h| h.to_string()), r.metric,
            r.attributes.keys().collect::<Vec<_>>(),
            r.attributes.get("table").map(|t| t.parse::<u32>().unwrap()),
        ])).collect::<Vec<_>>(),
        "dns": c.dns.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    if ipv6 {
        v["addr-gen-mode"] = json!(c.addr_gen_mode);
        v["token"] = json!(c.token);
        v["dhcp-duid"] = json!(c.dhcp_duid);
        v["ra-timeout"] = json!(c.ra_timeout);
    } else {
        v["dhcp-client-id"] = json!(c.dhcp_client_id);
    }
    v
}

/// Our profile in the peer's shape.
fn ours(p: &Profile) -> Map<String, Value> {
    let c = &p.connection;
    let mut m = Map::new();
    m.insert(
        "connection".into(),
        json!({ "id": c.id, "uuid": c.uuid, "type": c.kind, "interface-name": c.interface_name,
                "autoconnect": c.autoconnect, "autoconnect-priority": c.autoconnect_priority,
                "autoconnect-retries": c.autoconnect_retries, "master": c.master, "slave-type": c.slave_type,
                "zone": c.zone, "stable-id": c.stable_id, "multi-connect": c.multi_connect, "mdns": c.mdns,
                "llmnr": c.llmnr, "dns-over-tls": c.dns_over_tls }),
    );
    if let Some(e) = &p.ethernet {
        m.insert(
            "802-3-ethernet".into(),
            json!({ "mtu": e.mtu, "mac-address": mac(e.mac_address),
            "cloned-mac-address": e.cloned_mac_address, "speed": e.speed, "duplex": e.duplex,
            "auto-negotiate": e.auto_negotiate, "wake-on-lan": e.wake_on_lan, "port": e.port }),
        );
    }
    if let Some(b) = &p.bond {
        m.insert("bond".into(), json!({ "options": b.options }));
    }
    if let Some(v) = &p.vlan {
        m.insert("vlan".into(), json!({ "id": v.id, "parent": v.parent, "flags": v.flags, "protocol": v.protocol }));
    }
    if let Some(b) = &p.bridge {
        m.insert(
            "bridge".into(),
            json!({ "stp": b.stp, "priority": b.priority, "forward-delay": b.forward_delay,
            "hello-time": b.hello_time, "max-age": b.max_age, "ageing-time": b.ageing_time,
            "multicast-snooping": b.multicast_snooping, "vlan-filtering": b.vlan_filtering,
            "vlan-default-pvid": b.vlan_default_pvid, "mac-address": mac(b.mac_address),
            "group-forward-mask": b.group_forward_mask, "multicast-hash-max": b.multicast_hash_max }),
        );
    }
    if let Some(b) = &p.bridge_port {
        m.insert(
            "bridge-port".into(),
            json!({ "priority": b.priority, "path-cost": b.path_cost, "hairpin-mode": b.hairpin_mode }),
        );
    }
    if let Some(i) = &p.infiniband {
        m.insert(
            "infiniband".into(),
            json!({ "mtu": i.mtu, "transport-mode": i.transport_mode, "p-key": i.p_key, "parent": i.parent }),
        );
    }
    if let Some(c) = &p.ipv4 {
        m.insert("ipv4".into(), ip(c, false));
    }
    if let Some(c) = &p.ipv6 {
        m.insert("ipv6".into(), ip(c, true));
    }
    if let Some(x) = &p.proxy {
        m.insert("proxy".into(), json!({ "method": x.method, "pac-url": x.pac_url }));
    }
    if let Some(x) = &p.match_ {
        m.insert(
            "match".into(),
            json!({ "interface-name": x.interface_name, "driver": x.driver, "path": x.path,
            "kernel-command-line": x.kernel_command_line }),
        );
    }
    if !p.user.is_empty() {
        m.insert("user".into(), json!({ "data": p.user }));
    }
    // The ethtool options NetworkManager loads: booleans (features and pause) that read as
    // `true` or `false`, and integers written in decimal (it warns about the rest and drops
    // them).
    let boolean = |k: &str| k.starts_with("feature-") || k.starts_with("pause-");
    let booleans: Map<String, Value> = p
        .ethtool
        .iter()
        .filter(|(k, _)| boolean(k))
        .filter_map(|(k, v)| match v.as_str() {
            "true" => Some((k.clone(), json!(true))),
            "false" => Some((k.clone(), json!(false))),
            _ => None,
        })
        .collect();
    let integers: Map<String, Value> = p
        .ethtool
        .iter()
        .filter(|(k, v)| !boolean(k) && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|(k, v)| Some((k.clone(), json!(v.parse::<u32>().ok()?))))
        .collect();
    if !booleans.is_empty() || !integers.is_empty() {
        m.insert("ethtool".into(), json!({ "booleans": booleans, "integers": integers }));
    }
    m
}

#[test]
fn profiles_load_as_libnm_loads_them() {
    let mut corpus = corpus();
    let own = corpus.len();
    corpus.extend(shared());
    let texts: Vec<&str> = corpus.iter().map(|(_, t)| t.as_str()).collect();
    let theirs = libnm(&texts);
    let mut problems = Vec::new();
    let mut compared = 0;
    for ((name, text), nm) in corpus.iter().zip(&theirs) {
        let Ok(doc) = Document::parse(text) else {
            assert!(nm.get("error").is_some(), "{name}: we refuse, libnm loads");
            continue;
        };
        if nm.get("error").is_some() {
            problems.push(format!("{name}: libnm refuses ({}), we parse", nm["error"]));
            continue;
        }
        let mine = ours(&Profile::read(&doc));
        for (setting, props) in &mine {
            let Some(theirs) = nm.get(setting) else {
                // libnm creates the setting only when the group has a key it knows, or it is
                // the base type's: an empty [user] or [match] is no setting of its own.
                if setting != "connection" {
                    problems.push(format!("{name}: we read [{setting}], libnm has no such setting"));
                }
                continue;
            };
            for (prop, value) in props.as_object().unwrap() {
                compared += 1;
                if theirs.get(prop) != Some(value) {
                    problems.push(format!(
                        "{name}: {setting}.{prop}: ours {value}, libnm {}",
                        theirs.get(prop).unwrap_or(&Value::Null)
                    ));
                }
            }
        }
        for setting in nm.as_object().unwrap().keys() {
            if !mine.contains_key(setting) {
                problems.push(format!("{name}: libnm has [{setting}], we do not read it"));
            }
        }
    }
    eprintln!("{} files ({own} written here), {compared} property values compared", corpus.len());
    assert!(problems.is_empty(), "{} differences from libnm:\n{}", problems.len(), problems.join("\n"));
}
