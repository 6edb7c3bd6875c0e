//! Deeply nested input and the checks on what a reader says about it, for the attacker tests
//! that feed every reader of outside JSON, YAML and TOML (the root package's
//! `tests/nesting_limits.rs`, and bm-capi's for the C ABI).
//!
//! ```
//! use bm_testkit::nesting::{arrays, on_small_stack};
//! let depth = on_small_stack("count", || arrays(3).matches('[').count());
//! assert_eq!(depth, 3);
//! ```

/// Nesting levels of JSON, TOML and YAML: past 2 MiB of stack for every library (15,100 levels
/// for serde_json, the cheapest), and far past each limit (80 for TOML, 128 for JSON and YAML).
pub const DEPTH: usize = 100_000;

/// The stack every in-process case runs on: 2 MiB, `std::thread`'s default.
pub const STACK: usize = 2 << 20;

/// Runs `f` on a thread with a 2 MiB stack named `entry`, so that an overflow names the entry
/// point that overflowed; a panic fails the test with the entry point's name.
pub fn on_small_stack<T: Send + 'static>(entry: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .name(entry.to_string())
        .stack_size(STACK)
        .spawn(f)
        .expect("spawn a thread")
        .join()
        .unwrap_or_else(|_| panic!("{entry} panicked on nested input"))
}

/// `open` `depth` times, then `inner`, then `close` `depth` times.
pub fn nested(open: &str, inner: &str, close: &str, depth: usize) -> String {
    let mut s = String::with_capacity((open.len() + close.len()) * depth + inner.len());
    for _ in 0..depth {
        s.push_str(open);
    }
    s.push_str(inner);
    for _ in 0..depth {
        s.push_str(close);
    }
    s
}

/// `[[[…]]]`: JSON, YAML flow sequences and TOML arrays alike.
pub fn arrays(depth: usize) -> String {
    nested("[", "", "]", depth)
}

/// `{"a":{"a":…1…}}`: JSON objects (YAML flow mappings to a YAML reader).
pub fn json_objects(depth: usize) -> String {
    nested(r#"{"a":"#, "1", "}", depth)
}

/// `- - - … x`: YAML block sequences [`DEPTH`] deep, each nested in the one before on the same
/// line, starting at column `indent`.
pub fn yaml_block_sequences(indent: usize) -> String {
    format!("{}{}x\n", " ".repeat(indent), "- ".repeat(DEPTH))
}

/// The start and end of a message that may quote the whole 200 kB line.
pub fn short(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 600 {
        return text.to_string();
    }
    let (head, tail): (String, String) = (chars[..300].iter().collect(), chars[chars.len() - 300..].iter().collect());
    format!("{head} … {tail}")
}

/// The library's depth limit stopped the parse, and the message says so and where.
#[track_caller]
pub fn assert_depth_refused(what: &str, message: &str) {
    assert!(
        message.contains("recursion limit exceeded"),
        "{what}: the error does not say the input is nested too deeply: {}",
        short(message)
    );
    assert!(
        message.contains("line") && message.contains("column"),
        "{what}: the error has no place: {}",
        short(message)
    );
}

/// Refused by `bm_nmconn::yaml_depth::check_flow_depth` before libyaml's quadratic scan: the
/// message says so, with the limit, and `place` (the `[` or `{` that opens level 129).
#[track_caller]
pub fn assert_flow_depth_refused(what: &str, message: &str, place: &str) {
    assert!(
        message.contains("nested more than 128 deep") && message.contains(place),
        "{what}: not refused for its flow collections' depth at {place}: {}",
        short(message)
    );
}
