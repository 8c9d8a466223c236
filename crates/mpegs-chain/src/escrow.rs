//! Storage deals on-chain (`StorageEscrow`), driven by the files of
//! `mpegs storage register|reveal` and the segment the worker stores:
//!
//! - **open** (client): names the worker, the public file's epoch commitments and
//!   segment shape, the schedule (epoch length, reveal and proof windows), the
//!   worker's collateral, and deposits the payment, split evenly across epochs;
//! - **accept** (the named worker, who first checks it holds the pinned proving key):
//!   posts the collateral and starts the clock;
//! - **reveal** (client, inside the epoch's reveal window): one epoch's challenge;
//! - **prove** (worker): reads the revealed challenge and the deal's context from
//!   the chain and proves it, bound to this deal ([`prove_epoch`]);
//! - **submit** (worker, inside the proof window): verified on-chain, pays the epoch;
//! - **settle** (anyone, after a window): an unrevealed epoch pays the worker, an
//!   unproven one pays the client (its payment and the epoch's collateral);
//! - **withdraw** (anyone owed): payouts are credited, then pulled.

use crate::abi::StorageEscrow;
use crate::chain::{transact, view, Chain};
use crate::deployment::{ensure_verifiers, Deployment};
use crate::verifier::{proof_words, vk_hash_word};
use crate::ChainError;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use mpegs_storage::epoch::{
    self, Challenge, DealContext, EpochProof, ProofShape, Public, RevealedChallenge, SegmentInfo,
};
use mpegs_storage::phash::Region;
use mpegs_zk::keys::KeyStore;
use std::path::Path;

/// How long an offer waits for its worker by default: one day.
pub const DEFAULT_ACCEPT_WITHIN: u64 = 86_400;

/// An epoch's state (the contract's `EpochState`; `uint8` in the ABI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EpochState {
    Pending,
    Revealed,
    Paid,
    Refunded,
}

impl EpochState {
    fn from_abi(v: u8) -> Self {
        match v {
            1 => EpochState::Revealed,
            2 => EpochState::Paid,
            3 => EpochState::Refunded,
            _ => EpochState::Pending,
        }
    }
}

/// A deal's state (the contract's `DealState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DealState {
    Offered,
    Active,
    Cancelled,
}

impl DealState {
    fn from_abi(v: u8) -> Result<Self, ChainError> {
        match v {
            1 => Ok(DealState::Offered),
            2 => Ok(DealState::Active),
            3 => Ok(DealState::Cancelled),
            _ => Err(ChainError::Input("no such deal".into())),
        }
    }
}

/// What a client offers besides the segment and its challenges.
#[derive(Clone, Debug)]
pub struct Offer {
    pub worker: Address,
    pub epoch_seconds: u64,
    /// Seconds after each epoch's start during which the client may reveal.
    pub reveal_window: u64,
    /// Seconds the worker has to prove after each reveal.
    pub proof_window: u64,
    /// Seconds from now the worker has to accept.
    pub accept_within: u64,
    /// The whole payment; it must split evenly across the epochs.
    pub deposit: U256,
    /// What the worker posts per epoch and forfeits to the client for a missed one.
    pub collateral_per_epoch: U256,
}

fn commitment_words(public: &Public) -> Result<Vec<B256>, ChainError> {
    public
        .commitments
        .iter()
        .map(|c| {
            hex::decode(c)
                .ok()
                .filter(|b| b.len() == 32)
                .map(|b| B256::from_slice(&b))
                .ok_or_else(|| {
                    ChainError::Input(format!("commitment {c:?} is not 32 bytes of hex"))
                })
        })
        .collect()
}

fn now(chain: &mut dyn Chain) -> Result<u64, ChainError> {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Ok(chain.timestamp()?.max(wall))
}

/// The terms `offer` makes of the segment described by `public`.
fn terms(
    public: &Public,
    offer: &Offer,
    vk_hash: B256,
    accept_by: u64,
) -> Result<StorageEscrow::Terms, ChainError> {
    let epochs = public.commitments.len() as u32;
    if epochs == 0 {
        return Err(ChainError::Input("the challenge file has no epochs".into()));
    }
    let n = U256::from(epochs);
    if offer.deposit.is_zero() || !(offer.deposit % n).is_zero() {
        return Err(ChainError::Input(format!(
            "the deposit {} wei does not split evenly across {epochs} epochs",
            offer.deposit
        )));
    }
    Ok(StorageEscrow::Terms {
        worker: offer.worker,
        vkHash: vk_hash,
        k: public.k,
        width: public.segment.width,
        height: public.segment.height,
        frames: public.segment.frames,
        depth: public.depth,
        epochs,
        epochSeconds: offer.epoch_seconds,
        revealWindow: offer.reveal_window,
        proofWindow: offer.proof_window,
        acceptBy: accept_by,
        paymentPerEpoch: offer.deposit / n,
        collateralPerEpoch: offer.collateral_per_epoch,
    })
}

/// Opens a deal for the segment described by `public`; returns its id and gas.
/// The storage circuit's verifier is deployed first if the sender owns the registry.
pub fn open(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    public: &Public,
    offer: &Offer,
) -> Result<(U256, u64), ChainError> {
    let id = epoch::ensure_keys(store, public.k, public.depth)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    ensure_verifiers(chain, deployment, store, std::slice::from_ref(&id))?;
    let vk = store
        .verifying_key(&id)?
        .ok_or_else(|| ChainError::Input(format!("no verifying key for {id}")))?;
    let accept_by = now(chain)? + offer.accept_within;
    let call = StorageEscrow::openCall {
        terms: terms(
            public,
            offer,
            vk_hash_word(&mpegs_zk::backend::vk_hash(&vk))?,
            accept_by,
        )?,
        commitments: commitment_words(public)?,
    };
    let receipt = transact(chain, deployment.escrow, &call, offer.deposit)?;
    let opened = receipt
        .logs
        .iter()
        .find_map(|log| StorageEscrow::DealOpened::decode_log(log).ok())
        .ok_or_else(|| ChainError::Evm("open() emitted no DealOpened event".into()))?;
    Ok((opened.id, receipt.gas_used))
}

/// The deal as the contract stores it.
pub fn deal(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
) -> Result<StorageEscrow::Deal, ChainError> {
    view(chain, deployment.escrow, &StorageEscrow::dealCall { id })
}

/// Checks, before accepting, that the worker could prove this deal: it holds the
/// proving key whose verifying key the deal pins (a deal under another key, or a
/// key it lacks, could never be met and would cost it its collateral).
pub fn check_provable(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    store: &KeyStore,
    id: U256,
) -> Result<StorageEscrow::Deal, ChainError> {
    let d = deal(chain, deployment, id)?;
    let t = &d.terms;
    let circuit = epoch::circuit_id(t.k, t.depth);
    let vk = store
        .verifying_key_for(&circuit, &epoch::circuit_description(t.k, t.depth))?
        .filter(|_| store.has_proving_key(&circuit))
        .ok_or_else(|| {
            ChainError::Input(format!(
                "deal {id} needs circuit {circuit}, whose proving key is not in the key store: \
                 import the key set its verifier was made from (`mpegs keys import`) before accepting"
            ))
        })?;
    if vk_hash_word(&mpegs_zk::backend::vk_hash(&vk))? != t.vkHash {
        return Err(ChainError::Input(format!(
            "deal {id} pins another key for {circuit} than the key store holds: no proof made here could pass"
        )));
    }
    Ok(d)
}

/// The named worker accepts deal `id`, posting its collateral, after checking it
/// can prove it ([`check_provable`]).
pub fn accept(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    store: &KeyStore,
    id: U256,
) -> Result<u64, ChainError> {
    let d = check_provable(chain, deployment, store, id)?;
    let collateral = d.terms.collateralPerEpoch * U256::from(d.terms.epochs);
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::acceptCall { id },
        collateral,
    )?;
    Ok(receipt.gas_used)
}

/// The client withdraws an offer nobody accepted; returns the gas used.
pub fn cancel(chain: &mut dyn Chain, deployment: &Deployment, id: U256) -> Result<u64, ChainError> {
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::cancelCall { id },
        U256::ZERO,
    )?;
    Ok(receipt.gas_used)
}

/// What revealing did: the challenge opened, or it was malformed and paid the worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revealed {
    /// The worker must prove by this time.
    Open { proof_deadline: u64, gas: u64 },
    /// The committed challenge could never be proven; the worker was paid.
    Malformed { paid: U256, gas: u64 },
}

/// Reveals `challenge` (from the client's secret file) for deal `id`.
pub fn reveal(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    challenge: &Challenge,
) -> Result<Revealed, ChainError> {
    let word = |h: &str, what: &str| {
        hex::decode(h.trim_start_matches("0x"))
            .ok()
            .filter(|b| b.len() <= 32)
            .map(|b| B256::left_padding_from(&b))
            .ok_or_else(|| ChainError::Input(format!("the challenge's {what} is not hex")))
    };
    let call = StorageEscrow::revealCall {
        id,
        epoch: challenge.epoch,
        x: challenge.region.x,
        y: challenge.region.y,
        size: challenge.region.size,
        root: word(&challenge.root, "root")?,
        salt: word(&challenge.salt, "salt")?,
        indices: challenge.indices.clone(),
    };
    let receipt = transact(chain, deployment.escrow, &call, U256::ZERO)?;
    let gas = receipt.gas_used;
    for log in &receipt.logs {
        if let Ok(e) = StorageEscrow::ChallengeRevealed::decode_log(log) {
            return Ok(Revealed::Open {
                proof_deadline: e.proofDeadline,
                gas,
            });
        }
        if let Ok(e) = StorageEscrow::EpochPaid::decode_log(log) {
            return Ok(Revealed::Malformed {
                paid: e.amount,
                gas,
            });
        }
    }
    Err(ChainError::Evm("reveal() emitted no event".into()))
}

/// The context an epoch proof of deal `id` is bound to, read from the chain.
pub fn deal_context(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
) -> Result<DealContext, ChainError> {
    let d = deal(chain, deployment, id)?;
    Ok(DealContext {
        chain_id: chain.chain_id(),
        contract: epoch::Address(deployment.escrow.into_array()),
        deal: u64::try_from(id)
            .map_err(|_| ChainError::Input(format!("deal id {id} is too large")))?,
        worker: epoch::Address(d.terms.worker.into_array()),
    })
}

/// The worker's proof of `epoch` of deal `id`: challenge, segment shape and deal
/// context all come from the chain (nothing from the client's files), and the
/// proof is made with the key the deal pins.
pub fn prove_epoch(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    store: &KeyStore,
    id: U256,
    epoch_no: u32,
    segment: &Path,
) -> Result<EpochProof, ChainError> {
    let d = check_provable(chain, deployment, store, id)?;
    let ctx = deal_context(chain, deployment, id)?;
    let c = view(
        chain,
        deployment.escrow,
        &StorageEscrow::challengeCall {
            id,
            epoch: epoch_no,
        },
    )?;
    let commitment = view(
        chain,
        deployment.escrow,
        &StorageEscrow::commitmentCall {
            id,
            epoch: epoch_no,
        },
    )?;
    let nonce = ctx.nonce(epoch_no, &commitment.0);
    if crate::verifier::fr_word(&nonce) != c.nonce {
        return Err(ChainError::Evm(format!(
            "the escrow's nonce for deal {id} epoch {epoch_no} is not the one this deal's context gives"
        )));
    }
    let root = ark_ff::PrimeField::from_be_bytes_mod_order(c.root.as_slice());
    let revealed = RevealedChallenge {
        epoch: epoch_no,
        region: Region {
            x: c.x,
            y: c.y,
            size: c.size,
        },
        root,
        indices: c.indices,
        commitment: hex::encode(commitment),
        nonce,
    };
    let t = &d.terms;
    let shape = ProofShape {
        segment: SegmentInfo {
            width: t.width,
            height: t.height,
            frames: t.frames,
        },
        k: t.k,
        depth: t.depth,
    };
    epoch::prove_revealed(segment, &shape, &revealed, Some(&ctx), store)
        .map_err(|e| ChainError::Input(e.to_string()))
}

/// The worker submits its epoch proof; returns the gas used. A proof bound to
/// another deal is refused here, before spending gas on it.
pub fn submit(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    proof: &EpochProof,
) -> Result<u64, ChainError> {
    if proof.deal != Some(deal_context(chain, deployment, id)?) {
        return Err(ChainError::Input(format!(
            "the proof is not bound to deal {id} on this chain and escrow: make it with \
             `mpegs chain storage prove {id} SEGMENT --epoch {}`",
            proof.epoch
        )));
    }
    submit_words(chain, deployment, id, proof.epoch, proof)
}

/// Sends `proof`'s words for `epoch` as they are (tests use it to replay proofs).
pub fn submit_words(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    epoch_no: u32,
    proof: &EpochProof,
) -> Result<u64, ChainError> {
    let bytes = hex::decode(proof.proof.trim_start_matches("0x"))
        .map_err(|_| ChainError::Input("the epoch proof is not hex".into()))?;
    let groth = mpegs_zk::backend::proof_from_bytes(&bytes)?;
    let call = StorageEscrow::submitCall {
        id,
        epoch: epoch_no,
        proof: proof_words(&groth),
    };
    Ok(transact(chain, deployment.escrow, &call, U256::ZERO)?.gas_used)
}

/// What settling an epoch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The client revealed, the worker never proved: the client is credited its
    /// payment back and the epoch's collateral.
    RefundedClient(U256),
    /// The client never revealed in the window: the worker is credited payment and
    /// collateral.
    PaidWorker(U256),
}

/// Settles epoch `epoch` of deal `id` after its window.
pub fn settle(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    epoch: u32,
) -> Result<Settlement, ChainError> {
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::settleCall { id, epoch },
        U256::ZERO,
    )?;
    for log in &receipt.logs {
        if let Ok(e) = StorageEscrow::EpochRefunded::decode_log(log) {
            return Ok(Settlement::RefundedClient(e.amount));
        }
        if let Ok(e) = StorageEscrow::EpochPaid::decode_log(log) {
            return Ok(Settlement::PaidWorker(e.amount));
        }
    }
    Err(ChainError::Evm(
        "settle() emitted no settlement event".into(),
    ))
}

/// What the escrow owes `who`.
pub fn owed(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    who: Address,
) -> Result<U256, ChainError> {
    view(chain, deployment.escrow, &StorageEscrow::owedCall(who))
}

/// Withdraws everything the sender is owed; returns the amount and the gas.
pub fn withdraw(chain: &mut dyn Chain, deployment: &Deployment) -> Result<(U256, u64), ChainError> {
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::withdrawCall {},
        U256::ZERO,
    )?;
    let amount = receipt
        .logs
        .iter()
        .find_map(|log| StorageEscrow::Withdrawn::decode_log(log).ok())
        .map(|e| e.amount)
        .ok_or_else(|| ChainError::Evm("withdraw() emitted no Withdrawn event".into()))?;
    Ok((amount, receipt.gas_used))
}

/// A deal as `mpegs chain storage status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DealStatus {
    pub id: U256,
    pub state: DealState,
    pub client: Address,
    pub worker: Address,
    pub verifier: Address,
    pub vk_hash: B256,
    pub k: u32,
    pub frames: u32,
    pub epoch_seconds: u64,
    pub reveal_window: u64,
    pub proof_window: u64,
    pub accept_by: u64,
    /// Unix time the worker accepted; 0 before.
    pub start: u64,
    pub payment_per_epoch: U256,
    pub collateral_per_epoch: U256,
    /// What the escrow holds for the client and the worker to withdraw.
    pub client_owed: U256,
    pub worker_owed: U256,
    pub epochs: Vec<EpochStatus>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochStatus {
    pub epoch: u32,
    pub state: EpochState,
    /// Unix times; 0 until the deal is accepted (and the proof deadline until revealed).
    pub reveal_opens: u64,
    pub reveal_closes: u64,
    pub proof_deadline: u64,
}

/// Reads deal `id`, its terms, balances and the state of each epoch.
pub fn status(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
) -> Result<DealStatus, ChainError> {
    let d = deal(chain, deployment, id)?;
    let state = DealState::from_abi(d.state)?;
    let t = &d.terms;
    let mut epochs = vec![];
    for epoch in 0..t.epochs {
        let e = view(
            chain,
            deployment.escrow,
            &StorageEscrow::epochStateCall { id, epoch },
        )?;
        let (reveal_opens, reveal_closes, proof_deadline) = if state == DealState::Active {
            let w = view(
                chain,
                deployment.escrow,
                &StorageEscrow::windowsCall { id, epoch },
            )?;
            (w.revealOpens, w.revealCloses, w.proofDeadline)
        } else {
            (0, 0, 0)
        };
        epochs.push(EpochStatus {
            epoch,
            state: EpochState::from_abi(e),
            reveal_opens,
            reveal_closes,
            proof_deadline,
        });
    }
    Ok(DealStatus {
        id,
        state,
        client: d.client,
        worker: t.worker,
        verifier: d.verifier,
        vk_hash: t.vkHash,
        k: t.k,
        frames: t.frames,
        epoch_seconds: t.epochSeconds,
        reveal_window: t.revealWindow,
        proof_window: t.proofWindow,
        accept_by: t.acceptBy,
        start: d.start,
        payment_per_epoch: t.paymentPerEpoch,
        collateral_per_epoch: t.collateralPerEpoch,
        client_owed: owed(chain, deployment, d.client)?,
        worker_owed: owed(chain, deployment, t.worker)?,
        epochs,
    })
}
