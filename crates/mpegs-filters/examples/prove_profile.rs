//! Times synthesis and one Groth16 proof of a format=gray tile (profiling aid;
//! build with `--features ark-groth16/print-trace` style tracing for a breakdown).
use ark_bn254::Fr;
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::parse_filtergraph;
use mpegs_filters::plan::Step;
use mpegs_media::{FrameInfo, MediaHeader, PixelFormat};
use mpegs_zk::{backend, ConstraintSynthesizer, ConstraintSystem};
use rand::SeedableRng;
use std::time::Instant;

fn main() {
    let vf = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "format=gray".into());
    let tile: u32 = std::env::args()
        .nth(2)
        .map(|t| t.parse().unwrap())
        .unwrap_or(64);
    let chain = parse_filtergraph(&vf).unwrap();
    let header = MediaHeader::new(FrameInfo::new(PixelFormat::Rgb24, 1280, 720), tile).unwrap();
    let step = Step::new(chain.filters[0].as_ref(), header).unwrap();
    let plan = step.plan_tile(1, 1);
    let t = Instant::now();
    let cs = ConstraintSystem::<Fr>::new_ref();
    TileCircuit::blank(&step, &plan)
        .generate_constraints(cs.clone())
        .unwrap();
    println!(
        "synthesis: {:?}, {} constraints",
        t.elapsed(),
        cs.num_constraints()
    );
    let t = Instant::now();
    cs.finalize();
    let _m = cs.to_matrices().unwrap();
    println!("finalize + matrices: {:?}", t.elapsed());
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let t = Instant::now();
    let (pk, _vk) = backend::setup(TileCircuit::blank(&step, &plan), &mut rng).unwrap();
    println!("setup: {:?}", t.elapsed());
    let t = Instant::now();
    backend::prove(&pk, TileCircuit::blank(&step, &plan), &mut rng).unwrap();
    println!("prove: {:?}", t.elapsed());
}
