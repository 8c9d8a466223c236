//! Clip generation for the tests: the real ffmpeg CLI, small synthetic inputs.
#![allow(dead_code)]
use std::path::Path;
use std::process::Command;

/// Runs ffmpeg and returns its stdout; panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) -> String {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

/// Encodes a lavfi test source (e.g. `testsrc2=size=128x96:rate=30:duration=0.4`)
/// with libx264 and the given extra options.
pub fn synthesize(source: &str, output: &Path, options: &[&str]) {
    let mut args = vec![
        "-f", "lavfi", "-i", source, "-c:v", "libx264", "-threads", "1",
    ];
    args.extend_from_slice(options);
    args.extend_from_slice(&["-pix_fmt", "yuv420p", s(output)]);
    ffmpeg(&args);
}

/// Re-encodes `input` with libx264 and the given extra options (filters, rate).
pub fn reencode(input: &Path, output: &Path, options: &[&str]) {
    let mut args = vec!["-i", s(input), "-c:v", "libx264", "-threads", "1"];
    args.extend_from_slice(options);
    args.push(s(output));
    ffmpeg(&args);
}
