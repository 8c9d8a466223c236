//! Reading: a file's manifest validated offline, and the bundle it carries.

use crate::{format_of, offline_context, C2paError, MPEGS_LABEL};
use mpegs_provenance::bundle::Bundle;
use serde::Serialize;
use std::io::Cursor;

/// The status code a reader reports when the signer's chain ends at no trusted
/// root. Only a warning: trust lists are a policy, not a proof.
pub const UNTRUSTED: &str = "signingCredential.untrusted";

/// What the C2PA validation of one file says.
#[derive(Clone, Debug, Serialize)]
pub struct C2paReport {
    /// `Invalid`, `Valid` (signature and binding hold) or `Trusted` (also a trusted signer).
    pub state: String,
    /// Claim signature, hard binding and assertion hashes all hold.
    pub valid: bool,
    /// The signer chains to a root given as trusted.
    pub trusted: bool,
    /// The claim generator (which tool wrote the manifest).
    pub generator: Option<String>,
    /// The signer's certificate subject, as the reader shows it.
    pub signer: Option<String>,
    /// Each action with its ffmpeg filter, if an mpegs tool wrote it.
    pub actions: Vec<String>,
    /// Failure codes other than an untrusted signer.
    pub failures: Vec<String>,
    /// Warnings (an untrusted signer).
    pub warnings: Vec<String>,
    /// Whether the manifest has an `org.mpegs.bundle` assertion.
    pub has_mpegs: bool,
    /// The carried bundle, once parsed and checked structurally (never trusted
    /// unless `valid`: the reader returns assertion data even when its hash fails).
    #[serde(skip)]
    pub bundle: Option<Result<Bundle, String>>,
}

fn codes(statuses: &[c2pa::validation_status::ValidationStatus]) -> Vec<String> {
    statuses
        .iter()
        .map(|s| match s.url() {
            Some(url) => format!("{} ({})", s.code(), url.rsplit('/').next().unwrap_or(url)),
            None => s.code().to_string(),
        })
        .collect()
}

fn action_line(action: &serde_json::Value) -> String {
    let name = action["action"].as_str().unwrap_or("?");
    match action["parameters"]["org.mpegs.ffmpeg_filter"].as_str() {
        Some(filter) => format!("{name} ({filter})"),
        None => name.to_string(),
    }
}

/// The manifest of `bytes` (a PNG or JPEG), or `None` if it carries none.
/// `anchors` are PEM roots to trust (none: every signer is untrusted).
pub fn read(bytes: &[u8], anchors: Option<&str>) -> Result<Option<C2paReport>, C2paError> {
    let format = format_of(bytes)?;
    let reader = match c2pa::Reader::from_context(offline_context(anchors)?)
        .with_stream(format, Cursor::new(bytes))
    {
        Ok(r) => r,
        Err(c2pa::Error::JumbfNotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let (mut failures, mut warnings) = (vec![], vec![]);
    if let Some(results) = reader
        .validation_results()
        .and_then(|r| r.active_manifest())
    {
        for code in codes(results.failure()) {
            if code.starts_with(UNTRUSTED) {
                warnings.push(code);
            } else {
                failures.push(code);
            }
        }
    }
    let state = format!("{:?}", reader.validation_state());
    let manifest = reader.active_manifest();
    let actions = manifest
        .and_then(|m| {
            m.find_assertion::<serde_json::Value>("c2pa.actions.v2")
                .ok()
        })
        .and_then(|a| {
            a["actions"]
                .as_array()
                .map(|v| v.iter().map(action_line).collect())
        })
        .unwrap_or_default();
    let raw = manifest.and_then(|m| m.find_assertion::<serde_json::Value>(MPEGS_LABEL).ok());
    let bundle = raw.as_ref().map(|v| {
        let bytes = serde_json::to_vec(v).expect("JSON values serialize");
        Bundle::from_json(&bytes).map_err(|e| e.to_string())
    });
    let valid = state != "Invalid" && failures.is_empty();
    Ok(Some(C2paReport {
        trusted: state == "Trusted",
        valid,
        state,
        generator: manifest
            .and_then(|m| m.claim_generator_info.as_ref())
            .and_then(|g| g.first())
            .map(|g| g.name.clone()),
        signer: manifest
            .and_then(|m| m.signature_info())
            .and_then(|s| s.common_name.clone()),
        actions,
        failures,
        warnings,
        has_mpegs: raw.is_some(),
        bundle,
    }))
}
