//! Buffered stdout that remembers the first write error, so a broken pipe ends the run quietly,
//! and the versioning of every JSON record bmnet prints.
//!
//! The stability rule of `--json` output: every record is an object whose first field is
//! `json_version` ([`JSON_VERSION`]). Within one version, fields and `type`/`event` values are
//! only ever added, never renamed, removed or given another meaning; a change that would break
//! a reader raises the version. Readers should ignore fields they do not know.

use std::io::{self, BufWriter, Stdout, Write};

use serde::Serialize;
use serde_json::{Map, Value};

/// The version of bmnet's JSON records (see the module documentation).
pub(crate) const JSON_VERSION: u32 = 1;

/// `value` as a record: an object starting with `json_version` (a value that is not an object
/// is wrapped as `{"json_version", "value"}`).
pub(crate) fn versioned(value: Value) -> Value {
    let mut record = Map::new();
    record.insert("json_version".to_string(), Value::from(JSON_VERSION));
    match value {
        Value::Object(fields) => record.extend(fields),
        other => {
            record.insert("value".to_string(), other);
        }
    }
    Value::Object(record)
}

pub(crate) struct Output {
    json: bool,
    writer: BufWriter<Stdout>,
    error: Option<io::Error>,
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output { json, writer: BufWriter::new(io::stdout()), error: None }
    }

    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// One JSON Lines record.
    pub(crate) fn json_line<T: Serialize>(&mut self, value: &T) {
        if self.error.is_some() {
            return;
        }
        let result = serde_json::to_value(value)
            .and_then(|v| serde_json::to_writer(&mut self.writer, &versioned(v)))
            .map_err(io::Error::from)
            .and_then(|()| self.writer.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Text, written as is.
    pub(crate) fn text(&mut self, s: &str) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.writer.write_all(s.as_bytes()) {
            self.error = Some(e);
        }
    }

    pub(crate) fn finish(mut self) -> io::Result<()> {
        match self.error.take() {
            Some(e) => Err(e),
            None => self.writer.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_start_with_their_version() {
        let v = versioned(serde_json::json!({ "type": "pitfall", "kind": "mapped" }));
        assert_eq!(v.to_string(), r#"{"json_version":1,"type":"pitfall","kind":"mapped"}"#);
        assert_eq!(versioned(Value::from(3)).to_string(), r#"{"json_version":1,"value":3}"#);
    }
}
