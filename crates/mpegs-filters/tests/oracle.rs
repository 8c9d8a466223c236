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
    check_against(vf, vf, input);
}

/// Compares our `vf` with ffmpeg running `theirs` (for filters whose ffmpeg spelling
/// differs, like a watermark that is a second input there).
fn check_against(vf: &str, theirs_vf: &str, input: &Frame) {
    let chain = parse_filtergraph(vf).unwrap();
    let mut ours = input.clone();
    for f in &chain.filters {
        ours = apply(f.as_ref(), &ours).unwrap();
    }
    let theirs = ffmpeg(input, theirs_vf, ours.format());
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

#[test]
fn scale_matches_swscale_at_integer_and_odd_ratios() {
    let cases = [
        (48, 24, "24:12"),   // exactly 1/2
        (64, 32, "16:8"),    // exactly 1/4
        (45, 27, "15:9"),    // 1/3
        (37, 23, "12:7"),    // odd, non-integer
        (40, 30, "32:17"),   // mild downscale
        (20, 16, "30:24"),   // upscale
        (17, 13, "17:6"),    // one dimension only
        (66, 40, "iw/2:-1"), // expressions and keep-aspect
        (66, 40, "-2:ih/4"),
    ];
    for (i, (w, h, size)) in cases.into_iter().enumerate() {
        let f = random_frame(PixelFormat::Gray, w, h, 100 + i as u64);
        for flags in ["neighbor", "area+accurate_rnd", "bilinear+accurate_rnd"] {
            check(&format!("scale={size}:flags={flags}"), &f);
        }
    }
    // neighbor is exact with and without accurate_rnd.
    let f = random_frame(PixelFormat::Gray, 33, 21, 7);
    check("scale=11:7:flags=neighbor+accurate_rnd", &f);
}

#[test]
fn boxblur_matches_ffmpeg_with_mirrored_edges() {
    for (i, (w, h)) in [(13, 9), (20, 17), (65, 33)].into_iter().enumerate() {
        for format in [PixelFormat::Gray, PixelFormat::Rgb24] {
            let f = random_frame(format, w, h, 200 + i as u64);
            for vf in [
                "boxblur",
                "boxblur=1:1",
                "boxblur=luma_radius=3:luma_power=1",
                "boxblur=4:3",
                "boxblur=2:0",
            ] {
                check(vf, &f);
            }
        }
    }
}

#[test]
fn boxblur_matches_ffmpeg_at_the_largest_radius_a_frame_allows() {
    // 2r = side − 1: the window covers the whole line, mirrored at both ends.
    for (format, w, h, vf) in [
        (PixelFormat::Gray, 11, 14, "boxblur=5:1"),
        (PixelFormat::Rgb24, 16, 9, "boxblur=4:3"),
        (PixelFormat::Gray, 9, 9, "boxblur=4:8"),
    ] {
        check(vf, &random_frame(format, w, h, 240));
    }
    // At 2r = side ffmpeg reads past the end of each line; mpegs refuses it.
    let f = &parse_filtergraph("boxblur=5:1").unwrap().filters[0];
    let e = apply(f.as_ref(), &random_frame(PixelFormat::Gray, 10, 10, 241)).unwrap_err();
    assert!(e.to_string().contains("must be <= 4"), "{e}");
}

#[test]
fn boxblur_matches_ffmpeg_at_large_radii_and_is_refused_where_ffmpeg_wraps() {
    let white = |w: u32, h: u32| {
        Frame::new(
            FrameInfo::new(PixelFormat::Gray, w, h),
            vec![255; (w * h) as usize],
        )
    };
    // r = 176 is the last radius before the first one that wraps: a window of 255s
    // comes to 255.97 there, and must still give 255.
    check("boxblur=176:1", &white(353, 353).unwrap());
    // r = 186 lies between wrapping radii (185 and 195) and does not wrap.
    check(
        "boxblur=186:1",
        &random_frame(PixelFormat::Gray, 373, 373, 250),
    );
    // At r = 177 ffmpeg stores the 256 wrapped: a white frame turns black, which
    // no output byte of mpegs may reproduce, so the radius is refused.
    let input = white(360, 360).unwrap();
    assert!(ffmpeg(&input, "boxblur=177:1", PixelFormat::Gray)
        .iter()
        .all(|v| *v == 0));
    let e = parse_filtergraph("boxblur=177:1").unwrap_err().to_string();
    assert!(e.contains("luma_radius"), "{e}");
}

#[test]
fn pad_matches_ffmpeg_including_colours_and_centring() {
    for format in [PixelFormat::Gray, PixelFormat::Rgb24] {
        let f = random_frame(format, 21, 13, 300);
        for vf in [
            "pad=30:20:3:4",
            "pad=w=iw+10:h=ih+3:x=-1:y=-1:color=white",
            "pad=0:ih+6:-1:-1:color=0x336699",
            "pad=iw+4:ih:9:0:color=red",
            "pad=32:16:color=#1c10fc",
            "pad",
        ] {
            check(vf, &f);
        }
    }
    // Limited-range gray for many colours.
    let g = random_frame(PixelFormat::Gray, 3, 2, 301);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(302);
    for _ in 0..40 {
        let c: u32 = rng.gen_range(0..1 << 24);
        check(&format!("pad=4:2:0:0:color=0x{c:06x}"), &g);
    }
}

#[test]
fn drawbox_matches_ffmpeg_fill_and_outline() {
    for format in [PixelFormat::Gray, PixelFormat::Rgb24] {
        let f = random_frame(format, 29, 19, 400);
        for vf in [
            "drawbox=3:4:10:6:color=black:t=fill",
            "drawbox=x=-3:y=12:w=10:h=20:c=0x336699:t=fill",
            "drawbox=20:2:30:5:white:fill",
            "drawbox=2:2:12:9:red:t=2",
            "drawbox=2:2:12:9:blue",
            "drawbox=0:0:0:0:yellow:t=1",
        ] {
            check(vf, &f);
        }
    }
    let g = random_frame(PixelFormat::Gray, 3, 2, 401);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(402);
    for _ in 0..40 {
        let c: u32 = rng.gen_range(0..1 << 24);
        check(&format!("drawbox=0:0:2:1:color=0x{c:06x}:t=fill"), &g);
    }
}

#[test]
fn lut_and_lutrgb_match_ffmpeg_on_every_value() {
    // A 16x16 gray ramp holds every byte value once.
    let ramp = Frame::new(
        FrameInfo::new(PixelFormat::Gray, 16, 16),
        (0..=255u8).collect(),
    )
    .unwrap();
    for vf in [
        "lut=c0=negval",
        "lut=val*2",
        "lut=y=val/3+7.9",
        "lut=c0=(val-128)*1.5+128",
    ] {
        check(vf, &ramp);
    }
    let rgb_ramp = Frame::new(
        FrameInfo::new(PixelFormat::Rgb24, 16, 16),
        (0..=255u8).flat_map(|v| [v, 255 - v, v / 2]).collect(),
    )
    .unwrap();
    for vf in [
        "lutrgb=r=negval:g=val*0.7:b=maxval-val/2",
        "lutrgb=g=negval",
        "lutrgb=r=floor(val/32)*32",
    ] {
        check(vf, &rgb_ramp);
    }
}

#[test]
fn chains_mixing_old_and_new_filters_match_ffmpeg() {
    let f = random_frame(PixelFormat::Rgb24, 53, 37, 500);
    for vf in [
        "crop=48:32:2:3,format=gray,scale=24:16:flags=area+accurate_rnd,pad=32:20:4:2:white",
        "drawbox=5:5:10:8:black:t=fill,hflip,boxblur=1:2",
        "format=gray,lut=negval,scale=-2:12:flags=bilinear+accurate_rnd,transpose=1",
        "lutrgb=r=val/2,pad=iw+6:ih+6:-1:-1:0x102030,format=gray,eq=brightness=0.1",
    ] {
        check(vf, &f);
    }
}

#[test]
fn overlay_matches_ffmpeg_with_a_png_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.png");
    mpegs_media::save_png_atomic(&random_frame(PixelFormat::Rgb24, 9, 6, 600), &logo).unwrap();
    let path = logo.display();
    let f = random_frame(PixelFormat::Rgb24, 31, 19, 601);
    for (x, y) in [("3", "4"), ("-2", "15"), ("W-w", "H-h"), ("25", "-3")] {
        check_against(
            &format!("overlay=x={x}:y={y}:format=rgb:file={path}"),
            &format!("movie={path}[wm];[in][wm]overlay=x={x}:y={y}:format=rgb"),
            &f,
        );
    }
    // In a chain with other filters.
    check_against(
        &format!("hflip,overlay=2:2:format=auto:file={path},format=gray,scale=15:9:flags=area+accurate_rnd"),
        &format!("hflip[m];movie={path}[wm];[m][wm]overlay=2:2:format=auto,format=gray,scale=15:9:flags=area+accurate_rnd"),
        &f,
    );
}
