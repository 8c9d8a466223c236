//! Colours as ffmpeg parses them (`black`, `white`, `0xRRGGBB`, `#RRGGBB`, a few
//! names) and the two ways ffmpeg 5.1 turns an RGB colour into a gray level.

use mpegs_media::PixelFormat;

/// The named colours mpegs accepts (a subset of ffmpeg's table, same values).
const NAMES: &[(&str, [u8; 3])] = &[
    ("black", [0, 0, 0]),
    ("white", [255, 255, 255]),
    ("red", [255, 0, 0]),
    ("green", [0, 128, 0]),
    ("lime", [0, 255, 0]),
    ("blue", [0, 0, 255]),
    ("yellow", [255, 255, 0]),
    ("cyan", [0, 255, 255]),
    ("magenta", [255, 0, 255]),
    ("gray", [128, 128, 128]),
    ("grey", [128, 128, 128]),
    ("orange", [255, 165, 0]),
    ("purple", [128, 0, 128]),
    ("navy", [0, 0, 128]),
];

/// Parses an opaque colour. Translucent colours (`@0.5`, `0xRRGGBBAA` with AA < ff)
/// would blend, which mpegs does not prove, so they are refused.
pub fn parse_color(text: &str) -> Result<[u8; 3], String> {
    let (base, alpha) = match text.split_once('@') {
        Some((b, a)) => (b, Some(a)),
        None => (text, None),
    };
    if let Some(a) = alpha {
        let opaque =
            a.parse::<f64>().map(|v| v == 1.0).unwrap_or(false) || a.eq_ignore_ascii_case("0xff");
        if !opaque {
            return Err(format!(
                "alpha '{a}' is not supported: only opaque colours (blending is not proven)"
            ));
        }
    }
    let lower = base.trim().to_ascii_lowercase();
    if let Some((_, rgb)) = NAMES.iter().find(|(n, _)| *n == lower) {
        return Ok(*rgb);
    }
    let hex = lower
        .strip_prefix("0x")
        .or_else(|| lower.strip_prefix('#'))
        .unwrap_or(&lower);
    let bytes = hex::decode(hex).map_err(|_| {
        format!(
            "unknown colour '{base}' (use 0xRRGGBB or one of: {})",
            NAMES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })?;
    match bytes.as_slice() {
        [r, g, b] => Ok([*r, *g, *b]),
        [r, g, b, 0xff] => Ok([*r, *g, *b]),
        [_, _, _, a] => Err(format!(
            "alpha 0x{a:02x} is not supported: only opaque colours (blending is not proven)"
        )),
        _ => Err(format!("colour '{base}' must be 0xRRGGBB")),
    }
}

/// Parses a filter's colour option, naming the filter and option in the error.
pub fn color_option(
    filter: &str,
    option: &str,
    value: &str,
) -> Result<[u8; 3], crate::FilterError> {
    parse_color(value).map_err(|reason| crate::FilterError::InvalidValue {
        filter: filter.into(),
        option: option.into(),
        value: value.into(),
        reason,
    })
}

/// The BT.601 luma of an RGB colour in [0, 1], in ffmpeg's double arithmetic
/// (`ff_matrix_mul_3x3_vec` with the SMPTE 170M coefficients).
fn luma(rgb: [u8; 3]) -> f64 {
    let [r, g, b] = rgb.map(|c| c as f64 / 255.0);
    r * 0.299 + g * 0.587 + b * 0.114
}

/// Limited-range (16–235) gray, as `pad` and other `ff_draw_color` users write it
/// into gray frames: black is 16, white 235.
pub fn gray_limited(rgb: [u8; 3]) -> u8 {
    let y = luma(rgb) * (219.0 / 255.0) + 16.0 / 255.0;
    (y * 255.0 + 0.5) as u8
}

/// Full-range gray, as `drawbox` writes it into gray frames: black 0, white 255.
pub fn gray_full(rgb: [u8; 3]) -> u8 {
    (luma(rgb) * 255.0 + 0.5) as u8
}

/// The colour's bytes in `format`, using `to_gray` for gray frames.
pub fn color_bytes(format: PixelFormat, rgb: [u8; 3], to_gray: fn([u8; 3]) -> u8) -> Vec<u8> {
    match format {
        PixelFormat::Gray => vec![to_gray(rgb)],
        PixelFormat::Rgb24 => rgb.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_hex_and_refuses_translucency() {
        assert_eq!(parse_color("black"), Ok([0, 0, 0]));
        assert_eq!(parse_color("White"), Ok([255, 255, 255]));
        assert_eq!(parse_color("0x336699"), Ok([0x33, 0x66, 0x99]));
        assert_eq!(parse_color("#336699"), Ok([0x33, 0x66, 0x99]));
        assert_eq!(parse_color("0x336699ff"), Ok([0x33, 0x66, 0x99]));
        assert_eq!(parse_color("red@1.0"), Ok([255, 0, 0]));
        assert!(parse_color("red@0.5").unwrap_err().contains("opaque"));
        assert!(parse_color("0x33669980").unwrap_err().contains("opaque"));
        assert!(parse_color("chartreuse")
            .unwrap_err()
            .contains("unknown colour"));
        assert!(parse_color("0x3366").is_err());
    }

    #[test]
    fn gray_levels_match_measured_ffmpeg_values() {
        // Measured with ffmpeg 5.1 on gray frames (pad, drawbox).
        assert_eq!(gray_limited([0, 0, 0]), 16);
        assert_eq!(gray_limited([255, 255, 255]), 235);
        assert_eq!(gray_limited([0x33, 0x66, 0x99]), 95);
        assert_eq!(gray_limited([255, 0, 0]), 81);
        assert_eq!(gray_full([0x33, 0x66, 0x99]), 93);
        assert_eq!(gray_full([0x1c, 0x10, 0xfc]), 46);
    }
}
