//! The manifest an mpegs output gets, made from its bundle (docs/c2pa.md §2).
//!
//! - the private original is a `parentOf` ingredient with no file and no hash (the
//!   file is never published), known by its commitment and device attestation;
//! - `c2pa.actions`: `c2pa.opened` of that ingredient, then one action per edit
//!   step, the closest standard C2PA action, with the ffmpeg filter string and the
//!   number of tile proofs in its parameters;
//! - `org.mpegs.bundle`: the bundle itself (added by [`crate::sign`]).

use mpegs_provenance::bundle::{Bundle, StepRecord};
use serde_json::{json, Value};

/// Label of the original's ingredient, referenced by the `c2pa.opened` action.
const ORIGINAL: &str = "mpegs-original";

/// The standard C2PA action closest to an mpegs filter.
pub fn action_for(filter: &str) -> &'static str {
    let name = filter.split(['=', ':']).next().unwrap_or("");
    match name {
        "crop" => "c2pa.cropped",
        "scale" => "c2pa.resized",
        "hflip" | "vflip" | "transpose" | "rotate" => "c2pa.orientation",
        "format" | "eq" | "negate" | "hue" | "colorchannelmixer" | "lut" | "curves" => {
            "c2pa.color_adjustments"
        }
        "drawbox" | "boxblur" | "gblur" | "pixelize" => "c2pa.drawing",
        "overlay" => "c2pa.placed",
        _ => "c2pa.filtered",
    }
}

fn software_agent() -> Value {
    json!({ "name": "mpegs", "version": env!("CARGO_PKG_VERSION") })
}

fn step_action(index: usize, step: &StepRecord) -> Value {
    json!({
        "action": action_for(&step.filter),
        "softwareAgent": software_agent(),
        "description": format!("ffmpeg filter {}, proven in zero knowledge (Groth16)", step.filter),
        "parameters": {
            "org.mpegs.ffmpeg_filter": step.filter,
            "org.mpegs.step": index + 1,
            "org.mpegs.tile_proofs": step.tiles.len(),
        }
    })
}

/// The original as an ingredient that points at no file.
fn original_ingredient(bundle: &Bundle) -> Value {
    let origin = bundle.origin();
    let device = origin.attestation.as_ref().map(|a| {
        json!({
            "address": a.device,
            "device_id": a.device_id,
            "captured_at": a.captured_at,
            "scheme": a.scheme,
            "signature": a.signature,
        })
    });
    json!({
        "title": "private original (never published)",
        "format": "image/png",
        "relationship": "parentOf",
        "label": ORIGINAL,
        "instance_id": format!("mpegs:commitment:{}", origin.media.commitment),
        "description": "The original capture, known by its hiding Poseidon commitment and its \
                        device's signature; the file itself is not published",
        "metadata": {
            "org.mpegs.commitment": origin.media.commitment,
            "org.mpegs.device": device,
        }
    })
}

/// The manifest definition (c2pa-rs `Builder` JSON) for a file carrying `bundle`.
pub fn definition(bundle: &Bundle, format: &str, title: &str) -> Value {
    let mut actions = vec![json!({
        "action": "c2pa.opened",
        "softwareAgent": software_agent(),
        "parameters": { "ingredientIds": [ORIGINAL] }
    })];
    if let Some(edit) = &bundle.edit {
        actions.extend(
            edit.steps
                .iter()
                .enumerate()
                .map(|(i, s)| step_action(i, s)),
        );
    }
    json!({
        "title": title,
        "format": format,
        "claim_generator_info": [software_agent()],
        "ingredients": [original_ingredient(bundle)],
        "assertions": [{ "label": "c2pa.actions", "data": { "actions": actions } }]
    })
}
