//! Shared by the embedded-EVM tests and the local-node test: the same flows must
//! behave the same on both.
#![allow(dead_code)]

use alloy_primitives::U256;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::deployment::{deploy, Deployment};
use mpegs_chain::escrow::{self, Settlement};
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::{Chain, ChainError};
use mpegs_filters::parse_filtergraph;
use mpegs_media::{Frame, FrameInfo, PixelFormat};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::bundle::Bundle;
use mpegs_provenance::prove::Entropy;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_storage::epoch::{register_with, Public, Secret};
use mpegs_testkit::Seeded;
use mpegs_zk::keys::KeyStore;
use std::path::Path;
use std::process::Command;

pub const ETHER: u128 = 1_000_000_000_000_000_000;

/// The message of a revert, or a panic naming what happened instead.
pub fn revert<T: std::fmt::Debug>(result: Result<T, ChainError>) -> String {
    match result {
        Err(ChainError::Revert(reason)) => reason,
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// An attested 16×8 RGB frame and its edit `crop=8:8:4:0,hflip` (tile 8: one output
/// tile per step, two tile proofs in all), proved with real keys.
pub struct EditFixture {
    pub store: KeyStore,
    pub attested: Bundle,
    pub edited: Bundle,
    pub device: String,
    pub key: DeviceKey,
}

pub fn edit_fixture(dir: &Path, vf: &str) -> EditFixture {
    let store = KeyStore::open(dir.join("keys")).unwrap();
    let info = FrameInfo::new(PixelFormat::Rgb24, 16, 8);
    let frame = Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 37 % 253) as u8).collect(),
    )
    .unwrap();
    let key = DeviceKey::generate();
    let seed = mpegs_media::Seed([11; 32]);
    let attested = attest(&frame, &key, 8, &seed, "chain-test-cam", 1_760_000_000).unwrap();
    let prover = Prover {
        store: &store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(11),
    };
    let (_, edited) = prover
        .edit(
            &frame,
            attested.clone(),
            &seed,
            &parse_filtergraph(vf).unwrap(),
        )
        .unwrap();
    EditFixture {
        store,
        attested,
        edited,
        device: key.address(),
        key,
    }
}

/// Deploys, registers an original and its edit (verified on-chain), and checks the
/// records and the revert reasons of tampered registrations.
/// Returns the deployment, and the edit's commitment with its device.
pub fn registry_flow(
    chain: &mut dyn Chain,
    dir: &Path,
) -> (
    Deployment,
    (alloy_primitives::B256, alloy_primitives::Address),
) {
    chain.set_signer(dev_signer(0).unwrap());
    let mut deployment = deploy(chain).unwrap();
    let f = edit_fixture(dir, "crop=8:8:4:0,hflip");

    let done = registry::register(chain, &mut deployment, &f.store, &f.edited, Mode::Auto).unwrap();
    let outcomes: Vec<&str> = done.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["original", "edit"]);
    assert_eq!(done[1].proofs, 2);

    let child = done[1].commitment;
    let me = chain.sender();
    let device: alloy_primitives::Address = f.device.parse().unwrap();
    let status = registry::status(chain, &deployment, child, Some(device), me).unwrap();
    assert_eq!(status.len(), 2, "edit → original");
    assert_eq!(status[0].kind, "edit");
    assert_eq!(status[0].proofs, 2);
    assert_eq!(status[1].kind, "original");
    assert_eq!(status[0].parent, Some(status[1].commitment));
    assert_eq!(
        format!("{:#x}", status[1].device.unwrap()),
        f.device.to_lowercase(),
        "the registry recovered the device that signed"
    );
    assert_eq!(
        status[0].device, status[1].device,
        "an edit inherits its origin's device"
    );

    // Registering again changes nothing.
    let again =
        registry::register(chain, &mut deployment, &f.store, &f.edited, Mode::Auto).unwrap();
    assert_eq!(again[1].outcome, "already registered (edit)");

    let edit = f.edited.edit.as_ref().unwrap();
    let parent = done[0].commitment;
    let steps: Vec<_> = edit
        .steps
        .iter()
        .map(|s| registry::step_call(s).unwrap())
        .collect();
    let register_edit = |chain: &mut dyn Chain, steps: Vec<_>, parent| {
        let call = mpegs_chain::abi::MediaRegistry::registerEditCall {
            parent,
            device,
            steps,
        };
        mpegs_chain::chain::transact(chain, deployment.registry, &call, U256::ZERO)
    };

    // The Rust statement hash is the contract's.
    let on_chain = mpegs_chain::chain::view(
        chain,
        deployment.registry,
        &mpegs_chain::abi::MediaRegistry::stepHashCall {
            step: steps[0].clone(),
        },
    )
    .unwrap();
    assert_eq!(on_chain, registry::step_hash(&steps[0]));

    // A replayed registration.
    assert_eq!(
        revert(register_edit(chain, steps.clone(), parent)),
        "already registered"
    );

    // A tampered proof: step 2 carries step 1's proof.
    let mut tampered = steps.clone();
    tampered[1].tiles[0].proof = steps[0].tiles[0].proof;
    let reason = revert(register_edit(chain, tampered, parent));
    assert!(reason.contains("proof does not verify"), "{reason}");

    // A tampered public input changes the statement, which the owner never approved.
    let mut tampered = steps.clone();
    tampered[0].tiles[0].tail[0] += U256::from(1);
    let reason = revert(register_edit(chain, tampered, parent));
    assert!(reason.contains("not approved"), "{reason}");

    // A claimed output commitment the proofs do not bind.
    let mut tampered = steps.clone();
    tampered[1].output = alloy_primitives::B256::from(U256::from(12345));
    let reason = revert(register_edit(chain, tampered, parent));
    assert!(reason.contains("proof does not verify"), "{reason}");

    // A parent that was never registered.
    let reason = revert(register_edit(
        chain,
        steps.clone(),
        alloy_primitives::B256::from(U256::from(7)),
    ));
    assert!(reason.contains("parent is not registered"), "{reason}");

    // Someone other than the owner cannot bring new circuits.
    chain.set_signer(dev_signer(2).unwrap());
    let other = edit_fixture(&dir.join("other"), "vflip");
    match registry::register(
        chain,
        &mut deployment,
        &other.store,
        &other.edited,
        Mode::Auto,
    ) {
        Err(ChainError::NotDeployed(m)) => assert!(m.contains("owner"), "{m}"),
        r => panic!("a stranger registered new circuits: {r:?}"),
    }
    // …but may anchor: recorded as verified off-chain only.
    let anchored = registry::register(
        chain,
        &mut deployment,
        &other.store,
        &other.edited,
        Mode::Anchor,
    )
    .unwrap();
    assert_eq!(anchored.last().unwrap().outcome, "anchored");
    let stranger = chain.sender();
    let anchored_at = anchored.last().unwrap().commitment;
    let status = registry::status(chain, &deployment, anchored_at, None, stranger).unwrap();
    assert_eq!(status[0].kind, "anchored");
    assert!(status[0].verification.contains("NOT on-chain"));
    assert_eq!(status[0].statement, registry::bundle_hash(&other.edited));
    assert_eq!(status[0].device, None, "an anchor claims no device");
    assert_eq!(status[0].registrant, stranger);
    // Someone else's view of the same commitment: no anchor of theirs.
    let status = registry::status(chain, &deployment, anchored_at, None, me).unwrap();
    assert!(status.is_empty(), "{status:?}");
    chain.set_signer(dev_signer(0).unwrap());
    (deployment, (child, device))
}

/// A 2 s 192×128 H.264 segment.
pub fn segment(path: &Path) {
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=192x128:rate=30:duration=2",
        ])
        .args([
            "-c:v", "libx264", "-threads", "1", "-pix_fmt", "yuv420p", "-b:v", "1M",
        ])
        .arg(path)
        .status()
        .expect("ffmpeg must be installed (apt-get install ffmpeg)");
    assert!(status.success());
}

pub struct StorageFixture {
    pub store: KeyStore,
    pub segment: std::path::PathBuf,
    pub secret: Secret,
    pub public: Public,
}

pub fn storage_fixture(dir: &Path) -> StorageFixture {
    let store = KeyStore::open(dir.join("keys")).unwrap();
    let path = dir.join("segment.mp4");
    segment(&path);
    let (secret, public) = register_with(&path, 3, 2, &mut Seeded(5).rng(0)).unwrap();
    StorageFixture {
        store,
        segment: path,
        secret,
        public,
    }
}

/// The offer the flows make: 3 epochs of an hour, 10-minute reveal and proof
/// windows, 0.5 ether collateral per epoch.
pub fn offer(worker: alloy_primitives::Address) -> escrow::Offer {
    escrow::Offer {
        worker,
        epoch_seconds: 3600,
        reveal_window: 600,
        proof_window: 600,
        accept_within: 86_400,
        deposit: U256::from(3 * ETHER),
        collateral_per_epoch: U256::from(ETHER / 2),
    }
}

/// The client proposes a deal from a copy of the fixture's (unbound) challenge
/// files, bound to it; `worker` signs it — after every check (`check`) or blindly
/// (tests that only need a deal open) — and the client opens it. Returns the
/// deal id, the bound secret file and the proposal. The chain's signer is the
/// client afterwards.
pub fn open_deal(
    chain: &mut dyn Chain,
    deployment: &mut Deployment,
    f: &StorageFixture,
    client: &alloy::signers::local::PrivateKeySigner,
    worker: &alloy::signers::local::PrivateKeySigner,
    offer: &escrow::Offer,
    check: bool,
) -> Result<(U256, Secret, escrow::Proposal), ChainError> {
    let (mut secret, mut public) = (f.secret.clone(), f.public.clone());
    chain.set_signer(client.clone());
    let proposal = escrow::propose(
        chain,
        deployment,
        &f.store,
        &mut secret,
        &mut public,
        offer,
        escrow::fresh_nonce(),
    )?;
    let signature = if check {
        chain.set_signer(worker.clone());
        let signed = escrow::sign_offer(chain, deployment, &f.store, &proposal, &f.segment, worker);
        chain.set_signer(client.clone());
        signed?.0
    } else {
        escrow::sign_digest(&proposal, worker)?
    };
    let (id, _) = escrow::open(chain, deployment, &proposal, &signature)?;
    Ok((id, secret, proposal))
}

/// A storage deal through three epochs: two proven and paid, one missed (the
/// client's payment refunded, the worker's collateral burned, not paid to the
/// client); the worker checks and signs the offer, then proves from what the
/// chain says; replays, forged reveals, strangers and late proofs revert with
/// reasons; payouts wait in the escrow until withdrawn.
pub fn storage_flow(chain: &mut dyn Chain, deployment: &mut Deployment, dir: &Path) {
    let f = storage_fixture(dir);
    let (client, worker) = (dev_signer(0).unwrap(), dev_signer(1).unwrap());
    let (client_addr, worker_addr) = (client.address(), worker.address());
    let (id, secret, _) = open_deal(
        chain,
        deployment,
        &f,
        &client,
        &worker,
        &offer(worker_addr),
        true,
    )
    .unwrap();
    let f = StorageFixture { secret, ..f };

    // The client cannot reveal before the worker accepted; a stranger cannot accept.
    let reason = revert(escrow::reveal(
        chain,
        deployment,
        id,
        &f.secret.challenges[0],
    ));
    assert!(reason.contains("not accepted"), "{reason}");
    chain.set_signer(dev_signer(2).unwrap());
    let reason = revert(escrow::accept(chain, deployment, &f.store, id));
    assert!(reason.contains("named worker"), "{reason}");

    chain.set_signer(worker.clone());
    escrow::accept(chain, deployment, &f.store, id).unwrap();
    let prove = |chain: &mut dyn Chain, epoch| {
        escrow::prove_epoch(chain, deployment, &f.store, id, epoch, &f.segment).unwrap()
    };

    // Epoch 0: revealed, proven from the chain's challenge, paid.
    chain.set_signer(client.clone());
    let mut forged = f.secret.challenges[0].clone();
    forged.indices[0] = (forged.indices[0] + 1) % f.public.segment.frames;
    let reason = revert(escrow::reveal(chain, deployment, id, &forged));
    assert!(
        reason.contains("does not match the committed challenge"),
        "{reason}"
    );
    let revealed = escrow::reveal(chain, deployment, id, &f.secret.challenges[0]).unwrap();
    assert!(
        matches!(revealed, escrow::Revealed::Open { .. }),
        "{revealed:?}"
    );
    chain.set_signer(worker.clone());
    let proof0 = prove(chain, 0);
    escrow::submit(chain, deployment, id, &proof0).unwrap();
    let reason = revert(escrow::submit(chain, deployment, id, &proof0));
    assert!(reason.contains("already settled"), "{reason}");

    // Epoch 1 (an hour later): the old proof replayed for the new challenge fails.
    chain.advance_time(3600).unwrap();
    chain.set_signer(client.clone());
    escrow::reveal(chain, deployment, id, &f.secret.challenges[1]).unwrap();
    chain.set_signer(worker.clone());
    let reason = revert(escrow::submit_words(chain, deployment, id, 1, &proof0));
    assert!(reason.contains("proof does not verify"), "{reason}");
    let proof1 = prove(chain, 1);
    escrow::submit(chain, deployment, id, &proof1).unwrap();

    // Epoch 2: revealed, but the worker misses its proof window.
    chain.advance_time(3600).unwrap();
    chain.set_signer(client.clone());
    escrow::reveal(chain, deployment, id, &f.secret.challenges[2]).unwrap();
    let reason = revert(escrow::settle(chain, deployment, id, 2));
    assert!(reason.contains("proof window still open"), "{reason}");
    chain.set_signer(worker.clone());
    let proof2 = prove(chain, 2);
    chain.advance_time(601).unwrap();
    let reason = revert(escrow::submit(chain, deployment, id, &proof2));
    assert!(reason.contains("proof window closed"), "{reason}");
    let settled = escrow::settle(chain, deployment, id, 2).unwrap();
    let epoch_total = U256::from(ETHER + ETHER / 2);
    let (payment, collateral) = (U256::from(ETHER), U256::from(ETHER / 2));
    assert_eq!(
        settled,
        Settlement::RefundedClient(payment, collateral),
        "the payment back to the client, the collateral burned"
    );

    let status = escrow::status(chain, deployment, id).unwrap();
    let states: Vec<_> = status.epochs.iter().map(|e| e.state).collect();
    use mpegs_chain::escrow::EpochState::*;
    assert_eq!(states, [Paid, Paid, Refunded]);
    assert_eq!(status.worker_owed, U256::from(2) * epoch_total);
    assert_eq!(status.client_owed, payment);

    // Nothing was pushed: each side withdraws what it is owed, once.
    for (signer, who, amount) in [
        (&worker, worker_addr, U256::from(2) * epoch_total),
        (&client, client_addr, payment),
    ] {
        chain.set_signer(signer.clone());
        let before = chain.balance(who).unwrap();
        let (got, _) = escrow::withdraw(chain, deployment).unwrap();
        assert_eq!(got, amount);
        let gain = chain.balance(who).unwrap().saturating_sub(before);
        // Gas is free on the embedded chain and cheap on a local node.
        assert!(
            gain > amount - U256::from(ETHER / 100) && gain <= amount,
            "{gain}"
        );
        let reason = revert(escrow::withdraw(chain, deployment));
        assert!(reason.contains("nothing to withdraw"), "{reason}");
    }
}

/// Issue 26's front-running attacks on any chain (the Hardhat node runs it too):
/// a stranger registers the original first with `v` flipped, then with the genuine
/// signature, and tries to revoke it; the genuine registration and the device's
/// revocation still work, and the stranger's record under another device blocks
/// nothing.
pub fn front_run_flow(chain: &mut dyn Chain, dir: &Path) {
    use mpegs_chain::abi::MediaRegistry;
    use mpegs_chain::chain::transact;
    chain.set_signer(dev_signer(0).unwrap());
    let mut d = deploy(chain).unwrap();
    let f = edit_fixture(dir, "hflip");
    let device: alloy_primitives::Address = f.device.parse().unwrap();
    let a = f.attested.attestation.as_ref().unwrap();
    let c = registry::record(chain, &d, alloy_primitives::B256::ZERO, device).unwrap();
    assert_eq!(c.kind, 0);
    let genuine = hex::decode(a.signature.trim_start_matches("0x")).unwrap();
    let mut flipped = genuine.clone();
    flipped[64] = if genuine[64] == 27 { 28 } else { 27 };
    let fr = mpegs_media::poseidon::fr_from_hex(&f.attested.media.commitment).unwrap();
    let commitment = alloy_primitives::B256::from(mpegs_chain::verifier::fr_word(&fr));
    let h = &f.attested.media.header;
    let call = |device, signature: &[u8]| MediaRegistry::registerOriginalCall {
        commitment,
        format: h.format.code() as u8,
        width: h.width,
        height: h.height,
        capturedAt: a.captured_at,
        deviceId: a.device_id.clone(),
        device,
        signature: signature.to_vec().into(),
    };
    let digest = mpegs_chain::chain::view(
        chain,
        d.registry,
        &MediaRegistry::captureDigestCall {
            commitment,
            format: h.format.code() as u8,
            width: h.width,
            height: h.height,
            capturedAt: a.captured_at,
            deviceId: a.device_id.clone(),
        },
    )
    .unwrap();
    let nobody = alloy_primitives::Signature::from_raw(&flipped)
        .unwrap()
        .recover_address_from_prehash(&digest)
        .unwrap();

    chain.set_signer(dev_signer(2).unwrap());
    let stranger = chain.sender();
    let reason = revert(transact(
        chain,
        d.registry,
        &call(device, &flipped),
        U256::ZERO,
    ));
    assert_eq!(reason, "the signature is not by the named device");
    transact(chain, d.registry, &call(nobody, &flipped), U256::ZERO).unwrap();
    transact(chain, d.registry, &call(device, &genuine), U256::ZERO).unwrap();
    let reason = revert(registry::revoke(chain, &d, commitment, "mine"));
    assert!(
        reason.contains("no record of this commitment by this device"),
        "{reason}"
    );

    chain.set_signer(dev_signer(0).unwrap());
    let done = registry::register(chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    assert_eq!(
        done[0].outcome,
        format!("already registered (original, by {stranger:#x})")
    );
    assert_eq!(done[1].outcome, "edit");
    let deadline = chain.timestamp().unwrap() + 600;
    registry::revoke_by_device(chain, &d, commitment, "lost", deadline, &f.key).unwrap();
    let child = done[1].commitment;
    let r = registry::record(chain, &d, child, device).unwrap();
    assert_eq!(
        r.revokedVia, commitment,
        "the edit shows its original's revocation"
    );
    assert_eq!(
        registry::record(chain, &d, commitment, nobody)
            .unwrap()
            .revokedAt,
        0
    );
}
