//! The transcode statement, one Groth16 proof for `k` sampled macroblocks:
//!
//! > For each public sample position `g_j` (frame `f`, macroblock tile `t`:
//! > `g_j = f · 2^{d_t} + t`), I know the 256 source bytes and 256 rendition bytes
//! > of that macroblock, opening tile `t` of frame `f` in the public source and
//! > rendition video commitments, whose SSIM score over the `n` windows inside
//! > the frame (`Σ floor(2¹⁶·N/D)`, see [`crate::ssim`]) is at least `n·τ`.
//!
//! Public inputs, in order: `source, rendition, τ, g_1 … g_k`.
//!
//! Edge macroblocks ([`crate::grid`]): the tile index splits as
//! `t = ty·tiles_x + tx` with `tx`, `ty` range-checked below the sampleable
//! columns and rows, so the split is unique and unsampleable edges are refused.
//! Where the last column (row) is partial, a flag `tx = tiles_x − 1`
//! (`ty = tiles_y − 1`) switches off the windows that reach into the padding: each window gets weight 1, `1 − col`,
//! `1 − row` or `(1 − col)(1 − row)`, the score is `Σ weight·q` and the bound
//! `τ · Σ weight`. Windows of one weight are summed first, so masking costs at
//! most three products a sample.
//!
//! Per window the prover supplies `q`; the circuit checks `q + 2¹⁶ < 2¹⁸` and
//! `0 ≤ 2¹⁶·N − q·D < 2⁵⁸` (D < 2⁵⁸ for 8-bit pixels), so `q ≤ 2¹⁶·N/D`: no
//! division, and a prover can only understate a score. All values stay far below
//! the field size (|2¹⁶·N|, |q·D| < 2⁷⁷), so no check can wrap.
//!
//! Pixel products cost 2 constraints a pixel: `(a+b)²` and `(a−b)²` give
//! `a² + b²` (their half-sum) and `ab` (their quarter-difference).

use crate::grid::Grid;
use crate::ssim::{macroblock_blocks, macroblock_windows, C1, C2, MB, SCORE_BITS, WINDOWS};
use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use mpegs_media::commitment::{tree_depth, TileOpening};
use mpegs_media::MediaHeader;
use mpegs_zk::commitment::{
    commit_root, merkle_root, tile_digest, video_value, Opening as TileWitness,
};
use mpegs_zk::lookup::{HashChallenger, Part};
use mpegs_zk::range::{enforce_range, to_bits, weighted_sum, witness_bytes};
use mpegs_zk::{Builder, Circuit, Num, SynthesisError};

/// Bits of `2¹⁶·N − q·D` (it is below D < 2⁵⁸).
const REMAINDER_BITS: usize = 58;
/// Bits of `q + 2¹⁶` (SSIM ∈ [−1, 1]).
const SCORE_RANGE_BITS: usize = SCORE_BITS as usize + 2;
/// Bits of `score − n·τ` (the score is at most 9·2¹⁶ < 2²⁰).
const MARGIN_BITS: usize = 21;

/// One sampled macroblock with its openings in both videos.
#[derive(Clone, Debug)]
pub struct Sample {
    /// `frame · 2^{tile depth} + tile index`.
    pub position: u64,
    pub source: Vec<u8>,
    pub rendition: Vec<u8>,
    /// Blinding and path of the macroblock's tile in its source frame.
    pub source_tile: TileOpening,
    /// Blinding and path of the macroblock's tile in its rendition frame.
    pub rendition_tile: TileOpening,
    pub source_frame_path: Vec<Fr>,
    pub rendition_frame_path: Vec<Fr>,
}

/// The circuit's shape: frame header (gray, tile 16), frame count and k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub header: MediaHeader,
    pub frames: u64,
    pub k: usize,
}

impl Shape {
    pub fn tile_depth(&self) -> usize {
        self.header.depth()
    }
    pub fn frame_depth(&self) -> usize {
        tree_depth(self.frames as usize)
    }
}

#[derive(Clone, Debug)]
pub struct TranscodeCircuit {
    pub shape: Shape,
    pub source: Fr,
    pub rendition: Fr,
    /// `round(threshold · 2¹⁶)`.
    pub tau: u64,
    pub source_frames_root: Fr,
    pub rendition_frames_root: Fr,
    pub samples: Vec<Sample>,
}

impl TranscodeCircuit {
    /// A witness-free instance of `shape` (for key generation).
    pub fn blank(shape: Shape) -> Self {
        let zero = Fr::from(0u64);
        let sample = Sample {
            position: 0,
            source: vec![0; MB * MB],
            rendition: vec![0; MB * MB],
            source_tile: TileOpening::blank(shape.tile_depth()),
            rendition_tile: TileOpening::blank(shape.tile_depth()),
            source_frame_path: vec![zero; shape.frame_depth()],
            rendition_frame_path: vec![zero; shape.frame_depth()],
        };
        Self {
            shape,
            source: zero,
            rendition: zero,
            tau: 0,
            source_frames_root: zero,
            rendition_frames_root: zero,
            samples: vec![sample; shape.k],
        }
    }

    /// The public inputs in allocation order.
    pub fn public_inputs(source: Fr, rendition: Fr, tau: u64, positions: &[u64]) -> Vec<Fr> {
        let mut out = vec![source, rendition, Fr::from(tau)];
        out.extend(positions.iter().map(|g| Fr::from(*g)));
        out
    }
}

/// A signed integer as a field element.
fn signed(v: i64) -> Fr {
    if v < 0 {
        -Fr::from(v.unsigned_abs())
    } else {
        Fr::from(v as u64)
    }
}

/// Opens the macroblock's tile in one video and returns that video's frames root
/// as recomputed from the paths.
struct Opening<'a> {
    shape: &'a Shape,
    tx: &'a Num,
    ty: &'a Num,
    tile_bits: &'a [Num],
    frame_bits: &'a [Num],
}

impl Opening<'_> {
    fn frames_root(
        &self,
        b: &Builder,
        bytes: &[Num],
        tile: &TileOpening,
        frame_path: &[Fr],
    ) -> Result<Num, SynthesisError> {
        let tile = TileWitness::witness(b, tile)?;
        let frame_path = frame_path
            .iter()
            .map(|s| b.witness(Some(*s)))
            .collect::<Result<Vec<_>, _>>()?;
        let digest = tile_digest(b, self.tx, self.ty, &tile.blind, bytes)?;
        let frame_root = merkle_root(b, &digest, self.tile_bits, &tile.path)?;
        let frame_commitment = commit_root(b, &self.shape.header, &frame_root)?;
        merkle_root(b, &frame_commitment, self.frame_bits, &frame_path)
    }
}

/// Enforces 0 ≤ x < n: x and n − 1 − x both fit in the bits of n − 1.
fn enforce_below(b: &Builder, x: &Num, n: u32) -> Result<(), SynthesisError> {
    let Some(max) = n.checked_sub(1) else {
        return Err(SynthesisError::Unsatisfiable);
    };
    let bits = (u32::BITS - max.leading_zeros()) as usize;
    enforce_range(b, x, bits)?;
    enforce_range(b, &Num::from_u64(max as u64).sub(x), bits)?;
    Ok(())
}

/// 1 when x = c, else 0 (two constraints): with `inv` the inverse of x − c (or 0),
/// `eq = 1 − (x − c)·inv` and `(x − c)·eq = 0`.
fn equals(b: &Builder, x: &Num, c: u64) -> Result<Num, SynthesisError> {
    let d = x.add_const(-Fr::from(c));
    let inv = b.witness(d.value.map(|v| v.inverse().unwrap_or(Fr::zero())))?;
    let eq = Num::from_u64(1).sub(&b.mul(&d, &inv)?);
    b.enforce_product(&d, &eq, &Num::zero())?;
    Ok(eq)
}

/// `1 − [coord = tiles − 1]` when the last column (row) is partial but holds a
/// window (`edge` window columns: 1 or 2); `None` when it is full (3, every
/// window counts) or never sampled (0).
fn not_last(
    b: &Builder,
    coord: &Num,
    tiles: u32,
    edge: usize,
) -> Result<Option<Num>, SynthesisError> {
    if !(1..3).contains(&edge) {
        return Ok(None);
    }
    let last = equals(b, coord, tiles as u64 - 1)?;
    Ok(Some(Num::from_u64(1).sub(&last)))
}

/// How a sample's 9 windows count: each window depends on the right-edge flag,
/// the bottom-edge flag, both or neither, and each such class has one weight
/// (`None`: always 1).
struct Weights {
    /// Per window: (masked at the right edge, masked at the bottom edge).
    masks: [(bool, bool); WINDOWS],
    /// `1 − is_last_col`, `1 − is_last_row` and their product, where needed.
    col: Option<Num>,
    row: Option<Num>,
    both: Option<Num>,
}

impl Weights {
    /// Every window counts: an interior macroblock (or a shape with no partial
    /// edge that can be sampled).
    fn all() -> Self {
        Self {
            masks: [(false, false); WINDOWS],
            col: None,
            row: None,
            both: None,
        }
    }

    /// The weights of the sample at tile (tx, ty): a flag only for a partial edge
    /// that can be sampled (a full edge counts everywhere, an unsampleable one is
    /// refused by the range checks).
    fn new(b: &Builder, grid: &Grid, tx: &Num, ty: &Num) -> Result<Self, SynthesisError> {
        let (ex, ey) = grid.edge_windows();
        let col = not_last(b, tx, grid.tiles_x(), ex)?;
        let row = not_last(b, ty, grid.tiles_y(), ey)?;
        let both = match (&col, &row) {
            (Some(c), Some(r)) => Some(b.mul(c, r)?),
            _ => None,
        };
        let masks = std::array::from_fn(|w| {
            let (wx, wy) = (w % 3, w / 3);
            (col.is_some() && wx >= ex, row.is_some() && wy >= ey)
        });
        Ok(Self {
            masks,
            col,
            row,
            both,
        })
    }

    fn weight(&self, mask: (bool, bool)) -> Option<&Num> {
        match mask {
            (false, false) => None,
            (true, false) => self.col.as_ref(),
            (false, true) => self.row.as_ref(),
            (true, true) => self.both.as_ref(),
        }
    }

    /// Enforces `Σ weight·q ≥ τ · Σ weight`.
    fn enforce_score(&self, b: &Builder, q: &[Num], tau: &Num) -> Result<(), SynthesisError> {
        let one = Fr::one();
        let mut score = Num::zero();
        let mut counted = Num::zero();
        for mask in [(false, false), (true, false), (false, true), (true, true)] {
            let members: Vec<&Num> = (0..WINDOWS)
                .filter(|w| self.masks[*w] == mask)
                .map(|w| &q[w])
                .collect();
            if members.is_empty() {
                continue;
            }
            let sum = Num::sum(members.iter().map(|n| (one, *n)));
            let n = Fr::from(members.len() as u64);
            match self.weight(mask) {
                None => {
                    score = score.add(&sum);
                    counted = counted.add_const(n);
                }
                Some(w) => {
                    score = score.add(&b.mul(w, &sum)?);
                    counted = counted.add(&w.scale(n));
                }
            }
        }
        // Free when every window counts (9τ); one product otherwise.
        let bound = b.mul(tau, &counted)?;
        enforce_range(b, &score.sub(&bound), MARGIN_BITS)?;
        Ok(())
    }
}

/// Enforces the macroblock's score over the windows that count ≥ τ per window.
fn enforce_ssim(
    b: &Builder,
    source: &[Num],
    rendition: &[Num],
    values: (&[u8], &[u8]),
    tau: &Num,
    weights: &Weights,
) -> Result<(), SynthesisError> {
    let half = Fr::from(2u64).inverse().expect("2 is invertible");
    let quarter = half * half;
    // Per pixel: a² + b² and ab from two squares.
    let mut sq = Vec::with_capacity(MB * MB);
    let mut prod = Vec::with_capacity(MB * MB);
    for (a, c) in source.iter().zip(rendition) {
        let plus = a.add(c);
        let minus = a.sub(c);
        let p2 = b.mul(&plus, &plus)?;
        let m2 = b.mul(&minus, &minus)?;
        sq.push(p2.add(&m2).scale(half));
        prod.push(p2.sub(&m2).scale(quarter));
    }
    // Window sums: the 8×8 pixels at (4x, 4y), x, y ∈ 0..3.
    let window_sum = |v: &[Num], wx: usize, wy: usize| {
        let one = Fr::from(1u64);
        Num::sum((0..64).map(|i| (one, &v[(4 * wy + i / 8) * MB + 4 * wx + i % 8])))
    };
    let native = macroblock_windows(&macroblock_blocks(values.0, values.1));
    let two = Fr::from(2u64);
    let sixty_four = Fr::from(64u64);
    let shift = Fr::from(1u64 << SCORE_BITS);
    let mut scores = Vec::with_capacity(WINDOWS);
    for (w, window) in native.iter().enumerate() {
        let (wx, wy) = (w % 3, w / 3);
        let s1 = window_sum(source, wx, wy);
        let s2 = window_sum(rendition, wx, wy);
        let ss = window_sum(&sq, wx, wy);
        let s12 = window_sum(&prod, wx, wy);
        let s1s2 = b.mul(&s1, &s2)?;
        let s1sq = b.mul(&s1, &s1)?;
        let s2sq = b.mul(&s2, &s2)?;
        let n1 = s1s2.scale(two).add_const(signed(C1));
        let covar = s12.scale(sixty_four).sub(&s1s2);
        let n2 = covar.scale(two).add_const(signed(C2));
        let d1 = s1sq.add(&s2sq).add_const(signed(C1));
        let vars = ss.scale(sixty_four).sub(&s1sq).sub(&s2sq);
        let d2 = vars.add_const(signed(C2));
        let n = b.mul(&n1, &n2)?;
        let d = b.mul(&d1, &d2)?;
        let q = b.witness(Some(signed(window.fixed_score())))?;
        enforce_range(b, &q.add_const(shift), SCORE_RANGE_BITS)?;
        let qd = b.mul(&q, &d)?;
        enforce_range(b, &n.scale(shift).sub(&qd), REMAINDER_BITS)?;
        scores.push(q);
    }
    weights.enforce_score(b, &scores, tau)
}

/// Constraints of the SSIM part of one interior sample (pixel products, 9
/// windows, the threshold check), without the openings or edge flags: for
/// benchmarks.
pub fn ssim_constraints() -> Result<usize, SynthesisError> {
    let b = Builder::new(mpegs_zk::ConstraintSystem::<Fr>::new_ref());
    let bytes = |b: &Builder| -> Result<Vec<Num>, SynthesisError> {
        (0..MB * MB)
            .map(|_| b.witness(Some(Fr::from(0u64))))
            .collect()
    };
    let (a, c) = (bytes(&b)?, bytes(&b)?);
    let tau = b.witness(Some(Fr::from(0u64)))?;
    let zeros = [0u8; MB * MB];
    b.set_part(Part::Filter);
    enforce_ssim(&b, &a, &c, (&zeros, &zeros), &tau, &Weights::all())?;
    b.set_part(Part::Other);
    b.finalize(Some(&mut HashChallenger))?;
    Ok(b.parts().filter)
}

impl Circuit for TranscodeCircuit {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        let b = b.clone();
        let shape = self.shape;
        let source = b.input(Some(self.source))?;
        let rendition = b.input(Some(self.rendition))?;
        let tau = b.input(Some(Fr::from(self.tau)))?;
        // τ ≤ 2¹⁶ (a threshold of at most 1), so n·τ cannot wrap.
        enforce_range(&b, &tau, SCORE_BITS as usize + 1)?;
        let positions = self
            .samples
            .iter()
            .map(|s| b.input(Some(Fr::from(s.position))))
            .collect::<Result<Vec<_>, _>>()?;
        let source_root = b.witness(Some(self.source_frames_root))?;
        let rendition_root = b.witness(Some(self.rendition_frames_root))?;
        b.enforce_equal(&video_value(&b, shape.frames, &source_root)?, &source)?;
        b.enforce_equal(&video_value(&b, shape.frames, &rendition_root)?, &rendition)?;

        let (dt, df) = (shape.tile_depth(), shape.frame_depth());
        let grid = Grid::new(shape.header.width, shape.header.height);
        let (cols, rows) = grid.sampleable();
        let tiles_x = Fr::from(shape.header.tiles_x() as u64);
        let tiles_x_inv = tiles_x.inverse().expect("non-zero");
        for (sample, g) in self.samples.iter().zip(&positions) {
            let bits = to_bits(&b, g, dt + df)?;
            let (tile_bits, frame_bits) = bits.split_at(dt);
            let tile = weighted_sum(tile_bits);
            // tile = ty·tiles_x + tx with tx, ty below the sampleable columns and
            // rows: the split of the public index is unique, so the edge flags
            // follow from it alone (not only through the tile digest, which also
            // binds (tx, ty)), and edges too narrow to sample are refused.
            let tile_index = sample.position & ((1u64 << dt) - 1);
            let tx = b.witness(Some(Fr::from(tile_index % shape.header.tiles_x() as u64)))?;
            let ty = tile.sub(&tx).scale(tiles_x_inv);
            enforce_below(&b, &tx, cols)?;
            enforce_below(&b, &ty, rows)?;
            let weights = Weights::new(&b, &grid, &tx, &ty)?;
            let opening = Opening {
                shape: &shape,
                tx: &tx,
                ty: &ty,
                tile_bits,
                frame_bits,
            };
            let src = witness_bytes(
                &b,
                &sample.source.iter().map(|v| Some(*v)).collect::<Vec<_>>(),
            )?;
            let ren = witness_bytes(
                &b,
                &sample
                    .rendition
                    .iter()
                    .map(|v| Some(*v))
                    .collect::<Vec<_>>(),
            )?;
            let src: Vec<Num> = src.into_iter().map(|v| v.num).collect();
            let ren: Vec<Num> = ren.into_iter().map(|v| v.num).collect();
            let root =
                opening.frames_root(&b, &src, &sample.source_tile, &sample.source_frame_path)?;
            b.enforce_equal(&root, &source_root)?;
            let root = opening.frames_root(
                &b,
                &ren,
                &sample.rendition_tile,
                &sample.rendition_frame_path,
            )?;
            b.enforce_equal(&root, &rendition_root)?;
            let values = (&sample.source[..], &sample.rendition[..]);
            enforce_ssim(&b, &src, &ren, values, &tau, &weights)?;
        }
        Ok(())
    }
}
