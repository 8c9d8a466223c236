//! Writes the Stylus verifier's embedded keys (`crates/mpegs-stylus/src/vk/`).
//!
//! - `cargo run --release -p mpegs-chain --example gen-stylus-vk` regenerates the
//!   committed modules from the fixed-seed example keys (tests only: their seed is
//!   public): the storage-inclusion shapes and the two-challenge table circuit of
//!   `mpegs_testkit::chain::table_example`; `crates/mpegs-stylus/tests/native.rs`
//!   checks that they match.
//! - `… --example gen-stylus-vk -- --deploy CIRCUIT_ID [--keys DIR]` writes
//!   `vk/deploy.rs` from the verifying key of `CIRCUIT_ID` in your key store
//!   (`$MPEGS_HOME/keys` by default), the module a contract to deploy embeds
//!   (feature `vk-deploy`, docs/stylus.md). It refuses the fixed-seed keys.

use anyhow::{bail, Context, Result};
use mpegs_chain::stylus_vk::{module_name, rust_source};
use mpegs_testkit::chain::{circuit_id, keys, table_example, SHAPES};
use mpegs_zk::keys::KeyStore;
use std::path::{Path, PathBuf};

fn vk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../mpegs-stylus/src/vk")
}

/// Bytes of the committed two-challenge test key's table circuit (its id is
/// `testkit-table-8`; the key depends only on the length).
const TABLE_BYTES: usize = 8;

/// The committed test modules, from the fixed seeds.
fn write_test_keys(dir: &Path) -> Result<()> {
    let mut keys: Vec<_> = SHAPES
        .iter()
        .map(|shape| (circuit_id(*shape), keys(*shape).1))
        .collect();
    let table = table_example(&[0; TABLE_BYTES], 0);
    keys.push((table.id, table.vk));
    for (id, vk) in keys {
        let path = dir.join(format!("{}.rs", module_name(&id)));
        mpegs_media::write_atomic(&path, rust_source(&id, &vk).as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// `vk/deploy.rs` from the key store's verifying key of `id`.
fn write_deploy_key(dir: &Path, id: &str, store: &KeyStore) -> Result<()> {
    let vk = store.verifying_key(id)?.with_context(|| {
        format!(
            "no verifying key for {id} in {} (`mpegs keys list` shows what is there)",
            store.dir().display()
        )
    })?;
    let forgeable = SHAPES
        .iter()
        .any(|s| circuit_id(*s) == id && keys(*s).1 == vk);
    if forgeable {
        bail!(
            "{id} in {} is the fixed-seed test key: anyone can forge its proofs; generate your own",
            store.dir().display()
        );
    }
    let path = dir.join("deploy.rs");
    mpegs_media::write_atomic(&path, rust_source(id, &vk).as_bytes())?;
    let hash = mpegs_zk::backend::vk_hash(&vk);
    println!("wrote {} ({id}, key {hash})", path.display());
    println!(
        "pin the deployed contract with MediaRegistry.setVerifier({}, address)",
        mpegs_chain::verifier::vk_hash_word(&hash)?
    );
    Ok(())
}

fn main() -> Result<()> {
    let dir = vk_dir();
    std::fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => write_test_keys(&dir),
        [flag, id] if flag == "--deploy" => {
            write_deploy_key(&dir, id, &KeyStore::default_location()?)
        }
        [flag, id, keys_flag, keys] if flag == "--deploy" && keys_flag == "--keys" => {
            if !Path::new(keys).is_dir() {
                bail!("--keys {keys}: no such folder");
            }
            write_deploy_key(&dir, id, &KeyStore::open(keys)?)
        }
        _ => bail!("usage: gen-stylus-vk [--deploy CIRCUIT_ID [--keys DIR]]"),
    }
}
