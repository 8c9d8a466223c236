//! The one-step mismatch proof: the pHash gadget against the native hash (random,
//! smooth and flat regions at every supported size class), tampered hints refused,
//! and the full circuit — a real Groth16 proof for an honest mismatch, refusals for
//! an equal leaf, a forged pixel, another frame index and a misaligned region.

use ark_bn254::Fr;
use mpegs_media::commitment::VideoCommitment;
use mpegs_media::{Commitment, Frame, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_storage::mismatch::{MismatchCircuit, Shape};
use mpegs_storage::phash::{phash, Region};
use mpegs_storage::phash_gadget::{self, Hint};
use mpegs_storage::tree::{leaf, FrameHash};
use mpegs_zk::range::witness_bytes;
use mpegs_zk::{backend, Builder, ConstraintSystem, Num};
use rand::{Rng, SeedableRng};
use std::time::Instant;

fn rng(seed: u64) -> rand_chacha::ChaCha8Rng {
    rand_chacha::ChaCha8Rng::seed_from_u64(seed)
}

/// A `w × h` plane of one of four kinds: 0 noise, 1 smooth (a few cosines, like
/// real frames), 2 flat (every coefficient ties), 3 two flat halves.
fn plane(w: u32, h: u32, kind: u8, seed: u64) -> Vec<u8> {
    let mut r = rng(seed);
    match kind {
        0 => (0..w * h).map(|_| r.gen()).collect(),
        1 => {
            let waves: Vec<(f64, f64, f64, f64)> = (0..5)
                .map(|_| {
                    (
                        r.gen_range(0.0..0.08),
                        r.gen_range(0.0..0.08),
                        r.gen_range(0.0..6.28),
                        r.gen_range(10.0..40.0),
                    )
                })
                .collect();
            (0..h)
                .flat_map(|y| {
                    let waves = &waves;
                    (0..w).map(move |x| {
                        let v: f64 = waves
                            .iter()
                            .map(|(fx, fy, p, a)| a * (fx * x as f64 + fy * y as f64 + p).cos())
                            .sum();
                        (128.0 + v).clamp(0.0, 255.0) as u8
                    })
                })
                .collect()
        }
        2 => vec![r.gen(); (w * h) as usize],
        _ => {
            let (a, b): (u8, u8) = (r.gen(), r.gen());
            (0..h)
                .flat_map(|_| (0..w).map(move |x| if x < w / 2 { a } else { b }))
                .collect()
        }
    }
}

fn region_pixels(p: &[u8], w: u32, r: Region) -> Vec<u8> {
    let s = r.size as usize;
    (0..s)
        .flat_map(|row| {
            let start = (r.y as usize + row) * w as usize + r.x as usize;
            p[start..start + s].iter().copied()
        })
        .collect()
}

/// Runs the gadget on a region's pixels with a tampered hint; returns the packed
/// value and whether the constraints hold.
fn gadget(pixels: &[u8], size: u32, tamper: impl FnOnce(Hint) -> Hint) -> (Option<Fr>, bool) {
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    let vals: Vec<Option<u8>> = pixels.iter().map(|v| Some(*v)).collect();
    let px: Vec<Num> = witness_bytes(&b, &vals)
        .unwrap()
        .into_iter()
        .map(|v| v.num)
        .collect();
    let out = phash_gadget::phash_with(&b, &px, size, tamper).unwrap();
    (out.value, b.is_satisfied().unwrap())
}

/// The 64 coefficient values of a region, sorted.
fn sorted_coefficients(pixels: &[u8], size: u32) -> Vec<i128> {
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    let px: Vec<Num> = pixels.iter().map(|v| Num::from_u64(*v as u64)).collect();
    let c = phash_gadget::coefficients(&b, &px, size).unwrap();
    let mut v: Vec<i128> = c
        .iter()
        .map(|n| phash_gadget::signed_value(n.value.unwrap()))
        .collect();
    v.sort_unstable();
    v
}

#[test]
fn gadget_equals_the_native_hash() {
    let (w, h) = (600u32, 560u32);
    let mut r = rng(1);
    let mut checked = 0;
    for kind in 0..4u8 {
        let p = plane(w, h, kind, 10 + kind as u64);
        let sizes: &[(u32, usize)] = &[(32, 6), (64, 3), (96, 1), (160, 1), (512, 1)];
        for &(size, count) in sizes {
            for _ in 0..count {
                let region = Region {
                    x: r.gen_range(0..=w - size),
                    y: r.gen_range(0..=h - size),
                    size,
                };
                let native = phash(&p, w, h, region).unwrap();
                let (value, ok) = gadget(&region_pixels(&p, w, region), size, |h| h);
                assert!(ok, "kind {kind} {region}: honest witness unsatisfied");
                assert_eq!(value, Some(Fr::from(native)), "kind {kind} {region}");
                if kind == 2 {
                    // Flat: every coefficient ties, so no bit is above the median.
                    assert_eq!(native, 0, "flat {region}");
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 48);
}

#[test]
fn tampered_hints_are_unsatisfiable() {
    let (w, h) = (200u32, 200u32);
    for (kind, size) in [(1u8, 64u32), (0, 32), (2, 32), (3, 64)] {
        let p = plane(w, h, kind, 40 + kind as u64);
        let region = Region { x: 7, y: 13, size };
        let px = region_pixels(&p, w, region);
        let sorted = sorted_coefficients(&px, size);
        assert!(gadget(&px, size, |h| h).1, "kind {kind}: honest");
        let mut cases: Vec<(&str, Box<dyn FnOnce(Hint) -> Hint>)> = vec![
            (
                "bit 0 flipped",
                Box::new(|h: Hint| Hint {
                    bits: h.bits ^ 1 << 63,
                    ..h
                }),
            ),
            (
                "bit 63 flipped",
                Box::new(|h: Hint| Hint {
                    bits: h.bits ^ 1,
                    ..h
                }),
            ),
            ("all bits", Box::new(|h: Hint| Hint { bits: !h.bits, ..h })),
            ("lo + 1", Box::new(|h: Hint| Hint { lo: h.lo + 1, ..h })),
            ("lo - 1", Box::new(|h: Hint| Hint { lo: h.lo - 1, ..h })),
            ("hi + 1", Box::new(|h: Hint| Hint { hi: h.hi + 1, ..h })),
            ("hi - 1", Box::new(|h: Hint| Hint { hi: h.hi - 1, ..h })),
        ];
        // Another coefficient as the order statistic (a wrong selector), where it
        // differs in value from the right one (with ties the choice is immaterial).
        let (s30, s31, s32, s33) = (sorted[30], sorted[31], sorted[32], sorted[33]);
        if s30 != s31 {
            cases.push((
                "lo = 31st smallest",
                Box::new(move |h: Hint| Hint { lo: s30, ..h }),
            ));
        }
        if s32 != s31 {
            cases.push((
                "lo = 33rd smallest",
                Box::new(move |h: Hint| Hint { lo: s32, ..h }),
            ));
            cases.push((
                "hi = 32nd smallest",
                Box::new(move |h: Hint| Hint { hi: s31, ..h }),
            ));
        }
        if s33 != s32 {
            cases.push((
                "hi = 34th smallest",
                Box::new(move |h: Hint| Hint { hi: s33, ..h }),
            ));
        }
        if kind == 1 {
            assert!(
                s30 != s31 && s31 != s32 && s32 != s33,
                "smooth fixture has no ties"
            );
        }
        for (name, tamper) in cases {
            assert!(!gadget(&px, size, tamper).1, "kind {kind}: {name} accepted");
        }
    }
}

const SEED: Seed = Seed([5; 32]);

/// A gray video of `frames` frames (smooth content, each frame different) and its
/// commitment with tile size `tile`.
fn video(w: u32, h: u32, frames: usize, tile: u32) -> (Vec<Frame>, VideoCommitment) {
    let info = FrameInfo::new(PixelFormat::Gray, w, h);
    let images: Vec<Frame> = (0..frames)
        .map(|i| Frame::new(info, plane(w, h, 1, 100 + i as u64)).unwrap())
        .collect();
    let commits = images
        .iter()
        .enumerate()
        .map(|(i, f)| Commitment::of_video_frame(f, tile, &SEED, i as u32).unwrap())
        .collect();
    (images, VideoCommitment::new(commits).unwrap())
}

fn true_leaf(images: &[Frame], i: u32, region: Region) -> Fr {
    let f = &images[i as usize];
    let y = phash(&f.data, f.width(), f.height(), region).unwrap();
    leaf(
        i,
        &FrameHash {
            y,
            ..Default::default()
        },
    )
}

fn satisfied(c: MismatchCircuit) -> bool {
    backend::satisfied(c)
}

#[test]
fn honest_mismatch_proves_and_verifies() {
    let (images, v) = video(96, 64, 3, 16);
    let region = Region {
        x: 48,
        y: 16,
        size: 32,
    };
    let i = 1;
    let real = true_leaf(&images, i, region);
    // The client's leaf: the hash of another frame (what a wrong root holds).
    let lambda = true_leaf(&images, 2, region);
    assert_ne!(real, lambda);
    let c = MismatchCircuit::new(&v, &images, i, region, lambda).unwrap();
    assert!(satisfied(c.clone()));

    let shape = c.shape;
    let mut r = rng(7);
    let t = Instant::now();
    let (pk, vk) = backend::setup(MismatchCircuit::blank(shape), &mut r).unwrap();
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let proof = backend::prove(&pk, c, &mut r).unwrap();
    let prove_s = t.elapsed().as_secs_f64();
    let pvk = backend::prepare(&vk);
    let public = MismatchCircuit::public_inputs(v.value, i, region, lambda);
    assert!(backend::verify(&pvk, &public, &proof).unwrap());
    // The proof is about exactly this statement.
    let mut other = public.clone();
    other[5] = real;
    assert!(!backend::verify(&pvk, &other, &proof).unwrap(), "another λ");
    let mut other = public.clone();
    other[1] = Fr::from(2u64);
    assert!(
        !backend::verify(&pvk, &other, &proof).unwrap(),
        "another frame"
    );
    let mut other = public;
    other[2] = Fr::from(32u64);
    assert!(!backend::verify(&pvk, &other, &proof).unwrap(), "another x");
    let n = backend::constraints(MismatchCircuit::blank(shape)).unwrap();
    println!(
        "96x64 T16 3 frames, side 32: {n} constraints, setup {setup_s:.2} s, prove {prove_s:.2} s"
    );
}

#[test]
fn dishonest_witnesses_are_unsatisfiable() {
    let (images, v) = video(96, 64, 4, 16);
    let region = Region {
        x: 32,
        y: 0,
        size: 64,
    };
    let i = 2;
    let real = true_leaf(&images, i, region);
    let lambda = true_leaf(&images, 0, region);
    let honest = MismatchCircuit::new(&v, &images, i, region, lambda).unwrap();
    assert!(satisfied(honest.clone()), "honest mismatch");

    // The client's leaf is right: nothing to prove.
    let c = MismatchCircuit::new(&v, &images, i, region, real).unwrap();
    assert!(!satisfied(c), "λ equal to the true leaf");

    // A pixel that is not the committed one (it would change the pHash).
    let mut c = honest.clone();
    c.pixels[100] ^= 0x40;
    assert!(!satisfied(c), "forged pixel");

    // Frame i's pixels and openings claimed as frame 3's (whose leaf may differ).
    let mut c = honest.clone();
    c.frame = 3;
    assert!(!satisfied(c), "another frame index");

    // Another frame's pixels and tile openings under the right index and path.
    let other = MismatchCircuit::new(&v, &images, 1, region, lambda).unwrap();
    let mut c = honest.clone();
    c.pixels = other.pixels;
    c.tiles = other.tiles;
    assert!(!satisfied(c), "frame 1's tiles at frame 2");

    // The same pixels claimed at another (aligned) position.
    let mut c = honest.clone();
    c.x = 16;
    assert!(!satisfied(c), "another x");

    // A position between tiles, and one past the frame edge.
    let mut c = honest.clone();
    c.x = 40;
    assert!(!satisfied(c), "misaligned x");
    let mut c = honest;
    c.y = 16;
    assert!(!satisfied(c), "region past the bottom edge");
}

#[test]
fn unsupported_regions_and_content_are_refused() {
    let (images, v) = video(96, 64, 2, 16);
    let lambda = Fr::from(1u64);
    for (region, msg) in [
        (
            Region {
                x: 40,
                y: 0,
                size: 32,
            },
            "aligned",
        ),
        (
            Region {
                x: 64,
                y: 0,
                size: 64,
            },
            "does not fit",
        ),
        (
            Region {
                x: 0,
                y: 0,
                size: 48,
            },
            "multiple of 32",
        ),
    ] {
        let e = MismatchCircuit::new(&v, &images, 0, region, lambda)
            .unwrap_err()
            .to_string();
        assert!(e.contains(msg), "{region}: {e}");
    }
    let r = Region {
        x: 0,
        y: 0,
        size: 32,
    };
    assert!(
        MismatchCircuit::new(&v, &images, 2, r, lambda).is_err(),
        "no frame 2"
    );
    let rgb = MediaHeader {
        format: PixelFormat::Rgb24,
        width: 96,
        height: 64,
        tile: 16,
    };
    assert!(Shape::new(rgb, 2, 32).is_err(), "colour content");
    let big_tile = MediaHeader {
        format: PixelFormat::Gray,
        width: 256,
        height: 256,
        tile: 64,
    };
    assert!(
        Shape::new(big_tile, 2, 32).is_err(),
        "side below the tile size"
    );
}

/// Constraint counts (and a real prove for side 128) of a 1280×720, 300-frame
/// segment; run with `--ignored --nocapture` to measure.
#[test]
#[ignore]
fn measure_sizes() {
    for (tile, size) in [(16u32, 32u32), (16, 128), (64, 128), (16, 512), (64, 512)] {
        let header = MediaHeader {
            format: PixelFormat::Gray,
            width: 1280,
            height: 720,
            tile,
        };
        let shape = Shape::new(header, 300, size).unwrap();
        let t = Instant::now();
        let n = backend::constraints(MismatchCircuit::blank(shape)).unwrap();
        println!(
            "1280x720 T{tile} 300 frames, side {size}: {n} constraints (synthesis {:.1} s)",
            t.elapsed().as_secs_f64()
        );
    }
    let (images, v) = video(256, 192, 2, 16);
    let region = Region {
        x: 64,
        y: 32,
        size: 128,
    };
    let c = MismatchCircuit::new(&v, &images, 1, region, Fr::from(3u64)).unwrap();
    let mut r = rng(3);
    let t = Instant::now();
    let (pk, vk) = backend::setup(MismatchCircuit::blank(c.shape), &mut r).unwrap();
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let proof = backend::prove(&pk, c, &mut r).unwrap();
    let prove_s = t.elapsed().as_secs_f64();
    let public = MismatchCircuit::public_inputs(v.value, 1, region, Fr::from(3u64));
    assert!(backend::verify(&backend::prepare(&vk), &public, &proof).unwrap());
    println!("256x192 T16 2 frames, side 128: setup {setup_s:.1} s, prove {prove_s:.1} s");
}
