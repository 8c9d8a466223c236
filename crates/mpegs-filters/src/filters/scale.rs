//! `scale=w:h:flags=…` on gray frames with `neighbor`, `area+accurate_rnd` or
//! `bilinear+accurate_rnd`, any ratio, bit-exact with ffmpeg 5.1's swscale on x86-64.
//!
//! swscale is separable. A horizontal pass turns each input row into 15-bit
//! intermediates, `h = min(Σ P·c >> 7, 32767)` with 14-bit coefficients `c`; a
//! vertical pass combines rows with 12-bit coefficients,
//! `out = clip((Σ h·v + 2^18) >> 19)` (or `(h + 64) >> 7` for a one-tap filter).
//! The coefficients and source positions come from swscale's `initFilter`, ported
//! here integer for integer, including its alignment of filter sizes to the SIMD
//! width (4 horizontally, 2 vertically on x86 and ARM) and its border fix-ups.
//!
//! Refused, because mpegs does not reproduce them bit-exactly: rgb24 input (ffmpeg
//! scales it through YUV), `area`/`bilinear` without `accurate_rnd` (x86 then uses an
//! approximate vertical filter), and all other scaler kinds.
//!
//! In-circuit, a horizontal intermediate costs nothing when its coefficients are
//! multiples of 128 (every power-of-two ratio) and one 22-bit split otherwise; each
//! output pixel costs one 27-bit split, or nothing for a one-tap copy (neighbor).

use crate::arith::{Arith, Val};
use crate::expr::{check, eval_int};
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, Rect, RegionKernel};
use mpegs_media::{FrameInfo, PixelFormat};
use mpegs_zk::SynthesisError;
use serde_json::json;

pub static SPEC: FilterSpec = FilterSpec {
    name: "scale",
    description: "Resize gray frames (neighbor, area, bilinear; swscale-exact).",
    options: &[
        OptionSpec {
            names: &["w", "width"],
            default: Some("iw"),
            help: "output width: expression of iw, ih; 0 = input, -1 = keep aspect, -n = keep aspect, divisible by n",
        },
        OptionSpec {
            names: &["h", "height"],
            default: Some("ih"),
            help: "output height (as w)",
        },
        OptionSpec {
            names: &["flags"],
            default: Some("bicubic"),
            help: "neighbor, area+accurate_rnd or bilinear+accurate_rnd",
        },
    ],
    parse,
};

const VARS: &[&str] = &["iw", "ih", "in_w", "in_h"];

/// Largest downscale factor accepted (swscale's filters grow with the factor).
const MAX_FACTOR: u32 = 32;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Point,
    Area,
    Bilinear,
}

#[derive(Debug)]
pub struct Scale {
    w: String,
    h: String,
    flags: String,
    kind: Kind,
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("scale", SPEC.options, args)?;
    let flags = o.string("flags")?;
    Ok(Box::new(Scale {
        w: check("scale", "w", &o.string("w")?, VARS)?,
        h: check("scale", "h", &o.string("h")?, VARS)?,
        kind: parse_flags(&flags)?,
        flags,
    }))
}

fn parse_flags(flags: &str) -> Result<Kind, FilterError> {
    let unsupported = |reason: String| FilterError::Unsupported {
        filter: "scale".into(),
        reason,
    };
    let mut kind = None;
    let mut accurate = false;
    for token in flags.split('+').map(str::trim).filter(|t| !t.is_empty()) {
        match token {
            "neighbor" | "point" => kind = Some(Kind::Point),
            "area" => kind = Some(Kind::Area),
            "bilinear" => kind = Some(Kind::Bilinear),
            "accurate_rnd" => accurate = true,
            "full_chroma_int" | "full_chroma_inp" => {} // no chroma on gray
            "bicubic" | "fast_bilinear" | "experimental" | "bicublin" | "gauss" | "sinc"
            | "lanczos" | "spline" => {
                return Err(unsupported(format!(
                    "flags={token} is not supported (ffmpeg's default is bicubic); use \
                     flags=neighbor, flags=area+accurate_rnd or flags=bilinear+accurate_rnd"
                )))
            }
            other => {
                return Err(FilterError::InvalidValue {
                    filter: "scale".into(),
                    option: "flags".into(),
                    value: flags.into(),
                    reason: format!("unknown or unsupported flag '{other}'"),
                })
            }
        }
    }
    let kind = kind.ok_or_else(|| {
        unsupported("flags must name neighbor, area+accurate_rnd or bilinear+accurate_rnd".into())
    })?;
    if kind != Kind::Point && !accurate {
        return Err(unsupported(
            "area and bilinear need +accurate_rnd: without it ffmpeg on x86 uses an \
             approximate vertical filter that mpegs does not reproduce bit-exactly"
                .into(),
        ));
    }
    Ok(kind)
}

/// One dimension's filter: for each output position, the first source position and
/// the coefficients of the taps from there.
#[derive(Clone, Debug)]
struct Taps {
    pos: Vec<u32>,
    coeffs: Vec<Vec<i64>>,
}

impl Taps {
    /// The non-zero taps of output position `i`: (source position, coefficient).
    fn of(&self, i: u32) -> impl Iterator<Item = (u32, u64)> + '_ {
        let p = self.pos[i as usize];
        self.coeffs[i as usize]
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != 0)
            .map(move |(j, c)| (p + j as u32, *c as u64))
    }

    fn span(&self, from: u32, to: u32) -> (u32, u32) {
        let mut lo = u32::MAX;
        let mut hi = 0;
        for i in from..to {
            for (s, _) in self.of(i) {
                lo = lo.min(s);
                hi = hi.max(s);
            }
        }
        (lo, hi + 1)
    }
}

fn c_div(a: i64, b: i64) -> i64 {
    a / b // Rust's integer division truncates toward zero, like C's
}

fn rounded_div(a: i64, b: i64) -> i64 {
    if a >= 0 {
        (a + (b >> 1)) / b
    } else {
        (a - (b >> 1)) / b
    }
}

fn av_log2(v: i64) -> i64 {
    if v <= 0 {
        0
    } else {
        63 - v.leading_zeros() as i64
    }
}

/// swscale's `initFilter` for one dimension (luma, srcPos = dstPos = 128).
fn init_filter(kind: Kind, src: u32, dst: u32, align: usize, one: i64) -> Taps {
    let (src_w, dst_w) = (src as i64, dst as i64);
    let inc = ((src_w << 16) + (dst_w >> 1)) / dst_w;
    let (src_pos, dst_pos) = (128i64, 128i64);
    let fone: i64 = 1 << (54 - av_log2(src_w / dst_w).min(8));
    let n = dst as usize;
    let mut pos = vec![0i64; n];
    let mut size: usize;
    let mut filter: Vec<Vec<i64>>;
    if (inc - 0x10000).abs() < 10 && src_pos == dst_pos {
        size = 1;
        filter = vec![vec![fone]; n];
        for (i, p) in pos.iter_mut().enumerate() {
            *p = i as i64;
        }
    } else if kind == Kind::Point {
        size = 1;
        filter = vec![vec![fone]; n];
        let mut x = ((dst_pos * inc) >> 8) - ((src_pos * 0x8000) >> 7);
        for p in pos.iter_mut() {
            *p = (x + (1 << 15)) >> 16;
            x += inc;
        }
    } else if inc <= 1 << 16 && kind == Kind::Area {
        // Upscaling with area is bilinear interpolation in swscale.
        size = 2;
        filter = Vec::with_capacity(n);
        let mut x = ((dst_pos * inc) >> 8) - ((src_pos * 0x8000) >> 7);
        for p in pos.iter_mut() {
            let first = (x - (1 << 15) + (1 << 15)) >> 16;
            *p = first;
            let row = (first..first + size as i64)
                .map(|xx| (fone - (xx * (1 << 16) - x).abs() * (fone >> 16)).max(0))
                .collect();
            filter.push(row);
            x += inc;
        }
    } else {
        let size_factor: i64 = if kind == Kind::Area { 1 } else { 2 };
        size = if inc <= 1 << 16 {
            1 + size_factor as usize
        } else {
            1 + c_div(size_factor * src_w + dst_w - 1, dst_w) as usize
        };
        size = size.min((src_w - 2).max(1) as usize).max(1);
        filter = Vec::with_capacity(n);
        let mut x = ((dst_pos * inc) >> 7) - ((src_pos * 0x10000) >> 7);
        for p in pos.iter_mut() {
            let first = c_div(x - (size as i64 - 2) * (1 << 16), 1 << 17);
            *p = first;
            let mut row = Vec::with_capacity(size);
            for xx in first..first + size as i64 {
                let mut d = (xx * (1 << 17) - x).abs() << 13;
                if inc > 1 << 16 {
                    d = c_div(d * dst_w, src_w);
                }
                let c = if kind == Kind::Area {
                    let d2 = d - (1 << 29);
                    let c = if d2 * inc < -(1i64 << 45) {
                        1i64 << 46
                    } else if d2 * inc < (1i64 << 45) {
                        -d2 * inc + (1i64 << 45)
                    } else {
                        0
                    };
                    c * (fone >> 46)
                } else {
                    ((1i64 << 30) - d).max(0) * (fone >> 30)
                };
                row.push(c);
            }
            filter.push(row);
            x += 2 * inc;
        }
    }

    // Shift near-zero leading taps away and find the smallest size that keeps the
    // rest (the cutoff is a double comparison in swscale, too).
    let cutoff = 0.002 * fone as f64;
    let mut min_size = 0usize;
    for i in (0..n).rev() {
        let mut min = size;
        let mut acc = 0i64;
        for _ in 0..size {
            acc += filter[i][0].abs();
            if acc as f64 > cutoff {
                break;
            }
            if i < n - 1 && pos[i] >= pos[i + 1] {
                break;
            }
            filter[i].rotate_left(1);
            filter[i][size - 1] = 0;
            pos[i] += 1;
        }
        let mut acc = 0i64;
        for j in (1..size).rev() {
            acc += filter[i][j].abs();
            if acc as f64 > cutoff {
                break;
            }
            min -= 1;
        }
        min_size = min_size.max(min);
    }
    let align = if min_size == 1 && align == 2 {
        1
    } else {
        align
    };
    let new_size = (min_size + align - 1) & !(align - 1);
    for row in filter.iter_mut() {
        row.resize(new_size, 0);
    }
    let size = new_size;

    // Fix borders: fold taps that fall outside the source into the edge pixel.
    for i in 0..n {
        let f = &mut filter[i];
        if pos[i] < 0 {
            for j in 1..size {
                let left = (j as i64 + pos[i]).max(0) as usize;
                let v = f[j];
                f[j] = 0;
                f[left] += v;
            }
            pos[i] = 0;
        }
        if pos[i] + size as i64 > src_w {
            let shift = pos[i] + (size as i64 - src_w).min(0);
            let mut acc = 0;
            for j in (0..size).rev() {
                if pos[i] + j as i64 >= src_w {
                    acc += f[j];
                    f[j] = 0;
                }
            }
            for j in (0..size).rev() {
                f[j] = if (j as i64) < shift {
                    0
                } else {
                    f[j - shift as usize]
                };
            }
            pos[i] -= shift;
            f[(src_w - 1 - pos[i]) as usize] += acc;
        }
    }

    // Normalise to `one` with error diffusion.
    let coeffs = filter
        .iter()
        .map(|row| {
            let sum = (row.iter().sum::<i64>() + one / 2) / one;
            let sum = sum.max(1);
            let mut error = 0;
            row.iter()
                .map(|c| {
                    let v = c + error;
                    let q = rounded_div(v, sum);
                    error = v - q * sum;
                    q
                })
                .collect()
        })
        .collect();
    Taps {
        pos: pos.into_iter().map(|p| p as u32).collect(),
        coeffs,
    }
}

/// Both passes' filters for one input/output size, with the bounds the circuit's
/// shifts rely on checked once.
struct Plan {
    h: Taps,
    v: Taps,
}

const H_MAX: u64 = 32767;

impl Scale {
    fn size(&self, input: FrameInfo) -> Result<(u32, u32), FilterError> {
        let (iw, ih) = (input.width as i64, input.height as i64);
        let vars = [
            ("iw", iw as f64),
            ("ih", ih as f64),
            ("in_w", iw as f64),
            ("in_h", ih as f64),
        ];
        let mut w = eval_int("scale", "w", &self.w, &vars)?;
        let mut h = eval_int("scale", "h", &self.h, &vars)?;
        if w == 0 {
            w = iw;
        }
        if h == 0 {
            h = ih;
        }
        let factor_w = if w < -1 { -w } else { 1 };
        let factor_h = if h < -1 { -h } else { 1 };
        if w < 0 && h < 0 {
            (w, h) = (iw, ih);
        }
        // av_rescale rounds to nearest.
        let rescale = |a: i64, b: i64, c: i64| (a * b + c / 2) / c;
        if w < 0 {
            w = rescale(h, iw, ih * factor_w) * factor_w;
        }
        if h < 0 {
            h = rescale(w, ih, iw * factor_h) * factor_h;
        }
        let limit = mpegs_media::commitment::MAX_DIMENSION as i64;
        if w < 1 || h < 1 || w > limit || h > limit {
            return Err(FilterError::Unsupported {
                filter: "scale".into(),
                reason: format!("output size {w}x{h} is out of range"),
            });
        }
        Ok((w as u32, h as u32))
    }

    fn plan(&self, input: FrameInfo) -> Result<Plan, FilterError> {
        let (w, h) = self.size(input)?;
        let unsupported = |reason: String| FilterError::Unsupported {
            filter: "scale".into(),
            reason,
        };
        if input.width > MAX_FACTOR * w || input.height > MAX_FACTOR * h {
            return Err(unsupported(format!(
                "downscaling by more than {MAX_FACTOR}x is not supported"
            )));
        }
        let plan = Plan {
            h: init_filter(self.kind, input.width, w, 4, 1 << 14),
            v: init_filter(self.kind, input.height, h, 2, 1 << 12),
        };
        // The circuit leans on swscale's clips never firing: non-negative
        // coefficients, intermediates below 32767 and outputs below 256.
        let non_negative = |t: &Taps| t.coeffs.iter().flatten().all(|c| *c >= 0);
        if !non_negative(&plan.h) || !non_negative(&plan.v) {
            return Err(unsupported(
                "this ratio yields negative coefficients".into(),
            ));
        }
        let h_max = (0..w).map(|x| h_bound(&plan.h, x)).max().unwrap_or(0);
        let out_max = (0..h)
            .map(|y| v_bound(&plan.v, y, h_max) >> v_shift(&plan.v, y))
            .max()
            .unwrap_or(0);
        if h_max > H_MAX || out_max > 255 {
            return Err(unsupported(
                "this ratio would need swscale's clipping".into(),
            ));
        }
        Ok(plan)
    }
}

/// Upper bound of a horizontal intermediate.
fn h_bound(t: &Taps, x: u32) -> u64 {
    t.of(x).map(|(_, c)| 255 * c).sum::<u64>() >> 7
}

/// One-tap vertical filters use `(h + 64) >> 7`, longer ones `(Σ + 2^18) >> 19`.
fn one_tap(t: &Taps, y: u32) -> bool {
    t.coeffs[y as usize].len() == 1
}

fn v_shift(t: &Taps, y: u32) -> u32 {
    if one_tap(t, y) {
        7
    } else {
        19
    }
}

fn v_bound(t: &Taps, y: u32, h_max: u64) -> u64 {
    if one_tap(t, y) {
        h_max + 64
    } else {
        t.of(y).map(|(_, c)| h_max * c).sum::<u64>() + (1 << 18)
    }
}

impl Filter for Scale {
    fn name(&self) -> &'static str {
        "scale"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("w", self.w.clone()),
            ("h", self.h.clone()),
            ("flags", self.flags.clone()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        if input.format != PixelFormat::Gray {
            return Err(FilterError::Unsupported {
                filter: "scale".into(),
                reason: format!(
                    "scale works on gray frames; ffmpeg scales {} through YUV, which mpegs \
                     does not reproduce bit-exactly — put format=gray first",
                    input.format
                ),
            });
        }
        self.plan(input)?;
        let (w, h) = self.size(input)?;
        Ok(FrameInfo::new(input.format, w, h))
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Region(self)
    }
}

impl RegionKernel for Scale {
    fn reads(&self, input: FrameInfo, out: Rect) -> Rect {
        let plan = self.plan(input).expect("output_info validated the plan");
        let (x0, x1) = plan.h.span(out.x, out.x + out.w);
        let (y0, y1) = plan.v.span(out.y, out.y + out.h);
        Rect::new(x0, y0, x1 - x0, y1 - y0)
    }

    fn describe(&self, input: FrameInfo, out: Rect, origin: (u32, u32)) -> serde_json::Value {
        let plan = self.plan(input).expect("output_info validated the plan");
        let rel = |t: &Taps, range: std::ops::Range<u32>, o: u32| -> Vec<Vec<u64>> {
            range
                .map(|i| {
                    t.of(i)
                        .flat_map(|(s, c)| [(s - o) as u64, c])
                        .chain([u64::from(one_tap(t, i))])
                        .collect()
                })
                .collect()
        };
        json!({
            "kind": format!("{:?}", self.kind),
            "size": [out.w, out.h],
            "columns": rel(&plan.h, out.x..out.x + out.w, origin.0),
            "rows": rel(&plan.v, out.y..out.y + out.h, origin.1),
        })
    }

    fn compute(
        &self,
        a: &Arith,
        input: FrameInfo,
        out: Rect,
        src: &dyn Fn(u32, u32, usize) -> Val,
    ) -> Result<Vec<Val>, SynthesisError> {
        let plan = self
            .plan(input)
            .map_err(|_| SynthesisError::Unsatisfiable)?;
        let reads = self.reads(input, out);
        // Horizontal pass over every source row the output rows read.
        let mut rows: Vec<Vec<Val>> = Vec::with_capacity(reads.h as usize);
        for sy in reads.y..reads.y + reads.h {
            let row = (out.x..out.x + out.w)
                .map(|x| horizontal(a, &plan.h, x, |sx| src(sx, sy, 0)))
                .collect::<Result<Vec<_>, _>>()?;
            rows.push(row);
        }
        let mut result = Vec::with_capacity((out.w * out.h) as usize);
        for y in out.y..out.y + out.h {
            for (i, x) in (out.x..out.x + out.w).enumerate() {
                let copy = one_tap(&plan.v, y) && single_full_tap(&plan.h, x);
                result.push(if copy {
                    // h = 128·P exactly and (h + 64) >> 7 = P: a plain copy.
                    let (sx, _) = plan.h.of(x).next().expect("one tap");
                    let (sy, _) = plan.v.of(y).next().expect("one tap");
                    src(sx, sy, 0)
                } else {
                    let taps: Vec<(u64, &Val)> = plan
                        .v
                        .of(y)
                        .map(|(sy, c)| (c, &rows[(sy - reads.y) as usize][i]))
                        .collect();
                    vertical(a, &plan.v, y, &taps)?
                });
            }
        }
        Ok(result)
    }
}

/// A horizontal filter that copies one source pixel (weight 1.0 = 2^14).
fn single_full_tap(t: &Taps, x: u32) -> bool {
    let mut taps = t.of(x);
    matches!((taps.next(), taps.next()), (Some((_, c)), None) if c == 1 << 14)
}

/// `min(Σ P·c >> 7, 32767)`; exact (free) when every coefficient is a multiple of 128.
fn horizontal(
    a: &Arith,
    t: &Taps,
    x: u32,
    pixel: impl Fn(u32) -> Val,
) -> Result<Val, SynthesisError> {
    let px: Vec<(u64, Val)> = t.of(x).map(|(sx, c)| (c, pixel(sx))).collect();
    if px.iter().all(|(c, _)| c % 128 == 0) {
        let terms: Vec<(u64, &Val)> = px.iter().map(|(c, v)| (c / 128, v)).collect();
        return Ok(a.lin(&terms, 0));
    }
    let terms: Vec<(u64, &Val)> = px.iter().map(|(c, v)| (*c, v)).collect();
    a.shr(&a.lin(&terms, 0), 7)
}

/// The vertical pass for output row `y` over its intermediates: `(h + 64) >> 7` for
/// a one-tap filter (swscale's `yuv2plane1` ignores the coefficient), otherwise
/// `(Σ h·v + 2^18) >> 19`. The bounds the values carry are [`h_bound`] and
/// [`v_bound`] per column; [`Scale::plan`] checks them against the largest column's,
/// so whatever it accepts the framework accepts as bytes too.
fn vertical(a: &Arith, t: &Taps, y: u32, taps: &[(u64, &Val)]) -> Result<Val, SynthesisError> {
    let (sum, shift) = if one_tap(t, y) {
        (a.lin(&[(1, taps[0].1)], 64), 7)
    } else {
        (a.lin(taps, 1 << 18), 19)
    };
    a.shr(&sum, shift)
}
