//! The frames a transcode proof compares, and their commitments.
//!
//! Both videos are read as luma planes. When the rendition is smaller, the
//! source's frames first go through the filter library's exact `scale`
//! (`flags=area+accurate_rnd`, bit-exact with ffmpeg), so anyone holding the source
//! can recompute the source commitment the proof refers to. Frames are committed
//! with tile size 16: one tile is one macroblock, so a sample opens 256 bytes.

use crate::TranscodeError;
use mpegs_filters::{apply, parse_filtergraph, FilterChain};
use mpegs_media::commitment::{tile_bytes, VideoCommitment};
use mpegs_media::video::LumaFrames;
use mpegs_media::{Commitment, Frame, FrameInfo, PixelFormat, Seed};
use std::path::Path;

/// Tile size of transcode commitments: one 16×16 macroblock per tile.
pub const TILE: u32 = 16;

/// The scale filter that brings source frames to a rendition's size.
pub fn reference_scale(width: u32, height: u32) -> String {
    format!("scale={width}:{height}:flags=area+accurate_rnd")
}

/// Luma frames of a video, optionally through a filter chain.
pub struct Frames {
    decoder: LumaFrames,
    chain: Option<FilterChain>,
}

impl Frames {
    /// Opens `path`; with `size`, frames are scaled to it when they differ.
    pub fn open(path: &Path, size: Option<(u32, u32)>) -> Result<Self, TranscodeError> {
        let decoder = LumaFrames::open(path)?;
        let chain = match size {
            Some((w, h)) if (w, h) != (decoder.width, decoder.height) => {
                Some(parse_filtergraph(&reference_scale(w, h))?)
            }
            _ => None,
        };
        Ok(Self { decoder, chain })
    }

    /// Size of the decoded frames before any scaling.
    pub fn decoded_size(&self) -> (u32, u32) {
        (self.decoder.width, self.decoder.height)
    }

    /// The scale applied, in canonical form, if any.
    pub fn scale(&self) -> Option<String> {
        self.chain.as_ref().map(FilterChain::canonical)
    }
}

impl Iterator for Frames {
    type Item = Result<Frame, TranscodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (w, h) = (self.decoder.width, self.decoder.height);
        let plane = match self.decoder.next()? {
            Ok(p) => p,
            Err(e) => return Some(Err(e.into())),
        };
        let frame = Frame::new(FrameInfo::new(PixelFormat::Gray, w, h), plane);
        let frame = frame
            .map_err(TranscodeError::from)
            .and_then(|f| match &self.chain {
                Some(chain) => chain
                    .filters
                    .iter()
                    .try_fold(f, |f, filter| apply(filter.as_ref(), &f))
                    .map_err(TranscodeError::from),
                None => Ok(f),
            });
        Some(frame)
    }
}

/// Commits every frame (tile 16, blinded with `seed` and the frame's index) and
/// the video, calling `progress` per frame.
///
/// Frames are read (and scaled) on their own thread, a few ahead, so decoding
/// overlaps the hashing instead of waiting for it; an error on either side ends
/// both (a dropped receiver stops the reader, which stops ffmpeg).
pub fn commit(
    frames: Frames,
    seed: &Seed,
    mut progress: impl FnMut(),
) -> Result<VideoCommitment, TranscodeError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(4);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for frame in frames {
                if tx.send(frame).is_err() {
                    break;
                }
            }
        });
        let mut committed = Vec::new();
        for (index, frame) in rx.into_iter().enumerate() {
            committed.push(Commitment::of_video_frame(
                &frame?,
                TILE,
                seed,
                index as u32,
            )?);
            progress();
        }
        Ok(VideoCommitment::new(committed)?)
    })
}

/// The 256 bytes of macroblock `tile` (tile index) in each of the wanted frames,
/// read in one decoding pass: `wanted` is a list of (frame, tile index).
pub fn read_macroblocks(
    frames: Frames,
    wanted: &[(u32, u32)],
) -> Result<Vec<Vec<u8>>, TranscodeError> {
    let mut out = vec![Vec::new(); wanted.len()];
    for (n, frame) in frames.enumerate() {
        let frame = frame?;
        let tiles_x = frame.info.width.div_ceil(TILE);
        for (slot, (f, tile)) in out.iter_mut().zip(wanted) {
            if *f as usize == n {
                *slot = tile_bytes(&frame, TILE, tile % tiles_x, tile / tiles_x);
            }
        }
    }
    if let Some(i) = out.iter().position(Vec::is_empty) {
        return Err(TranscodeError::Mismatch(format!(
            "frame {} of sample {i} is missing from the video",
            wanted[i].0
        )));
    }
    Ok(out)
}
