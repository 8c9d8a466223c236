//! [`OutByte`]: the only thing an output tile's digest packs.
//!
//! The packing of a tile into field elements, `Σ bᵢ·256ⁱ`, identifies a unique byte
//! string only if every `bᵢ` is in 0..=255; a "byte" of 257 would read as the bytes
//! (1, 1) of another image. So every output value goes through this type, whose
//! constructors each carry a reason the value is a byte: a range-checked input byte
//! or a copy of one, a constant `u8`, `255 − b` of a range-checked byte, a lookup in
//! a table of `u8`, or a region kernel's [`Val`] whose static bound is at most 255.
//! The field is private, so no filter can wrap an arbitrary number.

use crate::arith::Val;
use ark_bn254::Fr;
use mpegs_zk::lut::lookup_byte;
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, Num, SynthesisError};

/// A circuit value proven to lie in 0..=255.
#[derive(Clone, Debug)]
pub struct OutByte(Num);

impl OutByte {
    /// A range-checked byte (an input byte, or one made by `witness_bytes`).
    pub fn copy(v: &ByteVar) -> Self {
        Self(v.num.clone())
    }

    /// A public constant, fixed in the constraints.
    pub fn constant(v: u8) -> Self {
        Self(Num::from_u64(v as u64))
    }

    /// `255 − v`: linear, and in range because `v` is.
    pub fn complement(v: &ByteVar) -> Self {
        Self(Num::constant(Fr::from(255u64)).sub(&v.num))
    }

    /// `table[v]`: exactly one entry of a table of `u8`s (a two-column lookup).
    pub fn lookup(b: &Builder, v: &ByteVar, table: &[u8; 256]) -> Result<Self, SynthesisError> {
        Ok(Self(lookup_byte(b, v, table)?))
    }

    /// A region kernel's output. Refused (unsatisfiable for every witness, so no key
    /// can be made either) when its bound exceeds 255: the filter should have
    /// refused such parameters when it was configured, and this is the last line.
    pub fn from_val(v: &Val) -> Result<Self, SynthesisError> {
        if v.max() > 255 {
            return Err(SynthesisError::Unsatisfiable);
        }
        Ok(Self(v.to_num()))
    }

    /// The circuit number to pack.
    pub fn num(&self) -> &Num {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arith::Arith;
    use mpegs_zk::ConstraintSystem;

    #[test]
    fn region_values_are_bytes_only_when_their_bound_is() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs);
        let white = mpegs_zk::range::witness_bytes(&b, &[Some(255)]).unwrap();
        let a = Arith::circuit(&b);
        let v = Val::byte(&white[0]);
        assert!(OutByte::from_val(&v).is_ok());
        // 255 + 1 may be honest arithmetic, but it is not a byte.
        let over = a.lin(&[(1, &v)], 1);
        assert_eq!(
            OutByte::from_val(&over).unwrap_err(),
            SynthesisError::Unsatisfiable
        );
        // Bounds are static: on a black pixel the same arithmetic gives 1, and is
        // refused all the same.
        let black = mpegs_zk::range::witness_bytes(&b, &[Some(0)]).unwrap();
        let one = a.lin(&[(1, &Val::byte(&black[0]))], 1);
        assert_eq!((one.value(), one.max()), (1, 256));
        assert!(OutByte::from_val(&one).is_err());
    }
}
