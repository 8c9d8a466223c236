//! `Idempotency-Key` on writes (docs/service.md §Retries): the first answer to
//! (account, key) is kept with the SHA-256 of its request. Keys are scoped per
//! account, so one account's key can neither replay nor block another's.

use crate::{now_ms, Db, ServiceError};
use sqlx::Row;

pub enum Reservation {
    /// The key is new: answer the request, then `complete` (or `release`).
    Reserved,
    /// Answered before, for the same request: this answer again.
    Replay { status: u16, body: String },
    /// Used before for another request.
    Mismatch,
    /// A request with this key is being answered right now.
    InProgress,
}

/// Reserves (account, key) for a request whose hash is `request_sha256`.
pub async fn reserve(
    db: &Db,
    account: &str,
    key: &str,
    request_sha256: &str,
) -> Result<Reservation, ServiceError> {
    // Status 0: reserved, not answered yet. The primary key makes the
    // reservation atomic: of two concurrent first requests one inserts.
    let n = sqlx::query(
        "INSERT INTO idempotency (account, idem_key, request_sha256, status, response, created_at) \
         VALUES ($1, $2, $3, 0, '', $4) ON CONFLICT (account, idem_key) DO NOTHING",
    )
    .bind(account)
    .bind(key)
    .bind(request_sha256)
    .bind(now_ms())
    .execute(db.pool())
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Reservation::Reserved);
    }
    let r = sqlx::query(
        "SELECT request_sha256, status, response FROM idempotency \
         WHERE account = $1 AND idem_key = $2",
    )
    .bind(account)
    .bind(key)
    .fetch_one(db.pool())
    .await?;
    let stored: String = r.try_get("request_sha256")?;
    let status: i64 = r.try_get("status")?;
    if stored != request_sha256 {
        return Ok(Reservation::Mismatch);
    }
    if status == 0 {
        return Ok(Reservation::InProgress);
    }
    Ok(Reservation::Replay {
        status: status as u16,
        body: r.try_get("response")?,
    })
}

/// Records the answer of a reserved key.
pub async fn complete(
    db: &Db,
    account: &str,
    key: &str,
    status: u16,
    body: &str,
) -> Result<(), ServiceError> {
    sqlx::query(
        "UPDATE idempotency SET status = $1, response = $2 WHERE account = $3 AND idem_key = $4",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(account)
    .bind(key)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Frees a reserved key whose request was refused (it changed nothing).
pub async fn release(db: &Db, account: &str, key: &str) -> Result<(), ServiceError> {
    sqlx::query("DELETE FROM idempotency WHERE account = $1 AND idem_key = $2 AND status = 0")
        .bind(account)
        .bind(key)
        .execute(db.pool())
        .await?;
    Ok(())
}
