//! Where mpegs keeps its state, and how a front end chose to act.

use crate::AppError;
use mpegs_zk::keys::KeyStore;
use std::path::PathBuf;

/// Default tile size (pixels per side); part of every commitment.
pub const DEFAULT_TILE: u32 = 64;

/// The configuration every use case runs under.
#[derive(Clone, Debug)]
pub struct Config {
    /// `$MPEGS_HOME`, or `~/.cache/mpegs`: keys under `keys/`, the embedded
    /// chain under `chain/`.
    pub home: PathBuf,
    /// Tile size of new commitments.
    pub tile: u32,
    /// Which chain to act on, and as whom.
    pub chain: ChainSettings,
}

/// Which chain, as whom, with which state and deployment files. Everything
/// unset takes its default: the embedded EVM with its state in
/// `<home>/chain/embedded.json`, development account 0.
#[derive(Clone, Debug, Default)]
pub struct ChainSettings {
    /// JSON-RPC URL of a node (default: the embedded EVM).
    pub rpc_url: Option<String>,
    /// A file holding the signing key (hex), private to its owner (mode 0600).
    pub key_file: Option<PathBuf>,
    /// The signing key itself (the CLI reads it from `MPEGS_CHAIN_KEY`); the
    /// file wins if both are set.
    pub key: Option<String>,
    /// Public development account N instead of a key (development chains only).
    pub account: Option<usize>,
    /// State file of the embedded chain.
    pub state: Option<PathBuf>,
    /// Deployment file (contract addresses).
    pub deployment: Option<PathBuf>,
}

impl Config {
    /// The defaults under `$MPEGS_HOME` (or `~/.cache/mpegs`).
    pub fn from_env() -> Result<Self, AppError> {
        Ok(Self::at(mpegs_zk::keys::mpegs_home()?))
    }

    /// The defaults under `home`.
    pub fn at(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            tile: DEFAULT_TILE,
            chain: ChainSettings::default(),
        }
    }

    /// The key store this configuration trusts (`<home>/keys`, created if
    /// missing). Only its verifying keys are ever used to judge a proof.
    pub fn key_store(&self) -> Result<KeyStore, AppError> {
        Ok(KeyStore::open(self.home.join("keys"))?)
    }

    /// Where chain state and deployment files live by default.
    pub fn chain_dir(&self) -> PathBuf {
        self.home.join("chain")
    }
}
