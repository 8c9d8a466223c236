//! Transcode verify: a proof of transcode under the verifier's beacon and
//! floors, and — the policy — about the very videos the verifier names.

use crate::AppError;
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::{read_json, Seed};
use mpegs_transcode::proof::{self, Challenge, Policy, TranscodeProof, VideoInfo, VideoSeeds};
use mpegs_transcode::video::{commit, Frames};
use mpegs_zk::keys::KeyStore;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `transcode verify` reads, and the verifier's policy.
#[derive(Clone, Debug)]
pub struct TranscodeCheck {
    pub proof: PathBuf,
    /// The source video the proof must name.
    pub source: Option<PathBuf>,
    /// The rendition the proof must name.
    pub rendition: Option<PathBuf>,
    /// The seeds file written by `transcode prove` (default: `<PROOF>.secret.json`),
    /// needed to recompute the blinded commitments of named videos.
    pub secret: Option<PathBuf>,
    pub policy: Policy,
}

/// Who picked the sampled macroblocks.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ChallengeKind {
    /// The verifier's beacon.
    VerifierChosen,
    /// The proof's own beacon: the prover could have retried it.
    SelfChosen,
}

/// The verdict on a transcode proof.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TranscodeVerdict {
    pub valid: bool,
    /// Why not (absent when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub challenge: ChallengeKind,
    /// Set when the prover chose the challenge.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Sampled macroblocks in the proof.
    pub samples: usize,
    /// The SSIM threshold every sample is proven to meet.
    pub threshold: f64,
    pub source: VideoInfo,
    pub rendition: VideoInfo,
    /// The beacon the proof was made under.
    pub beacon: Option<String>,
    /// The videos checked against the proof's commitments (`source`, `rendition`).
    pub named: Vec<String>,
}

/// The warning for a proof whose samples the prover's own beacon picked.
pub fn self_chosen_warning(beacon: Option<&str>) -> String {
    format!(
        "WARNING: self-chosen challenge — the prover picked the sampling beacon ({}) and \
         could retry it until every sample landed on a good macroblock. Pass --beacon with \
         randomness the prover could not know in advance (e.g. a block hash after both \
         commitments were registered).",
        beacon.unwrap_or("none")
    )
}

/// `proof.json` → `proof.json.secret.json`: where `transcode prove` keeps the seeds.
pub fn secret_path(proof: &Path) -> PathBuf {
    let mut s = proof.as_os_str().to_owned();
    s.push(".secret.json");
    PathBuf::from(s)
}

fn load_seeds(path: &Path) -> Result<VideoSeeds, AppError> {
    read_json(path).map_err(|e| {
        AppError::Input(format!(
            "the proof's commitments are blinded: comparing them with videos needs the seeds \
             file written by `transcode prove` ({} not readable: {e}; pass --secret)",
            path.display()
        ))
    })
}

/// A video's commitment (luma, tile 16) at `size`, blinded with `seed`.
pub fn commitment_of(
    video: &Path,
    size: Option<(u32, u32)>,
    seed: &Seed,
) -> Result<String, AppError> {
    let c = commit(Frames::open(video, size)?, seed, || {})?;
    Ok(fr_to_hex(&c.value))
}

/// Checks a transcode proof: the verifier's policy first (a malformed one is an
/// input error), then that the proof names the given videos, then the proof
/// under the policy. A proof about other videos is invalid however well it
/// verifies.
pub fn verify(check: &TranscodeCheck, store: &KeyStore) -> Result<TranscodeVerdict, AppError> {
    check.policy.check()?;
    let p: TranscodeProof = read_json(&check.proof)?;
    let size = (p.rendition.width, p.rendition.height);
    let mut named = vec![];
    let mut mismatch = None;
    if check.source.is_some() || check.rendition.is_some() {
        let seeds_path = check
            .secret
            .clone()
            .unwrap_or_else(|| secret_path(&check.proof));
        let seeds = load_seeds(&seeds_path)?;
        let videos = [
            (
                "source",
                &check.source,
                Some(size),
                &seeds.source,
                &p.source,
            ),
            (
                "rendition",
                &check.rendition,
                None,
                &seeds.rendition,
                &p.rendition,
            ),
        ];
        for (which, video, at, seed, info) in videos {
            let Some(video) = video else { continue };
            named.push(which.to_string());
            let matches = commitment_of(video, at, seed)? == info.commitment;
            if !matches && mismatch.is_none() {
                mismatch = Some(format!("the proof is about another {which} video"));
            }
        }
    }
    let verdict = match mismatch {
        Some(reason) => Err(reason),
        None => proof::verify(&p, &check.policy, store).map_err(|e| e.to_string()),
    };
    let self_chosen = check.policy.beacon.is_none();
    let challenge = match &verdict {
        Ok(v) if v.challenge == Challenge::VerifierChosen => ChallengeKind::VerifierChosen,
        Ok(_) => ChallengeKind::SelfChosen,
        Err(_) if self_chosen => ChallengeKind::SelfChosen,
        Err(_) => ChallengeKind::VerifierChosen,
    };
    let (samples, threshold) = match &verdict {
        Ok(v) => (v.samples, v.threshold),
        Err(_) => (p.samples.len(), p.threshold),
    };
    Ok(TranscodeVerdict {
        valid: verdict.is_ok(),
        reason: verdict.err(),
        challenge,
        warning: self_chosen.then(|| self_chosen_warning(p.beacon.as_deref())),
        samples,
        threshold,
        source: p.source,
        rendition: p.rendition,
        beacon: p.beacon,
        named,
    })
}
