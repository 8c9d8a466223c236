//! The commitment computed the way it was before batching (issue 27 §4): one
//! scalar permutation per call (tiles in parallel with rayon, as then). Kept as
//! the oracle the tests compare [`crate::Commitment`] with, and as the baseline
//! `mpegs-bench hash` measures.

use crate::commitment::{
    blinding, hash_node, tile_bytes, tile_digest, tree_depth, MediaHeader, Seed,
};
use crate::{Frame, MediaError};
use ark_bn254::Fr;
use ark_ff::Zero;
use rayon::prelude::*;

/// Root of the binary tree over `leaves` (zero-padded to a power of two).
pub fn merkle_root(mut level: Vec<Fr>) -> Fr {
    level.resize(1 << tree_depth(level.len()), Fr::zero());
    while level.len() > 1 {
        level = level
            .par_chunks(2)
            .map(|pair| hash_node(pair[0], pair[1]))
            .collect();
    }
    level[0]
}

/// The tile digests of frame `index` (row-major).
pub fn leaves(frame: &Frame, tile: u32, seed: &Seed, index: u32) -> Result<Vec<Fr>, MediaError> {
    let header = MediaHeader::new(frame.info, tile)?;
    Ok((0..header.tile_count())
        .into_par_iter()
        .map(|i| {
            let (tx, ty) = header.tile_coords(i);
            let blind = blinding(seed, index, tx, ty);
            tile_digest(tx, ty, blind, &tile_bytes(frame, tile, tx, ty))
        })
        .collect())
}

/// The commitment value of frame `index` of a video (0: a still image).
pub fn frame_value(frame: &Frame, tile: u32, seed: &Seed, index: u32) -> Result<Fr, MediaError> {
    let header = MediaHeader::new(frame.info, tile)?;
    Ok(header.commit_root(merkle_root(leaves(frame, tile, seed, index)?)))
}
