//! Content Credentials: sign a C2PA manifest carrying a bundle, but only one
//! that verifies here first.

use crate::AppError;
use mpegs_media::load_image;
use mpegs_provenance::{sidecar_path, Bundle};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `sign` reads and writes.
#[derive(Clone, Debug)]
pub struct SignFiles {
    pub image: PathBuf,
    /// Certificate chain, PEM, the signer's certificate first.
    pub cert: PathBuf,
    /// The signer's private key, PKCS#8 PEM (ES256).
    pub key: PathBuf,
    /// Bundle (default: `<image>.mpegs.json`).
    pub bundle: Option<PathBuf>,
    /// The input's secret, for private media (default: `<image>.mpegs.secret.json`).
    pub secret: Option<PathBuf>,
    /// Output (default: `<stem>.c2pa.<ext>` beside the image).
    pub output: Option<PathBuf>,
}

/// What `sign` wrote.
#[derive(Clone, Debug, Serialize)]
pub struct Signed {
    pub image: PathBuf,
    pub output: PathBuf,
    /// Proven edit steps in the embedded bundle.
    pub steps: usize,
}

/// `photo.png` → `photo.c2pa.png`.
pub fn default_output(image: &Path) -> PathBuf {
    let stem = image
        .file_stem()
        .map_or("out".into(), |s| s.to_string_lossy().into_owned());
    let ext = image
        .extension()
        .map_or("png".into(), |e| e.to_string_lossy().into_owned());
    image.with_file_name(format!("{stem}.c2pa.{ext}"))
}

fn read(path: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|source| AppError::Io {
        context: format!("cannot read {}", path.display()),
        source,
    })
}

/// Embeds a signed manifest carrying the image's bundle. Refuses (a
/// [`AppError::Rejected`]) a bundle that does not verify against the image here.
pub fn sign(files: &SignFiles, store: &KeyStore) -> Result<Signed, AppError> {
    let image = &files.image;
    let bundle_path = files.bundle.clone().unwrap_or_else(|| sidecar_path(image));
    let bundle = Bundle::load(&bundle_path)?;
    let frame = load_image(image)?;
    let seed = crate::input::input_seed(image, &bundle, files.secret.as_deref())?;
    // Never sign a history that does not verify here first.
    let report = crate::verify::verify_frame(&frame, &bundle, seed.as_ref(), store);
    if !report.valid {
        return Err(AppError::Rejected(format!(
            "not signed: the bundle does not verify here: {}",
            report.reason.unwrap_or_default()
        )));
    }
    let chain = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let bytes = mpegs_c2pa::read_file(image)?;
    let out = files
        .output
        .clone()
        .unwrap_or_else(|| default_output(image));
    let title = out
        .file_name()
        .map_or("mpegs output".into(), |n| n.to_string_lossy().into_owned());
    let signed = mpegs_c2pa::sign(&bytes, &bundle, &chain, &key_pem, &title)?;
    mpegs_media::write_atomic(&out, &signed)?;
    Ok(Signed {
        image: image.clone(),
        output: out,
        steps: bundle.edit.as_ref().map_or(0, |e| e.steps.len()),
    })
}
