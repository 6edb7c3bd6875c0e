//! Deeply nested JSON, YAML and TOML against every reader that takes them from outside: the
//! cluster zone (`bm_dns::ZoneConfig::from_toml`), nmstate states (`bm_nmconn::state::from_json`
//! and `from_yaml`), install-config (`bm_preflight::InstallConfig`), host snapshots
//! (`bm_nodeip::HostSnapshot`) and the `bmnet` commands that read such files. The C ABI's JSON
//! requests are played the same way in bm-capi itself (`crates/bm-capi/src/nesting_limits.rs`),
//! where its `extern "C"` functions are called directly.
//!
//! Why: each of these parsers descends recursively, one or more stack frames per level, and
//! 100,000 levels is 200 kB of text. What stops the descent is the parsing library's own
//! limit, which the project relies on and nothing else tested: serde_json's
//! `remaining_depth: 128` (serde_json 1.0.154, src/de.rs:63, checked at :1375),
//! serde_yaml_ng's `remaining_depth: 128` (serde_yaml_ng 0.10.0, src/de.rs:112 and :133,
//! checked in `recursion_check` at :637) and toml_edit's `LIMIT: usize = 80` (toml_edit 0.22.27,
//! src/parser/mod.rs:97, checked at :113 for arrays and inline tables and at src/parser/key.rs:38
//! for dotted keys), the parser of toml 0.8. A stack overflow is not a panic: it aborts the
//! process, which no `Result`, no `catch_unwind` (the C ABI's guard) and no reload loop can
//! contain — one hostile state file or C ABI request would kill the installer or daemon that
//! read it. Values that a reader skips (unknown fields of types that allow them) are skipped by
//! loops with a heap stack (serde_json's `ignore_value`, src/de.rs:1102; serde_yaml_ng's
//! `ignore_any`, src/de.rs:498), so they are accepted at any depth; the tests pin that too.
//!
//! Every in-process case runs on a thread with a 2 MiB stack, a Rust thread's default (what a
//! library user's worker thread has), named after the entry point: an overflow aborts this test
//! binary with "thread '<entry point>' has overflowed its stack". The commands run with a 2 MiB
//! main-thread stack (`ulimit -s 2048`).
//!
//! The tests cannot pass without a defence: a reader without a limit either overflows (the
//! binary aborts) or accepts the input (the assertion on the error fails). Each depth below is
//! past what a 2 MiB stack holds, from the stack each library's recursion takes a level,
//! measured as the smallest thread stack that parses 10 and 120 levels (70 for TOML) into
//! `serde_json::Value` or `toml::Table`, release build (debug takes 4 to 12 times more): serde_json
//! 139 bytes a level (2 MiB is 15,100 levels), serde_yaml_ng 315 for flow sequences (6,700) and
//! 743 for mappings (2,800), toml 2,197 (950). The readers here add their own frames on top.
//!
//! YAML flow collections (`[[…]]`, `{a: {a: …}}`, JSON given to a YAML reader) are a problem
//! of time before one of stack: libyaml's scanner takes time quadratic in their depth
//! (unsafe-libyaml 0.2.11, `yaml_parser_fetch_more_tokens`, src/scanner.rs:178, walks every open
//! level for every token; yaml/yaml-serde#1) and scans the whole document before serde_yaml_ng's
//! limit applies: 100,000 levels of `{a: ` (500 kB) took 154 s in a release build. So every
//! reader of YAML from outside first runs `bm_nmconn::yaml_depth::check_flow_depth`, a linear
//! pass that refuses the 129th flow level where it opens ("nested more than 128 deep", with
//! its line and column); the YAML flow cases here are 100,000 deep and would take minutes
//! without it. No timing is asserted: without the check these tests would not end in time.

// Writes scratch files and runs the binary.
#![allow(clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use bm_dns::ZoneConfig;
use bm_nodeip::HostSnapshot;
use bm_preflight::InstallConfig;
use bm_testkit::nesting::*;

/// Levels of YAML block mappings: each level is indented one more column, so the text grows
/// with the square of the depth (4,000 levels: 8 MB); past the 2,800 levels of mappings 2 MiB
/// holds.
const BLOCK_DEPTH: usize = 4_000;

/// `{a: {a: …1…}}`: YAML flow mappings in YAML's own spelling.
fn yaml_flow_mappings() -> String {
    nested("{a: ", "1", "}", DEPTH)
}

/// `a:\n a:\n  a: …`: YAML block mappings, one level a line, starting at column `indent`.
fn yaml_block_mappings(indent: usize) -> String {
    let line = |i: usize| format!("{}a:\n", " ".repeat(indent + i));
    (0..BLOCK_DEPTH).map(line).collect::<String>() + &" ".repeat(indent + BLOCK_DEPTH) + "x\n"
}

/// A valid zone configuration whose `field` is `value`.
fn zone_toml(field: &str, value: &str) -> String {
    format!("cluster = \"ostest\"\nbase_domain = \"example.com\"\napi_vips = [\"192.168.111.5\"]\n{field} = {value}\n")
}

#[test]
fn zone_config_from_toml_refuses_nested_arrays_tables_and_keys_at_tomls_limit() {
    let dotted = vec!["a"; DEPTH].join(".");
    for (shape, text) in [
        ("nested arrays", zone_toml("upstreams", &arrays(DEPTH))),
        ("nested inline tables", zone_toml("soa", &nested("{ a = ", "1", " }", DEPTH))),
        ("arrays of inline tables", zone_toml("records", &nested("[{ a = ", "1", " }]", DEPTH))),
        // Each dot is a level of tables the document builds under the key.
        ("a dotted key", zone_toml(&dotted, "1")),
        ("a table header", format!("{}\n[{dotted}]\n", zone_toml("ttl", "30"))),
        ("an array-of-tables header", format!("{}\n[[{dotted}]]\n", zone_toml("ttl", "30"))),
    ] {
        let result = on_small_stack("bm_dns::ZoneConfig::from_toml", move || ZoneConfig::from_toml(&text));
        let err = result.expect_err(shape).to_string();
        assert_depth_refused(shape, &err);
    }
}

#[test]
fn nmstate_from_json_refuses_nesting_at_serde_jsons_limit() {
    for (shape, text) in [
        ("nested arrays", arrays(DEPTH)),
        ("nested objects", json_objects(DEPTH)),
        // Deep inside a state that reads well up to there: depth counts anywhere.
        (
            "nested arrays in an interface",
            format!(
                r#"{{"interfaces": [{{"name": "bond0", "type": "bond", "link-aggregation": {}}}]}}"#,
                arrays(DEPTH)
            ),
        ),
    ] {
        let result = on_small_stack("bm_nmconn::state::from_json", move || bm_nmconn::state::from_json(&text));
        let err = result.expect_err(shape);
        assert_depth_refused(shape, &err.message);
    }
}

#[test]
fn nmstate_from_yaml_refuses_deep_flow_nesting_before_parsing() {
    for (shape, text, place) in [
        ("nested flow sequences", arrays(DEPTH), "line 1, column 129"),
        ("nested flow mappings", yaml_flow_mappings(), "line 1, column 513"),
        ("nested JSON objects", json_objects(DEPTH), "line 1, column 641"),
        (
            "nested flow sequences in a NodeNetworkConfigurationPolicy",
            format!(
                "apiVersion: nmstate.io/v1\nkind: NodeNetworkConfigurationPolicy\nspec:\n  desiredState:\n    \
                 interfaces:\n    - name: bond0\n      options: {}\n",
                arrays(DEPTH)
            ),
            "line 7, column 144",
        ),
    ] {
        let result = on_small_stack("bm_nmconn::state::from_yaml", move || bm_nmconn::state::from_yaml(&text));
        let err = result.expect_err(shape);
        assert_flow_depth_refused(shape, &err.message, place);
    }
}

#[test]
fn nmstate_from_yaml_refuses_block_nesting_at_serde_yaml_ngs_limit() {
    for (shape, text) in [
        ("nested block sequences", yaml_block_sequences(0)),
        ("nested block mappings", yaml_block_mappings(0)),
        (
            "nested block sequences in a NodeNetworkConfigurationPolicy",
            format!(
                "apiVersion: nmstate.io/v1\nkind: NodeNetworkConfigurationPolicy\nspec:\n  desiredState:\n    \
                 interfaces:\n    - name: bond0\n      options:\n{}",
                yaml_block_sequences(6)
            ),
        ),
    ] {
        let result = on_small_stack("bm_nmconn::state::from_yaml", move || bm_nmconn::state::from_yaml(&text));
        let err = result.expect_err(shape);
        assert_depth_refused(shape, &err.message);
    }
}

/// install-config as `bmnet preflight --config` reads it: the depth check, then
/// `serde_yaml_ng::from_str` into `InstallConfig` (bm-preflight has no reader of its own).
fn install_config(text: String) -> Result<InstallConfig, String> {
    on_small_stack("bmnet preflight --config (serde_yaml_ng into InstallConfig)", move || {
        bm_nmconn::yaml_depth::check_flow_depth(&text)
            .map_err(|e| format!("line {}, column {}: {e}", e.line, e.column))?;
        serde_yaml_ng::from_str::<InstallConfig>(&text).map_err(|e| e.to_string())
    })
}

#[test]
fn install_config_refuses_deep_flow_nesting_before_parsing() {
    for (shape, text, place) in [
        (
            "nested flow sequences as metadata.name",
            format!("metadata:\n  name: {}\n", arrays(DEPTH)),
            "line 2, column 137",
        ),
        // The object around them is the first level.
        ("nested JSON arrays as networking", format!(r#"{{"networking": {}}}"#, arrays(DEPTH)), "line 1, column 143"),
    ] {
        let err = install_config(text).expect_err(shape);
        assert_flow_depth_refused(shape, &err, place);
    }
}

#[test]
fn install_config_refuses_block_nesting_in_its_fields_where_it_starts() {
    // Every field the checks read is typed: a sequence where a string or a struct belongs is
    // refused at the first level, with its place, before anything descends.
    let err = install_config(format!("platform:\n{}", yaml_block_sequences(0))).expect_err("block sequences");
    assert!(err.contains("invalid type") && err.contains("line 2 column 1"), "{}", short(&err));
}

#[test]
fn install_config_skips_deep_unknown_fields_without_recursing() {
    // install-config has many fields the checks do not read; serde_yaml_ng skips them with a
    // loop, not a recursion, so depth there costs no stack and the file still reads: at any
    // depth of block collections, and up to the depth check's 128 levels of flow collections.
    for (shape, text) in [
        ("128 levels of flow sequences", format!("metadata:\n  name: ostest\ncompute: {}\n", arrays(128))),
        ("nested block sequences", format!("metadata:\n  name: ostest\ncompute:\n{}", yaml_block_sequences(0))),
        ("nested block mappings", format!("metadata:\n  name: ostest\nsshKey:\n{}", yaml_block_mappings(1))),
    ] {
        let ic = install_config(text).unwrap_or_else(|e| panic!("{shape}: {}", short(&e)));
        assert_eq!(ic.metadata.name, "ostest", "{shape}");
    }
    // Deeper flow collections cost libyaml time quadratic in their depth even where they are
    // skipped: refused there too.
    let err = install_config(format!("metadata:\n  name: ostest\ncompute: {}\n", arrays(DEPTH))).unwrap_err();
    assert_flow_depth_refused("nested flow sequences in an unknown field", &err, "line 3, column 138");
}

/// A host snapshot as `bmnet node-ip --snapshot` and the C ABI read it: `serde_json` into
/// `HostSnapshot` (bm-nodeip has no reader of its own).
fn host_snapshot(text: String) -> Result<HostSnapshot, String> {
    on_small_stack("bmnet node-ip --snapshot (serde_json into HostSnapshot)", move || {
        serde_json::from_str::<HostSnapshot>(&text).map_err(|e| e.to_string())
    })
}

#[test]
fn host_snapshot_refuses_nesting_in_its_fields_where_it_starts() {
    for (shape, text, place) in [
        ("nested arrays as links", format!(r#"{{"links": {}}}"#, arrays(DEPTH)), "line 1 column 12"),
        ("nested arrays as an address", format!(r#"{{"addresses": [{}]}}"#, arrays(DEPTH)), "line 1 column 16"),
        ("nested arrays as the document", arrays(DEPTH), "line 1 column 3"),
    ] {
        let err = host_snapshot(text).expect_err(shape);
        assert!(err.contains("invalid type") && err.contains(place), "{shape}: {}", short(&err));
    }
}

#[test]
fn host_snapshot_skips_deep_unknown_fields_without_recursing() {
    // A snapshot from a newer bmnet may carry fields this one does not know: skipped by
    // serde_json's loop at any depth.
    let text = format!(
        r#"{{"links": [{{"index": 1, "name": "lo", "up": true, "future": {}}}], "also": {}}}"#,
        arrays(DEPTH),
        json_objects(DEPTH)
    );
    let snapshot = host_snapshot(text).unwrap_or_else(|e| panic!("{}", short(&e)));
    assert_eq!(snapshot.links[0].name, "lo");
}

/// A scratch directory for one test, removed on drop (the attack files are megabytes).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("bmnet-nesting-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes `text` to `dir/name` and returns the path as a string.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// Runs `bmnet` with a 2 MiB main-thread stack (`ulimit -s 2048`, set before exec).
fn bmnet_small_stack(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"ulimit -s 2048 && exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_bmnet"))
        .args(args)
        .env("BMNET_STATUS_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/bmnet-status"))
        .output()
        .expect("run bmnet")
}

/// `bmnet` exited with `code` (not killed by a signal, as an overflow's abort is) and its
/// error says `says`.
#[track_caller]
fn assert_exit(what: &str, o: &Output, code: i32, says: &[&str]) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{what}: {} {}", o.status, short(&stderr));
    for s in says {
        assert!(stderr.contains(s), "{what}: no {s:?} in {}", short(&stderr));
    }
}

#[test]
fn bmnet_dns_zonefile_refuses_nested_toml_at_tomls_limit() {
    let scratch = Scratch::new("dns");
    let d = &scratch.0;
    let config = file(d, "zone.toml", &zone_toml("upstreams", &arrays(DEPTH)));
    let o = bmnet_small_stack(&["dns", "zonefile", "--config", &config]);
    assert_exit("bmnet dns zonefile", &o, 1, &["recursion limit exceeded", "zone.toml:4:"]);
}

#[test]
fn bmnet_nmconn_render_refuses_nested_yaml_and_writes_nothing() {
    let scratch = Scratch::new("render");
    let d = &scratch.0;
    let out_dir = d.join("out");
    for (name, text, says) in [
        ("arrays.json", arrays(DEPTH), ["nested more than 128 deep", "line 1, column 129"]),
        ("block.yaml", yaml_block_sequences(0), ["recursion limit exceeded", "line 1, column"]),
    ] {
        let state = file(d, name, &text);
        let o = bmnet_small_stack(&["nmconn", "render", &state, "--out-dir", out_dir.to_str().unwrap()]);
        assert_exit(&format!("bmnet nmconn render {name}"), &o, 1, &says);
    }
    assert!(std::fs::read_dir(&out_dir).map(|mut e| e.next().is_none()).unwrap_or(true), "render wrote files");
}

#[test]
fn bmnet_bgp_check_config_refuses_nested_yaml_and_toml_at_the_limits() {
    // YAML: the depth check refuses the 129th flow level before libyaml scans the file (without
    // it, a peer's `holdTime`, an untagged enum buffered as a free-form value, would reach
    // serde_yaml_ng's limit after minutes). TOML's parser refuses the depth before any field is
    // read.
    let scratch = Scratch::new("bgp");
    let d = &scratch.0;
    let yaml = format!(
        "localASN: 64601\nrouterID: 10.0.0.11\nvips: []\npeers:\n- peerAddress: 10.0.0.1\n  peerASN: 64512\n  holdTime: {}\n",
        arrays(DEPTH)
    );
    let o = bmnet_small_stack(&["bgp", "check-config", &file(d, "bgp.yaml", &yaml)]);
    assert_exit("bmnet bgp check-config (YAML)", &o, 1, &["nested more than 128 deep", "bgp.yaml:7:141:"]);
    let toml = format!(
        "localASN = 64601\nrouterID = \"10.0.0.11\"\nvips = []\n[[peers]]\npeerAddress = \"10.0.0.1\"\npeerASN = 64512\nholdTime = {}\n",
        arrays(DEPTH)
    );
    let o = bmnet_small_stack(&["bgp", "check-config", &file(d, "bgp.toml", &toml)]);
    assert_exit("bmnet bgp check-config (TOML)", &o, 1, &["recursion limit exceeded", "bgp.toml:7:"]);
}

#[test]
fn bmnet_preflight_refuses_deep_install_config_before_parsing() {
    let scratch = Scratch::new("preflight");
    let d = &scratch.0;
    let config = file(d, "install-config.yaml", &format!("metadata:\n  name: {}\n", arrays(DEPTH)));
    let o = bmnet_small_stack(&["preflight", "--offline", "--config", &config]);
    assert_exit("bmnet preflight --config", &o, 2, &["install-config.yaml:2:137:", "nested more than 128 deep"]);
}

#[test]
fn bmnet_node_ip_refuses_nested_snapshot_where_it_starts() {
    let scratch = Scratch::new("nodeip");
    let d = &scratch.0;
    let snapshot = file(d, "snapshot.json", &format!(r#"{{"links": {}}}"#, arrays(DEPTH)));
    let o = bmnet_small_stack(&["node-ip", "--snapshot", &snapshot]);
    assert_exit("bmnet node-ip --snapshot", &o, 2, &["invalid type", "line 1 column 12"]);
}
