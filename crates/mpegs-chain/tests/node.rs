//! The same flows on a real local node: Hardhat 2 (`contracts/node_modules`,
//! installed by scripts/test.sh with `npm ci --prefix contracts`), started here on
//! a free port and stopped when the test ends. Also checks that the committed
//! contract artifacts are what solc makes of the sources.

mod common;

use mpegs_chain::accounts::{dev_signer, DEV_KEYS};
use mpegs_chain::rpc::Rpc;
use mpegs_chain::Chain;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

/// A Hardhat node, killed on drop.
struct Node {
    child: Child,
    url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_node() -> Node {
    let hardhat = contracts_dir().join("node_modules/.bin/hardhat");
    assert!(
        hardhat.exists(),
        "Hardhat is not installed: run `npm ci --prefix contracts` (scripts/test.sh does)"
    );
    let port = free_port();
    let child = Command::new(hardhat)
        .args([
            "node",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .current_dir(contracts_dir())
        .env("HARDHAT_DISABLE_TELEMETRY_PROMPT", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hardhat node");
    let node = Node {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    while Instant::now() < deadline {
        if Rpc::connect(&node.url, dev_signer(0).unwrap()).is_ok() {
            return node;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("hardhat node did not answer on {} within 90 s", node.url);
}

#[test]
fn registry_and_a_storage_deal_on_a_hardhat_node() {
    let node = start_node();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Rpc::connect(&node.url, dev_signer(0).unwrap()).unwrap();
    assert_eq!(chain.chain_id(), 31337);

    let (mut deployment, _) = common::registry_flow(&mut chain, dir.path());
    common::storage_flow(&mut chain, &mut deployment, &dir.path().join("storage"));
}

/// Issue 26: a front-run original (flipped v, then the genuine signature) on a
/// real node: blocks nothing, gives no power, revocation propagates.
#[test]
fn front_running_an_original_on_a_hardhat_node_gains_nothing() {
    let node = start_node();
    let dir = tempfile::tempdir().unwrap();
    let mut chain = Rpc::connect(&node.url, dev_signer(0).unwrap()).unwrap();
    common::front_run_flow(&mut chain, dir.path());
}

#[test]
fn development_keys_are_the_nodes_funded_accounts() {
    let node = start_node();
    for n in 0..DEV_KEYS.len() {
        let mut chain = Rpc::connect(&node.url, dev_signer(n).unwrap()).unwrap();
        let who = chain.sender();
        let ether = alloy_primitives::U256::from(common::ETHER);
        // A fresh Hardhat node funds exactly its default accounts with 10,000 ether.
        assert_eq!(
            chain.balance(who).unwrap(),
            ether * alloy_primitives::U256::from(10_000),
            "account {n}"
        );
    }
}

#[test]
fn committed_artifacts_match_the_solidity_sources() {
    let out = Command::new("node")
        .arg(contracts_dir().join("compile.mjs"))
        .arg("--check")
        .output()
        .expect("node must be installed (scripts/test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
