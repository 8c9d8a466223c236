//! The committed-wire Groth16 against a forging prover: every check the verifier
//! makes has a test that a proof without it would pass.

use super::*;
use crate::lookup::Table;
use crate::num::Num;
use crate::range::{enforce_range, witness_bytes};
use ark_ff::One;
use rand::SeedableRng;

/// Knows bytes whose sum is public, and for each byte its square mod 251 from a
/// two-column table.
#[derive(Clone)]
struct Toy {
    bytes: Vec<u8>,
    sum: u64,
    squares: Vec<u64>,
}

fn square_table() -> Arc<Table> {
    let rows: Vec<Vec<u64>> = (0..256u64).map(|v| vec![v, v * v % 251]).collect();
    Table::new("square-mod-251", 2, &rows)
}

use std::sync::Arc;

impl Toy {
    fn honest(bytes: &[u8]) -> Self {
        Self {
            bytes: bytes.to_vec(),
            sum: bytes.iter().map(|b| *b as u64).sum(),
            squares: bytes.iter().map(|b| (*b as u64).pow(2) % 251).collect(),
        }
    }
}

impl Circuit for Toy {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        let sum = b.input(Some(Fr::from(self.sum)))?;
        let bytes = witness_bytes(b, &self.bytes.iter().map(|v| Some(*v)).collect::<Vec<_>>())?;
        let one = Fr::one();
        b.enforce_equal(&Num::sum(bytes.iter().map(|v| (one, &v.num))), &sum)?;
        let table = square_table();
        for (v, sq) in bytes.iter().zip(&self.squares) {
            let s = b.witness(Some(Fr::from(*sq)))?;
            b.lookup(&table, &[v.num.clone(), s])?;
        }
        // A wider value through limbs.
        let wide = b.witness(Some(Fr::from(self.sum * 1000)))?;
        enforce_range(b, &wide, 20)?;
        Ok(())
    }
}

fn rng() -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(7)
}

fn keys() -> (ProvingKey, VerifyingKey) {
    setup(Toy::honest(&[0; 4]), &mut rng()).unwrap()
}

#[test]
fn honest_proofs_verify_singly_deterministically_and_in_batches() {
    let (pk, vk) = keys();
    assert_eq!(vk.challenges, 2, "a two-column table needs β");
    assert_eq!(vk.statement_inputs(), 1);
    let pvk = prepare(&vk);
    let mut r = rng();
    let mut items = vec![];
    for bytes in [[1u8, 2, 3, 4], [255, 0, 17, 200], [9, 9, 9, 9]] {
        let toy = Toy::honest(&bytes);
        let public = vec![Fr::from(toy.sum)];
        let proof = prove(&pk, toy, &mut r).unwrap();
        let proof = proof_from_bytes(&proof_to_bytes(&proof)).unwrap();
        assert!(verify(&pvk, &public, &proof));
        assert!(verify_deterministic(&pvk, &public, &proof));
        assert!(
            !verify(&pvk, &[public[0] + Fr::one()], &proof),
            "another statement"
        );
        assert!(!verify(&pvk, &[], &proof), "too few inputs");
        items.push(BatchItem {
            vk: &vk,
            public,
            proof,
        });
    }
    assert!(batch_verify(&items));
    items[1].public[0] += Fr::one();
    assert!(!batch_verify(&items));
    assert_eq!(vk_from_bytes(&vk_to_bytes(&vk)).unwrap(), vk);
    assert!(proof_from_bytes(&[0u8; 5]).is_err());
}

#[test]
fn a_wrong_table_entry_or_an_out_of_range_byte_does_not_prove() {
    let (pk, _) = keys();
    let mut toy = Toy::honest(&[1, 2, 3, 4]);
    toy.squares[2] += 1;
    // prove() verifies its own proof and refuses to return an invalid one.
    let err = prove(&pk, toy, &mut rng()).unwrap_err();
    assert!(matches!(err, ZkError::SelfCheckFailed), "{err}");
}

/// A prover that commits honestly but answers with challenges of its choice, or
/// shifts the commitment by public-input keys before hashing.
struct Forger<'a> {
    honest: Committer<'a, rand_chacha::ChaCha20Rng>,
    /// Challenges to use instead of the transcript's.
    alpha: Option<Vec<Fr>>,
    /// Claimed statement: D is shifted so the γ side reads these inputs.
    claimed: Option<Vec<Fr>>,
    shifted: Option<(G1Affine, G1Affine)>,
}

impl Challenger for Forger<'_> {
    fn blinding(&mut self) -> Fr {
        self.honest.blinding()
    }

    fn challenges(
        &mut self,
        public: &[Fr],
        indices: &[usize],
        values: &[Fr],
        count: usize,
    ) -> Result<Vec<Fr>, SynthesisError> {
        let honest = self.honest.challenges(public, indices, values, count)?;
        let (d, p) = self.honest.commitment.expect("committed");
        if let Some(claimed) = &self.claimed {
            let vk = &self.honest.pk.vk;
            let shift: G1Projective = public
                .iter()
                .zip(claimed)
                .enumerate()
                .map(|(i, (t, c))| vk.ic[1 + i] * (*t - c))
                .sum();
            let d2 = (d + shift).into_affine();
            self.shifted = Some((d2, p));
            return Ok(transcript::challenges(
                &self.honest.vk_digest,
                claimed,
                &d2,
                count,
            ));
        }
        Ok(self.alpha.clone().unwrap_or(honest))
    }
}

impl Commit for Forger<'_> {
    fn commitment(&self) -> Option<(G1Affine, G1Affine)> {
        self.shifted.or(self.honest.commitment)
    }
}

fn forge(pk: &ProvingKey, toy: Toy, alpha: Option<Vec<Fr>>, claimed: Option<Vec<Fr>>) -> Proof {
    let mut blinding = rng();
    let mut forger = Forger {
        honest: Committer {
            pk,
            vk_digest: vk_digest(&pk.vk),
            rng: &mut blinding,
            commitment: None,
            spent: Default::default(),
        },
        alpha,
        claimed,
        shifted: None,
    };
    prove_with(pk, toy, &mut forger, &mut rng()).unwrap()
}

/// Without the proof of knowledge, D may carry public-input keys: a proof for a
/// statement the prover knows (sum 10) verifies as a proof of another (sum 11).
/// The PoK check (ρ ≠ 0) refuses it; with ρ = 0 (no PoK) it passes.
#[test]
fn the_proof_of_knowledge_stops_a_commitment_that_shifts_public_inputs() {
    let (pk, vk) = keys();
    let pvk = prepare(&vk);
    let toy = Toy::honest(&[1, 2, 3, 4]);
    let claimed = vec![Fr::from(11u64)];
    let proof = forge(&pk, toy, None, Some(claimed.clone()));
    let challenges = transcript::challenges(&pvk.digest, &claimed, &proof.d, 2);
    assert!(
        pairing_check(&pvk, &claimed, &proof, &challenges, Fr::zero()),
        "without the PoK the forgery passes"
    );
    assert!(!verify(&pvk, &claimed, &proof));
    assert!(!verify_deterministic(&pvk, &claimed, &proof));
    // In a batch with an honest proof it is refused too.
    let honest = Toy::honest(&[5, 5, 5, 5]);
    let honest_public = vec![Fr::from(honest.sum)];
    let honest_proof = prove(&pk, honest, &mut rng()).unwrap();
    let batch = |forged: Proof| {
        batch_verify(&[
            BatchItem {
                vk: &vk,
                public: honest_public.clone(),
                proof: honest_proof,
            },
            BatchItem {
                vk: &vk,
                public: claimed.clone(),
                proof: forged,
            },
        ])
    };
    assert!(!batch(proof));
    // And the batch accepts the same pair when both are honest.
    let real = prove(&pk, Toy::honest(&[1, 2, 3, 5]), &mut rng()).unwrap();
    assert!(batch(real));
}

/// Challenges the prover picks itself (here: ones that are not the transcript's)
/// are not the ones the verifier derives from D, so the proof fails.
#[test]
fn challenges_not_bound_to_the_commitment_are_refused() {
    let (pk, vk) = keys();
    let pvk = prepare(&vk);
    let toy = Toy::honest(&[1, 2, 3, 4]);
    let public = vec![Fr::from(toy.sum)];
    let chosen = vec![Fr::from(12345u64), Fr::from(678u64)];
    let proof = forge(&pk, toy, Some(chosen.clone()), None);
    assert!(!verify(&pvk, &public, &proof));
    // It is a valid proof for the chosen challenges: only the binding refuses it.
    assert!(pairing_check(
        &pvk,
        &public,
        &proof,
        &chosen,
        Fr::from(3u64)
    ));
}

/// A commitment taken from another proof (same circuit, same or another
/// statement) changes the challenges: refused.
#[test]
fn a_commitment_from_another_proof_is_refused() {
    let (pk, vk) = keys();
    let pvk = prepare(&vk);
    let mut r = rng();
    let a = Toy::honest(&[1, 2, 3, 4]);
    let b = Toy::honest(&[4, 3, 2, 1]); // same sum, other witness
    let public = vec![Fr::from(a.sum)];
    let pa = prove(&pk, a, &mut r).unwrap();
    let pb = prove(&pk, b, &mut r).unwrap();
    assert!(verify(&pvk, &public, &pa) && verify(&pvk, &public, &pb));
    for (d, p) in [(pb.d, pb.p), (pb.d, pa.p), (pa.d, pb.p)] {
        let mixed = Proof { d, p, ..pa };
        assert!(!verify(&pvk, &public, &mixed));
        let batch = [
            BatchItem {
                vk: &vk,
                public: public.clone(),
                proof: pb,
            },
            BatchItem {
                vk: &vk,
                public: public.clone(),
                proof: mixed,
            },
        ];
        assert!(!batch_verify(&batch));
    }
    // A proof of this circuit's key does not verify under another key.
    let (_, other_vk) = setup(
        Toy::honest(&[0; 4]),
        &mut rand_chacha::ChaCha20Rng::seed_from_u64(8),
    )
    .unwrap();
    assert!(!verify(&prepare(&other_vk), &public, &pa));
}

/// gnark's CVE-2024-45040: without a blinding wire the commitment is a
/// deterministic function of the committed wires, so small secrets can be
/// enumerated against it. With the blinding wire, two proofs of the same witness
/// carry different commitments and a search finds nothing.
#[test]
fn the_commitment_hides_the_committed_wires() {
    let (pk, vk) = keys();
    let mut r = rng();
    let toy = Toy::honest(&[5, 6, 7, 8]);
    let p1 = prove(&pk, toy.clone(), &mut r).unwrap();
    let p2 = prove(&pk, toy.clone(), &mut r).unwrap();
    assert_ne!(p1.d, p2.d);
    let pvk = prepare(&vk);
    assert!(verify(&pvk, &[Fr::from(26u64)], &p1) && verify(&pvk, &[Fr::from(26u64)], &p2));
    // The attack: recompute D from guessed committed values with the blinding
    // the old construction lacked (zero). It finds the witness only when the
    // blinding is known.
    let committed_values = |blinding: Fr| -> Vec<Fr> {
        let cs = new_cs(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: true,
        });
        let b = Builder::new(cs.clone());
        toy.clone().synthesize(&b).unwrap();
        struct Fixed(Fr);
        impl Challenger for Fixed {
            fn blinding(&mut self) -> Fr {
                self.0
            }
            fn challenges(
                &mut self,
                _: &[Fr],
                _: &[usize],
                _: &[Fr],
                count: usize,
            ) -> Result<Vec<Fr>, SynthesisError> {
                Ok(vec![Fr::from(99u64); count])
            }
        }
        let closed = b.finalize(Some(&mut Fixed(blinding))).unwrap();
        let w = cs.witness_assignment().unwrap();
        closed.committed.iter().map(|&i| w[i]).collect()
    };
    let unblinded = G1Projective::msm_unchecked(&pk.commit_basis, &committed_values(Fr::zero()));
    assert_ne!(
        unblinded.into_affine(),
        p1.d,
        "the blinding hides the witness"
    );
    // Had the prover used blinding 0, the guess would match exactly.
    let mut zero = ZeroBlinding { inner: rng() };
    let mut committer = Committer {
        pk: &pk,
        vk_digest: vk_digest(&pk.vk),
        rng: &mut zero,
        commitment: None,
        spent: Default::default(),
    };
    let p0 = prove_with(&pk, toy, &mut committer, &mut r).unwrap();
    assert_eq!(
        unblinded.into_affine(),
        p0.d,
        "an unblinded commitment is guessable"
    );
}

/// An rng whose field elements are zero (the first 32 bytes it gives are 0, so
/// the blinding drawn first is 0).
struct ZeroBlinding {
    inner: rand_chacha::ChaCha20Rng,
}

impl RngCore for ZeroBlinding {
    fn next_u32(&mut self) -> u32 {
        0
    }
    fn next_u64(&mut self) -> u64 {
        0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.fill(0);
        let _ = &self.inner;
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        dest.fill(0);
        Ok(())
    }
}

impl CryptoRng for ZeroBlinding {}

#[test]
fn a_key_for_another_shape_is_refused_at_proving_time() {
    let (pk, _) = keys();
    let err = prove(&pk, Toy::honest(&[1, 2, 3]), &mut rng()).unwrap_err();
    assert!(
        matches!(err, ZkError::Synthesis(_) | ZkError::Malformed(_)),
        "{err}"
    );
}

// ---- Keys a prover can trust (issue 29 §1): each check has a key only it
// refuses; the error text names the check so removing it fails the test.

fn trapdoor(beta: Fr) -> Trapdoor {
    Trapdoor {
        alpha: Fr::from(3u64),
        beta,
        gamma: Fr::from(5u64),
        delta: Fr::from(7u64),
        sigma: Fr::from(11u64),
        tau: Fr::from(123_456_789u64),
    }
}

fn untrusted_reason(r: Result<Proof, ZkError>) -> String {
    match r {
        Err(ZkError::UntrustedKey(reason)) => reason,
        Err(e) => panic!("expected an untrusted key, got {e}"),
        Ok(_) => panic!("a proof from an untrusted key"),
    }
}

#[test]
fn an_honest_trapdoor_key_proves_and_passes_every_check() {
    let (pk, vk) = setup_with_trapdoor(Toy::honest(&[0; 4]), &trapdoor(Fr::from(13u64))).unwrap();
    keycheck::check_full(&pk, &mut rng()).unwrap();
    let proof = prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()).unwrap();
    assert!(verify(&prepare(&vk), &[Fr::from(10u64)], &proof));
}

#[test]
fn a_key_with_beta_minus_one_is_refused_at_proving() {
    let (pk, vk) = setup_with_trapdoor(Toy::honest(&[0; 4]), &trapdoor(-Fr::one())).unwrap();
    // The subversion: every honest proof would verify, and the blinding basis
    // is the identity.
    assert!(pk.commit_basis.iter().any(|p| p.is_zero()));
    assert_eq!(vk.beta_g2, -G2Affine::generator());
    let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
    assert!(reason.contains("β is 0 or ±1"), "{reason}");
}

#[test]
fn an_identity_commitment_basis_is_refused() {
    // Both bases zeroed together, so the pairing check alone would pass.
    let (mut pk, _) = keys();
    pk.commit_basis[0] = G1Affine::zero();
    pk.commit_basis_sigma[0] = G1Affine::zero();
    let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
    assert!(
        reason.contains("commitment basis point is the identity"),
        "{reason}"
    );
}

#[test]
fn a_commitment_key_off_its_proof_of_knowledge_key_is_refused() {
    let (mut pk, _) = keys();
    pk.commit_basis_sigma[0] = (pk.commit_basis_sigma[0] + G1Affine::generator()).into_affine();
    let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
    assert!(
        reason.contains("disagrees with its verifying key"),
        "{reason}"
    );
}

#[test]
fn beta_or_delta_in_g1_off_g2_is_refused() {
    for which in 0..2 {
        let (mut pk, _) = keys();
        let g = G1Affine::generator();
        if which == 0 {
            pk.beta_g1 = (pk.beta_g1 + g).into_affine();
        } else {
            pk.delta_g1 = (pk.delta_g1 + g).into_affine();
        }
        let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
        assert!(
            reason.contains("disagrees with its verifying key"),
            "{reason}"
        );
    }
}

#[test]
fn degenerate_query_vectors_are_refused() {
    let (mut pk, _) = keys();
    pk.h_query.clear();
    let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
    assert!(reason.contains("degenerate"), "{reason}");
    let (mut pk, _) = keys();
    pk.a_query.iter_mut().for_each(|p| *p = G1Affine::zero());
    let reason = untrusted_reason(prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()));
    assert!(reason.contains("degenerate"), "{reason}");
}

#[test]
fn a_wrong_l_or_b_query_is_caught_by_self_verification_or_the_full_check() {
    // L cannot be checked against anything public: only the proof's own
    // verification sees it.
    let (mut pk, _) = keys();
    pk.l_query[0] = (pk.l_query[0] + G1Affine::generator()).into_affine();
    keycheck::check_full(&pk, &mut rng()).unwrap();
    let err = prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut rng()).unwrap_err();
    assert!(matches!(err, ZkError::SelfCheckFailed), "{err}");
    // B in G2 off B in G1: the import-time check sees it.
    let (mut pk, _) = keys();
    pk.b_g2_query[0] = (pk.b_g2_query[0] + G2Affine::generator()).into_affine();
    let err = keycheck::check_full(&pk, &mut rng()).unwrap_err();
    assert!(err.to_string().contains("B queries"), "{err}");
}

#[test]
fn a_subverted_or_invalid_key_is_refused_on_import() {
    use crate::keys::{hashed_id, KeyStore};
    let dir = tempfile::tempdir().unwrap();
    let desc = serde_json::json!({"circuit": "toy"});
    let id = hashed_id("toy", &desc);
    let (pk, vk) = setup_with_trapdoor(Toy::honest(&[0; 4]), &trapdoor(-Fr::one())).unwrap();
    let src = KeyStore::open(dir.path().join("src")).unwrap();
    src.store(&id, &pk, &vk, &desc).unwrap();
    src.export(&dir.path().join("set"), true).unwrap();
    let dst = KeyStore::open(dir.path().join("dst")).unwrap();
    let err = dst.import(&dir.path().join("set"), false).unwrap_err();
    assert!(matches!(err, ZkError::UntrustedKey(_)), "{err}");
    assert!(!dst.has_proving_key(&id));

    // An honest key with an off-curve L point (nothing but point validation
    // sees it on import).
    let (pk, vk) = keys();
    let src = KeyStore::open(dir.path().join("src2")).unwrap();
    src.store(&id, &pk, &vk, &desc).unwrap();
    let set = dir.path().join("set2");
    src.export(&set, true).unwrap();
    let dst2 = KeyStore::open(dir.path().join("dst2")).unwrap();
    dst2.import(&set, false).unwrap();
    let mut l_only = pk.clone();
    l_only.l_query[0] =
        G1Affine::new_unchecked(ark_bn254::Fq::from(1u64), ark_bn254::Fq::from(1u64));
    let mut corrupt = Vec::new();
    l_only.serialize_uncompressed(&mut corrupt).unwrap();
    std::fs::write(set.join(format!("{id}.pk")), corrupt).unwrap();
    let dst3 = KeyStore::open(dir.path().join("dst3")).unwrap();
    let err = dst3.import(&set, false).unwrap_err();
    assert!(matches!(err, ZkError::Malformed(_)), "{err}");
}

#[test]
fn key_check_overhead_is_small_next_to_a_proof() {
    let (pk, _) = keys();
    let mut r = rng();
    let n = 20;
    let start = std::time::Instant::now();
    for _ in 0..n {
        keycheck::check_for_proving(&pk, &mut r).unwrap();
    }
    let per_check = start.elapsed() / n;
    let start = std::time::Instant::now();
    keycheck::check_full(&pk, &mut r).unwrap();
    let full = start.elapsed();
    let start = std::time::Instant::now();
    prove(&pk, Toy::honest(&[1, 2, 3, 4]), &mut r).unwrap();
    let proof = start.elapsed();
    eprintln!("toy key: check_for_proving {per_check:?}, check_full {full:?}, prove (with checks and self-verify) {proof:?}");
}
