//! `bm_fuzz::bgp_session` under libFuzzer (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bm_fuzz::bgp_session::run(data));
