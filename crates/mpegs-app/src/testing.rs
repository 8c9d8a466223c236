//! Fixtures of the unit tests: an attested original on disk whose pixels were
//! changed after the attestation.

use crate::attest::{attest_frame, AttestOptions};
use mpegs_media::{save_png_atomic, Frame, FrameInfo, PixelFormat};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::sidecar_path;
use mpegs_zk::keys::KeyStore;
use std::path::PathBuf;

pub struct Original {
    pub dir: tempfile::TempDir,
    pub store: KeyStore,
    pub image: PathBuf,
    pub bundle: PathBuf,
}

/// `photo.png` with its bundle and secret, one pixel changed since; `honest`
/// keeps the pixels as attested.
pub fn original(honest: bool) -> Original {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let info = FrameInfo::new(PixelFormat::Gray, 8, 8);
    let frame = Frame::new(info, (0..64).map(|i| (i * 3) as u8).collect()).unwrap();
    let options = AttestOptions {
        tile: 8,
        device_id: "test".into(),
        captured_at: 0,
        reveal: false,
    };
    let a = attest_frame(&frame, &DeviceKey::generate(), &options).unwrap();
    let image = dir.path().join("photo.png");
    let mut pixels = frame;
    if !honest {
        pixels.data[0] ^= 1;
    }
    save_png_atomic(&pixels, &image).unwrap();
    let bundle = sidecar_path(&image);
    a.bundle.save(&bundle).unwrap();
    a.secret
        .save(&mpegs_provenance::secret_path(&image))
        .unwrap();
    Original {
        dir,
        store,
        image,
        bundle,
    }
}

pub fn tampered_original() -> Original {
    original(false)
}
