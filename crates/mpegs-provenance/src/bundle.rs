//! The proof bundle: the versioned JSON sidecar `<media>.mpegs.json` (design.md §5,
//! specified in docs/bundle.md). Every tool reads and writes bundles through this
//! module. Parsing checks structure only; [`crate::verify`] checks meaning.

use crate::ProvenanceError;
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_media::{read_json, write_atomic, write_private_json, Fr, MediaHeader, Seed};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only bundle version this build reads and writes (2: hiding commitments).
pub const BUNDLE_VERSION: u32 = 2;

/// A committed frame: header plus commitment value, and — only for the published
/// media at the top of a bundle — the blinding seed that lets anyone recompute the
/// commitment from the pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRecord {
    #[serde(flatten)]
    pub header: MediaHeader,
    /// `0x` + 64 lowercase hex digits, big-endian field element.
    pub commitment: String,
    /// The revealed blinding seed of published media; absent for private media
    /// (originals, intermediate steps), whose seed never leaves its owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<Seed>,
}

impl MediaRecord {
    /// A record of private media (no seed).
    pub fn new(header: MediaHeader, commitment: Fr) -> Self {
        Self {
            header,
            commitment: fr_to_hex(&commitment),
            seed: None,
        }
    }

    /// A record of published media, revealing its seed.
    pub fn published(header: MediaHeader, commitment: Fr, seed: Seed) -> Self {
        Self {
            seed: Some(seed),
            ..Self::new(header, commitment)
        }
    }

    /// The same record without its seed (for embedding as private history).
    pub fn private(&self) -> Self {
        Self {
            seed: None,
            ..self.clone()
        }
    }

    /// Checks the header and that the commitment is in its one canonical spelling
    /// (so no two bundles differ only in how they write a value).
    pub fn validate(&self) -> Result<(), ProvenanceError> {
        self.header
            .validate()
            .map_err(|e| ProvenanceError::Malformed(e.to_string()))?;
        let value = self.value()?;
        if fr_to_hex(&value) != self.commitment {
            return Err(ProvenanceError::Malformed(format!(
                "commitment {} is not written as 0x + 64 lowercase hex digits",
                self.commitment
            )));
        }
        Ok(())
    }

    /// Checks a record inside the history, which must not reveal a seed.
    fn validate_private(&self, what: &str) -> Result<(), ProvenanceError> {
        if self.seed.is_some() {
            return Err(ProvenanceError::Malformed(format!(
                "{what} reveals a blinding seed; only the published media at the top of a bundle may"
            )));
        }
        self.validate()
    }

    /// The commitment as a field element (a malformed one is an error).
    pub fn value(&self) -> Result<Fr, ProvenanceError> {
        fr_from_hex(&self.commitment).map_err(ProvenanceError::Malformed)
    }
}

/// A device's signature over a capture (EIP-712, secp256k1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttestationRecord {
    /// Always `eip712-secp256k1`.
    pub scheme: String,
    /// The signer's EVM address.
    pub device: String,
    pub device_id: String,
    /// Unix seconds.
    pub captured_at: u64,
    /// 65 bytes r ‖ s ‖ v, hex.
    pub signature: String,
}

/// One output tile's proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileProof {
    /// Output tile coordinates.
    pub tile: [u32; 2],
    pub circuit: String,
    /// The public inputs (hex), recomputed and compared by verifiers.
    pub public_inputs: Vec<String>,
    /// Compressed Groth16 proof with its wire commitment and proof of knowledge
    /// (192 bytes), hex.
    pub proof: String,
}

/// One filter of the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// Canonical `name=k=v:…`.
    pub filter: String,
    /// The parsed options, for readers.
    pub options: BTreeMap<String, String>,
    pub input: MediaRecord,
    pub output: MediaRecord,
    /// Circuit id → verifying-key hash (`sha256:…`).
    pub circuits: BTreeMap<String, String>,
    pub tiles: Vec<TileProof>,
}

/// How a derived item was made from its parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRecord {
    /// The canonical filtergraph (steps joined with `,`).
    pub filtergraph: String,
    pub steps: Vec<StepRecord>,
    /// The bundle of the input media, embedded.
    pub parent: Box<Bundle>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Attestation,
    Edit,
}

/// A proof bundle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub version: u32,
    pub kind: Kind,
    /// The media this bundle is about.
    pub media: MediaRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation: Option<AttestationRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit: Option<EditRecord>,
}

/// The sidecar path for a media file: `photo.png` → `photo.png.mpegs.json`.
pub fn sidecar_path(media: &Path) -> PathBuf {
    with_suffix(media, ".mpegs.json")
}

/// Where the secret of private media is kept: `photo.png` →
/// `photo.png.mpegs.secret.json` (mode 0600; never published).
pub fn secret_path(media: &Path) -> PathBuf {
    with_suffix(media, ".mpegs.secret.json")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The secret of private media: its commitment's blinding seed. Whoever holds it
/// and the pixels can open the commitment (edit the media with proofs); nobody
/// else can test a guess of the pixels against the commitment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaSecret {
    pub version: u32,
    /// Always `mpegs-media-secret`.
    pub kind: String,
    /// The commitment this seed blinds (to catch a secret of another picture).
    pub commitment: String,
    pub seed: Seed,
}

const SECRET_KIND: &str = "mpegs-media-secret";

impl MediaSecret {
    pub fn new(commitment: Fr, seed: Seed) -> Self {
        Self {
            version: BUNDLE_VERSION,
            kind: SECRET_KIND.into(),
            commitment: fr_to_hex(&commitment),
            seed,
        }
    }

    /// Writes the secret readable by its owner only.
    pub fn save(&self, path: &Path) -> Result<(), ProvenanceError> {
        write_private_json(path, self).map_err(|e| ProvenanceError::Input(e.to_string()))
    }

    /// Reads a secret file and checks it belongs to `record`.
    pub fn load_for(path: &Path, record: &MediaRecord) -> Result<Seed, ProvenanceError> {
        let secret: MediaSecret = read_json(path).map_err(|e| {
            ProvenanceError::Input(format!(
                "{e} (the media is private: its blinding seed is in the secret file written by `mpegs attest`)"
            ))
        })?;
        secret.seed_for(record, &path.display().to_string())
    }

    /// Parses a secret (an upload, say; `name` labels errors) and checks it
    /// belongs to `record`.
    pub fn from_json_for(
        bytes: &[u8],
        record: &MediaRecord,
        name: &str,
    ) -> Result<Seed, ProvenanceError> {
        let secret: MediaSecret = serde_json::from_slice(bytes)
            .map_err(|e| ProvenanceError::Input(format!("{name} is not a media secret: {e}")))?;
        secret.seed_for(record, name)
    }

    fn seed_for(self, record: &MediaRecord, name: &str) -> Result<Seed, ProvenanceError> {
        if self.version != BUNDLE_VERSION || self.kind != SECRET_KIND {
            return Err(ProvenanceError::Input(format!(
                "{name} is not an mpegs media secret (version {BUNDLE_VERSION})"
            )));
        }
        if self.commitment != record.commitment {
            return Err(ProvenanceError::Input(format!(
                "{name} is the secret of another media item ({}, bundle has {})",
                self.commitment, record.commitment
            )));
        }
        Ok(self.seed)
    }
}

impl Bundle {
    /// Parses and structurally validates a bundle, refusing oversized input before
    /// parsing it (limits in [`crate::limits`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProvenanceError> {
        crate::limits::check_bundle_bytes(bytes.len())?;
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ProvenanceError::Malformed(format!("not valid JSON: {e}")))?;
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == BUNDLE_VERSION as u64 => {}
            Some(1) => {
                return Err(ProvenanceError::Malformed(format!(
                    "bundle version 1 is not supported: version 1 commitments are not hiding \
                     (a redacted region could be guessed); this build reads version \
                     {BUNDLE_VERSION} only — re-attest the original and redo the edit"
                )))
            }
            Some(v) => {
                return Err(ProvenanceError::Malformed(format!(
                "bundle version {v} is not supported (this build reads version {BUNDLE_VERSION})"
            )))
            }
            None => return Err(ProvenanceError::Malformed("missing \"version\"".into())),
        }
        let bundle: Bundle = serde_json::from_value(value)
            .map_err(|e| ProvenanceError::Malformed(format!("bundle structure: {e}")))?;
        bundle.check_structure(0)?;
        Ok(bundle)
    }

    /// Checks shape, encodings and limits; `depth` is 0 for the published bundle
    /// and counts embedded parents below it.
    fn check_structure(&self, depth: usize) -> Result<(), ProvenanceError> {
        let bad = |m: &str| Err(ProvenanceError::Malformed(m.into()));
        if self.version != BUNDLE_VERSION {
            return bad("nested bundle has an unsupported version");
        }
        crate::limits::check_history_depth(depth)?;
        if depth == 0 {
            self.media.validate()?;
        } else {
            self.media.validate_private("an embedded parent's media")?;
        }
        crate::limits::check_header(&self.media.header)?;
        match (self.kind, &self.attestation, &self.edit) {
            (Kind::Attestation, Some(_), None) => Ok(()),
            (Kind::Edit, None, Some(edit)) => {
                if edit.steps.is_empty() {
                    return bad("an edit bundle needs at least one step");
                }
                crate::limits::check_steps(edit.steps.len())?;
                for (i, step) in edit.steps.iter().enumerate() {
                    step.input
                        .validate_private(&format!("step {}'s input", i + 1))?;
                    step.output
                        .validate_private(&format!("step {}'s output", i + 1))?;
                    crate::limits::check_header(&step.input.header)?;
                    crate::limits::check_header(&step.output.header)?;
                }
                edit.parent.check_structure(depth + 1)
            }
            (Kind::Attestation, _, _) => {
                bad("an attestation bundle needs \"attestation\" and no \"edit\"")
            }
            (Kind::Edit, _, _) => bad("an edit bundle needs \"edit\" and no \"attestation\""),
        }
    }

    /// Reads a bundle file (its size checked before it is read).
    pub fn load(path: &Path) -> Result<Self, ProvenanceError> {
        let read_err = |e: std::io::Error| {
            ProvenanceError::Input(format!("cannot read bundle {}: {e}", path.display()))
        };
        let size = std::fs::metadata(path).map_err(read_err)?.len();
        crate::limits::check_bundle_bytes(usize::try_from(size).unwrap_or(usize::MAX))
            .map_err(|e| ProvenanceError::Malformed(format!("{}: {e}", path.display())))?;
        let bytes = std::fs::read(path).map_err(read_err)?;
        Self::from_json(&bytes).map_err(|e| match e {
            ProvenanceError::Malformed(m) => {
                ProvenanceError::Malformed(format!("{}: {m}", path.display()))
            }
            other => other,
        })
    }

    /// Writes the bundle atomically as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<(), ProvenanceError> {
        let json = serde_json::to_vec_pretty(self).expect("bundles serialize");
        write_atomic(path, &json).map_err(|e| ProvenanceError::Input(e.to_string()))
    }

    /// The same bundle publishing its media: the seed is revealed so anyone can
    /// recompute the commitment from the pixels (for an original that is itself
    /// published).
    pub fn reveal(mut self, seed: Seed) -> Self {
        self.media.seed = Some(seed);
        self
    }

    /// The original (attested) bundle at the root of the chain.
    pub fn origin(&self) -> &Bundle {
        match &self.edit {
            Some(e) => e.parent.origin(),
            None => self,
        }
    }
}
