//! Proof of transcode end to end on real H.264 clips with real Groth16 proofs: an
//! honest rendition passes; another clip and a heavily degraded encode cannot be
//! proven; a proof checked against another commitment, other samples, another
//! threshold or with flipped bits fails.
use mpegs_media::poseidon::fr_to_hex;
use mpegs_provenance::prove::Quiet;
use mpegs_transcode::proof::{prove, verify, Options, VideoSeeds};
use mpegs_transcode::video::{commit, Frames};
use mpegs_transcode::TranscodeError;
use mpegs_zk::keys::KeyStore;

mod common;
use common::{reencode, synthesize};

#[test]
fn honest_renditions_prove_and_everything_else_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (src, good, bad, other) = (
        dir.path().join("src.mp4"),
        dir.path().join("good.mp4"),
        dir.path().join("bad.mp4"),
        dir.path().join("other.mp4"),
    );
    synthesize(
        "testsrc2=size=128x96:rate=30:duration=0.4",
        &src,
        &["-b:v", "2M"],
    );
    // A downscaled rendition at a sane bitrate, one starved of bits, another clip.
    reencode(&src, &good, &["-vf", "scale=64:48", "-b:v", "200k"]);
    reencode(&src, &bad, &["-vf", "scale=64:48", "-crf", "51"]);
    synthesize("testsrc=size=64x48:rate=30:duration=0.4", &other, &[]);

    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let options = Options {
        threshold: 0.85,
        samples: 4,
        beacon: Some("c0ffee".into()),
        seeds: VideoSeeds::random(),
    };
    let outcome = prove(&src, &good, &options, &store, &Quiet).unwrap();
    let p = outcome.proof;
    assert!(outcome.min_ssim >= 0.85);
    assert_eq!(
        p.source_scale.as_deref(),
        Some("scale=w=64:h=48:flags=area+accurate_rnd")
    );
    verify(&p, &store).unwrap();
    // The proof names the videos: recomputing their commitments gives the same values.
    let c = commit(
        Frames::open(&good, None).unwrap(),
        &options.seeds.rendition,
        || {},
    )
    .unwrap();
    assert_eq!(fr_to_hex(&c.value), p.rendition.commitment);

    for (path, what) in [(&bad, "degraded"), (&other, "another clip")] {
        match prove(&src, path, &options, &store, &Quiet) {
            Err(TranscodeError::BelowThreshold { ssim, .. }) => assert!(ssim < 0.85, "{what}"),
            other => panic!("{what}: expected BelowThreshold, got {other:?}"),
        }
    }

    let other_commitment = commit(
        Frames::open(&other, None).unwrap(),
        &options.seeds.rendition,
        || {},
    )
    .unwrap();
    let mut forged = p.clone();
    forged.rendition.commitment = fr_to_hex(&other_commitment.value);
    assert!(verify(&forged, &store).is_err(), "mismatched commitment");
    let mut forged = p.clone();
    forged.samples.swap(0, 1);
    assert!(verify(&forged, &store).unwrap_err().contains("samples"));
    let mut forged = p.clone();
    forged.beacon = Some("c0ffef".into());
    assert!(
        verify(&forged, &store).is_err(),
        "another beacon selects other samples"
    );
    let mut forged = p.clone();
    forged.threshold = 0.95;
    forged.tau = 62259;
    assert!(verify(&forged, &store).is_err(), "overstated threshold");
    let mut forged = p.clone();
    let mut bytes = hex::decode(forged.proof.trim_start_matches("0x")).unwrap();
    bytes[40] ^= 1;
    forged.proof = format!("0x{}", hex::encode(bytes));
    assert!(verify(&forged, &store).is_err(), "flipped proof bit");

    // Bad options get clear errors, before any proving.
    for (threshold, samples) in [(1.5, 4), (0.9, 0), (0.9, 100_000)] {
        let o = Options {
            threshold,
            samples,
            beacon: None,
            seeds: VideoSeeds::random(),
        };
        let e = prove(&src, &good, &o, &store, &Quiet).unwrap_err();
        assert!(matches!(e, TranscodeError::Options(_)), "{e}");
    }
}
