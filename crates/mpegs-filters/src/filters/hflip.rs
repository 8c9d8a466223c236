//! `hflip` — mirror columns: out(x, y) = in(W−1−x, y).

use crate::options::Options;
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, GatherKernel, Kernel, Source};
use mpegs_media::FrameInfo;

pub static SPEC: FilterSpec = FilterSpec {
    name: "hflip",
    description: "Flip the input horizontally.",
    options: &[],
    parse: |args| {
        Options::parse("hflip", SPEC.options, args)?;
        Ok(Box::new(Hflip))
    },
};

#[derive(Debug)]
pub struct Hflip;

impl Filter for Hflip {
    fn name(&self) -> &'static str {
        "hflip"
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

impl GatherKernel for Hflip {
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source {
        Source::Pixel(input.width - 1 - x, y)
    }
}
