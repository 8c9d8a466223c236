//! Storage verify: a worker's epoch proof against the client's public file, for
//! the epoch the verifier asks about.

use crate::AppError;
use mpegs_media::read_json;
use mpegs_storage::epoch::{self, EpochProof, Public};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::Path;

/// The verdict on one epoch proof.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StorageVerdict {
    pub valid: bool,
    /// Why not (absent when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The epoch the verifier asked about.
    pub epoch: u32,
    /// The epoch the proof claims to answer.
    pub proof_epoch: u32,
    /// The segment, as the public file describes it.
    pub segment: SegmentSummary,
}

/// The segment a public file describes.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SegmentSummary {
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    pub k: u32,
}

/// Checks `proof` against `public` for `epoch` (off-chain: no deal context).
pub fn verify(proof: &EpochProof, public: &Public, epoch: u32, store: &KeyStore) -> StorageVerdict {
    let expected = epoch::Expected { epoch, deal: None };
    let outcome = epoch::verify(proof, public, &expected, store);
    StorageVerdict {
        valid: outcome.is_ok(),
        reason: outcome.err(),
        epoch,
        proof_epoch: proof.epoch,
        segment: SegmentSummary {
            width: public.segment.width,
            height: public.segment.height,
            frames: public.segment.frames,
            k: public.k,
        },
    }
}

/// [`verify`] of the files `mpegs storage prove` and `register`/`reveal` wrote.
pub fn verify_files(
    proof: &Path,
    challenge: &Path,
    epoch: u32,
    store: &KeyStore,
) -> Result<StorageVerdict, AppError> {
    let public: Public = read_json(challenge)?;
    let proof: EpochProof = read_json(proof)?;
    Ok(verify(&proof, &public, epoch, store))
}
