//! Verify: a media file against its bundle (a sidecar, or the one its Content
//! Credentials carry), down to the device signature.

use crate::AppError;
use mpegs_c2pa::Verdict;
use mpegs_media::{decode_image, Frame, Seed};
use mpegs_provenance::{sidecar_path, Bundle};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub use mpegs_provenance::verify::Report;

/// Verifies `frame` against `bundle` with the verifying keys of `store`. For
/// private media (a bundle that reveals no seed) the owner passes the seed;
/// one the bundle reveals takes precedence. This is the report every front end
/// prints or sends (`mpegs verify --json`, the service).
pub fn verify_frame(
    frame: &Frame,
    bundle: &Bundle,
    secret: Option<&Seed>,
    store: &KeyStore,
) -> Report {
    mpegs_provenance::verify::verify_private_media(frame, bundle, secret, store)
}

/// The outcome of verifying a file: the proofs' report for a sidecar bundle,
/// or both verdicts (C2PA and proofs) for a file with Content Credentials. It
/// serializes as the report (or verdict) itself.
// Both variants are a few hundred bytes and one value is made per verification.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Verification {
    Bundle(Report),
    ContentCredentials(Verdict),
}

impl Verification {
    pub fn valid(&self) -> bool {
        match self {
            Verification::Bundle(r) => r.valid,
            Verification::ContentCredentials(v) => v.valid,
        }
    }
}

/// What `verify` reads.
#[derive(Clone, Debug)]
pub struct VerifyFiles {
    pub image: PathBuf,
    /// The bundle (default: the embedded C2PA manifest's, else `<image>.mpegs.json`).
    pub bundle: Option<PathBuf>,
    /// The secret of private media (default: `<image>.mpegs.secret.json`, if present).
    pub secret: Option<PathBuf>,
    /// PEM roots to trust for a C2PA signer (an untrusted signer is a warning).
    pub trust: Option<PathBuf>,
}

/// Verifies a file: its embedded Content Credentials when it carries them and
/// no bundle is given, else its sidecar bundle.
pub fn verify_file(files: &VerifyFiles, store: &KeyStore) -> Result<Verification, AppError> {
    let image = &files.image;
    if files.bundle.is_none() {
        let bytes = mpegs_c2pa::read_file(image)?;
        let anchors = read_anchors(files.trust.as_deref())?;
        let seed_for = |b: &Bundle| crate::input::input_seed(image, b, files.secret.as_deref());
        let name = image.display().to_string();
        if let Some(v) = verify_embedded(&bytes, &name, anchors.as_deref(), &seed_for, store)? {
            return Ok(Verification::ContentCredentials(v));
        }
    }
    let frame = mpegs_media::load_image(image)?;
    let bundle_path = files.bundle.clone().unwrap_or_else(|| sidecar_path(image));
    let bundle = Bundle::load(&bundle_path)?;
    let seed = crate::input::input_seed(image, &bundle, files.secret.as_deref())?;
    Ok(Verification::Bundle(verify_frame(
        &frame,
        &bundle,
        seed.as_ref(),
        store,
    )))
}

/// Both verdicts for a PNG or JPEG file (`bytes`, labelled `name`) that carries
/// Content Credentials; `None` if it carries none (or is not PNG/JPEG). The
/// seed of private media comes from `seed_for` given the embedded bundle.
pub fn verify_embedded(
    bytes: &[u8],
    name: &str,
    anchors: Option<&str>,
    seed_for: &dyn Fn(&Bundle) -> Result<Option<Seed>, AppError>,
    store: &KeyStore,
) -> Result<Option<Verdict>, AppError> {
    if mpegs_c2pa::format_of(bytes).is_err() {
        return Ok(None);
    }
    let frame = decode_image(bytes, name)?;
    let Some(c2pa) = mpegs_c2pa::read(bytes, anchors)? else {
        return Ok(None);
    };
    let seed = match &c2pa.bundle {
        Some(Ok(b)) => seed_for(b)?,
        _ => None,
    };
    Ok(Some(mpegs_c2pa::judge(c2pa, &frame, seed.as_ref(), store)))
}

/// The PEM trust anchors in `path`, if one is given.
pub fn read_anchors(path: Option<&Path>) -> Result<Option<String>, AppError> {
    path.map(|p| {
        std::fs::read_to_string(p).map_err(|source| AppError::Io {
            context: format!("cannot read {}", p.display()),
            source,
        })
    })
    .transpose()
}
