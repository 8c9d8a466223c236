//! The previous backend: plain Groth16 (`ark-groth16`) over circuits whose range
//! checks are bit decompositions ([`RangeMode::Bits`]). Production never uses it;
//! it stays so that benchmarks measure old and new side by side in one run, and so
//! tests can cross-check that a circuit means the same in both modes.

use crate::backend::Circuit;
use crate::num::{Builder, RangeMode};
use crate::ZkError;
use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, Proof, ProvingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use ark_snark::SNARK;
use rand::{CryptoRng, RngCore};

/// A circuit synthesized with bit-decomposition range checks.
pub struct Bits<C>(pub C);

impl<C: Circuit> ConstraintSynthesizer<Fr> for Bits<C> {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let b = Builder::with_mode(cs, RangeMode::Bits);
        self.0.synthesize(&b)
    }
}

/// Plain Groth16 setup of the bit-decomposition circuit.
pub fn setup<C: Circuit, R: RngCore + CryptoRng>(
    circuit: C,
    rng: &mut R,
) -> Result<ProvingKey<Bn254>, ZkError> {
    let (pk, _) = Groth16::<Bn254>::circuit_specific_setup(Bits(circuit), rng)?;
    Ok(pk)
}

/// Plain Groth16 proof of the bit-decomposition circuit.
pub fn prove<C: Circuit, R: RngCore + CryptoRng>(
    pk: &ProvingKey<Bn254>,
    circuit: C,
    rng: &mut R,
) -> Result<Proof<Bn254>, ZkError> {
    Ok(Groth16::<Bn254>::prove(pk, Bits(circuit), rng)?)
}

/// Constraints of the bit-decomposition circuit.
pub fn constraints<C: Circuit>(circuit: C) -> Result<usize, ZkError> {
    let cs = crate::ConstraintSystem::<Fr>::new_ref();
    let b = Builder::with_mode(cs.clone(), RangeMode::Bits);
    circuit.synthesize(&b)?;
    Ok(cs.num_constraints())
}
