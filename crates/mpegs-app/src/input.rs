//! Small input helpers every front end needs: sizes, and the secret seed of a
//! media file's commitment.

use crate::AppError;
use mpegs_media::Seed;
use mpegs_provenance::{secret_path, Bundle, MediaSecret};
use std::path::{Path, PathBuf};

/// `WxH` → (width, height), both positive.
pub fn parse_size(s: &str) -> Result<(u32, u32), AppError> {
    let bad = |what: &str| AppError::Input(what.to_string());
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| bad("size must be WxH, e.g. 1280x720"))?;
    let w: u32 = w
        .parse()
        .map_err(|_| bad("width must be a positive integer"))?;
    let h: u32 = h
        .parse()
        .map_err(|_| bad("height must be a positive integer"))?;
    if w == 0 || h == 0 {
        return Err(bad("size must be positive"));
    }
    Ok((w, h))
}

/// The seed of a media file's commitment: revealed in its bundle, or from its
/// secret file (`explicit`, or `<image>.mpegs.secret.json` when present).
/// `None` when the media is private and no secret is at hand.
pub fn input_seed(
    image: &Path,
    bundle: &Bundle,
    explicit: Option<&Path>,
) -> Result<Option<Seed>, AppError> {
    if let Some(seed) = bundle.media.seed {
        return Ok(Some(seed));
    }
    let path: PathBuf = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = secret_path(image);
            if !default.exists() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(MediaSecret::load_for(&path, &bundle.media)?))
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_and_zero_is_refused() {
        assert_eq!(parse_size("1280x720").unwrap(), (1280, 720));
        for bad in ["1280", "0x3", "ax3", "3x"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
