//! Native SSIM against the real ffmpeg: `-lavfi ssim` per-frame `Y:` values, on
//! same-size pairs and on a downscaled source (our exact `scale` on one side of
//! both graphs).
use mpegs_transcode::ssim::frame_ssim;
use mpegs_transcode::video::{reference_scale, Frames};
use std::path::Path;

mod common;
use common::{ffmpeg, reencode, synthesize};

fn clip(path: &Path, source: &str, size: &str, bitrate: &str) {
    let spec = format!("{source}=size={size}:rate=30:duration=0.5");
    synthesize(&spec, path, &["-b:v", bitrate]);
}

/// ffmpeg's per-frame Y values for (main, reference), with `scale` on main.
fn ffmpeg_ssim(main: &Path, reference: &Path, scale: Option<&str>) -> Vec<String> {
    let main_chain = match scale {
        Some(s) => format!("extractplanes=y,{s}"),
        None => "extractplanes=y".into(),
    };
    let graph = format!("[0:v]{main_chain}[a];[1:v]extractplanes=y[b];[a][b]ssim=stats_file=-");
    let out = ffmpeg(&[
        "-i",
        main.to_str().unwrap(),
        "-i",
        reference.to_str().unwrap(),
        "-lavfi",
        &graph,
        "-f",
        "null",
        "-",
    ]);
    out.lines()
        .map(|l| {
            l.split_whitespace()
                .find_map(|t| t.strip_prefix("Y:"))
                .expect("a Y: value per line")
                .to_string()
        })
        .collect()
}

fn ours(main: &Path, reference: &Path, size: Option<(u32, u32)>) -> Vec<String> {
    let a: Vec<_> = Frames::open(main, size)
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    let b: Vec<_> = Frames::open(reference, None)
        .unwrap()
        .map(|f| f.unwrap())
        .collect();
    a.iter()
        .zip(&b)
        .map(|(a, b)| {
            let (w, h) = (a.info.width as usize, a.info.height as usize);
            format!("{:.6}", frame_ssim(&a.data, &b.data, w, h))
        })
        .collect()
}

#[test]
fn native_ssim_prints_what_ffmpeg_prints() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name);
    let (src, good, bad, other) = (
        path("src.mp4"),
        path("good.mp4"),
        path("bad.mp4"),
        path("o.mp4"),
    );
    clip(&src, "testsrc2", "176x100", "2M");
    reencode(&src, &good, &["-b:v", "300k"]);
    reencode(&src, &bad, &["-b:v", "20k"]);
    clip(&other, "testsrc", "176x100", "1M");
    for rendition in [&good, &bad, &other] {
        let theirs = ffmpeg_ssim(&src, rendition, None);
        assert_eq!(theirs.len(), 15);
        assert_eq!(
            ours(&src, rendition, None),
            theirs,
            "{}",
            rendition.display()
        );
    }
}

#[test]
fn native_ssim_matches_after_the_exact_downscale() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.mp4");
    let small = dir.path().join("small.mp4");
    clip(&src, "testsrc2", "192x128", "2M");
    reencode(&src, &small, &["-vf", "scale=96:64", "-b:v", "200k"]);
    let theirs = ffmpeg_ssim(&src, &small, Some(&reference_scale(96, 64)));
    assert_eq!(ours(&src, &small, Some((96, 64))), theirs);
}
