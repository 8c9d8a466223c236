//! The Arbitrum Stylus Groth16 verifier: a `no_std` contract (stylus-sdk 0.10) built
//! to `wasm32-unknown-unknown` by `scripts/build-stylus.sh`, ABI-compatible with the
//! generated Solidity verifiers (`verifyProof(uint256[12], uint256[N])`: Groth16 with
//! the lookup backend's commitment D and its proof of knowledge P, reverting
//! `ProofInvalid()`, `PublicInputNotInField()`, or `ProofPointNotOnCurve(uint8)`),
//! with the verifying key embedded at build time (`vk`, generated from a key and
//! chosen by a cargo feature: there is no default, since the committed keys are
//! forgeable test keys), the transcript hashed with Stylus's native keccak and
//! the curve work done by the EVM precompiles 0x06/0x07/0x08 through static calls
//! (or, with `pairing-wasm`, by arkworks inside the WASM). The verifier logic
//! (`groth16`) is generic over the backend so native tests run it against revm's
//! precompiles. See docs/stylus.md.

#![cfg_attr(not(any(test, feature = "export-abi")), no_main)]
#![cfg_attr(not(any(test, feature = "export-abi")), no_std)]

extern crate alloc;

#[cfg(feature = "pairing-wasm")]
pub mod ark;
pub mod field;
pub mod groth16;
pub mod vk;

use alloy_primitives::{Address, U256};
use alloy_sol_types::sol;
use groth16::Bn254;
use stylus_sdk::prelude::*;

sol! {
    /// The proof does not verify (same as the Solidity verifier's error).
    error ProofInvalid();
    /// A public input is ≥ r (same as the Solidity verifier's error).
    error PublicInputNotInField();
    /// A proof point (0 = A, 1 = B, 2 = C, 3 = D, 4 = P) has a coordinate ≥ p or is
    /// off its curve.
    error ProofPointNotOnCurve(uint8 point);
}

/// The contract's revert reasons.
#[derive(SolidityError)]
pub enum VerifierError {
    ProofInvalid(ProofInvalid),
    PublicInputNotInField(PublicInputNotInField),
    ProofPointNotOnCurve(ProofPointNotOnCurve),
}

impl From<groth16::Error> for VerifierError {
    fn from(e: groth16::Error) -> Self {
        match e {
            groth16::Error::ProofInvalid => Self::ProofInvalid(ProofInvalid {}),
            groth16::Error::PublicInputNotInField => {
                Self::PublicInputNotInField(PublicInputNotInField {})
            }
            groth16::Error::ProofPointNotOnCurve(point) => {
                Self::ProofPointNotOnCurve(ProofPointNotOnCurve { point })
            }
        }
    }
}

/// BN254 through the EVM precompiles, by static calls from the contract, and keccak
/// by the `native_keccak256` hostio.
pub struct Precompiles<'a, H: Host + ?Sized> {
    pub host: &'a H,
}

impl<H: Host + ?Sized> Precompiles<'_, H> {
    fn call<const OUT: usize>(&self, precompile: u8, input: &[u8]) -> Option<[u8; OUT]> {
        // Safety: the verifier has no storage, so nothing can alias across the call.
        let out = unsafe {
            RawCall::new_static(self.host).call(Address::with_last_byte(precompile), input)
        }
        .ok()?;
        out.as_slice().try_into().ok()
    }
}

impl<H: Host + ?Sized> Bn254 for Precompiles<'_, H> {
    fn ec_add(&mut self, input: &[u8; 128]) -> Option<[u8; 64]> {
        self.call(0x06, input)
    }

    fn ec_mul(&mut self, input: &[u8; 96]) -> Option<[u8; 64]> {
        self.call(0x07, input)
    }

    fn pairing(&mut self, input: &[u8; groth16::PAIRING_BYTES]) -> Option<bool> {
        let out: [u8; 32] = self.call(0x08, input)?;
        Some(U256::from_be_bytes(out) == U256::from(1))
    }

    fn keccak256(&mut self, data: &[u8]) -> [u8; 32] {
        self.host.native_keccak256(data).0
    }
}

/// The contract, which embeds the verifying key a cargo feature chose (see
/// [`vk`]). Host builds without one (the workspace build, the native tests) have
/// the verifier logic but no contract.
#[cfg(any(
    feature = "vk-deploy",
    feature = "test-vk-storage-k2-d3",
    feature = "test-vk-storage-k4-d9",
    feature = "test-vk-table"
))]
mod contract;
#[cfg(any(
    feature = "vk-deploy",
    feature = "test-vk-storage-k2-d3",
    feature = "test-vk-storage-k4-d9",
    feature = "test-vk-table"
))]
pub use contract::Groth16Verifier;
