//! Sampling, the proof file, proving and verification.
//!
//! Samples are drawn after both commitments are fixed: a ChaCha20 stream seeded
//! with `sha256("mpegs.transcode.samples.v1" ‖ source ‖ rendition ‖ frames ‖ k ‖ τ
//! ‖ beacon)` picks `k` distinct full macroblocks across all frames. Without a
//! beacon this is Fiat–Shamir over the commitments; a transcoder could then grind
//! renditions for lucky samples, so deployments should pass a public beacon
//! (e.g. a block hash after both commitments were registered).

use crate::circuit::{Sample, Shape, TranscodeCircuit};
use crate::ssim::{macroblock_score, score_to_ssim, threshold_fixed, MB, WINDOWS};
use crate::video::{commit, read_macroblocks, Frames, TILE};
use crate::TranscodeError;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use mpegs_media::commitment::VideoCommitment;
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_media::{FrameInfo, MediaHeader, PixelFormat, Seed};
use mpegs_provenance::prove::Progress;
use mpegs_zk::backend;
use mpegs_zk::keys::KeyStore;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Version of the proof file and the circuit (2: blinded video commitments).
pub const VERSION: u32 = 2;
const SAMPLE_DOMAIN: &[u8] = b"mpegs.transcode.samples.v1";

/// A committed video as the proof names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub commitment: String,
    pub width: u32,
    pub height: u32,
    pub frames: u32,
}

/// A sampled macroblock: frame and macroblock coordinates (16-pixel units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub frame: u32,
    pub mb_x: u32,
    pub mb_y: u32,
}

/// `transcode-proof.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TranscodeProof {
    pub version: u32,
    pub kind: String,
    /// The source's frames at the rendition's size (after `source_scale`).
    pub source: VideoInfo,
    /// The exact scale applied to the source's frames, if it was larger.
    pub source_scale: Option<String>,
    pub rendition: VideoInfo,
    pub threshold: f64,
    /// `round(threshold · 2¹⁶)`, the public input.
    pub tau: u64,
    pub beacon: Option<String>,
    pub samples: Vec<Position>,
    pub circuit: String,
    pub vk_hash: String,
    pub proof: String,
}

/// What the prover asks for.
#[derive(Clone, Debug)]
pub struct Options {
    pub threshold: f64,
    pub samples: u32,
    /// Hex bytes mixed into the sampling seed.
    pub beacon: Option<String>,
    /// The blinding seeds of the two video commitments (secret: both videos'
    /// pixels stay private; whoever holds a seed and the video can recompute its
    /// commitment).
    pub seeds: VideoSeeds,
}

/// The secret blinding seeds of a transcode proof's two commitments, kept by the
/// transcoder and handed to whoever should be able to check the proof names
/// given videos (the `<proof>.secret.json` file of the CLI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoSeeds {
    pub source: Seed,
    pub rendition: Seed,
}

impl VideoSeeds {
    /// Fresh seeds from OS randomness.
    pub fn random() -> Self {
        Self {
            source: Seed::random(),
            rendition: Seed::random(),
        }
    }
}

/// What proving found, for the CLI to report.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub proof: TranscodeProof,
    /// The lowest sampled macroblock SSIM (mean of its 9 windows).
    pub min_ssim: f64,
}

pub fn frame_header(width: u32, height: u32) -> Result<MediaHeader, TranscodeError> {
    Ok(MediaHeader::new(
        FrameInfo::new(PixelFormat::Gray, width, height),
        TILE,
    )?)
}

pub fn circuit_id(shape: &Shape) -> String {
    format!(
        "transcode-ssim-{}x{}-t{TILE}-f{}-k{}-v{VERSION}",
        shape.header.width, shape.header.height, shape.frames, shape.k
    )
}

fn beacon_bytes(beacon: Option<&str>) -> Result<Vec<u8>, TranscodeError> {
    match beacon {
        None => Ok(vec![]),
        Some(h) => hex::decode(h.trim_start_matches("0x"))
            .map_err(|e| TranscodeError::Options(format!("beacon must be hex: {e}"))),
    }
}

/// The `k` macroblocks the commitments (and beacon) select.
pub fn sample_positions(
    source: Fr,
    rendition: Fr,
    header: &MediaHeader,
    frames: u32,
    k: u32,
    tau: u64,
    beacon: Option<&str>,
) -> Result<Vec<Position>, TranscodeError> {
    let (full_x, full_y) = (header.width / MB as u32, header.height / MB as u32);
    let per_frame = full_x as u64 * full_y as u64;
    let total = per_frame * frames as u64;
    if k == 0 || k as u64 > total {
        return Err(TranscodeError::Options(format!(
            "samples must be between 1 and the {total} full macroblocks of the video"
        )));
    }
    let mut hasher = Sha256::new();
    hasher.update(SAMPLE_DOMAIN);
    hasher.update(source.into_bigint().to_bytes_be());
    hasher.update(rendition.into_bigint().to_bytes_be());
    hasher.update(frames.to_be_bytes());
    hasher.update(k.to_be_bytes());
    hasher.update(tau.to_be_bytes());
    hasher.update(beacon_bytes(beacon)?);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(hasher.finalize().into());
    let mut picked: Vec<u64> = rand::seq::index::sample(&mut rng, total as usize, k as usize)
        .into_iter()
        .map(|i| i as u64)
        .collect();
    picked.sort_unstable();
    Ok(picked
        .into_iter()
        .map(|i| {
            let mb = (i % per_frame) as u32;
            Position {
                frame: (i / per_frame) as u32,
                mb_x: mb % full_x,
                mb_y: mb / full_x,
            }
        })
        .collect())
}

/// The circuit's public position of a sample: `frame · 2^{tile depth} + tile`.
pub fn position_input(header: &MediaHeader, p: &Position) -> u64 {
    let tile = header.tile_index(p.mb_x, p.mb_y) as u64;
    ((p.frame as u64) << header.depth()) | tile
}

fn info(c: &VideoCommitment) -> VideoInfo {
    VideoInfo {
        commitment: fr_to_hex(&c.value),
        width: c.header.width,
        height: c.header.height,
        frames: c.frames.len() as u32,
    }
}

/// Commits the rendition and the source (scaled to the rendition's size).
pub fn commit_pair(
    source: &Path,
    rendition: &Path,
    seeds: &VideoSeeds,
    progress: &dyn Progress,
) -> Result<(VideoCommitment, VideoCommitment, Option<String>), TranscodeError> {
    let frames = Frames::open(rendition, None)?;
    let (w, h) = frames.decoded_size();
    progress.phase("committing the rendition (frames)", 0);
    let rend = commit(frames, &seeds.rendition, || progress.advance(1))?;
    progress.finish();
    let frames = Frames::open(source, Some((w, h)))?;
    let (sw, sh) = frames.decoded_size();
    if sw < w || sh < h {
        return Err(TranscodeError::Mismatch(format!(
            "the rendition ({w}x{h}) is larger than the source ({sw}x{sh}); only downscales are proven"
        )));
    }
    let scale = frames.scale();
    progress.phase("committing the source (frames)", 0);
    let src = commit(frames, &seeds.source, || progress.advance(1))?;
    progress.finish();
    if src.frames.len() != rend.frames.len() {
        return Err(TranscodeError::Mismatch(format!(
            "the source has {} frames, the rendition {}; frame rates must match",
            src.frames.len(),
            rend.frames.len()
        )));
    }
    Ok((src, rend, scale))
}

/// What the circuit for `shape` is, as stored beside its keys and compared
/// whenever a key is loaded.
pub fn circuit_description(shape: &Shape) -> serde_json::Value {
    serde_json::json!({
        "circuit": "transcode-ssim", "width": shape.header.width,
        "height": shape.header.height, "frames": shape.frames, "k": shape.k,
        "version": VERSION,
    })
}

/// Ensures keys for `shape`; returns the circuit id.
fn ensure_keys(
    store: &KeyStore,
    shape: Shape,
    progress: &dyn Progress,
) -> Result<String, TranscodeError> {
    let id = circuit_id(&shape);
    if !store.has_proving_key(&id) {
        progress.phase("generating circuit keys (once per size)", 1);
        let mut rng = rand_chacha::ChaCha20Rng::from_entropy();
        let (pk, vk) = backend::setup(TranscodeCircuit::blank(shape), &mut rng)?;
        store.store(&id, &pk, &vk, &circuit_description(&shape))?;
        progress.advance(1);
        progress.finish();
    }
    Ok(id)
}

/// The transcoder's proof that `rendition` is a faithful transcode of `source`.
pub fn prove(
    source: &Path,
    rendition: &Path,
    options: &Options,
    store: &KeyStore,
    progress: &dyn Progress,
) -> Result<Outcome, TranscodeError> {
    let tau = threshold_fixed(options.threshold).ok_or_else(|| {
        TranscodeError::Options(format!(
            "threshold must be in (0, 1], got {}",
            options.threshold
        ))
    })? as u64;
    beacon_bytes(options.beacon.as_deref())?;
    let (src, rend, scale) = commit_pair(source, rendition, &options.seeds, progress)?;
    let header = rend.header;
    let frames = rend.frames.len() as u32;
    let positions = sample_positions(
        src.value,
        rend.value,
        &header,
        frames,
        options.samples,
        tau,
        options.beacon.as_deref(),
    )?;
    let wanted: Vec<(u32, u32)> = positions
        .iter()
        .map(|p| (p.frame, header.tile_index(p.mb_x, p.mb_y) as u32))
        .collect();
    progress.phase("reading the sampled macroblocks", 2);
    let src_blocks = read_macroblocks(
        Frames::open(source, Some((header.width, header.height)))?,
        &wanted,
    )?;
    progress.advance(1);
    let rend_blocks = read_macroblocks(Frames::open(rendition, None)?, &wanted)?;
    progress.advance(1);
    progress.finish();

    let mut min_ssim = f64::INFINITY;
    for (i, ((p, a), b)) in positions
        .iter()
        .zip(&src_blocks)
        .zip(&rend_blocks)
        .enumerate()
    {
        let score = macroblock_score(a, b);
        min_ssim = min_ssim.min(score_to_ssim(score));
        if score < WINDOWS as i64 * tau as i64 {
            return Err(TranscodeError::BelowThreshold {
                index: i,
                frame: p.frame,
                mb_x: p.mb_x,
                mb_y: p.mb_y,
                ssim: score_to_ssim(score),
                threshold: options.threshold,
            });
        }
    }

    let shape = Shape {
        header,
        frames: frames as u64,
        k: positions.len(),
    };
    let id = ensure_keys(store, shape, progress)?;
    let missing = || mpegs_zk::ZkError::MissingKey(id.clone());
    let pk = store.proving_key(&id)?.ok_or_else(missing)?;
    let vk = store.verifying_key(&id)?.ok_or_else(missing)?;
    let samples = positions
        .iter()
        .zip(wanted.iter())
        .zip(src_blocks.into_iter().zip(rend_blocks))
        .map(|((p, (f, _)), (a, b))| Sample {
            position: position_input(&header, p),
            source: a,
            rendition: b,
            source_tile: src.frames[*f as usize].opening(p.mb_x, p.mb_y),
            rendition_tile: rend.frames[*f as usize].opening(p.mb_x, p.mb_y),
            source_frame_path: src.tree.path(*f as usize),
            rendition_frame_path: rend.tree.path(*f as usize),
        })
        .collect();
    let circuit = TranscodeCircuit {
        shape,
        source: src.value,
        rendition: rend.value,
        tau,
        source_frames_root: src.tree.root(),
        rendition_frames_root: rend.tree.root(),
        samples,
    };
    progress.phase("proving", 1);
    let proof = backend::prove(&pk, circuit, &mut rand_chacha::ChaCha20Rng::from_entropy())?;
    progress.advance(1);
    progress.finish();
    Ok(Outcome {
        proof: TranscodeProof {
            version: VERSION,
            kind: "transcode".into(),
            source: info(&src),
            source_scale: scale,
            rendition: info(&rend),
            threshold: options.threshold,
            tau,
            beacon: options.beacon.clone(),
            samples: positions,
            circuit: id,
            vk_hash: backend::vk_hash(&vk),
            proof: format!("0x{}", hex::encode(backend::proof_to_bytes(&proof))),
        },
        min_ssim,
    })
}

/// Checks a transcode proof; `Ok(())` when it holds, else the reason it does not.
/// The commitments are taken from the file: callers who hold either video (or a
/// registered commitment) compare them too.
pub fn verify(proof: &TranscodeProof, store: &KeyStore) -> Result<(), String> {
    if proof.version != VERSION || proof.kind != "transcode" {
        return Err(format!(
            "unsupported proof (version {}, kind {})",
            proof.version, proof.kind
        ));
    }
    let (s, r) = (&proof.source, &proof.rendition);
    if (s.width, s.height, s.frames) != (r.width, r.height, r.frames) {
        return Err(
            "source and rendition commitments describe different frame sizes or counts".into(),
        );
    }
    let tau = threshold_fixed(proof.threshold).ok_or("threshold outside (0, 1]")?;
    if tau as u64 != proof.tau {
        return Err(format!(
            "tau {} does not encode threshold {}",
            proof.tau, proof.threshold
        ));
    }
    let header = frame_header(r.width, r.height).map_err(|e| e.to_string())?;
    let source = fr_from_hex(&s.commitment).map_err(|e| format!("source commitment: {e}"))?;
    let rendition = fr_from_hex(&r.commitment).map_err(|e| format!("rendition commitment: {e}"))?;
    let expected = sample_positions(
        source,
        rendition,
        &header,
        r.frames,
        proof.samples.len() as u32,
        proof.tau,
        proof.beacon.as_deref(),
    )
    .map_err(|e| e.to_string())?;
    if expected != proof.samples {
        return Err("the samples are not the ones the commitments select".into());
    }
    let shape = Shape {
        header,
        frames: r.frames as u64,
        k: expected.len(),
    };
    let id = circuit_id(&shape);
    if proof.circuit != id {
        return Err(format!(
            "proof names circuit {}, expected {id}",
            proof.circuit
        ));
    }
    let vk = match store.verifying_key_for(&id, &circuit_description(&shape)) {
        Ok(Some(vk)) => vk,
        Ok(None) => return Err(format!("no verifying key for {id} in the key store")),
        Err(e) => return Err(e.to_string()),
    };
    if backend::vk_hash(&vk) != proof.vk_hash {
        return Err("the proof was made with another verifying key".into());
    }
    let bytes =
        hex::decode(proof.proof.trim_start_matches("0x")).map_err(|e| format!("proof: {e}"))?;
    let groth = backend::proof_from_bytes(&bytes).map_err(|e| e.to_string())?;
    let positions: Vec<u64> = expected
        .iter()
        .map(|p| position_input(&header, p))
        .collect();
    let public = TranscodeCircuit::public_inputs(source, rendition, proof.tau, &positions);
    match backend::verify(&backend::prepare(&vk), &public, &groth) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the Groth16 proof does not verify".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// The Groth16 public inputs a proof file states (commitments, τ, sample
/// positions), without checking anything: for verifiers elsewhere, e.g. on-chain,
/// after [`verify`] or an equivalent check of the samples has passed.
pub fn public_inputs(proof: &TranscodeProof) -> Result<Vec<Fr>, String> {
    let r = &proof.rendition;
    let header = frame_header(r.width, r.height).map_err(|e| e.to_string())?;
    let source =
        fr_from_hex(&proof.source.commitment).map_err(|e| format!("source commitment: {e}"))?;
    let rendition = fr_from_hex(&r.commitment).map_err(|e| format!("rendition commitment: {e}"))?;
    let positions: Vec<u64> = proof
        .samples
        .iter()
        .map(|p| position_input(&header, p))
        .collect();
    Ok(TranscodeCircuit::public_inputs(
        source, rendition, proof.tau, &positions,
    ))
}
