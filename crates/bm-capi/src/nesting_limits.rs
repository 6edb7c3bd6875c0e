//! Attacker tests of the C ABI: deeply nested JSON, YAML and TOML at each entry point that
//! reads a request or a configuration, every call on a thread with a 2 MiB stack (a Rust
//! thread's default, what a C or Go caller's worker thread may have), named after the entry
//! point, so that an overflow aborts this test binary with "thread '<entry point>' has
//! overflowed its stack". The readers of files, and the `bmnet` commands, are played the same
//! way in the root package's `tests/nesting_limits.rs`; the C ABI's cases live here, where the
//! `extern "C"` functions are called directly (that file used to load `libbmnet.so` with
//! `dlopen`, which put `unsafe` in the root package's tests).
//!
//! Why: every parser behind these functions descends recursively, one or more stack frames
//! per level, and 100,000 levels is 200 kB of text. A stack overflow is not a panic: it aborts
//! the process, which neither `Result` nor the ABI's `catch_unwind` guard can contain, so one
//! hostile request would kill the installer or daemon that passed it on. What stops the
//! descent is each parsing library's own depth limit: serde_json's `remaining_depth: 128`
//! (requests and JSON configurations, refused as `invalid_json` with `line` and `column`),
//! toml's (toml_edit's) `LIMIT` of 80 (`bm_dns_zone_new`'s TOML) and serde_yaml_ng's 128 (the
//! YAML block collections of `bm_nmconn_render`). Most requests are typed all the way down and
//! refuse a sequence where a string or a struct belongs at the first level, before anything
//! descends; values skipped as unknown fields are skipped by a loop, at any depth. The tests pin
//! which of these stops each input.
//!
//! YAML flow collections (and JSON, which `bm_nmconn_render` reads through the YAML reader) are
//! a problem of time before one of stack: libyaml's scanner takes time quadratic in their depth
//! and scans the whole document before serde_yaml_ng's limit applies. The pre-check
//! `bm_nmconn::yaml_depth::check_flow_depth` refuses the 129th flow level where it opens
//! ("nested more than 128 deep", with its line and column); without it the 100,000-level cases
//! would take minutes. No timing is asserted.

use std::ffi::{CString, c_char, c_int};
use std::ptr::null_mut;

use bm_testkit::nesting::*;
use serde_json::Value;

use crate::*;

/// A valid VRRP instance, for the calls that need a live handle.
const VRRP: &str = r#"{"vrid": 51, "priority": 60, "vips": ["10.0.0.100"], "primary": "10.0.0.1"}"#;

/// `int f(const char *input, char **out_json, char **err_json)`.
type Call = unsafe extern "C" fn(*const c_char, *mut *mut c_char, *mut *mut c_char) -> c_int;
/// `int f(const char *config, T **out, char **err_json)`: the constructors.
type New<T> = unsafe extern "C" fn(*const c_char, *mut *mut T, *mut *mut c_char) -> c_int;
/// `void f(T *handle)`: the constructors' frees.
type Free<T> = unsafe extern "C" fn(*mut T);

/// What a call returned: its status and error JSON.
struct Outcome {
    status: c_int,
    err: Option<String>,
}

/// `int f(input, &out, &err)` on a 2 MiB thread named `name`.
fn call(name: &'static str, f: Call, input: String) -> Outcome {
    on_small_stack(name, move || {
        let input = CString::new(input).unwrap();
        let (mut out, mut err) = (null_mut(), null_mut());
        // SAFETY: a NUL-terminated input and two writable slots, as every `Call` takes.
        let status = unsafe { f(input.as_ptr(), &mut out, &mut err) };
        take_string(out);
        Outcome { status, err: take_string(err) }
    })
}

/// A constructor (`bm_dns_zone_new`, `bm_bgp_new`, `bm_vrrp_new`) on a 2 MiB thread named
/// `name`; a handle it made is freed with `free`.
fn construct<T: 'static>(name: &'static str, new: New<T>, free: Free<T>, config: String) -> Outcome {
    on_small_stack(name, move || {
        let config = CString::new(config).unwrap();
        let (mut handle, mut err) = (null_mut(), null_mut());
        // SAFETY: a NUL-terminated config and two writable slots.
        let status = unsafe { new(config.as_ptr(), &mut handle, &mut err) };
        if !handle.is_null() {
            // SAFETY: a handle this constructor made on this thread, freed once.
            unsafe { free(handle) };
        }
        Outcome { status, err: take_string(err) }
    })
}

/// The error object of a rejected call.
#[track_caller]
fn rejected(what: &str, o: &Outcome) -> Value {
    let err = o.err.as_deref().unwrap_or_else(|| panic!("{what}: status {} without an error", o.status));
    // Status 2 would be a panic the guard contained; an overflow never returns at all.
    assert_eq!(o.status, BM_REJECTED, "{what}: {}", short(err));
    serde_json::from_str(err).unwrap_or_else(|e| panic!("{what}: error JSON {e}: {}", short(err)))
}

/// Rejected by serde_json's depth limit, as `invalid_json` with the line and column.
#[track_caller]
fn assert_json_depth_refused(what: &str, o: &Outcome) {
    let err = rejected(what, o);
    assert_eq!(err["kind"], "invalid_json", "{what}: {}", short(&err.to_string()));
    assert_depth_refused(what, err["message"].as_str().unwrap());
    assert!(err["line"].is_u64() && err["column"].is_u64(), "{what}: {}", short(&err.to_string()));
}

/// Rejected as the wrong type at the first level of nesting (`line` 1, `column` at most
/// `max_column`): the request's schema refuses before anything descends. Should a field
/// start to take free-form values, this fails and the depth limit must be checked there.
#[track_caller]
fn assert_type_refused_at_start(what: &str, o: &Outcome, max_column: u64) {
    let err = rejected(what, o);
    let text = short(&err.to_string());
    assert_eq!(err["kind"], "invalid_request", "{what}: {text}");
    assert!(err["message"].as_str().unwrap().contains("invalid type"), "{what}: {text}");
    assert_eq!(err["line"], 1, "{what}: {text}");
    assert!(err["column"].as_u64().is_some_and(|c| c <= max_column), "{what}: {text}");
}

#[test]
fn dns_zone_new_refuses_nested_json_records_and_toml_at_the_limits() {
    // An internally tagged record buffers its fields as free-form values before it reads
    // the tag: nesting there reaches serde_json's limit.
    let json = format!(
        r#"{{"cluster": "ostest", "base_domain": "example.com", "api_vips": ["192.168.111.5"],
           "records": [{{"type": "A", "name": {}}}]}}"#,
        arrays(DEPTH)
    );
    let o = construct("bm_dns_zone_new", bm_dns_zone_new, bm_dns_zone_free, json);
    assert_json_depth_refused("bm_dns_zone_new (JSON)", &o);
    let toml = format!(
        "cluster = \"ostest\"\nbase_domain = \"example.com\"\napi_vips = [\"192.168.111.5\"]\nupstreams = {}\n",
        arrays(DEPTH)
    );
    let o = construct("bm_dns_zone_new", bm_dns_zone_new, bm_dns_zone_free, toml);
    let err = rejected("bm_dns_zone_new (TOML)", &o);
    assert_eq!(err["kind"], "invalid_config");
    assert_depth_refused("bm_dns_zone_new (TOML)", err["message"].as_str().unwrap());
}

#[test]
fn nmconn_render_refuses_deep_json_before_parsing_and_nested_yaml_at_serde_yaml_ngs_limit() {
    // JSON goes through the YAML reader (`state::from_yaml`): its depth check refuses it.
    for (shape, text, place) in [
        ("nested JSON arrays", arrays(DEPTH), "line 1, column 129"),
        ("nested JSON objects", json_objects(DEPTH), "line 1, column 641"),
    ] {
        let what = format!("bm_nmconn_render ({shape})");
        let err = rejected(&what, &call("bm_nmconn_render", bm_nmconn_render, text));
        assert_eq!(err["kind"], "invalid_state", "{what}");
        assert_flow_depth_refused(&what, err["message"].as_str().unwrap(), place);
    }
    let what = "bm_nmconn_render (nested YAML block sequences)";
    let err = rejected(what, &call("bm_nmconn_render", bm_nmconn_render, yaml_block_sequences(0)));
    assert_eq!(err["kind"], "invalid_state", "{what}");
    assert_depth_refused(what, err["message"].as_str().unwrap());
}

#[test]
fn nodeip_select_refuses_nested_policy_methods_at_serde_jsons_limit() {
    // A method is internally tagged: its fields are buffered as free-form values first.
    let request =
        format!(r#"{{"snapshot": {{}}, "policy": {{"methods": [{{"method": "cidr", "cidrs": {}}}]}}}}"#, arrays(DEPTH));
    assert_json_depth_refused("bm_nodeip_select", &call("bm_nodeip_select", bm_nodeip_select, request));
}

#[test]
fn addr_classify_refuses_nested_json_where_it_starts() {
    let o = call("bm_addr_classify", bm_addr_classify, format!(r#"{{"addr": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_addr_classify", &o, 10);
}

#[test]
fn bgp_new_refuses_nested_json_where_it_starts() {
    let o = construct("bm_bgp_new", bm_bgp_new, bm_bgp_free, format!(r#"{{"families": [{}]}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_bgp_new", &o, 16);
}

#[test]
fn nmconn_check_refuses_nested_json_where_it_starts() {
    let o = call("bm_nmconn_check", bm_nmconn_check, format!(r#"{{"files": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_nmconn_check", &o, 14);
}

#[test]
fn nodeip_check_arg_refuses_nested_json_where_it_starts_and_skips_deep_unknown_fields() {
    let o = call("bm_nodeip_check_arg", bm_nodeip_check_arg, format!(r#"{{"value": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_nodeip_check_arg", &o, 11);
    // The snapshot skips fields it does not know, at any depth, without recursing: the
    // request reads, and the check runs on the (empty) snapshot.
    let request = format!(r#"{{"value": "10.0.0.5", "on_host": true, "snapshot": {{"x": {}}}}}"#, arrays(DEPTH));
    let err = rejected("bm_nodeip_check_arg", &call("bm_nodeip_check_arg", bm_nodeip_check_arg, request));
    assert_eq!(err["kind"], "rejected_by_kubelet", "{}", short(&err.to_string()));
    assert!(err["message"].as_str().unwrap().contains("not found in the host's network interfaces"), "{err}");
}

#[test]
fn vrrp_openshift_vrids_refuses_nested_json_where_it_starts() {
    let o = call("bm_vrrp_openshift_vrids", bm_vrrp_openshift_vrids, format!(r#"{{"name": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_vrrp_openshift_vrids", &o, 10);
}

#[test]
fn preflight_drift_refuses_nested_json_where_it_starts_and_skips_deep_unknown_fields() {
    let o = call("bm_preflight_drift", bm_preflight_drift, format!(r#"{{"keyfiles": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_preflight_drift", &o, 17);
    // The snapshot skips fields it does not know, at any depth, without recursing.
    let request = format!(r#"{{"keyfiles": [], "snapshot": {{"x": {}}}}}"#, json_objects(DEPTH));
    let o = call("bm_preflight_drift", bm_preflight_drift, request);
    assert_eq!(o.status, BM_OK, "{:?}", o.err.as_deref().map(short));
}

#[test]
fn vrrp_new_refuses_nested_json_and_keepalived_requests_where_they_start() {
    let o = construct("bm_vrrp_new", bm_vrrp_new, bm_vrrp_free, format!(r#"{{"vips": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_vrrp_new (JSON)", &o, 11);
    let o = construct("bm_vrrp_new", bm_vrrp_new, bm_vrrp_free, format!(r#"{{"keepalived": {}}}"#, arrays(DEPTH)));
    assert_type_refused_at_start("bm_vrrp_new (keepalived request)", &o, 16);
}

#[test]
fn vrrp_report_vips_refuses_nested_json_where_it_starts() {
    let report = format!(r#"{{"op": "add", "vips": {}}}"#, arrays(DEPTH));
    let o = on_small_stack("bm_vrrp_report_vips", move || {
        let (config, report) = (CString::new(VRRP).unwrap(), CString::new(report).unwrap());
        let (mut vrrp, mut err) = (null_mut(), null_mut());
        // SAFETY: a NUL-terminated config and two writable slots.
        assert_eq!(unsafe { bm_vrrp_new(config.as_ptr(), &mut vrrp, &mut err) }, BM_OK, "{:?}", take_string(err));
        // SAFETY: a live handle used by this thread only, a NUL-terminated report and a
        // writable slot.
        let status = unsafe { bm_vrrp_report_vips(vrrp, 0, report.as_ptr(), &mut err) };
        // SAFETY: the handle made above, freed once, not used afterwards.
        unsafe { bm_vrrp_free(vrrp) };
        Outcome { status, err: take_string(err) }
    });
    assert_type_refused_at_start("bm_vrrp_report_vips", &o, 23);
}

#[test]
fn vrrp_router_add_and_report_vips_refuse_nested_json_where_they_start() {
    let config = format!(r#"{{"vips": {}}}"#, arrays(DEPTH));
    let report = format!(r#"{{"op": "add", "vips": {}}}"#, arrays(DEPTH));
    let (add, report) = on_small_stack("bm_vrrp_router_add and bm_vrrp_router_report_vips", move || {
        let mut router = null_mut();
        // SAFETY: a writable slot.
        assert_eq!(unsafe { bm_vrrp_router_new(&mut router) }, BM_OK);
        let (good, bad, report) =
            (CString::new(VRRP).unwrap(), CString::new(config).unwrap(), CString::new(report).unwrap());
        let (mut id, mut err) = (0u32, null_mut());
        // SAFETY: a live router used by this thread only, a NUL-terminated config and
        // writable slots.
        let status = unsafe { bm_vrrp_router_add(router, 2, good.as_ptr(), &mut id, &mut err) };
        assert_eq!(status, BM_OK, "{:?}", take_string(err));
        // SAFETY: as above.
        let status = unsafe { bm_vrrp_router_add(router, 2, bad.as_ptr(), &mut id, &mut err) };
        let added = Outcome { status, err: take_string(err) };
        // SAFETY: a live router, the instance added above, a NUL-terminated report, a writable
        // slot.
        let status = unsafe { bm_vrrp_router_report_vips(router, 0, id, report.as_ptr(), &mut err) };
        let reported = Outcome { status, err: take_string(err) };
        // SAFETY: the router made above, freed once, not used afterwards.
        unsafe { bm_vrrp_router_free(router) };
        (added, reported)
    });
    assert_type_refused_at_start("bm_vrrp_router_add", &add, 11);
    assert_type_refused_at_start("bm_vrrp_router_report_vips", &report, 23);
}
