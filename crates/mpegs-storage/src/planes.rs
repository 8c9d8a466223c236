//! Every plane of a frame in a storage proof: decoding a segment to its Y, U and V
//! planes, the placement rules that keep a region's chroma aligned with its luma,
//! and the per-frame hash triple a tree leaf is made of.
//!
//! A luma region `(x, y, s)` covers the chroma region `(x/sx, y/sy, s/sx × s/sy)`
//! of each chroma plane, where `(sx, sy)` is the format's subsampling (4:2:0:
//! `(2, 2)`, 4:2:2: `(2, 1)`, 4:4:4: `(1, 1)`). So that this is exact — the chroma
//! samples of the region are those sited on its luma samples, no partial sample —
//! `x` is a multiple of `sx`, `y` of `sy`, and `s` a multiple of `32·sx` and `32·sy`
//! (the chroma region's sides are then multiples of 32, as the pHash needs). Gray
//! has no chroma: its U and V hashes are 0 (see [`FrameHash`]).

use crate::content::{probe_format, PixelFormat};
use crate::phash::{phash_rect, Region};
use crate::StorageError;
use mpegs_media::MediaError;
use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

/// One frame's pHashes of a region: luma and both chroma planes.
///
/// For a gray segment `u` and `v` are 0. That value is not reserved (a flat
/// chroma region also hashes to 0), and it need not be: the pixel format is pinned
/// by the content commitment the worker signs, and a colour-dropped copy of a
/// coloured segment differs from it in every frame whose chroma region is not flat.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FrameHash {
    pub y: u64,
    pub u: u64,
    pub v: u64,
}

impl PixelFormat {
    /// Checks that `region` fits a `width × height` frame of this format and that
    /// its chroma region is whole samples (see the module docs).
    pub fn validate_region(
        self,
        region: Region,
        width: u32,
        height: u32,
    ) -> Result<(), StorageError> {
        region.validate(width, height)?;
        let Some((sx, sy)) = self.chroma_subsampling() else {
            return Ok(());
        };
        let align = 32 * sx.max(sy);
        if !region.x.is_multiple_of(sx)
            || !region.y.is_multiple_of(sy)
            || !region.size.is_multiple_of(align)
        {
            return Err(StorageError::Region {
                region: region.to_string(),
                reason: format!(
                    "{} needs x a multiple of {sx}, y of {sy} and the size a multiple of {align} \
                     so the chroma region is whole samples",
                    self.name()
                ),
            });
        }
        Ok(())
    }

    /// The multiple a region side must be for this format.
    pub fn region_step(self) -> u32 {
        32 * self.chroma_subsampling().map_or(1, |(sx, sy)| sx.max(sy))
    }
}

/// The pHashes of `region` in every plane of one decoded frame (`frame` is the
/// planes back to back, as ffmpeg's rawvideo writes them).
pub fn frame_hash(
    frame: &[u8],
    format: PixelFormat,
    width: u32,
    height: u32,
    region: Region,
) -> Result<FrameHash, StorageError> {
    format.validate_region(region, width, height)?;
    if frame.len() as u64 != format.frame_bytes(width, height) {
        return Err(StorageError::Region {
            region: region.to_string(),
            reason: format!(
                "frame has {} bytes, not a {width}x{height} {} frame",
                frame.len(),
                format.name()
            ),
        });
    }
    let luma = width as usize * height as usize;
    let (plane_y, chroma) = frame.split_at(luma);
    let y = phash_rect(
        plane_y,
        width,
        height,
        region.x,
        region.y,
        region.size,
        region.size,
    )?;
    let (Some((sx, sy)), Some((cw, ch))) = (
        format.chroma_subsampling(),
        format.chroma_size(width, height),
    ) else {
        return Ok(FrameHash { y, u: 0, v: 0 });
    };
    let (plane_u, plane_v) = chroma.split_at(cw as usize * ch as usize);
    let (x, yy, w, h) = (
        region.x / sx,
        region.y / sy,
        region.size / sx,
        region.size / sy,
    );
    Ok(FrameHash {
        y,
        u: phash_rect(plane_u, cw, ch, x, yy, w, h)?,
        v: phash_rect(plane_v, cw, ch, x, yy, w, h)?,
    })
}

/// A segment decoded frame by frame to all its planes, in its own pixel format
/// (streamed: one frame in memory at a time). The decoding is the content
/// commitment's ([`crate::content`]), so the planes hashed are the planes committed.
pub struct PlaneFrames {
    pub width: u32,
    pub height: u32,
    pub format: PixelFormat,
    path: String,
    child: Child,
    stdout: ChildStdout,
    done: bool,
}

impl PlaneFrames {
    /// Starts decoding `path`; a pixel format other than gray, yuv420p, yuv422p or
    /// yuv444p (or their full-range yuvj forms) is refused.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let (format, width, height) = probe_format(path)?;
        let mut child = Command::new("ffmpeg")
            .args(["-v", "error", "-nostdin", "-i"])
            .arg(path)
            .args([
                "-map",
                "0:v:0",
                "-f",
                "rawvideo",
                "-pix_fmt",
                format.name(),
                "pipe:1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| MediaError::Tool {
                tool: "ffmpeg",
                source,
            })?;
        let stdout = child.stdout.take().expect("piped");
        Ok(Self {
            width,
            height,
            format,
            path: path.display().to_string(),
            child,
            stdout,
            done: false,
        })
    }

    /// The file being decoded, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn error(&self, reason: String) -> StorageError {
        MediaError::Decode {
            path: self.path.clone(),
            reason,
        }
        .into()
    }

    /// Waits for ffmpeg and turns a failed exit into an error.
    fn finish(&mut self) -> Result<(), StorageError> {
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().map_err(|e| self.error(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(self.error(stderr.trim().to_string()))
        }
    }
}

impl Iterator for PlaneFrames {
    type Item = Result<Vec<u8>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let mut frame = vec![0u8; self.format.frame_bytes(self.width, self.height) as usize];
        let mut filled = 0;
        while filled < frame.len() {
            match self.stdout.read(&mut frame[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => {
                    self.done = true;
                    return Some(Err(self.error(e.to_string())));
                }
            }
        }
        if filled == frame.len() {
            return Some(Ok(frame));
        }
        self.done = true;
        match self.finish() {
            Err(e) => Some(Err(e)),
            Ok(()) if filled == 0 => None,
            Ok(()) => Some(Err(self.error(format!("truncated frame ({filled} bytes)")))),
        }
    }
}

impl Drop for PlaneFrames {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: u32, y: u32, size: u32) -> Region {
        Region { x, y, size }
    }

    #[test]
    fn chroma_placement_is_checked_per_format() {
        let f = PixelFormat::Yuv420p;
        assert!(f.validate_region(r(2, 4, 64), 200, 100).is_ok());
        for bad in [r(1, 0, 64), r(0, 3, 64), r(0, 0, 96)] {
            let e = f.validate_region(bad, 200, 100).unwrap_err().to_string();
            assert!(e.contains("chroma region"), "{bad}: {e}");
        }
        // 4:2:2 halves only the width: an odd y is fine, an odd x is not.
        assert!(PixelFormat::Yuv422p
            .validate_region(r(0, 3, 64), 200, 100)
            .is_ok());
        assert!(PixelFormat::Yuv422p
            .validate_region(r(3, 0, 64), 200, 100)
            .is_err());
        for f in [PixelFormat::Yuv444p, PixelFormat::Gray] {
            assert!(f.validate_region(r(3, 5, 96), 200, 120).is_ok());
        }
    }

    #[test]
    fn each_plane_is_hashed_from_its_own_bytes() {
        let (w, h) = (130u32, 70u32); // odd chroma rounding: 65 x 35
        let f = PixelFormat::Yuv420p;
        let n = f.frame_bytes(w, h) as usize;
        let frame: Vec<u8> = (0..n).map(|i| ((i * 31 + i / 7) % 251) as u8).collect();
        let region = r(2, 2, 64);
        let base = frame_hash(&frame, f, w, h, region).unwrap();
        let (luma, chroma) = (w as usize * h as usize, 65 * 35);
        // Change one plane's region at a time: only that plane's hash moves.
        for (plane, start) in [(0, luma), (1, luma + chroma)] {
            let mut other = frame.clone();
            for row in 1..33 {
                for col in 1..33 {
                    let i = start + row * 65 + col;
                    other[i] = other[i].wrapping_mul(7).wrapping_add(row as u8);
                }
            }
            let got = frame_hash(&other, f, w, h, region).unwrap();
            assert_eq!(got.y, base.y);
            if plane == 0 {
                assert_ne!(got.u, base.u);
                assert_eq!(got.v, base.v);
            } else {
                assert_eq!(got.u, base.u);
                assert_ne!(got.v, base.v);
            }
        }
        let e = frame_hash(&frame[1..], f, w, h, region)
            .unwrap_err()
            .to_string();
        assert!(e.contains("bytes"), "{e}");
        // Gray: no chroma to hash.
        let gray = frame_hash(&frame[..luma], PixelFormat::Gray, w, h, region).unwrap();
        assert_eq!((gray.y, gray.u, gray.v), (base.y, 0, 0));
    }
}
