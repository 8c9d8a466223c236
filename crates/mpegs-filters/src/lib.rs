//! mpegs-filters owns the media operations, shaped like libavfilter: one module per
//! filter in [`filters`] holding its ffmpeg name and option parsing, its native
//! reference implementation (a pixel mapping) and its circuit, all registered in one
//! table ([`registry::FILTERS`]). [`graph`] parses `-vf` chains, [`plan`] maps each
//! output tile to the input tiles it reads, and [`circuit`] turns one output tile of
//! one filter step into a Groth16 statement.

pub mod arith;
pub mod byte;
pub mod circuit;
pub mod color;
pub mod expr;
pub mod filters;
pub mod graph;
pub mod options;
pub mod plan;
pub mod registry;

use mpegs_media::{Frame, FrameInfo, PixelFormat};
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, SynthesisError};
use rayon::prelude::*;

pub use byte::OutByte;
pub use graph::{parse_filtergraph, FilterChain};
pub use registry::{lookup, FilterSpec, FILTERS};

/// Errors from parsing and applying filters.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("empty filtergraph")]
    Empty,
    #[error("unknown filter '{0}' (run `mpegs filters` for the supported list)")]
    UnknownFilter(String),
    #[error("{filter}: unknown option '{option}' (options: {known})")]
    UnknownOption {
        filter: String,
        option: String,
        known: String,
    },
    #[error("{filter}: invalid value '{value}' for option '{option}': {reason}")]
    InvalidValue {
        filter: String,
        option: String,
        value: String,
        reason: String,
    },
    #[error("{filter}: {reason}")]
    Unsupported { filter: String, reason: String },
    #[error("filtergraph syntax: {0}")]
    Syntax(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// A configured filter instance (options parsed and validated).
pub trait Filter: Send + Sync + std::fmt::Debug {
    /// The ffmpeg filter name.
    fn name(&self) -> &'static str;

    /// Every option with its resolved value, in the filter's declared order. The
    /// canonical `name=k=v:…` string built from this is what proofs commit to.
    fn options(&self) -> Vec<(&'static str, String)>;

    /// The output shape for an input shape, or why this input is not supported.
    fn output_info(&self, input: FrameInfo) -> Result<FrameInfo, FilterError>;

    /// How each output pixel is computed: the single definition used by the native
    /// implementation and by the circuit.
    fn kernel(&self) -> Kernel<'_>;

    /// `name=k=v:k=v` with every option spelled out.
    fn canonical(&self) -> String {
        let opts: Vec<String> = self
            .options()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if opts.is_empty() {
            self.name().to_string()
        } else {
            format!("{}={}", self.name(), opts.join(":"))
        }
    }
}

/// The three shapes of filter the framework proves.
pub enum Kernel<'a> {
    /// Output pixel (x, y) copies input pixel `source(x, y)`, all channels, or is a
    /// constant fill colour (crop, flips, transpose, pad, drawbox). Copies of
    /// range-checked bytes need no checks.
    Gather(&'a dyn GatherKernel),
    /// Output pixel (x, y) is a function of input pixel (x, y) alone; input and
    /// output have the same size (format conversion, negate, eq).
    Pointwise(&'a dyn PixelKernel),
    /// Output pixels are integer arithmetic over a neighbourhood of input pixels
    /// (scale, boxblur): one definition, run natively or in-circuit through
    /// [`arith::Arith`].
    Region(&'a dyn RegionKernel),
}

/// Where a gathered output pixel comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A copy of input pixel (x, y).
    Pixel(u32, u32),
    /// The filter's public constant number `index` ([`GatherKernel::constant`]):
    /// a fill colour, or a pixel of a public watermark.
    Const(u32),
}

/// A pure pixel permutation/selection, with an optional constant fill colour.
pub trait GatherKernel: Sync {
    /// Where output pixel (x, y) comes from.
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> Source;

    /// The bytes of constant `index` in `format` (the output format), or `None`
    /// when this instance does not hold them (a filter rebuilt from a bundle for
    /// verification knows its watermark's commitment, not its pixels).
    fn constant(&self, format: PixelFormat, index: u32) -> Option<Vec<u8>> {
        let _ = (format, index);
        None
    }
}

/// A rectangle of pixels: columns `x..x + w`, rows `y..y + h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        Self { x, y, w, h }
    }
}

/// A filter whose output pixels are computed from a neighbourhood of input pixels.
///
/// `compute` is the single definition of the filter: [`apply`] runs it natively
/// over bands of the frame, and the tile circuit runs it with an in-circuit
/// [`arith::Arith`] over the window's range-checked bytes.
pub trait RegionKernel: Sync {
    /// The input rectangle that the output rectangle `out` reads (inside the frame).
    fn reads(&self, input: FrameInfo, out: Rect) -> Rect;

    /// Everything the computation of `out` depends on, relative to `origin` (an
    /// input pixel position). Equal descriptions must mean identical arithmetic:
    /// tiles with equal descriptions share one circuit and one key.
    fn describe(&self, input: FrameInfo, out: Rect, origin: (u32, u32)) -> serde_json::Value;

    /// The bytes of the output rectangle, row-major with all channels, from the
    /// input pixels in `reads(out)` (`src(x, y, channel)`, absolute coordinates).
    /// Every returned value's static bound ([`arith::Val::max`]) must be at most
    /// 255; the framework refuses any that is not, natively and in-circuit, so a
    /// filter must refuse such parameters when it is configured.
    fn compute(
        &self,
        arith: &arith::Arith,
        input: FrameInfo,
        out: Rect,
        src: &dyn Fn(u32, u32, usize) -> arith::Val,
    ) -> Result<Vec<arith::Val>, SynthesisError>;
}

/// A per-pixel function, natively and in-circuit.
pub trait PixelKernel: Sync {
    /// Native reference: writes the output pixel's bytes.
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]);

    /// Circuit: the output pixel's bytes from the input pixel's range-checked bytes.
    /// Must constrain each output byte to be the unique correct value; that it is
    /// a byte at all is what [`OutByte`]'s constructors guarantee.
    fn synthesize_pixel(
        &self,
        b: &Builder,
        input: &[ByteVar],
    ) -> Result<Vec<OutByte>, SynthesisError>;
}

/// Runs a filter natively (the reference implementation the oracle tests check).
pub fn apply(filter: &dyn Filter, input: &Frame) -> Result<Frame, FilterError> {
    let info = filter.output_info(input.info)?;
    let c = info.format.channels();
    let row_bytes = info.width as usize * c;
    let mut data = vec![0u8; info.byte_len()];
    match filter.kernel() {
        Kernel::Gather(k) => {
            data.par_chunks_mut(row_bytes)
                .enumerate()
                .try_for_each(|(y, row)| {
                    for x in 0..info.width {
                        let xi = x as usize * c;
                        match k.source(input.info, x, y as u32) {
                            Source::Pixel(sx, sy) => {
                                row[xi..xi + c].copy_from_slice(input.pixel(sx, sy))
                            }
                            Source::Const(i) => {
                                let bytes = k.constant(info.format, i).ok_or_else(|| {
                                    FilterError::Unsupported {
                                        filter: filter.name().into(),
                                        reason: "this instance lacks its constant pixels \
                                                 (e.g. the watermark file)"
                                            .into(),
                                    }
                                })?;
                                row[xi..xi + c].copy_from_slice(&bytes);
                            }
                        }
                    }
                    Ok::<(), FilterError>(())
                })?;
        }
        Kernel::Pointwise(k) => {
            data.par_chunks_mut(row_bytes)
                .enumerate()
                .for_each(|(y, row)| {
                    for x in 0..info.width {
                        let xi = x as usize * c;
                        k.apply_pixel(input.pixel(x, y as u32), &mut row[xi..xi + c]);
                    }
                });
        }
        Kernel::Region(k) => apply_region(filter.name(), k, input, info, &mut data)?,
    }
    Ok(Frame::new(info, data).expect("filter output matches its declared shape"))
}

/// Rows per band when a region kernel runs natively (bands run in parallel).
const REGION_BAND_ROWS: u32 = 32;

fn apply_region(
    name: &str,
    k: &dyn RegionKernel,
    input: &Frame,
    info: FrameInfo,
    data: &mut [u8],
) -> Result<(), FilterError> {
    let band_bytes = REGION_BAND_ROWS as usize * info.width as usize * info.format.channels();
    // Inputs carry the bound 255 whatever their value, as in-circuit, so the check
    // below refuses exactly what the circuit refuses, on every frame.
    let src = |x: u32, y: u32, ch: usize| arith::Val::input(input.pixel(x, y)[ch]);
    data.par_chunks_mut(band_bytes)
        .enumerate()
        .try_for_each(|(i, band)| {
            let y = i as u32 * REGION_BAND_ROWS;
            let rows = REGION_BAND_ROWS.min(info.height - y);
            let out = Rect::new(0, y, info.width, rows);
            let vals = k
                .compute(&arith::Arith::native(), input.info, out, &src)
                .map_err(|e| FilterError::Internal(e.to_string()))?;
            for (dst, v) in band.iter_mut().zip(&vals) {
                *dst = v.byte_value().ok_or_else(|| {
                    FilterError::Internal(format!(
                        "{name}: an output value is bounded by {}, not by 255 (these \
                         parameters should have been refused)",
                        v.max()
                    ))
                })?;
            }
            Ok(())
        })
}
