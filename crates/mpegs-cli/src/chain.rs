//! `mpegs chain`: provenance and storage deals on an EVM chain (docs/chain.md).
//!
//! The default chain is embedded (revm, state in `$MPEGS_HOME/chain/embedded.json`);
//! `--rpc-url` talks to a node instead. Exit codes: 0 ok, 1 rejected on-chain (a
//! revert: bad proof, signature, replay…) or not registered, 2 bad input.
//!
//! The session (which chain, as whom) and the provenance use cases — deploy,
//! register (verified here first), status, revoke — are `mpegs_app::chain`;
//! storage deals call the escrow flows of `mpegs_chain` over that session.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use mpegs_app::chain::{parse_address, parse_amount, ChainStatus, Mode, Session};
use mpegs_app::ChainSettings;
use mpegs_chain::alloy_primitives::U256;
use mpegs_chain::escrow::{self, Settlement};
use mpegs_media::read_json;
use mpegs_storage::epoch::{EpochProof, Public, Secret};
use std::path::PathBuf;
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
        /// Print the status (valid, reason, entries, …) as JSON.
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

impl ChainArgs {
    fn settings(&self) -> ChainSettings {
        ChainSettings {
            rpc_url: self.rpc_url.clone(),
            key_file: self.key_file.clone(),
            key: std::env::var("MPEGS_CHAIN_KEY").ok(),
            account: self.account,
            state: self.state.clone(),
            deployment: self.deployment.clone(),
        }
    }
}

pub fn run(args: ChainArgs) -> Result<ExitCode> {
    let mut config = crate::config()?;
    config.chain = args.settings();
    let mut session = Session::open(&config)?;
    let store = || config.key_store();
    match args.action {
        ChainAction::Deploy { force } => {
            let done = mpegs_app::chain::deploy(&mut session, force)?;
            let d = &done.deployment;
            if done.new {
                println!(
                    "deployed on chain {} by {}\n  MediaRegistry {} ({} gas)\n  StorageEscrow {} ({} gas)\n  → {}",
                    d.chain_id,
                    d.owner,
                    d.registry,
                    d.registry_deploy_gas,
                    d.escrow,
                    d.escrow_deploy_gas,
                    done.path.display()
                );
            } else {
                println!(
                    "already deployed on chain {}: MediaRegistry {}, StorageEscrow {} (use --force to deploy again)",
                    d.chain_id, d.registry, d.escrow
                );
            }
        }
        ChainAction::Register {
            media,
            bundle,
            anchor,
        } => {
            let store = store()?;
            // Nothing is sent unless it verifies here first.
            let verified =
                mpegs_app::chain::verify_for_registration(&media, bundle.as_deref(), &store)?;
            let mode = if anchor { Mode::Anchor } else { Mode::Auto };
            eprintln!(
                "registering {} (new circuits get verifiers compiled with solc first)…",
                media.display()
            );
            let done = mpegs_app::chain::register_verified(&mut session, &verified, mode, &store)?;
            for r in &done.items {
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
        }
        ChainAction::Status {
            target,
            bundle,
            anchored_by,
            json,
        } => {
            let status = mpegs_app::chain::status(
                &mut session,
                &target,
                bundle.as_deref(),
                anchored_by.as_deref(),
            )?;
            if json {
                crate::print_json(&status)?;
            } else {
                print_status(&status);
            }
            return Ok(crate::verdict(status.valid));
        }
        ChainAction::Revoke {
            target,
            bundle,
            reason,
            device_key,
            valid_for,
        } => {
            let r = mpegs_app::chain::revoke(
                &mut session,
                &target,
                bundle.as_deref(),
                &reason,
                device_key.as_deref(),
                valid_for,
            )?;
            println!("{} revoked ({} gas)", r.commitment, r.gas_used);
        }
        ChainAction::Address => println!("{}", session.chain.sender()),
        ChainAction::Advance { seconds } => {
            session.chain.advance_time(seconds)?;
            println!(
                "clock moved {seconds} s; now {}",
                session.chain.timestamp()?
            );
        }
        ChainAction::Storage { action } => storage(&mut session, action, &store)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The history as recorded, newest first; revocations and a device mismatch
/// go to stderr (the verdict is the exit code).
fn print_status(s: &ChainStatus) {
    if s.entries.is_empty() {
        println!("{}: not registered on chain {}", s.commitment, s.chain_id);
        return;
    }
    for (i, e) in s.entries.iter().enumerate() {
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
    if let Some(r) = &s.revoked {
        eprintln!(
            "REVOKED: {} was revoked at {}; do not rely on this history",
            r.commitment, r.at
        );
    }
    if let Some(m) = &s.device_mismatch {
        eprintln!(
            "MISMATCH: the chain records device {:#x}, the bundle names {}",
            m.recorded, m.claimed
        );
    }
}

fn storage(
    session: &mut Session,
    action: StorageDeal,
    store: &impl Fn() -> Result<mpegs_zk::keys::KeyStore, mpegs_app::AppError>,
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
