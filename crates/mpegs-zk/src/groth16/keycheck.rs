//! Checks a prover makes on a proving key before trusting it (issue 29 §1).
//!
//! A subverted key can keep every honest proof verifying while it breaks
//! privacy: the blinding wire's commitment basis is `(β+1)·L_k(τ)/γ`, so β = −1
//! makes it the identity and the commitment `D` a fixed function of the hidden
//! values. Two levels:
//!
//! - [`check_for_proving`], before every proof: structure (lengths against the
//!   layout), no identity where a blinding or key point must be non-zero, β ≠ ±1
//!   in the exponent as seen in G2, the small G2 points and the commitment basis in
//!   the prime-order subgroup, and one multi-pairing with random 128-bit weights
//!   tying `β₁` to `β₂`, `δ₁` to `δ₂` and the commitment basis to its
//!   proof-of-knowledge basis through `γ` and `σγ`. Cost: a few pairings and an
//!   MSM the size of the commitment basis (small), far below a proof.
//! - [`check_full`], on import of a foreign key: the above plus every H point
//!   non-zero and the B query in G1 against the one in G2 (a random linear
//!   combination: one G1 and one G2 MSM with 128-bit scalars).
//!
//! What neither can check: H and L are `x/δ` for values `x` nobody publishes
//! (`τⁱt(τ)`, the C query), so a wrong H or L point is only caught by the
//! self-verification [`super::prove`] runs on every proof it returns.

use super::ProvingKey;
use crate::ZkError;
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use rand::RngCore;

fn untrusted(reason: impl Into<String>) -> ZkError {
    ZkError::UntrustedKey(reason.into())
}

fn weights<R: RngCore>(n: usize, rng: &mut R) -> Vec<Fr> {
    (0..n).map(|_| Fr::from(u128::rand(rng))).collect()
}

/// The cheap checks run before every proof.
pub fn check_for_proving<R: RngCore>(pk: &ProvingKey, rng: &mut R) -> Result<(), ZkError> {
    check_beta(pk)?;
    check_structure(pk)?;
    check_points(pk)?;
    check_pairings(pk, rng)
}

/// Everything [`check_for_proving`] does, plus the checks over the whole key
/// (for keys read from elsewhere).
pub fn check_full<R: RngCore>(pk: &ProvingKey, rng: &mut R) -> Result<(), ZkError> {
    check_for_proving(pk, rng)?;
    if pk.h_query.iter().any(|p| p.is_zero()) {
        return Err(untrusted("an H query point is the identity"));
    }
    check_b_queries(pk, rng)
}

/// β = −1 (or 0, or 1) in the exponent: `β₂ ∈ {−G2, 0, G2}`. −1 zeroes the
/// blinding basis; ±1 and 0 are values nobody honest draws, and a known β lets
/// whoever knows the other key values unblind too.
fn check_beta(pk: &ProvingKey) -> Result<(), ZkError> {
    let g2 = G2Affine::generator();
    let beta = pk.vk.beta_g2;
    if beta.is_zero() || beta == -g2 || beta == g2 {
        return Err(untrusted("β is 0 or ±1 (a subverted key)"));
    }
    Ok(())
}

fn check_structure(pk: &ProvingKey) -> Result<(), ZkError> {
    let l = &pk.layout;
    let vars = (l.num_instance + l.num_witness) as usize;
    let committed = l.committed.len();
    let ok = pk.vk.well_formed()
        && pk.vk.ic.len() == l.num_instance as usize
        && pk.a_query.len() == vars
        && pk.b_g1_query.len() == vars
        && pk.b_g2_query.len() == vars
        && committed >= 1
        && l.committed.windows(2).all(|w| w[0] < w[1])
        && l.committed.last().is_some_and(|&c| c < l.num_witness)
        && pk.commit_basis.len() == committed
        && pk.commit_basis_sigma.len() == committed
        && pk.l_query.len() + committed == l.num_witness as usize
        && !pk.h_query.is_empty();
    if !ok {
        return Err(untrusted(
            "degenerate key: query lengths do not match its layout",
        ));
    }
    if pk.a_query.iter().all(|p| p.is_zero()) || pk.b_g1_query.iter().all(|p| p.is_zero()) {
        return Err(untrusted("degenerate key: an A or B query is all identity"));
    }
    Ok(())
}

fn check_points(pk: &ProvingKey) -> Result<(), ZkError> {
    let vk = &pk.vk;
    let g1s = [vk.alpha_g1, pk.beta_g1, pk.delta_g1];
    let g2s = [vk.beta_g2, vk.gamma_g2, vk.delta_g2, vk.sigma_gamma_g2];
    if g1s.iter().any(|p| p.is_zero()) || g2s.iter().any(|p| p.is_zero()) {
        return Err(untrusted("α, β, γ, δ or σγ is the identity"));
    }
    // The blinding wire is one of the committed ones: each basis point must be
    // a real point, or the commitment stops hiding what it commits to.
    if pk
        .commit_basis
        .iter()
        .chain(&pk.commit_basis_sigma)
        .any(|p| p.is_zero())
    {
        return Err(untrusted(
            "a commitment basis point is the identity (the commitment would not hide)",
        ));
    }
    let in_group1 = |p: &G1Affine| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve();
    let in_group2 = |p: &G2Affine| p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve();
    if !g1s
        .iter()
        .chain(&pk.commit_basis)
        .chain(&pk.commit_basis_sigma)
        .all(in_group1)
        || !g2s.iter().all(in_group2)
    {
        return Err(untrusted("a key point is outside the prime-order subgroup"));
    }
    Ok(())
}

/// `e(β₁, G2) = e(G1, β₂)`, `e(δ₁, G2) = e(G1, δ₂)` and
/// `e(Σrᵢ·σKᵢ, γ) = e(Σrᵢ·Kᵢ, σγ)`, weighted and checked as one product.
fn check_pairings<R: RngCore>(pk: &ProvingKey, rng: &mut R) -> Result<(), ZkError> {
    let vk = &pk.vk;
    let w = weights(2, rng);
    let r = weights(pk.commit_basis.len(), rng);
    let k = G1Projective::msm_unchecked(&pk.commit_basis, &r);
    let k_sigma = G1Projective::msm_unchecked(&pk.commit_basis_sigma, &r);
    let g1 = G1Projective::generator();
    let points = G1Projective::normalize_batch(&[
        pk.beta_g1 * w[0] + pk.delta_g1 * w[1],
        -(g1 * w[0]),
        -(g1 * w[1]),
        k_sigma,
        -k,
    ]);
    let g2 = [
        G2Affine::generator(),
        vk.beta_g2,
        vk.delta_g2,
        vk.gamma_g2,
        vk.sigma_gamma_g2,
    ];
    if Bn254::multi_pairing(points, g2) != PairingOutput::zero() {
        return Err(untrusted(
            "the proving key disagrees with its verifying key (β, δ or the commitment key against σγ)",
        ));
    }
    Ok(())
}

/// `e(Σrᵢ·B₁ᵢ, G2) = e(G1, Σrᵢ·B₂ᵢ)`.
fn check_b_queries<R: RngCore>(pk: &ProvingKey, rng: &mut R) -> Result<(), ZkError> {
    let r = weights(pk.b_g1_query.len(), rng);
    let (b1, b2) = rayon::join(
        || G1Projective::msm_unchecked(&pk.b_g1_query, &r),
        || G2Projective::msm_unchecked(&pk.b_g2_query, &r),
    );
    let lhs = Bn254::multi_pairing(
        [b1.into_affine(), -G1Affine::generator()],
        [G2Affine::generator(), b2.into_affine()],
    );
    if lhs != PairingOutput::zero() {
        return Err(untrusted("the B queries in G1 and G2 disagree"));
    }
    Ok(())
}
