//! `mpegs-bench transcode`: the proof-of-transcode numbers in BENCHMARKS.md —
//! constraints per sampled macroblock (SSIM part and openings), committing both
//! videos, key generation, proving `k` samples and verification.
//!
//! Without inputs a pair is generated: a testsrc2 source (libx264 `medium`) and a
//! libx264 rendition of it at `--bitrate`.

use crate::storage::{ffmpeg, testsrc2};
use anyhow::Result;
use clap::Args;
use mpegs_provenance::prove::Progress;
use mpegs_transcode::circuit::{ssim_constraints, Shape, TranscodeCircuit};
use mpegs_transcode::proof::{self, frame_header, Options};
use mpegs_zk::keys::KeyStore;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct TranscodeBench {
    /// Source video; without it one is generated.
    #[arg(long, requires = "rendition")]
    source: Option<PathBuf>,
    /// Rendition video.
    #[arg(long)]
    rendition: Option<PathBuf>,
    #[arg(long, default_value = "1280x720")]
    size: String,
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Bitrate of the generated rendition (testsrc2's sharp edges need a few Mb/s
    /// at 720p for every macroblock to stay above 0.9).
    #[arg(long, default_value = "3M")]
    bitrate: String,
    #[arg(long, default_value_t = 32)]
    samples: u32,
    #[arg(long, default_value_t = 0.9)]
    threshold: f64,
    #[arg(long, default_value_t = 10)]
    verify_runs: u32,
}

/// Records how long each phase of `proof::prove` took.
#[derive(Default)]
struct Timeline {
    phases: Mutex<Vec<(String, Instant, Option<Duration>)>>,
}

impl Progress for Timeline {
    fn phase(&self, label: &str, _total: u64) {
        let mut p = self.phases.lock().expect("lock");
        p.push((label.to_string(), Instant::now(), None));
    }
    fn advance(&self, _n: u64) {}
    fn finish(&self) {
        let mut p = self.phases.lock().expect("lock");
        if let Some(last) = p.last_mut() {
            last.2 = Some(last.1.elapsed());
        }
    }
}

fn generate(args: &TranscodeBench, dir: &Path) -> Result<(PathBuf, PathBuf)> {
    let (w, h) = mpegs_app::input::parse_size(&args.size)?;
    let (src, ren) = (dir.join("source.mp4"), dir.join("rendition.mp4"));
    let s = |p: &Path| p.to_string_lossy().into_owned();
    eprintln!("generating a {w}x{h} {} s pair …", args.seconds);
    testsrc2(w, h, args.seconds, "medium", &src)?;
    ffmpeg(&[
        "-i",
        &s(&src),
        "-c:v",
        "libx264",
        "-b:v",
        &args.bitrate,
        &s(&ren),
    ])?;
    Ok((src, ren))
}

fn constraints(shape: Shape) -> Result<usize> {
    Ok(mpegs_zk::backend::constraints(TranscodeCircuit::blank(
        shape,
    ))?)
}

pub fn run(args: TranscodeBench) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (src, ren) = match (&args.source, &args.rendition) {
        (Some(s), Some(r)) => (s.clone(), r.clone()),
        _ => generate(&args, dir.path())?,
    };
    let store = KeyStore::open(dir.path().join("keys"))?;
    let options = Options {
        threshold: args.threshold,
        samples: args.samples,
        beacon: Some("00".into()),
        seeds: mpegs_transcode::proof::VideoSeeds::random(),
    };
    let timeline = Timeline::default();
    let start = Instant::now();
    let outcome = proof::prove(&src, &ren, &options, &store, &timeline)?;
    let total = start.elapsed();
    let p = &outcome.proof;

    let header = frame_header(p.rendition.width, p.rendition.height)?;
    let shape = |k| Shape {
        header,
        frames: p.rendition.frames as u64,
        k,
    };
    let full = constraints(shape(p.samples.len()))?;
    let one = constraints(shape(1))?;
    let per_sample = constraints(shape(2))? - one;
    let ssim = ssim_constraints()?;

    // The verifier's side: the same beacon and floors the benchmark proved with.
    let policy = proof::Policy {
        beacon: options.beacon.clone(),
        min_samples: args.samples,
        min_threshold: args.threshold,
    };
    let mut times = vec![];
    for _ in 0..args.verify_runs.max(1) {
        let t = Instant::now();
        proof::verify(p, &policy, &store)?;
        times.push(t.elapsed());
    }
    times.sort();

    println!(
        "## Proof of transcode ({}x{}, {} frames, k = {}, threshold {})\n",
        p.rendition.width,
        p.rendition.height,
        p.rendition.frames,
        p.samples.len(),
        p.threshold
    );
    println!("| constraints | per sample | of which SSIM | of which openings (2 videos) and index split | fixed |");
    println!("|---|---|---|---|---|");
    println!(
        "| {full} | {per_sample} | {ssim} | {} | {} |\n",
        per_sample - ssim,
        one - per_sample
    );
    println!("| phase | time |");
    println!("|---|---|");
    for (label, _, d) in timeline.phases.lock().expect("lock").iter() {
        if let Some(d) = d {
            println!("| {label} | {d:.2?} |");
        }
    }
    println!("| whole `transcode prove` | {total:.2?} |");
    println!(
        "| verify (median of {}) | {:.2?} |",
        times.len(),
        times[times.len() / 2]
    );
    println!(
        "\nlowest sampled macroblock SSIM {:.4}; proof {} bytes\n",
        outcome.min_ssim,
        (p.proof.len() - 2) / 2
    );
    Ok(())
}
