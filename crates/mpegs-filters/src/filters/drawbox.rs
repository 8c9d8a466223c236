//! `drawbox=x:y:w:h:color:t` — paint a box, the redaction primitive.
//!
//! With `t=fill` every pixel of the box becomes the colour; with a thickness `t`
//! only a `t`-wide border does (ffmpeg's `pixel_belongs_to_box`). Boxes may stick out
//! of the frame and are clipped; `w`/`h` of 0 mean the input size. On gray frames
//! ffmpeg 5.1 writes full-range luma (black 0, white 255); on rgb24 the bytes.
//!
//! A gather: outside the box each output pixel is a copy of the input pixel, inside
//! it is the public constant. The proof therefore shows everything outside the box
//! is the original, while the covered pixels are never revealed.

use crate::color::{color_bytes, color_option, gray_full};
use crate::expr::{check, eval_int};
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::{FrameInfo, PixelFormat};

pub static SPEC: FilterSpec = FilterSpec {
    name: "drawbox",
    description: "Draw an opaque box (t=fill redacts the area).",
    options: &[
        OptionSpec {
            names: &["x"],
            default: Some("0"),
            help: "left edge (expression of iw, ih; may be negative)",
        },
        OptionSpec {
            names: &["y"],
            default: Some("0"),
            help: "top edge (expression of iw, ih; may be negative)",
        },
        OptionSpec {
            names: &["width", "w"],
            default: Some("0"),
            help: "box width (0 = input width)",
        },
        OptionSpec {
            names: &["height", "h"],
            default: Some("0"),
            help: "box height (0 = input height)",
        },
        OptionSpec {
            names: &["color", "c"],
            default: Some("black"),
            help: "opaque colour: a name or 0xRRGGBB",
        },
        OptionSpec {
            names: &["thickness", "t"],
            default: Some("3"),
            help: "border width in pixels, or 'fill'",
        },
        OptionSpec {
            names: &["replace"],
            default: Some("0"),
            help: "no effect with opaque colours",
        },
    ],
    parse,
};

const VARS: &[&str] = &["iw", "ih", "in_w", "in_h"];

#[derive(Debug)]
pub struct Drawbox {
    x: String,
    y: String,
    w: String,
    h: String,
    color: String,
    rgb: [u8; 3],
    /// `None` is `fill`.
    thickness: Option<u32>,
    replace: bool,
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("drawbox", SPEC.options, args)?;
    let color = o.string("color")?;
    let rgb = color_option("drawbox", "color", &color)?;
    let t = o.string("thickness")?;
    let thickness = if t == "fill" {
        None
    } else {
        let v = o.int("thickness")?;
        if !(0..=65536).contains(&v) {
            return Err(FilterError::InvalidValue {
                filter: "drawbox".into(),
                option: "thickness".into(),
                value: t,
                reason: "must be 0..65536 or 'fill'".into(),
            });
        }
        Some(v as u32)
    };
    Ok(Box::new(Drawbox {
        x: check("drawbox", "x", &o.string("x")?, VARS)?,
        y: check("drawbox", "y", &o.string("y")?, VARS)?,
        w: check("drawbox", "width", &o.string("width")?, VARS)?,
        h: check("drawbox", "height", &o.string("height")?, VARS)?,
        color,
        rgb,
        thickness,
        replace: o.choice("replace", &[("0", 0), ("1", 1)])? == 1,
    }))
}

/// The box in frame coordinates (possibly partly outside the frame).
#[derive(Clone, Copy, Debug)]
struct BoxArea {
    x: i64,
    y: i64,
    w: i64,
    h: i64,
}

impl Drawbox {
    fn area(&self, input: FrameInfo) -> Result<BoxArea, FilterError> {
        let (iw, ih) = (input.width as f64, input.height as f64);
        let vars = [("iw", iw), ("ih", ih), ("in_w", iw), ("in_h", ih)];
        let size = |name: &str, text: &str, default: u32| -> Result<i64, FilterError> {
            let v = eval_int("drawbox", name, text, &vars)?;
            Ok(if v > 0 { v } else { default as i64 })
        };
        Ok(BoxArea {
            x: eval_int("drawbox", "x", &self.x, &vars)?,
            y: eval_int("drawbox", "y", &self.y, &vars)?,
            w: size("width", &self.w, input.width)?,
            h: size("height", &self.h, input.height)?,
        })
    }

    fn painted(&self, b: BoxArea, x: i64, y: i64) -> bool {
        let inside = x >= b.x && y >= b.y && x < b.x + b.w && y < b.y + b.h;
        let Some(t) = self.thickness.map(i64::from) else {
            return inside;
        };
        inside && (y - b.y < t || b.y + b.h - 1 - y < t || x - b.x < t || b.x + b.w - 1 - x < t)
    }
}

impl Filter for Drawbox {
    fn name(&self) -> &'static str {
        "drawbox"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("x", self.x.clone()),
            ("y", self.y.clone()),
            ("width", self.w.clone()),
            ("height", self.h.clone()),
            ("color", self.color.clone()),
            (
                "thickness",
                self.thickness
                    .map_or_else(|| "fill".to_string(), |t| t.to_string()),
            ),
            ("replace", u8::from(self.replace).to_string()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        self.area(input)?;
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Drawbox {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        let area = self.area(input).expect("output_info validated the box");
        if self.painted(area, x as i64, y as i64) {
            Source::Const(0)
        } else {
            Source::Pixel(x, y)
        }
    }

    fn constant(&self, format: PixelFormat, _index: u32) -> Option<Vec<u8>> {
        Some(color_bytes(format, self.rgb, gray_full))
    }
}
