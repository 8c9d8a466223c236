//! Groth16 verification over BN254 with the committed-wire commitment of the lookup
//! backend (`mpegs_zk::groth16`, docs/lookups.md), generic over where the curve
//! arithmetic and keccak run ([`Bn254`]): the EVM precompiles and Stylus's native
//! keccak in the contract, revm's precompiles in native tests, or arkworks inside
//! the WASM (`pairing-wasm`).
//!
//! It computes what the generated Solidity verifier (`mpegs_chain::verifier`) and
//! `mpegs_zk::groth16::verify_deterministic` compute, word for word:
//!
//! ```text
//! seed = keccak256(CHALLENGE_TAG ‖ VK_DIGEST ‖ input₁ ‖ … ‖ inputₙ ‖ D.x ‖ D.y)
//! α    = seed mod r,  β = keccak256(seed ‖ 0x01) mod r   (β for two-challenge keys)
//! ρ    = keccak256(POK_TAG ‖ seed ‖ A ‖ B ‖ C ‖ P) mod r
//! IC   = IC₀ + Σ inputᵢ·ICᵢ + α·IC_α (+ β·IC_β)
//! e(A, B) · e(α₁, −β₂) · e(IC + D + ρ·P, −γ) · e(C, −δ) · e(ρ·D, σγ) = 1
//! ```
//!
//! with the proof as `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y, D.x, D.y,
//! P.x, P.y]` (G2 coordinates imaginary part first, as precompile 0x08 takes them).
//! The last pair is the commitment's proof of knowledge (P = σ·D), folded in with
//! the Fiat–Shamir weight ρ: without it a prover can move public-input keys into D
//! and prove another statement (`mpegs_testkit::forge::proof_claiming`).

use crate::field::{g1_on_curve, g2_on_curve, P};
use alloc::vec::Vec;
use alloy_primitives::{hex, U256};

/// Order of the BN254 scalar field: public inputs must be below it.
pub const R: U256 = U256::from_limbs([
    0x43e1_f593_f000_0001,
    0x2833_e848_79b9_7091,
    0xb850_45b6_8181_585d,
    0x3064_4e72_e131_a029,
]);

/// keccak256("mpegs.groth16.challenge.v1"), the first word the seed hashes.
pub const CHALLENGE_TAG: [u8; 32] =
    hex!("b0a985920dda30b7b07b5f39b627a32bd07d1af265776afdc4bedfe087e55230");

/// keccak256("mpegs.groth16.pok.v1"), the first word ρ hashes.
pub const POK_TAG: [u8; 32] =
    hex!("5abdc11bb0c1c8a747ee1558156f85988112d9dc6a048a3b52c0a653ff0986fb");

/// Words in a proof: A (2), B (4), C (2), D (2), P (2).
pub const PROOF_WORDS: usize = 12;

/// Bytes of the pairing check's input: five (G1, G2) pairs of 192 bytes.
pub const PAIRING_BYTES: usize = 5 * 192;

/// A verifying key for `N` public inputs and `C` derived challenges (1 or 2), with
/// β, γ, δ negated and every G2 point's coordinates in precompile order
/// `[x.c1, x.c0, y.c1, y.c0]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vk<const N: usize, const C: usize> {
    /// sha256 of the compressed key (`mpegs_zk::backend::vk_digest`): the seed binds it.
    pub digest: [u8; 32],
    pub alpha: [U256; 2],
    pub beta_neg: [U256; 4],
    pub gamma_neg: [U256; 4],
    pub delta_neg: [U256; 4],
    /// σ·γ in G2 (not negated): the commitment's proof-of-knowledge pair.
    pub sigma_gamma: [U256; 4],
    /// The constant term IC₀ of the public-input combination.
    pub ic0: [U256; 2],
    /// ICᵢ, the point multiplied by public input `i`.
    pub ic: [[U256; 2]; N],
    /// The points multiplied by the challenges α (and β).
    pub ic_challenges: [[U256; 2]; C],
}

/// Why a proof was refused. The contract reverts with the matching Solidity error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The pairing check failed (or a precompile refused its input).
    ProofInvalid,
    /// A public input is not below the scalar field order r.
    PublicInputNotInField,
    /// A proof point has a coordinate ≥ p or is not on its curve:
    /// 0 = A, 1 = B, 2 = C, 3 = D, 4 = P.
    ProofPointNotOnCurve(u8),
}

/// The BN254 operations of EIP-196/197, in their exact byte formats (big-endian
/// 32-byte words; G2 coordinates imaginary part first), and keccak-256. `None`
/// means the operation failed (a precompile call that reverted or returned garbage).
pub trait Bn254 {
    /// ECADD (0x06): `(x₁, y₁, x₂, y₂)` → `(x, y)`.
    fn ec_add(&mut self, input: &[u8; 128]) -> Option<[u8; 64]>;
    /// ECMUL (0x07): `(x, y, s)` → `(x, y)`.
    fn ec_mul(&mut self, input: &[u8; 96]) -> Option<[u8; 64]>;
    /// Pairing check (0x08) of five (G1, G2) pairs: whether the product is 1.
    fn pairing(&mut self, input: &[u8; PAIRING_BYTES]) -> Option<bool>;
    /// keccak-256 of `data` (the contract uses Stylus's `native_keccak256`).
    fn keccak256(&mut self, data: &[u8]) -> [u8; 32];
}

fn put(out: &mut [u8], words: &[U256]) {
    for (chunk, w) in out.chunks_exact_mut(32).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes::<32>());
    }
}

/// A hash as a scalar: the big-endian word mod r. A word is below 2²⁵⁶ < 6r, so
/// at most five subtractions (a division would cost kilobytes of WASM).
pub fn hash_scalar(hash: &[u8; 32]) -> U256 {
    let mut x = U256::from_be_bytes(*hash);
    while x >= R {
        x -= R;
    }
    x
}

/// Checks the proof's points without any precompile: coordinates below p and on
/// their curves ((0, 0) and (0, 0, 0, 0) are the points at infinity, as in EIP-196/197).
/// Subgroup membership of B is left to the pairing (precompile 0x08 checks it); G1
/// has no other subgroup.
pub fn check_points(proof: &[U256; PROOF_WORDS]) -> Result<(), Error> {
    let reduced = |words: &[U256]| words.iter().all(|w| *w < P);
    let g1 =
        |x: U256, y: U256| reduced(&[x, y]) && ((x.is_zero() && y.is_zero()) || g1_on_curve(x, y));
    if !g1(proof[0], proof[1]) {
        return Err(Error::ProofPointNotOnCurve(0));
    }
    let b = &proof[2..6];
    if !(reduced(b) && (b.iter().all(|w| w.is_zero()) || g2_on_curve(b[1], b[0], b[3], b[2]))) {
        return Err(Error::ProofPointNotOnCurve(1));
    }
    for (point, at) in [(2u8, 6usize), (3, 8), (4, 10)] {
        if !g1(proof[at], proof[at + 1]) {
            return Err(Error::ProofPointNotOnCurve(point));
        }
    }
    Ok(())
}

/// What the verifier derives by hashing (Fiat–Shamir): the lookup challenges and
/// the proof-of-knowledge weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transcript<const C: usize> {
    /// α (and β), the values of the challenge inputs.
    pub challenges: [U256; C],
    /// ρ, the weight of the proof-of-knowledge pair.
    pub rho: U256,
}

/// Hashes the transcript of `proof` for `input` under `vk` (as the Solidity
/// verifier and `mpegs_zk::transcript` do).
pub fn transcript<B: Bn254, const N: usize, const C: usize>(
    curve: &mut B,
    vk: &Vk<N, C>,
    proof: &[U256; PROOF_WORDS],
    input: &[U256; N],
) -> Transcript<C> {
    // seed = keccak256(CHALLENGE_TAG ‖ VK_DIGEST ‖ inputs ‖ D.x ‖ D.y)
    let mut preimage = Vec::with_capacity(32 * (N + 4));
    preimage.extend_from_slice(&CHALLENGE_TAG);
    preimage.extend_from_slice(&vk.digest);
    for w in input.iter().chain(&proof[8..10]) {
        preimage.extend_from_slice(&w.to_be_bytes::<32>());
    }
    let seed = curve.keccak256(&preimage);

    let mut challenges = [U256::ZERO; C];
    for (i, c) in challenges.iter_mut().enumerate() {
        *c = if i == 0 {
            hash_scalar(&seed)
        } else {
            // β = keccak256(seed ‖ 0x01): 33 bytes.
            let mut next = [0u8; 33];
            next[..32].copy_from_slice(&seed);
            next[32] = i as u8;
            hash_scalar(&curve.keccak256(&next))
        };
    }

    // ρ = keccak256(POK_TAG ‖ seed ‖ A ‖ B ‖ C ‖ P)
    let mut pok = [0u8; 32 * 12];
    pok[..32].copy_from_slice(&POK_TAG);
    pok[32..64].copy_from_slice(&seed);
    put(&mut pok[64..320], &proof[..8]);
    put(&mut pok[320..], &proof[10..]);
    let rho = hash_scalar(&curve.keccak256(&pok));
    Transcript { challenges, rho }
}

/// `acc += s·point` by ECMUL then ECADD (`acc` holds the sum in its first 64 bytes).
fn add_mul<B: Bn254>(
    curve: &mut B,
    acc: &mut [u8; 128],
    point: &[U256],
    s: U256,
) -> Result<(), Error> {
    let mut mul = [0u8; 96];
    put(&mut mul[..64], point);
    put(&mut mul[64..], &[s]);
    let product = curve.ec_mul(&mul).ok_or(Error::ProofInvalid)?;
    add(curve, acc, &product)
}

/// `acc += point` by ECADD.
fn add<B: Bn254>(curve: &mut B, acc: &mut [u8; 128], point: &[u8; 64]) -> Result<(), Error> {
    acc[64..].copy_from_slice(point);
    let sum = curve.ec_add(acc).ok_or(Error::ProofInvalid)?;
    acc[..64].copy_from_slice(&sum);
    Ok(())
}

/// The pairing check for given transcript values (the equation of the module
/// docs). [`verify`] calls it with the hashed [`transcript`]; tests call it with
/// ρ = 0 to show what the proof-of-knowledge pair refuses. Checks nothing else:
/// call [`verify`].
pub fn pairing_check<B: Bn254, const N: usize, const C: usize>(
    curve: &mut B,
    vk: &Vk<N, C>,
    proof: &[U256; PROOF_WORDS],
    input: &[U256; N],
    t: &Transcript<C>,
) -> Result<(), Error> {
    // X = IC₀ + Σ inputᵢ·ICᵢ + Σ challengeⱼ·IC_j + D + ρ·P, in the Solidity
    // verifier's order of precompile calls.
    let mut acc = [0u8; 128];
    put(&mut acc[..64], &vk.ic0);
    for (point, s) in vk.ic.iter().zip(input) {
        add_mul(curve, &mut acc, point, *s)?;
    }
    for (point, s) in vk.ic_challenges.iter().zip(&t.challenges) {
        add_mul(curve, &mut acc, point, *s)?;
    }
    let mut d = [0u8; 64];
    put(&mut d, &proof[8..10]);
    add(curve, &mut acc, &d)?;
    add_mul(curve, &mut acc, &proof[10..12], t.rho)?;
    // Y = ρ·D
    let mut mul = [0u8; 96];
    mul[..64].copy_from_slice(&d);
    put(&mut mul[64..], &[t.rho]);
    let y = curve.ec_mul(&mul).ok_or(Error::ProofInvalid)?;

    // e(A, B)·e(α, −β)·e(X, −γ)·e(C, −δ)·e(Y, σγ) = 1
    let mut pairs = [0u8; PAIRING_BYTES];
    put(&mut pairs[..192], &proof[..6]);
    put(&mut pairs[192..256], &vk.alpha);
    put(&mut pairs[256..384], &vk.beta_neg);
    pairs[384..448].copy_from_slice(&acc[..64]);
    put(&mut pairs[448..576], &vk.gamma_neg);
    put(&mut pairs[576..640], &proof[6..8]);
    put(&mut pairs[640..768], &vk.delta_neg);
    pairs[768..832].copy_from_slice(&y);
    put(&mut pairs[832..], &vk.sigma_gamma);
    match curve.pairing(&pairs) {
        Some(true) => Ok(()),
        _ => Err(Error::ProofInvalid),
    }
}

/// Verifies `proof` for the public `input` against `vk`: inputs below r, points on
/// their curves, then the pairing check with the hashed transcript.
pub fn verify<B: Bn254, const N: usize, const C: usize>(
    curve: &mut B,
    vk: &Vk<N, C>,
    proof: &[U256; PROOF_WORDS],
    input: &[U256; N],
) -> Result<(), Error> {
    if input.iter().any(|x| *x >= R) {
        return Err(Error::PublicInputNotInField);
    }
    check_points(proof)?;
    let t = transcript(curve, vk, proof, input);
    pairing_check(curve, vk, proof, input, &t)
}
