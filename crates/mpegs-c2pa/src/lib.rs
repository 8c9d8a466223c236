//! Content Credentials (C2PA) for mpegs: a manifest store embedded in the output
//! PNG or JPEG that carries the proof bundle, so the zero-knowledge proof of the
//! edit travels inside the file (docs/c2pa.md).
//!
//! - [`sign`]: builds the manifest from a bundle — a hard binding of the file
//!   (`c2pa.hash.data`), a `c2pa.actions` assertion with one action per edit step
//!   (its ffmpeg filter string), an ingredient for the private original known only
//!   by its commitment and device attestation, and the `org.mpegs.bundle` assertion
//!   holding the bundle v2 — and signs it ES256 with an X.509 chain.
//! - [`read`]: validates a file's manifest offline (signature, binding, trust) and
//!   extracts the bundle, if an mpegs tool wrote one.
//! - [`verify`]: both verdicts together: the C2PA validation and the mpegs proofs.
//! - [`cert`]: an untrusted test CA and signer for demos.

pub mod cert;
pub mod manifest;
pub mod read;
pub mod sign;
pub mod verify;

pub use read::{read, C2paReport};
pub use sign::sign;
pub use verify::{judge, verify, Verdict};

/// Label of the assertion carrying the bundle. c2pa-rs strips a trailing `.vN` from
/// custom labels, so the bundle's own `version` field carries the version.
pub const MPEGS_LABEL: &str = "org.mpegs.bundle";

/// Largest file `read` and `sign` accept (the bundle limit plus a large image).
pub const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// What can go wrong reading or writing Content Credentials.
#[derive(Debug, thiserror::Error)]
pub enum C2paError {
    /// The c2pa library refused (bad certificate or key, unreadable manifest…).
    #[error("C2PA: {0}")]
    C2pa(#[from] c2pa::Error),
    #[error("{0}")]
    Input(String),
    #[error("certificate: {0}")]
    Cert(String),
    #[error(transparent)]
    Provenance(#[from] mpegs_provenance::ProvenanceError),
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The MIME type of a PNG or JPEG file, from its first bytes.
pub fn format_of(bytes: &[u8]) -> Result<&'static str, C2paError> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else {
        Err(C2paError::Input(
            "not a PNG or JPEG file (Content Credentials are embedded in PNG and JPEG)".into(),
        ))
    }
}

/// Reads a file for signing or reading, refusing oversized input first.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, C2paError> {
    let err = |e: std::io::Error| C2paError::Input(format!("cannot read {}: {e}", path.display()));
    let size = std::fs::metadata(path).map_err(err)?.len();
    if size > MAX_FILE_BYTES {
        return Err(C2paError::Input(format!(
            "{} is {size} bytes, above the {MAX_FILE_BYTES}-byte limit",
            path.display()
        )));
    }
    std::fs::read(path).map_err(err)
}

/// Settings for an offline reader or builder: no OCSP, no remote manifests;
/// `anchors` (PEM) are the only trusted roots.
fn offline_context(anchors: Option<&str>) -> Result<c2pa::Context, C2paError> {
    let mut settings = serde_json::json!({
        "verify": { "ocsp_fetch": false, "remote_manifest_fetch": false, "verify_trust": true },
        "builder": { "claim_generator_info": { "name": "mpegs", "version": env!("CARGO_PKG_VERSION") } },
    });
    if let Some(pem) = anchors {
        settings["trust"] = serde_json::json!({ "user_anchors": pem });
    }
    Ok(c2pa::Context::new().with_settings(settings)?)
}
