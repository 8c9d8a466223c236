//! `mpegs chain`: provenance and storage deals on an EVM chain (docs/chain.md).
//!
//! The default chain is embedded (revm, state in `$MPEGS_HOME/chain/embedded.json`);
//! `--rpc-url` talks to a node instead. Exit codes: 0 ok, 1 rejected on-chain (a
//! revert: bad proof, signature, replay…) or not registered, 2 bad input.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use mpegs_chain::accounts::{select_signer, KeySource};
use mpegs_chain::alloy_primitives::{utils::parse_units, Address, B256, U256};
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
    /// Show the on-chain provenance of a commitment (0x…) or a media file;
    /// exits 1 if it is unregistered, revoked, or names another device.
    Status {
        target: String,
        /// Bundle of a media file (default: <media>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Whose anchors to show where no verified record exists (default: the
        /// current account). Anchors are each account's own claims.
        #[arg(long)]
        anchored_by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a record (a commitment 0x… or a media file): as its registrant, or
    /// with --device-key as the original's capture device (signed, relayed by the
    /// current account).
    Revoke {
        target: String,
        /// Bundle of a media file (default: <media>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Why (recorded in the Revoked event).
        #[arg(long)]
        reason: String,
        /// The device key (`mpegs keygen`) that signed the original.
        #[arg(long)]
        device_key: Option<PathBuf>,
        /// How long the device's signature stays valid.
        #[arg(long, default_value_t = 3600)]
        valid_for: u64,
    },
    /// Print the current account's address.
    Address,
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
    /// Client: offer a deal for a registered segment (its public challenge file)
    /// to a named worker.
    Open {
        /// The public file of `mpegs storage register`.
        #[arg(long)]
        challenge: PathBuf,
        /// Total payment, split evenly across epochs: wei, or with a unit (1.5ether, 20gwei).
        #[arg(long)]
        deposit: String,
        /// The worker's address: only it can accept.
        #[arg(long)]
        worker: String,
        /// What the worker posts per epoch, forfeited to the client for a missed epoch.
        #[arg(long, default_value = "0")]
        collateral: String,
        /// Length of each epoch.
        #[arg(long, default_value_t = 3600)]
        epoch_seconds: u64,
        /// Seconds after each epoch's start in which the client must reveal.
        #[arg(long, default_value_t = 600)]
        reveal_window: u64,
        /// Seconds the worker has to prove after each reveal (at least the escrow's minimum).
        #[arg(long, default_value_t = mpegs_chain::deployment::DEFAULT_MIN_PROOF_WINDOW)]
        proof_window: u64,
        /// Seconds the worker has to accept.
        #[arg(long, default_value_t = escrow::DEFAULT_ACCEPT_WITHIN)]
        accept_within: u64,
    },
    /// Worker: accept a deal named to it, posting the collateral (starts the clock).
    /// Refused here unless the key store holds the deal's pinned proving key.
    Accept { deal: u64 },
    /// Client: withdraw an offer nobody accepted (the deposit becomes withdrawable).
    Cancel { deal: u64 },
    /// Worker: prove epoch E of a deal from the stored segment; the challenge and
    /// the deal's context come from the chain.
    Prove {
        deal: u64,
        segment: PathBuf,
        #[arg(long)]
        epoch: u32,
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Client: reveal epoch E's challenge on-chain.
    Reveal {
        deal: u64,
        /// The secret file of `mpegs storage register`.
        #[arg(long)]
        secret: PathBuf,
        #[arg(long)]
        epoch: u32,
    },
    /// Worker: submit an epoch proof (`mpegs chain storage prove`); credited if it verifies.
    Submit {
        deal: u64,
        #[arg(long)]
        proof: PathBuf,
    },
    /// Anyone, after a window: credit the client for a revealed but unproven
    /// epoch (payment and collateral), or the worker for an epoch the client never
    /// revealed in its window.
    Settle {
        deal: u64,
        #[arg(long)]
        epoch: u32,
    },
    /// Collect everything the escrow owes the current account.
    Withdraw,
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
            anchored_by,
            json,
        } => return status(&mut session, &target, bundle, anchored_by, json),
        ChainAction::Revoke {
            target,
            bundle,
            reason,
            device_key,
            valid_for,
        } => revoke(
            &mut session,
            &target,
            bundle,
            &reason,
            device_key,
            valid_for,
        ),
        ChainAction::Address => {
            println!("{}", session.chain.sender());
            Ok(())
        }
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

/// The commitment a `status`/`revoke` target names, and the device its bundle
/// claims (for a media file).
fn target_commitment(target: &str, bundle: Option<PathBuf>) -> Result<(B256, Option<String>)> {
    if target.starts_with("0x") && !Path::new(target).exists() {
        let c = target
            .parse::<B256>()
            .with_context(|| format!("{target:?} is not a 32-byte 0x… commitment"))?;
        return Ok((c, None));
    }
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
    Ok((hex.parse::<B256>().context("commitment")?, device))
}

fn parse_address(text: &str, what: &str) -> Result<Address> {
    text.parse::<Address>()
        .with_context(|| format!("{what} {text:?} is not a 0x… address"))
}

fn status(
    session: &mut Session,
    target: &str,
    bundle: Option<PathBuf>,
    anchored_by: Option<String>,
    json: bool,
) -> Result<ExitCode> {
    let (commitment, expected_device) = target_commitment(target, bundle)?;
    let anchorer = match anchored_by {
        Some(a) => parse_address(&a, "--anchored-by")?,
        None => session.chain.sender(),
    };
    let d = session.deployment()?;
    let entries = registry::status(session.chain.as_mut(), &d, commitment, anchorer)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    }
    if entries.is_empty() {
        if !json {
            println!("{commitment}: not registered on chain {}", d.chain_id);
        }
        return Ok(ExitCode::from(1));
    }
    if !json {
        print_status(&entries);
    }
    let mut verdict = ExitCode::SUCCESS;
    if let Some(revoked) = entries.iter().find(|e| e.revoked_at.is_some()) {
        eprintln!(
            "REVOKED: {} was revoked at {}; do not rely on this history",
            revoked.commitment,
            revoked.revoked_at.unwrap_or_default()
        );
        verdict = ExitCode::from(1);
    }
    let origin_device = entries
        .iter()
        .find(|e| e.kind == "original")
        .and_then(|e| e.device);
    if let (Some(device), Some(recorded)) = (expected_device, origin_device) {
        if format!("{recorded:#x}") != device {
            eprintln!(
                "MISMATCH: the chain records device {recorded:#x}, the bundle names {device}"
            );
            verdict = ExitCode::from(1);
        }
    }
    Ok(verdict)
}

fn print_status(entries: &[registry::StatusEntry]) {
    for (i, e) in entries.iter().enumerate() {
        let indent = "  ".repeat(i);
        println!("{indent}{} {} — {}", e.commitment, e.kind, e.verification);
        let device = e
            .device
            .map_or("no device claimed".to_string(), |d| format!("device {d}"));
        let proofs = if e.proofs > 0 {
            format!(", {} proofs", e.proofs)
        } else {
            String::new()
        };
        let revoked = e
            .revoked_at
            .map_or(String::new(), |t| format!(", REVOKED at {t}"));
        println!(
            "{indent}  {device}, registered by {} at {}{proofs}{revoked}",
            e.registrant, e.registered_at
        );
    }
}

fn revoke(
    session: &mut Session,
    target: &str,
    bundle: Option<PathBuf>,
    reason: &str,
    device_key: Option<PathBuf>,
    valid_for: u64,
) -> Result<()> {
    let (commitment, _) = target_commitment(target, bundle)?;
    let d = session.deployment()?;
    let chain = session.chain.as_mut();
    let gas = match device_key {
        Some(path) => {
            let key = mpegs_provenance::attest::DeviceKey::load(&path)?;
            let deadline = chain.timestamp()?.max(unix_now()) + valid_for;
            registry::revoke_by_device(chain, &d, commitment, reason, deadline, &key)?
        }
        None => registry::revoke(chain, &d, commitment, reason)?,
    };
    println!("{commitment} revoked ({gas} gas)");
    Ok(())
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
            deposit,
            worker,
            collateral,
            epoch_seconds,
            reveal_window,
            proof_window,
            accept_within,
        } => {
            let public: Public = read_json(&challenge)?;
            let offer = escrow::Offer {
                worker: parse_address(&worker, "--worker")?,
                epoch_seconds,
                reveal_window,
                proof_window,
                accept_within,
                deposit: parse_amount(&deposit)?,
                collateral_per_epoch: parse_amount(&collateral)?,
            };
            let result = escrow::open(chain, &mut d, &store()?, &public, &offer);
            d.save(&session.deployment_path)?;
            let (id, gas) = result?;
            println!(
                "deal {id} offered to {}: {} epochs of {epoch_seconds} s (reveal within {reveal_window} s, \
                 prove within {proof_window} s of each reveal), {} wei deposited, {} wei collateral per epoch \
                 ({gas} gas)",
                offer.worker,
                public.commitments.len(),
                offer.deposit,
                offer.collateral_per_epoch
            );
        }
        StorageDeal::Accept { deal } => {
            let gas = escrow::accept(chain, &d, &store()?, U256::from(deal))?;
            println!("deal {deal} accepted by {} ({gas} gas)", chain.sender());
        }
        StorageDeal::Cancel { deal } => {
            let gas = escrow::cancel(chain, &d, U256::from(deal))?;
            println!("deal {deal} cancelled; the deposit can be withdrawn ({gas} gas)");
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
            match escrow::reveal(chain, &d, U256::from(deal), c)? {
                escrow::Revealed::Open {
                    proof_deadline,
                    gas,
                } => println!(
                    "deal {deal}: epoch {epoch} revealed; the worker must prove by {proof_deadline} ({gas} gas)"
                ),
                escrow::Revealed::Malformed { paid, gas } => println!(
                    "deal {deal}: epoch {epoch}'s committed challenge cannot be proven; {paid} wei credited to the worker ({gas} gas)"
                ),
            }
        }
        StorageDeal::Prove {
            deal,
            segment,
            epoch,
            output,
        } => {
            let proof =
                escrow::prove_epoch(chain, &d, &store()?, U256::from(deal), epoch, &segment)?;
            mpegs_media::write_json(&output, &proof)?;
            println!(
                "deal {deal}: epoch {epoch} proved, bound to this deal → {}",
                output.display()
            );
        }
        StorageDeal::Submit { deal, proof } => {
            let proof: EpochProof = read_json(&proof)?;
            let gas = escrow::submit(chain, &d, U256::from(deal), &proof)?;
            println!(
                "deal {deal}: epoch {} proof verified on-chain, worker credited ({gas} gas)",
                proof.epoch
            );
        }
        StorageDeal::Settle { deal, epoch } => {
            match escrow::settle(chain, &d, U256::from(deal), epoch)? {
                Settlement::RefundedClient(wei) => {
                    println!("deal {deal}: epoch {epoch} missed by the worker; {wei} wei (payment and collateral) credited to the client")
                }
                Settlement::PaidWorker(wei) => {
                    println!("deal {deal}: epoch {epoch} never revealed by the client; {wei} wei credited to the worker")
                }
            }
        }
        StorageDeal::Withdraw => {
            let (wei, gas) = escrow::withdraw(chain, &d)?;
            println!("{wei} wei withdrawn to {} ({gas} gas)", chain.sender());
        }
        StorageDeal::Status { deal, json } => {
            let s = escrow::status(chain, &d, U256::from(deal))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print_deal(&s);
            }
        }
    }
    Ok(())
}

fn print_deal(s: &escrow::DealStatus) {
    println!(
        "deal {}: {:?}, client {}, worker {}, {} wei per epoch, {} wei collateral per epoch",
        s.id, s.state, s.client, s.worker, s.payment_per_epoch, s.collateral_per_epoch
    );
    println!(
        "  k = {} of {} frames, verifier {}, epochs of {} s, reveal window {} s, proof window {} s, accept by {}",
        s.k, s.frames, s.verifier, s.epoch_seconds, s.reveal_window, s.proof_window, s.accept_by
    );
    for e in &s.epochs {
        let proof = if e.proof_deadline > 0 {
            format!(", prove by {}", e.proof_deadline)
        } else {
            String::new()
        };
        println!(
            "  epoch {}: {:?}, reveal {}–{}{proof}",
            e.epoch, e.state, e.reveal_opens, e.reveal_closes
        );
    }
    println!(
        "  owed: client {} wei, worker {} wei (`mpegs chain storage withdraw`)",
        s.client_owed, s.worker_owed
    );
}
