//! `pad=w:h:x:y:color` — place the input on a larger canvas of one colour.
//!
//! As ffmpeg 5.1: `w`/`h` of 0 mean the input size; a negative `x`/`y` (or one that
//! would push the input off the canvas) centres the input; an input that still does
//! not fit is an error. The colour goes through `ff_draw_color`, which on gray
//! frames is limited-range luma (black is 16, white 235), on rgb24 the bytes as given.
//!
//! A gather: each output pixel is a copy of one input pixel or the constant colour,
//! so the circuit adds no arithmetic.

use crate::color::{color_bytes, color_option, gray_limited};
use crate::expr::{check, eval_int};
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::{FrameInfo, PixelFormat};

pub static SPEC: FilterSpec = FilterSpec {
    name: "pad",
    description: "Pad the input to w×h with a colour, the input at (x, y).",
    options: &[
        OptionSpec {
            names: &["width", "w"],
            default: Some("iw"),
            help: "output width (expression of iw, ih; 0 = input width)",
        },
        OptionSpec {
            names: &["height", "h"],
            default: Some("ih"),
            help: "output height (expression of iw, ih; 0 = input height)",
        },
        OptionSpec {
            names: &["x"],
            default: Some("0"),
            help: "input's left edge (expression of iw, ih, ow, oh; negative = centred)",
        },
        OptionSpec {
            names: &["y"],
            default: Some("0"),
            help: "input's top edge (expression of iw, ih, ow, oh; negative = centred)",
        },
        OptionSpec {
            names: &["color"],
            default: Some("black"),
            help: "opaque colour: a name or 0xRRGGBB",
        },
    ],
    parse,
};

const SIZE_VARS: &[&str] = &["iw", "ih", "in_w", "in_h"];
const POS_VARS: &[&str] = &["iw", "ih", "in_w", "in_h", "ow", "oh", "out_w", "out_h"];

#[derive(Debug)]
pub struct Pad {
    w: String,
    h: String,
    x: String,
    y: String,
    color: String,
    rgb: [u8; 3],
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    Ok(Box::new(build(args)?))
}

fn build(args: Option<&str>) -> Result<Pad, FilterError> {
    let o = Options::parse("pad", SPEC.options, args)?;
    let color = o.string("color")?;
    let rgb = color_option("pad", "color", &color)?;
    Ok(Pad {
        w: check("pad", "width", &o.string("width")?, SIZE_VARS)?,
        h: check("pad", "height", &o.string("height")?, SIZE_VARS)?,
        x: check("pad", "x", &o.string("x")?, POS_VARS)?,
        y: check("pad", "y", &o.string("y")?, POS_VARS)?,
        color,
        rgb,
    })
}

/// Where the input lands on the canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    w: u32,
    h: u32,
    x: u32,
    y: u32,
}

impl Pad {
    fn layout(&self, input: FrameInfo) -> Result<Layout, FilterError> {
        let (iw, ih) = (input.width as f64, input.height as f64);
        let size_vars = [("iw", iw), ("ih", ih), ("in_w", iw), ("in_h", ih)];
        let size = |name: &str, text: &str, default: u32| -> Result<i64, FilterError> {
            match eval_int("pad", name, text, &size_vars)? {
                0 => Ok(default as i64),
                v if v < 0 => Err(FilterError::Unsupported {
                    filter: "pad".into(),
                    reason: format!("{name} {v} is negative"),
                }),
                v => Ok(v),
            }
        };
        let w = size("width", &self.w, input.width)?;
        let h = size("height", &self.h, input.height)?;
        let (ow, oh) = (w as f64, h as f64);
        let pos_vars = [
            ("iw", iw),
            ("ih", ih),
            ("in_w", iw),
            ("in_h", ih),
            ("ow", ow),
            ("oh", oh),
            ("out_w", ow),
            ("out_h", oh),
        ];
        let place = |name: &str, text: &str, inner: u32, outer: i64| {
            let v = eval_int("pad", name, text, &pos_vars)?;
            Ok::<i64, FilterError>(if v < 0 || v + inner as i64 > outer {
                (outer - inner as i64) / 2
            } else {
                v
            })
        };
        let x = place("x", &self.x, input.width, w)?;
        let y = place("y", &self.y, input.height, h)?;
        let fits = x >= 0
            && y >= 0
            && x + input.width as i64 <= w
            && y + input.height as i64 <= h
            && w <= mpegs_media::commitment::MAX_DIMENSION as i64
            && h <= mpegs_media::commitment::MAX_DIMENSION as i64;
        if !fits {
            return Err(FilterError::Unsupported {
                filter: "pad".into(),
                reason: format!(
                    "input area {x}:{y}:{}:{} is not within the padded area 0:0:{w}:{h}",
                    input.width, input.height
                ),
            });
        }
        Ok(Layout {
            w: w as u32,
            h: h as u32,
            x: x as u32,
            y: y as u32,
        })
    }
}

impl Filter for Pad {
    fn name(&self) -> &'static str {
        "pad"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("width", self.w.clone()),
            ("height", self.h.clone()),
            ("x", self.x.clone()),
            ("y", self.y.clone()),
            ("color", self.color.clone()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        let l = self.layout(input)?;
        Ok(FrameInfo::new(input.format, l.w, l.h))
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Pad {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        let l = self
            .layout(input)
            .expect("output_info validated the layout");
        let inside = x >= l.x && y >= l.y && x < l.x + input.width && y < l.y + input.height;
        if inside {
            Source::Pixel(x - l.x, y - l.y)
        } else {
            Source::Const(0)
        }
    }

    fn constant(&self, format: PixelFormat, _index: u32) -> Option<Vec<u8>> {
        Some(color_bytes(format, self.rgb, gray_limited))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(args: &str, w: u32, h: u32) -> Result<Layout, FilterError> {
        build(Some(args))
            .unwrap()
            .layout(FrameInfo::new(PixelFormat::Gray, w, h))
    }

    #[test]
    fn zero_means_input_size_and_negative_centres() {
        let l = layout("0:ih+6:-1:-1", 10, 8).unwrap();
        assert_eq!(
            l,
            Layout {
                w: 10,
                h: 14,
                x: 0,
                y: 3
            }
        );
        let l = layout("iw+5:ih+5:-1:1", 10, 8).unwrap();
        assert_eq!((l.x, l.y), (2, 1));
        // x + iw beyond the canvas also centres, as ffmpeg does.
        let l = layout("iw+4:ih:9:0", 10, 8).unwrap();
        assert_eq!(l.x, 2);
    }

    #[test]
    fn refuses_canvas_smaller_than_input() {
        let e = layout("5:8", 10, 8).unwrap_err();
        assert!(e.to_string().contains("not within the padded area"), "{e}");
        assert!(parse(Some("w=iw+foo")).is_err());
        assert!(parse(Some("color=0x11223344")).is_err());
    }
}
