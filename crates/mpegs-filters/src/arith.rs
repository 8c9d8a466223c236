//! The integer arithmetic of region kernels, run either natively or in-circuit.
//!
//! A region kernel (scale, boxblur) is written once against [`Arith`]: sums with
//! constant non-negative weights, which are free in R1CS, and right shifts, which
//! cost one range check of the quotient and one of the remainder. The native run
//! uses the same code with plain integers, so the circuit and the oracle-tested
//! reference cannot drift apart.

use ark_bn254::Fr;
use mpegs_zk::range::{witness_bits, ByteVar};
use mpegs_zk::{Builder, Num, SynthesisError};

/// A value: its integer (always known) and, in-circuit, its linear combination.
#[derive(Clone, Debug)]
pub struct Val {
    pub value: u64,
    pub num: Option<Num>,
}

impl Val {
    /// A constant (also how native inputs enter).
    pub fn constant(value: u64) -> Self {
        Self { value, num: None }
    }

    /// A range-checked input byte of the circuit.
    pub fn byte(v: &ByteVar) -> Self {
        Self {
            value: v.value.unwrap_or(0) as u64,
            num: Some(v.num.clone()),
        }
    }

    /// The value as a circuit number (constants become constant combinations).
    pub fn to_num(&self) -> Num {
        self.num
            .clone()
            .unwrap_or_else(|| Num::from_u64(self.value))
    }
}

/// Native or in-circuit evaluation.
pub struct Arith<'a> {
    builder: Option<&'a Builder>,
}

impl<'a> Arith<'a> {
    pub fn native() -> Self {
        Self { builder: None }
    }

    pub fn circuit(b: &'a Builder) -> Self {
        Self { builder: Some(b) }
    }

    /// Σ wᵢ·vᵢ + c with constant weights: no constraints.
    pub fn lin(&self, terms: &[(u64, &Val)], c: u64) -> Val {
        let value = terms.iter().map(|(w, v)| w * v.value).sum::<u64>() + c;
        let num = self.builder.map(|_| {
            let nums: Vec<(Fr, Num)> = terms
                .iter()
                .map(|(w, v)| (Fr::from(*w), v.to_num()))
                .collect();
            Num::sum(nums.iter().map(|(w, n)| (*w, n))).add_const(Fr::from(c))
        });
        Val { value, num }
    }

    /// ⌊v / 2^k⌋ for a value known to satisfy 0 ≤ v ≤ `max`.
    ///
    /// In-circuit: v = q·2^k + r with q < 2^bits(max >> k) and r < 2^k, which pins
    /// q to the true quotient as long as v really is at most `max` (every caller
    /// bounds v from range-checked bytes and its constant weights).
    pub fn shr(&self, v: &Val, k: u32, max: u64) -> Result<Val, SynthesisError> {
        debug_assert!(v.value <= max, "{} exceeds its bound {max}", v.value);
        let q = v.value >> k;
        let Some(b) = self.builder else {
            return Ok(Val::constant(q));
        };
        let q_bits = (64 - (max >> k).leading_zeros()) as usize;
        let (q_num, _) = witness_bits(b, Some(q), q_bits)?;
        let (r_num, _) = witness_bits(b, Some(v.value & ((1 << k) - 1)), k as usize)?;
        b.enforce_equal(&q_num.scale(Fr::from(1u64 << k)).add(&r_num), &v.to_num())?;
        Ok(Val {
            value: q,
            num: Some(q_num),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpegs_zk::ConstraintSystem;

    #[test]
    fn shift_is_exact_and_rejects_a_wrong_quotient() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let a = Arith::circuit(&b);
        let x = Val {
            value: 1000,
            num: Some(b.witness(Some(Fr::from(1000u64))).unwrap()),
        };
        let s = a.lin(&[(3, &x)], 7);
        let q = a.shr(&s, 4, 4000).unwrap();
        assert_eq!(q.value, 3007 >> 4);
        assert!(cs.is_satisfied().unwrap());
        assert_eq!(Arith::native().shr(&s, 4, 4000).unwrap().value, q.value);

        // A prover claiming v = 3007 for a value of 3008 cannot satisfy it.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let a = Arith::circuit(&b);
        let x = Val {
            value: 3007,
            num: Some(b.witness(Some(Fr::from(3008u64))).unwrap()),
        };
        a.shr(&x, 4, 4000).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
