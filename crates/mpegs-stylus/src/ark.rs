//! [`Bn254`] computed inside the WASM with arkworks (feature `pairing-wasm`): the
//! same byte formats and failure cases as precompiles 0x06/0x07/0x08, so the
//! verifier logic is unchanged; keccak is still Stylus's native hostio. Measured
//! against the precompile route in BENCHMARKS.md; it is not what the contract ships
//! with.

use crate::groth16::{Bn254, PAIRING_BYTES};
use alloc::vec::Vec;
use ark_bn254::{Bn254 as Curve, Fq, Fq2, G1Affine, G1Projective, G2Affine};
use ark_ec::{pairing::Pairing, AffineRepr, CurveGroup};
use ark_ff::{BigInt, PrimeField, Zero};
use stylus_sdk::prelude::Host;

/// Arkworks' BN254, in-process; keccak from the host.
pub struct Arkworks<'a, H: Host + ?Sized> {
    pub host: &'a H,
}

fn fq(word: &[u8]) -> Option<Fq> {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 32 - 8 * (i + 1);
        *limb = u64::from_be_bytes(word[start..start + 8].try_into().ok()?);
    }
    Fq::from_bigint(BigInt(limbs)) // None when ≥ p
}

fn put_fq(out: &mut [u8], x: Fq) {
    let limbs = x.into_bigint().0;
    for (i, limb) in limbs.iter().enumerate() {
        let start = 32 - 8 * (i + 1);
        out[start..start + 8].copy_from_slice(&limb.to_be_bytes());
    }
}

fn g1(bytes: &[u8]) -> Option<G1Affine> {
    let (x, y) = (fq(&bytes[..32])?, fq(&bytes[32..64])?);
    if x.is_zero() && y.is_zero() {
        return Some(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(x, y);
    p.is_on_curve().then_some(p)
}

fn g2(bytes: &[u8]) -> Option<G2Affine> {
    let w = |i: usize| fq(&bytes[32 * i..32 * (i + 1)]);
    let (x, y) = (Fq2::new(w(1)?, w(0)?), Fq2::new(w(3)?, w(2)?));
    if x.is_zero() && y.is_zero() {
        return Some(G2Affine::zero());
    }
    let p = G2Affine::new_unchecked(x, y);
    (p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve()).then_some(p)
}

fn encode(p: G1Projective) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.into_affine().xy() {
        put_fq(&mut out[..32], x);
        put_fq(&mut out[32..], y);
    }
    out
}

impl<H: Host + ?Sized> Bn254 for Arkworks<'_, H> {
    fn ec_add(&mut self, input: &[u8; 128]) -> Option<[u8; 64]> {
        Some(encode(g1(&input[..64])? + g1(&input[64..])?))
    }

    fn ec_mul(&mut self, input: &[u8; 96]) -> Option<[u8; 64]> {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let start = 64 + 32 - 8 * (i + 1);
            *limb = u64::from_be_bytes(input[start..start + 8].try_into().ok()?);
        }
        Some(encode(g1(&input[..64])?.mul_bigint(limbs)))
    }

    fn pairing(&mut self, input: &[u8; PAIRING_BYTES]) -> Option<bool> {
        let mut a = Vec::with_capacity(5);
        let mut b = Vec::with_capacity(5);
        for pair in input.chunks_exact(192) {
            a.push(g1(&pair[..64])?);
            b.push(g2(&pair[64..])?);
        }
        Some(Curve::multi_pairing(a, b).is_zero())
    }

    fn keccak256(&mut self, data: &[u8]) -> [u8; 32] {
        self.host.native_keccak256(data).0
    }
}
