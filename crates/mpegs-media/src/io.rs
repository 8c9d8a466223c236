//! Image decoding (PNG, JPEG), atomic writes and the JSON files proofs travel in.
//!
//! What mpegs commits to is the *decoded* pixel array: a JPEG's commitment covers its
//! decoded RGB/gray samples as this decoder produces them, not the compressed bytes.

use crate::{Frame, FrameInfo, MediaError, PixelFormat};
use image::{DynamicImage, ImageEncoder, ImageFormat};
use std::io::Write;
use std::path::Path;

/// Decodes a PNG or JPEG file into a gray or rgb24 frame.
///
/// 8-bit gray and RGB images are taken as they are. An RGBA or gray+alpha image is
/// accepted only when every pixel is fully opaque (its alpha carries no information);
/// 16-bit images are refused rather than silently truncated.
pub fn load_image(path: &Path) -> Result<Frame, MediaError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| MediaError::Read {
        path: shown.clone(),
        source,
    })?;
    decode_image(&bytes, &shown)
}

/// Decodes PNG or JPEG bytes like [`load_image`]; `name` labels errors (an
/// upload's field name, say).
pub fn decode_image(bytes: &[u8], name: &str) -> Result<Frame, MediaError> {
    let shown = name.to_string();
    let format = image::guess_format(bytes).map_err(|e| MediaError::Decode {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(MediaError::Unsupported {
            path: shown,
            reason: format!("{format:?} images are not supported (use PNG or JPEG)"),
        });
    }
    let img =
        image::load_from_memory_with_format(bytes, format).map_err(|e| MediaError::Decode {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    frame_from_dynamic(img, &shown)
}

/// The width and height an image's header claims, read without decoding its
/// pixels (so a size limit can be applied before any large allocation).
pub fn image_dimensions(bytes: &[u8], name: &str) -> Result<(u32, u32), MediaError> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| MediaError::Decode {
            path: name.to_string(),
            reason: e.to_string(),
        })?
        .into_dimensions()
        .map_err(|e| MediaError::Decode {
            path: name.to_string(),
            reason: e.to_string(),
        })
}

fn frame_from_dynamic(img: DynamicImage, shown: &str) -> Result<Frame, MediaError> {
    let (w, h) = (img.width(), img.height());
    let unsupported = |reason: &str| MediaError::Unsupported {
        path: shown.to_string(),
        reason: reason.to_string(),
    };
    match img {
        DynamicImage::ImageLuma8(buf) => {
            Frame::new(FrameInfo::new(PixelFormat::Gray, w, h), buf.into_raw())
        }
        DynamicImage::ImageRgb8(buf) => {
            Frame::new(FrameInfo::new(PixelFormat::Rgb24, w, h), buf.into_raw())
        }
        DynamicImage::ImageRgba8(buf) => {
            let raw = buf.into_raw();
            if raw.chunks_exact(4).any(|p| p[3] != 255) {
                return Err(unsupported(
                    "the image has transparent pixels; flatten it to RGB first",
                ));
            }
            let rgb = raw
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect();
            Frame::new(FrameInfo::new(PixelFormat::Rgb24, w, h), rgb)
        }
        DynamicImage::ImageLumaA8(buf) => {
            let raw = buf.into_raw();
            if raw.chunks_exact(2).any(|p| p[1] != 255) {
                return Err(unsupported(
                    "the image has transparent pixels; flatten it to gray first",
                ));
            }
            let gray = raw.chunks_exact(2).map(|p| p[0]).collect();
            Frame::new(FrameInfo::new(PixelFormat::Gray, w, h), gray)
        }
        _ => Err(unsupported(
            "only 8-bit gray, RGB and opaque RGBA images are supported",
        )),
    }
}

/// Encodes a frame as PNG (lossless).
pub fn encode_png(frame: &Frame) -> Result<Vec<u8>, MediaError> {
    let color = match frame.format() {
        PixelFormat::Gray => image::ExtendedColorType::L8,
        PixelFormat::Rgb24 => image::ExtendedColorType::Rgb8,
    };
    let mut encoded = Vec::new();
    image::codecs::png::PngEncoder::new(&mut encoded)
        .write_image(&frame.data, frame.width(), frame.height(), color)
        .map_err(|e| MediaError::Write {
            path: "(png)".into(),
            reason: e.to_string(),
        })?;
    Ok(encoded)
}

/// Encodes a frame as PNG (lossless) and writes it atomically.
pub fn save_png_atomic(frame: &Frame, path: &Path) -> Result<(), MediaError> {
    let encoded = encode_png(frame).map_err(|e| match e {
        MediaError::Write { reason, .. } => MediaError::Write {
            path: path.display().to_string(),
            reason,
        },
        other => other,
    })?;
    write_atomic(path, &encoded)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a
/// rename, so readers never see a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), MediaError> {
    let err = |reason: String| MediaError::Write {
        path: path.display().to_string(),
        reason,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| err(e.to_string()))?;
    tmp.write_all(bytes).map_err(|e| err(e.to_string()))?;
    tmp.as_file().sync_all().map_err(|e| err(e.to_string()))?;
    tmp.persist(path).map_err(|e| err(e.error.to_string()))?;
    Ok(())
}

/// Writes a secret (a blinding seed, a challenge file) as pretty JSON, atomically,
/// readable by its owner only (mode 0600 on Unix).
pub fn write_private_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), MediaError> {
    write_json(path, value)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The temporary file is created 0600 already; say so explicitly, since the
        // secret must never be world-readable even if that default changes.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
            MediaError::Write {
                path: path.display().to_string(),
                reason: e.to_string(),
            }
        })?;
    }
    Ok(())
}

/// Reads a JSON file (a proof, a challenge file), with the path in any error.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, MediaError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| MediaError::Read {
        path: shown.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| MediaError::Decode {
        path: shown,
        reason: e.to_string(),
    })
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), MediaError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| MediaError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_is_lossless() {
        let dir = tempfile::tempdir().unwrap();
        let info = FrameInfo::new(PixelFormat::Rgb24, 7, 5);
        let data: Vec<u8> = (0..info.byte_len()).map(|i| (i * 37 % 256) as u8).collect();
        let frame = Frame::new(info, data).unwrap();
        let path = dir.path().join("a.png");
        save_png_atomic(&frame, &path).unwrap();
        assert_eq!(load_image(&path).unwrap(), frame);
    }

    #[test]
    fn jpeg_is_committed_as_its_decoded_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.jpg");
        let img =
            image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 16, y as u8 * 32, 90]));
        img.save(&path).unwrap();
        let frame = load_image(&path).unwrap();
        assert_eq!(frame.info, FrameInfo::new(PixelFormat::Rgb24, 16, 8));
        let decoded = image::open(&path).unwrap().to_rgb8().into_raw();
        assert_eq!(frame.data, decoded);
        // Other formats are refused with a clear message.
        let bmp = dir.path().join("a.bmp");
        std::fs::write(&bmp, b"BM\x00\x00").unwrap();
        assert!(load_image(&bmp).is_err());
    }

    #[test]
    fn garbage_is_a_decode_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"\x89PNG\r\n\x1a\nnot really").unwrap();
        assert!(load_image(&path).is_err());
        let missing = dir.path().join("missing.png");
        assert!(matches!(load_image(&missing), Err(MediaError::Read { .. })));
    }

    #[test]
    fn transparent_png_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.png");
        let img = image::RgbaImage::from_raw(2, 1, vec![1, 2, 3, 255, 4, 5, 6, 0]).unwrap();
        img.save(&path).unwrap();
        let err = load_image(&path).unwrap_err().to_string();
        assert!(err.contains("transparent"), "{err}");
    }
}
