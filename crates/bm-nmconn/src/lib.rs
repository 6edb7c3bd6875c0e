//! NetworkManager keyfiles (`*.nmconnection`), read, checked and written exactly as GLib 2.74
//! and NetworkManager 1.42 (Debian 12's) read and write them.
//!
//! `bm-nmconn` is sans-IO: it works on text and returns text, values and diagnostics; reading
//! and writing files, and their modes and owners, is the caller's job (the `bmnet nmconn`
//! commands do it). It reads no clock and opens nothing; [`check::check_files`] alone uses
//! threads, to check a directory's files on every core: a pool it makes at its first call on
//! a directory of more than one chunk, and keeps, idle between calls, for the life of the
//! process.
//!
//! # Brief overview
//!
//! - [`Document`] is the GKeyFile layer NetworkManager reads through: lossless (every byte,
//!   comment and order kept), accepting, rejecting and unescaping exactly as GLib does, and
//!   editing only the lines it changes. [`escape`], [`unescape`] and [`split_list`] are GLib's
//!   escaping in its two modes ([`Escape`]).
//! - [`Profile`] is what NetworkManager loads from a document: typed settings read with
//!   NetworkManager's own value readers ([`value`]: base-0 integers, exact booleans, hardware
//!   addresses; [`ip`]: addresses, routes, DNS) and the key tables of [`schema`].
//! - [`check`] is the validator: it says where what NetworkManager loads differs from what is
//!   written, and what it refuses, before a node boots, as [`diag::Diagnostic`]s with stable
//!   codes, the place (`file:line:col`) and the fix. [`check::check_files`] checks a directory,
//!   with the rules over the set (duplicate UUIDs, dangling controllers, file modes).
//! - [`edit`] sets properties by `nmcli connection modify`'s names and syntax, refusing an edit
//!   NetworkManager would not load as asked.
//! - [`canonical`] lays a document out as NetworkManager's own writer does, keeping everything
//!   it would drop; [`file_name`] names a new profile's file as it does.
//! - [`state`] is nmstate's desired state (what a `NodeNetworkConfigurationPolicy` carries);
//!   [`render`] turns it into keyfiles and reads keyfiles back into it.
//! - `yaml_depth` (the `yaml` feature) refuses YAML nesting flow collections deeper than
//!   serde_yaml_ng's limit before it is parsed, as every reader of YAML from outside must:
//!   libyaml takes time quadratic in that depth.
//!
//! # The design decision: one model of what NetworkManager loads
//!
//! NetworkManager loads what it can and drops the rest, mostly without a word: an address with
//! a typo, an octal MTU, a bond option the mode does not take. Every part of this crate that
//! needs to know what a file means — the validator, [`render::to_state`], the editor's check of
//! its own result — asks one reader, the one that builds [`Profile`], and that reader is checked
//! against libnm itself value by value. While it reads, it notes every place where its reading
//! departs from what is written; the validator only words those notes and applies
//! NetworkManager's verification rules to the profile. So a reading rule lives in one place,
//! the validator and the model cannot disagree, and checking a file is one pass over it.
//!
//! # Example
//!
//! ```
//! use bm_nmconn::check::{CheckOptions, check_document};
//! use bm_nmconn::diag::Code;
//! use bm_nmconn::{Document, Profile};
//!
//! let text = "[connection]\nid=eth0\nuuid=0b3a5b6e-2a4f-4c9b-9b0e-1d2c3b4a5f70\ntype=ethernet\n\
//!             [ethernet]\nmtu=01500\n[ipv4]\nmethod=manual\naddress1=10.10.99.99\\24\naddress2=10.0.0.5/24\n";
//! let doc = Document::parse(text).unwrap();
//! // What NetworkManager loads: MTU 832 (octal), and only the second address.
//! let loaded = Profile::read(&doc);
//! assert_eq!(loaded.ethernet.as_ref().unwrap().mtu, 832);
//! assert_eq!(loaded.ipv4.as_ref().unwrap().addresses, [("10.0.0.5".parse().unwrap(), 24)]);
//! // What the validator says about it, with the place and the fix.
//! let report = check_document(&doc, &CheckOptions::default());
//! let dropped = report.diagnostics.iter().find(|d| d.code == Code::AddressDropped).unwrap();
//! assert_eq!((dropped.line, dropped.column), (9, 10));
//! assert_eq!(dropped.help.as_deref(), Some("did you mean `10.10.99.99/24`?"));
//! ```

// docs.rs marks each item behind a cargo feature with the feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(feature = "document-features", doc = concat!("# Cargo features\n\n", document_features::document_features!()))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod check;
pub mod diag;
pub mod edit;
pub mod ip;
mod keyfile;
pub mod profile;
pub mod render;
pub mod schema;
pub mod state;
pub mod value;
mod writer;
#[cfg(feature = "yaml")]
pub mod yaml_depth;

pub use keyfile::{
    Document, EntryRef, Escape, Location, Notice, NoticeKind, ParseError, ParseErrorKind, ValueError, escape,
    split_list, unescape,
};
pub use profile::Profile;
pub use writer::{canonical, file_name};
