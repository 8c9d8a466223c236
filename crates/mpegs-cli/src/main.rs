//! `mpegs`: attest media, apply ffmpeg-style filter chains with zero-knowledge
//! proofs, and verify the result back to the capturing device.
//!
//! This crate is a front end: clap arguments, printing and exit codes. Every
//! use case and policy lives in `mpegs-app` (docs/app.md).
//!
//! Exit codes: 0 ok / valid, 1 verification failed, 2 usage or input error.

mod c2pa;
mod chain;
mod report;
mod serve;
mod storage;
mod transcode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use mpegs_app::attest::{AttestFiles, AttestOptions};
use mpegs_app::edit::EditFiles;
use mpegs_app::progress::Bars;
use mpegs_app::verify::{Verification, VerifyFiles};
use mpegs_app::{AppError, Config, DEFAULT_TILE};
use mpegs_filters::FILTERS;
use mpegs_media::{load_image, FrameInfo, PixelFormat};
use mpegs_zk::keys::KeyStore;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "mpegs",
    version,
    about = "Verifiable media: attest, edit with zero-knowledge proofs, verify."
)]
struct Cli {
    /// Hide progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new device signing key (file mode 0600) and print its address.
    Keygen {
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Sign an image's commitment as a capture device; writes <image>.mpegs.json.
    Attest {
        image: PathBuf,
        #[arg(long)]
        key: PathBuf,
        /// Tile size of the commitment (power of two, 4–256).
        #[arg(long, default_value_t = DEFAULT_TILE)]
        tile: u32,
        /// A label for the device, signed with the capture.
        #[arg(long, default_value = "mpegs-cli")]
        device_id: String,
        /// Capture time, Unix seconds (default: now).
        #[arg(long)]
        captured_at: Option<u64>,
        /// Bundle path (default: <image>.mpegs.json).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Where to keep the commitment's secret blinding seed (default:
        /// <image>.mpegs.secret.json, mode 0600). Keep it private: the original
        /// stays hidden behind its commitment only while the seed does.
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Publish the original itself: reveal the seed in the bundle so anyone
        /// can check the picture against it.
        #[arg(long)]
        reveal: bool,
    },
    /// Apply a filter chain and prove it; writes the PNG and <output>.mpegs.json.
    Edit {
        image: PathBuf,
        /// ffmpeg-style filter chain, e.g. "crop=640:360:10:20,hflip,format=gray".
        #[arg(long)]
        vf: String,
        /// Output PNG.
        #[arg(short, long)]
        output: PathBuf,
        /// Bundle of the input (default: <image>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// The input's secret, when its bundle does not reveal its seed
        /// (default: <image>.mpegs.secret.json).
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Only apply the filters: write the edited PNG as an unproven preview,
        /// with no proofs and no bundle (the input's history is still verified).
        #[arg(long)]
        dry_run: bool,
    },
    /// Verify an image against its bundle, down to the device signature. A file
    /// with Content Credentials (`mpegs c2pa sign`) carries its bundle inside: both
    /// the C2PA manifest and the proofs are checked.
    Verify {
        image: PathBuf,
        /// Bundle (default: the embedded C2PA manifest's, else <image>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// PEM roots to trust for a C2PA signer (an untrusted signer is a warning).
        #[arg(long)]
        trust: Option<PathBuf>,
        /// For private media (an original whose bundle reveals no seed): its
        /// secret file (default: <image>.mpegs.secret.json, if present).
        #[arg(long)]
        secret: Option<PathBuf>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pre-generate the circuit keys a filter chain needs for an image shape.
    Setup {
        #[arg(long)]
        vf: String,
        /// Take the shape from this image ...
        #[arg(long, conflicts_with = "size")]
        input: Option<PathBuf>,
        /// ... or give it as WxH.
        #[arg(long)]
        size: Option<String>,
        #[arg(long, default_value = "rgb24")]
        format: String,
        #[arg(long, default_value_t = DEFAULT_TILE)]
        tile: u32,
    },
    /// Manage circuit keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// List the supported filters and their options.
    Filters,
    /// Proof of storage for video segments: register, reveal, prove, verify.
    Storage {
        #[command(subcommand)]
        action: storage::StorageAction,
    },
    /// Proof of transcode: SSIM of sampled macroblocks between source and rendition.
    Transcode {
        #[command(subcommand)]
        action: transcode::TranscodeAction,
    },
    /// On-chain provenance and storage deals (embedded EVM by default, or --rpc-url).
    Chain(chain::ChainArgs),
    /// Content Credentials (C2PA) that carry the proof bundle inside the image.
    C2pa {
        #[command(subcommand)]
        action: c2pa::C2paAction,
    },
    /// Run the prover service: HTTP API, job queue and workers (docs/service.md).
    Serve(serve::ServeArgs),
    /// Run an extra worker for a service's queue (docs/service.md).
    Worker(serve::WorkerArgs),
}

#[derive(Subcommand)]
enum KeysAction {
    /// Write the verifying keys (and with --proving the proving keys) to DIR.
    Export {
        dir: PathBuf,
        #[arg(long)]
        proving: bool,
    },
    /// Trust the key set in DIR (as written by `keys export`).
    Import {
        dir: PathBuf,
        /// Overwrite keys already trusted under the same circuit id with the
        /// set's different ones (refused by default).
        #[arg(long)]
        replace: bool,
    },
    /// List the keys in the local store.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => exit_for(&e),
    }
}

/// Rejections (a policy refused something that does not verify, or the chain
/// reverted) are verdicts, exit 1; everything else is a usage or input error.
fn exit_for(e: &anyhow::Error) -> ExitCode {
    let revert = |e: &mpegs_chain::ChainError| match e {
        mpegs_chain::ChainError::Revert(reason) => Some(reason.clone()),
        _ => None,
    };
    let app = e.downcast_ref::<AppError>();
    let reverted = match app {
        Some(AppError::Chain(c)) => revert(c),
        _ => e.downcast_ref::<mpegs_chain::ChainError>().and_then(revert),
    };
    if let Some(reason) = reverted {
        eprintln!("rejected on-chain: {reason}");
        return ExitCode::from(1);
    }
    match app {
        Some(a @ AppError::Rejected(_)) => {
            eprintln!("rejected: {a}");
            ExitCode::from(1)
        }
        Some(a @ AppError::MissingSecret { .. }) => {
            eprintln!("error: {a} (pass --secret)");
            ExitCode::from(2)
        }
        _ => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The configuration under `$MPEGS_HOME` (or `~/.cache/mpegs`).
fn config() -> Result<Config> {
    Ok(Config::from_env()?)
}

fn store() -> Result<KeyStore> {
    Ok(config()?.key_store()?)
}

/// 0 for valid, 1 for invalid.
fn verdict(valid: bool) -> ExitCode {
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The one typed outcome of a command, as `--json` prints it.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn run(cli: Cli) -> Result<ExitCode> {
    let bars = Bars::new(cli.quiet);
    match cli.command {
        Command::Keygen { output } => println!("{}", mpegs_app::attest::keygen(&output)?),
        Command::Attest {
            image,
            key,
            tile,
            device_id,
            captured_at,
            output,
            secret,
            reveal,
        } => {
            let files = AttestFiles {
                image,
                key,
                bundle: output,
                secret,
            };
            let options = AttestOptions {
                tile,
                device_id,
                captured_at: captured_at.unwrap_or_else(mpegs_app::input::unix_now),
                reveal,
            };
            let a = mpegs_app::attest::attest_file(&files, &options)?;
            println!(
                "attested {} ({}) by {} → {} (secret seed → {}{})",
                a.image.display(),
                a.media,
                a.device,
                a.bundle.display(),
                a.secret.display(),
                if a.revealed {
                    ", also revealed in the bundle"
                } else {
                    "; keep it private"
                }
            );
        }
        Command::Edit {
            image,
            vf,
            output,
            bundle,
            secret,
            dry_run,
        } => {
            let files = EditFiles {
                image,
                output,
                bundle,
                secret,
            };
            let store = store()?;
            if dry_run {
                let p = mpegs_app::edit::preview_file(&files, &vf, &store)?;
                println!(
                    "preview {} → {} ({}): UNPROVEN — filters applied, nothing proven, no bundle written",
                    p.image.display(),
                    p.output.display(),
                    p.media
                );
            } else {
                let e = mpegs_app::edit::edit_file(&files, &vf, &store, &bars)?;
                println!(
                    "edited {} → {} ({}), {} proofs in {:.1}s → {}",
                    e.image.display(),
                    e.output.display(),
                    e.media,
                    e.proofs,
                    e.seconds,
                    e.bundle.display()
                );
            }
        }
        Command::Verify {
            image,
            bundle,
            trust,
            secret,
            json,
        } => {
            let files = VerifyFiles {
                image,
                bundle,
                secret,
                trust,
            };
            let outcome = mpegs_app::verify::verify_file(&files, &store()?)?;
            if json {
                print_json(&outcome)?;
            } else {
                let name = files.image.display().to_string();
                match &outcome {
                    Verification::Bundle(report) => print!("{}", report::render(&name, report)),
                    Verification::ContentCredentials(v) => c2pa::print_verdict(&name, v),
                }
            }
            return Ok(verdict(outcome.valid()));
        }
        Command::Setup {
            vf,
            input,
            size,
            format,
            tile,
        } => {
            let info = match (input, size) {
                (Some(path), None) => load_image(&path)?.info,
                (None, Some(size)) => {
                    let (w, h) = mpegs_app::input::parse_size(&size)?;
                    let format = format.parse::<PixelFormat>().map_err(anyhow::Error::msg)?;
                    FrameInfo::new(format, w, h)
                }
                _ => bail!("give the image shape with --input IMAGE or --size WxH"),
            };
            let store = store()?;
            let keys = mpegs_app::keys::setup(&vf, info, tile, &store, &bars)?;
            for (id, hash) in &keys {
                println!("{id} {hash}");
            }
            eprintln!(
                "{} circuit keys ready in {}",
                keys.len(),
                store.dir().display()
            );
        }
        Command::Keys { action } => keys(action)?,
        Command::Filters => print_filters(),
        Command::Storage { action } => return storage::run(action),
        Command::Transcode { action } => return transcode::run(action, &bars),
        Command::Chain(args) => return chain::run(args),
        Command::C2pa { action } => return c2pa::run(action),
        Command::Serve(args) => return serve::serve(args),
        Command::Worker(args) => return serve::worker(args),
    }
    Ok(ExitCode::SUCCESS)
}

fn keys(action: KeysAction) -> Result<()> {
    let store = store()?;
    match action {
        KeysAction::Export { dir, proving } => {
            let entries = store.export(&dir, proving)?;
            println!("exported {} keys to {}", entries.len(), dir.display());
        }
        KeysAction::Import { dir, replace } => {
            let entries = store.import(&dir, replace)?;
            println!(
                "imported {} keys into {}",
                entries.len(),
                store.dir().display()
            );
        }
        KeysAction::List => {
            for e in store.list()? {
                let filter = e
                    .description
                    .get("filter")
                    .and_then(|f| f.as_str())
                    .unwrap_or("?");
                let pk = if e.proving_key {
                    "prove+verify"
                } else {
                    "verify"
                };
                println!("{:40} {:13} {} {}", e.id, pk, e.vk_hash, filter);
            }
        }
    }
    Ok(())
}

fn print_filters() {
    for spec in FILTERS {
        println!("{:10} {}", spec.name, spec.description);
        for o in spec.options {
            let default = o
                .default
                .map(|d| format!(" (default {d})"))
                .unwrap_or_default();
            println!("    {:14} {}{}", o.names.join("|"), o.help, default);
        }
    }
}
