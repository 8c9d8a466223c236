//! Bystanders against `MediaRegistry` records and pins, on the committed bytecode
//! in revm (issue 26). Each test names what the previous registry let a stranger
//! do — every one of them failed against it — and checks the refusal now.

mod common;

use alloy_primitives::{Address, Bytes, B256, U256};
use common::{edit_fixture, revert, EditFixture};
use mpegs_chain::abi::MediaRegistry;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::{transact, view};
use mpegs_chain::deployment::{self, deploy, Deployment};
use mpegs_chain::embedded::Embedded;
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::verifier::{self, KeyOrigin};
use mpegs_chain::{Chain, ChainError, PrivateKeySigner, Receipt};
use mpegs_provenance::bundle::Bundle;

const OWNER: usize = 0;
const STRANGER: usize = 2;

fn as_account(chain: &mut Embedded, n: usize) -> Address {
    chain.set_signer(dev_signer(n).unwrap());
    chain.sender()
}

fn word(hex: &str) -> B256 {
    let fr = mpegs_media::poseidon::fr_from_hex(hex).unwrap();
    B256::from(verifier::fr_word(&fr))
}

fn signature(bundle: &Bundle) -> Vec<u8> {
    let a = bundle.attestation.as_ref().unwrap();
    hex::decode(a.signature.trim_start_matches("0x")).unwrap()
}

/// `registerOriginal` for `bundle`'s capture, naming `device`, with `sig`.
fn original_call(
    bundle: &Bundle,
    device: Address,
    sig: Vec<u8>,
) -> MediaRegistry::registerOriginalCall {
    let a = bundle.attestation.as_ref().unwrap();
    let h = &bundle.media.header;
    MediaRegistry::registerOriginalCall {
        commitment: word(&bundle.media.commitment),
        format: h.format.code() as u8,
        width: h.width,
        height: h.height,
        capturedAt: a.captured_at,
        deviceId: a.device_id.clone(),
        device,
        signature: Bytes::from(sig),
    }
}

fn digest_of(
    chain: &mut Embedded,
    d: &Deployment,
    c: &MediaRegistry::registerOriginalCall,
) -> B256 {
    view(
        chain,
        d.registry,
        &MediaRegistry::captureDigestCall {
            commitment: c.commitment,
            format: c.format,
            width: c.width,
            height: c.height,
            capturedAt: c.capturedAt,
            deviceId: c.deviceId.clone(),
        },
    )
    .unwrap()
}

/// The same signature with v flipped (27 <-> 28): valid, but for another key.
fn flip_v(sig: &[u8]) -> Vec<u8> {
    let mut out = sig.to_vec();
    out[64] = if sig[64] == 27 { 28 } else { 27 };
    out
}

/// secp256k1's group order.
fn order() -> U256 {
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .unwrap()
}

fn device_of(f: &EditFixture) -> Address {
    f.device.parse().unwrap()
}

/// The owner pins the edit's verifiers and approves its steps without
/// registering anything (what an earlier registration of the same statement
/// leaves behind), so that anyone may register the edit.
fn prepare_edit(chain: &mut Embedded, d: &mut Deployment, f: &EditFixture) {
    as_account(chain, OWNER);
    let edit = f.edited.edit.as_ref().unwrap();
    let ids: Vec<String> = edit
        .steps
        .iter()
        .flat_map(|s| s.circuits.keys().cloned())
        .collect();
    deployment::ensure_verifiers(chain, d, &f.store, &ids).unwrap();
    for step in &edit.steps {
        let call = MediaRegistry::approveStepCall {
            stepHash: registry::step_hash(&registry::step_call(step).unwrap()),
        };
        transact(chain, d.registry, &call, U256::ZERO).unwrap();
    }
}

/// Attack (a): seeing a pending `registerOriginal`, a stranger flips `v`. The
/// altered signature passes every check and recovers another address, so the
/// previous registry (keyed by commitment) recorded the wrong device and the
/// genuine registration reverted "already registered" for ever. Now the call
/// names its device, a record lives under (commitment, device), and the high-s
/// twin is refused outright.
#[test]
fn a_flipped_v_neither_blocks_nor_rebinds_an_original() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    let device = device_of(&f);
    let genuine = signature(&f.attested);
    let c = word(&f.attested.media.commitment);

    let flipped = flip_v(&genuine);
    let digest = digest_of(
        &mut chain,
        &d,
        &original_call(&f.attested, device, genuine.clone()),
    );
    let other = alloy_primitives::Signature::from_raw(&flipped)
        .unwrap()
        .recover_address_from_prehash(&digest)
        .unwrap();
    assert_ne!(other, device, "a flipped v recovers someone else");

    as_account(&mut chain, STRANGER);
    // Naming the genuine device with the flipped signature: refused.
    let reason = revert(transact(
        &mut chain,
        d.registry,
        &original_call(&f.attested, device, flipped.clone()),
        U256::ZERO,
    ));
    assert_eq!(reason, "the signature is not by the named device");
    // The high-s twin (s' = n − s, v flipped) recovers the genuine device: refused.
    let s = U256::from_be_slice(&genuine[32..64]);
    let mut twin = genuine.clone();
    twin[32..64].copy_from_slice(&(order() - s).to_be_bytes::<32>());
    twin[64] = flipped[64];
    let reason = revert(transact(
        &mut chain,
        d.registry,
        &original_call(&f.attested, device, twin),
        U256::ZERO,
    ));
    assert_eq!(reason, "signature s is not low");
    // Naming the address the flipped signature recovers: a record under a device
    // nobody holds the key of, which blocks nothing.
    transact(
        &mut chain,
        d.registry,
        &original_call(&f.attested, other, flipped),
        U256::ZERO,
    )
    .unwrap();

    // The genuine registration still goes through and names the device that signed.
    as_account(&mut chain, OWNER);
    let done = registry::register(&mut chain, &mut d, &f.store, &f.attested, Mode::Auto).unwrap();
    assert_eq!(done[0].outcome, "original");
    let r = registry::record(&mut chain, &d, c, device).unwrap();
    assert_eq!((r.kind, r.device), (1, device));
    let me = chain.sender();
    let status = registry::status(&mut chain, &d, c, Some(device), me).unwrap();
    assert_eq!(status[0].device, Some(device));
    assert_eq!(status[0].revoked_at, None);
}

/// Attack (b): a stranger submits the genuine signature unchanged, becomes the
/// registrant, and revokes the original — permanently, under the previous
/// registry, for the original and everything after it. Now a registrant has no
/// power: only the device revokes, and the genuine party's tool reports the
/// record as registered (by the stranger) instead of failing or trusting it.
#[test]
fn a_front_runner_of_an_original_gains_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    let device = device_of(&f);
    let c = word(&f.attested.media.commitment);

    let stranger = as_account(&mut chain, STRANGER);
    registry::register(&mut chain, &mut d, &f.store, &f.attested, Mode::Auto).unwrap();
    let r = registry::record(&mut chain, &d, c, device).unwrap();
    assert_eq!((r.registrant, r.device), (stranger, device));
    let reason = revert(registry::revoke(&mut chain, &d, c, "mine now"));
    assert!(
        reason.contains("no record of this commitment by this device"),
        "{reason}"
    );
    // The stranger relays a revocation signed by its own key for the device's record.
    let deadline = chain.timestamp().unwrap() + 600;
    let digest =
        registry::revoke_digest(chain.chain_id(), d.registry, c, "x", U256::ZERO, deadline);
    let own = mpegs_provenance::attest::DeviceKey::generate();
    let call = MediaRegistry::revokeBySignatureCall {
        commitment: c,
        device,
        reason: "x".into(),
        deadline,
        signature: own.sign_digest(&digest.0).unwrap().into(),
    };
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(reason.contains("not the record's device"), "{reason}");

    // The genuine party: already registered, same facts, by another account.
    as_account(&mut chain, OWNER);
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    assert_eq!(
        done[0].outcome,
        format!("already registered (original, by {stranger:#x})")
    );
    assert!(done[0].conflict.is_none());
    assert_eq!(done[1].outcome, "edit", "the history goes on");
    // The device itself can still revoke.
    registry::revoke_by_device(&mut chain, &d, c, "lost camera", deadline, &f.key).unwrap();
    assert_ne!(
        registry::record(&mut chain, &d, c, device)
            .unwrap()
            .revokedAt,
        0
    );
}

/// Attack (c): edits are public in bundles, so a stranger registered someone's
/// edit first and revoked it (previous registry). Now the stranger's
/// registration is the same fact the proofs establish, it gives no power, and an
/// edit registered under a device nobody holds (on a flipped-v original) blocks
/// nothing. Who revokes an edit: the device of its original, alone.
#[test]
fn a_stranger_registering_a_public_edit_cannot_revoke_or_block_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    let device = device_of(&f);
    prepare_edit(&mut chain, &mut d, &f);
    let parent = word(&f.attested.media.commitment);
    let child = word(&f.edited.media.commitment);
    let steps: Vec<_> = f
        .edited
        .edit
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| registry::step_call(s).unwrap())
        .collect();

    let stranger = as_account(&mut chain, STRANGER);
    // The edit on a flipped-v copy of the original, under a device nobody holds.
    let flipped = flip_v(&signature(&f.attested));
    let digest = digest_of(
        &mut chain,
        &d,
        &original_call(&f.attested, device, flipped.clone()),
    );
    let nobody = alloy_primitives::Signature::from_raw(&flipped)
        .unwrap()
        .recover_address_from_prehash(&digest)
        .unwrap();
    transact(
        &mut chain,
        d.registry,
        &original_call(&f.attested, nobody, flipped),
        U256::ZERO,
    )
    .unwrap();
    let call = MediaRegistry::registerEditCall {
        parent,
        device: nobody,
        steps: steps.clone(),
    };
    transact(&mut chain, d.registry, &call, U256::ZERO).unwrap();
    // The whole genuine history, registered by the stranger first.
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    assert_eq!(done[1].outcome, "edit");
    let r = registry::record(&mut chain, &d, child, device).unwrap();
    assert_eq!(
        (r.kind, r.registrant, r.device, r.parent),
        (2, stranger, device, parent)
    );
    let reason = revert(registry::revoke(&mut chain, &d, child, "mine"));
    assert!(
        reason.contains("no record of this commitment by this device"),
        "{reason}"
    );
    // Registering it again, under the device's key, is refused as the same record.
    let call = MediaRegistry::registerEditCall {
        parent,
        device,
        steps,
    };
    assert_eq!(
        revert(transact(&mut chain, d.registry, &call, U256::ZERO)),
        "already registered"
    );

    // The genuine party sees its history as registered, the device's own.
    let me = as_account(&mut chain, OWNER);
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    assert!(done.iter().all(|r| r.conflict.is_none()), "{done:?}");
    assert_eq!(
        done[1].outcome,
        format!("already registered (edit, by {stranger:#x})")
    );
    let status = registry::status(&mut chain, &d, child, Some(device), me).unwrap();
    assert_eq!(status.len(), 2);
    assert_eq!(status[0].device, Some(device));
    // Only the device revokes the edit (by signature, relayed by anyone).
    let deadline = chain.timestamp().unwrap() + 600;
    registry::revoke_by_device(&mut chain, &d, child, "bad crop", deadline, &f.key).unwrap();
    let status = registry::status(&mut chain, &d, child, Some(device), me).unwrap();
    assert!(status[0].revoked_at.is_some() && status[1].revoked_at.is_none());
    // …which leaves the record under the nobody-device as it was: nothing crosses devices.
    assert_eq!(
        registry::record(&mut chain, &d, child, nobody)
            .unwrap()
            .revokedAt,
        0
    );
}

/// An attested capture and two edits on top of each other (hflip, then vflip):
/// original → e1 → e2, with real proofs from one key store.
fn two_edits(dir: &std::path::Path) -> (EditFixture, Bundle) {
    use mpegs_provenance::prove::{Prover, Quiet};
    let f = edit_fixture(dir, "hflip");
    let store = &f.store;
    let prover = Prover {
        store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(12),
    };
    // Re-run the first edit to get its pixels (the fixture keeps only the bundle).
    let info = mpegs_media::FrameInfo::new(mpegs_media::PixelFormat::Rgb24, 16, 8);
    let frame = mpegs_media::Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 37 % 253) as u8).collect(),
    )
    .unwrap();
    let seed = mpegs_media::Seed([11; 32]);
    let first = Prover {
        store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(11),
    };
    let (flipped, e1) = first
        .edit(
            &frame,
            f.attested.clone(),
            &seed,
            &mpegs_filters::parse_filtergraph("hflip").unwrap(),
        )
        .unwrap();
    assert_eq!(e1.media.commitment, f.edited.media.commitment);
    let e1_seed = e1.media.seed.expect("an edit's output is published");
    let (_, e2) = prover
        .edit(
            &flipped,
            e1,
            &e1_seed,
            &mpegs_filters::parse_filtergraph("vflip").unwrap(),
        )
        .unwrap();
    (f, e2)
}

/// Revocation did not propagate: under the previous registry an edit of an edit
/// of a revoked original still registered, and `record()` showed it valid. Now
/// every descendant shows the revocation (and which ancestor), and no edit is
/// registered below a revoked record.
#[test]
fn revocation_propagates_to_every_descendant() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let (f, e2) = two_edits(dir.path());
    let device = device_of(&f);
    let original = word(&f.attested.media.commitment);
    let e1 = word(&f.edited.media.commitment);

    // Registered down to e1; e2's statement prepared so anyone could register it.
    registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    let deadline = chain.timestamp().unwrap() + 600;
    registry::revoke_by_device(&mut chain, &d, original, "stolen", deadline, &f.key).unwrap();

    let r = registry::record(&mut chain, &d, e1, device).unwrap();
    assert_ne!(r.revokedAt, 0, "e1 shows its original's revocation");
    assert_eq!(r.revokedVia, original);
    let me = chain.sender();
    let status = registry::status(&mut chain, &d, e1, Some(device), me).unwrap();
    assert_eq!(status[0].revoked_via, Some(original));
    assert_eq!(status[1].revoked_via, Some(original));

    let reason = revert(registry::register(
        &mut chain,
        &mut d,
        &f.store,
        &e2,
        Mode::Auto,
    ));
    assert!(
        reason.contains("an ancestor of the parent is revoked"),
        "{reason}"
    );
    // e1 itself can still be revoked by the device (its own revocation is recorded too).
    registry::revoke_by_device(&mut chain, &d, e1, "also", deadline, &f.key).unwrap();
    let r = registry::record(&mut chain, &d, e1, device).unwrap();
    assert_eq!(r.revokedVia, e1, "the nearest revoked record is named");
}

/// Revocation signatures work once, on one registry of one chain.
#[test]
fn revoke_signatures_do_not_replay_across_chain_contract_or_nonce() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut a = deploy(&mut chain).unwrap();
    let mut b = deploy(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    let device = device_of(&f);
    let c = word(&f.attested.media.commitment);
    for d in [&mut a, &mut b] {
        registry::register(&mut chain, d, &f.store, &f.attested, Mode::Auto).unwrap();
    }
    let deadline = chain.timestamp().unwrap() + 600;
    let send = |chain: &mut Embedded, d: &Deployment, digest: B256| {
        let call = MediaRegistry::revokeBySignatureCall {
            commitment: c,
            device,
            reason: "r".into(),
            deadline,
            signature: f.key.sign_digest(&digest.0).unwrap().into(),
        };
        transact(chain, d.registry, &call, U256::ZERO)
    };
    let for_a = registry::revoke_digest(chain.chain_id(), a.registry, c, "r", U256::ZERO, deadline);
    let other_chain = registry::revoke_digest(1, a.registry, c, "r", U256::ZERO, deadline);
    // Another chain's signature, and registry A's on registry B: refused.
    for (d, digest) in [(&a, other_chain), (&b, for_a)] {
        let reason = revert(send(&mut chain, d, digest));
        assert!(reason.contains("not the record's device"), "{reason}");
    }
    send(&mut chain, &a, for_a).unwrap();
    // Replayed on A (the nonce moved on; the record is revoked anyway) and on B.
    for d in [&a, &b] {
        let reason = revert(send(&mut chain, d, for_a));
        assert!(reason.contains("not the record's device"), "{reason}");
    }
    assert_eq!(
        registry::record(&mut chain, &b, c, device)
            .unwrap()
            .revokedAt,
        0
    );
}

/// A bundle whose facts differ from the record under its key is a conflict,
/// not "already registered" (the previous tool accepted any existing record).
#[test]
fn register_reports_a_record_with_other_facts_as_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    // The same items claimed with another device id and another filtergraph.
    let mut other_id = f.attested.clone();
    other_id.attestation.as_mut().unwrap().device_id = "someone-else".into();
    let done = registry::register(&mut chain, &mut d, &f.store, &other_id, Mode::Auto).unwrap();
    let conflict = done[0].conflict.as_deref().expect("a conflict");
    assert!(conflict.contains("another device id"), "{conflict}");
    let mut other_filter = f.edited.clone();
    other_filter.edit.as_mut().unwrap().steps[0].filter = "vflip".into();
    let done = registry::register(&mut chain, &mut d, &f.store, &other_filter, Mode::Auto).unwrap();
    assert!(done[0].conflict.is_none());
    let conflict = done[1].conflict.as_deref().expect("a conflict");
    assert!(conflict.contains("another filtergraph"), "{conflict}");
    // An ancestor's conflict stops the run before anything is sent for its children.
    let done = registry::register(
        &mut chain,
        &mut d,
        &f.store,
        &{
            let mut b = f.edited.clone();
            *b.edit.as_mut().unwrap().parent = other_id.clone();
            b
        },
        Mode::Auto,
    )
    .unwrap();
    assert_eq!(done.len(), 1);
    assert!(done[0].conflict.is_some());
}

/// Init code that deploys `runtime` (at most 64 KiB) as a contract's code:
/// PUSH2 len, DUP1, PUSH1 12, PUSH1 0, CODECOPY, PUSH1 0, RETURN, then the code.
fn init_code(runtime: &[u8]) -> Vec<u8> {
    let n = runtime.len();
    let mut code = vec![
        0x61,
        (n >> 8) as u8,
        n as u8,
        0x80,
        0x60,
        0x0c,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

/// Deploys the Store-origin verifiers of `vks` (one solc run).
fn deploy_verifiers(chain: &mut Embedded, vks: &[mpegs_zk::backend::Vk]) -> Vec<Address> {
    verifier::compiled(vks, KeyOrigin::Store)
        .unwrap()
        .into_iter()
        .map(|c| chain.deploy(c.creation).unwrap().0)
        .collect()
}

fn set_verifier(
    chain: &mut Embedded,
    d: &Deployment,
    key: B256,
    verifier: Address,
    inputs: usize,
) -> Result<Receipt, ChainError> {
    let call = MediaRegistry::setVerifierCall {
        vkHash: key,
        verifier,
        inputs: U256::from(inputs),
    };
    transact(chain, d.registry, &call, U256::ZERO)
}

/// A pin did not prove its key: any genuine verifier of the same arity passed the
/// probe, and pins were write-once, so a wrong pin could never be corrected. Now a
/// verifier must name the key it is pinned under, and the owner replaces a pin only
/// through a proposal that waits out a delay, both logged.
#[test]
fn pins_name_their_key_and_are_replaced_only_after_a_delay() {
    let a = mpegs_testkit::chain::table_example(&[1, 2, 3, 250], 3);
    let b = mpegs_testkit::chain::table_example(&[1, 2, 3, 4, 5], 3);
    assert_eq!(
        a.vk.statement_inputs(),
        b.vk.statement_inputs(),
        "same arity"
    );
    let key_a = verifier::vk_hash_word(&mpegs_zk::backend::vk_hash(&a.vk)).unwrap();
    let inputs = a.vk.statement_inputs();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let d = deploy(&mut chain).unwrap();
    let v = deploy_verifiers(&mut chain, &[a.vk.clone(), b.vk.clone(), a.vk.clone()]);
    let (va, vb, va2) = (v[0], v[1], v[2]);

    // The genuine verifier of key B, pinned under key A: refused.
    let reason = revert(set_verifier(&mut chain, &d, key_a, vb, inputs));
    assert!(reason.contains("does not name this key"), "{reason}");
    // The right verifier with another arity, and a contract that names key A in
    // answer to any call (so it "accepts" every proof): both fail the probe.
    let reason = revert(set_verifier(&mut chain, &d, key_a, va, inputs + 1));
    assert!(reason.contains("not a Groth16 verifier"), "{reason}");
    let mut runtime = vec![0x7f];
    runtime.extend_from_slice(key_a.as_slice());
    runtime.extend_from_slice(&[0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3]);
    let (liar, _) = chain.deploy(init_code(&runtime)).unwrap();
    let reason = revert(set_verifier(&mut chain, &d, key_a, liar, inputs));
    assert!(reason.contains("not a Groth16 verifier"), "{reason}");
    set_verifier(&mut chain, &d, key_a, va, inputs).unwrap();
    let reason = revert(set_verifier(&mut chain, &d, key_a, va2, inputs));
    assert!(reason.contains("already pinned"), "{reason}");

    let propose = |chain: &mut Embedded, v: Address| {
        let call = MediaRegistry::proposeVerifierReplacementCall {
            vkHash: key_a,
            verifier: v,
            inputs: U256::from(inputs),
        };
        transact(chain, d.registry, &call, U256::ZERO)
    };
    let replace = |chain: &mut Embedded| {
        let call = MediaRegistry::replaceVerifierCall { vkHash: key_a };
        transact(chain, d.registry, &call, U256::ZERO)
    };
    let pinned = |chain: &mut Embedded| deployment::registered_verifier(chain, &d, key_a).unwrap();
    // The replacement must name the key too; strangers cannot propose or apply.
    let reason = revert(propose(&mut chain, vb));
    assert!(reason.contains("does not name this key"), "{reason}");
    as_account(&mut chain, STRANGER);
    let reason = revert(propose(&mut chain, va2));
    assert!(reason.contains("not the registry owner"), "{reason}");
    as_account(&mut chain, OWNER);
    let proposed = propose(&mut chain, va2).unwrap();
    assert_eq!(proposed.logs.len(), 1, "VerifierReplacementProposed");
    let reason = revert(replace(&mut chain));
    assert!(reason.contains("delay is not over"), "{reason}");
    chain.advance_time(3 * 86_400 - 10).unwrap();
    let reason = revert(replace(&mut chain));
    assert!(reason.contains("delay is not over"), "{reason}");
    assert_eq!(pinned(&mut chain), va);
    chain.advance_time(20).unwrap();
    as_account(&mut chain, STRANGER);
    let reason = revert(replace(&mut chain));
    assert!(reason.contains("not the registry owner"), "{reason}");
    as_account(&mut chain, OWNER);
    let replaced = replace(&mut chain).unwrap();
    assert_eq!(replaced.logs.len(), 1, "VerifierReplaced");
    assert_eq!(pinned(&mut chain), va2);
    let reason = revert(replace(&mut chain));
    assert!(reason.contains("no replacement proposed"), "{reason}");
    // A proposal can be withdrawn.
    propose(&mut chain, va).unwrap();
    let cancel = MediaRegistry::cancelVerifierReplacementCall { vkHash: key_a };
    transact(&mut chain, d.registry, &cancel, U256::ZERO).unwrap();
    chain.advance_time(4 * 86_400).unwrap();
    let reason = revert(replace(&mut chain));
    assert!(reason.contains("no replacement proposed"), "{reason}");
    assert_eq!(pinned(&mut chain), va2);
}

/// A deployment file was trusted if code existed at its addresses. Now the code
/// there must be what this build compiled, the escrow must use this registry,
/// and a listed verifier must be the registry's pin.
#[test]
fn a_deployment_file_pointing_at_other_code_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    d.check(&mut chain).unwrap();
    let f = edit_fixture(dir.path(), "hflip");
    prepare_edit(&mut chain, &mut d, &f);
    d.check(&mut chain).unwrap();
    let other = deploy(&mut chain).unwrap();
    let some_verifier = d.verifiers.values().next().unwrap().address;

    let refused = |chain: &mut Embedded, bad: Deployment, what: &str| match bad.check(chain) {
        Err(ChainError::NotDeployed(m)) => assert!(m.contains(what), "{m}"),
        r => panic!("a deployment with other code passed: {r:?}"),
    };
    // The registry address holds a verifier; the escrow address holds the registry.
    let mut bad = d.clone();
    bad.registry = some_verifier;
    refused(&mut chain, bad, "is not the MediaRegistry");
    let mut bad = d.clone();
    bad.escrow = d.registry;
    refused(&mut chain, bad, "is not the StorageEscrow");
    // A genuine escrow of another registry.
    let mut bad = d.clone();
    bad.escrow = other.escrow;
    refused(&mut chain, bad, "uses the registry");
    // A verifier entry the registry does not pin.
    let mut bad = d.clone();
    bad.verifiers.values_mut().next().unwrap().address = other.registry;
    refused(&mut chain, bad, "the registry pins");
    // Code of another build: the registry's bytecode with one byte changed.
    let mut code = chain.code(d.registry).unwrap().to_vec();
    let last = code.len() - 1;
    code[last] ^= 1;
    let n = code.len();
    let mut init = vec![
        0x61,
        (n >> 8) as u8,
        n as u8,
        0x80,
        0x60,
        0x0c,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    init.extend_from_slice(&code);
    let (patched, _) = chain.deploy(init).unwrap();
    assert_eq!(chain.code(patched).unwrap().len(), n);
    let mut bad = d.clone();
    bad.registry = patched;
    refused(&mut chain, bad, "is not the MediaRegistry");
}

/// Embedded EVM reporting another chain id to the tooling (mainnet-like), to
/// check what the tooling refuses off development chains.
struct Foreign(Embedded);

impl Chain for Foreign {
    fn sender(&self) -> Address {
        self.0.sender()
    }
    fn set_signer(&mut self, signer: PrivateKeySigner) {
        self.0.set_signer(signer)
    }
    fn chain_id(&self) -> u64 {
        42161
    }
    fn send(
        &mut self,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> Result<Receipt, ChainError> {
        self.0.send(to, data, value)
    }
    fn call(&mut self, to: Address, data: Bytes) -> Result<Bytes, ChainError> {
        self.0.call(to, data)
    }
    fn timestamp(&mut self) -> Result<u64, ChainError> {
        self.0.timestamp()
    }
    fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError> {
        self.0.advance_time(seconds)
    }
    fn balance(&mut self, who: Address) -> Result<U256, ChainError> {
        self.0.balance(who)
    }
    fn has_code(&mut self, who: Address) -> Result<bool, ChainError> {
        self.0.has_code(who)
    }
    fn code(&mut self, who: Address) -> Result<Bytes, ChainError> {
        self.0.code(who)
    }
}

/// Verifiers of fixed-seed keys say so (`isTestKey()`, a warning header) and the
/// tooling deploys or pins them only on a development chain.
#[test]
fn test_key_verifiers_stay_on_development_chains() {
    let ex = mpegs_testkit::chain::table_example(&[1, 2, 3, 250], 3);
    let source = verifier::solidity_with(&ex.vk, KeyOrigin::Test).unwrap();
    assert!(source.contains("// WARNING: TEST KEY — forgeable."));
    assert!(!verifier::solidity(&ex.vk).unwrap().contains("TEST KEY"));
    let key = verifier::vk_hash_word(&mpegs_zk::backend::vk_hash(&ex.vk)).unwrap();
    let inputs = ex.vk.statement_inputs();

    // On the development chain: deployed and pinned.
    let mut dev = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let d = deploy(&mut dev).unwrap();
    let (test_verifier, _) =
        deployment::deploy_verifier(&mut dev, &ex.vk, KeyOrigin::Test).unwrap();
    let (store_verifier, _) =
        deployment::deploy_verifier(&mut dev, &ex.vk, KeyOrigin::Store).unwrap();
    let is_test = |chain: &mut Embedded, v: Address| {
        let out = chain
            .call(
                v,
                alloy_primitives::keccak256("isTestKey()")[..4]
                    .to_vec()
                    .into(),
            )
            .unwrap();
        out[31] == 1
    };
    assert!(is_test(&mut dev, test_verifier));
    assert!(!is_test(&mut dev, store_verifier));

    // Elsewhere: neither deployed nor pinned by the tooling.
    let mut foreign = Foreign(dev);
    let e = deployment::deploy_verifier(&mut foreign, &ex.vk, KeyOrigin::Test).unwrap_err();
    assert!(e.to_string().contains("TEST key"), "{e}");
    let e = deployment::pin_verifier(&mut foreign, &d, key, test_verifier, inputs).unwrap_err();
    assert!(e.to_string().contains("TEST key"), "{e}");
    assert_eq!(
        deployment::registered_verifier(&mut foreign, &d, key).unwrap(),
        Address::ZERO
    );
    // A store key's verifier is pinned there.
    deployment::pin_verifier(&mut foreign, &d, key, store_verifier, inputs).unwrap();
    let mut dev = foreign.0;
    assert_eq!(
        deployment::registered_verifier(&mut dev, &d, key).unwrap(),
        store_verifier
    );
    assert!(deployment::verifier_code_matches(&mut dev, store_verifier, &ex.vk).unwrap());
    assert!(!deployment::verifier_code_matches(&mut dev, test_verifier, &ex.vk).unwrap());
    // And the test-key verifier is pinned on the development chain.
    let d2 = deploy(&mut dev).unwrap();
    deployment::pin_verifier(&mut dev, &d2, key, test_verifier, inputs).unwrap();
}

/// The ancestor walk is bounded: an edit chain deeper than `MAX_DEPTH` (the
/// bundle format's `MAX_HISTORY_DEPTH`, 32 edits above the original) is refused,
/// so `record()` and `registerEdit` never read more than 33 records.
#[test]
fn edit_chains_deeper_than_the_bundle_limit_are_refused() {
    use mpegs_provenance::prove::{attest, Prover, Quiet};
    let dir = tempfile::tempdir().unwrap();
    let store = mpegs_zk::keys::KeyStore::open(dir.path().join("keys")).unwrap();
    let info = mpegs_media::FrameInfo::new(mpegs_media::PixelFormat::Gray, 8, 8);
    let mut frame = mpegs_media::Frame::new(info, (0..64u8).collect()).unwrap();
    let key = mpegs_provenance::attest::DeviceKey::generate();
    let mut seed = mpegs_media::Seed([3; 32]);
    let mut bundle = attest(&frame, &key, 8, &seed, "deep", 1_760_000_000).unwrap();
    let hflip = mpegs_filters::parse_filtergraph("hflip").unwrap();
    let max = mpegs_provenance::limits::MAX_HISTORY_DEPTH;
    let mut chain = Embedded::in_memory(dev_signer(OWNER).unwrap());
    let d = deploy(&mut chain).unwrap();
    let depth = view(&mut chain, d.registry, &MediaRegistry::MAX_DEPTHCall {}).unwrap();
    assert_eq!(usize::from(depth), max);
    for i in 0..=max {
        let prover = Prover {
            store: &store,
            progress: &Quiet,
            entropy: &mpegs_testkit::Seeded(100 + i as u64),
        };
        let (next, edited) = prover.edit(&frame, bundle, &seed, &hflip).unwrap();
        seed = edited.media.seed.unwrap();
        frame = next;
        bundle = edited;
    }
    let mut d = d;
    let e = registry::register(&mut chain, &mut d, &store, &bundle, Mode::Auto).unwrap_err();
    match e {
        ChainError::Revert(reason) => assert!(reason.contains("too deep"), "{reason}"),
        other => panic!("expected a revert, got {other:?}"),
    }
    // Everything up to the limit is registered, and reads walk the whole chain.
    let device: Address = key.address().parse().unwrap();
    let parent = word(&bundle.edit.as_ref().unwrap().parent.media.commitment);
    let r = registry::record(&mut chain, &d, parent, device).unwrap();
    assert_eq!((r.kind, usize::from(r.depth)), (2, max));
    let original = word(&bundle.origin().media.commitment);
    let deadline = chain.timestamp().unwrap() + 600;
    registry::revoke_by_device(&mut chain, &d, original, "x", deadline, &key).unwrap();
    let r = registry::record(&mut chain, &d, parent, device).unwrap();
    assert_eq!(
        r.revokedVia, original,
        "the walk reaches the original from the deepest edit"
    );
}
