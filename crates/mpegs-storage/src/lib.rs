//! mpegs-storage owns proof of storage for video segments: decoding a segment's
//! luma planes with the ffmpeg CLI ([`video`]) and the perceptual hash of a
//! challenge-chosen region of each frame ([`phash`]), the per-epoch Poseidon Merkle
//! tree over those hashes ([`tree`]) and the Groth16 statement that challenged leaves
//! are in a registered root ([`circuit`]).

pub mod circuit;
pub mod epoch;
pub mod phash;
pub mod tree;
pub mod video;

/// Errors from decoding segments and hashing regions.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot run {tool}: {source} (install ffmpeg: apt-get install ffmpeg)")]
    Tool {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("cannot decode {path}: {reason}")]
    Decode { path: String, reason: String },
    #[error("bad region {region}: {reason}")]
    Region { region: String, reason: String },
    #[error("{0}")]
    Challenge(String),
    #[error("the segment does not match the challenge: {0}")]
    Mismatch(String),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
    #[error("cannot read or write {path}: {reason}")]
    File { path: String, reason: String },
}
