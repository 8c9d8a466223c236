//! The content commitment of a segment: what a storage worker signs before it
//! posts collateral (StorageEscrow's `Terms.content`), so the deal names the exact
//! segment and not just its shape.
//!
//! ```text
//! content = sha256( sha256("mpegs.storage.content.v1")
//!                   ‖ size ‖ sha256(file)
//!                   ‖ pixelFormat ‖ width ‖ height ‖ frames
//!                   ‖ sha256(every decoded frame, all planes, in order) )
//! ```
//!
//! every integer a 32-byte big-endian word. The file hash pins the stored bytes;
//! the decoded-frames hash pins every plane (Y, U and V) of every frame as ffmpeg
//! decodes it in the stream's own pixel format, which is what the per-epoch pHash
//! trees are computed from, so the worker can check the segment it holds is the
//! one it agreed to before any challenge is revealed.

use crate::StorageError;
use mpegs_media::MediaError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// Domain tag of the content commitment.
pub const CONTENT_DOMAIN: &[u8] = b"mpegs.storage.content.v1";

/// Pixel formats a committed segment may have (`Terms.pixelFormat` on-chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    Gray,
    Yuv420p,
    Yuv422p,
    Yuv444p,
}

impl PixelFormat {
    /// The contract's code (1..=4).
    pub fn code(self) -> u8 {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Yuv420p => 2,
            PixelFormat::Yuv422p => 3,
            PixelFormat::Yuv444p => 4,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        [Self::Gray, Self::Yuv420p, Self::Yuv422p, Self::Yuv444p]
            .into_iter()
            .find(|f| f.code() == code)
    }

    /// ffmpeg's name of the format.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Gray => "gray",
            PixelFormat::Yuv420p => "yuv420p",
            PixelFormat::Yuv422p => "yuv422p",
            PixelFormat::Yuv444p => "yuv444p",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::Gray, Self::Yuv420p, Self::Yuv422p, Self::Yuv444p]
            .into_iter()
            .find(|f| f.name() == name)
    }

    /// Chroma subsampling `(horizontal, vertical)` factors, `None` for gray (no
    /// chroma planes): 4:2:0 halves both axes, 4:2:2 only the horizontal one.
    pub fn chroma_subsampling(self) -> Option<(u32, u32)> {
        match self {
            PixelFormat::Gray => None,
            PixelFormat::Yuv420p => Some((2, 2)),
            PixelFormat::Yuv422p => Some((2, 1)),
            PixelFormat::Yuv444p => Some((1, 1)),
        }
    }

    /// Width and height of each chroma plane of a `width × height` frame (rounded
    /// up, as ffmpeg lays them out), `None` for gray.
    pub fn chroma_size(self, width: u32, height: u32) -> Option<(u32, u32)> {
        self.chroma_subsampling()
            .map(|(sx, sy)| (width.div_ceil(sx), height.div_ceil(sy)))
    }

    /// Bytes of one decoded `width × height` frame, every plane (chroma rounded up).
    pub fn frame_bytes(self, width: u32, height: u32) -> u64 {
        let (w, h) = (u64::from(width), u64::from(height));
        match self.chroma_size(width, height) {
            None => w * h,
            Some((cw, ch)) => w * h + 2 * u64::from(cw) * u64::from(ch),
        }
    }
}

/// A segment's content commitment and what it is made of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Content {
    /// The commitment, 64 hex digits.
    pub commitment: String,
    /// The file's size in bytes.
    pub size: u64,
    pub file_sha256: String,
    pub pixel_format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
    /// sha256 of every decoded frame's planes, in order.
    pub frames_sha256: String,
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

impl Content {
    /// The commitment of these parts (see the module docs).
    pub fn commit(
        size: u64,
        file_sha256: &[u8; 32],
        format: PixelFormat,
        width: u32,
        height: u32,
        frames: u32,
        frames_sha256: &[u8; 32],
    ) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(Sha256::digest(CONTENT_DOMAIN));
        h.update(word(size));
        h.update(file_sha256);
        h.update(word(format.code().into()));
        h.update(word(width.into()));
        h.update(word(height.into()));
        h.update(word(frames.into()));
        h.update(frames_sha256);
        h.finalize().into()
    }

    /// The commitment as 32 bytes.
    pub fn commitment_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(b) = hex::decode(&self.commitment) {
            if b.len() == 32 {
                out.copy_from_slice(&b);
            }
        }
        out
    }
}

/// The first video stream's pixel format and size; a format a deal cannot commit
/// to is refused with its name.
pub(crate) fn probe_format(path: &Path) -> Result<(PixelFormat, u32, u32), StorageError> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=pix_fmt,width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .map_err(|source| MediaError::Tool {
            tool: "ffprobe",
            source,
        })?;
    let bad = |reason: String| MediaError::Decode {
        path: path.display().to_string(),
        reason,
    };
    if !out.status.success() {
        return Err(bad(String::from_utf8_lossy(&out.stderr).trim().to_string()).into());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.lines().next().unwrap_or("").trim().split(',');
    let (w, h, f) = (fields.next(), fields.next(), fields.next());
    let w = w.and_then(|w| w.parse::<u32>().ok()).filter(|w| *w > 0);
    let h = h.and_then(|h| h.parse::<u32>().ok()).filter(|h| *h > 0);
    let (Some(w), Some(h), Some(f)) = (w, h, f) else {
        return Err(bad("no video stream".into()).into());
    };
    // yuvj* are the same planes with a full-range flag.
    let name = f.trim().replace("yuvj", "yuv");
    let format = PixelFormat::from_name(&name).ok_or_else(|| {
        StorageError::Challenge(format!(
            "pixel format {f} is not one a storage deal commits to (gray, yuv420p, yuv422p, yuv444p)"
        ))
    })?;
    Ok((format, w, h))
}

/// Computes the content commitment of the segment at `path`: one read of the
/// file and one decoding pass (streamed; nothing is held whole in memory).
pub fn content(path: &Path) -> Result<Content, StorageError> {
    let io = |e: std::io::Error| MediaError::Decode {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut file_hash = Sha256::new();
    let size = std::io::copy(&mut file, &mut file_hash).map_err(io)?;
    let file_sha256: [u8; 32] = file_hash.finalize().into();

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
    let mut stdout = child.stdout.take().expect("piped");
    let mut frames_hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total: u64 = 0;
    loop {
        let n = stdout.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        frames_hash.update(&buf[..n]);
        total += n as u64;
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(io)?;
    if !status.success() {
        return Err(MediaError::Decode {
            path: path.display().to_string(),
            reason: stderr.trim().to_string(),
        }
        .into());
    }
    let per_frame = format.frame_bytes(width, height);
    if total == 0 || total % per_frame != 0 {
        return Err(MediaError::Decode {
            path: path.display().to_string(),
            reason: format!("decoded {total} bytes, not whole {per_frame}-byte frames"),
        }
        .into());
    }
    let frames = u32::try_from(total / per_frame)
        .map_err(|_| StorageError::Challenge("too many frames".into()))?;
    let frames_sha256: [u8; 32] = frames_hash.finalize().into();
    let commitment = Content::commit(
        size,
        &file_sha256,
        format,
        width,
        height,
        frames,
        &frames_sha256,
    );
    Ok(Content {
        commitment: hex::encode(commitment),
        size,
        file_sha256: hex::encode(file_sha256),
        pixel_format: format,
        width,
        height,
        frames,
        frames_sha256: hex::encode(frames_sha256),
    })
}
