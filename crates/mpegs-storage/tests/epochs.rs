//! The storage deal end to end on real H.264 segments: an honest worker passes every
//! epoch; a worker missing frames or holding another rendition cannot answer; an
//! old epoch's proof does not pass for a new epoch, nor for the epoch the verifier
//! asks about when the file names its own; forged reveals and proofs fail.

use mpegs_storage::epoch::{
    register, register_with, reveal, verify, Address, DealContext, EpochProof, Expected,
};
use mpegs_storage::StorageError;
use mpegs_zk::keys::KeyStore;
use std::path::Path;
use std::process::Command;

/// Challenges that are the same on every run.
fn seeded(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand::SeedableRng::seed_from_u64(seed)
}

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
    Expected { epoch, deal: None }
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

    let (secret, mut public) = register_with(&segment, 3, 2, &mut seeded(42)).unwrap();
    assert_eq!(public.segment.frames, 60);
    assert_eq!(public.depth, 6);
    assert_eq!(public.commitments.len(), 3);
    assert!(
        public.revealed.is_empty(),
        "nothing is revealed at registration"
    );

    // Nothing to answer before the reveal.
    let e = mpegs_storage::epoch::prove(&segment, &public, 0, None, &store).unwrap_err();
    assert!(e.to_string().contains("not been revealed"), "{e}");

    let mut proofs = vec![];
    for epoch in 0..3 {
        reveal(&secret, &mut public, epoch).unwrap();
        let proof = mpegs_storage::epoch::prove(&segment, &public, epoch, None, &store).unwrap();
        assert_eq!(
            verify(&proof, &public, &at(epoch), &store),
            Ok(()),
            "epoch {epoch}"
        );
        proofs.push(proof);
    }

    // A worker that kept only part of the segment, or another rendition.
    for (file, what) in [(&truncated, "frames"), (&rendition, "another root")] {
        match mpegs_storage::epoch::prove(file, &public, 1, None, &store) {
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

/// Two on-chain deals opened from one challenge file: the nonce binds chain id,
/// escrow, deal id and worker, so worker B cannot reuse worker A's proof (the
/// public inputs differ), and a proof checked for another deal is refused.
#[test]
fn a_proof_is_bound_to_one_deal() {
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::open(dir.path().join("keys")).unwrap();
    let segment = dir.path().join("segment.mp4");
    clip(&segment, "1", "1M");
    let (secret, mut public) = register_with(&segment, 1, 2, &mut seeded(7)).unwrap();
    reveal(&secret, &mut public, 0).unwrap();
    let addr = |b: u8| Address([b; 20]);
    let deal_a = DealContext {
        chain_id: 31337,
        contract: addr(0xee),
        deal: 1,
        worker: addr(0xaa),
    };
    let others = [
        DealContext { deal: 2, ..deal_a },
        DealContext {
            worker: addr(0xbb),
            ..deal_a
        },
        DealContext {
            chain_id: 42161,
            ..deal_a
        },
        DealContext {
            contract: addr(0xef),
            ..deal_a
        },
    ];
    let c = &public.revealed[0];
    for other in &others {
        assert_ne!(c.nonce(Some(&deal_a)), c.nonce(Some(other)), "{other:?}");
    }
    assert_ne!(c.nonce(Some(&deal_a)), c.nonce(None));

    let proof = mpegs_storage::epoch::prove(&segment, &public, 0, Some(&deal_a), &store).unwrap();
    let asked = |deal| Expected { epoch: 0, deal };
    assert_eq!(
        verify(&proof, &public, &asked(Some(deal_a)), &store),
        Ok(())
    );
    for other in others {
        // The file claims the other deal: its nonce differs, the proof fails.
        let relabelled = EpochProof {
            deal: Some(other),
            ..proof.clone()
        };
        let e = verify(&relabelled, &public, &asked(Some(other)), &store).unwrap_err();
        assert!(e.contains("does not verify"), "{other:?}: {e}");
        // The file keeps its own deal: refused as bound to another deal.
        let e = verify(&proof, &public, &asked(Some(other)), &store).unwrap_err();
        assert!(e.contains("another deal"), "{e}");
    }
    let e = verify(&proof, &public, &asked(None), &store).unwrap_err();
    assert!(e.contains("name it"), "{e}");
    // An off-chain proof does not answer an on-chain deal.
    let off_chain = mpegs_storage::epoch::prove(&segment, &public, 0, None, &store).unwrap();
    let e = verify(&off_chain, &public, &asked(Some(deal_a)), &store).unwrap_err();
    assert!(e.contains("not bound"), "{e}");
}

#[test]
fn registration_refuses_bad_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let segment = dir.path().join("segment.mp4");
    clip(&segment, "0.5", "1M");
    assert!(register_with(&segment, 0, 2, &mut seeded(1)).is_err());
    let e = register_with(&segment, 2, 100, &mut seeded(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds"), "{e}");
    let e = register(&dir.path().join("missing.mp4"), 2, 2)
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot decode"), "{e}");
}
