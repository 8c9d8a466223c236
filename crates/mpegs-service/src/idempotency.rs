//! `Idempotency-Key` on writes (docs/service.md §Retries): the first answer to
//! (account, key) is kept with the SHA-256 of its request. Keys are scoped per
//! account, so one account's key can neither replay nor block another's.
//!
//! A reservation (status 0) carries a random token; completing it needs that
//! token, so once a reservation older than `reserve_ttl` has been taken over
//! (its request's process died between reserving and answering), the first
//! holder can no longer complete it. A job submission completes its key in
//! the transaction that inserts the job: either both are written or neither.
//! Rows older than `retention` are purged whenever a key is reserved.

use crate::{now_ms, Db, ServiceError};
use sqlx::Row;
use std::sync::OnceLock;
use std::time::Duration;

/// How long reservations and answers are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// A reservation not answered within this may be taken over by the same
    /// request again (`MPEGS_IDEMPOTENCY_RESERVE_SECS`, default 300 s).
    pub reserve_ttl: Duration,
    /// Rows (answers and stale reservations) older than this are purged
    /// (`MPEGS_IDEMPOTENCY_RETENTION_SECS`, default 86,400 s: a retry a day
    /// later is a new request).
    pub retention: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            reserve_ttl: Duration::from_secs(300),
            retention: Duration::from_secs(86_400),
        }
    }
}

impl Settings {
    /// The defaults, overridden by `MPEGS_IDEMPOTENCY_RESERVE_SECS` and
    /// `MPEGS_IDEMPOTENCY_RETENTION_SECS`.
    pub fn from_env() -> Result<Self, ServiceError> {
        let mut s = Self::default();
        let secs = |name: &str| -> Result<Option<Duration>, ServiceError> {
            match std::env::var(name) {
                Ok(v) => v
                    .parse::<u64>()
                    .map(|n| Some(Duration::from_secs(n)))
                    .map_err(|_| {
                        ServiceError::Config(format!("{name}={v:?} is not a whole number"))
                    }),
                Err(_) => Ok(None),
            }
        };
        if let Some(d) = secs("MPEGS_IDEMPOTENCY_RESERVE_SECS")? {
            s.reserve_ttl = d.max(Duration::from_secs(1));
        }
        if let Some(d) = secs("MPEGS_IDEMPOTENCY_RETENTION_SECS")? {
            s.retention = d;
        }
        // A reservation purged before it could be taken over would be a new
        // request while the first may still be answering.
        if s.retention < s.reserve_ttl {
            return Err(ServiceError::Config(format!(
                "MPEGS_IDEMPOTENCY_RETENTION_SECS ({:?}) must be at least \
                 MPEGS_IDEMPOTENCY_RESERVE_SECS ({:?})",
                s.retention, s.reserve_ttl
            )));
        }
        Ok(s)
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Reads the settings from the environment once (at start, so a bad value
/// stops the service instead of being guessed at).
pub fn init_from_env() -> Result<Settings, ServiceError> {
    let s = Settings::from_env()?;
    Ok(*SETTINGS.get_or_init(|| s))
}

/// The process's settings (the defaults unless `init_from_env` ran).
pub fn settings() -> Settings {
    *SETTINGS.get_or_init(|| Settings::from_env().unwrap_or_default())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub enum Reservation {
    /// The key is new (or its stale reservation was taken over): answer the
    /// request, then `complete` (or `release`) with this token.
    Reserved { token: String },
    /// Answered before, for the same request: this answer again.
    Replay { status: u16, body: String },
    /// Used before for another request.
    Mismatch,
    /// A request with this key is being answered right now.
    InProgress,
}

/// Reserves (account, key) for a request whose hash is `request_sha256`,
/// with the process's [`settings`].
pub async fn reserve(
    db: &Db,
    account: &str,
    key: &str,
    request_sha256: &str,
) -> Result<Reservation, ServiceError> {
    reserve_with(db, account, key, request_sha256, &settings()).await
}

/// [`reserve`] with explicit settings.
pub async fn reserve_with(
    db: &Db,
    account: &str,
    key: &str,
    request_sha256: &str,
    s: &Settings,
) -> Result<Reservation, ServiceError> {
    let now = now_ms();
    // Old rows go first (so an expired answer's key is free again); the
    // index on created_at keeps this a range delete.
    sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(now.saturating_sub(millis(s.retention)))
        .execute(db.pool())
        .await?;
    let token = crate::queue::new_id();
    // Status 0: reserved, not answered yet. The primary key makes the
    // reservation atomic: of two concurrent first requests one inserts.
    let n = sqlx::query(
        "INSERT INTO idempotency \
           (account, idem_key, request_sha256, status, response, created_at, token) \
         VALUES ($1, $2, $3, 0, '', $4, $5) ON CONFLICT (account, idem_key) DO NOTHING",
    )
    .bind(account)
    .bind(key)
    .bind(request_sha256)
    .bind(now)
    .bind(&token)
    .execute(db.pool())
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Reservation::Reserved { token });
    }
    // A reservation left by a request that never answered (its process
    // died): the same request may take it over; of two retries racing for
    // it, the conditional update lets one.
    let n = sqlx::query(
        "UPDATE idempotency SET token = $4, created_at = $5 \
         WHERE account = $1 AND idem_key = $2 AND request_sha256 = $3 AND status = 0 \
           AND created_at < $6",
    )
    .bind(account)
    .bind(key)
    .bind(request_sha256)
    .bind(&token)
    .bind(now)
    .bind(now.saturating_sub(millis(s.reserve_ttl)))
    .execute(db.pool())
    .await?
    .rows_affected();
    if n == 1 {
        return Ok(Reservation::Reserved { token });
    }
    let Some(r) = sqlx::query(
        "SELECT request_sha256, status, response FROM idempotency \
         WHERE account = $1 AND idem_key = $2",
    )
    .bind(account)
    .bind(key)
    .fetch_optional(db.pool())
    .await?
    else {
        // Released or purged in between: the caller's retry will find it free.
        return Ok(Reservation::InProgress);
    };
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

/// A reservation held by this request, to complete inside another write's
/// transaction.
#[derive(Clone, Debug)]
pub struct Held {
    pub account: String,
    pub key: String,
    pub token: String,
}

/// Records the answer of a reserved key in `exec` (a transaction, to make the
/// answer and the write one), naming what the write made (`resource`: a job
/// id or a commitment). False when the reservation is no longer this
/// request's (taken over, or purged): the caller must not commit its write.
pub async fn complete_in<'e, E>(
    exec: E,
    held: &Held,
    status: u16,
    body: &str,
    resource: Option<&str>,
) -> Result<bool, ServiceError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let n = sqlx::query(
        "UPDATE idempotency SET status = $1, response = $2, resource = $3 \
         WHERE account = $4 AND idem_key = $5 AND token = $6 AND status = 0",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(resource)
    .bind(&held.account)
    .bind(&held.key)
    .bind(&held.token)
    .execute(exec)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Records the answer of a reserved key (see [`complete_in`]).
pub async fn complete(
    db: &Db,
    held: &Held,
    status: u16,
    body: &str,
    resource: Option<&str>,
) -> Result<bool, ServiceError> {
    complete_in(db.pool(), held, status, body, resource).await
}

/// Frees a reserved key whose request was refused (it changed nothing).
pub async fn release(db: &Db, held: &Held) -> Result<(), ServiceError> {
    sqlx::query(
        "DELETE FROM idempotency WHERE account = $1 AND idem_key = $2 AND token = $3 \
         AND status = 0",
    )
    .bind(&held.account)
    .bind(&held.key)
    .bind(&held.token)
    .execute(db.pool())
    .await?;
    Ok(())
}
