//! The contracts on the embedded EVM (revm): EIP-712 attestations checked with
//! ecrecover against ethers' vectors, the full registry flow with real edit proofs,
//! a storage deal through three epochs, and state that survives a restart.

mod common;

use alloy_primitives::{Bytes, B256, U256};
use common::revert;
use mpegs_chain::abi::MediaRegistry;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::{transact, view};
use mpegs_chain::deployment::{deploy, Deployment};
use mpegs_chain::embedded::Embedded;
use mpegs_chain::registry;

fn vectors() -> Vec<serde_json::Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../mpegs-provenance/tests/vectors/eip712.json"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["vectors"].as_array().unwrap().clone()
}

fn hex_bytes(v: &serde_json::Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

fn capture_call(v: &serde_json::Value, signature: Vec<u8>) -> MediaRegistry::registerOriginalCall {
    let m = &v["message"];
    MediaRegistry::registerOriginalCall {
        commitment: B256::from_slice(&hex_bytes(&m["commitment"])),
        format: m["format"].as_u64().unwrap() as u8,
        width: m["width"].as_u64().unwrap() as u32,
        height: m["height"].as_u64().unwrap() as u32,
        capturedAt: m["capturedAt"].as_str().unwrap().parse().unwrap(),
        deviceId: m["deviceId"].as_str().unwrap().to_string(),
        device: v["address"].as_str().unwrap().parse().unwrap(),
        signature: Bytes::from(signature),
    }
}

#[test]
fn attestations_are_checked_with_ecrecover_against_ethers_vectors() {
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let d: Deployment = deploy(&mut chain).unwrap();
    for v in vectors() {
        let call = capture_call(&v, hex_bytes(&v["signature"]));
        let digest = view(
            &mut chain,
            d.registry,
            &MediaRegistry::captureDigestCall {
                commitment: call.commitment,
                format: call.format,
                width: call.width,
                height: call.height,
                capturedAt: call.capturedAt,
                deviceId: call.deviceId.clone(),
            },
        )
        .unwrap();
        assert_eq!(
            digest.as_slice(),
            hex_bytes(&v["digest"]).as_slice(),
            "{}",
            v["name"]
        );

        // Bad v, high s, wrong length: refused with the reason.
        let mut sig = hex_bytes(&v["signature"]);
        sig[64] = 29;
        assert_eq!(
            revert(transact(
                &mut chain,
                d.registry,
                &capture_call(&v, sig),
                U256::ZERO
            )),
            "bad signature v"
        );
        let mut sig = hex_bytes(&v["signature"]);
        sig[32] |= 0x80;
        assert_eq!(
            revert(transact(
                &mut chain,
                d.registry,
                &capture_call(&v, sig),
                U256::ZERO
            )),
            "signature s is not low"
        );
        let sig = hex_bytes(&v["signature"])[..64].to_vec();
        assert_eq!(
            revert(transact(
                &mut chain,
                d.registry,
                &capture_call(&v, sig),
                U256::ZERO
            )),
            "signature must be 65 bytes"
        );

        transact(&mut chain, d.registry, &call, U256::ZERO).unwrap();
        let record = registry::record(&mut chain, &d, call.commitment, call.device).unwrap();
        assert_eq!(
            format!("{:#x}", record.device),
            v["address"].as_str().unwrap(),
            "{}",
            v["name"]
        );
        assert_eq!(record.kind, 1, "original");
        assert_eq!(
            revert(transact(&mut chain, d.registry, &call, U256::ZERO)),
            "already registered"
        );
    }

    // The vector's signature over another capture time recovers someone else: a
    // call naming the vector's device is refused, so no record names it wrongly.
    let v = &vectors()[0];
    let mut call = capture_call(v, hex_bytes(&v["signature"]));
    call.commitment = B256::from(U256::from(999));
    call.capturedAt += 1;
    assert_eq!(
        revert(transact(&mut chain, d.registry, &call, U256::ZERO)),
        "the signature is not by the named device"
    );
    let record = registry::record(&mut chain, &d, call.commitment, call.device).unwrap();
    assert_eq!(record.kind, 0, "nothing recorded");
}

#[test]
fn registry_flow_on_the_embedded_evm_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("chain.json");
    let (deployment, (child, device)) = {
        let mut chain = Embedded::open(&state, dev_signer(0).unwrap()).unwrap();
        common::registry_flow(&mut chain, dir.path())
    };
    // A new process: the state file holds the contracts and records.
    let mut chain = Embedded::open(&state, dev_signer(3).unwrap()).unwrap();
    deployment.check(&mut chain).unwrap();
    let status = registry::status(
        &mut chain,
        &deployment,
        child,
        Some(device),
        dev_signer(0).unwrap().address(),
    )
    .unwrap();
    assert_eq!(status.len(), 2);
    assert_eq!(status[0].kind, "edit");
}

#[test]
fn a_storage_deal_through_three_epochs_on_the_embedded_evm() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let mut deployment = deploy(&mut chain).unwrap();
    common::storage_flow(&mut chain, &mut deployment, dir.path());
}
