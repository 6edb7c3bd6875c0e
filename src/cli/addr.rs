//! `bmnet addr classify`.

use std::fmt::Write as _;

use bmnet::addr::{self, BindTarget, ParseError, ParseOptions, Parsed, ScopedAddr, ZonePolicy};
use serde_json::{Map, Value, json};

use super::Status;
use super::output::Output;

pub(crate) fn classify(out: &mut Output, inputs: &[String], sloppy: bool) -> Status {
    let opts = if sloppy { ParseOptions::sloppy() } else { ParseOptions::strict() }.zone(ZonePolicy::Allow);
    let mut status = Status::Ok;
    for (n, input) in inputs.iter().enumerate() {
        match addr::parse_addr_with(input, &opts) {
            Ok(parsed) => {
                let report = report(input, &parsed);
                if out.json() {
                    out.json_line(&report);
                } else {
                    if n > 0 {
                        out.text("\n");
                    }
                    out.text(&render(&report));
                }
                if let Some(w) = parsed.warning {
                    eprintln!("bmnet: warning: {input}: {w}");
                }
            }
            Err(e) => {
                status = Status::Problems;
                if out.json() {
                    out.json_line(&json!({ "input": input, "error": e.kind.to_string(), "offset": e.offset }));
                }
                eprint!("{}", describe_error(input, &e));
            }
        }
    }
    status
}

/// The classification of one parsed address as a JSON object with stable snake_case keys:
/// `input`, `canonical` (with its zone), the classification's fields, `zone`, and the bind
/// target (`bind_family`, `bind_address`, or `bind_error`).
pub(crate) fn report(input: &str, parsed: &Parsed) -> Map<String, Value> {
    let scoped: ScopedAddr = parsed.addr;
    let mut map = Map::new();
    map.insert("input".into(), json!(input));
    if let Value::Object(fields) = json!(addr::classify(scoped.addr)) {
        map.extend(fields);
    }
    map.insert("canonical".into(), json!(scoped.to_string()));
    map.insert("zone".into(), json!(scoped.zone));
    match BindTarget::new(scoped, 0) {
        Ok(t) => {
            map.insert("bind_family".into(), json!(t.family));
            map.insert("bind_address".into(), json!(t.address()));
        }
        Err(e) => {
            map.insert("bind_family".into(), Value::Null);
            map.insert("bind_address".into(), Value::Null);
            map.insert("bind_error".into(), json!(e.to_string()));
        }
    }
    if let Some(w) = parsed.warning {
        map.insert("warning".into(), json!(w.to_string()));
    }
    map
}

/// Text form of a [`report`]: one `key  value` line per field, booleans listed together.
pub(crate) fn render(report: &Map<String, Value>) -> String {
    let mut s = String::new();
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_string(),
        other => other.to_string(),
    };
    let _ = writeln!(s, "{}", text(&report["input"]));
    let mut yes = Vec::new();
    for (k, v) in report.iter().skip(1) {
        match (k.strip_prefix("is_"), v) {
            (Some(name), Value::Bool(true)) => yes.push(name.to_string()),
            (Some(_), _) => {}
            (None, v) => {
                let _ = writeln!(s, "  {k:<15} {}", text(v));
            }
        }
    }
    let _ = writeln!(s, "  {:<15} {}", "is", if yes.is_empty() { "-".to_string() } else { yes.join(", ") });
    s
}

/// A parse error for stderr, with a caret under the byte it names.
pub(crate) fn describe_error(input: &str, e: &ParseError) -> String {
    // The caret column counts characters, not bytes, up to the offset.
    let col = input.get(..e.offset).map_or(e.offset, |p| p.chars().count());
    format!("bmnet: invalid address {input:?}: at byte {}: {}\n  {input}\n  {}^\n", e.offset, e.kind, " ".repeat(col))
}
