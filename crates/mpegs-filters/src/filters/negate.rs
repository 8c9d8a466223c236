//! `negate` — 255 − v on every byte (gray and rgb24; no 16–235 clamp on these).

use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, OutByte, PixelKernel};
use mpegs_media::FrameInfo;
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, SynthesisError};

pub static SPEC: FilterSpec = FilterSpec {
    name: "negate",
    description: "Negate (invert) the input: 255 − v.",
    options: &[OptionSpec {
        names: &["negate_alpha"],
        default: Some("0"),
        help: "no effect (no alpha channel)",
    }],
    parse: |args| {
        let o = Options::parse("negate", SPEC.options, args)?;
        o.choice("negate_alpha", &[("0", 0), ("1", 1)])?;
        Ok(Box::new(Negate))
    },
};

#[derive(Debug)]
pub struct Negate;

impl Filter for Negate {
    fn name(&self) -> &'static str {
        "negate"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Pointwise(self)
    }
}

impl PixelKernel for Negate {
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]) {
        for (o, i) in output.iter_mut().zip(input) {
            *o = 255 - i;
        }
    }

    fn synthesize_pixel(
        &self,
        _b: &Builder,
        input: &[ByteVar],
    ) -> Result<Vec<OutByte>, SynthesisError> {
        // Linear, so free: 255 − v of a range-checked byte is itself in range.
        Ok(input.iter().map(OutByte::complement).collect())
    }
}
