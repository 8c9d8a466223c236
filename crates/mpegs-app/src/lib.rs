//! mpegs-app: the application layer (design.md §9, docs/app.md).
//!
//! Front ends (the `mpegs` CLI, the HTTP service, the browser) are thin: they
//! parse their input, call one use case here and present its typed outcome.
//! Everything between — where the configuration comes from, which key store is
//! trusted, and the policies that keep a history honest — lives here, once:
//!
//! - an edit only ever extends a history that verifies ([`edit::edit`]);
//! - nothing goes on-chain ([`chain::register`]) or into a C2PA manifest
//!   ([`c2pa::sign`]) that does not verify here first;
//! - a transcode proof is judged against the videos the verifier names
//!   ([`transcode::verify`]);
//! - development chain accounts are refused on real networks
//!   ([`chain::Session::open`]).
//!
//! Each use case returns a `serde::Serialize` outcome, so every front end can
//! print (or send) the same JSON.

pub mod attest;
pub mod c2pa;
pub mod chain;
pub mod config;
pub mod edit;
pub mod error;
pub mod graph;
pub mod input;
pub mod keys;
pub mod progress;
pub mod storage;
pub mod transcode;
pub mod verify;

#[cfg(test)]
mod testing;

pub use config::{ChainSettings, Config, DEFAULT_TILE};
pub use error::AppError;
