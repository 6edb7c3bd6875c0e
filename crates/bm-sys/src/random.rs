//! Randomness from the kernel.

use std::io;

/// 16 random bytes from the kernel (`getrandom(2)`), to key what an attacker must not guess.
pub fn seed() -> [u8; 16] {
    let mut seed = [0u8; 16];
    let mut filled = 0;
    while filled < seed.len() {
        // SAFETY: writes at most the remaining bytes of `seed`.
        let r = unsafe { libc::getrandom(seed[filled..].as_mut_ptr().cast(), seed.len() - filled, 0) };
        if r > 0 {
            filled += r as usize;
        } else if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
            // No getrandom (a kernel before 3.17): std's per-process random hash keys.
            use std::hash::BuildHasher;
            let s = std::collections::hash_map::RandomState::new();
            seed[..8].copy_from_slice(&s.hash_one(1u8).to_le_bytes());
            seed[8..].copy_from_slice(&s.hash_one(2u8).to_le_bytes());
            break;
        }
    }
    seed
}

#[cfg(test)]
mod tests {
    #[test]
    fn seeds_differ() {
        assert_ne!(super::seed(), super::seed());
    }
}
