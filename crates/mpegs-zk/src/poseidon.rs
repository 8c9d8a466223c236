//! Poseidon permutation in R1CS with exactly the constants `light-poseidon` (and so
//! circomlib) uses, so in-circuit and native hashes agree bit for bit.

use crate::num::{Builder, Num};
use ark_bn254::Fr;
use ark_relations::gr1cs::SynthesisError;
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::PoseidonParameters;
use std::sync::OnceLock;

fn parameters(width: usize) -> &'static PoseidonParameters<Fr> {
    static PARAMS: OnceLock<Vec<PoseidonParameters<Fr>>> = OnceLock::new();
    let all = PARAMS.get_or_init(|| {
        (2..=13u8)
            .map(|t| get_poseidon_parameters::<Fr>(t).expect("widths 2..=13 exist"))
            .collect()
    });
    &all[width - 2]
}

/// Precomputed linear algebra of the partial rounds for one width.
///
/// A partial round is `s ← M·(D·(s + c) + e₀·y)` where `D` zeroes element 0 and `y`
/// is the S-box output. With `A = M·D` the state after r rounds is
/// `A^r·s⁰ + Σ_q A^(r−q)·(M·e₀·y_q) + K_r`, so each S-box input is a direct linear
/// combination of the state entering the partial rounds and earlier S-box outputs.
/// Building it this way avoids multiplying growing combinations by M every round
/// (which made synthesis ~30× slower); the constraints are identical.
struct Partial {
    /// Row 0 of A^k, k = 0..=R.
    rows: Vec<Vec<Fr>>,
    /// A^k·(M·e₀), k = 0..R.
    spread: Vec<Vec<Fr>>,
    /// Constant part of the state after r rounds, r = 0..=R.
    konst: Vec<Vec<Fr>>,
    /// A^R.
    a_pow: Vec<Vec<Fr>>,
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

fn partial(width: usize) -> &'static Partial {
    static CACHE: OnceLock<Vec<Partial>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        (2..=13)
            .map(|w| {
                let p = parameters(w);
                let a: Vec<Vec<Fr>> = p
                    .mds
                    .iter()
                    .map(|row| {
                        row.iter()
                            .enumerate()
                            .map(|(j, m)| if j == 0 { Fr::from(0u64) } else { *m })
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
                let mut konst = vec![vec![Fr::from(0u64); w]];
                for r in 1..=rounds {
                    pow = mat_mul(&a, &pow);
                    rows.push(pow[0].clone());
                    if r < rounds {
                        let next = mat_vec(&a, spread.last().expect("non-empty"));
                        spread.push(next);
                    }
                    let c = &p.ark[(half + r - 1) * w..(half + r) * w];
                    let shifted: Vec<Fr> =
                        konst[r - 1].iter().zip(c).map(|(k, c)| *k + c).collect();
                    konst.push(mat_vec(&a, &shifted));
                }
                Partial {
                    rows,
                    spread,
                    konst,
                    a_pow: pow,
                }
            })
            .collect()
    });
    &all[width - 2]
}

/// circomlib `Poseidon(n)` of `inputs` (1 ≤ n ≤ 12): 3 constraints per S-box, i.e.
/// 3·(8·(n+1) + partial rounds) constraints.
pub fn hash(b: &Builder, inputs: &[Num]) -> Result<Num, SynthesisError> {
    let width = inputs.len() + 1;
    assert!((2..=13).contains(&width), "poseidon arity out of range");
    let p = parameters(width);
    let mut state: Vec<Num> = std::iter::once(Num::zero())
        .chain(inputs.iter().cloned())
        .collect();
    let half = p.full_rounds / 2;
    for round in 0..half {
        state = full_round(b, p, round, &state)?;
    }
    state = partial_rounds(b, p, partial(width), &state)?;
    for round in half + p.partial_rounds..p.full_rounds + p.partial_rounds {
        state = full_round(b, p, round, &state)?;
    }
    Ok(state.swap_remove(0))
}

fn full_round(
    b: &Builder,
    p: &PoseidonParameters<Fr>,
    round: usize,
    state: &[Num],
) -> Result<Vec<Num>, SynthesisError> {
    let width = state.len();
    let sboxed = state
        .iter()
        .enumerate()
        .map(|(i, s)| sbox(b, &s.add_const(p.ark[round * width + i])))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((0..width)
        .map(|i| Num::sum(p.mds[i].iter().copied().zip(sboxed.iter())))
        .collect())
}

fn partial_rounds(
    b: &Builder,
    p: &PoseidonParameters<Fr>,
    pre: &Partial,
    start: &[Num],
) -> Result<Vec<Num>, SynthesisError> {
    let width = start.len();
    let half = p.full_rounds / 2;
    let rounds = p.partial_rounds;
    let mut outputs: Vec<Num> = Vec::with_capacity(rounds);
    for r in 1..=rounds {
        let from_start = pre.rows[r - 1].iter().copied().zip(start.iter());
        let from_sboxes = (1..r).map(|q| (pre.spread[r - 1 - q][0], &outputs[q - 1]));
        let constant = pre.konst[r - 1][0] + p.ark[(half + r - 1) * width];
        let x = Num::sum(from_start.chain(from_sboxes)).add_const(constant);
        outputs.push(sbox(b, &x)?);
    }
    Ok((0..width)
        .map(|i| {
            let from_start = pre.a_pow[i].iter().copied().zip(start.iter());
            let from_sboxes = (1..=rounds).map(|q| (pre.spread[rounds - q][i], &outputs[q - 1]));
            Num::sum(from_start.chain(from_sboxes)).add_const(pre.konst[rounds][i])
        })
        .collect())
}

fn sbox(b: &Builder, x: &Num) -> Result<Num, SynthesisError> {
    let x2 = b.mul(x, x)?;
    let x4 = b.mul(&x2, &x2)?;
    b.mul(&x4, x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn gadget_matches_native_for_every_arity() {
        for n in 1..=12usize {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::new(cs.clone());
            let values: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 1000 + 7)).collect();
            let vars: Vec<Num> = values
                .iter()
                .map(|v| b.witness(Some(*v)).unwrap())
                .collect();
            let out = hash(&b, &vars).unwrap();
            assert_eq!(
                out.value,
                Some(mpegs_media::poseidon::hash(&values)),
                "arity {n}"
            );
            // Bind the output so the constraint system checks it.
            let expected = b.input(out.value).unwrap();
            b.enforce_equal(&out, &expected).unwrap();
            assert!(cs.is_satisfied().unwrap());
        }
    }

    #[test]
    fn wide_instance_cost() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let vars: Vec<Num> = (0..12)
            .map(|_| b.witness(Some(Fr::from(3u64))).unwrap())
            .collect();
        hash(&b, &vars).unwrap();
        // 8 full rounds × 13 S-boxes + 65 partial rounds, 3 constraints each, less
        // the first S-box of the constant capacity element, which is free.
        assert_eq!(cs.num_constraints(), 3 * (8 * 13 + 65) - 3);
    }
}
