//! Gas of every StorageEscrow operation issue 26 changed, measured in one run
//! against the previous round's escrow bytecode (`tests/data/StorageEscrow-previous.json`,
//! `git show 946b105:contracts/artifacts/StorageEscrow.json`) with the same deal
//! (3 epochs, k = 2, the fixture's segment) on the same embedded EVM. Print the
//! table with `cargo test --release -p mpegs-chain --test escrow_gas -- --nocapture`.
//! `submit` is not compared: the proof is bound by its nonce to one escrow's
//! address, and its verification (the bulk of its gas) did not change.

mod common;

use alloy_primitives::{B256, U256};
use alloy_sol_types::SolValue;
use common::{offer, storage_fixture, ETHER};
use mpegs_chain::abi::StorageEscrow;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::chain::transact;
use mpegs_chain::deployment::deploy;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::escrow;
use mpegs_chain::Chain;
use mpegs_storage::epoch::Challenge;

mod previous {
    alloy_sol_types::sol!(
        #[sol(all_derives)]
        PreviousEscrow,
        "tests/data/StorageEscrow-previous.json"
    );
}
use previous::PreviousEscrow;

fn word(h: &str) -> B256 {
    B256::left_padding_from(&hex::decode(h.trim_start_matches("0x")).unwrap())
}

/// The previous round's challenge commitment (no binding word).
fn old_commitment(c: &Challenge) -> B256 {
    use sha2::{Digest, Sha256};
    let w = |v: u32| U256::from(v).to_be_bytes::<32>();
    let mut h = Sha256::new();
    h.update(Sha256::digest(b"mpegs.storage.challenge.v1"));
    for v in [c.epoch, c.region.x, c.region.y, c.region.size] {
        h.update(w(v));
    }
    h.update(word(&c.root));
    h.update(hex::decode(&c.salt).unwrap());
    for i in &c.indices {
        h.update(w(*i));
    }
    B256::from_slice(&h.finalize())
}

#[test]
fn gas_of_the_changed_escrow_operations_against_the_previous_escrow() {
    let dir = tempfile::tempdir().unwrap();
    let f = storage_fixture(dir.path());
    let (client, worker) = (dev_signer(0).unwrap(), dev_signer(1).unwrap());
    let mut chain = Embedded::in_memory(client.clone());
    let mut d = deploy(&mut chain).unwrap();
    let mut rows: Vec<(&str, u64, u64)> = Vec::new();

    // This round: propose, the worker signs (digest only; the pre-signing checks
    // are off-chain), open, accept, reveal 0, settle 0 (unproven: refund + burn),
    // exit from epoch 1, withdraw.
    let (mut secret, mut public) = (f.secret.clone(), f.public.clone());
    let proposal = escrow::propose(
        &mut chain,
        &mut d,
        &f.store,
        &mut secret,
        &mut public,
        &offer(worker.address()),
        escrow::fresh_nonce(),
    )
    .unwrap();
    let signature = escrow::sign_digest(&proposal, &worker).unwrap();
    let (id, open_new) = escrow::open(&mut chain, &d, &proposal, &signature).unwrap();
    chain.set_signer(worker.clone());
    let accept = StorageEscrow::acceptCall { id };
    let accept_new = transact(&mut chain, d.escrow, &accept, U256::from(3 * ETHER / 2))
        .unwrap()
        .gas_used;
    chain.set_signer(client.clone());
    let start = chain.timestamp().unwrap();
    let c = &secret.challenges[0];
    let reveal = StorageEscrow::revealCall {
        id,
        epoch: 0,
        x: c.region.x,
        y: c.region.y,
        size: c.region.size,
        root: word(&c.root),
        salt: word(&c.salt),
        indices: c.indices.clone(),
    };
    let now = chain.timestamp().unwrap();
    if now < start + 1 {
        chain.advance_time(start + 1 - now).unwrap();
    }
    let reveal_new = transact(&mut chain, d.escrow, &reveal, U256::ZERO)
        .unwrap()
        .gas_used;
    chain.advance_time(601).unwrap();
    let settle = StorageEscrow::settleCall { id, epoch: 0 };
    let settle_new = transact(&mut chain, d.escrow, &settle, U256::ZERO)
        .unwrap()
        .gas_used;
    chain.set_signer(worker.clone());
    let exit = StorageEscrow::exitCall { id, epoch: 0 };
    let exit_new = transact(&mut chain, d.escrow, &exit, U256::ZERO)
        .unwrap()
        .gas_used;
    chain.set_signer(client.clone());
    let withdraw_new = transact(
        &mut chain,
        d.escrow,
        &StorageEscrow::withdrawCall {},
        U256::ZERO,
    )
    .unwrap()
    .gas_used;

    // The previous escrow, same registry, same challenges (unbound commitments).
    let mut code = hex::decode(
        serde_json::from_str::<serde_json::Value>(include_str!("data/StorageEscrow-previous.json"))
            .unwrap()["bytecode"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x"),
    )
    .unwrap();
    code.extend_from_slice(&(d.registry, 600u64).abi_encode_params());
    let (old, deployed) = chain.deploy(code).unwrap();
    let terms = previous::StorageEscrow::Terms {
        worker: worker.address(),
        vkHash: proposal.vk_hash,
        k: proposal.k,
        width: proposal.content.width,
        height: proposal.content.height,
        frames: proposal.content.frames,
        depth: proposal.depth,
        epochs: secret.challenges.len() as u32,
        epochSeconds: 3600,
        revealWindow: 600,
        proofWindow: 600,
        acceptBy: chain.timestamp().unwrap() + 3600,
        paymentPerEpoch: U256::from(ETHER),
        collateralPerEpoch: U256::from(ETHER / 2),
    };
    let open = PreviousEscrow::openCall {
        terms,
        commitments: secret.challenges.iter().map(old_commitment).collect(),
    };
    let open_old = transact(&mut chain, old, &open, U256::from(3 * ETHER))
        .unwrap()
        .gas_used;
    chain.set_signer(worker.clone());
    let accept = PreviousEscrow::acceptCall { id: U256::from(1) };
    let accept_old = transact(&mut chain, old, &accept, U256::from(3 * ETHER / 2))
        .unwrap()
        .gas_used;
    chain.set_signer(client.clone());
    let reveal = PreviousEscrow::revealCall {
        id: U256::from(1),
        epoch: 0,
        x: c.region.x,
        y: c.region.y,
        size: c.region.size,
        root: word(&c.root),
        salt: word(&c.salt),
        indices: c.indices.clone(),
    };
    chain.advance_time(1).unwrap();
    let reveal_old = transact(&mut chain, old, &reveal, U256::ZERO)
        .unwrap()
        .gas_used;
    chain.advance_time(601).unwrap();
    let settle = PreviousEscrow::settleCall {
        id: U256::from(1),
        epoch: 0,
    };
    let settle_old = transact(&mut chain, old, &settle, U256::ZERO)
        .unwrap()
        .gas_used;
    let withdraw_old = transact(
        &mut chain,
        old,
        &PreviousEscrow::withdrawCall {},
        U256::ZERO,
    )
    .unwrap()
    .gas_used;

    rows.push((
        "deploy StorageEscrow",
        deployed.gas_used,
        d.escrow_deploy_gas,
    ));
    rows.push((
        "open, 3 epochs (now: EIP-712 offer + ecrecover)",
        open_old,
        open_new,
    ));
    rows.push(("accept (posts collateral)", accept_old, accept_new));
    rows.push((
        "reveal, k = 2 (now: binding word in the sha256)",
        reveal_old,
        reveal_new,
    ));
    rows.push((
        "settle an unproven epoch (now: refund + burn)",
        settle_old,
        settle_new,
    ));
    rows.push(("exit after an unproven reveal (new)", 0, exit_new));
    rows.push(("withdraw (client)", withdraw_old, withdraw_new));
    println!("| operation | previous escrow | this round | change |");
    println!("|---|---|---|---|");
    for (name, a, b) in &rows {
        let change = if *a == 0 {
            "new".to_string()
        } else {
            format!("{:+}", *b as i64 - *a as i64)
        };
        println!("| {name} | {a} | {b} | {change} |");
        assert!(*b > 21_000, "{name}: {b} gas is not a transaction");
    }
}
