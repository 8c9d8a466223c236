//! mpegs-zk owns everything inside the proof system: a thin R1CS layer ([`num`]),
//! the one range-check gadget ([`range`]) and the lookup argument behind it
//! ([`lookup`]), Poseidon and media-commitment gadgets that mirror `mpegs-media`
//! exactly, byte lookup tables ([`lut`]), the Groth16 backend with committed wires
//! ([`groth16`], [`transcript`]) behind a small interface ([`backend`]), the
//! previous backend kept for comparisons ([`legacy`]) and the verifying/proving key
//! store ([`keys`]).

pub mod backend;
pub mod commitment;
pub mod groth16;
pub mod keys;
pub mod legacy;
pub mod lookup;
pub mod lut;
pub mod msm;
pub mod num;
pub mod poseidon;
pub mod range;
pub mod transcript;

pub use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, SynthesisError,
};
pub use backend::Circuit;
pub use num::{Builder, Num, RangeMode};

/// Errors from proving, verifying and the key store.
#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    #[error("constraint synthesis failed: {0}")]
    Synthesis(#[from] SynthesisError),
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("malformed data: {0}")]
    Malformed(String),
    #[error("no keys for circuit {0} in the key store (run `mpegs setup` or `mpegs keys import`)")]
    MissingKey(String),
    #[error("key store: {0}")]
    Store(String),
    #[error("circuit {0}: the key store holds a key made for another circuit under this id (its stored description differs from the one recomputed here)")]
    DescriptionMismatch(String),
    #[error("circuit {0}: the key set has a different key than the one already trusted under this id; refusing to replace it (pass --replace to overwrite)")]
    Conflict(String),
    #[error("untrusted proving key: {0}")]
    UntrustedKey(String),
    #[error("the proof made does not verify under the key's own verifying key (a wrong witness or a bad key); refusing to return it")]
    SelfCheckFailed,
}
