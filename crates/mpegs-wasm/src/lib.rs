//! The mpegs verifier in WebAssembly (issue 16, part 1): the same Rust code as
//! `mpegs verify`, compiled to `wasm32-unknown-unknown` for browsers, plus the
//! attestation helpers a capture page needs.
//!
//! Nothing is reimplemented here. Verification is
//! [`mpegs_provenance::verify::verify_with_progress`], with verifying keys from a
//! [`KeySet`] the page trusts (never from the bundle); the PNG is decoded by the
//! `image` crate (never a canvas, which may colour-manage pixels); attestations
//! are [`mpegs_provenance::prove::attest`] with the CLI's key and secret files.
//!
//! This module is the Rust API, the same on every target (the native tests call
//! it); `bindings` (wasm32 only) exposes it to JavaScript with wasm-bindgen. See
//! the crate's README.md for the JS API.

use mpegs_media::{decode_image, encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::bundle::MediaRecord;
use mpegs_provenance::verify::{
    verify_with_progress, OriginReport, Report, StepReport, VerifyProgress,
};
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_zk::keys::KeySet;
use serde::Serialize;

#[cfg(target_arch = "wasm32")]
mod bindings;

/// An input that cannot be used at all (an unparseable key set or secret, a bad
/// device key, pixels that do not make a picture): JavaScript gets an `Error`
/// with this message. Anything wrong with the media or its bundle is a report
/// instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unusable {}

fn unusable(e: impl std::fmt::Display) -> Unusable {
    Unusable(e.to_string())
}

/// The report of a bundle that could not even be parsed: [`Report`]'s fields in
/// its order, with no media to describe (`"media": null`).
#[derive(Serialize)]
struct Unparsed {
    valid: bool,
    reason: String,
    media: Option<MediaRecord>,
    origin: Option<OriginReport>,
    steps: Vec<StepReport>,
    proofs_verified: usize,
}

/// A report of media that could not be checked at all (nothing verified).
fn refused(media: &MediaRecord, reason: String) -> Report {
    Report {
        valid: false,
        reason: Some(reason),
        media: media.clone(),
        origin: None,
        steps: vec![],
        proofs_verified: 0,
    }
}

fn pretty(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("reports serialize")
}

/// Parses a key set ([`mpegs_zk::keys::KeySetJson`]) and checks every entry.
pub fn key_set(key_set: &str) -> Result<KeySet, Unusable> {
    KeySet::from_json(key_set).map_err(unusable)
}

/// One trusted key, as [`key_set_info`] lists it.
#[derive(Serialize)]
struct KeyInfo<'a> {
    id: &'a str,
    vk_hash: &'a str,
    description: &'a serde_json::Value,
}

/// `keySetInfo`: the JSON list of `{id, vk_hash, description}` of a key set,
/// after the same checks [`verify`] makes.
pub fn key_set_info(json: &str) -> Result<String, Unusable> {
    let keys = key_set(json)?;
    let info: Vec<KeyInfo<'_>> = keys
        .entries()
        .map(|e| KeyInfo {
            id: &e.id,
            vk_hash: &e.vk_hash,
            description: &e.description,
        })
        .collect();
    Ok(pretty(&info))
}

/// `verify`: the report JSON `mpegs verify --json` prints for the same image,
/// bundle and keys (pretty, without the final newline).
///
/// `secret` is the owner's secret file of private media; it is read only when
/// the bundle reveals no seed (as the CLI does). Invalid media or bundles are
/// reports with `valid: false` and a reason: a bundle that does not parse has
/// `"media": null`, an image that does not decode has nothing verified. Only an
/// unusable key set or secret is an error.
pub fn verify(
    image: &[u8],
    bundle: &str,
    key_set_json: &str,
    secret: Option<&str>,
    progress: VerifyProgress<'_>,
) -> Result<String, Unusable> {
    let keys = key_set(key_set_json)?;
    let bundle = match Bundle::from_json(bundle.as_bytes()) {
        Ok(b) => b,
        Err(e) => {
            return Ok(pretty(&Unparsed {
                valid: false,
                reason: e.to_string(),
                media: None,
                origin: None,
                steps: vec![],
                proofs_verified: 0,
            }))
        }
    };
    let seed = match (&bundle.media.seed, secret) {
        (Some(_), _) | (None, None) => None,
        (None, Some(text)) => Some(
            MediaSecret::from_json_for(text.as_bytes(), &bundle.media, "the secret")
                .map_err(unusable)?,
        ),
    };
    let frame = match decode_image(image, "the image") {
        Ok(f) => f,
        Err(e) => return Ok(pretty(&refused(&bundle.media, e.to_string()))),
    };
    let report = verify_with_progress(&frame, &bundle, seed.as_ref(), &keys, progress);
    Ok(pretty(&report))
}

/// `deviceKey`: a new random device key, the file `mpegs keygen` writes.
pub fn device_key() -> String {
    DeviceKey::generate().to_json()
}

/// `deviceAddress`: the EVM address of a device key file's key, as `mpegs keygen`
/// prints it.
pub fn device_address(key: &str) -> Result<String, Unusable> {
    Ok(DeviceKey::from_json(key.as_bytes(), "the device key")
        .map_err(unusable)?
        .address())
}

/// What `attest` makes: the files `mpegs attest` would leave for the picture.
#[derive(Clone, Debug)]
pub struct Attested {
    /// The picture as PNG (its decoded pixels are the ones committed to).
    pub png: Vec<u8>,
    /// `<image>.mpegs.json`: the bundle, media private.
    pub bundle: String,
    /// `<image>.mpegs.secret.json`: the blinding seed (keep it private).
    pub secret: String,
}

/// The frame of raw pixels: 4 channels are RGBA from a canvas (every pixel must
/// be opaque; the alpha is dropped), 3 are rgb24, 1 is gray.
pub fn frame_of_pixels(
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u32,
) -> Result<Frame, Unusable> {
    let format = match channels {
        1 => PixelFormat::Gray,
        3 | 4 => PixelFormat::Rgb24,
        n => {
            return Err(Unusable(format!(
                "channels must be 1 (gray), 3 (RGB) or 4 (RGBA), got {n}"
            )))
        }
    };
    let expected = (width as u64) * (height as u64) * channels as u64;
    if width == 0 || height == 0 || pixels.len() as u64 != expected {
        return Err(Unusable(format!(
            "{width}×{height} pixels of {channels} channels are {expected} bytes, got {}",
            pixels.len()
        )));
    }
    let data = if channels == 4 {
        if pixels.chunks_exact(4).any(|p| p[3] != 255) {
            return Err(Unusable(
                "the picture has transparent pixels; only opaque pictures can be attested".into(),
            ));
        }
        pixels
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect()
    } else {
        pixels.to_vec()
    };
    Frame::new(FrameInfo::new(format, width, height), data).map_err(unusable)
}

/// `attest`: what `mpegs attest` produces for a picture, with a fresh random
/// blinding seed.
pub fn attest(
    frame: &Frame,
    key: &str,
    device_id: &str,
    captured_at: u64,
    tile: u32,
) -> Result<Attested, Unusable> {
    attest_with_seed(frame, key, device_id, captured_at, tile, Seed::random())
}

/// [`attest`] with a given seed (tests that predict bytes).
pub fn attest_with_seed(
    frame: &Frame,
    key: &str,
    device_id: &str,
    captured_at: u64,
    tile: u32,
    seed: Seed,
) -> Result<Attested, Unusable> {
    let key = DeviceKey::from_json(key.as_bytes(), "the device key").map_err(unusable)?;
    let bundle = mpegs_provenance::prove::attest(frame, &key, tile, &seed, device_id, captured_at)
        .map_err(unusable)?;
    let secret = MediaSecret::new(bundle.media.value().map_err(unusable)?, seed);
    Ok(Attested {
        png: encode_png(frame).map_err(unusable)?,
        bundle: pretty(&bundle),
        secret: pretty(&secret),
    })
}
