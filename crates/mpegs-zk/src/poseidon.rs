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
    for round in 0..p.full_rounds + p.partial_rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s = s.add_const(p.ark[round * width + i]);
        }
        let full = round < half || round >= half + p.partial_rounds;
        let sboxed = if full { width } else { 1 };
        for s in state.iter_mut().take(sboxed) {
            *s = sbox(b, s)?;
        }
        state = (0..width)
            .map(|i| Num::sum(p.mds[i].iter().copied().zip(state.iter())))
            .collect();
    }
    Ok(state.swap_remove(0))
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
