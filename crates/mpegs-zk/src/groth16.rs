//! Groth16 over BN254 with a committed-wire extension (the BSB22 construction):
//! the proof carries a Pedersen commitment `D` to the wires the lookup argument
//! needs fixed before its challenges, and a proof of knowledge `P = σ·D` that `D`
//! is a combination of those wires' keys only. The challenges are hashed from the
//! key, the statement and `D` ([`crate::transcript`]). docs/lookups.md has the
//! protocol, its soundness argument and the lessons taken from gnark's
//! CVE-2024-45039 and CVE-2024-45040.
//!
//! Keys split the variables three ways: the constant one, the statement's public
//! inputs and the challenges share the verifier's `γ` keys (`ic`); committed
//! witnesses get `γ` keys too (their part of the sum is `D`, which the prover
//! sends); every other witness gets a `δ` key and is hidden in `C`. Verification:
//!
//! ```text
//! e(A, B) = e(α, β) · e(IC + D, γ) · e(C, δ)      (Groth16 with D in the γ part)
//! e(P, γ) = e(D, σγ)                              (D is a commitment, P = σ·D)
//! ```
//!
//! checked as one product of five pairings with a random `ρ` on the second
//! equation (verifier randomness natively, Fiat–Shamir on chain).
//!
//! The R1CS-to-QAP reduction is arkworks' libsnark reduction (`ark-groth16`), which
//! adds a row per instance variable so their polynomials are independent.

use crate::lookup::{Challenger, Closed};
use crate::msm::msm;
use crate::num::Builder;
use crate::transcript;
use crate::ZkError;
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::{Pairing, PairingOutput};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, UniformRand, Zero};
use ark_groth16::r1cs_to_qap::{LibsnarkReduction, R1CSToQAP};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::gr1cs::{
    ConstraintSystem, ConstraintSystemRef, OptimizationGoal, SynthesisError, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rand::{CryptoRng, RngCore, SeedableRng};
use rayon::prelude::*;

type Domain = GeneralEvaluationDomain<Fr>;

/// A circuit: synthesizes its constraints on a builder. The backend owns the
/// builder, closes its lookup argument and proves.
pub trait Circuit {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError>;
}

/// The verifying key.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct VerifyingKey {
    pub alpha_g1: G1Affine,
    pub beta_g2: G2Affine,
    pub gamma_g2: G2Affine,
    pub delta_g2: G2Affine,
    /// `σ·γ` in G2: the commitment's proof-of-knowledge check.
    pub sigma_gamma_g2: G2Affine,
    /// `γ` keys of the constant one, the statement's public inputs and then the
    /// challenges.
    pub ic: Vec<G1Affine>,
    /// How many challenges follow the statement's inputs (1, or 2 with
    /// multi-column tables).
    pub challenges: u8,
}

impl VerifyingKey {
    /// Number of public inputs a statement gives (the challenges are derived).
    pub fn statement_inputs(&self) -> usize {
        self.ic.len() - 1 - self.challenges as usize
    }

    fn well_formed(&self) -> bool {
        (1..=2).contains(&self.challenges) && self.ic.len() > self.challenges as usize
    }
}

/// Where each variable of the circuit goes (checked at proving time against the
/// circuit actually synthesized).
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Layout {
    pub num_constraints: u64,
    pub num_instance: u64,
    pub num_witness: u64,
    /// Committed witnesses (indices among witnesses), ascending.
    pub committed: Vec<u64>,
}

/// The proving key.
#[derive(Clone, Debug, PartialEq, CanonicalSerialize, CanonicalDeserialize)]
pub struct ProvingKey {
    pub vk: VerifyingKey,
    pub layout: Layout,
    pub beta_g1: G1Affine,
    pub delta_g1: G1Affine,
    /// `u_i(τ)` of every variable (instance then witness).
    pub a_query: Vec<G1Affine>,
    pub b_g1_query: Vec<G1Affine>,
    pub b_g2_query: Vec<G2Affine>,
    /// `τ^i·t(τ)/δ`.
    pub h_query: Vec<G1Affine>,
    /// `δ` keys of the uncommitted witnesses, in witness order.
    pub l_query: Vec<G1Affine>,
    /// `γ` keys of the committed witnesses, and the same times σ.
    pub commit_basis: Vec<G1Affine>,
    pub commit_basis_sigma: Vec<G1Affine>,
}

/// A proof: Groth16's A, B, C, the commitment D and its proof of knowledge P.
#[derive(Clone, Copy, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Proof {
    pub a: G1Affine,
    pub b: G2Affine,
    pub c: G1Affine,
    pub d: G1Affine,
    pub p: G1Affine,
}

/// Compressed proof size: four G1 points and one G2 point.
pub const PROOF_BYTES: usize = 4 * 32 + 64;

fn new_cs(mode: SynthesisMode) -> ConstraintSystemRef<Fr> {
    let cs = ConstraintSystem::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(mode);
    cs
}

/// Synthesizes and closes the lookup argument.
fn synthesize<C: Circuit>(
    circuit: C,
    mode: SynthesisMode,
    challenger: Option<&mut dyn Challenger>,
) -> Result<(ConstraintSystemRef<Fr>, Closed), ZkError> {
    let cs = new_cs(mode);
    let b = Builder::new(cs.clone());
    circuit.synthesize(&b)?;
    let closed = b.finalize(challenger)?;
    cs.finalize();
    Ok((cs, closed))
}

fn layout(cs: &ConstraintSystemRef<Fr>, closed: &Closed) -> Layout {
    Layout {
        num_constraints: cs.num_constraints() as u64,
        num_instance: cs.num_instance_variables() as u64,
        num_witness: cs.num_witness_variables() as u64,
        committed: closed.committed.iter().map(|&i| i as u64).collect(),
    }
}

/// The toxic waste of one setup: whoever knows it can forge proofs and unblind
/// commitments. Zeroized on drop.
#[derive(Clone)]
pub struct Trapdoor {
    pub alpha: Fr,
    pub beta: Fr,
    pub gamma: Fr,
    pub delta: Fr,
    pub sigma: Fr,
    pub tau: Fr,
}

impl Drop for Trapdoor {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.alpha.zeroize();
        self.beta.zeroize();
        self.gamma.zeroize();
        self.delta.zeroize();
        self.sigma.zeroize();
        self.tau.zeroize();
    }
}

/// Zeroizes a vector of secret-derived scalars before freeing it.
fn wipe(mut v: Vec<Fr>) {
    use zeroize::Zeroize;
    v.iter_mut().for_each(|x| x.zeroize());
}

/// The circuit-specific setup (toxic waste from `rng`, zeroized on return).
pub fn setup<C: Circuit, R: RngCore + CryptoRng>(
    circuit: C,
    rng: &mut R,
) -> Result<(ProvingKey, VerifyingKey), ZkError> {
    let mut nonzero = || loop {
        let x = Fr::rand(rng);
        if !x.is_zero() {
            break x;
        }
    };
    // τ is redrawn by `setup_with_trapdoor`'s caller only if it lands in the
    // domain (probability ~2^-230); refuse rather than loop.
    let trapdoor = Trapdoor {
        alpha: nonzero(),
        beta: nonzero(),
        gamma: nonzero(),
        delta: nonzero(),
        sigma: nonzero(),
        tau: nonzero(),
    };
    setup_with_trapdoor(circuit, &trapdoor)
}

/// The setup from given toxic waste (tests build subverted keys with it; the
/// ceremony's initial key is this with γ = δ = σ = 1). Refuses zero secrets
/// and a τ inside the evaluation domain.
pub fn setup_with_trapdoor<C: Circuit>(
    circuit: C,
    trapdoor: &Trapdoor,
) -> Result<(ProvingKey, VerifyingKey), ZkError> {
    let (cs, closed) = synthesize(circuit, SynthesisMode::Setup, None)?;
    let layout = layout(&cs, &closed);
    let Trapdoor {
        alpha,
        beta,
        gamma,
        delta,
        sigma,
        tau: t,
    } = trapdoor.clone();
    if [alpha, beta, gamma, delta, sigma]
        .iter()
        .any(|x| x.is_zero())
    {
        return Err(ZkError::Malformed("a zero setup secret".into()));
    }
    let g1 = G1Projective::generator();
    let g2 = G2Projective::generator();

    let domain = Domain::new(cs.num_constraints() + cs.num_instance_variables())
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    if domain.evaluate_vanishing_polynomial(t).is_zero() {
        return Err(ZkError::Malformed("τ lies in the evaluation domain".into()));
    }
    let num_instance = cs.num_instance_variables();
    let (a, b, c, zt, _, domain_size) =
        LibsnarkReduction::instance_map_with_evaluation::<Fr, Domain>(cs, &t)?;

    let gamma_inv = gamma.inverse().expect("non-zero");
    let delta_inv = delta.inverse().expect("non-zero");
    let key = |i: usize| beta * a[i] + alpha * b[i] + c[i];
    let committed: Vec<usize> = closed.committed.iter().map(|&w| num_instance + w).collect();
    let is_committed = {
        let mut flags = vec![false; a.len()];
        for &i in &committed {
            flags[i] = true;
        }
        flags
    };
    let ic_scalars: Vec<Fr> = (0..num_instance).map(|i| key(i) * gamma_inv).collect();
    let commit_scalars: Vec<Fr> = committed.iter().map(|&i| key(i) * gamma_inv).collect();
    let commit_sigma_scalars: Vec<Fr> = commit_scalars.iter().map(|k| *k * sigma).collect();
    let l_scalars: Vec<Fr> = (num_instance..a.len())
        .filter(|&i| !is_committed[i])
        .map(|i| key(i) * delta_inv)
        .collect();
    let h_scalars =
        LibsnarkReduction::h_query_scalars::<Fr, Domain>(domain_size - 1, t, zt, delta_inv)?;

    let g1_count = a.len() * 2 + h_scalars.len() + l_scalars.len() + 2 * commit_scalars.len();
    let g1_table = BatchMulPreprocessing::new(g1, g1_count);
    let g2_table = BatchMulPreprocessing::new(g2, b.len());
    let vk = VerifyingKey {
        alpha_g1: (g1 * alpha).into_affine(),
        beta_g2: (g2 * beta).into_affine(),
        gamma_g2: (g2 * gamma).into_affine(),
        delta_g2: (g2 * delta).into_affine(),
        sigma_gamma_g2: (g2 * (sigma * gamma)).into_affine(),
        ic: g1_table.batch_mul(&ic_scalars),
        challenges: closed.challenges as u8,
    };
    let pk = ProvingKey {
        layout,
        beta_g1: (g1 * beta).into_affine(),
        delta_g1: (g1 * delta).into_affine(),
        a_query: g1_table.batch_mul(&a),
        b_g1_query: g1_table.batch_mul(&b),
        b_g2_query: g2_table.batch_mul(&b),
        h_query: g1_table.batch_mul(&h_scalars),
        l_query: g1_table.batch_mul(&l_scalars),
        commit_basis: g1_table.batch_mul(&commit_scalars),
        commit_basis_sigma: g1_table.batch_mul(&commit_sigma_scalars),
        vk: vk.clone(),
    };
    // The evaluations are the toxic waste in another form.
    for v in [
        a,
        b,
        c,
        ic_scalars,
        commit_scalars,
        commit_sigma_scalars,
        l_scalars,
        h_scalars,
    ] {
        wipe(v);
    }
    Ok((pk, vk))
}

/// The prover's side of the lookup argument: commits with the proving key's
/// commitment basis and hashes the challenges from the commitment.
struct Committer<'a, R> {
    pk: &'a ProvingKey,
    vk_digest: [u8; 32],
    rng: &'a mut R,
    /// (D, P) once committed.
    commitment: Option<(G1Affine, G1Affine)>,
    /// Time spent committing.
    spent: std::time::Duration,
}

impl<R: RngCore + CryptoRng> Challenger for Committer<'_, R> {
    fn blinding(&mut self) -> Fr {
        Fr::rand(self.rng)
    }

    fn challenges(
        &mut self,
        public: &[Fr],
        indices: &[usize],
        values: &[Fr],
        count: usize,
    ) -> Result<Vec<Fr>, SynthesisError> {
        let expected = &self.pk.layout.committed;
        if indices.len() != expected.len()
            || indices.iter().zip(expected).any(|(a, b)| *a as u64 != *b)
            || count != self.pk.vk.challenges as usize
        {
            // Another circuit than the key was made for.
            return Err(SynthesisError::Unsatisfiable);
        }
        let start = std::time::Instant::now();
        let (d, p) = commit(self.pk, values);
        self.spent = start.elapsed();
        self.commitment = Some((d, p));
        Ok(transcript::challenges(&self.vk_digest, public, &d, count))
    }
}

/// The prover's side of the lookup argument, with the commitment it made. The
/// honest one hashes [`commit`]'s D; tests plug in forgers to show what the
/// verifier refuses.
pub trait Commit: Challenger {
    /// (D, P) once the argument is closed.
    fn commitment(&self) -> Option<(G1Affine, G1Affine)>;
}

impl<R: RngCore + CryptoRng> Commit for Committer<'_, R> {
    fn commitment(&self) -> Option<(G1Affine, G1Affine)> {
        self.commitment
    }
}

/// The commitment D to the committed wires' values (in the key's order) and its
/// proof of knowledge P = σ·D.
pub fn commit(pk: &ProvingKey, values: &[Fr]) -> (G1Affine, G1Affine) {
    let (d, p) = rayon::join(
        || msm(&pk.commit_basis, values),
        || msm(&pk.commit_basis_sigma, values),
    );
    (d.into_affine(), p.into_affine())
}

/// Proves one circuit instance.
pub fn prove<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: C,
    rng: &mut R,
) -> Result<Proof, ZkError> {
    prove_honestly(pk, circuit, rng, None).map(|(proof, _)| proof)
}

/// Proves with the honest committer (blinding from its own stream seeded by
/// `rng`); also returns the time spent committing.
fn prove_honestly<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: C,
    rng: &mut R,
    timings: Option<&mut ProveTimings>,
) -> Result<(Proof, std::time::Duration), ZkError> {
    keycheck::check_for_proving(pk, &mut rand::rngs::OsRng)?;
    let mut blinding_rng = rand_chacha::ChaCha20Rng::from_rng(&mut *rng)
        .map_err(|e| ZkError::Malformed(format!("randomness: {e}")))?;
    let mut committer = Committer {
        pk,
        vk_digest: vk_digest(&pk.vk),
        rng: &mut blinding_rng,
        commitment: None,
        spent: Default::default(),
    };
    let (proof, public) = prove_phases(pk, circuit, &mut committer, rng, timings)?;
    // Never hand out a proof that does not verify: a bad witness the
    // constraints missed, or a key whose H or L query is wrong (which no check
    // on the key alone can see).
    if !verify_deterministic(&prepare(&pk.vk), &public, &proof) {
        return Err(ZkError::SelfCheckFailed);
    }
    Ok((proof, committer.spent))
}

/// Proves with a given committer (the honest one, or a test's forger).
pub fn prove_with<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: C,
    committer: &mut dyn Commit,
    rng: &mut R,
) -> Result<Proof, ZkError> {
    prove_phases(pk, circuit, committer, rng, None).map(|(proof, _)| proof)
}

/// Where one proof's time went (wall clock). The MSMs run one after another when
/// measured, each on all cores, so their times add up.
#[derive(Clone, Debug, Default)]
pub struct ProveTimings {
    /// The circuit's constraints and witness, and closing the lookup argument
    /// (including the commitment's two MSMs, also given apart).
    pub synthesis: std::time::Duration,
    pub commitment: std::time::Duration,
    /// Inlining linear combinations and building the matrices.
    pub matrices: std::time::Duration,
    /// The QAP witness map (FFTs).
    pub witness_map: std::time::Duration,
    /// A, B in G1, B in G2, H and L.
    pub msm: [std::time::Duration; 5],
    pub total: std::time::Duration,
}

/// [`prove`], measuring each phase.
pub fn prove_profiled<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: C,
    rng: &mut R,
) -> Result<(Proof, ProveTimings), ZkError> {
    let mut timings = ProveTimings::default();
    let (proof, spent) = prove_honestly(pk, circuit, rng, Some(&mut timings))?;
    timings.commitment = spent;
    Ok((proof, timings))
}

fn prove_phases<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey,
    circuit: C,
    committer: &mut dyn Commit,
    rng: &mut R,
    mut timings: Option<&mut ProveTimings>,
) -> Result<(Proof, Vec<Fr>), ZkError> {
    let start = std::time::Instant::now();
    let (cs, closed) = synthesize(
        circuit,
        SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        },
        Some(committer as &mut dyn Challenger),
    )?;
    let (d, p) = committer
        .commitment()
        .ok_or(SynthesisError::AssignmentMissing)?;
    if layout(&cs, &closed) != pk.layout {
        return Err(ZkError::Malformed(
            "the circuit does not match the proving key (another shape or version)".into(),
        ));
    }
    let synthesized = start.elapsed();
    let num_instance = cs.num_instance_variables();
    let num_constraints = cs.num_constraints();
    let matrices = &cs.to_matrices()?[R1CS_PREDICATE_LABEL];
    let full: Vec<Fr> = [cs.instance_assignment()?, cs.witness_assignment()?].concat();
    // The statement's inputs follow the constant one (the challenges after them).
    let public = full[1..1 + pk.vk.statement_inputs()].to_vec();
    let matrices_done = start.elapsed();
    let h = LibsnarkReduction::witness_map_from_matrices::<Fr, Domain>(
        matrices,
        num_instance,
        num_constraints,
        &full,
    )?;
    drop(cs);
    let mapped = start.elapsed();

    let committed: std::collections::HashSet<usize> = closed.committed.iter().copied().collect();
    let uncommitted: Vec<Fr> = full[num_instance..]
        .iter()
        .enumerate()
        .filter(|(i, _)| !committed.contains(i))
        .map(|(_, v)| *v)
        .collect();
    let (r, s) = (Fr::rand(rng), Fr::rand(rng));
    let a_msm = || msm(&pk.a_query, &full);
    let b1_msm = || msm(&pk.b_g1_query, &full);
    let b2_msm = || msm(&pk.b_g2_query, &full);
    let h_msm = || msm(&pk.h_query, &h);
    let l_msm = || msm(&pk.l_query, &uncommitted);
    let (a_sum, b1_sum, b2_sum, c_sum) = match timings.as_deref_mut() {
        Some(t) => {
            let mut lap = std::time::Instant::now();
            let mut time = |i: usize| {
                t.msm[i] = lap.elapsed();
                lap = std::time::Instant::now();
            };
            let a = a_msm();
            time(0);
            let b1 = b1_msm();
            time(1);
            let b2 = b2_msm();
            time(2);
            let h = h_msm();
            time(3);
            let l = l_msm();
            time(4);
            (a, b1, b2, h + l)
        }
        None => {
            let ((a, b1), (b2, c)) = rayon::join(
                || rayon::join(a_msm, b1_msm),
                || rayon::join(b2_msm, || h_msm() + l_msm()),
            );
            (a, b1, b2, c)
        }
    };
    let a = pk.vk.alpha_g1 + a_sum + pk.delta_g1 * r;
    let b1 = pk.beta_g1 + b1_sum + pk.delta_g1 * s;
    let b = pk.vk.beta_g2 + b2_sum + pk.vk.delta_g2 * s;
    let c = c_sum + a * s + b1 * r - pk.delta_g1 * (r * s);
    if let Some(t) = timings {
        t.synthesis = synthesized;
        t.matrices = matrices_done - synthesized;
        t.witness_map = mapped - matrices_done;
        t.total = start.elapsed();
    }
    let proof = Proof {
        a: a.into_affine(),
        b: b.into_affine(),
        c: c.into_affine(),
        d,
        p,
    };
    Ok((proof, public))
}

/// sha256 of the compressed verifying key: what the transcript binds (the same
/// bytes bundles pin by hash).
pub fn vk_digest(vk: &VerifyingKey) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(vk_to_bytes(vk)).into()
}

/// A verifying key with its digest and G2 points prepared for pairings.
pub struct PreparedVerifyingKey {
    pub vk: VerifyingKey,
    digest: [u8; 32],
    beta: <Bn254 as Pairing>::G2Prepared,
    gamma: <Bn254 as Pairing>::G2Prepared,
    delta: <Bn254 as Pairing>::G2Prepared,
    sigma_gamma: <Bn254 as Pairing>::G2Prepared,
}

pub fn prepare(vk: &VerifyingKey) -> PreparedVerifyingKey {
    PreparedVerifyingKey {
        vk: vk.clone(),
        digest: vk_digest(vk),
        beta: vk.beta_g2.into(),
        gamma: vk.gamma_g2.into(),
        delta: vk.delta_g2.into(),
        sigma_gamma: vk.sigma_gamma_g2.into(),
    }
}

/// `IC = ic₀ + Σ xᵢ·icᵢ` over the statement's inputs and the derived challenges,
/// or `None` when the input count is wrong.
fn input_sum(vk: &VerifyingKey, public: &[Fr], challenges: &[Fr]) -> Option<G1Projective> {
    if !vk.well_formed() || public.len() != vk.statement_inputs() {
        return None;
    }
    let scalars: Vec<Fr> = public.iter().chain(challenges).copied().collect();
    Some(vk.ic[0] + G1Projective::msm_unchecked(&vk.ic[1..], &scalars))
}

/// Verifies one proof, with a fresh random `ρ` for the proof-of-knowledge check.
pub fn verify(pvk: &PreparedVerifyingKey, public: &[Fr], proof: &Proof) -> bool {
    let rho = Fr::from(u128::rand(&mut rand::rngs::OsRng));
    verify_with_rho(pvk, public, proof, rho)
}

/// Verifies one proof the way the contracts do: `ρ` hashed from the transcript,
/// the proof and `P` (Fiat–Shamir), so verifiers without randomness agree.
pub fn verify_deterministic(pvk: &PreparedVerifyingKey, public: &[Fr], proof: &Proof) -> bool {
    let challenges =
        transcript::challenges(&pvk.digest, public, &proof.d, pvk.vk.challenges as usize);
    let rho = transcript::pok_weight(&pvk.digest, public, proof);
    pairing_check(pvk, public, proof, &challenges, rho)
}

fn verify_with_rho(pvk: &PreparedVerifyingKey, public: &[Fr], proof: &Proof, rho: Fr) -> bool {
    let challenges =
        transcript::challenges(&pvk.digest, public, &proof.d, pvk.vk.challenges as usize);
    pairing_check(pvk, public, proof, &challenges, rho)
}

fn pairing_check(
    pvk: &PreparedVerifyingKey,
    public: &[Fr],
    proof: &Proof,
    challenges: &[Fr],
    rho: Fr,
) -> bool {
    let Some(ic) = input_sum(&pvk.vk, public, challenges) else {
        return false;
    };
    let vk = &pvk.vk;
    let g1: [G1Affine; 5] = {
        let points = [
            -proof.a.into_group(),
            vk.alpha_g1.into_group(),
            ic + proof.d + proof.p * rho,
            proof.c.into_group(),
            -(proof.d * rho),
        ];
        let affine = G1Projective::normalize_batch(&points);
        [affine[0], affine[1], affine[2], affine[3], affine[4]]
    };
    let g2 = [
        proof.b.into(),
        pvk.beta.clone(),
        pvk.gamma.clone(),
        pvk.delta.clone(),
        pvk.sigma_gamma.clone(),
    ];
    Bn254::multi_pairing(g1, g2) == PairingOutput::zero()
}

/// One proof to check in a batch.
pub struct BatchItem<'a> {
    pub vk: &'a VerifyingKey,
    pub public: Vec<Fr>,
    pub proof: Proof,
}

/// Verifies many proofs at once: a random 128-bit weight per proof for the
/// Groth16 equation and another for its proof of knowledge, grouped by key. Per
/// key the public inputs, commitments, proofs of knowledge and C points are summed
/// with one small MSM each, so the cost is one Miller loop and one 128-bit scalar
/// multiplication per proof, four Miller loops per distinct key and a single final
/// exponentiation. False if any proof is invalid (then check them one by one to
/// find it).
pub fn batch_verify(items: &[BatchItem<'_>]) -> bool {
    if items.is_empty() {
        return true;
    }
    let mut rng = rand::rngs::OsRng;
    // (w, w·ρ): the weight of the Groth16 equation and of the PoK equation.
    let weights: Vec<(Fr, Fr)> = items
        .iter()
        .map(|_| {
            let w = Fr::from(u128::rand(&mut rng));
            (w, w * Fr::from(u128::rand(&mut rng)))
        })
        .collect();
    // Groups by key (pointer identity: callers share one key per circuit).
    let mut groups: Vec<(&VerifyingKey, [u8; 32], Vec<usize>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        if !it.vk.well_formed() || it.public.len() != it.vk.statement_inputs() {
            return false;
        }
        match groups
            .iter_mut()
            .find(|(vk, _, _)| std::ptr::eq(*vk, it.vk))
        {
            Some((_, _, idx)) => idx.push(i),
            None => groups.push((it.vk, vk_digest(it.vk), vec![i])),
        }
    }
    // The challenges of every proof (keccak), in parallel.
    let challenges: Vec<Vec<Fr>> = items
        .par_iter()
        .map(|it| {
            let digest = &groups
                .iter()
                .find(|(vk, _, _)| std::ptr::eq(*vk, it.vk))
                .expect("grouped")
                .1;
            transcript::challenges(digest, &it.public, &it.proof.d, it.vk.challenges as usize)
        })
        .collect();
    let mut g1: Vec<G1Projective> = items
        .par_iter()
        .zip(&weights)
        .map(|(it, (w, _))| -(it.proof.a * w))
        .collect();
    // Preparing B (its Miller-loop line coefficients) is a third of a pairing.
    let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> =
        items.par_iter().map(|it| it.proof.b.into()).collect();
    for (vk, _, idx) in &groups {
        let w: Vec<Fr> = idx.iter().map(|&i| weights[i].0).collect();
        let wr: Vec<Fr> = idx.iter().map(|&i| weights[i].1).collect();
        // Σ w·IC as one MSM over the key's ic points.
        let mut ic_scalars = vec![w.iter().sum::<Fr>()];
        for j in 0..vk.ic.len() - 1 {
            ic_scalars.push(
                idx.iter()
                    .zip(&w)
                    .map(|(&i, w)| {
                        let x = items[i]
                            .public
                            .get(j)
                            .copied()
                            .unwrap_or_else(|| challenges[i][j - items[i].public.len()]);
                        *w * x
                    })
                    .sum(),
            );
        }
        let points = |f: fn(&Proof) -> G1Affine| -> Vec<G1Affine> {
            idx.iter().map(|&i| f(&items[i].proof)).collect()
        };
        let (ds, ps, cs) = (points(|p| p.d), points(|p| p.p), points(|p| p.c));
        // γ side: Σ w·(IC + D) + Σ wρ·P; σγ side: Σ wρ·D; δ side: Σ w·C.
        let gamma = msm(&vk.ic, &ic_scalars) + msm(&ds, &w) + msm(&ps, &wr);
        let sigma = msm(&ds, &wr);
        let c_sum = msm(&cs, &w);
        g1.extend([vk.alpha_g1 * ic_scalars[0], gamma, c_sum, -sigma]);
        g2.extend([
            vk.beta_g2.into(),
            vk.gamma_g2.into(),
            vk.delta_g2.into(),
            vk.sigma_gamma_g2.into(),
        ]);
    }
    let g1 = G1Projective::normalize_batch(&g1);
    Bn254::multi_pairing(g1, g2) == PairingOutput::zero()
}

/// Compressed bytes of a proof.
pub fn proof_to_bytes(proof: &Proof) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_BYTES);
    proof
        .serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Parses a compressed proof, checking every point is on the curve and in the
/// prime-order subgroup.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Proof, ZkError> {
    if bytes.len() != PROOF_BYTES {
        return Err(ZkError::Malformed(format!(
            "a proof is {PROOF_BYTES} bytes, got {}",
            bytes.len()
        )));
    }
    Proof::deserialize_with_mode(bytes, Compress::Yes, Validate::Yes)
        .map_err(|e| ZkError::Malformed(format!("invalid proof encoding: {e}")))
}

/// Compressed bytes of a verifying key.
pub fn vk_to_bytes(vk: &VerifyingKey) -> Vec<u8> {
    let mut out = Vec::new();
    vk.serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Parses a verifying key with full point validation.
pub fn vk_from_bytes(bytes: &[u8]) -> Result<VerifyingKey, ZkError> {
    let vk = VerifyingKey::deserialize_compressed(bytes)
        .map_err(|e| ZkError::Malformed(format!("invalid verifying key: {e}")))?;
    if !vk.well_formed() {
        return Err(ZkError::Malformed(
            "invalid verifying key: bad challenge count".into(),
        ));
    }
    Ok(vk)
}

/// Synthesizes `circuit` with a keyless challenger and reports whether its
/// constraints hold (for tests: the first unsatisfied constraint's name, if any).
pub fn check<C: Circuit>(circuit: C) -> Result<(), String> {
    let cs = new_cs(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: true,
    });
    let b = Builder::new(cs.clone());
    circuit.synthesize(&b).map_err(|e| e.to_string())?;
    b.finalize(Some(&mut crate::lookup::HashChallenger))
        .map_err(|e| e.to_string())?;
    match cs.which_is_unsatisfied().map_err(|e| e.to_string())? {
        None => Ok(()),
        Some(name) => Err(format!("unsatisfied: {name}")),
    }
}

pub mod keycheck;

#[cfg(test)]
mod tests;
