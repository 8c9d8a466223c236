//! Parsing ffmpeg `-vf` filter chains: `crop=640:360:10:20,hflip,format=gray`.

use crate::registry::lookup;
use crate::{Filter, FilterError};
use mpegs_media::FrameInfo;

/// A parsed linear chain of filters. Filters are shared, not copied, when a
/// chain is cloned: an instance may carry constants its canonical text only
/// names by hash (overlay's watermark pixels), so re-parsing is no copy.
#[derive(Clone, Debug)]
pub struct FilterChain {
    pub filters: Vec<std::sync::Arc<dyn Filter>>,
}

impl FilterChain {
    /// The canonical form: every option spelled out.
    pub fn canonical(&self) -> String {
        self.filters
            .iter()
            .map(|f| f.canonical())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The shape after each step, checking every step accepts its input.
    pub fn shapes(&self, input: FrameInfo) -> Result<Vec<FrameInfo>, FilterError> {
        let mut out = Vec::with_capacity(self.filters.len());
        let mut current = input;
        for f in &self.filters {
            current = f.output_info(current)?;
            out.push(current);
        }
        Ok(out)
    }
}

/// Parses a single linear filter chain. Labels (`[in]`), multiple chains (`;`) and
/// quoting are not supported and are refused with a clear error.
pub fn parse_filtergraph(text: &str) -> Result<FilterChain, FilterError> {
    if text.trim().is_empty() {
        return Err(FilterError::Empty);
    }
    if let Some(c) = text
        .chars()
        .find(|c| matches!(c, ';' | '[' | ']' | '\'' | '"' | '\\'))
    {
        return Err(FilterError::Syntax(format!(
            "'{c}' is not supported: mpegs takes one linear chain of filters separated by ','"
        )));
    }
    let filters = text
        .split(',')
        .map(|item| {
            let item = item.trim();
            if item.is_empty() {
                return Err(FilterError::Syntax("empty filter in chain".into()));
            }
            let (name, args) = match item.split_once('=') {
                Some((n, a)) => (n.trim(), Some(a)),
                None => (item, None),
            };
            let spec = lookup(name).ok_or_else(|| FilterError::UnknownFilter(name.into()))?;
            (spec.parse)(args).map(std::sync::Arc::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FilterChain { filters })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpegs_media::PixelFormat;

    #[test]
    fn chains_parse_and_canonicalize() {
        let chain = parse_filtergraph("crop=640:360:10:20, hflip ,format=gray").unwrap();
        assert_eq!(
            chain.canonical(),
            "crop=w=640:h=360:x=10:y=20:exact=0,hflip,format=pix_fmts=gray"
        );
        let shapes = chain
            .shapes(FrameInfo::new(PixelFormat::Rgb24, 1280, 720))
            .unwrap();
        assert_eq!(shapes[2], FrameInfo::new(PixelFormat::Gray, 640, 360));
        // The canonical form parses back to itself.
        assert_eq!(
            parse_filtergraph(&chain.canonical()).unwrap().canonical(),
            chain.canonical()
        );
    }

    #[test]
    fn bad_graphs_get_clear_errors() {
        assert_eq!(parse_filtergraph(" ").unwrap_err(), FilterError::Empty);
        assert_eq!(
            parse_filtergraph("hflip,blurry").unwrap_err(),
            FilterError::UnknownFilter("blurry".into())
        );
        assert!(parse_filtergraph("hflip,,vflip").is_err());
        assert!(parse_filtergraph("[in]hflip").is_err());
        assert!(parse_filtergraph("hflip;vflip").is_err());
        let e = parse_filtergraph("crop=10:10:foo=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown option 'foo'"), "{e}");
    }
}
