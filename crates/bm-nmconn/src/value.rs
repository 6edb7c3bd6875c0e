//! NetworkManager's readers for keyfile values, as 1.42 applies them (research nmconn.md §1.2,
//! §1.3): each returns what NetworkManager would load, or why it would fall back to the default,
//! so a validator can say "you wrote X, NetworkManager loads Y".

use serde::{Deserialize, Serialize};

/// The base an integer was read in: NetworkManager's integer reader is C's `strtoull` with
/// base 0, so `01500` is octal (832) and `0x2328` hex (9000).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Radix {
    /// Decimal.
    Decimal,
    /// A leading `0`: octal.
    Octal,
    /// A leading `0x` / `0X`: hexadecimal.
    Hex,
}

/// Why an integer is not one (NetworkManager: "value cannot be interpreted as integer", and
/// the property keeps its default).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum IntError {
    /// Nothing but whitespace.
    #[error("empty")]
    Empty,
    /// A character that is no digit of the base (`0900`: 9 is not octal; `1e3`; `9k`).
    #[error("{ch:?} is not a digit in base {base}")]
    Digit {
        /// The character.
        ch: char,
        /// The base in effect.
        base: u32,
    },
    /// Outside the range of a signed property.
    #[error("{value} is out of range {min}..={max}")]
    SignedRange {
        /// The value read.
        value: i64,
        /// Smallest allowed.
        min: i64,
        /// Largest allowed.
        max: i64,
    },
    /// Larger than the property allows.
    #[error("{value} is out of range {min}..={max}")]
    Range {
        /// The value read.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
}

/// Reads an unsigned integer as `_nm_utils_ascii_str_to_uint64(s, 0, min, max, ...)`: leading
/// and trailing whitespace and a `+` accepted, `0x` hex, a leading `0` octal. Returns the value
/// and the base it was read in (a validator warns about octal).
///
/// ```
/// use bm_nmconn::value::{Radix, parse_uint};
/// assert_eq!(parse_uint("01500", 0, u64::MAX), Ok((832, Radix::Octal)));
/// assert_eq!(parse_uint("0x2328", 0, u64::MAX), Ok((9000, Radix::Hex)));
/// assert!(parse_uint("0900", 0, u64::MAX).is_err());
/// ```
pub fn parse_uint(s: &str, min: u64, max: u64) -> Result<(u64, Radix), IntError> {
    // Most values are plain decimals (`9000`): read without trimming, prefixes or per-digit
    // errors. Up to 19 digits cannot overflow; `0` alone is decimal, `0` before more digits
    // octal (below).
    let b = s.as_bytes();
    if (1..=19).contains(&b.len()) && (b[0] != b'0' || b.len() == 1) && b.iter().all(u8::is_ascii_digit) {
        let value = b.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        if value < min || value > max {
            return Err(IntError::Range { value, min, max });
        }
        return Ok((value, Radix::Decimal));
    }
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() {
        return Err(IntError::Empty);
    }
    let (digits, radix, base) = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        (h, Radix::Hex, 16)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], Radix::Octal, 8)
    } else {
        (t, Radix::Decimal, 10)
    };
    if digits.is_empty() {
        // strtoull reads "0x" as 0 followed by garbage "x".
        return Err(IntError::Digit { ch: 'x', base: 10 });
    }
    let mut value: u64 = 0;
    for ch in digits.chars() {
        let d = ch.to_digit(base).ok_or(IntError::Digit { ch, base })?;
        value = value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
            .ok_or(IntError::Range { value: u64::MAX, min, max })?;
    }
    if value < min || value > max {
        return Err(IntError::Range { value, min, max });
    }
    Ok((value, radix))
}

/// Reads a signed integer as NetworkManager's keyfile reader does for `int` and `int64`
/// properties: like [`parse_uint`] (base 0: `010` is octal 8, `0x10` is 16) with an optional
/// sign, then the property's range; outside it, NetworkManager keeps the default.
///
/// ```
/// use bm_nmconn::value::{Radix, parse_int};
/// assert_eq!(parse_int("-5", -999, 999), Ok((-5, Radix::Decimal)));
/// assert_eq!(parse_int("010", -999, 999), Ok((8, Radix::Octal)));
/// assert!(parse_int("-1000", -999, 999).is_err());
/// ```
pub fn parse_int(s: &str, min: i64, max: i64) -> Result<(i64, Radix), IntError> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if digits.starts_with(['+', '-']) {
        return Err(IntError::Digit { ch: digits.chars().next().unwrap_or('-'), base: 10 });
    }
    let (magnitude, radix) = parse_uint(digits, 0, u64::MAX)?;
    let value = i64::try_from(magnitude)
        .ok()
        .and_then(|m| if negative { m.checked_neg() } else { Some(m) })
        .ok_or(IntError::SignedRange { value: if negative { i64::MIN } else { i64::MAX }, min, max })?;
    if value < min || value > max {
        return Err(IntError::SignedRange { value, min, max });
    }
    Ok((value, radix))
}

/// Reads a boolean as `g_key_file_get_boolean`: exactly `true`, `false`, `1` or `0`,
/// case-sensitive, trailing whitespace allowed. `yes`, `no`, `False`, `on` are not booleans:
/// NetworkManager warns "value cannot be interpreted" and keeps the default.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim_end_matches(|c: char| c.is_ascii_whitespace()) {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// Reads a hardware address as `nm_utils_hwaddr_aton` does for a property of `len` bytes (6 for
/// Ethernet, 20 for InfiniBand): octets of one or two hex digits separated by `:` or `-`; the
/// obsolete decimal byte list (`0;34;104;18;121;162;`) too. `None` where NetworkManager says
/// "ignoring invalid MAC address" (no separators, a wrong length).
pub fn parse_mac(s: &str, len: usize) -> Option<Vec<u8>> {
    parse_hwaddr(s, len).map(|a| a.as_bytes().to_vec())
}

/// A hardware address of up to 20 bytes, without an allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HwAddr {
    bytes: [u8; 20],
    len: usize,
}

impl HwAddr {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// [`parse_mac`] into a [`HwAddr`] (`None` too for more than 20 bytes, which no property has).
pub(crate) fn parse_hwaddr(s: &str, len: usize) -> Option<HwAddr> {
    let t = s.trim();
    let mut out = HwAddr { bytes: [0; 20], len: 0 };
    let mut push = |b: Option<u8>| {
        // More bytes than the property has: no address, however the rest reads.
        let b = b.filter(|_| out.len < len.min(20))?;
        out.bytes[out.len] = b;
        out.len += 1;
        Some(())
    };
    if t.contains(';') {
        for p in t.split(';').filter(|p| !p.is_empty()) {
            push(p.trim().parse::<u8>().ok())?;
        }
    } else {
        for o in t.split([':', '-']) {
            push(if (1..=2).contains(&o.len()) { u8::from_str_radix(o, 16).ok() } else { None })?;
        }
    }
    (out.len == len).then_some(out)
}

/// The index of an `addressN` / `addressesN` / `routeN` / `routesN` key under `prefix`
/// (`address`, `route`): `-1` for the bare name, `N` for a decimal without a leading zero, and
/// `None` for anything else — which NetworkManager ignores without a word (`address01`).
/// The second value says whether the plural form was used.
#[inline]
pub fn list_key_index(key: &str, prefix: &str) -> Option<(i64, bool)> {
    // Most keys differ in their first byte: no compare of the whole prefix for them.
    if key.as_bytes().first() != prefix.as_bytes().first() {
        return None;
    }
    let rest = key.strip_prefix(prefix)?;
    // The plural forms: `addresses`, `routes`.
    let plural_suffix = if prefix.ends_with('s') { "es" } else { "s" };
    let (rest, plural) = match rest.strip_prefix(plural_suffix) {
        Some(r) => (r, true),
        None => (rest, false),
    };
    if rest.is_empty() {
        return Some((-1, plural));
    }
    decimal_index(rest).map(|n| (n, plural))
}

/// An index as NetworkManager takes it after `address`/`route`: decimal digits without a
/// leading zero (`0` alone is one), within `i64`. Read byte by byte rather than with
/// `str::parse`, whose sign and radix handling these digits do not need.
#[inline]
fn decimal_index(rest: &str) -> Option<i64> {
    let digits = rest.as_bytes();
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || (digits[0] == b'0' && digits.len() > 1) {
        return None;
    }
    digits.iter().try_fold(0i64, |n, d| n.checked_mul(10)?.checked_add(i64::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general reading `parse_uint`'s decimal fast path must agree with: a leading space
    /// sends every string through it.
    fn parse_uint_slow(s: &str, min: u64, max: u64) -> Result<(u64, Radix), IntError> {
        parse_uint(&format!(" {s}"), min, max)
    }

    /// The index `decimal_index` replaced: the same digit rule, then `str::parse`.
    fn decimal_index_slow(rest: &str) -> Option<i64> {
        if rest == "0" || (!rest.starts_with('0') && rest.chars().all(|c| c.is_ascii_digit())) {
            return rest.parse().ok();
        }
        None
    }

    proptest::proptest! {
        /// Decimal-looking strings of every length around the fast path's (to past `u64`),
        /// leading zeros, signs and whitespace, against the general reading (which a leading
        /// space sends every string through).
        #[test]
        fn parse_uint_fast_path_is_the_general_reading(s in "[ +0]?[0-9]{0,22}[ x]?", max in proptest::prop_oneof![proptest::strategy::Just(u64::MAX), 0..20_000u64]) {
            proptest::prop_assert_eq!(parse_uint(&s, 1, max), parse_uint_slow(&s, 1, max), "{:?}", s);
        }

        #[test]
        fn decimal_index_is_the_parse(rest in "[0+-]?[0-9]{0,21}[a_]?") {
            proptest::prop_assert_eq!(decimal_index(&rest), decimal_index_slow(&rest), "{:?}", rest);
        }
    }

    /// The values the research observed NetworkManager 1.42 load.
    #[test]
    fn integers_as_networkmanager_reads_them() {
        assert_eq!(parse_uint("0x2328", 0, u64::MAX), Ok((9000, Radix::Hex)));
        assert_eq!(parse_uint("01500", 0, u64::MAX), Ok((832, Radix::Octal)));
        assert_eq!(parse_uint("010", 0, u64::MAX), Ok((8, Radix::Octal)));
        assert_eq!(parse_uint("0100", 0, 4094), Ok((64, Radix::Octal)), "[vlan] id=0100 is VLAN 64");
        assert_eq!(parse_uint(" +1500 ", 0, u64::MAX), Ok((1500, Radix::Decimal)));
        assert_eq!(parse_uint("0", 0, u64::MAX), Ok((0, Radix::Decimal)));
        assert!(matches!(parse_uint("0900", 0, u64::MAX), Err(IntError::Digit { ch: '9', base: 8 })));
        assert!(matches!(parse_uint("1e3", 0, u64::MAX), Err(IntError::Digit { ch: 'e', base: 10 })));
        assert!(matches!(parse_uint("9k", 0, u64::MAX), Err(IntError::Digit { .. })));
        assert!(matches!(parse_uint("-1", 0, u64::MAX), Err(IntError::Digit { ch: '-', .. })));
        assert_eq!(parse_uint("  ", 0, 10), Err(IntError::Empty));
        assert!(matches!(parse_uint("4095", 0, 4094), Err(IntError::Range { value: 4095, .. })));
        assert!(matches!(parse_uint("99999999999999999999999", 0, u64::MAX), Err(IntError::Range { .. })));
    }

    #[test]
    fn booleans_are_exact() {
        for (s, v) in [("true", true), ("1", true), ("false", false), ("0", false), ("true  ", true)] {
            assert_eq!(parse_bool(s), Some(v), "{s:?}");
        }
        for s in ["yes", "no", "False", "TRUE", "on", "off", ""] {
            assert_eq!(parse_bool(s), None, "{s:?} is not a GKeyFile boolean");
        }
    }

    #[test]
    fn mac_addresses() {
        assert_eq!(parse_mac("00:11:22:33:44:55", 6), Some(vec![0, 0x11, 0x22, 0x33, 0x44, 0x55]));
        assert_eq!(parse_mac("00-11-22-33-44-5a", 6), Some(vec![0, 0x11, 0x22, 0x33, 0x44, 0x5a]));
        assert_eq!(parse_mac("0:1:2:3:4:5", 6), Some(vec![0, 1, 2, 3, 4, 5]), "single digits are padded");
        assert_eq!(
            parse_mac("0;34;104;18;121;162;", 6),
            Some(vec![0, 34, 104, 18, 121, 162]),
            "the obsolete byte list"
        );
        assert_eq!(parse_mac("001122334455", 6), None);
        assert_eq!(parse_mac("00:11:22:33:44", 6), None);
        assert_eq!(parse_mac("00:11:22:33:44:555", 6), None);
        assert_eq!(parse_mac(&["80"; 20].join(":"), 20).map(|b| b.len()), Some(20), "InfiniBand");
    }

    proptest::proptest! {
        /// Every u64 written in each base reads back, with the base reported.
        #[test]
        fn integers_round_trip(n: u64, pad in 0usize..3) {
            let ws = " ".repeat(pad);
            proptest::prop_assert_eq!(parse_uint(&format!("{ws}{n}{ws}"), 0, u64::MAX), Ok((n, Radix::Decimal)));
            proptest::prop_assert_eq!(parse_uint(&format!("{n:#x}"), 0, u64::MAX), Ok((n, Radix::Hex)));
            if n > 0 {
                proptest::prop_assert_eq!(parse_uint(&format!("0{n:o}"), 0, u64::MAX), Ok((n, Radix::Octal)));
            }
        }

        /// Any text: no panic, and a MAC that parses has the asked length.
        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = parse_uint(&s, 0, u64::MAX);
            let _ = parse_bool(&s);
            if let Some(m) = parse_mac(&s, 6) {
                proptest::prop_assert_eq!(m.len(), 6);
            }
            let _ = list_key_index(&s, "address");
        }
    }

    /// `address`, `address0`, `address2` become 1, 2, 3; `address01` is ignored.
    #[test]
    fn list_key_indices() {
        assert_eq!(list_key_index("address", "address"), Some((-1, false)));
        assert_eq!(list_key_index("address0", "address"), Some((0, false)));
        assert_eq!(list_key_index("address2", "address"), Some((2, false)));
        assert_eq!(list_key_index("addresses30", "address"), Some((30, true)));
        assert_eq!(list_key_index("address01", "address"), None);
        assert_eq!(list_key_index("address1x", "address"), None);
        assert_eq!(list_key_index("route7", "route"), Some((7, false)));
        assert_eq!(list_key_index("routes7", "route"), Some((7, true)));
        assert_eq!(list_key_index("route1_options", "route"), None);
        assert_eq!(list_key_index("gateway", "address"), None);
    }
}
