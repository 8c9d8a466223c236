//! `eq=brightness=b:contrast=c` on gray (ffmpeg applies eq to luma only).
//!
//! ffmpeg's integer path, with its single-precision parameters:
//! ```text
//! C = (int)(f32(contrast) · 4096)
//! B = ((int)(100·f32(brightness) + 100) · 511) / 200 − 128 − C/32   (C division)
//! out = clamp(((v·C) >> 12) + B, 0, 255)
//! ```
//! With contrast 1 and brightness 0 ffmpeg copies the plane unchanged (the formula
//! would give v−1). For |contrast| ≥ 7.9 ffmpeg switches to a floating-point table
//! that mpegs has not verified, so those values are refused.
//!
//! The result depends on one byte only, so the circuit is an exact 256-entry table
//! lookup on the input's bits (no division or clamp gadgets).

use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, OutByte, PixelKernel};
use mpegs_media::{FrameInfo, PixelFormat};
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, SynthesisError};

pub static SPEC: FilterSpec = FilterSpec {
    name: "eq",
    description: "Adjust brightness and contrast (gray input).",
    options: &[
        OptionSpec {
            names: &["contrast"],
            default: Some("1"),
            help: "-1000 to 1000",
        },
        OptionSpec {
            names: &["brightness"],
            default: Some("0"),
            help: "-1 to 1",
        },
        OptionSpec {
            names: &["saturation"],
            default: Some("1"),
            help: "only 1 (no chroma on gray)",
        },
        OptionSpec {
            names: &["gamma"],
            default: Some("1"),
            help: "only 1 (not supported yet)",
        },
        OptionSpec {
            names: &["gamma_r"],
            default: Some("1"),
            help: "only 1",
        },
        OptionSpec {
            names: &["gamma_g"],
            default: Some("1"),
            help: "only 1",
        },
        OptionSpec {
            names: &["gamma_b"],
            default: Some("1"),
            help: "only 1",
        },
        OptionSpec {
            names: &["gamma_weight"],
            default: Some("1"),
            help: "only 1",
        },
    ],
    parse,
};

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("eq", SPEC.options, args)?;
    let contrast = o.float("contrast", -1000.0, 1000.0)? as f32;
    if contrast.abs() >= 7.9 {
        return Err(FilterError::Unsupported {
            filter: "eq".into(),
            reason: "|contrast| ≥ 7.9 uses ffmpeg's floating-point table, which is not supported"
                .into(),
        });
    }
    let brightness = o.float("brightness", -1.0, 1.0)? as f32;
    for name in [
        "saturation",
        "gamma",
        "gamma_r",
        "gamma_g",
        "gamma_b",
        "gamma_weight",
    ] {
        if o.float(name, -1e9, 1e9)? != 1.0 {
            return Err(FilterError::Unsupported {
                filter: "eq".into(),
                reason: format!("{name} other than 1 is not supported"),
            });
        }
    }
    Ok(Box::new(Eq::new(contrast, brightness)))
}

#[derive(Debug)]
pub struct Eq {
    contrast: f32,
    brightness: f32,
    table: [u8; 256],
}

impl Eq {
    fn new(contrast: f32, brightness: f32) -> Self {
        if contrast == 1.0 && brightness == 0.0 {
            return Self {
                contrast,
                brightness,
                table: std::array::from_fn(|v| v as u8),
            };
        }
        let c = (contrast as f64 * 4096.0) as i64;
        let b = (((100.0 * brightness as f64 + 100.0) as i64) * 511) / 200 - 128 - c / 32;
        let table = std::array::from_fn(|v| (((v as i64 * c) >> 12) + b).clamp(0, 255) as u8);
        Self {
            contrast,
            brightness,
            table,
        }
    }
}

impl Filter for Eq {
    fn name(&self) -> &'static str {
        "eq"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        // f32 Display is the shortest string that parses back to the same f32.
        vec![
            ("contrast", self.contrast.to_string()),
            ("brightness", self.brightness.to_string()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        if input.format != PixelFormat::Gray {
            return Err(FilterError::Unsupported {
                filter: "eq".into(),
                reason: format!(
                    "eq works on luma; on {} ffmpeg converts through YUV, which mpegs does not \
                     reproduce bit-exactly — put format=gray before eq",
                    input.format
                ),
            });
        }
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Pointwise(self)
    }
}

impl PixelKernel for Eq {
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]) {
        output[0] = self.table[input[0] as usize];
    }

    fn synthesize_pixel(
        &self,
        b: &Builder,
        input: &[ByteVar],
    ) -> Result<Vec<OutByte>, SynthesisError> {
        Ok(vec![OutByte::lookup(b, &input[0], &self.table)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_brightness_steps() {
        let up = Eq::new(1.0, 0.1);
        assert_eq!(up.table[0], 25);
        assert_eq!(up.table[250], 255);
        let down = Eq::new(1.0, -0.1);
        assert_eq!(down.table[100], 71);
        assert_eq!(down.table[10], 0);
        let identity = Eq::new(1.0, 0.0);
        assert!(identity
            .table
            .iter()
            .enumerate()
            .all(|(i, v)| *v as usize == i));
        // Off the identity, ffmpeg's formula applies (v − 1 at tiny brightness).
        assert_eq!(Eq::new(1.0, 0.001).table[100], 99);
    }
}
