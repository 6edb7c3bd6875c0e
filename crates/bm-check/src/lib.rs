//! bm-check: health checks with keepalived's semantics, shared by bmnet's daemons (bm-vrrp's
//! tracked scripts, bm-bgp's health-gated VIPs) so that a check means the same in both.
//!
//! - [`Check`] turns each run's result into a verdict with keepalived's rise and fall counters;
//!   [`adjustment`] sums the weights of a set of checks as keepalived does (what bm-vrrp adds to
//!   a priority), and [`faulting`] names the weight-0 check that says FAULT (what puts a VRRP
//!   instance in FAULT and withdraws a BGP VIP). No I/O: results are inputs.
//! - [`split_words`] splits a script command into words as keepalived does (no shell ever sees
//!   it), and [`ScriptUser`] names who runs it.
//! - With the `process` feature (Linux), [`process`] runs check scripts as keepalived runs
//!   them: resolved and vetted ([`process::resolve_script`]), started every interval without a
//!   shell as their user in a process group of their own, stopped at their timeout with
//!   everything they started, never waited for ([`process::ScriptRunner`], [`process::Reaper`]).
//!
//! ```
//! use bm_check::{Check, CheckConfig, adjustment, faulting};
//!
//! // OpenShift's API VIP checks: haproxy (+20) and the API server (weight 0: required).
//! let config = |name: &str, weight| CheckConfig { name: name.into(), weight, rise: 2, fall: 2, reverse: false };
//! let mut checks = [Check::new(config("haproxy", 20)), Check::new(config("api", 0))];
//! for c in &mut checks {
//!     c.report(true);
//! }
//! assert_eq!((adjustment(&checks), faulting(&checks)), (20, None));
//! checks[1].report(false);
//! checks[1].report(false);
//! assert_eq!(faulting(&checks), Some("api"));
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "process")]
pub mod process;
mod user;
mod verdict;
mod words;

pub use user::ScriptUser;
pub use verdict::{Check, CheckConfig, adjustment, faulting};
pub use words::split_words;

// The README's example runs as a doctest (crates.io shows the README).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
