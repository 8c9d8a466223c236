//! `mpegs`: attest media, apply ffmpeg-style filter chains with zero-knowledge
//! proofs, and verify the result back to the capturing device.
//!
//! Exit codes: 0 ok / valid, 1 verification failed, 2 usage or input error.

mod bench;
mod bench_chain;
mod bench_storage;
mod bench_transcode;
mod c2pa;
mod chain;
mod progress;
mod report;
mod serve;
mod storage;
mod transcode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use mpegs_filters::{parse_filtergraph, FILTERS};
use mpegs_media::{load_image, save_png_atomic, FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover};
use mpegs_provenance::verify::verify_private_media;
use mpegs_provenance::{secret_path, sidecar_path, Bundle, MediaSecret};
use mpegs_zk::keys::KeyStore;
use progress::Bars;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Default tile size (pixels per side); part of every commitment.
const DEFAULT_TILE: u32 = 64;

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
        /// Print a machine-readable JSON report.
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
    /// Measure constraints, proving and verification (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn store() -> Result<KeyStore> {
    KeyStore::default_location().context("opening the key store")
}

fn run(cli: Cli) -> Result<ExitCode> {
    let bars = Bars::new(cli.quiet);
    match cli.command {
        Command::Keygen { output } => {
            let key = DeviceKey::generate();
            key.save(&output)?;
            println!("{}", key.address());
        }
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
            let frame = load_image(&image)?;
            let key = DeviceKey::load(&key)?;
            let at = captured_at.unwrap_or_else(now);
            let seed = Seed::random();
            let mut bundle = attest(&frame, &key, tile, &seed, &device_id, at)?;
            let path = output.unwrap_or_else(|| sidecar_path(&image));
            let secret_file = secret.unwrap_or_else(|| secret_path(&image));
            MediaSecret::new(bundle.media.value()?, seed).save(&secret_file)?;
            if reveal {
                bundle = bundle.reveal(seed);
            }
            bundle.save(&path)?;
            println!(
                "attested {} ({}) by {} → {} (secret seed → {}{})",
                image.display(),
                frame.info,
                key.address(),
                path.display(),
                secret_file.display(),
                if reveal {
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
        } => edit(&image, &vf, &output, bundle, secret, &bars)?,
        Command::Verify {
            image,
            bundle,
            trust,
            secret,
            json,
        } => {
            if bundle.is_none() {
                if let Some(code) =
                    c2pa::verify_embedded(&image, secret.clone(), trust, json, &store()?)?
                {
                    return Ok(code);
                }
            }
            return verify(&image, bundle, secret, json);
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
                (None, Some(size)) => FrameInfo::new(
                    format.parse::<PixelFormat>().map_err(anyhow::Error::msg)?,
                    parse_size(&size)?.0,
                    parse_size(&size)?.1,
                ),
                _ => bail!("give the image shape with --input IMAGE or --size WxH"),
            };
            let chain = parse_filtergraph(&vf)?;
            let store = store()?;
            let prover = Prover {
                store: &store,
                progress: &bars,
                entropy: &mpegs_provenance::prove::OsEntropy,
            };
            let keys = prover.setup_chain(&chain, MediaHeader::new(info, tile)?)?;
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
        Command::Bench(args) => bench::run(args, &bars)?,
        Command::Storage { action } => return storage::run(action, store),
        Command::Transcode { action } => return transcode::run(action, store, &bars),
        Command::Chain(args) => return chain::run(args, store),
        Command::C2pa { action } => return c2pa::run(action, store),
        Command::Serve(args) => return serve::serve(args),
        Command::Worker(args) => return serve::worker(args),
    }
    Ok(ExitCode::SUCCESS)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn parse_size(s: &str) -> Result<(u32, u32)> {
    let (w, h) = s
        .split_once('x')
        .context("size must be WxH, e.g. 1280x720")?;
    let w: u32 = w.parse().context("width must be a positive integer")?;
    let h: u32 = h.parse().context("height must be a positive integer")?;
    if w == 0 || h == 0 {
        bail!("size must be positive");
    }
    Ok((w, h))
}

/// The seed of an input's commitment: revealed in its bundle, or from its
/// secret file (`explicit`, or the default beside the image when present).
fn input_seed(image: &Path, bundle: &Bundle, explicit: Option<PathBuf>) -> Result<Option<Seed>> {
    if let Some(seed) = bundle.media.seed {
        return Ok(Some(seed));
    }
    let path = match explicit {
        Some(p) => p,
        None => {
            let default = secret_path(image);
            if !default.exists() {
                return Ok(None);
            }
            default
        }
    };
    Ok(Some(MediaSecret::load_for(&path, &bundle.media)?))
}

fn edit(
    image: &Path,
    vf: &str,
    output: &Path,
    bundle: Option<PathBuf>,
    secret: Option<PathBuf>,
    bars: &Bars,
) -> Result<()> {
    if output
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        != Some("png".into())
    {
        bail!("the output must be a .png file (lossless, so its pixels keep matching the proofs)");
    }
    let chain = parse_filtergraph(vf)?;
    let frame = load_image(image)?;
    let bundle_path = bundle.unwrap_or_else(|| sidecar_path(image));
    let parent = Bundle::load(&bundle_path)?;
    let seed = input_seed(image, &parent, secret)?.with_context(|| {
        format!(
            "{} keeps the input private and its secret file {} is missing (pass --secret)",
            bundle_path.display(),
            secret_path(image).display()
        )
    })?;
    let store = store()?;
    // Refuse to build on a history that does not verify.
    let report = verify_private_media(&frame, &parent, Some(&seed), &store);
    if !report.valid {
        bail!(
            "the input's bundle {} does not verify: {}",
            bundle_path.display(),
            report.reason.unwrap_or_default()
        );
    }
    let prover = Prover {
        store: &store,
        progress: bars,
        entropy: &mpegs_provenance::prove::OsEntropy,
    };
    let started = std::time::Instant::now();
    let (edited, bundle) = prover.edit(&frame, parent, &seed, &chain)?;
    let out_bundle = sidecar_path(output);
    save_png_atomic(&edited, output)?;
    bundle.save(&out_bundle)?;
    let proofs: usize = bundle
        .edit
        .as_ref()
        .map_or(0, |e| e.steps.iter().map(|s| s.tiles.len()).sum());
    println!(
        "edited {} → {} ({}), {} proofs in {:.1}s → {}",
        image.display(),
        output.display(),
        edited.info,
        proofs,
        started.elapsed().as_secs_f64(),
        out_bundle.display()
    );
    Ok(())
}

fn verify(
    image: &Path,
    bundle: Option<PathBuf>,
    secret: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let frame = load_image(image)?;
    let bundle = Bundle::load(&bundle.unwrap_or_else(|| sidecar_path(image)))?;
    let seed = input_seed(image, &bundle, secret)?;
    let report = verify_private_media(&frame, &bundle, seed.as_ref(), &store()?);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report::render(&image.display().to_string(), &report));
    }
    Ok(if report.valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
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
