//! Poseidon permutation in R1CS with exactly the constants `light-poseidon` (and so
//! circomlib) uses, so in-circuit and native hashes agree bit for bit. The partial
//! rounds are assembled from [`PartialRounds`] (shared with the native hash): each
//! S-box input is built directly instead of multiplying growing linear
//! combinations by the MDS matrix every round (10× faster synthesis, identical
//! constraints).

use crate::num::{Builder, Num};
use ark_bn254::Fr;
use ark_relations::gr1cs::SynthesisError;
use light_poseidon::PoseidonParameters;
use mpegs_media::poseidon::{parameters, partial_rounds, PartialRounds};

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
    state = synthesize_partial_rounds(b, p, partial_rounds(width), &state)?;
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

fn synthesize_partial_rounds(
    b: &Builder,
    p: &PoseidonParameters<Fr>,
    pre: &PartialRounds,
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
