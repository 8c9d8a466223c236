//! Times one epoch proof (k openings in a 300-frame tree):
//! `cargo run --release -p mpegs-storage --example inclusion_bench -- [k]`.
use ark_bn254::Fr;
use mpegs_storage::circuit::InclusionCircuit;
use mpegs_storage::tree::SegmentTree;
use mpegs_zk::{backend, ConstraintSynthesizer, ConstraintSystem};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let k: usize = std::env::args().nth(1).map_or(Ok(4), |s| s.parse())?;
    let t = Instant::now();
    let tree = SegmentTree::new(
        (0..300u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect(),
    );
    let tree_time = t.elapsed();
    let indices: Vec<u32> = (0..k as u32).map(|i| i * 71 % 300).collect();
    let circuit = InclusionCircuit {
        root: tree.root(),
        nonce: Fr::from(1u64),
        depth: tree.depth(),
        openings: indices
            .iter()
            .map(|i| tree.open(*i).expect("in range"))
            .collect(),
    };
    let cs = ConstraintSystem::<Fr>::new_ref();
    circuit.clone().generate_constraints(cs.clone())?;
    let mut rng = ark_std_rng();
    let t = Instant::now();
    let (pk, vk) = backend::setup(InclusionCircuit::blank(k, tree.depth()), &mut rng)?;
    let setup = t.elapsed();
    let t = Instant::now();
    let proof = backend::prove(&pk, circuit, &mut rng)?;
    let prove = t.elapsed();
    let pvk = backend::prepare(&vk);
    let public = InclusionCircuit::public_inputs(tree.root(), Fr::from(1u64), &indices);
    let t = Instant::now();
    let runs = 100;
    for _ in 0..runs {
        assert!(backend::verify(&pvk, &public, &proof)?);
    }
    let verify = t.elapsed() / runs;
    println!(
        "k={k} depth={} constraints={} tree(300 leaves)={tree_time:.2?} setup={setup:.2?} prove={prove:.2?} verify={verify:.2?} proof={} B",
        tree.depth(),
        cs.num_constraints(),
        backend::proof_to_bytes(&proof).len()
    );
    Ok(())
}

fn ark_std_rng() -> rand_chacha::ChaCha20Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha20Rng::seed_from_u64(7)
}
