//! Buffered stdout that remembers the first write error, so a broken pipe ends the run quietly.

use std::io::{self, BufWriter, Stdout, Write};

use serde::Serialize;

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
        let result = serde_json::to_writer(&mut self.writer, value)
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
