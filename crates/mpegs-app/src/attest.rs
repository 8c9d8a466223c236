//! Attest: a capture device signs the commitment of the pixels it captured.

use crate::AppError;
use mpegs_media::{load_image, Frame, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::{secret_path, sidecar_path, Bundle, MediaSecret};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How to attest.
#[derive(Clone, Debug)]
pub struct AttestOptions {
    /// Tile size of the commitment (power of two, 4–256).
    pub tile: u32,
    /// A label for the device, signed with the capture.
    pub device_id: String,
    /// Capture time, Unix seconds.
    pub captured_at: u64,
    /// Publish the original: reveal its seed in the bundle.
    pub reveal: bool,
}

/// A signed original: its bundle and the secret that blinds its commitment.
pub struct Attestation {
    pub bundle: Bundle,
    pub secret: MediaSecret,
}

/// Signs `frame`'s commitment, blinded with a fresh seed.
pub fn attest_frame(
    frame: &Frame,
    key: &DeviceKey,
    options: &AttestOptions,
) -> Result<Attestation, AppError> {
    let seed = Seed::random();
    let mut bundle = mpegs_provenance::prove::attest(
        frame,
        key,
        options.tile,
        &seed,
        &options.device_id,
        options.captured_at,
    )?;
    let secret = MediaSecret::new(bundle.media.value()?, seed);
    if options.reveal {
        bundle = bundle.reveal(seed);
    }
    Ok(Attestation { bundle, secret })
}

/// Where `attest` reads and writes.
#[derive(Clone, Debug)]
pub struct AttestFiles {
    pub image: PathBuf,
    pub key: PathBuf,
    /// Bundle path (default: `<image>.mpegs.json`).
    pub bundle: Option<PathBuf>,
    /// Secret path (default: `<image>.mpegs.secret.json`, mode 0600).
    pub secret: Option<PathBuf>,
}

/// What `attest` did.
#[derive(Clone, Debug, Serialize)]
pub struct Attested {
    pub image: PathBuf,
    /// `WxH format`.
    pub media: String,
    pub device: String,
    pub commitment: String,
    pub bundle: PathBuf,
    pub secret: PathBuf,
    pub revealed: bool,
}

/// Attests an image file: the bundle beside it, the secret seed in its own
/// file (mode 0600) written first, so a bundle never exists without it.
pub fn attest_file(files: &AttestFiles, options: &AttestOptions) -> Result<Attested, AppError> {
    let frame = load_image(&files.image)?;
    let key = DeviceKey::load(&files.key)?;
    let a = attest_frame(&frame, &key, options)?;
    let bundle_path = files
        .bundle
        .clone()
        .unwrap_or_else(|| sidecar_path(&files.image));
    let secret_file = files
        .secret
        .clone()
        .unwrap_or_else(|| secret_path(&files.image));
    a.secret.save(&secret_file)?;
    a.bundle.save(&bundle_path)?;
    Ok(Attested {
        image: files.image.clone(),
        media: frame.info.to_string(),
        device: key.address(),
        commitment: a.bundle.media.commitment.clone(),
        bundle: bundle_path,
        secret: secret_file,
        revealed: options.reveal,
    })
}

/// Creates a device key at `path` (mode 0600, never overwriting); returns its address.
pub fn keygen(path: &Path) -> Result<String, AppError> {
    let key = DeviceKey::generate();
    key.save(path)?;
    Ok(key.address())
}
