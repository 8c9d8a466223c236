//! `mpegs storage`: the proof-of-storage flow (docs/storage-proofs.md).
//!
//! register (client) → reveal (client, each epoch) → prove (worker) → verify
//! (anyone). Exit codes: 0 ok / valid, 1 the proof does not verify, 2 bad input.
//! Verification is `mpegs_app::storage`; register, reveal and prove are the
//! storage crate's own steps.

use anyhow::{Context, Result};
use clap::Subcommand;
use mpegs_media::{read_json, write_json};
use mpegs_storage::epoch::{self, Public, Secret};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum StorageAction {
    /// Client: make one secret challenge per epoch; writes the secret file (-o) and
    /// the public commitments beside it (<output stem>.public.json).
    Register {
        segment: PathBuf,
        #[arg(long)]
        epochs: u32,
        /// Challenged frames per epoch.
        #[arg(short, long, default_value_t = 4)]
        k: u32,
        #[arg(short, long, default_value = "challenges.json")]
        output: PathBuf,
    },
    /// Client: publish epoch E's challenge into the public file.
    Reveal {
        secret: PathBuf,
        #[arg(long)]
        epoch: u32,
        #[arg(long)]
        public: PathBuf,
    },
    /// Worker: prove epoch E from the segment it stores.
    Prove {
        segment: PathBuf,
        #[arg(long)]
        challenge: PathBuf,
        #[arg(long)]
        epoch: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Anyone: check a worker's proof of epoch E against the public file. The
    /// verifier names the epoch it asks about; a proof for any other is refused.
    Verify {
        proof: PathBuf,
        #[arg(long)]
        challenge: PathBuf,
        #[arg(long)]
        epoch: u32,
        /// Print the verdict as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `challenges.json` → `challenges.public.json`.
fn public_path(secret: &Path) -> PathBuf {
    let stem = secret
        .file_stem()
        .map_or("challenges".into(), |s| s.to_string_lossy().into_owned());
    secret.with_file_name(format!("{stem}.public.json"))
}

pub fn run(action: StorageAction) -> Result<ExitCode> {
    match action {
        StorageAction::Register {
            segment,
            epochs,
            k,
            output,
        } => {
            let (secret, public) = epoch::register(&segment, epochs, k)?;
            let public_file = public_path(&output);
            if public_file == output {
                anyhow::bail!("choose an output name that does not end in .public.json");
            }
            write_json(&output, &secret)?;
            write_json(&public_file, &public)?;
            println!(
                "registered {} ({}x{}, {} frames): {epochs} epochs of k = {k}\n  secret → {} (keep it)\n  public → {}",
                segment.display(),
                public.segment.width,
                public.segment.height,
                public.segment.frames,
                output.display(),
                public_file.display()
            );
        }
        StorageAction::Reveal {
            secret,
            epoch,
            public,
        } => {
            let s: Secret = read_json(&secret)?;
            let mut p: Public = read_json(&public)?;
            epoch::reveal(&s, &mut p, epoch)?;
            write_json(&public, &p)?;
            println!("epoch {epoch} revealed in {}", public.display());
        }
        StorageAction::Prove {
            segment,
            challenge,
            epoch,
            output,
        } => {
            let p: Public = read_json(&challenge)?;
            let proof = epoch::prove(&segment, &p, epoch, None, &crate::store()?)
                .with_context(|| format!("proving epoch {epoch}"))?;
            write_json(&output, &proof)?;
            println!("epoch {epoch}: proof → {}", output.display());
        }
        StorageAction::Verify {
            proof,
            challenge,
            epoch,
            json,
        } => {
            let v = mpegs_app::storage::verify_files(&proof, &challenge, epoch, &crate::store()?)?;
            if json {
                crate::print_json(&v)?;
            } else {
                match &v.reason {
                    None => println!("epoch {epoch}: VALID"),
                    Some(reason) => println!("epoch {epoch}: INVALID — {reason}"),
                }
            }
            return Ok(crate::verdict(v.valid));
        }
    }
    Ok(ExitCode::SUCCESS)
}
