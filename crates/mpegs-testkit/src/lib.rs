//! Test fixtures that must never guard anything real.
//!
//! Everything here is reproducible on purpose, which is exactly what makes it
//! forgeable: keys generated from a known seed let anyone who knows the seed
//! prove false statements. This crate is only ever a `[dev-dependencies]` entry
//! (and of benchmarks), so no production crate exposes it.

pub mod chain;
pub mod forge;
#[cfg(unix)]
pub mod postgres;

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

/// Runs each named `async fn NAME(backend)` once per database backend, as
/// `sqlite::NAME` and `postgres::NAME` tests (filter with `cargo test sqlite::`
/// or `postgres::`). `$backend` is the caller's backend enum, which must have
/// `Sqlite` and `Postgres` variants; the caller's crate needs `tokio` with its
/// `macros` and `rt-multi-thread` features.
#[macro_export]
macro_rules! on_both_backends {
    ($backend:path; $($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    use $backend as B;
                    super::$name(B::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    use $backend as B;
                    super::$name(B::Postgres).await
                }
            )+
        }
    };
}
