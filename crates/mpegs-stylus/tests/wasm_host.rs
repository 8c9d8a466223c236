//! The shipped artifacts themselves: the `.wasm` files `scripts/build-stylus.sh`
//! builds, run in wasmi through a host implementing the Stylus `vm_hooks` they
//! import (static calls to 0x06/0x07/0x08 served by revm's BN254 precompiles), with
//! real calldata. Valid proofs of both circuits return status 0; tampered proofs and
//! inputs revert with the expected error; malformed calldata reverts.

mod host;

use alloy_primitives::U256;
use host::{calldata, error_selector, load, run, Outcome};
use mpegs_chain::verifier::{input_words, proof_words};
use mpegs_testkit::chain::{example, SHAPES};

fn expect_revert(out: &Outcome, error: &str, what: &str) {
    assert_eq!(out.status, 1, "{what}: expected a revert, got {out:?}");
    assert!(
        out.result.starts_with(&error_selector(error)),
        "{what}: expected {error}, got 0x{}",
        alloy_primitives::hex::encode(&out.result)
    );
}

fn check(name: &str, shape_index: usize, precompiles: bool) {
    let wasm = load(name);
    let shape = SHAPES[shape_index];
    let ex = example(shape, 3);
    let proof = proof_words(&ex.proof);
    let inputs = input_words(&ex.inputs);
    let n = inputs.len() as u64;
    let call = |proof: &[U256; 8], inputs: &[U256]| {
        run(&wasm, &calldata(proof, inputs)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };

    let ok = call(&proof, &inputs);
    assert_eq!(ok.status, 0, "{name}: valid proof refused: {ok:?}");
    assert!(ok.result.is_empty(), "{name}: verifyProof returns nothing");
    if precompiles {
        assert_eq!(
            ok.static_calls() as u64,
            2 * n + 1,
            "{name}: N ECMUL + N ECADD + 1 pairing"
        );
        assert_eq!(ok.precompile_gas(), 6_150 * n + 181_000, "{name}");
    } else {
        assert_eq!(
            ok.static_calls(),
            0,
            "{name}: the pure-WASM variant makes no calls"
        );
    }
    println!("{name}: valid proof verified, {} wasmi fuel", ok.fuel);

    for i in 0..inputs.len() {
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
    let other = example(shape, 4);
    expect_revert(
        &call(&proof_words(&other.proof), &inputs),
        "ProofInvalid()",
        &format!("{name}: another statement's proof"),
    );
    for (word, point) in [(1usize, 0u8), (3, 1), (7, 2)] {
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

    // Malformed calldata: wrong input count (another selector), truncated words,
    // nothing at all. Each reverts; none traps.
    for (what, data) in [
        ("one input short", calldata(&proof, &inputs[1..])),
        ("truncated", calldata(&proof, &inputs)[..100].to_vec()),
        ("empty", Vec::new()),
    ] {
        let out = run(&wasm, &data).unwrap_or_else(|e| panic!("{name}: {what}: {e}"));
        assert_eq!(out.status, 1, "{name}: {what} was accepted");
    }
}

#[test]
fn shipped_wasm_verifies_storage_k2_d3() {
    check("storage-inclusion-k2-d3-v1", 0, true);
}

#[test]
fn shipped_wasm_verifies_storage_k4_d9() {
    check("storage-inclusion-k4-d9-v1", 1, true);
}

#[test]
fn pure_wasm_pairing_variant_verifies_storage_k2_d3() {
    check("storage-inclusion-k2-d3-v1_pairing-wasm", 0, false);
}

#[test]
fn pure_wasm_pairing_variant_verifies_storage_k4_d9() {
    check("storage-inclusion-k4-d9-v1_pairing-wasm", 1, false);
}

#[test]
fn contracts_use_only_what_stylus_accepts() {
    for name in [
        "storage-inclusion-k2-d3-v1",
        "storage-inclusion-k4-d9-v1",
        "storage-inclusion-k2-d3-v1_pairing-wasm",
        "storage-inclusion-k4-d9-v1_pairing-wasm",
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
