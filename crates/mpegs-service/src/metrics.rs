//! `/metrics`: Prometheus text exposition, read from the database so every
//! server behind one database reports the same queue.

use crate::{Db, ServiceError};
use sqlx::Row;
use std::fmt::Write;

/// Window over which `mpegs_tile_proofs_per_second` is averaged.
pub const RATE_WINDOW_MS: i64 = 60_000;

async fn count(db: &Db, sql: &str, arg: Option<i64>) -> Result<i64, ServiceError> {
    let q = sqlx::query(sql);
    let q = match arg {
        Some(a) => q.bind(a),
        None => q,
    };
    Ok(q.fetch_one(db.pool()).await?.try_get(0)?)
}

pub async fn render(db: &Db) -> Result<String, ServiceError> {
    let mut out = String::new();
    let queued = count(
        db,
        "SELECT COUNT(*) FROM tasks WHERE state = 'queued'",
        None,
    )
    .await?;
    let running = count(
        db,
        "SELECT COUNT(*) FROM tasks WHERE state = 'running'",
        None,
    )
    .await?;
    let keys = count(
        db,
        "SELECT COUNT(*) FROM circuit_keys WHERE state IN ('queued', 'running')",
        None,
    )
    .await?;
    writeln!(out, "# HELP mpegs_queue_depth Tasks waiting for a worker.").ok();
    writeln!(out, "# TYPE mpegs_queue_depth gauge").ok();
    writeln!(out, "mpegs_queue_depth {queued}").ok();
    writeln!(
        out,
        "# HELP mpegs_tasks_running Tasks a worker holds a lease on."
    )
    .ok();
    writeln!(out, "# TYPE mpegs_tasks_running gauge").ok();
    writeln!(out, "mpegs_tasks_running {running}").ok();
    writeln!(
        out,
        "# HELP mpegs_keys_pending Circuit keys not generated yet."
    )
    .ok();
    writeln!(out, "# TYPE mpegs_keys_pending gauge").ok();
    writeln!(out, "mpegs_keys_pending {keys}").ok();
    writeln!(out, "# HELP mpegs_jobs Jobs by status.").ok();
    writeln!(out, "# TYPE mpegs_jobs gauge").ok();
    for status in ["queued", "running", "done", "failed", "cancelled"] {
        let n = sqlx::query("SELECT COUNT(*) FROM jobs WHERE status = $1")
            .bind(status)
            .fetch_one(db.pool())
            .await?
            .try_get::<i64, _>(0)?;
        writeln!(out, "mpegs_jobs{{status=\"{status}\"}} {n}").ok();
    }
    let proofs = count(db, "SELECT COUNT(*) FROM proofs", None).await?;
    // Proofs and heartbeats are stamped with the database's clock; so is the window.
    let now = db.now_sql();
    let recent = count(
        db,
        &format!("SELECT COUNT(*) FROM proofs WHERE created_at >= {now} - $1"),
        Some(RATE_WINDOW_MS),
    )
    .await?;
    writeln!(out, "# HELP mpegs_tile_proofs_total Tile proofs stored.").ok();
    writeln!(out, "# TYPE mpegs_tile_proofs_total counter").ok();
    writeln!(out, "mpegs_tile_proofs_total {proofs}").ok();
    writeln!(
        out,
        "# HELP mpegs_tile_proofs_per_second Tile proofs per second over the last minute."
    )
    .ok();
    writeln!(out, "# TYPE mpegs_tile_proofs_per_second gauge").ok();
    writeln!(
        out,
        "mpegs_tile_proofs_per_second {:.4}",
        recent as f64 / (RATE_WINDOW_MS as f64 / 1000.0)
    )
    .ok();
    let row = sqlx::query(
        "SELECT COUNT(*), CAST(COALESCE(SUM(finished_at - started_at), 0) AS BIGINT), \
         COALESCE(MAX(finished_at - started_at), 0) FROM jobs \
         WHERE status = 'done' AND started_at IS NOT NULL",
    )
    .fetch_one(db.pool())
    .await?;
    let (n, sum, max): (i64, i64, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    writeln!(out, "# HELP mpegs_job_duration_seconds Time from a job's first claimed task to its published output.").ok();
    writeln!(out, "# TYPE mpegs_job_duration_seconds summary").ok();
    writeln!(
        out,
        "mpegs_job_duration_seconds_sum {:.3}",
        sum as f64 / 1000.0
    )
    .ok();
    writeln!(out, "mpegs_job_duration_seconds_count {n}").ok();
    writeln!(
        out,
        "# HELP mpegs_job_duration_seconds_max Longest finished job."
    )
    .ok();
    writeln!(out, "# TYPE mpegs_job_duration_seconds_max gauge").ok();
    writeln!(
        out,
        "mpegs_job_duration_seconds_max {:.3}",
        max as f64 / 1000.0
    )
    .ok();
    let workers = count(
        db,
        &format!("SELECT COUNT(*) FROM workers WHERE last_seen >= {now} - $1"),
        Some(RATE_WINDOW_MS),
    )
    .await?;
    writeln!(
        out,
        "# HELP mpegs_workers_active Workers seen in the last minute."
    )
    .ok();
    writeln!(out, "# TYPE mpegs_workers_active gauge").ok();
    writeln!(out, "mpegs_workers_active {workers}").ok();
    Ok(out)
}
