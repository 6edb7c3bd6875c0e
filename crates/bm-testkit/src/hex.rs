//! Hex fixtures: packets written in tests as the captures show them.

/// The bytes of `text`, hex digits in pairs, with any whitespace between pairs (so a fixture
/// can be laid out as a capture is). Panics, naming the offset, on anything else: a fixture
/// typo must fail loudly.
pub fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<(usize, u8)> = text.bytes().enumerate().filter(|(_, b)| !b.is_ascii_whitespace()).collect();
    assert!(digits.len().is_multiple_of(2), "hex fixture: odd number of digits");
    digits
        .chunks(2)
        .map(|pair| {
            let digit = |(at, b): (usize, u8)| {
                char::from(b).to_digit(16).unwrap_or_else(|| panic!("hex fixture: {:?} at byte {at}", char::from(b)))
            };
            (digit(pair[0]) * 16 + digit(pair[1])) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::hex;

    #[test]
    fn pairs_and_layout() {
        assert_eq!(hex("31 02 64 01\n ff00"), [0x31, 0x02, 0x64, 0x01, 0xff, 0x00]);
        assert_eq!(hex(""), Vec::<u8>::new());
        let bad = std::panic::catch_unwind(|| hex("0g"));
        assert!(bad.is_err());
    }
}
