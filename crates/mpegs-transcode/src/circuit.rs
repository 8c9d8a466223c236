//! The transcode statement, one Groth16 proof for `k` sampled macroblocks:
//!
//! > For each public sample position `g_j` (frame `f`, macroblock tile `t`:
//! > `g_j = f · 2^{d_t} + t`), I know the 256 source bytes and 256 rendition bytes
//! > of that macroblock, opening tile `t` of frame `f` in the public source and
//! > rendition video commitments, whose SSIM score (9 windows,
//! > `Σ floor(2¹⁶·N/D)`, see [`crate::ssim`]) is at least `9·τ`.
//!
//! Public inputs, in order: `source, rendition, τ, g_1 … g_k`.
//!
//! Per window the prover supplies `q`; the circuit checks `q + 2¹⁶ < 2¹⁸` and
//! `0 ≤ 2¹⁶·N − q·D < 2⁵⁸` (D < 2⁵⁸ for 8-bit pixels), so `q ≤ 2¹⁶·N/D`: no
//! division, and a prover can only understate a score. All values stay far below
//! the field size (|2¹⁶·N|, |q·D| < 2⁷⁷), so no check can wrap.
//!
//! Pixel products cost 2 constraints a pixel: `(a+b)²` and `(a−b)²` give
//! `a² + b²` (their half-sum) and `ab` (their quarter-difference).

use crate::ssim::{macroblock_blocks, macroblock_windows, C1, C2, MB, SCORE_BITS, WINDOWS};
use ark_bn254::Fr;
use ark_ff::Field;
use mpegs_media::commitment::{tree_depth, TileOpening};
use mpegs_media::MediaHeader;
use mpegs_zk::commitment::{
    commit_root, merkle_root, tile_digest, video_value, Opening as TileWitness,
};
use mpegs_zk::range::{enforce_range, weighted_sum, witness_bytes};
use mpegs_zk::{Builder, ConstraintSynthesizer, ConstraintSystemRef, Num, SynthesisError};

/// Bits of `2¹⁶·N − q·D` (it is below D < 2⁵⁸).
const REMAINDER_BITS: usize = 58;
/// Bits of `q + 2¹⁶` (SSIM ∈ [−1, 1]).
const SCORE_RANGE_BITS: usize = SCORE_BITS as usize + 2;
/// Bits of `score − 9τ` (the score is at most 9·2¹⁶ < 2²⁰).
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

/// Enforces the macroblock's score ≥ 9τ.
fn enforce_ssim(
    b: &Builder,
    source: &[Num],
    rendition: &[Num],
    values: (&[u8], &[u8]),
    tau: &Num,
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
    let mut score = Num::zero();
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
        score = score.add(&q);
    }
    enforce_range(
        b,
        &score.sub(&tau.scale(Fr::from(WINDOWS as u64))),
        MARGIN_BITS,
    )?;
    Ok(())
}

/// Constraints of the SSIM part of one sample (pixel products, 9 windows, the
/// threshold check), without the openings: for benchmarks.
pub fn ssim_constraints() -> Result<usize, SynthesisError> {
    let cs = mpegs_zk::ConstraintSystem::<Fr>::new_ref();
    let b = Builder::new(cs.clone());
    let bytes = |b: &Builder| -> Result<Vec<Num>, SynthesisError> {
        (0..MB * MB)
            .map(|_| b.witness(Some(Fr::from(0u64))))
            .collect()
    };
    let (a, c) = (bytes(&b)?, bytes(&b)?);
    let tau = b.witness(Some(Fr::from(0u64)))?;
    let zeros = [0u8; MB * MB];
    enforce_ssim(&b, &a, &c, (&zeros, &zeros), &tau)?;
    Ok(cs.num_constraints())
}

impl ConstraintSynthesizer<Fr> for TranscodeCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let b = Builder::new(cs);
        let shape = self.shape;
        let source = b.input(Some(self.source))?;
        let rendition = b.input(Some(self.rendition))?;
        let tau = b.input(Some(Fr::from(self.tau)))?;
        // τ ≤ 2¹⁶ (a threshold of at most 1), so 9τ cannot wrap.
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
        let tiles_x = Fr::from(shape.header.tiles_x() as u64);
        let tiles_x_inv = tiles_x.inverse().expect("non-zero");
        for (sample, g) in self.samples.iter().zip(&positions) {
            let bits = enforce_range(&b, g, dt + df)?;
            let (tile_bits, frame_bits) = bits.split_at(dt);
            let tile = weighted_sum(tile_bits);
            // tx is free: the tile digest binds (tx, ty), so any split of the index
            // other than the committed one hashes to a leaf that is not in the tree.
            let tile_index = sample.position & ((1u64 << dt) - 1);
            let tx = b.witness(Some(Fr::from(tile_index % shape.header.tiles_x() as u64)))?;
            let ty = tile.sub(&tx).scale(tiles_x_inv);
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
            enforce_ssim(&b, &src, &ren, (&sample.source, &sample.rendition), &tau)?;
        }
        Ok(())
    }
}
