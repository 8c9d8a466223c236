//! Which macroblocks a proof can sample, and which of their SSIM windows count.
//!
//! A frame is committed in 16×16 tiles, the right column and bottom row
//! zero-padded when the size is not a multiple of 16. Those edge macroblocks are
//! sampled too (otherwise the bottom 8 rows of 1080p would never be checked), but
//! only the 8×8 windows (stride 4) that lie **fully inside the frame** are scored:
//! a window over padding compares zeros with zeros and would count as a perfect
//! SSIM. An edge column or row less than 8 pixels wide has no such window and is
//! never sampled (ffmpeg's SSIM likewise ignores a remainder under 4 pixels).
//!
//! The sampler, the native score and the circuit all take their geometry from
//! here, so they cannot disagree.

use crate::ssim::{MB, WINDOWS};

/// Window columns (or rows) of stride 4 inside the first `pixels` pixels of a
/// macroblock: 3 for a full one, 2 for 12–15 pixels, 1 for 8–11, none below 8.
pub fn windows_across(pixels: u32) -> usize {
    if pixels < 8 {
        0
    } else {
        (((pixels - 8) / 4 + 1) as usize).min(3)
    }
}

/// The windows of one macroblock that count: the first `cols` window columns and
/// the first `rows` window rows of its 3 × 3 grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    pub cols: usize,
    pub rows: usize,
}

impl Windows {
    /// An interior macroblock: all 9 windows.
    pub const ALL: Windows = Windows { cols: 3, rows: 3 };

    pub fn count(&self) -> usize {
        self.cols * self.rows
    }

    /// Whether window `w` (row-major in the 3 × 3 grid) counts.
    pub fn contains(&self, w: usize) -> bool {
        w < WINDOWS && w % 3 < self.cols && w / 3 < self.rows
    }
}

/// The macroblock grid of a `width × height` frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub width: u32,
    pub height: u32,
}

impl Grid {
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    /// Macroblocks across, including a partial right column (the tile grid).
    pub fn tiles_x(&self) -> u32 {
        self.width.div_ceil(MB as u32)
    }

    pub fn tiles_y(&self) -> u32 {
        self.height.div_ceil(MB as u32)
    }

    /// Pixels of the last column (1..=16) and of the last row.
    fn last(&self) -> (u32, u32) {
        let rem = |n: u32| n.saturating_sub(1) % MB as u32 + 1;
        (rem(self.width), rem(self.height))
    }

    /// Window columns of the last macroblock column, and window rows of the last row.
    pub fn edge_windows(&self) -> (usize, usize) {
        let (w, h) = self.last();
        (windows_across(w), windows_across(h))
    }

    /// Sampleable columns and rows: every one with at least one window inside the
    /// frame, i.e. all but an edge column (row) narrower than 8 pixels.
    pub fn sampleable(&self) -> (u32, u32) {
        if self.width == 0 || self.height == 0 {
            return (0, 0);
        }
        let (ex, ey) = self.edge_windows();
        let keep = |tiles: u32, edge: usize| if edge == 0 { tiles - 1 } else { tiles };
        (keep(self.tiles_x(), ex), keep(self.tiles_y(), ey))
    }

    /// The windows that count in macroblock (mb_x, mb_y).
    pub fn windows(&self, mb_x: u32, mb_y: u32) -> Windows {
        let (ex, ey) = self.edge_windows();
        Windows {
            cols: if mb_x + 1 == self.tiles_x() { ex } else { 3 },
            rows: if mb_y + 1 == self.tiles_y() { ey } else { 3 },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_inside_a_partial_macroblock() {
        let counts: Vec<usize> = (0..=16).map(windows_across).collect();
        assert_eq!(counts, [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3]);
    }

    #[test]
    fn edge_rows_and_columns_are_sampled_when_they_hold_a_window() {
        // 1080p: 120 full columns; the 68th row holds 8 pixels, one window row.
        let g = Grid::new(1920, 1080);
        assert_eq!(g.sampleable(), (120, 68));
        assert_eq!(g.windows(5, 67), Windows { cols: 3, rows: 1 });
        assert_eq!(g.windows(119, 66), Windows::ALL);
        // 44×36: a 12-pixel last column (2 window columns), a 4-pixel last row
        // (no window: not sampled).
        let g = Grid::new(44, 36);
        assert_eq!((g.tiles_x(), g.tiles_y()), (3, 3));
        assert_eq!(g.sampleable(), (3, 2));
        assert_eq!(g.windows(2, 1), Windows { cols: 2, rows: 3 });
        assert_eq!(g.windows(2, 1).count(), 6);
        assert!(g.windows(2, 1).contains(4) && !g.windows(2, 1).contains(5));
        // Too small for any window.
        assert_eq!(Grid::new(7, 64).sampleable(), (0, 4));
        assert_eq!(Grid::new(0, 0).sampleable(), (0, 0));
    }
}
