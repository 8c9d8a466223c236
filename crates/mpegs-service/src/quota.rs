//! Per-account quotas on submitted work (docs/service.md §Quotas): unfinished
//! jobs, their tiles, and circuits new to the service (each one a key
//! generation) per 24 hours. Checked when a job is submitted; two requests
//! racing may each pass a check the pair together exceeds by one job — the
//! quotas bound a tenant's share, not an exact count.

use crate::api::ApiError;
use crate::config::Limits;
use crate::tokens::Principal;
use crate::{now_ms, queue, Db, ServiceError};
use axum::http::StatusCode;
use mpegs_provenance::prove::EditWork;
use sqlx::Row;

const DAY_MS: i64 = 86_400_000;

fn refuse(reason: String) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "quota", reason)
}

/// Refuses `work` with 429 naming the quota it would exceed. Admins have none.
pub async fn check(
    db: &Db,
    limits: &Limits,
    who: &Principal,
    work: &EditWork,
) -> Result<(), ApiError> {
    if who.is_admin() {
        return Ok(());
    }
    let (jobs, tiles) = queue::in_flight(db, &who.account).await?;
    if jobs + 1 > limits.quota_jobs {
        return Err(refuse(format!(
            "the account has {jobs} unfinished jobs, the most it may have (MPEGS_QUOTA_JOBS = {})",
            limits.quota_jobs
        )));
    }
    let new_tiles = work.total_tiles() as i64;
    if tiles + new_tiles > limits.quota_tiles {
        return Err(refuse(format!(
            "the account's unfinished jobs would have {} tiles, more than \
             MPEGS_QUOTA_TILES = {}",
            tiles + new_tiles,
            limits.quota_tiles
        )));
    }
    let mut unknown = 0i64;
    for c in &work.circuits {
        let known = sqlx::query("SELECT 1 FROM circuit_keys WHERE id = $1")
            .bind(&c.id)
            .fetch_optional(db.pool())
            .await
            .map_err(ServiceError::from)?
            .is_some();
        unknown += i64::from(!known);
    }
    if unknown > 0 {
        let recent = sqlx::query(
            "SELECT COUNT(*) AS n FROM circuit_keys WHERE requested_by = $1 AND created_at >= $2",
        )
        .bind(&who.account)
        .bind(now_ms() - DAY_MS)
        .fetch_one(db.pool())
        .await
        .map_err(ServiceError::from)?
        .try_get::<i64, _>("n")
        .map_err(ServiceError::from)?;
        if recent + unknown > limits.quota_circuits_per_day {
            return Err(refuse(format!(
                "the job needs {unknown} new circuits; the account asked for {recent} in the \
                 last 24 hours and may ask for {} (MPEGS_QUOTA_CIRCUITS_PER_DAY)",
                limits.quota_circuits_per_day
            )));
        }
    }
    Ok(())
}
