//! `vflip` — mirror rows: out(x, y) = in(x, H−1−y).

use crate::options::Options;
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::FrameInfo;

pub static SPEC: FilterSpec = FilterSpec {
    name: "vflip",
    description: "Flip the input vertically.",
    options: &[],
    parse: |args| {
        Options::parse("vflip", SPEC.options, args)?;
        Ok(Box::new(Vflip))
    },
};

#[derive(Debug)]
pub struct Vflip;

impl Filter for Vflip {
    fn name(&self) -> &'static str {
        "vflip"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Gather(self)
    }
}

impl GatherKernel for Vflip {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        Source::Pixel(x, input.height - 1 - y)
    }
}
