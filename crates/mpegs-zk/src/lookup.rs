//! Log-derivative lookups (logUp) for Groth16, closed by a commitment to the
//! looked-up wires (docs/lookups.md has the protocol and its soundness argument).
//!
//! While a circuit is synthesized, range checks and table lookups are only queued
//! (a query is a linear combination per column, never new constraints). When the
//! circuit is done, [`Builder::finalize`] closes the argument:
//!
//! 1. range queries are split into limbs (fresh witnesses) and become lookups into
//!    range tables `[0, 2ⁿ)`; the limb size is chosen per width from the counts;
//! 2. a multiplicity witness is allocated for every row of every table used;
//! 3. a blinding witness (random, in one trivial constraint) is allocated, so the
//!    commitment hides the committed wires (the lesson of gnark's CVE-2024-45040);
//! 4. the *committed wires* are fixed: every witness variable that appears in a
//!    queried combination, the limbs, the multiplicities and the blinding. The
//!    [`Challenger`] sees the statement's public inputs and their values and
//!    returns the challenges α (and β when a table has several columns): the
//!    prover derives them by hashing the public inputs and a Pedersen commitment to
//!    exactly these wires, which the proof carries and the verifier re-hashes;
//! 5. the challenges become public inputs, and for each query `invᵢ·(α − xᵢ) = 1`,
//!    for each table row `qⱼ·(α − tⱼ) = mⱼ`, and per table `Σ invᵢ = Σ qⱼ`.
//!
//! A query of several columns is combined as `c₀ + β·c₁ + β²·c₂` (one product per
//! extra column). Each table has its own sum: a shared sum would let a value
//! looked up in a small table be matched by a row of a larger one.

use crate::num::{Builder, Num, RangeMode};
use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, One, PrimeField};
use ark_relations::gr1cs::SynthesisError;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Largest width given its own range table `[0, 2ⁿ)` (wider ranges are split into
/// limbs of at most this many bits).
const MAX_TABLE_BITS: u32 = 12;
/// Limb width when a range is split.
const LIMB_BITS: u32 = 8;

/// What a constraint is spent on, for breakdowns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Part {
    #[default]
    Other,
    Range,
    Hashing,
    Filter,
}

/// Constraints by [`Part`]. The lookup argument's fixed costs (table rows, sums,
/// blinding) count as range checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PartCounts {
    pub range: usize,
    pub hashing: usize,
    pub filter: usize,
    pub other: usize,
}

impl PartCounts {
    fn slot(&mut self, part: Part) -> &mut usize {
        match part {
            Part::Other => &mut self.other,
            Part::Range => &mut self.range,
            Part::Hashing => &mut self.hashing,
            Part::Filter => &mut self.filter,
        }
    }
}

/// A fixed table of small non-negative integers, one or more columns a row. Two
/// tables are the same table when their names are equal (then their rows must be
/// too): a circuit may query a table from many places.
#[derive(Debug, PartialEq, Eq)]
pub struct Table {
    name: String,
    columns: usize,
    /// Row-major.
    cells: Vec<u64>,
}

impl Table {
    /// A table of rows of `columns` values each.
    pub fn new(name: impl Into<String>, columns: usize, rows: &[Vec<u64>]) -> Arc<Self> {
        assert!((1..=3).contains(&columns), "tables have 1 to 3 columns");
        assert!(rows.iter().all(|r| r.len() == columns), "ragged table");
        Arc::new(Self {
            name: name.into(),
            columns,
            cells: rows.iter().flatten().copied().collect(),
        })
    }

    /// `[0, 2ⁿ)`, one column.
    pub fn range(bits: u32) -> Arc<Self> {
        assert!(bits <= MAX_TABLE_BITS, "range tables are small");
        Arc::new(Self {
            name: format!("range{bits}"),
            columns: 1,
            cells: (0..1u64 << bits).collect(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn columns(&self) -> usize {
        self.columns
    }

    pub fn rows(&self) -> usize {
        self.cells.len() / self.columns
    }

    fn row(&self, j: usize) -> &[u64] {
        &self.cells[j * self.columns..(j + 1) * self.columns]
    }
}

struct Query {
    table: usize,
    columns: Vec<Num>,
    part: Part,
}

struct RangeQuery {
    x: Num,
    bits: u32,
    part: Part,
}

/// The lookups a circuit has queued, and constraint attribution by part.
#[derive(Default)]
pub(crate) struct Log {
    tables: Vec<Arc<Table>>,
    /// Index in `tables` of each range table by width.
    range_tables: HashMap<u32, usize>,
    queries: Vec<Query>,
    ranges: Vec<RangeQuery>,
    part: Part,
    part_start: usize,
    counts: PartCounts,
    closed: Option<Closed>,
}

impl Log {
    pub(crate) fn closed_once(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    pub(crate) fn pending_cost(&self) -> usize {
        if self.closed.is_some() {
            return 0;
        }
        let queries: usize = self.queries.iter().map(|q| q.columns.len()).sum();
        let ranges: usize = self
            .ranges
            .iter()
            .map(|r| r.bits.div_ceil(LIMB_BITS) as usize)
            .sum();
        queries + ranges
    }

    pub(crate) fn switch_part(&mut self, part: Part, now: usize) -> Part {
        let previous = self.part;
        *self.counts.slot(previous) += now - self.part_start;
        self.part = part;
        self.part_start = now;
        previous
    }

    pub(crate) fn part_counts(&self, now: usize) -> PartCounts {
        let mut counts = self.counts;
        *counts.slot(self.part) += now - self.part_start;
        if self.closed.is_none() {
            // Not closed yet: count queued lookups as one constraint a column or limb.
            for q in &self.queries {
                *counts.slot(q.part) += q.columns.len();
            }
            for r in &self.ranges {
                *counts.slot(r.part) += r.bits.div_ceil(LIMB_BITS) as usize;
            }
        }
        counts
    }

    fn table_index(&mut self, table: &Arc<Table>) -> usize {
        if let Some(i) = self.tables.iter().position(|t| t.name == table.name) {
            assert!(
                Arc::ptr_eq(&self.tables[i], table) || self.tables[i] == *table,
                "two different tables named {}",
                table.name
            );
            return i;
        }
        self.tables.push(Arc::clone(table));
        self.tables.len() - 1
    }
}

/// What closing the argument fixed: how the backend must treat each variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closed {
    /// Public inputs of the statement (instance variables before the challenges,
    /// without the constant one).
    pub statement_inputs: usize,
    /// Challenges allocated as public inputs after the statement's (1 or 2).
    pub challenges: usize,
    /// Witness variables (indices among witnesses) that the commitment covers,
    /// ascending.
    pub committed: Vec<usize>,
}

/// Whoever closes the lookup argument: commits to the committed wires and answers
/// with challenges bound to that commitment and the statement.
pub trait Challenger {
    /// A random value for the blinding wire.
    fn blinding(&mut self) -> Fr;
    /// `count` challenges for the statement's public inputs (`public`, without the
    /// constant one) and the committed wires (`indices` among witnesses, and their
    /// `values`).
    fn challenges(
        &mut self,
        public: &[Fr],
        indices: &[usize],
        values: &[Fr],
        count: usize,
    ) -> Result<Vec<Fr>, SynthesisError>;
}

/// A challenger for constraint-level tests and counts: challenges hash the
/// committed values (no keys, no commitment; tests only check satisfiability).
pub struct HashChallenger;

impl Challenger for HashChallenger {
    fn blinding(&mut self) -> Fr {
        Fr::from(0x5eed_u64)
    }

    fn challenges(
        &mut self,
        public: &[Fr],
        _indices: &[usize],
        values: &[Fr],
        count: usize,
    ) -> Result<Vec<Fr>, SynthesisError> {
        use sha3::{Digest, Keccak256};
        let mut h = Keccak256::new();
        for v in public.iter().chain(values) {
            h.update(v.into_bigint().to_bytes_be());
        }
        let seed = h.finalize();
        Ok((0..count)
            .map(|i| {
                let mut h = Keccak256::new();
                h.update(seed);
                h.update([i as u8]);
                Fr::from_be_bytes_mod_order(&h.finalize())
            })
            .collect())
    }
}

impl Builder {
    /// Queues a lookup of `columns` (one value per table column) in `table`.
    /// Costs one constraint per column when the argument is closed. In
    /// [`RangeMode::Bits`] there are no lookups: callers check
    /// [`Builder::has_lookups`] first.
    pub fn lookup(&self, table: &Arc<Table>, columns: &[Num]) -> Result<(), SynthesisError> {
        if !self.has_lookups() || columns.len() != table.columns {
            return Err(SynthesisError::Unsatisfiable);
        }
        let mut log = self.log.borrow_mut();
        if log.closed.is_some() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let t = log.table_index(table);
        let part = log.part;
        log.queries.push(Query {
            table: t,
            columns: columns.to_vec(),
            part,
        });
        Ok(())
    }

    /// Queues `0 ≤ x < 2^bits` (lookup mode).
    pub(crate) fn queue_range(&self, x: &Num, bits: u32) -> Result<(), SynthesisError> {
        let mut log = self.log.borrow_mut();
        if log.closed.is_some() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let part = log.part;
        log.ranges.push(RangeQuery {
            x: x.clone(),
            bits,
            part,
        });
        Ok(())
    }

    /// How the backend must treat the variables, once closed.
    pub fn closed(&self) -> Option<Closed> {
        self.log.borrow().closed.clone()
    }

    /// Closes the lookup argument (see the module docs). `challenger` is needed when
    /// the constraint system carries values (proving, tests); in setup mode it is
    /// not asked. Closing twice is an error. In [`RangeMode::Bits`] nothing is
    /// queued and nothing is allocated.
    pub fn finalize(
        &self,
        challenger: Option<&mut dyn Challenger>,
    ) -> Result<Closed, SynthesisError> {
        if self.log.borrow().closed.is_some() {
            return Err(SynthesisError::Unsatisfiable);
        }
        if self.mode() == RangeMode::Bits {
            let closed = Closed {
                statement_inputs: self.cs.num_instance_variables() - 1,
                challenges: 0,
                committed: vec![],
            };
            self.log.borrow_mut().closed = Some(closed.clone());
            return Ok(closed);
        }
        let statement_inputs = self.cs.num_instance_variables() - 1;
        // The argument's own constraints count as range checks; each query's are
        // moved to the part that queued it.
        let outer = self.set_part(Part::Range);
        self.split_ranges()?;
        let setup = self.cs.is_in_setup_mode();
        let (tables, queries) = {
            let mut log = self.log.borrow_mut();
            (log.tables.clone(), std::mem::take(&mut log.queries))
        };
        // Multiplicities: one committed witness per row of every table used.
        let counts = if setup {
            tables.iter().map(|t| vec![0u64; t.rows()]).collect()
        } else {
            multiplicities(&tables, &queries)
        };
        let mult: Vec<Vec<Num>> = tables
            .iter()
            .zip(&counts)
            .map(|(_, c)| {
                c.iter()
                    .map(|m| self.witness(Some(Fr::from(*m))))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let mut challenger = challenger;
        let blinding_value = match (&mut challenger, setup) {
            (Some(c), false) => Some(c.blinding()),
            _ if setup => None,
            _ => return Err(SynthesisError::AssignmentMissing),
        };
        let blinding = self.witness(blinding_value)?;
        // blinding · 1 = blinding: puts the wire in a constraint, so its commitment
        // key is a non-zero point and the commitment is hiding.
        self.enforce_product(&blinding, &Num::constant(Fr::one()), &blinding)?;

        let committed = committed_witnesses(&queries, &mult, &blinding);
        let multi_column = tables.iter().any(|t| t.columns > 1);
        let count = if multi_column { 2 } else { 1 };
        let values = if setup {
            None
        } else {
            let public = self
                .cs
                .instance_assignment()
                .map_err(|_| SynthesisError::AssignmentMissing)?;
            let witness = self
                .cs
                .witness_assignment()
                .map_err(|_| SynthesisError::AssignmentMissing)?;
            let committed_values: Vec<Fr> = committed.iter().map(|&i| witness[i]).collect();
            let c = challenger.ok_or(SynthesisError::AssignmentMissing)?;
            let challenges = c.challenges(&public[1..], &committed, &committed_values, count)?;
            if challenges.len() != count {
                return Err(SynthesisError::Unsatisfiable);
            }
            Some(challenges)
        };
        let challenge = |i: usize| values.as_ref().map(|v| v[i]);
        let alpha = self.input(challenge(0))?;
        let powers = if multi_column {
            let beta = self.input(challenge(1))?;
            let beta2 = self.mul(&beta, &beta)?;
            vec![beta, beta2]
        } else {
            vec![]
        };

        // Denominators α − xᵢ of every lookup and α − tⱼ of every row, then one batch
        // inversion for all of them (Montgomery's trick).
        let mut denominators = Vec::with_capacity(queries.len());
        for q in &queries {
            let before = self.cs.num_constraints();
            let encoded = self.encode(&q.columns, &powers)?;
            denominators.push(alpha.sub(&encoded));
            self.attribute(q.part, self.cs.num_constraints() - before);
        }
        let mut row_denominators = Vec::with_capacity(tables.len());
        for table in &tables {
            let rows = (0..table.rows())
                .map(|j| {
                    let row: Vec<Num> = table.row(j).iter().map(|v| Num::from_u64(*v)).collect();
                    Ok(alpha.sub(&self.encode(&row, &powers)?))
                })
                .collect::<Result<Vec<_>, SynthesisError>>()?;
            row_denominators.push(rows);
        }
        let mut inverses: Option<Vec<Fr>> = denominators
            .iter()
            .chain(row_denominators.iter().flatten())
            .map(|d| d.value)
            .collect();
        if let Some(values) = inverses.as_mut() {
            // A zero denominator (α equal to a looked-up value, probability ~2⁻²³⁰)
            // stays zero: that lookup's constraint then fails.
            ark_ff::batch_inversion(values);
        }
        let inverse = |i: usize| inverses.as_ref().map(|v| v[i]);

        let mut inverse_sums: Vec<Vec<Num>> = vec![vec![]; tables.len()];
        for (i, (q, d)) in queries.iter().zip(&denominators).enumerate() {
            let before = self.cs.num_constraints();
            // inv · d = 1, the inverse on the A side so the looked-up values, usually
            // small, sit in the B query.
            let inv = self.witness(inverse(i))?;
            self.enforce_product(&inv, d, &Num::constant(Fr::one()))?;
            inverse_sums[q.table].push(inv);
            self.attribute(q.part, self.cs.num_constraints() - before);
        }
        let mut next = queries.len();
        for (t, rows) in row_denominators.iter().enumerate() {
            let mut row_terms = Vec::with_capacity(rows.len());
            for (d, m) in rows.iter().zip(&mult[t]) {
                // q = m / (α − t): zero for unused rows.
                let q = self.witness(inverse(next).zip(m.value).map(|(inv, m)| m * inv))?;
                next += 1;
                self.enforce_product(&q, d, m)?;
                row_terms.push(q);
            }
            let one = Fr::one();
            let lhs = Num::sum(inverse_sums[t].iter().map(|n| (one, n)));
            let rhs = Num::sum(row_terms.iter().map(|n| (one, n)));
            self.enforce_equal(&lhs, &rhs)?;
        }
        self.set_part(outer);
        let closed = Closed {
            statement_inputs,
            challenges: count,
            committed,
        };
        self.log.borrow_mut().closed = Some(closed.clone());
        Ok(closed)
    }

    /// Splits every queued range into lookups: a width with its own table when that
    /// is cheaper, else limbs of [`LIMB_BITS`] (fresh witnesses) with the top limb
    /// taken as a linear combination, so the split needs no extra constraint.
    fn split_ranges(&self) -> Result<(), SynthesisError> {
        let ranges = std::mem::take(&mut self.log.borrow_mut().ranges);
        let mut counts: HashMap<u32, usize> = HashMap::new();
        for r in &ranges {
            *counts.entry(r.bits).or_default() += 1;
        }
        for r in ranges {
            if r.bits == 0 {
                self.enforce_equal(&r.x, &Num::zero())?;
            } else if own_table(r.bits, counts[&r.bits]) {
                self.lookup_range(r.bits, r.x, r.part);
            } else {
                let limbs = (r.bits - 1) / LIMB_BITS; // all but the top limb
                let low = r.x.value.map(|v| v.into_bigint());
                let mut rest = r.x.clone();
                let shift = Fr::from(1u64 << LIMB_BITS);
                let shift_inv = shift.inverse().expect("2^8 is invertible");
                for i in 0..limbs {
                    let limb_value = low.as_ref().map(|v| {
                        let mut x = 0u64;
                        for b in 0..LIMB_BITS {
                            x |= (v.get_bit((i * LIMB_BITS + b) as usize) as u64) << b;
                        }
                        Fr::from(x)
                    });
                    let limb = self.witness(limb_value)?;
                    rest = rest.sub(&limb).scale(shift_inv);
                    self.lookup_range(LIMB_BITS, limb, r.part);
                }
                let top = r.bits - limbs * LIMB_BITS;
                self.lookup_range(top, rest, r.part);
            }
        }
        Ok(())
    }

    /// Queues `x` in the range table `[0, 2^bits)` (made once per circuit).
    fn lookup_range(&self, bits: u32, x: Num, part: Part) {
        let mut log = self.log.borrow_mut();
        let t = match log.range_tables.get(&bits) {
            Some(t) => *t,
            None => {
                let t = log.table_index(&Table::range(bits));
                log.range_tables.insert(bits, t);
                t
            }
        };
        log.queries.push(Query {
            table: t,
            columns: vec![x],
            part,
        });
    }

    /// `c₀ + β·c₁ + β²·c₂` (a product per non-constant extra column).
    fn encode(&self, columns: &[Num], powers: &[Num]) -> Result<Num, SynthesisError> {
        let mut out = columns[0].clone();
        for (c, p) in columns[1..].iter().zip(powers) {
            out = out.add(&self.mul(p, c)?);
        }
        Ok(out)
    }

    /// Moves `n` constraints already counted under the current part to `part`.
    fn attribute(&self, part: Part, n: usize) {
        let mut log = self.log.borrow_mut();
        *log.counts.slot(part) += n;
        // They were made while another part was active: keep them out of its delta.
        log.part_start += n;
    }
}

/// Whether a width gets its own table `[0, 2ⁿ)` (n ≤ 8 always: one lookup, at most
/// 256 rows) or is split into 8-bit limbs: the cheaper of the two for `count`
/// queries, counting a table's rows as constraints.
fn own_table(bits: u32, count: usize) -> bool {
    if bits <= LIMB_BITS {
        return true;
    }
    if bits > MAX_TABLE_BITS {
        return false;
    }
    let limbs = bits.div_ceil(LIMB_BITS) as usize;
    let top_rows = 1usize << (bits - (limbs as u32 - 1) * LIMB_BITS);
    count + (1usize << bits) < count * limbs + top_rows
}

/// How many times each row of each table is looked up (values not in a table are
/// not counted: the sums then differ and the proof fails).
fn multiplicities(tables: &[Arc<Table>], queries: &[Query]) -> Vec<Vec<u64>> {
    let mut counts: Vec<Vec<u64>> = tables.iter().map(|t| vec![0; t.rows()]).collect();
    let index: Vec<HashMap<Vec<u64>, usize>> = tables
        .iter()
        .map(|t| (0..t.rows()).map(|j| (t.row(j).to_vec(), j)).collect())
        .collect();
    for q in queries {
        let key: Option<Vec<u64>> = q.columns.iter().map(|c| small(c.value?)).collect();
        if let Some(j) = key.and_then(|k| index[q.table].get(&k)) {
            counts[q.table][*j] += 1;
        }
    }
    counts
}

/// A field element that is a small integer, as that integer.
fn small(v: Fr) -> Option<u64> {
    let big = v.into_bigint();
    let limbs = big.as_ref();
    limbs[1..].iter().all(|l| *l == 0).then_some(limbs[0])
}

/// The committed wires: every witness in a queried combination, the multiplicities
/// and the blinding (ascending, each once).
fn committed_witnesses(queries: &[Query], mult: &[Vec<Num>], blinding: &Num) -> Vec<usize> {
    let mut set = BTreeSet::new();
    let nums = queries
        .iter()
        .flat_map(|q| q.columns.iter())
        .chain(mult.iter().flatten())
        .chain(std::iter::once(blinding));
    for n in nums {
        for (_, v) in n.lc.iter() {
            if v.is_witness() {
                set.insert(v.index().expect("a witness has an index"));
            }
        }
    }
    set.into_iter().collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef, R1CS_PREDICATE_LABEL};

    /// R1CS rows that fail for the current assignment, evaluated from the matrices
    /// (not from cached combinations), after `cs.finalize()`.
    pub(crate) fn unsatisfied_rows(cs: &ConstraintSystemRef<Fr>) -> usize {
        let m = &cs.to_matrices().unwrap()[R1CS_PREDICATE_LABEL];
        let z = [
            cs.instance_assignment().unwrap(),
            cs.witness_assignment().unwrap(),
        ]
        .concat();
        let eval = |row: &Vec<(Fr, usize)>| row.iter().map(|(c, i)| *c * z[*i]).sum::<Fr>();
        (0..m[0].len())
            .filter(|&r| eval(&m[0][r]) * eval(&m[1][r]) != eval(&m[2][r]))
            .count()
    }

    fn builder() -> (Builder, ConstraintSystemRef<Fr>) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        (Builder::new(cs.clone()), cs)
    }

    fn satisfied(b: &Builder) -> bool {
        b.finalize(Some(&mut HashChallenger)).unwrap();
        b.cs.is_satisfied().unwrap()
    }

    #[test]
    fn range_lookups_accept_in_range_and_reject_out_of_range() {
        for (v, n, ok) in [
            (255u64, 8, true),
            (256, 8, false),
            (0, 1, true),
            (2, 1, false),
            (1023, 10, true),
            (1024, 10, false),
            ((1 << 21) - 1, 21, true),
            (1 << 21, 21, false),
        ] {
            let (b, _) = builder();
            let x = b.witness(Some(Fr::from(v))).unwrap();
            b.queue_range(&x, n).unwrap();
            assert_eq!(satisfied(&b), ok, "{v} in {n} bits");
        }
        // p − 1 is not small, whatever the limbs say.
        let (b, _) = builder();
        let x = b.witness(Some(-Fr::one())).unwrap();
        b.queue_range(&x, 16).unwrap();
        assert!(!satisfied(&b));
    }

    #[test]
    fn multi_column_rows_must_match_whole() {
        let table = Table::new("pairs", 2, &[vec![1, 10], vec![2, 20], vec![3, 30]]);
        for (a, c, ok) in [(2u64, 20u64, true), (2, 30, false), (4, 40, false)] {
            let (b, _) = builder();
            let x = b.witness(Some(Fr::from(a))).unwrap();
            let y = b.witness(Some(Fr::from(c))).unwrap();
            b.lookup(&table, &[x, y]).unwrap();
            assert_eq!(satisfied(&b), ok, "({a}, {c})");
        }
    }

    /// A value outside the table with a multiplicity forged to balance the sums:
    /// the prover claims row 0 was used once more than it was. The sums differ by
    /// 1/(α − x) − 1/(α − t₀), which is non-zero for every α but x = t₀.
    #[test]
    fn a_forged_multiplicity_does_not_balance_an_outsider() {
        let (b, cs) = builder();
        let x = b.witness(Some(Fr::from(300u64))).unwrap();
        b.queue_range(&x, 8).unwrap();
        b.finalize(Some(&mut HashChallenger)).unwrap();
        assert!(!cs.is_satisfied().unwrap());
        // Forge: set row 0's multiplicity (the first multiplicity witness, right
        // after x) to 1 and its q to 1/α. Row 0's constraint now holds, the sum
        // constraint still fails, and only it.
        cs.finalize();
        let mut inner = cs.borrow_mut().unwrap();
        let alpha = inner.assignments.instance_assignment[1];
        inner.assignments.witness_assignment[1] = Fr::one();
        let q0 = inner.assignments.witness_assignment.len() - 256;
        inner.assignments.witness_assignment[q0] = alpha.inverse().unwrap();
        drop(inner);
        assert_eq!(tests::unsatisfied_rows(&cs), 1);
    }

    #[test]
    fn costs_one_constraint_per_lookup_plus_the_tables() {
        let (b, cs) = builder();
        let bytes: Vec<Num> = (0..100u64)
            .map(|v| b.witness(Some(Fr::from(v))).unwrap())
            .collect();
        for x in &bytes {
            b.queue_range(x, 8).unwrap();
        }
        assert_eq!(b.cost(), 100);
        let closed = b.finalize(Some(&mut HashChallenger)).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // 100 inverses, 256 table rows, 1 sum, 1 blinding constraint.
        assert_eq!(cs.num_constraints(), 100 + 256 + 1 + 1);
        // Committed: the 100 bytes, 256 multiplicities, the blinding.
        assert_eq!(closed.committed.len(), 100 + 256 + 1);
        assert_eq!(closed.challenges, 1);
    }

    #[test]
    fn own_tables_only_where_they_pay() {
        assert!(own_table(8, 1));
        assert!(own_table(9, 4096));
        assert!(!own_table(9, 10));
        assert!(!own_table(21, 1_000_000));
    }
}
