//! Multi-scalar multiplication for the prover: Pippenger with signed digits and
//! batch-affine bucket accumulation.
//!
//! arkworks' MSM adds each point into its bucket in projective coordinates (a mixed
//! addition, about 11 field multiplications). Here the additions of a window are
//! queued and done a batch at a time in affine coordinates: `λ = (y₂ − y₁)/(x₂ − x₁)`
//! with all the batch's denominators inverted at once (Montgomery's trick), about 6
//! multiplications an addition. A bucket that already has an addition pending in
//! the batch waits for the next one. Windows run in parallel; each window's
//! buckets are summed with the usual running sum, and windows are combined by
//! doubling. BENCHMARKS.md has the measured speed-up over arkworks 0.6.
//!
//! Scalars above r/2 are taken as `−(r − s)` with the base negated, so small
//! negative values cost as little as small positive ones; zero digits cost nothing.

use ark_ec::short_weierstrass::{Affine, Projective, SWCurveConfig};
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup};
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use rayon::prelude::*;

/// `Σ scalars[i]·bases[i]` (the shorter length of the two is used).
pub fn msm<P: SWCurveConfig>(bases: &[Affine<P>], scalars: &[P::ScalarField]) -> Projective<P> {
    let n = bases.len().min(scalars.len());
    if n == 0 {
        return Projective::zero();
    }
    let modulus = P::ScalarField::MODULUS;
    let half = {
        let mut h = modulus;
        h.div2();
        h
    };
    // Each scalar as (negated?, magnitude); zeros are dropped.
    let terms: Vec<(usize, bool, <P::ScalarField as PrimeField>::BigInt)> = scalars[..n]
        .par_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let k = s.into_bigint();
            if k.is_zero() || bases[i].is_zero() {
                return None;
            }
            if k > half {
                let mut m = modulus;
                m.sub_with_borrow(&k);
                Some((i, true, m))
            } else {
                Some((i, false, k))
            }
        })
        .collect();
    // Small magnitudes (bytes, limbs, counts) need few windows: run them apart, with
    // a window size of their own, so the big scalars' many windows do not pay
    // bucket sums for them.
    let (small, big): (Vec<_>, Vec<_>) = terms
        .into_iter()
        .partition(|(_, _, k)| k.num_bits() <= SMALL_BITS);
    let (a, b) = rayon::join(|| small_msm(bases, &small), || pippenger(bases, &big));
    a + b
}

/// Small magnitudes take arkworks' MSM, which sums the points of each value and
/// then weighs the sums (about one addition a point).
fn small_msm<P: SWCurveConfig, B: BigInteger>(
    bases: &[Affine<P>],
    terms: &[(usize, bool, B)],
) -> Projective<P> {
    let points: Vec<Affine<P>> = terms
        .iter()
        .map(|(i, negated, _)| if *negated { -bases[*i] } else { bases[*i] })
        .collect();
    let scalars: Vec<u16> = terms.iter().map(|(_, _, k)| k.as_ref()[0] as u16).collect();
    <Projective<P> as ark_ec::VariableBaseMSM>::msm_u16(&points, &scalars)
}

/// Magnitudes of at most this many bits are "small".
const SMALL_BITS: u32 = 16;

/// Below this many big terms a window's batch holds only a few additions (its
/// buckets are few), so each inversion pays for too little: arkworks' projective
/// Pippenger is faster there (the verifier's per-key sums over a few hundred
/// proofs spent 16 % of verification in inversions before this cut-off).
const BATCH_AFFINE_MIN_TERMS: usize = 1 << 12;

fn pippenger<P: SWCurveConfig, B: BigInteger>(
    bases: &[Affine<P>],
    terms: &[(usize, bool, B)],
) -> Projective<P> {
    if terms.is_empty() {
        return Projective::zero();
    }
    if terms.len() < BATCH_AFFINE_MIN_TERMS {
        let points: Vec<Affine<P>> = terms
            .iter()
            .map(|(i, negated, _)| if *negated { -bases[*i] } else { bases[*i] })
            .collect();
        let scalars: Vec<<P::ScalarField as PrimeField>::BigInt> = terms
            .iter()
            .map(|(_, _, k)| {
                let mut limbs = <P::ScalarField as PrimeField>::BigInt::default();
                limbs.as_mut().copy_from_slice(k.as_ref());
                limbs
            })
            .collect();
        return <Projective<P> as ark_ec::VariableBaseMSM>::msm_bigint(&points, &scalars);
    }
    let bits = terms
        .iter()
        .map(|(_, _, k)| k.num_bits())
        .max()
        .unwrap_or(1) as usize;
    let c = window_bits(terms.len()).min(bits.max(1));
    // One extra window for the carry out of the top signed digit.
    let windows = bits.div_ceil(c) + 1;
    let digits = signed_digits(terms, c, windows);
    let sums: Vec<Projective<P>> = (0..windows)
        .into_par_iter()
        .map(|w| {
            window_sum(
                bases,
                terms,
                &digits[w * terms.len()..(w + 1) * terms.len()],
                c,
            )
        })
        .collect();
    let mut acc = Projective::<P>::zero();
    for s in sums.iter().rev() {
        for _ in 0..c {
            acc.double_in_place();
        }
        acc += s;
    }
    acc
}

/// The window width for `n` terms: about log₂ n − 5 (measured best at 2^16). Batch-affine additions make
/// the accumulation cheap next to the running sums of the buckets (2^c projective
/// additions a window), so windows are narrower than arkworks'.
fn window_bits(n: usize) -> usize {
    let log = usize::BITS - n.leading_zeros();
    (log as usize).saturating_sub(5).clamp(3, 16)
}

/// Window-major signed digits in `[−2^(c−1), 2^(c−1)]`, one per term per window.
fn signed_digits<B: BigInteger>(terms: &[(usize, bool, B)], c: usize, windows: usize) -> Vec<i32> {
    let n = terms.len();
    let mut digits = vec![0i32; n * windows];
    let full = 1i64 << c;
    let half = 1i64 << (c - 1);
    let mask = (1u64 << c) - 1;
    for (t, (_, _, k)) in terms.iter().enumerate() {
        let limbs = k.as_ref();
        let bits = |at: usize| -> u64 {
            // c bits starting at bit `at` (c ≤ 16, so at most two limbs).
            let (limb, shift) = (at / 64, at % 64);
            let lo = limbs.get(limb).copied().unwrap_or(0) >> shift;
            let hi = if shift + c > 64 {
                limbs.get(limb + 1).copied().unwrap_or(0) << (64 - shift)
            } else {
                0
            };
            (lo | hi) & mask
        };
        let mut carry = 0i64;
        for w in 0..windows {
            let mut v = bits(w * c) as i64 + carry;
            if v > half {
                v -= full;
                carry = 1;
            } else {
                carry = 0;
            }
            digits[w * n + t] = v as i32;
        }
    }
    digits
}

/// One window: sort the window's points into their buckets, sum each bucket by
/// halving (all buckets' pairs added in one batch, one inversion a level), then
/// the running sum `Σ k·bucket_k`.
fn window_sum<P: SWCurveConfig, B: BigInteger>(
    bases: &[Affine<P>],
    terms: &[(usize, bool, B)],
    digits: &[i32],
    c: usize,
) -> Projective<P> {
    let buckets = 1usize << (c - 1);
    // Counting sort by bucket.
    let mut starts = vec![0u32; buckets + 1];
    for &d in digits {
        if d != 0 {
            starts[d.unsigned_abs() as usize] += 1;
        }
    }
    for k in 1..=buckets {
        starts[k] += starts[k - 1];
    }
    let mut points = vec![Affine::<P>::identity(); starts[buckets] as usize];
    let mut fill = starts.clone();
    for ((i, negated, _), &d) in terms.iter().zip(digits) {
        if d == 0 {
            continue;
        }
        let k = d.unsigned_abs() as usize - 1;
        let p = bases[*i];
        points[fill[k] as usize] = if negated ^ (d < 0) { -p } else { p };
        fill[k] += 1;
    }
    let lens: Vec<u32> = (0..buckets).map(|k| starts[k + 1] - starts[k]).collect();
    let sums = reduce_buckets(&mut points, &starts, lens);
    // Running sum: Σ (k+1)·bucket_k.
    let mut running = Projective::<P>::zero();
    let mut total = Projective::<P>::zero();
    for b in sums.iter().rev() {
        if let Some(b) = b {
            running += b;
        }
        total += running;
    }
    total
}

/// Sums the points of each bucket (`points[starts[k]..][..lens[k]]`) in place,
/// halving all buckets together: each level adds disjoint pairs in affine
/// coordinates with one batch inversion for the whole level, and writes each sum
/// over the first of its pair's slots.
fn reduce_buckets<P: SWCurveConfig>(
    points: &mut [Affine<P>],
    starts: &[u32],
    mut lens: Vec<u32>,
) -> Vec<Option<Affine<P>>> {
    let buckets = lens.len();
    let mut inverses: Vec<P::BaseField> = Vec::with_capacity(points.len() / 2);
    loop {
        if lens.iter().all(|l| *l <= 1) {
            break;
        }
        inverses.clear();
        for k in 0..buckets {
            let lo = starts[k] as usize;
            for j in 0..(lens[k] as usize / 2) {
                let (p, q) = (&points[lo + 2 * j], &points[lo + 2 * j + 1]);
                let d = q.x - p.x;
                // Equal x (a doubling, or P + (−P)) takes the slow path. No point here
                // is infinity: zero bases are dropped and zero sums removed.
                inverses.push(if d.is_zero() { P::BaseField::ONE } else { d });
            }
        }
        ark_ff::batch_inversion(&mut inverses);
        let mut pair = 0;
        for k in 0..buckets {
            let lo = starts[k] as usize;
            let len = lens[k] as usize;
            let mut out = lo;
            for j in 0..len / 2 {
                let (p, q) = (points[lo + 2 * j], points[lo + 2 * j + 1]);
                let inv = inverses[pair];
                pair += 1;
                let sum = if p.x == q.x {
                    (p.into_group() + q).into_affine()
                } else {
                    let lambda = (q.y - p.y) * inv;
                    let x3 = lambda.square() - p.x - q.x;
                    let y3 = lambda * (p.x - x3) - p.y;
                    Affine::new_unchecked(x3, y3)
                };
                if !sum.is_zero() {
                    points[out] = sum;
                    out += 1;
                }
            }
            if len % 2 == 1 {
                points[out] = points[lo + len - 1];
                out += 1;
            }
            lens[k] = (out - lo) as u32;
        }
    }
    (0..buckets)
        .map(|k| (lens[k] == 1).then(|| points[starts[k] as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
    use ark_ec::VariableBaseMSM;
    use ark_ff::UniformRand;
    use rand::SeedableRng;

    fn check_g1(bases: &[G1Affine], scalars: &[Fr]) {
        assert_eq!(
            msm(bases, scalars).into_affine(),
            G1Projective::msm_unchecked(bases, scalars).into_affine()
        );
    }

    #[test]
    fn agrees_with_arkworks_on_random_small_negative_and_repeated_inputs() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        // Below and above BATCH_AFFINE_MIN_TERMS: both accumulation paths.
        for n in [1usize, 2, 7, 100, 3000, BATCH_AFFINE_MIN_TERMS + 904] {
            let bases: Vec<G1Affine> = (0..n).map(|_| G1Affine::rand(&mut rng)).collect();
            let random: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check_g1(&bases, &random);
            let small: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i % 300)).collect();
            check_g1(&bases, &small);
            let negative: Vec<Fr> = (0..n as u64).map(|i| -Fr::from(i * 7 + 1)).collect();
            check_g1(&bases, &negative);
        }
        // The same point many times (doublings in a bucket), a point and its
        // negation (a bucket back to infinity), infinity among the bases.
        let p = G1Affine::rand(&mut rng);
        let bases = vec![p; 600];
        let ones = vec![Fr::from(5u64); 600];
        check_g1(&bases, &ones);
        let n = BATCH_AFFINE_MIN_TERMS + 10;
        let big = Fr::rand(&mut rng);
        check_g1(&vec![p; n], &vec![big; n]);
        let bases = vec![p, -p, p, G1Affine::zero(), p];
        let scalars = vec![Fr::from(3u64); 5];
        check_g1(&bases, &scalars);
        check_g1(&[], &[]);
        check_g1(&[p], &[Fr::zero()]);
        check_g1(&[p], &[-Fr::from(1u64)]);
    }

    #[test]
    fn agrees_with_arkworks_on_g2() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let bases: Vec<G2Affine> = (0..500).map(|_| G2Affine::rand(&mut rng)).collect();
        let scalars: Vec<Fr> = (0..500).map(|_| Fr::rand(&mut rng)).collect();
        assert_eq!(
            msm(&bases, &scalars).into_affine(),
            G2Projective::msm_unchecked(&bases, &scalars).into_affine()
        );
    }
}
