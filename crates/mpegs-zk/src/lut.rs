//! Exact lookup of any byte → byte table.
//!
//! Used by filters whose per-pixel function depends on one byte only (`eq` on luma,
//! `lut`, `lutrgb`): the table is computed natively with ffmpeg's exact integer
//! semantics, so the circuit needs no division or clamping gadgets at all. With
//! lookups it is a two-column table lookup `(v, table[v])` (two constraints); in
//! [`RangeMode::Bits`] it selects the entry from the byte's bits (≈44 constraints).

use crate::lookup::Table;
use crate::num::{Builder, Num, RangeMode};
use crate::range::ByteVar;
use ark_bn254::Fr;
use ark_ff::One;
use ark_relations::gr1cs::SynthesisError;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The two-column table `(v, table[v])`, named by its contents (so two filters with
/// the same table share it, and different tables never collide). Made once per
/// distinct table (a circuit looks one up per pixel).
pub fn byte_map_table(table: &[u8; 256]) -> Arc<Table> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 256], Arc<Table>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    Arc::clone(cache.entry(*table).or_insert_with(|| {
        let name = format!("bytemap-{}", hex::encode(&Sha256::digest(table)[..16]));
        let rows: Vec<Vec<u64>> = (0..256).map(|v| vec![v as u64, table[v] as u64]).collect();
        Table::new(name, 2, &rows)
    }))
}

/// `table[v]` for a range-checked byte v: a fresh witness looked up together with
/// v, so it can only be the table's entry (a `u8`).
pub fn lookup_byte(b: &Builder, v: &ByteVar, table: &[u8; 256]) -> Result<Num, SynthesisError> {
    match b.mode() {
        RangeMode::Lookup => {
            let out = b.witness(v.value.map(|x| Fr::from(table[x as usize] as u64)))?;
            b.lookup(&byte_map_table(table), &[v.num.clone(), out.clone()])?;
            Ok(out)
        }
        RangeMode::Bits => lookup_byte_by_bits(b, &v.bits, table),
    }
}

/// A non-decreasing function from an integer interval `[lo, hi]` onto bytes, as the
/// tables [`monotone_byte`] looks up: for each output `k`, the first input `B_k`
/// mapping to it and how many do (`W_k`), and the offsets table
/// `{d + K·(w − 1 − d) : w a width, 0 ≤ d < w}`.
#[derive(Debug)]
pub struct MonotoneByte {
    buckets: Arc<Table>,
    offsets: Arc<Table>,
    /// (B_k, W_k) by output k.
    rows: Vec<(u64, u64)>,
    lo: u64,
    hi: u64,
}

/// The offsets' weight: K − 1 = 999 is odd and larger than any width difference,
/// so an offset pins both the width and the distance (see [`monotone_byte`]).
const OFFSET_WEIGHT: u64 = 1000;
/// Widest bucket [`MonotoneByte`] takes (offsets stay far below the field size).
const MAX_WIDTH: u64 = 900;

impl MonotoneByte {
    /// Tabulates `f` on `[lo, hi]`. Panics (a programming error, not input) unless
    /// f is non-decreasing, hits every byte from f(lo) to f(hi) and no bucket is
    /// wider than 900.
    pub fn new(name: &str, lo: u64, hi: u64, f: impl Fn(u64) -> u8) -> Self {
        let mut rows: Vec<(u64, u64)> = vec![(0, 0); 256];
        let mut seen = vec![false; 256];
        let mut prev: Option<u8> = None;
        for x in lo..=hi {
            let y = f(x);
            if let Some(p) = prev {
                assert!(y == p || y == p + 1, "{name}: f must step by at most one");
            }
            let row = &mut rows[y as usize];
            if !seen[y as usize] {
                *row = (x, 0);
                seen[y as usize] = true;
            }
            row.1 += 1;
            prev = Some(y);
        }
        assert!(
            rows.iter().all(|r| r.1 <= MAX_WIDTH),
            "{name}: bucket too wide"
        );
        let table_rows: Vec<Vec<u64>> = (0..256)
            .filter(|k| seen[*k])
            .map(|k| vec![k as u64, rows[k].0, rows[k].1])
            .collect();
        let widths: std::collections::BTreeSet<u64> =
            rows.iter().filter(|r| r.1 > 0).map(|r| r.1).collect();
        let offsets: Vec<Vec<u64>> = widths
            .iter()
            .flat_map(|&w| (0..w).map(move |d| vec![d + OFFSET_WEIGHT * (w - 1 - d)]))
            .collect();
        Self {
            buckets: Table::new(format!("{name}-buckets"), 3, &table_rows),
            offsets: Table::new(format!("{name}-offsets"), 1, &offsets),
            rows,
            lo,
            hi,
        }
    }

    /// Rows of both tables (what the lookup argument pays once per circuit).
    pub fn table_rows(&self) -> usize {
        self.buckets.rows() + self.offsets.rows()
    }
}

/// `y = f(t)` for a [`MonotoneByte`] f: looks up `(y, B, W)` among the buckets and
/// the offset `e = (t − B) + K·(B + W − 1 − t)` among the offsets (two lookups, five
/// constraints). The output is a byte (the table's first column).
///
/// Precondition, which the caller proves: `s·t` is an integer of at most 60 bits
/// for some `s` coprime to 999 (e.g. `512·t = S − r` with a range-checked
/// remainder r). Then, with (w', d') the offset row matched,
/// `(1 − K)(t − B − d') = K(w' − W)` multiplied by s is an equation between small
/// integers, so 999 divides s·(w' − W), hence w' = W and t = B + d' with
/// 0 ≤ d' < W: t lies in y's bucket.
pub fn monotone_byte(
    b: &Builder,
    f: &MonotoneByte,
    t: &Num,
    t_value: Option<u64>,
) -> Result<ByteVar, SynthesisError> {
    if !b.has_lookups() {
        return Err(SynthesisError::Unsatisfiable);
    }
    // The honest bucket (zeros when t is outside the domain: then nothing fits).
    let k = t_value.filter(|t| (f.lo..=f.hi).contains(t)).and_then(|t| {
        f.rows
            .iter()
            .position(|r| r.1 > 0 && t >= r.0 && t < r.0 + r.1)
    });
    let (start, width) = k.map(|k| f.rows[k]).unwrap_or((0, 0));
    let y = b.witness(Some(Fr::from(k.unwrap_or(0) as u64)))?;
    let start = b.witness(Some(Fr::from(start)))?;
    let width = b.witness(Some(Fr::from(width)))?;
    b.lookup(&f.buckets, &[y.clone(), start.clone(), width.clone()])?;
    let kw = Fr::from(OFFSET_WEIGHT);
    let below = t.sub(&start);
    let above = start.add(&width).add_const(-Fr::one()).sub(t);
    b.lookup(&f.offsets, &[below.add(&above.scale(kw))])?;
    Ok(ByteVar {
        num: y,
        bits: vec![],
        value: k.map(|k| k as u8),
    })
}

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
fn lookup_byte_by_bits(
    b: &Builder,
    bits: &[Num],
    table: &[u8; 256],
) -> Result<Num, SynthesisError> {
    if bits.len() != 8 {
        return Err(SynthesisError::Unsatisfiable);
    }
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
    /// floor(x / 7) on [0, 255·7 + 3]: a step function with equal buckets but the last.
    fn sevenths() -> MonotoneByte {
        MonotoneByte::new("sevenths", 0, 255 * 7 + 3, |x| (x / 7) as u8)
    }

    /// A circuit proving y = f(t) for t = (s − r)/8 with r < 8, the kind of
    /// precondition format=gray has.
    fn step(t_claim: u64, y_claim: Option<u8>) -> bool {
        let f = sevenths();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let s_value = t_claim * 8 + 5;
        let s = b.input(Some(Fr::from(s_value))).unwrap();
        let t = b.witness(Some(Fr::from(t_claim))).unwrap();
        crate::range::enforce_range(&b, &s.sub(&t.scale(Fr::from(8u64))), 3).unwrap();
        let y = monotone_byte(&b, &f, &t, Some(t_claim)).unwrap();
        if let Some(claim) = y_claim {
            let pinned = b.input(Some(Fr::from(claim as u64))).unwrap();
            b.enforce_equal(&y.num, &pinned).unwrap();
        }
        satisfied(&b)
    }

    #[test]
    fn monotone_lookup_gives_exactly_f() {
        for t in [0u64, 6, 7, 13, 700, 1785, 1788] {
            assert!(step(t, Some((t / 7) as u8)), "t = {t}");
            assert!(!step(t, Some((t / 7) as u8 ^ 1)), "t = {t}, wrong y");
        }
        assert!(!step(1789, None), "outside the domain");
    }

    /// A prover who witnesses a neighbouring bucket's start for t (so that t − B
    /// is out of the bucket) finds no offset row.
    #[test]
    fn a_neighbouring_bucket_does_not_fit() {
        let f = sevenths();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let t = b.witness(Some(Fr::from(14u64))).unwrap(); // bucket 2: [14, 21)
        let y = b.witness(Some(Fr::from(1u64))).unwrap();
        let start = b.witness(Some(Fr::from(7u64))).unwrap();
        let width = b.witness(Some(Fr::from(7u64))).unwrap();
        b.lookup(&f.buckets, &[y, start.clone(), width.clone()])
            .unwrap();
        let below = t.sub(&start);
        let above = start.add(&width).add_const(-Fr::one()).sub(&t);
        b.lookup(
            &f.offsets,
            &[below.add(&above.scale(Fr::from(OFFSET_WEIGHT)))],
        )
        .unwrap();
        assert!(!satisfied(&b));
    }

    use super::*;
    use crate::lookup::HashChallenger;
    use crate::range::witness_bytes;
    use ark_relations::gr1cs::ConstraintSystem;

    fn satisfied(b: &Builder) -> bool {
        b.finalize(Some(&mut HashChallenger)).unwrap();
        b.cs.is_satisfied().unwrap()
    }

    #[test]
    fn lookup_is_exact_for_every_byte_in_both_modes() {
        let table: [u8; 256] = std::array::from_fn(|i| ((i * 97 + 13) % 251) as u8);
        for mode in [RangeMode::Lookup, RangeMode::Bits] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::with_mode(cs.clone(), mode);
            let values: Vec<Option<u8>> = (0..=255u8).map(Some).collect();
            for byte in witness_bytes(&b, &values).unwrap() {
                let out = lookup_byte(&b, &byte, &table).unwrap();
                let expected = table[byte.value.unwrap() as usize];
                assert_eq!(out.value, Some(Fr::from(expected as u64)));
                let pinned = b.input(out.value).unwrap();
                b.enforce_equal(&out, &pinned).unwrap();
            }
            assert!(satisfied(&b), "{mode:?}");
        }
    }

    #[test]
    fn a_wrong_output_is_unsatisfiable() {
        let table: [u8; 256] = std::array::from_fn(|i| 255 - i as u8);
        for mode in [RangeMode::Lookup, RangeMode::Bits] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let b = Builder::with_mode(cs.clone(), mode);
            let byte = witness_bytes(&b, &[Some(10)]).unwrap().remove(0);
            let out = lookup_byte(&b, &byte, &table).unwrap();
            let claimed = b.input(Some(Fr::from(244u64))).unwrap();
            b.enforce_equal(&out, &claimed).unwrap();
            assert!(!satisfied(&b), "{mode:?}");
        }
    }

    /// The lookup's output is a witness: a prover who writes another value into
    /// it (here 244 for table[10] = 245) makes the pair (10, 244) a non-row.
    #[test]
    fn a_tampered_output_witness_fails_the_lookup() {
        let table: [u8; 256] = std::array::from_fn(|i| 255 - i as u8);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let b = Builder::new(cs.clone());
        let byte = witness_bytes(&b, &[Some(10)]).unwrap().remove(0);
        lookup_byte(&b, &byte, &table).unwrap();
        b.finalize(Some(&mut HashChallenger)).unwrap();
        cs.finalize();
        assert_eq!(crate::lookup::tests::unsatisfied_rows(&cs), 0);
        // The output is witness 1 (after the byte).
        cs.borrow_mut().unwrap().assignments.witness_assignment[1] = Fr::from(244u64);
        assert!(crate::lookup::tests::unsatisfied_rows(&cs) > 0);
    }
}
