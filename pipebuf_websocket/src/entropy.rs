//! Randomness for client masking keys and the handshake nonce, from the standard library
//! alone.
//!
//! `std`'s `RandomState` is seeded from the operating system's random source once per
//! thread; SipHash under that secret 128-bit key is a pseudo-random function, so hashing a
//! counter gives unpredictable output to anyone who does not know the key (what RFC 6455
//! §10.3 asks of masking keys: an intermediary must not predict them).

use std::boxed::Box;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use crate::send::RandomSource;

/// A random source keyed from the operating system.
pub(crate) fn os_random() -> RandomSource {
    let key = RandomState::new();
    let mut counter: u64 = 0;
    Box::new(move |out: &mut [u8]| {
        for chunk in out.chunks_mut(8) {
            let mut hasher = key.build_hasher();
            hasher.write_u64(counter);
            counter = counter.wrapping_add(1);
            let word = hasher.finish().to_ne_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    })
}
