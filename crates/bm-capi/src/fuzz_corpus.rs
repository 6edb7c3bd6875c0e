//! The `capi_json` fuzz target's corpus (`fuzz/corpus/capi_json/`) through the real entry
//! points. The fuzz target cannot link this crate (a `cdylib` and `staticlib` only), so it
//! drives the same crates' functions with the same request shapes (`bm_fuzz::capi_json::call`);
//! this test holds the two together: every input gets the same status from both, never an
//! internal failure, and its JSON in the right slot.

use std::ffi::{CString, c_int};
use std::path::Path;
use std::ptr::null_mut;

use bm_fuzz::capi_json::{Entry, FIXED_VRRP, call, decode};

use crate::*;

const S: u64 = 1_000_000_000;

fn c(bytes: &[u8]) -> CString {
    CString::new(bytes).expect("decode stops at the first NUL")
}

/// A started instance of `FIXED_VRRP`.
fn fixed() -> *mut BmVrrp {
    let config = c(FIXED_VRRP.as_bytes());
    let (mut v, mut err) = (null_mut(), null_mut());
    // SAFETY: a NUL-terminated config and writable slots.
    assert_eq!(unsafe { bm_vrrp_new(config.as_ptr(), &mut v, &mut err) }, BM_OK, "{:?}", take_string(err));
    // SAFETY: a live handle.
    unsafe { bm_vrrp_start(v, S) };
    v
}

/// The entry point's status for `input`, its result and its error.
fn abi(entry: Entry, input: &[u8]) -> Vec<(c_int, Option<String>, Option<String>)> {
    let text = c(input);
    let (mut out, mut err) = (null_mut(), null_mut());
    let mut results = Vec::new();
    // SAFETY: NUL-terminated inputs, writable out-parameters, and handles made here, used by
    // this thread only and freed once.
    unsafe {
        match entry {
            Entry::AddrClassify => {
                let s = bm_addr_classify(text.as_ptr(), &mut out, &mut err);
                results.push((s, take_string(out), take_string(err)));
            }
            Entry::DnsZoneNew => {
                let mut zone = null_mut();
                let s = bm_dns_zone_new(text.as_ptr(), &mut zone, &mut err);
                bm_dns_zone_free(zone);
                results.push((s, None, take_string(err)));
            }
            Entry::NmconnCheck => {
                let s = bm_nmconn_check(text.as_ptr(), &mut out, &mut err);
                results.push((s, take_string(out), take_string(err)));
            }
            Entry::NmconnRender => {
                let s = bm_nmconn_render(text.as_ptr(), &mut out, &mut err);
                results.push((s, take_string(out), take_string(err)));
            }
            Entry::NodeipSelect => {
                let s = bm_nodeip_select(text.as_ptr(), &mut out, &mut err);
                results.push((s, take_string(out), take_string(err)));
            }
            Entry::NodeipCheckArg => {
                let s = bm_nodeip_check_arg(text.as_ptr(), &mut out, &mut err);
                results.push((s, take_string(out), take_string(err)));
            }
            Entry::VrrpNew => {
                let mut v = null_mut();
                let s = bm_vrrp_new(text.as_ptr(), &mut v, &mut err);
                bm_vrrp_free(v);
                results.push((s, None, take_string(err)));
            }
            Entry::VrrpRouterAdd => {
                let mut r = null_mut();
                assert_eq!(bm_vrrp_router_new(&mut r), BM_OK);
                let mut id = 0;
                let s = bm_vrrp_router_add(r, 2, text.as_ptr(), &mut id, &mut err);
                bm_vrrp_router_free(r);
                results.push((s, None, take_string(err)));
            }
            Entry::VrrpReportVips => {
                let v = fixed();
                let s = bm_vrrp_report_vips(v, 2 * S, text.as_ptr(), &mut err);
                bm_vrrp_free(v);
                results.push((s, None, take_string(err)));
                let mut r = null_mut();
                let config = c(FIXED_VRRP.as_bytes());
                assert_eq!(bm_vrrp_router_new(&mut r), BM_OK);
                assert_eq!(bm_vrrp_router_add(r, 2, config.as_ptr(), null_mut(), null_mut()), BM_OK);
                bm_vrrp_router_start(r, S);
                let s = bm_vrrp_router_report_vips(r, 2 * S, 0, text.as_ptr(), &mut err);
                bm_vrrp_router_free(r);
                results.push((s, None, take_string(err)));
            }
            Entry::BgpNew => {
                let mut h = null_mut();
                let s = bm_bgp_new(text.as_ptr(), &mut h, &mut err);
                bm_bgp_free(h);
                results.push((s, None, take_string(err)));
            }
            Entry::VrrpTextArgs => {
                let v = fixed();
                let _known = bm_vrrp_set_check(v, 2 * S, text.as_ptr(), 1);
                let at = input.iter().position(|&b| b == b'\n').unwrap_or(input.len());
                let (to, error) = (c(&input[..at]), input.get(at + 1..).filter(|e| !e.is_empty()).map(c));
                let s =
                    bm_vrrp_report_send(v, 2 * S, to.as_ptr(), error.as_ref().map_or(std::ptr::null(), |e| e.as_ptr()));
                bm_vrrp_free(v);
                results.push((s, None, None));
            }
        }
    }
    results
}

#[test]
fn fuzz_corpus_through_the_abi() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/capi_json");
    let mut paths: Vec<_> = std::fs::read_dir(&dir).expect("the capi_json corpus").map(|e| e.unwrap().path()).collect();
    paths.sort();
    let mut compared = 0;
    let mut wrong = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).unwrap();
        let Some((entry, input)) = decode(&data) else { continue };
        // `None`: the entry point would read this host's network.
        let Some(mirror) = call(entry, input) else { continue };
        for (status, out, err) in abi(entry, input) {
            let name = path.file_name().unwrap().to_string_lossy();
            if status != mirror {
                wrong.push(format!("{name} ({entry:?}): status {status}, the fuzz target's {mirror}: {err:?}"));
            }
            if let Some(e) = &err {
                let v: serde_json::Value = serde_json::from_str(e).unwrap_or_else(|x| panic!("{name}: {x}: {e}"));
                assert!(v["kind"].is_string() && v["message"].is_string(), "{name}: {e}");
            }
            if let Some(o) = out.filter(|o| !o.is_empty()) {
                serde_json::from_str::<serde_json::Value>(&o).unwrap_or_else(|x| panic!("{name}: {x}: {o}"));
            }
            compared += 1;
        }
    }
    assert!(wrong.is_empty(), "{} of {compared} calls disagree:\n{}", wrong.len(), wrong.join("\n"));
    assert!(compared >= 20, "only {compared} corpus inputs compared");
}
