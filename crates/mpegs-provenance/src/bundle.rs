//! The proof bundle: the versioned JSON sidecar `<media>.mpegs.json` (design.md §5,
//! specified in docs/bundle.md). Every tool reads and writes bundles through this
//! module. Parsing checks structure only; [`crate::verify`] checks meaning.

use crate::ProvenanceError;
use mpegs_media::poseidon::{fr_from_hex, fr_to_hex};
use mpegs_media::{write_atomic, Fr, MediaHeader};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The only bundle version this build reads and writes.
pub const BUNDLE_VERSION: u32 = 1;

/// A committed frame: header plus commitment value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaRecord {
    #[serde(flatten)]
    pub header: MediaHeader,
    /// `0x` + 64 hex digits, big-endian field element.
    pub commitment: String,
}

impl MediaRecord {
    pub fn new(header: MediaHeader, commitment: Fr) -> Self {
        Self {
            header,
            commitment: fr_to_hex(&commitment),
        }
    }

    /// Checks the header and the commitment's encoding.
    pub fn validate(&self) -> Result<(), ProvenanceError> {
        self.header
            .validate()
            .map_err(|e| ProvenanceError::Malformed(e.to_string()))?;
        self.value().map(|_| ())
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
    /// Compressed Groth16 proof (128 bytes), hex.
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
    let mut s = media.as_os_str().to_owned();
    s.push(".mpegs.json");
    PathBuf::from(s)
}

impl Bundle {
    /// Parses and structurally validates a bundle.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProvenanceError> {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ProvenanceError::Malformed(format!("not valid JSON: {e}")))?;
        match value.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == BUNDLE_VERSION as u64 => {}
            Some(v) => {
                return Err(ProvenanceError::Malformed(format!(
                "bundle version {v} is not supported (this build reads version {BUNDLE_VERSION})"
            )))
            }
            None => return Err(ProvenanceError::Malformed("missing \"version\"".into())),
        }
        let bundle: Bundle = serde_json::from_value(value)
            .map_err(|e| ProvenanceError::Malformed(format!("bundle structure: {e}")))?;
        bundle.check_structure()?;
        Ok(bundle)
    }

    fn check_structure(&self) -> Result<(), ProvenanceError> {
        let bad = |m: &str| Err(ProvenanceError::Malformed(m.into()));
        if self.version != BUNDLE_VERSION {
            return bad("nested bundle has an unsupported version");
        }
        self.media.validate()?;
        match (self.kind, &self.attestation, &self.edit) {
            (Kind::Attestation, Some(_), None) => Ok(()),
            (Kind::Edit, None, Some(edit)) => {
                if edit.steps.is_empty() {
                    return bad("an edit bundle needs at least one step");
                }
                for step in &edit.steps {
                    step.input.validate()?;
                    step.output.validate()?;
                }
                edit.parent.check_structure()
            }
            (Kind::Attestation, _, _) => {
                bad("an attestation bundle needs \"attestation\" and no \"edit\"")
            }
            (Kind::Edit, _, _) => bad("an edit bundle needs \"edit\" and no \"attestation\""),
        }
    }

    /// Reads a bundle file.
    pub fn load(path: &Path) -> Result<Self, ProvenanceError> {
        let bytes = std::fs::read(path).map_err(|e| {
            ProvenanceError::Input(format!("cannot read bundle {}: {e}", path.display()))
        })?;
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

    /// The original (attested) bundle at the root of the chain.
    pub fn origin(&self) -> &Bundle {
        match &self.edit {
            Some(e) => e.parent.origin(),
            None => self,
        }
    }
}
