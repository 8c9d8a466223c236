//! Circuit keys: generate ahead of time what an edit will need.

use crate::AppError;
use mpegs_filters::parse_filtergraph;
use mpegs_media::{FrameInfo, MediaHeader};
use mpegs_provenance::prove::{Progress, Prover};
use mpegs_zk::keys::KeyStore;

/// Generates (with OS randomness) the keys of every circuit `vf` needs on
/// frames of `info` in tiles of `tile`; returns (circuit id, vk hash) for each.
pub fn setup(
    vf: &str,
    info: FrameInfo,
    tile: u32,
    store: &KeyStore,
    progress: &dyn Progress,
) -> Result<Vec<(String, String)>, AppError> {
    let chain = parse_filtergraph(vf)?;
    let header = MediaHeader::new(info, tile)?;
    Ok(Prover::new(store, progress).setup_chain(&chain, header)?)
}
