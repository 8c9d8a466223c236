//! Embedded verifying keys, one module per circuit, generated from our keys by
//! `cargo run --release -p mpegs-chain --example gen-stylus-vk` (never hand-edited).
//! Every key is compiled (native tests check all of them); a cargo feature picks the
//! one the contract verifies against.

#[rustfmt::skip]
pub mod storage_inclusion_k2_d3_v1;
#[rustfmt::skip]
pub mod storage_inclusion_k4_d9_v1;

#[cfg(feature = "vk-storage-k4-d9")]
pub use storage_inclusion_k4_d9_v1 as selected;

#[cfg(not(feature = "vk-storage-k4-d9"))]
pub use storage_inclusion_k2_d3_v1 as selected;
