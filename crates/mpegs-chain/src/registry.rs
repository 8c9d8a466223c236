//! Provenance on-chain: a bundle becomes `MediaRegistry` records, oldest first.
//!
//! - An **original** is registered with its device's EIP-712 signature, which the
//!   contract checks with `ecrecover`.
//! - An **edit** is registered with every tile proof of every step, each verified
//!   on-chain by the verifier pinned for its key, and each step's statement
//!   (filter + per-tile key hashes and public inputs) approved by the registry owner.
//! - An edit with more proofs than fit a block's gas (or when asked) is **anchored**:
//!   only the bundle's hash is recorded, marked as verified off-chain.

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

/// A registry record's kind (the contract's `Kind` enum; the ABI carries it as `uint8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    Original,
    Edit,
    Anchored,
}

impl Kind {
    pub fn from_abi(value: u8) -> Self {
        match value {
            1 => Kind::Original,
            2 => Kind::Edit,
            3 => Kind::Anchored,
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
    let existing = record(chain, deployment, commitment)?;
    let existing_kind = Kind::from_abi(existing.kind);
    let upgradable = existing_kind == Kind::Anchored && mode == Mode::Auto && bundle.edit.is_some();
    if existing_kind != Kind::None && !upgradable {
        done.push(Registered {
            commitment,
            outcome: format!("already registered ({})", kind_name(existing_kind)),
            gas_used: 0,
            proofs: 0,
        });
        return Ok(done);
    }
    done.push(match (&bundle.attestation, &bundle.edit) {
        (Some(_), _) => register_original(chain, deployment, bundle, commitment)?,
        (None, Some(edit)) => {
            let parent = commitment_word(&edit.parent.media.commitment)?;
            let proofs: usize = edit.steps.iter().map(|s| s.tiles.len()).sum();
            let parent_kind = Kind::from_abi(record(chain, deployment, parent)?.kind);
            if mode == Mode::Anchor || proofs > MAX_ONCHAIN_PROOFS || parent_kind == Kind::Anchored
            {
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

/// `original`, `edit`, `anchored`, `none`.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Original => "original",
        Kind::Edit => "edit",
        Kind::Anchored => "anchored",
        _ => "none",
    }
}

/// One record of a provenance chain, as `mpegs chain status` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatusEntry {
    pub commitment: B256,
    pub kind: &'static str,
    /// What the record proves: on-chain verification or only an anchor.
    pub verification: &'static str,
    pub parent: Option<B256>,
    pub statement: B256,
    pub device: Address,
    pub registrant: Address,
    pub registered_at: u64,
    pub proofs: u32,
}

/// The record of `commitment` and its ancestors, newest first (empty if unknown).
pub fn status(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    commitment: B256,
) -> Result<Vec<StatusEntry>, ChainError> {
    let mut out = vec![];
    let mut next = Some(commitment);
    while let Some(c) = next {
        let r = record(chain, deployment, c)?;
        let kind = Kind::from_abi(r.kind);
        if kind == Kind::None || out.len() > 1024 {
            break;
        }
        out.push(StatusEntry {
            commitment: c,
            kind: kind_name(kind),
            verification: match kind {
                Kind::Original => "device signature verified on-chain (ecrecover)",
                Kind::Edit => "every tile proof verified on-chain",
                _ => "anchored: bundle hash only, verified off-chain, NOT on-chain",
            },
            parent: (r.parent != B256::ZERO).then_some(r.parent),
            statement: r.statement,
            device: r.device,
            registrant: r.registrant,
            registered_at: r.registeredAt,
            proofs: r.proofs,
        });
        next = (r.parent != B256::ZERO).then_some(r.parent);
    }
    Ok(out)
}

/// `Bytes` of a call, for benchmarks that send raw data.
pub fn encode<C: alloy_sol_types::SolCall>(call: &C) -> Bytes {
    call.abi_encode().into()
}
