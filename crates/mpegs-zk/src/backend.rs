//! The proving backend behind one small interface: setup, prove, verify (and batch
//! verify) for a circuit. Groth16 over BN254 today; a different backend (lookup
//! arguments, folding, GPU MSM) replaces this module, not the circuits.

use crate::ZkError;
use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::{UniformRand, Zero};
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::ConstraintSynthesizer;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub type Pk = ProvingKey<Bn254>;
pub type Vk = VerifyingKey<Bn254>;
pub type PreparedVk = PreparedVerifyingKey<Bn254>;
pub type Groth16Proof = Proof<Bn254>;

/// Compressed proof size in bytes (A, C in G1; B in G2).
pub const PROOF_BYTES: usize = 128;

/// Runs the circuit-specific Groth16 setup.
pub fn setup<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    circuit: C,
    rng: &mut R,
) -> Result<(Pk, Vk), ZkError> {
    Ok(Groth16::<Bn254>::circuit_specific_setup(circuit, rng)?)
}

/// Proves one circuit instance.
pub fn prove<C: ConstraintSynthesizer<Fr>, R: RngCore + CryptoRng>(
    pk: &Pk,
    circuit: C,
    rng: &mut R,
) -> Result<Groth16Proof, ZkError> {
    Ok(Groth16::<Bn254>::prove(pk, circuit, rng)?)
}

/// Verifies one proof.
pub fn verify(pvk: &PreparedVk, public: &[Fr], proof: &Groth16Proof) -> Result<bool, ZkError> {
    if public.len() + 1 != pvk.vk.gamma_abc_g1.len() {
        return Ok(false);
    }
    Ok(Groth16::<Bn254>::verify_with_processed_vk(
        pvk, public, proof,
    )?)
}

/// One proof to check in a batch.
pub struct BatchItem<'a> {
    pub vk: &'a Vk,
    pub public: Vec<Fr>,
    pub proof: Groth16Proof,
}

/// Verifies many proofs at once with a random linear combination: one Miller loop
/// per proof plus three per distinct key, and a single final exponentiation.
/// Returns false if any proof is invalid (then check them one by one to find it).
pub fn batch_verify(items: &[BatchItem<'_>]) -> bool {
    if items.is_empty() {
        return true;
    }
    if items
        .iter()
        .any(|it| it.public.len() + 1 != it.vk.gamma_abc_g1.len())
    {
        return false;
    }
    // The verifier's own randomness: 128-bit weights the prover cannot predict.
    let weights: Vec<Fr> = {
        let mut rng = rand::rngs::OsRng;
        items
            .iter()
            .map(|_| Fr::from(u128::rand(&mut rng)))
            .collect()
    };
    let mut g1: Vec<<Bn254 as Pairing>::G1Prepared> = Vec::new();
    let mut g2: Vec<<Bn254 as Pairing>::G2Prepared> = Vec::new();
    let scaled_a: Vec<_> = items
        .par_iter()
        .zip(&weights)
        .map(|(it, r)| (it.proof.a * r).into_affine())
        .collect();
    for (a, it) in scaled_a.iter().zip(items) {
        g1.push((*a).into());
        g2.push(it.proof.b.into());
    }
    // Group by verifying key (pointer identity: callers pass one shared key per
    // circuit; equal keys at different addresses are merely checked separately).
    let mut groups: Vec<(&Vk, Vec<usize>)> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match groups.iter_mut().find(|(vk, _)| std::ptr::eq(*vk, it.vk)) {
            Some((_, idx)) => idx.push(i),
            None => groups.push((it.vk, vec![i])),
        }
    }
    for (vk, idx) in groups {
        let r_sum: Fr = idx.iter().map(|&i| weights[i]).sum();
        let mut input_scalars = vec![r_sum];
        for j in 0..vk.gamma_abc_g1.len() - 1 {
            input_scalars.push(idx.iter().map(|&i| weights[i] * items[i].public[j]).sum());
        }
        let ic = G1Projective::msm(&vk.gamma_abc_g1, &input_scalars).expect("lengths match");
        let cs: Vec<_> = idx.iter().map(|&i| items[i].proof.c).collect();
        let rs: Vec<Fr> = idx.iter().map(|&i| weights[i]).collect();
        let c_sum = G1Projective::msm(&cs, &rs).expect("lengths match");
        let alpha = vk.alpha_g1 * r_sum;
        g1.push((-alpha).into_affine().into());
        g2.push(vk.beta_g2.into());
        g1.push((-ic).into_affine().into());
        g2.push(vk.gamma_g2.into());
        g1.push((-c_sum).into_affine().into());
        g2.push(vk.delta_g2.into());
    }
    Bn254::multi_pairing(g1, g2).is_zero()
}

/// Prepares a verifying key for repeated single verification.
pub fn prepare(vk: &Vk) -> PreparedVk {
    ark_groth16::prepare_verifying_key(vk)
}

/// Compressed bytes of a proof.
pub fn proof_to_bytes(proof: &Groth16Proof) -> Vec<u8> {
    let mut out = Vec::with_capacity(PROOF_BYTES);
    proof
        .serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Parses a compressed proof, checking the points are on the curve and in the
/// right subgroups.
pub fn proof_from_bytes(bytes: &[u8]) -> Result<Groth16Proof, ZkError> {
    if bytes.len() != PROOF_BYTES {
        return Err(ZkError::Malformed(format!(
            "a proof is {PROOF_BYTES} bytes, got {}",
            bytes.len()
        )));
    }
    Groth16Proof::deserialize_compressed(bytes)
        .map_err(|e| ZkError::Malformed(format!("invalid proof encoding: {e}")))
}

/// Compressed bytes of a verifying key.
pub fn vk_to_bytes(vk: &Vk) -> Vec<u8> {
    let mut out = Vec::new();
    vk.serialize_compressed(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// Parses a verifying key with full point validation.
pub fn vk_from_bytes(bytes: &[u8]) -> Result<Vk, ZkError> {
    Vk::deserialize_compressed(bytes)
        .map_err(|e| ZkError::Malformed(format!("invalid verifying key: {e}")))
}

/// `sha256:<hex>` of the compressed verifying key: how bundles and key sets pin keys.
pub fn vk_hash(vk: &Vk) -> String {
    let digest = Sha256::digest(vk_to_bytes(vk));
    format!("sha256:{}", hex::encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::num::Builder;
    use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
    use rand::SeedableRng;

    /// Proves knowledge of x with x² = public y.
    #[derive(Clone)]
    struct Square {
        x: Option<Fr>,
        y: Option<Fr>,
    }

    impl ConstraintSynthesizer<Fr> for Square {
        fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
            let b = Builder::new(cs);
            let y = b.input(self.y)?;
            let x = b.witness(self.x)?;
            b.enforce_product(&x, &x, &y)
        }
    }

    #[test]
    fn prove_verify_batch_and_serialization() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let (pk, vk) = setup(Square { x: None, y: None }, &mut rng).unwrap();
        let pvk = prepare(&vk);
        let mut items = vec![];
        for x in 2..6u64 {
            let (x, y) = (Fr::from(x), Fr::from(x * x));
            let proof = prove(
                &pk,
                Square {
                    x: Some(x),
                    y: Some(y),
                },
                &mut rng,
            )
            .unwrap();
            let proof = proof_from_bytes(&proof_to_bytes(&proof)).unwrap();
            assert!(verify(&pvk, &[y], &proof).unwrap());
            assert!(!verify(&pvk, &[y + Fr::from(1u64)], &proof).unwrap());
            assert!(!verify(&pvk, &[], &proof).unwrap());
            items.push(BatchItem {
                vk: &vk,
                public: vec![y],
                proof,
            });
        }
        assert!(batch_verify(&items));
        items[2].public[0] += Fr::from(1u64);
        assert!(!batch_verify(&items));
        assert!(proof_from_bytes(&[0u8; 5]).is_err());
        assert_eq!(vk_from_bytes(&vk_to_bytes(&vk)).unwrap(), vk);
        assert!(vk_hash(&vk).starts_with("sha256:"));
    }
}
