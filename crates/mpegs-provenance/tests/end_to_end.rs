//! Attest → edit (real Groth16 proofs) → verify, and every kind of tampering
//! rejected with a reason: pixels, parameters, commitments, proofs, tile order,
//! signatures, keys, truncated or unknown-version bundles.

use mpegs_filters::parse_filtergraph;
use mpegs_media::{Frame, FrameInfo, PixelFormat};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::bundle::Bundle;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_provenance::verify::verify_media;
use mpegs_provenance::ProvenanceError;
use mpegs_zk::keys::KeyStore;
use std::sync::OnceLock;

const TILE: u32 = 8;
const VF: &str = "crop=14:9:3:2,hflip,format=gray";

struct Fixture {
    _dir: tempfile::TempDir,
    store: KeyStore,
    original: Frame,
    attested: Bundle,
    edited: Frame,
    bundle: Bundle,
    device: String,
}

fn original() -> Frame {
    let info = FrameInfo::new(PixelFormat::Rgb24, 20, 13);
    Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 53 % 251) as u8).collect(),
    )
    .unwrap()
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open(dir.path().join("keys")).unwrap();
        let key = DeviceKey::generate();
        let original = original();
        let attested = attest(&original, &key, TILE, "test-cam", 1_750_000_000).unwrap();
        let prover = Prover {
            store: &store,
            progress: &Quiet,
            seed: Some(7),
        };
        let chain = parse_filtergraph(VF).unwrap();
        let (edited, bundle) = prover.edit(&original, attested.clone(), &chain).unwrap();
        Fixture {
            store,
            original,
            attested,
            edited,
            bundle,
            device: key.address(),
            _dir: dir,
        }
    })
}

fn reason(frame: &Frame, bundle: &Bundle) -> String {
    let report = verify_media(frame, bundle, &fixture().store);
    assert!(!report.valid, "tampered input verified");
    report.reason.unwrap()
}

fn json(bundle: &Bundle) -> serde_json::Value {
    serde_json::to_value(bundle).unwrap()
}

fn from_json(v: serde_json::Value) -> Result<Bundle, ProvenanceError> {
    Bundle::from_json(&serde_json::to_vec(&v).unwrap())
}

#[test]
fn honest_edit_verifies_with_its_history() {
    let f = fixture();
    assert_eq!(f.edited.info, FrameInfo::new(PixelFormat::Gray, 14, 9));
    let report = verify_media(&f.edited, &f.bundle, &f.store);
    assert!(report.valid, "{:?}", report.reason);
    let origin = report.origin.unwrap();
    assert_eq!(origin.device, f.device);
    assert_eq!(origin.captured_at, 1_750_000_000);
    assert_eq!(report.steps.len(), 3);
    assert_eq!(report.proofs_verified, 4 + 4 + 4);
    // The attestation alone verifies against the original.
    assert!(verify_media(&f.original, &f.attested, &f.store).valid);
    // JSON round trip preserves the bundle.
    let again = Bundle::from_json(&serde_json::to_vec(&f.bundle).unwrap()).unwrap();
    assert_eq!(again, f.bundle);
}

#[test]
fn a_tampered_output_pixel_is_rejected() {
    let f = fixture();
    let mut frame = f.edited.clone();
    frame.data[17] ^= 1;
    assert!(reason(&frame, &f.bundle).contains("altered"));
    let wrong_shape = Frame::new(
        FrameInfo::new(PixelFormat::Gray, 9, 14),
        f.edited.data.clone(),
    )
    .unwrap();
    assert!(reason(&wrong_shape, &f.bundle).contains("describes"));
}

#[test]
fn a_tampered_output_with_a_matching_bundle_commitment_is_rejected_by_the_proofs() {
    // The forger edits the pixels AND rewrites the bundle's commitments to match.
    let f = fixture();
    let mut frame = f.edited.clone();
    frame.data[0] ^= 0x80;
    let c = mpegs_media::Commitment::of_frame(&frame, TILE).unwrap();
    let hexc = mpegs_media::poseidon::fr_to_hex(&c.value);
    let mut v = json(&f.bundle);
    v["media"]["commitment"] = hexc.clone().into();
    v["edit"]["steps"][2]["output"]["commitment"] = hexc.into();
    let r = reason(&frame, &from_json(v).unwrap());
    assert!(r.contains("step 3"), "{r}");
}

#[test]
fn changed_parameters_are_rejected() {
    let f = fixture();
    let mut v = json(&f.bundle);
    v["edit"]["steps"][0]["filter"] = "crop=w=14:h=9:x=4:y=2:exact=0".into();
    v["edit"]["filtergraph"] = "crop=w=14:h=9:x=4:y=2:exact=0,hflip,format=pix_fmts=gray".into();
    let r = reason(&f.edited, &from_json(v).unwrap());
    assert!(r.contains("step 1"), "{r}");
    let mut v = json(&f.bundle);
    v["edit"]["steps"][1]["filter"] = "vflip".into();
    v["edit"]["filtergraph"] = "crop=w=14:h=9:x=3:y=2:exact=0,vflip,format=pix_fmts=gray".into();
    let r = reason(&f.edited, &from_json(v).unwrap());
    assert!(r.contains("step 2"), "{r}");
}

#[test]
fn tampered_proofs_and_tile_records_are_rejected() {
    let f = fixture();
    // A flipped bit inside a proof.
    let mut v = json(&f.bundle);
    let p = v["edit"]["steps"][1]["tiles"][2]["proof"]
        .as_str()
        .unwrap()
        .to_string();
    let mut bytes = hex::decode(&p[2..]).unwrap();
    bytes[40] ^= 1;
    v["edit"]["steps"][1]["tiles"][2]["proof"] = format!("0x{}", hex::encode(bytes)).into();
    let r = reason(&f.edited, &from_json(v).unwrap());
    assert!(r.contains("step 2") && r.contains("tile"), "{r}");
    // Two tiles' proofs swapped.
    let mut v = json(&f.bundle);
    let tiles = v["edit"]["steps"][0]["tiles"].as_array_mut().unwrap();
    let a = tiles[0]["proof"].clone();
    tiles[0]["proof"] = tiles[1]["proof"].clone();
    tiles[1]["proof"] = a;
    let r = reason(&f.edited, &from_json(v).unwrap());
    assert!(r.contains("does not verify"), "{r}");
    // A proof from another step in place of this one (same circuit shape is impossible,
    // so it is rejected by circuit id or by the pairing check).
    let mut v = json(&f.bundle);
    v["edit"]["steps"][1]["tiles"][0] = v["edit"]["steps"][2]["tiles"][0].clone();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("step 2"));
    // A dropped tile proof.
    let mut v = json(&f.bundle);
    v["edit"]["steps"][2]["tiles"].as_array_mut().unwrap().pop();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("tile proofs for"));
    // Public inputs edited.
    let mut v = json(&f.bundle);
    v["edit"]["steps"][0]["tiles"][0]["public_inputs"][2] =
        "0x0000000000000000000000000000000000000000000000000000000000000001".into();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("public inputs"));
}

#[test]
fn a_changed_intermediate_or_input_commitment_is_rejected() {
    let f = fixture();
    let other = "0x0000000000000000000000000000000000000000000000000000000000000005";
    let mut v = json(&f.bundle);
    v["edit"]["steps"][0]["output"]["commitment"] = other.into();
    v["edit"]["steps"][1]["input"]["commitment"] = other.into();
    let r = reason(&f.edited, &from_json(v.clone()).unwrap());
    assert!(r.contains("step 1") && r.contains("public inputs"), "{r}");
    // A consistent forger also rewrites the public inputs: the pairing check fails.
    for tile in v["edit"]["steps"][0]["tiles"].as_array_mut().unwrap() {
        tile["public_inputs"][1] = other.into();
    }
    for tile in v["edit"]["steps"][1]["tiles"].as_array_mut().unwrap() {
        tile["public_inputs"][0] = other.into();
    }
    let r = reason(&f.edited, &from_json(v).unwrap());
    assert!(r.contains("step 1") && r.contains("does not verify"), "{r}");
    // The edit claims a different original than the attested one.
    let mut v = json(&f.bundle);
    v["edit"]["steps"][0]["input"]["commitment"] = other.into();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("parent media"));
}

#[test]
fn forged_attestations_are_rejected() {
    let f = fixture();
    fn att(v: &mut serde_json::Value) -> &mut serde_json::Value {
        &mut v["edit"]["parent"]["attestation"]
    }
    let mut v = json(&f.bundle);
    att(&mut v)["captured_at"] = 1_750_000_001u64.into();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("device signature"));
    let mut v = json(&f.bundle);
    att(&mut v)["device"] = "0x0000000000000000000000000000000000000001".into();
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("device signature"));
    // A different device re-signs a different original: the edit no longer chains.
    let other = attest(&f.edited, &DeviceKey::generate(), TILE, "x", 1).unwrap();
    let mut v = json(&f.bundle);
    v["edit"]["parent"] = json(&other);
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("parent media"));
}

#[test]
fn malformed_bundles_get_clear_errors() {
    let f = fixture();
    let bytes = serde_json::to_vec(&f.bundle).unwrap();
    let e = Bundle::from_json(&bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("not valid JSON"), "{e}");
    let mut v = json(&f.bundle);
    v["version"] = 2.into();
    assert!(from_json(v).unwrap_err().to_string().contains("version 2"));
    let mut v = json(&f.bundle);
    v["edit"]["steps"] = serde_json::json!([]);
    assert!(from_json(v)
        .unwrap_err()
        .to_string()
        .contains("at least one step"));
    let mut v = json(&f.bundle);
    v["surprise"] = 1.into();
    assert!(from_json(v).is_err());
    let mut v = json(&f.bundle);
    v["media"]["commitment"] = "0xzz".into();
    assert!(from_json(v).is_err());
    // Headers that would make a verifier divide by zero or allocate absurdly.
    for (field, value) in [
        ("tile", 0u64),
        ("width", 0),
        ("height", 1 << 40),
        ("tile", 3),
    ] {
        let mut v = json(&f.bundle);
        v["edit"]["steps"][1]["input"][field] = value.into();
        assert!(from_json(v).is_err(), "{field}={value}");
        let mut v = json(&f.bundle);
        v["edit"]["parent"]["media"][field] = value.into();
        assert!(from_json(v).is_err(), "parent {field}={value}");
    }
}

#[test]
fn verification_needs_trusted_keys_and_key_sets_move_between_machines() {
    let f = fixture();
    let elsewhere = tempfile::tempdir().unwrap();
    let empty = KeyStore::open(elsewhere.path().join("empty")).unwrap();
    let report = verify_media(&f.edited, &f.bundle, &empty);
    assert!(!report.valid);
    assert!(report.reason.unwrap().contains("mpegs keys import"));

    // Export verifying keys only, import on "another machine": verification works.
    let exported = f
        .store
        .export(&elsewhere.path().join("set"), false)
        .unwrap();
    assert!(exported.iter().all(|e| !e.proving_key));
    let verifier = KeyStore::open(elsewhere.path().join("verifier")).unwrap();
    verifier.import(&elsewhere.path().join("set")).unwrap();
    assert!(verify_media(&f.edited, &f.bundle, &verifier).valid);

    // A store holding a different key under the same id (e.g. a key the prover
    // generated for itself) is detected by the pinned hash... and a bundle pinning
    // another hash is refused.
    let mut v = json(&f.bundle);
    let circuits = v["edit"]["steps"][0]["circuits"].as_object_mut().unwrap();
    for (_, h) in circuits.iter_mut() {
        *h = "sha256:00".into();
    }
    assert!(reason(&f.edited, &from_json(v).unwrap()).contains("pins verifying key"));

    // A tampered key set is refused at import.
    let set = elsewhere.path().join("set");
    let manifest = set.join(mpegs_zk::keys::MANIFEST);
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replacen("sha256:", "sha256:0", 1);
    std::fs::write(&manifest, text).unwrap();
    let fresh = KeyStore::open(elsewhere.path().join("fresh")).unwrap();
    assert!(fresh.import(&set).is_err());
}

#[test]
fn editing_with_a_mismatched_bundle_is_refused() {
    let f = fixture();
    let store = &f.store;
    let prover = Prover {
        store,
        progress: &Quiet,
        seed: Some(1),
    };
    let chain = parse_filtergraph("hflip").unwrap();
    let err = prover
        .edit(&f.edited, f.attested.clone(), &chain)
        .unwrap_err();
    assert!(
        err.to_string().contains("does not match its bundle"),
        "{err}"
    );
    // Edits of edits chain: hflip the edited (gray) image again.
    let (again, bundle) = prover.edit(&f.edited, f.bundle.clone(), &chain).unwrap();
    let report = verify_media(&again, &bundle, store);
    assert!(report.valid, "{:?}", report.reason);
    assert_eq!(report.steps.len(), 4);
}
