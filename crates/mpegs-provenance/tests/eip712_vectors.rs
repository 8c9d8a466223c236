//! Checks the EIP-712 capture attestation against independent vectors computed with
//! ethers v6 (`scripts/vectors/make-eip712-vector.mjs`: `TypedDataEncoder.hash` and
//! `Wallet.signTypedData`), using only the crate's public API.
//!
//! Regenerate with: `cd scripts/vectors && npm install && node make-eip712-vector.mjs`.

use mpegs_media::poseidon::fr_from_hex;
use mpegs_media::PixelFormat;
use mpegs_provenance::attest::{recover, Capture, DeviceKey};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/eip712.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("'{key}' is not a string in {v}"))
}

fn u64_of(v: &Value, key: &str) -> u64 {
    match &v[key] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .unwrap_or_else(|| panic!("'{key}' is not an unsigned integer in {v}"))
}

fn u32_of(v: &Value, key: &str) -> u32 {
    u32::try_from(u64_of(v, key)).unwrap_or_else(|_| panic!("'{key}' does not fit u32 in {v}"))
}

fn hex_of(v: &Value, key: &str) -> Vec<u8> {
    let s = str_of(v, key);
    hex::decode(
        s.strip_prefix("0x")
            .unwrap_or_else(|| panic!("'{key}' lacks 0x")),
    )
    .unwrap_or_else(|e| panic!("'{key}' is not hex: {e}"))
}

fn capture_of(message: &Value) -> Capture {
    let format = match u64_of(message, "format") {
        1 => PixelFormat::Gray,
        2 => PixelFormat::Rgb24,
        other => panic!("unknown format code {other}"),
    };
    assert_eq!(format.code(), u64_of(message, "format"));
    Capture {
        commitment: fr_from_hex(str_of(message, "commitment")).expect("commitment"),
        format,
        width: u32_of(message, "width"),
        height: u32_of(message, "height"),
        captured_at: u64_of(message, "capturedAt"),
        device_id: str_of(message, "deviceId").to_string(),
    }
}

fn cases() -> Vec<Value> {
    let v = vectors();
    assert_eq!(
        v["domain"],
        serde_json::json!({"name": "mpegs", "version": "1"})
    );
    assert_eq!(
        str_of(&v, "encode_type"),
        "MediaCapture(bytes32 commitment,uint8 format,uint32 width,uint32 height,uint64 capturedAt,string deviceId)"
    );
    let list = v["vectors"].as_array().expect("vectors array").clone();
    assert!(!list.is_empty());
    list
}

/// The first vector is exactly the capture of the unit tests in `attest.rs`.
#[test]
fn first_vector_is_the_documented_capture() {
    let list = cases();
    let first = &list[0];
    let c = capture_of(&first["message"]);
    assert_eq!(c.commitment, ark_bn254::Fr::from(12345u64));
    assert_eq!(c.format, PixelFormat::Rgb24);
    assert_eq!((c.width, c.height), (640, 480));
    assert_eq!(c.captured_at, 1_700_000_000);
    assert_eq!(c.device_id, "cam-1");
    assert_eq!(
        str_of(first, "private_key"),
        "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    );
}

#[test]
fn digest_matches_ethers_typed_data_hash() {
    let mut failures = vec![];
    for case in cases() {
        let capture = capture_of(&case["message"]);
        let got = capture.digest();
        let want = hex_of(&case, "digest");
        if got[..] != want[..] {
            failures.push(format!(
                "{}: digest native 0x{}, ethers 0x{}",
                str_of(&case, "name"),
                hex::encode(got),
                hex::encode(&want)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn recover_returns_the_ethers_signer() {
    let mut failures = vec![];
    for case in cases() {
        let capture = capture_of(&case["message"]);
        let signature = hex_of(&case, "signature");
        assert_eq!(signature.len(), 65);
        let want = str_of(&case, "address");
        match recover(&capture, &signature) {
            Ok(got) if got == want => {}
            other => failures.push(format!(
                "{}: recover gave {other:?}, ethers signer {want}",
                str_of(&case, "name")
            )),
        }
        // The same signature over a different capture must not recover the signer.
        let mut other = capture.clone();
        other.height ^= 1;
        if recover(&other, &signature).ok().as_deref() == Some(want) {
            failures.push(format!(
                "{}: tampered capture still recovers",
                str_of(&case, "name")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Both sides use RFC 6979 deterministic nonces and low s, so a device key holding the
/// same secret signs byte-for-byte what ethers signed.
#[test]
fn device_key_signs_what_ethers_signs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut failures = vec![];
    for (i, case) in cases().iter().enumerate() {
        let path = dir.path().join(format!("device-{i}.key"));
        let file = serde_json::json!({
            "version": 1,
            "kind": "mpegs-device-key",
            "address": str_of(case, "address"),
            "secret": str_of(case, "private_key"),
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&file).unwrap()).expect("write key");
        let key = DeviceKey::load(&path).expect("load key");
        assert_eq!(key.address(), str_of(case, "address"));
        let sig = key.sign(&capture_of(&case["message"])).expect("sign");
        let want = hex_of(case, "signature");
        if sig != want {
            failures.push(format!(
                "{}: native signature 0x{}, ethers 0x{}",
                str_of(case, "name"),
                hex::encode(&sig),
                hex::encode(&want)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
