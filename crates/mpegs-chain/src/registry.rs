//! Provenance on-chain: a bundle becomes `MediaRegistry` records, oldest first.
//!
//! - An **original** is registered with its device's EIP-712 signature, which the
//!   contract checks with `ecrecover`.
//! - An **edit** is registered with every tile proof of every step, each verified
//!   on-chain by the verifier pinned for its key, and each step's statement
//!   (filter + per-tile key hashes and public inputs) approved by the registry owner.
//! - An edit with more proofs than fit a block's gas (or when asked) is **anchored**:
//!   only the bundle's hash is recorded, as the sender's own claim (keyed by
//!   commitment and anchorer, naming no device), marked as verified off-chain.
//! - A record can be **revoked** by its registrant or, for an original, by its
//!   device (directly or with an EIP-712 signature bound to chain and registry).

use crate::abi::MediaRegistry;
use crate::chain::{transact, view, Chain};
use crate::deployment::{ensure_verifiers, Deployment};
use crate::verifier::{fr_word, proof_words, vk_hash_word};
use crate::ChainError;
use alloy_primitives::{keccak256, Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use mpegs_media::poseidon::fr_from_hex;
use mpegs_provenance::bundle::{Bundle, StepRecord};
use mpegs_zk::keys::KeyStore;
use sha2::{Digest, Sha256};

/// A verified record's kind (the contract's `Kind` enum; the ABI carries it as
/// `uint8`). Anchors are not records: see [`anchor_of`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    Original,
    Edit,
}

impl Kind {
    pub fn from_abi(value: u8) -> Self {
        match value {
            1 => Kind::Original,
            2 => Kind::Edit,
            _ => Kind::None,
        }
    }
}

/// More tile proofs than this are anchored instead of verified (about 250k gas
/// each; 64 proofs stay well inside a 30M-gas block).
pub const MAX_ONCHAIN_PROOFS: usize = 64;

/// How to register an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Verify on-chain when it fits, else anchor.
    Auto,
    /// Only anchor the bundle hash.
    Anchor,
}

/// What happened to one item of the chain.
#[derive(Clone, Debug)]
pub struct Registered {
    pub commitment: B256,
    /// `original`, `edit`, `anchored` or `already registered (<kind>)`.
    pub outcome: String,
    pub gas_used: u64,
    pub proofs: usize,
}

/// A field element of the bundle as a `bytes32`.
fn commitment_word(hex: &str) -> Result<B256, ChainError> {
    let fr = fr_from_hex(hex).map_err(ChainError::Input)?;
    Ok(B256::from(fr_word(&fr)))
}

/// The hash an anchored record carries: sha256 of the bundle as mpegs writes it.
pub fn bundle_hash(bundle: &Bundle) -> B256 {
    let json = serde_json::to_vec_pretty(bundle).expect("bundles serialize");
    B256::from_slice(&Sha256::digest(json))
}

/// The registry's record of `commitment`.
pub fn record(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
) -> Result<MediaRegistry::Record, ChainError> {
    view(
        chain,
        deployment.registry,
        &MediaRegistry::recordCall { commitment },
    )
}

/// `anchorer`'s anchor of `commitment` (`anchoredAt` 0 if none).
pub fn anchor_of(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    anchorer: Address,
) -> Result<MediaRegistry::Anchor, ChainError> {
    view(
        chain,
        deployment.registry,
        &MediaRegistry::anchorOfCall {
            commitment,
            anchorer,
        },
    )
}

/// Registers `bundle` and every ancestor not yet registered, oldest first.
pub fn register(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    bundle: &Bundle,
    mode: Mode,
) -> Result<Vec<Registered>, ChainError> {
    let mut done = match &bundle.edit {
        Some(edit) => register(chain, deployment, store, &edit.parent, mode)?,
        None => vec![],
    };
    let commitment = commitment_word(&bundle.media.commitment)?;
    let existing_kind = Kind::from_abi(record(chain, deployment, commitment)?.kind);
    if existing_kind != Kind::None {
        done.push(already(commitment, kind_name(existing_kind)));
        return Ok(done);
    }
    done.push(match (&bundle.attestation, &bundle.edit) {
        (Some(_), _) => register_original(chain, deployment, bundle, commitment)?,
        (None, Some(edit)) => {
            let parent = commitment_word(&edit.parent.media.commitment)?;
            let proofs: usize = edit.steps.iter().map(|s| s.tiles.len()).sum();
            let parent_verified =
                Kind::from_abi(record(chain, deployment, parent)?.kind) != Kind::None;
            if mode == Mode::Anchor || proofs > MAX_ONCHAIN_PROOFS || !parent_verified {
                let sender = chain.sender();
                if anchor_of(chain, deployment, commitment, sender)?.anchoredAt != 0 {
                    done.push(already(commitment, "anchored by this account"));
                    return Ok(done);
                }
                anchor(chain, deployment, bundle, commitment, parent)?
            } else {
                register_edit(chain, deployment, store, &edit.steps, commitment, parent)?
            }
        }
        (None, None) => {
            return Err(ChainError::Input(
                "the bundle has neither attestation nor edit".into(),
            ))
        }
    });
    Ok(done)
}

fn already(commitment: B256, what: &str) -> Registered {
    Registered {
        commitment,
        outcome: format!("already registered ({what})"),
        gas_used: 0,
        proofs: 0,
    }
}

fn register_original(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    bundle: &Bundle,
    commitment: B256,
) -> Result<Registered, ChainError> {
    let a = bundle.attestation.as_ref().expect("checked by the caller");
    let signature = hex::decode(a.signature.trim_start_matches("0x"))
        .map_err(|_| ChainError::Input("the attestation signature is not hex".into()))?;
    let header = &bundle.media.header;
    let call = MediaRegistry::registerOriginalCall {
        commitment,
        format: header.format.code() as u8,
        width: header.width,
        height: header.height,
        capturedAt: a.captured_at,
        deviceId: a.device_id.clone(),
        signature: signature.into(),
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "original".into(),
        gas_used: receipt.gas_used,
        proofs: 0,
    })
}

fn anchor(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    bundle: &Bundle,
    commitment: B256,
    parent: B256,
) -> Result<Registered, ChainError> {
    let call = MediaRegistry::anchorCall {
        commitment,
        parent,
        bundleHash: bundle_hash(bundle),
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "anchored".into(),
        gas_used: receipt.gas_used,
        proofs: 0,
    })
}

/// A bundle step as the contract's `Step`.
pub fn step_call(step: &StepRecord) -> Result<MediaRegistry::Step, ChainError> {
    let tiles = step
        .tiles
        .iter()
        .map(|t| {
            let vk_hash = step.circuits.get(&t.circuit).ok_or_else(|| {
                ChainError::Input(format!(
                    "step {}: circuit {} is not pinned",
                    step.filter, t.circuit
                ))
            })?;
            let tail = t
                .public_inputs
                .iter()
                .skip(2)
                .map(|h| {
                    fr_from_hex(h)
                        .map(|f| fr_word(&f))
                        .map_err(ChainError::Input)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let bytes = hex::decode(t.proof.trim_start_matches("0x"))
                .map_err(|_| ChainError::Input("a tile proof is not hex".into()))?;
            let proof = mpegs_zk::backend::proof_from_bytes(&bytes)?;
            Ok(MediaRegistry::TileProof {
                vkHash: vk_hash_word(vk_hash)?,
                tail,
                proof: proof_words(&proof),
            })
        })
        .collect::<Result<Vec<_>, ChainError>>()?;
    Ok(MediaRegistry::Step {
        filter: step.filter.clone(),
        output: commitment_word(&step.output.commitment)?,
        tiles,
    })
}

/// The statement hash the owner approves for a step (what `stepHash` computes
/// on-chain): `h = keccak(filter)`, then per tile `h = keccak(h ‖ vkHash ‖ keccak(tail))`.
pub fn step_hash(step: &MediaRegistry::Step) -> B256 {
    let mut h = keccak256(step.filter.as_bytes());
    for tile in &step.tiles {
        let tail: Vec<u8> = tile
            .tail
            .iter()
            .flat_map(|w| w.to_be_bytes::<32>())
            .collect();
        let mut packed = Vec::with_capacity(96);
        packed.extend_from_slice(h.as_slice());
        packed.extend_from_slice(tile.vkHash.as_slice());
        packed.extend_from_slice(keccak256(&tail).as_slice());
        h = keccak256(&packed);
    }
    h
}

fn register_edit(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    steps: &[StepRecord],
    commitment: B256,
    parent: B256,
) -> Result<Registered, ChainError> {
    let calls = steps.iter().map(step_call).collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<String> = steps
        .iter()
        .flat_map(|s| s.circuits.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    ensure_verifiers(chain, deployment, store, &ids)?;
    for call in &calls {
        ensure_step_approved(chain, deployment, call)?;
    }
    let proofs = calls.iter().map(|s| s.tiles.len()).sum();
    let call = MediaRegistry::registerEditCall {
        parent,
        steps: calls,
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "edit".into(),
        gas_used: receipt.gas_used,
        proofs,
    })
}

/// Approves a step's statement when the sender owns the registry (the owner has
/// verified the bundle off-chain, which recomputes every public input from the
/// filter); anyone else needs it approved already.
fn ensure_step_approved(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    step: &MediaRegistry::Step,
) -> Result<(), ChainError> {
    let hash = step_hash(step);
    let approved = view(
        chain,
        deployment.registry,
        &MediaRegistry::approvedStepsCall::new((hash,)),
    )?;
    if approved {
        return Ok(());
    }
    if chain.sender() != deployment.owner {
        return Err(ChainError::NotDeployed(format!(
            "step {:?} is not approved on this registry; its owner {} must register it first",
            step.filter, deployment.owner
        )));
    }
    let call = MediaRegistry::approveStepCall { stepHash: hash };
    transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(())
}

/// `original`, `edit`, `none`.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Original => "original",
        Kind::Edit => "edit",
        Kind::None => "none",
    }
}

/// One record of a provenance chain, as `mpegs chain status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatusEntry {
    pub commitment: B256,
    /// `original`, `edit` or `anchored`.
    pub kind: &'static str,
    /// What the record proves: on-chain verification or only an anchor.
    pub verification: &'static str,
    pub parent: Option<B256>,
    /// keccak256 of the device id (original), of the filtergraph (edit), or the
    /// bundle's sha256 (anchor).
    pub statement: B256,
    /// The capture device; none for anchors, which claim no device.
    pub device: Option<Address>,
    /// Who registered or anchored it.
    pub registrant: Address,
    pub registered_at: u64,
    pub proofs: u32,
    /// When it was revoked (by its registrant or device), if it was.
    pub revoked_at: Option<u64>,
}

/// Longest ancestry `status` walks (the bundle format allows 32 levels).
const MAX_STATUS_DEPTH: usize = 1024;

/// The record of `commitment` and its ancestors, newest first (empty if unknown).
/// Where no verified record exists, `anchorer`'s anchor is shown instead.
pub fn status(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    anchorer: Address,
) -> Result<Vec<StatusEntry>, ChainError> {
    let mut out = vec![];
    let mut next = Some(commitment);
    while let Some(c) = next.filter(|_| out.len() < MAX_STATUS_DEPTH) {
        let Some(entry) = status_entry(chain, deployment, c, anchorer)? else {
            break;
        };
        next = entry.parent;
        out.push(entry);
    }
    Ok(out)
}

fn status_entry(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    c: B256,
    anchorer: Address,
) -> Result<Option<StatusEntry>, ChainError> {
    let parent_of = |p: B256| (p != B256::ZERO).then_some(p);
    let r = record(chain, deployment, c)?;
    let kind = Kind::from_abi(r.kind);
    if kind != Kind::None {
        return Ok(Some(StatusEntry {
            commitment: c,
            kind: kind_name(kind),
            verification: match kind {
                Kind::Original => "device signature verified on-chain (ecrecover)",
                _ => "every tile proof verified on-chain",
            },
            parent: parent_of(r.parent),
            statement: r.statement,
            device: Some(r.device),
            registrant: r.registrant,
            registered_at: r.registeredAt,
            proofs: r.proofs,
            revoked_at: (r.revokedAt != 0).then_some(r.revokedAt),
        }));
    }
    let a = anchor_of(chain, deployment, c, anchorer)?;
    if a.anchoredAt == 0 {
        return Ok(None);
    }
    Ok(Some(StatusEntry {
        commitment: c,
        kind: "anchored",
        verification: "anchored: bundle hash only, verified off-chain, NOT on-chain",
        parent: parent_of(a.parent),
        statement: a.bundleHash,
        device: None,
        registrant: anchorer,
        registered_at: a.anchoredAt,
        proofs: 0,
        revoked_at: None,
    }))
}

/// Revokes `commitment`'s record as the sender (its registrant, or an original's
/// device account); returns the gas used.
pub fn revoke(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    reason: &str,
) -> Result<u64, ChainError> {
    let call = MediaRegistry::revokeCall {
        commitment,
        reason: reason.to_string(),
    };
    Ok(transact(chain, deployment.registry, &call, U256::ZERO)?.gas_used)
}

/// The EIP-712 digest a device signs to revoke `commitment` on this registry
/// (what `MediaRegistry.revokeDigest` computes): domain (name "mpegs", version
/// "1", chain id, registry address), struct `Revoke(commitment, reason, nonce,
/// deadline)`.
pub fn revoke_digest(
    chain_id: u64,
    registry: Address,
    commitment: B256,
    reason: &str,
    nonce: U256,
    deadline: u64,
) -> B256 {
    use alloy_sol_types::SolValue;
    let domain = keccak256(
        (
            keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
            keccak256("mpegs"),
            keccak256("1"),
            U256::from(chain_id),
            registry,
        )
            .abi_encode(),
    );
    let typehash =
        keccak256("Revoke(bytes32 commitment,string reason,uint256 nonce,uint64 deadline)");
    let body = keccak256(
        (
            typehash,
            commitment,
            keccak256(reason.as_bytes()),
            nonce,
            U256::from(deadline),
        )
            .abi_encode(),
    );
    let mut packed = vec![0x19, 0x01];
    packed.extend_from_slice(domain.as_slice());
    packed.extend_from_slice(body.as_slice());
    keccak256(&packed)
}

/// Revokes an original with its device's signature (sent by the current account,
/// which needs no relation to the device): the signature binds this chain, this
/// registry, the device's current nonce and `deadline`.
pub fn revoke_by_device(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    reason: &str,
    deadline: u64,
    device: &mpegs_provenance::attest::DeviceKey,
) -> Result<u64, ChainError> {
    let device_address: Address = device
        .address()
        .parse()
        .map_err(|_| ChainError::Input("the device address is not an address".into()))?;
    let nonce = view(
        chain,
        deployment.registry,
        &MediaRegistry::revokeNoncesCall(device_address),
    )?;
    let digest = revoke_digest(
        chain.chain_id(),
        deployment.registry,
        commitment,
        reason,
        nonce,
        deadline,
    );
    let signature = device
        .sign_digest(&digest.0)
        .map_err(|e| ChainError::Input(e.to_string()))?;
    let call = MediaRegistry::revokeBySignatureCall {
        commitment,
        reason: reason.to_string(),
        deadline,
        signature: signature.into(),
    };
    Ok(transact(chain, deployment.registry, &call, U256::ZERO)?.gas_used)
}

/// `Bytes` of a call, for benchmarks that send raw data.
pub fn encode<C: alloy_sol_types::SolCall>(call: &C) -> Bytes {
    call.abi_encode().into()
}
