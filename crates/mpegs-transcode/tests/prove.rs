//! Proof of transcode end to end on real H.264 clips with real Groth16 proofs: an
//! honest rendition passes; another clip and a heavily degraded encode cannot be
//! proven; a proof checked against another commitment, other samples, another
//! threshold or with flipped bits fails. The verifier's policy decides the
//! challenge: a proof under the prover's own (ground) beacon, or below the
//! verifier's floors on samples and threshold, is refused.
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::Seed;
use mpegs_provenance::prove::Quiet;
use mpegs_transcode::grid::Grid;
use mpegs_transcode::proof::{
    commit_pair, prove, sample_positions, verify, Challenge, Options, Policy, Rejection, Verified,
    VideoSeeds,
};
use mpegs_transcode::ssim::{macroblock_score, passes, threshold_fixed};
use mpegs_transcode::video::{commit, read_macroblocks, Frames};
use mpegs_transcode::TranscodeError;
use mpegs_zk::keys::KeyStore;
use std::collections::HashSet;
use std::path::Path;

mod common;
use common::{reencode, synthesize};

/// The verifier of these tests: its own beacon, floors that the proofs meet.
fn policy() -> Policy {
    Policy {
        beacon: Some("c0ffee".into()),
        min_samples: 4,
        min_threshold: 0.85,
    }
}

/// A verifier that lets the proof name its own beacon.
fn self_chosen() -> Policy {
    Policy {
        beacon: None,
        ..policy()
    }
}

/// Fixed blinding seeds, so a test can predict the commitments a proof will use.
const SEEDS: VideoSeeds = VideoSeeds {
    source: Seed([1; 32]),
    rendition: Seed([2; 32]),
};

fn options(beacon: &str) -> Options {
    Options {
        threshold: 0.85,
        samples: 4,
        beacon: Some(beacon.into()),
        seeds: SEEDS,
    }
}

/// A 128×96 testsrc2 source, 12 frames.
fn source(path: &Path) {
    synthesize(
        "testsrc2=size=128x96:rate=30:duration=0.4",
        path,
        &["-b:v", "2M"],
    );
}

#[test]
fn honest_renditions_prove_and_everything_else_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (src, good, bad, other) = (
        dir.path().join("src.mp4"),
        dir.path().join("good.mp4"),
        dir.path().join("bad.mp4"),
        dir.path().join("other.mp4"),
    );
    source(&src);
    // A downscaled rendition at a sane bitrate, one starved of bits, another clip.
    reencode(&src, &good, &["-vf", "scale=64:48", "-b:v", "200k"]);
    reencode(&src, &bad, &["-vf", "scale=64:48", "-crf", "51"]);
    synthesize("testsrc=size=64x48:rate=30:duration=0.4", &other, &[]);

    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let options = options("c0ffee");
    let outcome = prove(&src, &good, &options, &store, &Quiet).unwrap();
    let p = outcome.proof;
    assert!(outcome.min_ssim >= 0.85);
    assert_eq!(
        p.source_scale.as_deref(),
        Some("scale=w=64:h=48:flags=area+accurate_rnd")
    );
    let verified = Verified {
        challenge: Challenge::VerifierChosen,
        samples: 4,
        threshold: 0.85,
    };
    assert_eq!(verify(&p, &policy(), &store), Ok(verified.clone()));
    // The beacon is compared as bytes.
    let spelled = Policy {
        beacon: Some("0xC0FFEE".into()),
        ..policy()
    };
    assert_eq!(verify(&p, &spelled, &store), Ok(verified));
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
    assert!(
        verify(&forged, &policy(), &store).is_err(),
        "mismatched commitment"
    );
    let mut forged = p.clone();
    forged.samples.swap(0, 1);
    let e = verify(&forged, &policy(), &store).unwrap_err();
    assert!(e.to_string().contains("samples"), "{e}");
    // Another beacon in the file: refused by a verifier with its own, and even a
    // verifier that takes the file's beacon finds other samples selected.
    let mut forged = p.clone();
    forged.beacon = Some("c0ffef".into());
    assert!(matches!(
        verify(&forged, &policy(), &store),
        Err(Rejection::OtherBeacon { .. })
    ));
    let e = verify(&forged, &self_chosen(), &store).unwrap_err();
    assert!(e.to_string().contains("samples"), "{e}");
    let mut forged = p.clone();
    forged.threshold = 0.95;
    forged.tau = 62259;
    assert!(
        verify(&forged, &policy(), &store).is_err(),
        "overstated threshold"
    );
    let mut forged = p.clone();
    let mut bytes = hex::decode(forged.proof.trim_start_matches("0x")).unwrap();
    bytes[40] ^= 1;
    forged.proof = format!("0x{}", hex::encode(bytes));
    assert!(
        verify(&forged, &policy(), &store).is_err(),
        "flipped proof bit"
    );

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

#[test]
fn the_verifier_sets_the_floors_and_refuses_a_ground_beacon() {
    let dir = tempfile::tempdir().unwrap();
    let (src, damaged) = (dir.path().join("src.mp4"), dir.path().join("damaged.mp4"));
    source(&src);
    // A rendition whose left half is black: half of its macroblocks are garbage.
    let blackout = "scale=64:48,drawbox=x=0:y=0:w=32:h=48:color=black:t=fill";
    reencode(&src, &damaged, &["-vf", blackout, "-b:v", "200k"]);
    let (s, r, _) = commit_pair(&src, &damaged, &SEEDS, &Quiet).unwrap();
    let (header, frames) = (r.header, r.frames.len() as u32);

    // The cheating transcoder scores every macroblock natively ...
    let all: Vec<(u32, u32)> = (0..frames)
        .flat_map(|f| (0..header.tile_count() as u32).map(move |t| (f, t)))
        .collect();
    let a = read_macroblocks(Frames::open(&src, Some((64, 48))).unwrap(), &all).unwrap();
    let b = read_macroblocks(Frames::open(&damaged, None).unwrap(), &all).unwrap();
    let tau = threshold_fixed(0.85).unwrap();
    let grid = Grid::new(header.width, header.height);
    let good: HashSet<(u32, u32)> = all
        .iter()
        .zip(a.iter().zip(&b))
        .filter(|((_, t), (a, b))| {
            let (x, y) = header.tile_coords(*t as usize);
            let windows = grid.windows(x, y);
            passes(macroblock_score(a, b, windows), windows, tau)
        })
        .map(|(g, _)| *g)
        .collect();
    assert!(
        good.len() * 3 <= all.len() * 2,
        "a third or more is damaged"
    );
    let lands_well = |beacon: &str, k: u32| {
        sample_positions(
            s.value,
            r.value,
            &header,
            frames,
            k,
            tau as u64,
            Some(beacon),
        )
        .unwrap()
        .iter()
        .all(|p| good.contains(&(p.frame, header.tile_index(p.mb_x, p.mb_y) as u32)))
    };
    // ... and grinds beacons until every sample lands on a good one.
    let ground = (0u32..100_000)
        .map(|i| format!("{i:08x}"))
        .find(|b| lands_well(b, 4))
        .expect("a lucky beacon within 100,000 tries");
    let p = prove(&src, &damaged, &options(&ground), &store(&dir), &Quiet)
        .unwrap()
        .proof;

    // Taking the file's beacon, the ground proof holds, and is reported self-chosen.
    let outcome = verify(&p, &self_chosen(), &store(&dir)).unwrap();
    assert_eq!(outcome.challenge, Challenge::SelfChosen);
    // The verifier's own beacon refuses it, whatever the file says.
    assert_eq!(
        verify(&p, &policy(), &store(&dir)),
        Err(Rejection::OtherBeacon {
            expected: "c0ffee".into(),
            found: ground.clone(),
        })
    );
    let mut unnamed = p.clone();
    unnamed.beacon = None;
    assert!(matches!(
        verify(&unnamed, &policy(), &store(&dir)),
        Err(Rejection::OtherBeacon { found, .. }) if found == "none"
    ));
    // With the verifier's beacon and the default 32 samples, the damage is hit.
    assert!(!lands_well("c0ffee", 32));

    // Floors: a verifier demanding more samples or a higher threshold refuses
    // the 4-sample, 0.85 proof even under the matching beacon.
    let at_beacon = Policy {
        beacon: Some(ground.clone()),
        ..policy()
    };
    assert!(verify(&p, &at_beacon, &store(&dir)).is_ok());
    let more = Policy {
        min_samples: 5,
        ..at_beacon.clone()
    };
    assert_eq!(
        verify(&p, &more, &store(&dir)),
        Err(Rejection::TooFewSamples {
            samples: 4,
            required: 5
        })
    );
    let higher = Policy {
        min_threshold: 0.9,
        ..at_beacon.clone()
    };
    assert_eq!(
        verify(&p, &higher, &store(&dir)),
        Err(Rejection::ThresholdBelowFloor {
            threshold: 0.85,
            min: 0.9
        })
    );
    // The defaults are the prover's: 32 samples, 0.9.
    let defaults = Policy {
        beacon: Some(ground),
        ..Policy::default()
    };
    assert!(matches!(
        verify(&p, &defaults, &store(&dir)),
        Err(Rejection::TooFewSamples { required: 32, .. })
    ));
    // An unusable policy is the verifier's error, not the proof's.
    for bad in [
        Policy {
            beacon: Some("zz".into()),
            ..policy()
        },
        Policy {
            beacon: Some("0x".into()),
            ..policy()
        },
        Policy {
            min_threshold: 1.5,
            ..policy()
        },
        Policy {
            min_samples: 0,
            ..policy()
        },
    ] {
        assert!(bad.check().is_err(), "{bad:?}");
        assert!(matches!(
            verify(&p, &bad, &store(&dir)),
            Err(Rejection::Policy(_))
        ));
    }
}

fn store(dir: &tempfile::TempDir) -> KeyStore {
    KeyStore::open(dir.path().join("keys")).unwrap()
}

#[test]
fn edge_macroblocks_are_proven_and_damage_there_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let (src, good, damaged) = (
        dir.path().join("src.mp4"),
        dir.path().join("good.mp4"),
        dir.path().join("damaged.mp4"),
    );
    // 40×40, one frame: 3 × 3 macroblocks, the last column and row 8 pixels wide.
    synthesize(
        "testsrc2=size=40x40:rate=30:duration=0.04",
        &src,
        &["-frames:v", "1", "-b:v", "2M"],
    );
    reencode(&src, &good, &["-b:v", "2M"]);
    // Damaged only in the bottom 8 rows, which full macroblocks never reach.
    let bottom = "drawbox=x=0:y=32:w=40:h=8:color=white:t=fill";
    reencode(&src, &damaged, &["-vf", bottom, "-b:v", "2M"]);
    let store = store(&dir);
    // Sampling all 9 macroblocks, edges included.
    let all = Options {
        threshold: 0.6,
        samples: 9,
        beacon: Some("ed9e".into()),
        seeds: VideoSeeds::random(),
    };
    let p = prove(&src, &good, &all, &store, &Quiet).unwrap().proof;
    assert!(p.samples.iter().any(|s| s.mb_y == 2) && p.samples.iter().any(|s| s.mb_x == 2));
    let edges = Policy {
        beacon: Some("ed9e".into()),
        min_samples: 32,
        min_threshold: 0.6,
    };
    // Every macroblock sampled: meets a floor of 32.
    assert_eq!(verify(&p, &edges, &store).map(|v| v.samples), Ok(9));
    match prove(&src, &damaged, &all, &store, &Quiet) {
        Err(TranscodeError::BelowThreshold { mb_y, .. }) => assert_eq!(mb_y, 2),
        other => panic!("expected the bottom row below the threshold, got {other:?}"),
    }
}
