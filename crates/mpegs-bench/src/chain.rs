//! `mpegs-bench chain`: the gas numbers in BENCHMARKS.md, measured by executing the
//! real compiled contracts in revm (Cancun rules, as on a node):
//!
//! - gas per Groth16 verification for each circuit family, next to the EIP-1108
//!   floor of what the construction needs (5 pairings = 215,000; 6,150 per public
//!   input and per derived challenge; 12,300 for the proof-of-knowledge terms ρ·P
//!   and ρ·D and the addition of D) plus the transaction's base and calldata cost,
//!   and next to plain Groth16's floor and published verifiers;
//! - deployment gas of every contract;
//! - gas of each registry and escrow operation.
//!
//! Every proof is real: a small edit, the storage epoch circuit and a transcode
//! proof over generated clips.

use crate::storage::{ffmpeg, testsrc2};
use anyhow::{Context, Result};
use ark_bn254::Fr;
use clap::Args;
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::alloy_primitives::{keccak256, Bytes, U256};
use mpegs_chain::deployment::deploy;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::registry::{self, Mode};
use mpegs_chain::verifier::{bytecodes, input_words, proof_words};
use mpegs_chain::{escrow, Chain};
use mpegs_filters::parse_filtergraph;
use mpegs_media::{Frame, FrameInfo, PixelFormat};
use mpegs_provenance::attest::DeviceKey;
use mpegs_provenance::prove::{attest, Prover, Quiet};
use mpegs_testkit::chain as fixtures;
use mpegs_zk::backend::{Groth16Proof, Vk};
use mpegs_zk::keys::KeyStore;
use std::path::Path;

#[derive(Args)]
pub struct ChainBench {
    /// Samples of the transcode proof (public inputs: 3 + samples). 32 takes about
    /// a minute for key generation and proving.
    #[arg(long, default_value_t = 32)]
    transcode_samples: u32,
}

/// One circuit's verifier, measured.
struct Measured {
    circuit: String,
    inputs: usize,
    challenges: usize,
    deploy_gas: u64,
    tx_gas: u64,
    calldata_gas: u64,
}

/// EIP-2028 calldata price: 16 gas per non-zero byte, 4 per zero byte.
fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

fn verify_calldata(proof: &Groth16Proof, inputs: &[Fr]) -> Bytes {
    let signature = format!("verifyProof(uint256[12],uint256[{}])", inputs.len());
    let mut data = keccak256(signature.as_bytes())[..4].to_vec();
    for word in proof_words(proof).iter().chain(&input_words(inputs)) {
        data.extend_from_slice(&word.to_be_bytes::<32>());
    }
    data.into()
}

/// Deploys each verifier and sends one verifying transaction.
fn measure(
    chain: &mut Embedded,
    cases: Vec<(String, Vk, Groth16Proof, Vec<Fr>)>,
) -> Result<Vec<Measured>> {
    let codes = bytecodes(&cases.iter().map(|c| c.1.clone()).collect::<Vec<_>>())?;
    let mut out = vec![];
    for ((circuit, vk, proof, inputs), code) in cases.into_iter().zip(codes) {
        let (verifier, deployed) = chain.deploy(code)?;
        let data = verify_calldata(&proof, &inputs);
        let calldata = calldata_gas(&data);
        let receipt = chain
            .send(Some(verifier), data, U256::ZERO)
            .with_context(|| format!("{circuit}: the proof did not verify on-chain"))?;
        out.push(Measured {
            circuit,
            inputs: inputs.len(),
            challenges: vk.challenges as usize,
            deploy_gas: deployed.gas_used,
            tx_gas: receipt.gas_used,
            calldata_gas: calldata,
        });
    }
    Ok(out)
}

/// A 16×8 RGB picture edited with `vf` (tile 8), with real proofs.
fn edit_bundle(store: &KeyStore, vf: &str) -> Result<mpegs_provenance::Bundle> {
    let info = FrameInfo::new(PixelFormat::Rgb24, 16, 8);
    let frame = Frame::new(
        info,
        (0..info.byte_len()).map(|i| (i * 41 % 251) as u8).collect(),
    )?;
    let seed = mpegs_media::Seed::random();
    let attested = attest(
        &frame,
        &DeviceKey::generate(),
        8,
        &seed,
        "bench",
        1_760_000_000,
    )?;
    let prover = Prover {
        store,
        progress: &Quiet,
        entropy: &mpegs_provenance::prove::OsEntropy,
    };
    Ok(prover
        .edit(&frame, attested, &seed, &parse_filtergraph(vf)?)?
        .1)
}

/// The first tile proof of the bundle's last step, as a verifier case.
fn edit_case(
    store: &KeyStore,
    bundle: &mpegs_provenance::Bundle,
) -> Result<(String, Vk, Groth16Proof, Vec<Fr>)> {
    let step = bundle
        .edit
        .as_ref()
        .context("an edit")?
        .steps
        .last()
        .context("a step")?;
    let tile = &step.tiles[0];
    let vk = store
        .verifying_key(&tile.circuit)?
        .context("the tile's key")?;
    let proof =
        mpegs_zk::backend::proof_from_bytes(&hex::decode(tile.proof.trim_start_matches("0x"))?)?;
    let inputs = tile
        .public_inputs
        .iter()
        .map(|h| mpegs_media::poseidon::fr_from_hex(h).map_err(anyhow::Error::msg))
        .collect::<Result<Vec<_>>>()?;
    Ok((
        format!(
            "edit tile: {}",
            step.filter.split('=').next().unwrap_or("?")
        ),
        vk,
        proof,
        inputs,
    ))
}

fn transcode_case(
    dir: &Path,
    store: &KeyStore,
    samples: u32,
) -> Result<(String, Vk, Groth16Proof, Vec<Fr>)> {
    let (src, ren) = (dir.join("source.mp4"), dir.join("rendition.mp4"));
    testsrc2(160, 96, 1, "medium", &src)?;
    ffmpeg(&[
        "-i",
        &src.to_string_lossy(),
        "-c:v",
        "libx264",
        "-b:v",
        "2M",
        &ren.to_string_lossy(),
    ])?;
    let options = mpegs_transcode::proof::Options {
        threshold: 0.5,
        samples,
        beacon: Some("00".into()),
        seeds: mpegs_transcode::proof::VideoSeeds::random(),
    };
    let outcome = mpegs_transcode::proof::prove(&src, &ren, &options, store, &Quiet)?;
    let p = &outcome.proof;
    let vk = store
        .verifying_key(&p.circuit)?
        .context("the transcode key")?;
    let proof =
        mpegs_zk::backend::proof_from_bytes(&hex::decode(p.proof.trim_start_matches("0x"))?)?;
    let inputs = mpegs_transcode::proof::public_inputs(p).map_err(anyhow::Error::msg)?;
    Ok((format!("transcode k={samples}"), vk, proof, inputs))
}

pub fn run(args: ChainBench) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let store = KeyStore::open(dir.path().join("keys"))?;
    let mut chain = Embedded::in_memory(dev_signer(0)?);

    eprintln!("proving: a small edit, the storage epoch circuit, a transcode proof …");
    let crop = edit_bundle(&store, "crop=8:8:4:0")?;
    let hflip = edit_bundle(&store, "hflip")?;
    let storage = fixtures::example(fixtures::SHAPES[1], 9);
    let mut cases = vec![
        edit_case(&store, &crop)?,
        edit_case(&store, &hflip)?,
        (
            format!("storage {}", storage.id),
            storage.vk,
            storage.proof,
            storage.inputs,
        ),
    ];
    cases.push(transcode_case(dir.path(), &store, args.transcode_samples)?);
    eprintln!(
        "compiling {} verifiers with solc and executing them in revm …",
        cases.len()
    );
    let measured = measure(&mut chain, cases)?;

    println!("## Gas per verification (revm, Cancun; one transaction calling `verifyProof`)\n");
    println!("| circuit | public inputs | tx gas | of which calldata | floor + 21,000 + calldata | over floor | challenges | plain Groth16 floor (4 pairings, 8 proof words) | snarkjs estimate | verifier deploy gas |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for m in &measured {
        let n = m.inputs as u64;
        let c = m.challenges as u64;
        // 5 pairings; an ECMUL + ECADD per input and per challenge; ρ·P + D
        // (ECMUL + 2 ECADD) and ρ·D (ECMUL).
        let floor = 215_000 + 6_150 * (n + c) + 12_300 + 21_000 + m.calldata_gas;
        // The same statement as a plain Groth16 proof: 4 words less calldata
        // (counted at the non-zero price).
        let plain_calldata = m.calldata_gas.saturating_sub(4 * 32 * 16);
        let plain = 181_000 + 6_150 * n + 21_000 + plain_calldata;
        let snarkjs = 207_000 + 7_000 * n + 21_000 + plain_calldata;
        println!(
            "| {} | {} | {} | {} | {} | {:+.1}% | {} | {} | {} | {} |",
            m.circuit,
            n,
            m.tx_gas,
            m.calldata_gas,
            floor,
            (m.tx_gas as f64 / floor as f64 - 1.0) * 100.0,
            c,
            plain,
            snarkjs,
            m.deploy_gas
        );
    }

    // Registry and escrow operations.
    let mut deployment = deploy(&mut chain)?;
    let done = registry::register(&mut chain, &mut deployment, &store, &crop, Mode::Auto)?;
    println!("\n## Contract operations\n");
    println!("| operation | gas |");
    println!("|---|---|");
    println!(
        "| deploy MediaRegistry | {} |",
        deployment.registry_deploy_gas
    );
    println!(
        "| deploy StorageEscrow | {} |",
        deployment.escrow_deploy_gas
    );
    println!(
        "| registerOriginal (EIP-712 + ecrecover) | {} |",
        done[0].gas_used
    );
    println!(
        "| registerEdit, 1 step, {} tile proof(s) | {} |",
        done[1].proofs, done[1].gas_used
    );
    let anchored = registry::register(&mut chain, &mut deployment, &store, &hflip, Mode::Anchor)?;
    println!(
        "| anchor (bundle hash only) | {} |",
        anchored.last().context("anchored")?.gas_used
    );
    storage_deal(&mut chain, &mut deployment, &store, dir.path())?;
    Ok(())
}

/// One epoch of a deal on a generated segment, k = 4.
fn storage_deal(
    chain: &mut Embedded,
    deployment: &mut mpegs_chain::deployment::Deployment,
    store: &KeyStore,
    dir: &Path,
) -> Result<()> {
    let segment = dir.join("segment.mp4");
    testsrc2(160, 96, 1, "medium", &segment)?;
    let (mut secret, mut public) = mpegs_storage::epoch::register(&segment, 2, 4)?;
    let ether = U256::from(1_000_000_000_000_000_000u128);
    let worker = dev_signer(1)?;
    let offer = escrow::Offer {
        worker: worker.address(),
        epoch_seconds: 3600,
        reveal_window: 600,
        proof_window: 600,
        accept_within: escrow::DEFAULT_ACCEPT_WITHIN,
        deposit: ether * U256::from(2),
        collateral_per_epoch: ether / U256::from(2),
    };
    let proposal = escrow::propose(
        chain,
        deployment,
        store,
        &mut secret,
        &mut public,
        &offer,
        escrow::fresh_nonce(),
    )?;
    chain.set_signer(worker.clone());
    let (signature, _) =
        escrow::sign_offer(chain, deployment, store, &proposal, &segment, &worker)?;
    chain.set_signer(dev_signer(0)?);
    let (id, open_gas) = escrow::open(chain, deployment, &proposal, &signature)?;
    chain.set_signer(worker.clone());
    let accept_gas = escrow::accept(chain, deployment, store, id)?;
    chain.set_signer(dev_signer(0)?);
    let reveal_gas = match escrow::reveal(chain, deployment, id, &secret.challenges[0])? {
        escrow::Revealed::Open { gas, .. } => gas,
        other => anyhow::bail!("the benchmark's challenge was malformed: {other:?}"),
    };
    mpegs_storage::epoch::reveal(&secret, &mut public, 0)?;
    chain.set_signer(worker.clone());
    let proof = escrow::prove_epoch(chain, deployment, store, id, 0, &segment)?;
    let submit_gas = escrow::submit(chain, deployment, id, &proof)?;
    chain.advance_time(3600)?;
    chain.set_signer(dev_signer(0)?);
    escrow::reveal(chain, deployment, id, &secret.challenges[1])?;
    chain.advance_time(601)?;
    let settle = chain.send(
        Some(deployment.escrow),
        registry::encode(&mpegs_chain::abi::StorageEscrow::settleCall { id, epoch: 1 }),
        U256::ZERO,
    )?;
    chain.set_signer(worker);
    let exit = escrow::exit(chain, deployment, id, 1)?;
    let (_, withdraw_gas) = escrow::withdraw(chain, deployment)?;
    let storage_circuit = mpegs_storage::epoch::circuit_id(public.k, public.depth);
    if let Some(v) = deployment.verifiers.get(&storage_circuit) {
        println!(
            "| setVerifier (probes the verifier, then pins it) | {} |",
            v.pin_gas
        );
    }
    println!("| StorageEscrow.open, 2 epochs (checks terms and the worker's EIP-712 offer signature, probes the verifier) | {open_gas} |");
    println!("| accept (posts collateral) | {accept_gas} |");
    println!("| reveal (sha256 check, k = 4) | {reveal_gas} |");
    println!("| submit (Groth16 verify + credit) | {submit_gas} |");
    println!(
        "| settle (refund of a missed epoch, collateral burned) | {} |",
        settle.gas_used
    );
    println!(
        "| exit (worker ends the deal after an unproven reveal) | {} |",
        exit.gas
    );
    println!("| withdraw | {withdraw_gas} |");
    Ok(())
}
