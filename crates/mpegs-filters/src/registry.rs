//! The one table of supported filters. Adding a filter = one module in `filters/`
//! plus one line here.

use crate::filters::{
    boxblur, crop, drawbox, eq, format, hflip, lut, negate, overlay, pad, scale, transpose, vflip,
};
use crate::options::OptionSpec;
use crate::{Filter, FilterError};

/// Parses a filter's `args` (the part after `name=`) into a configured filter.
pub type ParseFn = fn(Option<&str>) -> Result<Box<dyn Filter>, FilterError>;

/// A filter's entry: name, help, options and parser.
pub struct FilterSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub options: &'static [OptionSpec],
    pub parse: ParseFn,
}

/// Every filter mpegs can run and prove.
pub static FILTERS: &[&FilterSpec] = &[
    &crop::SPEC,
    &hflip::SPEC,
    &vflip::SPEC,
    &transpose::SPEC,
    &format::SPEC,
    &negate::SPEC,
    &eq::SPEC,
    &lut::LUT_SPEC,
    &lut::LUTRGB_SPEC,
    &pad::SPEC,
    &drawbox::SPEC,
    &scale::SPEC,
    &boxblur::SPEC,
    &overlay::SPEC,
];

/// The spec of a filter by ffmpeg name.
pub fn lookup(name: &str) -> Option<&'static FilterSpec> {
    FILTERS.iter().copied().find(|s| s.name == name)
}
