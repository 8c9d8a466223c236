//! `mpegs transcode`: proof of transcode (docs/transcode-proofs.md).
//!
//! prove (transcoder) → verify (anyone); `ssim` prints ffmpeg's per-frame SSIM and
//! `commit` a video's commitment. Exit codes: 0 ok / valid, 1 the proof does not
//! verify, names other videos, was made under another beacon than the verifier's
//! or falls below its floors, 2 bad input. Verifying without `--beacon` is still
//! exit 0 when the proof holds, under a WARNING line: the prover chose the
//! challenge.

use crate::progress::Bars;
use anyhow::{Context, Result};
use clap::Subcommand;
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::{read_json, write_json, write_private_json, Seed};
use mpegs_transcode::proof::{
    self, Challenge, Options, Policy, TranscodeProof, VideoSeeds, DEFAULT_MIN_SAMPLES,
    DEFAULT_MIN_THRESHOLD,
};
use mpegs_transcode::ssim::frame_ssim;
use mpegs_transcode::video::{commit, Frames};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum TranscodeAction {
    /// Transcoder: prove RENDITION is a faithful transcode of SOURCE.
    Prove {
        source: PathBuf,
        rendition: PathBuf,
        /// Minimum SSIM of every sampled macroblock, in (0, 1].
        #[arg(long, default_value_t = 0.9)]
        threshold: f64,
        /// Sampled 16x16 macroblocks.
        #[arg(long, default_value_t = 32)]
        samples: u32,
        /// Public randomness (hex) mixed into the sampling, e.g. a block hash
        /// published after both commitments.
        #[arg(long)]
        beacon: Option<String>,
        /// The public proof file. The commitments' secret blinding seeds are
        /// written beside it to <OUTPUT>.secret.json (mode 0600): keep it private.
        #[arg(short, long)]
        output: PathBuf,
        /// Commit with the seeds in this secret file instead of fresh ones (to
        /// reuse commitments that were already published).
        #[arg(long)]
        seeds: Option<PathBuf>,
    },
    /// Anyone: check a transcode proof under the verifier's beacon and floors; with
    /// --source/--rendition also check it names those videos (which needs the
    /// secret seeds, --secret).
    Verify {
        proof: PathBuf,
        #[arg(long)]
        source: Option<PathBuf>,
        #[arg(long)]
        rendition: Option<PathBuf>,
        /// The seeds file written by `transcode prove` (default: <PROOF>.secret.json).
        #[arg(long)]
        secret: Option<PathBuf>,
        /// The sampling beacon (hex) the verifier chose or read from the chain; a
        /// proof made under any other is refused. Without it the proof's own
        /// beacon is used and the report warns that the prover chose the samples.
        #[arg(long)]
        beacon: Option<String>,
        /// Refuse proofs with fewer sampled macroblocks (a proof sampling every
        /// macroblock of a smaller video passes).
        #[arg(long, default_value_t = DEFAULT_MIN_SAMPLES)]
        min_samples: u32,
        /// Refuse proofs with a lower SSIM threshold.
        #[arg(long, default_value_t = DEFAULT_MIN_THRESHOLD)]
        min_threshold: f64,
    },
    /// Per-frame luma SSIM as `ffmpeg -lavfi ssim` prints it (source downscaled
    /// with the exact scale when the rendition is smaller).
    Ssim { source: PathBuf, rendition: PathBuf },
    /// Print a video's commitment (luma, tile 16), optionally at another size.
    Commit {
        video: PathBuf,
        #[arg(long)]
        size: Option<String>,
        /// The blinding seed (0x + 64 hex digits); default: a fresh one, printed.
        #[arg(long)]
        seed: Option<String>,
    },
}

pub fn run(
    action: TranscodeAction,
    store: impl Fn() -> Result<mpegs_zk::keys::KeyStore>,
    bars: &Bars,
) -> Result<ExitCode> {
    match action {
        TranscodeAction::Prove {
            source,
            rendition,
            threshold,
            samples,
            beacon,
            output,
            seeds,
        } => {
            let seeds = match seeds {
                Some(path) => read_json(&path)?,
                None => VideoSeeds::random(),
            };
            let options = Options {
                threshold,
                samples,
                beacon,
                seeds,
            };
            let outcome = proof::prove(&source, &rendition, &options, &store()?, bars)?;
            write_private_json(&secret_path(&output), &seeds)?;
            write_json(&output, &outcome.proof)?;
            println!(
                "{} samples, lowest macroblock SSIM {:.4} ≥ {threshold}: proof → {}",
                outcome.proof.samples.len(),
                outcome.min_ssim,
                output.display()
            );
        }
        TranscodeAction::Verify {
            proof: path,
            source,
            rendition,
            secret,
            beacon,
            min_samples,
            min_threshold,
        } => {
            let policy = Policy {
                beacon,
                min_samples,
                min_threshold,
            };
            let videos = (source.as_deref(), rendition.as_deref());
            return verify(&path, videos, secret, &policy, &store);
        }
        TranscodeAction::Ssim { source, rendition } => ssim(&source, &rendition)?,
        TranscodeAction::Commit { video, size, seed } => {
            let size = size.as_deref().map(crate::parse_size).transpose()?;
            let seed = match seed {
                Some(hex) => Seed::from_hex(&hex)?,
                None => {
                    let fresh = Seed::random();
                    eprintln!(
                        "seed (secret; needed to recompute the commitment): {}",
                        fresh.to_hex()
                    );
                    fresh
                }
            };
            println!("{}", commitment_of(&video, size, &seed)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `transcode verify`: the verifier's policy first (a malformed one is bad input),
/// then the named videos, then the proof.
fn verify(
    path: &Path,
    (source, rendition): (Option<&Path>, Option<&Path>),
    secret: Option<PathBuf>,
    policy: &Policy,
    store: impl Fn() -> Result<mpegs_zk::keys::KeyStore>,
) -> Result<ExitCode> {
    policy.check()?;
    let p: TranscodeProof = read_json(path)?;
    if policy.beacon.is_none() {
        println!("{}", self_chosen_warning(p.beacon.as_deref()));
    }
    let size = (p.rendition.width, p.rendition.height);
    let mut checks = vec![];
    if source.is_some() || rendition.is_some() {
        let seeds = load_seeds(secret.unwrap_or_else(|| secret_path(path)))?;
        if let Some(s) = source {
            checks.push((
                "source",
                commitment_of(s, Some(size), &seeds.source)?,
                &p.source.commitment,
            ));
        }
        if let Some(r) = rendition {
            checks.push((
                "rendition",
                commitment_of(r, None, &seeds.rendition)?,
                &p.rendition.commitment,
            ));
        }
    }
    let named = checks.iter().find(|(_, got, want)| got != *want);
    let verdict = match named {
        Some((which, _, _)) => Err(format!("the proof is about another {which} video")),
        None => proof::verify(&p, policy, &store()?).map_err(|e| e.to_string()),
    };
    Ok(match verdict {
        Ok(v) => {
            let how = match v.challenge {
                Challenge::VerifierChosen => "samples drawn with the verifier's beacon",
                Challenge::SelfChosen => "SELF-CHOSEN challenge",
            };
            println!(
                "VALID: {} sampled macroblocks have SSIM ≥ {} ({}x{}, {} frames; {how})",
                v.samples, v.threshold, p.rendition.width, p.rendition.height, p.rendition.frames
            );
            ExitCode::SUCCESS
        }
        Err(reason) => {
            println!("INVALID — {reason}");
            ExitCode::from(1)
        }
    })
}

/// The warning for a proof whose samples the prover's own beacon picked.
fn self_chosen_warning(beacon: Option<&str>) -> String {
    format!(
        "WARNING: self-chosen challenge — the prover picked the sampling beacon ({}) and \
         could retry it until every sample landed on a good macroblock. Pass --beacon with \
         randomness the prover could not know in advance (e.g. a block hash after both \
         commitments were registered).",
        beacon.unwrap_or("none")
    )
}

/// `proof.json` → `proof.json.secret.json`: where `prove` keeps the seeds.
fn secret_path(proof: &Path) -> PathBuf {
    let mut s = proof.as_os_str().to_owned();
    s.push(".secret.json");
    PathBuf::from(s)
}

fn load_seeds(path: PathBuf) -> Result<VideoSeeds> {
    read_json(&path).with_context(|| {
        format!(
            "the proof's commitments are blinded: comparing them with videos needs the seeds \
             file written by `transcode prove` ({} not readable; pass --secret)",
            path.display()
        )
    })
}

fn commitment_of(video: &Path, size: Option<(u32, u32)>, seed: &Seed) -> Result<String> {
    let c = commit(Frames::open(video, size)?, seed, || {})?;
    Ok(fr_to_hex(&c.value))
}

fn ssim(source: &Path, rendition: &Path) -> Result<()> {
    let ren = Frames::open(rendition, None)?;
    let size = ren.decoded_size();
    let src = Frames::open(source, Some(size))?;
    let (w, h) = (size.0 as usize, size.1 as usize);
    anyhow::ensure!(w >= 8 && h >= 8, "SSIM needs frames of at least 8x8");
    let mut total = 0.0;
    let mut n = 0u64;
    for (a, b) in src.zip(ren) {
        let (a, b) = (a?, b?);
        let v = frame_ssim(&a.data, &b.data, w, h);
        n += 1;
        total += v;
        println!("n:{n} Y:{v:.6}");
    }
    anyhow::ensure!(n > 0, "no frames to compare");
    println!("SSIM Y:{:.6}", total / n as f64);
    Ok(())
}
