//! Issue 26's storage-deal attacks on the committed StorageEscrow bytecode (revm),
//! each run where it matters against the previous round's escrow too
//! (`tests/data/StorageEscrow-previous.json`, the artifact before this change) to
//! show the attack worked there.

mod common;

use alloy_primitives::{Address, Bytes, B256, U256};
use common::{offer, open_deal, revert, storage_fixture, ETHER};
use mpegs_chain::abi::StorageEscrow;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::{transact, view};
use mpegs_chain::deployment::deploy;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::escrow::{self, EpochState, Settlement};
use mpegs_chain::{Chain, ChainError};
use mpegs_storage::epoch::Challenge;

mod previous {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        PreviousEscrow,
        "tests/data/StorageEscrow-previous.json"
    );
}
use previous::PreviousEscrow;

const CLIENT: usize = 0;
const WORKER: usize = 1;

fn signer(n: usize) -> alloy::signers::local::PrivateKeySigner {
    dev_signer(n).unwrap()
}

/// A challenge with a random (in-field) root no content has: what a thieving
/// client commits.
fn random_root(c: &Challenge) -> Challenge {
    Challenge {
        root: format!("0x00{}", "3a".repeat(31)),
        ..c.clone()
    }
}

/// The attack: the client commits random roots, reveals them, the worker cannot
/// prove, and settle credits the client. Before: its payment plus the worker's
/// collateral (a profit of the whole collateral). Now: its payment only, the
/// collateral is burned, and the worker exits after the first bad reveal, taking
/// the rest of its collateral back.
#[test]
fn random_roots_no_longer_profit_the_client() {
    let dir = tempfile::tempdir().unwrap();
    let f = storage_fixture(dir.path());
    let mut chain = Embedded::in_memory(signer(CLIENT));
    let mut d = deploy(&mut chain).unwrap();
    let (client, worker) = (signer(CLIENT), signer(WORKER));

    // Today's escrow: commit random roots bound to the deal, reveal epoch 0.
    let (mut secret, mut public) = (f.secret.clone(), f.public.clone());
    let mut proposal = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut secret,
        &mut public,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    let bad: Vec<Challenge> = secret.challenges.iter().map(random_root).collect();
    for (e, c) in bad.iter().enumerate() {
        proposal.commitments[e] = B256::from_slice(&hex::decode(c.commitment()).unwrap());
    }
    let signature = escrow::sign_digest(&proposal, &worker).unwrap();
    let (id, _) = escrow::open(&mut chain, &d, &proposal, &signature).unwrap();
    chain.set_signer(worker.clone());
    escrow::accept(&mut chain, &d, &f.store, id).unwrap();
    chain.set_signer(client.clone());
    escrow::reveal(&mut chain, &d, id, &bad[0]).unwrap();
    // The worker cannot prove a root its segment does not have.
    chain.set_signer(worker.clone());
    let e = escrow::prove_epoch(&mut chain, &d, &f.store, id, 0, &f.segment).unwrap_err();
    assert!(e.to_string().contains("another root"), "{e}");
    // It exits at once: epochs 1 and 2 are cancelled.
    let exited = escrow::exit(&mut chain, &d, id, 0).unwrap();
    assert_eq!(exited.from_epoch, 1);
    assert_eq!(exited.refund, U256::from(2 * ETHER));
    assert_eq!(exited.returned, U256::from(ETHER));
    // The client can reveal nothing more; epoch 0 settles to its payment only.
    chain.set_signer(client.clone());
    let reason = revert(escrow::reveal(&mut chain, &d, id, &bad[1]));
    assert!(reason.contains("not accepted"), "{reason}");
    chain.advance_time(601).unwrap();
    let settled = escrow::settle(&mut chain, &d, id, 0).unwrap();
    assert_eq!(
        settled,
        Settlement::RefundedClient(U256::from(ETHER), U256::from(ETHER / 2))
    );
    let reason = revert(escrow::settle(&mut chain, &d, id, 1));
    assert!(
        reason.contains("cancelled by the worker's exit"),
        "{reason}"
    );
    let status = escrow::status(&mut chain, &d, id).unwrap();
    let states: Vec<_> = status.epochs.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            EpochState::Refunded,
            EpochState::Cancelled,
            EpochState::Cancelled
        ]
    );
    // The client gets back exactly what it paid: no profit.
    assert_eq!(status.client_owed, U256::from(3 * ETHER));
    // The worker lost one epoch's collateral and no more.
    assert_eq!(status.worker_owed, U256::from(ETHER));
    let burned = view(&mut chain, d.escrow, &StorageEscrow::burnedCall {}).unwrap();
    assert_eq!(burned, U256::from(ETHER / 2));

    // The previous escrow: the same attack pays the client the collateral too.
    let mut code = hex::decode(
        serde_json::from_str::<serde_json::Value>(include_str!("data/StorageEscrow-previous.json"))
            .unwrap()["bytecode"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    use alloy_sol_types::SolValue;
    code.extend_from_slice(&(d.registry, 600u64).abi_encode_params());
    chain.set_signer(client.clone());
    let (old, _) = chain.deploy(code).unwrap();
    let terms = previous::StorageEscrow::Terms {
        worker: worker.address(),
        vkHash: proposal.vk_hash,
        k: proposal.k,
        width: proposal.content.width,
        height: proposal.content.height,
        frames: proposal.content.frames,
        depth: proposal.depth,
        epochs: 3,
        epochSeconds: 3600,
        revealWindow: 600,
        proofWindow: 600,
        acceptBy: chain.timestamp().unwrap() + 3600,
        paymentPerEpoch: U256::from(ETHER),
        collateralPerEpoch: U256::from(ETHER / 2),
    };
    // The previous challenge hash had no binding word.
    let old_commitment = |c: &Challenge| {
        use sha2::{Digest, Sha256};
        let w = |v: u32| U256::from(v).to_be_bytes::<32>();
        let mut h = Sha256::new();
        h.update(Sha256::digest(b"mpegs.storage.challenge.v1"));
        for v in [c.epoch, c.region.x, c.region.y, c.region.size] {
            h.update(w(v));
        }
        h.update(B256::left_padding_from(
            &hex::decode(c.root.trim_start_matches("0x")).unwrap(),
        ));
        h.update(hex::decode(&c.salt).unwrap());
        for i in &c.indices {
            h.update(w(*i));
        }
        B256::from_slice(&h.finalize())
    };
    let call = PreviousEscrow::openCall {
        terms,
        commitments: bad.iter().map(old_commitment).collect(),
    };
    transact(&mut chain, old, &call, U256::from(3 * ETHER)).unwrap();
    chain.set_signer(worker.clone());
    let accept = PreviousEscrow::acceptCall { id: U256::from(1) };
    transact(&mut chain, old, &accept, U256::from(3 * ETHER / 2)).unwrap();
    chain.set_signer(client.clone());
    let start = chain.timestamp().unwrap();
    for (e, c) in bad.iter().enumerate() {
        let reveal = PreviousEscrow::revealCall {
            id: U256::from(1),
            epoch: e as u32,
            x: c.region.x,
            y: c.region.y,
            size: c.region.size,
            root: B256::left_padding_from(&hex::decode(c.root.trim_start_matches("0x")).unwrap()),
            salt: B256::from_slice(&hex::decode(&c.salt).unwrap()),
            indices: c.indices.clone(),
        };
        let (now, target) = (chain.timestamp().unwrap(), start + 3600 * e as u64 + 1);
        if now < target {
            chain.advance_time(target - now).unwrap();
        }
        transact(&mut chain, old, &reveal, U256::ZERO).unwrap();
        chain.advance_time(601).unwrap();
        let settle = PreviousEscrow::settleCall {
            id: U256::from(1),
            epoch: e as u32,
        };
        transact(&mut chain, old, &settle, U256::ZERO).unwrap();
    }
    let owed = view(&mut chain, old, &PreviousEscrow::owedCall(client.address())).unwrap();
    assert_eq!(
        owed,
        U256::from(3 * ETHER + 3 * ETHER / 2),
        "the previous escrow paid the thieving client all the collateral"
    );
}

/// A challenge file bound to one deal cannot back a second: the tool refuses to
/// bind it again, and the escrow refuses to open deal A's challenge in deal B
/// even when a client forces deal A's commitments into deal B's offer.
#[test]
fn a_challenge_file_reused_for_a_second_deal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = storage_fixture(dir.path());
    let mut chain = Embedded::in_memory(signer(CLIENT));
    let mut d = deploy(&mut chain).unwrap();
    let (client, worker) = (signer(CLIENT), signer(WORKER));
    let (id_a, mut secret_a, proposal_a) = open_deal(
        &mut chain,
        &mut d,
        &f,
        &client,
        &worker,
        &offer(worker.address()),
        false,
    )
    .unwrap();
    // The tool: the bound file does not bind again.
    let mut public_a = f.public.clone();
    mpegs_storage::epoch::bind(&mut secret_a.clone(), &mut public_a, proposal_a.binding().0)
        .unwrap_err();
    public_a.binding = secret_a.binding.clone();
    let e = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut secret_a,
        &mut public_a,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("already bound to another deal"),
        "{e}"
    );

    // The escrow: deal B carries deal A's commitments (the worker signed them).
    let (mut s, mut p) = (f.secret.clone(), f.public.clone());
    let mut proposal_b = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut s,
        &mut p,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    proposal_b.commitments = proposal_a.commitments.clone();
    let sig = escrow::sign_digest(&proposal_b, &worker).unwrap();
    let (id_b, _) = escrow::open(&mut chain, &d, &proposal_b, &sig).unwrap();
    for id in [id_a, id_b] {
        chain.set_signer(worker.clone());
        escrow::accept(&mut chain, &d, &f.store, id).unwrap();
    }
    chain.set_signer(client.clone());
    escrow::reveal(&mut chain, &d, id_a, &secret_a.challenges[0]).unwrap();
    let reason = revert(escrow::reveal(
        &mut chain,
        &d,
        id_b,
        &secret_a.challenges[0],
    ));
    assert!(
        reason.contains("does not match the committed challenge"),
        "{reason}"
    );
    // Unopenable, so epoch 0 of deal B pays the worker once its window closes.
    chain.advance_time(601).unwrap();
    let paid = escrow::settle(&mut chain, &d, id_b, 0).unwrap();
    assert_eq!(paid, Settlement::PaidWorker(U256::from(ETHER + ETHER / 2)));
}

/// The offer signature: from another worker, for other terms, for other
/// commitments, another client, or a used nonce, the escrow refuses to open.
#[test]
fn an_offer_signed_by_another_worker_or_for_other_terms_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = storage_fixture(dir.path());
    let mut chain = Embedded::in_memory(signer(CLIENT));
    let mut d = deploy(&mut chain).unwrap();
    let (client, worker) = (signer(CLIENT), signer(WORKER));
    let (mut s, mut p) = (f.secret.clone(), f.public.clone());
    let proposal = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut s,
        &mut p,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    let good = escrow::sign_digest(&proposal, &worker).unwrap();
    // The Rust digest is the contract's.
    let on_chain = view(
        &mut chain,
        d.escrow,
        &StorageEscrow::offerDigestCall {
            client: client.address(),
            terms: proposal.terms(),
            commitments: proposal.commitments.clone(),
            nonce: proposal.nonce,
        },
    )
    .unwrap();
    assert_eq!(on_chain, proposal.digest());

    let try_open = |chain: &mut Embedded, p: &escrow::Proposal, sig: &Bytes| {
        escrow::open(chain, &d, p, sig).map(|r| r.0)
    };
    let stranger = escrow::sign_digest(&proposal, &signer(3)).unwrap();
    let mut other_content = proposal.clone();
    other_content.content.commitment = hex::encode([9u8; 32]);
    let mut other_collateral = proposal.clone();
    other_collateral.collateral_per_epoch = U256::ZERO;
    let mut other_commitments = proposal.clone();
    other_commitments.commitments[1] = B256::repeat_byte(1);
    let mut other_frames = proposal.clone();
    other_frames.content.frames -= 1;
    let cases: Vec<(&escrow::Proposal, &Bytes)> = vec![
        (&proposal, &stranger),
        (&other_content, &good),
        (&other_collateral, &good),
        (&other_commitments, &good),
        (&other_frames, &good),
    ];
    for (p, sig) in cases {
        let reason = revert(try_open(&mut chain, p, sig));
        assert!(
            reason.contains("the worker did not sign this offer"),
            "{reason}"
        );
    }
    // Another client sending the worker's offer to this client.
    chain.set_signer(signer(3));
    let reason = revert(try_open(&mut chain, &proposal, &good));
    assert!(
        reason.contains("the worker did not sign this offer"),
        "{reason}"
    );
    // The genuine one opens once.
    chain.set_signer(client.clone());
    try_open(&mut chain, &proposal, &good).unwrap();
    let reason = revert(try_open(&mut chain, &proposal, &good));
    assert!(reason.contains("offer nonce already used"), "{reason}");
    // A high-s (malleated) copy of the signature is refused too.
    let mut bytes = good.to_vec();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let s_word = U256::from_be_slice(&bytes[32..64]);
    bytes[32..64].copy_from_slice(&(n - s_word).to_be_bytes::<32>());
    bytes[64] = if bytes[64] == 27 { 28 } else { 27 };
    let mut fresh = proposal.clone();
    fresh.nonce = escrow::fresh_nonce();
    let reason = revert(try_open(&mut chain, &fresh, &Bytes::from(bytes)));
    assert!(reason.contains("did not sign"), "{reason}");
}

/// The worker's tool refuses to sign for a segment it does not hold exactly:
/// another file, a colour-dropped copy with the same luma, a too-short proof
/// window; and the rightful proposal passes every check.
#[test]
fn the_worker_signs_only_for_its_own_segment_and_a_sufficient_window() {
    let dir = tempfile::tempdir().unwrap();
    let f = storage_fixture(dir.path());
    let mut chain = Embedded::in_memory(signer(CLIENT));
    let mut d = deploy(&mut chain).unwrap();
    let worker = signer(WORKER);
    let (mut s, mut p) = (f.secret.clone(), f.public.clone());
    let proposal = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut s,
        &mut p,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    chain.set_signer(worker.clone());
    let sign = |chain: &mut Embedded, p: &escrow::Proposal, seg: &std::path::Path| {
        escrow::sign_offer(chain, &d, &f.store, p, seg, &worker)
    };

    // The colour planes dropped (grey chroma), luma re-encoded losslessly (-qp 0).
    let gray = dir.path().join("gray.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&f.segment)
        .args([
            "-vf", "hue=s=0", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p",
        ])
        .arg(&gray)
        .status()
        .unwrap();
    assert!(status.success());
    // A truncated copy: fewer frames.
    let short = dir.path().join("short.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&f.segment)
        .args(["-frames:v", "10", "-c", "copy"])
        .arg(&short)
        .status()
        .unwrap();
    assert!(status.success());
    for seg in [&gray, &short] {
        match sign(&mut chain, &proposal, seg) {
            Err(ChainError::Input(e)) => {
                assert!(e.contains("is not the one at"), "{e}")
            }
            other => panic!("signed for another segment: {other:?}"),
        }
    }
    // A window shorter than the measured proving time times the margin.
    let mut tight = proposal.clone();
    std::env::set_var("MPEGS_PROOF_WINDOW_MARGIN", "1000000");
    tight.proof_window = 600;
    let got = sign(&mut chain, &tight, &f.segment);
    std::env::remove_var("MPEGS_PROOF_WINDOW_MARGIN");
    match got {
        Err(ChainError::Input(e)) => {
            assert!(e.contains("proof window of 600 s is too short"), "{e}")
        }
        other => panic!("signed a window too short: {other:?}"),
    }
    // Another worker's proposal is not signed with this key.
    let mut theirs = proposal.clone();
    theirs.worker = Address::repeat_byte(5);
    assert!(sign(&mut chain, &theirs, &f.segment).is_err());
    // The rightful proposal passes every check.
    let (_, check) = sign(&mut chain, &proposal, &f.segment).unwrap();
    assert!(check.epoch_seconds_measured > 0.0);
}
