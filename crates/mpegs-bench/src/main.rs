//! `mpegs-bench`: the numbers in BENCHMARKS.md
//! (`cargo run --release -p mpegs-bench -- <what>`, or `target/release/mpegs-bench`).
//!
//! - `constraints`: constraints per input/output byte and per output pixel of every
//!   filter on an interior tile, split into range checks, hashing and filter
//!   arithmetic; the redundancy of windowed filters (input tiles opened per input
//!   tile over a whole 720p frame); with `--prove`, key generation and proving time
//!   of that tile.
//! - `edit`: the whole pipeline on a random image — key generation, proving (per tile
//!   and total), peak memory, and verification (commitment recomputation and proofs).
//! - `storage`: proof of storage (see `storage`).
//! - `transcode`: proof of transcode (see `transcode`).
//! - `chain`: on-chain gas (see `chain`).
//! - `hash`: native Poseidon and commitment throughput (see `hash`).
//!
//! Exit codes: 0 ok, 2 bad input or a failed measurement.

mod chain;
mod hash;
mod service;
mod storage;
mod transcode;

use anyhow::Result;
use clap::{Parser, Subcommand};
use mpegs_app::progress::Bars;
use mpegs_app::DEFAULT_TILE;
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::parse_filtergraph;
use mpegs_filters::plan::Step;
use mpegs_media::{Commitment, Frame, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover};
use mpegs_provenance::verify::verify_media;
use mpegs_zk::keys::KeyStore;
use mpegs_zk::RangeMode;
use serde_json::json;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "mpegs-bench",
    version,
    about = "Measure constraints, proving, verification and gas (see BENCHMARKS.md)."
)]
struct Cli {
    /// Hide progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Subcommand)]
enum BenchWhat {
    /// Constraint counts per filter (fast, no proving).
    Constraints {
        #[arg(long, default_value_t = DEFAULT_TILE)]
        tile: u32,
        /// Also generate keys for and prove one interior tile per filter (slow).
        #[arg(long)]
        prove: bool,
        /// Only filters whose chain contains this text.
        #[arg(long)]
        only: Option<String>,
    },
    /// Attest, prove and verify a chain on a random image of the given size.
    Edit {
        #[arg(long, default_value = "1280x720")]
        size: String,
        #[arg(long, default_value = "format=gray")]
        vf: String,
        #[arg(long, default_value_t = DEFAULT_TILE)]
        tile: u32,
        /// Pixel format of the random input image.
        #[arg(long, default_value = "rgb24")]
        format: String,
        /// Verification repetitions (the median is reported).
        #[arg(long, default_value_t = 5)]
        verify_runs: usize,
        /// Keep the edited picture (`out.png`), its bundle (`out.png.mpegs.json`)
        /// and the key set (`keys.json`, as `GET /v1/keys` serves it) in this
        /// folder, e.g. for the browser benchmark (`web/tests/browser.mjs bench`).
        #[arg(long)]
        keep: Option<std::path::PathBuf>,
    },
    /// Proof of storage: segment decode + pHash + tree, the epoch proof, pHash robustness.
    Storage(crate::storage::StorageBench),
    /// Proof of transcode: constraints per sample, commit, key generation, prove, verify.
    Transcode(crate::transcode::TranscodeBench),
    /// On-chain gas: verification per circuit vs the EIP-1108 floor, deployments,
    /// registry and escrow operations (embedded revm).
    Chain(crate::chain::ChainBench),
    /// The prover service: tile proofs/s with 1 and 2 workers vs the CLI alone,
    /// API latency under concurrent clients.
    Service(crate::service::ServiceBench),
    /// Native hashing: Poseidon permutations/s (1 and 2 threads), a 720p picture
    /// and a 10 s 720p video commitment, against the previous code.
    Hash(crate::hash::HashBench),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let bars = Bars::new(cli.quiet);
    match run(cli.what, &bars) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(what: BenchWhat, bars: &Bars) -> Result<()> {
    match what {
        BenchWhat::Constraints { tile, prove, only } => constraints(tile, prove, only.as_deref()),
        BenchWhat::Edit {
            size,
            vf,
            tile,
            format,
            verify_runs,
            keep,
        } => {
            let format = format.parse::<PixelFormat>().map_err(anyhow::Error::msg)?;
            let run = EditRun {
                size: &size,
                vf: &vf,
                tile,
                format,
                verify_runs,
                keep: keep.as_deref(),
            };
            edit(&run, bars)
        }
        BenchWhat::Storage(args) => crate::storage::run(args),
        BenchWhat::Transcode(args) => crate::transcode::run(args),
        BenchWhat::Chain(args) => crate::chain::run(args),
        BenchWhat::Service(args) => crate::service::run(args),
        BenchWhat::Hash(args) => crate::hash::run(args),
    }
}

fn constraints(tile: u32, prove: bool, only: Option<&str>) -> Result<()> {
    let cases = [
        ("crop=640:360:10:20", PixelFormat::Rgb24),
        ("crop=640:360:64:64", PixelFormat::Rgb24),
        ("hflip", PixelFormat::Rgb24),
        ("vflip", PixelFormat::Rgb24),
        ("transpose=1", PixelFormat::Rgb24),
        ("format=gray", PixelFormat::Rgb24),
        ("negate", PixelFormat::Rgb24),
        ("negate", PixelFormat::Gray),
        ("eq=brightness=0.1:contrast=1.2", PixelFormat::Gray),
        ("lut=val*1.5", PixelFormat::Gray),
        ("lutrgb=r=negval:g=val*0.7:b=val/2", PixelFormat::Rgb24),
        ("pad=1300:740:10:10:white", PixelFormat::Rgb24),
        ("pad=1344:784:32:32:white", PixelFormat::Rgb24),
        ("drawbox=100:100:200:150:black:t=fill", PixelFormat::Rgb24),
        ("scale=640:360:flags=neighbor", PixelFormat::Gray),
        ("scale=640:360:flags=area+accurate_rnd", PixelFormat::Gray),
        (
            "scale=640:360:flags=bilinear+accurate_rnd",
            PixelFormat::Gray,
        ),
        ("scale=320:180:flags=area+accurate_rnd", PixelFormat::Gray),
        ("scale=426:240:flags=area+accurate_rnd", PixelFormat::Gray),
        ("boxblur=2:2", PixelFormat::Gray),
        ("boxblur=2:2", PixelFormat::Rgb24),
        ("boxblur=1:1", PixelFormat::Gray),
    ];
    let mut rows = Vec::new();
    for (vf, format) in cases {
        if only.is_some_and(|o| !vf.contains(o)) {
            continue;
        }
        let chain = parse_filtergraph(vf)?;
        let header = MediaHeader::new(FrameInfo::new(format, 1280, 720), tile)?;
        let step = Step::new(chain.filters[0].as_ref(), header)?;
        // An interior tile: the most common shape.
        let plan = step.plan_tile(1, 1);
        let blank = TileCircuit::blank(&step, &plan);
        let new = blank.breakdown_in(RangeMode::Lookup)?;
        let old = blank.breakdown_in(RangeMode::Bits)?;
        let in_bytes = plan.window.len() * header.tile_bytes();
        let out_pixels = (step.output.tile * step.output.tile) as usize;
        // Input tiles opened over the whole frame, per input tile.
        let opened: usize = step.plans().iter().map(|p| p.window.len()).sum();
        let redundancy = opened as f64 / header.tile_count() as f64;
        let times = if prove {
            Some(time_tile(&step, &plan)?)
        } else {
            None
        };
        rows.push((
            vf,
            format,
            plan.window.len(),
            in_bytes,
            out_pixels,
            redundancy,
            new,
            old,
            times,
        ));
    }
    for (title, pick) in [
        ("lookups (circuit version 4, the default)", 0),
        ("bit decomposition (the previous backend, same run)", 1),
    ] {
        println!("### {title}\n");
        print!("| filter | input | window tiles | constraints | per input byte | per output pixel | range checks | hashing | filter arithmetic | redundancy |");
        println!("{}", if prove { " key gen | prove |" } else { "" });
        print!("|---|---|---|---|---|---|---|---|---|---|");
        println!("{}", if prove { "---|---|" } else { "" });
        for (vf, format, window, in_bytes, out_pixels, redundancy, new, old, times) in &rows {
            let parts = if pick == 0 { new } else { old };
            print!(
                "| {vf} | {} | {} | {} | {:.2} | {:.1} | {} | {} | {} | {:.2} |",
                format,
                window,
                parts.total,
                parts.total as f64 / *in_bytes as f64,
                parts.total as f64 / *out_pixels as f64,
                parts.range_checks,
                parts.hashing,
                parts.filter,
                redundancy,
            );
            if let Some(t) = times {
                let (setup_s, prove_s) = if pick == 0 { t.new } else { t.old };
                print!(" {setup_s:.1} s | {prove_s:.2} s |");
            }
            println!();
        }
        println!();
    }
    println!("### old against new (FFT domain: constraints plus one row per instance variable, rounded up to a power of two)\n");
    print!("| filter | input | bits | lookups | × fewer | domain (bits → lookups) |");
    println!(
        "{}",
        if prove {
            " prove (bits → lookups) | × faster |"
        } else {
            ""
        }
    );
    print!("|---|---|---|---|---|---|");
    println!("{}", if prove { "---|---|" } else { "" });
    for (vf, format, .., new, old, times) in &rows {
        print!(
            "| {vf} | {format} | {} | {} | {:.1} | 2^{} → 2^{} |",
            old.total,
            new.total,
            old.total as f64 / new.total as f64,
            old.domain.trailing_zeros(),
            new.domain.trailing_zeros(),
        );
        if let Some(t) = times {
            print!(
                " {:.2} s → {:.2} s | {:.1} |",
                t.old.1,
                t.new.1,
                t.old.1 / t.new.1
            );
        }
        println!();
    }
    Ok(())
}

/// Key generation and proving seconds of one tile, with each backend.
struct TileTimes {
    new: (f64, f64),
    old: (f64, f64),
}

/// Key generation and one proof of `plan`'s tile with an honest witness, with the
/// lookup backend and with the previous one (seconds).
fn time_tile(step: &Step, plan: &mpegs_filters::plan::TilePlan) -> Result<TileTimes> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
    let info = step.input.info();
    let data = (0..info.byte_len()).map(|_| rng.gen()).collect();
    let frame = Frame::new(info, data)?;
    let output = mpegs_filters::apply(step.filter, &frame)?;
    let c_in = Commitment::of_frame(&frame, step.input.tile, &Seed::random())?;
    let c_out = Commitment::of_frame(&output, step.output.tile, &Seed::random())?;
    let honest = || TileCircuit::new(step, plan, &frame, &c_in, &c_out);
    let t = Instant::now();
    let (pk, vk) = mpegs_zk::backend::setup(TileCircuit::blank(step, plan), &mut rng)?;
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let proof = mpegs_zk::backend::prove(&pk, honest(), &mut rng)?;
    let new = (setup_s, t.elapsed().as_secs_f64());
    let public = mpegs_filters::plan::public_inputs(c_in.value, c_out.value, plan);
    anyhow::ensure!(
        mpegs_zk::backend::verify(&mpegs_zk::backend::prepare(&vk), &public, &proof)?,
        "the measured proof does not verify"
    );
    drop(pk);
    let t = Instant::now();
    let pk = mpegs_zk::legacy::setup(TileCircuit::blank(step, plan), &mut rng)?;
    let setup_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    mpegs_zk::legacy::prove(&pk, honest(), &mut rng)?;
    Ok(TileTimes {
        new,
        old: (setup_s, t.elapsed().as_secs_f64()),
    })
}

/// Peak resident memory of this process so far, in MiB (Linux).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// What `mpegs-bench edit` measures.
struct EditRun<'a> {
    size: &'a str,
    vf: &'a str,
    tile: u32,
    format: PixelFormat,
    verify_runs: usize,
    keep: Option<&'a std::path::Path>,
}

fn edit(run: &EditRun, bars: &Bars) -> Result<()> {
    let (size, vf, tile, format) = (run.size, run.vf, run.tile, run.format);
    let (w, h) = mpegs_app::input::parse_size(size)?;
    let info = FrameInfo::new(format, w, h);
    // Deterministic pseudo-random pixels (xorshift), so runs are comparable.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let data = (0..info.byte_len())
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let frame = Frame::new(info, data)?;
    let dir = tempfile::tempdir()?;
    let store = KeyStore::open(dir.path().join("keys"))?;
    let chain = parse_filtergraph(vf)?;
    let prover = Prover {
        store: &store,
        progress: bars,
        entropy: &mpegs_provenance::prove::OsEntropy,
    };

    let t = Instant::now();
    let seed = Seed::random();
    let attested = attest(&frame, &DeviceKey::generate(), tile, &seed, "bench", 0)?;
    let attest_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let keys = prover.setup_chain(&chain, MediaHeader::new(info, tile)?)?;
    let setup_s = t.elapsed().as_secs_f64();

    let t = Instant::now();
    let (edited, bundle) = prover.edit(&frame, attested, &seed, &chain)?;
    let prove_s = t.elapsed().as_secs_f64();
    let tiles: usize = bundle
        .edit
        .as_ref()
        .map_or(0, |e| e.steps.iter().map(|s| s.tiles.len()).sum());
    let peak = peak_mib();

    let mut verify_ms = vec![];
    let mut commit_ms = vec![];
    for _ in 0..run.verify_runs.max(1) {
        let t = Instant::now();
        let report = verify_media(&edited, &bundle, &store);
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
        anyhow::ensure!(
            report.valid,
            "benchmark bundle did not verify: {:?}",
            report.reason
        );
        let t = Instant::now();
        Commitment::of_frame(&edited, tile, &seed)?;
        commit_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        v[v.len() / 2]
    };
    let (verify_med, commit_med) = (median(&mut verify_ms), median(&mut commit_ms));
    let bundle_bytes = serde_json::to_vec(&bundle)?.len();
    if let Some(dir) = run.keep {
        keep_edit(dir, &edited, &bundle, &store)?;
    }
    let summary = json!({
        "size": size, "format": format, "vf": vf, "tile": tile,
        "threads": rayon::current_num_threads(),
        "circuits": keys.len(),
        "attest_s": attest_s,
        "setup_s": setup_s,
        "prove_s": prove_s,
        "tiles": tiles,
        "prove_s_per_tile": prove_s / tiles as f64,
        "peak_mib": peak,
        "verify_ms": verify_med,
        "verify_commitment_ms": commit_med,
        "verify_proofs_and_chain_ms": verify_med - commit_med,
        "bundle_bytes": bundle_bytes,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

/// Writes the edited picture, its bundle and the key set into `dir`.
fn keep_edit(
    dir: &std::path::Path,
    edited: &Frame,
    bundle: &mpegs_provenance::Bundle,
    store: &KeyStore,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("out.png"), mpegs_media::encode_png(edited)?)?;
    bundle.save(&dir.join("out.png.mpegs.json"))?;
    let keys = mpegs_zk::keys::KeySetJson::from_store(store)?;
    std::fs::write(dir.join("keys.json"), serde_json::to_vec(&keys)?)?;
    eprintln!(
        "kept out.png, its bundle and keys.json in {}",
        dir.display()
    );
    Ok(())
}
