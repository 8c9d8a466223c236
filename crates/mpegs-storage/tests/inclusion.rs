//! The epoch statement: honest openings satisfy the circuit and verify as a real
//! Groth16 proof; a wrong pHash (a worker without the frame), a wrong path, another
//! root (another region or rendition), other indices or another epoch's nonce fail.

use ark_bn254::Fr;
use mpegs_storage::circuit::InclusionCircuit;
use mpegs_storage::tree::{verify_opening, FrameHash, SegmentTree};
use mpegs_zk::{backend, Builder, Circuit, ConstraintSystem};
use rand::{Rng, SeedableRng};

fn tree(frames: usize, seed: u64) -> SegmentTree {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    SegmentTree::new(
        (0..frames)
            .map(|_| FrameHash {
                y: rng.gen(),
                u: rng.gen(),
                v: rng.gen(),
            })
            .collect(),
    )
}

fn circuit(t: &SegmentTree, nonce: u64, indices: &[u32]) -> InclusionCircuit {
    InclusionCircuit {
        root: t.root(),
        nonce: Fr::from(nonce),
        depth: t.depth(),
        openings: indices.iter().map(|i| t.open(*i).unwrap()).collect(),
    }
}

fn satisfied(c: InclusionCircuit) -> bool {
    mpegs_zk::backend::satisfied(c)
}

#[test]
fn three_hundred_frames_make_a_depth_nine_tree_with_valid_openings() {
    let t = tree(300, 1);
    assert_eq!(t.depth(), 9);
    for i in [0, 1, 150, 299] {
        assert!(verify_opening(t.root(), &t.open(i).unwrap()));
    }
    assert!(t.open(300).is_none(), "no opening past the last frame");
    let mut o = t.open(7).unwrap();
    o.phash.y ^= 1;
    assert!(!verify_opening(t.root(), &o));
    // Each chroma hash is in the leaf too.
    for plane in [1, 2] {
        let mut o = t.open(7).unwrap();
        if plane == 1 {
            o.phash.u ^= 1;
        } else {
            o.phash.v ^= 1;
        }
        assert!(!verify_opening(t.root(), &o), "plane {plane}");
    }
}

#[test]
fn honest_openings_satisfy_and_tampering_does_not() {
    let t = tree(300, 2);
    let idx = [3, 77, 150, 298];
    assert!(satisfied(circuit(&t, 9, &idx)));

    let mut c = circuit(&t, 9, &idx);
    c.openings[1].phash.y ^= 1 << 40; // a worker that lost frame 77
    assert!(!satisfied(c));

    // A worker that kept the luma but lost (or altered) a chroma plane.
    let mut c = circuit(&t, 9, &idx);
    c.openings[2].phash.u ^= 1 << 3;
    assert!(!satisfied(c));
    let mut c = circuit(&t, 9, &idx);
    c.openings[0].phash.v = 0;
    assert!(!satisfied(c));

    let mut c = circuit(&t, 9, &idx);
    c.openings[2].path[4] += Fr::from(1u64);
    assert!(!satisfied(c));

    let mut c = circuit(&t, 9, &idx);
    c.root = tree(300, 3).root(); // the tree of another region or rendition
    assert!(!satisfied(c));

    let mut c = circuit(&t, 9, &idx);
    c.openings[0].index = 4; // frame 3's opening claimed as frame 4
    assert!(!satisfied(c));

    // Counting constraints: k = 4 paths of depth 9.
    let b = Builder::new(ConstraintSystem::<Fr>::new_ref());
    circuit(&t, 9, &idx).synthesize(&b).unwrap();
    let n = b.cost();
    assert!(n > 4 * 9 * 264 && n < 4 * 12_000, "{n} constraints");
}

#[test]
fn a_real_proof_verifies_once_and_only_for_its_epoch() {
    let t = tree(40, 4);
    let idx = [1, 20, 39];
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(5);
    let (pk, vk) = backend::setup(InclusionCircuit::blank(idx.len(), t.depth()), &mut rng).unwrap();
    let pvk = backend::prepare(&vk);
    let proof = backend::prove(&pk, circuit(&t, 11, &idx), &mut rng).unwrap();
    let bytes = backend::proof_to_bytes(&proof);
    assert_eq!(bytes.len(), backend::PROOF_BYTES);

    let public = InclusionCircuit::public_inputs(t.root(), Fr::from(11u64), &idx);
    assert!(backend::verify(&pvk, &public, &proof).unwrap());
    // Replayed for another epoch (nonce), other indices or another root: rejected.
    let other_epoch = InclusionCircuit::public_inputs(t.root(), Fr::from(12u64), &idx);
    assert!(!backend::verify(&pvk, &other_epoch, &proof).unwrap());
    let other_idx = InclusionCircuit::public_inputs(t.root(), Fr::from(11u64), &[1, 20, 38]);
    assert!(!backend::verify(&pvk, &other_idx, &proof).unwrap());
    let other_root = InclusionCircuit::public_inputs(tree(40, 6).root(), Fr::from(11u64), &idx);
    assert!(!backend::verify(&pvk, &other_root, &proof).unwrap());
}
