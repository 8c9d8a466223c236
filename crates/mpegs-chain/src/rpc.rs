//! Any EVM node over JSON-RPC, through `alloy`: transactions are signed locally
//! with the given key; a transaction is first simulated with `eth_call` so that a
//! revert comes back with its reason instead of as a failed receipt.
//!
//! Nothing waits forever: every HTTP request has [`REQUEST_TIMEOUT`], and a sent
//! transaction's receipt is awaited at most [`RECEIPT_TIMEOUT`] (a node that
//! accepts transactions but never mines them, such as a stalled sequencer or a dev
//! node with automine off, would otherwise hang `mpegs`).

use crate::chain::{revert_reason, Chain, Receipt};
use crate::ChainError;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::{RpcError, TransportErrorKind};
use alloy_primitives::{Address, Bytes, U256};
use std::time::Duration;

/// How long one JSON-RPC request (connecting included) may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Chain::send`] waits for a receipt by default: minutes of blocks on
/// any chain we target (Arbitrum makes one every 0.25 s, Ethereum every 12 s).
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Environment variable overriding [`RECEIPT_TIMEOUT`], in whole seconds.
pub const RECEIPT_TIMEOUT_ENV: &str = "MPEGS_RECEIPT_TIMEOUT_SECS";

/// How long to wait for the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Per HTTP request.
    pub request: Duration,
    /// For a sent transaction's receipt.
    pub receipt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: REQUEST_TIMEOUT,
            receipt: RECEIPT_TIMEOUT,
        }
    }
}

impl Timeouts {
    /// The defaults, with the receipt timeout from `$MPEGS_RECEIPT_TIMEOUT_SECS`
    /// when set.
    pub fn from_env() -> Result<Self, ChainError> {
        let value = std::env::var(RECEIPT_TIMEOUT_ENV).ok();
        Self::with_receipt_override(value.as_deref())
    }

    fn with_receipt_override(value: Option<&str>) -> Result<Self, ChainError> {
        let mut timeouts = Self::default();
        if let Some(text) = value {
            let seconds = text
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    ChainError::Input(format!(
                        "{RECEIPT_TIMEOUT_ENV}={text:?} is not a whole number of seconds above 0"
                    ))
                })?;
            timeouts.receipt = Duration::from_secs(seconds);
        }
        Ok(timeouts)
    }
}

/// A JSON-RPC node seen through one key.
pub struct Rpc {
    runtime: tokio::runtime::Runtime,
    url: reqwest_url::Url,
    http: reqwest::Client,
    provider: DynProvider,
    signer: PrivateKeySigner,
    chain_id: u64,
    timeouts: Timeouts,
}

mod reqwest_url {
    pub use alloy::transports::http::reqwest::Url;
}
use alloy::transports::http::reqwest;

impl Rpc {
    /// Connects to `url` and reads its chain id (so an unreachable node fails here,
    /// with the URL in the message), with [`Timeouts::from_env`].
    pub fn connect(url: &str, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        Self::connect_with(url, signer, Timeouts::from_env()?)
    }

    /// [`Rpc::connect`] with the given timeouts.
    pub fn connect_with(
        url: &str,
        signer: PrivateKeySigner,
        timeouts: Timeouts,
    ) -> Result<Self, ChainError> {
        let parsed: reqwest_url::Url = url
            .parse()
            .map_err(|e| ChainError::Input(format!("--rpc-url {url:?} is not a URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let http = reqwest::Client::builder()
            .timeout(timeouts.request)
            .build()
            .map_err(|e| ChainError::Rpc(format!("cannot set up the HTTP client: {e}")))?;
        let provider = provider(&http, &parsed, &signer);
        let chain_id = runtime
            .block_on(provider.get_chain_id())
            .map_err(|e| ChainError::Rpc(format!("cannot reach the node at {url}: {e}")))?;
        Ok(Rpc {
            runtime,
            url: parsed,
            http,
            provider,
            signer,
            chain_id,
            timeouts,
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

/// A provider signing with `signer`, over `http` (which carries the request timeout).
fn provider(
    http: &reqwest::Client,
    url: &reqwest_url::Url,
    signer: &PrivateKeySigner,
) -> DynProvider {
    ProviderBuilder::new()
        .wallet(EthereumWallet::from(signer.clone()))
        .connect_reqwest(http.clone(), url.clone())
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

/// Why no receipt came; a timeout says what it means and what to do.
fn receipt_error(
    error: alloy::providers::PendingTransactionError,
    hash: alloy_primitives::B256,
    waited: Duration,
) -> ChainError {
    use alloy::providers::{PendingTransactionError, WatchTxError};
    match error {
        PendingTransactionError::TxWatcher(WatchTxError::Timeout) => ChainError::Rpc(format!(
            "transaction {hash} was sent but not mined within {} s: is the node producing \
             blocks? It may still be mined later (wait longer with {RECEIPT_TIMEOUT_ENV})",
            waited.as_secs_f64()
        )),
        other => ChainError::Rpc(format!("waiting for transaction {hash}: {other}")),
    }
}

impl Chain for Rpc {
    fn sender(&self) -> Address {
        self.signer.address()
    }

    fn set_signer(&mut self, signer: PrivateKeySigner) {
        self.provider = provider(&self.http, &self.url, &signer);
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
        let wait = self.timeouts.receipt;
        let receipt = self.runtime.block_on(async {
            let pending = self
                .provider
                .send_transaction(tx)
                .await
                .map_err(rpc_error)?;
            let hash = *pending.tx_hash();
            pending
                .with_timeout(Some(wait))
                .get_receipt()
                .await
                .map_err(|e| receipt_error(e, hash, wait))
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
        Ok(!self.code(who)?.is_empty())
    }

    fn code(&mut self, who: Address) -> Result<Bytes, ChainError> {
        self.runtime
            .block_on(async { self.provider.get_code_at(who).await })
            .map_err(rpc_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn receipt_timeout_defaults_and_override() {
        let t = Timeouts::with_receipt_override(None).unwrap();
        assert_eq!(t.receipt, Duration::from_secs(120));
        assert_eq!(t.request, REQUEST_TIMEOUT);
        let t = Timeouts::with_receipt_override(Some(" 7 ")).unwrap();
        assert_eq!(t.receipt, Duration::from_secs(7));
        for bad in ["0", "-1", "1.5", "soon", ""] {
            let e = Timeouts::with_receipt_override(Some(bad)).unwrap_err();
            assert!(e.to_string().contains(RECEIPT_TIMEOUT_ENV), "{bad:?}: {e}");
        }
    }

    /// A node on 127.0.0.1 answering each JSON-RPC request with `answer`, one
    /// thread per connection (HTTP/1.1 keep-alive, `Content-Length` bodies).
    fn fake_node(answer: fn(&str, &Value) -> Option<Value>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || serve(stream, answer));
            }
        });
        url
    }

    fn serve(stream: TcpStream, answer: fn(&str, &Value) -> Option<Value>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        loop {
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let request: Value = serde_json::from_slice(&body).unwrap();
            let method = request["method"].as_str().unwrap_or_default();
            let reply = match answer(method, &request["params"]) {
                Some(result) => json!({"jsonrpc": "2.0", "id": request["id"], "result": result}),
                None => json!({"jsonrpc": "2.0", "id": request["id"],
                    "error": {"code": -32601, "message": format!("no {method} here")}}),
            };
            let text = reply.to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                text.len()
            );
            if writer.write_all(head.as_bytes()).is_err()
                || writer.write_all(text.as_bytes()).is_err()
            {
                return;
            }
        }
    }

    /// A development node that takes transactions and never mines them.
    fn never_mines(method: &str, params: &Value) -> Option<Value> {
        let zero32 = format!("0x{}", "00".repeat(32));
        Some(match method {
            "eth_chainId" => json!("0x7a69"),
            "eth_call" => json!("0x"),
            "eth_getTransactionCount" => json!("0x0"),
            "eth_estimateGas" => json!("0x5208"),
            "eth_gasPrice" | "eth_maxPriorityFeePerGas" => json!("0x1"),
            "eth_blockNumber" => json!("0x1"),
            "eth_feeHistory" => json!({
                "oldestBlock": "0x1", "baseFeePerGas": ["0x1", "0x1"],
                "gasUsedRatio": [0.5], "reward": [["0x1"]]
            }),
            "eth_getBlockByNumber" => json!({
                "hash": zero32, "parentHash": zero32, "sha3Uncles": zero32,
                "miner": format!("0x{}", "00".repeat(20)), "stateRoot": zero32,
                "transactionsRoot": zero32, "receiptsRoot": zero32,
                "logsBloom": format!("0x{}", "00".repeat(256)), "difficulty": "0x0",
                "number": "0x1", "gasLimit": "0x1c9c380", "gasUsed": "0x0",
                "timestamp": "0x1", "extraData": "0x", "mixHash": zero32,
                "nonce": "0x0000000000000000", "baseFeePerGas": "0x1",
                "uncles": [], "transactions": []
            }),
            "eth_sendRawTransaction" => {
                let raw = hex::decode(params[0].as_str()?.trim_start_matches("0x")).ok()?;
                json!(alloy_primitives::keccak256(raw))
            }
            "eth_getTransactionReceipt" => Value::Null,
            _ => return None,
        })
    }

    #[test]
    fn a_node_that_never_mines_gives_a_clear_error_after_the_receipt_timeout() {
        let url = fake_node(never_mines);
        let signer = crate::accounts::dev_signer(0).unwrap();
        let timeouts = Timeouts {
            request: Duration::from_secs(10),
            receipt: Duration::from_secs(1),
        };
        let mut rpc = Rpc::connect_with(&url, signer, timeouts).unwrap();
        let e = rpc
            .send(Some(Address::ZERO), Bytes::new(), U256::ZERO)
            .unwrap_err();
        assert!(matches!(e, ChainError::Rpc(_)), "{e}");
        assert!(e.to_string().contains("not mined within 1 s"), "{e}");
    }

    #[test]
    fn a_node_that_never_answers_fails_after_the_request_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        // Accepts connections and holds them open without a word.
        std::thread::spawn(move || {
            let held: Vec<TcpStream> = listener.incoming().flatten().collect();
            drop(held);
        });
        let signer = crate::accounts::dev_signer(0).unwrap();
        let timeouts = Timeouts {
            request: Duration::from_millis(300),
            receipt: RECEIPT_TIMEOUT,
        };
        let e = Rpc::connect_with(&url, signer, timeouts).err().unwrap();
        assert!(e.to_string().contains("cannot reach the node"), "{e}");
    }
}
