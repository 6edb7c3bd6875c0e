//! Fuzzes the keepalived.conf parser: no input may panic, every diagnostic points inside the
//! text, and every instance it returns without errors runs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let conf = bm_vrrp::parse_keepalived(text, "f", &mut |_| Ok("vrrp_instance I { virtual_router_id 1 }".into()));
    let lines = text.lines().count().max(1);
    for d in &conf.diagnostics {
        assert!(d.line >= 1 && (d.file != "f" || d.line <= lines), "{d}");
    }
    if !conf.has_errors() {
        for i in &conf.instances {
            let _ = i.config_for("10.0.0.1".parse().unwrap());
        }
    }
});
