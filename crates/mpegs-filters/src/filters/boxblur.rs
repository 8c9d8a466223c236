//! `boxblur=luma_radius=r:luma_power=p` (defaults 2:2) on gray and rgb24.
//!
//! ffmpeg 5.1 blurs each plane (rgb24 goes through gbrp, every plane with the luma
//! settings, since the chroma and alpha settings default to them) `p` times along
//! rows, then `p` times along columns. Each 1-D pass of length `L = 2r + 1` is
//! `out[x] = (S·inv + 2^15) >> 16` with `inv = (2^16 + L/2) / L` and `S` the window
//! sum, where the window is **mirrored** at the edges (`src[-1-i] = src[i]`,
//! `src[n+i] = src[n-1-i]`) — measured, not the edge replication one might expect.
//! ffmpeg requires `2r ≤ min(w, h)`, but at `2r` equal to a side its first loop
//! reads one pixel past the end of the line (measured: from there on the output
//! depends on memory outside the frame), so mpegs requires `2r < min(w, h)`.
//!
//! `inv` rounds 1/L to nearest, and for some radii it rounds up far enough that a
//! window of 255s comes to 256 or more (first at r = 177: inv = 185, 255·355·185
//! gives 256). ffmpeg stores that in a byte, wrapped (a white frame turns black);
//! mpegs refuses those radii when parsing, because an output must be a byte. For
//! every other radius one pass over bytes stays at most 255, so all passes do, and
//! the circuit's values carry that bound.
//!
//! In-circuit every pass costs one split per intermediate pixel (the window sum is
//! free); a tile computes the intermediates its output needs, including the
//! `r·p`-wide margins read from neighbouring tiles.

use crate::arith::{Arith, Val};
use crate::options::{OptionSpec, Options};
use crate::registry::FilterSpec;
use crate::{Filter, FilterError, Kernel, Rect, RegionKernel};
use mpegs_media::FrameInfo;
use mpegs_zk::SynthesisError;
use serde_json::json;

pub static SPEC: FilterSpec = FilterSpec {
    name: "boxblur",
    description: "Box blur, p passes of radius r per direction, every plane.",
    options: &[
        OptionSpec {
            names: &["luma_radius", "lr"],
            default: Some("2"),
            help: "box radius in pixels (2r must be less than the smaller frame side)",
        },
        OptionSpec {
            names: &["luma_power", "lp"],
            default: Some("2"),
            help: "how many times the box is applied per direction (0-8)",
        },
    ],
    parse,
};

/// Most passes accepted per direction.
const MAX_POWER: u32 = 8;

/// The smallest radius whose rounded weight lets a pass exceed 255 (checked by a
/// test against the pass itself; quoted in the refusal).
const FIRST_WRAPPING_RADIUS: u32 = 177;

#[derive(Debug)]
pub struct Boxblur {
    radius: u32,
    power: u32,
}

fn parse(args: Option<&str>) -> Result<Box<dyn Filter>, FilterError> {
    let o = Options::parse("boxblur", SPEC.options, args)?;
    let bad = |option: &str, value: i64, reason: &str| FilterError::InvalidValue {
        filter: "boxblur".into(),
        option: option.into(),
        value: value.to_string(),
        reason: reason.into(),
    };
    let radius = o.int("luma_radius")?;
    if !(0..=1024).contains(&radius) {
        return Err(bad("luma_radius", radius, "must be 0..1024"));
    }
    let power = o.int("luma_power")?;
    if !(0..=MAX_POWER as i64).contains(&power) {
        return Err(bad("luma_power", power, "must be 0..8"));
    }
    // With no passes ffmpeg copies the frame, so only a blur that runs can wrap.
    let bound = pass_bound(radius as u32);
    if power > 0 && bound > 255 {
        let (len, inv) = weights(radius as u32);
        return Err(bad(
            "luma_radius",
            radius,
            &format!(
                "ffmpeg's rounded weight for a {len}-pixel box (inv = {inv}) lets a window \
                 of 255s reach {bound}, which ffmpeg wraps around in a byte (white turns \
                 black); radii where this happens (the first is {FIRST_WRAPPING_RADIUS}) \
                 are refused"
            ),
        ));
    }
    Ok(Box::new(Boxblur {
        radius: radius as u32,
        power: power as u32,
    }))
}

/// The box length `L = 2r + 1` and ffmpeg's weight `inv = (2^16 + L/2) / L`.
fn weights(radius: u32) -> (u64, u64) {
    let len = 2 * radius as u64 + 1;
    (len, ((1u64 << 16) + len / 2) / len)
}

/// The static bound of one pass's output over bytes, from the pass itself (the
/// bound the circuit's values carry). If it is at most 255, every later pass reads
/// values bounded by 255 again, so it bounds every pass.
fn pass_bound(radius: u32) -> u64 {
    let blur = Boxblur { radius, power: 1 };
    let n = 2 * radius + 1;
    let line = vec![Val::input(255); n as usize];
    let (from, to) = (
        Span { lo: 0, hi: n },
        Span {
            lo: radius,
            hi: radius + 1,
        },
    );
    match blur.pass(&Arith::native(), &line, from, to, n) {
        Ok(out) => out.iter().map(Val::max).max().unwrap_or(0),
        Err(_) => u64::MAX,
    }
}

/// The mirrored index of `i` in `0..n` (valid while |overhang| ≤ n).
fn mirror(i: i64, n: u32) -> u32 {
    let n = n as i64;
    let m = if i < 0 {
        -1 - i
    } else if i >= n {
        2 * n - 1 - i
    } else {
        i
    };
    m as u32
}

/// A contiguous range `lo..hi` of positions in one dimension.
#[derive(Clone, Copy, Debug)]
struct Span {
    lo: u32,
    hi: u32,
}

impl Boxblur {
    fn active(&self) -> bool {
        self.radius > 0 && self.power > 0
    }

    /// The positions one pass reads to produce `s` (mirroring stays inside).
    fn widen(&self, s: Span, n: u32) -> Span {
        Span {
            lo: s.lo.saturating_sub(self.radius),
            hi: (s.hi + self.radius).min(n),
        }
    }

    /// Spans needed before each pass: `spans[k]` is read by pass k + 1, and
    /// `spans[p]` is the output span.
    fn spans(&self, out: Span, n: u32) -> Vec<Span> {
        let passes = if self.active() { self.power } else { 0 };
        let mut spans = vec![out];
        for _ in 0..passes {
            let next = self.widen(*spans.last().expect("non-empty"), n);
            spans.push(next);
        }
        spans.reverse();
        spans
    }

    /// The column and row spans of every pass for the output rectangle `out`.
    fn all_spans(&self, input: FrameInfo, out: Rect) -> (Vec<Span>, Vec<Span>) {
        let span = |lo, len| Span { lo, hi: lo + len };
        (
            self.spans(span(out.x, out.w), input.width),
            self.spans(span(out.y, out.h), input.height),
        )
    }

    /// One 1-D pass over `prev` (values at positions `from.lo..from.hi`), producing
    /// positions `to.lo..to.hi`.
    fn pass(
        &self,
        a: &Arith,
        prev: &[Val],
        from: Span,
        to: Span,
        n: u32,
    ) -> Result<Vec<Val>, SynthesisError> {
        let r = self.radius as i64;
        let (_, inv) = weights(self.radius);
        (to.lo..to.hi)
            .map(|x| {
                let terms: Vec<(u64, &Val)> = (-r..=r)
                    .map(|j| {
                        let at = mirror(x as i64 + j, n);
                        (inv, &prev[(at - from.lo) as usize])
                    })
                    .collect();
                a.shr(&a.lin(&terms, 1 << 15), 16)
            })
            .collect()
    }

    /// Blurs one plane: `src(x, y)` gives input values over the read rectangle.
    fn plane(
        &self,
        a: &Arith,
        input: FrameInfo,
        out: Rect,
        src: &dyn Fn(u32, u32) -> Val,
    ) -> Result<Vec<Val>, SynthesisError> {
        let (w, h) = (input.width, input.height);
        let (cols, rows) = self.all_spans(input, out);
        let row_span = rows[0];
        // Horizontal passes, for every row the vertical passes read.
        let mut grid: Vec<Vec<Val>> = Vec::with_capacity((row_span.hi - row_span.lo) as usize);
        for y in row_span.lo..row_span.hi {
            let mut line: Vec<Val> = (cols[0].lo..cols[0].hi).map(|x| src(x, y)).collect();
            for k in 1..cols.len() {
                line = self.pass(a, &line, cols[k - 1], cols[k], w)?;
            }
            grid.push(line);
        }
        // Vertical passes, column by column.
        let width = (out.w) as usize;
        let mut columns = Vec::with_capacity(width);
        for i in 0..width {
            let mut line: Vec<Val> = grid.iter().map(|row| row[i].clone()).collect();
            for k in 1..rows.len() {
                line = self.pass(a, &line, rows[k - 1], rows[k], h)?;
            }
            columns.push(line);
        }
        let mut result = Vec::with_capacity(width * out.h as usize);
        for j in 0..out.h as usize {
            for column in &columns {
                result.push(column[j].clone());
            }
        }
        Ok(result)
    }
}

impl Filter for Boxblur {
    fn name(&self) -> &'static str {
        "boxblur"
    }
    fn options(&self) -> Vec<(&'static str, String)> {
        vec![
            ("luma_radius", self.radius.to_string()),
            ("luma_power", self.power.to_string()),
        ]
    }
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError> {
        // ffmpeg's limit is 2r <= side; a blur that runs at 2r = side reads past
        // the end of each line, so it needs 2r < side.
        let side = input.width.min(input.height);
        let limit = if self.active() {
            side.saturating_sub(1) / 2
        } else {
            side / 2
        };
        if self.radius > limit {
            return Err(FilterError::Unsupported {
                filter: "boxblur".into(),
                reason: format!(
                    "luma_radius {} is too large for {}x{}: must be <= {limit} (2r below \
                     the smaller side; at 2r = side ffmpeg reads past the end of each line)",
                    self.radius, input.width, input.height
                ),
            });
        }
        Ok(input)
    }
    fn kernel(&self) -> Kernel<'_> {
        Kernel::Region(self)
    }
}

impl RegionKernel for Boxblur {
    fn reads(&self, input: FrameInfo, out: Rect) -> Rect {
        let (cols, rows) = self.all_spans(input, out);
        Rect::new(
            cols[0].lo,
            rows[0].lo,
            cols[0].hi - cols[0].lo,
            rows[0].hi - rows[0].lo,
        )
    }

    fn describe(&self, input: FrameInfo, out: Rect, origin: (u32, u32)) -> serde_json::Value {
        // The arithmetic depends on the output rectangle and, where mirroring
        // happens, on where the frame's edges are; both relative to the window.
        let reach = self.radius * self.power;
        let edges = |lo: u32, len: u32, n: u32, o: u32| {
            let near_start = lo < reach;
            let near_end = lo + len + reach > n;
            json!([
                near_start.then(|| -(o as i64)),
                near_end.then(|| n as i64 - o as i64)
            ])
        };
        json!({
            "radius": self.radius,
            "power": self.power,
            "out": [out.x - origin.0, out.y - origin.1, out.w, out.h],
            "x_edges": edges(out.x, out.w, input.width, origin.0),
            "y_edges": edges(out.y, out.h, input.height, origin.1),
            "channels": input.format.channels(),
        })
    }

    fn compute(
        &self,
        a: &Arith,
        input: FrameInfo,
        out: Rect,
        src: &dyn Fn(u32, u32, usize) -> Val,
    ) -> Result<Vec<Val>, SynthesisError> {
        let c = input.format.channels();
        let planes = (0..c)
            .map(|ch| self.plane(a, input, out, &|x, y| src(x, y, ch)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut result = Vec::with_capacity(planes[0].len() * c);
        for i in 0..planes[0].len() {
            for plane in &planes {
                result.push(plane[i].clone());
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_reflects_about_the_edge() {
        assert_eq!(mirror(-1, 5), 0);
        assert_eq!(mirror(-3, 5), 2);
        assert_eq!(mirror(5, 5), 4);
        assert_eq!(mirror(6, 5), 3);
        assert_eq!(mirror(2, 5), 2);
    }

    #[test]
    fn refuses_radius_beyond_half_the_frame() {
        let f = parse(Some("5:1")).unwrap();
        let e = f
            .output_info(FrameInfo::new(mpegs_media::PixelFormat::Gray, 13, 9))
            .unwrap_err();
        assert!(e.to_string().contains("must be <= 4"), "{e}");
        assert!(parse(Some("luma_power=9")).is_err());
        // An even side of 10 allows r = 4 only (ffmpeg's r = 5 reads past the
        // line); an odd side of 11 allows r = 5.
        let gray = |w, h| FrameInfo::new(mpegs_media::PixelFormat::Gray, w, h);
        let f = parse(Some("5:1")).unwrap();
        let e = f.output_info(gray(12, 10)).unwrap_err();
        assert!(e.to_string().contains("must be <= 4"), "{e}");
        assert!(f.output_info(gray(11, 12)).is_ok());
        // Without passes nothing is read, and ffmpeg's own limit applies.
        let copy = parse(Some("5:0")).unwrap();
        assert!(copy.output_info(gray(10, 10)).is_ok());
        assert!(copy.output_info(gray(9, 10)).is_err());
    }

    /// ffmpeg's pass over a window of 255s, in plain integers.
    fn white_pass(radius: u32) -> u64 {
        let (len, inv) = weights(radius);
        (255 * len * inv + (1 << 15)) >> 16
    }

    #[test]
    fn refuses_exactly_the_radii_whose_pass_exceeds_a_byte() {
        let mut refused = vec![];
        for r in 0..=1024 {
            assert_eq!(pass_bound(r), white_pass(r), "r = {r}");
            match parse(Some(&format!("{r}:1"))) {
                Ok(_) => assert!(pass_bound(r) <= 255, "r = {r} accepted"),
                Err(e) => {
                    let text = e.to_string();
                    assert!(
                        text.contains("luma_radius") && text.contains("wraps"),
                        "{text}"
                    );
                    refused.push(r);
                }
            }
        }
        assert_eq!(refused.first(), Some(&FIRST_WRAPPING_RADIUS));
        assert_eq!(refused.len(), 308);
        assert_eq!(white_pass(177), 256);
        assert_eq!(white_pass(176), 255);
        assert!(
            parse(Some("luma_radius=1007:luma_power=0")).is_ok(),
            "a copy"
        );
    }
}
