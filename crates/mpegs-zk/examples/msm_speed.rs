//! Times mpegs' MSM against arkworks' on the sizes a tile proof uses (BENCHMARKS.md):
//! `cargo run --release -p mpegs-zk --example msm_speed -- [log2 size]`.
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use rand::SeedableRng;
use std::time::Instant;

/// CPU seconds this process has used (user + system), so other processes on the
/// machine do not skew the comparison as much as wall time would.
fn cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let log: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(16);
    let n = 1usize << log;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let g1: Vec<G1Affine> = G1Projective::normalize_batch(
        &(0..n)
            .map(|_| G1Projective::rand(&mut rng))
            .collect::<Vec<_>>(),
    );
    let g2: Vec<G2Affine> = G2Projective::normalize_batch(
        &(0..n / 4)
            .map(|_| G2Projective::rand(&mut rng))
            .collect::<Vec<_>>(),
    );
    let full: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
    let bytes: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 37 % 256)).collect();
    let reps = 3;
    let time = |f: &dyn Fn()| {
        let (t, c) = (Instant::now(), cpu());
        for _ in 0..reps {
            f();
        }
        (
            t.elapsed().as_secs_f64() / reps as f64,
            (cpu() - c) / reps as f64,
        )
    };
    for (name, scalars) in [("full scalars", &full), ("byte scalars", &bytes)] {
        assert_eq!(
            G1Projective::msm_unchecked(&g1, scalars).into_affine(),
            mpegs_zk::msm::msm(&g1, scalars).into_affine()
        );
        let ark = time(&|| {
            let _ = G1Projective::msm_unchecked(&g1, scalars);
        });
        let ours = time(&|| {
            let _ = mpegs_zk::msm::msm(&g1, scalars);
        });
        println!(
            "G1 2^{log} {name}: arkworks {:.3} s ({:.3} s CPU), mpegs {:.3} s ({:.3} s CPU), {:.2}x less CPU",
            ark.0, ark.1, ours.0, ours.1, ark.1 / ours.1
        );
    }
    let s2 = &full[..n / 4];
    assert_eq!(
        G2Projective::msm_unchecked(&g2, s2).into_affine(),
        mpegs_zk::msm::msm(&g2, s2).into_affine()
    );
    let ark = time(&|| {
        let _ = G2Projective::msm_unchecked(&g2, s2);
    });
    let ours = time(&|| {
        let _ = mpegs_zk::msm::msm(&g2, s2);
    });
    println!(
        "G2 2^{} full scalars: arkworks {:.3} s ({:.3} s CPU), mpegs {:.3} s ({:.3} s CPU), {:.2}x less CPU",
        log - 2, ark.0, ark.1, ours.0, ours.1, ark.1 / ours.1
    );
}
