//! Generated Solidity verifiers, executed by revm: valid proofs pass, tampered
//! proofs, commitments and inputs revert with the verifier's reason, a proof whose
//! commitment shifts the statement passes only a verifier stripped of its
//! proof-of-knowledge check; the committed example verifiers are exactly what the
//! generator makes from the example keys.

use alloy_primitives::{keccak256, Bytes, U256};
use ark_bn254::Fr;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::verifier::{
    bytecodes, input_words, proof_words, solidity, solidity_with, KeyOrigin, PROOF_WORDS,
};
use mpegs_chain::{solc, Chain, ChainError};
use mpegs_testkit::chain::{
    circuit_id, example, example_proven_with, keys, table_example, Example, SHAPES,
};
use mpegs_testkit::forge::{proof_claiming, TableCircuit};

/// Calldata of `verifyProof(uint256[12], uint256[n])`.
fn calldata(proof: &[U256; PROOF_WORDS], inputs: &[U256]) -> Bytes {
    let signature = format!("verifyProof(uint256[12],uint256[{}])", inputs.len());
    let mut data = keccak256(signature.as_bytes())[..4].to_vec();
    for word in proof.iter().chain(inputs) {
        data.extend_from_slice(&word.to_be_bytes::<32>());
    }
    data.into()
}

fn expect_invalid(
    chain: &mut Embedded,
    verifier: alloy_primitives::Address,
    data: Bytes,
    what: &str,
    reason: &str,
) {
    match chain.call(verifier, data) {
        Err(ChainError::Revert(r)) => assert_eq!(r, reason, "{what}"),
        other => panic!("{what} was accepted: {other:?}"),
    }
}

/// The storage examples (one challenge) and a two-column-table circuit (two).
fn examples() -> Vec<Example> {
    let mut out: Vec<Example> = SHAPES.iter().map(|s| example(*s, 3)).collect();
    out.push(table_example(&[1, 2, 3, 250], 3));
    out
}

#[test]
fn generated_verifiers_accept_valid_proofs_and_reject_tampering() {
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let examples = examples();
    assert_eq!(examples.last().unwrap().vk.challenges, 2);
    let codes = bytecodes(&examples.iter().map(|e| e.vk.clone()).collect::<Vec<_>>()).unwrap();
    for (ex, code) in examples.iter().zip(codes) {
        let (verifier, _) = chain.deploy(code).unwrap();
        let proof = proof_words(&ex.proof);
        let inputs = input_words(&ex.inputs);
        chain
            .call(verifier, calldata(&proof, &inputs))
            .unwrap_or_else(|e| panic!("{}: a valid proof was rejected: {e}", ex.id));
        let id = &ex.id;
        // Each public input moved by one.
        for i in 0..inputs.len() {
            let mut bad = inputs.clone();
            bad[i] += U256::from(1);
            let what = format!("{id}: input {i} + 1");
            expect_invalid(
                &mut chain,
                verifier,
                calldata(&proof, &bad),
                &what,
                "the proof is invalid",
            );
        }
        // A public input outside the field.
        let mut bad = inputs.clone();
        bad[0] = U256::from_be_slice(
            &hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
                .unwrap(),
        );
        let what = format!("{id}: input = r");
        expect_invalid(
            &mut chain,
            verifier,
            calldata(&proof, &bad),
            &what,
            "a public input is not a field element",
        );
        // Every proof point off its curve; the commitment or its proof of knowledge
        // taken from another proof of the same statement; D and P swapped.
        for (word, name) in [(1, "A"), (3, "B"), (7, "C"), (9, "D"), (11, "P")] {
            let mut bad = proof;
            bad[word] += U256::from(1);
            let what = format!("{id}: {name} off the curve");
            expect_invalid(
                &mut chain,
                verifier,
                calldata(&bad, &inputs),
                &what,
                "the proof is invalid",
            );
        }
        let again = proof_words(&rerun(ex).proof);
        assert_ne!(again[8..10], proof[8..10], "commitments are blinded");
        for (range, name) in [(8..10, "D"), (10..12, "P"), (8..12, "D and P")] {
            let mut bad = proof;
            bad[range.clone()].copy_from_slice(&again[range]);
            let what = format!("{id}: {name} from another proof");
            expect_invalid(
                &mut chain,
                verifier,
                calldata(&bad, &inputs),
                &what,
                "the proof is invalid",
            );
        }
        let mut swapped = proof;
        swapped[8..10].copy_from_slice(&proof[10..12]);
        swapped[10..12].copy_from_slice(&proof[8..10]);
        let what = format!("{id}: D and P swapped");
        expect_invalid(
            &mut chain,
            verifier,
            calldata(&swapped, &inputs),
            &what,
            "the proof is invalid",
        );
        // Wrong number of inputs: no such function.
        assert!(chain
            .call(verifier, calldata(&proof, &inputs[1..]))
            .is_err());
    }
}

/// Another valid proof of the same statement (other blinding and randomness).
fn rerun(ex: &Example) -> Example {
    match SHAPES.iter().find(|s| circuit_id(**s) == ex.id) {
        Some(shape) => example_proven_with(*shape, 3, 77),
        None => table_example(&[1, 2, 3, 250], 99),
    }
}

/// A proof of "sum = 256" (the bytes it knows) whose commitment is shifted to
/// claim "sum = 300": the real verifier refuses it; the same verifier with ρ = 0,
/// which drops the proof-of-knowledge pair, accepts it.
#[test]
fn the_proof_of_knowledge_check_refuses_a_shifted_commitment() {
    let ex = table_example(&[1, 2, 3, 250], 3);
    let claimed = vec![Fr::from(300u64)];
    let forged = proof_claiming(
        &ex.pk,
        TableCircuit {
            bytes: vec![1, 2, 3, 250],
        },
        &claimed,
        5,
    );
    let honest = solidity(&ex.vk).unwrap();
    let rho_line = honest
        .lines()
        .position(|l| l.contains("uint256 rho ="))
        .expect("the verifier derives rho");
    let mut lines: Vec<&str> = honest.lines().collect();
    // The statement spans two lines; replace both with ρ = 0.
    lines[rho_line] = "        uint256 rho = 0;";
    lines.remove(rho_line + 1);
    let stripped = lines.join("\n");
    let codes = solc::compile_many(
        &[
            ("Honest.sol".into(), honest),
            ("Stripped.sol".into(), stripped),
        ],
        "Verifier",
    )
    .unwrap();
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let (real, _) = chain.deploy(codes[0].clone()).unwrap();
    let (weak, _) = chain.deploy(codes[1].clone()).unwrap();
    let data = calldata(&proof_words(&forged), &input_words(&claimed));
    chain
        .call(weak, data.clone())
        .expect("without the PoK pair the shifted commitment passes");
    expect_invalid(
        &mut chain,
        real,
        data,
        "shifted commitment",
        "the proof is invalid",
    );
    // The honest proof passes both.
    let data = calldata(&proof_words(&ex.proof), &input_words(&ex.inputs));
    chain.call(real, data.clone()).unwrap();
    chain.call(weak, data).unwrap();
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
            committed == solidity_with(&vk, KeyOrigin::Test).unwrap(),
            "{} is stale: run `cargo run --release -p mpegs-chain --example gen-verifiers`",
            path.display()
        );
        assert!(
            committed.starts_with(
                "// SPDX-License-Identifier: Apache-2.0\n// WARNING: TEST KEY — forgeable."
            ),
            "{} must say it embeds a forgeable test key",
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
