//! mpegs-storage owns proof of storage for video segments: decoding a segment's
//! planes ([`planes`]) and the perceptual hash of a
//! challenge-chosen region of each frame ([`phash`]), the per-epoch Poseidon Merkle
//! tree over those hashes ([`tree`]) and the Groth16 statement that challenged leaves
//! are in a registered root ([`circuit`]).

pub mod circuit;
pub mod content;
pub mod epoch;
pub mod mismatch;
pub mod phash;
pub mod phash_gadget;
pub mod planes;
pub mod tree;

/// Segment decoding lives with the other media I/O; re-exported for callers here.
pub use mpegs_media::video;

/// Errors from decoding segments and hashing regions.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error("bad region {region}: {reason}")]
    Region { region: String, reason: String },
    #[error("{0}")]
    Challenge(String),
    #[error("the segment does not match the challenge: {0}")]
    Mismatch(String),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
}
