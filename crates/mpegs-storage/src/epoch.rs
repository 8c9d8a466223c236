//! Registration, epoch challenges, proofs and their verification.
//!
//! - **register** (client, who has the segment): one secret challenge per epoch — a
//!   random region, the root of that region's pHash tree, `k` random frame indices
//!   and a random salt. The public file carries only `sha256` commitments to them.
//! - **reveal** (client or beacon, at epoch e): challenge e is published; anyone
//!   checks it against its commitment.
//! - **prove** (worker): decode the segment, hash the region in every frame, rebuild
//!   the tree, check its root, open the indices and prove inclusion (one Groth16
//!   proof, public inputs `root, nonce, indices`). Off-chain the nonce is the
//!   commitment; for an on-chain deal it also binds chain id, escrow contract, deal,
//!   epoch and worker ([`DealContext`]), so a proof answers one epoch of one deal.
//! - **verify** (validator): for the epoch (and deal) the validator asks about
//!   (never the one the proof file names), the revealed challenge matches its
//!   commitment and the proof verifies for exactly that root, nonce and indices.

use crate::circuit::InclusionCircuit;
use crate::content::Content;
use crate::content::PixelFormat;
use crate::phash::Region;
use crate::planes::{frame_hash, FrameHash, PlaneFrames};
use crate::tree::SegmentTree;
use crate::StorageError;
use ark_bn254::Fr;
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_zk::backend;
use mpegs_zk::keys::KeyStore;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Version of the challenge files: 2 added the content commitment and the binding;
/// 3 roots the trees in all-plane leaves (`mpegs.phash.v2`), so a version-2 file's
/// roots (luma only) cannot be answered any more and such files are refused.
pub const VERSION: u32 = 3;
/// Version of the inclusion circuit: 2 is the lookup backend's proof shape
/// (Groth16 with a committed-wire commitment, docs/lookups.md); 3 hashes the
/// leaf over the pHashes of all planes.
pub const CIRCUIT_VERSION: u32 = 3;
/// Version of the epoch-proof file: 2 added the deal context; 3 is a proof of
/// circuit version 3 (all planes).
pub const PROOF_VERSION: u32 = 3;

/// Refuses a challenge file of another version with what to do about it.
fn check_version(what: &str, version: u32) -> Result<(), StorageError> {
    if version == VERSION {
        return Ok(());
    }
    Err(StorageError::Challenge(if version < VERSION {
        format!(
            "the {what} challenge file is version {version}; this is version {VERSION} (its epoch roots \
             cover every plane, version {version}'s only luma): register the segment again"
        )
    } else {
        format!("the {what} challenge file is version {version}, newer than this version {VERSION}")
    }))
}

/// Domain of an on-chain deal's nonce (StorageEscrow.NONCE_DOMAIN is its keccak256).
pub const NONCE_DOMAIN: &[u8] = b"mpegs.storage.nonce.v2";

/// Domain of the challenge commitment (hashed once into its first word).
pub const CHALLENGE_DOMAIN: &[u8] = b"mpegs.storage.challenge.v2";

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
    /// What the commitment is bound to, 64 hex digits: the segment's content
    /// commitment off-chain, or an on-chain deal's `bindingOf(client, worker,
    /// offer nonce, content)` ([`bind`]), so the commitment opens in one deal only.
    pub binding: String,
}

impl Challenge {
    /// `sha256` of the challenge, hex — what registration publishes.
    ///
    /// The preimage is 32-byte words so that a contract can recompute it with one
    /// `sha256(abi.encodePacked(...))` (StorageEscrow.reveal):
    /// `sha256(CHALLENGE_DOMAIN) ‖ binding ‖ epoch ‖ x ‖ y ‖ size ‖ root ‖ salt ‖ index…`,
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
        let mut out = Vec::with_capacity(32 * (8 + self.indices.len()));
        out.extend_from_slice(&Sha256::digest(CHALLENGE_DOMAIN));
        out.extend_from_slice(&hex32(&self.binding));
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

    /// The proof's nonce: the commitment off-chain, or the deal-bound nonce
    /// (see [`DealContext::nonce`]) for an on-chain deal.
    pub fn nonce(&self, deal: Option<&DealContext>) -> Fr {
        use ark_ff::PrimeField;
        let commitment: [u8; 32] = Sha256::digest(self.commitment_preimage()).into();
        match deal {
            None => Fr::from_be_bytes_mod_order(&commitment),
            Some(ctx) => ctx.nonce(self.epoch, &commitment),
        }
    }
}

/// A 20-byte account or contract address, `0x`-hex in files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

impl std::str::FromStr for Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hex = s
            .strip_prefix("0x")
            .ok_or_else(|| format!("{s:?} is not a 0x-prefixed address"))?;
        let bytes = hex::decode(hex).map_err(|_| format!("{s:?} is not hex"))?;
        let bytes: [u8; 20] = bytes
            .try_into()
            .map_err(|_| format!("{s:?} is not 20 bytes"))?;
        Ok(Address(bytes))
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Where an on-chain deal lives: what its proofs' nonce binds besides the epoch
/// and the challenge commitment, so a proof cannot be replayed on another chain,
/// escrow, deal or by another worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealContext {
    pub chain_id: u64,
    /// The StorageEscrow contract.
    pub contract: Address,
    pub deal: u64,
    /// The deal's named worker.
    pub worker: Address,
}

impl DealContext {
    /// `keccak256(abi.encode(keccak256(NONCE_DOMAIN), chainId, contract, deal,
    /// epoch, worker, commitment)) mod r`, exactly `StorageEscrow.nonceOf`.
    pub fn nonce(&self, epoch: u32, commitment: &[u8; 32]) -> Fr {
        use ark_ff::PrimeField;
        use sha3::{Digest as _, Keccak256};
        fn word(tail: &[u8]) -> [u8; 32] {
            let mut w = [0u8; 32];
            w[32 - tail.len()..].copy_from_slice(tail);
            w
        }
        let mut h = Keccak256::new();
        h.update(Keccak256::digest(NONCE_DOMAIN));
        h.update(word(&self.chain_id.to_be_bytes()));
        h.update(word(&self.contract.0));
        h.update(word(&self.deal.to_be_bytes()));
        h.update(word(&epoch.to_be_bytes()));
        h.update(word(&self.worker.0));
        h.update(commitment);
        Fr::from_be_bytes_mod_order(&h.finalize())
    }
}

/// The client's file: every challenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secret {
    pub version: u32,
    pub segment: SegmentInfo,
    /// The segment's content commitment ([`crate::content`]).
    pub content: Content,
    /// What the challenges are bound to (see [`Challenge::binding`]).
    pub binding: String,
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
    /// The segment's content commitment ([`crate::content`]).
    pub content: Content,
    /// What the commitments are bound to (see [`Challenge::binding`]).
    pub binding: String,
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
    /// The on-chain deal the proof is bound to (absent off-chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal: Option<DealContext>,
    pub commitment: String,
    pub circuit: String,
    pub vk_hash: String,
    /// Groth16 proof with its commitment, `0x` + 192 bytes hex.
    pub proof: String,
}

/// The circuit id for `k` openings in a tree of `depth`.
pub fn circuit_id(k: u32, depth: u32) -> String {
    format!("storage-inclusion-k{k}-d{depth}-v{CIRCUIT_VERSION}")
}

/// The region side registration picks for a `width × height` segment of `format`:
/// the largest multiple of 32 (64 for subsampled chroma, so the chroma region's
/// sides are multiples of 32) up to half the smaller side, at most 512, so regions
/// vary in position. A segment whose smaller side is under two steps gets one
/// step, the least the hash needs, as long as it fits: its regions vary less, but
/// small clips can still be stored.
pub fn region_side(format: PixelFormat, width: u32, height: u32) -> Result<u32, StorageError> {
    let step = format.region_step();
    let smaller = width.min(height);
    let half = (smaller / 2 / step * step).min(crate::phash::MAX_REGION);
    let side = if half >= step {
        half
    } else if smaller >= step {
        step
    } else {
        0
    };
    if side < step {
        return Err(StorageError::Challenge(format!(
            "a {width}x{height} {} segment is too small for {step}x{step} regions",
            format.name()
        )));
    }
    Ok(side)
}

/// Hashes `regions` in every plane of every frame of the segment in one decoding pass.
pub fn hash_regions(
    frames: PlaneFrames,
    regions: &[Region],
) -> Result<(SegmentInfo, Vec<Vec<FrameHash>>), StorageError> {
    let path = frames.path().to_string();
    let (w, h, format) = (frames.width, frames.height, frames.format);
    for r in regions {
        format.validate_region(*r, w, h)?;
    }
    let mut hashes = vec![Vec::new(); regions.len()];
    for frame in frames {
        let frame = frame?;
        for (r, out) in regions.iter().zip(hashes.iter_mut()) {
            out.push(frame_hash(&frame, format, w, h, *r)?);
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

/// Registration: `epochs` secret challenges of `k` indices each, drawn from
/// the operating system's randomness (the client's secret: a worker that could
/// predict it would keep only the challenged frames' hashes).
pub fn register(path: &Path, epochs: u32, k: u32) -> Result<(Secret, Public), StorageError> {
    register_with(
        path,
        epochs,
        k,
        &mut rand_chacha::ChaCha20Rng::from_entropy(),
    )
}

/// [`register`] with the caller's generator (tests pass a seeded one to get
/// the same challenges on every run).
pub fn register_with(
    path: &Path,
    epochs: u32,
    k: u32,
    rng: &mut (impl rand::RngCore + rand::CryptoRng),
) -> Result<(Secret, Public), StorageError> {
    if epochs == 0 || k == 0 {
        return Err(StorageError::Challenge(
            "epochs and k must be at least 1".into(),
        ));
    }
    let content = crate::content::content(path)?;
    let frames = PlaneFrames::open(path)?;
    let (width, height, format) = (frames.width, frames.height, frames.format);
    let side = region_side(format, width, height)?;
    // Positions on the chroma grid, so each region's chroma is whole samples.
    let (sx, sy) = format.chroma_subsampling().unwrap_or((1, 1));
    let regions: Vec<Region> = (0..epochs)
        .map(|_| Region {
            x: rng.gen_range(0..=(width - side) / sx) * sx,
            y: rng.gen_range(0..=(height - side) / sy) * sy,
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
        let mut indices = rand::seq::index::sample(rng, segment.frames as usize, k as usize)
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
            binding: content.commitment.clone(),
        });
    }
    if (
        content.width,
        content.height,
        content.frames,
        content.pixel_format,
    ) != (segment.width, segment.height, segment.frames, format)
    {
        return Err(StorageError::Mismatch(
            "the content commitment and the hashed frames disagree on the segment's shape".into(),
        ));
    }
    let binding = content.commitment.clone();
    let public = Public {
        version: VERSION,
        segment: segment.clone(),
        k,
        depth,
        content: content.clone(),
        binding: binding.clone(),
        commitments: challenges.iter().map(Challenge::commitment).collect(),
        revealed: vec![],
    };
    Ok((
        Secret {
            version: VERSION,
            segment,
            content,
            binding,
            challenges,
        },
        public,
    ))
}

/// Binds every challenge of a freshly registered secret file to one on-chain deal
/// (`binding` = the escrow's `bindingOf(client, worker, offer nonce, content)`) and
/// rewrites the public commitments. A secret file binds once: binding it to a
/// second deal is refused, because revealing one deal's challenge would tell that
/// deal's worker the other's (and the escrow would not open it anyway). Binding it
/// again to the same deal is a no-op.
pub fn bind(
    secret: &mut Secret,
    public: &mut Public,
    binding: [u8; 32],
) -> Result<(), StorageError> {
    check_version("secret", secret.version)?;
    check_version("public", public.version)?;
    let word = hex::encode(binding);
    if secret.binding == word && public.binding == word {
        return Ok(());
    }
    if secret.binding != secret.content.commitment || public.binding != public.content.commitment {
        return Err(StorageError::Challenge(format!(
            "these challenges are already bound to another deal (binding {}); register the segment again \
             for a new deal: one challenge file backs one deal",
            secret.binding
        )));
    }
    if secret.content != public.content || secret.challenges.len() != public.commitments.len() {
        return Err(StorageError::Challenge(
            "the secret and public files are not of one registration".into(),
        ));
    }
    for c in &mut secret.challenges {
        c.binding = word.clone();
    }
    secret.binding = word.clone();
    public.binding = word;
    public.commitments = secret
        .challenges
        .iter()
        .map(Challenge::commitment)
        .collect();
    public.revealed.clear();
    Ok(())
}

/// Publishes epoch `e`'s challenge into `public` (idempotent).
pub fn reveal(secret: &Secret, public: &mut Public, epoch: u32) -> Result<(), StorageError> {
    check_version("secret", secret.version)?;
    check_version("public", public.version)?;
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
    check_version("public", public.version)?;
    let c = public
        .revealed
        .iter()
        .find(|c| c.epoch == epoch)
        .ok_or_else(|| StorageError::Challenge(format!("epoch {epoch} has not been revealed")))?;
    let committed = public
        .commitments
        .get(epoch as usize)
        .ok_or_else(|| StorageError::Challenge(format!("epoch {epoch} was never registered")))?;
    if &c.commitment() != committed || c.binding != public.binding {
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
    public.content.pixel_format.validate_region(
        c.region,
        public.segment.width,
        public.segment.height,
    )?;
    Ok(c)
}

/// What the inclusion circuit for (k, depth) is, as stored beside its keys and
/// compared whenever a key is loaded.
pub fn circuit_description(k: u32, depth: u32) -> serde_json::Value {
    serde_json::json!({"circuit": "storage-inclusion", "k": k, "depth": depth, "version": CIRCUIT_VERSION})
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

/// A revealed challenge as the prover needs it, from a public file or from the
/// chain (which stores no salt, only the commitment it opened).
#[derive(Clone, Debug)]
pub struct RevealedChallenge {
    pub epoch: u32,
    pub region: Region,
    pub root: Fr,
    pub indices: Vec<u32>,
    /// The challenge commitment, hex (64 digits).
    pub commitment: String,
    pub nonce: Fr,
}

/// The segment and circuit a proof is for.
#[derive(Clone, Debug)]
pub struct ProofShape {
    pub segment: SegmentInfo,
    pub k: u32,
    pub depth: u32,
}

/// The worker's proof for `epoch` of the public file, from the segment file; keys
/// are generated on first use. `deal` binds the proof to an on-chain deal.
pub fn prove(
    path: &Path,
    public: &Public,
    epoch: u32,
    deal: Option<&DealContext>,
    store: &KeyStore,
) -> Result<EpochProof, StorageError> {
    let c = revealed(public, epoch)?;
    ensure_keys(store, public.k, public.depth)?;
    let challenge = RevealedChallenge {
        epoch,
        region: c.region,
        root: fr_from_hex(&c.root).map_err(StorageError::Challenge)?,
        indices: c.indices.clone(),
        commitment: c.commitment(),
        nonce: c.nonce(deal),
    };
    let shape = ProofShape {
        segment: public.segment.clone(),
        k: public.k,
        depth: public.depth,
    };
    prove_revealed(path, &shape, &challenge, deal, store)
}

/// The proof of one revealed challenge with the keys already in `store` (a deal's
/// verifier is pinned to them; fresh keys could not satisfy it).
pub fn prove_revealed(
    path: &Path,
    shape: &ProofShape,
    c: &RevealedChallenge,
    deal: Option<&DealContext>,
    store: &KeyStore,
) -> Result<EpochProof, StorageError> {
    if c.indices.len() != shape.k as usize || c.indices.iter().any(|i| *i >= shape.segment.frames) {
        return Err(StorageError::Challenge(format!(
            "epoch {}: indices must be {} frames below {}",
            c.epoch, shape.k, shape.segment.frames
        )));
    }
    c.region
        .validate(shape.segment.width, shape.segment.height)?;
    let (segment, mut hashes) = hash_regions(PlaneFrames::open(path)?, &[c.region])?;
    if segment != shape.segment {
        let want = &shape.segment;
        return Err(StorageError::Mismatch(format!(
            "{}x{} with {} frames, registered {}x{} with {}",
            segment.width, segment.height, segment.frames, want.width, want.height, want.frames
        )));
    }
    let tree = SegmentTree::new(hashes.remove(0));
    if tree.root() != c.root {
        return Err(StorageError::Mismatch(
            "the region's pHash tree has another root (missing or altered frames or planes, or another rendition)".into(),
        ));
    }
    let id = circuit_id(shape.k, shape.depth);
    let missing = || mpegs_zk::ZkError::MissingKey(id.clone());
    let pk = store.proving_key(&id)?.ok_or_else(missing)?;
    let vk = store
        .verifying_key_for(&id, &circuit_description(shape.k, shape.depth))?
        .ok_or_else(missing)?;
    let circuit = InclusionCircuit {
        root: c.root,
        nonce: c.nonce,
        depth: shape.depth as usize,
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
        version: PROOF_VERSION,
        epoch: c.epoch,
        deal: deal.copied(),
        commitment: c.commitment.clone(),
        circuit: id,
        vk_hash: backend::vk_hash(&vk),
        proof: format!("0x{}", hex::encode(backend::proof_to_bytes(&proof))),
    })
}

/// What the verifier expects a proof to answer, supplied by the verifier (or read
/// from the chain), never taken from the proof file: a proof names its epoch and
/// challenge commitment, and both must be the ones asked for; for an on-chain deal,
/// so must the deal (chain id, escrow, deal id, worker) its nonce binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected {
    pub epoch: u32,
    pub deal: Option<DealContext>,
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
    if proof.version != PROOF_VERSION {
        return Err(if proof.version < PROOF_VERSION {
            format!(
                "proof version {} is no longer accepted (its circuit hashed luma only); this is version \
                 {PROOF_VERSION}: prove the epoch again",
                proof.version
            )
        } else {
            format!(
                "unsupported proof version {} (this is version {PROOF_VERSION})",
                proof.version
            )
        });
    }
    if proof.deal != expected.deal {
        return Err(match (&proof.deal, &expected.deal) {
            (None, Some(_)) => "the proof is not bound to the deal asked about".into(),
            (Some(_), None) => "the proof is bound to an on-chain deal; name it to verify".into(),
            _ => "the proof is bound to another deal (chain, escrow, deal id or worker)".into(),
        });
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
    let nonce = c.nonce(expected.deal.as_ref());
    let public_inputs = InclusionCircuit::public_inputs(root, nonce, &c.indices);
    match backend::verify(&backend::prepare(&vk), &public_inputs, &groth) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the Groth16 proof does not verify".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_side_is_half_the_smaller_side_or_one_step_for_small_clips() {
        let yuv = PixelFormat::Yuv420p;
        assert_eq!(region_side(yuv, 1280, 720).unwrap(), 320);
        assert_eq!(region_side(yuv, 4096, 2160).unwrap(), 512);
        // Half of 96 is under the 64-sample step: one step, which fits.
        assert_eq!(region_side(yuv, 160, 96).unwrap(), 64);
        assert!(region_side(yuv, 160, 63).is_err());
        assert_eq!(region_side(PixelFormat::Gray, 40, 40).unwrap(), 32);
        assert!(region_side(PixelFormat::Gray, 31, 100).is_err());
    }
}
