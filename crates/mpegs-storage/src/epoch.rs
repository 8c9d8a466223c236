//! Registration, epoch challenges, proofs and their verification.
//!
//! - **register** (client, who has the segment): one secret challenge per epoch — a
//!   random region, the root of that region's pHash tree, `k` random frame indices
//!   and a random salt. The public file carries only `sha256` commitments to them.
//! - **reveal** (client or beacon, at epoch e): challenge e is published; anyone
//!   checks it against its commitment.
//! - **prove** (worker): decode the segment, hash the region in every frame, rebuild
//!   the tree, check its root, open the indices and prove inclusion (one Groth16
//!   proof, public inputs `root, nonce = commitment, indices`).
//! - **verify** (validator): for the epoch the validator asks about (never the one
//!   the proof file names), the revealed challenge matches its commitment and the
//!   proof verifies for exactly that root, nonce and indices.

use crate::circuit::InclusionCircuit;
use crate::phash::{phash, Region};
use crate::tree::SegmentTree;
use crate::video::LumaFrames;
use crate::StorageError;
use ark_bn254::Fr;
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_zk::backend;
use mpegs_zk::keys::KeyStore;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const VERSION: u32 = 1;

/// Domain of the challenge commitment (hashed once into its first word).
pub const CHALLENGE_DOMAIN: &[u8] = b"mpegs.storage.challenge.v1";

/// What every party knows of the segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInfo {
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

/// One epoch's challenge (secret until revealed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    pub epoch: u32,
    pub region: Region,
    pub indices: Vec<u32>,
    /// Root of the region's pHash tree, `0x…`.
    pub root: String,
    /// 32 random bytes, hex: makes the commitment hiding.
    pub salt: String,
}

impl Challenge {
    /// `sha256` of the challenge, hex — what registration publishes.
    ///
    /// The preimage is 32-byte words so that a contract can recompute it with one
    /// `sha256(abi.encodePacked(...))` (StorageEscrow.reveal):
    /// `sha256(CHALLENGE_DOMAIN) ‖ epoch ‖ x ‖ y ‖ size ‖ root ‖ salt ‖ index…`,
    /// integers as big-endian 256-bit words.
    pub fn commitment(&self) -> String {
        hex::encode(Sha256::digest(self.commitment_preimage()))
    }

    fn commitment_preimage(&self) -> Vec<u8> {
        fn word(v: u32) -> [u8; 32] {
            let mut w = [0u8; 32];
            w[28..].copy_from_slice(&v.to_be_bytes());
            w
        }
        let hex32 = |h: &str| -> [u8; 32] {
            let bytes = hex::decode(h.trim_start_matches("0x")).unwrap_or_default();
            let mut w = [0u8; 32];
            let n = bytes.len().min(32);
            w[32 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
            w
        };
        let mut out = Vec::with_capacity(32 * (7 + self.indices.len()));
        out.extend_from_slice(&Sha256::digest(CHALLENGE_DOMAIN));
        for v in [self.epoch, self.region.x, self.region.y, self.region.size] {
            out.extend_from_slice(&word(v));
        }
        out.extend_from_slice(&hex32(&self.root));
        out.extend_from_slice(&hex32(&self.salt));
        for i in &self.indices {
            out.extend_from_slice(&word(*i));
        }
        out
    }

    /// The commitment as the proof's nonce (a field element).
    pub fn nonce(&self) -> Fr {
        use ark_ff::PrimeField;
        Fr::from_be_bytes_mod_order(&hex::decode(self.commitment()).expect("hex"))
    }
}

/// The client's file: every challenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub version: u32,
    pub segment: SegmentInfo,
    pub challenges: Vec<Challenge>,
}

/// The public file: commitments, and the challenges revealed so far.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Public {
    pub version: u32,
    pub segment: SegmentInfo,
    pub k: u32,
    pub depth: u32,
    pub commitments: Vec<String>,
    #[serde(default)]
    pub revealed: Vec<Challenge>,
}

/// A worker's answer to one epoch.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochProof {
    pub version: u32,
    pub epoch: u32,
    pub commitment: String,
    pub circuit: String,
    pub vk_hash: String,
    /// Groth16 proof, `0x` + 128 bytes hex.
    pub proof: String,
}

/// The circuit id for `k` openings in a tree of `depth`.
pub fn circuit_id(k: u32, depth: u32) -> String {
    format!("storage-inclusion-k{k}-d{depth}-v{VERSION}")
}

/// The region side registration picks for a `width × height` segment: the largest
/// multiple of 32 up to half the smaller side (at least 32, at most 512), so regions
/// vary in position.
pub fn region_side(width: u32, height: u32) -> Result<u32, StorageError> {
    let side = (width.min(height) / 2 / 32 * 32).min(crate::phash::MAX_REGION);
    if side < 32 {
        return Err(StorageError::Challenge(format!(
            "a {width}x{height} segment is too small for 32x32 regions"
        )));
    }
    Ok(side)
}

/// Hashes `regions` in every frame of the segment in one decoding pass.
pub fn hash_regions(
    frames: LumaFrames,
    regions: &[Region],
) -> Result<(SegmentInfo, Vec<Vec<u64>>), StorageError> {
    let path = frames.path().to_string();
    let (w, h) = (frames.width, frames.height);
    for r in regions {
        r.validate(w, h)?;
    }
    let mut hashes = vec![Vec::new(); regions.len()];
    for frame in frames {
        let frame = frame?;
        for (r, out) in regions.iter().zip(hashes.iter_mut()) {
            out.push(phash(&frame, w, h, *r)?);
        }
    }
    let frames = hashes.first().map_or(0, Vec::len) as u32;
    if frames == 0 {
        return Err(mpegs_media::MediaError::Decode {
            path,
            reason: "no frames".into(),
        }
        .into());
    }
    Ok((
        SegmentInfo {
            width: w,
            height: h,
            frames,
        },
        hashes,
    ))
}

/// Registration: `epochs` secret challenges of `k` indices each.
pub fn register(
    path: &Path,
    epochs: u32,
    k: u32,
    seed: Option<u64>,
) -> Result<(Secret, Public), StorageError> {
    if epochs == 0 || k == 0 {
        return Err(StorageError::Challenge(
            "epochs and k must be at least 1".into(),
        ));
    }
    let mut rng = match seed {
        Some(s) => rand_chacha::ChaCha20Rng::seed_from_u64(s),
        None => rand_chacha::ChaCha20Rng::from_entropy(),
    };
    let frames = LumaFrames::open(path)?;
    let (width, height) = (frames.width, frames.height);
    let side = region_side(width, height)?;
    let regions: Vec<Region> = (0..epochs)
        .map(|_| Region {
            x: rng.gen_range(0..=width - side),
            y: rng.gen_range(0..=height - side),
            size: side,
        })
        .collect();
    let (segment, hashes) = hash_regions(frames, &regions)?;
    if k > segment.frames {
        return Err(StorageError::Challenge(format!(
            "k = {k} exceeds the segment's {} frames",
            segment.frames
        )));
    }
    let mut challenges = Vec::with_capacity(epochs as usize);
    let mut depth = 0;
    for (e, (region, h)) in regions.into_iter().zip(hashes).enumerate() {
        let tree = SegmentTree::new(h);
        depth = tree.depth() as u32;
        let mut indices = rand::seq::index::sample(&mut rng, segment.frames as usize, k as usize)
            .into_iter()
            .map(|i| i as u32)
            .collect::<Vec<_>>();
        indices.sort_unstable();
        challenges.push(Challenge {
            epoch: e as u32,
            region,
            indices,
            root: fr_to_hex(&tree.root()),
            salt: hex::encode(rng.gen::<[u8; 32]>()),
        });
    }
    let public = Public {
        version: VERSION,
        segment: segment.clone(),
        k,
        depth,
        commitments: challenges.iter().map(Challenge::commitment).collect(),
        revealed: vec![],
    };
    Ok((
        Secret {
            version: VERSION,
            segment,
            challenges,
        },
        public,
    ))
}

/// Publishes epoch `e`'s challenge into `public` (idempotent).
pub fn reveal(secret: &Secret, public: &mut Public, epoch: u32) -> Result<(), StorageError> {
    let c = secret
        .challenges
        .get(epoch as usize)
        .ok_or_else(|| StorageError::Challenge(format!("no epoch {epoch} in the secret file")))?;
    if public.commitments.get(epoch as usize) != Some(&c.commitment()) {
        return Err(StorageError::Challenge(format!(
            "epoch {epoch} of the secret file does not match the public commitments"
        )));
    }
    if !public.revealed.iter().any(|r| r.epoch == epoch) {
        public.revealed.push(c.clone());
        public.revealed.sort_by_key(|r| r.epoch);
    }
    Ok(())
}

/// The revealed challenge of `epoch`, checked against its commitment and shape.
pub fn revealed(public: &Public, epoch: u32) -> Result<&Challenge, StorageError> {
    let c = public
        .revealed
        .iter()
        .find(|c| c.epoch == epoch)
        .ok_or_else(|| StorageError::Challenge(format!("epoch {epoch} has not been revealed")))?;
    let committed = public
        .commitments
        .get(epoch as usize)
        .ok_or_else(|| StorageError::Challenge(format!("epoch {epoch} was never registered")))?;
    if &c.commitment() != committed {
        return Err(StorageError::Challenge(format!(
            "the revealed challenge of epoch {epoch} does not match its registered commitment"
        )));
    }
    let salt_ok = c.salt.len() == 64 && hex::decode(&c.salt).is_ok();
    if !salt_ok || fr_from_hex(&c.root).is_err() {
        return Err(StorageError::Challenge(format!(
            "epoch {epoch}: the revealed root or salt is malformed"
        )));
    }
    let in_range = c.indices.iter().all(|i| *i < public.segment.frames);
    if c.indices.len() != public.k as usize || !in_range {
        return Err(StorageError::Challenge(format!(
            "epoch {epoch}: indices must be {} frames below {}",
            public.k, public.segment.frames
        )));
    }
    c.region
        .validate(public.segment.width, public.segment.height)?;
    Ok(c)
}

/// What the inclusion circuit for (k, depth) is, as stored beside its keys and
/// compared whenever a key is loaded.
pub fn circuit_description(k: u32, depth: u32) -> serde_json::Value {
    serde_json::json!({"circuit": "storage-inclusion", "k": k, "depth": depth, "version": VERSION})
}

/// Ensures the inclusion circuit's keys exist in `store` (generated with OS randomness
/// on first use); returns the circuit id.
pub fn ensure_keys(store: &KeyStore, k: u32, depth: u32) -> Result<String, StorageError> {
    let id = circuit_id(k, depth);
    if !store.has_proving_key(&id) {
        let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
        let (pk, vk) = backend::setup(
            InclusionCircuit::blank(k as usize, depth as usize),
            &mut rng,
        )?;
        store.store(&id, &pk, &vk, &circuit_description(k, depth))?;
    }
    Ok(id)
}

/// The worker's proof for `epoch` from the segment file.
pub fn prove(
    path: &Path,
    public: &Public,
    epoch: u32,
    store: &KeyStore,
) -> Result<EpochProof, StorageError> {
    let c = revealed(public, epoch)?;
    let (segment, mut hashes) = hash_regions(LumaFrames::open(path)?, &[c.region])?;
    if segment != public.segment {
        return Err(StorageError::Mismatch(format!(
            "{}x{} with {} frames, registered {}x{} with {}",
            segment.width,
            segment.height,
            segment.frames,
            public.segment.width,
            public.segment.height,
            public.segment.frames
        )));
    }
    let tree = SegmentTree::new(hashes.remove(0));
    let root = fr_from_hex(&c.root).map_err(StorageError::Challenge)?;
    if tree.root() != root {
        return Err(StorageError::Mismatch(
            "the region's pHash tree has another root (missing or altered frames, or another rendition)".into(),
        ));
    }
    let id = ensure_keys(store, public.k, public.depth)?;
    let pk = store
        .proving_key(&id)?
        .ok_or_else(|| mpegs_zk::ZkError::MissingKey(id.clone()))?;
    let vk = store
        .verifying_key(&id)?
        .ok_or_else(|| mpegs_zk::ZkError::MissingKey(id.clone()))?;
    let circuit = InclusionCircuit {
        root,
        nonce: c.nonce(),
        depth: public.depth as usize,
        openings: c
            .indices
            .iter()
            .map(|i| {
                tree.open(*i)
                    .expect("indices checked against the frame count")
            })
            .collect(),
    };
    let proof = backend::prove(&pk, circuit, &mut rand_chacha::ChaCha20Rng::from_entropy())?;
    Ok(EpochProof {
        version: VERSION,
        epoch,
        commitment: c.commitment(),
        circuit: id,
        vk_hash: backend::vk_hash(&vk),
        proof: format!("0x{}", hex::encode(backend::proof_to_bytes(&proof))),
    })
}

/// What the verifier expects a proof to answer, supplied by the verifier (or read
/// from the chain), never taken from the proof file: a proof names its epoch and
/// challenge commitment, and both must be the ones asked for. Deal, chain id and
/// contract join the epoch here once they are bound into the nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub epoch: u32,
}

/// Checks a worker's proof against the public file for the epoch the verifier
/// asks about; `Ok(())` when it holds, else the reason it does not. A proof for
/// another epoch is refused even when it would verify for its own.
pub fn verify(
    proof: &EpochProof,
    public: &Public,
    expected: &Expected,
    store: &KeyStore,
) -> Result<(), String> {
    if proof.version != VERSION {
        return Err(format!("unsupported proof version {}", proof.version));
    }
    let epoch = expected.epoch;
    if proof.epoch != epoch {
        return Err(format!(
            "the proof answers epoch {}, not the verifier's epoch {epoch}",
            proof.epoch
        ));
    }
    let c = revealed(public, epoch).map_err(|e| e.to_string())?;
    if proof.commitment != c.commitment() {
        return Err(format!(
            "the proof answers another challenge than epoch {epoch}'s"
        ));
    }
    let id = circuit_id(public.k, public.depth);
    if proof.circuit != id {
        return Err(format!(
            "the proof is for circuit {}, expected {id}",
            proof.circuit
        ));
    }
    let vk = store
        .verifying_key_for(&id, &circuit_description(public.k, public.depth))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no verifying key for {id} in the key store"))?;
    if backend::vk_hash(&vk) != proof.vk_hash {
        return Err("the proof was made with a different key".into());
    }
    let bytes = proof
        .proof
        .strip_prefix("0x")
        .and_then(|h| hex::decode(h).ok())
        .ok_or("the proof is not 0x-prefixed hex")?;
    let groth = backend::proof_from_bytes(&bytes).map_err(|e| e.to_string())?;
    let root = fr_from_hex(&c.root)?;
    let public_inputs = InclusionCircuit::public_inputs(root, c.nonce(), &c.indices);
    match backend::verify(&backend::prepare(&vk), &public_inputs, &groth) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the Groth16 proof does not verify".into()),
        Err(e) => Err(e.to_string()),
    }
}
