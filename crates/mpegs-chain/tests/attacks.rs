//! Hostile clients, workers and bystanders against the committed contract bytecode
//! on the embedded EVM (revm). Each test names the attack the previous contracts
//! allowed and checks the refusal (or the fair outcome) now.

mod common;

use alloy_primitives::{Address, B256, U256};
use common::{offer, open_deal, revert, storage_fixture, StorageFixture, ETHER};
use mpegs_chain::abi::{MediaRegistry, StorageEscrow};
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::{transact, view};
use mpegs_chain::deployment::{deploy, Deployment};
use mpegs_chain::embedded::Embedded;
use mpegs_chain::escrow::{self, Offer, Revealed, Settlement};
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::Chain;
use mpegs_provenance::attest::DeviceKey;
use mpegs_storage::epoch::{Challenge, Public, Secret};
use std::collections::HashMap;
use std::path::Path;

const CLIENT: usize = 0;
const WORKER: usize = 1;
const STRANGER: usize = 2;

fn as_account(chain: &mut Embedded, n: usize) -> Address {
    chain.set_signer(dev_signer(n).unwrap());
    chain.sender()
}

fn worker() -> Address {
    dev_signer(WORKER).unwrap().address()
}

struct Market {
    chain: Embedded,
    d: Deployment,
    f: StorageFixture,
    /// Each deal's challenge file, bound to it.
    secrets: HashMap<U256, Secret>,
}

/// The dev account with this address.
fn signer_of(who: Address) -> alloy::signers::local::PrivateKeySigner {
    (0..10)
        .map(|n| dev_signer(n).unwrap())
        .find(|s| s.address() == who)
        .expect("a dev account")
}

/// A deployed registry and escrow and a registered segment (3 epochs, k = 2).
fn market(dir: &Path) -> Market {
    let mut chain = Embedded::in_memory(dev_signer(CLIENT).unwrap());
    let d = deploy(&mut chain).unwrap();
    Market {
        chain,
        d,
        f: storage_fixture(dir),
        secrets: HashMap::new(),
    }
}

impl Market {
    /// Opens a deal the offer's worker signed, with its own bound challenges.
    fn open(&mut self, offer: &Offer) -> U256 {
        let (id, secret, _) = open_deal(
            &mut self.chain,
            &mut self.d,
            &self.f,
            &dev_signer(CLIENT).unwrap(),
            &signer_of(offer.worker),
            offer,
            false,
        )
        .unwrap();
        self.secrets.insert(id, secret);
        id
    }

    /// Deal `id`'s challenges.
    fn challenges(&self, id: U256) -> Vec<Challenge> {
        self.secrets[&id].challenges.clone()
    }

    fn open_accepted(&mut self) -> U256 {
        let id = self.open(&offer(worker()));
        as_account(&mut self.chain, WORKER);
        escrow::accept(&mut self.chain, &self.d, &self.f.store, id).unwrap();
        id
    }

    fn reveal(&mut self, id: U256, c: &Challenge) -> Result<Revealed, mpegs_chain::ChainError> {
        as_account(&mut self.chain, CLIENT);
        escrow::reveal(&mut self.chain, &self.d, id, c)
    }

    fn prove_and_submit(&mut self, id: U256, epoch: u32) -> Result<u64, mpegs_chain::ChainError> {
        as_account(&mut self.chain, WORKER);
        let proof = escrow::prove_epoch(
            &mut self.chain,
            &self.d,
            &self.f.store,
            id,
            epoch,
            &self.f.segment,
        )
        .unwrap();
        escrow::submit(&mut self.chain, &self.d, id, &proof)
    }

    /// Sends `open` with raw terms (to try what the Rust side would refuse).
    fn open_raw(
        &mut self,
        terms: StorageEscrow::Terms,
        n: usize,
    ) -> Result<u64, mpegs_chain::ChainError> {
        let client = as_account(&mut self.chain, CLIENT);
        let commitments = vec![B256::repeat_byte(7); n];
        let value = terms.paymentPerEpoch * U256::from(n);
        let nonce = escrow::fresh_nonce();
        // The worker signs exactly these terms (when the digest can be computed:
        // malformed terms are refused before the signature is checked).
        let digest = view(
            &mut self.chain,
            self.d.escrow,
            &StorageEscrow::offerDigestCall {
                client,
                terms: terms.clone(),
                commitments: commitments.clone(),
                nonce,
            },
        )
        .unwrap_or_default();
        let signature = {
            use alloy::signers::SignerSync;
            let sig = signer_of(terms.worker)
                .sign_hash_sync(&digest)
                .map(|s| s.as_bytes().to_vec())
                .unwrap_or_default();
            sig.into()
        };
        let call = StorageEscrow::openCall {
            terms,
            commitments,
            nonce,
            signature,
        };
        transact(&mut self.chain, self.d.escrow, &call, value).map(|r| r.gas_used)
    }

    /// The terms of the fixture's segment with the pinned storage key.
    fn good_terms(&mut self) -> StorageEscrow::Terms {
        // Opening once pins the verifier and gives us the key hash.
        let id = self.open(&offer(worker()));
        escrow::deal(&mut self.chain, &self.d, id).unwrap().terms
    }
}

// ------------------------------------------------------------------ StorageEscrow

/// Attack 1: a reveal in the last second of its window used to leave the worker 0 s,
/// so `settle` refunded the client for an honest epoch. Now the proof window starts
/// at the reveal; a reveal after its window is refused and the epoch pays the worker.
#[test]
fn a_late_reveal_still_leaves_the_worker_its_proof_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let id = m.open_accepted();
    let challenges = m.challenges(id);

    // Epoch 0 revealed 599 s into its 600 s window; the worker proves 590 s later.
    m.chain.advance_time(595).unwrap();
    let Revealed::Open { proof_deadline, .. } = m.reveal(id, &challenges[0]).unwrap() else {
        panic!("a well-formed challenge opens")
    };
    let now = m.chain.timestamp().unwrap();
    assert_eq!(
        proof_deadline,
        now + 600,
        "the proof window starts at the reveal"
    );
    m.chain.advance_time(580).unwrap();
    m.prove_and_submit(id, 0).unwrap();

    // Epoch 1: the client tries to reveal after its window closed: refused, and the
    // epoch settles in the worker's favour.
    m.chain.advance_time(3600).unwrap();
    let reason = revert(m.reveal(id, &challenges[1]));
    assert!(reason.contains("reveal window closed"), "{reason}");
    let settled = escrow::settle(&mut m.chain, &m.d, id, 1).unwrap();
    assert_eq!(
        settled,
        Settlement::PaidWorker(U256::from(ETHER + ETHER / 2))
    );

    // Epoch 2 cannot be revealed before its window opens, nor settled while it is open.
    let reason = revert(m.reveal(id, &challenges[2]));
    assert!(reason.contains("not open yet"), "{reason}");
    m.chain.advance_time(2500).unwrap();
    let reason = revert(escrow::settle(&mut m.chain, &m.d, id, 2));
    assert!(reason.contains("reveal window still open"), "{reason}");
}

/// A challenge committed so that no proof can meet it.
fn malformed(c: &Challenge, how: &str, public: &Public) -> Challenge {
    let mut c = c.clone();
    match how {
        "index" => c.indices[0] = public.segment.frames + 5,
        "root" => c.root = format!("0x{}", "ff".repeat(32)),
        "region" => c.region.x = public.segment.width,
        _ => unreachable!(),
    }
    c
}

/// Attack 2: a client commits challenges no proof can meet. The parameters are
/// checked at open (k and depth against the frames, the verifier's input count), and
/// a challenge that turns out malformed at reveal pays the worker.
#[test]
fn unprovable_challenges_are_refused_at_open_or_pay_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let good = m.good_terms();

    let cases: Vec<(&str, StorageEscrow::Terms)> = vec![
        (
            "the verifier does not take k + 2 inputs",
            StorageEscrow::Terms {
                k: 3,
                ..good.clone()
            },
        ),
        (
            "depth must be ceil(log2(frames))",
            StorageEscrow::Terms {
                depth: good.depth + 1,
                ..good.clone()
            },
        ),
        (
            "k must be between 1",
            StorageEscrow::Terms {
                k: good.frames + 1,
                ..good.clone()
            },
        ),
        (
            "k must be between 1",
            StorageEscrow::Terms {
                k: 0,
                ..good.clone()
            },
        ),
        (
            "no verifier registered",
            StorageEscrow::Terms {
                vkHash: B256::repeat_byte(1),
                ..good.clone()
            },
        ),
    ];
    for (reason, terms) in cases {
        let got = revert(m.open_raw(terms, good.epochs as usize));
        assert!(got.contains(reason), "{reason}: {got}");
    }

    // Commit malformed challenges (bound to the deal), each opening its own commitment.
    let mut public = m.f.public.clone();
    let mut secret = m.f.secret.clone();
    as_account(&mut m.chain, CLIENT);
    let mut proposal = escrow::propose(
        &mut m.chain,
        &mut m.d,
        &m.f.store,
        &mut secret,
        &mut public,
        &offer(worker()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    for (e, how) in ["index", "root", "region"].iter().enumerate() {
        secret.challenges[e] = malformed(&secret.challenges[e], how, &public);
        proposal.commitments[e] = word32(&secret.challenges[e].commitment());
    }
    let signature = escrow::sign_digest(&proposal, &dev_signer(WORKER).unwrap()).unwrap();
    let (id, _) = escrow::open(&mut m.chain, &m.d, &proposal, &signature).unwrap();
    as_account(&mut m.chain, WORKER);
    escrow::accept(&mut m.chain, &m.d, &m.f.store, id).unwrap();
    for e in 0..3u32 {
        let revealed = m.reveal(id, &secret.challenges[e as usize]).unwrap();
        assert!(
            matches!(revealed, Revealed::Malformed { paid, .. } if paid == U256::from(ETHER + ETHER / 2)),
            "epoch {e}: {revealed:?}"
        );
        m.chain.advance_time(3600).unwrap();
    }
    let status = escrow::status(&mut m.chain, &m.d, id).unwrap();
    assert_eq!(status.worker_owed, U256::from(3 * (ETHER + ETHER / 2)));
}

/// Attack 3: anyone could take any deal. Now only the named worker accepts, with the
/// exact collateral, before the offer expires; the client can cancel an unaccepted
/// offer, never an accepted deal; a missed epoch forfeits the collateral.
#[test]
fn only_the_named_worker_takes_a_deal_and_it_posts_collateral() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let id = m.open(&offer(worker()));
    let collateral = U256::from(3 * ETHER / 2);
    let accept = |chain: &mut Embedded, d: &Deployment, value| {
        transact(chain, d.escrow, &StorageEscrow::acceptCall { id }, value)
    };

    as_account(&mut m.chain, STRANGER);
    let reason = revert(accept(&mut m.chain, &m.d, collateral));
    assert!(reason.contains("only the deal's named worker"), "{reason}");
    as_account(&mut m.chain, CLIENT);
    let reason = revert(accept(&mut m.chain, &m.d, collateral));
    assert!(reason.contains("only the deal's named worker"), "{reason}");
    as_account(&mut m.chain, WORKER);
    let reason = revert(accept(&mut m.chain, &m.d, collateral - U256::from(1)));
    assert!(reason.contains("collateral must be"), "{reason}");

    // A client cannot name itself as the worker.
    let client = dev_signer(CLIENT).unwrap().address();
    let terms = StorageEscrow::Terms {
        worker: client,
        ..m.good_terms()
    };
    let reason = revert(m.open_raw(terms, 3));
    assert!(
        reason.contains("name a worker other than the client"),
        "{reason}"
    );

    // An offer nobody accepted: the stranger cannot cancel it, the client can.
    as_account(&mut m.chain, STRANGER);
    let reason = revert(escrow::cancel(&mut m.chain, &m.d, id));
    assert!(reason.contains("only the deal's client"), "{reason}");
    as_account(&mut m.chain, CLIENT);
    escrow::cancel(&mut m.chain, &m.d, id).unwrap();
    assert_eq!(
        escrow::owed(&mut m.chain, &m.d, client).unwrap(),
        U256::from(3 * ETHER)
    );
    as_account(&mut m.chain, WORKER);
    let reason = revert(accept(&mut m.chain, &m.d, collateral));
    assert!(reason.contains("not an open offer"), "{reason}");

    // An offer past its acceptance deadline.
    let id = m.open(&Offer {
        accept_within: 60,
        ..offer(worker())
    });
    m.chain.advance_time(120).unwrap();
    as_account(&mut m.chain, WORKER);
    let reason = revert(escrow::accept(&mut m.chain, &m.d, &m.f.store, id));
    assert!(reason.contains("offer expired"), "{reason}");

    // An accepted deal cannot be cancelled.
    let id = m.open_accepted();
    as_account(&mut m.chain, CLIENT);
    let reason = revert(escrow::cancel(&mut m.chain, &m.d, id));
    assert!(reason.contains("not an open offer"), "{reason}");
}

/// Attack 4: two deals opened from one challenge file had identical public inputs, so
/// worker B could copy worker A's proof. The nonce now binds chain id, escrow, deal,
/// epoch and worker; the contract's nonce is the one the Rust side computes.
#[test]
fn a_proof_for_one_deal_fails_for_another_deal_or_escrow() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let third = dev_signer(3).unwrap().address();
    let deal_a = m.open_accepted();
    let deal_b = m.open(&offer(third));
    as_account(&mut m.chain, 3);
    escrow::accept(&mut m.chain, &m.d, &m.f.store, deal_b).unwrap();
    // Both deals challenge the same region and frames (one registration bound
    // twice: what the tool refuses, done here to isolate the nonce).
    let c0 = m.challenges(deal_a)[0].clone();
    m.reveal(deal_a, &c0).unwrap();
    let c0_b = m.challenges(deal_b)[0].clone();
    assert_eq!((c0.region, &c0.indices), (c0_b.region, &c0_b.indices));
    m.reveal(deal_b, &c0_b).unwrap();

    // The escrow's nonce is DealContext::nonce.
    let ctx = escrow::deal_context(&mut m.chain, &m.d, deal_a).unwrap();
    let on_chain = view(
        &mut m.chain,
        m.d.escrow,
        &StorageEscrow::nonceOfCall {
            id: deal_a,
            epoch: 0,
        },
    )
    .unwrap();
    let commitment: [u8; 32] = hex::decode(c0.commitment()).unwrap().try_into().unwrap();
    assert_eq!(
        mpegs_chain::verifier::fr_word(&ctx.nonce(0, &commitment)),
        on_chain
    );

    as_account(&mut m.chain, WORKER);
    let proof_a =
        escrow::prove_epoch(&mut m.chain, &m.d, &m.f.store, deal_a, 0, &m.f.segment).unwrap();
    // Worker B (account 3) sends A's proof words for its own deal: the inputs differ.
    as_account(&mut m.chain, 3);
    let reason = revert(escrow::submit_words(
        &mut m.chain,
        &m.d,
        deal_b,
        0,
        &proof_a,
    ));
    assert!(reason.contains("proof does not verify"), "{reason}");
    // The Rust side refuses it before sending.
    match escrow::submit(&mut m.chain, &m.d, deal_b, &proof_a) {
        Err(mpegs_chain::ChainError::Input(e)) => assert!(e.contains("not bound to deal"), "{e}"),
        other => panic!("a proof for deal A was sent for deal B: {other:?}"),
    }

    // Another escrow on the same chain with the same deal id and worker.
    as_account(&mut m.chain, CLIENT);
    let mut other = deploy(&mut m.chain).unwrap();
    let (id, secret_other, _) = open_deal(
        &mut m.chain,
        &mut other,
        &m.f,
        &dev_signer(CLIENT).unwrap(),
        &dev_signer(WORKER).unwrap(),
        &offer(worker()),
        false,
    )
    .unwrap();
    assert_eq!(id, deal_a, "same deal id on both escrows");
    as_account(&mut m.chain, WORKER);
    escrow::accept(&mut m.chain, &other, &m.f.store, id).unwrap();
    as_account(&mut m.chain, CLIENT);
    escrow::reveal(&mut m.chain, &other, id, &secret_other.challenges[0]).unwrap();
    as_account(&mut m.chain, WORKER);
    let reason = revert(escrow::submit_words(&mut m.chain, &other, id, 0, &proof_a));
    assert!(reason.contains("proof does not verify"), "{reason}");
    // The honest proof for A still pays on its own deal.
    escrow::submit(&mut m.chain, &m.d, deal_a, &proof_a).unwrap();
}

/// Init code that deploys `runtime` as a contract's code.
fn init_code(runtime: &[u8]) -> Vec<u8> {
    let n = runtime.len() as u8;
    let mut code = vec![
        0x60, n, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, n, 0x60, 0x00, 0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

/// Contracts that "verify" anything: a permissive fallback (empty success), one that
/// returns false, one that returns true.
fn fake_verifiers(chain: &mut Embedded) -> Vec<(&'static str, Address)> {
    let runtimes: [(&str, &[u8]); 3] = [
        ("permissive fallback", &[0x00]),
        ("returns false", &[0x60, 0x20, 0x60, 0x00, 0xf3]),
        (
            "returns true",
            &[0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3],
        ),
    ];
    runtimes
        .iter()
        .map(|(name, runtime)| (*name, chain.deploy(init_code(runtime)).unwrap().0))
        .collect()
}

/// Attack 5 and "did not revert counts as valid": a verifier that returns false or a
/// contract with a permissive fallback accepted every proof. Pins now require an
/// answer of the exact verifier shape and are write-once, and a deal keeps the
/// verifier it was opened with.
#[test]
fn pins_are_write_once_and_only_real_verifiers_are_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let terms = m.good_terms();
    let pinned = registry_verifier(&mut m.chain, &m.d, terms.vkHash);
    assert_ne!(pinned, Address::ZERO);
    let deal = escrow::deal(&mut m.chain, &m.d, U256::from(1)).unwrap();
    assert_eq!(deal.verifier, pinned, "the deal fixed the verifier at open");

    as_account(&mut m.chain, CLIENT);
    let inputs = U256::from(terms.k + 2);
    for (name, fake) in fake_verifiers(&mut m.chain) {
        for key in [terms.vkHash, B256::repeat_byte(9)] {
            let call = MediaRegistry::setVerifierCall {
                vkHash: key,
                verifier: fake,
                inputs,
            };
            let reason = revert(transact(&mut m.chain, m.d.registry, &call, U256::ZERO));
            // Under another key, a fake fails the key check (`vkHash()`) before the
            // probe (registry_attacks.rs has a fake that names its key and fails the probe).
            let expected = if key == terms.vkHash {
                "verifier already pinned"
            } else {
                "does not name this key"
            };
            assert!(reason.contains(expected), "{name}: {reason}");
        }
    }
    // The real verifier, pinned under a second key, is refused too: it names its own.
    let call = MediaRegistry::setVerifierCall {
        vkHash: B256::repeat_byte(9),
        verifier: pinned,
        inputs: inputs + U256::from(1),
    };
    let reason = revert(transact(&mut m.chain, m.d.registry, &call, U256::ZERO));
    assert!(reason.contains("does not name this key"), "{reason}");
    // A stranger cannot pin at all.
    as_account(&mut m.chain, STRANGER);
    let call = MediaRegistry::setVerifierCall {
        vkHash: B256::repeat_byte(9),
        verifier: pinned,
        inputs,
    };
    let reason = revert(transact(&mut m.chain, m.d.registry, &call, U256::ZERO));
    assert!(reason.contains("not the registry owner"), "{reason}");
}

fn registry_verifier(chain: &mut Embedded, d: &Deployment, key: B256) -> Address {
    mpegs_chain::deployment::registered_verifier(chain, d, key).unwrap()
}

/// Attack 6: huge epochSeconds saturated every deadline (funds stuck for ever), and
/// unbounded epochs made deals that never end. Every bound is checked at open.
#[test]
fn deal_terms_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let good = m.good_terms();
    let year = 365 * 86_400;
    let now = m.chain.timestamp().unwrap();
    let cases: Vec<(&str, StorageEscrow::Terms)> = vec![
        (
            "epochSeconds out of range",
            StorageEscrow::Terms {
                epochSeconds: u64::MAX,
                ..good.clone()
            },
        ),
        (
            "epochSeconds out of range",
            StorageEscrow::Terms {
                epochSeconds: 0,
                ..good.clone()
            },
        ),
        (
            "epochSeconds out of range",
            StorageEscrow::Terms {
                epochSeconds: year + 1,
                ..good.clone()
            },
        ),
        (
            "revealWindow must be within an epoch",
            StorageEscrow::Terms {
                revealWindow: 0,
                ..good.clone()
            },
        ),
        (
            "revealWindow must be within an epoch",
            StorageEscrow::Terms {
                revealWindow: 3601,
                ..good.clone()
            },
        ),
        (
            "proofWindow must be between",
            StorageEscrow::Terms {
                proofWindow: 599,
                ..good.clone()
            },
        ),
        (
            "proofWindow must be between",
            StorageEscrow::Terms {
                proofWindow: u64::MAX,
                ..good.clone()
            },
        ),
        (
            "acceptBy out of range",
            StorageEscrow::Terms {
                acceptBy: now + 31 * 86_400,
                ..good.clone()
            },
        ),
        (
            "acceptBy out of range",
            StorageEscrow::Terms {
                acceptBy: now - 1,
                ..good.clone()
            },
        ),
        (
            "frames out of range",
            StorageEscrow::Terms {
                frames: (1 << 20) + 1,
                depth: 21,
                ..good.clone()
            },
        ),
        (
            "epochs must equal",
            StorageEscrow::Terms {
                epochs: 2,
                ..good.clone()
            },
        ),
    ];
    for (reason, terms) in cases {
        let got = revert(m.open_raw(terms, good.epochs as usize));
        assert!(got.contains(reason), "{reason}: {got}");
    }
    let got = revert(m.open_raw(
        StorageEscrow::Terms {
            epochs: 1025,
            ..good.clone()
        },
        1025,
    ));
    assert!(got.contains("MAX_EPOCHS"), "{got}");
    // A deposit that is not paymentPerEpoch × epochs.
    as_account(&mut m.chain, CLIENT);
    let call = StorageEscrow::openCall {
        terms: good.clone(),
        commitments: vec![B256::ZERO; 3],
        nonce: U256::ZERO,
        signature: Default::default(),
    };
    let reason = revert(transact(
        &mut m.chain,
        m.d.escrow,
        &call,
        good.paymentPerEpoch * U256::from(3) + U256::from(3),
    ));
    assert!(
        reason.contains("paymentPerEpoch times the epochs"),
        "{reason}"
    );
    // The longest legal deal still has finite windows.
    let ok = m.open_raw(
        StorageEscrow::Terms {
            epochSeconds: year,
            revealWindow: year,
            proofWindow: year,
            ..good
        },
        3,
    );
    assert!(ok.is_ok(), "{ok:?}");
}

/// Payouts are credited, not pushed: settling never transfers, so no receiver can
/// block it, and only the owed account can withdraw its balance.
#[test]
fn payouts_wait_for_withdrawal() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = market(dir.path());
    let id = m.open_accepted();
    let worker_addr = worker();
    m.chain.advance_time(601).unwrap();
    let before = m.chain.balance(worker_addr).unwrap();
    as_account(&mut m.chain, STRANGER);
    let settled = escrow::settle(&mut m.chain, &m.d, id, 0).unwrap();
    assert_eq!(
        settled,
        Settlement::PaidWorker(U256::from(ETHER + ETHER / 2))
    );
    assert_eq!(
        m.chain.balance(worker_addr).unwrap(),
        before,
        "nothing pushed"
    );
    let reason = revert(escrow::withdraw(&mut m.chain, &m.d));
    assert!(reason.contains("nothing to withdraw"), "{reason}");
    as_account(&mut m.chain, WORKER);
    let (amount, _) = escrow::withdraw(&mut m.chain, &m.d).unwrap();
    assert_eq!(amount, U256::from(ETHER + ETHER / 2));
    assert_eq!(m.chain.balance(worker_addr).unwrap(), before + amount);
}

/// A 64-hex-digit commitment as a word.
fn word32(hex: &str) -> B256 {
    B256::from_slice(&hex::decode(hex).unwrap())
}

// ------------------------------------------------------------------ MediaRegistry

/// A bundle's commitment as the registry's key.
fn word(hex: &str) -> B256 {
    let fr = mpegs_media::poseidon::fr_from_hex(hex).unwrap();
    B256::from(mpegs_chain::verifier::fr_word(&fr))
}

/// Attack: a stranger anchors a commitment before its genuine registration. The
/// anchor used to claim the parent's device and block `registerOriginal`; now it
/// names no device, is the stranger's own claim, and blocks nobody.
#[test]
fn anchors_cannot_squat_a_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(CLIENT).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = common::edit_fixture(dir.path(), "hflip");
    let original =
        registry::register(&mut chain, &mut d, &f.store, &f.attested, Mode::Auto).unwrap();
    let parent = original[0].commitment;

    // A second capture, not yet registered, and the edit of the first.
    let key = DeviceKey::generate();
    let frame = mpegs_media::Frame::new(
        mpegs_media::FrameInfo::new(mpegs_media::PixelFormat::Rgb24, 8, 8),
        vec![3; 8 * 8 * 3],
    )
    .unwrap();
    let second = mpegs_provenance::prove::attest(
        &frame,
        &key,
        8,
        &mpegs_media::Seed([5; 32]),
        "cam-2",
        1_760_000_000,
    )
    .unwrap();
    let second_c = word(&second.media.commitment);
    let edit_c = word(&f.edited.media.commitment);

    let first_device: Address = f.device.parse().unwrap();
    let stranger = as_account(&mut chain, STRANGER);
    for target in [second_c, edit_c] {
        let call = MediaRegistry::anchorCall {
            commitment: target,
            parent,
            parentDevice: first_device,
            bundleHash: B256::repeat_byte(0xbb),
        };
        transact(&mut chain, d.registry, &call, U256::ZERO).unwrap();
        let status = registry::status(&mut chain, &d, target, None, stranger).unwrap();
        assert_eq!(status[0].kind, "anchored");
        assert_eq!(status[0].device, None, "an anchor claims no device");
        assert_eq!(status[0].registrant, stranger);
    }

    // The genuine registrations go through and name the right devices.
    let me = as_account(&mut chain, CLIENT);
    let done = registry::register(&mut chain, &mut d, &f.store, &second, Mode::Auto).unwrap();
    assert_eq!(done[0].outcome, "original");
    let second_device: Address = key.address().parse().unwrap();
    let record = registry::record(&mut chain, &d, second_c, second_device).unwrap();
    assert_eq!(format!("{:#x}", record.device), key.address());
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    assert_eq!(done.last().unwrap().outcome, "edit");
    let status = registry::status(&mut chain, &d, edit_c, Some(first_device), me).unwrap();
    assert_eq!(status[0].kind, "edit");
    assert_eq!(
        format!("{:#x}", status[0].device.unwrap()),
        f.device.to_lowercase()
    );

    // Our own anchor of a commitment the stranger anchored is not blocked either.
    let call = MediaRegistry::anchorCall {
        commitment: second_c,
        parent,
        parentDevice: first_device,
        bundleHash: B256::repeat_byte(0xcc),
    };
    transact(&mut chain, d.registry, &call, U256::ZERO).unwrap();
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(
        reason.contains("already anchored by this account"),
        "{reason}"
    );
    // An anchor needs a parent that is verified or anchored by the same account.
    as_account(&mut chain, 3);
    for parent_device in [Address::ZERO, first_device] {
        let call = MediaRegistry::anchorCall {
            commitment: B256::repeat_byte(1),
            parent: B256::repeat_byte(2),
            parentDevice: parent_device,
            bundleHash: B256::ZERO,
        };
        let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
        assert!(reason.contains("parent is not registered"), "{reason}");
    }
}

/// Ownership moves in two steps: a mistyped address never takes over the registry.
#[test]
fn ownership_moves_in_two_steps() {
    let mut chain = Embedded::in_memory(dev_signer(CLIENT).unwrap());
    let d = deploy(&mut chain).unwrap();
    let owner =
        |chain: &mut Embedded| view(chain, d.registry, &MediaRegistry::ownerCall {}).unwrap();
    let next = dev_signer(WORKER).unwrap().address();
    transact(
        &mut chain,
        d.registry,
        &MediaRegistry::transferOwnershipCall { newOwner: next },
        U256::ZERO,
    )
    .unwrap();
    assert_eq!(owner(&mut chain), d.owner, "nothing changes until accepted");
    as_account(&mut chain, STRANGER);
    let reason = revert(transact(
        &mut chain,
        d.registry,
        &MediaRegistry::acceptOwnershipCall {},
        U256::ZERO,
    ));
    assert!(reason.contains("not the pending owner"), "{reason}");
    as_account(&mut chain, WORKER);
    transact(
        &mut chain,
        d.registry,
        &MediaRegistry::acceptOwnershipCall {},
        U256::ZERO,
    )
    .unwrap();
    assert_eq!(owner(&mut chain), next);
    as_account(&mut chain, CLIENT);
    let call = MediaRegistry::approveStepCall {
        stepHash: B256::ZERO,
    };
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(reason.contains("not the registry owner"), "{reason}");
}

/// Revocation: only by the device (here by a signature bound to chain, registry,
/// nonce and deadline), visible in the status, and no edit builds on a revoked
/// record; strangers and registrants, replays, expired or foreign-chain
/// signatures are refused.
#[test]
fn records_are_revoked_only_by_who_is_entitled() {
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Embedded::in_memory(dev_signer(CLIENT).unwrap());
    let mut d = deploy(&mut chain).unwrap();
    let f = common::edit_fixture(dir.path(), "hflip");
    let device: Address = f.device.parse().unwrap();
    let done = registry::register(&mut chain, &mut d, &f.store, &f.edited, Mode::Auto).unwrap();
    let (original, edit) = (done[0].commitment, done[1].commitment);

    // A second original of the same device, registered by a stranger.
    let frame = mpegs_media::Frame::new(
        mpegs_media::FrameInfo::new(mpegs_media::PixelFormat::Rgb24, 8, 8),
        vec![9; 8 * 8 * 3],
    )
    .unwrap();
    let second = mpegs_provenance::prove::attest(
        &frame,
        &f.key,
        8,
        &mpegs_media::Seed([6; 32]),
        "cam",
        1_760_000_001,
    )
    .unwrap();
    as_account(&mut chain, STRANGER);
    let second_c = registry::register(&mut chain, &mut d, &f.store, &second, Mode::Auto).unwrap()
        [0]
    .commitment;

    // Neither a stranger nor the registrants (CLIENT registered the edit, STRANGER
    // the second original) can revoke: only the device.
    for (who, target) in [
        (3, edit),
        (CLIENT, edit),
        (CLIENT, original),
        (STRANGER, second_c),
    ] {
        as_account(&mut chain, who);
        let reason = revert(registry::revoke(&mut chain, &d, target, "mine"));
        assert!(
            reason.contains("no record of this commitment by this device"),
            "{reason}"
        );
    }

    // The device revokes the edit and both originals by signature, relayed by
    // account 3; a signature for the second original is made now, with nonce 0, and kept.
    as_account(&mut chain, 3);
    let far = chain.timestamp().unwrap() + 3600;
    let nonce0 = registry::revoke_digest(
        chain.chain_id(),
        d.registry,
        second_c,
        "key leaked",
        U256::ZERO,
        far,
    );
    let kept = f.key.sign_digest(&nonce0.0).unwrap();
    let on_chain = view(
        &mut chain,
        d.registry,
        &MediaRegistry::revokeDigestCall {
            commitment: second_c,
            reason: "key leaked".into(),
            nonce: U256::ZERO,
            deadline: far,
        },
    )
    .unwrap();
    assert_eq!(on_chain, nonce0, "the Rust digest is the contract's");
    // Signed for another chain: refused.
    let foreign = registry::revoke_digest(1, d.registry, original, "key leaked", U256::ZERO, far);
    let call = MediaRegistry::revokeBySignatureCall {
        commitment: original,
        device,
        reason: "key leaked".into(),
        deadline: far,
        signature: f.key.sign_digest(&foreign.0).unwrap().into(),
    };
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(reason.contains("not the record's device"), "{reason}");
    // Expired.
    let past = chain.timestamp().unwrap() - 1;
    let reason = revert(registry::revoke_by_device(
        &mut chain,
        &d,
        original,
        "key leaked",
        past,
        &f.key,
    ));
    assert!(reason.contains("expired"), "{reason}");
    // Valid: the edit first (nonce 0), which shows revoked while its original does not.
    registry::revoke_by_device(&mut chain, &d, edit, "wrong crop", far, &f.key).unwrap();
    let reason = revert(registry::revoke_by_device(
        &mut chain, &d, edit, "again", far, &f.key,
    ));
    assert!(reason.contains("already revoked"), "{reason}");
    let me = chain.sender();
    let status = registry::status(&mut chain, &d, edit, Some(device), me).unwrap();
    assert!(status[0].revoked_at.is_some());
    assert!(status[1].revoked_at.is_none());
    // The kept nonce-0 signature for the second original is now stale.
    let call = MediaRegistry::revokeBySignatureCall {
        commitment: second_c,
        device,
        reason: "key leaked".into(),
        deadline: far,
        signature: kept.into(),
    };
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(reason.contains("not the record's device"), "{reason}");
    registry::revoke_by_device(&mut chain, &d, second_c, "key leaked", far, &f.key).unwrap();
    assert!(
        registry::record(&mut chain, &d, second_c, device)
            .unwrap()
            .revokedAt
            != 0
    );
    registry::revoke_by_device(&mut chain, &d, original, "key leaked", far, &f.key).unwrap();

    // Nothing builds on a revoked original.
    let edit_step = registry::step_call(&f.edited.edit.as_ref().unwrap().steps[0]).unwrap();
    let call = MediaRegistry::registerEditCall {
        parent: original,
        device,
        steps: vec![edit_step],
    };
    let reason = revert(transact(&mut chain, d.registry, &call, U256::ZERO));
    assert!(reason.contains("parent is revoked"), "{reason}");
}
