//! Sampling, the proof file, proving and verification.
//!
//! Samples are drawn after both commitments are fixed: a ChaCha20 stream seeded
//! with `sha256("mpegs.transcode.samples.v2" ‖ source ‖ rendition ‖ frames ‖ k ‖ τ
//! ‖ beacon)` picks `k` distinct sampleable macroblocks across all frames:
//! interior ones, and those of the partial right column and bottom row that hold
//! an 8×8 window ([`crate::grid`]).
//!
//! Whoever verifies chooses the randomness (design.md §8): [`verify`] takes a
//! [`Policy`] with the verifier's beacon and floors on `k` and the threshold, and
//! refuses a proof made under any other beacon or below the floors. A beacon
//! written by the prover alone can be ground (about a microsecond a try) until
//! every sample lands on a good macroblock; without a verifier's beacon the
//! outcome says so ([`Challenge::SelfChosen`]).

use crate::circuit::{Sample, Shape, TranscodeCircuit};
use crate::grid::Grid;
use crate::ssim::{macroblock_score, passes, score_to_ssim, threshold_fixed};
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

/// 2: blinded video commitments, and edge macroblocks are sampled (new circuit,
/// new sampling; v1 keys and proofs are never reused). 3: the lookup backend
/// (range checks by lookups, 192-byte proofs with a commitment).
pub const VERSION: u32 = 3;
const SAMPLE_DOMAIN: &[u8] = b"mpegs.transcode.samples.v2";

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
    /// The lowest sampled macroblock SSIM (mean of its windows inside the frame).
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

/// Sampleable macroblocks of a video: in every frame, each macroblock with at
/// least one 8×8 window inside the frame.
pub fn sampleable(header: &MediaHeader, frames: u32) -> u64 {
    let (cols, rows) = Grid::new(header.width, header.height).sampleable();
    cols as u64 * rows as u64 * frames as u64
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
    let beacon = beacon_bytes(beacon)?;
    draw_samples((source, rendition), header, frames, k, tau, &beacon)
}

/// [`sample_positions`] with the beacon as bytes.
fn draw_samples(
    (source, rendition): (Fr, Fr),
    header: &MediaHeader,
    frames: u32,
    k: u32,
    tau: u64,
    beacon: &[u8],
) -> Result<Vec<Position>, TranscodeError> {
    let (cols, _) = Grid::new(header.width, header.height).sampleable();
    let per_frame = sampleable(header, 1);
    let total = sampleable(header, frames);
    if per_frame == 0 {
        return Err(TranscodeError::Options(format!(
            "a {}x{} frame holds no 8x8 window to sample",
            header.width, header.height
        )));
    }
    if k == 0 || k as u64 > total {
        return Err(TranscodeError::Options(format!(
            "samples must be between 1 and the {total} sampleable macroblocks of the video"
        )));
    }
    let mut hasher = Sha256::new();
    hasher.update(SAMPLE_DOMAIN);
    hasher.update(source.into_bigint().to_bytes_be());
    hasher.update(rendition.into_bigint().to_bytes_be());
    hasher.update(frames.to_be_bytes());
    hasher.update(k.to_be_bytes());
    hasher.update(tau.to_be_bytes());
    hasher.update(beacon);
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
                mb_x: mb % cols,
                mb_y: mb / cols,
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

/// Refuses, before any proving, a rendition whose sampled macroblocks fall below
/// the threshold (scored over their windows inside the frame, as the circuit
/// does); returns the lowest sampled SSIM.
fn check_samples(
    header: &MediaHeader,
    positions: &[Position],
    (source, rendition): (&[Vec<u8>], &[Vec<u8>]),
    tau: u64,
    threshold: f64,
) -> Result<f64, TranscodeError> {
    let grid = Grid::new(header.width, header.height);
    let mut min_ssim = f64::INFINITY;
    for (i, ((p, a), b)) in positions.iter().zip(source).zip(rendition).enumerate() {
        let windows = grid.windows(p.mb_x, p.mb_y);
        let score = macroblock_score(a, b, windows);
        let ssim = score_to_ssim(score, windows);
        min_ssim = min_ssim.min(ssim);
        if !passes(score, windows, tau as i64) {
            return Err(TranscodeError::BelowThreshold {
                index: i,
                frame: p.frame,
                mb_x: p.mb_x,
                mb_y: p.mb_y,
                ssim,
                threshold,
            });
        }
    }
    Ok(min_ssim)
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

    let min_ssim = check_samples(
        &header,
        &positions,
        (&src_blocks, &rend_blocks),
        tau,
        options.threshold,
    )?;

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

/// Floor on sampled macroblocks a verifier accepts by default: what `transcode
/// prove` samples by default. With a fraction `f` of bad macroblocks, 32 samples
/// miss them all with probability `(1 − f)³²`: 3.4 % at `f` = 10 %.
pub const DEFAULT_MIN_SAMPLES: u32 = 32;
/// Floor on the proven threshold a verifier accepts by default: `transcode
/// prove`'s default.
pub const DEFAULT_MIN_THRESHOLD: f64 = 0.9;

/// What the verifier insists on. The verifier, not the proof file, chooses the
/// sampling randomness and the floors (design.md §8): a file only states what it
/// was made under, and is refused when that falls short.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    /// The sampling beacon (hex) the verifier chose or read from the chain, e.g. a
    /// block hash after both commitments were registered. `None` takes the
    /// proof's own beacon: the challenge is then self-chosen and a prover can grind
    /// it (see [`Challenge::SelfChosen`]).
    pub beacon: Option<String>,
    /// Fewest sampled macroblocks accepted; a proof that samples every
    /// sampleable macroblock of a smaller video meets any floor.
    pub min_samples: u32,
    /// Lowest threshold accepted, in (0, 1], compared as `τ`.
    pub min_threshold: f64,
}

impl Default for Policy {
    /// No beacon (self-chosen, reported as such), the prover's default floors.
    fn default() -> Self {
        Self {
            beacon: None,
            min_samples: DEFAULT_MIN_SAMPLES,
            min_threshold: DEFAULT_MIN_THRESHOLD,
        }
    }
}

impl Policy {
    /// Checks the policy itself; returns the verifier's beacon bytes, if any.
    pub fn check(&self) -> Result<Option<Vec<u8>>, TranscodeError> {
        if self.min_samples == 0 {
            return Err(TranscodeError::Options(
                "the sample floor must be at least 1".into(),
            ));
        }
        if threshold_fixed(self.min_threshold).is_none() {
            return Err(TranscodeError::Options(format!(
                "the threshold floor must be in (0, 1], got {}",
                self.min_threshold
            )));
        }
        let Some(beacon) = self.beacon.as_deref() else {
            return Ok(None);
        };
        match hex::decode(beacon.trim_start_matches("0x")) {
            Ok(bytes) if !bytes.is_empty() => Ok(Some(bytes)),
            Ok(_) => Err(TranscodeError::Options(
                "the verifier's beacon is empty".into(),
            )),
            Err(e) => Err(TranscodeError::Options(format!(
                "the verifier's beacon must be hex: {e}"
            ))),
        }
    }

    /// The sample floor for a video with `sampleable` macroblocks in all.
    pub fn required_samples(&self, sampleable: u64) -> u64 {
        (self.min_samples as u64).min(sampleable)
    }
}

/// Who chose the randomness that picked the samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// Derived from the verifier's beacon: the prover could not aim for good
    /// macroblocks.
    VerifierChosen,
    /// Derived from the proof's own beacon (or none): a prover can retry beacons,
    /// about a microsecond each, until all samples land on good macroblocks, so
    /// this only shows that the proof is internally consistent.
    SelfChosen,
}

/// A proof that holds under the verifier's policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    pub challenge: Challenge,
    pub samples: usize,
    pub threshold: f64,
}

/// Why a proof is refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Rejection {
    #[error("the verifier's policy is unusable: {0}")]
    Policy(String),
    #[error(
        "the proof was made under beacon {found}, not the verifier's beacon {expected}: \
         its samples were not drawn by the verifier"
    )]
    OtherBeacon { expected: String, found: String },
    #[error("the proof samples {samples} macroblocks, below the verifier's floor of {required}")]
    TooFewSamples { samples: usize, required: u64 },
    #[error("the proof's threshold {threshold} is below the verifier's floor of {min}")]
    ThresholdBelowFloor { threshold: f64, min: f64 },
    #[error("{0}")]
    Invalid(String),
}

fn invalid(reason: impl std::fmt::Display) -> Rejection {
    Rejection::Invalid(reason.to_string())
}

/// Whose beacon drew the samples; refuses a proof made under another beacon than
/// the verifier's. Returns the beacon bytes to derive the samples from.
fn challenge_of(
    proof: &TranscodeProof,
    policy: &Policy,
) -> Result<(Challenge, Vec<u8>), Rejection> {
    let verifier = policy
        .check()
        .map_err(|e| Rejection::Policy(e.to_string()))?;
    let own = beacon_bytes(proof.beacon.as_deref()).map_err(invalid)?;
    match verifier {
        None => Ok((Challenge::SelfChosen, own)),
        Some(expected) if expected == own => Ok((Challenge::VerifierChosen, expected)),
        Some(expected) => Err(Rejection::OtherBeacon {
            expected: hex::encode(expected),
            found: proof.beacon.clone().unwrap_or_else(|| "none".into()),
        }),
    }
}

/// Refuses proofs below the verifier's floors on k and τ (τ compared in fixed
/// point, the way the circuit uses it).
fn check_floors(proof: &TranscodeProof, policy: &Policy, sampleable: u64) -> Result<(), Rejection> {
    let required = policy.required_samples(sampleable);
    if (proof.samples.len() as u64) < required {
        return Err(Rejection::TooFewSamples {
            samples: proof.samples.len(),
            required,
        });
    }
    let min_tau = threshold_fixed(policy.min_threshold)
        .ok_or_else(|| Rejection::Policy("threshold floor outside (0, 1]".into()))?;
    if (proof.tau as i64) < min_tau {
        return Err(Rejection::ThresholdBelowFloor {
            threshold: proof.threshold,
            min: policy.min_threshold,
        });
    }
    Ok(())
}

/// Checks a transcode proof under the verifier's `policy`: the samples must be the
/// ones the commitments and the **verifier's** beacon select, at least as many
/// and with at least the threshold the policy demands, and the Groth16 proof must
/// hold. The commitments are taken from the file: callers who hold either video
/// (or a registered commitment) compare them too.
pub fn verify(
    proof: &TranscodeProof,
    policy: &Policy,
    store: &KeyStore,
) -> Result<Verified, Rejection> {
    if proof.version != VERSION || proof.kind != "transcode" {
        return Err(invalid(format!(
            "unsupported proof (version {}, kind {})",
            proof.version, proof.kind
        )));
    }
    let (challenge, beacon) = challenge_of(proof, policy)?;
    let (s, r) = (&proof.source, &proof.rendition);
    if (s.width, s.height, s.frames) != (r.width, r.height, r.frames) {
        return Err(invalid(
            "source and rendition commitments describe different frame sizes or counts",
        ));
    }
    let header = frame_header(r.width, r.height).map_err(invalid)?;
    check_floors(proof, policy, sampleable(&header, r.frames))?;
    let tau =
        threshold_fixed(proof.threshold).ok_or_else(|| invalid("threshold outside (0, 1]"))?;
    if tau as u64 != proof.tau {
        return Err(invalid(format!(
            "tau {} does not encode threshold {}",
            proof.tau, proof.threshold
        )));
    }
    let source =
        fr_from_hex(&s.commitment).map_err(|e| invalid(format!("source commitment: {e}")))?;
    let rendition =
        fr_from_hex(&r.commitment).map_err(|e| invalid(format!("rendition commitment: {e}")))?;
    let expected = draw_samples(
        (source, rendition),
        &header,
        r.frames,
        proof.samples.len() as u32,
        proof.tau,
        &beacon,
    )
    .map_err(invalid)?;
    if expected != proof.samples {
        return Err(invalid(
            "the samples are not the ones the commitments select",
        ));
    }
    check_groth16(proof, &header, (source, rendition), &expected, store)?;
    Ok(Verified {
        challenge,
        samples: expected.len(),
        threshold: proof.threshold,
    })
}

/// The proof's key and Groth16 check, for samples already re-derived.
fn check_groth16(
    proof: &TranscodeProof,
    header: &MediaHeader,
    (source, rendition): (Fr, Fr),
    samples: &[Position],
    store: &KeyStore,
) -> Result<(), Rejection> {
    let shape = Shape {
        header: *header,
        frames: proof.rendition.frames as u64,
        k: samples.len(),
    };
    let id = circuit_id(&shape);
    if proof.circuit != id {
        return Err(invalid(format!(
            "proof names circuit {}, expected {id}",
            proof.circuit
        )));
    }
    let vk = match store.verifying_key_for(&id, &circuit_description(&shape)) {
        Ok(Some(vk)) => vk,
        Ok(None) => {
            return Err(invalid(format!(
                "no verifying key for {id} in the key store"
            )))
        }
        Err(e) => return Err(invalid(e)),
    };
    if backend::vk_hash(&vk) != proof.vk_hash {
        return Err(invalid("the proof was made with another verifying key"));
    }
    let bytes = hex::decode(proof.proof.trim_start_matches("0x"))
        .map_err(|e| invalid(format!("proof: {e}")))?;
    let groth = backend::proof_from_bytes(&bytes).map_err(invalid)?;
    let positions: Vec<u64> = samples.iter().map(|p| position_input(header, p)).collect();
    let public = TranscodeCircuit::public_inputs(source, rendition, proof.tau, &positions);
    match backend::verify(&backend::prepare(&vk), &public, &groth) {
        Ok(true) => Ok(()),
        Ok(false) => Err(invalid("the Groth16 proof does not verify")),
        Err(e) => Err(invalid(e)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_floor_is_met_by_sampling_everything() {
        let p = Policy::default();
        assert_eq!(p.required_samples(1_000), 32);
        assert_eq!(p.required_samples(20), 20);
        assert!(p.check().unwrap().is_none());
        let p = Policy {
            beacon: Some("0xAB01".into()),
            ..p
        };
        assert_eq!(p.check().unwrap(), Some(vec![0xab, 0x01]));
    }
}
