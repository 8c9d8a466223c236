//! The media commitment (design.md §3, specified in docs/commitment.md).
//!
//! A frame is cut into T×T tiles (edge tiles zero-padded). Each tile's bytes are
//! packed little-endian, 31 per field element, and hashed into a tile digest with a
//! chained 12-input Poseidon. The digests are the leaves (row-major) of a binary
//! Poseidon Merkle tree padded with zero leaves to a power of two; the commitment
//! hashes the root together with the header (format, W, H, T).

use crate::frame::{Frame, FrameInfo, PixelFormat};
use crate::poseidon::{hash, tag, TAG_MEDIA, TAG_NODE, TAG_TILE, TAG_VIDEO};
use crate::MediaError;
use ark_bn254::Fr;
use ark_ff::{PrimeField, Zero};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Bytes packed into one field element (31 bytes < 2^248 < the BN254 modulus).
pub const TILE_BYTES_PER_ELEMENT: usize = 31;
/// Packed elements absorbed by the first permutation of a tile digest
/// (after the tag and the two tile coordinates).
pub const FIRST_CHUNK: usize = 9;
/// Packed elements absorbed by each later permutation (after the chaining value).
pub const NEXT_CHUNK: usize = 11;

/// Largest width or height mpegs accepts (keeps untrusted headers from asking for
/// absurd amounts of work).
pub const MAX_DIMENSION: u32 = 1 << 16;

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

/// The digest of one tile's bytes at tile coordinates (tx, ty).
pub fn tile_digest(tx: u32, ty: u32, bytes: &[u8]) -> Fr {
    let elements = pack_bytes(bytes);
    let first = elements.len().min(FIRST_CHUNK);
    let mut inputs = vec![tag(TAG_TILE), Fr::from(tx as u64), Fr::from(ty as u64)];
    inputs.extend_from_slice(&elements[..first]);
    inputs.resize(3 + FIRST_CHUNK, Fr::zero());
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
        while levels.last().map_or(0, Vec::len) > 1 {
            let prev = levels.last().expect("non-empty");
            let next = prev
                .par_chunks(2)
                .map(|pair| hash_node(pair[0], pair[1]))
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

/// A frame's commitment together with the tree that proves openings.
#[derive(Clone, Debug)]
pub struct Commitment {
    pub header: MediaHeader,
    pub tree: MerkleTree,
    pub value: Fr,
}

impl Commitment {
    /// Commits to a frame with tile size `tile` (tiles hashed in parallel).
    pub fn of_frame(frame: &Frame, tile: u32) -> Result<Self, MediaError> {
        let header = MediaHeader::new(frame.info, tile)?;
        let leaves: Vec<Fr> = (0..header.tile_count())
            .into_par_iter()
            .map(|i| {
                let (tx, ty) = header.tile_coords(i);
                tile_digest(tx, ty, &tile_bytes(frame, tile, tx, ty))
            })
            .collect();
        let tree = MerkleTree::new(leaves);
        let value = header.commit_root(tree.root());
        Ok(Self {
            header,
            tree,
            value,
        })
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

/// `Poseidon(tag("mpegs.video.v1"), frame count, root over frame commitments)`.
pub fn video_value(frames: u64, root: Fr) -> Fr {
    hash(&[tag(TAG_VIDEO), Fr::from(frames), root])
}

#[cfg(test)]
mod tests {
    use super::*;

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
                Commitment::of_frame(&Frame::new(info, data).unwrap(), 16).unwrap()
            })
            .collect();
        let v = VideoCommitment::new(frames.clone()).unwrap();
        assert_eq!(v.value, video_value(3, v.tree.root()));
        assert_eq!(v.tree.leaf(2), frames[2].value);
        let mut swapped = frames.clone();
        swapped.swap(0, 1);
        assert_ne!(VideoCommitment::new(swapped).unwrap().value, v.value);
        assert_ne!(
            VideoCommitment::new(frames[..2].to_vec()).unwrap().value,
            v.value
        );
        assert!(VideoCommitment::new(vec![]).is_err());
        let other = Commitment::of_frame(&frame(PixelFormat::Gray, 21, 12), 16).unwrap();
        let mut mixed = frames;
        mixed.push(other);
        assert!(VideoCommitment::new(mixed)
            .unwrap_err()
            .to_string()
            .contains("frame 3"));
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
        let c = Commitment::of_frame(&f, 4).unwrap();
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
        let base = Commitment::of_frame(&f, 4).unwrap().value;
        let mut g = f.clone();
        g.data[40] ^= 1;
        assert_ne!(Commitment::of_frame(&g, 4).unwrap().value, base);
        assert_ne!(Commitment::of_frame(&f, 8).unwrap().value, base);
        // Same bytes, other shape.
        let h = Frame::new(FrameInfo::new(PixelFormat::Gray, 3, 27), f.data.clone()).unwrap();
        assert_ne!(Commitment::of_frame(&h, 4).unwrap().value, base);
        // Tile digests bind their coordinates.
        let bytes = tile_bytes(&f, 4, 0, 0);
        assert_ne!(tile_digest(0, 0, &bytes), tile_digest(1, 0, &bytes));
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
            assert!(Commitment::of_frame(&f, t).is_err(), "{t}");
        }
    }
}
