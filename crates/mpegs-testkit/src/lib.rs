//! Test fixtures that must never guard anything real.
//!
//! Everything here is reproducible on purpose, which is exactly what makes it
//! forgeable: keys generated from a known seed let anyone who knows the seed
//! prove false statements. This crate is only ever a `[dev-dependencies]` entry
//! (and of benchmarks), so no production crate exposes it.

pub mod chain;
pub mod forge;

use mpegs_provenance::prove::Entropy;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Reproducible randomness from a fixed seed: the same keys, proofs and
/// commitment seeds on every run.
pub struct Seeded(pub u64);

impl Entropy for Seeded {
    fn rng(&self, salt: u64) -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(self.0 ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }
}
