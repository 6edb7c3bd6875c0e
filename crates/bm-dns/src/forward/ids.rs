//! Unpredictable numbers for upstream queries: the 16-bit message ID and the socket each query
//! leaves from. An off-path attacker who wants to slip a forged answer to the forwarder must
//! guess both (RFC 5452 §9.2), so they come from SipHash-2-4 keyed with the caller's random
//! seed over a counter: a pseudorandom function, so seeing some IDs tells nothing of the next.

/// A stream of pseudorandom 64-bit values.
#[derive(Clone, Debug)]
pub(crate) struct Ids {
    k0: u64,
    k1: u64,
    counter: u64,
}

impl Ids {
    pub(crate) fn new(seed: [u8; 16]) -> Ids {
        let (a, b) = seed.split_at(8);
        Ids {
            k0: u64::from_le_bytes(a.try_into().expect("8 bytes")),
            k1: u64::from_le_bytes(b.try_into().expect("8 bytes")),
            counter: 0,
        }
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.counter = self.counter.wrapping_add(1);
        crate::siphash::siphash24(self.k0, self.k1, &self.counter.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_by_seed_and_spread_over_16_bits() {
        let mut a = Ids::new([1; 16]);
        let mut b = Ids::new([2; 16]);
        let xs: Vec<u16> = (0..4096).map(|_| a.next() as u16).collect();
        let ys: Vec<u16> = (0..4096).map(|_| b.next() as u16).collect();
        assert_ne!(xs, ys);
        // 4096 draws from 65536 values: about 3970 distinct; a counter or a weak mix gives far
        // fewer or exactly 4096 in order.
        let distinct: std::collections::BTreeSet<u16> = xs.iter().copied().collect();
        assert!((3850..4096).contains(&distinct.len()), "{}", distinct.len());
    }
}
