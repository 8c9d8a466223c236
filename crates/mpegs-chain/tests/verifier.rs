//! Generated Solidity verifiers, executed by revm: valid proofs pass, tampered
//! proofs and inputs revert with the verifier's reason; the committed example
//! verifiers are exactly what the generator makes from the example keys.

use alloy_primitives::{keccak256, Bytes, U256};
use ark_bn254::Fr;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::verifier::{bytecodes, input_words, proof_words, solidity};
use mpegs_chain::{Chain, ChainError};
use mpegs_testkit::chain::{circuit_id, example, keys, SHAPES};

/// Calldata of `verifyProof(uint256[8], uint256[n])`.
fn calldata(proof: &[U256; 8], inputs: &[U256]) -> Bytes {
    let signature = format!("verifyProof(uint256[8],uint256[{}])", inputs.len());
    let mut data = keccak256(signature.as_bytes())[..4].to_vec();
    for word in proof.iter().chain(inputs) {
        data.extend_from_slice(&word.to_be_bytes::<32>());
    }
    data.into()
}

#[test]
fn generated_verifiers_accept_valid_proofs_and_reject_tampering() {
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let examples: Vec<_> = SHAPES.iter().map(|s| example(*s, 3)).collect();
    let codes = bytecodes(&examples.iter().map(|e| e.vk.clone()).collect::<Vec<_>>()).unwrap();
    for (ex, code) in examples.iter().zip(codes) {
        let (verifier, _) = chain.deploy(code).unwrap();
        let proof = proof_words(&ex.proof);
        let inputs = input_words(&ex.inputs);
        chain
            .call(verifier, calldata(&proof, &inputs))
            .unwrap_or_else(|e| panic!("{}: a valid proof was rejected: {e}", ex.id));

        let expect_invalid =
            |chain: &mut Embedded, data: Bytes, what: &str, reason: &str| match chain
                .call(verifier, data)
            {
                Err(ChainError::Revert(r)) => assert_eq!(r, reason, "{what}"),
                other => panic!("{}: {what} was accepted: {other:?}", ex.id),
            };
        // Each public input moved by one.
        for i in 0..inputs.len() {
            let mut bad = inputs.clone();
            bad[i] += U256::from(1);
            expect_invalid(
                &mut chain,
                calldata(&proof, &bad),
                &format!("input {i} + 1"),
                "the proof is invalid",
            );
        }
        // A public input outside the field.
        let mut bad = inputs.clone();
        bad[0] = U256::from_be_slice(
            &hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
                .unwrap(),
        );
        expect_invalid(
            &mut chain,
            calldata(&proof, &bad),
            "input = r",
            "a public input is not a field element",
        );
        // A proof of another statement, and a proof point that is not on the curve.
        let other = proof_words(&example(SHAPES[0], 4).proof);
        if ex.inputs.len() == 2 + SHAPES[0].k {
            expect_invalid(
                &mut chain,
                calldata(&other, &inputs),
                "another statement's proof",
                "the proof is invalid",
            );
        }
        let mut bad = proof;
        bad[1] += U256::from(1);
        expect_invalid(
            &mut chain,
            calldata(&bad, &inputs),
            "A off the curve",
            "the proof is invalid",
        );
        // Wrong number of inputs: no such function.
        assert!(chain
            .call(verifier, calldata(&proof, &inputs[1..]))
            .is_err());
    }
}

#[test]
fn committed_example_verifiers_match_their_keys() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/verifiers");
    for shape in SHAPES {
        let (_, vk) = keys(shape);
        let path = dir.join(format!("{}.sol", circuit_id(shape)));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            committed == solidity(&vk).unwrap(),
            "{} is stale: run `cargo run --release -p mpegs-chain --example gen-verifiers`",
            path.display()
        );
    }
}

#[test]
fn fixed_seed_keys_are_deterministic() {
    // The committed verifiers rely on it.
    let a = keys(SHAPES[0]).1;
    let b = keys(SHAPES[0]).1;
    assert_eq!(
        mpegs_zk::backend::vk_hash(&a),
        mpegs_zk::backend::vk_hash(&b)
    );
    let _: Fr = example(SHAPES[0], 1).inputs[0];
}
