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
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolEvent;
use mpegs_storage::epoch::{
    self, Challenge, DealContext, EpochProof, ProofShape, Public, RevealedChallenge, Secret,
    SegmentInfo,
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
    /// Revealed, never proven: the payment back to the client, the collateral burned.
    Refunded,
    /// Ended by the worker's exit before its reveal window closed.
    Cancelled,
}

impl EpochState {
    fn from_abi(v: u8) -> Self {
        match v {
            1 => EpochState::Revealed,
            2 => EpochState::Paid,
            3 => EpochState::Refunded,
            4 => EpochState::Cancelled,
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
    /// The worker ended it after a reveal it did not prove.
    Exited,
}

impl DealState {
    fn from_abi(v: u8) -> Result<Self, ChainError> {
        match v {
            1 => Ok(DealState::Offered),
            2 => Ok(DealState::Active),
            3 => Ok(DealState::Cancelled),
            4 => Ok(DealState::Exited),
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
    /// What the worker posts per epoch and forfeits (burned, never to the client)
    /// for a revealed epoch it does not prove.
    pub collateral_per_epoch: U256,
}

/// A deal as the client proposes it to the worker, who checks it against its copy
/// of the segment and signs it ([`sign_offer`]); the client then opens it with the
/// signature ([`open`]). Carried between them as JSON.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub chain_id: u64,
    pub escrow: Address,
    pub client: Address,
    /// The offer nonce (single use per worker); the challenges are bound to it.
    pub nonce: U256,
    pub worker: Address,
    pub vk_hash: B256,
    pub content: mpegs_storage::content::Content,
    pub k: u32,
    pub depth: u32,
    pub epoch_seconds: u64,
    pub reveal_window: u64,
    pub proof_window: u64,
    pub accept_by: u64,
    pub payment_per_epoch: U256,
    pub collateral_per_epoch: U256,
    /// The hidden challenge commitments, one per epoch, bound to this deal.
    pub commitments: Vec<B256>,
}

impl Proposal {
    /// The contract's `Terms` of this proposal.
    pub fn terms(&self) -> StorageEscrow::Terms {
        StorageEscrow::Terms {
            worker: self.worker,
            vkHash: self.vk_hash,
            content: B256::from(self.content.commitment_bytes()),
            size: self.content.size,
            pixelFormat: self.content.pixel_format.code(),
            k: self.k,
            width: self.content.width,
            height: self.content.height,
            frames: self.content.frames,
            depth: self.depth,
            epochs: self.commitments.len() as u32,
            epochSeconds: self.epoch_seconds,
            revealWindow: self.reveal_window,
            proofWindow: self.proof_window,
            acceptBy: self.accept_by,
            paymentPerEpoch: self.payment_per_epoch,
            collateralPerEpoch: self.collateral_per_epoch,
        }
    }

    /// The whole deposit the client pays at open.
    pub fn deposit(&self) -> U256 {
        self.payment_per_epoch * U256::from(self.commitments.len())
    }

    /// `StorageEscrow.bindingOf(client, worker, nonce, content)`.
    pub fn binding(&self) -> B256 {
        binding_of(
            self.chain_id,
            self.escrow,
            self.client,
            self.worker,
            self.nonce,
            B256::from(self.content.commitment_bytes()),
        )
    }

    /// The EIP-712 digest the worker signs (`StorageEscrow.offerDigest`).
    pub fn digest(&self) -> B256 {
        use alloy_sol_types::SolValue;
        let terms_hash = keccak256((terms_typehash(), self.terms()).abi_encode());
        let packed: Vec<u8> = self.commitments.iter().flat_map(|c| c.0).collect();
        let offer_hash = keccak256(
            (
                keccak256(OFFER_TYPE),
                self.client,
                terms_hash,
                keccak256(packed),
                self.nonce,
            )
                .abi_encode(),
        );
        let domain = alloy_sol_types::eip712_domain! {
            name: "mpegs StorageEscrow",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.escrow,
        };
        let mut bytes = vec![0x19, 0x01];
        bytes.extend_from_slice(domain.hash_struct().as_slice());
        bytes.extend_from_slice(offer_hash.as_slice());
        keccak256(bytes)
    }
}

const TERMS_TYPE: &str = "Terms(address worker,bytes32 vkHash,bytes32 content,uint64 size,uint8 pixelFormat,\
uint32 k,uint32 width,uint32 height,uint32 frames,uint32 depth,uint32 epochs,uint64 epochSeconds,\
uint64 revealWindow,uint64 proofWindow,uint64 acceptBy,uint256 paymentPerEpoch,uint256 collateralPerEpoch)";
const OFFER_TYPE: &str = "Offer(address client,Terms terms,bytes32[] commitments,uint256 nonce)\
Terms(address worker,bytes32 vkHash,bytes32 content,uint64 size,uint8 pixelFormat,\
uint32 k,uint32 width,uint32 height,uint32 frames,uint32 depth,uint32 epochs,uint64 epochSeconds,\
uint64 revealWindow,uint64 proofWindow,uint64 acceptBy,uint256 paymentPerEpoch,uint256 collateralPerEpoch)";

fn terms_typehash() -> B256 {
    keccak256(TERMS_TYPE)
}

/// `keccak256(abi.encode(keccak256("mpegs.storage.binding.v1"), chainId, escrow,
/// client, worker, nonce, content))`, exactly `StorageEscrow.bindingOf`.
pub fn binding_of(
    chain_id: u64,
    escrow: Address,
    client: Address,
    worker: Address,
    nonce: U256,
    content: B256,
) -> B256 {
    use alloy_sol_types::SolValue;
    keccak256(
        (
            keccak256("mpegs.storage.binding.v1"),
            U256::from(chain_id),
            escrow,
            client,
            worker,
            nonce,
            content,
        )
            .abi_encode(),
    )
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

/// A fresh random offer nonce (the worker signs each once; the contract refuses
/// a used one).
pub fn fresh_nonce() -> U256 {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    U256::from_be_bytes(b)
}

/// The client's proposal for the segment registered in `secret`/`public`: binds
/// the challenges to this deal (escrow, chain, client, worker, `nonce`, content;
/// [`epoch::bind`] refuses a challenge file already bound to another deal) and
/// makes the terms. The storage circuit's verifier is deployed first if the
/// sender owns the registry. The caller saves the bound files before sending the
/// proposal.
pub fn propose(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    secret: &mut Secret,
    public: &mut Public,
    offer: &Offer,
    nonce: U256,
) -> Result<Proposal, ChainError> {
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
    let id = epoch::ensure_keys(store, public.k, public.depth)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    ensure_verifiers(chain, deployment, store, std::slice::from_ref(&id))?;
    let vk = store
        .verifying_key(&id)?
        .ok_or_else(|| ChainError::Input(format!("no verifying key for {id}")))?;
    let accept_by = now(chain)? + offer.accept_within;
    let mut proposal = Proposal {
        chain_id: chain.chain_id(),
        escrow: deployment.escrow,
        client: chain.sender(),
        nonce,
        worker: offer.worker,
        vk_hash: vk_hash_word(&mpegs_zk::backend::vk_hash(&vk))?,
        content: public.content.clone(),
        k: public.k,
        depth: public.depth,
        epoch_seconds: offer.epoch_seconds,
        reveal_window: offer.reveal_window,
        proof_window: offer.proof_window,
        accept_by,
        payment_per_epoch: offer.deposit / n,
        collateral_per_epoch: offer.collateral_per_epoch,
        commitments: vec![],
    };
    epoch::bind(secret, public, proposal.binding().0)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    proposal.commitments = commitment_words(public)?;
    Ok(proposal)
}

/// How much longer than the measured time to prove an epoch the proof window must
/// be ([`check_offer`]); `MPEGS_PROOF_WINDOW_MARGIN`, default 4 (the worker's
/// machine may be busy, the transaction must still be mined).
pub const DEFAULT_PROOF_WINDOW_MARGIN: f64 = 4.0;

fn proof_window_margin() -> Result<f64, ChainError> {
    match std::env::var("MPEGS_PROOF_WINDOW_MARGIN") {
        Err(_) => Ok(DEFAULT_PROOF_WINDOW_MARGIN),
        Ok(v) => v
            .parse::<f64>()
            .ok()
            .filter(|m| m.is_finite() && *m >= 1.0)
            .ok_or_else(|| {
                ChainError::Input(format!(
                    "MPEGS_PROOF_WINDOW_MARGIN={v:?} is not a number of at least 1"
                ))
            }),
    }
}

/// What the worker's checks measured before it signed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct OfferCheck {
    /// Seconds one epoch took here: decode, hash, tree and prove (a real proof of
    /// a challenge drawn here).
    pub epoch_seconds_measured: f64,
    pub margin: f64,
    pub verifier: Address,
}

/// Everything the worker can check before it signs (and so before it posts
/// collateral): the proposal is for this chain and escrow; the content commitment,
/// size, pixel format, frame size and frame count are those of its own copy of the
/// segment; it holds the proving key whose hash the terms pin; the verifier the
/// registry pins for that hash runs exactly the code mpegs generates for the key;
/// and the proof window exceeds, by the margin, the time one epoch's proof takes
/// here (measured: decode, hash, tree, prove). The hidden challenges cannot be
/// checked: the escrow opens them only with this deal's binding, and a reveal
/// that cannot be proven costs the worker one epoch's collateral at most (`exit`).
pub fn check_offer(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    store: &KeyStore,
    proposal: &Proposal,
    segment: &Path,
) -> Result<OfferCheck, ChainError> {
    if proposal.chain_id != chain.chain_id() || proposal.escrow != deployment.escrow {
        return Err(ChainError::Input(format!(
            "the proposal is for escrow {} on chain {}, not this deployment's {} on chain {}",
            proposal.escrow,
            proposal.chain_id,
            deployment.escrow,
            chain.chain_id()
        )));
    }
    if proposal.worker != chain.sender() {
        return Err(ChainError::Input(format!(
            "the proposal names worker {}, not this account {}",
            proposal.worker,
            chain.sender()
        )));
    }
    let local = mpegs_storage::content::content(segment)
        .map_err(|e| ChainError::Input(format!("{}: {e}", segment.display())))?;
    if local != proposal.content {
        let p = &proposal.content;
        return Err(ChainError::Input(format!(
            "the proposal's segment is not the one at {}: it names {} bytes, {}x{} {} with {} frames, \
             content {}; the local file is {} bytes, {}x{} {} with {} frames, content {}",
            segment.display(),
            p.size,
            p.width,
            p.height,
            p.pixel_format.name(),
            p.frames,
            p.commitment,
            local.size,
            local.width,
            local.height,
            local.pixel_format.name(),
            local.frames,
            local.commitment
        )));
    }
    let circuit = epoch::circuit_id(proposal.k, proposal.depth);
    let vk = store
        .verifying_key_for(
            &circuit,
            &epoch::circuit_description(proposal.k, proposal.depth),
        )?
        .filter(|_| store.has_proving_key(&circuit))
        .ok_or_else(|| {
            ChainError::Input(format!(
                "the proposal needs circuit {circuit}, whose proving key is not in the key store: \
                 import the key set its verifier was made from (`mpegs keys import`) before signing"
            ))
        })?;
    if vk_hash_word(&mpegs_zk::backend::vk_hash(&vk))? != proposal.vk_hash {
        return Err(ChainError::Input(format!(
            "the proposal pins another key for {circuit} than the key store holds: no proof made here could pass"
        )));
    }
    let verifier = crate::deployment::registered_verifier(chain, deployment, proposal.vk_hash)?;
    if verifier == Address::ZERO || !crate::deployment::verifier_code_matches(chain, verifier, &vk)?
    {
        return Err(ChainError::Input(format!(
            "the verifier the registry pins for {} ({verifier}) does not run the code generated \
             for this key: a proof made here might not pass it",
            proposal.vk_hash
        )));
    }
    let measured = measure_epoch(store, proposal, segment)?;
    let margin = proof_window_margin()?;
    if (proposal.proof_window as f64) < measured * margin {
        return Err(ChainError::Input(format!(
            "the proof window of {} s is too short: one epoch's proof takes {measured:.1} s here, \
             and the window must allow {margin}x that (MPEGS_PROOF_WINDOW_MARGIN)",
            proposal.proof_window
        )));
    }
    Ok(OfferCheck {
        epoch_seconds_measured: measured,
        margin,
        verifier,
    })
}

/// Seconds one epoch's proof of this segment takes here: a challenge drawn here
/// (largest region, k indices), then exactly what `prove_epoch` does.
fn measure_epoch(store: &KeyStore, proposal: &Proposal, segment: &Path) -> Result<f64, ChainError> {
    let started = std::time::Instant::now();
    let c = &proposal.content;
    let side = epoch::region_side(c.pixel_format, c.width, c.height)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    let region = Region {
        x: 0,
        y: 0,
        size: side,
    };
    let (_, mut hashes) = epoch::hash_regions(
        mpegs_storage::planes::PlaneFrames::open(segment)
            .map_err(|e| ChainError::Input(e.to_string()))?,
        &[region],
    )
    .map_err(|e| ChainError::Input(e.to_string()))?;
    let tree = mpegs_storage::tree::SegmentTree::new(hashes.remove(0));
    let revealed = RevealedChallenge {
        epoch: 0,
        region,
        root: tree.root(),
        indices: (0..proposal.k).collect(),
        commitment: hex::encode([0u8; 32]),
        nonce: ark_bn254::Fr::from(1u64),
    };
    let shape = ProofShape {
        segment: SegmentInfo {
            width: c.width,
            height: c.height,
            frames: c.frames,
        },
        k: proposal.k,
        depth: proposal.depth,
    };
    epoch::prove_revealed(segment, &shape, &revealed, None, store)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    Ok(started.elapsed().as_secs_f64())
}

/// The worker checks the proposal ([`check_offer`]) and signs it with `signer`
/// (its own key: the signature is what lets the client open the deal).
pub fn sign_offer(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    store: &KeyStore,
    proposal: &Proposal,
    segment: &Path,
    signer: &PrivateKeySigner,
) -> Result<(Bytes, OfferCheck), ChainError> {
    if signer.address() != proposal.worker {
        return Err(ChainError::Input(format!(
            "the proposal names worker {}, not the signing key's {}",
            proposal.worker,
            signer.address()
        )));
    }
    let check = check_offer(chain, deployment, store, proposal, segment)?;
    Ok((sign_digest(proposal, signer)?, check))
}

/// Signs the proposal's digest without any check (tests use it to forge offers).
pub fn sign_digest(proposal: &Proposal, signer: &PrivateKeySigner) -> Result<Bytes, ChainError> {
    use alloy::signers::SignerSync;
    let sig = signer
        .sign_hash_sync(&proposal.digest())
        .map_err(|e| ChainError::Input(format!("signing the offer: {e}")))?;
    Ok(Bytes::from(sig.as_bytes().to_vec()))
}

/// Opens the deal the worker signed; returns its id and gas.
pub fn open(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    proposal: &Proposal,
    signature: &Bytes,
) -> Result<(U256, u64), ChainError> {
    let call = StorageEscrow::openCall {
        terms: proposal.terms(),
        commitments: proposal.commitments.clone(),
        nonce: proposal.nonce,
        signature: signature.clone(),
    };
    let receipt = transact(chain, deployment.escrow, &call, proposal.deposit())?;
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
    // The verifier was fixed when the deal opened, possibly after the worker
    // checked the registry's pin: check the one the deal will call.
    let t = &d.terms;
    let circuit = epoch::circuit_id(t.k, t.depth);
    let vk = store
        .verifying_key_for(&circuit, &epoch::circuit_description(t.k, t.depth))?
        .ok_or_else(|| ChainError::Input(format!("no verifying key for {circuit}")))?;
    if !crate::deployment::verifier_code_matches(chain, d.verifier, &vk)? {
        return Err(ChainError::Input(format!(
            "deal {id}'s verifier {} does not run the code generated for its key: not accepting",
            d.verifier
        )));
    }
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
    /// payment back; the epoch's collateral (the second value) is burned.
    RefundedClient(U256, U256),
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
            return Ok(Settlement::RefundedClient(e.amount, e.burned));
        }
        if let Ok(e) = StorageEscrow::EpochPaid::decode_log(log) {
            return Ok(Settlement::PaidWorker(e.amount));
        }
    }
    Err(ChainError::Evm(
        "settle() emitted no settlement event".into(),
    ))
}

/// What the worker's exit did: epochs from `from_epoch` on are cancelled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exited {
    pub from_epoch: u32,
    /// Payments credited back to the client.
    pub refund: U256,
    /// Collateral credited back to the worker.
    pub returned: U256,
    pub gas: u64,
}

/// The worker ends deal `id` after `epoch` was revealed and not proven (say its
/// root is not the agreed content's): the epochs not yet revealed are cancelled.
pub fn exit(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    id: U256,
    epoch: u32,
) -> Result<Exited, ChainError> {
    let receipt = transact(
        chain,
        deployment.escrow,
        &StorageEscrow::exitCall { id, epoch },
        U256::ZERO,
    )?;
    let e = receipt
        .logs
        .iter()
        .find_map(|log| StorageEscrow::DealExited::decode_log(log).ok())
        .ok_or_else(|| ChainError::Evm("exit() emitted no DealExited event".into()))?;
    Ok(Exited {
        from_epoch: e.fromEpoch,
        refund: e.refund,
        returned: e.returned,
        gas: receipt.gas_used,
    })
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
        let started = matches!(state, DealState::Active | DealState::Exited);
        let (reveal_opens, reveal_closes, proof_deadline) = if started {
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
