//! Exact lookup of any byte → byte table from a byte's bits (≈44 constraints).
//!
//! Used by filters whose per-pixel function depends on one byte only (`eq` on luma,
//! later `lut`): the table is computed natively with ffmpeg's exact integer
//! semantics, so the circuit needs no division or clamping gadgets at all.

use crate::num::{Builder, Num};
use ark_bn254::Fr;
use ark_ff::One;
use ark_relations::gr1cs::SynthesisError;

/// The 2^k one-hot selectors of k bits: `sel[v] = 1` iff the bits spell v.
fn selectors(b: &Builder, bits: &[Num]) -> Result<Vec<Num>, SynthesisError> {
    let mut sels = vec![Num::constant(Fr::one())];
    for bit in bits {
        let mut next = vec![Num::zero(); sels.len() * 2];
        for (v, s) in sels.iter().enumerate() {
            let with = b.mul(s, bit)?;
            next[v] = s.sub(&with);
            next[v + sels.len()] = with;
        }
        sels = next;
    }
    Ok(sels)
}

/// `table[v]` where `bits` are the 8 little-endian bits of a range-checked byte v.
pub fn lookup_byte(b: &Builder, bits: &[Num], table: &[u8; 256]) -> Result<Num, SynthesisError> {
    assert_eq!(bits.len(), 8, "a byte has 8 bits");
    let low = selectors(b, &bits[..4])?;
    let high = selectors(b, &bits[4..])?;
    let mut terms = Vec::with_capacity(16);
    for (h, sel_h) in high.iter().enumerate() {
        let row = &table[16 * h..16 * h + 16];
        let inner = Num::sum(row.iter().map(|v| Fr::from(*v as u64)).zip(low.iter()));
        terms.push(b.mul(sel_h, &inner)?);
    }
    Ok(Num::sum(terms.iter().map(|t| (Fr::one(), t))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::witness_bytes;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn lookup_is_exact_for_every_byte() {
        let table: [u8; 256] = std::array::from_fn(|i| ((i * 97 + 13) % 251) as u8);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let values: Vec<Option<u8>> = (0..=255u8).map(Some).collect();
        for byte in witness_bytes(&b, &values).unwrap() {
            let out = lookup_byte(&b, &byte.bits, &table).unwrap();
            let expected = table[byte.value.unwrap() as usize];
            assert_eq!(out.value, Some(Fr::from(expected as u64)));
            let pinned = b.input(out.value).unwrap();
            b.enforce_equal(&out, &pinned).unwrap();
        }
        assert!(cs.is_satisfied().unwrap());
    }

    #[test]
    fn a_wrong_output_is_unsatisfiable() {
        let table: [u8; 256] = std::array::from_fn(|i| 255 - i as u8);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let byte = witness_bytes(&b, &[Some(10)]).unwrap().remove(0);
        let out = lookup_byte(&b, &byte.bits, &table).unwrap();
        let claimed = b.input(Some(Fr::from(244u64))).unwrap();
        b.enforce_equal(&out, &claimed).unwrap();
        assert!(!cs.is_satisfied().unwrap());
    }
}
