//! Verifying bundles (design.md §5): trust nothing in the bundle. Recompute the
//! media's commitment from its pixels, re-derive every step's output shape, tile
//! windows, circuit ids and public inputs from the public filter parameters, check
//! each proof against a verifying key from a source the verifier trusts (its local
//! key store, or a key set a browser page was given: [`KeySource`]; the bundle only
//! pins keys by hash), and walk the chain back to a valid device signature. Report
//! what failed, and where.

use crate::attest::{recover, Capture};
use crate::bundle::{Bundle, Kind, MediaRecord, StepRecord};
use mpegs_filters::parse_filtergraph;
use mpegs_filters::plan::{public_inputs, Step};
use mpegs_media::poseidon::fr_from_hex;
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::{Commitment, Frame, Seed};
use mpegs_zk::backend::{batch_verify, prepare, proof_from_bytes, verify, vk_hash, BatchItem, Vk};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use mpegs_zk::keys::{KeySet, KeySource};

/// Who captured the original.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OriginReport {
    pub device: String,
    pub device_id: String,
    pub captured_at: u64,
    pub media: MediaRecord,
}

/// One verified edit step.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct StepReport {
    pub filter: String,
    pub input: MediaRecord,
    pub output: MediaRecord,
    pub tiles: usize,
    pub circuits: usize,
}

/// The outcome of verifying a media file against its bundle.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Report {
    pub valid: bool,
    /// Why verification failed (absent when valid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub media: MediaRecord,
    pub origin: Option<OriginReport>,
    /// Edit steps, oldest first (those checked before any failure).
    pub steps: Vec<StepReport>,
    pub proofs_verified: usize,
}

/// Receives verification progress: `done` of `total` units of work, and what is
/// being checked now. Units: one for the pixels' commitment, one per device
/// signature, one per tile proof; it is called at least once per edit step and
/// after every batch of proofs.
pub type VerifyProgress<'a> = &'a mut dyn FnMut(usize, usize, &str);

/// Proofs verified per batch: one multi-pairing each. Larger batches share more
/// pairings per key; smaller ones report progress more often (the browser draws a
/// bar from it).
pub const BATCH_PROOFS: usize = 32;

struct Checker<'a, 'p> {
    keys_from: &'a dyn KeySource,
    /// Trusted keys by circuit id, with their hashes (one `Arc` per circuit, so a
    /// batch groups all proofs of a circuit under one key).
    keys: HashMap<String, (Arc<Vk>, String)>,
    origin: Option<OriginReport>,
    steps: Vec<StepReport>,
    proofs: usize,
    progress: VerifyProgress<'p>,
    /// Set by the caller to stop early (a server whose client gave up).
    cancel: &'p AtomicBool,
    done: usize,
    total: usize,
}

/// The reason of a report whose verification was stopped by its caller.
pub const CANCELLED: &str = "verification cancelled";

/// Verifies `frame` against `bundle` with verifying keys from `keys` (a
/// [`mpegs_zk::keys::KeyStore`], say); the bundle must reveal its media's seed
/// (published media).
pub fn verify_media(frame: &Frame, bundle: &Bundle, keys: &dyn KeySource) -> Report {
    verify_private_media(frame, bundle, None, keys)
}

/// Verifies like [`verify_media`]; for private media (a bundle that reveals no
/// seed, such as an attested original) the owner supplies the seed from its
/// secret file. A seed the bundle reveals takes precedence.
pub fn verify_private_media(
    frame: &Frame,
    bundle: &Bundle,
    secret: Option<&Seed>,
    keys: &dyn KeySource,
) -> Report {
    verify_with_progress(frame, bundle, secret, keys, &mut |_, _, _| {})
}

/// [`verify_private_media`], telling `progress` how far it got.
pub fn verify_with_progress(
    frame: &Frame,
    bundle: &Bundle,
    secret: Option<&Seed>,
    keys: &dyn KeySource,
    progress: VerifyProgress<'_>,
) -> Report {
    verify_cancellable(
        frame,
        bundle,
        secret,
        keys,
        progress,
        &AtomicBool::new(false),
    )
}

/// [`verify_with_progress`] that stops once `cancel` is set: it is looked at
/// before every edit step and every batch of [`BATCH_PROOFS`] proofs, so the
/// work left after it is set is at most one batch. A stopped verification is
/// invalid with the reason [`CANCELLED`].
pub fn verify_cancellable(
    frame: &Frame,
    bundle: &Bundle,
    secret: Option<&Seed>,
    keys: &dyn KeySource,
    progress: VerifyProgress<'_>,
    cancel: &AtomicBool,
) -> Report {
    let mut checker = Checker {
        cancel,
        keys_from: keys,
        keys: HashMap::new(),
        origin: None,
        steps: vec![],
        proofs: 0,
        progress,
        done: 0,
        total: 1 + work(bundle),
    };
    let seed = bundle.media.seed.as_ref().or(secret);
    checker.report("media commitment");
    let outcome = check_pixels(frame, bundle, seed).and_then(|()| {
        checker.advance(1, "device signature");
        checker.check(bundle)
    });
    if outcome.is_ok() {
        checker.report("done");
    }
    Report {
        valid: outcome.is_ok(),
        reason: outcome.err(),
        media: bundle.media.clone(),
        origin: checker.origin,
        steps: checker.steps,
        proofs_verified: checker.proofs,
    }
}

/// Units of work in a bundle's history: one per signature, one per tile proof.
fn work(bundle: &Bundle) -> usize {
    match &bundle.edit {
        None => 1,
        Some(edit) => work(&edit.parent) + edit.steps.iter().map(|s| s.tiles.len()).sum::<usize>(),
    }
}

fn check_pixels(frame: &Frame, bundle: &Bundle, seed: Option<&Seed>) -> Result<(), String> {
    let h = bundle.media.header;
    if frame.info != h.info() {
        return Err(format!(
            "the media is {} but the bundle describes {}",
            frame.info,
            h.info()
        ));
    }
    let seed = seed.ok_or(
        "the bundle keeps its media private (no blinding seed revealed), so its pixels cannot be \
         checked against the commitment; its owner verifies with the secret file (--secret)",
    )?;
    let actual = Commitment::of_frame(frame, h.tile, seed).map_err(|e| e.to_string())?;
    if actual.value != bundle.media.value().map_err(|e| e.to_string())? {
        return Err(
            "the media's pixels do not match the bundle's commitment (the file was altered)".into(),
        );
    }
    Ok(())
}

/// `0x` + lowercase hex digits, the one spelling writers produce (so a bundle
/// cannot differ from a verified one in an unchecked way).
fn strict_hex(s: &str) -> Option<Vec<u8>> {
    let digits = s.strip_prefix("0x")?;
    if digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    hex::decode(digits).ok()
}

fn same_media(a: &MediaRecord, b: &MediaRecord) -> bool {
    a.header == b.header
        && fr_from_hex(&a.commitment).ok().is_some()
        && fr_from_hex(&a.commitment) == fr_from_hex(&b.commitment)
}

impl Checker<'_, '_> {
    fn report(&mut self, stage: &str) {
        (self.progress)(self.done.min(self.total), self.total, stage);
    }

    fn advance(&mut self, units: usize, stage: &str) {
        self.done += units;
        self.report(stage);
    }

    fn cancelled(&self) -> Result<(), String> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(CANCELLED.into())
        } else {
            Ok(())
        }
    }

    fn check(&mut self, bundle: &Bundle) -> Result<(), String> {
        self.cancelled()?;
        match bundle.kind {
            Kind::Attestation => self.check_attestation(bundle),
            Kind::Edit => {
                let edit = bundle
                    .edit
                    .as_ref()
                    .ok_or("edit bundle without an edit record")?;
                self.check(&edit.parent)?;
                if !same_media(&edit.steps[0].input, &edit.parent.media) {
                    return Err("step 1's input is not the parent media".into());
                }
                let names: Vec<&str> = edit.steps.iter().map(|s| s.filter.as_str()).collect();
                if edit.filtergraph != names.join(",") {
                    return Err("the filtergraph does not match its steps".into());
                }
                for (i, step) in edit.steps.iter().enumerate() {
                    if i > 0 && !same_media(&step.input, &edit.steps[i - 1].output) {
                        return Err(format!("step {}'s input is not step {i}'s output", i + 1));
                    }
                    self.cancelled()?;
                    let stage = format!("step {} ({})", i + 1, step.filter);
                    self.report(&stage);
                    self.check_step(step, &stage).map_err(|e| {
                        // A stop is the caller's, not the step's fault.
                        if e == CANCELLED {
                            e
                        } else {
                            format!("{stage}: {e}")
                        }
                    })?;
                }
                let last = edit.steps.last().expect("structure checked");
                if !same_media(&last.output, &bundle.media) {
                    return Err("the last step's output is not the bundle's media".into());
                }
                Ok(())
            }
        }
    }

    fn check_attestation(&mut self, bundle: &Bundle) -> Result<(), String> {
        let a = bundle
            .attestation
            .as_ref()
            .ok_or("attestation bundle without an attestation")?;
        if a.scheme != "eip712-secp256k1" {
            return Err(format!("unknown attestation scheme '{}'", a.scheme));
        }
        let h = bundle.media.header;
        let capture = Capture {
            commitment: bundle.media.value().map_err(|e| e.to_string())?,
            format: h.format,
            width: h.width,
            height: h.height,
            captured_at: a.captured_at,
            device_id: a.device_id.clone(),
        };
        let signature = strict_hex(&a.signature)
            .ok_or_else(|| "the device signature is not 0x-prefixed lowercase hex".to_string())?;
        let signer = recover(&capture, &signature).map_err(|e| format!("device signature: {e}"))?;
        if signer != a.device {
            return Err(format!(
                "device signature invalid: signed by {signer}, bundle claims {}",
                a.device
            ));
        }
        self.origin = Some(OriginReport {
            device: signer,
            device_id: a.device_id.clone(),
            captured_at: a.captured_at,
            media: bundle.media.clone(),
        });
        self.advance(1, "device signature verified");
        Ok(())
    }

    /// The trusted key for a circuit, loaded once: the store's description of it
    /// must be the one recomputed from the step (design.md §6), and its hash the
    /// bundle's pin.
    fn key(
        &mut self,
        id: &str,
        pinned: &str,
        describe: impl FnOnce() -> serde_json::Value,
    ) -> Result<Arc<Vk>, String> {
        if !self.keys.contains_key(id) {
            let vk = self
                .keys_from
                .verifying_key_for(id, &describe())
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!("no verifying key for circuit {id} in the local key store (import a trusted key set with `mpegs keys import`)")
                })?;
            let hash = vk_hash(&vk);
            self.keys.insert(id.to_string(), (Arc::new(vk), hash));
        }
        let (vk, actual) = &self.keys[id];
        if actual != pinned {
            return Err(format!(
                "circuit {id}: the bundle pins verifying key {pinned}, the trusted store has {actual}"
            ));
        }
        Ok(Arc::clone(vk))
    }

    fn check_step(&mut self, record: &StepRecord, stage: &str) -> Result<(), String> {
        let chain = parse_filtergraph(&record.filter).map_err(|e| e.to_string())?;
        if chain.filters.len() != 1 || chain.canonical() != record.filter {
            return Err("not a single filter in canonical form".into());
        }
        let filter = chain.filters[0].as_ref();
        // `options` is redundant with `filter` (readers display it): it must say
        // exactly what the verified filter string says.
        let options: BTreeMap<String, String> = filter
            .options()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        if options != record.options {
            return Err("the step's options differ from its filter string".into());
        }
        let step = Step::new(filter, record.input.header).map_err(|e| e.to_string())?;
        if step.output != record.output.header {
            return Err(format!(
                "output should be {:?} for this input, bundle says {:?}",
                step.output, record.output.header
            ));
        }
        let c_in = record.input.value().map_err(|e| e.to_string())?;
        let c_out = record.output.value().map_err(|e| e.to_string())?;
        // Compare counts before planning: plans cost work per output pixel, and
        // the number of records is bounded by the bundle's size.
        if record.tiles.len() != step.output.tile_count() {
            return Err(format!(
                "{} tile proofs for {} output tiles",
                record.tiles.len(),
                step.output.tile_count()
            ));
        }
        let plans = step.plans();
        let mut used = BTreeSet::new();
        let mut keys = Vec::with_capacity(plans.len());
        let mut inputs = Vec::with_capacity(plans.len());
        let mut encoded = Vec::with_capacity(plans.len());
        for (plan, tile) in plans.iter().zip(&record.tiles) {
            let at = format!("tile ({}, {})", plan.out_tile.0, plan.out_tile.1);
            if tile.tile != [plan.out_tile.0, plan.out_tile.1] {
                return Err(format!(
                    "{at}: proofs are out of order or for the wrong tile"
                ));
            }
            let id = step.circuit_id(&plan.shape);
            if tile.circuit != id {
                return Err(format!(
                    "{at}: proof claims circuit {}, expected {id}",
                    tile.circuit
                ));
            }
            let pinned = record
                .circuits
                .get(&id)
                .ok_or_else(|| format!("{at}: circuit {id} has no pinned verifying key"))?;
            keys.push(self.key(&id, pinned, || step.circuit_description(&plan.shape))?);
            used.insert(id);
            let expected = public_inputs(c_in, c_out, plan);
            let canonical: Vec<String> = expected.iter().map(fr_to_hex).collect();
            if tile.public_inputs != canonical {
                return Err(format!(
                    "{at}: public inputs differ from those recomputed from the step"
                ));
            }
            let bytes = strict_hex(&tile.proof)
                .ok_or_else(|| format!("{at}: proof is not 0x-prefixed lowercase hex"))?;
            encoded.push((at, bytes));
            inputs.push(expected);
        }
        // Every pinned key must be one a tile uses: an unused pin would be an
        // unverified field that readers might display.
        if record.circuits.len() != used.len() {
            return Err("the step pins verifying keys of circuits none of its tiles use".into());
        }
        // In batches (progress after each): decoding checks curve and subgroup
        // membership (the costly part, in parallel), then one multi-pairing.
        let mut checked = 0;
        for (batch, ((encoded, inputs), keys)) in encoded
            .chunks(BATCH_PROOFS)
            .zip(inputs.chunks(BATCH_PROOFS))
            .zip(keys.chunks(BATCH_PROOFS))
            .enumerate()
        {
            self.cancelled()?;
            let proofs = encoded
                .par_iter()
                .map(|(at, bytes)| proof_from_bytes(bytes).map_err(|e| format!("{at}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            let items: Vec<BatchItem<'_>> = keys
                .iter()
                .zip(inputs)
                .zip(proofs)
                .map(|((vk, public), proof)| BatchItem {
                    vk: vk.as_ref(),
                    public: public.clone(),
                    proof,
                })
                .collect();
            if !batch_verify(&items) {
                // Name the first failing tile.
                let plans = &plans[batch * BATCH_PROOFS..];
                for (item, plan) in items.iter().zip(plans) {
                    if !verify(&prepare(item.vk), &item.public, &item.proof).unwrap_or(false) {
                        return Err(format!(
                            "tile ({}, {}): proof does not verify",
                            plan.out_tile.0, plan.out_tile.1
                        ));
                    }
                }
                return Err("batch verification failed".into());
            }
            checked += items.len();
            self.advance(items.len(), stage);
        }
        self.proofs += checked;
        self.steps.push(StepReport {
            filter: record.filter.clone(),
            input: record.input.clone(),
            output: record.output.clone(),
            tiles: plans.len(),
            circuits: record.circuits.len(),
        });
        Ok(())
    }
}
