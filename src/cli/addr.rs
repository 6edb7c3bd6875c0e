//! `bmnet addr classify`.

use std::fmt::Write as _;

use bm_addr::{self as addr, ParseError, ParseOptions, Parsed, ZonePolicy};
use serde_json::{Map, Value};

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
                    out.json_line(&addr::report::error_record(input, &e));
                }
                eprint!("{}", describe_error(input, &e));
            }
        }
    }
    status
}

/// The classification record of one parsed address (`bm_addr::report::record`), as JSON.
pub(crate) fn report(input: &str, parsed: &Parsed) -> Map<String, Value> {
    match serde_json::to_value(addr::report::record(input, parsed)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
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
