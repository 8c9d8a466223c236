//! Raw frames: a pixel format, dimensions and tightly packed bytes.

use crate::MediaError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Pixel formats mpegs can commit to and edit (names follow ffmpeg's `pix_fmt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum PixelFormat {
    /// One 8-bit luma byte per pixel (ffmpeg `gray`).
    Gray,
    /// Three interleaved 8-bit bytes per pixel, R G B (ffmpeg `rgb24`).
    Rgb24,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Rgb24 => 3,
        }
    }

    /// The numeric code hashed into commitment headers and signed attestations.
    pub fn code(self) -> u64 {
        match self {
            PixelFormat::Gray => 1,
            PixelFormat::Rgb24 => 2,
        }
    }

    /// ffmpeg's name for the format.
    pub fn ffmpeg_name(self) -> &'static str {
        match self {
            PixelFormat::Gray => "gray",
            PixelFormat::Rgb24 => "rgb24",
        }
    }
}

impl fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.ffmpeg_name())
    }
}

impl FromStr for PixelFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gray" | "gray8" => Ok(PixelFormat::Gray),
            "rgb24" => Ok(PixelFormat::Rgb24),
            other => Err(format!(
                "unsupported pixel format '{other}' (supported: gray, rgb24)"
            )),
        }
    }
}

/// Format and size of a frame, without its pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameInfo {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
}

impl FrameInfo {
    pub fn new(format: PixelFormat, width: u32, height: u32) -> Self {
        Self {
            format,
            width,
            height,
        }
    }

    /// Number of bytes of a tightly packed frame of this shape.
    pub fn byte_len(&self) -> usize {
        self.width as usize * self.height as usize * self.format.channels()
    }
}

impl fmt::Display for FrameInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{} {}", self.width, self.height, self.format)
    }
}

/// A frame of pixels, row-major, channels interleaved, no row padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub info: FrameInfo,
    pub data: Vec<u8>,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({})", self.info)
    }
}

impl Frame {
    /// Wraps bytes as a frame, checking the length matches the shape.
    pub fn new(info: FrameInfo, data: Vec<u8>) -> Result<Self, MediaError> {
        if info.width == 0 || info.height == 0 {
            return Err(MediaError::InvalidFrame(format!(
                "empty frame {}x{}",
                info.width, info.height
            )));
        }
        if data.len() != info.byte_len() {
            return Err(MediaError::InvalidFrame(format!(
                "{} needs {} bytes, got {}",
                info,
                info.byte_len(),
                data.len()
            )));
        }
        Ok(Self { info, data })
    }

    /// An all-zero frame (used to synthesize circuits for key generation).
    pub fn zeroed(info: FrameInfo) -> Self {
        Self {
            info,
            data: vec![0; info.byte_len()],
        }
    }

    pub fn width(&self) -> u32 {
        self.info.width
    }

    pub fn height(&self) -> u32 {
        self.info.height
    }

    pub fn format(&self) -> PixelFormat {
        self.info.format
    }

    /// The bytes of pixel (x, y), one per channel.
    pub fn pixel(&self, x: u32, y: u32) -> &[u8] {
        let c = self.info.format.channels();
        let i = (y as usize * self.info.width as usize + x as usize) * c;
        &self.data[i..i + c]
    }

    /// Mutable bytes of pixel (x, y).
    pub fn pixel_mut(&mut self, x: u32, y: u32) -> &mut [u8] {
        let c = self.info.format.channels();
        let i = (y as usize * self.info.width as usize + x as usize) * c;
        &mut self.data[i..i + c]
    }
}
