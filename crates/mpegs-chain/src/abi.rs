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

const REGISTRY_ARTIFACT: &str = include_str!("../../../contracts/artifacts/MediaRegistry.json");
const ESCROW_ARTIFACT: &str = include_str!("../../../contracts/artifacts/StorageEscrow.json");

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
