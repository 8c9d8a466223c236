//! Content Credentials end to end on a real proven edit: our manifest validates
//! (untrusted signer as a warning, trusted with the CA as anchor), carries the
//! actions and the bundle, and `verify` proves it down to the device; a changed
//! pixel, a changed mpegs assertion, a manifest moved onto another picture, a
//! valid signature over a wrong proof and a foreign manifest are all refused; a
//! third-party reader (c2pa-python) accepts our file.

use mpegs_c2pa::{cert, read, sign, verify, C2paReport};
use mpegs_filters::parse_filtergraph;
use mpegs_media::{load_image, save_png_atomic, Frame, FrameInfo, PixelFormat, Seed};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::bundle::Bundle;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_zk::keys::KeyStore;
use std::path::Path;

struct Fixture {
    _dir: tempfile::TempDir,
    store: KeyStore,
    /// The published output PNG and its bundle (seed revealed).
    png: Vec<u8>,
    frame: Frame,
    bundle: Bundle,
    pki: cert::TestPki,
}

fn frame(seed: u8) -> Frame {
    let info = FrameInfo::new(PixelFormat::Rgb24, 16, 8);
    let data = (0..info.byte_len())
        .map(|i| (i as u8).wrapping_mul(37) ^ seed)
        .collect();
    Frame::new(info, data).unwrap()
}

fn png_of(frame: &Frame, dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    save_png_atomic(frame, &path).unwrap();
    std::fs::read(path).unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let original = frame(0);
    let seed = Seed([3; 32]);
    let attested = attest(
        &original,
        &DeviceKey::generate(),
        8,
        &seed,
        "c2pa-test-cam",
        1_760_000_000,
    )
    .unwrap();
    let prover = Prover {
        store: &store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(5),
    };
    let chain = parse_filtergraph("crop=8:8:4:0,hflip").unwrap();
    let (output, bundle) = prover.edit(&original, attested, &seed, &chain).unwrap();
    let png = png_of(&output, dir.path(), "out.png");
    let frame = load_image(&dir.path().join("out.png")).unwrap();
    Fixture {
        store,
        png,
        frame,
        bundle,
        pki: cert::test_pki().unwrap(),
        _dir: dir,
    }
}

impl Fixture {
    fn signed(&self) -> Vec<u8> {
        sign(
            &self.png,
            &self.bundle,
            self.pki.chain.as_bytes(),
            self.pki.key.as_bytes(),
            "out.c2pa.png",
        )
        .unwrap()
    }
}

// PNG chunk surgery for the tampering cases.
fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let mut i = 8;
    let mut out = vec![];
    while i + 12 <= png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        out.push((
            png[i + 4..i + 8].try_into().unwrap(),
            png[i + 8..i + 8 + len].to_vec(),
        ));
        i += 12 + len;
    }
    out
}

fn join(chunks: &[([u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in chunks {
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(kind);
        out.extend(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend(crc.finalize().to_be_bytes());
    }
    out
}

/// `signed`'s manifest chunk moved onto `other` (a PNG without one).
fn transplant(signed: &[u8], other: &[u8]) -> Vec<u8> {
    let manifest = chunks(signed)
        .into_iter()
        .find(|(k, _)| k == b"caBX")
        .expect("a caBX chunk");
    let mut target = chunks(other);
    target.retain(|(k, _)| k != b"caBX");
    target.insert(1, manifest);
    join(&target)
}

fn report(bytes: &[u8], anchors: Option<&str>) -> C2paReport {
    read(bytes, anchors).unwrap().expect("a manifest")
}

#[test]
fn our_manifest_validates_and_carries_the_edit() {
    let f = fixture();
    let signed = f.signed();
    let r = report(&signed, None);
    assert!(r.valid, "{r:?}");
    assert!(!r.trusted);
    assert_eq!(r.warnings.len(), 1, "untrusted signer is a warning: {r:?}");
    assert!(r.failures.is_empty(), "{r:?}");
    assert_eq!(
        r.actions,
        [
            "c2pa.opened",
            "c2pa.cropped (crop=w=8:h=8:x=4:y=0:exact=0)",
            "c2pa.orientation (hflip)"
        ]
    );
    let carried = r.bundle.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(
        serde_json::to_value(carried).unwrap(),
        serde_json::to_value(&f.bundle).unwrap()
    );

    let trusted = report(&signed, Some(&f.pki.ca));
    assert!(
        trusted.trusted && trusted.warnings.is_empty(),
        "{trusted:?}"
    );

    let v = verify(&signed, &f.frame, None, None, &f.store)
        .unwrap()
        .unwrap();
    assert!(v.valid, "{:?}", v.reason);
    let mpegs = v.mpegs.unwrap();
    assert!(mpegs.valid);
    assert!(mpegs.origin.is_some(), "verified down to the device");

    // A file without a manifest is reported as such, not as invalid.
    assert!(read(&f.png, None).unwrap().is_none());
}

#[test]
fn tampering_breaks_the_binding_the_assertion_or_the_proof() {
    let f = fixture();
    let signed = f.signed();
    let verdict =
        |bytes: &[u8], frame: &Frame| verify(bytes, frame, None, None, &f.store).unwrap().unwrap();

    // One changed pixel, re-encoded, the manifest put back: binding and proof fail.
    let mut changed = f.frame.clone();
    changed.data[0] ^= 1;
    let dir = tempfile::tempdir().unwrap();
    let bad = transplant(&signed, &png_of(&changed, dir.path(), "changed.png"));
    let v = verdict(&bad, &changed);
    assert!(!v.valid);
    assert!(
        v.c2pa
            .failures
            .iter()
            .any(|c| c.starts_with("assertion.dataHash.mismatch")),
        "{:?}",
        v.c2pa
    );
    assert!(
        !v.mpegs.as_ref().unwrap().valid,
        "the proofs reject the pixel too"
    );

    // The manifest moved onto another picture.
    let other = frame(0x55);
    let bad = transplant(&signed, &png_of(&other, dir.path(), "other.png"));
    let v = verdict(&bad, &other);
    assert!(!v.valid);
    assert_fails_with(&v, "assertion.dataHash.mismatch");

    // One byte of the mpegs assertion changed (same length, still JSON).
    let bad = edit_manifest(&signed, b"\"proof\":\"0x", 11, |b| {
        if b == b'1' {
            b'2'
        } else {
            b'1'
        }
    });
    let v = verdict(&bad, &f.frame);
    assert!(!v.valid, "{v:?}");
    assert_fails_with(&v, "assertion.hashedURI.mismatch");

    // One byte of the signed claim itself (its title): the claim signature fails,
    // though the proofs still hold: the C2PA check alone refuses it.
    let bad = edit_manifest(&signed, b"out.c2pa.png", 0, |b| b ^ 1);
    let v = verdict(&bad, &f.frame);
    assert!(!v.valid);
    assert_fails_with(&v, "claimSignature.mismatch");
}

/// `signed` with the byte `offset` past `needle` in its manifest chunk changed.
fn edit_manifest(
    signed: &[u8],
    needle: &[u8],
    offset: usize,
    change: impl Fn(u8) -> u8,
) -> Vec<u8> {
    let mut parts = chunks(signed);
    let manifest = &mut parts.iter_mut().find(|(k, _)| k == b"caBX").unwrap().1;
    let at = manifest
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
        + offset;
    manifest[at] = change(manifest[at]);
    join(&parts)
}

fn assert_fails_with(v: &mpegs_c2pa::Verdict, code: &str) {
    assert!(
        v.c2pa.failures.iter().any(|c| c.starts_with(code)),
        "{code}: {:?}",
        v.c2pa
    );
}

/// JPEG files get the same manifest (mpegs outputs are PNG; a JPEG export of one
/// carries the credentials, though its lossy pixels no longer match the proofs).
#[test]
fn jpeg_files_carry_the_manifest_too() {
    let f = fixture();
    let rgb = image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 9, y as u8 * 20, 77]));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let signed = sign(
        jpeg.get_ref(),
        &f.bundle,
        f.pki.chain.as_bytes(),
        f.pki.key.as_bytes(),
        "out.c2pa.jpg",
    )
    .unwrap();
    assert_eq!(mpegs_c2pa::format_of(&signed).unwrap(), "image/jpeg");
    let r = report(&signed, None);
    assert!(r.valid && r.has_mpegs, "{r:?}");
    // Not a PNG or JPEG at all: a clear error.
    let e = read(b"GIF89a....", None).unwrap_err();
    assert!(e.to_string().contains("not a PNG or JPEG"), "{e}");
}

#[test]
fn a_valid_signature_over_a_wrong_proof_is_invalid() {
    let f = fixture();
    // A genuinely signed manifest whose bundle belongs to other pixels.
    let other = frame(9);
    let dir = tempfile::tempdir().unwrap();
    let other_png = png_of(&other, dir.path(), "other.png");
    let signed = sign(
        &other_png,
        &f.bundle,
        f.pki.chain.as_bytes(),
        f.pki.key.as_bytes(),
        "x",
    )
    .unwrap();
    let v = verify(&signed, &other, None, None, &f.store)
        .unwrap()
        .unwrap();
    assert!(v.c2pa.valid, "the C2PA layer itself is fine: {:?}", v.c2pa);
    assert!(!v.valid);
    assert!(v.reason.unwrap().contains("mpegs proofs do not verify"));
}

#[test]
fn a_foreign_manifest_is_read_but_never_proven() {
    let f = fixture();
    // Another tool's manifest: an edit claim, no mpegs assertion.
    let definition = serde_json::json!({
        "title": "someone else's",
        "format": "image/png",
        "claim_generator_info": [{ "name": "other-editor", "version": "9" }],
        "assertions": [{ "label": "c2pa.actions", "data": { "actions": [
            { "action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture" },
            { "action": "c2pa.cropped" }
        ]}}]
    });
    let mut builder = c2pa::Builder::from_context(c2pa::Context::new())
        .with_definition(definition)
        .unwrap();
    let signer = c2pa::create_signer::from_keys(
        f.pki.chain.as_bytes(),
        f.pki.key.as_bytes(),
        c2pa::SigningAlg::Es256,
        None,
    )
    .unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    builder
        .sign(
            signer.as_ref(),
            "image/png",
            &mut std::io::Cursor::new(&f.png),
            &mut out,
        )
        .unwrap();
    let foreign = out.into_inner();
    let v = verify(&foreign, &f.frame, None, None, &f.store)
        .unwrap()
        .unwrap();
    assert!(v.c2pa.valid, "{:?}", v.c2pa);
    assert!(!v.c2pa.has_mpegs);
    assert_eq!(v.c2pa.generator.as_deref(), Some("other-editor"));
    assert!(v.c2pa.actions.iter().any(|a| a == "c2pa.cropped"));
    assert!(!v.valid && v.mpegs.is_none());
    assert!(v.reason.unwrap().contains("no mpegs proof"));
}

/// The official Python bindings read our file: signature and binding validate
/// (untrusted signer aside), the actions and the mpegs assertion are visible.
#[test]
fn a_third_party_reader_accepts_our_file() {
    let reader = std::env::var("MPEGS_C2PA_READER").expect(
        "MPEGS_C2PA_READER is not set: run the tests with scripts/test.sh, which installs \
         the c2pa-python reader (scripts/common.sh ensure_c2pa_reader)",
    );
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let (file, ca) = (dir.path().join("out.c2pa.png"), dir.path().join("ca.pem"));
    std::fs::write(&file, f.signed()).unwrap();
    std::fs::write(&ca, &f.pki.ca).unwrap();
    let run = |extra: &[&Path]| {
        let mut words = reader.split_whitespace();
        let out = std::process::Command::new(words.next().unwrap())
            .args(words)
            .arg(&file)
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let r = run(&[]);
    assert_eq!(r["state"], "Valid", "{r}");
    assert_eq!(
        r["failure"],
        serde_json::json!(["signingCredential.untrusted"]),
        "{r}"
    );
    let success = r["success"].to_string();
    for code in ["claimSignature.validated", "assertion.dataHash.match"] {
        assert!(success.contains(code), "{r}");
    }
    assert_eq!(
        r["actions"][1],
        serde_json::json!(["c2pa.cropped", "crop=w=8:h=8:x=4:y=0:exact=0"]),
        "{r}"
    );
    assert_eq!(r["mpegs_bundle_version"], 2, "{r}");
    assert_eq!(r["ingredients"][0], "private original (never published)");
    assert_eq!(run(&[&ca])["state"], "Trusted");

    // The same reader sees a changed pixel.
    let mut changed = f.frame.clone();
    changed.data[1] ^= 1;
    std::fs::write(
        &file,
        transplant(&f.signed(), &png_of(&changed, dir.path(), "c.png")),
    )
    .unwrap();
    let r = run(&[]);
    assert_eq!(r["state"], "Invalid", "{r}");
    assert!(
        r["failure"]
            .to_string()
            .contains("assertion.dataHash.mismatch"),
        "{r}"
    );
}
