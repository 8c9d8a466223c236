//! Native Poseidon over BN254 with circomlib's parameters (constants from
//! `light-poseidon`), plus the domain-separation tags every mpegs hash starts with.
//!
//! The permutation is our own, because it is on the verifier's hot path (every
//! published pixel is re-hashed): the partial rounds use the sparse-matrix form
//! (2t − 1 multiplications a round instead of t², constants folded to one scalar a
//! round), about a third of the multiplications of the textbook form
//! `light-poseidon` implements. Tests check it against `light-poseidon` and
//! circomlibjs vectors. The in-circuit gadget uses [`PartialRounds`] (S-box inputs
//! as direct combinations), which suits synthesis better. Batches of independent
//! hashes (a commitment's tiles and tree levels) go through
//! [`crate::batch::hash_many`], which runs the same rounds eight at a time.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_ff::{Field, Zero};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::PoseidonParameters;
use std::sync::OnceLock;

/// Widest instance used: 12 inputs (state width 13), the cheapest per absorbed byte
/// among the circomlib widths `light-poseidon` ships constants for.
pub const MAX_INPUTS: usize = 12;

/// Domain tag of a tile digest (v2: the digest absorbs a blinding value).
pub const TAG_TILE: &[u8] = b"mpegs.tile.v2";
/// Domain tag of a Merkle node.
pub const TAG_NODE: &[u8] = b"mpegs.node.v1";
/// Domain tag of a media commitment (header + root).
pub const TAG_MEDIA: &[u8] = b"mpegs.media.v2";
/// Domain tag of a video commitment (frame count + root over frame commitments).
pub const TAG_VIDEO: &[u8] = b"mpegs.video.v2";
/// Domain tag of a tile's blinding value, derived from the frame's secret seed.
pub const TAG_BLIND: &[u8] = b"mpegs.blind.v2";

/// A tag as a field element: the ASCII bytes read as a big-endian integer.
pub fn tag(bytes: &[u8]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

/// circomlib's parameters for a state width (2..=13), as shipped by `light-poseidon`.
pub fn parameters(width: usize) -> &'static PoseidonParameters<Fr> {
    static PARAMS: OnceLock<Vec<PoseidonParameters<Fr>>> = OnceLock::new();
    let all = PARAMS.get_or_init(|| {
        (2..=MAX_INPUTS as u8 + 1)
            .map(|t| get_poseidon_parameters::<Fr>(t).expect("circomlib widths 2..=13 exist"))
            .collect()
    });
    &all[width - 2]
}

/// Precomputed linear algebra of the partial rounds for one width.
///
/// A partial round is `s ← M·(D·(s + c) + e₀·y)` where `D` zeroes element 0 and `y`
/// is the S-box output. With `A = M·D` the state after r rounds is
/// `A^r·s⁰ + Σ_q A^(r−q)·(M·e₀)·y_q + K_r`, so each S-box input is a direct linear
/// combination of the state entering the partial rounds and earlier S-box outputs.
/// Natively this halves the multiplications; in-circuit it avoids multiplying
/// growing linear combinations by M every round.
pub struct PartialRounds {
    /// Row 0 of A^k, k = 0..=R.
    pub rows: Vec<Vec<Fr>>,
    /// A^k·(M·e₀), k = 0..R.
    pub spread: Vec<Vec<Fr>>,
    /// Constant part of the state after r rounds, r = 0..=R.
    pub konst: Vec<Vec<Fr>>,
    /// A^R.
    pub a_pow: Vec<Vec<Fr>>,
}

fn mat_vec(m: &[Vec<Fr>], v: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| *a * b).sum())
        .collect()
}

fn mat_mul(a: &[Vec<Fr>], b: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    let n = a.len();
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| (0..n).map(|k| a[i][k] * b[k][j]).sum())
                .collect()
        })
        .collect()
}

fn precompute_partial(w: usize) -> PartialRounds {
    let p = parameters(w);
    let a: Vec<Vec<Fr>> = p
        .mds
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, m)| if j == 0 { Fr::zero() } else { *m })
                .collect()
        })
        .collect();
    let rounds = p.partial_rounds;
    let half = p.full_rounds / 2;
    let mut pow: Vec<Vec<Fr>> = (0..w)
        .map(|i| (0..w).map(|j| Fr::from((i == j) as u64)).collect())
        .collect();
    let mut rows = vec![pow[0].clone()];
    let mut spread = vec![p.mds.iter().map(|row| row[0]).collect::<Vec<Fr>>()];
    let mut konst = vec![vec![Fr::zero(); w]];
    for r in 1..=rounds {
        pow = mat_mul(&a, &pow);
        rows.push(pow[0].clone());
        if r < rounds {
            let next = mat_vec(&a, spread.last().expect("non-empty"));
            spread.push(next);
        }
        let c = &p.ark[(half + r - 1) * w..(half + r) * w];
        let shifted: Vec<Fr> = konst[r - 1].iter().zip(c).map(|(k, c)| *k + c).collect();
        konst.push(mat_vec(&a, &shifted));
    }
    PartialRounds {
        rows,
        spread,
        konst,
        a_pow: pow,
    }
}

/// The partial-round precomputation for a state width (2..=13).
pub fn partial_rounds(width: usize) -> &'static PartialRounds {
    static CACHE: OnceLock<Vec<PartialRounds>> = OnceLock::new();
    &CACHE.get_or_init(|| (2..=MAX_INPUTS + 1).map(precompute_partial).collect())[width - 2]
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// Σ aᵢ·bᵢ with one Montgomery reduction per three products (arkworks'
/// `sum_of_products`; BN254's 2 spare bits allow three before reducing).
fn dot(a: &[Fr], b: &[Fr]) -> Fr {
    let mut sum = Fr::zero();
    let (mut a3, mut b3) = (a.chunks_exact(3), b.chunks_exact(3));
    for (x, y) in a3.by_ref().zip(b3.by_ref()) {
        sum += Fr::sum_of_products(&[x[0], x[1], x[2]], &[y[0], y[1], y[2]]);
    }
    for (x, y) in a3.remainder().iter().zip(b3.remainder()) {
        sum += *x * y;
    }
    sum
}

fn full_round(p: &PoseidonParameters<Fr>, round: usize, state: &mut [Fr], scratch: &mut [Fr]) {
    let w = state.len();
    for (i, s) in state.iter_mut().enumerate() {
        *s = sbox(*s + p.ark[round * w + i]);
    }
    for (i, out) in scratch.iter_mut().enumerate() {
        *out = dot(&p.mds[i], state);
    }
    state.copy_from_slice(scratch);
}

/// The partial rounds rewritten for a native permutation with few multiplications
/// (the Poseidon paper's appendix B, derived here for column vectors):
///
/// - **Constants.** A partial round's S-box touches element 0 only, so of the next
///   round's constant `c`, the part `M⁻¹·c` outside element 0 can be added before
///   this round's S-box and its element 0 right after it. Sweeping back from the
///   last partial round leaves one full constant vector before the first partial
///   round and one scalar after each S-box.
/// - **Matrices.** `M = A·B` with `A = diag(1, M₁₁)` and
///   `B = [[m₀₀, m₀₁ᵀ], [M₁₁⁻¹·m₁₀, I]]`. `A` commutes with a round's S-box and
///   scalar, so it moves into the next round's matrix, which is split the same way:
///   every partial round but the last multiplies by a sparse `B` (2t − 1
///   multiplications instead of t²).
pub(crate) struct Sparse {
    /// The constant vector added before the first partial round.
    pub(crate) pre: Vec<Fr>,
    /// The scalar added to element 0 after each partial round's S-box.
    pub(crate) post: Vec<Fr>,
    /// Row 0 of each round's `B` (t entries) and the column below it (t − 1).
    pub(crate) rows: Vec<Vec<Fr>>,
    pub(crate) cols: Vec<Vec<Fr>>,
    /// The last partial round's dense matrix.
    pub(crate) last: Vec<Vec<Fr>>,
}

/// Inverse of a square matrix (Gauss–Jordan); `None` if singular.
fn invert(m: &[Vec<Fr>]) -> Option<Vec<Vec<Fr>>> {
    let n = m.len();
    let mut a: Vec<Vec<Fr>> = m.to_vec();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| (0..n).map(|j| Fr::from((i == j) as u64)).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r][col].is_zero())?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let scale = a[col][col].inverse()?;
        for j in 0..n {
            a[col][j] *= scale;
            inv[col][j] *= scale;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (x, y) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * x;
                    inv[r][j] -= f * y;
                }
            }
        }
    }
    Some(inv)
}

fn precompute_sparse(w: usize) -> Sparse {
    let p = parameters(w);
    let half = p.full_rounds / 2;
    let rounds = p.partial_rounds;
    let m = &p.mds;
    let m_inv = invert(m).expect("an MDS matrix is invertible");
    // Constants: sweep back from the last partial round.
    let mut c: Vec<Vec<Fr>> = (0..rounds)
        .map(|r| p.ark[(half + r) * w..(half + r + 1) * w].to_vec())
        .collect();
    let mut post = vec![Fr::zero(); rounds];
    for r in (1..rounds).rev() {
        let u = mat_vec(&m_inv, &c[r]);
        post[r - 1] += u[0];
        for j in 1..w {
            c[r - 1][j] += u[j];
        }
        c[r] = vec![Fr::zero(); w];
    }
    // Matrices: split forward, moving each A into the next round's matrix.
    let mut rows = Vec::with_capacity(rounds);
    let mut cols = Vec::with_capacity(rounds);
    let mut x = m.clone();
    for _ in 0..rounds - 1 {
        let x11: Vec<Vec<Fr>> = x[1..].iter().map(|row| row[1..].to_vec()).collect();
        let x11_inv = invert(&x11).expect("the lower block is invertible");
        let x10: Vec<Fr> = x[1..].iter().map(|row| row[0]).collect();
        rows.push(x[0].clone());
        cols.push(mat_vec(&x11_inv, &x10));
        // A = diag(1, X₁₁); the next round's matrix is M·A.
        let a: Vec<Vec<Fr>> = (0..w)
            .map(|i| {
                (0..w)
                    .map(|j| match (i, j) {
                        (0, 0) => Fr::from(1u64),
                        (0, _) | (_, 0) => Fr::zero(),
                        _ => x11[i - 1][j - 1],
                    })
                    .collect()
            })
            .collect();
        x = mat_mul(m, &a);
    }
    Sparse {
        pre: c[0].clone(),
        post,
        rows,
        cols,
        last: x,
    }
}

/// The sparse form for a state width (2..=13), computed on first use of that width.
pub(crate) fn sparse_rounds(width: usize) -> &'static Sparse {
    static CACHE: [OnceLock<Sparse>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    CACHE[width - 2].get_or_init(|| precompute_sparse(width))
}

/// circomlib `Poseidon(n)` of `inputs` (1 ≤ n ≤ 12).
///
/// # Panics
/// If `inputs` is empty or longer than [`MAX_INPUTS`]; every caller in mpegs passes a
/// fixed, in-range arity.
pub fn hash(inputs: &[Fr]) -> Fr {
    let n = inputs.len();
    assert!(
        (1..=MAX_INPUTS).contains(&n),
        "poseidon arity {n} out of range"
    );
    let w = n + 1;
    let p = parameters(w);
    let sp = sparse_rounds(w);
    let mut state = [Fr::zero(); MAX_INPUTS + 1];
    let mut scratch = [Fr::zero(); MAX_INPUTS + 1];
    let (state, scratch) = (&mut state[..w], &mut scratch[..w]);
    state[1..].copy_from_slice(inputs);
    let half = p.full_rounds / 2;
    for round in 0..half {
        full_round(p, round, state, scratch);
    }
    for (s, c) in state.iter_mut().zip(&sp.pre) {
        *s += c;
    }
    let rounds = p.partial_rounds;
    for r in 0..rounds {
        state[0] = sbox(state[0]) + sp.post[r];
        if r + 1 < rounds {
            let s0 = state[0];
            let first = dot(&sp.rows[r], state);
            for (s, c) in state[1..].iter_mut().zip(&sp.cols[r]) {
                *s += *c * s0;
            }
            state[0] = first;
        } else {
            for (i, out) in scratch.iter_mut().enumerate() {
                *out = sp.last[i]
                    .iter()
                    .zip(state.iter())
                    .map(|(m, s)| *m * s)
                    .sum();
            }
            state.copy_from_slice(scratch);
        }
    }
    for round in half + rounds..p.full_rounds + rounds {
        full_round(p, round, state, scratch);
    }
    state[0]
}

/// `0x`-prefixed, 64-digit big-endian hex of a field element.
pub fn fr_to_hex(x: &Fr) -> String {
    format!("0x{}", hex_encode(&x.into_bigint().to_bytes_be()))
}

/// Parses a `0x`-prefixed big-endian hex field element, refusing values ≥ the modulus
/// (so every element has exactly one spelling).
pub fn fr_from_hex(s: &str) -> Result<Fr, String> {
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("field element '{s}' must start with 0x"))?;
    if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("field element '{s}' must have 1 to 64 hex digits"));
    }
    let padded = format!("{digits:0>64}");
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16)
            .map_err(|_| format!("field element '{s}' is not hex"))?;
    }
    let x = Fr::from_be_bytes_mod_order(&bytes);
    if x.into_bigint().to_bytes_be() != bytes {
        return Err(format!(
            "field element '{s}' is not below the BN254 modulus"
        ));
    }
    Ok(x)
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_permutation_equals_light_poseidon() {
        use light_poseidon::{Poseidon, PoseidonHasher};
        for n in 1..=MAX_INPUTS {
            let inputs: Vec<Fr> = (0..n as u64)
                .map(|i| Fr::from(i * 7919 + 13) - Fr::from(n as u64))
                .collect();
            let reference = Poseidon::<Fr>::new_circom(n)
                .unwrap()
                .hash(&inputs)
                .unwrap();
            assert_eq!(hash(&inputs), reference, "arity {n}");
        }
    }

    #[test]
    fn hex_round_trip_and_modulus_check() {
        let x = hash(&[Fr::from(1u64), Fr::from(2u64)]);
        assert_eq!(fr_from_hex(&fr_to_hex(&x)).unwrap(), x);
        let modulus = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert!(fr_from_hex(modulus).is_err());
        assert!(fr_from_hex("12").is_err());
        assert!(fr_from_hex("0xzz").is_err());
        assert!(fr_from_hex("0x+0").is_err());
    }
}
