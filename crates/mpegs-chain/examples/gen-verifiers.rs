//! Regenerates the example verifiers in `contracts/verifiers/` from the fixed-seed
//! example keys: `cargo run --release -p mpegs-chain --example gen-verifiers`.
//! `tests/verifier.rs` checks that the committed files match the keys. They are
//! generated as test-key verifiers (`KeyOrigin::Test`): a `WARNING: TEST KEY`
//! header and `isTestKey()` true, which the tooling refuses off development chains.

use mpegs_testkit::chain::{circuit_id, keys, SHAPES};
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/verifiers");
    std::fs::create_dir_all(&dir)?;
    for shape in SHAPES {
        let (_, vk) = keys(shape);
        let path = dir.join(format!("{}.sol", circuit_id(shape)));
        mpegs_media::write_atomic(
            &path,
            mpegs_chain::verifier::solidity_with(&vk, mpegs_chain::verifier::KeyOrigin::Test)?
                .as_bytes(),
        )?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
