//! `bm_vrrp_*`: one VRRP virtual router as an opaque handle. Times cross the ABI as monotonic
//! nanoseconds (any fixed epoch, e.g. `CLOCK_MONOTONIC`); actions come out as JSON.

use std::borrow::Cow;
use std::ffi::{c_char, c_int};
use std::net::IpAddr;

use bm_vrrp::{Action, Config, Instance, VipOp};
use serde_json::{Value, json};

use crate::ffi::{self, Failure, at};
use crate::{BM_OK, BM_REJECTED};

/// A virtual router, built by `bm_vrrp_new` and freed by `bm_vrrp_free`. Not thread-safe:
/// one thread at a time per handle (handles are independent of each other).
pub struct BmVrrp {
    instance: Instance,
}

/// Builds a virtual router (state Initialize) from keepalived.conf text (one instance, with
/// `unicast_src_ip`), from `{"keepalived": TEXT, "instance": NAME, "primary": IP}`, or from a
/// JSON configuration:
/// `{"vrid": 51, "priority": 40, "vips": ["192.168.111.5"], "primary": "192.168.111.21",
/// "advert_interval": 1, "version": "v2", "unicast_peers": [], "preempt": true,
/// "checks": [{"name": "haproxy", "weight": 20, "rise": 2, "fall": 2}], ...}` (durations in
/// seconds; everything but vrid, priority, vips and primary has keepalived's default).
/// A refused configuration is status 1, `kind` `invalid_config`.
///
/// # Safety
///
/// `config` is NULL or a NUL-terminated string; `out` and `err_json` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_new(
    config: *const c_char,
    out: *mut *mut BmVrrp,
    err_json: *mut *mut c_char,
) -> c_int {
    if out.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { *out = std::ptr::null_mut() };
    let mut built: Option<Instance> = None;
    let call = || {
        // SAFETY: `config` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(config, "config") }?;
        built = Some(instance_from(text)?);
        Ok(String::new())
    };
    let mut ok: *mut c_char = std::ptr::null_mut();
    // SAFETY: `ok` is a live local; `err_json` is passed on under this function's contract.
    let status = unsafe { ffi::run(&raw mut ok, err_json, call) };
    // SAFETY: `ok` is NULL or made by `ffi::run`, freed once here.
    unsafe { crate::bm_string_free(ok) };
    if status == BM_OK
        && let Some(instance) = built
    {
        // SAFETY: checked non-null above.
        unsafe { *out = Box::into_raw(Box::new(BmVrrp { instance })) };
    }
    status
}

/// An instance from a JSON configuration or keepalived.conf text (see [`bm_vrrp_new`]).
pub(crate) fn instance_from(text: &str) -> Result<Instance, Failure> {
    let cfg = if text.trim_start().starts_with('{') && !text.contains("\"keepalived\"") {
        ffi::request::<Config>(text)?
    } else {
        from_keepalived(text)?
    };
    Instance::new(cfg).map_err(|e| Failure::rejected("invalid_config", e))
}

/// An action as JSON: `send` with `bytes_hex`, `add_vips`/`remove_vips` with `vips`,
/// `announce`, and `transition` with `reason` (a sentence, as in ABI 1) and `cause` (the
/// typed reason, `{"kind": ...}`).
pub(crate) fn action_value(action: Action) -> Value {
    match action {
        Action::Send { to, bytes, priority } => {
            json!({ "action": "send", "to": to, "priority": priority, "bytes_hex": ffi::hex(&bytes) })
        }
        Action::AddVips(vips) => json!({ "action": "add_vips", "vips": vips }),
        Action::RemoveVips(vips) => json!({ "action": "remove_vips", "vips": vips }),
        Action::Announce { vips, count } => json!({ "action": "announce", "vips": vips, "count": count }),
        Action::Transition { from, to, reason, priority } => json!({
            "action": "transition", "from": from, "to": to, "reason": reason.to_string(), "cause": reason,
            "priority": priority,
        }),
    }
}

/// A `report_vips` request: `{"op": "add"|"remove", "vips": [...], "error": null|"..."}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VipReport {
    pub(crate) op: VipOp,
    pub(crate) vips: Vec<IpAddr>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

/// An instance's counters, timers and sources as JSON (`bm_vrrp_status`).
pub(crate) fn instance_status(i: &Instance, now: std::time::Duration) -> Value {
    let timers: Vec<Value> = i
        .timers()
        .map(|(t, at)| json!({ "timer": t, "due_in_ns": u64::try_from(at.saturating_sub(now).as_nanos()).unwrap_or(u64::MAX) }))
        .collect();
    json!({
        "state": i.state(), "priority": i.priority(), "source": i.config().primary,
        "source_usable": i.source_usable(), "link_up": i.link_up(), "stats": i.stats(),
        "timers": timers, "pending_vip_removal": i.pending_removal(),
    })
}

/// `{"keepalived": TEXT, "instance": NAME, "primary": IP}` (instance and primary optional) or
/// keepalived.conf text itself: the named (or only) instance, with `primary` as its source
/// address unless the file gives `unicast_src_ip`. Includes are not followed here.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeepalivedRequest {
    keepalived: String,
    #[serde(default)]
    instance: Option<String>,
    #[serde(default)]
    primary: Option<IpAddr>,
}

fn from_keepalived(text: &str) -> Result<Config, Failure> {
    let req = if text.trim_start().starts_with('{') {
        ffi::request::<KeepalivedRequest>(text)?
    } else {
        KeepalivedRequest { keepalived: text.to_string(), instance: None, primary: None }
    };
    let conf = bm_vrrp::parse_keepalived(&req.keepalived, "keepalived.conf", &mut |_| {
        Err("includes are not read through the C ABI; inline the file".into())
    });
    if let Some(d) = conf.diagnostics.iter().find(|d| d.severity == bm_vrrp::Severity::Error) {
        return Err(Failure::rejected("invalid_config", d)
            .with("line", d.line)
            .with("column", d.column)
            .with("diagnostics", &conf.diagnostics));
    }
    let spec = match &req.instance {
        Some(name) => conf.instances.iter().find(|i| &i.name == name),
        None if conf.instances.len() == 1 => conf.instances.first(),
        None => None,
    }
    .ok_or_else(|| {
        let names: Vec<&str> = conf.instances.iter().map(|i| i.name.as_str()).collect();
        Failure::rejected("invalid_config", format!("name one instance of {names:?} with \"instance\""))
    })?;
    let primary = req.primary.unwrap_or(spec.config.primary);
    if primary.is_unspecified() {
        return Err(Failure::rejected("invalid_config", "no unicast_src_ip in the file: give \"primary\""));
    }
    spec.config_for(primary).map_err(|e| Failure::rejected("invalid_config", e))
}

/// Runs `f` on the instance with panics contained: 0, or 1 for a NULL handle, 2 after a panic.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle not used by another thread during the call.
unsafe fn with(vrrp: *mut BmVrrp, f: impl FnOnce(&mut Instance) -> c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { ffi::guarded(vrrp, |h| f(&mut h.instance)) }
}

/// An address argument (`src`, `dst`, `to`): status 1 with `kind` `invalid_address` and the
/// argument's name as `path` when it is no address.
///
/// # Safety
///
/// `p` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn address_arg(p: *const c_char, name: &str) -> Result<IpAddr, Failure> {
    // SAFETY: NULL or NUL-terminated by the contract.
    let text = unsafe { ffi::input(p, name) }?;
    bm_addr::parse_addr(text).map_err(|e| Failure::rejected("invalid_address", e).with("path", name))
}

/// A packet argument: `len` bytes at `bytes` (which may be NULL when `len` is 0); `None` for
/// NULL with a length.
///
/// # Safety
///
/// `bytes` is NULL or points to `len` bytes readable and unchanged during `'a`.
pub(crate) unsafe fn packet_arg<'a>(bytes: *const u8, len: usize) -> Option<&'a [u8]> {
    match (bytes.is_null(), len) {
        (_, 0) => Some(&[]),
        (true, _) => None,
        // SAFETY: non-null with `len` readable bytes by the contract.
        (false, _) => Some(unsafe { std::slice::from_raw_parts(bytes, len) }),
    }
}

/// The arguments of a send report (`bm_vrrp_report_send`, `bm_vrrp_router_report_send`): the
/// destination, and the error (NULL: sent). `None` when `to` is no address. An error that is not
/// UTF-8 is still an error (read lossily), never a success.
///
/// # Safety
///
/// `to` and `error` are NULL or NUL-terminated strings valid for the call.
pub(crate) unsafe fn send_report<'a>(
    to: *const c_char,
    error: *const c_char,
) -> Option<(IpAddr, Option<Cow<'a, str>>)> {
    // SAFETY: NULL or NUL-terminated by the contract.
    let to = unsafe { address_arg(to, "to") }.ok()?;
    // SAFETY: NULL or NUL-terminated by the contract; NULL means success.
    Some((to, unsafe { ffi::input_lossy(error) }))
}

/// Starts the router: the owner (priority 255) becomes master, others backup.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_start(vrrp: *mut BmVrrp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.start(at(now_ns));
            BM_OK
        })
    }
}

/// A received VRRP message (the IP payload) from `src` to `dst` (IP address text) with TTL /
/// hop limit `ttl`. Status 0: accepted. Status 1: dropped; `*err_json` (if not NULL) says why,
/// `{"kind": "dropped", "message": ..., "reason": ..., "drop": "not_a_peer"|"ttl"|...}` (the
/// drop is counted in `bm_vrrp_status`).
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `src` and `dst` NULL or
/// NUL-terminated; `bytes` points to `len` readable bytes; `err_json` NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // A C signature: the packet and its IP header fields.
pub unsafe extern "C" fn bm_vrrp_handle_packet(
    vrrp: *mut BmVrrp,
    now_ns: u64,
    src: *const c_char,
    dst: *const c_char,
    ttl: u8,
    bytes: *const u8,
    len: usize,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: `bytes` points to `len` readable bytes by the contract.
    let Some(packet) = (unsafe { packet_arg(bytes, len) }) else { return BM_REJECTED };
    // SAFETY: NULL or NUL-terminated by the contract.
    let addr = |p: *const c_char, name: &str| unsafe { address_arg(p, name) };
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            let result = addr(src, "src").and_then(|s| addr(dst, "dst").map(|d| (s, d))).and_then(|(s, d)| {
                i.handle_packet(at(now_ns), s, d, ttl, packet)
                    .map_err(|drop| Failure::rejected("dropped", &drop).with("reason", &drop).with("drop", drop.kind()))
                    .map(|()| String::new())
            });
            let mut ok: *mut c_char = std::ptr::null_mut();
            let mut err: *mut c_char = std::ptr::null_mut();
            let status = ffi::run(&raw mut ok, &raw mut err, || result);
            crate::bm_string_free(ok);
            if err_json.is_null() {
                crate::bm_string_free(err);
            } else {
                *err_json = err;
            }
            status
        })
    }
}

/// Runs the timers due at `now_ns`.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_handle_timeout(vrrp: *mut BmVrrp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.handle_timeout(at(now_ns));
            BM_OK
        })
    }
}

/// A tracked check's result (`passing` non-zero for success). Status 1 for an unknown name.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `name` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_set_check(
    vrrp: *mut BmVrrp,
    now_ns: u64,
    name: *const c_char,
    passing: c_int,
) -> c_int {
    // SAFETY: NULL or NUL-terminated by the contract.
    let Ok(name) = (unsafe { ffi::input(name, "name") }) else { return BM_REJECTED };
    // SAFETY: forwarded contract.
    unsafe { with(vrrp, |i| if i.set_check(at(now_ns), name, passing != 0) { BM_OK } else { BM_REJECTED }) }
}

/// The link's carrier (`up` non-zero): down is FAULT.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_set_link(vrrp: *mut BmVrrp, now_ns: u64, up: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.set_link(at(now_ns), up != 0);
            BM_OK
        })
    }
}

/// Stops gracefully: a master resigns with priority 0 and drops its VIPs.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_shutdown(vrrp: *mut BmVrrp, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.shutdown(at(now_ns));
            BM_OK
        })
    }
}

/// The next action as JSON in `*action_json` (free it with `bm_string_free`), or NULL when
/// there is none: `{"action": "send", "to": IP, "priority": N, "bytes_hex": "..."}`,
/// `{"action": "add_vips"|"remove_vips", "vips": [...]}`,
/// `{"action": "announce", "vips": [...], "count": N}`,
/// `{"action": "transition", "from": S, "to": S, "reason": "...", "cause": {"kind": ...},
/// "priority": N}`. Report how sends and VIP changes went with `bm_vrrp_report_send` and
/// `bm_vrrp_report_vips`.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `action_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_poll_action(vrrp: *mut BmVrrp, action_json: *mut *mut c_char) -> c_int {
    if action_json.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the contract.
    unsafe { *action_json = std::ptr::null_mut() };
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            let Some(action) = i.poll_action() else { return BM_OK };
            let value = action_value(action);
            let text = std::ffi::CString::new(value.to_string()).unwrap_or_default();
            *action_json = text.into_raw();
            BM_OK
        })
    }
}

/// When `bm_vrrp_handle_timeout` must next run: status 0 with `*at_ns` set, or status 1 when no
/// timer runs (stopped, or in FAULT).
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `at_ns` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_poll_timeout(vrrp: *mut BmVrrp, at_ns: *mut u64) -> c_int {
    if at_ns.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| match i.poll_timeout() {
            Some(t) => {
                *at_ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
                BM_OK
            }
            None => BM_REJECTED,
        })
    }
}

/// Whether the instance's source address can be sent from (present and, for IPv6, not
/// tentative). While it cannot, the instance stays in FAULT (`usable` 0).
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_set_source_usable(vrrp: *mut BmVrrp, now_ns: u64, usable: c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.set_source_usable(at(now_ns), usable != 0);
            BM_OK
        })
    }
}

/// How a `send` action went: `error` NULL for sent, else what failed, in any encoding (bytes
/// that are not UTF-8 are replaced); persistent failures put a master in FAULT. Status 1 for a
/// `to` that is no address.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `to` NULL or NUL-terminated;
/// `error` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_report_send(
    vrrp: *mut BmVrrp,
    now_ns: u64,
    to: *const c_char,
    error: *const c_char,
) -> c_int {
    // SAFETY: NULL or NUL-terminated by the contract.
    let Some((to, error)) = (unsafe { send_report(to, error) }) else { return BM_REJECTED };
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            i.report_send(at(now_ns), to, error.as_deref().map_or(Ok(()), Err));
            BM_OK
        })
    }
}

/// How an `add_vips` or `remove_vips` action went: `report_json` is `{"op": "add"|"remove",
/// "vips": [...], "error": null|"..."}`. A failure is retried (the action comes again later).
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `report_json` NULL or
/// NUL-terminated; `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_report_vips(
    vrrp: *mut BmVrrp,
    now_ns: u64,
    report_json: *const c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(vrrp, |i| {
            let call = || {
                let r: VipReport = ffi::request(ffi::input(report_json, "report")?)?;
                i.report_vips(at(now_ns), r.op, &r.vips, r.error.as_deref().map_or(Ok(()), Err));
                Ok(String::new())
            };
            ffi::run_optional_error(err_json, call)
        })
    }
}

/// The instance's state, counters (drops by reason, sends and their failures, VIP failures),
/// running timers and source address as JSON in `*out_json`.
///
/// # Safety
///
/// `vrrp` is NULL or a live handle used by this thread only; `out_json` and `err_json` NULL
/// or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_status(
    vrrp: *mut BmVrrp,
    now_ns: u64,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { with(vrrp, |i| ffi::run(out_json, err_json, || ffi::to_json(&instance_status(i, at(now_ns))))) }
}

/// Frees a router. NULL is ignored.
///
/// # Safety
///
/// `vrrp` is NULL or a handle from `bm_vrrp_new`, freed once and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_free(vrrp: *mut BmVrrp) {
    if !vrrp.is_null() {
        // SAFETY: made by Box::into_raw in bm_vrrp_new; freed once by the contract.
        drop(unsafe { Box::from_raw(vrrp) });
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::{CStr, CString};

    use super::*;
    use crate::vrrp_router::{
        bm_vrrp_router_add, bm_vrrp_router_free, bm_vrrp_router_handle_timeout, bm_vrrp_router_new,
        bm_vrrp_router_poll_action, bm_vrrp_router_poll_timeout, bm_vrrp_router_report_send, bm_vrrp_router_start,
        bm_vrrp_router_status,
    };

    /// A master that gives up after one failed round (down_timer_adverts 1).
    const CONFIG: &str = r#"{"vrid": 51, "priority": 100, "vips": ["10.0.0.100"], "primary": "10.0.0.2",
        "down_timer_adverts": 1}"#;

    /// An error message in Latin-1, as a C library in such a locale writes it: not UTF-8.
    const LATIN1_ERROR: &[u8] = b"R\xe9seau injoignable\0";

    fn take(p: *mut c_char) -> String {
        assert!(!p.is_null());
        // SAFETY: made by the library with CString::into_raw, freed once here.
        unsafe { CString::from_raw(p) }.into_string().unwrap()
    }

    /// A send error that is not UTF-8 is a failure (read lossily), never a success: before, it
    /// was read as no error at all, and a master that could not send stayed master.
    #[test]
    fn a_send_error_that_is_not_utf8_is_a_failure() {
        let config = CString::new(CONFIG).unwrap();
        let error = CStr::from_bytes_with_nul(LATIN1_ERROR).unwrap();
        let group = c"224.0.0.18";
        // SAFETY: every pointer is a live local or made by the library, each handle used by
        // this thread only and freed once.
        unsafe {
            let mut v: *mut BmVrrp = std::ptr::null_mut();
            let mut err: *mut c_char = std::ptr::null_mut();
            let status = bm_vrrp_new(config.as_ptr(), &mut v, &mut err);
            assert_eq!(status, BM_OK, "{}", if err.is_null() { String::new() } else { take(err) });
            bm_vrrp_start(v, 0);
            let mut t = 0;
            assert_eq!(bm_vrrp_poll_timeout(v, &mut t), BM_OK);
            bm_vrrp_handle_timeout(v, t);
            let mut action: *mut c_char = std::ptr::null_mut();
            while bm_vrrp_poll_action(v, &mut action) == BM_OK && !action.is_null() {
                take(action);
            }
            assert_eq!(bm_vrrp_report_send(v, t, group.as_ptr(), error.as_ptr()), BM_OK);
            let (mut out, mut err) = (std::ptr::null_mut(), std::ptr::null_mut());
            assert_eq!(bm_vrrp_status(v, t, &mut out, &mut err), BM_OK);
            let status: Value = serde_json::from_str(&take(out)).unwrap();
            assert_eq!(status["state"], "fault", "{status}");
            assert_eq!(status["stats"]["send_failures"], 1, "{status}");
            assert_eq!(status["stats"]["last_send_error"], "R\u{fffd}seau injoignable", "{status}");
            bm_vrrp_free(v);

            // The same through a router.
            let mut r = std::ptr::null_mut();
            assert_eq!(bm_vrrp_router_new(&mut r), BM_OK);
            let mut id = u32::MAX;
            assert_eq!(bm_vrrp_router_add(r, 2, config.as_ptr(), &mut id, std::ptr::null_mut()), BM_OK);
            bm_vrrp_router_start(r, 0);
            let mut t = 0;
            assert_eq!(bm_vrrp_router_poll_timeout(r, &mut t), BM_OK);
            bm_vrrp_router_handle_timeout(r, t);
            while bm_vrrp_router_poll_action(r, &mut action) == BM_OK && !action.is_null() {
                take(action);
            }
            assert_eq!(bm_vrrp_router_report_send(r, t, id, group.as_ptr(), error.as_ptr()), BM_OK);
            let (mut out, mut err) = (std::ptr::null_mut(), std::ptr::null_mut());
            assert_eq!(bm_vrrp_router_status(r, t, &mut out, &mut err), BM_OK);
            let status: Value = serde_json::from_str(&take(out)).unwrap();
            assert_eq!(status["instances"][0]["state"], "fault", "{status}");
            bm_vrrp_router_free(r);
        }
    }
}
