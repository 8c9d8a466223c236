//! The proving backend behind one small interface: setup, prove, verify (and batch
//! verify) for a circuit. Since the lookup argument it is Groth16 over BN254 with a
//! committed-wire extension ([`crate::groth16`]); a different backend (folding, GPU
//! MSM) replaces this module, not the circuits.

use crate::ZkError;
use ark_bn254::Fr;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

pub use crate::groth16::{
    batch_verify, check, prepare, proof_from_bytes, proof_to_bytes, verify_deterministic,
    vk_digest, vk_from_bytes, vk_to_bytes, BatchItem, Circuit, Proof, PROOF_BYTES,
};

pub type Pk = crate::groth16::ProvingKey;
pub type Vk = crate::groth16::VerifyingKey;
pub type PreparedVk = crate::groth16::PreparedVerifyingKey;
pub type Groth16Proof = Proof;

/// Runs the circuit-specific setup.
pub fn setup<C: Circuit, R: RngCore + CryptoRng>(
    circuit: C,
    rng: &mut R,
) -> Result<(Pk, Vk), ZkError> {
    crate::groth16::setup(circuit, rng)
}

/// Proves one circuit instance.
pub fn prove<C: Circuit, R: RngCore + CryptoRng>(
    pk: &Pk,
    circuit: C,
    rng: &mut R,
) -> Result<Proof, ZkError> {
    crate::groth16::prove(pk, circuit, rng)
}

/// Verifies one proof (the statement's public inputs; the challenges are derived).
pub fn verify(pvk: &PreparedVk, public: &[Fr], proof: &Proof) -> Result<bool, ZkError> {
    Ok(crate::groth16::verify(pvk, public, proof))
}

/// `sha256:<hex>` of the compressed verifying key: how bundles and key sets pin keys.
pub fn vk_hash(vk: &Vk) -> String {
    let digest = Sha256::digest(vk_to_bytes(vk));
    format!("sha256:{}", hex::encode(digest))
}

/// Constraints of a circuit with its lookup argument closed (for counts and
/// benchmarks; the witness need not be valid).
pub fn constraints<C: Circuit>(circuit: C) -> Result<usize, ZkError> {
    let cs = crate::ConstraintSystem::<Fr>::new_ref();
    let b = crate::Builder::new(cs.clone());
    circuit.synthesize(&b)?;
    b.finalize(Some(&mut crate::lookup::HashChallenger))?;
    Ok(cs.num_constraints())
}

/// Whether a circuit's constraints hold for its witness (tests): synthesized and
/// closed with a keyless challenger.
pub fn satisfied<C: Circuit>(circuit: C) -> bool {
    check(circuit).is_ok()
}
