//! `mpegs-bench hash`: native hashing outside the circuit (issue 27 §4) —
//! Poseidon permutations per second on 1 and 2 threads, a 720p picture
//! commitment, and the commitment of a 10 s 720p video (decoding included), each
//! beside the previous code (`mpegs_media::reference`: one scalar permutation per
//! call) measured in the same run. Every figure is the median of `--runs`.

use crate::storage::testsrc2;
use anyhow::{ensure, Result};
use ark_bn254::Fr;
use clap::Args;
use mpegs_media::batch::{hash_many, hash_many_scalar, simd_available};
use mpegs_media::{reference, Commitment, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_transcode::video::{commit, Frames, TILE};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Args)]
pub struct HashBench {
    /// Repetitions of every measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Permutations per throughput measurement.
    #[arg(long, default_value_t = 40_000)]
    permutations: usize,
    /// Length of the generated 1280×720 30 fps video (0: skip the video rows).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Commit this video instead of a generated one.
    #[arg(long)]
    video: Option<PathBuf>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// Median seconds of `f` over `runs` runs.
fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut times = vec![];
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        last = Some(f()?);
        times.push(t.elapsed().as_secs_f64());
    }
    Ok((median(times), last.expect("at least one run")))
}

/// Permutations per second of arity N on `threads` threads, batched and scalar.
fn throughput<const N: usize>(args: &HashBench, threads: usize) -> Result<(f64, f64)> {
    let inputs: Vec<[Fr; N]> = (0..args.permutations as u64)
        .map(|i| std::array::from_fn(|j| Fr::from(i * 31 + j as u64)))
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let run = |f: fn(&[[Fr; N]]) -> Vec<Fr>| {
        time(args.runs, || {
            Ok(pool.install(|| inputs.par_chunks(64).flat_map_iter(f).collect::<Vec<Fr>>()))
        })
    };
    let (new_s, new) = run(hash_many::<N>)?;
    let (old_s, old) = run(hash_many_scalar::<N>)?;
    ensure!(new == old, "batched and scalar hashes differ");
    let n = args.permutations as f64;
    Ok((n / new_s, n / old_s))
}

fn random_frame(w: u32, h: u32) -> Result<Frame> {
    let info = FrameInfo::new(PixelFormat::Gray, w, h);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data = (0..info.byte_len())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    Ok(Frame::new(info, data)?)
}

pub fn run(args: HashBench) -> Result<()> {
    println!(
        "## Native hashing ({} threads by default; 8-lane IFMA kernel: {}; load before: {})\n",
        rayon::current_num_threads(),
        if simd_available() { "yes" } else { "no" },
        load()
    );
    println!("| what | new | previous code (same run) | × |");
    println!("|---|---|---|---|");
    for threads in [1, 2] {
        for (arity, (new, old)) in [
            (12, throughput::<12>(&args, threads)?),
            (5, throughput::<5>(&args, threads)?),
            (3, throughput::<3>(&args, threads)?),
        ] {
            println!(
                "| Poseidon({arity}) (width {}), {threads} thread(s) | {:.0} /s | {:.0} /s | {:.1} |",
                arity + 1,
                new,
                old,
                new / old
            );
        }
    }
    let frame = random_frame(1280, 720)?;
    let seed = Seed([7; 32]);
    for tile in [64, 16] {
        let (new_s, c) = time(args.runs, || Ok(Commitment::of_frame(&frame, tile, &seed)?))?;
        let (old_s, v) = time(args.runs, || {
            Ok(reference::frame_value(&frame, tile, &seed, 0)?)
        })?;
        ensure!(c.value == v, "the commitments differ at tile {tile}");
        println!(
            "| 1280×720 gray picture commitment, tile {tile} | {:.1} ms | {:.1} ms | {:.1} |",
            new_s * 1e3,
            old_s * 1e3,
            old_s / new_s
        );
    }
    if args.seconds == 0 && args.video.is_none() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = match &args.video {
        Some(p) => p.clone(),
        None => {
            let p = dir.path().join("video.mp4");
            eprintln!("generating a 1280x720 {} s testsrc2 video …", args.seconds);
            testsrc2(1280, 720, args.seconds, "medium", &p)?;
            p
        }
    };
    let (decode_s, frames) = time(args.runs, || {
        let mut n = 0usize;
        for f in Frames::open(&path, None)? {
            f?;
            n += 1;
        }
        Ok(n)
    })?;
    let (new_s, video) = time(args.runs, || {
        Ok(commit(Frames::open(&path, None)?, &seed, || {})?)
    })?;
    // The previous code: frames read in turn, each committed one permutation per call.
    let (old_s, old) = time(args.runs, || {
        let mut values = vec![];
        for (i, f) in Frames::open(&path, None)?.enumerate() {
            values.push(reference::frame_value(&f?, TILE, &seed, i as u32)?);
        }
        Ok(values)
    })?;
    ensure!(
        video.frames.iter().map(|c| c.value).eq(old.iter().copied()),
        "the frame commitments differ"
    );
    println!(
        "| commit a {frames}-frame 1280×720 video, tile 16, decoding included | {new_s:.1} s ({:.0} ms a frame) | {old_s:.1} s ({:.0} ms a frame) | {:.1} |",
        new_s * 1e3 / frames as f64,
        old_s * 1e3 / frames as f64,
        old_s / new_s
    );
    println!("| decoding alone (ffmpeg, luma planes read) | {decode_s:.1} s | | |");
    println!("\nload after: {}", load());
    Ok(())
}
