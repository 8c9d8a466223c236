//! [`crate::phash::phash`] in R1CS: the same 64 bits from the region's pixel
//! witnesses, for the one-step mismatch proof ([`crate::mismatch`]).
//!
//! Everything up to the DCT coefficients is linear in the pixels (the 7×7 clamped
//! box sums, the block sums and the integer cosine table are all fixed integer
//! weights), so those steps cost no products:
//! - each of the 32×32 block sums `B` is one variable, equal to a linear
//!   combination of the pixels (the box filter and the block sum factor per axis:
//!   a pixel's weight is `a_by(y)·a_bx(x)`, the number of (block pixel, tap) pairs
//!   whose clamped coordinate lands on it) — 1024 constraints;
//! - each of the 64 coefficients `C` is one variable, a combination of the `B`s with
//!   the products of cosine entries as weights — 64 constraints.
//!
//! The median rule is enforced without sorting. The prover supplies `lo` and `hi`,
//! claimed to be the 32nd and 33rd smallest coefficients, and the circuit counts
//! comparisons: `#{C_j < lo} ≤ 31` and `#{C_j ≤ lo} ≥ 32` hold for exactly one
//! integer `lo`, the 32nd smallest (a smaller `lo` has at most 31 coefficients at
//! or below it, a larger one at least 32 below it), and likewise `#{C_j < hi} ≤ 32`,
//! `#{C_j ≤ hi} ≥ 33` for the 33rd. So no selector of *which* coefficient is the
//! median is needed: the counts alone pin the value, ties included. Bit `i` is then
//! the comparison `lo + hi < 2·C_i`, exactly `phash.rs`'s `2·C_i > sorted[31] +
//! sorted[32]`.
//!
//! A comparison `[a < b]` is a prover bit `t` and one range check:
//! `t ? b − a − 1 : a − b` must lie in `[0, 2⁶⁴)`. With byte pixels and sides up to
//! 512, `|B| < 2²²`, `|C| < 2²²·2¹⁹·2¹⁹ = 2⁶⁰` and every compared difference is
//! below 2⁶², so the true difference always fits and a false bit would need a
//! difference ≥ p − 2⁶³ to pass: impossible. Callers must range-check the pixels
//! to bytes (the commitment openings need that anyway).

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use mpegs_zk::range::enforce_range;
use mpegs_zk::{Builder, Num, SynthesisError};

/// Side of the resized image.
const N: usize = 32;
/// Lowest frequencies kept per axis.
const K: usize = 8;
/// Taps of the mean filter along one axis (radius 3).
const TAPS: usize = 7;
/// Range of every compared difference (see the module docs).
const DIFF_BITS: usize = 64;
/// Range of a count slack (counts are at most 64).
const COUNT_BITS: usize = 7;

/// What the prover claims beyond the linear part: the two order statistics and the
/// 64 bits (MSB first, as [`crate::phash::phash`] packs them). The honest values
/// come from [`Hint::honest`]; tests hand tampered ones to [`phash_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hint {
    pub lo: i128,
    pub hi: i128,
    pub bits: u64,
}

impl Hint {
    /// The honest hint for 64 coefficients (row-major).
    pub fn honest(coeffs: &[i128]) -> Self {
        let mut sorted = coeffs.to_vec();
        sorted.sort_unstable();
        let (lo, hi) = (sorted[31], sorted[32]);
        let bits = coeffs
            .iter()
            .enumerate()
            .filter(|(_, c)| 2 * **c > lo + hi)
            .fold(0u64, |acc, (i, _)| acc | 1 << (63 - i));
        Self { lo, hi, bits }
    }
}

/// The cosine table of `phash.rs` (`round(2¹⁴·cos(π(2x+1)u/64))`, u = 1..=8), by
/// the same formula; the gadget's tests against the native hash pin it.
fn cos_table() -> [[i64; N]; K] {
    std::array::from_fn(|row| {
        let u = (row + 1) as f64;
        std::array::from_fn(|x| {
            let angle = std::f64::consts::PI * (2.0 * x as f64 + 1.0) * u / 64.0;
            (angle.cos() * 16384.0).round() as i64
        })
    })
}

/// Per block along one axis of a side-`s` region: the pixels it draws on and how
/// often (pairs of a block pixel and a filter tap whose clamped coordinate is it).
fn axis_weights(s: usize) -> Vec<Vec<(usize, u64)>> {
    let bs = s / N;
    (0..N)
        .map(|block| {
            let mut w = vec![0u64; s];
            for m in block * bs..(block + 1) * bs {
                for t in 0..TAPS {
                    w[(m + t).saturating_sub(TAPS / 2).min(s - 1)] += 1;
                }
            }
            w.into_iter().enumerate().filter(|(_, c)| *c > 0).collect()
        })
        .collect()
}

/// A field element read as a signed integer (values here are far below 2¹²⁷;
/// anything else reads as `i128::MAX`).
pub fn signed_value(v: Fr) -> i128 {
    let small = |f: Fr| {
        let b = f.into_bigint();
        (b.num_bits() <= 126).then(|| {
            let limbs = b.as_ref();
            (limbs[0] as i128) | ((limbs[1] as i128) << 64)
        })
    };
    small(v)
        .or_else(|| small(-v).map(|m| -m))
        .unwrap_or(i128::MAX)
}

/// A new variable equal to `lc` (one constraint): keeps later combinations short.
fn pin(b: &Builder, lc: &Num) -> Result<Num, SynthesisError> {
    let v = b.witness(lc.value)?;
    b.enforce_equal(&v, lc)?;
    Ok(v)
}

/// The bit `[a < c]` with the prover's claim `claim` (None: the true value).
fn less(b: &Builder, a: &Num, c: &Num, claim: Option<bool>) -> Result<Num, SynthesisError> {
    let truth = a
        .value
        .zip(c.value)
        .map(|(a, c)| signed_value(a) < signed_value(c));
    let t = b.bit(claim.or(truth))?;
    // t ? c − a − 1 : a − c  =  (a − c) + t·(2(c − a) − 1)
    let flip = b.mul(
        &t,
        &c.sub(a).scale(Fr::from(2u64)).add_const(-Fr::from(1u64)),
    )?;
    enforce_range(b, &a.sub(c).add(&flip), DIFF_BITS)?;
    Ok(t)
}

/// Checks a region side and pixel count the way `Region::validate` does.
fn check_shape(pixels: usize, size: u32) -> Result<usize, SynthesisError> {
    let s = size as usize;
    let ok = (N..=crate::phash::MAX_REGION as usize).contains(&s)
        && s.is_multiple_of(N)
        && pixels == s * s;
    ok.then_some(s).ok_or(SynthesisError::Unsatisfiable)
}

/// The 64 DCT coefficient variables of a side-`size` region's pixels (row-major).
pub fn coefficients(b: &Builder, pixels: &[Num], size: u32) -> Result<Vec<Num>, SynthesisError> {
    let s = check_shape(pixels.len(), size)?;
    let w = axis_weights(s);
    // Rows reduced to the 32 horizontal blocks first (free), then columns.
    let rows: Vec<Vec<Num>> = (0..s)
        .map(|y| {
            w.iter()
                .map(|wx| Num::sum(wx.iter().map(|(x, c)| (Fr::from(*c), &pixels[y * s + x]))))
                .collect()
        })
        .collect();
    let mut blocks = Vec::with_capacity(N * N);
    for wy in &w {
        for bx in 0..N {
            let lc = Num::sum(wy.iter().map(|(y, c)| (Fr::from(*c), &rows[*y][bx])));
            blocks.push(pin(b, &lc)?);
        }
    }
    let cos = cos_table();
    // R[y][u] = Σ_x c(u, x)·B[y][x], then C[v][u] = Σ_y c(v, y)·R[y][u].
    let by_row: Vec<Vec<Num>> = (0..N)
        .map(|y| {
            (0..K)
                .map(|u| Num::sum((0..N).map(|x| (Fr::from(cos[u][x]), &blocks[y * N + x]))))
                .collect()
        })
        .collect();
    let mut coeffs = Vec::with_capacity(K * K);
    for cv in &cos {
        for u in 0..K {
            let lc = Num::sum((0..N).map(|y| (Fr::from(cv[y]), &by_row[y][u])));
            coeffs.push(pin(b, &lc)?);
        }
    }
    Ok(coeffs)
}

/// The pHash of a side-`size` region (pixels row-major, each range-checked to a
/// byte by the caller) as one variable holding the packed 64 bits.
pub fn phash(b: &Builder, pixels: &[Num], size: u32) -> Result<Num, SynthesisError> {
    phash_with(b, pixels, size, |h| h)
}

/// [`phash`] with the prover's hint passed through `tamper` first (tests use it to
/// show a dishonest hint is unsatisfiable; provers pass the identity).
pub fn phash_with(
    b: &Builder,
    pixels: &[Num],
    size: u32,
    tamper: impl FnOnce(Hint) -> Hint,
) -> Result<Num, SynthesisError> {
    let coeffs = coefficients(b, pixels, size)?;
    let values: Option<Vec<i128>> = coeffs.iter().map(|c| c.value.map(signed_value)).collect();
    let hint = values.map(|v| tamper(Hint::honest(&v)));
    let lo = b.witness(hint.map(|h| Fr::from(h.lo)))?;
    let hi = b.witness(hint.map(|h| Fr::from(h.hi)))?;
    let one = Fr::from(1u64);
    let count = |bound: &Num| -> Result<Num, SynthesisError> {
        let bits = coeffs
            .iter()
            .map(|c| less(b, c, bound, None))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Num::sum(bits.iter().map(|t| (one, t))))
    };
    // lo is the 32nd smallest, hi the 33rd (ranks 31 and 32 from 0).
    for (stat, rank) in [(&lo, 31u64), (&hi, 32)] {
        let below = count(stat)?;
        let at_or_below = count(&stat.add_const(one))?;
        enforce_range(b, &Num::from_u64(rank).sub(&below), COUNT_BITS)?;
        enforce_range(b, &at_or_below.add_const(-Fr::from(rank + 1)), COUNT_BITS)?;
    }
    let threshold = lo.add(&hi);
    let mut packed = Num::zero();
    for (i, c) in coeffs.iter().enumerate() {
        let claim = hint.map(|h| (h.bits >> (63 - i)) & 1 == 1);
        let bit = less(b, &threshold, &c.scale(Fr::from(2u64)), claim)?;
        packed = packed.add(&bit.scale(Fr::from(1u64 << (63 - i))));
    }
    Ok(packed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_round_trip() {
        for v in [0i128, 1, -1, 1 << 62, -(1 << 62), 123_456_789_012_345] {
            assert_eq!(signed_value(Fr::from(v)), v);
        }
    }

    #[test]
    fn axis_weights_count_every_tap() {
        for s in [32usize, 64, 512] {
            let w = axis_weights(s);
            let total: u64 = w.iter().flatten().map(|(_, c)| c).sum();
            assert_eq!(total as usize, s * TAPS, "side {s}");
        }
        // Side 32 (one pixel a block): pixel 0 is tapped by itself and, replicated,
        // by the three taps left of the edge.
        assert_eq!(axis_weights(32)[0][0], (0, 4));
        {}
    }
}
