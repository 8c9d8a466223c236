//! `transpose=dir` — swap rows and columns with an optional flip; output is H×W.
//! dir 0 `cclock_flip`, 1 `clock`, 2 `cclock`, 3 `clock_flip` (ffmpeg's numbering).

use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::FrameInfo;

const DIRS: &[(&str, i64)] = &[
    ("cclock_flip", 0),
    ("clock", 1),
    ("cclock", 2),
    ("clock_flip", 3),
];

pub static SPEC: FilterSpec = FilterSpec {
    name: "transpose",
    description: "Transpose rows with columns, optionally flipping (dir=0..3).",
    options: &[
        OptionSpec {
            names: &["dir"],
            default: Some("cclock_flip"),
            help: "0 cclock_flip, 1 clock, 2 cclock, 3 clock_flip",
        },
        OptionSpec {
            names: &["passthrough"],
            default: Some("none"),
            help: "only 'none' is supported",
        },
    ],
    parse,
};

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("transpose", SPEC.options, args)?;
    let dir = o.choice("dir", DIRS)? as u8;
    if o.choice(
        "passthrough",
        &[("none", 0), ("portrait", 1), ("landscape", 2)],
    )? != 0
    {
        return Err(FilterError::Unsupported {
            filter: "transpose".into(),
            reason: "passthrough makes the result depend on the input's orientation; only passthrough=none is supported".into(),
        });
    }
    Ok(Box::new(Transpose { dir }))
}

#[derive(Debug)]
pub struct Transpose {
    dir: u8,
}

impl Filter for Transpose {
    fn name(&self) -> &'static str {
        "transpose"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("dir", self.dir.to_string()),
            ("passthrough", "none".into()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        Ok(FrameInfo::new(input.format, input.height, input.width))
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Transpose {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        // Output is H×W: output column x walks input rows, output row y input columns.
        let (w, h) = (input.width, input.height);
        let (sx, sy) = match self.dir {
            0 => (y, x),                 // cclock_flip: transpose
            1 => (y, h - 1 - x),         // clock: out[y][x] = in[H-1-x][y]
            2 => (w - 1 - y, x),         // cclock
            _ => (w - 1 - y, h - 1 - x), // clock_flip
        };
        Source::Pixel(sx, sy)
    }
}
