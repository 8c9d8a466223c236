//! Eight Poseidon permutations at once with AVX-512 IFMA (x86-64 only, chosen at
//! run time by [`crate::batch`]).
//!
//! Same rounds and constants as [`crate::poseidon::hash`] (the sparse partial-round
//! form), in another representation: each of the 8 lanes of a 512-bit register
//! holds one permutation's copy of a field element, split into five 52-bit limbs
//! (`vpmadd52lo/hi` multiply 52-bit limbs and accumulate), in Montgomery form with
//! R = 2^260 instead of arkworks' 2^256.
//!
//! **Why no conditional subtractions.** p < 2^254 leaves six spare bits, so
//! Montgomery reduction of T returns a value below T/2^260 + p. With ε = p/2^260 ≈
//! 0.012, a product of values below a·p and b·p comes back below (abε + 1)·p: every
//! product lands just above p again, whatever the inputs' excess. Values are
//! therefore kept only loosely reduced (the bounds are noted beside each step) and
//! a matrix row times the state is accumulated unreduced (13 double-width products
//! fit the 64-bit lanes) and reduced once: one reduction per output instead of one
//! per product. The one place values grow, the partial rounds' column update, gets
//! one subtraction of 2p. Results are fully reduced when they leave (in [`finish`]).

use crate::poseidon::{parameters, sparse_rounds, MAX_INPUTS};
use ark_bn254::Fr;
use ark_ff::{BigInt, BigInteger, PrimeField};
use core::arch::x86_64::*;
use std::sync::OnceLock;

/// Lanes per register.
pub const LANES: usize = 8;
const MASK: u64 = (1 << 52) - 1;

/// A field element, one value per lane: limb k of every lane in register k.
#[derive(Clone, Copy)]
struct F([__m512i; 5]);

/// A constant (the same in all lanes), as its five limbs; broadcast where used.
type C = [u64; 5];

/// 256-bit integer → five 52-bit limbs (the top limb takes the last 48 bits).
fn limbs(x: &[u64; 4]) -> C {
    [
        x[0] & MASK,
        (x[0] >> 52 | x[1] << 12) & MASK,
        (x[1] >> 40 | x[2] << 24) & MASK,
        (x[2] >> 28 | x[3] << 36) & MASK,
        x[3] >> 16,
    ]
}

/// Five 52-bit limbs (value < 2^256) → 256-bit integer.
fn join(l: &C) -> [u64; 4] {
    [
        l[0] | l[1] << 52,
        l[1] >> 12 | l[2] << 40,
        l[2] >> 24 | l[3] << 28,
        l[3] >> 36 | l[4] << 16,
    ]
}

/// `x` in this module's form: x·2^260 mod p, fully reduced. arkworks stores
/// x·2^256 mod p, so that of 16·x is it.
fn to_c(x: &Fr) -> C {
    limbs(&(*x * Fr::from(16u64)).0 .0)
}

/// The constants of one state width in this module's form.
struct Tables {
    w: usize,
    half: usize,
    partial: usize,
    /// Full-round constants, `ark[round * w + i]` (partial rounds' entries unused).
    ark: Vec<C>,
    mds: Vec<C>,
    pre: Vec<C>,
    post: Vec<C>,
    rows: Vec<C>,
    cols: Vec<C>,
    last: Vec<C>,
}

fn flat(m: &[Vec<Fr>]) -> Vec<C> {
    m.iter().flatten().map(to_c).collect()
}

fn tables(w: usize) -> &'static Tables {
    static CACHE: [OnceLock<Tables>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    CACHE[w - 2].get_or_init(|| {
        let p = parameters(w);
        let sp = sparse_rounds(w);
        Tables {
            w,
            half: p.full_rounds / 2,
            partial: p.partial_rounds,
            ark: p.ark.iter().map(to_c).collect(),
            mds: flat(&p.mds),
            pre: sp.pre.iter().map(to_c).collect(),
            post: sp.post.iter().map(to_c).collect(),
            rows: flat(&sp.rows),
            cols: flat(&sp.cols),
            last: flat(&sp.last),
        }
    })
}

/// p, 2p, −p⁻¹ mod 2^52, and 1/16 (to leave this module's form).
struct Modulus {
    p: C,
    two_p: C,
    inv: u64,
    sixteenth: Fr,
}

fn modulus() -> &'static Modulus {
    static M: OnceLock<Modulus> = OnceLock::new();
    M.get_or_init(|| {
        let p = Fr::MODULUS.0;
        let mut two = Fr::MODULUS;
        two.mul2();
        // Newton's iteration doubles the correct low bits of p⁻¹ mod 2^64.
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(p[0].wrapping_mul(inv)));
        }
        Modulus {
            p: limbs(&p),
            two_p: limbs(&two.0),
            inv: inv.wrapping_neg() & MASK,
            sixteenth: ark_ff::Field::inverse(&Fr::from(16u64)).expect("16 is invertible"),
        }
    })
}

/// Whether this CPU runs [`permute`].
pub fn available() -> bool {
    std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
}

#[target_feature(enable = "avx512f")]
#[inline]
fn bc(x: u64) -> __m512i {
    _mm512_set1_epi64(x as i64)
}

/// t += a·b, unreduced (t has ten 52-bit positions in 64-bit lanes; each product
/// adds at most 10·2^52 to a position, so 13 products stay below 2^60).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul_acc(t: &mut [__m512i; 10], a: &C, b: &F) {
    for (i, &ai) in a.iter().enumerate() {
        let ai = bc(ai);
        for (j, &bj) in b.0.iter().enumerate() {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], ai, bj);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], ai, bj);
        }
    }
}

/// Montgomery reduction: T·2^−260 mod p, below T/2^260 + p, limbs normalized.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn redc(mut t: [__m512i; 10], m: &Modulus) -> F {
    let zero = _mm512_setzero_si512();
    let inv = bc(m.inv);
    for i in 0..5 {
        // q makes position i divisible by 2^52; its carry moves up.
        let q = _mm512_madd52lo_epu64(zero, t[i], inv);
        for (j, &pj) in m.p.iter().enumerate() {
            let pj = bc(pj);
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], q, pj);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], q, pj);
        }
        t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64(t[i], 52));
    }
    norm([t[5], t[6], t[7], t[8], t[9]])
}

/// Carries every limb's excess into the next one (IFMA reads only 52 bits).
#[target_feature(enable = "avx512f")]
#[inline]
fn norm(mut l: [__m512i; 5]) -> F {
    let mask = bc(MASK);
    for k in 0..4 {
        l[k + 1] = _mm512_add_epi64(l[k + 1], _mm512_srli_epi64(l[k], 52));
        l[k] = _mm512_and_si512(l[k], mask);
    }
    F(l)
}

#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul(a: &F, b: &F, m: &Modulus) -> F {
    let mut t = [_mm512_setzero_si512(); 10];
    for (i, &ai) in a.0.iter().enumerate() {
        for (j, &bj) in b.0.iter().enumerate() {
            t[i + j] = _mm512_madd52lo_epu64(t[i + j], ai, bj);
            t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], ai, bj);
        }
    }
    redc(t, m)
}

/// a·b for a constant a.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn mul_c(a: &C, b: &F, m: &Modulus) -> F {
    let mut t = [_mm512_setzero_si512(); 10];
    mul_acc(&mut t, a, b);
    redc(t, m)
}

/// a + c, normalized.
#[target_feature(enable = "avx512f")]
#[inline]
fn add_c(a: &F, c: &C) -> F {
    let mut l = a.0;
    for (x, &y) in l.iter_mut().zip(c) {
        *x = _mm512_add_epi64(*x, bc(y));
    }
    norm(l)
}

/// x − q where x ≥ q, else x (x normalized).
#[target_feature(enable = "avx512f")]
#[inline]
fn sub_if_ge(x: &F, q: &C) -> F {
    let (mask, zero) = (bc(MASK), _mm512_setzero_si512());
    let mut d = [zero; 5];
    let mut borrow = zero;
    for k in 0..5 {
        let v = _mm512_sub_epi64(_mm512_sub_epi64(x.0[k], bc(q[k])), borrow);
        borrow = _mm512_srli_epi64(v, 63);
        d[k] = _mm512_and_si512(v, mask);
    }
    let below = _mm512_cmpneq_epi64_mask(borrow, zero);
    for (dk, &xk) in d.iter_mut().zip(&x.0) {
        *dk = _mm512_mask_blend_epi64(below, *dk, xk);
    }
    F(d)
}

/// x⁵ for x < 3p: below 1.04p.
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn sbox(x: &F, m: &Modulus) -> F {
    let x2 = mul(x, x, m);
    let x4 = mul(&x2, &x2, m);
    mul(&x4, x, m)
}

/// Row · state, one reduction (entries < p, state < 2.4p: below 1.4p).
#[target_feature(enable = "avx512f,avx512ifma")]
#[inline]
fn dot(row: &[C], state: &[F], m: &Modulus) -> F {
    let mut t = [_mm512_setzero_si512(); 10];
    for (c, s) in row.iter().zip(state) {
        mul_acc(&mut t, c, s);
    }
    redc(t, m)
}

/// state ← M·state (state < 1.4p in, below 1.2p out).
#[target_feature(enable = "avx512f,avx512ifma")]
fn full_round(tb: &Tables, round: usize, state: &mut [F], m: &Modulus) {
    let w = tb.w;
    let mut boxed = [F([_mm512_setzero_si512(); 5]); MAX_INPUTS + 1];
    for i in 0..w {
        boxed[i] = sbox(&add_c(&state[i], &tb.ark[round * w + i]), m);
    }
    for (i, s) in state.iter_mut().enumerate() {
        *s = dot(&tb.mds[i * w..(i + 1) * w], &boxed[..w], m);
    }
}

/// The permutation of [`crate::poseidon::hash`] on eight states of width `w`:
/// `io[i]` holds element i of the 8 states (arkworks form, each lane one state);
/// on return `io[0]` holds the 8 outputs.
#[target_feature(enable = "avx512f,avx512ifma")]
fn permute_lanes(w: usize, io: &mut [[Fr; LANES]]) {
    let (tb, m) = (tables(w), modulus());
    let mut state = [F([_mm512_setzero_si512(); 5]); MAX_INPUTS + 1];
    let state = &mut state[..w];
    for (s, lanes) in state.iter_mut().zip(io.iter()) {
        let mut l = [[0u64; LANES]; 5];
        for (lane, x) in lanes.iter().enumerate() {
            for (k, v) in to_c(x).into_iter().enumerate() {
                l[k][lane] = v;
            }
        }
        // SAFETY: each l[k] is 64 readable bytes; loadu has no alignment need.
        *s = F(l.map(|v| unsafe { _mm512_loadu_si512(v.as_ptr().cast()) }));
    }
    for round in 0..tb.half {
        full_round(tb, round, state, m);
    }
    for (s, c) in state.iter_mut().zip(&tb.pre) {
        *s = add_c(s, c);
    }
    let rounds = tb.partial;
    for r in 0..rounds {
        // State entries below 2p here (1.4p after a dot); s0 below 2.1p.
        let s0 = add_c(&sbox(&state[0], m), &tb.post[r]);
        state[0] = s0;
        if r + 1 < rounds {
            let first = dot(&tb.rows[r * w..(r + 1) * w], state, m);
            for (i, s) in state.iter_mut().enumerate().skip(1) {
                let grown = sum(s, &mul_c(&tb.cols[r * (w - 1) + i - 1], &s0, m));
                // Below 2p + 1.03p: one subtraction of 2p brings it under 2p.
                *s = sub_if_ge(&grown, &m.two_p);
            }
            state[0] = first;
        } else {
            let mut out = [F([_mm512_setzero_si512(); 5]); MAX_INPUTS + 1];
            for (i, o) in out[..w].iter_mut().enumerate() {
                *o = dot(&tb.last[i * w..(i + 1) * w], state, m);
            }
            state.copy_from_slice(&out[..w]);
        }
    }
    for round in tb.half + rounds..2 * tb.half + rounds {
        full_round(tb, round, state, m);
    }
    io[0] = finish(&state[0], m);
}

/// a + b, normalized.
#[target_feature(enable = "avx512f")]
#[inline]
fn sum(a: &F, b: &F) -> F {
    let mut l = a.0;
    for (x, y) in l.iter_mut().zip(&b.0) {
        *x = _mm512_add_epi64(*x, *y);
    }
    norm(l)
}

/// Lanes (x·2^260 mod p, below 1.2p) → arkworks elements.
#[target_feature(enable = "avx512f")]
fn finish(x: &F, m: &Modulus) -> [Fr; LANES] {
    let reduced = sub_if_ge(x, &m.p);
    let mut l = [[0u64; LANES]; 5];
    for (dst, v) in l.iter_mut().zip(&reduced.0) {
        // SAFETY: dst is 64 writable bytes.
        unsafe { _mm512_storeu_si512(dst.as_mut_ptr().cast(), *v) };
    }
    std::array::from_fn(|lane| {
        let v = join(&[l[0][lane], l[1][lane], l[2][lane], l[3][lane], l[4][lane]]);
        // Read as arkworks' form, v stands for 16·x.
        Fr::new_unchecked(BigInt(v)) * m.sixteenth
    })
}

/// Poseidon of eight input vectors of one arity n (`io[i]` = input i of every lane
/// for i in 1..=n, `io[0]` zero); returns the eight hashes.
///
/// # Safety
/// The CPU must support AVX-512F and IFMA ([`available`]).
pub unsafe fn permute(w: usize, io: &mut [[Fr; LANES]]) -> [Fr; LANES] {
    debug_assert!(io.len() == w && (2..=MAX_INPUTS + 1).contains(&w));
    // SAFETY: the caller checked the CPU features.
    unsafe { permute_lanes(w, io) };
    io[0]
}
