//! bm-bgp: placeholder
#![forbid(unsafe_code)]

mod framer;
pub mod message;

pub use framer::Framer;
