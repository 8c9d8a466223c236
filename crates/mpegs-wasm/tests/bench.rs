//! WASM/native verification time on a bigger bundle (BENCHMARKS.md): a 640×360
//! gray picture, tile 64, one `hflip` step (60 tile proofs). Ignored by default
//! (proving takes minutes); run with
//!
//! ```sh
//! ./scripts/build-wasm.sh
//! cargo test --release -p mpegs-wasm --test bench -- --ignored --nocapture
//! ```
//!
//! `MPEGS_WASM_BENCH` = `WxH:filters` changes the picture and the chain.

use mpegs_filters::parse_filtergraph;
use mpegs_media::{encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_zk::keys::{KeySetJson, KeyStore};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

#[test]
#[ignore = "proves 60 tiles (minutes); run by hand for BENCHMARKS.md"]
fn wasm_and_native_verification_time() {
    let spec = std::env::var("MPEGS_WASM_BENCH").unwrap_or_else(|_| "640x360:hflip".into());
    let (size, vf) = spec.split_once(':').expect("WxH:filters");
    let (w, h) = size.split_once('x').expect("WxH");
    let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let info = FrameInfo::new(PixelFormat::Gray, w, h);
    let original = Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 7 % 253) as u8).collect(),
    )
    .unwrap();
    let seed = Seed::random();
    let device = DeviceKey::generate();
    let attested = attest(&original, &device, 64, &seed, "bench", 1).unwrap();
    let start = Instant::now();
    let (edited, bundle) = Prover::new(&store, &Quiet)
        .edit(&original, attested, &seed, &parse_filtergraph(vf).unwrap())
        .unwrap();
    println!("proved {spec} in {:.1} s", start.elapsed().as_secs_f64());
    let png = encode_png(&edited).unwrap();
    let text = serde_json::to_string_pretty(&bundle).unwrap();
    let keys = serde_json::to_string(&KeySetJson::from_store(&store).unwrap()).unwrap();

    // Native: the same entry point, best and median of 5.
    let mut times = vec![];
    let mut report = String::new();
    for _ in 0..5 {
        let start = Instant::now();
        report = mpegs_wasm::verify(&png, &text, &keys, None, &mut |_, _, _| {}).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(v["valid"], true, "{report}");
    println!(
        "native: {} proofs, median {:.1} ms (best {:.1} ms)",
        v["proofs_verified"], times[2], times[0]
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let pkg = root.join("web/pkg");
    assert!(
        pkg.join("mpegs_wasm_bg.wasm").exists(),
        "build the package first: ./scripts/build-wasm.sh"
    );
    let corpus = dir.path();
    std::fs::write(corpus.join("m.png"), &png).unwrap();
    std::fs::write(corpus.join("m.json"), &text).unwrap();
    std::fs::write(corpus.join("k.json"), &keys).unwrap();
    std::fs::write(corpus.join("e.json"), &report).unwrap();
    let cases = serde_json::json!([{
        "name": spec, "image": "m.png", "bundle": "m.json", "keys": "k.json", "expected": "e.json"
    }]);
    std::fs::write(corpus.join("cases.json"), cases.to_string()).unwrap();
    let out = Command::new("node")
        .arg(root.join("crates/mpegs-wasm/tests/node/run.mjs"))
        .arg(&pkg)
        .arg("verify")
        .arg(corpus)
        .arg("5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let wasm = line["ms"].as_f64().unwrap();
    println!(
        "wasm (Node {}): median {wasm:.1} ms, first run {} ms; wasm/native = {:.1}",
        String::from_utf8_lossy(
            &Command::new("node")
                .arg("--version")
                .output()
                .unwrap()
                .stdout
        )
        .trim(),
        line["first_ms"],
        wasm / times[2]
    );
}
