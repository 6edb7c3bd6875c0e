//! The C ABI of bmnet: `libbmnet.so`, `libbmnet.a` and `include/bmnet.h`.
//!
//! Every function follows one convention, after libnmstate's:
//!
//! ```c
//! int bm_<area>_<verb>(const char *in, char **out_json, char **err_json);
//! ```
//!
//! - `in` is a NUL-terminated UTF-8 string: an address, a value, or a JSON request. NULL or
//!   invalid UTF-8 is rejected (status 1, `kind` `null_argument` or `invalid_utf8`).
//! - Status 0 (`BM_OK`): `*out_json` holds the result and `*err_json` is NULL. Status 1
//!   (`BM_REJECTED`): the input was rejected; `*err_json` holds `{"kind", "message", ...}` with
//!   `path`, `line`, `column` or `offset` where they apply, and `*out_json` is NULL. Status 2
//!   (`BM_INTERNAL`): a failure that is not the input's fault (the host could not be read, a
//!   panic); `*err_json` says what. A text in an error object (`message`, `path`, ...) is at
//!   most 1,024 bytes: a longer one keeps its start and its end around `…(N bytes left out)…`.
//! - Every string returned is freed with [`bm_string_free`]. NULL `out_json`/`err_json`
//!   pointers make the call return 1 without writing anything.
//! - No panic crosses the boundary: it is caught and reported as status 2.
//! - Thread safety: every function is reentrant and may be called from any thread at once; none
//!   keeps state between calls.

// The crate is the FFI boundary: its unsafe blocks each carry a SAFETY comment (enforced by
// clippy's undocumented_unsafe_blocks). I/O is limited to what a function documents (the
// node-IP functions and `bm_preflight_drift` read this host's network through netlink when
// asked to, and `bm_preflight_drift` reads the keyfile directories it is given).
#![allow(clippy::disallowed_methods)]

use std::ffi::{CString, c_char};

mod addr;
mod bgp;
mod dns;
mod ffi;
#[cfg(test)]
mod fuzz_corpus;
#[cfg(test)]
mod nesting_limits;
mod nmconn;
mod nodeip;
mod preflight;
mod vrrp;
mod vrrp_router;

pub use addr::bm_addr_classify;
pub use bgp::{
    BmBgp, bm_bgp_announce, bm_bgp_bfd_down, bm_bgp_free, bm_bgp_handle_bytes, bm_bgp_handle_timeout, bm_bgp_new,
    bm_bgp_poll_action, bm_bgp_poll_timeout, bm_bgp_start, bm_bgp_status, bm_bgp_stop, bm_bgp_tcp_closed,
    bm_bgp_tcp_connected, bm_bgp_tcp_failed, bm_bgp_withdraw,
};
pub use dns::{
    BM_DNS_ANSWERED, BM_DNS_DROP, BM_DNS_FORWARD, BmDnsZone, bm_dns_zone_answer, bm_dns_zone_free, bm_dns_zone_new,
};
pub use nmconn::{bm_nmconn_check, bm_nmconn_render};
pub use nodeip::{bm_nodeip_check_arg, bm_nodeip_select};
pub use preflight::{bm_preflight_drift, bm_vrrp_openshift_vrids};
pub use vrrp::{
    BmVrrp, bm_vrrp_free, bm_vrrp_handle_packet, bm_vrrp_handle_timeout, bm_vrrp_new, bm_vrrp_poll_action,
    bm_vrrp_poll_timeout, bm_vrrp_report_send, bm_vrrp_report_vips, bm_vrrp_set_check, bm_vrrp_set_link,
    bm_vrrp_set_source_usable, bm_vrrp_shutdown, bm_vrrp_start, bm_vrrp_status,
};
pub use vrrp_router::{
    BmVrrpRouter, bm_vrrp_router_add, bm_vrrp_router_free, bm_vrrp_router_handle_packet, bm_vrrp_router_handle_timeout,
    bm_vrrp_router_new, bm_vrrp_router_poll_action, bm_vrrp_router_poll_timeout, bm_vrrp_router_report_send,
    bm_vrrp_router_report_vips, bm_vrrp_router_set_check, bm_vrrp_router_set_link, bm_vrrp_router_set_source_usable,
    bm_vrrp_router_shutdown, bm_vrrp_router_start, bm_vrrp_router_status,
};

/// The ABI version: incremented on every incompatible change of a function's signature or of
/// the meaning of its JSON. 2: a VRRP configuration with unicast peers checks the source of
/// adverts by default (`check_unicast_src`), and a VRRPv2 interval in drop reasons is
/// `{"v2": SECONDS}`.
pub const BM_ABI_VERSION: u32 = 2;
/// Success: `*out_json` holds the result.
pub const BM_OK: i32 = 0;
/// The input was rejected: `*err_json` says why.
pub const BM_REJECTED: i32 = 1;
/// An internal or host failure: `*err_json` says what.
pub const BM_INTERNAL: i32 = 2;

/// The library's version (`"0.1.0"`), a static string: do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn bm_version() -> *const c_char {
    static VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the version has no NUL"),
        };
    VERSION.as_ptr()
}

/// The ABI version of the library loaded at run time: compare it with the `BM_ABI_VERSION` of
/// the `bmnet.h` a program was compiled with, and refuse to go on when they differ (a shared
/// library replaced by an incompatible one would otherwise be misread, not refused). The Go
/// package does this before its first call.
#[unsafe(no_mangle)]
pub extern "C" fn bm_abi_version() -> u32 {
    BM_ABI_VERSION
}

/// Frees a string returned by any bmnet function. NULL is ignored.
///
/// # Safety
///
/// `s` is NULL or a pointer that a bmnet function returned and that has not been freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: the caller passes a pointer made by `CString::into_raw` in `ffi::run`, once.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// For the tests: a string an entry point returned (NULL: none), taken back and freed as
/// [`bm_string_free`] frees it.
#[cfg(test)]
pub(crate) fn take_string(s: *mut c_char) -> Option<String> {
    // SAFETY: NULL or a string an entry point made with `CString::into_raw`, taken back once.
    (!s.is_null()).then(|| unsafe { CString::from_raw(s) }.into_string().expect("UTF-8 JSON"))
}
