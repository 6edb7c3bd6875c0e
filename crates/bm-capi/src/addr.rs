//! `bm_addr_classify`.

use std::ffi::{c_char, c_int};

use bm_addr::{ParseOptions, ZonePolicy, parse_addr_with, report};
use serde::Deserialize;

use crate::ffi::{self, Failure};

/// Classifies one address: the same JSON object as `bmnet addr classify --json` (`input`,
/// `canonical`, `family`, `kind`, `embedded_ipv4`, `scope`, `registry`, the `is_*` predicates,
/// `zone`, `bind_family`, `bind_address`, and `warning` in sloppy mode).
///
/// `input` is the address (`"::ffff:192.168.0.14"`, `"fe80::1%eth0"`), parsed strictly, or a
/// JSON request `{"addr": "010.1.1.1", "sloppy": true}` to read it as kubelet's `ParseIPSloppy`
/// does. An address that does not parse is rejected (status 1) with `kind`
/// `invalid_address`, the reason in `message` and the byte in `offset`.
///
/// Thread-safe; allocates only the returned string.
///
/// # Safety
///
/// `input` is NULL or a NUL-terminated string; `out_json` and `err_json` are NULL or point to
/// writable `char *` slots. Returned strings are freed with `bm_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_addr_classify(
    input: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `input` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(input, "input") }?;
        classify(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyRequest {
    addr: String,
    #[serde(default)]
    sloppy: bool,
}

fn classify(text: &str) -> Result<String, Failure> {
    let request = if text.trim_start().starts_with('{') {
        ffi::request::<ClassifyRequest>(text)?
    } else {
        ClassifyRequest { addr: text.to_string(), sloppy: false }
    };
    let opts = if request.sloppy { ParseOptions::sloppy() } else { ParseOptions::strict() }.zone(ZonePolicy::Allow);
    match parse_addr_with(&request.addr, &opts) {
        Ok(parsed) => ffi::to_json(&report::record(&request.addr, &parsed)),
        Err(e) => {
            Err(Failure::rejected("invalid_address", e.kind).with("input", &request.addr).with("offset", e.offset))
        }
    }
}
