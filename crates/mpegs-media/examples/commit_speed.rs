//! Times the media commitment of a 1280×720 frame (gray and rgb24, tile 64 and 16)
//! and single Poseidon permutations (BENCHMARKS.md, "Native hashing"):
//! `cargo run --release -p mpegs-media --example commit_speed`.
use ark_bn254::Fr;
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};
use std::time::Instant;

fn main() {
    let reps = 5;
    for (format, tile) in [
        (PixelFormat::Gray, 64),
        (PixelFormat::Rgb24, 64),
        (PixelFormat::Gray, 16),
    ] {
        let info = FrameInfo::new(format, 1280, 720);
        let data = (0..info.byte_len()).map(|i| (i * 31 % 251) as u8).collect();
        let frame = Frame::new(info, data).unwrap();
        let mut times: Vec<f64> = (0..reps)
            .map(|_| {
                let t = Instant::now();
                Commitment::of_frame(&frame, tile, &Seed::PUBLIC).unwrap();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "commit 1280x720 {format} tile {tile}: median {:.1} ms",
            times[reps / 2]
        );
    }
    let inputs: Vec<Fr> = (0..12u64).map(Fr::from).collect();
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(mpegs_media::poseidon::hash(std::hint::black_box(&inputs)));
    }
    println!(
        "poseidon width 13: {:.1} µs a permutation",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );
    let t = Instant::now();
    let mut h = light_poseidon::Poseidon::<Fr>::new_circom(12).unwrap();
    for _ in 0..n / 10 {
        use light_poseidon::PoseidonHasher;
        std::hint::black_box(h.hash(std::hint::black_box(&inputs)).unwrap());
    }
    println!(
        "light-poseidon width 13: {:.1} µs a permutation",
        t.elapsed().as_secs_f64() * 1e6 / (n / 10) as f64
    );
}
