//! The per-epoch tree: leaf `i` is `Poseidon(tag, i, pHash_Y, pHash_U, pHash_V)`
//! over frame `i`'s hashes of the epoch's region in every plane ([`FrameHash`];
//! U and V are 0 for gray), so a copy that lost or altered colour has other leaves; nodes are the media commitment's `Poseidon(tag, l, r)`;
//! leaves are padded with zeros to a power of two (depth 9 for 300 frames).

use ark_bn254::Fr;
use mpegs_media::poseidon::{hash, tag};
use mpegs_media::MerkleTree;

pub use crate::planes::FrameHash;

/// Domain tag of a pHash leaf. v1 hashed the luma pHash only; v2 hashes all planes.
pub const TAG_LEAF: &[u8] = b"mpegs.phash.v2";

/// The leaf of frame `index` with hashes `h`. One Poseidon over the three hashes
/// rather than one per plane: a 5-input permutation costs less than the extra
/// 3-input ones, and the three are always opened together.
pub fn leaf(index: u32, h: &FrameHash) -> Fr {
    hash(&[
        tag(TAG_LEAF),
        Fr::from(index as u64),
        Fr::from(h.y),
        Fr::from(h.u),
        Fr::from(h.v),
    ])
}

/// One region's hashes of every frame of a segment, as a Merkle tree.
#[derive(Clone, Debug)]
pub struct SegmentTree {
    hashes: Vec<FrameHash>,
    tree: MerkleTree,
}

/// What a worker reveals for one challenged frame (privately, inside the proof).
#[derive(Clone, Debug)]
pub struct Opening {
    pub index: u32,
    pub phash: FrameHash,
    pub path: Vec<Fr>,
}

impl SegmentTree {
    /// The tree over per-frame hashes (frame order). Needs at least one frame.
    pub fn new(hashes: Vec<FrameHash>) -> Self {
        assert!(!hashes.is_empty(), "a segment has frames");
        let leaves = hashes
            .iter()
            .enumerate()
            .map(|(i, h)| leaf(i as u32, h))
            .collect();
        Self {
            tree: MerkleTree::new(leaves),
            hashes,
        }
    }

    pub fn root(&self) -> Fr {
        self.tree.root()
    }

    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    pub fn frames(&self) -> usize {
        self.hashes.len()
    }

    /// The opening of frame `index`, or `None` past the last frame.
    pub fn open(&self, index: u32) -> Option<Opening> {
        let phash = *self.hashes.get(index as usize)?;
        Some(Opening {
            index,
            phash,
            path: self.tree.path(index as usize),
        })
    }
}

/// Checks an opening against a root natively.
pub fn verify_opening(root: Fr, o: &Opening) -> bool {
    MerkleTree::root_from_path(leaf(o.index, &o.phash), o.index as usize, &o.path) == root
}
