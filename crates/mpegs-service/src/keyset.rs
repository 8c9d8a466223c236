//! The key set `GET /v1/keys` serves: every verifying key of the server's store,
//! `{"version": 1, "keys": [{id, vk_hash, description, vk}]}` with `vk` the
//! compressed verifying key in `0x` hex — what the browser's verifier
//! (crates/mpegs-wasm) takes as its trusted keys.

use crate::ServiceError;
use mpegs_zk::backend::vk_to_bytes;
use mpegs_zk::keys::KeyStore;
use serde::Serialize;

/// Version of the key set format.
pub const KEY_SET_VERSION: u32 = 1;

#[derive(Serialize)]
pub struct KeySet {
    pub version: u32,
    pub keys: Vec<Key>,
}

#[derive(Serialize)]
pub struct Key {
    pub id: String,
    pub vk_hash: String,
    pub description: serde_json::Value,
    pub vk: String,
}

/// The key set of `store`, sorted by id.
pub fn of_store(store: &KeyStore) -> Result<KeySet, ServiceError> {
    let mut keys = vec![];
    for entry in store.list()? {
        let Some(vk) = store.verifying_key(&entry.id)? else {
            continue;
        };
        keys.push(Key {
            vk: format!("0x{}", hex::encode(vk_to_bytes(&vk))),
            id: entry.id,
            vk_hash: entry.vk_hash,
            description: entry.description,
        });
    }
    Ok(KeySet {
        version: KEY_SET_VERSION,
        keys,
    })
}
