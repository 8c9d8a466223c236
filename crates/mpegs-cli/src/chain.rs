//! `mpegs chain`: provenance and storage deals on an EVM chain (docs/chain.md).
//!
//! The default chain is embedded (revm, state in `$MPEGS_HOME/chain/embedded.json`);
//! `--rpc-url` talks to a node instead. Exit codes: 0 ok, 1 rejected on-chain (a
//! revert: bad proof, signature, replay…) or not registered, 2 bad input.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use mpegs_chain::accounts::{select_signer, KeySource};
use mpegs_chain::alloy_primitives::{utils::parse_units, B256, U256};
use mpegs_chain::deployment::{deploy, Deployment};
use mpegs_chain::embedded::Embedded;
use mpegs_chain::escrow::{self, Settlement};
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::rpc::Rpc;
use mpegs_chain::{Chain, ChainError};
use mpegs_media::{load_image, read_json, Commitment};
use mpegs_provenance::verify::verify_private_media;
use mpegs_provenance::{sidecar_path, Bundle};
use mpegs_storage::epoch::{EpochProof, Public, Secret};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where and as whom to act.
#[derive(Args)]
pub struct ChainArgs {
    /// JSON-RPC URL of a node (default: the embedded EVM).
    #[arg(long, global = true, env = "MPEGS_RPC_URL")]
    rpc_url: Option<String>,
    /// File holding the signing key (hex), private to its owner (chmod 600).
    /// Also: MPEGS_CHAIN_KEY (the key itself); the file wins if both are set.
    #[arg(long, global = true)]
    key_file: Option<PathBuf>,
    /// Use public development account N (0–3) instead of a key: the embedded
    /// chain and local nodes only. An error together with a key.
    #[arg(long, global = true)]
    account: Option<usize>,
    /// State file of the embedded chain.
    #[arg(long, global = true)]
    state: Option<PathBuf>,
    /// Deployment file (contract addresses).
    #[arg(long, global = true)]
    deployment: Option<PathBuf>,
    #[command(subcommand)]
    action: ChainAction,
}

#[derive(Subcommand)]
pub enum ChainAction {
    /// Deploy MediaRegistry and StorageEscrow (the sender owns the registry).
    Deploy {
        /// Deploy again even if a deployment exists on this chain.
        #[arg(long)]
        force: bool,
    },
    /// Register a media item and its history: originals by device signature, edits
    /// with every proof verified on-chain (or only anchored with --anchor).
    Register {
        media: PathBuf,
        /// Bundle (default: <media>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Record only the bundle's hash, marked as verified off-chain.
        #[arg(long)]
        anchor: bool,
    },
    /// Show the on-chain provenance of a commitment (0x…) or a media file.
    Status {
        target: String,
        /// Bundle of a media file (default: <media>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Move a development chain's clock forward (embedded EVM, Hardhat, Anvil).
    Advance { seconds: u64 },
    /// Storage deals in the StorageEscrow.
    Storage {
        #[command(subcommand)]
        action: StorageDeal,
    },
}

#[derive(Subcommand)]
pub enum StorageDeal {
    /// Client: open a deal for a registered segment (its public challenge file).
    Open {
        /// The public file of `mpegs storage register`.
        #[arg(long)]
        challenge: PathBuf,
        /// Length of each epoch.
        #[arg(long, default_value_t = 3600)]
        epoch_seconds: u64,
        /// Total payment, split evenly across epochs: wei, or with a unit (1.5ether, 20gwei).
        #[arg(long)]
        deposit: String,
    },
    /// Worker: accept a deal (starts the epochs' clock).
    Accept { deal: u64 },
    /// Client: reveal epoch E's challenge on-chain.
    Reveal {
        deal: u64,
        /// The secret file of `mpegs storage register`.
        #[arg(long)]
        secret: PathBuf,
        #[arg(long)]
        epoch: u32,
    },
    /// Worker: submit an epoch proof (`mpegs storage prove`); paid if it verifies.
    Submit {
        deal: u64,
        #[arg(long)]
        proof: PathBuf,
    },
    /// Anyone, after the deadline: refund a revealed but unproven epoch to the
    /// client, or pay the worker for an epoch the client never revealed.
    Settle {
        deal: u64,
        #[arg(long)]
        epoch: u32,
    },
    /// Show a deal and its epochs.
    Status {
        deal: u64,
        #[arg(long)]
        json: bool,
    },
}

/// A refusal that is a verdict (exit 1), not a usage error.
#[derive(Debug)]
struct Rejected(String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

/// An opened chain and where its deployment file lives.
struct Session {
    chain: Box<dyn Chain>,
    deployment_path: PathBuf,
}

impl Session {
    fn deployment(&mut self) -> Result<Deployment> {
        let d = Deployment::load(&self.deployment_path)?;
        d.check(self.chain.as_mut())?;
        Ok(d)
    }
}

fn open(args: &ChainArgs) -> Result<Session> {
    let home = mpegs_zk::keys::mpegs_home()?.join("chain");
    let env_key = std::env::var("MPEGS_CHAIN_KEY").ok();
    let (signer, source) =
        select_signer(args.key_file.as_deref(), env_key.as_deref(), args.account)?;
    // Development accounts are for development chains only (checked below for nodes).
    let explicit_key = source == KeySource::Explicit;
    match &args.rpc_url {
        None => {
            let state = args
                .state
                .clone()
                .unwrap_or_else(|| home.join("embedded.json"));
            // Waits while another `mpegs chain` has this chain open.
            let chain = Embedded::open(&state, signer)?;
            let deployment_path = args
                .deployment
                .clone()
                .unwrap_or_else(|| state.with_extension("deployment.json"));
            Ok(Session {
                chain: Box::new(chain),
                deployment_path,
            })
        }
        Some(url) => {
            let chain = Rpc::connect(url, signer)?;
            if chain.chain_id() != 31337 && !explicit_key {
                bail!(
                    "chain {} is not a development chain: give a key with --key-file or MPEGS_CHAIN_KEY",
                    chain.chain_id()
                );
            }
            let deployment_path = args.deployment.clone().unwrap_or_else(|| {
                home.join(format!("chain-{}.deployment.json", chain.chain_id()))
            });
            Ok(Session {
                chain: Box::new(chain),
                deployment_path,
            })
        }
    }
}

pub fn run(
    args: ChainArgs,
    store: impl Fn() -> Result<mpegs_zk::keys::KeyStore>,
) -> Result<ExitCode> {
    let mut session = open(&args)?;
    let outcome = match args.action {
        ChainAction::Deploy { force } => deploy_contracts(&mut session, force),
        ChainAction::Register {
            media,
            bundle,
            anchor,
        } => register(&mut session, &media, bundle, anchor, &store()?),
        ChainAction::Status {
            target,
            bundle,
            json,
        } => return status(&mut session, &target, bundle, json),
        ChainAction::Advance { seconds } => {
            session.chain.advance_time(seconds)?;
            println!(
                "clock moved {seconds} s; now {}",
                session.chain.timestamp()?
            );
            Ok(())
        }
        ChainAction::Storage { action } => storage(&mut session, action, &store),
    };
    match outcome {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            if let Some(Rejected(reason)) = e.downcast_ref::<Rejected>() {
                eprintln!("rejected: {reason}");
                return Ok(ExitCode::from(1));
            }
            match e.downcast_ref::<ChainError>() {
                Some(ChainError::Revert(reason)) => {
                    eprintln!("rejected on-chain: {reason}");
                    Ok(ExitCode::from(1))
                }
                _ => Err(e),
            }
        }
    }
}

fn deploy_contracts(session: &mut Session, force: bool) -> Result<()> {
    if !force {
        if let Ok(d) = session.deployment() {
            println!(
                "already deployed on chain {}: MediaRegistry {}, StorageEscrow {} (use --force to deploy again)",
                d.chain_id, d.registry, d.escrow
            );
            return Ok(());
        }
    }
    let d = deploy(session.chain.as_mut())?;
    d.save(&session.deployment_path)?;
    println!(
        "deployed on chain {} by {}\n  MediaRegistry {} ({} gas)\n  StorageEscrow {} ({} gas)\n  → {}",
        d.chain_id,
        d.owner,
        d.registry,
        d.registry_deploy_gas,
        d.escrow,
        d.escrow_deploy_gas,
        session.deployment_path.display()
    );
    Ok(())
}

fn register(
    session: &mut Session,
    media: &Path,
    bundle: Option<PathBuf>,
    anchor: bool,
    store: &mpegs_zk::keys::KeyStore,
) -> Result<()> {
    let bundle_path = bundle.unwrap_or_else(|| sidecar_path(media));
    let bundle = Bundle::load(&bundle_path)?;
    let frame = load_image(media)?;
    let seed = crate::input_seed(media, &bundle, None)?;
    // Never put a history on-chain that does not verify here first.
    let report = verify_private_media(&frame, &bundle, seed.as_ref(), store);
    if !report.valid {
        return Err(Rejected(format!(
            "not sent: the bundle does not verify here: {}",
            report.reason.unwrap_or_default()
        ))
        .into());
    }
    let mut d = session.deployment()?;
    let mode = if anchor { Mode::Anchor } else { Mode::Auto };
    eprintln!(
        "registering {} (new circuits get verifiers compiled with solc first)…",
        media.display()
    );
    let result = registry::register(session.chain.as_mut(), &mut d, store, &bundle, mode);
    d.save(&session.deployment_path)?;
    for r in result? {
        let proofs = if r.proofs > 0 {
            format!(", {} proofs verified", r.proofs)
        } else {
            String::new()
        };
        let gas = if r.gas_used > 0 {
            format!(" ({} gas{proofs})", r.gas_used)
        } else {
            String::new()
        };
        println!("{} {}{gas}", r.commitment, r.outcome);
    }
    Ok(())
}

fn status(
    session: &mut Session,
    target: &str,
    bundle: Option<PathBuf>,
    json: bool,
) -> Result<ExitCode> {
    let (commitment, expected_device) = if target.starts_with("0x") && !Path::new(target).exists() {
        let c = target
            .parse::<B256>()
            .with_context(|| format!("{target:?} is not a 32-byte 0x… commitment"))?;
        (c, None)
    } else {
        let media = Path::new(target);
        let bundle = Bundle::load(&bundle.unwrap_or_else(|| sidecar_path(media)))?;
        let frame = load_image(media)?;
        let seed = crate::input_seed(media, &bundle, None)?.with_context(|| {
            format!(
                "{} keeps its media private: its secret file is needed to recompute the commitment",
                media.display()
            )
        })?;
        let c = Commitment::of_frame(&frame, bundle.media.header.tile, &seed)?;
        let hex = mpegs_media::poseidon::fr_to_hex(&c.value);
        let device = bundle
            .origin()
            .attestation
            .as_ref()
            .map(|a| a.device.to_lowercase());
        (hex.parse::<B256>().context("commitment")?, device)
    };
    let d = session.deployment()?;
    let entries = registry::status(session.chain.as_mut(), &d, commitment)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    }
    let Some(first) = entries.first() else {
        if !json {
            println!("{commitment}: not registered on chain {}", d.chain_id);
        }
        return Ok(ExitCode::from(1));
    };
    if !json {
        for (i, e) in entries.iter().enumerate() {
            println!(
                "{}{} {} — {}",
                "  ".repeat(i),
                e.commitment,
                e.kind,
                e.verification
            );
            println!(
                "{}  device {}, registered by {} at {}{}",
                "  ".repeat(i),
                e.device,
                e.registrant,
                e.registered_at,
                if e.proofs > 0 {
                    format!(", {} proofs", e.proofs)
                } else {
                    String::new()
                }
            );
        }
    }
    if let Some(device) = expected_device {
        if format!("{:#x}", first.device) != device {
            eprintln!(
                "MISMATCH: the chain records device {:#x}, the bundle names {device}",
                first.device
            );
            return Ok(ExitCode::from(1));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `3ether`, `1.5ether`, `20gwei`, `1000wei` or plain wei.
fn parse_amount(text: &str) -> Result<U256> {
    let t = text.trim();
    let (number, decimals) = if let Some(n) = t.strip_suffix("ether") {
        (n, 18)
    } else if let Some(n) = t.strip_suffix("gwei") {
        (n, 9)
    } else if let Some(n) = t.strip_suffix("wei") {
        (n, 0)
    } else {
        (t, 0)
    };
    let number = number.trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let bad = || anyhow::anyhow!("{text:?} is not an amount (e.g. 3ether, 1.5ether, 20gwei, 1000)");
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > decimals {
        return Err(bad());
    }
    let value = parse_units(number, decimals as u8).map_err(|_| bad())?;
    Ok(value.get_absolute())
}

fn storage(
    session: &mut Session,
    action: StorageDeal,
    store: &impl Fn() -> Result<mpegs_zk::keys::KeyStore>,
) -> Result<()> {
    let mut d = session.deployment()?;
    let chain = session.chain.as_mut();
    match action {
        StorageDeal::Open {
            challenge,
            epoch_seconds,
            deposit,
        } => {
            let public: Public = read_json(&challenge)?;
            let amount = parse_amount(&deposit)?;
            let result = escrow::open(chain, &mut d, &store()?, &public, epoch_seconds, amount);
            d.save(&session.deployment_path)?;
            let (id, gas) = result?;
            println!(
                "deal {id} opened: {} epochs of {epoch_seconds} s, {amount} wei deposited ({gas} gas)",
                public.commitments.len()
            );
        }
        StorageDeal::Accept { deal } => {
            let gas = escrow::accept(chain, &d, U256::from(deal))?;
            println!("deal {deal} accepted by {} ({gas} gas)", chain.sender());
        }
        StorageDeal::Reveal {
            deal,
            secret,
            epoch,
        } => {
            let secret: Secret = read_json(&secret)?;
            let c = secret
                .challenges
                .get(epoch as usize)
                .with_context(|| format!("the secret file has no epoch {epoch}"))?;
            let gas = escrow::reveal(chain, &d, U256::from(deal), c)?;
            println!("deal {deal}: epoch {epoch} revealed ({gas} gas)");
        }
        StorageDeal::Submit { deal, proof } => {
            let proof: EpochProof = read_json(&proof)?;
            let gas = escrow::submit(chain, &d, U256::from(deal), &proof)?;
            println!(
                "deal {deal}: epoch {} proof verified on-chain, worker paid ({gas} gas)",
                proof.epoch
            );
        }
        StorageDeal::Settle { deal, epoch } => {
            match escrow::settle(chain, &d, U256::from(deal), epoch)? {
                Settlement::RefundedClient(wei) => {
                    println!("deal {deal}: epoch {epoch} missed by the worker; {wei} wei refunded to the client")
                }
                Settlement::PaidWorker(wei) => {
                    println!("deal {deal}: epoch {epoch} never revealed by the client; {wei} wei paid to the worker")
                }
            }
        }
        StorageDeal::Status { deal, json } => {
            let s = escrow::status(chain, &d, U256::from(deal))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                println!(
                    "deal {deal}: client {}, worker {}, {} wei per epoch{}",
                    s.client,
                    if s.accepted {
                        s.worker.to_string()
                    } else {
                        "none yet".into()
                    },
                    s.payment_per_epoch,
                    if s.cancelled { ", cancelled" } else { "" }
                );
                for e in &s.epochs {
                    println!(
                        "  epoch {}: {:?}, deadline {}",
                        e.epoch, e.state, e.deadline
                    );
                }
            }
        }
    }
    Ok(())
}
