//! Where the contracts live on one chain: the registry, the escrow, and the
//! verifiers deployed for our circuits. Saved as JSON next to the chain state
//! (embedded) or under `$MPEGS_HOME/chain` (nodes). The registry's own
//! `verifiers` mapping stays the source of truth; this file is a cache with names.

use crate::abi::MediaRegistry;
use crate::chain::Chain;
use crate::verifier;
use crate::ChainError;
use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use mpegs_zk::keys::KeyStore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// 2: the hardened contracts (write-once pins, keyed anchors, named-worker deals).
pub const VERSION: u32 = 2;

/// The shortest proof window a deal on our escrow may give a worker after each
/// reveal (`StorageEscrow.minProofWindow`, fixed at deployment): ten minutes, well
/// above the seconds a storage proof takes and the clock drift validators allow.
pub const DEFAULT_MIN_PROOF_WINDOW: u64 = 600;

/// A deployed verifier.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierEntry {
    pub vk_hash: String,
    pub address: Address,
    pub deploy_gas: u64,
    /// Gas of `setVerifier` (which probes the verifier before pinning it).
    #[serde(default)]
    pub pin_gas: u64,
}

/// The contracts of one chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub version: u32,
    pub chain_id: u64,
    pub owner: Address,
    pub registry: Address,
    pub escrow: Address,
    pub registry_deploy_gas: u64,
    pub escrow_deploy_gas: u64,
    /// Circuit id → verifier.
    #[serde(default)]
    pub verifiers: BTreeMap<String, VerifierEntry>,
}

impl Deployment {
    /// Reads the deployment file; a missing file means "not deployed".
    pub fn load(path: &Path) -> Result<Self, ChainError> {
        if !path.exists() {
            return Err(ChainError::NotDeployed(format!(
                "no deployment at {}: run `mpegs chain deploy` first",
                path.display()
            )));
        }
        let deployment: Deployment = mpegs_media::read_json(path)?;
        if deployment.version != VERSION {
            return Err(ChainError::NotDeployed(format!(
                "{}: deployment version {} is of older contracts (this is {VERSION}): \
                 run `mpegs chain deploy --force`",
                path.display(),
                deployment.version
            )));
        }
        Ok(deployment)
    }

    /// Writes the deployment file, creating its folder.
    pub fn save(&self, path: &Path) -> Result<(), ChainError> {
        crate::create_parent_dir(path)?;
        Ok(mpegs_media::write_json(path, self)?)
    }

    /// Checks that the file describes `chain`: same id, code at both addresses.
    pub fn check(&self, chain: &mut dyn Chain) -> Result<(), ChainError> {
        if self.chain_id != chain.chain_id() {
            return Err(ChainError::NotDeployed(format!(
                "the deployment is for chain {}, this chain is {}",
                self.chain_id,
                chain.chain_id()
            )));
        }
        for (name, address) in [
            ("MediaRegistry", self.registry),
            ("StorageEscrow", self.escrow),
        ] {
            if !chain.has_code(address)? {
                return Err(ChainError::NotDeployed(format!(
                    "no {name} code at {address} on this chain (was it reset?): run `mpegs chain deploy`"
                )));
            }
        }
        Ok(())
    }
}

/// Deploys `MediaRegistry` (owned by the sender) and `StorageEscrow` with
/// [`DEFAULT_MIN_PROOF_WINDOW`].
pub fn deploy(chain: &mut dyn Chain) -> Result<Deployment, ChainError> {
    deploy_with(chain, DEFAULT_MIN_PROOF_WINDOW)
}

/// Deploys both contracts; deals on the escrow must give at least
/// `min_proof_window` seconds to prove each revealed challenge.
pub fn deploy_with(chain: &mut dyn Chain, min_proof_window: u64) -> Result<Deployment, ChainError> {
    let (registry, registry_receipt) = chain.deploy(crate::abi::registry_init_code()?)?;
    let code = crate::abi::escrow_init_code(registry, min_proof_window)?;
    let (escrow, escrow_receipt) = chain.deploy(code)?;
    Ok(Deployment {
        version: VERSION,
        chain_id: chain.chain_id(),
        owner: chain.sender(),
        registry,
        escrow,
        registry_deploy_gas: registry_receipt.gas_used,
        escrow_deploy_gas: escrow_receipt.gas_used,
        verifiers: BTreeMap::new(),
    })
}

/// The verifier the registry pins for `vk_hash` (zero address if none).
pub fn registered_verifier(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    vk_hash: B256,
) -> Result<Address, ChainError> {
    let data = MediaRegistry::verifiersCall::new((vk_hash,)).abi_encode();
    let out = chain.call(deployment.registry, Bytes::from(data))?;
    MediaRegistry::verifiersCall::abi_decode_returns(&out)
        .map_err(|e| ChainError::Evm(format!("decoding verifiers(): {e}")))
}

/// Makes sure the registry has a verifier for each circuit in `ids` (keys from the
/// local store): the registry owner generates, compiles (one solc run for all) and
/// deploys the missing ones and pins each by its key hash; anyone else gets an
/// error naming what is missing.
pub fn ensure_verifiers(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    store: &KeyStore,
    ids: &[String],
) -> Result<(), ChainError> {
    let mut missing = vec![];
    for id in ids {
        let vk = store.verifying_key(id)?.ok_or_else(|| {
            ChainError::Input(format!("no verifying key for {id} in the key store"))
        })?;
        let vk_hash = mpegs_zk::backend::vk_hash(&vk);
        let word = verifier::vk_hash_word(&vk_hash)?;
        if registered_verifier(chain, deployment, word)? == Address::ZERO {
            missing.push((id.clone(), vk, vk_hash, word));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    if chain.sender() != deployment.owner {
        let (id, _, vk_hash, _) = &missing[0];
        return Err(ChainError::NotDeployed(format!(
            "the registry has no verifier for circuit {id} ({vk_hash}); the registry owner \
             {} must add it (`mpegs chain register` or `mpegs chain storage open` run by the owner does)",
            deployment.owner
        )));
    }
    let vks: Vec<_> = missing.iter().map(|(_, vk, _, _)| vk.clone()).collect();
    let codes = verifier::bytecodes(&vks)?;
    for ((id, vk, vk_hash, word), code) in missing.into_iter().zip(codes) {
        let (address, receipt) = chain.deploy(code)?;
        let set = MediaRegistry::setVerifierCall {
            vkHash: word,
            verifier: address,
            inputs: U256::from(public_inputs(&vk)),
        };
        let pinned = chain.send(
            Some(deployment.registry),
            set.abi_encode().into(),
            Default::default(),
        )?;
        deployment.verifiers.insert(
            id,
            VerifierEntry {
                vk_hash,
                address,
                deploy_gas: receipt.gas_used,
                pin_gas: pinned.gas_used,
            },
        );
    }
    Ok(())
}

/// The number of public inputs a verifying key's statement takes (the lookup
/// challenges are derived by the verifier, not passed).
pub fn public_inputs(vk: &mpegs_zk::backend::Vk) -> usize {
    vk.statement_inputs()
}
