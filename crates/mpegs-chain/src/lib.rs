//! On-chain verification for mpegs: Groth16 verifiers generated from our verifying
//! keys, the `MediaRegistry` and `StorageEscrow` contracts (sources and build in
//! `contracts/`), and the EVMs that run them — an embedded `revm` whose state
//! persists to a file (the default: no node needed) or any JSON-RPC node (`alloy`).
//! Higher-level flows (`registry`, `escrow`) turn bundles and storage files into
//! contract calls and revert data into clear reasons.

pub mod abi;
pub mod accounts;
pub mod chain;
pub mod deployment;
pub mod embedded;
pub mod escrow;
pub mod registry;
pub mod rpc;
pub mod solc;
pub mod stylus_vk;
pub mod verifier;

pub use alloy::signers::local::PrivateKeySigner;
pub use alloy_primitives;
pub use chain::{Chain, Receipt};

/// Everything that can go wrong talking to a chain.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The transaction or call reverted; the contract's reason.
    #[error("reverted: {0}")]
    Revert(String),
    /// Bad user input (files, ids, amounts).
    #[error("{0}")]
    Input(String),
    /// An external tool (node, solc) failed.
    #[error("{0}")]
    Tool(String),
    /// The JSON-RPC node failed or is unreachable.
    #[error("JSON-RPC: {0}")]
    Rpc(String),
    /// The embedded EVM failed (not a revert).
    #[error("EVM: {0}")]
    Evm(String),
    /// The contracts are not deployed on this chain (yet).
    #[error("{0}")]
    NotDeployed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Media(#[from] mpegs_media::MediaError),
    #[error(transparent)]
    Zk(#[from] mpegs_zk::ZkError),
}

/// Creates the folder `path` will be written in (a fresh `$MPEGS_HOME` has none).
pub(crate) fn create_parent_dir(path: &std::path::Path) -> Result<(), ChainError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir).map_err(|e| {
            ChainError::Input(format!("cannot create the folder {}: {e}", dir.display()))
        }),
        _ => Ok(()),
    }
}
