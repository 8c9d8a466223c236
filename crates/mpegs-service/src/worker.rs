//! A worker: claims tasks from the queue and does them — generating a circuit's
//! keys, proving one tile, or assembling, verifying and publishing a finished
//! job's bundle. Runs in the server process (`mpegs serve --workers N`) or on its
//! own (`mpegs worker --database URL`), as many as the database can take.

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
        // Database trouble is worth retrying; a wrong input or key is not.
        let permanent = !matches!(e, ServiceError::Database(_) | ServiceError::Internal(_));
        Self {
            message: e.to_string(),
            permanent,
        }
    }
}

/// The last job plan and proving key this worker used (proving a job's tiles
/// in a row reuses both; a 64×64 tile's key is ~100 MB and slow to load).
#[derive(Default)]
struct Cache {
    plan: Option<(String, Arc<EditPlan>, Arc<Bundle>)>,
    pk: Option<(String, Arc<Pk>)>,
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
        while !*stop.borrow() {
            let idle = match queue::claim(&self.db, &self.id, &self.settings).await {
                Ok(Some(claim)) => {
                    self.process(claim).await;
                    Duration::ZERO
                }
                Ok(None) => self.settings.poll,
                Err(e) => {
                    tracing::warn!(worker = %self.id, "claiming work: {e}");
                    self.settings.poll * 4
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

    /// Does one claimed piece of work, renewing its lease meanwhile.
    pub async fn process(&self, claim: Claim) {
        let started = Instant::now();
        let what = claim.describe();
        let work = self.perform(&claim);
        tokio::pin!(work);
        let mut beat = tokio::time::interval(self.settings.heartbeat);
        beat.tick().await;
        let outcome = loop {
            tokio::select! {
                outcome = &mut work => break outcome,
                _ = beat.tick() => {
                    match queue::heartbeat(&self.db, &self.id, &claim, &self.settings).await {
                        Ok(true) => {}
                        Ok(false) => tracing::warn!(worker = %self.id, "lost the lease on {what}; finishing anyway (results are idempotent)"),
                        Err(e) => tracing::warn!(worker = %self.id, "heartbeat for {what}: {e}"),
                    }
                }
            }
        };
        match outcome {
            Ok(()) => tracing::info!(
                worker = %self.id,
                "{what} done in {:.1}s",
                started.elapsed().as_secs_f64()
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
                if let Err(e) = released {
                    tracing::warn!(worker = %self.id, "releasing {what}: {e} (its lease will expire)");
                }
            }
        }
    }

    /// Retries a database write for up to one lease (the database may be
    /// restarting); after that the lease has expired anyway.
    async fn retry_db<F, Fut>(&self, mut op: F) -> Result<(), ServiceError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), ServiceError>>,
    {
        let deadline = Instant::now() + self.settings.lease;
        loop {
            match op().await {
                Ok(()) => return Ok(()),
                Err(ServiceError::Database(e)) if Instant::now() < deadline => {
                    tracing::warn!(worker = %self.id, "database: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn perform(&self, claim: &Claim) -> Result<(), Failure> {
        match claim {
            Claim::Keys { id, recipe } => {
                let store = self.store.clone();
                let recipe = recipe.clone();
                let hash = tokio::task::spawn_blocking(move || recipe.setup(&store, &OsEntropy))
                    .await
                    .map_err(blocking_error)?
                    .map_err(ServiceError::from)?;
                self.retry_db(|| queue::keys_ready(&self.db, id, &hash))
                    .await?;
                Ok(())
            }
            Claim::Tile {
                task,
                job,
                step,
                tile,
                circuit,
                vk_hash,
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
                self.retry_db(|| {
                    queue::tile_done(&self.db, &self.id, task, job, step, tile, &json)
                })
                .await?;
                Ok(())
            }
            Claim::Finish { task, job } => self.finish(task, job).await,
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

    /// The proving key of `circuit` from this worker's key store, refused unless
    /// its verifying key is the one recorded when the key was generated (a worker
    /// with a different key store would otherwise prove under another key).
    async fn pk_for(&self, circuit: &str, expected_hash: &str) -> Result<Arc<Pk>, Failure> {
        if let Some((id, pk)) = &self.cache.lock().expect("cache").pk {
            if id == circuit {
                return Ok(pk.clone());
            }
        }
        let store = self.store.clone();
        let id = circuit.to_string();
        let expected = expected_hash.to_string();
        let pk = tokio::task::spawn_blocking(move || -> Result<Arc<Pk>, Failure> {
            let missing = || {
                Failure::permanent(format!(
                    "the key store {} has no key for circuit {id}; workers share one key store \
                     (docs/service.md §Keys)",
                    store.dir().display()
                ))
            };
            let vk = store
                .verifying_key(&id)
                .map_err(ServiceError::from)?
                .ok_or_else(missing)?;
            if vk_hash(&vk) != expected {
                return Err(Failure::permanent(format!(
                    "the key store {} holds a different key for circuit {id} than the one the \
                     queue generated ({expected}); workers share one key store",
                    store.dir().display()
                )));
            }
            let pk = store
                .proving_key(&id)
                .map_err(ServiceError::from)?
                .ok_or_else(missing)?;
            Ok(Arc::new(pk))
        })
        .await
        .map_err(blocking_error)??;
        self.cache.lock().expect("cache").pk = Some((circuit.to_string(), pk.clone()));
        Ok(pk)
    }

    /// Assembles the bundle from the stored proofs, verifies it like any reader
    /// would, and only then publishes the output as a new media item.
    async fn finish(&self, task: &str, job: &str) -> Result<(), Failure> {
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
        let output = bundle.media.commitment.clone();
        let db = &self.db;
        self.retry_db(|| async {
            catalog::insert(
                db,
                NewMedia {
                    bundle: &bundle,
                    image: &png,
                    image_type: "image/png",
                    secret_seed: None,
                    proofs_verified: report.proofs_verified,
                },
            )
            .await
            .map(|_| ())
        })
        .await?;
        self.retry_db(|| queue::job_done(db, task, job, &output))
            .await?;
        Ok(())
    }
}
