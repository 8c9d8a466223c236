//! Bit-exactness against the real ffmpeg CLI (the reference oracle), on random
//! images of odd, non-tile-aligned sizes, in gray and rgb24, through rawvideo so no
//! codec interferes. Needs `ffmpeg` on PATH (.ci/run installs Debian's).

use mpegs_filters::{apply, parse_filtergraph};
use mpegs_media::{Frame, FrameInfo, PixelFormat};
mod common;
use common::random_frame;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs `ffmpeg -vf vf` on raw pixels and returns raw pixels in `out_format`.
fn ffmpeg(input: &Frame, vf: &str, out_format: PixelFormat) -> Vec<u8> {
    let mut child = Command::new("ffmpeg")
        .args(["-v", "error", "-f", "rawvideo", "-pix_fmt"])
        .arg(input.format().ffmpeg_name())
        .arg("-s")
        .arg(format!("{}x{}", input.width(), input.height()))
        .args(["-i", "pipe:0", "-vf", vf, "-f", "rawvideo", "-pix_fmt"])
        .arg(out_format.ffmpeg_name())
        .arg("pipe:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ffmpeg must be installed for the oracle tests (apt-get install ffmpeg)");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.data.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "ffmpeg -vf {vf}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn check(vf: &str, input: &Frame) {
    let chain = parse_filtergraph(vf).unwrap();
    let mut ours = input.clone();
    for f in &chain.filters {
        ours = apply(f.as_ref(), &ours).unwrap();
    }
    let theirs = ffmpeg(input, vf, ours.format());
    assert_eq!(
        theirs.len(),
        ours.data.len(),
        "-vf {vf} on {}: size differs",
        input.info
    );
    let diffs = ours
        .data
        .iter()
        .zip(&theirs)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(diffs, 0, "-vf {vf} on {}: {diffs} bytes differ", input.info);
}

fn sizes() -> Vec<(u32, u32)> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(42);
    let mut s = vec![(1, 1), (7, 3), (64, 64), (65, 33)];
    s.extend((0..3).map(|_| (rng.gen_range(2..150), rng.gen_range(2..120))));
    s
}

#[test]
fn permutations_match_ffmpeg() {
    for (i, (w, h)) in sizes().into_iter().enumerate() {
        for format in [PixelFormat::Gray, PixelFormat::Rgb24] {
            let f = random_frame(format, w, h, i as u64);
            for vf in [
                "hflip",
                "vflip",
                "transpose=0",
                "transpose=1",
                "transpose=2",
                "transpose=3",
                "transpose=clock_flip",
            ] {
                check(vf, &f);
            }
        }
    }
}

#[test]
fn crop_matches_ffmpeg_including_defaults_and_clipping() {
    let f = random_frame(PixelFormat::Rgb24, 37, 23, 7);
    for vf in [
        "crop=10:5:3:4",
        "crop=w=36:h=1:x=1:y=22",
        "crop=37:23",
        "crop=20:10",
        "crop=21:11",
        "crop=out_w=4:out_h=4",
        "crop=5:5:100:100",
        "crop=5:5:-4:-2",
        "crop",
    ] {
        check(vf, &f);
    }
    let g = random_frame(PixelFormat::Gray, 30, 17, 8);
    for vf in ["crop=7:3:2:1", "crop=29:16", "crop=1:1:29:16"] {
        check(vf, &g);
    }
}

#[test]
fn pixel_filters_match_ffmpeg() {
    for (i, (w, h)) in sizes().into_iter().enumerate() {
        let rgb = random_frame(PixelFormat::Rgb24, w, h, 100 + i as u64);
        let gray = random_frame(PixelFormat::Gray, w, h, 200 + i as u64);
        for vf in ["format=gray", "format=rgb24", "negate"] {
            check(vf, &rgb);
        }
        for vf in ["format=gray", "negate"] {
            check(vf, &gray);
        }
    }
}

#[test]
fn format_gray_matches_ffmpeg_on_every_colour() {
    // All 2^24 colours in one 4096×4096 frame.
    let data: Vec<u8> = (0u32..1 << 24)
        .flat_map(|c| [(c >> 16) as u8, (c >> 8) as u8, c as u8])
        .collect();
    let f = Frame::new(FrameInfo::new(PixelFormat::Rgb24, 4096, 4096), data).unwrap();
    check("format=gray", &f);
}

#[test]
fn eq_matches_ffmpeg_over_a_parameter_grid() {
    let gray = Frame::new(
        FrameInfo::new(PixelFormat::Gray, 256, 1),
        (0..=255u8).collect(),
    )
    .unwrap();
    let mut cases = vec![];
    for b in [
        -1.0, -0.5, -0.1, -0.05, 0.0, 0.001, 0.1, 0.25, 0.33, 0.7, 1.0,
    ] {
        for c in [-2.0, -0.5, 0.0, 0.3, 0.9, 1.0, 1.01, 1.5, 2.0, 7.5] {
            cases.push(format!("eq=brightness={b}:contrast={c}"));
        }
    }
    for vf in &cases {
        check(vf, &gray);
    }
    check("eq", &gray);
}

#[test]
fn chains_match_ffmpeg() {
    let f = random_frame(PixelFormat::Rgb24, 101, 67, 9);
    for vf in [
        "crop=64:40:10:20,hflip,format=gray",
        "transpose=1,crop=30:50:3:7,vflip",
        "negate,format=gray,eq=brightness=0.2:contrast=1.3,transpose=2",
        "format=gray,negate,hflip,vflip",
    ] {
        check(vf, &f);
    }
}
