//! The embedded chain: an in-process `revm` executing real bytecode, its state
//! persisted to one JSON file after every transaction, so `mpegs chain …` works with
//! no node. Each transaction is its own block; gas is free (base fee 0) and every
//! signer is funded at first use, since this chain exists for demos and tests.
//!
//! A state file is one chain shared by every `mpegs` process that opens it, so
//! [`Embedded::open`] holds an exclusive lock on `<state>.lock` for as long as the
//! chain is open: a second process waits instead of reading a state that the first
//! is about to replace (which would silently drop the first one's transactions).

use crate::chain::{revert_reason, Chain, Receipt};
use crate::ChainError;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use revm::context::result::{ExecutionResult, Output};
use revm::context::{BlockEnv, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, DatabaseCommit, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// Chain id of the embedded chain (Hardhat's and Anvil's local id).
pub const CHAIN_ID: u64 = 31337;
/// The hardfork: Cancun, what the contracts are compiled for (solc `evmVersion`)
/// and what Hardhat 2 and Arbitrum run.
const SPEC: SpecId = SpecId::CANCUN;
/// Gas limit of every block and transaction.
pub const BLOCK_GAS_LIMIT: u64 = 30_000_000;
/// What a signer is funded with at first use: 10,000 ether.
const FAUCET_WEI: u128 = 10_000 * 1_000_000_000_000_000_000;
const STATE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    version: u32,
    chain_id: u64,
    block_number: u64,
    timestamp: u64,
    clock_offset: u64,
    accounts: BTreeMap<Address, AccountFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    balance: U256,
    nonce: u64,
    #[serde(default, skip_serializing_if = "bytes_empty")]
    code: Bytes,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    storage: BTreeMap<U256, U256>,
}

/// An in-process EVM with a state file.
pub struct Embedded {
    path: Option<PathBuf>,
    /// The open lock file of `path`, locked exclusively; dropping it unlocks.
    _lock: Option<File>,
    db: CacheDB<EmptyDB>,
    block_number: u64,
    timestamp: u64,
    clock_offset: u64,
    signer: PrivateKeySigner,
}

impl Embedded {
    /// Opens the chain stored at `path`, or starts a new one there (creating its
    /// folder). Blocks until no other process has the chain open, and keeps it
    /// locked until the returned value is dropped.
    pub fn open(path: &Path, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        crate::create_parent_dir(path)?;
        let lock = lock_state(path)?;
        // Read only now: what another process saved before unlocking is included.
        let mut chain = if path.exists() {
            Self::load(path, signer)?
        } else {
            Self::fresh(Some(path.to_path_buf()), signer)
        };
        chain._lock = Some(lock);
        chain.fund(chain.sender());
        Ok(chain)
    }

    /// A chain that lives only in memory (tests, benchmarks).
    pub fn in_memory(signer: PrivateKeySigner) -> Self {
        let mut chain = Self::fresh(None, signer);
        chain.fund(chain.sender());
        chain
    }

    fn fresh(path: Option<PathBuf>, signer: PrivateKeySigner) -> Self {
        Embedded {
            path,
            _lock: None,
            db: CacheDB::new(EmptyDB::default()),
            block_number: 0,
            timestamp: unix_now(),
            clock_offset: 0,
            signer,
        }
    }

    fn load(path: &Path, signer: PrivateKeySigner) -> Result<Self, ChainError> {
        let file: StateFile = mpegs_media::read_json(path)?;
        if file.version != STATE_VERSION || file.chain_id != CHAIN_ID {
            return Err(ChainError::Input(format!(
                "{} is not an embedded chain state of version {STATE_VERSION}",
                path.display()
            )));
        }
        let mut chain = Self::fresh(Some(path.to_path_buf()), signer);
        chain.block_number = file.block_number;
        chain.timestamp = file.timestamp;
        chain.clock_offset = file.clock_offset;
        for (address, account) in file.accounts {
            let code = Bytecode::new_raw(account.code);
            let info = AccountInfo::new(account.balance, account.nonce, code.hash_slow(), code);
            chain.db.insert_account_info(address, info);
            for (slot, value) in account.storage {
                chain
                    .db
                    .insert_account_storage(address, slot, value)
                    .map_err(|e| ChainError::Evm(e.to_string()))?;
            }
        }
        Ok(chain)
    }

    fn snapshot(&self) -> StateFile {
        let accounts = self
            .db
            .cache
            .accounts
            .iter()
            .filter_map(|(address, account)| {
                let info = account.info()?;
                let code = self.code_of(&info);
                let storage: BTreeMap<U256, U256> = account
                    .storage
                    .iter()
                    .filter(|(_, v)| !v.is_zero())
                    .map(|(k, v)| (*k, *v))
                    .collect();
                let empty = info.balance.is_zero() && info.nonce == 0 && code.is_empty();
                (!empty || !storage.is_empty()).then_some((
                    *address,
                    AccountFile {
                        balance: info.balance,
                        nonce: info.nonce,
                        code,
                        storage,
                    },
                ))
            })
            .collect();
        StateFile {
            version: STATE_VERSION,
            chain_id: CHAIN_ID,
            block_number: self.block_number,
            timestamp: self.timestamp,
            clock_offset: self.clock_offset,
            accounts,
        }
    }

    /// An account's code: the cache keeps it by hash, not in the account.
    fn code_of(&self, info: &AccountInfo) -> Bytes {
        info.code
            .as_ref()
            .or_else(|| self.db.cache.contracts.get(&info.code_hash))
            .map(|c| c.original_bytes())
            .unwrap_or_default()
    }

    /// Gives `who` the faucet amount if it has never been used.
    fn fund(&mut self, who: Address) {
        let fresh = match self.db.load_account(who) {
            Ok(account) => account
                .info()
                .is_none_or(|i| i.nonce == 0 && i.balance.is_zero()),
            Err(_) => true,
        };
        if fresh {
            self.db
                .insert_account_info(who, AccountInfo::from_balance(U256::from(FAUCET_WEI)));
        }
    }

    fn nonce(&mut self, who: Address) -> u64 {
        self.db
            .load_account(who)
            .ok()
            .and_then(|a| a.info())
            .map_or(0, |i| i.nonce)
    }

    fn next_block(&self) -> BlockEnv {
        let timestamp = (self.timestamp + 1).max(unix_now() + self.clock_offset);
        BlockEnv {
            number: U256::from(self.block_number + 1),
            timestamp: U256::from(timestamp),
            gas_limit: BLOCK_GAS_LIMIT,
            basefee: 0,
            ..Default::default()
        }
    }

    /// Executes `tx` in the next block; commits the state when `commit` is set.
    fn execute(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        value: U256,
        commit: bool,
    ) -> Result<ExecutionResult, ChainError> {
        let caller = self.sender();
        let tx = TxEnv::builder()
            .caller(caller)
            .kind(to.map_or(TxKind::Create, TxKind::Call))
            .data(data)
            .value(value)
            .gas_limit(BLOCK_GAS_LIMIT)
            .gas_price(0)
            .nonce(self.nonce(caller))
            .chain_id(Some(CHAIN_ID))
            .build_fill();
        let block = self.next_block();
        let timestamp = block.timestamp.to::<u64>();
        let mut evm = Context::mainnet()
            .with_db(&mut self.db)
            .with_block(block)
            .modify_cfg_chained(|cfg| {
                cfg.chain_id = CHAIN_ID;
                cfg.spec = SPEC;
            })
            .build_mainnet();
        let outcome = evm
            .transact(tx)
            .map_err(|e| ChainError::Evm(format!("{e:?}")))?;
        drop(evm);
        if commit {
            self.db.commit(outcome.state);
            self.block_number += 1;
            self.timestamp = timestamp;
        }
        Ok(outcome.result)
    }
}

impl Chain for Embedded {
    fn sender(&self) -> Address {
        self.signer.address()
    }

    fn set_signer(&mut self, signer: PrivateKeySigner) {
        self.signer = signer;
        self.fund(self.sender());
    }

    fn chain_id(&self) -> u64 {
        CHAIN_ID
    }

    fn send(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        let result = self.execute(to, data, value, true)?;
        let receipt = match result {
            ExecutionResult::Success {
                gas, logs, output, ..
            } => Receipt {
                gas_used: gas.tx_gas_used(),
                logs,
                created: match output {
                    Output::Create(_, address) => address,
                    Output::Call(_) => None,
                },
                tx_hash: None,
            },
            ExecutionResult::Revert { output, .. } => {
                self.save()?;
                return Err(ChainError::Revert(revert_reason(&output)));
            }
            ExecutionResult::Halt { reason, .. } => {
                self.save()?;
                return Err(ChainError::Revert(format!("halted: {reason:?}")));
            }
        };
        self.save()?;
        Ok(receipt)
    }

    fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        match self.execute(Some(to), data, U256::ZERO, false)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => {
                Err(ChainError::Revert(revert_reason(&output)))
            }
            ExecutionResult::Halt { reason, .. } => {
                Err(ChainError::Revert(format!("halted: {reason:?}")))
            }
        }
    }

    fn timestamp(&mut self) -> Result<u64, ChainError> {
        Ok(self.timestamp)
    }

    fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError> {
        self.clock_offset += seconds;
        self.timestamp += seconds;
        self.save()
    }

    fn balance(&mut self, who: Address) -> Result<U256, ChainError> {
        Ok(self
            .db
            .load_account(who)
            .ok()
            .and_then(|a| a.info())
            .map_or(U256::ZERO, |i| i.balance))
    }

    fn has_code(&mut self, who: Address) -> Result<bool, ChainError> {
        Ok(!self.code(who)?.is_empty())
    }

    fn code(&mut self, who: Address) -> Result<Bytes, ChainError> {
        let info = self.db.load_account(who).ok().and_then(|a| a.info());
        Ok(info.map(|i| self.code_of(&i)).unwrap_or_default())
    }

    fn save(&mut self) -> Result<(), ChainError> {
        match &self.path {
            Some(path) => Ok(mpegs_media::write_json(path, &self.snapshot())?),
            None => Ok(()),
        }
    }
}

/// The lock file of a state file: `<state>.lock` beside it.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Opens (creating) the lock file of `state` and waits for an exclusive lock on it.
/// An advisory lock: it orders `mpegs` processes, which all take it; the lock file
/// itself stays (removing it would let two processes lock different files).
fn lock_state(state: &Path) -> Result<File, ChainError> {
    let path = lock_path(state);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| ChainError::Input(format!("cannot open {}: {e}", path.display())))?;
    file.lock()
        .map_err(|e| ChainError::Input(format!("cannot lock {}: {e}", path.display())))?;
    Ok(file)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bytes_empty(bytes: &Bytes) -> bool {
    bytes.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::dev_signer;

    fn locked_by_someone(state: &Path) -> bool {
        let file = File::open(lock_path(state)).unwrap();
        match file.try_lock() {
            Ok(()) => false,
            Err(std::fs::TryLockError::WouldBlock) => true,
            Err(e) => panic!("try_lock: {e:?}"),
        }
    }

    #[test]
    fn open_creates_the_folder_and_holds_the_lock_while_open() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("fresh/home/chain/embedded.json");
        let mut chain = Embedded::open(&state, dev_signer(0).unwrap()).unwrap();
        chain.deploy(vec![0x00]).ok();
        assert!(state.is_file(), "the state was written in the new folder");
        assert!(locked_by_someone(&state));
        drop(chain);
        assert!(!locked_by_someone(&state));
    }

    #[test]
    fn the_state_is_read_after_the_lock_is_taken() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("chain.json");
        let first = Embedded::open(&state, dev_signer(0).unwrap()).unwrap();
        let opened = std::sync::mpsc::channel();
        let path = state.clone();
        let second = std::thread::spawn(move || {
            let chain = Embedded::open(&path, dev_signer(0).unwrap()).unwrap();
            opened.0.send(()).unwrap();
            chain.block_number
        });
        // The second open waits for the first chain, which sends a transaction.
        let mut first = first;
        first
            .send(Some(Address::ZERO), Bytes::new(), U256::ZERO)
            .unwrap();
        assert!(
            opened.1.try_recv().is_err(),
            "opened while the first held the lock"
        );
        drop(first);
        assert_eq!(second.join().unwrap(), 1, "it saw the first one's block");
    }
}
