//! The `bmnet bgp run` configuration file: YAML (or JSON) or TOML, in the shape of OpenShift's
//! proposed `bgpVIPConfig` (`localASN`, `peers[].peerAddress`, `peerASN`, `password`,
//! `bfdEnabled`, `ebgpMultiHop`, `holdTime`, `keepaliveTime`, `port`, `communities`), so that
//! one maps onto the other, plus what a node needs beyond it: its router ID, the VIPs and
//! their checks.
//!
//! ```yaml
//! localASN: 64601
//! routerID: 10.0.0.11
//! peers:
//!   - peerAddress: 10.0.0.1
//!     peerASN: 64512
//!     bfdEnabled: "true"
//!     holdTime: 9s
//! communities: ["64512:100"]
//! checks:
//!   - name: haproxy
//!     script: /usr/bin/curl -fsS http://127.0.0.1:1936/healthz
//!     interval: 2s
//!     fall: 2
//! vips:
//!   - address: 192.0.2.10
//!     checks: [haproxy]
//! ```
//!
//! Every refusal names its place: the file's line and column for what does not parse, the
//! field's path (`peers[1].holdTime`) for a value that parses and is wrong.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bm_bgp::bfd::BfdConfig;
use bm_bgp::message::{Community, LargeCommunity};
use bm_bgp::{Config, Family, MAX_PEERS, PeerConfig, VipConfig, Vips};
use bm_check::process::{CheckScript, ScriptPolicy};
use bm_check::{CheckConfig, ScriptUser};
use ipnet::IpNet;
use serde::Deserialize;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    #[serde(rename = "localASN")]
    local_asn: u32,
    #[serde(rename = "routerID")]
    router_id: Ipv4Addr,
    peers: Vec<PeerFile>,
    /// On every VIP's route.
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    large_communities: Vec<String>,
    #[serde(default)]
    checks: Vec<CheckFile>,
    vips: Vec<VipFile>,
    /// Where VIPs go while announced: `lo` by default; `""` leaves addresses alone.
    #[serde(default)]
    vip_interface: Option<String>,
    /// keepalived's `script_user`.
    #[serde(default)]
    script_user: Option<String>,
    /// keepalived's `enable_script_security`.
    #[serde(default)]
    enable_script_security: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PeerFile {
    peer_address: IpAddr,
    #[serde(rename = "peerASN")]
    peer_asn: u32,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    password: Option<String>,
    /// A file holding the password (its trailing newline dropped), instead of `password`.
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    bfd_enabled: Option<Flag>,
    /// BFD timers: `bfdReceiveInterval` and `bfdTransmitInterval` (300ms), `bfdMultiplier` (3).
    #[serde(default)]
    bfd_receive_interval: Option<Seconds>,
    #[serde(default)]
    bfd_transmit_interval: Option<Seconds>,
    #[serde(default)]
    bfd_multiplier: Option<u8>,
    /// TTL 255 on eBGP (FRR's `ebgp-multihop`); `ttl` sets another.
    #[serde(default)]
    ebgp_multi_hop: Option<Flag>,
    #[serde(default)]
    ttl: Option<u8>,
    #[serde(default)]
    ttl_security_hops: Option<u8>,
    #[serde(default)]
    hold_time: Option<Seconds>,
    #[serde(default)]
    keepalive_time: Option<Seconds>,
    #[serde(default)]
    connect_retry: Option<Seconds>,
    #[serde(default)]
    local_address: Option<IpAddr>,
    #[serde(default, rename = "nextHopIPv4")]
    next_hop_v4: Option<Ipv4Addr>,
    #[serde(default, rename = "nextHopIPv6")]
    next_hop_v6: Option<Ipv6Addr>,
    #[serde(default)]
    local_pref: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckFile {
    name: String,
    /// The command, split into words as keepalived splits a script (no shell).
    script: String,
    #[serde(default)]
    interval: Option<Seconds>,
    #[serde(default)]
    timeout: Option<Seconds>,
    #[serde(default)]
    rise: Option<u32>,
    #[serde(default)]
    fall: Option<u32>,
    #[serde(default)]
    user: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VipFile {
    address: String,
    #[serde(default)]
    checks: Vec<CheckRef>,
    #[serde(default)]
    med: Option<u32>,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    large_communities: Vec<String>,
}

/// A VIP's check: its name (weight 0: it gates the VIP), or the name with a weight.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CheckRef {
    Name(String),
    Weighted {
        name: String,
        #[serde(default)]
        weight: i32,
        #[serde(default)]
        reverse: bool,
    },
}

/// `true`, `false`, or OpenShift's strings `"true"`/`"false"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Flag {
    Bool(bool),
    Text(String),
}

/// Seconds: a number, or a string with a unit (`90s`, `300ms`, `1.5s`, `2m`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(f64),
    Text(String),
}

/// What `bmnet bgp run` runs.
#[derive(Debug)]
pub(crate) struct BgpSetup {
    pub(crate) peers: Vec<PeerConfig>,
    pub(crate) vips: Vec<VipConfig>,
    pub(crate) scripts: Vec<CheckScript>,
    pub(crate) policy: ScriptPolicy,
    pub(crate) vip_interface: Option<String>,
}

/// Reads `path`: `.toml` as TOML, anything else as YAML (JSON is YAML).
#[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
pub(crate) fn load(path: &Path) -> Result<BgpSetup, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, path)
}

/// Parses a file's text (its name says which syntax and names its places).
pub(crate) fn parse(text: &str, path: &Path) -> Result<BgpSetup, String> {
    let name = path.display();
    let file: File = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(text).map_err(|e| match e.span() {
            Some(span) => {
                let (line, column) = line_column(text, span.start);
                format!("{name}:{line}:{column}: {}", e.message())
            }
            None => format!("{name}: {}", e.message()),
        })?
    } else {
        // Before libyaml, whose scan takes time quadratic in this depth.
        bm_nmconn::yaml_depth::check_flow_depth(text).map_err(|e| format!("{name}:{}:{}: {e}", e.line, e.column))?;
        serde_yaml_ng::from_str(text).map_err(|e| match e.location() {
            Some(l) => format!("{name}:{}:{}: {e}", l.line(), l.column()),
            None => format!("{name}: {e}"),
        })?
    };
    file.setup().map_err(|e| format!("{name}: {e}"))
}

/// 1-based line and column (in characters) of byte `at`.
fn line_column(text: &str, at: usize) -> (usize, usize) {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

impl Flag {
    fn get(&self, field: &str) -> Result<bool, String> {
        match self {
            Flag::Bool(b) => Ok(*b),
            Flag::Text(t) if t == "true" => Ok(true),
            Flag::Text(t) if t == "false" => Ok(false),
            Flag::Text(t) => Err(format!("{field}: {t:?} is not true or false")),
        }
    }
}

impl Seconds {
    fn get(&self, field: &str) -> Result<Duration, String> {
        let bad = || format!("{field}: expected seconds (90, \"90s\", \"300ms\", \"2m\")");
        let secs = match self {
            Seconds::Number(n) => *n,
            Seconds::Text(t) => {
                let t = t.trim();
                let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
                    (n, 0.001)
                } else if let Some(n) = t.strip_suffix('s') {
                    (n, 1.0)
                } else if let Some(n) = t.strip_suffix('m') {
                    (n, 60.0)
                } else {
                    (t, 1.0)
                };
                number.trim().parse::<f64>().map_err(|_| bad())? * scale
            }
        };
        // A microsecond is the finest any timer here takes; a day the longest that makes sense.
        if !(0.0..=86_400.0).contains(&secs) {
            return Err(bad());
        }
        Ok(Duration::from_micros((secs * 1e6).round() as u64))
    }
}

fn communities(list: &[String], field: &str) -> Result<Vec<Community>, String> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let bad = || format!("{field}[{i}]: {c:?} is not a community (ASN:VALUE, each 0-65535)");
            let (a, v) = c.split_once(':').ok_or_else(bad)?;
            Ok(Community::new(a.parse().map_err(|_| bad())?, v.parse().map_err(|_| bad())?))
        })
        .collect()
}

fn large_communities(list: &[String], field: &str) -> Result<Vec<LargeCommunity>, String> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let bad = || format!("{field}[{i}]: {c:?} is not a large community (GLOBAL:LOCAL1:LOCAL2)");
            let parts: Vec<&str> = c.split(':').collect();
            let [g, l1, l2] = parts[..] else { return Err(bad()) };
            Ok(LargeCommunity {
                global: g.parse().map_err(|_| bad())?,
                local1: l1.parse().map_err(|_| bad())?,
                local2: l2.parse().map_err(|_| bad())?,
            })
        })
        .collect()
}

fn user(name: &str) -> ScriptUser {
    match name.split_once(':') {
        Some((u, g)) => ScriptUser { user: u.into(), group: Some(g.into()) },
        None => ScriptUser { user: name.into(), group: None },
    }
}

impl File {
    fn setup(self) -> Result<BgpSetup, String> {
        if self.peers.is_empty() || self.peers.len() > MAX_PEERS {
            return Err(format!("peers: {} peers, 1 to {MAX_PEERS}", self.peers.len()));
        }
        if self.router_id.is_unspecified() {
            return Err("routerID: 0.0.0.0 is not a BGP identifier".into());
        }
        let shared = communities(&self.communities, "communities")?;
        let shared_large = large_communities(&self.large_communities, "largeCommunities")?;
        let mut scripts = Vec::new();
        for (i, c) in self.checks.iter().enumerate() {
            let field = format!("checks[{i}]");
            if scripts.iter().any(|s: &CheckScript| s.name == c.name) {
                return Err(format!("{field}.name: check {} is defined twice", c.name));
            }
            let interval =
                c.interval.as_ref().map_or(Ok(Duration::from_secs(2)), |s| s.get(&format!("{field}.interval")))?;
            let timeout = c.timeout.as_ref().map_or(Ok(interval), |s| s.get(&format!("{field}.timeout")))?;
            if interval.is_zero() || timeout.is_zero() {
                return Err(format!("{field}: interval and timeout must be above 0"));
            }
            let mut script = CheckScript::from_command(&c.name, &c.script, interval, timeout)
                .map_err(|e| format!("{field}.script: {e}"))?;
            script.user = c.user.as_deref().map(user);
            scripts.push(script);
        }
        let mut vips = Vec::new();
        let mut families = Vec::new();
        for (i, v) in self.vips.iter().enumerate() {
            let field = format!("vips[{i}]");
            let prefix: IpNet = match v.address.parse::<IpAddr>() {
                Ok(a) => IpNet::from(a),
                Err(_) => {
                    v.address.parse().map_err(|_| format!("{field}.address: {:?} is not an address", v.address))?
                }
            };
            let mut vip = VipConfig::new(prefix);
            vip.med = v.med;
            vip.communities = communities(&v.communities, &format!("{field}.communities"))?;
            vip.large_communities = large_communities(&v.large_communities, &format!("{field}.largeCommunities"))?;
            for (j, r) in v.checks.iter().enumerate() {
                let (name, weight, reverse) = match r {
                    CheckRef::Name(n) => (n, 0, false),
                    CheckRef::Weighted { name, weight, reverse } => (name, *weight, *reverse),
                };
                let Some(k) = self.checks.iter().find(|c| c.name == *name) else {
                    return Err(format!("{field}.checks[{j}]: no check named {name} in checks"));
                };
                vip.checks.push(CheckConfig {
                    name: name.clone(),
                    weight,
                    rise: k.rise.unwrap_or(1),
                    fall: k.fall.unwrap_or(1),
                    reverse,
                });
            }
            let family = if prefix.addr().is_ipv4() { Family::IPV4_UNICAST } else { Family::IPV6_UNICAST };
            if !families.contains(&family) {
                families.push(family);
            }
            vips.push(vip);
        }
        // The gate's own checks (host routes, weights, duplicates), named by VIP.
        Vips::new(vips.clone()).map_err(|e| format!("vips: {e}"))?;
        let peers = self
            .peers
            .iter()
            .enumerate()
            .map(|(i, p)| self.peer(p, &format!("peers[{i}]"), &families, &shared, &shared_large))
            .collect::<Result<Vec<_>, String>>()?;
        for family in &families {
            if !peers.iter().any(|p| p.session.families.contains(family)) {
                return Err(
                    "vips: IPv6 VIPs but no peer carries them: set nextHopIPv6 or an IPv6 localAddress on a peer"
                        .into(),
                );
            }
        }
        let vip_interface = match self.vip_interface.as_deref() {
            None => Some("lo".to_string()),
            Some("") => None,
            Some(name) => Some(name.to_string()),
        };
        let policy =
            ScriptPolicy { security: self.enable_script_security, script_user: self.script_user.as_deref().map(user) };
        Ok(BgpSetup { peers, vips, scripts, policy, vip_interface })
    }

    fn peer(
        &self,
        p: &PeerFile,
        field: &str,
        families: &[Family],
        communities: &[Community],
        large: &[LargeCommunity],
    ) -> Result<PeerConfig, String> {
        let mut session = Config::new(self.local_asn, p.peer_asn, self.router_id);
        session.families = if families.is_empty() { vec![Family::IPV4_UNICAST] } else { families.to_vec() };
        session.communities = communities.to_vec();
        session.large_communities = large.to_vec();
        if let Some(h) = &p.hold_time {
            let hold = h.get(&format!("{field}.holdTime"))?;
            session.hold_time = u16::try_from(hold.as_secs())
                .ok()
                .filter(|s| Duration::from_secs(u64::from(*s)) == hold)
                .filter(|s| *s == 0 || *s >= 3)
                .ok_or_else(|| format!("{field}.holdTime: whole seconds, 0 or 3 to 65535"))?;
        }
        if let Some(k) = &p.keepalive_time {
            let keepalive = k.get(&format!("{field}.keepaliveTime"))?;
            let third = Duration::from_secs(u64::from(session.hold_time) / 3);
            if keepalive != third {
                return Err(format!(
                    "{field}.keepaliveTime: bmnet sends KEEPALIVEs every third of the hold time ({}s here); \
                     set holdTime to 3 × keepaliveTime",
                    third.as_secs()
                ));
            }
        }
        if let Some(r) = &p.connect_retry {
            session.connect_retry = r.get(&format!("{field}.connectRetry"))?;
        }
        if let Some(lp) = p.local_pref {
            session.local_pref = lp;
        }
        let v4_from_local = p.local_address.and_then(|a| match a {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        });
        let v6_from_local = p.local_address.and_then(|a| match a {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        });
        session.next_hop_v4 = p.next_hop_v4.or(v4_from_local).or(Some(self.router_id));
        session.next_hop_v6 = p.next_hop_v6.or(v6_from_local);
        // A peer carries the VIPs' families it has a next hop for (IPv6 only with an IPv6 one).
        if session.next_hop_v6.is_none() {
            session.families.retain(|f| *f != Family::IPV6_UNICAST);
            if session.families.is_empty() {
                return Err(format!(
                    "{field}: IPv6 VIPs need an IPv6 next hop: set nextHopIPv6 or an IPv6 localAddress"
                ));
            }
        }
        session.validate().map_err(|e| format!("{field}: {e}"))?;
        let mut peer = PeerConfig::new(session, p.peer_address);
        if let Some(port) = p.port {
            peer.port = port;
        }
        peer.local_address = p.local_address;
        peer.md5_password = match (&p.password, &p.password_file) {
            (Some(_), Some(_)) => return Err(format!("{field}: password or passwordFile, not both")),
            (Some(pw), None) => Some(pw.clone()),
            (None, Some(file)) => Some(read_password(file).map_err(|e| format!("{field}.passwordFile: {e}"))?),
            (None, None) => None,
        };
        let multihop = p.ebgp_multi_hop.as_ref().map_or(Ok(false), |f| f.get(&format!("{field}.ebgpMultiHop")))?;
        peer.ttl = match (p.ttl, multihop) {
            (Some(ttl), _) => Some(ttl),
            (None, true) => Some(255),
            (None, false) => None,
        };
        peer.ttl_security_hops = p.ttl_security_hops;
        if p.bfd_enabled.as_ref().map_or(Ok(false), |f| f.get(&format!("{field}.bfdEnabled")))? {
            let mut bfd = BfdConfig::default();
            if let Some(rx) = &p.bfd_receive_interval {
                bfd.min_rx = rx.get(&format!("{field}.bfdReceiveInterval"))?;
            }
            if let Some(tx) = &p.bfd_transmit_interval {
                bfd.min_tx = tx.get(&format!("{field}.bfdTransmitInterval"))?;
            }
            if let Some(m) = p.bfd_multiplier {
                bfd.multiplier = m;
            }
            peer.bfd = Some(bfd);
        } else if p.bfd_receive_interval.is_some() || p.bfd_transmit_interval.is_some() || p.bfd_multiplier.is_some() {
            return Err(format!("{field}: BFD timers without bfdEnabled: \"true\""));
        }
        peer.validate().map_err(|e| format!("{field}: {e}"))?;
        Ok(peer)
    }
}

#[allow(clippy::disallowed_methods)] // The CLI reads the file it is given.
fn read_password(file: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(text.strip_suffix('\n').unwrap_or(&text).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
localASN: 64601
routerID: 10.0.0.11
peers:
  - peerAddress: 10.0.0.1
    peerASN: 64512
    bfdEnabled: \"true\"
    bfdReceiveInterval: 100ms
    bfdTransmitInterval: 100ms
    holdTime: 9s
    keepaliveTime: 3s
    password: s3cret
  - peerAddress: 10.0.0.2
    peerASN: 4200000001
    ebgpMultiHop: \"true\"
    nextHopIPv6: fd00::11
communities: [\"64512:100\"]
checks:
  - name: haproxy
    script: /usr/bin/curl -fsS http://127.0.0.1:1936/healthz
    interval: 2s
    fall: 2
vips:
  - address: 192.0.2.10
    checks: [haproxy]
  - address: 2001:db8::10/128
    checks: [{name: haproxy, weight: 20}]
    largeCommunities: [\"64512:1:2\"]
";

    fn yaml(text: &str) -> Result<BgpSetup, String> {
        parse(text, Path::new("bgp.yaml"))
    }

    #[test]
    fn openshift_shaped_yaml() {
        let s = yaml(YAML).unwrap();
        assert_eq!(s.peers.len(), 2);
        let p = &s.peers[0];
        assert_eq!((p.session.local_asn, p.session.peer_asn, p.session.hold_time), (64601, 64512, 9));
        assert_eq!(p.md5_password.as_deref(), Some("s3cret"));
        let bfd = p.bfd.unwrap();
        assert_eq!(
            (bfd.min_rx, bfd.min_tx, bfd.multiplier),
            (Duration::from_millis(100), Duration::from_millis(100), 3)
        );
        assert_eq!(p.session.next_hop_v4, Some(Ipv4Addr::new(10, 0, 0, 11)), "the router ID by default");
        assert_eq!(p.session.communities, [Community::new(64512, 100)]);
        assert_eq!(s.peers[1].ttl, Some(255), "ebgpMultiHop");
        assert_eq!(s.peers[1].session.families, [Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        assert_eq!(s.peers[0].session.families, [Family::IPV4_UNICAST], "no IPv6 next hop: IPv4 only");
        assert_eq!(s.vips[0].prefix, "192.0.2.10/32".parse::<IpNet>().unwrap());
        assert_eq!(
            s.vips[0].checks[0],
            CheckConfig { name: "haproxy".into(), weight: 0, rise: 1, fall: 2, reverse: false }
        );
        assert_eq!(s.vips[1].checks[0].weight, 20);
        assert_eq!(s.scripts[0].argv[0], "/usr/bin/curl");
        assert_eq!((s.scripts[0].interval, s.scripts[0].timeout), (Duration::from_secs(2), Duration::from_secs(2)));
        assert_eq!(s.vip_interface.as_deref(), Some("lo"));
    }

    #[test]
    fn the_same_in_toml() {
        let toml = "\
localASN = 64601
routerID = \"10.0.0.11\"
communities = [\"64512:100\"]

[[peers]]
peerAddress = \"10.0.0.1\"
peerASN = 64512
holdTime = 9

[[checks]]
name = \"api\"
script = \"/usr/bin/true\"

[[vips]]
address = \"192.0.2.10\"
checks = [\"api\"]
";
        let s = parse(toml, Path::new("bgp.toml")).unwrap();
        assert_eq!(s.peers[0].session.hold_time, 9);
        assert_eq!(s.vips[0].checks[0].name, "api");
        let err = parse("localASN = 64601\nrouterID = 10.0.0.11\n", Path::new("x.toml")).unwrap_err();
        assert!(err.starts_with("x.toml:2:"), "{err}");
    }

    #[test]
    fn refusals_name_the_place() {
        let err = |from: &str, to: &str| yaml(&YAML.replacen(from, to, 1)).unwrap_err();
        let unknown = err("holdTime: 9s", "holdTime: 9s\n    mtu: 1500");
        assert!(unknown.starts_with("bgp.yaml:10:5: ") && unknown.contains("unknown field `mtu`"), "{unknown}");
        assert_eq!(err("holdTime: 9s", "holdTime: 2s"), "bgp.yaml: peers[0].holdTime: whole seconds, 0 or 3 to 65535");
        assert_eq!(
            err("keepaliveTime: 3s", "keepaliveTime: 30s"),
            "bgp.yaml: peers[0].keepaliveTime: bmnet sends KEEPALIVEs every third of the hold time (3s here); set holdTime to 3 × keepaliveTime"
        );
        assert_eq!(
            err("bfdEnabled: \"true\"", "bfdEnabled: \"yes\""),
            "bgp.yaml: peers[0].bfdEnabled: \"yes\" is not true or false"
        );
        assert_eq!(
            err("checks: [haproxy]", "checks: [api]"),
            "bgp.yaml: vips[0].checks[0]: no check named api in checks"
        );
        assert_eq!(
            err("address: 192.0.2.10", "address: 192.0.2.0/24"),
            "bgp.yaml: vips: VIP 192.0.2.0/24: a VIP is one address, a /32 or a /128"
        );
        assert_eq!(
            err("\"64512:100\"", "\"64512:70000\""),
            "bgp.yaml: communities[0]: \"64512:70000\" is not a community (ASN:VALUE, each 0-65535)"
        );
        assert!(
            err("    nextHopIPv6: fd00::11\n", "").starts_with("bgp.yaml: vips: IPv6 VIPs but no peer carries them")
        );
        assert_eq!(
            err("interval: 2s", "interval: soon"),
            "bgp.yaml: checks[0].interval: expected seconds (90, \"90s\", \"300ms\", \"2m\")"
        );
        assert!(err("routerID: 10.0.0.11", "routerID: 10.0.0").starts_with("bgp.yaml:2:"));
    }
}
