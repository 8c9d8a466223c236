//! FFmpeg's integer SSIM (libavfilter `vf_ssim`, from x264), natively and as the
//! exact integer score the circuit proves.
//!
//! 4×4 blocks give sums `s1 = Σa, s2 = Σb, ss = Σa² + Σb², s12 = Σab`; each 8×8
//! window (2×2 blocks, stride 4) combines four of them and scores
//!
//! ```text
//!        (2·s1·s2 + c1) · (2·(64·s12 − s1·s2) + c2)
//! SSIM = ------------------------------------------------   c1 = 416, c2 = 235963
//!        (s1² + s2² + c1) · (64·ss − s1² − s2² + c2)
//! ```
//!
//! [`frame_ssim`] reproduces ffmpeg's arithmetic — each factor rounded to f32, the
//! ratio in f32, sums in f64 — so it prints what `ffmpeg -lavfi ssim` prints.
//! [`macroblock_score`] is the proof's statement: for the windows of a 16×16
//! macroblock that lie inside the frame (all 9 of an interior one, fewer at the
//! right and bottom edges: [`crate::grid`]), `Σ floor(2¹⁶·N/D)` with N, D the
//! exact integers above. The circuit checks each floor by cross-multiplication,
//! never dividing.

use crate::grid::Windows;

/// `(int)(.01·.01·255·255·64 + .5)`.
pub const C1: i64 = 416;
/// `(int)(.03·.03·255·255·64·63 + .5)`.
pub const C2: i64 = 235_963;
/// Fixed-point bits of a window's score.
pub const SCORE_BITS: u32 = 16;
/// Macroblock side.
pub const MB: usize = 16;
/// 8×8 windows at stride 4 inside a macroblock: 3 × 3.
pub const WINDOWS: usize = 9;

/// The four sums of a 4×4 block (or of a window: four blocks added).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sums {
    pub s1: i64,
    pub s2: i64,
    pub ss: i64,
    pub s12: i64,
}

impl std::ops::Add for Sums {
    type Output = Sums;
    fn add(self, o: Sums) -> Sums {
        Sums {
            s1: self.s1 + o.s1,
            s2: self.s2 + o.s2,
            ss: self.ss + o.ss,
            s12: self.s12 + o.s12,
        }
    }
}

impl Sums {
    /// The window's (numerator factors, denominator factors):
    /// `((2·s1·s2 + c1, 2·covar + c2), (s1² + s2² + c1, vars + c2))`.
    pub fn factors(&self) -> ((i64, i64), (i64, i64)) {
        let vars = self.ss * 64 - self.s1 * self.s1 - self.s2 * self.s2;
        let covar = self.s12 * 64 - self.s1 * self.s2;
        (
            (2 * self.s1 * self.s2 + C1, 2 * covar + C2),
            (self.s1 * self.s1 + self.s2 * self.s2 + C1, vars + C2),
        )
    }

    /// ffmpeg's `ssim_end1`: every factor converted to f32, products and ratio in f32.
    fn ffmpeg_ratio(&self) -> f32 {
        let ((n1, n2), (d1, d2)) = self.factors();
        (n1 as f32 * n2 as f32) / (d1 as f32 * d2 as f32)
    }

    /// `floor(2¹⁶ · N / D)`, exactly.
    pub fn fixed_score(&self) -> i64 {
        let ((n1, n2), (d1, d2)) = self.factors();
        let n = n1 as i128 * n2 as i128;
        let d = d1 as i128 * d2 as i128;
        ((n << SCORE_BITS).div_euclid(d)) as i64
    }
}

/// Sums of the 4×4 block whose top-left corner is (x, y).
fn block(a: &[u8], b: &[u8], stride: usize, x: usize, y: usize) -> Sums {
    let mut s = Sums::default();
    for row in y..y + 4 {
        for col in x..x + 4 {
            let (p, q) = (a[row * stride + col] as i64, b[row * stride + col] as i64);
            s.s1 += p;
            s.s2 += q;
            s.ss += p * p + q * q;
            s.s12 += p * q;
        }
    }
    s
}

/// SSIM of two `width × height` luma planes exactly as ffmpeg computes it (the
/// `Y:` value of `-lavfi ssim`). Planes must be at least 8×8.
pub fn frame_ssim(a: &[u8], b: &[u8], width: usize, height: usize) -> f64 {
    let (wb, hb) = (width / 4, height / 4);
    assert!(wb >= 2 && hb >= 2, "SSIM needs at least 8x8 pixels");
    assert!(a.len() >= width * height && b.len() >= width * height);
    let line =
        |z: usize| -> Vec<Sums> { (0..wb).map(|x| block(a, b, width, 4 * x, 4 * z)).collect() };
    let mut total = 0.0f64;
    let mut previous = line(0);
    for y in 1..hb {
        let current = line(y);
        let mut line_sum = 0.0f64;
        for i in 0..wb - 1 {
            let window = current[i] + current[i + 1] + previous[i] + previous[i + 1];
            line_sum += window.ffmpeg_ratio() as f64;
        }
        total += line_sum;
        previous = current;
    }
    total / ((hb - 1) * (wb - 1)) as f64
}

/// The 16 block sums of a macroblock (row-major 4×4 grid) from its 256 source and
/// 256 rendition pixels (row-major 16×16).
pub fn macroblock_blocks(a: &[u8], b: &[u8]) -> [Sums; 16] {
    std::array::from_fn(|i| block(a, b, MB, 4 * (i % 4), 4 * (i / 4)))
}

/// The 9 windows of a macroblock, row-major, from its block sums.
pub fn macroblock_windows(blocks: &[Sums; 16]) -> [Sums; WINDOWS] {
    std::array::from_fn(|w| {
        let (x, y) = (w % 3, w / 3);
        blocks[y * 4 + x]
            + blocks[y * 4 + x + 1]
            + blocks[(y + 1) * 4 + x]
            + blocks[(y + 1) * 4 + x + 1]
    })
}

/// The proven score of a macroblock: `Σ floor(2¹⁶·N_w/D_w)` over the windows that
/// count (those inside the frame; padding would score as a perfect match).
pub fn macroblock_score(a: &[u8], b: &[u8], windows: Windows) -> i64 {
    macroblock_windows(&macroblock_blocks(a, b))
        .iter()
        .enumerate()
        .filter(|(w, _)| windows.contains(*w))
        .map(|(_, s)| s.fixed_score())
        .sum()
}

/// Whether a score over `windows` meets the fixed-point threshold `tau`: at
/// least `tau` per window that counts, as the circuit checks it.
pub fn passes(score: i64, windows: Windows, tau: i64) -> bool {
    score >= windows.count() as i64 * tau
}

/// The public threshold as the circuit uses it: `round(t · 2¹⁶)`; a macroblock
/// passes when its score is at least this times its counted windows.
pub fn threshold_fixed(t: f64) -> Option<i64> {
    (t.is_finite() && t > 0.0 && t <= 1.0).then(|| (t * (1u64 << SCORE_BITS) as f64).round() as i64)
}

/// A macroblock's score as an SSIM value (mean of the windows that count).
pub fn score_to_ssim(score: i64, windows: Windows) -> f64 {
    score as f64 / (windows.count().max(1) as f64 * (1u64 << SCORE_BITS) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn constants_are_ffmpegs() {
        assert_eq!(C1, (0.01f64 * 0.01 * 255.0 * 255.0 * 64.0 + 0.5) as i64);
        assert_eq!(
            C2,
            (0.03f64 * 0.03 * 255.0 * 255.0 * 64.0 * 63.0 + 0.5) as i64
        );
    }

    #[test]
    fn identical_blocks_score_one_and_scores_track_the_float_ratio() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let a: Vec<u8> = (0..256).map(|_| rng.gen()).collect();
        assert_eq!(macroblock_score(&a, &a, Windows::ALL), 9 << SCORE_BITS);
        for noise in [2i32, 20, 80] {
            let b: Vec<u8> = a
                .iter()
                .map(|v| (*v as i32 + rng.gen_range(-noise..=noise)).clamp(0, 255) as u8)
                .collect();
            for w in macroblock_windows(&macroblock_blocks(&a, &b)) {
                let exact = w.fixed_score() as f64 / 65536.0;
                assert!((exact - w.ffmpeg_ratio() as f64).abs() < 1e-4, "{exact}");
            }
            assert!(macroblock_score(&a, &b, Windows::ALL) < 9 << SCORE_BITS);
        }
    }

    #[test]
    fn anticorrelated_blocks_score_negative() {
        let a: Vec<u8> = (0..256).map(|i| (i % 16 * 16) as u8).collect();
        let b: Vec<u8> = a.iter().map(|v| 255 - v).collect();
        assert!(macroblock_score(&a, &b, Windows::ALL) < 0);
    }

    #[test]
    fn padding_does_not_count_as_a_perfect_match() {
        // A bottom-edge macroblock with 8 rows in the frame, zero-padded below in
        // both videos, and a rendition that is garbage in those 8 rows.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut a = vec![0u8; 256];
        let mut b = vec![0u8; 256];
        for i in 0..128 {
            a[i] = rng.gen();
            b[i] = rng.gen();
        }
        let inside = Windows { cols: 3, rows: 1 };
        let score = macroblock_score(&a, &b, inside);
        assert!(score_to_ssim(score, inside) < 0.2);
        // All 9 windows would hide it: the 3 fully padded ones score exactly 1.
        let padded = macroblock_score(&a, &b, Windows::ALL);
        assert!(score_to_ssim(padded, Windows::ALL) > 0.25);
        let tau = threshold_fixed(0.25).unwrap();
        assert!(passes(padded, Windows::ALL, tau) && !passes(score, inside, tau));
    }

    #[test]
    fn thresholds_are_validated() {
        assert_eq!(threshold_fixed(0.9), Some(58982));
        assert_eq!(threshold_fixed(1.0), Some(65536));
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            assert_eq!(threshold_fixed(bad), None);
        }
    }
}
