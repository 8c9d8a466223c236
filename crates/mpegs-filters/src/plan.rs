//! Tile plans: which input tiles an output tile reads and the shape of its circuit.
//!
//! A proof covers one output tile of one filter step. Its public inputs are the
//! input and output commitments and the coordinates of the output tile and of every
//! input tile in its window; the verifier recomputes all of them from the public
//! filter parameters and image sizes, never from the bundle. Tiles whose circuits
//! are identical (same filter, sizes and [`Shape`]) share one circuit id and one key.

use crate::{Filter, FilterError, Kernel, Rect, Source};
use ark_bn254::Fr;
use mpegs_media::MediaHeader;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Bumped whenever a circuit's constraints change, so old keys are never reused
/// (3: blinded tile digests, commitment v2; 4: range checks and tables by lookups,
/// proofs with a commitment to the looked-up wires).
pub const CIRCUIT_VERSION: u32 = 4;

/// One filter applied to one committed frame shape.
#[derive(Debug)]
pub struct Step<'a> {
    pub filter: &'a dyn Filter,
    pub input: MediaHeader,
    pub output: MediaHeader,
}

/// The structure of one output tile's circuit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Per output pixel: 0 for padding, [`GATHER_CONST`]` | i` for the filter's
    /// constant `i`, else `1 + slot·T² + ly·T + lx` — which window tile and which
    /// pixel in it the output pixel copies.
    Gather { slots: usize, map: Vec<u32> },
    /// The valid (non-padding) width and height of the output tile.
    Pointwise { valid_w: u32, valid_h: u32 },
    /// A region kernel over a `cols × rows` window of input tiles; `program` is the
    /// sha256 of the kernel's description of this tile's arithmetic.
    Region {
        cols: u32,
        rows: u32,
        program: String,
    },
}

/// [`Shape::Gather`] map entry of padding outside the output frame.
pub const GATHER_PAD: u32 = 0;
/// Flag of [`Shape::Gather`] map entries that are constants (the low bits index
/// them); pixel copies stay far below it (slot·T² < 2³¹ for T ≤ 256).
pub const GATHER_CONST: u32 = 1 << 31;

/// What one output tile's proof covers.
#[derive(Clone, Debug)]
pub struct TilePlan {
    pub out_tile: (u32, u32),
    /// Input tiles read, in slot order (sorted row-major).
    pub window: Vec<(u32, u32)>,
    pub shape: Shape,
}

impl<'a> Step<'a> {
    /// The step that applies `filter` to frames with header `input` (same tile size out).
    pub fn new(filter: &'a dyn Filter, input: MediaHeader) -> Result<Self, FilterError> {
        let info = filter.output_info(input.info())?;
        let output = MediaHeader {
            format: info.format,
            width: info.width,
            height: info.height,
            tile: input.tile,
        };
        Ok(Self {
            filter,
            input,
            output,
        })
    }

    /// Plans for every output tile, row-major.
    pub fn plans(&self) -> Vec<TilePlan> {
        (0..self.output.tile_count())
            .map(|i| {
                let (tx, ty) = self.output.tile_coords(i);
                self.plan_tile(tx, ty)
            })
            .collect()
    }

    /// The plan for output tile (tx, ty).
    pub fn plan_tile(&self, tx: u32, ty: u32) -> TilePlan {
        let t = self.output.tile;
        let valid_w = self.output.width.saturating_sub(tx * t).min(t);
        let valid_h = self.output.height.saturating_sub(ty * t).min(t);
        match self.filter.kernel() {
            Kernel::Pointwise(_) => TilePlan {
                out_tile: (tx, ty),
                window: vec![(tx, ty)],
                shape: Shape::Pointwise { valid_w, valid_h },
            },
            Kernel::Gather(k) => {
                let info = self.input.info();
                let mut sources = vec![None; (t * t) as usize];
                let mut window = vec![];
                for ly in 0..valid_h {
                    for lx in 0..valid_w {
                        let source = match k.source(info, tx * t + lx, ty * t + ly) {
                            Source::Const(i) => Source::Const(i),
                            Source::Pixel(sx, sy) => {
                                let tile = (sx / t, sy / t);
                                if !window.contains(&tile) {
                                    window.push(tile);
                                }
                                Source::Pixel(sx, sy)
                            }
                        };
                        sources[(ly * t + lx) as usize] = Some(source);
                    }
                }
                window.sort_by_key(|&(x, y)| (y, x));
                let map = sources
                    .iter()
                    .map(|s| match s {
                        None => GATHER_PAD,
                        Some(Source::Const(i)) => GATHER_CONST | i,
                        Some(Source::Pixel(sx, sy)) => {
                            let tile = (sx / t, sy / t);
                            let slot =
                                window.iter().position(|w| *w == tile).expect("collected") as u32;
                            1 + slot * t * t + (sy % t) * t + sx % t
                        }
                    })
                    .collect();
                TilePlan {
                    out_tile: (tx, ty),
                    shape: Shape::Gather {
                        slots: window.len(),
                        map,
                    },
                    window,
                }
            }
            Kernel::Region(k) => {
                let info = self.input.info();
                let out = self.out_rect(tx, ty);
                let reads = k.reads(info, out);
                let (x0, y0) = (reads.x / t, reads.y / t);
                let (x1, y1) = ((reads.x + reads.w - 1) / t, (reads.y + reads.h - 1) / t);
                let window = (y0..=y1)
                    .flat_map(|y| (x0..=x1).map(move |x| (x, y)))
                    .collect();
                let description = k.describe(info, out, (x0 * t, y0 * t));
                let program = hex::encode(Sha256::digest(
                    mpegs_zk::keys::canonical_json(&description).as_bytes(),
                ));
                TilePlan {
                    out_tile: (tx, ty),
                    shape: Shape::Region {
                        cols: x1 - x0 + 1,
                        rows: y1 - y0 + 1,
                        program,
                    },
                    window,
                }
            }
        }
    }

    /// The valid part of output tile (tx, ty) in output pixel coordinates.
    pub fn out_rect(&self, tx: u32, ty: u32) -> Rect {
        let t = self.output.tile;
        let w = self.output.width.saturating_sub(tx * t).min(t);
        let h = self.output.height.saturating_sub(ty * t).min(t);
        Rect::new(tx * t, ty * t, w, h)
    }

    /// A human- and machine-readable description of the circuit for a shape.
    pub fn circuit_description(&self, shape: &Shape) -> serde_json::Value {
        let shape = match shape {
            Shape::Gather { slots, map } => {
                let bytes: Vec<u8> = map.iter().flat_map(|v| v.to_le_bytes()).collect();
                json!({"kind": "gather", "slots": slots, "map_sha256": hex::encode(Sha256::digest(bytes))})
            }
            Shape::Pointwise { valid_w, valid_h } => {
                json!({"kind": "pointwise", "valid": [valid_w, valid_h]})
            }
            Shape::Region {
                cols,
                rows,
                program,
            } => {
                json!({"kind": "region", "window": [cols, rows], "program_sha256": program})
            }
        };
        json!({
            "version": CIRCUIT_VERSION,
            "filter": self.filter.canonical(),
            "input": self.input,
            "output": self.output,
            "shape": shape,
        })
    }

    /// The circuit id for a shape: `<filter>-t<T>-<64 hex of sha256(description)>`,
    /// the full hash (design.md §6).
    pub fn circuit_id(&self, shape: &Shape) -> String {
        let prefix = format!("{}-t{}", self.filter.name(), self.input.tile);
        mpegs_zk::keys::hashed_id(&prefix, &self.circuit_description(shape))
    }
}

/// The public inputs of a tile proof, in allocation order.
pub fn public_inputs(c_in: Fr, c_out: Fr, plan: &TilePlan) -> Vec<Fr> {
    let mut out = vec![
        c_in,
        c_out,
        Fr::from(plan.out_tile.0 as u64),
        Fr::from(plan.out_tile.1 as u64),
    ];
    for (x, y) in &plan.window {
        out.push(Fr::from(*x as u64));
        out.push(Fr::from(*y as u64));
    }
    out
}
