//! bm-nmconn: NetworkManager keyfiles. So far: the GKeyFile layer NetworkManager reads them
//! through ([`keyfile`]: a lossless document that accepts, rejects and unescapes exactly as GLib
//! 2.74 does) and NetworkManager's value readers ([`value`]: integers in C's base 0, exact
//! booleans, hardware addresses, list-key indices).

#![forbid(unsafe_code)]

pub mod check;
pub mod diag;
pub mod edit;
pub mod ip;
pub mod keyfile;
pub mod profile;
pub mod render;
pub mod schema;
pub mod state;
pub mod value;
pub mod writer;

pub use keyfile::{
    Document, EntryRef, Escape, Location, Notice, NoticeKind, ParseError, ParseErrorKind, ValueError, escape,
    split_list, unescape,
};
pub use profile::Profile;
