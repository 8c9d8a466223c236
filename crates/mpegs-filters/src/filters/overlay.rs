//! `overlay=x:y:format=rgb:file=logo.png` — stamp an opaque public watermark.
//!
//! In ffmpeg the watermark is a second input (`movie=logo.png[wm];[in][wm]overlay=…`);
//! in an mpegs chain it is named by `file=`. What the proof commits to is the
//! watermark's **media commitment** (tile 64, with the public seed `Seed::PUBLIC`: a watermark
//! is public by nature, so anyone can recompute it from the logo), carried
//! in the canonical form as `wm=0x…` with its size, never the path: a verifier needs
//! neither the file nor its pixels, only the key, whose circuit holds the watermark's
//! pixels as constants — so a proof for one logo cannot pass for another.
//!
//! Bit-exactness: ffmpeg's default `format=yuv420` converts through YUV and changes
//! the picture, so mpegs requires `format=rgb` (or `auto`, which picks rgb for rgb24
//! input); then the result is the watermark's bytes over the main frame, clipped to
//! it. Alpha blending is not supported: watermarks must be opaque rgb24.

use crate::expr::{check, eval_int};
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};

pub static SPEC: FilterSpec = FilterSpec {
    name: "overlay",
    description: "Stamp an opaque rgb24 watermark image (file=) at (x, y).",
    options: &[
        OptionSpec {
            names: &["x"],
            default: Some("0"),
            help: "left edge (expression of W, H, w, h; may be negative)",
        },
        OptionSpec {
            names: &["y"],
            default: Some("0"),
            help: "top edge (expression of W, H, w, h; may be negative)",
        },
        OptionSpec {
            names: &["format"],
            default: Some("yuv420"),
            help: "rgb or auto (ffmpeg's default yuv420 is lossy and refused)",
        },
        OptionSpec {
            names: &["file"],
            default: Some(""),
            help: "the watermark image (PNG/JPEG, opaque); needed to prove",
        },
        OptionSpec {
            names: &["wm"],
            default: Some(""),
            help: "the watermark's commitment (filled in from file=)",
        },
        OptionSpec {
            names: &["wm_size"],
            default: Some(""),
            help: "the watermark's WxH (filled in from file=)",
        },
    ],
    parse,
};

/// Tile size of the watermark's commitment (the CLI's default).
pub const WATERMARK_TILE: u32 = 64;

const VARS: &[&str] = &[
    "W",
    "H",
    "w",
    "h",
    "main_w",
    "main_h",
    "overlay_w",
    "overlay_h",
];

#[derive(Debug)]
pub struct Overlay {
    x: String,
    y: String,
    format: String,
    commitment: String,
    width: u32,
    height: u32,
    /// The watermark's pixels, when this instance came from `file=`.
    pixels: Option<Frame>,
}

fn invalid(option: &str, value: &str, reason: impl Into<String>) -> FilterError {
    FilterError::InvalidValue {
        filter: "overlay".into(),
        option: option.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("overlay", SPEC.options, args)?;
    let format = o.string("format")?;
    if !matches!(format.as_str(), "rgb" | "auto") {
        return Err(FilterError::Unsupported {
            filter: "overlay".into(),
            reason: format!(
                "format={format} converts through YUV in ffmpeg and changes the picture; \
                 use format=rgb"
            ),
        });
    }
    let file = o.string("file")?;
    let wm = o.string("wm")?;
    let wm_size = o.string("wm_size")?;
    let (commitment, width, height, pixels) = if !file.is_empty() {
        let frame = load_watermark(&file)?;
        let c = Commitment::of_frame(&frame, WATERMARK_TILE, &Seed::PUBLIC)
            .map_err(|e| invalid("file", &file, e.to_string()))?;
        let hex = fr_to_hex(&c.value);
        if !wm.is_empty() && wm != hex {
            return Err(invalid("wm", &wm, format!("does not match {file} ({hex})")));
        }
        (hex, frame.width(), frame.height(), Some(frame))
    } else if !wm.is_empty() {
        fr_from_hex(&wm).map_err(|e| invalid("wm", &wm, e))?;
        let (w, h) = wm_size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .filter(|(w, h): &(u32, u32)| *w > 0 && *h > 0 && *w <= 1 << 16 && *h <= 1 << 16)
            .ok_or_else(|| invalid("wm_size", &wm_size, "must be WxH"))?;
        (wm, w, h, None)
    } else {
        return Err(FilterError::Unsupported {
            filter: "overlay".into(),
            reason: "needs the watermark: file=logo.png".into(),
        });
    };
    Ok(Box::new(Overlay {
        x: check("overlay", "x", &o.string("x")?, VARS)?,
        y: check("overlay", "y", &o.string("y")?, VARS)?,
        format,
        commitment,
        width,
        height,
        pixels,
    }))
}

fn load_watermark(file: &str) -> Result<Frame, FilterError> {
    let frame = mpegs_media::load_image(std::path::Path::new(file))
        .map_err(|e| invalid("file", file, e.to_string()))?;
    if frame.format() != PixelFormat::Rgb24 {
        return Err(invalid(
            "file",
            file,
            format!("the watermark must be an RGB image, not {}", frame.format()),
        ));
    }
    Ok(frame)
}

impl Overlay {
    fn position(&self, main: FrameInfo) -> Result<(i64, i64), FilterError> {
        let (mw, mh) = (main.width as f64, main.height as f64);
        let (ww, wh) = (self.width as f64, self.height as f64);
        let vars = [
            ("W", mw),
            ("H", mh),
            ("w", ww),
            ("h", wh),
            ("main_w", mw),
            ("main_h", mh),
            ("overlay_w", ww),
            ("overlay_h", wh),
        ];
        Ok((
            eval_int("overlay", "x", &self.x, &vars)?,
            eval_int("overlay", "y", &self.y, &vars)?,
        ))
    }
}

impl Filter for Overlay {
    fn name(&self) -> &'static str {
        "overlay"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x", self.x.clone()),
            ("y", self.y.clone()),
            ("format", self.format.clone()),
            ("wm", self.commitment.clone()),
            ("wm_size", format!("{}x{}", self.width, self.height)),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        if input.format != PixelFormat::Rgb24 {
            return Err(FilterError::Unsupported {
                filter: "overlay".into(),
                reason: format!(
                    "overlay works on rgb24 frames; on {} ffmpeg converts through YUV",
                    input.format
                ),
            });
        }
        self.position(input)?;
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Overlay {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        let (ox, oy) = self.position(input).expect("output_info validated x, y");
        let (wx, wy) = (x as i64 - ox, y as i64 - oy);
        if wx >= 0 && wy >= 0 && wx < self.width as i64 && wy < self.height as i64 {
            Source::Const((wy as u32) * self.width + wx as u32)
        } else {
            Source::Pixel(x, y)
        }
    }

    fn constant(&self, _format: PixelFormat, index: u32) -> Option<Vec<u8>> {
        let frame = self.pixels.as_ref()?;
        let (x, y) = (index % self.width, index / self.width);
        Some(frame.pixel(x, y).to_vec())
    }
}
