//! The shipped artifacts themselves: the `.wasm` files `scripts/build-stylus.sh`
//! builds, run in wasmi through a host implementing the Stylus `vm_hooks` they
//! import (static calls to 0x06/0x07/0x08 served by revm's BN254 precompiles,
//! `native_keccak256` by alloy's keccak), with real calldata. Valid proofs return
//! status 0 (both storage keys, one challenge, and the table key, two); tampered
//! proofs and inputs, D or P from another proof, and the forged proof that only the
//! proof-of-knowledge pair catches revert with the expected error; malformed
//! calldata reverts.

mod fixture;
mod host;

use alloy_primitives::U256;
use fixture::{storage_fixture, table_fixture, Fixture};
use host::{calldata, error_selector, load, run, Outcome};
use mpegs_chain::verifier::{input_words, proof_words};

fn expect_revert(out: &Outcome, error: &str, what: &str) {
    assert_eq!(out.status, 1, "{what}: expected a revert, got {out:?}");
    assert!(
        out.result.starts_with(&error_selector(error)),
        "{what}: expected {error}, got 0x{}",
        alloy_primitives::hex::encode(&out.result)
    );
}

/// Runs the checks on the contract `name` for `f`'s key, which has `challenges`
/// challenges; `precompiles`: the shipped variant (else pure-WASM pairing).
fn check(name: &str, f: &Fixture, challenges: usize, precompiles: bool) {
    let wasm = load(name);
    let proof = proof_words(&f.proof);
    let inputs = input_words(&f.inputs);
    let n = inputs.len();
    let call = |proof: &[U256; 12], inputs: &[U256]| {
        run(&wasm, &calldata(proof, inputs)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    // It names its key as the generated Solidity verifiers do (registries pin by
    // it) and says it embeds a test key.
    let named = run(&wasm, &alloy_primitives::keccak256("vkHash()")[..4])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(named.status, 0, "{name}: vkHash() failed: {named:?}");
    assert_eq!(
        named.result,
        mpegs_zk::backend::vk_digest(&f.vk).to_vec(),
        "{name}: vkHash() is the key's sha256"
    );
    let test_key = run(&wasm, &alloy_primitives::keccak256("isTestKey()")[..4])
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(test_key.result[31], 1, "{name}: isTestKey() of a test key");

    let ok = call(&proof, &inputs);
    assert_eq!(ok.status, 0, "{name}: valid proof refused: {ok:?}");
    assert!(ok.result.is_empty(), "{name}: verifyProof returns nothing");
    // The seed over tag, digest, inputs and D; β's 33 bytes; ρ over 12 words.
    let mut hashed = vec![32 * (n + 4)];
    if challenges == 2 {
        hashed.push(33);
    }
    hashed.push(32 * 12);
    assert_eq!(ok.keccaks(), hashed, "{name}: native_keccak256 calls");
    if precompiles {
        let ops = (n + challenges + 2) as u64;
        assert_eq!(
            ok.static_calls() as u64,
            2 * ops + 1,
            "{name}: N + C + 2 ECMUL and ECADD, 1 pairing"
        );
        assert_eq!(
            ok.precompile_gas(),
            6_150 * ops + 45_000 + 5 * 34_000,
            "{name}"
        );
    } else {
        assert_eq!(
            ok.static_calls(),
            0,
            "{name}: the pure-WASM variant makes no calls"
        );
    }
    println!("{name}: valid proof verified, {} wasmi fuel", ok.fuel);

    for i in 0..n {
        let mut bad = inputs.clone();
        bad[i] += U256::from(1);
        expect_revert(
            &call(&proof, &bad),
            "ProofInvalid()",
            &format!("{name}: input {i} + 1"),
        );
    }
    let mut bad = inputs.clone();
    bad[0] = mpegs_stylus::groth16::R;
    expect_revert(
        &call(&proof, &bad),
        "PublicInputNotInField()",
        &format!("{name}: input = r"),
    );
    expect_revert(
        &call(&proof_words(&f.other.0), &inputs),
        "ProofInvalid()",
        &format!("{name}: another statement's proof"),
    );
    let reproof = proof_words(&f.reproof);
    assert_eq!(call(&reproof, &inputs).status, 0, "{name}: second proof");
    for (range, what) in [(8..10, "D"), (10..12, "P")] {
        let mut bad = proof;
        bad[range.clone()].copy_from_slice(&reproof[range]);
        expect_revert(
            &call(&bad, &inputs),
            "ProofInvalid()",
            &format!("{name}: {what} from another proof of the statement"),
        );
    }
    expect_revert(
        &call(&proof_words(&f.forged.0), &input_words(&f.forged.1)),
        "ProofInvalid()",
        &format!("{name}: forged proof (passes only without the proof-of-knowledge pair)"),
    );
    for (word, point) in [(1usize, 0u8), (3, 1), (7, 2), (9, 3), (11, 4)] {
        let mut bad = proof;
        bad[word] += U256::from(1);
        let out = call(&bad, &inputs);
        expect_revert(
            &out,
            "ProofPointNotOnCurve(uint8)",
            &format!("{name}: point {point} moved"),
        );
        assert_eq!(out.result.len(), 36, "{name}: selector + uint8 word");
        assert_eq!(
            out.result[35], point,
            "{name}: the error names point {point}"
        );
    }

    // Malformed calldata: wrong input count (another selector), the old 8-word
    // proof, truncated words, nothing at all. Each reverts; none traps.
    let mut old = error_selector(&format!("verifyProof(uint256[8],uint256[{n}])")).to_vec();
    for w in proof[..8].iter().chain(&inputs) {
        old.extend_from_slice(&w.to_be_bytes::<32>());
    }
    for (what, data) in [
        (
            "one input more",
            calldata(&proof, &[&inputs[..], &[U256::ZERO]].concat()),
        ),
        ("8-word proof (before the commitment)", old),
        ("truncated", calldata(&proof, &inputs)[..100].to_vec()),
        ("empty", Vec::new()),
    ] {
        let out = run(&wasm, &data).unwrap_or_else(|e| panic!("{name}: {what}: {e}"));
        assert_eq!(out.status, 1, "{name}: {what} was accepted");
    }
}

#[test]
fn shipped_wasm_verifies_storage_k2_d3() {
    let f = storage_fixture(0);
    check(&f.id, &f, 1, true);
}

#[test]
fn shipped_wasm_verifies_storage_k4_d9() {
    let f = storage_fixture(1);
    check(&f.id, &f, 1, true);
}

#[test]
fn shipped_wasm_verifies_two_challenges() {
    let f = table_fixture();
    check(&f.id, &f, 2, true);
}

#[test]
fn pure_wasm_pairing_variant_verifies_storage_k2_d3() {
    let f = storage_fixture(0);
    check(&format!("{}_pairing-wasm", f.id), &f, 1, false);
}

#[test]
fn pure_wasm_pairing_variant_verifies_storage_k4_d9() {
    let f = storage_fixture(1);
    check(&format!("{}_pairing-wasm", f.id), &f, 1, false);
}

#[test]
fn contracts_use_only_what_stylus_accepts() {
    for name in [
        "storage-inclusion-k2-d3-v3",
        "storage-inclusion-k4-d9-v3",
        "testkit-table-8",
        "storage-inclusion-k2-d3-v3_pairing-wasm",
        "storage-inclusion-k4-d9-v3_pairing-wasm",
    ] {
        let wasm = load(name);
        // Imports: only Stylus hooks this host implements (anything else would be
        // an unknown import to Nitro or to this test).
        assert_eq!(
            host::unexpected_imports(&wasm),
            Vec::<String>::new(),
            "{name}"
        );
        // Opcodes: all priced by Stylus (no floats, SIMD, reference types...).
        host::meter::instrument(&wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Stylus's own ABI: the user_entrypoint export and a memory.
        let exports: Vec<String> = wasmparser::Parser::new(0)
            .parse_all(&wasm)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::ExportSection(s) => Some(
                    s.into_iter()
                        .map(|e| e.unwrap().name.to_string())
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(
            exports.contains(&"user_entrypoint".to_string()),
            "{name}: {exports:?}"
        );
        assert!(
            exports.contains(&"memory".to_string()),
            "{name}: {exports:?}"
        );
    }
}
