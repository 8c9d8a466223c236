//! `format=pix_fmts=gray|rgb24` — pixel format conversion.
//!
//! rgb24 → gray reproduces swscale exactly (BT.601 limited-range luma expanded to
//! full range; see ../shared/ffmpeg-oracle.md):
//! ```text
//! t = (8414R + 16519G + 3208B + 524544) >> 9
//! y = (min(2t, 30189)·19077 − 39057361) >> 14
//! Y = clamp((y + 64) >> 7, 0, 255)
//! ```
//! Algebraically, for 8-bit inputs t ∈ [1024, 15040], so `min` never clips and the
//! clamp never fires, and the nested shifts fold into one floor division:
//! `Y = (38154·t − 38008785) >> 21`; a unit test checks the folded form against the
//! original on all 2^24 colours.
//!
//! In-circuit (lookups): t is a witness with `S − 512·t` in [0, 512) (one lookup),
//! and Y = g(t) is a non-decreasing step function of t, proven by looking up Y's
//! bucket of t and t's offset in it ([`mpegs_zk::lut::monotone_byte`]): five
//! constraints a pixel. With bit decomposition ([`RangeMode::Bits`], the previous
//! backend) it is two range-checked divisions, 55 constraints a pixel.

use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, OutByte, PixelKernel};
use ark_bn254::Fr;
use mpegs_media::{FrameInfo, PixelFormat};
use mpegs_zk::lut::{monotone_byte, MonotoneByte};
use mpegs_zk::range::{enforce_range, witness_bits, witness_bytes, ByteVar};
use mpegs_zk::{Builder, Num, RangeMode, SynthesisError};
use std::sync::OnceLock;

pub static SPEC: FilterSpec = FilterSpec {
    name: "format",
    description: "Convert the pixel format (rgb24 → gray as swscale does it).",
    options: &[OptionSpec {
        names: &["pix_fmts"],
        default: None,
        help: "gray or rgb24",
    }],
    parse,
};

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("format", SPEC.options, args)?;
    let raw = o.string("pix_fmts")?;
    if raw.contains('|') {
        return Err(FilterError::Unsupported {
            filter: "format".into(),
            reason: "give exactly one pixel format (a list would let the graph choose)".into(),
        });
    }
    let target = raw
        .parse::<PixelFormat>()
        .map_err(|reason| FilterError::InvalidValue {
            filter: "format".into(),
            option: "pix_fmts".into(),
            value: raw.clone(),
            reason,
        })?;
    Ok(Box::new(Format { target }))
}

#[derive(Debug)]
pub struct Format {
    target: PixelFormat,
}

const T_BITS: usize = 14; // t ≤ 15040 < 2^14
const T_REM_BITS: usize = 9; // S mod 512
const Y_REM_BITS: usize = 21; // (38154t − 38008785) mod 2^21
const Y_OFFSET: u64 = 38_008_785;
const Y_SCALE: u64 = 38_154;

/// The folded swscale formula.
pub fn rgb_to_gray(r: u8, g: u8, b: u8) -> u8 {
    let t = luma_sum(r, g, b) >> T_REM_BITS;
    ((Y_SCALE * t - Y_OFFSET) >> Y_REM_BITS) as u8
}

/// Y as a function of t on its whole range, for the monotone lookup.
fn gray_of_t() -> &'static MonotoneByte {
    static TABLE: OnceLock<MonotoneByte> = OnceLock::new();
    TABLE.get_or_init(|| {
        let (lo, hi) = (
            luma_sum(0, 0, 0) >> T_REM_BITS,
            luma_sum(255, 255, 255) >> T_REM_BITS,
        );
        MonotoneByte::new("gray-bt601", lo, hi, |t| {
            ((Y_SCALE * t - Y_OFFSET) >> Y_REM_BITS) as u8
        })
    })
}

fn luma_sum(r: u8, g: u8, b: u8) -> u64 {
    8414 * r as u64 + 16519 * g as u64 + 3208 * b as u64 + 524_544
}

impl Filter for Format {
    fn name(&self) -> &'static str {
        "format"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![("pix_fmts", self.target.to_string())]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        if input.format == PixelFormat::Gray && self.target == PixelFormat::Rgb24 {
            return Err(FilterError::Unsupported {
                filter: "format".into(),
                reason:
                    "gray → rgb24 is not supported (not yet verified bit-exact against swscale)"
                        .into(),
            });
        }
        Ok(FrameInfo::new(self.target, input.width, input.height))
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Pointwise(self)
    }
}

impl PixelKernel for Format {
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]) {
        if input.len() == output.len() {
            output.copy_from_slice(input);
        } else {
            output[0] = rgb_to_gray(input[0], input[1], input[2]);
        }
    }

    fn synthesize_pixel(
        &self,
        b: &Builder,
        input: &[ByteVar],
    ) -> Result<Vec<OutByte>, SynthesisError> {
        if input.len() == 1 || self.target == PixelFormat::Rgb24 {
            return Ok(input.iter().map(OutByte::copy).collect());
        }
        // S = 8414R + 16519G + 3208B + 524544 (free), then S = 512·t + r.
        let s = Num::sum([
            (Fr::from(8414u64), &input[0].num),
            (Fr::from(16519u64), &input[1].num),
            (Fr::from(3208u64), &input[2].num),
        ])
        .add_const(Fr::from(524_544u64));
        let s_value = match (input[0].value, input[1].value, input[2].value) {
            (Some(r), Some(g), Some(bl)) => Some(luma_sum(r, g, bl)),
            _ => None,
        };
        let y = match b.mode() {
            RangeMode::Lookup => {
                // 512·t = S − r with r in [0, 512): the integrality monotone_byte needs.
                let t_value = s_value.map(|s| s >> T_REM_BITS);
                let t = b.witness(t_value.map(Fr::from))?;
                enforce_range(b, &s.sub(&t.scale(Fr::from(512u64))), T_REM_BITS)?;
                monotone_byte(b, gray_of_t(), &t, t_value)?
            }
            RangeMode::Bits => gray_by_division(b, &s, s_value)?,
        };
        Ok(vec![OutByte::copy(&y)])
    }
}

/// The previous circuit: S = 512·t + r, then 38154·t − 38008785 = 2^21·Y + r2,
/// every part bit-decomposed.
fn gray_by_division(b: &Builder, s: &Num, s_value: Option<u64>) -> Result<ByteVar, SynthesisError> {
    let (t, _) = witness_bits(b, s_value.map(|s| s >> T_REM_BITS), T_BITS)?;
    let (rem, _) = witness_bits(b, s_value.map(|s| s & 511), T_REM_BITS)?;
    b.enforce_equal(&t.scale(Fr::from(512u64)).add(&rem), s)?;
    let u = t.scale(Fr::from(Y_SCALE)).add_const(-Fr::from(Y_OFFSET));
    let u_value = s_value.map(|s| Y_SCALE * (s >> T_REM_BITS) - Y_OFFSET);
    let y_value = u_value.map(|u| (u >> Y_REM_BITS) as u8);
    let y = witness_bytes(b, &[y_value])?.remove(0);
    let (rem2, _) = witness_bits(b, u_value.map(|u| u & ((1 << Y_REM_BITS) - 1)), Y_REM_BITS)?;
    b.enforce_equal(&y.num.scale(Fr::from(1u64 << Y_REM_BITS)).add(&rem2), &u)?;
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// swscale's formula exactly as measured (../shared/ffmpeg-oracle.md).
    fn swscale_gray(r: u8, g: u8, b: u8) -> u8 {
        let t = (8414 * r as i64 + 16519 * g as i64 + 3208 * b as i64 + 524544) >> 9;
        let y = ((2 * t).min(30189) * 19077 - 39057361) >> 14;
        ((y + 64) >> 7).clamp(0, 255) as u8
    }

    #[test]
    fn folded_formula_equals_swscale_on_all_colours() {
        for r in 0..=255u8 {
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    assert_eq!(rgb_to_gray(r, g, b), swscale_gray(r, g, b), "{r} {g} {b}");
                }
            }
        }
    }
}
