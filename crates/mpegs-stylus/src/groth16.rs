//! Groth16 verification over BN254, generic over where the curve arithmetic runs
//! ([`Bn254`]): the EVM precompiles in the contract, revm's precompiles in native
//! tests, or arkworks inside the WASM (`pairing-wasm`).
//!
//! The equation and word layout are those of the generated Solidity verifier:
//! `vk_x = IC₀ + Σ inputᵢ·ICᵢ₊₁`, then `e(A, B)·e(C, −δ)·e(α, −β)·e(vk_x, −γ) = 1`,
//! with the proof as `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]` (G2
//! coordinates imaginary part first, as precompile 0x08 takes them).

use crate::field::{g1_on_curve, g2_on_curve, P};
use alloy_primitives::U256;

/// Order of the BN254 scalar field: public inputs must be below it.
pub const R: U256 = U256::from_limbs([
    0x43e1_f593_f000_0001,
    0x2833_e848_79b9_7091,
    0xb850_45b6_8181_585d,
    0x3064_4e72_e131_a029,
]);

/// A Groth16 verifying key for `N` public inputs, with the G2 points negated and
/// every G2 coordinate in precompile order `[x.c1, x.c0, y.c1, y.c0]`.
#[derive(Clone, Debug)]
pub struct Vk<const N: usize> {
    pub alpha: [U256; 2],
    pub beta_neg: [U256; 4],
    pub gamma_neg: [U256; 4],
    pub delta_neg: [U256; 4],
    /// The constant term IC₀ of the public-input combination.
    pub ic0: [U256; 2],
    /// ICᵢ₊₁, the point multiplied by public input `i`.
    pub ic: [[U256; 2]; N],
}

/// Why a proof was refused. The contract reverts with the matching Solidity error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The pairing check failed (or a precompile refused its input).
    ProofInvalid,
    /// A public input is not below the scalar field order r.
    PublicInputNotInField,
    /// A proof point has a coordinate ≥ p or is not on its curve: 0 = A, 1 = B, 2 = C.
    ProofPointNotOnCurve(u8),
}

/// The three BN254 operations of EIP-196/197, in their exact byte formats
/// (big-endian 32-byte words; G2 coordinates imaginary part first). `None` means the
/// operation failed (a precompile call that reverted or returned garbage).
pub trait Bn254 {
    /// ECADD (0x06): `(x₁, y₁, x₂, y₂)` → `(x, y)`.
    fn ec_add(&mut self, input: &[u8; 128]) -> Option<[u8; 64]>;
    /// ECMUL (0x07): `(x, y, s)` → `(x, y)`.
    fn ec_mul(&mut self, input: &[u8; 96]) -> Option<[u8; 64]>;
    /// Pairing check (0x08) of four (G1, G2) pairs: whether the product is 1.
    fn pairing(&mut self, input: &[u8; 768]) -> Option<bool>;
}

fn put(out: &mut [u8], words: &[U256]) {
    for (chunk, w) in out.chunks_exact_mut(32).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes::<32>());
    }
}

/// Checks the proof's points without any precompile: coordinates below p and on
/// their curves ((0, 0) and (0, 0, 0, 0) are the points at infinity, as in EIP-196/197).
/// Subgroup membership of B is left to the pairing (precompile 0x08 checks it).
pub fn check_points(proof: &[U256; 8]) -> Result<(), Error> {
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
    if !g1(proof[6], proof[7]) {
        return Err(Error::ProofPointNotOnCurve(2));
    }
    Ok(())
}

/// Verifies `proof` for the public `input` against `vk`.
pub fn verify<B: Bn254, const N: usize>(
    curve: &mut B,
    vk: &Vk<N>,
    proof: &[U256; 8],
    input: &[U256; N],
) -> Result<(), Error> {
    if input.iter().any(|x| *x >= R) {
        return Err(Error::PublicInputNotInField);
    }
    check_points(proof)?;

    // vk_x = IC₀ + Σ inputᵢ·ICᵢ₊₁: `acc` holds (vk_x, last product) for ECADD.
    let mut acc = [0u8; 128];
    put(&mut acc[..64], &vk.ic0);
    for (point, scalar) in vk.ic.iter().zip(input) {
        let mut mul = [0u8; 96];
        put(&mut mul[..64], point);
        put(&mut mul[64..], core::slice::from_ref(scalar));
        let product = curve.ec_mul(&mul).ok_or(Error::ProofInvalid)?;
        acc[64..].copy_from_slice(&product);
        let sum = curve.ec_add(&acc).ok_or(Error::ProofInvalid)?;
        acc[..64].copy_from_slice(&sum);
    }

    // e(A, B)·e(C, −δ)·e(α, −β)·e(vk_x, −γ) = 1
    let mut pairs = [0u8; 768];
    put(&mut pairs[..192], &proof[..6]);
    put(&mut pairs[192..256], &proof[6..]);
    put(&mut pairs[256..384], &vk.delta_neg);
    put(&mut pairs[384..448], &vk.alpha);
    put(&mut pairs[448..576], &vk.beta_neg);
    pairs[576..640].copy_from_slice(&acc[..64]);
    put(&mut pairs[640..], &vk.gamma_neg);
    match curve.pairing(&pairs) {
        Some(true) => Ok(()),
        _ => Err(Error::ProofInvalid),
    }
}
