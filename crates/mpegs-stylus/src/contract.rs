//! The Stylus contract: [`Groth16Verifier`] checks proofs against the embedded key
//! `vk::selected` (compiled only when a key feature chose one).

#[cfg(feature = "pairing-wasm")]
use crate::ark;
#[cfg(not(feature = "pairing-wasm"))]
use crate::Precompiles;
use crate::{groth16, vk, VerifierError};
// `vec!` and `Vec` are used by the code stylus-sdk's macros generate.
use alloc::{vec, vec::Vec};
use alloy_primitives::U256;
use stylus_sdk::prelude::*;

/// The verifier contract: no storage, one view function.
#[storage]
#[entrypoint]
pub struct Groth16Verifier {}

#[public]
impl Groth16Verifier {
    /// Returns nothing if `proof` verifies for `input` against the embedded key;
    /// reverts otherwise (same ABI as the generated Solidity verifier).
    #[selector(name = "verifyProof")]
    pub fn verify_proof(
        &self,
        proof: [U256; groth16::PROOF_WORDS],
        input: [U256; vk::selected::INPUTS],
    ) -> Result<(), VerifierError> {
        #[cfg(not(feature = "pairing-wasm"))]
        let mut curve = Precompiles { host: self.vm() };
        #[cfg(feature = "pairing-wasm")]
        let mut curve = ark::Arkworks { host: self.vm() };
        groth16::verify(&mut curve, &vk::selected::VK, &proof, &input).map_err(Into::into)
    }

    /// The sha256 of the embedded verifying key: the hash registries pin this
    /// verifier under (`MediaRegistry.setVerifier` requires it to match), as the
    /// generated Solidity verifiers answer.
    #[selector(name = "vkHash")]
    pub fn vk_hash(&self) -> alloy_primitives::B256 {
        alloy_primitives::B256::new(vk::selected::VK.digest)
    }

    /// True unless the contract embeds the deployer's own key (`vk-deploy`): the
    /// committed `test-vk-*` keys are fixed-seed, and anyone can forge their proofs.
    #[selector(name = "isTestKey")]
    pub fn is_test_key(&self) -> bool {
        !cfg!(feature = "vk-deploy")
    }
}
