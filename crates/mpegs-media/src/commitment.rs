//! The media commitment, version 2 (design.md §3, specified in docs/commitment.md).
//!
//! A frame is cut into T×T tiles (edge tiles zero-padded). Each tile's bytes are
//! packed little-endian, 31 per field element, and hashed into a tile digest with a
//! chained 12-input Poseidon that also absorbs the tile's **blinding value**,
//! derived from the frame's secret 32-byte [`Seed`]. The digests are the leaves
//! (row-major) of a binary Poseidon Merkle tree padded with zero leaves to a power
//! of two; the commitment hashes the root together with the header (format, W, H, T).
//!
//! The blinding makes the commitment hiding: without the seed, nobody can test a
//! guess of the pixels (for example the contents of a redacted box) against it.
//! Published media reveal their seed so anyone can recompute the commitment.

use crate::batch::hash_many;
use crate::frame::{Frame, FrameInfo, PixelFormat};
use crate::poseidon::{hash, tag, TAG_BLIND, TAG_MEDIA, TAG_NODE, TAG_TILE, TAG_VIDEO};
use crate::MediaError;
use ark_bn254::Fr;
use ark_ff::{PrimeField, Zero};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Bytes packed into one field element (31 bytes < 2^248 < the BN254 modulus).
pub const TILE_BYTES_PER_ELEMENT: usize = 31;
/// Packed elements absorbed by the first permutation of a tile digest
/// (after the tag, the two tile coordinates and the blinding value).
pub const FIRST_CHUNK: usize = 8;
/// Packed elements absorbed by each later permutation (after the chaining value).
pub const NEXT_CHUNK: usize = 11;

/// Largest width or height mpegs accepts (keeps untrusted headers from asking for
/// absurd amounts of work).
pub const MAX_DIMENSION: u32 = 1 << 16;

/// A frame's secret blinding seed: 32 bytes from the OS's randomness. Every tile's
/// blinding value is derived from it ([`blinding`]), so one seed is all a holder
/// of private media keeps. Its `Debug` form never prints the bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Seed(pub [u8; 32]);

impl Seed {
    /// A fresh seed from OS randomness.
    pub fn random() -> Self {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
        Self(bytes)
    }

    /// The seed of media that is public by nature (a watermark, a test pattern):
    /// 32 zero bytes, so anyone can recompute its commitment from the pixels alone.
    pub const PUBLIC: Seed = Seed([0; 32]);

    /// The seed as a field element: its bytes read big-endian, reduced mod p.
    pub fn field(&self) -> Fr {
        Fr::from_be_bytes_mod_order(&self.0)
    }

    /// `0x` + 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        let digits: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        format!("0x{digits}")
    }

    /// Parses `0x` + exactly 64 lowercase hex digits (the one spelling
    /// [`Seed::to_hex`] writes, so a seed has a single form in JSON).
    pub fn from_hex(s: &str) -> Result<Self, MediaError> {
        let bad = || {
            MediaError::InvalidSeed(format!(
                "'{s}' is not 0x followed by 64 lowercase hex digits"
            ))
        };
        let digits = s.strip_prefix("0x").ok_or_else(bad)?;
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if digits.len() != 64 || !digits.bytes().all(lower_hex) {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(<secret>)")
    }
}

impl Serialize for Seed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Seed {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Seed::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// The blinding value of tile (tx, ty) of frame `frame` (0 for a still image; the
/// frame index in a video): `Poseidon(TAG_BLIND, seed, frame, tx, ty)`.
pub fn blinding(seed: &Seed, frame: u32, tx: u32, ty: u32) -> Fr {
    hash(&[
        tag(TAG_BLIND),
        seed.field(),
        Fr::from(frame as u64),
        Fr::from(tx as u64),
        Fr::from(ty as u64),
    ])
}

/// What a commitment binds besides the pixels: format, size and tile size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MediaHeader {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub tile: u32,
}

impl MediaHeader {
    pub fn new(info: FrameInfo, tile: u32) -> Result<Self, MediaError> {
        let header = Self {
            format: info.format,
            width: info.width,
            height: info.height,
            tile,
        };
        header.validate()?;
        Ok(header)
    }

    /// Checks a header read from untrusted data: a valid tile size and a size
    /// within [`MAX_DIMENSION`].
    pub fn validate(&self) -> Result<(), MediaError> {
        check_tile_size(self.tile)?;
        if self.width == 0
            || self.height == 0
            || self.width > MAX_DIMENSION
            || self.height > MAX_DIMENSION
        {
            return Err(MediaError::InvalidFrame(format!(
                "{}x{} is outside 1..={MAX_DIMENSION} pixels per side",
                self.width, self.height
            )));
        }
        Ok(())
    }

    pub fn info(&self) -> FrameInfo {
        FrameInfo::new(self.format, self.width, self.height)
    }

    pub fn tiles_x(&self) -> u32 {
        self.width.div_ceil(self.tile)
    }

    pub fn tiles_y(&self) -> u32 {
        self.height.div_ceil(self.tile)
    }

    pub fn tile_count(&self) -> usize {
        self.tiles_x() as usize * self.tiles_y() as usize
    }

    /// Row-major leaf index of tile (tx, ty).
    pub fn tile_index(&self, tx: u32, ty: u32) -> usize {
        ty as usize * self.tiles_x() as usize + tx as usize
    }

    /// Tile coordinates of a leaf index.
    pub fn tile_coords(&self, index: usize) -> (u32, u32) {
        let tx = self.tiles_x() as usize;
        ((index % tx) as u32, (index / tx) as u32)
    }

    /// Merkle tree depth: ⌈log2(tile count)⌉ (0 for a single tile).
    pub fn depth(&self) -> usize {
        tree_depth(self.tile_count())
    }

    /// Bytes in one (padded) tile.
    pub fn tile_bytes(&self) -> usize {
        (self.tile * self.tile) as usize * self.format.channels()
    }

    /// Packed field elements in one tile.
    pub fn tile_elements(&self) -> usize {
        self.tile_bytes().div_ceil(TILE_BYTES_PER_ELEMENT)
    }

    /// The commitment value for a given Merkle root.
    pub fn commit_root(&self, root: Fr) -> Fr {
        hash(&[
            tag(TAG_MEDIA),
            Fr::from(self.format.code()),
            Fr::from(self.width as u64),
            Fr::from(self.height as u64),
            Fr::from(self.tile as u64),
            root,
        ])
    }
}

/// Refuses tile sizes that are not a power of two in 4..=256.
pub fn check_tile_size(tile: u32) -> Result<(), MediaError> {
    if tile.is_power_of_two() && (4..=256).contains(&tile) {
        Ok(())
    } else {
        Err(MediaError::InvalidTileSize(tile))
    }
}

/// ⌈log2(n)⌉ for n ≥ 1.
pub fn tree_depth(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

/// The bytes of tile (tx, ty): T rows of T pixels, zero where the tile passes the
/// frame's right or bottom edge.
pub fn tile_bytes(frame: &Frame, tile: u32, tx: u32, ty: u32) -> Vec<u8> {
    let c = frame.format().channels();
    let t = tile as usize;
    let mut out = vec![0u8; t * t * c];
    let x0 = tx * tile;
    let y0 = ty * tile;
    let w = frame.width().saturating_sub(x0).min(tile) as usize;
    let h = frame.height().saturating_sub(y0).min(tile) as usize;
    let stride = frame.width() as usize * c;
    for row in 0..h {
        let src = (y0 as usize + row) * stride + x0 as usize * c;
        out[row * t * c..row * t * c + w * c].copy_from_slice(&frame.data[src..src + w * c]);
    }
    out
}

/// Packs bytes little-endian, 31 per element (the last element zero-extended).
pub fn pack_bytes(bytes: &[u8]) -> Vec<Fr> {
    bytes
        .chunks(TILE_BYTES_PER_ELEMENT)
        .map(Fr::from_le_bytes_mod_order)
        .collect()
}

/// Inputs of the first permutation of a tile digest before the packed bytes.
pub const DIGEST_PREFIX: usize = 4;

/// The digest of one tile's bytes at tile coordinates (tx, ty) with its blinding.
pub fn tile_digest(tx: u32, ty: u32, blind: Fr, bytes: &[u8]) -> Fr {
    let elements = pack_bytes(bytes);
    let first = elements.len().min(FIRST_CHUNK);
    let mut inputs = vec![
        tag(TAG_TILE),
        Fr::from(tx as u64),
        Fr::from(ty as u64),
        blind,
    ];
    inputs.extend_from_slice(&elements[..first]);
    inputs.resize(DIGEST_PREFIX + FIRST_CHUNK, Fr::zero());
    let mut state = hash(&inputs);
    for chunk in elements[first..].chunks(NEXT_CHUNK) {
        let mut inputs = Vec::with_capacity(1 + NEXT_CHUNK);
        inputs.push(state);
        inputs.extend_from_slice(chunk);
        inputs.resize(1 + NEXT_CHUNK, Fr::zero());
        state = hash(&inputs);
    }
    state
}

/// Tiles (or tree nodes) hashed together by one task: a multiple of the 8 lanes
/// of [`hash_many`], and small enough that a 720p frame splits into ~60 tasks.
const BATCH: usize = 64;

/// The digests of tiles `range` of `frame` (with their blindings), each equal to
/// [`tile_digest`]`(tx, ty, `[`blinding`]`(seed, index, tx, ty), bytes)`, but with
/// every permutation step done for all tiles of the batch at once, so they go
/// through [`hash_many`] together (all tiles of a frame have the same size, so
/// the same number of chained permutations).
fn digests(
    frame: &Frame,
    header: &MediaHeader,
    seed: &Seed,
    index: u32,
    range: std::ops::Range<usize>,
) -> Vec<Fr> {
    let coords: Vec<(Fr, Fr)> = range
        .clone()
        .map(|i| {
            let (tx, ty) = header.tile_coords(i);
            (Fr::from(tx as u64), Fr::from(ty as u64))
        })
        .collect();
    let (blind_tag, seed, frame_no) = (tag(TAG_BLIND), seed.field(), Fr::from(index as u64));
    let blinds = hash_many(
        &coords
            .iter()
            .map(|&(tx, ty)| [blind_tag, seed, frame_no, tx, ty])
            .collect::<Vec<_>>(),
    );
    let elements: Vec<Vec<Fr>> = range
        .map(|i| {
            let (tx, ty) = header.tile_coords(i);
            pack_bytes(&tile_bytes(frame, header.tile, tx, ty))
        })
        .collect();
    let tile_tag = tag(TAG_TILE);
    let first: Vec<[Fr; DIGEST_PREFIX + FIRST_CHUNK]> = coords
        .iter()
        .zip(&blinds)
        .zip(&elements)
        .map(|((&(tx, ty), &blind), e)| {
            let mut inputs = [Fr::zero(); DIGEST_PREFIX + FIRST_CHUNK];
            inputs[..DIGEST_PREFIX].copy_from_slice(&[tile_tag, tx, ty, blind]);
            let n = e.len().min(FIRST_CHUNK);
            inputs[DIGEST_PREFIX..DIGEST_PREFIX + n].copy_from_slice(&e[..n]);
            inputs
        })
        .collect();
    let mut state = hash_many(&first);
    let rest = header.tile_elements().saturating_sub(FIRST_CHUNK);
    for chunk in 0..rest.div_ceil(NEXT_CHUNK) {
        let start = FIRST_CHUNK + chunk * NEXT_CHUNK;
        let next: Vec<[Fr; 1 + NEXT_CHUNK]> = state
            .iter()
            .zip(&elements)
            .map(|(&s, e)| {
                let mut inputs = [Fr::zero(); 1 + NEXT_CHUNK];
                inputs[0] = s;
                let part = &e[start..e.len().min(start + NEXT_CHUNK)];
                inputs[1..1 + part.len()].copy_from_slice(part);
                inputs
            })
            .collect();
        state = hash_many(&next);
    }
    state
}

/// A Merkle node.
pub fn hash_node(left: Fr, right: Fr) -> Fr {
    hash(&[tag(TAG_NODE), left, right])
}

/// A binary Poseidon Merkle tree over tile digests.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    /// `levels[0]` are the leaves padded with zeros to 2^depth; the last level is the root.
    levels: Vec<Vec<Fr>>,
}

impl MerkleTree {
    pub fn new(leaves: Vec<Fr>) -> Self {
        let depth = tree_depth(leaves.len());
        let mut level = leaves;
        level.resize(1 << depth, Fr::zero());
        let mut levels = vec![level];
        let node = tag(TAG_NODE);
        while levels.last().map_or(0, Vec::len) > 1 {
            let prev = levels.last().expect("non-empty");
            // hash_node of each pair, a batch of them per task.
            let next = prev
                .par_chunks(2 * BATCH)
                .flat_map_iter(|pairs| {
                    let inputs: Vec<[Fr; 3]> =
                        pairs.chunks(2).map(|p| [node, p[0], p[1]]).collect();
                    hash_many(&inputs)
                })
                .collect();
            levels.push(next);
        }
        Self { levels }
    }

    pub fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    pub fn root(&self) -> Fr {
        self.levels[self.depth()][0]
    }

    pub fn leaf(&self, index: usize) -> Fr {
        self.levels[0][index]
    }

    /// Sibling hashes from the leaf level up.
    pub fn path(&self, index: usize) -> Vec<Fr> {
        (0..self.depth())
            .map(|level| self.levels[level][(index >> level) ^ 1])
            .collect()
    }

    /// Recomputes a root from a leaf, its index and its path.
    pub fn root_from_path(leaf: Fr, index: usize, path: &[Fr]) -> Fr {
        path.iter()
            .enumerate()
            .fold(leaf, |node, (level, sibling)| {
                if (index >> level) & 1 == 0 {
                    hash_node(node, *sibling)
                } else {
                    hash_node(*sibling, node)
                }
            })
    }
}

/// A frame's commitment together with the tree that proves openings and the
/// blinding it was made with (the seed is secret unless the media is published).
#[derive(Clone, Debug)]
pub struct Commitment {
    pub header: MediaHeader,
    pub tree: MerkleTree,
    pub value: Fr,
    pub seed: Seed,
    /// The frame's index in its video (0 for a still image).
    pub frame_index: u32,
}

impl Commitment {
    /// Commits to a still image with tile size `tile` and blinding seed `seed`
    /// (tiles hashed in parallel).
    pub fn of_frame(frame: &Frame, tile: u32, seed: &Seed) -> Result<Self, MediaError> {
        Self::of_video_frame(frame, tile, seed, 0)
    }

    /// Commits to frame `index` of a video (the index enters every blinding, so
    /// one seed serves all frames).
    pub fn of_video_frame(
        frame: &Frame,
        tile: u32,
        seed: &Seed,
        index: u32,
    ) -> Result<Self, MediaError> {
        let header = MediaHeader::new(frame.info, tile)?;
        let tiles = header.tile_count();
        let leaves: Vec<Fr> = (0..tiles.div_ceil(BATCH))
            .into_par_iter()
            .flat_map_iter(|b| {
                digests(
                    frame,
                    &header,
                    seed,
                    index,
                    b * BATCH..tiles.min((b + 1) * BATCH),
                )
            })
            .collect();
        let tree = MerkleTree::new(leaves);
        let value = header.commit_root(tree.root());
        Ok(Self {
            header,
            tree,
            value,
            seed: *seed,
            frame_index: index,
        })
    }

    /// The blinding value of tile (tx, ty), a private witness of every opening.
    pub fn blind(&self, tx: u32, ty: u32) -> Fr {
        blinding(&self.seed, self.frame_index, tx, ty)
    }

    /// What a circuit needs besides the bytes to open tile (tx, ty).
    pub fn opening(&self, tx: u32, ty: u32) -> TileOpening {
        TileOpening {
            blind: self.blind(tx, ty),
            path: self.tree.path(self.header.tile_index(tx, ty)),
        }
    }
}

/// The private witness of a tile opening: its blinding value and Merkle path.
#[derive(Clone, Debug, PartialEq)]
pub struct TileOpening {
    pub blind: Fr,
    pub path: Vec<Fr>,
}

impl TileOpening {
    /// An all-zero opening of a tree of `depth` (for key generation).
    pub fn blank(depth: usize) -> Self {
        Self {
            blind: Fr::zero(),
            path: vec![Fr::zero(); depth],
        }
    }
}

/// A video: its frames' commitments (all with one header) in a Merkle tree, bound
/// with the frame count. Frame `i` is leaf `i`, so a proof can open any tile of any
/// frame: tile path → frame commitment → frame path → video commitment.
#[derive(Clone, Debug)]
pub struct VideoCommitment {
    pub header: MediaHeader,
    pub frames: Vec<Commitment>,
    pub tree: MerkleTree,
    pub value: Fr,
}

impl VideoCommitment {
    /// Commits to frames already committed one by one; they must share a header.
    pub fn new(frames: Vec<Commitment>) -> Result<Self, MediaError> {
        let header = frames
            .first()
            .ok_or_else(|| MediaError::InvalidFrame("a video needs at least one frame".into()))?
            .header;
        if let Some(i) = frames.iter().position(|f| f.header != header) {
            return Err(MediaError::InvalidFrame(format!(
                "frame {i} has another size or format than frame 0"
            )));
        }
        // Frame i must be blinded as frame i, so no two frames share blindings.
        if let Some(i) = (0..frames.len()).find(|&i| frames[i].frame_index as usize != i) {
            return Err(MediaError::InvalidFrame(format!(
                "frame {i} was committed as frame {} of its video",
                frames[i].frame_index
            )));
        }
        let tree = MerkleTree::new(frames.iter().map(|f| f.value).collect());
        let value = video_value(frames.len() as u64, tree.root());
        Ok(Self {
            header,
            frames,
            tree,
            value,
        })
    }
}

/// `Poseidon(tag("mpegs.video.v2"), frame count, root over frame commitments)`.
pub fn video_value(frames: u64, root: Fr) -> Fr {
    hash(&[tag(TAG_VIDEO), Fr::from(frames), root])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: Seed = Seed([7; 32]);

    fn frame(format: PixelFormat, w: u32, h: u32) -> Frame {
        let info = FrameInfo::new(format, w, h);
        let data = (0..info.byte_len()).map(|i| (i * 7 + 3) as u8).collect();
        Frame::new(info, data).unwrap()
    }

    #[test]
    fn video_commitments_bind_frames_order_and_count() {
        let frames: Vec<Commitment> = (0..3)
            .map(|i| {
                let info = FrameInfo::new(PixelFormat::Gray, 20, 12);
                let data = (0..info.byte_len())
                    .map(|j| (j * 3 + i * 50) as u8)
                    .collect();
                Commitment::of_video_frame(&Frame::new(info, data).unwrap(), 16, &SEED, i as u32)
                    .unwrap()
            })
            .collect();
        let v = VideoCommitment::new(frames.clone()).unwrap();
        assert_eq!(v.value, video_value(3, v.tree.root()));
        assert_eq!(v.tree.leaf(2), frames[2].value);
        // Reordered frames carry their old indices in their blindings: refused.
        let mut swapped = frames.clone();
        swapped.swap(0, 1);
        assert!(VideoCommitment::new(swapped)
            .unwrap_err()
            .to_string()
            .contains("committed as frame 1"));
        assert_ne!(
            VideoCommitment::new(frames[..2].to_vec()).unwrap().value,
            v.value
        );
        assert!(VideoCommitment::new(vec![]).is_err());
        let other =
            Commitment::of_video_frame(&frame(PixelFormat::Gray, 21, 12), 16, &SEED, 3).unwrap();
        let mut mixed = frames;
        mixed.push(other);
        assert!(VideoCommitment::new(mixed)
            .unwrap_err()
            .to_string()
            .contains("frame 3"));
    }

    /// The batched commitment (8-lane kernel where the CPU has it) against the
    /// previous per-tile code, over tile sizes whose digests take 1, 2, 3 and many
    /// chained permutations, tile counts that are not multiples of 8 or of a
    /// task's batch, both formats and a non-zero frame index.
    #[test]
    fn batched_commitments_equal_the_per_tile_reference() {
        for (format, w, h, tile, index) in [
            (PixelFormat::Gray, 1, 1, 4, 0),
            (PixelFormat::Gray, 13, 9, 4, 0),
            (PixelFormat::Rgb24, 29, 17, 8, 3),
            (PixelFormat::Gray, 161, 97, 16, 5),
            (PixelFormat::Rgb24, 70, 40, 16, 0),
            (PixelFormat::Rgb24, 130, 70, 64, 1),
            (PixelFormat::Gray, 300, 40, 4, 2),
        ] {
            let f = frame(format, w, h);
            let c = Commitment::of_video_frame(&f, tile, &SEED, index).unwrap();
            let case = format!("{format} {w}x{h} tile {tile} frame {index}");
            let leaves = crate::reference::leaves(&f, tile, &SEED, index).unwrap();
            for (i, leaf) in leaves.iter().enumerate() {
                assert_eq!(c.tree.leaf(i), *leaf, "{case}: leaf {i}");
            }
            let reference = crate::reference::frame_value(&f, tile, &SEED, index).unwrap();
            assert_eq!(c.value, reference, "{case}");
        }
        for n in [1, 2, 3, 9, 64, 129, 300] {
            let leaves: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * i + 1)).collect();
            assert_eq!(
                MerkleTree::new(leaves.clone()).root(),
                crate::reference::merkle_root(leaves),
                "{n} leaves"
            );
        }
        let frames: Vec<Commitment> = (0..5)
            .map(|i| Commitment::of_video_frame(&frame(PixelFormat::Gray, 40, 24), 8, &SEED, i))
            .collect::<Result<_, _>>()
            .unwrap();
        let values: Vec<Fr> = (0..5)
            .map(|i| {
                crate::reference::frame_value(&frame(PixelFormat::Gray, 40, 24), 8, &SEED, i)
                    .unwrap()
            })
            .collect();
        let video = VideoCommitment::new(frames).unwrap();
        assert_eq!(
            video.value,
            hash(&[
                tag(TAG_VIDEO),
                Fr::from(5u64),
                crate::reference::merkle_root(values)
            ])
        );
    }

    #[test]
    fn edge_tiles_are_zero_padded() {
        let f = frame(PixelFormat::Gray, 5, 3);
        let t = tile_bytes(&f, 4, 1, 0);
        assert_eq!(&t[0..4], &[f.pixel(4, 0)[0], 0, 0, 0]);
        assert_eq!(&t[12..16], &[0, 0, 0, 0]);
    }

    #[test]
    fn paths_open_every_leaf() {
        let f = frame(PixelFormat::Rgb24, 13, 9);
        let c = Commitment::of_frame(&f, 4, &SEED).unwrap();
        assert_eq!(c.header.tile_count(), 12);
        assert_eq!(c.tree.depth(), 4);
        for i in 0..c.header.tile_count() {
            let root = MerkleTree::root_from_path(c.tree.leaf(i), i, &c.tree.path(i));
            assert_eq!(root, c.tree.root());
        }
        let wrong = MerkleTree::root_from_path(c.tree.leaf(0), 1, &c.tree.path(0));
        assert_ne!(wrong, c.tree.root());
    }

    #[test]
    fn commitment_binds_pixels_header_and_position() {
        let f = frame(PixelFormat::Gray, 9, 9);
        let base = Commitment::of_frame(&f, 4, &SEED).unwrap().value;
        let mut g = f.clone();
        g.data[40] ^= 1;
        assert_ne!(Commitment::of_frame(&g, 4, &SEED).unwrap().value, base);
        assert_ne!(Commitment::of_frame(&f, 8, &SEED).unwrap().value, base);
        // Same bytes, other shape.
        let h = Frame::new(FrameInfo::new(PixelFormat::Gray, 3, 27), f.data.clone()).unwrap();
        assert_ne!(Commitment::of_frame(&h, 4, &SEED).unwrap().value, base);
        // Tile digests bind their coordinates.
        let bytes = tile_bytes(&f, 4, 0, 0);
        let blind = blinding(&SEED, 0, 0, 0);
        assert_ne!(
            tile_digest(0, 0, blind, &bytes),
            tile_digest(1, 0, blind, &bytes)
        );
        // ... and their blinding.
        assert_ne!(
            tile_digest(0, 0, blind, &bytes),
            tile_digest(0, 0, blind + Fr::from(1u64), &bytes)
        );
    }

    /// The privacy property of v2: the same pixels under two seeds give unrelated
    /// commitments, so a guess of the pixels cannot be tested without the seed.
    /// Blindings differ per tile and per frame of a video.
    #[test]
    fn commitments_are_blinded_by_the_seed() {
        let f = frame(PixelFormat::Rgb24, 9, 9);
        let a = Commitment::of_frame(&f, 4, &SEED).unwrap();
        let b = Commitment::of_frame(&f, 4, &Seed([8; 32])).unwrap();
        assert_ne!(a.value, b.value);
        for i in 0..a.header.tile_count() {
            assert_ne!(a.tree.leaf(i), b.tree.leaf(i), "tile {i}");
        }
        assert_eq!(a.value, Commitment::of_frame(&f, 4, &SEED).unwrap().value);
        assert_ne!(a.blind(0, 0), a.blind(1, 0));
        let frame1 = Commitment::of_video_frame(&f, 4, &SEED, 1).unwrap();
        assert_ne!(frame1.value, a.value);
        assert_eq!(frame1.blind(0, 0), blinding(&SEED, 1, 0, 0));
    }

    #[test]
    fn seeds_round_trip_and_never_print() {
        let s = Seed::random();
        assert_ne!(s, Seed::random());
        assert_eq!(Seed::from_hex(&s.to_hex()).unwrap(), s);
        assert!(!format!("{s:?}").contains(&s.to_hex()[2..10]));
        let upper = s.to_hex().to_uppercase().replacen("0X", "0x", 1);
        for bad in [
            "",
            "0x",
            "00",
            "0x12",
            &format!("0x{}", "g".repeat(64)),
            &s.to_hex()[2..],
            &upper,
        ] {
            assert!(Seed::from_hex(bad).is_err(), "{bad}");
        }
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Seed>(&json).unwrap(), s);
    }

    #[test]
    fn untrusted_headers_are_validated() {
        let ok = MediaHeader {
            format: PixelFormat::Gray,
            width: 3,
            height: 4,
            tile: 8,
        };
        assert!(ok.validate().is_ok());
        for bad in [
            MediaHeader { tile: 0, ..ok },
            MediaHeader { width: 0, ..ok },
            MediaHeader {
                height: MAX_DIMENSION + 1,
                ..ok
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_tile_sizes_are_refused() {
        let f = frame(PixelFormat::Gray, 4, 4);
        for t in [0, 3, 2, 12, 512] {
            assert!(Commitment::of_frame(&f, t, &SEED).is_err(), "{t}");
        }
    }
}
