//! kubelet's own wording of its `--node-ip` errors, by version, and Go's formatting of the
//! values it quotes.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The wording of kubelet's `--node-ip` errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KubeletWording {
    /// kubelet 1.20 to 1.26, `cmd/kubelet/app/server.go`:
    /// `bad --node-ip "…"; must contain…`, `dual-stack --node-ip "…" not supported when using
    /// a cloud provider`.
    Legacy,
    /// kubelet 1.27 and later, component-helpers wrapped by kubelet: `bad --node-ip "…": …`.
    Current,
}

pub(super) fn not_pair_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => {
            format!("bad --node-ip {}; must contain either a single IP or a dual-stack pair of IPs", go_quote(value))
        }
        KubeletWording::Current => {
            format!("bad --node-ip {}: must contain either a single IP or a dual-stack pair of IPs", go_quote(value))
        }
    }
}

pub(super) fn dual_stack_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => {
            format!("dual-stack --node-ip {} not supported when using a cloud provider", go_quote(value))
        }
        KubeletWording::Current => {
            format!("bad --node-ip {}: dual-stack not supported in this configuration", go_quote(value))
        }
    }
}

pub(super) fn unspecified_message(value: &str, wording: KubeletWording) -> String {
    match wording {
        KubeletWording::Legacy => format!("dual-stack --node-ip {} cannot include '0.0.0.0' or '::'", go_quote(value)),
        KubeletWording::Current => {
            format!("bad --node-ip {}: dual-stack node IP cannot include '0.0.0.0' or '::'", go_quote(value))
        }
    }
}

/// Go's `ip.IsUnspecified()`: `0.0.0.0`, `::`, and `::ffff:0.0.0.0`.
pub(super) fn go_is_unspecified(ip: IpAddr) -> bool {
    bm_addr::unmap(ip).is_unspecified()
}

/// Go's `net.IP.String()`: mapped addresses print as IPv4; the rest as RFC 5952, like Rust.
pub(super) fn go_ip_string(ip: IpAddr) -> String {
    bm_addr::unmap(ip).to_string()
}

/// Go's `%q` (`strconv.Quote`) for ASCII; other characters are escaped as
/// `strconv.QuoteToASCII` escapes them (`\u00e9`, `\U0001f600`), where `%q` would keep the
/// printable ones.
pub(super) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}
