//! Producing bundles: attesting an original and proving a filter chain over it,
//! tile by tile with bounded memory, generating missing circuit keys on the way.
//!
//! Proving is split so it can be distributed: an [`EditPlan`] works the edit out
//! natively (every step's frame, commitment and tile plans) from inputs that fully
//! determine it, so any number of machines holding those inputs can prove single
//! tiles ([`EditPlan::prove_tile`]) and one of them assembles the bundle
//! ([`EditPlan::bundle`]). [`Prover::edit`] is the single-machine path over it.

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

/// Where proving draws its randomness: key generation (whoever can replay it can
/// forge proofs), proof blinding and fresh commitment seeds. Production code uses
/// [`OsEntropy`]; a reproducible source for tests lives in the dev-only
/// `mpegs-testkit` crate, so no production crate offers forgeable keys.
pub trait Entropy: Sync {
    /// A generator for one use, told apart from the others by `salt`.
    fn rng(&self, salt: u64) -> ChaCha20Rng;
}

/// The operating system's randomness.
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn rng(&self, _salt: u64) -> ChaCha20Rng {
        ChaCha20Rng::from_rng(rand::rngs::OsRng).expect("OS randomness")
    }
}

/// Salts that keep the uses of one entropy source apart.
const SALT_KEYS: u64 = 0x5e7;
const SALT_SEEDS: u64 = 0xb11d_0000;

/// A fresh commitment seed for the output of step `index`.
pub fn blinding_seed(entropy: &dyn Entropy, index: usize) -> Seed {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut entropy.rng(SALT_SEEDS + index as u64), &mut bytes);
    Seed(bytes)
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

/// One circuit an edit needs keys for, with a tile that represents it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CircuitNeed {
    pub id: String,
    pub step: usize,
    pub tile: usize,
}

/// Everything needed to generate one circuit's keys, without any media: the
/// filter (canonical), the header of its input and a tile that uses the circuit.
/// A job queue stores these so that one worker generates each key.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CircuitRecipe {
    pub id: String,
    pub filter: String,
    pub input: MediaHeader,
    pub tile: usize,
}

impl CircuitRecipe {
    /// Generates and stores the circuit's keys unless the store has them; returns
    /// the verifying key's hash.
    pub fn setup(
        &self,
        store: &KeyStore,
        entropy: &dyn Entropy,
    ) -> Result<String, ProvenanceError> {
        let chain = mpegs_filters::parse_filtergraph(&self.filter)?;
        let [filter] = chain.filters.as_slice() else {
            return Err(ProvenanceError::Input(format!(
                "a circuit recipe names one filter, not {:?}",
                self.filter
            )));
        };
        let step = Step::new(filter.as_ref(), self.input)?;
        let plans = step.plans();
        let plan = plans.get(self.tile).ok_or_else(|| {
            ProvenanceError::Input(format!("circuit recipe: no tile {}", self.tile))
        })?;
        if step.circuit_id(&plan.shape) != self.id {
            return Err(ProvenanceError::Input(format!(
                "circuit recipe: tile {} of {} is not circuit {}",
                self.tile, self.filter, self.id
            )));
        }
        let description = step.circuit_description(&plan.shape);
        if !store.has_proving_key(&self.id) {
            let (pk, vk) = setup(TileCircuit::blank(&step, plan), &mut entropy.rng(SALT_KEYS))?;
            store.store(&self.id, &pk, &vk, &description)?;
        }
        let vk = store
            .verifying_key_for(&self.id, &description)?
            .ok_or_else(|| mpegs_zk::ZkError::MissingKey(self.id.clone()))?;
        Ok(vk_hash(&vk))
    }
}

/// The shape of an edit's proving work, from headers alone (no pixels): the
/// circuit of every tile (`tiles[step][tile]`) and one recipe per circuit.
#[derive(Clone, Debug)]
pub struct EditWork {
    pub tiles: Vec<Vec<String>>,
    pub circuits: Vec<CircuitRecipe>,
}

impl EditWork {
    pub fn of(chain: &FilterChain, input: MediaHeader) -> Result<Self, ProvenanceError> {
        let mut tiles = vec![];
        let mut circuits: Vec<CircuitRecipe> = vec![];
        let mut current = input;
        for filter in &chain.filters {
            let step = Step::new(filter.as_ref(), current)?;
            let mut ids = vec![];
            for (tile, plan) in step.plans().iter().enumerate() {
                let id = step.circuit_id(&plan.shape);
                if !circuits.iter().any(|c| c.id == id) {
                    circuits.push(CircuitRecipe {
                        id: id.clone(),
                        filter: filter.canonical(),
                        input: current,
                        tile,
                    });
                }
                ids.push(id);
            }
            tiles.push(ids);
            current = step.output;
        }
        Ok(Self { tiles, circuits })
    }

    pub fn total_tiles(&self) -> usize {
        self.tiles.iter().map(Vec::len).sum()
    }
}

/// An edit worked out natively, ready to be proven tile by tile.
///
/// Everything in it follows from (input frame, input seed, filter chain, output
/// seeds), so machines that share those build identical plans and their tile
/// proofs fit one bundle.
pub struct EditPlan {
    chain: FilterChain,
    /// `frames[i]` is step i's input; the last one is the edited output.
    frames: Vec<Frame>,
    /// `commitments[i]` commits to `frames[i]`.
    commitments: Vec<Commitment>,
    plans: Vec<Vec<TilePlan>>,
}

impl EditPlan {
    /// Applies `chain` to `input` and commits to every step's output with
    /// `seeds[i]` (one per step). Refuses an input that does not match `parent`.
    pub fn new(
        input: Frame,
        parent: &MediaRecord,
        input_seed: &Seed,
        chain: &FilterChain,
        seeds: &[Seed],
    ) -> Result<Self, ProvenanceError> {
        // The plan shares the chain's filter instances (an overlay's watermark
        // pixels live only in its instance, not in its canonical text).
        let chain = chain.clone();
        if seeds.len() != chain.filters.len() {
            return Err(ProvenanceError::Input(format!(
                "{} output seeds for a chain of {} filters",
                seeds.len(),
                chain.filters.len()
            )));
        }
        // Refuse an unsupported chain before any work.
        chain.shapes(input.info)?;
        let header = parent.header;
        let first = Commitment::of_frame(&input, header.tile, input_seed)?;
        if first.header != header || first.value != parent.value()? {
            return Err(ProvenanceError::Input(
                "the input image does not match its bundle (different pixels, size or format)"
                    .into(),
            ));
        }
        let mut frames = vec![input];
        let mut commitments = vec![first];
        let mut plans = Vec::with_capacity(seeds.len());
        for (filter, seed) in chain.filters.iter().zip(seeds) {
            let current = frames.last().expect("at least the input");
            let step = Step::new(filter.as_ref(), commitments.last().expect("input").header)?;
            plans.push(step.plans());
            let output = apply(filter.as_ref(), current)?;
            commitments.push(Commitment::of_frame(&output, header.tile, seed)?);
            frames.push(output);
        }
        Ok(Self {
            chain,
            frames,
            commitments,
            plans,
        })
    }

    pub fn chain(&self) -> &FilterChain {
        &self.chain
    }

    /// Number of steps (filters).
    pub fn steps(&self) -> usize {
        self.plans.len()
    }

    /// Output tiles of step `step`.
    pub fn tiles(&self, step: usize) -> usize {
        self.plans.get(step).map_or(0, Vec::len)
    }

    /// Tile proofs the whole edit needs.
    pub fn total_tiles(&self) -> usize {
        self.plans.iter().map(Vec::len).sum()
    }

    /// The edited frame.
    pub fn output(&self) -> &Frame {
        self.frames.last().expect("at least the input")
    }

    /// The edited frame's commitment.
    pub fn output_commitment(&self) -> &Commitment {
        self.commitments.last().expect("at least the input")
    }

    fn step(&self, index: usize) -> Result<Step<'_>, ProvenanceError> {
        let filter = self
            .chain
            .filters
            .get(index)
            .ok_or_else(|| ProvenanceError::Input(format!("no step {index} in this edit")))?;
        Ok(Step::new(filter.as_ref(), self.commitments[index].header)?)
    }

    fn plan(&self, step: usize, tile: usize) -> Result<&TilePlan, ProvenanceError> {
        self.plans
            .get(step)
            .and_then(|p| p.get(tile))
            .ok_or_else(|| ProvenanceError::Input(format!("no tile {tile} in step {step}")))
    }

    /// The circuit id proving tile `tile` of step `step`.
    pub fn circuit_id(&self, step: usize, tile: usize) -> Result<String, ProvenanceError> {
        Ok(self.step(step)?.circuit_id(&self.plan(step, tile)?.shape))
    }

    /// Every circuit the edit uses, once each, in step order.
    pub fn circuits(&self) -> Result<Vec<CircuitNeed>, ProvenanceError> {
        let mut seen = std::collections::BTreeSet::new();
        let mut out = vec![];
        for step in 0..self.steps() {
            for tile in 0..self.tiles(step) {
                let id = self.circuit_id(step, tile)?;
                if seen.insert(id.clone()) {
                    out.push(CircuitNeed { id, step, tile });
                }
            }
        }
        Ok(out)
    }

    /// Generates and stores the keys of `need` (skipped when the store has them).
    pub fn setup_keys(
        &self,
        need: &CircuitNeed,
        store: &KeyStore,
        entropy: &dyn Entropy,
    ) -> Result<String, ProvenanceError> {
        let step = self.step(need.step)?;
        let plan = self.plan(need.step, need.tile)?;
        let description = step.circuit_description(&plan.shape);
        if !store.has_proving_key(&need.id) {
            let salt = SALT_KEYS ^ ((need.step as u64) << 40) ^ need.tile as u64;
            let (pk, vk) = setup(TileCircuit::blank(&step, plan), &mut entropy.rng(salt))?;
            store.store(&need.id, &pk, &vk, &description)?;
        }
        let vk = store
            .verifying_key_for(&need.id, &description)?
            .ok_or_else(|| mpegs_zk::ZkError::MissingKey(need.id.clone()))?;
        Ok(vk_hash(&vk))
    }

    /// Proves tile `tile` of step `step` with `pk`, the proving key of its circuit.
    pub fn prove_tile(
        &self,
        step: usize,
        tile: usize,
        pk: &Pk,
        entropy: &dyn Entropy,
    ) -> Result<TileProof, ProvenanceError> {
        let s = self.step(step)?;
        let plan = self.plan(step, tile)?;
        let (c_in, c_out) = (&self.commitments[step], &self.commitments[step + 1]);
        let circuit = TileCircuit::new(&s, plan, &self.frames[step], c_in, c_out);
        let salt = ((step as u64) << 32) | tile as u64;
        let proof = prove(pk, circuit, &mut entropy.rng(salt))?;
        Ok(TileProof {
            tile: [plan.out_tile.0, plan.out_tile.1],
            circuit: s.circuit_id(&plan.shape),
            public_inputs: public_inputs(c_in.value, c_out.value, plan)
                .iter()
                .map(fr_to_hex)
                .collect(),
            proof: format!("0x{}", hex::encode(proof_to_bytes(&proof))),
        })
    }

    /// Assembles the bundle of the edited media from every tile's proof
    /// (`proofs[step][tile]`) and the pinned key hashes (circuit id → vk hash).
    /// Only the output's seed is revealed; `parent` is embedded without its seed.
    pub fn bundle(
        &self,
        parent: Bundle,
        proofs: Vec<Vec<TileProof>>,
        key_hashes: &BTreeMap<String, String>,
    ) -> Result<Bundle, ProvenanceError> {
        if proofs.len() != self.steps() {
            return Err(ProvenanceError::Input(format!(
                "proofs for {} steps, the edit has {}",
                proofs.len(),
                self.steps()
            )));
        }
        let mut steps = Vec::with_capacity(self.steps());
        for (index, tiles) in proofs.into_iter().enumerate() {
            if tiles.len() != self.tiles(index) {
                return Err(ProvenanceError::Input(format!(
                    "step {index}: {} proofs for {} tiles",
                    tiles.len(),
                    self.tiles(index)
                )));
            }
            let mut circuits = BTreeMap::new();
            for t in &tiles {
                let hash = key_hashes.get(&t.circuit).ok_or_else(|| {
                    ProvenanceError::Input(format!("no key hash for circuit {}", t.circuit))
                })?;
                circuits.insert(t.circuit.clone(), hash.clone());
            }
            let filter = &self.chain.filters[index];
            let (c_in, c_out) = (&self.commitments[index], &self.commitments[index + 1]);
            steps.push(StepRecord {
                filter: filter.canonical(),
                options: filter
                    .options()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                input: MediaRecord::new(c_in.header, c_in.value),
                output: MediaRecord::new(c_out.header, c_out.value),
                circuits,
                tiles,
            });
        }
        let mut parent = parent;
        parent.media = parent.media.private();
        let out = self.output_commitment();
        Ok(Bundle {
            version: BUNDLE_VERSION,
            kind: Kind::Edit,
            media: MediaRecord::published(out.header, out.value, out.seed),
            attestation: None,
            edit: Some(EditRecord {
                filtergraph: self.chain.canonical(),
                steps,
                parent: Box::new(parent),
            }),
        })
    }
}

/// Proves edits on this machine with keys from a store.
pub struct Prover<'a> {
    pub store: &'a KeyStore,
    pub progress: &'a dyn Progress,
    pub entropy: &'a dyn Entropy,
}

impl<'a> Prover<'a> {
    /// A prover drawing on the operating system's randomness.
    pub fn new(store: &'a KeyStore, progress: &'a dyn Progress) -> Self {
        Self {
            store,
            progress,
            entropy: &OsEntropy,
        }
    }

    /// Makes sure every circuit of `plan` has keys; returns id → vk hash.
    pub fn ensure_keys(
        &self,
        plan: &EditPlan,
    ) -> Result<BTreeMap<String, String>, ProvenanceError> {
        let needs = plan.circuits()?;
        let missing = needs
            .iter()
            .filter(|n| !self.store.has_proving_key(&n.id))
            .count();
        if missing > 0 {
            self.progress
                .phase("generating circuit keys", missing as u64);
        }
        let mut hashes = BTreeMap::new();
        for need in &needs {
            let had = self.store.has_proving_key(&need.id);
            hashes.insert(
                need.id.clone(),
                plan.setup_keys(need, self.store, self.entropy)?,
            );
            if !had {
                self.progress.advance(1);
            }
        }
        if missing > 0 {
            self.progress.finish();
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
            let mut seen = BTreeMap::new();
            for plan in step.plans() {
                seen.entry(step.circuit_id(&plan.shape)).or_insert(plan);
            }
            let missing = seen
                .keys()
                .filter(|id| !self.store.has_proving_key(id))
                .count();
            if missing > 0 {
                self.progress.phase(
                    &format!("{}: generating keys", step.filter.name()),
                    missing as u64,
                );
            }
            for (i, (id, plan)) in seen.iter().enumerate() {
                let description = step.circuit_description(&plan.shape);
                if !self.store.has_proving_key(id) {
                    let salt = SALT_KEYS ^ ((out.len() as u64) << 40) ^ i as u64;
                    let (pk, vk) =
                        setup(TileCircuit::blank(&step, plan), &mut self.entropy.rng(salt))?;
                    self.store.store(id, &pk, &vk, &description)?;
                    self.progress.advance(1);
                }
                let vk = self
                    .store
                    .verifying_key_for(id, &description)?
                    .ok_or_else(|| mpegs_zk::ZkError::MissingKey(id.clone()))?;
                out.push((id.clone(), vk_hash(&vk)));
            }
            if missing > 0 {
                self.progress.finish();
            }
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
        let seeds: Vec<Seed> = (0..chain.filters.len())
            .map(|i| blinding_seed(self.entropy, i))
            .collect();
        let plan = EditPlan::new(input.clone(), &parent.media, input_seed, chain, &seeds)?;
        let hashes = self.ensure_keys(&plan)?;
        let mut proofs = Vec::with_capacity(plan.steps());
        for step in 0..plan.steps() {
            proofs.push(self.prove_step(&plan, step)?);
        }
        let bundle = plan.bundle(parent, proofs, &hashes)?;
        Ok((plan.output().clone(), bundle))
    }

    fn prove_step(&self, plan: &EditPlan, step: usize) -> Result<Vec<TileProof>, ProvenanceError> {
        self.progress.phase(
            &format!(
                "step {}: proving {}",
                step + 1,
                plan.chain().filters[step].canonical()
            ),
            plan.tiles(step) as u64,
        );
        let mut by_circuit: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for tile in 0..plan.tiles(step) {
            by_circuit
                .entry(plan.circuit_id(step, tile)?)
                .or_default()
                .push(tile);
        }
        let mut proofs: Vec<Option<TileProof>> = vec![None; plan.tiles(step)];
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
                            let outcome = plan.prove_tile(step, i, &pk, self.entropy);
                            self.progress.advance(1);
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
}
