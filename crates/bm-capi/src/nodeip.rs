//! `bm_nodeip_select` and `bm_nodeip_check_arg`.

use std::ffi::{c_char, c_int};
use std::net::IpAddr;

use bm_addr::ipnet::IpNet;
use bm_nodeip::{Hint, HostSnapshot, KubeletVersion, NodeIpArgOptions, Policy, parse_node_ip_arg, select};
use serde::{Deserialize, Deserializer};

use crate::ffi::{self, Failure};

/// Selects the node IP(s): the same JSON result as `bmnet node-ip --json` (`chosen`, primary
/// family first, and every candidate with its verdict and reason).
///
/// `request` is a JSON object; every field is optional:
///
/// ```json
/// {"snapshot": {"links": [...], "addresses": [...], "routes": [...]},
///  "vips": ["192.168.111.5"], "hints": ["10.0.0.0/16", "!10.0.5.0/24"],
///  "prefer_ipv6": false, "exclude": ["10.128.0.0/14"], "previous": ["192.168.111.20"]}
/// ```
///
/// Without `snapshot`, this host's network namespace is read through netlink (a failure to
/// read it is status 2, `kind` `host`). Instead of `vips` .. `previous`, `policy` may give a
/// whole `bm_nodeip::Policy` (methods, filters) as JSON. An empty `chosen` is a result, not an
/// error: the candidates say why nothing qualified.
///
/// Thread-safe.
///
/// # Safety
///
/// `request` is NULL or a NUL-terminated string; `out_json` and `err_json` are NULL or point to
/// writable `char *` slots. Returned strings are freed with `bm_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_nodeip_select(
    request: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `request` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(request, "request") }?;
        select_json(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

/// Checks a kubelet `--node-ip` value as the given kubelet version would, with its exact
/// messages. On success the result says what kubelet does with it (`entries`, `autodetect`,
/// `primary_family`, `warnings`, `ignored`). A value kubelet refuses is status 1 with `kind`
/// `rejected_by_kubelet`, kubelet's message in `message`, every broken rule in `errors` and
/// the structured `rejection`.
///
/// `request` is the value itself (`"10.0.0.5,fd00::5"`), checked with current kubelet's rules
/// and no cloud provider, or a JSON object:
///
/// ```json
/// {"value": "10.0.0.5,fd00::5", "cloud_provider": "external", "kubelet_version": "1.28",
///  "family_keywords": false, "cloud_dual_stack_gate": null, "ipv6_dual_stack_gate": null,
///  "on_host": false, "snapshot": null}
/// ```
///
/// With `on_host`, each IP must be configured on the `snapshot`, or on this host without one.
///
/// Thread-safe.
///
/// # Safety
///
/// As [`bm_nodeip_select`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_nodeip_check_arg(
    request: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `request` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(request, "request") }?;
        check_arg_json(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

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

/// CIDRs read strictly (`ipnet`'s own parser accepts `010.0.0.0/8`); host bits are cleared.
fn strict_nets<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| {
            bm_addr::parse_net_with(t, &bm_addr::ParseOptions::strict())
                .map(|p| p.network())
                .map_err(|e| serde::de::Error::custom(format!("invalid CIDR {t:?}: {e}")))
        })
        .collect()
}

/// This host's network namespace, through netlink (status 2, `kind` `host`, on failure).
pub(crate) fn this_host() -> Result<HostSnapshot, Failure> {
    bm_nodeip::netlink::snapshot().map_err(|e| Failure::internal("host", format!("reading this host's network: {e}")))
}

fn select_json(text: &str) -> Result<String, Failure> {
    let r: SelectRequest = ffi::request(text)?;
    let simple = !r.vips.is_empty() || !r.hints.is_empty() || r.prefer_ipv6 || !r.exclude.is_empty();
    let policy = match r.policy {
        Some(_) if simple => {
            return Err(Failure::rejected(
                "invalid_request",
                "give either `policy` or `vips`/`hints`/`prefer_ipv6`/`exclude`, not both",
            )
            .with("path", "policy"));
        }
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
    let snapshot = match r.snapshot {
        Some(s) => s,
        None => this_host()?,
    };
    ffi::to_json(&select(&snapshot, &policy))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
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

fn check_arg_json(text: &str) -> Result<String, Failure> {
    let r = if text.trim_start().starts_with('{') {
        ffi::request::<CheckRequest>(text)?
    } else {
        CheckRequest {
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
        (true, None) => Some(this_host()?),
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
    match parse_node_ip_arg(&r.value, &opts) {
        Ok(arg) => ffi::to_json(&arg),
        Err(rejected) => Err(Failure::rejected("rejected_by_kubelet", &rejected)
            .with("errors", rejected.errors.iter().map(ToString::to_string).collect::<Vec<_>>())
            .with("rejection", &rejected)),
    }
}
