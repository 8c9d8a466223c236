//! Helpers shared by the filter tests.

use mpegs_media::{Frame, FrameInfo, PixelFormat};
use rand::{Rng, SeedableRng};

/// A frame of seeded random pixels.
pub fn random_frame(format: PixelFormat, w: u32, h: u32, seed: u64) -> Frame {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let info = FrameInfo::new(format, w, h);
    Frame::new(info, (0..info.byte_len()).map(|_| rng.gen()).collect()).unwrap()
}
