//! What bmnet's tests and benches share, so that each does not carry its own copy: network
//! namespaces that clean up after themselves ([`Netns`]), a seeded generator for reproducible
//! inputs ([`Rng`]), hex fixtures ([`hex`]) and deeply nested input for the attacker tests of
//! every reader ([`nesting`]).
//!
//! Dev-only (never published, never a dependency of a library): it runs `ip` and panics with
//! the fix when something the test needs is missing, which a library must never do.
//!
//! ```
//! let mut rng = bm_testkit::Rng::new(7);
//! let mut v = [1, 2, 3, 4];
//! rng.shuffle(&mut v);
//! v.sort();
//! assert_eq!(v, [1, 2, 3, 4]);
//! assert_eq!(bm_testkit::hex("45 00 0a"), [0x45, 0x00, 0x0a]);
//! ```

#![forbid(unsafe_code)]
// Test support runs processes on purpose.
#![allow(clippy::disallowed_methods)]

mod hex;
pub mod nesting;
mod netns;
mod rng;

pub use hex::hex;
pub use netns::Netns;
pub use rng::Rng;

// The README's examples are compiled and run as doctests here, the one crate that depends on
// every library (for tests only): a README example that stops compiling fails `scripts/test`.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

// So are each crate's own README (what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../../bm-addr/README.md")]
#[doc = include_str!("../../bm-nodeip/README.md")]
#[doc = include_str!("../../bm-dns/README.md")]
#[doc = include_str!("../../bm-vrrp/README.md")]
#[doc = include_str!("../../bm-nmconn/README.md")]
#[doc = include_str!("../../bm-sys/README.md")]
#[doc = include_str!("../../bm-preflight/README.md")]
struct CrateReadmeDoctests;
