//! Both verdicts on a Content Credentials file: the C2PA validation and the
//! mpegs proofs of the bundle it carries. A valid C2PA signature over an invalid
//! proof is invalid; a manifest with no mpegs assertion is reported, never proven.

use crate::{read, C2paError, C2paReport};
use mpegs_media::{Frame, Seed};
use mpegs_provenance::verify::{verify_private_media, Report as VerifyReport};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;

/// The outcome of `mpegs verify` on a file with Content Credentials.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Valid iff the C2PA validation holds *and* the mpegs proofs verify.
    pub valid: bool,
    /// Why not, first reason first.
    pub reason: Option<String>,
    pub c2pa: C2paReport,
    /// The proofs' report, when the manifest carries a bundle.
    pub mpegs: Option<VerifyReport>,
}

/// Verifies `file_bytes` (the file as published) whose pixels are `frame`.
/// Returns `None` when the file has no manifest.
pub fn verify(
    file_bytes: &[u8],
    frame: &Frame,
    seed: Option<&Seed>,
    anchors: Option<&str>,
    store: &KeyStore,
) -> Result<Option<Verdict>, C2paError> {
    Ok(read(file_bytes, anchors)?.map(|c2pa| judge(c2pa, frame, seed, store)))
}

/// Both verdicts from a manifest already read: the proofs of the bundle it carries
/// checked against `frame`, and the C2PA validation, which must hold too.
pub fn judge(c2pa: C2paReport, frame: &Frame, seed: Option<&Seed>, store: &KeyStore) -> Verdict {
    let (mpegs, mut reason) = match &c2pa.bundle {
        None => (
            None,
            Some("the C2PA manifest carries no mpegs proof: its claims are the signer's word, not proven".to_string()),
        ),
        Some(Err(e)) => (None, Some(format!("the manifest's mpegs bundle is malformed: {e}"))),
        Some(Ok(bundle)) => {
            let report = verify_private_media(frame, bundle, seed, store);
            let reason = (!report.valid).then(|| {
                format!(
                    "the mpegs proofs do not verify: {}",
                    report.reason.clone().unwrap_or_default()
                )
            });
            (Some(report), reason)
        }
    };
    if !c2pa.valid {
        reason = Some(format!(
            "the C2PA manifest does not validate: {}",
            c2pa.failures.join(", ")
        ));
    }
    Verdict {
        valid: reason.is_none(),
        reason,
        c2pa,
        mpegs,
    }
}
