//! The filters of the second batch (drawbox, overlay, pad, boxblur, lut/lutrgb,
//! scale) inside one chain, with real Groth16 proofs: the honest edit verifies (the
//! verifier rebuilds overlay from its commitment, without the logo file), and a
//! changed parameter or pixel is rejected.

use mpegs_filters::parse_filtergraph;
use mpegs_media::{Frame, FrameInfo, PixelFormat};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::bundle::Bundle;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_provenance::verify::verify_media;
use mpegs_zk::keys::KeyStore;

const TILE: u32 = 8;
const VF: &str = "drawbox=2:2:6:4:black:t=fill,overlay=x=1:y=9:format=rgb:file=LOGO,\
                  pad=24:16:2:1:white,boxblur=1:1,lutrgb=r=negval,format=gray,\
                  scale=12:8:flags=area+accurate_rnd";

#[test]
fn a_chain_of_new_filters_proves_verifies_and_rejects_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let key = DeviceKey::generate();
    let info = FrameInfo::new(PixelFormat::Rgb24, 20, 13);
    let original = Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 37 % 253) as u8).collect(),
    )
    .unwrap();
    let seed = mpegs_media::Seed([2; 32]);
    let attested = attest(&original, &key, TILE, &seed, "test-cam", 1_750_000_000).unwrap();
    let prover = Prover {
        store: &store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(11),
    };
    let logo = dir.path().join("logo.png");
    let logo_info = FrameInfo::new(PixelFormat::Rgb24, 6, 3);
    let logo_frame =
        Frame::new(logo_info, (0..54).map(|i| (i * 29 % 256) as u8).collect()).unwrap();
    mpegs_media::save_png_atomic(&logo_frame, &logo).unwrap();
    let chain = parse_filtergraph(&VF.replace("LOGO", &logo.display().to_string())).unwrap();
    let (edited, bundle) = prover.edit(&original, attested, &seed, &chain).unwrap();
    assert_eq!(edited.info, FrameInfo::new(PixelFormat::Gray, 12, 8));

    let report = verify_media(&edited, &bundle, &store);
    assert!(report.valid, "{:?}", report.reason);
    assert_eq!(report.steps.len(), 7);

    // The published image with one pixel changed.
    let mut frame = edited.clone();
    frame.data[5] ^= 1;
    assert!(!verify_media(&frame, &bundle, &store).valid);

    // The bundle claiming bilinear instead of area for the last step.
    let mut v = serde_json::to_value(&bundle).unwrap();
    let last = v["edit"]["steps"].as_array().unwrap().len() - 1;
    let claimed = v["edit"]["steps"][last]["filter"]
        .as_str()
        .unwrap()
        .replace("area", "bilinear");
    v["edit"]["steps"][last]["filter"] = claimed.into();
    let graph = v["edit"]["filtergraph"]
        .as_str()
        .unwrap()
        .replace("area", "bilinear");
    v["edit"]["filtergraph"] = graph.into();
    let changed = Bundle::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
    let report = verify_media(&edited, &changed, &store);
    assert!(!report.valid, "a changed scale mode verified");

    // The redaction box claimed elsewhere.
    let mut v = serde_json::to_value(&bundle).unwrap();
    let moved = v["edit"]["steps"][0]["filter"]
        .as_str()
        .unwrap()
        .replace("x=2", "x=3");
    v["edit"]["steps"][0]["filter"] = moved.into();
    let graph = v["edit"]["filtergraph"]
        .as_str()
        .unwrap()
        .replace("x=2", "x=3");
    v["edit"]["filtergraph"] = graph.into();
    let changed = Bundle::from_json(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(!verify_media(&edited, &changed, &store).valid);
}
