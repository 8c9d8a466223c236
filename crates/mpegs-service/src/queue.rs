//! The durable job queue (docs/service.md §Queue).
//!
//! A job is rows in three tables: the job itself; its circuits' keys in
//! `circuit_keys` (shared by all jobs: each key is generated once); its tasks —
//! one per output tile of every step, and one `finish` task that assembles,
//! verifies and publishes the bundle once every tile is proven. Workers claim
//! a row with a lease (`UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`
//! on PostgreSQL; SQLite runs one writer at a time), renew it while they work
//! and release it when done. A row whose lease expired — its worker died or
//! lost the database — is claimable again. Proofs are keyed by (job, step,
//! tile), so a tile proven twice stores one proof.

use crate::db::{opt_int, opt_text};
use crate::{now_ms, Db, QueueSettings, ServiceError};
use mpegs_media::Seed;
use mpegs_provenance::prove::{CircuitRecipe, EditWork};
use rand::RngCore;
use serde::Serialize;
use sqlx::Row;

/// A fresh random id (128 bits, hex).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A job to create.
pub struct NewJob<'a> {
    pub input: &'a str,
    pub vf: &'a str,
    /// One fresh commitment seed per step (secret until the output is published).
    pub seeds: &'a [Seed],
    pub work: &'a EditWork,
}

/// Creates a job with all its tasks, in one transaction.
pub async fn create_job(db: &Db, job: NewJob<'_>) -> Result<String, ServiceError> {
    let id = new_id();
    let now = now_ms();
    let seeds: Vec<String> = job.seeds.iter().map(Seed::to_hex).collect();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO jobs (id, input, vf, seeds, status, total, created_at) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6)",
    )
    .bind(&id)
    .bind(job.input)
    .bind(job.vf)
    .bind(serde_json::to_string(&seeds).map_err(|e| ServiceError::Internal(e.to_string()))?)
    .bind(job.work.total_tiles() as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    for recipe in &job.work.circuits {
        sqlx::query(
            "INSERT INTO circuit_keys (id, recipe, state, attempts, created_at) \
             VALUES ($1, $2, 'queued', 0, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&recipe.id)
        .bind(serde_json::to_string(recipe).map_err(|e| ServiceError::Internal(e.to_string()))?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // A key whose generation failed for good gets another chance with a new job.
        sqlx::query(
            "UPDATE circuit_keys SET state = 'queued', attempts = 0, error = NULL \
             WHERE id = $1 AND state = 'failed'",
        )
        .bind(&recipe.id)
        .execute(&mut *tx)
        .await?;
    }
    for (step, circuits) in job.work.tiles.iter().enumerate() {
        for (tile, circuit) in circuits.iter().enumerate() {
            insert_task(&mut tx, &id, "tile", step, tile, Some(circuit), now).await?;
        }
    }
    insert_task(&mut tx, &id, "finish", 0, 0, None, now).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_task(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    job: &str,
    kind: &str,
    step: usize,
    tile: usize,
    circuit: Option<&String>,
    now: i64,
) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO tasks (id, job_id, kind, step, tile, circuit, state, attempts, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', 0, $7)",
    )
    .bind(new_id())
    .bind(job)
    .bind(kind)
    .bind(step as i64)
    .bind(tile as i64)
    .bind(circuit.cloned())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Work a worker holds a lease on.
#[derive(Clone, Debug)]
pub enum Claim {
    /// Generate a circuit's keys.
    Keys { id: String, recipe: CircuitRecipe },
    /// Prove one tile with the keys of `circuit` (whose verifying key hashes to
    /// `vk_hash`, as recorded when they were generated).
    Tile {
        task: String,
        job: String,
        step: usize,
        tile: usize,
        circuit: String,
        vk_hash: String,
    },
    /// Assemble, verify and publish the job's bundle.
    Finish { task: String, job: String },
}

impl Claim {
    pub fn describe(&self) -> String {
        match self {
            Claim::Keys { id, .. } => format!("keys {id}"),
            Claim::Tile {
                job, step, tile, ..
            } => format!("job {job} step {step} tile {tile}"),
            Claim::Finish { job, .. } => format!("finish job {job}"),
        }
    }
}

/// Claims the next piece of work for `worker`: keys first (tiles wait on them),
/// then tiles of the oldest jobs, then finishing tasks whose tiles are all done.
pub async fn claim(
    db: &Db,
    worker: &str,
    s: &QueueSettings,
) -> Result<Option<Claim>, ServiceError> {
    let now = now_ms();
    let until = now + s.lease.as_millis() as i64;
    let lock = db.skip_locked(None);
    let row = sqlx::query(&format!(
        "UPDATE circuit_keys SET state = 'running', lease_owner = $1, lease_until = $2, \
           attempts = attempts + 1 \
         WHERE id = (SELECT id FROM circuit_keys \
           WHERE (state = 'queued' OR (state = 'running' AND lease_until < $3)) \
             AND attempts < $4 \
           ORDER BY created_at, id LIMIT 1 {lock}) \
         RETURNING id, recipe"
    ))
    .bind(worker)
    .bind(until)
    .bind(now)
    .bind(s.max_attempts)
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = row {
        let recipe: String = row.try_get("recipe")?;
        return Ok(Some(Claim::Keys {
            id: row.try_get("id")?,
            recipe: serde_json::from_str(&recipe)
                .map_err(|e| ServiceError::Internal(format!("stored circuit recipe: {e}")))?,
        }));
    }
    fail_exhausted(db, s).await?;
    let lock_t = db.skip_locked(Some("t"));
    let row = sqlx::query(&format!(
        "UPDATE tasks SET state = 'running', lease_owner = $1, lease_until = $2, \
           attempts = attempts + 1 \
         WHERE id = (SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id \
           WHERE (t.state = 'queued' OR (t.state = 'running' AND t.lease_until < $3)) \
             AND t.attempts < $4 \
             AND j.status IN ('queued', 'running') \
             AND (t.kind <> 'tile' OR EXISTS (SELECT 1 FROM circuit_keys k \
                   WHERE k.id = t.circuit AND k.state = 'ready')) \
             AND (t.kind <> 'finish' OR NOT EXISTS (SELECT 1 FROM tasks u \
                   WHERE u.job_id = t.job_id AND u.kind = 'tile' AND u.state <> 'done')) \
           ORDER BY j.created_at, t.kind DESC, t.step, t.tile LIMIT 1 {lock_t}) \
         RETURNING id, job_id, kind, step, tile, circuit"
    ))
    .bind(worker)
    .bind(until)
    .bind(now)
    .bind(s.max_attempts)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let task: String = row.try_get("id")?;
    let job: String = row.try_get("job_id")?;
    sqlx::query(
        "UPDATE jobs SET status = 'running', started_at = $2 WHERE id = $1 AND status = 'queued'",
    )
    .bind(&job)
    .bind(now)
    .execute(db.pool())
    .await?;
    let kind: String = row.try_get("kind")?;
    if kind == "finish" {
        return Ok(Some(Claim::Finish { task, job }));
    }
    let circuit: String = opt_text(&row, "circuit")?.unwrap_or_default();
    let vk_hash = sqlx::query("SELECT vk_hash FROM circuit_keys WHERE id = $1")
        .bind(&circuit)
        .fetch_one(db.pool())
        .await?;
    Ok(Some(Claim::Tile {
        task,
        job,
        step: row.try_get::<i64, _>("step")? as usize,
        tile: row.try_get::<i64, _>("tile")? as usize,
        circuit,
        vk_hash: opt_text(&vk_hash, "vk_hash")?.unwrap_or_default(),
    }))
}

/// Fails the jobs of tasks and keys that ran out of attempts (their workers kept
/// dying: a task that crashes every worker must not circle forever).
async fn fail_exhausted(db: &Db, s: &QueueSettings) -> Result<(), ServiceError> {
    for (job, error) in expire(db, "tasks", "job_id", s).await? {
        fail_job(db, &job, &error).await?;
    }
    for (circuit, error) in expire(db, "circuit_keys", "id", s).await? {
        fail_jobs_of_circuit(db, &circuit, &error).await?;
    }
    Ok(())
}

/// Marks the rows of `table` whose last lease expired with no attempt left as
/// failed; returns their `key` column and error.
async fn expire(
    db: &Db,
    table: &str,
    key: &str,
    s: &QueueSettings,
) -> Result<Vec<(String, String)>, ServiceError> {
    let rows = sqlx::query(&format!(
        "UPDATE {table} SET state = 'failed', error = COALESCE(error, 'its worker stopped \
         responding on every attempt') \
         WHERE state = 'running' AND lease_until < $1 AND attempts >= $2 RETURNING {key}, error"
    ))
    .bind(now_ms())
    .bind(s.max_attempts)
    .fetch_all(db.pool())
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get::<String, _>(key)?,
                opt_text(row, "error")?.unwrap_or_default(),
            ))
        })
        .collect()
}

async fn fail_jobs_of_circuit(db: &Db, circuit: &str, error: &str) -> Result<(), ServiceError> {
    let jobs = sqlx::query(
        "SELECT DISTINCT t.job_id FROM tasks t JOIN jobs j ON j.id = t.job_id \
         WHERE t.circuit = $1 AND j.status IN ('queued', 'running')",
    )
    .bind(circuit)
    .fetch_all(db.pool())
    .await?;
    for row in jobs {
        let job: String = row.try_get(0)?;
        fail_job(db, &job, &format!("generating keys for {circuit}: {error}")).await?;
    }
    Ok(())
}

/// Renews the lease of a claim; false when the worker no longer holds it.
pub async fn heartbeat(
    db: &Db,
    worker: &str,
    claim: &Claim,
    s: &QueueSettings,
) -> Result<bool, ServiceError> {
    let until = now_ms() + s.lease.as_millis() as i64;
    let (table, id) = match claim {
        Claim::Keys { id, .. } => ("circuit_keys", id),
        Claim::Tile { task, .. } | Claim::Finish { task, .. } => ("tasks", task),
    };
    let n = sqlx::query(&format!(
        "UPDATE {table} SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 \
         AND state = 'running'"
    ))
    .bind(until)
    .bind(id)
    .bind(worker)
    .execute(db.pool())
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO workers (id, started_at, last_seen, tiles) VALUES ($1, $2, $2, 0) \
         ON CONFLICT (id) DO UPDATE SET last_seen = $2",
    )
    .bind(worker)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(n == 1)
}

/// Records generated keys.
pub async fn keys_ready(db: &Db, id: &str, vk_hash: &str) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE circuit_keys SET state = 'ready', vk_hash = $2, lease_owner = NULL, \
         lease_until = NULL, error = NULL WHERE id = $1",
    )
    .bind(id)
    .bind(vk_hash)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Stores a tile's proof (the first one wins) and marks its task done.
pub async fn tile_done(
    db: &Db,
    worker: &str,
    task: &str,
    job: &str,
    step: usize,
    tile: usize,
    proof_json: &str,
) -> Result<(), ServiceError> {
    let now = now_ms();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO proofs (job_id, step, tile, proof, worker, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job_id, step, tile) DO NOTHING",
    )
    .bind(job)
    .bind(step as i64)
    .bind(tile as i64)
    .bind(proof_json)
    .bind(worker)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE tasks SET state = 'done', lease_owner = NULL, lease_until = NULL, error = NULL \
         WHERE id = $1",
    )
    .bind(task)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO workers (id, started_at, last_seen, tiles) VALUES ($1, $2, $2, 1) \
         ON CONFLICT (id) DO UPDATE SET last_seen = $2, tiles = workers.tiles + 1",
    )
    .bind(worker)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives a claim back after a failure: retried while attempts remain (by any
/// worker), else failed — and with it the job(s) waiting on it. A `permanent`
/// failure (the input itself is wrong) fails at once.
pub async fn release_failed(
    db: &Db,
    claim: &Claim,
    error: &str,
    permanent: bool,
    s: &QueueSettings,
) -> Result<(), ServiceError> {
    let (table, id) = match claim {
        Claim::Keys { id, .. } => ("circuit_keys", id),
        Claim::Tile { task, .. } | Claim::Finish { task, .. } => ("tasks", task),
    };
    let row = sqlx::query(&format!(
        "UPDATE {table} SET state = CASE WHEN $2 OR attempts >= $3 THEN 'failed' ELSE 'queued' END, \
           lease_owner = NULL, lease_until = NULL, error = $4 WHERE id = $1 RETURNING state"
    ))
    .bind(id)
    .bind(permanent)
    .bind(s.max_attempts)
    .bind(error)
    .fetch_optional(db.pool())
    .await?;
    let failed = match row {
        Some(r) => r.try_get::<String, _>("state")? == "failed",
        None => false,
    };
    if failed {
        match claim {
            Claim::Keys { id, .. } => fail_jobs_of_circuit(db, id, error).await?,
            Claim::Tile { job, .. } | Claim::Finish { job, .. } => fail_job(db, job, error).await?,
        }
    }
    Ok(())
}

/// Marks a job failed (if it is not finished already).
pub async fn fail_job(db: &Db, job: &str, error: &str) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE jobs SET status = 'failed', error = $2, finished_at = $3 \
         WHERE id = $1 AND status IN ('queued', 'running')",
    )
    .bind(job)
    .bind(error)
    .bind(now_ms())
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Marks a job done with its output and its finishing task done.
pub async fn job_done(db: &Db, task: &str, job: &str, output: &str) -> Result<(), ServiceError> {
    let now = now_ms();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "UPDATE jobs SET status = 'done', output = $2, error = NULL, finished_at = $3 \
         WHERE id = $1 AND status IN ('queued', 'running')",
    )
    .bind(job)
    .bind(output)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE tasks SET state = 'done', lease_owner = NULL, lease_until = NULL WHERE id = $1",
    )
    .bind(task)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A job as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct JobStatus {
    pub id: String,
    pub input: String,
    pub vf: String,
    pub status: String,
    pub progress: Progress,
    pub output: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
}

#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct Progress {
    pub done: i64,
    pub total: i64,
}

impl JobStatus {
    pub fn finished(&self) -> bool {
        self.status == "done" || self.status == "failed"
    }
}

pub async fn job(db: &Db, id: &str) -> Result<Option<JobStatus>, ServiceError> {
    let row = sqlx::query(
        "SELECT id, input, vf, status, total, output, error, created_at, started_at, finished_at, \
         (SELECT COUNT(*) FROM proofs p WHERE p.job_id = jobs.id) AS done FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(JobStatus {
        id: r.try_get("id")?,
        input: r.try_get("input")?,
        vf: r.try_get("vf")?,
        status: r.try_get("status")?,
        progress: Progress {
            done: r.try_get("done")?,
            total: r.try_get("total")?,
        },
        output: opt_text(&r, "output")?,
        error: opt_text(&r, "error")?,
        created_at: r.try_get("created_at")?,
        started_at: opt_int(&r, "started_at")?,
        finished_at: opt_int(&r, "finished_at")?,
    }))
}

/// Jobs on `input` that have not (yet) produced an item — queued, running or
/// failed — newest first, at most `limit`.
pub async fn unfinished_jobs(
    db: &Db,
    input: &str,
    limit: i64,
) -> Result<Vec<JobStatus>, ServiceError> {
    let ids = sqlx::query(
        "SELECT id FROM jobs WHERE input = $1 AND status <> 'done' \
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(input)
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    let mut out = vec![];
    for row in ids {
        let id: String = row.try_get("id")?;
        if let Some(j) = job(db, &id).await? {
            out.push(j);
        }
    }
    Ok(out)
}

/// What a worker needs to rebuild a job's edit plan.
pub struct JobInputs {
    pub input: String,
    pub vf: String,
    pub seeds: Vec<Seed>,
}

pub async fn job_inputs(db: &Db, id: &str) -> Result<JobInputs, ServiceError> {
    let r = sqlx::query("SELECT input, vf, seeds FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(db.pool())
        .await?;
    let seeds: String = r.try_get("seeds")?;
    let seeds: Vec<String> = serde_json::from_str(&seeds)
        .map_err(|e| ServiceError::Internal(format!("stored seeds: {e}")))?;
    Ok(JobInputs {
        input: r.try_get("input")?,
        vf: r.try_get("vf")?,
        seeds: seeds
            .iter()
            .map(|s| Seed::from_hex(s))
            .collect::<Result<_, _>>()?,
    })
}

/// The job's proofs, `[step][tile]`, with the vk hash of every circuit.
pub async fn job_proofs(db: &Db, id: &str) -> Result<Vec<(usize, usize, String)>, ServiceError> {
    let rows =
        sqlx::query("SELECT step, tile, proof FROM proofs WHERE job_id = $1 ORDER BY step, tile")
            .bind(id)
            .fetch_all(db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<i64, _>("step")? as usize,
                r.try_get::<i64, _>("tile")? as usize,
                r.try_get("proof")?,
            ))
        })
        .collect()
}

/// vk hashes of the given circuits, as recorded when their keys were generated.
pub async fn key_hashes(
    db: &Db,
    ids: impl IntoIterator<Item = &String>,
) -> Result<std::collections::BTreeMap<String, String>, ServiceError> {
    let mut out = std::collections::BTreeMap::new();
    for id in ids {
        let r = sqlx::query("SELECT vk_hash FROM circuit_keys WHERE id = $1 AND state = 'ready'")
            .bind(id)
            .fetch_optional(db.pool())
            .await?;
        if let Some(hash) = r
            .as_ref()
            .map(|r| opt_text(r, "vk_hash"))
            .transpose()?
            .flatten()
        {
            out.insert(id.clone(), hash);
        }
    }
    Ok(out)
}
