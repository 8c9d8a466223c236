//! Groth16 verifier contracts: Solidity generated from a verifying key
//! (taceo-groth16-sol's gnark-derived template, never hand-edited), and the
//! calldata encoding of proofs and public inputs that it expects.

use crate::solc;
use crate::ChainError;
use alloy_primitives::{B256, U256};
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use mpegs_zk::backend::{Groth16Proof, Vk};
use taceo_groth16_sol::askama::Template;
use taceo_groth16_sol::{SolidityVerifierConfig, SolidityVerifierContext};

/// The pragma every generated verifier carries: the exact compiler we pin, so the
/// source and its bytecode are reproducible.
pub const PRAGMA: &str = "0.8.28";

/// The generated Solidity source of the verifier for `vk`.
pub fn solidity(vk: &Vk) -> Result<String, ChainError> {
    let context = SolidityVerifierContext {
        vk: vk.clone(),
        config: SolidityVerifierConfig {
            pragma_version: PRAGMA.to_string(),
        },
    };
    let mut source = context
        .render()
        .map_err(|e| ChainError::Tool(format!("rendering the verifier template: {e}")))?;
    source.push('\n');
    Ok(source)
}

/// Generates and compiles the verifier for `vk`; returns its creation bytecode.
pub fn bytecode(vk: &Vk) -> Result<Vec<u8>, ChainError> {
    Ok(bytecodes(std::slice::from_ref(vk))?.remove(0))
}

/// Generates and compiles the verifiers for several keys in one compiler run.
pub fn bytecodes(vks: &[Vk]) -> Result<Vec<Vec<u8>>, ChainError> {
    let files = vks
        .iter()
        .enumerate()
        .map(|(i, vk)| Ok((format!("Verifier{i}.sol"), solidity(vk)?)))
        .collect::<Result<Vec<_>, ChainError>>()?;
    solc::compile_many(&files, "Verifier")
}

/// A proof as the verifier's `uint256[8]`: A, B (coordinates of each Fp2 element in
/// the precompile's order: imaginary part first), C.
pub fn proof_words(proof: &Groth16Proof) -> [U256; 8] {
    taceo_groth16_sol::prepare_uncompressed_proof(proof)
}

/// A scalar field element as a 256-bit word.
pub fn fr_word(x: &Fr) -> U256 {
    U256::from_be_slice(&x.into_bigint().to_bytes_be())
}

/// Public inputs as words.
pub fn input_words(inputs: &[Fr]) -> Vec<U256> {
    inputs.iter().map(fr_word).collect()
}

/// The bundle's `"sha256:<hex>"` key hash as the registry's `bytes32` key.
pub fn vk_hash_word(vk_hash: &str) -> Result<B256, ChainError> {
    let hex = vk_hash
        .strip_prefix("sha256:")
        .ok_or_else(|| ChainError::Input(format!("key hash {vk_hash:?} is not sha256:<hex>")))?;
    let bytes = hex::decode(hex)
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| ChainError::Input(format!("key hash {vk_hash:?} is not 32 bytes of hex")))?;
    Ok(B256::from_slice(&bytes))
}
