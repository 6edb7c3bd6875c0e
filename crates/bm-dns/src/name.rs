//! Domain names in wire format (length-prefixed labels, ending with the root's zero byte),
//! compared in lowercase. The zone keeps its names this way so that a query's name can be
//! looked up as it arrives, without building a `Name`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest name on the wire (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 255;

/// Why a name is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// A label is empty (`a..b`) or longer than 63 bytes.
    #[error("{name:?}: label {label:?} must be 1 to 63 bytes")]
    LabelLength {
        /// The name.
        name: String,
        /// The label.
        label: String,
    },
    /// The name is longer than 255 bytes on the wire.
    #[error("{0:?}: longer than 255 bytes")]
    TooLong(String),
    /// A character a host name cannot have (letters, digits, `-` and `_` only; `*` only as a
    /// whole leftmost label).
    #[error("{name:?}: {ch:?} is not allowed in a name")]
    Character {
        /// The name.
        name: String,
        /// The character.
        ch: char,
    },
}

/// Parses absolute text (`api.c.example.com.`) into lowercase wire bytes.
pub fn from_text(text: &str) -> Result<Vec<u8>, NameError> {
    let body = text.strip_suffix('.').unwrap_or(text);
    let mut wire = Vec::with_capacity(body.len() + 2);
    if !body.is_empty() {
        for (i, label) in body.split('.').enumerate() {
            if label.is_empty() || label.len() > 63 {
                return Err(NameError::LabelLength { name: text.into(), label: label.into() });
            }
            let wildcard = i == 0 && label == "*";
            if !wildcard
                && let Some(ch) = label.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
            {
                return Err(NameError::Character { name: text.into(), ch });
            }
            wire.push(label.len() as u8);
            wire.extend(label.bytes().map(|b| b.to_ascii_lowercase()));
        }
    }
    wire.push(0);
    if wire.len() > MAX_NAME {
        return Err(NameError::TooLong(text.into()));
    }
    Ok(wire)
}

/// Presentation form with a trailing dot; bytes outside letters, digits, `-`, `_` and `*` are
/// escaped as `\DDD` (RFC 1035 §5.1).
pub fn to_text(wire: &[u8]) -> String {
    let mut s = String::new();
    let mut at = 0;
    while let Some(&len) = wire.get(at) {
        if len == 0 {
            break;
        }
        for &b in wire.get(at + 1..at + 1 + usize::from(len)).unwrap_or_default() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'*' {
                s.push(char::from(b));
            } else {
                s.push_str(&format!("\\{b:03}"));
            }
        }
        s.push('.');
        at += 1 + usize::from(len);
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Offsets of each label's length byte, leftmost first (the root's zero byte not included).
pub fn label_starts(wire: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut at = 0;
    std::iter::from_fn(move || {
        let len = usize::from(*wire.get(at)?);
        if len == 0 {
            return None;
        }
        let here = at;
        at += 1 + len;
        Some(here)
    })
}

/// Number of labels.
pub fn label_count(wire: &[u8]) -> usize {
    label_starts(wire).count()
}

/// Whether `name` is `zone` or below it (both lowercase wire bytes).
pub fn is_within(name: &[u8], zone: &[u8]) -> bool {
    name.len() >= zone.len()
        && name.ends_with(zone)
        && (name.len() == zone.len() || label_starts(name).any(|s| s == name.len() - zone.len()))
}

/// Reads the uncompressed name at `at` in a message, lowercasing it into `buf`. Returns the
/// lowercase name and the offset after it. A compression pointer, a label type other than
/// plain (RFC 6891 §5), a name over 255 bytes or one running past the message is `None`:
/// the first question's name can never be legitimately compressed.
pub fn read_lower<'b>(msg: &[u8], at: usize, buf: &'b mut [u8; MAX_NAME]) -> Option<(&'b [u8], usize)> {
    let mut pos = at;
    let mut len = 0;
    loop {
        let l = usize::from(*msg.get(pos)?);
        if l & 0xC0 != 0 {
            return None;
        }
        if len + 1 + l > MAX_NAME {
            return None;
        }
        buf[len] = l as u8;
        if l == 0 {
            return Some((&buf[..=len], pos + 1));
        }
        let label = msg.get(pos + 1..pos + 1 + l)?;
        for (d, s) in buf[len + 1..len + 1 + l].iter_mut().zip(label) {
            *d = s.to_ascii_lowercase();
        }
        len += 1 + l;
        pos += 1 + l;
    }
}

/// The offset just past the name at `at`, which may end in a compression pointer. `None` for a
/// name running past the message or a label type other than plain or pointer.
pub fn skip(msg: &[u8], at: usize) -> Option<usize> {
    let mut pos = at;
    loop {
        let l = *msg.get(pos)?;
        match l & 0xC0 {
            0x00 if l == 0 => return Some(pos + 1),
            0x00 => pos += 1 + usize::from(l),
            0xC0 => {
                msg.get(pos + 1)?;
                return Some(pos + 2);
            }
            _ => return None,
        }
        if pos - at > MAX_NAME {
            return None;
        }
    }
}

/// Reads the name at `at`, following compression pointers (backwards only, so that a loop is
/// impossible), lowercased into `buf`. `None` for anything malformed.
pub fn read_compressed_lower<'b>(msg: &[u8], at: usize, buf: &'b mut [u8; MAX_NAME]) -> Option<&'b [u8]> {
    let mut pos = at;
    let mut len = 0;
    loop {
        let l = *msg.get(pos)?;
        match l & 0xC0 {
            0x00 => {
                let l = usize::from(l);
                if len + 1 + l > MAX_NAME {
                    return None;
                }
                buf[len] = l as u8;
                if l == 0 {
                    return Some(&buf[..=len]);
                }
                let label = msg.get(pos + 1..pos + 1 + l)?;
                for (d, s) in buf[len + 1..len + 1 + l].iter_mut().zip(label) {
                    *d = s.to_ascii_lowercase();
                }
                len += 1 + l;
                pos += 1 + l;
            }
            0xC0 => {
                let target = usize::from(u16::from_be_bytes([l, *msg.get(pos + 1)?]) & 0x3FFF);
                if target >= pos {
                    return None;
                }
                pos = target;
            }
            _ => return None,
        }
    }
}

/// The address a reverse name stands for (`5.2.0.192.in-addr.arpa.`, the 32 nibbles of an
/// `ip6.arpa.` name), if it is a complete one.
pub fn reverse_addr(wire: &[u8]) -> Option<IpAddr> {
    let labels: Vec<&[u8]> = label_starts(wire).map(|s| &wire[s + 1..s + 1 + usize::from(wire[s])]).collect();
    match labels.as_slice() {
        [d, c, b, a, in_addr, arpa] if *in_addr == b"in-addr" && *arpa == b"arpa" => {
            let octet = |l: &[u8]| -> Option<u8> {
                // Canonical decimal only: no leading zeros, at most 255.
                if l.is_empty() || l.len() > 3 || (l.len() > 1 && l[0] == b'0') {
                    return None;
                }
                std::str::from_utf8(l).ok()?.parse().ok()
            };
            Some(IpAddr::V4(Ipv4Addr::new(octet(a)?, octet(b)?, octet(c)?, octet(d)?)))
        }
        [nibbles @ .., ip6, arpa] if nibbles.len() == 32 && *ip6 == b"ip6" && *arpa == b"arpa" => {
            let mut bits: u128 = 0;
            for (i, l) in nibbles.iter().enumerate() {
                let [n] = l else { return None };
                let v = char::from(*n).to_digit(16)?;
                bits |= u128::from(v) << (4 * i);
            }
            Some(IpAddr::V6(Ipv6Addr::from(bits)))
        }
        _ => None,
    }
}

/// The reverse name of an address, lowercase wire bytes.
pub fn reverse_name(addr: IpAddr) -> Vec<u8> {
    let text = match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa.")
        }
        IpAddr::V6(v6) => {
            let mut s = String::new();
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s + "ip6.arpa."
        }
    };
    from_text(&text).unwrap_or_else(|_| vec![0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip_and_errors() {
        let w = from_text("API.C.Example.com.").unwrap();
        assert_eq!(w, b"\x03api\x01c\x07example\x03com\x00");
        assert_eq!(to_text(&w), "api.c.example.com.");
        assert_eq!(to_text(&from_text(".").unwrap()), ".");
        assert!(from_text("*.apps.c.example.com.").is_ok());
        assert!(matches!(from_text("a.*.c."), Err(NameError::Character { .. })));
        assert!(matches!(from_text("a..c."), Err(NameError::LabelLength { .. })));
        assert!(matches!(from_text(&format!("{}.", "a".repeat(64))), Err(NameError::LabelLength { .. })));
        assert!(matches!(from_text(&format!("{}.", ["abcdefghi"; 26].join("."))), Err(NameError::TooLong(_))));
    }

    #[test]
    fn within_respects_label_boundaries() {
        let zone = from_text("c.example.com.").unwrap();
        assert!(is_within(&from_text("c.example.com.").unwrap(), &zone));
        assert!(is_within(&from_text("a.b.c.example.com.").unwrap(), &zone));
        assert!(!is_within(&from_text("xc.example.com.").unwrap(), &zone));
        assert!(!is_within(&from_text("example.com.").unwrap(), &zone));
    }

    #[test]
    fn reverse_names_round_trip() {
        for a in ["192.0.2.5", "10.0.0.1", "fd2e:6f44:5dd8::20", "::1"] {
            let ip: IpAddr = a.parse().unwrap();
            assert_eq!(reverse_addr(&reverse_name(ip)), Some(ip), "{a}");
        }
        assert_eq!(to_text(&reverse_name("192.0.2.5".parse().unwrap())), "5.2.0.192.in-addr.arpa.");
        assert_eq!(reverse_addr(&from_text("05.2.0.192.in-addr.arpa.").unwrap()), None);
        assert_eq!(reverse_addr(&from_text("2.0.192.in-addr.arpa.").unwrap()), None);
    }

    #[test]
    fn compressed_names_are_followed_backwards_only() {
        let mut buf = [0; MAX_NAME];
        // "API.c." at 0, then "x" + pointer to 0 at 7.
        let msg = b"\x03API\x01c\x00\x01x\xc0\x00\xc0\x0b";
        assert_eq!(skip(msg, 0), Some(7));
        assert_eq!(skip(msg, 7), Some(11));
        assert_eq!(read_compressed_lower(msg, 7, &mut buf).unwrap(), b"\x01x\x03api\x01c\x00");
        // A pointer to itself (offset 11) or forwards is refused.
        assert_eq!(read_compressed_lower(msg, 11, &mut buf), None);
        assert_eq!(read_compressed_lower(b"\xc0\x02\x00", 0, &mut buf), None);
        assert_eq!(skip(b"\x05ab", 0), None);
        assert_eq!(skip(b"\x80", 0), None);
    }

    #[test]
    fn read_lower_refuses_pointers_and_overruns() {
        let mut buf = [0; MAX_NAME];
        let msg = b"\x03API\x01c\x00rest";
        let (n, end) = read_lower(msg, 0, &mut buf).unwrap();
        assert_eq!((n, end), (&b"\x03api\x01c\x00"[..], 7));
        assert!(read_lower(b"\xc0\x0c", 0, &mut buf).is_none());
        assert!(read_lower(b"\x05ab", 0, &mut buf).is_none());
        assert!(read_lower(b"\x40abc", 0, &mut buf).is_none());
    }
}
