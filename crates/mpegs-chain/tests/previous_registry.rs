//! The attacks of `registry_attacks.rs`, run against the previous round's
//! registry (its committed artifact, kept in `tests/data/MediaRegistry-previous.json`
//! from the commit before issue 26): each one worked there. This is what shows the
//! new tests test something; the same run measures the gas of every changed
//! operation on both contracts (`-- --nocapture gas` prints the table that
//! BENCHMARKS.md quotes).

mod common;

use alloy_primitives::{Address, Bytes, B256, U256};
use alloy_sol_types::SolCall;
use common::{edit_fixture, EditFixture};
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::{transact, view};
use mpegs_chain::deployment::deploy;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::verifier::{self, KeyOrigin};
use mpegs_chain::Chain;
use mpegs_provenance::bundle::Bundle;

mod previous {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        PreviousRegistry,
        "tests/data/MediaRegistry-previous.json"
    );
}
use previous::PreviousRegistry as Old;

const ARTIFACT: &str = include_str!("data/MediaRegistry-previous.json");

fn deploy_old(chain: &mut Embedded) -> (Address, u64) {
    let json: serde_json::Value = serde_json::from_str(ARTIFACT).unwrap();
    let code = hex::decode(json["bytecode"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    let (address, receipt) = chain.deploy(code).unwrap();
    (address, receipt.gas_used)
}

fn word(hex: &str) -> B256 {
    let fr = mpegs_media::poseidon::fr_from_hex(hex).unwrap();
    B256::from(verifier::fr_word(&fr))
}

fn old_original(bundle: &Bundle, sig: Vec<u8>) -> Old::registerOriginalCall {
    let a = bundle.attestation.as_ref().unwrap();
    let h = &bundle.media.header;
    Old::registerOriginalCall {
        commitment: word(&bundle.media.commitment),
        format: h.format.code() as u8,
        width: h.width,
        height: h.height,
        capturedAt: a.captured_at,
        deviceId: a.device_id.clone(),
        signature: Bytes::from(sig),
    }
}

fn signature(bundle: &Bundle) -> Vec<u8> {
    hex::decode(
        bundle
            .attestation
            .as_ref()
            .unwrap()
            .signature
            .trim_start_matches("0x"),
    )
    .unwrap()
}

fn old_steps(bundle: &Bundle) -> Vec<previous::MediaRegistry::Step> {
    bundle
        .edit
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| {
            let s = registry::step_call(s).unwrap();
            previous::MediaRegistry::Step {
                filter: s.filter,
                output: s.output,
                tiles: s
                    .tiles
                    .into_iter()
                    .map(|t| previous::MediaRegistry::TileProof {
                        vkHash: t.vkHash,
                        tail: t.tail,
                        proof: t.proof,
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Pins the edit's verifiers (freshly generated) and approves its steps on the
/// old registry, as its owner; returns the pin gas of the first.
fn old_prepare(chain: &mut Embedded, registry: Address, f: &EditFixture, bundle: &Bundle) -> u64 {
    chain.set_signer(dev_signer(0).unwrap());
    let edit = bundle.edit.as_ref().unwrap();
    let mut pin_gas = 0;
    for step in &edit.steps {
        for id in step.circuits.keys() {
            let vk = f.store.verifying_key(id).unwrap().unwrap();
            let key = verifier::vk_hash_word(&mpegs_zk::backend::vk_hash(&vk)).unwrap();
            if view(chain, registry, &Old::verifiersCall::new((key,))).unwrap() != Address::ZERO {
                continue;
            }
            let code = verifier::compiled(std::slice::from_ref(&vk), KeyOrigin::Store).unwrap();
            let (v, _) = chain.deploy(code[0].creation.clone()).unwrap();
            let call = Old::setVerifierCall {
                vkHash: key,
                verifier: v,
                inputs: U256::from(vk.statement_inputs()),
            };
            let gas = transact(chain, registry, &call, U256::ZERO)
                .unwrap()
                .gas_used;
            if pin_gas == 0 {
                pin_gas = gas;
            }
        }
    }
    for step in old_steps(bundle) {
        let hash = view(chain, registry, &Old::stepHashCall { step }).unwrap();
        let call = Old::approveStepCall { stepHash: hash };
        transact(chain, registry, &call, U256::ZERO).unwrap();
    }
    pin_gas
}

fn flip_v(sig: &[u8]) -> Vec<u8> {
    let mut out = sig.to_vec();
    out[64] = if sig[64] == 27 { 28 } else { 27 };
    out
}

#[test]
fn the_previous_registry_fell_to_each_attack() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let f = edit_fixture(dir.path(), "hflip");
    let device: Address = f.device.parse().unwrap();
    let c = word(&f.attested.media.commitment);
    let child = word(&f.edited.media.commitment);
    let stranger = dev_signer(2).unwrap();

    // (a) A flipped v: the stranger's record names another device, and the genuine
    // registration is refused for ever.
    let (old, _) = deploy_old(&mut chain);
    chain.set_signer(stranger.clone());
    let flipped = old_original(&f.attested, flip_v(&signature(&f.attested)));
    transact(&mut chain, old, &flipped, U256::ZERO).unwrap();
    chain.set_signer(dev_signer(0).unwrap());
    let genuine = old_original(&f.attested, signature(&f.attested));
    let e = transact(&mut chain, old, &genuine, U256::ZERO).unwrap_err();
    assert!(e.to_string().contains("already registered"), "{e}");
    let r = view(&mut chain, old, &Old::recordCall { commitment: c }).unwrap();
    assert_ne!(r.device, device, "the record names the wrong device");

    // (b) The genuine signature, front-run and then revoked by the stranger.
    let (old, _) = deploy_old(&mut chain);
    chain.set_signer(stranger.clone());
    transact(&mut chain, old, &genuine, U256::ZERO).unwrap();
    let revoke = Old::revokeCall {
        commitment: c,
        reason: "mine".into(),
    };
    transact(&mut chain, old, &revoke, U256::ZERO).unwrap();
    let r = view(&mut chain, old, &Old::recordCall { commitment: c }).unwrap();
    assert_ne!(r.revokedAt, 0, "the stranger revoked the device's original");

    // (c) A public edit, registered first by the stranger and revoked by it.
    chain.set_signer(dev_signer(0).unwrap());
    let (old, _) = deploy_old(&mut chain);
    old_prepare(&mut chain, old, &f, &f.edited);
    transact(&mut chain, old, &genuine, U256::ZERO).unwrap();
    chain.set_signer(stranger.clone());
    let edit = Old::registerEditCall {
        parent: c,
        steps: old_steps(&f.edited),
    };
    transact(&mut chain, old, &edit, U256::ZERO).unwrap();
    let revoke = Old::revokeCall {
        commitment: child,
        reason: "mine".into(),
    };
    transact(&mut chain, old, &revoke, U256::ZERO).unwrap();
    let r = view(&mut chain, old, &Old::recordCall { commitment: child }).unwrap();
    assert_ne!(r.revokedAt, 0, "the stranger revoked someone's edit");

    // Revocation did not propagate: the original revoked, its edit still valid
    // and an edit on that edit still registered.
    chain.set_signer(dev_signer(0).unwrap());
    let (old, _) = deploy_old(&mut chain);
    old_prepare(&mut chain, old, &f, &f.edited);
    transact(&mut chain, old, &genuine, U256::ZERO).unwrap();
    let edit = Old::registerEditCall {
        parent: c,
        steps: old_steps(&f.edited),
    };
    transact(&mut chain, old, &edit, U256::ZERO).unwrap();
    let e2 = second_edit(&f);
    old_prepare(&mut chain, old, &f, &e2);
    let revoke = Old::revokeCall {
        commitment: c,
        reason: "stolen".into(),
    };
    transact(&mut chain, old, &revoke, U256::ZERO).unwrap();
    let r = view(&mut chain, old, &Old::recordCall { commitment: child }).unwrap();
    assert_eq!(
        r.revokedAt, 0,
        "the edit of a revoked original showed valid"
    );
    let on_top = Old::registerEditCall {
        parent: child,
        steps: old_steps(&e2),
    };
    transact(&mut chain, old, &on_top, U256::ZERO).unwrap();

    // A genuine verifier of another key with the same arity was pinned.
    let a = mpegs_testkit::chain::table_example(&[1, 2, 3, 250], 3);
    let b = mpegs_testkit::chain::table_example(&[1, 2, 3, 4, 5], 3);
    let (old, _) = deploy_old(&mut chain);
    let code = verifier::compiled(std::slice::from_ref(&b.vk), KeyOrigin::Store).unwrap();
    let (vb, _) = chain.deploy(code[0].creation.clone()).unwrap();
    let key_a = verifier::vk_hash_word(&mpegs_zk::backend::vk_hash(&a.vk)).unwrap();
    let call = Old::setVerifierCall {
        vkHash: key_a,
        verifier: vb,
        inputs: U256::from(a.vk.statement_inputs()),
    };
    transact(&mut chain, old, &call, U256::ZERO).unwrap();
}

/// vflip of the fixture's edit (e1 → e2), proven with the fixture's key store.
fn second_edit(f: &EditFixture) -> Bundle {
    use mpegs_provenance::prove::{Prover, Quiet};
    let info = mpegs_media::FrameInfo::new(mpegs_media::PixelFormat::Rgb24, 16, 8);
    let frame = mpegs_media::Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 37 % 253) as u8).collect(),
    )
    .unwrap();
    let first = Prover {
        store: &f.store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(11),
    };
    let (flipped, e1) = first
        .edit(
            &frame,
            f.attested.clone(),
            &mpegs_media::Seed([11; 32]),
            &mpegs_filters::parse_filtergraph("hflip").unwrap(),
        )
        .unwrap();
    assert_eq!(e1.media.commitment, f.edited.media.commitment);
    let seed = e1.media.seed.unwrap();
    let second = Prover {
        store: &f.store,
        progress: &Quiet,
        entropy: &mpegs_testkit::Seeded(12),
    };
    second
        .edit(
            &flipped,
            e1,
            &seed,
            &mpegs_filters::parse_filtergraph("vflip").unwrap(),
        )
        .unwrap()
        .1
}

/// Gas of every operation this round changed, previous registry and this one, in
/// one run on the same inputs (an hflip edit: one step, one tile proof).
#[test]
fn gas_of_the_changed_operations_against_the_previous_registry() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(0).unwrap());
    let f = edit_fixture(dir.path(), "hflip");
    let c = word(&f.attested.media.commitment);
    let child = word(&f.edited.media.commitment);
    let device: Address = f.device.parse().unwrap();

    // Previous.
    let (old, old_deploy) = deploy_old(&mut chain);
    let old_pin = old_prepare(&mut chain, old, &f, &f.edited);
    let genuine = old_original(&f.attested, signature(&f.attested));
    let old_original_gas = transact(&mut chain, old, &genuine, U256::ZERO)
        .unwrap()
        .gas_used;
    let edit = Old::registerEditCall {
        parent: c,
        steps: old_steps(&f.edited),
    };
    let old_edit = transact(&mut chain, old, &edit, U256::ZERO)
        .unwrap()
        .gas_used;
    let anchored = B256::from(U256::from(77));
    let old_anchor = transact(
        &mut chain,
        old,
        &Old::anchorCall {
            commitment: anchored,
            parent: c,
            bundleHash: B256::repeat_byte(1),
        },
        U256::ZERO,
    )
    .unwrap()
    .gas_used;
    let deadline = chain.timestamp().unwrap() + 600;
    // The previous registry let only the registrant revoke an edit directly.
    let old_revoke = transact(
        &mut chain,
        old,
        &Old::revokeCall {
            commitment: child,
            reason: "r".into(),
        },
        U256::ZERO,
    )
    .unwrap()
    .gas_used;
    let digest_o = registry::revoke_digest(chain.chain_id(), old, c, "r", U256::ZERO, deadline);
    let old_by_sig = transact(
        &mut chain,
        old,
        &Old::revokeBySignatureCall {
            commitment: c,
            reason: "r".into(),
            deadline,
            signature: f.key.sign_digest(&digest_o.0).unwrap().into(),
        },
        U256::ZERO,
    )
    .unwrap()
    .gas_used;

    // Now.
    let mut d = deploy(&mut chain).unwrap();
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    let pin = d.verifiers.values().next().unwrap().pin_gas;
    let new_anchor = transact(
        &mut chain,
        d.registry,
        &mpegs_chain::abi::MediaRegistry::anchorCall {
            commitment: anchored,
            parent: c,
            parentDevice: device,
            bundleHash: B256::repeat_byte(1),
        },
        U256::ZERO,
    )
    .unwrap()
    .gas_used;
    // Same order as above for the first signature (the device's nonce 0 -> 1).
    let new_revoke_original =
        registry::revoke_by_device(&mut chain, &d, c, "r", deadline, &f.key).unwrap();
    let new_revoke_edit =
        registry::revoke_by_device(&mut chain, &d, child, "r", deadline, &f.key).unwrap();
    let r = registry::record(&mut chain, &d, child, device).unwrap();
    assert_eq!(r.revokedVia, child);
    let proofs = done[1].proofs;
    let edit_row = format!("registerEdit, 1 step (hflip, 16x8), {proofs} tile proofs");
    let rows = [
        ("deploy MediaRegistry", old_deploy, d.registry_deploy_gas),
        ("registerOriginal", old_original_gas, done[0].gas_used),
        (edit_row.as_str(), old_edit, done[1].gas_used),
        ("setVerifier (hflip verifier, n = 6)", old_pin, pin),
        ("anchor (verified parent)", old_anchor, new_anchor),
        (
            "revokeBySignature, an original (the device's first nonce)",
            old_by_sig,
            new_revoke_original,
        ),
        (
            "revoke an edit (previous: its registrant, `revoke`; now: only its device, `revokeBySignature`, second nonce)",
            old_revoke,
            new_revoke_edit,
        ),
    ];
    println!("| operation | previous registry | this round | change |");
    println!("|---|---|---|---|");
    for (name, before, after) in rows {
        println!(
            "| {name} | {before} | {after} | {:+} |",
            after as i64 - before as i64
        );
        assert!(before > 0 && after > 0);
    }
}
