//! `lut` (gray, `c0=expr`) and `lutrgb` (rgb24, `r=`, `g=`, `b=`): a per-channel
//! 256-entry table built from an expression of `val`, as ffmpeg 5.1 builds it:
//! `table[v] = clip((int)expr(v), 0, 255)` — truncation, not rounding. Variables:
//! `val`, `negval` (255 − val), `clipval`, `minval` (0), `maxval` (255).
//!
//! The circuit is an exact table lookup on the input byte's bits per channel, and
//! nothing at all for channels whose table is the identity.

use crate::expr::eval;
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, OutByte, PixelKernel};
use mpegs_media::{FrameInfo, PixelFormat};
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, SynthesisError};

pub static LUT_SPEC: FilterSpec = FilterSpec {
    name: "lut",
    description: "Map gray levels through an expression of val (truncated).",
    options: &[OptionSpec {
        names: &["c0", "y"],
        default: Some("clipval"),
        help: "expression of val, negval, clipval, minval, maxval",
    }],
    parse: parse_lut,
};

pub static LUTRGB_SPEC: FilterSpec = FilterSpec {
    name: "lutrgb",
    description: "Map R, G and B through expressions of val (truncated).",
    options: &[
        OptionSpec {
            names: &["r"],
            default: Some("clipval"),
            help: "red: expression of val, negval, clipval, minval, maxval",
        },
        OptionSpec {
            names: &["g"],
            default: Some("clipval"),
            help: "green: expression",
        },
        OptionSpec {
            names: &["b"],
            default: Some("clipval"),
            help: "blue: expression",
        },
    ],
    parse: parse_lutrgb,
};

/// One channel's expression and the table it yields.
#[derive(Debug)]
struct Channel {
    name: &'static str,
    expr: String,
    table: [u8; 256],
}

#[derive(Debug)]
pub struct Lut {
    filter: &'static str,
    format: PixelFormat,
    channels: Vec<Channel>,
}

fn parse_lut(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("lut", LUT_SPEC.options, args)?;
    let channels = vec![channel("lut", "c0", o.string("c0")?)?];
    Ok(Box::new(Lut {
        filter: "lut",
        format: PixelFormat::Gray,
        channels,
    }))
}

fn parse_lutrgb(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("lutrgb", LUTRGB_SPEC.options, args)?;
    let channels = ["r", "g", "b"]
        .into_iter()
        .map(|n| channel("lutrgb", n, o.string(n)?))
        .collect::<Result<_, _>>()?;
    Ok(Box::new(Lut {
        filter: "lutrgb",
        format: PixelFormat::Rgb24,
        channels,
    }))
}

fn channel(filter: &str, name: &'static str, expr: String) -> Result<Channel, FilterError> {
    let expr = expr.trim().to_string();
    let table = table(&expr).map_err(|reason| FilterError::InvalidValue {
        filter: filter.into(),
        option: name.into(),
        value: expr.clone(),
        reason,
    })?;
    Ok(Channel { name, expr, table })
}

/// ffmpeg's table: evaluate in double, truncate toward zero, clip to 0..=255.
fn table(expr: &str) -> Result<[u8; 256], String> {
    let mut out = [0u8; 256];
    for (v, slot) in out.iter_mut().enumerate() {
        let val = v as f64;
        let vars = [
            ("val", val),
            ("negval", 255.0 - val),
            ("clipval", val),
            ("minval", 0.0),
            ("maxval", 255.0),
        ];
        let res = eval(expr, &vars)?;
        if res.is_nan() {
            return Err(format!("is not a number at val={v}"));
        }
        *slot = c_int(res).clamp(0, 255) as u8;
    }
    Ok(out)
}

/// C's `(int)` of a double on x86-64 (`cvttsd2si`): truncation, and the "integer
/// indefinite" INT_MIN for anything that does not fit (including ±inf).
fn c_int(v: f64) -> i64 {
    if v.is_finite() && v > -2_147_483_649.0 && v < 2_147_483_648.0 {
        v.trunc() as i64
    } else {
        i32::MIN as i64
    }
}

fn is_identity(table: &[u8; 256]) -> bool {
    table.iter().enumerate().all(|(i, v)| i == *v as usize)
}

impl Filter for Lut {
    fn name(&self) -> &'static str {
        self.filter
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        self.channels
            .iter()
            .map(|c| (c.name, c.expr.clone()))
            .collect()
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        if input.format != self.format {
            let hint = match self.format {
                PixelFormat::Gray => "use lutrgb for rgb24 or put format=gray first",
                PixelFormat::Rgb24 => "use lut for gray frames",
            };
            return Err(FilterError::Unsupported {
                filter: self.filter.into(),
                reason: format!(
                    "works on {} frames, not {} ({hint})",
                    self.format, input.format
                ),
            });
        }
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Pointwise(self)
    }
}

impl PixelKernel for Lut {
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]) {
        for ((o, i), c) in output.iter_mut().zip(input).zip(&self.channels) {
            *o = c.table[*i as usize];
        }
    }

    fn synthesize_pixel(
        &self,
        b: &Builder,
        input: &[ByteVar],
    ) -> Result<Vec<OutByte>, SynthesisError> {
        input
            .iter()
            .zip(&self.channels)
            .map(|(byte, c)| {
                if is_identity(&c.table) {
                    Ok(OutByte::copy(byte))
                } else {
                    OutByte::lookup(b, byte, &c.table)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_truncate_and_clip() {
        let t = table("val*2").unwrap();
        assert_eq!((t[68], t[127], t[128], t[255]), (136, 254, 255, 255));
        let t = table("val/3").unwrap();
        assert_eq!((t[130], t[2]), (43, 0));
        let t = table("negval").unwrap();
        assert_eq!((t[0], t[32], t[255]), (255, 223, 0));
        let t = table("val-300").unwrap();
        assert!(t.iter().all(|v| *v == 0));
        assert!(is_identity(&table("clipval").unwrap()));
        // Beyond i32, C's cast yields INT_MIN, which clips to 0 (as ffmpeg on x86-64).
        let t = table("val*100000000").unwrap();
        assert_eq!((t[0], t[21], t[22]), (0, 255, 0));
        assert!(table("val/0-val/0").unwrap_err().contains("not a number"));
    }

    #[test]
    fn refuses_the_wrong_format() {
        let f = parse_lut(Some("c0=negval")).unwrap();
        let rgb = FrameInfo::new(PixelFormat::Rgb24, 4, 4);
        assert!(f
            .output_info(rgb)
            .unwrap_err()
            .to_string()
            .contains("lutrgb"));
        let f = parse_lutrgb(Some("r=negval")).unwrap();
        assert!(f
            .output_info(FrameInfo::new(PixelFormat::Gray, 4, 4))
            .is_err());
        assert_eq!(f.canonical(), "lutrgb=r=negval:g=clipval:b=clipval");
    }
}
