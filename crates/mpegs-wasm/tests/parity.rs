//! The browser verifier gives the report `mpegs verify --json` gives, on a corpus
//! of valid and tampered bundles made here with the real prover: natively
//! through the crate's Rust entry points, and through the built `.wasm` package
//! (web/pkg, made by scripts/build-wasm.sh) in Node.js and in headless Chromium.
//! Attestations made by the WASM `attest` verify natively.

use mpegs_app::verify::{verify_file, Verification, VerifyFiles};
use mpegs_filters::parse_filtergraph;
use mpegs_media::{decode_image, encode_png, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_provenance::{Bundle, MediaSecret};
use mpegs_zk::keys::{KeySetJson, KeyStore};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

/// What a case must give.
#[derive(Clone, Debug)]
enum Expect {
    /// This report JSON, exactly.
    Report(String),
    /// An Error whose message contains this.
    Error(&'static str),
}

#[derive(Clone, Debug)]
struct Case {
    name: &'static str,
    png: Vec<u8>,
    bundle: String,
    /// The key set given to the browser verifier.
    keys: String,
    secret: Option<String>,
    expect: Expect,
    /// Progress stages that must be reported (one per edit step).
    steps: Vec<String>,
}

struct Fixture {
    _dir: tempfile::TempDir,
    cases: Vec<Case>,
}

fn pretty(v: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(v).unwrap()
}

fn key_set(store: &KeyStore) -> String {
    serde_json::to_string(&KeySetJson::from_store(store).unwrap()).unwrap()
}

fn pattern(format: PixelFormat, width: u32, height: u32, salt: usize) -> Frame {
    let info = FrameInfo::new(format, width, height);
    let data = (0..info.byte_len())
        .map(|i| ((i * 53 + salt * 17) % 251) as u8)
        .collect();
    Frame::new(info, data).unwrap()
}

/// `mpegs verify --json` for these files and keys: the CLI's own path
/// (`mpegs_app::verify::verify_file`, files on disk, the JSON it prints).
fn cli_report(
    dir: &Path,
    png: &[u8],
    bundle: &str,
    secret: Option<&str>,
    store: &KeyStore,
) -> String {
    let image = dir.join("media.png");
    std::fs::write(&image, png).unwrap();
    std::fs::write(dir.join("media.png.mpegs.json"), bundle).unwrap();
    let secret_path = dir.join("media.png.mpegs.secret.json");
    let _ = std::fs::remove_file(&secret_path);
    if let Some(s) = secret {
        std::fs::write(&secret_path, s).unwrap();
    }
    let files = VerifyFiles {
        image,
        bundle: None,
        secret: None,
        trust: None,
    };
    let outcome = verify_file(&files, store).unwrap();
    assert!(matches!(outcome, Verification::Bundle(_)));
    pretty(&outcome)
}

/// A store with the same keys as `store` except those of `drop`.
fn store_without(store: &KeyStore, at: &Path, drop: &[&String]) -> KeyStore {
    store.export(at, false).unwrap();
    for id in drop {
        for ext in ["vk", "json"] {
            std::fs::remove_file(at.join(format!("{id}.{ext}"))).unwrap();
        }
    }
    KeyStore::open(at).unwrap()
}

fn edit_json(bundle: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(bundle).unwrap();
    f(&mut v);
    pretty(&v)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(build_fixture)
}

fn build_fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("cli");
    std::fs::create_dir_all(&work).unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let device = DeviceKey::generate();
    let prover = Prover::new(&store, &Quiet);
    let all_keys = || key_set(&store);
    let mut cases = vec![];
    let cli = |name, png: &[u8], bundle: &str, secret: Option<&str>, store: &KeyStore| {
        let report = cli_report(&work, png, bundle, secret, store);
        (name, report)
    };

    // A: rgb24 32×24, tile 8: crop across tile borders, then to gray.
    let original = pattern(PixelFormat::Rgb24, 32, 24, 1);
    let seed = Seed::random();
    let attested = attest(&original, &device, 8, &seed, "test-cam", 1_760_000_000).unwrap();
    let chain = parse_filtergraph("crop=24:16:4:4,format=gray").unwrap();
    let (edited, bundle) = prover
        .edit(&original, attested.clone(), &seed, &chain)
        .unwrap();
    let png = encode_png(&edited).unwrap();
    let text = pretty(&bundle);
    let edit = bundle.edit.as_ref().unwrap();
    let steps: Vec<String> = edit
        .steps
        .iter()
        .enumerate()
        .map(|(i, _)| format!("step {} (", i + 1))
        .collect();
    let mut case = |name: &'static str,
                    png: &[u8],
                    bundle: &str,
                    keys: String,
                    secret: Option<&str>,
                    expect: Expect,
                    steps: &[String]| {
        cases.push(Case {
            name,
            png: png.to_vec(),
            bundle: bundle.to_string(),
            keys,
            secret: secret.map(str::to_string),
            expect,
            steps: steps.to_vec(),
        })
    };

    let (n, r) = cli("edit: valid", &png, &text, None, &store);
    case(n, &png, &text, all_keys(), None, Expect::Report(r), &steps);

    let mut changed = edited.clone();
    changed.data[37] ^= 1;
    let changed_png = encode_png(&changed).unwrap();
    let (n, r) = cli("edit: one pixel changed", &changed_png, &text, None, &store);
    case(
        n,
        &changed_png,
        &text,
        all_keys(),
        None,
        Expect::Report(r),
        &[],
    );

    let crop = edit.steps[0].filter.clone();
    let moved = crop.replace("x=4", "x=5");
    assert_ne!(moved, crop);
    let parameter = edit_json(&text, |v| {
        let e = &mut v["edit"];
        e["steps"][0]["filter"] = moved.clone().into();
        e["steps"][0]["options"]["x"] = "5".into();
        e["filtergraph"] = format!("{moved},{}", edit.steps[1].filter).into();
    });
    let (n, r) = cli(
        "edit: a filter parameter changed",
        &png,
        &parameter,
        None,
        &store,
    );
    case(
        n,
        &png,
        &parameter,
        all_keys(),
        None,
        Expect::Report(r),
        &steps[..1],
    );

    let swapped = edit_json(&text, |v| {
        let tiles = &mut v["edit"]["steps"][1]["tiles"];
        let (a, b) = (tiles[0]["proof"].clone(), tiles[1]["proof"].clone());
        tiles[0]["proof"] = b;
        tiles[1]["proof"] = a;
    });
    let (n, r) = cli(
        "edit: a proof from another tile",
        &png,
        &swapped,
        None,
        &store,
    );
    case(
        n,
        &png,
        &swapped,
        all_keys(),
        None,
        Expect::Report(r),
        &steps,
    );

    let gray_ids: Vec<&String> = edit.steps[1].circuits.keys().collect();
    let partial = store_without(&store, &dir.path().join("partial"), &gray_ids);
    let (n, r) = cli("edit: the key set lacks a key", &png, &text, None, &partial);
    case(
        n,
        &png,
        &text,
        key_set(&partial),
        None,
        Expect::Report(r),
        &steps,
    );

    // Another setup of the crop circuits (someone else's keys): the bundle pins
    // the editor's.
    let other = store_without(&store, &dir.path().join("other"), &[]);
    let crop_only = parse_filtergraph(&crop).unwrap();
    let other_hashes = Prover::new(&other, &Quiet)
        .setup_chain(&crop_only, attested.media.header)
        .unwrap();
    let (n, r) = cli(
        "edit: the key set has another key",
        &png,
        &text,
        None,
        &other,
    );
    case(
        n,
        &png,
        &text,
        key_set(&other),
        None,
        Expect::Report(r),
        &steps[..1],
    );

    let (crop_id, other_hash) = &other_hashes[0];
    let repinned = edit_json(&text, |v| {
        v["edit"]["steps"][0]["circuits"][crop_id] = other_hash.clone().into();
    });
    let (n, r) = cli(
        "edit: the bundle pins another key",
        &png,
        &repinned,
        None,
        &store,
    );
    case(
        n,
        &png,
        &repinned,
        all_keys(),
        None,
        Expect::Report(r),
        &steps[..1],
    );

    // The private original: its owner verifies with the secret; nobody else can.
    let original_png = encode_png(&original).unwrap();
    let attested_text = pretty(&attested);
    let secret = pretty(&MediaSecret::new(attested.media.value().unwrap(), seed));
    let (n, r) = cli(
        "original: with its secret",
        &original_png,
        &attested_text,
        Some(&secret),
        &store,
    );
    case(
        n,
        &original_png,
        &attested_text,
        all_keys(),
        Some(&secret),
        Expect::Report(r),
        &[],
    );
    let (n, r) = cli(
        "original: no secret",
        &original_png,
        &attested_text,
        None,
        &store,
    );
    case(
        n,
        &original_png,
        &attested_text,
        all_keys(),
        None,
        Expect::Report(r),
        &[],
    );
    let stranger = pretty(&MediaSecret::new(
        bundle.media.value().unwrap(),
        Seed::random(),
    ));
    case(
        "original: the secret of another picture",
        &original_png,
        &attested_text,
        all_keys(),
        Some(&stranger),
        Expect::Error("secret of another media item"),
        &[],
    );

    // Unusable key sets throw.
    let mut bad = KeySetJson::from_store(&store).unwrap();
    bad.keys[0].vk_hash = format!("sha256:{}", "0".repeat(64));
    case(
        "key set: a vk_hash that is not its key's",
        &png,
        &text,
        serde_json::to_string(&bad).unwrap(),
        None,
        Expect::Error("hashes to"),
        &[],
    );
    case(
        "key set: not JSON",
        &png,
        &text,
        "{".into(),
        None,
        Expect::Error("key set"),
        &[],
    );

    // What the CLI refuses before verifying is a report here (no exit code in a
    // browser): the expected JSON is the native entry point's.
    let native = |png: &[u8], bundle: &str| {
        mpegs_wasm::verify(png, bundle, &all_keys(), None, &mut |_, _, _| {}).unwrap()
    };
    let truncated = &text[..text.len() / 2];
    case(
        "bundle: not JSON",
        &png,
        truncated,
        all_keys(),
        None,
        Expect::Report(native(&png, truncated)),
        &[],
    );
    let garbage = b"\x89PNG\r\n\x1a\nnot a picture";
    case(
        "image: not a picture",
        garbage,
        &text,
        all_keys(),
        None,
        Expect::Report(native(garbage, &text)),
        &[],
    );

    // B: gray 32×24, tile 16 (padded edge tiles), a table lookup (negate).
    let original = pattern(PixelFormat::Gray, 32, 24, 2);
    let seed = Seed::random();
    let attested = attest(&original, &device, 16, &seed, "test-cam", 1_760_000_001).unwrap();
    let chain = parse_filtergraph("vflip,negate").unwrap();
    let (edited, bundle) = prover.edit(&original, attested, &seed, &chain).unwrap();
    let png = encode_png(&edited).unwrap();
    let text = pretty(&bundle);
    let steps: Vec<String> = bundle
        .edit
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .enumerate()
        .map(|(i, _)| format!("step {} (", i + 1))
        .collect();
    let (n, r) = cli("gray: valid", &png, &text, None, &store);
    case(n, &png, &text, all_keys(), None, Expect::Report(r), &steps);

    Fixture { _dir: dir, cases }
}

fn field(report: &str) -> Value {
    serde_json::from_str::<Value>(report).unwrap()
}

#[test]
fn native_entry_points_give_the_cli_report() {
    let f = fixture();
    let mut valid = 0;
    for case in &f.cases {
        let mut calls: Vec<(usize, usize, String)> = vec![];
        let start = Instant::now();
        let outcome = mpegs_wasm::verify(
            &case.png,
            &case.bundle,
            &case.keys,
            case.secret.as_deref(),
            &mut |d, t, s| calls.push((d, t, s.to_string())),
        );
        let elapsed = start.elapsed();
        match (&case.expect, outcome) {
            (Expect::Report(expected), Ok(report)) => {
                assert_eq!(&report, expected, "{}", case.name);
                let v = field(&report);
                if v["valid"] == true {
                    valid += 1;
                    let last = calls.last().unwrap();
                    assert_eq!((last.0, last.2.as_str()), (last.1, "done"), "{}", case.name);
                } else {
                    assert!(v["reason"].is_string(), "{}", case.name);
                }
                for step in &case.steps {
                    assert!(
                        calls.iter().any(|c| c.2.starts_with(step.as_str())),
                        "{}: no progress for {step}: {calls:?}",
                        case.name
                    );
                }
                assert!(calls
                    .windows(2)
                    .all(|w| w[0].0 <= w[1].0 && w[0].1 == w[1].1));
                println!(
                    "{:<45} valid={:<5} proofs={:<3} native {:>8.2} ms",
                    case.name,
                    v["valid"],
                    v["proofs_verified"],
                    elapsed.as_secs_f64() * 1e3
                );
            }
            (Expect::Error(needle), Err(e)) => {
                assert!(e.0.contains(needle), "{}: {e}", case.name)
            }
            (expect, got) => panic!("{}: expected {expect:?}, got {got:?}", case.name),
        }
    }
    assert_eq!(valid, 3, "the valid cases verify");
    // Each tampering is caught where it should be.
    let reason = |name: &str| {
        let case = f.cases.iter().find(|c| c.name == name).unwrap();
        let Expect::Report(r) = &case.expect else {
            panic!()
        };
        let v = field(r);
        assert_eq!(v["valid"], false, "{name}");
        v["reason"].as_str().unwrap().to_string()
    };
    for (name, needle) in [
        (
            "edit: one pixel changed",
            "do not match the bundle's commitment",
        ),
        ("edit: a filter parameter changed", "step 1 (crop"),
        (
            "edit: a proof from another tile",
            "tile (0, 0): proof does not verify",
        ),
        (
            "edit: the key set lacks a key",
            "no verifying key for circuit format",
        ),
        (
            "edit: the key set has another key",
            "the bundle pins verifying key",
        ),
        (
            "edit: the bundle pins another key",
            "the bundle pins verifying key",
        ),
        ("original: no secret", "private"),
        ("bundle: not JSON", "malformed bundle"),
        ("image: not a picture", "cannot decode the image"),
    ] {
        let r = reason(name);
        assert!(r.contains(needle), "{name}: {r}");
    }
    let unparsed = f
        .cases
        .iter()
        .find(|c| c.name == "bundle: not JSON")
        .unwrap();
    let Expect::Report(r) = &unparsed.expect else {
        panic!()
    };
    let v = field(r);
    assert!(v["media"].is_null() && v["steps"] == json!([]) && v["proofs_verified"] == 0);
    // The same keys as a report, in the same order.
    let valid = &f.cases[0];
    let Expect::Report(r) = &valid.expect else {
        panic!()
    };
    let keys = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.split('"').nth(1).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(r),
        ["valid", "media", "origin", "steps", "proofs_verified"]
    );
    let mut with_reason = keys(&reason_report(&f.cases[1]));
    with_reason.retain(|k| k != "reason");
    assert_eq!(keys(r), with_reason);
    let mut unparsed_keys = keys(&reason_report(unparsed));
    unparsed_keys.retain(|k| k != "reason");
    assert_eq!(keys(r), unparsed_keys);
}

fn reason_report(case: &Case) -> String {
    match &case.expect {
        Expect::Report(r) => r.clone(),
        Expect::Error(_) => panic!("{} has no report", case.name),
    }
}

#[test]
fn a_key_set_the_cli_would_refuse_to_import_is_refused() {
    // The vk_hash check is the one `mpegs keys import` makes on a manifest.
    let f = fixture();
    let case = f
        .cases
        .iter()
        .find(|c| c.name == "key set: a vk_hash that is not its key's")
        .unwrap();
    let err = mpegs_wasm::key_set_info(&case.keys).unwrap_err();
    assert!(err.0.contains("hashes to"), "{err}");
    let valid = &f.cases[0].keys;
    let info: Vec<Value> = serde_json::from_str(&mpegs_wasm::key_set_info(valid).unwrap()).unwrap();
    let set: Value = serde_json::from_str(valid).unwrap();
    assert_eq!(info.len(), set["keys"].as_array().unwrap().len());
    for (i, k) in info.iter().enumerate() {
        assert_eq!(k["id"], set["keys"][i]["id"]);
        assert_eq!(k["vk_hash"], set["keys"][i]["vk_hash"]);
        assert_eq!(k["description"], set["keys"][i]["description"]);
        assert_eq!(k.as_object().unwrap().len(), 3);
    }
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The built package, or a clear failure: CI builds it first (scripts/test.sh).
fn package() -> PathBuf {
    let pkg = root().join("web/pkg");
    for file in ["mpegs_wasm.js", "mpegs_wasm_bg.wasm"] {
        assert!(
            pkg.join(file).exists(),
            "{} is missing: build the WASM package with ./scripts/build-wasm.sh \
             (scripts/test.sh does before cargo test)",
            pkg.join(file).display()
        );
    }
    pkg
}

fn node(args: &[&std::ffi::OsStr]) -> String {
    node_script(&root().join("crates/mpegs-wasm/tests/node/run.mjs"), args)
}

/// Runs a Node.js script; its stdout, or a failure with everything it printed.
fn node_script(script: &Path, args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .output()
        .expect("Node.js runs the built package: install nodejs (scripts/test.sh does)");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "node {}: {}\n{stdout}\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Writes the corpus as the Node.js runner and the browser driver read it:
/// numbered files and `cases.json`.
fn write_corpus(f: &Fixture, dir: &Path) {
    let mut index = vec![];
    for (i, case) in f.cases.iter().enumerate() {
        let file = |ext: &str| format!("{i}.{ext}");
        std::fs::write(dir.join(file("png")), &case.png).unwrap();
        std::fs::write(dir.join(file("bundle.json")), &case.bundle).unwrap();
        std::fs::write(dir.join(file("keys.json")), &case.keys).unwrap();
        let mut entry = json!({
            "name": case.name,
            "image": file("png"),
            "bundle": file("bundle.json"),
            "keys": file("keys.json"),
            "steps": case.steps,
        });
        if let Some(s) = &case.secret {
            std::fs::write(dir.join(file("secret.json")), s).unwrap();
            entry["secret"] = file("secret.json").into();
        }
        match &case.expect {
            Expect::Report(r) => {
                std::fs::write(dir.join(file("expected.json")), r).unwrap();
                entry["expected"] = file("expected.json").into();
            }
            Expect::Error(needle) => entry["error"] = (*needle).into(),
        }
        index.push(entry);
    }
    std::fs::write(dir.join("cases.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn the_built_wasm_gives_the_same_reports_in_node() {
    let pkg = package();
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    write_corpus(f, dir.path());
    let out = node(&[
        pkg.as_os_str(),
        "verify".as_ref(),
        dir.path().as_os_str(),
        "3".as_ref(),
    ]);
    print!("{out}");
    assert_eq!(out.lines().count(), f.cases.len());
}

/// The same corpus in a real browser: Debian's chromium, headless, driven by
/// playwright-core (`web/tests/browser.mjs corpus`), loads the built package in a
/// page and must give every report byte for byte (or the expected Error).
#[test]
fn the_built_wasm_gives_the_same_reports_in_chromium() {
    package();
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    write_corpus(f, dir.path());
    let driver = root().join("web/tests/browser.mjs");
    assert!(
        root().join("web/node_modules/playwright-core").exists(),
        "web/node_modules is missing: npm ci --prefix web (scripts/test.sh does)"
    );
    let stdout = node_script(&driver, &["corpus".as_ref(), dir.path().as_os_str()]);
    print!("{stdout}");
    assert_eq!(stdout.lines().count(), f.cases.len());
}

/// Pixels → `attest` (in the WASM package, in Node) → the native verifier, as the
/// owner of a private original.
#[test]
fn an_attestation_made_in_wasm_verifies_natively() {
    let pkg = package();
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (20u32, 12u32);
    // RGBA as a canvas gives it, opaque.
    let rgba: Vec<u8> = (0..w * h * 4)
        .map(|i| {
            if i % 4 == 3 {
                255
            } else {
                (i * 29 % 256) as u8
            }
        })
        .collect();
    std::fs::write(dir.path().join("pixels.rgba"), &rgba).unwrap();
    let request = json!({
        "pixels": dir.path().join("pixels.rgba"),
        "width": w, "height": h, "channels": 4,
        "device_id": "browser-cam", "captured_at": 1_770_000_000u64, "tile": 8,
    });
    std::fs::write(dir.path().join("request.json"), request.to_string()).unwrap();
    node(&[
        pkg.as_os_str(),
        "attest".as_ref(),
        dir.path().join("request.json").as_os_str(),
        dir.path().as_os_str(),
    ]);

    let image = dir.path().join("picture.png");
    let frame = mpegs_media::load_image(&image).unwrap();
    let rgb: Vec<u8> = rgba.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    assert_eq!(frame.info, FrameInfo::new(PixelFormat::Rgb24, w, h));
    assert_eq!(frame.data, rgb, "the PNG holds the canvas's pixels");
    let key = DeviceKey::load(&dir.path().join("key.json")).unwrap();
    let address = std::fs::read_to_string(dir.path().join("address.txt")).unwrap();
    assert_eq!(key.address(), address);

    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let files = VerifyFiles {
        image: image.clone(),
        bundle: None,
        secret: None, // the default <image>.mpegs.secret.json
        trust: None,
    };
    let Verification::Bundle(report) = verify_file(&files, &store).unwrap() else {
        panic!("not a sidecar bundle")
    };
    assert!(report.valid, "{:?}", report.reason);
    let origin = report.origin.unwrap();
    assert_eq!(origin.device, address);
    assert_eq!(origin.device_id, "browser-cam");
    assert_eq!(origin.captured_at, 1_770_000_000);
    assert_eq!(report.media.header.tile, 8);
    // Without the secret the original is private.
    std::fs::remove_file(dir.path().join("picture.png.mpegs.secret.json")).unwrap();
    let Verification::Bundle(report) = verify_file(&files, &store).unwrap() else {
        panic!()
    };
    assert!(!report.valid);
}

/// With a given seed and key, the bundle and secret are byte for byte the files
/// `mpegs attest` writes, and the key file the one `mpegs keygen` writes.
#[test]
fn attest_writes_what_the_cli_writes() {
    use mpegs_provenance::prove::Entropy;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("device.key");
    let key_text = mpegs_wasm::device_key();
    let key = DeviceKey::from_json(key_text.as_bytes(), "key").unwrap();
    key.save(&key_path).unwrap();
    assert_eq!(std::fs::read_to_string(&key_path).unwrap(), key_text);
    assert_eq!(
        mpegs_wasm::device_address(&key_text).unwrap(),
        key.address()
    );
    assert_ne!(mpegs_wasm::device_key(), key_text);

    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut mpegs_testkit::Seeded(5).rng(0), &mut seed);
    let seed = Seed(seed);
    let frame = pattern(PixelFormat::Gray, 9, 7, 3);
    let gray = mpegs_wasm::frame_of_pixels(&frame.data, 9, 7, 1).unwrap();
    assert_eq!(gray, frame);
    let made = mpegs_wasm::attest_with_seed(&frame, &key_text, "cam", 1_234, 4, seed).unwrap();
    let bundle = attest(&frame, &key, 4, &seed, "cam", 1_234).unwrap();
    let bundle_path = dir.path().join("b.json");
    bundle.save(&bundle_path).unwrap();
    assert_eq!(made.bundle, std::fs::read_to_string(&bundle_path).unwrap());
    let secret_path = dir.path().join("s.json");
    MediaSecret::new(bundle.media.value().unwrap(), seed)
        .save(&secret_path)
        .unwrap();
    assert_eq!(made.secret, std::fs::read_to_string(&secret_path).unwrap());
    assert_eq!(decode_image(&made.png, "png").unwrap(), frame);
    assert_eq!(Bundle::from_json(made.bundle.as_bytes()).unwrap(), bundle);
    // A fresh seed each time otherwise.
    let a = mpegs_wasm::attest(&frame, &key_text, "cam", 1_234, 4).unwrap();
    let b = mpegs_wasm::attest(&frame, &key_text, "cam", 1_234, 4).unwrap();
    assert_ne!(a.secret, b.secret);
    // Unusable pixels are errors.
    for (pixels, w, h, c, needle) in [
        (&frame.data[1..], 9, 7, 1, "bytes"),
        (&frame.data[..], 9, 7, 2, "channels"),
        (&frame.data[..], 0, 7, 1, "bytes"),
        (&[0u8, 0, 0, 254][..], 1, 1, 4, "transparent"),
    ] {
        let e = mpegs_wasm::frame_of_pixels(pixels, w, h, c).unwrap_err();
        assert!(e.0.contains(needle), "{e}");
    }
    let e = mpegs_wasm::attest(&frame, &key_text, "cam", 0, 6).unwrap_err();
    assert!(e.0.contains("tile"), "{e}");
    let e = mpegs_wasm::device_address("{}").unwrap_err();
    assert!(e.0.contains("not an mpegs device key"), "{e}");
}
