//! Real H.264 segments made with ffmpeg (testsrc2, libx264, one thread so the bytes
//! are reproducible): luma decoding, and pHash robustness — a frame and its
//! low-bitrate re-encode hash alike, different frames do not.

use mpegs_storage::phash::{hamming, phash, Region};
use mpegs_storage::video::LumaFrames;
use std::path::Path;
use std::process::Command;

fn make_clip(path: &Path, bitrate: &str) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=192x128:rate=30:duration=2")
        .args([
            "-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p", "-b:v", bitrate,
        ])
        .arg(path)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success());
}

fn hashes(path: &Path, region: Region) -> Vec<u64> {
    let frames = LumaFrames::open(path).unwrap();
    let (w, h) = (frames.width, frames.height);
    frames
        .map(|f| phash(&f.unwrap(), w, h, region).unwrap())
        .collect()
}

#[test]
fn decodes_luma_and_hashes_survive_reencoding() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.mp4");
    let poor = dir.path().join("poor.mp4");
    make_clip(&good, "2M");
    make_clip(&poor, "60k");
    let frames = LumaFrames::open(&good).unwrap();
    assert_eq!((frames.width, frames.height), (192, 128));
    assert_eq!(frames.count(), 60);

    let region = Region {
        x: 32,
        y: 32,
        size: 64,
    };
    let a = hashes(&good, region);
    let b = hashes(&poor, region);
    assert_eq!(a.len(), b.len());
    let same: f64 = a
        .iter()
        .zip(&b)
        .map(|(x, y)| hamming(*x, *y) as f64)
        .sum::<f64>()
        / a.len() as f64;
    // testsrc2 moves: frames a second apart differ.
    let other: f64 = a
        .iter()
        .zip(b.iter().skip(30))
        .map(|(x, y)| hamming(*x, *y) as f64)
        .sum::<f64>()
        / 30.0;
    eprintln!("mean Hamming: same frame re-encoded {same:.1}, 1 s apart {other:.1}");
    assert!(same < 10.0, "re-encode moved {same:.1} bits on average");
    assert!(
        other > 2.0 * same + 6.0,
        "different frames only {other:.1} bits apart (same {same:.1})"
    );
}

#[test]
fn bad_files_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not a video").unwrap();
    let e = LumaFrames::open(&text)
        .err()
        .expect("text is not a video")
        .to_string();
    assert!(e.contains("cannot decode"), "{e}");
    let e = LumaFrames::open(&dir.path().join("missing.mp4"))
        .err()
        .expect("missing file")
        .to_string();
    assert!(e.contains("cannot decode"), "{e}");
}
