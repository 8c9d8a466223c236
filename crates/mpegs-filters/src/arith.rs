//! The integer arithmetic of region kernels, run either natively or in-circuit.
//!
//! A region kernel (scale, boxblur) is written once against [`Arith`]: sums with
//! constant non-negative weights, which are free in R1CS, and right shifts, which
//! cost one range check of the quotient and one of the remainder. The native run
//! uses the same code with plain integers, so the circuit and the oracle-tested
//! reference cannot drift apart.
//!
//! Every [`Val`] carries a static upper bound, fixed by how it was made (a byte is
//! at most 255, a constant is itself, sums and shifts follow their operands) and
//! never by the data, so it is the same natively, in-circuit and at key generation.
//! The bound is what makes the shifts' splits unique, and it is how the framework
//! knows an output value is a byte: [`Val::byte_value`] and
//! [`crate::byte::OutByte::from_val`] refuse anything whose bound exceeds 255. The
//! fields are private so that no kernel can claim a bound it did not earn.

use ark_bn254::Fr;
use mpegs_zk::range::{enforce_range, witness_range, ByteVar};
use mpegs_zk::{Builder, Num, SynthesisError};

/// A bound that overflowed `u64`: nothing derived from it is trusted.
const UNBOUNDED: u64 = u64::MAX;

/// A value: its integer (always known), its static upper bound and, in-circuit,
/// its linear combination.
#[derive(Clone, Debug)]
pub struct Val {
    value: u64,
    max: u64,
    num: Option<Num>,
}

impl Val {
    /// A constant: its own bound.
    pub fn constant(value: u64) -> Self {
        Self {
            value,
            max: value,
            num: None,
        }
    }

    /// An input byte of a native run: bounded by 255 whatever its value, exactly
    /// as its in-circuit counterpart [`Val::byte`].
    pub fn input(value: u8) -> Self {
        Self {
            value: value as u64,
            max: 255,
            num: None,
        }
    }

    /// A range-checked input byte of the circuit.
    pub fn byte(v: &ByteVar) -> Self {
        Self {
            value: v.value.unwrap_or(0) as u64,
            max: 255,
            num: Some(v.num.clone()),
        }
    }

    /// The integer (0 in a witness-free circuit).
    pub fn value(&self) -> u64 {
        self.value
    }

    /// The static upper bound of the value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value as an output byte, or `None` when its bound exceeds 255: the
    /// check depends on the kernel's arithmetic only, never on the pixels.
    pub fn byte_value(&self) -> Option<u8> {
        if self.max > 255 {
            return None;
        }
        u8::try_from(self.value).ok()
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

    /// Σ wᵢ·vᵢ + c with constant weights: no constraints. The bound is
    /// Σ wᵢ·maxᵢ + c (weights are non-negative, so it is tight for the operands).
    pub fn lin(&self, terms: &[(u64, &Val)], c: u64) -> Val {
        let value = terms
            .iter()
            .fold(c, |acc, (w, v)| acc.wrapping_add(w.wrapping_mul(v.value)));
        let max = terms
            .iter()
            .try_fold(c, |acc, (w, v)| acc.checked_add(w.checked_mul(v.max)?))
            .unwrap_or(UNBOUNDED);
        let num = self.builder.map(|_| {
            let nums: Vec<(Fr, Num)> = terms
                .iter()
                .map(|(w, v)| (Fr::from(*w), v.to_num()))
                .collect();
            Num::sum(nums.iter().map(|(w, n)| (*w, n))).add_const(Fr::from(c))
        });
        Val { value, max, num }
    }

    /// ⌊v / 2^k⌋, bounded by `v.max() >> k`.
    ///
    /// In-circuit: q < 2^bits(max >> k) is witnessed and r = v − q·2^k (a linear
    /// combination) is range-checked below 2^k, so no constraint ties them. Because
    /// `max` is derived from range-checked bytes and constant non-negative weights,
    /// v ≤ max really holds, both sides stay far below the field's modulus, and q
    /// is pinned to the true quotient. A value whose bound overflowed is refused.
    pub fn shr(&self, v: &Val, k: u32) -> Result<Val, SynthesisError> {
        if v.max == UNBOUNDED || k >= 64 {
            return Err(SynthesisError::Unsatisfiable);
        }
        debug_assert!(v.value <= v.max, "{} exceeds its bound {}", v.value, v.max);
        let (q, max) = (v.value >> k, v.max >> k);
        let Some(b) = self.builder else {
            return Ok(Val {
                value: q,
                max,
                num: None,
            });
        };
        let q_bits = (64 - max.leading_zeros()) as usize;
        let q_num = witness_range(b, Some(q), q_bits)?;
        let r_num = v.to_num().sub(&q_num.scale(Fr::from(1u64 << k)));
        enforce_range(b, &r_num, k as usize)?;
        Ok(Val {
            value: q,
            max,
            num: Some(q_num),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpegs_zk::ConstraintSystem;

    /// A circuit value with a chosen bound (tests only: kernels cannot do this).
    fn witness(b: &Builder, claimed: u64, actual: u64, max: u64) -> Val {
        Val {
            value: claimed,
            max,
            num: Some(b.witness(Some(Fr::from(actual))).unwrap()),
        }
    }

    #[test]
    fn shift_is_exact_and_rejects_a_wrong_quotient() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let a = Arith::circuit(&b);
        let x = witness(&b, 1000, 1000, 1333);
        let s = a.lin(&[(3, &x)], 7);
        assert_eq!(s.max(), 4006);
        let q = a.shr(&s, 4).unwrap();
        assert_eq!((q.value(), q.max()), (3007 >> 4, 4006 >> 4));
        assert!(b.is_satisfied().unwrap());
        assert_eq!(Arith::native().shr(&s, 4).unwrap().value(), q.value());

        // A prover claiming v = 3007 for a value of 3008 cannot satisfy it.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let a = Arith::circuit(&b);
        a.shr(&witness(&b, 3007, 3008, 4000), 4).unwrap();
        assert!(!b.is_satisfied().unwrap());
    }

    #[test]
    fn bounds_follow_the_arithmetic_not_the_data() {
        let a = Arith::native();
        let (black, white) = (Val::input(0), Val::input(255));
        assert_eq!((black.max(), white.max()), (255, 255));
        let sum = a.lin(&[(2, &black), (3, &white)], 10);
        assert_eq!((sum.value(), sum.max()), (775, 5 * 255 + 10));
        let q = a.shr(&sum, 2).unwrap();
        assert_eq!((q.value(), q.max()), (193, 321));
        assert_eq!(
            q.byte_value(),
            None,
            "193 fits a byte, but its bound does not"
        );
        assert_eq!(
            a.shr(&a.lin(&[(1, &white)], 0), 0).unwrap().byte_value(),
            Some(255)
        );
        assert_eq!(Val::constant(256).byte_value(), None);
    }

    #[test]
    fn an_overflowing_bound_is_refused_not_wrapped() {
        let a = Arith::native();
        let big = a.lin(&[(u64::MAX / 2, &Val::input(1))], 0);
        assert_eq!(big.max(), UNBOUNDED);
        assert_eq!(a.shr(&big, 60).unwrap_err(), SynthesisError::Unsatisfiable);
    }
}
