//! Producing bundles: attesting an original and proving a filter chain over it,
//! tile by tile with bounded memory, generating missing circuit keys on the way.

use crate::attest::{Capture, DeviceKey};
use crate::bundle::{
    AttestationRecord, Bundle, EditRecord, Kind, MediaRecord, StepRecord, TileProof, BUNDLE_VERSION,
};
use crate::ProvenanceError;
use mpegs_filters::circuit::TileCircuit;
use mpegs_filters::plan::{public_inputs, Step, TilePlan};
use mpegs_filters::{apply, FilterChain};
use mpegs_media::poseidon::fr_to_hex;
use mpegs_media::{Commitment, Frame, MediaHeader, Seed};
use mpegs_zk::backend::{proof_to_bytes, prove, setup, vk_hash, Pk};
use mpegs_zk::keys::KeyStore;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Tile proofs in flight at once (see `prove_step`).
pub const PARALLEL_TILES: usize = 2;

/// Receives progress of long work (the CLI draws bars; libraries stay quiet).
pub trait Progress: Sync {
    /// A new phase of `total` units begins (0: the total is not known in advance).
    fn phase(&self, label: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current phase ended.
    fn finish(&self);
}

/// Progress that goes nowhere.
pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

/// Signs a frame's commitment, blinded with `seed`, as a capture device. The
/// bundle keeps the media private (no seed); the caller keeps the seed
/// ([`crate::MediaSecret`]) or publishes it with [`Bundle::reveal`].
pub fn attest(
    frame: &Frame,
    key: &DeviceKey,
    tile: u32,
    seed: &Seed,
    device_id: &str,
    captured_at: u64,
) -> Result<Bundle, ProvenanceError> {
    let commitment = Commitment::of_frame(frame, tile, seed)?;
    let capture = Capture {
        commitment: commitment.value,
        format: frame.format(),
        width: frame.width(),
        height: frame.height(),
        captured_at,
        device_id: device_id.to_string(),
    };
    let signature = key.sign(&capture)?;
    Ok(Bundle {
        version: BUNDLE_VERSION,
        kind: Kind::Attestation,
        media: MediaRecord::new(commitment.header, commitment.value),
        attestation: Some(AttestationRecord {
            scheme: "eip712-secp256k1".into(),
            device: key.address(),
            device_id: device_id.to_string(),
            captured_at,
            signature: format!("0x{}", hex::encode(signature)),
        }),
        edit: None,
    })
}

/// Proves edits with keys from a store.
pub struct Prover<'a> {
    pub store: &'a KeyStore,
    pub progress: &'a dyn Progress,
    /// Deterministic randomness for tests only; `None` (OS randomness) otherwise.
    pub seed: Option<u64>,
}

impl Prover<'_> {
    fn rng(&self, salt: u64) -> ChaCha20Rng {
        match self.seed {
            Some(seed) => {
                ChaCha20Rng::seed_from_u64(seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            }
            None => ChaCha20Rng::from_rng(rand::rngs::OsRng).expect("OS randomness"),
        }
    }

    /// A fresh blinding seed for the output of step `index` (OS randomness, or
    /// derived from the test seed).
    fn blinding_seed(&self, index: usize) -> Seed {
        match self.seed {
            Some(_) => {
                let mut bytes = [0u8; 32];
                rand::RngCore::fill_bytes(&mut self.rng(0xb11d_0000 + index as u64), &mut bytes);
                Seed(bytes)
            }
            None => Seed::random(),
        }
    }

    /// Makes sure every circuit a step needs has keys; returns id → vk hash.
    pub fn ensure_keys(
        &self,
        step: &Step<'_>,
        plans: &[TilePlan],
    ) -> Result<BTreeMap<String, String>, ProvenanceError> {
        let mut representatives: BTreeMap<String, &TilePlan> = BTreeMap::new();
        for plan in plans {
            representatives
                .entry(step.circuit_id(&plan.shape))
                .or_insert(plan);
        }
        let missing: Vec<_> = representatives
            .iter()
            .filter(|(id, _)| !self.store.has_proving_key(id))
            .collect();
        if !missing.is_empty() {
            self.progress.phase(
                &format!("{}: generating keys", step.filter.name()),
                missing.len() as u64,
            );
            for (i, (id, plan)) in missing.iter().enumerate() {
                let circuit = TileCircuit::blank(step, plan);
                let (pk, vk) = setup(circuit, &mut self.rng(0x5e7u64 + i as u64))?;
                self.store
                    .store(id, &pk, &vk, &step.circuit_description(&plan.shape))?;
                self.progress.advance(1);
            }
            self.progress.finish();
        }
        let mut hashes = BTreeMap::new();
        for (id, plan) in &representatives {
            let vk = self
                .store
                .verifying_key_for(id, &step.circuit_description(&plan.shape))?
                .ok_or_else(|| mpegs_zk::ZkError::MissingKey(id.clone()))?;
            hashes.insert(id.clone(), vk_hash(&vk));
        }
        Ok(hashes)
    }

    /// Generates keys for every circuit of `chain` applied to frames of `header`.
    /// Returns (circuit id, vk hash) for each.
    pub fn setup_chain(
        &self,
        chain: &FilterChain,
        header: MediaHeader,
    ) -> Result<Vec<(String, String)>, ProvenanceError> {
        let mut out = vec![];
        let mut current = header;
        for filter in &chain.filters {
            let step = Step::new(filter.as_ref(), current)?;
            out.extend(self.ensure_keys(&step, &step.plans())?);
            current = step.output;
        }
        Ok(out)
    }

    /// Applies `chain` to `input` (described by `parent`, blinded with
    /// `input_seed`) and proves every step. Every step's output gets a fresh
    /// seed; only the last one, the published media, is revealed in the bundle,
    /// and the parent is embedded without its seed.
    pub fn edit(
        &self,
        input: &Frame,
        parent: Bundle,
        input_seed: &Seed,
        chain: &FilterChain,
    ) -> Result<(Frame, Bundle), ProvenanceError> {
        // Refuse an unsupported chain before spending any time proving.
        chain.shapes(input.info)?;
        let header = parent.media.header;
        let mut current_com = Commitment::of_frame(input, header.tile, input_seed)?;
        if current_com.header != header || current_com.value != parent.media.value()? {
            return Err(ProvenanceError::Input(
                "the input image does not match its bundle (different pixels, size or format)"
                    .into(),
            ));
        }
        let mut current = input.clone();
        let mut steps = Vec::with_capacity(chain.filters.len());
        for (index, filter) in chain.filters.iter().enumerate() {
            let step = Step::new(filter.as_ref(), current_com.header)?;
            let output = apply(filter.as_ref(), &current)?;
            let out_com = Commitment::of_frame(&output, header.tile, &self.blinding_seed(index))?;
            let plans = step.plans();
            let circuits = self.ensure_keys(&step, &plans)?;
            let tiles = self.prove_step(index, &step, &plans, &current, &current_com, &out_com)?;
            steps.push(StepRecord {
                filter: filter.canonical(),
                options: filter
                    .options()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                input: MediaRecord::new(current_com.header, current_com.value),
                output: MediaRecord::new(out_com.header, out_com.value),
                circuits,
                tiles,
            });
            current = output;
            current_com = out_com;
        }
        let mut parent = parent;
        parent.media = parent.media.private();
        let bundle = Bundle {
            version: BUNDLE_VERSION,
            kind: Kind::Edit,
            media: MediaRecord::published(current_com.header, current_com.value, current_com.seed),
            attestation: None,
            edit: Some(EditRecord {
                filtergraph: chain.canonical(),
                steps,
                parent: Box::new(parent),
            }),
        };
        Ok((current, bundle))
    }

    fn prove_step(
        &self,
        index: usize,
        step: &Step<'_>,
        plans: &[TilePlan],
        input: &Frame,
        c_in: &Commitment,
        c_out: &Commitment,
    ) -> Result<Vec<TileProof>, ProvenanceError> {
        self.progress.phase(
            &format!("step {}: proving {}", index + 1, step.filter.canonical()),
            plans.len() as u64,
        );
        let mut by_circuit: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, plan) in plans.iter().enumerate() {
            by_circuit
                .entry(step.circuit_id(&plan.shape))
                .or_default()
                .push(i);
        }
        let mut proofs: Vec<Option<TileProof>> = vec![None; plans.len()];
        for (id, tiles) in &by_circuit {
            // One proving key in memory at a time, and exactly PARALLEL_TILES proofs
            // in flight: single-threaded synthesis of one overlaps the parallel
            // MSMs/FFTs of the other. The workers are plain threads, not rayon
            // tasks: a rayon task waiting on the prover's inner parallelism would
            // steal further tile tasks and keep dozens of proofs (≈1 GB each) alive.
            let pk = self
                .store
                .proving_key(id)?
                .ok_or_else(|| mpegs_zk::ZkError::MissingKey(id.clone()))?;
            let next = AtomicUsize::new(0);
            let results = Mutex::new(Vec::with_capacity(tiles.len()));
            std::thread::scope(|scope| {
                for _ in 0..PARALLEL_TILES {
                    scope.spawn(|| {
                        while let Some(&i) = tiles.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let outcome = self
                                .prove_tile(index, i, id, &pk, step, &plans[i], input, c_in, c_out);
                            let failed = outcome.is_err();
                            results
                                .lock()
                                .expect("results lock")
                                .push(outcome.map(|p| (i, p)));
                            if failed {
                                next.store(tiles.len(), Ordering::Relaxed);
                            }
                        }
                    });
                }
            });
            let done: Vec<(usize, TileProof)> = results
                .into_inner()
                .expect("results lock")
                .into_iter()
                .collect::<Result<_, ProvenanceError>>()?;
            for (i, p) in done {
                proofs[i] = Some(p);
            }
        }
        self.progress.finish();
        Ok(proofs
            .into_iter()
            .map(|p| p.expect("every tile proven"))
            .collect())
    }

    #[allow(clippy::too_many_arguments)]
    fn prove_tile(
        &self,
        step_index: usize,
        tile_index: usize,
        id: &str,
        pk: &Pk,
        step: &Step<'_>,
        plan: &TilePlan,
        input: &Frame,
        c_in: &Commitment,
        c_out: &Commitment,
    ) -> Result<TileProof, ProvenanceError> {
        let circuit = TileCircuit::new(step, plan, input, c_in, c_out);
        let salt = ((step_index as u64) << 32) | tile_index as u64;
        let proof = prove(pk, circuit, &mut self.rng(salt))?;
        self.progress.advance(1);
        Ok(TileProof {
            tile: [plan.out_tile.0, plan.out_tile.1],
            circuit: id.to_string(),
            public_inputs: public_inputs(c_in.value, c_out.value, plan)
                .iter()
                .map(fr_to_hex)
                .collect(),
            proof: format!("0x{}", hex::encode(proof_to_bytes(&proof))),
        })
    }
}
