//! The one range-check gadget every circuit goes through (design.md §1).
//!
//! Today it decomposes into bits (one constraint per bit). A lookup-based argument
//! would replace the bodies of these functions and nothing else: no circuit
//! decomposes values on its own.

use crate::num::{Builder, Num};
use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField};
use ark_relations::gr1cs::SynthesisError;

/// A range-checked byte and its little-endian bits (kept because lookup tables over
/// a byte, e.g. [`crate::lut::lookup_byte`], reuse them for free).
#[derive(Clone, Debug)]
pub struct ByteVar {
    pub num: Num,
    pub bits: Vec<Num>,
    pub value: Option<u8>,
}

/// Allocates private bytes, each proven to lie in 0..=255 (8 constraints a byte).
pub fn witness_bytes(b: &Builder, values: &[Option<u8>]) -> Result<Vec<ByteVar>, SynthesisError> {
    values.iter().map(|v| witness_byte(b, *v)).collect()
}

fn witness_byte(b: &Builder, value: Option<u8>) -> Result<ByteVar, SynthesisError> {
    let (num, bits) = witness_bits(b, value.map(u64::from), 8)?;
    Ok(ByteVar { num, bits, value })
}

/// Allocates an `n`-bit value as `n` private bits; the value is their weighted sum
/// (no extra constraint).
pub fn witness_bits(
    b: &Builder,
    value: Option<u64>,
    n: usize,
) -> Result<(Num, Vec<Num>), SynthesisError> {
    assert!(n <= 64, "witness_bits supports up to 64 bits");
    let bits = (0..n)
        .map(|i| b.bit(value.map(|v| (v >> i) & 1 == 1)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((weighted_sum(&bits), bits))
}

/// Enforces 0 ≤ x < 2^n for an existing value (n + 1 constraints). Fails to prove
/// when the value is out of range.
pub fn enforce_range(b: &Builder, x: &Num, n: usize) -> Result<Vec<Num>, SynthesisError> {
    assert!(n <= 250, "range checks are for small values");
    let bigint = x.value.map(|v| v.into_bigint());
    let bits = (0..n)
        .map(|i| b.bit(bigint.as_ref().map(|v| v.get_bit(i))))
        .collect::<Result<Vec<_>, _>>()?;
    b.enforce_equal(&weighted_sum(&bits), x)?;
    Ok(bits)
}

/// Σ bits_i · 2^i.
pub fn weighted_sum(bits: &[Num]) -> Num {
    let mut pow = Fr::from(1u64);
    let weights: Vec<Fr> = bits
        .iter()
        .map(|_| {
            let w = pow;
            pow.double_in_place();
            w
        })
        .collect();
    Num::sum(weights.into_iter().zip(bits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn range_accepts_in_range_and_rejects_out_of_range() {
        for (v, n, ok) in [
            (255u64, 8, true),
            (256, 8, false),
            (0, 1, true),
            (1023, 10, true),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::new(cs.clone());
            let x = b.witness(Some(Fr::from(v))).unwrap();
            enforce_range(&b, &x, n).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{v} in {n} bits");
        }
        // A negative number (p - 1) is not small.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let x = b.witness(Some(-Fr::from(1u64))).unwrap();
        enforce_range(&b, &x, 16).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }

    #[test]
    fn witness_bytes_cost_eight_constraints_each() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let bytes = witness_bytes(&b, &[Some(7), Some(200)]).unwrap();
        assert_eq!(cs.num_constraints(), 16);
        assert_eq!(bytes[1].num.value, Some(Fr::from(200u64)));
        assert!(cs.is_satisfied().unwrap());
    }
}
