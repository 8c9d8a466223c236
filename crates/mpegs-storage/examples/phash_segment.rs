//! Times decoding a segment and hashing one region of every frame:
//! `cargo run --release -p mpegs-storage --example phash_segment -- seg.mp4 [size]`.
use mpegs_storage::phash::{phash, Region};
use mpegs_storage::video::LumaFrames;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: phash_segment FILE [SIZE]")?;
    let size: u32 = std::env::args().nth(2).map_or(Ok(256), |s| s.parse())?;
    let start = Instant::now();
    let frames = LumaFrames::open(std::path::Path::new(&path))?;
    let (w, h) = (frames.width, frames.height);
    let region = Region {
        x: (w - size) / 2,
        y: (h - size) / 2,
        size,
    };
    let mut hash_time = std::time::Duration::ZERO;
    let mut n = 0;
    for frame in frames {
        let frame = frame?;
        let t = Instant::now();
        std::hint::black_box(phash(&frame, w, h, region)?);
        hash_time += t.elapsed();
        n += 1;
    }
    println!(
        "{n} frames {w}x{h}, region {region}: total {:.2?} (pHash {:.2?}, {:.2?}/frame)",
        start.elapsed(),
        hash_time,
        hash_time / n.max(1)
    );
    Ok(())
}
