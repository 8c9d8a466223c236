//! Any EVM node over JSON-RPC, through `alloy`: transactions are signed locally
//! with the given key; a transaction is first simulated with `eth_call` so that a
//! revert comes back with its reason instead of as a failed receipt.

use crate::chain::{revert_reason, Chain, Receipt};
use crate::ChainError;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use alloy_primitives::{Address, Bytes, U256};

/// A JSON-RPC node seen through one key.
pub struct Rpc {
    runtime: tokio::runtime::Runtime,
    url: reqwest_url::Url,
    provider: DynProvider,
    signer: PrivateKeySigner,
    chain_id: u64,
}

mod reqwest_url {
    pub use alloy::transports::http::reqwest::Url;
}

impl Rpc {
    /// Connects to `url` and reads its chain id (so an unreachable node fails here,
    /// with the URL in the message).
    pub fn connect(url: &str, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        let parsed: reqwest_url::Url = url
            .parse()
            .map_err(|e| ChainError::Input(format!("--rpc-url {url:?} is not a URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let provider = provider(&parsed, &signer);
        let chain_id = runtime
            .block_on(provider.get_chain_id())
            .map_err(|e| ChainError::Rpc(format!("cannot reach the node at {url}: {e}")))?;
        Ok(Rpc {
            runtime,
            url: parsed,
            provider,
            signer,
            chain_id,
        })
    }

    fn request(&self, to: Option<Address>, data: Bytes, value: U256) -> TransactionRequest {
        let tx = TransactionRequest::default()
            .with_from(self.signer.address())
            .with_value(value);
        match to {
            Some(to) => tx.with_to(to).with_input(data),
            None => tx.with_deploy_code(data),
        }
    }

    /// `eth_call` of `tx`, with a revert turned into its reason.
    fn simulate(&self, tx: TransactionRequest) -> Result<Bytes, ChainError> {
        self.runtime
            .block_on(async { self.provider.call(tx).await })
            .map_err(rpc_error)
    }
}

fn provider(url: &reqwest_url::Url, signer: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_http(url.clone())
        .erased()
}

/// A node's error as a revert (with its reason) when it is one.
fn rpc_error(error: RpcError<TransportErrorKind>) -> ChainError {
    if let Some(payload) = error.as_error_resp() {
        if let Some(data) = payload.as_revert_data() {
            return ChainError::Revert(revert_reason(&data));
        }
        let message = payload.message.to_string();
        if message.contains("revert") {
            return ChainError::Revert(message);
        }
    }
    ChainError::Rpc(error.to_string())
}

impl Chain for Rpc {
    fn sender(&self) -> Address {
        self.signer.address()
    }

    fn set_signer(&mut self, signer: PrivateKeySigner) {
        self.provider = provider(&self.url, &signer);
        self.signer = signer;
    }

    fn chain_id(&self) -> u64 {
        self.chain_id
    }

    fn send(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        let tx = self.request(to, data, value);
        self.simulate(tx.clone())?;
        let receipt = self.runtime.block_on(async {
            let pending = self
                .provider
                .send_transaction(tx)
                .await
                .map_err(rpc_error)?;
            pending
                .get_receipt()
                .await
                .map_err(|e| ChainError::Rpc(e.to_string()))
        })?;
        if !receipt.status() {
            return Err(ChainError::Revert(format!(
                "transaction {} failed on-chain",
                receipt.transaction_hash
            )));
        }
        Ok(Receipt {
            gas_used: receipt.gas_used,
            logs: receipt.logs().iter().map(|l| l.inner.clone()).collect(),
            created: receipt.contract_address,
            tx_hash: Some(receipt.transaction_hash),
        })
    }

    fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.simulate(self.request(Some(to), data, U256::ZERO))
    }

    fn timestamp(&mut self) -> Result<u64, ChainError> {
        let block = self
            .runtime
            .block_on(async {
                self.provider
                    .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
                    .await
            })
            .map_err(rpc_error)?
            .ok_or_else(|| ChainError::Rpc("the node has no latest block".into()))?;
        Ok(block.header.timestamp)
    }

    fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError> {
        self.runtime.block_on(async {
            let _: serde_json::Value = self
                .provider
                .raw_request("evm_increaseTime".into(), (seconds,))
                .await
                .map_err(|e| {
                    ChainError::Rpc(format!(
                        "the node cannot move its clock (evm_increaseTime; only development nodes can): {e}"
                    ))
                })?;
            let _: serde_json::Value = self
                .provider
                .raw_request("evm_mine".into(), serde_json::json!([]))
                .await
                .map_err(rpc_error)?;
            Ok(())
        })
    }

    fn balance(&mut self, who: Address) -> Result<U256, ChainError> {
        self.runtime
            .block_on(async { self.provider.get_balance(who).await })
            .map_err(rpc_error)
    }

    fn has_code(&mut self, who: Address) -> Result<bool, ChainError> {
        let code = self
            .runtime
            .block_on(async { self.provider.get_code_at(who).await })
            .map_err(rpc_error)?;
        Ok(!code.is_empty())
    }
}
