//! Signing keys: the well-known development accounts (the same ten that Hardhat's
//! and Anvil's default mnemonic yields, so a demo runs identically on the embedded
//! EVM and on a local node) and keys given as hex, in a file or the environment.

use crate::ChainError;
use alloy::signers::local::PrivateKeySigner;

/// Private keys of the public development accounts #0–#3. Never use them on a real
/// network: everyone knows them.
pub const DEV_KEYS: [&str; 4] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

/// Development account `n`.
pub fn dev_signer(n: usize) -> Result<PrivateKeySigner, ChainError> {
    let key = DEV_KEYS.get(n).ok_or_else(|| {
        ChainError::Input(format!(
            "there are {} development accounts (0–{}); {n} is not one",
            DEV_KEYS.len(),
            DEV_KEYS.len() - 1
        ))
    })?;
    parse_key(key)
}

/// A signer from a 32-byte hex private key (with or without `0x`).
pub fn parse_key(text: &str) -> Result<PrivateKeySigner, ChainError> {
    text.trim()
        .trim_start_matches("0x")
        .parse::<PrivateKeySigner>()
        .map_err(|_| ChainError::Input("the chain key is not a 32-byte hex private key".into()))
}

/// A signer from a file holding a hex private key.
pub fn key_from_file(path: &std::path::Path) -> Result<PrivateKeySigner, ChainError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ChainError::Input(format!("cannot read the key file {}: {e}", path.display()))
    })?;
    parse_key(&text)
}
