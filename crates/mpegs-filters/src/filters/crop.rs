//! `crop=w:h:x:y` — a window copy. Defaults as ffmpeg: w=iw, h=ih, x and y centre
//! the window (rounded half to even, as ffmpeg's `lrint`); x and y are clipped into
//! the frame as ffmpeg clips them.

use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::FrameInfo;

pub static SPEC: FilterSpec = FilterSpec {
    name: "crop",
    description: "Crop the input to a w×h window at (x, y).",
    options: &[
        OptionSpec {
            names: &["w", "out_w"],
            default: None,
            help: "output width (default: input width)",
        },
        OptionSpec {
            names: &["h", "out_h"],
            default: None,
            help: "output height (default: input height)",
        },
        OptionSpec {
            names: &["x"],
            default: None,
            help: "left edge (default: centred)",
        },
        OptionSpec {
            names: &["y"],
            default: None,
            help: "top edge (default: centred)",
        },
        OptionSpec {
            names: &["keep_aspect"],
            default: Some("0"),
            help: "affects only the sample aspect ratio",
        },
        OptionSpec {
            names: &["exact"],
            default: Some("0"),
            help: "no effect on gray/rgb24 (no chroma subsampling)",
        },
    ],
    parse,
};

#[derive(Debug)]
pub struct Crop {
    w: Option<u32>,
    h: Option<u32>,
    x: Option<i64>,
    y: Option<i64>,
    keep_aspect: bool,
    exact: bool,
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("crop", SPEC.options, args)?;
    let opt_int = |name: &str| -> Result<Option<i64>, FilterError> {
        match o.string(name) {
            Ok(_) => o.int(name).map(Some),
            Err(_) => Ok(None),
        }
    };
    let size = |name: &str| -> Result<Option<u32>, FilterError> {
        match opt_int(name)? {
            None => Ok(None),
            Some(v) if v > 0 && v <= u32::MAX as i64 => Ok(Some(v as u32)),
            Some(v) => Err(FilterError::InvalidValue {
                filter: "crop".into(),
                option: name.into(),
                value: v.to_string(),
                reason: "must be a positive size".into(),
            }),
        }
    };
    let flag = |name: &str| -> Result<bool, FilterError> {
        Ok(o.choice(name, &[("0", 0), ("1", 1)])? == 1)
    };
    Ok(Box::new(Crop {
        w: size("w")?,
        h: size("h")?,
        x: opt_int("x")?,
        y: opt_int("y")?,
        keep_aspect: flag("keep_aspect")?,
        exact: flag("exact")?,
    }))
}

/// ffmpeg's placement of a `len`-long window in `total`: centred by default
/// (half to even), clipped into range.
fn place(offset: Option<i64>, len: u32, total: u32) -> u32 {
    let room = total - len;
    let wanted = offset.unwrap_or_else(|| (room as f64 / 2.0).round_ties_even() as i64);
    wanted.clamp(0, room as i64) as u32
}

impl Crop {
    fn window(&self, input: FrameInfo) -> Result<(u32, u32, u32, u32), FilterError> {
        let w = self.w.unwrap_or(input.width);
        let h = self.h.unwrap_or(input.height);
        if w > input.width || h > input.height {
            return Err(FilterError::Unsupported {
                filter: "crop".into(),
                reason: format!(
                    "window {w}x{h} is larger than the {}x{} input",
                    input.width, input.height
                ),
            });
        }
        Ok((
            w,
            h,
            place(self.x, w, input.width),
            place(self.y, h, input.height),
        ))
    }
}

impl Filter for Crop {
    fn name(&self) -> &'static str {
        "crop"
    }

    fn options(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![];
        if let Some(w) = self.w {
            out.push(("w", w.to_string()));
        }
        if let Some(h) = self.h {
            out.push(("h", h.to_string()));
        }
        if let Some(x) = self.x {
            out.push(("x", x.to_string()));
        }
        if let Some(y) = self.y {
            out.push(("y", y.to_string()));
        }
        if self.keep_aspect {
            out.push(("keep_aspect", "1".into()));
        }
        out.push(("exact", (self.exact as u8).to_string()));
        out
    }

    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        let (w, h, _, _) = self.window(input)?;
        Ok(FrameInfo::new(input.format, w, h))
    }

    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Crop {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        let (_, _, x0, y0) = self
            .window(input)
            .expect("output_info validated the window");
        Source::Pixel(x0 + x, y0 + y)
    }
}
