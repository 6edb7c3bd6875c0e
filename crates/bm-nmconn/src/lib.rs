//! bm-nmconn: NetworkManager keyfiles. This first part is the GKeyFile layer NetworkManager
//! reads them through: a lossless document (parse, then write, is byte-identical; edits touch
//! only the lines they change) that accepts, rejects and unescapes exactly as GLib 2.74 does.

#![forbid(unsafe_code)]

pub mod keyfile;

pub use keyfile::{Document, Notice, NoticeKind, ParseError, ParseErrorKind, ValueError};
