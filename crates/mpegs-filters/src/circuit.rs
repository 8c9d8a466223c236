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
use mpegs_media::{Commitment, Frame, TILE_BYTES_PER_ELEMENT};
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

    /// Which bytes of each window slot the output reads: the copied pixels of a
    /// gather, the valid pixels of a pointwise tile, a region kernel's read
    /// rectangle. Structural (the plan's shape alone), so setup and proving agree.
    fn read_masks(&self) -> Vec<Vec<bool>> {
        let t = self.step.input.tile as usize;
        let c_in = self.step.input.format.channels();
        let mut masks = vec![vec![false; t * t * c_in]; self.plan.window.len()];
        match (&self.plan.shape, self.step.filter.kernel()) {
            (Shape::Gather { map, .. }, _) => {
                let c_out = self.step.output.format.channels();
                for &m in map {
                    if m == GATHER_PAD || m & GATHER_CONST != 0 {
                        continue;
                    }
                    let m = (m - 1) as usize;
                    let (slot, pixel) = (m / (t * t), m % (t * t));
                    for ch in 0..c_out {
                        if let Some(v) = masks
                            .get_mut(slot)
                            .and_then(|s| s.get_mut(pixel * c_out + ch))
                        {
                            *v = true;
                        }
                    }
                }
            }
            (Shape::Pointwise { valid_w, valid_h }, _) => {
                for ly in 0..(*valid_h as usize).min(t) {
                    for lx in 0..(*valid_w as usize).min(t) {
                        let p = (ly * t + lx) * c_in;
                        masks[0][p..p + c_in].fill(true);
                    }
                }
            }
            (Shape::Region { .. }, Kernel::Region(k)) => {
                let (ox, oy) = self.plan.out_tile;
                let reads = k.reads(self.step.input.info(), self.step.out_rect(ox, oy));
                for (slot, &(tx, ty)) in self.plan.window.iter().enumerate() {
                    let (x0, y0) = (tx * t as u32, ty * t as u32);
                    for y in reads.y.max(y0)..(reads.y + reads.h).min(y0 + t as u32) {
                        for x in reads.x.max(x0)..(reads.x + reads.w).min(x0 + t as u32) {
                            let p = (((y - y0) as usize) * t + (x - x0) as usize) * c_in;
                            masks[slot][p..p + c_in].fill(true);
                        }
                    }
                }
            }
            // A mismatched kernel fails later, in output_bytes.
            _ => {}
        }
        masks
    }

    /// The bytes of one window slot for its digest, and the range-checked bytes
    /// the filter may read. Only the 31-byte packing chunks that hold a read byte
    /// are range-checked (their packing must be injective); an unread chunk is
    /// hashed as one free element: nothing the output depends on is in it, and
    /// its digest is still the committed tile's.
    fn slot_bytes(
        &self,
        b: &Builder,
        slot: usize,
        read: &[bool],
    ) -> Result<(Vec<Num>, Vec<Option<ByteVar>>), SynthesisError> {
        let bytes = &self.inputs[slot];
        let mut packed = Vec::with_capacity(bytes.len());
        let mut checked = Vec::with_capacity(bytes.len());
        for (chunk, flags) in bytes
            .chunks(TILE_BYTES_PER_ELEMENT)
            .zip(read.chunks(TILE_BYTES_PER_ELEMENT))
        {
            if flags.iter().any(|f| *f) {
                let values: Vec<Option<u8>> = chunk.iter().map(|v| Some(*v)).collect();
                let vars = witness_bytes(b, &values)?;
                packed.extend(vars.iter().map(|v| v.num.clone()));
                checked.extend(vars.into_iter().map(Some));
            } else {
                // pack() weighs byte i of a chunk by 256^i: the element itself in
                // the first position, zeros after it.
                let element = chunk.iter().rev().fold(Fr::from(0u64), |acc, v| {
                    acc * Fr::from(256u64) + Fr::from(*v as u64)
                });
                packed.push(b.witness(Some(element))?);
                packed.extend((1..chunk.len()).map(|_| Num::zero()));
                checked.extend((0..chunk.len()).map(|_| None));
            }
        }
        Ok((packed, checked))
    }

    fn output_bytes(
        &self,
        b: &Builder,
        slots: &[Vec<Option<ByteVar>>],
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
                        for ch in 0..c_out {
                            out.push(OutByte::copy(read_byte(slots, slot, pixel * c_out + ch)?));
                        }
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
        slots: &[Vec<Option<ByteVar>>],
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
        // Reads outside the read mask find no byte: the kernel is out of its own
        // rectangle, which fails (never reads an unchecked byte).
        let unread = std::cell::Cell::new(false);
        let src = |x: u32, y: u32, ch: usize| -> Val {
            let slot = ((y / t - wy0) * cols + (x / t - wx0)) as usize;
            let pixel = ((y % t) * t + x % t) as usize;
            match read_byte(slots, slot, pixel * c_in + ch) {
                Ok(v) => Val::byte(v),
                Err(_) => {
                    unread.set(true);
                    Val::constant(0)
                }
            }
        };
        let vals = k.compute(&Arith::circuit(b), info, out, &src)?;
        if unread.get() {
            return Err(SynthesisError::Unsatisfiable);
        }
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

/// A range-checked byte of the window, or unsatisfiable if the byte was not read
/// (so never checked): the read masks and the kernels disagree.
fn read_byte(
    slots: &[Vec<Option<ByteVar>>],
    slot: usize,
    index: usize,
) -> Result<&ByteVar, SynthesisError> {
    slots
        .get(slot)
        .and_then(|s| s.get(index))
        .and_then(|b| b.as_ref())
        .ok_or(SynthesisError::Unsatisfiable)
}

#[allow(clippy::too_many_arguments)]
fn pointwise_bytes(
    b: &Builder,
    k: &dyn PixelKernel,
    input: &[Option<ByteVar>],
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
                let pixel = input[p..p + c_in]
                    .iter()
                    .map(|v| v.clone().ok_or(SynthesisError::Unsatisfiable))
                    .collect::<Result<Vec<_>, _>>()?;
                out.extend(k.synthesize_pixel(b, &pixel)?);
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
    /// The FFT domain the prover works over: constraints plus one row per
    /// instance variable (the QAP reduction's), rounded up to a power of two.
    pub domain: usize,
}

impl TileCircuit<'_> {
    fn synthesize(&self, b: &Builder) -> Result<(), SynthesisError> {
        let c_in = b.input(Some(self.c_in))?;
        let c_out = b.input(Some(self.c_out))?;
        let coord = |v: u32| b.input(Some(Fr::from(v as u64)));
        let (ox, oy) = (coord(self.plan.out_tile.0)?, coord(self.plan.out_tile.1)?);
        let mut slots = Vec::with_capacity(self.plan.window.len());
        // The previous backend (bit decomposition) range-checked every window byte;
        // it is kept exactly as it was, for side-by-side measurements.
        let masks = if b.has_lookups() {
            self.read_masks()
        } else {
            self.inputs.iter().map(|t| vec![true; t.len()]).collect()
        };
        for (i, &(x, y)) in self.plan.window.iter().enumerate() {
            let (tx, ty) = (coord(x)?, coord(y)?);
            b.set_part(Part::Range);
            let (nums, bytes) = self.slot_bytes(b, i, &masks[i])?;
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
            domain: (cs.num_constraints() + cs.num_instance_variables()).next_power_of_two(),
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
