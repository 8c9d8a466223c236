//! A worker: claims tasks from the queue and does them — generating a circuit's
//! keys, proving one tile, or assembling, verifying and publishing a finished
//! job's bundle. Runs in the server process (`mpegs serve --workers N`) or on its
//! own (`mpegs worker --database URL`), as many as the database can take.

use crate::artifacts;
use crate::catalog::{self, NewMedia};
use crate::files::read_blob;
use crate::queue::{self, Claim};
use crate::{Db, QueueSettings, ServiceError};
use mpegs_app::verify::verify_frame;
use mpegs_filters::parse_filtergraph;
use mpegs_media::{decode_image, encode_png};
use mpegs_provenance::bundle::TileProof;
use mpegs_provenance::prove::{EditPlan, OsEntropy};
use mpegs_provenance::Bundle;
use mpegs_zk::backend::{vk_hash, Pk};
use mpegs_zk::keys::KeyStore;
use sha2::Digest;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A worker id: `{prefix}-{host}-{pid}-{random}` (unique across restarts).
pub fn worker_id(prefix: &str) -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".into());
    format!(
        "{prefix}-{host}-{}-{}",
        std::process::id(),
        &queue::new_id()[..6]
    )
}

/// Why a task failed, and whether trying again can help.
struct Failure {
    message: String,
    permanent: bool,
}

impl Failure {
    fn permanent(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            permanent: true,
        }
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        // Database and I/O trouble is worth retrying (after a backoff); a wrong
        // input or key is not.
        let permanent = !matches!(
            e,
            ServiceError::Database(_) | ServiceError::Internal(_) | ServiceError::Io { .. }
        );
        Self {
            message: public_message(&e),
            permanent,
        }
    }
}

/// What a job's `error` (shown to its owner) says about `e`. The service's
/// own trouble — database text, file paths, key store and secret errors —
/// is logged in full under a fresh error id, and the job says only that id;
/// what the request itself got wrong (its filter chain, its input's pixels
/// or bundle) is the client's to read, word for word.
fn public_message(e: &ServiceError) -> String {
    use mpegs_app::AppError;
    use mpegs_media::MediaError;
    use mpegs_provenance::ProvenanceError as P;
    // Decoding errors name the image by a label ("input"), not a path.
    let media_is_users = |m: &MediaError| {
        matches!(
            m,
            MediaError::Decode { .. }
                | MediaError::Unsupported { .. }
                | MediaError::InvalidFrame(_)
                | MediaError::InvalidTileSize(_)
                | MediaError::InvalidSeed(_)
        )
    };
    let provenance_is_users = |p: &P| match p {
        P::Input(_) | P::Malformed(_) | P::Filter(_) => true,
        P::Media(m) => media_is_users(m),
        P::Zk(_) => false,
    };
    let users = match e {
        ServiceError::Provenance(p) | ServiceError::App(AppError::Provenance(p)) => {
            provenance_is_users(p)
        }
        ServiceError::Media(m) | ServiceError::App(AppError::Media(m)) => media_is_users(m),
        ServiceError::App(AppError::Filter(_)) => true,
        _ => false,
    };
    if users {
        return e.to_string();
    }
    let id = queue::new_id();
    let id = &id[..12];
    tracing::error!(error_id = %id, "internal error in a job: {e}");
    format!("internal error (error id {id}; the service's log has the details)")
}

impl From<artifacts::FetchError> for Failure {
    fn from(e: artifacts::FetchError) -> Self {
        match e {
            artifacts::FetchError::Service(e) => e.into(),
            e => Failure::permanent(e.to_string()),
        }
    }
}

/// How a claim ended.
enum Outcome {
    /// Its result was written under the claim's lease.
    Done,
    /// The lease was gone when the worker came to write (expired and claimed
    /// again, or the job ended): the result was discarded, as the fence wants.
    LeaseLost,
}

/// The last job plan this worker used (proving a job's tiles in a row reuses
/// it).
#[derive(Default)]
struct Cache {
    plan: Option<(String, Arc<EditPlan>, Arc<Bundle>)>,
}

/// Proving keys loaded in this process, shared by all its workers: two proofs
/// in flight under one circuit share one loaded key (a 64×64 tile's is ~100 MB
/// and slow to load), and two workers wanting a key not loaded yet load it
/// once. Keyed by key store, circuit and verifying key hash, so a key
/// regenerated under the same id is never served from the cache. Holds at most
/// `MPEGS_KEY_CACHE` keys (default 2), dropping the least recently used.
type KeySlot = Arc<tokio::sync::OnceCell<Arc<Pk>>>;

struct KeyCache {
    slots: Mutex<Vec<((PathBuf, String, String), KeySlot)>>,
    capacity: usize,
}

fn key_cache() -> &'static KeyCache {
    static CACHE: std::sync::OnceLock<KeyCache> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| KeyCache {
        slots: Mutex::new(vec![]),
        capacity: std::env::var("MPEGS_KEY_CACHE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2usize)
            .max(1),
    })
}

impl KeyCache {
    /// The slot for `key`, most recently used last.
    fn slot(&self, key: (PathBuf, String, String)) -> KeySlot {
        let mut slots = self.slots.lock().expect("key cache");
        let slot = match slots.iter().position(|(k, _)| *k == key) {
            Some(i) => slots.remove(i).1,
            None => KeySlot::default(),
        };
        slots.push((key, slot.clone()));
        let excess = slots.len().saturating_sub(self.capacity);
        slots.drain(..excess);
        slot
    }
}

#[derive(Clone)]
pub struct Worker {
    db: Db,
    store: Arc<KeyStore>,
    id: String,
    settings: QueueSettings,
    cache: Arc<Mutex<Cache>>,
}

fn blocking_error(e: tokio::task::JoinError) -> ServiceError {
    ServiceError::Internal(format!("worker thread: {e}"))
}

impl Worker {
    pub fn new(db: Db, store: Arc<KeyStore>, id: String, settings: QueueSettings) -> Self {
        Self {
            db,
            store,
            id,
            settings,
            cache: Arc::default(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Works until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, "worker started");
        let mut failures = 0u32;
        while !*stop.borrow() {
            let idle = match queue::claim(&self.db, &self.id, &self.settings).await {
                Ok(Some(claim)) => {
                    failures = 0;
                    self.process(claim).await;
                    Duration::ZERO
                }
                Ok(None) => {
                    failures = 0;
                    self.settings.poll
                }
                Err(e) => {
                    // The database is down or restarting: back off (doubling,
                    // at most the retry cap) instead of hammering it.
                    failures = failures.saturating_add(1);
                    let wait =
                        queue::backoff(i64::from(failures), &self.settings).max(self.settings.poll);
                    tracing::warn!(worker = %self.id, "claiming work: {e}; retrying in {wait:?}");
                    wait
                }
            };
            if !idle.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        tracing::info!(worker = %self.id, "worker stopped");
    }

    /// Does one claimed piece of work, renewing its lease meanwhile. When a
    /// heartbeat finds the lease gone (it expired and another worker claimed
    /// the row, or the job was cancelled), the work is abandoned: whatever it
    /// would write would be refused by the fence anyway.
    pub async fn process(&self, claim: Claim) {
        let started = Instant::now();
        let what = claim.describe();
        let work = self.perform(&claim);
        // The heartbeat is its own future, polled beside the work rather than
        // awaited in a select arm: while an arm's body runs, the work is not
        // polled, and on PostgreSQL a heartbeat waiting for the task row's lock
        // held by the work's own open transaction (tile_done, finish) then
        // waits forever — the transaction can only commit when polled.
        let beats = async {
            let mut beat = tokio::time::interval(self.settings.heartbeat);
            beat.tick().await;
            loop {
                beat.tick().await;
                match queue::heartbeat(&self.db, &claim, &self.settings).await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(worker = %self.id, "heartbeat for {what}: {e}"),
                }
            }
        };
        tokio::pin!(work);
        tokio::pin!(beats);
        let outcome = tokio::select! {
            // Work first: a heartbeat that finds the row done because the work
            // just committed must not turn a finished result into a lost one.
            biased;
            outcome = &mut work => outcome,
            () = &mut beats => Ok(Outcome::LeaseLost),
        };
        match outcome {
            Ok(Outcome::Done) => tracing::info!(
                worker = %self.id,
                "{what} done in {:.1}s",
                started.elapsed().as_secs_f64()
            ),
            Ok(Outcome::LeaseLost) => tracing::warn!(
                worker = %self.id,
                "lost the lease on {what} (attempt {}); its result is discarded",
                claim.lease().attempt
            ),
            Err(f) => {
                tracing::warn!(worker = %self.id, "{what} failed: {}", f.message);
                let released = self
                    .retry_db(|| {
                        queue::release_failed(
                            &self.db,
                            &claim,
                            &f.message,
                            f.permanent,
                            &self.settings,
                        )
                    })
                    .await;
                match released {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(
                        worker = %self.id,
                        "lost the lease on {what} before reporting its failure"
                    ),
                    Err(e) => tracing::warn!(
                        worker = %self.id,
                        "releasing {what}: {e} (its lease will expire)"
                    ),
                }
            }
        }
    }

    /// Retries a database write for up to one lease (the database may be
    /// restarting), backing off between tries; after that the lease has
    /// expired anyway (and the write would be fenced out).
    async fn retry_db<T, F, Fut>(&self, mut op: F) -> Result<T, ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ServiceError>>,
    {
        let deadline = Instant::now() + self.settings.lease;
        let mut wait = Duration::from_millis(100);
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(ServiceError::Database(e)) if Instant::now() + wait < deadline => {
                    tracing::warn!(worker = %self.id, "database: {e}; retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn fenced(written: bool) -> Outcome {
        if written {
            Outcome::Done
        } else {
            Outcome::LeaseLost
        }
    }

    async fn perform(&self, claim: &Claim) -> Result<Outcome, Failure> {
        match claim {
            Claim::Keys { id, recipe, .. } => {
                let store = self.store.clone();
                let recipe = recipe.clone();
                let key = id.clone();
                // Generate (unless this store has the pair already), then read
                // the pair back, checked to match, to publish it.
                let (hash, pk_bytes, vk_bytes, description) =
                    tokio::task::spawn_blocking(move || -> Result<_, ServiceError> {
                        let hash = recipe.setup(&store, &OsEntropy)?;
                        let (pk, vk) = store
                            .key_pair_bytes(&key)?
                            .ok_or_else(|| mpegs_zk::ZkError::MissingKey(key.clone()))?;
                        let description = store
                            .description(&key)?
                            .ok_or_else(|| mpegs_zk::ZkError::MissingKey(key.clone()))?;
                        Ok((hash, pk, vk, description))
                    })
                    .await
                    .map_err(blocking_error)??;
                if format!("sha256:{}", hex::encode(sha2::Sha256::digest(&vk_bytes))) != hash {
                    return Err(Failure::permanent(format!(
                        "the verifying key of {id} does not hash to {hash}"
                    )));
                }
                let pk_sha = self
                    .retry_db(|| artifacts::put(&self.db, &pk_bytes))
                    .await?;
                self.retry_db(|| artifacts::put(&self.db, &vk_bytes))
                    .await?;
                let made = || queue::KeysMade {
                    vk_hash: &hash,
                    pk_sha256: &pk_sha,
                    description: &description,
                };
                let written = self
                    .retry_db(|| queue::keys_ready(&self.db, claim, made()))
                    .await?;
                Ok(Self::fenced(written))
            }
            Claim::Tile {
                job,
                step,
                tile,
                circuit,
                vk_hash,
                ..
            } => {
                let (plan, _) = self.plan_for(job).await?;
                let expected = plan.circuit_id(*step, *tile).map_err(ServiceError::from)?;
                if &expected != circuit {
                    return Err(Failure::permanent(format!(
                        "task names circuit {circuit} but the plan needs {expected}"
                    )));
                }
                let pk = self.pk_for(circuit, vk_hash).await?;
                let (step, tile) = (*step, *tile);
                let proof = tokio::task::spawn_blocking(move || {
                    plan.prove_tile(step, tile, &pk, &OsEntropy)
                })
                .await
                .map_err(blocking_error)?
                .map_err(ServiceError::from)?;
                let json = serde_json::to_string(&proof)
                    .map_err(|e| ServiceError::Internal(e.to_string()))?;
                let written = self
                    .retry_db(|| queue::tile_done(&self.db, claim, &json))
                    .await?;
                Ok(Self::fenced(written))
            }
            Claim::Finish { job, .. } => self.finish(claim, job).await,
        }
    }

    /// The job's edit plan, rebuilt from the database (inputs, chain, seeds)
    /// unless it is the one this worker used last.
    async fn plan_for(&self, job: &str) -> Result<(Arc<EditPlan>, Arc<Bundle>), Failure> {
        if let Some((id, plan, parent)) = &self.cache.lock().expect("cache").plan {
            if id == job {
                return Ok((plan.clone(), parent.clone()));
            }
        }
        let inputs = queue::job_inputs(&self.db, job).await?;
        let source = catalog::source(&self.db, &inputs.input)
            .await?
            .ok_or_else(|| {
                Failure::permanent(format!("input {} is not in the catalog", inputs.input))
            })?;
        let seed = source.seed.ok_or_else(|| {
            Failure::permanent("the input is private and the service holds no secret for it")
        })?;
        let image = read_blob(&self.db, &source.image_sha256)
            .await?
            .ok_or_else(|| Failure::permanent("the input's image bytes are missing"))?;
        let parent = source.bundle;
        let built = tokio::task::spawn_blocking(move || -> Result<_, ServiceError> {
            let frame = decode_image(&image, "input")?;
            let chain =
                parse_filtergraph(&inputs.vf).map_err(mpegs_provenance::ProvenanceError::from)?;
            let plan = EditPlan::new(frame, &parent.media, &seed, &chain, &inputs.seeds)?;
            Ok((Arc::new(plan), Arc::new(parent)))
        })
        .await
        .map_err(blocking_error)??;
        self.cache.lock().expect("cache").plan =
            Some((job.to_string(), built.0.clone(), built.1.clone()));
        Ok(built)
    }

    /// The proving key of `circuit` whose verifying key hashes to
    /// `expected_hash` (recorded when the key was generated): from this
    /// process's cache, else this worker's key store, else fetched from the
    /// database's key artifacts — checked against their recorded hashes and
    /// against each other — and cached in the key store. A store holding
    /// another key for the circuit (or a torn pair) is repaired from the
    /// artifacts, never proven with.
    async fn pk_for(&self, circuit: &str, expected_hash: &str) -> Result<Arc<Pk>, Failure> {
        let slot = key_cache().slot((
            self.store.dir().to_path_buf(),
            circuit.to_string(),
            expected_hash.to_string(),
        ));
        let pk = slot
            .get_or_try_init(|| self.load_pk(circuit, expected_hash))
            .await?;
        Ok(pk.clone())
    }

    /// The proving key of `circuit` (verifying key hash `vk_hash`) as
    /// [`Worker`]s load it for proving: through the process's shared cache.
    pub async fn proving_key(&self, circuit: &str, vk_hash: &str) -> Result<Arc<Pk>, String> {
        self.pk_for(circuit, vk_hash).await.map_err(|f| f.message)
    }

    async fn load_pk(&self, circuit: &str, expected_hash: &str) -> Result<Arc<Pk>, Failure> {
        let store = self.store.clone();
        let (id, expected) = (circuit.to_string(), expected_hash.to_string());
        let local = tokio::task::spawn_blocking(move || -> Option<Pk> {
            let vk = store.verifying_key(&id).ok()??;
            if vk_hash(&vk) != expected {
                return None;
            }
            // An error here is a torn or mismatched pair: fetch it again.
            store.proving_key(&id).ok()?
        })
        .await
        .map_err(blocking_error)?;
        if let Some(pk) = local {
            return Ok(Arc::new(pk));
        }
        let stored = queue::key_artifacts(&self.db, circuit).await?;
        let Some(stored) = stored.filter(|k| k.vk_hash == expected_hash) else {
            return Err(Failure::permanent(format!(
                "the queue records no key artifacts for circuit {circuit} with verifying key \
                 {expected_hash}"
            )));
        };
        tracing::info!(worker = %self.id, "fetching the keys of {circuit} from the database");
        let pk_bytes = artifacts::get(&self.db, &stored.pk_sha256).await?;
        let vk_bytes = artifacts::get(&self.db, stored.vk_sha256()).await?;
        let store = self.store.clone();
        let id = circuit.to_string();
        let (pk, _) = tokio::task::spawn_blocking(move || {
            store.store_pair_bytes(&id, &pk_bytes, &vk_bytes, &stored.description)
        })
        .await
        .map_err(blocking_error)?
        .map_err(|e| Failure::permanent(format!("the stored keys of {circuit}: {e}")))?;
        Ok(Arc::new(pk))
    }

    /// Assembles the bundle from the stored proofs, verifies it like any reader
    /// would, and only then publishes the output as a new media item.
    async fn finish(&self, claim: &Claim, job: &str) -> Result<Outcome, Failure> {
        let (plan, parent) = self.plan_for(job).await?;
        let rows = queue::job_proofs(&self.db, job).await?;
        let mut proofs: Vec<Vec<TileProof>> = (0..plan.steps()).map(|_| vec![]).collect();
        for (step, tile, json) in rows {
            let proof: TileProof = serde_json::from_str(&json)
                .map_err(|e| Failure::permanent(format!("stored proof: {e}")))?;
            let slot = proofs
                .get_mut(step)
                .ok_or_else(|| Failure::permanent(format!("stored proof for step {step}")))?;
            if slot.len() != tile {
                return Err(Failure::permanent(format!(
                    "stored proofs of step {step} skip tile {}",
                    slot.len()
                )));
            }
            slot.push(proof);
        }
        let circuits: std::collections::BTreeSet<String> =
            proofs.iter().flatten().map(|p| p.circuit.clone()).collect();
        let hashes = queue::key_hashes(&self.db, &circuits).await?;
        // Verify like a reader would, with the verifying keys the queue recorded.
        sync_verifying_keys(&self.db, &self.store, circuits.iter()).await?;
        let store = self.store.clone();
        let parent = (*parent).clone();
        let (bundle, report, png) = tokio::task::spawn_blocking(move || -> Result<_, Failure> {
            let bundle = plan
                .bundle(parent, proofs, &hashes)
                .map_err(ServiceError::from)?;
            let report = verify_frame(plan.output(), &bundle, None, &store);
            let png = encode_png(plan.output()).map_err(ServiceError::from)?;
            Ok((bundle, report, png))
        })
        .await
        .map_err(blocking_error)??;
        if !report.valid {
            return Err(Failure::permanent(format!(
                "the assembled bundle does not verify: {}",
                report.reason.unwrap_or_default()
            )));
        }
        let db = &self.db;
        // The output belongs to the job's account (it may delete it).
        let owner = queue::job_owner(db, job).await?;
        let media = catalog::prepare(NewMedia {
            bundle: &bundle,
            image: &png,
            image_type: "image/png",
            secret_seed: None,
            proofs_verified: report.proofs_verified,
            owner: owner.as_deref(),
        })?;
        // Publish only while holding the lease, and only while the job is
        // unfinished and its input is there — checked in the transaction
        // that inserts the output and marks the job done (a stale finisher,
        // a cancelled job or a deleted input publishes nothing).
        let published = self
            .retry_db(|| queue::publish_output(db, claim, &media))
            .await?;
        Ok(match published {
            queue::Published::Done => Outcome::Done,
            queue::Published::LeaseLost => Outcome::LeaseLost,
            queue::Published::Cancelled(why) => {
                tracing::warn!(worker = %self.id, "job {job} cancelled at its finish: {why}");
                Outcome::Done
            }
        })
    }
}

/// Makes sure `store` trusts the verifying key the queue recorded for each of
/// `circuits` (fetched from its artifact, checked against the recorded hash,
/// when the store lacks it or holds another). Circuits whose keys are not
/// ready are skipped.
async fn sync_verifying_keys<'a>(
    db: &Db,
    store: &Arc<KeyStore>,
    circuits: impl Iterator<Item = &'a String>,
) -> Result<usize, Failure> {
    let mut synced = 0;
    for circuit in circuits {
        let Some(stored) = queue::key_artifacts(db, circuit).await? else {
            continue;
        };
        let local = {
            let store = store.clone();
            let id = circuit.clone();
            tokio::task::spawn_blocking(move || store.verifying_key(&id).ok().flatten())
                .await
                .map_err(blocking_error)?
        };
        if local.as_ref().map(vk_hash).as_deref() == Some(stored.vk_hash.as_str()) {
            continue;
        }
        let vk_bytes = artifacts::get(db, stored.vk_sha256()).await?;
        let store = store.clone();
        let id = circuit.clone();
        tokio::task::spawn_blocking(move || {
            store.store_verifying_bytes(&id, &vk_bytes, &stored.description)
        })
        .await
        .map_err(blocking_error)?
        .map_err(|e| Failure::permanent(format!("the stored verifying key of {circuit}: {e}")))?;
        synced += 1;
    }
    Ok(synced)
}

/// Keeps `store` trusting every verifying key the queue generated, checking for
/// new ones every `every` until `stop` turns true: the server's own key set
/// (`GET /v1/keys`, `POST /v1/verify`) includes keys that workers on other
/// machines made, with no shared folder.
pub async fn sync_keys_until(
    db: Db,
    store: Arc<KeyStore>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        match queue::ready_circuits(&db).await {
            Ok(ids) => {
                if let Err(f) = sync_verifying_keys(&db, &store, ids.iter()).await {
                    tracing::warn!("syncing verifying keys: {}", f.message);
                }
            }
            Err(e) => tracing::warn!("listing generated keys: {e}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}
