//! The one-step proof of the mismatch game (docs/storage-proofs.md, "The mismatch
//! proof"): after bisection has narrowed a disputed root down to one leaf, the
//! worker proves
//!
//! > Frame `i`'s pixels in the square region `(x, y, s)` of the content committed
//! > by the public Poseidon video commitment `content` hash to a pHash whose tree
//! > leaf `leaf(i, ·)` is **not** the client's leaf `λ`.
//!
//! Public inputs, in order: `content, i, x, y, s, λ`.
//!
//! The content is a gray video committed with `mpegs_media::commitment`
//! (tiles of T×T bytes, blinded, in a Merkle tree per frame; frames in a tree bound
//! with the frame count), the commitment the transcode proof opens. The region must
//! be tile-aligned (`x`, `y` multiples of T) and `s` a multiple of T: its pixels are
//! then exactly the bytes of `(s/T)²` whole tiles, each opened against the frame's
//! tile root, which is opened once at frame `i` of the video tree. Alignment is
//! enforced, not assumed: `x/T` and `y/T` are range-checked small integers and
//! `x + s ≤ W`, `y + s ≤ H` (so no opened tile reaches into edge padding).
//!
//! The leaf is `tree.rs`'s `mpegs.phash.v2`: `Poseidon(tag, i, pHash_Y, pHash_U,
//! pHash_V)` with U = V = 0 for gray content. The inequality is a non-zero
//! inverse: `(leaf − λ)·w = 1` has a solution exactly when `leaf ≠ λ`.

use crate::phash::Region;
use crate::phash_gadget;
use crate::tree::TAG_LEAF;
use crate::StorageError;
use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use mpegs_media::commitment::{tree_depth, TileOpening, VideoCommitment};
use mpegs_media::poseidon::tag;
use mpegs_media::{Frame, MediaHeader, PixelFormat};
use mpegs_zk::commitment::{commit_root, merkle_root, tile_digest, video_value, Opening};
use mpegs_zk::range::{enforce_range, to_bits, witness_bytes};
use mpegs_zk::{poseidon, Builder, Circuit, Num, SynthesisError};

/// Bits of a tile coordinate (a frame side is at most 2¹⁶ pixels).
const COORD_BITS: usize = 16;

/// What the circuit is specialised to: the content's frame header (gray), its
/// frame count and the region side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub header: MediaHeader,
    pub frames: u64,
    pub size: u32,
}

impl Shape {
    /// Checks that regions of side `size` can be opened from whole tiles of this
    /// content.
    pub fn new(header: MediaHeader, frames: u64, size: u32) -> Result<Self, StorageError> {
        let bad = |reason: String| StorageError::Region {
            region: format!("{size}x{size}"),
            reason,
        };
        header.validate()?;
        if header.format != PixelFormat::Gray {
            return Err(bad(format!(
                "the mismatch proof opens gray content, not {:?}",
                header.format
            )));
        }
        if frames == 0 {
            return Err(bad("the content has no frames".into()));
        }
        let probe = Region { x: 0, y: 0, size };
        probe.validate(header.width, header.height)?;
        if !size.is_multiple_of(header.tile) {
            return Err(bad(format!(
                "side must be a multiple of the tile size {}",
                header.tile
            )));
        }
        Ok(Self {
            header,
            frames,
            size,
        })
    }

    /// Tiles per region side.
    pub fn tiles(&self) -> usize {
        (self.size / self.header.tile) as usize
    }

    pub fn frame_depth(&self) -> usize {
        tree_depth(self.frames as usize)
    }
}

/// The one-step circuit with its witness.
#[derive(Clone, Debug)]
pub struct MismatchCircuit {
    pub shape: Shape,
    pub content: Fr,
    pub frame: u32,
    pub x: u32,
    pub y: u32,
    pub lambda: Fr,
    /// The region's pixels of frame `frame`, row-major (`size²` bytes).
    pub pixels: Vec<u8>,
    /// Openings of the region's tiles in their frame, row-major over the region.
    pub tiles: Vec<TileOpening>,
    /// Frame `frame`'s path in the tree over the video's frame commitments.
    pub frame_path: Vec<Fr>,
}

impl MismatchCircuit {
    /// A witness-free instance of `shape` (for key generation).
    pub fn blank(shape: Shape) -> Self {
        let zero = Fr::zero();
        let t = shape.tiles();
        Self {
            shape,
            content: zero,
            frame: 0,
            x: 0,
            y: 0,
            lambda: zero,
            pixels: vec![0; (shape.size * shape.size) as usize],
            tiles: vec![TileOpening::blank(shape.header.depth()); t * t],
            frame_path: vec![zero; shape.frame_depth()],
        }
    }

    /// The worker's witness: frame `frame` of `video` (whose decoded frames are
    /// `frames`), the disputed `region` and the client's leaf `lambda`.
    pub fn new(
        video: &VideoCommitment,
        frames: &[Frame],
        frame: u32,
        region: Region,
        lambda: Fr,
    ) -> Result<Self, StorageError> {
        let header = video.header;
        let shape = Shape::new(header, video.frames.len() as u64, region.size)?;
        let bad = |reason: String| StorageError::Region {
            region: region.to_string(),
            reason,
        };
        region.validate(header.width, header.height)?;
        let t = header.tile;
        if !region.x.is_multiple_of(t) || !region.y.is_multiple_of(t) {
            return Err(bad(format!("not aligned to the {t}-pixel tiles")));
        }
        let (Some(image), Some(committed)) =
            (frames.get(frame as usize), video.frames.get(frame as usize))
        else {
            return Err(bad(format!("no frame {frame}")));
        };
        if image.info != header.info() || frames.len() != video.frames.len() {
            return Err(bad("the frames are not the committed video's".into()));
        }
        let s = region.size as usize;
        let w = header.width as usize;
        let pixels = (0..s)
            .flat_map(|r| {
                let start = (region.y as usize + r) * w + region.x as usize;
                image.data[start..start + s].iter().copied()
            })
            .collect();
        let n = shape.tiles() as u32;
        let tiles = (0..n * n)
            .map(|k| committed.opening(region.x / t + k % n, region.y / t + k / n))
            .collect();
        Ok(Self {
            shape,
            content: video.value,
            frame,
            x: region.x,
            y: region.y,
            lambda,
            pixels,
            tiles,
            frame_path: video.tree.path(frame as usize),
        })
    }

    /// The public inputs in allocation order.
    pub fn public_inputs(content: Fr, frame: u32, region: Region, lambda: Fr) -> Vec<Fr> {
        let mut out = vec![content];
        out.extend([frame, region.x, region.y, region.size].map(|v| Fr::from(v as u64)));
        out.push(lambda);
        out
    }
}

/// Enforces `0 ≤ v ≤ max` for a small integer `v`.
fn enforce_at_most(b: &Builder, v: &Num, max: u64) -> Result<(), SynthesisError> {
    enforce_range(b, v, COORD_BITS)?;
    enforce_range(b, &Num::from_u64(max).sub(v), COORD_BITS)
}

impl Circuit for MismatchCircuit {
    fn synthesize(self, b: &Builder) -> Result<(), SynthesisError> {
        let b = b.clone();
        let shape = self.shape;
        let header = shape.header;
        let (s, t) = (shape.size as usize, header.tile as usize);
        let n = shape.tiles();
        let tiles_ok =
            self.tiles.len() == n * n && self.tiles.iter().all(|o| o.path.len() == header.depth());
        if self.pixels.len() != s * s || !tiles_ok || self.frame_path.len() != shape.frame_depth() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let content = b.input(Some(self.content))?;
        let frame = b.input(Some(Fr::from(self.frame as u64)))?;
        let x = b.input(Some(Fr::from(self.x as u64)))?;
        let y = b.input(Some(Fr::from(self.y as u64)))?;
        let size = b.input(Some(Fr::from(shape.size as u64)))?;
        let lambda = b.input(Some(self.lambda))?;
        // The side is the circuit's: a public input only so the statement names it.
        b.enforce_equal(&size, &Num::from_u64(shape.size as u64))?;

        // Tile coordinates of the region's corner: x = T·tx0 with tx0 a small
        // integer (so x is aligned), and the region inside the frame.
        let t_inv = Fr::from(t as u64).inverse().expect("tile size is non-zero");
        let (tx0, ty0) = (x.scale(t_inv), y.scale(t_inv));
        enforce_at_most(&b, &tx0, ((header.width as usize - s) / t) as u64)?;
        enforce_at_most(&b, &ty0, ((header.height as usize - s) / t) as u64)?;

        let bytes = witness_bytes(
            &b,
            &self.pixels.iter().map(|v| Some(*v)).collect::<Vec<_>>(),
        )?;
        let pixels: Vec<Num> = bytes.into_iter().map(|v| v.num).collect();

        // Every tile of the region opens the same frame tile root.
        let mut frame_root: Option<Num> = None;
        let tiles_x = Fr::from(header.tiles_x() as u64);
        for (k, native) in self.tiles.iter().enumerate() {
            let (dx, dy) = (k % n, k / n);
            let tx = tx0.add_const(Fr::from(dx as u64));
            let ty = ty0.add_const(Fr::from(dy as u64));
            let tile_bytes: Vec<Num> = (0..t * t)
                .map(|j| pixels[(dy * t + j / t) * s + dx * t + j % t].clone())
                .collect();
            let opening = Opening::witness(&b, native)?;
            let digest = tile_digest(&b, &tx, &ty, &opening.blind, &tile_bytes)?;
            let bits = to_bits(&b, &ty.scale(tiles_x).add(&tx), header.depth())?;
            let root = merkle_root(&b, &digest, &bits, &opening.path)?;
            match &frame_root {
                None => frame_root = Some(root),
                Some(first) => b.enforce_equal(&root, first)?,
            }
        }
        let frame_root = frame_root.ok_or(SynthesisError::Unsatisfiable)?;
        // The frame commitment at position `frame` of the video tree.
        let frame_commitment = commit_root(&b, &header, &frame_root)?;
        let frame_bits = to_bits(&b, &frame, shape.frame_depth())?;
        let frame_path = self
            .frame_path
            .iter()
            .map(|v| b.witness(Some(*v)))
            .collect::<Result<Vec<_>, _>>()?;
        let frames_root = merkle_root(&b, &frame_commitment, &frame_bits, &frame_path)?;
        b.enforce_equal(&video_value(&b, shape.frames, &frames_root)?, &content)?;

        // The true leaf, and leaf ≠ λ.
        let hash_y = phash_gadget::phash(&b, &pixels, shape.size)?;
        let leaf = poseidon::hash(
            &b,
            &[
                Num::constant(tag(TAG_LEAF)),
                frame.clone(),
                hash_y,
                Num::zero(),
                Num::zero(),
            ],
        )?;
        let diff = leaf.sub(&lambda);
        let inv = b.witness(diff.value.map(|d| d.inverse().unwrap_or(Fr::zero())))?;
        b.enforce_product(&diff, &inv, &Num::constant(Fr::one()))?;
        Ok(())
    }
}
