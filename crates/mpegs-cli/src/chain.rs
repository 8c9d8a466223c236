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
    /// exits 1 if it is unregistered, revoked (itself or an ancestor), or names
    /// another device. Records are kept per capture device.
    Status {
        target: String,
        /// Bundle of a media file (default: <media>.mpegs.json).
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// The capture device whose record to show (default: the device the
        /// bundle names; needed for a bare commitment).
        #[arg(long)]
        device: Option<String>,
        /// Whose anchors to show where no verified record exists (default: the
        /// current account). Anchors are each account's own claims.
        #[arg(long)]
        anchored_by: Option<String>,
        /// Print the status (valid, reason, entries, …) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a record of your device's history (a commitment 0x… or a media
    /// file; an original or an edit on it): as the device's account, or with
    /// --device-key (signed, relayed by the current account). Revoking a record
    /// revokes every edit built on it.
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
    /// Client: propose a deal for a registered segment to a named worker: binds
    /// the challenge files to this deal (rewritten in place; a file already bound
    /// to another deal is refused) and writes the proposal the worker signs.
    Propose {
        /// The public file of `mpegs storage register`.
        #[arg(long)]
        challenge: PathBuf,
        /// The secret file of `mpegs storage register`.
        #[arg(long)]
        secret: PathBuf,
        /// Total payment, split evenly across epochs: wei, or with a unit (1.5ether, 20gwei).
        #[arg(long)]
        deposit: String,
        /// The worker's address: only it can sign and accept.
        #[arg(long)]
        worker: String,
        /// What the worker posts per epoch, burned for a revealed epoch it does not prove.
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
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Worker: check a proposal against the local segment (content, size, frames,
    /// pixel format), the key store, the verifier's code and the measured proving
    /// time, then sign it with the current account; prints the signature.
    Sign { proposal: PathBuf, segment: PathBuf },
    /// Client: open the deal the worker signed, depositing the payment.
    Open {
        proposal: PathBuf,
        #[arg(long)]
        signature: String,
    },
    /// Worker: end a deal after epoch E was revealed and not proven; the epochs
    /// not yet revealed are cancelled (payments back, collateral back).
    Exit {
        deal: u64,
        #[arg(long)]
        epoch: u32,
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
    /// Anyone, after a window: refund the client's payment for a revealed but
    /// unproven epoch (the collateral is burned), or credit the worker for an epoch
    /// the client never revealed in its window.
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
            device,
            anchored_by,
            json,
        } => {
            let status = mpegs_app::chain::status(
                &mut session,
                &target,
                bundle.as_deref(),
                device.as_deref(),
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
        ChainAction::Storage { action } => storage(&mut session, &config.chain, action, &store)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// The history as recorded, newest first; revocations and a device mismatch
/// go to stderr (the verdict is the exit code).
fn print_status(s: &ChainStatus) {
    if s.entries.is_empty() {
        println!(
            "{}: {}",
            s.commitment,
            s.reason.as_deref().unwrap_or("not registered")
        );
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
        let revoked = match (e.revoked_at, e.revoked_via) {
            (Some(t), Some(via)) if via != e.commitment => {
                format!(", REVOKED at {t} through its ancestor {via}")
            }
            (Some(t), _) => format!(", REVOKED at {t}"),
            (None, _) => String::new(),
        };
        println!(
            "{indent}  {device}, registered by {} at {}{proofs}{revoked}",
            e.registrant, e.registered_at
        );
    }
    if let Some(r) = &s.revoked {
        eprintln!(
            "REVOKED: {} was revoked by its device at {}; do not rely on this history",
            r.commitment, r.at
        );
    }
    if let Some(m) = &s.device_mismatch {
        eprintln!(
            "MISMATCH: asked about device {:#x}, the bundle names {}",
            m.recorded, m.claimed
        );
    }
}

fn storage(
    session: &mut Session,
    settings: &ChainSettings,
    action: StorageDeal,
    store: &impl Fn() -> Result<mpegs_zk::keys::KeyStore, mpegs_app::AppError>,
) -> Result<()> {
    let mut d = session.deployment()?;
    let chain = session.chain.as_mut();
    match action {
        StorageDeal::Propose {
            challenge,
            secret,
            deposit,
            worker,
            collateral,
            epoch_seconds,
            reveal_window,
            proof_window,
            accept_within,
            output,
        } => {
            let mut public: Public = read_json(&challenge)?;
            let mut secret_file: Secret = read_json(&secret)?;
            let offer = escrow::Offer {
                worker: parse_address(&worker, "--worker")?,
                epoch_seconds,
                reveal_window,
                proof_window,
                accept_within,
                deposit: parse_amount(&deposit)?,
                collateral_per_epoch: parse_amount(&collateral)?,
            };
            let result = escrow::propose(
                chain,
                &mut d,
                &store()?,
                &mut secret_file,
                &mut public,
                &offer,
                escrow::fresh_nonce(),
            );
            d.save(&session.deployment_path)?;
            let proposal = result?;
            // The bound files first: a proposal without them could never be revealed.
            mpegs_media::write_json(&secret, &secret_file)?;
            mpegs_media::write_json(&challenge, &public)?;
            mpegs_media::write_json(&output, &proposal)?;
            println!(
                "proposal for {}: {} epochs of {epoch_seconds} s, {} wei, {} wei collateral per epoch, \
                 content {} → {} (challenge files bound to it; the worker signs it with `mpegs chain storage sign`)",
                offer.worker,
                proposal.commitments.len(),
                offer.deposit,
                offer.collateral_per_epoch,
                proposal.content.commitment,
                output.display()
            );
        }
        StorageDeal::Sign { proposal, segment } => {
            let proposal: escrow::Proposal = read_json(&proposal)?;
            let (signer, _) = mpegs_chain::accounts::select_signer(
                settings.key_file.as_deref(),
                settings.key.as_deref(),
                settings.account,
            )?;
            let (signature, check) =
                escrow::sign_offer(chain, &d, &store()?, &proposal, &segment, &signer)?;
            eprintln!(
                "checked: content {} matches {}, verifier {} runs the generated code, one epoch proves in \
                 {:.1} s here (window {} s, margin {}x)",
                proposal.content.commitment,
                segment.display(),
                check.verifier,
                check.epoch_seconds_measured,
                proposal.proof_window,
                check.margin
            );
            println!("{signature}");
        }
        StorageDeal::Open {
            proposal,
            signature,
        } => {
            let proposal: escrow::Proposal = read_json(&proposal)?;
            let signature: mpegs_chain::alloy_primitives::Bytes =
                signature.trim().parse().context("--signature is not hex")?;
            let (id, gas) = escrow::open(chain, &d, &proposal, &signature)?;
            println!(
                "deal {id} opened with {}: {} epochs, {} wei deposited ({gas} gas); the worker accepts with \
                 `mpegs chain storage accept {id}`",
                proposal.worker,
                proposal.commitments.len(),
                proposal.deposit()
            );
        }
        StorageDeal::Exit { deal, epoch } => {
            let e = escrow::exit(chain, &d, U256::from(deal), epoch)?;
            println!(
                "deal {deal} ended from epoch {}: {} wei back to the client, {} wei collateral back to the worker ({} gas)",
                e.from_epoch, e.refund, e.returned, e.gas
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
                Settlement::RefundedClient(wei, burned) => {
                    println!("deal {deal}: epoch {epoch} revealed and not proven; the client's payment ({wei} wei) credited back, the worker's collateral ({burned} wei) burned")
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
