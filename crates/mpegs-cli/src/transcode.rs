//! `mpegs transcode`: proof of transcode (docs/transcode-proofs.md).
//!
//! prove (transcoder) → verify (anyone); `ssim` prints ffmpeg's per-frame SSIM and
//! `commit` a video's commitment. Exit codes: 0 ok / valid, 1 the proof does not
//! verify, names other videos, was made under another beacon than the verifier's
//! or falls below its floors, 2 bad input. Verifying without `--beacon` is still
//! exit 0 when the proof holds, under a WARNING line: the prover chose the
//! challenge. Verification and its policy are `mpegs_app::transcode`.

use anyhow::Result;
use clap::Subcommand;
use mpegs_app::progress::Bars;
use mpegs_app::transcode::{commitment_of, secret_path, ChallengeKind, TranscodeCheck};
use mpegs_media::{read_json, write_json, write_private_json, Seed};
use mpegs_transcode::proof::{
    self, Options, Policy, VideoSeeds, DEFAULT_MIN_SAMPLES, DEFAULT_MIN_THRESHOLD,
};
use mpegs_transcode::ssim::frame_ssim;
use mpegs_transcode::video::Frames;
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
        /// Print the verdict as JSON (the warning about a self-chosen challenge
        /// is a field of it, and goes to stderr).
        #[arg(long)]
        json: bool,
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

pub fn run(action: TranscodeAction, bars: &Bars) -> Result<ExitCode> {
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
            let outcome = proof::prove(&source, &rendition, &options, &crate::store()?, bars)?;
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
            proof,
            source,
            rendition,
            secret,
            beacon,
            min_samples,
            min_threshold,
            json,
        } => {
            let check = TranscodeCheck {
                proof,
                source,
                rendition,
                secret,
                policy: Policy {
                    beacon,
                    min_samples,
                    min_threshold,
                },
            };
            let v = mpegs_app::transcode::verify(&check, &crate::store()?)?;
            if json {
                if let Some(w) = &v.warning {
                    eprintln!("{w}");
                }
                crate::print_json(&v)?;
            } else {
                if let Some(w) = &v.warning {
                    println!("{w}");
                }
                match &v.reason {
                    None => {
                        let how = match v.challenge {
                            ChallengeKind::VerifierChosen => {
                                "samples drawn with the verifier's beacon"
                            }
                            ChallengeKind::SelfChosen => "SELF-CHOSEN challenge",
                        };
                        println!(
                            "VALID: {} sampled macroblocks have SSIM ≥ {} ({}x{}, {} frames; {how})",
                            v.samples,
                            v.threshold,
                            v.rendition.width,
                            v.rendition.height,
                            v.rendition.frames
                        );
                    }
                    Some(reason) => println!("INVALID — {reason}"),
                }
            }
            return Ok(crate::verdict(v.valid));
        }
        TranscodeAction::Ssim { source, rendition } => ssim(&source, &rendition)?,
        TranscodeAction::Commit { video, size, seed } => {
            let size = size
                .as_deref()
                .map(mpegs_app::input::parse_size)
                .transpose()?;
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
