//! `bm_fuzz::keyfile_drift` under libFuzzer (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bm_fuzz::keyfile_drift::run(data));
