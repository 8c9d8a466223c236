//! Regenerates the Stylus verifier's embedded keys in `crates/mpegs-stylus/src/vk/`
//! from the fixed-seed example keys:
//! `cargo run --release -p mpegs-chain --example gen-stylus-vk`.
//! `crates/mpegs-stylus/tests/native.rs` checks that the committed files match.

use mpegs_chain::fixtures::{circuit_id, keys, SHAPES};
use mpegs_chain::stylus_vk::{module_name, rust_source};
use std::path::Path;

fn main() -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../mpegs-stylus/src/vk");
    std::fs::create_dir_all(&dir)?;
    for shape in SHAPES {
        let (_, vk) = keys(shape);
        let id = circuit_id(shape);
        let path = dir.join(format!("{}.rs", module_name(&id)));
        mpegs_media::write_atomic(&path, rust_source(&id, &vk).as_bytes())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
