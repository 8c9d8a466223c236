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
    /// The account that submitted it (only it may follow or cancel it).
    pub owner: Option<&'a str>,
}

/// How a submission is checked and answered inside the transaction that
/// creates its job.
#[derive(Clone, Copy, Debug, Default)]
pub struct Submission<'a> {
    /// The submitting account's quota (`None`: none, as for admins). Checked
    /// under the account's lock, in the job's transaction.
    pub quota: Option<&'a crate::quota::Quota>,
    /// The `Idempotency-Key` reservation to complete with the job, and the
    /// answer to record (`{id}` is replaced by the job's id).
    pub idempotency: Option<(&'a crate::idempotency::Held, u16, &'a str)>,
}

/// What a submission came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The job, queued with its tasks.
    Job(String),
    /// Refused by a quota (the reason names it); nothing was written.
    OverQuota(String),
    /// The idempotency reservation was no longer this request's (taken over
    /// after its time ran out); nothing was written.
    ReservationLost,
}

/// Creates a job with all its tasks, in one transaction (no quota).
pub async fn create_job(db: &Db, job: NewJob<'_>) -> Result<String, ServiceError> {
    match submit_job(db, job, Submission::default()).await? {
        Created::Job(id) => Ok(id),
        other => Err(ServiceError::Internal(format!(
            "an unchecked job was refused: {other:?}"
        ))),
    }
}

/// Creates a job with all its tasks in one transaction that first takes the
/// owner's submission lock, then checks its quota, inserts the job and
/// completes its idempotency key: concurrent submissions of one account are
/// counted one after the other, and a key is answered exactly when its job
/// exists.
pub async fn submit_job(
    db: &Db,
    job: NewJob<'_>,
    sub: Submission<'_>,
) -> Result<Created, ServiceError> {
    let id = new_id();
    let now = now_ms();
    let seeds: Vec<String> = job.seeds.iter().map(Seed::to_hex).collect();
    let sealed = {
        let json = zeroize::Zeroizing::new(
            serde_json::to_string(&seeds).map_err(|e| ServiceError::Internal(e.to_string()))?,
        );
        db.secrets()?
            .seal(&crate::secrets::job_seeds_ad(&id), json.as_bytes())?
    };
    let mut tx = db.pool().begin().await?;
    if let (Some(quota), Some(owner)) = (sub.quota, job.owner) {
        crate::quota::lock_account(&mut tx, owner).await?;
        if let Some(reason) = crate::quota::check_in(&mut tx, owner, quota, job.work).await? {
            tx.rollback().await?;
            return Ok(Created::OverQuota(reason));
        }
    }
    sqlx::query(
        "INSERT INTO jobs (id, input, vf, seeds, status, total, created_at, owner) \
         VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7)",
    )
    .bind(&id)
    .bind(job.input)
    .bind(job.vf)
    .bind(sealed)
    .bind(job.work.total_tiles() as i64)
    .bind(now)
    .bind(job.owner)
    .execute(&mut *tx)
    .await?;
    for recipe in &job.work.circuits {
        let new = sqlx::query(
            "INSERT INTO circuit_keys (id, recipe, state, attempts, created_at, requested_by) \
             VALUES ($1, $2, 'queued', 0, $3, $4) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&recipe.id)
        .bind(serde_json::to_string(recipe).map_err(|e| ServiceError::Internal(e.to_string()))?)
        .bind(now)
        .bind(job.owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // A key whose generation failed for good gets another chance with a new job.
        let requeued = sqlx::query(
            "UPDATE circuit_keys SET state = 'queued', attempts = 0, error = NULL \
             WHERE id = $1 AND state = 'failed'",
        )
        .bind(&recipe.id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Either way this account caused a key generation: the daily quota
        // counts it (a failing circuit queued again is no free generation).
        if let (Some(owner), true) = (job.owner, new + requeued > 0) {
            sqlx::query(
                "INSERT INTO key_generations (account, circuit, created_at) VALUES ($1, $2, $3)",
            )
            .bind(owner)
            .bind(&recipe.id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    }
    for (step, circuits) in job.work.tiles.iter().enumerate() {
        for (tile, circuit) in circuits.iter().enumerate() {
            insert_task(&mut tx, &id, "tile", step, tile, Some(circuit), now).await?;
        }
    }
    insert_task(&mut tx, &id, "finish", 0, 0, None, now).await?;
    if let Some((held, status, body)) = sub.idempotency {
        let body = body.replace("{id}", &id);
        if !crate::idempotency::complete_in(&mut *tx, held, status, &body, Some(&id)).await? {
            tx.rollback().await?;
            return Ok(Created::ReservationLost);
        }
    }
    tx.commit().await?;
    Ok(Created::Job(id))
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

/// The fencing token of a claim: who holds the lease and on which attempt.
/// Every write a worker makes about its claim names both, and only the row's
/// current holder on its current attempt matches: once a lease expired and
/// another worker claimed the row again (`attempts + 1`), the old worker's
/// late result, failure or heartbeat changes nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub attempt: i64,
}

/// Work a worker holds a lease on.
#[derive(Clone, Debug)]
pub enum Claim {
    /// Generate a circuit's keys.
    Keys {
        id: String,
        recipe: CircuitRecipe,
        lease: Lease,
    },
    /// Prove one tile with the keys of `circuit` (whose verifying key hashes to
    /// `vk_hash`, as recorded when they were generated).
    Tile {
        task: String,
        job: String,
        step: usize,
        tile: usize,
        circuit: String,
        vk_hash: String,
        lease: Lease,
    },
    /// Assemble, verify and publish the job's bundle.
    Finish {
        task: String,
        job: String,
        lease: Lease,
    },
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

    /// The fencing token this claim's writes must present.
    pub fn lease(&self) -> &Lease {
        match self {
            Claim::Keys { lease, .. } | Claim::Tile { lease, .. } | Claim::Finish { lease, .. } => {
                lease
            }
        }
    }

    /// The table and id of the claimed row.
    fn row(&self) -> (&'static str, &str) {
        match self {
            Claim::Keys { id, .. } => ("circuit_keys", id),
            Claim::Tile { task, .. } | Claim::Finish { task, .. } => ("tasks", task),
        }
    }
}

/// The condition a row must meet for its claim's holder to write it: still
/// running, same owner, same attempt (`$owner`/`$attempt` name the binds).
fn fence(owner: usize, attempt: usize) -> String {
    format!("(state = 'running' AND lease_owner = ${owner} AND attempts = ${attempt})")
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Claims the next piece of work for `worker`: keys first (tiles wait on them),
/// then tiles of the oldest jobs, then finishing tasks whose tiles are all done.
/// A row is claimable when queued (and past its retry backoff) or when its
/// lease expired; every time in that decision is the database's clock, so
/// workers whose clocks disagree still agree on who holds what.
pub async fn claim(
    db: &Db,
    worker: &str,
    s: &QueueSettings,
) -> Result<Option<Claim>, ServiceError> {
    let now = db.now_sql();
    let lease = millis(s.lease);
    let lock = db.skip_locked(None);
    let row = sqlx::query(&format!(
        "UPDATE circuit_keys SET state = 'running', lease_owner = $1, lease_until = {now} + $2, \
           attempts = attempts + 1, not_before = NULL \
         WHERE id = (SELECT id FROM circuit_keys \
           WHERE ((state = 'queued' AND (not_before IS NULL OR not_before <= {now})) \
                  OR (state = 'running' AND lease_until < {now})) \
             AND attempts < $3 \
           ORDER BY created_at, id LIMIT 1 {lock}) \
         RETURNING id, recipe, attempts"
    ))
    .bind(worker)
    .bind(lease)
    .bind(s.max_attempts)
    .fetch_optional(db.pool())
    .await?;
    if let Some(row) = row {
        let recipe: String = row.try_get("recipe")?;
        return Ok(Some(Claim::Keys {
            id: row.try_get("id")?,
            recipe: serde_json::from_str(&recipe)
                .map_err(|e| ServiceError::Internal(format!("stored circuit recipe: {e}")))?,
            lease: Lease {
                owner: worker.to_string(),
                attempt: row.try_get("attempts")?,
            },
        }));
    }
    fail_exhausted(db, s).await?;
    let lock_t = db.skip_locked(Some("t"));
    let row = sqlx::query(&format!(
        "UPDATE tasks SET state = 'running', lease_owner = $1, lease_until = {now} + $2, \
           attempts = attempts + 1, not_before = NULL \
         WHERE id = (SELECT t.id FROM tasks t JOIN jobs j ON j.id = t.job_id \
           WHERE ((t.state = 'queued' AND (t.not_before IS NULL OR t.not_before <= {now})) \
                  OR (t.state = 'running' AND t.lease_until < {now})) \
             AND t.attempts < $3 \
             AND j.status IN ('queued', 'running') \
             AND (t.kind <> 'tile' OR EXISTS (SELECT 1 FROM circuit_keys k \
                   WHERE k.id = t.circuit AND k.state = 'ready')) \
             AND (t.kind <> 'finish' OR NOT EXISTS (SELECT 1 FROM tasks u \
                   WHERE u.job_id = t.job_id AND u.kind = 'tile' AND u.state <> 'done')) \
           ORDER BY j.created_at, t.kind DESC, t.step, t.tile LIMIT 1 {lock_t}) \
         RETURNING id, job_id, kind, step, tile, circuit, attempts"
    ))
    .bind(worker)
    .bind(lease)
    .bind(s.max_attempts)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let task: String = row.try_get("id")?;
    let job: String = row.try_get("job_id")?;
    let lease = Lease {
        owner: worker.to_string(),
        attempt: row.try_get("attempts")?,
    };
    sqlx::query(&format!(
        "UPDATE jobs SET status = 'running', started_at = {now} \
         WHERE id = $1 AND status = 'queued'"
    ))
    .bind(&job)
    .execute(db.pool())
    .await?;
    let kind: String = row.try_get("kind")?;
    if kind == "finish" {
        return Ok(Some(Claim::Finish { task, job, lease }));
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
        lease,
    }))
}

/// Fails the jobs of tasks and keys that ran out of attempts (their workers kept
/// dying: a task that crashes every worker must not circle forever). Each
/// expiry and the failure of the jobs it dooms are one transaction, so no
/// crash between the two leaves a job "running" with nothing left to run.
async fn fail_exhausted(db: &Db, s: &QueueSettings) -> Result<(), ServiceError> {
    const STOPPED: &str = "its worker stopped responding on every attempt";
    let now = db.now_sql();
    let mut tx = db.pool().begin().await?;
    let rows = sqlx::query(&format!(
        "UPDATE tasks SET state = 'failed', error = COALESCE(error, '{STOPPED}') \
         WHERE state = 'running' AND lease_until < {now} AND attempts >= $1 \
         RETURNING job_id, error"
    ))
    .bind(s.max_attempts)
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        let job: String = row.try_get("job_id")?;
        let error = opt_text(row, "error")?.unwrap_or_default();
        fail_job_in(&mut tx, db, &job, &error).await?;
    }
    let rows = sqlx::query(&format!(
        "UPDATE circuit_keys SET state = 'failed', error = COALESCE(error, '{STOPPED}') \
         WHERE state = 'running' AND lease_until < {now} AND attempts >= $1 \
         RETURNING id, error"
    ))
    .bind(s.max_attempts)
    .fetch_all(&mut *tx)
    .await?;
    for row in &rows {
        let circuit: String = row.try_get("id")?;
        let error = opt_text(row, "error")?.unwrap_or_default();
        fail_jobs_of_circuit_in(&mut tx, db, &circuit, &error).await?;
    }
    tx.commit().await?;
    Ok(())
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

async fn fail_jobs_of_circuit_in(
    tx: &mut Tx<'_>,
    db: &Db,
    circuit: &str,
    error: &str,
) -> Result<(), ServiceError> {
    let jobs = sqlx::query(
        "SELECT DISTINCT t.job_id FROM tasks t JOIN jobs j ON j.id = t.job_id \
         WHERE t.circuit = $1 AND j.status IN ('queued', 'running')",
    )
    .bind(circuit)
    .fetch_all(&mut **tx)
    .await?;
    for row in jobs {
        let job: String = row.try_get(0)?;
        fail_job_in(
            tx,
            db,
            &job,
            &format!("generating keys for {circuit}: {error}"),
        )
        .await?;
    }
    Ok(())
}

/// Ends an unfinished job as `status` ('failed' or 'cancelled') with `error`,
/// and cancels its queued and running tasks, so no worker claims them and no
/// worker still holding one can write its result (the fence needs 'running').
/// Returns whether the job was unfinished.
async fn end_job_in(
    tx: &mut Tx<'_>,
    db: &Db,
    job: &str,
    status: &str,
    error: &str,
) -> Result<bool, ServiceError> {
    let now = db.now_sql();
    let n = sqlx::query(&format!(
        "UPDATE jobs SET status = $2, error = $3, finished_at = {now} \
         WHERE id = $1 AND status IN ('queued', 'running')"
    ))
    .bind(job)
    .bind(status)
    .bind(error)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if n == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE tasks SET state = 'cancelled', error = COALESCE(error, $2) \
         WHERE job_id = $1 AND state IN ('queued', 'running')",
    )
    .bind(job)
    .bind(format!("the job ended: {error}"))
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

async fn fail_job_in(
    tx: &mut Tx<'_>,
    db: &Db,
    job: &str,
    error: &str,
) -> Result<bool, ServiceError> {
    end_job_in(tx, db, job, "failed", error).await
}

/// Marks a job failed (if it is not finished already) and cancels its
/// remaining tasks, in one transaction.
pub async fn fail_job(db: &Db, job: &str, error: &str) -> Result<(), ServiceError> {
    let mut tx = db.pool().begin().await?;
    fail_job_in(&mut tx, db, job, error).await?;
    tx.commit().await?;
    Ok(())
}

/// Cancels a job: true when it was still unfinished and is now `cancelled`
/// (its queued and running tasks with it: no worker claims them, and a worker
/// still proving one cannot store its result); false when it had already
/// finished (done, failed or cancelled) or does not exist.
pub async fn cancel_job(db: &Db, job: &str, reason: &str) -> Result<bool, ServiceError> {
    let mut tx = db.pool().begin().await?;
    let cancelled = end_job_in(&mut tx, db, job, "cancelled", reason).await?;
    tx.commit().await?;
    Ok(cancelled)
}

/// Renews the lease of a claim, by the database's clock; false when the worker
/// no longer holds it (expired and claimed again, or its job ended).
pub async fn heartbeat(db: &Db, claim: &Claim, s: &QueueSettings) -> Result<bool, ServiceError> {
    let now = db.now_sql();
    let (table, id) = claim.row();
    let lease = claim.lease();
    let n = sqlx::query(&format!(
        "UPDATE {table} SET lease_until = {now} + $1 WHERE id = $2 AND {}",
        fence(3, 4)
    ))
    .bind(millis(s.lease))
    .bind(id)
    .bind(&lease.owner)
    .bind(lease.attempt)
    .execute(db.pool())
    .await?
    .rows_affected();
    sqlx::query(&format!(
        "INSERT INTO workers (id, started_at, last_seen, tiles) VALUES ($1, $2, {now}, 0) \
         ON CONFLICT (id) DO UPDATE SET last_seen = {now}"
    ))
    .bind(&lease.owner)
    .bind(s.worker_now())
    .execute(db.pool())
    .await?;
    Ok(n == 1)
}

/// What a key claim produced: the verifying key's hash, the proving key's
/// artifact hash and the circuit's description.
pub struct KeysMade<'a> {
    pub vk_hash: &'a str,
    pub pk_sha256: &'a str,
    pub description: &'a serde_json::Value,
}

/// Records generated keys, fenced: false (and nothing written) when the claim's
/// lease is no longer held — another attempt owns the row, and its keys win.
pub async fn keys_ready(db: &Db, claim: &Claim, made: KeysMade<'_>) -> Result<bool, ServiceError> {
    let (table, id) = claim.row();
    if table != "circuit_keys" {
        return Err(ServiceError::Internal(format!(
            "keys_ready for {}",
            claim.describe()
        )));
    }
    let lease = claim.lease();
    let n = sqlx::query(&format!(
        "UPDATE circuit_keys SET state = 'ready', vk_hash = $2, pk_sha256 = $3, \
           description = $4, lease_owner = NULL, lease_until = NULL, error = NULL \
         WHERE id = $1 AND {}",
        fence(5, 6)
    ))
    .bind(id)
    .bind(made.vk_hash)
    .bind(made.pk_sha256)
    .bind(made.description.to_string())
    .bind(&lease.owner)
    .bind(lease.attempt)
    .execute(db.pool())
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Stores a tile's proof and marks its task done, fenced, in one transaction:
/// false (and no proof stored) unless the claim still holds the task's lease.
pub async fn tile_done(db: &Db, claim: &Claim, proof_json: &str) -> Result<bool, ServiceError> {
    let Claim::Tile {
        task,
        job,
        step,
        tile,
        lease,
        ..
    } = claim
    else {
        return Err(ServiceError::Internal(format!(
            "tile_done for {}",
            claim.describe()
        )));
    };
    let now = db.now_sql();
    let mut tx = db.pool().begin().await?;
    let n = sqlx::query(&format!(
        "UPDATE tasks SET state = 'done', done_by = $2, lease_owner = NULL, lease_until = NULL, \
           error = NULL WHERE id = $1 AND {}",
        fence(2, 3)
    ))
    .bind(task)
    .bind(&lease.owner)
    .bind(lease.attempt)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(&format!(
        "INSERT INTO proofs (job_id, step, tile, proof, worker, created_at) \
         VALUES ($1, $2, $3, $4, $5, {now}) ON CONFLICT (job_id, step, tile) DO NOTHING"
    ))
    .bind(job)
    .bind(*step as i64)
    .bind(*tile as i64)
    .bind(proof_json)
    .bind(&lease.owner)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO workers (id, started_at, last_seen, tiles) VALUES ($1, {now}, {now}, 1) \
         ON CONFLICT (id) DO UPDATE SET last_seen = {now}, tiles = workers.tiles + 1"
    ))
    .bind(&lease.owner)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// How long a released row waits before its next attempt: `retry_base`
/// doubled per attempt made, at most `retry_cap`.
pub fn backoff(attempt: i64, s: &QueueSettings) -> std::time::Duration {
    let doublings = attempt.saturating_sub(1).clamp(0, 30) as u32;
    s.retry_base
        .saturating_mul(1u32 << doublings)
        .min(s.retry_cap)
}

/// Gives a claim back after a failure, fenced (false when the lease is no
/// longer held: the newer attempt's state stays as it is). A transient failure
/// is retried, by any worker, after [`backoff`] while attempts remain; a
/// `permanent` one (the input itself is wrong), or the last attempt's, fails
/// the row and with it — in the same transaction — the job(s) waiting on it.
pub async fn release_failed(
    db: &Db,
    claim: &Claim,
    error: &str,
    permanent: bool,
    s: &QueueSettings,
) -> Result<bool, ServiceError> {
    let now = db.now_sql();
    let (table, id) = claim.row();
    let lease = claim.lease();
    let mut tx = db.pool().begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE {table} SET \
           state = CASE WHEN $2 OR attempts >= $3 THEN 'failed' ELSE 'queued' END, \
           not_before = {now} + $4, lease_owner = NULL, lease_until = NULL, error = $5 \
         WHERE id = $1 AND {} RETURNING state",
        fence(6, 7)
    ))
    .bind(id)
    .bind(permanent)
    .bind(s.max_attempts)
    .bind(millis(backoff(lease.attempt, s)))
    .bind(error)
    .bind(&lease.owner)
    .bind(lease.attempt)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(false);
    };
    if row.try_get::<String, _>("state")? == "failed" {
        match claim {
            Claim::Keys { id, .. } => fail_jobs_of_circuit_in(&mut tx, db, id, error).await?,
            Claim::Tile { job, .. } | Claim::Finish { job, .. } => {
                fail_job_in(&mut tx, db, job, error).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// Marks a job done with its output and its finishing task done, fenced by the
/// finishing task's lease: false (nothing written) when it is no longer held.
pub async fn job_done(db: &Db, claim: &Claim, output: &str) -> Result<bool, ServiceError> {
    let Claim::Finish { task, job, lease } = claim else {
        return Err(ServiceError::Internal(format!(
            "job_done for {}",
            claim.describe()
        )));
    };
    let now = db.now_sql();
    let mut tx = db.pool().begin().await?;
    let n = sqlx::query(&format!(
        "UPDATE tasks SET state = 'done', done_by = $2, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND {}",
        fence(2, 3)
    ))
    .bind(task)
    .bind(&lease.owner)
    .bind(lease.attempt)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    sqlx::query(&format!(
        "UPDATE jobs SET status = 'done', output = $2, error = NULL, finished_at = {now} \
         WHERE id = $1 AND status IN ('queued', 'running')"
    ))
    .bind(job)
    .bind(output)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// How a fenced publication ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Published {
    /// The output is in the catalog and the job is done.
    Done,
    /// The finishing task's lease was no longer held, or the job had ended
    /// (cancelled, failed, deleted): nothing was written.
    LeaseLost,
    /// The job's input was gone: nothing was published and the job (with its
    /// tasks) ended as cancelled, for this reason.
    Cancelled(String),
}

/// Publishes a finished job's verified output and marks the job done, in one
/// transaction that also fences the finishing task's lease and checks that
/// the job is still unfinished and its input still in the catalog — so a job
/// cancelled, or whose input was deleted, while its bundle was being
/// assembled publishes nothing. The job row is locked first, as cancelling
/// and deleting lock it first, so they and this wait on one another in one
/// order (no deadlock) and whichever comes second sees the other's result.
pub async fn publish_output(
    db: &Db,
    claim: &Claim,
    media: &crate::catalog::Prepared<'_>,
) -> Result<Published, ServiceError> {
    let Claim::Finish { task, job, lease } = claim else {
        return Err(ServiceError::Internal(format!(
            "publish_output for {}",
            claim.describe()
        )));
    };
    let now = db.now_sql();
    let mut tx = db.pool().begin().await?;
    // A write first: the job's row lock on PostgreSQL, the write lock on
    // SQLite (a read first could not be upgraded once another writer committed).
    let row = sqlx::query("UPDATE jobs SET status = status WHERE id = $1 RETURNING status, input")
        .bind(job)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        tx.rollback().await?;
        return Ok(Published::LeaseLost);
    };
    let status: String = row.try_get("status")?;
    let input: String = row.try_get("input")?;
    if status != "queued" && status != "running" {
        tx.rollback().await?;
        return Ok(Published::LeaseLost);
    }
    let n = sqlx::query(&format!(
        "UPDATE tasks SET state = 'done', done_by = $2, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND {}",
        fence(2, 3)
    ))
    .bind(task)
    .bind(&lease.owner)
    .bind(lease.attempt)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n != 1 {
        tx.rollback().await?;
        return Ok(Published::LeaseLost);
    }
    let input_there = sqlx::query("SELECT 1 FROM media WHERE commitment = $1")
        .bind(&input)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !input_there {
        const GONE: &str = "its input was deleted";
        end_job_in(&mut tx, db, job, "cancelled", GONE).await?;
        tx.commit().await?;
        return Ok(Published::Cancelled(GONE.into()));
    }
    crate::catalog::insert_in(&mut tx, db, media).await?;
    sqlx::query(&format!(
        "UPDATE jobs SET status = 'done', output = $2, error = NULL, finished_at = {now} \
         WHERE id = $1"
    ))
    .bind(job)
    .bind(&media.bundle.media.commitment)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Published::Done)
}

/// Deletes, in `tx`, the jobs that read or made the item `c` — their tasks,
/// proofs and the idempotency answers that named them — after cancelling the
/// unfinished ones (locking their rows first, in the order `publish_output`
/// does, so a finisher waiting on them then finds its job gone). Returns how
/// many jobs went.
pub(crate) async fn delete_jobs_of_item_in(
    tx: &mut Tx<'_>,
    db: &Db,
    c: &str,
) -> Result<u64, ServiceError> {
    let now = db.now_sql();
    sqlx::query(&format!(
        "UPDATE jobs SET status = 'cancelled', error = 'its input was deleted', \
           finished_at = {now} WHERE input = $1 AND status IN ('queued', 'running')"
    ))
    .bind(c)
    .execute(&mut **tx)
    .await?;
    let ids: Vec<String> = sqlx::query("SELECT id FROM jobs WHERE input = $1 OR output = $1")
        .bind(c)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>(0))
        .collect::<Result<_, _>>()?;
    for id in &ids {
        // Tasks before proofs: a worker storing a proof holds its task's row
        // until it commits, so once the tasks are gone no proof can follow.
        for sql in [
            "DELETE FROM tasks WHERE job_id = $1",
            "DELETE FROM proofs WHERE job_id = $1",
            "DELETE FROM idempotency WHERE resource = $1",
            "DELETE FROM jobs WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut **tx).await?;
        }
    }
    sqlx::query("DELETE FROM idempotency WHERE resource = $1")
        .bind(c)
        .execute(&mut **tx)
        .await?;
    Ok(ids.len() as u64)
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
    /// The account that submitted it (not shown).
    #[serde(skip)]
    pub owner: Option<String>,
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
         owner, (SELECT COUNT(*) FROM proofs p WHERE p.job_id = jobs.id) AS done \
         FROM jobs WHERE id = $1",
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
        owner: opt_text(&r, "owner")?,
    }))
}

/// The account that submitted job `id` (`None`: unknown job or no owner).
pub async fn job_owner(db: &Db, id: &str) -> Result<Option<String>, ServiceError> {
    let r = sqlx::query("SELECT owner FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(match r {
        Some(r) => opt_text(&r, "owner")?,
        None => None,
    })
}

/// Jobs on `input` that have not (yet) produced an item — queued, running or
/// failed — newest first, at most `limit`.
pub async fn unfinished_jobs(
    db: &Db,
    input: &str,
    reader: Option<&crate::tokens::Principal>,
    limit: i64,
) -> Result<Vec<JobStatus>, ServiceError> {
    // Unfinished work is its owner's business only (its id, progress, error).
    let Some(reader) = reader else {
        return Ok(vec![]);
    };
    let admin = i64::from(reader.is_admin());
    let ids = sqlx::query(
        "SELECT id FROM jobs WHERE input = $1 AND status <> 'done' AND ($3 = 1 OR owner = $4) \
         ORDER BY created_at DESC, id LIMIT $2",
    )
    .bind(input)
    .bind(limit)
    .bind(admin)
    .bind(&reader.account)
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
    let sealed: String = r.try_get("seeds")?;
    let seeds = db
        .secrets()?
        .open(&crate::secrets::job_seeds_ad(id), &sealed)?;
    let seeds: Vec<String> = serde_json::from_slice(&seeds)
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

/// Where a ready circuit's keys are: the verifying key's hash (its artifact's
/// address, after `sha256:`), the proving key's artifact and the description.
#[derive(Clone, Debug)]
pub struct KeyArtifacts {
    pub vk_hash: String,
    pub pk_sha256: String,
    pub description: serde_json::Value,
}

impl KeyArtifacts {
    /// The verifying key's artifact address.
    pub fn vk_sha256(&self) -> &str {
        self.vk_hash
            .strip_prefix("sha256:")
            .unwrap_or(&self.vk_hash)
    }
}

/// The key artifacts of `circuit` when its keys are ready and were published as
/// artifacts (keys generated by the first release were not: `None`).
pub async fn key_artifacts(db: &Db, circuit: &str) -> Result<Option<KeyArtifacts>, ServiceError> {
    let row = sqlx::query(
        "SELECT vk_hash, pk_sha256, description FROM circuit_keys \
         WHERE id = $1 AND state = 'ready'",
    )
    .bind(circuit)
    .fetch_optional(db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (Some(vk_hash), Some(pk_sha256), Some(description)) = (
        opt_text(&row, "vk_hash")?,
        opt_text(&row, "pk_sha256")?,
        opt_text(&row, "description")?,
    ) else {
        return Ok(None);
    };
    let description = serde_json::from_str(&description)
        .map_err(|e| ServiceError::Internal(format!("stored description of {circuit}: {e}")))?;
    Ok(Some(KeyArtifacts {
        vk_hash,
        pk_sha256,
        description,
    }))
}

/// Ids of the circuits whose keys are ready.
pub async fn ready_circuits(db: &Db) -> Result<Vec<String>, ServiceError> {
    let rows = sqlx::query("SELECT id FROM circuit_keys WHERE state = 'ready' ORDER BY id")
        .fetch_all(db.pool())
        .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>(0)?))
        .collect()
}
