//! bmnet: bare-metal networking for everyone.
//!
//! This umbrella crate re-exports the bmnet family, one cargo feature per crate, and hosts the
//! `bmnet` command-line tool (feature `cli`).
//!
//! | feature | crate | re-exported as |
//! | --- | --- | --- |
//! | `addr` | `bm-addr` | [`addr`] |
//! | `nodeip` | `bm-nodeip` | [`nodeip`] |
//! | `dns` | `bm-dns` | [`dns`] |
//! | `vrrp` | `bm-vrrp` | [`vrrp`] |
//! | `nmconn` | `bm-nmconn` | [`nmconn`] |

#![forbid(unsafe_code)]

#[cfg(feature = "addr")]
pub use bm_addr as addr;
#[cfg(feature = "dns")]
pub use bm_dns as dns;
#[cfg(feature = "nmconn")]
pub use bm_nmconn as nmconn;
#[cfg(feature = "nodeip")]
pub use bm_nodeip as nodeip;
#[cfg(feature = "vrrp")]
pub use bm_vrrp as vrrp;

// The README's examples are compiled and run as doctests.
#[cfg(all(doctest, feature = "addr", feature = "nodeip", feature = "dns", feature = "vrrp", feature = "nmconn"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
