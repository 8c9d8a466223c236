//! mpegs-media owns the pixels: frame and pixel-format types, image decoding and
//! atomic PNG encoding, video luma decoding (ffmpeg CLI), the native Poseidon hash (circomlib parameters) and the
//! native media commitment of design.md §3 (tiles → Poseidon digests → Merkle root
//! → header-bound commitment). Circuits mirror these definitions in `mpegs-zk`.

pub mod batch;
pub mod commitment;
pub mod frame;
pub mod io;
pub mod poseidon;
#[cfg(target_arch = "x86_64")]
mod poseidon_ifma;
#[doc(hidden)]
pub mod reference;
pub mod video;

pub use commitment::{Commitment, MediaHeader, MerkleTree, Seed, TILE_BYTES_PER_ELEMENT};
pub use frame::{Frame, FrameInfo, PixelFormat};
pub use io::{
    decode_image, encode_png, image_dimensions, load_image, read_json, save_png_atomic,
    write_atomic, write_json, write_private_json,
};

/// The BN254 scalar field, the field every commitment and proof lives in.
pub use ark_bn254::Fr;

/// Errors for decoding, encoding and validating media.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot decode {path}: {reason}")]
    Decode { path: String, reason: String },
    #[error("cannot run {tool}: {source} (install ffmpeg: apt-get install ffmpeg)")]
    Tool {
        tool: &'static str,
        source: std::io::Error,
    },
    #[error("unsupported image {path}: {reason}")]
    Unsupported { path: String, reason: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    #[error("invalid tile size {0}: must be a power of two between 4 and 256")]
    InvalidTileSize(u32),
    #[error("invalid blinding seed: {0}")]
    InvalidSeed(String),
}
