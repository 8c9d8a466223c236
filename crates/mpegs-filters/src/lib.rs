//! mpegs-filters owns the media operations, shaped like libavfilter: one module per
//! filter in [`filters`] holding its ffmpeg name and option parsing, its native
//! reference implementation (a pixel mapping) and its circuit, all registered in one
//! table ([`registry::FILTERS`]). [`graph`] parses `-vf` chains, [`plan`] maps each
//! output tile to the input tiles it reads, and [`circuit`] turns one output tile of
//! one filter step into a Groth16 statement.

pub mod circuit;
pub mod filters;
pub mod graph;
pub mod options;
pub mod plan;
pub mod registry;

use mpegs_media::{Frame, FrameInfo};
use mpegs_zk::range::ByteVar;
use mpegs_zk::{Builder, Num, SynthesisError};
use rayon::prelude::*;

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

/// The two shapes of filter the framework proves.
pub enum Kernel<'a> {
    /// Output pixel (x, y) copies input pixel `source(x, y)`, all channels
    /// (crop, flips, transpose). Copies of range-checked bytes need no checks.
    Gather(&'a dyn GatherKernel),
    /// Output pixel (x, y) is a function of input pixel (x, y) alone; input and
    /// output have the same size (format conversion, negate, eq).
    Pointwise(&'a dyn PixelKernel),
}

/// A pure pixel permutation/selection.
pub trait GatherKernel: Sync {
    /// The input pixel that output pixel (x, y) copies.
    fn source(&self, input: FrameInfo, x: u32, y: u32) -> (u32, u32);
}

/// A per-pixel function, natively and in-circuit.
pub trait PixelKernel: Sync {
    /// Native reference: writes the output pixel's bytes.
    fn apply_pixel(&self, input: &[u8], output: &mut [u8]);

    /// Circuit: the output pixel's bytes from the input pixel's range-checked bytes.
    /// Must constrain each output byte to be the unique correct value.
    fn synthesize_pixel(&self, b: &Builder, input: &[ByteVar]) -> Result<Vec<Num>, SynthesisError>;
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
                .for_each(|(y, row)| {
                    for x in 0..info.width {
                        let (sx, sy) = k.source(input.info, x, y as u32);
                        let xi = x as usize * c;
                        row[xi..xi + c].copy_from_slice(input.pixel(sx, sy));
                    }
                });
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
    }
    Ok(Frame::new(info, data).expect("filter output matches its declared shape"))
}
