//! `bm_fuzz::dns_fast_vs_general` under libFuzzer (what it checks is documented there).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bm_fuzz::dns_fast_vs_general::run(data));
