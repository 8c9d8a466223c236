//! Resource limits of bundle parsing and verification (docs/bundle.md §Limits).
//!
//! A bundle is untrusted input: a self-signed attestation can claim any header,
//! and planning a step costs time and memory proportional to its output's pixels.
//! Every size is therefore checked against these limits *before* any plan, key
//! or proof is touched, so a hostile bundle gets a clear error in microseconds
//! instead of hundreds of millions of allocations.

use crate::ProvenanceError;
use mpegs_media::MediaHeader;

/// Largest bundle file accepted: 64 MiB (a 4K image edited in five steps at tile
/// 64 is about 15 MB).
pub const MAX_BUNDLE_BYTES: usize = 64 << 20;
/// Most embedded parents (edits of edits) below the published bundle.
pub const MAX_HISTORY_DEPTH: usize = 32;
/// Most filter steps in one edit record.
pub const MAX_STEPS: usize = 64;
/// Most pixels of any frame a bundle describes (2^26, about 67 megapixels: 8K is 33).
pub const MAX_PIXELS: u64 = 1 << 26;
/// Most tiles of any frame a bundle describes (a 16384×16384 frame at tile 64).
pub const MAX_TILES: usize = 1 << 16;

fn over(
    what: &str,
    value: impl std::fmt::Display,
    limit: impl std::fmt::Display,
    name: &str,
) -> ProvenanceError {
    ProvenanceError::Malformed(format!(
        "{what} {value} exceeds the limit of {limit} ({name})"
    ))
}

pub(crate) fn check_bundle_bytes(len: usize) -> Result<(), ProvenanceError> {
    if len > MAX_BUNDLE_BYTES {
        return Err(over(
            "bundle size",
            format!("{len} B"),
            format!("{MAX_BUNDLE_BYTES} B"),
            "MAX_BUNDLE_BYTES",
        ));
    }
    Ok(())
}

pub(crate) fn check_history_depth(depth: usize) -> Result<(), ProvenanceError> {
    if depth > MAX_HISTORY_DEPTH {
        return Err(over(
            "history depth",
            depth,
            MAX_HISTORY_DEPTH,
            "MAX_HISTORY_DEPTH",
        ));
    }
    Ok(())
}

pub(crate) fn check_steps(steps: usize) -> Result<(), ProvenanceError> {
    if steps > MAX_STEPS {
        return Err(over("step count", steps, MAX_STEPS, "MAX_STEPS"));
    }
    Ok(())
}

/// Checks a frame header against [`MAX_PIXELS`] and [`MAX_TILES`].
pub fn check_header(h: &MediaHeader) -> Result<(), ProvenanceError> {
    let pixels = h.width as u64 * h.height as u64;
    if pixels > MAX_PIXELS {
        return Err(over(
            &format!("{}x{}:", h.width, h.height),
            format!("{pixels} pixels"),
            MAX_PIXELS,
            "MAX_PIXELS",
        ));
    }
    if h.tile_count() > MAX_TILES {
        return Err(over(
            &format!("{}x{} at tile {}:", h.width, h.height, h.tile),
            format!("{} tiles", h.tile_count()),
            MAX_TILES,
            "MAX_TILES",
        ));
    }
    Ok(())
}
