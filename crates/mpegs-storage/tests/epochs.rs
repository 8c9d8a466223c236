//! The storage deal end to end on real H.264 segments: an honest worker passes every
//! epoch; a worker missing frames or holding another rendition cannot answer; an
//! old epoch's proof does not pass for a new epoch, nor for the epoch the verifier
//! asks about when the file names its own; forged reveals and proofs fail.

use mpegs_storage::epoch::{register, reveal, verify, EpochProof, Expected};
use mpegs_storage::StorageError;
use mpegs_zk::keys::KeyStore;
use std::path::Path;
use std::process::Command;

fn clip(path: &Path, seconds: &str, bitrate: &str) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=192x128:rate=30:duration=2")
        .args([
            "-t", seconds, "-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p",
        ])
        .args(["-b:v", bitrate])
        .arg(path)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success());
}

/// The verifier's side of an epoch: what it asks about.
fn at(epoch: u32) -> Expected {
    Expected { epoch }
}

#[test]
fn a_storage_deal_through_three_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let segment = dir.path().join("segment.mp4");
    let truncated = dir.path().join("truncated.mp4");
    let rendition = dir.path().join("rendition.mp4");
    clip(&segment, "2", "1M");
    clip(&truncated, "1.5", "1M");
    clip(&rendition, "2", "80k");

    let (secret, mut public) = register(&segment, 3, 2, Some(42)).unwrap();
    assert_eq!(public.segment.frames, 60);
    assert_eq!(public.depth, 6);
    assert_eq!(public.commitments.len(), 3);
    assert!(
        public.revealed.is_empty(),
        "nothing is revealed at registration"
    );

    // Nothing to answer before the reveal.
    let e = mpegs_storage::epoch::prove(&segment, &public, 0, &store).unwrap_err();
    assert!(e.to_string().contains("not been revealed"), "{e}");

    let mut proofs = vec![];
    for epoch in 0..3 {
        reveal(&secret, &mut public, epoch).unwrap();
        let proof = mpegs_storage::epoch::prove(&segment, &public, epoch, &store).unwrap();
        assert_eq!(
            verify(&proof, &public, &at(epoch), &store),
            Ok(()),
            "epoch {epoch}"
        );
        proofs.push(proof);
    }

    // A worker that kept only part of the segment, or another rendition.
    for (file, what) in [(&truncated, "frames"), (&rendition, "another root")] {
        match mpegs_storage::epoch::prove(file, &public, 1, &store) {
            Err(StorageError::Mismatch(reason)) => assert!(reason.contains(what), "{reason}"),
            other => panic!("{what}: {other:?}"),
        }
    }

    // The verifier, not the file, says which epoch is due: epoch 0's proof, valid
    // for epoch 0, is refused when the verifier asks about epoch 1.
    let e = verify(&proofs[0], &public, &at(1), &store).unwrap_err();
    assert!(
        e.contains("answers epoch 0, not the verifier's epoch 1"),
        "{e}"
    );

    // Replaying epoch 0's proof as epoch 1's.
    let replay = EpochProof {
        epoch: 1,
        ..proofs[0].clone()
    };
    assert!(verify(&replay, &public, &at(1), &store)
        .unwrap_err()
        .contains("another challenge"));
    let replay = EpochProof {
        epoch: 1,
        commitment: public.commitments[1].clone(),
        ..proofs[0].clone()
    };
    assert!(verify(&replay, &public, &at(1), &store)
        .unwrap_err()
        .contains("does not verify"));

    // Flipped proof bits.
    let mut bad = proofs[2].clone();
    let mut bytes = hex::decode(&bad.proof[2..]).unwrap();
    bytes[10] ^= 1;
    bad.proof = format!("0x{}", hex::encode(bytes));
    assert!(verify(&bad, &public, &at(2), &store).is_err());

    // A reveal that does not match its commitment (the client moving the goalposts).
    let mut forged = public.clone();
    forged.revealed[2].indices[0] = (forged.revealed[2].indices[0] + 1) % 60;
    assert!(verify(&proofs[2], &forged, &at(2), &store)
        .unwrap_err()
        .contains("registered commitment"));
}

#[test]
fn registration_refuses_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("segment.mp4");
    clip(&segment, "0.5", "1M");
    assert!(register(&segment, 0, 2, Some(1)).is_err());
    let e = register(&segment, 2, 100, Some(1)).unwrap_err().to_string();
    assert!(e.contains("exceeds"), "{e}");
    let e = register(&dir.path().join("missing.mp4"), 2, 2, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot decode"), "{e}");
}
