//! Typed bindings of the compiled contracts, generated at build time from the
//! committed artifacts (`contracts/artifacts/*.json`, made by
//! `contracts/compile.mjs` from `contracts/src`), plus their creation bytecode.

use crate::ChainError;
use alloy_primitives::Address;
use alloy_sol_types::SolValue;

/// The generated bindings; events with many fields (`ChallengeRevealed` carries every
/// term an indexer needs) make constructors with many arguments.
#[allow(clippy::too_many_arguments)]
mod generated {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        MediaRegistry,
        "../../contracts/artifacts/MediaRegistry.json"
    );

    alloy_sol_types::sol!(
        #[sol(all_derives)]
        StorageEscrow,
        "../../contracts/artifacts/StorageEscrow.json"
    );
}

pub use generated::{MediaRegistry, StorageEscrow};

pub(crate) const REGISTRY_ARTIFACT: &str =
    include_str!("../../../contracts/artifacts/MediaRegistry.json");
pub(crate) const ESCROW_ARTIFACT: &str =
    include_str!("../../../contracts/artifacts/StorageEscrow.json");

/// Whether `code` (read from a chain) is the artifact's runtime code: byte for
/// byte, except in the ranges solc reports as immutables (set by the
/// constructor; the caller checks their values through the contract's getters).
pub fn runtime_matches(artifact: &str, code: &[u8]) -> Result<bool, ChainError> {
    let json: serde_json::Value = serde_json::from_str(artifact)
        .map_err(|e| ChainError::Tool(format!("an artifact is not JSON: {e}")))?;
    let expected = json["deployedBytecode"]
        .as_str()
        .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
        .ok_or_else(|| ChainError::Tool("an artifact has no deployedBytecode".into()))?;
    if expected.len() != code.len() {
        return Ok(false);
    }
    let mut masked = vec![false; code.len()];
    if let Some(refs) = json["immutableReferences"].as_object() {
        for range in refs.values().filter_map(|v| v.as_array()).flatten() {
            let start = range["start"].as_u64().unwrap_or(u64::MAX) as usize;
            let length = range["length"].as_u64().unwrap_or(0) as usize;
            let end = start.saturating_add(length).min(code.len());
            for m in masked.iter_mut().take(end).skip(start) {
                *m = true;
            }
        }
    }
    Ok(expected
        .iter()
        .zip(code)
        .zip(&masked)
        .all(|((e, c), m)| *m || e == c))
}

fn artifact_bytecode(artifact: &str, name: &str) -> Result<Vec<u8>, ChainError> {
    let json: serde_json::Value = serde_json::from_str(artifact)
        .map_err(|e| ChainError::Tool(format!("the {name} artifact is not JSON: {e}")))?;
    json["bytecode"]
        .as_str()
        .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
        .ok_or_else(|| ChainError::Tool(format!("the {name} artifact has no bytecode")))
}

/// Creation code of `MediaRegistry` (no constructor arguments; the deployer owns it).
pub fn registry_init_code() -> Result<Vec<u8>, ChainError> {
    artifact_bytecode(REGISTRY_ARTIFACT, "MediaRegistry")
}

/// Creation code of `StorageEscrow(registry, minProofWindow)`.
pub fn escrow_init_code(registry: Address, min_proof_window: u64) -> Result<Vec<u8>, ChainError> {
    let mut code = artifact_bytecode(ESCROW_ARTIFACT, "StorageEscrow")?;
    code.extend_from_slice(&(registry, min_proof_window).abi_encode_params());
    Ok(code)
}
