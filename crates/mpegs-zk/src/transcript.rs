//! Fiat–Shamir for the committed-wire extension: how the lookup challenges and the
//! proof-of-knowledge weight are derived from public data. Every verifier (native,
//! WASM, Solidity, Stylus) recomputes these with keccak-256, the EVM's native
//! hash, over 32-byte big-endian words:
//!
//! ```text
//! seed = keccak256(CHALLENGE_TAG ‖ vk_digest ‖ x₁ ‖ … ‖ xₙ ‖ D.x ‖ D.y)
//! α    = seed mod r
//! β    = keccak256(seed ‖ 0x01) mod r                       (two-challenge keys)
//! ρ    = keccak256(POK_TAG ‖ seed ‖ A ‖ B ‖ C ‖ P) mod r     (contracts' PoK weight)
//! ```
//!
//! `vk_digest` is sha256 of the compressed verifying key (the hash bundles pin),
//! `xᵢ` the statement's public inputs, `D` the commitment; G2 coordinates are
//! written imaginary part first (the precompiles' order) and the point at infinity
//! as zeros. The seed binds the key, the whole statement and the commitment, so a
//! commitment from another proof, statement or circuit gives other challenges
//! (gnark's CVE-2024-45039 was a challenge that did not bind every commitment).

use crate::groth16::Proof;
use ark_bn254::{Fq, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use sha3::{Digest, Keccak256};

/// keccak256("mpegs.groth16.challenge.v1").
pub fn challenge_tag() -> [u8; 32] {
    Keccak256::digest(b"mpegs.groth16.challenge.v1").into()
}

/// keccak256("mpegs.groth16.pok.v1").
pub fn pok_tag() -> [u8; 32] {
    Keccak256::digest(b"mpegs.groth16.pok.v1").into()
}

fn fr_word(x: &Fr) -> [u8; 32] {
    word(x.into_bigint().to_bytes_be())
}

fn fq_word(x: &Fq) -> [u8; 32] {
    word(x.into_bigint().to_bytes_be())
}

fn word(bytes: Vec<u8>) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[32 - bytes.len()..].copy_from_slice(&bytes);
    out
}

/// The words of a G1 point (x, y), zeros for infinity.
pub fn g1_words(p: &G1Affine) -> [[u8; 32]; 2] {
    match p.xy() {
        Some((x, y)) => [fq_word(&x), fq_word(&y)],
        None => [[0; 32]; 2],
    }
}

/// The words of a G2 point (x.c1, x.c0, y.c1, y.c0), zeros for infinity.
pub fn g2_words(p: &G2Affine) -> [[u8; 32]; 4] {
    match p.xy() {
        Some((x, y)) => [
            fq_word(&x.c1),
            fq_word(&x.c0),
            fq_word(&y.c1),
            fq_word(&y.c0),
        ],
        None => [[0; 32]; 4],
    }
}

/// The transcript seed for a key, a statement and a commitment.
pub fn seed(vk_digest: &[u8; 32], public: &[Fr], d: &G1Affine) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(challenge_tag());
    h.update(vk_digest);
    for x in public {
        h.update(fr_word(x));
    }
    for w in g1_words(d) {
        h.update(w);
    }
    h.finalize().into()
}

/// α (and β when `count` is 2).
pub fn challenges(vk_digest: &[u8; 32], public: &[Fr], d: &G1Affine, count: usize) -> Vec<Fr> {
    let seed = seed(vk_digest, public, d);
    let mut out = vec![Fr::from_be_bytes_mod_order(&seed)];
    if count > 1 {
        let mut h = Keccak256::new();
        h.update(seed);
        h.update([1u8]);
        out.push(Fr::from_be_bytes_mod_order(&h.finalize()));
    }
    out
}

/// ρ, the weight of the proof-of-knowledge equation for verifiers that have no
/// randomness of their own: hashed after the whole proof is fixed.
pub fn pok_weight(vk_digest: &[u8; 32], public: &[Fr], proof: &Proof) -> Fr {
    let mut h = Keccak256::new();
    h.update(pok_tag());
    h.update(seed(vk_digest, public, &proof.d));
    for w in g1_words(&proof.a) {
        h.update(w);
    }
    for w in g2_words(&proof.b) {
        h.update(w);
    }
    for w in g1_words(&proof.c) {
        h.update(w);
    }
    for w in g1_words(&proof.p) {
        h.update(w);
    }
    Fr::from_be_bytes_mod_order(&h.finalize())
}
