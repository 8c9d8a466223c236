//! Cost of one verification by the built Stylus contracts, estimated without a Nitro
//! node, next to the generated Solidity verifier's measured gas:
//! `./scripts/build-stylus.sh && cargo run --release -p mpegs-stylus --example cost`.
//!
//! For each contract it runs a valid proof in wasmi (the host of tests/wasm_host.rs)
//! twice: as built (wasmi fuel) and with a Stylus-style ink meter inserted
//! (`pricing_v1` opcode prices per basic block, as Nitro meters). Estimated gas =
//! (opcode ink + host I/O ink, `native_keccak256` included) / 10,000 + precompile
//! gas (EIP-1108) + 100 gas warm access per static call. Not counted: Stylus's per-call program entry cost
//! and memory-page pricing, which only a Nitro node applies. The Solidity
//! verifier's execution gas is measured in revm (Cancun), transaction base and
//! calldata excluded (both routes pay those alike).

#[path = "../tests/host/mod.rs"]
mod host;

use alloy_primitives::{Bytes, U256};
use host::meter::{hostio_ink, instrument};
use mpegs_chain::accounts::dev_signer;
use mpegs_chain::embedded::Embedded;
use mpegs_chain::verifier::{bytecodes, input_words, proof_words};
use mpegs_chain::Chain;
use mpegs_testkit::chain::{example, table_example, SHAPES};
use mpegs_zk::backend::Vk;

const INK_PER_GAS: u64 = 10_000;

fn calldata_gas(data: &[u8]) -> u64 {
    data.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum()
}

/// Execution gas of the generated Solidity verifier for the same calldata, or why not.
fn solidity_gas(vks: &[Vk], data: &[Vec<u8>]) -> Result<Vec<u64>, String> {
    let codes = bytecodes(vks).map_err(|e| e.to_string())?;
    let mut chain = Embedded::in_memory(dev_signer(0).map_err(|e| e.to_string())?);
    let mut out = vec![];
    for (code, data) in codes.into_iter().zip(data) {
        let (verifier, _) = chain.deploy(code).map_err(|e| e.to_string())?;
        let receipt = chain
            .send(Some(verifier), Bytes::from(data.clone()), U256::ZERO)
            .map_err(|e| e.to_string())?;
        out.push(receipt.gas_used - 21_000 - calldata_gas(data));
    }
    Ok(out)
}

fn main() {
    let mut rows = vec![];
    let mut calldatas = vec![];
    let mut vks = vec![];
    // The storage examples (one challenge) with both variants; the two-challenge
    // table key is built with precompiles only.
    let mut examples: Vec<_> = SHAPES
        .iter()
        .map(|shape| (example(*shape, 3), &["", "_pairing-wasm"][..]))
        .collect();
    examples.push((table_example(&[3, 1, 4, 1, 5, 9, 2, 6], 3), &[""][..]));
    for (i, (ex, variants)) in examples.into_iter().enumerate() {
        let data = host::calldata(&proof_words(&ex.proof), &input_words(&ex.inputs));
        for variant in variants {
            let name = format!("{}{variant}", ex.id);
            let wasm = host::load(&name);
            let plain = host::run(&wasm, &data).expect("runs");
            assert_eq!(plain.status, 0, "{name}: the valid proof was refused");
            let metered = host::run(&instrument(&wasm).expect("meterable"), &data).expect("runs");
            assert_eq!(metered.status, 0, "{name}: metered run refused the proof");
            let reading = metered.metered.expect("meter globals");
            let hostio: u64 = metered.calls.iter().map(hostio_ink).sum();
            let keccak: u64 = metered
                .calls
                .iter()
                .filter(|c| matches!(c, host::HostCall::Keccak(_)))
                .map(hostio_ink)
                .sum();
            let calls = metered.static_calls() as u64;
            let precompile = metered.precompile_gas();
            let total = (reading.ink + hostio).div_ceil(INK_PER_GAS) + precompile + 100 * calls;
            rows.push((
                name,
                ex.inputs.len(),
                wasm.len(),
                plain.fuel,
                reading,
                hostio,
                keccak,
                calls,
                precompile,
                total,
                i,
            ));
        }
        calldatas.push(data);
        vks.push(ex.vk);
    }
    let solidity = solidity_gas(&vks, &calldatas);

    println!("Stylus verifier cost per verification (estimate; no Nitro node):");
    println!(
        "{:<42} {:>3} {:>8} {:>11} {:>11} {:>14} {:>10} {:>10} {:>6} {:>10} {:>10} {:>10}",
        "contract",
        "n",
        "bytes",
        "wasmi fuel",
        "wasm ops",
        "opcode ink",
        "hostio ink",
        "of keccak",
        "calls",
        "precomp.",
        "est. gas",
        "Solidity"
    );
    for (name, n, bytes, fuel, r, hostio, keccak, calls, precompile, total, i) in &rows {
        let sol = match &solidity {
            Ok(g) => g[*i].to_string(),
            Err(_) => "-".into(),
        };
        println!(
            "{name:<42} {n:>3} {bytes:>8} {fuel:>11} {:>11} {:>14} {hostio:>10} {keccak:>10} {calls:>6} {precompile:>10} {total:>10} {sol:>10}",
            r.ops, r.ink
        );
    }
    if let Err(e) = &solidity {
        println!("(Solidity column unavailable: {e})");
    }
    for (vk, data) in vks.iter().zip(&calldatas) {
        println!(
            "calldata for n = {}: {} bytes, {} gas (paid alike by both routes, with the 21,000)",
            vk.statement_inputs(),
            data.len(),
            calldata_gas(data)
        );
    }
    println!(
        "est. gas = ⌈(opcode ink + hostio ink) / {INK_PER_GAS}⌉ + precompile gas + 100 × calls; \
         Solidity = revm execution gas (tx − 21,000 − calldata)"
    );
}
