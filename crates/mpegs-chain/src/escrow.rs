//! Storage deals on-chain (`StorageEscrow`), driven by the files of
//! `mpegs storage register|reveal|prove`:
//!
//! - **open** (client): the public file's epoch commitments, `k`, the frame count,
//!   the epoch length and a deposit split evenly across epochs;
//! - **accept** (worker): starts the clock; epoch `e` ends at `start + (e+1)·length`;
//! - **reveal** (client): one epoch's challenge, checked against its commitment;
//! - **submit** (worker): the epoch proof, verified on-chain, pays that epoch;
//! - **settle** (anyone, after the deadline): a revealed but unproven epoch refunds
//!   the client; an epoch the client never revealed pays the worker.

use crate::abi::StorageEscrow;
use crate::chain::{transact, view, Chain};
use crate::deployment::{ensure_verifiers, Deployment};
use crate::verifier::{proof_words, vk_hash_word};
use crate::ChainError;
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use mpegs_storage::epoch::{Challenge, EpochProof, Public};
use mpegs_zk::keys::KeyStore;

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

/// Opens a deal for the segment described by `public`; returns its id and gas.
/// The storage circuit's verifier is deployed first if the sender owns the registry.
pub fn open(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    public: &Public,
    epoch_seconds: u64,
    deposit: U256,
) -> Result<(U256, u64), ChainError> {
    let id = mpegs_storage::epoch::ensure_keys(store, public.k, public.depth)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    ensure_verifiers(chain, deployment, store, std::slice::from_ref(&id))?;
    let vk = store
        .verifying_key(&id)?
        .ok_or_else(|| ChainError::Input(format!("no verifying key for {id}")))?;
    let commitments = public
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
        .collect::<Result<Vec<_>, _>>()?;
    let call = StorageEscrow::openCall {
        vkHash: vk_hash_word(&mpegs_zk::backend::vk_hash(&vk))?,
        k: public.k,
        frames: public.segment.frames,
        epochSeconds: epoch_seconds,
        commitments,
    };
    let receipt = transact(chain, deployment.escrow, &call, deposit)?;
    let opened = receipt
        .logs
        .iter()
        .find_map(|log| StorageEscrow::DealOpened::decode_log(log).ok())
        .ok_or_else(|| ChainError::Evm("open() emitted no DealOpened event".into()))?;
    Ok((opened.id, receipt.gas_used))
}

/// The worker accepts deal `id`.
pub fn accept(chain: &mut dyn Chain, deployment: &Deployment, id: U256) -> Result<u64, ChainError> {
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::acceptCall { id },
        U256::ZERO,
    )?;
    Ok(receipt.gas_used)
}

/// Reveals `challenge` (from the client's secret file) for deal `id`.
pub fn reveal(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    challenge: &Challenge,
) -> Result<u64, ChainError> {
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
    Ok(transact(chain, deployment.escrow, &call, U256::ZERO)?.gas_used)
}

/// The worker submits its epoch proof; returns the gas used.
pub fn submit(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    proof: &EpochProof,
) -> Result<u64, ChainError> {
    let bytes = hex::decode(proof.proof.trim_start_matches("0x"))
        .map_err(|_| ChainError::Input("the epoch proof is not hex".into()))?;
    let groth = mpegs_zk::backend::proof_from_bytes(&bytes)?;
    let call = StorageEscrow::submitCall {
        id,
        epoch: proof.epoch,
        proof: proof_words(&groth),
    };
    Ok(transact(chain, deployment.escrow, &call, U256::ZERO)?.gas_used)
}

/// What settling an epoch did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// The client revealed, the worker never proved: the client got its payment back.
    RefundedClient(U256),
    /// The client never revealed: the worker is paid.
    PaidWorker(U256),
}

/// Settles epoch `epoch` of deal `id` after its deadline.
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

/// A deal as `mpegs chain storage status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DealStatus {
    pub id: U256,
    pub client: Address,
    pub worker: Address,
    pub accepted: bool,
    pub cancelled: bool,
    pub payment_per_epoch: U256,
    pub epochs: Vec<EpochStatus>,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct EpochStatus {
    pub epoch: u32,
    pub state: EpochState,
    /// Unix time; 0 until the deal is accepted.
    pub deadline: u64,
}

/// Reads deal `id` and the state of each epoch.
pub fn status(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
) -> Result<DealStatus, ChainError> {
    let deal = view(chain, deployment.escrow, &StorageEscrow::dealCall { id })?;
    let accepted = deal.start != 0;
    let mut epochs = vec![];
    for epoch in 0..deal.epochs {
        let state = view(
            chain,
            deployment.escrow,
            &StorageEscrow::epochStateCall { id, epoch },
        )?;
        let deadline = if accepted {
            view(
                chain,
                deployment.escrow,
                &StorageEscrow::deadlineCall { id, epoch },
            )?
        } else {
            0
        };
        epochs.push(EpochStatus {
            epoch,
            state: EpochState::from_abi(state),
            deadline,
        });
    }
    Ok(DealStatus {
        id,
        client: deal.client,
        worker: deal.worker,
        accepted,
        cancelled: deal.cancelled,
        payment_per_epoch: deal.paymentPerEpoch,
        epochs,
    })
}
