//! `bm_dns_zone_new`, `bm_dns_zone_answer`, `bm_dns_zone_free`: the cluster zone as an opaque
//! handle answering wire-format queries into the caller's buffer.

use std::cell::RefCell;
use std::ffi::{c_char, c_int};

use bm_dns::{ClusterZone, Outcome, ZoneConfig};

use crate::ffi::{self, Failure};
use crate::{BM_INTERNAL, BM_OK, BM_REJECTED};

/// A cluster zone, built by `bm_dns_zone_new` and freed by `bm_dns_zone_free`. Immutable:
/// any number of threads may answer from one zone at once.
pub struct BmDnsZone {
    zone: ClusterZone,
}

/// `*outcome` of `bm_dns_zone_answer`: `out` holds the response to send.
pub const BM_DNS_ANSWERED: c_int = 0;
/// `*outcome`: the name is outside the zone; send the query to the upstreams.
pub const BM_DNS_FORWARD: c_int = 1;
/// `*outcome`: send nothing (not a query).
pub const BM_DNS_DROP: c_int = 2;

/// Builds a cluster zone from its configuration: a JSON object, or TOML text (what
/// `bmnet dns serve --config` reads). On success `*zone_out` owns the zone (free it with
/// `bm_dns_zone_free`). A configuration that would be served wrong (an IPv4-mapped VIP, a name
/// outside the zone, ...) is status 1 with `kind` `invalid_config`.
///
/// Thread-safe.
///
/// # Safety
///
/// `config` is NULL or a NUL-terminated string; `zone_out` and `err_json` are NULL or point to
/// writable slots.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_dns_zone_new(
    config: *const c_char,
    zone_out: *mut *mut BmDnsZone,
    err_json: *mut *mut c_char,
) -> c_int {
    if zone_out.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null and writable by the caller's contract.
    unsafe { *zone_out = std::ptr::null_mut() };
    let mut zone: Option<ClusterZone> = None;
    let call = || {
        // SAFETY: `config` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(config, "config") }?;
        let cfg: ZoneConfig = if text.trim_start().starts_with('{') {
            ffi::request(text)?
        } else {
            ZoneConfig::from_toml(text).map_err(|e| Failure::rejected("invalid_config", e))?
        };
        zone = Some(ClusterZone::new(cfg).map_err(|e| Failure::rejected("invalid_config", e))?);
        Ok(String::new())
    };
    let mut out: *mut c_char = std::ptr::null_mut();
    // SAFETY: `out` is a live local; `err_json` is passed on under this function's contract.
    let status = unsafe { ffi::run(&raw mut out, err_json, call) };
    // SAFETY: `out` is NULL or was made by `ffi::run` and is freed once here.
    unsafe { crate::bm_string_free(out) };
    if status == BM_OK
        && let Some(zone) = zone
    {
        // SAFETY: checked non-null above.
        unsafe { *zone_out = Box::into_raw(Box::new(BmDnsZone { zone })) };
    }
    status
}

thread_local! {
    /// Each thread's response buffer: answering allocates nothing after the first call.
    static RESPONSE: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(4096));
}

/// Answers one query (wire bytes, as received over UDP; `tcp` non-zero for TCP, where nothing
/// is truncated) into the caller's buffer. Status 0: `*outcome` says what to do, and for
/// `BM_DNS_ANSWERED` the response is `out[0..*out_len]`. Status 1: a NULL argument, or `out_cap`
/// too small (then `*out_len` is the size needed). Status 2: an internal failure.
///
/// Thread-safe: any number of threads may answer from one zone at once. No allocation after a
/// thread's first call.
///
/// # Safety
///
/// `zone` is NULL or a live zone from `bm_dns_zone_new`; `query` points to `query_len` readable
/// bytes; `out` to `out_cap` writable bytes; `out_len` and `outcome` are NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)] // A C signature: buffers come as pointer and length.
pub unsafe extern "C" fn bm_dns_zone_answer(
    zone: *const BmDnsZone,
    query: *const u8,
    query_len: usize,
    tcp: c_int,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
    outcome: *mut c_int,
) -> c_int {
    if zone.is_null() || query.is_null() || out.is_null() || out_len.is_null() || outcome.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: all non-null; by the contract `zone` is live and the slices are valid for the
    // lengths given, and do not overlap the response buffer, which is ours.
    let (zone, query) = unsafe { (&(*zone).zone, std::slice::from_raw_parts(query, query_len)) };
    let transport = if tcp != 0 { bm_dns::Transport::Tcp } else { bm_dns::Transport::Udp };
    let result = std::panic::catch_unwind(|| {
        RESPONSE.with_borrow_mut(|buf| {
            let o = zone.answer_over(query, transport, buf);
            (o, buf.len())
        })
    });
    let Ok((o, len)) = &result else { return BM_INTERNAL };
    let code = match o {
        Outcome::Answered => BM_DNS_ANSWERED,
        Outcome::Forward => BM_DNS_FORWARD,
        Outcome::Drop => BM_DNS_DROP,
    };
    // SAFETY: `out_len` and `outcome` are non-null and writable by the contract.
    unsafe {
        *outcome = code;
        *out_len = if *o == Outcome::Answered { *len } else { 0 };
    }
    if *o != Outcome::Answered {
        return BM_OK;
    }
    if *len > out_cap {
        return BM_REJECTED;
    }
    RESPONSE.with_borrow(|buf| {
        // SAFETY: `out` has `out_cap >= len` writable bytes by the contract; `buf` is this
        // thread's own buffer, so the regions cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(buf.as_ptr(), out, *len) };
    });
    BM_OK
}

/// Frees a zone. NULL is ignored.
///
/// # Safety
///
/// `zone` is NULL or a zone from `bm_dns_zone_new` that is freed once and no longer used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_dns_zone_free(zone: *mut BmDnsZone) {
    if !zone.is_null() {
        // SAFETY: made by Box::into_raw in bm_dns_zone_new, freed once by the contract.
        drop(unsafe { Box::from_raw(zone) });
    }
}
