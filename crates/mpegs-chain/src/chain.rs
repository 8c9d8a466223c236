//! What every EVM backend offers: deploy, send, call, time — so the flows above run
//! unchanged on the embedded EVM and on a node.

use crate::ChainError;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, Bytes, Log, B256, U256};

/// A mined transaction's outcome (reverts are errors, not receipts).
#[derive(Clone, Debug)]
pub struct Receipt {
    pub gas_used: u64,
    pub logs: Vec<Log>,
    /// The address a deployment created.
    pub created: Option<Address>,
    pub tx_hash: Option<B256>,
}

/// An EVM chain seen through one account.
pub trait Chain {
    /// The account that signs and pays.
    fn sender(&self) -> Address;
    /// Switches the signing account.
    fn set_signer(&mut self, signer: PrivateKeySigner);
    fn chain_id(&self) -> u64;
    /// Sends a transaction (`to = None` deploys `data`).
    fn send(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<Receipt, ChainError>;
    /// Runs a read-only call against the latest state.
    fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, ChainError>;
    /// The latest block's timestamp.
    fn timestamp(&mut self) -> Result<u64, ChainError>;
    /// Moves the chain's clock forward (development chains only).
    fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError>;
    fn balance(&mut self, who: Address) -> Result<U256, ChainError>;
    /// Whether `who` holds contract code.
    fn has_code(&mut self, who: Address) -> Result<bool, ChainError>;
    /// The runtime code at `who` (empty if none): what deployments are checked
    /// against. Backends that cannot read code say so.
    fn code(&mut self, _who: Address) -> Result<Bytes, ChainError> {
        Err(ChainError::Tool(
            "this chain cannot read contract code".into(),
        ))
    }
    /// Persists whatever state the backend keeps locally (no-op for nodes).
    fn save(&mut self) -> Result<(), ChainError> {
        Ok(())
    }

    /// Deploys creation bytecode; returns the new address and the receipt.
    fn deploy(&mut self, init_code: Vec<u8>) -> Result<(Address, Receipt), ChainError> {
        let receipt = self.send(None, init_code.into(), U256::ZERO)?;
        let address = receipt
            .created
            .ok_or_else(|| ChainError::Evm("the deployment created no contract".into()))?;
        Ok((address, receipt))
    }
}

/// A revert's data as a sentence: `Error(string)` and panics decoded, the
/// generated verifiers' custom errors named, anything else shown as hex.
pub fn revert_reason(data: &[u8]) -> String {
    if let Some(reason) = alloy_sol_types::decode_revert_reason(data) {
        return reason
            .strip_prefix("revert: ")
            .map(str::to_string)
            .unwrap_or(reason);
    }
    let selector = data.get(..4);
    let named = [
        ("ProofInvalid()", "the proof is invalid"),
        (
            "PublicInputNotInField()",
            "a public input is not a field element",
        ),
    ];
    for (signature, text) in named {
        if selector == Some(&alloy_primitives::keccak256(signature)[..4]) {
            return text.to_string();
        }
    }
    if data.is_empty() {
        "no reason given".into()
    } else {
        format!("custom error 0x{}", hex::encode(data))
    }
}

/// Sends a typed contract call.
pub fn transact<C: alloy_sol_types::SolCall>(
    chain: &mut dyn Chain,
    to: Address,
    call: &C,
    value: U256,
) -> Result<Receipt, ChainError> {
    chain.send(Some(to), call.abi_encode().into(), value)
}

/// Runs a typed read-only call and decodes its result.
pub fn view<C: alloy_sol_types::SolCall>(
    chain: &mut dyn Chain,
    to: Address,
    call: &C,
) -> Result<C::Return, ChainError> {
    let out = chain.call(to, call.abi_encode().into())?;
    C::abi_decode_returns(&out).map_err(|e| {
        ChainError::Evm(format!(
            "cannot decode the result of {} (is the contract deployed?): {e}",
            C::SIGNATURE
        ))
    })
}
