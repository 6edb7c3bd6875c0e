//! `bm_vrrp_router_*`: a host's VRRP instances behind one handle (bm-vrrp's `Router`): received
//! adverts are handed to the instance they are for by interface, family, VRID and source, link
//! and check changes reach the instances they concern, and actions come out tagged with their
//! instance. A C or Go daemon then only does the I/O. Times are monotonic nanoseconds;
//! interfaces are whatever numbers the caller names its links by (ifindexes, say).

use std::ffi::{c_char, c_int};

use bm_vrrp::{InstanceId, Routed, Router};
use serde_json::json;

use crate::ffi::{self, Failure, at};
use crate::vrrp::{VipReport, action_value, address_arg, instance_from, instance_status, packet_arg, send_report};
use crate::{BM_OK, BM_REJECTED};

/// A router, built by `bm_vrrp_router_new` and freed by `bm_vrrp_router_free`. Not
/// thread-safe: one thread at a time per handle.
pub struct BmVrrpRouter {
    router: Router,
}

/// Runs `f` on the router with panics contained: its status, 1 for a NULL handle, 2 after a
/// panic.
///
/// # Safety
///
/// `router` is NULL or a live handle not used by another thread during the call.
unsafe fn with(router: *mut BmVrrpRouter, f: impl FnOnce(&mut Router) -> c_int) -> c_int {
    // SAFETY: forwarded contract.
    unsafe { ffi::guarded(router, |h| f(&mut h.router)) }
}

fn instance_id(r: &Router, id: u32) -> Result<InstanceId, Failure> {
    let id = InstanceId::from_index(id);
    r.instance(id)
        .map(|_| id)
        .ok_or_else(|| Failure::rejected("unknown_instance", format!("no instance {}", id.index())))
}

/// A new router without instances in `*out`.
///
/// # Safety
///
/// `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_new(out: *mut *mut BmVrrpRouter) -> c_int {
    if out.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the contract.
    unsafe { *out = Box::into_raw(Box::new(BmVrrpRouter { router: Router::new() })) };
    BM_OK
}

/// Adds an instance running on `interface`, configured as for `bm_vrrp_new` (JSON or
/// keepalived.conf text); its id (0, 1, ... in the order added) in `*id`. Status 1 with
/// `kind` `invalid_config`, or `duplicate` when another instance runs its VRID on that
/// interface and family and the two cannot be told apart by their unicast peers.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `config` NULL or
/// NUL-terminated; `id` NULL or writable; `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_add(
    router: *mut BmVrrpRouter,
    interface: u32,
    config: *const c_char,
    id: *mut u32,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            let call = || {
                let instance = instance_from(ffi::input(config, "config")?)?;
                let new = r.add(interface, instance).map_err(|e| Failure::rejected("duplicate", e))?;
                if !id.is_null() {
                    *id = new.index() as u32;
                }
                Ok(String::new())
            };
            ffi::run_optional_error(err_json, call)
        })
    }
}

/// Starts every instance.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_start(router: *mut BmVrrpRouter, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            r.start(at(now_ns));
            BM_OK
        })
    }
}

/// Stops every instance gracefully (masters resign with priority 0 and drop their VIPs).
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_shutdown(router: *mut BmVrrpRouter, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            r.shutdown(at(now_ns));
            BM_OK
        })
    }
}

/// A received VRRP message (the IP payload) on `interface`, from `src` to `dst` (address
/// text), TTL / hop limit `ttl`. Status 0 with what happened in `*out_json`:
/// `{"outcome": "accepted", "instance": N}`, `{"outcome": "dropped", "instance": N, "reason":
/// ..., "drop": "not_a_peer"|..., "message": "...", "report": null|{"suppressed": N,
/// "suppressed_elsewhere": N}}` (a `report` means the drop deserves a log line; floods get
/// few), `{"outcome": "own", ...}` or `{"outcome": "no_instance", "vrid": N|null}`. Status 1
/// for an address that is no address.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `src` and `dst` NULL or
/// NUL-terminated; `bytes` points to `len` readable bytes; `out_json` and `err_json` writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // A C signature: the packet and its IP header fields.
pub unsafe extern "C" fn bm_vrrp_router_handle_packet(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    interface: u32,
    src: *const c_char,
    dst: *const c_char,
    ttl: u8,
    bytes: *const u8,
    len: usize,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: `bytes` points to `len` readable bytes by the contract.
    let Some(packet) = (unsafe { packet_arg(bytes, len) }) else { return BM_REJECTED };
    // SAFETY: NULL or NUL-terminated by the contract.
    let addr = |p: *const c_char, name: &str| unsafe { address_arg(p, name) };
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            ffi::run(out_json, err_json, || {
                let (src, dst) = (addr(src, "src")?, addr(dst, "dst")?);
                let routed = r.handle_packet(at(now_ns), interface, src, dst, ttl, packet);
                let mut v = json!(routed);
                if let Routed::Dropped { reason, .. } = &routed {
                    v["drop"] = json!(reason.kind());
                    v["message"] = json!(reason.to_string());
                }
                ffi::to_json(&v)
            })
        })
    }
}

/// Runs every instance's timers due at `now_ns`.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_handle_timeout(router: *mut BmVrrpRouter, now_ns: u64) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            r.handle_timeout(at(now_ns));
            BM_OK
        })
    }
}

/// When `bm_vrrp_router_handle_timeout` must next run: status 0 with `*at_ns` set, or status
/// 1 when no timer runs.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `at_ns` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_poll_timeout(router: *mut BmVrrpRouter, at_ns: *mut u64) -> c_int {
    if at_ns.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| match r.poll_timeout() {
            Some(t) => {
                *at_ns = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
                BM_OK
            }
            None => BM_REJECTED,
        })
    }
}

/// The next action of any instance as JSON in `*action_json`, or NULL when there is none: as
/// `bm_vrrp_poll_action`'s, with `"instance": N`. Drain until NULL after every input.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `action_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_poll_action(router: *mut BmVrrpRouter, action_json: *mut *mut c_char) -> c_int {
    if action_json.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the contract.
    unsafe { *action_json = std::ptr::null_mut() };
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            let Some((id, action)) = r.poll_action() else { return BM_OK };
            let mut value = action_value(action);
            value["instance"] = json!(id);
            let text = std::ffi::CString::new(value.to_string()).unwrap_or_default();
            *action_json = text.into_raw();
            BM_OK
        })
    }
}

/// `interface`'s carrier (`up` non-zero), for the instances running on it: down is FAULT.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_set_link(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    interface: u32,
    up: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            r.set_link(at(now_ns), interface, up != 0);
            BM_OK
        })
    }
}

/// A tracked check's result (`passing` non-zero for success), for every instance tracking it.
/// Status 1 when none does.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `name` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_set_check(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    name: *const c_char,
    passing: c_int,
) -> c_int {
    // SAFETY: NULL or NUL-terminated by the contract.
    let Ok(name) = (unsafe { ffi::input(name, "name") }) else { return BM_REJECTED };
    // SAFETY: forwarded contract.
    unsafe { with(router, |r| if r.set_check(at(now_ns), name, passing != 0) { BM_OK } else { BM_REJECTED }) }
}

/// Whether instance `instance`'s source address is usable (`bm_vrrp_set_source_usable`).
/// Status 1 for an unknown instance.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_set_source_usable(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    instance: u32,
    usable: c_int,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| match r.set_source_usable(at(now_ns), InstanceId::from_index(instance), usable != 0) {
            Ok(()) => BM_OK,
            Err(_) => BM_REJECTED,
        })
    }
}

/// How instance `instance`'s send to `to` went: `error` NULL for sent, else what failed (as for
/// `bm_vrrp_report_send`, in any encoding). Status 1 for an unknown instance or a `to` that is
/// no address.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `to` and `error` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_report_send(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    instance: u32,
    to: *const c_char,
    error: *const c_char,
) -> c_int {
    // SAFETY: NULL or NUL-terminated by the contract.
    let Some((to, error)) = (unsafe { send_report(to, error) }) else { return BM_REJECTED };
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            let outcome = error.as_deref().map_or(Ok(()), Err);
            match r.report_send(at(now_ns), InstanceId::from_index(instance), to, outcome) {
                Ok(()) => BM_OK,
                Err(_) => BM_REJECTED,
            }
        })
    }
}

/// How instance `instance`'s VIP change went: `report_json` as for `bm_vrrp_report_vips`.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `report_json` NULL or
/// NUL-terminated; `err_json` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_report_vips(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    instance: u32,
    report_json: *const c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            let call = || {
                let id = instance_id(r, instance)?;
                let rep: VipReport = ffi::request(ffi::input(report_json, "report")?)?;
                let outcome = rep.error.as_deref().map_or(Ok(()), Err);
                r.report_vips(at(now_ns), id, rep.op, &rep.vips, outcome)
                    .map_err(|e| Failure::rejected("unknown_instance", e))?;
                Ok(String::new())
            };
            ffi::run_optional_error(err_json, call)
        })
    }
}

/// Every instance's state, counters, timers and source, and what no instance got, as JSON:
/// `{"instances": [{"instance": N, "interface": N, "state": ..., "stats": {...}, ...}],
/// "unrouted": {"no_instance": N, "too_short": N, "own": N}}`.
///
/// # Safety
///
/// `router` is NULL or a live handle used by this thread only; `out_json` and `err_json`
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_status(
    router: *mut BmVrrpRouter,
    now_ns: u64,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    // SAFETY: forwarded contract.
    unsafe {
        with(router, |r| {
            ffi::run(out_json, err_json, || {
                let instances: Vec<serde_json::Value> = r
                    .instances()
                    .map(|(id, interface, i)| {
                        let mut v = instance_status(i, at(now_ns));
                        v["instance"] = json!(id);
                        v["interface"] = json!(interface);
                        v
                    })
                    .collect();
                ffi::to_json(&json!({ "instances": instances, "unrouted": r.stats() }))
            })
        })
    }
}

/// Frees a router. NULL is ignored.
///
/// # Safety
///
/// `router` is NULL or a handle from `bm_vrrp_router_new`, freed once and not used afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_router_free(router: *mut BmVrrpRouter) {
    if !router.is_null() {
        // SAFETY: made by Box::into_raw in bm_vrrp_router_new; freed once by the contract.
        drop(unsafe { Box::from_raw(router) });
    }
}
