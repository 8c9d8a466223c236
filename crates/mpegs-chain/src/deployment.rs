//! Where the contracts live on one chain: the registry, the escrow, and the
//! verifiers deployed for our circuits. Saved as JSON next to the chain state
//! (embedded) or under `$MPEGS_HOME/chain` (nodes). The registry's own
//! `verifiers` mapping stays the source of truth; this file is a cache with names.
//!
//! A deployment file is never trusted for what it says is at its addresses: the
//! code there is compared with the code this build compiled (the committed
//! artifacts; immutables checked through their getters), and every verifier it
//! lists must be the one the registry pins for its key.

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

/// 3: records keyed by (commitment, device), verifiers that name their key, pins
/// replaced only after a delay. (2: write-once pins, keyed anchors, named-worker
/// deals.)
pub const VERSION: u32 = 3;

/// Chain id of local development chains (Hardhat, Anvil) and the embedded EVM:
/// the only chain verifiers of test keys may be deployed or pinned on.
pub const DEV_CHAIN_ID: u64 = 31337;

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

    /// Checks that the file describes `chain`: same id, and at each address the
    /// code this build compiled — not merely some code. The registry's code must
    /// equal its artifact byte for byte; the escrow's everywhere but its
    /// immutables, whose values are then read back (`registry()` must be this
    /// registry). Each listed verifier must be the registry's pin for its key.
    pub fn check(&self, chain: &mut dyn Chain) -> Result<(), ChainError> {
        if self.chain_id != chain.chain_id() {
            return Err(ChainError::NotDeployed(format!(
                "the deployment is for chain {}, this chain is {}",
                self.chain_id,
                chain.chain_id()
            )));
        }
        for (name, address, artifact) in [
            (
                "MediaRegistry",
                self.registry,
                crate::abi::REGISTRY_ARTIFACT,
            ),
            ("StorageEscrow", self.escrow, crate::abi::ESCROW_ARTIFACT),
        ] {
            let code = chain.code(address)?;
            if code.is_empty() {
                return Err(ChainError::NotDeployed(format!(
                    "no {name} code at {address} on this chain (was it reset?): run `mpegs chain deploy`"
                )));
            }
            if !crate::abi::runtime_matches(artifact, &code)? {
                return Err(ChainError::NotDeployed(format!(
                    "the code at {address} is not the {name} this mpegs was built with \
                     (another contract, or another version): run `mpegs chain deploy --force`"
                )));
            }
        }
        let escrow_registry = crate::chain::view(
            chain,
            self.escrow,
            &crate::abi::StorageEscrow::registryCall {},
        )?;
        if escrow_registry != self.registry {
            return Err(ChainError::NotDeployed(format!(
                "the StorageEscrow at {} uses the registry {escrow_registry}, not {}",
                self.escrow, self.registry
            )));
        }
        for (id, entry) in &self.verifiers {
            let word = verifier::vk_hash_word(&entry.vk_hash)?;
            let pinned = registered_verifier(chain, self, word)?;
            if pinned != entry.address {
                return Err(ChainError::NotDeployed(format!(
                    "the deployment lists {} as the verifier of {id}, the registry pins {pinned}",
                    entry.address
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
    let codes = verifier::compiled(&vks, verifier::KeyOrigin::Store)?;
    for ((id, vk, vk_hash, word), code) in missing.into_iter().zip(codes) {
        let (address, receipt) = chain.deploy(code.creation)?;
        let pin_gas = pin_verifier(chain, deployment, word, address, public_inputs(&vk))?;
        deployment.verifiers.insert(
            id,
            VerifierEntry {
                vk_hash,
                address,
                deploy_gas: receipt.gas_used,
                pin_gas,
            },
        );
    }
    Ok(())
}

/// Refuses a verifier that says it checks a fixed-seed test key (`isTestKey()`)
/// on any chain but a local development one: its proofs are forgeable.
pub fn refuse_test_key(chain: &mut dyn Chain, verifier: Address) -> Result<(), ChainError> {
    let data = alloy_primitives::keccak256("isTestKey()")[..4].to_vec();
    let test_key = match chain.call(verifier, data.into()) {
        Ok(out) => out.len() == 32 && out[31] == 1 && out[..31].iter().all(|b| *b == 0),
        // No such function: not one of our generated verifiers; the registry's
        // own checks (vkHash, probe) decide.
        Err(ChainError::Revert(_)) => false,
        Err(e) => return Err(e),
    };
    if test_key && chain.chain_id() != DEV_CHAIN_ID {
        return Err(ChainError::Input(format!(
            "the verifier at {verifier} checks a fixed-seed TEST key (anyone can forge its proofs): \
             refused on chain {}, allowed only on a local development chain ({DEV_CHAIN_ID})",
            chain.chain_id()
        )));
    }
    Ok(())
}

/// Deploys the generated verifier of `vk` (of `origin`): refused for a test key
/// on any chain but a development one. Returns its address and deployment gas.
pub fn deploy_verifier(
    chain: &mut dyn Chain,
    vk: &mpegs_zk::backend::Vk,
    origin: verifier::KeyOrigin,
) -> Result<(Address, u64), ChainError> {
    if origin == verifier::KeyOrigin::Test && chain.chain_id() != DEV_CHAIN_ID {
        return Err(ChainError::Input(format!(
            "refusing to deploy a verifier of a fixed-seed TEST key on chain {} \
             (only on a local development chain, {DEV_CHAIN_ID})",
            chain.chain_id()
        )));
    }
    let code = verifier::compiled(std::slice::from_ref(vk), origin)?.remove(0);
    let (address, receipt) = chain.deploy(code.creation)?;
    Ok((address, receipt.gas_used))
}

/// Pins `verifier` for `vk_hash` on the registry (`setVerifier`, owner only; the
/// contract checks that it names the key and answers like a verifier of
/// `inputs` inputs), after refusing a test-key verifier off development chains.
/// Returns the gas used.
pub fn pin_verifier(
    chain: &mut dyn Chain,
    deployment: &Deployment,
    vk_hash: B256,
    verifier: Address,
    inputs: usize,
) -> Result<u64, ChainError> {
    refuse_test_key(chain, verifier)?;
    let set = MediaRegistry::setVerifierCall {
        vkHash: vk_hash,
        verifier,
        inputs: U256::from(inputs),
    };
    let pinned = chain.send(
        Some(deployment.registry),
        set.abi_encode().into(),
        Default::default(),
    )?;
    Ok(pinned.gas_used)
}

/// Whether the code at `verifier` is exactly the verifier mpegs generates for
/// `vk` (a store key): what a party about to rely on a pin (a worker posting
/// collateral) checks, since a verifier's `vkHash()` is only its own claim.
pub fn verifier_code_matches(
    chain: &mut dyn Chain,
    verifier: Address,
    vk: &mpegs_zk::backend::Vk,
) -> Result<bool, ChainError> {
    let expected = verifier::compiled(std::slice::from_ref(vk), verifier::KeyOrigin::Store)?;
    Ok(chain.code(verifier)?.as_ref() == expected[0].runtime.as_slice())
}

/// The number of public inputs a verifying key's statement takes (the lookup
/// challenges are derived by the verifier, not passed).
pub fn public_inputs(vk: &mpegs_zk::backend::Vk) -> usize {
    vk.statement_inputs()
}
