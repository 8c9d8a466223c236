//! `mpegs-bench storage`: the proof-of-storage numbers in BENCHMARKS.md.
//!
//! - the worker's per-epoch work on a segment: decode + pHash of one region in
//!   every plane of every frame + the Poseidon tree;
//! - the k-opening inclusion circuit: constraints (split per tree layer and per
//!   leaf, beside the Pedersen/Jubjub Merkle path of the seed design), key
//!   generation, proving, verification and proof size;
//! - the pHash robustness table: Hamming distances between a frame and its
//!   re-encode at lower bitrates, and between different frames of the segment.
//!
//! Without `--input` the segment is generated with ffmpeg (testsrc2, libx264), so
//! the numbers are reproducible on any machine with ffmpeg.

use anyhow::{bail, ensure, Context, Result};
use ark_bn254::Fr;
use clap::Args;
use mpegs_storage::circuit::InclusionCircuit;
use mpegs_storage::epoch::region_side;
use mpegs_storage::phash::{hamming, Region};
use mpegs_storage::planes::{frame_hash, FrameHash, PlaneFrames};
use mpegs_storage::tree::SegmentTree;
use mpegs_zk::backend;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Constraints of one Sapling Merkle layer (Pedersen hash over Jubjub), counted
/// from zcash/sapling-crypto's gadgets: `test_pedersen_hash_constraints` in
/// `src/circuit/pedersen_hash.rs` asserts 1,377 constraints for a 510-bit input,
/// of which 510 are the inputs' booleanity, so the hash itself is 867. Each layer
/// of the spend circuit's path (`src/circuit/sapling/mod.rs`) adds the position
/// bit (1), `AllocatedNum::conditionally_reverse` (2) and the two children's
/// non-strict `into_bits_le` (2 × 256).
const PEDERSEN_LAYER: usize = 867 + 1 + 2 + 2 * 256;

#[derive(Args)]
pub struct StorageBench {
    /// Segment to measure; without it one is generated (testsrc2, libx264).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Size of the generated segment.
    #[arg(long, default_value = "1920x1080")]
    size: String,
    /// Length of the generated segment (30 fps).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// libx264 preset of the generated segment.
    #[arg(long, default_value = "medium")]
    preset: String,
    /// Challenged frames per epoch proof.
    #[arg(short, long, default_value_t = 4)]
    k: u32,
    /// Re-encode bitrates for the robustness table, comma-separated; "none" skips it.
    #[arg(long, default_value = "2M,500k,150k", value_delimiter = ',')]
    bitrates: Vec<String>,
    /// Verification repetitions (the median is reported).
    #[arg(long, default_value_t = 20)]
    verify_runs: u32,
}

pub fn run(args: StorageBench) -> Result<()> {
    ensure!(args.k >= 1, "k must be at least 1");
    let dir = tempfile::tempdir()?;
    let segment = match &args.input {
        Some(path) => path.clone(),
        None => generate(&args, dir.path())?,
    };

    let hashed = hash_segment(&segment, None)?;
    let frames = hashed.hashes.len();
    ensure!(
        args.k as usize <= frames,
        "k = {} exceeds the segment's {frames} frames",
        args.k
    );
    let t = Instant::now();
    let tree = SegmentTree::new(hashed.hashes.clone());
    let tree_time = t.elapsed();
    println!("## Worker's epoch work ({})\n", segment.display());
    println!(
        "| segment | frames | region | decode + pHash | pHash only | per frame | tree | total |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {}x{} | {frames} | {} | {:.2?} | {:.2?} | {:.2?} | {:.2?} | {:.2?} |\n",
        hashed.width,
        hashed.height,
        hashed.region,
        hashed.decode_and_hash,
        hashed.hash_only,
        hashed.hash_only / frames as u32,
        tree_time,
        hashed.decode_and_hash + tree_time
    );

    circuit_numbers(&tree, args.k as usize, args.verify_runs.max(1))?;

    let bitrates: Vec<&String> = args.bitrates.iter().filter(|b| *b != "none").collect();
    if !bitrates.is_empty() {
        robustness(&segment, &hashed, &bitrates, dir.path())?;
    }
    Ok(())
}

/// Encodes the synthetic segment the benchmark measures.
fn generate(args: &StorageBench, dir: &Path) -> Result<PathBuf> {
    let (w, h) = mpegs_app::input::parse_size(&args.size)?;
    ensure!(args.seconds >= 1, "seconds must be at least 1");
    let out = dir.join("segment.mp4");
    eprintln!(
        "generating a {w}x{h} {} s testsrc2 segment (libx264 preset {}) …",
        args.seconds, args.preset
    );
    let t = Instant::now();
    testsrc2(w, h, args.seconds, &args.preset, &out)?;
    eprintln!("generated in {:.1?}", t.elapsed());
    Ok(out)
}

/// Encodes `seconds` of 30 fps testsrc2 at `w × h` with libx264 `preset`.
pub(crate) fn testsrc2(w: u32, h: u32, seconds: u32, preset: &str, out: &Path) -> Result<()> {
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size={w}x{h}:rate=30:duration={seconds}"),
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-pix_fmt",
        "yuv420p",
        path_str(out)?,
    ])
}

/// Every frame's pHash of one region, with the time spent.
struct Hashed {
    width: u32,
    height: u32,
    region: Region,
    hashes: Vec<FrameHash>,
    decode_and_hash: Duration,
    hash_only: Duration,
}

/// Decodes `path` and hashes `region` (default: the centred region of the side
/// registration picks) in every frame.
fn hash_segment(path: &Path, region: Option<Region>) -> Result<Hashed> {
    let start = Instant::now();
    let frames = PlaneFrames::open(path)?;
    let (width, height, format) = (frames.width, frames.height, frames.format);
    let region = match region {
        Some(r) => r,
        None => {
            let size = region_side(format, width, height)?;
            // Centred, rounded down to even coordinates (the chroma grid).
            Region {
                x: (width - size) / 4 * 2,
                y: (height - size) / 4 * 2,
                size,
            }
        }
    };
    format.validate_region(region, width, height)?;
    let mut hashes = Vec::new();
    let mut hash_only = Duration::ZERO;
    for frame in frames {
        let frame = frame?;
        let t = Instant::now();
        hashes.push(frame_hash(&frame, format, width, height, region)?);
        hash_only += t.elapsed();
    }
    if hashes.is_empty() {
        bail!("{} has no frames", path.display());
    }
    Ok(Hashed {
        width,
        height,
        region,
        hashes,
        decode_and_hash: start.elapsed(),
        hash_only,
    })
}

fn constraints(k: usize, depth: usize) -> Result<usize> {
    Ok(mpegs_zk::backend::constraints(InclusionCircuit::blank(
        k, depth,
    ))?)
}

/// Constraint split, key generation, proving and verification of one epoch proof.
fn circuit_numbers(tree: &SegmentTree, k: usize, verify_runs: u32) -> Result<()> {
    let depth = tree.depth();
    let total = constraints(k, depth)?;
    let one = constraints(1, depth)?;
    let layer = constraints(1, depth + 1)? - one;
    let per_opening = constraints(2, depth)? - one;
    let leaf = per_opening - depth * layer;
    let fixed = one - per_opening;
    let pedersen_path = depth * PEDERSEN_LAYER;

    let frames = tree.frames() as u32;
    let indices: Vec<u32> = (0..k as u32).map(|i| i * frames / k as u32).collect();
    let nonce = Fr::from(0x5eed_u64);
    let circuit = InclusionCircuit {
        root: tree.root(),
        nonce,
        depth,
        openings: indices
            .iter()
            .map(|i| tree.open(*i).context("index within the tree"))
            .collect::<Result<_>>()?,
    };
    let mut rng = <rand_chacha::ChaCha20Rng as rand::SeedableRng>::seed_from_u64(7);
    let t = Instant::now();
    let (pk, vk) = backend::setup(InclusionCircuit::blank(k, depth), &mut rng)?;
    let setup = t.elapsed();
    let t = Instant::now();
    let proof = backend::prove(&pk, circuit, &mut rng)?;
    let prove = t.elapsed();
    let pvk = backend::prepare(&vk);
    let public = InclusionCircuit::public_inputs(tree.root(), nonce, &indices);
    let mut times = Vec::new();
    for _ in 0..verify_runs {
        let t = Instant::now();
        ensure!(
            backend::verify(&pvk, &public, &proof)?,
            "the benchmark proof did not verify"
        );
        times.push(t.elapsed());
    }
    times.sort();
    let verify = times[times.len() / 2];
    let bytes = backend::proof_to_bytes(&proof).len();

    println!("## Epoch proof (k = {k}, depth {depth})\n");
    println!("| constraints | per opening | per tree layer | leaf hash | fixed | key gen | prove | verify (median) | proof |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| {total} | {per_opening} | {layer} | {leaf} | {fixed} | {setup:.2?} | {prove:.2?} | {verify:.2?} | {bytes} B |\n"
    );
    println!("## Merkle path of depth {depth}: Poseidon (BN254) vs Pedersen (Jubjub)\n");
    println!("| hash | per layer | path of depth {depth} | {k} paths |");
    println!("|---|---|---|---|");
    println!(
        "| Poseidon t=3 (this circuit, measured) | {layer} | {} | {} |",
        depth * layer,
        k * depth * layer
    );
    println!(
        "| Pedersen/Jubjub (Sapling gadgets, counted) | {PEDERSEN_LAYER} | {pedersen_path} | {} |\n",
        k * pedersen_path
    );
    Ok(())
}

/// Hamming distances between each frame and its re-encodes, and between frames
/// of the segment some distance apart.
fn robustness(segment: &Path, original: &Hashed, bitrates: &[&String], dir: &Path) -> Result<()> {
    println!("## pHash robustness, luma (region {})\n", original.region);
    println!("| comparison | pairs | mean bits | min | max | ≤ 10 bits |");
    println!("|---|---|---|---|---|---|");
    for rate in bitrates {
        let out = dir.join(format!("reencode-{rate}.mp4"));
        eprintln!("re-encoding at {rate} …");
        ffmpeg(&[
            "-i",
            path_str(segment)?,
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-b:v",
            rate,
            "-pix_fmt",
            "yuv420p",
            path_str(&out)?,
        ])?;
        let re = hash_segment(&out, Some(original.region))?;
        let pairs: Vec<u32> = original
            .hashes
            .iter()
            .zip(&re.hashes)
            .map(|(a, b)| hamming(a.y, b.y))
            .collect();
        print_row(&format!("frame vs re-encode at {rate}"), &pairs);
    }
    for offset in [1usize, 15, 30, 150] {
        let h = &original.hashes;
        if offset >= h.len() {
            continue;
        }
        let pairs: Vec<u32> = h
            .iter()
            .zip(&h[offset..])
            .map(|(a, b)| hamming(a.y, b.y))
            .collect();
        print_row(&format!("frames {offset} apart"), &pairs);
    }
    println!();
    Ok(())
}

fn print_row(label: &str, distances: &[u32]) {
    let n = distances.len().max(1);
    let mean = distances.iter().sum::<u32>() as f64 / n as f64;
    let close = distances.iter().filter(|d| **d <= 10).count();
    println!(
        "| {label} | {} | {mean:.1} | {} | {} | {:.0} % |",
        distances.len(),
        distances.iter().min().unwrap_or(&0),
        distances.iter().max().unwrap_or(&0),
        100.0 * close as f64 / n as f64
    );
}

/// Runs ffmpeg quietly; its stderr becomes the error.
pub(crate) fn ffmpeg(args: &[&str]) -> Result<()> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-y"])
        .args(args)
        .output()
        .context("cannot run ffmpeg (install it: apt-get install ffmpeg)")?;
    if !out.status.success() {
        bail!(
            "ffmpeg failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn path_str(p: &Path) -> Result<&str> {
    p.to_str()
        .with_context(|| format!("{} is not valid UTF-8", p.display()))
}
