//! Times one interior tile of a filter on a 1280×720 rgb24 input with the lookup
//! backend and the previous (bit-decomposition, plain Groth16) one: constraints,
//! setup and one proof each (profiling aid; BENCHMARKS.md has the measured runs).
//!
//! `cargo run --release -p mpegs-filters --example prove_profile -- "format=gray" 64`
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::plan::Step;
use mpegs_filters::{apply, parse_filtergraph};
use mpegs_media::{Commitment, Frame, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_zk::{backend, legacy, RangeMode};
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
    let old = std::env::args().any(|a| a == "--old");
    let chain = parse_filtergraph(&vf).unwrap();
    let header = MediaHeader::new(FrameInfo::new(PixelFormat::Rgb24, 1280, 720), tile).unwrap();
    let step = Step::new(chain.filters[0].as_ref(), header).unwrap();
    let plan = step.plan_tile(1, 1);
    let blank = || TileCircuit::blank(&step, &plan);
    let info = FrameInfo::new(PixelFormat::Rgb24, 1280, 720);
    let mut noise = rand_chacha::ChaCha20Rng::seed_from_u64(9);
    let data: Vec<u8> = (0..info.byte_len())
        .map(|_| rand::Rng::gen(&mut noise))
        .collect();
    let input = Frame::new(info, data).unwrap();
    let output = apply(chain.filters[0].as_ref(), &input).unwrap();
    let c_in = Commitment::of_frame(&input, tile, &Seed::random()).unwrap();
    let c_out = Commitment::of_frame(&output, tile, &Seed::random()).unwrap();
    let honest = || TileCircuit::new(&step, &plan, &input, &c_in, &c_out);
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    for mode in [RangeMode::Lookup, RangeMode::Bits] {
        let t = Instant::now();
        let parts = blank().breakdown_in(mode).unwrap();
        println!("{mode:?}: {parts:?} (synthesis {:?})", t.elapsed());
    }
    let t = Instant::now();
    let (pk, vk) = backend::setup(blank(), &mut rng).unwrap();
    println!("lookup backend: setup {:?}", t.elapsed());
    for _ in 0..3 {
        let (proof, t) = mpegs_zk::groth16::prove_profiled(&pk, honest(), &mut rng).unwrap();
        println!("lookup backend: prove {t:?}");
        let public = mpegs_filters::plan::public_inputs(c_in.value, c_out.value, &plan);
        assert!(backend::verify(&backend::prepare(&vk), &public, &proof).unwrap());
    }
    if old {
        let t = Instant::now();
        let pk = legacy::setup(blank(), &mut rng).unwrap();
        println!("old backend: setup {:?}", t.elapsed());
        let t = Instant::now();
        legacy::prove(&pk, honest(), &mut rng).unwrap();
        println!("old backend: prove {:?}", t.elapsed());
    }
}
