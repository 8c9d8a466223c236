//! The one range-check gadget every circuit goes through (design.md §1).
//!
//! With [`RangeMode::Lookup`] (the default) a range check is a queued lookup into a
//! range table, closed by the log-derivative argument of [`crate::lookup`]: about
//! one constraint per byte instead of eight. With [`RangeMode::Bits`] it is the bit
//! decomposition of the previous backend (one constraint per bit). No circuit
//! decomposes values on its own; code that needs the bits themselves (Merkle path
//! directions) asks for them with [`to_bits`].

use crate::num::{Builder, Num, RangeMode};
use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, BigInteger, PrimeField};
use ark_relations::gr1cs::SynthesisError;

/// A range-checked byte. `bits` holds its little-endian bits in
/// [`RangeMode::Bits`] (where byte tables select on them) and is empty otherwise.
#[derive(Clone, Debug)]
pub struct ByteVar {
    pub num: Num,
    pub bits: Vec<Num>,
    pub value: Option<u8>,
}

/// Allocates private bytes, each proven to lie in 0..=255 (one lookup a byte, or
/// eight constraints in [`RangeMode::Bits`]).
pub fn witness_bytes(b: &Builder, values: &[Option<u8>]) -> Result<Vec<ByteVar>, SynthesisError> {
    values.iter().map(|v| witness_byte(b, *v)).collect()
}

fn witness_byte(b: &Builder, value: Option<u8>) -> Result<ByteVar, SynthesisError> {
    match b.mode() {
        RangeMode::Lookup => {
            let num = b.witness(value.map(|v| Fr::from(v as u64)))?;
            b.queue_range(&num, 8)?;
            Ok(ByteVar {
                num,
                bits: vec![],
                value,
            })
        }
        RangeMode::Bits => {
            let (num, bits) = witness_bits(b, value.map(u64::from), 8)?;
            Ok(ByteVar { num, bits, value })
        }
    }
}

/// Allocates a private value proven to lie in `[0, 2ⁿ)`.
pub fn witness_range(b: &Builder, value: Option<u64>, n: usize) -> Result<Num, SynthesisError> {
    assert!(n <= 64, "witness_range supports up to 64 bits");
    match b.mode() {
        RangeMode::Lookup => {
            let num = b.witness(value.map(Fr::from))?;
            b.queue_range(&num, n as u32)?;
            Ok(num)
        }
        RangeMode::Bits => Ok(witness_bits(b, value, n)?.0),
    }
}

/// Allocates an `n`-bit value as `n` private bits; the value is their weighted sum
/// (no extra constraint). For code that needs the bits themselves.
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

/// Enforces 0 ≤ x < 2ⁿ for an existing value: a lookup of x itself, or of its
/// limbs (⌈n/8⌉ constraints, or one when n has a table of its own), or n + 1
/// constraints in [`RangeMode::Bits`]. Fails to prove when x is out of range.
pub fn enforce_range(b: &Builder, x: &Num, n: usize) -> Result<(), SynthesisError> {
    assert!(n <= 250, "range checks are for small values");
    match b.mode() {
        RangeMode::Lookup => b.queue_range(x, n as u32),
        RangeMode::Bits => to_bits(b, x, n).map(|_| ()),
    }
}

/// The `n` little-endian bits of x, proving 0 ≤ x < 2ⁿ (n + 1 constraints).
pub fn to_bits(b: &Builder, x: &Num, n: usize) -> Result<Vec<Num>, SynthesisError> {
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
    use crate::lookup::HashChallenger;
    use ark_relations::gr1cs::ConstraintSystem;

    fn satisfied(b: &Builder) -> bool {
        b.finalize(Some(&mut HashChallenger)).unwrap();
        b.cs.is_satisfied().unwrap()
    }

    #[test]
    fn range_accepts_in_range_and_rejects_out_of_range_in_both_modes() {
        for mode in [RangeMode::Lookup, RangeMode::Bits] {
            for (v, n, ok) in [
                (255u64, 8, true),
                (256, 8, false),
                (0, 1, true),
                (1023, 10, true),
                (1024, 10, false),
            ] {
                let cs = ConstraintSystem::<Fr>::new_ref();
                let b = Builder::with_mode(cs.clone(), mode);
                let x = b.witness(Some(Fr::from(v))).unwrap();
                enforce_range(&b, &x, n).unwrap();
                assert_eq!(satisfied(&b), ok, "{mode:?}: {v} in {n} bits");
            }
            // A negative number (p - 1) is not small.
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::with_mode(cs.clone(), mode);
            let x = b.witness(Some(-Fr::from(1u64))).unwrap();
            enforce_range(&b, &x, 16).unwrap();
            assert!(!satisfied(&b), "{mode:?}");
        }
    }

    #[test]
    fn bytes_cost_one_lookup_or_eight_bits() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::with_mode(cs.clone(), RangeMode::Bits);
        let bytes = witness_bytes(&b, &[Some(7), Some(200)]).unwrap();
        assert_eq!(cs.num_constraints(), 16);
        assert_eq!(bytes[1].num.value, Some(Fr::from(200u64)));
        assert!(cs.is_satisfied().unwrap());

        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        witness_bytes(&b, &[Some(7), Some(200)]).unwrap();
        assert_eq!((cs.num_constraints(), b.cost()), (0, 2));
        assert!(satisfied(&b));
    }

    #[test]
    fn bits_spell_the_value() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let x = b.witness(Some(Fr::from(0b1011u64))).unwrap();
        let bits = to_bits(&b, &x, 4).unwrap();
        let values: Vec<_> = bits.iter().map(|v| v.value.unwrap()).collect();
        assert_eq!(values, [1u64, 1, 0, 1].map(Fr::from));
        assert!(satisfied(&b));
    }
}
