//! Fixed-seed circuits, keys and proofs for tests, benchmarks and the committed
//! example verifiers (`contracts/verifiers/`) and Stylus test keys. Seeded setup
//! is for tests only: whoever knows the seed can forge proofs, so these keys
//! must never guard anything real (docs/chain.md). They used to live in
//! `mpegs_chain::fixtures`; here no production crate can reach them.

use ark_bn254::Fr;
use mpegs_storage::circuit::InclusionCircuit;
use mpegs_storage::tree::{FrameHash, SegmentTree};
use mpegs_zk::backend::{self, Groth16Proof, Pk, Vk};
use rand::SeedableRng;

/// A storage-inclusion circuit shape: `k` openings in a tree of `frames` leaves.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub k: usize,
    pub frames: usize,
}

/// The example circuits: two storage-inclusion shapes with different numbers of
/// public inputs (2 + k).
pub const SHAPES: [Shape; 2] = [Shape { k: 2, frames: 8 }, Shape { k: 4, frames: 300 }];

/// A proof with its public inputs.
pub struct Example {
    pub id: String,
    pub pk: Pk,
    pub vk: Vk,
    pub proof: Groth16Proof,
    pub inputs: Vec<Fr>,
}

fn depth(frames: usize) -> usize {
    SegmentTree::new(vec![FrameHash::default(); frames]).depth()
}

/// Keys from the fixed seed for `shape` (deterministic: same seed, same keys).
pub fn keys(shape: Shape) -> (Pk, Vk) {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x6d70_6567 + shape.k as u64);
    backend::setup(
        InclusionCircuit::blank(shape.k, depth(shape.frames)),
        &mut rng,
    )
    .expect("the blank inclusion circuit synthesizes")
}

/// The circuit id of `shape` (as the storage crate names it).
pub fn circuit_id(shape: Shape) -> String {
    mpegs_storage::epoch::circuit_id(shape.k as u32, depth(shape.frames) as u32)
}

/// The inclusion circuit of `shape` over pseudo-random frame hashes, with its
/// public inputs; `salt` varies the statement (indices and nonce).
pub fn example_statement(shape: Shape, salt: u64) -> (InclusionCircuit, Vec<Fr>) {
    let hashes: Vec<FrameHash> = (0..shape.frames as u64)
        .map(|i| (i + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt)
        .map(|h| FrameHash {
            y: h,
            u: h.rotate_left(21),
            v: h.rotate_left(42),
        })
        .collect();
    let tree = SegmentTree::new(hashes);
    let indices: Vec<u32> = (0..shape.k as u32)
        .map(|j| ((j as u64 * 7 + salt) % shape.frames as u64) as u32)
        .collect();
    let nonce = Fr::from(salt + 1);
    let circuit = InclusionCircuit {
        root: tree.root(),
        nonce,
        depth: tree.depth(),
        openings: indices
            .iter()
            .map(|i| tree.open(*i).expect("in range"))
            .collect(),
    };
    let inputs = InclusionCircuit::public_inputs(tree.root(), nonce, &indices);
    (circuit, inputs)
}

/// A valid proof for `shape` over pseudo-random frame hashes; `salt` varies the
/// statement (indices and nonce).
pub fn example(shape: Shape, salt: u64) -> Example {
    example_proven_with(shape, salt, salt)
}

/// [`example`] with the prover's randomness from `prover_seed`: another proof of
/// the same statement.
pub fn example_proven_with(shape: Shape, salt: u64, prover_seed: u64) -> Example {
    let (pk, vk) = keys(shape);
    let (circuit, inputs) = example_statement(shape, salt);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(prover_seed);
    let proof = backend::prove(&pk, circuit, &mut rng).expect("the example proves");
    Example {
        id: circuit_id(shape),
        pk,
        vk,
        proof,
        inputs,
    }
}

/// Keys (fixed seed) and a valid proof of [`crate::forge::TableCircuit`], a circuit
/// whose key has two challenges (a two-column table), over `bytes`.
pub fn table_example(bytes: &[u8], salt: u64) -> Example {
    let circuit = crate::forge::TableCircuit {
        bytes: bytes.to_vec(),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(0x7461_626c);
    let blank = crate::forge::TableCircuit {
        bytes: vec![0; bytes.len()],
    };
    let (pk, vk) = backend::setup(blank, &mut rng).expect("the table circuit synthesizes");
    let inputs = circuit.public_inputs();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(salt);
    let proof = backend::prove(&pk, circuit, &mut rng).expect("the example proves");
    Example {
        id: format!("testkit-table-{}", bytes.len()),
        pk,
        vk,
        proof,
        inputs,
    }
}
