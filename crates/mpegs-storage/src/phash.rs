//! The perceptual hash of a square region of a luma plane — pHash.org's DCT hash,
//! defined here precisely and computed in integers so every machine (client,
//! worker, validator) gets the same 64 bits.
//!
//! For a region of side `s` (a multiple of 32, 32..=512) at (x, y):
//! 1. **7×7 mean filter** inside the region, edges replicated (coordinates clamped
//!    to the region). We keep the 49-sample *sums*: a constant factor changes no bit.
//! 2. **Resize to 32×32** by summing `s/32 × s/32` blocks (area averaging, again
//!    without the constant divisor).
//! 3. **2-D DCT-II** coefficients `C[v][u] = Σ_y Σ_x B[y][x]·c(v, y)·c(u, x)` for
//!    `u, v ∈ 1..=8` with `c(u, x) = round(2^14 · cos(π(2x+1)u / 64))` — the
//!    orthonormal scale factors are equal for all of them and are dropped. The
//!    table is pinned by a test (`cos_table_is_pinned`).
//! 4. **Bits**: the 64 coefficients in row-major order (`i = 8(v−1) + (u−1)`); bit
//!    `i` is set when `C_i` is above the median (the mean of the 32nd and 33rd
//!    smallest), stored MSB first (`1 << (63 − i)`).
//!
//! Compare hashes by Hamming distance ([`hamming`]).

use crate::StorageError;
use std::sync::OnceLock;

/// A square region of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}+{}+{}", self.size, self.size, self.x, self.y)
    }
}

/// Side of the resized image.
const N: usize = 32;
/// Lowest frequencies kept (1..=8 per axis).
const K: usize = 8;
/// Radius of the 7×7 mean filter.
const MEAN_RADIUS: i64 = 3;
/// Largest region side (keeps every sum inside i64/i128 with room to spare).
pub const MAX_REGION: u32 = 512;

impl Region {
    /// Checks the region fits a `width × height` frame and has a supported size.
    pub fn validate(&self, width: u32, height: u32) -> Result<(), StorageError> {
        let bad = |reason: String| StorageError::Region {
            region: self.to_string(),
            reason,
        };
        if self.size < N as u32 || self.size > MAX_REGION || !self.size.is_multiple_of(N as u32) {
            return Err(bad(format!(
                "size must be a multiple of {N} between {N} and {MAX_REGION}"
            )));
        }
        let fits = self.x as u64 + self.size as u64 <= width as u64
            && self.y as u64 + self.size as u64 <= height as u64;
        if !fits {
            return Err(bad(format!("does not fit a {width}x{height} frame")));
        }
        Ok(())
    }
}

/// `c(u, x)` for u in 1..=8 (row u−1), x in 0..32.
fn cos_table() -> &'static [[i64; N]; K] {
    static TABLE: OnceLock<[[i64; N]; K]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|row| {
            let u = (row + 1) as f64;
            std::array::from_fn(|x| {
                let angle = std::f64::consts::PI * (2.0 * x as f64 + 1.0) * u / 64.0;
                (angle.cos() * 16384.0).round() as i64
            })
        })
    })
}

/// The pHash of `region` in a `width × height` luma plane.
pub fn phash(luma: &[u8], width: u32, height: u32, region: Region) -> Result<u64, StorageError> {
    region.validate(width, height)?;
    phash_rect(
        luma,
        width,
        height,
        region.x,
        region.y,
        region.size,
        region.size,
    )
}

/// The pHash of the `w × h` rectangle at `(x, y)` of a `width × height` plane:
/// the same steps with blocks of `w/32 × h/32` samples. Chroma regions of 4:2:2
/// segments are rectangles (half as wide as tall); for a square this is [`phash`].
pub fn phash_rect(
    plane: &[u8],
    width: u32,
    height: u32,
    x: u32,
    y: u32,
    w: u32,
    h: u32,
) -> Result<u64, StorageError> {
    let bad = |reason: String| StorageError::Region {
        region: format!("{w}x{h}+{x}+{y}"),
        reason,
    };
    let side_ok = |s: u32| (N as u32..=MAX_REGION).contains(&s) && s.is_multiple_of(N as u32);
    if !side_ok(w) || !side_ok(h) {
        return Err(bad(format!(
            "sides must be multiples of {N} between {N} and {MAX_REGION}"
        )));
    }
    if x as u64 + w as u64 > width as u64 || y as u64 + h as u64 > height as u64 {
        return Err(bad(format!("does not fit a {width}x{height} plane")));
    }
    if plane.len() != width as usize * height as usize {
        return Err(bad(format!(
            "plane has {} bytes, not {width}x{height}",
            plane.len()
        )));
    }
    let blocks = block_sums(plane, width as usize, (x, y, w, h));
    Ok(bits(&dct_low(&blocks)))
}

/// Steps 1 and 2 in one pass, straight from the pixels: the 32×32 block sums of
/// the 7×7 box sums, row-major, for the rectangle `(x, y, w, h)`.
///
/// Both steps only add, so a block's total along a line is the sum over the 7
/// filter taps of a window of the line's prefix sums (edges replicated by
/// extending the line 3 pixels each side): 14 lookups per block instead of a sum
/// per pixel, and no s×s intermediate. Rows are reduced to 32 values each first,
/// then columns of those the same way. `tests::direct_block_sums` is the
/// definition this must equal.
fn block_sums(luma: &[u8], width: usize, (x, y, w, h): (u32, u32, u32, u32)) -> Vec<i64> {
    let (w, h) = (w as usize, h as usize);
    let mut row_blocks = vec![[0i64; N]; h];
    let mut prefix = vec![0i64; w + TAPS];
    for (row_index, out) in row_blocks.iter_mut().enumerate() {
        let start = (y as usize + row_index) * width + x as usize;
        let row = &luma[start..start + w];
        extended_prefix(&mut prefix, |j| row[j] as i64);
        *out = window_sums(&prefix, w / N);
    }
    let mut prefix = vec![0i64; h + TAPS];
    let columns: Vec<[i64; N]> = (0..N)
        .map(|bx| {
            extended_prefix(&mut prefix, |j| row_blocks[j][bx]);
            window_sums(&prefix, h / N)
        })
        .collect();
    // Transpose the columns to row-major.
    (0..N * N).map(|i| columns[i % N][i / N]).collect()
}

/// Filter taps of the mean filter along one axis.
const TAPS: usize = 2 * MEAN_RADIUS as usize + 1;

/// `prefix[j] = Σ_{m<j} ext(m)` with `ext(m) = value(clamp(m − 3))`, for the
/// line of `prefix.len() − 7` values extended by 3 replicated values each side.
fn extended_prefix(prefix: &mut [i64], value: impl Fn(usize) -> i64) {
    let n = prefix.len() - TAPS;
    let radius = MEAN_RADIUS as usize;
    prefix[0] = 0;
    for m in 0..n + TAPS - 1 {
        let v = value(m.saturating_sub(radius).min(n - 1));
        prefix[m + 1] = prefix[m] + v;
    }
}

/// For each of the 32 blocks of `b` values: Σ over the block of the 7-tap box
/// sums, `Σ_t prefix[a+b+t] − prefix[a+t]` for the block starting at `a`.
fn window_sums(prefix: &[i64], b: usize) -> [i64; N] {
    std::array::from_fn(|block| {
        let a = block * b;
        (0..TAPS).map(|t| prefix[a + b + t] - prefix[a + t]).sum()
    })
}

/// The 8×8 lowest non-DC DCT-II coefficients, row-major (v, then u).
fn dct_low(img: &[i64]) -> Vec<i128> {
    let c = cos_table();
    // Rows first: R[y][u] = Σ_x img[y][x]·c(u, x).
    let rows: Vec<[i128; K]> = (0..N)
        .map(|y| {
            std::array::from_fn(|u| {
                (0..N)
                    .map(|x| img[y * N + x] as i128 * c[u][x] as i128)
                    .sum()
            })
        })
        .collect();
    (0..K)
        .flat_map(|v| {
            let rows = &rows;
            (0..K).map(move |u| (0..N).map(|y| rows[y][u] * c[v][y] as i128).sum())
        })
        .collect()
}

/// Bit i set when coefficient i is above the median, MSB first.
fn bits(coeffs: &[i128]) -> u64 {
    let mut sorted = coeffs.to_vec();
    sorted.sort_unstable();
    let twice_median = sorted[31] + sorted[32];
    coeffs
        .iter()
        .enumerate()
        .filter(|(_, c)| 2 * **c > twice_median)
        .fold(0u64, |acc, (i, _)| acc | 1 << (63 - i))
}

/// Number of differing bits.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Steps 1 and 2 as written in the module docs: every pixel's clamped 7×7 sum,
    /// added into its block.
    fn direct_block_sums(
        luma: &[u8],
        width: u32,
        (x0, y0, w, h): (u32, u32, u32, u32),
    ) -> Vec<i64> {
        let (w, h) = (w as i64, h as i64);
        let (bw, bh) = (w / N as i64, h / N as i64);
        let px = |x: i64, y: i64| {
            let x = x0 as i64 + x.clamp(0, w - 1);
            let y = y0 as i64 + y.clamp(0, h - 1);
            luma[(y * width as i64 + x) as usize] as i64
        };
        let mut out = vec![0i64; N * N];
        for y in 0..h {
            for x in 0..w {
                let sum: i64 = (-3..=3)
                    .flat_map(|dy| (-3..=3).map(move |dx| (dx, dy)))
                    .map(|(dx, dy)| px(x + dx, y + dy))
                    .sum();
                out[((y / bh) * N as i64 + x / bw) as usize] += sum;
            }
        }
        out
    }

    #[test]
    fn fast_block_sums_equal_the_definition() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (w, h) = (300u32, 200u32);
        let luma: Vec<u8> = (0..w * h).map(|_| rng.gen()).collect();
        for (x, y, size) in [
            (0, 0, 32),
            (268, 168, 32),
            (5, 7, 64),
            (100, 3, 96),
            (1, 2, 192),
        ] {
            let r = (x, y, size, size);
            assert_eq!(
                block_sums(&luma, w as usize, r),
                direct_block_sums(&luma, w, r),
                "{r:?}"
            );
        }
        // Rectangles: the chroma regions of 4:2:2 (half as wide as tall).
        for r in [(0, 0, 32, 64), (7, 3, 64, 128), (236, 8, 64, 192)] {
            assert_eq!(
                block_sums(&luma, w as usize, r),
                direct_block_sums(&luma, w, r),
                "{r:?}"
            );
        }
    }

    /// Pins the hash itself (not only its parts): values computed with the
    /// definition above; a change here changes every registered root.
    #[test]
    fn hashes_are_pinned() {
        let (w, h) = (640u32, 520u32);
        let luma: Vec<u8> = (0..h)
            .flat_map(|y| (0..w).map(move |x| ((x * 7 + y * 13 + (x * y) % 31) % 256) as u8))
            .collect();
        let smooth = smooth_random(w, h, 42);
        let cases = [
            (
                &luma,
                Region {
                    x: 0,
                    y: 0,
                    size: 32,
                },
                PINNED[0],
            ),
            (
                &luma,
                Region {
                    x: 17,
                    y: 5,
                    size: 256,
                },
                PINNED[1],
            ),
            (
                &luma,
                Region {
                    x: 128,
                    y: 8,
                    size: 512,
                },
                PINNED[2],
            ),
            (
                &smooth,
                Region {
                    x: 3,
                    y: 1,
                    size: 160,
                },
                PINNED[3],
            ),
            (
                &smooth,
                Region {
                    x: 64,
                    y: 0,
                    size: 512,
                },
                PINNED[4],
            ),
        ];
        for (plane, region, expected) in cases {
            let got = phash(plane, w, h, region).unwrap();
            assert_eq!(got, expected, "{region}: got {got:#018x}");
        }
    }

    const PINNED: [u64; 5] = [
        0x62892f5de05b17f0,
        0x15c711ff54fd802a,
        0x2c361b97497455da,
        0x654a72e04a175f97,
        0x5af0a62865cda5cd,
    ];

    /// The textbook definition in floating point: mean filter (averages), area
    /// resize (averages), orthonormal 2-D DCT-II, median threshold.
    fn reference(luma: &[u8], width: u32, r: Region) -> u64 {
        let s = r.size as i64;
        let px = |x: i64, y: i64| {
            let x = r.x as i64 + x.clamp(0, s - 1);
            let y = r.y as i64 + y.clamp(0, s - 1);
            luma[(y * width as i64 + x) as usize] as f64
        };
        let mean = |x: i64, y: i64| {
            let mut acc = 0.0;
            for dy in -3..=3 {
                for dx in -3..=3 {
                    acc += px(x + dx, y + dy);
                }
            }
            acc / 49.0
        };
        let b = s / 32;
        let mut small = vec![0.0f64; 32 * 32];
        for y in 0..s {
            for x in 0..s {
                small[((y / b) * 32 + x / b) as usize] += mean(x, y) / (b * b) as f64;
            }
        }
        let n = 32.0f64;
        let alpha = |k: usize| {
            if k == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            }
        };
        let mut coeffs = vec![];
        for v in 1..=8usize {
            for u in 1..=8usize {
                let mut acc = 0.0;
                for y in 0..32 {
                    for x in 0..32 {
                        acc += small[y * 32 + x]
                            * (std::f64::consts::PI * (2 * x + 1) as f64 * u as f64 / 64.0).cos()
                            * (std::f64::consts::PI * (2 * y + 1) as f64 * v as f64 / 64.0).cos();
                    }
                }
                coeffs.push(acc * alpha(u) * alpha(v));
            }
        }
        let mut sorted = coeffs.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let median = (sorted[31] + sorted[32]) / 2.0;
        coeffs
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > median)
            .fold(0u64, |acc, (i, _)| acc | 1 << (63 - i))
    }

    fn smooth_random(w: u32, h: u32, seed: u64) -> Vec<u8> {
        // Low-frequency content (sums of a few random cosines), like real frames.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let waves: Vec<(f64, f64, f64, f64)> = (0..6)
            .map(|_| {
                (
                    rng.gen_range(0.0..0.1),
                    rng.gen_range(0.0..0.1),
                    rng.gen_range(0.0..std::f64::consts::TAU),
                    rng.gen_range(10.0..40.0),
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

    #[test]
    fn integer_hash_equals_the_floating_point_definition() {
        let (w, h) = (200u32, 150u32);
        let mut matched = 0;
        for seed in 0..12 {
            let luma = smooth_random(w, h, seed);
            for region in [
                Region {
                    x: 0,
                    y: 0,
                    size: 64,
                },
                Region {
                    x: 37,
                    y: 11,
                    size: 96,
                },
                Region {
                    x: 72,
                    y: 22,
                    size: 128,
                },
            ] {
                let ours = phash(&luma, w, h, region).unwrap();
                let theirs = reference(&luma, w, region);
                // Rounding the cosine table can only matter for coefficients that
                // sit on the median; allow no more than one such bit.
                assert!(
                    hamming(ours, theirs) <= 1,
                    "{region}: {ours:016x} vs {theirs:016x}"
                );
                matched += u32::from(ours == theirs);
                assert_eq!(ours.count_ones(), 32, "half the bits are above the median");
            }
        }
        assert!(matched >= 34, "only {matched}/36 identical");
    }

    #[test]
    fn cos_table_is_pinned() {
        let t = cos_table();
        assert_eq!(t[0][0], 16364); // round(16384·cos(π/64))
        assert_eq!(t[0][31], -16364);
        assert_eq!(t[7][0], 15137); // round(16384·cos(8π/64))
        let checksum: i64 = t
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| (i as i64 + 1) * v)
            .sum();
        assert_eq!(checksum, PINNED_CHECKSUM);
    }

    /// Σ (i+1)·table_i: catches a platform whose `cos` rounds differently.
    const PINNED_CHECKSUM: i64 = -3_977_368;

    #[test]
    fn regions_are_validated() {
        let luma = vec![0u8; 100 * 80];
        for (r, msg) in [
            (
                Region {
                    x: 0,
                    y: 0,
                    size: 48,
                },
                "multiple of 32",
            ),
            (
                Region {
                    x: 0,
                    y: 0,
                    size: 0,
                },
                "multiple of 32",
            ),
            (
                Region {
                    x: 40,
                    y: 0,
                    size: 64,
                },
                "does not fit",
            ),
            (
                Region {
                    x: 0,
                    y: 20,
                    size: 64,
                },
                "does not fit",
            ),
            (
                Region {
                    x: 0,
                    y: 0,
                    size: 1024,
                },
                "multiple of 32",
            ),
        ] {
            let e = phash(&luma, 100, 80, r).unwrap_err().to_string();
            assert!(e.contains(msg), "{r}: {e}");
        }
        assert!(phash(
            &luma[..10],
            100,
            80,
            Region {
                x: 0,
                y: 0,
                size: 32
            }
        )
        .is_err());
    }

    #[test]
    fn hashes_are_stable_under_noise_and_differ_between_images() {
        let (w, h) = (160u32, 160u32);
        let region = Region {
            x: 16,
            y: 16,
            size: 128,
        };
        let a = smooth_random(w, h, 100);
        let b = smooth_random(w, h, 101);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let noisy: Vec<u8> = a
            .iter()
            .map(|v| (*v as i32 + rng.gen_range(-6..=6)).clamp(0, 255) as u8)
            .collect();
        let ha = phash(&a, w, h, region).unwrap();
        let near = hamming(ha, phash(&noisy, w, h, region).unwrap());
        let far = hamming(ha, phash(&b, w, h, region).unwrap());
        assert!(near <= 4, "noise moved {near} bits");
        assert!(far >= 16, "different images only {far} bits apart");
    }
}
