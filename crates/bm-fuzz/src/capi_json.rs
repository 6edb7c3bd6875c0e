//! Fuzzes the text and JSON every C ABI entry point takes (`crates/bm-capi`): the input's first
//! byte picks the entry point ([`Entry`]), the rest up to the first NUL is the C string.
//!
//! bm-capi is a `cdylib`/`staticlib` only (an `rlib` of it would collide with the `bmnet`
//! package's library name), so no Rust crate can link it: [`call`] does what each entry point
//! does, through the same crates' functions and request shapes as bm-capi's private glue
//! (`ffi::request` and the `*Request` structs of `addr.rs`, `bgp.rs`, `dns.rs`, `nmconn.rs`,
//! `nodeip.rs`, `vrrp.rs`, `vrrp_router.rs`). bm-capi's own test `fuzz_corpus_through_the_abi` replays this
//! target's corpus through the real `extern "C"` functions and requires the same status from
//! both, so the two cannot drift apart unnoticed.
//!
//! No input may panic, and nothing comes back as an internal failure: every input is accepted
//! (status 0, a result that serializes) or rejected (status 1); what bm-capi adds to an error
//! (`path`, `diagnostics`, `rejection`, ...) serializes too, since bm-capi's `json!` would
//! panic where it did not. Accepted VRRP and BGP configurations are driven a little as a C
//! caller drives them (start, actions, timers, status).
//!
//! New entry points are appended to [`Entry::ALL`]: the corpus's seeds give an entry point's
//! index as their first byte, and those keep their entry point when the modulus grows.

use std::net::IpAddr;
use std::time::Duration;

use bm_addr::ipnet::IpNet;
use bm_addr::{ParseOptions, ZonePolicy, parse_addr_with, report};
use bm_bgp::{Action as BgpAction, Event as BgpEvent, Session};
use bm_dns::{ClusterZone, Outcome, ZoneConfig};
use bm_nmconn::check::{CheckOptions, FileFacts, NmVersion, check_set, check_text};
use bm_nmconn::diag::Severity as NmSeverity;
use bm_nodeip::{Hint, HostSnapshot, KubeletVersion, NodeIpArgOptions, Policy, parse_node_ip_arg, select};
use bm_vrrp::{Config, Instance, InstanceId, Router, VipOp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// The entry points, by the input's first byte (modulo their number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// `bm_addr_classify(input)`.
    AddrClassify,
    /// `bm_dns_zone_new(config)`.
    DnsZoneNew,
    /// `bm_nmconn_check(input)`.
    NmconnCheck,
    /// `bm_nmconn_render(input)`.
    NmconnRender,
    /// `bm_nodeip_select(request)`.
    NodeipSelect,
    /// `bm_nodeip_check_arg(request)`.
    NodeipCheckArg,
    /// `bm_vrrp_new(config)`.
    VrrpNew,
    /// `bm_vrrp_router_add(router, 2, config)` on a new router, twice.
    VrrpRouterAdd,
    /// `bm_vrrp_report_vips(vrrp, 0, report)` on [`FIXED_VRRP`], and
    /// `bm_vrrp_router_report_vips(router, 0, 0, report)` on a router holding it.
    VrrpReportVips,
    /// `bm_vrrp_set_check(vrrp, 0, name, 1)` and `bm_vrrp_report_send(vrrp, 0, to, error)` on
    /// [`FIXED_VRRP`]: the text is `name`, and `to` and `error` are its first line and the rest
    /// (`error` NULL when empty).
    VrrpTextArgs,
    /// `bm_bgp_new(config)`.
    BgpNew,
}

impl Entry {
    /// Every entry point, in the order of the input's first byte.
    pub const ALL: [Entry; 11] = [
        Entry::AddrClassify,
        Entry::DnsZoneNew,
        Entry::NmconnCheck,
        Entry::NmconnRender,
        Entry::NodeipSelect,
        Entry::NodeipCheckArg,
        Entry::VrrpNew,
        Entry::VrrpRouterAdd,
        Entry::VrrpReportVips,
        Entry::VrrpTextArgs,
        Entry::BgpNew,
    ];
}

/// The configuration of the instance that [`Entry::VrrpReportVips`] and [`Entry::VrrpTextArgs`]
/// report to.
pub const FIXED_VRRP: &str = r#"{"vrid": 51, "priority": 60, "vips": ["10.0.0.100", "10.0.0.101"], "primary": "10.0.0.1", "checks": [{"name": "haproxy", "weight": -30, "rise": 1, "fall": 1}]}"#;

/// Status 0 (`BM_OK`) or 1 (`BM_REJECTED`); an internal failure (2) is a finding.
pub type Status = i32;

/// The entry point and the C string an input stands for (up to its first NUL, as C reads it).
pub fn decode(data: &[u8]) -> Option<(Entry, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let entry = Entry::ALL[usize::from(first) % Entry::ALL.len()];
    let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    Some((entry, &rest[..end]))
}

/// The status the entry point returns for `input`; `None` where it would read this host's
/// network (a node-IP request without a snapshot), which a fuzzer must not.
pub fn call(entry: Entry, input: &[u8]) -> Option<Status> {
    if entry == Entry::VrrpTextArgs {
        return Some(if vrrp_text_args(input).is_ok() { 0 } else { 1 });
    }
    // Not UTF-8: rejected (`invalid_utf8`) by every entry point that takes text, before
    // anything else.
    let Ok(text) = std::str::from_utf8(input) else { return Some(1) };
    let result = match entry {
        Entry::AddrClassify => classify(text),
        Entry::DnsZoneNew => zone_new(text),
        Entry::NmconnCheck => nmconn_check(text),
        Entry::NmconnRender => nmconn_render(text),
        Entry::NodeipSelect => nodeip_select(text)?,
        Entry::NodeipCheckArg => nodeip_check_arg(text)?,
        Entry::VrrpNew => vrrp_new(text),
        Entry::VrrpRouterAdd => vrrp_router_add(text),
        Entry::VrrpReportVips => vrrp_report_vips(text),
        Entry::BgpNew => bgp_new(text),
        Entry::VrrpTextArgs => unreachable!("read as bytes above"),
    };
    Some(if result.is_ok() { 0 } else { 1 })
}

/// A rejection (what bm-capi's `Failure::rejected` stands for).
pub struct Rejected;

type Result<T> = std::result::Result<T, Rejected>;

/// bm-capi's `ffi::request`: one JSON value of the request's shape and nothing after it.
fn request<T: DeserializeOwned>(text: &str) -> Result<T> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|_| Rejected)?;
    de.end().map_err(|_| Rejected)?;
    Ok(value)
}

/// bm-capi's `ffi::to_json` (a failure is status 2: a finding) and `Failure::with` (whose
/// `json!` panics on what does not serialize).
fn serialized(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("the result serializes (status 2 otherwise)")
}

// ---- addr.rs

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyRequest {
    addr: String,
    #[serde(default)]
    sloppy: bool,
}

fn classify(text: &str) -> Result<()> {
    let req = if text.trim_start().starts_with('{') {
        request::<ClassifyRequest>(text)?
    } else {
        ClassifyRequest { addr: text.to_string(), sloppy: false }
    };
    let opts = if req.sloppy { ParseOptions::sloppy() } else { ParseOptions::strict() }.zone(ZonePolicy::Allow);
    let parsed = parse_addr_with(&req.addr, &opts).map_err(|_| Rejected)?;
    serialized(&report::record(&req.addr, &parsed));
    Ok(())
}

// ---- dns.rs

fn zone_new(text: &str) -> Result<()> {
    let cfg: ZoneConfig = if text.trim_start().starts_with('{') {
        request(text)?
    } else {
        ZoneConfig::from_toml(text).map_err(|_| Rejected)?
    };
    let zone = ClusterZone::new(cfg).map_err(|_| Rejected)?;
    // What a caller does next: `bm_dns_zone_answer` with the API name.
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x03api");
    if let Ok(origin) = bm_dns::name::from_text(&format!("{}.", zone.config().zone())) {
        q.extend_from_slice(&origin);
        q.extend_from_slice(&[0, 1, 0, 1]);
        let mut out = Vec::new();
        let _: Outcome = zone.answer(&q, &mut out);
    }
    Ok(())
}

// ---- nmconn.rs

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    files: Vec<FileIn>,
    #[serde(default)]
    nm_version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    name: Option<String>,
    text: String,
    #[serde(default)]
    mode: Option<u32>,
    #[serde(default)]
    uid: Option<u32>,
}

fn nmconn_check(text: &str) -> Result<()> {
    let request = if text.trim_start().starts_with('{') {
        request::<CheckRequest>(text)?
    } else {
        CheckRequest {
            files: vec![FileIn { name: None, text: text.to_string(), mode: None, uid: None }],
            nm_version: None,
        }
    };
    let nm_version = match &request.nm_version {
        None => NmVersion::default(),
        Some(v) => v.parse().map_err(|_| Rejected)?,
    };
    let mut facts = Vec::new();
    let mut files = Vec::new();
    for f in &request.files {
        let report = check_text(&f.text, &CheckOptions { nm_version, file_name: f.name.clone() });
        facts.push(FileFacts {
            name: f.name.clone().unwrap_or_default(),
            profile: report.profile.clone(),
            mode: f.mode,
            uid: f.uid,
        });
        files.push((f.name.clone(), report.profile, report.diagnostics));
    }
    for (i, d) in check_set(&facts) {
        files[i].2.push(d);
    }
    serialized(&files);
    Ok(())
}

fn nmconn_render(text: &str) -> Result<()> {
    let loaded = bm_nmconn::state::from_yaml(text).map_err(|_| Rejected)?;
    let files = bm_nmconn::render::render(&loaded.state).map_err(|_| Rejected)?;
    let mut errors = Vec::new();
    let mut facts = Vec::new();
    for (name, contents) in &files {
        let report =
            check_text(contents, &CheckOptions { nm_version: NmVersion::default(), file_name: Some(name.clone()) });
        facts.push(FileFacts { name: name.clone(), profile: report.profile.clone(), mode: None, uid: None });
        errors.extend(report.diagnostics.into_iter().filter(|d| d.severity == NmSeverity::Error));
    }
    errors.extend(check_set(&facts).into_iter().map(|(_, d)| d).filter(|d| d.severity == NmSeverity::Error));
    if !errors.is_empty() {
        serialized(&errors);
        return Err(Rejected);
    }
    serialized(&(files, loaded.warnings));
    Ok(())
}

// ---- nodeip.rs

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectRequest {
    #[serde(default)]
    snapshot: Option<HostSnapshot>,
    #[serde(default)]
    policy: Option<Policy>,
    #[serde(default)]
    vips: Vec<IpAddr>,
    #[serde(default)]
    hints: Vec<Hint>,
    #[serde(default)]
    prefer_ipv6: bool,
    #[serde(default, deserialize_with = "strict_nets")]
    exclude: Vec<IpNet>,
    #[serde(default)]
    previous: Vec<IpAddr>,
}

fn strict_nets<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| {
            bm_addr::parse_net_with(t, &ParseOptions::strict())
                .map(|p| p.network())
                .map_err(|e| serde::de::Error::custom(format!("invalid CIDR {t:?}: {e}")))
        })
        .collect()
}

fn nodeip_select(text: &str) -> Option<Result<()>> {
    let r: SelectRequest = match request(text) {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let simple = !r.vips.is_empty() || !r.hints.is_empty() || r.prefer_ipv6 || !r.exclude.is_empty();
    let policy = match r.policy {
        Some(_) if simple => return Some(Err(Rejected)),
        Some(mut p) => {
            p.previous.extend(r.previous);
            p
        }
        None => {
            let mut p = Policy::openshift(r.vips, r.hints);
            if r.prefer_ipv6 {
                p.prefer = Some(bm_addr::Family::Ipv6);
            }
            p.exclude = r.exclude;
            p.previous = r.previous;
            p
        }
    };
    let snapshot = r.snapshot?; // bm-capi would read this host
    serialized(&select(&snapshot, &policy));
    Some(Ok(()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ArgRequest {
    value: String,
    #[serde(default)]
    cloud_provider: String,
    #[serde(default)]
    kubelet_version: Option<KubeletVersion>,
    #[serde(default)]
    family_keywords: bool,
    #[serde(default)]
    cloud_dual_stack_gate: Option<bool>,
    #[serde(default)]
    ipv6_dual_stack_gate: Option<bool>,
    #[serde(default)]
    on_host: bool,
    #[serde(default)]
    snapshot: Option<HostSnapshot>,
}

fn nodeip_check_arg(text: &str) -> Option<Result<()>> {
    let r = if text.trim_start().starts_with('{') {
        match request::<ArgRequest>(text) {
            Ok(r) => r,
            Err(e) => return Some(Err(e)),
        }
    } else {
        ArgRequest {
            value: text.to_string(),
            cloud_provider: String::new(),
            kubelet_version: None,
            family_keywords: false,
            cloud_dual_stack_gate: None,
            ipv6_dual_stack_gate: None,
            on_host: false,
            snapshot: None,
        }
    };
    let host = match (r.on_host, r.snapshot) {
        (true, Some(s)) => Some(s),
        (true, None) => return None, // bm-capi would read this host
        (false, _) => None,
    };
    let mut opts = NodeIpArgOptions::default()
        .cloud_provider(&r.cloud_provider)
        .kubelet_version(r.kubelet_version.unwrap_or_default())
        .family_keywords(r.family_keywords);
    opts.cloud_dual_stack_gate = r.cloud_dual_stack_gate;
    opts.ipv6_dual_stack_gate = r.ipv6_dual_stack_gate;
    if let Some(h) = &host {
        opts = opts.host(h);
    }
    Some(match parse_node_ip_arg(&r.value, &opts) {
        Ok(arg) => {
            serialized(&arg);
            Ok(())
        }
        Err(rejected) => {
            let _ = rejected.to_string();
            serialized(&rejected);
            Err(Rejected)
        }
    })
}

// ---- vrrp.rs, vrrp_router.rs

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepalivedRequest {
    keepalived: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    primary: Option<IpAddr>,
}

fn from_keepalived(text: &str) -> Result<Config> {
    let req = if text.trim_start().starts_with('{') {
        request::<KeepalivedRequest>(text)?
    } else {
        KeepalivedRequest { keepalived: text.to_string(), instance: None, primary: None }
    };
    let conf = bm_vrrp::parse_keepalived(&req.keepalived, "keepalived.conf", &mut |_| {
        Err("includes are not read through the C ABI; inline the file".into())
    });
    if conf.diagnostics.iter().any(|d| d.severity == bm_vrrp::Severity::Error) {
        serialized(&conf.diagnostics);
        return Err(Rejected);
    }
    let spec = match &req.instance {
        Some(name) => conf.instances.iter().find(|i| &i.name == name),
        None if conf.instances.len() == 1 => conf.instances.first(),
        None => None,
    }
    .ok_or(Rejected)?;
    let primary = req.primary.unwrap_or(spec.config.primary);
    if primary.is_unspecified() {
        return Err(Rejected);
    }
    spec.config_for(primary).map_err(|_| Rejected)
}

/// bm-capi's `instance_from`.
fn instance_from(text: &str) -> Result<Instance> {
    let cfg = if text.trim_start().starts_with('{') && !text.contains("\"keepalived\"") {
        request::<Config>(text)?
    } else {
        from_keepalived(text)?
    };
    Instance::new(cfg).map_err(|_| Rejected)
}

/// What a C caller does with a new instance: start it, take its actions, run its timers, read
/// its status.
fn drive(i: &mut Instance) {
    let mut now = Duration::from_secs(1);
    i.start(now);
    for _ in 0..8 {
        for _ in 0..64 {
            let Some(action) = i.poll_action() else { break };
            serialized(&action);
        }
        let timers: Vec<_> = i.timers().collect();
        serialized(&(i.state(), i.priority(), i.stats(), i.config().primary, timers.len()));
        let Some(next) = i.poll_timeout() else { break };
        now = next.max(now);
        i.handle_timeout(now);
    }
    i.shutdown(now);
    while let Some(action) = i.poll_action() {
        serialized(&action);
    }
}

fn vrrp_new(text: &str) -> Result<()> {
    let mut i = instance_from(text)?;
    drive(&mut i);
    Ok(())
}

fn vrrp_router_add(text: &str) -> Result<()> {
    let mut r = Router::new();
    let instance = instance_from(text)?;
    let again = instance.clone();
    r.add(2, instance).map_err(|_| Rejected)?;
    assert!(r.add(2, again).is_err(), "the same configuration twice on one interface is a duplicate");
    let now = Duration::from_secs(1);
    r.start(now);
    for _ in 0..64 {
        let Some((_, action)) = r.poll_action() else { break };
        serialized(&action);
    }
    serialized(&r.stats());
    Ok(())
}

/// [`FIXED_VRRP`], started.
fn fixed() -> Instance {
    let mut i = instance_from(FIXED_VRRP).ok().expect("the fixed configuration is accepted");
    i.start(Duration::from_secs(1));
    i
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VipReport {
    op: VipOp,
    vips: Vec<IpAddr>,
    #[serde(default)]
    error: Option<String>,
}

fn vrrp_report_vips(text: &str) -> Result<()> {
    let rep: VipReport = request(text)?;
    let outcome = rep.error.as_deref().map_or(Ok(()), Err);
    let mut i = fixed();
    i.report_vips(Duration::from_secs(2), rep.op, &rep.vips, outcome);
    while i.poll_action().is_some() {}
    let mut r = Router::new();
    let id: InstanceId = r.add(2, fixed()).expect("one instance");
    r.report_vips(Duration::from_secs(2), id, rep.op, &rep.vips, outcome).expect("a known instance");
    Ok(())
}

/// `bm_vrrp_set_check` with the whole text as the name (its status, whether the name is
/// known, is not compared), then `bm_vrrp_report_send`, whose status this is: `to` is read
/// strictly (UTF-8, an address), the error lossily (an OS message in any encoding), and an
/// empty error is NULL: sent.
fn vrrp_text_args(input: &[u8]) -> Result<()> {
    let mut i = fixed();
    if let Ok(name) = std::str::from_utf8(input) {
        let _known = i.set_check(Duration::from_secs(2), name, true);
    }
    let at = input.iter().position(|&b| b == b'\n').unwrap_or(input.len());
    let (to, error) = (&input[..at], input.get(at + 1..).unwrap_or_default());
    let to = std::str::from_utf8(to).map_err(|_| Rejected)?;
    let to = bm_addr::parse_addr(to).map_err(|_| Rejected)?;
    let error = (!error.is_empty()).then(|| String::from_utf8_lossy(error));
    i.report_send(Duration::from_secs(2), to, error.as_deref().map_or(Ok(()), Err));
    while i.poll_action().is_some() {}
    Ok(())
}

// ---- bgp.rs

/// bm-capi's `session_from`, then what a C caller does with the session: routes announced,
/// started, connected, its timers run, its actions and status read (as bm-capi writes them),
/// stopped with a shutdown message.
fn bgp_new(text: &str) -> Result<()> {
    let config: bm_bgp::Config = request(text)?;
    let mut s = Session::new(config).map_err(|_| Rejected)?;
    let mut now = Duration::from_secs(1);
    for prefix in ["192.0.2.10/32", "2001:db8::10/128"] {
        let prefix: IpNet = prefix.parse().expect("a prefix");
        if let Err(e) = s.announce(now, prefix) {
            let _ = e.to_string();
        }
    }
    s.start(now);
    drain_bgp(&mut s, now);
    s.tcp_connected(now);
    for _ in 0..4 {
        drain_bgp(&mut s, now);
        let Some(next) = s.poll_timeout() else { break };
        now = next.max(now);
        s.handle_timeout(now);
    }
    s.stop(now, Some("fuzz")).expect("a short message");
    drain_bgp(&mut s, now);
    Ok(())
}

/// bm-capi's `action_value` and `session_status`.
fn drain_bgp(s: &mut Session, now: Duration) {
    for _ in 0..64 {
        let Some(action) = s.poll_action() else { break };
        if let BgpAction::Event {
            event: BgpEvent::NotificationSent { notification } | BgpEvent::NotificationReceived { notification },
        } = &action
        {
            serialized(&(&notification.code, notification.shutdown_message(), notification.to_string()));
        }
        serialized(&action);
    }
    let timers: Vec<_> = s.timers().map(|(t, at)| (t, at.saturating_sub(now))).collect();
    let routes: Vec<String> = s.routes().map(ToString::to_string).collect();
    serialized(&(s.state(), s.negotiated(), s.stats(), routes, timers, s.config()));
}

/// One input.
pub fn run(data: &[u8]) {
    let Some((entry, input)) = decode(data) else { return };
    if let Some(status) = call(entry, input) {
        assert!(status == 0 || status == 1);
    }
}
