//! The statement proven for one output tile of one filter step:
//!
//! > I know the tiles of the window, openable in the input commitment `C_in` at the
//! > public coordinates, and applying the filter to them yields an output tile whose
//! > digest opens in the output commitment `C_out` at the public output coordinates.
//!
//! Input bytes are range-checked once (which makes their packing injective). Every
//! output byte is an [`OutByte`], so it is provably in 0..=255 before it is packed:
//! gather outputs are copies of input bytes or constant `u8`s, pointwise outputs are
//! fully constrained by the filter's pixel circuit, region outputs must have a
//! static bound of at most 255 (else the circuit is unsatisfiable), and padding
//! outside the output frame is the constant 0.

use crate::arith::{Arith, Val};
use crate::plan::{Shape, Step, TilePlan, GATHER_CONST, GATHER_PAD};
use crate::{Kernel, OutByte, PixelKernel, RegionKernel};
use ark_bn254::Fr;
use mpegs_media::commitment::tile_bytes;
use mpegs_media::commitment::TileOpening;
use mpegs_media::{Commitment, Frame};
use mpegs_zk::commitment::{open_tile, Opening};
use mpegs_zk::lookup::{HashChallenger, Part};
use mpegs_zk::range::{witness_bytes, ByteVar};
use mpegs_zk::{Builder, Circuit, Num, RangeMode, SynthesisError};

/// One output tile's circuit with its witness.
pub struct TileCircuit<'a> {
    pub step: &'a Step<'a>,
    pub plan: &'a TilePlan,
    pub c_in: Fr,
    pub c_out: Fr,
    /// Bytes of each window tile (padded), slot order.
    pub inputs: Vec<Vec<u8>>,
    /// Blinding and Merkle path of each window tile, slot order.
    pub input_openings: Vec<TileOpening>,
    pub output_opening: TileOpening,
}

impl<'a> TileCircuit<'a> {
    /// The honest witness from the input frame and both commitments.
    pub fn new(
        step: &'a Step<'a>,
        plan: &'a TilePlan,
        input: &Frame,
        c_in: &Commitment,
        c_out: &Commitment,
    ) -> Self {
        let t = step.input.tile;
        let inputs = plan
            .window
            .iter()
            .map(|&(x, y)| tile_bytes(input, t, x, y))
            .collect();
        let input_openings = plan
            .window
            .iter()
            .map(|&(x, y)| c_in.opening(x, y))
            .collect();
        let (ox, oy) = plan.out_tile;
        Self {
            step,
            plan,
            c_in: c_in.value,
            c_out: c_out.value,
            inputs,
            input_openings,
            output_opening: c_out.opening(ox, oy),
        }
    }

    /// A witness-free instance (all zeros) for key generation: setup only needs the
    /// constraint structure, which depends on the step and the plan's shape alone.
    pub fn blank(step: &'a Step<'a>, plan: &'a TilePlan) -> Self {
        Self {
            step,
            plan,
            c_in: Fr::from(0u64),
            c_out: Fr::from(0u64),
            inputs: vec![vec![0; step.input.tile_bytes()]; plan.window.len()],
            input_openings: vec![TileOpening::blank(step.input.depth()); plan.window.len()],
            output_opening: TileOpening::blank(step.output.depth()),
        }
    }

    fn output_bytes(
        &self,
        b: &Builder,
        slots: &[Vec<ByteVar>],
    ) -> Result<Vec<OutByte>, SynthesisError> {
        let t = self.step.output.tile as usize;
        let c_out = self.step.output.format.channels();
        match (&self.plan.shape, self.step.filter.kernel()) {
            (Shape::Gather { map, .. }, Kernel::Gather(k)) => {
                let mut out = Vec::with_capacity(t * t * c_out);
                for &m in map {
                    if m == GATHER_PAD {
                        out.extend((0..c_out).map(|_| OutByte::constant(0)));
                    } else if m & GATHER_CONST != 0 {
                        // Constants are circuit constants: the key binds them.
                        let bytes = k
                            .constant(self.step.output.format, m & !GATHER_CONST)
                            .ok_or(SynthesisError::AssignmentMissing)?;
                        out.extend(bytes.iter().map(|v| OutByte::constant(*v)));
                    } else {
                        let m = (m - 1) as usize;
                        let (slot, pixel) = (m / (t * t), m % (t * t));
                        out.extend(
                            (0..c_out).map(|ch| OutByte::copy(&slots[slot][pixel * c_out + ch])),
                        );
                    }
                }
                Ok(out)
            }
            (Shape::Pointwise { valid_w, valid_h }, Kernel::Pointwise(k)) => pointwise_bytes(
                b,
                k,
                &slots[0],
                t,
                self.step.input.format.channels(),
                c_out,
                *valid_w,
                *valid_h,
            ),
            (Shape::Region { cols, .. }, Kernel::Region(k)) => {
                self.region_bytes(b, k, slots, *cols)
            }
            _ => Err(SynthesisError::Unsatisfiable),
        }
    }

    /// Runs a region kernel in-circuit over the window and lays its output out as
    /// a padded tile; a value whose bound exceeds 255 makes it unsatisfiable.
    fn region_bytes(
        &self,
        b: &Builder,
        k: &dyn RegionKernel,
        slots: &[Vec<ByteVar>],
        cols: u32,
    ) -> Result<Vec<OutByte>, SynthesisError> {
        let t = self.step.input.tile;
        let c_in = self.step.input.format.channels();
        let c_out = self.step.output.format.channels();
        let (ox, oy) = self.plan.out_tile;
        let out = self.step.out_rect(ox, oy);
        let info = self.step.input.info();
        // The kernel must read inside the window (a plan from another tile fails).
        let (wx0, wy0) = *self
            .plan
            .window
            .first()
            .ok_or(SynthesisError::Unsatisfiable)?;
        let rows = self.plan.window.len() as u32 / cols.max(1);
        let reads = k.reads(info, out);
        let inside = reads.x >= wx0 * t
            && reads.y >= wy0 * t
            && reads.x + reads.w <= (wx0 + cols) * t
            && reads.y + reads.h <= (wy0 + rows) * t;
        if !inside {
            return Err(SynthesisError::Unsatisfiable);
        }
        let src = |x: u32, y: u32, ch: usize| -> Val {
            let slot = ((y / t - wy0) * cols + (x / t - wx0)) as usize;
            let pixel = ((y % t) * t + x % t) as usize;
            Val::byte(&slots[slot][pixel * c_in + ch])
        };
        let vals = k.compute(&Arith::circuit(b), info, out, &src)?;
        let t_out = self.step.output.tile as usize;
        let mut bytes = vec![OutByte::constant(0); t_out * t_out * c_out];
        for (i, v) in vals.iter().enumerate() {
            let (px, ch) = (i / c_out, i % c_out);
            let (lx, ly) = (px % out.w as usize, px / out.w as usize);
            bytes[(ly * t_out + lx) * c_out + ch] = OutByte::from_val(v)?;
        }
        Ok(bytes)
    }
}

#[allow(clippy::too_many_arguments)]
fn pointwise_bytes(
    b: &Builder,
    k: &dyn PixelKernel,
    input: &[ByteVar],
    t: usize,
    c_in: usize,
    c_out: usize,
    valid_w: u32,
    valid_h: u32,
) -> Result<Vec<OutByte>, SynthesisError> {
    let mut out = Vec::with_capacity(t * t * c_out);
    for ly in 0..t {
        for lx in 0..t {
            if lx < valid_w as usize && ly < valid_h as usize {
                let p = (ly * t + lx) * c_in;
                out.extend(k.synthesize_pixel(b, &input[p..p + c_in])?);
            } else {
                out.extend((0..c_out).map(|_| OutByte::constant(0)));
            }
        }
    }
    Ok(out)
}

/// Constraints of one tile circuit by part.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Breakdown {
    /// Range checks of the input window's bytes (with lookups: one per byte plus
    /// the lookup argument's tables and sums).
    pub range_checks: usize,
    /// Tile digests, Merkle paths and commitments (input and output).
    pub hashing: usize,
    /// The filter's own arithmetic (including its internal range checks and
    /// table lookups).
    pub filter: usize,
    pub total: usize,
}

impl TileCircuit<'_> {
    fn synthesize(&self, b: &Builder) -> Result<(), SynthesisError> {
        let c_in = b.input(Some(self.c_in))?;
        let c_out = b.input(Some(self.c_out))?;
        let coord = |v: u32| b.input(Some(Fr::from(v as u64)));
        let (ox, oy) = (coord(self.plan.out_tile.0)?, coord(self.plan.out_tile.1)?);
        let mut slots = Vec::with_capacity(self.plan.window.len());
        for (i, &(x, y)) in self.plan.window.iter().enumerate() {
            let (tx, ty) = (coord(x)?, coord(y)?);
            let values: Vec<Option<u8>> = self.inputs[i].iter().map(|v| Some(*v)).collect();
            b.set_part(Part::Range);
            let bytes = witness_bytes(b, &values)?;
            let nums: Vec<Num> = bytes.iter().map(|v| v.num.clone()).collect();
            let opening = Opening::witness(b, &self.input_openings[i])?;
            b.set_part(Part::Hashing);
            open_tile(b, &self.step.input, &c_in, &tx, &ty, &nums, &opening)?;
            slots.push(bytes);
        }
        b.set_part(Part::Filter);
        let out: Vec<Num> = self
            .output_bytes(b, &slots)?
            .iter()
            .map(|v| v.num().clone())
            .collect();
        let opening = Opening::witness(b, &self.output_opening)?;
        b.set_part(Part::Hashing);
        open_tile(b, &self.step.output, &c_out, &ox, &oy, &out, &opening)?;
        b.set_part(Part::Other);
        Ok(())
    }

    /// Synthesizes the circuit in `mode` on a fresh constraint system, closes its
    /// lookup argument and counts by part.
    pub fn breakdown_in(&self, mode: RangeMode) -> Result<Breakdown, SynthesisError> {
        let cs = mpegs_zk::ConstraintSystem::<Fr>::new_ref();
        let b = Builder::with_mode(cs.clone(), mode);
        self.synthesize(&b)?;
        b.finalize(Some(&mut HashChallenger))?;
        let parts = b.parts();
        Ok(Breakdown {
            range_checks: parts.range + parts.other,
            hashing: parts.hashing,
            filter: parts.filter,
            total: cs.num_constraints(),
        })
    }

    /// [`TileCircuit::breakdown_in`] for the default backend (lookups).
    pub fn breakdown(&self) -> Result<Breakdown, SynthesisError> {
        self.breakdown_in(RangeMode::Lookup)
    }
}

impl Circuit for TileCircuit<'_> {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        TileCircuit::synthesize(&self, b)
    }
}
