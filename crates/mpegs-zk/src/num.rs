//! A thin constraint layer: [`Num`] is a linear combination of R1CS variables
//! together with its native value. Additions and constant multiplications are free
//! (they only grow the combination); [`Builder::mul`] costs one constraint.
//!
//! Why not `ark-r1cs-std`'s `FpVar`: every `FpVar` addition allocates a symbolic LC
//! that the constraint system inlines at the end, which dominated synthesis time on
//! tile-sized circuits. Here combinations are built directly and kept compact.

use crate::lookup::{Log, Part};
use ark_bn254::Fr;
use ark_ff::{One, Zero};
use ark_relations::gr1cs::{ConstraintSystemRef, LinearCombination, SynthesisError, Variable};
use std::cell::RefCell;
use std::rc::Rc;

pub type Lc = LinearCombination<Fr>;

/// A linear combination of variables and, when known, its value.
#[derive(Clone, Debug)]
pub struct Num {
    pub lc: Lc,
    pub value: Option<Fr>,
}

impl Num {
    pub fn constant(c: Fr) -> Self {
        Self {
            lc: if c.is_zero() {
                Lc::zero()
            } else {
                LinearCombination(vec![(c, Variable::One)])
            },
            value: Some(c),
        }
    }

    pub fn zero() -> Self {
        Self::constant(Fr::zero())
    }

    pub fn from_u64(v: u64) -> Self {
        Self::constant(Fr::from(v))
    }

    /// Σ coeff·num, compacted once.
    pub fn sum<'a>(terms: impl IntoIterator<Item = (Fr, &'a Num)>) -> Self {
        let mut lc = Vec::new();
        let mut value = Some(Fr::zero());
        for (c, n) in terms {
            lc.extend(n.lc.iter().map(|(k, v)| (*k * c, *v)));
            value = value.zip(n.value).map(|(acc, x)| acc + c * x);
        }
        let mut lc = LinearCombination(lc);
        lc.compactify();
        lc.0.retain(|(k, _)| !k.is_zero());
        Self { lc, value }
    }

    pub fn add(&self, other: &Num) -> Num {
        Num::sum([(Fr::one(), self), (Fr::one(), other)])
    }

    pub fn sub(&self, other: &Num) -> Num {
        Num::sum([(Fr::one(), self), (-Fr::one(), other)])
    }

    pub fn scale(&self, c: Fr) -> Num {
        Num::sum([(c, self)])
    }

    pub fn add_const(&self, c: Fr) -> Num {
        self.add(&Num::constant(c))
    }

    /// True when the combination has no variables (a compile-time constant).
    pub fn is_constant(&self) -> bool {
        self.lc.iter().all(|(_, v)| *v == Variable::One)
    }
}

/// How range checks and table lookups are proven.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeMode {
    /// Log-derivative lookups against fixed tables, closed by [`Builder::finalize`]
    /// with challenges derived from a commitment to the looked-up wires
    /// (docs/lookups.md). The default.
    Lookup,
    /// Bit decomposition (one constraint a bit), as before the lookup argument: kept
    /// to measure the old backend beside the new one and to cross-check circuits.
    Bits,
}

/// Allocation and multiplication on a constraint system, plus the lookups the
/// circuit has queued (shared by every clone of the builder).
#[derive(Clone)]
pub struct Builder {
    pub cs: ConstraintSystemRef<Fr>,
    mode: RangeMode,
    pub(crate) log: Rc<RefCell<Log>>,
}

impl Builder {
    /// A builder whose range checks are lookups (the default backend).
    pub fn new(cs: ConstraintSystemRef<Fr>) -> Self {
        Self::with_mode(cs, RangeMode::Lookup)
    }

    /// A builder for the given range-check strategy.
    pub fn with_mode(cs: ConstraintSystemRef<Fr>, mode: RangeMode) -> Self {
        Self {
            cs,
            mode,
            log: Rc::new(RefCell::new(Log::default())),
        }
    }

    pub fn mode(&self) -> RangeMode {
        self.mode
    }

    /// True when table lookups are available (they are in [`RangeMode::Lookup`]).
    pub fn has_lookups(&self) -> bool {
        self.mode == RangeMode::Lookup
    }

    /// Constraints so far, counting each queued lookup as the one constraint it
    /// will cost when the argument is closed (its limbs are decided then; a range
    /// query counts its limbs at 8 bits each until then).
    pub fn cost(&self) -> usize {
        self.cs.num_constraints() + self.log.borrow().pending_cost()
    }

    /// Attributes what follows (constraints and queued lookups) to `part`, for
    /// breakdowns; returns the previous part.
    pub fn set_part(&self, part: Part) -> Part {
        let mut log = self.log.borrow_mut();
        let now = self.cs.num_constraints();
        log.switch_part(part, now)
    }

    /// Closes the lookup argument with a keyless challenger (if not closed yet) and
    /// checks every constraint: for tests of circuits and gadgets, which need no
    /// keys. Proofs close the argument through the backend instead.
    pub fn is_satisfied(&self) -> Result<bool, SynthesisError> {
        if self.log.borrow().closed_once().is_none() {
            self.finalize(Some(&mut crate::lookup::HashChallenger))?;
        }
        self.cs.is_satisfied()
    }

    /// Constraints by part, once the lookup argument is closed.
    pub fn parts(&self) -> crate::lookup::PartCounts {
        self.log.borrow().part_counts(self.cs.num_constraints())
    }

    fn var(v: Variable, value: Option<Fr>) -> Num {
        Num {
            lc: LinearCombination(vec![(Fr::one(), v)]),
            value,
        }
    }

    /// A private variable.
    pub fn witness(&self, value: Option<Fr>) -> Result<Num, SynthesisError> {
        let v = self
            .cs
            .new_witness_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
        Ok(Self::var(v, value))
    }

    /// A public input.
    pub fn input(&self, value: Option<Fr>) -> Result<Num, SynthesisError> {
        let v = self
            .cs
            .new_input_variable(|| value.ok_or(SynthesisError::AssignmentMissing))?;
        Ok(Self::var(v, value))
    }

    /// Enforces a·b = c.
    pub fn enforce_product(&self, a: &Num, b: &Num, c: &Num) -> Result<(), SynthesisError> {
        self.cs
            .enforce_r1cs_constraint(|| a.lc.clone(), || b.lc.clone(), || c.lc.clone())
    }

    /// a·b as a new variable (one constraint). Constants multiply for free.
    pub fn mul(&self, a: &Num, b: &Num) -> Result<Num, SynthesisError> {
        if a.is_constant() {
            return Ok(b.scale(a.value.unwrap_or_default()));
        }
        if b.is_constant() {
            return Ok(a.scale(b.value.unwrap_or_default()));
        }
        let c = self.witness(a.value.zip(b.value).map(|(x, y)| x * y))?;
        self.enforce_product(a, b, &c)?;
        Ok(c)
    }

    /// Enforces a = b (one constraint).
    pub fn enforce_equal(&self, a: &Num, b: &Num) -> Result<(), SynthesisError> {
        self.enforce_product(&a.sub(b), &Num::constant(Fr::one()), &Num::zero())
    }

    /// A private bit: enforces b·b = b.
    pub fn bit(&self, value: Option<bool>) -> Result<Num, SynthesisError> {
        let b = self.witness(value.map(Fr::from))?;
        self.enforce_product(&b, &b, &b)?;
        Ok(b)
    }

    /// `cond ? a : b` for a bit `cond` (one constraint).
    pub fn select(&self, cond: &Num, a: &Num, b: &Num) -> Result<Num, SynthesisError> {
        // b + cond·(a − b)
        let t = self.mul(cond, &a.sub(b))?;
        Ok(b.add(&t))
    }
}
