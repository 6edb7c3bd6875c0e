//! bm-fuzz: the bodies of bmnet's fuzz targets, one module each, so that the same code runs
//! under libFuzzer (`fuzz/`, with cargo-fuzz) and, over the committed corpora
//! (`fuzz/corpus/TARGET/`), under the plain test harness on every `scripts/test`
//! (`tests/corpus.rs`): a regression fails CI without a fuzzer.
//!
//! Each target takes arbitrary bytes, must never panic on them, and checks its own properties
//! with assertions (a round trip, an agreement between two paths, a bound); see each module.

#![forbid(unsafe_code)]
#![allow(missing_docs, clippy::disallowed_methods)] // Test code: panics are its verdicts.

pub mod addr_parse;
pub mod bfd_packet;
pub mod bgp_message;
pub mod bgp_session;
pub mod capi_json;
pub mod dns_answer;
pub mod dns_dispatch;
pub mod dns_fast_vs_general;
pub mod dns_tcp_framing;
pub mod install_config;
pub mod keepalived_include;
pub mod keepalived_parse;
pub mod keyfile_drift;
pub mod keyfile_parse;
pub mod keyfile_roundtrip;
pub mod nmconn_check;
pub mod nmconn_set;
pub mod nmstate_yaml;
pub mod nodeip_arg;
pub mod nodeip_select;
pub mod preflight_probe;
pub mod vrrp_packet;
pub mod vrrp_survey;
pub mod xdp_frame;
pub mod zone_toml;

/// A target's body: one input, checked.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/fuzz_targets/` binary and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("addr_parse", addr_parse::run),
    ("bfd_packet", bfd_packet::run),
    ("bgp_message", bgp_message::run),
    ("bgp_session", bgp_session::run),
    ("capi_json", capi_json::run),
    ("dns_answer", dns_answer::run),
    ("dns_dispatch", dns_dispatch::run),
    ("dns_fast_vs_general", dns_fast_vs_general::run),
    ("dns_tcp_framing", dns_tcp_framing::run),
    ("install_config", install_config::run),
    ("keepalived_include", keepalived_include::run),
    ("keepalived_parse", keepalived_parse::run),
    ("keyfile_drift", keyfile_drift::run),
    ("keyfile_parse", keyfile_parse::run),
    ("keyfile_roundtrip", keyfile_roundtrip::run),
    ("nmconn_check", nmconn_check::run),
    ("nmconn_set", nmconn_set::run),
    ("nmstate_yaml", nmstate_yaml::run),
    ("nodeip_arg", nodeip_arg::run),
    ("nodeip_select", nodeip_select::run),
    ("preflight_probe", preflight_probe::run),
    ("vrrp_packet", vrrp_packet::run),
    ("vrrp_survey", vrrp_survey::run),
    ("xdp_frame", xdp_frame::run),
    ("zone_toml", zone_toml::run),
];
