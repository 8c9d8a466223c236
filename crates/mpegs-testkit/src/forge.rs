//! Forged proofs for soundness tests of every verifier (native, Solidity,
//! Stylus, WASM): proofs that pass exactly when a check is missing.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::CurveGroup;
use mpegs_zk::backend::{vk_digest, Circuit, Pk, Proof};
use mpegs_zk::groth16::{commit, prove_with, Commit};
use mpegs_zk::lookup::{Challenger, Table};
use mpegs_zk::num::Num;
use mpegs_zk::range::{enforce_range, witness_bytes};
use mpegs_zk::{transcript, Builder, SynthesisError};
use rand::SeedableRng;

/// A committer that commits honestly to the real witness, then adds public-input
/// keys to D so that the verifier's γ side reads `claimed` instead of the
/// statement proven, and hashes the challenges for `claimed`. Only the
/// proof-of-knowledge check (P = σ·D) tells such a D from a commitment.
struct ShiftingCommitter<'a> {
    pk: &'a Pk,
    claimed: Vec<Fr>,
    rng: rand_chacha::ChaCha20Rng,
    commitment: Option<(G1Affine, G1Affine)>,
}

impl Challenger for ShiftingCommitter<'_> {
    fn blinding(&mut self) -> Fr {
        ark_std::UniformRand::rand(&mut self.rng)
    }

    fn challenges(
        &mut self,
        public: &[Fr],
        _indices: &[usize],
        values: &[Fr],
        count: usize,
    ) -> Result<Vec<Fr>, SynthesisError> {
        let (d, p) = commit(self.pk, values);
        let ic = &self.pk.vk.ic;
        let shift: G1Projective = public
            .iter()
            .zip(&self.claimed)
            .enumerate()
            .map(|(i, (real, claimed))| ic[1 + i] * (*real - claimed))
            .sum();
        let shifted = (d + shift).into_affine();
        self.commitment = Some((shifted, p));
        Ok(transcript::challenges(
            &vk_digest(&self.pk.vk),
            &self.claimed,
            &shifted,
            count,
        ))
    }
}

impl Commit for ShiftingCommitter<'_> {
    fn commitment(&self) -> Option<(G1Affine, G1Affine)> {
        self.commitment
    }
}

/// A proof of `circuit` (a valid witness of its own statement) that claims the
/// statement `claimed` instead. Every verifier must refuse it; a verifier without
/// the proof-of-knowledge check accepts it.
pub fn proof_claiming(pk: &Pk, circuit: impl Circuit, claimed: &[Fr], seed: u64) -> Proof {
    let mut committer = ShiftingCommitter {
        pk,
        claimed: claimed.to_vec(),
        rng: rand_chacha::ChaCha20Rng::seed_from_u64(seed),
        commitment: None,
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 1);
    prove_with(pk, circuit, &mut committer, &mut rng).expect("the forger proves")
}

/// A small circuit with a two-column table (so its key has two challenges):
/// knows bytes whose sum is public, each byte's square mod 251 from the table,
/// and a 20-bit multiple of the sum (limbs).
#[derive(Clone, Debug)]
pub struct TableCircuit {
    pub bytes: Vec<u8>,
}

impl TableCircuit {
    /// The statement: the sum of the bytes.
    pub fn public_inputs(&self) -> Vec<Fr> {
        vec![Fr::from(self.bytes.iter().map(|b| *b as u64).sum::<u64>())]
    }
}

impl Circuit for TableCircuit {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        let sum_value: u64 = self.bytes.iter().map(|v| *v as u64).sum();
        let sum = b.input(Some(Fr::from(sum_value)))?;
        let values: Vec<Option<u8>> = self.bytes.iter().map(|v| Some(*v)).collect();
        let bytes = witness_bytes(b, &values)?;
        let one = Fr::from(1u64);
        b.enforce_equal(&Num::sum(bytes.iter().map(|v| (one, &v.num))), &sum)?;
        let rows: Vec<Vec<u64>> = (0..256u64).map(|v| vec![v, v * v % 251]).collect();
        let table = Table::new("testkit-square-mod-251", 2, &rows);
        for v in &bytes {
            let x = v.value.unwrap_or(0) as u64;
            let sq = b.witness(Some(Fr::from(x * x % 251)))?;
            b.lookup(&table, &[v.num.clone(), sq])?;
        }
        let wide = b.witness(Some(Fr::from(sum_value * 1000)))?;
        enforce_range(b, &wide, 20)
    }
}
