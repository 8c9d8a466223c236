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
//! - Verified records are keyed by (commitment, device): the original's signer,
//!   inherited by every edit on it. A record is the same fact whoever sends it;
//!   the registrant has no power over it.
//! - A record can be **revoked** only by its device (directly or with an EIP-712
//!   signature bound to chain and registry), and a revocation propagates to
//!   every edit built on it.

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
    /// `original`, `edit`, `anchored` or `already registered (<kind>[, by <account>])`.
    pub outcome: String,
    pub gas_used: u64,
    pub proofs: usize,
    /// Set when the chain already holds a record under this item's key whose
    /// facts differ from the bundle's (kind, parent, statement, device): the
    /// registration stops there and the front end reports a rejection.
    pub conflict: Option<String>,
}

/// The address a bundle's origin names as its capture device.
pub fn bundle_device(bundle: &Bundle) -> Result<Address, ChainError> {
    let a = bundle
        .origin()
        .attestation
        .as_ref()
        .ok_or_else(|| ChainError::Input("the bundle's history has no attestation".into()))?;
    a.device.parse().map_err(|_| {
        ChainError::Input(format!(
            "the attestation's device {:?} is not an address",
            a.device
        ))
    })
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

/// The registry's record of `commitment` under `device` (the original's
/// signer), with revocation propagated from its ancestors (`revokedAt`,
/// `revokedVia`).
pub fn record(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    device: Address,
) -> Result<MediaRegistry::Record, ChainError> {
    view(
        chain,
        deployment.registry,
        &MediaRegistry::recordCall { commitment, device },
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

/// Registers `bundle` and every ancestor not yet registered, oldest first. An
/// item the chain holds already is reported as such (with its registrant when
/// that is another account: a registrant has no power over a record); one whose
/// recorded facts differ from the bundle's ends the run with `conflict` set.
pub fn register(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    bundle: &Bundle,
    mode: Mode,
) -> Result<Vec<Registered>, ChainError> {
    let device = bundle_device(bundle)?;
    let mut done = match &bundle.edit {
        Some(edit) => register(chain, deployment, store, &edit.parent, mode)?,
        None => vec![],
    };
    if done.last().is_some_and(|r| r.conflict.is_some()) {
        return Ok(done);
    }
    let commitment = commitment_word(&bundle.media.commitment)?;
    let existing = record(chain, deployment, commitment, device)?;
    if Kind::from_abi(existing.kind) != Kind::None {
        done.push(existing_item(
            chain.sender(),
            bundle,
            commitment,
            &existing,
        )?);
        return Ok(done);
    }
    done.push(match (&bundle.attestation, &bundle.edit) {
        (Some(_), _) => register_original(chain, deployment, bundle, commitment, device)?,
        (None, Some(edit)) => {
            let parent = commitment_word(&edit.parent.media.commitment)?;
            let proofs: usize = edit.steps.iter().map(|s| s.tiles.len()).sum();
            let parent_verified =
                Kind::from_abi(record(chain, deployment, parent, device)?.kind) != Kind::None;
            if mode == Mode::Anchor || proofs > MAX_ONCHAIN_PROOFS || !parent_verified {
                let sender = chain.sender();
                if anchor_of(chain, deployment, commitment, sender)?.anchoredAt != 0 {
                    done.push(already(commitment, "anchored by this account".into()));
                    return Ok(done);
                }
                let parent_device = if parent_verified {
                    device
                } else {
                    Address::ZERO
                };
                anchor(chain, deployment, bundle, commitment, parent, parent_device)?
            } else {
                register_edit(
                    chain,
                    deployment,
                    store,
                    &edit.steps,
                    commitment,
                    parent,
                    device,
                )?
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

/// What the bundle says the record of its own item must hold.
fn expected_facts(bundle: &Bundle) -> (Kind, B256, B256) {
    match (&bundle.attestation, &bundle.edit) {
        (Some(a), _) => (
            Kind::Original,
            B256::ZERO,
            keccak256(a.device_id.as_bytes()),
        ),
        (None, Some(edit)) => {
            let filters: Vec<&str> = edit.steps.iter().map(|s| s.filter.as_str()).collect();
            let parent = commitment_word(&edit.parent.media.commitment).unwrap_or_default();
            (Kind::Edit, parent, keccak256(filters.join(",").as_bytes()))
        }
        (None, None) => (Kind::None, B256::ZERO, B256::ZERO),
    }
}

/// An item the chain holds already: "already registered" when its facts are the
/// bundle's, a conflict naming the difference otherwise.
fn existing_item(
    sender: Address,
    bundle: &Bundle,
    commitment: B256,
    r: &MediaRegistry::Record,
) -> Result<Registered, ChainError> {
    let kind = Kind::from_abi(r.kind);
    let (want_kind, want_parent, want_statement) = expected_facts(bundle);
    let device = bundle_device(bundle)?;
    let mut differences = vec![];
    if kind != want_kind {
        differences.push(format!(
            "it is an {} record, the bundle makes it an {}",
            kind_name(kind),
            kind_name(want_kind)
        ));
    }
    if r.device != device {
        differences.push(format!(
            "it names device {:#x}, the bundle {device:#x}",
            r.device
        ));
    }
    if kind == Kind::Edit && r.parent != want_parent {
        differences.push(format!(
            "its parent is {}, the bundle's {want_parent}",
            r.parent
        ));
    }
    if r.statement != want_statement {
        differences.push(match kind {
            Kind::Original => "it was signed with another device id".to_string(),
            _ => "it was made by another filtergraph".to_string(),
        });
    }
    let by = if r.registrant == sender {
        String::new()
    } else {
        format!(", by {:#x}", r.registrant)
    };
    let mut item = already(commitment, format!("{}{by}", kind_name(kind)));
    if !differences.is_empty() {
        item.outcome = format!("conflicting record ({})", kind_name(kind));
        item.conflict = Some(format!(
            "{commitment} is registered on chain already, but not as this bundle says: {}",
            differences.join("; ")
        ));
    }
    Ok(item)
}

fn already(commitment: B256, what: String) -> Registered {
    Registered {
        commitment,
        outcome: format!("already registered ({what})"),
        gas_used: 0,
        proofs: 0,
        conflict: None,
    }
}

fn register_original(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    bundle: &Bundle,
    commitment: B256,
    device: Address,
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
        device,
        signature: signature.into(),
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "original".into(),
        gas_used: receipt.gas_used,
        proofs: 0,
        conflict: None,
    })
}

fn anchor(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    bundle: &Bundle,
    commitment: B256,
    parent: B256,
    parent_device: Address,
) -> Result<Registered, ChainError> {
    let call = MediaRegistry::anchorCall {
        commitment,
        parent,
        parentDevice: parent_device,
        bundleHash: bundle_hash(bundle),
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "anchored".into(),
        gas_used: receipt.gas_used,
        proofs: 0,
        conflict: None,
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
    device: Address,
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
        device,
        steps: calls,
    };
    let receipt = transact(chain, deployment.registry, &call, U256::ZERO)?;
    Ok(Registered {
        commitment,
        outcome: "edit".into(),
        gas_used: receipt.gas_used,
        proofs,
        conflict: None,
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
    /// Who registered or anchored it (who paid: a registrant has no power over
    /// a verified record).
    pub registrant: Address,
    pub registered_at: u64,
    pub proofs: u32,
    /// When it, or the nearest revoked record above it, was revoked (by the
    /// device), if one was.
    pub revoked_at: Option<u64>,
    /// The revoked record: this one or an ancestor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_via: Option<B256>,
}

/// Longest ancestry `status` walks: the registry's own bound on edit chains
/// (`MAX_DEPTH`, 32 edits above the original) plus anchors above them, whose
/// chains have no on-chain bound.
const MAX_STATUS_DEPTH: usize = 1024;

/// The record of `commitment` and its ancestors, newest first (empty if unknown):
/// verified records under `device` (the original's signer, when known), and
/// where there is none, `anchorer`'s anchor instead.
pub fn status(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
    device: Option<Address>,
    anchorer: Address,
) -> Result<Vec<StatusEntry>, ChainError> {
    let mut out = vec![];
    let mut next = Some((commitment, device));
    while let Some((c, dev)) = next.filter(|_| out.len() < MAX_STATUS_DEPTH) {
        let Some((entry, parent_device)) = status_entry(chain, deployment, c, dev, anchorer)?
        else {
            break;
        };
        next = entry.parent.map(|p| (p, parent_device));
        out.push(entry);
    }
    Ok(out)
}

/// One entry, and the device under which to look its parent up.
fn status_entry(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    c: B256,
    device: Option<Address>,
    anchorer: Address,
) -> Result<Option<(StatusEntry, Option<Address>)>, ChainError> {
    let parent_of = |p: B256| (p != B256::ZERO).then_some(p);
    if let Some(device) = device {
        let r = record(chain, deployment, c, device)?;
        let kind = Kind::from_abi(r.kind);
        if kind != Kind::None {
            let entry = StatusEntry {
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
                revoked_via: (r.revokedVia != B256::ZERO).then_some(r.revokedVia),
            };
            return Ok(Some((entry, Some(device))));
        }
    }
    let a = anchor_of(chain, deployment, c, anchorer)?;
    if a.anchoredAt == 0 {
        return Ok(None);
    }
    let entry = StatusEntry {
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
        revoked_via: None,
    };
    let parent_device = (a.parentDevice != Address::ZERO).then_some(a.parentDevice);
    Ok(Some((entry, parent_device)))
}

/// Revokes the sender's own record of `commitment`: the sender must be the
/// device of its original. Returns the gas used.
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

/// Revokes `device`'s record of `commitment` (its original or an edit on it)
/// with the device's signature, sent by the current account (which needs no
/// relation to the device): the signature binds this chain, this registry, the
/// device's current nonce and `deadline`.
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
        device: device_address,
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
