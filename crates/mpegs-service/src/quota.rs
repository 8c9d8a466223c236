//! Per-account quotas on submitted work (docs/service.md §Quotas): unfinished
//! jobs, their tiles, and key generations (circuits new to the service, or
//! failed ones queued again) per 24 hours.
//!
//! The check runs inside the transaction that inserts the job, after that
//! transaction has taken the account's lock (an upsert of its
//! `account_locks` row: a row lock on PostgreSQL, the database's one write
//! lock on SQLite), so an account's submissions are serialised from count to
//! insert: of N concurrent submissions with room for two, exactly two are
//! queued. Other accounts' submissions do not wait on it (on PostgreSQL).

use crate::config::Limits;
use crate::{now_ms, ServiceError};
use mpegs_provenance::prove::EditWork;
use sqlx::Row;

const DAY_MS: i64 = 86_400_000;

/// An account's share (admins have none: their submissions pass `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Unfinished jobs (`MPEGS_QUOTA_JOBS`).
    pub jobs: i64,
    /// Tiles of the unfinished jobs (`MPEGS_QUOTA_TILES`).
    pub tiles: i64,
    /// Key generations the account causes per 24 h
    /// (`MPEGS_QUOTA_CIRCUITS_PER_DAY`).
    pub circuits_per_day: i64,
}

impl Quota {
    pub fn of(limits: &Limits) -> Self {
        Self {
            jobs: limits.quota_jobs,
            tiles: limits.quota_tiles,
            circuits_per_day: limits.quota_circuits_per_day,
        }
    }
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Any>;

/// Takes `account`'s submission lock in `tx`, held until it ends. It must be
/// the transaction's first statement: on SQLite a write that starts the
/// transaction waits for the write lock (busy timeout), where a read first
/// would fail once another writer committed since.
pub(crate) async fn lock_account(tx: &mut Tx<'_>, account: &str) -> Result<(), ServiceError> {
    sqlx::query(
        "INSERT INTO account_locks (account, submissions) VALUES ($1, 1) \
         ON CONFLICT (account) DO UPDATE SET submissions = account_locks.submissions + 1",
    )
    .bind(account)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether `work` fits `account`'s quota, counted in `tx` (which holds the
/// account's lock): `Some(reason)` naming the quota it would exceed.
pub(crate) async fn check_in(
    tx: &mut Tx<'_>,
    account: &str,
    quota: &Quota,
    work: &EditWork,
) -> Result<Option<String>, ServiceError> {
    let r = sqlx::query(
        // PostgreSQL's SUM of a BIGINT is a NUMERIC, which the Any driver
        // cannot read as an integer: cast it back.
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(total), 0) AS BIGINT) AS tiles FROM jobs \
         WHERE owner = $1 AND status IN ('queued', 'running')",
    )
    .bind(account)
    .fetch_one(&mut **tx)
    .await?;
    let (jobs, tiles): (i64, i64) = (r.try_get("n")?, r.try_get("tiles")?);
    if jobs + 1 > quota.jobs {
        return Ok(Some(format!(
            "the account has {jobs} unfinished jobs, the most it may have (MPEGS_QUOTA_JOBS = {})",
            quota.jobs
        )));
    }
    let new_tiles = work.total_tiles() as i64;
    if tiles + new_tiles > quota.tiles {
        return Ok(Some(format!(
            "the account's unfinished jobs would have {} tiles, more than \
             MPEGS_QUOTA_TILES = {}",
            tiles + new_tiles,
            quota.tiles
        )));
    }
    // A circuit costs a key generation when the service has no row for it,
    // or has one whose generation failed (this job would queue it again).
    let mut generations = 0i64;
    for c in &work.circuits {
        let state = sqlx::query("SELECT state FROM circuit_keys WHERE id = $1")
            .bind(&c.id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get::<String, _>("state"))
            .transpose()?;
        generations += i64::from(state.is_none_or(|s| s == "failed"));
    }
    if generations > 0 {
        let recent = sqlx::query(
            "SELECT COUNT(*) AS n FROM key_generations WHERE account = $1 AND created_at >= $2",
        )
        .bind(account)
        .bind(now_ms() - DAY_MS)
        .fetch_one(&mut **tx)
        .await?
        .try_get::<i64, _>("n")?;
        if recent + generations > quota.circuits_per_day {
            return Ok(Some(format!(
                "the job needs {generations} key generations; the account caused {recent} in \
                 the last 24 hours and may cause {} (MPEGS_QUOTA_CIRCUITS_PER_DAY)",
                quota.circuits_per_day
            )));
        }
    }
    Ok(None)
}
